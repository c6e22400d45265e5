"""Tests of territoria.instruments.city_forms and ``territoria survey build -w WS``: the kit's
forms made for a city (languages, axes, departments, link areas, levels) with the media files
of the cascading zone -> territory -> block questions; pyxform converts every form."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from pyxform.xls2xform import convert

from territoria.cli import cli
from territoria.config import init_workspace
from territoria.exceptions import InstrumentError
from territoria.instruments.build import load_source
from territoria.instruments.city_forms import build_city_forms, city_source, language_name
from territoria.instruments.xlsform import default_surveys_dir, load_instrument
from territoria.store import Store

CITY = {
    "name": "Villa Ejemplo",
    "languages": ["es", "en", "nah"],
    "levels": {"city": {"es": "municipio"}, "zone": {"es": "sector", "en": "sector"},
               "territory": {"es": "barrio", "en": "neighbourhood", "nah": "calpolli"},
               "block": {"es": "manzana", "en": "block"}},
    "axes": [{"id": "water", "label": {"es": "Agua potable", "en": "Drinking water",
                                       "nah": "Atl"}, "department": "water_board"},
             {"id": "roads", "label": {"es": "Calles", "en": "Streets"}}],
    "departments": [{"id": "water_board", "label": {"es": "Junta de Agua", "en": "Water Board"}}],
    "link_areas": [{"id": "elders", "label": {"es": "Personas mayores", "en": "Elders"}}],
}


@pytest.fixture
def city_ws(tmp_path):
    ws = init_workspace(tmp_path / "villa")
    ws.city_file.write_text(yaml.safe_dump(CITY, allow_unicode=True), encoding="utf-8")
    with Store(ws.store_path) as store, store.transaction():
        store.append("zones", pd.DataFrame({"zone_id": ["S1", "S2"], "name": ["Norte", "Sur"]}))
        store.append("territories", pd.DataFrame({
            "territory_id": ["T1", "T2", "T3"], "name": ["La Loma", "El Bajío", "Centro"],
            "zone_id": ["S1", "S1", "S2"]}))
        store.append("blocks", pd.DataFrame({"block_id": ["T1-01", "T1-02", "T3-01"],
                                             "territory_id": ["T1", "T1", "T3"]}))
    return ws


def _csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_city_forms_carry_the_citys_vocabulary_and_convert(city_ws):
    written = build_city_forms(city_ws)
    forms = sorted(p for p in written if p.suffix == ".xlsx")
    kit = sorted(p.stem for p in (default_surveys_dir() / "src").glob("[!_]*.yml"))
    assert [p.stem for p in forms] == kit
    assert all(p.parent == city_ws.root / "surveys" for p in written)
    for p in forms:  # each converts to an XForm with pyxform (what Kobo/ODK Central run)
        assert "<h:html" in convert(xlsform=str(p), validate=False).xform, p.name
    asm = load_instrument(city_ws.root / "surveys" / "assembly.xlsx")
    assert asm.languages() == ["es", "en", "nah"]
    assert [c.name for c in asm.choices["axis"]] == ["water", "roads"]
    assert asm.choice_label("axis", "water", "nah") == "Atl"
    assert asm.choice_label("axis", "roads", "nah") == "Calles"  # falls back to the first language
    assert [c.name for c in asm.choices["department"]] == ["water_board"]
    assert asm.label("territory", "es") == "Barrio" and asm.label("territory", "nah") == "Calpolli"
    assert asm.label("zone", "en") == "Sector"
    assert asm.allowed_values("kind") == {"block_assembly", "territorial_assembly",
                                          "working_table", "security_cabinet"}
    assert asm.label("date", "nah") == asm.label("date", "es")  # no Nahuatl text in the kit
    head = [c.value for c in next(openpyxl.load_workbook(
        city_ws.root / "surveys" / "assembly.xlsx", read_only=True)["survey"].iter_rows())]
    assert f"label::{language_name('nah')}" in head and "label::Español (es)" in head


def test_media_files_of_the_cascading_place_questions(city_ws):
    build_city_forms(city_ws)
    out = city_ws.root / "surveys"
    assert _csv(out / "zones.csv") == [["name", "label"], ["S1", "Norte"], ["S2", "Sur"]]
    assert _csv(out / "territories.csv") == [["name", "label", "zone"], ["T1", "La Loma", "S1"],
                                             ["T2", "El Bajío", "S1"], ["T3", "Centro", "S2"]]
    assert _csv(out / "blocks.csv")[1:] == [["T1-01", "T1-01", "T1"], ["T1-02", "T1-02", "T1"],
                                            ["T3-01", "T3-01", "T3"]]
    # the forms filter on exactly these columns
    asm = load_instrument(out / "assembly.xlsx")
    assert asm.field("territory").choice_filter == "zone=${zone}"
    assert asm.field("block").choice_filter == "territory=${territory}"


def test_link_areas_and_a_city_that_declares_nothing(tmp_path, city_ws):
    src = tmp_path / "src"
    src.mkdir()
    (src / "links.yml").write_text(yaml.safe_dump({
        "settings": {"form_id": "territoria_links", "version": "1",
                     "title": {"es": "Enlaces", "en": "Links"}},
        "choices": {"link_area": [["health", "Salud", "Health"]]},
        "survey": [{"type": "select_one link_area", "name": "area",
                    "label": {"es": "Área", "en": "Area"}}]}), encoding="utf-8")
    build_city_forms(city_ws, out_dir=tmp_path / "out", src_dir=src)
    links = load_instrument(tmp_path / "out" / "links.xlsx")
    assert links.allowed_values("area") == {"elders"}
    bare = city_source(load_source(default_surveys_dir() / "src" / "proposals.yml"),
                       type(city_ws.config()).model_validate({"name": "X"}))
    assert [c["name"] for c in bare["choices"]["axis"]][:2] == ["security", "services"]


def test_no_store_or_no_territories_is_a_clear_error(tmp_path):
    ws = init_workspace(tmp_path / "empty")
    with pytest.raises(InstrumentError, match="ingest the territories first"):
        build_city_forms(ws)
    Store(ws.store_path).close()
    with pytest.raises(InstrumentError, match="no territories in the store"):
        build_city_forms(ws)


def test_cli_survey_build_in_a_workspace(city_ws):
    res = CliRunner().invoke(cli, ["survey", "build", "-w", str(city_ws.root)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "media files" in res.output
    assert (city_ws.root / "surveys" / "votes.xlsx").exists()
    res = CliRunner().invoke(cli, ["survey", "build", "-w", str(city_ws.root), "--check"])
    assert res.exit_code == 1 and "--kit" in res.output


def test_language_names():
    assert language_name("nah").endswith("(nah)")
    assert language_name("pt") == "Português (pt)"
