"""Notebooks are teaching material: a parameters cell, narrative, no logic, no outputs."""

import ast
import re
from pathlib import Path

import nbformat
import pytest

from territoria.pipeline.steps import STEPS

NB_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
PARAMS = {"workspace", "territory", "language", "period_start", "period_end"}


def test_every_step_has_its_notebook():
    names = {p.stem for p in NOTEBOOKS}
    for step in STEPS:
        assert step.id in names, f"notebooks/{step.id}.ipynb is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    for c in code:
        assert not c.get("outputs"), f"{path.name}: committed outputs"
        assert c.get("execution_count") is None, f"{path.name}: execution counts"
        assert not re.search(r"^\s*(def|class|lambda)\b", c.source, re.M), \
            f"{path.name}: logic (def/class) belongs in src/territoria/"
        src = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln
                        for ln in c.source.splitlines())
        tree = ast.parse(src)
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                                ast.AsyncFunctionDef))]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    names = {t.id for n in ast.walk(ast.parse(tagged[0].source)) if isinstance(n, ast.Assign)
             for t in n.targets if isinstance(t, ast.Name)}
    need = PARAMS if path.stem in {s.id for s in STEPS} else {"workspace", "language"}
    assert need <= names, f"{path.name}: parameters cell lacks {need - names}"
    # narrative: more explanation than a title, in Spanish and English
    text = "\n".join(c.source for c in md)
    words = set(re.findall(r"[a-záéíóúñ]+", text.lower()))
    assert len(md) >= 4, f"{path.name}: narrative is thin"
    assert {"la", "que", "los"} <= words and {"the", "and", "of"} <= words, \
        f"{path.name}: narrative needs Spanish and English"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


EXERCISES = sorted((NB_DIR / "exercises").glob("*.ipynb"))


def test_every_step_has_its_exercises():
    names = {p.stem for p in EXERCISES}
    assert {s.id for s in STEPS} <= names, "notebooks/exercises/ lacks a step"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: f"exercises/{p.name}")
def test_exercises_are_thin_and_never_hold_answers(path):
    """Same discipline as the step notebooks; every task asks `check` and leaves the answer
    empty (the right answer is computed when checking, never written here)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, path.name
        assert not re.search(r"^\s*(def|class)\b|lambda", c.source, re.M), path.name
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    calls = re.findall(r'check\("(\d\d\.\w+)", answer\)', "\n".join(c.source for c in code))
    answers = re.findall(r"^answer = (.*?)(?:\s+#.*)?$", "\n".join(c.source for c in code), re.M)
    assert 3 <= len(calls) <= 5, f"{path.name}: 3-5 tasks"
    assert all(k.startswith(path.stem[:2] + ".") for k in calls)
    assert answers and set(answers) == {"None"}, f"{path.name}: an answer is filled in"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    assert {"la", "que", "los"} <= set(re.findall(r"[a-záéíóúñ]+", text))
    assert {"the", "and", "of"} <= set(re.findall(r"[a-z]+", text))
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: f"exercises/{p.name}")
def test_exercises_speak_one_language_at_a_time(path):
    """What an exercise prints comes from the step notebooks' helpers in the learner's
    language (``say``, ``show``), never an "es / en" line or a raw ``display``; its section
    headings read "Español · *English*"."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                     and "parameters" not in c.metadata.get("tags", []))
    assert "from territoria.steps.display import" in code and "show(" in code, path.name
    assert "display(" not in code.replace("territoria.steps.display", ""), path.name
    mixed = re.findall(r"(?:print|say)\(\s*\"[^\"]* / [^\"]*\"", code)
    assert not mixed, f"{path.name}: prints both languages at once: {mixed}"
    heads = [ln for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()
             if re.match(r"^#{2,3} ", ln)]
    assert heads and all(re.search(r" · \*[^*]+\*$", h) for h in heads), (path.name, heads)
