"""Evaluation plans: the shipped plans validate; mistakes give one line naming the key."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from territoria.evaluation.plan import METHODS, check_plan, load_plan, parse_plan, plan_warnings
from territoria.exceptions import PlanError
from territoria.store import Store

REPO = Path(__file__).resolve().parents[2]
PLANS = sorted((REPO / "evaluations").glob("*.yml"))
SHIPPED = [p for p in PLANS if p.stem != "theory-of-change"]


def _raw(name="classroom") -> dict:
    return yaml.safe_load((REPO / "evaluations" / f"{name}.yml").read_text(encoding="utf-8"))


def _write(tmp_path, raw, name="plan") -> Path:
    p = tmp_path / f"{name}.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def test_shipped_plans_cover_the_brief():
    names = {p.stem for p in SHIPPED}
    assert {"process", "perceived_safety", "crime_impact", "classroom"} <= names
    methods = {q.method for p in SHIPPED for q in load_plan(p).questions}
    assert methods == set(METHODS)
    small = load_plan(REPO / "evaluations" / "classroom.yml")
    assert isinstance(small.territories, list) and len(small.territories) <= 5


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_plans_check_against_the_sample_city(path, sample_ws):
    plan = load_plan(path)
    with Store(sample_ws.store_path, read_only=True) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_plan(plan, store, sample_ws.config())
    assert plan.name == path.stem


@pytest.mark.parametrize("mutate, key, words", [
    (lambda r: r["questions"][0]["indicators"].__setitem__(0, "design_typo"),
     "questions[0].indicators[0]", "not an indicator of method process_scorecard"),
    (lambda r: r["questions"][2].__setitem__("method", "regression"),
     "questions[2].method", "unknown method"),
    (lambda r: r.__setitem__("colour", "red"), "colour", "unknown key"),
    (lambda r: r["questions"][1].__setitem__("control", "never"),
     "questions[1].control", "has no control group"),
    (lambda r: r["questions"][2].__setitem__("sources", ["wellbeing"]),
     "questions[2].sources[0]", "not a data source"),
    (lambda r: r["questions"][1].pop("text"), "questions[1].text", "is required"),
])
def test_static_mistakes_name_the_key(tmp_path, mutate, key, words):
    raw = copy.deepcopy(_raw())
    mutate(raw)
    with pytest.raises(PlanError) as e:
        load_plan(_write(tmp_path, raw), lang="en")
    msg = str(e.value)
    assert "\n" not in msg
    assert f"'{key}'" in msg and words in msg


@pytest.mark.parametrize("mutate, key, words", [
    (lambda r: r["cohort"].__setitem__("column", "joined"), "cohort.column",
     "not a column of the territories table"),
    (lambda r: r["cohort"].__setitem__("column", "name"), "cohort.column", "join dates"),
    (lambda r: r["period"].__setitem__("start", "2010-01-01"), "period.start",
     "outside the data of crime_counts (2016-01 to 2024-12)"),
    (lambda r: r["period"].__setitem__("end", "2031-06-30"), "period.end", "outside the data"),
    (lambda r: r["period"].update(start="2016-01-01", end="2017-12-31"), "period",
     "no cohort joins inside the period"),
    (lambda r: r.__setitem__("territories", ["07-001", "99-999"]), "territories[1]",
     "not a territory in the store"),
    (lambda r: r["questions"][1].__setitem__("waves", {"pre": "pre", "post": "after"}),
     "questions[1].waves.post", "no such wave"),
    (lambda r: r["questions"][2].__setitem__("covariates", ["colour"]),
     "questions[2].covariates[0]", "not a numeric column"),
])
def test_mistakes_against_the_data_name_the_key(tmp_path, sample_ws, mutate, key, words):
    raw = copy.deepcopy(_raw())
    mutate(raw)
    plan = load_plan(_write(tmp_path, raw))
    with Store(sample_ws.store_path, read_only=True) as store, pytest.raises(PlanError) as e:
        check_plan(plan, store, sample_ws.config(), lang="en")
    msg = str(e.value)
    assert "\n" not in msg
    assert f"key '{key}'" in msg and words in msg


def test_name_must_match_file(tmp_path):
    raw = _raw()
    raw["name"] = "other"
    with pytest.raises(PlanError, match=r"key 'name' has value 'other': must match"):
        load_plan(_write(tmp_path, raw, "plan"), lang="en")


def test_invalid_yaml_gives_the_line(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("title: {es: x\nquestions: [", encoding="utf-8")
    with pytest.raises(PlanError, match=r"bad.yml, line \d+: not valid YAML"):
        load_plan(p, lang="en")
    with pytest.raises(PlanError, match=r"bad.yml, línea \d+: el archivo no está escrito en YAML"):
        load_plan(p)


def test_outcome_list_and_defaults():
    p = parse_plan({"title": {"es": "t"}, "questions": [{
        "id": "b", "text": {"es": "?"}, "method": "baseline",
        "outcome": ["unsafe", "cohesion"], "indicators": ["pct_unsafe_colonia", "cohesion_mean"],
        "sources": ["diagnostic"]}]}, name="x")
    assert p.questions[0].outcomes == ["unsafe", "cohesion"]
    assert p.min_cell() == 5 and p.coding() == "first_exposed_period"
    with pytest.raises(PlanError, match=r"key 'questions\[0\].indicators\[0\]'.*allowed: "
                                        r"pct_unsafe_colonia\)"):
        parse_plan({"title": {"es": "t"}, "questions": [{
            "id": "b", "text": {"es": "?"}, "method": "baseline", "outcome": "unsafe",
            "indicators": ["cohesion_mean"], "sources": ["diagnostic"]}]}, name="x", lang="en")


def test_cli_one_line_error(tmp_path, sample_ws):
    from territoria.cli import cli

    raw = _raw()
    raw["cohort"]["column"] = "entry_date"
    p = _write(tmp_path, raw)
    r = CliRunner().invoke(cli, ["evaluate", "calendar", str(p), "-w", str(sample_ws.root)])
    assert r.exit_code == 1
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "la clave 'cohort.column' tiene el valor 'entry_date'" in lines[0]  # the city's es


def test_plan_warnings_speak_the_requested_language():
    plan = load_plan(REPO / "evaluations" / "perceived_safety.yml")
    es = plan_warnings(plan, {"x": None})
    en = plan_warnings(plan, {"x": None}, lang="en")
    assert es and len(es) == len(en)
    assert "todavía no está en el catálogo de la metodología" in es[0]
    assert en[0].endswith("is not in the methodology catalogue yet")


# --- the messages in the city's language ---------------------------------------------------
def _mistake(tmp_path, mutate):
    raw = copy.deepcopy(_raw())
    mutate(raw)
    return _write(tmp_path, raw)


@pytest.mark.parametrize("mutate, es, en", [
    (lambda r: r["questions"][0]["indicators"].__setitem__(0, "design_typo"),
     "plan.yml: la clave 'questions[0].indicators[0]' tiene el valor 'design_typo': no es un "
     "indicador que calcule el método process_scorecard (se pueden usar: ",
     "plan.yml: key 'questions[0].indicators[0]' has value 'design_typo': not an indicator "
     "of method process_scorecard (allowed: "),
    (lambda r: r.__setitem__("colour", "red"),
     "plan.yml: la clave 'colour' no existe en un plan (aquí se pueden usar: calendar, cohort, ",
     "plan.yml: unknown key 'colour' (allowed here: calendar, cohort, "),
    (lambda r: r["questions"][1].pop("text"),
     "plan.yml: falta la clave 'questions[1].text', que es obligatoria",
     "plan.yml: key 'questions[1].text' is required"),
    (lambda r: r["questions"][1].__setitem__("control", "never"),
     "plan.yml: la clave 'questions[1].control' tiene el valor 'never': el método "
     "panel_prepost no usa grupo de comparación",
     "plan.yml: key 'questions[1].control' has value 'never': method panel_prepost has no "
     "control group"),
])
def test_a_bad_plan_speaks_spanish_unless_asked_otherwise(tmp_path, mutate, es, en):
    path = _mistake(tmp_path, mutate)
    said = {}
    for lang in (None, "es", "en"):
        with pytest.raises(PlanError) as e:
            load_plan(path, root=tmp_path, **({"lang": lang} if lang else {}))
        said[lang] = str(e.value)
        assert "\n" not in said[lang]
    assert said[None] == said["es"]
    assert said["es"].startswith(es), said["es"]
    assert said["en"].startswith(en), said["en"]


def test_mistakes_against_the_data_speak_the_city_language(tmp_path, sample_ws):
    raw = copy.deepcopy(_raw())
    raw["territories"] = ["07-001", "99-999"]
    plan = load_plan(_write(tmp_path, raw), root=tmp_path)
    cfg = sample_ws.config()
    assert cfg.default_language == "es"
    said = {}
    with Store(sample_ws.store_path, read_only=True) as store:
        for lang, kw in (("city", {}), ("en", {"lang": "en"})):
            with pytest.raises(PlanError) as e:
                check_plan(plan, store, cfg, **kw)
            said[lang] = str(e.value)
        with pytest.raises(PlanError) as e:
            check_plan(plan, store)  # no city: Spanish
        assert str(e.value) == said["city"]
    assert said["city"] == ("plan.yml: la clave 'territories[1]' tiene el valor '99-999': no "
                            "está entre las colonias cargadas")
    assert said["en"] == ("plan.yml: key 'territories[1]' has value '99-999': not a territory "
                          "in the store")


def test_missing_plan_and_unknown_question_in_both_languages(tmp_path):
    with pytest.raises(PlanError, match=r"^nope\.yml: no se encontró el plan$"):
        load_plan(tmp_path / "nope.yml", root=tmp_path)
    with pytest.raises(PlanError, match=r"^nope\.yml: plan not found$"):
        load_plan(tmp_path / "nope.yml", root=tmp_path, lang="en")
    plan = load_plan(REPO / "evaluations" / "classroom.yml")
    ids = ", ".join(q.id for q in plan.questions)
    with pytest.raises(PlanError) as e:
        plan.question("zzz")
    assert str(e.value) == f"classroom: el plan no tiene la pregunta 'zzz' (preguntas: {ids})"
    with pytest.raises(PlanError) as e:
        plan.question("zzz", lang="en")
    assert str(e.value) == f"classroom: no question 'zzz' (questions: {ids})"


def test_the_plan_catalogue_is_bilingual_and_every_text_is_used():
    import ast
    import string

    from territoria.evaluation import plan as module
    from territoria.i18n import catalogue_path

    texts = yaml.safe_load(catalogue_path(module.__name__).read_text("utf-8"))["MESSAGES"]
    assert texts == module.MESSAGES and len(texts) >= 30

    def fields(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, entry in texts.items():
        assert set(entry) >= {"es", "en"}, key
        assert entry["es"].strip() and entry["en"].strip(), key
        assert fields(entry["es"]) == fields(entry["en"]), key
    literals = {n.value for n in ast.walk(ast.parse(Path(module.__file__).read_text("utf-8")))
                if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not set(texts) - literals, "texts no line of plan.py uses"


@pytest.mark.parametrize("mutate, es", [
    (lambda r: r.__setitem__("colour", "red"), "la clave 'colour' no existe en un plan"),
    (lambda r: r.__setitem__("territories", ["07-001", "99-999"]),
     "la clave 'territories[1]' tiene el valor '99-999': no está entre las colonias cargadas"),
])
def test_cli_evaluate_run_says_it_in_the_city_language(tmp_path, sample_ws, mutate, es):
    from territoria.cli import cli

    bad = _mistake(tmp_path, mutate)
    r = CliRunner().invoke(cli, ["evaluate", "run", str(bad), "-w", str(sample_ws.root)])
    assert r.exit_code == 1, r.output
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert es in lines[0]
    assert "has value" not in lines[0] and "unknown key" not in lines[0]


@pytest.mark.parametrize("mutate, key, value, es, en", [
    (lambda r: r["questions"][1].__setitem__("control", "always"), "questions[1].control",
     "'always'", "debe ser uno de estos valores: never, notyet", "must be one of: never, notyet"),
    (lambda r: r.__setitem__("min_cell_size", "five"), "min_cell_size", "'five'",
     "debe ser un número entero", "must be a whole number"),
    (lambda r: r.__setitem__("min_cell_size", 0), "min_cell_size", "0",
     "debe ser mayor o igual que 1", "must be at least 1"),
    (lambda r: r.__setitem__("period", {"start": "2020-13-01"}), "period.start",
     "'2020-13-01'", "debe ser una fecha válida (AAAA-MM-DD)", "must be a valid date (YYYY-MM-DD)"),
    (lambda r: r["questions"][0].__setitem__("indicators", []), "questions[0].indicators", "[]",
     "debe tener al menos 1 elemento(s)", "must have at least 1 item(s)"),
    (lambda r: r.__setitem__("territories", []), "territories", "[]",
     "escriba 'programme', 'all' o una lista de claves de colonia que no esté vacía",
     "give 'programme', 'all' or a non-empty list of territory ids"),
])
def test_type_and_bound_mistakes_are_translated_too(tmp_path, mutate, key, value, es, en):
    path = _mistake(tmp_path, mutate)
    for lang, frame, rule in (("es", "plan.yml: la clave '{}' tiene el valor {}: ", es),
                              ("en", "plan.yml: key '{}' has value {}: ", en)):
        with pytest.raises(PlanError) as e:
            load_plan(path, root=tmp_path, lang=lang)
        assert str(e.value) == frame.format(key, value) + rule


def test_the_translated_pydantic_rules_are_pydantic_error_types():
    from typing import get_args

    from pydantic_core.core_schema import ErrorType

    from territoria.evaluation.plan import _PYDANTIC_RULES

    own = {"territories_empty"}  # raised by the plan's own validator
    assert set(_PYDANTIC_RULES) - own <= set(get_args(ErrorType))
