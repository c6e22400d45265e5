"""Warm Jupyter kernels: fresh kernel processes forked from a parent that imported everything.

Starting a plain IPython kernel and importing pandas, seaborn, statsmodels and pingouin costs
about 2 s per notebook; the analysis itself costs a fraction of that. A :class:`ForkServer` is a
long-lived process that imports those libraries once and then, on request, forks a child that
becomes a normal ipykernel (``IPKernelApp``) listening on the connection file jupyter_client
wrote. Each notebook still gets its own fresh process (no state leaks from one territory to the
next); only the start-up is shared.

Papermill uses it through :class:`ForkKernelManager`, an ``AsyncKernelManager`` whose
provisioner asks the fork server for a process instead of calling ``Popen``::

    papermill.execute_notebook(src, dst, kernel_manager_class=ForkKernelManager, ...)

with the server's address in the ``TERRITORIA_FORK_SERVER`` environment variable. Everything
else (injected-parameters cell, error banner, executed output notebook) is stock papermill.

Both managers use Unix-socket (``ipc``) transport with a private short runtime folder, which
avoids the "Address already in use" port races of TCP start-up (nteract/papermill#511).

Notes
-----
After the fork the child resets what a fresh kernel would have fresh: environment variables,
working directory, ``sys.path``, ``sys.argv``, warnings filters, pandas options, matplotlib
rcParams, open figures, and the random seeds (``random`` and NumPy's legacy global generator).
Libraries imported by the parent stay imported (that is the point); matplotlib's backend is
the inline one, exactly as in a kernel started by Jupyter. Fork is Linux-only
(:func:`fork_supported`); elsewhere the runner uses :class:`IpcKernelManager` (plain kernels).

Examples
--------
>>> fork_supported() in (True, False)
True
>>> IpcKernelManager().transport
'ipc'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from queue import Empty
from typing import TYPE_CHECKING, Any

from jupyter_client import AsyncKernelClient, AsyncKernelManager
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import default

from territoria.exceptions import PipelineError
from territoria.steps.registry import STEPS

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Modules the fork server imports before it accepts requests.
DEFAULT_PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "statsmodels.api",
    "statsmodels.formula.api",
    "pingouin",
    "duckdb",
    "territoria",
    "territoria.store",
    "territoria.report.record",
    "territoria.analysis",
    "territoria.analysis.polis",
    "territoria.charts",
    "pandas.io.formats.html",  # what displaying and saving tables imports on first use
    "pandas.io.formats.string",
    "pandas.io.formats.csvs",
    "pandas.core.methods.to_dict",
    "pandas.core.reshape.reshape",
    "territoria.steps.common",
    "territoria.steps.display",  # the notebooks' tables (its warm_cache reads the catalogue)
    "territoria.steps.citywide",  # its warm_cache digests the code (key of city-wide results)
    "territoria.vocabulary",  # its warm_cache reads the forms' choice lists
    *(s.module for s in STEPS),  # every step module, from the one step registry
    "sklearn.cluster",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "jedi",
    # what IPKernelApp.initialize imports in every kernel (~140 modules, ~0.13 s a kernel)
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "sqlite3",
    "tornado.gen",
    "tornado.queues",
    "tornado.platform.asyncio",
    "http.server",
    "xmlrpc.server",
    "encodings.idna",
    "encodings.latin_1",
)

from territoria.pipeline.forkserver import (  # noqa: E402  the client side, re-exported
    _INLINE_BACKEND,
    DEFAULT,
    ENV_ADDRESS,
    fork_kernel,
    fork_supported,
    kernel_status,
    runtime_dir,
)


# ------------------------------------------------------------------------------------------
# Server side
# ------------------------------------------------------------------------------------------
def warm_up(preload: Iterable[str]) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Import ``preload`` and warm Matplotlib in a process that will fork notebook processes.

    Follows Python's recipe for fork without exec (docs of ``gc.freeze``): the collector is
    disabled here; the caller freezes what was built and each child re-enables collection,
    so the children's collector never walks (and so never copies) the parent's objects.

    Returns
    -------
    loaded : list of str
        The modules that imported (a missing optional library only costs speed).
    base : dict
        ``path`` and ``filters``: ``sys.path`` before the imports, and the warnings filters
        after them (the filters libraries install when imported are what a fresh kernel has
        once the notebook imported them), for :func:`reset_process_state`.
    snap : dict
        ``rc``: Matplotlib's rcParams after the warm-up (without the backend).
    """
    import gc
    import warnings

    gc.disable()
    base: dict[str, Any] = {"path": list(sys.path)}
    loaded = []
    for name in preload:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:
            pass
    for name in loaded:  # a module may fill its caches once here, for every forked notebook
        warm = getattr(sys.modules.get(name), "warm_cache", None)
        if callable(warm):
            with contextlib.suppress(Exception):
                warm()
    snap: dict[str, Any] = {}
    if "matplotlib" in sys.modules:
        import matplotlib

        with contextlib.suppress(Exception):  # warm the font cache and the Agg renderer
            import io

            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure()
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            ax.plot([0, 1], [0, 1])
            ax.set_title("warm-up")
            fig.savefig(io.BytesIO(), format="png")
        snap["rc"] = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
    base["filters"] = list(warnings.filters)
    return loaded, base, snap


def _serve_main() -> None:  # pragma: no cover - runs in the server process
    address, preload = sys.argv[1], [m for m in sys.argv[2].split(",") if m]
    if preload == [DEFAULT]:
        preload = list(DEFAULT_PRELOAD)
    # What a kernel started by `python -m ipykernel_launcher` has: no cwd entry on sys.path
    # (IPython adds '' itself).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    import gc

    loaded, base, snap = warm_up(preload)
    mode = sys.argv[3] if len(sys.argv) > 3 else "kernels"
    # 0: serve the process that launched it, exit when it is gone; N > 0: a shared warm server
    # (forkserver.shared) that outlives runs and exits after N idle seconds
    idle = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    if mode == "notebooks":  # notebooks run in the forked process itself (engine inproc)
        from territoria.pipeline.executor import prepare_notebook_parent

        base.update(prepare_notebook_parent())
    gc.freeze()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):
        os.unlink(address)
    old = os.umask(0o177)
    srv.bind(address)
    os.umask(old)
    srv.listen(64)
    srv.settimeout(1.0)
    sys.stdout.write("READY " + ",".join(loaded) + "\n")
    sys.stdout.flush()
    # Nobody reads the pipe after READY: point fd 1 at the log (fd 2), or every forked kernel
    # that writes to its process stdout would block once the pipe buffer (64 KiB) is full.
    os.dup2(2, 1)
    ppid = os.getppid()
    exited: dict[int, int] = {}
    children: set[int] = set()
    last = time.monotonic()  # last request, or last moment a child ran

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                return
            if pid == 0:
                return
            children.discard(pid)
            exited[pid] = os.waitstatus_to_exitcode(status)

    while True:
        reap()
        if children:
            last = time.monotonic()
        elif idle > 0:
            if time.monotonic() - last > idle:  # no work for `idle` seconds (pings aside)
                break
        elif os.getppid() != ppid:  # the runner is gone
            break
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(10.0)
            try:
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        break
                    buf += chunk
                req = json.loads(buf)
                op = req.get("op")
                if op in ("run", "fork"):  # work, not a ping, keeps a shared server up
                    last = time.monotonic()
                reply: dict[str, Any]
                if op == "ping":
                    reply = {"ok": True}
                elif op == "status":
                    reap()
                    pid = int(req["pid"])
                    if pid in exited:
                        reply = {"returncode": exited.pop(pid)}
                    else:
                        reply = {"returncode": None if pid in children else -1}
                elif op == "fork":
                    pid = os.fork()
                    if pid == 0:
                        _kernel_child(srv, conn, req, base, snap)  # never returns
                    children.add(pid)
                    reply = {"pid": pid}
                elif op == "run" and mode == "notebooks":
                    pid = os.fork()
                    if pid == 0:
                        _notebook_child(srv, conn, req, base, snap)  # never returns
                    children.add(pid)
                    continue  # the child answers
                elif op == "shutdown":
                    conn.sendall(b'{"ok": true}\n')
                    break
                else:
                    reply = {"error": f"unknown op {op!r}"}
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except Exception as e:  # keep serving
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode()
                                 + b"\n")
    srv.close()
    with contextlib.suppress(OSError):
        os.unlink(address)


def reset_process_state(base_path: Iterable[str], base_filters: Iterable[Any],
                        rc: dict[RcKeyType, Any] | None = None) -> None:
    """Reset per-process state a fresh kernel would have fresh (called in a forked child)."""
    import random
    import warnings

    sys.path[:] = list(base_path)
    warnings.filters[:] = list(base_filters)  # type: ignore[index]  # typeshed: a Sequence
    warnings._filters_mutated()  # type: ignore[attr-defined]
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "pandas" in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(Exception):
                sys.modules["pandas"].reset_option("all")
    if "matplotlib" in sys.modules:
        import matplotlib

        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
        if rc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                matplotlib.rcParams.update(rc)
        backend = os.environ.get("MPLBACKEND")
        if backend:
            matplotlib.rcParams._set("backend", backend)  # no backend import before the shell


def _as_requester(req: dict[str, Any]) -> None:  # pragma: no cover - forked child
    """Take the environment and the log of the run that asked (a shared server serves runs
    of other environments and workspaces than the one that launched it)."""
    env = req.get("env")
    if isinstance(env, dict):
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)
    log = req.get("log")
    if log:
        with contextlib.suppress(OSError):
            fd = os.open(str(log), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)


def _notebook_child(srv: socket.socket, conn: socket.socket, req: dict[str, Any],
                    base: dict[str, Any], snap: dict[str, Any]) -> None:  # pragma: no cover - forked child
    """Run one notebook job in this fresh process and answer on ``conn`` (engine inproc)."""
    code = 1
    try:
        srv.close()
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _as_requester(req)
        reset_process_state(base["path"], base["filters"], snap.get("rc"))
        import gc

        gc.enable()
        from territoria.pipeline.executor import run_in_child

        reply = run_in_child(req["job"])
        conn.settimeout(None)
        conn.sendall(json.dumps({"result": reply}, default=str).encode("utf-8") + b"\n")
        code = 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            conn.close()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _kernel_child(srv: socket.socket, conn: socket.socket, req: dict[str, Any],
                  base: dict[str, Any], snap: dict[str, Any]) -> None:  # pragma: no cover - forked child
    code = 1
    try:
        srv.close()
        conn.close()
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(req["env"])
        os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)
        os.chdir(req["cwd"])
        reset_process_state(base["path"], base["filters"], snap.get("rc"))
        import gc

        gc.enable()
        import ipykernel_launcher

        sys.argv = [ipykernel_launcher.__file__, *req["args"]]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=list(req["args"]))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# ------------------------------------------------------------------------------------------
# jupyter_client integration
# ------------------------------------------------------------------------------------------
class _ForkedProcess:
    """The bits of ``subprocess.Popen`` that ``LocalProvisioner`` uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, address: str) -> None:
        self.pid = pid
        self.address = address
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = kernel_status(self.address, self.pid)
            except (OSError, PipelineError, ValueError):  # server gone: ask the OS
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    self.returncode = -1
                except PermissionError:
                    self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if timeout is not None and deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


#: Poll interval while a killed kernel exits (jupyter_client sleeps 0.1 s per poll, twice per
#: shutdown: with hundreds of notebooks that alone costs minutes).
EXIT_POLL = 0.005


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by asking the fork server instead of calling ``Popen``."""

    async def wait(self) -> int | None:
        ret = 0
        if self.process:
            while await self.poll() is None:
                await asyncio.sleep(EXIT_POLL)
            ret = self.process.wait()
            self.process = None
        return ret

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        address = os.environ.get(ENV_ADDRESS)
        if not address:
            raise PipelineError(f"no fork server ({ENV_ADDRESS} is not set)")
        args = _kernel_args(cmd)
        env = kwargs.get("env") or dict(os.environ)
        cwd = kwargs.get("cwd") or os.getcwd()
        pid = fork_kernel(address, args, env, str(cwd))
        # duck-typed: LocalProvisioner only polls, waits and signals its process
        self.process = _ForkedProcess(pid, address)  # type: ignore[assignment]
        self.pid = pid
        self.pgid = pid  # the child called setsid()
        self.cwd = cwd
        return self.connection_info


def _kernel_args(cmd: list[str]) -> list[str]:
    """IPKernelApp arguments from a kernelspec command; only this interpreter's ipykernel."""
    for i, part in enumerate(cmd):
        if part in ("ipykernel_launcher", "ipykernel") and i > 0 and cmd[i - 1] == "-m":
            exe = cmd[0]
            if exe != "python" and os.path.realpath(shutil.which(exe) or exe) != \
                    os.path.realpath(sys.executable):
                raise PipelineError(f"kernel interpreter {exe} is not {sys.executable}; "
                                    "use the plain engine")
            return list(cmd[i + 1:])
    raise PipelineError(f"kernel command {cmd[:3]} is not an ipykernel; use the plain engine")


class ReadyKernelClient(AsyncKernelClient):
    """An async kernel client whose ``wait_for_ready`` does not idle for 0.2 s at the end.

    jupyter_client's ``wait_for_ready`` ends by draining IOPub until no message arrived for
    0.2 s: a fixed 0.2 s per kernel, which with hundreds of notebooks is minutes. This one
    returns as soon as the kernel has answered ``kernel_info`` on the shell channel *and*
    reported ``idle`` for it on IOPub (the last message a kernel sends for a request), so IOPub
    is known to be connected and drained. If the IOPub subscription was made after the kernel
    published that status (the kernel's ``iopub_welcome`` tells when the subscription is up),
    one more ``kernel_info`` is sent; kernels without the welcome message fall back to
    jupyter_client's behaviour (ask again after 0.2 s of silence).
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            if await self._reply(msg_id) and await self._idle(msg_id):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _reply(self, msg_id: str, timeout: float = 1.0) -> bool:
        """Wait for the ``kernel_info_reply`` to ``msg_id`` (older replies are dropped)."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self.shell_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (msg["msg_type"] == "kernel_info_reply"
                    and msg["parent_header"].get("msg_id") == msg_id):
                self._handle_kernel_info_reply(msg)
                return True
        return False

    async def _idle(self, msg_id: str) -> bool:
        """Drain IOPub up to the ``idle`` status of ``msg_id`` (False: ask again)."""
        ids = {msg_id}
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=0.2)
            except Empty:
                return False
            kind = msg["msg_type"]
            if kind == "iopub_welcome":  # subscribed only now: the first status may be lost
                again = self.kernel_info()
                if not await self._reply(again):
                    return False
                ids.add(again)
            elif (kind == "status" and msg["content"].get("execution_state") == "idle"
                  and msg["parent_header"].get("msg_id") in ids):
                return True


class IpcKernelManager(AsyncKernelManager):
    """A stock async kernel manager on Unix-socket transport with private connection files."""

    @default("client_factory")
    def _default_client_factory(self) -> type[ReadyKernelClient]:
        return ReadyKernelClient

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, EXIT_POLL))

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc" if fork_supported() else "tcp"

    def _setup_paths(self) -> None:
        if not self.connection_file:
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            stem = runtime_dir() / f"k-{self.kernel_id[:12]}"
            self.connection_file = str(stem) + ".json"
            if self.transport == "ipc":
                self.ip = str(stem) + "-ipc"

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._setup_paths()
        return await super()._async_pre_start_kernel(**kw)


class ForkKernelManager(IpcKernelManager):
    """Kernel manager whose kernels are forked from the warm :class:`ForkServer`."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._setup_paths()
        if self.provisioner is None:
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                               kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)
