"""Step 06, impact evaluation (city, with each territory's slice): did crime, wellbeing and
perceived safety change *because of* the programme?

The notebook ``notebooks/06_impact.ipynb`` calls these functions one per section:

1. :func:`cohort_table`: the cohorts and the first period each one counts as exposed, under
   both codings of ``city.yml: cohort_coding`` (first exposed month, first full month);
2. :func:`crime_panel`: the balanced monthly panel territory x month from ``crime_counts``
   (outcome ``log(1 + count)``, and the rate per 1,000 inhabitants);
3. :func:`did_estimates`: staggered difference-in-differences: two-way fixed effects (for
   reference) and Callaway & Sant'Anna ATT(g,t) with never-treated and not-yet-treated
   controls, aggregated (simple, by cohort, by event time), plus a placebo with false dates;
   :func:`event_plot` draws the event study with its pre-trends;
4. :func:`its_city` / :func:`its_territory`: interrupted time series (level and slope change,
   Newey-West SEs) for the city and for one territory;
5. :func:`wellbeing_data`, :func:`wellbeing_change`, :func:`wellbeing_anova`: the pre/post
   wellbeing panel (paired tests, mixed ANOVA, effect sizes with intervals);
6. :func:`power_table`: respondents the next survey round needs per territory;
7. :func:`compute` (the city, or one territory's slice) and :func:`compute_all` (the city and
   every programme territory's slice, sharing the work), which the notebook saves.

The data preparation (cohort coding, crime panel, wellbeing panel) is in
:mod:`territoria.steps.impact_data`, which the evaluation methods import too.

Examples
--------
>>> from territoria.steps import s06_impact as s06
>>> s06.STEP, s06.SCOPE
('06_impact', 'city')
>>> str(s06.cohort_period("2018-12-24", "first_exposed_period").date())
'2018-12-01'
>>> str(s06.cohort_period("2018-12-24", "first_full_period").date())
'2019-01-01'
>>> str(s06.cohort_period("2019-07-01", "first_full_period").date())
'2019-07-01'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from territoria import figures, vocabulary
from territoria.analysis import impact, its, panel, power
from territoria.analysis.suppression import suppress
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.steps import StepResult, common
from territoria.steps.impact_data import (
    CODINGS,
    WB_OUTCOMES,
    cohort_period,
    crime_panel,
    wellbeing_data,
)
from territoria.steps.impact_data import never_mean as _never_mean
from territoria.steps.registry import step_by_id

STEP = "06_impact"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Months each cohort is moved back in the placebo test.
PLACEBO_SHIFT = 12
#: Event times published on the site (the notebook plots them all).
EVENT_WINDOW = (-12, 24)
#: Changes the next survey round should be able to detect (power analysis).
POWER_CHANGE_UNSAFE = -0.10
POWER_CHANGE_LIFE = 0.5

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)

_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("estimates", "bar", "view_estimates", "view_estimates_caption"),
    _T.view("by_cohort", "bar", "view_cohort", "view_cohort_caption"),
    _T.view("event_study", "lines", "view_event", "view_event_caption", x="e", y="estimate"),
    _T.view("its", "bar", "view_its", "view_its_caption"),
    _T.view("wellbeing", "table", "view_wellbeing", "view_wellbeing_caption", columns=(
        ("label_{lang}", "col_label"), ("mean_pre", "col_pre"), ("mean_post", "col_post"),
        ("estimate", "col_estimate"), ("ci_low", "col_low"), ("ci_high", "col_high"),
        ("n", "col_people"))),
    _T.view("power", "table", "view_power", "view_power_caption", columns=(
        ("label_{lang}", "col_label"), ("n_per_round", "col_needed"))),
    _T.view("cohorts", "table", "view_cohorts", columns=(
        ("label_{lang}", "col_cohort"), ("joined_on", "col_joined"),
        ("first_exposed_period", "col_exposed"), ("first_full_period", "col_full"),
        ("n", "col_n"))),
), indicators=("crime_att_cs_never", "crime_its_level_change", "wb_life_satisfaction_change",
               "wb_unsafe_change"))


# ----------------------------------------------------------------------------------------
# cohorts and the crime panel
# ----------------------------------------------------------------------------------------
def _other(coding: str) -> str:
    return CODINGS[1] if coding == CODINGS[0] else CODINGS[0]


def _cohort_labels(ctx) -> dict:
    return {c.id: (c.label.get("es") if c.label else c.id, c.label.get("en") if c.label
                   else c.id) for c in ctx.config.cohorts}


def cohort_table(ctx) -> pd.DataFrame:
    """Cohorts with their join date and first exposed month under both codings.

    Returns
    -------
    DataFrame
        ``cohort``, ``label_es``, ``label_en``, ``joined_on`` (ISO date),
        ``first_exposed_period``, ``first_full_period`` (ISO months), ``shift_months``
        (0 or 1), ``n`` (territories). Territories that never joined are the last row.
    """
    t = ctx.territories()
    labels = _cohort_labels(ctx)
    rows = []
    prog = t[t["joined_on"].notna()]
    for (coh, j), part in prog.groupby(["cohort", "joined_on"], sort=True, dropna=False):
        ex = cohort_period(j, CODINGS[0])
        fu = cohort_period(j, CODINGS[1])
        es, en = labels.get(coh, (str(coh), str(coh)))
        rows.append({"cohort": coh, "label_es": es, "label_en": en,
                     "joined_on": pd.Timestamp(j).strftime("%Y-%m-%d"),
                     "first_exposed_period": ex.strftime("%Y-%m"),
                     "first_full_period": fu.strftime("%Y-%m"),
                     "shift_months": int((fu.year - ex.year) * 12 + fu.month - ex.month),
                     "n": len(part)})
    rows.append({"cohort": None, "label_es": tr(MESSAGES, "never", "es"),
                 "label_en": tr(MESSAGES, "never", "en"), "joined_on": None,
                 "first_exposed_period": None, "first_full_period": None, "shift_months": None,
                 "n": int(t["joined_on"].isna().sum())})
    return pd.DataFrame(rows)


def _month_label(panel_df: pd.DataFrame, t) -> str:
    origin = panel_df.attrs.get("origin")
    if origin is None or t is None or (isinstance(t, float) and math.isnan(t)):
        return ""
    return (origin + pd.DateOffset(months=int(t) - 1)).strftime("%Y-%m")


# ----------------------------------------------------------------------------------------
# difference in differences
# ----------------------------------------------------------------------------------------
def _row(label_key, est, lang_fmt=None, **extra):
    fmt = lang_fmt or {}
    return {"label_es": tr(MESSAGES, label_key, "es", **fmt),
            "label_en": tr(MESSAGES, label_key, "en", **fmt), **extra,
            "estimate": float(est["estimate"]), "se": float(est["se"]),
            "ci_low": float(est["ci_low"]), "ci_high": float(est["ci_high"])}


def did_estimates(ctx, crime: pd.DataFrame | None = None, *, period_start=None,
                  period_end=None) -> dict:
    """Staggered difference in differences on the monthly crime panel.

    Parameters
    ----------
    ctx : StepContext
    crime : DataFrame, optional
        Output of :func:`crime_panel` (built with the configured coding if not given).
    period_start, period_end : date-like, optional

    Returns
    -------
    dict of DataFrames
        ``estimates`` (one row per estimator: ``key``, ``label_es``, ``label_en``,
        ``control``, ``coding``, ``outcome``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``pct_change`` = 100 (exp(estimate) - 1) for the log outcome, ``n_units``),
        ``by_cohort`` and ``event_study`` (aggregations of the never-treated ATT(g,t), with
        ``label_es``/``label_en``; event times ``e``), ``att_gt`` (every cell), ``placebo``.

    Notes
    -----
    Outcome ``log(1 + monthly count)``; Callaway & Sant'Anna (2021) ATT(g,t), unconditional,
    base period "varying", analytical influence-function SEs clustered by territory (R ``did``
    with ``bstrap=FALSE``), pointwise normal 95 % intervals
    (:data:`territoria.analysis.impact.SE_CONVENTION_CS`). TWFE: CR1 by territory without
    counting the territory fixed effects, t(G-1) interval
    (:data:`territoria.analysis.impact.SE_CONVENTION_TWFE`).
    """
    crime = crime if crime is not None else crime_panel(ctx, period_start=period_start,
                                                         period_end=period_end)
    coding = crime.attrs.get("coding", ctx.config.cohort_coding)
    args = ("territory_id", "t", "cohort_t")
    n_units = crime["territory_id"].nunique()
    res_never = impact.att_gt(crime, *args, "y", control="never")
    res_notyet = impact.att_gt(crime, *args, "y", control="notyet")
    rows = []
    tw = impact.twfe(crime, *args, "y").iloc[0]
    rows.append({"key": "twfe", **_row("est_twfe", tw), "control": "all", "coding": coding,
                 "outcome": "log1p"})
    s_never = impact.aggregate(res_never, "simple").iloc[0]
    rows.append({"key": "cs_never", **_row("est_cs_never", s_never), "control": "never",
                 "coding": coding, "outcome": "log1p"})
    s_notyet = impact.aggregate(res_notyet, "simple").iloc[0]
    rows.append({"key": "cs_notyet", **_row("est_cs_notyet", s_notyet), "control": "notyet",
                 "coding": coding, "outcome": "log1p"})
    other = crime_panel(ctx, _other(coding), period_start=period_start, period_end=period_end) \
        if crime.attrs.get("origin") is not None else None
    if other is not None:
        s_other = impact.aggregate(impact.att_gt(other, *args, "y", control="never"),
                                   "simple").iloc[0]
        rows.append({"key": "cs_never_other_coding",
                     "label_es": tr(MESSAGES, "est_cs_other", "es",
                                    c=tr(MESSAGES, _other(coding), "es")),
                     "label_en": tr(MESSAGES, "est_cs_other", "en",
                                    c=tr(MESSAGES, _other(coding), "en")),
                     **{k: float(s_other[k]) for k in ("estimate", "se", "ci_low", "ci_high")},
                     "control": "never", "coding": _other(coding), "outcome": "log1p"})
    rate = crime.dropna(subset=["rate"])
    rate = rate[rate.groupby("territory_id")["t"].transform("size") == crime["t"].nunique()]
    s_rate = impact.aggregate(impact.att_gt(rate, *args, "rate", control="never"),
                              "simple").iloc[0]
    rows.append({"key": "cs_never_rate", **_row("est_cs_rate", s_rate), "control": "never",
                 "coding": coding, "outcome": "rate_1000"})
    plc = placebo_test(crime)
    rows.append({"key": "placebo", **_row("est_placebo", plc.iloc[0], {"k": PLACEBO_SHIFT}),
                 "control": "never", "coding": coding, "outcome": "log1p"})
    est = pd.DataFrame(rows)
    est["pct_change"] = np.where(est["outcome"] == "log1p",
                                 100 * (np.exp(est["estimate"]) - 1), np.nan)
    est["n_units"] = n_units
    grp = impact.aggregate(res_never, "group")
    grp["cohort_month"] = [_month_label(crime, k) if not o else "" for k, o in
                           zip(grp["key"], grp["overall"], strict=True)]
    cmap = (crime.drop_duplicates("territory_id").dropna(subset=["cohort_month"])
            .assign(cm=lambda d: d["cohort_month"].dt.strftime("%Y-%m"))
            .groupby("cm")["territory_id"].size())
    grp["n_territories"] = [int(cmap.get(m, 0)) if m else int(cmap.sum())
                            for m in grp["cohort_month"]]
    grp["label_es"] = [f"Entraron en {m}" if m else "Todas las etapas" for m in grp["cohort_month"]]
    grp["label_en"] = [f"Joined in {m}" if m else "All waves" for m in grp["cohort_month"]]
    ev = impact.aggregate(res_never, "event")
    ev = ev.rename(columns={"key": "e"})
    ev["group_es"] = np.where(ev["e"] < 0, "Antes de entrar", "Después de entrar")
    ev["group_en"] = np.where(ev["e"] < 0, "Before joining", "After joining")
    return {"estimates": est, "by_cohort": grp, "event_study": ev, "att_gt": res_never,
            "att_gt_notyet": res_notyet, "placebo": plc}


def placebo_test(crime: pd.DataFrame, shift: int = PLACEBO_SHIFT) -> pd.DataFrame:
    """Placebo with false dates: every cohort pretends to join ``shift`` months earlier, on
    the months before anyone joined (:func:`territoria.analysis.impact.placebo`)."""
    return impact.placebo(crime, "territory_id", "t", "cohort_t", "y", shift=shift)


def event_plot(event: pd.DataFrame, *, lang: str = "es"):
    """Event-study chart with pre-trends: ``(fig, alt_text)``."""
    ev = event.rename(columns={"e": "key"})
    return figures.event_study_plot(ev, lang=check_language(lang))


# ----------------------------------------------------------------------------------------
# interrupted time series
# ----------------------------------------------------------------------------------------
def _its_rows(fit: pd.DataFrame, key: str, label_key: str) -> list[dict]:
    out = []
    for term in ("level_change", "slope_change"):
        r = fit.set_index("term").loc[term]
        out.append({"series": key, "term": term,
                    "label_es": f"{tr(MESSAGES, label_key, 'es')}: {tr(MESSAGES, term, 'es')}",
                    "label_en": f"{tr(MESSAGES, label_key, 'en')}: {tr(MESSAGES, term, 'en')}",
                    "estimate": float(r["estimate"]), "se": float(r["se"]),
                    "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
                    "p_val": float(r["p_val"]), "n": int(r["n"]), "n_pre": int(r["n_pre"]),
                    "maxlags": int(r["maxlags"])})
    return out


def its_city(crime: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Interrupted time series for the whole programme, from the first cohort's first
    exposed month.

    Two series: (1) ``raw``: log of the monthly total of crimes in programme territories,
    with month-of-year dummies; (2) ``gap``: log of that total minus the log of the total in
    territories that never joined (a comparative series: shocks common to the whole
    alcaldía, such as the 2020 pandemic or the season, cancel out).

    Returns
    -------
    (DataFrame, dict)
        Rows ``series`` x ``term`` (``level_change``, ``slope_change``) with ``label_es``,
        ``label_en``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_val``, ``n``,
        ``n_pre``, ``maxlags``; and the two monthly series (``t``, ``y``) with the
        intervention month number, for plotting.
    """
    prog = crime[crime["programme"] & (crime["cohort_t"] > 0)]
    if prog.empty:
        raise DataError("no programme territory joined inside the period", column="joined_on",
                        rule="at least one programme territory with a pre-period")
    t0 = int(prog["cohort_t"].min())
    tot_p = prog.groupby("t")["count"].sum()
    tot_n = crime[~crime["programme"]].groupby("t")["count"].sum()
    raw = pd.DataFrame({"t": tot_p.index, "y": np.log(tot_p.to_numpy() + 1)})
    gap = pd.DataFrame({"t": tot_p.index,
                        "y": np.log(tot_p.to_numpy() + 1) - np.log(tot_n.reindex(tot_p.index)
                                                                      .to_numpy() + 1)})
    fit_raw = its.its(raw, "t", "y", intervention=t0, season=12)
    fit_gap = its.its(gap, "t", "y", intervention=t0)
    rows = _its_rows(fit_gap, "gap", "its_city_gap") + _its_rows(fit_raw, "raw", "its_city_raw")
    return pd.DataFrame(rows), {"gap": gap, "raw": raw, "t0": t0, "fit_gap": fit_gap}


def its_territory(crime: pd.DataFrame, territory_id: str, *, never: pd.Series | None = None,
                  rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Interrupted time series of one territory: its log(1 + count) minus the mean over
    territories that never joined, with a level and slope change at its first exposed
    month (Newey-West SEs).

    Returns
    -------
    (DataFrame, dict)
        As :func:`its_city` (series ``territory``).

    Notes
    -----
    ``never`` (mean series of never-joined territories) and ``rows`` (the territory's rows)
    may be passed when looping over territories.
    """
    d = rows if rows is not None else crime[crime["territory_id"] == territory_id]
    if d.empty:
        raise DataError(f"territory '{territory_id}' has no crime series", column="territory_id",
                        rule="territory in crime_counts")
    t0 = int(d["cohort_t"].iloc[0])
    if t0 <= 0:
        raise DataError(f"territory '{territory_id}' has no first exposed month inside the "
                        "period", column="joined_on", rule="programme territory")
    never = never if never is not None else _never_mean(crime)
    s = d.set_index("t")["y"]
    gap = pd.DataFrame({"t": s.index, "y": s.to_numpy() - never.reindex(s.index).to_numpy()})
    fit = its.its(gap, "t", "y", intervention=t0)
    return pd.DataFrame(_its_rows(fit, "territory", "its_territory")), {"gap": gap, "t0": t0,
                                                                        "fit_gap": fit}


def its_plot(series: dict, crime: pd.DataFrame, *, lang: str = "es", what: str | None = None):
    """The comparative monthly series with the fitted segmented line: ``(fig, alt_text)``."""
    import matplotlib.pyplot as plt

    lang = check_language(lang)
    gap, fit, t0 = series["gap"], series["fit_gap"].set_index("term")["estimate"], series["t0"]
    tt = gap["t"].to_numpy(dtype=float)
    pos = np.arange(len(tt))
    k0 = int(np.searchsorted(tt, t0))
    post = (pos >= k0).astype(float)
    yhat = (fit["intercept"] + fit["pre_slope"] * pos + fit["level_change"] * post
            + fit["slope_change"] * post * (pos - k0))
    months = [pd.Timestamp(_month_label(crime, t) + "-01") for t in tt]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.plot(months, gap["y"], color="0.55", lw=1, label=tr(MESSAGES, "its_obs", lang))
    ax.plot(months[:k0], yhat[:k0], color="#1f5a96", lw=2, label=tr(MESSAGES, "its_fit", lang))
    ax.plot(months[k0:], yhat[k0:], color="#1f5a96", lw=2)
    ax.axvline(months[k0], color="#9a3324", ls="--", lw=1)
    ax.set_ylabel(tr(MESSAGES, "its_ylabel", lang))
    what = what or tr(MESSAGES, "its_city_gap", lang).lower()
    ax.set_title(what[:1].upper() + what[1:])
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    lc = series["fit_gap"].set_index("term").loc["level_change"]
    alt = tr(MESSAGES, "its_alt", lang, what=what, start=months[0].strftime("%Y-%m"),
             end=months[-1].strftime("%Y-%m"), t0=months[k0].strftime("%Y-%m"),
             level=f"{lc['estimate']:.3f}", lo=f"{lc['ci_low']:.3f}", hi=f"{lc['ci_high']:.3f}")
    return fig, alt


# ----------------------------------------------------------------------------------------
# wellbeing panel
# ----------------------------------------------------------------------------------------
#: Outcomes shown in each territory's slice.
SLICE_OUTCOMES = ("life_satisfaction", "unsafe", "peace")


def _wb_labels(df: pd.DataFrame) -> pd.DataFrame:
    df["label_es"] = [tr(MESSAGES, v, "es") for v in df["dv"]]
    df["label_en"] = [tr(MESSAGES, v, "en") for v in df["dv"]]
    return df


def wellbeing_change(w: pd.DataFrame, *, min_cell: int = 5, by: str | None = None,
                     outcomes=WB_OUTCOMES) -> pd.DataFrame:
    """Paired change post - pre of each wellbeing outcome (same respondents).

    Returns
    -------
    DataFrame
        ``dv``, (``by``), ``label_es``, ``label_en``, ``n`` (complete pairs), ``mean_pre``,
        ``mean_post``, ``estimate`` (post - pre; for ``unsafe`` a change of share, e.g.
        -0.08 = 8 points down), ``ci_low``, ``ci_high`` (paired t), ``p_val``, ``dz`` (Cohen's
        d_z) with ``dz_ci_low``/``dz_ci_high``, ``wilcoxon_p``; suppressed below ``min_cell``
        pairs (``suppressed``). No rows (same columns) when the panel is empty.
    """
    if w.empty:
        return _empty(["dv", *([by] if by else []), "label_es", "label_en", "n", "mean_pre",
                       "mean_post", "estimate", "ci_low", "ci_high", "p_val", "dz",
                       "dz_ci_low", "dz_ci_high", "wilcoxon_p", "suppressed"])
    dvs = [v for v in outcomes if v in w.columns and w[v].notna().any()]
    r = panel.paired_change(w, "respondent_code", "wave", dvs, pre="pre", post="post", by=by)
    r = r.rename(columns={"diff": "estimate", "diff_ci_low": "ci_low",
                          "diff_ci_high": "ci_high"})
    r = _wb_labels(r)
    vals = [c for c in r.columns if c not in ("dv", "label_es", "label_en", "n", by)]
    return suppress(r, "n", min_count=min_cell, value_cols=vals, secondary=False)


def _empty(columns) -> pd.DataFrame:
    """A frame with no rows and these columns: text columns object, the others float (a
    section without data keeps its shape, so a notebook can still select its columns).

    >>> _empty(["dv", "label_es", "n", "suppressed"]).dtypes.astype(str).tolist()
    ['object', 'object', 'float64', 'bool']
    """
    text = {"dv", "label_es", "label_en", "source", "outcome", "territory", "cohort"}
    return pd.DataFrame({c: pd.Series(dtype=object if c in text else
                                      bool if c == "suppressed" else "float64")
                         for c in columns})


def wellbeing_anova(w: pd.DataFrame) -> pd.DataFrame:
    """Mixed ANOVA of life satisfaction and % unsafe: wave (within) x joining wave (between),
    with partial eta squared and its interval.

    Returns
    -------
    DataFrame
        ``dv``, ``label_es``, ``label_en`` and the columns of
        :func:`territoria.analysis.panel.mixed_anova` (``source`` = ``cohort``, ``wave``,
        ``Interaction``). No rows (same columns) when fewer than two cohorts answered.
    """
    if w.empty or w["cohort"].nunique() < 2:
        return _empty(["dv", "label_es", "label_en", "source", "F", "p_val", "np2",
                       "np2_ci_low", "np2_ci_high"])
    out = []
    both = w.groupby("respondent_code")["wave"].transform("nunique") == 2
    d = w[both]
    for v in ("life_satisfaction", "unsafe"):
        a = panel.mixed_anova(d.dropna(subset=[v]), v, "wave", "respondent_code", "cohort")
        a.insert(0, "dv", v)
        out.append(a)
    return _wb_labels(pd.concat(out, ignore_index=True))


def life_stats(w: pd.DataFrame) -> tuple[float, float, float]:
    """City mean and SD of life satisfaction at the pre wave, and the correlation between a
    person's two answers (used by :func:`power_table`)."""
    # Sums over values in value order, not in row or pseudonym order (pseudonyms change with
    # the workspace's secret, and the last bit of a sum with the order of its terms).
    pre = w.loc[w["wave"] == "pre", "life_satisfaction"].sort_values()
    wide = w.pivot_table(index="respondent_code", columns="wave",
                         values="life_satisfaction").dropna()
    wide = wide.sort_values(["pre", "post"], kind="stable") if len(wide) > 2 else wide
    rho = float(np.corrcoef(wide["pre"], wide["post"])[0, 1]) if len(wide) > 2 else 0.5
    return float(pre.mean()), float(pre.std(ddof=1)), rho


def power_table(w: pd.DataFrame, territory_id: str | None = None, *,
                change_unsafe: float = POWER_CHANGE_UNSAFE,
                change_life: float = POWER_CHANGE_LIFE,
                life: tuple[float, float, float] | None = None) -> pd.DataFrame:
    """Respondents per territory the next survey round needs (80 % power, 5 % level).

    Parameters
    ----------
    w : DataFrame
        Output of :func:`wellbeing_data` (city-wide: the SD and correlation of life
        satisfaction are pooled over the city, the share unsafe is the territory's).
    territory_id : str, optional
        Use this territory's baseline share unsafe (default: the city's).
    change_unsafe, change_life : float
        Changes to detect.
    life : tuple, optional
        Output of :func:`life_stats` (computed when not given).

    Returns
    -------
    DataFrame
        Two rows (``outcome`` ``unsafe``, ``life_satisfaction``): ``label_es``, ``label_en``,
        ``baseline``, ``change``, ``sd``, ``correlation``, ``effect_size``, ``n_per_round``.

    Notes
    -----
    % unsafe: two independent rounds, arcsine effect size (conservative for a panel);
    life satisfaction: the same people re-interviewed, paired t with the observed
    correlation between waves (:func:`territoria.analysis.power.sample_size`). No rows
    (same columns) when the panel is empty.
    """
    if w.empty:
        return _empty(["outcome", "label_es", "label_en", "baseline", "change", "sd",
                       "correlation", "effect_size", "n_per_round"])
    pre = w[w["wave"] == "pre"]
    base_rows = pre if territory_id is None else pre[pre["territory"] == territory_id]
    base = float(base_rows["unsafe"].mean()) if len(base_rows) else float(pre["unsafe"].mean())
    life_mean, sd, rho = life if life is not None else life_stats(w)
    rows = []
    target = base + change_unsafe
    if 0 < base < 1 and 0 < target < 1:
        pu = power.sample_size("proportion", baseline=base, change=change_unsafe).iloc[0]
        n_u, es_u = int(pu["n_per_round"]), float(pu["effect_size"])
    else:
        n_u, es_u = None, float("nan")
    pp = round(abs(change_unsafe) * 100)
    rows.append({"outcome": "unsafe", "label_es": tr(MESSAGES, "power_unsafe", "es", pp=pp),
                 "label_en": tr(MESSAGES, "power_unsafe", "en", pp=pp), "baseline": base,
                 "change": change_unsafe, "sd": float("nan"), "correlation": float("nan"),
                 "effect_size": es_u, "n_per_round": n_u})
    pl = power.sample_size("mean", change=change_life, sd=sd, paired=True,
                           correlation=min(max(rho, -0.99), 0.99)).iloc[0]
    rows.append({"outcome": "life_satisfaction",
                 "label_es": tr(MESSAGES, "power_life", "es", d=change_life),
                 "label_en": tr(MESSAGES, "power_life", "en", d=change_life),
                 "baseline": life_mean, "change": change_life,
                 "sd": sd, "correlation": rho, "effect_size": float(pl["effect_size"]),
                 "n_per_round": int(pl["n_per_round"])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------
def _ind(res: StepResult, name, row, unit=None, n=None):
    if row is None:
        return
    sup = bool(row.get("suppressed", False)) if hasattr(row, "get") else False
    res.indicator(name, None if sup else row["estimate"],
                  ci_low=None if sup else row["ci_low"], ci_high=None if sup else row["ci_high"],
                  n=n if n is not None else row.get("n"), suppressed=sup, unit=unit)


def _wb_indicators(res: StepResult, change: pd.DataFrame) -> None:
    if change is None or change.empty:
        return
    c = change.set_index("dv")
    units = {"life_satisfaction": "points", "unsafe": "share", "peace": "points",
             "trust_neighbours": "points"}
    for v in ("life_satisfaction", "unsafe", "peace"):
        if v in c.index:
            _ind(res, f"wb_{v}_change", c.loc[v], unit=units[v], n=int(c.loc[v, "n"])
                 if pd.notna(c.loc[v, "n"]) else None)


def _power_indicators(res: StepResult, pw: pd.DataFrame) -> None:
    if pw is None or pw.empty:
        return
    for r in pw.itertuples():
        if r.n_per_round is not None and pd.notna(r.n_per_round):
            res.indicator(f"power_n_{r.outcome}", int(r.n_per_round), unit="people")


def _publish_wb(change: pd.DataFrame) -> pd.DataFrame:
    cols = ["dv", "label_es", "label_en", "n", "mean_pre", "mean_post", "estimate", "ci_low",
            "ci_high", "dz", "dz_ci_low", "dz_ci_high", "suppressed"]
    return change[[c for c in cols if c in change.columns]].reset_index(drop=True)


def _publish_power(pw: pd.DataFrame) -> pd.DataFrame:
    return pw[["outcome", "label_es", "label_en", "baseline", "change", "n_per_round"]]


def _event_window(ev: pd.DataFrame) -> pd.DataFrame:
    e = ev[~ev["overall"].astype(bool)].copy()
    e["e"] = e["e"].astype(int)
    e = e[(e["e"] >= EVENT_WINDOW[0]) & (e["e"] <= EVENT_WINDOW[1])]
    return e[["e", "estimate", "se", "ci_low", "ci_high", "group_es", "group_en"]]\
        .reset_index(drop=True)


def city_result(ctx, crime: pd.DataFrame, did: dict, its_tab: pd.DataFrame,
                w: pd.DataFrame, change: pd.DataFrame, anova: pd.DataFrame,
                pw: pd.DataFrame) -> StepResult:
    """Assemble the city StepResult from the section results."""
    res = StepResult(STEP, None)
    est = did["estimates"].set_index("key")
    n_units = int(crime["territory_id"].nunique())
    names = {"cs_never": "crime_att_cs_never", "cs_notyet": "crime_att_cs_notyet",
             "twfe": "crime_att_twfe", "cs_never_other_coding": "crime_att_cs_other_coding",
             "cs_never_rate": "crime_att_cs_rate", "placebo": "crime_placebo_att"}
    for key, name in names.items():
        if key in est.index:
            unit = "per_1000" if key == "cs_never_rate" else "log"
            _ind(res, name, est.loc[key], unit=unit, n=n_units)
    its_i = its_tab.set_index(["series", "term"])
    for term in ("level_change", "slope_change"):
        if ("gap", term) in its_i.index:
            _ind(res, f"crime_its_{term}", its_i.loc[("gap", term)], unit="log",
                 n=int(its_i.loc[("gap", term), "n"]))
    _wb_indicators(res, change)
    _power_indicators(res, pw)
    res.table("estimates", est.reset_index()[["key", "label_es", "label_en", "control", "coding",
                                              "outcome", "estimate", "se", "ci_low", "ci_high",
                                              "pct_change", "n_units"]])
    res.table("by_cohort", did["by_cohort"][["cohort_month", "label_es", "label_en",
                                             "n_territories", "estimate", "se", "ci_low",
                                             "ci_high", "overall"]])
    res.table("event_study", _event_window(did["event_study"]))
    res.table("its", its_tab[["series", "term", "label_es", "label_en", "estimate", "se",
                              "ci_low", "ci_high", "n"]])
    if change is not None and not change.empty:
        res.table("wellbeing", _publish_wb(change))
    if anova is not None and not anova.empty:
        res.table("wellbeing_anova", anova[["dv", "label_es", "label_en", "source", "df1", "df2",
                                            "F", "p_val", "np2", "np2_ci_low", "np2_ci_high"]])
    if pw is not None and not pw.empty:
        res.table("power", _publish_power(pw))
    res.table("cohorts", cohort_table(ctx))
    return res


def territory_result(ctx, territory_id: str, crime: pd.DataFrame, w: pd.DataFrame, *,
                     never: pd.Series | None = None, rows: pd.DataFrame | None = None,
                     change: pd.DataFrame | None = None,
                     life: tuple[float, float, float] | None = None) -> StepResult:
    """One territory's slice: its own ITS, its panel change and its survey size.

    ``never``, ``rows``, ``change`` (this territory's rows of :func:`wellbeing_change`) and
    ``life`` (:func:`life_stats`) may be passed when looping over territories.
    """
    res = StepResult(STEP, territory_id)
    try:
        its_tab, _ = its_territory(crime, territory_id, never=never, rows=rows)
    except DataError:
        its_tab = pd.DataFrame()
    if not its_tab.empty:
        its_i = its_tab.set_index("term")
        for term in ("level_change", "slope_change"):
            _ind(res, f"crime_its_{term}", its_i.loc[term], unit="log",
                 n=int(its_i.loc[term, "n"]))
        res.table("its", its_tab[["series", "term", "label_es", "label_en", "estimate", "se",
                                  "ci_low", "ci_high", "n"]])
    if change is None and not w.empty:
        wt = w[w["territory"] == territory_id]
        change = wellbeing_change(wt, min_cell=ctx.min_cell, outcomes=SLICE_OUTCOMES) \
            if not wt.empty else None
    if change is not None and not change.empty:
        _wb_indicators(res, change)
        res.table("wellbeing", _publish_wb(change))
        pw = power_table(w, territory_id, life=life)
        _power_indicators(res, pw)
        res.table("power", _publish_power(pw))
    return res


def compute(ctx, territory_id: str | None = None, *, lang: str = "es", period_start=None,
            period_end=None) -> StepResult:
    """The city result (``territory_id=None``) or one programme territory's slice.

    Examples
    --------
    See ``tests/steps/test_s06_impact.py`` (needs a workspace with crime counts).
    """
    check_language(lang)
    crime = crime_panel(ctx, period_start=period_start, period_end=period_end)
    if territory_id is not None:
        ctx.require_territory(territory_id)
        return territory_result(ctx, territory_id, crime, wellbeing_data(ctx, territory_id))
    did = did_estimates(ctx, crime, period_start=period_start, period_end=period_end)
    its_tab, _ = its_city(crime)
    w = wellbeing_data(ctx)
    change = wellbeing_change(w, min_cell=ctx.min_cell)
    return city_result(ctx, crime, did, its_tab, w, change, wellbeing_anova(w), power_table(w))


def programme_territories(crime: pd.DataFrame) -> list[str]:
    """Programme territories with a first exposed month inside the period."""
    d = crime[crime["programme"] & (crime["cohort_t"] > 0)]
    return sorted(d["territory_id"].unique().tolist())


def compute_all(ctx, *, lang: str = "es", period_start=None, period_end=None,
                crime: pd.DataFrame | None = None, did: dict | None = None,
                its_tab: pd.DataFrame | None = None, w: pd.DataFrame | None = None
                ) -> list[StepResult]:
    """The city result followed by every programme territory's slice (work shared).

    Section results already computed in the notebook can be passed in.
    """
    check_language(lang)
    crime = crime if crime is not None else crime_panel(ctx, period_start=period_start,
                                                         period_end=period_end)
    did = did or did_estimates(ctx, crime, period_start=period_start, period_end=period_end)
    its_tab = its_tab if its_tab is not None else its_city(crime)[0]
    w = w if w is not None else wellbeing_data(ctx)
    change = wellbeing_change(w, min_cell=ctx.min_cell)
    life = life_stats(w) if not w.empty else None
    out = [city_result(ctx, crime, did, its_tab, w, change, wellbeing_anova(w),
                       power_table(w, life=life))]
    never = _never_mean(crime)
    groups = dict(tuple(crime.groupby("territory_id", sort=False)))
    by_terr = {}
    if not w.empty:
        ch = wellbeing_change(w, min_cell=ctx.min_cell, by="territory", outcomes=SLICE_OUTCOMES)
        by_terr = dict(tuple(ch.groupby("territory", sort=False)))
    for tid in programme_territories(crime):
        out.append(territory_result(ctx, tid, crime, w, never=never, rows=groups.get(tid),
                                    change=by_terr.get(tid, pd.DataFrame()), life=life))
    return out
