"""Kernel-less execution of a notebook inside a freshly forked process (papermill engine).

The ``inproc`` engine of ``territoria run``: the fork server
(:class:`~territoria.pipeline.forkserver.ForkServer`, ``mode="notebooks"``) imports the heavy
libraries once, builds the shell, papermill's engine and the HTML exporter, and for each
notebook forks a child process that runs stock ``papermill.execute_notebook`` with the engine
registered here (``engine_name="territoria-inprocess"``), writes the HTML page, answers with
the result and exits. Papermill still parses the parameters cell, injects the parameters
cell, records cell metadata, writes the one output notebook, adds its error banner and raises
:class:`papermill.exceptions.PapermillExecutionError` naming the failing cell. Only the
execution differs: the cells run in an IPython shell inside the child, so there is no kernel
to start, no ZeroMQ sockets and no message round trip per cell. Each notebook still has a
fresh process forked from a parent that ran no notebook code (no state leaks between
territories), as with the ``fork`` engine.

What the shell records is what a Jupyter kernel sends: ``stream`` outputs (consecutive writes
merged), ``display_data`` from ``display()`` and Matplotlib's inline backend,
``execute_result`` of a cell's last expression with its execution count, and ``error`` with
name, value and traceback. As in nbclient, empty cells and cells tagged ``skip-execution``
are not executed, a cell tagged ``raises-exception`` may fail without stopping the notebook
(papermill still reports its error at the end, as with a kernel), and ``execution_timeout``
limits each cell (``TimeoutError``). Fork is Linux-only
(:func:`territoria.pipeline.kernels.fork_supported`).

Examples
--------
>>> ENGINE_NAME
'territoria-inprocess'
>>> _merge_stream([], "stdout", "a")
[{'output_type': 'stream', 'name': 'stdout', 'text': 'a'}]
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from nbformat import NotebookNode
from traitlets import default

if TYPE_CHECKING:  # papermill is imported when the engine is registered (see there)
    from papermill.engines import NotebookExecutionManager

#: Name under which the engine is registered with papermill.
ENGINE_NAME = "territoria-inprocess"


def _merge_stream(outputs: list[dict[str, Any]], name: str,
                  text: str) -> list[dict[str, Any]]:
    """Append ``text`` to ``outputs`` as nbclient does: one output per run of same-stream text."""
    if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1]["name"] == name:
        outputs[-1]["text"] += text
    else:
        outputs.append({"output_type": "stream", "name": name, "text": text})
    return outputs


class _Sink:
    """The current cell's outputs, and its stdout/stderr text not yet flushed into them.

    As in ipykernel, stream text is buffered per stream and flushed (stdout first) before
    anything is displayed and at the end of the cell.
    """

    outputs: list[dict[str, Any]] = []
    pending: dict[str, str] = {"stdout": "", "stderr": ""}

    @classmethod
    def flush(cls) -> None:
        for name in ("stdout", "stderr"):
            if cls.pending[name]:
                _merge_stream(cls.outputs, name, cls.pending[name])
                cls.pending[name] = ""

    @classmethod
    def add(cls, output: dict[str, Any]) -> None:
        cls.flush()
        cls.outputs.append(output)


class _Stream:
    """``sys.stdout``/``sys.stderr`` replacement writing ``stream`` outputs of the cell."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        if text:
            _Sink.pending[self.name] += str(text)
        return len(text or "")

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1 if self.name == "stdout" else 2

    @property
    def closed(self) -> bool:
        return False


class _Publisher(DisplayPublisher):
    def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None,
                source: str | None = None, *, transient: dict[str, Any] | None = None,
                update: bool = False, **kw: Any) -> None:
        if update:
            return
        _Sink.add({"output_type": "display_data", "data": dict(data),
                   "metadata": dict(metadata or {})})

    def clear_output(self, wait: bool = False) -> None:
        _Sink.flush()
        _Sink.outputs.clear()


class _DisplayHook(DisplayHook):
    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict[str, Any],
                          md_dict: dict[str, Any] | None = None) -> None:
        _Sink.add({"output_type": "execute_result", "data": dict(format_dict),
                   "metadata": dict(md_dict or {}), "execution_count": self.prompt_count})


class ZMQCompatibleShell(InteractiveShell):
    """An in-process IPython shell that records outputs as a Jupyter kernel would send them.

    The name contains "zmq" on purpose: libraries ask whether they run under a notebook
    frontend by looking for it in the shell's type (pandas' ``in_ipython_frontend``), and the
    answer must be the same as under ipykernel's ``ZMQInteractiveShell``.
    """

    displayhook_class = _DisplayHook
    display_pub_class = _Publisher

    @default("compiler_class")
    def _default_compiler_class(self) -> type:  # ipykernel's: cells compiled as /tmp/ipykernel_<pid>/
        from ipykernel.compiler import XCachingCompiler

        return XCachingCompiler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import warnings

        # as ipykernel's ZMQInteractiveShell does, so warnings filters match a kernel's
        warnings.filterwarnings("ignore", category=RuntimeWarning,
                                message=".*Trio's signal handling code might have collided.*")

    def _showtraceback(self, etype: type[BaseException], evalue: BaseException,
                       stb: list[str]) -> None:
        self._last_traceback = stb
        _Sink.add({"output_type": "error", "ename": str(etype.__name__),
                   "evalue": str(evalue), "traceback": list(stb)})

    def enable_gui(self, gui: str | None = None) -> None:  # no event loop integration in a batch run
        pass


def make_shell() -> ZMQCompatibleShell:
    """The shell (create it in the warm parent; every forked child gets an unused copy)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    return ZMQCompatibleShell.instance(config=cfg)


def as_kernel_process() -> None:
    """What a kernel process has and a forked worker does not: ``''`` on ``sys.path`` where
    IPython puts it (before site-packages) and ``sys.argv`` of ``ipykernel_launcher``."""
    import types

    import ipykernel_launcher
    from IPython.core.shellapp import InteractiveShellApp

    InteractiveShellApp.init_path(types.SimpleNamespace(ignore_cwd=False))  # type: ignore[arg-type]
    sys.argv = [ipykernel_launcher.__file__]


def _alarm(signum: int, frame: FrameType | None) -> NoReturn:  # pragma: no cover - fires inside a cell
    raise TimeoutError("cell execution timed out")


def run_cell(shell: InteractiveShell, cell: NotebookNode, timeout: float | None = None) -> bool:
    """Execute one code cell, filling ``cell.outputs`` and ``cell.execution_count``.

    Returns False if the cell raised.
    """
    outputs: list[dict[str, Any]] = []
    _Sink.outputs = outputs
    _Sink.pending = {"stdout": "", "stderr": ""}
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
    count = shell.execution_count
    if timeout:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))
    try:
        result = shell.run_cell(cell.source, store_history=True)
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        sys.stdout, sys.stderr = out, err
        _Sink.flush()
    cell.execution_count = count
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return bool(result.success)


#: The shell every notebook of this process runs in (set by the warm parent, see
#: :func:`make_shell`; created on first use otherwise).
SHELL: InteractiveShell | None = None


def execute_managed_notebook(nb_man: NotebookExecutionManager, kernel_name: str | None,
                             execution_timeout: float | None = None,
                             **kwargs: Any) -> NotebookNode:
    """The engine's work: each cell in turn, stopping at the first error, with papermill's
    bookkeeping (``cell_start``, ``cell_exception``, ``cell_complete``)."""
    global SHELL
    if SHELL is None:
        SHELL = make_shell()
    for index, cell in enumerate(nb_man.nb.cells):
        try:
            nb_man.cell_start(cell, index)
            tags = cell.metadata.get("tags", [])
            if cell.cell_type != "code" or not cell.source.strip() or "skip-execution" in tags:
                continue
            ok = run_cell(SHELL, cell, execution_timeout)
            if not ok and "raises-exception" not in tags:
                nb_man.cell_exception(cell, cell_index=index)
                break
        finally:
            nb_man.cell_complete(cell, cell_index=index)
    done: NotebookNode = nb_man.nb
    return done


def register_engine() -> str:
    """Register the engine with papermill (imported here: papermill imports requests, whose
    warnings filters a kernel does not have); returns its name."""
    from papermill.engines import Engine, papermill_engines

    class InProcessEngine(Engine):
        """Papermill engine running the cells in this process's IPython shell."""

        execute_managed_notebook = staticmethod(execute_managed_notebook)

    papermill_engines.register(ENGINE_NAME, InProcessEngine)
    return ENGINE_NAME
