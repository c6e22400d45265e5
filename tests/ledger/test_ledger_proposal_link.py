"""The proposal an agreement answers (``proposal_code``, assembly form 2026.2): from a Kobo
export through ingest into the ledger and the Decidim export; older exports without it; the
exact "top-10 agenda items with a signed agreement" on a hand-built case."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from pyxform.xls2xform import convert

from territoria.analysis import followup as fu
from territoria.config import init_workspace
from territoria.ingest import ingest_files
from territoria.instruments.exports import write_kobo_xlsx
from territoria.instruments.xlsform import default_surveys_dir, load_instrument
from territoria.ledger.decidim import (
    apply_import,
    export_decidim,
    plan_import,
    read_decidim_csv,
    write_decidim_csv,
)
from territoria.ledger.ledger import Ledger, sync_from_surveys
from territoria.ledger.model import state_as_of
from territoria.ledger.surveys import frames_from_surveys
from territoria.steps import s04_followup as step
from territoria.store import Store

ATT = [f"att_{s}_{a}" for s in ("female", "male") for a in ("18_29", "30_44", "45_59", "60_plus")]


def _workspace(root):
    ws = init_workspace(root, "Iztapalapa")
    with Store(ws.store_path) as s, s.transaction():
        s.append("zones", pd.DataFrame({"zone_id": ["DT01"], "name": ["Aculco"]}))
        s.append("territories", pd.DataFrame({"territory_id": ["07-001"], "name": ["ACULCO"],
                                              "zone_id": ["DT01"]}))
        s.append("blocks", pd.DataFrame({"block_id": ["07-001-0001"],
                                         "territory_id": ["07-001"]}))
    return ws


def _meetings(codes, dates):
    main = pd.DataFrame({"assembly_code": codes, "kind": "working_table", "mode": "in_person",
                         "date": dates, "zone": "DT01", "territory": "07-001", "place": "Escuela",
                         "topics": "security water"})
    for c in ATT:
        main[c] = 3
    return main


def _agreements(parent_rows, codes, proposals=None):
    rep = pd.DataFrame({"_parent_row": parent_rows, "agreement_code": codes,
                        "agreement_text": [f"Acuerdo {c}" for c in codes],
                        "department": "public_works", "due_date": "2024-12-31"})
    if proposals is not None:
        rep["proposal_code"] = proposals
    return rep


def _links(ids, codes) -> dict:
    """{agreement: proposal code or None}."""
    return {str(i): (None if pd.isna(c) or str(c).strip() == "" else str(c))
            for i, c in zip(ids, codes, strict=True)}


def _ingest(ws, inst, main, rep, path):
    write_kobo_xlsx(inst, main, {"agreements": rep}, path)
    (r,) = ingest_files(ws, [path])
    assert r.status == "ok" and r.quarantined == 0, r.as_line()
    return r


def test_proposal_code_round_trips_from_kobo_to_the_decidim_export(tmp_path):
    ws = _workspace(tmp_path / "ws")
    inst = load_instrument(default_surveys_dir() / "assembly.xlsx")
    assert inst.version == "2026.2" and inst.has_field("proposal_code")
    r = _ingest(ws, inst, _meetings(["MT-1", "MT-2"], ["2024-01-10", "2024-02-05"]),
                _agreements([0, 0, 1], ["AC-1", "AC-2", "AC-3"],
                            ["P-07-001-03", "", "P-07-001-01"]),
                tmp_path / "Registro_asambleas_-_all_versions_-_False_-_2024.xlsx")
    assert r.version == "2026.2"
    with Store(ws.store_path) as s:
        rows = s.table("assembly__agreements").set_index("agreement_code")["proposal_code"]
        assert rows["AC-1"] == "P-07-001-03" and rows["AC-3"] == "P-07-001-01"
        assert pd.isna(rows["AC-2"]) or rows["AC-2"] == ""
        # in memory (read-only notebooks) and in the store sync: the same links
        ag, _, problems = frames_from_surveys(s.table("assembly__agreements"),
                                              s.table("assembly"))
        assert problems.empty
        want = {"AC-1": "P-07-001-03", "AC-2": None, "AC-3": "P-07-001-01"}
        assert _links(ag["agreement_id"], ag["proposal_code"]) == want
        sync_from_surveys(s)
        led = Ledger(s)
        got = led.agreements()
        assert _links(got["agreement_id"], got["proposal_code"]) == want
        ex = export_decidim(led)
    assert dict(zip(ex["id"], ex["proposal_code"], strict=True)) == {
        "AC-1": "P-07-001-03", "AC-2": "", "AC-3": "P-07-001-01"}
    # the CSV read back into an empty ledger keeps the links
    path = tmp_path / "decidim.csv"
    write_decidim_csv(ex, path)
    other = Ledger(Store(":memory:"))
    plan = plan_import(other, read_decidim_csv(path))
    assert plan.n_errors == 0
    apply_import(other, plan)
    back = other.agreements()
    assert _links(back["agreement_id"], back["proposal_code"]) == want


def test_an_export_of_the_old_form_still_ingests_and_keeps_its_ledger_rows(tmp_path):
    ws = _workspace(tmp_path / "ws")
    old = load_instrument(default_surveys_dir() / "assembly-2026.1.xlsx")
    assert old.version == "2026.1" and not old.has_field("proposal_code")
    r = _ingest(ws, old, _meetings(["MT-1"], ["2024-01-10"]),
                _agreements([0, 0], ["AC-1", "AC-2"]), tmp_path / "old.xlsx")
    assert r.version == "2026.1"
    with Store(ws.store_path) as s:
        assert sync_from_surveys(s)["action"].tolist().count("created") == 2
        assert Ledger(s).agreements()["proposal_code"].isna().all()
    # then the new form: the column is added, the old rows stay unlinked and unchanged
    new = load_instrument(default_surveys_dir() / "assembly.xlsx")
    _ingest(ws, new, _meetings(["MT-2"], ["2024-03-01"]),
            _agreements([0], ["AC-3"], ["P-07-001-02"]), tmp_path / "new.xlsx")
    with Store(ws.store_path) as s:
        t = s.table("assembly__agreements").set_index("agreement_code")["proposal_code"]
        assert t[["AC-1", "AC-2"]].isna().all() and t["AC-3"] == "P-07-001-02"
        rep = sync_from_surveys(s)
        assert rep[["agreement_id", "action"]].values.tolist() == [["AC-3", "created"]]
        led = Ledger(s)
        assert len(led.agreement_versions()) == 3  # no spurious correction of AC-1, AC-2
        ex = export_decidim(led)
    assert ex.set_index("id")["proposal_code"].to_dict() == {
        "AC-1": "", "AC-2": "", "AC-3": "P-07-001-02"}


# --- the exact indicator -------------------------------------------------------------------
AGENDA = pd.DataFrame({"proposal_code": [f"P{i:02d}" for i in range(1, 13)],
                       "rank": range(1, 13),
                       "department": ["public_works"] * 6 + ["water_utility"] * 6})


def _analysis(links):
    """Six agreements of territory T: A1 answers P01 (done), A2 and A3 both P02 (agreed, in
    progress), A4 P03 but rejected, A5 P11 (rank 11, outside the top 10), A6 nothing."""
    ag = pd.DataFrame({"agreement_id": [f"A{i}" for i in range(1, 7)], "version": 1,
                       "territory_id": "T", "department": "public_works",
                       "committed_date": pd.Timestamp("2024-01-10"), "proposal_code": links})
    up = pd.DataFrame({"agreement_id": ag["agreement_id"], "seq": range(1, 7),
                       "update_date": pd.Timestamp("2024-02-01"),
                       "status": ["done", "agreed", "in_progress", "rejected", "done", "agreed"],
                       "reason": [None, None, None, "Sin presupuesto", None, None]})
    when = pd.Timestamp("2024-06-30")
    return step.FollowupAnalysis("T", ag, up, state_as_of(ag, up, when), when, "surveys",
                                 agenda=AGENDA)


def test_top10_with_a_signed_agreement_is_exact_when_agreements_name_their_proposal():
    a = _analysis(["P01", "P02", "P02", "P03", "P11", None])
    tr = step.traceability_table(a).set_index("name")
    top = tr.loc["top_agenda_with_agreement"]
    # P01 and P02 have a standing agreement; P03's was rejected, P11 is not in the top 10
    assert top["computable"] and (top["k"], top["n"]) == (2, 10)
    assert top["estimate"] == pytest.approx(0.2)
    lo, hi = fu.proportion_ci(2, 10)
    assert (top["ci_low"], top["ci_high"]) == pytest.approx((float(lo), float(hi)))
    assert tr.loc["agreements_linked_to_proposal", "k"] == 5
    # the proxy stays beside it: 6 of the top 10 are public works, which has agreements
    assert tr.loc["top_agenda_department_covered", "estimate"] == pytest.approx(0.6)


def test_without_any_link_the_exact_figure_is_withheld_and_the_proxy_remains():
    a = _analysis([None, "", None, " ", None, None])
    tr = step.traceability_table(a).set_index("name")
    top = tr.loc["top_agenda_with_agreement"]
    assert not top["computable"] and np.isnan(top["estimate"])
    assert "proposal_code" in top["note_es"] and "proxy" in top["note_en"]
    assert tr.loc["agreements_linked_to_proposal", "k"] == 0
    assert tr.loc["top_agenda_department_covered", "computable"]


# --- the sample city -----------------------------------------------------------------------
def test_sample_city_assembly_form_converts_and_links_most_agreements(sample_ws, tmp_path):
    from territoria.instruments.city_forms import build_city_forms

    root = tmp_path / "ws"
    shutil.copytree(sample_ws.root, root)
    written = build_city_forms(root, out_dir=tmp_path / "forms")
    path = next(p for p in written if p.name == "assembly.xlsx")
    res = convert(xlsform=str(path), validate=False)
    assert not res.warnings and "/agreements/proposal_code" in res.xform
    with Store(sample_ws.store_path, read_only=True) as s:
        d = s.query(
            "SELECT a.proposal_code, p.territory, pr.territory AS ptr FROM assembly__agreements a "
            "JOIN assembly p ON a._parent_uuid = p._uuid "
            "LEFT JOIN proposals pr ON pr.proposal_code = a.proposal_code")
    linked = d["proposal_code"].notna() & (d["proposal_code"].astype(str).str.strip() != "")
    assert 0.5 < linked.mean() < 0.95  # most, not all
    # every code names a recorded proposal of the agreement's own territory
    assert (d.loc[linked, "ptr"] == d.loc[linked, "territory"]).all()
