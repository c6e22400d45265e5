"""territoria.teaching.classroom: learner copies prepared by papermill, executed for real."""

import json
import shutil

import nbformat
import papermill
import pytest

from territoria.exceptions import ConfigError
from territoria.teaching import classroom as cl


def _params(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: papermill's injected cell"
    scope = {}
    exec(cells[0].source, scope)  # noqa: S102 - papermill writes plain assignments
    return scope, nb


def test_spread_and_notebook_lists():
    assert cl.spread(list("abcdefgh"), 4) == ["a", "c", "e", "g"]
    assert [p.stem for p in cl.step_notebooks()][-1] == "evaluation"
    assert len(cl.exercise_notebooks()) >= 8


@pytest.mark.slow
def test_classroom_has_one_territory_per_learner(classroom):
    ids = [x.territory_id for x in classroom.learners]
    assert len(ids) == 3 and len(set(ids)) == 3
    roster = (classroom.root / "roster.csv").read_text(encoding="utf-8").splitlines()
    assert roster[0] == "learner,folder,territory_id,name" and len(roster) == 4
    for learner in classroom.learners:
        assert learner.folder == classroom.root / f"learner-{learner.number}"
        names = sorted(p.name for p in learner.folder.glob("*.ipynb"))
        assert names == sorted(p.name for p in cl.step_notebooks())
        for nb_path in learner.notebooks:
            params, nb = _params(nb_path)
            ws = (nb_path.parent / params["workspace"]).resolve()
            assert ws == classroom.workspace.root
            if nb_path.stem not in ("evaluation",):
                assert params["territory"] == learner.territory_id
            assert "papermill" in nb.metadata
            assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert (classroom.workspace.root / "evaluations" / "classroom.yml").is_file()


@pytest.mark.slow
def test_reusing_a_classroom_keeps_edited_plans(classroom, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(classroom.workspace.root, root, ignore=shutil.ignore_patterns("classroom"))
    plan = root / "evaluations" / "classroom.yml"
    plan.write_text(plan.read_text(encoding="utf-8") + "\n# mine\n", encoding="utf-8")
    ids = [x.territory_id for x in classroom.learners[:1]]
    room = cl.build_classroom(root, territories=ids, learners=1, echo=lambda *_: None)
    assert not room.built and plan.read_text(encoding="utf-8").endswith("# mine\n")
    with pytest.raises(ConfigError, match="not in the store"):
        cl.build_classroom(root, territories=["nope"], echo=lambda *_: None)
    with pytest.raises(ConfigError, match="between 1 and 200"):
        cl.build_classroom(root, learners=0, echo=lambda *_: None)


def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a workspace"):
        cl.build_classroom(tmp_path, echo=lambda *_: None)


def _execute(path, out):
    papermill.execute_notebook(str(path), str(out), cwd=str(path.parent), progress_bar=False,
                               kernel_name="python3")
    return nbformat.read(out, as_version=4)


@pytest.mark.slow
def test_every_learner_notebook_executes(classroom, tmp_path):
    done = 0
    for learner in classroom.learners:
        for path in learner.notebooks:
            if path.parent.name == cl.EXERCISES_DIR:
                continue
            nb = _execute(path, tmp_path / f"{learner.number}-{path.name}")
            assert nb.metadata["papermill"]["exception"] in (None, False), path
            done += 1
    assert done == 3 * len(cl.step_notebooks())


@pytest.mark.slow
def test_every_exercises_notebook_executes_and_checks(classroom, tmp_path):
    learner = classroom.learners[0]
    exercises = [p for p in learner.notebooks if p.parent.name == cl.EXERCISES_DIR]
    assert len(exercises) == len(cl.exercise_notebooks())
    for path in exercises:
        nb = _execute(path, tmp_path / path.name)
        code = [c for c in nb.cells if c.cell_type == "code"]
        outputs = [json.dumps(c.get("outputs", []), ensure_ascii=False) for c in code]
        tasks = [o for c, o in zip(code, outputs, strict=True) if 'check("' in c.source]
        # every task answered "no answer yet", never a traceback
        assert tasks and all("todavía no hay respuesta" in o for o in tasks), path.name
        assert not any("Traceback" in o or '"error"' in o for o in outputs)


def test_opening_a_step_notebook_directly_says_what_to_do(tmp_path):
    """notebooks/ opened as they are (no parameters given): one clear line, not a failure on
    workspace='.'."""
    src = cl.step_notebooks()[0]
    with pytest.raises(papermill.PapermillExecutionError) as e:
        papermill.execute_notebook(str(src), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                                   progress_bar=False, kernel_name="python3")
    assert e.value.ename == "ConfigError"
    assert "celda de parámetros" in e.value.evalue and "territoria lab" in e.value.evalue


@pytest.mark.slow
def test_a_new_folder_gets_the_sample_city(tmp_path):
    room = cl.build_classroom(tmp_path / "new", learners=2, run_steps=False,
                              echo=lambda *_: None)
    assert room.built and (room.workspace.root / "truth" / "params.json").is_file()
    assert room.workspace.store_path.is_file()
    ids = [x.territory_id for x in room.learners]
    assert len(set(ids)) == 2
    from territoria.store import Store

    with Store(room.workspace.store_path, read_only=True) as s:
        t = s.query("SELECT territory_id, priority, blocks_total FROM territories")
    chosen = t[t["territory_id"].isin(ids)]
    assert chosen["priority"].all() and (chosen["blocks_total"] >= cl.MIN_BLOCKS).all()
