"""The demo: sample city -> ingest -> run every step -> publish, with the time of each stage.

Examples
--------
>>> ingest_order(["data/raw/surveys/a.csv", "data/raw/catalogue/zones.csv",
...               "data/raw/catalogue/iztapalapa_ut.geojson"])
['data/raw/catalogue/zones.csv', 'data/raw/catalogue/iztapalapa_ut.geojson', 'data/raw/surveys/a.csv']
"""

from __future__ import annotations

import time
from pathlib import Path

from territoria.config import Workspace

#: Raw files are ingested catalogue first (zones before territories before blocks...), so
#: that later files can be checked against what is already in the store.
_ORDER = ("zones.csv", ".geojson", ".gpkg", "blocks.csv", "census", "programme",
          "indices/", "crime/", "links/", "surveys/")


def ingest_order(paths) -> list:
    """Sort raw files so that catalogues come before the data that refer to them."""
    def key(p):
        s = str(p).replace("\\", "/")
        for i, pat in enumerate(_ORDER):
            if pat in s:
                return (i, s)
        return (len(_ORDER), s)

    return sorted(paths, key=key)


def raw_files(ws: Workspace) -> list[Path]:
    return ingest_order([p for p in ws.raw_dir.rglob("*") if p.is_file()])


#: Evaluation plans of the kit the demo runs (``evaluations/<name>.yml``); the classroom plan
#: names Iztapalapa's territories and is for teaching.
DEMO_PLANS = ("process", "perceived_safety", "crime_impact")


def build_ledger(ws: Workspace, *, echo=print) -> bool:
    """Build the agreements ledger from the ingested forms, so that the steps read it and
    ``territoria ledger status`` answers; returns False if it could not be built.

    It is part of ingesting: built after the steps ran, it changed what steps 04, 05 and the
    city steps read, so the site showed results computed without it and the next ``run``
    redid 263 notebooks."""
    from territoria.exceptions import TerritoriaError
    from territoria.ledger.ledger import sync_from_surveys
    from territoria.store import Store

    try:
        with Store(ws.store_path) as store:
            rep = sync_from_surveys(store)
        echo("  ledger: " + ", ".join(f"{k} {v}" for k, v in
                                      sorted(rep["action"].value_counts().items())))
    except TerritoriaError as e:
        echo(f"  ledger: {e}")
        return False
    return True


def evaluate_demo(ws: Workspace, *, workers: int = 2, echo=print,
                  plans=DEMO_PLANS) -> bool:
    """Run the kit's evaluation plans, so that the site links the evaluation reports. A plan
    that cannot run here is reported and skipped; returns True."""
    from territoria.evaluation.runner import run_plan
    from territoria.exceptions import TerritoriaError
    from territoria.report.catalogue import kit_dir

    echo("  evaluation plans ...")
    try:
        folder = kit_dir("evaluations")
    except TerritoriaError:
        return True
    for name in plans:
        path = folder / f"{name}.yml"
        if not path.exists():
            continue
        try:
            result = run_plan(ws, path, workers=workers, publish=False)
            echo("  " + result.format().replace("\n", "\n  "))
        except TerritoriaError as e:
            echo(f"  {name}: {e}")
    return True


def run_demo(path, *, seed=20181224, scale=1, force=False, stages=("sample", "ingest", "run",
             "publish"), workers=2, echo=print, geography=None, scheduler=None,
             progress=True) -> dict:
    """Carry out the demo; returns timings, the workspace path, the site path and failures.

    ``geography`` (:class:`territoria.sample.Geography`) puts the sample city on another
    layer; by default it is Iztapalapa. ``workers`` notebooks run at once and as many
    processes render the site; ``scheduler`` (``local:N`` or a Dask scheduler address) runs
    the steps on Dask distributed instead (:func:`territoria.pipeline.runner.run`).
    ``progress`` shows bars with ETA for ingest, run and publish when stderr is a
    terminal."""
    from territoria.sample import build_sample

    timings: dict[str, float] = {}
    ws = Workspace(path)
    failed = False
    if "sample" in stages:
        t = time.perf_counter()
        echo(f"[1/4] building the sample city in {ws.root} ...")
        build_sample(ws.root, seed=seed, scale=scale, force=force, geography=geography)
        timings["sample"] = time.perf_counter() - t
    server = None
    if "ingest" in stages:
        from territoria.ingest.core import ingest_files, total_line

        t = time.perf_counter()
        from territoria.progress import FilesProgress

        if "run" in stages and not scheduler:  # the warm server imports during the ingest
            from territoria.pipeline.forkserver import prelaunch

            server = prelaunch("auto", ws.output_dir / "run.log")
        echo("[2/4] ingesting raw files ...")
        files = raw_files(ws)
        bar = FilesProgress(files, enabled=progress, desc="ingest")
        try:
            reports = ingest_files(ws, files, on_report=lambda r: bar.done(
                "  " + r.as_line(), echo=lambda line, err: echo(line)))
            echo("  " + total_line(reports))
            failed |= any(r.status == "rejected" for r in reports)
            failed |= not build_ledger(ws, echo=echo)
        except BaseException:
            if server is not None:
                server.close()
            raise
        finally:
            bar.close()
        timings["ingest"] = time.perf_counter() - t
    if "run" in stages:
        from territoria.pipeline.runner import run

        t = time.perf_counter()
        echo("[3/4] running every step of the method ...")
        summary = run(ws, workers=workers, scheduler=scheduler, progress=progress,
                      server=server)
        echo(summary.format())
        failed |= not summary.ok
        timings["run"] = time.perf_counter() - t
        t = time.perf_counter()
        failed |= not evaluate_demo(ws, workers=workers, echo=echo)
        timings["evaluate"] = time.perf_counter() - t
    site = None
    if "publish" in stages:
        from territoria.report.site import publish

        t = time.perf_counter()
        echo("[4/4] publishing the site ...")
        site = publish(ws, workers=workers, progress=progress)
        timings["publish"] = time.perf_counter() - t
    return {"timings": timings, "workspace": str(ws.root), "site": str(site) if site else None,
            "failed": failed}
