"""Fingerprints change exactly when an input changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from territoria.pipeline.fingerprint import (
    BOOKKEEPING_TABLES,
    CITY_WIDE_READS,
    OUTPUT_PREFIXES,
    TERRITORY_COLUMNS,
    TERRITORY_STEP_INPUTS,
    DataState,
    ResultsIndex,
    data_state_digest,
    fingerprint,
    results_digest,
    table_digest,
)
from territoria.steps.common import open_context, run_step
from territoria.steps.registry import STEPS
from territoria.store import Store


def _store(rows):
    s = Store(":memory:")
    with s.transaction():
        s.append("crime_counts", pd.DataFrame(rows, columns=["territory_id", "category", "count"]))
    return s


def test_table_digest_is_order_independent_and_content_sensitive():
    a = _store([("T1", "a", 1), ("T2", "b", 2)])
    b = _store([("T2", "b", 2), ("T1", "a", 1)])
    c = _store([("T1", "a", 1), ("T2", "b", 3)])
    d = _store([("T1", "a", 1), ("T2", "b", 2), ("T2", "b", 2)])  # a duplicated row
    digests = [table_digest(s, "crime_counts") for s in (a, b, c, d)]
    assert digests[0] == digests[1]
    assert len({digests[0], digests[2], digests[3]}) == 3
    assert data_state_digest(a) == data_state_digest(b) != data_state_digest(c)
    assert data_state_digest(a, b"min_cell_size: 5") != data_state_digest(a, b"min_cell_size: 10")
    assert table_digest(a, "no_such_table") == "0|0|0"  # absent digests like empty
    empty = Store(":memory:")
    assert table_digest(empty, "crime_counts") == "0|0|0"
    assert results_digest(empty, ["00_selection"], "T1") == results_digest(
        Store(":memory:"), ["00_selection"], "T1")


def test_results_digest_ignores_timestamps_and_other_territories():
    s = Store(":memory:")
    ind = pd.DataFrame({"name": ["pop"], "value": [10.0]})
    with s.transaction():
        s.record_indicators(ind, step="01_network", territory_id="T1")
    before = results_digest(s, ["01_network"], "T1")
    with s.transaction():  # same values again: only computed_at changes
        s.record_indicators(ind, step="01_network", territory_id="T1")
        s.record_indicators(ind, step="01_network", territory_id="T2")
    assert results_digest(s, ["01_network"], "T1") == before
    assert results_digest(s, ["01_network"], None, all_territories=True) != before
    with s.transaction():
        s.record_indicators(ind.assign(value=11.0), step="01_network", territory_id="T1")
    assert results_digest(s, ["01_network"], "T1") != before
    assert results_digest(s, [], "T1") == results_digest(s, [], "T2")


def test_fingerprint_depends_on_every_part():
    base = (b'{"cells": []}', {"territory": "T1", "language": "es"}, "data", "res", "0.1.0")
    fp = fingerprint(*base)
    assert len(fp) == 64 and fp == fingerprint(*base)
    variants = [
        (b'{"cells": [1]}', *base[1:]),
        (base[0], {"territory": "T1", "language": "en"}, *base[2:]),
        (*base[:2], "data2", *base[3:]),
        (*base[:3], "res2", base[4]),
        (*base[:4], "0.2.0"),
    ]
    assert len({fingerprint(*v) for v in variants} | {fp}) == 6
    # parameter order does not matter
    assert fingerprint(base[0], {"language": "es", "territory": "T1"}, *base[2:]) == fp


def test_fingerprint_ignores_where_the_workspace_is():
    args = (b"{}", "data", "res", "0.1.0")
    here = fingerprint(args[0], {"territory": "T1", "workspace": "/a/ws"}, *args[1:])
    there = fingerprint(args[0], {"territory": "T1", "workspace": "/b/copy"}, *args[1:])
    assert here == there != fingerprint(args[0], {"territory": "T2", "workspace": "/a/ws"},
                                        *args[1:])


def _results_store():
    s = Store(":memory:")
    with s.transaction():
        for step, tid, v in [("00_selection", None, 1.0), ("01_network", "T1", 2.0),
                             ("01_network", "T2", 3.0), ("02_diagnostic", "T1", 4.0),
                             ("06_impact", None, 5.0)]:
            s.record_indicators(pd.DataFrame({"name": ["x", "y"], "value": [v, v + 1]}),
                                step=step, territory_id=tid)
    return s


def test_results_index_gives_the_same_digests_as_one_query_each():
    s = _results_store()
    steps = ["00_selection", "01_network", "02_diagnostic", "06_impact"]
    for earlier in (steps[:1], steps[:2], steps[:3], steps, []):
        idx = ResultsIndex(s, earlier)
        for tid in ("T1", "T2", "T3", None):
            assert idx.digest(earlier, tid) == results_digest(s, earlier, tid)
        assert idx.digest(earlier, None, all_territories=True) == results_digest(
            s, earlier, None, all_territories=True)
    assert ResultsIndex(Store(":memory:"), steps).digest(steps, "T1") == results_digest(
        Store(":memory:"), steps, "T1")


def _data_store():
    s = Store(":memory:")
    with s.transaction():
        s.append("crime_counts", pd.DataFrame({"territory_id": ["T1", "T2"],
                                               "category": ["a", "a"], "count": [1, 2]}))
        s.append("votes", pd.DataFrame({"_uuid": ["u1", "u2"], "territory": ["T1", "T2"],
                                        "round": ["r1", "r1"]}))
        s.append("votes__votes", pd.DataFrame({"_uuid": ["c1", "c2"],
                                               "_parent_uuid": ["u1", "u2"],
                                               "vote": ["agree", "pass"]}))
        s.append("diagnostic", pd.DataFrame({"_uuid": ["d1", "d2"], "territory": ["T1", "T2"],
                                             "problem_1": ["water", "security"]}))
    return s


def _changed(before, after, notebooks):
    return {nb for nb in notebooks if before.digest(*nb) != after.digest(*nb)}


NOTEBOOKS_ = [(st, t) for st in ("01_network", "02_diagnostic", "03_agenda") for t in ("T1", "T2")]


def test_data_state_scopes_a_change_to_its_territory():
    s = _data_store()
    base = DataState(s)
    with s.transaction():  # one more vote of T2, in the repeat table (territory via parent)
        s.append("votes__votes", pd.DataFrame({"_uuid": ["c3"], "_parent_uuid": ["u2"],
                                               "vote": ["agree"]}))
    voted = DataState(s)
    # 01 and 03 read votes (02 does not)
    assert _changed(base, voted, NOTEBOOKS_) == {("01_network", "T2"), ("03_agenda", "T2")}
    assert base.digest("07_synthesis", None) != voted.digest("07_synthesis", None)
    with s.transaction():  # 02 compares each territory's diagnostic with the city's
        s.append("diagnostic", pd.DataFrame({"_uuid": ["d3"], "territory": ["T1"],
                                             "problem_1": ["water"]}))
    diag = DataState(s)
    assert _changed(voted, diag, NOTEBOOKS_) == {("02_diagnostic", "T1"),
                                                 ("02_diagnostic", "T2"), ("03_agenda", "T1")}
    # a step the registry does not know depends on everything
    assert _changed(voted, diag, [("99_new", "T2")]) == {("99_new", "T2")}
    # the same data again (another order) changes nothing; city.yml changes everything
    assert not _changed(diag, DataState(s), NOTEBOOKS_)
    assert _changed(diag, DataState(s, b"min_cell_size: 3"), NOTEBOOKS_) == set(NOTEBOOKS_)


def test_data_state_ignores_ingest_logs_for_territory_steps_only():
    s = _data_store()
    base = DataState(s)
    with s.transaction():
        s.append("ingest_log", pd.DataFrame({"file": ["votes.csv"], "sha256": ["ab"]}))
    logged = DataState(s)
    assert not _changed(base, logged, NOTEBOOKS_)
    assert base.digest("00_selection", None) != logged.digest("00_selection", None)


def test_city_wide_reads_count_only_their_columns():
    s = Store(":memory:")
    with s.transaction():
        s.append("territories", pd.DataFrame({"territory_id": ["T1", "T2"],
                                              "name": ["Uno", "Dos"],
                                              "population": [10.0, 20.0],
                                              "priority": [True, True]}))
    base = DataState(s)
    with s.transaction():
        s.con.execute("UPDATE territories SET population = 11 WHERE territory_id = 'T1'")
    pop = DataState(s)
    # 01 reads every territory's id and priority but only its own population
    assert _changed(base, pop, [("01_network", "T1"), ("01_network", "T2")]) == {
        ("01_network", "T1")}
    with s.transaction():
        s.con.execute("UPDATE territories SET priority = false WHERE territory_id = 'T1'")
    prio = DataState(s)
    assert _changed(pop, prio, [("01_network", "T2"), ("03_agenda", "T2")]) == {
        ("01_network", "T2")}


# ------------------------------------------------------------------------------------------
# The registry's city-wide reads are what the fingerprint follows, and what the steps do
# ------------------------------------------------------------------------------------------
TERRITORY_STEPS = [s for s in STEPS if not s.is_city]


@pytest.mark.parametrize("step", TERRITORY_STEPS, ids=lambda s: s.id)
def test_the_fingerprint_follows_the_registry_inputs(step):
    """A territory step's own rows of a table rerun it exactly when the table is one of its
    registry inputs; another territory's rows exactly when the input is ``city_wide``."""
    declared = {i.table: i.city_wide for i in step.inputs if i.city_wide is not False}
    assert CITY_WIDE_READS[step.id].keys() == declared.keys()
    inputs = {i.table for i in step.inputs}
    assert TERRITORY_STEP_INPUTS[step.id] == inputs
    tables = sorted({i.table for i in step.inputs} | {"crime_counts", "wellbeing"})
    s = Store(":memory:")
    for t in tables:
        s.con.execute(f'CREATE OR REPLACE TABLE "{t}" AS SELECT * FROM (VALUES (\'T1\', 1), '
                      f'(\'T2\', 2)) v(territory_id, x)')
    for t in tables:
        before = DataState(s)
        with s.transaction():
            s.con.execute(f'UPDATE "{t}" SET x = x + 10 WHERE territory_id = \'T2\'')
        other = DataState(s)
        assert (before.digest(step.id, "T1") != other.digest(step.id, "T1")) == (
            declared.get(t) is True), (step.id, t)
        with s.transaction():
            s.con.execute(f'UPDATE "{t}" SET x = x + 10 WHERE territory_id = \'T1\'')
        assert (other.digest(step.id, "T1") != DataState(s).digest(step.id, "T1")) == (
            t in inputs), (step.id, t)
    # a column declared city-wide: another territory's change of it reruns the step
    for t, cols in declared.items():
        if cols is True:
            continue
        col = next(c for c in cols if c != "territory_id")
        u = Store(":memory:")
        u.con.execute(f'CREATE OR REPLACE TABLE "{t}" AS SELECT * FROM (VALUES (\'T1\', \'a\', \'c\'), '
                      f'(\'T2\', \'b\', \'d\')) v(territory_id, "{col}", other)')
        before = DataState(u)
        with u.transaction():
            u.con.execute(f'UPDATE "{t}" SET other = \'e\' WHERE territory_id = \'T2\'')
        mid = DataState(u)
        with u.transaction():
            u.con.execute(f'UPDATE "{t}" SET "{col}" = \'f\' WHERE territory_id = \'T2\'')
        assert before.digest(step.id, "T1") == mid.digest(step.id, "T1") != DataState(
            u).digest(step.id, "T1"), (step.id, t, col)


def _keep_what_a_step_reads(src: Path, dest: Path, step: str, territory: str) -> None:
    """Copy the store ``src`` to ``dest`` keeping, for a territory step, only what its
    fingerprint says it reads: of the tables it declares (and their repeat tables), the
    territory's own rows and rows of no territory (a repeat row through its parent), every
    row of a table declared city-wide, and of a table declared city-wide by some columns,
    other territories' rows with only those columns (the others NULL). Declared tables
    without territories and the kit's bookkeeping stay whole; other tables are left out."""
    reads = CITY_WIDE_READS[step]
    inputs = TERRITORY_STEP_INPUTS[step]
    con = duckdb.connect(str(dest))
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        schema: dict[str, list[str]] = {}
        for t, c in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                "table_catalog = 'src' ORDER BY table_name, ordinal_position").fetchall():
            schema.setdefault(t, []).append(c)

        def tcol(t: str) -> str | None:
            return next((c for c in TERRITORY_COLUMNS if c in schema.get(t, [])), None)

        for t, cols in schema.items():
            if t not in BOOKKEEPING_TABLES and t not in inputs and t.split("__")[0] not in inputs:
                continue
            col, parent = tcol(t), t.split("__", 1)[0] if "__" in t else None
            key = "_parent_uuid" if "_parent_uuid" in cols else "_uuid"
            if col is not None:
                own = f'("{col}" = $1 OR "{col}" IS NULL)'
            elif parent in schema and tcol(parent) and key in cols:
                pcol = tcol(parent)
                own = (f'NOT EXISTS (SELECT 1 FROM src."{parent}" p WHERE p._uuid = '
                       f'x."{key}" AND p."{pcol}" IS NOT NULL AND p."{pcol}" <> $1)')
            else:
                own = None
            cw = reads.get(t, [])
            if own is None or t in BOOKKEEPING_TABLES or cw is None:
                sql = f'SELECT * FROM src."{t}"'
            elif cw:
                sel = ", ".join(f'"{c}"' if c in cw else
                                f'CASE WHEN {own} THEN "{c}" END AS "{c}"' for c in cols)
                sql = f'SELECT {sel} FROM src."{t}" x'
            else:
                sql = f'SELECT * FROM src."{t}" x WHERE {own}'
            params = [territory] if "$1" in sql else []
            con.execute(f'CREATE TABLE main."{t}" AS {sql}', params)
    finally:
        con.close()


def _result(ws_root: Path, step: str, territory: str):
    ctx = open_context(ws_root)
    try:
        return run_step(ctx, step, territory, lang="es")
    finally:
        ctx.close()


@pytest.mark.slow
@pytest.mark.parametrize("step", TERRITORY_STEPS, ids=lambda s: s.id)
def test_a_step_reads_no_other_territory_beyond_its_declared_inputs(step, sample_ws, tmp_path):
    """A territory step computes the same results on a store holding only what its
    fingerprint covers: if a step starts reading a table its registry inputs do not name, or
    other territories' rows of an input not declared ``city_wide``, this fails (its notebooks
    would go stale when that data changes)."""
    with Store(sample_ws.store_path, read_only=True) as s:
        tid = s.query("SELECT territory FROM diagnostic INTERSECT SELECT territory FROM "
                      "assembly INTERSECT SELECT territory FROM process INTERSECT SELECT "
                      "territory FROM proposals ORDER BY 1 LIMIT 1")["territory"].iloc[0]
    root = tmp_path / "ws"
    root.mkdir()
    for name in ("city.yml", ".secret"):
        shutil.copy(sample_ws.root / name, root / name)
    shutil.copytree(sample_ws.root / "surveys", root / "surveys")
    if (sample_ws.root / "output").is_dir():  # earlier steps' files other tests left there
        shutil.copytree(sample_ws.root / "output", root / "output")
    _keep_what_a_step_reads(sample_ws.store_path, root / "territoria.duckdb", step.id, tid)
    full = _result(sample_ws.root, step.id, tid)
    kept = _result(root, step.id, tid)
    assert full.status == kept.status == "ok"
    assert_frame_equal(full.indicators_frame(), kept.indicators_frame(), rtol=1e-9)
    assert full.tables.keys() == kept.tables.keys()
    for key, df in full.tables.items():
        assert_frame_equal(df, kept.tables[key], rtol=1e-9, obj=f"{step.id} {key}")


def test_evaluation_tables_are_outputs_not_inputs():
    """``territoria evaluate`` writes its tables after a run: no notebook is out of date."""
    from territoria.evaluation.runner import TABLES

    assert TABLES and all(t.startswith(OUTPUT_PREFIXES) for t in TABLES)
    s = _data_store()
    base = DataState(s)
    for t in TABLES:
        s.con.execute(f'CREATE TABLE "{t}" AS SELECT \'T1\' AS territory_id, 1.0 AS value')
    evaluated = DataState(s)
    assert not _changed(base, evaluated, NOTEBOOKS_ + [("00_selection", None),
                                                       ("07_synthesis", None)])
