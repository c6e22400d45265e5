"""Exports neutralise spreadsheet formulas (issue 16, OWASP CSV injection)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from territoria.analysis.agenda import AGENDA_COLUMNS, agenda_to_csv
from territoria.safe_export import formula_cells, is_formula, neutralise, neutralise_frame, restore

PAYLOADS = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\")", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_formula_start_is_neutralised_and_restored(payload):
    assert is_formula(payload)
    out = neutralise(payload)
    assert out.startswith("'") and not is_formula(out)
    assert restore(out) == payload


@pytest.mark.parametrize("value", ["-3", "+52", "-0.25", "1e-3", "Calle 5", "", "hola =x"])
def test_numbers_and_plain_text_are_left_alone(value):
    assert neutralise(value) == value


def test_frame_keeps_numbers_and_neutralises_text():
    df = pd.DataFrame({"t": PAYLOADS, "n": range(-3, 4)})
    assert formula_cells(df) == len(PAYLOADS)
    out = neutralise_frame(df)
    assert formula_cells(out) == 0 and out["n"].tolist() == list(range(-3, 4))


def test_agenda_csv_carries_no_formula(tmp_path):
    ag = pd.DataFrame({c: [None] * 3 for c in AGENDA_COLUMNS})
    ag["title"] = ["=cmd|' /C calc'!A0", "Alumbrado en la calle 5", "\r=1+1"]
    p = agenda_to_csv(ag, tmp_path / "a.csv")
    back = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert formula_cells(back) == 0 and len(back) == 3  # a bare CR does not split a row
    assert "'=cmd|' /C calc'!A0" in back["title"].tolist()


def test_ledger_export_neutralises_and_leaves_free_text_out():
    from territoria.ledger.decidim import read_decidim_csv, write_decidim_csv

    df = pd.DataFrame({"id": ["A1"], "title/es": ["=cmd|' /C calc'!A0"],
                       "reason": ["Me dijo Rosa, tel 55 1234 5678"]})
    buf = io.StringIO()
    write_decidim_csv(df, buf, free_text=False)
    text = buf.getvalue()
    assert "reason" not in text and "5678" not in text
    back = pd.read_csv(io.StringIO(text), dtype=str)
    assert formula_cells(back) == 0
    assert read_decidim_csv(io.StringIO(text))["title/es"].tolist() == ["=cmd|' /C calc'!A0"]
