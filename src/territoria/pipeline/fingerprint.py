"""Up-to-date checks: a notebook is skipped when nothing it depends on has changed.

The fingerprint of one run of one step notebook is the SHA-256 of

- the notebook file's bytes,
- its parameters (JSON with sorted keys),
- the input data state: ``city.yml`` and a digest of the catalogue tables and the ingest log
  (:data:`INPUT_TABLES`; survey tables enter through the ingest log, which records every
  file's hash),
- the results it depends on: indicators and result tables of the earlier steps (for a
  territory step, those of the same territory and of city steps; for a city step, all),
- the kit version.

Table digests are order-independent (count, sum and xor of DuckDB row hashes), so the same
rows give the same digest whatever order they were loaded in. ``computed_at`` and ``run_id``
of indicators are left out: they change every run without changing the content.

Examples
--------
>>> from territoria.store import Store
>>> s = Store(":memory:")
>>> a = table_digest(s, "zones")
>>> import pandas as pd
>>> with s.transaction():
...     _ = s.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["Aculco"]}))
>>> table_digest(s, "zones") != a
True
>>> fingerprint(b"{}", {"territory": "T1"}, "d", "r", "0.1") == fingerprint(
...     b"{}", {"territory": "T1"}, "d", "r", "0.1")
True
"""

from __future__ import annotations

import hashlib
import json

from territoria.store import Store, quote_ident

#: Tables whose content is the input data state of every notebook.
INPUT_TABLES = ("zones", "territories", "blocks", "census_margins", "crime_counts",
                "social_index", "ingest_log", "quarantine")

_RESULT_COLS = {
    "indicators": ["territory_id", "step", "name", "grp", "value", "ci_low", "ci_high", "n",
                   "suppressed", "unit"],
    "results": ["territory_id", "step", "key", "payload", "meta"],
}


def table_digest(store: Store, table: str, columns: list[str] | None = None,
                 where: str | None = None, params: list | None = None) -> str:
    """Order-independent digest ``count|sum|xor`` of a table's row hashes.

    A missing table digests like an empty one (``"0|0|0"``): tables such as ``results`` appear
    on first use, and their appearance alone must not make notebooks out of date.
    """
    if not store.has_table(table):
        return "0|0|0"
    have = store.columns(table)
    cols = [c for c in (columns or have) if c in have]
    sel = ", ".join(quote_ident(c) for c in cols) or "1"
    sql = (f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0) "
           f"FROM (SELECT {sel} FROM {quote_ident(table)}"
           + (f" WHERE {where}" if where else "") + ") t")
    n, s, x = store.con.execute(sql, params or []).fetchone()
    return f"{n}|{s}|{x}"


def data_state_digest(store: Store, city_yml: bytes = b"") -> str:
    """Digest of the input data: ``city.yml`` bytes and :data:`INPUT_TABLES`."""
    h = hashlib.sha256(city_yml)
    for t in INPUT_TABLES:
        h.update(f"\n{t}:{table_digest(store, t)}".encode())
    return h.hexdigest()


def results_digest(store: Store, steps: list[str], territory_id: str | None = None,
                   *, all_territories: bool = False) -> str:
    """Digest of the indicators and result tables of ``steps``.

    With ``all_territories`` every row of those steps counts (city steps); otherwise the rows
    of ``territory_id`` and the city rows (``territory_id IS NULL``).
    """
    h = hashlib.sha256()
    if not steps:
        return h.hexdigest()
    marks = ", ".join("?" for _ in steps)
    for table, cols in _RESULT_COLS.items():
        if all_territories:
            where, params = f"step IN ({marks})", list(steps)
        elif territory_id is None:
            where, params = f"step IN ({marks}) AND territory_id IS NULL", list(steps)
        else:
            where = f"step IN ({marks}) AND (territory_id = ? OR territory_id IS NULL)"
            params = [*steps, territory_id]
        h.update(f"\n{table}:{table_digest(store, table, cols, where, params)}".encode())
    return h.hexdigest()


def fingerprint(notebook: bytes, parameters: dict, data_digest: str, results: str,
                kit_version: str) -> str:
    """SHA-256 of everything a notebook's output depends on (see the module notes)."""
    h = hashlib.sha256()
    for part in (hashlib.sha256(notebook).hexdigest(),
                 json.dumps(parameters, sort_keys=True, default=str), data_digest, results,
                 kit_version):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()
