"""Territory catalogues: GeoJSON, GeoPackage and CSV -> ``territories`` / ``zones``.

Recognised columns (case-insensitive; IECM names first):

- id: ``CVEUT`` | ``territory_id`` | ``cve_ut``; name: ``NOMUT`` | ``name`` | ``nombre``;
- population: ``SUMPOB1`` | ``population`` | ``poblacion``; zone: ``zone_id`` | ``dt``;
- kind: ``kind`` if given, else parsed from the name suffix ((PBLO) pueblo, (BARR) barrio,
  (U HAB) unidad_habitacional, (AMPL) ampliacion, (FRACC) fraccionamiento, (PJE) paraje,
  none -> colonia);
- geometry: GeoJSON geometry, or the GeoPackage geometry column (GeoPackage binary header +
  WKB, decoded with shapely), stored as GeoJSON text.

A CSV with ``zone_id`` and ``name`` but no territory id is a zone list (-> ``zones``).
When the catalogue covers several boroughs (an ``NOMDT`` column, as the IECM layer for the
whole of Mexico City) and the workspace's city name matches some of them, only those rows
are kept; the others are quarantined with rule ``outside_city`` (so every row is accounted for).
Rows re-ingested with an id already in the store replace the old row.

Examples
--------
>>> gpkg_header_length(bytes([0x47, 0x50, 0, 0b0000_0011]) + bytes(60))
40
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd

from territoria.exceptions import IngestError
from territoria.ingest.core import FileContext, Outcome
from territoria.ingest.names import normalize_name, territory_kind

_ID = ("cveut", "territory_id", "cve_ut", "id_territorio")
_NAME = ("nomut", "name", "nombre", "territory_name")
_POP = ("sumpob1", "population", "poblacion", "pob")
_ZONE = ("zone_id", "dt", "zona")
_BOROUGH = ("nomdt", "alcaldia", "municipio")


def gpkg_header_length(blob: bytes) -> int:
    """Length of a GeoPackage geometry blob header (magic, version, flags, srs_id, envelope)."""
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    env = (flags >> 1) & 0b111
    env_len = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(env)
    if env_len is None:
        raise ValueError(f"invalid envelope indicator {env}")
    return 8 + env_len


def _pick(cols: dict, names) -> str | None:
    for n in names:
        if n in cols:
            return cols[n]
    return None


def read_geojson(path: Path, name: str) -> pd.DataFrame:
    """Features of a GeoJSON FeatureCollection: properties + ``geometry`` (GeoJSON text)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IngestError(f"not valid GeoJSON ({str(e).splitlines()[0][:80]})", file=name,
                          rule="invalid_geojson") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise IngestError("GeoJSON must be a FeatureCollection", file=name, rule="invalid_geojson")
    rows = []
    for f in data.get("features") or []:
        props = dict(f.get("properties") or {})
        geom = f.get("geometry")
        props["geometry"] = json.dumps(geom, separators=(",", ":")) if geom else None
        rows.append(props)
    return pd.DataFrame(rows)


def read_gpkg(path: Path, name: str) -> pd.DataFrame:
    """The first feature table of a GeoPackage: attributes + ``geometry`` as GeoJSON text."""
    import shapely

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = con.execute(
                "SELECT c.table_name, g.column_name FROM gpkg_contents c JOIN "
                "gpkg_geometry_columns g ON g.table_name = c.table_name "
                "WHERE c.data_type = 'features' ORDER BY c.table_name").fetchall()
            if not meta:
                raise IngestError("the GeoPackage has no feature table", file=name,
                                  rule="invalid_gpkg")
            table, gcol = meta[0]
            df = pd.read_sql_query(f'SELECT * FROM "{table}"', con)
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        raise IngestError(f"not a readable GeoPackage ({e})", file=name,
                          rule="invalid_gpkg") from None
    geoms = []
    for i, blob in enumerate(df[gcol].tolist(), start=1):
        if blob is None:
            geoms.append(None)
            continue
        try:
            g = shapely.from_wkb(bytes(blob[gpkg_header_length(blob):]))
        except Exception as e:
            raise IngestError(f"geometry cannot be decoded ({e})", file=name, row=i,
                              column=gcol, rule="invalid_geometry") from None
        geoms.append(shapely.to_geojson(g))
    df = df.drop(columns=[gcol])
    df["geometry"] = geoms
    return df


def read_catalogue(path: Path, name: str) -> pd.DataFrame:
    """A territory catalogue as a DataFrame (all formats), columns as in the file."""
    suf = path.suffix.lower()
    if suf in (".geojson", ".json"):
        return read_geojson(path, name)
    if suf == ".gpkg":
        return read_gpkg(path, name)
    from territoria.ingest.sniff import sniff_text

    info = sniff_text(path, name=name)
    return pd.read_csv(path, sep=info.sep, dtype=str, keep_default_na=False,
                       encoding=info.encoding)


def _filter_city(df: pd.DataFrame, cols: dict, city: str | None, notes: list) -> pd.DataFrame:
    bcol = _pick(cols, _BOROUGH)
    if not bcol or not city:
        return df
    key = normalize_name(city)
    mask = df[bcol].map(lambda v: normalize_name(v) == key)
    if mask.any() and not mask.all():
        notes.append(f"kept the {int(mask.sum())} rows of {bcol} = {city}")
        return df[mask]
    return df


def ingest_territories(ctx: FileContext) -> Outcome:
    """Read a catalogue and upsert ``territories`` (or ``zones``)."""
    df = read_catalogue(ctx.path, ctx.name)
    if df.empty:
        raise IngestError("the catalogue has no rows", file=ctx.name, rule="empty_file")
    df = df.reset_index(drop=True)
    df["_row"] = range(1, len(df) + 1)
    cols = {c.strip().lower(): c for c in df.columns}
    notes: list[str] = []
    idc, namec = _pick(cols, _ID), _pick(cols, _NAME)
    if idc is None and "zone_id" in cols and namec is not None:
        return _ingest_zones(ctx, df, cols["zone_id"], namec)
    missing = [label for label, c in (("CVEUT/territory_id", idc), ("NOMUT/name", namec)) if c is None]
    if missing:
        raise IngestError(f"missing required column(s) {', '.join(missing)} "
                          f"(found: {', '.join(map(str, df.columns[:12]))})",
                          file=ctx.name, column=missing[0], rule="missing_columns")
    rows_read = len(df)
    kept = _filter_city(df, cols, ctx.city_name(), notes)
    outside = df[~df["_row"].isin(kept["_row"])]
    df = kept
    popc, zonec = _pick(cols, _POP), _pick(cols, _ZONE)
    out = pd.DataFrame({
        "territory_id": df[idc].astype(str).str.strip(),
        "name": df[namec].astype(str).str.strip(),
        "kind": df[cols["kind"]] if "kind" in cols else df[namec].map(territory_kind),
        "zone_id": df[zonec].astype(str).str.strip().replace("", None) if zonec else None,
        "population": pd.to_numeric(df[popc], errors="coerce") if popc else None,
        "geometry": df["geometry"] if "geometry" in df.columns else None,
        "_row": df["_row"],
    })
    problems = []
    if popc:
        bad = out["population"].isna() & df[popc].astype(str).str.strip().ne("") \
            & df[popc].notna()
        for r, v in zip(out.loc[bad, "_row"], df.loc[bad, popc], strict=False):
            problems.append((r, popc, v, "number"))
    for r in out.loc[out["territory_id"].isin(["", "nan", "None"]), "_row"]:
        problems.append((r, idc, None, "required"))
    for r in out.loc[out["name"].isin(["", "nan", "None"]), "_row"]:
        problems.append((r, namec, None, "required"))
    dup = out["territory_id"].duplicated(keep="first") & ~out["territory_id"].isin(["", "nan"])
    for r, v in zip(out.loc[dup, "_row"], out.loc[dup, "territory_id"], strict=False):
        problems.append((r, idc, v, "duplicate_id"))
    bcol = _pick(cols, _BOROUGH)
    problems += [(r, bcol, v, "outside_city") for r, v in zip(outside["_row"], outside[bcol], strict=False)] \
        if len(outside) else []
    q = pd.DataFrame(problems, columns=["row", "column", "value", "rule"])
    bad_rows = set(q["row"])
    good = out[~out["_row"].isin(bad_rows)].drop(columns=["_row"])
    ctx.quarantine_frame(q)
    if len(good):
        ctx.con.register("_ingest_terr_ids", good[["territory_id"]])
        try:
            n_old = ctx.con.execute(
                "SELECT count(*) FROM territories WHERE territory_id IN "
                "(SELECT territory_id FROM _ingest_terr_ids)").fetchall()[0][0]
            ctx.run("DELETE FROM territories WHERE territory_id IN "
                              "(SELECT territory_id FROM _ingest_terr_ids)")
        finally:
            ctx.con.unregister("_ingest_terr_ids")
        if n_old:
            notes.append(f"{n_old} territories replaced")
        ctx.store.append("territories", good)
    return Outcome(kind="territories", table="territories", rows_read=rows_read,
                   accepted=len(good), quarantined=len(bad_rows), notes=notes)


def _ingest_zones(ctx: FileContext, df: pd.DataFrame, zcol: str, namec: str) -> Outcome:
    out = pd.DataFrame({"zone_id": df[zcol].astype(str).str.strip(),
                        "name": df[namec].astype(str).str.strip(), "_row": df["_row"]})
    problems = [(r, zcol, None, "required") for r in out.loc[out["zone_id"] == "", "_row"]]
    problems += [(r, namec, None, "required") for r in out.loc[out["name"] == "", "_row"]]
    dup = out["zone_id"].duplicated() & (out["zone_id"] != "")
    problems += [(r, zcol, v, "duplicate_id") for r, v in
                 zip(out.loc[dup, "_row"], out.loc[dup, "zone_id"], strict=False)]
    q = pd.DataFrame(problems, columns=["row", "column", "value", "rule"])
    good = out[~out["_row"].isin(set(q["row"]))].drop(columns=["_row"])
    ctx.quarantine_frame(q)
    if len(good):
        ctx.con.register("_ingest_zone_ids", good[["zone_id"]])
        try:
            ctx.run("DELETE FROM zones WHERE zone_id IN "
                              "(SELECT zone_id FROM _ingest_zone_ids)")
        finally:
            ctx.con.unregister("_ingest_zone_ids")
        ctx.store.append("zones", good)
    return Outcome(kind="territories", table="zones", rows_read=len(out), accepted=len(good),
                   quarantined=len(set(q["row"])))


def territory_geometries(store) -> tuple[list[str], list]:
    """Ids and shapely geometries of the store's territories that have a geometry."""
    import shapely

    rows = store.con.execute(
        "SELECT territory_id, geometry FROM territories WHERE geometry IS NOT NULL "
        "ORDER BY territory_id").fetchall()
    ids = [r[0] for r in rows]
    geoms = list(shapely.from_geojson([r[1] for r in rows])) if rows else []
    return ids, geoms

