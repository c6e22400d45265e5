"""Import and export of the ledger in Decidim's accountability CSV layout.

Decidim (``decidim-accountability``, ``results_csv_importer.rb`` / ``result_serializer.rb``)
reads ``id, parent/id, title/<locale>, description/<locale>, start_date, end_date, status/id,
category/id, progress, proposal_urls`` and aborts the whole file on the first bad row. Here:

- every row is checked and reported (:func:`plan_import` gives a row-by-row report; a dry run
  stops there); valid rows are applied, invalid rows change nothing (``strict=True`` applies
  nothing when any row is invalid);
- the columns Decidim does not know are written too (``weight``, ``external_id``,
  ``territory_id``, ``assembly_code``, ``source_kind``, ``department``, ``proposal_code``,
  ``evidence_urls``, ``reason``, ``update_date``), and any other column of an imported file is
  kept verbatim (``extra``) and written back, so export -> import -> export is lossless;
- ``status/id``: Decidim's numeric ids have no fixed meaning, so they are translated with a
  ``status_map`` ({id: status key}); a status key (``in_progress``) is read as is, and
  ``status/key`` wins over ``status/id`` when present. ``status/name/<locale>`` is derived
  (written on export, ignored on import).

Mapping: ``id`` = ``agreement_id``, ``start_date`` = ``committed_date``, ``end_date`` =
``due_date``, ``parent/id`` = ``parent_id``, ``category/id`` = ``category_id``.

Examples
--------
>>> import io
>>> from territoria.store import Store
>>> from territoria.ledger.ledger import Ledger
>>> led = Ledger(Store(":memory:"))
>>> csv = io.StringIO(
...     "id,parent/id,title/es,start_date,end_date,status/id,progress,proposal_urls\\n"
...     "R1,,Alumbrado,2024-01-10,2024-06-30,in_progress,40,\\n"
...     "R2,R9,Banquetas,2024-01-10,2023-12-01,finished,140,\\n")
>>> plan = plan_import(led, read_decidim_csv(csv), update_date="2024-02-01")
>>> plan.report[["row", "id", "action", "column"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
[{'row': 2, 'id': 'R1', 'action': 'create', 'column': ''},
 {'row': 3, 'id': 'R2', 'action': 'error', 'column': 'end_date'},
 {'row': 3, 'id': 'R2', 'action': 'error', 'column': 'status/id'},
 {'row': 3, 'id': 'R2', 'action': 'error', 'column': 'progress'},
 {'row': 3, 'id': 'R2', 'action': 'error', 'column': 'parent/id'}]
>>> apply_import(led, plan)
(1, 1)
>>> export_decidim(led).loc[0, ["id", "status/id", "progress"]].tolist()
['R1', 'in_progress', '40']
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, field

import pandas as pd

from territoria.exceptions import DataError
from territoria.ledger.ledger import Ledger, normalise_static
from territoria.ledger.model import (
    STATIC_FIELDS,
    STATUSES,
    check_agreement,
    check_progress,
    dump_texts,
    is_missing,
    split_urls,
    status_label,
    texts,
    to_date,
)

_TEXT_COL = re.compile(r"^(title|description)/([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)$")
#: Our columns beyond Decidim's, in export order.
EXTRA_MODEL_COLUMNS = ("category/id", "weight", "external_id", "territory_id", "assembly_code",
                       "source_kind", "department", "proposal_code", "evidence_urls", "reason",
                       "update_date")
_PLAIN = {"territory_id", "assembly_code", "source_kind", "department", "proposal_code",
          "external_id"}
KNOWN_COLUMNS = {"id", "parent/id", "start_date", "end_date", "status/id", "status/key",
                 "progress", "proposal_urls", *EXTRA_MODEL_COLUMNS}
REPORT_COLUMNS = ["row", "id", "action", "column", "message"]
_FAR = pd.Timestamp("2200-01-01")


def read_decidim_csv(path_or_buffer) -> pd.DataFrame:
    """Read an accountability CSV as strings (comma or semicolon separated, UTF-8 with or
    without BOM). Cells are kept as written (but for the apostrophe our exports put before
    formula-like text); empty cells are ''.

    Raises :class:`~territoria.exceptions.DataError` if there is no ``id`` column.
    """
    if isinstance(path_or_buffer, (str, os.PathLike)):
        with open(path_or_buffer, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        name = str(path_or_buffer)
    else:
        text = path_or_buffer.read()
        name = getattr(path_or_buffer, "name", "<csv>")
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        text = text.lstrip("\ufeff")
    header = text.splitlines()[0] if text else ""
    sep = ";" if header.count(";") > header.count(",") else ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataError(f"not a readable CSV ({str(e).splitlines()[0]})", file=name) from None
    if "id" not in df.columns:
        raise DataError("no 'id' column", file=name, column="id",
                        rule="Decidim accountability CSV layout")
    from territoria.safe_export import restore  # formulas our exports neutralised

    return df.map(restore)


@dataclass
class ImportPlan:
    """What an import would do. ``report`` has one row per (row, problem) with ``row`` the
    spreadsheet row (the header is row 1), ``id``, ``action`` (``create``, ``correct``,
    ``update``, ``correct+update``, ``unchanged``, ``error``), ``column`` and ``message``."""

    report: pd.DataFrame
    agreements: pd.DataFrame
    updates: pd.DataFrame
    n_rows: int = 0
    error_rows: list[int] = field(default_factory=list)

    @property
    def n_errors(self) -> int:
        """Number of rows with at least one error."""
        return len(self.error_rows)

    def summary(self) -> dict[str, int]:
        """Rows per action (each row counted once)."""
        per_row = self.report.drop_duplicates("row")
        return per_row["action"].value_counts().to_dict()


def _parse_number(v):
    return None if is_missing(v) else float(v)


def _row_values(rec: dict, columns: list[str], status_map: dict[str, str]):
    """Parse one CSV row into (static fields, follow-up fields, problems)."""
    problems: list[tuple[str, str, str]] = []
    static: dict = {"agreement_id": rec.get("id", "").strip()}
    if not static["agreement_id"]:
        problems.append(("id", "id is empty", "every row needs an id"))
    if "parent/id" in columns:
        static["parent_id"] = rec["parent/id"].strip() or None
    loc: dict[str, dict[str, str]] = {"title": {}, "description": {}}
    for c in columns:
        m = _TEXT_COL.match(c)
        if m and rec[c] != "":
            loc[m.group(1)][m.group(2)] = rec[c]
    for k in ("title", "description"):
        if any(_TEXT_COL.match(c) and c.startswith(k + "/") for c in columns):
            static[k] = loc[k]
    for src, dst in (("start_date", "committed_date"), ("end_date", "due_date")):
        if src in columns:
            static[dst] = rec[src].strip() or None
    if "proposal_urls" in columns:
        static["proposal_urls"] = rec["proposal_urls"] or None
    if "category/id" in columns:
        static["category_id"] = rec["category/id"].strip() or None
    if "weight" in columns:
        static["weight"] = rec["weight"].strip() or None
    for c in _PLAIN:
        if c in columns:
            static[c] = rec[c].strip() or None
    for c in ("committed_date", "due_date"):
        try:
            to_date(static.get(c))
        except (ValueError, TypeError):
            col = "start_date" if c == "committed_date" else "end_date"
            problems.append((col, f"'{static[c]}' is not a date", "YYYY-MM-DD"))
            static[c] = None
    for col, msg, rule in check_agreement(static):
        col = {"committed_date": "start_date", "due_date": "end_date",
               "parent_id": "parent/id", "agreement_id": "id"}.get(col, col)
        if not any(p[0] == col for p in problems):
            problems.append((col, msg, rule))
    extra = {c: rec[c] for c in columns if c not in KNOWN_COLUMNS and not _TEXT_COL.match(c)
             and not c.startswith("status/name/")}
    if extra:
        static["extra"] = extra
    # follow-up
    fol: dict = {}
    raw_status = ""
    status_col = "status/key" if rec.get("status/key", "").strip() else "status/id"
    raw_status = rec.get(status_col, "").strip()
    if raw_status:
        st = status_map.get(raw_status, raw_status)
        if st not in STATUSES:
            hint = "" if status_map else "; give a status map for Decidim numeric ids"
            problems.append((status_col, f"unknown status '{raw_status}'",
                             "one of " + ", ".join(STATUSES) + hint))
        else:
            fol["status"] = st
    if "progress" in columns and rec["progress"].strip():
        pp = check_progress(rec["progress"].strip())
        if pp:
            problems.extend(pp)
        else:
            fol["progress"] = float(rec["progress"])
    if "reason" in columns and rec["reason"].strip():
        fol["reason"] = rec["reason"]
    if fol.get("status") == "rejected" and not fol.get("reason"):
        problems.append(("reason", "status rejected needs a reason", "rejected with a reason"))
    if "evidence_urls" in columns:
        fol["evidence"] = split_urls(rec["evidence_urls"])
    if "update_date" in columns and rec["update_date"].strip():
        try:
            fol["update_date"] = to_date(rec["update_date"])
        except (ValueError, TypeError):
            problems.append(("update_date", f"'{rec['update_date']}' is not a date",
                             "YYYY-MM-DD"))
    return static, fol, problems


def plan_import(ledger: Ledger, data: pd.DataFrame, *, status_map: dict | None = None,
                update_date=None, file=None) -> ImportPlan:
    """Check every row of an accountability CSV against the ledger; nothing is written.

    Parameters
    ----------
    ledger : Ledger
    data : DataFrame
        From :func:`read_decidim_csv` (all strings).
    status_map : dict, optional
        ``{status/id value: status key}`` for Decidim numeric status ids.
    update_date : date-like, optional
        Date of the follow-up recorded from rows without an ``update_date`` (default today).
    file : str, optional
        Named in error messages.

    Returns
    -------
    ImportPlan
        The row-by-row report and the rows that :func:`apply_import` would append.

    Notes
    -----
    For an existing id, the columns present in the file replace the ledger's values (titles and
    descriptions per locale; absent columns keep the ledger's values); a difference in a static
    field becomes a new version (``correct``); a different status, progress, reason or new
    evidence link becomes a new update (``update``). Empty status/progress cells mean "no
    news", not "erase". A parent must exist in the ledger or be a valid row of the file; cycles
    are rejected.
    """
    status_map = {str(k): str(v) for k, v in (status_map or {}).items()}
    bad_map = sorted(v for v in status_map.values() if v not in STATUSES)
    if bad_map:
        raise DataError(f"status map value '{bad_map[0]}' is not a status",
                        rule="one of " + ", ".join(STATUSES))
    default_date = to_date(update_date) if update_date is not None else \
        pd.Timestamp.today().normalize()
    columns = list(data.columns)
    current = ledger.agreements()
    cur_by_id = {str(r["agreement_id"]): r for r in current.to_dict("records")}
    state = ledger.state_as_of(_FAR)
    st_by_id = {str(r["agreement_id"]): r for r in state.to_dict("records")}
    parsed: list[tuple[int, dict, dict, list]] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(data.fillna("").astype(str).to_dict("records")):
        row = i + 2
        static, fol, problems = _row_values(rec, columns, status_map)
        aid = static["agreement_id"]
        if aid and aid in seen:
            problems.append(("id", f"id '{aid}' already appears in row {seen[aid]}",
                             "one row per id"))
        elif aid:
            seen[aid] = row
        parsed.append((row, static, fol, problems))
    # parents: must exist in the ledger or be a valid row; iterate until stable
    for _row, static, _fol, problems in parsed:
        pid = static.get("parent_id")
        if pid and pid not in cur_by_id and pid not in seen:
            problems.append(("parent/id", f"parent '{pid}' does not exist",
                             "parent must be in the ledger or a row of the file"))
    changed = True
    while changed:
        changed = False
        valid = set(cur_by_id) | {s["agreement_id"] for _, s, _, p in parsed if not p}
        file_parent = {s["agreement_id"]: s.get("parent_id") for _, s, _, p in parsed if not p
                       and "parent_id" in s}
        for _row, static, _fol, problems in parsed:
            if problems:
                continue
            pid = static.get("parent_id")
            if pid and pid not in valid:
                problems.append(("parent/id", f"parent '{pid}' has errors in row {seen[pid]}",
                                 "parent must be in the ledger or a valid row of the file"))
                changed = True
                continue
            # cycle check, walking up through the file (first) and the ledger
            node, steps = static["agreement_id"], 0
            while node is not None and steps <= len(valid) + 1:
                nxt = file_parent.get(node) if node in file_parent else (
                    cur_by_id[node].get("parent_id") if node in cur_by_id else None)
                node = None if is_missing(nxt) else str(nxt)
                steps += 1
                if node == static["agreement_id"]:
                    problems.append(("parent/id", f"parent '{pid}' makes a cycle", "no cycles"))
                    changed = True
                    break
    report: list[dict] = []
    new_ag: list[dict] = []
    new_up: list[dict] = []
    for row, static, fol, problems in parsed:
        aid = static["agreement_id"]
        if problems:
            for col, msg, rule in problems:
                report.append({"row": row, "id": aid, "action": "error", "column": col,
                               "message": f"{msg} (rule: {rule})" if rule else msg})
            continue
        udate = fol.get("update_date", default_date)
        has_fu = any(k in fol for k in ("status", "progress", "reason"))
        if aid not in cur_by_id:
            rec = dict(static)
            rec["evidence_urls"] = ";".join(fol.get("evidence", [])) or None
            new_ag.append(rec)
            if has_fu:
                new_up.append({"agreement_id": aid, "update_date": udate,
                               "status": fol.get("status"), "progress": fol.get("progress"),
                               "reason": fol.get("reason"), "department": static.get("department"),
                               "source_ref": f"{file or 'csv'}:{row}"})
            report.append({"row": row, "id": aid, "action": "create", "column": "", "message": ""})
            continue
        cur = dict(cur_by_id[aid])
        cand = dict(cur)
        for k, v in static.items():
            if k in ("title", "description"):
                merged = texts(cur.get(k))
                merged.update(v)
                cand[k] = dump_texts(merged)
            elif k == "extra":
                merged = json.loads(cur["extra"]) if not is_missing(cur.get("extra")) else {}
                merged.update(v)
                cand[k] = merged
            else:
                cand[k] = v
        diff = [k for k in STATIC_FIELDS
                if normalise_static(cand.get(k), k) != normalise_static(cur.get(k), k)]
        st = st_by_id.get(aid, {})
        msgs = []
        actions = []
        if diff:
            cand.pop("version", None)
            new_ag.append(cand)
            actions.append("correct")
            msgs.append("changed: " + ", ".join(diff))
        new_ev = [u for u in fol.get("evidence", []) if u not in split_urls(st.get("evidence"))]
        upd = {}
        if "status" in fol and fol["status"] != st.get("status"):
            upd["status"] = fol["status"]
        if "progress" in fol and not _same_num(fol["progress"], st.get("progress")):
            upd["progress"] = fol["progress"]
        if "reason" in fol and fol["reason"] != st.get("reason"):
            upd["reason"] = fol["reason"]
        if upd or new_ev:
            actions.append("update")
            status = fol.get("status", st.get("status"))
            new_up.append({"agreement_id": aid, "update_date": udate, "status": status,
                           "progress": fol.get("progress", upd.get("progress")),
                           "reason": fol.get("reason") if status in ("rejected", "cancelled")
                           or "reason" in upd else None,
                           "evidence_url": ";".join(new_ev) or None,
                           "department": cand.get("department"),
                           "source_ref": f"{file or 'csv'}:{row}"})
            last = st.get("last_update_date")
            if not is_missing(last) and udate < last:
                msgs.append(f"dated {udate.date()}, before the latest update "
                            f"({pd.Timestamp(last).date()}): the current state may not change")
            msgs.append("follow-up: " + ", ".join(list(upd) + (["evidence"] if new_ev else [])))
        report.append({"row": row, "id": aid, "action": "+".join(actions) or "unchanged",
                       "column": "", "message": "; ".join(msgs)})
    known = set(cur_by_id)
    ag_df = ledger.prepare_agreements(pd.DataFrame(new_ag), source="decidim", known=known,
                                      file=file) if new_ag else None
    known |= {a["agreement_id"] for a in new_ag}
    up_df = ledger.prepare_updates(pd.DataFrame(new_up), source="decidim", known=known,
                                   file=file) if new_up else None
    rep = pd.DataFrame(report, columns=REPORT_COLUMNS)
    rep = rep.sort_values("row", kind="stable").reset_index(drop=True)
    return ImportPlan(report=rep, agreements=ag_df, updates=up_df, n_rows=len(data),
                      error_rows=sorted({r["row"] for r in report if r["action"] == "error"}))


def _same_num(a, b) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    if is_missing(a) or is_missing(b):
        return False
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-9)


def apply_import(ledger: Ledger, plan: ImportPlan, *, strict: bool = False) -> tuple[int, int]:
    """Write the valid rows of ``plan`` in one transaction.

    Returns ``(agreement versions added, updates added)``. With ``strict=True`` nothing is
    written if any row has an error (raises :class:`~territoria.exceptions.DataError`).
    """
    if strict and plan.n_errors:
        raise DataError(f"{plan.n_errors} row(s) with errors (first: row {plan.error_rows[0]}); "
                        "nothing imported", rule="strict import")
    return ledger.write(plan.agreements, plan.updates)


def import_decidim_csv(ledger: Ledger, path, *, dry_run: bool = False, strict: bool = False,
                       status_map: dict | None = None, update_date=None) -> ImportPlan:
    """Read, check and (unless ``dry_run``) apply an accountability CSV. Returns the plan."""
    plan = plan_import(ledger, read_decidim_csv(path), status_map=status_map,
                       update_date=update_date, file=os.path.basename(str(path)))
    if not dry_run:
        apply_import(ledger, plan, strict=strict)
    return plan


# -- export -------------------------------------------------------------------------------------
def _fmt_num(v) -> str:
    if is_missing(v):
        return ""
    f = float(v)
    return str(int(f)) if f == int(f) else format(f, ".15g")


def _fmt_date(v) -> str:
    return "" if is_missing(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


def export_decidim(ledger_or_frames, *, as_of=None, locales=None,
                   status_map: dict | None = None) -> pd.DataFrame:
    """The ledger's state as an accountability CSV table (all strings).

    Parameters
    ----------
    ledger_or_frames : Ledger or (agreements, updates)
    as_of : date-like, optional
        State at that date (default: every update recorded).
    locales : list of str, optional
        ``title/<l>`` and ``description/<l>`` columns to write. Default: every locale present,
        Spanish and English first (lossless).
    status_map : dict, optional
        ``{Decidim status id: status key}``; ``status/id`` is written with these ids (and
        ``status/key`` with our key).

    Returns
    -------
    DataFrame
        Columns ``id, parent/id, title/<l>.., description/<l>.., start_date, end_date,
        status/id, status/key, status/name/<l>.., progress, proposal_urls`` then
        :data:`EXTRA_MODEL_COLUMNS` then any kept extra column (sorted). Sorted by ``id``.
    """
    from territoria.ledger.model import state_as_of

    if isinstance(ledger_or_frames, Ledger):
        ag, up = ledger_or_frames.agreement_versions(), ledger_or_frames.updates()
    else:
        ag, up = ledger_or_frames
    state = state_as_of(ag, up, _FAR if as_of is None else as_of)
    state = state.sort_values("agreement_id", kind="stable").reset_index(drop=True)
    if locales is None:
        present: list[str] = []
        for col in ("title", "description"):
            for v in state.get(col, []):
                for k in texts(v):
                    if k not in present:
                        present.append(k)
        locales = [x for x in ("es", "en") if x in present] + sorted(
            x for x in present if x not in ("es", "en"))
        locales = locales or ["es"]
    inverse = {str(v): str(k) for k, v in (status_map or {}).items()}
    extra_cols: list[str] = []
    rows = []
    for rec in state.to_dict("records"):
        out = {"id": str(rec["agreement_id"]),
               "parent/id": "" if is_missing(rec.get("parent_id")) else str(rec["parent_id"])}
        for col in ("title", "description"):
            d = texts(rec.get(col))
            for loc in locales:
                out[f"{col}/{loc}"] = d.get(loc, "")
        out["start_date"] = _fmt_date(rec.get("committed_date"))
        out["end_date"] = _fmt_date(rec.get("due_date"))
        st = rec.get("status")
        st = None if is_missing(st) else st
        out["status/id"] = "" if st is None else inverse.get(st, st)
        out["status/key"] = st or ""
        for loc in locales:
            out[f"status/name/{loc}"] = status_label(st, loc) if st else ""
        out["progress"] = _fmt_num(rec.get("progress"))
        out["proposal_urls"] = "" if is_missing(rec.get("proposal_urls")) else \
            str(rec["proposal_urls"])
        out["category/id"] = "" if is_missing(rec.get("category_id")) else str(rec["category_id"])
        out["weight"] = _fmt_num(rec.get("weight"))
        for c in ("external_id", "territory_id", "assembly_code", "source_kind", "department",
                  "proposal_code"):
            out[c] = "" if is_missing(rec.get(c)) else str(rec[c])
        out["evidence_urls"] = "" if is_missing(rec.get("evidence")) else str(rec["evidence"])
        out["reason"] = "" if is_missing(rec.get("reason")) else str(rec["reason"])
        out["update_date"] = _fmt_date(rec.get("last_update_date"))
        extra = json.loads(rec["extra"]) if not is_missing(rec.get("extra")) else {}
        for k, v in extra.items():
            if k not in extra_cols:
                extra_cols.append(k)
            out[k] = v
        rows.append(out)
    head = (["id", "parent/id"] + [f"title/{x}" for x in locales]
            + [f"description/{x}" for x in locales]
            + ["start_date", "end_date", "status/id", "status/key"]
            + [f"status/name/{x}" for x in locales] + ["progress", "proposal_urls"]
            + list(EXTRA_MODEL_COLUMNS))
    cols = head + sorted(c for c in extra_cols if c not in head)
    df = pd.DataFrame(rows, columns=cols)
    return df.fillna("").astype(str) if len(df) else df.astype(object)


#: Free-text columns of the export (the follow-up's ``reason``): left out unless asked for.
FREE_TEXT_COLUMNS = ("reason",)


def write_decidim_csv(df: pd.DataFrame, path, *, free_text: bool = True) -> None:
    """Write an export table as UTF-8 CSV (comma-separated, minimal quoting, ``\\n`` lines),
    every text cell neutralised against formula injection (:mod:`territoria.safe_export`);
    ``free_text=False`` leaves out :data:`FREE_TEXT_COLUMNS`."""
    from territoria.safe_export import neutralise_frame

    if not free_text:
        df = df.drop(columns=[c for c in FREE_TEXT_COLUMNS if c in df.columns])
    neutralise_frame(df).to_csv(path, index=False, encoding="utf-8", lineterminator="\n",
                                quoting=csv.QUOTE_MINIMAL)


__all__ = ["ImportPlan", "apply_import", "export_decidim", "import_decidim_csv", "plan_import",
           "read_decidim_csv", "write_decidim_csv"]
