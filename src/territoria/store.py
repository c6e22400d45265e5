"""The store: one DuckDB file per workspace. This module owns the schema and its version.

Writes happen inside :meth:`Store.transaction`: if anything fails in the middle, the
store is exactly as it was before (DuckDB's transactions are atomic, and this module
never writes outside one).

Examples
--------
>>> import pandas as pd
>>> s = Store(":memory:")
>>> s.schema_version() == SCHEMA_VERSION
True
>>> with s.transaction():
...     _ = s.append("zones", pd.DataFrame({"zone_id": ["Z01"], "name": ["Aculco"]}))
>>> s.table("zones")[["zone_id", "name"]].to_dict("records")
[{'zone_id': 'Z01', 'name': 'Aculco'}]
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from territoria.exceptions import StoreError
from territoria.lock import (
    WorkspaceBusy,
    busy_message,
    default_wait,
    holder,
    notify_waiting,
    write_lock,
)

SCHEMA_VERSION = 1

#: Core tables. Survey tables (one per instrument, typed from its XLSForm) are created by
#: :mod:`territoria.ingest` through :meth:`Store.ensure_table`.
CORE_DDL: dict[str, str] = {
    "meta": """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    "zones": """CREATE TABLE IF NOT EXISTS zones (
        zone_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, illustrative BOOLEAN DEFAULT FALSE)""",
    "territories": """CREATE TABLE IF NOT EXISTS territories (
        territory_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, kind VARCHAR, zone_id VARCHAR,
        population DOUBLE, households DOUBLE, social_index DOUBLE, blocks_total INTEGER,
        priority BOOLEAN DEFAULT FALSE, cohort VARCHAR, joined_on DATE, geometry VARCHAR)""",
    "blocks": """CREATE TABLE IF NOT EXISTS blocks (
        block_id VARCHAR PRIMARY KEY, territory_id VARCHAR NOT NULL, population INTEGER)""",
    "census_margins": """CREATE TABLE IF NOT EXISTS census_margins (
        territory_id VARCHAR, sex VARCHAR, age_group VARCHAR, population DOUBLE)""",
    "crime_counts": """CREATE TABLE IF NOT EXISTS crime_counts (
        territory_id VARCHAR, month DATE, category VARCHAR, count DOUBLE, source VARCHAR)""",
    "social_index": """CREATE TABLE IF NOT EXISTS social_index (
        unit_id VARCHAR, unit_level VARCHAR, territory_id VARCHAR, population DOUBLE,
        value DOUBLE, stratum VARCHAR, source VARCHAR)""",
    "indicators": """CREATE TABLE IF NOT EXISTS indicators (
        territory_id VARCHAR, step VARCHAR, name VARCHAR, grp VARCHAR, value DOUBLE,
        ci_low DOUBLE, ci_high DOUBLE, n INTEGER, suppressed BOOLEAN DEFAULT FALSE,
        unit VARCHAR, run_id VARCHAR, computed_at TIMESTAMP)""",
    "ingest_log": """CREATE TABLE IF NOT EXISTS ingest_log (
        file VARCHAR, sha256 VARCHAR, kind VARCHAR, instrument VARCHAR, form_version VARCHAR,
        target_table VARCHAR, rows_read INTEGER, rows_accepted INTEGER,
        rows_quarantined INTEGER, rows_duplicate INTEGER, status VARCHAR, message VARCHAR,
        ingested_at TIMESTAMP, rows_new INTEGER, rows_updated INTEGER, rows_unchanged INTEGER)""",
    "quarantine": """CREATE TABLE IF NOT EXISTS quarantine (
        file_sha256 VARCHAR, file VARCHAR, row INTEGER, "column" VARCHAR, value VARCHAR,
        rule VARCHAR, ingested_at TIMESTAMP)""",
    "runs": """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR, step VARCHAR, territory_id VARCHAR, status VARCHAR, fingerprint VARCHAR,
        output_path VARCHAR, error VARCHAR, seconds DOUBLE, finished_at TIMESTAMP)""",
}

#: Columns added to core tables after version 1 (added in place to older stores).
ADDED_COLUMNS = (("ingest_log", "rows_new", "INTEGER"), ("ingest_log", "rows_updated", "INTEGER"),
                 ("ingest_log", "rows_unchanged", "INTEGER"),
                 # names in other languages, JSON {"en": "Zone 05"} (``name_en`` columns)
                 ("zones", "names", "VARCHAR"), ("territories", "names", "VARCHAR"))

#: DuckDB's words when another process holds the file (a reader while we write, a writer
#: while we read): worth waiting for, never worth failing at once.
_BUSY = ("Could not set lock", "Conflicting lock", "lock on file")


#: Stores open in this process (see :func:`close_all`).
_OPEN: weakref.WeakSet[Store] = weakref.WeakSet()


def close_all() -> int:
    """Close every store this process still has open; returns how many.

    A notebook's process calls it once the notebook has run, before it answers the runner:
    the runner then records the results without meeting the notebook's read-only
    connection on the file (the notebook's objects may still hold their store).

    >>> s = Store(":memory:")
    >>> close_all() >= 1
    True
    """
    stores = list(_OPEN)
    for s in stores:
        s.close()
    return len(stores)


def _connect(path: str, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retried while another process holds the file (up to ``wait`` s)."""
    deadline = time.monotonic() + max(wait, 0.0)
    pause = 0.05
    told = False
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.Error as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            busy = any(b in str(e) for b in _BUSY)
            if busy and not told:
                who = _file_holder(path, str(e))
                if not _own(who):  # this command's own processes close it in a moment
                    notify_waiting(path, who, wait)
                told = True
            if busy and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 1.5, 0.5)
                continue
            if busy:
                raise WorkspaceBusy(busy_message(path, _file_holder(path, str(e)),
                                                 wait)) from None
            raise StoreError(f"{path}: cannot open the store ({first})") from None


def _check_key_of(store: Store, original: Path) -> None:
    """The key check of :func:`territoria.secret.check_store_key`, for a copy of a store."""
    from territoria.secret import check_store_key

    real = store.path
    store.path = str(original)
    try:
        check_store_key(store)
    finally:
        store.path = real


def _file_holder(path: str, message: str) -> dict[str, Any] | None:
    """Who keeps the store file from opening: the process DuckDB names, else the holder of
    the workspace lock.

    The lock's holder is not named when it is this process: a command that holds the
    workspace lock (``territoria run``) and cannot open its own store is waiting for one of
    its own processes (a notebook closing its read-only connection), not for "another
    command".
    """
    named = _duckdb_holder(message)
    if named is not None:
        return named
    info = holder(path)
    return None if info is not None and info.get("pid") == os.getpid() else info


def _own(info: dict[str, Any] | None) -> bool:
    """True when ``info`` names this process or one of its descendants (Linux ``/proc``)."""
    if info is None or not info.get("pid"):
        return False
    pid, me = int(info["pid"]), os.getpid()
    for _ in range(64):  # walk up the parents
        if pid == me:
            return True
        if pid <= 1:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def _duckdb_holder(message: str) -> dict[str, Any] | None:
    """The process DuckDB names in its lock message (a reader holds no workspace lock)."""
    m = re.search(r"PID (\d+)", message)
    if not m:
        return None
    pid = int(m.group(1))
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmd = None
    return {"pid": pid, "command": cmd, "since": None}


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote a SQL identifier safely (double quotes inside are doubled).

    >>> quote_ident("zones")
    '"zones"'
    """
    return '"' + str(name).replace('"', '""') + '"'


class Store:
    """Access to the workspace's DuckDB file.

    Parameters
    ----------
    path : path-like or ":memory:"
        The DuckDB file; created (with the schema) when missing.
    read_only : bool
        Open without write access (several readers may share the file).
    wait : float, optional
        Seconds to wait while another process writes (default: :func:`territoria.lock.default_wait`).
        Writers hold the workspace lock (:mod:`territoria.lock`) while open.
    check_key : bool
        Refuse to open a workspace store whose pseudonymisation key is missing or different
        (:mod:`territoria.secret`).
    lock : bool
        Take the workspace write lock when writing (False only for private copies).
    """

    #: For a :meth:`snapshot`: the store file it is a copy of.
    _snapshot_of: Path | None = None

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, read_only: bool = False,
                 wait: float | None = None, check_key: bool = True, lock: bool = True):
        self.path = str(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._in_tx = False
        self._held = contextlib.ExitStack()
        wait = default_wait() if wait is None else wait
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if read_only and self.path != ":memory:" and not Path(self.path).exists():
                raise StoreError(f"{self.path}: no store yet (run 'territoria ingest' or 'territoria demo')")
            if lock and not read_only and self.path != ":memory:":
                self._held.enter_context(write_lock(self.path, wait=wait))
            self.con = _connect(self.path, read_only, wait)
            _OPEN.add(self)
        except OSError as e:
            self._held.close()
            raise StoreError(f"{self.path}: cannot open the store ({e.strerror or e})") from None
        except BaseException:
            self._held.close()
            raise
        try:
            if not read_only:
                self._migrate()
            if check_key:  # the key that made the store's pseudonyms is still the one
                from territoria.secret import check_store_key

                check_store_key(self)
        except BaseException:
            self.close()
            raise

    @classmethod
    @contextlib.contextmanager
    def snapshot(cls, path: str | os.PathLike[str], *, wait: float | None = None) -> Iterator[Store]:
        """A private read-only copy of the store, for long reads (``publish``).

        The copy is taken under the workspace write lock (so no writer is half-way), which
        is held only while the file is copied; the reader then never blocks a writer.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"
        >>> Store(p).close()
        >>> with Store.snapshot(p) as s:
        ...     s.schema_version() == SCHEMA_VERSION, s.path != str(p)
        (True, True)
        """
        import shutil
        import tempfile

        src = Path(path)
        if not src.exists():
            raise StoreError(f"{src}: no store yet (run 'territoria ingest' or 'territoria demo')")
        with tempfile.TemporaryDirectory(prefix="territoria-snapshot-") as tmp:
            copy = Path(tmp) / src.name
            try:
                with write_lock(src, wait=default_wait() if wait is None else wait,
                                optional=True):
                    shutil.copy2(src, copy)
                    wal = src.with_name(src.name + ".wal")
                    if wal.exists():
                        shutil.copy2(wal, copy.with_name(copy.name + ".wal"))
            except OSError as e:
                raise StoreError(f"{src}: cannot copy the store ({e.strerror or e})") from None

            # a private copy: no lock, written only to replay its log
            store = cls(copy, check_key=False, lock=False)
            try:
                store.path = str(copy)
                store._snapshot_of = src
                with contextlib.suppress(Exception):
                    store.con.execute("CHECKPOINT")
                store.read_only = True
                if (src.parent / "city.yml").exists():
                    _check_key_of(store, src)
                yield store
            finally:
                store.close()

    # -- schema ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.transaction():
            for ddl in CORE_DDL.values():
                self.con.execute(ddl)
            # counts apportioned from areas may be fractional (stores made before: INTEGER)
            ty = self.con.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_name = "
                "'crime_counts' AND column_name = 'count'").fetchall()
            if ty and ty[0][0] != "DOUBLE":
                self.con.execute("ALTER TABLE crime_counts ALTER count SET DATA TYPE DOUBLE")
            for table, col, typ in ADDED_COLUMNS:  # stores made before these columns existed
                self.con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN IF NOT EXISTS "
                                 f"{quote_ident(col)} {typ}")
            cur = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if cur is None:
                self.con.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
                )
            elif int(cur[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema version {cur[0]} is newer than this kit's "
                    f"({SCHEMA_VERSION}); upgrade territoria"
                )

    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        return int(self.row("SELECT value FROM meta WHERE key='schema_version'")[0])

    # -- transactions ---------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside happen or none do. Nested calls join the outer transaction."""
        with self._lock:
            if self._in_tx:
                yield self
                return
            self.con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield self
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            else:
                self.con.execute("COMMIT")
            finally:
                self._in_tx = False

    def _require_tx(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")
        if not self._in_tx:
            raise StoreError("store writes must happen inside Store.transaction()")

    # -- reading --------------------------------------------------------------------------
    def tables(self) -> list[str]:
        """Names of the tables in the store (asked once on a read-only store, whose tables
        cannot change while it is open: notebooks ask many times)."""
        cached = getattr(self, "_tables", None)
        if cached is not None:
            return list(cached)
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='main' ORDER BY 1"
        ).fetchall()
        names = [r[0] for r in rows]
        if self.read_only:
            self._tables = names
        return list(names)

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def columns(self, name: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [name],
        ).fetchall()
        return [r[0] for r in rows]

    def table(self, name: str, where: str | None = None,
              params: list[Any] | None = None) -> pd.DataFrame:
        """A whole table (optionally filtered with a parameterised WHERE clause) as a DataFrame."""
        if not self.has_table(name):
            raise StoreError(f"table '{name}' is not in the store; has its data been ingested?")
        sql = f"SELECT * FROM {quote_ident(name)}"
        if where:
            sql += f" WHERE {where}"
        df: pd.DataFrame = self.con.execute(sql, params or []).df()
        return df

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame."""
        df: pd.DataFrame = self.con.execute(sql, params or []).df()
        return df

    def count(self, name: str) -> int:
        return int(self.row(f"SELECT count(*) FROM {quote_ident(name)}")[0])

    def digest(self, name: str, columns: list[str] | None = None, where: str | None = None,
               params: list[Any] | None = None) -> str:
        """Order-independent digest ``count|sum|xor`` of a table's row hashes.

        The same rows give the same digest whatever order they were stored in. A missing table
        digests like an empty one (``"0|0|0"``); ``columns`` not in the table are left out.

        Examples
        --------
        >>> s = Store(":memory:")
        >>> s.digest("zones")
        '0|0|0'
        >>> with s.transaction():
        ...     _ = s.append("zones", pd.DataFrame({"zone_id": ["Z1", "Z2"], "name": ["A", "B"]}))
        >>> a = s.digest("zones")
        >>> s.digest("zones", ["zone_id"]) != a, s.digest("zones", where="zone_id = ?", params=["Z9"])
        (True, '0|0|0')
        """
        if not self.has_table(name):
            return "0|0|0"
        have = self.columns(name)
        cols = [c for c in (columns or have) if c in have]
        sel = ", ".join(quote_ident(c) for c in cols) or "1"
        sql = (f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0) "
               f"FROM (SELECT {sel} FROM {quote_ident(name)}"
               + (f" WHERE {where}" if where else "") + ") t")
        n, s, x = self.row(sql, params)
        return f"{n}|{s}|{x}"

    def row(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        """The first row of a query that always gives one (an aggregate, a known key).

        Raises
        ------
        StoreError
            The query gave no row.
        """
        got = self.con.execute(sql, params or []).fetchone()
        if got is None:
            raise StoreError(f"no row from: {sql[:80]}")
        return got

    # -- writing --------------------------------------------------------------------------
    def ensure_table(self, name: str, columns: dict[str, str]) -> None:
        """Create ``name`` with ``columns`` ({name: duckdb type}) if it does not exist;
        add missing columns if it does (schemas only grow)."""
        self._require_tx()
        if not _IDENT.match(name):
            raise StoreError(f"invalid table name {name!r}")
        if not self.has_table(name):
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
            self.con.execute(f"CREATE TABLE {quote_ident(name)} ({cols})")
            return
        have = set(self.columns(name))
        for c, t in columns.items():
            if c not in have:
                self.con.execute(f"ALTER TABLE {quote_ident(name)} ADD COLUMN {quote_ident(c)} {t}")

    def append(self, name: str, df: pd.DataFrame) -> int:
        """Append rows of ``df`` to ``name`` (columns matched by name; table created from the
        frame if missing). Returns the number of rows written."""
        self._require_tx()
        if df is None or len(df.columns) == 0:
            return 0
        view = f"_append_{id(df)}"
        self.con.register(view, df)
        try:
            if not self.has_table(name):
                self.con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT * FROM {view} LIMIT 0")
            have = self.columns(name)
            extra = [c for c in df.columns if c not in have]
            if extra:
                raise StoreError(f"table '{name}' has no column(s) {', '.join(map(str, extra))}")
            cols = ", ".join(quote_ident(c) for c in df.columns)
            self.con.execute(
                f"INSERT INTO {quote_ident(name)} ({cols}) SELECT {cols} FROM {view}"
            ).fetchall()
        finally:  # after a failed insert DuckDB refuses more work until ROLLBACK
            with contextlib.suppress(duckdb.Error):
                self.con.unregister(view)
        return len(df)

    def replace(self, name: str, df: pd.DataFrame) -> int:
        """Replace the content of ``name`` by ``df`` (keeps the table's declared schema)."""
        self._require_tx()
        if self.has_table(name):
            self.con.execute(f"DELETE FROM {quote_ident(name)}")
        return self.append(name, df)

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a write statement inside the current transaction."""
        self._require_tx()
        self.con.execute(sql, params or []).fetchall()

    def record_indicators(self, df: pd.DataFrame, *, step: str, territory_id: str | None,
                          run_id: str | None = None) -> int:
        """Replace the indicators of (step, territory) by ``df``.

        ``df`` needs ``name`` and ``value``; optional ``grp, ci_low, ci_high, n, suppressed, unit``.
        """
        with self.transaction():
            return self.replace_rows("indicators",
                                     indicator_rows(df, step, territory_id, run_id))

    def replace_rows(self, name: str, df: pd.DataFrame, keys: pd.DataFrame | None = None) -> int:
        """Replace, in ``name``, the rows of some keys by the rows of ``df``.

        ``keys`` is a frame of key values (by default the distinct ``step`` and
        ``territory_id`` of ``df``); every row of ``name`` whose values in those columns equal
        one of its rows (missing values equal each other) is deleted, then ``df`` is
        appended: one delete and one insert for the results of many (step, territory) at
        once. Returns the number of rows written.
        """
        self._require_tx()
        if keys is None:
            keys = df[["step", "territory_id"]]
        if self.has_table(name) and len(keys):
            view = f"_keys_{id(keys)}"
            self.con.register(view, keys.drop_duplicates().astype("object"))
            try:
                have = self.columns(name)
                missing = [c for c in keys.columns if c not in have]
                if missing:
                    raise StoreError(f"table '{name}' has no column(s) {', '.join(missing)}")
                match = " AND ".join(
                    f"CAST(k.{quote_ident(c)} AS VARCHAR) IS NOT DISTINCT FROM "
                    f"CAST(t.{quote_ident(c)} AS VARCHAR)" for c in keys.columns)
                self.execute(f"DELETE FROM {quote_ident(name)} t WHERE EXISTS "
                             f"(SELECT 1 FROM {view} k WHERE {match})")
            finally:
                with contextlib.suppress(duckdb.Error):
                    self.con.unregister(view)
        return self.append(name, df) if len(df) else 0

    def close(self) -> None:
        _OPEN.discard(self)
        with contextlib.suppress(Exception):
            self.con.close()
        self._held.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"


#: Columns of the ``indicators`` table, in order.
INDICATOR_COLUMNS = ["territory_id", "step", "name", "grp", "value", "ci_low", "ci_high", "n",
                     "suppressed", "unit", "run_id", "computed_at"]


def indicator_rows(df: pd.DataFrame, step: str, territory_id: str | None,
                   run_id: str | None = None) -> pd.DataFrame:
    """``df`` (``name``, ``value`` and optionally ``grp, ci_low, ci_high, n, suppressed,
    unit``) as rows of the ``indicators`` table for (step, territory).

    Raises
    ------
    StoreError
        ``name`` or ``value`` missing.

    Examples
    --------
    >>> row = indicator_rows(pd.DataFrame({"name": ["pop"], "value": [3]}), "01", "T1").iloc[0]
    >>> [row["territory_id"], row["step"], row["name"], float(row["value"])]
    ['T1', '01', 'pop', 3.0]
    """
    need = {"name", "value"}
    if not need <= set(df.columns):
        raise StoreError(f"indicators need columns {sorted(need)}, got {list(df.columns)}")
    out = df.copy()
    for c, default in (("grp", None), ("ci_low", None), ("ci_high", None), ("n", None),
                       ("suppressed", False), ("unit", None)):
        if c not in out.columns:
            out[c] = default
    out["territory_id"] = territory_id
    out["step"] = step
    out["run_id"] = run_id
    out["computed_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return out[INDICATOR_COLUMNS].astype({"value": "float64", "ci_low": "float64",
                                          "ci_high": "float64"})
