"""Data published by areas (AGEB, police cuadrante, a grid...) brought to territories.

``territoria ingest FILE --kind social_index|crime --areas LAYER --areas-key KEY[=FILEKEY]``:

- the areas layer is read like any layer (:mod:`territoria.ingest.layers`); ``KEY`` is its
  column that identifies each area, ``FILEKEY`` the data file's column holding the same key
  (default: a column of the same name, else the reader's usual key, e.g. ``folio_ageb``);
- the crosswalk areas x territories (:mod:`territoria.ingest.areal`) is computed with
  population weights when the store's blocks have population and a point, area weights
  otherwise, and stored (``areal_crosswalk``, source ``<kind>:<layer file>``);
- a social index (intensive) becomes each territory's weighted mean (``territories.
  social_index``); crime counts (extensive) are apportioned to ``crime_counts`` with source
  ``areas:<layer file>``, fractional counts kept.

Crime counts by area are aggregated data: re-ingesting a file with some of the same cells
(area, month, category) **replaces** them, never adds to them; the territory counts of the
source are then recomputed from all its stored cells.

Examples
--------
>>> split_key("cvegeo=folio_ageb"), split_key("cuadrante")
(('cvegeo', 'folio_ageb'), ('cuadrante', None))
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from territoria.exceptions import IngestError
from territoria.ingest import areal
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.names import pick_column

AREA_COUNTS_TABLE = "crime_area_counts"
AREA_COUNTS_SCHEMA = {"area_id": "VARCHAR", "month": "DATE", "category": "VARCHAR",
                      "count": "DOUBLE", "source": "VARCHAR", "file": "VARCHAR"}

_AREA_MONTH = ("month", "date", "fecha", "mes", "periodo")
_AREA_CATEGORY = ("category", "crime", "delito", "categoria", "categoria_delito")
_AREA_COUNT = ("count", "n", "total", "carpetas", "incidents", "casos")


def split_key(text: str | None) -> tuple[str, str | None]:
    """``"LAYERKEY=FILEKEY"`` -> ``(LAYERKEY, FILEKEY)``; ``FILEKEY`` None when not given."""
    if not text or not str(text).strip():
        raise IngestError("--areas needs --areas-key (the column that identifies each area)",
                          rule="areas_key")
    a, _, b = str(text).partition("=")
    return a.strip(), (b.strip() or None)


def load_areas(ctx: FileContext):
    """The areas layer of ``ctx.options`` as ``(GeoDataFrame, key, file_key, label)``;
    areas with unusable geometry are left out (and counted in ``attrs['dropped']``)."""
    from territoria.ingest.layers import read_layer, split_geometries

    path = Path(ctx.options["areas"])
    key, file_key = split_key(ctx.options.get("areas_key"))
    gdf = read_layer(path, name=path.name)
    if key not in gdf.columns:
        raise IngestError(f"the areas layer has no column '{key}' (columns: "
                          f"{', '.join(map(str, gdf.columns[:15]))})", file=path.name,
                          column=key, rule="areas_key")
    good, bad = split_geometries(gdf)
    good = good.copy()
    good.attrs["dropped"] = len(bad)
    return good, key, file_key, path.name


def build_crosswalk(ctx: FileContext, areas, key: str, source: str) -> pd.DataFrame:
    """Crosswalk of ``areas`` onto the store's territories, stored under ``source``."""
    terr = areal.territories_frame(ctx.store)
    cw = areal.crosswalk(areas, key, terr, blocks=areal.block_points(ctx.store))
    areal.store_crosswalk(ctx.store, source, cw)
    return cw


def method_note(cw: pd.DataFrame) -> str:
    """Which weights the crosswalk used, in words."""
    m = cw["method"].iloc[0] if len(cw) else "area"
    return ("weights: population of the blocks in each piece" if m == "population"
            else "weights: area shares (equal-area projection; no block population with "
                 "coordinates in the store)")


def interpolate_index(ctx: FileContext, values: pd.Series, source: str) -> list[str]:
    """Weighted mean of area values for each territory -> ``territories.social_index``."""
    areas, key, _fk, label = load_areas(ctx)
    cw = build_crosswalk(ctx, areas, key, f"social_index:{label}")
    known = set(cw.attrs.get("areas", []))
    missing = sorted(set(values.index.astype(str)) - known)
    by_t = areal.intensive(cw, values)
    n_terr = ctx.run("SELECT count(*) FROM territories")[0][0]
    if len(by_t):
        df = by_t.rename("social_index").reset_index()
        ctx.con.register("_si_terr", df)
        try:
            ctx.run("UPDATE territories SET social_index = s.social_index FROM _si_terr AS s "
                    "WHERE territories.territory_id = s.territory_id")
        finally:
            ctx.con.unregister("_si_terr")
    notes = [f"interpolated to {len(by_t)} of {n_terr} territories from {label} "
             f"(weighted mean; {method_note(cw)}); crosswalk stored as social_index:{label}"]
    if missing:
        notes.append(f"{len(missing)} units of the file have no polygon in {label} "
                     f"(e.g. {', '.join(missing[:3])})")
    if areas.attrs.get("dropped"):
        notes.append(f"{areas.attrs['dropped']} areas of {label} left out (unusable geometry)")
    return notes


_col = pick_column  # first recognised column (ingest.names)


def ingest_crime_by_area(ctx: FileContext) -> Outcome:
    """Counts per area x month x category -> ``crime_area_counts`` (cells replaced) and,
    apportioned, ``crime_counts`` (source ``areas:<layer>``)."""
    from territoria.ingest.sniff import load_text, sniff_text

    areas, key, file_key, label = load_areas(ctx)
    info = sniff_text(ctx.path, name=ctx.name)
    t = ctx.temp("area_crime")
    n = load_text(ctx.con, info, t, name=ctx.name)
    df = ctx.con.execute(f"SELECT * FROM {t} ORDER BY rowid").df()
    cols = {str(c).strip().lower(): c for c in df.columns}
    kcol = cols.get((file_key or key).lower()) or cols.get("cuadrante") or cols.get("area_id")
    mcol, ccol, ncol = _col(cols, _AREA_MONTH), _col(cols, _AREA_CATEGORY), _col(cols, _AREA_COUNT)
    missing = [w for w, c in (("area key " + (file_key or key), kcol), ("month/date", mcol),
                              ("category/crime", ccol), ("count", ncol)) if c is None]
    if missing:
        raise IngestError(f"missing column(s) {', '.join(missing)} (found: "
                          f"{', '.join(map(str, df.columns[:12]))})", file=ctx.name,
                          column=missing[0], rule="missing_columns")
    row = pd.Series(range(1, n + 1))
    text = lambda v: "" if pd.isna(v) else " ".join(str(v).split())  # noqa: E731
    area = df[kcol].map(text).reset_index(drop=True)
    month = pd.to_datetime(df[mcol].map(text).str[:10], errors="coerce",
                           format="mixed").dt.to_period("M").dt.to_timestamp()
    month = month.reset_index(drop=True)
    cat = df[ccol].map(text).str.upper().reset_index(drop=True)
    cnt = pd.to_numeric(df[ncol], errors="coerce").reset_index(drop=True)
    known = set(areas[key].map(text))
    checks = [
        (area.eq(""), kcol, area, "required"),
        (area.ne("") & ~area.isin(known), kcol, area,
         f"area not in {label}"),
        (month.isna(), mcol, df[mcol].reset_index(drop=True), "date"),
        (cat.eq(""), ccol, None, "required"),
        (cnt.isna() | (cnt < 0) | (cnt.round() != cnt), ncol, df[ncol].reset_index(drop=True),
         "count (integer >= 0)"),
    ]
    bad = pd.Series(False, index=row.index)
    probs = []
    for mask, col, val, rule in checks:
        mask = mask.fillna(True) & ~bad
        if mask.any():
            probs.append(pd.DataFrame({"row": row[mask], "column": col,
                                       "value": None if val is None else val[mask].astype(str),
                                       "rule": rule}))
        bad |= mask
    dup = ~bad & pd.DataFrame({"a": area, "m": month, "c": cat}).duplicated(keep="first")
    if dup.any():
        probs.append(pd.DataFrame({"row": row[dup], "column": kcol,
                                   "value": area[dup] + " " + month[dup].astype(str),
                                   "rule": "duplicate_row"}))
    bad |= dup
    if probs:
        ctx.quarantine_frame(pd.concat(probs, ignore_index=True))
    source = f"areas:{label}"
    good = pd.DataFrame({"area_id": area[~bad], "month": month[~bad].dt.date,
                         "category": cat[~bad], "count": cnt[~bad].astype(float),
                         "source": source, "file": ctx.name})
    ctx.store.ensure_table(AREA_COUNTS_TABLE, AREA_COUNTS_SCHEMA)
    notes = list(info.notes)
    n_replaced = 0
    if len(good):
        tmp = ctx.temp_frame("area_in", good)
        same = (f"FROM {AREA_COUNTS_TABLE} x WHERE x.source = ? AND EXISTS (SELECT 1 FROM {tmp} "
                "s WHERE s.area_id = x.area_id AND s.month = x.month AND s.category = x.category)")
        n_replaced = ctx.run(f"SELECT count(*) {same}", [source])[0][0]
        ctx.run(f"DELETE {same}", [source])
        ctx.run(f"INSERT INTO {AREA_COUNTS_TABLE} SELECT area_id, month, category, count, source, "
                f"file FROM {tmp}")
    if n_replaced:
        notes.append(f"{n_replaced} area x month x category cells replaced (aggregated data "
                     "are replaced, never added)")
    notes += _apportion(ctx, areas, key, label, source)
    return Outcome(kind="crime", table="crime_counts", rows_read=n,
                   accepted=int((~bad).sum()), quarantined=int(bad.sum()), notes=notes)


def _apportion(ctx: FileContext, areas, key: str, label: str, source: str) -> list[str]:
    """Recompute ``crime_counts`` of ``source`` from all its stored area cells."""
    cw = build_crosswalk(ctx, areas, key, f"crime:{label}")
    cells = ctx.con.execute(
        f"SELECT area_id, month, category, count FROM {AREA_COUNTS_TABLE} WHERE source = ?",
        [source]).df()
    ctx.run("DELETE FROM crime_counts WHERE source = ?", [source])
    if cells.empty:
        return []
    wide = cells.pivot_table(index="area_id", columns=["month", "category"], values="count",
                             aggfunc="sum", fill_value=0.0)
    by_t = areal.extensive(cw, wide)
    long = by_t.stack(["month", "category"], future_stack=True).rename("count").reset_index()
    long = long[long["count"] > 0]
    long["source"] = source
    if len(long):
        ctx.store.append("crime_counts", long[["territory_id", "month", "category", "count",
                                                "source"]])
    total = float(cells["count"].sum())
    kept = float(long["count"].sum())
    out = areal.outside_share(cw, wide.index)
    lost_areas = int((out > 0.999).sum())
    return [f"apportioned {kept:,.1f} of {total:,.0f} crimes to {by_t.shape[0]} territories "
            f"({method_note(cw)}); {total - kept:,.1f} fall outside every territory"
            + (f" ({lost_areas} areas touch no territory)" if lost_areas else "")
            + f"; crosswalk stored as crime:{label}"]
