"""Ingest with areal interpolation at the scale of a whole city.

A grid of about 2,400 cells over Mexico City, with 100 monthly crime counts each (240,000 rows)
and an index per cell, is brought onto the 1,814 IECM colonias of the city
(``../shared/data/real/iecm-colonias/colonias_iecm.gpkg``; pass ``--layer`` for another).
Prints the seconds of each ingest and, last, one JSON line.

    python benchmarks/bench_areal.py [--layer FILE] [--cells 2400] [--months 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territoria.config import init_workspace
from territoria.ingest import ingest_files

HERE = Path(__file__).resolve().parent
DEFAULT_LAYER = HERE.parents[1] / "shared" / "data" / "real" / "iecm-colonias" / "colonias_iecm.gpkg"


def grid(bounds, cells: int) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = bounds
    nx = int(round(np.sqrt(cells * (x1 - x0) / (y1 - y0))))
    ny = int(np.ceil(cells / nx))
    w, h = (x1 - x0) / nx, (y1 - y0) / ny
    boxes = [shapely.box(x0 + i * w, y0 + j * h, x0 + (i + 1) * w, y0 + (j + 1) * h)
             for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame({"cell": [f"G{k:05d}" for k in range(len(boxes))]},
                            geometry=boxes, crs="EPSG:4326")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layer", type=Path, default=DEFAULT_LAYER)
    ap.add_argument("--cells", type=int, default=2400)
    ap.add_argument("--months", type=int, default=100)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_areal_"))
    ws = init_workspace(tmp / "ws", "Ciudad de México")
    t0 = time.perf_counter()
    (geo,) = ingest_files(ws, [a.layer], options={
        "map": "territory_id=CVEUT,name=NOMUT,population=SUMPOB1", "repair": True})
    t_layer = time.perf_counter() - t0
    colonias = gpd.read_file(a.layer)
    colonias = colonias.to_crs("EPSG:4326")
    # a grid over the city's colonias: about --cells cells that touch at least one
    land = shapely.union_all(shapely.make_valid(colonias.geometry.to_numpy()))
    g = grid(colonias.total_bounds, a.cells)
    share = g.intersects(land).mean()
    g = grid(colonias.total_bounds, int(a.cells / share))
    g = g[g.intersects(land)].reset_index(drop=True)
    g.to_file(tmp / "grid.geojson")
    rng = np.random.default_rng(0)
    months = pd.date_range("2016-01-01", periods=a.months, freq="MS").strftime("%Y-%m-%d")
    crime = pd.DataFrame({"cell": np.repeat(g["cell"].to_numpy(), len(months)),
                          "date": np.tile(months, len(g)), "crime": "ROBO",
                          "count": rng.poisson(3, len(g) * len(months))})
    crime.to_csv(tmp / "crime_grid.csv", index=False)
    pd.DataFrame({"cell": g["cell"], "idsm": rng.uniform(0.5, 1, len(g)).round(4)}).to_csv(
        tmp / "index_grid_2020.csv", index=False)
    opts = {"areas": str(tmp / "grid.geojson"), "areas_key": "cell"}
    t0 = time.perf_counter()
    (si,) = ingest_files(ws, [tmp / "index_grid_2020.csv"], kind="social_index", options=opts)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    (cr,) = ingest_files(ws, [tmp / "crime_grid.csv"], kind="crime", options=opts)
    t_crime = time.perf_counter() - t0
    for r in (geo, si, cr):
        print(r.as_line("en"))
    out = {"territories": geo.accepted, "cells": len(g), "rows": len(crime),
           "layer_s": round(t_layer, 2), "index_s": round(t_index, 2),
           "crime_s": round(t_crime, 2)}
    print(f"layer {t_layer:.1f} s; index by area {t_index:.1f} s; crime by area "
          f"{t_crime:.1f} s ({len(crime):,} rows, {len(g):,} cells -> {geo.accepted:,} colonias)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
