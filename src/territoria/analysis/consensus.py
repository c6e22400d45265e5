"""Consensus across groups: a better group-informed consensus, with uncertainty.

Votes on proposals (agree / disagree / pass) are summarised per proposal and per *group*. A
group can be an opinion group (latent, found by :mod:`territoria.analysis.polis`) or a known
group of people (territory, block, sex, age group), or an assembly whose hand counts were
written on a tally sheet. The same multinomial model serves all of them, so consensus can be
measured in block assemblies of 20-60 people, where Pol.is's own rules are unstable.

The model (per proposal and group, the Jeffreys prior, effective agreement, the geometric-mean
group-informed consensus, the disagreement consensus and the divisive rule) is in
:mod:`territoria.analysis.votes`, shared with Pol.is mode (:mod:`territoria.analysis.polis`);
this module adds the consensus across the rounds of the method (:func:`consensus_trajectory`)
and the territory's consensus for step 03 (:func:`territory_consensus`). The names of
:mod:`territoria.analysis.votes` are also importable from here.

Examples
--------
>>> import pandas as pd
>>> votes = pd.DataFrame({
...     "participant": ["a", "b", "c", "d", "a", "b", "c", "d"],
...     "proposal": ["P1"] * 4 + ["P2"] * 4,
...     "vote": ["agree", "agree", "agree", "disagree", "agree", "pass", "disagree", "disagree"],
...     "block": ["B1", "B1", "B2", "B2"] * 2})
>>> counts = vote_counts(votes, group="block")
>>> counts[["proposal", "group", "n_agree", "n_disagree", "n_pass", "n_seen"]].values.tolist()
[['P1', 'B1', 2, 0, 0, 2], ['P1', 'B2', 1, 1, 0, 2], ['P2', 'B1', 1, 0, 1, 2], ['P2', 'B2', 0, 2, 0, 2]]
>>> res = group_consensus(counts, seed=1)
>>> res.set_index("proposal")["gic"].round(3).to_dict()
{'P1': 0.387, 'P2': 0.122}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from territoria.analysis import agenda as _agenda
from territoria.analysis import polis as _polis
from territoria.analysis.votes import (
    JEFFREYS,
    PROPOSAL_ALIASES,
    VOTE_CODES,
    dirichlet_draws,
    find_column,
    group_consensus,
    group_table,
    jeffreys_interval,
    normalise_votes,
    polis_gic,
    tally_counts,
    vote_arrays,
    vote_counts,
)
from territoria.exceptions import AnalysisError, DataError

__all__ = ["JEFFREYS", "ROUND_ORDER", "VOTE_CODES", "consensus_trajectory", "group_consensus",
           "group_table", "jeffreys_interval", "normalise_votes", "polis_gic", "tally_counts",
           "territory_consensus", "vote_counts"]

#: Order of the rounds of the method (consensus trajectory).
ROUND_ORDER = ("assembly", "collective", "agenda_validation")



def consensus_trajectory(counts_by_round: pd.DataFrame, *, round_col: str = "round",
                         rounds: Sequence[str] = ROUND_ORDER, level: float = 0.9,
                         n_draws: int = 2000, seed: int | None = 0, **kw) -> pd.DataFrame:
    """Consensus of each proposal across rounds (assembly -> collective -> agenda validation).

    Parameters
    ----------
    counts_by_round : DataFrame
        A counts table (see :func:`vote_counts`, :func:`tally_counts`) with a round column;
        concatenate the tables of each round.
    round_col : str
        Round column name.
    rounds : sequence of str
        Order of the rounds; rounds not listed go after, alphabetically.
    level, n_draws, seed, **kw
        Passed to :func:`group_consensus`.

    Returns
    -------
    DataFrame
        ``proposal, round, round_order, n_votes, gic, gic_low, gic_high, divisive``, and,
        from the second round a proposal appears in, ``delta`` (change of GIC from its
        previous round) and ``p_increase`` (posterior probability that GIC went up, rounds
        taken as independent samples).

    Examples
    --------
    >>> c = pd.DataFrame({"proposal": ["P1"] * 2, "group": ["all"] * 2,
    ...                   "round": ["assembly", "collective"],
    ...                   "n_agree": [10, 25], "n_disagree": [10, 3], "n_pass": [2, 2]})
    >>> t = consensus_trajectory(c)
    >>> t["round"].tolist(), bool(t["p_increase"].iloc[1] > 0.95)
    (['assembly', 'collective'], True)
    """
    if round_col not in counts_by_round.columns:
        raise DataError(f"round column '{round_col}' is missing", column=round_col,
                        rule="the trajectory needs one round per row")
    order = {r: i for i, r in enumerate(rounds)}
    extra = sorted(set(counts_by_round[round_col].astype(str)) - set(order))
    for r in extra:
        order[r] = len(order)
    rows, draws = [], {}
    for r, sub in counts_by_round.groupby(counts_by_round[round_col].astype(str)):
        res = group_consensus(sub, level=level, n_draws=n_draws, seed=seed, **kw)
        res["round"] = r
        res["round_order"] = order[r]
        rows.append(res)
        # draws of GIC per proposal, for the change probability
        props, groups, a, d, p = vote_arrays(sub)
        rng = np.random.default_rng(None if seed is None else seed + 7919 * order[r])
        da, dd = dirichlet_draws(a, d, p, n_draws, rng, kw.get("prior", JEFFREYS))
        sa = da * (1 - dd) if kw.get("effective", True) else da
        seen = (a + d + p) >= 1
        ng = np.where(seen.sum(1) > 0, seen.sum(1), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.exp(np.where(seen[None], np.log(sa), 0).sum(-1) / ng)
        for j, pr in enumerate(props):
            draws[(pr, r)] = g[:, j]
    out = pd.concat(rows, ignore_index=True).sort_values(["proposal", "round_order"])
    out["delta"] = np.nan
    out["p_increase"] = np.nan
    prev = {}
    for i, row in out.iterrows():
        key = row["proposal"]
        if key in prev and row["n_votes"] > 0:
            j, r0 = prev[key]
            out.at[i, "delta"] = row["gic"] - out.at[j, "gic"]
            out.at[i, "p_increase"] = float(np.mean(draws[(key, row["round"])]
                                                    > draws[(key, r0)]))
        if row["n_votes"] > 0:
            prev[key] = (i, row["round"])
    cols = ["proposal", "round", "round_order", "n_votes", "gic", "gic_low", "gic_high",
            "divisive", "delta", "p_increase"]
    return out[cols].reset_index(drop=True)


def territory_consensus(votes_long: pd.DataFrame, proposals: pd.DataFrame | None = None,
                        tallies: pd.DataFrame | None = None, *, mode: str = "kit",
                        group_by: str | Sequence[str] | None = None, round_col: str = "round",
                        tally_group: str | None = "assembly_code", seed: int = 0,
                        level: float = 0.9, min_gic: float = _agenda.AGREED_MIN_GIC,
                        min_votes: int | None = None) -> dict[str, pd.DataFrame]:
    """One call for step 03: opinion groups, consensus, trajectory and the agenda.

    Parameters
    ----------
    votes_long : DataFrame
        One row per vote: ``participant_code`` (or ``participant``), ``proposal_code`` (or
        ``proposal``), ``vote`` (agree/disagree/pass), optionally ``round`` and group columns
        (``territory``, ``block``, ``sex``, ``age_group``). From the kit's store:
        ``votes__votes`` joined to ``votes`` on the parent link.
    proposals : DataFrame, optional
        ``proposal_code, axis, title`` (+ ``territory``, ``round``, optional ``department``,
        ``horizon``). Needed for the agenda.
    tallies : DataFrame, optional
        Hand counts ``proposal_code, n_agree, n_disagree, n_pass`` (+ ``assembly_code``,
        ``round``); their consensus uses the same model, each assembly a group.
    mode : {"kit", "polis"}
        How opinion groups are found (see :func:`territoria.analysis.polis.opinion_groups`)
        and, for ``polis``, Pol.is's own GIC and repness on them.
    group_by : str or list of str, optional
        Known groups (columns of ``votes_long``) to compute consensus over, besides opinion
        groups; e.g. ``["block", "sex"]``.
    round_col : str
        Column with the round (for the trajectory). When the votes have several rounds the
        opinion groups and the main consensus use the last round in :data:`ROUND_ORDER`.
    tally_group : str, optional
        Column of ``tallies`` that defines groups (default each assembly).
    seed, level
        Random seed, interval level.
    min_gic, min_votes
        The agenda's consensus threshold and least votes for an item to be judged
        (:func:`territoria.analysis.agenda.build_agenda`; ``city.yml:
        agenda.agreed_min_consensus`` and ``min_cell_size``).

    Returns
    -------
    dict of DataFrames
        ``statements``: one row per proposal, consensus over opinion groups (columns of
        :func:`group_consensus`, plus ``polis_gic`` and ``extremity``);
        ``groups``: participant -> opinion group (``participant, group, x, y, in_conv``);
        ``group_votes``: per proposal and opinion group (:func:`group_table`);
        ``repness``: representative statements of each opinion group;
        ``group_stability`` (``kit`` mode): bootstrap stability of each opinion group
        (``group, n, jaccard, dissolved``; see :mod:`territoria.analysis.polis`);
        ``by_<col>``: consensus over each known group column in ``group_by``;
        ``tallies``: consensus from hand counts (if given);
        ``trajectory``: consensus per round, if more than one round is present in the votes
        and tallies together (groups: the first ``group_by`` column, or everyone, for votes;
        each assembly for tallies; people differ between rounds, so opinion groups are not
        used here);
        ``agenda``: the Local Development Agenda (if ``proposals`` is given).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rows = [(f"p{i}", f"P{j}", "agree" if rng.random() < (0.8 if (i < 10) == (j < 3)
    ...          else 0.2) else "disagree") for i in range(20) for j in range(6)]
    >>> v = pd.DataFrame(rows, columns=["participant_code", "proposal_code", "vote"])
    >>> out = territory_consensus(v)
    >>> sorted(out)
    ['group_stability', 'group_votes', 'groups', 'repness', 'statements']
    >>> int(out["groups"]["group"].nunique())
    2
    """
    if mode not in ("kit", "polis"):
        raise AnalysisError(f"mode must be 'kit' or 'polis', got '{mode}'")
    votes = normalise_votes(votes_long)
    result: dict[str, pd.DataFrame] = {}
    main = votes
    if round_col in votes.columns and votes[round_col].notna().any():
        present = [r for r in ROUND_ORDER if r in set(votes[round_col].astype(str))]
        if present:
            main = votes.loc[votes[round_col].astype(str) == present[-1]]
    all_props = sorted(set(votes["proposal"]) | (
        set(proposals[find_column(proposals, None, PROPOSAL_ALIASES, "proposal")].astype(str))
        if proposals is not None else set()))
    analysis = _polis.analyse(main, mode=mode, seed=seed, level=level, proposals=all_props)
    result["statements"] = analysis.statements
    result["groups"] = analysis.participants
    result["group_votes"] = analysis.group_votes
    result["repness"] = analysis.repness
    if mode == "kit":
        result["group_stability"] = analysis.stability
    for col in ([group_by] if isinstance(group_by, str) else list(group_by or [])):
        c = vote_counts(main, group=col, proposals=all_props)
        result[f"by_{col}"] = group_consensus(c, level=level, seed=seed)
    if tallies is not None:
        tg = tally_group if tally_group in tallies.columns else None
        result["tallies"] = group_consensus(tally_counts(tallies, group=tg), level=level,
                                            seed=seed)
    traj_group = ([group_by] if isinstance(group_by, str) else list(group_by or [None]))[0]
    parts = []
    if round_col in votes.columns and votes[round_col].notna().any():
        for r, sub in votes.groupby(votes[round_col].astype(str)):
            c = vote_counts(sub, group=traj_group)
            c["group"] = "votes:" + c["group"]
            c[round_col] = r
            parts.append(c)
    if tallies is not None and round_col in tallies.columns:
        tg = tally_group if tally_group in tallies.columns else None
        for r, sub in tallies.groupby(tallies[round_col].astype(str)):
            c = tally_counts(sub, group=tg)
            c["group"] = "tally:" + c["group"]
            c[round_col] = r
            parts.append(c)
    if parts:
        allc = pd.concat(parts, ignore_index=True)
        if allc[round_col].nunique() > 1:
            result["trajectory"] = consensus_trajectory(allc, round_col=round_col, seed=seed,
                                                        level=level)
    if proposals is not None:
        result["agenda"] = _agenda.build_agenda(result["statements"], proposals,
                                                min_gic=min_gic, min_votes=min_votes)
    return result
