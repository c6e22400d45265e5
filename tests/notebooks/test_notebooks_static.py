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
