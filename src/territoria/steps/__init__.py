"""The method's steps as library code: what each step notebook computes, and how its results
appear on the published site.

Each step has a module ``territoria.steps.sNN_<name>`` that exposes:

- ``STEP`` (e.g. ``"02_diagnostic"``) and ``SCOPE`` (``"city"`` or ``"territory"``);
- ``SECTION``: a :class:`Section` (title and plain-language introduction in es/en, and the
  list of :class:`View` that say how each recorded result table is shown to residents); a
  module whose texts state a setting of ``city.yml`` also has ``section(config)``, which the
  site calls with the workspace's configuration (:func:`sections`);
- functions the notebook calls one by one (loading from the store, each analysis), each
  returning DataFrames (already suppressed when they are meant for publication) and, for
  figures, ``(fig, alt_text)``;
- ``compute(ctx, territory_id, *, lang="es") -> StepResult`` (``ctx`` from
  :func:`territoria.steps.common.open_context`): everything the step
  records, used by the notebook's last cell and by tests.

Every step is declared once in :mod:`territoria.steps.registry` (id, scope, module, notebook,
titles, inputs). Before any computation a notebook calls
:func:`territoria.steps.common.require_inputs`: when a required input is missing the notebook
ends with the status ``no-data`` and says what is missing and how to fill it;
:func:`territoria.steps.common.run_step` is the same contract in a script (check, then
``compute``).

Notebooks (``notebooks/NN_name.ipynb``) call these functions, explain them, show the tables
and figures, and end with ``result.save(output_dir)`` (a :class:`territoria.report.record.Recorder`
sidecar). The published site renders each section from the store with the views below.

Examples
--------
>>> r = StepResult("02_diagnostic", "07-001")
>>> r.indicator("pct_unsafe_colonia", 0.71, ci_low=0.65, ci_high=0.77, n=120)
>>> r.indicators_frame()[["name", "value", "n"]].to_dict("records")
[{'name': 'pct_unsafe_colonia', 'value': 0.71, 'n': 120}]
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import pandas as pd

from territoria.report.record import Recorder
from territoria.steps.registry import step_modules

#: Step id -> module, from the one step registry (:mod:`territoria.steps.registry`).
STEP_MODULES = step_modules()


#: Key of the result table holding a step's checked inputs (status and reasons in its meta).
INPUTS_KEY = "inputs"


@dataclass(frozen=True)
class View:
    """How one recorded result table is shown on the site.

    Attributes
    ----------
    key : str
        The result table's key (as recorded with ``StepResult.table``).
    kind : str
        ``"bar"`` (horizontal bars with intervals, in table order), ``"lines"`` (one line per
        group over an ordered x), ``"table"`` (a table with translated headers).
    title, caption : dict
        ``{"es": ..., "en": ...}``.
    label, value, low, high : str
        Columns for ``bar`` (label may be a column holding translated labels: use
        ``label_es``/``label_en`` columns or a ``{lang}`` placeholder, e.g. ``"label_{lang}"``).
    x, y, group : str
        Columns for ``lines``.
    columns : dict
        For ``table``: ``{column: {"es": header, "en": header}}`` in display order.
    percent : bool
        Values are shares in [0, 1] shown as %.
    suppressed_note : dict
        For ``bar``: why a bar left out (``*``) is not published, ``{"es": ..., "en": ...}``
        with an optional ``{min_cell}`` (``city.yml: min_cell_size``); empty: the site's
        default, too few people.
    """

    key: str
    kind: str
    title: dict
    caption: dict = field(default_factory=dict)
    label: str = "label_{lang}"
    value: str = "estimate"
    low: str = "ci_low"
    high: str = "ci_high"
    x: str = "x"
    y: str = "y"
    group: str = "group_{lang}"
    columns: dict = field(default_factory=dict)
    percent: bool = False
    suppressed_note: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    """A step's section of the territory (or city) page."""

    step: str
    title: dict
    intro: dict
    views: tuple = ()
    indicators: tuple = ()  # catalogue ids shown as headline cards, in order


class StepResult:
    """What a step records for one territory (or the city): indicators and result tables."""

    def __init__(self, step: str, territory_id: str | None):
        self.step = step
        self.territory_id = territory_id
        self._ind: list[dict] = []
        self.tables: dict[str, pd.DataFrame] = {}
        self.meta: dict[str, dict] = {}
        self.check = None  # the InputCheck of territoria.steps.common, when there was one

    @property
    def status(self) -> str:
        """``no-data`` when a required input was missing (nothing computed), else ``ok``."""
        return "no-data" if self.check is not None and self.check.status == "no-data" else "ok"

    def indicator(self, name, value, *, ci_low=None, ci_high=None, n=None, grp=None,
                  suppressed=False, unit=None) -> None:
        self._ind.append(dict(name=name, value=value, ci_low=ci_low, ci_high=ci_high, n=n,
                              grp=grp, suppressed=suppressed, unit=unit))

    def table(self, key: str, df: pd.DataFrame, **meta) -> None:
        self.tables[key] = df
        self.meta[key] = meta

    def indicators_frame(self) -> pd.DataFrame:
        cols = ["name", "value", "ci_low", "ci_high", "n", "grp", "suppressed", "unit"]
        return pd.DataFrame(self._ind, columns=cols)

    def save(self, output_dir, inputs=None) -> str:
        """Write the sidecar file the runner loads into the store; returns its path.

        ``inputs`` (the notebook's :class:`~territoria.steps.common.InputCheck`) is recorded
        as the table ``inputs``, its status and reasons in the table's meta: the runner
        records ``no-data`` from it and the site marks the sections left out.
        """
        if inputs is not None:
            self.check = inputs
        rec = Recorder(output_dir, self.step, self.territory_id)
        for r in self._ind:
            rec.indicator(**r)
        for k, df in self.tables.items():
            rec.table(k, df, **self.meta.get(k, {}))
        if self.check is not None:
            rec.table(INPUTS_KEY, self.check.frame(), **self.check.meta())
        return str(rec.save())


def step_module(step: str):
    """Import the module of a step id (``"02_diagnostic"``)."""
    from territoria.exceptions import PipelineError

    if step not in STEP_MODULES:
        raise PipelineError(f"unknown step '{step}' (allowed: {', '.join(STEP_MODULES)})")
    return importlib.import_module(STEP_MODULES[step])


def sections(config=None) -> list[Section]:
    """The sections of every step module that is present, in step order.

    A module whose texts depend on the city's settings (e.g. step 03's caption states the
    consensus threshold of ``city.yml``) exposes ``section(config)``, called here with
    ``config`` (the workspace's :class:`~territoria.config.CityConfig`); the others, and every
    module when ``config`` is None, give their ``SECTION``.
    """
    out = []
    for step in STEP_MODULES:
        try:
            mod = step_module(step)
        except ModuleNotFoundError:
            continue
        build = getattr(mod, "section", None)
        out.append(build(config) if callable(build) and config is not None else mod.SECTION)
    return out
