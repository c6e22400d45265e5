"""Time the whole demo (`territoria demo`): sample, ingest, run, publish.

Usage::

    python benchmarks/bench_demo.py [--workspace /tmp/bench-demo] [--workers 2] [--scale 1]

Prints one JSON line with the seconds of each stage, the number of notebooks, the machine's
size and load, and the per-notebook mean of the run stage. Numbers go to
benchmarks/README.md by hand (with the date and machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

from territoria.demo import run_demo
from territoria.store import Store


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", default="/tmp/bench-demo")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--stages", default="sample,ingest,run,publish")
    a = ap.parse_args()
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    res = run_demo(a.workspace, scale=a.scale, force=True, workers=a.workers,
                   stages=a.stages.split(","), echo=lambda *_: None)
    total = time.perf_counter() - t
    n_nb = None
    mean_nb = None
    with Store(os.path.join(a.workspace, "territoria.duckdb"), read_only=True) as s:
        if s.has_table("runs"):
            runs = s.table("runs")
            n_nb = int(len(runs))
            mean_nb = float(runs["seconds"].mean()) if len(runs) else None
    print(json.dumps({
        "timings_s": {k: round(v, 1) for k, v in res["timings"].items()},
        "total_s": round(total, 1), "notebooks": n_nb,
        "mean_notebook_wall_s": None if mean_nb is None else round(mean_nb, 2),
        "workers": a.workers, "scale": a.scale, "failed": res["failed"],
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
