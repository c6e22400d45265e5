"""Polygon layers of any city: GeoPackage, GeoJSON, Shapefile (``.shp`` or zipped), any CRS.

Layers are read with GeoPandas on pyogrio/GDAL and reprojected with pyproj to longitude and
latitude (EPSG:4326), the projection the store keeps. INEGI layers, for example, come in
Lambert conformal conic (EPSG:6372) and are reprojected on the way in.

Two explicit options say what to take from a layer:

- ``where``: an attribute filter in OGR SQL (``"NOMDT = 'COYOACAN'"``), applied by GDAL. A
  filter that matches nothing is an error that lists the values the filtered column holds.
- ``mapping``: which column of the layer holds each of the kit's fields
  (``territory_id=CVEUT,name=NOMUT,population=SUMPOB1``), see :func:`parse_mapping`.

Rows whose geometry is missing, empty, not a polygon or invalid are returned apart, each with
its reason, so that the caller can quarantine them (:func:`split_geometries`).

Examples
--------
>>> parse_mapping("territory_id=CVEUT, name=NOMUT,population=SUMPOB1")
{'territory_id': 'CVEUT', 'name': 'NOMUT', 'population': 'SUMPOB1'}
>>> where_columns("NOMDT = 'COYOACAN' AND \\"CVE MUN\\" <> '003'")
['NOMDT', 'CVE MUN']
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.exceptions import IngestError

#: File endings read as layers.
LAYER_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".kml")
#: The CRS of every geometry kept in the store.
STORE_CRS = "EPSG:4326"

_WORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "between", "true", "false"}


def is_layer(path: Path) -> bool:
    """True when ``path`` looks like a polygon layer (a ``.zip`` only if it holds a ``.shp``,
    a ``.geojson``, a ``.gpkg``...)."""
    suf = path.suffix.lower()
    if suf == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n.lower() for n in z.namelist()]
        except (zipfile.BadZipFile, OSError):
            return False
        return any(n.endswith((".shp", ".geojson", ".gpkg", ".json")) for n in names)
    return suf in LAYER_SUFFIXES


def parse_mapping(text: str | dict | None) -> dict[str, str]:
    """``"field=COLUMN,field=COLUMN"`` -> ``{field: COLUMN}``.

    Raises
    ------
    IngestError
        When an item is not ``field=COLUMN``.
    """
    if not text:
        return {}
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items()}
    out: dict[str, str] = {}
    for item in str(text).split(","):
        if not item.strip():
            continue
        key, sep, col = item.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise IngestError(f"--map item '{item.strip()}' is not field=COLUMN "
                              "(e.g. territory_id=CVEUT,name=NOMUT)", rule="map_syntax")
        out[key.strip()] = col.strip()
    return out


def where_columns(where: str) -> list[str]:
    """Column names an OGR SQL filter mentions (identifiers outside quotes, keywords left out)."""
    text = re.sub(r"'(?:[^']|'')*'", " ", where)
    names = [m.group(1) or m.group(2) for m in
             re.finditer(r'"([^"]+)"|\b([A-Za-z_][A-Za-z0-9_]*)\b', text)]
    return [n for n in dict.fromkeys(names) if n.lower() not in _WORDS]


def _source(path: Path) -> str:
    """What GDAL should open: zipped layers through ``/vsizip/``."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as z:
            inner = [n for n in z.namelist()
                     if n.lower().endswith((".shp", ".geojson", ".gpkg", ".json"))
                     and not n.startswith("__MACOSX")]
        if not inner:
            raise IngestError("the zip holds no layer (.shp, .geojson or .gpkg)",
                              file=path.name, rule="invalid_layer")
        return f"/vsizip/{path.resolve()}/{inner[0]}"
    return str(path)


def read_layer(path, *, name: str | None = None, where: str | None = None,
               layer: str | None = None):
    """Read a polygon layer, filter it, and reproject it to EPSG:4326.

    Parameters
    ----------
    path : path-like
        GeoPackage, GeoJSON, Shapefile (``.shp`` beside its ``.dbf``/``.shx``/``.prj``, or a
        ``.zip`` holding them), FlatGeobuf or KML.
    name : str, optional
        The name shown in errors (default: the file name).
    where : str, optional
        OGR SQL attribute filter, e.g. ``"NOMDT = 'COYOACAN'"``.
    layer : str, optional
        Layer name inside a multi-layer file (default: the first one).

    Returns
    -------
    geopandas.GeoDataFrame
        Attributes as in the file and ``geometry`` in EPSG:4326; ``attrs["source_crs"]`` is the
        file's CRS and ``attrs["rows_in_file"]`` the number of features before the filter.

    Raises
    ------
    IngestError
        Unreadable layer, unknown CRS, a filter naming an unknown column or matching nothing
        (the message lists the values that exist).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.geojson"
    >>> sq = lambda x: [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]
    >>> _ = p.write_text(json.dumps({"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"ID": "A", "BOR": "X"},
    ...      "geometry": {"type": "Polygon", "coordinates": sq(0)}},
    ...     {"type": "Feature", "properties": {"ID": "B", "BOR": "Y"},
    ...      "geometry": {"type": "Polygon", "coordinates": sq(1)}}]}))
    >>> read_layer(p, where="BOR = 'Y'")["ID"].tolist()
    ['B']
    >>> try:
    ...     read_layer(p, where="BOR = 'Z'")
    ... except IngestError as e:
    ...     print(e)
    t.geojson: the filter BOR = 'Z' matches none of the 2 features; BOR holds: X, Y (rule: where_matches_nothing)
    """
    import geopandas as gpd
    import pyogrio
    from pyogrio.errors import DataSourceError, FieldError, GeometryError

    path = Path(path)
    name = name or path.name
    src = _source(path)
    try:
        info = pyogrio.read_info(src, layer=layer)
    except (DataSourceError, OSError, ValueError) as e:
        raise IngestError(f"not a readable layer ({str(e).splitlines()[0][:120]})", file=name,
                          rule="invalid_layer") from None
    fields = [str(f) for f in info["fields"]]
    total = int(info.get("features") or 0)
    if where:
        unknown = [c for c in where_columns(where) if c not in fields]
        if unknown:
            raise IngestError(f"the filter names column '{unknown[0]}', which the layer does "
                              f"not have (columns: {', '.join(fields[:20])})", file=name,
                              column=unknown[0], rule="where_unknown_column")
    try:
        gdf = gpd.read_file(src, layer=layer, where=where or None, engine="pyogrio")
    except (DataSourceError, FieldError, GeometryError, OSError, ValueError) as e:
        raise IngestError(f"cannot read the layer ({str(e).splitlines()[0][:160]})", file=name,
                          rule="invalid_layer") from None
    if where and gdf.empty:
        cols = where_columns(where)
        listing = ""
        if cols:
            vals = pyogrio.read_dataframe(src, layer=layer, columns=[cols[0]],
                                          read_geometry=False)[cols[0]]
            uniq = sorted({str(v) for v in vals.dropna()})
            shown = ", ".join(uniq[:30]) + (f" ... ({len(uniq)} values)" if len(uniq) > 30 else "")
            listing = f"; {cols[0]} holds: {shown}"
        raise IngestError(f"the filter {where} matches none of the {total} features{listing}",
                          file=name, rule="where_matches_nothing")
    source_crs = gdf.crs
    if source_crs is None:
        if len(gdf) and _looks_geographic(gdf):
            gdf = gdf.set_crs(STORE_CRS)
        else:
            raise IngestError("the layer has no coordinate reference system (add a .prj or "
                              "save it with its CRS)", file=name, rule="unknown_crs")
    elif not source_crs.equals(STORE_CRS):
        gdf = gdf.to_crs(STORE_CRS)
    gdf.attrs["source_crs"] = source_crs.to_string() if source_crs is not None else STORE_CRS
    gdf.attrs["rows_in_file"] = total
    return gdf


def _looks_geographic(gdf) -> bool:
    b = gdf.total_bounds
    return bool(np.all(np.isfinite(b)) and -180 <= b[0] <= 180 and -90 <= b[1] <= 90
                and -180 <= b[2] <= 180 and -90 <= b[3] <= 90)


def split_geometries(gdf) -> tuple[object, pd.DataFrame]:
    """Separate rows whose geometry cannot be used.

    Returns
    -------
    good : GeoDataFrame
        Rows with a valid, non-empty polygon or multipolygon.
    bad : DataFrame
        ``position`` (0-based row of ``gdf``) and ``reason`` (``missing``, ``empty``,
        ``not a polygon (Point)``, or GEOS's reason for an invalid one, e.g.
        ``Self-intersection[...]``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), None, shapely.Point(0, 0),
    ...     shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])], crs="EPSG:4326")
    >>> good, bad = split_geometries(g)
    >>> len(good), bad["reason"].str.split("[").str[0].tolist()
    (1, ['missing', 'not a polygon (Point)', 'Self-intersection'])
    """
    import shapely

    geoms = gdf.geometry.to_numpy()
    reasons = np.full(len(gdf), None, dtype=object)
    missing = pd.isna(pd.Series(geoms, dtype=object)).to_numpy()
    reasons[missing] = "missing"
    present = ~missing
    if present.any():
        g = geoms[present]
        empty = shapely.is_empty(g)
        types = shapely.get_type_id(g)
        polygonal = np.isin(types, (3, 6))
        valid = shapely.is_valid(g)
        r = np.full(len(g), None, dtype=object)
        r[~valid] = [str(x) for x in shapely.is_valid_reason(g[~valid])]
        r[~polygonal] = [f"not a polygon ({shapely.geometry.base.GEOMETRY_TYPES[t]})"
                         for t in types[~polygonal]]
        r[empty] = "empty"
        reasons[present] = r
    bad_mask = pd.notna(pd.Series(reasons, dtype=object)).to_numpy()
    bad = pd.DataFrame({"position": np.flatnonzero(bad_mask),
                        "reason": reasons[bad_mask].astype(object)})
    return gdf[~bad_mask], bad


def equal_area_crs(gdf) -> str:
    """A Lambert azimuthal equal-area projection centred on the layer (areas in m²).

    >>> import geopandas as gpd, shapely
    >>> equal_area_crs(gpd.GeoDataFrame(geometry=[shapely.box(-99.1, 19.3, -99.0, 19.4)],
    ...                                 crs="EPSG:4326"))
    '+proj=laea +lat_0=19.35 +lon_0=-99.05 +datum=WGS84 +units=m +no_defs'
    """
    b = gdf.to_crs(STORE_CRS).total_bounds
    lon, lat = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return f"+proj=laea +lat_0={lat:.6g} +lon_0={lon:.6g} +datum=WGS84 +units=m +no_defs"
