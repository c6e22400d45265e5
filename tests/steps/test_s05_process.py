"""Step 05 process evaluation on the sample city."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.steps import s05_process as s05


@pytest.fixture(scope="module")
def tids(ctx):
    t = ctx.territories()
    return t.loc[t["priority"].astype(bool), "territory_id"].tolist()[:2]


def test_questionnaire_numeric_and_no_free_text(ctx, tids):
    q = s05.load_questionnaire(ctx, tids[0])
    assert len(q) and (q["territory"] == tids[0]).all()
    assert "pe_comments" not in q.columns
    items = [c for c in q.columns if c.startswith("pe_")]
    assert items and all(q[c].dtype.kind in "fi" for c in items)
    assert all(q[c].notna().any() for c in items)       # items nobody answered are dropped


def test_reliability_matches_pingouin_and_formula(ctx, tids):
    import pingouin as pg

    q = s05.load_questionnaire(ctx, tids[0])
    rel = s05.reliability(q).set_index("stage")
    end = q[q["moment"] == "end"]
    items = [c for c in end.columns if c.startswith("pe_impact_")]
    ref, _ = pg.cronbach_alpha(end[items].dropna())        # reference: pingouin
    assert rel.loc["impact", "alpha"] == pytest.approx(ref, abs=1e-10)
    X = end[items].dropna().to_numpy()
    k = X.shape[1]
    by_hand = k / (k - 1) * (1 - X.var(axis=0, ddof=1).sum() / X.sum(axis=1).var(ddof=1))
    assert rel.loc["impact", "alpha"] == pytest.approx(by_hand)
    assert rel.loc["impact", "ci_low"] < rel.loc["impact", "alpha"] < rel.loc["impact", "ci_high"]
    it = s05.item_analysis(q)
    assert set(it["stage"]) == {"design", "delib", "impact"}
    assert it["r_item_rest"].between(-1, 1).all()


def test_compute_territory(ctx, tids):
    for tid in tids:
        r = s05.compute(ctx, tid)
        ind = r.indicators_frame().set_index("name")
        for name in ("design_agree", "delib_agree", "impact_agree", "impact_mean",
                     "agreements_signed", "agreements_per_assembly", "impact_alpha",
                     "repeated_change"):
            assert name in ind.index, name
        q = s05.load_questionnaire(ctx, tid)
        n_end = int((q["moment"] == "end").sum())
        assert ind.loc["impact_agree", "n"] == n_end
        lo, v, hi = ind.loc["impact_mean", ["ci_low", "value", "ci_high"]]
        assert lo < v < hi
        # the truth: participants become more positive at the end (+0.5 on repeated items)
        assert ind.loc["repeated_change", "value"] > 0
        assert {"scorecard", "reliability", "repeated", "iap2"} <= set(r.tables)
        for df in r.tables.values():
            assert "participant_code" not in df.columns
            assert "agreement_text" not in df.columns
        card = r.tables["scorecard"]
        assert {"label_es", "label_en", "estimate", "ci_low", "ci_high"} <= set(card.columns)


def test_activity_counts_match_store(ctx, tids):
    tid = tids[0]
    act = s05.activity(ctx, tid).iloc[0]
    a = ctx.table("assembly", tid)
    ag = ctx.repeat("assembly", "agreements", tid)
    assert act["assemblies"] == len(a) and act["agreements"] == len(ag)
    # signed: step 04's state on the same cut-off, accepted statuses (incl. later cancelled)
    from territoria.steps import s04_followup as s04
    state = s04.analyse(ctx, tid).state
    signed = int(state["status"].isin(["agreed", "in_progress", "done", "cancelled"]).sum())
    assert act["agreements_signed"] == signed and act["agreements_recorded"] == len(state)
    # Wilson interval of the signed share, against statsmodels (reference)
    from statsmodels.stats.proportion import proportion_confint
    r = s05.compute(ctx, tid).indicators_frame().set_index("name").loc["agreements_signed"]
    lo, hi = proportion_confint(signed, len(state), method="wilson")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_agreements_signed_use_step_04s_cut_off(ctx, tids):
    """Step 05 counts meetings, agreements and signatures up to step 04's cut-off date (one
    rule, :func:`territoria.steps.common.resolve_as_of`): without it the two pages disagreed
    for any ``period_end`` before the last record."""
    import dataclasses
    import datetime as dt

    from territoria.steps import s04_followup as s04
    from territoria.steps.common import resolve_as_of

    assert s04.resolve_as_of is resolve_as_of  # the same function, not a copy
    tid, day = tids[0], "2021-06-30"
    default = s05.activity(ctx, tid)
    assert (default["as_of"] == s04.analyse(ctx, tid).as_of).all()  # city.yml: period_end
    early = s05.activity(ctx, tid, as_of=day).iloc[0]
    late = default.iloc[0]
    assert early["as_of"] == pd.Timestamp(day)
    assert 0 < early["agreements"] < late["agreements"]
    assert early["agreements_signed"] < late["agreements_signed"]
    # the agreements made by the date are the ones step 04 follows on that date
    f04 = s04.compute(ctx, tid, as_of=day).indicators_frame().set_index("name")
    assert early["agreements"] == f04.loc["followup_agreements", "value"]
    # signed: step 04's agreements accepted by that date
    st04 = s04.analyse(ctx, tid, as_of=day).state
    signed = int(st04["status"].isin(s04.ACCEPTED).sum())
    assert early["agreements_signed"] == signed and 0 < signed <= len(st04)
    # city.yml: period_end moves both steps' cut-off the same way
    cfg = ctx.config.model_copy(update={"period_end": dt.date(2021, 6, 30)})
    moved = dataclasses.replace(ctx, config=cfg)
    assert s05.activity(moved, tid).iloc[0][["agreements", "agreements_signed"]].tolist() == \
        early[["agreements", "agreements_signed"]].tolist()
    assert s04.analyse(moved, tid).as_of == pd.Timestamp(day)
    r = s05.compute(moved, tid).indicators_frame().set_index("name").loc["agreements_signed"]
    assert r["value"] == pytest.approx(signed / early["agreements_recorded"])


def test_a_ledger_correction_changes_signed_as_in_step_04(ctx, tids, tmp_path):
    """One fact, one number (issue 15): step 05's signed count comes from step 04's source, so a
    correction recorded only in the ledger moves both pages the same way."""
    import dataclasses

    from territoria.ledger.ledger import Ledger, sync_from_surveys
    from territoria.steps import s04_followup as s04
    from territoria.store import Store

    tid = tids[0]
    db = tmp_path / "store.duckdb"
    shutil.copy(ctx.ws.store_path, db)
    with Store(db) as store:
        sync_from_surveys(store)
    led_ctx = dataclasses.replace(ctx, store=Store(db, read_only=True))

    def counts(c):
        committed = s04.compute(c, tid).indicators_frame().set_index("name").loc[
            "followup_committed", "value"]
        return s05.activity(c, tid).iloc[0]["agreements_signed"], committed

    before = counts(led_ctx)
    st = s04.analyse(led_ctx, tid).state
    target = st[st["status"].isin(["agreed", "in_progress"])].iloc[0]
    led_ctx.store.close()
    with Store(db) as store:  # the department rejects it after all (a ledger-only update)
        Ledger(store).add_updates(pd.DataFrame({
            "agreement_id": [target["agreement_id"]], "update_date": [st["as_of"].iloc[0]],
            "status": ["rejected"], "reason": ["Corrección: la dependencia no lo aceptó"]}))
    led_ctx = dataclasses.replace(ctx, store=Store(db, read_only=True))
    after = counts(led_ctx)
    led_ctx.store.close()
    assert after[0] == before[0] - 1 and after[1] == before[1] - 1
    # the forms did not change: without the ledger step 05 would not have seen it
    assert s05.activity(ctx, tid).iloc[0]["agreements_signed"] == before[0]


def test_small_territory_suppressed(ctx, tids):
    q = s05.load_questionnaire(ctx, tids[0])
    few = q[q["participant_code"].isin(q["participant_code"].unique()[:3])]
    card = s05.scorecard(few, s05.activity(ctx, tids[0]), min_cell=5)
    quest = card[card["indicator"].str.match(r"^(design|delib|impact)_")]
    assert quest["suppressed"].all() and quest["estimate"].isna().all()
    assert not card.loc[card["indicator"] == "agreements_signed", "suppressed"].any()
    rep = s05.repeated_items(few, min_cell=5)
    assert rep["suppressed"].all()


def test_iap2_table():
    t = s05.iap2_table().set_index("mechanism")
    assert t.loc["agenda_validation", "level"] == "empower"
    assert t.loc["security_cabinet", "level_es"] == "Consultar"
    assert t.loc["planning_collective", ["mechanism_es", "mechanism_en"]].tolist() == [
        "Colectivo de planeación", "Planning collective"]
    assert (t["rationale_es"].str.len() > 40).all() and (t["rationale_es"] != t["rationale_en"]).all()
    assert list(t.columns) == ["level", "level_rank", "mechanism_es", "mechanism_en", "level_es",
                               "level_en", "rationale_es", "rationale_en"]


def test_indicator_labels_from_codes():
    assert s05.indicator_label("impact", "impact_mean", "es") == \
        "Camino al impacto: Puntaje promedio (1 a 5)"
    assert s05.indicator_label("impact", "agreements_signed", "en") == \
        "Pathways to impact: agreements signed by a department"


def test_city_comparison_weakest_stage_is_impact(ctx, sample_ws):
    import json as _json
    truth = _json.loads((sample_ws.root / "truth" / "params.json").read_text())
    means = truth["params"]["process_stage_means"]
    planted = min(means, key=means.get)
    assert planted == "impact"
    comp = s05.city_comparison_table(ctx)
    weakest = comp.loc[comp["weakest_stage"], "stage"].unique().tolist()
    assert weakest == [planted]
    # the questionnaire alone says the same: impact has the lowest stage mean
    q_only = comp[comp["indicator"].str.match(r"^(design|delib|impact)_")]
    assert q_only.groupby("stage")["mean_norm"].mean().idxmin() == planted
    assert (comp["n_territories"] > 100).all()
    assert {"label_es", "label_en"} <= set(comp.columns)
    r = s05.compute(ctx, comp["weakest_territory"].iloc[0], city=comp)
    view = r.tables["city_comparison"]
    assert view["territory_value"].notna().any()


def test_territory_required(ctx):
    with pytest.raises(DataError, match="territory"):
        s05.compute(ctx, None)
    with pytest.raises(DataError, match="not in the store"):
        s05.compute(ctx, "99-999")


def test_catalogue_covers_indicators(repo_root, ctx, tids):
    from territoria.report.catalogue import load_catalogue
    cat = load_catalogue(str(repo_root / "methodology" / "indicators" / "05_process.yml"))
    names = set(s05.compute(ctx, tids[0]).indicators_frame()["name"])
    assert names <= set(cat)
    assert set(s05.SECTION.indicators) <= set(cat)


@pytest.mark.slow
def test_notebook_runs(sample_ws, tmp_path, repo_root, tids):
    import papermill

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "05.ipynb"
    papermill.execute_notebook(str(repo_root / "notebooks" / "05_process.ipynb"), str(out),
                               parameters=dict(workspace=str(ws), territory=tids[0],
                                               language="es"), kernel_name="python3")
    res = json.loads((ws / "output" / "05_process" / f"{tids[0]}.results.json").read_text())
    names = {i["name"] for i in res["indicators"]}
    assert {"impact_agree", "agreements_signed", "repeated_change"} <= names




def test_compute_reuses_what_the_notebook_computed(ctx, tids):
    """Passing the notebook's tables gives exactly what compute finds on its own."""
    t = tids[0]
    q = s05.load_questionnaire(ctx, t)
    act = s05.activity(ctx, t)
    card = s05.scorecard(q, act, min_cell=ctx.min_cell)
    rep = s05.repeated_items(q, min_cell=ctx.min_cell)
    alone = s05.compute(ctx, t)
    reused = s05.compute(ctx, t, questionnaire=q, act=act, card=card, repeated=rep)
    pd.testing.assert_frame_equal(alone.indicators_frame(), reused.indicators_frame())
    assert alone.tables.keys() == reused.tables.keys()
    for k in alone.tables:
        pd.testing.assert_frame_equal(alone.tables[k], reused.tables[k])


def test_repeated_change_bit_identical_under_other_pseudonyms(ctx):
    # Another workspace's secret gives the same participants other codes (and the rows come
    # in another order): repeated_change must keep every bit (it used to differ in the last
    # one: the pairs were summed in code order).
    q = s05.load_questionnaire(ctx, None)
    old = q["participant_code"].unique()
    swap = dict(zip(old, np.random.default_rng(7).permutation(old), strict=True))
    o = q.assign(participant_code=q["participant_code"].map(swap)).iloc[::-1]
    for t in sorted(q["territory"].unique()):
        pd.testing.assert_frame_equal(s05.repeated_items(o[o["territory"] == t]),
                                      s05.repeated_items(q[q["territory"] == t]),
                                      check_exact=True)
