"""Tests of territoria.ledger.decidim: lossless round trips and row-by-row import reports."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.ledger.decidim import (
    apply_import,
    export_decidim,
    import_decidim_csv,
    plan_import,
    read_decidim_csv,
    write_decidim_csv,
)
from territoria.ledger.ledger import Ledger
from territoria.store import Store


def _rich_ledger() -> Ledger:
    led = Ledger(Store(":memory:"))
    led.add_agreements(pd.DataFrame({
        "agreement_id": ["P1", "C1", "C2", "R1"],
        "territory_id": ["07-001"] * 4,
        "assembly_code": ["AS-01", "AS-01", "AS-01", "GS-03"],
        "source_kind": ["territorial_assembly"] * 3 + ["security_cabinet"],
        "title": ['{"es": "Parque seguro", "en": "Safe park"}', '{"es": "Luminarias"}',
                  '{"es": "Poda", "en": "Tree trimming"}', '{"es": "Cámaras, \\"C5\\"; calle 3"}'],
        "description": ['{"es": "Recuperar el parque\\ncon la comunidad"}', None, None, None],
        "department": ["public_works", "public_works", "environment", "security"],
        "committed_date": ["2024-01-10"] * 3 + ["2024-02-01"],
        "due_date": ["2024-06-30", "2024-03-31", "2024-04-30", None],
        "parent_id": [None, "P1", "P1", None],
        "weight": [None, 0.6, 0.4, None],
        "proposal_code": ["PR-07", None, None, "PR-11"],
        "proposal_urls": ["https://decidim.example/proposals/12;https://decidim.example/proposals/13",
                          None, None, None],
        "evidence_urls": ["https://evid/acta.pdf", None, None, None],
    }))
    led.add_updates(pd.DataFrame({
        "agreement_id": ["C1", "C1", "C2", "R1"],
        "update_date": ["2024-02-01", "2024-03-20", "2024-02-15", "2024-02-10"],
        "status": ["in_progress", "done", "in_progress", "rejected"],
        "progress": [30, 100, 12.5, None],
        "reason": [None, None, None, "No hay presupuesto este año"],
        "evidence_url": [None, "https://evid/c1.jpg", None, None]}))
    return led


def _csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    write_decidim_csv(df, buf)
    return buf.getvalue()


def test_export_import_export_is_lossless(tmp_path):
    led = _rich_ledger()
    a = export_decidim(led)
    assert list(a.columns[:9]) == ["id", "parent/id", "title/es", "title/en", "description/es",
                                   "description/en", "start_date", "end_date", "status/id"]
    path = tmp_path / "a.csv"
    write_decidim_csv(a, path)
    led2 = Ledger(Store(":memory:"))
    plan = import_decidim_csv(led2, path)
    assert plan.n_errors == 0 and set(plan.report["action"]) == {"create"}
    b = export_decidim(led2)
    pd.testing.assert_frame_equal(a, b)
    assert _csv_text(a) == _csv_text(b) == path.read_text(encoding="utf-8")
    # the modelled state is the same too
    cols = ["agreement_id", "status", "progress", "reason", "due_date", "committed_date",
            "parent_id", "weight", "evidence", "title", "description", "territory_id",
            "proposal_code", "proposal_urls", "department", "source_kind", "last_update_date"]
    s1 = led.state_as_of("2024-12-31")[cols]
    s2 = led2.state_as_of("2024-12-31")[cols]
    pd.testing.assert_frame_equal(s1, s2)
    # importing the same file again changes nothing
    n = (led2.store.count("agreements"), led2.store.count("agreement_updates"))
    plan = import_decidim_csv(led2, path)
    assert set(plan.report["action"]) == {"unchanged"}
    assert (led2.store.count("agreements"), led2.store.count("agreement_updates")) == n


DECIDIM_CSV = '''id,category/id,category/name/es,scope/id,parent/id,title/ca,title/es,description/es,start_date,end_date,status/id,status/name/es,progress,created_at,url,proposal_urls
10,3,Seguridad,,,Enllumenat,Alumbrado público,"Cambiar 40 luminarias, calle ""Río""",2024-01-15,2024-07-31,2,En ejecución,45,2024-01-15 10:00:00 UTC,https://decidim.example/results/10,https://decidim.example/proposals/7
11,3,Seguridad,,10,,Calle 5,,2024-01-15,2024-03-31,3,Ejecutado,100,2024-01-15 10:00:00 UTC,https://decidim.example/results/11,
12,,,,,,Mercado,,,,,,,2024-01-16 09:00:00 UTC,https://decidim.example/results/12,
'''
STATUS_MAP = {"1": "agreed", "2": "in_progress", "3": "done"}


def test_decidim_file_survives_import_and_export():
    led = Ledger(Store(":memory:"))
    src = read_decidim_csv(io.StringIO(DECIDIM_CSV))
    plan = plan_import(led, src, status_map=STATUS_MAP, update_date="2024-04-01")
    assert plan.n_errors == 0
    apply_import(led, plan)
    st = led.state_as_of("2024-04-01").set_index("agreement_id")
    assert st.loc["10", "status"] == "in_progress" and st.loc["10", "progress"] == 45
    assert st.loc["11", "parent_id"] == "10"
    out = export_decidim(led, status_map=STATUS_MAP).set_index("id")
    src = src.set_index("id")
    for col in src.columns:
        if col.startswith("status/name/"):
            continue  # derived from the status (our wording)
        assert out[col].tolist() == src[col].tolist(), col


def _with_existing() -> Ledger:
    led = Ledger(Store(":memory:"))
    led.add_agreements(pd.DataFrame({
        "agreement_id": ["E1", "E2"], "territory_id": ["07-001", "07-001"],
        "title": ["Banquetas", "Alumbrado"], "committed_date": ["2024-01-01", "2024-01-01"],
        "due_date": ["2024-05-01", "2024-06-01"]}))
    return led


BAD_CSV = """id,parent/id,title/es,start_date,end_date,status/id,progress
N1,,Nueva obra,2024-02-01,2024-08-01,agreed,0
N2,,Estado raro,2024-02-01,2024-08-01,finished,10
N3,,Mucho avance,2024-02-01,2024-08-01,in_progress,140
N4,X99,Sin papá,2024-02-01,2024-08-01,agreed,
N5,,Fechas al revés,2024-09-01,2024-08-01,agreed,
N6,N2,Hijo de fila mala,2024-02-01,2024-08-01,agreed,
E1,,Banquetas,2024-01-01,2024-05-01,in_progress,35
"""


def test_malformed_rows_are_reported_row_by_row():
    led = _with_existing()
    plan = plan_import(led, read_decidim_csv(io.StringIO(BAD_CSV)), update_date="2024-03-01")
    rep = plan.report
    errs = rep[rep["action"] == "error"]
    got = {(r["row"], r["column"]) for r in errs.to_dict("records")}
    assert got == {(3, "status/id"), (4, "progress"), (5, "parent/id"), (6, "end_date"),
                   (7, "parent/id")}
    msg = dict(zip(errs["row"], errs["message"], strict=False))
    assert "unknown status 'finished'" in msg[3]
    assert "progress 140 is outside 0-100" in msg[4]
    assert "parent 'X99' does not exist" in msg[5]
    assert "before committed date" in msg[6]
    assert "has errors in row 3" in msg[7]
    assert plan.error_rows == [3, 4, 5, 6, 7]
    by_row = rep.drop_duplicates("row").set_index("row")["action"]
    assert by_row[2] == "create" and by_row[8] == "update"


def _tables(led):
    """Both ledger tables, with missing values normalised (dtype of all-empty columns varies)."""
    out = []
    for name in ("agreements", "agreement_updates"):
        t = led.store.table(name).astype(object)
        out.append(t.where(t.notna(), None))
    return tuple(out)


def test_dry_run_and_strict_change_nothing_and_apply_changes_only_valid_rows(tmp_path):
    led = _with_existing()
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    ag0, up0 = _tables(led)
    import_decidim_csv(led, path, dry_run=True, update_date="2024-03-01")
    pd.testing.assert_frame_equal(_tables(led)[0], ag0)
    pd.testing.assert_frame_equal(_tables(led)[1], up0)
    with pytest.raises(DataError, match="5 row"):
        import_decidim_csv(led, path, strict=True, update_date="2024-03-01")
    pd.testing.assert_frame_equal(_tables(led)[0], ag0)
    pd.testing.assert_frame_equal(_tables(led)[1], up0)
    import_decidim_csv(led, path, update_date="2024-03-01")
    ag1, up1 = _tables(led)
    # existing rows untouched, only N1 (new agreement + update) and E1 (update) appended
    pd.testing.assert_frame_equal(ag1.iloc[: len(ag0)].reset_index(drop=True), ag0)
    pd.testing.assert_frame_equal(up1.iloc[: len(up0)].reset_index(drop=True), up0)
    assert ag1.iloc[len(ag0):]["agreement_id"].tolist() == ["N1"]
    assert sorted(up1.iloc[len(up0):]["agreement_id"]) == ["E1", "N1"]
    st = led.state_as_of("2024-03-01").set_index("agreement_id")
    assert st.loc["E1", "status"] == "in_progress" and st.loc["E1", "progress"] == 35
    assert not {"N2", "N3", "N4", "N5", "N6"} & set(st.index)


def test_existing_rows_are_corrected_by_new_versions():
    led = _with_existing()
    csv = "id,title/es,title/en,end_date\nE2,Alumbrado público,Street lighting,2024-07-01\n"
    plan = plan_import(led, read_decidim_csv(io.StringIO(csv)))
    assert plan.report.loc[0, "action"] == "correct"
    assert "title" in plan.report.loc[0, "message"] and "due_date" in plan.report.loc[0, "message"]
    apply_import(led, plan)
    cur = led.agreements().set_index("agreement_id")
    assert cur.loc["E2", "version"] == 2
    assert cur.loc["E2", "due_date"] == pd.Timestamp("2024-07-01")
    assert cur.loc["E2", "territory_id"] == "07-001"  # absent column keeps the ledger's value
    assert led.store.count("agreements") == 3


def test_numeric_status_without_map_is_explained_and_rejected_needs_reason():
    led = _with_existing()
    csv = "id,title/es,status/id\nZ1,x,2\nZ2,y,rejected\n"
    rep = plan_import(led, read_decidim_csv(io.StringIO(csv))).report
    assert "give a status map" in rep.loc[0, "message"]
    assert rep.loc[1, "column"] == "reason"
    with pytest.raises(DataError, match="status map value 'finished'"):
        plan_import(led, read_decidim_csv(io.StringIO(csv)), status_map={"2": "finished"})


def test_semicolon_csv_and_missing_id_column():
    df = read_decidim_csv(io.StringIO("id;title/es\nA;Hola, vecinas\n"))
    assert df.loc[0, "title/es"] == "Hola, vecinas"
    with pytest.raises(DataError, match="no 'id' column"):
        read_decidim_csv(io.StringIO("title/es\nx\n"))


def test_export_locales_option():
    led = _rich_ledger()
    out = export_decidim(led, locales=["en"])
    assert "title/es" not in out.columns and "title/en" in out.columns
    assert out.set_index("id").loc["P1", "status/name/en"] == "Agreed"
