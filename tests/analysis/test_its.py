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


# ------------------------------------------------------------------ comparative ITS
def _staggered(seed=0, n_units=40, n_periods=30, shock_sd=0.3):
    """Cohorts at 12 (10 units) and 20 (10 units), 20 never; common shocks; AR(1) errors."""
    from territoria.analysis.its import comparative_its  # noqa: F401 (import check)

    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, shock_sd, n_periods)
    rows = []
    for i in range(n_units):
        g = 12 if i < 10 else (20 if i < 20 else np.nan)
        mu, e = rng.normal(3, 0.5), 0.0
        for t in range(n_periods):
            e = 0.3 * e + rng.normal(0, 0.2)
            eff = (-0.5 - 0.02 * (t - g)) if (g == g and t >= g) else 0.0
            rows.append((f"u{i}", t, g, mu + 0.01 * t + shocks[t] + eff + e))
    return pd.DataFrame(rows, columns=["unit", "t", "cohort", "y"])


def test_comparative_its_matches_dummy_regression_with_cluster_se():
    import statsmodels.formula.api as smf

    from territoria.analysis.its import comparative_its

    d = _staggered()
    r = comparative_its(d, "unit", "t", "cohort", "y").set_index("term")
    # reference: OLS with unit and period dummies on treated + not-yet-treated rows
    keep = (d.cohort == 12) | ((d.cohort.isna() | (d.cohort > 12)) & ~(d.t >= d.cohort))
    s = d[keep].copy()
    s["T"] = (s.cohort == 12).astype(float)
    s["tt"], s["tp"] = s["T"] * s.t, s["T"] * (s.t >= 12)
    s["ts"] = s["tp"] * (s.t - 12)
    fit = smf.ols("y ~ tt + tp + ts + C(unit) + C(t)", data=s).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(s.unit)[0]})
    np.testing.assert_allclose(r["estimate"], fit.params[["tt", "tp", "ts"]], rtol=1e-9)
    # statsmodels counts the unit dummies in K; reghdfe does not (nested in the clusters)
    n, k_sm = len(s), len(fit.params)
    k_kit = 3 + s.t.nunique() - 1
    se = fit.bse[["tt", "tp", "ts"]] * np.sqrt((n - k_sm) / (n - k_kit))
    np.testing.assert_allclose(r["se"], se, rtol=1e-9)
    assert r.loc["level_change", "n_treated"] == 10
    assert r.loc["level_change", "n_control"] == 30 and r.loc["level_change", "n"] == len(s)
    assert r.loc["level_change", "ci_low"] < -0.5 < r.loc["level_change", "ci_high"]
    # t with G* - 1 df, G* the effective number of clusters (Carter et al. 2017): between the
    # number of treated units and the number of units
    from scipy import stats as st

    assert (r["g_eff"] > 10).all() and (r["g_eff"] < 40).all()
    q = st.t.ppf(0.975, r["df"])
    np.testing.assert_allclose(r["ci_high"] - r["estimate"], q * r["se"], rtol=1e-12)


def test_comparative_its_wild_bootstrap_and_options():
    from territoria.analysis.its import comparative_its

    d = _staggered(seed=1)
    c = comparative_its(d, "unit", "t", "cohort", "y").set_index("term")
    w = comparative_its(d, "unit", "t", "cohort", "y", inference="wild", n_boot=1999,
                        seed=3).set_index("term")
    np.testing.assert_allclose(w["estimate"], c["estimate"])
    width_c = c["ci_high"] - c["ci_low"]
    width_w = w["ci_high"] - w["ci_low"]
    assert ((width_w / width_c) > 0.7).all() and ((width_w / width_c) < 1.3).all()
    assert (w["inference"] == "wild").all()
    # the second cohort against the never treated; dates as periods give the same answer
    n = comparative_its(d, "unit", "t", "cohort", "y", treated=20, control="never")
    assert n.loc[0, "n_control"] == 20 and n.loc[0, "n_treated"] == 10
    months = pd.date_range("2018-01-01", periods=30, freq="MS")
    dd = d.assign(t=months[d.t.to_numpy()],
                  cohort=d.cohort.map(lambda g: months[int(g)] if g == g else None))
    r2 = comparative_its(dd, "unit", "t", "cohort", "y")
    np.testing.assert_allclose(r2["estimate"], c["estimate"], rtol=1e-10)


def test_comparative_its_errors():
    from territoria.analysis.its import comparative_its

    d = _staggered()
    with pytest.raises(DataError, match="no unit has cohort"):
        comparative_its(d, "unit", "t", "cohort", "y", treated=13)
    with pytest.raises(DataError, match="duplicate"):
        comparative_its(pd.concat([d, d.head(1)]), "unit", "t", "cohort", "y")
    with pytest.raises(DataError, match="comparison unit"):
        comparative_its(d[d.cohort == 12], "unit", "t", "cohort", "y")
    with pytest.raises(DataError, match="too few periods"):
        comparative_its(d[d.t >= 10], "unit", "t", "cohort", "y")
    with pytest.raises(AnalysisError, match="inference"):
        comparative_its(d, "unit", "t", "cohort", "y", inference="hc3")
