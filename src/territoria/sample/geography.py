"""Real geography of the sample city: Iztapalapa's 293 IECM territorial units (or any city's
layer, :func:`layer_territories`), illustrative zones and synthetic blocks.

The official membership of Iztapalapa's 13 *Direcciones Territoriales* is not public, so the
13 zones here are **illustrative**: contiguous groups of territories of similar population grown
from 13 seeds (deterministic for a seed). They are labelled so everywhere.

Examples
--------
>>> terr = load_territories()
>>> len(terr), int(terr["population"].sum())
(293, 1844597)
>>> zones, membership = make_zones(terr, n_zones=13, seed=7)
>>> len(zones), membership["zone_id"].nunique()
(13, 13)
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd

from territoria.sample.calibrate import kind_from_name

LAYER = "iztapalapa_ut.geojson"


def _layer_text() -> str:
    return resources.files("territoria").joinpath("data", LAYER).read_text(encoding="utf-8")


def load_territories() -> pd.DataFrame:
    """The shipped layer as a DataFrame: territory_id, name, kind, district, population,
    geometry (GeoJSON text), lon, lat (centroid)."""
    from shapely.geometry import shape

    data = json.loads(_layer_text())
    rows = []
    for f in data["features"]:
        p = f["properties"]
        g = shape(f["geometry"])
        c = g.representative_point()
        rows.append({
            "territory_id": p["CVEUT"], "name": p["NOMUT"], "kind": kind_from_name(p["NOMUT"]),
            "district": str(p["DTTOLOC"]), "population": float(p["SUMPOB1"]),
            "geometry": json.dumps(f["geometry"], separators=(",", ":")),
            "lon": c.x, "lat": c.y, "area_km2": g.area * (111.32 * 111.32 * np.cos(np.radians(19.35))),
        })
    return pd.DataFrame(rows).sort_values("territory_id").reset_index(drop=True)


#: Density assumed when a layer gives no population (inhabitants per km², about that of
#: Mexico City's urban area); said in the sample's truth and README.
DEFAULT_DENSITY = 12000.0


def layer_territories(path, *, where: str | None = None, mapping=None) -> pd.DataFrame:
    """Any city's territory layer as :func:`load_territories` returns Iztapalapa's.

    Parameters
    ----------
    path : path-like
        A polygon layer (GeoPackage, GeoJSON, Shapefile...; any CRS).
    where : str, optional
        OGR SQL filter (``"NOMDT = 'COYOACAN'"``).
    mapping : str or dict, optional
        ``territory_id=COL,name=COL[,population=COL][,zone_id=COL][,kind=COL]``; without it the
        IECM names (``CVEUT``, ``NOMUT``, ``SUMPOB1``) and common aliases are looked for.

    Returns
    -------
    DataFrame
        As :func:`load_territories`, plus ``zone_id`` when the layer has zones (else absent)
        and ``attrs["assumed_population"]`` (True when the layer had none: population is then
        ``DEFAULT_DENSITY`` times the area). Invalid polygons are repaired; rows without a
        usable polygon are left out.

    Raises
    ------
    IngestError
        Unreadable layer, a filter matching nothing, no id or name column, fewer than 4
        territories.
    """
    import shapely

    from territoria.exceptions import IngestError
    from territoria.ingest.layers import equal_area_crs, parse_mapping, read_layer
    from territoria.ingest.territories import _ID, _NAME, _POP, _ZONE, _pick

    gdf = read_layer(path, where=where)
    m = parse_mapping(mapping)
    cols = {c.strip().lower(): c for c in gdf.columns if c != gdf.geometry.name}
    idc = m.get("territory_id") or _pick(cols, _ID)
    namec = m.get("name") or _pick(cols, _NAME)
    popc = m.get("population") or (None if m else _pick(cols, _POP))
    zonec = m.get("zone_id") or (None if m else _pick(cols, _ZONE))
    kindc = m.get("kind")
    for field_, col in (("territory_id", idc), ("name", namec)):
        if col is None or col not in gdf.columns:
            raise IngestError(f"no column for {field_} in the layer: say which with --map "
                              f"{field_}=COLUMN (columns: {', '.join(map(str, gdf.columns[:15]))})",
                              rule="map_column")
    geoms = shapely.make_valid(gdf.geometry.to_numpy())
    geoms = [shapely.union_all([q for q in shapely.get_parts(g)
                                if shapely.get_type_id(q) in (3, 6)]) for g in geoms]
    gdf = gdf.set_geometry(geoms)
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    gdf = gdf.drop_duplicates(subset=[idc])
    if len(gdf) < 4:
        raise IngestError(f"the layer has {len(gdf)} usable territories; the sample city needs "
                          "at least 4", rule="too_few_territories")
    area_km2 = gdf.geometry.to_crs(equal_area_crs(gdf)).area.to_numpy() / 1e6
    pop = (pd.to_numeric(gdf[popc], errors="coerce").to_numpy(dtype=float) if popc
           else np.full(len(gdf), np.nan))
    assumed = np.isnan(pop) | (pop <= 0)
    pop = np.where(assumed, np.maximum(100.0, np.round(area_km2 * DEFAULT_DENSITY)), pop)
    rep = gdf.geometry.representative_point()
    names = gdf[namec].astype(str).str.strip()
    out = pd.DataFrame({
        "territory_id": gdf[idc].astype(str).str.strip().to_numpy(),
        "name": names.to_numpy(),
        "kind": (gdf[kindc].astype(str).to_numpy() if kindc else names.map(kind_from_name)
                 .to_numpy()),
        "district": (gdf[zonec].astype(str).to_numpy() if zonec else ""),
        "population": pop,
        "geometry": [shapely.to_geojson(g) for g in gdf.geometry],
        "lon": rep.x.to_numpy(), "lat": rep.y.to_numpy(), "area_km2": area_km2})
    if zonec:
        out["zone_id"] = gdf[zonec].astype(str).str.strip().to_numpy()
    out = out.sort_values("territory_id").reset_index(drop=True)
    out.attrs["assumed_population"] = bool(assumed.any())
    out.attrs["borough"] = _borough(gdf)
    return out


def _borough(gdf) -> str | None:
    """The single borough/municipality the layer holds, when it says (IECM ``NOMDT``)."""
    for c in gdf.columns:
        if c.strip().lower() in ("nomdt", "alcaldia", "municipio", "nom_mun"):
            vals = gdf[c].dropna().astype(str).unique()
            if len(vals) == 1:
                return vals[0]
    return None


def layer_zones(terr: pd.DataFrame):
    """Zones as the layer gives them (``zone_id`` column): ``(zones, membership)``."""
    ids = sorted(terr["zone_id"].unique())
    zones = pd.DataFrame({"zone_id": ids, "name": ids, "illustrative": False})
    return zones, terr[["territory_id", "zone_id"]].copy()


def adjacency(terr: pd.DataFrame, tolerance: float = 0.0003) -> list[set[int]]:
    """Neighbours of each territory (row positions): polygons within ``tolerance`` degrees."""
    from shapely import STRtree
    from shapely.geometry import shape

    geoms = [shape(json.loads(g)).buffer(tolerance) for g in terr["geometry"]]
    tree = STRtree(geoms)
    nb: list[set[int]] = [set() for _ in geoms]
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i != j:
            nb[int(i)].add(int(j))
            nb[int(j)].add(int(i))
    return nb


def make_zones(terr: pd.DataFrame, n_zones: int = 13, seed: int = 7):
    """Group territories into ``n_zones`` contiguous illustrative zones of similar population.

    Seeds are spread with farthest-point sampling from a seeded start; zones then grow one
    neighbour at a time, always the zone with the least population first.

    Returns
    -------
    zones : DataFrame
        zone_id, name, illustrative.
    membership : DataFrame
        territory_id, zone_id.
    """
    rng = np.random.default_rng(seed)
    n = len(terr)
    xy = terr[["lon", "lat"]].to_numpy()
    pop = terr["population"].to_numpy()
    nb = adjacency(terr)
    seeds = [int(rng.integers(n))]
    d = np.linalg.norm(xy - xy[seeds[0]], axis=1)
    while len(seeds) < n_zones:
        nxt = int(np.argmax(d))
        seeds.append(nxt)
        d = np.minimum(d, np.linalg.norm(xy - xy[nxt], axis=1))
    zone = np.full(n, -1)
    zpop = np.zeros(n_zones)
    for z, s in enumerate(seeds):
        zone[s] = z
        zpop[z] = pop[s]
    active = set(range(n_zones))
    while (zone < 0).any() and active:
        z = min(active, key=lambda k: (zpop[k], k))
        members = np.flatnonzero(zone == z)
        frontier = sorted({j for i in members for j in nb[i] if zone[j] < 0})
        if not frontier:
            active.discard(z)
            continue
        # closest frontier unit to the zone's centroid keeps zones compact
        cen = np.average(xy[members], axis=0, weights=pop[members])
        j = min(frontier, key=lambda k: (np.linalg.norm(xy[k] - cen), k))
        zone[j] = z
        zpop[z] += pop[j]
    for i in np.flatnonzero(zone < 0):  # isolated units: nearest zone by centroid
        assigned = np.flatnonzero(zone >= 0)
        zone[i] = zone[assigned[np.argmin(np.linalg.norm(xy[assigned] - xy[i], axis=1))]]
    # number zones west -> east for readable ids
    order = np.argsort([xy[zone == z, 0].mean() for z in range(n_zones)])
    remap = {int(old): new for new, old in enumerate(order)}
    zone = np.array([remap[int(z)] for z in zone])
    names, used = [], set()
    for z in range(n_zones):
        members = terr[zone == z].copy()
        members["is_pueblo"] = members["kind"].isin(["pueblo", "barrio"])
        members = members.sort_values(["is_pueblo", "population"], ascending=False)
        refs = [_clean_name(nm) for nm in members["name"]]
        ref = next((r for r in refs if r and r not in used), refs[0])
        used.add(ref)
        names.append(f"Zona {z + 1:02d} {ref} (ilustrativa)")
    zones = pd.DataFrame({"zone_id": [f"DT{z + 1:02d}" for z in range(n_zones)],
                          "name": names, "illustrative": True,
                          "name_en": [n.replace("Zona ", "Zone ", 1).replace("(ilustrativa)",
                                                                           "(illustrative)")
                                      for n in names]})
    membership = pd.DataFrame({"territory_id": terr["territory_id"],
                               "zone_id": [f"DT{z + 1:02d}" for z in zone]})
    return zones, membership


def _clean_name(name: str) -> str:
    """Readable short name: no suffix in brackets, section numbers or stray marks."""
    import re

    base = name.split("(")[0].replace("_", " ")
    base = re.sub(r"\b(I{1,3}|IV|V|VI{0,3}|SECC.*|\d+)\s*$", "", base.strip()).strip()
    return " ".join(base.split()).title()


def make_blocks(terr: pd.DataFrame, total: int = 6500, seed: int = 7) -> pd.DataFrame:
    """Synthetic blocks: about ``total`` in all, allocated by population (at least 3 per
    territory), with populations that add up to the territory's.

    Returns block_id (``<CVEUT>-<nnnn>``), territory_id, population.
    """
    rng = np.random.default_rng(seed)
    pop = terr["population"].to_numpy()
    k = np.maximum(3, np.round(pop / pop.sum() * total)).astype(int)
    ids, tids, pops = [], [], []
    for tid, p, kk in zip(terr["territory_id"], pop, k, strict=True):
        share = rng.dirichlet(np.full(kk, 8.0))
        bp = np.floor(share * p).astype(int)
        bp[0] += int(round(p)) - bp.sum()
        ids.extend(f"{tid}-{b + 1:04d}" for b in range(kk))
        tids.extend([tid] * kk)
        pops.extend(bp.tolist())
    return pd.DataFrame({"block_id": ids, "territory_id": tids, "population": pops})
