"""The warm server's client side: a server shared by a user's runs (``--keep-warm``)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from territoria.pipeline import forkserver
from territoria.pipeline.runner import run
from territoria.store import Store

NOTEBOOKS = Path(__file__).parent / "notebooks"
needs_fork = pytest.mark.skipif(not forkserver.fork_supported(), reason="fork is Linux-only")


@pytest.fixture
def private_tmp(monkeypatch):
    """A short temporary folder of its own (Unix socket paths are short)."""
    d = Path(tempfile.mkdtemp(prefix="tw-", dir="/tmp" if os.path.isdir("/tmp") else None))
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def _population(ws):
    with Store(ws.store_path, read_only=True) as s:
        df = s.query("SELECT territory_id, value FROM indicators WHERE name = 'population' "
                     "ORDER BY territory_id")
    return dict(zip(df.territory_id, df.value, strict=True))


@pytest.mark.slow
@needs_fork
def test_a_shared_server_serves_the_next_run_and_exits_when_idle(private_tmp, tmp_path,
                                                                  make_ws):
    ws = make_ws(tmp_path / "ws", [("T1", 1000.0, True), ("T2", 2000.0, True)])
    srv = forkserver.shared("notebooks", idle=3.0)
    assert srv is not None and Path(srv.address).parent == private_tmp / f"territoria-{os.getuid()}"
    first = run(ws, steps="00,01", engine="inproc", notebooks_dir=NOTEBOOKS, progress=False,
                server=srv)
    assert first.counts["ok"] == 3 and first.engine == "inproc"
    assert forkserver.server_alive(srv.address)  # left up for the next run
    again = forkserver.shared("notebooks", idle=3.0)
    assert again is not None and again.address == srv.address and again.preloaded == ["shared"]
    second = run(ws, steps="00,01", engine="inproc", notebooks_dir=NOTEBOOKS, progress=False,
                 force=True, server=again)
    assert second.counts["ok"] == 3
    assert _population(ws) == {"T1": 1000.0, "T2": 2000.0}
    deadline = time.monotonic() + 30
    while forkserver.server_alive(srv.address) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not forkserver.server_alive(srv.address)  # unused for 3 s: gone


@needs_fork
def test_no_sharing_through_a_folder_others_can_open(private_tmp):
    d = private_tmp / f"territoria-{os.getuid()}"
    d.mkdir(mode=0o700)
    os.chmod(d, 0o777)
    assert forkserver.shared("notebooks", idle=60) is None
    assert forkserver.shared("notebooks", idle=0) is None  # sharing off


def test_another_python_path_or_mode_is_another_server(monkeypatch):
    a = forkserver.server_key("notebooks")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert forkserver.server_key("notebooks") != a
    assert forkserver.server_key("kernels") != forkserver.server_key("notebooks")


def test_a_bad_keep_warm_is_one_line(tmp_path, make_ws):
    from click.testing import CliRunner

    from territoria.cli import cli

    ws = make_ws(tmp_path / "ws", [("T1", 1.0, True)])
    r = CliRunner().invoke(cli, ["run", "-w", str(ws.root), "--keep-warm", "soon"])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: TERRITORIA_KEEP_WARM must be a number of seconds (0 turns the shared warm "
        "server off), got 'soon'"]
