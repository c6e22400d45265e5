"""Data preparation of the impact evaluation, shared by step 06 and the evaluation methods.

The cohort coding (:func:`cohort_period`), the balanced monthly crime panel
(:func:`crime_panel`, :func:`month_index`, :func:`never_mean`) and the pre/post wellbeing panel
(:func:`wellbeing_data`): :mod:`territoria.steps.s06_impact` estimates on them and
:mod:`territoria.evaluation.methods` answers evaluation questions from them, so the two read
the same data the same way.

Examples
--------
>>> str(cohort_period("2018-12-24", "first_full_period").date())
'2019-01-01'
>>> month_index(pd.Series(pd.to_datetime(["2019-01-01", "2020-02-01"])),
...             pd.Timestamp("2019-01-01")).tolist()
[1, 14]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria.exceptions import ConfigError, DataError

#: Cohort codings: the month containing the join date, or the first whole month after it.
CODINGS = ("first_exposed_period", "first_full_period")
#: Outcomes of the wellbeing panel.
WB_OUTCOMES = ("life_satisfaction", "unsafe", "peace", "trust_neighbours")


def cohort_period(joined_on, coding: str = "first_exposed_period") -> pd.Timestamp:
    """First month counted as exposed for a territory that joined on ``joined_on``.

    Parameters
    ----------
    joined_on : date-like or None
        The join date (``territories.joined_on``); missing means never joined.
    coding : {"first_exposed_period", "first_full_period"}
        ``first_exposed_period``: the month containing the join date. ``first_full_period``:
        the first month wholly inside the programme (the next month if the territory joined
        after day 1).

    Returns
    -------
    Timestamp
        First day of that month, or ``NaT`` when ``joined_on`` is missing.
    """
    if coding not in CODINGS:
        raise ConfigError(f"cohort_coding '{coding}' is not allowed (allowed: "
                          f"{', '.join(CODINGS)})")
    if joined_on is None or pd.isna(joined_on):
        return pd.NaT  # type: ignore[return-value]  # (NaT: never joined)
    d = pd.Timestamp(joined_on)
    m = pd.Timestamp(d.year, d.month, 1)
    if coding == "first_full_period" and d.day != 1:
        m = m + pd.offsets.MonthBegin(1)
    return m


def month_index(months: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Month number of each month counted from ``origin`` (its own month is 1)."""
    m = pd.to_datetime(months)
    return ((m.dt.year - origin.year) * 12 + (m.dt.month - origin.month) + 1).to_numpy()


def crime_panel(ctx, coding: str | None = None, period_start=None, period_end=None
                ) -> pd.DataFrame:
    """Balanced monthly crime panel territory x month (all categories added up).

    Parameters
    ----------
    ctx : StepContext
    coding : str, optional
        Cohort coding (default ``city.yml: cohort_coding``).
    period_start, period_end : date-like, optional
        Months kept (default: ``city.yml`` period, else every month in ``crime_counts``).

    Returns
    -------
    DataFrame
        ``territory_id``, ``month`` (first day), ``t`` (month number, 1 = first month),
        ``count`` (0 when no crime was recorded), ``population``, ``y`` (log(1 + count)),
        ``rate`` (count per 1,000 inhabitants), ``joined_on``, ``cohort_month`` (first
        exposed month under ``coding``; NaT = never), ``cohort_t`` (its month number, 0 =
        never or exposed before the window), ``programme`` (bool). ``attrs``: ``coding``,
        ``origin`` (first month).
    """
    coding = coding or ctx.config.cohort_coding
    if coding not in CODINGS:
        raise ConfigError(f"cohort_coding '{coding}' is not allowed (allowed: "
                          f"{', '.join(CODINGS)})")
    if not ctx.store.has_table("crime_counts"):
        raise DataError("the store has no crime_counts table (ingest the crime records first)",
                        rule="crime_counts needed for the impact evaluation")
    start = period_start or ctx.config.period_start
    end = period_end or ctx.config.period_end
    sql = ("SELECT territory_id, date_trunc('month', month) AS month, sum(count) AS count "
           "FROM crime_counts WHERE territory_id IS NOT NULL")
    params = []
    if start is not None:
        sql += " AND month >= ?"
        params.append(pd.Timestamp(start).to_pydatetime())
    if end is not None:
        sql += " AND month <= ?"
        params.append(pd.Timestamp(end).to_pydatetime())
    cc = ctx.store.query(sql + " GROUP BY 1, 2 ORDER BY 1, 2", params)
    if cc.empty:
        raise DataError("no crime counts in the period", column="month",
                        rule="crime_counts rows between period_start and period_end")
    t = ctx.territories()[["territory_id", "population", "joined_on"]]
    first = pd.Timestamp(start) if start is not None else pd.Timestamp(cc["month"].min())
    last = pd.Timestamp(end) if end is not None else pd.Timestamp(cc["month"].max())
    months = pd.date_range(pd.Timestamp(first.year, first.month, 1), last, freq="MS")
    idx = pd.MultiIndex.from_product([t["territory_id"], months], names=["territory_id", "month"])
    cc["month"] = pd.to_datetime(cc["month"])
    cnt = cc.set_index(["territory_id", "month"])["count"].astype(float)
    cnt = cnt[cnt.index.isin(idx)]
    p = cnt.reindex(idx, fill_value=0.0).reset_index()
    p = p.merge(t, on="territory_id", how="left")
    origin = months[0]
    p["t"] = month_index(p["month"], origin)
    p["y"] = np.log1p(p["count"])
    pop = pd.to_numeric(p["population"], errors="coerce")
    p["rate"] = np.where(pop > 0, p["count"] / pop * 1000, np.nan)
    p["cohort_month"] = pd.to_datetime(p["joined_on"].map(lambda d: cohort_period(d, coding)))
    never = p["cohort_month"].isna().to_numpy()
    ct = month_index(p["cohort_month"].fillna(origin), origin)
    # joined after the window: untreated throughout it (0); exposed from the window's first
    # month: no pre-period, left out of the comparison (-1)
    ct = np.where(never | (ct > len(months)), 0, ct)
    ct = np.where(~never & (ct <= 1), -1, ct)
    p["cohort_t"] = ct.astype(int)
    p["programme"] = p["joined_on"].notna()
    p = p[p["cohort_t"] >= 0].reset_index(drop=True)
    p.attrs["coding"] = coding
    p.attrs["origin"] = origin
    return p


def never_mean(crime: pd.DataFrame) -> pd.Series:
    """Mean ``y`` (log crimes) per month ``t`` of the territories that never joined."""
    return crime[~crime["programme"]].groupby("t")["y"].mean()


def wellbeing_data(ctx, territory_id: str | None = None) -> pd.DataFrame:
    """The pre/post wellbeing panel with numeric outcomes (one row per respondent and wave).

    Returns
    -------
    DataFrame
        ``respondent_code`` (pseudonymised), ``territory``, ``wave``, ``cohort``,
        ``life_satisfaction`` (0-10), ``unsafe`` (1 if ``safety_colonia`` is ``2``
        Inseguro; 0 for Seguro or NS/NR, as INEGI counts % unsafe over all valid answers),
        ``peace`` (mean of ``peace_1..5``), ``trust_neighbours`` (1-4). Empty (same
        columns) if the panel was not collected, or only one of its waves so far.
    """
    w = ctx.table("wellbeing", territory_id)
    if w.empty or "wave" not in w or w["wave"].astype(str).nunique() < 2:
        return pd.DataFrame(columns=["respondent_code", "territory", "wave", "cohort",
                                     *WB_OUTCOMES])
    out = w[["respondent_code", "territory", "wave"]].copy()
    out["wave"] = out["wave"].astype(str)
    out["life_satisfaction"] = pd.to_numeric(w["life_satisfaction"], errors="coerce")
    sc = w["safety_colonia"].astype("string").str.strip()
    out["unsafe"] = np.where(sc.isna(), np.nan, (sc == "2").astype(float))
    peace = [c for c in (f"peace_{k}" for k in range(1, 6)) if c in w.columns]
    out["peace"] = (w[peace].apply(pd.to_numeric, errors="coerce").mean(axis=1)
                    if peace else np.nan)
    out["trust_neighbours"] = pd.to_numeric(w.get("trust_neighbours"), errors="coerce")
    coh = ctx.territories().set_index("territory_id")["cohort"]
    out["cohort"] = out["territory"].map(coh).astype("string").fillna("never")
    return out
