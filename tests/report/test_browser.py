"""A real browser (Debian's chromium, driven by Playwright) opens the published site."""

import functools
import http.server
import shutil
import threading

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(published_ws):
    ws, _ = published_ws
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ws.site_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def open_page(browser, url):
    page = browser.new_page()
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, errors, failed


def broken_images(page):
    return page.evaluate("""() => Array.from(document.images)
        .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)""")


@pytest.mark.parametrize("mode", ["served", "file"])
def test_index_and_territory_pages(browser, server, published_ws, mode):
    ws, ids = published_ws
    base = server if mode == "served" else ws.site_dir.as_uri()
    page, errors, failed = open_page(browser, f"{base}/index.html")
    assert page.title()
    assert page.locator("#territory-table tbody tr").count() == 293
    # search filters the table
    page.fill("#q", "aculco")
    assert 0 < page.locator("#territory-table tbody tr:not([hidden])").count() < 293
    # the map is coloured by the chosen indicator
    fills = page.evaluate("() => Array.from(document.querySelectorAll('.map path[data-id]'))"
                          ".map(p => p.getAttribute('fill'))")
    assert len(set(fills)) > 2
    assert not errors, errors
    assert not failed, failed
    assert not broken_images(page)
    # a territory report, then the language switch
    from territoria.report.site import safe_name

    page2, errors2, failed2 = open_page(browser, f"{base}/territories/{safe_name(ids[0])}.html")
    h2 = page2.locator("main h2").first
    es_text = h2.inner_text()
    assert page2.locator("html").get_attribute("data-lang") == "es"
    page2.click("button[data-setlang='en']")
    assert page2.locator("html").get_attribute("data-lang") == "en"
    en_text = page2.locator("main h2").first.inner_text()
    assert en_text and en_text != es_text
    assert page2.locator("svg.chart").count() > 0
    # every chart is named; a bilingual one (the locator map) has one <title lang> per
    # language, which SVG 2 allows (the reader's language picks it)
    titles = page2.eval_on_selector_all(
        "svg.chart", "els => els.map(e => [...e.querySelectorAll(':scope > title')]"
        ".map(t => t.getAttribute('lang') || ''))")
    assert all(t and len(set(t)) == len(t) for t in titles), titles
    assert not errors2, errors2
    assert not failed2, failed2
    assert not broken_images(page2)
    # every local link of the territory page opens
    hrefs = page2.evaluate("() => Array.from(document.querySelectorAll('a[href]'))"
                           ".map(a => a.href).filter(h => !h.includes('#'))")
    for h in set(hrefs):
        if mode == "served":
            assert page2.request.get(h).status == 200, h
    page.close()
    page2.close()


def _pages(published_ws):
    """The pages every browser check visits: index, a territory, the city, an evaluation
    page, a city annex and the indicator catalogue (those that exist)."""
    from territoria.report.site import safe_name

    ws, ids = published_ws
    site = ws.site_dir
    pages = ["index.html", f"territories/{safe_name(ids[0])}.html", "city.html",
             "methodology/indicators.html"]
    evals = sorted(p.relative_to(site).as_posix() for p in (site / "evaluations").glob("*.html")
                   if p.name != "index.html") if (site / "evaluations").is_dir() else []
    pages += evals[:1] or (["evaluations/index.html"] if (site / "evaluations" / "index.html")
                           .exists() else [])
    annex = sorted(p.relative_to(site).as_posix() for p in (site / "annex").rglob("city.html"))
    return pages + annex[:1]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_pages_fit_a_phone_without_sideways_scroll(browser, server, published_ws, lang):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page = ctx.new_page()
    wide = {}
    for path in _pages(published_ws):
        page.goto(f"{server}/{path}?lang={lang}")
        page.wait_for_load_state("load")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390 + 1:
            wide[path] = (width, page.evaluate(
                "() => Array.from(document.querySelectorAll('body *')).filter(e => "
                "e.getBoundingClientRect().right > 392).slice(0, 3).map(e => e.tagName + '.' "
                "+ e.className)"))
    ctx.close()
    assert not wide, wide


def test_axe_finds_no_serious_or_critical_violation(browser, server, published_ws):
    axe_mod = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_mod.Axe()
    found = {}
    for width in (1280, 390):
        ctx = browser.new_context(viewport={"width": width, "height": 900})
        page = ctx.new_page()
        for path in _pages(published_ws):
            page.goto(f"{server}/{path}")
            page.wait_for_load_state("load")
            result = axe.run(page)
            bad = [(v["id"], v["impact"], len(v["nodes"])) for v in result.response["violations"]
                   if v["impact"] in ("serious", "critical")]
            if bad:
                found[f"{path} @{width}px"] = bad
        ctx.close()
    assert not found, found


def test_a_territory_without_field_data_says_no_data_yet(browser, published_ws, tmp_path):
    """A territory outside the programme (no assemblies, no diagnostic): its steps end
    "no-data", and its page says so in both languages without a console error."""
    from territoria.config import Workspace
    from territoria.pipeline.runner import run
    from territoria.report.site import publish, safe_name
    from territoria.store import Store

    ws0, _ = published_ws
    root = tmp_path / "ws"
    shutil.copytree(ws0.root, root, symlinks=True, ignore=shutil.ignore_patterns("raw"))
    ws = Workspace(root)
    with Store(ws.store_path, read_only=True) as s:
        tid = s.query("SELECT territory_id FROM territories WHERE NOT coalesce(priority, false) "
                      "AND territory_id NOT IN (SELECT DISTINCT territory FROM assembly) "
                      "ORDER BY territory_id LIMIT 1")["territory_id"].iloc[0]
    summary = run(ws, territories=[tid], steps="01,02", workers=1, progress=False)
    assert summary.counts.get("no-data") == 2, summary.format("en")
    errors: list = []
    publish(ws, errors=errors)
    assert not errors
    page, console, failed = open_page(browser, (ws.site_dir / "territories" /
                                                f"{safe_name(tid)}.html").as_uri())
    assert page.locator("main").get_by_text("Aún no hay datos").first.is_visible()
    page.click("button[data-setlang='en']")
    assert page.locator("main").get_by_text("No data yet").first.is_visible()
    assert not console, console
    page.close()


def test_charts_are_drawn_for_the_phone_and_the_header_keeps_its_map_beside(browser, server,
                                                                            published_ws):
    """At 390 px a territory's charts fill the column with text about its own size (the
    phone drawing, ``charts.responsive``); at 1280 px the wide drawing shows and the locator
    map sits beside the name, facts and contents instead of leaving a band under them."""
    from territoria.report.site import safe_name

    ws, ids = published_ws
    url = f"{server}/territories/{safe_name(ids[0])}.html"
    measure = """() => Array.from(document.querySelectorAll('svg.chart:not(.locmap)'))
        .filter(s => s.getBoundingClientRect().width > 0).map(s => {
          const w = s.getBoundingClientRect().width, vb = s.viewBox.baseVal.width;
          const t = s.querySelector('text.lab, text.axis, text');
          return {cls: s.getAttribute('class'), width: w, main: document.querySelector('main')
                  .clientWidth, text: parseFloat(getComputedStyle(t).fontSize) * w / vb}; })"""
    box = "(s) => { const r = document.querySelector(s).getBoundingClientRect(); " \
          "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"
    for width, drawing in ((390, "chart-narrow"), (1280, "chart-wide")):
        ctx = browser.new_context(viewport={"width": width, "height": 900})
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_load_state("load")
        shown = page.evaluate(measure)
        assert shown, width
        for c in shown:
            assert drawing in c["cls"], (width, c)  # one drawing of each chart is shown
            assert c["width"] >= 0.85 * (c["main"] - 32), (width, c)  # fills the column
            assert c["text"] >= 10, (width, c)  # readable: not a desktop drawing shrunk
        if width == 1280 and page.locator("figure.locator").count():
            loc, toc, h1 = (page.evaluate(box, s) for s in ("figure.locator", "nav.toc", "h1"))
            assert loc["left"] >= toc["right"] and loc["top"] < toc["top"], (loc, toc)
            assert loc["top"] <= h1["bottom"] + 40, (loc, h1)  # beside the name, not under
        ctx.close()
