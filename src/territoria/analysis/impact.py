"""Impact evaluation with staggered adoption: Callaway & Sant'Anna ATT(g,t) and TWFE.

Territories joined the programme in cohorts (the *cohort* of a territory is the first exposed
period; 0 or empty means never treated). Two-way fixed effects (TWFE) is given for reference
only: with effects that vary across cohorts or over time it is biased (Goodman-Bacon 2021).
The headline estimator is the group-time average treatment effect of Callaway & Sant'Anna
(2021), with never-treated or not-yet-treated controls, aggregated into a simple ATT, one ATT
per cohort and an event study (with pre-trend estimates), as in R ``did``.

Conventions (checked against R ``did`` 2.x on ``mpdta`` in the tests):

* Base period "varying": post-treatment cells compare period ``t`` with ``g - 1``; pre-treatment
  cells compare ``t`` with ``t - 1``. Periods are positions in the sorted list of times.
* Not-yet-treated controls for ATT(g,t): never treated, plus units with cohort later than
  ``t`` (other than ``g``).
* Standard errors are analytical, from the influence function, as R ``did`` with
  ``bstrap=FALSE``: ``se = sqrt(sum(IF_i^2)) / n`` over all ``n`` units. The panel unit is the
  territory, so these are clustered by territory. Pointwise 95 % intervals use the normal
  distribution.
* Simple and cohort aggregations weight by cohort size (``P(G = g)``, with sampling weights when
  given) and include the estimation effect of those weights in the influence function, as
  R ``aggte``.

Examples
--------
>>> panel = simulate_staggered(n_units=60, n_periods=8, cohorts={4: 15, 6: 15}, effect=-0.5,
...                            noise_sd=0.05, seed=1)
>>> res = att_gt(panel, "unit", "time", "cohort", "y")
>>> round(float(aggregate(res, "simple")["estimate"].iloc[0]), 1)
-0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from territoria.exceptions import AnalysisError, DataError

__all__ = [
    "att_gt",
    "aggregate",
    "twfe",
    "placebo",
    "evaluate_impact",
    "simulate_staggered",
    "SE_CONVENTION_CS",
    "SE_CONVENTION_TWFE",
]

SE_CONVENTION_CS = (
    "Callaway-Sant'Anna: analytical influence-function SEs as R did att_gt/aggte with "
    "bstrap=FALSE (se = sqrt(sum IF^2)/n), clustered by unit; pointwise normal 95% CI"
)
SE_CONVENTION_TWFE = (
    "TWFE: cluster-robust CR1 by unit, factor G/(G-1)*(N-1)/(N-K) with K = treatment + time "
    "effects + constant; unit fixed effects (nested in clusters) not counted, as Stata "
    "xtreg, fe vce(cluster) and reghdfe; CI and p-value from t(G-1)"
)

# ----------------------------------------------------------------------------------------
# data preparation
# ----------------------------------------------------------------------------------------
class _Shared:
    """Container kept in ``DataFrame.attrs``; never deep-copied (it is read-only)."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


@dataclass
class _Panel(_Shared):
    units: np.ndarray            # unit ids, sorted
    times: np.ndarray            # sorted distinct times (original values)
    Y: np.ndarray                # n x T outcome
    G: np.ndarray                # n, float: cohort as period index, inf = never treated
    w: np.ndarray                # n unit weights
    X: np.ndarray | None         # n x k covariates (with intercept) or None
    cohort_sizes: dict = field(default_factory=dict)


@dataclass
class _DIDState(_Shared):
    panel: _Panel
    inf: np.ndarray              # n x K influence functions, one column per ATT(g,t)
    control: str
    alpha: float


def _is_never(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
        return True
    s = str(v).strip()
    return s in ("", "0", "0.0", "nan", "NaN", "NaT", "<NA>", "None")


def _time_index(values: pd.Series, cohorts: pd.Series, time_col: str, cohort_col: str):
    """Map times and cohorts to positions in the sorted list of distinct times."""
    tnum = pd.to_numeric(values, errors="coerce")
    if tnum.notna().all():
        keys = tnum.to_numpy(dtype=float)
        is_date = False
    else:
        tdt = pd.to_datetime(values.astype(str), errors="coerce")
        if tdt.isna().any():
            bad = values[tdt.isna()].iloc[0]
            raise DataError(f"time value {bad!r} is neither a number nor a date",
                            column=time_col, rule="numeric or ISO date", code="bad_time",
                            values={"value": bad})
        keys = tdt.to_numpy().astype("datetime64[ns]").astype("int64")
        is_date = True
    distinct = np.unique(keys)
    if len(distinct) < 2:
        raise DataError(f"the panel has a single period ({values.iloc[0]!r}); at least 2 are "
                        "needed", column=time_col, rule="at least two periods",
                        code="single_period", values={"value": values.iloc[0]})
    pos = {v: i for i, v in enumerate(distinct.tolist())}
    t_idx = np.array([pos[v] for v in keys.tolist()], dtype=int)
    g_idx = np.full(len(cohorts), np.inf)
    cache: dict = {}
    for i, c in enumerate(cohorts.tolist()):
        if c in cache:
            g_idx[i] = cache[c]
            continue
        if _is_never(c):
            cache[c] = np.inf
            continue
        if is_date:
            cv = pd.to_datetime(pd.Series([str(c)]), errors="coerce").iloc[0]
            key = int(cv.value) if pd.notna(cv) else None
        else:
            cv = pd.to_numeric(pd.Series([c]), errors="coerce").iloc[0]
            key = float(cv) if pd.notna(cv) else None
        if key is None:
            raise DataError(f"cohort value {c!r} is not a period like the time column",
                            row=i + 1, column=cohort_col,
                            rule="first exposed period, 0 or empty = never",
                            code="bad_cohort", values={"value": c})
        k = pos.get(key)
        if k is None:
            lo, hi = values.min(), values.max()
            raise DataError(
                f"cohort {c!r} is outside the time range or not one of its periods "
                f"({lo}..{hi})", row=i + 1, column=cohort_col,
                rule="cohort = first exposed period within the panel, 0 or empty = never",
                code="cohort_outside", values={"value": c, "lo": lo, "hi": hi})
        cache[c] = g_idx[i] = k
    times = distinct.astype("datetime64[ns]") if is_date else distinct
    return times, t_idx, g_idx


def _prepare(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
             weights: str | None = None, covariates: Sequence[str] | None = None,
             min_never: int = 2, control: str = "never") -> _Panel:
    if not isinstance(panel, pd.DataFrame):
        raise AnalysisError("panel must be a pandas DataFrame")
    cols = [unit, time, cohort, outcome] + ([weights] if weights else []) + list(covariates or [])
    for c in cols:
        if c not in panel.columns:
            raise AnalysisError(f"column '{c}' not in the panel (columns: "
                                f"{', '.join(map(str, panel.columns))})")
    if control not in ("never", "notyet"):
        raise AnalysisError(f"control '{control}' is not allowed (allowed: never, notyet)")
    if len(panel) == 0:
        raise DataError("the panel is empty", rule="at least one row", code="empty")
    y = pd.to_numeric(panel[outcome], errors="coerce")
    badnum = y.isna() & panel[outcome].notna()
    if badnum.any():
        i = int(np.flatnonzero(badnum.to_numpy())[0])
        raise DataError(f"outcome value {panel[outcome].iloc[i]!r} is not numeric",
                        row=i + 1, column=outcome, rule="numeric outcome",
                        code="outcome_not_numeric", values={"value": panel[outcome].iloc[i]})
    if y.isna().any():
        i = int(np.flatnonzero(y.isna().to_numpy())[0])
        raise DataError("outcome is missing", row=i + 1, column=outcome,
                        rule="no missing outcomes (balanced panel)", code="outcome_missing")
    dup = panel.duplicated([unit, time], keep=False)
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"duplicate rows for unit {panel[unit].iloc[i]!r} at time "
                        f"{panel[time].iloc[i]!r}", row=i + 1, column=time,
                        rule="one row per unit and time", code="duplicate",
                        values={"unit": panel[unit].iloc[i], "time": panel[time].iloc[i]})
    if panel[time].isna().any():
        raise DataError("time is missing", column=time, rule="no missing times",
                        code="time_missing")
    distinct, t_idx, g_idx = _time_index(panel[time], panel[cohort], time, cohort)
    codes, units = pd.factorize(panel[unit], sort=True)
    n, T = len(units), len(distinct)
    if len(panel) != n * T:
        counts = np.bincount(codes, minlength=n)
        u = units[int(np.argmin(counts))]
        raise DataError(f"unbalanced panel: unit {u!r} has {counts.min()} of {T} periods",
                        column=unit, rule="balanced panel (every unit in every period)",
                        code="unbalanced", values={"unit": u, "n": int(counts.min()), "T": T})
    Y = np.empty((n, T))
    Y[codes, t_idx] = y.to_numpy(dtype=float)
    G = np.full(n, np.nan)
    np.fmax.at(G, codes, g_idx)
    Gmin = np.full(n, np.inf)
    np.minimum.at(Gmin, codes, g_idx)
    if not np.array_equal(G, Gmin):
        u = units[int(np.flatnonzero(G != Gmin)[0])]
        raise DataError(f"cohort changes over time for unit {u!r}", column=cohort,
                        rule="one cohort per unit", code="cohort_changes", values={"unit": u})
    if np.any(G == 0):
        u = units[int(np.flatnonzero(G == 0)[0])]
        raise DataError(f"unit {u!r} is exposed from the first period ({distinct[0]}), so it "
                        "has no pre-period", column=cohort,
                        rule="cohort after the first period, 0 or empty = never",
                        code="exposed_first", values={"unit": u, "first": distinct[0]})
    n_never = int(np.isinf(G).sum())
    if n_never < min_never:
        raise DataError(f"only {n_never} never-treated units (at least {min_never} needed)",
                        column=cohort, rule="enough never-treated units for the comparison",
                        code="few_never", values={"n": n_never, "min": min_never})
    if np.isinf(G).all():
        raise DataError("no unit is ever treated", column=cohort, rule="at least one cohort",
                        code="never_treated")
    if weights:
        wv = pd.to_numeric(panel[weights], errors="coerce")
        if wv.isna().any() or (wv < 0).any():
            raise DataError("weights must be non-negative numbers", column=weights,
                            rule="non-negative numeric weights", code="bad_weights")
        W = np.full((n, T), np.nan)
        W[codes, t_idx] = wv.to_numpy(dtype=float)
        if not np.allclose(W, W[:, [0]]):
            raise DataError("weights change over time within a unit", column=weights,
                            rule="one weight per unit", code="weights_change")
        w = W[:, 0].copy()
    else:
        w = np.ones(n)
    X = None
    if covariates:
        X = np.ones((n, 1 + len(covariates)))
        first = t_idx == 0
        for j, c in enumerate(covariates):
            xv = pd.to_numeric(panel[c], errors="coerce")
            if xv.isna().any():
                raise DataError("covariate is missing or not numeric", column=c,
                                rule="numeric covariates", code="bad_covariate")
            X[codes[first], j + 1] = xv.to_numpy(dtype=float)[first]
    sizes = {int(g): int((G == g).sum()) for g in np.unique(G[np.isfinite(G)])}
    return _Panel(units=np.asarray(units), times=distinct, Y=Y, G=G, w=w, X=X,
                  cohort_sizes=sizes)


# ----------------------------------------------------------------------------------------
# ATT(g,t)
# ----------------------------------------------------------------------------------------
def _cells_for_group(p: _Panel, g: int, control: str):
    """ATT(g,t) and influence functions for one cohort, for every t = 1..T-1."""
    n, T = p.Y.shape
    tt = np.arange(1, T)
    base = np.where(tt >= g, g - 1, tt - 1)
    dY = p.Y[:, tt] - p.Y[:, base]                     # n x (T-1)
    D = (p.G == g)
    wD = p.w * D
    SD = wD.sum()
    if control == "never":
        C = np.repeat(np.isinf(p.G)[:, None], len(tt), axis=1)
    else:
        C = (p.G[:, None] > tt[None, :]) & ~D[:, None]
    wC = p.w[:, None] * C
    SC = wC.sum(axis=0)
    if np.any(SC <= 0):
        k = int(np.flatnonzero(SC <= 0)[0])
        raise DataError(f"no comparison units for cohort {p.times[g]} at {p.times[tt[k]]}",
                        rule="at least one control unit per group and period",
                        code="no_comparison", values={"cohort": p.times[g], "at": p.times[tt[k]]})
    mu_t = wD @ dY / SD
    if p.X is None:
        mu_c = (wC * dY).sum(axis=0) / SC
        att = mu_t - mu_c
        inf = n * (wD[:, None] * (dY - mu_t) / SD - wC * (dY - mu_c) / SC)
    else:
        X = p.X
        bD = X.T @ wD                                      # k
        att = np.empty(len(tt))
        inf = np.empty((n, len(tt)))
        for j in range(len(tt)):
            wc = wC[:, j]
            A = (X * wc[:, None]).T @ X
            try:
                Ainv = np.linalg.inv(A)
            except np.linalg.LinAlgError:
                raise AnalysisError("covariates are collinear among the comparison units "
                                    f"(cohort {p.times[g]}, period {p.times[tt[j]]})") from None
            beta = Ainv @ (X.T @ (wc * dY[:, j]))
            od = X @ beta
            att[j] = wD @ (dY[:, j] - od) / SD
            e = dY[:, j] - od
            h = X @ (Ainv @ bD)
            inf[:, j] = n / SD * (wD * (dY[:, j] - od - att[j]) - wc * e * h)
    return tt, base, att, inf, C.sum(axis=0)


def att_gt(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
           control: str = "never", weights: str | None = None,
           covariates: Sequence[str] | None = None, alpha: float = 0.05,
           min_never: int = 2) -> pd.DataFrame:
    """Group-time average treatment effects ATT(g,t) of Callaway & Sant'Anna (2021).

    Parameters
    ----------
    panel : DataFrame
        Balanced long panel, one row per unit and time.
    unit, time, cohort, outcome : str
        Column names. ``cohort`` is the first exposed period (a value of ``time``);
        0, empty or missing means never treated. ``time`` is numeric or an ISO date.
    control : {"never", "notyet"}
        Comparison units: never treated, or never plus not yet treated.
    weights : str, optional
        Column with unit sampling weights (constant within unit).
    covariates : list of str, optional
        Covariates for outcome regression (R ``est_method="reg"``), taken at each unit's first
        period. Without covariates the estimator is the unconditional one.
    alpha : float
        1 - confidence level of the pointwise intervals.
    min_never : int
        Fewest never-treated units accepted.

    Returns
    -------
    DataFrame
        One row per cohort ``g`` and period ``t`` (from the second period on): ``group``,
        ``time`` (original values), ``g``, ``t`` (period positions), ``e`` (= t - g, periods
        since joining), ``post`` (e >= 0), ``base_time``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``n_treated``, ``n_control``. ``attrs["did"]`` keeps the influence
        functions that :func:`aggregate` needs.

    Raises
    ------
    DataError
        Duplicate unit-time rows, unbalanced panel, non-numeric outcome, single period, cohort
        outside the time range, too few never-treated units.
    AnalysisError
        Unknown column or control.

    Notes
    -----
    For cohort g and period t, with base period b (g-1 after joining, t-1 before) and
    :math:`\\Delta Y_i = Y_{it} - Y_{ib}`:
    :math:`ATT(g,t) = \\bar{\\Delta Y}_{G=g} - \\bar{\\Delta Y}_{C}` (weighted means), or with
    covariates the treated mean of :math:`\\Delta Y - X'\\hat\\beta_C`. The influence function is
    that of Sant'Anna & Zhao (2020) ``reg_did_panel`` rescaled by n/n_gt as in R ``did``.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. Journal of Econometrics 225(2), 200-230. doi:10.1016/j.jeconom.2020.12.001

    Examples
    --------
    >>> panel = simulate_staggered(n_units=40, n_periods=6, cohorts={3: 10}, effect=1.0,
    ...                            noise_sd=0.01, seed=2)
    >>> res = att_gt(panel, "unit", "time", "cohort", "y", control="notyet")
    >>> res.loc[res.e == 0, "estimate"].round(1).tolist()
    [1.0]
    """
    p = _prepare(panel, unit, time, cohort, outcome, weights, covariates, min_never, control)
    rows, infs = [], []
    z = stats.norm.ppf(1 - alpha / 2)
    n = len(p.units)
    for g in sorted(p.cohort_sizes):
        tt, base, att, inf, n_c = _cells_for_group(p, g, control)
        se = np.sqrt((inf ** 2).sum(axis=0)) / n
        infs.append(inf)
        for j, t in enumerate(tt):
            rows.append({
                "group": p.times[g].item() if hasattr(p.times[g], "item") else p.times[g],
                "time": p.times[t].item() if hasattr(p.times[t], "item") else p.times[t],
                "g": int(g), "t": int(t), "e": int(t - g), "post": bool(t >= g),
                "base_time": p.times[base[j]], "estimate": att[j], "se": se[j],
                "ci_low": att[j] - z * se[j], "ci_high": att[j] + z * se[j],
                "n_treated": p.cohort_sizes[g], "n_control": int(n_c[j]),
            })
    out = pd.DataFrame(rows)
    for c in ("group", "time", "base_time"):
        if np.issubdtype(p.times.dtype, np.datetime64):
            out[c] = pd.to_datetime(out[c])
        elif np.allclose(p.times, np.round(p.times)):
            out[c] = out[c].astype(float).round().astype("int64")
    out.attrs["did"] = _DIDState(panel=p, inf=np.hstack(infs), control=control, alpha=alpha)
    return out


# ----------------------------------------------------------------------------------------
# aggregation
# ----------------------------------------------------------------------------------------
def _state(res: pd.DataFrame) -> _DIDState:
    st = res.attrs.get("did") if isinstance(res, pd.DataFrame) else None
    if not isinstance(st, _DIDState):
        raise AnalysisError("aggregate() needs the DataFrame returned by att_gt() "
                            "(its attrs['did'] is missing)")
    return st


def _wif(keepers: np.ndarray, pg: np.ndarray, w: np.ndarray, G: np.ndarray,
         group: np.ndarray) -> np.ndarray:
    """Influence of estimating the cohort-size weights (R did ``wif``)."""
    s = pg[keepers].sum()
    ind = w[:, None] * (G[:, None] == group[keepers][None, :]) - pg[keepers][None, :]
    if1 = ind / s
    if2 = ind.sum(axis=1)[:, None] * (pg[keepers] / s ** 2)[None, :]
    return if1 - if2


def aggregate(res: pd.DataFrame, kind: str = "simple", alpha: float | None = None
              ) -> pd.DataFrame:
    """Aggregate ATT(g,t) into a simple ATT, one per cohort, per event time or per period.

    Parameters
    ----------
    res : DataFrame
        Output of :func:`att_gt`.
    kind : {"simple", "group", "event", "calendar"}
        ``simple``: post-treatment cells weighted by cohort size (R ``aggte(type="simple")``);
        ``group``: mean over post periods of each cohort, and their cohort-size weighted mean;
        ``event``: cohort-size weighted mean at each event time e (pre-trends for e < 0),
        overall = mean over e >= 0 (R ``type="dynamic"``); ``calendar``: per period.
    alpha : float, optional
        Defaults to the one used in :func:`att_gt`.

    Returns
    -------
    DataFrame
        ``kind``, ``key`` (cohort, event time e or period; missing for the overall row),
        ``overall`` (bool), ``estimate``, ``se``, ``ci_low``, ``ci_high`` (pointwise, normal).

    Examples
    --------
    >>> panel = simulate_staggered(n_units=40, n_periods=6, cohorts={3: 10, 4: 10},
    ...                            effect=2.0, noise_sd=0.01, seed=3)
    >>> ev = aggregate(att_gt(panel, "unit", "time", "cohort", "y"), "event")
    >>> ev["key"].tolist()[:6], ev["overall"].tolist()[-1]
    ([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0], True)
    >>> ev["estimate"].round(1).abs().tolist()
    [0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0]
    """
    st = _state(res)
    alpha = st.alpha if alpha is None else alpha
    z = stats.norm.ppf(1 - alpha / 2)
    p = st.panel
    n = len(p.units)
    att = res["estimate"].to_numpy(dtype=float)
    group = res["g"].to_numpy(dtype=float)
    t = res["t"].to_numpy()
    e = res["e"].to_numpy()
    post = res["post"].to_numpy(dtype=bool)
    inf = st.inf
    w, G = p.w, p.G
    glist = np.array(sorted(p.cohort_sizes), dtype=float)
    pg_g = np.array([np.mean(w * (G == g)) for g in glist])
    pg = pg_g[np.searchsorted(glist, group)]

    def se_of(psi):
        return float(np.sqrt(np.mean(psi ** 2) / n))

    def agg_if(whichones, weights_agg, att_vec=att, inf_mat=inf, wif=None):
        psi = inf_mat[:, whichones] @ weights_agg
        if wif is not None:
            psi = psi + wif @ att_vec[whichones]
        return psi

    rows = []

    def add(key, overall, est, psi):
        se = se_of(psi)
        rows.append({"kind": kind, "key": key, "overall": overall, "estimate": float(est),
                     "se": se, "ci_low": est - z * se, "ci_high": est + z * se})

    if kind == "simple":
        keep = np.flatnonzero(post)
        wts = pg[keep] / pg[keep].sum()
        est = att[keep] @ wts
        psi = agg_if(keep, wts, wif=_wif(keep, pg, w, G, group))
        add(np.nan, True, est, psi)
    elif kind == "group":
        att_g, inf_g = [], []
        for g in glist:
            which = np.flatnonzero((group == g) & post)
            wts = pg[which] / pg[which].sum()
            est = att[which].mean()
            psi = agg_if(which, wts)
            att_g.append(est)
            inf_g.append(psi)
            add(_orig(p, g), False, est, psi)
        att_g = np.array(att_g)
        inf_g = np.column_stack(inf_g)
        idx = np.arange(len(glist))
        wts = pg_g / pg_g.sum()
        est = att_g @ wts
        psi = agg_if(idx, wts, att_vec=att_g, inf_mat=inf_g,
                     wif=_wif(idx, pg_g, w, G, glist))
        add(np.nan, True, est, psi)
    elif kind in ("event", "dynamic"):
        eseq = np.unique(e)
        att_e, inf_e = [], []
        for ev in eseq:
            which = np.flatnonzero(e == ev)
            wts = pg[which] / pg[which].sum()
            est = att[which] @ wts
            psi = agg_if(which, wts, wif=_wif(which, pg, w, G, group))
            att_e.append(est)
            inf_e.append(psi)
            add(int(ev), False, est, psi)
        att_e = np.array(att_e)
        inf_e = np.column_stack(inf_e)
        pos = np.flatnonzero(eseq >= 0)
        wts = np.full(len(pos), 1 / len(pos))
        add(np.nan, True, att_e[pos] @ wts, agg_if(pos, wts, att_vec=att_e, inf_mat=inf_e))
        kind = "event"
        for r in rows:
            r["kind"] = "event"
    elif kind == "calendar":
        tlist = np.unique(t[post])
        att_t, inf_t = [], []
        for tv in tlist:
            which = np.flatnonzero((t == tv) & post)
            wts = pg[which] / pg[which].sum()
            est = att[which] @ wts
            psi = agg_if(which, wts, wif=_wif(which, pg, w, G, group))
            att_t.append(est)
            inf_t.append(psi)
            add(_orig(p, tv), False, est, psi)
        att_t = np.array(att_t)
        inf_t = np.column_stack(inf_t)
        idx = np.arange(len(tlist))
        wts = np.full(len(idx), 1 / len(idx))
        add(np.nan, True, att_t @ wts, agg_if(idx, wts, att_vec=att_t, inf_mat=inf_t))
    else:
        raise AnalysisError(f"kind '{kind}' is not allowed (allowed: simple, group, event, "
                            "calendar)")
    out = pd.DataFrame(rows)
    return out


def _orig(p: _Panel, k) -> object:
    v = p.times[int(k)]
    if np.issubdtype(p.times.dtype, np.datetime64):
        return pd.Timestamp(v)
    v = float(v)
    return int(v) if v == round(v) else v


# ----------------------------------------------------------------------------------------
# TWFE
# ----------------------------------------------------------------------------------------
def twfe(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
         weights: str | None = None, alpha: float = 0.05, min_never: int = 0) -> pd.DataFrame:
    """Two-way fixed effects regression of the outcome on exposure (reference only).

    :math:`y_{it} = a_i + l_t + \\beta D_{it} + e_{it}` with :math:`D_{it} = 1(t \\ge g_i)`,
    estimated by the exact two-way within transformation of a balanced panel (weighted with
    unit weights when given).

    Parameters
    ----------
    panel, unit, time, cohort, outcome, weights : as :func:`att_gt`.
    alpha : float
        1 - confidence level.
    min_never : int
        Fewest never-treated units accepted (TWFE can run without them).

    Returns
    -------
    DataFrame
        One row: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_val``, ``n_obs``,
        ``n_clusters``, ``df`` (G - 1), ``se_convention``.

    Notes
    -----
    Cluster-robust CR1 by unit with factor :math:`G/(G-1) \\cdot (N-1)/(N-K)`, where K counts
    the exposure coefficient, T-1 time effects and the constant but not the unit fixed effects
    (they are nested within clusters): the convention of Stata ``xtreg, fe vce(cluster)`` and
    ``reghdfe``. statsmodels OLS with unit dummies counts them in K, giving a slightly larger SE.
    The interval uses t with G-1 degrees of freedom.

    Examples
    --------
    >>> panel = simulate_staggered(n_units=40, n_periods=6, cohorts={3: 10, 4: 10},
    ...                            effect=1.0, noise_sd=0.01, seed=4)
    >>> round(float(twfe(panel, "unit", "time", "cohort", "y")["estimate"].iloc[0]), 2)
    1.0
    """
    p = _prepare(panel, unit, time, cohort, outcome, weights, None, min_never, "never")
    n, T = p.Y.shape
    tt = np.arange(T)
    D = (tt[None, :] >= p.G[:, None]).astype(float)
    w = p.w
    sw = w.sum()

    def within(M):
        unit_mean = M.mean(axis=1, keepdims=True)
        time_mean = (w[:, None] * M).sum(axis=0, keepdims=True) / sw
        grand = (w * unit_mean[:, 0]).sum() / sw
        return M - unit_mean - time_mean + grand

    yt, dt = within(p.Y), within(D)
    W = np.repeat(w[:, None], T, axis=1)
    sxx = (W * dt * dt).sum()
    if sxx <= 0:
        raise DataError("exposure does not vary within units and periods", column=cohort,
                        rule="some units change exposure", code="no_variation")
    beta = (W * dt * yt).sum() / sxx
    resid = yt - beta * dt
    score = (W * dt * resid).sum(axis=1)                 # per cluster
    N = n * T
    K = 1 + (T - 1) + 1
    Gc = n
    factor = Gc / (Gc - 1) * (N - 1) / (N - K)
    var = factor * (score ** 2).sum() / sxx ** 2
    se = math.sqrt(var)
    df = Gc - 1
    q = stats.t.ppf(1 - alpha / 2, df)
    pval = 2 * stats.t.sf(abs(beta / se), df) if se > 0 else float("nan")
    return pd.DataFrame([{
        "estimate": beta, "se": se, "ci_low": beta - q * se, "ci_high": beta + q * se,
        "p_val": pval, "n_obs": N, "n_clusters": Gc, "df": df,
        "se_convention": SE_CONVENTION_TWFE,
    }])


# ----------------------------------------------------------------------------------------
# placebo
# ----------------------------------------------------------------------------------------
def placebo(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
            shift: int = 12, control: str = "never", weights: str | None = None,
            alpha: float = 0.05) -> pd.DataFrame:
    """Placebo test with false dates: pretend each cohort joined ``shift`` periods earlier.

    Only periods before the first real exposure are kept, so nobody is treated in the data
    used. Cohorts whose false date falls outside that window count as untreated. The simple
    ATT should be close to zero.

    Parameters
    ----------
    panel, unit, time, cohort, outcome, control, weights, alpha : as :func:`att_gt`.
    shift : int
        Periods to move each cohort back.

    Returns
    -------
    DataFrame
        The simple aggregation (as :func:`aggregate`) plus ``shift`` and ``n_periods``.

    Examples
    --------
    >>> panel = simulate_staggered(n_units=40, n_periods=12, cohorts={8: 10, 10: 10},
    ...                            effect=1.0, noise_sd=0.1, seed=5)
    >>> r = placebo(panel, "unit", "time", "cohort", "y", shift=3)
    >>> bool(r["ci_low"].iloc[0] < 0 < r["ci_high"].iloc[0])
    True
    """
    p = _prepare(panel, unit, time, cohort, outcome, weights, None, 0, control)
    first = int(np.min(p.G[np.isfinite(p.G)]))
    if shift < 1:
        raise AnalysisError(f"shift must be at least 1 (got {shift})")
    keep_t = np.arange(first)
    if len(keep_t) < 2:
        raise DataError("fewer than two periods before the first exposure", column=cohort,
                        rule="placebo needs pre-periods", code="few_pre_periods")
    fake = p.G - shift
    fake[~np.isfinite(fake) | (fake < 1) | (fake >= first)] = np.inf
    if np.isinf(fake).all():
        raise DataError(f"no cohort has a false date {shift} periods earlier inside the "
                        "pre-period window", column=cohort, rule="shift smaller than the "
                        "pre-period", code="no_placebo", values={"shift": shift})
    rows = []
    for i, u in enumerate(p.units):
        for k in keep_t:
            rows.append((u, k, fake[i] if np.isfinite(fake[i]) else 0, p.Y[i, k], p.w[i]))
    df = pd.DataFrame(rows, columns=["unit", "t", "cohort", "y", "w"])
    res = att_gt(df, "unit", "t", "cohort", "y", control=control,
                 weights="w" if weights else None, alpha=alpha, min_never=1)
    out = aggregate(res, "simple")
    out["kind"] = "placebo"
    out["shift"] = shift
    out["n_periods"] = len(keep_t)
    return out


# ----------------------------------------------------------------------------------------
# the whole evaluation, for the CLI and notebooks
# ----------------------------------------------------------------------------------------
def _records(df: pd.DataFrame, cols: Sequence[str]) -> list[dict]:
    out = []
    for rec in df[list(cols)].to_dict("records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.strftime("%Y-%m-%d")
            elif isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (np.floating, float)):
                v = None if math.isnan(v) else float(v)
            elif isinstance(v, np.bool_):
                v = bool(v)
            clean[k] = v
        out.append(clean)
    return out


def evaluate_impact(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
                    control: str = "never", weights: str | None = None,
                    covariates: Sequence[str] | None = None, alpha: float = 0.05,
                    min_never: int = 2) -> dict:
    """TWFE, ATT(g,t) and its aggregations in one JSON-ready dictionary.

    Returns
    -------
    dict
        ``twfe`` and ``att_simple`` (``estimate, se, ci_low, ci_high``), ``att_group``,
        ``event_study`` and ``att_gt`` (lists of records), ``n_units``, ``n_periods``,
        ``control``, ``covariates``, ``weights``, ``se_convention``.

    Examples
    --------
    >>> panel = simulate_staggered(n_units=30, n_periods=5, cohorts={3: 10}, effect=1.0,
    ...                            noise_sd=0.01, seed=6)
    >>> out = evaluate_impact(panel, "unit", "time", "cohort", "y")
    >>> round(out["att_simple"]["estimate"], 1), out["n_units"], out["n_periods"]
    (1.0, 30, 5)
    """
    res = att_gt(panel, unit, time, cohort, outcome, control=control, weights=weights,
                 covariates=covariates, alpha=alpha, min_never=min_never)
    p = res.attrs["did"].panel
    tw = twfe(panel, unit, time, cohort, outcome, weights=weights, alpha=alpha)
    simple = aggregate(res, "simple")
    grp = aggregate(res, "group")
    ev = aggregate(res, "event")
    four = ["estimate", "se", "ci_low", "ci_high"]
    return {
        "twfe": _records(tw, four + ["p_val", "n_obs", "n_clusters", "df"])[0],
        "att_simple": _records(simple, four)[0],
        "att_group": _records(grp, ["key", "overall"] + four),
        "event_study": _records(ev.rename(columns={"key": "e"}), ["e", "overall"] + four),
        "att_gt": _records(res.rename(columns={"g": "g_pos", "t": "t_pos", "group": "g",
                                               "time": "t"}), ["g", "t", "e", "post"] + four
                           + ["n_treated", "n_control"]),
        "n_units": int(len(p.units)),
        "n_periods": int(len(p.times)),
        "n_never_treated": int(np.isinf(p.G).sum()),
        "cohort_sizes": {str(_orig(p, g)): s for g, s in p.cohort_sizes.items()},
        "control": control,
        "covariates": list(covariates or []),
        "weights": weights,
        "estimator": "reg" if covariates else "unconditional",
        "alpha": alpha,
        "se_convention": {"cs": SE_CONVENTION_CS, "twfe": SE_CONVENTION_TWFE},
    }


# ----------------------------------------------------------------------------------------
# simulation (teaching, doctests, Monte Carlo)
# ----------------------------------------------------------------------------------------
def simulate_staggered(n_units: int = 100, n_periods: int = 10,
                       cohorts: dict[int, int] | None = None,
                       effect: float | Callable[[int, int], float] = -0.1,
                       noise_sd: float = 0.3, rho: float = 0.0, unit_sd: float = 1.0,
                       time_sd: float = 0.1, season_amp: float = 0.0, season_period: int = 12,
                       level: float = 2.0, seed: int | None = None) -> pd.DataFrame:
    """Simulate a balanced staggered-adoption panel with a known effect.

    :math:`y_{it} = level + a_i + l_t + s_t + \\tau_{g,e} 1(t \\ge g) + u_{it}`, with
    :math:`u_{it} = \\rho u_{i,t-1} + \\varepsilon_{it}` (stationary AR(1)).

    Parameters
    ----------
    n_units, n_periods : int
    cohorts : dict
        ``{first exposed period (0-based position): number of units}``; the rest never join.
    effect : float or callable
        Constant effect, or ``effect(g, e)`` for cohort g (position) and event time e >= 0.
    noise_sd, rho, unit_sd, time_sd, season_amp, season_period, level : float
        Idiosyncratic noise, its autocorrelation, spread of unit and period effects,
        amplitude and period of the seasonal cycle, mean level.
    seed : int, optional

    Returns
    -------
    DataFrame
        ``unit`` (int), ``time`` (0..T-1), ``cohort`` (position, 0 = never), ``y``.

    Examples
    --------
    >>> simulate_staggered(n_units=3, n_periods=2, cohorts={1: 1}, seed=0).shape
    (6, 4)
    """
    rng = np.random.default_rng(seed)
    cohorts = cohorts or {}
    if sum(cohorts.values()) > n_units:
        raise AnalysisError("more units in cohorts than n_units")
    G = np.zeros(n_units, dtype=int)
    start = 0
    for g, k in sorted(cohorts.items()):
        if not 1 <= g < n_periods:
            raise AnalysisError(f"cohort {g} outside periods 1..{n_periods - 1}")
        G[start:start + k] = g
        start += k
    a = rng.normal(0, unit_sd, n_units)
    tt = np.arange(n_periods)
    lam = rng.normal(0, time_sd, n_periods) + season_amp * np.sin(2 * np.pi * tt / season_period)
    eps = rng.normal(0, noise_sd, (n_units, n_periods))
    if rho:
        u = np.empty_like(eps)
        u[:, 0] = eps[:, 0] / math.sqrt(1 - rho ** 2)
        for k in range(1, n_periods):
            u[:, k] = rho * u[:, k - 1] + eps[:, k]
    else:
        u = eps
    Y = level + a[:, None] + lam[None, :] + u
    treated = (G[:, None] > 0) & (tt[None, :] >= G[:, None])
    if callable(effect):
        tau = np.zeros((n_units, n_periods))
        for g in np.unique(G[G > 0]):
            for k in range(g, n_periods):
                tau[G == g, k] = effect(int(g), int(k - g))
        Y = Y + tau * treated
    else:
        Y = Y + effect * treated
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), n_periods),
        "time": np.tile(tt, n_units),
        "cohort": np.repeat(G, n_periods),
        "y": Y.ravel(),
    })
