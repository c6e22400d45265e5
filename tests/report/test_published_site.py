"""The published sample site: privacy of raw personal data and of the machine's folders,
recorded indicators, links."""

import re
from pathlib import Path

import pandas as pd
import pytest

from territoria.store import Store

pytestmark = pytest.mark.slow


def read_export(path) -> pd.DataFrame:
    """A Kobo CSV export with group prefixes (``respondent/phone``) stripped from headers."""
    d = pd.read_csv(path, sep=";", dtype=str)
    d.columns = [c.split("/")[-1] for c in d.columns]
    return d.loc[:, ~d.columns.duplicated()]


def personal_values(ws) -> set[str]:
    """Personal values present in the raw files (names, phones, addresses, raw codes)."""
    raw = ws.raw_dir
    vals: set[str] = set()
    diag = next((raw / "surveys").glob("Diagnostico*.csv"))
    d = read_export(diag)
    for col in ("respondent_name", "phone", "address"):
        vals |= set(d[col].dropna())
    links = pd.read_csv(raw / "links" / "links_registry.csv", dtype=str)
    for col in ("name", "phone", "address"):
        vals |= set(links[col].dropna())
    fu = read_export(next((raw / "surveys").glob("Seguimiento*.csv")))
    vals |= set(fu["reporter_name"].dropna())
    w = read_export(next((raw / "surveys").glob("Panel_bienestar*.csv")))
    vals |= set(w["respondent_code"].dropna())  # raw codes are pseudonymised at ingest
    return {v for v in vals if len(v) >= 8}


def test_no_personal_data_anywhere_in_the_site_or_outputs(published_ws):
    ws, _ = published_ws
    secrets = personal_values(ws)
    assert len(secrets) > 1000
    files = [p for p in (ws.site_dir.rglob("*")) if p.is_file()]
    files += [p for p in ws.output_dir.rglob("*") if p.is_file() and p.suffix in
              (".html", ".ipynb", ".json", ".csv")]
    leaks = {}
    for p in files:
        found = first_secret(p.read_text(encoding="utf-8", errors="ignore"), secrets)
        if found:
            leaks[str(p)] = found
    assert not leaks, leaks


def first_secret(text: str, secrets: set[str], k: int = 8) -> str | None:
    """The first of ``secrets`` (each at least ``k`` characters) found in ``text``: every
    window of ``k`` characters is looked up among the secrets' first ``k`` characters, and
    candidates are compared whole (a regular expression of 70,000 alternatives took 47 s
    for one 250 kB page)."""
    by_prefix: dict[str, list[str]] = {}
    for sec in secrets:
        by_prefix.setdefault(sec[:k], []).append(sec)
    get = by_prefix.get
    for i in range(len(text) - k + 1):
        cands = get(text[i:i + k])
        if cands:
            for sec in cands:
                if text.startswith(sec, i):
                    return sec
    return None


def test_the_secret_search_finds_what_it_looks_for():
    secrets = {"María López Ruiz", "5512345678", "Calle Falsa 123"}
    assert first_secret("<td>tel. 5512345678</td>", secrets) == "5512345678"
    assert first_secret("María López R.", secrets) is None
    assert first_secret("Calle Falsa 12", secrets) is None


def test_every_step_recorded_indicators(published_ws):
    ws, ids = published_ws
    with Store(ws.store_path, read_only=True) as s:
        ind = s.table("indicators")
        runs = s.table("runs")
    assert (runs["status"] == "ok").all()
    for step in ("01_network", "02_diagnostic", "03_agenda", "04_followup", "05_process"):
        for tid in ids:
            got = ind[(ind["step"] == step) & (ind["territory_id"] == tid)]
            assert len(got) > 0, (step, tid)
    for step in ("00_selection", "06_impact", "07_synthesis"):
        assert len(ind[(ind["step"] == step) & ind["territory_id"].isna()]) > 0, step
    # the impact step (city scope) also records each territory's slice
    for tid in ids:
        assert len(ind[(ind["step"] == "06_impact") & (ind["territory_id"] == tid)]) > 0, tid
    cov = ind[(ind["name"] == "block_coverage") & ind["territory_id"].isin(ids)]
    assert ((cov["value"] > 0) & (cov["value"] <= 1)).all()
    assert (cov["ci_low"] <= cov["value"]).all() and (cov["value"] <= cov["ci_high"]).all()


def test_pages_exist_and_local_links_resolve(published_ws):
    ws, ids = published_ws
    site = ws.site_dir
    for page in ("index.html", "city.html", "provenance.html", "methodology/index.html",
                 "methodology/indicators.html"):
        assert (site / page).is_file(), page
    broken = []
    for html in site.rglob("*.html"):
        for href in re.findall(r'(?:href|src)="([^"#?]+)', html.read_text(encoding="utf-8")):
            if href.startswith(("http:", "https:", "mailto:", "data:")):
                continue
            if not (html.parent / href).resolve().exists():
                broken.append((str(html.relative_to(site)), href))
    assert not broken, broken[:10]


def test_notebook_annex_pages_are_site_pages_with_described_charts(published_ws):
    ws, ids = published_ws
    pages = sorted((ws.site_dir / "annex").rglob("*.html"))
    assert pages
    tid = ids[0]
    with Store(ws.store_path, read_only=True) as s:
        name = s.query("SELECT name FROM territories WHERE territory_id = ?", [tid]).iloc[0, 0]
    page = (ws.site_dir / "annex" / "01_network" / f"{tid}.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="es"' in page
    assert re.search(r"<title[^>]*>Red y asambleas · .+ — Territoria</title>", page)
    assert name.split()[0] in page  # the notebook's own text is inside the page
    assert 'href="../../assets/site.css"' in page
    alts = re.findall(r'<img\b[^>]*\salt="([^"]*)"', page)
    assert alts and all(a and "No description" not in a for a in alts)  # charts describe


#: A folder of the machine that built the site (not a site's relative link or a web address).
MACHINE = re.compile(r"(?<![\w.:/])/(?:tmp|home|work|root|srv|Users|var)/[^\s<\"']*")


def machine_folders(ws) -> dict[str, list[str]]:
    """Page (relative to the site) -> the folders of the machine it names: the workspace's,
    the kit's, or any absolute path under the usual roots."""
    import territoria

    named = [str(ws.root), str(Path(territoria.__file__).resolve().parent)]
    out = {}
    for page in sorted(ws.site_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        found = [f for f in named if f in text] + MACHINE.findall(text)
        if found:
            out[str(page.relative_to(ws.site_dir))] = found
    return out


def test_the_machine_s_folders_are_named_nowhere(published_ws):
    """Neither the pages nor the annexes (executed notebooks: their results files are printed
    relative to the workspace) name a folder of the machine that ran them."""
    ws, _ = published_ws
    leaks = machine_folders(ws)
    assert not leaks, sorted(leaks.items())[:5]
