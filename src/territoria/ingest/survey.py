"""Survey exports (KoboToolbox CSV/XLSX, ODK Central csv.zip/csv) -> one table per instrument.

How a file is read:

1. every table of the export (Kobo CSV main table; Kobo XLSX main sheet + one sheet per
   repeat, linked by ``_index``/``_parent_index``; ODK ``<formId>.csv`` + one CSV per repeat,
   linked by ``KEY``/``PARENT_KEY``) is loaded into DuckDB as text;
2. the instrument is found (see :mod:`territoria.ingest.forms`); an unknown form version
   rejects the file;
3. headers are mapped to field names: XML names or labels (any language of the form), with or
   without group prefixes (``/`` Kobo, ``-`` ODK); ``q/opt`` select_multiple detail columns
   rebuild the space-separated summary (and are checked against it when both are present);
   geopoint parts rebuild the geopoint; unknown columns are reported and ignored;
4. every value is checked with :meth:`Instrument.check_value` *once per distinct value* (so
   changing the XLSForm changes the validation), in bulk: DuckDB joins the verdicts back to
   the rows. Columns with very many distinct values and no constraint (timestamps, numbers) are
   checked by vectorised casts instead. ``required`` is enforced when the field has no
   ``relevant`` or when its ``relevant`` can be translated to SQL. ``zone``/``territory``/
   ``block`` codes (``select_one_from_file``) must exist in the store's tables;
5. duplicate submissions (same ``_uuid``/``KEY``, within the file or already stored) are
   quarantined (rule ``duplicate_submission``); repeat rows of a quarantined submission are
   quarantined too (``parent_quarantined``);
6. accepted rows are inserted with the form's column types; personal fields are pseudonymised
   or dropped and free text goes to ``<table>__freetext`` (see :mod:`territoria.ingest.privacy`).

Stored meta columns: ``_uuid`` (``uuid:`` prefix removed), ``_id``, ``_submission_time`` (UTC),
``__version__`` and ``_file_sha256`` in main tables; ``_uuid``, ``_parent_uuid`` and
``_file_sha256`` in repeat tables (a repeat row's ``_uuid`` is ``<parent>/<repeat>[n]``).
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territoria.exceptions import IngestError, InstrumentError
from territoria.ingest import forms as F
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.privacy import policy_for, pseudonymise, redact
from territoria.ingest.sniff import (
    check_zip,
    copy_member,
    load_text,
    looks_binary,
    row_offset,
    sniff_text,
)
from territoria.ingest.upsert import UpsertCounts, upsert
from territoria.secret import mark_pseudonymised
from territoria.store import quote_ident as q

#: Above this many distinct values a column without constraint is checked by SQL casts.
DISTINCT_LIMIT = 20000

KOBO_META = {"_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags", "_index", "_parent_index",
             "_parent_table_name"}
ODK_META = {"SubmissionDate", "KEY", "PARENT_KEY", "SubmitterID", "SubmitterName",
            "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState", "DeviceID",
            "Edits", "FormVersion", "meta-instanceID", "instanceID", "meta/instanceID",
            "formhub/uuid"}
_FILE_TABLES = {"zones": ("zones", "zone_id"), "territories": ("territories", "territory_id"),
                "blocks": ("blocks", "block_id")}
_SQL_TYPES = {"BIGINT", "DOUBLE", "DATE", "TIMESTAMP WITH TIME ZONE"}
_TRUE = ("1", "1.0", "true", "True", "TRUE")


@dataclass
class Staged:
    """One table of an export loaded into DuckDB."""

    label: str          # for quarantine 'file' column: file name or file:sheet/member
    temp: str           # temp table with _row, _uuid, _parent_uuid + raw columns
    columns: list[str]  # raw column names
    repeat: str | None = None
    key: str = ""       # sheet title or member name
    n: int = 0
    colmap: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def _describe(ctx, table) -> list[str]:
    return [r[0] for r in ctx.con.execute(f"DESCRIBE {table}").fetchall()]


def _xlsx_sheets(path: Path):
    """(sheet title, rows) of a workbook, read with calamine (fast, Rust) when available."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - calamine is a dependency; openpyxl as fallback
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                yield ws.title, list(ws.iter_rows(values_only=True))
        finally:
            wb.close()
        return
    wb = CalamineWorkbook.from_path(str(path))
    for name in wb.sheet_names:
        yield name, wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _load_xlsx(ctx: FileContext) -> list[tuple[str, str, list[str], int]]:
    if zipfile.is_zipfile(ctx.path):  # a workbook is a zip: sizes and ratios checked first
        try:
            with zipfile.ZipFile(ctx.path) as z:
                check_zip(z, file=ctx.name)
        except zipfile.BadZipFile:
            pass  # damaged: the workbook reader below says so
    try:
        sheets = list(_xlsx_sheets(ctx.path))
    except Exception as e:
        with open(ctx.path, "rb") as fh:
            head = fh.read(4096)
        if not head.strip():
            raise IngestError("the file is empty", file=ctx.name, rule="empty_file") from None
        rule = "binary_file" if looks_binary(head) else "unreadable"
        raise IngestError(f"not a readable .xlsx workbook ({type(e).__name__})", file=ctx.name,
                          rule=rule) from None
    out = []
    for title, all_rows in sheets:
        rows = iter(all_rows)
        header = next(rows, None)
        if header is None:
            continue
        header = ["" if h is None else str(h).strip() for h in header]
        while header and header[-1] == "":
            header.pop()
        data = []
        for r in rows:
            vals = [None if v is None or v == "" else (
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                for v in r[:len(header)]]
            if any(v not in (None, "") for v in vals):
                vals += [None] * (len(header) - len(vals))
                data.append(vals)
        cols, seen = [], {}
        for h in header:
            h = h or "column"
            seen[h] = seen.get(h, -1) + 1
            cols.append(h if seen[h] == 0 else f"{h}.{seen[h]}")
        df = pd.DataFrame(data, columns=cols, dtype=object)
        t = ctx.temp("sheet")
        ctx.con.register("_ingest_sheet_df", df)
        try:
            ctx.run(f"CREATE TEMP TABLE {t} AS SELECT * FROM _ingest_sheet_df")
        finally:
            ctx.con.unregister("_ingest_sheet_df")
        out.append((title, t, cols, len(df)))
    if not out or out[0][3] == 0 and len(out) == 1 and not out[0][2]:
        raise IngestError("the workbook has no data", file=ctx.name, rule="empty_file")
    return out


def _load_csv(ctx: FileContext, path: Path, label: str) -> tuple[str, list[str], int]:
    info = sniff_text(path, name=label)
    t = ctx.temp("csv")
    n = load_text(ctx.con, info, t, name=label)
    return t, _describe(ctx, t), n


def _load_tables(ctx: FileContext, kind: str):
    """[(label, key, temp, columns, n)] with the main table first, and the form id hint."""
    suf = ctx.path.suffix.lower()
    if suf == ".zip":
        try:
            z = zipfile.ZipFile(ctx.path)
        except zipfile.BadZipFile:
            with open(ctx.path, "rb") as fh:
                head = fh.read(4096)
            if not head.strip():
                raise IngestError("the file is empty", file=ctx.name, rule="empty_file") from None
            raise IngestError("not a readable zip file", file=ctx.name,
                              rule="binary_file" if looks_binary(head) else "unreadable") from None
        with z, tempfile.TemporaryDirectory() as tmp:
            check_zip(z, file=ctx.name)  # sizes and ratios, before anything is decompressed
            members = [m for m in z.namelist() if m.lower().endswith(".csv") and "/" not in m
                       and "\\" not in m and not m.startswith(".")]
            if not members:
                raise IngestError("the zip holds no CSV file", file=ctx.name,
                                  rule="missing_columns")
            members.sort(key=lambda m: (m.count("-"), len(m)))
            main = members[0]
            fid = main[:-4]
            out = []
            for m in members:
                if m != main and not m.startswith(fid + "-"):
                    continue
                p = Path(tmp) / m
                copy_member(z, m, p, file=ctx.name)
                t, cols, n = _load_csv(ctx, p, f"{ctx.name}:{m}")
                out.append((ctx.name if m == main else f"{ctx.name}:{m}", m, t, cols, n))
            return out, fid
    if suf in (".xlsx", ".xlsm"):
        sheets = _load_xlsx(ctx)
        return [(ctx.name if i == 0 else f"{ctx.name}:{title}", title, t, cols, n)
                for i, (title, t, cols, n) in enumerate(sheets)], None
    t, cols, n = _load_csv(ctx, ctx.path, ctx.name)
    return [(ctx.name, ctx.name, t, cols, n)], None


# ---------------------------------------------------------------------------------------------
# header mapping
# ---------------------------------------------------------------------------------------------
def _norm_label(s) -> str:
    return " ".join(str(s).split()).casefold()


def _header_candidates(inst, repeat):
    """{header text: (field name, option or None)} for every plausible export header."""
    names, labels = {}, {}
    glabels = inst.settings.get("_group_labels", {})
    for f in inst.fields_of(repeat):
        paths = [()]
        if f.group:
            grp = list(f.group)
            if repeat is not None and repeat in grp:
                grp = grp[grp.index(repeat) + 1:]
            paths = [(), tuple(grp), tuple(f.group)]
        for path in paths:
            for sep in ("/", "-"):
                pre = "".join(p + sep for p in path)
                names[pre + f.name] = (f.name, None)
                if f.is_multiple:
                    for opt in inst.allowed_values(f) or ():
                        names[f"{pre}{f.name}/{opt}"] = (f.name, opt)
            for lang, lab in f.labels.items():
                lpath = [glabels.get(p, {}).get(lang, p) for p in path]
                pre = "".join(p + "/" for p in lpath)
                labels[_norm_label(pre + lab)] = (f.name, None)
                if f.is_multiple:
                    for c in inst.choices.get(f.list_name, ()):
                        for cl in c.labels.values():
                            labels[_norm_label(f"{pre}{lab}/{cl}")] = (f.name, c.name)
    return names, labels


def map_headers(inst, repeat, columns):
    """Map export columns to fields.

    Returns
    -------
    colmap : dict
        ``{field: {"summary": column or None, "details": {option: column}, "geo": [...]}}``
    label_mode : bool
    ignored : list of str
    """
    names, labels = _header_candidates(inst, repeat)
    meta = KOBO_META | {"_submission_" + m for m in KOBO_META}
    hits_names = hits_labels = 0
    resolved = {}
    ignored = []
    fields = {f.name: f for f in inst.fields_of(repeat)}
    for c in columns:
        if c in names:
            resolved[c] = names[c]
            hits_names += 1
            continue
        if c in meta or c in ODK_META or c.startswith("_submission_") or \
                c.lower().startswith("set-of-") or c.endswith("_URL"):
            continue
        last = re.split(r"[/]", c)
        if len(last) >= 2 and last[-2].split("-")[-1] in fields and \
                fields[last[-2].split("-")[-1]].is_multiple:
            resolved[c] = (last[-2].split("-")[-1], last[-1])
            hits_names += 1
            continue
        tail = last[-1].split("-")[-1]
        if last[-1] in fields or tail in fields:
            resolved[c] = (last[-1] if last[-1] in fields else tail, None)
            hits_names += 1
            continue
        nl = _norm_label(c)
        if nl in labels:
            resolved[c] = labels[nl]
            hits_labels += 1
            continue
        geo = re.match(r"^(?:.*/)?_(.+)_(latitude|longitude|altitude|precision)$", c) or \
            re.match(r"^(?:.*-)?(.+)-(Latitude|Longitude|Altitude|Accuracy)$", c)
        if geo and geo.group(1) in fields:
            resolved[c] = (geo.group(1), "#geo:" + geo.group(2).lower())
            continue
        ignored.append(c)
    label_mode = hits_labels > hits_names
    colmap: dict = {}
    for c, (fname, opt) in resolved.items():
        ent = colmap.setdefault(fname, {"summary": None, "details": {}, "geo": {}})
        if opt is None:
            ent["summary"] = ent["summary"] or c
        elif opt.startswith("#geo:"):
            ent["geo"][opt[5:]] = c
        else:
            ent["details"][opt] = c
    return colmap, label_mode, ignored


# ---------------------------------------------------------------------------------------------
# relevant -> SQL (for conditional required)
# ---------------------------------------------------------------------------------------------
_TOK = re.compile(r"\s*(\$\{[^}]+\}|'[^']*'|\"[^\"]*\"|\d+(?:\.\d+)?|!=|<=|>=|=|<|>|\(|\)|,|"
                  r"[A-Za-z_][\w\-]*)")


def relevant_sql(expr: str, field_sql) -> str | None:
    """Translate a simple XLSForm ``relevant`` to a SQL boolean, or None if it cannot.

    ``field_sql(name)`` gives the SQL text of a field's raw value (or None if unknown).

    >>> relevant_sql("${kind} = 'block_assembly'", lambda n: f"t.{n}")
    "(coalesce(t.kind, '') = 'block_assembly')"
    >>> relevant_sql("selected(${problems}, 'water')", lambda n: n)
    "(list_contains(string_split(coalesce(problems, ''), ' '), 'water'))"
    >>> relevant_sql("today() > ${date}", lambda n: n) is None
    True
    """
    pos, toks = 0, []
    s = expr.strip()
    while pos < len(s):
        m = _TOK.match(s, pos)
        if not m:
            return None
        toks.append(m.group(1))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    out = []
    i = 0

    def ref(tok):
        if tok.startswith("${"):
            return field_sql(tok[2:-1])
        return None

    try:
        while i < len(toks):
            t = toks[i]
            if t in ("and", "or"):
                out.append(t.upper())
            elif t == "not":
                out.append("NOT")
            elif t in ("(", ")"):
                out.append(t)
            elif t in ("=", "!=", "<", "<=", ">", ">="):
                out.append("<>" if t == "!=" else t)
            elif t.startswith("${"):
                r = ref(t)
                if r is None:
                    return None
                nxt = toks[i + 2] if i + 2 < len(toks) else ""
                if re.fullmatch(r"\d+(\.\d+)?", nxt) and toks[i + 1] in ("<", "<=", ">", ">=", "=", "!="):
                    out.append(f"TRY_CAST({r} AS DOUBLE)")
                else:
                    out.append(f"coalesce({r}, '')")
            elif t in ("selected", "count-selected") and i + 1 < len(toks) and toks[i + 1] == "(":
                if t == "selected":
                    r = ref(toks[i + 2])
                    if r is None or toks[i + 3] != "," or toks[i + 5] != ")":
                        return None
                    out.append(f"list_contains(string_split(coalesce({r}, ''), ' '), "
                               f"'{toks[i + 4][1:-1]}')")
                    i += 6
                    continue
                r = ref(toks[i + 2])
                if r is None or toks[i + 3] != ")":
                    return None
                out.append(f"(CASE WHEN {r} IS NULL THEN 0 ELSE len(string_split({r}, ' ')) END)")
                i += 4
                continue
            elif t[0] in "'\"":
                out.append("'" + t[1:-1].replace("'", "''") + "'")
            elif re.fullmatch(r"\d+(\.\d+)?", t):
                out.append(t)
            else:
                return None
            i += 1
    except IndexError:
        return None
    return "(" + " ".join(out) + ")"


# ---------------------------------------------------------------------------------------------
# validation of one table
# ---------------------------------------------------------------------------------------------
def _value_text(v) -> str | None:
    if v is None:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _label_maps(inst, f):
    out = {}
    for c in inst.choices.get(f.list_name, ()):
        for lab in c.labels.values():
            out[_norm_label(lab)] = c.name
        out[_norm_label(c.name)] = c.name
    return out


def _labels_to_names(text: str, lmap: dict, multiple: bool) -> str:
    t = _norm_label(text)
    if not multiple:
        return lmap.get(t, text)
    toks = text.split()
    if all(_norm_label(x) in lmap for x in toks):
        return " ".join(lmap[_norm_label(x)] for x in toks)
    out, rest = [], t
    labs = sorted(lmap, key=len, reverse=True)
    while rest:
        for lab in labs:
            if rest == lab or rest.startswith(lab + " "):
                out.append(lmap[lab])
                rest = rest[len(lab):].strip()
                break
        else:
            return text
    return " ".join(out)


class _TableCheck:
    """Builds the error table and the typed value expressions of one staged table."""

    def __init__(self, ctx, inst, st: Staged, label_mode, where: str, policy: dict):
        self.ctx, self.inst, self.st = ctx, inst, st
        self.label_mode = label_mode
        self.where = where
        self.policy = policy
        self.errs: list[str] = []        # SELECT row, col, value, rule
        self.joins: list[str] = []
        self.values: dict[str, str] = {}  # field -> SQL value expression
        self.raw: dict[str, str] = {}     # field -> SQL raw expression
        self.notes: list[str] = []

    def raw_expr(self, fname) -> str | None:
        ent = self.st.colmap.get(fname)
        if not ent:
            return None
        f = self.inst.field(fname)
        if ent["summary"]:
            return f"NULLIF(trim(s.{q(ent['summary'])}), '')"
        if ent["details"]:
            parts = ", ".join(
                f"CASE WHEN trim(s.{q(c)}) IN {_TRUE} THEN '{o}' END"
                for o, c in ent["details"].items())
            return f"NULLIF(concat_ws(' ', {parts}), '')"
        if ent["geo"] and f.type == "geopoint":
            order = [ent["geo"].get(k) for k in ("latitude", "longitude", "altitude", "precision",
                                                 "accuracy")]
            parts = ", ".join(f"NULLIF(trim(s.{q(c)}), '')" for c in order if c)
            return f"NULLIF(concat_ws(' ', {parts}), '')"
        return None

    def col_label(self, fname) -> str:
        ent = self.st.colmap[fname]
        return ent["summary"] or next(iter(ent["details"].values()), None) or \
            next(iter(ent["geo"].values()), fname)

    def add_err(self, cond: str, col: str, value: str, rule: str) -> None:
        col = col.replace("'", "''")
        rule = rule.replace("'", "''")
        self.errs.append(f"SELECT s._row AS row, '{col}' AS col, CAST({value} AS VARCHAR) AS value, "
                         f"'{rule}' AS rule FROM {self.st.temp} s WHERE ({self.where}) AND ({cond})")

    def check_field(self, f) -> None:
        ctx, inst = self.ctx, self.inst
        raw = self.raw_expr(f.name)
        pol = self.policy[f.name]
        if raw is None or pol == "drop":
            return
        self.raw[f.name] = raw
        ent = self.st.colmap[f.name]
        col = self.col_label(f.name)
        ctype = inst.column_types(f.repeat).get(f.name, "VARCHAR")
        shown = raw if pol not in ("pseudonymise", "freetext") else "NULL"
        # summary vs details consistency
        if f.is_multiple and ent["summary"] and ent["details"] and not self.label_mode:
            det = ", ".join(f"CASE WHEN trim(s.{q(c)}) IN {_TRUE} THEN '{o}' END"
                            for o, c in ent["details"].items())
            rebuilt = f"NULLIF(concat_ws(' ', {det}), '')"
            summ = f"NULLIF(trim(s.{q(ent['summary'])}), '')"
            known = "[" + ", ".join(f"'{o}'" for o in ent["details"]) + "]"
            self.add_err(
                f"list_sort(list_filter(string_split(coalesce({summ}, ''), ' '), "
                f"lambda x: list_contains({known}, x))) IS DISTINCT FROM "
                f"list_sort(list_filter(string_split(coalesce({rebuilt}, ''), ' '), lambda x: x <> ''))",
                col, summ, "select_multiple_inconsistent")
        # empty values
        _, empty_rule = inst.check_value(f, "")
        if empty_rule:
            self.add_err(f"{raw} IS NULL", col, "NULL", empty_rule)
        elif f.required and f.relevant:
            rel = relevant_sql(f.relevant, self.raw_expr)
            if rel is not None:
                self.add_err(f"{raw} IS NULL AND coalesce({rel}, false)", col, "NULL", "required")
        if f.type in ("select_one_from_file", "select_multiple_from_file"):
            stem = Path(f.list_name or f.name).stem.lower()
            tbl = _FILE_TABLES.get(stem) or _FILE_TABLES.get(f.name + "s")
            if tbl:
                n = ctx.con.execute(f"SELECT count(*) FROM {tbl[0]}").fetchall()[0][0]
                if n:
                    self.add_err(f"{raw} IS NOT NULL AND {raw} NOT IN (SELECT {tbl[1]} FROM {tbl[0]})",
                                 col, shown, f"not in {tbl[0]}")
                else:
                    self.notes.append(f"{tbl[0]} not in the store: {f.name} codes not checked")
        # values: distinct verdicts from the instrument, or SQL casts for huge columns
        vals = [r[0] for r in ctx.con.execute(
            f"SELECT DISTINCT {raw} FROM {self.st.temp} s WHERE ({self.where}) AND {raw} IS NOT NULL "
            f"LIMIT {DISTINCT_LIMIT + 1}").fetchall()]
        nd = len(vals)
        simple = (not f.constraint) and (not f.is_select) and (
            ctype in _SQL_TYPES or ctype == "VARCHAR" and f.type in (
                "text", "calculate", "deviceid", "username", "phonenumber", "email", "audit",
                "image", "audio", "video", "file", "barcode", "note", "hidden", "acknowledge",
                "simserial", "subscriberid"))
        if simple and (nd > DISTINCT_LIMIT or ctype == "VARCHAR"):
            if ctype == "VARCHAR":
                self.values[f.name] = raw
                return
            cast = {"BIGINT": f"TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS BIGINT)",
                    "DOUBLE": f"TRY_CAST({raw} AS DOUBLE)",
                    "DATE": f"TRY_CAST(substr({raw}, 1, 10) AS DATE)",
                    }.get(ctype, f"TRY_CAST({raw} AS {ctype})")
            rule = inst.check_value(f, "x")[1] or ctype.lower()
            cond = f"{raw} IS NOT NULL AND {cast} IS NULL"
            if ctype == "BIGINT":
                cond += f" OR TRY_CAST({raw} AS DOUBLE) <> TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS BIGINT)"
            self.add_err(cond, col, shown, rule)
            self.values[f.name] = cast
            return
        if nd > DISTINCT_LIMIT:  # a constraint or a select: every distinct value is needed
            vals = [r[0] for r in ctx.con.execute(
                f"SELECT DISTINCT {raw} FROM {self.st.temp} s WHERE ({self.where}) AND {raw} "
                "IS NOT NULL").fetchall()]
        lmap = _label_maps(inst, f) if (self.label_mode and f.is_select) else None
        rows = []
        order = {c.name: i for i, c in enumerate(inst.choices.get(f.list_name, ()))}
        for v in vals:
            src = _labels_to_names(v, lmap, f.is_multiple) if lmap else v
            try:
                val, rule = inst.check_value(f, src)
            except InstrumentError as e:  # pragma: no cover - defensive
                val, rule = None, str(e)
            if rule is None and f.is_multiple and isinstance(val, str) and order:
                # one canonical form whatever the export mode: choice-list order, no repeats
                val = " ".join(sorted(dict.fromkeys(val.split()), key=lambda x: order.get(x, 1e9)))
            rows.append((v, _value_text(val) if rule is None else None, rule))
        bad = [r for r in rows if r[2] is not None]
        identity = all(r[1] == r[0] for r in rows if r[2] is None)
        if identity and ctype in ("VARCHAR", "BIGINT", "DOUBLE", "DATE"):
            # the form accepts the values as they are: no join needed, only the bad ones listed
            for v, _, rule in bad:
                lit = "'" + v.replace("'", "''") + "'"
                self.add_err(f"{raw} = {lit}", col, shown, rule)
            self.values[f.name] = raw if ctype == "VARCHAR" else f"TRY_CAST({raw} AS {ctype})"
            if len(bad) > 50:  # many bad values: one join instead of many predicates
                self.errs = self.errs[:len(self.errs) - len(bad)]
            else:
                return
        mt = ctx.temp("map")
        df = pd.DataFrame(rows, columns=["raw", "val", "rule"], dtype=object)
        ctx.con.register("_ingest_map_df", df)
        try:
            ctx.run(f"CREATE TEMP TABLE {mt} (raw VARCHAR, val VARCHAR, rule VARCHAR)")
            if len(df):
                ctx.run(f"INSERT INTO {mt} SELECT raw, val, rule FROM _ingest_map_df")
        finally:
            ctx.con.unregister("_ingest_map_df")
        alias = f"m{len(self.joins)}"
        self.joins.append(f"LEFT JOIN {mt} {alias} ON {alias}.raw = {raw}")
        self.errs.append(
            f"SELECT s._row AS row, '{col.replace(chr(39), chr(39) * 2)}' AS col, "
            f"CAST({shown} AS VARCHAR) AS value, {alias}.rule AS rule FROM {self.st.temp} s "
            f"JOIN {mt} {alias} ON {alias}.raw = {raw} WHERE ({self.where}) AND {alias}.rule IS NOT NULL")
        self.values[f.name] = f"{alias}.val" if ctype == "VARCHAR" else \
            f"TRY_CAST({alias}.val AS {ctype})"


# ---------------------------------------------------------------------------------------------
# the reader
# ---------------------------------------------------------------------------------------------
def _uuid_expr(cols: list[str], kind: str) -> str | None:
    low = {c.lower(): c for c in cols}
    for c in ("_uuid", "key", "meta-instanceid", "meta/instanceid", "instanceid"):
        if c in low:
            return f"NULLIF(regexp_replace(trim({q(low[c])}), '^uuid:', ''), '')"
    return None


def _stage(ctx, raw_tables, inst_hint) -> list[Staged]:
    """Add _row, _uuid and _parent_uuid to every table (main first, parents before children)."""
    staged = []
    main_label, main_key, t0, cols0, n0 = raw_tables[0]
    off = row_offset(ctx.con, t0)
    uid = _uuid_expr(cols0, "") or f"'{ctx.sha256[:16]}-' || CAST(rowid - {off} + 1 AS VARCHAR)"
    st0 = ctx.temp("main", view=True)
    # a view, not a copy: the main table can hold millions of rows
    ctx.run(f"CREATE TEMP VIEW {st0} AS SELECT rowid - {off} + 1 AS _row, {uid} AS _uuid, "
            f"CAST(NULL AS VARCHAR) AS _parent_uuid, * FROM {t0}")
    staged.append(Staged(main_label, st0, cols0, None, main_key, n0))
    by_key = {main_key: st0}
    titles = {}
    for label, key, t, cols, n in raw_tables[1:]:
        low = {c.lower(): c for c in cols}
        rep = _repeat_for(inst_hint, key)
        off = row_offset(ctx.con, t)
        st = ctx.temp("rep")
        if "parent_key" in low and "key" in low:
            ctx.run(f"CREATE TEMP TABLE {st} AS SELECT rowid - {off} + 1 AS _row, "
                    f"regexp_replace(trim({q(low['key'])}), '^uuid:', '') AS _uuid, "
                    f"regexp_replace(trim({q(low['parent_key'])}), '^uuid:', '') AS _parent_uuid, "
                    f"* FROM {t}")
        elif "_parent_index" in low:
            ptab = low.get("_parent_table_name")
            parent_sheet = None
            if ptab:
                r = ctx.con.execute(f"SELECT any_value({q(ptab)}) FROM {t}").fetchall()
                parent_sheet = r[0][0] if r else None
            ptemp = by_key.get(parent_sheet, st0)
            pcols = {c.lower(): c for c in _describe(ctx, ptemp)}
            pidx = pcols.get("_index")
            if pidx is None:
                raise IngestError(f"sheet {key}: parent sheet has no _index column",
                                  file=ctx.name, column="_index", rule="missing_columns")
            ctx.run(
                f"CREATE TEMP TABLE {st} AS SELECT c.rowid - {off} + 1 AS _row, "
                f"p._uuid || '/{(rep or key)}[' || CAST(row_number() OVER (PARTITION BY "
                f"c.{q(low['_parent_index'])} ORDER BY c.rowid) AS VARCHAR) || ']' AS _uuid, "
                f"p._uuid AS _parent_uuid, c.* FROM {t} c LEFT JOIN {ptemp} p "
                f"ON trim(p.{q(pidx)}) = trim(c.{q(low['_parent_index'])}) ORDER BY c.rowid")
        else:
            raise IngestError(f"table {key} has no link to its parent (PARENT_KEY or "
                              "_parent_index)", file=ctx.name, rule="missing_columns")
        staged.append(Staged(label, st, cols, rep, key, n))
        by_key[key] = st
        titles[key] = st
    return staged


def _repeat_for(inst, key: str) -> str | None:
    if inst is None:
        return None
    stem = re.sub(r"\.csv$", "", key, flags=re.I)
    for rep in inst.repeats():
        if stem == rep or stem.endswith("-" + rep) or (len(key) >= 31 and rep.startswith(key)) \
                or key == rep[:31]:
            return rep
    return None


def _versions(ctx, st: Staged) -> tuple[str | None, list[tuple[str, int]]]:
    low = {c.lower(): c for c in st.columns}
    vcol = low.get("__version__") or low.get("formversion")
    if vcol is None:
        return None, []
    rows = ctx.con.execute(
        f"SELECT NULLIF(trim({q(vcol)}), '') AS v, min(_row) FROM {st.temp} GROUP BY 1 "
        "ORDER BY 2").fetchall()
    return vcol, [(r[0], r[1]) for r in rows]


def ingest_survey(ctx: FileContext, kind: str) -> Outcome:
    forms = ctx.forms
    raw_tables, fid_hint = _load_tables(ctx, kind)
    opt_fid, opt_ver = F.parse_form_option(ctx.form)
    fid = opt_fid or fid_hint or F.guess_form_id(forms, ctx.name, raw_tables[0][3])
    if fid is None:
        raise IngestError(
            "cannot tell which form this export belongs to; use --form FORM_ID[@VERSION] "
            f"(known forms: {', '.join(F.form_ids(forms)) or 'none'})", file=ctx.name,
            rule="unknown_form")
    base = F.resolve(forms, fid, opt_ver, ctx.name)
    staged = _stage(ctx, raw_tables, base)
    main = staged[0]
    vcol, versions = _versions(ctx, main)
    groups: list[tuple[object, str]] = []  # (instrument, where on main)
    if vcol is None:
        groups.append((base, "true"))
    else:
        for v, first in versions:
            if v is None:
                groups.append((base, f"NULLIF(trim(s.{q(vcol)}), '') IS NULL"))
            else:
                inst = F.instrument_for_version(forms, fid, v, ctx.name, row=first, column=vcol)
                groups.append((inst, f"trim(s.{q(vcol)}) = '{v.replace(chr(39), chr(39) * 2)}'"))
    notes: list[str] = []
    limit = _future_limit(ctx)
    if vcol is None and opt_ver is None:
        notes.append(f"no version column: checked against version {base.version or '(none)'}")
    secret = None
    total_read = sum(s.n for s in staged)
    accepted = quarantined = duplicates = 0
    table_main = base.table_name()
    err_tables: dict[str, str] = {}
    for st in staged:
        err_tables[st.temp] = ctx.temp("err")
        ctx.run(f"CREATE TEMP TABLE {err_tables[st.temp]} (row BIGINT, col VARCHAR, "
                "value VARCHAR, rule VARCHAR)")
    ignored_all: set = set()
    inserts = []
    for inst, where_main in groups:
        for st in staged:
            rep = st.repeat
            if st is not main and rep is None:
                ignored_all.add(f"table {st.key}")
                continue
            colmap, label_mode, ignored = map_headers(inst, rep, st.columns)
            st.colmap = colmap
            ignored_all.update(ignored)
            missing = [f.name for f in inst.fields_of(rep)
                       if f.required and not f.relevant and f.name not in colmap
                       and f.type not in ("start", "end", "calculate")]
            if missing:
                raise IngestError(
                    f"missing required column(s) {', '.join(missing[:8])} of form "
                    f"{inst.form_id} version {inst.version}", file=st.label, row=0,
                    column=missing[0], rule="missing_columns")
            if st is main:
                where = where_main
            else:
                where = (f"s._parent_uuid IN (SELECT s._uuid FROM {main.temp} s WHERE {where_main})"
                         if where_main != "true" else "true")
                if st.repeat and inst.repeat_parent(st.repeat):
                    where = "true"
            policy = {f.name: policy_for(f.name, personal=f.personal, free_text=f.free_text)
                      for f in inst.fields_of(rep)}
            chk = _TableCheck(ctx, inst, st, label_mode, where, policy)
            for f in inst.fields_of(rep):
                if f.name == "__version__":
                    continue
                chk.check_field(f)
                ctype = inst.column_types(rep).get(f.name, "VARCHAR")
                raw = chk.raw.get(f.name)
                if raw and ctype in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
                    chk.add_err(f"TRY_CAST(substr({raw}, 1, 10) AS DATE) > DATE '{limit}'",
                                chk.col_label(f.name), raw, "future_date")
            notes.extend(n for n in chk.notes if n not in notes)
            for sql in chk.errs:
                ctx.run(f"INSERT INTO {err_tables[st.temp]} {sql}")
            inserts.append((inst, st, chk, where, policy))
    # duplicates and parent links
    et = err_tables[main.temp]
    tgt = base.table_name()
    exists = ctx.store.has_table(tgt) and "_uuid" in ctx.store.columns(tgt)
    dup_cond = "row_number() OVER (PARTITION BY _uuid ORDER BY _row) > 1"
    ctx.run(f"INSERT INTO {et} SELECT _row, '_uuid', NULL, 'missing_submission_id' FROM "
            f"{main.temp} WHERE _uuid IS NULL")
    ctx.run(f"INSERT INTO {et} SELECT _row, '_uuid', _uuid, 'duplicate_submission' FROM "
            f"(SELECT _row, _uuid, {dup_cond} AS d FROM {main.temp} WHERE _uuid IS NOT NULL) "
            "WHERE d")
    stime = _submission_time_sql(main.columns)
    if stime != "NULL":  # impossible or future submission times are quarantined, not NULLed
        low0 = {c.lower(): c for c in main.columns}
        rawt = f"NULLIF(trim(s.{q(low0.get('_submission_time') or low0['submissiondate'])}), '')"
        ctx.run(f"INSERT INTO {et} SELECT s._row, '_submission_time', {rawt}, CASE WHEN "
                f"{stime} IS NULL THEN 'invalid_timestamp' ELSE 'future_date' END FROM "
                f"{main.temp} s WHERE ({rawt} IS NOT NULL AND {stime} IS NULL) OR "
                f"CAST({stime} AS DATE) > DATE '{limit}'")
    if exists and stime != "NULL" and not _replacing(ctx) and \
            "_submission_time" in ctx.store.columns(tgt):
        # a correction applies when it is at least as recent as the stored version
        ctx.run(f"INSERT INTO {et} SELECT s._row, '_submission_time', {stime}, "
                f"'older_than_stored' FROM {main.temp} s JOIN {q(tgt)} t ON t._uuid = s._uuid "
                f"WHERE t._submission_time > {stime}")
    duplicates = ctx.con.execute(
        f"SELECT count(DISTINCT row) FROM {et} WHERE rule = 'duplicate_submission'").fetchall()[0][0]
    bad_uuid = {main.temp: f"SELECT s._uuid FROM {main.temp} s WHERE s._row IN (SELECT row FROM {et})"}
    for st in staged[1:]:
        e = err_tables[st.temp]
        ctx.run(f"INSERT INTO {e} SELECT _row, 'KEY', NULL, 'missing_submission_id' FROM "
                f"{st.temp} WHERE _uuid IS NULL AND _parent_uuid IS NOT NULL")
        parent_t = next((x.temp for x in staged if x.repeat is not None and st.repeat and
                         base.repeat_parent(st.repeat) == x.repeat), main.temp)
        ctx.run(f"INSERT INTO {e} SELECT s._row, 'PARENT', s._parent_uuid, CASE WHEN "
                f"s._parent_uuid IS NULL OR s._parent_uuid NOT IN (SELECT _uuid FROM {parent_t}) "
                f"THEN 'orphan_repeat_row' ELSE 'parent_quarantined' END FROM {st.temp} s WHERE "
                f"s._parent_uuid IS NULL OR s._parent_uuid NOT IN (SELECT _uuid FROM {parent_t}) "
                f"OR s._parent_uuid IN ({bad_uuid.get(parent_t, 'SELECT NULL')})")
        bad_uuid[st.temp] = f"SELECT s._uuid FROM {st.temp} s WHERE s._row IN (SELECT row FROM {e})"
    # quarantine
    for st in staged:
        if st is not main and st.repeat is None:
            continue
        ctx.quarantine_sql(f"SELECT DISTINCT row, col, value, rule FROM {err_tables[st.temp]}",
                           file_label=st.label)
    # insert accepted rows: new ones added, changed ones replaced (old version to history)
    counts = UpsertCounts()
    inc_of: dict = {}

    def parent_temp(st):
        par = base.repeat_parent(st.repeat) if st.repeat else None
        return next((x.temp for x in staged if par is not None and x.repeat == par), main.temp)

    for inst, st, chk, where, policy in inserts:
        e = err_tables[st.temp]
        tname = inst.table_name(st.repeat)
        ctypes = inst.column_types(st.repeat)
        schema = {"_uuid": "VARCHAR"}
        if st is main:
            schema.update({"_id": "VARCHAR", "_submission_time": "TIMESTAMP",
                           "__version__": "VARCHAR"})
        else:
            schema["_parent_uuid"] = "VARCHAR"
        schema["_file_sha256"] = "VARCHAR"
        free = []
        sel = {"_uuid": "s._uuid", "_file_sha256": f"'{ctx.sha256}'"}
        low = {c.lower(): c for c in st.columns}
        if st is main:
            idc = low.get("_id")
            vc = low.get("__version__") or low.get("formversion")
            sel["_id"] = f"NULLIF(trim(s.{q(idc)}), '')" if idc else "NULL"
            sel["_submission_time"] = _submission_time_sql(st.columns)
            sel["__version__"] = f"NULLIF(trim(s.{q(vc)}), '')" if vc else f"'{inst.version}'"
        else:
            sel["_parent_uuid"] = "s._parent_uuid"
        pseudo_maps = []
        for f in inst.fields_of(st.repeat):
            if f.name == "__version__":
                continue
            pol = policy[f.name]
            if pol == "drop":
                continue
            if pol == "freetext":
                if f.name in chk.raw:
                    free.append(f.name)
                continue
            typ = "VARCHAR" if pol == "pseudonymise" else ctypes.get(f.name, "VARCHAR")
            schema[f.name] = typ
            if f.name not in chk.values:
                sel[f.name] = f"CAST(NULL AS {typ})"
                continue
            if pol == "pseudonymise":
                if secret is None:
                    secret = ctx.secret()
                    mark_pseudonymised(ctx.store, secret)
                vals = [r[0] for r in ctx.con.execute(
                    f"SELECT DISTINCT {chk.raw[f.name]} FROM {st.temp} s WHERE {chk.raw[f.name]} "
                    "IS NOT NULL").fetchall()]
                pm = ctx.temp("pseudo")
                pdf = pd.DataFrame({"raw": vals, "p": [pseudonymise(v, secret) for v in vals]},
                                   dtype=object)
                ctx.run(f"CREATE TEMP TABLE {pm} (raw VARCHAR, p VARCHAR)")
                if len(pdf):
                    ctx.con.register("_ingest_pseudo_df", pdf)
                    try:
                        ctx.run(f"INSERT INTO {pm} SELECT raw, p FROM _ingest_pseudo_df")
                    finally:
                        ctx.con.unregister("_ingest_pseudo_df")
                alias = f"p{len(pseudo_maps)}"
                pseudo_maps.append(f"LEFT JOIN {pm} {alias} ON {alias}.raw = {chk.raw[f.name]}")
                sel[f.name] = f"{alias}.p"
            else:
                sel[f.name] = chk.values[f.name]
        ctx.store.ensure_table(tname, schema)
        cols = list(sel)
        good = f"({where}) AND s._row NOT IN (SELECT row FROM {e})"
        inc = ctx.temp("inc")
        ctx.run(
            f"CREATE TEMP TABLE {inc} AS SELECT "
            + ", ".join(f"CAST({sel[c]} AS {schema[c]}) AS {q(c)}" for c in cols)
            + f" FROM {st.temp} s {' '.join(chk.joins)} {' '.join(pseudo_maps)} WHERE {good}")
        replace = _replacing(ctx)
        if replace:
            scope = "true"
        elif st is main:
            scope = None
        else:  # the file carries this repeat: it is the whole truth for its parents' rows
            ptab = inc_of.get((id(inst), parent_temp(st)))
            scope = f"t._parent_uuid IN (SELECT _uuid FROM {ptab})" if ptab else None
        inc_of[(id(inst), st.temp)] = inc
        counts += upsert(ctx.store, tname, inc, key=["_uuid"], file_sha256=ctx.sha256,
                         ignore=["_file_sha256"], scope=scope)
        if free:
            ft = f"{tname}__freetext"
            ctx.store.ensure_table(ft, {"_uuid": "VARCHAR", **{c: "VARCHAR" for c in free}})
            finc = ctx.temp("free")
            ctx.run(f"CREATE TEMP TABLE {finc} AS SELECT s._uuid, "
                    + ", ".join(f"CAST({chk.raw[c]} AS VARCHAR) AS {q(c)}" for c in free)
                    + f" FROM {st.temp} s WHERE {good} AND ("
                    + " OR ".join(f"{chk.raw[c]} IS NOT NULL" for c in free) + ")")
            _redact_table(ctx, finc, free)
            upsert(ctx.store, ft, finc, key=["_uuid"], file_sha256=ctx.sha256,
                   scope="true" if replace else f"t._uuid IN (SELECT _uuid FROM {inc})")
    for st in staged:
        bad = ctx.con.execute(
            f"SELECT count(DISTINCT row) FROM {err_tables[st.temp]}").fetchall()[0][0]
        if st is not main and st.repeat is None:
            bad = st.n  # a sheet/member that is no repeat of the form: quarantine it whole
            ctx.quarantine_sql(f"SELECT _row AS row, NULL AS col, NULL AS value, "
                               f"'not_a_repeat_of_the_form' AS rule FROM {st.temp}",
                               file_label=st.label)
        quarantined += bad
        accepted += st.n - bad
    if ignored_all:
        shown = sorted(ignored_all)
        notes.append(f"{len(shown)} columns not in the form ignored ({', '.join(shown[:6])}"
                     + (", ..." if len(shown) > 6 else "") + ")")
    versions_seen = sorted({str(i.version) for i, _ in groups})
    return Outcome(kind=kind, table=table_main, rows_read=total_read, accepted=accepted,
                   quarantined=quarantined, duplicates=duplicates, instrument=base.form_id,
                   version=",".join(versions_seen), notes=notes, new=counts.new,
                   updated=counts.updated, unchanged=counts.unchanged)


def _future_limit(ctx) -> str:
    """Latest acceptable date (ISO): today (UTC) plus ``city.yml: future_tolerance_days``."""
    days = 1
    if ctx.ws is not None and ctx.ws.exists():
        days = ctx.ws.config().future_tolerance_days
    return (ctx.now.normalize() + pd.Timedelta(days=days)).date().isoformat()


def _replacing(ctx) -> bool:
    """``--replace``: the file replaces the whole source."""
    return bool((getattr(ctx, "options", None) or {}).get("replace"))


def _submission_time_sql(cols: list[str]) -> str:
    """SQL (alias ``s``) of a main row's submission time as a UTC TIMESTAMP, or ``NULL``."""
    low = {c.lower(): c for c in cols}
    stc = low.get("_submission_time") or low.get("submissiondate")
    if not stc:
        return "NULL"
    return f"TRY_CAST(replace(substr(trim(s.{q(stc)}), 1, 19), 'T', ' ') AS TIMESTAMP)"


def _redact_table(ctx: FileContext, table: str, columns: list[str]) -> None:
    """Redact phones, e-mails and street addresses in the free-text columns of ``table``."""
    for c in columns:
        vals = [r[0] for r in ctx.con.execute(
            f"SELECT DISTINCT {q(c)} FROM {table} WHERE {q(c)} IS NOT NULL").fetchall()]
        pairs = [(v, redact(v)) for v in vals]
        pairs = [(a, b) for a, b in pairs if a != b]
        if not pairs:
            continue
        m = ctx.temp("redact")
        ctx.run(f"CREATE TEMP TABLE {m} (raw VARCHAR, red VARCHAR)")
        ctx.con.register("_ingest_redact_df", pd.DataFrame(pairs, columns=["raw", "red"],
                                                           dtype=object))
        try:
            ctx.run(f"INSERT INTO {m} SELECT raw, red FROM _ingest_redact_df")
        finally:
            ctx.con.unregister("_ingest_redact_df")
        ctx.run(f"UPDATE {table} SET {q(c)} = r.red FROM {m} r WHERE {table}.{q(c)} = r.raw")
