"""Step 00 (territorial selection) on the sample city: the planted selection is recovered."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.report.catalogue import load_catalogue
from territoria.steps import s00_selection as s00


@pytest.fixture(scope="module")
def result(ctx):
    return s00.compute(ctx, None, n=40)


def _ind(result, name):
    f = result.indicators_frame()
    return f[f["name"] == name].iloc[0]


def test_indicators_are_in_the_catalogue(result, repo_root):
    cat = load_catalogue(str(repo_root / "methodology" / "indicators"))
    names = set(result.indicators_frame()["name"])
    assert names == {"selection_top_agreement", "selection_cohort_agreement",
                     "selection_sensitivity_changes", "selection_rank_correlation",
                     "selection_territories_ranked"}
    assert names <= set(cat)
    assert set(s00.SECTION.indicators) <= names
    assert {v.key for v in s00.SECTION.views} <= set(result.tables)


def test_recovers_the_planted_programme(result, truth):
    # The sample city chose its 130 territories with the default city.yml weights on crime
    # before 2018-12 (territoria.sample.activity.select_programme). Only the crime records
    # that could not be located in a territory at ingest (quarantined) differ, so nearly all
    # of the recorded programme is in the computed top 130.
    top = _ind(result, "selection_top_agreement")
    assert top["n"] == truth["facts"]["n_programme"] == 130
    assert top["value"] >= 0.95
    ranking = result.tables["ranking"]
    computed = set(ranking.loc[ranking["selected"], "territory_id"])
    assert len(computed) == 130
    assert len(computed & set(truth["facts"]["programme_territories"])) / 130 == \
        pytest.approx(top["value"])
    assert _ind(result, "selection_cohort_agreement")["value"] >= 0.9
    assert _ind(result, "selection_territories_ranked")["value"] == truth["facts"]["n_territories"]


def test_score_by_hand(ctx):
    # min-max composite computed here with numpy only, independently of analysis.selection
    inputs = s00.load_inputs(ctx)
    assert inputs.attrs["window"] == ("2016-01-01", "2018-12-01")
    assert (inputs["months"] == 35).all()

    def mm(x):
        x = np.asarray(x, float)
        return (x - x.min()) / (x.max() - x.min())

    score = (0.5 * mm(-inputs["social_index"]) + 0.4 * mm(inputs["crime_rate"])
             + 0.1 * mm(inputs["population"]))
    ranked = s00.ranking(ctx, inputs)
    by_hand = pd.Series(score, index=inputs["territory_id"]).sort_values(ascending=False)
    assert ranked["territory_id"].head(10).tolist() == by_hand.index[:10].tolist()
    np.testing.assert_allclose(ranked.set_index("territory_id")["score"]
                               .reindex(by_hand.index), by_hand.to_numpy(), atol=1e-12)
    # crime rate per 1,000 per year, by hand for the first territory
    r = inputs.iloc[0]
    assert r["crime_rate"] == pytest.approx(r["crimes"] * 12 / 35 / r["population"] * 1000)


def test_cohorts_keep_recorded_sizes(result, truth):
    ct = result.tables["cohorts"]
    assert ct["territories"].sum() == truth["facts"]["n_territories"]
    sizes = ct[ct["cohort_computed"] != "none"].groupby("cohort_computed")["territories"].sum()
    assert sizes.to_dict() == truth["facts"]["cohort_sizes"]
    ranking = result.tables["ranking"]
    first = ranking.sort_values("rank").head(22)
    assert (first["cohort_computed"] == "c1").all()


def test_sensitivity(result):
    ch = _ind(result, "selection_sensitivity_changes")
    assert ch["n"] == 40
    assert ch["ci_low"] <= ch["value"] <= ch["ci_high"]
    assert 0 < ch["value"] < 130
    sens = result.tables["sensitivity"]
    assert sens["alternative"].tolist() == ["equal", "social_only", "crime_only",
                                            "no_population", "swap", "random"]
    # the agreed weights are near the "no population" alternative: few changes
    assert sens.set_index("alternative").loc["no_population", "n_changed"] < \
        sens.set_index("alternative").loc["crime_only", "n_changed"]
    assert sens["label_es"].str.len().gt(0).all() and sens["label_en"].str.len().gt(0).all()


def test_crime_window_and_errors(ctx):
    assert s00.crime_window(ctx.config, None) == (None, "2018-12-01")
    assert s00.crime_window(ctx.config, None, "2017-03-15") == ("2017-03-01", "2018-12-01")
    with pytest.raises(DataError, match="period_start"):
        s00.crime_window(ctx.config, None, "2019-01-01")


def test_map(ctx, result):
    inputs = s00.load_inputs(ctx)
    assigned, _ = s00.cohorts(ctx, s00.ranking(ctx, inputs), inputs)
    fig, alt = s00.ranking_map(ctx, assigned, lang="en")
    assert "293 neighbourhoods" in alt and "priority score" in alt
    assert fig.axes[0].get_title(loc="left") == "Priority score by neighbourhood"


@pytest.mark.slow
def test_notebook_runs(sample_ws, repo_root, tmp_path):
    import papermill

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "00.ipynb"
    papermill.execute_notebook(str(repo_root / "notebooks" / "00_selection.ipynb"), str(out),
                               parameters=dict(workspace=str(ws), territory=None,
                                               language="es"),
                               kernel_name="python3", progress_bar=False)
    side = json.loads((ws / "output" / "00_selection" / "city.results.json").read_text())
    names = {i["name"] for i in side["indicators"]}
    assert {"selection_top_agreement", "selection_sensitivity_changes"} <= names
    assert {"ranking", "sensitivity", "cohorts"} <= set(side["tables"])
