"""The generative model of the sample city and its true parameters.

Everything the sample contains beyond the real geography is synthetic and generated from
these parameters and a seed. The true values are written to ``truth/params.json`` in the
demo workspace so that trainers and tests can check that the kit recovers them.

Examples
--------
>>> p = TrueParams()
>>> p.crime_effect_log
-0.1
>>> sum(c.size for c in p.cohorts)
130
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CohortSpec:
    """A wave of territories that joined the programme on the same date."""

    id: str
    joined_on: dt.date
    size: int
    label_es: str
    label_en: str


def _default_cohorts() -> tuple[CohortSpec, ...]:
    return (
        CohortSpec("c1", dt.date(2018, 12, 24), 22, "Primera etapa", "First wave"),
        CohortSpec("c2", dt.date(2019, 7, 1), 40, "Segunda etapa", "Second wave"),
        CohortSpec("c3", dt.date(2020, 1, 13), 38, "Tercera etapa", "Third wave"),
        CohortSpec("c4", dt.date(2020, 7, 6), 30, "Cuarta etapa", "Fourth wave"),
    )


AXES = ("security", "services", "water", "health", "education_culture", "economy",
        "environment", "mobility")
AXIS_LABELS = {
    "security": ("Seguridad y convivencia", "Safety and coexistence"),
    "services": ("Servicios urbanos", "Urban services"),
    "water": ("Agua", "Water"),
    "health": ("Salud", "Health"),
    "education_culture": ("Educación y cultura", "Education and culture"),
    "economy": ("Economía y empleo", "Economy and jobs"),
    "environment": ("Medio ambiente", "Environment"),
    "mobility": ("Movilidad", "Mobility"),
}
DEPARTMENTS = ("security", "public_works", "water_utility", "health", "social_development",
               "environment", "mobility", "culture", "government", "legal_affairs")
AXIS_DEPARTMENT = {
    "security": "security", "services": "public_works", "water": "water_utility",
    "health": "health", "education_culture": "culture", "economy": "social_development",
    "environment": "environment", "mobility": "mobility",
}
SEXES = ("female", "male")
AGE_GROUPS = ("18_29", "30_44", "45_59", "60_plus")
LINK_AREAS = ("peace_wellbeing", "health", "civil_protection", "women", "youth", "children",
              "older_adults")
ASSEMBLY_KINDS = ("block_assembly", "territorial_assembly", "working_table", "security_cabinet")
MODES = ("in_person", "virtual", "hybrid")
ROUNDS = ("assembly", "collective", "agenda_validation")
ENSU_PLACES = ("home", "work", "streets", "school", "market", "shopping_centre", "bank",
               "street_atm", "public_transport", "car", "highway", "park")


@dataclass(frozen=True)
class TrueParams:
    """True parameters of the synthetic activity (documented in ``methodology/sample-city.md``).

    Attributes
    ----------
    crime_effect_log : float
        Programme effect on the log expected monthly crime count of a territory, from the
        first *full* month after its join date (constant over time and cohorts).
    pandemic_crime_log : float
        Common shift of crime, April-December 2020.
    trend_log_per_year : float
        Common yearly trend in crime.
    panel_life_satisfaction_change : float
        Mean change (post - pre) of life satisfaction (0-10) in the wellbeing panel.
    panel_unsafe_change_pp : float
        Change in percentage points of residents who feel unsafe in their colonia (panel).
    participation_propensity : dict
        Relative propensity to attend assemblies by (sex, age group); young men attend least.
    process_stage_means : dict
        Mean of the Likert items (1-5) of each OECD stage; pathways to impact is the weakest.
    process_repeat_change : float
        Mean change end - start of the repeated process items.
    opinion_groups : int
        Latent opinion groups among voters of each territory.
    block_coverage : float
        Expected share of blocks of a programme territory with at least one block assembly.
    """

    seed: int = 20181224
    cohorts: tuple[CohortSpec, ...] = field(default_factory=_default_cohorts)
    start: dt.date = dt.date(2016, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    crime_effect_log: float = -0.10
    pandemic_crime_log: float = -0.25
    trend_log_per_year: float = 0.01
    crime_overdispersion: float = 0.15
    panel_life_satisfaction_change: float = 0.4
    panel_unsafe_change_pp: float = -8.0
    participation_propensity: dict = field(default_factory=lambda: {
        ("female", "18_29"): 0.9, ("female", "30_44"): 1.4, ("female", "45_59"): 1.5,
        ("female", "60_plus"): 1.3, ("male", "18_29"): 0.35, ("male", "30_44"): 0.7,
        ("male", "45_59"): 0.9, ("male", "60_plus"): 1.1})
    process_stage_means: dict = field(default_factory=lambda: {
        "design": 3.9, "delib": 4.0, "impact": 3.1})
    process_repeat_change: float = 0.5
    opinion_groups: int = 2
    block_coverage: float = 0.7
    links_total: int = 17000
    blocks_total: int = 6500
    n_zones: int = 13
    dominant_water_share: float = 0.85

    def to_dict(self) -> dict:
        """JSON-friendly dict of every parameter."""
        d = dataclasses.asdict(self)
        d["cohorts"] = [{**dataclasses.asdict(c), "joined_on": c.joined_on.isoformat()}
                        for c in self.cohorts]
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        d["participation_propensity"] = {f"{s}|{a}": v for (s, a), v in
                                         self.participation_propensity.items()}
        return d


def rng_for(seed: int, component: str) -> np.random.Generator:
    """An independent, reproducible random stream per component of the sample.

    >>> a = rng_for(1, "crime").integers(1000); b = rng_for(1, "crime").integers(1000)
    >>> bool(a == b)
    True
    """
    key = [seed] + [ord(c) for c in component]
    return np.random.default_rng(key)


def first_full_month(d: dt.date) -> dt.date:
    """The first month fully inside the programme after joining on ``d``.

    >>> first_full_month(dt.date(2018, 12, 24))
    datetime.date(2019, 1, 1)
    >>> first_full_month(dt.date(2019, 7, 1))
    datetime.date(2019, 7, 1)
    """
    if d.day == 1:
        return d
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
