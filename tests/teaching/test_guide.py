"""The facilitator guide (es/en) links every notebook and exercise, its links resolve, and its
answer keys name every check."""

import re
from pathlib import Path

import pytest

from territoria.teaching import CHECKS
from territoria.teaching.classroom import exercise_notebooks, step_notebooks

GUIDE = Path(__file__).resolve().parents[2] / "methodology" / "teaching"


@pytest.mark.parametrize("name", ["index.md", "index.en.md"])
def test_guide_links_every_notebook_and_exercise(name):
    path = GUIDE / name
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", text)
    targets = {(path.parent / link).resolve() for link in links if "://" not in link}
    for target in targets:
        assert target.exists(), f"{name}: broken link {target}"
    for nb in [*step_notebooks(), *exercise_notebooks()]:
        assert nb.resolve() in targets, f"{name} does not link {nb.name}"
    for key in CHECKS:
        assert f"`{key}`" in text, f"{name}: answer key lacks {key}"
    for heading in (("Versión A", "Versión B", "Nota de cierre") if name == "index.md"
                    else ("Version A", "Version B", "Closing note")):
        assert heading in text
