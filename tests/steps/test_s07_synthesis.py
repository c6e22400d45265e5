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


# -- step 04's dated figures (grp = cut-off date) ------------------------------------------------
FU = ("followup_fulfilment_rate", "followup_on_time_rate")


def _dated_ctx(rows) -> SimpleNamespace:
    store = Store(":memory:")
    with store.transaction():
        store.append("indicators", pd.DataFrame(rows))
    return SimpleNamespace(store=store, territories=lambda: TERR.copy(), min_cell=2,
                           config=CityConfig.model_validate({"name": "X",
                                                             "period_end": "2024-12-31"}))


def _fu_rows(values, day, tids=TERR["territory_id"]):
    return [{"territory_id": t, "step": "04_followup", "name": "followup_fulfilment_rate",
             "grp": day, "value": v, "suppressed": False} for t, v in zip(tids, values,
                                                                          strict=True)]


def test_step_04_figures_are_read_at_the_runs_cut_off_once_per_territory():
    """Step 04 tags its figures with its cut-off (grp): step 07 reads them at the run's
    cut-off (period_end) when recorded, else the latest; a figure recorded twice counts once;
    territories at another date are left out and counted."""
    rows = (_fu_rows([0.1, 0.2, 0.3, 0.4, 0.5], "2024-12-31", TERR["territory_id"][:5])
            + _fu_rows([0.9], "2024-12-31", ["T1"])                 # T1 twice at that date
            + _fu_rows([0.99], "2023-06-30", ["T6"]))                # T6 at another date
    rows[5]["computed_at"] = pd.Timestamp("2025-01-02")  # the later computation wins
    rows[0]["computed_at"] = pd.Timestamp("2025-01-01")
    ctx = _dated_ctx(rows)
    ind = s07.load_indicators(ctx)
    assert sorted(ind["territory_id"]) == ["T1", "T2", "T3", "T4", "T5"]
    assert set(ind["as_of"]) == {"2024-12-31"}
    wide = s07.wide_indicators(ind, s07.KEY_INDICATORS)
    assert wide.loc["T1", "followup_fulfilment_rate"] == 0.9
    assert s07.followup_cut_off(ctx, ind) == {"as_of": "2024-12-31", "n": 5, "n_other": 1}
    older = s07.load_indicators(ctx, as_of="2023-06-30")  # the notebook's as_of
    assert older["territory_id"].tolist() == ["T6"]
    none_matches = s07.load_indicators(ctx, as_of="2020-01-01")  # else the latest
    assert set(none_matches["as_of"]) == {"2024-12-31"}
    res = s07.compute(ctx)
    z = res.tables["zones_followup_fulfilment_rate"].set_index("zone_name")
    assert z.loc["Norte", "estimate"] == pytest.approx(0.3)  # T1 0.9, T2 0.2, T3 0.3
    assert z.loc["Sur", "estimate"] == pytest.approx(0.45)   # T4 0.4, T5 0.5
    assert res.meta["zones_followup_fulfilment_rate"] == {"as_of": "2024-12-31"}
    assert "zones_block_coverage" not in res.meta or not res.meta.get("zones_block_coverage")
    text = " ".join(res.tables["findings"]["finding_es"])
    assert "al corte del 31 de diciembre de 2024, en 5 colonias" in text
    assert "1 colonias con su seguimiento calculado a otra fecha" in text
    assert "as of 31 December 2024" in " ".join(res.tables["findings"]["finding_en"])


@pytest.fixture(scope="module")
def followup_ws(sample_ws, tmp_path_factory):
    """A copy of the sample city whose store holds step 04's indicators, as the runner
    collects them, for the programme territories of the two zones with most of them (at
    least min_cell_size each: their zone bars are published). Returns (workspace root,
    territory ids)."""
    import shutil

    from territoria.report.record import collect
    from territoria.steps import s04_followup
    from territoria.steps.common import open_context

    root = tmp_path_factory.mktemp("s07") / "ws"
    root.mkdir()
    for name in ("city.yml", ".secret"):
        shutil.copy(sample_ws.root / name, root / name)
    shutil.copy(sample_ws.store_path, root / sample_ws.store_path.name)
    src = open_context(root)
    try:
        t = src.territories()
        prog = t[t["priority"].fillna(False).astype(bool)]
        zones = prog["zone_name"].value_counts()
        zones = zones[zones >= src.min_cell].index[:2]
        ids = sorted(prog.loc[prog["zone_name"].isin(zones), "territory_id"])
        paths = [s04_followup.compute(src, tid).save(root / "output") for tid in ids]
    finally:
        src.close()
    with Store(root / sample_ws.store_path.name) as store:
        collect(store, paths)
    return root, ids


def test_city_synthesis_uses_step_04_figures_of_the_sample_city(followup_ws):
    """On the sample city the zone chart of fulfilled agreements and the follow-up entries of
    the attention list exist, and their numbers are those step 04 recorded at the cut-off
    (issue 15: step 07 read only untagged indicators and never saw them)."""
    from territoria.report.catalogue import load_catalogue
    from territoria.steps.common import open_context

    root, ids = followup_ws
    ctx = open_context(root)
    try:
        rec = ctx.store.query(
            "SELECT territory_id, name, value FROM indicators WHERE step = '04_followup' "
            "AND grp = ? AND NOT suppressed", [str(ctx.config.period_end)])
        res = s07.compute(ctx)
        terr = ctx.territories().set_index("territory_id")
    finally:
        ctx.close()
    assert sorted(rec["territory_id"].unique()) == ids
    recorded = rec.pivot(index="territory_id", columns="name", values="value")
    z = res.tables["zones_followup_fulfilment_rate"]
    assert len(z) == 2 and not z["suppressed"].any()
    for r in z.itertuples():
        x = recorded["followup_fulfilment_rate"][terr.loc[recorded.index, "zone_name"]
                                                 == r.zone_name]
        assert r.n == len(x) >= ctx.min_cell
        assert r.estimate == pytest.approx(x.median())
        assert (r.ci_low, r.ci_high) == pytest.approx((x.quantile(0.25), x.quantile(0.75)))
    assert res.meta["zones_followup_fulfilment_rate"]["as_of"] == str(ctx.config.period_end)
    # the attention list: territories in the worst fifth of both follow-up rates
    worst = pd.DataFrame({n: recorded[n] <= recorded[n].quantile(0.2) for n in FU})
    expect = sorted(worst.index[worst.all(axis=1)])
    att = res.tables["attention"]
    assert expect and sorted(att["territory_id"]) == expect
    names = [load_catalogue()[n].name("es") for n in FU]
    assert all(b == ", ".join(names) for b in att["behind_es"])
    ind = res.indicators_frame().set_index("name")
    assert ind.loc["synthesis_median_followup_fulfilment_rate", "value"] == pytest.approx(
        recorded["followup_fulfilment_rate"].median())
    assert ind.loc["synthesis_territories", "value"] == len(ids)
    assert any("al corte del 31 de diciembre de 2024" in f
               for f in res.tables["findings"]["finding_es"])
