"""Follow-up of agreements (step 04): which promises are kept, late or broken, and by whom.

Pure functions on DataFrames. Most take ``state``, the output of
:func:`territoria.ledger.model.state_as_of` (one row per agreement on a date, with its ``as_of``
column), so every figure refers to one explicit date.

Definitions (fixed; see :mod:`territoria.ledger.model` for the statuses):

- *committed*: status ``agreed``, ``in_progress`` or ``done`` on the date. ``proposed`` and
  ``negotiating`` are not yet promises; ``rejected`` was never one; ``cancelled`` is reported
  apart (``n_cancelled``) and is not in the denominators.
- *fulfilment rate* = done / committed.
- *overdue*: ``agreed`` or ``in_progress`` and ``due_date < as_of`` (due today is not overdue).
- *on-time rate*: among committed agreements with a due date whose outcome is known on the
  date (done, or due date already passed), the share done on or before the due date. An open
  agreement due today or later is not counted yet. A reopened agreement is not done.
- *time to fulfilment*: days from ``committed_date`` to ``done_date``; agreements still open are
  censored on ``as_of``, cancelled ones on the day they were cancelled (Kaplan-Meier).

Examples
--------
>>> import pandas as pd
>>> from territoria.ledger.model import state_as_of
>>> ag = pd.DataFrame({"agreement_id": ["A", "B", "C"], "department": ["water_utility"] * 3,
...                    "committed_date": ["2024-01-01"] * 3,
...                    "due_date": ["2024-02-01", "2024-03-01", "2024-06-01"]})
>>> up = pd.DataFrame({"agreement_id": ["A", "B", "C", "A"],
...                    "update_date": ["2024-01-01"] * 3 + ["2024-01-20"],
...                    "status": ["agreed"] * 3 + ["done"]})
>>> st = state_as_of(ag, up, "2024-04-01")
>>> fulfilment_rate(st)[["k", "n", "rate"]].round(3).to_dict("records")
[{'k': 1, 'n': 3, 'rate': 0.333}]
>>> overdue(st)[["agreement_id", "days_overdue"]].to_dict("records")
[{'agreement_id': 'B', 'days_overdue': 31}]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from territoria.exceptions import AnalysisError
from territoria.ledger.model import COMMITTED, COMMITTED_OPEN, is_missing

_METHODS = ("wilson", "jeffreys")


# -- intervals ----------------------------------------------------------------------------
def proportion_ci(k, n, method: str = "wilson", alpha: float = 0.05):
    """Confidence interval of a binomial proportion k/n.

    Parameters
    ----------
    k, n : int or array-like
        Successes and trials (``n = 0`` gives NaN).
    method : {"wilson", "jeffreys"}
        Wilson score interval without continuity correction (Newcombe 1998, method 3), or the
        equal-tailed Jeffreys interval Beta(k+1/2, n-k+1/2) with lower bound 0 when k = 0 and
        upper bound 1 when k = n (Brown, Cai & DasGupta 2001).
    alpha : float

    Returns
    -------
    (low, high) : arrays of float

    References
    ----------
    Newcombe RG (1998). Two-sided confidence intervals for the single proportion. Stat Med 17.
    Brown LD, Cai TT, DasGupta A (2001). Interval estimation for a binomial proportion. Stat Sci 16.

    Examples
    --------
    >>> lo, hi = proportion_ci(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    if method not in _METHODS:
        raise AnalysisError(f"unknown interval method '{method}' (allowed: {', '.join(_METHODS)})")
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = stats.norm.ppf(1 - alpha / 2)
            p = k / n
            centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
            half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
            lo, hi = centre - half, centre + half
            lo = np.where(k == 0, 0.0, lo)
            hi = np.where(k == n, 1.0, hi)
        else:
            lo = stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5)
            hi = stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5)
            lo = np.where(k == 0, 0.0, lo)
            hi = np.where(k == n, 1.0, hi)
        lo = np.where(n > 0, lo, np.nan)
        hi = np.where(n > 0, hi, np.nan)
    return lo, hi


def _need(state: pd.DataFrame, cols) -> None:
    miss = [c for c in cols if c not in state.columns]
    if miss:
        raise AnalysisError(f"state has no column '{miss[0]}'; build it with "
                            "territoria.ledger.model.state_as_of")


def _as_of(state: pd.DataFrame) -> pd.Timestamp:
    _need(state, ["as_of"])
    if state.empty:
        return pd.NaT
    vals = pd.to_datetime(state["as_of"]).unique()
    if len(vals) != 1:
        raise AnalysisError("state mixes several as_of dates; compute one date at a time")
    return pd.Timestamp(vals[0])


def _groups(state: pd.DataFrame, by):
    if by is None:
        return [((), state)]
    by = [by] if isinstance(by, str) else list(by)
    _need(state, by)
    return [((k if isinstance(k, tuple) else (k,)), g)
            for k, g in state.groupby(by, sort=True, dropna=False)]


def _rate_table(rows, by, method, alpha):
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=by + ["n", "k", "rate", "ci_low", "ci_high"])
    lo, hi = proportion_ci(out["k"], out["n"], method, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = np.where(out["n"] > 0, out["k"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = method
    return out


# -- indicators ----------------------------------------------------------------------------
def fulfilment_rate(state: pd.DataFrame, by=None, method: str = "wilson",
                    alpha: float = 0.05) -> pd.DataFrame:
    """Share of committed agreements that are done on the state's date.

    Parameters
    ----------
    state : DataFrame
        From :func:`territoria.ledger.model.state_as_of`.
    by : str or list, optional
        Grouping columns (e.g. ``"department"``, ``"territory_id"``).
    method : {"wilson", "jeffreys"}
    alpha : float

    Returns
    -------
    DataFrame
        ``by`` columns, ``n`` committed (agreed, in_progress, done), ``k`` done, ``rate``,
        ``ci_low``, ``ci_high``, ``method``, ``n_cancelled`` (not in ``n``), ``n_pending``
        (proposed/negotiating, not in ``n``), ``as_of``.
    """
    _need(state, ["status"])
    as_of = _as_of(state)
    rows = []
    for key, g in _groups(state, by):
        rec = dict(zip([by] if isinstance(by, str) else (by or []), key, strict=False))
        st = g["status"]
        rec.update({"n": int(st.isin(COMMITTED).sum()), "k": int((st == "done").sum()),
                    "n_cancelled": int((st == "cancelled").sum()),
                    "n_pending": int(st.isin(("proposed", "negotiating")).sum())})
        rows.append(rec)
    out = _rate_table(rows, by, method, alpha)
    out["as_of"] = as_of
    return out


def _on_time_flags(state: pd.DataFrame) -> pd.DataFrame:
    """Per committed agreement with a due date: known (bool), on_time (bool)."""
    as_of = _as_of(state)
    s = state[state["status"].isin(COMMITTED)].copy()
    s = s[s["due_date"].notna()]
    due = pd.to_datetime(s["due_date"])
    done = s["status"] == "done"
    s["known"] = done | (due < as_of)
    s["on_time"] = done & (pd.to_datetime(s["done_date"]) <= due)
    return s


def on_time_rate(state: pd.DataFrame, by=None, method: str = "wilson",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Share of agreements fulfilled by their due date, among those whose outcome is known.

    Returns
    -------
    DataFrame
        ``by`` columns, ``n`` (done, or open with the due date passed), ``k`` (done on or
        before the due date), ``rate``, ``ci_low``, ``ci_high``, ``method``, ``n_not_yet_due``
        (open, due today or later: not counted), ``n_no_due_date``, ``as_of``.
    """
    _need(state, ["status", "due_date", "done_date"])
    as_of = _as_of(state)
    rows = []
    for key, g in _groups(state, by):
        rec = dict(zip([by] if isinstance(by, str) else (by or []), key, strict=False))
        f = _on_time_flags(g)
        rec.update({"n": int(f["known"].sum()), "k": int((f["known"] & f["on_time"]).sum()),
                    "n_not_yet_due": int((~f["known"]).sum()),
                    "n_no_due_date": int((g["status"].isin(COMMITTED)
                                          & g["due_date"].isna()).sum())})
        rows.append(rec)
    out = _rate_table(rows, by, method, alpha)
    out["as_of"] = as_of
    return out


def overdue(state: pd.DataFrame) -> pd.DataFrame:
    """Agreements overdue on the state's date (agreed/in progress, due date before it).

    Returns
    -------
    DataFrame
        The state's rows that are overdue plus ``days_overdue`` (as_of - due_date, in days),
        sorted by most overdue first.
    """
    _need(state, ["status", "due_date"])
    as_of = _as_of(state)
    s = state[state["status"].isin(COMMITTED_OPEN) & state["due_date"].notna()].copy()
    s = s[pd.to_datetime(s["due_date"]) < as_of]
    s["days_overdue"] = (as_of - pd.to_datetime(s["due_date"])).dt.days.astype("int64")
    return s.sort_values(["days_overdue", "agreement_id"], ascending=[False, True]).reset_index(
        drop=True)


def fulfilment_durations(state: pd.DataFrame) -> pd.DataFrame:
    """Durations for survival analysis: one row per committed (or cancelled) agreement.

    Returns
    -------
    DataFrame
        ``agreement_id``, ``department``, ``days`` (committed date to done date, or to the
        censoring date), ``event`` (1 done, 0 censored). Agreements without a committed date,
        still proposed/negotiating, or rejected are left out.
    """
    _need(state, ["status", "committed_date", "done_date", "status_since"])
    as_of = _as_of(state)
    s = state[state["status"].isin(COMMITTED + ("cancelled",))
              & state["committed_date"].notna()].copy()
    start = pd.to_datetime(s["committed_date"])
    end = pd.Series(as_of, index=s.index)
    end = end.where(s["status"] != "done", pd.to_datetime(s["done_date"]))
    end = end.where(s["status"] != "cancelled", pd.to_datetime(s["status_since"]))
    s["days"] = (end - start).dt.days.clip(lower=0).astype(float)
    s["event"] = (s["status"] == "done").astype(int)
    cols = ["agreement_id"] + (["department"] if "department" in s.columns else []) + [
        "days", "event"]
    return s[cols].reset_index(drop=True)


def time_to_fulfilment(state: pd.DataFrame, by: str | None = "department",
                       alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier time to fulfilment (days), by department.

    Open agreements are censored on the state's date; cancelled ones on their cancellation
    date. Estimation uses ``statsmodels.duration.survfunc.SurvfuncRight`` (Greenwood standard
    errors; median CI by the method of Brookmeyer & Crowley with the log-log transform).

    Returns
    -------
    summary : DataFrame
        ``by``, ``n``, ``events``, ``censored``, ``median_days`` (NaN when fewer than half were
        fulfilled), ``median_ci_low``, ``median_ci_high`` (inf when unbounded).
    curve : DataFrame
        ``by``, ``days`` (event times), ``n_risk``, ``n_events``, ``surv`` (share not yet
        fulfilled), ``se``, ``share_fulfilled`` (1 - surv), ``ci_low``, ``ci_high`` (pointwise
        log-log CI of ``share_fulfilled``).
    """
    d = fulfilment_durations(state)
    groups = [((), d)] if by is None else [((k,), g) for k, g in d.groupby(by, sort=True)]
    summ, curves = [], []
    z = stats.norm.ppf(1 - alpha / 2)
    for key, g in groups:
        rec = {} if by is None else {by: key[0]}
        n, ev = len(g), int(g["event"].sum())
        rec.update({"n": n, "events": ev, "censored": n - ev})
        if n == 0:
            continue
        if ev == 0:
            rec.update({"median_days": np.nan, "median_ci_low": np.nan,
                        "median_ci_high": np.inf})
            summ.append(rec)
            continue
        sf = SurvfuncRight(g["days"].to_numpy(float), g["event"].to_numpy(int))
        med = sf.quantile(0.5)
        try:
            lo, hi = sf.quantile_ci(0.5, alpha=alpha)
        except (ValueError, ZeroDivisionError):  # pragma: no cover - degenerate curves
            lo, hi = np.nan, np.inf
        rec.update({"median_days": float(med) if med is not None and np.isfinite(med) and
                    sf.surv_prob.min() <= 0.5 else np.nan,
                    "median_ci_low": float(lo), "median_ci_high": float(hi)})
        summ.append(rec)
        s, se = sf.surv_prob, sf.surv_prob_se
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.log(-np.log(s))
            sell = se / (s * np.abs(np.log(s)))
            s_hi = np.exp(-np.exp(ll - z * sell))
            s_lo = np.exp(-np.exp(ll + z * sell))
        c = pd.DataFrame({"days": sf.surv_times, "n_risk": sf.n_risk.astype(int),
                          "n_events": sf.n_events.astype(int), "surv": s, "se": se,
                          "share_fulfilled": 1 - s, "ci_low": 1 - s_hi, "ci_high": 1 - s_lo})
        if by is not None:
            c.insert(0, by, key[0])
        curves.append(c)
    summary = pd.DataFrame(summ)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=([by] if by else []) + ["days", "n_risk", "n_events", "surv", "se",
                                        "share_fulfilled", "ci_low", "ci_high"])
    return summary, curve


def promise_keeping(state: pd.DataFrame, by: str = "department", method: str = "wilson",
                    alpha: float = 0.05) -> pd.DataFrame:
    """Promise-keeping table: per group, commitments, fulfilment and punctuality with intervals.

    Returns
    -------
    DataFrame
        ``by``, ``n_committed``, ``n_done``, ``fulfilment``, ``fulfilment_ci_low``,
        ``fulfilment_ci_high``, ``n_known``, ``n_on_time``, ``on_time``, ``on_time_ci_low``,
        ``on_time_ci_high``, ``n_overdue``, ``n_in_progress``, ``n_cancelled``, ``n_rejected``,
        ``method``, ``as_of``; sorted by fulfilment (lowest first).
    """
    f = fulfilment_rate(state, by=by, method=method, alpha=alpha)
    t = on_time_rate(state, by=by, method=method, alpha=alpha)
    f = f.rename(columns={"n": "n_committed", "k": "n_done", "rate": "fulfilment",
                          "ci_low": "fulfilment_ci_low", "ci_high": "fulfilment_ci_high"})
    t = t.rename(columns={"n": "n_known", "k": "n_on_time", "rate": "on_time",
                          "ci_low": "on_time_ci_low", "ci_high": "on_time_ci_high"})
    out = f.drop(columns=["n_pending"]).merge(
        t[[by, "n_known", "n_on_time", "on_time", "on_time_ci_low", "on_time_ci_high"]],
        on=by, how="left")
    od = overdue(state)
    out["n_overdue"] = out[by].map(od[by].value_counts()).fillna(0).astype(int)
    counts = state.groupby(by)["status"]
    out["n_in_progress"] = out[by].map(counts.apply(lambda s: int((s == "in_progress").sum())))
    out["n_rejected"] = out[by].map(counts.apply(lambda s: int((s == "rejected").sum())))
    cols = [by, "n_committed", "n_done", "fulfilment", "fulfilment_ci_low", "fulfilment_ci_high",
            "n_known", "n_on_time", "on_time", "on_time_ci_low", "on_time_ci_high", "n_overdue",
            "n_in_progress", "n_cancelled", "n_rejected", "method", "as_of"]
    return out[cols].sort_values(["fulfilment", by], na_position="last").reset_index(drop=True)


def rollup_progress(state: pd.DataFrame) -> pd.DataFrame:
    """Progress of each parent agreement rolled up from its children, with published weights.

    The rolled-up progress is ``sum(w_i p_i) / sum(w_i)`` over the children *with* reported
    progress; children without progress are left out (not counted as 0, unlike Decidim) and
    ``n_excluded`` and ``excluded_ids`` say which (a page that publishes the roll-up says so). Weights are the children's ``weight``; when no child has one, every child
    weighs 1. A child that itself has children contributes its own rolled-up progress. Parents
    keep their own reported progress in ``reported_progress``.

    Returns
    -------
    DataFrame
        ``parent_id``, ``progress`` (NaN when no child has progress), ``reported_progress``,
        ``n_children``, ``n_included``, ``n_excluded``, ``excluded_ids`` (';'), ``weights``
        (published normalised weights ``id=w`` of the included children, ';').

    Raises
    ------
    AnalysisError
        When some children of a parent have a weight and others do not.

    Examples
    --------
    >>> import pandas as pd
    >>> st = pd.DataFrame({"agreement_id": ["P", "a", "b", "c"], "parent_id": [None, "P", "P", "P"],
    ...                    "weight": [None, 0.5, 0.3, 0.2], "progress": [None, 100.0, 50.0, None]})
    >>> r = rollup_progress(st)
    >>> r[["progress", "n_excluded", "weights"]].to_dict("records")
    [{'progress': 81.25, 'n_excluded': 1, 'weights': 'a=0.625; b=0.375'}]
    """
    _need(state, ["agreement_id", "parent_id", "progress"])
    s = state.copy()
    if "weight" not in s.columns:
        s["weight"] = np.nan
    s["agreement_id"] = s["agreement_id"].astype(str)
    kids: dict[str, list[dict]] = {}
    for rec in s.to_dict("records"):
        if not is_missing(rec["parent_id"]):
            kids.setdefault(str(rec["parent_id"]), []).append(rec)
    own = dict(zip(s["agreement_id"], s["progress"].astype(float), strict=True))
    memo: dict[str, dict] = {}

    def solve(pid: str, trail: tuple = ()) -> dict:
        if pid in memo:
            return memo[pid]
        if pid in trail:
            raise AnalysisError(f"agreement '{pid}' is its own ancestor (parent_id cycle)")
        ch = kids[pid]
        has_w = [not is_missing(c["weight"]) for c in ch]
        if any(has_w) and not all(has_w):
            raise AnalysisError(f"parent '{pid}': some children have a weight and others do "
                                "not; publish a weight for every child")
        inc, exc = [], []
        for c in ch:
            cid = c["agreement_id"]
            p = solve(cid, trail + (pid,))["progress"] if cid in kids else own.get(cid, np.nan)
            if p is None or np.isnan(p):
                exc.append(cid)
            else:
                inc.append((cid, float(c["weight"]) if all(has_w) else 1.0, p))
        wsum = sum(w for _, w, _ in inc)
        prog = sum(w * p for _, w, p in inc) / wsum if inc and wsum > 0 else np.nan
        memo[pid] = {"parent_id": pid, "progress": prog,
                     "reported_progress": own.get(pid, np.nan), "n_children": len(ch),
                     "n_included": len(inc), "n_excluded": len(exc),
                     "excluded_ids": ";".join(exc),
                     "weights": "; ".join(f"{cid}={w / wsum:.4g}" for cid, w, _ in inc)
                     if wsum > 0 else ""}
        return memo[pid]

    rows = [solve(pid) for pid in sorted(kids)]
    cols = ["parent_id", "progress", "reported_progress", "n_children", "n_included",
            "n_excluded", "excluded_ids", "weights"]
    return pd.DataFrame(rows, columns=cols)


# -- traceability --------------------------------------------------------------------------
def _terr_col(df: pd.DataFrame) -> str | None:
    return next((c for c in ("territory_id", "territory") if c in df.columns), None)


def traceability(state: pd.DataFrame, updates: pd.DataFrame, proposals: pd.DataFrame,
                 agenda: pd.DataFrame, territory_id: str,
                 problems: pd.DataFrame | None = None,
                 outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The chain problem (axis) -> proposal -> agenda item -> agreement -> update -> outcome.

    Parameters
    ----------
    state : DataFrame
        Agreements' state (``agreement_id, proposal_code, territory_id, status, progress``...).
    updates : DataFrame
        ``agreement_updates`` rows (counted up to the state's date).
    proposals : DataFrame
        ``proposal_code, axis`` (+ ``territory``/``territory_id``, ``title``).
    agenda : DataFrame
        Agenda items: ``proposal_code, rank`` (1 = top priority) (+ territory column).
    territory_id : str
    problems : DataFrame, optional
        The diagnostic's problems: ``axis`` and ``problem_rank`` (or ``rank``).
    outcomes : DataFrame, optional
        Outcome indicators: ``axis, indicator, value`` (+ territory column).

    Returns
    -------
    DataFrame
        One row per link of the chain: ``axis, problem_rank, proposal_code, agenda_rank,
        agreement_id, status, progress, n_updates, last_update_date, n_evidence, indicator,
        indicator_value``. Items with no next link keep empty cells (a gap in the chain).
    """
    as_of = _as_of(state) if len(state) else pd.NaT

    def only(df):
        if df is None:
            return None
        c = _terr_col(df)
        return df[df[c].astype(str) == str(territory_id)].copy() if c else df.copy()

    st, pr, ag = only(state), only(proposals), only(agenda)
    _need(pr, ["proposal_code", "axis"])
    _need(ag, ["proposal_code", "rank"])
    up = updates.copy()
    up["update_date"] = pd.to_datetime(up["update_date"])
    if not pd.isna(as_of):
        up = up[up["update_date"] <= as_of]
    chain = pr[["proposal_code", "axis"]].merge(
        ag[["proposal_code", "rank"]].rename(columns={"rank": "agenda_rank"}),
        on="proposal_code", how="left")
    if problems is not None:
        pb = only(problems)
        rcol = "problem_rank" if "problem_rank" in pb.columns else "rank"
        chain = chain.merge(pb[["axis", rcol]].rename(columns={rcol: "problem_rank"}),
                            on="axis", how="left")
    else:
        chain["problem_rank"] = np.nan
    if "proposal_code" not in st.columns:
        st["proposal_code"] = None
    keep = ["agreement_id", "proposal_code", "status", "progress", "last_update_date",
            "n_evidence"]
    chain = chain.merge(st[keep], on="proposal_code", how="left")
    nup = up.groupby("agreement_id").size()
    chain["n_updates"] = chain["agreement_id"].map(nup).fillna(0).astype(int)
    if outcomes is not None:
        oc = only(outcomes)
        chain = chain.merge(oc[["axis", "indicator", "value"]].rename(
            columns={"value": "indicator_value"}), on="axis", how="left")
    else:
        chain["indicator"] = None
        chain["indicator_value"] = np.nan
    cols = ["axis", "problem_rank", "proposal_code", "agenda_rank", "agreement_id", "status",
            "progress", "n_updates", "last_update_date", "n_evidence", "indicator",
            "indicator_value"]
    return chain[cols].sort_values(["agenda_rank", "proposal_code"], na_position="last").reset_index(
        drop=True)


def traceability_coverage(state: pd.DataFrame, agenda: pd.DataFrame, territory_id: str,
                          top: int = 10, method: str = "wilson",
                          alpha: float = 0.05) -> pd.DataFrame:
    """Coverage figures of the traceability chain for one territory.

    Returns
    -------
    DataFrame
        One row per figure (``name``): ``top_agenda_with_agreement`` (share of the top-``top``
        agenda items with a signed agreement: an agreement linked by ``proposal_code`` whose
        status is agreed, in_progress or done), ``agreements_with_evidence`` (share of
        agreements with at least one evidence link), ``agreements_linked_to_proposal``;
        columns ``name, k, n, value, ci_low, ci_high, method, as_of``.
    """
    as_of = _as_of(state) if len(state) else pd.NaT
    tc = _terr_col(state)
    st = state[state[tc].astype(str) == str(territory_id)] if tc else state
    ac = _terr_col(agenda)
    ag = agenda[agenda[ac].astype(str) == str(territory_id)] if ac else agenda
    _need(ag, ["proposal_code", "rank"])
    topn = ag.sort_values("rank").head(top)
    pcol = st["proposal_code"] if "proposal_code" in st.columns else pd.Series(dtype=object)
    signed = set(pcol[st["status"].isin(COMMITTED)].dropna().astype(str))
    rows = [
        {"name": "top_agenda_with_agreement", "n": len(topn),
         "k": int(topn["proposal_code"].astype(str).isin(signed).sum())},
        {"name": "agreements_with_evidence", "n": len(st),
         "k": int((st["n_evidence"] > 0).sum()) if "n_evidence" in st.columns else 0},
        {"name": "agreements_linked_to_proposal", "n": len(st),
         "k": int(pcol.notna().sum() - (pcol.astype(str).str.strip() == "").sum())},
    ]
    out = pd.DataFrame(rows)
    lo, hi = proportion_ci(out["k"], out["n"], method, alpha)
    out["value"] = np.where(out["n"] > 0, out["k"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = method
    out["as_of"] = as_of
    return out[["name", "k", "n", "value", "ci_low", "ci_high", "method", "as_of"]]
