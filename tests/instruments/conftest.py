"""Fixtures of the instrument tests: tiny XLSForms written on the fly."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

HEAD = ["type", "name", "label::Español (es)", "label::English (en)", "territoria::personal"]


def _make_form(path: Path, rows, *, head=HEAD, choices=None, settings=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(head)
    for r in rows:
        ws.append(r)
    c = wb.create_sheet("choices")
    c.append(["list_name", "name", "label::Español (es)", "label::English (en)"])
    for r in choices or [["yes_no", "yes", "Sí", "Yes"], ["yes_no", "no", "No", "No"]]:
        c.append(r)
    if settings:
        s = wb.create_sheet("settings")
        if settings is True:
            s.append(["form_title", "form_id", "version", "default_language"])
            s.append(["T", "territoria_t", "2026.1", "Español (es)"])
        else:
            for r in settings:
                s.append(r)
    wb.save(path)
    return path



@pytest.fixture
def make_form():
    """``make_form(path, rows, head=HEAD, choices=None, settings=True)`` writes an XLSForm."""
    return _make_form


@pytest.fixture
def form_head():
    """Survey header with both languages, the kit's marks and ``relevant``."""
    return HEAD + ["relevant", "territoria::free_text"]
