"""Iztapalapa's real open data, end to end to step 00 (../shared/data/real; skipped without it).

The IECM layer (colonias), EVALÚA's index by AGEB with INEGI's AGEB polygons, and SSP counts by
police cuadrante with their polygons. Three territories' interpolated index and crime are
recomputed here by hand (shapely intersections in an Albers equal-area projection, a different
projection from the kit's), and the crime total is checked against SOURCE.md.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from territoria.config import init_workspace
from territoria.ingest import ingest_files
from territoria.store import Store

pytestmark = pytest.mark.realdata

#: ssp-cuadrantes-crimen/SOURCE.md: 22,153 incidents, 94,202 rows, 134 cuadrantes.
SSP_TOTAL = 22153
CHECKED = ("07-001", "07-118", "07-291")
ALBERS = ("+proj=aea +lat_1=14.5 +lat_2=32.5 +lat_0=12 +lon_0=-102 +datum=WGS84 +units=m")


@pytest.fixture(scope="module")
def real_ws(tmp_path_factory, real_data_dir):
    r = real_data_dir
    ws = init_workspace(tmp_path_factory.mktemp("izt") / "ws", "Iztapalapa")
    (geo,) = ingest_files(ws, [r / "iecm-colonias" / "colonias_iecm.gpkg"], options={
        "where": "NOMDT = 'IZTAPALAPA'",
        "map": "territory_id=CVEUT,name=NOMUT,population=SUMPOB1"})
    (ids,) = ingest_files(ws, [r / "evalua-ids-ageb-2020" / "ids_ageb_2020_iztapalapa.csv"],
                          kind="social_index", options={
                              "areas": str(r / "inegi-ageb" / "ageb_iztapalapa.geojson"),
                              "areas_key": "cvegeo=folio_ageb"})
    (crime,) = ingest_files(
        ws, [r / "ssp-cuadrantes-crimen" / "cuadrantes_iztapalapa_2013-2016.csv.gz"],
        kind="crime", options={
            "areas": str(r / "ssp-cuadrantes-crimen" / "cuadrantes_2016_iztapalapa.geojson"),
            "areas_key": "cuadrante"})
    return ws, geo, ids, crime


@pytest.fixture(scope="module")
def real_data_dir(real_data):
    return real_data


def _shapes(path, key):
    fc = json.loads(path.read_text(encoding="utf-8"))
    tr = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)
    out = {}
    for f in fc["features"]:
        g = shapely.make_valid(shapely.geometry.shape(f["geometry"]))
        out[str(f["properties"][key])] = shapely.transform(g, lambda xy: np.column_stack(
            tr.transform(xy[:, 0], xy[:, 1])))
    return out


def _territory(store, tid):
    tr = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)
    g = shapely.from_geojson(store.query("SELECT geometry FROM territories WHERE territory_id = ?",
                                         [tid]).iloc[0, 0])
    return shapely.transform(shapely.make_valid(g), lambda xy: np.column_stack(
        tr.transform(xy[:, 0], xy[:, 1])))


def test_every_row_accounted_and_reported(real_ws):
    _ws, geo, ids, crime = real_ws
    assert (geo.status, geo.accepted, geo.quarantined) == ("ok", 293, 0)
    assert (ids.status, ids.accepted, ids.quarantined) == ("ok", 458, 0)
    assert (crime.status, crime.accepted, crime.quarantined) == ("ok", 94202, 0)
    assert "area shares" in ids.message and "area shares" in crime.message


def test_index_of_three_territories_by_hand(real_ws, real_data_dir):
    ws = real_ws[0]
    ageb = _shapes(real_data_dir / "inegi-ageb" / "ageb_iztapalapa.geojson", "cvegeo")
    raw = pd.read_csv(real_data_dir / "evalua-ids-ageb-2020" / "ids_ageb_2020_iztapalapa.csv",
                      dtype=str, encoding="latin-1")
    value = pd.to_numeric(raw.set_index("folio_ageb")["idsm"], errors="coerce").dropna()
    with Store(ws.store_path, read_only=True) as s:
        for tid in CHECKED:
            t = _territory(s, tid)
            num = den = 0.0
            for k, g in ageb.items():
                if k in value.index and g.intersects(t):
                    a = g.intersection(t).area
                    num, den = num + a * value[k], den + a
            kit = s.query("SELECT social_index FROM territories WHERE territory_id = ?",
                          [tid]).iloc[0, 0]
            assert kit == pytest.approx(num / den, rel=1e-3), tid


def test_crime_of_three_territories_by_hand_and_total_conserved(real_ws, real_data_dir):
    ws = real_ws[0]
    cuad = _shapes(real_data_dir / "ssp-cuadrantes-crimen" /
                   "cuadrantes_2016_iztapalapa.geojson", "cuadrante")
    raw = pd.read_csv(real_data_dir / "ssp-cuadrantes-crimen" /
                      "cuadrantes_iztapalapa_2013-2016.csv.gz")
    per_cuad = raw.groupby("cuadrante")["count"].sum()
    assert per_cuad.sum() == SSP_TOTAL
    with Store(ws.store_path, read_only=True) as s:
        for tid in CHECKED:
            t = _territory(s, tid)
            expected = sum(per_cuad.get(k, 0) * g.intersection(t).area / g.area
                           for k, g in cuad.items() if g.intersects(t))
            kit = s.query("SELECT sum(count) FROM crime_counts WHERE territory_id = ?",
                          [tid]).iloc[0, 0]
            assert kit == pytest.approx(expected, rel=2e-3), tid
        kept = s.query("SELECT sum(count) FROM crime_counts").iloc[0, 0]
        cw = s.query("SELECT area_id, sum(share_of_area) AS inside FROM areal_crosswalk "
                     "WHERE source LIKE 'crime:%' GROUP BY 1").set_index("area_id")["inside"]
    outside = float((per_cuad * (1 - cw.reindex(per_cuad.index).fillna(0))).sum())
    # conserved up to the part of each cuadrante outside every colonia (reported)
    assert kept + outside == pytest.approx(SSP_TOTAL, rel=1e-9)
    assert outside / SSP_TOTAL < 0.01
    assert f"of {SSP_TOTAL:,} crimes" in real_ws[3].message


def test_reingesting_the_crime_file_replaces_never_adds(real_ws, real_data_dir, tmp_path):
    ws = real_ws[0]
    src = real_data_dir / "ssp-cuadrantes-crimen" / "cuadrantes_iztapalapa_2013-2016.csv.gz"
    raw = pd.read_csv(src)
    raw = raw.iloc[:-1]  # a re-export with one row fewer: a different file, same cells
    p = tmp_path / "cuadrantes_reexport.csv"
    raw.to_csv(p, index=False)
    with Store(ws.store_path, read_only=True) as s:
        before = s.query("SELECT sum(count) FROM crime_counts").iloc[0, 0]
    (r,) = ingest_files(ws, [p], kind="crime", options={
        "areas": str(real_data_dir / "ssp-cuadrantes-crimen" /
                     "cuadrantes_2016_iztapalapa.geojson"), "areas_key": "cuadrante"})
    assert r.status == "ok" and "cells replaced" in r.message
    with Store(ws.store_path, read_only=True) as s:
        after = s.query("SELECT sum(count) FROM crime_counts").iloc[0, 0]
    assert after == pytest.approx(before)


def test_step_00_ranks_on_real_data(real_ws):
    from territoria.steps import s00_selection as s00
    from territoria.steps.common import open_context

    ws = real_ws[0]
    ctx = open_context(ws.root)
    try:
        inputs = s00.load_inputs(ctx)
        res = s00.compute(ctx, n=10)
    finally:
        ctx.close()
    # no programme start in city.yml and no cohorts: all crime (2013-01..2016-01), said so
    assert inputs.attrs["all_crime"] and inputs.attrs["window"] == ("2013-01-01", "2016-02-01")
    assert any("all available" in n for n in inputs.attrs["notes"]["en"])
    ind = res.indicators_frame().set_index("name")["value"]
    assert ind["selection_territories_ranked"] == len(inputs) >= 285
    ranking = res.tables["ranking"]
    # no programme size in city.yml and none recorded: one in ten territories
    assert ranking["rank"].is_monotonic_increasing
    assert ranking["selected"].sum() == -(-len(inputs) // 10)
    assert res.meta["ranking"]["all_crime"] is True


@pytest.mark.slow
def test_every_step_on_real_geography_index_and_crime_only(real_ws, tmp_path):
    """Partial data: only the real layer, index and crime; every step for 5 territories ends
    ok or no-data (never failed) and the site is published."""
    import shutil

    from territoria.config import Workspace
    from territoria.pipeline.runner import run
    from territoria.report.site import publish

    root = tmp_path / "ws"
    shutil.copytree(real_ws[0].root, root, ignore=shutil.ignore_patterns("site*", ".site*"))
    ws = Workspace(root)
    five = ["07-001", "07-050", "07-118", "07-200", "07-291"]
    summary = run(ws, territories=five, workers=2, progress=False)
    with Store(ws.store_path, read_only=True) as s:
        runs = s.query("SELECT step, territory_id, status FROM runs")
    assert len(runs) == 5 * 5 + 3
    assert set(runs["status"]) <= {"ok", "no-data"}, runs[runs["status"] == "failed"]
    assert runs.loc[runs["step"] == "00_selection", "status"].tolist() == ["ok"]
    assert summary.ok
    site = publish(ws)
    for tid in five:
        assert (site.parent / "territories" / f"{tid}.html").is_file()
