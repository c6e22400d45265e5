"""Pre/post panels (wellbeing, perception, repeated questionnaire items): paired change and
mixed ANOVA, with effect sizes and their confidence intervals.

Examples
--------
>>> df = pd.DataFrame({"id": [1, 2, 3, 4] * 2, "wave": ["pre"] * 4 + ["post"] * 4,
...                    "score": [3, 4, 2, 5, 4, 5, 4, 5]})
>>> r = paired_change(df, subject="id", within="wave", dv="score")
>>> r[["n", "mean_pre", "mean_post", "diff"]].to_dict("records")
[{'n': 4, 'mean_pre': 3.5, 'mean_post': 4.5, 'diff': 1.0}]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from territoria.exceptions import AnalysisError, DataError

__all__ = ["paired_change", "mixed_anova", "dz_ci", "partial_eta2_ci"]


def _check_cols(data: pd.DataFrame, cols: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise AnalysisError("data must be a pandas DataFrame")
    for c in cols:
        if c not in data.columns:
            raise AnalysisError(f"column '{c}' not in the data (columns: "
                                f"{', '.join(map(str, data.columns))})")


def dz_ci(t: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Confidence interval of Cohen's d_z from the paired t statistic (noncentral t).

    Finds the noncentrality parameters :math:`\\delta` with
    :math:`P(T_{n-1,\\delta} \\le t) = 1-\\alpha/2` and :math:`\\alpha/2`, then divides by
    :math:`\\sqrt n` (Steiger & Fouladi 1997; Cumming & Finch 2001).

    Examples
    --------
    >>> lo, hi = dz_ci(3.0, 20)
    >>> round(lo, 3) < 3.0 / 20 ** 0.5 < round(hi, 3)
    True
    """
    if n < 2 or not np.isfinite(t):
        return (float("nan"), float("nan"))
    df = n - 1

    def solve(p):
        f = lambda d: stats.nct.cdf(t, df, d) - p  # noqa: E731
        lo, hi = t - 1.0, t + 1.0
        while f(lo) < 0:  # cdf decreases in the noncentrality
            lo -= 1.0
        while f(hi) > 0:
            hi += 1.0
        return optimize.brentq(f, lo, hi, xtol=1e-12)

    return (solve(1 - alpha / 2) / math.sqrt(n), solve(alpha / 2) / math.sqrt(n))


def paired_change(data: pd.DataFrame, subject: str, within: str, dv: str | Sequence[str],
                  pre: str = "pre", post: str = "post", alpha: float = 0.05,
                  by: str | None = None) -> pd.DataFrame:
    """Change from ``pre`` to ``post`` for the same subjects: paired t and Wilcoxon tests.

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and moment.
    subject : str
        Subject identifier (e.g. ``respondent_code``, ``participant_code``).
    within : str
        Column with the moment (e.g. ``wave`` with ``pre``/``post``, ``moment`` with
        ``start``/``end``).
    dv : str or list of str
        Numeric outcome(s); one result row each.
    pre, post : str
        The two values of ``within`` to compare.
    alpha : float
        1 - confidence level.
    by : str, optional
        Compute separately within each value of this column (e.g. ``territory``).

    Returns
    -------
    DataFrame
        ``dv``, (``by``), ``n`` (complete pairs), ``mean_pre``, ``mean_post``, ``diff``
        (post - pre), ``diff_ci_low``, ``diff_ci_high``, ``t``, ``df``, ``p_val``,
        ``dz`` (Cohen's d_z = mean difference / SD of differences), ``dz_ci_low``,
        ``dz_ci_high``, ``wilcoxon_p`` (signed-rank test, conventions of R ``wilcox.test``).

    Notes
    -----
    Subjects without both moments are dropped (listwise). Subjects with two rows at the same
    moment raise :class:`DataError`.

    Examples
    --------
    >>> extra = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0,
    ...          1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> sleep = pd.DataFrame({"id": list(range(10)) * 2, "drug": ["a"] * 10 + ["b"] * 10,
    ...                       "extra": extra})
    >>> r = paired_change(sleep, "id", "drug", "extra", pre="b", post="a").iloc[0]
    >>> round(float(r["t"]), 4), round(float(r["p_val"]), 6)
    (-4.0621, 0.002833)
    """
    dvs = [dv] if isinstance(dv, str) else list(dv)
    _check_cols(data, [subject, within, *dvs] + ([by] if by else []))
    present = set(data[within].dropna().astype(str))
    for m in (pre, post):
        if m not in present:
            raise DataError(f"moment '{m}' not found (values: {', '.join(sorted(present))})",
                            column=within, rule=f"two moments {pre}/{post}")
    d = data[data[within].astype(str).isin([pre, post])]
    keys = [subject, within] + ([by] if by else [])
    dup = d.duplicated(keys, keep=False)
    if dup.any():
        i = dup.to_numpy().nonzero()[0][0]
        raise DataError(f"subject {d[subject].iloc[i]!r} appears twice at moment "
                        f"{d[within].iloc[i]!r}", column=subject, rule="one row per subject "
                        "and moment")
    groups = [(None, d)] if not by else list(d.groupby(by, sort=True))
    rows = []
    for key, part in groups:
        for v in dvs:
            vals = pd.to_numeric(part[v], errors="coerce")
            if (vals.isna() & part[v].notna()).any():
                raise DataError("values must be numeric", column=v, rule="numeric outcome")
            wide = part.assign(_v=vals).pivot(index=subject, columns=within, values="_v")
            wide = wide.dropna(subset=[pre, post]) if len(wide) else wide
            a = wide[pre].to_numpy(dtype=float) if len(wide) else np.array([])
            b = wide[post].to_numpy(dtype=float) if len(wide) else np.array([])
            row = _paired_row(*_value_order(a, b), alpha)
            row = {"dv": v, **({by: key[0] if isinstance(key, tuple) else key} if by else {}),
                   **row}
            rows.append(row)
    return pd.DataFrame(rows)


def _value_order(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(a, b)`` sorted by value, so sums over them add in an order that depends on
    the values only: the pivot orders them by subject code, a pseudonym that changes with the
    workspace's secret, and a different order changes the last bit of a mean or SD.

    >>> _value_order(np.array([2.0, 1.0, 2.0]), np.array([1.0, 3.0, 0.0]))
    (array([1., 2., 2.]), array([3., 0., 1.]))
    """
    o = np.lexsort((b, a))
    return a[o], b[o]


def _paired_row(a: np.ndarray, b: np.ndarray, alpha: float) -> dict:
    n = len(a)
    nan = float("nan")
    row = {"n": n, "mean_pre": float(a.mean()) if n else nan,
           "mean_post": float(b.mean()) if n else nan}
    diff = b - a
    row["diff"] = float(diff.mean()) if n else nan
    if n < 2:
        row.update(diff_ci_low=nan, diff_ci_high=nan, t=nan, df=n - 1, p_val=nan, dz=nan,
                   dz_ci_low=nan, dz_ci_high=nan, wilcoxon_p=nan)
        return row
    sd = float(diff.std(ddof=1))
    se = sd / math.sqrt(n)
    q = stats.t.ppf(1 - alpha / 2, n - 1)
    if sd == 0:
        t, p, dz, lo, hi = nan, nan, nan, nan, nan
    else:
        t = row["diff"] / se
        p = float(2 * stats.t.sf(abs(t), n - 1))
        dz = row["diff"] / sd
        lo, hi = dz_ci(t, n, alpha)
    wp = _wilcoxon_like_r(diff)
    row.update(diff_ci_low=row["diff"] - q * se, diff_ci_high=row["diff"] + q * se, t=t,
               df=n - 1, p_val=p, dz=dz, dz_ci_low=lo, dz_ci_high=hi, wilcoxon_p=wp)
    return row


def _wilcoxon_like_r(diff: np.ndarray) -> float:
    """Signed-rank p-value as R ``wilcox.test(paired = TRUE)``: exact without ties or zeros
    and n < 50, otherwise the normal approximation with continuity correction."""
    nz = diff[diff != 0]
    if len(nz) == 0:
        return float("nan")
    ties = len(np.unique(np.abs(nz))) < len(nz)
    exact = len(diff) < 50 and not ties and len(nz) == len(diff)
    try:
        if exact:
            return float(stats.wilcoxon(diff, method="exact").pvalue)
        return float(stats.wilcoxon(diff, method="approx", correction=True).pvalue)
    except ValueError:
        return float("nan")


#: Above this noncentrality :func:`ncf_cdf` leaves scipy's noncentral F (which returns NaN
#: for very large values, e.g. F = 1e10 with 1 and 20 df) for the normal-mixture form.
NCF_LARGE_LAMBDA = 1e7


def ncf_cdf(F: float, df1: float, df2: float, lam: float) -> float:
    """Noncentral F distribution function, stable for very large noncentrality.

    Below :data:`NCF_LARGE_LAMBDA` (and whenever it is finite) scipy's ``ncf.cdf``. Above it,
    :math:`P(F \\le f) = P(X_1 \\le c X_2)` with :math:`c = f\\,df_1/df_2`,
    :math:`X_2 \\sim \\chi^2_{df_2}` and :math:`X_1 \\sim \\chi^2_{df_1}(\\lambda)`
    taken as normal with its exact mean :math:`df_1+\\lambda` and variance
    :math:`2(df_1+2\\lambda)` (skewness :math:`\\approx 3/\\sqrt{\\lambda}`, under 0.001
    there), integrated by 80-point Gauss-Hermite quadrature:
    :math:`E[\\bar F_{\\chi^2_{df_2}}(X_1/c)]`.

    Examples
    --------
    >>> round(ncf_cdf(3.0, 2, 40, 5.0), 6) == round(float(stats.ncf.cdf(3.0, 2, 40, 5.0)), 6)
    True
    >>> 0.0 < ncf_cdf(1e10, 1, 20, 1e10) < 1.0
    True
    """
    if lam < NCF_LARGE_LAMBDA:
        v = float(stats.ncf.cdf(F, df1, df2, lam))
        if np.isfinite(v):
            return v
    z, w = np.polynomial.hermite.hermgauss(80)
    mu, sd = df1 + lam, math.sqrt(2 * (df1 + 2 * lam))
    x1 = np.maximum(mu + math.sqrt(2) * sd * z, 0.0)
    c = F * df1 / df2
    return float((w * stats.chi2.sf(x1 / c, df2)).sum() / math.sqrt(math.pi))


def partial_eta2_ci(F: float, df1: float, df2: float, alpha: float = 0.05
                    ) -> tuple[float, float]:
    """Confidence interval of partial eta squared by inverting the noncentral F (Steiger 2004).

    The noncentrality bounds :math:`\\lambda` solve :math:`P(F_{df1,df2,\\lambda} \\le F) =
    1-\\alpha/2, \\alpha/2` (0 when no solution); then
    :math:`\\eta^2_p = \\lambda / (\\lambda + df_1 + df_2 + 1)`. The distribution function is
    :func:`ncf_cdf`, so very large F (where scipy's noncentral F gives NaN) still has bounds;
    F = inf gives (1, 1).

    Examples
    --------
    >>> lo, hi = partial_eta2_ci(5.05, 1, 58)
    >>> round(lo, 4), round(hi, 4)
    (0.0, 0.2305)
    """
    if F == np.inf:
        return (1.0, 1.0)
    if not (np.isfinite(F) and F > 0):
        return (float("nan"), float("nan"))

    def bound(p):
        f = lambda lam: ncf_cdf(F, df1, df2, lam) - p  # noqa: E731
        if f(0) < 0:
            return 0.0
        hi = max(10.0, F * df1 * 4)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0, hi, xtol=1e-10)

    lam_lo, lam_hi = bound(1 - alpha / 2), bound(alpha / 2)
    to_eta = lambda lam: lam / (lam + df1 + df2 + 1)  # noqa: E731
    return (to_eta(lam_lo), to_eta(lam_hi))


def _value_ordered_subjects(d: pd.DataFrame, dv: str, within: str, subject: str,
                            between: str) -> pd.DataFrame:
    """``d`` with its subjects renumbered 0, 1, ... in the order of their group and answers,
    and its rows sorted by (subject, moment): pingouin groups by subject, so its sums add in
    the order of the codes, pseudonyms that change with the workspace's secret (see
    :func:`_value_order`). Subjects with the same group and answers are interchangeable.

    >>> d = pd.DataFrame({"id": ["x", "y", "x", "y"], "w": ["1", "1", "2", "2"],
    ...                   "g": ["a", "a", "a", "a"], "v": [5.0, 2.0, 1.0, 3.0]})
    >>> _value_ordered_subjects(d, "v", "w", "id", "g")["id"].tolist()
    [0, 0, 1, 1]
    """
    ids = pd.unique(d[subject].dropna())
    key = (d.assign(_w=d[within].astype(str)).groupby([subject, "_w"])[dv].mean()
           .unstack("_w").reindex(ids))
    grp = d.groupby(subject)[between].first().astype(str).reindex(ids)
    cols = [key[c].to_numpy(dtype=float) for c in reversed(sorted(key.columns))]
    order = np.lexsort([*cols, pd.factorize(grp, sort=True)[0]])
    code = pd.Series(np.arange(len(order)), index=key.index[order])
    out = d.assign(**{subject: d[subject].map(code)})
    return out.sort_values([subject, within], kind="stable").reset_index(drop=True)


def mixed_anova(data: pd.DataFrame, dv: str, within: str, subject: str, between: str,
                alpha: float = 0.05) -> pd.DataFrame:
    """Mixed ANOVA (e.g. wave pre/post within, participated yes/no between), pingouin.

    Parameters
    ----------
    data : DataFrame
        Long format; subjects lacking a moment are dropped by pingouin (listwise).
    dv, within, subject, between : str
        Column names.
    alpha : float
        1 - confidence level of the effect-size intervals.

    Returns
    -------
    DataFrame
        ``source`` (between factor, within factor, ``Interaction``), ``ss``, ``df1``, ``df2``,
        ``F``, ``p_val``, ``np2`` (partial eta squared), ``np2_ci_low``, ``np2_ci_high``.

    Notes
    -----
    The interaction in a 2 (within) x k (between) design is the one-way ANOVA of the
    differences post - pre across groups; with two groups its F equals the square of the
    pooled-variance t test of the differences (used in the tests as reference).

    Examples
    --------
    >>> df = pd.DataFrame({"id": list(range(6)) * 2, "wave": ["pre"] * 6 + ["post"] * 6,
    ...                    "g": ["a", "a", "a", "b", "b", "b"] * 2,
    ...                    "y": [1, 2, 3, 2, 3, 4, 2, 3, 5, 2, 3, 4]})
    >>> mixed_anova(df, "y", "wave", "id", "g")["source"].tolist()
    ['g', 'wave', 'Interaction']
    """
    import pingouin as pg

    _check_cols(data, [dv, within, subject, between])
    d = data[[dv, within, subject, between]].copy()
    d[dv] = pd.to_numeric(d[dv], errors="coerce")
    if d[between].nunique() < 2 or d[within].nunique() < 2:
        raise DataError("mixed ANOVA needs at least two groups and two moments",
                        column=between, rule="two or more levels")
    d = _value_ordered_subjects(d, dv, within, subject, between)
    aov = pg.mixed_anova(data=d, dv=dv, within=within, subject=subject, between=between,
                         effsize="np2", correction=False)
    out = pd.DataFrame({
        "source": aov["Source"], "ss": aov["SS"], "df1": aov["DF1"], "df2": aov["DF2"],
        "F": aov["F"], "p_val": aov["p_unc"], "np2": aov["np2"],
    })
    cis = [partial_eta2_ci(F, a, b, alpha) for F, a, b in zip(out.F, out.df1, out.df2, strict=True)]
    out["np2_ci_low"] = [c[0] for c in cis]
    out["np2_ci_high"] = [c[1] for c in cis]
    return out.reset_index(drop=True)
