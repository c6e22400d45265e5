"""Figures: sorted bars with CIs, lines by group, choropleth; translated alt text."""

from __future__ import annotations

import io

import matplotlib.patches as mpatches
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from territoria.exceptions import AnalysisError, TerritoriaError
from territoria.figures import bar_ci, choropleth, format_value, lines_by_group


def render(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.fixture
def shares() -> pd.DataFrame:
    return pd.DataFrame({
        "axis": ["security", "water", "health", "mobility"],
        "estimate": [0.30, 0.42, 0.10, 0.20],
        "ci_low": [0.25, 0.36, 0.05, 0.15], "ci_high": [0.35, 0.48, 0.16, 0.26],
        "suppressed": [False, False, True, False],
    })


def test_bar_ci_sorted_suppressed_and_translated(shares):
    labels = {"water": "Agua", "security": "Seguridad", "mobility": "Movilidad", "health": "Salud"}
    fig, alt = bar_ci(shares, label="axis", labels=labels, subject="problem")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)][0]
    assert len(bars) == 3  # the suppressed one is not drawn
    ticks = sorted(zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()], strict=True),
                   reverse=True)
    assert [t for _, t in ticks] == ["Agua", "Seguridad", "Movilidad"]  # largest on top
    widths = sorted(b.get_width() for b in bars)
    assert widths == pytest.approx([20, 30, 42])
    assert alt.startswith("Barras ordenadas: el problema más mencionado es Agua (42 %, "
                          "IC 95 % 36–48 %)")
    assert "No se muestran 1 valor(es)" in alt
    assert ax.get_xlabel() == "Porcentaje"
    assert render(fig)[:4] == b"\x89PNG"
    fig_en, alt_en = bar_ci(shares, label="axis", labels={"water": "Water"}, lang="en",
                            subject="problem", title="Main problems")
    assert alt_en.startswith("Sorted bars: the most mentioned problem is Water (42%, 95% CI 36–48%)")
    assert fig_en.axes[0].get_title(loc="left") == "Main problems"
    assert fig_en.axes[0].get_xlabel() == "Percentage"


def test_bar_ci_edge_cases(shares):
    fig, alt = bar_ci(shares.assign(suppressed=True), label="axis")
    assert alt.startswith("No hay datos suficientes")
    _, one = bar_ci(shares.head(1), label="axis", lang="en", low=None, high=None)
    assert one.startswith("A single bar: security (30%")
    with pytest.raises(AnalysisError, match="missing column"):
        bar_ci(shares, label="problem")
    with pytest.raises(TerritoriaError, match="'French' is not a language code"):
        bar_ci(shares, label="axis", lang="French")
    _, fr = bar_ci(shares, label="axis", lang="fr")  # any code: texts fall back to Spanish
    assert fr.startswith("Barras ordenadas")


def test_lines_by_group():
    d = pd.DataFrame({
        "month": pd.to_datetime(["2019-01-01", "2019-02-01", "2019-03-01"] * 3),
        "mode": ["in_person"] * 3 + ["virtual"] * 3 + ["hybrid"] * 3,
        "assemblies": [10, 12, 9, 0, 4, 6, 1, 1, 0],
    })
    fig, alt = lines_by_group(d, labels={"in_person": "Presencial", "virtual": "Virtual",
                                         "hybrid": "Híbrida"})
    assert len(fig.axes[0].get_lines()) == 3
    assert alt == ("Líneas por grupo de 2019-01 a 2019-03: Presencial suma más (31 en total); "
                   "Híbrida suma menos (2).")
    assert render(fig)


def square(x0, y0, s=1.0):
    return [[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]


def test_choropleth_geojson_with_holes_multipolygons_and_missing():
    import json
    poly_hole = json.dumps({"type": "Polygon", "coordinates": [square(0, 0, 3), square(1, 1)]})
    multi = json.dumps({"type": "MultiPolygon",
                        "coordinates": [[square(4, 0)], [square(6, 0)]]})
    t = pd.DataFrame({
        "name": ["Aculco", "San Lucas", "Santa Cruz"],
        "geometry": [poly_hole, multi, "POLYGON ((0 4, 1 4, 1 5, 0 5, 0 4))"],
        "crime_rate": [12.5, 30.25, np.nan],
    })
    fig, alt = choropleth(t, value="crime_rate", legend="delitos por mil habitantes")
    ax = fig.axes[0]
    patches = [p for p in ax.patches if isinstance(p, mpatches.PathPatch)]
    assert len(patches) == 3
    assert patches[2].get_hatch() == "///"  # no data: hatched grey
    # the hole is part of the path: 2 rings -> 2 MOVETO codes
    assert (patches[0].get_path().codes == 1).sum() == 2
    assert alt.startswith("Mapa de 3 colonias coloreadas por delitos por mil habitantes: el valor "
                          "más alto está en San Lucas (30.25) y el más bajo en Aculco (12.50).")
    assert "No se muestran 1" in alt
    assert render(fig)
    _, alt_en = choropleth(t.assign(crime_rate=[0.5, 0.25, 0.1]), value="crime_rate",
                           percent=True, lang="en", legend="unsafe")
    assert "highest value is in Aculco (50%)" in alt_en
    with pytest.raises(AnalysisError, match="not valid GeoJSON/WKT"):
        choropleth(t.assign(geometry="POLYGON ((0 0, 1"), value="crime_rate")


def test_format_value():
    assert format_value(0.4249, "es") == "42 %" and format_value(0.4251, "en") == "43%"
    assert format_value(float("nan")) == "–"


def test_bar_ci_tolerates_estimates_a_hair_outside_their_interval():
    # regression: a 100 % share whose upper bound was 0.99999999 failed with
    # "'xerr' must not contain negative values" in 6 of 130 process notebooks
    import pandas as pd

    from territoria import figures as plots

    df = pd.DataFrame({"label": ["a", "b", "c"], "estimate": [1.0, 0.5, 0.4],
                       "ci_low": [0.8, 0.55, None], "ci_high": [0.99999999, 0.6, None]})
    fig, alt = plots.bar_ci(df, label="label", value="estimate", lang="es", percent=True)
    assert fig is not None and alt


def test_svg_backend_draws_the_same_bars_and_says_the_same(shares):
    import re
    import xml.dom.minidom

    from territoria.charts import Chart

    labels = {"water": "Agua", "security": "Seguridad", "mobility": "Movilidad", "health": "Salud"}
    fig, alt_mpl = bar_ci(shares, label="axis", labels=labels, subject="problem")
    chart, alt = bar_ci(shares, label="axis", labels=labels, subject="problem",
                        title="Problemas <principales>", backend="svg", ref=0.25)
    assert isinstance(chart, Chart) and alt == alt_mpl
    xml.dom.minidom.parseString(chart.svg)  # well-formed, title escaped
    assert "<title>Problemas &lt;principales&gt;</title>" in chart.svg
    # largest on top, suppressed row not drawn, whiskers and the dashed reference line
    names = re.findall(r'class="lab">(?:<tspan[^>]*>)?([^<]+)<', chart.svg)  # wrapped in tspans
    assert names == ["Agua", "Seguridad", "Movilidad"]
    assert len(re.findall(r"<rect x=\"[\d.]+\" y=", chart.svg)) == 3
    assert 'stroke-dasharray="4 3"' in chart.svg
    assert "No se muestran 1 valor(es)" in chart.svg  # the note under the chart
    bundle = chart._repr_mimebundle_()
    assert bundle["text/plain"] == alt
    assert f'alt="{alt}"' in bundle["text/html"].replace("&#x27;", "'")
    # the matplotlib figure gets the same reference line
    fig, _ = bar_ci(shares, label="axis", ref=0.25)
    assert [ln.get_xdata()[0] for ln in fig.axes[0].get_lines()
            if ln.get_linestyle() == "--"] == [25.0]
    with pytest.raises(AnalysisError, match="unknown figure backend 'png'"):
        bar_ci(shares, label="axis", backend="png")


def test_svg_lines_keep_dates_in_order_and_agree_with_matplotlib():
    d = pd.DataFrame({
        "month": pd.to_datetime(["2019-03-01", "2019-01-01", "2019-02-01"] * 2),
        "mode": ["in_person"] * 3 + ["virtual"] * 3,
        "assemblies": [9, 10, 12, 6, 0, 4],
    })
    _, alt_mpl = lines_by_group(d)
    chart, alt = lines_by_group(d, backend="svg", title="Por mes")
    assert alt == alt_mpl
    assert chart.svg.count("<path") == 2 and ">2019-01<" in chart.svg
    assert ">Por mes<" in chart.svg  # a standalone chart prints its title
