"""Votes and the consensus model shared by Pol.is mode and the kit's consensus.

The primitives both :mod:`territoria.analysis.polis` (opinion groups, Pol.is's own rules) and
:mod:`territoria.analysis.consensus` (step 03: trajectory across rounds, the territory's
consensus) stand on: a clean long vote table (:func:`normalise_votes`), agree/disagree/pass
counts per proposal and group (:func:`vote_counts`, :func:`tally_counts` for hand counts),
the Jeffreys interval of a share (:func:`jeffreys_interval`) and the consensus over groups
(:func:`group_consensus`, Pol.is's :func:`polis_gic`, :func:`group_table`). This module imports
neither of them, so Pol.is mode and the kit's consensus share it without an import cycle.

Model (per proposal *c* and group *g*)
--------------------------------------
Counts ``A`` agree, ``D`` disagree, ``P`` pass, ``S = A + D + P`` seen. With the Jeffreys prior
for a three-cell multinomial, Dirichlet(1/2, 1/2, 1/2), the posterior is
Dirichlet(A + 1/2, D + 1/2, P + 1/2) and

* ``p_a = (A + 1/2) / (S + 3/2)``, ``p_d = (D + 1/2) / (S + 3/2)`` (posterior means);
* effective agreement ``e = p_a (1 - p_d)`` (a proposal half the group rejects is not
  "agreed" even if the other half agrees);
* group-informed consensus ``GIC = (prod_g e_g)^(1/G)``, the geometric mean, so it does not
  fall just because there are more groups;
* disagreement consensus ``GDC = (prod_g p_d,g (1 - p_a,g))^(1/G)``: every group rejects it;
* intervals: equal-tailed posterior intervals from independent Dirichlet draws per group.

These fix the known weaknesses of Pol.is's ``prod_g (A+1)/(S+2)`` (compdemocracy/polis,
``math/src/polismath/math/repness.clj``): the product falls with the number of groups,
only agreement counts, and it has no interval. The geometric mean follows
polis-community/red-dwarf PR #118, the Jeffreys prior and effective agreement PR #120, the
disagreement consensus issue #63.

Divisive proposals
------------------
A proposal is *divisive* when at least one group leans to agree and another leans to disagree:
the posterior probability that ``max_g (p_a,g - p_d,g) > delta`` and
``min_g (p_a,g - p_d,g) < -delta`` is at least ``divisive_prob`` (defaults ``delta = 0.15``,
``divisive_prob = 0.8``). Such proposals are flagged for a mediation round.

Examples
--------
>>> votes = pd.DataFrame({"participant": ["a", "b", "c"], "proposal": ["P1"] * 3,
...                       "vote": ["agree", 1, "pass"], "block": ["B1", "B1", "B2"]})
>>> vote_counts(votes, group="block")[["group", "n_agree", "n_pass"]].values.tolist()
[['B1', 2, 0], ['B2', 0, 1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from territoria.exceptions import AnalysisError, DataError

__all__ = ["JEFFREYS", "PARTICIPANT_ALIASES", "PROPOSAL_ALIASES", "VOTE_CODES",
           "dirichlet_draws", "find_column", "group_consensus", "group_table",
           "jeffreys_interval", "normalise_votes", "polis_gic", "tally_counts", "vote_arrays",
           "vote_counts"]

#: Vote codes accepted in long vote tables. Numbers follow the Pol.is export (1 agree,
#: -1 disagree, 0 pass); Spanish words are accepted for hand-typed sheets.
VOTE_CODES: dict[object, str] = {
    "agree": "agree", "disagree": "disagree", "pass": "pass",
    "a": "agree", "d": "disagree", "p": "pass",
    "de_acuerdo": "agree", "en_desacuerdo": "disagree", "paso": "pass",
    "1": "agree", "-1": "disagree", "0": "pass",
    "1.0": "agree", "-1.0": "disagree", "0.0": "pass",
    1: "agree", -1: "disagree", 0: "pass",
}

JEFFREYS = 0.5
_NORMALISED = "territoria_normalised_votes"

PARTICIPANT_ALIASES = ("participant", "participant_code", "pid", "voter-id", "voter_id")
PROPOSAL_ALIASES = ("proposal", "proposal_code", "statement", "tid", "comment-id", "comment_id")


def _vote_code(v) -> str | None:
    """Map one raw vote value to agree/disagree/pass (None if it is not a vote)."""
    if isinstance(v, str):
        v = v.strip().lower()
    elif isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        v = int(v)
    return VOTE_CODES.get(v)


def find_column(df: pd.DataFrame, given: str | None, aliases: Sequence[str], what: str) -> str:
    """The column of ``df`` holding ``what``: ``given`` if named, else the first of ``aliases``.

    Raises
    ------
    DataError
        When ``given`` is not a column, or none of ``aliases`` is.
    """
    if given is not None:
        if given not in df.columns:
            raise DataError(f"{what} column '{given}' is missing", column=given,
                            rule=f"columns present: {', '.join(map(str, df.columns))}")
        return given
    for a in aliases:
        if a in df.columns:
            return a
    raise DataError(f"no {what} column", column=aliases[0],
                    rule=f"expected one of {', '.join(aliases)}")


def normalise_votes(votes: pd.DataFrame, *, participant: str | None = None,
                    proposal: str | None = None, vote: str = "vote") -> pd.DataFrame:
    """Return a clean long vote table: ``participant, proposal, vote`` plus other columns.

    Parameters
    ----------
    votes : DataFrame
        One row per (participant, proposal) vote. Participant and proposal columns are found
        by name (``participant``/``participant_code``, ``proposal``/``proposal_code``) unless
        given. ``vote`` holds ``agree``/``disagree``/``pass`` or the Pol.is numbers
        1/-1/0; an empty vote means "not seen" and the row is dropped.
    participant, proposal, vote : str, optional
        Column names.

    Returns
    -------
    DataFrame
        ``participant`` (str), ``proposal`` (str), ``vote`` (``agree|disagree|pass``) and the
        other input columns. When a participant voted twice on a proposal the last row wins
        (as in Pol.is, where a new vote replaces the old one).

    Raises
    ------
    DataError
        Missing columns, an empty table, or a vote value that is not a vote.

    Examples
    --------
    >>> df = pd.DataFrame({"participant_code": ["a", "a"], "proposal_code": ["P1", "P1"],
    ...                    "vote": [1, "disagree"]})
    >>> normalise_votes(df)[["participant", "proposal", "vote"]].values.tolist()
    [['a', 'P1', 'disagree']]
    """
    if not isinstance(votes, pd.DataFrame):
        raise DataError("votes must be a table (DataFrame)")
    if (votes.attrs.get(_NORMALISED) and participant is None and proposal is None
            and vote == "vote" and {"participant", "proposal", "vote"} <= set(votes.columns)
            and len(votes) and set(pd.unique(votes["vote"])) <= {"agree", "disagree", "pass"}):
        return votes.copy()  # already clean (output of this function, possibly subset)
    if vote not in votes.columns:
        raise DataError(f"vote column '{vote}' is missing", column=vote,
                        rule="a long vote table needs participant, proposal and vote columns")
    pcol = find_column(votes, participant, PARTICIPANT_ALIASES, "participant")
    scol = find_column(votes, proposal, PROPOSAL_ALIASES, "proposal")
    if len(votes) == 0:
        raise DataError("the vote table is empty", rule="at least one vote is needed")
    df = votes.rename(columns={pcol: "participant", scol: "proposal"}).copy()
    raw = df[vote]
    rc, ru = pd.factorize(raw, use_na_sentinel=True)
    blank = np.array([str(u).strip() == "" for u in ru] + [True], dtype=bool)
    keep = ~blank[rc]  # code -1 (missing) indexes the final True
    df = df.loc[keep].copy()
    if df.empty:
        raise DataError("the vote table has no votes (every vote is empty)", column=vote)
    codes, uniques = pd.factorize(df[vote])
    lut = np.array([_vote_code(u) for u in uniques], dtype=object)
    if (lut == None).any():  # noqa: E711 - elementwise comparison
        i = int(np.flatnonzero(lut[codes] == None)[0])  # noqa: E711
        raise DataError(f"'{df[vote].iloc[i]}' is not a vote", row=int(df.index[i]) + 1,
                        column=vote, rule="agree, disagree or pass (or 1, -1, 0)")
    mapped = pd.Series(lut[codes], index=df.index)
    df["vote"] = mapped.astype(str)
    if vote != "vote":
        df = df.drop(columns=[vote])
    if df["participant"].isna().any() or df["proposal"].isna().any():
        col = "participant" if df["participant"].isna().any() else "proposal"
        raise DataError(f"a vote has an empty {col}", column=col, rule="every vote names both")
    df["participant"] = df["participant"].astype(str)
    df["proposal"] = df["proposal"].astype(str)
    df = df.drop_duplicates(["participant", "proposal"], keep="last").reset_index(drop=True)
    df.attrs[_NORMALISED] = True
    return df


def vote_counts(votes: pd.DataFrame, group: str | pd.Series | Mapping | None = None, *,
                proposals: Sequence[str] | None = None) -> pd.DataFrame:
    """Count agree/disagree/pass per proposal and group.

    Parameters
    ----------
    votes : DataFrame
        Long votes (see :func:`normalise_votes`; it is applied here).
    group : str, Series or mapping, optional
        A column of ``votes`` (``"block"``, ``"sex"``...), or a mapping participant -> group
        (opinion groups). Participants without a group are left out. None: one group ``all``.
    proposals : sequence of str, optional
        Proposals to report even if nobody voted on them (their counts are 0).

    Returns
    -------
    DataFrame
        ``proposal, group, n_agree, n_disagree, n_pass, n_seen`` (integers), sorted.

    Examples
    --------
    >>> v = pd.DataFrame({"participant": ["a", "b"], "proposal": ["P1", "P1"],
    ...                   "vote": ["agree", "pass"]})
    >>> vote_counts(v, proposals=["P1", "P9"])[["proposal", "n_agree", "n_seen"]].values.tolist()
    [['P1', 1, 2], ['P9', 0, 0]]
    """
    df = normalise_votes(votes)
    if group is None:
        df["group"] = "all"
    elif isinstance(group, str):
        if group not in df.columns:
            raise DataError(f"group column '{group}' is missing", column=group,
                            rule="group_by names a column of the vote table")
        df["group"] = df[group]
    else:
        mapping = group.to_dict() if isinstance(group, pd.Series) else dict(group)
        mapping = {str(k): v for k, v in mapping.items()}
        df["group"] = df["participant"].map(mapping)
    df = df.loc[df["group"].notna()]
    pc, pu = pd.factorize(df["proposal"])
    gc, gu = pd.factorize(df["group"].astype(str))
    vcodes, vu = pd.factorize(df["vote"])
    vc = np.array([{"agree": 0, "disagree": 1, "pass": 2}[u] for u in vu], dtype=int)[vcodes]
    ng = max(len(gu), 1)
    cell = (pc * ng + gc) * 3 + vc
    cnt = np.bincount(cell, minlength=len(pu) * ng * 3).reshape(len(pu), ng, 3)
    present = cnt.sum(-1) > 0
    ip, ig = np.nonzero(present)
    out = pd.DataFrame({"proposal": np.asarray(pu, dtype=object)[ip],
                        "group": np.asarray(gu, dtype=object)[ig],
                        "n_agree": cnt[ip, ig, 0], "n_disagree": cnt[ip, ig, 1],
                        "n_pass": cnt[ip, ig, 2]})
    if proposals is not None:
        missing = sorted(set(map(str, proposals)) - set(out["proposal"]))
        groups = sorted(out["group"].unique()) or ["all"]
        if missing:
            extra = pd.DataFrame([(p, g, 0, 0, 0) for p in missing for g in groups],
                                 columns=["proposal", "group", "n_agree", "n_disagree",
                                          "n_pass"])
            out = pd.concat([out, extra], ignore_index=True)
    for c in ("n_agree", "n_disagree", "n_pass"):
        out[c] = out[c].astype("int64")
    out["n_seen"] = out["n_agree"] + out["n_disagree"] + out["n_pass"]
    return out.sort_values(["proposal", "group"]).reset_index(drop=True)


def tally_counts(tallies: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """Turn hand-count tallies into the counts table used by :func:`group_consensus`.

    Parameters
    ----------
    tallies : DataFrame
        ``proposal_code`` (or ``proposal``), ``n_agree``, ``n_disagree``, ``n_pass`` and
        optionally a group column (``assembly_code``, ``territory``...). Several rows of the
        same proposal and group are added up.
    group : str, optional
        The column defining groups (each assembly a group, for instance). None: one group.

    Returns
    -------
    DataFrame
        ``proposal, group, n_agree, n_disagree, n_pass, n_seen``.

    Raises
    ------
    DataError
        Missing columns, negative or non-integer counts.

    Examples
    --------
    >>> t = pd.DataFrame({"proposal_code": ["P1", "P1"], "assembly_code": ["A1", "A2"],
    ...                   "n_agree": [20, 12], "n_disagree": [3, 15], "n_pass": [2, 1]})
    >>> tally_counts(t, group="assembly_code")[["group", "n_seen"]].values.tolist()
    [['A1', 25], ['A2', 28]]
    """
    if not isinstance(tallies, pd.DataFrame) or tallies.empty:
        raise DataError("the tally table is empty", rule="at least one tally row is needed")
    pcol = find_column(tallies, None, PROPOSAL_ALIASES, "proposal")
    need = ["n_agree", "n_disagree", "n_pass"]
    for c in need:
        if c not in tallies.columns:
            raise DataError(f"tally column '{c}' is missing", column=c,
                            rule="tallies need n_agree, n_disagree and n_pass")
    df = tallies.rename(columns={pcol: "proposal"}).copy()
    for c in need:
        x = pd.to_numeric(df[c].fillna(0), errors="coerce")
        bad = x.isna() | (x < 0) | (x != np.floor(x))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"'{df[c].iloc[i]}' is not a count", row=int(df.index[i]) + 1,
                            column=c, rule="a whole number >= 0")
        df[c] = x.astype("int64")
    if group is None:
        df["group"] = "all"
    else:
        if group not in df.columns:
            raise DataError(f"group column '{group}' is missing", column=group,
                            rule="group names a column of the tally table")
        df["group"] = df[group].astype(str)
    df["proposal"] = df["proposal"].astype(str)
    out = df.groupby(["proposal", "group"], as_index=False)[need].sum()
    out["n_seen"] = out["n_agree"] + out["n_disagree"] + out["n_pass"]
    return out.sort_values(["proposal", "group"]).reset_index(drop=True)


def jeffreys_interval(successes, n, level: float = 0.9):
    """Jeffreys interval for a binomial proportion: Beta(x + 1/2, n - x + 1/2) quantiles.

    As in Brown, Cai & DasGupta (2001, *Statistical Science* 16:101), the lower limit is 0
    when x = 0 and the upper limit 1 when x = n. NaN when n = 0.

    Examples
    --------
    >>> lo, hi = jeffreys_interval(7, 20, level=0.95)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1723, 0.5678)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5)
        hi = stats.beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5)
    lo = np.where(x <= 0, 0.0, lo)
    hi = np.where(x >= n, 1.0, hi)
    lo = np.where(n <= 0, np.nan, lo)
    hi = np.where(n <= 0, np.nan, hi)
    return lo, hi


def vote_arrays(counts: pd.DataFrame):
    """Counts as arrays (proposals x groups) for A, D, P; proposal and group labels.

    Returns
    -------
    (list, list, ndarray, ndarray, ndarray)
        Proposals, groups, and the agree, disagree and pass counts.
    """
    need = ["proposal", "group", "n_agree", "n_disagree", "n_pass"]
    for c in need:
        if c not in counts.columns:
            raise AnalysisError(f"counts table lacks column '{c}' (make it with vote_counts "
                                "or tally_counts)")
    keep = counts["proposal"].notna() & counts["group"].notna()
    try:  # the pivot table by hand: integer codes and np.add.at (~10x pandas' pivot_table)
        pi, props = pd.factorize(counts.loc[keep, "proposal"], sort=True)
        gi, groups = pd.factorize(counts.loc[keep, "group"], sort=True)
    except TypeError:  # labels that do not sort together (e.g. numbers and text)
        piv = counts.pivot_table(index="proposal", columns="group",
                                 values=["n_agree", "n_disagree", "n_pass"], aggfunc="sum",
                                 fill_value=0, observed=True)
        return (list(piv.index), list(piv["n_agree"].columns),
                *(piv[c].to_numpy(float) for c in ("n_agree", "n_disagree", "n_pass")))
    out = []
    for c in ("n_agree", "n_disagree", "n_pass"):
        m = np.zeros((len(props), len(groups)))
        np.add.at(m, (pi, gi), np.nan_to_num(pd.to_numeric(counts.loc[keep, c]).to_numpy(float)))
        out.append(m)
    return list(props), list(groups), *out


def dirichlet_draws(a, d, p, n_draws, rng, prior):
    """Posterior draws of (p_a, p_d) with shape (draws, proposals, groups)."""
    shape = (n_draws,) + a.shape
    ga = rng.standard_gamma(np.broadcast_to(a + prior, shape))
    gd = rng.standard_gamma(np.broadcast_to(d + prior, shape))
    gp = rng.standard_gamma(np.broadcast_to(p + prior, shape))
    tot = ga + gd + gp
    return ga / tot, gd / tot


def _quantiles(draws: np.ndarray, q) -> np.ndarray:
    """Quantiles ``q`` of each column of ``draws`` as (columns, len(q)); NaN columns (unseen
    proposals) give NaN. Same values as ``np.nanquantile``, without its slow per-column path
    for the columns that have no NaN (all of them but the unseen)."""
    out = np.full((draws.shape[1], len(q)), np.nan)
    if not draws.size:
        return out
    bad = np.isnan(draws).any(axis=0)
    if (~bad).any():
        out[~bad] = np.quantile(draws[:, ~bad], q, axis=0).T
    if bad.any():
        out[bad] = np.nanquantile(draws[:, bad], q, axis=0).T
    return out


def group_consensus(counts: pd.DataFrame, *, level: float = 0.9, prior: float = JEFFREYS,
                    effective: bool = True, n_draws: int = 2000, delta: float = 0.15,
                    divisive_prob: float = 0.8, min_seen: int = 1,
                    seed: int | None = 0) -> pd.DataFrame:
    """Group-informed consensus (geometric mean), disagreement consensus and divisiveness.

    Parameters
    ----------
    counts : DataFrame
        From :func:`vote_counts` or :func:`tally_counts`.
    level : float
        Level of the equal-tailed posterior intervals (default 0.90).
    prior : float
        Dirichlet prior count per cell; 0.5 is Jeffreys (default), 1 is Laplace.
    effective : bool
        Use effective agreement ``p_a (1 - p_d)`` (default) or plain ``p_a``.
    n_draws : int
        Posterior draws for intervals and the divisive probability.
    delta, divisive_prob : float
        Divisive rule (see the module notes).
    min_seen : int
        Groups with fewer votes on a proposal than this are left out of that proposal's
        product (an unseen proposal in a group tells nothing about that group).
    seed : int, optional
        Random seed of the posterior draws (results are reproducible).

    Returns
    -------
    DataFrame, one row per proposal
        ``proposal``; ``n_votes`` (seen, all groups), ``n_agree``, ``n_disagree``, ``n_pass``;
        ``p_agree``, ``p_disagree`` (raw shares of seen), ``p_agree_low/high`` (Jeffreys
        interval); ``n_groups`` (groups that saw it); ``gic``, ``gic_low``, ``gic_high``;
        ``gdc``, ``gdc_low``, ``gdc_high``; ``net_min``, ``net_max`` (lowest and highest group
        net support p_a - p_d); ``p_divisive`` and ``divisive`` (bool). Proposals nobody saw
        have NaN scores and ``divisive`` False.

    Notes
    -----
    See the module docstring for formulas. With one group and ``effective=False`` the GIC is
    the posterior mean of a Beta(A + 1/2, S - A + 1) and its interval that Beta's quantiles.

    Examples
    --------
    >>> c = pd.DataFrame({"proposal": ["P1", "P1"], "group": ["g1", "g2"],
    ...                   "n_agree": [8, 3], "n_disagree": [1, 5], "n_pass": [1, 2]})
    >>> r = group_consensus(c)
    >>> round(float(r.loc[0, "gic"]), 4)
    0.3195
    """
    if not 0 < level < 1:
        raise AnalysisError(f"level must be between 0 and 1, got {level}")
    if prior <= 0:
        raise AnalysisError(f"prior must be > 0, got {prior}")
    props, groups, a, d, p = vote_arrays(counts)
    s = a + d + p
    seen = s >= max(min_seen, 1)
    n_groups = seen.sum(axis=1)
    rng = np.random.default_rng(seed)
    pa = (a + prior) / (s + 3 * prior)
    pd_ = (d + prior) / (s + 3 * prior)
    agree_score = pa * (1 - pd_) if effective else pa
    rej_score = pd_ * (1 - pa) if effective else pd_

    def gmean(x, axis=-1):
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.where(seen, np.log(np.clip(x, 1e-300, None)), 0.0)
            return np.exp(lx.sum(axis=axis) / np.where(n_groups > 0, n_groups, np.nan))

    gic = gmean(agree_score)
    gdc = gmean(rej_score)
    # posterior draws, in chunks to bound memory
    alpha = (1 - level) / 2
    q = [alpha, 1 - alpha]
    gic_q = np.full((len(props), 2), np.nan)
    gdc_q = np.full((len(props), 2), np.nan)
    p_div = np.zeros(len(props))
    chunk = max(1, int(4_000_000 // max(1, n_draws * len(groups))))
    for i0 in range(0, len(props), chunk):
        sl = slice(i0, i0 + chunk)
        da, dd = dirichlet_draws(a[sl], d[sl], p[sl], n_draws, rng, prior)
        sa = da * (1 - dd) if effective else da
        sr = dd * (1 - da) if effective else dd
        m = seen[sl][None]
        ng = np.where(n_groups[sl] > 0, n_groups[sl], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = np.exp(np.where(m, np.log(sa), 0).sum(-1) / ng)
            gr = np.exp(np.where(m, np.log(sr), 0).sum(-1) / ng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # proposals nobody saw: NaN
            gic_q[sl] = _quantiles(ga, q)
            gdc_q[sl] = _quantiles(gr, q)
        net = da - dd
        hi = np.where(m, net, -np.inf).max(-1)
        lo = np.where(m, net, np.inf).min(-1)
        p_div[sl] = ((hi > delta) & (lo < -delta)).mean(0)
    net_pt = np.where(seen, pa - pd_, np.nan)
    with np.errstate(all="ignore"):
        net_min = np.where(n_groups > 0, np.nanmin(np.where(seen, net_pt, np.inf), axis=1),
                           np.nan)
        net_max = np.where(n_groups > 0, np.nanmax(np.where(seen, net_pt, -np.inf), axis=1),
                           np.nan)
    ta, td, tp = a.sum(1), d.sum(1), p.sum(1)
    ts = ta + td + tp
    lo_a, hi_a = jeffreys_interval(ta, ts, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "proposal": props, "n_votes": ts.astype("int64"), "n_agree": ta.astype("int64"),
            "n_disagree": td.astype("int64"), "n_pass": tp.astype("int64"),
            "p_agree": np.where(ts > 0, ta / ts, np.nan),
            "p_disagree": np.where(ts > 0, td / ts, np.nan),
            "p_agree_low": lo_a, "p_agree_high": hi_a,
            "n_groups": n_groups.astype("int64"),
            "gic": gic, "gic_low": gic_q[:, 0], "gic_high": gic_q[:, 1],
            "gdc": gdc, "gdc_low": gdc_q[:, 0], "gdc_high": gdc_q[:, 1],
            "net_min": net_min, "net_max": net_max,
            "p_divisive": np.where(n_groups > 1, p_div, 0.0),
        })
    out["divisive"] = (out["n_groups"] > 1) & (out["p_divisive"] >= divisive_prob)
    return out


def polis_gic(counts: pd.DataFrame, *, level: float = 0.9, n_draws: int = 2000,
              seed: int | None = 0) -> pd.DataFrame:
    """Pol.is's group-informed consensus: ``prod_g (A_g + 1) / (S_g + 2)``.

    Follows ``:group-aware-consensus`` in compdemocracy/polis
    ``math/src/polismath/math/conversation.clj`` (``S`` counts agree, disagree and pass). The
    interval (not given by Pol.is) uses the posterior Beta(A + 1, S - A + 1) per group, whose
    mean is Pol.is's ``(A + 1)/(S + 2)``.

    Returns
    -------
    DataFrame
        ``proposal, gic, gic_low, gic_high``.

    Examples
    --------
    >>> c = pd.DataFrame({"proposal": ["P1", "P1"], "group": ["0", "1"],
    ...                   "n_agree": [8, 3], "n_disagree": [1, 5], "n_pass": [1, 2]})
    >>> float(polis_gic(c).loc[0, "gic"])
    0.25
    """
    props, groups, a, d, p = vote_arrays(counts)
    s = a + d + p
    gic = np.prod((a + 1) / (s + 2), axis=1)
    rng = np.random.default_rng(seed)
    draws = rng.beta(a + 1, s - a + 1, size=(n_draws,) + a.shape).prod(-1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
    return pd.DataFrame({"proposal": props, "gic": gic, "gic_low": lo, "gic_high": hi})


def group_table(counts: pd.DataFrame, *, level: float = 0.9,
                prior: float = JEFFREYS) -> pd.DataFrame:
    """Per proposal and group: counts, shares with Jeffreys intervals, net support.

    Returns
    -------
    DataFrame
        ``proposal, group, n_agree, n_disagree, n_pass, n_seen, p_agree, p_agree_low,
        p_agree_high, p_disagree, net`` (``net`` = posterior-mean p_a - p_d).

    Examples
    --------
    >>> c = pd.DataFrame({"proposal": ["P1"], "group": ["g"], "n_agree": [3],
    ...                   "n_disagree": [1], "n_pass": [0]})
    >>> group_table(c)["p_agree"].tolist()
    [0.75]
    """
    df = counts.copy()
    if "n_seen" not in df.columns:
        df["n_seen"] = df["n_agree"] + df["n_disagree"] + df["n_pass"]
    s = df["n_seen"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["p_agree"] = np.where(s > 0, df["n_agree"] / s, np.nan)
        df["p_disagree"] = np.where(s > 0, df["n_disagree"] / s, np.nan)
    lo, hi = jeffreys_interval(df["n_agree"].to_numpy(), s, level)
    df["p_agree_low"], df["p_agree_high"] = lo, hi
    df["net"] = (df["n_agree"] - df["n_disagree"]) / (s + 3 * prior)
    return df
