"""The published pages read right: one fact one number, percentages, names from the
catalogue, suppressed cells silent, one language at a time, the pages residents need."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from territoria.report.catalogue import load_catalogue
from territoria.report.site import safe_name

pytestmark = pytest.mark.slow

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
#: Fixed words of the kit's pages in each language (never data: names of places and
#: proposals are the same in both versions).
FIXED = {
    "es": ["En resumen", "¿Qué es?", "De cada 100", "Para la próxima asamblea", "Población",
           "días de retraso", "No se publica", "con estos datos", "Definición técnica",
           "Anexo técnico", "Todas las colonias"],
    "en": ["At a glance", "What is it?", "Out of 100", "For the next assembly", "Population",
           "days late", "Not published", "these data", "Technical definition",
           "Technical annex", "All neighbourhoods"],
}


class Page(HTMLParser):
    """Visible text of a page in one language (elements marked with the other ``lang`` are
    hidden by the site's stylesheet) and its indicator cards."""

    def __init__(self, lang: str):
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []
        self.cards: list[dict] = []
        self._card_depth = None
        self._field = None

    @property
    def hidden(self) -> bool:
        return any(h for _, h in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in VOID:
            return
        hide = tag in ("script", "style", "title", "desc") or (
            a.get("lang") not in (None, self.lang) and tag != "html")
        if tag == "option" and f"data-{self.lang}" in a:  # the script shows this text
            if not self.hidden:
                self.text.append(a[f"data-{self.lang}"])
            hide = True
        self.stack.append((tag, hide))
        cls = a.get("class") or ""
        if "data-indicator" in a:
            self.cards.append({"id": a["data-indicator"], "key": a["data-key"],
                               "percent": "data-percent" in a,
                               "suppressed": "data-suppressed" in a, "lbl": "", "num": "",
                               "said": ""})
            self._card_depth = len(self.stack)
        elif self._card_depth is not None and cls in ("lbl", "num", "said"):
            self._field = (cls, len(self.stack))

    def handle_endtag(self, tag):
        if tag in VOID or not self.stack:
            return
        while self.stack:
            t, _ = self.stack.pop()
            if self._field and len(self.stack) < self._field[1]:
                self._field = None
            if self._card_depth is not None and len(self.stack) < self._card_depth:
                self._card_depth = None
            if t == tag:
                break

    def handle_data(self, data):
        if self.hidden:
            return
        self.text.append(data)
        if self._field and self.cards:
            self.cards[-1][self._field[0]] += data


def read(path, lang) -> Page:
    p = Page(lang)
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def site(published_ws):
    ws, ids = published_ws
    pages = [ws.site_dir / "city.html"] + [
        ws.site_dir / "territories" / f"{safe_name(t)}.html" for t in ids]
    return ws, ids, pages


@pytest.mark.parametrize("lang", ["es", "en"])
def test_one_fact_one_number_in_percent_with_catalogue_names(site, lang):
    _, _, pages = site
    cat = load_catalogue()
    n_cards = 0
    for path in pages:
        page = read(path, lang)
        seen: dict[str, str] = {}
        for c in page.cards:
            n_cards += 1
            num = c["num"].strip()
            name = cat[c["id"]].name(lang) if c["id"] in cat else c["id"]
            assert c["lbl"].strip().startswith(name), (path.name, c["id"], c["lbl"], name)
            if c["suppressed"]:
                assert not re.search(r"\d", num + c["said"]), (path.name, c)
                continue
            assert seen.setdefault(c["key"], num) == num, (path.name, c["key"], num)
            if c["percent"] and num != "—":
                assert num.endswith("%") or "punto" in num or "point" in num, (path.name, c)
            assert c["said"].strip(), (path.name, c["id"])  # every number has its sentence
    assert n_cards > 10


@pytest.mark.parametrize("lang", ["es", "en"])
def test_one_language_at_a_time(site, lang):
    ws, _, pages = site
    other = "en" if lang == "es" else "es"
    for path in pages:
        text = " ".join(read(path, lang).text)
        assert [w for w in FIXED[lang] if w in text], path.name  # the scan sees the page
    pages = pages + [ws.site_dir / "index.html", ws.site_dir / "methodology" / "indicators.html"]
    for path in pages:
        text = " ".join(read(path, lang).text)
        leaks = [w for w in FIXED[other] if w in text and w not in FIXED[lang]]
        assert not leaks, (path.name, leaks)


def test_territory_page_serves_the_next_assembly(site):
    _, ids, pages = site
    html = pages[1].read_text(encoding="utf-8")
    assert 'id="h-next"' in html and 'class="toc' in html
    assert 'class="locator"' in html and "assets/locator.svg" in html
    toc = re.search(r'<nav class="toc.*?</nav>', html, re.S).group(0)
    for anchor in re.findall(r'href="#([^"]+)"', toc):
        assert f'id="{anchor}"' in html, anchor
    city = pages[0].read_text(encoding="utf-8")
    assert 'href="evaluations/index.html"' in city  # evaluations and city annexes linked
    assert re.search(r'href="annex/0[067]_[a-z]+/city\.html"', city)


def test_next_assembly_names_every_agenda_item_with_its_proposal_code(site):
    """Consensus and divisive items read "name (proposal code)" every time; an item
    recorded without a code says so in words, never a bare name beside coded ones."""
    _, ids, pages = site
    html = pages[1].read_text(encoding="utf-8")
    section = re.search(r'<section aria-labelledby="h-next".*?</section>', html, re.S).group(0)
    lists = re.findall(r"<ul>(.*?)</ul>", section, re.S)[:2]  # consensus, then divisive
    code = {"es": r"\((?:P-[\w-]+|sin clave de propuesta)\)",
            "en": r"\((?:P-[\w-]+|no proposal code)\)"}
    items = 0
    for ul in lists:
        for li in re.findall(r"<li>(.*?)</li>", ul, re.S):
            for lang in ("es", "en"):
                text = re.search(rf'<span lang="{lang}">(.*?)</span>', li, re.S).group(1)
                items += 1
                assert re.search(code[lang], text), (lang, text)
    assert items, section[:500]
