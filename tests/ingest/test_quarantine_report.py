"""Quarantine report: counts by file and rule, rows to fix without personal data, pseudonyms
only for codes, formula-looking cells neutralised."""

from __future__ import annotations

import csv

import pytest

from territoria.exceptions import TerritoriaError
from territoria.ingest.core import ingest_files
from territoria.ingest.privacy import pseudonymise
from territoria.ingest.quarantine_report import (
    neutralise,
    quarantine_summary,
    rows_to_fix,
    write_rows_csv,
)
from territoria.instruments.exports import write_kobo_csv
from territoria.store import Store


def _read(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-99.06", "-99.06"), ("+52", "+52"), ("Aculco", "Aculco"),
    ("", ""), (None, None)])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_survey_rows_to_fix_have_no_personal_data(ws, kit, tmp_path):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, 6).astype(object)
    df.loc[1, "territory"] = "=HYPERLINK(\"http://x\")"   # unknown territory, formula-looking
    df.loc[4, "sex"] = "otro"
    p = tmp_path / "diag.csv"
    write_kobo_csv(inst, df, p)
    (r,) = ingest_files(ws, [p])
    assert (r.accepted, r.quarantined) == (4, 2), r.as_line("en")
    with Store(ws.store_path, read_only=True) as s:
        summ = quarantine_summary(s)
        fix = rows_to_fix(ws, s)
    assert summ[["file", "rows"]].to_dict("records") == [
        {"file": "diag.csv", "rows": 1}, {"file": "diag.csv", "rows": 1}]
    assert sorted(summ["rule"]) == ["choice in list sex", "not in territories"]
    rows = fix.rows
    assert rows["row"].tolist() == [2, 5]
    out = tmp_path / "fix.csv"
    assert write_rows_csv(rows, out) == 2
    text = out.read_text(encoding="utf-8-sig")
    for secret in ("Persona Secreta", "Calle Falsa", "5500000001", "5500000004", "texto 1"):
        assert secret not in text
    got = _read(out)
    assert got[0]["rules"] == "not in territories"
    assert got[0]["values"] == "'=HYPERLINK(\"http://x\")"
    assert got[1]["values"] == "otro"
    # the row itself is there (kept fields), personal and free-text columns are not
    assert any(c.endswith("life_satisfaction") for c in got[0])
    assert not any("name" in c or "phone" in c or "address" in c or "comments" in c
                   for c in got[0])
    assert any("respondent_name" in n or "phone" in n for n in fix.notes)


def test_codes_are_shown_only_as_their_pseudonym(ws, kit, tmp_path):
    inst = kit.form("wellbeing")
    df = kit.valid_frame(inst, 4).astype(object)
    df.loc[2, "territory"] = "99-999"
    p = tmp_path / "panel.csv"
    write_kobo_csv(inst, df, p)
    ingest_files(ws, [p])
    raw_code = df.loc[2, "respondent_code"]
    with Store(ws.store_path, read_only=True) as s:
        fix = rows_to_fix(ws, s, rule="not in territories")
    out = tmp_path / "fix.csv"
    write_rows_csv(fix.rows, out)
    assert raw_code not in out.read_text(encoding="utf-8-sig")
    (row,) = _read(out)
    code_col = next(c for c in row if c.endswith("respondent_code"))
    assert row[code_col] == pseudonymise(raw_code, ws.secret())


def test_links_registry_rows_to_fix(ws, tmp_path):
    p = tmp_path / "links.csv"
    p.write_text("link_code,territory,area,sex,name,phone\n"
                 "L-1,07-001,health,female,Ana Secreta,5511112222\n"
                 "L-1,07-002,health,male,Beto Secreto,5533334444\n"
                 "L-2,@07-003,health,male,Caro Secreta,5555556666\n", encoding="utf-8")
    (r,) = ingest_files(ws, [p])
    assert r.quarantined == 2, r.as_line("en")
    with Store(ws.store_path, read_only=True) as s:
        fix = rows_to_fix(ws, s)
    out = tmp_path / "fix.csv"
    write_rows_csv(fix.rows, out)
    text = out.read_text(encoding="utf-8-sig")
    for secret in ("Secret", "5511112222", "5533334444", "5555556666", "L-1", "L-2"):
        assert secret not in text
    got = {int(r["row"]): r for r in _read(out)}
    assert set(got) == {2, 3}
    assert got[2]["values"] == pseudonymise("L-1", ws.secret())  # the duplicated code
    assert got[2]["link_code"] == pseudonymise("L-1", ws.secret())
    assert got[3]["territory"] == "'@07-003"
    assert "name" not in got[2] and "phone" not in got[2]


def test_changed_source_gives_reasons_only(ws, tmp_path):
    p = tmp_path / "blocks.csv"
    p.write_text("block_id,territory_id,population\nB1,07-001,5\nB2,07-999,6\n", encoding="utf-8")
    ingest_files(ws, [p])
    p.write_text("block_id,territory_id,population\nB1,07-001,5\nB2,07-001,6\n", encoding="utf-8")
    with Store(ws.store_path, read_only=True) as s:
        fix = rows_to_fix(ws, s)
    assert fix.rows[["file", "row", "rules", "values"]].to_dict("records") == [
        {"file": "blocks.csv", "row": 2, "rules": "unknown_territory", "values": "07-999"}]
    assert "territory_id" not in fix.rows.columns
    assert any("blocks.csv" in n for n in fix.notes)


def test_unknown_rule_or_file_lists_what_there_is(ws, tmp_path):
    p = tmp_path / "blocks.csv"
    p.write_text("block_id,territory_id,population\nB2,07-999,1\n", encoding="utf-8")
    ingest_files(ws, [p])
    with Store(ws.store_path, read_only=True) as s:
        with pytest.raises(TerritoriaError, match="hay: unknown_territory"):
            quarantine_summary(s, rule="nope")
        with pytest.raises(TerritoriaError, match="there are: blocks.csv"):
            rows_to_fix(ws, s, file="other.csv", lang="en")
        assert len(quarantine_summary(s, file="blocks.csv", rule="unknown_territory")) == 1


def test_rows_of_workbook_sheets_and_zip_members(ws, kit, tmp_path):
    from territoria.instruments.exports import write_kobo_xlsx, write_odk_zip

    inst = kit.form("assembly")
    main = kit.valid_frame(inst, 3)
    ag = kit.valid_frame(inst, 3, repeat="agreements")
    ag["_parent_row"] = [0, 1, 2]
    ag.loc[1, "department"] = "nasa"
    p = tmp_path / "asamblea.xlsx"
    write_kobo_xlsx(inst, main, {"agreements": ag}, p)
    votes_inst = kit.form("votes")
    vmain = kit.valid_frame(votes_inst, 2).astype(object)
    vmain.loc[1, "territory"] = "99-999"
    votes = kit.valid_frame(votes_inst, 2, repeat="votes")
    votes["_parent_row"] = [0, 1]
    z = tmp_path / "submissions.csv.zip"
    write_odk_zip(votes_inst, vmain, {"votes": votes}, z)
    ingest_files(ws, [p, z])
    with Store(ws.store_path, read_only=True) as s:
        fix = rows_to_fix(ws, s)
    rows = fix.rows
    sheet = rows[rows["file"].str.startswith("asamblea.xlsx:")]
    assert sheet["row"].tolist() == [2] and sheet["values"].tolist() == ["nasa"]
    dep = next(c for c in rows.columns if c.endswith("department"))
    assert sheet[dep].tolist() == ["nasa"]  # the sheet's own row was re-read
    top = rows[rows["file"] == "submissions.csv.zip"]
    assert top["row"].tolist() == [2] and top["values"].tolist() == ["99-999"]
    code = next(c for c in rows.columns if c.endswith("participant_code"))
    raw = vmain.loc[1, "participant_code"]
    assert top[code].tolist() == [pseudonymise(raw, ws.secret())]
    assert not any("facilitator_name" in c or "facilitator_phone" in c for c in rows.columns)


def test_layer_rows_are_found_after_the_where_filter(ws, tmp_path):
    import json

    def feat(cve, name, nomdt, x):
        ring = [[x, 19.3], [x + 0.01, 19.3], [x + 0.01, 19.31], [x, 19.31], [x, 19.3]]
        return {"type": "Feature", "properties": {"CVEUT": cve, "NOMUT": name, "NOMDT": nomdt},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}

    p = tmp_path / "capa.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feat("03-001", "UNO", "COYOACAN", -99.20), feat("07-101", "DOS", "IZTAPALAPA", -99.10),
        feat("03-002", "", "COYOACAN", -99.18), feat("03-003", "TRES", "COYOACAN", -99.16)]}),
        encoding="utf-8")
    (r,) = ingest_files(ws, [p], options={"where": "NOMDT = 'COYOACAN'",
                                          "map": "territory_id=CVEUT,name=NOMUT"})
    assert (r.status, r.accepted, r.quarantined) == ("ok", 2, 1), r.as_line("en")
    with Store(ws.store_path, read_only=True) as s:
        fix = rows_to_fix(ws, s)
    assert fix.rows[["row", "CVEUT"]].to_dict("records") == [{"row": 2, "CVEUT": "03-002"}]
