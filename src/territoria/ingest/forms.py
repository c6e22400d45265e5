"""Which XLSForm instrument a survey export belongs to.

Instruments are read from the workspace's ``surveys/`` folder (``<workspace>/surveys/*.xlsx``),
falling back to the kit's own forms (:func:`territoria.instruments.xlsform.default_surveys_dir`).
A file is matched to a form by id and version: ``--form FORM_ID[@VERSION]`` first, then the
``__version__`` (Kobo) or ``FormVersion`` (ODK) column, the file name (ODK ``<formId>.csv``,
Kobo ``<title>_-_all_versions_-_...``), and finally the overlap between the file's columns and
each form's field names.

Examples
--------
>>> parse_form_option("territoria_diagnostic@2026.1")
('territoria_diagnostic', '2026.1')
>>> parse_form_option("territoria_votes")
('territoria_votes', None)
"""

from __future__ import annotations

import re
from pathlib import Path

from territoria.exceptions import IngestError, InstrumentError
from territoria.instruments.xlsform import (
    Instrument,
    default_surveys_dir,
    find_instrument,
    load_instruments,
)


def parse_form_option(form: str | None) -> tuple[str | None, str | None]:
    """Split ``FORM_ID[@VERSION]``."""
    if not form:
        return None, None
    fid, _, ver = str(form).partition("@")
    return fid.strip() or None, ver.strip() or None


_CACHE: dict = {}


def _folder_key(folder: Path) -> tuple:
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                        for p in folder.glob("*.xlsx")))


def _load_folder(folder: Path) -> dict:
    key = (str(folder), _folder_key(folder))
    if key not in _CACHE:
        _CACHE[key] = load_instruments(folder)
    return _CACHE[key]


def load_forms(root: Path | None) -> dict[tuple[str, str], Instrument]:
    """The workspace's instruments, or the kit's when the workspace has none.

    Forms in the workspace override the kit's forms with the same id and version. Folders are
    read once per process and re-read when a file changes (name, size or time).
    """
    forms: dict[tuple[str, str], Instrument] = {}
    try:
        forms.update(_load_folder(default_surveys_dir()))
    except InstrumentError:
        pass
    if root is not None:
        folder = Path(root) / "surveys"
        if folder.is_dir() and any(folder.glob("*.xlsx")):
            forms.update(_load_folder(folder))
    return forms


def kobo_version_ids(inst: Instrument) -> set[str]:
    """Version labels an export may carry for ``inst``: its ``version`` setting and the value
    of a ``__version__`` calculate field (KoboToolbox's internal version id)."""
    out = {str(inst.version)} if inst.version else set()
    if inst.has_field("__version__"):
        f = inst.field("__version__")
        for expr in (f.calculation, f.default):
            if expr:
                out.add(expr.strip().strip("'\""))
    return out


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(s).lower())


def form_ids(forms) -> list[str]:
    return sorted({f for f, _ in forms})


def guess_form_id(forms, file_name: str, columns: list[str]) -> str | None:
    """Form id from the file name, else from the best overlap of columns and field names."""
    stem = Path(file_name).name
    stem = re.sub(r"\.(csv|xlsx|zip|gz)$", "", stem, flags=re.I)
    stem = re.sub(r"\.(csv)$", "", stem, flags=re.I)
    kobo_title = stem.split("_-_")[0]
    ids = form_ids(forms)
    for fid in ids:
        if stem == fid or kobo_title == fid:
            return fid
    by_title = {}
    for (fid, _), inst in forms.items():
        for t in list(inst.title.values()) + [fid, fid.removeprefix("territoria_")]:
            by_title.setdefault(_norm(t), set()).add(fid)
    for key in (_norm(kobo_title), _norm(stem)):
        if key in by_title and len(by_title[key]) == 1:
            return next(iter(by_title[key]))
    # column overlap (names after stripping group prefixes)
    cols = {re.split(r"[/]", c)[-1] for c in columns} | {c.split("-")[-1] for c in columns}
    texts = {" ".join(c.split()).casefold() for c in columns}
    texts |= {" ".join(c.split("/")[-1].split()).casefold() for c in columns}
    best, best_score, tie = None, 0.0, False
    for fid in ids:
        inst = find_instrument(forms, fid)
        fields = inst.fields_of(None)
        if not fields:
            continue
        hits = sum(1 for f in fields if f.name in cols or any(
            " ".join(str(lab).split()).casefold() in texts for lab in f.labels.values()))
        score = hits / len(fields)
        if score > best_score + 1e-9:
            best, best_score, tie = fid, score, False
        elif abs(score - best_score) <= 1e-9:
            tie = True
    if best is not None and best_score >= 0.6 and not tie:
        return best
    return None


def resolve(forms, form_id: str, version: str | None, file_name: str) -> Instrument:
    """The instrument ``(form_id, version)`` or an :class:`IngestError` naming the file."""
    try:
        return find_instrument(forms, form_id, version)
    except InstrumentError as e:
        raise IngestError(str(e), file=file_name, rule="unknown_form_version") from None


def instrument_for_version(forms, form_id: str, version: str, file_name: str,
                           row: int | None = None, column: str | None = None) -> Instrument:
    """The instrument of ``form_id`` whose version (or Kobo ``__version__`` id) is ``version``."""
    for (fid, _), inst in forms.items():
        if fid == form_id and version in kobo_version_ids(inst):
            return inst
    known = sorted(v for f, v in forms if f == form_id)
    raise IngestError(
        f"form {form_id} version {version} is not known to the kit (known versions: "
        f"{', '.join(known) or 'none'}); add that version's XLSForm to surveys/",
        file=file_name, row=row, column=column, rule="unknown_form_version")
