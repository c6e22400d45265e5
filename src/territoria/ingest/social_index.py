"""Social-development index tables (EVALÚA IDS-CDMX) -> ``social_index``.

Recognised layouts: ``folio_ageb`` (AGEB, 13-character CVEGEO), ``folio_mza`` (block,
16 characters), or a territory key (``CVEUT``/``territory_id``/``cve_col``). Value ``idsm``
(or ``ids``/``value``), stratum ``e_idsm`` (or ``stratum``/``estrato``), population ``pob``.
``Sin información`` rows are kept with an empty value (they are real units without data).
``territory_id`` is filled only for territory-level rows (AGEBs do not nest in colonias).
The file is usually Latin-1/CP1252; the encoding is detected.

Stored columns: ``unit_id, unit_level (ageb|block|territory|area), territory_id, population,
value, stratum, source``. ``source`` is ``social_index:<vintage>``, the vintage being the year in
the file name (``ids_ageb_2020.csv`` -> 2020) or ``undated``: re-ingesting a corrected file of
the same vintage **replaces** the rows of the same units (never adds beside them), and the
report says how many were new, updated and unchanged.

Territory-level rows set ``territories.social_index`` directly. Units that do not nest in
territories (AGEB, block) are brought to territories with ``--areas LAYER --areas-key KEY``
(:mod:`territoria.ingest.by_area`: weighted mean by area or population shares).

Examples
--------
>>> vintage("ids_ageb_2020_iztapalapa.csv"), vintage("indice.csv")
('2020', 'undated')
"""

from __future__ import annotations

import re

from territoria.exceptions import IngestError
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.sniff import load_text, row_offset, sniff_text
from territoria.store import quote_ident

_UNIT = (("folio_ageb", "ageb"), ("folio_mza", "block"), ("cveut", "territory"),
         ("territory_id", "territory"), ("cve_col", "territory"))
_VALUE = ("idsm", "ids", "value", "indice")
_STRATUM = ("e_idsm", "stratum", "estrato", "e_ids")
_POP = ("pob", "population", "poblacion", "pobtot")


def vintage(name: str) -> str:
    """The year a file name carries (its vintage), else ``undated``."""
    years = re.findall(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)", name)
    return years[-1] if years else "undated"


def ingest_social_index(ctx: FileContext) -> Outcome:
    info = sniff_text(ctx.path, name=ctx.name)
    t = ctx.temp("si")
    n = load_text(ctx.con, info, t, name=ctx.name)
    cols = {r[0].strip().lower(): r[0] for r in ctx.con.execute(f"DESCRIBE {t}").fetchall()}
    unit = next(((cols[c], lvl) for c, lvl in _UNIT if c in cols), None)
    if ctx.options.get("areas"):
        from territoria.ingest.by_area import split_key

        key, file_key = split_key(ctx.options.get("areas_key"))
        want = (file_key or key).strip().lower()
        if want in cols:
            unit = (cols[want], unit[1] if unit and unit[0] == cols[want] else "area")
        elif file_key:
            raise IngestError(f"the file has no column '{file_key}' (columns: "
                              f"{', '.join(list(cols.values())[:12])})", file=ctx.name,
                              column=file_key, rule="areas_key")
    valc = next((cols[c] for c in _VALUE if c in cols), None)
    if unit is None or valc is None:
        miss = "folio_ageb/folio_mza/CVEUT" if unit is None else "idsm/value"
        raise IngestError(f"missing required column {miss}", file=ctx.name, column=miss,
                          rule="missing_columns")
    ucol, level = unit
    stc = next((cols[c] for c in _STRATUM if c in cols), None)
    popc = next((cols[c] for c in _POP if c in cols), None)
    q = quote_ident
    u, v = f"trim({q(ucol)})", f"trim({q(valc)})"
    st = f"trim({q(stc)})" if stc else "NULL"
    pop = f"trim({q(popc)})" if popc else "NULL"
    no_info = f"(lower(coalesce({st}, '')) LIKE 'sin informaci%')"
    off = row_offset(ctx.con, t)
    checks = [
        (f"{u} IS NULL OR {u} = ''", ucol, u, "required"),
        (f"{v} IS NOT NULL AND TRY_CAST({v} AS DOUBLE) IS NULL", valc, v, "number"),
        (f"{v} IS NULL AND NOT {no_info}", valc, v, "required"),
        (f"{pop} IS NOT NULL AND TRY_CAST({pop} AS DOUBLE) IS NULL", popc or "pob", pop,
         "number"),
        (f"count(*) OVER (PARTITION BY {u}) > 1 AND "
         f"row_number() OVER (PARTITION BY {u} ORDER BY rowid) > 1", ucol, u, "duplicate_id"),
    ]
    base = f"SELECT rowid - {off} + 1 AS row, * FROM {t}"
    errs = ctx.temp("si_err")
    union = " UNION ALL ".join(
        f"SELECT row, '{col}' AS col, {expr} AS value, '{rule}' AS rule FROM "
        f"(SELECT rowid - {off} + 1 AS row, *, CASE WHEN {cond} THEN 1 ELSE 0 END AS _bad FROM {t}) "
        f"WHERE _bad = 1" for cond, col, expr, rule in checks)
    ctx.run(f"CREATE TEMP TABLE {errs} AS {union}")
    ctx.quarantine_sql(f"SELECT * FROM {errs}")
    source = f"social_index:{vintage(ctx.name)}"
    territory = u if level == "territory" else "NULL"
    new_rows = ctx.temp("si_new")
    ctx.run(f"CREATE TEMP TABLE {new_rows} AS SELECT {u} AS unit_id, TRY_CAST({v} AS DOUBLE) "
            f"AS value FROM ({base}) AS b WHERE row NOT IN (SELECT row FROM {errs})")
    same = (f"FROM social_index x WHERE x.source = ? AND x.unit_level = '{level}' AND "
            f"x.unit_id IN (SELECT unit_id FROM {new_rows})")
    n_same = ctx.run(f"SELECT count(*) {same}", [source])[0][0]
    n_unchanged = ctx.run(
        f"SELECT count(*) FROM social_index x JOIN {new_rows} s ON x.unit_id = s.unit_id "
        f"WHERE x.source = ? AND x.unit_level = '{level}' AND x.value IS NOT DISTINCT FROM "
        "s.value", [source])[0][0]
    ctx.run(f"DELETE {same}", [source])
    ctx.run(
        "INSERT INTO social_index (unit_id, unit_level, territory_id, population, value, "
        f"stratum, source) SELECT {u}, '{level}', {territory}, TRY_CAST({pop} AS DOUBLE), "
        f"TRY_CAST({v} AS DOUBLE), {st}, ? FROM ({base}) AS b "
        f"WHERE row NOT IN (SELECT row FROM {errs})", [source])
    bad = ctx.con.execute(f"SELECT count(DISTINCT row) FROM {errs}").fetchall()[0][0]
    notes = list(info.notes)
    n_noinfo = ctx.con.execute(f"SELECT count(*) FROM {t} WHERE {no_info}").fetchall()[0][0]
    if n_noinfo:
        notes.append(f"{n_noinfo} units 'Sin información' kept without value")
    if n_same:
        notes.append(f"{n_same} units of vintage {vintage(ctx.name)} already stored: "
                     f"{n_same - n_unchanged} updated, {n_unchanged} unchanged (replaced, "
                     "never added beside)")
    if level == "territory":
        ctx.run(f"UPDATE territories SET social_index = s.value FROM {new_rows} AS s "
                "WHERE territories.territory_id = s.unit_id AND s.value IS NOT NULL")
    elif ctx.options.get("areas"):
        from territoria.ingest.by_area import interpolate_index

        vals = ctx.con.execute(f"SELECT unit_id, value FROM {new_rows} "
                               "WHERE value IS NOT NULL").df().set_index("unit_id")["value"]
        notes += interpolate_index(ctx, vals, source)
    else:
        notes.append("units do not nest in territories: add --areas LAYER --areas-key KEY to "
                     "bring the index to territories")
    return Outcome(kind="social_index", table="social_index", rows_read=n, accepted=n - bad,
                   quarantined=bad, notes=notes)
