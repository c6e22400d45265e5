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
        load_plan(_write(tmp_path, raw))
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
        check_plan(plan, store, sample_ws.config())
    msg = str(e.value)
    assert "\n" not in msg
    assert f"key '{key}'" in msg and words in msg


def test_name_must_match_file(tmp_path):
    raw = _raw()
    raw["name"] = "other"
    with pytest.raises(PlanError, match=r"key 'name' has value 'other': must match"):
        load_plan(_write(tmp_path, raw, "plan"))


def test_invalid_yaml_gives_the_line(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("title: {es: x\nquestions: [", encoding="utf-8")
    with pytest.raises(PlanError, match=r"bad.yml, line \d+: not valid YAML"):
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
            "indicators": ["cohesion_mean"], "sources": ["diagnostic"]}]}, name="x")


def test_cli_one_line_error(tmp_path, sample_ws):
    from territoria.cli import cli

    raw = _raw()
    raw["cohort"]["column"] = "entry_date"
    p = _write(tmp_path, raw)
    r = CliRunner().invoke(cli, ["evaluate", "calendar", str(p), "-w", str(sample_ws.root)])
    assert r.exit_code == 1
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "key 'cohort.column' has value 'entry_date'" in lines[0]


def test_plan_warnings_speak_the_requested_language():
    plan = load_plan(REPO / "evaluations" / "perceived_safety.yml")
    es = plan_warnings(plan, {"x": None})
    en = plan_warnings(plan, {"x": None}, lang="en")
    assert es and len(es) == len(en)
    assert "todavía no está en el catálogo de la metodología" in es[0]
    assert en[0].endswith("is not in the methodology catalogue yet")
