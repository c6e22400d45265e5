"""User-facing text in any language, Spanish first (the kit's own texts are es and en).

Each module keeps its own catalogue, a dict ``{key: {"es": ..., "en": ...}}``, and calls
:func:`tr`. Spanish is written for residents of a Mexican alcaldía (colonia, vecinas y
vecinos), not translated word by word. The labels of shared codes (sex, axis, department...)
are not kept here but in :mod:`territoria.vocabulary`.

A city may publish in any language code (``city.yml: languages``): a text missing in that
language falls back to ``fallback`` (the city's first language) and then to Spanish.

A key missing from a catalogue shows itself, so a page never breaks on a forgotten text;
the test suite turns that into an error (:func:`set_strict`), so forgotten texts are found.

Examples
--------
>>> MESSAGES = {"unsafe": {"es": "Se siente insegura", "en": "Feels unsafe"}}
>>> tr(MESSAGES, "unsafe", "en")
'Feels unsafe'
>>> tr(MESSAGES, "unsafe", "fr")  # a language without the text falls back to Spanish
'Se siente insegura'
>>> tr(MESSAGES, "n_people", "es", n=3)  # unknown key shows itself (outside strict mode)
'n_people'
"""

from __future__ import annotations

import re

from territoria.exceptions import ConfigError

DEFAULT_LANGUAGE = "es"
#: Languages of the kit's own texts; cities may publish in any language code.
LANGUAGES = ("es", "en")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")

_STRICT = False


class MissingTranslation(KeyError):
    """A key absent from its catalogue, raised in strict mode (the test suite)."""


def set_strict(on: bool = True) -> bool:
    """Make :func:`tr` raise :class:`MissingTranslation` for an unknown key; returns the
    previous setting (the test suite turns it on).

    >>> old = set_strict(True)
    >>> try:
    ...     tr({}, "nope")
    ... except MissingTranslation as e:
    ...     print(e)
    'translation key nope is not in the catalogue'
    >>> _ = set_strict(old)
    """
    global _STRICT
    old, _STRICT = _STRICT, bool(on)
    return old


def tr(catalogue: dict[str, dict[str, str]], key: str, lang: str = DEFAULT_LANGUAGE,
       **fmt: object) -> str:
    """Translate ``key`` from ``catalogue`` into ``lang`` and format it with ``fmt``.

    A language without the text falls back to Spanish (then to any text of the entry).
    """
    entry = catalogue.get(key)
    if entry is None:
        if _STRICT:
            raise MissingTranslation(f"translation key {key} is not in the catalogue")
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or next(iter(entry.values()), key)
    return text.format(**fmt) if fmt else text


def check_language(lang: str) -> str:
    """Return ``lang`` if it is a language code, else raise
    :class:`~territoria.exceptions.ConfigError`. Any code is accepted (``es``, ``en``, ``pt``,
    ``nah``...): texts missing in it fall back to the city's first language, then Spanish.

    >>> check_language("en"), check_language("nah")
    ('en', 'nah')
    >>> check_language("English")
    Traceback (most recent call last):
    territoria.exceptions.ConfigError: 'English' is not a language code (e.g. es, en, pt, nah)
    """
    if not isinstance(lang, str) or not LANGUAGE_CODE.match(lang):
        raise ConfigError(f"{lang!r} is not a language code (e.g. es, en, pt, nah)")
    return lang
