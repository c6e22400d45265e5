"""The committed XLSForms are in sync with their YAML sources; the build is deterministic."""

from __future__ import annotations

import io

import pytest
import yaml

from territoria.exceptions import InstrumentError
from territoria.instruments.build import (
    SURVEY_COLUMNS,
    build_all,
    build_bytes,
    check_all,
    default_sources_dir,
    load_source,
    workbook_content,
)

SRC = default_sources_dir()
FORMS = sorted(p for p in SRC.glob("*.yml") if not p.name.startswith("_"))


def test_every_source_has_a_committed_form():
    assert len(FORMS) == 9  # eight instruments of the method + the feedback form
    for p in FORMS:
        assert (SRC.parent / f"{p.stem}.xlsx").exists(), p.stem


@pytest.mark.parametrize("src", FORMS, ids=lambda p: p.stem)
def test_committed_xlsx_in_sync_with_source(src):
    built = workbook_content(io.BytesIO(build_bytes(src)))
    committed = workbook_content(SRC.parent / f"{src.stem}.xlsx")
    assert committed == built, (f"surveys/{src.stem}.xlsx is out of date: run "
                                "'territoria survey build'")


def test_check_all_reports_stale_and_build_fixes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for p in [SRC / "_choices.yml", SRC / "votes.yml"]:
        (src / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    assert check_all(src, tmp_path) == ["votes.xlsx"]  # missing
    build_all(src, tmp_path)
    assert check_all(src, tmp_path) == []
    doc = yaml.safe_load((src / "votes.yml").read_text(encoding="utf-8"))
    doc["survey"][2]["label"]["es"] = "Otro folio"
    (src / "votes.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert check_all(src, tmp_path) == ["votes.xlsx"]


def test_build_is_byte_deterministic():
    src = SRC / "assembly.yml"
    assert build_bytes(src) == build_bytes(src)


def test_sheet_layout():
    content = workbook_content(io.BytesIO(build_bytes(SRC / "votes.yml")))
    assert list(content) == ["survey", "choices", "settings"]
    assert content["survey"][0] == tuple(SURVEY_COLUMNS)
    assert "label::Español (es)" in SURVEY_COLUMNS and "label::English (en)" in SURVEY_COLUMNS
    assert "territoria::personal" in SURVEY_COLUMNS and "territoria::free_text" in SURVEY_COLUMNS
    head, vals = content["settings"][:2]
    settings = dict(zip(head, vals, strict=False))
    assert settings["form_id"] == "territoria_votes" and settings["version"] == "2026.1"
    assert settings["default_language"] == "Español (es)"


@pytest.mark.parametrize("text, message", [
    ("settings: {form_id: x, version: '1'}\nsurvey: []\n", "settings.title is required"),
    ("settings: {form_id: x, version: '1', title: {es: A}}\n", "needs exactly the languages es, en"),
    ("settings: {form_id: x, version: '1', title: {es: A, en: B}}\n"
     "choices: {yn: [[yes, Sí, 'Yes']]}\n", "got the YAML boolean True; quote the text"),
    ("settings: {form_id: x, version: '1', title: {es: A, en: B}}\n"
     "survey: [{type: text, name: t}]\n", "survey[0] (t): label {es, en} is required"),
    ("settings: {form_id: x, version: '1', title: {es: A, en: B}}\n"
     "survey: [{type: text, name: t, label: {es: A, en: B}, lable: x}]\n", "unknown key(s) lable"),
    ("settings: {form_id: x, version: '1', title: {es: A, en: B}}\n"
     "choices_from: [colours]\n", "list 'colours' is not in _choices.yml"),
    ("settings: [\n", "not valid YAML"),
])
def test_source_errors(tmp_path, text, message):
    (tmp_path / "_choices.yml").write_text("sex: [[female, Mujer, Female]]\n", encoding="utf-8")
    p = tmp_path / "f.yml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentError) as e:
        load_source(p)
    assert message in str(e.value) and str(p) in str(e.value)
