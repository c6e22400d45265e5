"""The fork server's client side: start it, wait for it, ask it for processes, stop it.

A :class:`ForkServer` is a process that imports the heavy libraries once and forks, on
request, a kernel (``kernels`` mode, :mod:`territoria.pipeline.kernels`) or a process that runs
one notebook (``notebooks`` mode, :mod:`territoria.pipeline.inprocess`). This module holds
only what the *caller* needs and imports nothing but the standard library, so a command can
launch the server before it imports pandas or Jupyter itself: the server warms up while the
caller reads the store and checks fingerprints. The server's side (what it imports, how it
forks) is :func:`territoria.pipeline.kernels.warm_up` and its main loop.

Examples
--------
>>> fork_supported() in (True, False)
True
>>> ForkServer(preload=("json",)).preload
('json',)
>>> ForkServer().preload  # the server's own list (kernels.DEFAULT_PRELOAD)
()
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from territoria.exceptions import PipelineError

#: Environment variable naming the fork server's socket (read by the kernel managers).
ENV_ADDRESS = "TERRITORIA_FORK_SERVER"

_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

#: What the server is told to import when the caller names no modules: its default list.
DEFAULT = "default"


def fork_supported() -> bool:
    """True where warm forked kernels work (Linux with ``os.fork`` and Unix sockets)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


_RUNTIME: dict[str, Path] = {}


def runtime_dir() -> Path:
    """A private (0700) short folder for connection files and ipc sockets of this process.

    Unix socket paths are limited to about 100 characters, so this lives directly under the
    system temporary folder (``/tmp`` when available), not in Jupyter's runtime folder.
    """
    d = _RUNTIME.get(str(os.getpid()))
    if d is None or not d.is_dir():
        base = "/tmp" if os.path.isdir("/tmp") else None
        d = Path(tempfile.mkdtemp(prefix="terr-", dir=base))
        os.chmod(d, 0o700)
        _RUNTIME[str(os.getpid())] = d
        pid, made = os.getpid(), d

        def remove() -> None:  # only in the process that made it, not in forked children
            if os.getpid() == pid:
                shutil.rmtree(made, ignore_errors=True)

        atexit.register(remove)
    return d


# ------------------------------------------------------------------------------------------
# Client side: talk to the fork server
# ------------------------------------------------------------------------------------------
def _request(address: str, payload: dict[str, Any],
             timeout: float | None = 30.0) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(json.dumps(payload).encode("utf-8") + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    if not buf:
        raise PipelineError(f"fork server at {address} closed the connection without answering")
    reply = json.loads(buf)
    if not isinstance(reply, dict):
        raise PipelineError(f"fork server at {address} answered {str(reply)[:80]!r}")
    if "error" in reply:
        raise PipelineError(f"fork server: {reply['error']}")
    return reply


def fork_kernel(address: str, args: list[str], env: dict[str, str], cwd: str) -> int:
    """Ask the fork server for a kernel process; returns its pid.

    ``args`` are the ``IPKernelApp`` command-line arguments (e.g. ``["-f", conn_file]``).
    """
    return int(_request(address, {"op": "fork", "args": list(args), "env": dict(env),
                                  "cwd": str(cwd)})["pid"])


def run_notebook(address: str, job: dict[str, Any]) -> dict[str, Any]:
    """Ask a fork server in ``notebooks`` mode to run one notebook job in a forked process;
    returns the job's result (see :func:`territoria.pipeline.executor.run_in_child`).

    Raises
    ------
    PipelineError
        The process died before answering, or the server is gone.
    """
    result: dict[str, Any] = _request(address, {"op": "run", "job": job}, timeout=None)["result"]
    return result


def server_alive(address: str | None) -> bool:
    """True if a fork server answers at ``address``."""
    if not address:
        return False
    try:
        return bool(_request(address, {"op": "ping"}, timeout=5.0).get("ok", False))
    except (OSError, PipelineError, ValueError):
        return False


def kernel_status(address: str, pid: int) -> int | None:
    """Exit status of a forked kernel, or None while it runs."""
    code = _request(address, {"op": "status", "pid": int(pid)}, timeout=5.0)["returncode"]
    return None if code is None else int(code)


class ForkServer:
    """A process that imports the heavy libraries once and forks kernels on request.

    Parameters
    ----------
    preload : sequence of str, optional
        Modules to import before serving (missing ones are skipped); by default the
        server's own list (:data:`territoria.pipeline.kernels.DEFAULT_PRELOAD`).
    log_path : path-like, optional
        Where the server and its kernels write stderr (default: discarded).

    Examples
    --------
    >>> srv = ForkServer(preload=("json",)).start()  # doctest: +SKIP
    >>> srv.ping()  # doctest: +SKIP
    True
    >>> srv.close()  # doctest: +SKIP
    """

    def __init__(self, preload: Iterable[str] | None = None,
                 log_path: str | os.PathLike[str] | None = None, mode: str = "kernels") -> None:
        if mode not in ("kernels", "notebooks"):
            raise PipelineError(f"unknown fork server mode '{mode}' (allowed: kernels, "
                                "notebooks)")
        self.mode = mode
        self.preload = tuple(preload or ())
        self.log_path = Path(log_path) if log_path else None
        self.address = str(runtime_dir() / f"fork-{uuid.uuid4().hex[:8]}.sock")
        self.proc: subprocess.Popen[bytes] | None = None
        self.preloaded: list[str] = []

    def start(self, timeout: float = 120.0) -> ForkServer:
        """Start the server and wait until it has imported everything and listens.

        Raises
        ------
        PipelineError
            If fork is unsupported here, or the server does not come up in ``timeout`` s.
        """
        return self.launch().wait_ready(timeout)

    def launch(self) -> ForkServer:
        """Start the server process without waiting for it (see :meth:`wait_ready`)."""
        if not fork_supported():
            raise PipelineError("warm forked kernels need Linux; use the plain engine")
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", _INLINE_BACKEND)
        cmd = [sys.executable, "-c",
               "import sys; from territoria.pipeline.kernels import _serve_main; _serve_main()",
               self.address, ",".join(self.preload) or DEFAULT, self.mode]
        if not self.log_path:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=env, cwd=os.getcwd(),
                                         start_new_session=True)
            return self
        with open(self.log_path, "ab") as err:  # the server keeps its own copy
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=err, env=env, cwd=os.getcwd(),
                                         start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 120.0) -> ForkServer:
        """Wait until the launched server listens; raise :class:`PipelineError` otherwise."""
        if self.proc is None:
            raise PipelineError("the fork server was not launched")
        if self.preloaded:
            return self
        deadline = time.monotonic() + timeout
        line = b""
        out = self.proc.stdout
        if out is None:
            raise PipelineError("the fork server was launched without its pipe")
        while time.monotonic() < deadline:
            ready, _, _ = select.select([out], [], [], 0.2)
            if ready:
                line = out.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line.startswith(b"READY"):
            self.close()
            raise PipelineError("the warm-kernel fork server did not start (use --engine plain)")
        self.preloaded = [m for m in line.decode().split()[1].split(",") if m]
        return self

    def ping(self) -> bool:
        """True if the server answers."""
        return server_alive(self.address)

    def close(self, wait: bool = True) -> None:
        """Stop the server (kernels it forked are stopped by their managers).

        With ``wait=False`` the server is told to stop and a background thread waits for it
        to exit, so the caller (a run that has finished) does not: freeing a warm process's
        memory takes ~0.2 s.
        """
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, PipelineError, ValueError):
            if proc.poll() is None:
                _request(self.address, {"op": "shutdown"}, timeout=2.0)
        if wait:
            _reap(proc, self.address)
        else:
            threading.Thread(target=_reap, args=(proc, self.address), daemon=True,
                             name="territoria-fork-server-exit").start()

    def __enter__(self) -> ForkServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reap(proc: subprocess.Popen[bytes], address: str) -> None:
    """Wait for a stopped server to exit (kill it after 5 s) and remove its socket."""
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout:
        proc.stdout.close()
    with contextlib.suppress(OSError):
        os.unlink(address)


def prelaunch(engine: str, log_path: str | os.PathLike[str] | None = None) -> ForkServer | None:
    """Launch, without waiting, the warm server that a run with ``engine`` will use.

    ``territoria run`` calls this first, before it imports the runner, reads the store and
    compares fingerprints: the server imports the libraries on the other core meanwhile.
    The log (the server's and its notebooks' stderr) is emptied first: it is the last run's.
    Hand the server to :func:`territoria.pipeline.runner.run` (``server=``), which uses it
    or, when every notebook is up to date, stops it.

    Returns
    -------
    ForkServer or None
        None for the ``plain`` engine, where fork is unsupported, or if it cannot start (the
        run then starts its own, or falls back to plain kernels).

    Examples
    --------
    >>> prelaunch("plain") is None
    True
    """
    if engine not in ("auto", "inproc", "fork") or not fork_supported():
        return None
    try:
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            Path(log_path).write_bytes(b"")
        return ForkServer(log_path=log_path,
                          mode="kernels" if engine == "fork" else "notebooks").launch()
    except (OSError, PipelineError):
        return None
