"""Tests of territoria.ingest.sniff: byte-level checks before a file is parsed."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import duckdb
import pytest

from territoria.exceptions import IngestError
from territoria.ingest import sniff


def _rule(fn, *args, **kw) -> str:
    with pytest.raises(IngestError) as e:
        fn(*args, **kw)
    return e.value.rule


def test_encodings_are_told_apart(tmp_path):
    text = "zona;nombre\nDT01;Año Nuevo\n"
    cases = {"utf8.csv": (text.encode("utf-8"), "utf-8"),
             "bom.csv": (b"\xef\xbb\xbf" + text.encode("utf-8"), "utf-8-sig"),
             "latin.csv": (text.encode("cp1252"), "cp1252"),
             "wide.csv": (text.encode("utf-16"), "utf-16"),
             "wide_le.csv": (text.encode("utf-16-le"), "utf-16-le")}
    for name, (data, enc) in cases.items():
        (tmp_path / name).write_bytes(data)
        info = sniff.sniff_text(tmp_path / name)
        assert (info.encoding, info.sep, info.header) == (enc, ";", ["zona", "nombre"]), name
    assert sniff.sniff_text(tmp_path / "latin.csv").notes == ["encoding CP1252"]


def test_separators_and_quotes():
    assert sniff.detect_separator("a\tb\tc\n") == "\t"
    assert sniff.detect_separator("a|b\n") == "|"
    assert sniff.detect_separator('"x,y";z\n') == ";"  # the comma is inside quotes
    assert sniff.detect_separator("single\n") == ","


def test_bad_files_are_refused_with_their_rule(tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes(b"\n \r\n")
    assert _rule(sniff.sniff_text, p) == "empty_file"
    p.write_bytes(bytes(range(256)) * 4)
    assert _rule(sniff.sniff_text, p) == "binary_file"
    p.write_bytes(b"onlyone\nx\n")
    assert _rule(sniff.sniff_text, p) == "wrong_separator"
    p.write_bytes(b'a,b\n1,"open\n2,3\n')
    with pytest.raises(IngestError) as e:
        sniff.sniff_text(p)
    assert (e.value.rule, e.value.row) == ("unbalanced_quotes", 1)
    p.write_bytes("a,b\n1,2\n".encode("utf-16-le")[:-1] + b"\x00\x00\x00")
    assert _rule(sniff.sniff_text, p) in {"nul_byte", "encoding"}


def test_gzip_is_read_and_loaded(tmp_path):
    p = tmp_path / "c.csv.gz"
    p.write_bytes(gzip.compress("a,b,a\n1,,3\n4,5,6\n".encode("cp1252")))
    info = sniff.sniff_text(p)
    assert info.compressed and info.header == ["a", "b", "a"]
    con = duckdb.connect()
    assert sniff.load_text(con, info, "t") == 2
    rows = con.execute('SELECT "a", "b", "a.1" FROM t ORDER BY rowid').fetchall()
    assert rows == [("1", None, "3"), ("4", "5", "6")]  # all VARCHAR, empty -> NULL
    assert sniff.row_offset(con, "t") == 0


def test_malformed_rows_name_their_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"a,b\n1,2\n3,4,5\n")
    info = sniff.sniff_text(p)
    with pytest.raises(IngestError) as e:
        sniff.load_text(duckdb.connect(), info, "t")
    assert e.value.rule == "malformed_csv"


def test_archives_are_checked_before_decompressing(tmp_path):
    assert _rule(sniff.check_member, "a", sniff.MAX_DECOMPRESSED + 1, 10**9,
                 file="z") == "archive_too_large"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.csv", b"0" * (4 << 20))  # compresses thousands of times: a bomb
    with zipfile.ZipFile(buf) as z:
        assert _rule(sniff.check_zip, z, file="z.zip") == "archive_ratio"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", b"a,b\n1,2\n")
    with zipfile.ZipFile(buf) as z:
        sniff.check_zip(z, file="ok.zip")
        sniff.copy_member(z, "a.csv", tmp_path / "a.csv", file="ok.zip")
    assert (tmp_path / "a.csv").read_bytes() == b"a,b\n1,2\n"


def test_paths_and_hashes(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"x,y\n")
    assert sniff.sha256_of(p) == hashlib.sha256(b"x,y\n").hexdigest()
    assert _rule(sniff.check_input_path, tmp_path / "sub" / ".." / "a.csv") == "outside_folder"
    (tmp_path / "link.csv").symlink_to(p)
    assert _rule(sniff.check_input_path, tmp_path / "link.csv") == "symlink"
