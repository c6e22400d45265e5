"""End to end: a small plan run through the notebook machinery on a copy of the sample city,
with residents' feedback ingested, recorded in the store and published on the site."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from territoria.config import Workspace
from territoria.store import Store

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "evaluations" / "classroom.yml"
SECRET_WORDS = "el alumbrado nuevo de la calle Girasol"


def _feedback_frame() -> pd.DataFrame:
    # 07-021: 8 readings of classroom.safety (5 yes, 1 partly, 2 no; 3 explanations);
    # 07-039: 3 readings (under the minimum cell of 5: suppressed)
    rows = []
    answers = ["yes"] * 5 + ["partly"] + ["no"] * 2
    for i, a in enumerate(answers):
        rows.append({"territory": "07-021", "finding": "classroom.safety", "matches": a,
                     "explanation": SECRET_WORDS if i < 3 else None,
                     "sex": "female" if i % 2 else "male", "age_group": "30_44"})
    for a in ["yes", "no", "yes"]:
        rows.append({"territory": "07-039", "finding": "classroom.safety", "matches": a,
                     "explanation": None, "sex": None, "age_group": None})
    df = pd.DataFrame(rows)
    df["start"] = pd.Timestamp("2025-02-01 10:00")
    df["end"] = pd.Timestamp("2025-02-01 10:05")
    return df


@pytest.fixture(scope="module")
def evaluated(sample_ws, tmp_path_factory):
    """Copy of the sample city with feedback ingested and the classroom plan run."""
    from territoria.evaluation.runner import run_plan
    from territoria.ingest.core import ingest_files
    from territoria.instruments.exports import write_kobo_csv
    from territoria.instruments.xlsform import load_instrument

    root = tmp_path_factory.mktemp("eval") / "ws"
    shutil.copytree(sample_ws.root, root, ignore=shutil.ignore_patterns("site", "output"))
    ws = Workspace(root)
    inst = load_instrument(REPO / "surveys" / "feedback.xlsx")
    raw = root / "data" / "raw" / "surveys" / "Validacion_comunitaria_-_all_versions.csv"
    write_kobo_csv(inst, _feedback_frame(), raw)
    reports = ingest_files(ws, [raw])
    assert [r.status for r in reports] == ["ok"], [r.as_line() for r in reports]
    assert reports[0].table == "feedback" and reports[0].accepted == 11
    summary = run_plan(ws, PLAN, workers=2, engine="plain")
    return ws, summary


@pytest.mark.slow
def test_run_records_every_question(evaluated):
    ws, summary = evaluated
    assert summary.failed == {} and summary.ok == ["process", "safety", "crime"]
    with Store(ws.store_path, read_only=True) as s:
        res = s.table("evaluation_results")
        qs = s.table("evaluation_questions")
        plans = s.table("evaluation_plans")
    assert set(res["plan"]) == {"classroom"}
    assert set(res["question"]) == {"process", "safety", "crime"}
    head = res[res["territory_id"].isna()].set_index("indicator")
    assert set(head.index) == {"design_mean", "delib_mean", "impact_mean", "wb_unsafe_change",
                               "crime_att_cs_never"}
    assert (head["ci_low"] <= head["value"]).all() and (head["value"] <= head["ci_high"]).all()
    per = res[res["territory_id"].notna()]
    assert set(per["territory_id"]) == {"07-021", "07-039", "07-061", "07-069"}
    assert not per["indicator"].str.startswith("crime_att").any()  # DiD has no slice
    assert qs.sort_values("position")["question"].tolist() == ["process", "safety", "crime"]
    assert (qs["status"] == "ok").all() and qs["answer_es"].str.len().gt(40).all()
    assert plans["source_text"].iloc[0] == PLAN.read_text(encoding="utf-8")
    assert int(plans["n_territories"].iloc[0]) == 4


def _paired(ws, territories):
    """Independent computation of the panel change of % unsafe (same people pre and post):
    the paired t interval of scipy.stats.ttest_rel (R: t.test(post, pre, paired = TRUE))."""
    with Store(ws.store_path, read_only=True) as s:
        w = s.query("SELECT respondent_code, territory, wave, safety_colonia FROM wellbeing")
    w = w[w["territory"].isin(territories)]
    w["u"] = (w["safety_colonia"].astype(str) == "2").astype(float)
    wide = w.pivot_table(index="respondent_code", columns="wave", values="u").dropna()
    d = wide["post"] - wide["pre"]
    t = stats.ttest_rel(wide["post"], wide["pre"])
    ci = t.confidence_interval(0.95)
    return float(d.mean()), float(ci.low), float(ci.high), len(d)


@pytest.mark.slow
def test_recorded_values_match_an_independent_computation(evaluated):
    ws, _ = evaluated
    with Store(ws.store_path, read_only=True) as s:
        res = s.table("evaluation_results")
        pq = s.query("SELECT territory, moment, pe_design_purpose, pe_design_inclusion, "
                     "pe_design_information, pe_design_time FROM process")
    terr = ["07-021", "07-039", "07-061", "07-069"]
    row = res[(res["indicator"] == "wb_unsafe_change") & res["territory_id"].isna()].iloc[0]
    est, lo, hi, n = _paired(ws, terr)
    assert row["n"] == n
    assert row["value"] == pytest.approx(est, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=1e-10)
    # the design score: respondents' mean over answered items (end questionnaire), t interval
    # (R: t.test(score)$conf.int)
    e = pq[(pq["moment"] == "end") & pq["territory"].isin(terr)]
    items = e.filter(like="pe_design_").apply(pd.to_numeric, errors="coerce")
    score = items.mean(axis=1)[items.notna().sum(axis=1) >= math.ceil(items.shape[1] / 2)]
    m = float(score.mean())
    h = stats.t.ppf(0.975, len(score) - 1) * score.std(ddof=1) / np.sqrt(len(score))
    r = res[(res["indicator"] == "design_mean") & res["territory_id"].isna()].iloc[0]
    assert r["value"] == pytest.approx(m, abs=1e-12) and r["n"] == len(score)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((m - h, m + h), abs=1e-10)
    # one territory's slice equals the same computation on its rows alone
    one = res[(res["indicator"] == "wb_unsafe_change") & (res["territory_id"] == "07-021")].iloc[0]
    assert one["value"] == pytest.approx(_paired(ws, ["07-021"])[0], abs=1e-12)


@pytest.mark.slow
def test_feedback_is_aggregated_and_suppressed(evaluated):
    ws, _ = evaluated
    with Store(ws.store_path, read_only=True) as s:
        fb = s.table("evaluation_feedback").set_index("territory_id")
        assert s.has_table("feedback__freetext")
    a = fb.loc["07-021"]
    assert a["n"] == 8 and not a["suppressed"] and a["n_explanations"] == 3
    assert a["share_yes"] == pytest.approx(5 / 8) and a["share_no"] == pytest.approx(2 / 8)
    # Wilson interval of 5/8 (R: prop.test(5, 8, correct = FALSE)$conf.int = 0.3057, 0.8632)
    assert (a["yes_ci_low"], a["yes_ci_high"]) == pytest.approx((0.3057, 0.8632), abs=1e-4)
    b = fb.loc["07-039"]
    assert b["suppressed"] and pd.isna(b["share_yes"]) and pd.isna(b["n"])
    overall = fb[fb.index.isna()].iloc[0]
    assert overall["n"] == 11 and overall["share_yes"] == pytest.approx(7 / 11)


@pytest.mark.slow
def test_report_and_assembly_pages_are_published(evaluated):
    ws, summary = evaluated
    site = ws.site_dir / "evaluations"
    assert summary.report == site / "classroom.html"
    page = (site / "classroom.html").read_text(encoding="utf-8")
    for text in ("Lo que los datos no pueden decir", "What the data cannot say",
                 "Anexo: el plan de evaluación", "classroom.safety", "<svg"):
        assert text in page
    assert "territories: [07-021, 07-039, 07-061, 07-069]" in page  # the plan as appendix
    t = (site / "classroom" / "territories" / "07-021.html").read_text(encoding="utf-8")
    assert '<html lang="es"' in t and "Resumen para la asamblea comunitaria" in t
    assert re.search(r"Sí coincide: 62 %\. Coincide en parte: 12 %\. No coincide: 25 %", t)
    assert "3 personas explicaron su respuesta; sus palabras no se publican." in t
    t2 = (site / "classroom" / "territories" / "07-039.html").read_text(encoding="utf-8")
    assert "Hay menos de 5 opiniones sobre este resultado" in t2
    for p in site.rglob("*.html"):  # free text never reaches the site
        assert SECRET_WORDS not in p.read_text(encoding="utf-8"), p
    idx = (site / "index.html").read_text(encoding="utf-8")
    assert "classroom.html" in idx and "toc-title-es" in idx
    assert (site / "classroom" / "notebooks" / "crime.html").exists()


@pytest.mark.slow
def test_publish_includes_evaluations_and_nav(evaluated):
    from territoria.report.site import publish

    ws, _ = evaluated
    publish(ws)
    home = (ws.site_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="evaluations/index.html"' in home
    assert (ws.site_dir / "evaluations" / "classroom" / "territories" / "07-061.html").exists()


@pytest.mark.slow
def test_no_folder_of_the_machine_in_the_notebooks_or_their_pages(evaluated):
    """The executed notebooks and every evaluation page name files relative to the workspace
    or the kit: never the workspace's folder, the kit's, or any other folder of the machine."""
    import json

    import nbformat

    import territoria

    ws, _ = evaluated
    folders = [str(ws.root), str(REPO), str(Path(territoria.__file__).resolve().parent)]
    machine = re.compile(r"(?<![\w.])/(?:tmp|home|work|root|srv|Users)/")
    texts = {}
    for nb in sorted((ws.output_dir / "evaluations" / "classroom").glob("*.ipynb")):
        outputs = [o for c in nbformat.read(nb, as_version=4).cells for o in c.get("outputs", [])]
        assert outputs, nb
        texts[nb.name] = json.dumps(outputs, ensure_ascii=False)
    for page in (ws.site_dir / "evaluations").rglob("*.html"):
        texts[str(page.relative_to(ws.site_dir))] = page.read_text(encoding="utf-8")
    assert len(texts) > 4
    leaks = {name: [f for f in folders if f in text] or machine.findall(text)
             for name, text in texts.items()}
    assert not {k: v for k, v in leaks.items() if v}
    page = texts["evaluations/classroom/notebooks/safety.html"]
    assert "<code>output/evaluations/classroom/safety.results.json</code>" in page
    # the messages of a Spanish run read in English on the English page
    assert '<div lang="en"><p>Result saved to <code>' in page
    assert "<p>Method: <code>" in page and "<p>Método: <code>" in page
