"""Answer one evaluation question of a plan: the statistics behind each method.

The evaluation notebook (``notebooks/evaluation.ipynb``) calls :func:`answer` for the
question it was given, shows the result and saves it with :meth:`QuestionResult.save` (a
sidecar file: notebooks only read the store; the runner writes it). Each method returns the
indicators the plan asked for (one row for the territories in scope and, where the method
allows, one row per territory), a detail table for the report, a plain-language answer in
Spanish and English, and what the data cannot say.

Methods (:data:`territoria.evaluation.plan.METHODS`):

- ``process_scorecard``: OECD stage scores of the participant questionnaire with their
  intervals and Cronbach's alpha (:mod:`territoria.analysis.process_eval`), start-to-end change
  of the repeated items, and the share of agreements fulfilled: step 04's figure, from the
  agreements ledger (with its corrections and imports; else the forms) on the plan's cut-off
  date (:func:`follow_up_cut_off`), Wilson interval;
- ``staggered_did``: Callaway & Sant'Anna ATT on the monthly crime panel, with never-treated or
  not-yet-treated controls, and TWFE for comparison (:mod:`territoria.analysis.impact`);
- ``its``: interrupted time series of the programme territories' crime relative to the
  territories that never joined (:mod:`territoria.analysis.its`), for the whole scope and per
  territory;
- ``panel_prepost``: paired change of the wellbeing panel (:mod:`territoria.analysis.panel`);
- ``baseline``: the diagnostic's starting point: % unsafe in the colonia (INEGI convention:
  over all valid answers including "don't know"), mean trust, cohesion, life satisfaction.

Examples
--------
>>> r = QuestionResult("demo", "q1", "baseline")
>>> r.add("pct_unsafe_colonia", 0.62, ci_low=0.55, ci_high=0.69, n=150, min_cell=5)
>>> r.add("pct_unsafe_colonia", 0.5, n=3, territory_id="07-001", min_cell=5)
>>> [(x["territory_id"], x["value"], x["suppressed"]) for x in r.rows]
[(None, 0.62, False), ('07-001', None, True)]
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from territoria import vocabulary
from territoria.analysis import followup, impact, panel, process_eval
from territoria.analysis.process_eval import wilson_ci
from territoria.evaluation.plan import MESSAGES as PLAN_MESSAGES
from territoria.evaluation.plan import METHODS, Plan, Question
from territoria.exceptions import DataError, PlanError
from territoria.i18n import catalogue, check_language, tr
from territoria.report.words import day
from territoria.steps import impact_data, s04_followup
from territoria.steps.common import resolve_as_of

__all__ = ["QuestionResult", "answer", "scope_territories", "follow_up_cut_off",
           "RESULT_COLUMNS", "sidecar_path"]

RESULT_COLUMNS = ["plan", "question", "indicator", "territory_id", "grp", "value", "ci_low",
                  "ci_high", "n", "suppressed", "unit", "method", "answer_es", "answer_en"]

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)

_PERCENT = {"design_agree", "delib_agree", "impact_agree",
            "followup_fulfilment_rate", "pct_unsafe_colonia", "wb_unsafe_change"}


def is_percent(indicator: str) -> bool:
    """Whether an indicator is a share (shown as %)."""
    return indicator in _PERCENT


def label(indicator: str, lang: str = "es") -> str:
    """Plain-language label of an indicator of the evaluation methods."""
    return tr(MESSAGES, indicator, lang)


@dataclass
class QuestionResult:
    """What one question's execution gives: indicator rows, a detail table and the answer."""

    plan: str
    question: str
    method: str
    rows: list = field(default_factory=list)
    answer: dict = field(default_factory=lambda: {"es": "", "en": ""})
    limits: dict = field(default_factory=lambda: {"es": "", "en": ""})
    detail: pd.DataFrame = field(default_factory=pd.DataFrame)

    def add(self, indicator, value, *, ci_low=None, ci_high=None, n=None, territory_id=None,
            grp=None, unit=None, min_cell: int = 5) -> None:
        """Add one indicator row; suppressed when it counts fewer than ``min_cell`` people."""
        def clean(v):
            if v is None:
                return None
            v = float(v)
            return None if math.isnan(v) else v

        n = None if n is None or (isinstance(n, float) and math.isnan(n)) else int(n)
        sup = n is not None and n < min_cell
        self.rows.append({"indicator": indicator, "territory_id": territory_id, "grp": grp,
                          "value": None if sup else clean(value),
                          "ci_low": None if sup else clean(ci_low),
                          "ci_high": None if sup else clean(ci_high), "n": n,
                          "suppressed": bool(sup), "unit": unit})

    def frame(self) -> pd.DataFrame:
        """The rows in the columns of ``evaluation_results``."""
        cols = ["indicator", "territory_id", "grp", "value", "ci_low", "ci_high", "n",
                "suppressed", "unit"]
        df = pd.DataFrame(self.rows, columns=cols).astype({"territory_id": object, "grp": object})
        df.insert(0, "question", self.question)
        df.insert(0, "plan", self.plan)
        df["method"] = self.method
        df["answer_es"] = self.answer.get("es", "")
        df["answer_en"] = self.answer.get("en", "")
        return df[RESULT_COLUMNS]

    def headline(self) -> pd.DataFrame:
        """Rows for the whole scope (no territory)."""
        f = self.frame()
        return f[f["territory_id"].isna()]

    def save(self, output_dir) -> Path:
        """Write the sidecar file (atomically) and return its path."""
        path = sidecar_path(output_dir, self.plan, self.question)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"plan": self.plan, "question": self.question, "method": self.method,
                   "rows": self.rows, "answer": self.answer, "limits": self.limits,
                   "detail": self.detail.to_json(orient="split", default_handler=str)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path) -> QuestionResult:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        detail = pd.read_json(StringIO(d["detail"]), orient="split") if d.get("detail") \
            else pd.DataFrame()
        return cls(d["plan"], d["question"], d["method"], d["rows"], d["answer"], d["limits"],
                   detail)


def sidecar_path(output_dir, plan: str, question: str) -> Path:
    """``output/evaluations/<plan>/<question>.results.json``."""
    return Path(output_dir) / "evaluations" / plan / f"{question}.results.json"


# ------------------------------------------------------------------------------------------
# scope
# ------------------------------------------------------------------------------------------
def scope_territories(ctx, plan: Plan, *, lang: str = "es") -> list[str]:
    """Territory ids in the plan's scope (``programme``: the priority territories).

    Raises :class:`PlanError`, one line in ``lang`` (Spanish by default), when a listed
    territory is not in the store."""
    t = ctx.territories()
    if plan.territories == "all":
        return sorted(t["territory_id"].astype(str))
    if plan.territories == "programme":
        return sorted(t.loc[t["priority"].fillna(False).astype(bool), "territory_id"].astype(str))
    have = set(t["territory_id"].astype(str))
    missing = [x for x in plan.territories if x not in have]
    if missing:
        raise PlanError(tr(PLAN_MESSAGES, "has_value", lang, where=plan.where,
                           at=f"territories[{plan.territories.index(missing[0])}]",
                           value=repr(missing[0]), rule=tr(PLAN_MESSAGES, "not_territory", lang)))
    return [str(x) for x in plan.territories]


def _fmt(v, percent=False, lang="es", digits=1, signed=False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    x = 100 * v if percent else v
    s = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    if percent:
        s += " %" if lang == "es" else "%"
    return s


# ------------------------------------------------------------------------------------------
# methods
# ------------------------------------------------------------------------------------------
def _process(ctx, plan: Plan, q: Question, scope: list[str], min_cell: int) -> QuestionResult:
    res = QuestionResult(plan.name, q.id, q.method)
    pq = ctx.table("process")
    pq = pq[pq["territory"].astype(str).isin(scope)]
    if pq.empty:
        raise DataError("no participant questionnaires in the plan's territories",
                        column="territory", rule="process data for the territories in scope")
    want = set(q.indicators)
    detail = []
    # only the stages asked for: the reliability of each scale is costly per territory
    stages = {s for s in ("design", "delib", "impact") if any(
        i.startswith(f"{s}_") for i in want)} or {"impact"}
    drop = [c for c in pq.columns if c.startswith("pe_") and not c.startswith("pe_rep_")
            and c.split("_")[1] not in stages]
    pq_st = pq.drop(columns=drop)
    city = process_eval.process_indicators(pq_st, by=None)
    per = process_eval.process_indicators(pq_st, by="territory")
    for df, by in ((city, None), (per, "territory")):
        for r in df.itertuples(index=False):
            name = r.indicator
            if name not in want:
                continue
            tid = getattr(r, by) if by else None
            res.add(name, r.value, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n, territory_id=tid,
                    min_cell=min_cell, unit="share" if r.scale == "share" else "likert")
            if by is None:
                detail.append({"indicator": name, "label_es": label(name, "es"),
                               "label_en": label(name, "en"), "estimate": r.value,
                               "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n})
    rep = [c for c in pq.columns if c.startswith("pe_rep_")]
    if "repeated_change" in want and rep:
        # each person's mean over the repeated items, end - start (catalogue: repeated_change)
        pr = pq[["participant_code", "territory", "moment"]].copy()
        pr["rep_mean"] = pq[rep].apply(pd.to_numeric, errors="coerce").mean(axis=1)
        ch = panel.paired_change(pr, "participant_code", "moment", "rep_mean", pre="start",
                                 post="end").iloc[0]
        res.add("repeated_change", ch["diff"], ci_low=ch["diff_ci_low"],
                ci_high=ch["diff_ci_high"], n=ch["n"], min_cell=min_cell, unit="likert")
        detail.append({"indicator": "repeated_change", "label_es": label("repeated_change", "es"),
                       "label_en": label("repeated_change", "en"), "estimate": ch["diff"],
                       "ci_low": ch["diff_ci_low"], "ci_high": ch["diff_ci_high"],
                       "n": ch["n"]})
    agr_text = {"es": "", "en": ""}
    if "followup_fulfilment_rate" in want and "followup" in q.sources:
        agr_text, rows = _fulfilment(ctx, res, plan, scope, min_cell)
        detail.extend(rows)
    res.detail = pd.DataFrame(detail)
    means = process_eval.process_indicators(pq, by=None)
    means = means[means["indicator"].str.endswith("_mean")].set_index("stage")
    if not means.empty:
        best, worst = means["value"].idxmax(), means["value"].idxmin()
        for lang in ("es", "en"):
            res.answer[lang] = tr(
                MESSAGES, "ans_process", lang, n=int(means["n"].max()),
                n_terr=pq["territory"].nunique(), best=vocabulary.label("process_stage", best, lang),
                best_v=_fmt(means.loc[best, "value"], digits=2),
                worst=vocabulary.label("process_stage", worst, lang),
                worst_v=_fmt(means.loc[worst, "value"], digits=2),
                agreements=agr_text[lang]).strip()
    return res


def follow_up_cut_off(ctx, plan: Plan) -> pd.Timestamp:
    """The date on which a plan reads the agreements' follow-up: the plan's ``period.end``,
    else step 04's rule (:func:`territoria.steps.common.resolve_as_of`: ``city.yml:
    period_end``, else today). Updates dated after it do not count.

    >>> from types import SimpleNamespace
    >>> import datetime as dt
    >>> from territoria.evaluation.plan import parse_plan
    >>> ctx = SimpleNamespace(config=SimpleNamespace(period_end=dt.date(2024, 12, 31)))
    >>> q = {"id": "q", "text": {"es": "?"}, "method": "baseline", "outcome": "unsafe",
    ...      "indicators": ["pct_unsafe_colonia"], "sources": ["diagnostic"]}
    >>> city = parse_plan({"title": {"es": "x"}, "questions": [q]}, name="x")
    >>> own = parse_plan({"title": {"es": "x"}, "questions": [q],
    ...                   "period": {"end": "2024-06-30"}}, name="x")
    >>> [str(follow_up_cut_off(ctx, p).date()) for p in (city, own)]
    ['2024-12-31', '2024-06-30']
    """
    return resolve_as_of(ctx, plan.period.end)


def _fulfilment(ctx, res: QuestionResult, plan: Plan, scope: list[str],
                min_cell: int) -> tuple[dict, list[dict]]:
    """Add ``followup_fulfilment_rate`` (whole scope and per territory) to ``res``: step 04's
    figure, from the same source (the agreements ledger with its corrections and imports,
    else the forms) and state on the plan's cut-off (:func:`follow_up_cut_off`), built by
    :func:`territoria.steps.s04_followup.analyse_many` (the ledger read once). Returns the answer's
    sentence ({es, en}) and the detail row."""
    when = follow_up_cut_off(ctx, plan)
    grp = when.strftime("%Y-%m-%d")
    per = s04_followup.analyse_many(ctx, scope, as_of=when)
    states = [a.state for a in per if len(a.state)]
    if not states:
        return {"es": "", "en": ""}, []
    f = followup.fulfilment_rate(pd.concat(states, ignore_index=True)).iloc[0]
    v = None if pd.isna(f["rate"]) else float(f["rate"])
    n = int(f["n"])
    res.add("followup_fulfilment_rate", v, ci_low=f["ci_low"], ci_high=f["ci_high"], n=n,
            grp=grp, min_cell=min_cell, unit="share")
    for a in per:
        r = s04_followup.summary_table(a).set_index("name")
        if "followup_fulfilment_rate" in r.index:  # step 04 records none without agreements
            r = r.loc["followup_fulfilment_rate"]
            res.add("followup_fulfilment_rate", r["value"], ci_low=r["ci_low"],
                    ci_high=r["ci_high"], n=r["n"], territory_id=a.territory_id, grp=grp,
                    min_cell=min_cell, unit="share")
    text, row = {}, {"indicator": "followup_fulfilment_rate", "estimate": v,
                     "ci_low": f["ci_low"], "ci_high": f["ci_high"], "n": n}
    for lang in ("es", "en"):
        date = day(when, lang)
        row[f"label_{lang}"] = tr(MESSAGES, "label_as_of", lang,
                                  label=label("followup_fulfilment_rate", lang), day=date)
        text[lang] = tr(MESSAGES, "ans_agreements", lang, n=n, day=date,
                        v=_fmt(v, True, lang), lo=_fmt(f["ci_low"], True, lang),
                        hi=_fmt(f["ci_high"], True, lang))
    return text, [row]


def _crime_panel(ctx, plan: Plan, scope: list[str]) -> pd.DataFrame:
    """Monthly crime panel (:func:`territoria.steps.impact_data.crime_panel`) with the plan's
    cohort column and coding; treated units are the scope's, controls never joined."""
    start, end = plan.period_bounds(ctx.config)
    coding = plan.coding(ctx.config)
    p = impact_data.crime_panel(ctx, coding, period_start=start, period_end=end)
    col = plan.cohort.column
    if col != "joined_on":
        t = ctx.store.query(f'SELECT territory_id, "{col}" AS j FROM territories')
        p = p.drop(columns=["joined_on"]).merge(t.rename(columns={"j": "joined_on"}),
                                               on="territory_id", how="left")
        origin = p.attrs.get("origin") or pd.Timestamp(p["month"].min())
        cm = pd.to_datetime(p["joined_on"].map(lambda d: impact_data.cohort_period(d, coding)))
        never = cm.isna().to_numpy()
        ct = impact_data.month_index(cm.fillna(origin), origin)
        n_months = p["t"].max()
        ct = np.where(never | (ct > n_months), 0, ct)
        p["cohort_t"] = np.where(~never & (ct <= 1), -1, ct).astype(int)
        p["cohort_month"] = cm
        p["programme"] = p["joined_on"].notna()
        p = p[p["cohort_t"] >= 0].reset_index(drop=True)
        p.attrs.update({"coding": coding, "origin": origin})
    keep = p["territory_id"].astype(str).isin(scope) | ~p["programme"]
    attrs = dict(p.attrs)
    p = p[keep].reset_index(drop=True)
    p.attrs.update(attrs)
    if not (p["programme"] & (p["cohort_t"] > 0)).any():
        raise DataError("no territory in scope joins inside the period", column=col,
                        rule="treated territories with months before and after joining")
    return p


def _did(ctx, plan: Plan, q: Question, scope: list[str], min_cell: int) -> QuestionResult:
    res = QuestionResult(plan.name, q.id, q.method)
    p = _crime_panel(ctx, plan, scope)
    args = ("territory_id", "t", "cohort_t")
    cov = list(q.covariates) or None
    if cov:
        tv = ctx.territories().set_index("territory_id")
        for c in cov:
            p[c] = pd.to_numeric(p["territory_id"].map(tv[c]), errors="coerce")
        bad = p[cov].isna().any(axis=1)
        p = p[~bad].reset_index(drop=True)
    control = q.control or "never"
    n_units = int(p["territory_id"].nunique())
    n_treat = int(p.loc[p["cohort_t"] > 0, "territory_id"].nunique())
    want = q.indicators
    detail = []
    headline = None
    fits = {}
    for ind in want:
        if ind == "crime_att_twfe":
            r = impact.twfe(p, *args, "y").iloc[0]
        else:
            ctl = "notyet" if ind == "crime_att_cs_notyet" else (
                "never" if ind == "crime_att_cs_never" else control)
            outcome = "rate" if ind == "crime_att_cs_rate" else "y"
            d = p.dropna(subset=[outcome]) if outcome == "rate" else p
            fits[ind] = impact.att_gt(d, *args, outcome, control=ctl, covariates=cov)
            r = impact.aggregate(fits[ind], "simple").iloc[0]
        res.add(ind, r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"], n=n_units,
                min_cell=min_cell, unit="per_1000" if ind == "crime_att_cs_rate" else "log")
        detail.append({"indicator": ind, "label_es": label(ind, "es"), "label_en": label(ind, "en"),
                       "estimate": float(r["estimate"]), "ci_low": float(r["ci_low"]),
                       "ci_high": float(r["ci_high"]), "n": n_units})
        if ind == f"crime_att_cs_{control}" or (headline is None and ind != "crime_att_twfe"):
            headline = (ind, r)
    main = fits.get(headline[0]) if headline else None
    if main is not None:
        grp = impact.aggregate(main, "group")
        for g in grp[~grp["overall"].astype(bool)].itertuples():
            month = (p.attrs["origin"] + pd.DateOffset(months=int(g.key) - 1)).strftime("%Y-%m")
            detail.append({"indicator": f"{headline[0]}:cohort", "label_es":
                           f"Entraron en {month}", "label_en": f"Joined in {month}",
                           "estimate": g.estimate, "ci_low": g.ci_low, "ci_high": g.ci_high,
                           "n": int(p.loc[p["cohort_t"] == g.key, "territory_id"].nunique())})
    res.detail = pd.DataFrame(detail)
    if headline:
        ind, r = headline
        log = ind != "crime_att_cs_rate"
        conv = (lambda x: 100 * (math.exp(x) - 1)) if log else (lambda x: x)
        est, lo, hi = conv(r["estimate"]), conv(r["ci_low"]), conv(r["ci_high"])
        ctl = "notyet" if ind.endswith("notyet") else control
        for lang in ("es", "en"):
            sig = "sig_yes" if (r["ci_low"] > 0 or r["ci_high"] < 0) else "sig_no"
            res.answer[lang] = tr(MESSAGES, "ans_did", lang, control=tr(MESSAGES, f"ctl_{ctl}", lang),
                                  pct=f"{abs(est):.1f}",
                                  dir=tr(MESSAGES, "fewer" if est < 0 else "more", lang),
                                  lo=f"{lo:.1f}", hi=f"{hi:.1f}", n_treat=n_treat,
                                  n_units=n_units, sig=tr(MESSAGES, sig, lang))
    return res


def _its(ctx, plan: Plan, q: Question, scope: list[str], min_cell: int) -> QuestionResult:
    from territoria.steps import s06_impact as s06

    res = QuestionResult(plan.name, q.id, q.method)
    p = _crime_panel(ctx, plan, scope)
    tab, _ = s06.its_city(p)
    gap = tab[tab["series"] == "gap"].set_index("term")
    n_months = int(gap["n"].iloc[0])
    detail = []
    for ind in q.indicators:
        term = ind.removeprefix("crime_its_")
        r = gap.loc[term]
        res.add(ind, r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"], n=n_months,
                min_cell=1, unit="log")
        detail.append({"indicator": ind, "territory_id": None, "label_es": label(ind, "es"),
                       "label_en": label(ind, "en"), "estimate": r["estimate"],
                       "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": n_months})
    never = impact_data.never_mean(p)
    for tid, rows in p[p["programme"] & (p["cohort_t"] > 0)].groupby("territory_id"):
        try:
            t_tab, _ = s06.its_territory(p, tid, never=never, rows=rows)
        except DataError:
            continue
        t_tab = t_tab.set_index("term")
        for ind in q.indicators:
            r = t_tab.loc[ind.removeprefix("crime_its_")]
            res.add(ind, r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"], n=int(r["n"]),
                    territory_id=str(tid), min_cell=1, unit="log")
    res.detail = pd.DataFrame(detail)
    lv, sl = gap.loc["level_change"], gap.loc["slope_change"]
    pct = 100 * (math.exp(lv["estimate"]) - 1)
    for lang in ("es", "en"):
        sig = "sig_yes" if (lv["ci_low"] > 0 or lv["ci_high"] < 0) else "sig_no"
        res.answer[lang] = tr(
            MESSAGES, "ans_its", lang, dir_level=tr(MESSAGES, "went_down" if pct < 0 else "went_up",
                                                    lang),
            level=f"{abs(pct):.1f}", lo=f"{100 * (math.exp(lv['ci_low']) - 1):.1f}",
            hi=f"{100 * (math.exp(lv['ci_high']) - 1):.1f}",
            slope=f"{100 * (math.exp(sl['estimate']) - 1):+.2f}", sig=tr(MESSAGES, sig, lang))
    return res


def _wellbeing(ctx, scope: list[str]) -> pd.DataFrame:
    w = impact_data.wellbeing_data(ctx)
    return w[w["territory"].astype(str).isin(scope)].reset_index(drop=True)


def _panel(ctx, plan: Plan, q: Question, scope: list[str], min_cell: int) -> QuestionResult:
    res = QuestionResult(plan.name, q.id, q.method)
    w = _wellbeing(ctx, scope)
    if w.empty:
        raise DataError("no wellbeing panel answers in the plan's territories",
                        column="territory", rule="wellbeing data for the territories in scope")
    waves = q.waves.model_dump() if q.waves else {"pre": "pre", "post": "post"}
    outs = [o for o in q.outcomes if f"wb_{o}_change" in q.indicators]
    city = panel.paired_change(w, "respondent_code", "wave", outs, pre=waves["pre"],
                               post=waves["post"])
    per = panel.paired_change(w, "respondent_code", "wave", outs, pre=waves["pre"],
                              post=waves["post"], by="territory")
    detail, items = [], {"es": [], "en": []}
    for df, by in ((city, False), (per, True)):
        for r in df.to_dict("records"):
            ind = f"wb_{r['dv']}_change"
            unit = "share" if r["dv"] == "unsafe" else "points"
            res.add(ind, r["diff"], ci_low=r["diff_ci_low"], ci_high=r["diff_ci_high"], n=r["n"],
                    territory_id=str(r["territory"]) if by else None, min_cell=min_cell,
                    unit=unit)
            if not by:
                detail.append({"indicator": ind, "label_es": label(ind, "es"),
                               "label_en": label(ind, "en"), "mean_pre": r["mean_pre"],
                               "mean_post": r["mean_post"], "estimate": r["diff"],
                               "ci_low": r["diff_ci_low"], "ci_high": r["diff_ci_high"],
                               "n": r["n"], "dz": r["dz"]})
                pp = r["dv"] == "unsafe"  # a change of share: percentage points
                k = 100 if pp else 1
                dg = 1 if pp else 2
                for lang in ("es", "en"):
                    unit = f" {tr(MESSAGES, 'pp', lang)}" if pp else ""
                    items[lang].append(tr(MESSAGES, "ans_panel_item", lang,
                                          label=label(ind, lang),
                                          v=_fmt(k * r["diff"], False, lang, dg, True) + unit,
                                          lo=_fmt(k * r["diff_ci_low"], False, lang, dg, True),
                                          hi=_fmt(k * r["diff_ci_high"], False, lang, dg, True)))
    res.detail = pd.DataFrame(detail)
    n = int(city["n"].max()) if len(city) else 0
    for lang in ("es", "en"):
        res.answer[lang] = (tr(MESSAGES, "ans_panel", lang, n=n, pre=waves["pre"],
                               post=waves["post"], items=" ".join(items[lang]))
                            if n >= min_cell else tr(MESSAGES, "ans_suppressed", lang))
    return res


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    n = len(x)
    if n == 0:
        return (float("nan"),) * 3
    m = float(x.mean())
    if n < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - h, m + h


def _baseline(ctx, plan: Plan, q: Question, scope: list[str], min_cell: int) -> QuestionResult:
    res = QuestionResult(plan.name, q.id, q.method)
    d = ctx.table("diagnostic")
    d = d[d["territory"].astype(str).isin(scope)].copy()
    if d.empty:
        raise DataError("no diagnostic answers in the plan's territories", column="territory",
                        rule="diagnostic data for the territories in scope")
    num = lambda c: pd.to_numeric(d.get(c), errors="coerce")  # noqa: E731
    sc = d["safety_colonia"].astype("string").str.strip()
    d["_unsafe"] = np.where(sc.isin(["1", "2", "9"]), (sc == "2").astype(float), np.nan)
    d["_trust"] = num("trust_neighbours")
    d["_cohesion"] = pd.concat([num("cohesion_help"), num("cohesion_organise")], axis=1)\
        .mean(axis=1)
    d["_life"] = num("life_satisfaction")
    col = {"pct_unsafe_colonia": "_unsafe", "trust_neighbours_mean": "_trust",
           "cohesion_mean": "_cohesion", "life_satisfaction_mean": "_life"}
    detail, items = [], {"es": [], "en": []}
    for tid, part in [(None, d), *d.groupby("territory")]:
        for ind in q.indicators:
            x = part[col[ind]].dropna().to_numpy(dtype=float)
            if ind == "pct_unsafe_colonia":
                k, n = float(x.sum()), len(x)
                v = k / n if n else float("nan")
                lo, hi = wilson_ci(k, n) if n else (float("nan"), float("nan"))
            else:
                n = len(x)
                v, lo, hi = _mean_ci(x)
            res.add(ind, v, ci_low=lo, ci_high=hi, n=n, territory_id=None if tid is None
                    else str(tid), min_cell=min_cell,
                    unit="share" if ind == "pct_unsafe_colonia" else "points")
            if tid is None:
                detail.append({"indicator": ind, "label_es": label(ind, "es"),
                               "label_en": label(ind, "en"), "estimate": v, "ci_low": lo,
                               "ci_high": hi, "n": n})
                pct = is_percent(ind)
                for lang in ("es", "en"):
                    items[lang].append(tr(MESSAGES, "ans_panel_item", lang, label=label(ind, lang),
                                          v=_fmt(v, pct, lang, 1 if pct else 2),
                                          lo=_fmt(lo, pct, lang, 1 if pct else 2),
                                          hi=_fmt(hi, pct, lang, 1 if pct else 2)))
    res.detail = pd.DataFrame(detail)
    for lang in ("es", "en"):
        res.answer[lang] = tr(MESSAGES, "ans_baseline", lang, n=len(d),
                              n_terr=d["territory"].nunique(), items=" ".join(items[lang]))
    return res


_RUNNERS = {"process_scorecard": _process, "staggered_did": _did, "its": _its,
            "panel_prepost": _panel, "baseline": _baseline}


def answer(ctx, plan: Plan, question: str, *, lang: str = "es") -> QuestionResult:
    """Execute one question of ``plan`` on the workspace of ``ctx`` (read-only).

    Parameters
    ----------
    ctx : territoria.steps.common.StepContext
        Workspace, configuration and read-only store.
    plan : Plan
    question : str
        The question's id.
    lang : {"es", "en"}
        Language of the notebook's narrative and of the error messages (the result carries
        both languages).

    Returns
    -------
    QuestionResult
        ``rows`` (indicator, territory_id or None for the whole scope, value, ci_low, ci_high,
        n, suppressed), ``detail`` (the scope's table with ``label_es``/``label_en``),
        ``answer`` and ``limits`` ({es, en}).
    """
    check_language(lang)
    q = plan.question(question)
    scope = scope_territories(ctx, plan, lang=lang)
    if not scope:
        raise PlanError(tr(PLAN_MESSAGES, "has_value", lang, where=plan.where, at="territories",
                           value=repr(plan.territories), rule=tr(MESSAGES, "no_scope", lang)))
    min_cell = plan.min_cell(ctx.config)
    res = _RUNNERS[q.method](ctx, plan, q, scope, min_cell)
    if q.limits is not None:
        res.limits = {"es": q.limits.es, "en": q.limits.get("en")}
    else:
        res.limits = {lg: tr(MESSAGES, f"lim_{q.method}", lg) for lg in ("es", "en")}
    if not METHODS[q.method].per_territory:
        res.rows = [r for r in res.rows if r["territory_id"] is None]
    return res
