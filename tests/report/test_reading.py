"""The published pages read right: one fact one number, percentages, names from the
catalogue, suppressed cells silent, one language at a time, the pages residents need."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from territoria.report.catalogue import load_catalogue
from territoria.report.site import safe_name
from territoria.store import Store

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


class Facts(Page):
    """A page's tables (header and body cells), every text block (table cell, paragraph, list
    item, heading) and the labels of the bars its charts leave out as suppressed (``*``)."""

    BLOCKS = ("td", "th", "p", "li", "h1", "h2", "h3", "h4", "figcaption", "summary")

    def __init__(self, lang: str):
        super().__init__(lang)
        self.tables: list[dict] = []
        self.blocks: list[str] = []
        self.suppressed_labels: dict[str, bool] = {}  # label -> its chart shows percentages
        self._open: list[tuple[str, list[str]]] = []  # blocks being read (nested: innermost)
        self._row: list[str] | None = None
        self._thead = False
        self._svg_text: tuple[str, list[str]] | None = None
        self._last_label = ""
        self._chart: tuple[set[str], list[bool]] | None = None  # suppressed labels, percent?

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag == "thead":
            self._thead = True
        elif tag == "tr":
            self._row = []
        elif tag == "svg":
            self._chart = (set(), [False])
        elif tag == "text":
            self._svg_text = (dict(attrs).get("class") or "", [])
        if tag in self.BLOCKS:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        super().handle_endtag(tag)
        if tag in self.BLOCKS and self._open and self._open[-1][0] == tag:
            _, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            self.blocks.append(text)
            if tag in ("td", "th") and self._row is not None:
                self._row.append(text)
        elif tag == "thead":
            self._thead = False
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if self._thead:
                t["head"] = self._row
            else:
                t["rows"].append(self._row)
            self._row = None
        elif tag == "text" and self._svg_text is not None:
            cls, parts = self._svg_text
            text = " ".join(" ".join(parts).split())
            if cls == "lab":
                self._last_label = text
            elif cls == "sup" and self._last_label and self._chart:
                self._chart[0].add(self._last_label)
            elif cls == "val" and self._chart and text.endswith("%"):
                self._chart[1][0] = True
            self._svg_text = None
        elif tag == "svg" and self._chart is not None:
            for label in self._chart[0]:
                self.suppressed_labels[label] = self._chart[1][0]
            self._chart = None

    def handle_data(self, data):
        super().handle_data(data)
        if self.hidden:
            return
        if self._svg_text is not None:
            self._svg_text[1].append(data)
        elif self._open:
            self._open[-1][1].append(data)


def read_facts(path, lang) -> Facts:
    p = Facts(lang)
    p.feed(path.read_text(encoding="utf-8"))
    return p


def as_number(text: str) -> float | None:
    """A table cell as a number (``1,038``, ``-0.4``, ``40.0 %``), else None."""
    t = text.replace(",", "").replace("−", "-").replace("%", "").strip()
    try:
        return float(t)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def site(request):
    """The pages to read: the published sample (two territories), or the site of the
    workspace in ``TERRITORIA_READING_WS`` (e.g. a copy of the full demo; the territory pages
    of ``TERRITORIA_READING_TERRITORIES``, comma-separated, else every one)."""
    root = os.environ.get("TERRITORIA_READING_WS")
    if root:
        from territoria.config import Workspace

        ws = Workspace(Path(root))
        ids = [t for t in os.environ.get("TERRITORIA_READING_TERRITORIES", "").split(",") if t]
        if not ids:
            ids = sorted(p.stem for p in (ws.site_dir / "territories").glob("*.html"))
    else:
        ws, ids = request.getfixturevalue("published_ws")
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


#: Column headers that name agreements without saying which: 07-291's page used "Acuerdos" for
#: 45 (accepted, also later cancelled) in one table and 47 (all recorded) in another.
BARE = {"es": {"Acuerdos", "Número de acuerdos"}, "en": {"Agreements", "Number of agreements"}}
#: Count indicators whose catalogue name may head a table column (its total) or a heading
#: ("Acuerdos vencidos (14)").
COUNTS = ("followup_agreements", "followup_committed", "followup_overdue")
#: Headers of columns that count agreements (one header, one fact, on a page).
AGREEMENTS = re.compile(r"^(?!.*de acuerdo).*\bacuerdos?\b|agreement|commitment", re.I)


def _recorded(ws, territory_id) -> pd.DataFrame:
    with Store(ws.store_path, read_only=True) as s:
        return s.query("SELECT name, value, n FROM indicators WHERE territory_id = ? AND "
                       "step = '04_followup'", [territory_id]).drop_duplicates(
            "name").set_index("name")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_each_figure_is_one_recorded_fact_with_one_label(site, lang):
    """An indicator's number is the same wherever its name appears (a table column headed by
    it sums to it, a heading quotes it), a label means one fact on a page (a column counting
    agreements shows one value per row label across tables) and no column says just
    "agreements"."""
    ws, ids, pages = site
    cat = load_catalogue()
    checked = 0
    for tid, path in zip(ids, pages[1:], strict=True):
        page = read_facts(path, lang)
        rec = _recorded(ws, tid)
        names = {cat[i].name(lang): i for i in COUNTS if i in cat and i in rec.index}
        facts: dict[tuple[str, str], str] = {}
        for t in page.tables:
            head = t["head"]
            assert not BARE[lang] & set(head), (path.name, head)
            for j, h in enumerate(head):
                col = [r[j] for r in t["rows"] if len(r) > j]
                if h in names:
                    total = sum(as_number(c) or 0 for c in col)
                    assert total == rec.loc[names[h], "value"], (path.name, h, total)
                    checked += 1
                if j == 0 or not AGREEMENTS.search(h):
                    continue
                for r in t["rows"]:
                    if len(r) > j and as_number(r[j]) is not None:
                        key = (r[0], h)
                        assert facts.setdefault(key, r[j]) == r[j], (path.name, key, r[j])
        for b in page.blocks:
            for name, ind in names.items():
                m = re.fullmatch(re.escape(name) + r" \(([\d,]+)\)", b)
                if m:
                    assert as_number(m.group(1)) == rec.loc[ind, "value"], (path.name, b)
                    checked += 1
    assert checked or not ids


@pytest.mark.parametrize("lang", ["es", "en"])
def test_proportions_in_tables_are_percentages(site, lang):
    """A column whose header says it is a share shows percentages, never 0.79."""
    _, _, pages = site
    share = re.compile(r"^%|%\)?$|^Porcentaje|^Share\b", re.I)
    n = 0
    for path in pages:
        for t in read_facts(path, lang).tables:
            for j, h in enumerate(t["head"]):
                if not share.search(h):
                    continue
                in_points = h.endswith("(%)")  # "Avance (%)": percentage points, 0 to 100
                for r in t["rows"]:
                    v = as_number(r[j]) if len(r) > j else None
                    if v is None:
                        continue
                    ok = r[j].endswith("%") or (in_points and not (0 < abs(v) < 1))
                    assert ok, (path.name, h, r[j])
                    n += 1
    assert n


@pytest.mark.parametrize("lang", ["es", "en"])
def test_an_agreed_priority_passes_the_consensus_rule(site, lang):
    """"Prioridad acordada" only for agenda items with consensus of at least the city's rule
    (``city.yml: agenda.agreed_min_consensus``; 07-291's item 13 had 0.13), and an item whose
    consensus is not published (too few votes) gets no judgement at all: its status says there
    are not enough votes (it said "Prioridad propuesta, sin consenso suficiente")."""
    ws, _, pages = site
    min_gic = ws.config().agenda.agreed_min_consensus
    agreed = {"es": "Prioridad acordada", "en": "Agreed priority"}[lang]
    unjudged = {"es": ("Aún no hay votos suficientes para valorarla", "Sin votos todavía"),
                "en": ("Not enough votes yet to judge it", "No votes yet")}[lang]
    consensus = {"es": "Consenso", "en": "Consensus"}[lang]
    status = {"es": "Situación", "en": "Status"}[lang]
    seen = 0
    for path in pages[1:]:
        for t in read_facts(path, lang).tables:
            if consensus not in t["head"] or status not in t["head"]:
                continue
            jc, js = t["head"].index(consensus), t["head"].index(status)
            for r in t["rows"]:
                if len(r) <= max(jc, js):
                    continue
                v = as_number(r[jc])
                if v is None:
                    assert r[js] in unjudged, (path.name, r)
                elif r[js] == agreed:
                    assert v >= min_gic, (path.name, r)
                    seen += 1
                else:
                    assert r[js] not in unjudged, (path.name, r)
    assert seen or len(pages) < 2


@pytest.mark.parametrize("lang", ["es", "en"])
def test_suppressed_cells_never_appear_in_text(site, lang):
    """What a chart leaves out as too few people is quoted with a number in no text of the
    page (the city text gave Zona 05's shares that its chart suppressed)."""
    _, _, pages = site
    n = 0
    for path in pages:
        page = read_facts(path, lang)
        for label, percent in page.suppressed_labels.items():
            n += 1  # the label, then its value: "Zona 05 (33 %)", "Zona 05: 0.33", not a
            # number with another unit ("Salud: 1,831 días" is a department's delay)
            value = r"[-−]?\d[\d.,]*\s*%" if percent else r"[-−]?\d[\d.,]*(?![\d.,]|\s*[^\W\d_])"
            quoted = re.compile(re.escape(label) + r"\s*(?:\(|:)\s*" + value)
            leaks = [b for b in page.blocks if quoted.search(b)]
            assert not leaks, (path.name, label, leaks[:2])
    assert n  # the sample's zone charts suppress zones with few territories
