"""``territoria run``: execute the step notebooks for the city and its territories.

The run goes step by step in the order of :data:`territoria.pipeline.steps.STEPS` (``00`` first,
then the territory steps ``01``–``05`` for every territory, then the city steps ``06`` and
``07``), in *batches* (:func:`territoria.steps.registry.batches`): steps that read none of
each other's recorded results run together, their notebooks in parallel on one pool of
workers (the sample city's eight steps make three batches: 00–03, 04–06, 07). After each
batch the runner loads the notebooks' results files into the store in one transaction
(notebooks only read the store; DuckDB admits a single writing process) and writes one row per
notebook in ``runs``, so a step that reads another's results (04 reads 03's agenda; 07 reads
them all) sees this run's.

A notebook is skipped when its fingerprint (:mod:`territoria.pipeline.fingerprint`) equals
the one of its last successful run and its outputs exist; ``force=True`` runs it anyway. A
failing notebook is reported with its cell and error; the others go on.

Examples
--------
>>> s = RunSummary(run_id="r1", engine="fork", workers=2, seconds=1.0, results=[])
>>> s.counts
{'ok': 0, 'skipped': 0, 'failed': 0}
>>> s.format("en").splitlines()[0]
'0 ok, 0 skipped (up to date), 0 failed, 0 no-data (their inputs are not there yet) in 1.0 s (engine fork, 2 workers)'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from territoria import __version__
from territoria.config import CityConfig, Workspace
from territoria.exceptions import PipelineError
from territoria.i18n import catalogue, check_language, tr
from territoria.lock import write_lock
from territoria.pipeline.executor import (
    ENGINES,
    Executor,
    Failure,
    Job,
    JobResult,
    JobRunner,
    RelayExecutor,
)
from territoria.pipeline.fingerprint import DataState, ResultsIndex, fingerprint
from territoria.pipeline.forkserver import ForkServer, fork_supported
from territoria.pipeline.steps import (
    STEPS,
    Step,
    batches,
    default_notebooks_dir,
    notebook_path,
    output_paths,
    resolve_steps,
)
from territoria.report.record import Recorder, collect
from territoria.steps import INPUTS_KEY
from territoria.store import Store

MESSAGES = catalogue(__name__)


#: Statuses of a notebook in a run, in the order the summary shows them.
STATUSES = ("ok", "no-data", "failed", "skipped")
#: Lines of "what is missing where" printed by the summary (all of them go to the CSV).
MAX_MISSING_LINES = 20
#: The territory x step table of missing inputs, written in ``output/`` by every run.
MISSING_CSV = "missing_inputs.csv"


@dataclass
class RunSummary:
    """The outcome of :func:`run`.

    Attributes
    ----------
    run_id : str
    engine : str
        ``fork`` or ``plain`` (what was actually used).
    workers : int
    seconds : float
        Wall-clock time of the whole run.
    results : list of JobResult
        One per notebook, with ``status`` ``ok``, ``skipped`` or ``failed``.
    notes : list of str
        Warnings (e.g. fallback to the plain engine).
    """

    run_id: str
    engine: str
    workers: int
    seconds: float
    results: list[JobResult]
    notes: list[str] = field(default_factory=list)
    language: str = "es"

    missing: list[dict[str, Any]] = field(default_factory=list)
    missing_csv: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        c = {"ok": 0, "skipped": 0, "failed": 0}
        for r in self.results:
            c[r.status] = c.get(r.status, 0) + 1
        return c

    def counts_by_step(self) -> dict[str, dict[str, int]]:
        """Step id -> ``{"ok", "no-data", "failed", "skipped"}`` counts, in step order."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            c = out.setdefault(r.step, dict.fromkeys(STATUSES, 0))
            c[r.status] = c.get(r.status, 0) + 1
        return out

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures

    def format(self, lang: str | None = None) -> str:
        """Counts and, if any, one line per failure (territory, step, cell, error)."""
        lang = lang or self.language
        counts = {**dict.fromkeys(STATUSES, 0), **self.counts}
        lines = [tr(MESSAGES, "summary", lang, seconds=self.seconds, engine=self.engine,
                    workers=self.workers, no_data=counts["no-data"], ok=counts["ok"],
                    skipped=counts["skipped"], failed=counts["failed"])]
        by_step = self.counts_by_step()
        if by_step:
            lines.append(tr(MESSAGES, "by_step", lang))
            lines += [f"  {s}: " + " / ".join(str(c[k]) for k in STATUSES)
                      for s, c in by_step.items()]
        if self.missing:
            lines.append(tr(MESSAGES, "missing", lang, n=len(self.missing),
                            csv=self.missing_csv or "-"))
            for m in self.missing[:MAX_MISSING_LINES]:
                where = (tr(MESSAGES, "city", lang) if m["territory_id"] is None
                         else tr(MESSAGES, "territory", lang, tid=m["territory_id"]))
                lines.append(f"  - {m['step']} · {where}: {m['missing']}")
            if len(self.missing) > MAX_MISSING_LINES:
                lines.append(f"  ... (+{len(self.missing) - MAX_MISSING_LINES})")
        if self.failures:
            lines.append(tr(MESSAGES, "failures", lang))
            for r in self.failures:
                where = (tr(MESSAGES, "city", lang) if r.territory_id is None
                         else tr(MESSAGES, "territory", lang, tid=r.territory_id))
                err = r.error.describe() if r.error else "?"
                lines.append(f"  - {r.step} · {where}: {err} ({r.output_path})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def select_territories(store: Store,
                       territories: str | Iterable[str] | None = None) -> list[str]:
    """Territory ids to run: the programme's (``priority``) by default, ``"all"``, or a list.

    Raises
    ------
    PipelineError
        An id that is not in the ``territories`` table (naming it and the allowed values).
    """
    known = store.query("SELECT territory_id, coalesce(priority, false) AS priority "
                        "FROM territories ORDER BY territory_id")
    ids = [str(x) for x in known["territory_id"]]
    if territories is None:
        return [str(t) for t, p in zip(known["territory_id"], known["priority"], strict=False) if p]
    if isinstance(territories, str):
        if territories == "all":
            return ids
        territories = [territories]
    chosen: list[str] = []
    have = set(ids)
    for t in map(str, territories):
        if t not in have:
            shown = ", ".join(ids[:12]) + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
            raise PipelineError(f"unknown territory '{t}' (allowed: {shown or 'none in the store'})")
        if t not in chosen:
            chosen.append(t)
    return chosen


def _last_runs(store: Store, step: str) -> dict[str | None, tuple[str, str]]:
    df = store.query(
        "SELECT territory_id, status, fingerprint FROM (SELECT *, row_number() OVER "
        "(PARTITION BY territory_id ORDER BY finished_at DESC) AS rn FROM runs WHERE step = ?) "
        "WHERE rn = 1", [step])
    return {(None if pd.isna(t) else t): (s, f)
            for t, s, f in zip(df["territory_id"], df["status"], df["fingerprint"], strict=False)}


def _typical_seconds(store: Store) -> dict[str, float]:
    """Median seconds of each step's notebooks in their last run (empty before any run)."""
    if not store.has_table("runs"):
        return {}
    df = store.query(
        "SELECT step, median(seconds) AS s FROM runs WHERE status IN ('ok', 'no-data') AND "
        "run_id = (SELECT max(run_id) FROM runs r WHERE r.step = runs.step AND "
        "r.status IN ('ok', 'no-data')) GROUP BY step")
    return {str(k): float(v) for k, v in zip(df["step"], df["s"], strict=True) if pd.notna(v)}


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _valid_sidecar(path: Path, since: float) -> bool:
    try:
        if path.stat().st_mtime < since - 1:
            return False
        payload = json.loads(path.read_text(encoding="utf-8"))
        return isinstance(payload, dict) and {"step", "territory_id", "indicators",
                                              "tables"} <= set(payload)
    except (OSError, ValueError):
        return False


def _start_pool(engine: str, workers: int, log_path: Path, notes: list[str],
                lang: str, launched: ForkServer | None = None
                ) -> tuple[str, ForkServer | None, JobRunner]:
    """Start the worker pool and (fork engines) the warm server, or adopt ``launched``."""
    if engine not in ("auto", *ENGINES):
        raise PipelineError(f"unknown engine '{engine}' (allowed: auto, {', '.join(ENGINES)})")
    if engine != "plain" and not fork_supported():
        if engine in ("fork", "inproc"):
            notes.append(tr(MESSAGES, "fallback", lang, why="needs Linux"))
        engine = "plain"
    if engine == "plain":
        if launched is not None:
            launched.close()
        return "plain", None, Executor(workers, "plain", None, log_path=log_path)
    used = "inproc" if engine == "inproc" else "fork"  # inproc: notebooks run in the forks
    mode = "notebooks" if used == "inproc" else "kernels"
    if launched is not None and launched.mode != mode:
        launched.close()
        launched = None
    server = launched or ForkServer(log_path=log_path, mode=mode)
    try:
        if launched is None:
            server.launch()
        executor: JobRunner = (RelayExecutor(workers, server.address, log_path)
                               if used == "inproc"
                               else Executor(workers, used, server.address, log_path=log_path))
    except (OSError, PipelineError) as e:
        server.close()
        notes.append(tr(MESSAGES, "fallback", lang, why=str(e)))
        return "plain", None, Executor(workers, "plain", None, log_path=log_path)
    try:
        server.wait_ready()
    except PipelineError as e:
        executor.close()
        server.close()
        notes.append(tr(MESSAGES, "fallback", lang, why=str(e)))
        return "plain", None, Executor(workers, "plain", None, log_path=log_path)
    return used, server, executor


def run(ws: Workspace | str | os.PathLike[str], *,
        territories: str | list[str] | None = None, steps: str | list[str] | None = None,
        workers: int = 2, force: bool = False,
        language: str | None = None, progress: bool = True, engine: str = "auto",
        notebooks_dir: str | os.PathLike[str] | None = None, timeout: float | None = None,
        scheduler: str | None = None, wait: float | None = None,
        server: ForkServer | None = None) -> RunSummary:
    """Execute the step notebooks and collect their results into the store.

    Parameters
    ----------
    ws : Workspace or path-like
    territories : None, "all" or list of str
        None: the programme territories (``priority`` true); ``"all"``: every territory.
    steps : None, str or list
        Step ids or numbers (``"00,02"``); None runs every step.
    workers : int
        Notebooks executed at once.
    force : bool
        Rerun notebooks that are up to date.
    language : {"es", "en"}, optional
        Report language (default: the city's ``default_language``).
    progress : bool
        Show a progress bar with ETA on stderr (only when stderr is a terminal).
    engine : {"auto", "inproc", "fork", "plain"}
        ``inproc`` (``auto`` on Linux): each notebook in a process forked from a warm server,
        its cells run in-process by papermill without a kernel
        (:mod:`territoria.pipeline.inprocess`); ``fork``: kernels forked from a warm server
        (Linux); ``plain``: a fresh kernel each.
    notebooks_dir : path-like, optional
        Where the ``NN_name.ipynb`` notebooks are (default: the kit's ``notebooks/``).
        Notebooks other than the kit's may read any earlier step's results, so they run
        one step at a time, each after the previous one was recorded, and every earlier
        step's results are part of their fingerprints; the kit's own notebooks run in
        batches (:func:`territoria.steps.registry.batches`).
    timeout : float, optional
        Seconds allowed per cell.
    scheduler : str, optional
        Run on Dask distributed instead of the local pool: ``local:N`` (a ``LocalCluster``
        of N processes) or a scheduler address (``tcp://HOST:8786``); ``workers`` is then
        ignored. Workers must see the workspace at the same path
        (:mod:`territoria.pipeline.dask_engine`).
    wait : float, optional
        Seconds to wait for the workspace write lock while another command writes (default:
        :func:`territoria.lock.default_wait`). The run holds the lock from start to end, so
        no other writer changes the data between its steps; notebooks only read.
    server : ForkServer, optional
        A warm server already launched for this run
        (:func:`territoria.pipeline.forkserver.prelaunch`); the run uses it, or stops it
        when it needs none (every notebook up to date, another engine, Dask).

    Returns
    -------
    RunSummary
        ``results`` has one entry per notebook (status ok, skipped or failed, seconds, output
        path, error with cell and message); ``counts`` and ``failures`` summarise them.

    Raises
    ------
    PipelineError
        Unknown step or territory, missing notebook, no territories to run.
    territoria.lock.WorkspaceBusy
        Another command still wrote to the workspace after ``wait`` seconds.

    Examples
    --------
    >>> summary = run("./iztapalapa", steps="00,01")  # doctest: +SKIP
    >>> summary.counts  # doctest: +SKIP
    {'ok': 131, 'skipped': 0, 'failed': 0}
    """
    try:
        return _run(ws, territories=territories, steps=steps, workers=workers, force=force,
                    language=language, progress=progress, engine=engine,
                    notebooks_dir=notebooks_dir, timeout=timeout, scheduler=scheduler,
                    wait=wait, server=server)
    finally:  # adopted by the run (and stopped there), or never needed
        if server is not None:
            server.close()


def _run(ws: Workspace | str | os.PathLike[str], *, territories: str | list[str] | None,
         steps: str | list[str] | None, workers: int, force: bool, language: str | None,
         progress: bool, engine: str, notebooks_dir: str | os.PathLike[str] | None,
         timeout: float | None, scheduler: str | None, wait: float | None,
         server: ForkServer | None) -> RunSummary:
    t_start = time.perf_counter()
    ws = ws if isinstance(ws, Workspace) else Workspace(ws)
    cfg = ws.config()
    lang = check_language(language or cfg.default_language)
    chosen = resolve_steps(steps)
    nb_paths = {s.id: notebook_path(s, notebooks_dir) for s in chosen}
    missing = [str(p) for p in nb_paths.values() if not p.is_file()]
    if missing:
        raise PipelineError(f"step notebook not found: {', '.join(missing)}")
    nb_bytes = {k: p.read_bytes() for k, p in nb_paths.items()}
    kit = (notebooks_dir is None
           or Path(notebooks_dir).resolve() == default_notebooks_dir().resolve())
    with write_lock(ws.store_path, wait=wait):
        return _run_held(ws, cfg, lang, chosen, nb_paths, nb_bytes, t_start, kit_notebooks=kit,
                         territories=territories, workers=workers, force=force,
                         progress=progress, engine=engine, timeout=timeout,
                         scheduler=scheduler, launched=None if scheduler else server)


def _run_held(ws: Workspace, cfg: CityConfig, lang: str, chosen: list[Step],
              nb_paths: dict[str, Path], nb_bytes: dict[str, bytes], t_start: float, *,
              kit_notebooks: bool, territories: str | list[str] | None, workers: int,
              force: bool, progress: bool, engine: str, timeout: float | None,
              scheduler: str | None,
              launched: ForkServer | None = None) -> RunSummary:
    """:func:`run` once it holds the workspace write lock."""
    city_yml = ws.city_file.read_bytes()
    with Store(ws.store_path) as store:
        tids = select_territories(store, territories)
        data_state = DataState(store, city_yml)  # every notebook's data digest, at once
        typical = _typical_seconds(store)
    if not tids and any(not s.is_city for s in chosen):
        raise PipelineError("no territories to run: none is marked priority in the store "
                            "(use --all or --territory ID)")
    base_params = {"workspace": str(ws.root), "language": lang,
                   "period_start": _iso(cfg.period_start), "period_end": _iso(cfg.period_end)}
    run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    notes: list[str] = []
    all_results: list[JobResult] = []
    total = sum(1 if s.is_city else len(tids) for s in chosen)
    bar = _progress_bar(total, progress, lang)
    server: ForkServer | None = None
    executor: JobRunner | None = None
    used_engine = "plain" if engine == "plain" else None
    order = [s.id for s in STEPS]
    reads = {s.id: (list(s.reads_results) if kit_notebooks else order[:order.index(s.id)])
             for s in chosen}  # adapted notebooks may read any earlier step's results
    try:
        for batch in (batches(chosen) if kit_notebooks else [[s] for s in chosen]):
            planned: list[tuple[Step, list[Job], list[JobResult]]] = []
            with Store(ws.store_path) as store:
                index = ResultsIndex(store, sorted({d for s in batch for d in reads[s.id]}))
                for step in batch:
                    jobs, skipped = _plan(ws, store, step, tids, index, reads[step.id],
                                          nb_paths[step.id], nb_bytes[step.id], base_params,
                                          data_state, force, timeout)
                    planned.append((step, jobs, skipped))
            n_skipped = sum(len(sk) for _, _, sk in planned)
            if bar is not None and n_skipped:
                bar.update(n_skipped)
            # longest first (by the steps' last runs; a city step when unknown): the batch
            # does not end with one worker busy on a long notebook while the other waits
            todo = [j for step, jobs, _ in sorted(planned, key=lambda p: -typical.get(
                p[0].id, float("inf") if p[0].is_city else 0.0)) for j in jobs]
            done: dict[tuple[str, str | None], JobResult] = {}
            if todo:
                if executor is None:
                    log = ws.output_dir / "run.log"  # stderr of workers and kernels
                    log.parent.mkdir(parents=True, exist_ok=True)
                    if launched is None:  # else emptied by prelaunch, the server writes it
                        log.write_bytes(b"")
                    if scheduler:  # Dask distributed: one task per notebook
                        from territoria.pipeline.dask_engine import DaskExecutor

                        dask = DaskExecutor(scheduler, engine, log_path=log)
                        used_engine, workers, executor = dask.engine_name, dask.workers, dask
                    else:
                        pool = "inproc" if engine == "auto" else engine
                        used_engine, server, executor = _start_pool(pool, workers, log,
                                                                    notes, lang, launched)
                if bar is not None:
                    bar.set_description(_batch_label(batch))
                for job, r in zip(todo, executor.run(todo, on_result=lambda r: _tick(bar, r)),
                                  strict=True):
                    done[(job.step, job.territory_id)] = r
            steps_done = [(step, jobs, [done[(j.step, j.territory_id)] for j in jobs], skipped)
                          for step, jobs, skipped in planned]
            _record(ws, steps_done, run_id)
            for _, _, results, skipped in steps_done:
                all_results.extend(skipped + results)
    finally:
        if executor is not None:
            executor.close()
        if server is not None:
            server.close(wait=False)  # its exit (freeing its memory) does not hold the run
        if bar is not None:
            bar.close()
    missing = missing_inputs(ws, all_results)
    csv = write_missing_csv(ws, missing)
    return RunSummary(run_id, used_engine or ("plain" if engine == "plain" or not fork_supported()
                                              else "inproc" if engine == "auto" else engine),
                      workers, time.perf_counter() - t_start, all_results, notes, lang,
                      missing, str(csv))


def _batch_label(batch: list[Step]) -> str:
    """What the progress bar says: ``02_diagnostic``, or ``01-03`` for a batch of steps."""
    return batch[0].id if len(batch) == 1 else f"{batch[0].number}-{batch[-1].number}"


def _plan(ws: Workspace, store: Store, step: Step, tids: list[str], index: ResultsIndex,
          reads: list[str], nb_path: Path, nb_bytes: bytes, base_params: dict[str, Any], data_state: DataState,
          force: bool, timeout: float | None) -> tuple[list[Job], list[JobResult]]:
    """The step's notebooks to execute, and those skipped because they are up to date."""
    last = _last_runs(store, step.id)
    jobs, skipped = [], []
    for tid in ([None] if step.is_city else tids):
        params = {**base_params, "territory": tid}
        res = index.digest(reads, tid, all_territories=step.is_city)
        fp = fingerprint(nb_bytes, params, data_state.digest(step.id, tid), res, __version__)
        out, html = output_paths(ws.output_dir, step, tid)
        prev = last.get(tid)
        if (not force and prev is not None and prev[0] in ("ok", "no-data", "skipped")
                and prev[1] == fp and out.exists() and html.exists()):
            skipped.append(JobResult(step.id, tid, "skipped", 0.0, str(out), str(html), "-",
                                     0, None, time.time(), fp))
            continue
        sidecar = Recorder(ws.output_dir, step.id, tid).path
        jobs.append(Job(step.id, tid, str(nb_path), str(out), str(html), params, str(ws.root),
                        str(sidecar), fp, timeout))
    return jobs, skipped


def inputs_meta(sidecar: str | os.PathLike[str]) -> dict[str, Any]:
    """Status and missing inputs a notebook recorded in its results file (``{}`` if none).

    Returns
    -------
    dict
        ``status`` (``no-data``, ``partial`` or ``ok``), ``missing`` (tables),
        ``missing_sections``, ``reason_es``, ``reason_en``
        (:meth:`territoria.steps.common.InputCheck.meta`).
    """
    try:
        payload = json.loads(Path(sidecar).read_text(encoding="utf-8"))
        return dict(payload["tables"][INPUTS_KEY]["meta"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def missing_inputs(ws: Workspace, results: list[JobResult]) -> list[dict[str, Any]]:
    """What is missing where: one row per notebook of ``results`` whose inputs fell short
    (``no-data``, or ``partial`` with sections left out), read from its results file."""
    rows = []
    for r in results:
        if r.status == "failed":
            continue
        meta = inputs_meta(Recorder(ws.output_dir, r.step, r.territory_id).path)
        if meta.get("status") in ("no-data", "partial"):
            rows.append({"step": r.step, "territory_id": r.territory_id,
                         "status": meta["status"], "missing": ", ".join(meta.get("missing", [])),
                         "sections_left_out": ", ".join(meta.get("missing_sections", [])),
                         "reason_es": meta.get("reason_es", ""),
                         "reason_en": meta.get("reason_en", "")})
    return rows


def write_missing_csv(ws: Workspace, rows: list[dict[str, Any]]) -> Path:
    """``output/missing_inputs.csv``: territory x step, what is missing (written every run,
    with a header even when nothing is missing)."""
    path = ws.output_dir / MISSING_CSV
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ["territory_id", "step", "status", "missing", "sections_left_out", "reason_es",
            "reason_en"]
    df = pd.DataFrame(rows, columns=cols)
    df["territory_id"] = df["territory_id"].astype(object).where(df["territory_id"].notna(),
                                                                 "city")
    from territoria.safe_export import write_csv  # no cell may run as a formula

    write_csv(df.sort_values(["territory_id", "step"]), path)
    return path


def _progress_bar(total: int, progress: bool, lang: str) -> Any:
    """A tqdm bar (tqdm has no type information), or None when not shown."""
    from territoria.progress import progress_bar

    return progress_bar(total, enabled=progress, desc=tr(MESSAGES, "progress", lang), unit="nb")


def _tick(bar: Any, result: JobResult) -> None:
    if bar is None:
        return
    bar.update(1)
    if result.status == "failed":
        bar.set_postfix_str(f"{result.step} {result.territory_id or 'city'}: failed")


def _sidecars(step: Step, jobs: list[Job], results: list[JobResult]) -> list[Path]:
    """The step's valid results files; a missing or stale one fails its notebook."""
    sidecars = []
    for job, r in zip(jobs, results, strict=False):
        r.fingerprint = job.fingerprint
        if r.status != "ok" or not job.sidecar_path:
            continue
        p = Path(job.sidecar_path)
        if not p.exists():
            continue
        if _valid_sidecar(p, r.started_at):
            sidecars.append(p)
            if inputs_meta(p).get("status") == "no-data":
                r.status = "no-data"
        else:
            r.status = "failed"
            r.error = Failure("ResultsError", f"{p.name}: results file is unreadable or stale")
            continue
        if step.is_city:  # a city step may also record each territory's slice (e.g. 06)
            sidecars.extend(q for q in sorted(p.parent.glob("*.results.json"))
                            if q != p and _valid_sidecar(q, r.started_at))
    return sidecars


def _record(ws: Workspace,
            steps: list[tuple[Step, list[Job], list[JobResult], list[JobResult]]],
            run_id: str) -> None:
    """Collect a batch's results files and write its ``runs`` rows in one transaction.

    ``steps`` holds, for each step of the batch, its jobs, their results (same order) and
    its skipped notebooks.
    """
    sidecars = [p for step, jobs, results, _ in steps for p in _sidecars(step, jobs, results)]
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows = [{"run_id": run_id, "step": r.step, "territory_id": r.territory_id,
             "status": r.status, "fingerprint": r.fingerprint,
             "output_path": os.path.relpath(r.output_path, ws.root),
             "error": r.error.describe() if r.error else None,
             "seconds": float(r.seconds), "finished_at": now}
            for _, _, results, skipped in steps for r in [*skipped, *results]]
    if not rows:
        return
    with Store(ws.store_path) as store, store.transaction():
        if sidecars:
            collect(store, sidecars)
        store.append("runs", pd.DataFrame(rows).astype({"territory_id": "object"}))
