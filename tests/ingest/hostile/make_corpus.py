"""Regenerate the hostile-input corpus of this folder (run from the repository root:
``.venv/bin/python tests/ingest/hostile/make_corpus.py``). Every file is small; the
expected outcome of each is in ``manifest.yml``. Cases that need big or system-dependent
files (a NUL after 64 KiB, a 2 MB field, symlinks) are built at run time by the tests."""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zipfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import form, valid_frame  # noqa: E402
from territoria.instruments.exports import write_kobo_csv, write_odk_zip  # noqa: E402

ZONES = "zone_id,name\nDT01,Aculco\nDT02,Ermita Zaragoza\n"
FORMULA = "=cmd|' /C calc'!A0"


def w(name: str, data: bytes | str) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def rewrite(name: str, change) -> None:
    """Parse a Kobo CSV of this folder, let ``change(rows)`` edit it, write it back."""
    rows = list(csv.reader(io.StringIO((HERE / name).read_text(encoding="utf-8")),
                           delimiter=";"))
    change(rows)
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    w(name, buf.getvalue())


def kobo(name: str, inst_name: str = "diagnostic", n: int = 3, edit=None, **kw) -> None:
    inst = form(inst_name)
    df = valid_frame(inst, n)
    df["_uuid"] = [f"{name[:12]}-{i}" for i in range(n)]
    df["_submission_time"] = pd.Timestamp("2026-03-02 10:00:00")
    if edit:
        edit(df)
    buf = io.BytesIO()
    write_kobo_csv(inst, df, buf, **kw)
    w(name, buf.getvalue())


def main() -> None:
    # -- bytes and encodings -------------------------------------------------------------
    w("empty.csv", b"")
    w("blank_lines.csv", b"\r\n\r\n  \n")
    w("binary_garbage.csv", bytes(range(256)) * 4)
    w("nul_in_row.csv", b"zone_id,name\nDT01,Acu\x00lco\n")
    w("control_chars.csv", b"zone_id,name\n" + b"\x01\x02\x03\x04" * 50 + b"\n")
    w("zones_utf8_bom.csv", b"\xef\xbb\xbf" + ZONES.encode())
    w("zones_utf16_bom.csv", ZONES.encode("utf-16"))
    w("zones_utf16le_nobom.csv", ZONES.encode("utf-16-le"))
    w("zones_utf16be_bom.csv", b"\xfe\xff" + ZONES.encode("utf-16-be"))
    w("zones_utf32.csv", ZONES.encode("utf-32"))
    w("zones_cp1252.csv", "zone_id,name\nDT01,Peñón Acatitla\n".encode("cp1252"))
    w("zones_crlf.csv", ZONES.replace("\n", "\r\n"))
    w("zones_header_only.csv", "zone_id,name\n")
    w("one_column.csv", "zone_id name\nDT01 Aculco\n")
    w("unbalanced_quotes.csv", 'zone_id,name\nDT01,"Aculco\nDT02,Ermita\n')
    w("zones_ragged_rows.csv", "zone_id,name\nDT01,Aculco,extra,more\n")
    w("blocks_ragged_rows.csv", "block_id,territory_id,population\n07-001-0013,07-001,3,9,9\n")
    w("text_not_csv.txt", "Querida comisión:\nles escribo para pedir luminarias.\n")
    w("html_page.csv", "<html><body><script>alert(1)</script></body></html>\n")
    # -- compressed ------------------------------------------------------------------------
    w("truncated.csv.gz", gzip.compress(ZONES.encode() * 50)[:40])
    w("not_gzip.csv.gz", ZONES)
    w("zones.csv.gz", gzip.compress(ZONES.encode()))
    w("not_a_zip.zip", b"PK\x03\x04 this is not really a zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("LEEME.txt", "sin datos")
    w("zip_without_csv.zip", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("territoria_votes.csv", b"0" * (8 << 20))
    w("zip_bomb.zip", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.csv", "KEY,x\n1,2\n")
    w("zip_slip.zip", buf.getvalue())
    w("garbage.xlsx", b"PK\x03\x04" + bytes(range(200)))
    w("empty.xlsx", b"")
    # -- tables ------------------------------------------------------------------------
    w("blocks_fraction.csv", "block_id,territory_id,population\n07-001-0009,07-001,1.5\n"
                             "07-001-0010,07-001,12\n")
    w("blocks_negative.csv", "block_id,territory_id,population\n07-001-0011,07-001,-4\n")
    w("blocks_unknown_territory.csv", "block_id,territory_id,population\n99-999-0001,99-999,3\n")
    w("blocks_duplicate_id.csv", "block_id,territory_id,population\n07-001-0012,07-001,3\n"
                                 "07-001-0012,07-001,4\n")
    w("census_empty_category.csv", "territory_id,sex,age_group,population\n"
                                   "07-001,,18_29,100\n07-001,female,18_29,120\n")
    w("census_text_count.csv", "territory_id,sex,age_group,population\n"
                               "07-001,male,18_29,ciento veinte\n")
    w("links_personal.csv", "link_code,territory,area,sex,age_group,name,phone\n"
                            "ENL-1,07-001,youth,female,18_29,Rosa Pérez,5512345678\n"
                            "ENL-1,07-001,youth,female,18_29,Rosa Pérez,5512345678\n")
    # -- survey exports ------------------------------------------------------------------
    kobo("kobo_valid.csv")
    kobo("kobo_future_time.csv",
         edit=lambda d: d.__setitem__("_submission_time", pd.Timestamp("2099-01-01 10:00:00")))

    def impossible(d):
        d["_submission_time"] = d["_submission_time"].astype(object)
        d.loc[0, "_submission_time"] = "2026-02-30T25:61:00"
    kobo("kobo_impossible_time.csv", edit=impossible)
    kobo("kobo_duplicate_uuid.csv",
         edit=lambda d: d.__setitem__("_uuid", ["same", "same", "other"]))
    kobo("kobo_empty_uuid.csv")
    rewrite("kobo_empty_uuid.csv", lambda rows: rows[1].__setitem__(rows[0].index("_uuid"), ""))
    kobo("kobo_formula_text.csv", edit=lambda d: d.__setitem__("comments", [FORMULA] * 3))
    kobo("kobo_script_text.csv",
         edit=lambda d: d.__setitem__("comments", ["<script>alert(1)</script>"] * 3))
    kobo("kobo_unknown_version.csv",
         edit=lambda d: d.__setitem__("__version__", "1999.9"))
    kobo("kobo_bad_territory.csv", edit=lambda d: d.__setitem__("territory", "99-999"))
    kobo("kobo_bad_choice.csv", edit=lambda d: d.__setitem__("sex", "robot"))

    def future_date(d):
        d["date"] = ["2099-05-01"] * len(d)
    kobo("kobo_assembly_future_date.csv", "assembly", edit=future_date)

    def half_person(d):
        d["att_female_18_29"] = d["att_female_18_29"].astype(object)
        d.loc[0, "att_female_18_29"] = "1.5"
    kobo("kobo_assembly_fraction.csv", "assembly", edit=half_person)
    kobo("kobo_semicolon_labels.csv", headers="labels", lang="es")
    inst = form("diagnostic")
    df = valid_frame(inst, 2)
    df["_uuid"] = ["u16-0", "u16-1"]
    df["_submission_time"] = pd.Timestamp("2026-03-02 10:00:00")
    buf = io.BytesIO()
    write_kobo_csv(inst, df, buf)
    w("kobo_utf16.csv", buf.getvalue().decode("utf-8").encode("utf-16"))
    # missing required column: 'territory' dropped from the header and the rows
    kobo("kobo_missing_column.csv")

    def drop(rows):
        i = rows[0].index("location/territory")
        for r in rows:
            del r[i]
    rewrite("kobo_missing_column.csv", drop)
    votes = form("votes")
    main_df = valid_frame(votes, 2)
    rep = valid_frame(votes, 3, repeat="votes")
    rep["_parent_row"] = [0, 1, 1]
    buf = io.BytesIO()
    write_odk_zip(votes, main_df, {"votes": rep}, buf)
    w("odk_votes.zip", buf.getvalue())


if __name__ == "__main__":
    main()
