"""The step registry is the one declaration of the steps, and every step module honours the
same contract (checked once here, for all of them)."""

import importlib
import inspect

import pytest

from territoria.pipeline import kernels
from territoria.pipeline import steps as pipeline_steps
from territoria.report import site
from territoria.steps import STEP_MODULES, Section, StepResult, sections
from territoria.steps.common import check_inputs, open_context, run_step
from territoria.steps.registry import SOURCES, STEPS, input_tables, step_by_id


def test_runner_site_preload_and_package_derive_from_the_registry():
    assert pipeline_steps.STEPS is STEPS
    assert list(STEP_MODULES) == [s.id for s in STEPS]
    assert site.STEP_TITLES == {s.id: (s.title["es"], s.title["en"]) for s in STEPS}
    assert {s.module for s in STEPS} <= set(kernels.DEFAULT_PRELOAD)
    assert [sec.step for sec in sections()] == [s.id for s in STEPS]


def test_every_input_names_what_fills_it():
    assert input_tables() <= set(SOURCES)
    for table in input_tables():
        src = SOURCES[table]
        assert src.what["es"] and src.what["en"] and src.what["es"] != src.what["en"]
        assert src.command.startswith("territoria ")
    with pytest.raises(KeyError, match="allowed"):
        step_by_id("99_nothing")


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.id)
def test_every_step_module_has_the_same_contract(step):
    mod = importlib.import_module(step.module)
    assert mod.STEP == step.id
    assert mod.SCOPE == step.scope
    assert isinstance(mod.SECTION, Section) and mod.SECTION.step == step.id
    sig = inspect.signature(mod.compute)
    names = list(sig.parameters)
    assert names[:2] == ["ctx", "territory_id"]
    assert sig.parameters["lang"].kind is inspect.Parameter.KEYWORD_ONLY
    assert step.inputs, f"{step.id} declares no inputs"
    assert any(i.required for i in step.inputs)
    for i in step.inputs:  # an optional input says which sections it feeds, or none
        assert isinstance(i.sections, tuple)
        assert set(i.sections) <= {v.key for v in mod.SECTION.views}, (step.id, i.table)


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.id)
def test_every_step_ends_no_data_on_an_empty_workspace(step, tmp_path):
    from territoria.config import init_workspace
    from territoria.store import Store

    ws = init_workspace(tmp_path / "ws", name="Vacía")
    Store(ws.store_path).close()
    ctx = open_context(ws.root)
    try:
        tid = None if step.is_city else "07-001"
        res = run_step(ctx, step.id, tid, lang="en")
        assert isinstance(res, StepResult)
        assert res.status == "no-data"
        assert not res.tables and res.indicators_frame().empty
        chk = res.check
        assert chk.missing and chk.status == "no-data"
        # the reason names a table, what fills it and the command, in both languages
        first = next(r for r in chk.rows if r["table"] == chk.missing[0] and r["state"] != "ok")
        assert first["command"].startswith("territoria ")
        assert any(first["command"] in r for r in chk.reasons("es"))
        assert chk.reasons("es") != chk.reasons("en")
        path = res.save(tmp_path / "out")
        from territoria.pipeline.runner import inputs_meta

        meta = inputs_meta(path)
        assert meta["status"] == "no-data" and meta["missing"] == chk.missing
        assert check_inputs(ctx, step.id, tid).frame()["state"].ne("ok").any()
    finally:
        ctx.close()


def _sources(step) -> str:
    """The step module's code and its notebook's code cells."""
    import importlib
    import inspect
    import json

    from territoria.pipeline.steps import default_notebooks_dir

    code = inspect.getsource(importlib.import_module(step.module))
    nb = json.loads((default_notebooks_dir() / step.notebook).read_text(encoding="utf-8"))
    return code + "\n".join("".join(c["source"]) for c in nb["cells"]
                            if c["cell_type"] == "code")


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.id)
def test_a_step_declares_the_results_it_reads(step):
    """The runner batches steps that read none of each other's results
    (registry.batches): a step that reads another's recorded results without declaring it
    would read the previous run's."""
    import re

    src = _sources(step)
    named = set(re.findall(r"load_result_table\([^,]+,\s*[\"'](\d\d_\w+)[\"']", src))
    assert named <= set(step.reads_results), (step.id, named)
    if re.search(r"FROM indicators|load_indicators\(|table\([\"']indicators[\"']\)", src):
        earlier = [s.id for s in STEPS[:STEPS.index(step)]]
        assert set(step.reads_results) == set(earlier), step.id
    order = [s.id for s in STEPS]
    assert all(order.index(d) < order.index(step.id) for d in step.reads_results)


def test_steps_are_cut_into_batches_where_one_reads_another():
    from territoria.steps.registry import batches

    cut = [[s.id for s in b] for b in batches(STEPS)]
    assert cut[0][:1] == ["00_selection"] and "04_followup" not in cut[0]
    for b in cut:  # no step of a batch reads the results of another step of the batch
        for sid in b:
            assert not set(step_by_id(sid).reads_results) & set(b)
    assert [s for b in cut for s in b] == [s.id for s in STEPS]
