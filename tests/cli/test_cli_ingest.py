"""``territoria ingest``: one line per file, a total, exit 1 on rejection, no traceback."""

from __future__ import annotations

from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import init_workspace


def test_cli_ingest_lines_total_and_exit_codes(tmp_path):
    ws = init_workspace(tmp_path / "w", "Iztapalapa")
    good = tmp_path / "zonas.csv"
    good.write_text("zone_id,name\nDT01,Aculco\n", encoding="utf-8")
    bad = tmp_path / "vacio.csv"
    bad.write_bytes(b"")
    runner = CliRunner()
    res = runner.invoke(cli, ["ingest", str(good), "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("ok") and "zonas.csv" in lines[0] and "aceptadas 1" in lines[0]
    assert lines[-1].startswith("total: 1 archivos")
    res = runner.invoke(cli, ["ingest", str(good), str(bad), "-w", str(ws.root), "--dry-run"])
    assert res.exit_code == 1
    assert "omitido" in res.output and "empty_file" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["ingest", str(good), "--kind", "nonsense", "-w", str(ws.root)])
    assert res.exit_code == 2  # click's usage error for a bad choice
