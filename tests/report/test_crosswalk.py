"""The methodology page that shows how data by areas were brought to territories."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from territoria.config import init_workspace
from territoria.ingest import ingest_files
from territoria.report.site import publish


def test_published_crosswalk_page_lists_sources_and_pieces(tmp_path):
    ws = init_workspace(tmp_path / "w", "Ciudad")
    t = gpd.GeoDataFrame({"CVE": ["T1", "T2"], "NOM": ["UNO", "DOS"]},
                         geometry=[shapely.box(-99.10, 19.3, -99.09, 19.31),
                                   shapely.box(-99.09, 19.3, -99.08, 19.31)], crs="EPSG:4326")
    t.to_file(tmp_path / "t.geojson")
    ingest_files(ws, [tmp_path / "t.geojson"], options={"map": "territory_id=CVE,name=NOM"})
    gpd.GeoDataFrame({"cuadrante": ["Q-1"]}, geometry=[shapely.box(-99.10, 19.3, -99.08, 19.32)],
                     crs="EPSG:4326").to_file(tmp_path / "q.geojson")
    pd.DataFrame({"cuadrante": ["Q-1"], "date": ["2024-01-01"], "crime": ["ROBO"],
                  "count": [8]}).to_csv(tmp_path / "c.csv", index=False)
    (r,) = ingest_files(ws, [tmp_path / "c.csv"], kind="crime", options={
        "areas": str(tmp_path / "q.geojson"), "areas_key": "cuadrante"})
    assert r.status == "ok"
    site = publish(ws).parent
    page = (site / "methodology" / "areas.html").read_text(encoding="utf-8")
    assert "crime:q.geojson" in page and "Q-1" in page and "T2" in page
    assert "50.0 %" in page  # half of the quadrant lies outside both territories
    assert "areas.html" in (site / "methodology" / "index.html").read_text(encoding="utf-8")
