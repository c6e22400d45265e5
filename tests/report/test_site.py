"""Publishing: escaping everywhere, suppression at publication, atomic swap."""

import json

import pandas as pd
import pytest

from territoria.config import init_workspace
from territoria.report import site as site_mod
from territoria.report.record import Recorder, collect
from territoria.report.site import SiteBuilder, json_for_script, publish, safe_name
from territoria.store import Store

EVIL = 'Colonia "X" <script>alert(1)</script>\nDos'
GEOM = json.dumps({"type": "Polygon", "coordinates": [[[-99.0, 19.3], [-99.0, 19.31],
                                                      [-98.99, 19.31], [-99.0, 19.3]]]})


@pytest.fixture()
def tiny(tmp_path):
    ws = init_workspace(tmp_path / "w", name="Ciudad <b>Prueba</b>")
    s = Store(ws.store_path)
    with s.transaction():
        s.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["Zona <i>1</i>"]}))
        s.append("territories", pd.DataFrame({
            "territory_id": ["T1", "T<2>"], "name": ["Normal", EVIL], "kind": ["colonia", "pueblo"],
            "zone_id": ["Z1", "Z1"], "population": [1000.0, 2000.0], "priority": [True, True],
            "cohort": [None, None], "geometry": [GEOM, GEOM]}))
    for tid, n in (("T1", 100), ("T<2>", 3)):
        rec = Recorder(ws.output_dir, "02_diagnostic", tid)
        rec.indicator("pct_unsafe_colonia", 0.7, ci_low=0.6, ci_high=0.8, n=n)
        rec.save()
    collect(s, list(ws.output_dir.rglob("*.results.json")))
    s.close()
    return ws


def all_html(root):
    return {p: p.read_text(encoding="utf-8") for p in root.rglob("*.html")}


def test_everything_is_escaped(tiny):
    index = publish(tiny)
    pages = all_html(index.parent)
    assert pages, "no pages"
    for p, html in pages.items():
        assert "<script>alert(1)" not in html, p
        assert "<b>Prueba</b>" not in html and "<i>1</i>" not in html, p
    joined = "".join(pages.values())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined
    # file names derived from ids stay inside the site and are safe
    names = [p.name for p in (index.parent / "territories").iterdir()]
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
               for n in names), names
    assert f"{safe_name('T<2>')}.html" in names


def test_json_in_script_cannot_close_the_tag():
    s = json_for_script({"name": "</script><script>alert(1)</script>"})
    assert "</script>" not in s and json.loads(s)["name"].startswith("</script>")


def test_small_cells_are_suppressed_at_publication(tiny):
    index = publish(tiny)
    with Store(tiny.store_path, read_only=True) as s:
        b = SiteBuilder(tiny, s)
        rows = b.indicators
        small = b.card(rows[rows["territory_id"] == "T<2>"].iloc[0].to_dict())
        big = b.card(rows[rows["territory_id"] == "T1"].iloc[0].to_dict())
    assert small["suppressed"] and not big["suppressed"]
    assert big["value"] == {"es": "70 %", "en": "70%"}  # decimals sized by the interval
    assert "entre 60 y 80" in big["sentence"]["es"] and "100" in big["sentence"]["es"]
    data = json.loads((index.parent / "index.html").read_text().split(
        'id="map-data">')[1].split("</script>")[0])
    if "pct_unsafe_colonia" in data["indicators"]:
        assert data["indicators"]["pct_unsafe_colonia"]["values"]["T<2>"] is None


def test_failed_publish_leaves_previous_site(tiny, monkeypatch):
    index = publish(tiny)
    before = {p: p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}

    def boom(self, out):
        raise RuntimeError("disk full")

    monkeypatch.setattr(site_mod.SiteBuilder, "build_city", boom)
    with pytest.raises(RuntimeError):
        publish(tiny)
    after = {p: p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}
    assert before == after
    assert not list(tiny.root.glob(".site.tmp-*"))


def test_language_switch_is_in_every_page(tiny):
    index = publish(tiny)
    for p, html in all_html(index.parent).items():
        assert 'data-setlang="en"' in html and 'lang="es"' in html, p
        assert "assets/site.js" in html and "assets/site.css" in html


def test_methodology_pages_follow_the_language_switch(tiny):
    index = publish(tiny)
    html = (index.parent / "methodology" / "02_diagnostic.html").read_text(encoding="utf-8")
    es, en = html.split('<div lang="en">', 1)
    assert '<div lang="es">' in es and "Para qué sirve" in es and "Scope:" not in es
    assert "Scope:" in en and "Para qué sirve" not in en
    assert "<h1>Diagnóstico participativo</h1>" in es.replace("02 · ", "")
    assert "*English.*" not in html and "<em>English.</em>" not in html


def test_a_chart_says_why_its_bars_are_left_out(tiny):
    """A zone left out of step 07's zone charts has too few territories, not too few people:
    the caption says so (it said "pocas personas"); other charts keep the people note, with
    the city's ``min_cell_size``."""
    from territoria.steps import View
    from territoria.steps import s07_synthesis as s07

    zones = pd.DataFrame({"zone_name": ["Norte", "Sur"], "label_es": ["Norte", "Sur"],
                          "label_en": ["North", "South"], "estimate": [0.8, None],
                          "ci_low": [0.7, None], "ci_high": [0.9, None], "n": [6, None],
                          "suppressed": [False, True]})
    people = pd.DataFrame({"label_es": ["Mujeres", "Hombres"], "label_en": ["Women", "Men"],
                           "estimate": [0.5, 0.4], "ci_low": [0.4, 0.1], "ci_high": [0.6, 0.7],
                           "n": [40, 3]})
    with Store(tiny.store_path, read_only=True) as s:
        b = SiteBuilder(tiny, s)
        macros = b.env.get_template("macros.html").make_module({"root": ""})
        zone_view = next(v for v in s07.SECTION.views if v.key == "zones_block_coverage")
        z = b.render_view(zone_view, zones)
        p = b.render_view(View("safety", "bar", {"es": "Seguridad", "en": "Safety"},
                               percent=True), people)
        html = {k: str(macros.views([v])) for k, v in (("zone", z), ("people", p))}
    assert z["suppressed"] and p["suppressed"]
    assert "menos de 5 colonias" in html["zone"] and "fewer than 5 neighbourhoods" in html["zone"]
    assert "personas" not in z["suppressed_note"]["es"]
    assert "people" not in z["suppressed_note"]["en"]
    assert "menos de 5 personas" in html["people"] and "fewer than 5 people" in html["people"]
    assert "colonias" not in p["suppressed_note"]["es"]
    assert "pocas personas" not in html["zone"] + html["people"]


def test_step_04_figures_show_with_their_cut_off_date(tiny):
    """Step 04 tags its figures with its cut-off (grp = the date): a territory page shows
    them as cards saying the date (they were dropped as a subgroup), a table recorded with
    that date says it in its caption, and the index map compares territories at one date."""
    rec = Recorder(tiny.output_dir, "04_followup", "T1")
    rec.indicator("followup_fulfilment_rate", 0.58, ci_low=0.42, ci_high=0.73, n=36,
                  grp="2024-12-31")
    rec.table("overdue", pd.DataFrame({"label_es": ["Bacheo"], "label_en": ["Potholes"],
                                       "days_overdue": [12]}), as_of="2024-12-31")
    old = Recorder(tiny.output_dir, "04_followup", "T<2>")  # at another cut-off
    old.indicator("followup_fulfilment_rate", 0.2, n=40, grp="2023-06-30")
    with Store(tiny.store_path) as s:
        collect(s, [rec.save(), old.save()])
    with Store(tiny.store_path, read_only=True) as s:
        b = SiteBuilder(tiny, s)
        cards = {t: b.cards_for(t, ["followup_fulfilment_rate"]) for t in ("T1", "T<2>")}
        view = next(v for v in b.sections["04_followup"].views if v.key == "overdue")
        blocks = b.section_blocks("T1", ["04_followup"])
        city = b.city_indicators
    assert [c["value"]["es"] for c in cards["T1"]] == ["58 %"]
    assert cards["T1"][0]["sentence"]["es"].endswith("Cifras al corte del 31 de diciembre de 2024.")
    assert cards["T1"][0]["sentence"]["en"].endswith("Figures as of 31 December 2024.")
    assert "30 de junio de 2023" in cards["T<2>"][0]["sentence"]["es"]  # its own page: its date
    shown = next(v for blk in blocks for v in blk["views"] if v["title"] == view.title)
    assert "Cifras al corte del 31 de diciembre de 2024." in shown["caption"]["es"]
    fu = city[city["name"] == "followup_fulfilment_rate"]
    assert fu["territory_id"].tolist() == ["T1"] and fu["grp"].isna().all()  # one date
