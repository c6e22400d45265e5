"""A corpus of broken inputs: each gets a one-line rejection (store unchanged, compared table
by table) or a quarantine with reasons; never a traceback."""

from __future__ import annotations

import io
import os

import pytest

from territoria.ingest import ingest_files
from territoria.instruments.exports import write_kobo_csv
from territoria.store import Store


def _kobo_bytes(kit, n=4, changes=None) -> bytes:
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, n).astype(object)
    for (row, col), v in (changes or {}).items():
        df.loc[row, col] = v
    buf = io.BytesIO()
    write_kobo_csv(inst, df, buf)
    return buf.getvalue()


def _truncated(kit):
    data = _kobo_bytes(kit, 6)
    return data[: len(data) // 2]  # cut inside a quoted field


def _wrong_separator(kit):
    return _kobo_bytes(kit).replace(b'";"', b'"#"')


def _missing_required(kit):
    text = _kobo_bytes(kit).decode()
    lines = [line.split(";") for line in text.split("\r\n") if line]
    drop = lines[0].index('"safety/safety_colonia"')
    return ("\r\n".join(";".join(c for i, c in enumerate(r) if i != drop) for r in lines)
            + "\r\n").encode()


def _wrong_encoding(kit):
    # bytes that are neither UTF-8 nor CP1252 (0x81, 0x8d are undefined in CP1252)
    return _kobo_bytes(kit).replace(b"texto", b"t\x81\x8dxto")


def _unknown_version(kit):
    return _kobo_bytes(kit).replace(b'"2026.1"', b'"1990.1"')


def _binary(kit):
    return os.urandom(4096)


REJECTED = {
    "empty.csv": (lambda kit: b"", "empty_file"),
    "blank.csv": (lambda kit: b"\r\n \r\n", "empty_file"),
    "garbage.csv": (_binary, "binary_file"),
    "garbage.xlsx": (_binary, "binary_file"),
    "garbage.zip": (_binary, "binary_file"),
    "truncated.csv": (_truncated, ("unbalanced_quotes", "malformed_csv")),
    "separator.csv": (_wrong_separator, "wrong_separator"),
    "no_required.csv": (_missing_required, "missing_columns"),
    "encoding.csv": (_wrong_encoding, "encoding"),
    "version.csv": (_unknown_version, "unknown_form_version"),
    "ragged.csv": (lambda kit: b"a,b\n1,2\n3,4,5\n", "malformed_csv"),
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_files_give_one_line_and_leave_store_unchanged(ws, kit, tmp_path, name):
    make, rule = REJECTED[name]
    p = tmp_path / name
    p.write_bytes(make(kit))
    digest = kit.sha(p)
    before = kit.snapshot(ws.store_path)
    kind = "kobo" if name.endswith((".csv", ".xlsx")) and name != "ragged.csv" else None
    (r,) = ingest_files(ws, [p], kind=kind)
    assert r.status == "rejected", r
    rules = rule if isinstance(rule, tuple) else (rule,)
    assert any(f"(rule: {x})" in r.message for x in rules), r.message
    assert r.message.startswith(name)
    assert "\n" not in r.message and "Traceback" not in r.message
    assert kit.snapshot(ws.store_path) == before
    assert kit.sha(p) == digest


def test_truncated_file_names_the_row(ws, kit, tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b'"a";"b"\r\n"1";"2"\r\n"3";"4\r\n')
    (r,) = ingest_files(ws, [p], kind="kobo")
    assert "row 2" in r.message and "unbalanced_quotes" in r.message


QUARANTINED = {
    "unknown territory": ({(0, "territory"): "07-999"}, "not in territories"),
    "unknown zone": ({(1, "zone"): "DT99"}, "not in zones"),
    "out of range": ({(2, "life_satisfaction"): -1}, "constraint (. >= 0 and . <= 10)"),
    "wrong type": ({(3, "life_satisfaction"): "7.5"}, "integer"),
    "bad choice": ({(0, "safety_place_01"): "4"}, "choice in list safe_ensu_place"),
    "bad date": ({(1, "start"): "ayer"}, "datetime (ISO 8601)"),
}


@pytest.mark.parametrize("case", sorted(QUARANTINED))
def test_bad_rows_are_quarantined_with_reason(ws, kit, tmp_path, case):
    changes, rule = QUARANTINED[case]
    p = tmp_path / "q.csv"
    p.write_bytes(_kobo_bytes(kit, 4, changes))
    (r,) = ingest_files(ws, [p])
    assert (r.status, r.rows_read, r.accepted, r.quarantined) == ("ok", 4, 3, 1)
    with Store(ws.store_path, read_only=True) as s:
        q = s.table("quarantine")
    ((row, col), value), = changes.items()
    assert q[["row", "rule"]].values.tolist() == [[row + 1, rule]]
    assert q.loc[0, "column"].endswith(col) and q.loc[0, "value"] == str(value)


def test_cp1252_and_bom_files_are_read(ws, kit, tmp_path):
    # A zone list saved by Excel in CP1252 and a UTF-8 file with BOM give the same rows.
    a, b = tmp_path / "zonas_cp1252.csv", tmp_path / "zonas_bom.csv"
    text = "zone_id;name\r\nDT05;Cabeza de Juárez\r\nDT06;Ermita Iztapalapa\r\n"
    a.write_bytes(text.encode("cp1252"))
    b.write_bytes(b"\xef\xbb\xbf" + text.replace("DT0", "DT1").encode("utf-8"))
    ra, rb = ingest_files(ws, [a, b])
    assert (ra.accepted, rb.accepted) == (2, 2), (ra.message, rb.message)
    with Store(ws.store_path, read_only=True) as s:
        z = s.table("zones").set_index("zone_id")["name"]
    assert z["DT05"] == z["DT15"] == "Cabeza de Juárez"


def test_missing_file_and_unknown_kind(ws, tmp_path):
    p = tmp_path / "x.pdf"
    p.write_bytes(b"%PDF-1.4")
    r1, r2 = ingest_files(ws, [tmp_path / "nope.csv", p])
    assert r1.status == r2.status == "rejected"
    assert "missing_file" in r1.message and "unknown_kind" in r2.message
