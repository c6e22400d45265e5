"""``territoria template``: writes the files, lists them, refuses to overwrite in one line."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from territoria.cli import cli
from territoria.ingest.templates import KINDS, spec


def test_cli_template_one_kind_and_all(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["template", "programme", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert [p.rsplit("/", 1)[-1] for p in res.output.split()] == [
        "programme.csv", "programme.schema.csv", "programme.md"]
    with open(tmp_path / "t" / "programme.csv", encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["territory_id", "priority", "cohort", "joined_on"]
    res = runner.invoke(cli, ["template", "all", "--out", str(tmp_path / "all")])
    assert res.exit_code == 0, res.output
    for k in KINDS:
        assert (tmp_path / "all" / f"{k}.csv").is_file()
    assert (tmp_path / "all" / "territories.geojson").is_file()
    assert (tmp_path / "all" / "areas.geojson").is_file()


def test_cli_template_errors_are_one_line(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["template", "zones", "--out", str(tmp_path)]).exit_code == 0
    res = runner.invoke(cli, ["template", "zones", "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        f"error: {tmp_path / 'zones.csv'} ya existe; use --force para reemplazarlo"]
    res = runner.invoke(cli, ["template", "zones", "--out", str(tmp_path), "--force"])
    assert res.exit_code == 0
    res = runner.invoke(cli, ["template", "nonsense"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "crime_by_area" in res.output  # the usage error lists the kinds


def test_cli_template_help_names_every_kind():
    res = CliRunner().invoke(cli, ["template", "--help"])
    assert res.exit_code == 0
    for k in (*KINDS, "all"):
        assert k in res.output
    assert spec("zones").header() == ["zone_id", "name", "name_en"]
