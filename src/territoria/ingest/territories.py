"""Territory catalogues: polygon layers (any format, any CRS) and CSV -> ``territories``/``zones``.

Layers (GeoPackage, GeoJSON, Shapefile ``.shp`` or zipped) are read by
:func:`territoria.ingest.layers.read_layer` (GeoPandas on pyogrio/GDAL) and reprojected to
EPSG:4326. What to take is explicit::

    territoria ingest -w WS colonias_iecm.gpkg --where "NOMDT = 'COYOACAN'" \\
        --map territory_id=CVEUT,name=NOMUT,population=SUMPOB1

``--where`` filters features (OGR SQL); ``--map`` names the layer's column for each field:
``territory_id`` and ``name`` (required), ``population``, ``zone_id``, ``zone_name``, ``kind``,
``households``. Without ``--map``, recognised column names are used (case-insensitive; IECM
names first): id ``CVEUT`` | ``territory_id`` | ``cve_ut``; name ``NOMUT`` | ``name`` |
``nombre``; population ``SUMPOB1`` | ``population`` | ``poblacion``; zone ``zone_id`` | ``dt``.
``kind`` is parsed from the name suffix when not given ((PBLO) pueblo, (BARR) barrio,
(U HAB) unidad_habitacional, (AMPL) ampliacion, (FRACC) fraccionamiento, (PJE) paraje,
none -> colonia).

A layer that covers several boroughs (an ``NOMDT``/``alcaldia`` column with several values) and
no ``--where`` is accepted whole, with a note saying how to filter it: the kit never filters
by the workspace's name. The borough values kept are recorded (store ``meta``,
``city_boroughs``), so that crime records of other boroughs are told apart.

Re-ingesting updates: a territory already in the store gets only the columns the file carries
(a corrected name leaves priority, cohort, join date, blocks and geometry as they were); new
ids are added. Rows without id or name, duplicated ids and rows with a missing, empty,
non-polygon or invalid geometry are quarantined with their reason. Zone ids that the store
does not know are added to ``zones`` (named ``zone_name`` when mapped, else by their id).

A CSV with ``zone_id`` and ``name`` but no territory id is a zone list (-> ``zones``).

Names in other languages: a column ``name_<lang>`` (``name_en``) for each language of
``city.yml`` gives the name in that language (``zone_name_en`` for the zones a territory layer
names); they are kept as JSON in the ``names`` column (``{"en": "Zone 05"}``) and shown on the
pages in that language. Without them a name is the same in every language (territory names
are proper names), unless ``city.yml: zones`` names the zone in each language.

Examples
--------
>>> gpkg_header_length(bytes([0x47, 0x50, 0, 0b0000_0011]) + bytes(60))
40
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.exceptions import IngestError, TerritoriaError
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.names import normalize_name, pick_column, territory_kind

_ID = ("cveut", "territory_id", "cve_ut", "id_territorio")
_NAME = ("nomut", "name", "nombre", "territory_name")
_POP = ("sumpob1", "population", "poblacion", "pob")
_ZONE = ("zone_id", "dt", "zona")
_BOROUGH = ("nomdt", "alcaldia", "municipio", "nom_mun")
#: Fields ``--map`` may name, and the store column each fills.
FIELDS = ("territory_id", "name", "population", "zone_id", "zone_name", "kind", "households")
_UPDATABLE = ("name", "kind", "zone_id", "population", "households", "geometry", "names")


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


_pick = pick_column  # first recognised column (ingest.names)


def read_catalogue(path: Path, name: str, *, where: str | None = None,
                   repair: bool = False) -> pd.DataFrame:
    """A territory catalogue as a DataFrame, columns as in the file; layers get ``geometry``
    as GeoJSON text in EPSG:4326 and ``_geometry_problem`` (reason, or None)."""
    from territoria.ingest.layers import is_layer, read_layer, split_geometries

    if is_layer(path):
        import shapely

        gdf = read_layer(path, name=name, where=where)
        _good, bad = split_geometries(gdf)
        if repair and len(bad):
            fixable = bad["reason"].map(lambda r: r not in ("missing", "empty")
                                        and not r.startswith("not a polygon"))
            pos = bad.loc[fixable, "position"].to_numpy()
            fixed = shapely.make_valid(gdf.geometry.to_numpy()[pos])
            fixed = [shapely.union_all(shapely.get_parts(f)[np.isin(
                shapely.get_type_id(shapely.get_parts(f)), (3, 6))]) for f in fixed]
            gdf.loc[gdf.index[pos], gdf.geometry.name] = fixed
            _good, bad = split_geometries(gdf)
            gdf.attrs["repaired"] = int(len(pos) - len(bad))

        geoms = gdf.geometry.to_numpy()
        problem = pd.Series([None] * len(gdf), dtype=object)
        problem.iloc[bad["position"].to_numpy()] = bad["reason"].to_numpy()
        text = [None if p is not None else shapely.to_geojson(g)
                for g, p in zip(geoms, problem, strict=True)]
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        df["geometry"] = text
        df["_geometry_problem"] = problem.to_numpy()
        df.attrs.update(gdf.attrs)
        return df
    if where:
        raise IngestError("--where applies to polygon layers (GeoPackage, GeoJSON, Shapefile)",
                          file=name, rule="where_not_layer")
    from types import SimpleNamespace

    from territoria.ingest.sniff import compression_of, sniff_text
    from territoria.ingest.tables import _check_field_counts

    info = sniff_text(path, name=name)
    _check_field_counts(SimpleNamespace(path=path, name=name), info)  # no silent shifts
    try:
        return pd.read_csv(path, sep=info.sep, dtype=str, keep_default_na=False,
                           encoding=info.encoding, compression=compression_of(path))
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise IngestError(f"cannot parse ({str(e).splitlines()[0]})", file=name,
                          rule="parse_error") from None


def _columns(df: pd.DataFrame, mapping: dict[str, str], name: str) -> dict[str, str | None]:
    """Column of the file for each field: explicit ``--map`` first, recognised names else."""
    unknown = [k for k in mapping if k not in FIELDS]
    if unknown:
        raise IngestError(f"--map names unknown field '{unknown[0]}' (fields: "
                          f"{', '.join(FIELDS)})", file=name, rule="map_field")
    absent = [v for v in mapping.values() if v not in df.columns]
    if absent:
        raise IngestError(f"--map names column '{absent[0]}', which the file does not have "
                          f"(columns: {', '.join(map(str, df.columns[:20]))})", file=name,
                          column=absent[0], rule="map_column")
    cols = {c.strip().lower(): c for c in df.columns if c not in ("geometry", "_geometry_problem")}
    out: dict[str, str | None] = {f: mapping.get(f) for f in FIELDS}
    if "territory_id" not in mapping:
        out["territory_id"] = _pick(cols, _ID)
    if "name" not in mapping:
        out["name"] = _pick(cols, _NAME)
    if not mapping:
        out["population"] = _pick(cols, _POP)
        out["zone_id"] = _pick(cols, _ZONE)
        out["zone_name"] = cols.get("zone_name")
        out["kind"] = cols.get("kind")
        out["households"] = cols.get("households")
    return out


def ingest_territories(ctx: FileContext) -> Outcome:
    """Read a catalogue or layer and add or update ``territories`` (or ``zones``)."""
    from territoria.ingest.layers import parse_mapping

    mapping = parse_mapping(ctx.options.get("map"))
    df = read_catalogue(ctx.path, ctx.name, where=ctx.options.get("where"),
                        repair=bool(ctx.options.get("repair")))
    if df.empty:
        raise IngestError("the catalogue has no rows", file=ctx.name, rule="empty_file")
    df = df.reset_index(drop=True)
    df["_row"] = range(1, len(df) + 1)
    notes: list[str] = []
    if ctx.options.get("where"):
        notes.append(f"kept the {len(df)} of {df.attrs.get('rows_in_file', len(df))} features "
                     f"where {ctx.options['where']}")
    if df.attrs.get("repaired"):
        notes.append(f"{df.attrs['repaired']} invalid geometries repaired (make_valid)")
    if df.attrs.get("source_crs") and df.attrs["source_crs"] != "EPSG:4326":
        notes.append(f"reprojected from {df.attrs['source_crs']} to EPSG:4326")
    cols = {c.strip().lower(): c for c in df.columns}
    c = _columns(df, mapping, ctx.name)
    if not mapping and c["territory_id"] is None and "zone_id" in cols and c["name"] is not None:
        return _ingest_zones(ctx, df, cols["zone_id"], c["name"])
    missing = [f for f in ("territory_id", "name") if c[f] is None]
    if missing:
        raise IngestError(f"no column for {' and '.join(missing)}: say which with --map "
                          f"{missing[0]}=COLUMN (columns: {', '.join(map(str, df.columns[:15]))})",
                          file=ctx.name, column=missing[0], rule="missing_columns")
    rows_read = len(df)
    bcol = _pick(cols, _BOROUGH)
    if bcol and not ctx.options.get("where"):
        vals = sorted({str(v) for v in df[bcol].dropna()})
        if len(vals) > 1:
            notes.append(f"the layer holds {len(vals)} values of {bcol} ({', '.join(vals[:5])}"
                         f"{'...' if len(vals) > 5 else ''}); all kept: use --where \"{bcol} = "
                         f"'...'\" to keep one")
    idc, namec = c["territory_id"], c["name"]
    text = lambda col: df[col].astype(str).str.strip().replace({"nan": "", "None": ""})  # noqa: E731
    out = pd.DataFrame({"territory_id": text(idc), "name": text(namec), "_row": df["_row"]})
    carried = ["name", "kind"]
    out["kind"] = text(c["kind"]) if c["kind"] else out["name"].map(territory_kind)
    for f in ("population", "households"):
        if c[f]:
            out[f] = pd.to_numeric(df[c[f]], errors="coerce")
            carried.append(f)
    if c["zone_id"]:
        out["zone_id"] = text(c["zone_id"]).replace("", None)
        carried.append("zone_id")
    if "geometry" in df.columns:
        out["geometry"] = df["geometry"]
        carried.append("geometry")
    names = other_names(ctx, df)
    if names is not None:
        out["names"] = names
        carried.append("names")
    problems = []
    for f in ("population", "households"):
        if c[f]:
            raw = df[c[f]].astype(str).str.strip()
            bad = out[f].isna() & raw.ne("") & df[c[f]].notna() & raw.ne("nan")
            bad |= out[f].notna() & (out[f] < 0)
            problems += [(r, c[f], v, "number >= 0") for r, v in
                         zip(out.loc[bad, "_row"], df.loc[bad, c[f]], strict=True)]
    problems += [(r, idc, None, "required") for r in out.loc[out["territory_id"] == "", "_row"]]
    problems += [(r, namec, None, "required") for r in out.loc[out["name"] == "", "_row"]]
    dup = out["territory_id"].duplicated(keep="first") & (out["territory_id"] != "")
    problems += [(r, idc, v, "duplicate_id") for r, v in
                 zip(out.loc[dup, "_row"], out.loc[dup, "territory_id"], strict=True)]
    if "_geometry_problem" in df.columns:
        gp = df["_geometry_problem"].notna()
        problems += [(r, "geometry", out.loc[i, "territory_id"],
                      f"geometry: {why}" + ("" if why in ("missing", "empty") else
                                            " (fix it in the layer, or ingest with --repair)"))
                     for i, r, why in zip(df.index[gp], df.loc[gp, "_row"],
                                          df.loc[gp, "_geometry_problem"], strict=True)]
    q = pd.DataFrame(problems, columns=["row", "column", "value", "rule"])
    bad_rows = set(q["row"])
    good = out[~out["_row"].isin(bad_rows)].drop(columns=["_row"])
    ctx.quarantine_frame(q)
    if len(good):
        n_new, n_upd = _upsert(ctx, good, [x for x in carried if x in _UPDATABLE])
        if n_upd:
            notes.append(f"{n_upd} territories updated ({', '.join(x for x in carried)}), "
                         f"{n_new} new")
        if "zone_id" in good:
            _add_zones(ctx, good, df, c)
        if bcol:
            _record_boroughs(ctx, df.loc[df["_row"].isin(set(out.loc[good.index, "_row"])), bcol])
    return Outcome(kind="territories", table="territories", rows_read=rows_read,
                   accepted=len(good), quarantined=len(bad_rows), notes=notes)


def _upsert(ctx: FileContext, good: pd.DataFrame, carried: list[str]) -> tuple[int, int]:
    """Insert new territories; update only the carried columns of existing ones."""
    from territoria.store import quote_ident

    t = ctx.temp_frame("terr", good)
    n_upd = ctx.run(f"SELECT count(*) FROM territories WHERE territory_id IN "
                    f"(SELECT territory_id FROM {t})")[0][0]
    if n_upd:
        sets = ", ".join(f"{quote_ident(x)} = s.{quote_ident(x)}" for x in carried)
        ctx.run(f"UPDATE territories SET {sets} FROM {t} AS s "
                "WHERE territories.territory_id = s.territory_id")
    cols = ["territory_id", *carried]
    collist = ", ".join(quote_ident(x) for x in cols)
    ctx.run(f"INSERT INTO territories ({collist}) SELECT {collist} FROM {t} "
            "WHERE territory_id NOT IN (SELECT territory_id FROM territories)")
    return len(good) - n_upd, n_upd


def _add_zones(ctx: FileContext, good: pd.DataFrame, df: pd.DataFrame, c: dict) -> None:
    zones = good["zone_id"].dropna().astype(str)
    if zones.empty:
        return
    names = zones
    if c.get("zone_name"):
        names = df.loc[good.index, c["zone_name"]].astype(str).str.strip()
    z = pd.DataFrame({"zone_id": zones, "name": names.loc[zones.index]})
    other = other_names(ctx, df, "zone_name")
    if other is not None:
        z["names"] = other.loc[z.index]
    z = z.drop_duplicates("zone_id")
    known = {r[0] for r in ctx.run("SELECT zone_id FROM zones")}
    new = z[~z["zone_id"].isin(known)]
    if len(new):
        ctx.store.append("zones", new)


def _languages(ctx: FileContext) -> list[str]:
    """The workspace's languages (``es``, ``en`` without a workspace)."""
    try:
        return list(ctx.ws.config().languages) if ctx.ws is not None and ctx.ws.exists() \
            else ["es", "en"]
    except TerritoriaError:
        return ["es", "en"]


def other_names(ctx: FileContext, df: pd.DataFrame, prefix: str = "name") -> pd.Series | None:
    """Per row, JSON of the names in other languages (``name_en``...: ``{"en": "Zone 05"}``),
    None where the row has none; None when the file has no such column.

    >>> from types import SimpleNamespace
    >>> df = pd.DataFrame({"name": ["Zona 5", "Zona 6"], "Name_EN": ["Zone 5", ""]})
    >>> other_names(SimpleNamespace(ws=None), df).tolist()
    ['{"en": "Zone 5"}', None]
    """
    cols = {c.strip().lower(): c for c in df.columns}
    found = {lang: cols[f"{prefix}_{lang.lower()}"] for lang in _languages(ctx)
             if f"{prefix}_{lang.lower()}" in cols}
    if not found:
        return None

    def one(i) -> str | None:
        texts = {lang: str(df.at[i, col]).strip() for lang, col in found.items()
                 if pd.notna(df.at[i, col]) and str(df.at[i, col]).strip()}
        return json.dumps(texts, ensure_ascii=False) if texts else None

    return pd.Series([one(i) for i in df.index], index=df.index, dtype=object)


def _record_boroughs(ctx: FileContext, values: pd.Series) -> None:
    vals = sorted({normalize_name(str(v)) for v in values.dropna() if str(v).strip()})
    if not vals:
        return
    old = ctx.run("SELECT value FROM meta WHERE key = 'city_boroughs'")
    merged = sorted(set(vals) | set(json.loads(old[0][0]) if old else []))
    ctx.run("DELETE FROM meta WHERE key = 'city_boroughs'")
    ctx.run("INSERT INTO meta VALUES ('city_boroughs', ?)", [json.dumps(merged)])


def city_boroughs(store) -> set[str]:
    """Normalised borough names of the territory layers ingested (empty when unknown)."""
    row = store.con.execute("SELECT value FROM meta WHERE key = 'city_boroughs'").fetchall()
    return set(json.loads(row[0][0])) if row else set()


def _ingest_zones(ctx: FileContext, df: pd.DataFrame, zcol: str, namec: str) -> Outcome:
    out = pd.DataFrame({"zone_id": df[zcol].astype(str).str.strip(),
                        "name": df[namec].astype(str).str.strip(), "_row": df["_row"]})
    other = other_names(ctx, df)
    if other is not None:
        out["names"] = other
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

