"""territoria lab: the classroom from the command line, and a real Jupyter server on it."""

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.request
import uuid

import nbformat
import pytest
from click.testing import CliRunner

from territoria.cli import cli
from territoria.cli import lab as lab_mod
from territoria.teaching.classroom import exercise_notebooks, step_notebooks


@pytest.fixture(scope="module")
def lab_ws(published_ws, tmp_path_factory):
    """A copy of the published sample city with a one-learner classroom (no steps to run:
    the published fixture ran them for this territory)."""
    ws, ids = published_ws
    root = tmp_path_factory.mktemp("lab") / "ws"
    shutil.copytree(ws.root, root, ignore=shutil.ignore_patterns("site"))
    key = root.parent / "answer-key.csv"
    r = CliRunner().invoke(cli, ["lab", str(root), "--territory", ids[0], "--prepare-only",
                                 "--answer-key", str(key)])
    assert r.exit_code == 0, r.output
    return root, ids[0], r.output


@pytest.mark.slow
def test_lab_prepare_only_writes_the_classroom(lab_ws):
    root, tid, output = lab_ws
    assert "classroom:" in output and tid in output
    learner = root / "classroom" / "learner-1"
    assert sorted(p.name for p in learner.glob("*.ipynb")) == \
        sorted(p.name for p in step_notebooks())
    assert sorted(p.name for p in (learner / "exercises").glob("*.ipynb")) == \
        sorted(p.name for p in exercise_notebooks())
    import pandas as pd

    from territoria.teaching import CHECKS

    key = pd.read_csv(root.parent / "answer-key.csv", dtype=str)
    assert sorted(key["key"]) == sorted(CHECKS) and set(key["territory_id"]) == {tid}
    # the trainer's key stays outside the classroom the learners open
    assert not list((root / "classroom").rglob("*answer*"))
    nb = nbformat.read(learner / "01_network.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and f'territory = "{tid}"' in injected[0].source


def test_lab_errors_are_one_line(tmp_path):
    (tmp_path / "x.txt").write_text("not a workspace")
    r = CliRunner().invoke(cli, ["lab", str(tmp_path), "--prepare-only"])
    assert r.exit_code == 1 and r.output.startswith("error:") and "not a workspace" in r.output
    r = CliRunner().invoke(cli, ["lab", str(tmp_path / "new"), "--learners", "0",
                                 "--prepare-only"])
    assert r.exit_code == 1 and "--learners" in r.output


@pytest.mark.slow
def test_lab_opens_jupyterlab_on_the_classroom(lab_ws, monkeypatch):
    root, tid, _ = lab_ws
    calls = []
    monkeypatch.setattr(lab_mod.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    # JupyterLab is the optional [lab] extra: the command is checked without it installed
    monkeypatch.setitem(sys.modules, "jupyterlab", types.ModuleType("jupyterlab"))
    r = CliRunner().invoke(cli, ["lab", str(root), "-t", tid, "--no-browser", "--port", "8899"])
    assert r.exit_code == 0, r.output
    assert calls and calls[0][1:3] == ["-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={root / 'classroom'}" in calls[0]
    assert "--no-browser" in calls[0] and "--port=8899" in calls[0]


@pytest.mark.slow
def test_lab_without_jupyterlab_says_how_to_install(lab_ws, monkeypatch):
    root, tid, _ = lab_ws
    monkeypatch.setitem(sys.modules, "jupyterlab", None)  # import fails as if absent
    monkeypatch.setattr(lab_mod.subprocess, "call", lambda cmd: pytest.fail("must not launch"))
    r = CliRunner().invoke(cli, ["lab", str(root), "-t", tid, "--no-browser"])
    assert r.exit_code == 1 and "make lab" in r.output and "Traceback" not in r.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token, method="GET", body=None):
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        data = resp.read()
    return json.loads(data) if data else None


async def _execute(ws_url, cells):
    """Run each cell through the kernel's websocket; return the reply statuses."""
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(ws_url)
    session = uuid.uuid4().hex
    statuses = []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            await conn.write_message(json.dumps({
                "header": {"msg_id": msg_id, "username": "test", "session": session,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False,
                            "stop_on_error": True}}))
            while True:
                raw = await asyncio.wait_for(conn.read_message(), timeout=600)
                if raw is None:
                    raise RuntimeError("kernel websocket closed")
                m = json.loads(raw)
                if m.get("msg_type") == "execute_reply" and \
                        m.get("parent_header", {}).get("msg_id") == msg_id:
                    statuses.append((m["content"]["status"], m["content"].get("evalue")))
                    break
    finally:
        conn.close()
    return statuses


@pytest.mark.slow
def test_jupyter_server_lists_and_runs_a_learner_notebook(lab_ws, tmp_path):
    root, tid, _ = lab_ws
    port, token = _free_port(), uuid.uuid4().hex
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root / 'classroom'}",
         f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", "--no-browser",
         f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _get(f"{base}/api/status", token)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail((tmp_path / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        listing = _get(f"{base}/api/contents/learner-1", token)
        names = sorted(c["name"] for c in listing["content"] if c["type"] == "notebook")
        assert names == sorted(p.name for p in step_notebooks())
        assert any(c["name"] == "exercises" and c["type"] == "directory"
                   for c in listing["content"])
        path = "learner-1/01_network.ipynb"
        model = _get(f"{base}/api/contents/{path}?content=1", token)
        cells = [c["source"] for c in model["content"]["cells"] if c["cell_type"] == "code"]
        session = _get(f"{base}/api/sessions", token, "POST",
                       {"path": path, "type": "notebook", "name": "01_network.ipynb",
                        "kernel": {"name": "python3"}})
        kid = session["kernel"]["id"]
        ws_url = (f"ws://127.0.0.1:{port}/api/kernels/{kid}/channels?token={token}")
        statuses = asyncio.run(_execute(ws_url, cells))
        assert [s for s, _ in statuses] == ["ok"] * len(cells), statuses
        _get(f"{base}/api/sessions/{session['id']}", token, "DELETE")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
