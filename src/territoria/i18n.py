"""User-facing text in any language, Spanish first (the kit's own texts are es and en).

Each module keeps its own catalogue, a dict ``{key: {"es": ..., "en": ...}}``, and calls
:func:`tr`. Spanish is written for residents of a Mexican alcaldía (colonia, vecinas y
vecinos), not translated word by word. The labels of shared codes (sex, axis, department...)
are not kept here but in :mod:`territoria.vocabulary`.

The texts are data, not code: a module's catalogues live in ``territoria/messages/<module>.yml``
(``messages/steps.s01_network.yml`` for :mod:`territoria.steps.s01_network`), one mapping per
catalogue name, and the module reads them with :func:`catalogue`
(``MESSAGES = catalogue(__name__)``). A translator mends a text, or adds a language (``pt:``
under each key), in that file without touching Python. An entry that is a label of the
vocabulary is written ``vocabulary: kind/code`` (``col_low: {vocabulary: heading/from}``) and
the module passes the lookup (``catalogue(__name__, vocabulary=vocabulary.texts)``); any other
entry the module takes from elsewhere (a step's title from the registry) stands in the file as
``null`` with a comment naming its source, and is passed to :func:`catalogue` by keyword.

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

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from territoria.exceptions import ConfigError

DEFAULT_LANGUAGE = "es"
#: Languages of the kit's own texts; cities may publish in any language code.
LANGUAGES = ("es", "en")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")

_STRICT = False

#: Where the modules' catalogues are kept (package data).
MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed
#: Key of a catalogue entry that is a label of the vocabulary: ``{vocabulary: kind/code}``.
VOCABULARY = "vocabulary"


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


def catalogue_path(module: str) -> Path:
    """The file of ``module``'s catalogues: ``territoria.steps.s01_network`` ->
    ``messages/steps.s01_network.yml``.

    >>> catalogue_path("territoria.report.words").name
    'report.words.yml'
    """
    parts = module.split(".")
    if "territoria" in parts:  # also under a test runner's longer name (src.territoria...)
        parts = parts[parts.index("territoria") + 1:]
    if not parts or not all(parts):
        raise ConfigError(f"{module!r} is not a module of territoria")
    return MESSAGES_DIR / (".".join(parts) + ".yml")


def _is_text(value: object) -> bool:
    """A text, or a list of texts (a table's headers)."""
    return isinstance(value, str) or (isinstance(value, list)
                                      and all(isinstance(t, str) for t in value))


def _is_reference(texts: dict[Any, Any]) -> bool:
    """``{"vocabulary": "kind/code"}``: a label of the vocabulary."""
    ref = texts.get(VOCABULARY)
    return len(texts) == 1 and isinstance(ref, str) and "/" in ref


@functools.lru_cache(maxsize=None)
def _read(path: Path) -> dict[str, dict[str, dict[str, str] | None]]:
    """The catalogues of one file, parsed once per process."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no catalogue file for this module") from None
    data = yaml.load(text, Loader=_Loader)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of catalogue names")
    for name, entries in data.items():
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: {name}: expected a mapping of keys to texts")
        for key, texts in entries.items():
            if texts is None:
                continue
            if not isinstance(key, str) or not isinstance(texts, dict) or not (
                    _is_reference(texts) or all(isinstance(lg, str) and _is_text(t)
                                                for lg, t in texts.items())):
                raise ConfigError(f"{path}: {name}: {key!r}: expected language: text lines "
                                  "(quote a key YAML reads otherwise, e.g. 'no')")
    return data


def catalogue(module: str, name: str = "MESSAGES", /, *,
              vocabulary: Callable[[str, str], dict[str, str]] | None = None,
              **computed: dict[str, str]) -> dict[str, dict[str, str]]:
    """The catalogue ``name`` of ``module`` (its ``__name__``), read from its YAML file.

    Keys keep the file's order. An entry written ``vocabulary: kind/code`` is
    ``vocabulary(kind, code)``; one written ``null`` is taken from ``computed`` (the module
    passes the texts it takes from elsewhere): each must be given, and only those. Each call
    returns a fresh dict (a module may add entries to its own).

    Parameters
    ----------
    module : str
        The module's ``__name__`` (``territoria.steps.s01_network``).
    name : str
        The catalogue's name in the file: the module attribute it fills (``MESSAGES``,
        ``STATUS_LABELS``...).
    vocabulary : callable, optional
        ``(kind, code) -> {language: text}`` (:func:`territoria.vocabulary.texts`), for the
        entries that are labels of the vocabulary (this module cannot import it: the vocabulary
        imports this module).
    **computed : dict of str to str
        The texts of the file's ``null`` entries, by key.

    Returns
    -------
    dict
        ``{key: {language: text}}``.

    Raises
    ------
    ConfigError
        No file, no catalogue of that name, ``null`` entries and ``computed`` that disagree,
        or a vocabulary entry without ``vocabulary``.

    Examples
    --------
    >>> words = catalogue("territoria.report.words")
    >>> tr(words, next(iter(words)), "en") != ""
    True
    >>> catalogue("territoria.report.words", "NOPE")
    Traceback (most recent call last):
    territoria.exceptions.ConfigError: report.words.yml has no catalogue NOPE
    """
    path = catalogue_path(module)
    entries = _read(path).get(name)
    if entries is None:
        raise ConfigError(f"{path.name} has no catalogue {name}")
    holes = [k for k, v in entries.items() if v is None]
    if sorted(holes) != sorted(computed):
        raise ConfigError(f"{path.name}: {name}: the entries written null ({', '.join(holes)}) "
                          f"and those the module gives ({', '.join(computed)}) differ")
    out: dict[str, dict[str, str]] = {}
    for key, texts in entries.items():
        if texts is None:
            out[key] = computed[key]
        elif _is_reference(texts):
            if vocabulary is None:
                raise ConfigError(f"{path.name}: {name}: {key} is a label of the vocabulary: "
                                  "pass vocabulary=territoria.vocabulary.texts")
            kind, code = texts[VOCABULARY].split("/", 1)
            out[key] = vocabulary(kind, code)
        else:
            out[key] = dict(texts)
    return out
