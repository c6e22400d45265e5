"""Step 00, territorial selection: a composite priority index, ranking, sensitivity, cohorts.

Territories with a *lower* social-development index, a *higher* crime rate and more people
get more priority. Each component is normalised (``minmax``, ``zscore`` or ``rank``),
oriented so that higher means more priority, and combined with non-negative weights.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"territory_id": ["a", "b", "c"], "social_index": [0.9, 0.5, 0.7],
...                   "crime_rate": [10.0, 30.0, 20.0], "population": [1000, 3000, 2000]})
>>> rank_territories(t, {"social_index": 0.5, "crime_rate": 0.4, "population": 0.1},
...                  top=2)[["territory_id", "score", "rank", "selected"]]
  territory_id  score  rank  selected
0            b    1.0     1      True
1            c    0.5     2      True
2            a    0.0     3     False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from territoria.exceptions import AnalysisError

__all__ = [
    "COMPONENTS",
    "crime_rate_per_1000",
    "normalise",
    "priority_index",
    "rank_territories",
    "weight_sensitivity",
    "assign_cohorts",
]

#: Components of the index and their direction (+1: higher value = more priority).
COMPONENTS: dict[str, int] = {"social_index": -1, "crime_rate": +1, "population": +1}
NORMALISATIONS = ("minmax", "zscore", "rank")


def crime_rate_per_1000(crimes, population) -> np.ndarray:
    """Crimes per 1,000 inhabitants.

    Examples
    --------
    >>> crime_rate_per_1000([12, 0], [4000, 1500]).tolist()
    [3.0, 0.0]
    """
    c = np.asarray(crimes, dtype=float)
    p = np.asarray(population, dtype=float)
    if (p <= 0).any() or np.isnan(p).any():
        raise AnalysisError("population must be positive to compute a crime rate per 1,000")
    if (c < 0).any():
        raise AnalysisError("crime counts must be >= 0")
    return c / p * 1000.0


def normalise(x: pd.Series, method: str = "minmax") -> pd.Series:
    """Put a component on a common scale.

    ``minmax``: :math:`(x - \\min)/(\\max - \\min)` in [0, 1] (0.5 when all values are equal);
    ``zscore``: :math:`(x - \\bar x)/s` with the sample SD (0 when constant);
    ``rank``: average rank divided by n, in (0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> normalise(pd.Series([1.0, 2.0, 4.0]), "minmax").round(3).tolist()
    [0.0, 0.333, 1.0]
    >>> normalise(pd.Series([1.0, 2.0, 2.0]), "rank").round(3).tolist()
    [0.333, 0.833, 0.833]
    """
    x = pd.Series(x, dtype=float)
    if method == "minmax":
        span = x.max() - x.min()
        return (x - x.min()) / span if span > 0 else pd.Series(0.5, index=x.index)
    if method == "zscore":
        sd = x.std(ddof=1)
        return (x - x.mean()) / sd if sd > 0 else pd.Series(0.0, index=x.index)
    if method == "rank":
        return x.rank(method="average") / len(x)
    raise AnalysisError(
        f"normalisation '{method}' is not known (allowed: {', '.join(NORMALISATIONS)})"
    )


def _check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise AnalysisError("weights must be a mapping like {'social_index': 0.5, ...}")
    unknown = [k for k in weights if k not in COMPONENTS]
    if unknown:
        raise AnalysisError(
            f"unknown weight(s) {unknown} (allowed: {', '.join(COMPONENTS)})"
        )
    w = {k: float(weights.get(k, 0.0)) for k in COMPONENTS}
    if any(v < 0 or not np.isfinite(v) for v in w.values()):
        raise AnalysisError(f"weights must be finite and >= 0, got {w}")
    if sum(w.values()) <= 0:
        raise AnalysisError("at least one weight must be > 0")
    return w


def _check_frame(df: pd.DataFrame, id_col: str, needed: Sequence[str]) -> None:
    missing = [c for c in [id_col, *needed] if c not in df.columns]
    if missing:
        raise AnalysisError(f"territories lack column(s) {missing} (have: {list(df.columns)})")
    if df[id_col].duplicated().any():
        raise AnalysisError(f"territory id '{df[id_col][df[id_col].duplicated()].iloc[0]}' "
                            "appears more than once")
    for c in needed:
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            bad = df.loc[v.isna(), id_col].iloc[0]
            raise AnalysisError(f"territory '{bad}' has no numeric value in column '{c}'")


def priority_index(
    df: pd.DataFrame,
    weights: Mapping[str, float],
    normalisation: str = "minmax",
    *,
    id_col: str = "territory_id",
) -> pd.DataFrame:
    """Oriented, normalised components and the weighted composite score.

    Parameters
    ----------
    df : DataFrame
        One row per territory with ``id_col`` and the columns named in ``weights``
        (``social_index``, ``crime_rate`` per 1,000, ``population``).
    weights : mapping
        Non-negative weights by component; divided by their sum.
    normalisation : {'minmax', 'zscore', 'rank'}
    id_col : str

    Returns
    -------
    DataFrame
        ``id_col``, ``p_<component>`` (oriented and normalised: higher = more priority) and
        ``score`` = :math:`\\sum_k w_k p_k / \\sum_k w_k`.
    """
    w = _check_weights(weights)
    used = [k for k, v in w.items() if v > 0]
    _check_frame(df, id_col, used)
    out = pd.DataFrame({id_col: df[id_col].to_numpy()})
    total = sum(w.values())
    score = np.zeros(len(df))
    for k in used:
        oriented = COMPONENTS[k] * pd.to_numeric(df[k]).astype(float).reset_index(drop=True)
        p = normalise(oriented, normalisation)
        out[f"p_{k}"] = p.to_numpy()
        score += w[k] / total * p.to_numpy()
    out["score"] = score
    return out


def rank_territories(
    df: pd.DataFrame,
    weights: Mapping[str, float],
    normalisation: str = "minmax",
    top: int | None = None,
    *,
    id_col: str = "territory_id",
) -> pd.DataFrame:
    """Rank territories by the composite priority index and flag the ``top`` ones.

    Parameters
    ----------
    df, weights, normalisation, id_col
        As in :func:`priority_index`.
    top : int, optional
        Number of territories selected (default: one in ten, at least one).

    Returns
    -------
    DataFrame
        The input columns plus ``p_<component>``, ``score``, ``rank`` (1 = highest priority;
        ties broken by ``id_col`` so the result is reproducible) and ``selected``, sorted by
        rank.
    """
    top = default_top(len(df)) if top is None else top
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise AnalysisError(f"top={top!r} must be a positive integer")
    idx = priority_index(df, weights, normalisation, id_col=id_col)
    merged = df.reset_index(drop=True).drop(
        columns=[c for c in idx.columns if c != id_col and c in df.columns])
    merged = merged.merge(idx, on=id_col, how="left")
    merged = merged.sort_values(["score", id_col], ascending=[False, True], kind="stable")
    merged["rank"] = np.arange(1, len(merged) + 1)
    merged["selected"] = merged["rank"] <= top
    return merged.reset_index(drop=True)


def default_top(n: int) -> int:
    """One in ten of ``n`` territories, at least one.

    >>> default_top(293), default_top(5)
    (30, 1)
    """
    return max(1, -(-int(n) // 10))


def weight_sensitivity(
    df: pd.DataFrame,
    weights: Mapping[str, float],
    top: int | None = None,
    *,
    grid: Sequence[Mapping[str, float]] | None = None,
    n: int = 200,
    concentration: float = 20.0,
    seed: int | None = 0,
    normalisation: str = "minmax",
    id_col: str = "territory_id",
) -> pd.DataFrame:
    """How many of the ``top`` territories change under alternative weightings.

    Parameters
    ----------
    df, weights, top, normalisation, id_col
        The baseline, as in :func:`rank_territories`.
    grid : list of mappings, optional
        Alternative weightings to try. If omitted, ``n`` weightings are drawn from a
        Dirichlet distribution centred on the baseline weights (``concentration`` controls
        the spread: larger = closer to the baseline), with ``seed``.

    Returns
    -------
    DataFrame
        One row per alternative: ``alternative`` (0..), ``w_<component>`` (normalised to sum
        1), ``n_changed`` (baseline-selected territories that drop out of the top, equal to
        the number that come in), ``share_changed`` (``n_changed / top``) and ``rank_corr``
        (Spearman correlation of the scores with the baseline scores).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"territory_id": list("abcd"), "social_index": [0.2, 0.4, 0.6, 0.8],
    ...                   "crime_rate": [1.0, 9.0, 3.0, 4.0], "population": [5, 5, 5, 5]})
    >>> weight_sensitivity(t, {"social_index": 1.0}, top=2,
    ...                    grid=[{"crime_rate": 1.0}])[["n_changed", "share_changed"]]
       n_changed  share_changed
    0          1            0.5
    """
    top = default_top(len(df)) if top is None else top
    base = rank_territories(df, weights, normalisation, top, id_col=id_col)
    base_top = set(base.loc[base["selected"], id_col])
    base_score = base.set_index(id_col)["score"]
    if grid is None:
        if n < 1:
            raise AnalysisError(f"n={n} must be >= 1")
        if concentration <= 0:
            raise AnalysisError("concentration must be > 0")
        w0 = _check_weights(weights)
        keys = [k for k, v in w0.items() if v > 0]
        alpha = np.array([w0[k] for k in keys]) / sum(w0[k] for k in keys) * concentration
        rng = np.random.default_rng(seed)
        draws = rng.dirichlet(alpha, size=n) if len(keys) > 1 else np.ones((n, 1))
        grid = [dict(zip(keys, d, strict=True)) for d in draws]
    rows = []
    for i, alt in enumerate(grid):
        wa = _check_weights(alt)
        s = sum(wa.values())
        r = rank_territories(df, wa, normalisation, top, id_col=id_col)
        alt_top = set(r.loc[r["selected"], id_col])
        changed = len(base_top - alt_top)
        scores = r.set_index(id_col)["score"].reindex(base_score.index)
        corr = scores.rank().corr(base_score.rank())
        rows.append({"alternative": i, **{f"w_{k}": wa[k] / s for k in COMPONENTS},
                     "n_changed": changed, "share_changed": changed / min(top, len(base)),
                     "rank_corr": corr})
    return pd.DataFrame(rows)


def assign_cohorts(
    ranked: pd.DataFrame,
    sizes: Sequence[int],
    dates: Sequence[dt.date | str],
    *,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Assign territories, in rank order, to cohorts that join on successive dates.

    Parameters
    ----------
    ranked : DataFrame
        Output of :func:`rank_territories` (needs ``rank``).
    sizes : list of int
        Territories per cohort, in joining order (e.g. ``[22, 54, 54]``).
    dates : list of date or ISO string
        Joining date of each cohort (non-decreasing).
    labels : list of str, optional
        Cohort ids (default ``c1``, ``c2``...).

    Returns
    -------
    DataFrame
        ``ranked`` plus ``cohort`` and ``joined_on`` (missing for territories beyond the last
        cohort: never treated).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"territory_id": list("abcde"), "rank": [1, 2, 3, 4, 5]})
    >>> assign_cohorts(r, [2, 2], ["2018-12-24", "2019-06-01"])[["territory_id", "cohort"]]
      territory_id cohort
    0            a     c1
    1            b     c1
    2            c     c2
    3            d     c2
    4            e    NaN
    """
    if "rank" not in ranked.columns:
        raise AnalysisError("ranked needs a 'rank' column (use rank_territories first)")
    sizes = list(sizes)
    if len(sizes) != len(dates):
        raise AnalysisError(f"{len(sizes)} cohort sizes but {len(dates)} dates: give one date per cohort")
    if any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise AnalysisError(f"cohort sizes must be positive integers, got {sizes}")
    if sum(sizes) > len(ranked):
        raise AnalysisError(f"cohorts add up to {sum(sizes)} territories but only {len(ranked)} are ranked")
    try:
        parsed = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in dates]
    except ValueError as e:
        raise AnalysisError(f"cohort dates must be ISO dates (YYYY-MM-DD): {e}") from None
    if any(b < a for a, b in zip(parsed, parsed[1:], strict=False)):
        raise AnalysisError(f"cohort dates must not go backwards: {[str(d) for d in parsed]}")
    labels = list(labels) if labels is not None else [f"c{i + 1}" for i in range(len(sizes))]
    if len(labels) != len(sizes) or len(set(labels)) != len(labels):
        raise AnalysisError("labels must be unique, one per cohort")
    out = ranked.sort_values("rank", kind="stable").reset_index(drop=True)
    cohort = np.full(len(out), None, dtype=object)
    joined = np.full(len(out), None, dtype=object)
    start = 0
    for size, label, date in zip(sizes, labels, parsed, strict=True):
        cohort[start:start + size] = label
        joined[start:start + size] = date
        start += size
    out["cohort"] = pd.Series(cohort, dtype=object).where(pd.notna(cohort), np.nan)
    out["joined_on"] = pd.to_datetime(pd.Series(joined, dtype=object)).dt.date
    return out
