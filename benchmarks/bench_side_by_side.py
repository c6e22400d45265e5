"""Side by side: plain papermill, + nbconvert HTML, ``territoria run``, and the in-process floor.

The same notebooks (steps 01-05 for the first N programme territories of a workspace whose
steps already ran once) are executed by five variants, 2 at a time:

1. ``papermill``: the ``papermill`` command, a fresh kernel per notebook, 2 at a time;
2. ``html``: ``jupyter nbconvert --to html --no-input`` of each notebook variant 1 wrote,
   2 at a time (the plain way to get the pages: plain+HTML = 1 + 2);
3. ``kit``: ``territoria run --workers 2 --force`` on those territories and steps (notebook and
   HTML page each, results loaded into the store), as a user runs it: the warm server that
   imported the libraries is the user's shared one (``--keep-warm``), so only the first
   round starts it;
4. ``kit-cold``: the same with ``--keep-warm 0``: every run starts its own server and waits
   for its imports (what a first run, or a run after an idle pause, costs);
5. ``floor``: the same code cells ``exec``'d in 2 plain Python processes, with the same
   parameters and working folder, no kernel, no output notebook, nothing shown.

Variants alternate inside each round (the order rotates from round to round; 2 always follows
1, whose notebooks it converts), so a slower or busier stretch of a shared machine hits all of
them. Each variant's wall time is printed per round, then the median and best of the rounds,
and the ratios within each round (median): plain+HTML / kit, kit / floor and kit-cold / floor.
The last line is JSON.

The workspace is copied to a scratch folder first (the original is not modified); its store
must already hold step 00's results (run ``territoria run`` once).

Usage::

    python benchmarks/bench_side_by_side.py --workspace /work/demo-ws --territories 10 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STEPS = ("01_network", "02_diagnostic", "03_agenda", "04_followup", "05_process")
VARIANTS = ("papermill", "html", "kit", "kit-cold", "floor")
BIN = Path(sys.executable).parent


def _notebooks_dir() -> Path:
    from territoria.pipeline.steps import default_notebooks_dir

    return default_notebooks_dir()


def _territories(ws: Path, n: int) -> list[str]:
    from territoria.store import Store

    with Store(ws / "territoria.duckdb", read_only=True) as s:
        df = s.query("SELECT territory_id FROM territories WHERE coalesce(priority, false) "
                     "ORDER BY territory_id")
    return [str(t) for t in df["territory_id"]][:n]


def _params(ws: Path) -> dict:
    from territoria.config import Workspace

    cfg = Workspace(ws).config()
    iso = (lambda d: d.isoformat() if d is not None else None)  # noqa: E731
    return {"workspace": str(ws), "language": cfg.default_language,
            "period_start": iso(cfg.period_start), "period_end": iso(cfg.period_end)}


def _two_at_a_time(commands: list[list[str]], cwd: Path) -> tuple[float, int]:
    """Run commands 2 at a time; (wall seconds, number that failed)."""
    def one(cmd):
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode != 0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        failed = sum(pool.map(one, commands))
    return time.perf_counter() - t0, failed


def run_papermill(ws: Path, work: list[tuple[str, str]], out: Path, params: dict):
    cmds = []
    for step, tid in work:
        dst = out / step / f"{tid}.ipynb"
        dst.parent.mkdir(parents=True, exist_ok=True)
        yaml_params = json.dumps({**params, "territory": tid})  # JSON is YAML
        cmds.append([str(BIN / "papermill"), str(_notebooks_dir() / f"{step}.ipynb"),
                     str(dst), "-y", yaml_params, "--cwd", str(ws), "--no-progress-bar",
                     "-k", "python3"])
    return _two_at_a_time(cmds, ws)


def run_html(ws: Path, work: list[tuple[str, str]], out: Path):
    cmds = [[str(BIN / "jupyter-nbconvert"), "--to", "html", "--no-input", "--log-level",
             "ERROR", str(out / step / f"{tid}.ipynb")] for step, tid in work]
    return _two_at_a_time(cmds, ws)


def run_kit(ws: Path, tids: list[str], engine: str = "auto", keep_warm: float = 600.0):
    """``territoria run`` as a user runs it; ``keep_warm`` 0: without the shared warm server
    (each run starts its own and pays the libraries' imports)."""
    cmd = [str(BIN / "territoria"), "run", "-w", str(ws), "--steps",
           ",".join(s.split("_")[0] for s in STEPS), "--workers", "2", "--force", "-q",
           "--engine", engine, "--keep-warm", str(keep_warm)]
    for t in tids:
        cmd += ["--territory", t]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seconds = time.perf_counter() - t0
    m = re.search(r"(\d+) (failed|con error)", r.stdout)
    return seconds, int(m.group(1)) if m else int(r.returncode != 0)


def _floor_one(args) -> bool:
    """Exec one notebook's code cells in this process (a fresh namespace); True if it failed."""
    path, params, cwd = args
    import contextlib
    import io

    import nbformat

    nb = nbformat.read(path, as_version=4)
    ns: dict = {"__name__": "__main__"}
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                exec(compile(cell.source, path, "exec"), ns)  # noqa: S102
                if "parameters" in cell.metadata.get("tags", []):
                    ns.update(params)  # papermill's injected cell comes right after
    except Exception:
        return True
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    return False


def run_floor(ws: Path, work: list[tuple[str, str]], params: dict):
    jobs = [(str(_notebooks_dir() / f"{step}.ipynb"), {**params, "territory": tid}, str(ws))
            for step, tid in work]
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")  # 2 plain Python processes, imports paid in each
    with ctx.Pool(2) as pool:
        failed = sum(pool.imap_unordered(_floor_one, jobs, chunksize=1))
    return time.perf_counter() - t0, failed


def scratch_copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("site", "output", "truth"))
    (dest / "output").mkdir(exist_ok=True)
    return dest


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True, type=Path,
                    help="a workspace whose steps ran once (copied, not modified)")
    ap.add_argument("--territories", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--engine", default="auto", choices=["auto", "fork", "inproc", "plain"],
                    help="engine of the kit variant (default: territoria run's default)")
    ap.add_argument("--also", nargs="*", default=[], choices=["fork", "inproc", "plain"],
                    help="more kit variants with these engines, for comparison")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="where to copy the workspace (default: a temporary folder)")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="side-by-side-", dir=a.scratch))
    ws = scratch_copy(a.workspace.resolve(), tmp / "ws")
    tids = _territories(ws, a.territories)
    if not tids:
        raise SystemExit("no programme territories in the workspace")
    work = [(s, t) for s in STEPS for t in tids]
    params = _params(ws)
    print(f"{len(work)} notebooks: steps 01-05 x {len(tids)} territories; workspace copy {ws}",
          flush=True)
    variants = [*VARIANTS, *(f"kit-{e}" for e in a.also)]
    times: dict[str, list[float]] = {v: [] for v in variants}
    fails: dict[str, list[int]] = {v: [] for v in variants}
    units = [("papermill", "html"), ("kit",), ("kit-cold",), ("floor",),
             *((f"kit-{e}",) for e in a.also)]
    for r in range(a.rounds):
        order = units[r % len(units):] + units[:r % len(units)]
        for unit in order:
            for v in unit:
                out = tmp / "papermill"
                if v == "papermill":
                    shutil.rmtree(out, ignore_errors=True)
                    s, f = run_papermill(ws, work, out, params)
                elif v == "html":
                    s, f = run_html(ws, work, out)
                elif v == "kit":
                    s, f = run_kit(ws, tids, a.engine)
                elif v == "kit-cold":
                    s, f = run_kit(ws, tids, a.engine, keep_warm=0)
                elif v.startswith("kit-"):
                    s, f = run_kit(ws, tids, v[4:])
                else:
                    s, f = run_floor(ws, work, params)
                times[v].append(s)
                fails[v].append(f)
        print(f"round {r + 1}: " + ", ".join(f"{v} {times[v][-1]:.1f} s" for v in variants)
              + (f" (failed: {[(v, fails[v][-1]) for v in variants if fails[v][-1]]})"
                 if any(fails[v][-1] for v in variants) else ""), flush=True)
    plain_html = [p + h for p, h in zip(times["papermill"], times["html"], strict=True)]
    ph_kit = [p / k for p, k in zip(plain_html, times["kit"], strict=True)]
    kit_floor = [k / f for k, f in zip(times["kit"], times["floor"], strict=True)]
    n = len(work)
    print(f"\n{'variant':<28}{'median s':>10}{'best s':>10}{'s / notebook':>14}")
    for name, xs in [("plain papermill", times["papermill"]),
                     ("+ nbconvert --to html", times["html"]),
                     ("plain + HTML", plain_html),
                     (f"territoria run ({a.engine})", times["kit"]),
                     ("territoria run, cold server", times["kit-cold"]),
                     *((f"territoria run ({e})", times[f"kit-{e}"]) for e in a.also),
                     ("in-process floor", times["floor"])]:
        med = statistics.median(xs)
        print(f"{name:<28}{med:>10.1f}{min(xs):>10.1f}{med / n:>14.3f}")
    cold_floor = [k / f for k, f in zip(times["kit-cold"], times["floor"], strict=True)]
    print(f"ratios within a round (median): plain+HTML / kit {statistics.median(ph_kit):.2f}, "
          f"kit / floor {statistics.median(kit_floor):.2f}, "
          f"kit with a cold server / floor {statistics.median(cold_floor):.2f}")
    extra = {f"kit_{e}_over_floor": round(statistics.median(
        [k / f for k, f in zip(times[f"kit-{e}"], times["floor"], strict=True)]), 2)
        for e in a.also}
    out = {"plain_html_over_kit": round(statistics.median(ph_kit), 2),
           "kit_over_floor": round(statistics.median(kit_floor), 2),
           "kit_cold_over_floor": round(statistics.median(cold_floor), 2), **extra,
           "kit_engine": a.engine,
           "notebooks": n, "territories": len(tids), "rounds": a.rounds,
           "median_s": {v: round(statistics.median(times[v]), 2) for v in variants},
           "best_s": {v: round(min(times[v]), 2) for v in variants},
           "failed": {v: max(fails[v]) for v in variants},
           "load_avg": [round(x, 2) for x in os.getloadavg()]}
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
