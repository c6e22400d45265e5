"""Process evaluation: was the participation inclusive, deliberative and influential?

Indicators follow the three stages of the OECD *Evaluation Guidelines for Representative
Deliberative Processes* (2021, doi:10.1787/10ccbfcb-en), adapted to open block assemblies:

* ``design`` (process design integrity): purpose, inclusion, access, time, transparency;
* ``delib`` (deliberative experience): facilitation, information, voice, respect,
  comprehension, learning, freedom, ownership;
* ``impact`` (pathways to impact): influence, public response, follow-up, willingness to
  take part again.

They come from the participant questionnaire (``territoria_process``): Likert items 1-5 named
``pe_<stage>_<item>``, and items ``pe_rep_*`` asked at ``moment`` start and end to the same
``participant_code``. Each scale is checked for reliability (Cronbach's alpha with its
interval, corrected item-total correlations) before items are averaged. Activity data
(e.g. agenda items with a signed agreement) add shares with Wilson intervals.

Examples
--------
>>> iap2_classification().set_index("mechanism").loc["agenda_validation", "level"]
'empower'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from territoria.analysis.panel import paired_change
from territoria.exceptions import AnalysisError, DataError

__all__ = [
    "STAGES",
    "IAP2_LEVELS",
    "iap2_classification",
    "likert_items",
    "cronbach",
    "item_total",
    "scale_scores",
    "process_indicators",
    "repeated_change",
    "process_scorecard",
    "city_comparison",
    "wilson_ci",
]

STAGES = ("design", "delib", "impact")
IAP2_LEVELS = ("inform", "consult", "involve", "collaborate", "empower")

#: Mechanism -> IAP2 level (the labels of stages, levels and mechanisms, and the rationale of
#: each placement, are the steps': ``territoria.vocabulary`` and ``steps.s05_process``).
_IAP2 = {
    "block_assembly": "involve",
    "territorial_assembly": "collaborate",
    "working_table": "collaborate",
    "security_cabinet": "consult",
    "planning_collective": "collaborate",
    "agenda_validation": "empower",
}


def iap2_classification() -> pd.DataFrame:
    """Each participation mechanism on the IAP2 spectrum.

    Returns
    -------
    DataFrame
        ``mechanism``, ``level`` (inform .. empower), ``level_rank`` (1-5).

    Notes
    -----
    IAP2 Spectrum of Public Participation (International Association for Public
    Participation, 2018): the level is set by the promise made to the public, not by the
    format of the meeting.

    Examples
    --------
    >>> iap2_classification()["level"].tolist()[:2]
    ['involve', 'collaborate']
    """
    return pd.DataFrame([{"mechanism": mech, "level": level,
                          "level_rank": IAP2_LEVELS.index(level) + 1}
                         for mech, level in _IAP2.items()])


# ----------------------------------------------------------------------------------------
# scales
# ----------------------------------------------------------------------------------------
def likert_items(data: pd.DataFrame, stage: str) -> list[str]:
    """Columns ``pe_<stage>_<item>`` (``stage`` may be ``rep`` for repeated items).

    >>> likert_items(pd.DataFrame(columns=["pe_design_time", "pe_delib_voice", "x"]), "design")
    ['pe_design_time']
    """
    pat = re.compile(rf"^pe_{re.escape(stage)}_[A-Za-z0-9_]+$")
    return [c for c in data.columns if pat.match(str(c))]


def _numeric_items(data: pd.DataFrame, items: Sequence[str], lo=1, hi=5) -> pd.DataFrame:
    if not items:
        raise AnalysisError("no items given")
    out = {}
    for c in items:
        if c not in data.columns:
            raise AnalysisError(f"column '{c}' not in the data")
        v = pd.to_numeric(data[c], errors="coerce")
        if (v.isna() & data[c].notna() & (data[c].astype(str).str.strip() != "")).any():
            raise DataError("Likert answers must be numbers", column=c, rule=f"{lo}-{hi}")
        if ((v < lo) | (v > hi)).any():
            raise DataError(f"answer outside {lo}-{hi}", column=c, rule=f"Likert {lo}-{hi}")
        out[c] = v.astype(float)
    return pd.DataFrame(out, index=data.index)


def cronbach(data: pd.DataFrame, items: Sequence[str] | None = None, ci: float = 0.95
             ) -> pd.DataFrame:
    """Cronbach's alpha of a scale with its Feldt confidence interval (pingouin).

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : list of str, optional
        Item columns (default: all columns).
    ci : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row: ``k`` (items), ``n`` (complete respondents, listwise), ``alpha``,
        ``ci_low``, ``ci_high``.

    Notes
    -----
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum s_i^2}{s_X^2}\\right)`; interval of
    Feldt (1965): :math:`1 - (1-\\hat\\alpha) F_{1-c/2}` and :math:`1 - (1-\\hat\\alpha)
    F_{c/2}`, with :math:`F` on :math:`n-1` and :math:`(n-1)(k-1)` df.

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3],
    ...                   "c": [1, 3, 3, 4, 5, 2]})
    >>> round(float(cronbach(d)["alpha"].iloc[0]), 3)
    0.932
    """
    import pingouin as pg

    items = list(items) if items is not None else list(data.columns)
    if len(items) < 2:
        raise AnalysisError("Cronbach's alpha needs at least two items")
    X = _numeric_items(data, items).dropna()
    n = len(X)
    if n < 3:
        return pd.DataFrame([{"k": len(items), "n": n, "alpha": np.nan, "ci_low": np.nan,
                              "ci_high": np.nan}])
    a, interval = pg.cronbach_alpha(data=X, ci=ci, nan_policy="listwise")
    # pingouin rounds the interval to 3 decimals: recompute Feldt's interval exactly.
    k = len(items)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lo = 1 - (1 - a) * stats.f.ppf(1 - (1 - ci) / 2, df1, df2)
    hi = 1 - (1 - a) * stats.f.ppf((1 - ci) / 2, df1, df2)
    return pd.DataFrame([{"k": k, "n": n, "alpha": float(a), "ci_low": float(lo),
                          "ci_high": float(hi)}])


def item_total(data: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    """Item analysis: corrected item-total correlation and alpha if the item is dropped.

    Returns
    -------
    DataFrame
        ``item``, ``n``, ``mean``, ``sd``, ``r_item_rest`` (correlation of the item with the
        sum of the other items), ``alpha_if_deleted``. Respondents with any item missing are
        dropped (listwise).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3],
    ...                   "c": [5, 1, 2, 1, 3, 4]})
    >>> item_total(d, ["a", "b", "c"])["r_item_rest"].round(2).tolist()
    [0.26, 0.33, -0.38]
    """
    X = _numeric_items(data, items).dropna()
    rows = []
    for c in items:
        rest = X.drop(columns=c).sum(axis=1)
        r = float(np.corrcoef(X[c], rest)[0, 1]) if X[c].std() > 0 and rest.std() > 0 \
            else np.nan
        others = [i for i in items if i != c]
        aid = _alpha(X[others]) if len(others) >= 2 else np.nan
        rows.append({"item": c, "n": len(X), "mean": float(X[c].mean()),
                     "sd": float(X[c].std(ddof=1)), "r_item_rest": r, "alpha_if_deleted": aid})
    return pd.DataFrame(rows)


def _alpha(X: pd.DataFrame) -> float:
    k = X.shape[1]
    tot = X.sum(axis=1).var(ddof=1)
    if tot == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - X.var(ddof=1).sum() / tot))


def scale_scores(data: pd.DataFrame, items: Sequence[str], min_share: float = 0.5
                 ) -> pd.Series:
    """Each respondent's mean over the answered items (missing if fewer than ``min_share``).

    >>> scale_scores(pd.DataFrame({"a": [1, 4], "b": [3, None]}), ["a", "b"]).tolist()
    [2.0, 4.0]
    """
    X = _numeric_items(data, items)
    answered = X.notna().sum(axis=1)
    score = X.mean(axis=1)
    return score.where(answered >= math.ceil(min_share * len(items)))


def wilson_ci(successes: float, trials: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion.

    >>> [round(x, 4) for x in wilson_ci(8, 10)]
    [0.4902, 0.9433]
    """
    if trials <= 0:
        return (float("nan"), float("nan"))
    z = stats.norm.ppf(1 - alpha / 2)
    p = successes / trials
    den = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / den
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / den
    return (float(centre - half), float(centre + half))


def _mean_ci(x: np.ndarray, alpha: float) -> tuple[float, float, float]:
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    m = float(x.mean())
    if n < 2:
        return (m, np.nan, np.nan)
    h = stats.t.ppf(1 - alpha / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return (m, m - h, m + h)


# ----------------------------------------------------------------------------------------
# indicators
# ----------------------------------------------------------------------------------------
def _end_rows(q: pd.DataFrame, moment: str | None) -> pd.DataFrame:
    if moment and "moment" in q.columns:
        return q[q["moment"].astype(str) == moment]
    return q


def process_indicators(questionnaire: pd.DataFrame, by: str | None = "territory",
                       moment: str | None = "end", alpha: float = 0.05) -> pd.DataFrame:
    """Stage scores from the participant questionnaire, per territory (or city-wide).

    Parameters
    ----------
    questionnaire : DataFrame
        ``territoria_process`` answers (Likert 1-5 items ``pe_<stage>_<item>``).
    by : str or None
        Grouping column (``territory``); None for one city-wide row per indicator.
    moment : str or None
        Use only rows with this ``moment`` (the stage items are asked at the end).
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        (``by``), ``stage``, ``indicator`` (``<stage>_mean`` or ``<stage>_agree``), ``value``, ``ci_low``, ``ci_high``, ``n``, ``scale`` (``likert`` 1-5 or
        ``share`` 0-1), ``norm`` (value on 0-1: (mean - 1) / 4 or the share),
        ``alpha_cronbach``, ``alpha_ci_low``, ``alpha_ci_high``, ``k_items``.

    Notes
    -----
    Scale score = respondent's mean over answered items (at least half). ``agree`` = share of
    respondents with score >= 4 (Wilson interval); ``mean``: t interval. Cronbach's alpha is
    computed on the same rows (listwise); read scores with alpha below 0.7 with caution.

    Examples
    --------
    >>> q = pd.DataFrame({"territory": ["A"] * 4, "moment": ["end"] * 4,
    ...                   "pe_design_purpose": [4, 5, 3, 4], "pe_design_time": [4, 4, 3, 5]})
    >>> r = process_indicators(q)
    >>> r[["indicator", "value", "n"]].values.tolist()
    [['design_mean', 4.0, 4], ['design_agree', 0.75, 4]]
    """
    if by and by not in questionnaire.columns:
        raise AnalysisError(f"column '{by}' not in the questionnaire")
    q = _end_rows(questionnaire, moment)
    if by:
        codes, keys = pd.factorize(q[by], sort=True)
        present = np.unique(codes[codes >= 0])
        codes = np.where(codes >= 0, codes, len(keys))  # rows without a territory: dropped
    else:
        codes, keys, present = np.zeros(len(q), dtype=int), [None], np.array([0])
    n_g = len(keys) + 1
    per_stage = {}
    for stage in STAGES:
        items = likert_items(q, stage)
        if not items:
            continue
        X = _numeric_items(q, items).to_numpy(dtype=float)
        per_stage[stage] = (items, _stage_stats(X, codes, n_g, alpha))
    rows = []
    for gi in present:
        key = keys[gi]
        for stage, (items, st) in per_stage.items():
            n = int(st["n"][gi])
            m, lo, hi = st["mean"][gi], st["lo"][gi], st["hi"][gi]
            base = {**({by: key} if by else {}), "stage": stage,
                    "alpha_cronbach": st["alpha"][gi], "alpha_ci_low": st["a_lo"][gi],
                    "alpha_ci_high": st["a_hi"][gi], "k_items": len(items)}
            if len(items) < 2:
                base.update(alpha_cronbach=np.nan, alpha_ci_low=np.nan, alpha_ci_high=np.nan)
            rows.append({**base, "indicator": f"{stage}_mean",
                         "value": m, "ci_low": lo, "ci_high": hi, "n": n,
                         "scale": "likert", "norm": (m - 1) / 4 if n else np.nan,
                         "norm_ci_low": (lo - 1) / 4, "norm_ci_high": (hi - 1) / 4})
            k = int(st["agree"][gi])
            p = k / n if n else np.nan
            plo, phi = wilson_ci(k, n, alpha)
            rows.append({**base, "indicator": f"{stage}_agree",
                         "value": p, "ci_low": plo, "ci_high": phi, "n": n,
                         "scale": "share", "norm": p, "norm_ci_low": plo, "norm_ci_high": phi})
    cols = ([by] if by else []) + ["stage", "indicator", "value", "ci_low", "ci_high", "n",
                                   "scale", "norm", "norm_ci_low", "norm_ci_high",
                                   "alpha_cronbach", "alpha_ci_low", "alpha_ci_high", "k_items"]
    return pd.DataFrame(rows, columns=cols)


def _stage_stats(X: np.ndarray, codes: np.ndarray, n_g: int, alpha: float,
                 ci: float = 0.95) -> dict:
    """Per-group scale statistics of one stage in one pass (sums by group with bincount).

    Same numbers as :func:`scale_scores`, :func:`_mean_ci` and :func:`cronbach` applied to
    each group (score: mean of answered items when at least half are answered; alpha on the
    complete rows with Feldt's interval); checked against them in the tests.
    """
    k = X.shape[1]
    answered = (~np.isnan(X)).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_mean = np.nansum(X, axis=1) / answered
    score = np.where(answered >= math.ceil(0.5 * k), row_mean, np.nan)
    has = ~np.isnan(score)
    sc = np.where(has, score, 0.0)

    def by(w):
        return np.bincount(codes, weights=w, minlength=n_g)

    n = by(has.astype(float))
    s1, s2 = by(sc), by(sc * sc)
    agree = by((has & (score >= 4)).astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
        var = np.where(n > 1, (s2 - s1 * s1 / n) / (n - 1), np.nan)
        half = stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1)) * np.sqrt(
            np.maximum(var, 0)) / np.sqrt(n)
    lo, hi = np.where(n > 1, mean - half, np.nan), np.where(n > 1, mean + half, np.nan)
    # Cronbach's alpha on complete rows (listwise), per group
    comp = (answered == k).astype(float)
    Xc = np.where(comp[:, None] > 0, X, 0.0)
    nc = by(comp)
    tot = Xc.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        item_var = sum((by(Xc[:, j] ** 2) - by(Xc[:, j]) ** 2 / nc) / (nc - 1)
                       for j in range(k))
        tot_var = (by(tot ** 2) - by(tot) ** 2 / nc) / (nc - 1)
        a = np.where((nc >= 3) & (tot_var > 0) & (k >= 2),
                     k / max(k - 1, 1) * (1 - item_var / tot_var), np.nan)
        df1, df2 = np.maximum(nc - 1, 1), np.maximum((nc - 1) * (k - 1), 1)
        a_lo = 1 - (1 - a) * stats.f.ppf(1 - (1 - ci) / 2, df1, df2)
        a_hi = 1 - (1 - a) * stats.f.ppf((1 - ci) / 2, df1, df2)
    return {"n": n, "mean": mean, "lo": lo, "hi": hi, "agree": agree, "alpha": a,
            "a_lo": a_lo, "a_hi": a_hi}


def repeated_change(questionnaire: pd.DataFrame, by: str | None = None,
                    subject: str = "participant_code", alpha: float = 0.05) -> pd.DataFrame:
    """Start-versus-end change of the repeated items ``pe_rep_*`` (same participants).

    Returns
    -------
    DataFrame
        As :func:`territoria.analysis.panel.paired_change` (``dv`` = item): paired t test,
        mean change with CI, Cohen's d_z with CI, Wilcoxon p-value.

    Examples
    --------
    >>> q = pd.DataFrame({"participant_code": [1, 2, 3, 1, 2, 3],
    ...                   "moment": ["start"] * 3 + ["end"] * 3,
    ...                   "pe_rep_efficacy": [2, 3, 3, 4, 4, 5]})
    >>> float(repeated_change(q)["diff"].iloc[0])
    1.6666666666666667
    """
    items = likert_items(questionnaire, "rep")
    if not items:
        raise AnalysisError("no repeated items (columns pe_rep_*) in the questionnaire")
    _numeric_items(questionnaire, items)
    q = questionnaire.copy()
    for c in items:
        q[c] = pd.to_numeric(q[c], errors="coerce")
    return paired_change(q, subject=subject, within="moment", dv=items, pre="start",
                         post="end", alpha=alpha, by=by)


def process_scorecard(questionnaire: pd.DataFrame, activity: pd.DataFrame | None = None,
                      by: str = "territory", alpha: float = 0.05, min_n: int = 5,
                      moment: str | None = "end") -> pd.DataFrame:
    """Scorecard per territory: questionnaire stage scores plus activity shares.

    Parameters
    ----------
    questionnaire : DataFrame
        Participant questionnaire (see :func:`process_indicators`).
    activity : DataFrame, optional
        Columns ``by``, ``stage``, ``indicator``, ``successes``, ``trials`` (e.g.
        ``impact``, ``agenda_items_agreed``, 7, 10 for agenda items with a signed agreement);
        each becomes a share with a Wilson interval.
    by : str
        Territory column.
    alpha : float
        1 - confidence level.
    min_n : int
        Rows with fewer respondents are flagged ``small_n`` (read with care; suppress before
        publishing).
    moment : str or None
        As in :func:`process_indicators`.

    Returns
    -------
    DataFrame
        Columns of :func:`process_indicators` plus ``small_n``; activity rows have
        ``scale = "share"``.

    Examples
    --------
    >>> q = pd.DataFrame({"territory": ["A"] * 3, "pe_impact_influence": [4, 5, 2],
    ...                   "pe_impact_again": [5, 5, 3]})
    >>> act = pd.DataFrame({"territory": ["A"], "stage": ["impact"],
    ...                     "indicator": ["agenda_items_agreed"], "successes": [7],
    ...                     "trials": [10]})
    >>> process_scorecard(q, act, moment=None)["indicator"].tolist()
    ['impact_mean', 'impact_agree', 'agenda_items_agreed']
    """
    card = process_indicators(questionnaire, by=by, moment=moment, alpha=alpha)
    if activity is not None and len(activity):
        need = [by, "stage", "indicator", "successes", "trials"]
        for c in need:
            if c not in activity.columns:
                raise AnalysisError(f"activity needs column '{c}' (columns: "
                                    f"{', '.join(map(str, activity.columns))})")
        rows = []
        for r in activity.itertuples(index=False):
            r = r._asdict()
            s, t = float(r["successes"]), float(r["trials"])
            if t < 0 or s < 0 or s > t:
                raise DataError(f"successes {s:g} and trials {t:g} are not a valid count",
                                column="successes", rule="0 <= successes <= trials")
            if r["stage"] not in STAGES:
                raise DataError(f"stage '{r['stage']}' is not one of {', '.join(STAGES)}",
                                column="stage", rule="OECD stage")
            p = s / t if t else np.nan
            lo, hi = wilson_ci(s, t, alpha)
            rows.append({by: r[by], "stage": r["stage"], "indicator": r["indicator"], "value": p,
                         "ci_low": lo, "ci_high": hi, "n": int(t), "scale": "share",
                         "norm": p, "norm_ci_low": lo, "norm_ci_high": hi})
        card = pd.concat([card, pd.DataFrame(rows)], ignore_index=True)
    card["small_n"] = card["n"] < min_n
    return card


def city_comparison(scorecard: pd.DataFrame, by: str = "territory") -> pd.DataFrame:
    """Compare territories: where is the process weakest across the city?

    Parameters
    ----------
    scorecard : DataFrame
        Output of :func:`process_scorecard` for many territories.
    by : str
        Territory column.

    Returns
    -------
    DataFrame
        One row per indicator, sorted from weakest to strongest on the 0-1 ``norm`` scale:
        ``stage``, ``indicator``, ``n_territories``, ``mean_norm`` (mean over
        territories), ``ci_low``, ``ci_high`` (t interval over territories), ``min_norm``,
        ``weakest_territory``, ``n_weak`` (territories whose upper CI bound is below the city
        mean), ``stage_mean_norm`` (mean over the stage's indicators), ``weakest_stage``
        (True on the rows of the stage with the lowest mean).

    Examples
    --------
    >>> card = pd.DataFrame({"territory": ["A", "B", "A", "B"],
    ...     "stage": ["design", "design", "impact", "impact"],
    ...     "indicator": ["design_mean", "design_mean", "impact_mean", "impact_mean"],
    ...     "norm": [0.8, 0.7, 0.4, 0.5],
    ...     "norm_ci_high": [0.9, 0.8, 0.5, 0.6]})
    >>> c = city_comparison(card)
    >>> c[["indicator", "weakest_stage"]].values.tolist()
    [['impact_mean', True], ['design_mean', False]]
    """
    need = [by, "stage", "indicator", "norm"]
    for c in need:
        if c not in scorecard.columns:
            raise AnalysisError(f"scorecard needs column '{c}'")
    d = scorecard.dropna(subset=["norm"])
    if "small_n" in d.columns:
        d = d[~d["small_n"].astype(bool)]
    rows = []
    for (stage, ind), part in d.groupby(["stage", "indicator"], sort=False):
        x = part["norm"].to_numpy(dtype=float)
        m, lo, hi = _mean_ci(x, 0.05)
        weak = part.loc[part["norm"].idxmin()]
        n_weak = int((part.get("norm_ci_high", part["norm"]) < m).sum())
        rows.append({"stage": stage, "indicator": ind, "n_territories": len(part), "mean_norm": m, "ci_low": lo, "ci_high": hi,
                     "min_norm": float(x.min()), "weakest_territory": weak[by],
                     "n_weak": n_weak})
    out = pd.DataFrame(rows)
    if out.empty:
        raise DataError("no territory has enough answers to compare", rule="min_n")
    stage_mean = out.groupby("stage")["mean_norm"].mean()
    out["stage_mean_norm"] = out["stage"].map(stage_mean)
    out["weakest_stage"] = out["stage"] == stage_mean.idxmin()
    return out.sort_values("mean_norm", kind="stable").reset_index(drop=True)
