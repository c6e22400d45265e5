"""Design-based estimation checked against R ``survey`` on the California API samples.

Reference numbers come from ``tests/data/reference/api_reference.out``, printed by
``api_reference.R`` (R 4.2.2, survey 4.1.1). Headline values are also published in the survey
documentation (``?svymean``) and Lumley (2010) *Complex Surveys*, sec. 2.2-2.3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territoria.analysis.survey import design_weights, estimate, poststratify
from territoria.exceptions import AnalysisError

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
RTOL = 1e-3


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(REF / "apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(REF / "apiclus1.csv")


def strat(df, var, **kw):
    return estimate(df, var, weight="pw", strata="stype", fpc="fpc", **kw)


def clus1(df, var, **kw):
    return estimate(df, var, weight="pw", psu="dnum", fpc="fpc", **kw)


def check(row, est, se, lo=None, hi=None, deff=None):
    assert row["estimate"] == pytest.approx(est, rel=RTOL)
    assert row["se"] == pytest.approx(se, rel=RTOL)
    if lo is not None:
        assert row["ci_low"] == pytest.approx(lo, rel=RTOL)
        assert row["ci_high"] == pytest.approx(hi, rel=RTOL)
    if deff is not None:
        assert row["deff"] == pytest.approx(deff, rel=RTOL)


# --- published values --------------------------------------------------------------------

def test_stratified_mean_matches_published(apistrat):
    # survey ?svymean / Lumley (2010) p. 23: svymean(~api00, dstrat) 662.29, SE 9.4089
    # confint(df = degf(dstrat) = 197): 643.7322 680.8425; deff 1.2045 (api_reference.out)
    res = strat(apistrat, "api00")
    assert list(res.columns) == ["estimate", "se", "ci_low", "ci_high", "n", "deff"]
    check(res.iloc[0], 662.287363159, 9.40894080278, 643.732188272, 680.842538047, 1.20445726854)
    assert res.loc[0, "n"] == 200
    assert res.attrs["df"] == 197


def test_cluster_mean_and_total_match_published(apiclus1):
    # Lumley (2010) p. 30-31: svymean(~api00, dclus1) 644.17 SE 23.542;
    # svytotal(~enroll, dclus1) 3404940 SE 932235. CIs with df = degf(dclus1) = 14, deff=TRUE.
    m = clus1(apiclus1, "api00")
    check(m.iloc[0], 644.169398907, 23.5422406938, 593.676314463, 694.662483351, 9.34586945059)
    t = clus1(apiclus1, "enroll", stat="total")
    check(t.iloc[0], 3404940.13453, 932235.027041, 1405494.85852, 5404385.41054, 31.3106560943)
    assert m.attrs["df"] == 14


def test_stratified_total(apistrat):
    # R: svytotal(~enroll, dstrat, deff=TRUE) 3687177.53 SE 114641.716, deff 0.362018
    check(strat(apistrat, "enroll", stat="total").iloc[0], 3687177.53244, 114641.716101,
          3461095.00772, 3913260.05716, 0.362018122363)


def test_without_fpc_is_with_replacement(apiclus1):
    # R: svydesign(id=~dnum, weights=~pw, data=apiclus1) -> svymean(~api00) SE 23.779011
    res = estimate(apiclus1, "api00", weight="pw", psu="dnum")
    check(res.iloc[0], 644.169398907, 23.7790107209, 593.168493261, 695.170304553, 9.53480212142)


def test_categorical_proportions(apiclus1, apistrat):
    # R: svymean(~stype, dclus1, deff=TRUE)
    res = clus1(apiclus1, "stype", stat="proportion").set_index("category")
    check(res.loc["E"], 0.7868852459016, 0.0463365536499, 0.6875032224693, 0.886267269334,
          2.40114506876)
    check(res.loc["H"], 0.0765027322404, 0.0268102190508, 0.0190005313202, 0.134004933161,
          1.90802483953)
    check(res.loc["M"], 0.1366120218579, 0.0296490466403, 0.0730211413144, 0.200202902401,
          1.39772718074)
    assert res["estimate"].sum() == pytest.approx(1.0)
    # R: svymean(~sch.wide, dstrat, deff=TRUE): Yes 0.827948 SE 0.0243448 deff 0.85557
    sw = strat(apistrat, "sch.wide", stat="proportion").set_index("category")
    check(sw.loc["Yes"], 0.827948011416, 0.0243447801131, 0.779938180973, 0.875957841859,
          0.855571850975)


def test_boolean_and_01_proportion_give_one_row(apistrat):
    data = apistrat.assign(yes=apistrat["sch.wide"] == "Yes",
                           yes01=(apistrat["sch.wide"] == "Yes").astype(int))
    for col in ("yes", "yes01"):
        res = strat(data, col, stat="proportion")
        assert len(res) == 1 and "category" not in res.columns
        check(res.iloc[0], 0.827948011416, 0.0243447801131)  # as svymean(~sch.wide) "Yes"


def test_nan_dropped_as_domain(apistrat):
    # R: svymean(~acs.k3, dstrat, na.rm=TRUE, deff=TRUE), CI with degf(subset(...)) = 96
    res = strat(apistrat, "acs.k3")
    check(res.iloc[0], 19.1649484536, 0.122647242838, 18.9214956007, 19.4084013065,
          0.999687598105)
    assert res.loc[0, "n"] == 97
    assert res.attrs["df"] == 96


def test_by_domains_match_svyby(apiclus1):
    # R: svyby(~api00, ~stype, dclus1, svymean, deff=TRUE); confint(b, df=degf(dclus1))
    # Domains are unbalanced (144 / 14 / 25 schools) and spread over shared PSUs, so
    # subsetting rows instead of zeroing would give different SEs.
    res = clus1(apiclus1, "api00", by="stype").set_index("stype")
    check(res.loc["E"], 648.868055556, 22.3624088938, 600.905458650, 696.830652461, 6.58367352503)
    check(res.loc["H"], 618.571428571, 38.0202493594, 537.026103874, 700.116753269, 2.22825931687)
    check(res.loc["M"], 631.440000000, 31.6094652272, 563.644439768, 699.235560232, 2.16389972008)
    assert res["n"].tolist() == [144, 14, 25]
    # subsetting (wrong) is not what we do:
    sub = estimate(apiclus1[apiclus1.stype == "H"], "api00", weight="pw", psu="dnum", fpc="fpc")
    assert not np.isclose(sub.loc[0, "se"], res.loc["H", "se"], rtol=RTOL)


def test_by_total_and_proportion(apiclus1, apistrat):
    # R: svyby(~enroll, ~stype, dclus1, svytotal, deff=TRUE)
    t = clus1(apiclus1, "enroll", by="stype", stat="total").set_index("stype")
    check(t.loc["E"], 2109717.126835, 631349.386275, deff=125.039075310)
    check(t.loc["H"], 535594.869568, 226716.594706, deff=4.645815742)
    check(t.loc["M"], 759628.138126, 213635.484268, deff=13.014931706)
    # R: svyby(~sch.wide, ~stype, dstrat, svymean)
    p = strat(apistrat, "sch.wide", by="stype", stat="proportion")
    p = p.set_index(["stype", "category"])
    check(p.loc[("H", "Yes")], 0.52, 0.0689676349228)
    check(p.loc[("M", "No")], 0.30, 0.0638374303472)
    check(p.loc[("E", "Yes")], 0.91, 0.0284351962064)


def test_by_with_nan_in_var(apistrat):
    # R: svyby(~acs.core, ~comp.imp, dstrat, svymean, na.rm=TRUE)
    res = strat(apistrat, "acs.core", by="comp.imp").set_index("comp.imp")
    check(res.loc["No"], 27.5968749685, 0.394767682629)
    check(res.loc["Yes"], 26.8658618933, 0.561064481457)


@pytest.mark.parametrize(
    "option, mean_se, total_se",
    [  # R: options(survey.lonely.psu=...); svydesign(id=~dnum, strata=~cname, weights=~pw)
        ("adjust", 22.0684757015, 1006035.97139),
        ("remove", 7.81825635335, 313730.677118),
        ("certainty", 7.81825635335, 313730.677118),
    ],
)
def test_lonely_psu_options(apiclus1, option, mean_se, total_se):
    kw = dict(weight="pw", psu="dnum", strata="cname", lonely_psu=option)
    check(estimate(apiclus1, "api00", **kw).iloc[0], 644.169398907, mean_se)
    check(estimate(apiclus1, "enroll", stat="total", **kw).iloc[0], 3404940.13453, total_se)


def test_lonely_psu_fails_by_default(apiclus1):
    with pytest.raises(AnalysisError, match="only one PSU.*lonely_psu"):
        estimate(apiclus1, "api00", weight="pw", psu="dnum", strata="cname")


def test_empty_groups_and_all_nan_group():
    df = pd.DataFrame({
        "y": [1.0, 2.0, np.nan, np.nan, 5.0, 6.0],
        "w": [1.0, 2.0, 1.0, 1.0, 2.0, 1.0],
        "g": pd.Categorical(["a", "a", "b", "b", "c", "c"], categories=["a", "b", "c", "d"]),
    })
    res = estimate(df, "y", weight="w", by="g").set_index("g")
    assert list(res.index) == ["a", "b", "c", "d"]
    assert res.loc["b", "n"] == 0 and np.isnan(res.loc["b", "estimate"])
    assert res.loc["d", "n"] == 0 and np.isnan(res.loc["d", "se"])
    assert res.loc["a", "estimate"] == pytest.approx((1 * 1 + 2 * 2) / 3)
    assert res.loc["c", "estimate"] == pytest.approx((5 * 2 + 6 * 1) / 3)


def test_unbalanced_srs_matches_textbook_formula():
    # Equal weights, no strata/PSU: SE^2 = (1 - n/N) s^2 / n with N = sum of weights
    rng = np.random.default_rng(1)
    y = rng.normal(10, 2, size=37)
    df = pd.DataFrame({"y": y, "w": 100.0})
    res = estimate(df, "y", weight="w")
    n, big_n = 37, 3700
    se = np.sqrt(y.var(ddof=1) / n)  # R uses the with-replacement formula without fpc
    assert res.loc[0, "se"] == pytest.approx(se, rel=1e-9)
    assert res.loc[0, "deff"] == pytest.approx(1 / (1 - n / big_n), rel=1e-9)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.assign(pw=-d["pw"]), "negative"),
        (lambda d: d.assign(pw=d["pw"].where(d.index != 3)), "missing"),
        (lambda d: d.assign(dnum=d["dnum"].astype(float).where(d.index != 0)), "dnum.*missing"),
    ],
)
def test_bad_weights_and_design(apiclus1, mutate, message):
    with pytest.raises(AnalysisError, match=message):
        clus1(mutate(apiclus1.copy()), "api00")


def test_unknown_names_and_options(apiclus1):
    with pytest.raises(AnalysisError, match="unknown variable column.*'nope'"):
        clus1(apiclus1, "nope")
    with pytest.raises(AnalysisError, match="unknown by column"):
        clus1(apiclus1, "api00", by="zone")
    with pytest.raises(AnalysisError, match="stat='median'"):
        clus1(apiclus1, "api00", stat="median")
    with pytest.raises(AnalysisError, match="other than 0/1"):
        clus1(apiclus1, "api00", stat="proportion")
    with pytest.raises(AnalysisError, match="lonely_psu"):
        clus1(apiclus1, "api00", lonely_psu="average")


# --- weights -------------------------------------------------------------------------------

def test_poststratify_matches_r_postStratify(apiclus1):
    # R: postStratify(dclus1, ~stype, data.frame(stype=c("E","H","M"), Freq=c(4421,755,1018)))
    # svymean(~api00, dps) = 642.310788212 (api_reference.out)
    census = pd.DataFrame({"stype": ["E", "H", "M"], "population": [4421, 755, 1018]})
    w = poststratify(apiclus1, "pw", cells="stype", margins=census)
    assert w.groupby(apiclus1["stype"]).sum().to_dict() == pytest.approx(
        {"E": 4421, "H": 755, "M": 1018})
    res = estimate(apiclus1.assign(wps=w), "api00", weight="wps", psu="dnum", fpc="fpc")
    assert res.loc[0, "estimate"] == pytest.approx(642.310788212, rel=1e-9)


def test_poststratify_sex_age_by_territory_and_errors():
    resp = pd.DataFrame({
        "territory_id": ["07-001"] * 4 + ["07-002"] * 2,
        "sex": ["female", "female", "male", "male", "female", "male"],
        "age_group": ["18_29", "18_29", "30_44", "30_44", "18_29", "18_29"],
        "w": 1.0,
    })
    census = pd.DataFrame({
        "territory_id": ["07-001", "07-001", "07-002", "07-002"],
        "sex": ["female", "male", "female", "male"],
        "age_group": ["18_29", "30_44", "18_29", "18_29"],
        "population": [300, 100, 50, 70],
    })
    cells = ["territory_id", "sex", "age_group"]
    w = poststratify(resp, "w", cells=cells, margins=census)
    assert w.tolist() == [150.0, 150.0, 50.0, 50.0, 50.0, 70.0]
    extra = pd.concat([census, pd.DataFrame(
        [{"territory_id": "07-001", "sex": "male", "age_group": "60_plus", "population": 9}])])
    with pytest.raises(AnalysisError, match="60_plus.*no respondents"):
        poststratify(resp, "w", cells=cells, margins=extra)
    with pytest.raises(AnalysisError, match="has no census count"):
        poststratify(resp, "w", cells=cells, margins=census.iloc[:3])
    with pytest.raises(AnalysisError, match="more than once"):
        poststratify(resp, "w", cells=cells, margins=pd.concat([census, census.iloc[:1]]))
    # an empty census cell (population 0) without respondents is fine
    zero = pd.concat([census, pd.DataFrame(
        [{"territory_id": "07-002", "sex": "male", "age_group": "60_plus", "population": 0}])])
    assert poststratify(resp, "w", cells=cells, margins=zero).sum() == pytest.approx(520)


def test_design_weights():
    resp = pd.DataFrame({"block": ["a", "a", "a", "b", "c"]})
    frame = pd.DataFrame({"block": ["a", "b", "c", "d"], "households": [30, 12, 7, 20]})
    w = design_weights(resp, frame, strata="block", count="households")
    assert w.tolist() == [10.0, 10.0, 10.0, 12.0, 7.0]
    with pytest.raises(AnalysisError, match="not in the frame"):
        design_weights(resp.assign(block=["a", "a", "a", "b", "z"]), frame, strata="block",
                       count="households")
    with pytest.raises(AnalysisError, match="positive"):
        design_weights(resp, frame.assign(households=[30, 0, 7, 20]), strata="block",
                       count="households")
