"""Step 04 (follow-up of agreements) on the sample city: rates checked against an independent
SQL recount of the follow-up form, planted department speeds recovered, no personal data."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from territoria.analysis import followup as fu
from territoria.exceptions import DataError
from territoria.steps import s04_followup as step


@pytest.fixture(scope="module")
def programme(ctx):
    return ctx.territories().query("priority == True")["territory_id"].tolist()


@pytest.fixture(scope="module")
def first(ctx, programme):
    return step.analyse(ctx, programme[0])


def _recount(ctx, tid, as_of):
    """Last follow-up status on or before as_of, per agreement, by plain SQL (no ledger code).
    The ledger's initial 'agreed' on the assembly date is older than every follow-up row of
    the sample (the form's first row is that same date), so the last follow-up row decides."""
    return ctx.store.query(
        "SELECT agreement_code, status FROM ("
        "  SELECT agreement_code, status, row_number() OVER (PARTITION BY agreement_code"
        "    ORDER BY update_date DESC, _id DESC) AS r FROM followup"
        "  WHERE territory = ? AND update_date <= ?) WHERE r = 1",
        [tid, pd.Timestamp(as_of)])


def test_rates_match_an_independent_recount(ctx, programme):
    for tid in programme[:3]:
        a = step.analyse(ctx, tid)
        assert a.source == "surveys" and a.as_of == pd.Timestamp("2024-12-31")
        rc = _recount(ctx, tid, a.as_of)
        st = a.state.set_index("agreement_id")
        common = rc.set_index("agreement_code")["status"]
        assert (st.loc[common.index, "status"] == common).all()
        committed = st["status"].isin(("agreed", "in_progress", "done"))
        res = step.compute(ctx, tid, analysis=a).indicators_frame().set_index("name")
        f = res.loc["followup_fulfilment_rate"]
        k, n = int((st["status"] == "done").sum()), int(committed.sum())
        assert f["value"] == pytest.approx(k / n) and f["n"] == n
        # Wilson interval without continuity correction: R prop.test(k, n, correct = FALSE)
        # equals 0.2553-0.3662 for 81/263 (Newcombe 1998, method 3; analysis.followup doctest)
        lo, hi = fu.proportion_ci(k, n)
        assert (f["ci_low"], f["ci_high"]) == pytest.approx((float(lo), float(hi)))
        assert res.loc["followup_overdue", "value"] == len(fu.overdue(a.state))


def test_as_of_moves_the_cut_off(ctx, programme):
    early = step.analyse(ctx, programme[0], as_of="2021-06-30")
    late = step.analyse(ctx, programme[0])
    assert early.as_of == pd.Timestamp("2021-06-30")
    assert len(early.state) < len(late.state)
    assert (early.state["first_date"] <= early.as_of).all()


def test_planted_department_speeds_are_recovered(ctx, programme):
    # activity.DEPARTMENT_SPEED: median days agreed->done security 120, water_utility 320, and
    # 75 % vs 45 % ever done; pooled over territories, water must be slower than security
    state = pd.concat([step.analyse(ctx, t).state for t in programme[:12]], ignore_index=True)
    summ, _ = fu.time_to_fulfilment(state, by="department")
    m = summ.set_index("department")
    assert m.loc["security", "median_days"] < m.loc["water_utility", "median_days"] or np.isnan(
        m.loc["water_utility", "median_days"])
    f = fu.fulfilment_rate(state, by="department").set_index("department")
    assert f.loc["security", "rate"] > f.loc["water_utility", "rate"]


def test_published_tables_are_small_and_carry_no_personal_data(ctx, first):
    res = step.compute(ctx, first.territory_id, analysis=first)
    acc = res.tables["accountability"]
    assert len(acc) <= step.MAX_PROMISES and len(res.tables["overdue"]) <= step.MAX_OVERDUE
    assert res.meta["accountability"]["total"] == len(first.state)
    forbidden = {"reporter_name", "reason", "evidence", "evidence_url", "evidence_urls"}
    names = set(ctx.store.query("SELECT * FROM followup__freetext")["reason"].dropna().astype(
        str)) - {""} if ctx.store.has_table("followup__freetext") else set()
    for key, df in res.tables.items():
        assert not forbidden & set(df.columns), key
        text = {str(t) for t in df.to_numpy().ravel()}
        assert not any("evidencias.example" in t for t in text), key
        assert not names & text, key
    # overdue first, most overdue first; history holds at most LAST_UPDATES updates
    od = acc[acc["overdue"]]
    assert acc["overdue"].tolist() == sorted(acc["overdue"], reverse=True)
    assert od["days_overdue"].is_monotonic_decreasing
    n_parts = acc["history_es"].str.count(" · ") + 1
    assert (n_parts <= step.LAST_UPDATES + 1).all()
    assert {"label_es", "label_en", "department_es", "status_en"} <= set(acc.columns)


def test_traceability_says_what_cannot_be_computed(ctx, first):
    tr = step.traceability_table(first).set_index("name")
    top = tr.loc["top_agenda_with_agreement"]
    st = first.state
    links = ("proposal_code" in st.columns
             and (st["proposal_code"].fillna("").astype(str).str.strip() != "").any())
    has_agenda = first.agenda is not None and len(first.agenda) > 0
    if links and has_agenda:  # the ledger carries the form's proposal_code: exact indicator
        assert top["computable"] and 0 <= top["estimate"] <= 1 and top["n"] > 0
    else:  # no links or no agenda (yet): withheld with a note, never a proxy
        assert not top["computable"] and np.isnan(top["estimate"]) and top["note_es"]
    ev = tr.loc["agreements_with_evidence"]
    assert ev["estimate"] == pytest.approx((first.state["n_evidence"] > 0).mean())
    # the sample's agreements record the proposal they answer (assembly form 2026.2) for most
    # but not all agreements: the share equals a plain SQL recount of the form's repeat
    k, n = ctx.store.query(
        "SELECT count(NULLIF(trim(a.proposal_code), '')), count(*) FROM assembly__agreements a "
        "JOIN assembly p ON a._parent_uuid = p._uuid WHERE p.territory = ?",
        [first.territory_id]).iloc[0].tolist()
    linked = tr.loc["agreements_linked_to_proposal"]
    assert 0 < k < n and (linked["k"], linked["n"]) == (k, n)


def test_every_count_of_agreements_is_one_recorded_fact_with_its_own_label(ctx, programme):
    """07-291's page gave 44, 45 and 47 "agreements": committed (promise table), accepted
    including later cancelled (time to fulfil) and all recorded (traceability). Each table's
    count must equal one recorded number, and different facts carry different labels."""
    views = {v.key: v for v in step.SECTION.views}
    promise = views["promise_table"].columns
    time_n = views["time_to_fulfilment"].columns["n"]
    trace_n = views["traceability"].columns["n"]
    labels = [promise["n_committed"]["es"], time_n["es"], trace_n["es"]]
    assert len(set(labels)) == 3 and "Acuerdos" not in labels, labels
    assert len({promise["n_committed"]["en"], time_n["en"], trace_n["en"]}) == 3
    assert time_n["es"] == "Acuerdos aceptados (incluye cancelados)"
    assert trace_n == {"es": "De un total de", "en": "Out of"}  # 10 agenda items or agreements
    differ = 0
    for tid in programme[:3]:
        a = step.analyse(ctx, tid)
        ind = step.compute(ctx, tid, analysis=a).indicators_frame().set_index("name")
        pt = step.promise_table(a)
        assert pt["n_committed"].sum() == ind.loc["followup_committed", "value"]
        assert pt["n_overdue"].sum() == ind.loc["followup_overdue", "value"]
        summ, _ = step.time_table(a)
        everyone = summ.set_index("department").loc["all"]
        accepted = a.state["status"].isin(("agreed", "in_progress", "done", "cancelled")) \
            & a.state["committed_date"].notna()
        assert everyone["n"] == accepted.sum() == ind.loc["followup_median_days", "n"]
        trace = step.traceability_table(a).set_index("name")
        assert (trace.loc[["agreements_linked_to_proposal", "agreements_with_evidence"], "n"]
                == ind.loc["followup_agreements", "value"]).all()
        assert trace.loc["agreements_with_evidence", "label_es"].startswith(
            "Acuerdos registrados")
        differ += len({int(pt["n_committed"].sum()), int(everyone["n"]),
                       int(ind.loc["followup_agreements", "value"])}) > 1
    assert differ  # the sample city has territories where the three counts differ


def test_kaplan_meier_censors_open_agreements(first):
    summ, curve = step.time_table(first)
    all_ = summ.set_index("department").loc["all"]
    d = fu.fulfilment_durations(first.state)
    assert all_["n"] == len(d) and all_["events"] == int(d["event"].sum())
    assert all_["censored"] == int((d["event"] == 0).sum()) > 0
    fig, alt = step.km_figure(first, lang="en")
    assert "Kaplan-Meier" in alt


def test_missing_territory_is_a_clear_error(ctx):
    with pytest.raises(DataError, match="territory"):
        step.analyse(ctx, None)


@pytest.mark.slow
def test_notebook_runs_and_records_the_indicators(sample_ws, programme, tmp_path):
    import papermill

    from territoria.report.catalogue import kit_dir

    ws = tmp_path / "ws"
    shutil.copytree(sample_ws.root, ws, ignore=shutil.ignore_patterns("output", "site"))
    tid = programme[0]
    papermill.execute_notebook(str(kit_dir("notebooks") / "04_followup.ipynb"),
                               str(tmp_path / "out.ipynb"),
                               parameters=dict(workspace=str(ws), territory=tid, language="es"),
                               kernel_name="python3", progress_bar=False)
    side = json.loads((ws / "output" / "04_followup" / f"{tid}.results.json").read_text())
    names = {i["name"] for i in side["indicators"]}
    assert {"followup_fulfilment_rate", "followup_on_time_rate", "followup_overdue",
            "followup_median_days", "followup_evidence_share"} <= names
    assert "accountability" in side["tables"]


def test_analyse_many_gives_each_territorys_analysis(ctx, programme, tmp_path):
    """The evaluation reads every territory at once (issue 17): the ledger read and the state
    rebuilt once give the same states and figures as one ``analyse`` per territory, from the
    ledger and from the forms."""
    import dataclasses

    from territoria.ledger.ledger import sync_from_surveys
    from territoria.store import Store

    db = tmp_path / "store.duckdb"
    shutil.copy(ctx.ws.store_path, db)
    with Store(db) as store:
        sync_from_surveys(store)
    led = dataclasses.replace(ctx, store=Store(db, read_only=True))
    tids = programme[:6]
    try:
        for c, source in ((led, "ledger"), (ctx, "surveys")):
            many = step.analyse_many(c, tids, as_of="2022-06-30")
            assert [a.territory_id for a in many] == tids
            for a in many:
                one = step.analyse(c, a.territory_id, as_of="2022-06-30")
                assert a.source == one.source == source and a.as_of == one.as_of
                assert len(one.state) > 0
                cols = ["agreement_id", "status", "progress", "status_since", "done_date",
                        "n_updates", "n_evidence", "department", "due_date"]
                pd.testing.assert_frame_equal(a.state[cols], one.state[cols],
                                              check_dtype=False)
                pd.testing.assert_frame_equal(step.summary_table(a), step.summary_table(one))
        with pytest.raises(DataError, match="not in the store"):
            step.analyse_many(led, ["99-999"])
    finally:
        led.store.close()
