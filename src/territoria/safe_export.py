"""Spreadsheet-safe exports: no cell of a CSV/XLSX the kit writes can run as a formula.

A spreadsheet treats a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (CSV/formula injection: a proposal titled ``=cmd|' /C calc'!A0`` would
run when an officer opens the export). As OWASP recommends, such text cells are written
with a leading apostrophe (``'=cmd...``), which spreadsheets show as text. Numbers stay
numbers: a text that is a plain number (``-3``, ``+52``, ``-0.25``) is left alone.

Every CSV/XLSX writer of the kit goes through :func:`neutralise_frame` (or
:func:`write_csv`, which calls it). Standard library and pandas only: any layer may use it.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection

Examples
--------
>>> neutralise("=cmd|' /C calc'!A0")
"'=cmd|' /C calc'!A0"
>>> neutralise("-3.5"), neutralise("Calle 5"), neutralise(7)
('-3.5', 'Calle 5', 7)
>>> import pandas as pd
>>> neutralise_frame(pd.DataFrame({"t": ["@SUM(A1)", "ok"], "n": [-1, 2]}))["t"].tolist()
["'@SUM(A1)", 'ok']
"""

from __future__ import annotations

import re

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def is_formula(value) -> bool:
    """Whether a cell would be read as a formula (a text starting with a formula character
    that is not a plain number)."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and \
        not _NUMBER.match(value.strip())


def neutralise(value):
    """The value with a leading apostrophe when it would be read as a formula."""
    return "'" + value if is_formula(value) else value


def restore(value):
    """Undo :func:`neutralise` (for files the kit wrote and reads back).

    >>> restore(neutralise("=1+1")), restore("'hola")
    ('=1+1', "'hola")
    """
    if isinstance(value, str) and value.startswith("'") and is_formula(value[1:]):
        return value[1:]
    return value


def _cell(value):
    if isinstance(value, str) and "\r" in value:
        # a bare CR is not quoted by CSV writers ending lines with LF: a reader would start
        # a new row there (whose first cell could be a formula); line breaks become LF
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return neutralise(value)


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot run as formulas (carriage
    returns inside cells become line feeds, which CSV writers quote)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out[c] = col.map(_cell)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def formula_cells(df: pd.DataFrame) -> int:
    """How many cells of ``df`` would be read as formulas (0 for a safe export)."""
    return int(sum(df[c].map(is_formula).sum() for c in df.columns))


def write_csv(df: pd.DataFrame, path, **kwargs) -> None:
    """``df.to_csv(path, index=False, **kwargs)`` after :func:`neutralise_frame`."""
    kwargs.setdefault("index", False)
    neutralise_frame(df).to_csv(path, **kwargs)
