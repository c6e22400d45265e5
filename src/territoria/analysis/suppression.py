"""Small-cell suppression for published tables.

A published cell that counts fewer than ``min_count`` people (``city.yml: min_cell_size``)
is blanked (*primary* suppression). When a table also publishes a total, one blanked cell
could be recovered by subtraction, so a second cell of the same total is blanked too
(*complementary* or *secondary* suppression).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"group": ["a", "b", "c"], "n": [12, 3, 8], "share": [0.52, 0.13, 0.35]})
>>> suppress(t, "n", min_count=5)
  group     n  share  suppressed suppression
0     a  12.0   0.52       False
1     b   NaN    NaN        True     primary
2     c   NaN    NaN        True   secondary
>>> is_publishable(4, 5), is_publishable(5, 5)
(False, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from territoria.exceptions import AnalysisError

__all__ = ["suppress", "is_publishable"]


def is_publishable(n, min_count: int):
    """Whether a count may be published: ``n >= min_count`` (missing counts are not).

    Parameters
    ----------
    n : int, float or array-like
        Number of people behind a cell.
    min_count : int
        Smallest publishable count (>= 1).

    Returns
    -------
    bool or ndarray of bool

    Examples
    --------
    >>> is_publishable([0, 4, 5, None], 5).tolist()
    [False, False, True, False]
    """
    if not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise AnalysisError(f"min_count={min_count!r} must be an integer >= 1")
    if np.ndim(n) == 0:
        return bool(pd.notna(n) and float(n) >= min_count)
    arr = pd.to_numeric(pd.Series(list(n), dtype=object), errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(arr), False, arr >= min_count)


def suppress(
    df: pd.DataFrame,
    count_col: str,
    *,
    min_count: int,
    value_cols: Sequence[str] | None = None,
    secondary: bool = True,
    groups: Sequence[str] | Sequence[Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Blank cells counting fewer than ``min_count`` people, with complementary suppression.

    Parameters
    ----------
    df : DataFrame
        One row per published cell.
    count_col : str
        Number of people behind each cell.
    min_count : int
        Smallest publishable count.
    value_cols : list of str, optional
        Columns blanked in suppressed rows (besides ``count_col``). Default: every numeric
        column except ``count_col`` (estimates, intervals...).
    secondary : bool
        Apply complementary suppression (default ``True``).
    groups : list of str, or list of lists of str, optional
        Sets of cells that add up to a published total. ``["sex"]`` means "cells with the same
        ``sex`` add up to a total" (e.g. the age groups within each sex); a list of lists gives
        several margins (e.g. ``[["sex"], ["age_group"]]`` for a table with row and column
        totals). Default: the whole table adds up to one total.

    Returns
    -------
    DataFrame
        A copy of ``df`` with ``count_col`` and ``value_cols`` set to NaN in suppressed rows,
        plus ``suppressed`` (bool) and ``suppression`` (``"primary"``, ``"secondary"`` or
        ``""``).

    Notes
    -----
    Primary: ``0 <= n < min_count`` (a zero is blanked too, since an empty cell can reveal
    that everybody else has a trait). Secondary: within each set of cells that adds up to a
    total, if exactly one cell is blanked, the smallest remaining cell is blanked too; this is
    repeated over all margins until nothing changes. This is the usual minimal rule of
    statistical offices for one-way and two-way frequency tables; it does not protect against
    every linear-programming attack on large multi-way tables.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"sex": ["female", "female", "male", "male"],
    ...                   "age_group": ["18_29", "30_44", "18_29", "30_44"],
    ...                   "n": [3, 20, 11, 14]})
    >>> suppress(t, "n", min_count=5, groups=[["sex"], ["age_group"]])["suppressed"].tolist()
    [True, True, True, True]
    """
    if count_col not in df.columns:
        raise AnalysisError(f"unknown count column '{count_col}' (available: {list(df.columns)})")
    if not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise AnalysisError(f"min_count={min_count!r} must be an integer >= 1")
    counts = pd.to_numeric(df[count_col], errors="coerce")
    if counts.isna().any():
        raise AnalysisError(f"count column '{count_col}' has missing or non-numeric values")
    if (counts < 0).any():
        raise AnalysisError(f"count column '{count_col}' has negative values")
    if value_cols is None:
        value_cols = [c for c in df.columns
                      if c != count_col and pd.api.types.is_numeric_dtype(df[c])
                      and not pd.api.types.is_bool_dtype(df[c])]
    else:
        value_cols = list(value_cols)
        missing = [c for c in value_cols if c not in df.columns]
        if missing:
            raise AnalysisError(f"unknown value column(s) {missing}")
    if groups is None:
        margins: list[list[str]] = [[]]
    elif all(isinstance(g, str) for g in groups):
        margins = [list(groups)]
    else:
        margins = [list(g) for g in groups]
    for g in margins:
        missing = [c for c in g if c not in df.columns]
        if missing:
            raise AnalysisError(f"unknown group column(s) {missing}")

    out = df.copy().reset_index(drop=True)
    c = counts.to_numpy(dtype=float)
    primary = c < min_count
    sup = primary.copy()
    if secondary:
        changed = True
        while changed:
            changed = False
            for g in margins:
                keys = (out.groupby(g, sort=False, dropna=False).ngroup().to_numpy()
                        if g else np.zeros(len(out), dtype=int))
                for k in np.unique(keys):
                    idx = np.flatnonzero(keys == k)
                    if len(idx) < 2 or sup[idx].sum() != 1:
                        continue
                    free = idx[~sup[idx]]
                    pick = free[np.argmin(c[free])]
                    sup[pick] = True
                    changed = True
    for col in [count_col, *value_cols]:
        out[col] = out[col].astype(float).where(~sup)
    out["suppressed"] = sup
    out["suppression"] = np.where(primary, "primary", np.where(sup, "secondary", ""))
    out.index = df.index
    return out
