"""Tests of territoria.ledger.surveys: the in-memory ledger equals the store sync's ledger."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.ledger.ledger import Ledger, sync_from_surveys
from territoria.ledger.model import state_as_of
from territoria.ledger.surveys import frames_from_surveys
from territoria.store import Store

ASSEMBLY = pd.DataFrame({
    "_index": [1, 2, 3], "assembly_code": ["AS-01", "MT-07", "MT-08"],
    "kind": ["territorial_assembly", "working_table", "working_table"],
    "date": pd.to_datetime(["2024-01-10", "2024-02-05", "2024-02-06"]),
    "territory": ["07-001", "07-002", "07-002"], "facilitator_name": ["Ana", "Luis", "Eva"]})
AGREEMENTS = pd.DataFrame({
    "_parent_index": [1, 1, 2, 3],
    "agreement_code": ["AC-001", "AC-002", "AC-003", "AC-004"],
    "agreement_text": ["Reparar luminarias de la calle 5", "Desazolve de coladeras",
                       "Patrullaje en el parque", "Fecha mal capturada"],
    "department": ["public_works", "water_utility", "security", "security"],
    "due_date": pd.to_datetime(["2024-03-31", "2024-02-28", "2024-04-30", "2024-01-01"])})
FOLLOWUP = pd.DataFrame({
    "agreement_code": ["AC-001", "AC-002", "AC-999", "AC-001", "AC-003"],
    "territory": ["07-001", "07-001", "07-001", "07-001", "07-002"],
    "update_date": pd.to_datetime(["2024-02-01", "2024-02-20", "2024-02-21", "2024-03-15",
                                   "2024-03-01"]),
    "status": ["in_progress", "done", "done", "done", "rejected"],
    "progress": [40.0, 100.0, 100.0, 100.0, 0.0],
    "reason": [None, None, None, None, "Sin presupuesto"],
    "evidence_url": [None, "https://evidencia/ac002.jpg", None, None, None],
    "department": ["public_works", "water_utility", "public_works", "public_works", "security"],
    "reporter_name": ["María López", "Juan Díaz", "Pedro Ruiz", "Ana", "Luis"]})

STATE_COLS = ["agreement_id", "territory_id", "assembly_code", "source_kind", "department",
              "committed_date", "due_date", "status", "progress", "reason", "status_since",
              "done_date", "n_updates", "evidence", "n_evidence"]


def test_in_memory_frames_match_the_store_sync():
    s = Store(":memory:")
    with s.transaction():
        s.append("assembly", ASSEMBLY)
        s.append("assembly__agreements", AGREEMENTS)
        s.append("followup", FOLLOWUP)
    sync_from_surveys(s)
    expected = Ledger(s).state_as_of("2024-03-20")[STATE_COLS].sort_values("agreement_id")
    ag, up, problems = frames_from_surveys(AGREEMENTS, ASSEMBLY, FOLLOWUP)
    got = state_as_of(ag, up, "2024-03-20")[STATE_COLS].sort_values("agreement_id")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)
    # AC-004 (due before committed) and the follow-up of unknown AC-999 are reported
    assert sorted(problems["agreement_id"].tolist()) == ["AC-004", "AC-999"]
    assert set(problems["table"]) == {"assembly__agreements", "followup"}
    assert got.set_index("agreement_id").loc["AC-001", "done_date"] == pd.Timestamp("2024-03-15")
    assert "reporter_name" not in up.columns and "facilitator_name" not in ag.columns


def test_no_sources_give_empty_frames_with_the_ledger_columns():
    ag, up, problems = frames_from_surveys(pd.DataFrame(), ASSEMBLY, None)
    assert ag.empty and up.empty and problems.empty
    assert {"agreement_id", "due_date"} <= set(ag.columns)
    assert state_as_of(ag, up, "2024-01-01").empty


def test_unlinkable_agreements_are_a_clear_error():
    with pytest.raises(DataError, match="cannot link agreements"):
        frames_from_surveys(AGREEMENTS.drop(columns=["_parent_index"]), ASSEMBLY)


def test_rejections_without_reason_are_kept_only_when_asked():
    fu = FOLLOWUP.assign(reason=None)
    _, up, problems = frames_from_surveys(AGREEMENTS, ASSEMBLY, fu)
    assert "AC-003" in problems["agreement_id"].tolist()
    assert "rejected" not in up["status"].tolist()
    _, up, problems = frames_from_surveys(AGREEMENTS, ASSEMBLY, fu, require_reason=False)
    assert "AC-003" not in problems["agreement_id"].tolist()
    assert up.loc[up["agreement_id"] == "AC-003", "status"].tolist() == ["agreed", "rejected"]
