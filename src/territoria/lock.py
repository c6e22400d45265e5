"""The workspace write lock: one writer at a time, a clear line for the one that waits.

Every process that opens the store for writing (:class:`territoria.store.Store` with
``read_only=False`` on a file) takes an exclusive lock on ``<store>.lock`` beside it and
writes there who holds it (process id, command line, since when, UTC). A second writer
waits up to ``wait`` seconds (``territoria ingest --wait S``; 60 by default, or the
``TERRITORIA_WAIT`` environment variable) and then stops with one line naming the holder.
Readers never take it.

The lock is an operating-system lock (``flock``): it is released when the holder ends,
even under ``kill -9``, so a stale lock file never blocks anyone. It is re-entrant inside a
process (nested stores share it) and a forked child does not inherit it. Where ``fcntl``
is missing (Windows) the lock does nothing and DuckDB's own file lock remains.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "territoria.duckdb"
>>> with write_lock(p, wait=0):
...     holder(p)["pid"] == os.getpid()
True
>>> holder(p) is None
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from territoria.exceptions import StoreError
from territoria.i18n import catalogue, tr

try:  # pragma: no cover - platform dependent
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

#: Seconds a second writer waits by default (``--wait``, ``TERRITORIA_WAIT``).
DEFAULT_WAIT = 60.0

MESSAGES = catalogue(__name__)



class WorkspaceBusy(StoreError):
    """Another process held the store longer than the wait."""


_state = threading.local()
_held: dict[str, list[int]] = {}  # lock path -> [fd, count]
_guard = threading.RLock()


def lock_path(store_path: str | os.PathLike[str]) -> Path:
    """The lock file of a store file."""
    p = Path(store_path)
    return p.with_name(p.name + ".lock")


def default_wait() -> float:
    """The wait set by :func:`set_default_wait`, else ``TERRITORIA_WAIT``, else 60 s."""
    w: float | None = getattr(_state, "wait", None)
    if w is not None:
        return w
    try:
        return float(os.environ.get("TERRITORIA_WAIT", DEFAULT_WAIT))
    except ValueError:
        return DEFAULT_WAIT


def set_default_wait(seconds: float | None) -> None:
    """Set how long writers of this process wait for the lock (None: back to the default)."""
    _state.wait = None if seconds is None else max(0.0, float(seconds))


def set_wait_notice(notice: Callable[[str], None] | None) -> None:
    """Call ``notice(line)`` once each time this process starts waiting for the workspace (a
    command line prints it: :func:`waiting_for`); None: wait silently."""
    _state.notice = notice


def notify_waiting(store_path: str | os.PathLike[str], info: dict[str, Any] | None,
                   wait: float) -> None:
    """Tell the notice set by :func:`set_wait_notice` (if any) that a wait begins."""
    notice = getattr(_state, "notice", None)
    if notice is not None and wait > 0:
        notice(_holder_line("waiting", store_path, info, wait))


@contextlib.contextmanager
def waiting_for(seconds: float | None,
                notice: Callable[[str], None] | None = None) -> Iterator[None]:
    """For a command's ``--wait``: writers in this thread wait ``seconds`` (None: the
    default) for the lock, and ``notice(line)`` says so when they start waiting.

    Examples
    --------
    >>> with waiting_for(5, print):
    ...     default_wait()
    5.0
    >>> default_wait() == 5.0
    False
    """
    old_wait, old_notice = getattr(_state, "wait", None), getattr(_state, "notice", None)
    if seconds is not None:
        set_default_wait(seconds)
    set_wait_notice(notice)
    try:
        yield
    finally:
        _state.wait, _state.notice = old_wait, old_notice


def _language() -> str:
    lang = os.environ.get("TERRITORIA_LANG", "es")
    return lang if lang in ("es", "en") else "es"


def holder(store_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Who holds the lock of ``store_path`` now (``pid, command, since``), or None."""
    lp = lock_path(store_path)
    if fcntl is None or not lp.exists():
        return None
    try:
        fd = os.open(lp, os.O_RDONLY)
    except OSError:
        return None
    try:
        with _guard:
            if str(lp) in _held:
                return _read_info(lp)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_info(lp) or {"pid": None, "command": None, "since": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_info(lp: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(lp.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _command() -> str:
    argv = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
    if argv[0] in ("__main__.py", "-c") or argv[0].startswith("python"):
        argv[0] = "territoria"
    return " ".join(argv)[:200]


def _holder_line(key: str, store_path: str | os.PathLike[str], info: dict[str, Any] | None,
                 wait: float) -> str:
    lang = _language()
    unknown = tr(MESSAGES, "unknown", lang)
    info = info or {}
    return tr(MESSAGES, key, lang, what=Path(store_path).parent, wait=wait,
              command=info.get("command") or unknown, pid=info.get("pid") or unknown,
              since=info.get("since") or unknown)


def busy_message(store_path: str | os.PathLike[str], info: dict[str, Any] | None,
                 wait: float) -> str:
    """The one line a waiting writer ends with."""
    return _holder_line("busy", store_path, info, wait)


@contextlib.contextmanager
def write_lock(store_path: str | os.PathLike[str], *, wait: float | None = None,
               optional: bool = False) -> Iterator[None]:
    """Hold the workspace write lock of ``store_path`` (re-entrant within a process).

    ``optional=True`` (readers taking a snapshot): where the lock file cannot be created
    (a read-only workspace, where no writer can be at work either) go on without it.

    Raises
    ------
    WorkspaceBusy
        When another process still holds it after ``wait`` seconds: one line naming it.
    """
    if fcntl is None or str(store_path) == ":memory:":
        yield
        return
    lp = lock_path(store_path)
    key = str(lp)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            acquired_here = False
        else:
            acquired_here = True
    if acquired_here:
        try:
            fd = _acquire(lp, store_path, default_wait() if wait is None else wait)
        except _NoLockFile:
            if not optional:
                raise
            yield
            return
        with _guard:
            _held[key] = [fd, 1]
    try:
        yield
    finally:
        with _guard:
            ent = _held.get(key)
            if ent is not None:
                ent[1] -= 1
                if ent[1] <= 0:
                    del _held[key]
                    _release(ent[0])


class _NoLockFile(StoreError):
    """The lock file cannot be created (read-only workspace, no permission)."""


def _acquire(lp: Path, store_path: str | os.PathLike[str], wait: float) -> int:
    try:
        lp.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lp, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as e:
        raise _NoLockFile(f"{lp}: cannot create the workspace lock ({e.strerror})") from None
    deadline = time.monotonic() + wait
    pause = 0.05
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if not told:
                notify_waiting(store_path, _read_info(lp), wait)
                told = True
            if time.monotonic() >= deadline:
                info = _read_info(lp)
                os.close(fd)
                raise WorkspaceBusy(busy_message(store_path, info, wait)) from None
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 1.5, 0.5)
    info = {"pid": os.getpid(), "command": _command(),
            "since": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")}
    with contextlib.suppress(OSError):  # who holds it is a courtesy; the flock is the lock
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    return fd


def _release(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


def _forget_in_child() -> None:  # a forked child must not keep (or release) its parent's lock
    global _guard
    _guard = threading.RLock()  # another thread may have held it at the fork
    for fd, _ in list(_held.values()):
        with contextlib.suppress(OSError):
            os.close(fd)  # the parent's descriptor still holds the flock
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
