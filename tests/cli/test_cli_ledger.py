"""Tests of ``territoria ledger`` (import, export, status, sync) with click's CliRunner."""

from __future__ import annotations

from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import Workspace
from territoria.store import Store

GOOD = """id,parent/id,title/es,title/en,start_date,end_date,status/id,progress,department,territory_id
A1,,Luminarias,Street lights,2024-01-10,2024-02-01,in_progress,40,public_works,07-001
A2,A1,Calle 5,,2024-01-10,2024-06-30,done,100,public_works,07-001
"""
BAD = """id,parent/id,title/es,start_date,end_date,status/id,progress
B1,,Bien,2024-01-10,2024-06-30,agreed,
B2,,Mal,2024-01-10,2024-06-30,finished,140
"""


def _ws(tmp_path):
    (tmp_path / "city.yml").write_text("name: Demo\n", encoding="utf-8")
    return tmp_path


def test_import_export_status(tmp_path):
    ws = _ws(tmp_path)
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    r = CliRunner().invoke(cli, ["ledger", "import", str(good), "--update-date", "2024-01-20",
                                 "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "create 2" in r.output and "2 updates written" in r.output
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(cli, ["ledger", "export", str(out), "--locale", "es,en", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("id,parent/id,title/es,title/en,description/es")
    assert "A2,A1,Calle 5,," in text
    r = CliRunner().invoke(cli, ["ledger", "status", "--as-of", "2024-03-01", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "2 agreements as of 2024-03-01" in r.output
    assert "fulfilment 1/2 = 50.0%" in r.output
    assert "A1" in r.output and "29 days" in r.output  # overdue since 2024-02-01
    r = CliRunner().invoke(cli, ["ledger", "status", "--as-of", "2024-01-15", "--lang", "en",
                                 "-w", str(ws)])
    assert "Agreed" not in r.output and "overdue: 0" in r.output


def test_dry_run_reports_rows_and_writes_nothing(tmp_path):
    ws = _ws(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    r = CliRunner().invoke(cli, ["ledger", "import", str(bad), "--dry-run", "-w", str(ws)])
    assert r.exit_code == 1
    assert "bad.csv, row 3, column status/id [B2] error: unknown status 'finished'" in r.output
    assert "bad.csv, row 3, column progress [B2] error: progress 140 is outside 0-100" in r.output
    assert "nothing written" in r.output
    assert not Workspace(ws).store_path.exists() or "agreements" not in Store(
        Workspace(ws).store_path, read_only=True).tables()
    r = CliRunner().invoke(cli, ["ledger", "import", str(bad), "--strict", "-w", str(ws)])
    assert r.exit_code == 1 and "nothing imported" in r.output
    r = CliRunner().invoke(cli, ["ledger", "import", str(bad), "-w", str(ws)])
    assert r.exit_code == 1 and "were skipped" in r.output
    with Store(Workspace(ws).store_path, read_only=True) as s:
        assert s.table("agreements")["agreement_id"].tolist() == ["B1"]


def test_errors_are_one_line(tmp_path):
    ws = _ws(tmp_path)
    r = CliRunner().invoke(cli, ["ledger", "status", "-w", str(ws)])
    assert r.exit_code == 1
    r = CliRunner().invoke(cli, ["ledger", "export", str(tmp_path / "x.csv"), "-w",
                                 str(tmp_path / "nope")])
    assert r.exit_code == 1 and "not a workspace" in r.output
    f = tmp_path / "g.csv"
    f.write_text(GOOD, encoding="utf-8")
    r = CliRunner().invoke(cli, ["ledger", "import", str(f), "--status-map", "3", "-w", str(ws)])
    assert r.exit_code == 1 and "ID=STATUS" in r.output
