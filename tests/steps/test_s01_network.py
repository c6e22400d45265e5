"""Step 01 (network and assemblies) on the sample city: planted facts are recovered."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from territoria.exceptions import DataError
from territoria.report.catalogue import load_catalogue
from territoria.steps import s01_network as s01


@pytest.fixture(scope="module")
def water(truth):
    return truth["facts"]["dominant_water_territory"]


@pytest.fixture(scope="module")
def result(ctx, water):
    return s01.compute(ctx, water)


def _ind(result, name, grp=None):
    f = result.indicators_frame()
    f = f[f["name"] == name]
    if grp is not None:
        f = f[f["grp"] == grp]
    return f.iloc[0]


def _true_ratio(ctx, truth, territories=None):
    """Expected participant share / census share of young men from the planted propensities
    (territoria.sample.activity.assemblies: attendance ~ census share x propensity)."""
    prop = {tuple(k.split("|")): v for k, v in
            truth["params"]["participation_propensity"].items()}
    c = ctx.store.table("census_margins")
    if territories is not None:
        c = c[c["territory_id"].isin(territories)]
    c = c.groupby(["sex", "age_group"])["population"].sum()
    q = c / c.sum()
    p = pd.Series({k: q[k] * prop[k] for k in q.index})
    return float((p / p.sum() / q)[("male", "18_29")])


def test_indicators_are_in_the_catalogue(result, repo_root):
    cat = load_catalogue(str(repo_root / "methodology" / "indicators"))
    names = set(result.indicators_frame()["name"])
    assert names <= set(cat)
    assert set(s01.SECTION.indicators) <= names
    assert {v.key for v in s01.SECTION.views} <= set(result.tables)
    for key in ("coverage", "attendance", "links", "representation", "repeat"):
        t = result.tables[key]
        assert {"label_es", "label_en"} <= set(t.columns), key


def test_block_coverage_by_hand(ctx, result, water, truth):
    blocks = ctx.store.query("SELECT block_id FROM blocks WHERE territory_id = ?", [water])
    covered = ctx.store.query("SELECT DISTINCT block FROM assembly WHERE territory = ? AND "
                              "kind = 'block_assembly'", [water])
    k, n = len(set(covered["block"]) & set(blocks["block_id"])), len(blocks)
    cov = _ind(result, "block_coverage")
    assert cov["n"] == n
    assert cov["value"] == pytest.approx(k / n)
    # reference: statsmodels proportion_confint(method="wilson")
    lo, hi = proportion_confint(k, n, method="wilson")
    assert (cov["ci_low"], cov["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    city = _ind(result, "block_coverage_city")
    # planted: each programme territory covers ~N(0.7, 0.08) of its blocks
    assert abs(city["value"] - truth["params"]["block_coverage"]) < 0.03
    assert city["n"] == ctx.store.query(
        "SELECT count(*) AS n FROM blocks JOIN territories USING (territory_id) "
        "WHERE priority")["n"][0]


def test_young_men_underrepresented_city(ctx, result, truth):
    assert truth["facts"]["underrepresented_group"] == "male|18_29"
    r = _ind(result, "representation_ratio_city", "male_18_29")
    assert r["ci_high"] < 1
    prog = truth["facts"]["programme_territories"]
    assert abs(r["value"] - _true_ratio(ctx, truth, prog)) < 0.02
    terr = _ind(result, "representation_ratio", "male_18_29")
    assert terr["ci_high"] < 1 and not terr["suppressed"]
    assert terr["n"] > 0
    d = _ind(result, "dissimilarity_index")
    assert 0 < d["ci_low"] <= d["value"] <= d["ci_high"] < 1


def test_young_men_underrepresented_in_most_territories(ctx, truth):
    rng = np.random.default_rng(1)
    sample = rng.choice(truth["facts"]["programme_territories"], 25, replace=False)
    below = 0
    for tid in sample:
        a = s01.load_assemblies(ctx, tid)
        ratios, _ = s01.representation(ctx, tid, a, min_cell=ctx.min_cell, n_boot=200)
        y = ratios[(ratios["sex"] == "male") & (ratios["age_group"] == "18_29")].iloc[0]
        below += bool(y["ci_high"] < 1)
    assert below / len(sample) >= 0.8


def test_remote_shift_in_2020(result):
    yearly = result.tables["assemblies_by_year"]
    remote = yearly[yearly["mode"] != "in_person"].groupby("year")["assemblies"].sum() / \
        yearly.groupby("year")["assemblies"].sum()
    assert remote.get(2019, 0) == 0  # planted: remote meetings start on 2020-03-23
    share = _ind(result, "assemblies_remote_share_2020")
    assert share["value"] == pytest.approx(remote[2020])
    assert share["value"] > 0.5


def test_attendance_and_links(ctx, result, water):
    a = ctx.store.query(f"SELECT {', '.join(s01.part.ATTENDANCE_COLUMNS)} FROM assembly "
                        "WHERE territory = ?", [water])
    totals = a.sum(axis=1)
    att = _ind(result, "attendance_mean")
    assert att["value"] == pytest.approx(totals.mean())
    assert att["n"] == len(a)
    pop = ctx.store.query("SELECT population FROM territories WHERE territory_id = ?",
                          [water])["population"][0]
    nl = ctx.store.query("SELECT count(*) AS n FROM links WHERE territory_id = ?", [water])["n"][0]
    lk = _ind(result, "links_per_1000")
    assert lk["value"] == pytest.approx(nl / pop * 1000) and lk["n"] == nl


def test_links_suppression(ctx, water):
    by_area, _ = s01.links(ctx, water, min_cell=25)
    hidden = by_area[by_area["suppressed"]]
    assert len(hidden) >= 2  # primary cells and one complementary cell
    assert hidden["links"].isna().all() and hidden["per_1000"].isna().all()
    assert (by_area.loc[~by_area["suppressed"], "links"] >= 25).all()


def test_repeat_participation_by_hand(ctx, result, water):
    p = ctx.store.query("SELECT participant_code, moment FROM process WHERE territory = ?",
                        [water])
    times = p.groupby("participant_code")["moment"].nunique()
    rep = _ind(result, "repeat_participation", "process")
    assert rep["n"] == len(times)
    assert rep["value"] == pytest.approx((times >= 2).mean())
    # planted attrition of the end questionnaire: 15 %
    assert rep["ci_low"] <= 0.85 <= rep["ci_high"]
    # the sample has a single vote round: no repeat indicator from votes
    assert result.indicators_frame().query("grp == 'votes'").empty


def test_requires_a_territory(ctx):
    with pytest.raises(DataError, match="territory"):
        s01.compute(ctx, None)
    with pytest.raises(DataError, match="not in the store"):
        s01.compute(ctx, "99-999")


def test_figures(ctx, result):
    fig, alt = s01.months_figure(result.tables["assemblies_by_month"], lang="es")
    assert "Presencial" in alt
    fig, alt = s01.representation_figure(result.tables["representation"], lang="en")
    assert "Men aged 18–29" in alt  # the lowest bar
    assert 'stroke-dasharray="4 3"' in fig.svg  # the line at 1 (= proportional)
    mpl, alt_mpl = s01.representation_figure(result.tables["representation"], lang="en",
                                             backend="matplotlib")
    assert alt_mpl == alt and any(ln.get_xdata()[0] == 1.0 for ln in mpl.axes[0].get_lines())


@pytest.mark.slow
def test_notebook_runs(sample_ws, repo_root, tmp_path, water):
    import papermill

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(str(repo_root / "notebooks" / "01_network.ipynb"), str(out),
                               parameters=dict(workspace=str(ws), territory=water,
                                               language="es"),
                               kernel_name="python3", progress_bar=False)
    side = json.loads((ws / "output" / "01_network" / f"{water}.results.json").read_text())
    names = {i["name"] for i in side["indicators"]}
    assert {"block_coverage", "representation_ratio", "dissimilarity_index"} <= names
    assert {"coverage", "representation", "links"} <= set(side["tables"])


def test_city_interval_does_not_depend_on_the_order_rows_come_back(ctx, water, monkeypatch):
    # The city's bootstrap resamples territories by position: with DuckDB's parallel
    # GROUP BY, rows came back in another order in 2 of 130 demo notebooks and gave another
    # interval for the same data. The units are now read in territory order.
    units, _ = s01._city_units(ctx)
    assert units["territory"].is_monotonic_increasing and units["territory"].is_unique
    real = ctx.store.query

    def reversed_rows(sql, params=None):  # a store that returns rows in the other order
        out = real(sql, params) if params is not None else real(sql)
        return out if "ORDER BY" in sql else out.iloc[::-1].reset_index(drop=True)

    first = s01.compute(ctx, water).indicators_frame()
    monkeypatch.setattr(ctx.store, "query", reversed_rows)
    second = s01.compute(ctx, water).indicators_frame()
    city = first["name"].isin(["representation_ratio_city", "dissimilarity_index_city"])
    cols = ["name", "grp", "value", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(first.loc[city, cols].reset_index(drop=True),
                                  second.loc[city, cols].reset_index(drop=True))


def test_city_representation_is_read_back_identical(ctx):
    """The city's bootstrap, computed once per store state, is what computing it gives."""
    from territoria.analysis import participation as part
    from territoria.steps import citywide
    from territoria.steps import s01_network as s01

    units, census = s01._city_units(ctx)
    want = part.representativeness(units, census, n_boot=200, seed=3)
    citywide._MEMORY.clear()
    got, dissim = s01.city_representation(ctx, n_boot=200, seed=3)
    citywide._MEMORY.clear()  # read back from the workspace's file, as another notebook does
    again, _ = s01.city_representation(ctx, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(again, want, check_exact=True)
    assert dissim["level"].tolist() == ["city"]
