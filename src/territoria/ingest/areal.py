"""Areal interpolation: data published by areas that do not nest in territories.

The social-development index is published by AGEB, crime by police cuadrante; neither nests
in colonias. This module overlays the source areas on the territories (GeoPandas ``overlay``
in a Lambert azimuthal equal-area projection centred on the city) and keeps, for every piece
``a ∩ t`` of source area ``a`` and territory ``t``, its weight:

- **area** weights: the piece's area in m² (the default);
- **population** weights: the population of the store's blocks that fall in the piece, when
  the ``blocks`` table has a population and a point (``lon``/``lat`` columns) for its blocks
  and every source area that meets a territory holds some of that population (otherwise
  area weights, and the report says which).

Two rules use those weights (Goodchild & Lam 1980; the same as tobler's
``area_interpolate`` with ``extensive_variables`` and ``intensive_variables``):

- an **intensive** value (an index, a rate) of territory ``t`` is the weighted mean of the
  values of the areas that overlap it: ``v_t = Σ_a w_at v_a / Σ_a w_at`` (areas without a
  value left out of both sums);
- an **extensive** value (a count) of area ``a`` is apportioned: territory ``t`` receives
  ``c_a · w_at / w_a``, where ``w_a`` is the weight of the whole area. The total is conserved
  up to the part of each area that falls outside every territory, which is reported.

The crosswalk ``(source, area_id, territory_id, weight, area_weight, method)`` is stored in
the table ``areal_crosswalk`` and shown on the methodology pages.

Examples
--------
>>> import geopandas as gpd, shapely
>>> areas = gpd.GeoDataFrame({"k": ["a", "b"]}, geometry=[shapely.box(0, 0, 0.02, 0.01),
...     shapely.box(0.02, 0, 0.04, 0.01)], crs="EPSG:4326")
>>> terr = gpd.GeoDataFrame({"territory_id": ["T1", "T2"]}, geometry=[
...     shapely.box(0, 0, 0.03, 0.01), shapely.box(0.03, 0, 0.05, 0.01)], crs="EPSG:4326")
>>> cw = crosswalk(areas, "k", terr)
>>> cw.round(2)[["area_id", "territory_id", "share_of_area"]].values.tolist()
[['a', 'T1', 1.0], ['b', 'T1', 0.5], ['b', 'T2', 0.5]]
>>> intensive(cw, pd.Series({"a": 0.2, "b": 0.6})).round(3).to_dict()
{'T1': 0.333, 'T2': 0.6}
>>> extensive(cw, pd.DataFrame({"n": [10.0, 4.0]}, index=["a", "b"]))["n"].to_dict()
{'T1': 12.0, 'T2': 2.0}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria.exceptions import IngestError

CROSSWALK_TABLE = "areal_crosswalk"
CROSSWALK_SCHEMA = {"source": "VARCHAR", "area_id": "VARCHAR", "territory_id": "VARCHAR",
                    "weight": "DOUBLE", "area_weight": "DOUBLE", "share_of_area": "DOUBLE",
                    "method": "VARCHAR"}


def crosswalk(areas, key: str, territories, *, blocks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pieces of each source area in each territory, with their weights.

    Parameters
    ----------
    areas : GeoDataFrame
        Source areas with a key column ``key``.
    key : str
        Column of ``areas`` that identifies each area (as the data file names it).
    territories : GeoDataFrame
        ``territory_id`` and polygons.
    blocks : DataFrame, optional
        ``territory_id``, ``population``, ``lon``, ``lat``: when given with any population,
        weights are population shares, else area shares.

    Returns
    -------
    DataFrame
        One row per piece: ``area_id``, ``territory_id``, ``weight`` (m² or people in the
        piece), ``area_weight`` (m² or people of the whole area), ``share_of_area``
        (``weight / area_weight``) and ``method`` (``area`` or ``population``), sorted.
    """
    import geopandas as gpd

    from territoria.ingest.layers import equal_area_crs

    if key not in areas.columns:
        raise IngestError(f"the areas layer has no column '{key}' (columns: "
                          f"{', '.join(map(str, areas.columns[:15]))})", column=key,
                          rule="areas_key")
    crs = equal_area_crs(territories)
    a = gpd.GeoDataFrame({"area_id": areas[key].astype(str).str.strip().to_numpy()},
                         geometry=areas.geometry.to_numpy(), crs=areas.crs).to_crs(crs)
    if a["area_id"].duplicated().any():
        a = a.dissolve(by="area_id", as_index=False)  # multi-part areas published as rows
    t = gpd.GeoDataFrame({"territory_id": territories["territory_id"].astype(str).to_numpy()},
                         geometry=territories.geometry.to_numpy(), crs=territories.crs).to_crs(crs)
    a["geometry"] = a.geometry.make_valid()
    t["geometry"] = t.geometry.make_valid()
    pieces = gpd.overlay(a, t, how="intersection", keep_geom_type=True)
    area_m2 = pd.Series(a.geometry.area.to_numpy(), index=a["area_id"])
    pieces["weight"] = pieces.geometry.area
    pieces = pieces[pieces["weight"] > 0]
    method = "area"
    area_total = area_m2
    if blocks is not None and len(blocks) and "population" in blocks and \
            pd.to_numeric(blocks["population"], errors="coerce").fillna(0).sum() > 0:
        pts = gpd.GeoDataFrame(
            {"territory_id": blocks["territory_id"].astype(str).to_numpy(),
             "population": pd.to_numeric(blocks["population"], errors="coerce").fillna(0)
             .to_numpy()},
            geometry=gpd.points_from_xy(pd.to_numeric(blocks["lon"], errors="coerce"),
                                        pd.to_numeric(blocks["lat"], errors="coerce")),
            crs="EPSG:4326").to_crs(crs)
        hit = gpd.sjoin(pts, a, how="inner", predicate="within")
        pop = hit.groupby(["area_id", "territory_id"])["population"].sum()
        area_pop = hit.groupby("area_id")["population"].sum()
        # population weights only when every area that meets a territory has people in its
        # blocks: mixing people and m² in one weighted mean would be wrong
        if (area_pop.reindex(pieces["area_id"].unique()).fillna(0) > 0).all():
            method = "population"
            pieces["weight"] = [pop.get((x, y), 0.0) for x, y in
                                zip(pieces["area_id"], pieces["territory_id"], strict=True)]
            area_total = area_pop
    out = pd.DataFrame({"area_id": pieces["area_id"].to_numpy(),
                        "territory_id": pieces["territory_id"].to_numpy(),
                        "weight": pieces["weight"].to_numpy(dtype=float)})
    out = out.groupby(["area_id", "territory_id"], as_index=False)["weight"].sum()
    out["area_weight"] = out["area_id"].map(area_total).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share_of_area"] = np.where(out["area_weight"] > 0,
                                        out["weight"] / out["area_weight"], 0.0)
    out["method"] = method
    out.attrs["areas"] = sorted(a["area_id"])
    return out.sort_values(["area_id", "territory_id"], ignore_index=True)


def _matrix(cw: pd.DataFrame, area_ids, column: str):
    from scipy import sparse

    terr = np.array(sorted(cw["territory_id"].unique()), dtype=object)
    t_pos = pd.Series(np.arange(len(terr)), index=terr)
    a_pos = pd.Series(np.arange(len(area_ids)), index=pd.Index(area_ids, dtype=object))
    keep = cw["area_id"].isin(a_pos.index)
    c = cw[keep]
    m = sparse.csr_matrix((c[column].to_numpy(dtype=float),
                           (t_pos[c["territory_id"]].to_numpy(), a_pos[c["area_id"]].to_numpy())),
                          shape=(len(terr), len(area_ids)))
    return m, terr


def intensive(cw: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Weighted mean of area values in each territory (areas without a value left out).

    Returns a Series indexed by territory (territories with no valued area are left out).
    """
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty or cw.empty:
        return pd.Series(dtype=float)
    m, terr = _matrix(cw, list(v.index.astype(str)), "weight")
    num = m @ v.to_numpy(dtype=float)
    den = np.asarray(m.sum(axis=1)).ravel()
    ok = den > 0
    return pd.Series(num[ok] / den[ok], index=pd.Index(terr[ok], name="territory_id"))


def extensive(cw: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Apportion counts of areas (rows: area ids; columns: e.g. month x category) to
    territories by ``share_of_area``. Fractional results are kept."""
    if values.empty or cw.empty:
        return pd.DataFrame(columns=values.columns, dtype=float)
    vals = values.apply(pd.to_numeric, errors="coerce").fillna(0.0)
    m, terr = _matrix(cw, list(vals.index.astype(str)), "share_of_area")
    out = m @ vals.to_numpy(dtype=float)
    return pd.DataFrame(out, index=pd.Index(terr, name="territory_id"), columns=vals.columns)


def outside_share(cw: pd.DataFrame, area_ids) -> pd.Series:
    """Share of each area (by its weight) that falls outside every territory (1.0 for an
    area that touches none)."""
    inside = cw.groupby("area_id")["share_of_area"].sum()
    ids = pd.Index([str(a) for a in area_ids])
    return (1.0 - inside.reindex(ids).fillna(0.0)).clip(lower=0.0)


def store_crosswalk(store, source: str, cw: pd.DataFrame) -> None:
    """Replace the stored crosswalk of ``source`` (inside the caller's transaction)."""
    store.ensure_table(CROSSWALK_TABLE, CROSSWALK_SCHEMA)
    store.con.execute(f"DELETE FROM {CROSSWALK_TABLE} WHERE source = ?", [source]).fetchall()
    if len(cw):
        out = cw[["area_id", "territory_id", "weight", "area_weight", "share_of_area",
                  "method"]].copy()
        out.insert(0, "source", source)
        store.append(CROSSWALK_TABLE, out)


def territories_frame(store):
    """The store's territories with polygons, as a GeoDataFrame in EPSG:4326.

    Raises
    ------
    IngestError
        When no territory has a geometry yet.
    """
    import geopandas as gpd
    import shapely

    rows = store.con.execute("SELECT territory_id, geometry FROM territories "
                             "WHERE geometry IS NOT NULL ORDER BY territory_id").fetchall()
    if not rows:
        raise IngestError("no territory has a polygon yet: ingest the territory layer first "
                          "(territoria ingest -w WS layer.gpkg --map territory_id=...,name=...)",
                          rule="no_territories")
    return gpd.GeoDataFrame({"territory_id": [r[0] for r in rows]},
                            geometry=shapely.from_geojson([r[1] for r in rows]), crs="EPSG:4326")


def block_points(store) -> pd.DataFrame | None:
    """Blocks with population and a point (``lon``/``lat``), if the store has them."""
    if not store.has_table("blocks"):
        return None
    cols = {r[0].lower() for r in store.con.execute("DESCRIBE blocks").fetchall()}
    if not {"lon", "lat", "population"} <= cols:
        return None
    df = store.con.execute("SELECT territory_id, population, lon, lat FROM blocks "
                           "WHERE lon IS NOT NULL AND lat IS NOT NULL").df()
    return df if len(df) and df["population"].fillna(0).sum() > 0 else None
