"""Areal interpolation on layouts whose answers are known exactly."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territoria.config import init_workspace
from territoria.ingest import areal, ingest_files
from territoria.store import Store

D = 0.01  # about 1 km near Mexico City


def _grid(prefix, nx, ny, x0=-99.1, y0=19.3, w=D, h=D, key="k"):
    cells = [(f"{prefix}{i}{j}", shapely.box(x0 + i * w, y0 + j * h, x0 + (i + 1) * w,
                                             y0 + (j + 1) * h))
             for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame({key: [c[0] for c in cells]}, geometry=[c[1] for c in cells],
                            crs="EPSG:4326")


def test_crosswalk_shares_and_conservation():
    terr = _grid("T", 2, 1, key="territory_id")          # two territories side by side
    areas = _grid("A", 4, 1, x0=-99.1 - D / 2, w=D * 0.75)  # four areas, the first half out
    cw = areal.crosswalk(areas, "k", terr)
    # each area's shares add to the part of it inside the territories
    inside = cw.groupby("area_id")["share_of_area"].sum()
    assert inside["A00"] == pytest.approx(1 / 3, rel=1e-3)
    assert inside[["A10", "A20"]].tolist() == pytest.approx([1, 1], rel=1e-5)
    counts = pd.DataFrame({"n": [3.0, 6.0, 9.0, 12.0]}, index=["A00", "A10", "A20", "A30"])
    out = areal.extensive(cw, counts)
    lost = (areal.outside_share(cw, counts.index) * counts["n"]).sum()
    assert out["n"].sum() + lost == pytest.approx(counts["n"].sum())


def test_intensive_is_the_area_weighted_mean_and_skips_missing():
    terr = _grid("T", 1, 1, w=2 * D, key="territory_id")
    areas = _grid("A", 2, 1)
    cw = areal.crosswalk(areas, "k", terr)
    assert areal.intensive(cw, pd.Series({"A00": 0.2, "A10": 0.6}))["T00"] == \
        pytest.approx(0.4, rel=1e-6)
    assert areal.intensive(cw, pd.Series({"A00": 0.2, "A10": None}))["T00"] == \
        pytest.approx(0.2)
    assert areal.intensive(cw, pd.Series(dtype=float)).empty


def test_population_weights_follow_the_blocks():
    terr = _grid("T", 2, 1, key="territory_id")
    areas = _grid("A", 1, 1, w=2 * D)                       # one area over both territories
    blocks = pd.DataFrame({"territory_id": ["T00", "T10"], "population": [900, 100],
                           "lon": [-99.1 + D / 2, -99.1 + 1.5 * D], "lat": [19.3 + D / 2] * 2})
    cw = areal.crosswalk(areas, "k", terr, blocks=blocks)
    assert set(cw["method"]) == {"population"}
    out = areal.extensive(cw, pd.DataFrame({"n": [10.0]}, index=["A00"]))["n"]
    assert out.to_dict() == pytest.approx({"T00": 9.0, "T10": 1.0})
    by_area = areal.extensive(areal.crosswalk(areas, "k", terr),
                              pd.DataFrame({"n": [10.0]}, index=["A00"]))["n"]
    assert by_area.to_dict() == pytest.approx({"T00": 5.0, "T10": 5.0}, rel=1e-4)


@pytest.fixture
def ws(tmp_path):
    ws = init_workspace(tmp_path / "w", "Ciudad")
    t = _grid("T", 2, 2, key="CVE")
    t["NOM"] = t["CVE"]
    t.to_file(tmp_path / "t.geojson")
    ingest_files(ws, [tmp_path / "t.geojson"], options={"map": "territory_id=CVE,name=NOM"})
    _grid("Q", 1, 1, w=2 * D, h=2 * D, key="cuadrante").to_file(tmp_path / "q.geojson")
    return ws


def _crime(tmp_path, rows, name="c.csv"):
    p = tmp_path / name
    pd.DataFrame(rows, columns=["cuadrante", "date", "crime", "count"]).to_csv(p, index=False)
    return p


def test_crime_by_area_is_apportioned_replaced_and_validated(ws, tmp_path):
    opts = {"areas": str(tmp_path / "q.geojson"), "areas_key": "cuadrante"}
    p = _crime(tmp_path, [["Q00", "2024-01-01", "ROBO", 8], ["Q00", "2024-02-01", "ROBO", 4],
                          ["Q99", "2024-01-01", "ROBO", 1], ["Q00", "2024-03-01", "ROBO", 1.5],
                          ["Q00", "2024-04-01", "", 2], ["Q00", "nunca", "ROBO", 2]])
    (r,) = ingest_files(ws, [p], kind="crime", options=opts)
    assert (r.rows_read, r.accepted, r.quarantined) == (6, 2, 4)
    with Store(ws.store_path, read_only=True) as s:
        q = dict(zip(s.table("quarantine")["row"], s.table("quarantine")["rule"], strict=True))
        c = s.query("SELECT territory_id, strftime(month, '%Y-%m') m, count FROM crime_counts "
                    "ORDER BY 2, 1")
    assert q == {3: "area not in q.geojson", 4: "count (integer >= 0)", 5: "required",
                 6: "date"}
    assert c[c["m"] == "2024-01"]["count"].tolist() == pytest.approx([2.0] * 4, rel=1e-4)
    # a corrected file for January replaces the cell (8 -> 4), never adds to it
    p2 = _crime(tmp_path, [["Q00", "2024-01-01", "ROBO", 4]], "c2.csv")
    (r2,) = ingest_files(ws, [p2], kind="crime", options=opts)
    assert r2.status == "ok" and "1 area x month x category cells replaced" in r2.message
    with Store(ws.store_path, read_only=True) as s:
        tot = s.query("SELECT strftime(month, '%Y-%m') m, sum(count) n FROM crime_counts "
                      "GROUP BY 1 ORDER BY 1")
    assert tot["m"].tolist() == ["2024-01", "2024-02"]
    assert tot["n"].tolist() == pytest.approx([4.0, 4.0], rel=1e-4)


def test_social_index_by_area_and_corrected_file_replaces(ws, tmp_path):
    _grid("A", 2, 1, w=D, h=2 * D, key="cvegeo").to_file(tmp_path / "a.geojson")
    opts = {"areas": str(tmp_path / "a.geojson"), "areas_key": "cvegeo=folio_ageb"}
    p = tmp_path / "ids_2020.csv"
    p.write_text("folio_ageb,idsm,e_idsm\nA00,0.5,Medio\nA10,0.9,Alto\n", encoding="utf-8")
    (r,) = ingest_files(ws, [p], kind="social_index", options=opts)
    assert r.status == "ok" and "interpolated to 4 of 4 territories" in r.message
    fix = tmp_path / "ids_2020_corregido.csv"
    fix.write_text("folio_ageb,idsm,e_idsm\nA00,0.1,Bajo\nA10,0.9,Alto\n", encoding="utf-8")
    (r2,) = ingest_files(ws, [fix], kind="social_index", options=opts)
    assert "1 updated, 1 unchanged" in r2.message
    with Store(ws.store_path, read_only=True) as s:
        si = s.table("social_index")
        t = s.table("territories").set_index("territory_id")["social_index"]
    assert len(si) == 2 and sorted(si["value"]) == [0.1, 0.9]
    assert t["T00"] == pytest.approx(0.1) and t["T10"] == pytest.approx(0.9)


def test_blocks_with_points_make_population_weights(ws, tmp_path):
    """Blocks ingested with population and a point: counts follow where people live."""
    blocks = tmp_path / "blocks.csv"
    rows = ["block_id,territory_id,population,lon,lat"]
    for t, (x, y), pop in (("T00", (0.2, 0.2), 300), ("T01", (0.2, 1.5), 100),
                           ("T10", (1.5, 0.2), 0), ("T11", (1.5, 1.5), 600)):
        rows.append(f"{t}-1,{t},{pop},{-99.1 + x * D},{19.3 + y * D}")
    blocks.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (b,) = ingest_files(ws, [blocks])
    assert b.status == "ok" and b.accepted == 4
    p = _crime(tmp_path, [["Q00", "2024-01-01", "ROBO", 10]])
    (r,) = ingest_files(ws, [p], kind="crime", options={
        "areas": str(tmp_path / "q.geojson"), "areas_key": "cuadrante"})
    assert "population of the blocks" in r.message
    with Store(ws.store_path, read_only=True) as s:
        c = s.query("SELECT territory_id, count FROM crime_counts").set_index(
            "territory_id")["count"].to_dict()
    assert c == pytest.approx({"T00": 3.0, "T01": 1.0, "T11": 6.0})
