"""Issue 16 sweep: the figures of the closing note, measured (run from the repository root:
``.venv/bin/python tests/ingest/hostile/sweep.py``; about a minute).

Prints: corpus cases, clear errors, cases quarantined as expected, silent acceptances, rows
duplicated by re-ingesting corrected/cumulative exports, formula cells in the exports, and
commands aborted by another in concurrent runs with real processes.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import form, make_workspace, valid_frame  # noqa: E402
from territoria.ingest import ingest_files  # noqa: E402
from territoria.instruments.exports import write_kobo_csv, write_kobo_xlsx, write_odk_zip  # noqa: E402
from territoria.safe_export import formula_cells  # noqa: E402
from territoria.store import Store  # noqa: E402

PAYLOAD = "=cmd|' /C calc'!A0"


def _ws():
    return make_workspace(Path(tempfile.mkdtemp()) / "ws")


def corpus() -> dict:
    out = {"cases": 0, "clear_errors": 0, "quarantined_as_expected": 0, "accepted_as_expected": 0,
           "silent_acceptances": 0, "mismatches": []}
    for case in yaml.safe_load((HERE / "manifest.yml").read_text(encoding="utf-8")):
        out["cases"] += 1
        ws = _ws()
        (r,) = ingest_files(ws, [HERE / case["file"]], kind=case.get("kind"))
        if r.status == "rejected":
            ok = "(rule: " in r.message and "\n" not in r.message
            out["clear_errors"] += ok
            if case["expect"] != "rejected":
                out["mismatches"].append((case["file"], "rejected", r.message))
        elif case["expect"] == "rejected" or case.get("quarantined", 0) > r.quarantined:
            out["silent_acceptances"] += 1
            out["mismatches"].append((case["file"], r.status, r.accepted, r.quarantined))
        elif r.quarantined:
            out["quarantined_as_expected"] += 1
        else:
            out["accepted_as_expected"] += 1
    return out


def reingest() -> dict:
    """Rows duplicated when corrected or cumulative exports are ingested again."""
    dup = {}
    # Kobo CSV: 20 submissions, then a cumulative re-export: 1 corrected, 5 new, same 19 others
    ws, tmp = _ws(), Path(tempfile.mkdtemp())
    inst = form("diagnostic")
    a = valid_frame(inst, 20)
    a["_uuid"] = [f"u{i}" for i in range(20)]
    a["_submission_time"] = pd.Timestamp("2026-03-02 10:00")
    b = pd.concat([a, valid_frame(inst, 5, seed=3)], ignore_index=True)
    b.loc[20:, "_uuid"] = [f"n{i}" for i in range(5)]
    b["_submission_time"] = pd.Timestamp("2026-03-02 10:00")
    b.loc[3, "life_satisfaction"] = (int(b.loc[3, "life_satisfaction"]) + 1) % 11
    b.loc[3, "_submission_time"] = pd.Timestamp("2026-03-05 10:00")
    write_kobo_csv(inst, a, tmp / "a.csv")
    write_kobo_csv(inst, b, tmp / "b.csv")
    write_kobo_csv(inst, b.iloc[::-1].reset_index(drop=True), tmp / "c.csv")  # same, reordered
    ingest_files(ws, [tmp / "a.csv", tmp / "b.csv", tmp / "c.csv"])
    with Store(ws.store_path, read_only=True) as s:
        t = s.table("diagnostic")
    dup["kobo_csv"] = len(t) - t["_uuid"].nunique() + abs(t["_uuid"].nunique() - 25)
    # Kobo XLSX with repeats, sent twice (the second with one agreement corrected)
    ws, tmp = _ws(), Path(tempfile.mkdtemp())
    inst = form("assembly")
    m = valid_frame(inst, 4)
    m["_uuid"] = [f"a{i}" for i in range(4)]
    ag = valid_frame(inst, 8, repeat="agreements")
    ag["_parent_row"] = [0, 0, 1, 1, 2, 2, 3, 3]
    write_kobo_xlsx(inst, m, {"agreements": ag}, tmp / "a.xlsx")
    ag.loc[2, "agreement_text"] = "corregido"
    write_kobo_xlsx(inst, m, {"agreements": ag}, tmp / "b.xlsx")
    ingest_files(ws, [tmp / "a.xlsx", tmp / "b.xlsx"])
    with Store(ws.store_path, read_only=True) as s:
        n_main, n_rep = s.count("assembly"), s.count("assembly__agreements")
    dup["kobo_xlsx_repeats"] = (n_main - 4) + (n_rep - 8)
    # ODK zip then the root table alone, then the zip again with one more submission
    ws, tmp = _ws(), Path(tempfile.mkdtemp())
    inst = form("votes")
    m = valid_frame(inst, 5)
    v = valid_frame(inst, 9, repeat="votes")
    v["_parent_row"] = [0, 0, 1, 1, 2, 3, 3, 4, 4]
    write_odk_zip(inst, m, {"votes": v}, tmp / "a.zip")
    import zipfile

    (tmp / "territoria_votes.csv").write_bytes(
        zipfile.ZipFile(tmp / "a.zip").read("territoria_votes.csv"))
    ingest_files(ws, [tmp / "a.zip", tmp / "territoria_votes.csv"])
    with Store(ws.store_path, read_only=True) as s:
        dup["odk_zip_and_root_csv"] = (s.count("votes") - 5) + (s.count("votes__votes") - 9)
    # catalogue tables sent twice with a correction
    ws, tmp = _ws(), Path(tempfile.mkdtemp())
    (tmp / "b1.csv").write_text("block_id,territory_id,population\n07-001-0101,07-001,10\n"
                                "07-001-0102,07-001,12\n", encoding="utf-8")
    (tmp / "b2.csv").write_text("block_id,territory_id,population\n07-001-0101,07-001,11\n"
                                "07-001-0102,07-001,12\n", encoding="utf-8")
    ingest_files(ws, [tmp / "b1.csv", tmp / "b2.csv"], kind="blocks")
    with Store(ws.store_path, read_only=True) as s:
        dup["blocks"] = s.count("blocks") - 5  # 3 from the fixture + 2
    return dup


def exports() -> dict:
    from territoria.analysis.agenda import AGENDA_COLUMNS, agenda_to_csv
    from territoria.ledger.decidim import write_decidim_csv

    tmp = Path(tempfile.mkdtemp())
    ag = pd.DataFrame({c: [None] * 9 for c in AGENDA_COLUMNS})
    ag["title"] = [PAYLOAD, "+1+cmd", "-1+cmd", "@SUM(A1)", "\t=1", "\r=1", "ok", "=A1", "-x"]
    agenda_to_csv(ag, tmp / "a.csv")
    led = pd.DataFrame({"id": [f"A{i}" for i in range(67)], "title/es": [PAYLOAD] * 67,
                        "reason": ["Tel. 55 1234 5678"] * 67})
    buf = io.StringIO()
    write_decidim_csv(led, buf, free_text=False)
    read = lambda f: pd.read_csv(f, dtype=str, keep_default_na=False)  # noqa: E731
    return {"agenda": formula_cells(read(tmp / "a.csv")),
            "ledger": formula_cells(read(io.StringIO(buf.getvalue()))),
            "ledger_free_text_cells": int("reason" in buf.getvalue())}


def concurrency() -> dict:
    """Scenarios with real processes; a command aborted = non-zero exit without a clear
    'busy' line, or a raw DuckDB message."""
    ws = _ws()
    tmp = Path(tempfile.mkdtemp())
    files = []
    for i in range(4):
        f = tmp / f"z{i}.csv"
        f.write_text(f"zone_id,name\nDZ{i},Zona {i}\n", encoding="utf-8")
        files.append(f)
    py = [sys.executable, "-m", "territoria"]
    hold = ("import sys,time\nfrom territoria.store import Store\n"
            "with Store(sys.argv[1], read_only=sys.argv[2]=='ro'):\n"
            "    print('ready', flush=True); time.sleep(float(sys.argv[3]))\n")
    scenarios = []
    # 1. four ingests and three infos at once
    procs = [subprocess.Popen([*py, "ingest", "-w", str(ws.root), str(f)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    procs += [subprocess.Popen([*py, "info", "-w", str(ws.root)], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    scenarios.append([(p.wait(), p.stderr.read()) for p in procs])
    # 2. info while a writer holds the store; 3. a writer while readers hold it
    for mode, cmd in (("rw", ["info", "-w", str(ws.root)]),
                      ("ro", ["ingest", "-w", str(ws.root), str(files[0])])):
        h = subprocess.Popen([sys.executable, "-c", hold, str(ws.store_path), mode, "3"],
                             stdout=subprocess.PIPE, text=True)
        h.stdout.readline()
        p = subprocess.run([*py, *cmd], capture_output=True, text=True)
        h.wait()
        scenarios.append([(p.returncode, p.stderr), (h.returncode, "")])
    aborted = sum(1 for sc in scenarios for rc, err in sc
                  if rc != 0 or "Conflicting lock" in err or "unexpected" in err)
    return {"scenarios": len(scenarios), "commands": sum(len(s) for s in scenarios),
            "aborted": aborted}


if __name__ == "__main__":
    for name, fn in (("corpus", corpus), ("re-ingest duplicates", reingest),
                     ("formula cells in exports", exports), ("concurrency", concurrency)):
        print(f"{name}: {fn()}", flush=True)
