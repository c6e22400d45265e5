"""Fingerprints change exactly when an input changes."""

from __future__ import annotations

import pandas as pd

from territoria.pipeline.fingerprint import (
    DataState,
    ResultsIndex,
    data_state_digest,
    fingerprint,
    results_digest,
    table_digest,
)
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
    assert _changed(base, voted, NOTEBOOKS_) == {(st, "T2") for st in
                                                 ("01_network", "02_diagnostic", "03_agenda")}
    assert base.digest("07_synthesis", None) != voted.digest("07_synthesis", None)
    with s.transaction():  # 02 compares each territory's diagnostic with the city's
        s.append("diagnostic", pd.DataFrame({"_uuid": ["d3"], "territory": ["T1"],
                                             "problem_1": ["water"]}))
    diag = DataState(s)
    assert _changed(voted, diag, NOTEBOOKS_) == {("01_network", "T1"), ("02_diagnostic", "T1"),
                                                 ("02_diagnostic", "T2"), ("03_agenda", "T1")}
    # a step not declared in CITY_WIDE_READS depends on everything
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
