"""Dask distributed as the engine beyond one machine (``territoria run --scheduler``).

Each notebook is one Dask task (``Client.submit``); results come back as they finish
(``distributed.as_completed``), so progress and the run summary are the same as with the local
pool (:class:`~territoria.pipeline.executor.Executor`). A task runs the very same
:func:`~territoria.pipeline.executor.execute_job` as a local worker: stock papermill with the
injected parameters, one output notebook, papermill's error banner, and its HTML page. Inside
each Dask worker process a warm :class:`~territoria.pipeline.forkserver.ForkServer` is started
when the executor connects, and by default (``engine="auto"`` or ``"inproc"``) each notebook
runs as the local pool runs it: in a fresh process forked from that server, its cells executed
by papermill's in-process engine, no kernel (:mod:`territoria.pipeline.inprocess`).
``engine="fork"`` forks a kernel per notebook instead, ``engine="plain"`` starts fresh
kernels.

Where the work happens:

- ``local:N`` starts a :class:`distributed.LocalCluster` of N worker processes, one thread
  each, on this machine.
- ``tcp://HOST:8786`` (any address :class:`distributed.Client` accepts) uses a running
  scheduler and its workers: a ``dask scheduler`` plus ``dask worker`` processes, a
  ``dask-jobqueue`` cluster on an HPC queue, or a ``dask-kubernetes`` cluster.

Workers read the notebooks and the store, and write the executed notebooks, pages, results
files and the city-wide figures they share (:mod:`territoria.steps.citywide`, computed by the
first worker under a file lock), **through a shared filesystem mounted at the same path on
every machine** (NFS, Lustre,
GPFS, a Kubernetes ``ReadWriteMany`` volume). The runner itself collects the results files into
the store after each batch of steps; workers only read the store. Workers need the same Python
environment as the runner (the kit installed, same versions). Failures stay per notebook: a
task that raises, or whose worker dies, is reported as that notebook's failure.

Examples
--------
>>> parse_scheduler("local:4")
('local', 4)
>>> parse_scheduler("tcp://10.0.0.5:8786")
('address', 'tcp://10.0.0.5:8786')
>>> parse_scheduler("local:0")
Traceback (most recent call last):
...
territoria.exceptions.PipelineError: invalid --scheduler 'local:0' (allowed: local:N with N \
>= 1, or a scheduler address such as tcp://HOST:8786)
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from territoria.exceptions import PipelineError
from territoria.pipeline.executor import Failure, Job, JobResult

_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc|ws|wss)://\S+$")


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, ``("address", spec)`` for a scheduler address.

    Raises
    ------
    PipelineError
        Anything else, naming the allowed forms.
    """
    s = str(spec).strip()
    m = re.fullmatch(r"local:(\d+)", s)
    if m and int(m.group(1)) >= 1:
        return "local", int(m.group(1))
    if _ADDRESS.match(s):
        return "address", s
    raise PipelineError(f"invalid --scheduler '{spec}' (allowed: local:N with N >= 1, or a "
                        "scheduler address such as tcp://HOST:8786)")


# ------------------------------------------------------------------------------------------
# Worker side (runs inside Dask worker processes)
# ------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}  # engine, server


def prepare_worker(engine: str = "auto", log_path: str | None = None) -> str:
    """Make this Dask worker process ready to execute notebooks; returns the engine used.

    ``auto`` is ``inproc``, as for the local pool (:func:`territoria.pipeline.runner.run`):
    each notebook runs in a process forked from a warm server that imported the libraries,
    its cells executed by papermill without a kernel (:mod:`territoria.pipeline.inprocess`).
    With ``fork`` the server forks kernels instead. The server is started once per worker
    process (and stopped when the process exits); if it cannot start, plain kernels are used.
    """
    from territoria.pipeline.executor import init_worker
    from territoria.pipeline.forkserver import ForkServer, fork_supported

    if _WORKER.get("engine"):
        return str(_WORKER["engine"])
    used, address = "plain", None
    if engine != "plain" and fork_supported():
        wanted = "fork" if engine == "fork" else "inproc"  # auto: inproc, as the local pool
        server = ForkServer(log_path=log_path,
                            mode="notebooks" if wanted == "inproc" else "kernels")
        try:
            server.start()
            used, address = wanted, server.address
            _WORKER["server"] = server
            atexit.register(server.close)
        except (OSError, PipelineError):
            server.close()
    init_worker(used, address)
    _WORKER["engine"] = used
    return used


def run_job(job: Job, engine: str = "auto", log_path: str | None = None) -> JobResult:
    """The Dask task: execute one notebook (see :func:`territoria.pipeline.executor.execute_job`)."""
    from territoria.pipeline.executor import execute_job

    prepare_worker(engine, log_path)
    try:
        return execute_job(job)
    except Exception as e:  # never let one notebook fail the task itself
        return JobResult(job.step, job.territory_id, "failed", 0.0, job.output_path, None,
                         _WORKER.get("engine", "plain"), 1,
                         Failure(type(e).__name__, str(e).splitlines()[0] if str(e) else ""),
                         time.time(), job.fingerprint)


# ------------------------------------------------------------------------------------------
# Client side
# ------------------------------------------------------------------------------------------
class DaskExecutor:
    """Run :class:`~territoria.pipeline.executor.Job` objects as Dask tasks.

    The same interface as :class:`~territoria.pipeline.executor.Executor` (``run``,
    ``close``), so the runner does not care where notebooks execute.

    Parameters
    ----------
    scheduler : str
        ``local:N`` or a scheduler address (:func:`parse_scheduler`).
    engine : {"auto", "fork", "inproc", "plain"}
        How each worker runs notebooks: notebook processes forked from a warm server per
        worker (``inproc``, also ``auto``), kernels forked from it (``fork``), or plain
        kernels.
    log_path : path-like, optional
        File receiving the kernels' stderr (on a shared filesystem for remote workers).

    Examples
    --------
    >>> with DaskExecutor("local:2") as ex:  # doctest: +SKIP
    ...     results = ex.run(jobs)
    """

    def __init__(self, scheduler: str, engine: str = "auto",
                 log_path: str | os.PathLike[str] | None = None) -> None:
        from distributed import Client, LocalCluster

        kind, value = parse_scheduler(scheduler)
        self.scheduler = scheduler
        self.engine = engine
        self.log_path = str(log_path) if log_path else None
        self.cluster: LocalCluster | None = None
        if kind == "local":
            self.cluster = LocalCluster(n_workers=int(value), threads_per_worker=1,
                                        processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(str(value), timeout="10s")
            except (OSError, TimeoutError) as e:
                raise PipelineError(f"no Dask scheduler answers at {value} ({e})") from None
        # start every worker's fork server now, all at once, instead of in the first task
        engines = self.client.run(prepare_worker, engine, self.log_path)
        self.worker_engines = sorted(set(engines.values()))
        self.workers = sum(self.client.nthreads().values())

    @property
    def engine_name(self) -> str:
        """``dask-inproc``, ``dask-fork``, ``dask-plain`` (or several, if workers differ)."""
        return "dask-" + "+".join(self.worker_engines or ["plain"])

    def run(self, jobs: Iterable[Job],
            on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]:
        """Execute ``jobs`` as tasks; call ``on_result(result)`` as each finishes; results in
        job order."""
        from distributed import as_completed

        jobs = list(jobs)
        futures = [self.client.submit(run_job, job, self.engine, self.log_path, pure=False,
                                      key=f"notebook-{job.step}-{i}-{os.urandom(4).hex()}")
                   for i, job in enumerate(jobs)]
        where = {f.key: i for i, f in enumerate(futures)}
        results: list[JobResult | None] = [None] * len(jobs)
        for fut in as_completed(futures):
            i = where[fut.key]
            try:
                r = fut.result()
            except Exception as e:  # the task or its worker died (KilledWorker, lost data)
                j = jobs[i]
                r = JobResult(j.step, j.territory_id, "failed", 0.0, j.output_path, None,
                              self.engine_name, 1,
                              Failure("WorkerDied", f"{type(e).__name__}: {e}".splitlines()[0]),
                              time.time(), j.fingerprint)
            results[i] = r
            if on_result:
                on_result(r)
            fut.release()
        return [r for r in results if r is not None]  # every job has its result

    def close(self, cancel: bool = False) -> None:
        """Disconnect; a ``local:N`` cluster is shut down (its fork servers exit with it)."""
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()
            self.cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(cancel=exc_type is not None)
