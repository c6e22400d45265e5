"""Names on the site in each of its languages: the city, its levels, zones and territories.

The site shows one language at a time (``es``, ``en``); every name it prints is a mapping
``{"es": ..., "en": ...}``, which the templates show with the language switch. Names come from
``city.yml`` (``name``, ``levels``, ``zones``; a plain text is the same in every language) and
from the store (``zones.name``/``territories.name`` in the first language, ``names``: JSON of
the other languages, filled from ``name_en`` columns at ingest). A name missing in a language
falls back to the city's first language. Territory names are proper names: they change only
where a ``name_en`` was given.

Examples
--------
>>> from territoria.config import CityConfig
>>> cfg = CityConfig.model_validate({"name": {"es": "Ciudad", "en": "City"},
...                                  "zones": {"Z1": {"es": "Zona 1", "en": "Zone 1"}}})
>>> city(cfg)
{'es': 'Ciudad', 'en': 'City'}
>>> zone(cfg, "Z1", "Zona uno"), zone(cfg, "Z2", "Zona 2", '{"en": "Zone 2"}')
({'es': 'Zona 1', 'en': 'Zone 1'}, {'es': 'Zona 2', 'en': 'Zone 2'})
>>> territory("San Lorenzo", None), territory("Centro", '{"en": "Downtown"}')
({'es': 'San Lorenzo', 'en': 'San Lorenzo'}, {'es': 'Centro', 'en': 'Downtown'})
>>> level(cfg, "zone")
{'es': 'Dirección territorial', 'en': 'Territorial directorate'}
"""

from __future__ import annotations

import json
import math
from html import escape

from territoria.config import CityConfig

#: Languages of the site's language switch.
SITE_LANGUAGES = ("es", "en")


def both(d: dict) -> str:
    """A text in each site language, one shown at a time by the switch (escaped).

    >>> both({"es": "Mapa", "en": "Map"})
    "<span lang='es'>Mapa</span><span lang='en'>Map</span>"
    """
    return "".join(f"<span lang='{lang}'>{escape(str(d.get(lang) or d['es']))}</span>"
                   for lang in SITE_LANGUAGES)


def svg_labels(svg: str, title: dict, alt: dict) -> str:
    """A chart drawn once with its title and description in Spanish
    (:func:`territoria.charts` heads) given them in each site language: one ``<title>`` and
    ``<desc>`` per language, and the English accessible name for the script to switch to.

    >>> svg = '<svg aria-label="Mapa" class="chart"><title>Mapa</title><desc>Colonias</desc></svg>'
    >>> print(svg_labels(svg, {"es": "Mapa", "en": "Map"}, {"es": "Colonias", "en": "Areas"}))
    ... # doctest: +NORMALIZE_WHITESPACE
    <svg aria-label="Mapa" data-aria-es="Mapa" data-aria-en="Map" class="chart"><title
    lang="es">Mapa</title><title lang="en">Map</title><desc lang="es">Colonias</desc><desc
    lang="en">Areas</desc></svg>
    """
    es_head = f"<title>{escape(title['es'])}</title><desc>{escape(alt['es'])}</desc>"
    both_head = "".join(f'<title lang="{lang}">{escape(title[lang])}</title>'
                        for lang in SITE_LANGUAGES) + "".join(
        f'<desc lang="{lang}">{escape(alt[lang])}</desc>' for lang in SITE_LANGUAGES)
    label = f'aria-label="{escape(title["es"])}"'
    aria = label + "".join(f' data-aria-{lang}="{escape(title[lang])}"' for lang in SITE_LANGUAGES)
    return svg.replace(es_head, both_head, 1).replace(label, aria, 1)


def _texts(names_json) -> dict[str, str]:
    """Language -> name of a store ``names`` cell (JSON), {} when empty or unreadable."""
    if names_json is None or (isinstance(names_json, float) and math.isnan(names_json)):
        return {}
    try:
        d = json.loads(str(names_json))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in d.items() if v} if isinstance(d, dict) else {}


def city(cfg: CityConfig) -> dict[str, str]:
    """The city's name in each site language (``city.yml: name``)."""
    return {lang: cfg.city_name(lang) for lang in SITE_LANGUAGES}


def level(cfg: CityConfig, which: str) -> dict[str, str]:
    """The name of a territorial level (``city``, ``zone``, ``territory``, ``block``),
    capitalised, in each site language."""
    lab = getattr(cfg.levels, which)
    out = {}
    for lang in SITE_LANGUAGES:
        text = cfg.label(lab, lang)
        out[lang] = text[:1].upper() + text[1:]
    return out


def zone(cfg: CityConfig | None, zone_id, name=None, names_json=None) -> dict[str, str]:
    """A zone's name in each site language: ``city.yml: zones`` (unless ``cfg`` is None),
    then the names ingested, then its id; "—" for a territory without zone."""
    if zone_id is None or (isinstance(zone_id, float) and math.isnan(zone_id)) or zone_id == "":
        return {lang: "—" for lang in SITE_LANGUAGES}
    plain = None if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    other = _texts(names_json)
    if cfg is None:
        return {lang: other.get(lang) or plain or str(zone_id) for lang in SITE_LANGUAGES}
    return {lang: cfg.zone_name(str(zone_id), lang, plain, ingested=other)
            for lang in SITE_LANGUAGES}


def zones_by_id(store, cfg: CityConfig | None) -> dict[str, dict[str, str]]:
    """Each zone id of the store -> its name in each site language."""
    if not store.has_table("zones"):
        return {}
    other = "names" if "names" in store.columns("zones") else "NULL AS names"
    rows = store.query(f"SELECT zone_id, name, {other} FROM zones").itertuples()
    return {str(r.zone_id): zone(cfg, r.zone_id, r.name, r.names) for r in rows}


def zone_translations(store, cfg: CityConfig | None) -> dict[str, dict[str, str]]:
    """Each zone's stored name -> its name in each site language (for tables that carry
    zone names, such as step 07's)."""
    stored = dict(store.query("SELECT zone_id, name FROM zones").to_numpy()) \
        if store.has_table("zones") else {}
    return {str(stored[z]): n for z, n in zones_by_id(store, cfg).items()}


def territory(name, names_json=None) -> dict[str, str]:
    """A territory's name in each site language: the name ingested, unless a ``name_<lang>``
    gave another (names of colonias are proper names)."""
    other = _texts(names_json)
    return {lang: other.get(lang) or str(name) for lang in SITE_LANGUAGES}
