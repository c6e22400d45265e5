"""Step 02, participatory diagnostic (territory): what are the problems and priorities, for whom?

The notebook ``notebooks/02_diagnostic.ipynb`` calls these functions one per section:

1. :func:`weighted_responses`: the household survey with design weights (households of the
   block over respondents in the block) post-stratified to the census sex x age margins;
2. :func:`problems`: share of households naming each thematic axis, with design-based
   intervals (PSU = block), and tiers that say which differences are real;
3. :func:`disaggregation`: the top problem and perceived insecurity by sex, age group and
   disability;
4. :func:`safety`: perceived insecurity in the colonia (ENVIPE/ENSU comparable) for the
   territory, its zone and the city, and in the twelve ENSU places;
5. :func:`build_result` / :func:`compute`: indicators and published tables.

Every published table is suppressed below ``city.yml: min_cell_size`` (cells behind which
fewer people stand are blanked).

Examples
--------
>>> from territoria.steps import s02_diagnostic as s02
>>> s02.STEP, s02.SCOPE
('02_diagnostic', 'territory')
>>> s02.group_label("disability", "yes", "en")
'With a disability'
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import diagnostic as dg
from territoria.analysis.suppression import suppress
from territoria.analysis.survey import design_weights, poststratify
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.report import names as site_names
from territoria.steps import StepResult, citywide, common
from territoria.steps.common import require_territory
from territoria.steps.registry import step_by_id

STEP = "02_diagnostic"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Persons per household used when a block or territory has no household count.
HOUSEHOLD_SIZE = 3.5
DESIGN = {"psu": "block", "lonely_psu": "adjust"}
COLUMNS = ["zone", "territory", "block", "sex", "age_group", "disability", "problems",
           "problem_1", "problem_2", "problem_3", "safety_colonia",
           *[f"safety_place_{i:02d}" for i in range(1, 13)]]

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts, title=step_by_id(STEP).title)

_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("problems", "bar", "view_problems", "view_problems_caption", percent=True),
    _T.view("groups", "table", "view_groups", "view_groups_caption", percent=True, columns=(
        ("indicator_{lang}", "col_indicator"), ("label_{lang}", "col_group"),
        ("estimate", "col_estimate"), ("n", "col_n"))),
    _T.view("safety", "bar", "view_safety", "view_safety_caption", percent=True),
    _T.view("places", "bar", "view_places", "view_places_caption", percent=True),
), indicators=("top_problem_share", "pct_unsafe_colonia", "diagnostic_respondents"))


#: Disaggregation dimension -> the kind of code (:mod:`territoria.vocabulary`) naming its groups.
_GROUP_KINDS = {"sex": "sex_group", "age_group": "age_group", "disability": "disability"}


def group_label(dimension: str, group: str, lang: str = "es") -> str:
    """Translated label of a group of a disaggregation dimension (from the vocabulary)."""
    return vocabulary.label(_GROUP_KINDS.get(dimension, dimension), group, lang)


def group_names(groups, city=None) -> dict[str, dict[str, str]]:
    """Each group code of the step's indicators (``grp``: an axis, an ENSU place,
    ``dimension:group``) -> its name in each site language (the city's axes from ``city``,
    its ``city.yml``), for ``show(labels={"grp": ...})``.

    >>> group_names(["age_group:18_29", "street_atm"])["street_atm"]["es"]
    'El cajero automático en la vía pública'
    """
    v = vocabulary.Vocabulary(city)
    axes, places = set(v.codes("axis")), set(v.codes("ensu_place"))
    out = {}
    for g in {str(x) for x in groups if isinstance(x, str)}:
        dimension, _, group = g.partition(":")
        if group:
            out[g] = {lg: group_label(dimension, group, lg) for lg in ("es", "en")}
        elif g in axes:
            out[g] = v.texts("axis", g)
        elif g in places:
            out[g] = v.texts("ensu_place", g)
    return out


def _require_territory(territory_id) -> str:
    return require_territory(STEP, territory_id)


def territory_info(ctx, territory_id) -> dict:
    """The territory's catalogue row (see :func:`territoria.steps.common.territory_info`)."""
    return common.territory_info(ctx, STEP, territory_id)


def _frame(ctx, territory_ids) -> pd.DataFrame:
    """Households per block of the given territories (block ``households`` if recorded, else
    block population / 3.5, else the territory's households shared equally among blocks)."""
    ph = ", ".join("?" for _ in territory_ids)
    b = ctx.store.query(f"SELECT * FROM blocks WHERE territory_id IN ({ph})", list(territory_ids))
    t = ctx.store.query("SELECT territory_id, population, households, blocks_total FROM "
                        f"territories WHERE territory_id IN ({ph})", list(territory_ids))
    hh = (pd.to_numeric(b["households"], errors="coerce") if "households" in b
          else pd.Series(np.nan, index=b.index))
    if "population" in b:
        hh = hh.fillna(pd.to_numeric(b["population"], errors="coerce") / HOUSEHOLD_SIZE)
    t_hh = pd.to_numeric(t["households"], errors="coerce").fillna(
        pd.to_numeric(t["population"], errors="coerce") / HOUSEHOLD_SIZE)
    nblocks = b.groupby("territory_id")["block_id"].transform("size")
    share = b["territory_id"].map(t.set_index("territory_id").assign(h=t_hh.to_numpy())["h"])
    hh = hh.where(hh > 0, share / nblocks)
    return pd.DataFrame({"block": b["block_id"], "households": hh})


def _ps_cells(resp: pd.DataFrame, census: pd.DataFrame):
    """Post-strata per territory: sex x age when every census cell has respondents, else
    sex, else the territory total. Returns (cell key of each respondent, margins, levels)."""
    cen = census[census["population"] > 0]
    seen = resp.groupby(["territory", "sex", "age_group"]).size().rename("k").reset_index()
    m = cen.merge(seen, left_on=["territory_id", "sex", "age_group"],
                  right_on=["territory", "sex", "age_group"], how="left")
    m["has"] = m["k"].fillna(0) > 0
    full = m.groupby("territory_id")["has"].all()
    by_sex = m.groupby(["territory_id", "sex"])["has"].any().groupby(level=0).all()
    level = pd.Series(np.where(full, "sex_age", np.where(by_sex.reindex(full.index), "sex",
                                                         "total")), index=full.index)

    def key(t, s, a):
        lv = t.map(level).fillna("total")
        return np.where(lv == "sex_age", t + "|" + s + "|" + a,
                        np.where(lv == "sex", t + "|" + s, t))

    rkey = key(resp["territory"], resp["sex"], resp["age_group"])
    ckey = key(census["territory_id"], census["sex"], census["age_group"])
    margins = census.assign(_cell=ckey).groupby("_cell", as_index=False)["population"].sum()
    return pd.Series(rkey, index=resp.index), margins, level.to_dict()


def weighted_responses(ctx, territory_id: str | None = None, *,
                       columns=None) -> pd.DataFrame:
    """Diagnostic responses with design weights post-stratified to the census.

    Parameters
    ----------
    ctx : StepContext
    territory_id : str, optional
        One territory (``None``: every surveyed territory, for the zone and city comparison).
    columns : list of str, optional
        Columns to load (default :data:`COLUMNS`); the design columns are always loaded.

    Returns
    -------
    DataFrame
        The columns of :data:`COLUMNS` plus ``weight``: households of the block over
        respondents in the block (:func:`~territoria.analysis.survey.design_weights`),
        post-stratified (:func:`~territoria.analysis.survey.poststratify`) to the adult
        population of the territory by sex x age group (by sex, or to the total, when a
        census cell has no respondents). ``attrs``: ``poststrata`` (territory -> level used),
        ``dropped`` (respondents without sex or age group, left out).

    Raises
    ------
    DataError
        The territory has no diagnostic responses.
    """
    if not ctx.store.has_table("diagnostic"):
        raise DataError("the store has no 'diagnostic' table (ingest the diagnostic survey)",
                        column="diagnostic")
    want = list(dict.fromkeys(["zone", "territory", "block", "sex", "age_group",
                               *(columns or COLUMNS)]))
    cols = ", ".join(f'"{c}"' for c in want)
    if territory_id is None:
        resp = ctx.store.query(f"SELECT {cols} FROM diagnostic")
    else:
        resp = ctx.store.query(f"SELECT {cols} FROM diagnostic WHERE territory = ?",
                               [territory_id])
    if resp.empty:
        raise DataError(f"territory '{territory_id}' has no diagnostic responses",
                        column="diagnostic.territory")
    ok = resp[["territory", "block", "sex", "age_group"]].notna().all(axis=1)
    dropped = int((~ok).sum())
    resp = resp[ok].reset_index(drop=True)
    tids = sorted(resp["territory"].unique())
    resp["w0"] = design_weights(resp, _frame(ctx, tids), strata="block", count="households")
    ph = ", ".join("?" for _ in tids)
    census = ctx.store.query(
        f"SELECT territory_id, sex, age_group, population FROM census_margins "
        f"WHERE territory_id IN ({ph})", tids)
    if census.empty:
        resp["weight"] = resp["w0"]
        level = dict.fromkeys(tids, "none")
    else:
        resp["_cell"], margins, level = _ps_cells(resp, census)
        resp["weight"] = poststratify(resp, "w0", cells="_cell", margins=margins,
                                      count="population").to_numpy()
        resp = resp.drop(columns="_cell")
    resp = resp.drop(columns="w0")
    resp.attrs["poststrata"] = level
    resp.attrs["dropped"] = dropped
    return resp


def _axes(ctx) -> list[str] | None:
    return [a.id for a in ctx.config.axes] or None


def problems(ctx, resp: pd.DataFrame, *, min_cell: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Problems named by households, with intervals and tiers.

    Returns
    -------
    shares : DataFrame
        Sorted by share: ``axis``, ``label_es``, ``label_en``, ``estimate`` (0-1), ``se``,
        ``ci_low``, ``ci_high``, ``n`` (households answering), ``n_named`` (households
        naming the axis), ``deff``, ``rank``, ``tier`` (1 = cannot be told apart from the
        most named problem, Holm-adjusted pairwise tests), ``suppressed`` (fewer than
        ``min_cell`` households named it: figures blanked).
    pairs : DataFrame
        Pairwise differences (``axis_a``, ``axis_b``, ``diff``, ``se``, ``p_holm``,
        ``different``).
    """
    axes = _axes(ctx)
    shares, pairs = dg.problem_tiers(resp, weight="weight", axes=axes, **DESIGN)
    named = dg.problem_indicators(resp, axes=axes).sum()
    shares["n_named"] = shares["axis"].map(named).astype(int)
    for lg in ("es", "en"):
        shares[f"label_{lg}"] = vocabulary.labels("axis", shares["axis"], lg, ctx.config)
    shares = shares[["axis", "label_es", "label_en", "estimate", "se", "ci_low", "ci_high", "n",
                     "n_named", "deff", "rank", "tier"]]
    # shares of a multiple-choice question do not add up to a total: primary suppression only
    shares = suppress(shares, "n_named", min_count=min_cell, secondary=False,
                      value_cols=["estimate", "se", "ci_low", "ci_high", "deff"])
    return shares.drop(columns="suppression"), pairs


def disaggregation(resp: pd.DataFrame, top_axis: str, *, min_cell: int) -> pd.DataFrame:
    """The top problem and perceived insecurity by sex, age group and disability.

    Returns
    -------
    DataFrame
        ``indicator`` (``top_problem`` or ``unsafe``), ``indicator_es``, ``indicator_en``,
        ``axis`` (the top problem), ``dimension``, ``group``, ``label_es``, ``label_en``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``suppressed``: groups with fewer
        than ``min_cell`` respondents, and a second group of the same dimension when only one
        would be hidden (the total is published).
    """
    ind = dg.problem_indicators(resp)
    data = resp.assign(_top=ind[top_axis] if top_axis in ind else np.nan,
                       _unsafe=resp["safety_colonia"].map(
                           lambda v: dg.SAFE_CODES.get(str(v).strip(), np.nan)
                           if pd.notna(v) else np.nan).astype(float))
    frames = []
    for key, var in (("top_problem", "_top"), ("unsafe", "_unsafe")):
        d = dg.disaggregate(data, var, weight="weight", **DESIGN)
        d.insert(0, "indicator", key)
        frames.append(d)
    out = pd.concat(frames, ignore_index=True)
    out["axis"] = top_axis
    for lg in ("es", "en"):
        out[f"indicator_{lg}"] = [tr(MESSAGES, f"ind_{k}", lg) for k in out["indicator"]]
        out[f"label_{lg}"] = [group_label(d, g, lg) for d, g in zip(out["dimension"],
                                                                     out["group"], strict=True)]
    out = out[["indicator", "indicator_es", "indicator_en", "axis", "dimension", "group",
               "label_es", "label_en", "estimate", "se", "ci_low", "ci_high", "n"]]
    out = suppress(out, "n", min_count=min_cell, groups=[["indicator", "dimension"]],
                   value_cols=["estimate", "se", "ci_low", "ci_high"])
    return out.drop(columns="suppression")


#: What :func:`city_safety` reads from the store (the key of its city-wide cache).
CITY_SAFETY_READS = {
    "diagnostic": ["zone", "territory", "block", "sex", "age_group", "safety_colonia"],
    "blocks": None,
    "territories": ["territory_id", "population", "households", "blocks_total"],
    "census_margins": ["territory_id", "sex", "age_group", "population"],
}


def city_safety(ctx) -> pd.DataFrame:
    """Perceived insecurity of every territory, zone and the city (:func:`~territoria.
    analysis.diagnostic.safety_levels` on the city-wide weighted survey, territories as
    strata, blocks as PSUs).

    Computed once per store state and shared by every territory notebook
    (:func:`territoria.steps.citywide.cached`): the city-wide survey is the same for all of
    them, and weighting and estimating it is most of the step's time in a large city.
    """
    def compute() -> pd.DataFrame:
        city = weighted_responses(ctx, columns=["safety_colonia"])
        return dg.safety_levels(city, weight="weight", strata="territory", **DESIGN)
    return cast(pd.DataFrame, citywide.cached(ctx, "s02_city_safety", reads=CITY_SAFETY_READS,
                                              compute=compute))


def safety(ctx, territory_id: str, resp: pd.DataFrame, city: pd.DataFrame | None = None, *,
           min_cell: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Perceived insecurity: territory, zone and city; and the twelve ENSU places.

    The comparison uses the city-wide survey with territories as strata and blocks as PSUs,
    so the three estimates share one design. ``city`` (the city-wide weighted responses)
    may be given; by default the city-wide figures come from :func:`city_safety`, computed
    once for all territories (same numbers).

    Returns
    -------
    levels : DataFrame
        ``level`` (territory, zone, city), ``unit``, ``label_es``, ``label_en``, ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``n``, ``deff``, ``suppressed``.
    places : DataFrame
        One row per ENSU place (sorted from most to least unsafe): ``place``, ``order``,
        ``label_es``, ``label_en``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``
        (people who use the place), ``suppressed``.
    """
    if city is None:
        levels = dg.pick_safety(city_safety(ctx), territory_id)
    else:
        levels = dg.safety_comparison(city, territory_id, weight="weight", strata="territory",
                                      **DESIGN)
    zone_names = site_names.zones_by_id(ctx.store, getattr(ctx, "config", None))
    for lg in ("es", "en"):
        levels[f"label_{lg}"] = [
            vocabulary.label("geo_level", lv, lg)
            + (f": {zone_names.get(u, {}).get(lg, u)}" if lv == "zone" else "")
            for lv, u in zip(levels["level"], levels["unit"], strict=True)]
    levels = levels[["level", "unit", "label_es", "label_en", "estimate", "se", "ci_low",
                     "ci_high", "n", "deff"]]
    levels = suppress(levels, "n", min_count=min_cell, secondary=False).drop(
        columns="suppression")
    places = dg.ensu_places(resp, weight="weight", **DESIGN)
    places = places.assign(**vocabulary.label_columns("ensu_place", places["place"]))
    places = places[["place", "order", "label_es", "label_en", "estimate", "se", "ci_low",
                     "ci_high", "n"]]
    # each place is its own question (no shared total): primary suppression
    places = suppress(places, "n", min_count=min_cell, secondary=False,
                      value_cols=["estimate", "se", "ci_low", "ci_high"])
    places = places.drop(columns="suppression").sort_values(
        "estimate", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    return levels, places


def problems_figure(shares: pd.DataFrame, *, lang: str = "es", backend: str = "svg"):
    """Sorted bars of the problems with intervals: ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    check_language(lang)
    return plots.bar_ci(shares, label=f"label_{lang}", lang=lang, subject="problem",
                        title=tr(MESSAGES, "fig_problems", lang),
                        xlabel=tr(MESSAGES, "fig_problems_x", lang), backend=backend)


def places_figure(places: pd.DataFrame, *, lang: str = "es", backend: str = "svg"):
    """Sorted bars of insecurity in the twelve ENSU places: ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    check_language(lang)
    return plots.bar_ci(places, label=f"label_{lang}", lang=lang,
                        title=tr(MESSAGES, "fig_places", lang),
                        xlabel=tr(MESSAGES, "fig_places_x", lang), backend=backend)


def build_result(territory_id: str, *, resp: pd.DataFrame, shares: pd.DataFrame,
                 groups: pd.DataFrame, levels: pd.DataFrame,
                 places: pd.DataFrame) -> StepResult:
    """Indicators and published tables of the territory from the section results."""
    res = StepResult(STEP, territory_id)
    res.indicator("diagnostic_respondents", len(resp), n=len(resp))
    for r in shares.itertuples():
        res.indicator("problem_share", r.estimate, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n,
                      grp=r.axis, suppressed=bool(r.suppressed))
    top = shares.iloc[0]
    res.indicator("top_problem_share", top["estimate"], ci_low=top["ci_low"],
                  ci_high=top["ci_high"], n=top["n"], grp=top["axis"],
                  suppressed=bool(top["suppressed"]))
    res.indicator("top_problem_tier_size", int((shares["tier"] == 1).sum()), n=top["n"],
                  grp=top["axis"])
    names = {"territory": "pct_unsafe_colonia", "zone": "pct_unsafe_colonia_zone",
             "city": "pct_unsafe_colonia_city"}
    for r in levels.itertuples():
        res.indicator(names[r.level], r.estimate, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n,
                      suppressed=bool(r.suppressed))
    for r in places.itertuples():
        res.indicator("pct_unsafe_place", r.estimate, ci_low=r.ci_low, ci_high=r.ci_high, n=r.n,
                      grp=r.place, suppressed=bool(r.suppressed))
    for r in groups[groups["indicator"] == "unsafe"].itertuples():
        res.indicator("pct_unsafe_colonia_group", r.estimate, ci_low=r.ci_low,
                      ci_high=r.ci_high, n=r.n, grp=f"{r.dimension}:{r.group}",
                      suppressed=bool(r.suppressed))
    res.table("problems", shares)
    res.table("groups", groups)
    res.table("safety", levels)
    res.table("places", places)
    return res


def compute(ctx, territory_id: str, *, lang: str = "es", **_period) -> StepResult:
    """Everything the step records for one territory (no figures).

    The diagnostic is a one-off survey at the start of the process: ``period_start`` and
    ``period_end`` are accepted and not used.

    Returns
    -------
    StepResult
        Indicators ``diagnostic_respondents``, ``problem_share`` (grp = axis),
        ``top_problem_share`` and ``top_problem_tier_size`` (grp = top axis),
        ``pct_unsafe_colonia``, ``pct_unsafe_colonia_zone``, ``pct_unsafe_colonia_city``,
        ``pct_unsafe_place`` (grp = place), ``pct_unsafe_colonia_group`` (grp =
        ``dimension:group``); tables ``problems``, ``groups``, ``safety``, ``places``.
    """
    check_language(lang)
    territory_id = _require_territory(territory_id)
    ctx.require_territory(territory_id)
    m = ctx.min_cell
    resp = weighted_responses(ctx, territory_id)
    shares, _pairs = problems(ctx, resp, min_cell=m)
    groups = disaggregation(resp, shares.iloc[0]["axis"], min_cell=m)
    levels, places = safety(ctx, territory_id, resp, min_cell=m)
    return build_result(territory_id, resp=resp, shares=shares, groups=groups, levels=levels,
                        places=places)
