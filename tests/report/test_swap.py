"""Atomic site swap and leftovers of killed publishes (issue 16, item 7)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from territoria.report.swap import clean_leftovers, swap_in, temp_dir


def _build(root, text):
    tmp = temp_dir(root)
    tmp.mkdir()
    (tmp / "index.html").write_text(text)
    return tmp


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_legacy_folder_then_links_and_stale_leftovers_removed(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("legacy")
    dead = _dead_pid()
    (tmp_path / f".site.tmp-{dead}").mkdir()          # left by a killed publish
    (tmp_path / f".site.old-{dead}").mkdir()
    live = tmp_path / f".site.tmp-{os.getppid()}"       # another publish still running
    live.mkdir()
    swap_in(_build(tmp_path, "v1"), tmp_path / "site")
    assert (tmp_path / "site").is_symlink()
    assert (tmp_path / "site" / "index.html").read_text() == "v1"
    names = {p.name for p in tmp_path.iterdir()}
    assert f".site.tmp-{dead}" not in names and f".site.old-{dead}" not in names
    assert live.name in names
    swap_in(_build(tmp_path, "v2"), tmp_path / "site")
    versions = [p for p in tmp_path.iterdir() if p.name.startswith(".site-")]
    assert len(versions) == 2 and (tmp_path / "site" / "index.html").read_text() == "v2"
    swap_in(_build(tmp_path, "v3"), tmp_path / "site")  # only the new and the previous stay
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".site-")]) == 2


def test_never_a_moment_without_a_site(tmp_path):
    swap_in(_build(tmp_path, "v0"), tmp_path / "site")
    misses, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                (tmp_path / "site" / "index.html").read_text()
            except OSError as e:
                misses.append(e)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(40):
            swap_in(_build(tmp_path, f"v{i}"), tmp_path / "site")
    finally:
        stop.set()
        t.join()
    assert misses == []


def test_clean_leftovers_keeps_the_current_site(tmp_path):
    swap_in(_build(tmp_path, "v1"), tmp_path / "site")
    target = os.readlink(tmp_path / "site")
    assert clean_leftovers(tmp_path) == []
    assert (tmp_path / target).is_dir()
