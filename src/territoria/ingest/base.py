"""What every reader of :mod:`territoria.ingest` gets, returns and registers under.

A *reader* turns one input file into rows of the store: it is called with a
:class:`FileContext` (store, workspace, file, quarantine helpers) inside the file's
transaction and returns an :class:`Outcome` (rows read, accepted, quarantined). Readers are
looked up by kind (``kobo``, ``crime``, ``territories``...) in a :class:`ReaderRegistry`,
on the model of papermill's engine registry (``papermill.engines.PapermillEngines``):
:mod:`territoria.ingest.core` lists the kit's readers in one place and asks the registry for
the reader of each file's kind. This module imports no reader and nothing of
:mod:`territoria.ingest.core`, so readers import it without a cycle.

Examples
--------
>>> reg = ReaderRegistry()
>>> reg.register("csv", lambda ctx: Outcome("csv", "t", 0, 0))
>>> reg.kinds(), reg.get("csv")(None).table
(('csv',), 't')
>>> reg.get("xls")
Traceback (most recent call last):
...
territoria.exceptions.IngestError: unknown kind 'xls' (allowed: auto, csv) (rule: unknown_kind)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territoria.config import Workspace
from territoria.exceptions import IngestError, TerritoriaError
from territoria.ingest.forms import load_forms
from territoria.store import Store, quote_ident


@dataclass
class Outcome:
    """What a reader returns after writing a file's rows (inside the transaction)."""

    kind: str
    table: str
    rows_read: int
    accepted: int
    quarantined: int = 0
    duplicates: int = 0
    instrument: str | None = None
    version: str | None = None
    notes: list[str] = field(default_factory=list)
    #: Of the accepted rows: new, replacing a stored version, identical to the stored one
    #: (None when the reader does not compare with the store).
    new: int | None = None
    updated: int | None = None
    unchanged: int | None = None


_counter = itertools.count()


class FileContext:
    """Everything a reader needs for one file: store, workspace, names, quarantine helpers."""

    def __init__(self, ws: Workspace | None, store: Store, path: Path, sha256: str, *,
                 form: str | None = None, forms=None, options: dict | None = None):
        self.ws = ws
        #: Reader options from the command line (``where``, ``map``, ``areas``, ``areas_key``).
        self.options = dict(options or {})
        self.store = store
        self.con = store.con
        self.path = path
        self.name = path.name
        self.sha256 = sha256
        self.form = form
        self._forms = forms
        self.now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
        self.temps: list[tuple[str, str]] = []

    def temp(self, stem: str, *, view: bool = False) -> str:
        """A fresh temporary table (or view) name, dropped when the file is done."""
        name = f"_ingest_{stem}_{os.getpid()}_{next(_counter)}"
        self.temps.append((name, "VIEW" if view else "TABLE"))
        return name

    def temp_frame(self, stem: str, df: pd.DataFrame) -> str:
        """Copy ``df`` into a fresh temporary table (dropped when the file is done)."""
        t = self.temp(stem)
        view = f"_ingest_df_{os.getpid()}_{next(_counter)}"
        self.con.register(view, df)
        try:
            self.run(f"CREATE TEMP TABLE {quote_ident(t)} AS SELECT * FROM {view}")
        finally:
            self.con.unregister(view)
        return t

    @property
    def forms(self):
        if self._forms is None:
            self._forms = load_forms(self.ws.root if self.ws is not None else None)
        return self._forms

    def secret(self) -> bytes:
        if self.ws is None:
            raise IngestError("pseudonymising needs a workspace key (.secret)", file=self.name,
                              rule="no_workspace")
        return self.ws.secret()

    def city_name(self) -> str | None:
        if self.ws is None or not self.ws.exists():
            return None
        try:
            return self.ws.config().name
        except TerritoriaError:
            return None

    def run(self, sql: str, params: list | None = None) -> list:
        """Execute a statement inside the file's transaction and fetch its result (DuckDB
        refuses further work on a connection while a result is pending)."""
        self.store._require_tx()
        return self.con.execute(sql, params or []).fetchall()

    def quarantine_sql(self, select_sql: str, params: list | None = None,
                       file_label: str | None = None) -> None:
        """Insert ``(row, column, value, rule)`` rows produced by ``select_sql``."""
        self.run(
            "INSERT INTO quarantine SELECT ?, ?, CAST(q.row AS INTEGER), CAST(q.col AS VARCHAR), "
            f"CAST(q.value AS VARCHAR), CAST(q.rule AS VARCHAR), ? FROM ({select_sql}) AS q",
            [self.sha256, file_label or self.name, self.now, *(params or [])],
        )

    def quarantine_frame(self, df: pd.DataFrame, file_label: str | None = None) -> int:
        """Quarantine rows given as a DataFrame with ``row, column, value, rule``."""
        if df is None or df.empty:
            return 0
        out = pd.DataFrame({
            "file_sha256": self.sha256, "file": file_label or self.name,
            "row": df["row"].astype("int64"), "column": df["column"].astype(object),
            "value": df["value"].astype(object).where(df["value"].notna(), None),
            "rule": df["rule"].astype(object), "ingested_at": self.now,
        })
        out["value"] = out["value"].map(lambda v: None if v is None else str(v))
        self.store.append("quarantine", out)
        return len(out)

    def cleanup(self) -> None:
        # (an error inside a DuckDB transaction aborts it: drop exactly what was created,
        # views first since they sit on the tables)
        for t, what in reversed(self.temps):
            self.con.execute(f"DROP {what} IF EXISTS {quote_ident(t)}").fetchall()
        self.temps.clear()


#: A reader: writes one file's rows inside its transaction and says what it did.
Reader = Callable[[FileContext], Outcome]


class ReaderRegistry:
    """Readers by kind, in the order they were registered (papermill's engine registry is
    the model)."""

    def __init__(self) -> None:
        self._readers: dict[str, Reader] = {}

    def register(self, kind: str, reader: Reader) -> None:
        """Register ``reader`` for files of ``kind`` (a kind registered twice is an error)."""
        if kind in self._readers:
            raise IngestError(f"kind '{kind}' already has a reader", rule="duplicate_kind")
        self._readers[kind] = reader

    def get(self, kind: str) -> Reader:
        """The reader of ``kind``.

        Raises
        ------
        IngestError
            When no reader is registered for ``kind``.
        """
        try:
            return self._readers[kind]
        except KeyError:
            raise IngestError(f"unknown kind '{kind}' (allowed: auto, {', '.join(self._readers)})",
                              rule="unknown_kind") from None

    def kinds(self) -> tuple[str, ...]:
        """The registered kinds, in registration order."""
        return tuple(self._readers)
