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

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from territoria.config import Workspace
from territoria.exceptions import DataError, IngestError, TerritoriaError
from territoria.i18n import catalogue, tr
from territoria.ingest import crime, social_index, survey, tables, territories
from territoria.ingest.base import FileContext, Outcome, ReaderRegistry
from territoria.ingest.forms import load_forms
from territoria.ingest.layers import is_layer
from territoria.ingest.sniff import check_input_path, sha256_of, sniff_text
from territoria.store import Store

__all__ = ["KINDS", "READERS", "FileContext", "IngestReport", "Outcome", "detect_kind",
           "ingest_file", "ingest_files", "total_line"]


def _table_reader(kind: str, ctx: FileContext) -> Outcome:
    """The reader of a table kind (blocks, census, programme, links), taken from
    :data:`territoria.ingest.tables.READERS` when the file is read."""
    return tables.READERS[kind](ctx)


#: The kit's readers by kind, listed in this one place (see :mod:`territoria.ingest.base`).
READERS = ReaderRegistry()
READERS.register("kobo", functools.partial(survey.ingest_survey, kind="kobo"))
READERS.register("odk", functools.partial(survey.ingest_survey, kind="odk"))
READERS.register("crime", crime.ingest_crime)
READERS.register("crime_cuadrante", crime.ingest_crime_cuadrante)
READERS.register("social_index", social_index.ingest_social_index)
READERS.register("territories", territories.ingest_territories)
for _kind in tables.READERS:  # blocks, census, programme, links
    READERS.register(_kind, functools.partial(_table_reader, _kind))

KINDS = READERS.kinds()

MESSAGES = catalogue(__name__)


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
    suffixes = "".join(path.suffixes[-2:]).lower()
    suf = path.suffix.lower()
    if suf in (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".kml"):
        return "territories"
    if suf == ".zip":
        return "territories" if is_layer(path) else "odk"
    if suf in (".xlsx", ".xlsm"):
        return "crime" if crime.is_fgj_xlsx(path) else "kobo"
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
        tk = tables.table_kind(cols)
        if tk:
            return tk
        if cols & {"cveut", "territory_id"} or {"zone_id", "name"} <= cols:
            return "territories"
        return "kobo"
    raise IngestError(f"cannot tell what kind of file this is (extension {suf or 'none'}); "
                      "use --kind", file=path.name, rule="unknown_kind")


def _already(store: Store, sha: str) -> bool:
    row = store.con.execute(
        "SELECT count(*) FROM ingest_log WHERE sha256 = ? AND status = 'ok'", [sha]).fetchall()[0]
    return row[0] > 0


def ingest_file(store: Store, path, *, ws: Workspace | None = None, kind: str | None = None,
                form: str | None = None, dry_run: bool = False, forms=None,
                options: dict | None = None) -> IngestReport:
    """Ingest one file into ``store`` (see :func:`ingest_files`)."""
    path = Path(path)
    report = IngestReport(file=str(path), sha256="")
    try:  # symbolic links and paths leading outside their folder are refused
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
        read = READERS.get(k)
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
