"""Fixtures of the command-line tests."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

HOLD = """
import sys, time
from territoria.store import Store
with Store(sys.argv[1]):
    print("ready", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def hold_workspace():
    """Factory ``hold_workspace(store_path, seconds) -> Popen``: another process writing to the
    workspace (holding its lock) for ``seconds``; killed at the end of the test."""
    procs: list[subprocess.Popen] = []

    def hold(store_path, seconds: float) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", HOLD, str(store_path), str(seconds)],
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "ready"
        return p

    yield hold
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def invoke_while_busy(hold_workspace):
    """Factory ``invoke_while_busy(ws, args) -> Result``: ``territoria ARGS --wait 0.5`` while
    another process writes to ``ws``. Checks that it waited, failed, and said two lines on
    stderr, both naming the holder: that it waits, then the error."""
    from click.testing import CliRunner

    from territoria.cli import cli

    def invoke(ws, args: list[str]):
        p = hold_workspace(ws.store_path, 30)
        t0 = time.monotonic()
        r = CliRunner().invoke(cli, [*args, "--wait", "0.5"])
        assert time.monotonic() - t0 >= 0.5
        p.kill()
        p.wait()
        assert r.exit_code == 1
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(lines) == 2 and "Traceback" not in r.output, r.output
        waiting, busy = lines
        assert f"pid {p.pid}" in waiting and "0.5 s" in waiting
        assert busy.startswith("error: ") and f"pid {p.pid}" in busy and "--wait" in busy
        return r

    return invoke


@pytest.fixture
def city_in(tmp_path):
    """Factory ``city_in(language) -> Workspace``: an empty workspace (``ws/`` under the test's
    folder) whose city speaks ``language`` (``city.yml: default_language``)."""
    from territoria.config import init_workspace

    def make(language: str):
        ws = init_workspace(tmp_path / "ws", "Prueba")
        text = ws.city_file.read_text(encoding="utf-8")
        ws.city_file.write_text(text.replace("default_language: es",
                                             f"default_language: {language}"), encoding="utf-8")
        return ws

    return make
