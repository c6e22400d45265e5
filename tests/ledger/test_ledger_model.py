"""Tests of territoria.ledger.model: validation and state reconstruction at past dates."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.ledger.model import (
    check_agreement,
    check_update,
    raise_first,
    state_as_of,
    status_label,
    texts,
)


def _ledger():
    ag = pd.DataFrame({
        "agreement_id": ["A", "B", "B", "C"],
        "version": [1, 1, 2, 1],
        "territory_id": ["07-001", "07-001", "07-001", "07-002"],
        "department": ["water_utility", "public_works", "public_works", "security"],
        "committed_date": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-04-01"],
        "due_date": ["2024-02-01", "2024-03-01", "2024-03-31", "2024-05-01"],  # B corrected
        "evidence_urls": ["https://a/acta.pdf", None, None, None],
    })
    up = pd.DataFrame({
        "agreement_id": ["A", "A", "A", "A", "B", "B", "B", "C"],
        "seq": [1, 2, 3, 4, 5, 7, 6, 8],
        "update_date": ["2024-01-01", "2024-01-20", "2024-02-10", "2024-03-01",
                        "2024-01-01", "2024-02-01", "2024-02-01", "2024-04-01"],
        "status": ["agreed", "done", "in_progress", "done", "agreed", "in_progress",
                   "agreed", "agreed"],
        "progress": [None, 100, 70, 100, None, 30, 10, None],
        "reason": [None, None, "faltó conectar la toma", None, None, None, None, None],
        "evidence_url": [None, "https://a/foto1.jpg", None, "https://a/foto2.jpg;https://a/acta.pdf",
                         None, None, None, None],
    })
    return ag, up


def test_state_before_first_done_and_after():
    ag, up = _ledger()
    s = state_as_of(ag, up, "2024-01-19").set_index("agreement_id")
    assert s.loc["A", "status"] == "agreed" and pd.isna(s.loc["A", "done_date"])
    s = state_as_of(ag, up, "2024-01-20").set_index("agreement_id")  # update on the as-of day counts
    assert s.loc["A", "status"] == "done"
    assert s.loc["A", "done_date"] == pd.Timestamp("2024-01-20")
    assert s.loc["A", "progress"] == 100


def test_reopened_agreement_loses_done_date_until_done_again():
    ag, up = _ledger()
    s = state_as_of(ag, up, "2024-02-15").set_index("agreement_id")
    assert s.loc["A", "status"] == "in_progress"
    assert bool(s.loc["A", "reopened"]) and bool(s.loc["A", "ever_done"])
    assert pd.isna(s.loc["A", "done_date"])
    assert s.loc["A", "reason"] == "faltó conectar la toma"
    assert s.loc["A", "progress"] == 70
    s = state_as_of(ag, up, "2024-03-01").set_index("agreement_id")
    assert s.loc["A", "done_date"] == pd.Timestamp("2024-03-01")
    assert not bool(s.loc["A", "reopened"])
    assert s.loc["A", "reason"] is None  # the reason belonged to the earlier spell
    # evidence: agreement link first, then update links in order, without duplicates
    assert s.loc["A", "evidence"] == "https://a/acta.pdf;https://a/foto1.jpg;https://a/foto2.jpg"
    assert s.loc["A", "n_evidence"] == 3


def test_same_day_updates_follow_seq_and_versions_use_the_latest():
    ag, up = _ledger()
    s = state_as_of(ag, up, "2024-02-01").set_index("agreement_id")
    # seq 6 (agreed, 10) then seq 7 (in_progress, 30)
    assert s.loc["B", "status"] == "in_progress" and s.loc["B", "progress"] == 30
    assert s.loc["B", "due_date"] == pd.Timestamp("2024-03-31")  # version 2
    assert s.loc["B", "n_updates"] == 3


def test_agreements_not_yet_made_are_left_out():
    ag, up = _ledger()
    assert "C" not in set(state_as_of(ag, up, "2024-03-31")["agreement_id"])
    assert "C" in set(state_as_of(ag, up, "2024-04-01")["agreement_id"])
    assert (state_as_of(ag, up, "2024-04-01")["as_of"] == pd.Timestamp("2024-04-01")).all()


def test_status_and_progress_are_independent():
    ag = pd.DataFrame({"agreement_id": ["X"], "committed_date": ["2024-01-01"]})
    up = pd.DataFrame({"agreement_id": ["X", "X"], "seq": [1, 2],
                       "update_date": ["2024-01-01", "2024-02-01"],
                       "status": ["done", None], "progress": [80.0, 90.0]})
    s = state_as_of(ag, up, "2024-03-01").iloc[0]
    assert s["status"] == "done" and s["progress"] == 90.0


def test_check_update_rules():
    ok = {"agreement_id": "A", "update_date": "2024-01-01", "status": "done", "progress": 100}
    assert check_update(ok) == []
    assert check_update({**ok, "status": "finished"})[0][0] == "status"
    assert check_update({**ok, "progress": 140})[0][:2] == ("progress", "progress 140 is outside 0-100")
    assert check_update({**ok, "progress": -1})[0][0] == "progress"
    assert check_update({**ok, "update_date": "31/01/2024"})[0][0] == "update_date"
    assert check_update({**ok, "status": "rejected"})[0][0] == "reason"
    assert check_update({**ok, "status": "rejected", "reason": "sin presupuesto"}) == []
    assert check_update({**ok, "status": None, "progress": None})[0][0] == "status"


def test_check_agreement_rules_and_error_message():
    p = check_agreement({"agreement_id": "A", "committed_date": "2024-05-01",
                         "due_date": "2024-04-30", "source_kind": "fiesta", "weight": -1,
                         "parent_id": "A"})
    assert [c for c, _, _ in p] == ["due_date", "source_kind", "weight", "parent_id"]
    with pytest.raises(DataError, match="row 3, column due_date: due date 2024-04-30 is before"):
        raise_first(p, row=3)
    assert check_agreement({"agreement_id": "A", "committed_date": "2024-05-01",
                            "due_date": "2024-05-01"}) == []


def test_labels_and_texts():
    assert status_label("rejected", "es") == "Rechazado"  # the follow-up form's label
    assert status_label(None, "en") == "No information"
    assert texts('{"es": "a", "en": "b"}') == {"es": "a", "en": "b"}
