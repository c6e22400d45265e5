"""Benchmark: generate the sample city and write its workspace.

Times :func:`territoria.sample.generate` (tables in memory) and
:func:`territoria.sample.build_sample` (the whole workspace: catalogue, crime, links, survey
exports, truth) at each requested scale, in a fresh temporary folder. Prints one line per run
for people and, last, one JSON line on stdout with every number (wall and CPU seconds, the
``generate``/``write`` split reported by ``build_sample``, the bytes written, and the peak
resident memory of the process from ``resource.getrusage``; peak RSS only grows, so each
value is the peak so far).

Target (issue): sample generation under 60 s at scale 1 on 2 cores; the survey writers of
:mod:`territoria.instruments.exports` alone used to take about 57 s of it (cell-by-cell
formatting and openpyxl), now about 2.5 s of CPU, with byte-identical files.

Usage::

    python benchmarks/bench_sample.py [--scale 1 [--scale 2 ...]] [--seed 20181224] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from territoria.sample import build_sample, generate


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / (1024 if sys.platform != "darwin" else 1024 * 1024), 1)


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def timed(fn, *args, **kwargs):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - w0, 2), round(time.process_time() - c0, 2)


def run(scale: int, seed: int, keep: Path | None) -> dict:
    _, gen_wall, gen_cpu = timed(generate, seed=seed, scale=scale)
    rss_generate = peak_rss_mb()
    root = Path(tempfile.mkdtemp(prefix=f"territoria-bench-sample-{scale}-"))
    target = root / "workspace"
    try:
        phases: dict = {}
        _, build_wall, build_cpu = timed(build_sample, target, seed=seed, scale=scale,
                                         timings=phases)
        size = folder_bytes(target)
        if keep is not None:
            dest = keep / f"scale{scale}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(target, dest)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "scale": scale,
        "generate_s": gen_wall, "generate_cpu_s": gen_cpu,
        "build_sample_s": build_wall, "build_sample_cpu_s": build_cpu,
        "build_generate_s": round(phases.get("generate", float("nan")), 2),
        "build_write_s": round(phases.get("write", float("nan")), 2),
        "bytes_written": size,
        "peak_rss_mb_after_generate": rss_generate,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, action="append",
                    help="scale to run (repeatable; default 1)")
    ap.add_argument("--seed", type=int, default=20181224)
    ap.add_argument("--keep", type=Path, help="copy each workspace to DIR/scale<N>")
    args = ap.parse_args(argv)
    scales = args.scale or [1]
    if any(s < 1 for s in scales):
        ap.error("--scale must be a whole number >= 1")
    results = []
    for scale in scales:
        r = run(scale, args.seed, args.keep)
        results.append(r)
        print(f"scale {scale}: generate {r['generate_s']} s, build_sample {r['build_sample_s']} s "
              f"(generate {r['build_generate_s']} s + write {r['build_write_s']} s), "
              f"{r['bytes_written'] / 1e6:.1f} MB, peak RSS {r['peak_rss_mb']} MiB",
              file=sys.stderr)
    print(json.dumps({"benchmark": "sample", "seed": args.seed, "runs": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
