"""Tests of territoria.analysis.its (segmented regression, Newey-West)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territoria.analysis.its import its, newey_west_lags
from territoria.exceptions import AnalysisError, DataError


def _series(seed=0, n=60, t0=30, level=-1.0, slope=-0.05):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    e = np.zeros(n)
    for k in range(1, n):  # AR(1) errors
        e[k] = 0.5 * e[k - 1] + rng.normal(0, 0.3)
    y = 5 + 0.02 * t + level * (t >= t0) + slope * np.maximum(t - t0, 0) * (t >= t0) + e
    return pd.DataFrame({"t": t, "y": y})


def _newey_west_by_hand(X, y, L):
    """Newey & West (1987) Bartlett-kernel HAC with factor n/(n-k), written from the formula
    (equals R sandwich::NeweyWest(fit, lag=L, prewhite=FALSE, adjust=TRUE))."""
    n, k = X.shape
    XtX_inv = np.linalg.inv(X.T @ X)
    b = XtX_inv @ X.T @ y
    u = y - X @ b
    Xu = X * u[:, None]
    S = Xu.T @ Xu
    for lag in range(1, L + 1):
        w = 1 - lag / (L + 1)
        G = Xu[lag:].T @ Xu[:-lag]
        S += w * (G + G.T)
    V = XtX_inv @ S @ XtX_inv * n / (n - k)
    return b, np.sqrt(np.diag(V))


def test_matches_newey_west_formula():
    d = _series()
    r = its(d, "t", "y", intervention=30, maxlags=3).set_index("term")
    t = d.t.to_numpy(float)
    post = (t >= 30).astype(float)
    X = np.column_stack([np.ones(60), t, post, post * (t - 30)])
    b, se = _newey_west_by_hand(X, d.y.to_numpy(), 3)
    np.testing.assert_allclose(r["estimate"], b, rtol=1e-10)
    np.testing.assert_allclose(r["se"], se, rtol=1e-10)
    assert r.loc["level_change", "n_pre"] == 30 and r.loc["level_change", "maxlags"] == 3


def test_default_lag_rule():
    # Newey & West (1994): floor(4 (n/100)^(2/9)); n=108 months -> 4, n=60 -> 3
    assert newey_west_lags(108) == 4
    assert newey_west_lags(60) == 3


def test_recovers_level_and_slope_and_averages_units_with_dates():
    rng = np.random.default_rng(1)
    months = pd.period_range("2016-01", "2024-12", freq="M").astype(str)
    rows = []
    for u in range(20):
        a = rng.normal(0, 1)
        for k, m in enumerate(months):
            post = k >= 36
            rows.append((u, m, 3 + a + 0.3 * np.sin(2 * np.pi * k / 12) - 0.1 * post
                         - 0.002 * (k - 36) * post + rng.normal(0, 0.1)))
    d = pd.DataFrame(rows, columns=["unit", "month", "y"])
    r = its(d, "month", "y", intervention="2019-01", season=12, unit="unit").set_index("term")
    assert r.loc["level_change", "ci_low"] < -0.1 < r.loc["level_change", "ci_high"]
    assert r.loc["slope_change", "estimate"] == pytest.approx(-0.002, abs=0.001)
    assert r.loc["level_change", "n"] == 108


def test_errors():
    d = _series()
    with pytest.raises(DataError, match="outside the series"):
        its(d, "t", "y", intervention=100)
    with pytest.raises(DataError, match="too few periods"):
        its(d, "t", "y", intervention=1)
    with pytest.raises(AnalysisError, match="column 'z'"):
        its(d, "t", "z", intervention=30)
    with pytest.raises(DataError, match="numeric"):
        its(d.assign(y=d.y.astype(str).where(d.t != 3, "x")), "t", "y", intervention=30)


@pytest.mark.parametrize("kind", ["datetime64[ns]", "datetime64[s]", "tz", "date", "period",
                                  "string"])
@pytest.mark.parametrize("when", ["2018-07", "timestamp", "datetime64", "period"])
def test_datetime_time_column(kind, when):
    d = _series(seed=3)
    months = pd.date_range("2016-01-01", periods=60, freq="MS")  # month 30 = 2018-07
    col = {"datetime64[ns]": pd.Series(months),
           "datetime64[s]": pd.Series(months).astype("datetime64[s]"),
           "tz": pd.Series(months).dt.tz_localize("America/Mexico_City"),
           "date": pd.Series(months).dt.date,
           "period": pd.Series(months).dt.to_period("M"),
           "string": pd.Series(months).dt.strftime("%Y-%m")}[kind]
    iv = {"2018-07": "2018-07", "timestamp": pd.Timestamp("2018-07-01"),
          "datetime64": np.datetime64("2018-07-01"), "period": pd.Period("2018-07", "M")}[when]
    ref = its(d, "t", "y", intervention=30).set_index("term")
    r = its(d.assign(t=col), "t", "y", intervention=iv).set_index("term")
    assert r.loc["level_change", "n_pre"] == 30
    np.testing.assert_allclose(r["estimate"], ref["estimate"], rtol=1e-10)
    np.testing.assert_allclose(r["se"], ref["se"], rtol=1e-10)


def test_date_intervention_on_numeric_periods_is_one_clear_error():
    with pytest.raises(DataError, match="is a date but the periods"):
        its(_series(), "t", "y", intervention="2018-07")
    bad = _series().assign(t=["2016-01"] * 59 + ["not a month"])
    with pytest.raises(DataError, match="neither a number nor a date"):
        its(bad, "t", "y", intervention="2016-01")
