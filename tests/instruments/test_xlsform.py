"""Tests of territoria.instruments.xlsform: the kit's forms, a real Kobo form, errors, values."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from territoria.exceptions import InstrumentError
from territoria.instruments.xlsform import (
    default_surveys_dir,
    find_instrument,
    load_instrument,
    load_instruments,
    parse_language,
)

KOBO_DIR = "kobo-export-example"
KOBO_FORM = "artifact-kobotoolbox.xlsx"
KOBO_CSV = "paleocore-sss_artifact-form_-_all_versions_-_False_-_2022-08-01-05-36-18.csv"

# Data contract of CONTRIBUTING.md: instrument -> (main-table fields, {repeat: fields}).
PLACES = [f"safety_place_{i:02d}" for i in range(1, 13)]
ATT = [f"att_{s}_{a}" for s in ("female", "male") for a in ("18_29", "30_44", "45_59", "60_plus")]
CONTRACT = {
    "territoria_diagnostic": (
        ["zone", "territory", "block", "respondent_name", "phone", "address", "sex", "age_group",
         "disability", "indigenous", "afromexican", "problems", "problem_1", "problem_2",
         "problem_3", "safety_colonia", "safety_city", *PLACES, "service_water",
         "service_lighting", "service_garbage", "service_paving", "service_transport",
         "trust_neighbours", "trust_alcaldia", "trust_police", "cohesion_help",
         "cohesion_organise", "life_satisfaction", "comments"], {}),
    "territoria_assembly": (
        ["assembly_code", "kind", "mode", "date", "zone", "territory", "block", "place",
         "facilitator_name", "facilitator_phone", *ATT, "topics"],
        {"agreements": ["agreement_code", "agreement_text", "department", "due_date",
                        "proposal_code"]}),
    "territoria_proposals": (
        ["proposal_code", "territory", "axis", "title", "description", "round", "author_name"], {}),
    "territoria_votes": (
        ["participant_code", "territory", "block", "round", "sex", "age_group"],
        {"votes": ["proposal_code", "vote"]}),
    "territoria_tallies": (
        ["assembly_code", "territory", "round", "date", "present"],
        {"tally": ["proposal_code", "n_agree", "n_disagree", "n_pass"]}),
    "territoria_followup": (
        ["agreement_code", "territory", "update_date", "status", "progress", "reason",
         "evidence_url", "department", "reporter_name"], {}),
    "territoria_process": (["participant_code", "territory", "moment", "sex", "age_group",
                            "disability"], {}),
    "territoria_wellbeing": (
        ["respondent_code", "territory", "wave", "sex", "age_group", "life_satisfaction",
         "safety_colonia", "trust_neighbours", "peace_1", "peace_2", "peace_3", "peace_4",
         "peace_5"], {}),
}
PERSONAL = {
    "territoria_diagnostic": {"respondent_name", "phone", "address", "comments"},
    "territoria_assembly": {"facilitator_name", "facilitator_phone"},
    "territoria_proposals": {"author_name"},
    "territoria_followup": {"reporter_name"},
}
CHOICES = {  # shared lists of the data contract
    "sex": ["female", "male"], "age_group": ["18_29", "30_44", "45_59", "60_plus"],
    "yes_no": ["yes", "no"],
    "axis": ["security", "services", "water", "health", "education_culture", "economy",
             "environment", "mobility"],
    "safe_envipe": ["1", "2", "9"], "safe_ensu_place": ["1", "2", "3", "9"],
    "department": ["security", "public_works", "water_utility", "health", "social_development",
                   "environment", "mobility", "culture", "government", "legal_affairs"],
}


@pytest.fixture(scope="module")
def forms():
    return load_instruments(default_surveys_dir())


def test_all_contract_instruments_present(forms):
    # the method's instruments (the data contract) plus the evaluation feedback form
    assert sorted({f for f, _ in forms}) == sorted([*CONTRACT, "territoria_feedback"])
    # every form has its first release; the assembly form gained proposal_code in 2026.2
    assert {v for _, v in forms} == {"2026.1", "2026.2"}
    assert sorted(v for f, v in forms if f == "territoria_assembly") == ["2026.1", "2026.2"]


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_contract_field_names_and_tables(forms, form_id):
    inst = find_instrument(forms, form_id)
    main, reps = CONTRACT[form_id]
    have = [f.name for f in inst.fields_of()]
    missing = [n for n in main if n not in have]
    assert not missing, f"{form_id} lacks {missing}"
    assert inst.repeats() == list(reps)
    for rep, names in reps.items():
        assert [f.name for f in inst.fields_of(rep)] == names
        assert inst.table_name(rep) == f"{form_id.removeprefix('territoria_')}__{rep}"
    assert inst.table_name() == form_id.removeprefix("territoria_")
    assert set(inst.personal_fields()) == PERSONAL.get(form_id, set()) | (
        {"pe_comments"} if form_id == "territoria_process" else set())
    # select fields use the shared lists with the contract's names, in order
    for f in inst.fields:
        if f.list_name in CHOICES:
            assert [c.name for c in inst.choices[f.list_name]] == CHOICES[f.list_name], f.name
    # every field is labelled in both languages
    for f in inst.fields:
        if f.type not in ("start", "end"):
            assert f.labels.get("es") and f.labels.get("en"), f.name


def test_diagnostic_specifics(forms):
    inst = find_instrument(forms, "territoria_diagnostic")
    assert inst.label("safety_colonia", "es").startswith(
        "En términos de delincuencia, ¿considera que vivir en su colonia es")
    assert [inst.field(p).list_name for p in PLACES] == ["safe_ensu_place"] * 12
    assert inst.field("safety_place_12").labels["es"] == "El parque o centro recreativo"
    loc = [inst.field(n) for n in ("zone", "territory", "block")]
    assert [f.type for f in loc] == ["select_one_from_file"] * 3
    assert [f.list_name for f in loc] == ["zones.csv", "territories.csv", "blocks.csv"]
    assert loc[1].choice_filter == "zone=${zone}" and loc[2].choice_filter == "territory=${territory}"
    assert inst.field("problem_3").constraint == ". != ${problem_1} and . != ${problem_2}"
    assert inst.field("comments").free_text and inst.field("comments").personal
    assert inst.field("life_satisfaction").group == ("wellbeing",)
    types = inst.column_types()
    assert types["life_satisfaction"] == "BIGINT" and types["problems"] == "VARCHAR"
    assert types["start"] == "TIMESTAMP WITH TIME ZONE"
    assert inst.title == {"es": "Diagnóstico participativo (encuesta en hogares)",
                          "en": "Participatory diagnostic (household survey)"}
    assert inst.default_language == "es"


def test_process_questionnaire_scales(forms):
    inst = find_instrument(forms, "territoria_process")
    items = [f for f in inst.fields if f.name.startswith("pe_") and f.list_name == "likert5"]
    by_stage = Counter(f.name.split("_")[1] for f in items)
    assert set(by_stage) == {"rep", "design", "delib", "impact"}
    assert min(by_stage[s] for s in ("design", "delib", "impact")) >= 4
    assert [c.name for c in inst.choices["likert5"]] == ["1", "2", "3", "4", "5"]
    names = {f.name for f in items}
    assert names == {  # the item set the sample city generates (territoria.sample.activity)
        "pe_rep_trust_government", "pe_rep_efficacy", "pe_rep_understanding",
        *(f"pe_design_{i}" for i in ("purpose", "inclusion", "information", "time")),
        *(f"pe_delib_{i}" for i in ("facilitation", "voice", "respect", "understanding",
                                    "no_pressure")),
        *(f"pe_impact_{i}" for i in ("influence", "response", "followup", "aftercare"))}
    assert by_stage["rep"] >= 3
    # repeated items are asked at both moments, the stage items only at the end
    for f in items:
        if f.name.startswith("pe_rep_"):
            assert f.relevant is None
        else:
            assert f.relevant == "${moment} = 'end'"
    assert [c.name for c in inst.choices["moment"]] == ["start", "end"]


def test_check_value_types_and_rules(forms):
    d = find_instrument(forms, "territoria_diagnostic")
    assert d.check_value("life_satisfaction", "7") == (7, None)
    assert d.check_value("life_satisfaction", "7.0") == (7, None)
    assert d.check_value("life_satisfaction", "7.5") == ("7.5", "integer")
    assert d.check_value("life_satisfaction", "-1") == (-1, "constraint (. >= 0 and . <= 10)")
    assert d.check_value("life_satisfaction", "") == (None, "required")
    assert d.check_value("comments", "") == (None, None)
    assert d.check_value("problem_2", "") == (None, None)  # relevance unknown: not required
    assert d.check_value("safety_colonia", "3") == ("3", "choice in list safe_envipe")
    assert d.check_value("safety_place_05", "3") == ("3", None)
    assert d.check_value("problems", " water  security ") == ("water security", None)
    assert d.check_value("problems", "water crime") == ("water crime", "choice in list axis")
    assert d.check_value("phone", "5512345678") == ("5512345678", None)
    assert d.check_value("phone", "55 1234 5678") == ("55 1234 5678", None)
    assert d.check_value("phone", "55 123 4567")[1].startswith("constraint (regex(., '^([0-9]{10}|")
    # a constraint referring to another field is not evaluated here
    assert d.check_value("problem_2", "water") == ("water", None)
    assert not d.constraint_checkable("problem_2") and d.constraint_checkable("phone")
    v, err = d.check_value("start", "2021-12-06T10:00:09.772+06:00")
    assert err is None and v == dt.datetime(2021, 12, 6, 4, 0, 9, 772000, tzinfo=dt.timezone.utc)
    assert d.check_value("start", "06/12/2021")[1] == "datetime (ISO 8601)"
    a = find_instrument(forms, "territoria_assembly")
    assert a.check_value("date", "2026-02-30") == ("2026-02-30", "date (YYYY-MM-DD)")
    assert a.check_value("date", "2026-02-03") == (dt.date(2026, 2, 3), None)
    f = find_instrument(forms, "territoria_followup")
    assert f.check_value("progress", "100") == (100, None)
    assert f.check_value("progress", "101")[1] == "constraint (. >= 0 and . <= 100)"
    assert f.check_value("evidence_url", "ftp://x")[1] == "constraint (regex(., '^https?://'))"
    p = find_instrument(forms, "territoria_proposals")
    assert p.check_value("title", "x" * 121)[1] == "constraint (string-length(.) <= 120)"
    assert p.check_value("title", "x" * 120)[1] is None
    assert a.allowed_values("kind") == {"block_assembly", "territorial_assembly", "working_table",
                                        "security_cabinet"}
    assert a.allowed_values("territory") is None  # from a file: checked against the store


def test_find_instrument_errors(forms):
    with pytest.raises(InstrumentError, match=r"form territoria_votes version 1\.0 is not known "
                                              r"\(known versions: 2026\.1\)"):
        find_instrument(forms, "territoria_votes", "1.0")
    with pytest.raises(InstrumentError, match="form nope is not known"):
        find_instrument(forms, "nope")


def test_parse_language():
    assert parse_language("Español (es)") == "es"
    assert parse_language("English (en)") == "en"
    assert parse_language("Русский") == "русский"


# ---------------------------------------------------------------------------------------------
# the real Kobo form
# ---------------------------------------------------------------------------------------------
def _independent_counts(path: Path):
    wb = openpyxl.load_workbook(path, read_only=True)
    types = [r[0] for r in wb["survey"].iter_rows(min_row=2, values_only=True) if r[0]]
    rows = [r for r in wb["choices"].iter_rows(min_row=2, values_only=True) if r[0]]
    wb.close()
    return types, rows


def test_real_kobo_form_loads(real_data):
    path = real_data / KOBO_DIR / KOBO_FORM
    inst = load_instrument(path)
    types, choice_rows = _independent_counts(path)
    # 72 typed rows, none of them notes or groups; 111 choices in 24 lists (counted in the file)
    assert len(inst.fields) == len(types) == 72
    assert sum(len(v) for v in inst.choices.values()) == len(choice_rows) == 111
    assert len(inst.choices) == len({r[0] for r in choice_rows}) == 24
    assert inst.default_language == "en" and inst.version == "21 (2022-06-28 08:43:23)"
    assert inst.form_id == "artifact-kobotoolbox"  # no form_id setting: the file name
    assert inst.table_name() == "artifact_kobotoolbox"
    assert inst.field("Site_name").required and not inst.field("Id_number").required
    assert inst.field("Date").type == "datetime" and inst.field("point").type == "geopoint"
    assert inst.field("Collecting_method").list_name == "uo0ea79"
    assert inst.label("Collector", "ru") == "Коллектор"
    assert inst.label("Technology_type", "ru") == "Technology type"  # falls back to default
    assert inst.field("Maximum_core_length").hints["en"] == "Measure from one platform"
    n_multi = sum(t.startswith("select_multiple") for t in types)
    assert Counter(f.type for f in inst.fields)["select_multiple"] == n_multi == 11


def test_real_kobo_export_checked_against_its_form(real_data):
    inst = load_instrument(real_data / KOBO_DIR / KOBO_FORM)
    with open(real_data / KOBO_DIR / KOBO_CSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    errors = Counter()
    for r in rows:
        for f in inst.fields:
            if f.name in r:
                _, err = inst.check_value(f, r[f.name])
                if err:
                    errors[(f.name, err)] += 1
    # Independent count: Tool_type options of older form versions (sidescraper, endscraper) are
    # not in this version's list; 14 submissions lack the required Photo.
    old = sum(1 for r in rows if {"sidescraper", "endscraper"} & set(r["Tool_type"].split()))
    no_photo = sum(1 for r in rows if r["Photo"] == "")
    assert (old, no_photo) == (501, 14)
    assert errors == Counter({("Tool_type", "choice in list cn9hh69"): old,
                              ("Photo", "required"): no_photo})


# ---------------------------------------------------------------------------------------------
# error cases
# ---------------------------------------------------------------------------------------------
def test_duplicate_names(tmp_path, make_form):
    p = make_form(tmp_path / "dup.xlsx", [["integer", "a", "A", "A"],
                                          ["begin_group", "g", "G", "G"],
                                          ["integer", "a", "B", "B"], ["end_group"]])
    with pytest.raises(InstrumentError, match=r"dup\.xlsx, sheet survey, row 4, field a: name 'a' "
                                              r"is used twice \(first at row 2\)"):
        load_instrument(p)


def test_unknown_list(tmp_path, make_form):
    p = make_form(tmp_path / "l.xlsx", [["select_one colours", "c", "C", "C"]])
    with pytest.raises(InstrumentError, match=r"sheet survey, row 2, field c: list 'colours' is "
                                              r"not in the choices sheet"):
        load_instrument(p)


def test_bad_personal_mark(tmp_path, make_form):
    p = make_form(tmp_path / "p.xlsx", [["text", "n", "N", "N", "maybe"]])
    with pytest.raises(InstrumentError, match=r"row 2, field n: column 'territoria::personal' has "
                                              r"value 'maybe'"):
        load_instrument(p)


def test_unclosed_group_and_missing_sheet(tmp_path, make_form):
    p = make_form(tmp_path / "g.xlsx", [["begin_group", "g", "G", "G"], ["text", "t", "T", "T"]])
    with pytest.raises(InstrumentError, match=r"row 2, field g: group 'g' is never closed"):
        load_instrument(p)
    wb = openpyxl.Workbook()
    wb.active.title = "encuesta"
    wb.save(tmp_path / "n.xlsx")
    with pytest.raises(InstrumentError, match=r"n\.xlsx: no 'survey' sheet"):
        load_instrument(tmp_path / "n.xlsx")
    (tmp_path / "x.xlsx").write_text("not a zip")
    with pytest.raises(InstrumentError, match="not a readable .xlsx"):
        load_instrument(tmp_path / "x.xlsx")


def test_plain_label_is_default_language_and_group_relevance(tmp_path, make_form):
    p = make_form(tmp_path / "plain.xlsx",
                  [["begin_group", "g", "G", "${a} = 'yes'"], ["text", "t", "Texto", "x = 1"],
                   ["end_group"], ["select_one yes_no", "a", "A", None]],
                  head=["type", "name", "label", "relevant"],
                  settings=[["form_id", "version", "default_language"],
                            ["f", 3, "Español (es)"]])
    inst = load_instrument(p)
    assert inst.version == "3" and inst.field("t").labels == {"es": "Texto"}
    assert inst.field("t").relevant == "(${a} = 'yes') and (x = 1)"
    assert inst.field("a").relevant is None


def test_load_instruments_duplicate_version(tmp_path, make_form):
    make_form(tmp_path / "a.xlsx", [["text", "t", "T", "T"]])
    make_form(tmp_path / "b.xlsx", [["text", "t", "T", "T"]])
    with pytest.raises(InstrumentError, match=r"form territoria_t version 2026\.1 is also defined"):
        load_instruments(tmp_path)
