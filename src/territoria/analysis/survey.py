"""Design-based estimation for household surveys: means, proportions and totals with SEs.

Standard errors use Taylor linearisation with strata, primary sampling units (PSUs) and
weights, computed exactly as R's ``survey`` package does (``svydesign`` + ``svymean`` /
``svytotal`` / ``svyby``): ratio-estimator linearisation for means and proportions,
with-replacement PSU variance within each stratum with the factor :math:`n_h/(n_h-1)`, an
optional finite population correction, and domain (subgroup) estimation by zeroing the
scores outside the domain, so the whole design is kept.

``statsmodels``' ``DescrStatsW`` treats weights as frequency weights and ignores clusters:
do not use it for survey data.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "w": [10.0, 10, 20, 20, 30, 30],
...                    "h": ["a", "a", "a", "b", "b", "b"]})
>>> res = estimate(df, "y", weight="w", strata="h")
>>> res[["estimate", "se", "n"]].round(4)  # R svymean: 4.1667, SE 0.4281
   estimate      se  n
0    4.1667  0.4281  6
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from territoria.exceptions import AnalysisError

__all__ = ["estimate", "poststratify", "design_weights", "LONELY_PSU_OPTIONS"]

#: Ways to treat a stratum with a single PSU (R ``options(survey.lonely.psu=...)``).
LONELY_PSU_OPTIONS = ("fail", "adjust", "remove", "certainty")
_STATS = ("mean", "proportion", "total")
RESULT_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "deff"]


def _as_list(cols) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _require_columns(data: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise AnalysisError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise AnalysisError(
            f"unknown {what} column(s) {', '.join(map(repr, missing))} "
            f"(available: {', '.join(map(str, data.columns[:20]))})"
        )


def _check_weights(w: pd.Series, name: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(w) or pd.api.types.is_bool_dtype(w):
        raise AnalysisError(f"weight column '{name}' must be numeric, got dtype {w.dtype}")
    arr = w.to_numpy(dtype=float)
    if np.isnan(arr).any():
        raise AnalysisError(
            f"weight column '{name}' has {int(np.isnan(arr).sum())} missing value(s) "
            "(rule: every respondent needs a weight)"
        )
    if np.isinf(arr).any():
        raise AnalysisError(f"weight column '{name}' has infinite values (rule: finite weights)")
    if (arr < 0).any():
        raise AnalysisError(
            f"weight column '{name}' has {int((arr < 0).sum())} negative value(s) "
            "(rule: weights must be >= 0)"
        )
    if arr.sum() <= 0:
        raise AnalysisError(f"weight column '{name}' sums to 0 (rule: some weight must be > 0)")
    return arr


class _Design:
    """Strata, PSUs and finite population corrections of a one-stage design."""

    def __init__(self, data, weight, strata, psu, fpc, lonely_psu):
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise AnalysisError(
                f"lonely_psu='{lonely_psu}' is not known (allowed: {', '.join(LONELY_PSU_OPTIONS)})"
            )
        self.lonely_psu = lonely_psu
        n = len(data)
        self.w = _check_weights(data[weight], weight)
        for col in (strata, psu):
            if col is not None and data[col].isna().any():
                raise AnalysisError(
                    f"design column '{col}' has {int(data[col].isna().sum())} missing value(s) "
                    "(rule: every respondent needs a stratum and a PSU)"
                )
        if strata is None:
            self.h = np.zeros(n, dtype=int)
            self.h_labels = np.array(["(all)"], dtype=object)
        else:
            self.h, self.h_labels = pd.factorize(data[strata], sort=True)
        if psu is None:
            psu_key = pd.Series(np.arange(n))
        else:
            # PSU ids are taken as nested within strata (R: nest=TRUE).
            psu_key = pd.Series(list(zip(self.h, data[psu].to_numpy(), strict=True)))
        self.j, psu_uniques = pd.factorize(psu_key)
        n_psu = len(psu_uniques)
        self.psu_stratum = np.zeros(n_psu, dtype=int)
        self.psu_stratum[self.j] = self.h
        self.n_strata = len(self.h_labels)
        self.n_h = np.bincount(self.psu_stratum, minlength=self.n_strata).astype(float)
        # finite population correction, per stratum: f_h = (N_h - n_h) / N_h
        self.f_h = np.ones(self.n_strata)
        if fpc is not None:
            fv = pd.to_numeric(data[fpc], errors="coerce").to_numpy(dtype=float)
            if np.isnan(fv).any() or (fv <= 0).any():
                raise AnalysisError(
                    f"fpc column '{fpc}' must be positive numbers (population size or sampling "
                    "fraction) with no missing values"
                )
            per_h = pd.Series(fv).groupby(self.h).agg(["min", "max"])
            if (per_h["min"] != per_h["max"]).any():
                bad = self.h_labels[per_h.index[per_h["min"] != per_h["max"]][0]]
                raise AnalysisError(f"fpc column '{fpc}' varies within stratum '{bad}'")
            val = per_h["min"].to_numpy()
            if (val <= 1).all():
                pop = self.n_h / val  # sampling fractions
            elif (val >= 1).all():
                pop = val
            else:
                raise AnalysisError(
                    f"fpc column '{fpc}' mixes fractions (<= 1) and population sizes (> 1)"
                )
            if (pop < self.n_h - 1e-9).any():
                bad = self.h_labels[int(np.argmax(pop < self.n_h - 1e-9))]
                raise AnalysisError(
                    f"fpc column '{fpc}': stratum '{bad}' has more sampled PSUs than its "
                    "population size"
                )
            self.f_h = (pop - self.n_h) / pop
        lonely = np.flatnonzero(self.n_h == 1)
        if len(lonely) and lonely_psu == "fail":
            names = ", ".join(repr(str(self.h_labels[k])) for k in lonely[:5])
            raise AnalysisError(
                f"stratum {names} has only one PSU, so its variance cannot be estimated "
                "(merge it with a similar stratum, or pass lonely_psu='adjust', 'remove' or "
                "'certainty')"
            )

    def variance(self, z: np.ndarray) -> float:
        """Linearised variance of a total whose per-row scores are ``z`` (R ``svyrecvar``)."""
        totals = np.bincount(self.j, weights=z, minlength=len(self.psu_stratum))
        sums = np.bincount(self.psu_stratum, weights=totals, minlength=self.n_strata)
        means = sums / self.n_h
        single = self.n_h == 1
        dev = totals - means[self.psu_stratum]
        if self.lonely_psu == "adjust":
            # R: a lonely PSU is not centred (scores are deviations from the overall mean)
            dev = np.where(single[self.psu_stratum], totals, dev)
        ss = np.bincount(self.psu_stratum, weights=dev**2, minlength=self.n_strata)
        scale = np.where(single, 1.0, self.n_h / np.maximum(self.n_h - 1, 1)) * self.f_h
        if self.lonely_psu in ("remove", "certainty"):
            scale = np.where(single, 0.0, scale)
        return float(np.sum(scale * ss))

    def degrees_of_freedom(self, rows: np.ndarray) -> int:
        """PSUs minus strata among ``rows`` with positive weight (R ``degf``)."""
        inset = rows & (self.w != 0)
        return len(np.unique(self.j[inset])) - len(np.unique(self.h[inset]))


def _variable_matrix(x: pd.Series, var: str, stat: str):
    """Return (matrix of columns, category labels or None, valid mask, is_share)."""
    valid = x.notna().to_numpy()
    if pd.api.types.is_bool_dtype(x) or (
        x.dtype == object and x.dropna().map(type).isin([bool, np.bool_]).all() and valid.any()
    ):
        y = x.astype(float).to_numpy() if valid.all() else x.map(
            lambda v: np.nan if pd.isna(v) else float(v)).to_numpy(dtype=float)
        return np.nan_to_num(y)[:, None], None, valid, stat != "total"
    if pd.api.types.is_numeric_dtype(x):
        y = x.to_numpy(dtype=float)
        if stat == "proportion":
            vals = np.unique(y[valid])
            if not np.isin(vals, [0.0, 1.0]).all():
                raise AnalysisError(
                    f"variable '{var}' has values other than 0/1 ({vals[:5].tolist()}...); a "
                    "proportion needs a 0/1, boolean or categorical variable"
                )
        return np.nan_to_num(y)[:, None], None, valid, stat == "proportion"
    # categorical: one indicator column per category
    if isinstance(x.dtype, pd.CategoricalDtype):
        cats = list(x.cat.categories)
    else:
        cats = sorted(x.dropna().unique().tolist(), key=str)
    y = np.column_stack([(x == c).to_numpy(dtype=float) for c in cats]) if cats else np.zeros(
        (len(x), 0))
    return y, cats, valid, stat != "total"


def _domains(data: pd.DataFrame, by: list[str]):
    """Yield (key tuple, boolean mask) for each group, including empty categorical levels."""
    n = len(data)
    if not by:
        yield (), np.ones(n, dtype=bool)
        return
    grouped = data.groupby(by, observed=False, dropna=True, sort=True)
    for key, idx in grouped.indices.items():
        mask = np.zeros(n, dtype=bool)
        mask[idx] = True
        yield (key if isinstance(key, tuple) else (key,)), mask
    # categorical levels never observed
    if any(isinstance(data[c].dtype, pd.CategoricalDtype) for c in by):
        levels = [
            list(data[c].cat.categories) if isinstance(data[c].dtype, pd.CategoricalDtype)
            else sorted(data[c].dropna().unique().tolist(), key=str)
            for c in by
        ]
        seen = {k if isinstance(k, tuple) else (k,) for k in grouped.indices}
        for key in pd.MultiIndex.from_product(levels):
            key = key if isinstance(key, tuple) else (key,)
            if key not in seen:
                yield key, np.zeros(n, dtype=bool)


def estimate(
    data: pd.DataFrame,
    var: str,
    *,
    weight: str,
    strata: str | None = None,
    psu: str | None = None,
    stat: str = "mean",
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    fpc: str | None = None,
    lonely_psu: str = "fail",
) -> pd.DataFrame:
    r"""Design-based mean, proportion or total of ``var`` with linearised SE and CI.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    var : str
        Column to estimate. Numeric for ``mean``/``total``; for ``proportion`` a 0/1 or
        boolean column (one row: share of 1/True) or a categorical/text column (one row per
        category). A text column with ``mean`` or ``total`` also gives one row per category.
    weight : str
        Sampling weights (>= 0, no missing values), e.g. households represented.
    strata : str, optional
        Stratum column. Without it the design has a single stratum.
    psu : str, optional
        Primary sampling unit (cluster) column, e.g. block. PSU ids are taken as nested in
        strata. Without it each respondent is its own PSU.
    stat : {'mean', 'proportion', 'total'}
    by : str or list of str, optional
        Domain columns: one estimate per group (the group columns come first). Rows whose
        ``by`` value is missing belong to no group.
    level : float
        Confidence level of the interval.
    fpc : str, optional
        Finite population correction: per-stratum population count of PSUs (values > 1) or
        sampling fraction (values <= 1), constant within each stratum.
    lonely_psu : {'fail', 'adjust', 'remove', 'certainty'}
        What to do with a stratum that has one PSU: raise :class:`AnalysisError` (default), or
        as R ``options(survey.lonely.psu=)``. ``'adjust'`` centres its PSU total at the overall
        mean; ``'remove'`` and ``'certainty'`` give it zero variance (identical for one-stage
        designs, as in R).

    Returns
    -------
    DataFrame
        The ``by`` columns (if any), ``category`` (for a categorical ``var``), then

        - ``estimate``: weighted mean, proportion (0-1) or total;
        - ``se``: linearised standard error;
        - ``ci_low``, ``ci_high``: ``estimate ± t_{df, (1+level)/2} · se``; proportions are
          clipped to [0, 1];
        - ``n``: respondents with a valid value of ``var`` in the group;
        - ``deff``: design effect, design variance / variance under simple random sampling
          without replacement of the same size (R ``deff=TRUE``).

        ``result.attrs["df"]`` holds the design degrees of freedom used.

    Raises
    ------
    AnalysisError
        Unknown column, negative/missing weights, missing strata or PSU ids, a stratum with
        a single PSU (unless ``lonely_psu`` says otherwise), a non 0/1 variable for a
        proportion, or an unknown ``stat``.

    Notes
    -----
    With weights :math:`w_i` and domain indicator :math:`d_i` (rows with missing ``var``
    are outside every domain), the mean is the ratio :math:`\hat\mu = \sum w_i d_i y_i /
    \sum w_i d_i` with linearised scores :math:`z_i = w_i d_i (y_i - \hat\mu) / \sum w_i d_i`;
    a total has scores :math:`z_i = w_i d_i y_i`. With :math:`z_{hj}` the score total of PSU
    :math:`j` in stratum :math:`h` (:math:`n_h` PSUs, finite population correction
    :math:`1 - f_h`),

    .. math:: \hat V = \sum_h (1 - f_h) \frac{n_h}{n_h - 1}
              \sum_j (z_{hj} - \bar z_h)^2 .

    Domains are estimated by zeroing scores, never by subsetting rows, so every PSU of the
    design counts (Lumley 2010, sec. 2.3). The interval uses Student's t on the design
    degrees of freedom, number of PSUs minus number of strata among rows with a valid
    ``var`` (R: ``confint(est, df = degf(design))``); for ``by`` the same whole-design df
    is used for every group. The SRS variance of ``deff`` is
    :math:`s^2 (\hat N - n)/(\hat N n)` for a mean and :math:`\hat N^2 s^2 (\hat N - n)/
    (\hat N n)` for a total, :math:`s^2` the weighted variance with divisor
    :math:`n - 1` (R ``svyvar``).

    References: Lumley, T. (2010) *Complex Surveys: A Guide to Analysis Using R*, Wiley;
    R package ``survey`` 4.1 (checked against it in ``tests/analysis/test_survey_estimate.py``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "block": ["b1", "b1", "b2", "b2", "b3", "b3", "b4", "b4", "b5", "b5", "b6", "b6"],
    ...     "w": [50.0, 50, 40, 40, 60, 60, 30, 30, 45, 45, 55, 55],
    ...     "water": ["yes", "no", "yes", "yes", "no", "no", "yes", None, "yes", "yes", "no",
    ...               "yes"],
    ...     "sex": ["female", "male"] * 6})
    >>> estimate(df, "water", weight="w", psu="block", stat="proportion").round(3)
      category  estimate     se  ci_low  ci_high   n  deff
    0       no     0.425  0.181    0.00     0.89  11  1.37
    1      yes     0.575  0.181    0.11     1.00  11  1.37
    >>> estimate(df, "water", weight="w", psu="block", stat="proportion",
    ...          by="sex")[["sex", "category", "estimate", "n"]].round(3)
          sex category  estimate  n
    0  female       no     0.411  6
    1  female      yes     0.589  6
    2    male       no     0.440  5
    3    male      yes     0.560  5
    """
    if stat not in _STATS:
        raise AnalysisError(f"stat='{stat}' is not known (allowed: {', '.join(_STATS)})")
    if not 0 < level < 1:
        raise AnalysisError(f"level={level} must be between 0 and 1 (e.g. 0.95)")
    by_cols = _as_list(by)
    _require_columns(data, [var], "variable")
    _require_columns(data, [weight], "weight")
    _require_columns(data, [c for c in (strata, psu, fpc) if c is not None], "design")
    _require_columns(data, by_cols, "by")
    if var in by_cols:
        raise AnalysisError(f"variable '{var}' cannot also be a 'by' column")
    data = data.reset_index(drop=True)
    design = _Design(data, weight, strata, psu, fpc, lonely_psu)
    y, cats, valid, is_share = _variable_matrix(data[var], var, stat)
    w = design.w
    df_design = design.degrees_of_freedom(valid)
    tq = stats.t.ppf((1 + level) / 2, df_design) if df_design > 0 else np.nan
    rows = []
    for key, dmask in _domains(data, by_cols):
        m = dmask & valid
        n = int(m.sum())
        wm = w * m
        psum = wm.sum()
        nobs = int((wm != 0).sum())
        for k in range(y.shape[1]):
            yk = y[:, k]
            if psum > 0:
                if stat == "total":
                    est = float(np.sum(wm * yk))
                    z = wm * yk
                else:
                    est = float(np.sum(wm * yk) / psum)
                    z = wm * (yk - est) / psum
                var_hat = design.variance(z)
                se = float(np.sqrt(max(var_hat, 0.0)))
                mu = np.sum(wm * yk) / psum
                s2 = (np.sum(wm * (yk - mu) ** 2) / psum * nobs / (nobs - 1)
                      if nobs > 1 else np.nan)
                if psum < nobs or not np.isfinite(s2):
                    vsrs = np.nan
                else:
                    vsrs = s2 * (psum - nobs) / (psum * nobs)
                    if stat == "total":
                        vsrs *= psum**2
                deff = var_hat / vsrs if vsrs and np.isfinite(vsrs) and vsrs > 0 else np.nan
            else:
                est = se = deff = np.nan
            lo, hi = est - tq * se, est + tq * se
            if is_share and np.isfinite(lo):
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            row = dict(zip(by_cols, key, strict=True))
            if cats is not None:
                row["category"] = cats[k]
            row.update(estimate=est, se=se, ci_low=lo, ci_high=hi, n=n, deff=deff)
            rows.append(row)
    cols = by_cols + (["category"] if cats is not None else []) + RESULT_COLUMNS
    out = pd.DataFrame(rows, columns=cols)
    if by_cols:
        out = out.sort_values(by_cols, kind="stable").reset_index(drop=True)
    out["n"] = out["n"].astype(int)
    out.attrs["df"] = df_design
    out.attrs["level"] = level
    out.attrs["stat"] = stat
    return out


def poststratify(
    data: pd.DataFrame,
    weight: str,
    *,
    cells: str | Sequence[str],
    margins: pd.DataFrame,
    count: str = "population",
) -> pd.Series:
    r"""Post-stratify weights so they add up to census counts in each cell.

    Parameters
    ----------
    data : DataFrame
        Respondents, with the ``weight`` column and the ``cells`` columns.
    weight : str
        Base (design) weights.
    cells : str or list of str
        Columns defining post-strata, e.g. ``["territory_id", "sex", "age_group"]``.
    margins : DataFrame
        Census counts: the ``cells`` columns and ``count`` (e.g. the store's
        ``census_margins`` table filtered to the territories surveyed).
    count : str
        Column of ``margins`` with the population of each cell.

    Returns
    -------
    Series
        New weights, aligned with ``data.index``: :math:`w_i N_g / \sum_{i \in g} w_i` for
        a respondent in cell :math:`g`. Use them as ``weight`` in :func:`estimate`.

    Raises
    ------
    AnalysisError
        A respondent's cell has no census count, a census cell with population has no
        respondents (collapse cells, e.g. age groups, first), duplicated census cells,
        missing cell values, or bad weights.

    Notes
    -----
    Point estimates equal R ``svymean(~y, postStratify(design, ~cells, pop))``. The SEs of
    :func:`estimate` then treat the adjusted weights as fixed and omit the (usually small)
    variance reduction that R credits to post-stratification.

    Examples
    --------
    >>> import pandas as pd
    >>> resp = pd.DataFrame({"sex": ["female", "female", "male"], "w": [1.0, 3.0, 2.0]})
    >>> census = pd.DataFrame({"sex": ["female", "male"], "population": [120, 100]})
    >>> poststratify(resp, "w", cells="sex", margins=census).tolist()
    [30.0, 90.0, 100.0]
    """
    cells = _as_list(cells)
    _require_columns(data, [weight, *cells], "data")
    if not isinstance(margins, pd.DataFrame):
        raise AnalysisError("margins must be a DataFrame of census counts")
    missing = [c for c in [*cells, count] if c not in margins.columns]
    if missing:
        raise AnalysisError(f"margins lack column(s) {', '.join(map(repr, missing))}")
    w = pd.Series(_check_weights(data[weight], weight), index=data.index)
    for c in cells:
        if data[c].isna().any():
            raise AnalysisError(
                f"cell column '{c}' has {int(data[c].isna().sum())} missing value(s); impute or "
                "drop those respondents before post-stratifying"
            )
    if margins.duplicated(cells).any():
        dup = margins.loc[margins.duplicated(cells), cells].iloc[0].tolist()
        raise AnalysisError(f"census margins list cell {dup} more than once")
    pop = pd.to_numeric(margins[count], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        raise AnalysisError(f"census column '{count}' must be non-negative numbers")

    def keys(df):
        return pd.MultiIndex.from_frame(df[cells].astype(str))

    pop.index = keys(margins)
    sample_keys = keys(data)
    wsum = w.groupby(sample_keys.to_flat_index()).sum()
    wsum.index = pd.MultiIndex.from_tuples(wsum.index, names=cells)
    no_census = wsum.index.difference(pop.index)
    if len(no_census):
        raise AnalysisError(
            f"sample cell {dict(zip(cells, no_census[0], strict=True))} has no census count "
            f"in margins ({len(no_census)} such cell(s))"
        )
    empty = pop[(pop > 0) & ~pop.index.isin(wsum.index)]
    if len(empty):
        raise AnalysisError(
            f"census cell {dict(zip(cells, empty.index[0], strict=True))} has population "
            f"{empty.iloc[0]:g} but no respondents ({len(empty)} such cell(s)); collapse cells "
            "(e.g. join age groups) or filter margins to the territories surveyed"
        )
    if (wsum <= 0).any():
        bad = wsum.index[wsum <= 0][0]
        raise AnalysisError(f"sample cell {dict(zip(cells, bad, strict=True))} has zero total weight")
    factor = (pop.reindex(wsum.index) / wsum).reindex(sample_keys).to_numpy()
    return pd.Series(w.to_numpy() * factor, index=data.index, name=f"{weight}_ps")


def design_weights(
    responses: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    strata: str | Sequence[str],
    count: str,
) -> pd.Series:
    """Base weights: households in the stratum divided by respondents in the stratum.

    Parameters
    ----------
    responses : DataFrame
        One row per responding household, with the ``strata`` columns.
    frame : DataFrame
        The sampling frame summary: ``strata`` columns and ``count`` (households).
    strata : str or list of str
        Stratum columns (e.g. ``"block"`` or ``["territory", "block"]``).
    count : str
        Column of ``frame`` with the number of households in each stratum.

    Returns
    -------
    Series
        Weight of each response (aligned with ``responses.index``), named ``weight``. Strata
        of the frame without respondents get no weight: their households are not
        represented (report the coverage).

    Raises
    ------
    AnalysisError
        Unknown columns, a respondent's stratum missing from the frame, duplicated or
        non-positive frame counts.

    Examples
    --------
    >>> import pandas as pd
    >>> resp = pd.DataFrame({"block": ["a", "a", "b"]})
    >>> frame = pd.DataFrame({"block": ["a", "b"], "households": [40, 25]})
    >>> design_weights(resp, frame, strata="block", count="households").tolist()
    [20.0, 20.0, 25.0]
    """
    strata = _as_list(strata)
    _require_columns(responses, strata, "stratum")
    missing = [c for c in [*strata, count] if c not in frame.columns]
    if missing:
        raise AnalysisError(f"frame lacks column(s) {', '.join(map(repr, missing))}")
    if frame.duplicated(strata).any():
        dup = frame.loc[frame.duplicated(strata), strata].iloc[0].tolist()
        raise AnalysisError(f"frame lists stratum {dup} more than once")
    hh = pd.to_numeric(frame[count], errors="coerce")
    if hh.isna().any() or (hh <= 0).any():
        raise AnalysisError(f"frame column '{count}' must be positive numbers of households")
    for c in strata:
        if responses[c].isna().any():
            raise AnalysisError(f"stratum column '{c}' has missing values in responses")
    hh.index = pd.MultiIndex.from_frame(frame[strata].astype(str))
    rkeys = pd.MultiIndex.from_frame(responses[strata].astype(str))
    unknown = rkeys.difference(hh.index)
    if len(unknown):
        raise AnalysisError(
            f"stratum {dict(zip(strata, unknown[0], strict=True))} of the responses is not in "
            f"the frame ({len(unknown)} such stratum/strata)"
        )
    n_resp = pd.Series(1, index=rkeys).groupby(level=list(range(len(strata)))).size()
    n_resp.index = pd.MultiIndex.from_tuples(
        [k if isinstance(k, tuple) else (k,) for k in n_resp.index]
    )
    wt = (hh.reindex(n_resp.index) / n_resp).reindex(rkeys).to_numpy(dtype=float)
    return pd.Series(wt, index=responses.index, name="weight")
