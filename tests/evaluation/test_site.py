"""The evaluation pages of the site (:mod:`territoria.evaluation.site`): the executed notebooks
inside the site's page like the steps' annex pages, with the language switch and links back to
the report and the city; every link opens; the templates are compiled once per publish. (The
page workers of ``publish -j N`` giving the same pages: tests/report/test_site_parallel.py.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from territoria.config import Workspace
from territoria.evaluation import site as eval_site
from territoria.report.site import publish

NOTEBOOKS = ("process", "safety", "crime")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(evaluation_ws) -> Path:
    errors: list = []
    publish(evaluation_ws, errors=errors, workers=1)
    assert errors == []
    return evaluation_ws.site_dir


def _page(site: Path, q: str) -> str:
    return (site / "evaluations" / "classroom" / "notebooks" / f"{q}.html").read_text(
        encoding="utf-8")


@pytest.mark.parametrize("q", NOTEBOOKS)
def test_notebook_pages_have_the_site_frame_and_the_switch(site, q):
    html = _page(site, q)
    assert html.startswith("<!doctype html>") and '<html lang="es" data-lang="es">' in html
    assert 'href="../../../assets/site.css"' in html and 'src="../../../assets/site.js"' in html
    assert '<header class="top">' in html and '<footer class="prov">' in html
    assert 'data-setlang="es"' in html and 'data-setlang="en"' in html
    # back to the question in the report, the evaluations and the city
    assert f'href="../../classroom.html#{q}"' in html
    assert 'href="../../index.html"' in html and 'href="../../../city.html"' in html
    # the notebook's own text, one language at a time; its outputs in the language it ran in
    assert ('<span lang="es">Evaluaci&#243;n: una pregunta de un plan</span>'
            '<span lang="en">Evaluation: one question of a plan</span>') in html
    ran_in = "en" if q == "crime" else "es"
    assert re.search(rf'class="cell [^"]*code_cell[^"]*" lang="{ran_in}"', html)
    assert html.count("<h1") == 1  # the notebook's title is the page's one heading
    # offline: nothing is fetched from another site
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_the_report_links_each_notebook_page_and_its_question(site):
    report = (site / "evaluations" / "classroom.html").read_text(encoding="utf-8")
    for q in NOTEBOOKS:
        assert f'href="classroom/notebooks/{q}.html"' in report
        assert f'<section id="{q}">' in report  # where the notebook page links back to


def test_what_a_language_leaves_out_is_said_in_that_language(site):
    es_run = _page(site, "process")  # ran in Spanish: the English page leaves out outputs
    # (every section has its English version: only outputs are left out)
    assert '<p class="note" lang="en">This version of the notebook leaves out the outputs ' \
           'of its computation' in es_run
    assert '<p class="note" lang="es">' not in es_run
    en_run = _page(site, "crime")  # ran in English: the Spanish page leaves out outputs
    assert '<p class="note" lang="es">Esta versión del cuaderno no muestra los resultados ' \
           'de su cálculo' in en_run


def test_every_link_of_the_evaluation_pages_opens(site):
    broken, anchors = [], {}
    pages = sorted((site / "evaluations").rglob("*.html"))
    assert len(pages) == 1 + 1 + 3 + 18  # index, report, notebooks, territory summaries
    for page in pages:
        for href in re.findall(r'(?:href|src)="([^"?]+)', page.read_text(encoding="utf-8")):
            target, _, frag = href.partition("#")
            if href.startswith(("http:", "https:", "mailto:", "data:")) or not target:
                continue
            path = (page.parent / target).resolve()
            if not path.exists():
                broken.append((str(page.relative_to(site)), href))
            elif frag:
                ids = anchors.setdefault(path, set(re.findall(
                    r'\bid="([^"]+)"', path.read_text(encoding="utf-8"))))
                if frag not in ids:
                    broken.append((str(page.relative_to(site)), href))
    assert broken == []


def test_templates_are_compiled_once_per_publish(evaluation_ws, tmp_path, monkeypatch):
    from jinja2 import Environment

    ws = Workspace(shutil.copytree(evaluation_ws.root, tmp_path / "ws",
                                   ignore=shutil.ignore_patterns("site", ".site*")))
    compiled = []
    original = Environment.from_string

    def counting(self, source, *args, **kwargs):
        compiled.append(source)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(Environment, "from_string", counting)
    publish(ws, workers=1)
    assert len(compiled) == len(eval_site.TEMPLATES)  # not once per page (23 pages)
    assert sorted(compiled) == sorted(eval_site.TEMPLATES.values())


def _files(site: Path) -> dict:
    root = site.resolve()
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_page_that_cannot_be_built_is_reported_and_the_others_written(evaluation_ws,
                                                                      tmp_path, monkeypatch):
    ws = Workspace(shutil.copytree(evaluation_ws.root, tmp_path / "ws",
                                   ignore=shutil.ignore_patterns("site", ".site*")))
    original = eval_site._notebook_page

    def flaky(builder, template, path, html, **kw):
        if html.stem == "safety":
            raise ValueError("bad notebook")
        return original(builder, template, path, html, **kw)

    monkeypatch.setattr(eval_site, "_notebook_page", flaky)
    errors: list = []
    index = publish(ws, errors=errors, workers=1)
    assert errors == [("evaluations/classroom/notebooks/safety.html", "ValueError: bad notebook")]
    written = index.parent / "evaluations" / "classroom" / "notebooks"
    assert sorted(p.name for p in written.iterdir()) == ["crime.html", "process.html"]


def test_evaluate_run_keeps_the_previous_pages_when_one_cannot_be_built(evaluation_ws, tmp_path,
                                                                        monkeypatch):
    from territoria.evaluation.runner import publish_evaluations
    from territoria.exceptions import PipelineError

    ws = Workspace(shutil.copytree(evaluation_ws.root, tmp_path / "ws",
                                   ignore=shutil.ignore_patterns("site", ".site*")))
    folder = publish_evaluations(ws)
    before = _files(folder)
    assert "classroom/notebooks/crime.html" in before
    monkeypatch.setattr(eval_site, "_notebook_page", _fails)
    with pytest.raises(PipelineError, match="3 evaluation page.*could not be built"):
        publish_evaluations(ws)
    assert _files(folder) == before


def _fails(*args, **kwargs):
    raise ValueError("bad notebook")


def test_texts_from_the_store_are_escaped(evaluation_ws, tmp_path):
    from territoria.store import Store

    ws = Workspace(shutil.copytree(evaluation_ws.root, tmp_path / "ws",
                                   ignore=shutil.ignore_patterns("site", ".site*")))
    with Store(ws.store_path) as s, s.transaction():
        s.execute("UPDATE evaluation_questions SET text_en = '<script>alert(1)</script>' "
                  "WHERE question = 'process'")
        s.execute("UPDATE evaluation_plans SET title_es = 'Plan <b>x</b> & \"y\"'")
    page = _page(publish(ws, workers=1).parent, "process")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page and "Plan &lt;b&gt;x&lt;/b&gt; &amp; &#34;y&#34;" in page


@pytest.mark.slow
@pytest.mark.browser
def test_a_notebook_page_in_a_browser_switches_language_and_fits_a_phone(site):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url = (site / "evaluations" / "classroom" / "notebooks" / "process.html").as_uri()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        errors: list = []
        try:
            for width in (390, 1280):
                page = browser.new_page(viewport={"width": width, "height": 844})
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                errors.clear()  # (axe reading the stylesheets of a file:// page logs some)
                page.goto(url)
                h1 = page.locator("main h1")
                assert h1.inner_text().startswith("Evaluación: una pregunta de un plan")
                assert page.get_by_text("Cambio en quienes se sienten").first.is_visible()
                for lang in ("es", "en"):
                    page.click(f"button[data-setlang='{lang}']")
                    assert page.evaluate("() => document.documentElement.scrollWidth") \
                        <= width + 1, (width, lang)
                assert h1.inner_text().startswith("Evaluation: one question of a plan")
                assert not page.get_by_text("Cambio en quienes se sienten").first.is_visible()
                assert page.get_by_text("This version of the notebook leaves out").is_visible()
                assert errors == []
                axe = _axe()
                if axe is not None:  # no serious or critical accessibility violation
                    found = [(v["id"], v["impact"]) for v in axe.run(page).response["violations"]
                             if v["impact"] in ("serious", "critical")]
                    assert found == [], (width, found)
                page.close()
        finally:
            browser.close()


def _axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        return None
    return Axe()
