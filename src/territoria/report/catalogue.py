r"""The indicator catalogue (``methodology/indicators.yml``): names, definitions, direction.

Examples
--------
The catalogue is one YAML file per step in ``methodology/indicators/`` (``NN_step.yml``,
each with a top-level ``indicators:`` list), merged in file order.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "01_network.yml").write_text(
...     "indicators:\n"
...     "  - id: block_coverage\n"
...     "    step: 01_network\n"
...     "    name: {es: Cobertura de manzanas, en: Block coverage}\n"
...     "    definition: {es: Manzanas con asamblea, en: Blocks with an assembly}\n"
...     "    formula: blocks with >= 1 assembly / all blocks\n"
...     "    source: assembly, blocks\n"
...     "    percent: true\n")
>>> cat = load_catalogue(str(d))
>>> ind = cat["block_coverage"]
>>> ind.step, ind.better, ind.name("en")
('01_network', 'higher', 'Block coverage')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from territoria.exceptions import ConfigError


def kit_dir(name: str) -> Path:
    """A top-level folder of the kit (``methodology``, ``notebooks``, ``surveys``,
    ``evaluations``): inside the installed package (``territoria/data/<name>``) or, when
    running from a source checkout, the repository's own folder."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "data" / name, here.parent.parent / name):
        if cand.is_dir():
            return cand
    raise ConfigError(f"the kit's '{name}' folder was not found (looked in {here / 'data'} "
                      f"and the source checkout)")


@dataclass(frozen=True)
class Indicator:
    """One entry of the catalogue."""

    id: str
    step: str
    names: dict
    definition: dict
    formula: str
    source: str
    unit: str = ""
    better: str = "higher"
    disaggregations: tuple = ()
    headline: bool = False
    percent: bool = False
    sentence: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    effect: bool = False
    extra: dict = field(default_factory=dict)
    computed_by: str = ""  # territoria.steps.sNN_x.function

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("es") or self.id

    def describe(self, lang: str) -> str:
        return self.definition.get(lang) or self.definition.get("es") or ""

    def explain(self, lang: str) -> str:
        """What a resident reads under "¿Qué es?": the plain text, else the definition."""
        return self.plain.get(lang) or self.plain.get("es") or self.describe(lang)

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.step}.ipynb"


#: The catalogue's schema: key -> (type, required). ``text`` is a mapping language -> non-empty
#: string with at least Spanish (a YAML flow mapping cut by an unquoted comma shows up here as
#: an extra key with no text); ``template`` is a ``text`` whose placeholders are known.
SCHEMA = {
    "id": ("identifier", True), "step": ("step", True), "name": ("text", True),
    "definition": ("text", True), "formula": ("string", True), "source": ("string", True),
    "unit": ("string", False), "better": (("higher", "lower", "neutral"), False),
    "disaggregations": ("list", False), "headline": ("bool", False),
    "percent": ("bool", False), "sentence": ("template", False), "plain": ("text", False),
    "quality": ("quality", False), "effect": ("bool", False),
    "computed_by": ("string", False),  # territoria.steps.sNN_x.function (a test resolves it)
}
_FIELDS = set(SCHEMA)
#: Placeholders a sentence template may use (see ``territoria.report.words``).
PLACEHOLDERS = {"value", "low", "high", "n", "group", "name", "of100", "of100_low",
                "of100_high"}
QUALITY_KEYS = {"min_n": int, "max_ci_width": (int, float), "reliability": str,
                "min_reliability": (int, float)}


def _text_ok(v) -> bool:
    return (isinstance(v, dict) and "es" in v and all(
        isinstance(k, str) and len(k) == 2 and k.isalpha() and isinstance(t, str) and t.strip()
        for k, t in v.items()))


def check_entry(e, where: str, step: str | None = None) -> None:
    """Check one catalogue entry against :data:`SCHEMA`; raises :class:`ConfigError` naming
    the file, the entry and the key.

    >>> check_entry({"id": "x", "step": "01_network", "name": {"es": "A", "en": "B",
    ...              "000 inhabitants": None}, "definition": {"es": "d"}, "formula": "f",
    ...              "source": "s"}, "01_network.yml")
    Traceback (most recent call last):
    ...
    territoria.exceptions.ConfigError: 01_network.yml: indicator x: key 'name' must map languages (es, en) to texts; got keys ['es', 'en', '000 inhabitants'] (an unquoted comma in a YAML flow mapping cuts a text: quote it)
    """
    if not isinstance(e, dict):
        raise ConfigError(f"{where}: an indicator must be a mapping, got {e!r}")
    ident = e.get("id", "?")
    unknown = set(e) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: indicator {ident}: unknown key(s) {sorted(unknown)} "
                          f"(allowed: {sorted(_FIELDS)})")
    for key, (kind, required) in SCHEMA.items():
        if key not in e:
            if required:
                raise ConfigError(f"{where}: indicator {ident}: key '{key}' is required")
            continue
        v = e[key]
        bad = None
        if kind == "identifier":
            bad = not (isinstance(v, str) and v.replace("_", "").isalnum() and v.islower())
            rule = "lower-case letters, digits and _"
        elif kind == "step":
            bad = not isinstance(v, str) or (step is not None and v != step)
            rule = f"the file's step ({step})"
        elif kind in ("text", "template"):
            bad = not _text_ok(v)
            rule = ("languages (es, en) to texts; got keys "
                    f"{list(v) if isinstance(v, dict) else type(v).__name__} (an unquoted "
                    "comma in a YAML flow mapping cuts a text: quote it)")
            if not bad and kind == "template":
                import string

                used = {f for t in v.values() for _, f, _, _ in string.Formatter().parse(t)
                        if f is not None}
                if used - PLACEHOLDERS:
                    bad, rule = True, (f"known placeholders ({', '.join(sorted(PLACEHOLDERS))})"
                                       f"; got {sorted(used - PLACEHOLDERS)}")
        elif kind == "string":
            bad = not isinstance(v, str) or not v.strip()
            rule = "a non-empty text"
        elif kind == "bool":
            bad = not isinstance(v, bool)
            rule = "true or false"
        elif kind == "list":
            bad = not (isinstance(v, list) and all(isinstance(x, str) for x in v))
            rule = "a list of names"
        elif kind == "quality":
            bad = not (isinstance(v, dict) and set(v) <= set(QUALITY_KEYS) and all(
                isinstance(x, QUALITY_KEYS[k]) and not isinstance(x, bool) for k, x in v.items()))
            rule = f"a mapping with keys among {sorted(QUALITY_KEYS)}"
        else:
            bad = v not in kind
            rule = ", ".join(kind)
            if bad:
                raise ConfigError(f"{where}: indicator {ident}: key '{key}' has value {v!r} "
                                  f"(allowed: {rule})")
        if bad:
            if kind in ("text", "template"):
                raise ConfigError(f"{where}: indicator {ident}: key '{key}' must map {rule}")
            raise ConfigError(f"{where}: indicator {ident}: key '{key}' must be {rule}, "
                              f"got {v!r}")


@lru_cache(maxsize=4)
def load_catalogue(path: str | None = None) -> dict[str, Indicator]:
    """Read and check the catalogue; raises :class:`ConfigError` with the entry and key."""
    root = Path(path) if path else kit_dir("methodology") / "indicators"
    files = sorted(root.glob("*.yml")) if root.is_dir() else [root]
    out: dict[str, Indicator] = {}
    for p in files:
        _load_file(p, out)
    return out


def _load_file(p: Path, out: dict) -> None:
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from None
    stem = p.stem.split("_", 1)
    step = p.stem if len(stem) == 2 and stem[0].isdigit() else None
    for e in raw.get("indicators", []):
        check_entry(e, str(p), step)
        if e["id"] in out:
            raise ConfigError(f"{p}: indicator id '{e['id']}' appears twice")
        out[e["id"]] = Indicator(
            id=e["id"], step=e["step"], names=dict(e["name"]), definition=dict(e["definition"]),
            formula=e["formula"], source=e["source"], unit=e.get("unit", ""),
            better=e.get("better", "higher"),
            disaggregations=tuple(e.get("disaggregations", ()) or ()),
            headline=bool(e.get("headline", False)), percent=bool(e.get("percent", False)),
            sentence=dict(e.get("sentence") or {}), plain=dict(e.get("plain") or {}),
            quality=dict(e.get("quality") or {}), effect=bool(e.get("effect", False)),
            computed_by=str(e.get("computed_by") or ""))
