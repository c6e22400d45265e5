"""``territoria survey validate | codebook | build``."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner

from territoria.cli import cli
from territoria.instruments.xlsform import default_surveys_dir

SURVEYS = default_surveys_dir()


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_validate_all_kit_forms():
    forms = sorted(SURVEYS.glob("*.xlsx"))
    res = run("survey", "validate", *forms)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    current = [p for p in forms if "-" not in p.stem]  # <form>-<version>.xlsx are kept versions
    assert len(lines) == len(forms) > len(current)
    assert len(current) == len(list((SURVEYS / "src").glob("[!_]*.yml")))
    assert all(line.startswith("OK ") for line in lines)
    assert any("territoria_votes version 2026.1: 10 fields (8 in the main table, 2 in repeat votes)"
               in line for line in lines)


def test_validate_reports_one_line_errors_and_exit_1(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label::Español (es)", "label::English (en)"])
    ws.append(["integer", "a", "A", "A"])
    ws.append(["integer", "a", "B", "B"])
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    res = run("survey", "validate", SURVEYS / "votes.xlsx", bad)
    assert res.exit_code == 1
    assert f"error: {bad}, sheet survey, row 3, field a: name 'a' is used twice" in res.output
    assert "OK " in res.output and "1 of 2 form(s) have errors" in res.output
    assert "Traceback" not in res.output


def test_validate_kobo_form_without_kit_rules(real_data):
    form = real_data / "kobo-export-example" / "artifact-kobotoolbox.xlsx"
    assert run("survey", "validate", form).exit_code == 1
    res = run("survey", "validate", "--no-kit-rules", form)
    assert res.exit_code == 0 and "72 fields" in res.output


def test_codebook_stdout_and_file(tmp_path):
    res = run("survey", "codebook", SURVEYS / "followup.xlsx")
    assert res.exit_code == 0 and res.output.startswith("# Libro de códigos: Seguimiento")
    out = tmp_path / "cb.html"
    res = run("survey", "codebook", SURVEYS / "followup.xlsx", "--format", "html", "--out", out,
              "--lang", "en")
    assert res.exit_code == 0 and out.read_text(encoding="utf-8").count("<tr>") == 12


def test_build_check_in_sync():
    res = run("survey", "build", "--check")
    assert res.exit_code == 0 and "in sync" in res.output


def test_help_has_examples():
    for cmd in ("validate", "codebook", "build"):
        res = run("survey", cmd, "--help")
        assert res.exit_code == 0 and "Example:" in res.output
