"""Run and publish a big workspace (``territoria demo --scale 10``) and measure what scales.

Usage::

    python benchmarks/bench_scale.py --workspace /work/scale10 [--scheduler local:2]
        [--engine inproc] [--steps 00,01] [--territory ID ...] [--publish-workers N] [--no-run] [--no-publish]

The workspace must have been sampled and ingested (``territoria demo WS --scale 10 --stages
sample,ingest``). Runs every step with :func:`territoria.pipeline.runner.run` on the given
scheduler (a Dask ``LocalCluster`` of 2 workers by default) while a thread samples the memory of
the whole process tree every 0.5 s (the sum of the resident set size of this process and all its
descendants: Dask nannies and workers, fork servers, notebook processes; pages shared after a
fork are counted once per process, so this is an upper bound; every 5 s the proportional set
size is summed too, which counts shared pages once). Then publishes the site.

Prints the run time, notebooks ok / failed / no-data, seconds per executed notebook (run wall
time divided by notebooks executed), the peak memory, the publish time, and the sizes of the
store and of the site; the last line is JSON. A line of progress (elapsed time, notebooks
written, memory now) goes to stderr every ``--every`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import psutil


class TreeMemory:
    """Sample the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int | None = None, interval: float = 0.5, pss_every: int = 10):
        self.proc = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.pss_every = pss_every  # every n-th sample also sums PSS (reads smaps: slower)
        self.peak_pss = 0
        self.peak = 0
        self.peak_processes = 0
        self.now = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> int:
        """Summed RSS (bytes) of the process tree now."""
        procs = [self.proc]
        try:
            procs += self.proc.children(recursive=True)
        except psutil.Error:
            pass
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:  # ended between listing and reading
                continue
        if self.pss_every and self.samples % self.pss_every == 0:
            self.peak_pss = max(self.peak_pss, self._pss(procs))
        self.now = total
        self.samples += 1
        if total > self.peak:
            self.peak, self.peak_processes = total, len(procs)
        return total

    @staticmethod
    def _pss(procs) -> int:
        """Summed proportional set size: pages shared after a fork counted once in all."""
        total = 0
        for p in procs:
            try:
                total += p.memory_full_info().pss
            except (psutil.Error, AttributeError):
                continue
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def folder_bytes(path: Path) -> int:
    """Total size of the files under ``path`` (0 if it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def count_files(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _progress(mem: TreeMemory, out_dir: Path, t0: float, every: float, stop: threading.Event,
              label: str) -> None:
    """Every ``every`` s: elapsed, executed notebooks written since t0, memory now and peak."""
    wall0 = time.time()
    while not stop.wait(every):
        n = 0
        if out_dir.exists():
            for p in out_dir.rglob("*.ipynb"):
                try:
                    n += p.stat().st_mtime >= wall0
                except OSError:
                    continue
        print(f"[{label} {time.perf_counter() - t0:7.0f} s] notebooks written {n}, "
              f"memory {mem.now / 2**30:.2f} GiB (peak {mem.peak / 2**30:.2f}), "
              f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)


def _mib(n: int) -> float:
    return round(n / 2**20, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--scheduler", default="local:2",
                    help="local:N, a scheduler address, or 'pool' for the local pool")
    ap.add_argument("--workers", type=int, default=2, help="local pool size (--scheduler pool)")
    ap.add_argument("--engine", default="auto", choices=["auto", "inproc", "fork", "plain"],
                    help="how each worker runs notebooks (territoria run --engine)")
    ap.add_argument("--steps", default=None)
    ap.add_argument("--territory", action="append", default=None)
    ap.add_argument("--force", action="store_true", help="rerun notebooks that are up to date")
    ap.add_argument("--publish-workers", type=int, default=None,
                    help="processes rendering territory pages (if this version of the kit "
                         "has parallel publish)")
    ap.add_argument("--no-run", action="store_true")
    ap.add_argument("--no-publish", action="store_true")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between progress lines")
    a = ap.parse_args()

    from territoria.config import Workspace
    from territoria.pipeline.runner import run
    from territoria.report.site import publish
    from territoria.store import Store

    ws = Workspace(a.workspace)
    ws.require()
    out: dict = {"workspace": str(ws.root), "scheduler": a.scheduler, "cpus": os.cpu_count(),
                 "python": platform.python_version(), "load_before": round(os.getloadavg()[0], 2)}
    with Store(ws.store_path, read_only=True) as s:
        terr = s.table("territories")
        out["territories"] = int(len(terr))
        out["programme_territories"] = int(terr["priority"].fillna(False).astype(bool).sum())

    if not a.no_run:
        stop = threading.Event()
        with TreeMemory() as mem:
            t0 = time.perf_counter()
            ticker = threading.Thread(target=_progress, daemon=True,
                                      args=(mem, ws.output_dir, t0, a.every, stop, "run"))
            ticker.start()
            kw = {"scheduler": None if a.scheduler == "pool" else a.scheduler}
            summary = run(ws, territories=a.territory, steps=a.steps, workers=a.workers,
                          force=a.force, progress=False, engine=a.engine, **kw)
            run_s = time.perf_counter() - t0
            stop.set()
        executed = [r for r in summary.results if r.status != "skipped"]
        by_status: dict[str, int] = {}
        for r in summary.results:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        by_step: dict[str, dict] = {}
        for r in executed:
            d = by_step.setdefault(r.step, {"n": 0, "seconds": 0.0})
            d["n"] += 1
            d["seconds"] += float(r.seconds)
        print(summary.format())
        out.update({
            "engine": summary.engine, "run_workers": summary.workers, "run_s": round(run_s, 1),
            "notebooks": len(summary.results), "executed": len(executed),
            "status": by_status,
            "s_per_notebook": round(run_s / len(executed), 3) if executed else None,
            "notebook_mean_s_by_step": {k: round(v["seconds"] / v["n"], 2)
                                        for k, v in sorted(by_step.items())},
            "run_peak_rss_mib": _mib(mem.peak), "run_peak_processes": mem.peak_processes,
            "run_peak_pss_mib": _mib(mem.peak_pss),
            "memory_samples": mem.samples,
        })
        print(f"run: {run_s:.1f} s, {len(executed)} notebooks executed "
              f"({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))}), "
              f"{out['s_per_notebook']} s per notebook, peak memory "
              f"{mem.peak / 2**30:.2f} GiB RSS summed over {mem.peak_processes} processes, "
              f"{mem.peak_pss / 2**30:.2f} GiB PSS", flush=True)

    if not a.no_publish:
        kw = {}
        if a.publish_workers is not None:
            kw["workers"] = a.publish_workers
        with TreeMemory() as mem:
            t0 = time.perf_counter()
            errors: list = []
            site = publish(ws, errors=errors, **kw)
            pub_s = time.perf_counter() - t0
        site_dir = Path(site).parent
        out.update({"publish_s": round(pub_s, 1), "publish_workers": a.publish_workers,
                    "publish_peak_rss_mib": _mib(mem.peak),
                    "publish_peak_pss_mib": _mib(mem.peak_pss), "pages_not_written": len(errors),
                    "site_mib": _mib(folder_bytes(site_dir)),
                    "site_files": count_files(site_dir)})
        print(f"publish: {pub_s:.1f} s, site {out['site_mib']} MiB in {out['site_files']} "
              f"files, peak memory {mem.peak / 2**30:.2f} GiB", flush=True)

    out["store_mib"] = _mib(folder_bytes(ws.store_path))
    out["output_mib"] = _mib(folder_bytes(ws.output_dir))
    out["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
