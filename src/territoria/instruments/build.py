"""Build the kit's XLSForms from their readable YAML sources.

Each instrument is written once, as ``surveys/src/<form>.yml`` (reviewable in a diff), and this
module turns it into ``surveys/<form>.xlsx`` deterministically (same YAML -> byte-identical file:
fixed workbook properties and zip timestamps). Choice lists shared by several forms live in
``surveys/src/_choices.yml`` and are pulled in with ``choices_from``.

YAML layout::

    settings:
      form_id: territoria_votes
      version: "2026.1"
      title: {es: Votación de propuestas, en: Voting on proposals}
    choices_from: [sex, age_group]          # lists from _choices.yml
    choices:                                # lists of this form only
      vote:
        - [agree, De acuerdo, Agree]        # name, Spanish label, English label
        - {name: pass, es: Paso, en: Pass, extra_column: value}
    survey:
      - {type: text, name: participant_code, label: {es: ..., en: ...}, required: yes}
      - {type: begin_repeat, name: votes, label: {es: ..., en: ...}}
      - ...
      - {type: end_repeat}

Survey keys: ``type, name, label, hint, required, required_message, relevant, constraint,
constraint_message, choice_filter, appearance, calculation, default, parameters, repeat_count,
read_only, personal, free_text`` (``label, hint, constraint_message, required_message`` are
``{es: ..., en: ...}``; ``personal``/``free_text`` become the ``territoria::personal`` and
``territoria::free_text`` columns).

Run ``python -m territoria.instruments.build`` to rebuild every form, ``--check`` to only verify
that the committed ``.xlsx`` files match their sources (exit 1 otherwise).

Examples
--------
>>> import io
>>> src = default_sources_dir()
>>> a = build_bytes(src / "votes.yml")
>>> a == build_bytes(src / "votes.yml")  # deterministic
True
>>> a[:2]
b'PK'
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

from territoria.exceptions import InstrumentError

__all__ = [
    "LANGUAGES",
    "SURVEY_COLUMNS",
    "load_source",
    "build_rows",
    "build_bytes",
    "sheets_bytes",
    "survey_columns",
    "build_all",
    "check_all",
    "default_sources_dir",
    "workbook_content",
]

#: Language code -> XLSForm language name used in column headers.
LANGUAGES = {"es": "Español (es)", "en": "English (en)"}
DEFAULT_LANGUAGE = "es"
_TRANSLATED = ("label", "hint", "required_message", "constraint_message")
_PLAIN = ("relevant", "constraint", "choice_filter", "appearance", "calculation", "default",
          "parameters", "repeat_count", "read_only")
_FLAGS = {"personal": "territoria::personal", "free_text": "territoria::free_text"}


def _cols(base: str, languages: dict[str, str] | None = None) -> list[str]:
    languages = languages or LANGUAGES
    return [f"{base}::{languages[k]}" for k in languages]


def survey_columns(languages: dict[str, str] | None = None) -> list[str]:
    """Column order of the ``survey`` sheet for ``languages`` (code -> XLSForm language name)."""
    def c(base):
        return _cols(base, languages)
    return ["type", "name", *c("label"), *c("hint"), "required", *c("required_message"),
            "relevant", "constraint", *c("constraint_message"), "choice_filter", "appearance",
            "calculation", "default", "parameters", "repeat_count", "read_only",
            "territoria::personal", "territoria::free_text"]


#: Column order of the generated ``survey`` sheet (the kit's forms, es and en).
SURVEY_COLUMNS = survey_columns()
_ALLOWED_KEYS = {"type", "name", *_TRANSLATED, *_PLAIN, "required", *_FLAGS}
_FIXED_DATE = (2026, 1, 1, 0, 0, 0)
_FIXED_ISO = "2026-01-01T00:00:00Z"
_NO_LABEL = {"start", "end", "today", "deviceid", "username", "calculate", "end_group",
             "end_repeat", "audit", "simserial", "subscriberid", "phonenumber"}


def default_sources_dir() -> Path:
    """``surveys/src`` of the kit (next to the built forms)."""
    from territoria.instruments.xlsform import default_surveys_dir

    return default_surveys_dir() / "src"


def _err(path: Path, msg: str) -> InstrumentError:
    return InstrumentError(f"{path}: {msg}")


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _err(path, "file not found") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise InstrumentError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None


def _text(path: Path, where: str, v, *, allow_none=False) -> str | None:
    if v is None:
        if allow_none:
            return None
        raise _err(path, f"{where}: missing value")
    if isinstance(v, bool):
        raise _err(path, f"{where}: got the YAML boolean {v!r}; quote the text (e.g. 'yes')")
    if isinstance(v, (int, float, str)):
        return str(v)
    raise _err(path, f"{where}: expected text, got {type(v).__name__}")


def _translations(path: Path, where: str, v) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _err(path, f"{where}: expected {{es: ..., en: ...}}, got {v!r}")
    missing = [k for k in LANGUAGES if not v.get(k)]
    extra = [k for k in v if k not in LANGUAGES]
    if missing or extra:
        raise _err(path, f"{where}: needs exactly the languages {', '.join(LANGUAGES)} "
                         f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'})")
    return {k: str(_text(path, f"{where}.{k}", v[k])) for k in LANGUAGES}


def load_source(path) -> dict:
    """Read a form's YAML source (with the shared lists it uses) into a validated dict.

    Raises
    ------
    InstrumentError
        Naming the file and the offending key.
    """
    path = Path(path)
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise _err(path, "expected a mapping with settings, choices and survey")
    unknown = set(doc) - {"settings", "choices_from", "choices", "survey"}
    if unknown:
        raise _err(path, f"unknown top-level key(s) {', '.join(sorted(unknown))} "
                         "(allowed: settings, choices_from, choices, survey)")
    settings = doc.get("settings") or {}
    for k in ("form_id", "version", "title"):
        if k not in settings:
            raise _err(path, f"settings.{k} is required")
    shared_path = path.parent / "_choices.yml"
    shared: dict = {}
    if doc.get("choices_from"):
        shared = _read_yaml(shared_path) or {}
    choices: dict[str, list] = {}
    for name in doc.get("choices_from") or []:
        if name not in shared:
            raise _err(path, f"choices_from: list '{name}' is not in {shared_path.name}")
        choices[name] = shared[name]
    for name, lst in (doc.get("choices") or {}).items():
        if name in choices:
            raise _err(path, f"choices.{name}: also taken from {shared_path.name}")
        choices[name] = lst
    norm_choices: dict[str, list[dict]] = {}
    for lname, items in choices.items():
        out = []
        for i, item in enumerate(items or []):
            where = f"choices.{lname}[{i}]"
            if isinstance(item, list):
                if len(item) != 3:
                    raise _err(path, f"{where}: expected [name, es label, en label]")
                item = {"name": item[0], "es": item[1], "en": item[2]}
            if not isinstance(item, dict):
                raise _err(path, f"{where}: expected a list or a mapping")
            rec: dict[str, Any] = {"name": _text(path, where + ".name", item.get("name")),
                   "label": {k: _text(path, f"{where}.{k}", item.get(k)) for k in LANGUAGES},
                   "extra": {k: _text(path, f"{where}.{k}", v) for k, v in item.items()
                             if k not in ("name", *LANGUAGES)}}
            out.append(rec)
        norm_choices[lname] = out
    rows = []
    for i, r in enumerate(doc.get("survey") or []):
        where = f"survey[{i}]"
        if not isinstance(r, dict):
            raise _err(path, f"{where}: expected a mapping")
        bad = set(r) - _ALLOWED_KEYS
        if bad:
            raise _err(path, f"{where} ({r.get('name', '?')}): unknown key(s) {', '.join(sorted(bad))}")
        t = str(_text(path, where + ".type", r.get("type")))
        rec = {"type": t, "name": _text(path, where + ".name", r.get("name"), allow_none=True)}
        where = f"{where} ({rec['name'] or t})"
        base = t.split()[0]
        for k in _TRANSLATED:
            if k in r:
                rec[k] = _translations(path, f"{where}.{k}", r[k])
        if "label" not in rec and base not in _NO_LABEL:
            raise _err(path, f"{where}: label {{es, en}} is required")
        for k in _PLAIN:
            if k in r:
                rec[k] = _text(path, f"{where}.{k}", r[k])
        if "required" in r:
            rec["required"] = "yes" if r["required"] in (True, "yes", "true") else "no"
        for k in _FLAGS:
            if k in r:
                if r[k] not in (True, False):
                    raise _err(path, f"{where}.{k}: expected yes or no, got {r[k]!r}")
                rec[k] = "yes" if r[k] else ""
        rows.append(rec)
    title = _translations(path, "settings.title", settings["title"])
    return {
        "path": path,
        "settings": {"form_id": _text(path, "settings.form_id", settings["form_id"]),
                     "version": _text(path, "settings.version", settings["version"]),
                     "title": title,
                     "instance_name": _text(path, "settings.instance_name",
                                            settings.get("instance_name"), allow_none=True)},
        "choices": norm_choices,
        "survey": rows,
    }


def build_rows(source: dict, languages: dict[str, str] | None = None) -> dict[str, list[list]]:
    """The three sheets (``survey``, ``choices``, ``settings``) as lists of rows (header first).

    ``languages``: code -> XLSForm language name, the first being the form's default
    (default :data:`LANGUAGES`); every text of ``source`` must have each of them.
    """
    languages = languages or LANGUAGES
    first = next(iter(languages))
    columns = survey_columns(languages)
    survey = [list(columns)]
    for r in source["survey"]:
        row = []
        for col in columns:
            if "::" in col and not col.startswith("territoria::"):
                base, _, lang_name = col.partition("::")
                code = next(k for k, v in languages.items() if v == lang_name)
                row.append(r.get(base, {}).get(code))
            elif col.startswith("territoria::"):
                key = {v: k for k, v in _FLAGS.items()}[col]
                row.append(r.get(key) or None)
            else:
                row.append(r.get(col))
        survey.append(row)
    extra_cols: list[str] = []
    for items in source["choices"].values():
        for c in items:
            for k in c["extra"]:
                if k not in extra_cols:
                    extra_cols.append(k)
    choices = [["list_name", "name", *_cols("label", languages), *extra_cols]]
    for lname, items in source["choices"].items():
        for c in items:
            choices.append([lname, c["name"], *(c["label"][k] for k in languages),
                            *(c["extra"].get(k) for k in extra_cols)])
    s = source["settings"]
    others = [k for k in languages if k != first]
    head = ["form_title", *(f"territoria::form_title::{languages[k]}" for k in others),
            "form_id", "version", "default_language"]
    vals = [s["title"][first], *(s["title"][k] for k in others), s["form_id"], s["version"],
            languages[first]]
    if s.get("instance_name"):
        head.append("instance_name")
        vals.append(s["instance_name"])
    return {"survey": survey, "choices": choices, "settings": [head, vals]}


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite an .xlsx with fixed timestamps so that identical content gives identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                              lambda m: m.group(1) + _FIXED_ISO.encode() + m.group(3), body)
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def build_bytes(yml_path) -> bytes:
    """The ``.xlsx`` bytes of the form described by ``yml_path`` (deterministic)."""
    return sheets_bytes(build_rows(load_source(yml_path)))


def sheets_bytes(sheets: dict[str, list[list]]) -> bytes:
    """An ``.xlsx`` of ``sheets`` (title -> rows, header first), deterministic bytes."""
    import datetime as dt

    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    fixed = dt.datetime(*_FIXED_DATE)
    wb.properties.creator = "territoria"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.lastModifiedBy = "territoria"
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue())


def workbook_content(path) -> dict[str, list[tuple]]:
    """Cell values of every sheet of an .xlsx (trailing empty rows/cells dropped), to compare
    a committed form with its source independently of the writer's byte layout."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            rows = []
            for r in ws.iter_rows(values_only=True):
                r = list(r)
                while r and r[-1] in (None, ""):
                    r.pop()
                rows.append(tuple(r))
            while rows and not rows[-1]:
                rows.pop()
            out[ws.title] = rows
        return out
    finally:
        wb.close()


def _sources(src_dir: Path) -> list[Path]:
    return sorted(p for p in src_dir.glob("*.yml") if not p.name.startswith("_"))


def _targets(src_dir, out_dir) -> list[tuple[Path, Path]]:
    """Each form's YAML source and the ``.xlsx`` built from it (defaults: ``surveys/src`` and
    the folder above it)."""
    src_dir = Path(src_dir) if src_dir else default_sources_dir()
    out_dir = Path(out_dir) if out_dir else src_dir.parent
    return [(p, out_dir / f"{p.stem}.xlsx") for p in _sources(src_dir)]


def build_all(src_dir=None, out_dir=None) -> list[Path]:
    """Build every ``<form>.yml`` of ``src_dir`` into ``out_dir/<form>.xlsx``; returns the paths."""
    written = []
    for p, target in _targets(src_dir, out_dir):
        data = build_bytes(p)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        written.append(target)
    return written


def check_all(src_dir=None, out_dir=None) -> list[str]:
    """Names of the forms whose committed ``.xlsx`` is missing or differs from its YAML source."""
    stale = []
    for p, target in _targets(src_dir, out_dir):
        if not target.exists() or workbook_content(target) != workbook_content(io.BytesIO(build_bytes(p))):
            stale.append(target.name)
    return stale


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--check" in argv:
        stale = check_all()
        if stale:
            print("out of date (run python -m territoria.instruments.build): " + ", ".join(stale))
            return 1
        print("all forms are in sync with surveys/src")
        return 0
    for p in build_all():
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
