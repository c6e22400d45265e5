"""Fixtures of the command-line tests."""

from __future__ import annotations

import subprocess
import sys

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
