"""``territoria quarantine``: counts by file and rule, rows to fix as CSV, one-line errors."""

from __future__ import annotations

import csv

from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import init_workspace
from territoria.ingest.core import ingest_files


def _ws(tmp_path):
    ws = init_workspace(tmp_path / "ws", "Ciudad")
    zones = tmp_path / "zones.csv"
    zones.write_text("zone_id,name\nZ1,Norte\n", encoding="utf-8")
    terr = tmp_path / "territories.csv"
    terr.write_text("territory_id,name,zone_id\nT1,Centro,Z1\nT2,Sur,Z1\n", encoding="utf-8")
    blocks = tmp_path / "blocks.csv"
    blocks.write_text("block_id,territory_id,population\nB1,T1,10\nB2,T9,5\nB3,=T1,4\n"
                      "B4,T2,-3\n", encoding="utf-8")
    links = tmp_path / "links.csv"
    links.write_text("link_code,territory,area,name,phone\nL-7,T1,health,Ana Secreta,5512345678\n"
                     "L-7,T2,health,Beto Secreto,5587654321\n", encoding="utf-8")
    reports = ingest_files(ws, [zones, terr, blocks, links])
    assert [r.status for r in reports] == ["ok"] * 4, [r.as_line("en") for r in reports]
    return ws


def test_cli_quarantine_lists_reasons_with_counts(tmp_path):
    ws = _ws(tmp_path)
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0] == "cuarentena: 4 filas (4 problemas) en 2 archivo(s)"
    body = [line.split() for line in lines[2:]]
    assert ["blocks.csv", "unknown_territory", "2", "2", "territory_id"] in body
    assert ["blocks.csv", "non_negative_number", "1", "1", "population"] in body
    assert ["links.csv", "required_unique", "1", "1", "link_code"] in body
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root), "--rule",
                                   "unknown_territory"])
    assert res.exit_code == 0 and "links.csv" not in res.output and "2 filas" in res.output
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root), "--file", "links.csv"])
    assert res.exit_code == 0 and "blocks.csv" not in res.output and "1 filas" in res.output


def test_cli_quarantine_out_writes_rows_to_fix(tmp_path):
    ws = _ws(tmp_path)
    out = tmp_path / "por_corregir.csv"
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"{out}: 4 filas por corregir" in res.output
    text = out.read_text(encoding="utf-8-sig")
    for secret in ("Secret", "5512345678", "5587654321", "L-7"):
        assert secret not in text
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = {(r["file"], r["row"]): r for r in rows}
    assert set(by) == {("blocks.csv", "2"), ("blocks.csv", "3"), ("blocks.csv", "4"),
                       ("links.csv", "2")}
    assert by[("blocks.csv", "3")]["territory_id"] == "'=T1"     # neutralised
    assert by[("blocks.csv", "3")]["values"] == "'=T1"
    assert by[("blocks.csv", "4")]["population"] == "-3"          # a number stays a number
    assert by[("links.csv", "2")]["link_code"].startswith("p_")
    assert "name" not in rows[0] and "phone" not in rows[0]


def test_cli_quarantine_errors_are_one_line(tmp_path):
    ws = _ws(tmp_path)
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root), "--rule", "nope"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "error: regla 'nope' desconocida en la cuarentena (hay: non_negative_number, "
        "required_unique, unknown_territory)"]
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root), "--file", "x.csv"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1
    assert "blocks.csv, links.csv" in res.output
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(tmp_path / "nada")])
    assert res.exit_code == 1
    assert res.output.startswith("error: ") and "not a workspace" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_cli_quarantine_empty_and_fresh_workspace(tmp_path):
    ws = init_workspace(tmp_path / "fresh", "Ciudad")
    res = CliRunner().invoke(cli, ["quarantine", "-w", str(ws.root)])
    assert res.exit_code == 0
    assert res.output.strip() == "La cuarentena está vacía: ninguna fila rechazada."
    assert not ws.store_path.exists()  # listing never creates the store
