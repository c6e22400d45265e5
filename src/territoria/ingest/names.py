"""Normalised place names and territory kinds (IECM ``NOMUT`` suffixes).

Examples
--------
>>> normalize_name("Santa Martha Acatitla Norte")
'SANTA MARTHA ACATITLA NORTE'
>>> normalize_name("JOSÉ MA. MORELOS Y PAVÓN (U HAB)")
'JOSE MA MORELOS Y PAVON'
>>> territory_kind("ACULCO (PBLO)")
'pueblo'
>>> territory_kind("DR ALFONSO ORTIZ TIRADO")
'colonia'
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

#: Suffix of an IECM unit name -> kind of territory.
KIND_SUFFIXES: dict[str, str] = {
    "PBLO": "pueblo",
    "BARR": "barrio",
    "U HAB": "unidad_habitacional",
    "AMPL": "ampliacion",
    "FRACC": "fraccionamiento",
    "PJE": "paraje",
}
_SUFFIX = re.compile(r"\s*\(([^()]*)\)\s*$")


def strip_accents(text: str) -> str:
    """Remove diacritics (``"Pavón"`` -> ``"Pavon"``).

    >>> strip_accents("Iztapalapa de Cuitláhuac")
    'Iztapalapa de Cuitlahuac'
    """
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_name(name, *, strip_suffix: bool = True) -> str:
    """Upper case, no accents, no punctuation, single spaces; the ``(U HAB)``-style suffix
    removed. Missing values give ``""``."""
    if name is None or (isinstance(name, float) and name != name):
        return ""
    text = str(name)
    if strip_suffix:
        text = _SUFFIX.sub("", text)
    text = strip_accents(text).upper()
    text = re.sub(r"[^A-Z0-9 ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def normalize_names(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize_name` over the distinct values of a Series.

    >>> normalize_names(pd.Series(["Aculco (PBLO)", None, "aculco"])).tolist()
    ['ACULCO', '', 'ACULCO']
    """
    uniq = pd.unique(values.astype(object))
    mapping = {u: normalize_name(u) for u in uniq}
    return values.astype(object).map(mapping).fillna("").astype(str)


def territory_kind(name) -> str:
    """Kind of territory from the suffix of its name; no (or an unknown) suffix -> colonia."""
    m = _SUFFIX.search(str(name or ""))
    if not m:
        return "colonia"
    key = re.sub(r"\s+", " ", strip_accents(m.group(1)).upper().replace(".", "")).strip()
    return KIND_SUFFIXES.get(key, "colonia")


def pick_column(cols: dict, names) -> str | None:
    """The file's column for the first of ``names`` present in ``cols`` (lower-case name ->
    column as in the file), else None.

    >>> pick_column({"cveut": "CVEUT", "nomut": "NOMUT"}, ("territory_id", "cveut"))
    'CVEUT'
    """
    return next((cols[n] for n in names if n in cols), None)
