"""The data preparation shared by step 06 and the evaluation methods (territoria.steps.impact_data)."""

from __future__ import annotations

import ast
import inspect

import pandas as pd
import pytest

from territoria.evaluation import methods
from territoria.exceptions import ConfigError
from territoria.steps import impact_data, s06_impact


@pytest.mark.parametrize("name", ["cohort_period", "crime_panel", "wellbeing_data", "CODINGS",
                                  "WB_OUTCOMES"])
def test_step_06_reads_the_data_the_shared_way(name):
    assert getattr(s06_impact, name) is getattr(impact_data, name)


def test_evaluation_methods_use_no_private_name_of_step_06():
    tree = ast.parse(inspect.getsource(methods))
    private = [f"{n.value.id}.{n.attr}" for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
               and n.value.id in ("s06", "impact_data") and n.attr.startswith("_")]
    assert private == []


def test_month_index_counts_from_the_origin_month():
    months = pd.Series(pd.to_datetime(["2019-03-15", "2019-12-01", "2021-01-31"]))
    assert impact_data.month_index(months, pd.Timestamp("2019-03-01")).tolist() == [1, 10, 23]


def test_never_mean_averages_the_territories_that_never_joined():
    crime = pd.DataFrame({"t": [1, 1, 1, 2, 2, 2], "y": [1.0, 3.0, 9.0, 2.0, 4.0, 9.0],
                          "programme": [False, False, True] * 2})
    assert impact_data.never_mean(crime).to_dict() == {1: 2.0, 2: 3.0}


def test_an_unknown_coding_is_a_config_error():
    with pytest.raises(ConfigError, match="first_exposed_period, first_full_period"):
        impact_data.cohort_period("2019-07-02", "monthly")
