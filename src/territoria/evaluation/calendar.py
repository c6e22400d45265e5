"""``territoria evaluate calendar PLAN``: what data to collect when, and how many respondents.

A plan's ``calendar`` lists data-collection rounds::

    calendar:
      rounds:
        - {id: panel_pre, source: wellbeing, months_from_joining: 0, wave: pre}
        - {id: panel_post, source: wellbeing, months_from_joining: 12, wave: post}
      power: {outcome: unsafe, change: -0.10, deff: 1.5, attrition: 0.15}

Each round happens, for each territory in scope, ``months_from_joining`` months after the
territory joined the programme (or on a fixed ``date``). For survey rounds, the respondents
needed per territory come from the power analysis
(:func:`territoria.analysis.power.sample_size`, 5 % level, 80 % power unless the plan says
otherwise): for ``unsafe`` the territory's own baseline share from the diagnostic (else the
plan's ``baseline``, else 0.5), for ``life_satisfaction`` the SD (and the correlation between
waves, for a panel) from the plan or from the panel's first wave. The first round of a panel is
inflated for the expected ``attrition`` (n / (1 - attrition)). Administrative sources (crime
records, follow-up of agreements) need no sample.

Examples
--------
>>> from territoria.evaluation.calendar import _add_months
>>> str(_add_months(pd.Timestamp("2018-12-24"), 12).date())
'2019-12-24'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from territoria.analysis import power as pw
from territoria.evaluation.plan import MESSAGES as PLAN_MESSAGES
from territoria.evaluation.plan import Plan
from territoria.exceptions import PlanError
from territoria.i18n import DEFAULT_LANGUAGE, catalogue, tr

__all__ = ["calendar", "summarise", "SURVEY_SOURCES"]

MESSAGES = catalogue(__name__)

SURVEY_SOURCES = {"wellbeing": "territoria_wellbeing", "diagnostic": "territoria_diagnostic",
                  "process": "territoria_process", "feedback": "territoria_feedback"}
ADMIN_SOURCES = {"crime_counts", "followup", "assembly", "territories"}


def _add_months(d: pd.Timestamp, k: int) -> pd.Timestamp:
    return d + pd.DateOffset(months=int(k))


def _baselines(ctx, scope: list[str]) -> dict:
    """Share unsafe (INEGI convention) per territory from the diagnostic, if collected."""
    d = ctx.table("diagnostic")
    if d.empty or "safety_colonia" not in d:
        return {}
    sc = d["safety_colonia"].astype("string").str.strip()
    d = d.assign(_u=np.where(sc.isin(["1", "2", "9"]), (sc == "2").astype(float), np.nan))
    d = d[d["territory"].astype(str).isin(scope)].dropna(subset=["_u"])
    return d.groupby(d["territory"].astype(str))["_u"].mean().to_dict()


def _life_stats(ctx) -> tuple[float | None, float | None]:
    w = ctx.table("wellbeing")
    if w.empty or "life_satisfaction" not in w:
        return None, None
    w = w.assign(ls=pd.to_numeric(w["life_satisfaction"], errors="coerce"))
    pre = w[w["wave"].astype(str) == "pre"]["ls"].dropna()
    sd = float(pre.std(ddof=1)) if len(pre) > 2 else None
    wide = w.pivot_table(index="respondent_code", columns="wave", values="ls").dropna()
    rho = (float(np.corrcoef(wide["pre"], wide["post"])[0, 1])
           if {"pre", "post"} <= set(wide.columns) and len(wide) > 2 else None)
    return sd, rho


def calendar(ctx, plan: Plan, *, lang: str = DEFAULT_LANGUAGE) -> pd.DataFrame:
    """The data-collection calendar of a plan, one row per round and territory.

    Parameters
    ----------
    ctx : territoria.steps.common.StepContext
    plan : Plan
        Must have a ``calendar`` section.
    lang : str
        Language of the error messages (Spanish by default; the command passes the city's).

    Returns
    -------
    DataFrame
        ``round``, ``label_es``, ``label_en``, ``source``, ``instrument`` (form id or
        ``administrative``), ``wave``, ``territory_id``, ``cohort``, ``date`` (ISO),
        ``baseline``, ``n_needed`` (respondents per territory; None for administrative data),
        ``effect_size``.

    Raises
    ------
    PlanError
        The plan has no calendar, or a round depends on a join date a territory lacks: one
        line naming the file, the key, its value and the rule, in ``lang``.
    """
    from territoria.evaluation.methods import scope_territories

    if plan.calendar is None:
        raise PlanError(tr(MESSAGES, "calendar_required", lang, where=plan.where))
    spec = plan.calendar.power
    scope = scope_territories(ctx, plan, lang=lang)
    terr = ctx.territories().set_index("territory_id")
    base = _baselines(ctx, scope) if spec.outcome == "unsafe" else {}
    sd, rho = (spec.sd, spec.correlation) if spec.outcome != "life_satisfaction" else (
        spec.sd, spec.correlation)
    if spec.outcome == "life_satisfaction" and spec.sd is None:
        sd, rho_data = _life_stats(ctx)
        if sd is None:
            raise PlanError(tr(MESSAGES, "sd_required", lang, where=plan.where))
        rho = rho_data if rho_data is not None else spec.correlation
    first_wave = {}  # first round of a source asked more than once (a panel): attrition
    srcs = [r.source for r in plan.calendar.rounds]
    for r in plan.calendar.rounds:
        if r.source in SURVEY_SOURCES and srcs.count(r.source) > 1 and r.source not in first_wave:
            first_wave[r.source] = r.id
    rows = []
    cache: dict = {}
    for i, r in enumerate(plan.calendar.rounds):
        survey = r.source in SURVEY_SOURCES
        for tid in scope:
            j = terr.loc[tid, "joined_on"] if tid in terr.index else None
            if r.date is not None:
                when = pd.Timestamp(r.date)
            elif r.months_from_joining is not None:
                if j is None or pd.isna(j):
                    raise PlanError(tr(
                        PLAN_MESSAGES, "has_value", lang, where=plan.where,
                        at=f"calendar.rounds[{i}].months_from_joining",
                        value=repr(r.months_from_joining),
                        rule=tr(MESSAGES, "no_join_date", lang, territory=tid)))
                when = _add_months(pd.Timestamp(j), r.months_from_joining)
            else:
                raise PlanError(tr(MESSAGES, "when_missing", lang, where=plan.where,
                                   at=f"calendar.rounds[{i}]"))
            n_needed, es, b = None, float("nan"), None
            if survey:
                if spec.outcome == "unsafe":
                    b = base.get(tid, spec.baseline if spec.baseline is not None else 0.5)
                    b = min(max(b, 0.02), 0.98)
                    tgt = b + spec.change
                    if not 0 < tgt < 1:
                        tgt = min(max(tgt, 0.01), 0.99)
                    key = ("p", round(b, 4))
                    if key not in cache:
                        cache[key] = pw.sample_size("proportion", baseline=b, change=tgt - b,
                                                    alpha=spec.alpha, power=spec.power,
                                                    deff=spec.deff).iloc[0]
                else:
                    key = ("m",)
                    if key not in cache:
                        cache[key] = pw.sample_size("mean", change=spec.change, sd=sd,
                                                    alpha=spec.alpha, power=spec.power,
                                                    deff=spec.deff, paired=spec.paired,
                                                    correlation=rho).iloc[0]
                s = cache[key]
                n_needed = int(s["n_per_round"])
                es = float(s["effect_size"])
                if spec.attrition and first_wave.get(r.source) == r.id:
                    n_needed = math.ceil(n_needed / (1 - spec.attrition) - 1e-9)
            coh = terr.loc[tid, "cohort"] if tid in terr.index else None
            rows.append({"round": r.id, "label_es": r.label.es if r.label else r.id,
                         "label_en": r.label.get("en") if r.label else r.id,
                         "source": r.source,
                         "instrument": SURVEY_SOURCES.get(r.source, "administrative"),
                         "wave": r.wave, "territory_id": tid,
                         "cohort": None if coh is None or pd.isna(coh) else str(coh),
                         "date": when.date().isoformat(), "baseline": b, "n_needed": n_needed,
                         "effect_size": es})
    return pd.DataFrame(rows)


def summarise(cal: pd.DataFrame) -> pd.DataFrame:
    """One row per round and cohort: date range, territories, respondents per territory (min,
    max) and in total."""
    if cal.empty:
        return cal
    c = cal.assign(cohort=cal["cohort"].fillna("-"))
    g = c.groupby(["round", "cohort"], sort=False)
    out = g.agg(label_es=("label_es", "first"), label_en=("label_en", "first"),
                instrument=("instrument", "first"), first=("date", "min"),
                last=("date", "max"), territories=("territory_id", "nunique"),
                n_min=("n_needed", "min"), n_max=("n_needed", "max"),
                n_total=("n_needed", lambda s: s.sum(min_count=1))).reset_index()
    return out.sort_values(["first", "round"], kind="stable").reset_index(drop=True)
