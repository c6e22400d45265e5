"""Validate an XLSForm offline: pyxform's own conversion (no Java, no network) plus the kit's rules.

The kit's rules (on top of what pyxform checks):

* a ``settings`` sheet with ``form_id`` and ``version``;
* label columns in both languages, ``label::Español (es)`` and ``label::English (en)``, and every
  question labelled in both (hints and constraint messages too, when given);
* ``territoria::personal`` / ``territoria::free_text`` marks are ``yes``, ``no`` or empty;
* field names unique in the whole form (groups are flattened into one table).

Every problem is an :class:`~territoria.exceptions.InstrumentError` naming the file, the sheet,
the row and the field.

Examples
--------
>>> from territoria.instruments.xlsform import default_surveys_dir
>>> res = validate_xlsform(default_surveys_dir() / "followup.xlsx")
>>> res.instrument.form_id, res.warnings
('territoria_followup', [])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from territoria.exceptions import InstrumentError
from territoria.instruments.build import LANGUAGES as KIT_FORM_LANGUAGES
from territoria.instruments.xlsform import (
    FREE_TEXT_COLUMN,
    PERSONAL_COLUMN,
    Instrument,
    _read_workbook,
    _split_column,
    load_instrument,
    parse_language,
)

__all__ = ["ValidationResult", "validate_xlsform", "REQUIRED_LANGUAGES"]

#: Languages every kit form must carry (code -> column suffix): those the forms are built in.
REQUIRED_LANGUAGES = dict(KIT_FORM_LANGUAGES)
#: Types that need no label.
_UNLABELLED = {"start", "end", "today", "deviceid", "username", "calculate", "audit",
               "simserial", "subscriberid", "phonenumber", "email", "hidden", "xml-external",
               "csv-external", "start-geopoint"}


@dataclass
class ValidationResult:
    """What :func:`validate_xlsform` found: the instrument and pyxform's warnings."""

    instrument: Instrument
    warnings: list = dc_field(default_factory=list)
    xform: str = ""

    def summary(self) -> str:
        """One line: form id, version, field and repeat counts."""
        inst = self.instrument
        reps = inst.repeats()
        return (f"{inst.form_id} version {inst.version}: {len(inst.fields)} fields"
                f" ({len(inst.fields_of())} in the main table"
                + "".join(f", {len(inst.fields_of(r))} in repeat {r}" for r in reps)
                + f"), {len(inst.personal_fields())} personal, {len(inst.choices)} choice lists")


def _where(path, sheet=None, row=None, field=None) -> str:
    parts = [str(path)]
    if sheet:
        parts.append(f"sheet {sheet}")
    if row is not None:
        parts.append(f"row {row}")
    if field:
        parts.append(f"field {field}")
    return ", ".join(parts)


def _pyxform_error(path: Path, inst: Instrument | None, exc: Exception) -> InstrumentError:
    msg = " ".join(str(exc).split())
    row = None
    m = re.match(r"^\[row\s*:\s*(\d+)\]\s*(.*)$", msg)
    if m:
        row, msg = int(m.group(1)), m.group(2)
    sm = re.search(r"On the '(\w+)' sheet,?\s*", msg)
    sheet = sm.group(1) if sm else ("choices" if "choices sheet" in msg.lower() and row is None else "survey")
    if sm:
        msg = (msg[: sm.start()] + msg[sm.end():]).strip()
        msg = msg[:1].upper() + msg[1:] if msg else msg
    field = None
    if inst is not None:
        if row is not None and sheet == "survey":
            field = next((f.name for f in inst.fields if f.row == row), None)
        elif row is None:
            t = re.search(r"question type '([^']+)'", msg)
            if t:
                hit = next((f for f in inst.fields if f.type == t.group(1).lower()), None)
                if hit is not None:
                    row, field = hit.row, hit.name
    if field is None:
        nm = re.search(r"(?:name|question) '([^']+)'", msg)
        if nm and inst is not None and inst.has_field(nm.group(1)):
            field = nm.group(1)
            row = row or inst.field(field).row
    return InstrumentError(f"{_where(path, sheet, row, field)}: {msg} (pyxform)")


def _kit_checks(path: Path, inst: Instrument) -> None:
    sheets = _read_workbook(path)
    st = sheets.get("settings")
    if st is None or not st.rows:
        raise InstrumentError(f"{_where(path, 'settings')}: no settings sheet with form_id and version")
    settings = {k.strip().lower(): v.strip() for k, v in st.rows[0][1].items()}
    srow = st.rows[0][0]
    for key in ("form_id", "version"):
        if not settings.get(key):
            raise InstrumentError(f"{_where(path, 'settings', srow)}: '{key}' is missing or empty")
    if parse_language(settings.get("default_language")) != "es":
        raise InstrumentError(
            f"{_where(path, 'settings', srow)}: default_language must be 'Español (es)' "
            f"(got {settings.get('default_language') or 'nothing'!r})")
    for sheet_name in ("survey", "choices"):
        sh = sheets.get(sheet_name)
        if sh is None or (sheet_name == "choices" and not sh.rows):
            continue
        langs = {parse_language(lang) for b, lang in map(_split_column, sh.header)
                 if b == "label" and lang}
        missing = [col for code, col in REQUIRED_LANGUAGES.items() if code not in langs]
        if missing:
            raise InstrumentError(
                f"{_where(path, sheet_name, 1)}: no column "
                + ", ".join(f"'label::{c}'" for c in missing)
                + " (every kit form is labelled in Spanish and English)")
    for f in inst.fields:
        needs_label = f.type not in _UNLABELLED
        for what, texts in (("label", f.labels), ("hint", f.hints),
                            ("constraint_message", f.constraint_message)):
            if what != "label" and not texts:
                continue
            if what == "label" and not needs_label and not texts:
                continue
            miss = [code for code in REQUIRED_LANGUAGES if not texts.get(code)]
            if miss:
                raise InstrumentError(
                    f"{_where(path, 'survey', f.row, f.name)}: {what} missing in "
                    + ", ".join(REQUIRED_LANGUAGES[m] for m in miss))
    for lst, items in inst.choices.items():
        for c in items:
            miss = [code for code in REQUIRED_LANGUAGES if not c.labels.get(code)]
            if miss:
                raise InstrumentError(
                    f"{_where(path, 'choices', None, None)}: choice '{c.name}' of list '{lst}' "
                    "has no label in " + ", ".join(REQUIRED_LANGUAGES[m] for m in miss))
    survey_cols = {h.strip().lower() for h in sheets["survey"].header}
    for col in (PERSONAL_COLUMN, FREE_TEXT_COLUMN):
        if col not in survey_cols:
            raise InstrumentError(f"{_where(path, 'survey', 1)}: no '{col}' column "
                                  "(mark personal and free-text fields with yes)")


def validate_xlsform(path, *, kit_rules: bool = True) -> ValidationResult:
    """Validate one XLSForm and return the instrument with pyxform's warnings.

    Parameters
    ----------
    path : path-like
        The ``.xlsx`` form.
    kit_rules : bool
        Also apply the kit's rules (see the module docstring); turn off to check a third-party
        form (for instance one exported from KoboToolbox) with pyxform's rules only.

    Returns
    -------
    ValidationResult
        ``instrument``, ``warnings`` (pyxform's, as text) and ``xform`` (the converted XML).

    Raises
    ------
    InstrumentError
        The first problem found, naming file, sheet, row and field.

    Notes
    -----
    Uses ``pyxform.xls2xform.convert(xlsform=..., validate=False)``: offline, Java-free. ODK
    Validate (Java) and Enketo checks are not run.
    """
    from pyxform.xls2xform import convert

    path = Path(path)
    inst = load_instrument(path)
    try:
        result = convert(xlsform=str(path), validate=False, warnings=[])
    except Exception as e:  # PyXFormError and the odd ValueError/KeyError on malformed sheets
        raise _pyxform_error(path, inst, e) from None
    if kit_rules:
        _kit_checks(path, inst)
    return ValidationResult(instrument=inst, warnings=[str(w) for w in (result.warnings or [])],
                            xform=result.xform)
