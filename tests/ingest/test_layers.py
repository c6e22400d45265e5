"""Layers in every common format and projection, filters, mappings and bad geometries."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
import shapely

from territoria.config import init_workspace
from territoria.exceptions import IngestError
from territoria.ingest import ingest_files
from territoria.ingest.layers import is_layer, parse_mapping, read_layer, split_geometries
from territoria.store import Store


def _layer(n=4):
    """Squares of about 1 km near Mexico City, two boroughs, INEGI-like column names."""
    geoms = [shapely.box(-99.10 + 0.01 * i, 19.35, -99.09 + 0.01 * i, 19.36) for i in range(n)]
    return gpd.GeoDataFrame({"CVE": [f"T{i}" for i in range(n)],
                             "NOM": [f"COLONIA {i} (BARR)" if i == 0 else f"COLONIA {i}"
                                     for i in range(n)],
                             "POB": [100 * (i + 1) for i in range(n)],
                             "MUN": ["UNO", "UNO", "DOS", "DOS"][:n]},
                            geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def ws(tmp_path):
    return init_workspace(tmp_path / "w", "Ciudad")


MAP = "territory_id=CVE,name=NOM,population=POB"


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "zip"])
def test_every_format_in_lambert_conformal_conic_is_reprojected(tmp_path, ws, fmt):
    g = _layer().to_crs("EPSG:6372")  # INEGI's Lambert conformal conic
    if fmt == "zip":
        d = tmp_path / "shp"
        d.mkdir()
        g.to_file(d / "capa.shp")
        path = tmp_path / "capa.zip"
        with zipfile.ZipFile(path, "w") as z:
            for f in d.iterdir():
                z.write(f, f"capa/{f.name}")
    else:
        path = tmp_path / f"capa.{fmt}"
        g.to_file(path)
    assert is_layer(path)
    (r,) = ingest_files(ws, [path], options={"where": "MUN = 'DOS'", "map": MAP})
    assert (r.status, r.kind, r.rows_read, r.accepted) == ("ok", "territories", 2, 2), r.message
    assert "EPSG:6372" in r.message
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("territories").sort_values("territory_id")
    assert t["territory_id"].tolist() == ["T2", "T3"]
    assert t["population"].tolist() == [300, 400]
    back = shapely.from_geojson(t["geometry"].iloc[0])
    assert shapely.hausdorff_distance(back, shapely.box(-99.08, 19.35, -99.07, 19.36)) < 1e-6


def test_filter_naming_an_unknown_column_is_one_line(tmp_path, ws):
    p = tmp_path / "c.geojson"
    _layer().to_file(p)
    (r,) = ingest_files(ws, [p], options={"where": "NOMDT = 'X'", "map": MAP})
    assert r.status == "rejected" and "NOMDT" in r.message and "\n" not in r.message


def test_mapping_errors(tmp_path, ws):
    p = tmp_path / "c.geojson"
    _layer().to_file(p)
    (r,) = ingest_files(ws, [p], options={"map": "territory_id=NOPE,name=NOM"})
    assert r.status == "rejected" and "NOPE" in r.message
    (r,) = ingest_files(ws, [p], options={"map": "colour=NOM"})
    assert r.status == "rejected" and "unknown field 'colour'" in r.message
    with pytest.raises(IngestError, match="field=COLUMN"):
        parse_mapping("territory_id")


def test_bad_geometries_are_quarantined_with_reasons(tmp_path, ws):
    g = _layer()
    bowtie = shapely.Polygon([(-99.1, 19.3), (-99.0, 19.4), (-99.0, 19.3), (-99.1, 19.4)])
    g.loc[1, "geometry"] = bowtie
    g.loc[2, "geometry"] = None
    g.loc[3, "geometry"] = shapely.Point(-99.0, 19.3)
    p = tmp_path / "bad.gpkg"
    g.to_file(p)
    (r,) = ingest_files(ws, [p], options={"map": MAP})
    assert (r.rows_read, r.accepted, r.quarantined) == (4, 1, 3)
    with Store(ws.store_path, read_only=True) as s:
        q = s.table("quarantine").sort_values("row")
    rules = q["rule"].tolist()
    assert rules[0].startswith("geometry: Self-intersection") and "--repair" in rules[0]
    assert rules[1] == "geometry: missing" and rules[2].startswith("geometry: not a polygon")
    # --repair mends the self-intersection (the others stay out)
    (r2,) = ingest_files(ws, [p], options={"map": MAP, "repair": True})
    assert (r2.accepted, r2.quarantined) == (2, 2) and "repaired" in r2.message


def test_reingest_updates_only_the_columns_carried(tmp_path, ws):
    p = tmp_path / "c.geojson"
    _layer().to_file(p)
    ingest_files(ws, [p], options={"map": MAP})
    with Store(ws.store_path) as s, s.transaction():
        s.con.execute("UPDATE territories SET priority = TRUE, cohort = 'c1', "
                      "joined_on = DATE '2024-01-15', blocks_total = 12")
    fix = tmp_path / "correccion.csv"
    fix.write_text("territory_id,name\nT1,COLONIA UNO CORREGIDA\nT9,NUEVA\n", encoding="utf-8")
    (r,) = ingest_files(ws, [fix])
    assert r.status == "ok" and "1 territories updated" in r.message
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("territories").set_index("territory_id")
    assert t.loc["T1", "name"] == "COLONIA UNO CORREGIDA"
    assert (t.loc["T1", "cohort"], bool(t.loc["T1", "priority"]), t.loc["T1", "population"],
            t.loc["T1", "blocks_total"]) == ("c1", True, 200, 12)
    assert t.loc["T1", "geometry"] is not None and len(t) == 5


def test_zones_from_the_layer(tmp_path, ws):
    p = tmp_path / "c.geojson"
    _layer().to_file(p)
    (r,) = ingest_files(ws, [p], options={"map": MAP + ",zone_id=MUN"})
    with Store(ws.store_path, read_only=True) as s:
        z = s.table("zones")
        t = s.table("territories")
    assert sorted(z["zone_id"]) == ["DOS", "UNO"] and t["zone_id"].notna().all()


def test_shapefile_without_prj_in_metres_is_refused(tmp_path, ws):
    d = tmp_path / "s"
    d.mkdir()
    _layer().to_crs("EPSG:6372").to_file(d / "capa.shp")
    (d / "capa.prj").unlink()
    with pytest.raises(IngestError, match="no coordinate reference system"):
        read_layer(d / "capa.shp")
    (r,) = ingest_files(ws, [d / "capa.shp"], options={"map": MAP})
    assert r.status == "rejected" and "\n" not in r.message


def test_split_geometries_keeps_good_rows():
    g = _layer()
    good, bad = split_geometries(g)
    assert len(good) == 4 and bad.empty
