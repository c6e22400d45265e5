"""The Local Development Agenda: ranked proposals with consensus, owner and horizon.

:func:`build_agenda` joins a consensus table (one row per proposal, from
:func:`territoria.analysis.consensus.group_consensus` or
:func:`territoria.analysis.consensus.territory_consensus`) with the proposals (axis, title)
and ranks them by group-informed consensus. Each item carries its consensus interval, the
responsible department and a horizon (short / medium / long). Divisive proposals stay in the
agenda but are marked for a mediation round. An item is an *agreed priority* only when it passes
the kit's consensus rule (:func:`is_agreed`: consensus of at least ``min_gic``, the city's
``city.yml: agenda.agreed_min_consensus``, default :data:`AGREED_MIN_GIC`, and every opinion
group leaning to agree); the others are proposed priorities without enough consensus. With
``min_votes`` (the city's ``min_cell_size``), an item fewer people voted on is not judged: its
score is withheld and its status says there are not enough votes (``few_votes``).
:func:`agenda_to_csv` writes the agenda for
departments; the version a report shows, with labels, is step 03's (``steps.s03_agenda``).

Examples
--------
>>> import pandas as pd
>>> st = pd.DataFrame({"proposal": ["P1", "P2", "P3"], "gic": [0.41, 0.72, 0.13],
...                    "gic_low": [0.30, 0.60, 0.07], "gic_high": [0.52, 0.80, 0.19],
...                    "n_votes": [40, 38, 74], "divisive": [True, False, False]})
>>> pr = pd.DataFrame({"proposal_code": ["P1", "P2", "P3"],
...                    "axis": ["security", "water", "water"],
...                    "title": ["Luminarias en la calle 5", "Reparar fugas", "Pipas"]})
>>> owners = {"water": "water_utility", "security": "security"}  # city.yml axes[].department
>>> ag = build_agenda(st, pr, departments=owners)
>>> ag[["rank", "proposal", "department", "horizon", "status"]].values.tolist()
[[1, 'P2', 'water_utility', 'long', 'priority'], [2, 'P1', 'security', 'short', 'mediation'], [3, 'P3', 'water_utility', 'long', 'no_consensus']]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from territoria.config import DEFAULT_AGREED_MIN_CONSENSUS
from territoria.exceptions import AnalysisError, DataError

HORIZONS = ("short", "medium", "long")

#: Starting-point horizon per axis, to be revised by the planning collective with the
#: departments: quick works (lighting, patrols, repairs) are short; networks and transport
#: infrastructure are long. A ``horizon`` column in the proposals, or the ``horizons``
#: argument, overrides it.
DEFAULT_HORIZON_BY_AXIS = {
    "security": "short", "services": "short", "water": "long", "health": "medium",
    "education_culture": "medium", "economy": "medium", "environment": "medium",
    "mobility": "long",
}

#: The kit's consensus rule (methodology/03_agenda.md): an agenda item is an *agreed priority*
#: when its group-informed consensus (0 to 1) is at least the threshold -- by default this
#: value, in the typical opinion group at least half effectively agree; a city sets its own in
#: ``city.yml: agenda.agreed_min_consensus`` -- and every opinion group leans to agree (more
#: agree than disagree votes, posterior means with the Jeffreys prior), and it is not divisive.
AGREED_MIN_GIC = DEFAULT_AGREED_MIN_CONSENSUS

#: Agenda statuses: agreed priority, proposed priority without enough consensus, divisive (to
#: a mediation round), too few votes to judge (score withheld), no votes yet.
STATUSES = ("priority", "no_consensus", "mediation", "few_votes", "no_votes")

AGENDA_COLUMNS = ["rank", "proposal", "title", "axis", "rank_in_axis", "gic", "gic_low",
                  "gic_high", "n_votes", "divisive", "department", "horizon", "status"]


def is_agreed(gic: ArrayLike, net_min: ArrayLike | None = None, divisive: ArrayLike = False,
              min_gic: float = AGREED_MIN_GIC) -> np.ndarray:
    """Whether an agenda item passes the consensus rule (see :data:`AGREED_MIN_GIC`).

    Parameters
    ----------
    gic : float or array-like
        Group-informed consensus (NaN: nobody voted).
    net_min : float or array-like, optional
        Lowest net support ``p_a - p_d`` across opinion groups (``net_min`` of
        :func:`territoria.analysis.consensus.group_consensus`); when not given only the
        consensus threshold applies.
    divisive : bool or array-like
        Divisive items never pass (they go to a mediation round).
    min_gic : float
        Consensus threshold.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> is_agreed([0.67, 0.13, 0.56, 0.60, float("nan")], [0.6, -0.1, 0.4, -0.2, 0.0]).tolist()
    [True, False, True, False, False]
    """
    g = pd.to_numeric(pd.Series(np.atleast_1d(gic)), errors="coerce").to_numpy(float)
    ok = np.nan_to_num(g, nan=-1.0) >= min_gic
    if net_min is not None:
        nm = pd.to_numeric(pd.Series(np.atleast_1d(net_min)), errors="coerce").to_numpy(float)
        ok &= np.nan_to_num(nm, nan=1.0) > 0  # no group information: the threshold decides
    return np.asarray(ok & ~np.broadcast_to(np.asarray(divisive, dtype=bool), ok.shape))


def build_agenda(statements: pd.DataFrame, proposals: pd.DataFrame, *, score: str = "gic",
                 departments: Mapping[str, str] | None = None,
                 horizons: Mapping[str, str] | None = None,
                 top: int | None = None, min_gic: float = AGREED_MIN_GIC,
                 min_votes: int | None = None) -> pd.DataFrame:
    """Rank proposals into the Local Development Agenda.

    Parameters
    ----------
    statements : DataFrame
        One row per proposal: ``proposal``, ``score`` (default ``gic``), ``<score>_low``,
        ``<score>_high``, optionally ``n_votes`` and ``divisive``.
    proposals : DataFrame
        ``proposal_code`` (or ``proposal``), ``axis``, optionally ``title``, ``department``,
        ``horizon`` (short/medium/long).
    score : str
        Column to rank by (descending); ties by the lower interval bound, then id.
    departments : mapping axis -> department id, optional
        The department that answers each axis where the proposals name none: the city's
        ``axes[].department`` (:meth:`territoria.config.CityConfig.axis_department`).
        Without it, such proposals have no department (``None``).
    horizons : mapping axis -> horizon, optional
        Override :data:`DEFAULT_HORIZON_BY_AXIS` where the proposals have no value.
    top : int, optional
        Keep only the first ``top`` items.
    min_gic : float
        Consensus threshold of the rule (:func:`is_agreed`; ``city.yml:
        agenda.agreed_min_consensus``).
    min_votes : int, optional
        Least votes for an item to be judged (``city.yml: min_cell_size``): an item with
        fewer has its ``gic``, ``gic_low`` and ``gic_high`` withheld (missing) and the status
        ``few_votes``, and goes last with the unvoted ones, so neither its score nor its place
        tells anything. Needs an ``n_votes`` column.

    Returns
    -------
    DataFrame
        ``rank, proposal, title, axis, rank_in_axis, gic, gic_low, gic_high, n_votes,
        divisive, department, horizon, status`` (``status``: ``priority`` when the item
        passes the consensus rule of :func:`is_agreed`, ``mediation`` when divisive,
        ``no_consensus`` otherwise, ``few_votes`` when fewer than ``min_votes`` people voted,
        ``no_votes`` when nobody voted). Proposals without a score go last, by id.

    Raises
    ------
    DataError
        Missing columns or a horizon other than short/medium/long.

    Examples
    --------
    >>> st = pd.DataFrame({"proposal": ["P1", "P2"], "gic": [0.9, 0.6], "n_votes": [3, 40]})
    >>> pr = pd.DataFrame({"proposal_code": ["P1", "P2"], "axis": ["water", "water"]})
    >>> build_agenda(st, pr, min_votes=5)[["rank", "proposal", "gic", "status"]].values.tolist()
    [[1, 'P2', 0.6, 'priority'], [2, 'P1', nan, 'few_votes']]
    """
    if score not in statements.columns or "proposal" not in statements.columns:
        raise DataError(f"the consensus table needs 'proposal' and '{score}' columns",
                        column=score)
    if min_votes is not None and "n_votes" not in statements.columns:
        raise DataError("the consensus table needs an 'n_votes' column to withhold the items "
                        "few people voted on", column="n_votes")
    pcol = next((c for c in ("proposal_code", "proposal") if c in proposals.columns), None)
    if pcol is None:
        raise DataError("proposals need a 'proposal_code' column", column="proposal_code")
    if "axis" not in proposals.columns:
        raise DataError("proposals need an 'axis' column", column="axis")
    pr = proposals.rename(columns={pcol: "proposal"}).copy()
    pr["proposal"] = pr["proposal"].astype(str)
    pr = pr.drop_duplicates("proposal", keep="last")
    keep = ["proposal", "axis"] + [c for c in ("title", "department", "horizon")
                                   if c in pr.columns]
    st = statements.copy()
    st["proposal"] = st["proposal"].astype(str)
    cols = ["proposal", score] + [c for c in (f"{score}_low", f"{score}_high", "n_votes",
                                              "divisive", "net_min") if c in st.columns]
    ag = pr[keep].merge(st[cols], on="proposal", how="left")
    ag = ag.rename(columns={score: "gic", f"{score}_low": "gic_low",
                            f"{score}_high": "gic_high"})
    for c in ("gic_low", "gic_high"):
        if c not in ag.columns:
            ag[c] = np.nan
    if "n_votes" not in ag.columns:
        ag["n_votes"] = pd.NA
    ag["divisive"] = ag.get("divisive", pd.Series(False, index=ag.index)).fillna(False
                                                                                ).astype(bool)
    if "title" not in ag.columns:
        ag["title"] = ""
    dep_map = dict(departments or {})
    hor_map = {**DEFAULT_HORIZON_BY_AXIS, **(horizons or {})}
    dep = ag["department"] if "department" in ag.columns else pd.Series(np.nan, ag.index)
    hor = ag["horizon"] if "horizon" in ag.columns else pd.Series(np.nan, ag.index)
    ag["department"] = dep.where(dep.notna() & (dep.astype(str) != ""),
                                 ag["axis"].map(dep_map))
    ag["horizon"] = hor.where(hor.notna() & (hor.astype(str) != ""), ag["axis"].map(hor_map))
    bad = ag["horizon"].notna() & ~ag["horizon"].isin(HORIZONS)
    if bad.any():
        raise DataError(f"horizon '{ag.loc[bad, 'horizon'].iloc[0]}' is not valid",
                        column="horizon", rule="short, medium or long")
    novote = ag["gic"].isna()
    few = np.zeros(len(ag), dtype=bool)
    if min_votes is not None:  # too few votes to judge: no score, no place among the scored
        n = pd.to_numeric(ag["n_votes"], errors="coerce").fillna(0).to_numpy(float)
        few = ~novote.to_numpy() & (n < min_votes)
        ag.loc[few, ["gic", "gic_low", "gic_high"]] = np.nan
    agreed = is_agreed(ag["gic"], ag["net_min"] if "net_min" in ag.columns else None,
                       ag["divisive"].to_numpy(), min_gic=min_gic)
    ag["status"] = np.where(novote, "no_votes", np.where(few, "few_votes", np.where(
        ag["divisive"], "mediation", np.where(agreed, "priority", "no_consensus"))))
    ag = ag.sort_values(["gic", "gic_low", "proposal"], ascending=[False, False, True],
                        na_position="last").reset_index(drop=True)
    ag["rank"] = np.arange(1, len(ag) + 1)
    ag["rank_in_axis"] = ag.groupby("axis", dropna=False).cumcount() + 1
    if top is not None:
        if top < 1:
            raise AnalysisError(f"top must be >= 1, got {top}")
        ag = ag.head(top)
    return ag[AGENDA_COLUMNS]


def agenda_to_csv(agenda: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the agenda to CSV (UTF-8) with machine codes and ids as column names, for the
    departments (the labelled version a report shows is step 03's ``agenda_table``).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> ag = pd.DataFrame({c: [] for c in AGENDA_COLUMNS})
    >>> p = agenda_to_csv(ag, os.path.join(tempfile.mkdtemp(), "agenda.csv"))
    >>> p.read_text().splitlines()[0].split(",")[:3]
    ['rank', 'proposal', 'title']
    """
    missing = [c for c in AGENDA_COLUMNS if c not in agenda.columns]
    if missing:
        raise DataError(f"agenda lacks column '{missing[0]}'", column=missing[0],
                        rule="make it with build_agenda")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out = agenda[AGENDA_COLUMNS]
    from territoria.safe_export import neutralise_frame  # no cell runs as a formula

    neutralise_frame(out).to_csv(target, index=False, encoding="utf-8", float_format="%.4f")
    return target
