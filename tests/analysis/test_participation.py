"""Step 01: coverage, activity, attendance, links and representativeness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from territoria.analysis.participation import (
    AGE_GROUPS,
    ATTENDANCE_COLUMNS,
    SEXES,
    assemblies_by_month,
    attendance_summary,
    block_coverage,
    dissimilarity,
    links_per_1000,
    poisson_interval,
    repeat_participation,
    representativeness,
    wilson_interval,
)
from territoria.exceptions import AnalysisError


@pytest.mark.parametrize(
    "x, n, lo, hi",
    [  # Newcombe (1998), Stat Med 17:857, Table II, method 3 (Wilson score, no correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe(x, n, lo, hi):
    assert wilson_interval(x, n) == (lo, hi)
    ref = proportion_confint(x, n, method="wilson")  # statsmodels as a second reference
    np.testing.assert_allclose(wilson_interval(x, n, digits=None), ref, atol=1e-12)


def test_poisson_exact_interval():
    # Garwood exact 95 % limits for 10 events: 4.7954, 18.3904 (e.g. Ulm 1990, AJE 131:373)
    lo, hi = poisson_interval(10)
    assert (round(lo, 4), round(hi, 4)) == (4.7954, 18.3904)
    assert poisson_interval(0)[0] == 0.0 and poisson_interval(0)[1] == pytest.approx(3.6889, abs=1e-4)


def test_block_coverage_per_territory():
    blocks = pd.DataFrame({"block_id": [f"A-{i}" for i in range(10)] + ["B-1", "B-2"],
                           "territory_id": ["A"] * 10 + ["B"] * 2})
    asm = pd.DataFrame({"territory": ["A", "A", "A", "A", "B"],
                        "block": ["A-1", "A-1", "A-2", None, "B-2"],
                        "kind": ["block_assembly", "block_assembly", "working_table",
                                 "territorial_assembly", "block_assembly"]})
    cov = block_coverage(asm, blocks).set_index("territory_id")
    assert cov.loc["A", "blocks_covered"] == 2 and cov.loc["A", "coverage"] == 0.2
    np.testing.assert_allclose(cov.loc["A", ["ci_low", "ci_high"]].to_numpy(float),
                               proportion_confint(2, 10, method="wilson"), atol=1e-4)
    only_block = block_coverage(asm, blocks, kinds=["block_assembly"]).set_index("territory_id")
    assert only_block.loc["A", "blocks_covered"] == 1
    with pytest.raises(AnalysisError, match="not in the blocks table"):
        block_coverage(asm.assign(block="Z-9"), blocks)


def test_assemblies_by_month_fills_gaps_and_rejects_unknown_modes():
    a = pd.DataFrame({"date": ["2019-01-05", "2019-01-20", "2019-04-02", "2019-04-03"],
                      "mode": ["in_person", "virtual", "hybrid", "hybrid"]})
    out = assemblies_by_month(a)
    assert len(out) == 4 * 3 and out["assemblies"].sum() == 4
    apr = out[out["month"] == "2019-04-01"].set_index("mode")["assemblies"]
    assert apr.to_dict() == {"hybrid": 2, "in_person": 0, "virtual": 0}
    with pytest.raises(AnalysisError, match="unexpected value.*phone"):
        assemblies_by_month(a.assign(mode="phone"))
    with pytest.raises(AnalysisError, match="invalid or missing date"):
        assemblies_by_month(a.assign(date=["2019-13-01", None, "x", "2019-01-01"]))


def make_assemblies(n, young_men_rate, seed):
    """Assemblies where young men come at a fraction of their census share (planted)."""
    rng = np.random.default_rng(seed)
    census = pd.DataFrame([(s, a, 1000) for s in SEXES for a in AGE_GROUPS],
                          columns=["sex", "age_group", "population"])
    rates = np.full(8, 3.0)
    rates[ATTENDANCE_COLUMNS.index("att_male_18_29")] *= young_men_rate
    att = rng.poisson(rates, size=(n, 8))
    asm = pd.DataFrame(att, columns=list(ATTENDANCE_COLUMNS))
    asm["kind"] = rng.choice(["block_assembly", "working_table"], n)
    return asm, census


def test_planted_under_representation_of_young_men_is_recovered():
    asm, census = make_assemblies(150, young_men_rate=0.3, seed=11)
    rep = representativeness(asm, census, n_boot=1000, seed=1).set_index(["sex", "age_group"])
    ym = rep.loc[("male", "18_29")]
    true_ratio = 0.3 / (7 + 0.3) * 8  # planted share / census share
    assert ym["ci_low"] < true_ratio < ym["ci_high"]
    assert ym["ci_high"] < 1  # clearly under-represented
    others = rep.drop(("male", "18_29"))
    assert (others["ci_low"] < 8 / 7.3 + 0.05).all()
    assert rep.attrs["unit"] == "assemblies"
    d = dissimilarity(asm, census, n_boot=1000, seed=1).iloc[0]
    true_d = 0.5 * (7 * abs(3 / 21.9 - 1 / 8) + abs(0.9 / 21.9 - 1 / 8))
    assert d["ci_low"] < true_d < d["ci_high"] and d["unit"] == "assemblies"
    # same seed, same interval
    d2 = dissimilarity(asm, census, n_boot=1000, seed=1).iloc[0]
    assert d2["ci_low"] == d["ci_low"]


def test_dissimilarity_hand_value_and_participant_rows():
    people = pd.DataFrame({"sex": ["female"] * 3 + ["male"], "age_group": ["18_29"] * 4})
    census = pd.DataFrame({"sex": ["female", "male"], "age_group": ["18_29", "60_plus"],
                           "population": [60, 40]})
    # p = (.75 f18, .25 m18), q = (.6 f18, .4 m60): D = (|.75-.6| + |.25-0| + |0-.4|)/2 = 0.4
    assert dissimilarity(people, census, n_boot=50).loc[0, "D"] == pytest.approx(0.4)
    rep = representativeness(people, census, n_boot=50)
    assert np.isnan(rep.set_index(["sex", "age_group"]).loc[("male", "18_29"), "ratio"])
    with pytest.raises(AnalysisError, match="unknown sex/age_group"):
        representativeness(people.assign(sex="x"), census)


def test_attendance_summary_by_kind_and_errors():
    asm, _ = make_assemblies(40, 1.0, seed=2)
    s = attendance_summary(asm, by="kind")
    assert s["assemblies"].sum() == 40
    tot = asm[list(ATTENDANCE_COLUMNS)].sum(axis=1)
    g = tot.groupby(asm["kind"])
    np.testing.assert_allclose(s["mean"], g.mean().to_numpy())
    from scipy import stats
    ref = stats.t.interval(0.95, g.size().iloc[0] - 1, loc=g.mean().iloc[0],
                           scale=stats.sem(tot[asm["kind"] == g.mean().index[0]]))
    np.testing.assert_allclose(s.loc[0, ["ci_low", "ci_high"]].to_numpy(float), ref)
    bad = asm.copy()
    bad.loc[0, "att_male_60_plus"] = -1
    with pytest.raises(AnalysisError, match="att_male_60_plus.*negative"):
        attendance_summary(bad)
    with pytest.raises(AnalysisError, match="lacks column"):
        attendance_summary(asm.drop(columns="att_female_18_29"))


def test_links_per_1000():
    links = pd.DataFrame({"link_id": range(12), "territory_id": ["t1"] * 10 + ["t2"] * 2,
                          "area": ["health"] * 10 + ["youth", "women"]})
    terr = pd.DataFrame({"territory_id": ["t1", "t2"], "population": [5000, 400]})
    areas = ("peace_wellbeing", "health", "civil_protection", "women", "youth", "children",
             "older_adults")
    out = links_per_1000(links, terr, areas=areas).set_index(["territory_id", "area"])
    assert len(out) == 14 and out.loc[("t1", "youth"), "links"] == 0
    assert out.loc[("t1", "health"), "per_1000"] == 2.0
    assert out.loc[("t1", "health"), "ci_low"] == pytest.approx(4.7954 / 5, abs=1e-4)
    with pytest.raises(AnalysisError, match="area.*sports"):
        links_per_1000(links.assign(area="sports"), terr, areas=areas)
    # a city that declares no areas: any code, the areas present, zeros included
    seen = links_per_1000(links.assign(area=["sports"] * 11 + ["music"]), terr)
    assert seen[["territory_id", "area", "links"]].values.tolist() == [
        ["t1", "music", 0], ["t1", "sports", 10], ["t2", "music", 1], ["t2", "sports", 1]]
    with pytest.raises(AnalysisError, match="not in territories"):
        links_per_1000(links.assign(territory_id="t9"), terr)


def test_repeat_participation():
    r = pd.DataFrame({"participant_code": list("aabbbcd") + [None],
                      "round": ["assembly", "collective", "assembly", "assembly", "assembly",
                                "assembly", "collective", "assembly"]})
    out = repeat_participation(r).iloc[0]
    assert out["participants"] == 4 and out["repeat"] == 1
    np.testing.assert_allclose([out["ci_low"], out["ci_high"]],
                               proportion_confint(1, 4, method="wilson"))
