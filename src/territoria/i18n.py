"""User-facing text in Spanish (default) and English.

Each module keeps its own catalogue, a dict ``{key: {"es": ..., "en": ...}}``, and calls
:func:`tr`. Spanish is written for residents of a Mexican alcaldía (colonia, vecinas y
vecinos), not translated word by word.

Examples
--------
>>> MESSAGES = {"unsafe": {"es": "Se siente insegura", "en": "Feels unsafe"}}
>>> tr(MESSAGES, "unsafe", "en")
'Feels unsafe'
>>> tr(MESSAGES, "unsafe", "fr")  # unknown language falls back to Spanish
'Se siente insegura'
>>> tr(MESSAGES, "n_people", "es", n=3)  # unknown key shows itself
'n_people'
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "es"
LANGUAGES = ("es", "en")


def tr(catalogue: dict[str, dict[str, str]], key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """Translate ``key`` from ``catalogue`` into ``lang`` and format it with ``fmt``."""
    entry = catalogue.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or key
    return text.format(**fmt) if fmt else text


def check_language(lang: str) -> str:
    """Return ``lang`` if supported, else raise :class:`~territoria.exceptions.ConfigError`.

    >>> check_language("en")
    'en'
    """
    from territoria.exceptions import ConfigError

    if lang not in LANGUAGES:
        raise ConfigError(f"language '{lang}' is not supported (allowed: {', '.join(LANGUAGES)})")
    return lang
