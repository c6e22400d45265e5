"""Small-cell suppression: primary and complementary rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territoria.analysis.suppression import is_publishable, suppress
from territoria.exceptions import AnalysisError


def test_primary_and_secondary_one_total():
    t = pd.DataFrame({"axis": list("abcd"), "n": [40, 2, 9, 15], "pct": [60.6, 3.0, 13.6, 22.7]})
    out = suppress(t, "n", min_count=5)
    assert out["suppression"].tolist() == ["", "primary", "secondary", ""]
    assert out.loc[1, ["n", "pct"]].isna().all() and out.loc[2, ["n", "pct"]].isna().all()
    # the blanked cells cannot be recovered: total 66 minus published = 11 = 2 + 9, two unknowns
    assert out["n"].sum() == 55


def test_no_secondary_when_two_primaries_or_disabled():
    t = pd.DataFrame({"g": list("abc"), "n": [1, 2, 30]})
    assert suppress(t, "n", min_count=5)["suppression"].tolist() == ["primary", "primary", ""]
    t2 = pd.DataFrame({"g": list("abc"), "n": [1, 20, 30]})
    assert suppress(t2, "n", min_count=5, secondary=False)["suppressed"].tolist() == [
        True, False, False]


def test_groups_and_two_way_margins():
    t = pd.DataFrame({"sex": ["f", "f", "f", "m", "m", "m"],
                      "age": ["a", "b", "c", "a", "b", "c"],
                      "n": [4, 30, 22, 17, 25, 40]})
    within_sex = suppress(t, "n", min_count=5, groups=["sex"])
    assert within_sex["suppressed"].tolist() == [True, False, True, False, False, False]
    both = suppress(t, "n", min_count=5, groups=[["sex"], ["age"]])
    # f-a primary; f-c (smallest other f) secondary; then column a and c need a second cell
    assert both["suppressed"].tolist() == [True, False, True, True, False, True]
    for _, g in both.groupby("sex"):
        assert g["suppressed"].sum() != 1
    for _, g in both.groupby("age"):
        assert g["suppressed"].sum() != 1


def test_value_cols_and_errors():
    t = pd.DataFrame({"n": [1, 10, 10], "est": [0.1, 0.5, 0.4], "label": ["x", "y", "z"]})
    out = suppress(t, "n", min_count=3, value_cols=[])
    assert out["est"].notna().all() and np.isnan(out.loc[0, "n"])
    with pytest.raises(AnalysisError, match="unknown count column 'count'"):
        suppress(t, "count", min_count=3)
    with pytest.raises(AnalysisError, match="negative"):
        suppress(t.assign(n=[-1, 2, 3]), "n", min_count=3)
    with pytest.raises(AnalysisError, match="min_count"):
        suppress(t, "n", min_count=0)


def test_is_publishable():
    assert is_publishable(5, 5) and not is_publishable(4, 5)
    assert not is_publishable(float("nan"), 5)
    assert is_publishable(np.array([3, 7]), 5).tolist() == [False, True]
