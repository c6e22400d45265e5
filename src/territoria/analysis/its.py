"""Interrupted time series: segmented regression with level and slope change, Newey-West SEs.

For one territory or the whole city: the outcome's series before the programme defines a level
and a trend; the model estimates the jump at the first exposed period (level change) and the
change of trend afterwards (slope change).

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

__all__ = ["its", "newey_west_lags"]


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
    for c in cols:
        if c not in data.columns:
            raise AnalysisError(f"column '{c}' not in the data (columns: "
                                f"{', '.join(map(str, data.columns))})")
    y = pd.to_numeric(data[outcome], errors="coerce")
    if (y.isna() & data[outcome].notna()).any():
        raise DataError("outcome values must be numeric", column=outcome, rule="numeric")
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
