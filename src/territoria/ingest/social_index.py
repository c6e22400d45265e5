"""Social-development index tables (EVALÚA IDS-CDMX) -> ``social_index``.

Recognised layouts: ``folio_ageb`` (AGEB, 13-character CVEGEO), ``folio_mza`` (block,
16 characters), or a territory key (``CVEUT``/``territory_id``/``cve_col``). Value ``idsm``
(or ``ids``/``value``), stratum ``e_idsm`` (or ``stratum``/``estrato``), population ``pob``.
``Sin información`` rows are kept with an empty value (they are real units without data).
``territory_id`` is filled only for territory-level rows (AGEBs do not nest in colonias).
The file is usually Latin-1/CP1252; the encoding is detected.

Stored columns: ``unit_id, unit_level (ageb|block|territory), territory_id, population, value,
stratum, source`` (``source`` = ``evalua_ids:<file name>``).
"""

from __future__ import annotations

from territoria.exceptions import IngestError
from territoria.ingest.core import FileContext, Outcome
from territoria.ingest.sniff import load_text, row_offset, sniff_text
from territoria.store import quote_ident

_UNIT = (("folio_ageb", "ageb"), ("folio_mza", "block"), ("cveut", "territory"),
         ("territory_id", "territory"), ("cve_col", "territory"))
_VALUE = ("idsm", "ids", "value", "indice")
_STRATUM = ("e_idsm", "stratum", "estrato", "e_ids")
_POP = ("pob", "population", "poblacion", "pobtot")


def ingest_social_index(ctx: FileContext) -> Outcome:
    info = sniff_text(ctx.path, name=ctx.name)
    t = ctx.temp("si")
    n = load_text(ctx.con, info, t, name=ctx.name)
    cols = {r[0].strip().lower(): r[0] for r in ctx.con.execute(f"DESCRIBE {t}").fetchall()}
    unit = next(((cols[c], lvl) for c, lvl in _UNIT if c in cols), None)
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
    source = f"evalua_ids:{ctx.name}"
    territory = u if level == "territory" else "NULL"
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
    return Outcome(kind="social_index", table="social_index", rows_read=n, accepted=n - bad,
                   quarantined=bad, notes=notes)
