"""Step 00: composite priority index, ranking, weight sensitivity and cohorts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from territoria.analysis.selection import (
    assign_cohorts,
    crime_rate_per_1000,
    normalise,
    priority_index,
    rank_territories,
    weight_sensitivity,
)
from territoria.exceptions import AnalysisError

W = {"social_index": 0.5, "crime_rate": 0.4, "population": 0.1}


@pytest.fixture(scope="module")
def city() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 293  # as many territories as Iztapalapa's IECM layer
    pop = rng.integers(300, 26000, n)
    crimes = rng.poisson(pop * rng.uniform(0.005, 0.05, n))
    return pd.DataFrame({
        "territory_id": [f"07-{i:03d}" for i in range(1, n + 1)],
        "social_index": rng.uniform(0.5, 0.95, n),
        "crime_rate": crime_rate_per_1000(crimes, pop),
        "population": pop,
    })


def test_normalisations_match_scipy():
    x = pd.Series([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    np.testing.assert_allclose(normalise(x, "zscore"), stats.zscore(x, ddof=1))
    np.testing.assert_allclose(normalise(x, "rank"), stats.rankdata(x) / 6)
    np.testing.assert_allclose(normalise(x, "minmax"), (x - 1) / 8)
    assert normalise(pd.Series([2.0, 2.0]), "minmax").tolist() == [0.5, 0.5]
    with pytest.raises(AnalysisError, match="normalisation 'log'"):
        normalise(x, "log")


def test_hand_computed_index():
    t = pd.DataFrame({"territory_id": ["a", "b", "c"], "social_index": [0.9, 0.5, 0.7],
                      "crime_rate": [10.0, 40.0, 20.0], "population": [2000, 1000, 3000]})
    p = priority_index(t, W).set_index("territory_id")
    # a: si 0, crime 0, pop 0.5 -> 0.05; b: 1, 1, 0 -> 0.9; c: 0.5, 1/3, 1 -> 0.25+0.4/3+0.1
    np.testing.assert_allclose(p["score"].to_numpy(), [0.05, 0.9, 0.25 + 0.4 / 3 + 0.1])
    r = rank_territories(t, W, top=1)
    assert r["territory_id"].tolist() == ["b", "c", "a"]
    assert r["selected"].tolist() == [True, False, False]
    # weights are relative: doubling all of them changes nothing
    r2 = rank_territories(t, {k: 2 * v for k, v in W.items()}, top=1)
    assert r2["score"].tolist() == pytest.approx(r["score"].tolist())


def test_lower_social_index_means_more_priority(city):
    r = rank_territories(city, {"social_index": 1.0}, "zscore", top=130)
    assert r["social_index"].is_monotonic_increasing
    assert r["selected"].sum() == 130 and r["rank"].tolist() == list(range(1, 294))


def test_sensitivity_counts_changes(city):
    same = weight_sensitivity(city, W, top=130, grid=[W, {k: 3 * v for k, v in W.items()}])
    assert same["n_changed"].tolist() == [0, 0]
    alt = weight_sensitivity(city, W, top=130, grid=[{"crime_rate": 1.0}])
    base = set(rank_territories(city, W, top=130).query("selected")["territory_id"])
    crime = set(rank_territories(city, {"crime_rate": 1.0}, top=130).query("selected")[
        "territory_id"])
    assert alt.loc[0, "n_changed"] == len(base - crime) > 0
    rnd = weight_sensitivity(city, W, top=130, n=30, seed=3)
    rnd2 = weight_sensitivity(city, W, top=130, n=30, seed=3)
    pd.testing.assert_frame_equal(rnd, rnd2)
    assert len(rnd) == 30
    np.testing.assert_allclose(rnd[["w_social_index", "w_crime_rate", "w_population"]].sum(axis=1), 1)
    # tighter perturbations change fewer territories on average
    tight = weight_sensitivity(city, W, top=130, n=30, seed=3, concentration=2000)
    assert tight["n_changed"].mean() < rnd["n_changed"].mean()


def test_cohorts(city):
    r = rank_territories(city, W, top=130)
    c = assign_cohorts(r, [22, 54, 54], ["2018-12-24", "2019-07-01", dt.date(2020, 1, 15)])
    assert (c["cohort"].value_counts().to_dict() == {"c2": 54, "c3": 54, "c1": 22})
    assert c.loc[:21, "cohort"].eq("c1").all() and c.loc[:21, "rank"].max() == 22
    assert c.loc[0, "joined_on"] == dt.date(2018, 12, 24)
    assert c.loc[130:, "cohort"].isna().all()
    with pytest.raises(AnalysisError, match="one date per cohort"):
        assign_cohorts(r, [22, 10], ["2018-12-24"])
    with pytest.raises(AnalysisError, match="backwards"):
        assign_cohorts(r, [22, 10], ["2019-12-24", "2018-01-01"])


def test_errors(city):
    with pytest.raises(AnalysisError, match="unknown weight"):
        rank_territories(city, {"poverty": 1.0})
    with pytest.raises(AnalysisError, match=">= 0"):
        rank_territories(city, {"crime_rate": -1.0})
    bad = city.copy()
    bad.loc[5, "crime_rate"] = np.nan
    with pytest.raises(AnalysisError, match="07-006.*crime_rate"):
        rank_territories(bad, W)
    with pytest.raises(AnalysisError, match="lack column"):
        rank_territories(city.drop(columns="population"), W)
    with pytest.raises(AnalysisError, match="positive"):
        crime_rate_per_1000([1], [0])
