"""The upsert-with-history helper (issue 16): every path of :func:`upsert`."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.exceptions import IngestError
from territoria.ingest.upsert import UpsertCounts, upsert_frame
from territoria.store import Store


@pytest.fixture
def store():
    s = Store(":memory:")
    with s.transaction():
        s.append("crime_counts", pd.DataFrame({
            "territory_id": ["07-001", "07-001"], "month": pd.to_datetime(["2019-01-01"] * 2),
            "category": ["robo", "lesiones"], "count": [7, 2], "source": ["fgj", "fgj"]}))
    return s


KEY = ["territory_id", "month", "category", "source"]


def _cells(**kw):
    base = {"territory_id": ["07-001"], "month": pd.to_datetime(["2019-01-01"]),
            "category": ["robo"], "count": [7], "source": ["fgj"]}
    base.update(kw)
    return pd.DataFrame(base)


def test_resent_cells_replace_never_add(store):
    with store.transaction():
        c = upsert_frame(store, "crime_counts", _cells(), key=KEY, file_sha256="f2")
    assert c == UpsertCounts(unchanged=1)
    with store.transaction():
        c = upsert_frame(store, "crime_counts", _cells(count=[8]), key=KEY, file_sha256="f3")
    assert c == UpsertCounts(updated=1)
    t = store.table("crime_counts")
    assert len(t) == 2 and t.loc[t["category"] == "robo", "count"].tolist() == [8]
    h = store.table("crime_counts__history")
    assert h[["count", "_replaced_by"]].values.tolist() == [[7, "f3"]]


def test_scope_removes_what_the_file_no_longer_has(store):
    with store.transaction():
        c = upsert_frame(store, "crime_counts", _cells(), key=KEY, file_sha256="f4",
                         scope="t.territory_id = '07-001'")
    assert (c.unchanged, c.removed) == (1, 1)
    assert store.table("crime_counts")["category"].tolist() == ["robo"]
    assert store.table("crime_counts__history")["category"].tolist() == ["lesiones"]


def test_older_versions_are_not_applied():
    s = Store(":memory:")
    with s.transaction():
        s.append("t", pd.DataFrame({"k": ["a"], "v": [1], "ts": pd.to_datetime(["2026-03-05"])}))
        c = upsert_frame(s, "t", pd.DataFrame({"k": ["a"], "v": [0],
                                               "ts": pd.to_datetime(["2026-03-01"])}),
                         key=["k"], file_sha256="f", newer="ts")
    assert c == UpsertCounts(older=1) and s.table("t")["v"].tolist() == [1]


def test_duplicate_or_empty_keys_are_refused(store):
    with store.transaction(), pytest.raises(IngestError, match="duplicate_key"):
        upsert_frame(store, "crime_counts", pd.concat([_cells(), _cells()]), key=KEY,
                     file_sha256="f")
    with store.transaction(), pytest.raises(IngestError, match="duplicate_key"):
        upsert_frame(store, "crime_counts", _cells(category=[None]), key=KEY, file_sha256="f")


def test_a_rollback_leaves_table_and_history_untouched(store):
    before = store.table("crime_counts")
    with pytest.raises(RuntimeError), store.transaction():
        upsert_frame(store, "crime_counts", _cells(count=[99]), key=KEY, file_sha256="f")
        raise RuntimeError("killed")
    pd.testing.assert_frame_equal(store.table("crime_counts"), before)
    assert not store.has_table("crime_counts__history")
