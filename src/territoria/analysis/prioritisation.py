"""Prioritisation of proposals: several ranking rules and how much the top list depends on them.

Three rules, each giving a score per proposal and a rank (1 = first):

* **approval**: share of people who agree among those who saw the proposal, from individual
  votes (:func:`approval_ranking`), with a Jeffreys interval; ties broken by the number of
  agree votes;
* **borda**: from rankings (each person orders some proposals): a proposal ranked r-th of m
  ranked on a ballot gets ``m - r`` points, unranked ones 0 (the "modified Borda count",
  Emerson 2013, *Public Choice* 158:353), averaged over ballots (:func:`borda_ranking`);
* **tally**: agree share from assembly hand counts ``n_agree / (n_agree + n_disagree +
  n_pass)`` summed over assemblies (:func:`tally_ranking`).

:func:`rank_sensitivity` puts the rules side by side: does the top 10 change with the rule?

Examples
--------
>>> import pandas as pd
>>> v = pd.DataFrame({"participant": list("aabbcc"), "proposal": ["P1", "P2"] * 3,
...                   "vote": ["agree", "disagree", "agree", "agree", "pass", "agree"]})
>>> approval_ranking(v)[["proposal", "score", "rank"]].values.tolist()
[['P1', 0.6666666666666666, 1], ['P2', 0.6666666666666666, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from territoria.analysis.consensus import jeffreys_interval, normalise_votes, tally_counts
from territoria.exceptions import AnalysisError, DataError


def _rank(df: pd.DataFrame, score: str, tiebreak: str | None = None) -> pd.DataFrame:
    keys = [score] + ([tiebreak] if tiebreak else []) + ["proposal"]
    asc = [False] + ([False] if tiebreak else []) + [True]
    df = df.sort_values(keys, ascending=asc, na_position="last").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    return df


def approval_ranking(votes: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
    """Rank proposals by the share of agree votes among those who saw them.

    Returns
    -------
    DataFrame
        ``proposal, n_votes, n_agree, score`` (agree share), ``score_low, score_high``
        (Jeffreys interval), ``rank``. Ties are broken by more agree votes, then by id.
    """
    v = normalise_votes(votes)
    g = v.groupby("proposal")["vote"]
    out = pd.DataFrame({"n_votes": g.size(), "n_agree": g.apply(lambda s: (s == "agree")
                                                                 .sum())}).reset_index()
    out["score"] = out["n_agree"] / out["n_votes"]
    out["score_low"], out["score_high"] = jeffreys_interval(out["n_agree"], out["n_votes"],
                                                            level)
    return _rank(out, "score", "n_agree")


def borda_ranking(rankings: pd.DataFrame, *, voter: str = "participant",
                  proposal: str = "proposal", rank: str = "rank") -> pd.DataFrame:
    """Modified Borda count from (possibly partial) rankings.

    Parameters
    ----------
    rankings : DataFrame
        One row per (voter, proposal) with ``rank`` 1 = most preferred. Ranks on a ballot
        must be 1..m without gaps or repeats (m proposals ranked on that ballot).

    Returns
    -------
    DataFrame
        ``proposal, n_ballots`` (ballots ranking it), ``points`` (total), ``score`` (mean
        points per ballot, all ballots), ``score_se`` (its standard error), ``rank``.

    Examples
    --------
    >>> r = pd.DataFrame({"participant": ["a", "a", "a", "b", "b"],
    ...                   "proposal": ["P1", "P2", "P3", "P2", "P1"],
    ...                   "rank": [1, 2, 3, 1, 2]})
    >>> borda_ranking(r)[["proposal", "points", "rank"]].values.tolist()
    [['P1', 2, 1], ['P2', 2, 2], ['P3', 0, 3]]
    """
    for c in (voter, proposal, rank):
        if c not in rankings.columns:
            raise DataError(f"ranking column '{c}' is missing", column=c,
                            rule="rankings need voter, proposal and rank columns")
    if rankings.empty:
        raise DataError("the ranking table is empty")
    df = rankings[[voter, proposal, rank]].dropna().copy()
    r = pd.to_numeric(df[rank], errors="coerce")
    if r.isna().any() or (r < 1).any() or (r != np.floor(r)).any():
        i = int(np.flatnonzero((r.isna() | (r < 1) | (r != np.floor(r))).to_numpy())[0])
        raise DataError(f"'{df[rank].iloc[i]}' is not a rank", column=rank,
                        row=int(df.index[i]) + 1, rule="whole numbers 1, 2, 3...")
    df[rank] = r.astype(int)
    m = df.groupby(voter)[rank].transform("size")
    chk = df.groupby(voter)[rank].agg(lambda s: sorted(s) == list(range(1, len(s) + 1)))
    if not chk.all():
        raise DataError(f"ballot of '{chk.index[~chk][0]}' has gaps or repeated ranks",
                        column=rank, rule="ranks on a ballot are 1..m, each once")
    df["pts"] = m - df[rank]
    ballots = df[voter].nunique()
    wide = df.pivot_table(index=voter, columns=proposal, values="pts", fill_value=0)
    out = pd.DataFrame({"proposal": wide.columns.astype(str),
                        "n_ballots": df.groupby(proposal)[voter].nunique()
                        .reindex(wide.columns).to_numpy(),
                        "points": wide.sum(axis=0).to_numpy().astype(int),
                        "score": wide.mean(axis=0).to_numpy(),
                        "score_se": (wide.std(axis=0, ddof=1) / np.sqrt(ballots)).to_numpy()
                        if ballots > 1 else np.nan})
    return _rank(out, "score")


def tally_ranking(tallies: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
    """Rank proposals by the agree share of assembly hand counts (all assemblies added).

    Returns
    -------
    DataFrame
        ``proposal, n_votes, n_agree, score, score_low, score_high, rank``.

    Examples
    --------
    >>> t = pd.DataFrame({"proposal_code": ["P1", "P2"], "n_agree": [30, 10],
    ...                   "n_disagree": [5, 20], "n_pass": [5, 0]})
    >>> tally_ranking(t)[["proposal", "score", "rank"]].values.tolist()
    [['P1', 0.75, 1], ['P2', 0.3333333333333333, 2]]
    """
    c = tally_counts(tallies).groupby("proposal", as_index=False)[
        ["n_agree", "n_disagree", "n_pass", "n_seen"]].sum()
    out = c.rename(columns={"n_seen": "n_votes"})[["proposal", "n_votes", "n_agree"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["score"] = np.where(out["n_votes"] > 0, out["n_agree"] / out["n_votes"], np.nan)
    out["score_low"], out["score_high"] = jeffreys_interval(out["n_agree"], out["n_votes"],
                                                            level)
    return _rank(out, "score", "n_agree")


def rank_by_axis(ranking: pd.DataFrame, proposals: pd.DataFrame, *,
                 axis: str = "axis") -> pd.DataFrame:
    """Add each proposal's thematic axis and its rank within the axis.

    Returns
    -------
    DataFrame
        The ranking with ``axis`` and ``rank_in_axis`` (1 = first in its axis).

    Examples
    --------
    >>> rk = pd.DataFrame({"proposal": ["P1", "P2", "P3"], "rank": [1, 2, 3]})
    >>> pr = pd.DataFrame({"proposal_code": ["P1", "P2", "P3"],
    ...                    "axis": ["water", "security", "water"]})
    >>> rank_by_axis(rk, pr)["rank_in_axis"].tolist()
    [1, 1, 2]
    """
    pcol = "proposal_code" if "proposal_code" in proposals.columns else "proposal"
    if pcol not in proposals.columns or axis not in proposals.columns:
        raise DataError(f"proposals need '{pcol}' and '{axis}' columns", column=axis)
    m = proposals[[pcol, axis]].rename(columns={pcol: "proposal", axis: "axis"})
    m["proposal"] = m["proposal"].astype(str)
    out = ranking.merge(m.drop_duplicates("proposal"), on="proposal", how="left")
    out["rank_in_axis"] = out.groupby("axis", dropna=False)["rank"].rank(method="first"
                                                                        ).astype(int)
    return out.sort_values("rank").reset_index(drop=True)


def rank_sensitivity(rankings: Mapping[str, pd.DataFrame], *, top: int = 10
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare rankings from several rules: does the top ``top`` change with the rule?

    Parameters
    ----------
    rankings : mapping name -> DataFrame
        Each with ``proposal`` and ``rank`` (as returned by the ranking functions, or a
        consensus table ranked by GIC).
    top : int
        Size of the top list.

    Returns
    -------
    table : DataFrame
        One row per proposal: ``rank_<rule>`` for each rule, ``top_<rule>`` (bool), ``n_top``
        (rules that put it in the top), ``in_all`` (bool), sorted by the best mean rank.
    pairs : DataFrame
        One row per pair of rules: ``rule_a, rule_b, top_overlap`` (proposals in both tops),
        ``jaccard`` (overlap / union of the two tops), ``kendall_tau`` (rank correlation over
        proposals ranked by both, with its ``p_value``).

    Examples
    --------
    >>> a = pd.DataFrame({"proposal": ["P1", "P2", "P3"], "rank": [1, 2, 3]})
    >>> b = pd.DataFrame({"proposal": ["P1", "P2", "P3"], "rank": [2, 1, 3]})
    >>> tab, pairs = rank_sensitivity({"approval": a, "borda": b}, top=2)
    >>> tab["in_all"].tolist(), float(pairs.loc[0, "jaccard"])
    ([True, True, False], 1.0)
    """
    if len(rankings) < 1:
        raise AnalysisError("rank_sensitivity needs at least one ranking")
    if top < 1:
        raise AnalysisError(f"top must be >= 1, got {top}")
    tab = None
    for name, rk in rankings.items():
        if "proposal" not in rk.columns or "rank" not in rk.columns:
            raise AnalysisError(f"ranking '{name}' needs 'proposal' and 'rank' columns")
        part = rk[["proposal", "rank"]].rename(columns={"rank": f"rank_{name}"})
        part["proposal"] = part["proposal"].astype(str)
        tab = part if tab is None else tab.merge(part, on="proposal", how="outer")
    names = list(rankings)
    for n in names:
        tab[f"top_{n}"] = tab[f"rank_{n}"].le(top).fillna(False).astype(bool)
    tab["n_top"] = tab[[f"top_{n}" for n in names]].sum(axis=1).astype(int)
    tab["in_all"] = tab["n_top"] == len(names)
    tab["_m"] = tab[[f"rank_{n}" for n in names]].mean(axis=1)
    tab = tab.sort_values(["_m", "proposal"]).drop(columns="_m").reset_index(drop=True)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ta = set(tab.loc[tab[f"top_{a}"], "proposal"])
            tb = set(tab.loc[tab[f"top_{b}"], "proposal"])
            both = tab.dropna(subset=[f"rank_{a}", f"rank_{b}"])
            if len(both) >= 2:
                tau, p = stats.kendalltau(both[f"rank_{a}"], both[f"rank_{b}"])
            else:
                tau, p = np.nan, np.nan
            rows.append({"rule_a": a, "rule_b": b, "top_overlap": len(ta & tb),
                         "jaccard": len(ta & tb) / len(ta | tb) if ta | tb else np.nan,
                         "kendall_tau": tau, "p_value": p})
    pairs = pd.DataFrame(rows, columns=["rule_a", "rule_b", "top_overlap", "jaccard",
                                        "kendall_tau", "p_value"])
    return tab, pairs
