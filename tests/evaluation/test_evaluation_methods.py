"""Tests of territoria.evaluation.methods: result rows, suppression, sidecar files, scope and
the baseline method end to end on a small diagnostic table (reference values computed by hand)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from territoria.evaluation import methods as m
from territoria.evaluation.plan import parse_plan
from territoria.exceptions import PlanError

TERR = pd.DataFrame({"territory_id": ["T1", "T2", "T3"], "priority": [True, True, False]})


def _plan(territories="programme", indicators=("pct_unsafe_colonia", "life_satisfaction_mean")):
    return parse_plan({
        "title": {"es": "Línea base", "en": "Baseline"}, "territories": territories,
        "min_cell_size": 3,
        "questions": [{"id": "q1", "text": {"es": "¿Cómo estamos?", "en": "Where are we?"},
                       "method": "baseline", "outcome": ["unsafe", "life_satisfaction"],
                       "indicators": list(indicators), "sources": ["diagnostic"]}]},
        name="base")


def _ctx():
    diag = pd.DataFrame({
        "territory": ["T1"] * 5 + ["T2"] * 2 + ["T3"] * 4,
        "safety_colonia": ["2", "2", "1", "1", "9", "2", "1", "2", "2", "2", "2"],
        "life_satisfaction": [1, 2, 3, 4, 5, 8, 9, 0, 0, 0, 0]})
    for c in ("trust_neighbours", "cohesion_help", "cohesion_organise"):  # the form's columns
        diag[c] = 3
    return SimpleNamespace(territories=lambda: TERR.copy(), table=lambda name: diag.copy(),
                           config=SimpleNamespace(min_cell_size=5))


def test_question_result_rows_suppression_and_sidecar(tmp_path):
    r = m.QuestionResult("p", "q", "baseline")
    r.add("pct_unsafe_colonia", 0.5, ci_low=0.2, ci_high=0.8, n=10)
    r.add("pct_unsafe_colonia", 0.9, ci_low=0.1, ci_high=1.0, n=2, territory_id="T1")
    r.add("life_satisfaction_mean", float("nan"), n=None)
    f = r.frame()
    assert f["suppressed"].tolist() == [False, True, False]
    assert f.loc[1, ["value", "ci_low", "ci_high"]].isna().all()  # fewer than 5 people
    assert pd.isna(f.loc[2, "value"])
    assert len(r.headline()) == 2
    r.answer = {"es": "sí", "en": "yes"}
    path = r.save(tmp_path)
    assert path == m.sidecar_path(tmp_path, "p", "q")
    back = m.QuestionResult.load(path)
    assert back.rows == r.rows and back.answer == r.answer


def test_scope_and_formatting():
    ctx = _ctx()
    assert m.scope_territories(ctx, _plan()) == ["T1", "T2"]
    assert m.scope_territories(ctx, _plan("all")) == ["T1", "T2", "T3"]
    with pytest.raises(PlanError, match="'T9'"):
        m.scope_territories(ctx, _plan(["T9"]))
    assert m._fmt(0.123, percent=True, lang="es") == "12.3 %"
    assert m._fmt(0.123, percent=True, lang="en", signed=True) == "+12.3%"
    assert m._fmt(float("nan")) == "—"
    assert m.is_percent("pct_unsafe_colonia") and not m.is_percent("life_satisfaction_mean")


def test_mean_ci_is_the_t_interval():
    mean, lo, hi = m._mean_ci(np.array([1.0, 2, 3, 4, 5]))
    # R: t.test(1:5)$conf.int -> 1.036757 4.963243
    assert (mean, lo, hi) == pytest.approx((3.0, 1.036757, 4.963243), abs=1e-6)
    assert np.isnan(m._mean_ci(np.array([2.0]))[1])


def test_baseline_answers_for_the_programme_territories():
    res = m.answer(_ctx(), _plan(), "q1", lang="en")
    rows = pd.DataFrame(res.rows)
    city = rows[rows["territory_id"].isna()].set_index("indicator")
    # programme: T1 and T2 (7 answers; "9", don't know, counts in the denominator)
    assert city.loc["pct_unsafe_colonia", "n"] == 7
    assert city.loc["pct_unsafe_colonia", "value"] == pytest.approx(3 / 7)
    # statsmodels proportion_confint(3, 7, method="wilson") -> (0.15822, 0.74954)
    assert city.loc["pct_unsafe_colonia", "ci_low"] == pytest.approx(0.15822, abs=1e-5)
    assert city.loc["pct_unsafe_colonia", "ci_high"] == pytest.approx(0.74954, abs=1e-5)
    assert city.loc["life_satisfaction_mean", "value"] == pytest.approx(32 / 7)
    t2 = rows[(rows["territory_id"] == "T2")].set_index("indicator")
    assert t2["suppressed"].all()  # 2 answers < min_cell_size 3
    assert "T3" not in set(rows["territory_id"].dropna())
    assert res.answer["es"] and res.answer["en"] and res.limits["en"]
    assert set(res.detail["indicator"]) == {"pct_unsafe_colonia", "life_satisfaction_mean"}
