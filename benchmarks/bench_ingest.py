"""Benchmark: ingest 1,000,000 diagnostic-survey rows from a Kobo CSV export.

The CSV is generated column by column with numpy (valid answers drawn from the form's own
choice lists, 0.1 % of rows made invalid) and written by DuckDB with every field quoted, ``;``
separator and CRLF, like KoboToolbox. Then :func:`territoria.ingest.ingest_files` reads,
validates, pseudonymises and stores it. Reports wall seconds and peak RSS (target: < 60 s and
< 2 GB on 2 cores).

Usage::

    python benchmarks/bench_ingest.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from territoria.config import init_workspace
from territoria.ingest import ingest_files
from territoria.instruments.exports import KOBO_META, kobo_headers
from territoria.instruments.xlsform import default_surveys_dir, load_instrument
from territoria.store import Store


def make_csv(path: Path, n: int, territories: list[str], seed: int = 7) -> int:
    inst = load_instrument(default_surveys_dir() / "diagnostic.xlsx")
    rng = np.random.default_rng(seed)
    heads = kobo_headers(inst, multiple_select="summary")
    cols: dict[str, np.ndarray] = {}
    idx = np.arange(n)
    for h in heads:
        name = h.split("/")[-1]
        f = inst.field(name)
        allowed = sorted(inst.allowed_values(f) or [])
        if name == "consent":
            v = np.full(n, "yes", dtype=object)
        elif name == "zone":
            v = np.full(n, "DT01", dtype=object)
        elif name == "territory":
            v = np.asarray(territories, dtype=object)[rng.integers(0, len(territories), n)]
        elif name == "block":
            v = cols["location/territory"] + "-0001"
        elif f.type == "select_one":
            v = np.asarray(allowed, dtype=object)[rng.integers(0, len(allowed), n)]
        elif f.type == "select_multiple":
            a = np.asarray(allowed, dtype=object)
            i, j = rng.integers(0, len(a), n), rng.integers(0, len(a), n)
            v = np.where(i == j, a[i], a[np.minimum(i, j)] + " " + a[np.maximum(i, j)])
        elif f.type == "integer":
            v = rng.integers(0, 11, n).astype(str).astype(object)
        elif f.type in ("start", "end"):
            secs = rng.integers(0, 86400 * 90, n)
            ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(secs, unit="s")
            v = ts.strftime("%Y-%m-%dT%H:%M:%S.000-06:00").to_numpy(dtype=object)
        elif name == "phone":
            v = pd.Series(rng.integers(10**9, 10**10 - 1, n)).astype(str).to_numpy(dtype=object)
        elif name == "respondent_name":
            v = ("Persona " + pd.Series(idx).astype(str)).to_numpy(dtype=object)
        elif name == "address":
            v = ("Calle " + pd.Series(idx % 5000).astype(str)).to_numpy(dtype=object)
        elif name == "comments":
            v = np.where(idx % 20 == 0, "Falta alumbrado en la calle", "")
        else:
            v = np.full(n, "", dtype=object)
        cols[h] = v
    bad = rng.choice(n, n // 1000, replace=False)
    cols["wellbeing/life_satisfaction"][bad] = "11"
    cols["_id"] = (idx + 1).astype(str).astype(object)
    cols["_uuid"] = pd.Series(idx).map(lambda i: f"{i:08x}-0000-4000-8000-000000000000").to_numpy()
    cols["_submission_time"] = np.full(n, "2026-04-01T12:00:00", dtype=object)
    cols["_status"] = np.full(n, "submitted_via_web", dtype=object)
    cols["__version__"] = np.full(n, inst.version, dtype=object)
    cols["_index"] = (idx + 1).astype(str).astype(object)
    for m in KOBO_META:
        cols.setdefault(m, np.full(n, "", dtype=object))
    df = pd.DataFrame({h: cols[h] for h in heads + list(KOBO_META)})
    con = duckdb.connect()
    con.register("bench_df", df)
    con.execute(f"COPY bench_df TO '{path}' (FORMAT csv, DELIMITER ';', QUOTE '\"', "
                "FORCE_QUOTE *, HEADER true)")
    con.close()
    # DuckDB writes LF; Kobo writes CRLF. Rewrite line ends in chunks (streamed).
    tmp = path.with_suffix(".crlf")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 24), b""):
            dst.write(chunk.replace(b"\n", b"\r\n"))
    tmp.replace(path)
    return len(bad)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    try:
        ws = init_workspace(root / "ws", "Iztapalapa")
        terr = [f"07-{i:03d}" for i in range(1, 294)]
        with Store(ws.store_path) as s, s.transaction():
            s.append("zones", pd.DataFrame({"zone_id": ["DT01"], "name": ["Aculco"]}))
            s.append("territories", pd.DataFrame({"territory_id": terr, "name": terr,
                                                  "zone_id": "DT01"}))
        csv = root / "diagnostic_-_all_versions_-_False_-_2026-04-01-12-00-00.csv"
        t0 = time.perf_counter()
        # generate in a child process so that the peak RSS below is the ingest's own
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            n_bad = pool.submit(make_csv, csv, args.rows, terr).result()
        t_gen = time.perf_counter() - t0
        size = csv.stat().st_size
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        (rep,) = ingest_files(ws, [csv])
        t_ing = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"generated {args.rows:,} rows ({size / 2**20:.0f} MiB) in {t_gen:.1f} s "
              f"(RSS before ingest {rss0 / 1024:.0f} MiB)")
        print(rep.as_line("en"))
        print(f"ingest: {t_ing:.1f} s, {args.rows / t_ing:,.0f} rows/s; "
              f"peak RSS of the process {rss / 1024:.0f} MiB")
        if rep.quarantined != n_bad or rep.accepted != args.rows - n_bad:
            raise SystemExit(f"unexpected counts: {rep}")
        if args.keep:
            shutil.copytree(root, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
