"""Tests of territoria.steps.display: result frames shown with human column names and numbers
formatted for people (the notebooks' tables and so the site's annex pages)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from territoria.steps import display
from territoria.steps.display import STEP_COLUMNS, column_name, table

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
RAW = re.compile(r"label_es|label_en|_gic|\bNaN\b|\bFalse\b|\bTrue\b|\bNone\b|\bNaT\b")


def _shares() -> pd.DataFrame:
    return pd.DataFrame({
        "axis": ["water", "security", "health"],
        "label_es": ["Agua", "Seguridad", "Salud"], "label_en": ["Water", "Security", "Health"],
        "estimate": [0.4213, None, 1.0], "ci_low": [0.36, None, 1.0],
        "ci_high": [0.48, None, 1.0], "n": [93.0, 4.0, 12.0],
        "suppressed": [False, True, False]})


def test_human_headers_in_the_notebooks_language_and_internal_columns_dropped():
    es = table(_shares(), "es", percent=["estimate"]).frame
    en = table(_shares(), "en", percent=["estimate"]).frame
    assert list(es.columns) == ["Eje", "Estimación", "IC 95 %", "Casos (n)"]
    assert list(en.columns) == ["Axis", "Estimate", "95% CI", "Cases (n)"]
    assert list(es["Eje"]) == ["Agua", "Seguridad", "Salud"]  # the label, not the code
    assert list(en["Axis"]) == ["Water", "Security", "Health"]


def test_proportions_are_percentages_with_their_interval():
    t = table(_shares(), "es", percent=["estimate"]).frame
    assert t.loc[0, "Estimación"] == "42 %"  # decimals the interval needs: 36 to 48 -> none
    assert t.loc[0, "IC 95 %"] == "36 % a 48 %"
    assert table(_shares(), "en", percent=["estimate"]).frame.loc[0, "95% CI"] == "36% to 48%"
    assert t.loc[2, "IC 95 %"] == "100.0 % (intervalo sin amplitud)"  # degenerate, said so
    plain = table(_shares(), "es").frame  # not declared a share: stays a number
    assert plain.loc[0, "Estimación"] == "0.42" and plain.loc[0, "IC 95 %"] == "0.36 a 0.48"


def test_suppressed_rows_say_so_and_counts_have_no_decimals():
    t = table(_shares(), "es", percent=["estimate"]).frame
    assert list(t.loc[1]) == ["Seguridad", "suprimido", "suprimido", "4"]
    assert table(_shares(), "en").frame.loc[1, "Estimate"] == "suppressed"
    assert t.loc[0, "Casos (n)"] == "93"


def test_booleans_missing_values_and_p_values_are_words():
    df = pd.DataFrame({"axis_a": ["water"], "diff": [0.377], "p": [0.00001], "p_holm": [0.04],
                       "different": [True], "note": [None], "grp": [math.nan]})
    t = table(df, "es").frame
    assert list(t.columns) == ["Eje A", "Diferencia", "Valor p", "Valor p (Holm)",
                               "Diferencia clara"]  # all-empty columns say nothing
    assert list(t.loc[0]) == ["water", "0.38", "< 0.001", "0.040", "Sí"]
    df2 = pd.DataFrame({"selected": [False, True], "note": ["x", None]})
    assert list(table(df2, "en").frame.iloc[:, 0]) == ["No", "Yes"]
    assert list(table(df2, "es").frame.iloc[:, 1]) == ["x", "—"]


def test_a_code_quoted_by_people_goes_inside_its_label():
    df = pd.DataFrame({"rank": [1, 2], "proposal": ["P-01", "P-02"],
                       "label_es": ["Fugas (P-01)", "Alarmas"], "label_en": ["Leaks", "Alarms"]})
    t = table(df, "es").frame
    assert list(t.columns) == ["Lugar", "Propuesta"]
    assert list(t["Propuesta"]) == ["Fugas (P-01)", "Alarmas (P-02)"]


def test_named_intervals_stay_beside_their_estimate():
    df = pd.DataFrame({"label_es": ["Confianza"], "estimate": [0.0], "ci_low": [-0.36],
                       "ci_high": [0.36], "dz": [0.1], "dz_ci_low": [-0.45],
                       "dz_ci_high": [0.45], "median_days": [367.0],
                       "median_ci_low": [205.0], "median_ci_high": [math.inf]})
    t = table(df, "es")
    assert list(t.frame.columns) == ["Concepto", "Estimación", "IC 95 %",
                                     "Tamaño del efecto (dz)", "IC 95 %", "Mediana de días",
                                     "IC 95 %"]
    assert list(t.frame.loc[0])[4] == "-0.45 a 0.45"
    assert list(t.frame.loc[0])[6] == "205 a ∞"  # an open interval does not break the table


def test_html_is_escaped_numeric_cells_aligned_and_long_tables_cut_with_a_note():
    df = pd.DataFrame({"name": ["<script>"] * 70, "population": range(70)})
    t = table(df, "es", max_rows=5)
    assert "<script>" not in t.html and "&lt;script&gt;" in t.html
    assert '<td class="num">4</td>' in t.html
    assert "65 filas más" in t.html and len(t.frame) == 5
    assert t._repr_html_() == t.html and "Colonia" in repr(t)
    empty = table(df.iloc[:0], "en")
    assert "(table without rows)" in empty.html and list(empty.frame.columns) == [
        "Neighbourhood", "Population"]


def test_named_index_and_describe_rows_are_translated():
    df = pd.DataFrame({"population": [10.0, 20.0, 30.0]})
    t = table(df.describe(), "es").frame
    assert list(t.iloc[:, 0])[:3] == ["Con dato", "Promedio", "Desviación estándar"]
    years = pd.DataFrame({"year": [2018, 2019], "n": [1, 2]}).set_index("year")
    assert list(table(years, "en").frame.iloc[:, 0]) == ["2018", "2019"]  # no "2,018"
    assert list(table({"value": 0.28, "ci_low": 0.21, "ci_high": 0.37, "n": 167},
                      "es").frame.loc[0]) == ["0.28", "0.21 a 0.37", "167"]


def test_indicator_rows_by_catalogue_name_and_shares_in_percent(capsys):
    frame = pd.DataFrame({"name": ["block_coverage"], "value": [0.717391],
                          "ci_low": [0.574514], "ci_high": [0.826758], "n": [46.0],
                          "grp": [None], "suppressed": [False], "unit": [None]})
    display.show_indicators(frame, "es")  # outside Jupyter: printed
    out = capsys.readouterr().out
    names, shares = display.indicator_names("es")
    assert names["block_coverage"] in out and "block_coverage" not in out
    assert "72 %" in out and "57 % a 83 %" in out and "46" in out


def test_every_step_column_name_resolves_in_both_languages():
    for code in STEP_COLUMNS:
        for lang in ("es", "en"):
            name = column_name(code, lang)
            assert name and name != code.replace("_", " "), (code, lang)
    assert column_name("label_es") == "label es"  # language columns are named by their base


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_step_notebooks_show_tables_through_the_helper(path):
    """No cell hands a raw frame to Jupyter: no ``display(frame)``, no bare expression of a
    table; figures are still displayed as they are."""
    cells = [("".join(c["source"])) for c in json.loads(path.read_text(encoding="utf-8"))[
        "cells"] if c["cell_type"] == "code"]
    for src in cells:
        for call in re.findall(r"\bdisplay\(([^)\n]*)", src):
            assert call.strip() in ("fig", "fig)"), (path.name, call)
        last = [ln for ln in src.splitlines() if ln.strip() and not ln.startswith(" ")][-1:]
        for ln in last:
            if ln.startswith(("show(", "show_indicators(", "show_figure(", "say(", "print(",
                              "plt.", "del ")) or "=" in ln:
                continue
            assert not re.search(r"\.(head|round|describe)\(|\]\]$|^[\w.]+$", ln), (path.name, ln)


def test_the_published_annex_pages_have_no_raw_column_names(published_ws):
    """An annex page (the executed notebooks in the site) shows formatted tables."""
    ws, ids = published_ws
    pages = sorted((ws.site_dir / "annex").rglob("*.html"))
    assert pages
    found = {}
    for p in pages:
        html = re.sub(r"<img[^>]*>|<script.*?</script>|<style.*?</style>", "",
                      p.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        hits = sorted(set(RAW.findall(text)))
        if hits:
            found[p.relative_to(ws.site_dir).as_posix()] = hits
    assert not found, found


# -- every output in both languages: the notebook's shown, the other hidden for the site --
def test_show_carries_both_languages_the_notebooks_shown_the_other_hidden():
    bundle = display.table_versions(_shares(), "en", percent=["estimate"])._repr_mimebundle_()
    html = bundle["text/html"]
    es, en = html.split('lang="en"')
    assert '<div class="territoria-lang" lang="es" hidden="hidden">' in es
    assert "Estimación" in es and "suprimido" in es and "Estimate" not in es
    assert en.startswith(">") and "Estimate" in en and "suppressed" in en  # English shown
    assert bundle["text/plain"].splitlines()[0].startswith("Axis")  # plain text: en only
    assert "Eje" not in bundle["text/plain"]


def test_both_languages_are_the_tables_of_each_language_read_once():
    df = _shares().assign(ok=[True, False, None])
    both = display.tables(df, ("es", "en"), percent=["estimate"], max_rows=2)
    for lang in ("es", "en"):
        one = table(df, lang, percent=["estimate"], max_rows=2)
        assert (both[lang].headers, both[lang].rows, both[lang].html) == (
            one.headers, one.rows, one.html)
    assert both["en"].frame.loc[0, "ok"] == "Yes" and both["es"].frame.loc[0, "ok"] == "Sí"


def test_frames_per_language_and_coded_values_labelled_in_each_language():
    per = {lg: pd.DataFrame({"label": [f"label-{lg}"], "value": [0.5]}) for lg in ("es", "en")}
    html = display.table_versions(per, "es")._repr_mimebundle_()["text/html"]
    assert html.index("label-es") < html.index('lang="en"') < html.index("label-en")
    df = pd.DataFrame({"level": ["territory", "city"], "D": [0.1, 0.2]})
    names = {"territory": {"es": "Esta colonia", "en": "This neighbourhood"}}
    t = display.tables(df, ("es", "en"), labels={"level": names})
    assert [r[0] for r in t["es"].rows] == ["Esta colonia", "city"]  # unknown code stays
    assert [r[0] for r in t["en"].rows] == ["This neighbourhood", "city"]


def test_say_formats_each_language_and_prints_the_notebooks_outside_jupyter(capsys):
    out = display.message("{where}: {n:,} hogares", "{where}: {n:,} households", "en",
                          where={"es": "Zona 1", "en": "Zone 1"}, n=1093)
    html = out._repr_mimebundle_()["text/html"]
    assert ">Zona 1: 1,093 hogares</div>" in html and ">Zone 1: 1,093 households</div>" in html
    assert 'lang="es" hidden="hidden"' in html and 'lang="en">' in html
    weights = {"top": 0.5}  # a mapping whose keys are not languages is one value
    assert str(display.message("{w[top]}", "{w[top]}", "es", w=weights)) == "0.5"
    bullets = display.message(["uno", "<dos>"], ["one", "<two>"], "es")
    assert "<li>&lt;dos&gt;</li>" in bullets._repr_mimebundle_()["text/html"]
    assert str(bullets) == "• uno\n• <dos>"
    assert display.message([], [], "es") is None
    display.say("Hola", "Hello", "es")
    display.say([], [], "es")
    assert capsys.readouterr().out == "Hola\n"


def test_figures_in_each_language_site_charts_and_matplotlib():
    from matplotlib.figure import Figure

    from territoria.charts import Chart, bar_ci

    def chart(values, lang="es"):
        title = {"es": "Agua", "en": "Water"}[lang]
        return Chart(bar_ci([title], values, [0.4], [0.6], title=title, alt=title,
                            standalone=True), f"{title}: 50 %"), f"{title}: 50 %"

    html = display.figure_versions(chart, [0.5], lang="es")._repr_mimebundle_()["text/html"]
    assert html.count("<img") == 2 and "<p>Agua: 50 %</p>" in html
    assert html.index("Agua: 50 %") < html.index('lang="en" hidden="hidden"') < html.index(
        "Water: 50 %")

    def mpl(lang="es"):
        fig = Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, 1], [0, 1])
        return fig, {"es": "Una línea", "en": "A line"}[lang]

    out = display.figure_versions(mpl, lang="en")
    html = out._repr_mimebundle_()["text/html"]
    assert html.count('src="data:image/png;base64,') == 2 and 'alt="A line"' in html
    assert str(out) == "A line"


def test_step_notebooks_print_nothing_in_one_language_only():
    """Every message a step notebook writes goes through ``say``/``show``/``show_figure`` (both
    languages); ``print`` is left for paths, and no table is cut to one language's columns."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(
            path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code")
        prints = re.findall(r"^\s*print\((.*)", code, re.M)
        assert all(p.startswith(("ctx.ws.shown(result.save(", "saved")) for p in prints), (
            path.name, prints)
        assert not re.search(r"_\{language\}|\+ language\b|display\(fig\)", code), path.name


def test_floating_point_noise_around_zero_is_shown_as_zero():
    f = pd.DataFrame({"estimate": [0.07, -0.0009], "ci_low": [-1.4e-17, -0.0031],
                      "ci_high": [0.15, 0.0012]})
    t = table(f, "es").frame
    assert t.loc[0, "IC 95 %"] == "0 a 0.15"  # not "-1.4e-17 a 0.15"
    assert t.loc[1, "IC 95 %"] == "-0.003 a 0.001"  # a small value is not noise
