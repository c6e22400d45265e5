"""Atomic publication of a built folder: no moment without a site, no leftovers.

``site`` is a symbolic link to a versioned folder ``.site-<UTC time>-<pid>``. A new site is
built in ``.site.tmp-<pid>``, renamed to its versioned name, and the link is switched with
one ``rename`` of a new link over the old one (atomic on POSIX): a reader, a web server or a
``kill -9`` at any moment finds either the old site or the new one, whole. The previous
version stays until the next publish (a page being read keeps its files). Folders left by a
killed publish (``.site.tmp-*``, older versions, ``.site.old-*`` of the earlier scheme) are
removed by the next publish, unless the process that made them is still running.

A workspace whose ``site`` is still a real folder (published before this scheme) is moved
aside once, the first time. Where symbolic links are not available the two renames of the
earlier scheme are used.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for text in ("v1", "v2"):
...     tmp = temp_dir(root)
...     tmp.mkdir()
...     _ = (tmp / "index.html").write_text(text)
...     site = swap_in(tmp, root / "site")
>>> (root / "site" / "index.html").read_text(), (root / "site").is_symlink()
('v2', True)
>>> sorted(p.name.split("-")[0] for p in root.iterdir())  # the new and the previous version
['.site', '.site', 'site']
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
from pathlib import Path

_PID = re.compile(r"^\.site(?:\.tmp|\.old|\.link|-\d{8}T\d{6}\d*)-(\d+)$")


def temp_dir(root: Path) -> Path:
    """Where this process builds a new site (removed first if a previous one was left)."""
    tmp = Path(root) / f".site.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours: left by an earlier call in this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(root: Path, keep: Path | None = None) -> list[str]:
    """Remove ``.site.tmp-*``, ``.site.old-*`` and unused ``.site-*`` folders whose process
    ended (never ``keep``, the current link target). Returns the names removed."""
    root = Path(root)
    current = None
    site = root / "site"
    if site.is_symlink():
        current = (root / os.readlink(site)).name
    removed = []
    for p in root.iterdir():
        m = _PID.match(p.name)
        if not m or p.name == current or (keep is not None and p.name == keep.name):
            continue
        mine = int(m.group(1)) == os.getpid()
        if not mine and _alive(int(m.group(1))):
            continue  # another publish is building it right now
        if p.is_symlink() or p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
        else:
            shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed


def swap_in(built: Path, final: Path) -> Path:
    """Make the folder ``built`` the content of ``final`` atomically; returns ``final``."""
    built, final = Path(built), Path(final)
    root = final.parent
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    version = root / f".site-{stamp}-{os.getpid()}"
    os.replace(built, version)
    link = root / f".site.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.symlink(version.name, link, target_is_directory=True)
    except (OSError, NotImplementedError):  # no symbolic links here: two renames
        old = root / f".site.old-{os.getpid()}"
        if final.exists() or final.is_symlink():
            os.replace(final, old)
        os.replace(version, final)
        shutil.rmtree(old, ignore_errors=True)
        return final
    previous = (root / os.readlink(final)) if final.is_symlink() else None
    if final.exists() and not final.is_symlink():  # a site published by the earlier scheme
        os.replace(final, root / f".site.old-{os.getpid()}")
    os.replace(link, final)  # the one atomic step
    # the previous version stays until the next publish: a page being read keeps its files
    clean_leftovers(root, keep=previous)
    return final
