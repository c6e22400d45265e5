"""Step 06 impact evaluation on the sample city: planted effects are recovered."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from territoria.exceptions import ConfigError
from territoria.steps import s06_impact as s06

# Planted facts of the sample city (territoria.sample.model.TrueParams):
CRIME_EFFECT = -0.10      # log expected count, from the first full month after joining
LIFE_CHANGE = 0.4         # panel change in life satisfaction (0-10)
UNSAFE_CHANGE = -0.08     # panel change of the share feeling unsafe (-8 pp)



@pytest.fixture(scope="module")
def crime(ctx):
    return s06.crime_panel(ctx)


@pytest.fixture(scope="module")
def did(ctx, crime):
    return s06.did_estimates(ctx, crime)


def test_cohort_codings():
    assert s06.cohort_period("2020-01-13", "first_exposed_period") == pd.Timestamp("2020-01-01")
    assert s06.cohort_period("2020-01-13", "first_full_period") == pd.Timestamp("2020-02-01")
    assert s06.cohort_period("2019-07-01", "first_full_period") == pd.Timestamp("2019-07-01")
    assert pd.isna(s06.cohort_period(None))
    with pytest.raises(ConfigError, match="cohort_coding"):
        s06.cohort_period("2020-01-13", "first_day")


def test_cohort_table_shows_both_codings(ctx):
    t = s06.cohort_table(ctx).set_index("cohort", drop=False)
    # c1 joined 2018-12-24: exposed in December, first full month January
    assert t.loc["c1", "first_exposed_period"] == "2018-12"
    assert t.loc["c1", "first_full_period"] == "2019-01"
    assert t.loc["c2", "shift_months"] == 0          # joined on 1 July
    assert t["n"].sum() == len(ctx.territories())


def test_crime_panel_balanced(crime, ctx):
    n_t = crime["territory_id"].nunique()
    assert len(crime) == n_t * crime["t"].nunique()
    assert crime.attrs["coding"] == ctx.config.cohort_coding
    raw = ctx.store.query("SELECT sum(count) AS n FROM crime_counts WHERE territory_id IS NOT "
                          "NULL")["n"].iloc[0]
    assert crime["count"].sum() == pytest.approx(float(raw))
    assert np.allclose(crime["y"], np.log1p(crime["count"]))


def test_cs_recovers_planted_crime_effect(ctx, did):
    est = did["estimates"].set_index("key")
    # the truth is coded from the first full month: the CS interval covers -0.10
    full = est.loc["cs_never"] if est.loc["cs_never", "coding"] == "first_full_period" \
        else est.loc["cs_never_other_coding"]
    assert full["ci_low"] < CRIME_EFFECT < full["ci_high"]
    assert full["estimate"] < 0
    # both controls and codings are shown; the not-yet-treated CS agrees with never-treated
    assert {"twfe", "cs_never", "cs_notyet", "cs_never_other_coding", "cs_never_rate",
            "placebo"} <= set(est.index)
    assert abs(est.loc["cs_notyet", "estimate"] - est.loc["cs_never", "estimate"]) < 0.02
    # placebo with false dates: interval covers zero
    assert est.loc["placebo", "ci_low"] < 0 < est.loc["placebo", "ci_high"]
    assert (est["label_es"].str.len() > 0).all() and (est["label_en"].str.len() > 0).all()


def test_aggregations_and_event_study(did, crime):
    grp = did["by_cohort"]
    assert grp["overall"].sum() == 1 and len(grp) == 5    # four cohorts + overall
    ev = did["event_study"]
    assert (ev["e"].dropna() < 0).any() and (ev["e"].dropna() >= 0).any()
    fig, alt = s06.event_plot(ev, lang="en")
    assert alt.startswith("Event-study chart")
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_its_city_and_territory(crime):
    tab, series = s06.its_city(crime)
    assert set(tab["term"]) == {"level_change", "slope_change"}
    gap = tab[(tab.series == "gap") & (tab.term == "level_change")].iloc[0]
    # comparative series: the level change is near the planted effect
    assert gap["ci_low"] < CRIME_EFFECT < gap["ci_high"]
    tid = s06.programme_territories(crime)[0]
    t_tab, _ = s06.its_territory(crime, tid)
    assert t_tab["n"].iloc[0] == crime["t"].nunique()
    assert (t_tab["ci_low"] < t_tab["estimate"]).all()


def test_wellbeing_panel_recovers_planted_changes(ctx):
    w = s06.wellbeing_data(ctx)
    ch = s06.wellbeing_change(w, min_cell=ctx.min_cell).set_index("dv")
    ls, un = ch.loc["life_satisfaction"], ch.loc["unsafe"]
    assert ls["ci_low"] < LIFE_CHANGE < ls["ci_high"]
    assert un["ci_low"] < UNSAFE_CHANGE < un["ci_high"]
    assert ls["dz_ci_low"] < ls["dz"] < ls["dz_ci_high"]
    an = s06.wellbeing_anova(w)
    wave = an[(an.dv == "life_satisfaction") & (an.source == "wave")].iloc[0]
    assert wave["p_val"] < 0.001 and wave["np2_ci_low"] < wave["np2"] < wave["np2_ci_high"]


def test_wellbeing_change_matches_scipy_paired_t(ctx):
    w = s06.wellbeing_data(ctx)
    w = w[w["territory"] == w["territory"].iloc[0]]
    wide = w.pivot(index="respondent_code", columns="wave", values="life_satisfaction").dropna()
    from scipy import stats
    ref = stats.ttest_rel(wide["post"], wide["pre"])   # reference: scipy paired t test
    r = s06.wellbeing_change(w).set_index("dv").loc["life_satisfaction"]
    assert r["p_val"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert r["n"] == len(wide)


def test_power_table(ctx):
    w = s06.wellbeing_data(ctx)
    pw = s06.power_table(w).set_index("outcome")
    base = pw.loc["unsafe", "baseline"]
    from territoria.analysis.power import sample_size
    ref = sample_size("proportion", baseline=base, change=-0.10)["n_per_round"].iloc[0]
    assert pw.loc["unsafe", "n_per_round"] == ref
    # R pwr::pwr.2p.test(h = ES.h(0.75, 0.85), power = .8): n = 247.6 per group -> 248
    # (h = -0.2518, n = 2 (1.95996 + 0.84162)^2 / h^2)
    assert sample_size("proportion", baseline=0.85, change=-0.10)["n_per_round"].iloc[0] == 248
    assert pw.loc["life_satisfaction", "n_per_round"] > 2


def test_compute_city_and_slices(ctx, crime, did, sample_ws):
    tab, _ = s06.its_city(crime)
    w = s06.wellbeing_data(ctx)
    change = s06.wellbeing_change(w, min_cell=ctx.min_cell)
    city = s06.city_result(ctx, crime, did, tab, w, change, s06.wellbeing_anova(w),
                           s06.power_table(w))
    assert city.territory_id is None and city.step == "06_impact"
    ind = city.indicators_frame().set_index("name")
    for name in ("crime_att_cs_never", "crime_att_cs_notyet", "crime_att_twfe",
                 "crime_its_level_change", "wb_life_satisfaction_change", "wb_unsafe_change",
                 "power_n_unsafe"):
        assert name in ind.index, name
    assert ind.loc["crime_att_cs_never", "n"] == crime["territory_id"].nunique()
    assert ind.loc["crime_att_cs_never", "value"] == pytest.approx(
        did["estimates"].set_index("key").loc["cs_never", "estimate"])
    tids = s06.programme_territories(crime)[:2]
    slices = [s06.compute(ctx, t) for t in tids]
    for t, s in zip(tids, slices, strict=True):
        si = s.indicators_frame().set_index("name")
        assert s.step == "06_impact" and s.territory_id == t
        assert {"crime_its_level_change", "wb_life_satisfaction_change", "wb_unsafe_change",
                "power_n_unsafe"} <= set(si.index)
        wt = w[w["territory"] == t]
        pairs = wt.groupby("respondent_code")["wave"].nunique().eq(2).sum()
        assert si.loc["wb_unsafe_change", "n"] == pairs
    # the loop used by the notebook gives the same slice as the single-territory compute
    never = s06._never_mean(crime)
    again = s06.territory_result(ctx, tids[0], crime, w, never=never).indicators_frame()
    assert again.set_index("name").loc["crime_its_level_change", "value"] == pytest.approx(
        slices[0].indicators_frame().set_index("name").loc["crime_its_level_change", "value"])
    # no personal data in published tables
    for r in [city, *slices]:
        for df in r.tables.values():
            assert not any(c in df.columns for c in ("respondent_code", "participant_code"))
    path = slices[0].save(sample_ws.output_dir)
    assert json.load(open(path, encoding="utf-8"))["territory_id"] == tids[0]


def test_small_panel_is_suppressed(ctx):
    w = s06.wellbeing_data(ctx)
    t = w["territory"].iloc[0]
    few = w[w["respondent_code"].isin(w.loc[w["territory"] == t, "respondent_code"]
                                      .unique()[:3])]
    ch = s06.wellbeing_change(few, min_cell=5)
    assert ch["suppressed"].all() and ch["estimate"].isna().all()


def test_catalogue_covers_indicators(repo_root):
    from territoria.report.catalogue import load_catalogue
    cat = load_catalogue(str(repo_root / "methodology" / "indicators" / "06_impact.yml"))
    names = {"crime_att_cs_never", "crime_att_cs_notyet", "crime_att_twfe",
             "crime_att_cs_other_coding", "crime_att_cs_rate", "crime_placebo_att",
             "crime_its_level_change", "crime_its_slope_change", "wb_life_satisfaction_change",
             "wb_unsafe_change", "wb_peace_change", "power_n_unsafe",
             "power_n_life_satisfaction"}
    assert names <= set(cat)
    assert set(s06.SECTION.indicators) <= set(cat)


@pytest.mark.slow
def test_notebook_runs(sample_ws, tmp_path, repo_root):
    import papermill

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "06.ipynb"
    papermill.execute_notebook(str(repo_root / "notebooks" / "06_impact.ipynb"), str(out),
                               parameters=dict(workspace=str(ws), territory=None, language="es"),
                               kernel_name="python3")
    city = json.loads((ws / "output" / "06_impact" / "city.results.json").read_text())
    names = {i["name"] for i in city["indicators"]}
    assert {"crime_att_cs_never", "wb_life_satisfaction_change"} <= names
    assert len(list((ws / "output" / "06_impact").glob("07-*.results.json"))) > 100


def test_wellbeing_bit_identical_under_other_pseudonyms(ctx):
    # Another workspace's secret gives the same respondents other codes: the changes, the
    # ANOVA and the power inputs must keep every bit (the paired changes used to differ in
    # the last one: pivot put the pairs in code order).
    w = s06.wellbeing_data(ctx)
    rng = np.random.default_rng(11)
    old = w["respondent_code"].unique()
    codes = dict(zip(old, (f"r_{x:016x}" for x in rng.integers(0, 2 ** 62, len(old))),
                     strict=True))
    o = w.assign(respondent_code=w["respondent_code"].map(codes)).sample(frac=1,
                                                                         random_state=11)
    for f in (lambda d: s06.wellbeing_change(d, min_cell=ctx.min_cell),
              lambda d: s06.wellbeing_change(d, min_cell=ctx.min_cell, by="territory"),
              s06.wellbeing_anova):
        pd.testing.assert_frame_equal(f(o), f(w), check_exact=True)
    assert s06.life_stats(o) == s06.life_stats(w)
