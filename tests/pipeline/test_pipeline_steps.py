"""Step registry, output names and their safety."""

from __future__ import annotations

import pytest

from territoria.exceptions import PipelineError
from territoria.pipeline.steps import (
    STEPS,
    default_notebooks_dir,
    get_step,
    output_paths,
    resolve_steps,
    safe_name,
)

NASTY = ['x/../"<script>alert(1)</script>\n\'y', "../../etc/passwd", "..", ".", "", "a\\b",
         "con\x00trol", "/abs/path", "07-001\n", "ünïcödé colonia", "city", "a" * 300, "a/b", "a_b"]


def test_registry_order_and_scope():
    assert [s.id for s in STEPS] == ["00_selection", "01_network", "02_diagnostic", "03_agenda",
                                    "04_followup", "05_process", "06_impact", "07_synthesis"]
    assert [s.id for s in STEPS if s.is_city] == ["00_selection", "06_impact", "07_synthesis"]


def test_resolve_steps_accepts_ids_and_numbers_in_run_order():
    assert [s.id for s in resolve_steps("07,00_selection, 3")] == [
        "00_selection", "03_agenda", "07_synthesis"]
    assert len(resolve_steps(None)) == 8
    assert get_step("5").id == "05_process"


@pytest.mark.parametrize("bad", ["09", "99_x", "diagnostic", "0x"])
def test_unknown_step_names_allowed_values(bad):
    with pytest.raises(PipelineError, match=rf"unknown step '{bad}' \(allowed: 00_selection"):
        resolve_steps(f"00,{bad}")


def test_safe_names_stay_in_folder_and_do_not_collide(tmp_path):
    names = [safe_name(t) for t in NASTY]
    assert len(set(names)) == len(names)  # "a/b" and "a_b" differ
    step = get_step("01")
    for tid, name in zip(NASTY, names, strict=False):
        assert name and not name.startswith(".")
        assert all(c.isalnum() and c.isascii() or c in "._-" for c in name), name
        nb, html = output_paths(tmp_path, step, tid)
        assert nb.parent == (tmp_path / "01_network").resolve()
        assert html.parent == nb.parent and html.suffix == ".html"
    assert safe_name("07-001") == "07-001"  # ordinary CVEUT ids are kept as they are
    assert safe_name(None) == "city" and safe_name("city") != "city"


def test_default_notebooks_dir_is_the_repo_folder(repo_root):
    assert default_notebooks_dir() == repo_root / "notebooks"
