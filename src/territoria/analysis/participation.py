"""Step 01, network and assemblies: coverage, activity, attendance, links, representativeness.

Inputs follow the data contract (CONTRIBUTING.md): the ``assembly`` table (``assembly_code,
kind, mode, date, territory, block, att_female_18_29 .. att_male_60_plus``), the ``blocks``
table (``block_id, territory_id``), a links table (``link_id, territory_id, area``) and the
``census_margins`` table (``territory_id, sex, age_group, population``).

Examples
--------
>>> wilson_interval(81, 263)  # Newcombe (1998), Table II: 0.2553 to 0.3662
(0.2553, 0.3662)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats

from territoria.exceptions import AnalysisError

__all__ = [
    "SEXES",
    "AGE_GROUPS",
    "ATTENDANCE_COLUMNS",
    "MODES",
    "wilson_interval",
    "poisson_interval",
    "block_coverage",
    "assemblies_by_month",
    "attendance_summary",
    "links_per_1000",
    "representativeness",
    "dissimilarity",
    "repeat_participation",
]

SEXES = ("female", "male")
AGE_GROUPS = ("18_29", "30_44", "45_59", "60_plus")
ATTENDANCE_COLUMNS = tuple(f"att_{s}_{a}" for s in SEXES for a in AGE_GROUPS)
MODES = ("in_person", "virtual", "hybrid")


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError(f"{what} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisError(f"{what} lacks column(s) {missing} (have: {list(df.columns)[:15]})")


def wilson_interval(x: int, n: int, level: float = 0.95, digits: int | None = 4):
    r"""Wilson score interval for a proportion :math:`x/n`.

    .. math:: \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    Returns ``(low, high)`` (NaN when ``n == 0``), rounded to ``digits`` (None: no rounding).
    Reference: Newcombe, R. G. (1998) Two-sided confidence intervals for the single
    proportion, *Statistics in Medicine* 17, 857-872.

    Examples
    --------
    >>> wilson_interval(0, 20)
    (0.0, 0.1611)
    """
    if n < 0 or x < 0 or x > n:
        raise AnalysisError(f"need 0 <= x <= n, got x={x}, n={n}")
    if n == 0:
        return (np.nan, np.nan)
    z = stats.norm.ppf((1 + level) / 2)
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    lo = float(max(0.0, (centre - half) / den))
    hi = float(min(1.0, (centre + half) / den))
    if digits is not None:
        return (round(lo, digits), round(hi, digits))
    return (lo, hi)


def poisson_interval(x, level: float = 0.95):
    """Exact (Garwood) interval for a Poisson count ``x``: chi-square quantiles / 2.

    Examples
    --------
    >>> [round(v, 4) for v in poisson_interval(10)]  # Garwood (1936): 4.7954 to 18.3904
    [4.7954, 18.3904]
    """
    x = np.asarray(x, dtype=float)
    a = 1 - level
    lo = np.where(x > 0, stats.chi2.ppf(a / 2, 2 * x) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a / 2, 2 * (x + 1)) / 2
    if x.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def block_coverage(
    assemblies: pd.DataFrame,
    blocks: pd.DataFrame,
    *,
    kinds: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of blocks with at least one assembly, per territory, with a Wilson interval.

    Parameters
    ----------
    assemblies : DataFrame
        ``territory``, ``block`` (and ``kind`` if ``kinds`` is given).
    blocks : DataFrame
        All blocks: ``block_id``, ``territory_id``.
    kinds : list of str, optional
        Only count these kinds of assembly (e.g. ``["block_assembly"]``).
    level : float

    Returns
    -------
    DataFrame
        ``territory_id``, ``blocks_total``, ``blocks_covered``, ``coverage`` (0-1),
        ``ci_low``, ``ci_high`` (Wilson).

    Raises
    ------
    AnalysisError
        An assembly names a block that is not in ``blocks``.

    Examples
    --------
    >>> import pandas as pd
    >>> b = pd.DataFrame({"block_id": ["t-1", "t-2", "t-3", "t-4"], "territory_id": "t"})
    >>> a = pd.DataFrame({"territory": ["t", "t", "t"], "block": ["t-1", "t-1", "t-3"]})
    >>> block_coverage(a, b)
      territory_id  blocks_total  blocks_covered  coverage  ci_low  ci_high
    0            t             4               2       0.5  0.1500   0.8500
    """
    _need(assemblies, ["territory", "block"], "assemblies")
    _need(blocks, ["block_id", "territory_id"], "blocks")
    a = assemblies
    if kinds is not None:
        _need(a, ["kind"], "assemblies")
        a = a[a["kind"].isin(list(kinds))]
    a = a.dropna(subset=["block"])
    unknown = set(a["block"]) - set(blocks["block_id"])
    if unknown:
        raise AnalysisError(
            f"assemblies name block(s) not in the blocks table: {sorted(unknown)[:5]}"
        )
    covered = set(a["block"])
    rows = []
    for terr, g in blocks.groupby("territory_id", sort=True):
        total = int(g["block_id"].nunique())
        cov = int(g["block_id"].isin(covered).sum())
        lo, hi = wilson_interval(cov, total, level)
        rows.append({"territory_id": terr, "blocks_total": total, "blocks_covered": cov,
                     "coverage": cov / total if total else np.nan, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def assemblies_by_month(
    assemblies: pd.DataFrame, *, by: str = "mode", levels: Sequence[str] | None = MODES
) -> pd.DataFrame:
    """Number of assemblies per calendar month and mode (zeros included).

    Parameters
    ----------
    assemblies : DataFrame
        ``date`` and the ``by`` column (default ``mode``).
    by : str
        Grouping column.
    levels : list of str, optional
        All levels to report even if absent (default the three modes); None: levels seen.

    Returns
    -------
    DataFrame
        ``month`` (first day, Timestamp), ``by``, ``assemblies`` (int), for every month from
        the first to the last assembly.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"date": ["2019-01-05", "2019-01-20", "2019-03-02"],
    ...                   "mode": ["in_person", "virtual", "in_person"]})
    >>> assemblies_by_month(a).pivot(index="month", columns="mode", values="assemblies")
    mode        hybrid  in_person  virtual
    month
    2019-01-01       0          1        1
    2019-02-01       0          0        0
    2019-03-01       0          1        0
    """
    _need(assemblies, ["date", by], "assemblies")
    d = pd.to_datetime(assemblies["date"], errors="coerce", format="ISO8601")
    if d.isna().any():
        bad = assemblies.loc[d.isna(), "date"].iloc[0]
        raise AnalysisError(f"assemblies column 'date' has an invalid or missing date: {bad!r}")
    seen = assemblies[by].dropna().unique().tolist()
    lv = list(levels) if levels is not None else sorted(seen, key=str)
    extra = set(seen) - set(lv)
    if extra:
        raise AnalysisError(f"column '{by}' has unexpected value(s) {sorted(extra)} "
                            f"(allowed: {', '.join(lv)})")
    if len(d) == 0:
        return pd.DataFrame(columns=["month", by, "assemblies"])
    month = d.dt.to_period("M")
    months = pd.period_range(month.min(), month.max(), freq="M")
    counts = pd.crosstab(month, assemblies[by]).reindex(index=months, columns=lv, fill_value=0)
    counts.index = pd.PeriodIndex(counts.index).to_timestamp()
    counts.index.name = "month"
    counts.columns.name = by
    out = cast(pd.Series, counts.stack()).rename("assemblies").reset_index()
    out["assemblies"] = out["assemblies"].astype(int)
    return out


def _attendance_matrix(assemblies: pd.DataFrame) -> np.ndarray:
    _need(assemblies, list(ATTENDANCE_COLUMNS), "assemblies")
    m = assemblies[list(ATTENDANCE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    if m.isna().any().any():
        col = m.columns[m.isna().any()][0]
        raise AnalysisError(f"attendance column '{col}' has missing or non-numeric values")
    if (m < 0).any().any():
        col = m.columns[(m < 0).any()][0]
        raise AnalysisError(f"attendance column '{col}' has negative counts")
    return m.to_numpy(dtype=float)


def attendance_summary(
    assemblies: pd.DataFrame, *, by: str | Sequence[str] | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Attendance per assembly: totals, mean with t interval, median and range.

    Parameters
    ----------
    assemblies : DataFrame
        The eight ``att_<sex>_<age_group>`` columns (and ``by`` columns).
    by : str or list of str, optional
        E.g. ``"kind"`` or ``["territory", "mode"]``.

    Returns
    -------
    DataFrame
        ``by`` columns, ``assemblies``, ``attendance`` (sum), ``women`` (share of attendees
        who are women), ``mean``, ``ci_low``, ``ci_high`` (t interval of the mean over
        assemblies), ``median``, ``min``, ``max``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({c: [2, 4] for c in ATTENDANCE_COLUMNS})
    >>> attendance_summary(a)[["assemblies", "attendance", "mean", "women"]]
       assemblies  attendance  mean  women
    0           2          48  24.0    0.5
    """
    m = _attendance_matrix(assemblies)
    total = m.sum(axis=1)
    women = m[:, : len(AGE_GROUPS)].sum(axis=1)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    _need(assemblies, by_cols, "assemblies")
    frame = pd.DataFrame({"total": total, "women": women})
    for c in by_cols:
        frame[c] = assemblies[c].to_numpy()
    groups = frame.groupby(by_cols, sort=True) if by_cols else [((), frame)]
    rows = []
    for key, g in groups:
        t = g["total"].to_numpy()
        n = len(t)
        mean = t.mean() if n else np.nan
        if n > 1:
            half = stats.t.ppf((1 + level) / 2, n - 1) * t.std(ddof=1) / np.sqrt(n)
        else:
            half = np.nan
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by_cols, key, strict=True)), "assemblies": n,
                     "attendance": int(t.sum()),
                     "women": g["women"].sum() / t.sum() if t.sum() else np.nan,
                     "mean": mean, "ci_low": mean - half, "ci_high": mean + half,
                     "median": float(np.median(t)) if n else np.nan,
                     "min": int(t.min()) if n else 0, "max": int(t.max()) if n else 0})
    return pd.DataFrame(rows)


def links_per_1000(
    links: pd.DataFrame,
    territories: pd.DataFrame,
    *,
    by_area: bool = True,
    areas: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Community links per 1,000 inhabitants, by territory (and area of action).

    Parameters
    ----------
    links : DataFrame
        ``link_id``, ``territory_id``, ``area`` (a code of ``areas``).
    territories : DataFrame
        ``territory_id``, ``population``.
    by_area : bool
        One row per territory and area (zeros included) or per territory.
    areas : sequence of str, optional
        The areas of action the city declares (``city.yml: link_areas``), in their order; a
        link in another area is an error. Default: any area, those present in ``links``.

    Returns
    -------
    DataFrame
        ``territory_id``, (``area``), ``links``, ``population``, ``per_1000``, ``ci_low``,
        ``ci_high`` (exact Poisson interval of the count, scaled).

    Examples
    --------
    >>> import pandas as pd
    >>> links = pd.DataFrame({"link_id": [1, 2, 3], "territory_id": "t",
    ...                       "area": ["health", "youth", "youth"]})
    >>> terr = pd.DataFrame({"territory_id": ["t"], "population": [2000]})
    >>> links_per_1000(links, terr, by_area=False)[["links", "per_1000"]]
       links  per_1000
    0      3       1.5
    """
    _need(links, ["link_id", "territory_id", "area"], "links")
    _need(territories, ["territory_id", "population"], "territories")
    bad = set(links["area"].dropna()) - set(areas) if areas else set()
    if bad or links["area"].isna().any():
        allowed = f" (allowed: {', '.join(areas)})" if areas else ""
        raise AnalysisError(f"links column 'area' has unknown or missing value(s) "
                            f"{sorted(map(str, bad))}{allowed}")
    areas = list(areas) if areas else sorted(links["area"].astype(str).unique())
    unknown = set(links["territory_id"]) - set(territories["territory_id"])
    if unknown:
        raise AnalysisError(f"links name territory id(s) not in territories: {sorted(unknown)[:5]}")
    pop = territories.set_index("territory_id")["population"].astype(float)
    if (pop <= 0).any() or pop.isna().any():
        raise AnalysisError("territories need a positive 'population' to compute rates")
    links = links.drop_duplicates("link_id")
    if by_area:
        idx = pd.MultiIndex.from_product([pop.index, areas], names=["territory_id", "area"])
        counts = links.groupby(["territory_id", "area"]).size().reindex(idx, fill_value=0)
    else:
        counts = links.groupby("territory_id").size().reindex(pop.index, fill_value=0)
    out = counts.rename("links").reset_index()
    out["population"] = out["territory_id"].map(pop)
    lo, hi = poisson_interval(out["links"].to_numpy(), level)
    out["per_1000"] = out["links"] / out["population"] * 1000
    out["ci_low"] = lo / out["population"] * 1000
    out["ci_high"] = hi / out["population"] * 1000
    out["links"] = out["links"].astype(int)
    return out


# --- representativeness --------------------------------------------------------------------

def _census_shares(census: pd.DataFrame) -> np.ndarray:
    _need(census, ["sex", "age_group", "population"], "census")
    c = census.groupby(["sex", "age_group"])["population"].sum()
    idx = pd.MultiIndex.from_product([SEXES, AGE_GROUPS])
    extra = set(c.index) - set(idx)
    if extra:
        raise AnalysisError(f"census has unknown sex/age_group cell(s) {sorted(extra)[:3]}")
    shares = c.reindex(idx, fill_value=0).to_numpy(dtype=float)
    if shares.sum() <= 0:
        raise AnalysisError("census population adds up to 0")
    return shares / shares.sum()


def _participant_counts(data: pd.DataFrame):
    """Return (units x 8 count matrix, kind) from assemblies (wide) or participants (long)."""
    if all(c in data.columns for c in ATTENDANCE_COLUMNS):
        return _attendance_matrix(data), "assemblies"
    _need(data, ["sex", "age_group"], "participants (or assemblies with att_* columns)")
    d = data.dropna(subset=["sex", "age_group"])
    bad = (~d["sex"].isin(SEXES)) | (~d["age_group"].isin(AGE_GROUPS))
    if bad.any():
        row = d[bad].iloc[0]
        raise AnalysisError(f"participant with unknown sex/age_group {row['sex']!r}/"
                            f"{row['age_group']!r} (allowed: {SEXES}, {AGE_GROUPS})")
    cell = d["sex"].map({s: i for i, s in enumerate(SEXES)}).to_numpy() * len(AGE_GROUPS) + \
        d["age_group"].map({a: i for i, a in enumerate(AGE_GROUPS)}).to_numpy()
    m = np.zeros((len(d), len(ATTENDANCE_COLUMNS)))
    m[np.arange(len(d)), cell.astype(int)] = 1
    return m, "participants"


def _bootstrap(m: np.ndarray, n_boot: int, seed) -> np.ndarray:
    """Participant shares (n_boot x 8) resampling units (rows of ``m``) with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(m), size=(n_boot, len(m)))
    tot = m[idx].sum(axis=1)
    s = tot.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / s


def representativeness(
    data: pd.DataFrame,
    census: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Who came, compared with the census: share and ratio by sex x age group.

    Parameters
    ----------
    data : DataFrame
        Either assemblies with the eight ``att_<sex>_<age_group>`` columns (the bootstrap
        resamples assemblies) or one row per participant with ``sex`` and ``age_group`` (the
        bootstrap resamples participants).
    census : DataFrame
        ``sex``, ``age_group``, ``population`` (adults; summed over territories given).
    n_boot, seed, level
        Percentile bootstrap.

    Returns
    -------
    DataFrame
        ``sex``, ``age_group``, ``participants``, ``participant_share``, ``census_share``,
        ``ratio`` (participant share / census share: 1 = represented as in the census,
        below 1 = under-represented), ``ci_low``, ``ci_high`` (bootstrap interval of the ratio).
        ``attrs["unit"]`` says what was resampled.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"sex": ["female"] * 6 + ["male"] * 2,
    ...                        "age_group": ["30_44"] * 8})
    >>> census = pd.DataFrame({"sex": ["female", "male"], "age_group": ["30_44", "30_44"],
    ...                        "population": [500, 500]})
    >>> r = representativeness(people, census, n_boot=200)
    >>> r.loc[r["participants"] > 0, ["sex", "participant_share", "ratio"]]
          sex  participant_share  ratio
    1  female               0.75    1.5
    5    male               0.25    0.5
    """
    m, unit = _participant_counts(data)
    q = _census_shares(census)
    counts = m.sum(axis=0)
    if counts.sum() <= 0:
        raise AnalysisError("no participants to compare with the census")
    p = counts / counts.sum()
    boot = _bootstrap(m, n_boot, seed)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(q > 0, p / q, np.nan)
        bratio = np.where(q > 0, boot / q, np.nan)
    lo = np.full(len(q), np.nan)
    hi = np.full(len(q), np.nan)
    ok = q > 0
    if n_boot and ok.any():
        lo[ok] = np.nanquantile(bratio[:, ok], a, axis=0)
        hi[ok] = np.nanquantile(bratio[:, ok], 1 - a, axis=0)
    out = pd.DataFrame({
        "sex": [s for s in SEXES for _ in AGE_GROUPS],
        "age_group": list(AGE_GROUPS) * len(SEXES),
        "participants": counts.astype(int), "participant_share": p, "census_share": q,
        "ratio": ratio, "ci_low": lo, "ci_high": hi,
    })
    out.attrs["unit"] = unit
    return out


def dissimilarity(
    data: pd.DataFrame,
    census: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int | None = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Dissimilarity index between participants and the census over sex x age groups.

    :math:`D = \tfrac12 \sum_i |p_i - q_i|`, the share of participants who would have to be
    of another group for the participants to mirror the census (0 = identical profile).

    Parameters
    ----------
    data, census, n_boot, seed, level
        As in :func:`representativeness`.

    Returns
    -------
    DataFrame
        One row: ``D``, ``ci_low``, ``ci_high`` (percentile bootstrap), ``participants``,
        ``units`` (assemblies or participants resampled), ``unit``.

    Notes
    -----
    A bootstrap of :math:`D` is biased upwards when groups are small (sampling noise alone
    makes :math:`|p_i - q_i| > 0`); read the interval as "at least this uneven".

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"sex": ["female"] * 6 + ["male"] * 2, "age_group": "30_44"})
    >>> census = pd.DataFrame({"sex": ["female", "male"], "age_group": "30_44",
    ...                        "population": [500, 500]})
    >>> float(dissimilarity(people, census, n_boot=100).loc[0, "D"])
    0.25
    """
    m, unit = _participant_counts(data)
    q = _census_shares(census)
    counts = m.sum(axis=0)
    if counts.sum() <= 0:
        raise AnalysisError("no participants to compare with the census")
    d = 0.5 * np.abs(counts / counts.sum() - q).sum()
    boot = 0.5 * np.abs(_bootstrap(m, n_boot, seed) - q).sum(axis=1)
    a = (1 - level) / 2
    lo, hi = (np.nanquantile(boot, [a, 1 - a]) if n_boot else (np.nan, np.nan))
    return pd.DataFrame([{"D": d, "ci_low": lo, "ci_high": hi,
                          "participants": int(counts.sum()), "units": len(m), "unit": unit}])


def repeat_participation(
    records: pd.DataFrame,
    *,
    code: str = "participant_code",
    occasion: str = "round",
    min_times: int = 2,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of participant codes seen in at least ``min_times`` distinct occasions.

    Parameters
    ----------
    records : DataFrame
        One row per participation (e.g. the ``votes`` or ``process`` table), with the
        pseudonymous ``code`` and the ``occasion`` (assembly code, round...).
    code, occasion : str
        Column names.
    min_times : int
        Threshold (default 2).

    Returns
    -------
    DataFrame
        One row: ``participants`` (distinct codes), ``repeat`` (codes with >= ``min_times``
        occasions), ``share``, ``ci_low``, ``ci_high`` (Wilson).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"participant_code": ["a", "a", "b", "c", "c", "c"],
    ...                   "round": ["assembly", "collective", "assembly", "assembly",
    ...                             "assembly", "agenda_validation"]})
    >>> repeat_participation(r)[["participants", "repeat", "share"]].round(3)
       participants  repeat  share
    0             3       2  0.667
    """
    _need(records, [code, occasion], "records")
    r = records.dropna(subset=[code, occasion])
    times = r.groupby(code)[occasion].nunique()
    n = int(len(times))
    k = int((times >= min_times).sum())
    lo, hi = wilson_interval(k, n, level, digits=None)
    return pd.DataFrame([{"participants": n, "repeat": k, "share": k / n if n else np.nan,
                          "ci_low": lo, "ci_high": hi}])
