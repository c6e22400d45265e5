"""Writers of KoboToolbox / ODK Central exports: structure, conventions of real exports, determinism."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from territoria.exceptions import DataError, InstrumentError
from territoria.instruments.exports import (
    KOBO_META,
    ODK_META,
    kobo_headers,
    write_choice_files,
    write_kobo_csv,
    write_kobo_xlsx,
    write_odk_zip,
)
from territoria.instruments.xlsform import default_surveys_dir, load_instrument

SURVEYS = default_surveys_dir()
KOBO_CSV = "paleocore-sss_artifact-form_-_all_versions_-_False_-_2022-08-01-05-36-18.csv"


@pytest.fixture(scope="module")
def diag():
    return load_instrument(SURVEYS / "diagnostic.xlsx")


@pytest.fixture(scope="module")
def assembly():
    return load_instrument(SURVEYS / "assembly.xlsx")


def diag_rows():
    tz = "America/Mexico_City"
    return pd.DataFrame({
        "start": [pd.Timestamp("2026-03-02 10:00:09.772", tz=tz), pd.Timestamp("2026-03-02 11:00", tz=tz)],
        "end": [pd.Timestamp("2026-03-02 10:20:00", tz=tz), pd.NaT],
        "zone": ["DT01", "DT02"], "territory": ["07-001", "07-002"],
        "block": ["07-001-0001", "07-002-0003"],
        "sex": ["female", "male"], "age_group": ["30_44", "60_plus"],
        "problems": ["water security", None],
        "problem_1": ["water", None],
        "life_satisfaction": [7, 10],
        "safety_colonia": ["2", "9"],
        "comments": ['Dijo "basta"; falta agua\nen la calle', ""],
        "not_a_field": ["x", "y"],
    })


def read_kobo(data: bytes):
    text = data.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_kobo_csv_syntax_matches_real_export(diag, real_data):
    buf = io.BytesIO()
    write_kobo_csv(diag, diag_rows(), buf)
    ours = buf.getvalue()
    real = (real_data / "kobo-export-example" / KOBO_CSV).read_bytes()
    for data in (real, ours):
        assert not data.startswith(b"\xef\xbb\xbf")  # UTF-8 without BOM
        first = data.split(b"\r\n", 1)[0]
        cells = first.split(b";")
        assert all(c.startswith(b'"') and c.endswith(b'"') for c in cells)  # every field quoted
        assert data.endswith(b"\r\n") and data.count(b"\r\n") >= 2           # CRLF records
    real_header = read_kobo(real[:5000])[0]
    # the real 2022 export ends with the meta columns (it predates __version__)
    assert real_header[-9:] == [c for c in KOBO_META if c != "__version__"]
    header = read_kobo(ours)[0]
    assert header[-len(KOBO_META):] == list(KOBO_META)
    # every quoted value in a data row, including empties and numbers
    line = ours.split(b"\r\n")[1]
    assert b';"";' in line and b'"7"' in line


def test_kobo_headers_match_real_export_for_real_form(real_data):
    inst = load_instrument(real_data / "kobo-export-example" / "artifact-kobotoolbox.xlsx")
    with open(real_data / "kobo-export-example" / KOBO_CSV, newline="", encoding="utf-8") as fh:
        real = next(csv.reader(fh, delimiter=";"))
    questions = real[: real.index("_id")]
    ours = kobo_headers(inst, multiple_select="summary")
    # same columns in the same order (geopoint -> _point_*, image -> Photo_URL, __version__ not
    # a question); the real all-versions export appends 3 columns of later form versions
    assert questions[: len(ours)] == ours
    assert questions[len(ours):] == ["Artifact_photo", "Artifact_photo_URL", "Platform_surface"]


def test_kobo_csv_round_trip_values(diag):
    buf = io.BytesIO()
    write_kobo_csv(diag, diag_rows(), buf, start_id=100)
    rows = read_kobo(buf.getvalue())
    header, r1, r2 = rows[0], dict(zip(rows[0], rows[1], strict=True)), dict(zip(rows[0], rows[2], strict=True))
    assert len(rows) == 3
    assert r1["start"] == "2026-03-02T10:00:09.772-06:00" and r2["end"] == ""
    assert r1["location/zone"] == "DT01" and r1["wellbeing/life_satisfaction"] == "7"
    assert r1["wellbeing/comments"] == 'Dijo "basta"; falta agua\nen la calle'
    assert r1["problems_group/problems"] == "water security"
    assert r1["problems_group/problems/water"] == "1" and r1["problems_group/problems/health"] == "0"
    assert r2["problems_group/problems/water"] == ""  # unanswered: empty, not 0
    assert "not_a_field" not in header
    assert (r1["_id"], r2["_id"], r1["_index"], r2["_index"]) == ("100", "101", "1", "2")
    assert r1["_status"] == "submitted_via_web" and r1["__version__"] == "2026.1"
    assert r1["_submission_time"] == "2026-03-02T16:21:37"  # end (UTC) + 97 s, no offset
    assert r1["_uuid"] != r2["_uuid"] and len(r1["_uuid"]) == 36
    # what was written reads back as valid values of the form
    for name in ("start", "location/zone", "wellbeing/life_satisfaction", "problems_group/problems"):
        field = name.split("/")[-1]
        assert diag.check_value(field, r1[name])[1] is None


@pytest.mark.parametrize("mode, has_summary, has_details", [
    ("both", True, True), ("summary", True, False), ("details", False, True)])
def test_select_multiple_modes(diag, mode, has_summary, has_details):
    h = kobo_headers(diag, multiple_select=mode)
    assert ("problems_group/problems" in h) is has_summary
    details = [c for c in h if c.startswith("problems_group/problems/")]
    assert len(details) == (8 if has_details else 0)
    if mode == "both":
        i = h.index("problems_group/problems")
        assert h[i + 1:i + 9] == [f"problems_group/problems/{c.name}" for c in diag.choices["axis"]]


def test_headers_without_groups_and_with_labels(diag):
    bare = kobo_headers(diag, groups_in_headers=False, multiple_select="summary")
    assert bare == [f.name for f in diag.fields]
    buf = io.BytesIO()
    write_kobo_csv(diag, diag_rows(), buf, headers="labels", lang="es", multiple_select="both")
    rows = read_kobo(buf.getvalue())
    r1 = dict(zip(rows[0], rows[1], strict=True))
    assert r1["Ubicación/Dirección territorial"] == "DT01"
    assert r1["Percepción de seguridad/" + diag.label("safety_colonia", "es")] == "Inseguro"
    q = "Problemas de la colonia/" + diag.label("problems", "es")
    assert r1[q] == "Agua Seguridad y convivencia"
    assert r1[q + "/Agua"] == "1"
    buf_en = io.BytesIO()
    write_kobo_csv(diag, diag_rows(), buf_en, headers="labels", lang="en", group_sep=" > ")
    assert "Location > Territorial directorate" in read_kobo(buf_en.getvalue())[0]


def test_given_meta_columns_are_kept(diag):
    df = diag_rows()
    df["_uuid"] = ["u-1", "u-2"]
    df["_submission_time"] = ["2026-03-02T16:30:00", pd.Timestamp("2026-03-03 09:00", tz="UTC")]
    df["_validation_status"] = ["validation_status_approved", None]
    buf = io.BytesIO()
    write_kobo_csv(diag, df, buf)
    rows = read_kobo(buf.getvalue())
    r1, r2 = (dict(zip(rows[0], r, strict=True)) for r in rows[1:])
    assert (r1["_uuid"], r2["_uuid"]) == ("u-1", "u-2")
    assert (r1["_submission_time"], r2["_submission_time"]) == ("2026-03-02T16:30:00", "2026-03-03T09:00:00")
    assert r1["_validation_status"] == "validation_status_approved"
    buf = io.BytesIO()
    write_kobo_csv(diag, df, buf, headers="labels")
    assert dict(zip(*read_kobo(buf.getvalue())[:2], strict=True))["_validation_status"] == "Approved"


def test_bad_options(diag):
    with pytest.raises(InstrumentError, match="multiple_select must be"):
        write_kobo_csv(diag, diag_rows(), io.BytesIO(), multiple_select="all")
    with pytest.raises(InstrumentError, match="headers must be"):
        write_kobo_csv(diag, diag_rows(), io.BytesIO(), headers="names")


def assembly_frames():
    main = pd.DataFrame({"assembly_code": ["A1", "A2", "A3"], "kind": ["block_assembly"] * 3,
                         "topics": ["water", "security mobility", "health"],
                         "date": [pd.Timestamp("2026-01-10"), pd.Timestamp("2026-01-11"), None],
                         "_uuid": ["u1", "u2", "u3"]})
    agreements = pd.DataFrame({"_parent_row": [0, 2, 2],
                               "agreement_code": ["A1-1", "A3-1", "A3-2"],
                               "department": ["water_utility", "health", "security"],
                               "due_date": ["2026-06-30", None, "2026-12-31"]})
    return main, {"agreements": agreements}


def test_kobo_xlsx_sheets_and_parent_links(assembly):
    main, reps = assembly_frames()
    buf = io.BytesIO()
    write_kobo_xlsx(assembly, main, reps, buf)
    wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    # main sheet = form title cut to Excel's 31 characters, then one sheet per repeat
    assert wb.sheetnames == ["Registro de asamblea o mesa de trabajo"[:31], "agreements"]
    assert all(len(n) <= 31 for n in wb.sheetnames)
    main_rows = list(wb.worksheets[0].iter_rows(values_only=True))
    rep_rows = list(wb["agreements"].iter_rows(values_only=True))
    mh = main_rows[0]
    assert mh[-len(KOBO_META):] == KOBO_META and mh[mh.index("_index")] == "_index"
    rh = rep_rows[0]
    assert list(rh[:5]) == ["agreement_code", "agreement_text", "department", "due_date",
                            "proposal_code"]
    assert list(rh[5:]) == ["_index", "_parent_table_name", "_parent_index", "_submission__id",
                            "_submission__uuid", "_submission__submission_time",
                            "_submission__validation_status", "_submission__notes",
                            "_submission__status", "_submission__submitted_by",
                            "_submission___version__", "_submission__tags"]
    recs = [dict(zip(rh, r, strict=True)) for r in rep_rows[1:]]
    assert [r["_parent_index"] for r in recs] == ["1", "3", "3"]
    assert [r["_submission__uuid"] for r in recs] == ["u1", "u3", "u3"]
    assert {r["_parent_table_name"] for r in recs} == {wb.sheetnames[0]}
    # every cell is text, as Kobo's default xls_types_as_text
    assert all(isinstance(v, str) for r in rep_rows[1:] for v in r if v is not None)
    assert recs[0]["due_date"] == "2026-06-30" and recs[1]["due_date"] in (None, "")


def test_kobo_xlsx_sheet_names_truncated_and_unique(assembly):
    main, reps = assembly_frames()
    inst = load_instrument(SURVEYS / "assembly.xlsx")
    inst.title = {"es": "agreements" + "x" * 40}  # a title that collides with the repeat when cut
    buf = io.BytesIO()
    write_kobo_xlsx(inst, main, reps, buf, lang="es")
    names = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).sheetnames
    assert names[0] == ("agreements" + "x" * 40)[:31] and names[1] == "agreements"
    assert all(len(n) <= 31 for n in names)


def test_bad_parent_row(assembly):
    main, reps = assembly_frames()
    reps["agreements"].loc[1, "_parent_row"] = 7
    with pytest.raises(DataError, match=r"row 1, column _parent_row: value 7 points to no parent"):
        write_kobo_xlsx(assembly, main, reps, io.BytesIO())
    with pytest.raises(InstrumentError, match="no repeat 'tally'"):
        write_odk_zip(assembly, main, {"tally": reps["agreements"]}, io.BytesIO())


def test_odk_zip_members_and_keys(assembly):
    main, reps = assembly_frames()
    buf = io.BytesIO()
    write_odk_zip(assembly, main, reps, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    assert z.namelist() == ["territoria_assembly.csv", "territoria_assembly-agreements.csv"]
    root = list(csv.reader(io.StringIO(z.read("territoria_assembly.csv").decode(), newline="")))
    h = root[0]
    assert h[0] == "SubmissionDate" and h[-len(ODK_META):] == list(ODK_META)
    assert h[-len(ODK_META) - 1] == "meta-instanceID"
    assert "location-territory" in h and "attendance-att_male_60_plus" in h
    assert "topics" in h and not any(c.startswith("topics/") for c in h)
    r = [dict(zip(h, row, strict=True)) for row in root[1:]]
    assert [x["KEY"] for x in r] == ["uuid:u1", "uuid:u2", "uuid:u3"]
    assert r[1]["topics"] == "security mobility" and r[0]["date"] == "2026-01-10"
    assert r[0]["FormVersion"] == "2026.2" and r[0]["SubmissionDate"].endswith(".000Z")
    rep = list(csv.reader(io.StringIO(z.read("territoria_assembly-agreements.csv").decode(), newline="")))
    assert rep[0][-2:] == ["PARENT_KEY", "KEY"]
    assert [row[-2:] for row in rep[1:]] == [
        ["uuid:u1", "uuid:u1/agreements[1]"], ["uuid:u3", "uuid:u3/agreements[1]"],
        ["uuid:u3", "uuid:u3/agreements[2]"]]
    assert all(info.date_time == (2026, 1, 1, 0, 0, 0) for info in z.infolist())


def test_writers_are_deterministic(tmp_path, assembly, diag):
    main, reps = assembly_frames()
    outs = []
    for k in range(2):
        d = tmp_path / str(k)
        write_kobo_csv(diag, diag_rows(), d / "k.csv")
        write_kobo_xlsx(assembly, main.drop(columns="_uuid"), reps, d / "k.xlsx")
        write_odk_zip(assembly, main.drop(columns="_uuid"), reps, d / "o.zip")
        outs.append([(d / n).read_bytes() for n in ("k.csv", "k.xlsx", "o.zip")])
    assert outs[0] == outs[1]
    # a different seed changes the generated uuids
    a, b = io.BytesIO(), io.BytesIO()
    write_kobo_csv(diag, diag_rows(), a, seed=1)
    write_kobo_csv(diag, diag_rows(), b, seed=2)
    assert a.getvalue() != b.getvalue()


def test_choice_files(tmp_path):
    out = write_choice_files(
        tmp_path,
        zones=pd.DataFrame({"zone_id": ["DT02", "DT01"], "name": ["Aculco", "Centro"]}),
        blocks=pd.DataFrame({"block_id": ["07-001-0001"], "territory_id": ["07-001"]}))
    assert [p.name for p in out] == ["zones.csv", "blocks.csv"]
    assert out[0].read_text().splitlines() == ["name,label", "DT01,Centro", "DT02,Aculco"]
    assert out[1].read_text().splitlines()[0] == "name,label,territory"
    with pytest.raises(DataError, match="column zone_id"):
        write_choice_files(tmp_path, territories=pd.DataFrame({"territory_id": ["x"], "name": ["y"]}))
