"""``territoria run`` from the command line: one-line errors, summary, exit status."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import init_workspace
from territoria.store import Store

NOTEBOOKS = Path(__file__).resolve().parents[1] / "pipeline" / "notebooks"


def _ws(tmp_path, rows=(("T01", 1000.0, True), ("T03", 3000.0, True))):
    ws = init_workspace(tmp_path / "ws", "Prueba")
    with Store(ws.store_path) as s, s.transaction():
        s.append("territories", pd.DataFrame(list(rows), columns=["territory_id", "population",
                                                                   "priority"])
                 .assign(name="x"))
    return ws


def _invoke(*args):
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def test_unknown_step_is_one_line_error(tmp_path):
    ws = _ws(tmp_path)
    r = _invoke("-w", str(ws.root), "--steps", "00,42", "--notebooks", str(NOTEBOOKS))
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: unknown step '42' (allowed: 00_selection, 01_network, 02_diagnostic, "
        "03_agenda, 04_followup, 05_process, 06_impact, 07_synthesis, or their numbers)"]


def test_unknown_territory_is_one_line_error(tmp_path):
    ws = _ws(tmp_path)
    r = _invoke("-w", str(ws.root), "--steps", "01", "--territory", "07-999",
                "--notebooks", str(NOTEBOOKS))
    assert r.exit_code == 1
    assert r.output.strip() == "error: unknown territory '07-999' (allowed: T01, T03)"


def test_territory_and_all_are_exclusive(tmp_path):
    ws = _ws(tmp_path)
    r = _invoke("-w", str(ws.root), "--all", "--territory", "T01", "--notebooks", str(NOTEBOOKS))
    assert r.exit_code == 1 and "either --territory or --all" in r.output


@pytest.mark.slow
def test_run_reports_failure_and_exits_nonzero(tmp_path):
    ws = _ws(tmp_path)
    args = ["-w", str(ws.root), "--steps", "01,02", "--notebooks", str(NOTEBOOKS),
            "--workers", "2", "--language", "en", "-q"]
    r = _invoke(*args)
    assert r.exit_code == 1, r.output
    assert "3 ok, 0 skipped (up to date), 1 failed" in r.output
    assert "02_diagnostic · territory T03: cell 5 (In [5]): ValueError: no data for T03" in r.output
    assert r.output.strip().endswith("error: 1 notebook failed (see above)")
    ok = _invoke("-w", str(ws.root), "--steps", "01", "--notebooks", str(NOTEBOOKS), "-q",
                 "--language", "en")
    assert ok.exit_code == 0, ok.output
    assert "0 ok, 2 skipped (up to date), 0 failed" in ok.output



def test_run_waits_for_the_workspace_then_stops_with_one_line(tmp_path, invoke_while_busy):
    ws = _ws(tmp_path)
    invoke_while_busy(ws, ["run", "-w", str(ws.root), "--steps", "01", "--notebooks",
                           str(NOTEBOOKS), "-q"])
    assert not (ws.output_dir / "01_network").exists()


@pytest.mark.slow
def test_run_waits_for_the_workspace_then_goes_on(tmp_path, hold_workspace):
    ws = _ws(tmp_path)
    p = hold_workspace(ws.store_path, 1.5)
    r = CliRunner().invoke(cli, ["run", "-w", str(ws.root), "--steps", "01", "--territory",
                                 "T01", "--notebooks", str(NOTEBOOKS), "-q", "--wait", "60"])
    p.wait()
    assert r.exit_code == 0, r.output
    assert [x for x in r.stderr.splitlines() if f"pid {p.pid}" in x] == [
        r.stderr.strip().splitlines()[0]]
    assert "1 correctos" in r.stdout and (ws.output_dir / "01_network" / "T01.html").exists()
