"""What is in quarantine, and the rows the field team has to fix.

The ``quarantine`` table keeps, for every rejected value, the file, the 1-based data row, the
column, the value and the rule it broke. This module

- counts the reasons by file and rule (:func:`quarantine_summary`);
- rebuilds the rows to fix (:func:`rows_to_fix`): one line per quarantined row with its rules,
  columns and values, followed by the row as it is in the source file (re-read from the path
  recorded in ``ingest_log`` when the file is still there, unchanged: same SHA-256);
- writes them as CSV safe to open in a spreadsheet (:func:`write_rows_csv`).

Privacy: a row to fix never carries personal data. Columns the instrument marks personal and
free text are dropped, codes that ingest pseudonymises are shown only as their pseudonym
(the same ``p_...`` as in the store), and for a file whose kind is not known to be free of
personal data only the quarantine entries are shown. Cells that a spreadsheet would read as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading
``'`` (OWASP, CSV injection); plain numbers such as ``-99.1`` are left as they are.

Examples
--------
>>> neutralise("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> neutralise("-99.06"), neutralise("-1+1"), neutralise("Aculco")
('-99.06', "'-1+1", 'Aculco')
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from territoria.exceptions import TerritoriaError
from territoria.i18n import catalogue, tr
from territoria.ingest.privacy import POLICY, policy_for, pseudonymise

#: Kinds whose files hold no personal data (public catalogues, indices, crime records).
PUBLIC_KINDS = frozenset({"territories", "zones", "blocks", "census", "programme", "crime",
                          "crime_cuadrante", "social_index"})
#: Survey export columns kept in a row to fix (submission keys and versions, no people).
SAFE_META = frozenset({"_id", "_uuid", "_index", "_parent_index", "_parent_table_name",
                       "_submission_time", "__version__", "_validation_status", "KEY",
                       "PARENT_KEY", "SubmissionDate", "FormVersion", "ReviewState", "Status",
                       "meta-instanceID", "meta/instanceID", "instanceID", "PARENT"})
#: Survey metadata that identifies a device or a person: never in a row to fix.
IDENTIFYING_META = frozenset({"deviceid", "username", "phonenumber", "simserial", "subscriberid",
                              "email", "audit", "_submitted_by", "submittername", "submitterid",
                              "_notes"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_PSEUDONYM = re.compile(r"^p_[0-9a-f]{16}$")
#: How ingest notes the filter of a layer (``territoria ingest LAYER --where ...``).
_WHERE_NOTE = re.compile(r"features where (.+?)(?:; |$)")

MESSAGES = catalogue(__name__)


def neutralise(value):
    """A cell made safe for spreadsheets (OWASP CSV injection): a text starting with ``=``,
    ``+``, ``-``, ``@``, tab or CR gets a leading ``'``; numbers and other values are kept."""
    if value is None or not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _where(store, file: str | None, rule: str | None, lang: str) -> tuple[str, list]:
    """SQL filter of the quarantine for ``file``/``rule`` (checked against what is there)."""
    conds, params = [], []
    if rule is not None:
        known = [r[0] for r in store.con.execute(
            "SELECT DISTINCT rule FROM quarantine WHERE rule IS NOT NULL ORDER BY 1").fetchall()]
        if rule not in known:
            raise TerritoriaError(tr(MESSAGES, "unknown_rule", lang, rule=rule,
                                     known=", ".join(known) or tr(MESSAGES, "nothing", lang)))
        conds.append("rule = ?")
        params.append(rule)
    if file is not None:
        base = "split_part(file, ':', 1)"
        known = [r[0] for r in store.con.execute(
            f"SELECT DISTINCT {base} FROM quarantine ORDER BY 1").fetchall()]
        name = Path(file).name
        if file not in known and name not in known and not store.con.execute(
                "SELECT count(*) FROM quarantine WHERE file = ?", [file]).fetchall()[0][0]:
            raise TerritoriaError(tr(MESSAGES, "unknown_file", lang, file=file,
                                     known=", ".join(known) or tr(MESSAGES, "nothing", lang)))
        conds.append(f"(file = ? OR {base} = ? OR {base} = ?)")
        params += [file, file, name]
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def _quarantine(store, file: str | None, rule: str | None, lang: str) -> pd.DataFrame:
    where, params = _where(store, file, rule, lang)
    return store.query('SELECT file_sha256, file, row, "column", value, rule FROM quarantine'
                       + where, params)


def quarantine_summary(store, *, file: str | None = None, rule: str | None = None,
                       lang: str = "es") -> pd.DataFrame:
    """Reasons in quarantine with their counts.

    Parameters
    ----------
    store : Store
        The workspace's store.
    file, rule : str, optional
        Keep only this file (its name, or ``name:sheet`` for a sheet of a workbook) or rule.
    lang : str
        Language of error messages.

    Returns
    -------
    DataFrame
        ``file, rule, rows`` (distinct rows), ``problems`` (values quarantined) and
        ``columns`` (the columns involved, joined with ``, ``), most rows first.

    Raises
    ------
    TerritoriaError
        For a rule or file that has nothing in quarantine (the message lists those that do).

    Examples
    --------
    >>> from territoria.store import Store
    >>> s = Store(":memory:")
    >>> with s.transaction():
    ...     _ = s.append("quarantine", pd.DataFrame({
    ...         "file_sha256": ["x", "x"], "file": ["a.csv", "a.csv"], "row": [2, 5],
    ...         "column": ["territory_id", "territory_id"], "value": ["07-999", "07-998"],
    ...         "rule": ["unknown_territory"] * 2, "ingested_at": [pd.Timestamp(0)] * 2}))
    >>> quarantine_summary(s).to_dict("records")
    [{'file': 'a.csv', 'rule': 'unknown_territory', 'rows': 2, 'problems': 2, 'columns': 'territory_id'}]
    """
    where, params = _where(store, file, rule, lang)
    out = store.query(
        "SELECT file, coalesce(rule, '') AS rule, CAST(count(DISTINCT row) AS BIGINT) AS rows, "
        "CAST(count(*) AS BIGINT) AS problems, coalesce(string_agg(DISTINCT \"column\", ', ' "
        "ORDER BY \"column\"), '') AS columns FROM quarantine" + where
        + " GROUP BY ALL ORDER BY file, rows DESC, rule", params)
    return out[["file", "rule", "rows", "problems", "columns"]].astype(
        {"rows": int, "problems": int, "file": object, "rule": object, "columns": object})


def format_summary(summary: pd.DataFrame, lang: str = "es") -> str:
    """The summary as lines for the terminal."""
    if summary.empty:
        return tr(MESSAGES, "empty", lang)
    head = tr(MESSAGES, "head", lang, rows=int(summary["rows"].sum()),
              cells=int(summary["problems"].sum()), files=summary["file"].nunique())
    names = MESSAGES["cols"].get(lang, MESSAGES["cols"]["es"])
    table = [names] + [[str(r[c]) for c in ("file", "rule", "rows", "problems", "columns")]
                       for r in summary.to_dict("records")]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [head]
    for row in table:
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                                row[2].rjust(widths[2]), row[3].rjust(widths[3]), row[4]])
                     .rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# privacy of a file's columns
# ---------------------------------------------------------------------------------------------
def _survey_policies(ws, instrument, version) -> dict[str, str]:
    from territoria.ingest.forms import load_forms

    forms = load_forms(ws.root if ws is not None else None)
    inst = forms.get((instrument, version)) or next(
        (f for (fid, _v), f in forms.items() if fid == instrument), None)
    if inst is None:
        return {}
    return {f.name: policy_for(f.name, personal=f.personal, free_text=f.free_text)
            for f in inst.fields}


def column_policy(column, kind: str | None, fields: dict[str, str]) -> str:
    """What a row to fix shows of a source column: ``keep``, ``pseudonymise`` or ``drop``.

    ``fields`` maps the field names of the file's instrument (surveys) to their ingest policy.
    Survey headers may carry group prefixes (``grupo/campo``, ``grupo-campo``) or option
    suffixes (``campo/opcion``): a column is kept only when it names a field that is kept and
    no personal field; anything unknown is dropped.

    >>> column_policy("phone", "links", {})
    'drop'
    >>> column_policy("link_code", "links", {})
    'pseudonymise'
    >>> column_policy("datos/respondent_name", "kobo", {"respondent_name": "drop"})
    'drop'
    >>> column_policy("datos/sex", "kobo", {"sex": "keep"})
    'keep'
    >>> column_policy("Nombre completo", "kobo", {"sex": "keep"})
    'drop'
    >>> column_policy("meta/deviceid", "kobo", {"deviceid": "keep"})
    'drop'
    >>> column_policy("latitud", "crime", {})
    'keep'
    """
    if column is None or (isinstance(column, float) and column != column):
        return "keep"
    col = str(column)
    if kind in PUBLIC_KINDS:
        return "keep"
    if kind == "links":
        from territoria.ingest.templates import spec

        if col.strip().lower() == "link_code":
            return "pseudonymise"
        personal = set(POLICY) | {"name", "phone", "address", "email", "curp"}
        allowed = {c.name for c in spec("links").columns} - personal
        return "keep" if col.strip().lower() in allowed else "drop"
    if kind in ("kobo", "odk"):
        if col in SAFE_META:
            return "keep"
        parts = [p for p in re.split(r"[/-]", col) if p]
        if any(p.lower() in IDENTIFYING_META for p in parts):
            return "drop"
        pols = [fields.get(p) or POLICY.get(p) for p in parts]
        if any(p in ("drop", "freetext") for p in pols):
            return "drop"
        if any(p == "pseudonymise" for p in pols):
            return "pseudonymise" if fields.get(parts[-1]) == "pseudonymise" or \
                POLICY.get(parts[-1]) == "pseudonymise" else "drop"
        return "keep" if any(p == "keep" for p in pols) else "drop"
    return "drop"  # a kind not known to be free of personal data


# ---------------------------------------------------------------------------------------------
# re-reading the source rows
# ---------------------------------------------------------------------------------------------
def _text_rows(path: Path, rows: list[int], name: str) -> pd.DataFrame:
    from territoria.ingest.sniff import load_text, row_offset, sniff_text

    info = sniff_text(path, name=name)
    con = duckdb.connect()
    try:
        load_text(con, info, "src", name=name)
        off = row_offset(con, "src")
        con.register("wanted", pd.DataFrame({"r": rows}))
        df = con.execute(f"SELECT rowid - {off} + 1 AS _row, * FROM src WHERE rowid - {off} + 1 "
                         "IN (SELECT r FROM wanted) ORDER BY rowid").df()
    finally:
        con.close()
    return df.set_index("_row")


def _excel_rows(path: Path, sheet: str | None, rows: list[int], kind: str) -> pd.DataFrame:
    raw = pd.read_excel(path, sheet_name=sheet if sheet else 0, header=None, dtype=object,
                        engine="calamine")
    raw = raw.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else (
        str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    if kind == "crime":
        hdr = next((i for i in range(min(5, len(raw)))
                    if "MODALIDAD - DELITO" in {str(c).strip().upper() for c in raw.iloc[i]}), 0)
        body = raw.iloc[hdr + 1:]
    else:
        hdr = 0
        body = raw.iloc[1:]
        body = body[body.notna().any(axis=1)]
    body = body.copy()
    body.columns = [str(c).strip() for c in raw.iloc[hdr]]
    body.index = range(1, len(body) + 1)
    return body.loc[[r for r in rows if r in body.index]]


def _zip_rows(path: Path, member: str | None, rows: list[int], name: str, tmp: Path):
    with zipfile.ZipFile(path) as z:
        if member is None:
            members = sorted((m for m in z.namelist() if m.lower().endswith(".csv")
                              and "/" not in m), key=lambda m: (m.count("-"), len(m)))
            member = members[0]
        p = tmp / Path(member).name
        p.write_bytes(z.read(member))
    return _text_rows(p, rows, f"{name}:{member}")


def _layer_rows(path: Path, rows: list[int], where: str | None = None) -> pd.DataFrame:
    import pyogrio

    df = pyogrio.read_dataframe(path, read_geometry=False, where=where)
    df.index = range(1, len(df) + 1)
    return df.loc[[r for r in rows if r in df.index]]


def source_rows(path: Path, label: str, kind: str | None, rows: list[int], *,
                where: str | None = None) -> pd.DataFrame:
    """The data rows ``rows`` (1-based) of a source file as text, indexed by row number.

    ``label`` is the quarantine's file name, ``name`` or ``name:sheet-or-member``; ``where`` is
    the filter a layer was ingested with (its rows are numbered after filtering).
    """
    import tempfile

    member = label.split(":", 1)[1] if ":" in label else None
    suf = path.suffix.lower()
    if kind == "territories" and suf in (".gpkg", ".geojson", ".json", ".shp", ".zip"):
        return _layer_rows(path, rows, where)
    if suf in (".xlsx", ".xlsm"):
        return _excel_rows(path, member, rows, kind or "")
    if suf == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            return _zip_rows(path, member, rows, path.name, Path(tmp))
    return _text_rows(path, rows, path.name)


# ---------------------------------------------------------------------------------------------
# rows to fix
# ---------------------------------------------------------------------------------------------
@dataclass
class RowsToFix:
    """The rows to fix and what was left out of them."""

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _logged_files(store) -> dict[str, dict]:
    log = store.query("SELECT file, sha256, kind, instrument, form_version, message "
                      "FROM ingest_log WHERE status = 'ok'")
    return {r["sha256"]: r for r in log.to_dict("records")}


def rows_to_fix(ws, store, *, file: str | None = None, rule: str | None = None,
                lang: str = "es") -> RowsToFix:
    """One line per quarantined row: ``file, row, rules, columns, values`` and then the row's
    columns as in the source file, without personal data.

    Values of pseudonymised code columns are shown only as pseudonyms (computed with the
    workspace key, as at ingest); personal and free-text columns are left out; cells are
    not yet neutralised (see :func:`write_rows_csv`).

    Raises
    ------
    TerritoriaError
        For a rule or file that has nothing in quarantine.
    """
    from territoria.ingest.sniff import sha256_of

    q = _quarantine(store, file, rule, lang)
    base_cols = ["file", "row", "rules", "columns", "values"]
    if q.empty:
        return RowsToFix(pd.DataFrame(columns=base_cols))
    logged = _logged_files(store)
    key = ws.secret() if ws is not None else None
    notes: list[str] = []
    parts = []
    for (sha, label), grp in q.groupby(["file_sha256", "file"], sort=False):
        log = logged.get(sha, {})
        kind = log.get("kind")
        fields = _survey_policies(ws, log.get("instrument"), log.get("form_version")) \
            if kind in ("kobo", "odk") else {}

        def shown(col, val, kind=kind, fields=fields):
            if val is None or (isinstance(val, float) and val != val):
                return ""
            pol = column_policy(col, kind, fields)
            if pol == "drop":
                return ""
            if pol == "pseudonymise":
                text = str(val)
                return text if _PSEUDONYM.match(text) or key is None else pseudonymise(text, key)
            return str(val)

        grp = grp.assign(shown=[shown(c, v) for c, v in zip(grp["column"], grp["value"],
                                                              strict=True)])
        agg = (grp.sort_values("row").groupby("row", sort=True)
               .agg(rules=("rule", lambda s: "; ".join(str(x) for x in s)),
                    columns=("column", lambda s: "; ".join("" if x is None else str(x)
                                                           for x in s)),
                    values=("shown", lambda s: "; ".join(s)))
               .reset_index())
        agg.insert(0, "file", label)
        src = None
        path = Path(log["file"]) if log.get("file") else None
        if path is None or not path.is_file() or sha256_of(path) != sha:
            notes.append(tr(MESSAGES, "no_source", lang, file=label))
        elif kind not in PUBLIC_KINDS and kind not in ("links", "kobo", "odk"):
            pass  # unknown kind: reasons only
        else:
            try:
                m = _WHERE_NOTE.search(str(log.get("message") or ""))
                src = source_rows(path, label, kind, agg["row"].astype(int).tolist(),
                                  where=m.group(1) if m else None)
            except (TerritoriaError, OSError, ValueError, KeyError, IndexError, ImportError,
                    duckdb.Error, zipfile.BadZipFile) as e:
                notes.append(tr(MESSAGES, "unreadable", lang, file=label,
                                why=str(e).splitlines()[0][:80] if str(e) else type(e).__name__))
        if src is not None:
            pols = {c: column_policy(c, kind, fields) for c in src.columns}
            dropped = [c for c, p in pols.items() if p == "drop"]
            pseud = [c for c, p in pols.items() if p == "pseudonymise"]
            if dropped:
                notes.append(tr(MESSAGES, "dropped", lang, file=label, cols=", ".join(dropped)))
            if pseud:
                notes.append(tr(MESSAGES, "pseudonymised", lang, file=label,
                                cols=", ".join(pseud)))
            src = src[[c for c in src.columns if pols[c] != "drop"]].copy()
            for c in pseud:
                src[c] = [None if v is None or (isinstance(v, float) and v != v)
                          else pseudonymise(str(v), key) for v in src[c]]
            src = src.astype(object).where(src.notna(), "")
            src.columns = [f"{c}_source" if c in base_cols else str(c) for c in src.columns]
            agg = agg.join(src, on="row")
        parts.append(agg)
    rows = pd.concat(parts, ignore_index=True).astype(object)
    rows = rows.where(rows.notna(), "")
    return RowsToFix(rows, notes)


def write_rows_csv(rows: pd.DataFrame, path) -> int:
    """Write rows to fix as UTF-8 CSV (with BOM, so spreadsheets read accents), every cell
    neutralised against formula injection. Returns the number of rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([neutralise(str(c)) for c in rows.columns])
        for rec in rows.itertuples(index=False):
            w.writerow([neutralise(v if isinstance(v, str) else ("" if v is None else str(v)))
                        for v in rec])
    return len(rows)
