"""``territoria publish`` from the command line: ``--wait`` while another command writes."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import init_workspace
from territoria.store import Store


def _ws(tmp_path):
    ws = init_workspace(tmp_path / "ws", "Prueba")
    with Store(ws.store_path) as s, s.transaction():
        s.append("territories", pd.DataFrame({"territory_id": ["T01"], "name": ["Uno"],
                                              "population": [1000.0], "priority": [True]}))
    return ws


def _publish(ws, wait):
    return CliRunner().invoke(cli, ["publish", "-w", str(ws.root), "--wait", str(wait)])


def test_publish_waits_for_the_workspace_then_stops_with_one_line(tmp_path, invoke_while_busy):
    ws = _ws(tmp_path)
    invoke_while_busy(ws, ["publish", "-w", str(ws.root)])
    assert not (ws.root / "site" / "index.html").exists()


def test_publish_waits_for_the_workspace_then_goes_on(tmp_path, hold_workspace):
    ws = _ws(tmp_path)
    p = hold_workspace(ws.store_path, 1.5)
    r = _publish(ws, 60)
    p.wait()
    assert r.exit_code == 0, r.output
    assert f"pid {p.pid}" in r.stderr.splitlines()[0]
    assert (ws.root / "site" / "index.html").exists()


def test_publish_speaks_the_city_s_language(tmp_path):
    ws = _ws(tmp_path)
    r = _publish(ws, 5)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("sitio publicado en ") and "site published" not in r.stdout
    text = ws.city_file.read_text(encoding="utf-8")
    ws.city_file.write_text(text.replace("default_language: es", "default_language: en"),
                            encoding="utf-8")
    assert _publish(ws, 5).stdout.startswith("site published in ")
