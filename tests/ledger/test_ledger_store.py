"""Tests of territoria.ledger.ledger: append-only storage and the feed from survey tables."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.ledger.ledger import Ledger, sync_from_surveys
from territoria.store import Store


def _store_with_surveys():
    s = Store(":memory:")
    with s.transaction():
        s.append("assembly", pd.DataFrame({
            "_index": [1, 2], "assembly_code": ["AS-01", "MT-07"],
            "kind": ["territorial_assembly", "working_table"],
            "date": pd.to_datetime(["2024-01-10", "2024-02-05"]),
            "territory": ["07-001", "07-002"], "facilitator_name": ["Ana Pérez", "Luis Gómez"]}))
        s.append("assembly__agreements", pd.DataFrame({
            "_parent_index": [1, 1, 2],
            "agreement_code": ["AC-001", "AC-002", "AC-003"],
            "agreement_text": ["Reparar luminarias de la calle 5", "Desazolve de coladeras",
                               "Patrullaje en el parque"],
            "department": ["public_works", "water_utility", "security"],
            "due_date": pd.to_datetime(["2024-03-31", "2024-02-28", "2024-04-30"])}))
        s.append("followup", pd.DataFrame({
            "agreement_code": ["AC-001", "AC-002", "AC-999"],
            "territory": ["07-001", "07-001", "07-001"],
            "update_date": pd.to_datetime(["2024-02-01", "2024-02-20", "2024-02-21"]),
            "status": ["in_progress", "done", "done"], "progress": [40.0, 100.0, 100.0],
            "reason": [None, None, None],
            "evidence_url": [None, "https://evidencia/ac002.jpg", None],
            "department": ["public_works", "water_utility", "public_works"],
            "reporter_name": ["María López", "Juan Díaz", "Pedro Ruiz"]}))
    return s


def test_sync_builds_ledger_from_forms():
    s = _store_with_surveys()
    rep = sync_from_surveys(s)
    assert sorted(rep["action"].tolist()) == ["created"] * 3 + ["error"] + ["update"] * 2
    err = rep[rep["action"] == "error"].iloc[0]
    assert err["table"] == "followup" and err["row"] == 3 and "AC-999" in err["message"]
    led = Ledger(s)
    ag = led.agreements().set_index("agreement_id")
    assert ag.loc["AC-003", "territory_id"] == "07-002"
    assert ag.loc["AC-003", "assembly_code"] == "MT-07"
    assert ag.loc["AC-003", "source_kind"] == "working_table"
    assert ag.loc["AC-001", "committed_date"] == pd.Timestamp("2024-01-10")
    st = led.state_as_of("2024-03-01").set_index("agreement_id")
    assert st.loc["AC-001", "status"] == "in_progress" and st.loc["AC-001", "progress"] == 40
    assert st.loc["AC-002", "status"] == "done"
    assert st.loc["AC-002", "evidence"] == "https://evidencia/ac002.jpg"
    assert st.loc["AC-003", "status"] == "agreed"
    # no personal data reaches the ledger
    for t in ("agreements", "agreement_updates"):
        tab = s.table(t)
        assert "reporter_name" not in tab.columns and "facilitator_name" not in tab.columns
        assert not tab.astype(str).apply(lambda c: c.str.contains("María|Ana Pérez")).any().any()


def test_sync_is_idempotent_and_picks_up_new_rows_and_form_corrections():
    s = _store_with_surveys()
    sync_from_surveys(s)
    n_ag, n_up = s.count("agreements"), s.count("agreement_updates")
    before = s.table("agreement_updates")
    rep = sync_from_surveys(s)
    assert (rep["action"] == "error").all()  # only the unknown agreement is reported again
    assert (s.count("agreements"), s.count("agreement_updates")) == (n_ag, n_up)
    with s.transaction():
        s.append("followup", pd.DataFrame({
            "agreement_code": ["AC-001"], "territory": ["07-001"],
            "update_date": pd.to_datetime(["2024-03-15"]), "status": ["done"],
            "progress": [100.0], "department": ["public_works"]}))
        s.execute("UPDATE assembly__agreements SET due_date = DATE '2024-05-31' "
                  "WHERE agreement_code = 'AC-003'")
    rep = sync_from_surveys(s)
    assert set(rep["action"]) == {"corrected", "update", "error"}
    assert s.count("agreement_updates") == n_up + 1
    assert s.count("agreements") == n_ag + 1  # a new version, not an UPDATE
    after = s.table("agreement_updates")
    pd.testing.assert_frame_equal(after.iloc[: len(before)].reset_index(drop=True), before)
    ag = Ledger(s).agreements().set_index("agreement_id")
    assert ag.loc["AC-003", "due_date"] == pd.Timestamp("2024-05-31")
    assert ag.loc["AC-003", "version"] == 2


def test_sync_without_link_column_is_a_clear_error():
    s = Store(":memory:")
    with s.transaction():
        s.append("assembly", pd.DataFrame({"assembly_code": ["A"], "date": ["2024-01-01"]}))
        s.append("assembly__agreements", pd.DataFrame({"agreement_code": ["X"]}))
    with pytest.raises(DataError, match="cannot link agreements to their assembly"):
        sync_from_surveys(s)


def test_manual_writes_are_validated_and_atomic():
    s = Store(":memory:")
    led = Ledger(s)
    led.add_agreements(pd.DataFrame({"agreement_id": ["A1"], "territory_id": ["07-001"],
                                     "committed_date": ["2024-01-01"], "due_date": ["2024-02-01"]}))
    before = (s.table("agreements"), s.table("agreement_updates"))
    bad = pd.DataFrame({"agreement_id": ["A1", "A1"], "update_date": ["2024-01-05", "2024-01-06"],
                        "status": ["in_progress", "done"], "progress": [50, 140]})
    with pytest.raises(DataError, match="row 2, column progress"):
        led.add_updates(bad)
    with pytest.raises(DataError, match="not in the ledger"):
        led.add_updates(pd.DataFrame({"agreement_id": ["ZZ"], "update_date": ["2024-01-05"],
                                      "status": ["done"]}))
    with pytest.raises(DataError, match="already in the ledger"):
        led.add_agreements(pd.DataFrame({"agreement_id": ["A1"], "committed_date": ["2024-01-01"]}))
    with pytest.raises(DataError, match="parent 'NOPE' does not exist"):
        led.add_agreements(pd.DataFrame({"agreement_id": ["A2"], "committed_date": ["2024-01-01"],
                                         "parent_id": ["NOPE"]}))
    pd.testing.assert_frame_equal(s.table("agreements"), before[0])
    pd.testing.assert_frame_equal(s.table("agreement_updates"), before[1])
    assert led.correct_agreement("A1", due_date="2024-03-01") == 2
    assert s.count("agreements") == 2
    assert led.agreements().loc[0, "due_date"] == pd.Timestamp("2024-03-01")
