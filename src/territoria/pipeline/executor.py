"""The worker pool: N processes, each running stock papermill and converting to HTML.

Every worker keeps one nbconvert exporter (``basic`` template, inputs and prompts hidden;
:class:`~territoria.pipeline.html.NotebookHTMLExporter`) for its whole life: converting in a
long-lived process costs ~0.06 s a page instead of ~0.9 s for a fresh ``jupyter nbconvert``. Kernels come from the warm fork server
(``engine="fork"``, see :mod:`territoria.pipeline.kernels`) or are plain fresh kernels
(``engine="plain"``); either way the notebook is executed by ``papermill.execute_notebook``,
so the injected-parameters cell, the executed output notebook and the error banner are
papermill's own.

A kernel that fails to start (no cell ran) is retried once; if the fork server is gone the
retry, and the rest of that worker's jobs, use a plain kernel.

Examples
--------
>>> Failure("ValueError", "boom", cell_index=3, exec_count=2).describe()
'cell 3 (In [2]): ValueError: boom'
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from territoria.exceptions import PipelineError

if TYPE_CHECKING:
    from jupyter_client.manager import KernelManager
    from nbformat import NotebookNode

ENGINES = ("fork", "plain", "inproc")


@dataclass
class Failure:
    """Why a notebook failed: papermill's error (cell index, execution count, name, value)."""

    ename: str
    evalue: str
    cell_index: int | None = None
    exec_count: int | None = None

    def describe(self) -> str:
        where = ""
        if self.cell_index is not None:
            where = f"cell {self.cell_index}"
            if self.exec_count is not None:
                where += f" (In [{self.exec_count}])"
            where += ": "
        return f"{where}{self.ename}: {self.evalue}"


@dataclass
class Job:
    """One notebook to execute."""

    step: str
    territory_id: str | None
    input_path: str
    output_path: str
    html_path: str
    parameters: dict[str, Any]
    cwd: str
    sidecar_path: str | None = None
    fingerprint: str | None = None
    timeout: float | None = None


@dataclass
class JobResult:
    """What happened to one :class:`Job`."""

    step: str
    territory_id: str | None
    status: str  # "ok" | "failed"
    seconds: float
    output_path: str
    html_path: str | None
    engine: str
    attempts: int = 1
    error: Failure | None = None
    started_at: float = field(default=0.0)
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobRunner(Protocol):
    """What the runner needs of a pool: the local :class:`Executor` and
    :class:`~territoria.pipeline.dask_engine.DaskExecutor` both are one."""

    def run(self, jobs: Iterable[Job],
            on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]: ...

    def close(self, cancel: bool = False) -> None: ...


_STATE: dict[str, Any] = {}  # engine, exporter


def init_worker(engine: str, fork_address: str | None) -> None:
    """Pool initializer: remember the engine, point kernels at the fork server, build the
    HTML exporter once."""
    from territoria.pipeline.forkserver import ENV_ADDRESS

    if engine in ("fork", "inproc") and fork_address:
        os.environ[ENV_ADDRESS] = fork_address
    else:
        engine = "plain"
    _STATE["engine"] = engine
    if engine == "inproc":  # the page is written by the notebook's process
        return
    from territoria.pipeline.html import NotebookHTMLExporter

    _STATE["exporter"] = NotebookHTMLExporter(template_name="basic", exclude_input=True,
                                              exclude_input_prompt=True,
                                              exclude_output_prompt=True)


def prepare_notebook_parent() -> dict[str, Any]:
    """``inproc`` engine, in the warm fork server after its imports: build the IPython shell,
    the HTML exporter and papermill's engine once, so each notebook's forked process starts
    with them. Returns the warnings filters a notebook starts with (those of a kernel: taken
    before papermill, which imports requests, is imported)."""
    import warnings

    from territoria.pipeline import inprocess

    inprocess.SHELL = inprocess.make_shell()
    filters = list(warnings.filters)
    import ipykernel_launcher  # noqa: F401
    import nbformat

    from territoria.pipeline.html import WARM_MARKDOWN, NotebookHTMLExporter

    inprocess.register_engine()
    _STATE["exporter"] = NotebookHTMLExporter(template_name="basic", exclude_input=True,
                                              exclude_input_prompt=True,
                                              exclude_output_prompt=True)
    nb = nbformat.v4.new_notebook()  # warm nbformat's validator and the templates
    nb.cells = [nbformat.v4.new_markdown_cell(WARM_MARKDOWN), nbformat.v4.new_code_cell(
        "1", execution_count=1, outputs=[nbformat.v4.new_output(
            "execute_result", {"text/plain": "1"}, execution_count=1)])]
    nbformat.validate(nb)
    _STATE["exporter"].from_notebook_node(nb)
    return {"filters": filters}


def run_in_child(job: dict[str, Any]) -> dict[str, Any]:
    """``inproc`` engine, in a notebook's process forked from the fork server: execute the
    notebook with papermill's in-process engine and write its page; the result as a dict."""
    from territoria.pipeline.inprocess import as_kernel_process

    as_kernel_process()
    _STATE["engine"] = "inproc-child"
    res = execute_job(Job(**job))
    res.engine = "inproc"
    from territoria.store import close_all

    close_all()  # the runner writes next: no read-only connection of ours in its way
    return res.to_dict()


def _manager_class(engine: str) -> type[KernelManager]:
    from territoria.pipeline.kernels import ForkKernelManager, IpcKernelManager

    return ForkKernelManager if engine == "fork" else IpcKernelManager


def _kernel_never_started(path: Path) -> bool:
    """True when papermill's output shows no cell was started (kernel start-up failure)."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return True
    for c in nb.cells:
        if c.cell_type == "code":
            st = c.get("metadata", {}).get("papermill", {}).get("status")
            if st not in (None, "pending"):
                return False
    return True


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _clean_end(nb: NotebookNode) -> NotebookNode:
    """A notebook that ended on purpose (``SystemExit(0)``: its inputs are not there yet,
    see :func:`territoria.steps.common.require_inputs`) is shown up to that cell, without
    IPython's "An exception has occurred" and "To exit" notes."""
    for i, cell in enumerate(nb.cells):
        outs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if any(o.get("output_type") == "error" and o.get("ename") == "SystemExit"
               and str(o.get("evalue", "")) in ("", "0") for o in outs):
            cell.outputs = [o for o in outs if o.get("output_type") != "error" and not (
                o.get("output_type") == "stream" and "To exit: use" in o.get("text", ""))]
            nb.cells = nb.cells[:i + 1]
            break
    return nb


def execute_job(job: Job) -> JobResult:
    """Execute one notebook with papermill and convert it to HTML (runs in a worker)."""
    if "engine" not in _STATE:
        init_worker(os.environ.get("TERRITORIA_ENGINE", "plain"), None)
    if _STATE["engine"] == "inproc":  # a relay: the notebook's process does the work
        return _execute_on_server(job)
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from territoria.pipeline.forkserver import ENV_ADDRESS, server_alive
    out = Path(job.output_path)
    html = Path(job.html_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if job.sidecar_path:  # a stale results file must never be collected for this run
        with contextlib.suppress(FileNotFoundError):
            os.unlink(job.sidecar_path)
    started = time.time()
    t0 = time.perf_counter()
    error: Failure | None = None
    attempts = 0
    engine = _STATE["engine"]
    while True:
        attempts += 1
        if engine == "inproc-child":
            from territoria.pipeline.inprocess import register_engine

            how: dict[str, Any] = {"engine_name": register_engine()}
        else:
            how = {"kernel_manager_class": _manager_class(engine),
                   "shutdown_kernel": "immediate"}
        try:
            pm.execute_notebook(
                job.input_path, str(out), parameters=job.parameters, kernel_name="python3",
                language="python", progress_bar=False, log_output=False, cwd=job.cwd,
                start_timeout=60, execution_timeout=job.timeout,
                # write the output once at the end (and on error, with papermill's banner)
                # instead of twice per cell: ~20 JSON writes saved per notebook
                request_save_on_cell_execute=False, **how,
            )
            error = None
            break
        except PapermillExecutionError as e:
            error = Failure(e.ename, str(e.evalue).strip().splitlines()[0] if e.evalue else "",
                            e.cell_index, e.exec_count)
            break
        except Exception as e:  # kernel start-up, dead kernel, timeout, papermill input error
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            error = Failure(type(e).__name__, first)
            if attempts == 1 and engine != "inproc-child" and _kernel_never_started(out):
                if engine == "fork":
                    if not server_alive(os.environ.get(ENV_ADDRESS)):
                        engine = _STATE["engine"] = "plain"
                continue
            break
    html_path: str | None = None
    if error is None:
        try:
            nb = _clean_end(nbformat.read(str(out), as_version=4))
            body, _ = _STATE["exporter"].from_notebook_node(nb)
            _write_atomic(html, body)
            html_path = str(html)
        except Exception as e:
            error = Failure(type(e).__name__, f"HTML conversion failed: {e}")
    if error is not None:  # never leave a stale page of an earlier success
        with contextlib.suppress(FileNotFoundError):
            html.unlink()
    return JobResult(job.step, job.territory_id, "ok" if error is None else "failed",
                     time.perf_counter() - t0, str(out), html_path, engine, attempts, error,
                     started, job.fingerprint)


def _execute_on_server(job: Job, address: str | None = None,
                       log: str | None = None) -> JobResult:
    """``inproc`` engine: the fork server (at ``address``, else the one named by the
    environment) forks a process that runs ``job`` and answers with its result (see
    :func:`run_in_child`). Given an ``address``, the process takes this one's environment
    and writes its stderr to ``log``."""
    from territoria.pipeline.forkserver import ENV_ADDRESS, run_notebook

    started = time.time()
    try:
        if address:
            return _result_from_dict(run_notebook(address, asdict(job), env=dict(os.environ),
                                                  log=log))
        return _result_from_dict(run_notebook(os.environ[ENV_ADDRESS], asdict(job)))
    except Exception as e:  # the notebook's process died, or the server is gone
        return JobResult(job.step, job.territory_id, "failed", time.time() - started,
                         job.output_path, None, "inproc", 1,
                         Failure("ProcessDied", str(e).splitlines()[0] if str(e) else ""),
                         started, job.fingerprint)


def _result_from_dict(d: dict[str, Any]) -> JobResult:
    err = d.get("error")
    d = {**d, "error": Failure(**err) if err else None}
    return JobResult(**d)


def _pipe(stream: IO[str] | None) -> IO[str]:
    """A pipe of a worker process (started with ``PIPE``, so never None)."""
    if stream is None:
        raise PipelineError("a worker process has no pipe to talk through")
    return stream


def _worker_main() -> None:  # pragma: no cover - runs in a worker process
    """Worker loop: one JSON job per line on stdin, one JSON result per line on the
    protocol pipe (the original stdout; fd 1 itself is pointed at stderr so that nothing a
    kernel or library prints can corrupt the protocol)."""
    import json
    import sys

    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    engine, address = sys.argv[1], sys.argv[2] or None
    init_worker(engine, address)
    proto.write("READY\n")
    proto.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            r = execute_job(Job(**json.loads(line)))
        except Exception as e:  # never let one job kill the worker
            j = json.loads(line)
            r = JobResult(j["step"], j["territory_id"], "failed", 0.0, j["output_path"], None,
                          _STATE.get("engine", engine), 1,
                          Failure(type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        proto.write(json.dumps(r.to_dict(), default=str) + "\n")
        proto.flush()


class RelayExecutor:
    """``inproc`` engine: N threads, each handing one notebook at a time to the fork server.

    With the ``inproc`` engine the notebook's own process (forked by the server) executes it,
    writes its page and answers with its result, so the pool needs no worker processes: a
    thread per slot waits on the server's socket (:func:`_execute_on_server`). Same interface
    as :class:`Executor`.

    Parameters
    ----------
    workers : int
        Notebooks executed at once.
    fork_address : str
        Socket of the running server (``notebooks`` mode).
    log_path : path-like, optional
        Where the notebooks' processes write stderr (they also take this process's
        environment: the server may be a shared one, started by another run).

    Examples
    --------
    >>> RelayExecutor(2, "/nonexistent.sock").run([])
    []
    """

    def __init__(self, workers: int, fork_address: str,
                 log_path: str | os.PathLike[str] | None = None) -> None:
        self.workers = max(1, int(workers))
        self.fork_address = fork_address
        self.log_path = str(log_path) if log_path else None

    def run(self, jobs: Iterable[Job],
            on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]:
        """Execute ``jobs``; call ``on_result(result)`` as each finishes; results in job order."""
        from concurrent.futures import ThreadPoolExecutor, as_completed

        todo = list(jobs)
        results: list[JobResult | None] = [None] * len(todo)
        if not todo:
            return []
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="territoria-relay")
        try:
            where = {pool.submit(_execute_on_server, job, self.fork_address, self.log_path): i
                     for i, job in enumerate(todo)}
            for fut in as_completed(where):
                r = results[where[fut]] = fut.result()  # never raises (see there)
                if on_result:
                    on_result(r)
        finally:  # interrupted: start nothing more (the notebooks running end on their own)
            pool.shutdown(wait=False, cancel_futures=True)
        return [r for r in results if r is not None]

    def close(self, cancel: bool = False) -> None:
        """Nothing to stop: the threads end with each :meth:`run`."""


class Executor:
    """A pool of worker processes executing :class:`Job` objects from one shared queue.

    Workers are plain subprocesses (``python -c ...``) that speak JSON lines, so the runner
    never forks itself and works from scripts without a ``__main__`` guard, notebooks and
    tests alike. A worker that dies is replaced; its notebook is reported as failed.

    Parameters
    ----------
    workers : int
        Number of worker processes (each runs one notebook at a time).
    engine : {"fork", "plain"}
    fork_address : str, optional
        Socket of the running :class:`~territoria.pipeline.forkserver.ForkServer` (fork engine).
    log_path : path-like, optional
        File receiving the workers' and kernels' stderr (default: discarded).
    """

    def __init__(self, workers: int = 2, engine: str = "plain", fork_address: str | None = None,
                 log_path: str | os.PathLike[str] | None = None) -> None:
        self.workers = max(1, int(workers))
        self.engine = engine
        self.fork_address = fork_address
        self.log_path = log_path
        self.procs: list[subprocess.Popen[str]] = [self._spawn() for _ in range(self.workers)]
        self.ready = [False] * self.workers  # said READY and is idle

    def _spawn(self) -> subprocess.Popen[str]:
        if not self.log_path:
            return self._popen(subprocess.DEVNULL)
        with open(self.log_path, "ab") as err:  # the worker keeps its own copy
            return self._popen(err)

    def _popen(self, stderr: int | IO[bytes]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c",
             "from territoria.pipeline.executor import _worker_main; _worker_main()",
             self.engine, self.fork_address or ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            encoding="utf-8", bufsize=1,
        )

    def run(self, jobs: Iterable[Job],
            on_result: Callable[[JobResult], None] | None = None) -> list[JobResult]:
        """Execute ``jobs``; call ``on_result(result)`` as each finishes; results in job order."""
        import json
        import select

        todo = list(jobs)
        queue = list(range(len(todo)))[::-1]
        results: list[JobResult | None] = [None] * len(todo)
        busy: dict[int, int] = {}  # proc index -> job index
        ready = self.ready

        def dispatch(k: int) -> None:
            if queue:
                i = queue.pop()
                busy[k] = i
                ready[k] = False
                pipe = _pipe(self.procs[k].stdin)
                pipe.write(json.dumps(asdict(todo[i]), default=str) + "\n")
                pipe.flush()

        def lost(k: int) -> None:
            i = busy.pop(k, None)
            if i is not None:
                j = todo[i]
                r = JobResult(j.step, j.territory_id, "failed", 0.0, j.output_path, None,
                              self.engine, 1, Failure("WorkerDied", "the worker process "
                                                      "stopped while running this notebook"),
                              time.time(), j.fingerprint)
                results[i] = r
                if on_result:
                    on_result(r)
            with contextlib.suppress(Exception):
                self.procs[k].kill()
                self.procs[k].wait()
            self.procs[k] = self._spawn()
            ready[k] = False

        for k in range(len(self.procs)):
            if ready[k]:
                dispatch(k)
        while queue or busy:
            streams = {_pipe(self.procs[k].stdout): k for k in range(len(self.procs))}
            readable, _, _ = select.select(list(streams), [], [], 1.0)
            for st in readable:
                k = streams[st]
                line = st.readline()
                if not line:
                    lost(k)
                    continue
                if not line.startswith("READY"):
                    i = busy.pop(k)
                    r = _result_from_dict(json.loads(line))
                    results[i] = r
                    if on_result:
                        on_result(r)
                ready[k] = True
                dispatch(k)
        return [r for r in results if r is not None]  # every job has its result

    def close(self, cancel: bool = False) -> None:
        """Stop the workers (``cancel`` kills them at once)."""
        for p in self.procs:
            with contextlib.suppress(Exception):
                if cancel:
                    p.kill()
                else:
                    _pipe(p.stdin).close()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            for st in (p.stdin, p.stdout):
                with contextlib.suppress(Exception):
                    if st is not None:
                        st.close()
        self.procs = []

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(cancel=exc_type is not None)
