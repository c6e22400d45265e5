"""Tests of territoria.steps.s07_synthesis: the city synthesis from the territories' indicators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from territoria.config import CityConfig
from territoria.steps import s07_synthesis as s07
from territoria.store import Store

TERR = pd.DataFrame({"territory_id": [f"T{i}" for i in range(1, 7)],
                     "name": [f"Colonia {i}" for i in range(1, 7)],
                     "zone_name": ["Norte"] * 3 + ["Sur"] * 3})
COVERAGE = [0.9, 0.8, 0.7, 0.2, 0.1, 0.5]          # higher is better
UNSAFE = [0.3, 0.4, 0.5, 0.9, 0.95, 0.6]          # lower is better


def _indicators() -> pd.DataFrame:
    rows = []
    for t, c, u in zip(TERR["territory_id"], COVERAGE, UNSAFE, strict=True):
        rows += [{"territory_id": t, "step": "01_network", "name": "block_coverage", "value": c,
                  "suppressed": False},
                 {"territory_id": t, "step": "02_diagnostic", "name": "pct_unsafe_colonia",
                  "value": u, "suppressed": t == "T6"},
                 {"territory_id": t, "step": "01_network", "name": "representation_ratio",
                  "grp": "female_18_29", "value": 1.0, "suppressed": False}]
    return pd.DataFrame(rows)


@pytest.fixture
def ctx():
    store = Store(":memory:")
    with store.transaction():
        store.append("indicators", _indicators())
    return SimpleNamespace(store=store, territories=lambda: TERR.copy(), min_cell=3,
                           config=CityConfig.model_validate({"name": "X"}))


def test_wide_indicators_drop_suppressed_values_and_subgroups(ctx):
    ind = s07.load_indicators(ctx)
    assert len(ind) == 12  # the subgroup rows are left out
    wide = s07.wide_indicators(ind, s07.KEY_INDICATORS)
    assert list(wide.columns) == ["block_coverage", "pct_unsafe_colonia"]
    assert np.isnan(wide.loc["T6", "pct_unsafe_colonia"])
    assert wide.loc["T1", "block_coverage"] == 0.9


def test_attention_counts_the_worst_fifth_in_each_direction():
    wide = pd.DataFrame({"block_coverage": COVERAGE, "pct_unsafe_colonia": UNSAFE},
                        index=TERR["territory_id"])
    att = s07.attention(wide, {"block_coverage": "higher", "pct_unsafe_colonia": "lower"})
    # worst 20 %: coverage <= q20 (T4, T5); unsafe >= q80 (T4, T5)
    assert att["territory_id"].tolist() == ["T4", "T5"]
    assert att["n_behind"].tolist() == [2, 2]
    assert s07.attention(wide, {}, min_behind=3).empty


def test_zone_summary_median_and_quartiles():
    wide = pd.DataFrame({"block_coverage": COVERAGE}, index=TERR["territory_id"])
    z = s07.zone_summary(wide, TERR, "block_coverage").set_index("zone_name")
    assert z.loc["Norte", "estimate"] == pytest.approx(0.8)
    assert z.loc["Sur", "estimate"] == pytest.approx(0.2)
    assert z.loc["Sur", "ci_low"] == pytest.approx(np.quantile([0.2, 0.1, 0.5], 0.25))
    assert s07.zone_summary(wide, TERR, "nope").empty


def test_zone_summary_suppresses_zones_with_few_territories_and_lists_them_last():
    terr = pd.concat([TERR, pd.DataFrame({"territory_id": ["T7"], "name": ["Colonia 7"],
                                          "zone_name": ["Chica"]})], ignore_index=True)
    wide = pd.DataFrame({"block_coverage": COVERAGE + [0.99]}, index=terr["territory_id"])
    z = s07.zone_summary(wide, terr, "block_coverage", min_cell=3)
    assert z["zone_name"].tolist() == ["Norte", "Sur", "Chica"]  # not first by its value
    chica = z.set_index("zone_name").loc["Chica"]
    assert bool(chica["suppressed"]) and chica[["estimate", "ci_low", "ci_high", "n"]].isna().all()
    assert not z.set_index("zone_name").loc[["Norte", "Sur"], "suppressed"].any()
    assert "suppressed" not in s07.zone_summary(wide, terr, "block_coverage")


def test_findings_never_quote_a_suppressed_zone():
    """The city text must not publish what the zone chart suppresses (Zona 05 on the sample
    city's site)."""
    terr = pd.concat([TERR, pd.DataFrame({"territory_id": ["T7"], "name": ["Colonia 7"],
                                          "zone_name": ["Chica"]})], ignore_index=True)
    wide = pd.DataFrame({"block_coverage": COVERAGE + [0.01]}, index=terr["territory_id"])
    text = " ".join(s07.findings(wide, terr, None, 0, min_cell=3).to_numpy().ravel())
    assert "Chica" not in text and "Sur" in text and "Norte" in text
    assert "Chica" in " ".join(s07.findings(wide, terr, None, 0).to_numpy().ravel())
    only_small = s07.findings(wide, terr, None, 0, min_cell=4)  # every zone under 4
    assert not any(z in " ".join(only_small.to_numpy().ravel()) for z in ("Chica", "Sur"))


def test_compute_records_the_city_indicators(ctx):
    res = s07.compute(ctx)
    ind = res.indicators_frame().set_index("name")
    assert ind.loc["synthesis_territories", "value"] == 6
    assert ind.loc["synthesis_median_block_coverage", "value"] == pytest.approx(
        np.median(COVERAGE))
    assert ind.loc["synthesis_median_pct_unsafe_colonia", "n"] == 5  # T6 suppressed
    assert ind.loc["synthesis_attention", "value"] == 1  # T5 only: T6's unsafe is unknown
    assert {"attention", "findings", "comparison", "zones_block_coverage"} <= set(res.tables)
    assert res.tables["attention"]["behind_en"].iloc[0].count(",") == 1
