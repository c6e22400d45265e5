"""Survey exports: Kobo CSV/XLSX and ODK zip built with the instruments' own writers."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from territoria.ingest import ingest_files
from territoria.ingest.privacy import pseudonymise
from territoria.instruments.exports import write_kobo_csv, write_kobo_xlsx, write_odk_zip
from territoria.store import Store


def _one(ws, path, **kw):
    (r,) = ingest_files(ws, [path], **kw)
    return r


def _q(ws):
    with Store(ws.store_path, read_only=True) as s:
        return s.table("quarantine")


def test_kobo_csv_valid_rows_are_stored_typed(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, 40)
    p = tmp_path / "diag.csv"
    write_kobo_csv(inst, df, p)
    before = kit.sha(p)
    r = _one(ws, p)
    assert (r.status, r.kind, r.instrument, r.table) == ("ok", "kobo", "territoria_diagnostic",
                                                        "diagnostic")
    assert (r.rows_read, r.accepted, r.quarantined) == (40, 40, 0)
    assert kit.sha(p) == before  # input never modified
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("diagnostic")
        types = dict(s.query("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'diagnostic'").values)
        log = s.table("ingest_log")
    assert len(t) == 40 and t["_uuid"].is_unique
    assert types["life_satisfaction"] == "BIGINT"
    assert types["start"].startswith("TIMESTAMP")
    assert t["life_satisfaction"].tolist() == df["life_satisfaction"].tolist()
    order = {c.name: i for i, c in enumerate(inst.choices["axis"])}
    assert t["problems"].tolist() == [" ".join(sorted(v.split(), key=order.get))
                                      for v in df["problems"]]  # canonical choice order
    assert log.loc[0, "rows_accepted"] == 40 and log.loc[0, "form_version"] == inst.version


def test_bad_values_are_quarantined_with_row_column_rule(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, 10).astype(object)
    df.loc[1, "life_satisfaction"] = 11          # out of range (constraint 0-10)
    df.loc[3, "life_satisfaction"] = "mucho"     # wrong type
    df.loc[5, "territory"] = "99-999"            # unknown territory code
    df.loc[7, "sex"] = "otro"                    # not in the choice list
    df.loc[8, "safety_colonia"] = None           # required
    p = tmp_path / "diag.csv"
    write_kobo_csv(inst, df, p)
    r = _one(ws, p)
    assert (r.rows_read, r.accepted, r.quarantined) == (10, 5, 5)
    q = _q(ws)
    got = {(int(row), col, rule) for row, col, rule in q[["row", "column", "rule"]].values}
    assert (2, "wellbeing/life_satisfaction", "constraint (. >= 0 and . <= 10)") in got
    assert (4, "wellbeing/life_satisfaction", "integer") in got
    assert (6, "location/territory", "not in territories") in got
    assert (8, "respondent/sex", "choice in list sex") in got
    assert (9, "safety/safety_colonia", "required") in got
    assert set(q["file_sha256"]) == {r.sha256}


def test_same_file_twice_adds_nothing_and_duplicates_are_caught(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, 6)
    df["_uuid"] = [f"u{i}" for i in range(6)]
    p = tmp_path / "a.csv"
    write_kobo_csv(inst, df, p)
    assert _one(ws, p).accepted == 6
    snap = kit.snapshot(ws.store_path)
    again = _one(ws, p)
    assert again.status == "skipped" and kit.snapshot(ws.store_path) == snap
    # a second export with 2 old submissions and one repeated inside the file
    df2 = pd.concat([df.iloc[[0, 1]], kit.valid_frame(inst, 3, seed=2)], ignore_index=True)
    df2["_uuid"] = ["u0", "u1", "n1", "n2", "n1"]
    p2 = tmp_path / "b.csv"
    write_kobo_csv(inst, df2, p2, seed=9)
    r = _one(ws, p2)
    # stored submissions seen again are left as they are (issue 16: not quarantined)
    assert (r.accepted, r.quarantined, r.duplicates) == (4, 1, 1)
    assert (r.new, r.updated, r.unchanged) == (2, 0, 2)
    q = _q(ws)
    assert sorted(q.loc[q["rule"] == "duplicate_submission", "row"]) == [5]
    with Store(ws.store_path, read_only=True) as s:
        assert s.count("diagnostic") == 8


@pytest.mark.parametrize("mode", ["summary", "details", "both"])
def test_select_multiple_modes_and_label_headers(ws, kit, tmp_path, mode):
    inst = kit.form("assembly")
    df = kit.valid_frame(inst, 5)
    p_xml, p_lab = tmp_path / f"x_{mode}.csv", tmp_path / f"l_{mode}.csv"
    write_kobo_csv(inst, df, p_xml, multiple_select=mode)
    df2 = df.copy()
    df2["assembly_code"] = df2["assembly_code"] + "b"
    df2["_uuid"] = [f"lab{i}" for i in range(5)]
    write_kobo_csv(inst, df2, p_lab, multiple_select=mode, headers="labels", lang="en")
    r1, r2 = ingest_files(ws, [p_xml, p_lab], kind="kobo")
    assert (r1.accepted, r2.accepted) == (5, 5), (r1.message, r2.message)
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("assembly").sort_values("assembly_code")
    a = t[~t["assembly_code"].str.endswith("b")].reset_index(drop=True)
    b = t[t["assembly_code"].str.endswith("b")].reset_index(drop=True)
    order = {c.name: i for i, c in enumerate(inst.choices[inst.field("topics").list_name])}
    df["topics"] = [" ".join(sorted(v.split(), key=order.get)) for v in df["topics"]]
    for c in ("topics", "kind", "mode", "att_female_18_29", "territory"):
        assert a[c].tolist() == b[c].tolist() == df[c].tolist()


def test_select_multiple_summary_and_details_must_agree(ws, kit, tmp_path):
    inst = kit.form("assembly")
    df = kit.valid_frame(inst, 3)
    buf = io.BytesIO()
    write_kobo_csv(inst, df, buf)
    lines = buf.getvalue().decode().split("\r\n")
    head = lines[0].split(";")
    cells = lines[2].split(";")
    first = df.loc[1, "topics"].split()[0]
    i = head.index(f'"topics/{first}"')
    cells[i] = '"0"'
    lines[2] = ";".join(cells)
    p = tmp_path / "incons.csv"
    p.write_bytes("\r\n".join(lines).encode())
    r = _one(ws, p)
    assert (r.accepted, r.quarantined) == (2, 1)
    assert _q(ws)["rule"].tolist() == ["select_multiple_inconsistent"]


def test_kobo_xlsx_with_repeats(ws, kit, tmp_path):
    inst = kit.form("assembly")
    main = kit.valid_frame(inst, 4)
    ag = kit.valid_frame(inst, 7, repeat="agreements")
    ag["_parent_row"] = [0, 0, 1, 2, 2, 3, 3]
    ag.loc[4, "department"] = "nasa"            # bad repeat row
    main.loc[3, "mode"] = "telepathy"           # bad parent -> its 2 repeat rows follow
    p = tmp_path / "asamblea.xlsx"
    write_kobo_xlsx(inst, main, {"agreements": ag}, p)
    r = _one(ws, p)
    assert (r.rows_read, r.accepted, r.quarantined) == (11, 3 + 4, 1 + 3), r.message
    q = _q(ws)
    rules = sorted(q["rule"])
    assert rules == ["choice in list assembly_mode", "choice in list department",
                     "parent_quarantined", "parent_quarantined"]
    assert q.loc[q["rule"] == "choice in list department", "row"].tolist() == [5]
    with Store(ws.store_path, read_only=True) as s:
        m, a = s.table("assembly"), s.table("assembly__agreements")
    assert set(a["_parent_uuid"]) <= set(m["_uuid"])
    assert a.groupby("_parent_uuid").size().sort_values().tolist() == [1, 1, 2]


def test_odk_zip_and_plain_csv(ws, kit, tmp_path):
    inst = kit.form("votes")
    main = kit.valid_frame(inst, 5)
    votes = kit.valid_frame(inst, 9, repeat="votes")
    votes["_parent_row"] = [0, 0, 1, 1, 2, 3, 3, 4, 4]
    p = tmp_path / "submissions.csv.zip"
    write_odk_zip(inst, main, {"votes": votes}, p)
    r = _one(ws, p)
    assert (r.kind, r.rows_read, r.accepted, r.quarantined) == ("odk", 14, 14, 0), r.message
    # root table alone, as submissions.csv; same KEYs and values -> unchanged, repeats kept
    root = zipfile.ZipFile(p).read("territoria_votes.csv")
    p2 = tmp_path / "territoria_votes.csv"
    p2.write_bytes(root)
    r2 = _one(ws, p2)
    assert (r2.kind, r2.accepted, r2.duplicates, r2.unchanged) == ("odk", 5, 0, 5)
    with Store(ws.store_path, read_only=True) as s:
        v = s.table("votes__votes")
    assert len(v) == 9 and v["_uuid"].str.contains(r"/votes\[\d\]$").all()


def test_unknown_form_version_rejects_file_and_store_is_unchanged(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, 3)
    df["__version__"] = "1999.9"
    p = tmp_path / "old.csv"
    write_kobo_csv(inst, df, p)
    snap = kit.snapshot(ws.store_path)
    r = _one(ws, p)
    assert r.status == "rejected"
    assert "version 1999.9 is not known" in r.message and "unknown_form_version" in r.message
    assert "\n" not in r.message
    assert kit.snapshot(ws.store_path) == snap


def test_personal_data_never_reaches_the_store(ws, kit, tmp_path):
    diag = kit.form("diagnostic")
    df = kit.valid_frame(diag, 8)
    df["comments"] = [f"comentario {i}" for i in range(8)]
    p = tmp_path / "d.csv"
    write_kobo_csv(diag, df, p)
    votes = kit.form("votes")
    vm = kit.valid_frame(votes, 4)
    vv = kit.valid_frame(votes, 4, repeat="votes")
    vv["_parent_row"] = [0, 1, 2, 3]
    pv = tmp_path / "v.xlsx"
    write_kobo_xlsx(votes, vm, {"votes": vv}, pv)
    r1, r2 = ingest_files(ws, [p, pv])
    assert r1.accepted == 8 and r2.accepted == 8
    text = kit.all_text(ws.store_path)
    raw = [*df["respondent_name"], *df["phone"], *df["address"], *vm["participant_code"]]
    leaked = [v for v in raw if str(v) in text]
    assert leaked == []
    with Store(ws.store_path, read_only=True) as s:
        d = s.table("diagnostic")
        v = s.table("votes")
        ft = s.table("diagnostic__freetext")
    assert not {"respondent_name", "phone", "address", "comments"} & set(d.columns)
    key = ws.secret()
    assert v["participant_code"].tolist() == [pseudonymise(c, key) for c in vm["participant_code"]]
    assert v["participant_code"].str.match(r"^p_[0-9a-f]{16}$").all()
    assert sorted(ft["comments"]) == sorted(df["comments"])  # kept aside, not published


def test_dry_run_writes_nothing(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    p = tmp_path / "d.csv"
    write_kobo_csv(inst, kit.valid_frame(inst, 5), p)
    snap = kit.snapshot(ws.store_path)
    r = _one(ws, p, dry_run=True)
    assert (r.status, r.accepted) == ("dry_run", 5)
    assert kit.snapshot(ws.store_path) == snap
    assert _one(ws, p).status == "ok"  # and it can be ingested for real afterwards


def test_form_from_option_and_file_name(ws, kit, tmp_path):
    inst = kit.form("followup")
    df = kit.valid_frame(inst, 3)
    buf = io.BytesIO()
    write_kobo_csv(inst, df, buf)
    lines = buf.getvalue().decode().split("\r\n")
    head = lines[0].split(";")
    keep = [i for i, h in enumerate(head) if h != '"__version__"']
    text = "\r\n".join(";".join(line.split(";")[i] for i in keep) if line else line for line in lines)
    p = tmp_path / "export.csv"
    p.write_text(text, encoding="utf-8")
    r = _one(ws, p, form=f"territoria_followup@{inst.version}")
    assert (r.instrument, r.version, r.accepted) == ("territoria_followup", inst.version, 3), _q(ws).to_string()
