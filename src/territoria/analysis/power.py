"""How many respondents the next survey round needs to detect a given change.

Examples
--------
>>> int(sample_size("proportion", baseline=0.60, change=-0.10)["n_per_round"].iloc[0])
388
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower, TTestIndPower, TTestPower
from statsmodels.stats.proportion import proportion_effectsize

from territoria.exceptions import AnalysisError

__all__ = ["sample_size", "detectable_change"]


def _check(alpha, power, deff, ratio):
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1 (got {alpha})")
    if not 0 < power < 1:
        raise AnalysisError(f"power must be between 0 and 1 (got {power})")
    if deff < 1:
        raise AnalysisError(f"design effect must be at least 1 (got {deff})")
    if ratio <= 0:
        raise AnalysisError(f"ratio must be positive (got {ratio})")


def _effect(kind, baseline, change, sd, paired, correlation):
    if kind == "proportion":
        if not (0 < baseline < 1 and 0 < baseline + change < 1):
            raise AnalysisError("baseline and baseline + change must be proportions in (0, 1) "
                                f"(got {baseline} and {baseline + change})")
        if paired:
            raise AnalysisError("paired=True is only available for kind='mean'")
        return float(proportion_effectsize(baseline + change, baseline))
    if kind == "mean":
        if sd is None or sd <= 0:
            raise AnalysisError("kind='mean' needs sd > 0 (standard deviation of the outcome)")
        if paired:
            if not -1 < correlation < 1:
                raise AnalysisError(f"correlation must be in (-1, 1) (got {correlation})")
            return change / (sd * math.sqrt(2 * (1 - correlation)))
        return change / sd
    raise AnalysisError(f"kind '{kind}' is not allowed (allowed: proportion, mean)")


def sample_size(kind: str, baseline: float = 0.5, change: float = 0.1, sd: float | None = None,
                alpha: float = 0.05, power: float = 0.8, deff: float = 1.0, ratio: float = 1.0,
                paired: bool = False, correlation: float = 0.5,
                alternative: str = "two-sided") -> pd.DataFrame:
    """Respondents needed to detect a change between two survey rounds.

    Parameters
    ----------
    kind : {"proportion", "mean"}
        A share (e.g. % who feel unsafe in their colonia) or a mean (e.g. life satisfaction).
    baseline : float
        Current proportion (for ``proportion``).
    change : float
        Change to detect (absolute: -0.10 = ten percentage points down; or in the units of the
        mean).
    sd : float, optional
        Standard deviation of the outcome (needed for ``mean``).
    alpha, power : float
        Significance level and power.
    deff : float
        Design effect of the sampling design (clusters, weights): the simple-random-sample
        size is multiplied by it.
    ratio : float
        Size of the second round relative to the first (independent rounds).
    paired : bool
        Same people in both rounds (panel, ``mean`` only): a paired t test with
        ``correlation`` between rounds.
    correlation : float
        Correlation between a person's two answers (paired designs).
    alternative : {"two-sided", "larger", "smaller"}

    Returns
    -------
    DataFrame
        One row: ``kind``, ``effect_size`` (Cohen's h for proportions, d or d_z for means),
        ``n_srs`` (per round, simple random sampling, unrounded), ``deff``, ``n_per_round``
        (rounded up, times the design effect), ``n_second_round``, ``n_total``, ``alpha``,
        ``power``.

    Notes
    -----
    Proportions: normal approximation with the arcsine effect size
    :math:`h = 2\\arcsin\\sqrt{p_2} - 2\\arcsin\\sqrt{p_1}` (Cohen 1988, ch. 6;
    ``statsmodels NormalIndPower``, as R ``pwr.2p.test``). Means: noncentral t
    (``TTestIndPower``, as R ``pwr.t.test``); paired: ``TTestPower`` with
    :math:`d_z = \\Delta / (\\sigma\\sqrt{2(1-\\rho)})`.

    Examples
    --------
    >>> r = sample_size("mean", change=0.5, sd=1.0)
    >>> round(float(r["n_srs"].iloc[0]), 3), int(r["n_per_round"].iloc[0])
    (63.766, 64)
    >>> int(sample_size("mean", change=0.5, sd=1.0, deff=1.5)["n_per_round"].iloc[0])
    96
    """
    _check(alpha, power, deff, ratio)
    es = _effect(kind, baseline, change, sd, paired, correlation)
    if es == 0:
        raise AnalysisError("change must not be zero")
    alt = alternative
    if alt not in ("two-sided", "larger", "smaller"):
        raise AnalysisError(f"alternative '{alt}' is not allowed (two-sided, larger, smaller)")
    es_abs = abs(es) if alt == "two-sided" else es
    if kind == "proportion":
        n = NormalIndPower().solve_power(effect_size=es_abs, alpha=alpha, power=power,
                                         ratio=ratio, alternative=alt)
    elif paired:
        n = TTestPower().solve_power(effect_size=es_abs, alpha=alpha, power=power,
                                     alternative=alt)
    else:
        n = TTestIndPower().solve_power(effect_size=es_abs, alpha=alpha, power=power,
                                        ratio=ratio, alternative=alt)
    n = float(np.asarray(n).ravel()[0])
    n_round = math.ceil(n * deff - 1e-9)
    n2 = n_round if paired else math.ceil(n * ratio * deff - 1e-9)
    return pd.DataFrame([{
        "kind": kind, "effect_size": es, "n_srs": n, "deff": deff, "n_per_round": n_round,
        "n_second_round": n2, "n_total": n_round + (0 if paired else n2), "paired": paired,
        "alpha": alpha, "power": power,
    }])


def detectable_change(kind: str, n: int, baseline: float = 0.5, sd: float | None = None,
                      alpha: float = 0.05, power: float = 0.8, deff: float = 1.0) -> float:
    """Smallest change detectable with ``n`` respondents per round (two-sided).

    Examples
    --------
    >>> round(detectable_change("mean", 64, sd=1.0), 2)
    0.5
    """
    _check(alpha, power, deff, 1.0)
    n_eff = n / deff
    if kind == "mean":
        if sd is None or sd <= 0:
            raise AnalysisError("kind='mean' needs sd > 0")
        d = TTestIndPower().solve_power(nobs1=n_eff, alpha=alpha, power=power)
        return float(d * sd)
    if kind == "proportion":
        h = NormalIndPower().solve_power(nobs1=n_eff, alpha=alpha, power=power)
        p2 = math.sin(math.asin(math.sqrt(baseline)) + float(h) / 2) ** 2
        return float(p2 - baseline)
    raise AnalysisError(f"kind '{kind}' is not allowed (allowed: proportion, mean)")
