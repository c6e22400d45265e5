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
    extra: dict = field(default_factory=dict)

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("es") or self.id

    def describe(self, lang: str) -> str:
        return self.definition.get(lang) or self.definition.get("es") or ""

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.step}.ipynb"


_FIELDS = {"id", "step", "name", "definition", "formula", "source", "unit", "better",
           "disaggregations", "headline", "percent"}


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
    for i, e in enumerate(raw.get("indicators", []), start=1):
        unknown = set(e) - _FIELDS
        if unknown:
            raise ConfigError(f"{p}: indicator #{i}: unknown key(s) {sorted(unknown)} "
                              f"(allowed: {sorted(_FIELDS)})")
        for k in ("id", "step", "name", "definition", "formula", "source"):
            if k not in e:
                raise ConfigError(f"{p}: indicator #{i} ({e.get('id', '?')}): key '{k}' is required")
        if e.get("better", "higher") not in ("higher", "lower", "neutral"):
            raise ConfigError(f"{p}: indicator {e['id']}: key 'better' has value "
                              f"{e['better']!r} (allowed: higher, lower, neutral)")
        if e["id"] in out:
            raise ConfigError(f"{p}: indicator id '{e['id']}' appears twice")
        out[e["id"]] = Indicator(
            id=e["id"], step=e["step"], names=dict(e["name"]), definition=dict(e["definition"]),
            formula=e["formula"], source=e["source"], unit=e.get("unit", ""),
            better=e.get("better", "higher"),
            disaggregations=tuple(e.get("disaggregations", ()) or ()),
            headline=bool(e.get("headline", False)), percent=bool(e.get("percent", False)))
