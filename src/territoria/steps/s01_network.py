"""Step 01, network and assemblies (territory): who was convened, where, how representative?

The notebook ``notebooks/01_network.ipynb`` calls these functions one per section, for one
territory, with the city figure beside it where that helps to read it:

1. :func:`load_assemblies`: the territory's assemblies (optionally within a period);
2. :func:`coverage`: blocks with at least one block assembly over all blocks (territory and
   city, Wilson intervals);
3. :func:`activity`: assemblies per month by mode (the 2020 move to virtual and hybrid
   meetings) and per year;
4. :func:`attendance`: people per assembly by kind of meeting;
5. :func:`links`: community links per 1,000 inhabitants by area of action;
6. :func:`representation`: participants against the census by sex x age group (ratio and
   dissimilarity index with bootstrap intervals), with the city ratio;
7. :func:`repeat`: people who come back (participant codes across vote rounds and the start
   and end questionnaires);
8. :func:`build_result` / :func:`compute`: indicators and published tables.

Every published table counting people is suppressed below ``city.yml: min_cell_size``.

Examples
--------
>>> from territoria.steps import s01_network as s01
>>> s01.STEP, s01.SCOPE
('01_network', 'territory')
>>> s01.group_label("male", "18_29", "es")
'Hombres de 18 a 29 años'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import participation as part
from territoria.analysis.suppression import suppress
from territoria.i18n import catalogue, check_language, tr
from territoria.steps import StepResult, citywide, common
from territoria.steps.common import require_territory
from territoria.steps.registry import step_by_id

STEP = "01_network"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Bootstrap replicates for representativeness (vectorised; seed 0).
N_BOOT = 1000
SEED = 0

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)


_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("coverage", "bar", "view_coverage", "view_coverage_caption", percent=True),
    _T.view("assemblies_by_month", "lines", "view_months", "view_months_caption", x="month",
             y="assemblies"),
    _T.view("attendance", "bar", "view_attendance", "view_attendance_caption", value="mean"),
    _T.view("links", "bar", "view_links", "view_links_caption", value="per_1000"),
    _T.view("representation", "bar", "view_representation", "view_representation_caption",
            value="ratio"),
    _T.view("repeat", "table", "view_repeat", "view_repeat_caption", columns=(
        ("label_{lang}", "col_source"), ("participants", "col_participants"),
        ("share", "col_share"))),
), indicators=("block_coverage", "representation_ratio", "dissimilarity_index",
               "links_per_1000"))


def group_label(sex: str, age_group: str, lang: str = "es") -> str:
    """Translated sex x age group label (:meth:`territoria.vocabulary.Vocabulary.group_label`)."""
    return vocabulary.Vocabulary().group_label(sex, age_group, lang)


def group_names(groups) -> dict[str, dict[str, str]]:
    """Each group code of the step's indicators (``grp``: ``female_18_29``, a repeat
    participation source) -> its name in each site language, for ``show(labels={"grp": ...})``.

    >>> group_names(["female_18_29", "votes"])["female_18_29"]["en"]
    'Women aged 18–29'
    """
    sexes = vocabulary.codes("sex")
    out = {}
    for g in {str(x) for x in groups if isinstance(x, str)}:
        sex, _, age = g.partition("_")
        if sex in sexes and age:
            out[g] = {lg: group_label(sex, age, lg) for lg in ("es", "en")}
        elif f"source_{g}" in MESSAGES:
            out[g] = {lg: tr(MESSAGES, f"source_{g}", lg) for lg in ("es", "en")}
    return out


def _labels(keys, prefix: str) -> dict:
    return {f"label_{lg}": [tr(MESSAGES, f"{prefix}{k}", lg) for k in keys] for lg in ("es", "en")}


def _require_territory(territory_id) -> str:
    return require_territory(STEP, territory_id)


def territory_info(ctx, territory_id) -> dict:
    """The territory's catalogue row (see :func:`territoria.steps.common.territory_info`)."""
    return common.territory_info(ctx, STEP, territory_id)


def _period_sql(period_start, period_end, col: str = "date") -> tuple[str, list]:
    where, params = [], []
    if period_start:
        where.append(f'"{col}" >= CAST(? AS DATE)')
        params.append(str(period_start))
    if period_end:
        where.append(f'"{col}" <= CAST(? AS DATE)')
        params.append(str(period_end))
    return (" AND " + " AND ".join(where) if where else ""), params


def load_assemblies(ctx, territory_id: str, *, period_start=None, period_end=None) -> pd.DataFrame:
    """The territory's assemblies: code, kind, mode, date, block and the eight attendance
    counts (no facilitator data, no place)."""
    territory_id = _require_territory(territory_id)
    ctx.require_territory(territory_id)
    if not ctx.store.has_table("assembly"):
        return pd.DataFrame(columns=["assembly_code", "kind", "mode", "date", "territory",
                                     "block", *part.ATTENDANCE_COLUMNS])
    cols = ", ".join(f'"{c}"' for c in ["assembly_code", "kind", "mode", "date", "territory",
                                         "block", *part.ATTENDANCE_COLUMNS])
    extra, params = _period_sql(period_start, period_end)
    return ctx.store.query(f'SELECT {cols} FROM assembly WHERE territory = ?{extra} '
                           "ORDER BY date, assembly_code", [territory_id, *params])


def coverage(ctx, territory_id: str, assemblies: pd.DataFrame, *, period_start=None,
             period_end=None) -> pd.DataFrame:
    """Block coverage of the territory and of all programme territories (the city figure).

    Returns
    -------
    DataFrame
        Two rows (``level`` = ``territory``, ``city``): ``label_es``, ``label_en``,
        ``blocks_total``, ``blocks_covered``, ``estimate`` (0-1), ``ci_low``, ``ci_high``
        (Wilson). Blocks, not people, are counted: nothing to suppress. No rows (same
        columns) when the territory has no blocks in the store yet.
    """
    blocks = ctx.table("blocks", territory_id, column="territory_id")
    if blocks.empty:  # no block list yet: the section is left out (see the registry)
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in FLOATS else
                                          "int64" if c.startswith("blocks") else "object")
                             for c in COVERAGE_COLUMNS})
    cov = part.block_coverage(assemblies, blocks, kinds=["block_assembly"])
    t = cov.iloc[0]
    extra, params = _period_sql(period_start, period_end, "date")
    city = ctx.store.query(
        "WITH prog AS (SELECT territory_id FROM territories WHERE coalesce(priority, false) "
        "OR territory_id = ?), "
        "b AS (SELECT block_id FROM blocks JOIN prog USING (territory_id)), "
        "c AS (SELECT DISTINCT block FROM assembly WHERE kind = 'block_assembly'"
        f"{extra}) "
        "SELECT (SELECT count(*) FROM b) AS total, "
        "(SELECT count(*) FROM b WHERE block_id IN (SELECT block FROM c)) AS covered",
        [territory_id, *params]) if ctx.store.has_table("assembly") else \
        pd.DataFrame({"total": [len(blocks)], "covered": [int(t["blocks_covered"])]})
    ct, cc = int(city.loc[0, "total"]), int(city.loc[0, "covered"])
    lo, hi = part.wilson_interval(cc, ct, digits=None)
    tlo, thi = part.wilson_interval(int(t["blocks_covered"]), int(t["blocks_total"]), digits=None)
    out = pd.DataFrame({
        "level": ["territory", "city"],
        "blocks_total": [int(t["blocks_total"]), ct],
        "blocks_covered": [int(t["blocks_covered"]), cc],
        "estimate": [float(t["coverage"]), cc / ct if ct else np.nan],
        "ci_low": [tlo, lo], "ci_high": [thi, hi]})
    for lg in ("es", "en"):
        out.insert(1 + (lg == "en"), f"label_{lg}",
                   [tr(MESSAGES, f"level_{v}", lg) for v in out["level"]])
    return out


COVERAGE_COLUMNS = ("level", "label_es", "label_en", "blocks_total", "blocks_covered",
                    "estimate", "ci_low", "ci_high")
FLOATS = ("estimate", "ci_low", "ci_high")


def activity(assemblies: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assemblies per month and per year, by mode.

    Returns
    -------
    monthly : DataFrame
        ``month``, ``mode``, ``group_es``, ``group_en``, ``assemblies`` (zeros included).
    yearly : DataFrame
        ``year``, ``mode``, ``group_es``, ``group_en``, ``assemblies``, ``share`` (of the
        year's assemblies).
    """
    monthly = part.assemblies_by_month(assemblies)
    if monthly.empty:
        monthly = pd.DataFrame(columns=["month", "mode", "assemblies"])
    for lg in ("es", "en"):
        monthly[f"group_{lg}"] = vocabulary.labels("meeting_mode", monthly["mode"], lg)
    monthly = monthly[["month", "mode", "group_es", "group_en", "assemblies"]]
    yearly = (monthly.assign(year=pd.to_datetime(monthly["month"]).dt.year)
              .groupby(["year", "mode", "group_es", "group_en"], sort=True)["assemblies"].sum()
              .reset_index())
    yearly["share"] = yearly["assemblies"] / yearly.groupby("year")["assemblies"].transform("sum")
    return monthly, yearly


def remote_period(config) -> tuple | None:
    """``city.yml: programme.remote_meetings`` as ``(start, end)`` (``end`` may be None), or
    None when the city declares no remote period."""
    programme = getattr(config, "programme", None)
    rm = getattr(programme, "remote_meetings", None)
    return (rm.start, rm.end) if rm is not None else None


def remote_share(assemblies: pd.DataFrame, year: int | None = None, *, start=None,
                 end=None) -> dict:
    """Share of assemblies held virtually or hybrid, with a Wilson interval: those of the
    calendar ``year``, else those dated from ``start`` to ``end`` (both included, either may
    be open), else all of them.

    Examples
    --------
    >>> a = pd.DataFrame({"date": ["2020-05-01", "2020-06-01", "2019-01-01"],
    ...                   "mode": ["virtual", "in_person", "in_person"]})
    >>> remote_share(a, 2020)["value"], remote_share(a, 2020)["n"]
    (0.5, 2)
    >>> remote_share(a, start="2020-06-01")["n"], remote_share(a)["n"]
    (1, 3)
    """
    d = pd.to_datetime(assemblies["date"], format="ISO8601")
    keep = pd.Series(True, index=assemblies.index)
    if year is not None:
        keep &= d.dt.year == year
    if start is not None:
        keep &= d >= pd.Timestamp(start)
    if end is not None:
        keep &= d <= pd.Timestamp(end)
    sub = assemblies[keep]
    n = len(sub)
    k = int(sub["mode"].isin(["virtual", "hybrid"]).sum())
    lo, hi = part.wilson_interval(k, n, digits=None) if n else (np.nan, np.nan)
    return {"value": k / n if n else np.nan, "ci_low": lo, "ci_high": hi, "n": n}


def attendance(assemblies: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """Attendance per assembly by kind, and for all meetings (last row).

    Returns
    -------
    DataFrame
        ``kind``, ``label_es``, ``label_en``, ``assemblies``, ``attendance``, ``women``,
        ``mean``, ``ci_low``, ``ci_high``, ``median``, ``min``, ``max``; rows counting fewer
        than ``min_cell`` attendees suppressed (``suppressed``).
    """
    if assemblies.empty:
        return pd.DataFrame(columns=["kind", "label_es", "label_en", "assemblies", "attendance",
                                     "women", "mean", "ci_low", "ci_high", "suppressed"])
    by = part.attendance_summary(assemblies, by="kind")
    allrow = part.attendance_summary(assemblies).assign(kind="all")
    by = by.sort_values("mean", ascending=False, kind="stable")  # sorted bars, "all" last
    out = pd.concat([by, allrow], ignore_index=True)
    for lg in ("es", "en"):
        out[f"label_{lg}"] = [tr(MESSAGES, "kind_all", lg) if k == "all"
                              else vocabulary.label("meeting_kind", k, lg) for k in out["kind"]]
    out = out[["kind", "label_es", "label_en", "assemblies", "attendance", "women", "mean",
               "ci_low", "ci_high", "median", "min", "max"]]
    # a mean over few people could single them out: blank rows under min_cell attendees
    out = suppress(out, "attendance", min_count=min_cell, secondary=False,
                   value_cols=["women", "mean", "ci_low", "ci_high", "median", "min", "max"])
    return out.drop(columns="suppression")


def links(ctx, territory_id: str, *, min_cell: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Community links per 1,000 inhabitants, by area and in total.

    Returns
    -------
    by_area : DataFrame
        ``area``, ``label_es``, ``label_en``, ``links``, ``per_1000``, ``ci_low``, ``ci_high``
        (exact Poisson), ``suppressed`` (areas with fewer than ``min_cell`` links, and a
        second area when only one is hidden, since the total is published).
    total : DataFrame
        One row: ``links``, ``population``, ``per_1000``, ``ci_low``, ``ci_high``.
    """
    terr = ctx.store.query("SELECT territory_id, population FROM territories "
                           "WHERE territory_id = ?", [territory_id])
    lk = ctx.table("links", territory_id, column="territory_id")
    if lk.empty:
        lk = pd.DataFrame({"link_id": pd.Series(dtype=str), "territory_id": pd.Series(dtype=str),
                           "area": pd.Series(dtype=str)})
    else:
        lk = lk.rename(columns={"link_code": "link_id"})[["link_id", "territory_id", "area"]]
    areas = vocabulary.codes("link_area", getattr(ctx, "config", None)) or None
    by_area = part.links_per_1000(lk, terr, by_area=True, areas=areas)
    total = part.links_per_1000(lk, terr, by_area=False, areas=areas)
    by_area = by_area.assign(**vocabulary.label_columns("link_area", by_area["area"],
                                                        city=getattr(ctx, "config", None)))
    by_area = by_area[["area", "label_es", "label_en", "links", "per_1000", "ci_low", "ci_high"]]
    by_area = suppress(by_area, "links", min_count=min_cell).drop(columns="suppression")
    by_area = by_area.sort_values("per_1000", ascending=False, na_position="last",
                                  kind="stable").reset_index(drop=True)
    return by_area, total.drop(columns="territory_id")


def _city_units(ctx, *, period_start=None, period_end=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attendance summed per programme territory (the resampling unit for the city) and the
    census of those territories."""
    att = ", ".join(f'sum("{c}") AS "{c}"' for c in part.ATTENDANCE_COLUMNS)
    extra, params = _period_sql(period_start, period_end)
    units = ctx.store.query(f"SELECT territory, {att} FROM assembly WHERE true{extra} "
                            "GROUP BY territory ORDER BY territory", params)
    census = ctx.store.query(
        "SELECT sex, age_group, sum(population) AS population FROM census_margins "
        "WHERE territory_id IN (SELECT DISTINCT territory FROM assembly) GROUP BY 1, 2 ORDER BY 1, 2")
    return units, census


def city_representation(ctx, *, n_boot: int = N_BOOT, seed: int = SEED, period_start=None,
                        period_end=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The city's representation ratios and dissimilarity index, with bootstrap intervals
    that resample programme territories (:func:`_city_units`).

    The same for every territory of a run: computed once per store state and shared by
    every territory notebook (:func:`territoria.steps.citywide.cached`).

    Returns
    -------
    ratios : DataFrame
        :func:`~territoria.analysis.participation.representativeness` of the city.
    dissim : DataFrame
        :func:`~territoria.analysis.participation.dissimilarity` of the city (``level``
        city, ``unit`` territories).
    """
    def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
        units, ccensus = _city_units(ctx, period_start=period_start, period_end=period_end)
        rc = part.representativeness(units, ccensus, n_boot=n_boot, seed=seed)
        dc = part.dissimilarity(units, ccensus, n_boot=n_boot, seed=seed).assign(
            level="city", unit="territories")
        return rc, dc
    rc, dc = citywide.cached(
        ctx, "s01_city_representation", compute=compute,
        reads={"assembly": ["territory", "date", *part.ATTENDANCE_COLUMNS],
               "census_margins": ["territory_id", "sex", "age_group", "population"]},
        params={"n_boot": n_boot, "seed": seed, "period_start": period_start,
                "period_end": period_end})
    return rc, dc


RATIO_COLUMNS = ("sex", "age_group", "label_es", "label_en", "participants",
                 "participant_share", "census_share", "ratio", "ci_low", "ci_high", "ratio_city",
                 "city_ci_low", "city_ci_high", "suppressed")
DISSIM_COLUMNS = ("level", "D", "ci_low", "ci_high", "participants", "units", "unit")


def representation(ctx, territory_id: str, assemblies: pd.DataFrame, *, min_cell: int,
                   n_boot: int = N_BOOT, seed: int = SEED, period_start=None,
                   period_end=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Participants against the census by sex x age group, territory and city.

    The territory's interval resamples its assemblies; the city's resamples programme
    territories (attendance summed per territory), since assemblies of one territory are
    not independent of each other.

    Returns
    -------
    ratios : DataFrame
        One row per sex x age group: ``sex``, ``age_group``, ``label_es``, ``label_en``,
        ``participants``, ``participant_share``, ``census_share``, ``ratio``, ``ci_low``,
        ``ci_high``, ``ratio_city``, ``city_ci_low``, ``city_ci_high``, ``suppressed``
        (groups with fewer than ``min_cell`` participants in the territory).
    dissim : DataFrame
        Two rows (``level`` territory, city): ``D``, ``ci_low``, ``ci_high``,
        ``participants``, ``units``, ``unit``.

    Both are empty (same columns) when the territory has no census margins or no
    assemblies yet.
    """
    census = ctx.table("census_margins", territory_id, column="territory_id")
    if census.empty or assemblies.empty:  # nothing to compare yet: the section is left out
        return (pd.DataFrame({c: pd.Series(dtype="object" if c in ("sex", "age_group",
                                                                   "label_es", "label_en")
                                           else "bool" if c == "suppressed" else "float64")
                              for c in RATIO_COLUMNS}),
                pd.DataFrame({c: pd.Series(dtype="object" if c in ("level", "unit")
                                           else "float64") for c in DISSIM_COLUMNS}))
    r = part.representativeness(assemblies, census, n_boot=n_boot, seed=seed)
    d = part.dissimilarity(assemblies, census, n_boot=n_boot, seed=seed).assign(level="territory")
    rc, dc = city_representation(ctx, n_boot=n_boot, seed=seed, period_start=period_start,
                                 period_end=period_end)
    r["ratio_city"] = rc["ratio"].to_numpy()
    r["city_ci_low"] = rc["ci_low"].to_numpy()
    r["city_ci_high"] = rc["ci_high"].to_numpy()
    for lg in ("es", "en"):
        r[f"label_{lg}"] = [group_label(s, a, lg) for s, a in zip(r["sex"], r["age_group"],
                                                                   strict=True)]
    r = r[["sex", "age_group", "label_es", "label_en", "participants", "participant_share",
           "census_share", "ratio", "ci_low", "ci_high", "ratio_city", "city_ci_low",
           "city_ci_high"]]
    # the total of participants is published (dissimilarity), hence complementary suppression
    r = suppress(r, "participants", min_count=min_cell,
                 value_cols=["participant_share", "ratio", "ci_low", "ci_high"])
    r = r.drop(columns="suppression")
    dissim = pd.concat([d, dc], ignore_index=True)[["level", "D", "ci_low", "ci_high",
                                                     "participants", "units", "unit"]]
    return r, dissim


def repeat(ctx, territory_id: str, *, min_cell: int) -> pd.DataFrame:
    """People who take part at more than one moment, from the pseudonymous participant codes.

    Sources: the process questionnaire (``process``: ``moment`` start / end) and the votes
    (``votes``: ``round``). A source counts only when the territory has at least two
    moments (or rounds) in it.

    Returns
    -------
    DataFrame
        ``source``, ``label_es``, ``label_en``, ``occasions``, ``participants``, ``repeat``,
        ``share``, ``ci_low``, ``ci_high`` (Wilson), ``suppressed`` (fewer than ``min_cell``
        people come back, or fewer than ``min_cell`` do not).
    """
    rows = []
    for source, table, occ in (("process", "process", "moment"), ("votes", "votes", "round")):
        if not ctx.store.has_table(table):
            continue
        d = ctx.store.query(f'SELECT participant_code, "{occ}" FROM "{table}" '
                            "WHERE territory = ?", [territory_id])
        k = d[occ].nunique()
        if d.empty or k < 2:
            continue
        r = part.repeat_participation(d, occasion=occ).iloc[0].to_dict()
        rows.append({"source": source, "occasions": int(k), **r})
    cols = ["source", "label_es", "label_en", "occasions", "participants", "repeat", "share",
            "ci_low", "ci_high", "suppressed"]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    out = out.assign(**_labels(out["source"], "source_"))
    small = np.minimum(out["repeat"], out["participants"] - out["repeat"]) < min_cell
    out.loc[small, ["repeat", "share", "ci_low", "ci_high"]] = np.nan
    out["suppressed"] = small
    return out[cols]


def months_figure(monthly: pd.DataFrame, *, lang: str = "es", backend: str = "svg"):
    """Assemblies per month by mode: ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    labels = {m: vocabulary.label("meeting_mode", m, lang) for m in part.MODES}
    return plots.lines_by_group(monthly, x="month", y="assemblies", group="mode", lang=lang,
                                title=tr(MESSAGES, "fig_months", lang),
                                ylabel=tr(MESSAGES, "fig_months_y", lang), labels=labels,
                                backend=backend)


def representation_figure(ratios: pd.DataFrame, *, lang: str = "es", backend: str = "svg"):
    """Ratio participants / census by group, sorted, with intervals and a line at 1.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    return plots.bar_ci(ratios, label=f"label_{lang}", value="ratio", lang=lang,
                        percent=False, title=tr(MESSAGES, "fig_repr", lang),
                        xlabel=tr(MESSAGES, "col_ratio", lang), ref=1.0, backend=backend)


def build_result(territory_id: str, *, cov: pd.DataFrame, assemblies: pd.DataFrame,
                 monthly: pd.DataFrame, yearly: pd.DataFrame, att: pd.DataFrame,
                 links_area: pd.DataFrame, links_total: pd.DataFrame, ratios: pd.DataFrame,
                 dissim: pd.DataFrame, rep: pd.DataFrame, remote: tuple | None = None
                 ) -> StepResult:
    """Indicators and published tables of the territory from the section results.

    ``remote``: the city's remote-meetings period ``(start, end)`` (:func:`remote_period`).
    """
    res = StepResult(STEP, territory_id)
    if len(cov) == 2:  # no rows: no block list yet
        t, c = cov.iloc[0], cov.iloc[1]
        res.indicator("block_coverage", t["estimate"], ci_low=t["ci_low"],
                      ci_high=t["ci_high"], n=t["blocks_total"])
        res.indicator("block_coverage_city", c["estimate"], ci_low=c["ci_low"],
                      ci_high=c["ci_high"], n=c["blocks_total"])
    res.indicator("assemblies_total", len(assemblies), n=len(assemblies))
    def share(**period):
        return remote_share(assemblies, **period) if len(assemblies) else {"value": np.nan,
                                                                          "n": 0}

    # within the city's remote-meetings period (city.yml), else over every meeting
    start, end = remote if remote else (None, None)
    rs = share(start=start, end=end)
    res.indicator("assemblies_remote_share", rs["value"], ci_low=rs.get("ci_low"),
                  ci_high=rs.get("ci_high"), n=rs["n"])
    if remote:  # kept for comparison with earlier runs: the calendar year the period began
        rs = share(year=start.year)
        res.indicator(f"assemblies_remote_share_{start.year}", rs["value"],
                      ci_low=rs.get("ci_low"), ci_high=rs.get("ci_high"), n=rs["n"])
    allrow = att[att["kind"] == "all"]
    if len(allrow):
        a = allrow.iloc[0]
        res.indicator("attendance_mean", a["mean"], ci_low=a["ci_low"], ci_high=a["ci_high"],
                      n=a["assemblies"], suppressed=bool(a["suppressed"]))
        res.indicator("attendance_women_share", a["women"], n=a["attendance"],
                      suppressed=bool(a["suppressed"]))
    lt = links_total.iloc[0]
    res.indicator("links_per_1000", lt["per_1000"], ci_low=lt["ci_low"], ci_high=lt["ci_high"],
                  n=lt["links"])
    for r in ratios.itertuples():
        grp = f"{r.sex}_{r.age_group}"
        res.indicator("representation_ratio", r.ratio, ci_low=r.ci_low, ci_high=r.ci_high,
                      n=r.participants, grp=grp, suppressed=bool(r.suppressed))
        res.indicator("representation_ratio_city", r.ratio_city, ci_low=r.city_ci_low,
                      ci_high=r.city_ci_high, grp=grp)
    for r in dissim.itertuples():
        name = "dissimilarity_index" if r.level == "territory" else "dissimilarity_index_city"
        res.indicator(name, r.D, ci_low=r.ci_low, ci_high=r.ci_high, n=r.participants)
    for r in rep.itertuples():
        res.indicator("repeat_participation", r.share, ci_low=r.ci_low, ci_high=r.ci_high,
                      n=r.participants, grp=r.source, suppressed=bool(r.suppressed))
    res.table("coverage", cov)
    res.table("assemblies_by_month", monthly)
    res.table("assemblies_by_year", yearly)
    res.table("attendance", att)
    res.table("links", links_area)
    res.table("representation", ratios.sort_values("ratio", ascending=False,
                                                   na_position="last").reset_index(drop=True))
    res.table("dissimilarity", dissim)
    res.table("repeat", rep)
    return res


def compute(ctx, territory_id: str, *, lang: str = "es", period_start=None,
            period_end=None) -> StepResult:
    """Everything the step records for one territory (no figures).

    Returns
    -------
    StepResult
        Indicators ``block_coverage``, ``block_coverage_city``, ``assemblies_total``,
        ``assemblies_remote_share`` (in ``city.yml: programme.remote_meetings``, else over
        all meetings) and, with a remote period, ``assemblies_remote_share_<year it began>``
        (that calendar year), ``attendance_mean``, ``attendance_women_share``,
        ``links_per_1000``, ``representation_ratio`` and ``representation_ratio_city`` (grp
        ``<sex>_<age_group>``), ``dissimilarity_index``, ``dissimilarity_index_city``,
        ``repeat_participation`` (grp = source); tables ``coverage``,
        ``assemblies_by_month``, ``assemblies_by_year``, ``attendance``, ``links``,
        ``representation``, ``dissimilarity``, ``repeat``.
    """
    check_language(lang)
    territory_id = _require_territory(territory_id)
    m = ctx.min_cell
    per = {"period_start": period_start, "period_end": period_end}
    a = load_assemblies(ctx, territory_id, **per)
    cov = coverage(ctx, territory_id, a, **per)
    monthly, yearly = activity(a)
    att = attendance(a, min_cell=m)
    la, lt = links(ctx, territory_id, min_cell=m)
    ratios, dissim = representation(ctx, territory_id, a, min_cell=m, **per)
    rep = repeat(ctx, territory_id, min_cell=m)
    return build_result(territory_id, cov=cov, assemblies=a, monthly=monthly, yearly=yearly,
                        att=att, links_area=la, links_total=lt, ratios=ratios, dissim=dissim,
                        rep=rep, remote=remote_period(getattr(ctx, "config", None)))
