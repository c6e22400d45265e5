"""Tests of territoria.analysis.process_eval (scales, indicators, scorecard, IAP2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from territoria.analysis import process_eval as pe
from territoria.analysis.process_eval import (
    IAP2_LEVELS,
    city_comparison,
    cronbach,
    iap2_classification,
    item_total,
    likert_items,
    process_indicators,
    process_scorecard,
    repeated_change,
    scale_scores,
    wilson_ci,
)
from territoria.exceptions import AnalysisError, DataError


def _questionnaire(seed=0, territories=("07-001", "07-002", "07-003"), n=40):
    """Synthetic territoria_process answers: impact items score lower in 07-003."""
    rng = np.random.default_rng(seed)
    rows = []
    items = {"design": ["purpose", "inclusion", "access", "time", "transparency"],
             "delib": ["facilitation", "information", "voice", "respect"],
             "impact": ["influence", "response", "followup", "again"]}
    for t in territories:
        for i in range(n):
            trait = rng.normal(0, 0.8)
            code = f"{t}-{i:03d}"
            start = {"participant_code": code, "territory": t, "moment": "start"}
            end = {"participant_code": code, "territory": t, "moment": "end"}
            for it in ("efficacy", "trust_government"):
                s = rng.normal(3 + trait * 0.5, 0.6)
                start[f"pe_rep_{it}"] = int(np.clip(round(s), 1, 5))
                end[f"pe_rep_{it}"] = int(np.clip(round(s + 0.5 + rng.normal(0, 0.5)), 1, 5))
            for stage, its in items.items():
                mu = 4.0 if not (stage == "impact" and t == "07-003") else 2.6
                for it in its:
                    end[f"pe_{stage}_{it}"] = int(np.clip(round(mu + trait + rng.normal(0, 0.6)),
                                                          1, 5))
            end["pe_comments"] = "texto libre"
            rows += [start, end]
    return pd.DataFrame(rows)


def _alpha_by_formula(X):
    k = X.shape[1]
    return k / (k - 1) * (1 - X.var(axis=0, ddof=1).sum() / X.sum(axis=1).var(ddof=1))


def test_cronbach_matches_formula_and_feldt():
    q = _questionnaire()
    items = likert_items(q, "design")
    assert items == [f"pe_design_{i}" for i in ("purpose", "inclusion", "access", "time",
                                               "transparency")]
    r = cronbach(q[q.moment == "end"], items).iloc[0]
    X = q.loc[q.moment == "end", items].to_numpy(float)
    a = _alpha_by_formula(X)
    n, k = X.shape
    # Feldt (1965): [1 - (1 - a) F_{.975}(n-1, (n-1)(k-1)), 1 - (1 - a) F_{.025}(...)]
    lo = 1 - (1 - a) * stats.f.ppf(0.975, n - 1, (n - 1) * (k - 1))
    hi = 1 - (1 - a) * stats.f.ppf(0.025, n - 1, (n - 1) * (k - 1))
    assert r["alpha"] == pytest.approx(a, abs=1e-10)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), abs=1e-10)
    assert r["n"] == 120 and r["k"] == 5


def test_item_total_corrected_correlation():
    q = _questionnaire()[lambda d: d.moment == "end"]
    items = likert_items(q, "delib")
    it = item_total(q, items).set_index("item")
    X = q[items].astype(float)
    for c in items:
        rest = X.drop(columns=c).sum(axis=1)
        assert it.loc[c, "r_item_rest"] == pytest.approx(np.corrcoef(X[c], rest)[0, 1])
        assert it.loc[c, "alpha_if_deleted"] == pytest.approx(
            _alpha_by_formula(X.drop(columns=c).to_numpy()))


def test_process_indicators_values_and_intervals():
    q = _questionnaire()
    ind = process_indicators(q)
    assert set(ind["stage"]) == {"design", "delib", "impact"}
    row = ind[(ind.territory == "07-001") & (ind.indicator == "impact_mean")].iloc[0]
    part = q[(q.territory == "07-001") & (q.moment == "end")]
    score = part[likert_items(q, "impact")].mean(axis=1)
    lo, hi = stats.t.interval(0.95, len(score) - 1, score.mean(), stats.sem(score))
    assert row["value"] == pytest.approx(score.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert "label" not in ind  # codes and numbers: steps.s05_process labels them
    agree = ind[(ind.territory == "07-001") & (ind.indicator == "impact_agree")].iloc[0]
    k = int((score >= 4).sum())
    wl, wh = proportion_confint(k, len(score), method="wilson")
    assert agree["value"] == pytest.approx(k / len(score))
    assert (agree["ci_low"], agree["ci_high"]) == pytest.approx((wl, wh))
    assert 0 < row["alpha_cronbach"] < 1


def test_scale_scores_min_share():
    d = pd.DataFrame({"a": [1, None, None], "b": [3, 4, None], "c": [5, 4, None]})
    s = scale_scores(d, ["a", "b", "c"])
    assert s.iloc[0] == 3 and s.iloc[1] == 4 and np.isnan(s.iloc[2])


def test_repeated_change_start_end():
    q = _questionnaire()
    r = repeated_change(q, by="territory")
    assert set(r["dv"]) == {"pe_rep_efficacy", "pe_rep_trust_government"}
    assert (r["n"] == 40).all()
    one = r[(r.territory == "07-002") & (r.dv == "pe_rep_efficacy")].iloc[0]
    wide = q[q.territory == "07-002"].pivot(index="participant_code", columns="moment",
                                           values="pe_rep_efficacy")
    t = stats.ttest_rel(wide["end"], wide["start"])
    assert one["t"] == pytest.approx(t.statistic) and one["p_val"] == pytest.approx(t.pvalue)
    assert one["dz_ci_low"] < one["dz"] < one["dz_ci_high"]


def test_iap2_classification_complete():
    t = iap2_classification()
    assert set(t["mechanism"]) == {"block_assembly", "territorial_assembly", "working_table",
                                   "security_cabinet", "planning_collective",
                                   "agenda_validation"}
    assert set(t["level"]) <= set(IAP2_LEVELS)
    assert t.set_index("mechanism").loc["block_assembly", ["level", "level_rank"]].tolist() \
        == ["involve", 3]
    assert list(t.columns) == ["mechanism", "level", "level_rank"]


def test_scorecard_with_activity_and_city_comparison():
    q = _questionnaire()
    act = pd.DataFrame({"territory": ["07-001", "07-002", "07-003"], "stage": "impact",
                        "indicator": "agenda_items_agreed", "successes": [7, 9, 2],
                        "trials": [10, 10, 10]})
    card = process_scorecard(q, act)
    a = card[card.indicator == "agenda_items_agreed"].set_index("territory")
    assert a.loc["07-001", "value"] == 0.7
    assert (a.loc["07-003", "ci_low"], a.loc["07-003", "ci_high"]) == pytest.approx(
        wilson_ci(2, 10))
    assert not card["small_n"].any()
    comp = city_comparison(card)
    assert comp["weakest_stage"].any()
    assert set(comp.loc[comp.weakest_stage, "stage"]) == {"impact"}
    imp = comp[comp.indicator == "impact_mean"].iloc[0]
    assert imp["weakest_territory"] == "07-003"
    assert comp["mean_norm"].is_monotonic_increasing


def test_errors():
    q = _questionnaire()
    with pytest.raises(DataError, match="outside 1-5"):
        cronbach(q.assign(pe_design_time=7), likert_items(q, "design"))
    with pytest.raises(AnalysisError, match="column 'territoria'"):
        process_indicators(q, by="territoria")
    bad = pd.DataFrame({"territory": ["07-001"], "stage": ["impact"], "indicator": ["x"],
                        "successes": [11], "trials": [10]})
    with pytest.raises(DataError, match="not a valid count"):
        process_scorecard(q, bad)
    with pytest.raises(AnalysisError, match="needs column 'trials'"):
        process_scorecard(q, bad.drop(columns="trials"))
    with pytest.raises(AnalysisError, match="no repeated items"):
        repeated_change(q.drop(columns=likert_items(q, "rep")))


def _random_questionnaire(n_terr=130, per=60, seed=0):
    rng = np.random.default_rng(seed)
    n = n_terr * per
    q = pd.DataFrame({"territory": np.repeat([f"T{i:03d}" for i in range(n_terr)], per),
                      "moment": rng.choice(["start", "end"], n, p=[0.2, 0.8])})
    for stage, items in (("design", ["purpose", "time", "info"]), ("delib", ["voice", "respect"]),
                         ("impact", ["influence"])):
        base = rng.integers(1, 6, n)
        for it in items:
            v = np.clip(base + rng.integers(-1, 2, n), 1, 5).astype(float)
            v[rng.random(n) < 0.15] = np.nan
            q[f"pe_{stage}_{it}"] = v
    return q


def test_process_indicators_equal_the_per_territory_formulas():
    q = _random_questionnaire(n_terr=6, per=12, seed=1)
    q.loc[q.territory == "T000", "pe_delib_voice"] = np.nan  # alpha on < 3 complete rows
    q.loc[q.territory == "T001", ["pe_impact_influence"]] = np.nan  # a stage nobody answered
    q.loc[q.index[:3], "territory"] = "T009"  # a tiny territory
    card = pe.process_indicators(q).set_index(["territory", "indicator"])
    end = q[q.moment == "end"]
    for terr, part in end.groupby("territory"):
        for stage in pe.STAGES:
            items = pe.likert_items(part, stage)
            score = pe.scale_scores(part, items).dropna().to_numpy()
            m = card.loc[(terr, f"{stage}_mean")]
            a = card.loc[(terr, f"{stage}_agree")]
            assert m["n"] == len(score) == a["n"]
            ref = pe._mean_ci(score, 0.05)
            np.testing.assert_allclose([m["value"], m["ci_low"], m["ci_high"]], ref,
                                       rtol=1e-12, atol=1e-12, equal_nan=True)
            k = int((score >= 4).sum())
            np.testing.assert_allclose(
                [a["value"], a["ci_low"], a["ci_high"]],
                [k / len(score) if len(score) else np.nan, *pe.wilson_ci(k, len(score))],
                rtol=1e-12, equal_nan=True)
            if len(items) >= 2:
                rel = pe.cronbach(part, items).iloc[0]  # pingouin + Feldt
                np.testing.assert_allclose(
                    [m["alpha_cronbach"], m["alpha_ci_low"], m["alpha_ci_high"]],
                    [rel["alpha"], rel["ci_low"], rel["ci_high"]], rtol=1e-10,
                    equal_nan=True)
            else:
                assert np.isnan(m["alpha_cronbach"])


def test_process_scorecard_city_wide_is_fast():
    import time

    q = _random_questionnaire()  # 130 territories, 7,800 answers (the sample city's size)
    act = pd.DataFrame({"territory": sorted(q.territory.unique()), "stage": "impact",
                        "indicator": "agenda_items_agreed", "successes": 3, "trials": 10})
    t = time.perf_counter()
    card = pe.process_scorecard(q, act)
    assert time.perf_counter() - t < 2.0  # was 12-16 s (issue 20)
    assert len(card) == 130 * 7
