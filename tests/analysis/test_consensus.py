"""Tests of territoria.analysis.consensus (group-informed consensus with uncertainty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from territoria.analysis.consensus import (
    consensus_trajectory,
    group_consensus,
    jeffreys_interval,
    normalise_votes,
    polis_gic,
    tally_counts,
    territory_consensus,
    vote_counts,
)
from territoria.exceptions import AnalysisError, DataError


def _counts(rows):
    return pd.DataFrame(rows, columns=["proposal", "group", "n_agree", "n_disagree", "n_pass"])


def test_gic_hand_checked():
    # g1: A=8 D=1 P=1 (S=10); g2: A=3 D=5 P=2 (S=10). Jeffreys Dirichlet(1/2,1/2,1/2):
    # p_a1 = 8.5/11.5, p_d1 = 1.5/11.5 -> e1 = 0.739130 * 0.869565 = 0.642722
    # p_a2 = 3.5/11.5, p_d2 = 5.5/11.5 -> e2 = 0.304348 * 0.521739 = 0.158790
    # GIC = sqrt(e1 * e2) = sqrt(0.102058) = 0.319465 (computed by hand)
    c = _counts([("P1", "g1", 8, 1, 1), ("P1", "g2", 3, 5, 2)])
    r = group_consensus(c).iloc[0]
    assert r["gic"] == pytest.approx(0.319465, abs=1e-5)
    # disagreement consensus: sqrt((1.5/11.5)(1-8.5/11.5) * (5.5/11.5)(1-3.5/11.5))
    #   = sqrt(0.034026 * 0.332703) = 0.106399
    assert r["gdc"] == pytest.approx(0.106399, abs=1e-5)
    assert r["gic_low"] < r["gic"] < r["gic_high"]
    # Pol.is's product (A+1)/(S+2): 9/12 * 4/12 = 0.25
    assert polis_gic(c).loc[0, "gic"] == pytest.approx(0.25)
    # geometric mean does not fall with more identical groups; Pol.is's product does
    c3 = _counts([("P1", g, 8, 1, 1) for g in ("a", "b", "c", "d")])
    c1 = _counts([("P1", "a", 8, 1, 1)])
    assert group_consensus(c3)["gic"].iloc[0] == pytest.approx(group_consensus(c1)["gic"].iloc[0])
    assert polis_gic(c3)["gic"].iloc[0] == pytest.approx((9 / 12) ** 4)


def test_interval_matches_beta_posterior():
    # One group, plain agreement: the posterior of p_a under Dirichlet(A+1/2, D+1/2, P+1/2) is
    # Beta(A + 1/2, D + P + 1); its 5% and 95% quantiles from scipy are the reference.
    c = _counts([("P1", "g", 12, 6, 2)])
    r = group_consensus(c, effective=False, n_draws=40000, seed=3).iloc[0]
    lo, hi = stats.beta.ppf([0.05, 0.95], 12.5, 9)
    assert r["gic"] == pytest.approx(12.5 / 21.5)
    assert r["gic_low"] == pytest.approx(lo, abs=0.005)
    assert r["gic_high"] == pytest.approx(hi, abs=0.005)


def test_jeffreys_interval_reference():
    # statsmodels 0.15 proportion_confint(7, 20, alpha=0.05, method="jeffreys")
    #   = (0.172276213631912, 0.5677660938414961); (3, 12, alpha=0.1) = (0.0963555, 0.4837621)
    lo, hi = jeffreys_interval(7, 20, level=0.95)
    assert float(lo) == pytest.approx(0.172276213631912, abs=1e-9)
    assert float(hi) == pytest.approx(0.5677660938414961, abs=1e-9)
    lo, hi = jeffreys_interval(3, 12, level=0.9)
    assert float(lo) == pytest.approx(0.0963555, abs=1e-6)
    assert float(hi) == pytest.approx(0.4837621, abs=1e-6)
    # boundary rule of Brown, Cai & DasGupta (2001): x = 0 -> lower 0; n = 0 -> NaN
    lo, hi = jeffreys_interval([0, 0], [10, 0])
    assert lo[0] == 0.0 and np.isnan(lo[1]) and np.isnan(hi[1])


def test_divisive_flag():
    c = _counts([
        ("split", "g1", 18, 2, 0), ("split", "g2", 2, 18, 0),      # groups opposed
        ("shared", "g1", 18, 1, 1), ("shared", "g2", 17, 2, 1),    # both agree
        ("rejected", "g1", 1, 19, 0), ("rejected", "g2", 2, 18, 0),  # both reject
        ("thin", "g1", 2, 1, 0), ("thin", "g2", 1, 2, 0),          # too few votes to tell
    ])
    r = group_consensus(c).set_index("proposal")
    assert r.loc["split", "divisive"] and not r.loc["shared", "divisive"]
    assert not r.loc["rejected", "divisive"] and not r.loc["thin", "divisive"]
    assert r.loc["shared", "gic"] > 0.7 > r.loc["split", "gic"]
    assert r.loc["rejected", "gdc"] > 0.7 > r.loc["rejected", "gic"] + 0.5


def test_tallies_same_model_as_votes():
    # An assembly of 30 (hand count) equals 30 individual votes with the same counts.
    t = pd.DataFrame({"proposal_code": ["P1", "P1"], "assembly_code": ["A1", "A2"],
                      "n_agree": [20, 9], "n_disagree": [6, 15], "n_pass": [4, 6]})
    rows = []
    for asm, a, d, p in (("A1", 20, 6, 4), ("A2", 9, 15, 6)):
        votes = ["agree"] * a + ["disagree"] * d + ["pass"] * p
        rows += [(f"{asm}-{i}", "P1", v, asm) for i, v in enumerate(votes)]
    v = pd.DataFrame(rows, columns=["participant", "proposal", "vote", "assembly_code"])
    a = group_consensus(tally_counts(t, group="assembly_code"), seed=5)
    b = group_consensus(vote_counts(v, group="assembly_code"), seed=5)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(DataError, match="n_pass"):
        tally_counts(t.drop(columns="n_pass"))
    with pytest.raises(DataError, match="not a count"):
        tally_counts(t.assign(n_agree=[-1, 3]))


def test_trajectory_detects_rise():
    c = pd.DataFrame({
        "proposal": ["P1"] * 3 + ["P2"] * 2, "group": ["all"] * 5,
        "round": ["assembly", "collective", "agenda_validation", "assembly", "collective"],
        "n_agree": [10, 20, 40, 30, 12], "n_disagree": [12, 8, 3, 5, 20],
        "n_pass": [3, 2, 2, 2, 3]})
    t = consensus_trajectory(c)
    p1 = t[t.proposal == "P1"]
    assert p1["round"].tolist() == ["assembly", "collective", "agenda_validation"]
    assert (p1["delta"].iloc[1:] > 0).all() and (p1["p_increase"].iloc[1:] > 0.9).all()
    p2 = t[t.proposal == "P2"]
    assert p2["delta"].iloc[1] < 0 and p2["p_increase"].iloc[1] < 0.05
    assert np.isnan(p1["delta"].iloc[0])


def test_degenerate_inputs():
    # one participant
    one = pd.DataFrame({"participant": ["a"], "proposal": ["P1"], "vote": ["agree"]})
    r = group_consensus(vote_counts(one)).iloc[0]
    assert r["n_votes"] == 1 and 0 < r["gic"] < 1 and not r["divisive"]
    # all passes: no agreement, no rejection
    allp = pd.DataFrame({"participant": list("abcd"), "proposal": ["P1"] * 4, "vote": ["pass"] * 4})
    r = group_consensus(vote_counts(allp)).iloc[0]
    assert r["p_agree"] == 0 and r["gic"] < 0.2 and r["gdc"] < 0.2
    # a proposal nobody saw: reported, with NaN scores
    r = group_consensus(vote_counts(one, proposals=["P1", "P9"])).set_index("proposal")
    assert r.loc["P9", "n_votes"] == 0 and np.isnan(r.loc["P9", "gic"])
    assert np.isnan(r.loc["P9", "p_agree"]) and not r.loc["P9", "divisive"]


def test_bad_votes_raise_one_line_errors():
    with pytest.raises(DataError, match="'maybe' is not a vote"):
        normalise_votes(pd.DataFrame({"participant": ["a"], "proposal": ["P"], "vote": ["maybe"]}))
    with pytest.raises(DataError, match="vote column 'vote' is missing"):
        normalise_votes(pd.DataFrame({"participant": ["a"], "proposal": ["P"]}))
    with pytest.raises(DataError, match="no proposal column"):
        normalise_votes(pd.DataFrame({"participant": ["a"], "x": ["P"], "vote": ["agree"]}))
    with pytest.raises(DataError, match="empty"):
        normalise_votes(pd.DataFrame({"participant": [], "proposal": [], "vote": []}))
    with pytest.raises(AnalysisError):
        group_consensus(_counts([("P", "g", 1, 0, 0)]), level=1.5)
    # numeric Pol.is coding and Spanish words are accepted; last vote wins
    v = normalise_votes(pd.DataFrame({"participant_code": ["a", "b", "b"],
                                      "proposal_code": ["P", "P", "P"],
                                      "vote": [-1, "de_acuerdo", "0"]}))
    assert v["vote"].tolist() == ["disagree", "pass"]


def test_territory_consensus_end_to_end():
    rng = np.random.default_rng(4)
    props = [f"P{j}" for j in range(8)]
    rows = []
    for rnd, shift in (("assembly", 0.0), ("collective", 0.15)):
        for i in range(60):
            latent = i % 2
            for j, p in enumerate(props):
                pa = (0.85 if (j < 4) == (latent == 0) else 0.15) if j < 6 else 0.7 + shift
                u = rng.random()
                vote = "agree" if u < pa else ("pass" if u < pa + 0.05 else "disagree")
                rows.append((f"{rnd}-{i}", p, vote, rnd, "female" if i % 3 else "male",
                             f"B{i % 4}"))
    v = pd.DataFrame(rows, columns=["participant_code", "proposal_code", "vote", "round",
                                    "sex", "block"])
    proposals = pd.DataFrame({"proposal_code": props + ["P99"],
                              "axis": ["water", "security"] * 4 + ["health"],
                              "title": [f"Propuesta {p}" for p in props + ["P99"]]})
    tallies = pd.DataFrame({"proposal_code": ["P6", "P7"], "assembly_code": ["A1", "A1"],
                            "round": ["assembly", "assembly"], "n_agree": [25, 30],
                            "n_disagree": [10, 5], "n_pass": [3, 3]})
    out = territory_consensus(v, proposals, tallies, group_by=["sex", "block"], seed=1)
    assert {"statements", "groups", "agenda", "by_sex", "by_block", "tallies",
            "trajectory", "repness"} <= set(out)
    st = out["statements"].set_index("proposal")
    assert st.loc["P0", "divisive"] and not st.loc["P6", "divisive"]
    assert st.loc["P6", "gic"] > st.loc["P0", "gic"]
    assert st.loc["P99", "n_votes"] == 0
    ag = out["agenda"]
    assert ag["proposal"].iloc[-1] == "P99" and ag["status"].iloc[-1] == "no_votes"
    assert set(ag.loc[ag.proposal.isin(["P6", "P7"]), "status"]) == {"priority"}
    tr = out["trajectory"]
    assert set(tr["round"]) == {"assembly", "collective"}
    with pytest.raises(AnalysisError, match="mode"):
        territory_consensus(v, mode="other")
