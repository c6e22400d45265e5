"""The workspace write lock, tested with real concurrent processes (issue 16: no command
breaks another)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from territoria.config import init_workspace
from territoria.lock import WorkspaceBusy, holder, lock_path, write_lock
from territoria.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")

HOLD = textwrap.dedent("""
    import sys, time
    from territoria.store import Store
    with Store(sys.argv[1], read_only=sys.argv[2] == "ro") as s:
        print("ready", flush=True)
        time.sleep(float(sys.argv[3]))
""")


def _hold(path, mode, seconds):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode, str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "territoria", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "w", "Iztapalapa")
    Store(w.store_path).close()
    return w


def test_second_writer_waits_then_names_the_holder(ws, tmp_path):
    p = _hold(ws.store_path, "rw", 30)
    try:
        info = holder(ws.store_path)
        assert info["pid"] == p.pid and "territoria" in info["command"]
        t0 = time.monotonic()
        with pytest.raises(WorkspaceBusy) as e:
            Store(ws.store_path, wait=0.5)
        assert time.monotonic() - t0 >= 0.5
        msg = str(e.value)
        assert f"pid {p.pid}" in msg and "UTC" in msg and "\n" not in msg
        f = tmp_path / "zonas.csv"
        f.write_text("zone_id,name\nDT01,Aculco\n", encoding="utf-8")
        r = _cli("ingest", "-w", ws.root, f, "--wait", "0.5")
        assert r.returncode == 1
        err = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(err) == 1 and f"pid {p.pid}" in err[0] and "Traceback" not in r.stderr
    finally:
        p.kill()
        p.wait()


def test_a_waiting_writer_goes_on_when_the_holder_ends(ws, tmp_path):
    p = _hold(ws.store_path, "rw", 1.5)
    f = tmp_path / "zonas.csv"
    f.write_text("zone_id,name\nDT01,Aculco\n", encoding="utf-8")
    r = _cli("ingest", "-w", ws.root, f, "--wait", "30")
    p.wait()
    assert r.returncode == 0, r.stderr
    assert "zonas.csv" in r.stdout


def test_kill_9_releases_the_lock(ws):
    p = _hold(ws.store_path, "rw", 60)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert holder(ws.store_path) is None
    Store(ws.store_path, wait=0).close()


def test_a_reader_never_makes_a_writer_fail(ws):
    readers = [_hold(ws.store_path, "ro", 1.0)]
    try:
        # the writer opens while a reader holds the file: it retries instead of failing
        with Store(ws.store_path, wait=20) as s, s.transaction():
            s.execute("INSERT INTO meta VALUES ('probe', '1')")
    finally:
        for r in readers:
            r.wait()


def test_info_during_a_writer_says_who_writes_and_the_writer_goes_on(ws):
    p = _hold(ws.store_path, "rw", 20)
    try:
        r = _cli("info", "-w", ws.root)
        assert r.returncode == 0, r.stderr
        assert f"pid {p.pid}" in r.stdout
        assert p.poll() is None  # the writer is still there, not aborted
    finally:
        p.kill()
        p.wait()


def test_many_concurrent_ingests_and_infos_none_aborted(ws, tmp_path):
    files = []
    for i in range(4):
        f = tmp_path / f"z{i}.csv"
        f.write_text(f"zone_id,name\nDT0{i},Zona {i}\n", encoding="utf-8")
        files.append(f)
    procs = [subprocess.Popen([sys.executable, "-m", "territoria", "ingest", "-w", str(ws.root),
                               str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for f in files]
    procs += [subprocess.Popen([sys.executable, "-m", "territoria", "info", "-w", str(ws.root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
    outs = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    assert all(rc == 0 for rc, _ in outs), outs
    with Store(ws.store_path, read_only=True) as s:
        assert s.count("zones") == 4


def test_lock_is_reentrant_in_a_process(tmp_path):
    p = tmp_path / "s.duckdb"
    with write_lock(p, wait=0), write_lock(p, wait=0):
        assert holder(p)["pid"] == os.getpid()
    assert holder(p) is None and lock_path(p).exists()


def test_read_only_workspace_snapshot_reads_writer_says_one_line(ws, monkeypatch):
    import territoria.lock as lock
    from territoria.exceptions import StoreError

    def no_file(lp, store_path, wait):
        raise lock._NoLockFile(f"{lp}: cannot create the workspace lock (Read-only file system)")

    monkeypatch.setattr(lock, "_acquire", no_file)
    with Store.snapshot(ws.store_path) as s:  # publish still reads
        assert "meta" in s.tables()
    with pytest.raises(StoreError, match="Read-only file system"):
        Store(ws.store_path)


def test_a_command_waiting_for_its_own_readers_does_not_name_itself(ws):
    """`territoria run` holds the workspace lock and loads results while one of its notebook
    processes still closes its read-only connection: it waits, and says nothing of "another
    command" (which would name the run itself); a stranger's reader is still named."""
    from territoria.lock import waiting_for

    heard = []
    with write_lock(ws.store_path, wait=20), waiting_for(20, heard.append):
        own = _hold(ws.store_path, "ro", 1.0)  # a child of this process
        try:
            with Store(ws.store_path, wait=20) as s, s.transaction():
                s.execute("INSERT INTO meta VALUES ('own', '1')")
        finally:
            own.wait()
    assert heard == []

    # a stranger: not a descendant (the shell starts it in the background and exits, so it
    # is adopted by init); it says "ready" through the inherited pipe
    stranger = subprocess.Popen(
        ["sh", "-c", '"$0" -c "$1" "$2" ro 1.5 &', sys.executable, HOLD, str(ws.store_path)],
        stdout=subprocess.PIPE, text=True)
    assert stranger.stdout.readline().strip() == "ready"
    stranger.wait()
    with waiting_for(20, heard.append), Store(ws.store_path, wait=20) as s, s.transaction():
        s.execute("INSERT INTO meta VALUES ('stranger', '1')")
    assert len(heard) == 1
