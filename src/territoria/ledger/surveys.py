"""The agreement ledger built in memory from the ingested survey tables (no store writes).

:func:`territoria.ledger.ledger.sync_from_surveys` writes the ``agreements`` and
``agreement_updates`` tables; notebooks open the store read-only, so they need the same frames
without writing. :func:`frames_from_surveys` builds them from the assembly form's agreements
(repeat ``assembly__agreements`` linked to ``assembly``) and the follow-up form (``followup``),
with the same rules as the sync: an agreement's committed date is its assembly's date, it gets
an initial ``agreed`` update on that date, follow-up rows become updates in file order, and
rows that break a ledger rule (:func:`~territoria.ledger.model.check_agreement`,
:func:`~territoria.ledger.model.check_update`) are left out and reported. Only these columns
are read: ``agreement_code, agreement_text, department, due_date, proposal_code``
(agreements; ``proposal_code`` exists from version 2026.2 of the assembly form, and older
exports without it give agreements with no proposal), ``assembly_code, kind, date,
territory`` (assembly), ``agreement_code, update_date, status, progress, reason,
evidence_url, department`` (follow-up). Reporter names are never read.

Examples
--------
>>> import pandas as pd
>>> asm = pd.DataFrame({"_uuid": ["u1"], "assembly_code": ["AS-1"], "kind": ["working_table"],
...                     "date": ["2024-01-10"], "territory": ["07-001"]})
>>> rep = pd.DataFrame({"_parent_uuid": ["u1"], "agreement_code": ["AC-1"],
...                     "agreement_text": ["Reparar luminarias"], "department": ["public_works"],
...                     "due_date": ["2024-03-31"]})
>>> fu = pd.DataFrame({"agreement_code": ["AC-1"], "update_date": ["2024-02-15"],
...                    "status": ["in_progress"], "progress": [40], "reporter_name": ["X"]})
>>> ag, up, rep_ = frames_from_surveys(rep, asm, fu)
>>> ag[["agreement_id", "territory_id", "assembly_code", "source_kind"]].values.tolist()
[['AC-1', '07-001', 'AS-1', 'working_table']]
>>> up[["status", "progress"]].values.tolist()
[['agreed', nan], ['in_progress', 40.0]]
>>> "reporter_name" in up.columns, len(rep_)
(False, 0)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria.ledger.ledger import PARENT_LINKS
from territoria.ledger.model import (
    AGREEMENT_COLUMNS,
    UPDATE_COLUMNS,
    check_agreement,
    check_update,
    dump_texts,
    is_missing,
    to_date,
)

#: (column of the repeat table, column of the assembly table) tried in order to link an
#: agreement to its assembly; the same pairs as the store sync.
LINKS = PARENT_LINKS

REPORT_COLUMNS = ["table", "row", "agreement_id", "message"]


def _empty(schema: dict) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in schema})


def frames_from_surveys(agreements: pd.DataFrame, assembly: pd.DataFrame,
                        followup: pd.DataFrame | None = None, *, lang: str = "es",
                        require_reason: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Ledger frames ``(agreements, updates, problems)`` from survey tables, in memory.

    Parameters
    ----------
    agreements : DataFrame
        Rows of ``assembly__agreements`` (the repeat group).
    assembly : DataFrame
        Rows of ``assembly`` (at least those the agreements belong to).
    followup : DataFrame, optional
        Rows of ``followup``.
    lang : str
        Language of ``agreement_text``.
    require_reason : bool
        Enforce the ledger rule "a rejection needs a reason". Ingest moves the follow-up's
        ``reason`` (free text) to ``followup__freetext``, which published steps never read;
        they pass False so that rejections are still counted.

    Returns
    -------
    agreements : DataFrame
        Columns of :data:`~territoria.ledger.model.AGREEMENT_COLUMNS` (version 1,
        ``source = "assembly"``), one row per agreement code (first row wins).
    updates : DataFrame
        Columns of :data:`~territoria.ledger.model.UPDATE_COLUMNS`: the initial ``agreed``
        update on the committed date, then the follow-up rows (``seq`` in that order).
    problems : DataFrame
        ``table, row, agreement_id, message`` for every source row left out.

    Raises
    ------
    territoria.exceptions.DataError
        When agreements cannot be linked to their assembly (no known key pair).
    """
    from territoria.exceptions import DataError

    problems: list[dict] = []
    ag_rows: list[dict] = []
    up_rows: list[dict] = []
    if agreements is not None and len(agreements):
        link = next(((c, p) for c, p in LINKS
                     if c in agreements.columns and p in assembly.columns), None)
        if link is None:
            raise DataError("cannot link agreements to their assembly",
                            file="assembly__agreements", column="assembly_code",
                            rule="one of " + ", ".join(f"{c}->{p}" for c, p in LINKS))
        c, p = link
        keep = [x for x in ("assembly_code", "kind", "date", "territory") if x in assembly.columns
                and x != p]
        parent = assembly[[p] + keep].drop_duplicates(subset=[p]).rename(
            columns={x: f"_asm_{x}" for x in keep})
        rep = agreements.reset_index(drop=True).copy()
        rep["_row"] = np.arange(1, len(rep) + 1)
        merged = rep.merge(parent, left_on=c, right_on=p, how="left", suffixes=("", "_parent"))
        seen: set[str] = set()
        for rec in merged.to_dict("records"):
            aid, row = rec.get("agreement_code"), int(rec["_row"])
            if is_missing(aid):
                problems.append({"table": "assembly__agreements", "row": row,
                                 "agreement_id": None, "message": "agreement_code is empty"})
                continue
            aid = str(aid)
            if aid in seen:
                continue
            item = {
                "agreement_id": aid, "version": 1,
                "territory_id": rec.get("_asm_territory", rec.get("territory")),
                "assembly_code": rec.get("_asm_assembly_code", rec.get("assembly_code")),
                "source_kind": rec.get("_asm_kind"),
                "description": None if is_missing(rec.get("agreement_text")) else
                dump_texts({lang: str(rec["agreement_text"])}),
                "department": rec.get("department"), "committed_date": rec.get("_asm_date"),
                "due_date": rec.get("due_date"), "source": "assembly",
                "proposal_code": None if is_missing(rec.get("proposal_code")) else
                str(rec["proposal_code"]).strip(),
            }
            if is_missing(item["committed_date"]):
                problems.append({"table": "assembly__agreements", "row": row,
                                 "agreement_id": aid,
                                 "message": "its assembly (or the assembly date) was not found"})
                continue
            bad = check_agreement(item)
            if bad:
                problems.append({"table": "assembly__agreements", "row": row,
                                 "agreement_id": aid, "message": f"{bad[0][0]}: {bad[0][1]}"})
                continue
            seen.add(aid)
            item["committed_date"] = to_date(item["committed_date"])
            item["due_date"] = to_date(item["due_date"])
            ag_rows.append(item)
            up_rows.append({"agreement_id": aid, "update_date": item["committed_date"],
                            "status": "agreed", "department": item["department"],
                            "source": "assembly"})
    known = {a["agreement_id"] for a in ag_rows}
    if followup is not None and len(followup):
        cols = ("update_date", "status", "progress", "reason", "evidence_url", "department")
        for row, rec in enumerate(followup.to_dict("records"), start=1):
            item = {"agreement_id": rec.get("agreement_code")}
            item.update({k: rec.get(k) for k in cols})
            bad = [b for b in check_update(item) if require_reason or b[0] != "reason"]
            if not bad and str(item["agreement_id"]) not in known:
                bad = [("agreement_code", f"agreement '{item['agreement_id']}' is not among "
                        "the assembly agreements", "")]
            if bad:
                problems.append({"table": "followup", "row": row,
                                 "agreement_id": item["agreement_id"],
                                 "message": f"{bad[0][0]}: {bad[0][1]}"})
                continue
            item["agreement_id"] = str(item["agreement_id"])
            item["update_date"] = to_date(item["update_date"])
            item["progress"] = None if is_missing(item["progress"]) else float(item["progress"])
            item["source"] = "followup"
            up_rows.append(item)
    ag = pd.DataFrame(ag_rows) if ag_rows else _empty(AGREEMENT_COLUMNS)
    up = pd.DataFrame(up_rows) if up_rows else _empty(UPDATE_COLUMNS)
    for col in AGREEMENT_COLUMNS:
        if col not in ag.columns:
            ag[col] = None
    for col in UPDATE_COLUMNS:
        if col not in up.columns:
            up[col] = None
    ag = ag[list(AGREEMENT_COLUMNS)]
    up = up[list(UPDATE_COLUMNS)]
    up["seq"] = np.arange(1, len(up) + 1, dtype="int64")
    up["progress"] = pd.to_numeric(up["progress"], errors="coerce").astype("float64")
    ag["weight"] = pd.to_numeric(ag["weight"], errors="coerce").astype("float64")
    for col in ("committed_date", "due_date"):
        ag[col] = pd.to_datetime(ag[col])
    up["update_date"] = pd.to_datetime(up["update_date"])
    return ag, up, pd.DataFrame(problems, columns=REPORT_COLUMNS)
