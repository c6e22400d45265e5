"""Tests of territoria.analysis.prioritisation (ranking rules and their sensitivity)."""

from __future__ import annotations

import pandas as pd
import pytest

from territoria.analysis.prioritisation import (
    approval_ranking,
    borda_ranking,
    rank_by_axis,
    rank_sensitivity,
    tally_ranking,
)
from territoria.exceptions import DataError


def test_borda_published_example():
    # Tennessee capital example (Wikipedia, "Borda count"; points 3-2-1-0 per 100 voters):
    # Nashville 194, Chattanooga 173, Memphis 126, Knoxville 107.
    prefs = {"M": (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
             "N": (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
             "C": (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
             "K": (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"])}
    rows = [(f"{k}{i}", city, r + 1) for k, (n, order) in prefs.items() for i in range(n)
            for r, city in enumerate(order)]
    b = borda_ranking(pd.DataFrame(rows, columns=["participant", "proposal", "rank"]))
    assert b.set_index("proposal")["points"].to_dict() == {
        "Nashville": 194, "Chattanooga": 173, "Memphis": 126, "Knoxville": 107}
    assert b["proposal"].tolist() == ["Nashville", "Chattanooga", "Memphis", "Knoxville"]
    assert b["score"].iloc[0] == pytest.approx(1.94)


def test_borda_rejects_bad_ballots():
    with pytest.raises(DataError, match="gaps or repeated"):
        borda_ranking(pd.DataFrame({"participant": ["a", "a"], "proposal": ["P1", "P2"],
                                    "rank": [1, 3]}))
    with pytest.raises(DataError, match="not a rank"):
        borda_ranking(pd.DataFrame({"participant": ["a"], "proposal": ["P1"], "rank": [0]}))


def test_approval_and_tally_and_sensitivity():
    rows = []
    shares = {"P1": 0.9, "P2": 0.8, "P3": 0.5, "P4": 0.3}
    for p, s in shares.items():
        n_agree = int(s * 20)
        rows += [(f"v{i}", p, "agree" if i < n_agree else "disagree") for i in range(20)]
    appr = approval_ranking(pd.DataFrame(rows, columns=["participant", "proposal", "vote"]))
    assert appr["proposal"].tolist() == ["P1", "P2", "P3", "P4"]
    assert appr.loc[0, "score"] == pytest.approx(0.9)
    assert appr.loc[0, "score_low"] < 0.9 < appr.loc[0, "score_high"]
    tal = tally_ranking(pd.DataFrame({"proposal_code": ["P1", "P2", "P3", "P4", "P4"],
                                      "n_agree": [10, 30, 20, 5, 40], "n_disagree": [20, 5, 5,
                                                                                     5, 5],
                                      "n_pass": [0, 5, 5, 0, 5]}))
    assert tal["proposal"].tolist() == ["P4", "P2", "P3", "P1"]
    tab, pairs = rank_sensitivity({"approval": appr, "tally": tal}, top=2)
    assert set(tab.loc[tab["in_all"], "proposal"]) == {"P2"}
    assert pairs.loc[0, "top_overlap"] == 1
    assert pairs.loc[0, "jaccard"] == pytest.approx(1 / 3)
    # identical rankings: tau = 1
    _, same = rank_sensitivity({"a": appr, "b": appr}, top=2)
    assert same.loc[0, "kendall_tau"] == pytest.approx(1.0)
    by_axis = rank_by_axis(appr, pd.DataFrame({"proposal_code": ["P1", "P2", "P3", "P4"],
                                               "axis": ["water", "water", "security",
                                                        "security"]}))
    assert by_axis.set_index("proposal")["rank_in_axis"].to_dict() == {
        "P1": 1, "P2": 2, "P3": 1, "P4": 2}
