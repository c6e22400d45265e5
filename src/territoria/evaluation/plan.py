"""Evaluation plans: ``evaluations/<name>.yml``, validated with one-line errors naming the key.

A plan says which evaluation questions to answer, and for each: the method, the outcome, the
indicators (catalogue ids), the data sources, the control group, the covariates; and, for the
whole plan: the territories in scope, the period, how the cohort is coded, the minimum cell
size, the report languages and the data-collection calendar. Layout::

    name: crime_impact                   # the file stem (optional; must match it if given)
    title: {es: ..., en: ...}
    purpose: {es: ..., en: ...}          # optional
    languages: [es, en]
    territories: programme               # programme | all | [07-001, 07-002, ...]
    min_cell_size: 5                     # optional; default city.yml's
    period: {start: 2016-01-01, end: 2024-12-31}
    cohort: {column: joined_on, coding: first_exposed_period}
    questions:
      - id: crime_did
        text: {es: ..., en: ...}
        method: staggered_did            # process_scorecard | staggered_did | its |
                                         # panel_prepost | baseline
        outcome: crime_log               # or a list of outcomes (panel_prepost, baseline)
        indicators: [crime_att_cs_never, crime_att_twfe]
        sources: [crime_counts, territories]
        control: never                   # staggered_did: never | notyet
        covariates: [social_index]       # staggered_did: territory columns
        waves: {pre: pre, post: post}    # panel_prepost
        limits: {es: ..., en: ...}       # optional: what these data cannot say
    calendar: {...}                      # optional, see territoria.evaluation.calendar

Validation has two layers: :func:`load_plan` checks the file alone (keys, types, that each
indicator is one the method produces, that sources suit the method), and :func:`check_plan`
checks it against a workspace's store (territories exist, the cohort column exists and holds
dates, the period lies inside the data, the sources have been ingested, panel waves exist).
Both raise :class:`~territoria.exceptions.PlanError` with one line naming the file, the key,
its value and the rule, in the language asked for (``lang``: Spanish by default; the commands
pass the city's ``default_language``; the common type and bound errors of pydantic are
translated too, rarer ones keep pydantic's English rule). Indicators missing from the methodology catalogue only give a warning while the
catalogue is being completed.

Examples
--------
>>> p = parse_plan({"title": {"es": "Prueba"}, "questions": [{"id": "q1",
...     "text": {"es": "¿Bajaron los delitos?"}, "method": "its", "outcome": "crime_log",
...     "indicators": ["crime_its_level_change"], "sources": ["crime_counts"]}]}, name="demo")
>>> p.questions[0].outcomes, p.territories
(['crime_log'], 'programme')
>>> bad = {"title": {"es": "x"}, "questions": [{"id": "q1", "text": {"es": "?"},
...     "method": "its", "outcome": "crime_log", "indicators": ["crime_foo"],
...     "sources": ["crime_counts"]}]}
>>> for lang in ("es", "en"):
...     try:
...         parse_plan(bad, name="demo", lang=lang)
...     except PlanError as e:
...         print(e)
demo: la clave 'questions[0].indicators[0]' tiene el valor 'crime_foo': no es un indicador que calcule el método its (se pueden usar: crime_its_level_change, crime_its_slope_change)
demo: key 'questions[0].indicators[0]' has value 'crime_foo': not an indicator of method its (allowed: crime_its_level_change, crime_its_slope_change)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from territoria.config import shown_path
from territoria.exceptions import PlanError
from territoria.i18n import DEFAULT_LANGUAGE, tr
from territoria.i18n import catalogue as _texts

__all__ = ["METHODS", "Method", "Plan", "Question", "load_plan", "parse_plan", "check_plan",
           "plan_warnings", "uncatalogued", "PlanWarning"]

MESSAGES = _texts(__name__)


class PlanWarning(UserWarning):
    """A plan is usable but something should be fixed (e.g. an indicator not yet catalogued)."""


@dataclass(frozen=True)
class Method:
    """What an evaluation method needs and produces.

    Attributes
    ----------
    outcomes : dict
        ``{outcome: (indicator ids it produces)}``.
    sources : tuple
        Store tables the method can read (the plan lists the ones it uses).
    required : tuple
        Tables that must be among the plan's sources.
    cohort, period, control, covariates, waves : bool
        Whether the method uses the cohort coding, the period, a control group, covariates,
        panel waves.
    per_territory : bool
        Whether it also gives one result per territory (for the assembly summaries).
    """

    outcomes: dict
    sources: tuple
    required: tuple
    cohort: bool = False
    period: bool = False
    control: bool = False
    covariates: bool = False
    waves: bool = False
    per_territory: bool = True

    def indicators(self, outcomes=None) -> list[str]:
        keys = outcomes or list(self.outcomes)
        return [i for k in keys for i in self.outcomes.get(k, ())]


_STAGES = ("design", "delib", "impact")
METHODS: dict[str, Method] = {
    "process_scorecard": Method(
        outcomes={"process": tuple(f"{s}_{k}" for s in _STAGES for k in ("mean", "agree"))
                  + ("repeated_change", "followup_fulfilment_rate")},
        sources=("process", "followup"), required=("process",)),
    "staggered_did": Method(
        outcomes={"crime_log": ("crime_att_cs_never", "crime_att_cs_notyet", "crime_att_twfe"),
                  "crime_rate": ("crime_att_cs_rate",)},
        sources=("crime_counts", "territories"), required=("crime_counts",), cohort=True,
        period=True, control=True, covariates=True, per_territory=False),
    "its": Method(
        outcomes={"crime_log": ("crime_its_level_change", "crime_its_slope_change")},
        sources=("crime_counts", "territories"), required=("crime_counts",), cohort=True,
        period=True),
    "panel_prepost": Method(
        outcomes={o: (f"wb_{o}_change",) for o in ("unsafe", "life_satisfaction", "peace",
                                                    "trust_neighbours")},
        sources=("wellbeing",), required=("wellbeing",), waves=True),
    "baseline": Method(
        outcomes={"unsafe": ("pct_unsafe_colonia",), "trust_neighbours": ("trust_neighbours_mean",),
                  "cohesion": ("cohesion_mean",), "life_satisfaction": ("life_satisfaction_mean",)},
        sources=("diagnostic",), required=("diagnostic",)),
}
COHORT_CODINGS = ("first_exposed_period", "first_full_period")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(_Strict):
    """A text in Spanish (required) and English."""

    es: str
    en: str | None = None

    def get(self, lang: str) -> str:
        return (self.en or self.es) if lang == "en" else self.es


class Period(_Strict):
    start: dt.date | None = None
    end: dt.date | None = None


class CohortSpec(_Strict):
    column: str = "joined_on"
    coding: Literal["first_exposed_period", "first_full_period"] | None = None


class Waves(_Strict):
    pre: str = "pre"
    post: str = "post"


class Round(_Strict):
    """A data-collection round of the calendar (see :mod:`territoria.evaluation.calendar`)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: Text | None = None
    source: str
    months_from_joining: int | None = None
    date: dt.date | None = None
    wave: str | None = None


class PowerSpec(_Strict):
    outcome: Literal["unsafe", "life_satisfaction"] = "unsafe"
    change: float = -0.10
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    deff: float = Field(1.0, ge=1)
    attrition: float = Field(0.0, ge=0, lt=1)
    paired: bool = False
    correlation: float = Field(0.5, gt=-1, lt=1)
    baseline: float | None = None
    sd: float | None = Field(None, gt=0)


class CalendarSpec(_Strict):
    rounds: list[Round]
    power: PowerSpec = Field(default_factory=PowerSpec)


class Question(_Strict):
    """One evaluation question."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: Text
    method: str
    outcome: str | list[str]
    indicators: list[str] = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    control: Literal["never", "notyet"] | None = None
    covariates: list[str] = Field(default_factory=list)
    waves: Waves | None = None
    limits: Text | None = None

    @property
    def outcomes(self) -> list[str]:
        return [self.outcome] if isinstance(self.outcome, str) else list(self.outcome)


class Plan(_Strict):
    """The validated content of an evaluation plan."""

    name: str | None = None
    title: Text
    purpose: Text | None = None
    languages: list[Literal["es", "en"]] = Field(default_factory=lambda: ["es", "en"],
                                                 min_length=1)
    territories: Literal["programme", "all"] | list[str] = "programme"
    min_cell_size: int | None = Field(None, ge=1, le=1000)
    period: Period = Field(default_factory=Period)
    cohort: CohortSpec = Field(default_factory=CohortSpec)
    questions: list[Question] = Field(min_length=1)
    calendar: CalendarSpec | None = None
    source_path: str | None = Field(None, exclude=True)
    source_text: str | None = Field(None, exclude=True)
    source_label: str | None = Field(None, exclude=True)

    @property
    def where(self) -> str:
        """How messages name the plan: its file relative to the workspace or the kit
        (``evaluations/crime_impact.yml``), never a folder of the machine, or its name."""
        return self.source_label or self.name or "plan"

    @field_validator("territories")
    @classmethod
    def _non_empty(cls, v):
        if isinstance(v, list) and not v:
            raise PydanticCustomError("territories_empty", "give 'programme', 'all' or a "
                                      "non-empty list of territory ids")
        return v

    def question(self, qid: str, lang: str = DEFAULT_LANGUAGE) -> Question:
        """The question with id ``qid`` (PlanError in ``lang`` naming the known ids
        otherwise)."""
        for q in self.questions:
            if q.id == qid:
                return q
        raise PlanError(tr(MESSAGES, "no_question", lang, where=self.name, question=qid,
                           questions=", ".join(q.id for q in self.questions)))

    def period_bounds(self, cfg=None) -> tuple[dt.date | None, dt.date | None]:
        """The plan's period, falling back to ``city.yml``'s."""
        start = self.period.start or (cfg.period_start if cfg else None)
        end = self.period.end or (cfg.period_end if cfg else None)
        return start, end

    def coding(self, cfg=None) -> str:
        return self.cohort.coding or (cfg.cohort_coding if cfg else "first_exposed_period")

    def min_cell(self, cfg=None) -> int:
        return self.min_cell_size or (cfg.min_cell_size if cfg else 5)


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
def _loc(parts, lang: str = DEFAULT_LANGUAGE) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif str(p).startswith(("function-", "literal[", "list[", "str", "int", "date")) \
                or "[" in str(p):
            continue  # pydantic union branch names
        else:
            out += ("." if out else "") + str(p)
    return out or tr(MESSAGES, "top_level", lang)


def _model_at(parts) -> type[BaseModel]:
    model: type[BaseModel] = Plan
    for part in parts:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        cands = [field.annotation, *getattr(field.annotation, "__args__", ())]
        for c in list(cands):
            cands.extend(getattr(c, "__args__", ()))
        for c in cands:
            if isinstance(c, type) and issubclass(c, BaseModel):
                model = c
                break
    return model


def _shown(value, brief_dicts: bool = True) -> str:
    """A value as the messages show it: its repr (``{...}`` for a mapping when
    ``brief_dicts``), cut to 60 characters."""
    shown = "{...}" if brief_dicts and isinstance(value, dict) else repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


#: pydantic's error types -> the catalogue's rule saying it; other types keep pydantic's
#: English message.
_PYDANTIC_RULES = {
    "literal_error": "one_of", "string_pattern_mismatch": "pattern", "too_short": "too_short",
    "greater_than_equal": "at_least", "less_than_equal": "at_most", "greater_than": "above",
    "less_than": "below", "int_parsing": "integer", "int_type": "integer",
    "int_from_float": "integer", "float_parsing": "number", "float_type": "number",
    "bool_parsing": "boolean", "bool_type": "boolean", "date_parsing": "date",
    "date_type": "date", "date_from_datetime_parsing": "date",
    "date_from_datetime_inexact": "date", "model_type": "mapping", "dict_type": "mapping",
    "list_type": "list", "string_type": "text", "territories_empty": "territories_empty",
}


def _rule(e: dict, lang: str) -> str:
    """The rule an error of pydantic breaks, in ``lang`` (pydantic's English message for
    the types :data:`_PYDANTIC_RULES` does not name)."""
    key = _PYDANTIC_RULES.get(e.get("type", ""))
    if key is None:
        return e.get("msg") or tr(MESSAGES, "invalid", lang)
    ctx = {k: v for k, v in (e.get("ctx") or {}).items() if k != "error"}
    if key == "one_of":  # pydantic's "'a', 'b' or 'c'", in English
        ctx = {"allowed": ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))}
    return tr(MESSAGES, key, lang, **ctx)


def _format(err: ValidationError, source: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """pydantic's most specific error as one line in ``lang``."""
    errors = err.errors()
    # prefer the most specific error (pydantic reports one per union branch)
    e = max(errors, key=lambda x: (x.get("type") != "literal_error", len(x.get("loc", ()))))
    loc = e.get("loc", ())
    key = _loc(loc, lang)
    if e.get("type") == "extra_forbidden":
        allowed = sorted(k for k in _model_at(loc[:-1]).model_fields
                         if k not in ("source_path", "source_text", "source_label"))
        return tr(MESSAGES, "unknown_key", lang, where=source, at=key, allowed=", ".join(allowed))
    if e.get("type") == "missing":
        return tr(MESSAGES, "required", lang, where=source, at=key)
    return tr(MESSAGES, "has_value", lang, where=source, at=key, value=_shown(e.get("input")),
              rule=_rule(e, lang))


def _fail(source: str, key: str, value, rule: str, lang: str = DEFAULT_LANGUAGE, **fields):
    """Raise PlanError: ``source``'s ``key`` has ``value``, which breaks the catalogue's
    ``rule`` (formatted with ``fields``), one line in ``lang``."""
    raise PlanError(tr(MESSAGES, "has_value", lang, where=source, at=key,
                       value=_shown(value, brief_dicts=False),
                       rule=tr(MESSAGES, rule, lang, **fields)))


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------
def parse_plan(raw: dict, *, name: str, source: str | None = None,
               lang: str = DEFAULT_LANGUAGE) -> Plan:
    """Validate a plan given as a mapping (the parsed YAML).

    Parameters
    ----------
    raw : dict
    name : str
        The plan's name (the file stem).
    source : str, optional
        Shown at the start of error messages (default: ``name``).
    lang : str
        Language of the error messages (default Spanish; the commands pass the city's).

    Raises
    ------
    PlanError
        One line naming the key, the value and the rule.
    """
    source = source or name
    if not isinstance(raw, dict):
        raise PlanError(tr(MESSAGES, "not_mapping", lang, where=source, kind=type(raw).__name__))
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as e:
        raise PlanError(_format(e, source, lang)) from None
    if plan.name is not None and plan.name != name:
        _fail(source, "name", plan.name, "name_mismatch", lang, name=name)
    if not _NAME.match(name):
        raise PlanError(tr(MESSAGES, "bad_name", lang, where=source, name=name))
    plan.name = name
    seen: set[str] = set()
    for i, q in enumerate(plan.questions):
        k = f"questions[{i}]"
        if q.id in seen:
            _fail(source, f"{k}.id", q.id, "duplicate_id", lang)
        seen.add(q.id)
        m = METHODS.get(q.method)
        if m is None:
            _fail(source, f"{k}.method", q.method, "unknown_method", lang,
                  allowed=", ".join(METHODS))
        said = {"lang": lang, "method": q.method}
        for j, o in enumerate(q.outcomes):
            if o not in m.outcomes:
                key = f"{k}.outcome" + (f"[{j}]" if not isinstance(q.outcome, str) else "")
                _fail(source, key, o, "not_outcome", **said, allowed=", ".join(m.outcomes))
        allowed = m.indicators(q.outcomes)
        for j, ind in enumerate(q.indicators):
            if ind not in allowed:
                _fail(source, f"{k}.indicators[{j}]", ind, "not_indicator", **said,
                      allowed=", ".join(allowed))
        for j, s in enumerate(q.sources):
            if s not in m.sources:
                _fail(source, f"{k}.sources[{j}]", s, "not_source", **said,
                      allowed=", ".join(m.sources))
        for s in m.required:
            if s not in q.sources:
                _fail(source, f"{k}.sources", q.sources, "needs_source", **said, table=s)
        if q.control is not None and not m.control:
            _fail(source, f"{k}.control", q.control, "no_control", **said)
        if q.covariates and not m.covariates:
            _fail(source, f"{k}.covariates", q.covariates, "no_covariates", **said)
        if q.waves is not None and not m.waves:
            _fail(source, f"{k}.waves", q.waves.model_dump(), "no_waves", **said)
    return plan


def load_plan(path: str | os.PathLike, root: str | os.PathLike | None = None,
              lang: str = DEFAULT_LANGUAGE) -> Plan:
    """Read and validate ``evaluations/<name>.yml`` (the file alone; see :func:`check_plan`).

    Messages name the file relative to the workspace ``root`` when it is inside it, else
    relative to the kit, else by its name (:func:`territoria.config.shown_path`): they reach
    the published notebooks, which must not show the folders of the machine that ran them.
    They are in ``lang`` (default Spanish; the commands pass the city's ``default_language``).

    Raises
    ------
    PlanError
        Missing file, invalid YAML, or one line naming the key, its value and the rule.
    """
    path = Path(path)
    shown = shown_path(path, root)
    if not path.is_file():
        raise PlanError(tr(MESSAGES, "not_found", lang, where=shown))
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = tr(MESSAGES, "at_line", lang, line=mark.line + 1) if mark else ""
        raise PlanError(tr(MESSAGES, "not_yaml", lang, where=shown, line=line,
                           problem=getattr(e, "problem", e))) from None
    plan = parse_plan(raw, name=path.stem, source=shown, lang=lang)
    plan.source_path = str(path)
    plan.source_label = shown
    plan.source_text = text
    return plan


# ------------------------------------------------------------------------------------------
# against a workspace
# ------------------------------------------------------------------------------------------
def uncatalogued(plan: Plan, catalogue: dict | None = None) -> list[tuple[str, str]]:
    """``(key, indicator)`` of the plan's indicators missing from the methodology catalogue
    (empty when the catalogue is absent or empty: it is being completed)."""
    if catalogue is None:
        try:
            from territoria.report.catalogue import load_catalogue

            catalogue = load_catalogue()
        except Exception:  # noqa: BLE001 - no catalogue: nothing to compare with
            catalogue = {}
    if not catalogue:
        return []
    return [(f"questions[{i}].indicators[{j}]", ind) for i, q in enumerate(plan.questions)
            for j, ind in enumerate(q.indicators) if ind not in catalogue]


def plan_warnings(plan: Plan, catalogue: dict | None = None,
                  lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Indicators of the plan missing from the methodology catalogue, one line each naming
    the plan's file and key (see :func:`uncatalogued`), in ``lang``."""
    return [tr(MESSAGES, "uncatalogued", lang, where=plan.where, at=key, indicator=ind)
            for key, ind in uncatalogued(plan, catalogue)]


def check_plan(plan: Plan, store, cfg=None, lang: str | None = None) -> list[str]:
    """Check a plan against a workspace's store; return warnings.

    Parameters
    ----------
    plan : Plan
    store : territoria.store.Store
        Read access is enough.
    cfg : CityConfig, optional
        For the defaults (period, cohort coding, minimum cell) and the language of the
        errors and warnings (its ``default_language``; Spanish without it).
    lang : str, optional
        The language of the errors and warnings, instead of ``cfg``'s.

    Raises
    ------
    PlanError
        Unknown territory, missing cohort column or a column without dates, period outside
        the data, a source table not ingested, a panel wave that does not exist, an unknown
        covariate; one line naming the key.
    """
    import pandas as pd

    src = plan.where
    if lang is None:
        lang = cfg.default_language if cfg is not None else DEFAULT_LANGUAGE
    if not store.has_table("territories"):
        raise PlanError(tr(MESSAGES, "no_territories", lang, where=src))
    tcols = store.columns("territories")
    ids = set(store.query("SELECT territory_id FROM territories")["territory_id"].astype(str))
    if isinstance(plan.territories, list):
        for j, t in enumerate(plan.territories):
            if str(t) not in ids:
                _fail(src, f"territories[{j}]", t, "not_territory", lang)
    uses_cohort = any(METHODS[q.method].cohort for q in plan.questions)
    if uses_cohort:
        col = plan.cohort.column
        if col not in tcols:
            _fail(src, "cohort.column", col, "not_column", lang, columns=", ".join(tcols))
        vals = store.query(f'SELECT "{col}" AS v FROM territories WHERE "{col}" IS NOT NULL')["v"]
        if vals.empty:
            _fail(src, "cohort.column", col, "nobody_joined", lang)
        if pd.to_datetime(vals.astype(str), errors="coerce", format="ISO8601").isna().any():
            _fail(src, "cohort.column", col, "join_dates", lang)
    start, end = plan.period_bounds(cfg)
    if start and end and start > end:
        _fail(src, "period.start", str(start), "start_after_end", lang, end=end)
    for i, q in enumerate(plan.questions):
        m = METHODS[q.method]
        k = f"questions[{i}]"
        for j, s in enumerate(q.sources):
            if not store.has_table(s) or store.count(s) == 0:
                _fail(src, f"{k}.sources[{j}]", s, "not_ingested", lang)
        if m.period and store.has_table("crime_counts"):
            r = store.query("SELECT min(month) AS a, max(month) AS b FROM crime_counts").iloc[0]
            lo, hi = pd.Timestamp(r["a"]).to_period("M"), pd.Timestamp(r["b"]).to_period("M")
            for key, d in (("period.start", start), ("period.end", end)):
                if d is not None and not (lo <= pd.Timestamp(d).to_period("M") <= hi):
                    _fail(src, key, str(d), "outside_crime", lang, first=lo, last=hi)
            if m.cohort:
                col = plan.cohort.column
                j_dates = pd.to_datetime(store.query(
                    f'SELECT "{col}" AS v FROM territories WHERE "{col}" IS NOT NULL')["v"])
                a = pd.Timestamp(start) if start else lo.to_timestamp()
                b = pd.Timestamp(end) if end else hi.to_timestamp(how="end")
                if not ((j_dates > a) & (j_dates <= b)).any():
                    _fail(src, "period", f"{a.date()}..{b.date()}", "no_joins_in_period", lang)
        if q.waves is not None or m.waves:
            w = q.waves or Waves()
            if store.has_table("wellbeing") and "wave" in store.columns("wellbeing"):
                have = set(store.query("SELECT DISTINCT wave FROM wellbeing")["wave"].astype(str))
                for key in ("pre", "post"):
                    v = getattr(w, key)
                    if v not in have:
                        _fail(src, f"{k}.waves.{key}", v, "no_such_wave", lang,
                              waves=", ".join(sorted(have)))
        for j, c in enumerate(q.covariates):
            if c not in tcols or c in ("territory_id", "geometry", "name"):
                _fail(src, f"{k}.covariates[{j}]", c, "not_covariate", lang)
    warns = plan_warnings(plan, lang=lang)
    for w in warns:
        warnings.warn(w, PlanWarning, stacklevel=2)
    return warns
