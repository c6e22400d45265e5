"""Upsert with history: apply a corrected or cumulative file without duplicating anything.

Every kind of input has a *natural key* (Kobo ``_uuid``, ODK ``KEY``, a crime record's id,
``(unit, source vintage)`` for an index, ``territory_id`` for a catalogue). :func:`upsert`
compares the rows of one file (already validated, in a table or view ``incoming`` whose
columns are a subset of the target's) with the stored rows of the same key:

========== ============================================================================
new        no stored row has the key: inserted
unchanged  a stored row has the key and the same values in every compared column:
           nothing is written (the stored row keeps the file that first brought it)
updated    a stored row has the key and different values: the stored row is copied to
           ``<table>__history`` (with ``_replaced_by`` = the new file's SHA-256 and
           ``_replaced_at``), deleted, and the new row inserted
older      (only with ``newer=``) the stored row is more recent than the incoming one:
           nothing is written; the caller quarantines or reports these rows
removed    (only with ``scope=``) a stored row *inside the scope* whose key is not among
           the incoming rows: moved to history and deleted. Use it when a file is the whole
           truth about a part of the table (the repeat rows of the submissions it carries;
           the cells of an aggregated file; a whole source with ``--replace``).
========== ============================================================================

Only the columns of ``incoming`` are compared (minus ``ignore``: file hashes, load times), so
a file that carries fewer columns than the table updates only those; with
``partial=True`` an updated row keeps the stored values of the columns the file does not
carry (a catalogue that updates only the columns it has); otherwise the whole row is replaced.

Everything runs as SQL inside the caller's :meth:`territoria.store.Store.transaction`.
Typical keys: ``["_uuid"]`` for a survey; ``["territory_id", "month", "category",
"source"]`` for aggregated counts (a re-sent cell replaces the stored one, never adds to it);
``["unit_id", "source"]`` for an index by vintage; ``["territory_id"]`` with
``partial=True`` for a catalogue. Rows given as a DataFrame: :func:`upsert_frame`.

Examples
--------
>>> import pandas as pd
>>> from territoria.store import Store
>>> s = Store(":memory:")
>>> with s.transaction():
...     _ = s.append("t", pd.DataFrame({"k": ["a", "b"], "v": [1, 2], "_file_sha256": "f1"}))
...     _ = s.con.register("inc", pd.DataFrame({"k": ["a", "b", "c"], "v": [1, 5, 3],
...                                          "_file_sha256": "f2"}))
...     upsert(s, "t", "inc", key=["k"], file_sha256="f2", ignore=["_file_sha256"])
UpsertCounts(new=1, updated=1, unchanged=1, older=0, removed=0)
>>> s.query("SELECT k, v FROM t ORDER BY k").values.tolist()
[['a', 1], ['b', 5], ['c', 3]]
>>> s.query("SELECT k, v, _replaced_by FROM t__history").values.tolist()
[['b', 2, 'f2']]
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from territoria.exceptions import IngestError
from territoria.store import Store
from territoria.store import quote_ident as q

HISTORY_SUFFIX = "__history"
_n = itertools.count()


@dataclass
class UpsertCounts:
    """Rows of one upsert, by outcome (``new + updated + unchanged + older`` = incoming)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    removed: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.new, self.updated, self.unchanged, self.older, self.removed)


def _describe(store: Store, rel: str) -> dict[str, str]:
    return {r[0]: r[1] for r in store.con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}


def ensure_history(store: Store, table: str) -> str:
    """Create (or widen) ``<table>__history``: the table's columns + ``_replaced_by``,
    ``_replaced_at``. Returns its name."""
    hist = table + HISTORY_SUFFIX
    cols = _describe(store, q(table))
    cols.update({"_replaced_by": "VARCHAR", "_replaced_at": "TIMESTAMP"})
    store.ensure_table(hist, cols)
    return hist


def upsert(store: Store, table: str, incoming: str, *, key: Sequence[str], file_sha256: str,
           ignore: Sequence[str] = (), newer: str | None = None, scope: str | None = None,
           partial: bool = False) -> UpsertCounts:
    """Apply the rows of ``incoming`` to ``table`` by natural key, keeping replaced versions.

    Parameters
    ----------
    store : Store
        Inside a transaction.
    table : str
        Target table (must exist; create it first with :meth:`Store.ensure_table`).
    incoming : str
        Name of a table or view (SQL identifier, already quoted if needed) holding the new
        rows; its columns must all exist in ``table``. Keys must be unique and not NULL.
    key : list of str
        Natural-key columns.
    file_sha256 : str
        The file bringing the rows (recorded as ``_replaced_by`` in the history).
    ignore : list of str
        Columns not compared (e.g. ``_file_sha256``); still written on insert.
    newer : str, optional
        A column ordering versions (``_submission_time``): an incoming row older than the
        stored one is counted ``older`` and not applied. NULLs never count as older.
    scope : str, optional
        SQL condition on the stored rows (alias ``t``) that this file fully describes:
        stored rows inside it whose key is not incoming are moved to history (``removed``).
        ``"true"`` replaces the whole table (``--replace``).
    partial : bool
        Keep the stored values of the columns ``incoming`` does not carry on update.

    Returns
    -------
    UpsertCounts

    Raises
    ------
    IngestError
        Duplicate or missing keys in ``incoming`` (the caller must quarantine those first).
    """
    store._require_tx()
    con = store.con
    inc_cols = list(_describe(store, incoming))
    have = set(store.columns(table))
    extra = [c for c in inc_cols if c not in have]
    if extra:
        raise IngestError(f"table '{table}' has no column(s) {', '.join(extra)}", rule="schema")
    missing_key = [k for k in key if k not in inc_cols]
    if missing_key:
        raise IngestError(f"natural key column(s) {', '.join(missing_key)} missing",
                          rule="missing_columns", column=missing_key[0])
    keyc = ", ".join(f"i.{q(k)}" for k in key)
    dup = con.execute(
        f"SELECT count(*) FROM (SELECT {keyc} FROM {incoming} i GROUP BY ALL "
        f"HAVING count(*) > 1 OR bool_or({' OR '.join(f'i.{q(k)} IS NULL' for k in key)}))"
    ).fetchall()[0][0]
    if dup:
        raise IngestError(f"{dup} duplicate or empty natural key(s) ({', '.join(key)})",
                          rule="duplicate_key", column=key[0])
    tag = f"{os.getpid()}_{next(_n)}"
    cls = f"_upsert_cls_{tag}"
    on = " AND ".join(f"t.{q(k)} = i.{q(k)}" for k in key)
    cmp_cols = [c for c in inc_cols if c not in key and c not in ignore]
    same = " AND ".join(f"t.{q(c)} IS NOT DISTINCT FROM i.{q(c)}" for c in cmp_cols) or "true"
    older = (f"t.{q(newer)} IS NOT NULL AND i.{q(newer)} IS NOT NULL AND "
             f"t.{q(newer)} > i.{q(newer)}") if newer else "false"
    con.execute(
        f"CREATE TEMP TABLE {cls} AS SELECT {keyc}, CASE WHEN t.rowid IS NULL THEN 'new' "
        f"WHEN {same} THEN 'unchanged' WHEN {older} THEN 'older' ELSE 'updated' END AS _what, "
        f"t.rowid AS _trow FROM {incoming} i LEFT JOIN {q(table)} t ON {on}").fetchall()
    try:
        counts = dict(con.execute(f"SELECT _what, count(*) FROM {cls} GROUP BY 1").fetchall())
        out = UpsertCounts(new=counts.get("new", 0), updated=counts.get("updated", 0),
                           unchanged=counts.get("unchanged", 0), older=counts.get("older", 0))
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        gone = f"SELECT _trow FROM {cls} WHERE _what = 'updated'"
        if scope is not None:
            outside = (f"FROM {q(table)} t WHERE ({scope}) AND NOT EXISTS "
                       f"(SELECT 1 FROM {incoming} i WHERE {on})")
            out.removed = con.execute(f"SELECT count(*) {outside}").fetchall()[0][0]
            gone += f" UNION ALL SELECT t.rowid {outside}"
        if out.updated or out.removed:
            hist = ensure_history(store, table)
            tcols = store.columns(table)
            cl = ", ".join(q(c) for c in tcols)
            con.execute(
                f"INSERT INTO {q(hist)} ({cl}, _replaced_by, _replaced_at) SELECT {cl}, ?, ? "
                f"FROM {q(table)} WHERE rowid IN ({gone})", [file_sha256, now]).fetchall()
            if partial:
                keepc = [c for c in tcols if c not in inc_cols]
                if keepc:
                    con.execute(
                        f"CREATE TEMP TABLE {cls}_keep AS SELECT {', '.join(q(k) for k in key)}, "
                        f"{', '.join(q(c) for c in keepc)} FROM {q(table)} WHERE rowid IN "
                        f"(SELECT _trow FROM {cls} WHERE _what = 'updated')").fetchall()
            con.execute(f"DELETE FROM {q(table)} WHERE rowid IN ({gone})").fetchall()
        ins = ", ".join(q(c) for c in inc_cols)
        sel = ", ".join(f"i.{q(c)}" for c in inc_cols)
        con.execute(
            f"INSERT INTO {q(table)} ({ins}) SELECT {sel} FROM {incoming} i JOIN {cls} c ON "
            + " AND ".join(f"c.{q(k)} = i.{q(k)}" for k in key)
            + " WHERE c._what IN ('new', 'updated')").fetchall()
        if partial and out.updated and con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                [f"{cls}_keep"]).fetchall()[0][0]:
            keepc = [c for c in store.columns(table) if c not in inc_cols]
            sets = ", ".join(f"{q(c)} = k.{q(c)}" for c in keepc)
            con.execute(
                f"UPDATE {q(table)} AS t SET {sets} FROM {cls}_keep k WHERE "
                + " AND ".join(f"t.{q(k)} = k.{q(k)}" for k in key)).fetchall()
            con.execute(f"DROP TABLE {cls}_keep").fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {cls}").fetchall()
    return out


def upsert_frame(store: Store, table: str, df: pd.DataFrame, **kwargs) -> UpsertCounts:
    """:func:`upsert` for rows held in a DataFrame (columns named as the table's; the table
    is created from the frame if missing). Keyword arguments are :func:`upsert`'s.

    Examples
    --------
    A catalogue that carries only some columns updates only those (``partial=True``):

    >>> from territoria.store import Store
    >>> s = Store(":memory:")
    >>> with s.transaction():
    ...     _ = s.append("zones", pd.DataFrame({"zone_id": ["DT01"], "name": ["Aculco"],
    ...                                         "illustrative": [True]}))
    ...     upsert_frame(s, "zones", pd.DataFrame({"zone_id": ["DT01"], "name": ["ACULCO"]}),
    ...                  key=["zone_id"], file_sha256="f", partial=True)
    UpsertCounts(new=0, updated=1, unchanged=0, older=0, removed=0)
    >>> s.query("SELECT name, illustrative FROM zones").values.tolist()
    [['ACULCO', True]]
    """
    view = f"_upsert_df_{os.getpid()}_{next(_n)}"
    store.con.register(view, df)
    try:
        if not store.has_table(table):
            store.con.execute(f"CREATE TABLE {q(table)} AS SELECT * FROM {view} LIMIT 0")
        return upsert(store, table, view, **kwargs)
    finally:
        store.con.unregister(view)


def replace_all(store: Store, table: str, incoming: str, *, key: Sequence[str],
                file_sha256: str, ignore: Sequence[str] = ()) -> UpsertCounts:
    """``--replace``: the file becomes the whole table; every stored row not in it goes to
    history (same as :func:`upsert` with ``scope="true"``)."""
    return upsert(store, table, incoming, key=key, file_sha256=file_sha256, ignore=ignore,
                  scope="true")
