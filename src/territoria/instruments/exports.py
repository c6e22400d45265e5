"""Write data exactly as KoboToolbox and ODK Central export it.

The sample-city generator and the ingest tests use these writers to produce realistic raw
files from DataFrames keyed by field name (one main frame, one frame per repeat).

Formats (see ``design/formats-and-data.md`` §2; KoboToolbox = KPI on ``formpack``):

* :func:`write_kobo_csv` — Kobo CSV: ``;`` separator, every field double-quoted, CRLF, UTF-8
  without BOM; question columns in form order (``group/sub/q`` with groups in headers), then the
  meta columns ``_id, _uuid, _submission_time, _validation_status, _notes, _status,
  _submitted_by, __version__, _tags, _index``. select_multiple ``both`` (``q`` then ``q/opt``
  with ``1``/``0``), ``summary`` (``q``) or ``details`` (``q/opt``); geopoint ``p`` adds
  ``_p_latitude, _p_longitude, _p_altitude, _p_precision``; image/audio/video/file add
  ``<name>_URL``. The CSV holds the main table only (as Kobo's).
* :func:`write_kobo_xlsx` — Kobo XLSX: main sheet (form title, ≤31 characters) with ``_index``,
  one sheet per repeat with ``_index, _parent_table_name, _parent_index`` and the
  ``_submission_*`` copies of the submission's meta columns. Every cell is text
  (``xls_types_as_text``).
* :func:`write_odk_zip` — ODK Central ``submissions.csv.zip``: ``<formId>.csv`` with
  ``SubmissionDate, <fields>, meta-instanceID, KEY, SubmitterID, SubmitterName,
  AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID, Edits, FormVersion``
  (group separator ``-``; geopoint split into ``-Latitude, -Longitude, -Altitude, -Accuracy``)
  and ``<formId>-<repeat path>.csv`` with ``<fields>, PARENT_KEY, KEY``; comma separated,
  quoted only when needed.

Input frames: ``main_df`` has one row per submission and columns named after the fields
(missing columns are written empty; columns that are not fields are ignored, except the meta
columns below). It may carry ``_uuid``, ``_submission_time``, ``_id``, ``_validation_status``,
``_submitted_by``, ``_tags``, ``__version__`` (Kobo) and ``SubmitterID``, ``SubmitterName``,
``ReviewState``, ``DeviceID`` (ODK); missing ones are generated deterministically from
``seed`` (UUIDs are derived from a hash of form, seed and row, never random; submission times
follow the ``end`` answer, or a fixed date). Each repeat frame has ``_parent_row``: the 0-based
position of its parent row in ``main_df`` (or, for a nested repeat, in the enclosing repeat's
frame). Output is byte-identical for identical input (fixed zip timestamps, no clock).

Examples
--------
>>> import io, pandas as pd
>>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
>>> inst = load_instrument(default_surveys_dir() / "votes.xlsx")
>>> main = pd.DataFrame({"participant_code": ["P1"], "territory": ["07-001"], "round": ["assembly"],
...                      "sex": ["female"], "age_group": ["30_44"]})
>>> votes = pd.DataFrame({"_parent_row": [0, 0], "proposal_code": ["X1", "X2"],
...                       "vote": ["agree", "pass"]})
>>> buf = io.BytesIO()
>>> write_kobo_csv(inst, main, buf)
>>> buf.getvalue().decode().splitlines()[0][:60]
'"start";"end";"participant_code";"territory";"block";"round"'
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
import uuid
import zipfile
from pathlib import Path

import pandas as pd

from territoria.exceptions import DataError, InstrumentError
from territoria.instruments.xlsform import Field, Instrument

__all__ = [
    "KOBO_META",
    "ODK_META",
    "write_kobo_csv",
    "write_kobo_xlsx",
    "write_odk_zip",
    "write_choice_files",
    "kobo_headers",
    "deterministic_uuid",
]

#: Kobo meta ("copy") columns, in export order, appended after the questions.
KOBO_META = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags", "_index")
#: Meta columns copied into each Kobo repeat sheet (prefixed with ``_submission_``).
_KOBO_SUBMISSION_COPY = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes",
                         "_status", "_submitted_by", "__version__", "_tags")
#: ODK Central meta columns after the fields of the root table.
ODK_META = ("KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
            "Status", "ReviewState", "DeviceID", "Edits", "FormVersion")
_MEDIA = {"image", "audio", "video", "file", "background-audio", "background-video"}
_SKIP_FIELDS = {"__version__"}  # Kobo's own calculate; exported as a meta column
_FIXED_DATE = (2026, 1, 1, 0, 0, 0)
_BASE_TIME = dt.datetime(2026, 1, 1, 12, 0, 0)
_VALIDATION_LABELS = {
    "validation_status_approved": "Approved",
    "validation_status_not_approved": "Not Approved",
    "validation_status_on_hold": "On Hold",
}


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------
def deterministic_uuid(*parts) -> str:
    """A version-4-shaped UUID derived from a hash of ``parts`` (reproducible, not random).

    >>> deterministic_uuid("territoria_votes", 0, 1)
    '...-4...-...'
    >>> deterministic_uuid("a", 1) == deterministic_uuid("a", 1)
    True
    """
    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, (list, tuple, set)) else False
    except (TypeError, ValueError):
        return False


def _fmt_datetime(v) -> str:
    if isinstance(v, str):
        return v
    ts = pd.Timestamp(v)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
    if ts.tzinfo is not None:
        off = ts.strftime("%z")
        text += f"{off[:3]}:{off[3:]}"
    return text


def _fmt(field: Field | None, v) -> str:
    """A value as text, the way the servers write it."""
    if _is_missing(v):
        return ""
    t = field.type if field is not None else None
    if isinstance(v, (list, tuple, set)):
        return " ".join(str(x) for x in v)
    if t in ("datetime", "start", "end"):
        return _fmt_datetime(v)
    if t in ("date", "today"):
        if isinstance(v, str):
            return v
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (float,)) or (hasattr(v, "dtype") and "float" in str(getattr(v, "dtype", ""))):
        x = float(v)
        return str(int(x)) if x.is_integer() else repr(x)
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return _fmt_datetime(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _choice_label(inst: Instrument, f: Field, name: str, lang: str) -> str:
    if f.list_name in inst.choices:
        return inst.choice_label(f.list_name, name, lang)
    return name


def _value_text(inst: Instrument, f: Field, v, labels: bool, lang: str) -> str:
    text = _fmt(f, v)
    if labels and text and f.is_select and f.list_name in inst.choices:
        if f.is_multiple:
            return " ".join(_choice_label(inst, f, p, lang) for p in text.split())
        return _choice_label(inst, f, text, lang)
    return text


def _get(row: dict, key: str):
    v = row.get(key)
    return None if _is_missing(v) else v


# --------------------------------------------------------------------------------------------
# column plans
# --------------------------------------------------------------------------------------------
def _group_label(inst: Instrument, name: str, lang: str) -> str:
    return inst.settings.get("_group_labels", {}).get(name, {}).get(lang) or name


def _prefix(inst: Instrument, f: Field, *, relative_to: str | None, sep: str, labels: bool,
            lang: str, groups: bool) -> str:
    if not groups:
        return ""
    path = list(f.group)
    if relative_to is not None and relative_to in path:
        path = path[path.index(relative_to) + 1:]
    if labels:
        path = [_group_label(inst, g, lang) for g in path]
    return "".join(p + sep for p in path)


def _kobo_columns(inst, repeat, *, headers, lang, group_sep, groups_in_headers, multiple_select):
    """List of (header, getter(row) -> text) for one Kobo table."""
    labels = headers == "labels"
    cols = []
    for f in inst.fields_of(repeat):
        if f.name in _SKIP_FIELDS:
            continue
        pre = _prefix(inst, f, relative_to=repeat, sep=group_sep, labels=labels, lang=lang,
                      groups=groups_in_headers)
        head = pre + (inst.label(f, lang) if labels else f.name)
        if f.is_multiple:
            if multiple_select in ("both", "summary"):
                cols.append((head, lambda r, f=f: _value_text(inst, f, _get(r, f.name), labels, lang)))
            if multiple_select in ("both", "details"):
                for c in inst.choices.get(f.list_name, ()):
                    sub = head + group_sep + (c.label(lang, inst.default_language) if labels else c.name)

                    def detail(r, f=f, c=c):
                        text = _fmt(f, _get(r, f.name))
                        if not text:
                            return ""
                        return "1" if c.name in text.split() else "0"

                    cols.append((sub, detail))
            continue
        cols.append((head, lambda r, f=f: _value_text(inst, f, _get(r, f.name), labels, lang)))
        if f.type == "geopoint":
            for i, part in enumerate(("latitude", "longitude", "altitude", "precision")):
                def geo(r, f=f, i=i):
                    parts = _fmt(f, _get(r, f.name)).split()
                    return parts[i] if i < len(parts) else ""

                cols.append((f"{pre}_{f.name}_{part}", geo))
        elif f.type in _MEDIA:
            cols.append((f"{pre}{f.name}_URL", lambda r, f=f: _fmt(None, _get(r, f.name + "_URL"))))
    return cols


def kobo_headers(inst: Instrument, repeat: str | None = None, *, headers: str = "xml",
                 lang: str = "es", group_sep: str = "/", groups_in_headers: bool = True,
                 multiple_select: str = "both") -> list[str]:
    """Question headers of a Kobo export of the main table (or a repeat), without meta columns.

    >>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
    >>> inst = load_instrument(default_surveys_dir() / "assembly.xlsx")
    >>> [h for h in kobo_headers(inst) if h.startswith("topics")][:3]
    ['topics', 'topics/security', 'topics/services']
    >>> kobo_headers(inst)[6]
    'location/zone'
    """
    _check_options(headers, multiple_select)
    return [h for h, _ in _kobo_columns(inst, repeat, headers=headers, lang=lang,
                                       group_sep=group_sep, groups_in_headers=groups_in_headers,
                                       multiple_select=multiple_select)]


def _check_options(headers, multiple_select):
    if headers not in ("xml", "labels"):
        raise InstrumentError(f"headers must be 'xml' or 'labels', got {headers!r}")
    if multiple_select not in ("both", "summary", "details"):
        raise InstrumentError(
            f"multiple_select must be 'both', 'summary' or 'details', got {multiple_select!r}")


# --------------------------------------------------------------------------------------------
# submissions (meta values)
# --------------------------------------------------------------------------------------------
def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None:
        return []
    if not isinstance(df, pd.DataFrame):
        raise InstrumentError(f"expected a pandas DataFrame, got {type(df).__name__}")
    return df.to_dict("records")


def _submission_time(inst: Instrument, row: dict, i: int) -> str:
    v = _get(row, "_submission_time")
    if v is not None:
        if isinstance(v, str):
            return v
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.strftime("%Y-%m-%dT%H:%M:%S")
    end = _get(row, "end") if inst.has_field("end") else None
    if end is not None:
        try:
            ts = pd.Timestamp(end)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            return (ts + pd.Timedelta(seconds=97)).strftime("%Y-%m-%dT%H:%M:%S")
        except (ValueError, TypeError):
            pass
    return (_BASE_TIME + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%S")


def _kobo_meta(inst: Instrument, rows: list[dict], *, start_id: int, seed, labels: bool) -> list[dict]:
    out = []
    for i, r in enumerate(rows):
        vs = _fmt(None, _get(r, "_validation_status"))
        if labels:
            vs = _VALIDATION_LABELS.get(vs, vs)
        out.append({
            "_id": _fmt(None, _get(r, "_id")) or str(start_id + i),
            "_uuid": _fmt(None, _get(r, "_uuid")) or deterministic_uuid(inst.form_id, inst.version, seed, i),
            "_submission_time": _submission_time(inst, r, i),
            "_validation_status": vs,
            "_notes": _fmt(None, _get(r, "_notes")),
            "_status": _fmt(None, _get(r, "_status")) or "submitted_via_web",
            "_submitted_by": _fmt(None, _get(r, "_submitted_by")),
            "__version__": _fmt(None, _get(r, "__version__")) or inst.version,
            "_tags": _fmt(None, _get(r, "_tags")),
            "_index": str(i + 1),
        })
    return out


# --------------------------------------------------------------------------------------------
# repeats: parent links
# --------------------------------------------------------------------------------------------
def _repeat_tables(inst: Instrument, main_rows: list[dict], repeat_dfs: dict | None):
    """{repeat: (rows, parent_positions, root_positions)}; validated against the form."""
    repeat_dfs = dict(repeat_dfs or {})
    unknown = [k for k in repeat_dfs if k not in inst.repeats()]
    if unknown:
        raise InstrumentError(
            f"form {inst.form_id}: no repeat {', '.join(map(repr, unknown))} "
            f"(repeats: {', '.join(inst.repeats()) or 'none'})")
    out: dict[str, tuple[list[dict], list[int], list[int]]] = {}
    for rep in inst.repeats():  # form order: parents before children
        rows = _records(repeat_dfs.get(rep))
        parent = inst.repeat_parent(rep)
        n_parent = len(main_rows) if parent is None else len(out.get(parent, ([], [], []))[0])
        parents, roots = [], []
        for j, r in enumerate(rows):
            p = _get(r, "_parent_row")
            if p is None:
                raise DataError("repeat row has no parent", row=j, column="_parent_row",
                                rule=f"0 <= _parent_row < {n_parent}", file=rep)
            try:
                p = int(p)
            except (TypeError, ValueError):
                raise DataError(f"value {p!r} is not an integer", row=j, column="_parent_row",
                                file=rep) from None
            if not 0 <= p < n_parent:
                raise DataError(f"value {p} points to no parent row", row=j, column="_parent_row",
                                rule=f"0 <= _parent_row < {n_parent}", file=rep)
            parents.append(p)
            roots.append(p if parent is None else out[parent][2][p])
        out[rep] = (rows, parents, roots)
    return out


def _sheet_title(text: str, used: set) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", text).strip("'") or "data"
    title = base[:31]
    k = 1
    while title.lower() in used:
        suffix = f"_{k}"
        title = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(title.lower())
    return title


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------
def write_kobo_csv(instrument: Instrument, main_df: pd.DataFrame, path, *, headers: str = "xml",
                   lang: str = "es", group_sep: str = "/", groups_in_headers: bool = True,
                   multiple_select: str = "both", start_id: int = 1, seed=0) -> None:
    """Write the main table as a KoboToolbox CSV export.

    Parameters
    ----------
    instrument : Instrument
    main_df : DataFrame
        One row per submission, columns named after the fields (see the module docstring).
    path : path-like or binary file object
    headers : {"xml", "labels"}
        XML names (Kobo's "XML values and headers") or labels in ``lang`` (values of selects
        become labels too).
    lang : str
        Language of labels.
    group_sep : str
        Separator of group names in headers.
    groups_in_headers : bool
        ``group/q`` headers (True) or bare ``q`` (False).
    multiple_select : {"both", "summary", "details"}
    start_id : int
        ``_id`` of the first submission (when ``main_df`` has no ``_id``).
    seed : object
        Mixed into generated ``_uuid`` values.

    Examples
    --------
    >>> import io, pandas as pd
    >>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
    >>> inst = load_instrument(default_surveys_dir() / "followup.xlsx")
    >>> buf = io.BytesIO()
    >>> write_kobo_csv(inst, pd.DataFrame({"agreement_code": ["A1"], "progress": [40]}), buf)
    >>> lines = buf.getvalue().split(b"\\r\\n")
    >>> lines[1].split(b";")[2:4], lines[0].split(b";")[-1]
    ([b'"A1"', b'""'], b'"_index"')
    """
    _check_options(headers, multiple_select)
    rows = _records(main_df)
    cols = _kobo_columns(instrument, None, headers=headers, lang=lang, group_sep=group_sep,
                         groups_in_headers=groups_in_headers, multiple_select=multiple_select)
    meta = _kobo_meta(instrument, rows, start_id=start_id, seed=seed, labels=headers == "labels")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", quotechar='"', quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow([h for h, _ in cols] + list(KOBO_META))
    for r, m in zip(rows, meta, strict=False):
        w.writerow([get(r) for _, get in cols] + [m[k] for k in KOBO_META])
    data = buf.getvalue().encode("utf-8")
    if hasattr(path, "write"):
        path.write(data)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def _deterministic_xlsx(wb) -> bytes:
    from territoria.instruments.build import _normalise_zip

    fixed = dt.datetime(*_FIXED_DATE)
    wb.properties.creator = "KoboToolbox"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue())


def write_kobo_xlsx(instrument: Instrument, main_df: pd.DataFrame, repeat_dfs: dict | None, path,
                    *, headers: str = "xml", lang: str = "es", group_sep: str = "/",
                    groups_in_headers: bool = True, multiple_select: str = "both",
                    start_id: int = 1, seed=0) -> None:
    """Write a KoboToolbox XLSX export: the main sheet plus one sheet per repeat.

    Parameters are those of :func:`write_kobo_csv`, plus ``repeat_dfs`` ({repeat name:
    DataFrame with ``_parent_row``}). Sheet names are the form title and the repeat names,
    cut to 31 characters (Excel's limit) and made unique.

    Raises
    ------
    DataError
        If a repeat row's ``_parent_row`` points to no parent row.

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
    >>> inst = load_instrument(default_surveys_dir() / "tallies.xlsx")
    >>> main = pd.DataFrame({"assembly_code": ["A1"], "present": [30]})
    >>> tally = pd.DataFrame({"_parent_row": [0], "proposal_code": ["P1"], "n_agree": [20]})
    >>> buf = io.BytesIO()
    >>> write_kobo_xlsx(inst, main, {"tally": tally}, buf)
    >>> openpyxl.load_workbook(buf).sheetnames
    ['Conteo de votos en asamblea', 'tally']
    """
    import openpyxl

    _check_options(headers, multiple_select)
    labels = headers == "labels"
    rows = _records(main_df)
    meta = _kobo_meta(instrument, rows, start_id=start_id, seed=seed, labels=labels)
    reps = _repeat_tables(instrument, rows, repeat_dfs)
    used: set = set()
    title = instrument.title.get(lang) or instrument.title.get(instrument.default_language) \
        or instrument.form_id
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _sheet_title(title, used)
    sheet_of = {None: ws.title}
    kw = dict(headers=headers, lang=lang, group_sep=group_sep, groups_in_headers=groups_in_headers,
              multiple_select=multiple_select)
    cols = _kobo_columns(instrument, None, **kw)
    ws.append([h for h, _ in cols] + list(KOBO_META))
    for r, m in zip(rows, meta, strict=False):
        ws.append([get(r) for _, get in cols] + [m[k] for k in KOBO_META])
    for rep in instrument.repeats():
        rrows, parents, roots = reps[rep]
        sh = wb.create_sheet(_sheet_title(rep, used))
        sheet_of[rep] = sh.title
        parent_sheet = sheet_of[instrument.repeat_parent(rep)]
        rcols = _kobo_columns(instrument, rep, **kw)
        tail = ["_index", "_parent_table_name", "_parent_index",
                *(f"_submission_{k}" for k in _KOBO_SUBMISSION_COPY)]
        sh.append([h for h, _ in rcols] + tail)
        for j, (r, p, root) in enumerate(zip(rrows, parents, roots, strict=False)):
            m = meta[root]
            sh.append([get(r) for _, get in rcols]
                      + [str(j + 1), parent_sheet, str(p + 1),
                         *(m[k] for k in _KOBO_SUBMISSION_COPY)])
    data = _deterministic_xlsx(wb)
    if hasattr(path, "write"):
        path.write(data)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def _odk_columns(inst: Instrument, repeat: str | None):
    cols = []
    for f in inst.fields_of(repeat):
        if f.name in _SKIP_FIELDS:
            continue
        pre = _prefix(inst, f, relative_to=repeat, sep="-", labels=False, lang="", groups=True)
        if f.type == "geopoint":
            for i, part in enumerate(("Latitude", "Longitude", "Altitude", "Accuracy")):
                def geo(r, f=f, i=i):
                    parts = _fmt(f, _get(r, f.name)).split()
                    return parts[i] if i < len(parts) else ""

                cols.append((f"{pre}{f.name}-{part}", geo))
            continue
        cols.append((pre + f.name, lambda r, f=f: _fmt(f, _get(r, f.name))))
    return cols


def _odk_submission_date(inst, row, i) -> str:
    v = _get(row, "SubmissionDate")
    if v is not None:
        return v if isinstance(v, str) else pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return _submission_time(inst, row, i) + ".000Z"


def write_odk_zip(instrument: Instrument, main_df: pd.DataFrame, repeat_dfs: dict | None, path,
                  *, seed=0) -> None:
    """Write an ODK Central ``submissions.csv.zip`` export.

    Members: ``<formId>.csv`` (root table) and ``<formId>-<repeat path>.csv`` per repeat (group
    names on the way to the repeat joined by ``-``). Root ``KEY`` = ``uuid:<instanceID>``;
    repeat ``KEY`` = ``<parent KEY>/<path>/<repeat>[n]``.

    Examples
    --------
    >>> import io, zipfile, pandas as pd
    >>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
    >>> inst = load_instrument(default_surveys_dir() / "votes.xlsx")
    >>> main = pd.DataFrame({"participant_code": ["P1"], "_uuid": ["abc"]})
    >>> votes = pd.DataFrame({"_parent_row": [0], "proposal_code": ["X1"], "vote": ["agree"]})
    >>> buf = io.BytesIO()
    >>> write_odk_zip(inst, main, {"votes": votes}, buf)
    >>> z = zipfile.ZipFile(buf)
    >>> z.namelist()
    ['territoria_votes.csv', 'territoria_votes-votes.csv']
    >>> z.read('territoria_votes-votes.csv').decode().splitlines()
    ['proposal_code,vote,PARENT_KEY,KEY', 'X1,agree,uuid:abc,uuid:abc/votes[1]']
    """
    rows = _records(main_df)
    reps = _repeat_tables(instrument, rows, repeat_dfs)
    fid = instrument.form_id
    members: list[tuple[str, str]] = []

    keys_main = []
    for i, r in enumerate(rows):
        u = _fmt(None, _get(r, "_uuid")) or _fmt(None, _get(r, "meta-instanceID"))
        if not u:
            u = deterministic_uuid(fid, instrument.version, seed, i)
        keys_main.append(u if u.startswith("uuid:") else f"uuid:{u}")

    def dump(header, body) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)
        return buf.getvalue()

    cols = _odk_columns(instrument, None)
    header = ["SubmissionDate", *(h for h, _ in cols), "meta-instanceID", *ODK_META]
    body = []
    for i, r in enumerate(rows):
        extra = {
            "KEY": keys_main[i],
            "SubmitterID": _fmt(None, _get(r, "SubmitterID")) or "1",
            "SubmitterName": _fmt(None, _get(r, "SubmitterName")),
            "AttachmentsPresent": _fmt(None, _get(r, "AttachmentsPresent")) or "0",
            "AttachmentsExpected": _fmt(None, _get(r, "AttachmentsExpected")) or "0",
            "Status": _fmt(None, _get(r, "Status")),
            "ReviewState": _fmt(None, _get(r, "ReviewState")),
            "DeviceID": _fmt(None, _get(r, "DeviceID")),
            "Edits": _fmt(None, _get(r, "Edits")) or "0",
            "FormVersion": _fmt(None, _get(r, "FormVersion")) or instrument.version,
        }
        body.append([_odk_submission_date(instrument, r, i), *(g(r) for _, g in cols),
                     keys_main[i], *(extra[k] for k in ODK_META)])
    members.append((f"{fid}.csv", dump(header, body)))

    keys: dict[str | None, list[str]] = {None: keys_main}
    for rep in instrument.repeats():
        rrows, parents, _roots = reps[rep]
        parent = instrument.repeat_parent(rep)
        # path of groups from the enclosing repeat (or root) down to this repeat
        rep_path = list(instrument.settings.get("_repeat_paths", {}).get(rep, (rep,)))
        if parent is not None and parent in rep_path:
            rep_path = rep_path[rep_path.index(parent) + 1:]
        counters: dict[int, int] = {}
        rkeys = []
        rbody = []
        rcols = _odk_columns(instrument, rep)
        for r, p in zip(rrows, parents, strict=False):
            counters[p] = counters.get(p, 0) + 1
            pkey = keys[parent][p]
            key = f"{pkey}/{'/'.join(rep_path[:-1] + [rep_path[-1]])}[{counters[p]}]"
            rkeys.append(key)
            rbody.append([*(g(r) for _, g in rcols), pkey, key])
        keys[rep] = rkeys
        full = list(instrument.settings.get("_repeat_paths", {}).get(rep, (rep,)))
        members.append((f"{fid}-{'-'.join(full)}.csv",
                        dump([*(h for h, _ in rcols), "PARENT_KEY", "KEY"], rbody)))

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members:
            zi = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, text.encode("utf-8"))
    data = out.getvalue()
    if hasattr(path, "write"):
        path.write(data)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def write_choice_files(folder, *, zones: pd.DataFrame | None = None,
                       territories: pd.DataFrame | None = None,
                       blocks: pd.DataFrame | None = None) -> list[Path]:
    """Write the media files ``zones.csv``, ``territories.csv``, ``blocks.csv`` that the forms'
    ``select_one_from_file`` questions read (upload them with the form to Kobo/ODK).

    Parameters
    ----------
    folder : path-like
    zones : DataFrame with ``zone_id, name``
    territories : DataFrame with ``territory_id, name, zone_id``
    blocks : DataFrame with ``block_id, territory_id``

    Returns
    -------
    list of Path
        The files written: columns ``name,label`` plus ``zone`` (territories) or ``territory``
        (blocks), the columns the forms' ``choice_filter`` use.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> d = tempfile.mkdtemp()
    >>> out = write_choice_files(d, territories=pd.DataFrame(
    ...     {"territory_id": ["07-001"], "name": ["ACULCO (PBLO)"], "zone_id": ["DT01"]}))
    >>> out[0].read_text().splitlines()
    ['name,label,zone', '07-001,ACULCO (PBLO),DT01']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    specs = [
        ("zones.csv", zones, ["zone_id", "name"], ["name", "label"]),
        ("territories.csv", territories, ["territory_id", "name", "zone_id"], ["name", "label", "zone"]),
        ("blocks.csv", blocks, ["block_id", "block_id", "territory_id"], ["name", "label", "territory"]),
    ]
    for fname, df, src, dst in specs:
        if df is None:
            continue
        missing = [c for c in dict.fromkeys(src) if c not in df.columns]
        if missing:
            raise DataError(f"missing column(s) {', '.join(missing)}", file=fname,
                            column=missing[0], rule=f"needs {', '.join(dict.fromkeys(src))}")
        out = pd.DataFrame({d: df[s].astype(str).to_numpy() for s, d in zip(src, dst, strict=False)})
        out = out.sort_values("name", kind="mergesort")
        p = folder / fname
        p.write_text(out.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        written.append(p)
    return written
