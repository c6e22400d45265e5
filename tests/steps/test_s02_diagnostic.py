"""Step 02 (participatory diagnostic) on the sample city: planted facts are recovered."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from territoria.exceptions import DataError
from territoria.report.catalogue import load_catalogue
from territoria.steps import s02_diagnostic as s02


@pytest.fixture(scope="module")
def water(truth):
    return truth["facts"]["dominant_water_territory"]


@pytest.fixture(scope="module")
def result(ctx, water):
    return s02.compute(ctx, water)


def _ind(result, name, grp=None):
    f = result.indicators_frame()
    f = f[f["name"] == name]
    if grp is not None:
        f = f[f["grp"] == grp]
    return f.iloc[0]


def test_indicators_are_in_the_catalogue(result, repo_root):
    cat = load_catalogue(str(repo_root / "methodology" / "indicators"))
    names = set(result.indicators_frame()["name"])
    assert names <= set(cat)
    assert set(s02.SECTION.indicators) <= names
    assert {v.key for v in s02.SECTION.views} <= set(result.tables)
    for t in result.tables.values():
        assert {"label_es", "label_en"} <= set(t.columns)
        assert "suppressed" in t.columns


def test_water_is_the_dominant_problem_alone_in_tier_one(result, water):
    top = _ind(result, "top_problem_share")
    assert top["grp"] == "water"
    assert _ind(result, "top_problem_tier_size")["value"] == 1
    shares = result.tables["problems"]
    assert shares.iloc[0]["axis"] == "water"
    assert shares.iloc[0]["label_es"] == "Agua"
    assert (shares["tier"] == 1).sum() == 1
    assert shares["estimate"].dropna().is_monotonic_decreasing


def test_weights_add_up_to_the_census(ctx, water):
    resp = s02.weighted_responses(ctx, water)
    adults = ctx.store.query("SELECT sum(population) AS n FROM census_margins "
                             "WHERE territory_id = ?", [water])["n"][0]
    assert resp["weight"].sum() == pytest.approx(adults)
    assert resp.attrs["poststrata"][water] in ("sex_age", "sex")
    # post-stratified: each sex x age cell adds up to its census count
    if resp.attrs["poststrata"][water] == "sex_age":
        cen = ctx.store.query("SELECT sex, age_group, population FROM census_margins WHERE "
                              "territory_id = ?", [water]).set_index(["sex", "age_group"])
        got = resp.groupby(["sex", "age_group"])["weight"].sum()
        np.testing.assert_allclose(got.to_numpy(), cen["population"].reindex(got.index))


def test_unsafe_point_estimate_by_hand(ctx, result, water):
    resp = s02.weighted_responses(ctx, water)
    valid = resp["safety_colonia"].isin(["1", "2", "9"])
    w = resp.loc[valid, "weight"]
    by_hand = (w * (resp.loc[valid, "safety_colonia"] == "2")).sum() / w.sum()
    u = _ind(result, "pct_unsafe_colonia")
    assert u["value"] == pytest.approx(by_hand)
    assert u["ci_low"] < u["value"] < u["ci_high"]
    assert u["n"] == valid.sum()
    levels = result.tables["safety"]
    assert levels["level"].tolist() == ["territory", "zone", "city"]
    city = _ind(result, "pct_unsafe_colonia_city")
    assert city["n"] == ctx.store.query("SELECT count(*) AS n FROM diagnostic")["n"][0]
    # the city interval is much narrower than the territory's
    assert city["ci_high"] - city["ci_low"] < (u["ci_high"] - u["ci_low"]) / 3


def test_ensu_places(result):
    places = result.tables["places"]
    assert len(places) == 12
    # planted: public transport (0.88) and street cash machines (0.82) feel least safe,
    # home (0.25) the safest
    assert set(places["place"].head(2)) == {"public_transport", "street_atm"}
    assert places.iloc[-1]["place"] == "home"
    # "not applicable" is out of the denominator: fewer answers for car than for home
    n = places.set_index("place")["n"]
    assert n["car"] < n["home"]


def test_suppression_in_groups(result, ctx):
    g = result.tables["groups"]
    shown = g[~g["suppressed"]]
    assert (shown["n"] >= ctx.min_cell).all()
    assert g.loc[g["suppressed"], ["estimate", "n"]].isna().all().all()
    # never a single hidden group within a dimension (it could be recovered from the total)
    hidden = g.groupby(["indicator", "dimension"])["suppressed"].sum()
    assert not (hidden == 1).any()


def test_problem_suppression_with_a_higher_minimum(ctx, water):
    resp = s02.weighted_responses(ctx, water)
    shares, pairs = s02.problems(ctx, resp, min_cell=30)
    hidden = shares[shares["suppressed"]]
    assert len(hidden) > 0 and hidden["estimate"].isna().all()
    assert (shares.loc[~shares["suppressed"], "n_named"] >= 30).all()
    assert len(pairs) == 28  # 8 axes, every pair tested


def test_another_territory(ctx, truth, water):
    other = [t for t in truth["facts"]["programme_territories"] if t != water][0]
    r = s02.compute(ctx, other)
    n = ctx.store.query("SELECT count(*) AS n FROM diagnostic WHERE territory = ?",
                        [other])["n"][0]
    assert _ind(r, "diagnostic_respondents")["value"] == n
    assert len(r.tables["problems"]) == 8
    assert r.tables["safety"]["unit"].iloc[0] == other


def test_requires_a_territory(ctx):
    with pytest.raises(DataError, match="territory"):
        s02.compute(ctx, "")
    with pytest.raises(DataError, match="not in the store"):
        s02.compute(ctx, "99-999")


def test_figures(result):
    fig, alt = s02.problems_figure(result.tables["problems"], lang="es")
    assert alt.startswith("Barras ordenadas: el problema más mencionado es Agua")
    fig, alt = s02.places_figure(result.tables["places"], lang="en")
    assert "Public transport" in alt


@pytest.mark.slow
def test_notebook_runs(sample_ws, repo_root, tmp_path, water):
    import papermill

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "02.ipynb"
    papermill.execute_notebook(str(repo_root / "notebooks" / "02_diagnostic.ipynb"), str(out),
                               parameters=dict(workspace=str(ws), territory=water,
                                               language="es"),
                               kernel_name="python3", progress_bar=False)
    side = json.loads((ws / "output" / "02_diagnostic" / f"{water}.results.json").read_text())
    names = {i["name"] for i in side["indicators"]}
    assert {"top_problem_share", "pct_unsafe_colonia", "problem_share"} <= names
    assert {"problems", "groups", "safety", "places"} <= set(side["tables"])


def test_city_figures_computed_once_equal_each_territorys_own(ctx):
    """The city-wide cache (city_safety) gives every territory the numbers that estimating
    its comparison on the whole city-wide survey gives."""
    from territoria.analysis import diagnostic as dg

    city = s02.weighted_responses(ctx, columns=["safety_colonia"])
    levels = s02.city_safety(ctx)
    for t in sorted(city["territory"].unique()):
        want = dg.safety_comparison(city, t, weight="weight", strata="territory", **s02.DESIGN)
        assert dg.pick_safety(levels, t).equals(want), t
