"""The store: schema version, transactional writes (a failure mid-write changes nothing)."""

import pandas as pd
import pytest

from territoria.exceptions import StoreError
from territoria.store import SCHEMA_VERSION, Store


def snapshot(s: Store) -> dict:
    return {t: s.table(t).sort_values(list(s.columns(t))[:1]).reset_index(drop=True)
            for t in s.tables()}


def test_schema_and_version(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    assert s.schema_version() == SCHEMA_VERSION
    for t in ("territories", "zones", "indicators", "ingest_log", "quarantine", "runs"):
        assert s.has_table(t)
    s.close()
    # reopening keeps data and version
    s = Store(tmp_path / "t.duckdb")
    assert s.schema_version() == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    with s.transaction():
        s.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    s.close()
    with pytest.raises(StoreError, match="newer"):
        Store(tmp_path / "t.duckdb")


def test_failure_mid_write_leaves_store_unchanged(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    with s.transaction():
        s.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["Uno"]}))
    before = snapshot(s)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with s.transaction():
            s.append("zones", pd.DataFrame({"zone_id": ["Z2"], "name": ["Dos"]}))
            s.ensure_table("new_table", {"a": "INTEGER"})
            s.append("new_table", pd.DataFrame({"a": [1, 2]}))
            s.execute("DELETE FROM zones WHERE zone_id = 'Z1'")
            raise Boom("injected failure")
    after = snapshot(s)
    assert before.keys() == after.keys()
    for t in before:
        pd.testing.assert_frame_equal(before[t], after[t])
    # and the file on disk agrees after reopening
    s.close()
    s2 = Store(tmp_path / "t.duckdb")
    assert s2.table("zones")["zone_id"].tolist() == ["Z1"]
    assert not s2.has_table("new_table")


def test_constraint_violation_rolls_back(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    import duckdb

    with pytest.raises(duckdb.ConstraintException):
        with s.transaction():
            s.append("zones", pd.DataFrame({"zone_id": ["Z1", "Z1"], "name": ["a", "b"]}))
    assert s.count("zones") == 0


def test_writes_outside_a_transaction_are_refused(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    with pytest.raises(StoreError, match="inside Store.transaction"):
        s.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["a"]}))


def test_read_only_store_cannot_write(tmp_path):
    Store(tmp_path / "t.duckdb").close()
    ro = Store(tmp_path / "t.duckdb", read_only=True)
    with pytest.raises(StoreError):
        with ro.transaction():
            ro.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["a"]}))


def test_missing_store_read_only_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no store yet"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_record_indicators_replaces_step_territory(tmp_path):
    s = Store(tmp_path / "t.duckdb")
    df = pd.DataFrame({"name": ["a", "b"], "value": [1.0, 2.0]})
    s.record_indicators(df, step="01", territory_id="T1")
    s.record_indicators(df.head(1), step="01", territory_id="T1")
    s.record_indicators(df, step="01", territory_id=None)
    got = s.query("SELECT territory_id, name FROM indicators ORDER BY 1, 2")
    assert got.fillna("city").values.tolist() == [["T1", "a"], ["city", "a"], ["city", "b"]]
    with pytest.raises(StoreError, match="indicators need"):
        s.record_indicators(pd.DataFrame({"x": [1]}), step="01", territory_id="T1")
