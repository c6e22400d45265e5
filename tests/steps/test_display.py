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
            if ln.startswith(("show(", "show_indicators(", "print(", "plt.", "del ")) or "=" in ln:
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
