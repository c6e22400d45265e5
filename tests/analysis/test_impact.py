"""Tests of territoria.analysis.impact against R `did` output on mpdta.

Reference values: tests/data/reference/r_did_mpdta_{attgt,aggte}.csv (R did, bstrap=FALSE;
see SOURCE_mpdta.md). A few numbers are also written out below with their source beside them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territoria.analysis.impact import (
    aggregate,
    att_gt,
    evaluate_impact,
    placebo,
    simulate_staggered,
    twfe,
)
from territoria.exceptions import AnalysisError, DataError
from territoria.figures import event_study_plot

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
TOL = 1e-4


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(REF / "mpdta.csv")


@pytest.fixture(scope="module")
def ref_attgt() -> pd.DataFrame:
    return pd.read_csv(REF / "r_did_mpdta_attgt.csv")


@pytest.fixture(scope="module")
def ref_aggte() -> pd.DataFrame:
    return pd.read_csv(REF / "r_did_mpdta_aggte.csv")


SCENARIOS = {
    "mpdta_nev_dr": {"control": "never"},
    "mpdta_nyt_dr": {"control": "notyet"},
    "mpdta_nev_reg_cov": {"control": "never", "covariates": ["lpop"]},
}


def _fit(mpdta, scenario):
    return att_gt(mpdta, "countyreal", "year", "first.treat", "lemp", **SCENARIOS[scenario])


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_att_gt_matches_r_did(mpdta, ref_attgt, scenario):
    res = _fit(mpdta, scenario)
    ref = ref_attgt[ref_attgt.scenario == scenario]
    m = res.merge(ref, left_on=["group", "time"], right_on=["group", "t"], suffixes=("", "_r"))
    assert len(m) == 12 == len(res)
    np.testing.assert_allclose(m["estimate"], m["att"], atol=TOL)
    np.testing.assert_allclose(m["se"], m["se_r"], atol=TOL)


def test_att_gt_readme_numbers(mpdta):
    res = _fit(mpdta, "mpdta_nev_dr").set_index(["group", "time"])["estimate"]
    # R did README (bcallaway11/did @0c4287f), summary(att_gt(..., est_method="reg")):
    assert res[(2004, 2006)] == pytest.approx(-0.1373, abs=5e-5)
    assert res[(2007, 2004)] == pytest.approx(0.0305, abs=5e-5)
    assert res[(2006, 2007)] == pytest.approx(-0.0412, abs=5e-5)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind,rtype", [("simple", "simple"), ("group", "group"),
                                        ("event", "dynamic"), ("calendar", "calendar")])
def test_aggregations_match_r_aggte(mpdta, ref_aggte, scenario, kind, rtype):
    agg = aggregate(_fit(mpdta, scenario), kind)
    ref = ref_aggte[(ref_aggte.scenario == scenario) & (ref_aggte.type == rtype)]
    overall = agg[agg.overall].iloc[0]
    assert overall["estimate"] == pytest.approx(ref["overall_att"].iloc[0], abs=TOL)
    assert overall["se"] == pytest.approx(ref["overall_se"].iloc[0], abs=TOL)
    if kind != "simple":
        parts = agg[~agg.overall].reset_index(drop=True)
        np.testing.assert_allclose(parts["key"].astype(float), ref["egt"].astype(float))
        np.testing.assert_allclose(parts["estimate"], ref["att_egt"], atol=TOL)
        np.testing.assert_allclose(parts["se"], ref["se_egt"], atol=TOL)


def test_simple_att_numbers_written_out(mpdta):
    # R did aggte(type="simple", bstrap=FALSE), never treated: -0.0399512751551763 (se
    # 0.0120340127701854); not yet treated: -0.0397636256230437 (0.0120524247873419).
    nev = aggregate(_fit(mpdta, "mpdta_nev_dr"), "simple").iloc[0]
    nyt = aggregate(_fit(mpdta, "mpdta_nyt_dr"), "simple").iloc[0]
    assert nev["estimate"] == pytest.approx(-0.0399512751551763, abs=1e-8)
    assert nev["se"] == pytest.approx(0.0120340127701854, abs=1e-8)
    assert nyt["estimate"] == pytest.approx(-0.0397636256230437, abs=1e-8)
    assert nyt["se"] == pytest.approx(0.0120524247873419, abs=1e-8)


def test_matches_differences_package(mpdta):
    differences = pytest.importorskip("differences")
    d = mpdta.copy()
    d["cohort"] = d["first.treat"].where(d["first.treat"] > 0)
    d = d.set_index(["countyreal", "year"])
    for ctl, ours in (("never_treated", "never"), ("not_yet_treated", "notyet")):
        m = differences.ATTgt(data=d, cohort_column="cohort")
        m.fit(formula="lemp", est_method="reg", control_group=ctl, progress_bar=False)
        ref = m.aggregate("event")
        mine = aggregate(att_gt(mpdta, "countyreal", "year", "first.treat", "lemp",
                                control=ours), "event")
        mine = mine[~mine.overall]
        np.testing.assert_allclose(mine["estimate"], ref.iloc[:, 0].to_numpy(), atol=TOL)
        np.testing.assert_allclose(mine["se"], ref.iloc[:, 1].to_numpy(), atol=TOL)


def test_weights_equal_one_change_nothing_and_frequency_weights(mpdta):
    d = mpdta.assign(w=1.0)
    a = aggregate(att_gt(d, "countyreal", "year", "first.treat", "lemp", weights="w"), "simple")
    b = aggregate(att_gt(d, "countyreal", "year", "first.treat", "lemp"), "simple")
    assert a["estimate"].iloc[0] == pytest.approx(b["estimate"].iloc[0], abs=1e-12)
    # integer weights give the same point estimates as duplicating units
    rng = np.random.default_rng(0)
    wu = pd.Series(rng.integers(1, 4, d.countyreal.nunique()), index=d.countyreal.unique())
    d["w"] = d.countyreal.map(wu).astype(float)
    wres = att_gt(d, "countyreal", "year", "first.treat", "lemp", weights="w")
    dup = d.loc[d.index.repeat(d["w"].astype(int))].copy()
    dup["rep"] = dup.groupby(["countyreal", "year"]).cumcount()
    dup["uid"] = dup["countyreal"].astype(str) + "_" + dup["rep"].astype(str)
    dres = att_gt(dup, "uid", "year", "first.treat", "lemp")
    np.testing.assert_allclose(wres["estimate"], dres["estimate"], atol=1e-10)


def test_twfe_against_statsmodels_dummies(mpdta):
    import statsmodels.formula.api as smf

    d = mpdta.copy()
    d["D"] = ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).astype(float)
    fit = smf.ols("lemp ~ D + C(countyreal) + C(year)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": d["countyreal"]})
    ours = twfe(mpdta, "countyreal", "year", "first.treat", "lemp").iloc[0]
    assert ours["estimate"] == pytest.approx(fit.params["D"], abs=1e-10)
    # statsmodels counts the 500 unit dummies in K: factor (N-1)/(N-K_all); ours excludes them.
    N, G, T = 2500, 500, 5
    k_ours, k_sm = 1 + (T - 1) + 1, 1 + (T - 1) + (G - 1) + 1
    ratio = np.sqrt((N - k_sm) / (N - k_ours))
    assert ours["se"] == pytest.approx(fit.bse["D"] * ratio, rel=1e-8)
    assert ours["df"] == G - 1


def test_event_study_plot_and_alt_text(mpdta):
    ev = aggregate(_fit(mpdta, "mpdta_nev_dr"), "event")
    fig, alt = event_study_plot(ev, lang="es")
    assert "3 periodos antes y 4 después" in alt
    ax = fig.axes[0]
    assert "Periodos desde la incorporación" in ax.get_xlabel()
    _, alt_en = event_study_plot(ev, lang="en")
    assert "3 periods before and 4 after" in alt_en
    import matplotlib.pyplot as plt

    plt.close("all")


def test_placebo_is_null_on_simulated_panel():
    panel = simulate_staggered(n_units=120, n_periods=24, cohorts={14: 30, 18: 30},
                               effect=-0.5, noise_sd=0.2, seed=11)
    r = placebo(panel, "unit", "time", "cohort", "y", shift=6).iloc[0]
    assert abs(r["estimate"]) < 3 * r["se"]
    assert r["n_periods"] == 14
    real = aggregate(att_gt(panel, "unit", "time", "cohort", "y"), "simple").iloc[0]
    assert abs(real["estimate"] + 0.5) < 3 * real["se"]


def test_dates_and_string_cohorts_monthly():
    panel = simulate_staggered(n_units=50, n_periods=10, cohorts={4: 10, 6: 10},
                               effect=-0.3, noise_sd=0.05, seed=3)
    months = pd.period_range("2019-01", periods=10, freq="M").astype(str)
    d = panel.assign(time=months[panel.time.to_numpy()],
                     cohort=np.where(panel.cohort > 0, months[panel.cohort.to_numpy()], ""))
    a = att_gt(d, "unit", "time", "cohort", "y")
    b = att_gt(panel, "unit", "time", "cohort", "y")
    np.testing.assert_allclose(a["estimate"], b["estimate"])
    assert str(a["group"].iloc[0].date()) == "2019-05-01"


def test_speed_city_size():
    panel = simulate_staggered(n_units=293, n_periods=108,
                               cohorts={36: 22, 42: 40, 48: 38, 54: 30}, seed=1)
    t0 = time.perf_counter()
    for ctl in ("never", "notyet"):
        res = att_gt(panel, "unit", "time", "cohort", "y", control=ctl)
        aggregate(res, "event")
    assert time.perf_counter() - t0 < 4.0  # about 0.3 s on the 2-core dev machine


# -- bad panels --------------------------------------------------------------------------
def _small():
    return simulate_staggered(n_units=10, n_periods=4, cohorts={2: 3}, seed=0)


@pytest.mark.parametrize("mutate,exc,text", [
    (lambda d: pd.concat([d, d.iloc[[0]]]), DataError, "duplicate rows for unit"),
    (lambda d: d.assign(cohort=np.where(d.cohort > 0, 9, 0)), DataError, "outside the time"),
    (lambda d: d.assign(cohort=np.where(d.unit < 9, 2, 0)), DataError, "never-treated"),
    (lambda d: d.assign(y=d.y.astype(str).where(d.index != 3, "n/a")), DataError,
     "not numeric"),
    (lambda d: d[d.time == 0], DataError, "single period"),
    (lambda d: d.drop(index=5), DataError, "unbalanced"),
    (lambda d: d.assign(cohort=np.where(d.cohort > 0, 0.0, 0) + (d.unit == 0) * d.time),
     DataError, "cohort changes"),
    (lambda d: d.rename(columns={"y": "z"}), AnalysisError, "column 'y' not in the panel"),
])
def test_bad_panels_raise_one_line_errors(mutate, exc, text):
    with pytest.raises(exc, match=text) as info:
        att_gt(mutate(_small()), "unit", "time", "cohort", "y")
    assert "\n" not in str(info.value)


def test_bad_options():
    with pytest.raises(AnalysisError, match="control 'x'"):
        att_gt(_small(), "unit", "time", "cohort", "y", control="x")
    res = att_gt(_small(), "unit", "time", "cohort", "y")
    with pytest.raises(AnalysisError, match="kind 'foo'"):
        aggregate(res, "foo")
    with pytest.raises(AnalysisError, match="att_gt"):
        aggregate(pd.DataFrame({"estimate": [1.0]}), "simple")


def test_evaluate_impact_json_shape(mpdta):
    out = evaluate_impact(mpdta, "countyreal", "year", "first.treat", "lemp", control="notyet")
    assert set(out["twfe"]) >= {"estimate", "se", "ci_low", "ci_high"}
    assert out["att_simple"]["estimate"] == pytest.approx(-0.0397636256230437, abs=TOL)
    assert out["n_units"] == 500 and out["n_periods"] == 5 and out["control"] == "notyet"
    assert len(out["att_gt"]) == 12 and {"g", "t", "e", "estimate", "se"} <= set(out["att_gt"][0])
    assert out["att_gt"][0]["g"] == 2004 and out["att_gt"][0]["t"] == 2004
    assert [r["e"] for r in out["event_study"] if not r["overall"]] == [-3, -2, -1, 0, 1, 2, 3]
    assert "bstrap=FALSE" in out["se_convention"]["cs"]
