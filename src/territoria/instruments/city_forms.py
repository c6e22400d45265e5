"""The kit's forms made for one city: its languages, axes, departments, link areas and places.

``territoria survey build -w WS`` calls :func:`build_city_forms`, which writes into
``WS/surveys/``, ready to upload to KoboToolbox or ODK Central:

- one XLSForm per kit instrument (``surveys/src/<form>.yml``), with
  - a ``label::<Language> (<code>)`` column (and hint, messages) for each language of
    ``city.yml``, the first one being the form's default; a text the kit does not have in a
    language is the text of the city's first language, then the Spanish one;
  - the city's ``axes``, ``departments`` and ``link_areas`` as the choice lists ``axis``,
    ``department`` and ``link_area`` (a city that declares none keeps the kit's lists);
  - the zone, territory and block questions named as the city names its levels
    (``city.yml: levels``);
- the media files of the cascading questions ``zone -> territory -> block``
  (``select_one_from_file``): ``zones.csv`` (``name, label``), ``territories.csv``
  (``name, label, zone``) and ``blocks.csv`` (``name, label, territory``), from the store's
  ``zones``, ``territories`` and ``blocks``. Names are the store's ids, the values the ingest
  expects; attach the three files to every form that asks for the place.

Examples
--------
>>> language_name("es"), language_name("en"), language_name("xx")
('Español (es)', 'English (en)', 'xx (xx)')
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any

from territoria.config import CityConfig, Workspace
from territoria.exceptions import InstrumentError
from territoria.instruments.build import (
    _TRANSLATED,
    build_rows,
    default_sources_dir,
    load_source,
    sheets_bytes,
)
from territoria.instruments.build import LANGUAGES as KIT_LANGUAGES
from territoria.store import Store

__all__ = ["CITY_CHOICES", "MEDIA_FILES", "language_name", "city_source", "media_frames",
           "build_city_forms"]

#: Choice lists a city replaces with its own declarations (list name -> ``city.yml`` key).
CITY_CHOICES = {"axis": "axes", "department": "departments", "link_area": "link_areas"}
#: Media file -> (store table, id column, label column, parent column, parent field).
MEDIA_FILES = {
    "zones.csv": ("zones", "zone_id", "name", None, None),
    "territories.csv": ("territories", "territory_id", "name", "zone_id", "zone"),
    "blocks.csv": ("blocks", "block_id", "block_id", "territory_id", "territory"),
}
#: Level of the place questions, by field name.
_PLACE_LEVELS = {"zone": "zone", "territory": "territory", "block": "block"}


def language_name(code: str) -> str:
    """XLSForm name of a language column: ``Español (es)``, ``English (en)``, else the
    language's own name when Babel knows it (``Português (pt)``), else the code."""
    if code in KIT_LANGUAGES:
        return KIT_LANGUAGES[code]
    try:
        from babel import Locale

        name = Locale.parse(code.replace("-", "_")).get_display_name(code.replace("-", "_"))
    except Exception:  # Babel absent or the code unknown to it: the code names itself
        name = None
    return f"{name[:1].upper()}{name[1:]} ({code})" if name else f"{code} ({code})"


def _fill(texts: dict[str, str], languages: list[str], first: str) -> dict[str, str]:
    """A text in every language: its own, else the city's first language's, else Spanish."""
    fallback = texts.get(first) or texts.get("es") or next(iter(texts.values()), "")
    return {lg: texts.get(lg) or fallback for lg in languages}


def city_source(source: dict[str, Any], city: CityConfig) -> dict[str, Any]:
    """A kit form (from :func:`~territoria.instruments.build.load_source`) made for ``city``.

    Examples
    --------
    >>> city = CityConfig.model_validate({"name": "X", "languages": ["pt", "es"],
    ...     "axes": [{"id": "water", "label": {"pt": "Água"}}]})
    >>> src = city_source(load_source(default_sources_dir() / "proposals.yml"), city)
    >>> [(c["name"], c["label"]) for c in src["choices"]["axis"]]
    [('water', {'pt': 'Água', 'es': 'Água'})]
    >>> src["settings"]["title"]["pt"] == src["settings"]["title"]["es"]  # no Portuguese text
    True
    """
    out = copy.deepcopy(source)
    langs, first = list(city.languages), city.default_language
    for r in out["survey"]:
        for k in _TRANSLATED:
            if k in r:
                r[k] = _fill(r[k], langs, first)
        level = _PLACE_LEVELS.get(r.get("name") or "")
        if level and r["type"].startswith("select_one_from_file"):
            text = getattr(city.levels, level)
            r["label"] = _fill({k: v[:1].upper() + v[1:] for k, v in text.texts().items()},
                               langs, first)
    for lname, items in out["choices"].items():
        declared = getattr(city, CITY_CHOICES[lname]) if lname in CITY_CHOICES else None
        if declared:
            out["choices"][lname] = [{"name": x.id, "label": _fill(x.label.texts(), langs, first),
                                      "extra": {}} for x in declared]
        else:
            for c in items:
                c["label"] = _fill(c["label"], langs, first)
    out["settings"]["title"] = _fill(out["settings"]["title"], langs, first)
    return out


def media_frames(store: Store) -> dict[str, list[list[str]]]:
    """Rows (header first) of ``zones.csv``, ``territories.csv`` and ``blocks.csv``."""
    out = {}
    for fname, (table, id_col, label_col, parent_col, parent_field) in MEDIA_FILES.items():
        head = ["name", "label", *([parent_field] if parent_field else [])]
        rows = [head]
        if store.has_table(table):
            cols = [id_col, label_col, *([parent_col] if parent_col else [])]
            df = store.query(f"SELECT {', '.join(dict.fromkeys(cols))} FROM {table} "
                             f"ORDER BY {id_col}")
            for rec in df.itertuples(index=False):
                d = dict(zip(df.columns, rec, strict=True))
                rows.append(["" if d[c] is None else str(d[c]) for c in cols])
        out[fname] = rows
    return out


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def build_city_forms(ws: Workspace | str | Path, out_dir: str | Path | None = None,
                     src_dir: str | Path | None = None) -> list[Path]:
    """Write the city's XLSForms and the place media files; returns the paths written.

    Parameters
    ----------
    ws : Workspace or path
        The workspace (its ``city.yml`` and, for the media files, its store).
    out_dir : path, optional
        Default ``WS/surveys``.
    src_dir : path, optional
        The YAML sources (default the kit's ``surveys/src``).

    Raises
    ------
    InstrumentError
        When the store has no territories yet (the media files would be empty).
    """
    ws = ws if isinstance(ws, Workspace) else Workspace(ws)
    city = ws.require().config()
    out = Path(out_dir) if out_dir else ws.root / "surveys"
    if not ws.store_path.exists():
        raise InstrumentError(f"{ws.store_path}: no store yet; ingest the territories first "
                              "('territoria ingest -w WS LAYER'), they fill the place lists")
    with Store(ws.store_path, read_only=True) as store:
        media = media_frames(store)
    if len(media["territories.csv"]) < 2:
        raise InstrumentError(f"{ws.store_path}: no territories in the store; ingest them first "
                              "('territoria ingest -w WS LAYER'), they fill the place lists")
    languages = {lg: language_name(lg) for lg in city.languages}
    first = city.default_language
    languages = {first: languages[first], **languages}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    src_dir = Path(src_dir) if src_dir else default_sources_dir()
    for p in sorted(q for q in src_dir.glob("*.yml") if not q.name.startswith("_")):
        sheets = build_rows(city_source(load_source(p), city), languages)
        target = out / f"{p.stem}.xlsx"
        target.write_bytes(sheets_bytes(sheets))
        written.append(target)
    for fname, rows in media.items():
        target = out / fname
        target.write_bytes(_csv_bytes(rows))
        written.append(target)
    return written

