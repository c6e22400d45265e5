"""The remote-meetings share of step 01 follows city.yml (programme.remote_meetings)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from territoria.config import CityConfig
from territoria.steps import s01_network as s01

A = pd.DataFrame({"date": ["2019-12-01", "2020-02-01", "2020-05-01", "2020-06-01", "2021-03-01",
                           "2022-01-01"],
                  "mode": ["in_person", "in_person", "virtual", "hybrid", "virtual", "in_person"]})


def test_remote_period_from_city_yml():
    assert s01.remote_period(CityConfig.model_validate({"name": "X"})) is None
    cfg = CityConfig.model_validate({"name": "X", "programme": {
        "remote_meetings": {"start": "2020-04-01", "end": "2021-12-31"}}})
    assert s01.remote_period(cfg) == (dt.date(2020, 4, 1), dt.date(2021, 12, 31))


def test_remote_share_in_the_period_the_year_or_overall():
    period = s01.remote_share(A, start=dt.date(2020, 4, 1), end=dt.date(2021, 12, 31))
    assert (period["value"], period["n"]) == (1.0, 3)
    year = s01.remote_share(A, 2020)
    assert (year["value"], year["n"]) == (pytest.approx(2 / 3), 3)
    overall = s01.remote_share(A)
    assert (overall["value"], overall["n"]) == (0.5, 6)
    assert overall["ci_low"] < 0.5 < overall["ci_high"]
