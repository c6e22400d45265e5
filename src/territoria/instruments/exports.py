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
import warnings
import zipfile
from pathlib import Path

import numpy as np
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
_DATETIME_TYPES = frozenset({"datetime", "start", "end"})
_DATE_TYPES = frozenset({"date", "today"})
_TIME_TYPES = _DATETIME_TYPES | _DATE_TYPES


def deterministic_uuid(*parts) -> str:
    """A version-4-shaped UUID derived from a hash of ``parts`` (reproducible, not random).

    >>> deterministic_uuid("territoria_votes", 0, 1)
    '...-4...-...'
    >>> deterministic_uuid("a", 1) == deterministic_uuid("a", 1)
    True
    """
    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _uuid_texts(given: list[str], *parts) -> list[str]:
    """``given[i]`` or else ``deterministic_uuid(*parts, i)``, for every row ``i``."""
    prefix = "".join(f"{p}|" for p in parts)
    sha = hashlib.sha256
    out = []
    for i, x in enumerate(given):
        if x:
            out.append(x)
            continue
        b = bytearray(sha(f"{prefix}{i}".encode("utf-8")).digest()[:16])
        b[6] = (b[6] & 0x0F) | 0x40  # version 4
        b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
        h = b.hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def _is_missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, (list, tuple, set)) else False
    except (TypeError, ValueError):
        return False


def _box(v):
    """A cell as ``DataFrame.to_dict("records")`` gives it (pandas' ``maybe_box_native``):
    numpy scalars become Python ones, ``pd.NA`` becomes None."""
    if isinstance(v, np.generic):
        if isinstance(v, np.floating):
            return float(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.datetime64):
            return pd.Timestamp(v)
        if isinstance(v, np.timedelta64):
            return pd.Timedelta(v)
    elif v is pd.NA:
        return None
    return v


def _fmt_datetime(v) -> str:
    if isinstance(v, str):
        return v
    ts = pd.Timestamp(v)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
    if ts.tzinfo is not None:
        off = ts.strftime("%z")
        text += f"{off[:3]}:{off[3:]}"
    return text


def _fmt_type(t: str | None, v) -> str:
    """A (boxed) value as text, the way the servers write it, for a field of type ``t``."""
    if _is_missing(v):
        return ""
    if isinstance(v, (list, tuple, set)):
        return " ".join(str(x) for x in v)
    if t in _DATETIME_TYPES:
        return _fmt_datetime(v)
    if t in _DATE_TYPES:
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


def _fmt(field: Field | None, v) -> str:
    """A value as text, the way the servers write it (the reference, one value at a time).

    >>> _fmt(None, 3.0), _fmt(None, 2.5), _fmt(None, None), _fmt(None, ["a", "b"])
    ('3', '2.5', '', 'a b')
    """
    return _fmt_type(field.type if field is not None else None, v)


def _text(t: str | None, v) -> str:
    """:func:`_fmt` of a cell as it comes out of a column, with fast paths for the usual
    Python scalars (identical results; see ``tests/instruments/test_exports_identity.py``)."""
    tv = type(v)
    if tv is str:
        return v
    if v is None:
        return ""
    if isinstance(v, str):  # numpy.str_ and other subclasses: their text, for every type
        return str(v)
    if t not in _TIME_TYPES:
        if tv is int:
            return str(v)
        if tv is float:
            if v != v:
                return ""
            return str(int(v)) if v.is_integer() else repr(v)
        if tv is bool:
            return "true" if v else "false"
    return _fmt_type(t, _box(v))


def _value(v):
    """A cell boxed as in ``to_dict("records")``, None when missing (the old ``_get``)."""
    if v is None or type(v) is str:
        return v
    v = _box(v)
    return None if _is_missing(v) else v


# --------------------------------------------------------------------------------------------
# whole columns at once (each gives what the functions above give value by value)
# --------------------------------------------------------------------------------------------
def _is_datetime_column(s: pd.Series) -> bool:
    d = s.dtype
    return isinstance(d, pd.DatetimeTZDtype) or (isinstance(d, np.dtype) and d.kind == "M")


def _strftime(s: pd.Series, fmt: str) -> list | None:
    """``Timestamp.strftime(fmt)`` of each cell of a datetime column (NaN where NaT), or None
    when a year falls outside 1000-9999 (where platforms pad ``%Y`` differently)."""
    years = s.dt.year[s.notna()]
    if len(years) and (years.min() < 1000 or years.max() > 9999):
        return None
    return s.dt.strftime(fmt).tolist()


def _column_texts(s: pd.Series, t: str | None) -> list[str] | None:
    """:func:`_text` of every cell of a numeric or datetime column (None: no fast path)."""
    d = s.dtype
    if _is_datetime_column(s):
        if t in _DATE_TYPES:
            got = _strftime(s, "%Y-%m-%d")
            return None if got is None else [x if type(x) is str else "" for x in got]
        base = _strftime(s, "%Y-%m-%dT%H:%M:%S.")
        if base is None:
            return None
        ms = (s.dt.microsecond.fillna(0).astype(np.int64) // 1000).tolist()
        if s.dt.tz is None:
            return [f"{b}{m:03d}" if type(b) is str else "" for b, m in zip(base, ms, strict=True)]
        offs = s.dt.strftime("%z").tolist()
        return [f"{b}{m:03d}{o[:3]}:{o[3:]}" if type(b) is str else ""
                for b, m, o in zip(base, ms, offs, strict=True)]
    if not isinstance(d, np.dtype) or t in _TIME_TYPES:
        return None
    if d.kind in "iu":
        return s.to_numpy().astype(str).tolist()
    if d.kind == "b":
        return np.where(s.to_numpy(), "true", "false").tolist()
    if d.kind == "f":
        x = s.to_numpy().astype(np.float64)
        whole = np.isfinite(x) & (x == np.floor(x)) & (np.abs(x) < 2.0**62)
        out = np.where(np.isnan(x), "", "").astype(object)
        out[whole] = x[whole].astype(np.int64).astype(str)
        rest = np.flatnonzero(~whole & ~np.isnan(x))
        out[rest] = [_text(t, v) for v in x[rest].tolist()]
        return out.tolist()
    return None


# --------------------------------------------------------------------------------------------
# input frames, column by column
# --------------------------------------------------------------------------------------------
class _Table:
    """Column-wise access to an input frame.

    ``values(name)`` gives the cells of a column as ``DataFrame.to_dict("records")`` would
    (Python scalars; a repeated column name: the last one wins, as in a record dict) and
    ``texts(name, type)`` the cells formatted by :func:`_fmt`, computed once per column.
    A missing column reads as empty cells.
    """

    def __init__(self, df: pd.DataFrame | None):
        self._cache: dict = {}
        if df is None:
            self.df, self.n, self._pos = None, 0, {}
            return
        if not isinstance(df, pd.DataFrame):
            raise InstrumentError(f"expected a pandas DataFrame, got {type(df).__name__}")
        self.df, self.n = df, len(df)
        if not df.columns.is_unique:
            warnings.warn("DataFrame columns are not unique, some columns will be omitted.",
                          UserWarning, stacklevel=3)
        self._pos = {c: i for i, c in enumerate(df.columns)}

    def __contains__(self, name) -> bool:
        return name in self._pos

    def values(self, name) -> list | None:
        i = self._pos.get(name)
        if i is None:
            return None
        s = self.df.iloc[:, i]
        dtype = s.dtype
        if isinstance(dtype, np.dtype):
            if dtype.kind in "biufc":
                return s.to_numpy().tolist()
            if dtype.kind == "O":
                return s.to_numpy().tolist()
            return list(s)  # datetime64/timedelta64 -> Timestamp/Timedelta
        if isinstance(dtype, pd.DatetimeTZDtype):
            return list(s)
        return s.to_numpy(dtype=object).tolist()  # boxed cell by cell in _text/_value

    def series(self, name) -> pd.Series | None:
        i = self._pos.get(name)
        return None if i is None else self.df.iloc[:, i]

    def texts(self, name, t: str | None = None) -> list[str]:
        key = ("texts", name, t)
        got = self._cache.get(key)
        if got is None:
            s = self.series(name)
            got = None if s is None else _column_texts(s, t)
            if got is None:
                vals = self.values(name)
                got = [""] * self.n if vals is None else [
                    v if type(v) is str else _text(t, v) for v in vals]
            self._cache[key] = got
        return got

    def tokens(self, name, t: str | None = None) -> dict[str, frozenset]:
        """``{text: set of its space-separated words}`` over the distinct texts of a column."""
        key = ("tokens", name, t)
        got = self._cache.get(key)
        if got is None:
            got = {x: frozenset(x.split()) for x in set(self.texts(name, t))}
            self._cache[key] = got
        return got


# --------------------------------------------------------------------------------------------
# column plans: [(header, producer(table) -> list of texts)]
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


def _choice_labels(inst: Instrument, f: Field, lang: str) -> dict[str, str]:
    """``{choice name: label}`` of ``f``'s list, as :meth:`Instrument.choice_label` gives them."""
    out: dict[str, str] = {}
    for c in inst.choices.get(f.list_name, ()):
        if c.name not in out:
            out[c.name] = c.label(lang or inst.default_language, inst.default_language)
    return out


def _answer_column(inst: Instrument, f: Field, labels: bool, lang: str):
    """Producer of the texts of ``f`` (choice labels instead of names when ``labels``)."""
    if not (labels and f.is_select and f.list_name in inst.choices):
        return lambda tab: tab.texts(f.name, f.type)

    def labelled(tab):
        lab = _choice_labels(inst, f, lang)
        texts = tab.texts(f.name, f.type)
        if not f.is_multiple:
            return [lab.get(x, x) if x else x for x in texts]
        memo: dict[str, str] = {"": ""}
        out = []
        for x in texts:
            y = memo.get(x)
            if y is None:
                y = memo[x] = " ".join(lab.get(p, p) for p in x.split())
            out.append(y)
        return out

    return labelled


def _detail_column(f: Field, choice: str):
    """Producer of ``1``/``0`` (empty when unanswered) for one option of a select_multiple."""
    def detail(tab):
        toks = tab.tokens(f.name, f.type)
        return ["" if not x else ("1" if choice in toks[x] else "0")
                for x in tab.texts(f.name, f.type)]

    return detail


def _geo_column(f: Field, i: int):
    """Producer of the ``i``-th space-separated part of a geopoint."""
    def geo(tab):
        out = []
        for x in tab.texts(f.name, f.type):
            parts = x.split()
            out.append(parts[i] if i < len(parts) else "")
        return out

    return geo


def _kobo_columns(inst, repeat, *, headers, lang, group_sep, groups_in_headers, multiple_select):
    """List of (header, producer(table) -> list of texts) for one Kobo table."""
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
                cols.append((head, _answer_column(inst, f, labels, lang)))
            if multiple_select in ("both", "details"):
                for c in inst.choices.get(f.list_name, ()):
                    sub = head + group_sep + (c.label(lang, inst.default_language) if labels else c.name)
                    cols.append((sub, _detail_column(f, c.name)))
            continue
        cols.append((head, _answer_column(inst, f, labels, lang)))
        if f.type == "geopoint":
            for i, part in enumerate(("latitude", "longitude", "altitude", "precision")):
                cols.append((f"{pre}_{f.name}_{part}", _geo_column(f, i)))
        elif f.type in _MEDIA:
            cols.append((f"{pre}{f.name}_URL", lambda tab, f=f: tab.texts(f.name + "_URL")))
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
def _submission_time(given, end, i: int) -> str:
    """``_submission_time`` of submission ``i``: the given one, else ``end`` + 97 s, else a
    fixed date + 7 min per row. ``given`` and ``end`` are cells (None when absent)."""
    v = _value(given)
    if v is not None:
        if isinstance(v, str):
            return v
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.strftime("%Y-%m-%dT%H:%M:%S")
    end = _value(end)
    if end is not None:
        try:
            ts = pd.Timestamp(end)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            return (ts + pd.Timedelta(seconds=97)).strftime("%Y-%m-%dT%H:%M:%S")
        except (ValueError, TypeError):
            pass
    return (_BASE_TIME + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%S")


class _SubmissionTimes:
    """``_submission_time`` of each row of the main table, computed on demand."""

    def __init__(self, inst: Instrument, tab: _Table):
        self.tab, self.has_end = tab, inst.has_field("end")
        self.cells = None  # (given, end) cells, read on the first row that needs them
        self.fast = None
        s = tab.series("_submission_time")
        if s is not None and _is_datetime_column(s):  # whole column at once
            if s.dt.tz is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            self.fast = _strftime(s, "%Y-%m-%dT%H:%M:%S")

    def __getitem__(self, i: int) -> str:
        if self.fast is not None and type(self.fast[i]) is str:
            return self.fast[i]
        if self.cells is None:
            self.cells = (self.tab.values("_submission_time"),
                          self.tab.values("end") if self.has_end else None)
        given, end = self.cells
        return _submission_time(None if given is None else given[i],
                                None if end is None else end[i], i)


def _kobo_meta(inst: Instrument, tab: _Table, *, start_id: int, seed, labels: bool) -> dict:
    """{meta column: list of texts}, one per submission."""
    n = tab.n
    vs = tab.texts("_validation_status")
    if labels:
        vs = [_VALIDATION_LABELS.get(x, x) for x in vs]
    times = _SubmissionTimes(inst, tab)
    return {
        "_id": [x or str(start_id + i) for i, x in enumerate(tab.texts("_id"))],
        "_uuid": _uuid_texts(tab.texts("_uuid"), inst.form_id, inst.version, seed),
        "_submission_time": [times[i] for i in range(n)],
        "_validation_status": vs,
        "_notes": tab.texts("_notes"),
        "_status": [x or "submitted_via_web" for x in tab.texts("_status")],
        "_submitted_by": tab.texts("_submitted_by"),
        "__version__": [x or inst.version for x in tab.texts("__version__")],
        "_tags": tab.texts("_tags"),
        "_index": [str(i + 1) for i in range(n)],
    }


# --------------------------------------------------------------------------------------------
# repeats: parent links
# --------------------------------------------------------------------------------------------
def _parent_positions(tab: _Table, n_parent: int, rep: str) -> list[int]:
    """Validated ``_parent_row`` of each row of a repeat table."""
    if tab.n == 0:
        return []
    rule = f"0 <= _parent_row < {n_parent}"
    vals = tab.values("_parent_row")
    if vals is None:
        raise DataError("repeat row has no parent", row=0, column="_parent_row", rule=rule,
                        file=rep)
    s = tab.df.iloc[:, tab._pos["_parent_row"]]
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":  # fast path: whole numbers
        arr = s.to_numpy()
        bad = np.flatnonzero((arr < 0) | (arr >= n_parent))
        if len(bad):
            raise DataError(f"value {int(arr[bad[0]])} points to no parent row", row=int(bad[0]),
                            column="_parent_row", rule=rule, file=rep)
        return arr.astype(np.int64).tolist()
    parents = []
    for j, v in enumerate(vals):
        p = _value(v)
        if p is None:
            raise DataError("repeat row has no parent", row=j, column="_parent_row", rule=rule,
                            file=rep)
        try:
            p = int(p)
        except (TypeError, ValueError):
            raise DataError(f"value {p!r} is not an integer", row=j, column="_parent_row",
                            file=rep) from None
        if not 0 <= p < n_parent:
            raise DataError(f"value {p} points to no parent row", row=j, column="_parent_row",
                            rule=rule, file=rep)
        parents.append(p)
    return parents


def _repeat_tables(inst: Instrument, n_main: int, repeat_dfs: dict | None):
    """{repeat: (table, parent_positions, root_positions)}; validated against the form."""
    repeat_dfs = dict(repeat_dfs or {})
    unknown = [k for k in repeat_dfs if k not in inst.repeats()]
    if unknown:
        raise InstrumentError(
            f"form {inst.form_id}: no repeat {', '.join(map(repr, unknown))} "
            f"(repeats: {', '.join(inst.repeats()) or 'none'})")
    out: dict[str, tuple[_Table, list[int], list[int]]] = {}
    for rep in inst.repeats():  # form order: parents before children
        tab = _Table(repeat_dfs.get(rep))
        parent = inst.repeat_parent(rep)
        n_parent = n_main if parent is None else (out[parent][0].n if parent in out else 0)
        parents = _parent_positions(tab, n_parent, rep)
        if parent is None:
            roots = parents
        else:
            proots = out[parent][2]
            roots = [proots[p] for p in parents]
        out[rep] = (tab, parents, roots)
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
# output
# --------------------------------------------------------------------------------------------
def _write_out(path, data: bytes) -> None:
    if hasattr(path, "write"):
        path.write(data)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)


def _zip_members(members) -> bytes:
    """A zip of ``(name, bytes)`` with fixed timestamps and modes (deterministic)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            zi = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, body)
    return out.getvalue()


# SpreadsheetML cells written the way openpyxl (3.1, ElementTree serialiser) writes a str value:
# inline strings, cut to Excel's 32,767 characters, "=..." as a formula, error codes as errors.
_XLSX_MAX_TEXT = 32767
_XLSX_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_XLSX_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def _xml_text(s: str) -> str:
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    return s


def _cell_tail(v: str) -> str:
    """What follows ``<c r="A1"`` for a text cell; None if it holds a character Excel refuses."""
    if v == "":
        return ' t="inlineStr" />'
    v = v[:_XLSX_MAX_TEXT]
    if _XLSX_ILLEGAL.search(v):
        return None
    if len(v) > 1 and v[0] == "=":
        return f"><f>{_xml_text(v[1:])}</f><v /></c>"
    if v in _XLSX_ERROR_CODES:
        return f' t="e"><v>{_xml_text(v)}</v></c>'
    stripped = v.strip()
    space = ' xml:space="preserve"' if stripped and stripped != v else ""
    return f' t="inlineStr"><is><t{space}>{_xml_text(v)}</t></is></c>'


def _column_letter(k: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def _sheet_data(title: str, header: list[str], columns: list[list[str]]) -> tuple[str, str]:
    """(dimension ref, ``<sheetData>`` element) of one sheet: a header row, then the rows."""
    letters = [_column_letter(k + 1) for k in range(len(header))]
    # a row is '<c r="A' + r + item_A + r + item_B ... with item_X = the end of X's cell followed
    # by the start of the next one, so that rows are rs.join(items) (no per-cell Python work)
    nxt = ['<c r="' + x for x in letters[1:]] + [""]
    first = '<c r="' + letters[0]
    tails = []
    for c, col in enumerate([[h] + col for h, col in zip(header, columns, strict=True)]):
        memo: dict[str, str] = {}
        out = []
        for j, v in enumerate(col):
            t = memo.get(v)
            if t is None:
                t = _cell_tail(v)
                if t is None:
                    ch = _XLSX_ILLEGAL.search(v[:_XLSX_MAX_TEXT]).group()
                    raise DataError(f"value contains the control character {ch!r}, which an "
                                    "Excel sheet cannot hold", file=title, row=j,
                                    column=header[c], rule="no control characters except tab "
                                    "and line breaks")
                t = memo[v] = '"' + t + nxt[c]
            out.append(t)
        tails.append(out)
    parts = ["<sheetData>"]
    for r, row in enumerate(zip(*tails, strict=True), start=1):
        rs = str(r)
        parts.append('<row r="' + rs + '">' + rs.join((first, *row)) + "</row>")
    parts.append("</sheetData>")
    n_rows = len(columns[0]) + 1 if columns else 1
    return f"A1:{letters[-1]}{n_rows}", "".join(parts)


_DIMENSION_RE = re.compile(rb'(<dimension ref=")[^"]*("\s*/>)')
_SHEETDATA_RE = re.compile(rb"<sheetData\s*/>|<sheetData></sheetData>")
_SHEET_PART_RE = re.compile(r"xl/worksheets/sheet(\d+)\.xml")


def _xlsx_bytes(sheets: list[tuple[str, list[str], list[list[str]]]]) -> bytes:
    """A deterministic .xlsx of ``[(title, header, columns of texts)]``.

    openpyxl writes the package around empty sheets (workbook, styles, theme, properties); the
    rows are then written straight into each sheet's XML, exactly as openpyxl would write them.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = sheets[0][0]
    for title, _, _ in sheets[1:]:
        wb.create_sheet(title)
    src = zipfile.ZipFile(io.BytesIO(_deterministic_xlsx(wb)))
    members = []
    for info in src.infolist():
        body = src.read(info.filename)
        m = _SHEET_PART_RE.fullmatch(info.filename)
        if m:
            title, header, columns = sheets[int(m.group(1)) - 1]
            ref, data = _sheet_data(title, header, columns)
            dim, rows = _DIMENSION_RE.search(body), _SHEETDATA_RE.search(body)
            if dim is None or rows is None or dim.end() > rows.start():  # pragma: no cover
                raise InstrumentError(f"cannot place the rows of sheet {title!r} in openpyxl's "
                                      "empty worksheet (unexpected openpyxl version)")
            body = b"".join([body[:dim.start()], dim.group(1), ref.encode("ascii"), dim.group(2),
                             body[dim.end():rows.start()], data.encode("utf-8"),
                             body[rows.end():]])
        members.append((info.filename, body))
    return _zip_members(members)


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
    tab = _Table(main_df)
    cols = _kobo_columns(instrument, None, headers=headers, lang=lang, group_sep=group_sep,
                         groups_in_headers=groups_in_headers, multiple_select=multiple_select)
    meta = _kobo_meta(instrument, tab, start_id=start_id, seed=seed, labels=headers == "labels")
    columns = [get(tab) for _, get in cols] + [meta[k] for k in KOBO_META]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", quotechar='"', quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow([h for h, _ in cols] + list(KOBO_META))
    w.writerows(zip(*columns, strict=True))
    _write_out(path, buf.getvalue().encode("utf-8"))


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
        If a repeat row's ``_parent_row`` points to no parent row, or a value holds a control
        character that an Excel sheet cannot store.

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
    _check_options(headers, multiple_select)
    labels = headers == "labels"
    tab = _Table(main_df)
    meta = _kobo_meta(instrument, tab, start_id=start_id, seed=seed, labels=labels)
    reps = _repeat_tables(instrument, tab.n, repeat_dfs)
    used: set = set()
    title = instrument.title.get(lang) or instrument.title.get(instrument.default_language) \
        or instrument.form_id
    main_title = _sheet_title(title, used)
    sheet_of = {None: main_title}
    kw = dict(headers=headers, lang=lang, group_sep=group_sep, groups_in_headers=groups_in_headers,
              multiple_select=multiple_select)
    cols = _kobo_columns(instrument, None, **kw)
    sheets = [(main_title, [h for h, _ in cols] + list(KOBO_META),
               [get(tab) for _, get in cols] + [meta[k] for k in KOBO_META])]
    for rep in instrument.repeats():
        rtab, parents, roots = reps[rep]
        sheet = _sheet_title(rep, used)
        sheet_of[rep] = sheet
        parent_sheet = sheet_of[instrument.repeat_parent(rep)]
        rcols = _kobo_columns(instrument, rep, **kw)
        tail = ["_index", "_parent_table_name", "_parent_index",
                *(f"_submission_{k}" for k in _KOBO_SUBMISSION_COPY)]
        columns = [get(rtab) for _, get in rcols]
        columns += [[str(j + 1) for j in range(rtab.n)], [parent_sheet] * rtab.n,
                    [str(p + 1) for p in parents]]
        for k in _KOBO_SUBMISSION_COPY:
            m = meta[k]
            columns.append([m[r] for r in roots])
        sheets.append((sheet, [h for h, _ in rcols] + tail, columns))
    _write_out(path, _xlsx_bytes(sheets))


def _odk_columns(inst: Instrument, repeat: str | None):
    cols = []
    for f in inst.fields_of(repeat):
        if f.name in _SKIP_FIELDS:
            continue
        pre = _prefix(inst, f, relative_to=repeat, sep="-", labels=False, lang="", groups=True)
        if f.type == "geopoint":
            for i, part in enumerate(("Latitude", "Longitude", "Altitude", "Accuracy")):
                cols.append((f"{pre}{f.name}-{part}", _geo_column(f, i)))
            continue
        cols.append((pre + f.name, lambda tab, f=f: tab.texts(f.name, f.type)))
    return cols


def _odk_submission_dates(inst: Instrument, tab: _Table) -> list[str]:
    given = tab.values("SubmissionDate")
    times = _SubmissionTimes(inst, tab)
    out = []
    for i in range(tab.n):
        v = None if given is None else _value(given[i])
        if v is not None:
            out.append(v if isinstance(v, str) else
                       pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        else:
            out.append(times[i] + ".000Z")
    return out


def _csv_text(header: list[str], columns: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(header)
    w.writerows(zip(*columns, strict=True))
    return buf.getvalue()


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
    tab = _Table(main_df)
    reps = _repeat_tables(instrument, tab.n, repeat_dfs)
    fid = instrument.form_id
    members: list[tuple[str, str]] = []

    given = [u or mi for u, mi in zip(tab.texts("_uuid"), tab.texts("meta-instanceID"),
                                      strict=True)]
    keys_main = [u if u.startswith("uuid:") else f"uuid:{u}"
                 for u in _uuid_texts(given, fid, instrument.version, seed)]

    cols = _odk_columns(instrument, None)
    header = ["SubmissionDate", *(h for h, _ in cols), "meta-instanceID", *ODK_META]
    extra = {
        "KEY": keys_main,
        "SubmitterID": [x or "1" for x in tab.texts("SubmitterID")],
        "SubmitterName": tab.texts("SubmitterName"),
        "AttachmentsPresent": [x or "0" for x in tab.texts("AttachmentsPresent")],
        "AttachmentsExpected": [x or "0" for x in tab.texts("AttachmentsExpected")],
        "Status": tab.texts("Status"),
        "ReviewState": tab.texts("ReviewState"),
        "DeviceID": tab.texts("DeviceID"),
        "Edits": [x or "0" for x in tab.texts("Edits")],
        "FormVersion": [x or instrument.version for x in tab.texts("FormVersion")],
    }
    columns = [_odk_submission_dates(instrument, tab), *(get(tab) for _, get in cols), keys_main,
               *(extra[k] for k in ODK_META)]
    members.append((f"{fid}.csv", _csv_text(header, columns)))

    keys: dict[str | None, list[str]] = {None: keys_main}
    paths = instrument.settings.get("_repeat_paths", {})
    for rep in instrument.repeats():
        rtab, parents, _roots = reps[rep]
        parent = instrument.repeat_parent(rep)
        # path of groups from the enclosing repeat (or root) down to this repeat
        rep_path = list(paths.get(rep, (rep,)))
        if parent is not None and parent in rep_path:
            rep_path = rep_path[rep_path.index(parent) + 1:]
        middle = "/" + "/".join(rep_path) + "["
        pkeys = keys[parent]
        counters: dict[int, int] = {}
        parent_keys, rkeys = [], []
        for p in parents:
            c = counters[p] = counters.get(p, 0) + 1
            pkey = pkeys[p]
            parent_keys.append(pkey)
            rkeys.append(f"{pkey}{middle}{c}]")
        keys[rep] = rkeys
        rcols = _odk_columns(instrument, rep)
        full = list(paths.get(rep, (rep,)))
        members.append((f"{fid}-{'-'.join(full)}.csv",
                        _csv_text([*(h for h, _ in rcols), "PARENT_KEY", "KEY"],
                                  [*(get(rtab) for _, get in rcols), parent_keys, rkeys])))

    _write_out(path, _zip_members((name, text.encode("utf-8")) for name, text in members))


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
