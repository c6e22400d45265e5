"""Partial data: with any input table removed, or left with a single row, every step ends
``ok`` or ``no-data`` (never an error), on a workspace of four territories.

A step that declares the table as required ends ``no-data`` when it is removed, and says
which table is missing and what fills it; optional inputs leave their sections out.
"""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from territoria.config import Workspace
from territoria.steps.common import open_context, run_step
from territoria.steps.registry import STEPS, input_tables
from territoria.store import CORE_DDL, Store

#: Tables some step reads (``indicators`` is written by the steps themselves; the ledger's
#: tables come from ``territoria ledger sync``, which the sample store has not run).
TABLES = sorted(input_tables() - {"indicators", "agreements", "agreement_updates"})


def variant(small_ws, dest, table: str, mode: str) -> Workspace:
    """A copy of the small workspace with ``table`` removed (core tables, which every store
    has, are emptied) or cut to its first row."""
    ws, _, _ = small_ws
    dest.mkdir()
    for name in ("city.yml", ".secret"):
        shutil.copy(ws.root / name, dest / name)
    shutil.copytree(ws.root / "surveys", dest / "surveys")
    shutil.copy(ws.store_path, dest / "territoria.duckdb")
    con = duckdb.connect(str(dest / "territoria.duckdb"))
    try:
        if mode == "removed" and table in CORE_DDL:
            con.execute(f'DELETE FROM "{table}"')
        elif mode == "removed":
            con.execute(f'DROP TABLE "{table}"')
            for (child,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_name LIKE ?",
                    [f"{table}\\_\\_%"]).fetchall():
                con.execute(f'DROP TABLE "{child}"')
        else:
            con.execute(f'DELETE FROM "{table}" WHERE rowid <> (SELECT min(rowid) FROM "{table}")')
    finally:
        con.close()
    return Workspace(dest)


def record(ws: Workspace, results) -> None:
    """Load step results into the store as the runner does (results files, ``runs`` rows)."""
    from territoria.report.record import collect

    paths = [Path(r.save(ws.output_dir)) for r in results]
    now = pd.Timestamp.now()
    rows = [{"run_id": "test", "step": r.step, "territory_id": r.territory_id,
             "status": r.status, "fingerprint": "-", "output_path": "-", "error": None,
             "seconds": 0.0, "finished_at": now} for r in results]
    with Store(ws.store_path) as s, s.transaction():
        collect(s, paths)
        s.append("runs", pd.DataFrame(rows).astype({"territory_id": "object"}))


def _affected(table):
    return [s for s in STEPS if any(i.table == table for i in s.inputs)]


@pytest.mark.parametrize("mode", ["removed", "one_row"])
@pytest.mark.parametrize("table", TABLES)
def test_every_step_ends_ok_or_no_data(small_ws, tmp_path, table, mode):
    from territoria.report.site import SiteBuilder, publish

    _, prog, others = small_ws
    ws = variant(small_ws, tmp_path / "ws", table, mode)
    ctx = open_context(ws.root)
    results = []
    try:
        for step in _affected(table):
            for tid in ([None] if step.is_city else [prog[0], others[0]]):
                res = run_step(ctx, step.id, tid, lang="es")  # never raises
                results.append(res)
                assert res.status in ("ok", "no-data"), (step.id, tid)
                chk = res.check
                row = [r for r in chk.rows if r["table"] == table]
                required = any(r["required"] for r in row)
                if mode == "removed":  # the check sees it, and says so when it matters
                    assert all(r["state"] != "ok" for r in row), (step.id, tid)
                    if any(r["required"] or r["sections"] for r in row):
                        assert table in chk.missing, (step.id, tid)
                if mode == "removed" and required:
                    assert res.status == "no-data", (step.id, tid)
                    assert not res.tables
                    cmd = next(r["command"] for r in row if r["required"])
                    assert any(cmd in r for r in chk.reasons("es"))
                if res.status == "ok":  # computed: some section has rows
                    assert any(len(df) for df in res.tables.values()), (step.id, tid)
    finally:
        ctx.close()
    # publish writes every page, and the pages know what is missing where (recorded)
    record(ws, results)
    errors: list = []
    publish(ws, errors=errors)
    assert not errors
    with Store(ws.store_path, read_only=True) as store:
        b = SiteBuilder(ws, store)
        for res in results:
            st = b.statuses[(res.territory_id, res.step)]
            assert st["status"] == ("no-data" if res.status == "no-data"
                                    else res.check.status), (res.step, res.territory_id)
            assert st["missing"] == res.check.missing
            if res.status == "no-data" and not res.step.startswith(("00", "06", "07")) \
                    and res.territory_id in set(b.territories["territory_id"]):
                secs = {s["step"]: s for s in b.section_blocks(res.territory_id, [res.step])}
                assert [v["kind"] for v in secs[res.step]["views"]] == ["nodata"]


def test_complete_small_workspace_computes_every_step(small_ws):
    ws, prog, _ = small_ws
    ctx = open_context(ws.root)
    try:
        for step in STEPS[:-1]:  # 07 needs the others' recorded indicators (runner tests)
            res = run_step(ctx, step.id, None if step.is_city else prog[0], lang="en")
            assert res.status == "ok" and res.check.status == "ok", (step.id, res.check.missing)
            assert not res.check.missing_sections
            assert res.tables
    finally:
        ctx.close()


@pytest.mark.slow
def test_notebooks_with_optional_inputs_missing_compute_what_they_can(small_ws, tmp_path):
    """The real notebooks (figures and displays included), one territory: blocks, census,
    links, tallies and follow-up gone, the wellbeing panel without its second wave."""
    from territoria.pipeline.runner import run

    _, prog, _ = small_ws
    ws = variant(small_ws, tmp_path / "ws", "blocks", "removed")
    con = duckdb.connect(str(ws.store_path))
    try:
        for sql in ("DELETE FROM census_margins", "DELETE FROM links", "DROP TABLE tallies__tally",
                    "DROP TABLE tallies", "DELETE FROM wellbeing WHERE wave = 'post'",
                    "DROP TABLE followup"):
            con.execute(sql)
    finally:
        con.close()
    summary = run(ws, territories=prog[:1], workers=2, progress=False)
    assert summary.counts["failed"] == 0, summary.format("en")
    status = {r.step: r.status for r in summary.results}
    assert status["02_diagnostic"] == "no-data"  # blocks and census are required there
    assert all(status[s] == "ok" for s in ("01_network", "03_agenda", "04_followup",
                                           "05_process", "06_impact"))
    partial = {m["step"]: m for m in summary.missing if m["status"] == "partial"}
    assert "coverage" in partial["01_network"]["sections_left_out"]
    assert "trajectory" in partial["03_agenda"]["sections_left_out"]
    assert partial["06_impact"]["missing"] == "wellbeing"
