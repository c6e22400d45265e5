"""Tests of territoria.evaluation.methods: result rows, suppression, sidecar files, scope and
the baseline method end to end on a small diagnostic table (reference values computed by hand);
the fulfilment rate of agreements is step 04's figure at the plan's cut-off date (sample city)."""

from __future__ import annotations

import shutil
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



def test_scope_errors_speak_spanish_by_default_and_english_when_asked():
    ctx, plan = _ctx(), _plan(["T1", "T9"])
    with pytest.raises(PlanError) as es:
        m.scope_territories(ctx, plan)
    with pytest.raises(PlanError) as en:
        m.scope_territories(ctx, plan, lang="en")
    assert str(es.value) == (f"{plan.where}: la clave 'territories[1]' tiene el valor 'T9': "
                             "no está entre las colonias cargadas")
    assert str(en.value) == (f"{plan.where}: key 'territories[1]' has value 'T9': not a "
                             "territory in the store")

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


# ------------------------------------------------------------------------------------------
# fulfilment of agreements: one fact, one number with step 04 (issue 15)
# ------------------------------------------------------------------------------------------
FULFILMENT = "followup_fulfilment_rate"


def _followup_plan(territories, end=None):
    raw = {"title": {"es": "Proceso", "en": "Process"}, "territories": territories,
           "questions": [{"id": "influence", "text": {"es": "¿Se cumplen?", "en": "Kept?"},
                          "method": "process_scorecard", "outcome": "process",
                          "indicators": [FULFILMENT], "sources": ["process", "followup"]}]}
    if end:
        raw["period"] = {"end": end}
    return parse_plan(raw, name="proc")


def _with_ledger(sample_ws, root):
    """A copy of the sample city whose agreements ledger was built from its forms."""
    from territoria.config import Workspace
    from territoria.ledger.ledger import sync_from_surveys
    from territoria.store import Store

    shutil.copytree(sample_ws.root, root, ignore=shutil.ignore_patterns("site", "output"))
    ws = Workspace(root)
    with Store(ws.store_path) as store:
        sync_from_surveys(store)
    return ws


@pytest.fixture(scope="module")
def ledger_ws(sample_ws, tmp_path_factory):
    return _with_ledger(sample_ws, tmp_path_factory.mktemp("ledger") / "ws")


def _territories(ctx, k=3):
    """The first ``k`` programme territories with committed agreements."""
    out = []
    for tid in m.scope_territories(ctx, _followup_plan("programme")):
        if len(out) == k:
            break
        st = m.s04_followup.analyse(ctx, tid).state
        if st["status"].isin(["agreed", "in_progress", "done"]).sum() >= 5:
            out.append(tid)
    return out


def _evaluation(ctx, plan) -> pd.DataFrame:
    res = m.answer(ctx, plan, "influence")
    rows = pd.DataFrame(res.rows)
    rows = rows[rows["indicator"] == FULFILMENT]
    return rows.set_index(rows["territory_id"].fillna("all")), res


def _step04(ctx, tid, as_of=None) -> pd.Series:
    """What step 04 records for the territory."""
    ind = m.s04_followup.compute(ctx, tid, as_of=as_of).indicators_frame()
    return ind.set_index("name").loc[FULFILMENT]


def _same(ev: pd.Series, s04: pd.Series) -> None:
    assert ev["grp"] == s04["grp"]  # the cut-off date, stated with the figure
    assert int(ev["n"]) == int(s04["n"])
    for c in ("value", "ci_low", "ci_high"):
        assert ev[c] == pytest.approx(s04[c], abs=1e-12), c


@pytest.mark.parametrize("source", ["surveys", "ledger"])
def test_fulfilment_is_step_04s_figure_at_the_cut_off(source, sample_ws, ledger_ws):
    from territoria.steps.common import open_context

    ws = sample_ws if source == "surveys" else ledger_ws
    ctx = open_context(ws.root)
    try:
        assert ctx.store.has_table("agreements") == (source == "ledger")
        tids = _territories(ctx)
        assert len(tids) == 3
        ev, res = _evaluation(ctx, _followup_plan(tids))
        for tid in tids:
            _same(ev.loc[tid], _step04(ctx, tid))
        assert ev.loc[tids[0], "grp"] == "2024-12-31"  # city.yml: period_end
        # the whole scope pools the territories' agreements
        assert int(ev.loc["all", "n"]) == int(ev.loc[tids, "n"].sum())
        k = (ev.loc[tids, "value"] * ev.loc[tids, "n"]).sum()
        assert ev.loc["all", "value"] == pytest.approx(k / ev.loc["all", "n"])
        assert "31 de diciembre de 2024" in res.answer["es"]
        assert "31 December 2024" in res.answer["en"]
        row = res.detail.set_index("indicator").loc[FULFILMENT]
        assert "31 de diciembre de 2024" in row["label_es"]
        # a plan with its own period reads the follow-up on its own end date
        ev, res = _evaluation(ctx, _followup_plan(tids, end="2024-06-30"))
        for tid in tids:
            _same(ev.loc[tid], _step04(ctx, tid, as_of="2024-06-30"))
        assert ev.loc[tids[0], "grp"] == "2024-06-30"
        assert "30 June 2024" in res.answer["en"]
    finally:
        ctx.close()


def test_late_updates_do_not_count_and_ledger_corrections_do(sample_ws, tmp_path):
    from territoria.ledger.ledger import Ledger
    from territoria.steps.common import open_context
    from territoria.store import Store

    ws = _with_ledger(sample_ws, tmp_path / "ws")
    ctx = open_context(ws.root)
    tids = _territories(ctx, 2)
    plan = _followup_plan(tids)
    before, _ = _evaluation(ctx, plan)

    def open_agreement(tid):
        st = m.s04_followup.analyse(ctx, tid).state
        return st.loc[st["status"].isin(["agreed", "in_progress"]), "agreement_id"].iloc[0]

    late, corrected = open_agreement(tids[0]), open_agreement(tids[1])
    ctx.close()
    with Store(ws.store_path) as store:
        # done in January 2025, after the cut-off: in the follow-up form and in the ledger
        with store.transaction():
            store.append("followup", pd.DataFrame({
                "agreement_code": [late], "territory": [tids[0]],
                "update_date": [pd.Timestamp("2025-01-20")], "status": ["done"],
                "progress": [100.0]}))
        Ledger(store).add_updates(pd.DataFrame({
            "agreement_id": [late], "update_date": ["2025-01-20"], "status": ["done"],
            "progress": [100.0]}), source="followup")
        # a correction recorded in the ledger only: it was done before the cut-off
        Ledger(store).add_updates(pd.DataFrame({
            "agreement_id": [corrected], "update_date": ["2024-12-15"], "status": ["done"],
            "progress": [100.0], "reason": ["Corrección: la obra se entregó el 15 de diciembre"]}))
    ctx = open_context(ws.root)
    try:
        after, _ = _evaluation(ctx, plan)
        _same(after.loc[tids[0]], before.loc[tids[0]])  # the late update does not count
        _same(after.loc[tids[0]], _step04(ctx, tids[0]))
        n = int(before.loc[tids[1], "n"])
        k = round(before.loc[tids[1], "value"] * n)
        assert int(after.loc[tids[1], "n"]) == n
        assert after.loc[tids[1], "value"] == pytest.approx((k + 1) / n)  # the correction does
        _same(after.loc[tids[1]], _step04(ctx, tids[1]))
        assert after.loc["all", "value"] == pytest.approx(
            before.loc["all", "value"] + 1 / int(before.loc["all", "n"]))
    finally:
        ctx.close()
