"""Fingerprints change exactly when an input changes."""

from __future__ import annotations

import pandas as pd

from territoria.pipeline.fingerprint import (
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
