"""Tests of territoria.analysis.followup against hand computations and published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from territoria.analysis.followup import (
    fulfilment_rate,
    on_time_rate,
    overdue,
    promise_keeping,
    proportion_ci,
    rollup_progress,
    time_to_fulfilment,
    traceability,
    traceability_coverage,
)
from territoria.exceptions import AnalysisError
from territoria.ledger.model import state_as_of

# --- a ledger with every boundary case; as_of 2024-03-01 --------------------------------------
#   A due 02-01, done 02-01                -> on time (done on the due date)
#   B due 02-01, done 02-02                -> late
#   C due 03-01, in progress               -> due today: not overdue, outcome not known yet
#   D due 02-29, agreed                    -> overdue 1 day
#   E due 02-15, done 02-10, reopened 02-20 -> not done, overdue 15 days
#   F due 02-20, done dated 03-05           -> after as_of: still agreed, overdue 10 days
#   G due 03-10, done 02-25                -> on time
#   H rejected (reason), I proposed         -> not commitments
AG = pd.DataFrame({
    "agreement_id": list("ABCDEFGHI"),
    "territory_id": ["07-001"] * 8 + ["07-002"],
    "assembly_code": ["AS-1"] * 9,
    "description": ['{"es": "Luminarias", "en": "Street lights"}'] + ["Obra"] * 8,
    "department": ["water_utility", "water_utility", "public_works", "public_works",
                   "public_works", "security", "security", "security", "health"],
    "committed_date": ["2024-01-01"] * 9,
    "due_date": ["2024-02-01", "2024-02-01", "2024-03-01", "2024-02-29", "2024-02-15",
                 "2024-02-20", "2024-03-10", "2024-03-01", "2024-03-01"],
})
UP = pd.DataFrame([
    (a, "2024-01-01", "agreed" if a not in "HI" else ("negotiating" if a == "H" else "proposed"),
     None, None) for a in "ABCDEFGHI"] + [
    ("A", "2024-02-01", "done", 100, None), ("B", "2024-02-02", "done", 100, None),
    ("C", "2024-02-01", "in_progress", 50, None), ("E", "2024-02-10", "done", 100, None),
    ("E", "2024-02-20", "in_progress", 80, "la obra tuvo fallas"),
    ("F", "2024-03-05", "done", 100, None), ("G", "2024-02-25", "done", 100, None),
    ("H", "2024-01-15", "rejected", None, "fuera de su competencia")],
    columns=["agreement_id", "update_date", "status", "progress", "reason"])
UP["seq"] = np.arange(len(UP))
UP["evidence_url"] = None
UP.loc[UP["agreement_id"] == "G", "evidence_url"] = "https://evid/g.jpg"
UP["reporter_name"] = "Nombre Personal"  # must never be published


def _st(day):
    return state_as_of(AG, UP, day)


def test_overdue_boundaries():
    od = overdue(_st("2024-03-01"))
    assert od[["agreement_id", "days_overdue"]].values.tolist() == [["E", 15], ["F", 10], ["D", 1]]
    od = overdue(_st("2024-03-05"))  # F done (late) on 03-05; C (due 03-01) now overdue
    assert od[["agreement_id", "days_overdue"]].values.tolist() == [["E", 19], ["D", 5], ["C", 4]]


def test_on_time_and_fulfilment_boundaries():
    o = on_time_rate(_st("2024-03-01")).iloc[0]
    # known: A, B, D, E, F, G (C due today excluded); on time: A, G
    assert (o["k"], o["n"], o["n_not_yet_due"]) == (2, 6, 1)
    o = on_time_rate(_st("2024-03-05")).iloc[0]
    assert (o["k"], o["n"]) == (2, 7)  # F done late, C now known and late
    f = fulfilment_rate(_st("2024-03-01")).iloc[0]
    # committed A..G = 7, done A, B, G = 3; H is rejected, I proposed (pending)
    assert (f["k"], f["n"], f["n_pending"]) == (3, 7, 1)
    assert f["rate"] == pytest.approx(3 / 7)
    by = fulfilment_rate(_st("2024-03-01"), by="department").set_index("department")
    assert by.loc["security", ["k", "n"]].tolist() == [1, 2]
    assert by.loc["health", "n"] == 0 and np.isnan(by.loc["health", "rate"])


def test_wilson_matches_newcombe_1998():
    # Newcombe RG (1998) Stat Med 17:857-872, Table I, method 3 (score, no continuity correction)
    cases = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
             (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (k, n), (lo, hi) in cases.items():
        got = proportion_ci(k, n, "wilson")
        assert float(got[0]) == pytest.approx(lo, abs=5e-5)
        assert float(got[1]) == pytest.approx(hi, abs=5e-5)


def test_jeffreys_matches_statsmodels_and_boundary_rule():
    for k, n in ((3, 10), (81, 263), (7, 9)):
        ref = proportion_confint(k, n, alpha=0.05, method="jeffreys")  # reference package
        got = proportion_ci(k, n, "jeffreys")
        assert float(got[0]) == pytest.approx(ref[0], abs=1e-10)
        assert float(got[1]) == pytest.approx(ref[1], abs=1e-10)
    # Brown, Cai & DasGupta (2001): lower bound 0 at x = 0, upper bound 1 at x = n
    assert float(proportion_ci(0, 10, "jeffreys")[0]) == 0.0
    assert float(proportion_ci(10, 10, "jeffreys")[1]) == 1.0
    with pytest.raises(AnalysisError, match="unknown interval method"):
        proportion_ci(1, 2, "wald")


def test_kaplan_meier_matches_hand_computation():
    # Department "water", all committed 2024-01-01, as of 2024-03-01 (day 60; 2024 is leap):
    #   W1 done day 10, W2 cancelled day 20 (censored), W3 done day 30, W4 done day 40,
    #   W5 open (censored day 60).
    # By hand (Kaplan-Meier, Greenwood variance S^2 * sum d/(n(n-d))):
    #   t=10: n=5 d=1  S = 4/5           = 0.8      var = 0.64 * 1/20             -> se 0.178885
    #   t=30: n=3 d=1  S = 0.8 * 2/3     = 0.533333 var = 0.284444 * (1/20+1/6)   -> se 0.248253
    #   t=40: n=2 d=1  S = 0.533333 / 2  = 0.266667 var = 0.071111 * (0.216667+1/2) -> se 0.225750
    #   median = first t with S <= 0.5 = 40 days.
    ag = pd.DataFrame({"agreement_id": [f"W{i}" for i in range(1, 6)] + ["S1"],
                       "department": ["water"] * 5 + ["security"],
                       "committed_date": ["2024-01-01"] * 6, "due_date": [None] * 6})
    up = pd.DataFrame({
        "agreement_id": ["W1", "W2", "W3", "W4", "W5", "S1", "W1", "W2", "W3", "W4"],
        "update_date": ["2024-01-01"] * 6 + ["2024-01-11", "2024-01-21", "2024-01-31",
                                              "2024-02-10"],
        "status": ["agreed"] * 6 + ["done", "cancelled", "done", "done"]})
    summary, curve = time_to_fulfilment(state_as_of(ag, up, "2024-03-01"))
    w = summary.set_index("department").loc["water"]
    assert (w["n"], w["events"], w["censored"]) == (5, 3, 2)
    assert w["median_days"] == 40
    c = curve[curve["department"] == "water"]
    assert c["days"].tolist() == [10, 30, 40]
    assert c["n_risk"].tolist() == [5, 3, 2]
    np.testing.assert_allclose(c["surv"], [0.8, 0.533333, 0.266667], atol=1e-6)
    np.testing.assert_allclose(c["se"], [0.178885, 0.248253, 0.225750], atol=1e-6)
    np.testing.assert_allclose(c["share_fulfilled"], [0.2, 0.466667, 0.733333], atol=1e-6)
    assert (c["ci_low"] <= c["share_fulfilled"]).all() and (c["share_fulfilled"] <= c["ci_high"]).all()
    s = summary.set_index("department").loc["security"]
    assert s["events"] == 0 and np.isnan(s["median_days"])


def test_promise_keeping_table():
    t = promise_keeping(_st("2024-03-01")).set_index("department")
    assert t.loc["public_works", ["n_committed", "n_done", "n_overdue", "n_in_progress"]].tolist() \
        == [3, 0, 2, 2]
    assert t.loc["water_utility", ["n_done", "n_known", "n_on_time"]].tolist() == [2, 2, 1]
    lo, hi = proportion_ci(1, 2)
    assert t.loc["water_utility", "on_time_ci_low"] == pytest.approx(float(lo))
    assert t.loc["security", "n_rejected"] == 1  # H: rejected, not in n_committed
    assert t.loc["security", "n_committed"] == 2
    # lowest fulfilment first; health (no commitment yet, rate NaN) last
    assert t.index.tolist() == ["public_works", "security", "water_utility", "health"]


def test_rollup_excludes_missing_progress_and_says_so():
    st = pd.DataFrame({
        "agreement_id": ["P", "a", "b", "c", "Q", "q1", "q2", "R", "r1"],
        "parent_id": [None, "P", "P", "P", None, "Q", "Q", "Q", "R"],
        "weight": [None, 0.5, 0.3, 0.2, None, None, None, None, None],
        "progress": [10.0, 100.0, 50.0, None, None, 20.0, 60.0, None, 70.0]})
    r = rollup_progress(st).set_index("parent_id")
    # P: (0.5*100 + 0.3*50) / 0.8 = 81.25; c excluded (Decidim would give 65)
    assert r.loc["P", "progress"] == pytest.approx(81.25)
    assert r.loc["P", "reported_progress"] == 10
    assert (r.loc["P", "n_excluded"], r.loc["P", "excluded_ids"]) == (1, "c")
    assert "note" not in r.columns  # codes and numbers: the words are the page's
    # Q: equal weights over q1, q2 and R (R rolled up from r1 = 70): (20+60+70)/3 = 50
    assert r.loc["Q", "progress"] == pytest.approx(50.0)
    assert r.loc["Q", "n_excluded"] == 0
    bad = st.copy()
    bad.loc[bad["agreement_id"] == "c", "weight"] = None
    with pytest.raises(AnalysisError, match="parent 'P'"):
        rollup_progress(bad)


def test_traceability_and_coverage():
    st = _st("2024-03-01").copy()
    st["proposal_code"] = ["PR1", "PR2", None, None, None, None, None, "PR3", None]
    proposals = pd.DataFrame({"proposal_code": ["PR1", "PR2", "PR3", "PR4"],
                              "territory": ["07-001"] * 4,
                              "axis": ["water", "water", "security", "mobility"]})
    agenda = pd.DataFrame({"proposal_code": ["PR1", "PR3", "PR4", "PR2"], "rank": [1, 2, 3, 11],
                           "territory_id": ["07-001"] * 4})
    problems = pd.DataFrame({"axis": ["water", "security"], "problem_rank": [1, 2]})
    outcomes = pd.DataFrame({"axis": ["water"], "indicator": ["service_water"], "value": [3.1]})
    ch = traceability(st, UP, proposals, agenda, "07-001", problems, outcomes)
    row = ch[ch["proposal_code"] == "PR1"].iloc[0]
    assert (row["agenda_rank"], row["agreement_id"], row["status"], row["problem_rank"]) == \
        (1, "A", "done", 1)
    assert row["indicator"] == "service_water" and row["n_updates"] == 2
    assert pd.isna(ch[ch["proposal_code"] == "PR4"].iloc[0]["agreement_id"])  # a gap
    cov = traceability_coverage(st, agenda, "07-001", top=3).set_index("name")
    # top 3 = PR1 (A, done), PR3 (H, rejected: not signed), PR4 (none) -> 1/3
    assert cov.loc["top_agenda_with_agreement", ["k", "n"]].tolist() == [1, 3]
    # 8 agreements of 07-001; only G has evidence
    assert cov.loc["agreements_with_evidence", ["k", "n"]].tolist() == [1, 8]
    assert cov.loc["agreements_linked_to_proposal", ["k", "n"]].tolist() == [3, 8]


def test_followup_is_pure():
    import subprocess
    import sys

    code = ("import sys, territoria.analysis.followup; "
            "print(any(m in sys.modules for m in ('territoria.store', 'duckdb')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
