"""Step 02, participatory diagnostic: problems, priorities, who says what, perceived safety.

Everything is design-based (:func:`territoria.analysis.survey.estimate`): pass the weight,
and the strata and PSU (e.g. block) columns of the household survey. Input columns follow
the ``territoria_diagnostic`` instrument: ``problems`` (select_multiple, space-separated axis
names), ``problem_1 .. problem_3`` (top-3 ranking), ``safety_colonia``, ``safety_city``
(codes ``1`` Seguro, ``2`` Inseguro, ``9`` NS/NR) and ``safety_place_01 .. 12`` (plus ``3`` No
aplica), ``sex``, ``age_group``, ``disability``.

Examples
--------
>>> import pandas as pd
>>> r = pd.DataFrame({"problems": ["water security", "water", "mobility", None],
...                   "w": [1.0, 1.0, 2.0, 1.0]})
>>> problem_shares(r, weight="w")[["axis", "estimate", "n"]]
       axis  estimate  n
0  mobility      0.50  3
1     water      0.50  3
2  security      0.25  3
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from territoria.analysis.survey import estimate
from territoria.exceptions import AnalysisError

__all__ = [
    "ENSU_PLACES",
    "problem_indicators",
    "problem_shares",
    "top3_scores",
    "holm",
    "problem_tiers",
    "disaggregate",
    "perceived_unsafe",
    "safety_comparison",
    "ensu_places",
]

#: The twelve ENSU places (BP1_2_01..12), in questionnaire order (their labels:
#: ``territoria.vocabulary``, kind ``ensu_place``).
ENSU_PLACES = ("home", "work", "streets", "school", "market", "shopping_centre", "bank",
               "street_atm", "public_transport", "car", "highway", "park")

SAFE_CODES = {"1": 0.0, "2": 1.0, "9": 0.0}
_DESIGN_KW = ("strata", "psu", "fpc", "level", "lonely_psu")


def _need(df, cols, what="responses"):
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError(f"{what} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisError(f"{what} lack column(s) {missing} (have: {list(df.columns)[:15]})")


def problem_indicators(
    responses: pd.DataFrame, *, col: str = "problems", axes: Sequence[str] | None = None
) -> pd.DataFrame:
    """0/1 columns ``<axis>`` from a space-separated select_multiple column.

    Parameters
    ----------
    responses : DataFrame
    col : str
        The select_multiple column (missing = question not answered: NaN in every column;
        an empty string = answered, no axis named).
    axes : list of str, optional
        Allowed axes, in order. Default: those seen, sorted. An answer outside ``axes`` is
        an :class:`AnalysisError`.

    Returns
    -------
    DataFrame
        One float column per axis, aligned with ``responses``.

    Examples
    --------
    >>> import pandas as pd
    >>> problem_indicators(pd.DataFrame({"problems": ["water health", "", None]}))
       health  water
    0     1.0    1.0
    1     0.0    0.0
    2     NaN    NaN
    """
    _need(responses, [col])
    raw = responses[col]
    lists = raw.map(lambda v: None if pd.isna(v) else str(v).split())
    seen = sorted({a for lst in lists.dropna() for a in lst})
    if axes is None:
        axes = seen
    else:
        axes = list(axes)
        unknown = sorted(set(seen) - set(axes))
        if unknown:
            raise AnalysisError(f"column '{col}' has unknown axis value(s) {unknown} "
                                f"(allowed: {', '.join(axes)})")
    out = pd.DataFrame(index=responses.index)
    answered = lists.notna()
    for a in axes:
        out[a] = np.where(answered, lists.map(lambda lst, a=a: a in lst if lst else False), np.nan)
        out[a] = out[a].astype(float)
    return out


def _design(kw):
    unknown = set(kw) - set(_DESIGN_KW)
    if unknown:
        raise AnalysisError(f"unknown option(s) {sorted(unknown)} (allowed: {', '.join(_DESIGN_KW)})")
    return kw


def _estimate_columns(data, cols, labels, *, weight, by=None, stat="proportion", **design):
    frames = []
    for c, lab in zip(cols, labels, strict=True):
        r = estimate(data, c, weight=weight, stat=stat, by=by, **design)
        r.insert(len(r.columns) - 6, "axis", lab)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)


def problem_shares(
    responses: pd.DataFrame,
    *,
    weight: str,
    col: str = "problems",
    axes: Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    **design,
) -> pd.DataFrame:
    """Share of households naming each axis among their problems, with design-based CIs.

    Parameters
    ----------
    responses : DataFrame
    weight : str
        Weight column.
    col, axes
        As in :func:`problem_indicators`.
    by : str or list of str, optional
        Domains (e.g. ``"sex"``).
    **design
        ``strata``, ``psu``, ``fpc``, ``level``, ``lonely_psu`` passed to
        :func:`~territoria.analysis.survey.estimate`.

    Returns
    -------
    DataFrame
        ``by`` columns, ``axis``, ``estimate`` (0-1), ``se``, ``ci_low``, ``ci_high``, ``n``,
        ``deff``, ``rank`` (1 = most named, within each ``by`` group); sorted by rank.
    """
    design = _design(design)
    ind = problem_indicators(responses, col=col, axes=axes)
    data = pd.concat([responses.drop(columns=[c for c in ind.columns if c in responses]),
                      ind.add_prefix("_ax_")], axis=1)
    out = _estimate_columns(data, [f"_ax_{a}" for a in ind.columns], list(ind.columns),
                            weight=weight, by=by, **design)
    return _ranked(out, by)


def _ranked(out: pd.DataFrame, by) -> pd.DataFrame:
    by_cols = [by] if isinstance(by, str) else list(by or [])
    out = out.sort_values([*by_cols, "estimate"], ascending=[True] * len(by_cols) + [False],
                          kind="stable", na_position="last")
    if by_cols:
        out["rank"] = out.groupby(by_cols, sort=False).cumcount() + 1
    else:
        out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def top3_scores(
    responses: pd.DataFrame,
    *,
    weight: str,
    cols: Sequence[str] = ("problem_1", "problem_2", "problem_3"),
    points: Sequence[float] = (3, 2, 1),
    axes: Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    **design,
) -> pd.DataFrame:
    """Weighted Borda-like priority score of each axis from the top-3 ranking.

    Each household gives ``points[k]`` to the axis it ranked in position ``k`` (3, 2, 1 by
    default) and 0 to the others; the score of an axis is the design-weighted mean of those
    points over households that ranked at least one axis, with a linearised SE. If the same
    axis appears twice, it keeps its best position.

    Returns
    -------
    DataFrame
        As :func:`problem_shares`, with ``estimate`` = mean points (0 to ``max(points)``).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"problem_1": ["water", "security"], "problem_2": ["security", "water"],
    ...                   "problem_3": [None, None], "w": [3.0, 1.0]})
    >>> top3_scores(r, weight="w")[["axis", "estimate"]]
           axis  estimate
    0     water      2.75
    1  security      2.25
    """
    design = _design(design)
    cols = list(cols)
    if len(points) != len(cols):
        raise AnalysisError(f"{len(points)} points for {len(cols)} ranking columns")
    _need(responses, cols)
    seen = sorted({v for c in cols for v in responses[c].dropna().astype(str)})
    if axes is None:
        axes = seen
    else:
        unknown = sorted(set(seen) - set(axes))
        if unknown:
            raise AnalysisError(f"ranking columns have unknown axis value(s) {unknown} "
                                f"(allowed: {', '.join(axes)})")
    answered = responses[cols].notna().any(axis=1).to_numpy()
    score = pd.DataFrame(0.0, index=responses.index, columns=list(axes))
    for c, pt in zip(cols, points, strict=True):
        v = responses[c].astype("string")
        for a in axes:
            score[a] = np.maximum(score[a], np.where(v.eq(a).fillna(False), float(pt), 0.0))
    score.loc[~answered, :] = np.nan
    data = pd.concat([responses, score.add_prefix("_sc_")], axis=1)
    out = _estimate_columns(data, [f"_sc_{a}" for a in axes], list(axes), weight=weight,
                            by=by, stat="mean", **design)
    return _ranked(out, by)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (NaNs kept, not counted).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def problem_tiers(
    responses: pd.DataFrame,
    *,
    weight: str,
    col: str = "problems",
    axes: Sequence[str] | None = None,
    top: int | None = None,
    alpha: float = 0.05,
    **design,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which differences between problems are real: pairwise tests and tiers.

    Parameters
    ----------
    responses, weight, col, axes, **design
        As in :func:`problem_shares`.
    top : int, optional
        Compare only the ``top`` most named axes (default all).
    alpha : float
        Family-wise error rate (Holm).

    Returns
    -------
    shares : DataFrame
        :func:`problem_shares` output (the compared axes) plus ``tier`` (1 = the group of
        problems that cannot be told apart from the most named one).
    pairs : DataFrame
        ``axis_a``, ``axis_b`` (a named at least as often as b), ``diff`` (share a - share b),
        ``se``, ``t``, ``p``, ``p_holm``, ``different`` (``p_holm < alpha``).

    Notes
    -----
    The difference of two shares from the same households is the mean of
    :math:`y_a - y_b`; its linearised SE therefore includes the covariance between the two
    answers. Two-sided p-values use Student's t on the design degrees of freedom and are
    Holm-adjusted over all pairs. Tiers are formed in order of share: a problem joins the
    current tier if it is not significantly different from the tier's first (largest)
    problem, otherwise it opens a new tier.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"problems": ["water"] * 30 + ["water security"] * 10
    ...                   + ["mobility"] * 10, "w": 1.0})
    >>> shares, pairs = problem_tiers(r, weight="w")
    >>> shares[["axis", "estimate", "tier"]]
           axis  estimate  tier
    0     water       0.8     1
    1  mobility       0.2     2
    2  security       0.2     2
    """
    design = _design(design)
    shares = problem_shares(responses, weight=weight, col=col, axes=axes, **design)
    if top is not None:
        shares = shares.head(int(top)).copy()
    ind = problem_indicators(responses, col=col, axes=axes)
    order = shares["axis"].tolist()
    rows = []
    base = responses.drop(columns=[c for c in ("_diff",) if c in responses])
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            d = base.assign(_diff=ind[a] - ind[b])
            r = estimate(d, "_diff", weight=weight, stat="mean", **design)
            df_ = r.attrs["df"]
            diff, se = r.loc[0, "estimate"], r.loc[0, "se"]
            t = diff / se if se > 0 else (0.0 if diff == 0 else np.inf)
            p = 2 * stats.t.sf(abs(t), df_) if df_ > 0 else np.nan
            rows.append({"axis_a": a, "axis_b": b, "diff": diff, "se": se, "t": t, "p": p})
    pairs = pd.DataFrame(rows, columns=["axis_a", "axis_b", "diff", "se", "t", "p"])
    pairs["p_holm"] = holm(pairs["p"].to_numpy()) if len(pairs) else []
    pairs["different"] = pairs["p_holm"] < alpha
    sig = {(r.axis_a, r.axis_b): r.different for r in pairs.itertuples()}
    tiers, tier, leader = [], 0, None
    for a in order:
        if leader is None or sig.get((leader, a), False):
            tier += 1
            leader = a
        tiers.append(tier)
    shares = shares.assign(tier=tiers)
    return shares, pairs


def disaggregate(
    responses: pd.DataFrame,
    var: str,
    *,
    weight: str,
    dims: Sequence[str] = ("sex", "age_group", "disability"),
    stat: str = "proportion",
    min_count: int | None = None,
    **design,
) -> pd.DataFrame:
    """Estimate ``var`` separately within each group of each dimension.

    Returns
    -------
    DataFrame
        ``dimension``, ``group``, (``category``), ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``n``, ``deff``, and ``suppressed`` (``n < min_count``: estimate and
        interval blanked) when ``min_count`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"unsafe": [1, 0, 1, 1], "sex": ["female", "male", "female", "male"],
    ...                   "w": 1.0})
    >>> disaggregate(r, "unsafe", weight="w", dims=["sex"])[["group", "estimate", "n"]]
        group  estimate  n
    0  female       1.0  2
    1    male       0.5  2
    """
    design = _design(design)
    _need(responses, list(dims))
    frames = []
    for d in dims:
        r = estimate(responses, var, weight=weight, stat=stat, by=d, **design)
        r = r.rename(columns={d: "group"})
        r.insert(0, "dimension", d)
        frames.append(r)
    out = pd.concat(frames, ignore_index=True)
    if min_count is not None:
        out["suppressed"] = out["n"] < min_count
        out.loc[out["suppressed"], ["estimate", "se", "ci_low", "ci_high", "deff"]] = np.nan
    return out


def _code(v) -> str:
    """An answer code as text: ``2``, ``2.0`` and ``" 2"`` are all ``"2"``."""
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _unsafe_indicator(x: pd.Series, col: str, allowed: dict[str, float]) -> pd.Series:
    # normalise each distinct answer once (a city-wide survey has ~10^5 answers, ~4 codes)
    codes = {v: _code(v) for v in pd.unique(x.dropna())}
    bad = sorted(set(codes.values()) - set(allowed))
    if bad:
        raise AnalysisError(f"column '{col}' has code(s) {bad} (allowed: {', '.join(allowed)})")
    return x.map({v: allowed[c] for v, c in codes.items()}).astype(float)


def perceived_unsafe(
    responses: pd.DataFrame,
    *,
    weight: str,
    col: str = "safety_colonia",
    by: str | Sequence[str] | None = None,
    **design,
) -> pd.DataFrame:
    """Share who consider living in their colonia (or city) unsafe, as INEGI reports it.

    ``estimate`` is the design-weighted share of code ``2`` (Inseguro) over all valid answers
    ``1``, ``2`` and ``9`` (NS/NR counts in the denominator, as in ENVIPE/ENSU headline
    figures); missing answers are left out.

    Returns
    -------
    DataFrame
        :func:`~territoria.analysis.survey.estimate` output (proportion, 0-1).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"safety_colonia": ["2", "2", "1", "9", None], "w": 1.0})
    >>> float(perceived_unsafe(r, weight="w").loc[0, "estimate"])
    0.5
    """
    design = _design(design)
    _need(responses, [col])
    data = responses.assign(_unsafe=_unsafe_indicator(responses[col], col, SAFE_CODES))
    return estimate(data, "_unsafe", weight=weight, stat="proportion", by=by, **design)


def safety_comparison(
    responses: pd.DataFrame,
    territory: str,
    *,
    weight: str,
    col: str = "safety_colonia",
    territory_col: str = "territory",
    zone_col: str = "zone",
    **design,
) -> pd.DataFrame:
    """Perceived insecurity in a territory, its zone and the whole city (same design).

    ``responses`` is the city-wide survey; the territory and the zone are domains of it, so
    the three estimates share one design.

    Returns
    -------
    DataFrame
        ``level`` (``territory``, ``zone``, ``city``), ``unit`` (id), then ``estimate``,
        ``se``, ``ci_low``, ``ci_high``, ``n``, ``deff``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"territory": ["a", "a", "b", "c"], "zone": ["z1", "z1", "z1", "z2"],
    ...                   "safety_colonia": ["2", "1", "2", "2"], "w": 1.0})
    >>> safety_comparison(r, "a", weight="w")[["level", "unit", "estimate"]]
           level unit  estimate
    0  territory    a  0.500000
    1       zone   z1  0.666667
    2       city  all  0.750000
    """
    design = _design(design)
    _need(responses, [territory_col, zone_col, col])
    mine = responses[responses[territory_col] == territory]
    if mine.empty:
        raise AnalysisError(f"territory '{territory}' has no responses in column '{territory_col}'")
    zones = mine[zone_col].dropna().unique()
    if len(zones) != 1:
        raise AnalysisError(f"territory '{territory}' must belong to one zone, found {list(zones)}")
    zone = zones[0]
    data = responses.assign(_t=np.where(responses[territory_col] == territory, "in", "out"),
                            _z=np.where(responses[zone_col] == zone, "in", "out"))
    rows = []
    for level, unit, by in (("territory", territory, "_t"), ("zone", zone, "_z"),
                            ("city", "all", None)):
        r = perceived_unsafe(data, weight=weight, col=col, by=by, **design)
        if by:
            r = r[r[by] == "in"].drop(columns=by)
        r = r.iloc[:1].assign(level=level, unit=unit)
        rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    return out[["level", "unit", "estimate", "se", "ci_low", "ci_high", "n", "deff"]]


def safety_levels(
    responses: pd.DataFrame,
    *,
    weight: str,
    col: str = "safety_colonia",
    territory_col: str = "territory",
    zone_col: str = "zone",
    **design,
) -> pd.DataFrame:
    """Perceived insecurity of every territory, every zone and the city, in one pass.

    Each territory and each zone is a domain of the city-wide design, estimated exactly as
    :func:`safety_comparison` estimates it (same domain mask, same arithmetic), so
    :func:`pick_safety` gives, for any territory, the very numbers
    :func:`safety_comparison` gives, while the whole city is gone through once instead of
    once per territory.

    Returns
    -------
    DataFrame
        ``level`` (``territory``, ``zone``, ``city``), ``unit`` (id), ``zone`` (a territory's
        zone; missing for zones, the city, and territories with none or several), ``zones`` (number of zones a territory's
        responses name), then ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``deff``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"territory": ["a", "a", "b", "c"], "zone": ["z1", "z1", "z1", "z2"],
    ...                   "safety_colonia": ["2", "1", "2", "2"], "w": 1.0})
    >>> safety_levels(r, weight="w")[["level", "unit", "zone", "estimate"]]
           level unit zone  estimate
    0  territory    a   z1  0.500000
    1  territory    b   z1  1.000000
    2  territory    c   z2  1.000000
    3       zone   z1  NaN  0.666667
    4       zone   z2  NaN  1.000000
    5       city  all  NaN  0.750000
    """
    design = _design(design)
    _need(responses, [territory_col, zone_col, col])
    zones = responses.groupby(territory_col, sort=True)[zone_col].agg(
        lambda z: list(pd.unique(z.dropna())))
    parts = []
    for level, by in (("territory", territory_col), ("zone", zone_col), ("city", None)):
        r = perceived_unsafe(responses, weight=weight, col=col, by=by, **design)
        if by:
            r = r.rename(columns={by: "unit"})
        r = r.assign(level=level, unit=r["unit"] if by else "all")
        parts.append(r)
    out = pd.concat(parts, ignore_index=True)
    own = out["unit"].map(zones).where(out["level"] == "territory")
    out["zones"] = [len(z) if isinstance(z, list) else 0 for z in own]
    out["zone"] = [z[0] if isinstance(z, list) and len(z) == 1 else None for z in own]
    return out[["level", "unit", "zone", "zones", "estimate", "se", "ci_low", "ci_high", "n",
                "deff"]]


def pick_safety(levels: pd.DataFrame, territory: str) -> pd.DataFrame:
    """One territory's rows of :func:`safety_levels`: the :func:`safety_comparison` table.

    Raises
    ------
    AnalysisError
        The territory has no responses, or its responses name more than one zone (or none).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"territory": ["a", "a", "b", "c"], "zone": ["z1", "z1", "z1", "z2"],
    ...                   "safety_colonia": ["2", "1", "2", "2"], "w": 1.0})
    >>> pick_safety(safety_levels(r, weight="w"), "b").equals(
    ...     safety_comparison(r, "b", weight="w"))
    True
    """
    mine = levels[(levels["level"] == "territory") & (levels["unit"] == territory)]
    if mine.empty:
        raise AnalysisError(f"territory '{territory}' has no responses in column 'territory'")
    if int(mine["zones"].iloc[0]) != 1:
        raise AnalysisError(f"territory '{territory}' must belong to one zone, found "
                            f"{int(mine['zones'].iloc[0])}")
    zone = mine["zone"].iloc[0]
    rows = pd.concat([mine, levels[(levels["level"] == "zone") & (levels["unit"] == zone)],
                      levels[levels["level"] == "city"]], ignore_index=True)
    return rows[["level", "unit", "estimate", "se", "ci_low", "ci_high", "n", "deff"]]


def ensu_places(
    responses: pd.DataFrame,
    *,
    weight: str,
    prefix: str = "safety_place_",
    exclude_not_applicable: bool = True,
    by: str | Sequence[str] | None = None,
    **design,
) -> pd.DataFrame:
    """Share who feel unsafe in each of the twelve ENSU places.

    Parameters
    ----------
    responses : DataFrame
        ``safety_place_01 .. safety_place_12`` with codes ``1`` Seguro, ``2`` Inseguro,
        ``3`` No aplica, ``9`` NS/NR.
    exclude_not_applicable : bool
        Leave ``3`` (No aplica: the person does not work, has no car, does not use the
        place...) out of the denominator (default), so each share refers to the people who
        use the place. ``9`` stays in the denominator.

    Returns
    -------
    DataFrame
        ``by`` columns, ``place`` (code of :data:`ENSU_PLACES`), ``order`` (1-12), then the
        :func:`~territoria.analysis.survey.estimate` columns.

    Notes
    -----
    INEGI publishes ENSU's place results as the share of the population 18+ that feels
    unsafe in the place among those who go there (for instance 76-82 % for street cash
    machines, higher than any "over everybody" share could be given how many adults never
    use them). The ENSU questionnaire offers "No aplica" for exactly that reason. We could
    not consult INEGI's methodological note offline; the denominator choice is therefore a
    documented option, and the default follows the published tables.

    Examples
    --------
    >>> import pandas as pd
    >>> cols = {f"safety_place_{i:02d}": ["1", "2", "3"] for i in range(1, 13)}
    >>> out = ensu_places(pd.DataFrame({**cols, "w": 1.0}), weight="w")
    >>> out.loc[0, ["place", "order", "estimate", "n"]].to_dict()
    {'place': 'home', 'order': 1, 'estimate': 0.5, 'n': 2}
    """
    design = _design(design)
    cols = [f"{prefix}{i:02d}" for i in range(1, 13)]
    _need(responses, cols)
    codes = {**SAFE_CODES, "3": np.nan if exclude_not_applicable else 0.0}
    frames = []
    for i, (c, place) in enumerate(zip(cols, ENSU_PLACES, strict=True), start=1):
        data = responses.assign(_unsafe=_unsafe_indicator(responses[c], c, codes))
        r = estimate(data, "_unsafe", weight=weight, stat="proportion", by=by, **design)
        pos = len(r.columns) - 6
        r.insert(pos, "order", i)
        r.insert(pos, "place", place)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)
