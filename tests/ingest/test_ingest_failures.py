"""Configuration errors, full disks and read-only workspaces end in one line (issue 16,
item 6); each file's outcome is printed as soon as it is committed (item 7)."""

from __future__ import annotations

import errno

from click.testing import CliRunner

from territoria.cli import cli
from territoria.ingest import ingest_files


def _zones(tmp_path, name="zonas.csv", zid="DT09"):
    p = tmp_path / name
    p.write_text(f"zone_id,name\n{zid},Zona\n", encoding="utf-8")
    return p


def test_broken_city_yml_stops_ingest(ws, tmp_path):
    ws.city_file.write_text("name: [unclosed\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["ingest", str(_zones(tmp_path)), "-w", str(ws.root)])
    assert r.exit_code == 1 and "city.yml" in r.output and "not valid YAML" in r.output


def test_binary_city_yml_is_one_line_not_a_bug(ws, tmp_path):
    ws.city_file.write_bytes(b"\xff\xfe\x00\x01binary\x00")
    for args in (["ingest", str(_zones(tmp_path))], ["info"]):
        r = CliRunner().invoke(cli, [*args, "-w", str(ws.root)])
        assert r.exit_code == 1, r.output
        lines = [x for x in r.output.splitlines() if x.strip()]
        assert len(lines) == 1 and "city.yml" in lines[0] and "unexpected" not in lines[0]


def test_full_disk_is_one_line_and_the_store_unchanged(ws, tmp_path, monkeypatch, kit):
    import territoria.ingest.tables as tables

    def full(ctx):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(tables.READERS, "blocks", full)
    snap = kit.snapshot(ws.store_path)
    p = tmp_path / "b.csv"
    p.write_text("block_id,territory_id\n07-001-0100,07-001\n", encoding="utf-8")
    (r,) = ingest_files(ws, [p], kind="blocks")
    assert r.status == "rejected" and "No space left on device" in r.message
    assert "\n" not in r.message and kit.snapshot(ws.store_path) == snap


def test_each_file_is_printed_as_soon_as_it_is_committed(ws, tmp_path, monkeypatch):
    import territoria.ingest.core as core

    seen = []
    real = core.ingest_file

    def spy(*a, **k):
        seen.append(("ingest", a[1].name))
        return real(*a, **k)

    monkeypatch.setattr(core, "ingest_file", spy)
    a, b = _zones(tmp_path, "a.csv", "DT08"), _zones(tmp_path, "b.csv", "DT07")
    ingest_files(ws, [a, b], on_report=lambda r: seen.append(("printed", r.file)))
    assert [s[0] for s in seen] == ["ingest", "printed", "ingest", "printed"]
