"""Step 00, territorial selection (city): which territories first, and in which cohort?

The notebook ``notebooks/00_selection.ipynb`` calls these functions one per section:

1. :func:`load_inputs`: one row per territory with its social-development index, its crime
   rate per 1,000 inhabitants *before the programme* and its population;
2. :func:`ranking`: the composite priority index with the weights and normalisation of
   ``city.yml: selection`` (:func:`territoria.analysis.selection.rank_territories`), compared
   with the territories the programme actually chose;
3. :func:`sensitivity`: how many of the top territories change under alternative weights
   (named alternatives, and random weights around the chosen ones);
4. :func:`cohorts`: the cohorts the ranking implies (sizes and dates of the cohorts recorded in
   the store and in ``city.yml``), compared with the recorded ones;
5. :func:`ranking_map`: a choropleth of the priority score;
6. :func:`build_result` / :func:`compute`: the city indicators and result tables.

Examples
--------
>>> from territoria.steps import s00_selection as s00
>>> s00.STEP, s00.SCOPE
('00_selection', 'city')
>>> s00.crime_window(None, None)
(None, None)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import selection as sel
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.steps import StepResult, common
from territoria.steps.registry import step_by_id

STEP = "00_selection"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Random alternative weightings drawn for the sensitivity analysis (Dirichlet, seed 0).
N_DRAWS = 100

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)

_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("ranking", "table", "view_ranking", "view_ranking_caption", columns=(
        ("rank", "col_rank"), ("label_{lang}", "col_name"), ("zone_id", "col_zone"),
        ("score", "col_score"), ("social_index", "col_social_index"),
        ("crime_rate", "col_crime_rate"), ("population", "col_population"),
        ("cohort_computed", "col_cohort_computed"), ("cohort_actual", "col_cohort_actual"))),
    _T.view("sensitivity", "table", "view_sensitivity", "view_sensitivity_caption", columns=(
        ("label_{lang}", "col_alternative"), ("n_changed", "col_n_changed"),
        ("rank_corr", "col_rank_corr"))),
    _T.view("cohorts", "table", "view_cohorts", "view_cohorts_caption", columns=(
        ("cohort_computed", "col_cohort_computed"), ("cohort_actual", "col_cohort_actual"),
        ("territories", "col_territories"))),
), indicators=("selection_top_agreement", "selection_cohort_agreement",
               "selection_sensitivity_changes"))


def _month_start(d) -> str:
    d = pd.Timestamp(d)
    return d.replace(day=1).strftime("%Y-%m-%d")


def programme_start(config, territories: pd.DataFrame | None):
    """When the programme started: ``city.yml`` (``programme.start``, else the earliest
    cohort), else the earliest join date in the store, else None (unknown)."""
    first = config.programme_start() if config is not None and hasattr(
        config, "programme_start") else None
    if first is None and territories is not None and "joined_on" in territories and \
            territories["joined_on"].notna().any():
        first = pd.to_datetime(territories["joined_on"]).min()
    return first


def crime_window(config, territories: pd.DataFrame | None, period_start=None):
    """The pre-programme crime window: ``(start or None, end exclusive or None)`` as ISO dates.

    The window ends at the first day of the month in which the programme started
    (:func:`programme_start`): crime in that month may already respond to the programme. With
    no known start it has no end (all crime). It starts at ``period_start`` if given, else at
    the first month with records.

    Examples
    --------
    >>> crime_window(None, None, "2016-01-01")
    ('2016-01-01', None)
    >>> t = pd.DataFrame({"joined_on": [pd.Timestamp("2018-12-24")]})
    >>> crime_window(None, t, "2016-01-01")
    ('2016-01-01', '2018-12-01')
    """
    first = programme_start(config, territories)
    end = _month_start(first) if first is not None else None
    start = _month_start(period_start) if period_start else None
    if start is not None and end is not None and start >= end:
        raise DataError(f"period_start {start} is not before the programme start {end}",
                        column="period_start", rule="the crime window must end before the "
                        "programme starts")
    return start, end


def _crime_in(ctx, start, end) -> tuple[pd.DataFrame, object, object]:
    """Crimes per territory in ``[start, end)``, and the first and last month with records."""
    conds, params = [], []
    if end:
        conds.append("month < CAST(? AS DATE)")
        params.append(end)
    if start:
        conds.append("month >= CAST(? AS DATE)")
        params.append(start)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    c = ctx.store.query(f"SELECT territory_id, sum(count) AS crimes FROM crime_counts {where} "
                        "GROUP BY 1 ORDER BY 1", params)
    span = ctx.store.query(f"SELECT min(month) AS first, max(month) AS last FROM crime_counts "
                           f"{where}", params)
    return c, span.loc[0, "first"], span.loc[0, "last"]


def load_inputs(ctx, *, period_start=None) -> pd.DataFrame:
    """One row per territory: the three components of the index and the recorded programme.

    Crime is counted before the programme start (:func:`crime_window`); when no record
    precedes it, or the start is unknown, all available crime is used and
    ``attrs["notes"]`` says so. Territories without a social-development index or a
    population are left out of the ranking and listed in ``attrs["excluded"]``.

    Returns
    -------
    DataFrame
        ``territory_id``, ``name``, ``zone_id``, ``population``, ``social_index``,
        ``crimes`` (records in the window), ``months`` (months in the window),
        ``crime_rate`` (crimes per 1,000 inhabitants per year), ``priority`` (recorded in the
        programme), ``cohort`` and ``joined_on`` (recorded). ``attrs``: ``window`` (the crime
        window ``(start, end)``), ``all_crime`` (True when the window could not precede the
        programme), ``excluded`` (ids), ``notes`` (``{"es": [...], "en": [...]}``).

    Raises
    ------
    DataError
        No territories, no crime records at all, or no territory with both a population and
        a social-development index.
    """
    t = ctx.territories()
    if t.empty:
        raise DataError("the store has no territories (ingest the territory catalogue first)",
                        column="territories")
    start, end = crime_window(ctx.config, t, period_start)
    notes: dict[str, list[str]] = {"es": [], "en": []}
    has_crime = ctx.store.has_table("crime_counts")
    c, first, last = _crime_in(ctx, start, end) if has_crime else (None, None, None)
    all_crime = False
    if has_crime and pd.isna(first) and end is not None:
        c, first, last = _crime_in(ctx, start, None)
        all_crime = True
        notes["es"].append(f"No hay registros de delitos antes del inicio del programa ({end}); "
                           "se usaron todos los registros disponibles.")
        notes["en"].append(f"No crime records precede the programme start ({end}); all "
                           "available records were used.")
    elif end is None:
        all_crime = True
        notes["es"].append("No se sabe cuándo empezó el programa (city.yml: programme.start o "
                           "cohorts); se usaron todos los registros de delitos disponibles.")
        notes["en"].append("The programme start is unknown (city.yml: programme.start or "
                           "cohorts); all available crime records were used.")
    if first is None or pd.isna(first):
        raise DataError("the store has no crime records (the crime rate cannot be computed; "
                        "ingest crime records or counts by area first)",
                        column="crime_counts.month")
    first = pd.Timestamp(start) if start else pd.Timestamp(first)
    end_ts = pd.Timestamp(end) if end and not all_crime else \
        (pd.Timestamp(last) + pd.offsets.MonthBegin(1))
    months = max(1, (end_ts.year - first.year) * 12 + end_ts.month - first.month)
    bad = t["population"].isna() | (t["population"] <= 0) | t["social_index"].isna()
    excluded = t.loc[bad, "territory_id"].tolist()
    if bad.all():
        raise DataError("no territory has both a population and a social-development index",
                        column="territories.social_index",
                        rule="population > 0 and a social-development index are required")
    if excluded:
        shown = ", ".join(excluded[:5]) + ("..." if len(excluded) > 5 else "")
        notes["es"].append(f"{len(excluded)} colonias quedan fuera de la lista porque no tienen "
                           f"población o índice de desarrollo social: {shown}.")
        notes["en"].append(f"{len(excluded)} territories are left out of the list because they "
                           f"have no population or social-development index: {shown}.")
    t = t[~bad]
    out = t[["territory_id", "name", "zone_id", "population", "social_index", "priority",
             "cohort", "joined_on"]].copy()
    out["crimes"] = out["territory_id"].map(c.set_index("territory_id")["crimes"]).fillna(0.0)
    out["months"] = months
    out["crime_rate"] = sel.crime_rate_per_1000(out["crimes"] * 12.0 / months,
                                                out["population"])
    out["priority"] = out["priority"].astype("boolean").fillna(False).astype(bool)
    out.attrs["window"] = (first.strftime("%Y-%m-%d"), end_ts.strftime("%Y-%m-%d"))
    out.attrs["all_crime"] = all_crime
    out.attrs["excluded"] = excluded
    out.attrs["notes"] = notes
    return out


def _weights(config) -> tuple[dict, str]:
    s = config.selection
    return ({"social_index": s.social_index, "crime_rate": s.crime_rate,
             "population": s.population}, s.normalisation)


def programme_size(inputs: pd.DataFrame, config=None) -> int:
    """Number of territories to select: ``city.yml: programme.size``, else those recorded in
    the programme, else one in ten territories (at least one).

    >>> programme_size(pd.DataFrame({"priority": [True, False, True]}))
    2
    >>> programme_size(pd.DataFrame({"priority": [False] * 25}))
    3
    """
    size = getattr(getattr(config, "programme", None), "size", None)
    if size:
        return min(int(size), len(inputs))
    k = int(inputs["priority"].sum()) if "priority" in inputs else 0
    return k if k > 0 else max(1, -(-len(inputs) // 10))


def ranking(ctx, inputs: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Rank every territory by the composite index of ``city.yml: selection``.

    Returns
    -------
    DataFrame
        Sorted by ``rank``: ``territory_id``, ``name``, ``zone_id``, the three components,
        ``p_<component>`` (normalised, oriented), ``score``, ``rank``, ``selected`` (in the
        computed top), ``in_programme`` (recorded), ``cohort`` / ``joined_on`` (recorded).
        ``attrs``: ``top``, ``weights``, ``normalisation``.
    """
    weights, norm = _weights(ctx.config)
    top = top or programme_size(inputs, ctx.config)
    r = sel.rank_territories(inputs, weights, norm, top)
    r = r.rename(columns={"priority": "in_programme"})
    r.attrs.update(top=top, weights=weights, normalisation=norm)
    return r


def named_alternatives(weights: dict) -> dict[str, dict]:
    """Alternative weightings everybody can picture (each a full weight mapping).

    >>> named_alternatives({"social_index": 0.5, "crime_rate": 0.4, "population": 0.1})["swap"]
    {'social_index': 0.4, 'crime_rate': 0.5, 'population': 0.1}
    """
    alts = {"equal": {"social_index": 1.0, "crime_rate": 1.0, "population": 1.0},
            "social_only": {"social_index": 1.0, "crime_rate": 0.0, "population": 0.0},
            "crime_only": {"social_index": 0.0, "crime_rate": 1.0, "population": 0.0}}
    if weights.get("population", 0) > 0 and (weights["social_index"] + weights["crime_rate"]) > 0:
        alts["no_population"] = {**weights, "population": 0.0}
    if weights["social_index"] != weights["crime_rate"]:
        alts["swap"] = {**weights, "social_index": weights["crime_rate"],
                        "crime_rate": weights["social_index"]}
    return alts


def sensitivity(ctx, inputs: pd.DataFrame, *, top: int | None = None, n: int = N_DRAWS,
                seed: int = 0, lang: str = "es") -> tuple[pd.DataFrame, pd.DataFrame]:
    """How many of the top territories change under alternative weights.

    Returns
    -------
    named : DataFrame
        One row per named alternative (:func:`named_alternatives`) plus a last row with the
        mean over ``n`` random weightings: ``alternative``, ``label_es``, ``label_en``,
        ``w_<component>``, ``n_changed``, ``share_changed``, ``rank_corr``, ``ci_low``,
        ``ci_high`` (2.5 and 97.5 percentiles of ``n_changed`` over the random draws; empty
        for the named rows).
    draws : DataFrame
        :func:`~territoria.analysis.selection.weight_sensitivity` output for the ``n``
        random weightings (Dirichlet around the chosen weights, concentration 20).
    """
    weights, norm = _weights(ctx.config)
    top = top or programme_size(inputs, ctx.config)
    alts = named_alternatives(weights)
    named = sel.weight_sensitivity(inputs, weights, top, grid=list(alts.values()),
                                   normalisation=norm).assign(alternative=list(alts))
    draws = sel.weight_sensitivity(inputs, weights, top, n=n, seed=seed, normalisation=norm)
    mean_row = {"alternative": "random", **{c: draws[c].mean() for c in draws.columns
                                           if c.startswith("w_")},
                "n_changed": draws["n_changed"].mean(),
                "share_changed": draws["share_changed"].mean(),
                "rank_corr": draws["rank_corr"].mean(),
                "ci_low": float(np.percentile(draws["n_changed"], 2.5)),
                "ci_high": float(np.percentile(draws["n_changed"], 97.5))}
    named = pd.concat([named, pd.DataFrame([mean_row])], ignore_index=True)
    for lg in ("es", "en"):
        named[f"label_{lg}"] = [tr(MESSAGES, f"alt_{a}", lg, n=n) for a in named["alternative"]]
    cols = ["alternative", "label_es", "label_en", "w_social_index", "w_crime_rate",
            "w_population", "n_changed", "share_changed", "rank_corr", "ci_low", "ci_high"]
    named = named[cols]
    named.attrs["top"] = top
    return named, draws


def _cohort_specs(ctx, inputs: pd.DataFrame):
    """Sizes, dates and ids of the recorded cohorts, in joining order."""
    rec = inputs[inputs["cohort"].notna()]
    sizes = rec.groupby("cohort").size()
    dates = {c.id: c.joined_on for c in ctx.config.cohorts}
    for cid, d in rec.groupby("cohort")["joined_on"].min().items():
        dates.setdefault(cid, pd.Timestamp(d).date() if pd.notna(d) else None)
    ids = [c for c in sizes.index if dates.get(c) is not None]
    missing = [c for c in sizes.index if dates.get(c) is None]
    if missing:
        raise DataError(f"cohort '{missing[0]}' has no joining date (add it to city.yml: "
                        "cohorts)", column="cohort")
    ids.sort(key=lambda c: (dates[c], c))
    return [int(sizes[c]) for c in ids], [dates[c] for c in ids], ids


def cohorts(ctx, ranked: pd.DataFrame, inputs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cohorts implied by the ranking (recorded sizes and dates), against the recorded ones.

    Returns
    -------
    assigned : DataFrame
        ``ranked`` plus ``cohort_computed`` and ``joined_on_computed``; ``cohort_actual`` is
        the recorded cohort.
    crosstab : DataFrame
        ``cohort_computed``, ``cohort_actual`` (``"none"`` when outside every cohort),
        ``territories``: how many territories fall in each pair.
    """
    out = ranked.rename(columns={"cohort": "cohort_actual", "joined_on": "joined_on_actual"})
    if inputs["cohort"].notna().sum() == 0:
        out["cohort_computed"] = np.nan
        out["joined_on_computed"] = pd.NaT
        return out, pd.DataFrame(columns=["cohort_computed", "cohort_actual", "territories"])
    sizes, dates, ids = _cohort_specs(ctx, inputs)
    a = sel.assign_cohorts(out[["territory_id", "rank"]], sizes, dates, labels=ids)
    a = a.rename(columns={"cohort": "cohort_computed", "joined_on": "joined_on_computed"})
    out = out.merge(a.drop(columns="rank"), on="territory_id", how="left")
    ct = (out.assign(cohort_computed=out["cohort_computed"].fillna("none"),
                     cohort_actual=out["cohort_actual"].fillna("none"))
          .groupby(["cohort_computed", "cohort_actual"]).size().rename("territories")
          .reset_index())
    order = {c: i for i, c in enumerate([*ids, "none"])}
    ct = ct.sort_values(["cohort_computed", "cohort_actual"],
                        key=lambda s: s.map(order)).reset_index(drop=True)
    return out, ct


def agreement(assigned: pd.DataFrame) -> dict:
    """Agreement between the computed and the recorded programme.

    Returns
    -------
    dict
        ``top`` (share of recorded programme territories inside the computed top, with
        ``top_n`` = recorded programme territories) and ``cohort`` (share of recorded
        programme territories whose computed cohort equals the recorded one).

    Examples
    --------
    >>> d = pd.DataFrame({"selected": [True, True, False], "in_programme": [True, False, True],
    ...                   "cohort_computed": ["c1", "c1", None],
    ...                   "cohort_actual": ["c1", None, "c1"]})
    >>> agreement(d)
    {'top': 0.5, 'top_n': 2, 'cohort': 0.5}
    """
    prog = assigned[assigned["in_programme"].astype(bool)]
    n = len(prog)
    if n == 0:
        return {"top": np.nan, "top_n": 0, "cohort": np.nan}
    top = float(prog["selected"].astype(bool).mean())
    same = (prog["cohort_computed"].astype(object) == prog["cohort_actual"].astype(object))
    return {"top": top, "top_n": n, "cohort": float(same.mean())}


def ranking_table(assigned: pd.DataFrame) -> pd.DataFrame:
    """The published ranking: territory-level figures only (no people are counted in it)."""
    t = assigned.sort_values("rank").reset_index(drop=True)
    out = pd.DataFrame({
        "territory_id": t["territory_id"], "label_es": t["name"], "label_en": t["name"],
        "zone_id": t["zone_id"], "rank": t["rank"].astype(int), "score": t["score"].round(4),
        "social_index": t["social_index"], "crime_rate": t["crime_rate"].round(2),
        "population": t["population"], "selected": t["selected"].astype(bool),
        "in_programme": t["in_programme"].astype(bool),
        "cohort_computed": t.get("cohort_computed"), "cohort_actual": t.get("cohort_actual")})
    return out


def ranking_map(ctx, assigned: pd.DataFrame, *, lang: str = "es"):
    """Choropleth of the priority score: ``(fig, alt_text)``."""
    check_language(lang)
    geo = ctx.store.query("SELECT territory_id, geometry FROM territories "
                          "WHERE geometry IS NOT NULL")
    d = assigned[["territory_id", "name", "score"]].merge(geo, on="territory_id")
    return plots.choropleth(d, value="score", lang=lang, title=tr(MESSAGES, "map_title", lang),
                            legend=tr(MESSAGES, "map_legend", lang))


def build_result(assigned: pd.DataFrame, named: pd.DataFrame, draws: pd.DataFrame,
                 crosstab: pd.DataFrame, inputs: pd.DataFrame | None = None) -> StepResult:
    """City indicators and result tables from the section results.

    With ``inputs`` (:func:`load_inputs`), the ranking table's meta records the crime window
    and the notes on it (``window``, ``all_crime``, ``notes_es``, ``notes_en``, ``excluded``),
    which the site shows beside the table."""
    res = StepResult(STEP, None)
    ag = agreement(assigned)
    res.indicator("selection_top_agreement", ag["top"], n=ag["top_n"])
    res.indicator("selection_cohort_agreement", ag["cohort"], n=ag["top_n"])
    res.indicator("selection_sensitivity_changes", float(draws["n_changed"].mean()),
                  ci_low=float(np.percentile(draws["n_changed"], 2.5)),
                  ci_high=float(np.percentile(draws["n_changed"], 97.5)), n=len(draws))
    res.indicator("selection_rank_correlation", float(draws["rank_corr"].mean()),
                  ci_low=float(np.percentile(draws["rank_corr"], 2.5)),
                  ci_high=float(np.percentile(draws["rank_corr"], 97.5)), n=len(draws))
    res.indicator("selection_territories_ranked", len(assigned), n=len(assigned))
    meta = {}
    if inputs is not None:
        notes = inputs.attrs.get("notes", {})
        meta = {"window": list(inputs.attrs.get("window", ())),
                "all_crime": bool(inputs.attrs.get("all_crime", False)),
                "excluded": list(inputs.attrs.get("excluded", [])),
                "notes_es": notes.get("es", []), "notes_en": notes.get("en", [])}
    res.table("ranking", ranking_table(assigned), **meta)
    res.table("sensitivity", named)
    res.table("cohorts", crosstab)
    return res


def compute(ctx, territory_id=None, *, lang: str = "es", period_start=None,
            n: int = N_DRAWS) -> StepResult:
    """Everything the step records (city scope: ``territory_id`` is ignored).

    Returns
    -------
    StepResult
        Indicators ``selection_top_agreement``, ``selection_cohort_agreement``,
        ``selection_sensitivity_changes``, ``selection_rank_correlation``,
        ``selection_territories_ranked``; tables ``ranking``, ``sensitivity``, ``cohorts``.
    """
    check_language(lang)
    inputs = load_inputs(ctx, period_start=period_start)
    ranked = ranking(ctx, inputs)
    named, draws = sensitivity(ctx, inputs, n=n, lang=lang)
    assigned, crosstab = cohorts(ctx, ranked, inputs)
    return build_result(assigned, named, draws, crosstab, inputs)
