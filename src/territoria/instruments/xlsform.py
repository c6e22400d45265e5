"""Read XLSForm instruments: fields, choices, languages, types and value checks.

An XLSForm (``survey``, ``choices``, ``settings`` sheets) is the single source of truth for field
data: its field names are the column names of the ingested tables (groups are flattened, only the
field name is kept) and its choice *names* are the stored values.

API summary
-----------
``load_instrument(path) -> Instrument``
    Read one XLSForm (ours, or one exported by KoboToolbox/ODK: ``label::English (en)``,
    ``required`` = ``true``, random list names...).
``load_instruments(folder) -> {(form_id, version): Instrument}``
    Every ``*.xlsx`` of a folder (default :func:`default_surveys_dir`).
``find_instrument(instruments, form_id, version=None) -> Instrument``
    Raises :class:`~territoria.exceptions.InstrumentError` "form X version Y is not known
    (known versions: ...)". ``version=None`` picks the highest version.
``default_surveys_dir() -> Path``
    The kit's ``surveys/`` folder (installed package data first, then the source checkout).
``Instrument``
    ``form_id, version, title {lang: str}, default_language, path, fields, choices``;
    ``fields_of(repeat=None)``, ``repeats()``, ``field(name)``, ``table_name(repeat=None)``,
    ``column_types(repeat=None)`` ({column: DuckDB type}), ``personal_fields()``,
    ``free_text_fields()``, ``allowed_values(field)``, ``check_value(field, raw)`` ->
    ``(value, error_rule | None)``, ``label(field, lang)``, ``choice_label(list, name, lang)``,
    ``languages()``.
``Field``
    ``name, type`` (base type: text, integer, decimal, select_one, select_multiple,
    select_one_from_file, select_multiple_from_file, date, datetime, time, geopoint, calculate,
    start, end, today, deviceid, image, ...), ``list_name, labels, hints, required, constraint,
    constraint_message, relevant, choice_filter, appearance, personal, free_text, group`` (tuple of
    enclosing group/repeat names), ``repeat`` (innermost repeat or None), ``row`` (sheet row,
    1-based as in Excel), plus ``calculation, default, extra``. Only data-bearing rows are fields
    (no notes, no group/repeat markers).
``Choice``
    ``name, labels {lang: str}, extra {column: value}``.

Language columns: ``label::Español (es)`` -> ``'es'``, ``label::English (en)`` -> ``'en'``,
``label::English`` -> ``'english'``, plain ``label`` -> the form's default language.

Examples
--------
>>> inst = load_instrument(default_surveys_dir() / "diagnostic.xlsx")
>>> inst.form_id, inst.table_name()
('territoria_diagnostic', 'diagnostic')
>>> inst.column_types()["life_satisfaction"]
'BIGINT'
>>> inst.check_value("life_satisfaction", "11")
(11, 'constraint (. >= 0 and . <= 10)')
>>> inst.check_value("safety_colonia", "2")
('2', None)
>>> inst.label("safety_colonia", "es")[:39]
'En términos de delincuencia, ¿considera'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from territoria.exceptions import InstrumentError

__all__ = [
    "Choice",
    "Field",
    "Instrument",
    "load_instrument",
    "load_instruments",
    "find_instrument",
    "default_surveys_dir",
    "parse_language",
    "NON_DATA_TYPES",
]

#: Survey row types that carry no data.
NON_DATA_TYPES = frozenset(
    {"note", "begin_group", "end_group", "begin_repeat", "end_repeat", "begin_loop", "end_loop"}
)
_SELECT_TYPES = {"select_one", "select_multiple", "rank"}
_FILE_SELECT_TYPES = {"select_one_from_file", "select_multiple_from_file"}
_TYPE_ALIASES = {
    "begin group": "begin_group", "end group": "end_group", "begin repeat": "begin_repeat",
    "end repeat": "end_repeat", "begin loop": "begin_loop", "end loop": "end_loop",
    "select one": "select_one", "select multiple": "select_multiple",
    "select one from file": "select_one_from_file",
    "select multiple from file": "select_multiple_from_file",
    "datetime": "datetime", "int": "integer", "string": "text", "dec": "decimal",
    "select1": "select_one", "select all that apply": "select_multiple",
    "phone number": "phonenumber", "phonenumber": "phonenumber", "geo point": "geopoint",
    "acknowledge": "acknowledge", "trigger": "acknowledge", "imei": "deviceid",
    "sim id": "simserial", "subscriber id": "subscriberid",
}
_TRUE = {"yes", "true", "true()", "1", "y"}
_FALSE = {"no", "false", "false()", "0", "n", ""}

TIMESTAMP_TYPE = "TIMESTAMP WITH TIME ZONE"
_DUCKDB_TYPES = {
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "range": "DOUBLE",
    "date": "DATE",
    "today": "DATE",
    "datetime": TIMESTAMP_TYPE,
    "start": TIMESTAMP_TYPE,
    "end": TIMESTAMP_TYPE,
}

PERSONAL_COLUMN = "territoria::personal"
FREE_TEXT_COLUMN = "territoria::free_text"


# --------------------------------------------------------------------------------------------
# data classes
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One option of a choice list.

    Parameters
    ----------
    name : str
        The stored value.
    labels : dict
        ``{language code: label}``.
    extra : dict
        Other columns of the row (e.g. the column a ``choice_filter`` refers to).
    """

    name: str
    labels: dict
    extra: dict = dc_field(default_factory=dict)

    def label(self, lang: str, default_language: str | None = None) -> str:
        """Label in ``lang``, else in ``default_language``, else any, else the name."""
        return _pick(self.labels, lang, default_language) or self.name


@dataclass(frozen=True)
class Field:
    """One data-bearing row of the ``survey`` sheet (see the module docstring)."""

    name: str
    type: str
    list_name: str | None = None
    labels: dict = dc_field(default_factory=dict)
    hints: dict = dc_field(default_factory=dict)
    required: bool = False
    constraint: str | None = None
    constraint_message: dict = dc_field(default_factory=dict)
    relevant: str | None = None
    choice_filter: str | None = None
    appearance: str | None = None
    personal: bool = False
    free_text: bool = False
    group: tuple = ()
    repeat: str | None = None
    row: int = 0
    calculation: str | None = None
    default: str | None = None
    extra: dict = dc_field(default_factory=dict)

    @property
    def is_select(self) -> bool:
        """True for select_one/select_multiple (from a list or a file)."""
        return self.type in _SELECT_TYPES or self.type in _FILE_SELECT_TYPES

    @property
    def is_multiple(self) -> bool:
        """True for select_multiple (from a list or a file)."""
        return self.type in ("select_multiple", "select_multiple_from_file")


@dataclass
class Instrument:
    """An XLSForm read into memory (see the module docstring for the methods)."""

    form_id: str
    version: str
    title: dict
    default_language: str
    path: Path | None
    fields: list
    choices: dict
    settings: dict = dc_field(default_factory=dict)

    def __post_init__(self):
        self._by_name = {f.name: f for f in self.fields}

    # -- structure -------------------------------------------------------------------------
    def field(self, name) -> Field:
        """The field called ``name`` (a :class:`Field` is returned unchanged).

        Raises
        ------
        InstrumentError
            If the form has no such field.
        """
        if isinstance(name, Field):
            return name
        try:
            return self._by_name[name]
        except KeyError:
            raise InstrumentError(
                f"form {self.form_id} version {self.version}: no field '{name}'"
            ) from None

    def has_field(self, name: str) -> bool:
        return name in self._by_name

    def fields_of(self, repeat: str | None = None) -> list[Field]:
        """Fields stored in the main table (``repeat=None``) or in the table of ``repeat``."""
        if repeat is not None and repeat not in self.repeats():
            raise InstrumentError(
                f"form {self.form_id} version {self.version}: no repeat '{repeat}' "
                f"(repeats: {', '.join(self.repeats()) or 'none'})"
            )
        return [f for f in self.fields if f.repeat == repeat]

    def repeats(self) -> list[str]:
        """Names of the repeats, in form order."""
        out: list[str] = []
        for r in self.settings.get("_repeats", ()):
            if r not in out:
                out.append(r)
        return out

    def repeat_parent(self, repeat: str) -> str | None:
        """The enclosing repeat of ``repeat`` (None when it sits in the main table)."""
        return self.settings.get("_repeat_parents", {}).get(repeat)

    def table_name(self, repeat: str | None = None) -> str:
        """Store table: ``form_id`` without a leading ``territoria_``; repeats ``<table>__<repeat>``.

        >>> Instrument("territoria_assembly", "1", {}, "es", None, [], {}).table_name("agreements")
        'assembly__agreements'
        """
        base = self.form_id.removeprefix("territoria_")
        base = re.sub(r"[^A-Za-z0-9_]", "_", base)
        if base and base[0].isdigit():
            base = "f_" + base
        if repeat is None:
            return base
        return f"{base}__{re.sub(r'[^A-Za-z0-9_]', '_', repeat)}"

    def column_types(self, repeat: str | None = None) -> dict[str, str]:
        """``{field name: DuckDB type}`` of the main table or of a repeat table.

        integer -> BIGINT, decimal -> DOUBLE, date/today -> DATE, datetime/start/end ->
        TIMESTAMP WITH TIME ZONE, everything else (selects, select_multiple as space-separated
        names, text, geopoint, calculate...) -> VARCHAR.
        """
        return {f.name: _DUCKDB_TYPES.get(f.type, "VARCHAR") for f in self.fields_of(repeat)}

    def personal_fields(self) -> list[str]:
        """Names of the fields marked ``yes`` in ``territoria::personal``."""
        return [f.name for f in self.fields if f.personal]

    def free_text_fields(self) -> list[str]:
        """Names of the fields marked ``yes`` in ``territoria::free_text``."""
        return [f.name for f in self.fields if f.free_text]

    # -- languages -------------------------------------------------------------------------
    def languages(self) -> list[str]:
        """Language codes used by labels, default language first."""
        langs = [self.default_language]
        for f in self.fields:
            for k in f.labels:
                if k not in langs:
                    langs.append(k)
        for lst in self.choices.values():
            for c in lst:
                for k in c.labels:
                    if k not in langs:
                        langs.append(k)
        return langs

    def label(self, field, lang: str | None = None) -> str:
        """Label of ``field`` in ``lang`` (fallback: default language, any, the name)."""
        f = self.field(field)
        return _pick(f.labels, lang or self.default_language, self.default_language) or f.name

    def hint(self, field, lang: str | None = None) -> str:
        """Hint of ``field`` in ``lang`` (empty string when none)."""
        f = self.field(field)
        return _pick(f.hints, lang or self.default_language, self.default_language) or ""

    def choice_label(self, list_name: str, name: str, lang: str | None = None) -> str:
        """Label of choice ``name`` of ``list_name`` (the name itself when unknown)."""
        for c in self.choices.get(list_name, ()):
            if c.name == name:
                return c.label(lang or self.default_language, self.default_language)
        return str(name)

    # -- values ----------------------------------------------------------------------------
    def allowed_values(self, field) -> set[str] | None:
        """Choice names a select field accepts; None when not a list select (or the list
        lives in an external file)."""
        f = self.field(field)
        if f.type in _SELECT_TYPES and f.list_name in self.choices:
            return {c.name for c in self.choices[f.list_name]}
        return None

    def check_value(self, field, raw) -> tuple[object, str | None]:
        """Coerce a raw exported value and check it against the form.

        Parameters
        ----------
        field : str or Field
        raw : str or None
            The cell as exported (empty string or None = no answer).

        Returns
        -------
        value : object
            None (empty), int (integer), float (decimal), datetime.date (date, today),
            datetime.datetime in UTC (datetime, start, end), str (select_multiple names joined
            by one space; everything else); the raw text when coercion failed.
        error_rule : str or None
            None when valid, else the broken rule: ``required``, ``integer``, ``decimal``,
            ``date (YYYY-MM-DD)``, ``datetime (ISO 8601)``, ``time (HH:MM[:SS])``,
            ``geopoint (lat lon [alt acc])``, ``choice in list <list>`` or
            ``constraint (<expr>)``.

        Notes
        -----
        ``required`` is enforced only for fields without a ``relevant`` expression (a relevance
        condition depends on other answers, which a single value cannot know). Constraints are
        checked when they use only ``.``, literals, comparisons, ``and``/``or``/``not()``,
        arithmetic and ``regex``, ``string-length``, ``selected``, ``count-selected``,
        ``number``, ``int``; any other constraint (for instance one that refers to another field
        with ``${x}``) is *not checked* here: see :meth:`constraint_checkable`.
        """
        f = self.field(field)
        text = _cell_text(raw).strip()
        if text == "":
            if f.required and not f.relevant:
                return None, "required"
            return None, None
        value, rule = _coerce(f, text)
        if rule is not None:
            return text, rule
        allowed = self.allowed_values(f)
        if allowed is not None:
            parts = str(value).split() if f.is_multiple else [str(value)]
            bad = [p for p in parts if p not in allowed]
            if bad:
                return text, f"choice in list {f.list_name}"
            if f.is_multiple:
                value = " ".join(parts)
        if f.constraint:
            pred = _compile_constraint(f.constraint)
            if pred is not None:
                try:
                    ok = pred(value)
                except _NotCheckable:
                    ok = True
                if not ok:
                    return value, f"constraint ({f.constraint})"
        return value, None

    def constraint_checkable(self, field) -> bool:
        """True when :meth:`check_value` evaluates the field's constraint (or it has none)."""
        f = self.field(field)
        return not f.constraint or _compile_constraint(f.constraint) is not None

    def __repr__(self) -> str:
        return (f"Instrument({self.form_id!r}, version={self.version!r}, "
                f"fields={len(self.fields)}, repeats={self.repeats()})")


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def parse_language(column_suffix: str | None) -> str | None:
    """Language code of a column suffix or a ``default_language`` setting.

    >>> parse_language("Español (es)"), parse_language("English (en)"), parse_language("English")
    ('es', 'en', 'english')
    >>> parse_language(None) is None
    True
    """
    if column_suffix is None:
        return None
    s = str(column_suffix).strip()
    if not s:
        return None
    m = re.search(r"\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\)\s*$", s)
    if m:
        return m.group(1).lower()
    return s.lower()


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v.is_integer():
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _pick(labels: dict, lang: str | None, default: str | None) -> str | None:
    for k in (lang, default):
        if k is not None and labels.get(k):
            return labels[k]
    for v in labels.values():
        if v:
            return v
    return None


class _Sheet:
    """A sheet as a header + rows of strings, with the file name for error messages."""

    def __init__(self, path: Path, title: str, rows: list[tuple]):
        self.path = path
        self.title = title
        header_idx = None
        for i, r in enumerate(rows):
            if any(_cell_text(c).strip() for c in r):
                header_idx = i
                break
        self.header: list[str] = []
        self.rows: list[tuple[int, dict]] = []
        if header_idx is None:
            return
        self.header = [_cell_text(c).strip() for c in rows[header_idx]]
        for i, r in enumerate(rows[header_idx + 1:], start=header_idx + 2):
            cells = {}
            for h, c in zip(self.header, r, strict=False):
                if h:
                    cells[h] = _cell_text(c)
            if any(v.strip() for v in cells.values()):
                self.rows.append((i, cells))

    def error(self, message: str, row: int | None = None, field: str | None = None) -> InstrumentError:
        where = [str(self.path), f"sheet {self.title}"]
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field {field}")
        return InstrumentError(f"{', '.join(where)}: {message}")


def _read_workbook(path: Path) -> dict[str, _Sheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise InstrumentError(f"{path}: file not found") from None
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise InstrumentError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from None
    try:
        sheets = {}
        for ws in wb.worksheets:
            sheets[ws.title.strip().lower()] = _Sheet(path, ws.title, list(ws.iter_rows(values_only=True)))
        return sheets
    finally:
        wb.close()


def _split_column(header: str) -> tuple[str, str | None]:
    """``'label::Español (es)'`` -> ``('label', 'Español (es)')``; ``'Label'`` -> ``('label', None)``."""
    if "::" in header:
        base, _, lang = header.partition("::")
        return base.strip().lower(), lang.strip()
    return header.strip().lower(), None


def _translated(cells: dict, base: str, default_lang: str) -> dict:
    out = {}
    for h, v in cells.items():
        b, lang = _split_column(h)
        if b != base or not v.strip():
            continue
        code = parse_language(lang) if lang else default_lang
        out[code] = v.strip()
    return out


def _plain(cells: dict, base: str) -> str | None:
    for h, v in cells.items():
        if "::" not in h and h.strip().lower() == base and v.strip():
            return v.strip()
    return None


def _flag(sheet: _Sheet, cells: dict, column: str, row: int, name: str | None) -> bool:
    raw = None
    for h, v in cells.items():
        if h.strip().lower() == column:
            raw = v
    if raw is None:
        return False
    s = raw.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise sheet.error(f"column '{column}' has value '{raw}' (allowed: yes, no or empty)", row, name)


def _parse_type(raw: str) -> tuple[str, str | None]:
    """``'select_one axis'`` -> ``('select_one', 'axis')``; ``'dateTime'`` -> ``('datetime', None)``."""
    s = " ".join(raw.strip().split())
    low = s.lower()
    for alias in sorted(_TYPE_ALIASES, key=len, reverse=True):
        if low == alias or low.startswith(alias + " "):
            rest = s[len(alias):].strip()
            base = _TYPE_ALIASES[alias]
            return base, (rest.split()[0] if rest else None)
    parts = s.split()
    base = parts[0].lower()
    if base in _SELECT_TYPES or base in _FILE_SELECT_TYPES:
        return base, parts[1] if len(parts) > 1 else None
    return base, None


def load_instrument(path) -> Instrument:
    """Read an XLSForm.

    Parameters
    ----------
    path : path-like
        The ``.xlsx`` file.

    Returns
    -------
    Instrument
        ``form_id`` (settings ``form_id``/``id_string``, else the file name), ``version``
        (settings ``version``, else ``''``), ``title`` ({lang: form_title}), ``default_language``
        (code), ``fields`` (data-bearing rows in form order), ``choices`` ({list: [Choice]}).

    Raises
    ------
    InstrumentError
        Naming the file, sheet, row and field: missing ``survey`` sheet or ``type``/``name``
        column, a data row without a name, duplicate names, unbalanced groups, a select without
        a list, an unknown list name, an invalid ``territoria::personal`` mark.

    Examples
    --------
    >>> inst = load_instrument(default_surveys_dir() / "assembly.xlsx")
    >>> inst.repeats(), inst.table_name("agreements")
    (['agreements'], 'assembly__agreements')
    """
    path = Path(path)
    sheets = _read_workbook(path)
    if "survey" not in sheets:
        raise InstrumentError(f"{path}: no 'survey' sheet (sheets: {', '.join(sheets) or 'none'})")
    survey = sheets["survey"]
    settings_sheet = sheets.get("settings")
    settings: dict[str, str] = {}
    if settings_sheet is not None and settings_sheet.rows:
        settings = {k.strip(): v.strip() for k, v in settings_sheet.rows[0][1].items() if v.strip()}
    low_settings = {k.lower(): v for k, v in settings.items()}

    heads = [_split_column(h)[0] for h in survey.header]
    for need in ("type", "name"):
        if need not in heads:
            raise survey.error(f"no '{need}' column (columns: {', '.join(h for h in survey.header if h)})", 1)

    default_lang = parse_language(low_settings.get("default_language"))
    if default_lang is None:
        for h in survey.header:
            b, lang = _split_column(h)
            if b == "label" and lang:
                default_lang = parse_language(lang)
                break
    default_lang = default_lang or "default"

    form_id = low_settings.get("form_id") or low_settings.get("id_string") or path.stem
    version = low_settings.get("version", "")
    title = {}
    for k, v in settings.items():
        key = k[len("territoria::"):] if k.lower().startswith("territoria::") else k
        b, lang = _split_column(key)
        if b == "form_title":
            title[parse_language(lang) if lang else default_lang] = v
    if not title:
        title = {default_lang: form_id}

    # choices
    choices: dict[str, list[Choice]] = {}
    chs = sheets.get("choices")
    if chs is not None and chs.rows:
        cheads = [_split_column(h)[0] for h in chs.header]
        lcol = "list_name" if "list_name" in cheads else ("list name" if "list name" in cheads else None)
        if lcol is None or "name" not in cheads:
            raise chs.error("needs 'list_name' and 'name' columns", 1)
        seen: dict[tuple, int] = {}
        for row, cells in chs.rows:
            lst = _plain(cells, lcol)
            name = _plain(cells, "name")
            if lst is None:
                raise chs.error("row has no list_name", row, name)
            if name is None:
                raise chs.error(f"choice of list '{lst}' has no name", row)
            if (lst, name) in seen:
                raise chs.error(
                    f"choice name '{name}' repeated in list '{lst}' (first at row {seen[(lst, name)]})",
                    row, name)
            seen[(lst, name)] = row
            extra = {}
            for h, v in cells.items():
                b, lang = _split_column(h)
                if lang is None and b not in (lcol, "name", "label") and v.strip():
                    extra[h.strip()] = v.strip()
            choices.setdefault(lst, []).append(
                Choice(name=name, labels=_translated(cells, "label", default_lang), extra=extra))

    # survey
    fields: list[Field] = []
    stack: list[tuple[str, str, int, str | None]] = []  # (kind, name, row, relevant)
    repeats: list[str] = []
    parents: dict[str, str | None] = {}
    repeat_paths: dict[str, tuple] = {}
    group_labels: dict[str, dict] = {}
    names: dict[str, int] = {}
    known_extra = {"type", "name", "label", "hint", "required", "constraint", "constraint_message",
                   "relevant", "choice_filter", "appearance", "calculation", "default",
                   PERSONAL_COLUMN, FREE_TEXT_COLUMN, "required_message", "guidance_hint",
                   "media", "image", "audio", "video"}
    for row, cells in survey.rows:
        raw_type = _plain(cells, "type")
        name = _plain(cells, "name")
        if raw_type is None:
            raise survey.error("row has no type", row, name)
        base, list_name = _parse_type(raw_type)
        if base in ("begin_group", "begin_repeat", "begin_loop"):
            if name is None:
                raise survey.error(f"'{raw_type}' has no name", row)
            kind = "repeat" if base != "begin_group" else "group"
            if kind == "repeat":
                if name in repeats:
                    raise survey.error(f"repeat name '{name}' is used twice", row, name)
                repeats.append(name)
                parents[name] = next((n for k, n, _, _ in reversed(stack) if k == "repeat"), None)
                repeat_paths[name] = tuple(n for _, n, _, _ in stack) + (name,)
            group_labels[name] = _translated(cells, "label", default_lang)
            stack.append((kind, name, row, _plain(cells, "relevant")))
            continue
        if base in ("end_group", "end_repeat", "end_loop"):
            kind = "repeat" if base != "end_group" else "group"
            if not stack or stack[-1][0] != kind:
                open_ = f"open {stack[-1][0]} '{stack[-1][1]}'" if stack else "nothing open"
                raise survey.error(f"'{raw_type}' does not close a {kind} ({open_})", row, name)
            stack.pop()
            continue
        if base == "note":
            continue
        if name is None:
            raise survey.error(f"'{raw_type}' row has no name", row)
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", name):
            raise survey.error(f"name '{name}' is not a valid XML name (letters, digits, _ . -)", row, name)
        if name in names:
            raise survey.error(f"name '{name}' is used twice (first at row {names[name]}); "
                               "names must be unique in the whole form", row, name)
        names[name] = row
        if (base in _SELECT_TYPES or base in _FILE_SELECT_TYPES) and not list_name:
            raise survey.error(f"'{raw_type}' needs a list name", row, name)
        if base in _SELECT_TYPES and list_name not in choices:
            raise survey.error(
                f"list '{list_name}' is not in the choices sheet"
                + (f" (lists: {', '.join(sorted(choices))})" if choices else ""), row, name)
        extra = {}
        for h, v in cells.items():
            b, lang = _split_column(h)
            if h.strip().lower() not in known_extra and b not in known_extra and v.strip():
                extra[h.strip()] = v.strip()
        fields.append(Field(
            name=name, type=base, list_name=list_name,
            labels=_translated(cells, "label", default_lang),
            hints=_translated(cells, "hint", default_lang),
            required=_flag(survey, cells, "required", row, name),
            constraint=_plain(cells, "constraint"),
            constraint_message=_translated(cells, "constraint_message", default_lang),
            relevant=_join_relevant([r for *_, r in stack] + [_plain(cells, "relevant")]),
            choice_filter=_plain(cells, "choice_filter"),
            appearance=_plain(cells, "appearance"),
            personal=_flag(survey, cells, PERSONAL_COLUMN, row, name),
            free_text=_flag(survey, cells, FREE_TEXT_COLUMN, row, name),
            group=tuple(n for _, n, _, _ in stack),
            repeat=next((n for k, n, _, _ in reversed(stack) if k == "repeat"), None),
            row=row,
            calculation=_plain(cells, "calculation"),
            default=_plain(cells, "default"),
            extra=extra,
        ))
    if stack:
        kind, name, row, _ = stack[-1]
        raise survey.error(f"{kind} '{name}' is never closed", row, name)
    inst = Instrument(form_id=form_id, version=version, title=title, default_language=default_lang,
                      path=path, fields=fields, choices=choices,
                      settings={**settings, "_repeats": tuple(repeats), "_repeat_parents": parents,
                                "_repeat_paths": repeat_paths, "_group_labels": group_labels})
    return inst


def _join_relevant(parts: list[str | None]) -> str | None:
    """Relevance of a field: its own condition and those of its enclosing groups, joined."""
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return parts[0] if parts else None
    return " and ".join(f"({p})" for p in parts)


def default_surveys_dir() -> Path:
    """The kit's ``surveys/`` folder.

    Looks for ``territoria/data/surveys`` inside the installed package first, then for the
    ``surveys/`` folder at the top of a source checkout.

    >>> (default_surveys_dir() / "diagnostic.xlsx").exists()
    True
    """
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "data" / "surveys"
    if packaged.is_dir() and any(packaged.glob("*.xlsx")):
        return packaged
    for parent in here.parents:
        cand = parent / "surveys"
        if cand.is_dir() and (parent / "pyproject.toml").exists():
            return cand
    raise InstrumentError(
        f"the kit's surveys folder was not found (looked in {packaged} and above {here.parent})")


def load_instruments(folder=None) -> dict[tuple[str, str], Instrument]:
    """Every XLSForm (``*.xlsx``) of ``folder`` keyed by ``(form_id, version)``.

    Raises
    ------
    InstrumentError
        If a form cannot be read or two files declare the same form_id and version.

    Examples
    --------
    >>> forms = load_instruments()
    >>> sorted({f for f, _ in forms})[:3]
    ['territoria_assembly', 'territoria_diagnostic', 'territoria_feedback']
    """
    folder = Path(folder) if folder is not None else default_surveys_dir()
    if not folder.is_dir():
        raise InstrumentError(f"{folder}: not a folder of XLSForms")
    out: dict[tuple[str, str], Instrument] = {}
    for p in sorted(folder.glob("*.xlsx")):
        if p.name.startswith(("~$", ".")):
            continue
        inst = load_instrument(p)
        key = (inst.form_id, inst.version)
        if key in out:
            raise InstrumentError(
                f"{p}: form {inst.form_id} version {inst.version} is also defined in {out[key].path}")
        out[key] = inst
    return out


def _version_key(v: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|[^\d.\-_ ]+", v)]


def find_instrument(instruments: dict, form_id: str, version: str | None = None) -> Instrument:
    """Pick the instrument ``(form_id, version)``; ``version=None`` takes the highest version.

    Raises
    ------
    InstrumentError
        "form X version Y is not known (known versions: ...)" or "form X is not known
        (known forms: ...)".

    Examples
    --------
    >>> forms = load_instruments()
    >>> find_instrument(forms, "territoria_votes").repeats()
    ['votes']
    >>> find_instrument(forms, "territoria_votes", "1999.1")
    Traceback (most recent call last):
    ...
    territoria.exceptions.InstrumentError: form territoria_votes version 1999.1 is not known (known versions: 2026.1)
    """
    versions = sorted((v for f, v in instruments if f == form_id), key=_version_key)
    if not versions:
        known = sorted({f for f, _ in instruments})
        raise InstrumentError(f"form {form_id} is not known (known forms: {', '.join(known) or 'none'})")
    if version is None:
        return instruments[(form_id, versions[-1])]
    version = str(version)
    if (form_id, version) not in instruments:
        raise InstrumentError(
            f"form {form_id} version {version} is not known (known versions: {', '.join(versions)})")
    return instruments[(form_id, version)]


# --------------------------------------------------------------------------------------------
# value coercion
# --------------------------------------------------------------------------------------------
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _parse_datetime(text: str) -> dt.datetime | None:
    s = text.strip().replace(" ", "T", 1) if "T" not in text else text.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*[+-]\d{2})(\d{2})$", s)
    if m and "T" in s and re.search(r"[+-]\d{4}$", s):
        s = f"{m.group(1)}:{m.group(2)}"
    try:
        v = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.timezone.utc)
    return v.astimezone(dt.timezone.utc)


def _coerce(f: Field, text: str) -> tuple[object, str | None]:
    t = f.type
    if t == "integer":
        try:
            return int(text), None
        except ValueError:
            try:
                x = float(text)
            except ValueError:
                return None, "integer"
            if x.is_integer():
                return int(x), None
            return None, "integer"
    if t in ("decimal", "range"):
        try:
            x = float(text)
        except ValueError:
            return None, "decimal"
        if math.isnan(x) or math.isinf(x):
            return None, "decimal"
        return x, None
    if t in ("date", "today"):
        head = text[:10]
        if not _DATE_RE.match(head) or (len(text) > 10 and text[10] not in "T "):
            return None, "date (YYYY-MM-DD)"
        try:
            return dt.date.fromisoformat(head), None
        except ValueError:
            return None, "date (YYYY-MM-DD)"
    if t in ("datetime", "start", "end"):
        v = _parse_datetime(text)
        return (v, None) if v is not None else (None, "datetime (ISO 8601)")
    if t == "time":
        return (text, None) if _TIME_RE.match(text) else (None, "time (HH:MM[:SS])")
    if t in ("geopoint",):
        parts = text.split()
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            return None, "geopoint (lat lon [alt acc])"
        if len(nums) not in (2, 3, 4) or not (-90 <= nums[0] <= 90 and -180 <= nums[1] <= 180):
            return None, "geopoint (lat lon [alt acc])"
        return " ".join(parts), None
    if f.is_multiple:
        return " ".join(text.split()), None
    return text, None


# --------------------------------------------------------------------------------------------
# a small evaluator for simple XLSForm constraints
# --------------------------------------------------------------------------------------------
class _NotCheckable(Exception):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\$\{[^}]*\})|(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)|(?P<dot>\.(?![\w.]))"
    r"|(?P<name>[A-Za-z_][\w\-]*(?::[\w\-]+)?))"
)
_CACHE: dict[str, object] = {}


def _tokenize(expr: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise _NotCheckable(expr[pos:])
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            continue
        out.append((kind, m.group(kind)))
        # allow trailing whitespace
        while pos < len(expr) and expr[pos].isspace():
            pos += 1
    return out


def _num(v):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return math.nan


def _str(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return str(v)


def _compare(a, op, b) -> bool:
    if isinstance(a, (int, float)) or isinstance(b, (int, float)) or op in ("<", "<=", ">", ">="):
        x, y = _num(a), _num(b)
        if math.isnan(x) or math.isnan(y):
            return op == "!="
    else:
        x, y = _str(a), _str(b)
    return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _truth(v) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    return bool(_str(v))


class _Parser:
    def __init__(self, tokens):
        self.t = tokens
        self.i = 0

    def peek(self, value=None):
        if self.i >= len(self.t):
            return None
        tok = self.t[self.i]
        if value is not None and tok[1] != value:
            return None
        return tok

    def take(self, value=None):
        tok = self.peek(value)
        if tok is None:
            raise _NotCheckable(value or "end")
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.i != len(self.t):
            raise _NotCheckable(str(self.t[self.i:]))
        return node

    def or_(self):
        return self._chain("or", self.and_, any)

    def and_(self):
        return self._chain("and", self.cmp, all)

    def _chain(self, word, operand, join):
        """``operand (word operand)*``: the operands' truth values joined by ``any`` (or) or
        ``all`` (and), left to right and stopping as soon as the result is known."""
        parts = [operand()]
        while self.peek(word):
            self.take()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return lambda v: join(_truth(p(v)) for p in parts)

    def cmp(self):
        left = self.add()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.add()
            op = tok[1]
            return lambda v: _compare(left(v), op, right(v))
        return left

    def add(self):
        left = self.mul()
        while True:
            tok = self.peek()
            if tok and tok[1] in ("+", "-"):
                self.take()
                right = self.mul()
                sign = 1 if tok[1] == "+" else -1
                left = (lambda a, b, s: lambda v: _num(a(v)) + s * _num(b(v)))(left, right, sign)
            else:
                return left

    def mul(self):
        left = self.unary()
        while True:
            tok = self.peek()
            if tok and tok[1] in ("*", "div", "mod"):
                self.take()
                right = self.unary()
                op = tok[1]

                def f(v, a=left, b=right, op=op):
                    x, y = _num(a(v)), _num(b(v))
                    if op == "*":
                        return x * y
                    if y == 0:
                        return math.nan
                    return x / y if op == "div" else math.fmod(x, y)

                left = f
            else:
                return left

    def unary(self):
        if self.peek("-"):
            self.take()
            inner = self.unary()
            return lambda v: -_num(inner(v))
        return self.primary()

    def primary(self):
        kind, val = self.take()
        if kind == "ref":
            raise _NotCheckable(val)
        if kind == "num":
            x = float(val)
            return lambda v: x
        if kind == "str":
            s = val[1:-1]
            return lambda v: s
        if kind == "dot":
            return lambda v: v
        if val == "(":
            node = self.or_()
            self.take(")")
            return node
        if kind == "name":
            self.take("(")
            args = []
            if not self.peek(")"):
                args.append(self.or_())
                while self.peek(","):
                    self.take()
                    args.append(self.or_())
            self.take(")")
            return self.function(val, args)
        raise _NotCheckable(val)

    def function(self, name, args):
        n = len(args)
        if name == "regex" and n == 2:
            def f(v, a=args[0], b=args[1]):
                try:
                    return re.search(_str(b(v)), _str(a(v))) is not None
                except re.error:
                    raise _NotCheckable("regex") from None
            return f
        if name == "string-length" and n == 1:
            return lambda v, a=args[0]: float(len(_str(a(v))))
        if name == "selected" and n == 2:
            return lambda v, a=args[0], b=args[1]: _str(b(v)) in _str(a(v)).split()
        if name == "count-selected" and n == 1:
            return lambda v, a=args[0]: float(len(_str(a(v)).split()))
        if name == "not" and n == 1:
            return lambda v, a=args[0]: not _truth(a(v))
        if name in ("number", "int") and n == 1:
            if name == "int":
                return lambda v, a=args[0]: float(math.trunc(_num(a(v))))
            return lambda v, a=args[0]: _num(a(v))
        if name == "true" and n == 0:
            return lambda v: True
        if name == "false" and n == 0:
            return lambda v: False
        raise _NotCheckable(name)


def _compile_constraint(expr: str):
    """A predicate value -> bool for a simple constraint, or None when not checkable."""
    if expr in _CACHE:
        return _CACHE[expr]
    try:
        pred = _Parser(_tokenize(expr)).parse()
    except _NotCheckable:
        pred = None
    _CACHE[expr] = pred
    return pred
