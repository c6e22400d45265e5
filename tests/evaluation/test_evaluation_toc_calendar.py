"""Theory of change, the feedback instrument and the data-collection calendar."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from territoria.evaluation import toc
from territoria.evaluation.calendar import calendar, summarise
from territoria.evaluation.plan import load_plan
from territoria.exceptions import PlanError

REPO = Path(__file__).resolve().parents[2]
STEP_FILES = [f"{s}.yml" for s in ("00_selection", "01_network", "02_diagnostic", "03_agenda",
                                   "04_followup", "05_process", "06_impact")]


def test_toc_structure_and_levels():
    t = toc.load_toc()
    levels = {b["level"] for b in t["boxes"]}
    assert levels == set(toc.LEVELS)
    labels = " ".join(b["label"]["es"] for b in t["boxes"])
    for word in ("enlaces", "asambleas", "Diagnóstico", "Colectivos", "Agendas", "Mesas",
                 "Gabinetes", "Participación", "Confianza", "Convivencia",
                 "Sensación de seguridad", "Acuerdos cumplidos", "Bienestar", "delitos"):
        assert word.lower() in labels.lower(), word
    assert len(t["assumptions"]) == 4 and all("en" in a["text"] for a in t["assumptions"])


def test_toc_indicators_against_the_catalogue():
    from territoria.report.catalogue import load_catalogue

    mdir = REPO / "methodology" / "indicators"
    missing_files = [f for f in STEP_FILES if not (mdir / f).exists()]
    if missing_files:
        pytest.skip(f"catalogue not complete yet: {', '.join(missing_files)}")
    cat = load_catalogue(str(mdir))
    status = toc.indicator_status(toc.load_toc(), cat)
    assert [k for k, v in status.items() if v == "missing"] == []
    assert toc.validate(toc.load_toc(), cat, strict=True) == []


def test_toc_unknown_indicator_warns_or_raises(tmp_path):
    raw = yaml.safe_load((REPO / "evaluations" / "theory-of-change.yml").read_text("utf-8"))
    raw["boxes"][0]["indicators"] = ["no_such_indicator"]
    p = tmp_path / "toc.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    t = toc.load_toc(p)
    cat = {i: None for i in toc.indicator_status(toc.load_toc(), {})}  # every shipped id
    with pytest.warns(UserWarning, match=r"boxes\[0\]\.indicators\[0\]"):
        assert len(toc.validate(t, cat)) == 1
    with pytest.raises(PlanError, match="not in the methodology catalogue"):
        toc.validate(t, cat, strict=True, lang="en")
    with pytest.raises(PlanError, match="no está en el catálogo de la metodología"):
        toc.validate(t, cat, strict=True)
    raw["boxes"][-1]["leads_to"] = ["territorial_staff"]
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlanError, match=r"boxes\[\d+\]\.leads_to\[0\]'.*earlier level"):
        toc.load_toc(p, lang="en")


def test_toc_errors_speak_spanish_by_default_and_english_when_asked(tmp_path):
    raw = yaml.safe_load((REPO / "evaluations" / "theory-of-change.yml").read_text("utf-8"))
    raw["boxes"][0]["leads_to"] = ["no_such_box"]
    p = tmp_path / "toc.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    lines = {}
    for lang in ("es", "en"):
        with pytest.raises(PlanError) as e:
            toc.load_toc(p, **({"lang": lang} if lang == "en" else {}))
        lines[lang] = str(e.value)
    assert lines["es"] == (f"{p}: la clave 'boxes[0].leads_to[0]' tiene el valor 'no_such_box': "
                           "no hay ningún recuadro con ese id")
    assert lines["en"] == f"{p}: key 'boxes[0].leads_to[0]' has value 'no_such_box': no such box"


@pytest.mark.parametrize("lang, word", [("es", "Insumos"), ("en", "Inputs")])
def test_toc_svg_is_valid_accessible_and_bilingual(lang, word):
    s = toc.svg(toc.load_toc(), lang)
    root = ET.fromstring(s)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-labelledby")
    assert root.find(f"{ns}title").text and len(root.find(f"{ns}desc").text) > 200
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert word in texts
    assert len(root.findall(f".//{ns}rect")) == len(toc.load_toc()["boxes"])
    n_arrows = sum(len(b["leads_to"]) for b in toc.load_toc()["boxes"])
    assert len(root.findall(f"{ns}path")) == n_arrows


def test_feedback_form_converts_with_pyxform():
    from pyxform import xls2json

    from territoria.instruments.validate import validate_xlsform
    from territoria.instruments.xlsform import load_instrument

    res = validate_xlsform(REPO / "surveys" / "feedback.xlsx")
    assert "territoria_feedback" in res.summary()
    spec = xls2json.parse_file_to_json(str(REPO / "surveys" / "feedback.xlsx"))
    assert spec["id_string"] == "territoria_feedback"
    inst = load_instrument(REPO / "surveys" / "feedback.xlsx")
    f = {x.name: x for x in inst.fields_of(None)}
    assert {"territory", "finding", "matches", "explanation", "sex", "age_group"} <= set(f)
    assert f["explanation"].free_text and not f["matches"].free_text
    assert not f["sex"].required and f["matches"].required


def test_calendar_sample_sizes(sample_ws, tmp_path):
    from territoria.steps.common import open_context

    raw = yaml.safe_load((REPO / "evaluations" / "classroom.yml").read_text("utf-8"))
    raw["calendar"]["power"] = {"outcome": "life_satisfaction", "change": 0.5, "sd": 1.0,
                                "attrition": 0.2}
    p = tmp_path / "cal.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    ctx = open_context(sample_ws.root)
    try:
        cal = calendar(ctx, load_plan(p))
        shipped = calendar(ctx, load_plan(REPO / "evaluations" / "perceived_safety.yml"))
    finally:
        ctx.close()
    # R: pwr::pwr.t.test(d = 0.5, power = 0.8) -> n = 63.77 per group -> 64
    post = cal[cal["round"] == "panel_post"]
    assert (post["n_needed"] == 64).all()
    pre = cal[cal["round"] == "panel_pre"]
    assert (pre["n_needed"] == math.ceil(64 / 0.8)).all()  # first panel wave: attrition
    assert set(cal["territory_id"]) == {"07-021", "07-039", "07-061", "07-069"}
    # c1 joined 2018-12-24: second wave 12 months later
    assert set(post["date"]) == {"2019-12-24"}
    # shipped plan: % unsafe with each territory's diagnostic baseline, deff 1.5
    from territoria.analysis.power import sample_size

    one = shipped[(shipped["round"] == "panel_post")].iloc[0]
    ref = sample_size("proportion", baseline=one["baseline"], change=-0.10, deff=1.5)
    assert one["n_needed"] == int(ref["n_per_round"].iloc[0])
    assert shipped[shipped["round"] == "baseline"]["n_needed"].notna().all()
    s = summarise(shipped)
    assert set(s["cohort"]) == {"c1", "c2", "c3", "c4"}


def test_calendar_needs_a_calendar(sample_ws, tmp_path):
    from territoria.steps.common import open_context

    raw = yaml.safe_load((REPO / "evaluations" / "classroom.yml").read_text("utf-8"))
    raw.pop("calendar")
    p = tmp_path / "nocal.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    ctx = open_context(sample_ws.root)
    try:
        with pytest.raises(PlanError, match="key 'calendar' is required"):
            calendar(ctx, load_plan(p), lang="en")
    finally:
        ctx.close()


def test_calendar_errors_speak_spanish_by_default_and_english_when_asked(sample_ws, tmp_path):
    from territoria.steps.common import open_context

    raw = yaml.safe_load((REPO / "evaluations" / "classroom.yml").read_text("utf-8"))
    for r in raw["calendar"]["rounds"]:
        r.pop("months_from_joining", None)
        r.pop("date", None)
    p = tmp_path / "nowhen.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    plan = load_plan(p)
    ctx = open_context(sample_ws.root)
    try:
        with pytest.raises(PlanError) as es:
            calendar(ctx, plan)
        with pytest.raises(PlanError) as en:
            calendar(ctx, plan, lang="en")
    finally:
        ctx.close()
    assert str(es.value) == (f"{plan.where}: al levantamiento 'calendar.rounds[0]' le falta "
                             "decir cuándo se hace: escriba 'months_from_joining' (meses después "
                             "de que la colonia se sumó) o una fecha fija en 'date'")
    assert str(en.value) == (f"{plan.where}: key 'calendar.rounds[0]': give "
                             "'months_from_joining' or 'date'")
