"""Synthetic activity of the sample city, generated from :class:`TrueParams` and a seed.

Each function returns plain DataFrames keyed by the field names of the kit's instruments
(see CONTRIBUTING.md, "Data contract"); :mod:`territoria.sample.writer` turns them into the
files a real user would have (KoboToolbox exports, FGJ crime records, catalogues).

All draws are vectorised and come from :func:`territoria.sample.model.rng_for`, one stream per
component, so the same seed gives the same data whatever else changes.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd

from territoria.sample.model import (
    AGE_GROUPS,
    AXES,
    AXIS_DEPARTMENT,
    DEPARTMENTS,
    LINK_AREAS,
    ROUNDS,
    SEXES,
    TrueParams,
    first_full_month,
    rng_for,
)

# Adult population shares by sex x age group (Mexico City, Censo 2020, approximate).
CENSUS_SHARES = {
    ("female", "18_29"): 0.125, ("female", "30_44"): 0.148, ("female", "45_59"): 0.132,
    ("female", "60_plus"): 0.118, ("male", "18_29"): 0.122, ("male", "30_44"): 0.135,
    ("male", "45_59"): 0.118, ("male", "60_plus"): 0.102,
}
ADULT_SHARE = 0.74
HOUSEHOLD_SIZE = 3.5


def _month_range(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).replace(day=1), pd.Timestamp(end), freq="MS")


# ------------------------------------------------------------------------------- territories
def territory_attributes(terr: pd.DataFrame, membership: pd.DataFrame, p: TrueParams) -> pd.DataFrame:
    """Social-development index, latent crime risk and households per territory."""
    rng = rng_for(p.seed, "territory")
    t = terr.merge(membership, on="territory_id")
    zones = sorted(t["zone_id"].unique())
    zeff = dict(zip(zones, rng.normal(0, 0.035, len(zones)), strict=True))
    kind_eff = t["kind"].map({"unidad_habitacional": 0.05, "pueblo": -0.03, "barrio": -0.01,
                              "ampliacion": -0.05, "fraccionamiento": 0.06}).fillna(0.0)
    # east of the alcaldía is poorer (Sierra de Santa Catarina)
    east = (t["lon"] - t["lon"].min()) / (t["lon"].max() - t["lon"].min())
    sdi = 0.84 - 0.10 * east + t["zone_id"].map(zeff) + kind_eff + rng.normal(0, 0.04, len(t))
    t["social_index"] = sdi.clip(0.45, 0.97).round(4)
    t["crime_risk"] = (2.2 * (0.80 - t["social_index"]) + rng.normal(0, 0.25, len(t))).round(4)
    t["households"] = np.round(t["population"] / HOUSEHOLD_SIZE)
    t["water_propensity"] = (-1.2 + 2.6 * east + rng.normal(0, 0.35, len(t))).round(4)
    return t


def census_margins(t: pd.DataFrame, p: TrueParams) -> pd.DataFrame:
    """Adult population by sex x age group per territory (synthetic, adds up to 74 % of it)."""
    rng = rng_for(p.seed, "census")
    rows = []
    base = np.array(list(CENSUS_SHARES.values()))
    for tid, pop in zip(t["territory_id"], t["population"], strict=True):
        share = rng.dirichlet(base * 400)
        counts = np.round(share * pop * ADULT_SHARE)
        for (s, a), c in zip(CENSUS_SHARES, counts, strict=True):
            rows.append((tid, s, a, float(c)))
    return pd.DataFrame(rows, columns=["territory_id", "sex", "age_group", "population"])


# ------------------------------------------------------------------------------------- crime
def crime_expected(t: pd.DataFrame, p: TrueParams, calibration: pd.DataFrame | None = None,
                   programme: pd.DataFrame | None = None) -> pd.DataFrame:
    """Expected monthly counts per territory x month x category (before Poisson draws).

    Levels and seasonality per category come from the real SSP-DF counts
    (``territoria/data/crime_calibration.csv``), spread over territories by population and the
    latent risk; ``programme`` (territory_id, first_full) switches the true effect on.
    """
    cal = calibration if calibration is not None else load_calibration()
    months = _month_range(p.start, p.end)
    w = t["population"].to_numpy() * np.exp(t["crime_risk"].to_numpy())
    w = w / w.sum()
    years = (months.year - 2016) + (months.month - 1) / 12
    common = p.trend_log_per_year * years.to_numpy()
    pandemic = ((months >= "2020-04-01") & (months <= "2020-12-01")).astype(float)
    common = common + p.pandemic_crime_log * pandemic
    eff = np.zeros((len(t), len(months)))
    if programme is not None and len(programme):
        ff = t[["territory_id"]].merge(programme, on="territory_id", how="left")["first_full"]
        ffv = pd.to_datetime(ff).to_numpy()
        eff = (months.to_numpy()[None, :] >= ffv[:, None]) & ~pd.isna(ffv)[:, None]
        eff = eff.astype(float) * p.crime_effect_log
    frames = []
    for _, c in cal.iterrows():
        season = np.array([c[f"m{m:02d}"] for m in months.month])
        lam = c["monthly_mean"] * w[:, None] * season[None, :] * np.exp(common[None, :] + eff)
        frames.append(pd.DataFrame({
            "territory_id": np.repeat(t["territory_id"].to_numpy(), len(months)),
            "month": np.tile(months, len(t)), "category": c["category"],
            "expected": lam.ravel()}))
    return pd.concat(frames, ignore_index=True)


def load_calibration() -> pd.DataFrame:
    """The shipped crime calibration (categories, monthly means, month factors)."""
    with resources.files("territoria").joinpath("data", "crime_calibration.csv").open() as fh:
        return pd.read_csv(fh)


def simulate_crime(t: pd.DataFrame, p: TrueParams):
    """Crime counts 2016-2024 and the programme they led to.

    Counts before December 2018 are drawn first; the city selects its 130 priority
    territories from them (:func:`select_programme`); later months are drawn with the true
    programme effect switched on. Returns (counts, expected, programme).
    """
    cal = load_calibration()
    exp0 = crime_expected(t, p, cal)
    cut = pd.Timestamp("2018-12-01")
    pre = crime_counts(exp0[exp0["month"] < cut], p, stream="crime_pre")
    prog = select_programme(t, pre, p)
    exp1 = crime_expected(t, p, cal, prog[prog["priority"]][["territory_id", "first_full"]])
    post = crime_counts(exp1[exp1["month"] >= cut], p, stream="crime_post")
    counts = pd.concat([pre, post], ignore_index=True)
    return counts, exp1, prog


def crime_counts(expected: pd.DataFrame, p: TrueParams, stream: str = "crime") -> pd.DataFrame:
    """Negative-binomial draws around the expected counts (gamma-Poisson)."""
    rng = rng_for(p.seed, stream)
    k = 1 / p.crime_overdispersion
    lam = expected["expected"].to_numpy() * rng.gamma(k, 1 / k, len(expected))
    out = expected[["territory_id", "month", "category"]].copy()
    out["count"] = rng.poisson(lam)
    return out


# ------------------------------------------------------------------------- selection, cohorts
def select_programme(t: pd.DataFrame, counts: pd.DataFrame, p: TrueParams) -> pd.DataFrame:
    """The 130 priority territories and their cohorts, chosen as the city did: the composite
    index of the default ``city.yml`` weights (0.5 social index, 0.4 crime rate per 1,000,
    0.1 population; min-max) on crime observed from 2016-01 to 2018-11."""
    pre = counts[counts["month"] < "2018-12-01"].groupby("territory_id")["count"].sum()
    months = counts.loc[counts["month"] < "2018-12-01", "month"].nunique()
    df = t[["territory_id", "population", "social_index"]].copy()
    df["crime_rate"] = df["territory_id"].map(pre).fillna(0) / df["population"] * 1000 * 12 / months

    def mm(x):
        return (x - x.min()) / (x.max() - x.min())

    df["score"] = (0.5 * mm(-df["social_index"]) + 0.4 * mm(df["crime_rate"])
                   + 0.1 * mm(df["population"]))
    df = df.sort_values(["score", "territory_id"], ascending=[False, True]).reset_index(drop=True)
    n = sum(c.size for c in p.cohorts)
    df["priority"] = df.index < n
    df["cohort"] = None
    df["joined_on"] = pd.NaT
    start = 0
    for c in p.cohorts:
        idx = df.index[start:start + c.size]
        df.loc[idx, "cohort"] = c.id
        df.loc[idx, "joined_on"] = pd.Timestamp(c.joined_on)
        start += c.size
    df["first_full"] = df["joined_on"].map(
        lambda d: pd.Timestamp(first_full_month(d.date())) if pd.notna(d) else pd.NaT)
    return df[["territory_id", "priority", "cohort", "joined_on", "first_full", "crime_rate",
               "score"]]


# ------------------------------------------------------------------------------- people
FIRST_F = ["María", "Guadalupe", "Juana", "Margarita", "Verónica", "Leticia", "Rosa", "Patricia",
           "Alejandra", "Elizabeth", "Gabriela", "Adriana", "Martha", "Claudia", "Yolanda"]
FIRST_M = ["José", "Juan", "Miguel", "Francisco", "Jesús", "Antonio", "Alejandro", "Pedro",
           "Luis", "Ricardo", "Jorge", "Carlos", "Manuel", "Fernando", "Roberto"]
SURNAMES = ["Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez",
            "Sánchez", "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Jiménez",
            "Reyes", "Díaz", "Torres", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz"]
STREETS = ["Calle Morelos", "Av. Ermita Iztapalapa", "Calle Hidalgo", "Calle Allende",
           "Calzada Ignacio Zaragoza", "Calle Benito Juárez", "Av. Tláhuac", "Calle Cuauhtémoc",
           "Calle 5 de Mayo", "Calle Independencia", "Av. Telecomunicaciones", "Calle Guerrero"]


def fake_people(rng: np.random.Generator, sex: np.ndarray, territory_names: np.ndarray):
    """Realistic (fake) names, phones and addresses, so privacy handling is exercised."""
    n = len(sex)
    first = np.where(sex == "female", rng.choice(FIRST_F, n), rng.choice(FIRST_M, n))
    names = (pd.Series(first) + " " + pd.Series(rng.choice(SURNAMES, n)) + " "
             + pd.Series(rng.choice(SURNAMES, n))).to_numpy()
    phones = np.char.add("55 ", np.char.add(rng.integers(1000, 9999, n).astype(str),
                                            np.char.add(" ", rng.integers(1000, 9999, n).astype(str))))
    addr = (pd.Series(rng.choice(STREETS, n)) + " " + pd.Series(rng.integers(1, 400, n)).astype(str)
            + ", Col. " + pd.Series(territory_names).str.split("(").str[0].str.strip().str.title()
            + ", Iztapalapa").to_numpy()
    return names, phones, addr


def _draw_demographics(rng, n, propensity=None):
    cells = list(CENSUS_SHARES)
    pr = np.array([CENSUS_SHARES[c] * (propensity.get(c, 1.0) if propensity else 1.0)
                   for c in cells])
    idx = rng.choice(len(cells), n, p=pr / pr.sum())
    sex = np.array([cells[i][0] for i in idx])
    age = np.array([cells[i][1] for i in idx])
    return sex, age


# ------------------------------------------------------------------------------- diagnostic
SURVEY_RESPONSE_PROPENSITY = {  # who answers the door: women and older people more often
    ("female", "18_29"): 0.9, ("female", "30_44"): 1.2, ("female", "45_59"): 1.3,
    ("female", "60_plus"): 1.3, ("male", "18_29"): 0.6, ("male", "30_44"): 0.8,
    ("male", "45_59"): 0.9, ("male", "60_plus"): 1.0}
BASE_PROBLEM_LOGIT = {"security": 0.3, "services": -0.5, "water": -0.8, "health": -1.2,
                      "education_culture": -1.6, "economy": -0.7, "environment": -1.5,
                      "mobility": -0.9}
PLACE_UNSAFE = {"home": 0.25, "work": 0.45, "streets": 0.72, "school": 0.5, "market": 0.6,
                "shopping_centre": 0.4, "bank": 0.62, "street_atm": 0.82,
                "public_transport": 0.88, "car": 0.55, "highway": 0.65, "park": 0.62}
PLACE_NA = {"work": 0.35, "school": 0.45, "car": 0.55, "highway": 0.4, "bank": 0.2}


def dominant_water_territory(t: pd.DataFrame, prog: pd.DataFrame) -> str:
    """The planted territory whose dominant problem is water (most water-prone in cohort 1)."""
    c1 = prog.loc[prog["cohort"] == "c1", "territory_id"]
    sub = t[t["territory_id"].isin(c1)]
    return sub.sort_values(["water_propensity", "territory_id"], ascending=[False, True]).iloc[0]["territory_id"]


def diagnostic_survey(t, prog, blocks, p: TrueParams, scale: int = 1) -> pd.DataFrame:
    """Household diagnostic survey in programme territories: two-stage sample (blocks, then
    households), with more women and older people answering than in the census."""
    rng = rng_for(p.seed, "diagnostic")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    dom = dominant_water_territory(t, prog)
    frames = []
    for r in prg.itertuples():
        tb = blocks[blocks["territory_id"] == r.territory_id]["block_id"].to_numpy()
        nb = min(len(tb), int(rng.integers(8, 14)))
        sb = rng.choice(tb, nb, replace=False)
        per = rng.integers(6, 11, nb) * scale
        block = np.repeat(sb, per)
        n = len(block)
        sex, age = _draw_demographics(rng, n, SURVEY_RESPONSE_PROPENSITY)
        d = pd.DataFrame({"zone": r.zone_id, "territory": r.territory_id, "block": block,
                          "sex": sex, "age_group": age})
        d["_joined_on"] = r.joined_on
        d["_risk"] = r.crime_risk
        d["_water"] = r.water_propensity if r.territory_id != dom else 5.0
        d["_name"] = r.name
        frames.append(d)
    d = pd.concat(frames, ignore_index=True)
    n = len(d)
    d["disability"] = np.where(rng.random(n) < np.where(d["age_group"] == "60_plus", 0.18, 0.05),
                               "yes", "no")
    d["indigenous"] = np.where(rng.random(n) < 0.08, "yes", "no")
    d["afromexican"] = np.where(rng.random(n) < 0.02, "yes", "no")
    logits = {}
    for ax in AXES:
        lg = BASE_PROBLEM_LOGIT[ax] + rng.normal(0, 0.15, n)
        if ax == "security":
            lg = lg + 0.9 * d["_risk"].to_numpy() + np.where(d["sex"] == "female", 0.3, 0)
        if ax == "water":
            lg = lg + 1.2 * d["_water"].to_numpy()
        if ax == "health":
            lg = lg + np.where(d["age_group"] == "60_plus", 0.8, 0) + np.where(
                d["disability"] == "yes", 0.6, 0)
        if ax == "economy":
            lg = lg + np.where(d["age_group"] == "18_29", 0.5, 0)
        if ax == "mobility":
            lg = lg + np.where(d["sex"] == "male", 0.2, 0)
        logits[ax] = lg
    L = np.column_stack([logits[a] for a in AXES])
    P = 1 / (1 + np.exp(-L))
    chosen = rng.random(P.shape) < P
    none = ~chosen.any(axis=1)
    chosen[none, np.argmax(P[none], axis=1)] = True
    axes = np.array(AXES)
    d["problems"] = [" ".join(axes[row]) for row in chosen]
    # top-3 ranking: Gumbel-max ordering over chosen problems (distinct by construction)
    g = np.where(chosen, L + rng.gumbel(size=L.shape), -np.inf)
    order = np.argsort(-g, axis=1)
    for k in range(3):
        pick = order[:, k]
        ok = np.isfinite(g[np.arange(n), pick])
        d[f"problem_{k + 1}"] = np.where(ok, axes[pick], None)
    p_unsafe = 1 / (1 + np.exp(-(1.0 + 0.9 * d["_risk"].to_numpy()
                                 + np.where(d["sex"] == "female", 0.35, 0))))
    u = rng.random(n)
    d["safety_colonia"] = np.where(u < 0.03, "9", np.where(rng.random(n) < p_unsafe, "2", "1"))
    d["safety_city"] = np.where(rng.random(n) < 0.02, "9",
                                np.where(rng.random(n) < 0.86, "2", "1"))
    for i, place in enumerate(PLACE_UNSAFE, start=1):
        na = rng.random(n) < PLACE_NA.get(place, 0.0)
        unsafe = rng.random(n) < np.clip(PLACE_UNSAFE[place] + 0.08 * d["_risk"], 0, 0.98)
        dk = rng.random(n) < 0.02
        d[f"safety_place_{i:02d}"] = np.where(na, "3", np.where(dk, "9", np.where(unsafe, "2", "1")))
    for svc, mu in (("water", 2.6), ("lighting", 3.1), ("garbage", 3.4), ("paving", 2.9),
                    ("transport", 2.7)):
        adj = -0.8 * d["_water"].to_numpy() if svc == "water" else 0
        d[f"service_{svc}"] = np.clip(np.round(mu + adj + rng.normal(0, 1.0, n)), 1, 5).astype(int)
    for item, mu in (("trust_neighbours", 2.7), ("trust_alcaldia", 2.3), ("trust_police", 1.9),
                     ("cohesion_help", 2.9), ("cohesion_organise", 2.4)):
        d[item] = np.clip(np.round(mu + rng.normal(0, 0.8, n)), 1, 4).astype(int)
    d["life_satisfaction"] = np.clip(np.round(rng.normal(7.0 - 0.4 * d["_risk"], 1.9)), 0, 10).astype(int)
    names, phones, addr = fake_people(rng, d["sex"].to_numpy(), d["_name"].to_numpy())
    d["respondent_name"], d["phone"], d["address"] = names, phones, addr
    d["comments"] = np.where(rng.random(n) < 0.15,
                             "Vivo en " + pd.Series(addr) + "; llámenme al " + pd.Series(phones),
                             "")
    # interviews during the first three months after joining
    off = rng.integers(5, 90, n)
    base = pd.to_datetime(d["_joined_on"])
    d["_submission_time"] = (base + pd.to_timedelta(off, unit="D")
                             + pd.to_timedelta(rng.integers(9 * 3600, 19 * 3600, n), unit="s"))
    return d.drop(columns=["_joined_on", "_risk", "_water", "_name"])


# ------------------------------------------------------------------------------- links
def links(t, prog, p: TrueParams, scale: int = 1) -> pd.DataFrame:
    """Volunteer community links in programme territories, with (fake) personal data."""
    rng = rng_for(p.seed, "links")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    n_t = np.maximum(20, np.round(p.links_total * prg["population"] / prg["population"].sum())
                     ).astype(int) * scale
    tid = np.repeat(prg["territory_id"].to_numpy(), n_t)
    names_t = np.repeat(prg["name"].to_numpy(), n_t)
    joined = np.repeat(pd.to_datetime(prg["joined_on"]).to_numpy(), n_t)
    n = len(tid)
    area_p = np.array([0.3, 0.14, 0.1, 0.16, 0.11, 0.08, 0.11])
    sex, age = _draw_demographics(rng, n, {("female", a): 1.8 for a in AGE_GROUPS})
    name, phone, addr = fake_people(rng, sex, names_t)
    return pd.DataFrame({
        "link_code": [f"L{i:06d}" for i in range(1, n + 1)], "territory": tid,
        "area": rng.choice(LINK_AREAS, n, p=area_p / area_p.sum()), "sex": sex, "age_group": age,
        "name": name, "phone": phone, "address": addr,
        "joined_on": (pd.to_datetime(joined) + pd.to_timedelta(rng.integers(0, 700, n), unit="D")).date,
    })


# ------------------------------------------------------------------------------- assemblies
def _mode_for(dates: pd.DatetimeIndex, rng) -> np.ndarray:
    u = rng.random(len(dates))
    pandemic = (dates >= "2020-03-23") & (dates <= "2021-06-30")
    after = dates > "2021-06-30"
    mode = np.full(len(dates), "in_person", dtype=object)
    mode[pandemic & (u < 0.6)] = "virtual"
    mode[pandemic & (u >= 0.6) & (u < 0.85)] = "hybrid"
    mode[after & (u < 0.05)] = "virtual"
    mode[after & (u >= 0.05) & (u < 0.25)] = "hybrid"
    return mode


def assemblies(t, prog, blocks, census, p: TrueParams):
    """Assemblies (block, territorial, working tables, security cabinets) with attendance by
    sex x age group, and the agreements they made (repeat group)."""
    rng = rng_for(p.seed, "assemblies")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    end = pd.Timestamp(p.end)
    rows = []
    for r in prg.itertuples():
        start = pd.Timestamp(r.joined_on)
        span = (end - start).days
        tb = blocks.loc[blocks["territory_id"] == r.territory_id, "block_id"].to_numpy()
        cov = rng.random(len(tb)) < np.clip(rng.normal(p.block_coverage, 0.08), 0.3, 0.98)
        for b in tb[cov]:
            k = int(rng.integers(1, 4))
            for day in np.sort(rng.integers(0, min(span, 900), k)):
                rows.append((r.territory_id, r.zone_id, b, "block_assembly", start + pd.Timedelta(days=int(day))))
        for kind, every in (("territorial_assembly", 91), ("working_table", 60),
                            ("security_cabinet", 45)):
            nm = max(1, span // every)
            days = np.sort(rng.integers(0, span, nm))
            rows.extend((r.territory_id, r.zone_id, None, kind, start + pd.Timedelta(days=int(x)))
                        for x in days)
    a = pd.DataFrame(rows, columns=["territory", "zone", "block", "kind", "date"])
    # the first months of the pandemic: half of the meetings did not happen
    drop = (a["date"] >= "2020-03-23") & (a["date"] <= "2020-06-30") & (rng.random(len(a)) < 0.5)
    a = a[~drop].sort_values(["territory", "date", "kind"]).reset_index(drop=True)
    a["assembly_code"] = [f"AS-{tid}-{i:05d}" for tid, i in zip(
        a["territory"], a.groupby("territory").cumcount() + 1, strict=True)]
    a["mode"] = _mode_for(pd.DatetimeIndex(a["date"]), rng)
    size_mu = a["kind"].map({"block_assembly": 18, "territorial_assembly": 70,
                             "working_table": 14, "security_cabinet": 22})
    size = np.maximum(4, rng.poisson(size_mu * np.where(a["mode"] == "virtual", 0.7, 1.0)))
    shares = census.pivot_table(index="territory_id", columns=["sex", "age_group"],
                                values="population")
    cells = list(CENSUS_SHARES)
    prop = np.array([p.participation_propensity[c] for c in cells])
    base = shares[cells].loc[a["territory"]].to_numpy() * prop[None, :]
    base = base / base.sum(axis=1, keepdims=True)
    att = np.vstack([rng.multinomial(s, pr) for s, pr in zip(size, base, strict=True)])
    for j, (s, g) in enumerate(cells):
        a[f"att_{s}_{g}"] = att[:, j]
    a["topics"] = [" ".join(sorted(rng.choice(AXES, int(k), replace=False)))
                   for k in rng.integers(1, 4, len(a))]
    a["place"] = np.where(a["mode"] == "virtual", "Videollamada",
                          np.where(a["kind"] == "block_assembly", "En la calle, frente a la manzana",
                                   "Casa de cultura / salón comunitario"))
    sex = rng.choice(SEXES, len(a))
    name, phone, _ = fake_people(rng, sex, a["territory"].to_numpy())
    a["facilitator_name"], a["facilitator_phone"] = name, phone
    a["date"] = pd.to_datetime(a["date"]).dt.date
    # agreements from territorial assemblies, working tables and security cabinets
    mk = a["kind"] != "block_assembly"
    n_agr = np.where(mk, rng.poisson(np.where(a["kind"] == "working_table", 0.6, 0.35)), 0)
    parent = np.repeat(np.arange(len(a)), n_agr)
    g = pd.DataFrame({"_parent_row": parent})
    g["territory"] = a["territory"].to_numpy()[parent]
    g["agreement_code"] = [f"AC-{tid}-{i:04d}" for tid, i in zip(
        g["territory"], g.groupby("territory").cumcount() + 1, strict=True)]
    ax = rng.choice(AXES, len(g), p=np.array([3, 2, 1.5, 1, 0.8, 0.8, 0.6, 1]) / 10.7)
    kinds = a["kind"].to_numpy()[parent]
    ax = np.where(kinds == "security_cabinet", "security", ax)
    g["department"] = [AXIS_DEPARTMENT[x] for x in ax]
    g["_axis"] = ax
    g["agreement_text"] = [AGREEMENT_TEXT[x][int(i) % len(AGREEMENT_TEXT[x])]
                           for x, i in zip(ax, rng.integers(0, 100, len(g)), strict=True)]
    made = pd.to_datetime(a["date"].to_numpy()[parent])
    g["_made_on"] = made
    g["due_date"] = (made + pd.to_timedelta(rng.integers(30, 365, len(g)), unit="D")).date
    return a, g


AGREEMENT_TEXT = {
    "security": ["Instalar luminarias en el callejón", "Rondines de vigilancia los fines de semana",
                 "Colocar alarmas vecinales", "Recuperar el parque con vigilancia"],
    "services": ["Bachear la calle principal", "Recolección de basura dos veces por semana",
                 "Reparar banquetas frente a la escuela"],
    "water": ["Pipas de agua programadas cada semana", "Reparar la fuga de la red",
              "Instalar cisterna comunitaria"],
    "health": ["Jornada de salud mensual", "Visitas médicas a personas mayores"],
    "education_culture": ["Talleres culturales para jóvenes", "Biblioteca comunitaria"],
    "economy": ["Feria de empleo", "Apoyo a comercio local"],
    "environment": ["Jornada de limpieza y reforestación", "Rescate de área verde"],
    "mobility": ["Reductores de velocidad cerca de la escuela", "Ruta segura de transporte"],
}


# ----------------------------------------------------------------------------- follow-up
DEPARTMENT_SPEED = {  # median days from agreed to done; share that is ever done
    "security": (120, 0.75), "public_works": (200, 0.6), "water_utility": (320, 0.45),
    "health": (150, 0.7), "social_development": (180, 0.65), "environment": (160, 0.6),
    "mobility": (260, 0.5), "culture": (140, 0.7), "government": (200, 0.6),
    "legal_affairs": (240, 0.5)}
REJECT_REASONS = ["No hay presupuesto este año", "Corresponde al gobierno de la ciudad",
                  "El predio es de propiedad privada"]


def followup_updates(agreements: pd.DataFrame, p: TrueParams) -> pd.DataFrame:
    """Status histories of each agreement as follow-up form submissions (as of the end date)."""
    rng = rng_for(p.seed, "followup")
    end = pd.Timestamp(p.end)
    rows = []
    for r in agreements.rename(columns={"_made_on": "made_on"}).itertuples():
        med, pdone = DEPARTMENT_SPEED[r.department]
        t0 = pd.Timestamp(r.made_on)
        hist = [(t0, "proposed", 0)]
        t = t0 + pd.Timedelta(days=int(rng.integers(7, 45)))
        u = rng.random()
        if u < 0.06:
            hist.append((t, "rejected", 0))
        else:
            hist.append((t, "agreed", 0))
            t = t + pd.Timedelta(days=int(rng.integers(10, 60)))
            hist.append((t, "in_progress", int(rng.integers(5, 30))))
            if rng.random() < pdone:
                dur = int(rng.exponential(med / np.log(2)))
                steps = int(rng.integers(1, 4))
                for k in range(1, steps + 1):
                    tt = t + pd.Timedelta(days=int(dur * k / (steps + 1)))
                    hist.append((tt, "in_progress", min(95, 20 + 70 * k // (steps + 1))))
                t = t + pd.Timedelta(days=dur)
                hist.append((t, "done", 100))
                if rng.random() < 0.04:  # reopened: the work failed
                    t = t + pd.Timedelta(days=int(rng.integers(20, 90)))
                    hist.append((t, "in_progress", 70))
            elif rng.random() < 0.1:
                t = t + pd.Timedelta(days=int(rng.integers(60, 300)))
                hist.append((t, "cancelled", hist[-1][2]))
        for when, status, prog in hist:
            if when > end:
                break
            rows.append({
                "agreement_code": r.agreement_code, "territory": r.territory,
                "update_date": when.date(), "status": status, "progress": prog,
                "reason": rng.choice(REJECT_REASONS) if status == "rejected" else "",
                "evidence_url": (f"https://evidencias.example.mx/{r.agreement_code}/{when:%Y%m%d}.jpg"
                                 if status in ("done", "in_progress") and rng.random() < 0.6 else ""),
                "department": r.department,
            })
    f = pd.DataFrame(rows)
    sex = rng.choice(SEXES, len(f))
    f["reporter_name"] = fake_people(rng, sex, f["territory"].to_numpy())[0]
    f["_submission_time"] = pd.to_datetime(f["update_date"]) + pd.to_timedelta(
        rng.integers(9 * 3600, 18 * 3600, len(f)), unit="s")
    return f


# ------------------------------------------------------------------ proposals, votes, tallies
PROPOSAL_TEXT = {
    "security": ["Alumbrado en calles oscuras", "Alarmas vecinales", "Módulo de policía de barrio",
                 "Rescate de espacios públicos"],
    "services": ["Bacheo de calles", "Recolección de basura más frecuente", "Banquetas accesibles"],
    "water": ["Abasto regular de agua", "Reparación de fugas", "Captación de agua de lluvia"],
    "health": ["Consultorio comunitario", "Jornadas de salud"],
    "education_culture": ["Talleres para jóvenes", "Casa de cultura abierta los fines de semana"],
    "economy": ["Bolsa de trabajo local", "Mercado de productoras"],
    "environment": ["Reforestación de camellones", "Huertos urbanos"],
    "mobility": ["Cruces seguros frente a escuelas", "Ruta de transporte nocturna"],
}


def proposals_votes(t, prog, diag: pd.DataFrame, p: TrueParams, scale: int = 1):
    """Proposal cards, individual votes with planted opinion groups, and hand-count tallies.

    Returns proposals, vote submissions (one per participant), votes (repeat rows),
    tally submissions, tally rows and the true group of every participant.
    """
    rng = rng_for(p.seed, "votes")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    props, subs, votes, tsubs, trows, truth = [], [], [], [], [], []
    share = diag.assign(_p=diag["problems"].str.split()).explode("_p").groupby(
        ["territory", "_p"]).size()
    for r in prg.itertuples():
        w = np.array([share.get((r.territory_id, a), 0) + 1.0 for a in AXES])
        k = int(rng.integers(12, 22))
        ax = rng.choice(AXES, k, p=w / w.sum())
        codes = [f"P-{r.territory_id}-{i:02d}" for i in range(1, k + 1)]
        # agreement probability per (group, proposal): consensus, divisive or weak
        kind = rng.choice(["consensus", "divisive", "weak"], k, p=[0.3, 0.5, 0.2])
        G = p.opinion_groups
        pa = np.empty((G, k))
        for j in range(k):
            if kind[j] == "consensus":
                pa[:, j] = rng.uniform(0.75, 0.92, G)
            elif kind[j] == "divisive":
                hi = rng.integers(G)
                pa[:, j] = rng.uniform(0.08, 0.22, G)
                pa[hi, j] = rng.uniform(0.8, 0.93)
            else:
                pa[:, j] = rng.uniform(0.25, 0.5, G)
        authors = fake_people(rng, rng.choice(SEXES, k), np.full(k, r.name))[0]
        for j in range(k):
            txt = PROPOSAL_TEXT[ax[j]][int(rng.integers(len(PROPOSAL_TEXT[ax[j]])))]
            props.append({"proposal_code": codes[j], "territory": r.territory_id, "axis": ax[j],
                          "title": txt, "description": f"{txt} en la colonia",
                          "round": "assembly", "_kind": kind[j],
                          "author_name": authors[j],
                          "_submission_time": pd.Timestamp(r.joined_on) + pd.Timedelta(days=100 + j)})
        n = int(rng.integers(40, 120)) * scale
        grp = rng.choice(G, n, p=rng.dirichlet(np.full(G, 6.0)))
        sex, age = _draw_demographics(rng, n, p.participation_propensity)
        base = len(subs)
        pcs = [f"V-{r.territory_id}-{i + 1:04d}" for i in range(n)]
        truth.extend({"participant_code": pc, "territory": r.territory_id, "group": int(g)}
                     for pc, g in zip(pcs, grp, strict=True))
        t_sub = pd.Timestamp(r.joined_on) + pd.to_timedelta(130 + np.arange(n) % 20, unit="D")
        subs.extend({"participant_code": pcs[i], "territory": r.territory_id, "block": None,
                     "round": "assembly", "sex": sex[i], "age_group": age[i],
                     "_submission_time": t_sub[i]} for i in range(n))
        seen = rng.random((n, k)) < 0.85
        is_pass = rng.random((n, k)) < 0.08
        agree = rng.random((n, k)) < pa[grp]
        val = np.where(is_pass, "pass", np.where(agree, "agree", "disagree"))
        ii, jj = np.nonzero(seen)
        votes.append(pd.DataFrame({"_parent_row": base + ii,
                                   "proposal_code": np.array(codes)[jj], "vote": val[ii, jj]}))
        # hand counts: assemblies of 20-60 people voting by show of hands, three rounds
        gshare = np.bincount(grp, minlength=G) / n
        for rnd_i, rnd in enumerate(ROUNDS):
            present = int(rng.integers(20, 61))
            tcode = f"T-{r.territory_id}-{rnd_i + 1}"
            tsubs.append({"assembly_code": tcode, "territory": r.territory_id, "round": rnd,
                          "date": (pd.Timestamp(r.joined_on) + pd.Timedelta(days=150 + 60 * rnd_i)).date(),
                          "present": present,
                          "_submission_time": pd.Timestamp(r.joined_on) + pd.Timedelta(days=150 + 60 * rnd_i)})
            drift = 0.04 * rnd_i  # deliberation builds some agreement across rounds
            for j in range(k):
                pj = float(np.clip(gshare @ pa[:, j] + drift, 0, 1))
                n_pass = int(rng.binomial(present, 0.08))
                n_agree = int(rng.binomial(present - n_pass, pj))
                trows.append({"_parent_row": len(tsubs) - 1, "proposal_code": codes[j],
                              "n_agree": n_agree, "n_disagree": present - n_pass - n_agree,
                              "n_pass": n_pass})
    return (pd.DataFrame(props), pd.DataFrame(subs), pd.concat(votes, ignore_index=True),
            pd.DataFrame(tsubs),
            pd.DataFrame(trows), pd.DataFrame(truth))


#: Share of the agreements that answer a proposal of their territory (when one of the same
#: axis had been made by then) and record its code in the assembly form.
PROPOSAL_LINK_SHARE = 0.8
#: Relative chance that an agreement answers a proposal of each kind: the administration
#: mostly answers what the neighbourhood agreed on.
PROPOSAL_LINK_WEIGHT = {"consensus": 4.0, "weak": 1.0, "divisive": 1.0}


def link_agreements(agreements: pd.DataFrame, proposals: pd.DataFrame, p: TrueParams,
                    share: float = PROPOSAL_LINK_SHARE) -> pd.DataFrame:
    """Fill ``proposal_code`` (assembly form 2026.2) for agreements that answer a proposal.

    An agreement can answer a proposal of its own territory, of the same axis, submitted on or
    before the agreement's date. With probability ``share`` it does, and it records the code
    of one of them (consensus proposals :data:`PROPOSAL_LINK_WEIGHT` times as likely); the
    other agreements (and those with no such proposal) leave ``proposal_code`` empty. The
    draws come from their own stream (``agreement_links``), so nothing else changes.

    Parameters
    ----------
    agreements : DataFrame
        From :func:`assemblies` (``territory, _axis, _made_on``).
    proposals : DataFrame
        From :func:`proposals_votes` (``proposal_code, territory, axis, _kind,
        _submission_time``).
    p : TrueParams
    share : float
        Probability that an agreement with candidate proposals answers one.

    Returns
    -------
    DataFrame
        ``agreements`` with a ``proposal_code`` column (None when not linked).

    Examples
    --------
    >>> ag = pd.DataFrame({"territory": ["T1", "T1", "T2"], "_axis": ["water"] * 3,
    ...                    "_made_on": pd.to_datetime(["2024-05-01", "2023-01-01", "2024-05-01"])})
    >>> pr = pd.DataFrame({"proposal_code": ["P-T1-01"], "territory": ["T1"], "axis": ["water"],
    ...                    "_kind": ["consensus"], "_submission_time": [pd.Timestamp("2024-02-01")]})
    >>> link_agreements(ag, pr, TrueParams(), share=1.0)["proposal_code"].tolist()
    ['P-T1-01', None, None]
    """
    rng = rng_for(p.seed, "agreement_links")
    out = agreements.copy()
    codes: list[str | None] = [None] * len(out)
    if len(out) and len(proposals):
        by_key = {k: g for k, g in proposals.groupby(["territory", "axis"], sort=False)}
        u = rng.random(len(out))
        pick = rng.random(len(out))
        for i, (terr, ax, made) in enumerate(zip(out["territory"], out["_axis"],
                                                 pd.to_datetime(out["_made_on"]), strict=True)):
            cand = by_key.get((terr, ax))
            if cand is None or u[i] >= share:
                continue
            cand = cand[pd.to_datetime(cand["_submission_time"]) <= made]
            if cand.empty:
                continue
            w = cand["_kind"].map(PROPOSAL_LINK_WEIGHT).fillna(1.0).to_numpy()
            j = int(np.searchsorted(np.cumsum(w) / w.sum(), pick[i], side="right"))
            codes[i] = str(cand["proposal_code"].iloc[min(j, len(cand) - 1)])
    out["proposal_code"] = pd.Series(codes, index=out.index, dtype=object)
    return out


# --------------------------------------------------------------------------- process eval
PROCESS_ITEMS = {
    "design": ["purpose", "inclusion", "information", "time"],
    "delib": ["facilitation", "voice", "respect", "understanding", "no_pressure"],
    "impact": ["influence", "response", "followup", "aftercare"],
}
REPEATED_ITEMS = ["trust_government", "efficacy", "understanding"]


def process_questionnaires(t, prog, p: TrueParams, scale: int = 1) -> pd.DataFrame:
    """Participant questionnaires at start and end of the process (OECD-inspired items)."""
    rng = rng_for(p.seed, "process")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    rows = []
    for r in prg.itertuples():
        q = rng.normal(0, 0.3)
        n = int(rng.integers(20, 45)) * scale
        sex, age = _draw_demographics(rng, n, p.participation_propensity)
        person = rng.normal(0, 0.5, n)
        t0 = pd.Timestamp(r.joined_on) + pd.Timedelta(days=20)
        for moment, when in (("start", t0), ("end", t0 + pd.Timedelta(days=300))):
            for i in range(n):
                if moment == "end" and rng.random() < 0.15:
                    continue  # attrition
                row = {"participant_code": f"Q-{r.territory_id}-{i + 1:03d}",
                       "territory": r.territory_id, "moment": moment, "sex": sex[i],
                       "age_group": age[i],
                       "disability": "yes" if rng.random() < 0.07 else "no",
                       "_submission_time": when + pd.Timedelta(minutes=i)}
                for it in REPEATED_ITEMS:
                    mu = 3.0 + (p.process_repeat_change if moment == "end" else 0) + person[i] + q
                    row[f"pe_rep_{it}"] = int(np.clip(np.round(mu + rng.normal(0, 0.7)), 1, 5))
                if moment == "end":
                    for stage, items in PROCESS_ITEMS.items():
                        for it in items:
                            mu = p.process_stage_means[stage] + q + person[i]
                            row[f"pe_{stage}_{it}"] = int(np.clip(np.round(mu + rng.normal(0, 0.6)), 1, 5))
                rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- wellbeing panel
def wellbeing_panel(t, prog, p: TrueParams, scale: int = 1) -> pd.DataFrame:
    """Pre/post wellbeing and peace panel (same respondent code), programme territories."""
    rng = rng_for(p.seed, "wellbeing")
    prg = prog[prog["priority"]].merge(t, on="territory_id")
    rows = []
    for r in prg.itertuples():
        n = int(rng.integers(18, 35)) * scale
        sex, age = _draw_demographics(rng, n, SURVEY_RESPONSE_PROPENSITY)
        ls0 = rng.normal(6.6 - 0.4 * r.crime_risk, 1.8, n)
        unsafe0 = np.clip(0.78 + 0.05 * r.crime_risk, 0.05, 0.97)
        u_person = rng.random(n)
        peace0 = rng.normal(2.9, 0.6, n)
        t0 = pd.Timestamp(r.joined_on) + pd.Timedelta(days=10)
        for wave, when in (("pre", t0), ("post", t0 + pd.Timedelta(days=365))):
            post = wave == "post"
            for i in range(n):
                if post and rng.random() < 0.12:
                    continue
                ls = ls0[i] + (p.panel_life_satisfaction_change if post else 0) + rng.normal(0, 0.8)
                pu = unsafe0 + (p.panel_unsafe_change_pp / 100 if post else 0)
                unsafe = (u_person[i] * 0.6 + rng.random() * 0.4) < pu
                row = {"respondent_code": f"W-{r.territory_id}-{i + 1:03d}",
                       "territory": r.territory_id, "wave": wave, "sex": sex[i],
                       "age_group": age[i],
                       "life_satisfaction": int(np.clip(np.round(ls), 0, 10)),
                       "safety_colonia": "2" if unsafe else "1",
                       "trust_neighbours": int(np.clip(np.round(2.6 + (0.2 if post else 0)
                                                                + rng.normal(0, 0.7)), 1, 4)),
                       "_submission_time": when + pd.Timedelta(minutes=i)}
                for k in range(1, 6):
                    row[f"peace_{k}"] = int(np.clip(np.round(peace0[i] + (0.3 if post else 0)
                                                             + rng.normal(0, 0.6)), 1, 5))
                rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["territory_attributes", "census_margins", "crime_expected", "crime_counts",
           "select_programme", "simulate_crime", "diagnostic_survey", "links", "assemblies", "followup_updates",
           "proposals_votes", "link_agreements", "process_questionnaires", "wellbeing_panel", "DEPARTMENTS",
           "dominant_water_territory"]
