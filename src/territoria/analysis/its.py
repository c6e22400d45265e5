"""Interrupted time series: segmented regression with level and slope change, Newey-West SEs.

For one territory or the whole city: the outcome's series before the programme defines a level
and a trend; the model estimates the jump at the first exposed period (level change) and the
change of trend afterwards (slope change). A single series keeps the shocks common to every
territory (a hard month for the whole city) in its errors, so its intervals are optimistic
(coverage 0.855 for a nominal 0.95 in ``benchmarks/montecarlo_impact.py``).
:func:`comparative_its` compares the treated territories with territories not yet in the
programme over the same months (period fixed effects absorb the common shocks) and clusters
the errors by territory.

Examples
--------
>>> t = np.arange(48)
>>> y = 10 + 0.05 * t - 1.0 * (t >= 24) + np.random.default_rng(0).normal(0, 0.05, 48)
>>> r = its(pd.DataFrame({"month": t, "y": y}), "month", "y", intervention=24)
>>> round(float(r.set_index("term").loc["level_change", "estimate"]), 1)
-1.0
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from territoria.exceptions import AnalysisError, DataError

__all__ = ["comparative_its", "its", "newey_west_lags"]


def newey_west_lags(n: int) -> int:
    """Default truncation lag :math:`\\lfloor 4 (n/100)^{2/9} \\rfloor` (Newey & West 1994).

    >>> newey_west_lags(108)
    4
    """
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def its(data: pd.DataFrame, time: str, outcome: str, intervention, maxlags: int | None = None,
        season: int | None = None, alpha: float = 0.05, unit: str | None = None,
        weights: str | None = None) -> pd.DataFrame:
    """Segmented regression :math:`y_t = b_0 + b_1 t + b_2 P_t + b_3 (t - t_0) P_t + e_t`.

    Parameters
    ----------
    data : DataFrame
        One row per period, or several (e.g. one per territory): then the series is the mean
        (weighted with ``weights`` if given) over rows of each period.
    time : str
        Period column: numbers, dates (``datetime64`` of any resolution, with or without time
        zone, ``datetime.date``, ``pandas.Period``) or ISO date strings such as ``2019-01``.
    outcome : str
        Numeric outcome.
    intervention
        First exposed period :math:`t_0` (a value of ``time``); :math:`P_t = 1(t \\ge t_0)`.
        For dates: a string, ``Timestamp``, ``datetime``, ``numpy.datetime64`` or ``Period``;
        without a time zone it is read in the time zone of ``time``.
    maxlags : int, optional
        Newey-West truncation lag; default :func:`newey_west_lags`.
    season : int, optional
        Add dummies for the position in a cycle of this length (12 for months of the year).
    alpha : float
        1 - confidence level.
    unit : str, optional
        Column identifying rows within a period (only used to check duplicates).
    weights : str, optional
        Weights for averaging several rows per period.

    Returns
    -------
    DataFrame
        Rows ``intercept``, ``pre_slope``, ``level_change``, ``slope_change`` with
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_val``; plus ``n`` (periods),
        ``n_pre``, ``maxlags``.

    Notes
    -----
    Time is counted in periods (positions in the sorted list of distinct times). Standard
    errors: Newey-West HAC with the Bartlett kernel and the small-sample factor n/(n-k)
    (statsmodels ``cov_type="HAC", use_correction=True``; equal to R
    ``sandwich::NeweyWest(fit, lag, prewhite=FALSE, adjust=TRUE)`` and Stata ``newey``).
    Intervals and p-values use t(n-k).

    References
    ----------
    Wagner, A. K. et al. (2002). Segmented regression analysis of interrupted time series
    studies in medication use research. J Clin Pharm Ther 27, 299-309.
    Newey, W. K. and West, K. D. (1987). Econometrica 55(3), 703-708.
    """
    cols = [time, outcome] + ([unit] if unit else []) + ([weights] if weights else [])
    y = _numeric_outcome(data, cols, outcome)
    keys_all, kind, tz = _keys(data[time], time)
    d = pd.DataFrame({"key": keys_all, "y": y})
    if unit and data.duplicated([unit, time]).any():
        raise DataError("duplicate rows for a unit and period", column=time,
                        rule="one row per unit and period")
    if weights:
        d["w"] = pd.to_numeric(data[weights], errors="coerce")
        d = d.dropna()
        g = d.assign(wy=d.w * d.y).groupby("key")
        series = g["wy"].sum() / g["w"].sum()
    else:
        series = d.dropna().groupby("key")["y"].mean()
    series = series.sort_index()
    t0_keys, t0_kind, _ = _keys(pd.Series([intervention]), "intervention", tz=tz)
    if t0_kind != kind:
        raise DataError(f"intervention {intervention!r} is a {t0_kind} but the periods in "
                        f"'{time}' are {kind}s", column=time, rule="same kind of period")
    t0 = t0_keys.iloc[0]
    keys = series.index.to_numpy()
    if not (keys.min() < t0 <= keys.max()):
        raise DataError(f"intervention {intervention!r} is outside the series "
                        f"({data[time].min()}..{data[time].max()})", column=time,
                        rule="pre and post periods needed")
    pos = np.arange(len(series), dtype=float)
    k0 = int(np.searchsorted(keys, t0))
    post = (pos >= k0).astype(float)
    X = pd.DataFrame({"intercept": 1.0, "pre_slope": pos, "level_change": post,
                      "slope_change": post * (pos - k0)})
    if season:
        for s in range(1, season):
            X[f"season_{s}"] = ((pos % season) == s).astype(float)
    n, k = X.shape
    n_pre = k0
    if n_pre < 3 or n - n_pre < 2:
        raise DataError(f"too few periods: {n_pre} before and {n - n_pre} after the "
                        "intervention", column=time, rule="at least 3 before and 2 after")
    if n <= k + 1:
        raise DataError(f"too few periods ({n}) for {k} parameters", column=time,
                        rule="more periods than parameters")
    L = newey_west_lags(n) if maxlags is None else int(maxlags)
    fit = sm.OLS(series.to_numpy(dtype=float), X.to_numpy()).fit(
        cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": True}, use_t=True)
    q = stats.t.ppf(1 - alpha / 2, n - k)
    rows = []
    for j, term in enumerate(["intercept", "pre_slope", "level_change", "slope_change"]):
        est, se = float(fit.params[j]), float(fit.bse[j])
        rows.append({"term": term, "estimate": est, "se": se, "ci_low": est - q * se,
                     "ci_high": est + q * se, "p_val": float(2 * stats.t.sf(abs(est / se), n - k)),
                     "n": n, "n_pre": n_pre, "maxlags": L})
    return pd.DataFrame(rows)


def _numeric_outcome(data: pd.DataFrame, columns, outcome: str) -> pd.Series:
    """The outcome as numbers, after checking that every column is in ``data``.

    Raises
    ------
    AnalysisError
        A column is missing.
    DataError
        A value of the outcome is not a number.
    """
    for c in columns:
        if c not in data.columns:
            raise AnalysisError(f"column '{c}' not in the data (columns: "
                                f"{', '.join(map(str, data.columns))})")
    y = pd.to_numeric(data[outcome], errors="coerce")
    if (y.isna() & data[outcome].notna()).any():
        raise DataError("outcome values must be numeric", column=outcome, rule="numeric")
    return y


def _keys(values: pd.Series, name: str, tz=None) -> tuple[pd.Series, str, object]:
    """Sortable float keys of periods: ``(keys, "number" | "date", time zone)``.

    Dates become nanoseconds since 1970 (UTC when a time zone is known), whatever their
    resolution, so a ``datetime64[s]`` column and a string intervention compare correctly.
    """
    v = pd.Series(values).reset_index(drop=True).set_axis(values.index)
    if isinstance(v.dtype, pd.PeriodDtype):
        v = v.dt.to_timestamp()
    elif v.dtype == object:
        v = v.map(lambda x: x.to_timestamp() if isinstance(x, pd.Period) else x)
    is_dt = pd.api.types.is_datetime64_any_dtype(v.dtype)
    if not is_dt and not pd.api.types.is_bool_dtype(v.dtype):
        num = pd.to_numeric(v, errors="coerce")
        if num.notna().all() and not v.map(lambda x: isinstance(x, np.datetime64)).any():
            return num.astype(float), "number", None
    if is_dt:
        dt = v
    else:
        if v.map(lambda x: isinstance(x, str)).all():
            dt = pd.to_datetime(v, errors="coerce", format="mixed")
        else:
            dt = pd.to_datetime(v, errors="coerce", utc=v.map(
                lambda x: getattr(x, "tzinfo", None) is not None).any())
    if dt.isna().any():
        raise DataError(f"value {values[dt.isna().to_numpy()].iloc[0]!r} is neither a number "
                        "nor a date", column=name, rule="numeric or ISO date")
    own_tz = dt.dt.tz
    if own_tz is None and tz is not None:
        dt = dt.dt.tz_localize(tz)
    elif own_tz is not None and tz is None and name == "intervention":
        dt = dt.dt.tz_localize(None)
    if dt.dt.tz is not None:
        dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
    keys = dt.astype("datetime64[ns]").astype("int64").astype(float)
    return pd.Series(keys.to_numpy(), index=values.index), "date", own_tz if tz is None else tz


def _never(v) -> bool:
    if v is None or v is pd.NaT:
        return True
    if not isinstance(v, str) and pd.isna(v):
        return True
    return str(v).strip() in ("", "0", "0.0", "nan", "NaN", "NaT", "<NA>", "None", "inf")


def _absorb(Z: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-13,
            max_iter: int = 10_000) -> np.ndarray:
    """Residuals of the columns of ``Z`` on two sets of fixed effects (codes ``a``, ``b``)."""
    Z = np.array(Z, dtype=float)
    ca, cb = np.bincount(a), np.bincount(b)
    scale = max(1.0, float(np.abs(Z).max()))
    for _ in range(max_iter):
        before = Z.copy()
        for codes, cnt in ((a, ca), (b, cb)):
            m = np.vstack([np.bincount(codes, weights=Z[:, j], minlength=len(cnt))
                           for j in range(Z.shape[1])]).T / np.maximum(cnt, 1)[:, None]
            Z -= m[codes]
        if np.abs(Z - before).max() <= tol * scale:
            return Z
    raise AnalysisError("the fixed effects did not converge (a unit or period with no data "
                        "linking it to the rest?)")


#: Webb (2014) six-point weights for the wild cluster bootstrap.
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def comparative_its(panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str,
                    treated=None, control: str = "notyet", inference: str = "cluster",
                    alpha: float = 0.05, n_boot: int = 999, seed: int = 0) -> pd.DataFrame:
    """Comparative interrupted time series against territories not yet in the programme.

    .. math::

        y_{it} = \\alpha_i + \\delta_t + b_1 T_i t + b_2 T_i P_t + b_3 T_i P_t (t - t_0)
        + e_{it}

    with :math:`T_i = 1` for the units of the ``treated`` cohort, :math:`P_t = 1(t \\ge
    t_0)`, :math:`t_0` = that cohort's first exposed period, unit effects
    :math:`\\alpha_i` and period effects :math:`\\delta_t` (which absorb the shocks common
    to all territories and the season). ``b_2`` is the level change and ``b_3`` the slope
    change of the treated relative to the comparison units; ``b_1`` their difference in
    pre-programme trend (0 under parallel trends).

    Parameters
    ----------
    panel : DataFrame
        One row per unit and period.
    unit, time, cohort, outcome : str
        Columns. ``cohort`` is the unit's first exposed period (same kind as ``time``:
        numbers or dates); empty, 0 or NaN = never in the programme.
    treated : optional
        Cohort to evaluate (default: the earliest).
    control : {"notyet", "never"}
        Comparison units: ``notyet`` = never treated plus later cohorts, each only in the
        periods before its own first exposure; ``never`` = never treated only.
    inference : {"cluster", "wild"}
        ``cluster``: cluster-robust (by unit) variance with the CR1 factor
        :math:`G/(G-1) \\cdot (N-1)/(N-K)` (K counts the period effects, not the unit
        effects nested in the clusters: Stata ``reghdfe ..., absorb(unit time)
        vce(cluster unit)``); intervals from t with :math:`G^*-1` degrees of freedom,
        :math:`G^*` the coefficient's effective number of clusters (Carter, Schnepel and
        Steigerwald 2017, with :math:`\\Omega_g = I`), about the number of treated units
        when they are few: with 22 treated of 293 units t(G-1) covered 0.91-0.93 in the
        Monte Carlo, because the variance then rests on the treated units' scores. ``wild``: wild cluster score bootstrap
        (Kline and Santos 2012) with Webb six-point weights, ``n_boot`` draws, symmetric
        interval from the draws of :math:`|b^* - \\hat b|` scaled by the CR1 factor, p-value
        the share of draws at least as large as :math:`|\\hat b|`.
    alpha : float
        1 - confidence level.
    n_boot, seed
        Bootstrap draws and seed (``wild``).

    Returns
    -------
    DataFrame
        Rows ``pre_trend_diff``, ``level_change``, ``slope_change`` with ``estimate, se,
        ci_low, ci_high, p_val``, ``df`` (``cluster``), ``g_eff`` (effective clusters), and
        ``n`` (rows), ``n_treated``, ``n_control`` (units), ``n_pre`` (periods before
        :math:`t_0`), ``inference``.

    Raises
    ------
    DataError
        Missing columns, a non-numeric outcome, duplicated unit-periods, fewer than 3
        periods before or 2 after :math:`t_0`, fewer than 2 comparison units.

    Notes
    -----
    Estimated by Frisch-Waugh-Lovell: outcome and the three regressors are residualised on
    unit and period effects by alternating projections (demeaning by unit, then by period,
    until nothing changes; Guimaraes and Portugal 2010, as in ``reghdfe``), which is exact
    two-way fixed effects on an unbalanced panel (checked against the dummy regression in
    the tests).

    References
    ----------
    Bernal, J. L., Cummins, S. and Gasparrini, A. (2018). The use of controls in interrupted
    time series studies of public health interventions. Int J Epidemiol 47(6), 2082-2093.
    Cameron, A. C. and Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. J Hum Resour 50(2), 317-372. Carter, A. V., Schnepel, K. T. and Steigerwald,
    D. G. (2017). Asymptotic behavior of a t-test robust to cluster heterogeneity. Rev Econ
    Stat 99(4), 698-709. MacKinnon, J. G. and Webb, M. D. (2017). Wild bootstrap inference
    for wildly different cluster sizes. J Appl Econom 32(2), 233-254. Kline, P. and Santos, A. (2012). A score based
    approach to wild bootstrap inference. J Econom Methods 1(1), 23-41. Webb, M. D. (2014).
    Reworking wild bootstrap based inference for clustered errors. Queen's Economics
    Department WP 1315.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> rows = []
    >>> for i in range(30):
    ...     g = 12 if i < 10 else (18 if i < 20 else None)
    ...     for t in range(24):
    ...         shock = np.sin(t)  # common to every unit
    ...         eff = -1.0 if g is not None and t >= g else 0.0
    ...         rows.append((i, t, g, 5 + i / 10 + shock + eff + rng.normal(0, 0.1)))
    >>> d = pd.DataFrame(rows, columns=["unit", "t", "cohort", "y"])
    >>> r = comparative_its(d, "unit", "t", "cohort", "y").set_index("term")
    >>> round(float(r.loc["level_change", "estimate"]), 1), int(r.loc["level_change", "n_control"])
    (-1.0, 20)
    """
    if control not in ("notyet", "never"):
        raise AnalysisError(f"control must be 'notyet' or 'never', got '{control}'")
    if inference not in ("cluster", "wild"):
        raise AnalysisError(f"inference must be 'cluster' or 'wild', got '{inference}'")
    y = _numeric_outcome(panel, (unit, time, cohort, outcome), outcome)
    if panel.duplicated([unit, time]).any():
        raise DataError("duplicate rows for a unit and period", column=time,
                        rule="one row per unit and period")
    tkey, kind, tz = _keys(panel[time], time)
    never = panel[cohort].map(_never).to_numpy()
    gkey = np.full(len(panel), np.inf)
    if (~never).any():
        gk, gkind, _ = _keys(panel.loc[~never, cohort], cohort, tz=tz)
        if gkind != kind:
            raise DataError(f"cohorts are {gkind}s but the periods in '{time}' are {kind}s",
                            column=cohort, rule="same kind of period")
        gkey[~never] = gk.to_numpy()
    else:
        raise DataError("no unit is in the programme", column=cohort,
                        rule="a first exposed period for the treated units")
    if treated is None:
        t0 = float(np.min(gkey[~never]))
    else:
        tk, tkind, _ = _keys(pd.Series([treated]), "treated", tz=tz)
        if tkind != kind:
            raise DataError(f"treated cohort {treated!r} is a {tkind} but the periods in "
                            f"'{time}' are {kind}s", column=cohort, rule="same kind of period")
        t0 = float(tk.iloc[0])
        if not np.any(gkey == t0):
            raise DataError(f"no unit has cohort {treated!r}", column=cohort,
                            rule="treated must be one of the cohorts")
    d = pd.DataFrame({"u": panel[unit].to_numpy(), "t": tkey.to_numpy(), "g": gkey,
                      "y": y.to_numpy()}).dropna(subset=["y"])
    is_t = d["g"].to_numpy() == t0
    if control == "notyet":
        comp = (d["g"].to_numpy() > t0) & (d["t"].to_numpy() < d["g"].to_numpy())
    else:
        comp = np.isinf(d["g"].to_numpy())
    d = d.loc[is_t | comp].reset_index(drop=True)
    T = (d["g"].to_numpy() == t0).astype(float)
    times = np.sort(d["t"].unique())
    pos = np.searchsorted(times, d["t"].to_numpy()).astype(float)
    k0 = int(np.searchsorted(times, t0))
    n_treated = int(d.loc[T == 1, "u"].nunique())
    n_control = int(d.loc[T == 0, "u"].nunique())
    tpos = pos[T == 1]
    n_pre, n_post = int((np.unique(tpos) < k0).sum()), int((np.unique(tpos) >= k0).sum())
    if n_pre < 3 or n_post < 2:
        raise DataError(f"too few periods: {n_pre} before and {n_post} after the "
                        "intervention", column=time, rule="at least 3 before and 2 after")
    if n_control < 2:
        raise DataError(f"{n_control} comparison unit(s)", column=cohort,
                        rule="at least 2 units not yet in the programme")
    post = (pos >= k0).astype(float)
    X = np.column_stack([T * pos, T * post, T * post * (pos - k0)])
    uid = pd.factorize(d["u"])[0]
    R = _absorb(np.column_stack([d["y"].to_numpy(float), X]), uid, pos.astype(int))
    yr, Xr = R[:, 0], R[:, 1:]
    H = Xr.T @ Xr
    Hinv = np.linalg.inv(H)
    b = Hinv @ Xr.T @ yr
    u = yr - Xr @ b
    G = int(uid.max() + 1)
    S = np.vstack([np.bincount(uid, weights=Xr[:, j] * u, minlength=G) for j in range(3)]).T
    n, k = len(d), 3 + len(times) - 1
    c = G / (G - 1) * (n - 1) / (n - k)
    V = c * Hinv @ (S.T @ S) @ Hinv
    se = np.sqrt(np.diag(V))
    # effective number of clusters of each coefficient (Carter, Schnepel and Steigerwald
    # 2017, working model Omega_g = I): with few treated units their scores dominate
    A = Xr @ Hinv  # column j: the weights of coefficient j on each row
    gam = np.vstack([np.bincount(uid, weights=A[:, j] ** 2, minlength=G) for j in range(3)])
    gbar = gam.mean(1, keepdims=True)
    g_eff = G / (1 + ((gam - gbar) ** 2).mean(1) / gbar[:, 0] ** 2)
    dof = np.maximum(g_eff - 1, 1.0)
    if inference == "cluster":
        q = stats.t.ppf(1 - alpha / 2, dof)
        lo, hi = b - q * se, b + q * se
        p = 2 * stats.t.sf(np.abs(b / se), dof)
    else:
        rng = np.random.default_rng(seed)
        W = WEBB[rng.integers(0, 6, (n_boot, G))]
        draws = np.sqrt(c) * (W @ (S @ Hinv))  # b* - b, one row per draw
        half = np.quantile(np.abs(draws), 1 - alpha, axis=0)
        lo, hi = b - half, b + half
        p = (np.abs(draws) >= np.abs(b)).mean(0)
    rows = []
    for j, term in enumerate(["pre_trend_diff", "level_change", "slope_change"]):
        rows.append({"term": term, "estimate": float(b[j]), "se": float(se[j]),
                     "ci_low": float(lo[j]), "ci_high": float(hi[j]), "p_val": float(p[j]),
                     "df": float(dof[j]) if inference == "cluster" else np.nan,
                     "g_eff": float(g_eff[j]), "n": n, "n_treated": n_treated,
                     "n_control": n_control, "n_pre": n_pre, "inference": inference})
    return pd.DataFrame(rows)
