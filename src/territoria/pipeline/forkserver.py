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
import hashlib
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
from typing import IO, Any

from territoria.exceptions import PipelineError

#: Environment variable naming the fork server's socket (read by the kernel managers).
ENV_ADDRESS = "TERRITORIA_FORK_SERVER"

_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

#: What the server is told to import when the caller names no modules: its default list.
DEFAULT = "default"

#: Environment variable: seconds a shared warm server stays up unused (0: no shared server).
ENV_KEEP_WARM = "TERRITORIA_KEEP_WARM"

#: Default of :data:`ENV_KEEP_WARM` for ``territoria run``.
DEFAULT_KEEP_WARM = 600.0

#: Shared servers this process launched and left serving (kept so they are not reaped early).
_DETACHED: list[subprocess.Popen[bytes]] = []


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


def run_notebook(address: str, job: dict[str, Any], env: dict[str, str] | None = None,
                 log: str | None = None) -> dict[str, Any]:
    """Ask a fork server in ``notebooks`` mode to run one notebook job in a forked process;
    returns the job's result (see :func:`territoria.pipeline.executor.run_in_child`).

    The notebook's process takes ``env`` as its environment and writes its stderr to ``log``
    when given (a shared server serves runs of other environments and workspaces).

    Raises
    ------
    PipelineError
        The process died before answering, or the server is gone.
    """
    req: dict[str, Any] = {"op": "run", "job": job}
    if env is not None:
        req["env"] = dict(env)
    if log:
        req["log"] = str(log)
    result: dict[str, Any] = _request(address, req, timeout=None)["result"]
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
                 log_path: str | os.PathLike[str] | None = None, mode: str = "kernels", *,
                 address: str | None = None, idle: float = 0.0) -> None:
        if mode not in ("kernels", "notebooks"):
            raise PipelineError(f"unknown fork server mode '{mode}' (allowed: kernels, "
                                "notebooks)")
        self.mode = mode
        self.preload = tuple(preload or ())
        self.log_path = Path(log_path) if log_path else None
        self.address = address or str(runtime_dir() / f"fork-{uuid.uuid4().hex[:8]}.sock")
        self.idle = float(idle)  # > 0: shared, outlives this process (see shared())
        self.proc: subprocess.Popen[bytes] | None = None
        self.preloaded: list[str] = []
        self._launch_lock: IO[str] | None = None  # held while a shared server starts

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
               self.address, ",".join(self.preload) or DEFAULT, self.mode, str(self.idle)]
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
        if self.preloaded:  # ready (or a shared server found running)
            return self
        if self.proc is None:
            raise PipelineError("the fork server was not launched")
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
        self._release_launch_lock()
        if not line.startswith(b"READY"):
            self.idle = 0.0  # stop it, shared or not
            self.close()
            raise PipelineError("the warm-kernel fork server did not start (use --engine plain)")
        self.preloaded = [m for m in line.decode().split()[1].split(",") if m]
        return self

    def _release_launch_lock(self) -> None:
        if self._launch_lock is not None:
            self._launch_lock.close()  # closing the file releases its lock
            self._launch_lock = None

    def ping(self) -> bool:
        """True if the server answers."""
        return server_alive(self.address)

    def close(self, wait: bool = True) -> None:
        """Stop the server (kernels it forked are stopped by their managers).

        With ``wait=False`` the server is told to stop and a background thread waits for it
        to exit, so the caller (a run that has finished) does not: freeing a warm process's
        memory takes ~0.2 s.
        """
        self._release_launch_lock()
        proc, self.proc = self.proc, None
        if self.idle > 0:  # shared: left serving (it exits after `idle` idle seconds)
            if proc is not None:
                if proc.stdout:
                    proc.stdout.close()
                _DETACHED.append(proc)
            return
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


def keep_warm_seconds(value: str | float | None = None) -> float:
    """Seconds a shared warm server stays up unused: ``value``, else
    ``$TERRITORIA_KEEP_WARM``, else :data:`DEFAULT_KEEP_WARM`; 0 turns sharing off.

    Examples
    --------
    >>> keep_warm_seconds("0"), keep_warm_seconds(30)
    (0.0, 30.0)
    >>> keep_warm_seconds("soon")
    Traceback (most recent call last):
    ...
    territoria.exceptions.PipelineError: TERRITORIA_KEEP_WARM must be a number of seconds (0 turns the shared warm server off), got 'soon'
    """
    raw = os.environ.get(ENV_KEEP_WARM) if value is None else value
    if raw is None or raw == "":
        return DEFAULT_KEEP_WARM
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        raise PipelineError(f"{ENV_KEEP_WARM} must be a number of seconds (0 turns the shared "
                            f"warm server off), got {raw!r}") from None
    return max(0.0, seconds)


def _shared_dir() -> Path | None:
    """``/tmp/territoria-<uid>`` (0700, ours), where shared servers listen; None if unsafe."""
    if not hasattr(os, "getuid"):
        return None
    d = Path(tempfile.gettempdir()) / f"territoria-{os.getuid()}"
    try:
        d.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return None
    if not (os.path.isdir(d) and not os.path.islink(d) and st.st_uid == os.getuid()
            and st.st_mode & 0o077 == 0):
        return None  # someone else's folder, or open to others: never share through it
    return d


#: Environment variables that change what a server imports or how (part of its key).
_KEY_ENV = ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "MPLCONFIGDIR", "HOME")


def server_key(mode: str, preload: Iterable[str] = ()) -> str:
    """What a shared server must match to be reused: the interpreter, the import path and
    the state of every folder on it (an installed or upgraded package changes its
    folder), the kit's own files (an edited module, text or form), a few environment
    variables, the mode.

    Examples
    --------
    >>> server_key("notebooks") == server_key("notebooks") != server_key("kernels")
    True
    """
    h = hashlib.sha256()
    for part in (sys.executable, sys.version, mode, ",".join(preload),
                 *(f"{k}={os.environ.get(k, '')}" for k in _KEY_ENV)):
        h.update(part.encode("utf-8", "replace") + b"\0")
    here = os.getcwd()
    for entry in sys.path:
        if entry in ("", here):  # the current folder: not what the server imports
            continue
        with contextlib.suppress(OSError):
            st = os.stat(entry)
            h.update(f"{entry}:{st.st_mtime_ns}\0".encode("utf-8", "replace"))
    kit = Path(__file__).resolve().parents[1]
    roots = [kit]  # its code and data (texts, vocabulary), and in a source checkout the forms
    if (kit.parents[1] / "pyproject.toml").is_file():
        roots += [kit.parents[1] / "surveys", kit.parents[1] / "methodology"]
    for root in roots:
        for f in sorted(root.rglob("*")):
            if f.suffix == ".pyc" or "__pycache__" in f.parts:
                continue
            with contextlib.suppress(OSError):
                st = f.stat()
                h.update(f"{f}:{st.st_mtime_ns}:{st.st_size}\0".encode("utf-8", "replace"))
    return h.hexdigest()[:24]


def shared(mode: str = "notebooks", idle: float = DEFAULT_KEEP_WARM) -> ForkServer | None:
    """A warm server shared by the runs of this user: the running one, or one launched now
    that stays up until it has been unused for ``idle`` seconds.

    Each notebook is still a fresh process forked from a server that never ran notebook
    code; sharing only spares the next run the server's start-up (~3 s of imports). The
    server is found by :func:`server_key`: after an upgrade, an edit of the kit or with
    another ``PYTHONPATH`` a new one starts (the old one exits when idle). Its socket is in
    a folder only this user can open. Returns None when sharing is off (``idle`` 0), unsafe
    (no private folder) or another run is starting the same server right now (the caller
    then starts a private one).
    """
    if idle <= 0 or not fork_supported():
        return None
    d = _shared_dir()
    if d is None:
        return None
    key = server_key(mode)
    srv = ForkServer(mode=mode, log_path=d / f"warm-{key}.log",
                     address=str(d / f"warm-{key}.sock"), idle=idle)
    if server_alive(srv.address):
        srv.preloaded = ["shared"]  # ready: nothing to wait for
        return srv
    import fcntl

    lock = open(d / f"warm-{key}.lock", "w")  # noqa: SIM115  held until the server is ready
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    if server_alive(srv.address):  # started between the two checks
        lock.close()
        srv.preloaded = ["shared"]
        return srv
    srv._launch_lock = lock
    try:
        return srv.launch()
    except (OSError, PipelineError):
        srv._release_launch_lock()
        return None


def prelaunch(engine: str, log_path: str | os.PathLike[str] | None = None,
              keep_warm: float = 0.0) -> ForkServer | None:
    """Launch, without waiting, the warm server that a run with ``engine`` will use.

    ``territoria run`` calls this first, before it imports the runner, reads the store and
    compares fingerprints: the server imports the libraries on the other core meanwhile.
    With ``keep_warm`` > 0 (the ``inproc`` engine) the server is the user's shared one
    (:func:`shared`): found running, or launched to stay up for the next runs. The log (the
    notebooks' stderr) is emptied first: it is the last run's. Hand the server to
    :func:`territoria.pipeline.runner.run` (``server=``), which uses it or, when every
    notebook is up to date, stops (or leaves) it.

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
        mode = "kernels" if engine == "fork" else "notebooks"
        srv = shared(mode, keep_warm) if keep_warm > 0 and mode == "notebooks" else None
        return srv or ForkServer(log_path=log_path, mode=mode).launch()
    except (OSError, PipelineError):
        return None
