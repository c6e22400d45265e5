"""The methodology page "From areas to territories": the stored areal crosswalks.

Data published by areas that do not nest in territories (an index by AGEB, crime by police
cuadrante) are brought to territories by overlay (:mod:`territoria.ingest.areal`). This page
says, for each source, which weights were used, how many areas and territories took part, how
much fell outside every territory, and lists every piece (area, territory, share of the area),
so that anyone can redo the sums.

Examples
--------
>>> import pandas as pd
>>> cw = pd.DataFrame({"source": ["crime:q.geojson"] * 3, "area_id": ["A", "A", "B"],
...                    "territory_id": ["T1", "T2", "T2"], "weight": [1.0, 1.0, 3.0],
...                    "area_weight": [2.0, 2.0, 4.0], "share_of_area": [0.5, 0.5, 0.75],
...                    "method": ["area"] * 3})
>>> summary(cw)[["source", "areas", "territories", "outside_pct"]].values.tolist()
[['crime:q.geojson', 2, 2, 12.5]]
"""

from __future__ import annotations

from html import escape

import pandas as pd

from territoria import vocabulary
from territoria.i18n import catalogue

TITLE = {"es": "De áreas a colonias", "en": "From areas to territories"}
METHOD = catalogue(__name__, "METHOD")
KIND = catalogue(__name__, "KIND")


def summary(cw: pd.DataFrame) -> pd.DataFrame:
    """One row per source: ``source``, ``method``, ``areas``, ``territories``,
    ``outside_pct`` (mean share of an area outside every territory, in %)."""
    if cw.empty:
        return pd.DataFrame(columns=["source", "method", "areas", "territories", "outside_pct"])
    inside = cw.groupby(["source", "area_id"])["share_of_area"].sum().clip(upper=1.0)
    g = cw.groupby("source")
    out = pd.DataFrame({
        "method": g["method"].first(), "areas": g["area_id"].nunique(),
        "territories": g["territory_id"].nunique(),
        "outside_pct": ((1 - inside).groupby(level=0).mean() * 100).round(1)}).reset_index()
    return out


def _both(d: dict) -> str:
    return (f"<span lang='es'>{escape(d['es'])}</span>"
            f"<span lang='en'>{escape(d['en'])}</span>")


def page_html(cw: pd.DataFrame) -> str:
    """The page body (both languages; the site's switch shows one)."""
    head = (f"<h1>{_both(TITLE)}</h1><p>" + _both({
        "es": "Algunos datos se publican por áreas que no coinciden con las colonias: el índice "
              "de desarrollo social por AGEB, los delitos por cuadrante de policía. Para "
              "llevarlos a cada colonia se sobreponen los dos mapas. Un índice se vuelve el "
              "promedio de las áreas que tocan la colonia, pesado por la parte de cada área que "
              "cae en ella; un conteo se reparte según esa misma parte, de modo que el total se "
              "conserva salvo lo que cae fuera de todas las colonias.",
        "en": "Some data are published by areas that do not match the territories: the "
              "social-development index by AGEB, crime by police quadrant. To bring them to each "
              "territory the two maps are overlaid. An index becomes the mean of the areas that "
              "touch the territory, weighted by the part of each area inside it; a count is "
              "shared out by that same part, so the total is kept except what falls outside "
              "every territory."}) + "</p>")
    if cw.empty:
        return head + "<p>" + _both({"es": "Este espacio de trabajo no tiene datos por áreas.",
                                     "en": "This workspace has no data by areas."}) + "</p>"
    s = summary(cw)
    rows = "".join(
        f"<tr><td><code>{escape(r.source)}</code></td>"
        f"<td>{_both(KIND.get(r.source.split(':')[0], {'es': r.source, 'en': r.source}))}</td>"
        f"<td>{_both(METHOD.get(r.method, {'es': r.method, 'en': r.method}))}</td>"
        f"<td class='num'>{r.areas}</td><td class='num'>{r.territories}</td>"
        f"<td class='num'>{r.outside_pct:.1f} %</td></tr>" for r in s.itertuples())
    table = ("<table><thead><tr><th>" + _both(vocabulary.texts("heading", "source")) + "</th><th>"
             + _both({"es": "Dato", "en": "Data"}) + "</th><th>"
             + _both({"es": "Pesos", "en": "Weights"}) + "</th><th class='num'>"
             + _both({"es": "Áreas", "en": "Areas"}) + "</th><th class='num'>"
             + _both({"es": "Colonias", "en": "Territories"}) + "</th><th class='num'>"
             + _both({"es": "Fuera de toda colonia (promedio)",
                      "en": "Outside every territory (mean)"})
             + "</th></tr></thead><tbody>" + rows + "</tbody></table>")
    details = []
    for src, d in cw.groupby("source"):
        body = "".join(
            f"<tr><td>{escape(str(r.area_id))}</td><td>{escape(str(r.territory_id))}</td>"
            f"<td class='num'>{100 * r.share_of_area:.1f} %</td></tr>"
            for r in d.sort_values(["area_id", "territory_id"]).itertuples())
        details.append(
            f"<details><summary><code>{escape(src)}</code> · " + _both(
                {"es": f"{len(d)} piezas", "en": f"{len(d)} pieces"}) + "</summary>"
            "<div class='table-scroll' tabindex='0'><table><thead><tr><th>"
            + _both({"es": "Área", "en": "Area"}) + "</th><th>"
            + _both(vocabulary.texts("heading", "territory")) + "</th><th class='num'>"
            + _both({"es": "Parte del área", "en": "Share of the area"})
            + "</th></tr></thead><tbody>" + body + "</tbody></table></div></details>")
    return head + table + "".join(details)


def crosswalks(store) -> pd.DataFrame:
    """The store's crosswalks (empty frame when none)."""
    from territoria.ingest.areal import CROSSWALK_SCHEMA, CROSSWALK_TABLE

    if not store.has_table(CROSSWALK_TABLE):
        return pd.DataFrame(columns=list(CROSSWALK_SCHEMA))
    return store.query(f"SELECT * FROM {CROSSWALK_TABLE} ORDER BY source, area_id, territory_id")
