"""One language at a time: every page of the site, read in Spanish and in English, shows no
fixed word of the other language, and names (city, zones, territories) come from ``city.yml``
and the ingested ``name_en`` columns in each language."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from territoria.config import init_workspace, load_city
from territoria.report.annex_lang import one_language
from territoria.report.record import Recorder, collect
from territoria.report.site import publish
from territoria.store import Store

#: Fixed words of the kit's pages that must never show in the other language's version.
#: Matched as whole words, case-sensitive, outside code and after removing proper names.
NOT_IN = {
    "es": ["the", "and", "of", "with", "which", "from", "for", "Links", "agreements",
           "Agreements", "Territory", "territory", "Neighbourhood", "neighbourhood",
           "neighbourhoods", "Zone", "none", "Population", "Method", "Evaluations", "Map",
           "Kind", "Wave", "Data", "Shown", "No data yet", "At a glance", "Technical", "Step",
           "Status", "Skip", "File", "Read", "Accepted", "borough", "illustrative",
           "sample city", "higher", "lower", "Not published", "What", "Name", "Definition",
           "Better", "Notebook", "Computed by", "English", "Input"],
    "en": ["de", "la", "las", "los", "del", "que", "para", "con", "y", "el", "en", "una",
           "Zona", "Acuerdos", "acuerdos", "Colonias", "Población", "Metodología",
           "Evaluaciones", "Mapa", "Tipo", "Etapa", "Datos", "ninguno", "ninguna",
           "ilustrativa", "ilustrativas", "ciudad de ejemplo", "dirección territorial",
           "Dirección territorial", "Sin programa", "mayor", "menor", "Nombre", "Archivo",
           "Cuaderno", "Saltar", "Español"],
}
#: Proper names of sources that English pages cite in Spanish.
SOURCES = ["Marco Geográfico de Participación Ciudadana",
           "Índice de Desarrollo Social de la Ciudad de México", "Carpetas de investigación"]
#: Elements whose text is no language's prose: code, data for scripts, the switch's buttons.
SKIP = {"code", "pre", "script", "style", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Visible(HTMLParser):
    """The text a reader sees in each language, as the site's stylesheet shows it
    (``html[data-lang="es"] [lang="en"]:not(html) {display: none}`` and the reverse): an
    element whose ``lang`` is the other language is hidden with all it holds, whatever ``lang``
    its descendants say; an element with ``hidden`` is hidden in both; options and the page
    title are set by the script from their ``data-es``/``data-en``. ``skip``: elements whose
    text is no language's prose."""

    def __init__(self, skip=SKIP):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, str | None, bool]] = []  # tag, lang, skipped
        self.text = {"es": [], "en": []}
        self.skip = skip

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        lang = a.get("lang") if tag != "html" else None
        skip = tag in self.skip or a.get("data-setlang") is not None or "hidden" in a
        if tag in ("option", "title") and "data-es" in a:
            if not self._skipped():
                for lg in self.text:
                    if self._shown(lg):
                        self.text[lg].append(a.get(f"data-{lg}") or "")
            skip = True
        self.open.append((tag, lang, skip))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def _skipped(self) -> bool:
        return any(s for _, _, s in self.open)

    def _shown(self, lg: str) -> bool:
        return all(lang in (None, lg) for _, lang, _ in self.open)

    def handle_data(self, data):
        if self._skipped():
            return
        for lg in self.text:
            if self._shown(lg):
                self.text[lg].append(data)


def visible(path: Path, skip=SKIP) -> dict[str, str]:
    """Visible text of a page in each language, one space between pieces."""
    v = Visible(skip)
    v.feed(path.read_text(encoding="utf-8"))
    return {lg: " ".join(" ".join(parts).split()) for lg, parts in v.text.items()}


def leaks(text: str, lang: str, names: list[str]) -> list[str]:
    """Words of the other language in ``text`` read in ``lang`` (proper names removed)."""
    for n in sorted(names, key=len, reverse=True):
        text = text.replace(n, " ")
    return [w for w in NOT_IN[lang] if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


GEOM = json.dumps({"type": "Polygon", "coordinates": [[[-99.0, 19.3], [-99.0, 19.31],
                                                      [-98.99, 19.31], [-99.0, 19.3]]]})
CITY_NAMES = """
name: {es: Villa de Prueba, en: Test Town}
zones:
  Z1: {es: Zona Uno, en: Zone One}
"""


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """A small published site whose city and zones have a name in each language: Z1 from
    ``city.yml: zones``, Z2 from the zones file's ``name_en``; territory T2 has a ``name_en``."""
    from territoria.ingest.core import ingest_files

    ws = init_workspace(tmp_path_factory.mktemp("names") / "w", name="X")
    text = ws.city_file.read_text(encoding="utf-8").replace("name: X\n", "").replace(
        "zones: {}\n", "")
    ws.city_file.write_text(text + CITY_NAMES, encoding="utf-8")
    (ws.raw_dir / "zones.csv").write_text("zone_id,name,name_en\nZ1,Zona 1,\n"
                                          "Z2,Zona Dos,Zone Two\n", encoding="utf-8")
    reports = ingest_files(ws, [ws.raw_dir / "zones.csv"])
    assert all(r.status == "ok" for r in reports), [r.as_line() for r in reports]
    s = Store(ws.store_path)
    with s.transaction():
        s.append("territories", pd.DataFrame({
            "territory_id": ["T1", "T2"], "name": ["San Lorenzo de la Loma", "Centro Histórico"],
            "kind": ["colonia", "pueblo"], "zone_id": ["Z1", "Z2"],
            "population": [1000.0, 2000.0], "priority": [True, False],
            "cohort": [None, None], "geometry": [GEOM, GEOM],
            "names": [None, json.dumps({"en": "Historic Centre"})]}))
    rec = Recorder(ws.output_dir, "02_diagnostic", "T1")
    rec.indicator("pct_unsafe_colonia", 0.7, ci_low=0.6, ci_high=0.8, n=100)
    rec.save()
    collect(s, list(ws.output_dir.rglob("*.results.json")))
    executed = _executed_notebook(ws.output_dir / "02_diagnostic" / "T1.ipynb")
    with s.transaction():
        s.append("runs", pd.DataFrame({
            "run_id": ["r1"], "step": ["02_diagnostic"], "territory_id": ["T1"],
            "status": ["ok"], "fingerprint": ["x"], "output_path": [str(executed)],
            "error": [None], "seconds": [1.0], "finished_at": [pd.Timestamp("2026-01-01")]}))
    s.close()
    publish(ws)
    return ws


#: Words the kit writes in a notebook's outputs (headers, messages, cells), never to be seen
#: in the other language's view of an annex page.
ANNEX_NOT_IN = {
    "es": ["Estimate", "Households", "households", "suppressed", "Yes", "Cases", "Item",
           "Indicator", "Value", "Block coverage", "What this step is for", "Every input",
           "Sorted bars", "Neighbourhoods", "neighbourhoods", "people voted", "agreements",
           "Result", "Step", "meetings", "population", "Whole programme", "No wave"],
    "en": ["Estimación", "Hogares", "hogares", "suprimido", "Sí", "Casos", "Concepto",
           "Indicador", "Valor", "Cobertura de manzanas", "Para qué sirve", "Están todos",
           "Barras ordenadas", "Colonias", "colonias", "personas votaron", "acuerdos",
           "Resultado", "Paso", "reuniones", "población", "Todas las colonias", "Sin etapa"],
}


def _executed_notebook(path: Path) -> Path:
    """A step notebook as ``territoria run`` leaves it (its outputs written by the display
    helpers, then converted by the pipeline's exporter), for the annex page of T1."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from territoria.charts import Chart, bar_ci
    from territoria.pipeline.html import NotebookHTMLExporter
    from territoria.steps import display

    def chart(lang="es"):
        title = {"es": "Problemas más mencionados", "en": "Most mentioned problems"}[lang]
        alt = {"es": "Barras ordenadas: Agua", "en": "Sorted bars: Water"}[lang]
        return Chart(bar_ci([title], [0.5], [0.4], [0.6], title=title, alt=alt), alt), alt

    shares = pd.DataFrame({"label_es": ["Agua", "Salud"], "label_en": ["Water", "Health"],
                           "estimate": [0.42, None], "ci_low": [0.3, None],
                           "ci_high": [0.5, None], "n": [93, 3], "tier": [True, False],
                           "suppressed": [False, True]})
    outputs = [display.message("Hogares entrevistados: {n}", "Households interviewed: {n}",
                               "es", n=93),
               display.table_versions(shares, "es", percent=["estimate"]),
               display.figure_versions(chart, lang="es")]
    nb = new_notebook(cells=[
        new_markdown_cell("# Paso 02 · Diagnóstico participativo\n\nHola.\n\n"
                          "> *English:* **Step 02.** Hello."),
        new_markdown_cell("## 1. Cobertura de manzanas · *Block coverage*\n\nTexto.\n\n"
                          "> *English:* Text."),
        new_code_cell("show(...)", outputs=[
            new_output("display_data", data=o._repr_mimebundle_()) for o in outputs]
            + [new_output("stream", name="stdout", text=f"{path.with_suffix('.json')}\n")])])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    html, _ = NotebookHTMLExporter(template_name="basic", exclude_input=True,
                                   exclude_input_prompt=True).from_notebook_node(nb)
    path.with_suffix(".html").write_text(html, encoding="utf-8")
    return path


def test_names_follow_the_switch(named):
    site = named.site_dir
    t1, t2 = visible(site / "territories" / "T1.html"), visible(site / "territories" / "T2.html")
    assert "Zone One" in t1["en"] and "Zone One" not in t1["es"]  # city.yml: zones
    assert "Zona Uno" in t1["es"] and "Zona Uno" not in t1["en"]
    assert "Zone Two" in t2["en"] and "Zona Dos" in t2["es"]  # zones file: name_en
    assert "Historic Centre" in t2["en"] and "Historic Centre" not in t2["es"]  # name_en
    assert "San Lorenzo de la Loma" in t1["en"]  # a proper name stays as it is
    index = visible(site / "index.html")
    assert "Test Town" in index["en"] and "Villa de Prueba" not in index["en"]
    assert "Villa de Prueba" in index["es"] and "Test Town" not in index["es"]
    city = visible(site / "city.html")
    assert "Borough" in city["en"] and "Alcaldía" in city["es"]


def test_no_word_of_the_other_language_on_any_page(named):
    cfg = load_city(named.city_file)
    names = ["San Lorenzo de la Loma", "Centro Histórico", "Historic Centre", "Territoria",
             *SOURCES]
    pages = sorted(named.site_dir.rglob("*.html"))
    assert len(pages) > 15 and any("methodology" in p.parts for p in pages)
    assert any("annex" in p.parts for p in pages)
    found = {}
    for path in pages:  # an annex page's <pre> is a notebook's printed output: prose
        text = visible(path, SKIP - {"pre"} if "annex" in path.parts else SKIP)
        for lang in ("es", "en"):
            own = [cfg.city_name(lang), *(z.get(lang) for z in cfg.zones.values())]
            bad = leaks(text[lang], lang, names + own)
            if bad:
                found[f"{path.relative_to(named.site_dir)} ({lang})"] = bad
    assert not found, found


def test_annex_outputs_follow_the_switch(named):
    """On an annex page, the tables, messages, figures and headings the notebook's code wrote
    show in the switch's language only (the notebook ran in Spanish)."""
    page = named.site_dir / "annex" / "02_diagnostic" / "T1.html"
    text = visible(page, SKIP - {"pre"})
    for want in ("Households interviewed: 93", "Estimate", "suppressed", "Yes",
                 "1. Block coverage", "Sorted bars: Water", "Step 02"):
        assert want in text["en"], want
    for want in ("Hogares entrevistados: 93", "Estimación", "suprimido", "Sí",
                 "1. Cobertura de manzanas", "Barras ordenadas: Agua", "Paso 02"):
        assert want in text["es"], want
    for lang in ("es", "en"):
        assert not leaks_annex(text[lang], lang), (lang, leaks_annex(text[lang], lang))
    assert page.read_text(encoding="utf-8").count("<img") == 2  # the chart in each language


def leaks_annex(text: str, lang: str) -> list[str]:
    """Words of the other language's notebook outputs in ``text`` read in ``lang``."""
    return [w for w in ANNEX_NOT_IN[lang]
            if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


def test_executed_step_notebooks_show_one_language_at_a_time(published_ws):
    """The annex pages of the step notebooks as ``territoria run`` executed them (sample city,
    Spanish): each view holds none of the other language's output words, and the English view
    has the English of the outputs."""
    ws, _ = published_ws
    pages = sorted((ws.site_dir / "annex").rglob("*.html"))
    assert len(pages) >= 8
    found, english = {}, []
    for page in pages:
        text = visible(page, SKIP - {"pre"})
        for lang in ("es", "en"):
            bad = leaks_annex(text[lang], lang)
            if bad:
                found[f"{page.relative_to(ws.site_dir)} ({lang})"] = bad
        english.append(text["en"])
    assert not found, found
    first = ("What this step is for", "Preparing the workspace", "The neighbourhood's data",
             "Data and cut-off date")  # each notebook's first section heading, in English
    assert all(any(h in t for h in first) for t in english)
    assert any("Households interviewed" in t for t in english)


#: Codes the step notebooks compute with, which a reader must never see on an annex page:
#: post-stratum, cohort coding, indicator groups, the process questionnaire's items.
RAW_CODES = ["sex_age", "first_exposed_period", "first_full_period", "female_18_29",
             "male_60_plus", "street_atm", "public_transport", "education_culture"]
RAW_PATTERNS = [r"pe_[a-z_]+", r"(sex|age_group|disability):[a-z0-9_]+"]
#: Codes that are also words: a table cell must not be only one of them (besides the
#: city's axes and the ENSU places).
RAW_CELLS = ["cohort", "wave", "Interaction", "design", "delib", "impact", "start", "end"]


class Cells(Visible):
    """:class:`Visible`, with the text of each table cell apart."""

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag in ("td", "th"):
            self.handle_data("\x1f")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.handle_data("\x1f")
        super().handle_endtag(tag)


def raw_codes(path: Path, cells: set[str]) -> dict[str, list[str]]:
    """The raw codes each language's view of an annex page shows."""
    v = Cells(SKIP - {"pre"})
    v.feed(path.read_text(encoding="utf-8"))
    out = {}
    for lg, parts in v.text.items():
        text = "".join(parts)
        found = [c for c in RAW_CODES if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)]
        found += [m.group(0) for p in RAW_PATTERNS
                  for m in re.finditer(rf"(?<![\w-]){p}(?![\w-])", text)]
        found += sorted({c.strip() for c in text.split("\x1f")} & cells)
        if found:
            out[lg] = sorted(set(found))
    return out


def test_the_code_scan_finds_codes(tmp_path):
    p = tmp_path / "p.html"
    p.write_text('<html lang="es"><p lang="es">ajuste: sex_age</p><table><tr><td lang="en">'
                 'water</td><td>wave</td><td>Survey wave</td></tr></table>'
                 '<p>pe_design_purpose · age_group:18_29 · Agua</p></html>', encoding="utf-8")
    assert raw_codes(p, {"water", "wave"}) == {
        "es": ["age_group:18_29", "pe_design_purpose", "sex_age", "wave"],
        "en": ["age_group:18_29", "pe_design_purpose", "water", "wave"]}


def test_executed_step_notebooks_show_no_raw_codes(published_ws):
    """The annex pages of the executed step notebooks name what the notebooks computed with
    codes (the city's axes, the post-stratum, the items, the ANOVA's sources, the cohort
    coding, the indicators' groups) in words, in each language."""
    from territoria.vocabulary import codes

    ws, _ = published_ws
    city = load_city(ws.city_file)
    cells = {*RAW_CELLS, *codes("axis", city), *codes("ensu_place")}
    pages = sorted((ws.site_dir / "annex").rglob("*.html"))
    assert len(pages) >= 8
    found = {str(p.relative_to(ws.site_dir)): bad for p in pages if (bad := raw_codes(p, cells))}
    assert not found, found


@pytest.mark.parametrize("lang, text, expect", [
    ("es", "Población: 1,000 · Zone One", ["Zone"]),
    ("es", "Territoria · San Lorenzo de la Loma", []),
    ("en", "Population of the borough · Zona 1", ["Zona"]),
    ("en", "Town of San Lorenzo de la Loma", []),
])
def test_the_scan_finds_what_it_looks_for(lang, text, expect):
    assert leaks(text, lang, ["San Lorenzo de la Loma", "Territoria"]) == expect


def test_hidden_elements_are_hidden_in_both_views(tmp_path):
    p = tmp_path / "p.html"
    p.write_text('<html lang="es"><p lang="es">Hola</p><p lang="en" hidden="hidden">Hello</p>'
                 '<p>Uno</p></html>', encoding="utf-8")
    assert visible(p) == {"es": "Hola Uno", "en": "Uno"}


def test_hidden_text_is_not_read():
    import tempfile

    p = Path(tempfile.mkdtemp()) / "p.html"
    p.write_text('<html lang="es"><title data-es="Mapa" data-en="Map">Mapa</title><p><span '
                 'lang="es">Hola</span><span lang="en">Hello</span> <code>the</code></p>'
                 '<select><option data-es="Zona" data-en="Zone">Zona</option></select>'
                 '<button data-setlang="en">English</button></html>', encoding="utf-8")
    assert visible(p) == {"es": "Mapa Hola Zona", "en": "Map Hello Zone"}


# -- annex notebooks: the Spanish text of each cell and its English quote, one at a time --
CELL = """<div id="cell-id=1" class="cell border-box-sizing text_cell rendered"><div class="inner_cell">
<div class="text_cell_render border-box-sizing rendered_html">
<h1 id="t">03 &#183; Agenda de desarrollo local<a class="anchor-link" href="#t">&#182;</a></h1><p>¿En qué está de acuerdo la colonia?</p>
<blockquote>
<p><em>English:</em> What does the territory agree on?</p>
</blockquote>
<blockquote>
<p><strong>Gráficas.</strong> Son las mismas del reporte.</p>
<p><em>English:</em> Charts are the same as the report's.</p>
</blockquote>

</div>
</div>
</div>
<div id="cell-id=2" class="cell border-box-sizing text_cell rendered"><div class="inner_cell">
<div class="text_cell_render border-box-sizing rendered_html">
<p>Solo en español.</p>
</div>
</div>
</div>"""


def test_annex_cells_show_one_language_cell_shows_one_language(tmp_path):
    page = tmp_path / "annex.html"
    page.write_text(one_language(CELL, "03 · Local Development Agenda"), encoding="utf-8")
    text = visible(page)
    assert text["en"] == ("03 · Local Development Agenda ¶ What does the territory agree on? "
                          "Charts are the same as the report's. Solo en español.")
    assert text["es"] == ("03 · Agenda de desarrollo local ¶ ¿En qué está de acuerdo la colonia? "
                          "Gráficas. Son las mismas del reporte. Solo en español.")
    assert "English:" not in text["es"] + text["en"]


def test_annex_without_english_is_left_alone():
    html = '<div class="text_cell_render x">\n<p>Hola.</p>\n</div>'
    assert one_language(html) == html


# -- evaluation notebooks: the notebook's headings and explanations, one language at a time --
def test_evaluation_notebook_pages_show_one_language_at_a_time(evaluation_ws):
    """The executed evaluation notebooks (``evaluations/<plan>/notebooks/``) read in each
    language: the site's frame and switch, the notebook's own text in that language, no fixed
    word of the other language (outputs show in the language the notebook ran in only)."""
    publish(evaluation_ws, workers=1)
    folder = evaluation_ws.site_dir / "evaluations"
    pages = sorted((folder / "classroom" / "notebooks").glob("*.html"))
    assert [p.stem for p in pages] == ["crime", "process", "safety"]
    found = {}
    for path in [*pages, folder / "index.html", folder / "classroom.html"]:
        text = visible(path)
        for lang in ("es", "en"):
            bad = leaks(text[lang], lang, ["Territoria", "Ciudad Prueba"])
            if bad:
                found[f"{path.relative_to(folder)} ({lang})"] = bad
        if path.parent.name == "notebooks":
            assert "Evaluación: una pregunta de un plan" in text["es"]
            assert "Evaluation: one question of a plan" in text["en"]
            assert "Neighbourhood by neighbourhood" in text["en"]
            assert "4. Colonia por colonia" in text["es"]
            assert "Evaluations" in text["en"] and "Evaluaciones" in text["es"]  # the way back
            # every section and its explanation in English, in the notebook's words
            for heading, said in (("1. The plan and the workspace", "We open the data store"),
                                  ("2. The computation", "The method comes from the plan"),
                                  ("3. The answer, and what the data cannot say",
                                   "Every answer comes with its uncertainty"),
                                  ("5. Save", "The result is saved to a file")):
                assert heading in text["en"] and said in text["en"], (path.name, heading)
                assert said not in text["es"]
            assert "El método viene del plan" in text["es"]
            # a message given in both languages shows in each, whatever the run language
            assert "Result saved to" in text["en"] and "Result saved to" not in text["es"]
            assert "Resultado guardado en" in text["es"]
            assert str(evaluation_ws.root) not in path.read_text(encoding="utf-8")
    assert not found, found
    process, crime = visible(pages[1]), visible(pages[0])
    # ran in Spanish: its tables show in Spanish only; ran in English: in English only
    assert "Estimación" in process["es"] and "Estimación" not in process["en"]
    assert "leaves out" in process["en"] and "no muestra" not in process["es"]
    assert "Estimate" in crime["en"] and "Estimate" not in crime["es"]
    assert "no muestra" in crime["es"]
