"""Ingest files into the workspace store: one transaction, one log line, per file.

Rules that hold for every kind of file:

- the input file is only read, never modified;
- a file already ingested (same SHA-256 in ``ingest_log`` with status ``ok``) is skipped;
- everything written for one file happens inside one :meth:`Store.transaction`, so a rejected
  file leaves the store exactly as it was;
- every data row read is either stored or written to ``quarantine`` with the column, value
  and rule it broke (``row`` = 1-based data row of the file); duplicates are quarantined
  too (rule ``duplicate_submission``) and also counted in ``rows_duplicate``, so
  ``rows_accepted + rows_quarantined = rows_read``;
- ``dry_run`` runs every check, reports, and rolls the transaction back.

Examples
--------
>>> r = IngestReport("a.csv", "0" * 64, "kobo", "territoria_diagnostic", "2026.1",
...                  "diagnostic", 10, 9, 1, 0, "ok", "")
>>> r.as_line("en")
'ok        a.csv  kobo -> diagnostic  read 10, accepted 9, quarantined 1'
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from territoria.config import Workspace
from territoria.exceptions import DataError, IngestError, TerritoriaError
from territoria.i18n import tr
from territoria.store import Store, quote_ident

KINDS = ("kobo", "odk", "crime", "crime_cuadrante", "social_index", "territories", "blocks",
         "census", "programme", "links")

MESSAGES = {
    "line": {
        "es": "{status:<9} {file}  {kind} -> {table}  leídas {read}, aceptadas {accepted}, "
              "en cuarentena {quarantined}",
        "en": "{status:<9} {file}  {kind} -> {table}  read {read}, accepted {accepted}, "
              "quarantined {quarantined}",
    },
    "duplicates": {"es": " (duplicadas {n})", "en": " (duplicates {n})"},
    "versions": {"es": " (nuevas {new}, actualizadas {updated}, sin cambios {unchanged})",
                 "en": " (new {new}, updated {updated}, unchanged {unchanged})"},
    "rejected": {"es": "{status:<9} {file}  {message}", "en": "{status:<9} {file}  {message}"},
    "ok": {"es": "ok", "en": "ok"},
    "skipped": {"es": "omitido", "en": "skipped"},
    "rejected_status": {"es": "rechazado", "en": "rejected"},
    "dry_run": {"es": "prueba", "en": "dry-run"},
    "already": {"es": "ya se había ingerido (mismo SHA-256)",
                "en": "already ingested (same SHA-256)"},
    "total": {
        "es": "total: {files} archivos ({rejected} rechazados, {skipped} omitidos); leídas "
              "{read}, aceptadas {accepted}, en cuarentena {quarantined}",
        "en": "total: {files} files ({rejected} rejected, {skipped} skipped); read {read}, "
              "accepted {accepted}, quarantined {quarantined}",
    },
}


@dataclass
class IngestReport:
    """The outcome of ingesting one file.

    Attributes
    ----------
    file, sha256, kind, instrument, version, table : str
        The file, its hash, the detected kind, the instrument's form id and version (surveys),
        the main table written.
    rows_read, accepted, quarantined, duplicates : int
        Data rows read, stored, quarantined (duplicates included) and, of those, duplicates.
    status : str
        ``ok``, ``skipped`` (already ingested), ``rejected`` or ``dry_run``.
    message : str
        Notes (ignored columns, checks not done...) or the one-line reason of a rejection.
    """

    file: str
    sha256: str
    kind: str | None = None
    instrument: str | None = None
    version: str | None = None
    table: str | None = None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    status: str = "ok"
    message: str = ""
    new: int | None = None
    updated: int | None = None
    unchanged: int | None = None

    def as_line(self, lang: str = "es") -> str:
        """One line for the terminal (Spanish by default)."""
        key = {"ok": "ok", "skipped": "skipped", "rejected": "rejected_status",
               "dry_run": "dry_run"}.get(self.status, "ok")
        status = tr(MESSAGES, key, lang)
        name = Path(self.file).name
        if self.status == "rejected":
            return tr(MESSAGES, "rejected", lang, status=status, file=name, message=self.message)
        if self.status == "skipped":
            return tr(MESSAGES, "rejected", lang, status=status, file=name,
                      message=tr(MESSAGES, "already", lang))
        line = tr(MESSAGES, "line", lang, status=status, file=name, kind=self.kind,
                  table=self.table, read=self.rows_read, accepted=self.accepted,
                  quarantined=self.quarantined)
        if self.new is not None:
            line += tr(MESSAGES, "versions", lang, new=self.new, updated=self.updated or 0,
                       unchanged=self.unchanged or 0)
        if self.duplicates:
            line += tr(MESSAGES, "duplicates", lang, n=self.duplicates)
        if self.message:
            line += f"; {self.message}"
        return line


def total_line(reports: list[IngestReport], lang: str = "es") -> str:
    """The summary line printed after the per-file lines."""
    ok = [r for r in reports if r.status in ("ok", "dry_run")]
    return tr(MESSAGES, "total", lang, files=len(reports),
              rejected=sum(r.status == "rejected" for r in reports),
              skipped=sum(r.status == "skipped" for r in reports),
              read=sum(r.rows_read for r in ok), accepted=sum(r.accepted for r in ok),
              quarantined=sum(r.quarantined for r in ok))


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
            from territoria.ingest.forms import load_forms

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


class _DryRun(Exception):
    def __init__(self, outcome):
        self.outcome = outcome


def detect_kind(path: Path) -> str:
    """Kind of an input file from its extension and header.

    Raises
    ------
    IngestError
        When the kind cannot be told (say ``--kind``).
    """
    from territoria.ingest.layers import is_layer
    from territoria.ingest.sniff import sniff_text

    suffixes = "".join(path.suffixes[-2:]).lower()
    suf = path.suffix.lower()
    if suf in (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".kml"):
        return "territories"
    if suf == ".zip":
        return "territories" if is_layer(path) else "odk"
    if suf in (".xlsx", ".xlsm"):
        from territoria.ingest.crime import is_fgj_xlsx

        return "crime" if is_fgj_xlsx(path) else "kobo"
    if suf in (".csv", ".txt", ".tsv") or suffixes.endswith(".csv.gz") or suf == ".gz":
        info = sniff_text(path)
        cols = {c.strip().lower() for c in info.header}
        if {"folio_ageb", "idsm"} & cols or {"folio_mza", "idsm"} <= cols:
            return "social_index"
        if {"cuadrante", "crime", "count"} <= cols:
            return "crime_cuadrante"
        if "delito" in cols and cols & {"fecha_hecho", "fecha_hechos", "ao_hechos", "anio_hecho"}:
            return "crime"
        if {"key", "submissiondate"} & cols or "formversion" in cols:
            return "odk"
        if cols & {"_uuid", "_submission_time", "__version__", "_index"}:
            return "kobo"
        from territoria.ingest.tables import table_kind

        tk = table_kind(cols)
        if tk:
            return tk
        if cols & {"cveut", "territory_id"} or {"zone_id", "name"} <= cols:
            return "territories"
        return "kobo"
    raise IngestError(f"cannot tell what kind of file this is (extension {suf or 'none'}); "
                      "use --kind", file=path.name, rule="unknown_kind")


def _reader(kind: str):
    if kind in ("kobo", "odk"):
        from territoria.ingest.survey import ingest_survey

        return lambda ctx: ingest_survey(ctx, kind)
    if kind == "crime":
        from territoria.ingest.crime import ingest_crime

        return ingest_crime
    if kind == "crime_cuadrante":
        from territoria.ingest.crime import ingest_crime_cuadrante

        return ingest_crime_cuadrante
    if kind == "social_index":
        from territoria.ingest.social_index import ingest_social_index

        return ingest_social_index
    if kind == "territories":
        from territoria.ingest.territories import ingest_territories

        return ingest_territories
    if kind in ("blocks", "census", "programme", "links"):
        from territoria.ingest.tables import READERS

        return READERS[kind]
    raise IngestError(f"unknown kind '{kind}' (allowed: auto, {', '.join(KINDS)})",
                      rule="unknown_kind")


def _already(store: Store, sha: str) -> bool:
    row = store.con.execute(
        "SELECT count(*) FROM ingest_log WHERE sha256 = ? AND status = 'ok'", [sha]).fetchall()[0]
    return row[0] > 0


def ingest_file(store: Store, path, *, ws: Workspace | None = None, kind: str | None = None,
                form: str | None = None, dry_run: bool = False, forms=None,
                options: dict | None = None) -> IngestReport:
    """Ingest one file into ``store`` (see :func:`ingest_files`)."""
    from territoria.ingest.sniff import sha256_of

    path = Path(path)
    report = IngestReport(file=str(path), sha256="")
    try:  # symbolic links and paths leading outside their folder are refused
        from territoria.ingest.sniff import check_input_path

        check_input_path(path)
    except DataError as e:
        report.status, report.message = "rejected", str(e)
        return report
    if not path.is_file():
        report.status, report.message = "rejected", str(
            IngestError("file not found", file=path.name, rule="missing_file"))
        return report
    try:
        report.sha256 = sha256_of(path)
    except OSError as e:
        report.status, report.message = "rejected", f"{path.name}: cannot read ({e})"
        return report
    if _already(store, report.sha256) and not _reads_options(options):
        report.status, report.message = "skipped", "already ingested"
        return report
    ctx = FileContext(ws, store, path, report.sha256, form=form, forms=forms, options=options)
    try:
        k = kind if kind and kind != "auto" else detect_kind(path)
        report.kind = k
        read = _reader(k)
        with store.transaction():
            try:
                out = read(ctx)
                if out.accepted + out.quarantined != out.rows_read:  # accounting invariant
                    raise IngestError(
                        f"internal accounting error: {out.accepted} accepted + "
                        f"{out.quarantined} quarantined != {out.rows_read} read",
                        file=path.name, rule="accounting")
                message = "; ".join(out.notes)
                store.append("ingest_log", pd.DataFrame([{
                    "file": str(path), "sha256": report.sha256, "kind": out.kind,
                    "instrument": out.instrument, "form_version": out.version,
                    "target_table": out.table, "rows_read": out.rows_read,
                    "rows_accepted": out.accepted, "rows_quarantined": out.quarantined,
                    "rows_duplicate": out.duplicates, "status": "ok", "message": message,
                    "rows_new": out.new, "rows_updated": out.updated,
                    "rows_unchanged": out.unchanged,
                    "ingested_at": ctx.now,
                }]))
                ctx.cleanup()
            except BaseException:
                ctx.temps.clear()  # rolled back with the transaction
                raise
            if dry_run:
                raise _DryRun(out)
        status = "ok"
    except _DryRun as d:
        out, status = d.outcome, "dry_run"
    except DataError as e:
        report.status, report.message = "rejected", str(e)
        return report
    except TerritoriaError as e:
        report.status, report.message = "rejected", f"{path.name}: {e}"
        return report
    except (OSError, duckdb.IOException, duckdb.OutOfMemoryException) as e:
        # full disk, read-only workspace, vanished file: one line, the store unchanged
        why = getattr(e, "strerror", None) or str(e).splitlines()[0][:160]
        report.status, report.message = "rejected", f"{path.name}: cannot read or write ({why})"
        return report
    except Exception as e:  # a reader tripped on a hostile file: one line, the others go on
        if os.environ.get("TERRITORIA_DEBUG"):
            raise
        first = (str(e).splitlines() or [""])[0][:160]
        report.status, report.message = "rejected", (
            f"{path.name}: cannot be read as {report.kind or 'this kind'} "
            f"({type(e).__name__}: {first}; if the file looks right, report it) "
            "(rule: reader_error)")
        return report
    report.kind = out.kind
    report.instrument, report.version, report.table = out.instrument, out.version, out.table
    report.rows_read, report.accepted = out.rows_read, out.accepted
    report.quarantined, report.duplicates = out.quarantined, out.duplicates
    report.new, report.updated, report.unchanged = out.new, out.updated, out.unchanged
    report.status, report.message = status, "; ".join(out.notes)
    return report


def _reads_options(options: dict | None) -> bool:
    """A file read with other options (filter, mapping, areas) is a different input."""
    return bool(options and any(options.get(k) for k in ("where", "map", "areas", "replace")))


def ingest_files(ws: Workspace, paths: Iterable, *, kind: str | None = None,
                 form: str | None = None, dry_run: bool = False,
                 options: dict | None = None, on_report=None) -> list[IngestReport]:
    """Ingest files into the workspace's store.

    Parameters
    ----------
    ws : Workspace
        The workspace (its ``city.yml`` must exist).
    paths : iterable of path-like
        Input files; each is processed on its own (one transaction each).
    kind : {None, 'auto', 'kobo', 'odk', 'crime', 'crime_cuadrante', 'social_index', 'territories'}
        Force the kind instead of detecting it.
    form : str, optional
        ``FORM_ID[@VERSION]`` for survey files that do not say which form they belong to.
    dry_run : bool
        Check and report, write nothing.
    options : dict, optional
        Reader options: ``where`` (OGR SQL filter of a layer), ``map`` (``field=COLUMN,...``),
        ``areas`` (polygon layer of the areas a file is published by) and ``areas_key``
        (``LAYERKEY`` or ``LAYERKEY=FILEKEY``), see :mod:`territoria.ingest.territories` and
        :mod:`territoria.ingest.areal`. ``replace=True``: each file replaces its whole
        source (stored rows not in it go to the history table).
    on_report : callable, optional
        Called with each file's report as soon as that file is committed.

    Returns
    -------
    list of IngestReport
        One per file, in order. Rejected files have ``status='rejected'`` and a one-line
        ``message`` naming file, row, column and rule.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from territoria.config import init_workspace
    >>> ws = init_workspace(pathlib.Path(tempfile.mkdtemp()) / "w", "Demo")
    >>> p = ws.raw_dir / "zonas.csv"
    >>> _ = p.write_text("zone_id,name\\nDT01,Aculco\\nDT02,Cabeza de Juárez\\n", encoding="utf-8")
    >>> [r.as_line("en") for r in ingest_files(ws, [p])]
    ['ok        zonas.csv  territories -> zones  read 2, accepted 2, quarantined 0']
    >>> ingest_files(ws, [p])[0].status
    'skipped'
    """
    ws.require()
    paths = [Path(p) for p in paths]
    if dry_run and not ws.store_path.exists():
        store = Store(":memory:")
    else:
        store = Store(ws.store_path)
    try:
        from territoria.ingest.forms import load_forms

        forms = None
        if (kind in ("kobo", "odk")) or any(
                p.suffix.lower() in (".csv", ".xlsx", ".zip", ".gz", ".txt") for p in paths):
            forms = load_forms(ws.root)
        reports = []
        for p in paths:
            reports.append(ingest_file(store, p, ws=ws, kind=kind, form=form, dry_run=dry_run,
                                       forms=forms, options=options))
            if on_report is not None:
                on_report(reports[-1])
        return reports
    finally:
        store.close()
