"""Crime records -> ``crime_counts(territory_id, month, category, count, source)``.

Readers:

- FGJ carpetas de investigación, current layout (``carpetasFGJ_acumulado_*.csv``, 21 columns:
  ``fecha_hecho, anio_hecho, mes_hecho, delito, categoria_delito, colonia_hecho,
  colonia_catalogo, alcaldia_hecho, latitud, longitud...``);
- FGJ 2016–2020 CKAN layout (``ao_hechos, mes_hechos, fecha_hechos, delito, categoria_delito,
  colonia_hechos, alcaldia_hechos, longitud, latitud``; ``ao`` is *año* without the ñ);
- FGJ transparency "1A" XLSX (title row, then ``FECHA DE LOS HECHOS, MODALIDAD - DELITO,
  COORD X, COORD Y``).

Each record gets a month (the date of the facts, else year + month columns) and a category
(``categoria_delito``, else ``delito``/``MODALIDAD - DELITO``), and a territory: the polygon
of ``territories.geometry`` that contains its point (shapely STRtree) when it has valid
coordinates, else the territory whose normalised name (upper case, no accents, no
punctuation, ``(U HAB)``-style suffix removed) equals the record's colonia. Records without
a territory are quarantined (rule ``territory_not_matched``), as are records without a valid
date (``date``) or category (``required``). Counts are aggregated to territory x month x
category with ``source = 'fgj'``.

SSP cuadrante counts (``cuadrante, crime, date, count, ...``, already aggregated) are stored
as they are, in the long table ``crime_cuadrante`` (cuadrantes are police units, not
territories), with ``date`` as DATE, ``count`` INTEGER and ``source = 'ssp_cuadrantes'``.

Examples
--------
>>> month_from_parts(pd.Series(["2019", "2020"]), pd.Series(["Octubre", "2"])).dt.strftime("%Y-%m").tolist()
['2019-10', '2020-02']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from territoria.exceptions import IngestError
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.names import normalize_name, normalize_names, pick_column
from territoria.ingest.sniff import load_text, row_offset, sniff_text
from territoria.store import quote_ident

MONTHS_ES = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_DATE = ("fecha_hecho", "fecha_hechos", "fecha de los hechos")
_YEAR = ("anio_hecho", "ao_hechos", "año_hechos", "ano_hechos")
_MONTH = ("mes_hecho", "mes_hechos")
_CATEGORY = ("categoria_delito",)
_DELITO = ("delito", "modalidad - delito")
_COLONIA = ("colonia_catalogo", "colonia_hecho", "colonia_hechos")
_LAT = ("latitud", "coord y")
_BOROUGH = ("alcaldia_hecho", "alcaldia_hechos", "alcaldia_catalogo")
_LON = ("longitud", "coord x")


def is_fgj_xlsx(path: Path) -> bool:
    """True when an XLSX looks like an FGJ "1A" file (a ``MODALIDAD - DELITO`` column)."""
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = list(wb.worksheets[0].iter_rows(min_row=1, max_row=3, values_only=True))
        finally:
            wb.close()
    except Exception:
        return False
    for r in rows:
        cells = {str(c).strip().upper() for c in r if c is not None}
        if "MODALIDAD - DELITO" in cells:
            return True
    return False


def month_from_parts(year: pd.Series, month: pd.Series) -> pd.Series:
    """First day of the month from a year column and a month column (number or Spanish name)."""
    y = pd.to_numeric(year, errors="coerce")
    m_txt = month.astype(object).map(lambda v: str(v).strip().lower() if v is not None else "")
    m = pd.to_numeric(m_txt, errors="coerce")
    m = m.fillna(m_txt.map(MONTHS_ES))
    ok = y.notna() & m.between(1, 12) & y.between(1900, 2100)
    out = pd.Series(pd.NaT, index=year.index, dtype="datetime64[s]")
    if ok.any():
        out[ok] = pd.to_datetime(
            {"year": y[ok].astype(int), "month": m[ok].astype(int), "day": 1}).astype(
            "datetime64[s]")
    return out


def month_from_dates(text: pd.Series) -> pd.Series:
    """First day of the month from ISO (``YYYY-MM-DD[ T]...``) or ``dd/mm/yyyy`` dates."""
    s = text.astype(object).map(lambda v: "" if v is None else str(v).strip()).str[:10]
    d = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    d2 = pd.to_datetime(s, format="%d/%m/%Y", errors="coerce")
    d = d.fillna(d2)
    d = d.where((d.dt.year >= 1900) & (d.dt.year <= 2100))
    return d.dt.to_period("M").dt.to_timestamp().astype("datetime64[s]")


_col = pick_column  # first recognised column (ingest.names)


def _read_records(ctx: FileContext) -> tuple[pd.DataFrame, list[str]]:
    suf = ctx.path.suffix.lower()
    if suf in (".xlsx", ".xlsm"):
        raw = pd.read_excel(ctx.path, header=None, dtype=str)
        hdr = next((i for i in range(min(5, len(raw)))
                    if "MODALIDAD - DELITO" in {str(c).strip().upper() for c in raw.iloc[i]}), 0)
        df = raw.iloc[hdr + 1:].copy()
        df.columns = [str(c).strip() for c in raw.iloc[hdr]]
        df = df.reset_index(drop=True)
        return df, []
    info = sniff_text(ctx.path, name=ctx.name)
    t = ctx.temp("crime")
    load_text(ctx.con, info, t, name=ctx.name)
    want = {c.strip().lower(): c for c in info.header}
    keep = [want[c] for c in (*_DATE, *_YEAR, *_MONTH, *_CATEGORY, *_DELITO, *_COLONIA,
                              *_LAT, *_LON, *_BOROUGH) if c in want]
    sel = ", ".join(quote_ident(c) for c in dict.fromkeys(keep)) or "*"
    df = ctx.con.execute(f"SELECT {sel} FROM {t} ORDER BY rowid").df()

    return df, list(info.notes)


def assign_territories(lon: pd.Series, lat: pd.Series, colonia: pd.Series | None,
                       ids: list[str], geoms: list, names: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Territory of each record (point in polygon, then normalised name) and how it matched.

    Returns
    -------
    territory : Series of str or None
    method : Series of {'point', 'name', None}
    """
    import shapely
    from shapely.strtree import STRtree

    n = len(lon)
    terr = np.full(n, None, dtype=object)
    method = np.full(n, None, dtype=object)
    x = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    has = np.isfinite(x) & np.isfinite(y) & (x != 0) & (y != 0)
    if geoms and has.any():
        idx = np.flatnonzero(has)
        pts = shapely.points(x[idx], y[idx])
        tree = STRtree(geoms)
        pairs = tree.query(pts, predicate="within")
        if pairs.size:
            order = np.lexsort((pairs[1], pairs[0]))
            inp, tr = pairs[0][order], pairs[1][order]
            first = np.unique(inp, return_index=True)[1]
            idarr = np.asarray(ids, dtype=object)
            terr[idx[inp[first]]] = idarr[tr[first]]
            method[idx[inp[first]]] = "point"
    if colonia is not None and names:
        todo = pd.isna(pd.Series(terr))
        if todo.any():
            norm = normalize_names(colonia[todo.to_numpy()])
            found = norm.map(names)
            ok = found.notna().to_numpy()
            pos = np.flatnonzero(todo.to_numpy())[ok]
            terr[pos] = found[ok].to_numpy()
            method[pos] = "name"
    return pd.Series(terr), pd.Series(method)


def _territory_names(store) -> dict[str, str]:
    rows = store.con.execute("SELECT territory_id, name FROM territories").fetchall()
    by: dict[str, set] = {}
    for tid, name in rows:
        by.setdefault(normalize_name(name), set()).add(tid)
    return {k: next(iter(v)) for k, v in by.items() if k and len(v) == 1}


def ingest_crime(ctx: FileContext) -> Outcome:
    """FGJ records -> crime_counts (see the module docstring); counts by area with
    ``--areas`` (:func:`territoria.ingest.by_area.ingest_crime_by_area`)."""
    from territoria.ingest.territories import city_boroughs, territory_geometries

    if ctx.options.get("areas"):
        from territoria.ingest.by_area import ingest_crime_by_area

        return ingest_crime_by_area(ctx)
    df, notes = _read_records(ctx)
    n = len(df)
    if n == 0:
        raise IngestError("the file has no data rows", file=ctx.name, rule="empty_file")
    cols = {str(c).strip().lower(): c for c in df.columns}
    datec, yearc, monthc = _col(cols, _DATE), _col(cols, _YEAR), _col(cols, _MONTH)
    catc = _col(cols, _CATEGORY) or _col(cols, _DELITO)
    if catc is None or (datec is None and (yearc is None or monthc is None)):
        miss = "categoria_delito/delito" if catc is None else "fecha_hecho (or year + month)"
        raise IngestError(f"missing required column {miss}; not an FGJ carpetas layout",
                          file=ctx.name, column=miss, rule="missing_columns")
    ids, geoms = territory_geometries(ctx.store)
    names = _territory_names(ctx.store)
    boroughs = city_boroughs(ctx.store)
    bor_col = _col(cols, _BOROUGH)
    if not ids and not names:
        raise IngestError("no territories in the store: ingest the territory catalogue first",
                          file=ctx.name, rule="no_territories")
    month = month_from_dates(df[datec]) if datec else pd.Series(pd.NaT, index=df.index)
    if yearc and monthc:
        month = month.fillna(month_from_parts(df[yearc], df[monthc]))
    cat = df[catc].astype(object).map(lambda v: None if v is None or str(v).strip() in ("", "nan")
                                      else " ".join(str(v).split()).upper())
    if _col(cols, _DELITO) and catc != _col(cols, _DELITO):
        d = df[_col(cols, _DELITO)].astype(object)
        cat = cat.fillna(d.map(lambda v: None if v is None or str(v).strip() == ""
                               else " ".join(str(v).split()).upper()))
    latc, lonc = _col(cols, _LAT), _col(cols, _LON)
    colc = next((cols[c] for c in _COLONIA if c in cols), None)
    lat = df[latc] if latc else pd.Series([None] * n)
    lon = df[lonc] if lonc else pd.Series([None] * n)
    colonia = df[colc].reset_index(drop=True) if colc else None
    if colonia is not None and colc == cols.get("colonia_catalogo") and "colonia_hecho" in cols:
        colonia = colonia.where(colonia.notna() & (colonia.astype(str).str.strip() != ""),
                                df[cols["colonia_hecho"]].reset_index(drop=True))
    other_borough = pd.Series(False, index=range(n))
    if bor_col and boroughs:
        # a city-wide file: keep the rows of the city's own boroughs (as the territory layer
        # names them); never name-match a colonia of another borough
        other_borough = ~df[bor_col].reset_index(drop=True).map(
            lambda v: normalize_name(str(v)) in boroughs if v is not None else False)
    has_point = pd.Series(np.isfinite(pd.to_numeric(lon.reset_index(drop=True), errors="coerce"))
                          & np.isfinite(pd.to_numeric(lat.reset_index(drop=True),
                                                      errors="coerce")))
    by_name = colonia.where(~(has_point | other_borough).to_numpy(), None) \
        if colonia is not None else None
    terr, method = assign_territories(lon.reset_index(drop=True), lat.reset_index(drop=True),
                                      by_name, ids, geoms, names)
    terr = terr.where(~other_borough, None)
    rows = pd.Series(np.arange(1, n + 1))
    month = month.reset_index(drop=True)
    cat = cat.reset_index(drop=True)
    problems = []
    bad_date = month.isna()
    src_date = datec or yearc
    problems.append(pd.DataFrame({"row": rows[bad_date], "column": src_date,
                                  "value": (df[src_date].reset_index(drop=True)[bad_date]),
                                  "rule": "date"}))
    bad_cat = cat.isna()
    problems.append(pd.DataFrame({"row": rows[bad_cat], "column": catc, "value": None,
                                  "rule": "required"}))
    unmatched = terr.isna() & ~other_borough
    if other_borough.any():
        ob = other_borough
        problems.append(pd.DataFrame({"row": rows[ob].to_numpy(), "column": bor_col,
                                      "value": df[bor_col].reset_index(drop=True)[ob].astype(str)
                                      .to_numpy(), "rule": "outside_city"}))
    where = colonia[unmatched] if colonia is not None else pd.Series([None] * int(unmatched.sum()))
    label = colc or f"{lonc},{latc}"
    shown = where.astype(object).map(lambda v: None if v is None else str(v))
    if lonc and latc:
        coords = (lon.reset_index(drop=True).astype(str) + " " + lat.reset_index(drop=True).astype(str))[unmatched]
        shown = shown.where(shown.notna() & (shown != "") & (shown != "nan"),
                            "(" + coords.astype(str) + ")")
    problems.append(pd.DataFrame({"row": rows[unmatched].to_numpy(), "column": label,
                                  "value": shown.to_numpy(), "rule": "territory_not_matched"}))
    q = pd.concat([p for p in problems if len(p)], ignore_index=True) if any(
        len(p) for p in problems) else pd.DataFrame(columns=["row", "column", "value", "rule"])
    ctx.quarantine_frame(q)
    good = ~(bad_date | bad_cat | unmatched | other_borough)
    agg = (pd.DataFrame({"territory_id": terr[good], "month": month[good], "category": cat[good]})
           .groupby(["territory_id", "month", "category"]).size().rename("count").reset_index())
    agg["month"] = pd.to_datetime(agg["month"]).dt.date
    agg["count"] = agg["count"].astype("int32")
    agg["source"] = "fgj"
    if len(agg):
        ctx.store.append("crime_counts", agg[["territory_id", "month", "category", "count",
                                               "source"]])
    n_bad = int((~good).sum())
    by = method[good].value_counts().to_dict()
    notes.append(f"matched by point {by.get('point', 0)}, by name {by.get('name', 0)}; "
                 f"{int(unmatched.sum())} not matched; {len(agg)} territory x month x category cells")
    return Outcome(kind="crime", table="crime_counts", rows_read=n, accepted=n - n_bad,
                   quarantined=n_bad, notes=notes)


CUADRANTE_TABLE = "crime_cuadrante"
_CUADRANTE_TYPES = {"date": "DATE", "count": "INTEGER", "year": "INTEGER",
                    "population": "DOUBLE"}


def ingest_crime_cuadrante(ctx: FileContext) -> Outcome:
    """SSP cuadrante x crime x month counts -> ``crime_cuadrante`` (long table, as is); with
    ``--areas`` (the cuadrante polygons) the counts are apportioned to territories."""
    if ctx.options.get("areas"):
        from territoria.ingest.by_area import ingest_crime_by_area

        return ingest_crime_by_area(ctx)
    info = sniff_text(ctx.path, name=ctx.name)
    t = ctx.temp("cuad")
    n = load_text(ctx.con, info, t, name=ctx.name)
    cols = [r[0] for r in ctx.con.execute(f"DESCRIBE {t}").fetchall()]
    low = {c.lower(): c for c in cols}
    need = [c for c in ("cuadrante", "crime", "date", "count") if c not in low]
    if need:
        raise IngestError(f"missing required column(s) {', '.join(need)}", file=ctx.name,
                          column=need[0], rule="missing_columns")
    q = quote_ident
    cu, cr, da, co = (f"trim(s.{q(low[c])})" for c in ("cuadrante", "crime", "date", "count"))
    types = {c: _CUADRANTE_TYPES.get(c.lower(), "VARCHAR") for c in cols}
    schema = {c: ty for c, ty in types.items()}
    schema["source"] = "VARCHAR"
    ctx.store.ensure_table(CUADRANTE_TABLE, schema)
    exists = (f"EXISTS (SELECT 1 FROM {CUADRANTE_TABLE} x WHERE x.{q(low['cuadrante'])} = {cu} "
              f"AND x.{q(low['crime'])} = {cr} AND x.{q(low['date'])} = TRY_CAST({da} AS DATE))")
    off = row_offset(ctx.con, t)
    checks = [
        (f"{cu} IS NULL", low["cuadrante"], cu, "required"),
        (f"{cr} IS NULL", low["crime"], cr, "required"),
        (f"TRY_CAST({da} AS DATE) IS NULL", low["date"], da, "date"),
        (f"TRY_CAST({co} AS INTEGER) IS NULL OR TRY_CAST({co} AS INTEGER) < 0", low["count"], co,
         "count (integer >= 0)"),
        (f"row_number() OVER (PARTITION BY {cu}, {cr}, {da} ORDER BY s.rowid) > 1 OR {exists}",
         low["cuadrante"], f"{cu} || ' ' || coalesce({cr}, '') || ' ' || coalesce({da}, '')",
         "duplicate_row"),
    ]
    errs = ctx.temp("cuad_err")
    union = " UNION ALL ".join(
        f"SELECT row, '{col}' AS col, value, '{rule}' AS rule FROM (SELECT s.rowid - {off} + 1 AS row, "
        f"{expr} AS value, CASE WHEN {cond} THEN 1 ELSE 0 END AS _bad FROM {t} AS s) "
        "WHERE _bad = 1"
        for cond, col, expr, rule in checks)
    ctx.run(f"CREATE TEMP TABLE {errs} AS {union}")
    ctx.quarantine_sql(f"SELECT * FROM {errs}")
    sel = ", ".join(
        f"TRY_CAST(trim({q(c)}) AS {types[c]})" if types[c] != "VARCHAR" else f"trim({q(c)})"
        for c in cols)
    collist = ", ".join(q(c) for c in cols)
    ctx.run(
        f"INSERT INTO {CUADRANTE_TABLE} ({collist}, source) SELECT {sel}, 'ssp_cuadrantes' "
        f"FROM (SELECT rowid - {off} + 1 AS _row, * FROM {t}) WHERE _row NOT IN (SELECT row FROM {errs})")
    bad = ctx.con.execute(f"SELECT count(DISTINCT row) FROM {errs}").fetchall()[0][0]
    return Outcome(kind="crime_cuadrante", table=CUADRANTE_TABLE, rows_read=n,
                   accepted=n - bad, quarantined=bad, notes=list(info.notes))
