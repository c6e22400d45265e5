"""City-wide results computed once per store state, shared by every territory notebook.

A territory notebook often sets its figures beside the city's: the city's perceived
insecurity (step 02), the city's representation ratios with their bootstrap intervals
(step 01). Those city figures are the same for every territory, and computing them is the
expensive part of the notebook: at ten times the sample city, step 02 spent 0.65 s of its
0.8 s on the city. :func:`cached` computes such a result once and keeps it in the
workspace (``output/cache/``) under a key that follows what it was computed from:

- the name of the result and its parameters (JSON),
- the digest of every store table (and column) it reads (:meth:`Store.digest
  <territoria.store.Store.digest>`: order-independent, so reloading the same rows keeps
  the key),
- the kit's code (a digest of the package's source files) and version.

Change one row of a table it reads, or the code, and the key changes: the next notebook
computes it again. Every other notebook of the run, in any worker process, on any machine
that sees the workspace (the shared filesystem :mod:`territoria.pipeline.dask_engine`
documents), reads the file. While one process computes, the others wait for it on a file
lock instead of computing the same thing. The files are Parquet written through DuckDB,
replaced atomically; a damaged or unreadable file is computed again, never trusted. Older
keys of the same result are removed when a new one is written.

Whatever a notebook gets, it is what was read back from the file, so the notebook that
computed the result and the notebooks that read it record identical values.

Examples
--------
>>> import tempfile, pandas as pd
>>> from types import SimpleNamespace
>>> from territoria.store import Store
>>> ctx = SimpleNamespace(store=Store(":memory:"),  # a notebook's StepContext has both
...                       ws=SimpleNamespace(output_dir=tempfile.mkdtemp()))
>>> calls = []
>>> def city():
...     calls.append(1)
...     return pd.DataFrame({"level": ["city"], "estimate": [0.25]})
>>> a = cached(ctx, "example", reads={"zones": None}, compute=city)
>>> b = cached(ctx, "example", reads={"zones": None}, compute=city)
>>> a.equals(b), len(calls)
(True, 1)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import territoria

try:  # POSIX; elsewhere two processes may both compute (same result, some time lost)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Folder of the cache, inside the workspace's ``output/``.
CACHE_DIR = "cache"

Frames = pd.DataFrame | tuple[pd.DataFrame, ...]

#: Results already read in this process, by key: (one frame, not a tuple?, the frames).
_MEMORY: dict[str, tuple[bool, tuple[pd.DataFrame, ...]]] = {}


@functools.cache
def code_digest() -> str:
    """SHA-256 of the kit's version and of every Python source file of the package.

    Computed once per process (about 200 files, a few milliseconds).
    """
    root = Path(territoria.__file__).parent
    h = hashlib.sha256(territoria.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\x00")
        h.update(path.read_bytes())
    return h.hexdigest()


def warm_cache() -> None:
    """Digest the kit's code now: the pipeline's fork server calls this once, so the notebooks
    it forks find it done."""
    code_digest()


def key(store, name: str, reads: Mapping[str, Sequence[str] | None],
        params: Mapping[str, Any] | None = None) -> str:
    """The cache key of ``name`` computed from ``reads`` with ``params`` (see module notes)."""
    h = hashlib.sha256(name.encode() + b"\x00" + code_digest().encode())
    h.update(json.dumps(params or {}, sort_keys=True, default=str).encode())
    for table in sorted(reads):
        cols = reads[table]
        h.update(f"\n{table}:{store.digest(table, list(cols) if cols else None)}".encode())
    return h.hexdigest()


def cached(ctx, name: str, *, reads: Mapping[str, Sequence[str] | None],
           compute: Callable[[], Frames], params: Mapping[str, Any] | None = None) -> Frames:
    """A city-wide result, computed once per store state and code (see the module notes).

    Parameters
    ----------
    ctx : StepContext
        The notebook's context (its workspace holds the cache).
    name : str
        The result's name (a file-name-safe word, e.g. ``s02_safety_levels``).
    reads : mapping
        ``{table: columns or None}``: everything ``compute`` reads from the store (``None``:
        the whole table). What is not named here does not change the key, so name it all.
    compute : callable
        Computes the result: a DataFrame or a tuple of DataFrames.
    params : mapping, optional
        Parameters of the result (JSON-serialisable), part of the key.

    Returns
    -------
    DataFrame or tuple of DataFrames
        Copies: changing them changes nothing for the next caller.
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"cache name '{name}' must be letters, digits and underscores")
    k = key(ctx.store, name, reads, params)
    if k not in _MEMORY:
        _MEMORY[k] = _load_or_compute(Path(ctx.ws.output_dir) / CACHE_DIR, name, k, compute)
    single, frames = _MEMORY[k]
    out = tuple(f.copy() for f in frames)
    return out[0] if single else out


def _load_or_compute(folder: Path, name: str, k: str,
                     compute: Callable[[], Frames]) -> tuple[bool, tuple[pd.DataFrame, ...]]:
    stem = f"{name}-{k[:32]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only workspace: compute, keep nothing
        return _as_frames(compute())
    got = _read(folder, stem)
    if got is not None:
        return got
    with _locked(folder / f"{stem}.lock"):
        got = _read(folder, stem)  # another process computed it while this one waited
        if got is not None:
            return got
        result = compute()
        frames = result if isinstance(result, tuple) else (result,)
        try:
            _write(folder, stem, frames, single=not isinstance(result, tuple))
        except (OSError, duckdb.Error):  # a full or read-only disk: compute, keep nothing
            return _as_frames(result)
        _prune(folder, name, stem)
        got = _read(folder, stem)
    return got if got is not None else _as_frames(result)


def _as_frames(result: Frames) -> tuple[bool, tuple[pd.DataFrame, ...]]:
    return (False, result) if isinstance(result, tuple) else (True, (result,))


def _read(folder: Path, stem: str) -> tuple[bool, tuple[pd.DataFrame, ...]] | None:
    """The frames stored under ``stem``, or None when missing or unreadable."""
    manifest = folder / f"{stem}.json"
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        frames = []
        con = duckdb.connect()
        try:
            for i in range(int(meta["frames"])):
                path = folder / f"{stem}-{i}.parquet"
                df = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).df()
                frames.append(df.astype(meta["dtypes"][i]))
        finally:
            con.close()
    except (OSError, ValueError, KeyError, TypeError, duckdb.Error):
        return None
    return bool(meta.get("single")), tuple(frames)


def _write(folder: Path, stem: str, frames: tuple[pd.DataFrame, ...], *, single: bool) -> None:
    """Write each frame as Parquet, then the manifest; each file replaced atomically."""
    con = duckdb.connect()
    try:
        for i, df in enumerate(frames):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}-{i}.", suffix=".parquet")
            os.close(fd)
            os.chmod(tmp, 0o644)
            con.register("frame", df.reset_index(drop=True))
            con.execute(f"COPY (SELECT * FROM frame) TO '{_sql_path(tmp)}' (FORMAT parquet)")
            con.unregister("frame")
            os.replace(tmp, folder / f"{stem}-{i}.parquet")
    finally:
        con.close()
    meta = {"frames": len(frames), "single": single,
            "dtypes": [{c: str(t) for c, t in df.dtypes.items()} for df in frames]}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".json")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    os.replace(tmp, folder / f"{stem}.json")


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def _prune(folder: Path, name: str, keep: str) -> None:
    """Remove the files of older keys of ``name`` (best effort)."""
    for p in folder.glob(f"{name}-*"):
        if not p.name.startswith(keep):
            with contextlib.suppress(OSError):
                p.unlink()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (no-op where ``fcntl`` is missing)."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
