"""Tests of territoria.analysis.polis (Pol.is-compatible opinion groups and repness).

Real data: the Pol.is "brexit-consensus" conversation, compdemocracy/openData. Data was
gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed under CC BY 4.0
with Attribution to The Computational Democracy Project
(https://compdemocracy.org/case-studies/2017-brexit-consensus).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from territoria.analysis import polis as P
from territoria.exceptions import DataError


def simulate(n_per_group=(40, 30, 30), n_statements=24, p_seen=0.7, seed=0):
    """2-3 latent groups; each group agrees with each statement with its own probability."""
    rng = np.random.default_rng(seed)
    k = len(n_per_group)
    probs = rng.choice([0.1, 0.9], size=(k, n_statements))
    probs[:, :2] = 0.8  # a couple of statements everyone likes
    rows, truth = [], {}
    pid = 0
    for g, n in enumerate(n_per_group):
        for _ in range(n):
            truth[f"u{pid}"] = g
            for j in range(n_statements):
                if rng.random() > p_seen:
                    continue
                u = rng.random()
                vote = "agree" if u < probs[g, j] * 0.95 else ("pass" if u < probs[g, j]
                                                               else "disagree")
                rows.append((f"u{pid}", f"S{j}", vote))
            pid += 1
    order = rng.permutation(len(rows))
    votes = pd.DataFrame([rows[i] for i in order], columns=["participant", "proposal", "vote"])
    return votes, pd.Series(truth)


def _ari(res, truth):
    p = res.participants.dropna(subset=["group"]).set_index("participant")["group"]
    return adjusted_rand_score(truth.reindex(p.index), p.astype(int))


@pytest.mark.parametrize("mode", ["polis", "kit"])
@pytest.mark.parametrize("sizes", [(50, 40), (40, 30, 30)])
def test_planted_groups_recovered(mode, sizes):
    votes, truth = simulate(sizes, seed=len(sizes))
    res = P.analyse(votes, mode=mode, n_draws=200)
    assert res.k == len(sizes)
    assert _ari(res, truth) >= 0.9


def test_brexit_matches_polis(real_data):
    path = real_data / "polis" / "brexit-consensus" / "participants-votes.csv"
    votes, polis_gid = P.read_polis_participants_votes(path)
    assert len(polis_gid) == 204 and polis_gid.notna().sum() == 197
    # summary.csv of the same export: groups,2
    res = P.analyse(votes, mode="polis", seed=0, n_draws=200)
    assert res.k == 2
    ours = res.participants.set_index("participant")["group"]
    # Participants with empty group-id are outside Pol.is's in-conversation rule (7 people
    # with a single vote). Our static rule (>= 7 votes) leaves out also 8 people who Pol.is
    # let in early, when the conversation had fewer statements ("once in, always in").
    assert set(polis_gid[polis_gid.isna()].index) <= set(ours[ours.isna()].index)
    both = ours.notna() & polis_gid.reindex(ours.index).notna()
    assert both.sum() == 189
    ari = adjusted_rand_score(polis_gid.reindex(ours.index)[both].astype(int),
                              ours[both].astype(int))
    assert ari >= 0.8
    # with Pol.is's own in-conv set the result is as close
    res2 = P.analyse(votes, mode="polis", in_conv=set(polis_gid.dropna().index), n_draws=200)
    ours2 = res2.participants.set_index("participant")["group"].dropna()
    assert res2.k == 2 and len(ours2) == 197
    assert adjusted_rand_score(polis_gid[ours2.index].astype(int), ours2.astype(int)) >= 0.8
    # Pol.is's majority-agree statements are strongly agreed by both our groups
    st = res.statements.set_index("proposal")
    top = res.consensus.query("direction == 'agree'")["proposal"]
    assert (st.loc[top, "p_agree"] > 0.8).all()


def test_repness_hand_checked():
    # stats.clj prop-test: 2*sqrt(n+1)*((s+1)/(n+1) - 1/2); s=8, n=10:
    #   2*sqrt(11)*(9/11 - 0.5) = 2.110579 (by hand)
    assert float(P.prop_test(8, 10)) == pytest.approx(2.110579, abs=1e-6)
    # two-prop-test with +1 on all: p1=9/11, p2=3/11, p=12/22;
    #   (6/11)/sqrt(12/22*10/22*(2/11)) = 2.569047 (by hand)
    assert float(P.two_prop_test(8, 2, 10, 10)) == pytest.approx(2.569047, abs=1e-6)
    assert float(P.two_prop_test(5, 5, 5, 5)) == 0.0  # pi-hat = 1 -> 0, as in Pol.is
    # group 0 (10 people) agrees with S1 8 times; group 1: 2 of 10
    m = np.full((20, 2), np.nan)
    m[:10, 0] = [1] * 8 + [-1, 0]
    m[10:, 0] = [1] * 2 + [-1] * 8
    m[:, 1] = 0  # everyone passes on S2
    labels = np.array([0] * 10 + [1] * 10)
    st = P.repness(m, labels, ["S1", "S2"]).set_index(["group", "proposal"])
    r = st.loc[(0, "S1")]
    assert (r["na"], r["nd"], r["ns"]) == (8, 1, 10)
    assert r["pa"] == pytest.approx(9 / 12)
    assert r["ra"] == pytest.approx((9 / 12) / (3 / 12))  # = 3
    assert r["rat"] == pytest.approx(2.569047, abs=1e-6)
    reps = P.select_rep_comments(P.repness(m, labels, ["S1", "S2"]))
    g0 = reps[reps.group == 0].iloc[0]
    assert g0["proposal"] == "S1" and g0["direction"] == "agree"
    g1 = reps[reps.group == 1]
    assert g1.iloc[0]["proposal"] == "S1" and g1.iloc[0]["direction"] == "disagree"


def test_in_conv_rule_and_projection():
    m = np.full((20, 10), np.nan)
    m[:16, :7] = 1.0   # 16 people voted on 7 statements: in
    m[16:, :3] = -1.0  # 4 people voted on 3: out
    mask = P.in_conv_mask(m)
    assert mask[:16].all() and not mask[16:].any()
    # fewer than 15 qualify: the most active are added up to 15
    assert P.in_conv_mask(m[[0, 1, 16, 17, 18, 19]]).sum() == 6
    # sparsity-aware projection scales by sqrt(N / n_voted)
    center, comps = np.zeros(4), np.eye(4)[:2]
    pr = P.sparsity_aware_projection(np.array([[1.0, np.nan, np.nan, np.nan]]), center, comps)
    assert pr[0, 0] == pytest.approx(2.0)


def test_degenerate_cases():
    one = pd.DataFrame({"participant": ["a"], "proposal": ["S1"], "vote": ["agree"]})
    res = P.analyse(one, n_draws=100)
    assert res.k == 1 and res.participants["group"].tolist() == [0]
    allp = pd.DataFrame({"participant": [f"p{i}" for i in range(30) for _ in range(3)],
                         "proposal": [f"S{j}" for _ in range(30) for j in range(3)],
                         "vote": "pass"})
    res = P.analyse(allp, n_draws=100)
    assert res.k == 1 and res.repness.empty
    assert (res.statements["p_agree"] == 0).all()
    votes, _ = simulate((20, 20), n_statements=10, seed=9)
    res = P.analyse(votes, proposals=[f"S{j}" for j in range(10)] + ["unseen"], n_draws=100)
    st = res.statements.set_index("proposal")
    assert st.loc["unseen", "n_votes"] == 0 and np.isnan(st.loc["unseen", "gic_kit"])
    # Pol.is's product on an unseen statement is its prior, 0.5 per group
    assert st.loc["unseen", "gic_polis"] == pytest.approx(0.5 ** res.k)


@pytest.mark.slow
def test_large_conversation_runs():
    rng = np.random.default_rng(0)
    n, p = 10_000, 500
    g = rng.integers(0, 3, n)
    pa = rng.uniform(0.1, 0.9, (3, p))
    seen = rng.random((n, p)) < 0.3
    u = rng.random((n, p))
    ii, jj = np.nonzero(seen)
    vals = np.where(u < pa[g], "agree", "disagree")[ii, jj]
    votes = pd.DataFrame({"participant": ii.astype(str), "proposal": jj.astype(str),
                          "vote": vals})
    res = P.analyse(votes, mode="kit", n_draws=500)
    assert res.k == 3 and len(res.statements) == p


def test_read_polis_errors(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("")
    with pytest.raises(DataError, match="empty"):
        P.read_polis_participants_votes(f)
    f.write_text("participant,group-id,0,1\n0,0,1,2\n")
    with pytest.raises(DataError, match="'2' is not a vote"):
        P.read_polis_participants_votes(f)
    f.write_text("who,0\n0,1\n")
    with pytest.raises(DataError, match="participant"):
        P.read_polis_participants_votes(f)
