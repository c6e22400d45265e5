"""Compare the recorded results of two workspaces' stores: a refactoring changes no result.

Reads the ``indicators`` and ``results`` tables of two Territoria stores (read-only) and
reports every indicator cell and result table that differs. Used for issue 19's "no behaviour
change": run the same steps with the old and the new code on two copies of one workspace, then

    python benchmarks/compare_stores.py OLD_WS/store.duckdb NEW_WS/store.duckdb [--since TS]

``--since`` limits the comparison to the (step, territory) pairs the new store ran after that
timestamp (when only a few territories were rerun on a copy). Numbers are compared exactly
(floats as floats), text as text; ``computed_at`` and ``run_id`` are left out because they
change every run. The last line is JSON; the exit code is 1 when anything differs.
"""

from __future__ import annotations

import argparse
import io
import json
import sys

import duckdb
import pandas as pd

INDICATOR_COLUMNS = ["territory_id", "step", "name", "grp", "value", "ci_low", "ci_high", "n",
                     "suppressed", "unit"]
KEY = ["territory_id", "step", "name", "grp"]


def rerun_pairs(con: duckdb.DuckDBPyConnection, since: str) -> set[tuple[str, str]]:
    """(step, territory or 'city') pairs that ran ok after ``since``."""
    rows = con.execute(
        "SELECT DISTINCT step, coalesce(territory_id, 'city') FROM runs "
        "WHERE status = 'ok' AND finished_at > CAST(? AS TIMESTAMP)", [since]).fetchall()
    return {(s, t) for s, t in rows}


def _keep(frame: pd.DataFrame, pairs: set[tuple[str, str]] | None, tcol: str) -> pd.DataFrame:
    if pairs is None:
        return frame
    mask = [(s, t) in pairs for s, t in zip(frame["step"], frame[tcol], strict=True)]
    return frame[mask]


def indicators(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The indicators table without its run bookkeeping, sorted by its key."""
    df = con.execute(f"SELECT {', '.join(INDICATOR_COLUMNS)} FROM indicators").df()
    df["territory_id"] = df["territory_id"].fillna("city")
    return df.sort_values(KEY, na_position="first").reset_index(drop=True)


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The key columns as plain text, missing as empty (NA never equals NA)."""
    return frame[KEY].astype(object).fillna("").astype(str)


def differing_cells(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, int]:
    """Cells that differ per column between two frames of the same shape."""
    out = {}
    for c in a.columns:
        x, y = a[c].astype(object), b[c].astype(object)
        if pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c]):
            x, y = a[c].astype(float), b[c].astype(float)
        same = x.isna() & y.isna()
        both = x.notna() & y.notna()
        equal = (x == y) if x.dtype != object else (x.astype(str) == y.astype(str))
        same |= both & equal
        if (~same).any():
            out[str(c)] = int((~same).sum())
    return out


def result_tables(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Result tables: one row per (territory, step, key) with its JSON payload and meta."""
    return con.execute("SELECT coalesce(territory_id, 'city') AS t, step, key, payload, meta "
                       "FROM results").df()


def compare(ref: str, new: str, since: str | None = None) -> dict[str, object]:
    """Compare two stores; returns the summary printed as the last line."""
    a = duckdb.connect(ref, read_only=True)
    b = duckdb.connect(new, read_only=True)
    for path, con in ((ref, a), (new, b)):
        have = {t for (t,) in con.execute("SHOW TABLES").fetchall()}
        missing = sorted({"indicators", "results", "runs"} - have)
        if missing:
            raise SystemExit(f"error: {path}: no table {', '.join(missing)} (run the steps first)")
    pairs = rerun_pairs(b, since) if since else None
    ia = _keep(indicators(a), pairs, "territory_id").reset_index(drop=True)
    ib = _keep(indicators(b), pairs, "territory_id").reset_index(drop=True)
    summary: dict[str, object] = {"pairs": len(pairs) if pairs is not None else "all",
                                  "indicators_ref": len(ia), "indicators_new": len(ib)}
    if len(ia) == len(ib) and _keys(ia).equals(_keys(ib)):
        cells = differing_cells(ia, ib)
    else:
        cells = {"<rows>": abs(len(ia) - len(ib)) or 1}
    summary["indicator_cells_differing"] = cells
    ra = {(r.t, r.step, r.key): r for r in _keep(result_tables(a), pairs, "t").itertuples()}
    rb = {(r.t, r.step, r.key): r for r in _keep(result_tables(b), pairs, "t").itertuples()}
    differing, rows = [], 0
    for k in sorted(set(ra) & set(rb)):
        if ra[k].payload == rb[k].payload and ra[k].meta == rb[k].meta:
            try:
                rows += len(pd.read_json(io.StringIO(ra[k].payload), orient="split"))
            except ValueError:
                pass
            continue
        differing.append("/".join(map(str, k)))
    summary.update(tables_ref=len(ra), tables_new=len(rb),
                   tables_only_ref=sorted("/".join(map(str, k)) for k in set(ra) - set(rb)),
                   tables_only_new=sorted("/".join(map(str, k)) for k in set(rb) - set(ra)),
                   tables_differing=differing, rows_in_identical_tables=rows)
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ref", help="the reference store (.duckdb)")
    p.add_argument("new", help="the store to compare with it")
    p.add_argument("--since", help="only (step, territory) pairs the new store ran after this "
                                   "timestamp, e.g. '2026-12-05 08:00'")
    args = p.parse_args(argv)
    s = compare(args.ref, args.new, args.since)
    same = not (s["indicator_cells_differing"] or s["tables_differing"]
                or s["tables_only_ref"] or s["tables_only_new"])
    for k, v in s.items():
        print(f"{k}: {v}")
    print(json.dumps({"identical": same, **s}))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
