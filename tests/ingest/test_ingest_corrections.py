"""Corrections and cumulative re-exports (issue 16): nothing duplicated, newer wins, history kept."""

from __future__ import annotations

import pandas as pd

from territoria.ingest import ingest_files
from territoria.instruments.exports import write_kobo_csv, write_kobo_xlsx
from territoria.store import Store


def _one(ws, path, **kw):
    (r,) = ingest_files(ws, [path], **kw)
    return r


def _diag(kit, n=5):
    inst = kit.form("diagnostic")
    df = kit.valid_frame(inst, n)
    df["_uuid"] = [f"u{i}" for i in range(n)]
    df["_submission_time"] = pd.Timestamp("2026-03-02 10:00:00")
    return inst, df


def test_corrected_kobo_row_replaces_the_stored_one_and_keeps_history(ws, kit, tmp_path):
    inst, df = _diag(kit)
    p1 = tmp_path / "d1.csv"
    write_kobo_csv(inst, df, p1)
    r1 = _one(ws, p1)
    assert (r1.accepted, r1.new) == (5, 5)
    # the unit corrects submission u2 on Kobo and re-exports everything plus one new one
    df2 = pd.concat([df, kit.valid_frame(inst, 1, seed=7)], ignore_index=True)
    df2.loc[5, "_uuid"] = "u5"
    df2.loc[5, "_submission_time"] = pd.Timestamp("2026-03-03 10:00:00")
    df2.loc[2, "life_satisfaction"] = (int(df.loc[2, "life_satisfaction"]) + 1) % 11
    df2.loc[2, "_submission_time"] = pd.Timestamp("2026-03-04 09:00:00")
    p2 = tmp_path / "d2.csv"
    write_kobo_csv(inst, df2, p2)
    r2 = _one(ws, p2)
    assert (r2.status, r2.accepted, r2.quarantined) == ("ok", 6, 0), r2.message
    assert (r2.new, r2.updated, r2.unchanged) == (1, 1, 4)
    assert "new 1, updated 1, unchanged 4" in r2.as_line("en")
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("diagnostic")
        h = s.table("diagnostic__history")
        log = s.table("ingest_log")
    assert len(t) == 6 and t["_uuid"].is_unique
    assert t.set_index("_uuid").loc["u2", "life_satisfaction"] == df2.loc[2, "life_satisfaction"]
    assert h["_uuid"].tolist() == ["u2"]
    assert h["_replaced_by"].tolist() == [r2.sha256] and h["_file_sha256"].tolist() == [r1.sha256]
    assert log["rows_updated"].tolist() == [0, 1] and log["rows_new"].tolist() == [5, 1]


def test_an_older_version_never_overwrites_a_newer_one(ws, kit, tmp_path):
    inst, df = _diag(kit, 3)
    newer = df.copy()
    newer["_submission_time"] = pd.Timestamp("2026-03-05 10:00:00")
    p_new, p_old = tmp_path / "new.csv", tmp_path / "old.csv"
    write_kobo_csv(inst, newer, p_new)
    df.loc[0, "life_satisfaction"] = (int(df.loc[0, "life_satisfaction"]) + 1) % 11
    write_kobo_csv(inst, df, p_old)
    _one(ws, p_new)
    r = _one(ws, p_old)
    assert (r.accepted, r.quarantined) == (0, 3)
    with Store(ws.store_path, read_only=True) as s:
        q = s.table("quarantine")
        t = s.table("diagnostic")
    assert set(q["rule"]) == {"older_than_stored"}
    assert len(t) == 3 and (t["_submission_time"] == pd.Timestamp("2026-03-05 10:00:00")).all()


def test_corrected_repeat_rows_are_replaced_not_added(ws, kit, tmp_path):
    inst = kit.form("assembly")
    main = kit.valid_frame(inst, 2)
    main["_uuid"] = ["a0", "a1"]
    ag = kit.valid_frame(inst, 4, repeat="agreements")
    ag["_parent_row"] = [0, 0, 0, 1]
    p1 = tmp_path / "a1.xlsx"
    write_kobo_xlsx(inst, main, {"agreements": ag}, p1)
    assert _one(ws, p1).accepted == 6
    # the correction drops one agreement of a0 and rewrites the text of another
    ag2 = ag.drop(index=2).reset_index(drop=True)
    ag2.loc[1, "agreement_text"] = "texto corregido"
    p2 = tmp_path / "a2.xlsx"
    write_kobo_xlsx(inst, main, {"agreements": ag2}, p2)
    r = _one(ws, p2)
    assert (r.accepted, r.quarantined) == (5, 0), r.message
    with Store(ws.store_path, read_only=True) as s:
        rep = s.table("assembly__agreements")
        hist = s.table("assembly__agreements__history")
    assert len(rep) == 3 and rep["_uuid"].is_unique
    assert len(hist) == 2  # the removed row and the replaced one


def test_replace_swaps_a_whole_source(ws, kit, tmp_path):
    inst, df = _diag(kit, 4)
    p1 = tmp_path / "all.csv"
    write_kobo_csv(inst, df, p1)
    _one(ws, p1)
    p2 = tmp_path / "two.csv"
    write_kobo_csv(inst, df.iloc[[0, 1]], p2)
    r = _one(ws, p2, options={"replace": True})
    assert (r.accepted, r.unchanged) == (2, 2)
    with Store(ws.store_path, read_only=True) as s:
        assert sorted(s.table("diagnostic")["_uuid"]) == ["u0", "u1"]
        assert sorted(s.table("diagnostic__history")["_uuid"]) == ["u2", "u3"]


def test_personal_data_typed_in_comments_is_redacted(ws, kit, tmp_path):
    inst, df = _diag(kit, 3)
    df["comments"] = ["Llámenme al 55 1234 5678, vivo en Calle Morelos 25",
                      "mi correo es rosa.perez@gmail.com", "Falta agua desde 2023"]
    p = tmp_path / "c.csv"
    write_kobo_csv(inst, df, p)
    _one(ws, p)
    with Store(ws.store_path, read_only=True) as s:
        text = " ".join(s.table("diagnostic__freetext")["comments"].dropna())
    assert "5678" not in text and "gmail" not in text and "Morelos 25" not in text
    assert "[teléfono]" in text and "[correo]" in text and "Falta agua desde 2023" in text
