"""Plain catalogue tables of a city: blocks, census margins, the programme's cohorts, and the
volunteer-link registry.

Recognised by their header (kind in parentheses):

- ``block_id, territory_id[, population][, lon, lat]`` -> ``blocks`` (the point of a block, in
  degrees, lets areal interpolation weigh by population); also sets
  ``territories.blocks_total``;
- ``territory_id, sex, age_group, population`` -> ``census_margins`` (``census``);
- ``territory_id, priority, cohort, joined_on`` -> updates ``territories`` (``programme``);
  cohort ids must be declared in ``city.yml``;
- ``link_code, territory, area, ...`` -> ``links`` (``links``): names, phones and addresses are
  dropped and the link code is pseudonymised with the workspace key.

Every row is stored or quarantined with its rule (unknown territory, bad number, bad date,
unknown cohort, duplicate id). Re-ingesting replaces the rows of the same ids.

Examples
--------
>>> table_kind(["block_id", "territory_id", "population"])
'blocks'
>>> table_kind(["link_code", "territory", "area", "name"])
'links'
>>> table_kind(["x"]) is None
True
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from territoria import vocabulary
from territoria.exceptions import IngestError
from territoria.ingest.base import FileContext, Outcome
from territoria.ingest.privacy import pseudonymise
from territoria.ingest.sniff import compression_of, sniff_text
from territoria.secret import mark_pseudonymised

SEXES = set(vocabulary.codes("sex"))
AGE_GROUPS = set(vocabulary.codes("age_group"))
LINK_PERSONAL = ("name", "phone", "address", "email", "curp")

_SIGNATURES = (
    ("links", {"link_code", "territory", "area"}),
    ("blocks", {"block_id", "territory_id"}),
    ("census", {"territory_id", "sex", "age_group", "population"}),
    ("programme", {"territory_id", "priority", "cohort", "joined_on"}),
)


def table_kind(columns) -> str | None:
    """Which catalogue table a header describes (None if none)."""
    cols = {str(c).strip().lower() for c in columns}
    for kind, need in _SIGNATURES:
        if need <= cols:
            return kind
    return None


def _check_field_counts(ctx: FileContext, info) -> None:
    """Refuse a record with more fields than the header (pandas would shift it silently)."""
    from territoria.ingest.sniff import _open_bytes

    with _open_bytes(ctx.path) as fh:
        text = io.TextIOWrapper(fh, encoding=info.encoding, newline="")
        reader = csv.reader(text, delimiter=info.sep, quotechar='"', doublequote=True)
        width = None
        try:
            for i, rec in enumerate(reader):
                if width is None:
                    width = len(rec)
                elif len(rec) > width and any(x.strip() for x in rec[width:]):
                    raise IngestError(f"row has {len(rec)} fields, the header {width}",
                                      file=ctx.name, row=i, rule="malformed_csv")
        except csv.Error as e:
            rule = "field_too_large" if "field larger" in str(e) else "malformed_csv"
            raise IngestError(f"cannot parse ({e})", file=ctx.name, row=reader.line_num - 1,
                              rule=rule) from None


def _read(ctx: FileContext) -> pd.DataFrame:
    info = sniff_text(ctx.path, name=ctx.name)
    _check_field_counts(ctx, info)
    try:
        df = pd.read_csv(ctx.path, sep=info.sep, dtype=str, keep_default_na=False,
                         encoding=info.encoding, compression=compression_of(ctx.path))
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise IngestError(f"cannot parse ({str(e).splitlines()[0]})", file=ctx.name,
                          rule="parse_error") from None
    df.columns = [c.strip().lower() for c in df.columns]
    need = dict(_SIGNATURES).get(getattr(ctx, "_table_kind", None), set())
    missing = sorted(need - set(df.columns))
    if missing:  # a file forced to the wrong kind, or a column renamed
        raise IngestError(f"missing column(s) {', '.join(missing)}", file=ctx.name, row=0,
                          column=missing[0], rule="missing_columns")
    df["_row"] = range(1, len(df) + 1)
    return df


def _known_territories(ctx: FileContext) -> set[str]:
    return {r[0] for r in ctx.run("SELECT territory_id FROM territories")}


def _bad(df, mask, column, rule) -> pd.DataFrame:
    sub = df.loc[mask]
    return pd.DataFrame({"row": sub["_row"], "column": column, "value": sub[column] if column in
                         sub else None, "rule": rule})


def _split(ctx, df, problems) -> tuple[pd.DataFrame, int]:
    bad = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(
        columns=["row", "column", "value", "rule"])
    ctx.quarantine_frame(bad)
    bad_rows = set(bad["row"])
    return df[~df["_row"].isin(bad_rows)], len(bad_rows)


def _territory_check(ctx, df, col) -> list:
    known = _known_territories(ctx)
    if not known:
        raise IngestError("no territories in the store yet; ingest the territory catalogue first",
                          file=ctx.name, column=col, rule="catalogue_first")
    return [_bad(df, ~df[col].isin(known), col, "unknown_territory")]


def ingest_blocks(ctx: FileContext) -> Outcome:
    df = _read(ctx)
    probs = _territory_check(ctx, df, "territory_id")
    if "population" in df:
        pop = pd.to_numeric(df["population"].replace("", None), errors="coerce")
        probs.append(_bad(df, df["population"].ne("") & (pop.isna() | (pop < 0)), "population",
                          "non_negative_number"))
        probs.append(_bad(df, pop.notna() & (pop >= 0) & (pop % 1 != 0), "population",
                          "integer"))  # a count of people: 1.5 is refused, never rounded
    probs.append(_bad(df, df["block_id"].eq("") | df["block_id"].duplicated(), "block_id",
                      "required_unique"))
    coords = [c for c in ("lon", "lat") if c in df]
    for c, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
        if c in df:  # optional point of the block: population weights for areal interpolation
            v = pd.to_numeric(df[c].replace("", None), errors="coerce")
            probs.append(_bad(df, df[c].ne("") & (v.isna() | (v < lo) | (v > hi)), c,
                              f"number between {lo} and {hi}"))
    ok, nbad = _split(ctx, df, probs)
    pop = (pd.to_numeric(ok["population"].replace("", None), errors="coerce")
           if "population" in ok else pd.Series(None, index=ok.index, dtype="float64"))
    out = pd.DataFrame({"block_id": ok["block_id"], "territory_id": ok["territory_id"],
                        "population": pop.round().astype("Int64")})
    schema = {"block_id": "VARCHAR", "territory_id": "VARCHAR", "population": "INTEGER"}
    if len(coords) == 2:
        for c in coords:
            out[c] = pd.to_numeric(ok[c].replace("", None), errors="coerce")
            schema[c] = "DOUBLE"
    ctx.store.ensure_table("blocks", schema)
    if len(out):
        ids = ctx.temp("blk")
        ctx.con.register(ids + "_v", out)
        cols = ", ".join(out.columns)
        ctx.run(f"DELETE FROM blocks WHERE block_id IN (SELECT block_id FROM {ids}_v)")
        ctx.run(f"INSERT INTO blocks ({cols}) SELECT {cols} FROM {ids}_v")
        ctx.con.unregister(ids + "_v")
    ctx.run("UPDATE territories SET blocks_total = b.n FROM (SELECT territory_id, count(*) AS n "
            "FROM blocks GROUP BY 1) b WHERE territories.territory_id = b.territory_id")
    return Outcome("blocks", "blocks", len(df), len(out), nbad)


def ingest_census(ctx: FileContext) -> Outcome:
    df = _read(ctx)
    probs = _territory_check(ctx, df, "territory_id")
    pop = pd.to_numeric(df["population"], errors="coerce")
    probs += [_bad(df, ~df["sex"].isin(SEXES), "sex", "choice:" + "|".join(sorted(SEXES))),
              _bad(df, ~df["age_group"].isin(AGE_GROUPS), "age_group",
                   "choice:" + "|".join(sorted(AGE_GROUPS))),
              _bad(df, pop.isna() | (pop < 0), "population", "non_negative_number"),
              _bad(df, df.duplicated(["territory_id", "sex", "age_group"]), "territory_id",
                   "duplicate_cell")]
    ok, nbad = _split(ctx, df, probs)
    out = pd.DataFrame({"territory_id": ok["territory_id"], "sex": ok["sex"],
                        "age_group": ok["age_group"],
                        "population": pd.to_numeric(ok["population"]).astype(float)})
    if len(out):
        ctx.con.register("_census_v", out)
        ctx.run("DELETE FROM census_margins WHERE territory_id IN "
                "(SELECT DISTINCT territory_id FROM _census_v)")
        ctx.run("INSERT INTO census_margins SELECT territory_id, sex, age_group, population "
                "FROM _census_v")
        ctx.con.unregister("_census_v")
    return Outcome("census", "census_margins", len(df), len(out), nbad)


def ingest_programme(ctx: FileContext) -> Outcome:
    df = _read(ctx)
    probs = _territory_check(ctx, df, "territory_id")
    truthy = {"true": True, "1": True, "yes": True, "si": True, "sí": True,
              "false": False, "0": False, "no": False, "": False}
    pri = df["priority"].str.strip().str.lower().map(truthy)
    probs.append(_bad(df, pri.isna(), "priority", "boolean"))
    cohorts = set()
    if ctx.ws is not None and ctx.ws.exists():
        cohorts = {c.id for c in ctx.ws.config().cohorts}
    has_cohort = df["cohort"].str.strip().ne("")
    if cohorts:
        probs.append(_bad(df, has_cohort & ~df["cohort"].isin(cohorts), "cohort",
                          "cohort_in_city_yml:" + "|".join(sorted(cohorts))))
    date = pd.to_datetime(df["joined_on"].replace("", None), errors="coerce", format="%Y-%m-%d")
    probs.append(_bad(df, df["joined_on"].ne("") & date.isna(), "joined_on", "date:YYYY-MM-DD"))
    probs.append(_bad(df, has_cohort & df["joined_on"].eq(""), "joined_on", "required_with_cohort"))
    probs.append(_bad(df, df["territory_id"].duplicated(), "territory_id", "duplicate_id"))
    ok, nbad = _split(ctx, df, probs)
    out = pd.DataFrame({"territory_id": ok["territory_id"],
                        "priority": ok["priority"].str.strip().str.lower().map(truthy).astype(bool),
                        "cohort": ok["cohort"].where(ok["cohort"].str.strip().ne(""), None),
                        "joined_on": pd.to_datetime(ok["joined_on"].replace("", None),
                                                    format="%Y-%m-%d").dt.date})
    if len(out):
        ctx.con.register("_prog_v", out)
        ctx.run("UPDATE territories SET priority = p.priority, cohort = p.cohort, "
                "joined_on = p.joined_on FROM _prog_v p "
                "WHERE territories.territory_id = p.territory_id")
        ctx.con.unregister("_prog_v")
    return Outcome("programme", "territories", len(df), len(out), nbad)


def _future_limit(ctx: FileContext) -> pd.Timestamp:
    """Latest acceptable date: today plus ``city.yml: future_tolerance_days``."""
    days = 1
    if ctx.ws is not None and ctx.ws.exists():
        days = ctx.ws.config().future_tolerance_days
    return pd.Timestamp.now().normalize() + pd.Timedelta(days=days)


def ingest_links(ctx: FileContext) -> Outcome:
    df = _read(ctx)
    probs = _territory_check(ctx, df, "territory")
    # the city's link areas (city.yml); a city that declares none accepts any area code
    areas = set(vocabulary.codes("link_area", ctx.ws.config() if ctx.ws is not None else None))
    if areas:
        probs.append(_bad(df, ~df["area"].isin(areas), "area", "choice:" + "|".join(sorted(areas))))
    else:
        probs.append(_bad(df, df["area"].eq(""), "area", "required"))
    for col, allowed in (("sex", SEXES), ("age_group", AGE_GROUPS)):
        if col in df:
            probs.append(_bad(df, df[col].ne("") & ~df[col].isin(allowed), col,
                              "choice:" + "|".join(sorted(allowed))))
    probs.append(_bad(df, df["link_code"].eq("") | df["link_code"].duplicated(), "link_code",
                      "required_unique"))
    if "joined_on" in df:  # an impossible or future date is quarantined, never stored as NULL
        when = pd.to_datetime(df["joined_on"].replace("", None), errors="coerce",
                              format="%Y-%m-%d")
        probs.append(_bad(df, df["joined_on"].ne("") & when.isna(), "joined_on",
                          "date:YYYY-MM-DD"))
        probs.append(_bad(df, when > _future_limit(ctx), "joined_on", "future_date"))
    key = ctx.secret()
    mark_pseudonymised(ctx.store, key)
    for pr in probs:  # quarantine keeps pseudonymised codes only, never the raw ones
        codes = pr["column"].eq("link_code")
        pr.loc[codes, "value"] = pr.loc[codes, "value"].map(lambda v: pseudonymise(v, key))
    ok, nbad = _split(ctx, df, probs)
    out = pd.DataFrame({
        "link_code": [pseudonymise(v, key) for v in ok["link_code"]],
        "territory_id": ok["territory"], "area": ok["area"],
        "sex": ok.get("sex"), "age_group": ok.get("age_group"),
        "joined_on": pd.to_datetime(ok.get("joined_on", pd.Series(dtype=str)).replace("", None),
                                    errors="coerce").dt.date if "joined_on" in ok else None})
    ctx.store.ensure_table("links", {"link_code": "VARCHAR", "territory_id": "VARCHAR",
                                     "area": "VARCHAR", "sex": "VARCHAR", "age_group": "VARCHAR",
                                     "joined_on": "DATE"})
    if len(out):
        ctx.con.register("_links_v", out)
        ctx.run("DELETE FROM links WHERE link_code IN (SELECT link_code FROM _links_v)")
        ctx.run("INSERT INTO links SELECT link_code, territory_id, area, sex, age_group, "
                "joined_on FROM _links_v")
        ctx.con.unregister("_links_v")
    dropped = [c for c in LINK_PERSONAL if c in df.columns]
    notes = [f"personal columns dropped: {', '.join(dropped)}"] if dropped else []
    return Outcome("links", "links", len(df), len(out), nbad, notes=notes)


def _reader(kind, func):
    def read(ctx: FileContext) -> Outcome:
        ctx._table_kind = kind  # the columns _read requires
        return func(ctx)
    read.__doc__ = func.__doc__
    return read


READERS = {k: _reader(k, f) for k, f in (("blocks", ingest_blocks), ("census", ingest_census),
                                         ("programme", ingest_programme),
                                         ("links", ingest_links))}
