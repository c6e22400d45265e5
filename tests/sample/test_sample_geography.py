"""The sample city on any geography: a new city trains and tests before it has field data."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml

from territoria.sample import Geography, generate, params_for
from territoria.sample.geography import DEFAULT_DENSITY, layer_territories
from territoria.sample.model import TrueParams


@pytest.fixture
def small_layer(tmp_path):
    """Nine squares of about 1 km in Lambert conformal conic, no population, no zones."""
    g = gpd.GeoDataFrame(
        {"CLAVE": [f"X-{i:02d}" for i in range(9)],
         "NOMBRE": [f"BARRIO {i}" for i in range(9)]},
        geometry=[shapely.box(-99.0 + 0.01 * (i % 3), 19.3 + 0.01 * (i // 3),
                              -98.99 + 0.01 * (i % 3), 19.31 + 0.01 * (i // 3))
                  for i in range(9)], crs="EPSG:4326").to_crs("EPSG:6372")
    p = tmp_path / "barrios.gpkg"
    g.to_file(p)
    return p


def test_layer_without_population_gets_an_assumed_density(small_layer):
    t = layer_territories(small_layer, mapping="territory_id=CLAVE,name=NOMBRE")
    assert len(t) == 9 and t.attrs["assumed_population"]
    # about 1.05 km² each (0.01° x 0.01° at 19.3°N) at the documented density
    assert t["population"].between(0.9 * DEFAULT_DENSITY, 1.2 * DEFAULT_DENSITY).all()
    assert t["lon"].between(-99.0, -98.96).all()


def test_generate_on_a_layer_keeps_the_planted_truths_sized_to_it(small_layer):
    g = generate(geography=Geography(small_layer, mapping="territory_id=CLAVE,name=NOMBRE"))
    base = TrueParams()
    p = g["params"]
    assert len(g["territories"]) == 9
    assert [c.joined_on for c in p.cohorts] == [c.joined_on for c in base.cohorts]
    assert g["programme"]["priority"].sum() == sum(c.size for c in p.cohorts) == 4
    assert p.crime_effect_log == base.crime_effect_log and p.n_zones == 2
    assert g["zones"]["illustrative"].all() and g["blocks"]["territory_id"].nunique() == 9


def test_params_for_keeps_cohort_proportions():
    p = params_for(pd.DataFrame({"population": [1844597 / 586] * 586}), TrueParams())
    assert [c.size for c in p.cohorts] == [44, 80, 76, 60] and p.n_zones == 26


@pytest.mark.slow
@pytest.mark.realdata
def test_a_second_city_end_to_end(real_data, tmp_path):
    """Milpa Alta from the real IECM layer: sample, ingest, every step for its programme
    territories, publish."""
    from territoria.demo import run_demo
    from territoria.store import Store

    geo = Geography(real_data / "iecm-colonias" / "colonias_iecm.gpkg",
                    where="NOMDT = 'MILPA ALTA'",
                    mapping="territory_id=CVEUT,name=NOMUT,population=SUMPOB1")
    out = run_demo(tmp_path / "milpa", geography=geo, workers=2, echo=lambda *a: None)
    assert not out["failed"]
    root = tmp_path / "milpa"
    city = yaml.safe_load((root / "city.yml").read_text(encoding="utf-8"))
    assert city["name"] == {"es": "Milpa Alta (ciudad de ejemplo)", "en": "Milpa Alta (sample city)"}
    keys = city | {"sources": [x["path"] for x in city["sources"]]}
    assert "iztapalapa" not in yaml.safe_dump(keys, allow_unicode=True).lower()
    with Store(root / "territoria.duckdb", read_only=True) as s:
        terr = s.table("territories")
        runs = s.query("SELECT step, territory_id, status FROM runs")
    prog = terr.loc[terr["priority"].astype(bool), "territory_id"]
    assert len(terr) == 12 and terr["territory_id"].str.startswith("09-").all()
    assert len(prog) >= 4
    assert not (runs["status"] == "failed").any()
    for step in ("01_network", "02_diagnostic", "03_agenda", "05_process"):
        done = set(runs.loc[(runs["step"] == step) & (runs["status"] == "ok"), "territory_id"])
        assert done == set(prog), step
    assert set(runs.loc[runs["territory_id"].isna(), "step"]) >= {
        "00_selection", "06_impact", "07_synthesis"}
    site = root / "site"
    assert (site / "index.html").is_file() and (site / "city.html").is_file()
    for tid in prog:
        assert (site / "territories" / f"{tid}.html").is_file()
