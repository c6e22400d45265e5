"""Up-to-date checks: a notebook is skipped when nothing it depends on has changed.

The fingerprint of one run of one step notebook is the SHA-256 of

- the notebook file's bytes,
- its parameters (JSON with sorted keys), except :data:`LOCATION_PARAMETERS`: where the
  workspace lies on disk does not change a result, so a workspace copied or moved to another
  folder reruns nothing,
- the input data state (:class:`DataState`): ``city.yml`` and a digest of the store's data
  tables. City steps depend on every table whole. A territory step depends only on the
  tables its registry inputs name (:data:`TERRITORY_STEP_INPUTS`, with their repeat and
  free-text tables): on its own territory's rows (found through a
  ``territory``/``territory_id`` column, or through the parent submission of a repeat or
  free-text table), on rows of no territory, on tables with no territory at all, and on what
  it reads city-wide (:data:`CITY_WIDE_READS`, derived from the
  inputs the step registry declares ``city_wide``); so changing one territory's data reruns
  only that territory's notebooks (and the city steps, and the steps whose city-wide
  comparisons read that table),
- the results it depends on: indicators and result tables of the earlier steps (for a
  territory step, those of the same territory and of city steps; for a city step, all),
- the kit version.

Table digests are order-independent (count, sum and xor of DuckDB row hashes), so the same
rows give the same digest whatever order they were loaded in, and the digest of a union of
disjoint row sets is computed from the digests of the parts: one grouped query per table gives
every territory's digest at once (:class:`DataState`, :class:`ResultsIndex`), which keeps a
rerun with nothing changed fast for hundreds of territories. ``computed_at`` and ``run_id`` of
indicators are left out: they change every run without changing the content. Tables other
commands derive from the results (:data:`OUTPUT_PREFIXES`: ``territoria evaluate``) are not
input data: evaluating a run does not make its notebooks out of date.

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
...     b"{}", {"territory": "T1", "workspace": "/elsewhere"}, "d", "r", "0.1")
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from territoria.steps.registry import STEPS, Step
from territoria.store import Store, quote_ident

#: Tables whose content is the input data state of every notebook.
INPUT_TABLES = ("zones", "territories", "blocks", "census_margins", "crime_counts",
                "social_index", "ingest_log", "quarantine")

#: Parameters that say where the workspace is, not what the notebook computes.
LOCATION_PARAMETERS = ("workspace",)

#: The kit's bookkeeping tables: not input data (results enter through :class:`ResultsIndex`).
BOOKKEEPING_TABLES = ("runs", "indicators", "results", "meta")

#: Tables other commands derive from the notebooks' results (``territoria evaluate`` writes
#: ``evaluation_*``): outputs, read by no step notebook, so writing them reruns nothing.
OUTPUT_PREFIXES = ("evaluation_",)

#: Tables that only record how data arrived; no territory step reads them.
LOG_TABLES = ("ingest_log", "quarantine")

#: Columns naming a row's territory, in order of preference.
TERRITORY_COLUMNS = ("territory_id", "territory")



def city_wide_reads(steps: Iterable[Step] = STEPS) -> dict[str, dict[str, list[str] | None]]:
    """What each territory step reads beyond its own territory's rows: ``{step: {table:
    columns}}`` (``None``: every column), from the inputs the step registry declares
    ``city_wide`` (:class:`territoria.steps.registry.Input`).

    A table declared twice counts once, with the union of its columns (every column if one
    declaration says so). City steps are left out: they depend on every table whole, as does
    a step that is not registered (safe: more reruns, never a stale result).

    >>> city_wide_reads()["05_process"]
    {'followup': ['agreement_code', 'status']}
    >>> city_wide_reads()["03_agenda"]
    {}
    >>> "06_impact" in city_wide_reads()
    False
    """
    out: dict[str, dict[str, list[str] | None]] = {}
    for step in steps:
        if step.is_city:
            continue
        reads: dict[str, list[str] | None] = {}
        for inp in step.inputs:
            if inp.city_wide is False:
                continue
            had = reads.get(inp.table, [])
            if inp.city_wide is True or had is None:
                reads[inp.table] = None
            else:
                reads[inp.table] = list(dict.fromkeys([*had, *inp.city_wide]))
        out[step.id] = reads
    return out


#: :func:`city_wide_reads` of the registered steps.
CITY_WIDE_READS: dict[str, dict[str, list[str] | None]] = city_wide_reads()


def territory_step_inputs(steps: Iterable[Step] = STEPS) -> dict[str, frozenset[str]]:
    """The store tables each territory step reads, as the step registry declares them.

    A table's repeat and free-text tables (``table__group``) count with it.

    >>> sorted(territory_step_inputs()["05_process"])
    ['assembly', 'assembly__agreements', 'followup', 'process', 'social_index', 'territories',
     'zones']
    """
    return {s.id: frozenset(i.table for i in s.inputs) for s in steps if not s.is_city}


#: :func:`territory_step_inputs` of the registered steps.
TERRITORY_STEP_INPUTS: dict[str, frozenset[str]] = territory_step_inputs()

_RESULT_COLS = {
    "indicators": ["territory_id", "step", "name", "grp", "value", "ci_low", "ci_high", "n",
                   "suppressed", "unit"],
    "results": ["territory_id", "step", "key", "payload", "meta"],
}


def table_digest(store: Store, table: str, columns: list[str] | None = None,
                 where: str | None = None, params: list[Any] | None = None) -> str:
    """Order-independent digest ``count|sum|xor`` of a table's row hashes
    (:meth:`territoria.store.Store.digest`).

    A missing table digests like an empty one (``"0|0|0"``): tables such as ``results`` appear
    on first use, and their appearance alone must not make notebooks out of date.
    """
    return store.digest(table, columns, where, params)


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


def fingerprint(notebook: bytes, parameters: dict[str, Any], data_digest: str, results: str,
                kit_version: str) -> str:
    """SHA-256 of everything a notebook's output depends on (see the module notes).

    :data:`LOCATION_PARAMETERS` (the workspace's folder) are left out.
    """
    h = hashlib.sha256()
    params = {k: v for k, v in parameters.items() if k not in LOCATION_PARAMETERS}
    for part in (hashlib.sha256(notebook).hexdigest(),
                 json.dumps(params, sort_keys=True, default=str), data_digest, results,
                 kit_version):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# Many digests at once: one grouped query per table
# ------------------------------------------------------------------------------------------
_Parts = tuple[int, int, int]  # count, sum, xor of row hashes
_EMPTY: _Parts = (0, 0, 0)
#: Parts by key: a territory id (None: rows of no territory), or ``(step, territory)``.
_Groups = dict[Any, _Parts]


def _combine(parts: Iterable[_Parts]) -> _Parts:
    n = s = x = 0
    for pn, ps, px in parts:
        n, s, x = n + pn, s + ps, x ^ px
    return n, s, x


def _fmt(p: _Parts) -> str:
    return f"{p[0]}|{p[1]}|{p[2]}"


def _grouped(store: Store, sql: str, params: list[Any] | None = None) -> _Groups:
    """``{key: (count, sum, xor)}`` from a query returning ``key, count, sum, xor`` rows."""
    out: _Groups = {}
    for *key, n, s, x in store.con.execute(sql, params or []).fetchall():
        out[key[0] if len(key) == 1 else tuple(key)] = (int(n), int(s), int(x))
    return out


_AGG = "count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0)"


def _schema(store: Store) -> dict[str, list[str]]:
    """``{table: columns}`` of the store's main schema, in one query."""
    out: dict[str, list[str]] = {}
    for t, c in store.con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall():
        out.setdefault(t, []).append(c)
    return out


def _whole(store: Store, table: str, cols: list[str]) -> str:
    """:func:`table_digest` of ``cols`` of ``table`` (same value), the columns being known."""
    sel = ", ".join(quote_ident(c) for c in cols) or "1"
    n, s, x = store.row(f"SELECT {_AGG} FROM (SELECT {sel} FROM {quote_ident(table)}) t")
    return f"{n}|{s}|{x}"


class DataState:
    """Digests of the input data for every (step, territory) of one run.

    Built once per run from a read-only look at the store (a few grouped queries), then
    :meth:`digest` is a dictionary look-up.

    Parameters
    ----------
    store : Store
    city_yml : bytes
        The workspace's ``city.yml`` (any change reruns everything).

    Examples
    --------
    >>> import pandas as pd
    >>> s = Store(":memory:")
    >>> with s.transaction():
    ...     _ = s.append("proposals", pd.DataFrame({"territory": ["T1", "T2"],
    ...                                              "proposal_code": ["P1", "P2"]}))
    >>> before = DataState(s)
    >>> with s.transaction():
    ...     _ = s.append("proposals", pd.DataFrame({"territory": ["T2"],
    ...                                              "proposal_code": ["P3"]}))
    >>> after = DataState(s)
    >>> before.digest("03_agenda", "T1") == after.digest("03_agenda", "T1")
    True
    >>> before.digest("03_agenda", "T2") == after.digest("03_agenda", "T2")
    False
    >>> before.digest("05_process", "T2") == after.digest("05_process", "T2")  # not its input
    True
    >>> before.digest("07_synthesis", None) == after.digest("07_synthesis", None)
    False
    """

    def __init__(self, store: Store, city_yml: bytes = b"") -> None:
        self.city = hashlib.sha256(city_yml).hexdigest()
        self.schema = schema = _schema(store)
        names = sorted(t for t in schema if t not in BOOKKEEPING_TABLES
                       and not t.startswith(OUTPUT_PREFIXES))
        self.whole: dict[str, str] = {t: _whole(store, t, schema[t]) for t in names}
        self.keyed: dict[str, _Groups] = {}  # table -> {territory or None: parts}
        for t in names:
            if t in LOG_TABLES:
                continue
            groups = self._by_territory(store, t, names)
            if groups is not None:
                self.keyed[t] = groups
        self.columns: dict[tuple[str, tuple[str, ...]], str] = {}
        for reads in CITY_WIDE_READS.values():
            for t, cols in reads.items():
                if cols is not None and t in self.whole:
                    self.columns[(t, tuple(cols))] = _whole(
                        store, t, [c for c in cols if c in schema[t]])
        self._cache: dict[tuple[str, str | None], str] = {}

    def _territory_column(self, table: str) -> str | None:
        have = self.schema.get(table, [])
        return next((c for c in TERRITORY_COLUMNS if c in have), None)

    def _by_territory(self, store: Store, table: str, names: list[str]) -> _Groups | None:
        """Row digests grouped by territory, or None if rows have no territory."""
        q = quote_ident(table)
        col = self._territory_column(table)
        if col is not None:
            return _grouped(store, f"SELECT t.{quote_ident(col)}, {_AGG} FROM "
                                   f"(SELECT * FROM {q}) t GROUP BY 1")
        parent = table.split("__", 1)[0] if "__" in table else None
        if parent is None or parent not in names:
            return None
        pcol = self._territory_column(parent)
        have = self.schema[table]
        key = "_parent_uuid" if "_parent_uuid" in have else "_uuid"
        if pcol is None or key not in have or "_uuid" not in self.schema[parent]:
            return None
        return _grouped(
            store,
            f"SELECT p.tid, {_AGG} FROM (SELECT * FROM {q}) t LEFT JOIN "
            f"(SELECT _uuid, min({quote_ident(pcol)}) AS tid FROM {quote_ident(parent)} "
            f"GROUP BY 1) p ON t.{quote_ident(key)} = p._uuid GROUP BY 1")

    def digest(self, step: str, territory_id: str | None) -> str:
        """The data digest of one notebook: step ``step`` for ``territory_id``.

        City steps (``territory_id`` None) and steps the registry does not know depend on
        every table whole; a territory step on the tables it declares (see the module notes).
        """
        key = (step, territory_id)
        if key in self._cache:
            return self._cache[key]
        h = hashlib.sha256(self.city.encode())
        reads = CITY_WIDE_READS.get(step)
        inputs = TERRITORY_STEP_INPUTS.get(step)
        if territory_id is None or reads is None or inputs is None:
            for t, d in self.whole.items():
                h.update(f"\n{t}:{d}".encode())
        else:
            h.update(f"\nterritory:{territory_id}".encode())
            for t, d in self.whole.items():
                if t in LOG_TABLES or not (t in inputs or t.split("__", 1)[0] in inputs):
                    continue
                city_cols = reads.get(t, [])
                if t not in self.keyed or city_cols is None:
                    h.update(f"\n{t}:{d}".encode())
                    continue
                g = self.keyed[t]
                h.update(f"\n{t}:{_fmt(g.get(territory_id, _EMPTY))}"
                         f"|{_fmt(g.get(None, _EMPTY))}".encode())
                if t in reads:
                    h.update(f"|{self.columns[(t, tuple(city_cols))]}".encode())
        self._cache[key] = out = h.hexdigest()
        return out


class ResultsIndex:
    """Per (step, territory) digests of ``indicators`` and ``results``, read in one go.

    :meth:`digest` returns exactly what :func:`results_digest` returns for the same
    arguments, without a query per notebook.

    Examples
    --------
    >>> import pandas as pd
    >>> s = Store(":memory:")
    >>> with s.transaction():
    ...     _ = s.record_indicators(pd.DataFrame({"name": ["pop"], "value": [1.0]}),
    ...                             step="01_network", territory_id="T1")
    >>> idx = ResultsIndex(s, ["01_network"])
    >>> idx.digest(["01_network"], "T1") == results_digest(s, ["01_network"], "T1")
    True
    """

    def __init__(self, store: Store, steps: list[str],
                 schema: dict[str, list[str]] | None = None):
        schema = _schema(store) if schema is None else schema
        self.parts: dict[str, _Groups] = {}
        for table, cols in _RESULT_COLS.items():
            if table not in schema or not steps:
                self.parts[table] = {}
                continue
            have = schema[table]
            sel = ", ".join(quote_ident(c) for c in cols if c in have)
            marks = ", ".join("?" for _ in steps)
            self.parts[table] = _grouped(
                store, f"SELECT t.step, t.territory_id, {_AGG} FROM (SELECT {sel} FROM "
                       f"{quote_ident(table)} WHERE step IN ({marks})) t GROUP BY 1, 2",
                list(steps))

    def digest(self, steps: list[str], territory_id: str | None = None, *,
               all_territories: bool = False) -> str:
        """Same value as :func:`results_digest` with the same arguments."""
        h = hashlib.sha256()
        if not steps:
            return h.hexdigest()
        wanted = set(steps)
        for table in _RESULT_COLS:
            parts = [p for (st, tid), p in self.parts[table].items()
                     if st in wanted and (all_territories or tid is None
                                          or (territory_id is not None and tid == territory_id))]
            h.update(f"\n{table}:{_fmt(_combine(parts))}".encode())
        return h.hexdigest()
