"""The agreement ledger in the workspace store, and its feed from the sample city's surveys.

Both tables are append-only: this module only ever INSERTs. A correction of an agreement's
static fields is a new version; a correction of its follow-up is a new update.

Examples
--------
>>> import pandas as pd
>>> from territoria.store import Store
>>> led = Ledger(Store(":memory:"))
>>> led.add_agreements(pd.DataFrame({
...     "agreement_id": ["A1"], "territory_id": ["07-001"], "assembly_code": ["AS-1"],
...     "description": ["Reparar 12 luminarias"], "department": ["public_works"],
...     "committed_date": ["2024-01-10"], "due_date": ["2024-03-31"]}))
1
>>> led.add_updates(pd.DataFrame({"agreement_id": ["A1"], "update_date": ["2024-02-15"],
...                               "status": ["in_progress"], "progress": [40]}))
1
>>> led.state_as_of("2024-02-01")[["agreement_id", "status"]].to_dict("records")
[{'agreement_id': 'A1', 'status': 'agreed'}]
>>> led.state_as_of("2024-02-15")[["status", "progress"]].to_dict("records")
[{'status': 'in_progress', 'progress': 40.0}]
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from territoria.exceptions import DataError, StoreError
from territoria.ledger.model import (
    AGREEMENT_COLUMNS,
    STATIC_FIELDS,
    UPDATE_COLUMNS,
    check_agreement,
    check_update,
    current_versions,
    dump_texts,
    is_missing,
    raise_first,
    state_as_of,
    texts,
    to_date,
)
from territoria.store import Store

AGREEMENTS = "agreements"
UPDATES = "agreement_updates"


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def normalise_static(value: Any, col: str) -> Any:
    """A canonical form of a static field, so versions can be compared."""
    if is_missing(value):
        return None
    if col in ("committed_date", "due_date"):
        return to_date(value)
    if col == "weight":
        return float(value)
    if col in ("title", "description"):
        return dump_texts(texts(value))
    if col == "extra":
        d = value if isinstance(value, dict) else json.loads(value)
        return json.dumps(d, ensure_ascii=False, sort_keys=True) if d else None
    return str(value)


class Ledger:
    """The agreement ledger of one store.

    Parameters
    ----------
    store : territoria.store.Store
        An open, writable store for the write methods (a read-only one suffices to read).
    """

    def __init__(self, store: Store):
        self.store = store
        if not store.read_only:
            self.ensure_schema()

    # -- schema and reading ---------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create (or extend) the two ledger tables."""
        with self.store.transaction():
            self.store.ensure_table(AGREEMENTS, AGREEMENT_COLUMNS)
            self.store.ensure_table(UPDATES, UPDATE_COLUMNS)

    def _read(self, name: str, columns: dict[str, str]) -> pd.DataFrame:
        if not self.store.has_table(name):
            df = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        else:
            df = self.store.table(name)
        for c in ("committed_date", "due_date", "update_date"):
            if c in df.columns:
                df[c] = pd.to_datetime(df[c])
        return df

    def agreement_versions(self) -> pd.DataFrame:
        """Every stored version of every agreement."""
        return self._read(AGREEMENTS, AGREEMENT_COLUMNS)

    def agreements(self) -> pd.DataFrame:
        """The current (last) version of each agreement."""
        return current_versions(self.agreement_versions())

    def updates(self) -> pd.DataFrame:
        """The whole append-only update history, ordered by agreement, date and sequence."""
        up = self._read(UPDATES, UPDATE_COLUMNS)
        if up.empty:
            return up
        return up.sort_values(["agreement_id", "update_date", "seq"], kind="stable").reset_index(
            drop=True)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(agreements, updates)``: current agreements and the full update history."""
        return self.agreements(), self.updates()

    def state_as_of(self, as_of=None) -> pd.DataFrame:
        """State of every agreement at the end of ``as_of`` (see
        :func:`territoria.ledger.model.state_as_of`)."""
        return state_as_of(self.agreement_versions(), self.updates(), as_of)

    def ids(self) -> set[str]:
        if not self.store.has_table(AGREEMENTS):
            return set()
        return set(self.store.query(f"SELECT DISTINCT agreement_id FROM {AGREEMENTS}")
                   ["agreement_id"].astype(str))

    def _next_seq(self) -> int:
        if not self.store.has_table(UPDATES):
            return 1
        v = self.store.query(f"SELECT max(seq) AS m FROM {UPDATES}")["m"].iloc[0]
        return 1 if is_missing(v) else int(v) + 1

    # -- writing --------------------------------------------------------------------------
    def prepare_agreements(self, df: pd.DataFrame, *, source: str, known: set[str] | None = None,
                           file=None) -> pd.DataFrame:
        """Validate ``df`` and turn it into new ``agreements`` rows (version numbers filled).

        Raises :class:`~territoria.exceptions.DataError` on the first invalid row.
        """
        known = self.ids() if known is None else known
        versions = self.agreement_versions()
        last_version = versions.groupby("agreement_id")["version"].max().to_dict() \
            if not versions.empty else {}
        new_ids = set(df["agreement_id"].astype(str)) if "agreement_id" in df.columns else set()
        rows = []
        for i, rec in enumerate(df.to_dict("records"), start=1):
            problems = check_agreement(rec)
            pid = rec.get("parent_id")
            if not is_missing(pid) and str(pid) not in known | new_ids:
                problems.append(("parent_id", f"parent '{pid}' does not exist",
                                 "parent must be an agreement of the ledger"))
            raise_first(problems, row=i, file=file)
            out = {c: None for c in AGREEMENT_COLUMNS}
            for c in STATIC_FIELDS + ("evidence_urls", "source_ref"):
                if c in rec:
                    out[c] = normalise_static(rec[c], c) if c in STATIC_FIELDS else (
                        None if is_missing(rec[c]) else str(rec[c]))
            aid = str(rec["agreement_id"])
            out["agreement_id"] = aid
            out["version"] = int(last_version.get(aid, 0)) + 1
            last_version[aid] = out["version"]
            out["source"] = source
            out["recorded_at"] = _now()
            rows.append(out)
        return _typed(pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS)), AGREEMENT_COLUMNS)

    def prepare_updates(self, df: pd.DataFrame, *, source: str, known: set[str] | None = None,
                        file=None, start_seq: int | None = None) -> pd.DataFrame:
        """Validate ``df`` and turn it into new ``agreement_updates`` rows (``seq`` filled)."""
        known = self.ids() if known is None else known
        seq = self._next_seq() if start_seq is None else start_seq
        rows = []
        for i, rec in enumerate(df.to_dict("records"), start=1):
            problems = check_update(rec)
            if not is_missing(rec.get("agreement_id")) and str(rec["agreement_id"]) not in known:
                problems.append(("agreement_id", f"agreement '{rec['agreement_id']}' is not in "
                                 "the ledger", "updates refer to an existing agreement"))
            raise_first(problems, row=i, file=file)
            out = {c: (None if is_missing(rec.get(c)) else rec.get(c)) for c in UPDATE_COLUMNS}
            out["agreement_id"] = str(rec["agreement_id"])
            out["update_date"] = to_date(rec["update_date"])
            out["progress"] = None if is_missing(rec.get("progress")) else float(rec["progress"])
            out["seq"] = seq
            seq += 1
            out["source"] = source
            out["recorded_at"] = _now()
            rows.append(out)
        return _typed(pd.DataFrame(rows, columns=list(UPDATE_COLUMNS)), UPDATE_COLUMNS)

    def write(self, agreements: pd.DataFrame | None = None,
              updates: pd.DataFrame | None = None) -> tuple[int, int]:
        """Append prepared rows to both tables in one transaction (all or nothing)."""
        with self.store.transaction():
            self.store.ensure_table(AGREEMENTS, AGREEMENT_COLUMNS)
            self.store.ensure_table(UPDATES, UPDATE_COLUMNS)
            na = self.store.append(AGREEMENTS, agreements) if agreements is not None and len(
                agreements) else 0
            nu = self.store.append(UPDATES, updates) if updates is not None and len(updates) else 0
        return na, nu

    def add_agreements(self, df: pd.DataFrame, *, initial_status: str | None = "agreed",
                       source: str = "manual") -> int:
        """Add new agreements (ids must be new) with an initial update on the committed date.

        Parameters
        ----------
        df : DataFrame
            Columns among :data:`territoria.ledger.model.AGREEMENT_COLUMNS`; ``agreement_id``
            required. ``title``/``description`` may be plain text (Spanish) or ``{locale: text}``.
        initial_status : str or None
            Status recorded on ``committed_date`` (None: no initial update).
        source : str
            Recorded in the ``source`` column.

        Returns
        -------
        int
            Number of agreements added.
        """
        known = self.ids()
        dup = sorted(set(df["agreement_id"].astype(str)) & known)
        if dup:
            raise DataError(f"agreement '{dup[0]}' is already in the ledger (use correct_agreement)",
                            column="agreement_id", rule="new agreements have new ids")
        ids = df["agreement_id"].astype(str)
        if ids.duplicated().any():
            raise DataError(f"agreement '{ids[ids.duplicated()].iloc[0]}' appears twice",
                            column="agreement_id", rule="unique ids")
        ag = self.prepare_agreements(df, source=source, known=known)
        up = None
        if initial_status is not None:
            first = pd.DataFrame({"agreement_id": ag["agreement_id"],
                                  "update_date": ag["committed_date"],
                                  "status": initial_status,
                                  "department": ag["department"]})
            up = self.prepare_updates(first, source=source, known=known | set(ag["agreement_id"]))
        self.write(ag, up)
        return len(ag)

    def add_updates(self, df: pd.DataFrame, *, source: str = "manual") -> int:
        """Append follow-up updates (validated; all or nothing). Returns rows added."""
        up = self.prepare_updates(df, source=source)
        self.write(None, up)
        return len(up)

    def correct_agreement(self, agreement_id: str, *, source: str = "manual", **fields) -> int:
        """Record a new version of an agreement with ``fields`` changed. Returns the version."""
        cur = self.agreements()
        row = cur[cur["agreement_id"] == str(agreement_id)]
        if row.empty:
            raise DataError(f"agreement '{agreement_id}' is not in the ledger",
                            column="agreement_id", rule="existing agreement")
        bad = sorted(set(fields) - set(STATIC_FIELDS) - {"evidence_urls"})
        if bad:
            raise DataError(f"'{bad[0]}' is not a static field of an agreement",
                            column=bad[0], rule="one of " + ", ".join(STATIC_FIELDS))
        rec = row.iloc[0].to_dict()
        rec.update(fields)
        rec.pop("version", None)
        ag = self.prepare_agreements(pd.DataFrame([rec]), source=source)
        self.write(ag, None)
        return int(ag["version"].iloc[0])


def _typed(df: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Give an empty-able frame stable dtypes matching the store schema."""
    out = df.copy()
    for c, t in schema.items():
        if t == "DATE" or t == "TIMESTAMP":
            out[c] = pd.to_datetime(out[c])
        elif t in ("DOUBLE",):
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
        elif t in ("INTEGER", "BIGINT"):
            out[c] = out[c].astype("int64")
        else:
            out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out


# -- feed from the sample city's surveys ------------------------------------------------------
#: Pairs (column in the repeat table, column in the parent table) tried, in order, to link an
#: agreement of the assembly form's repeat to its assembly.
PARENT_LINKS = (
    ("assembly_code", "assembly_code"),
    ("_parent_index", "_index"),
    ("_submission__uuid", "_uuid"),
    ("_parent_uuid", "_uuid"),
    ("PARENT_KEY", "KEY"),
    ("parent_key", "key"),
    ("_parent_key", "_key"),
    ("_parent_id", "_id"),
    ("submission_id", "submission_id"),
)


def _first_col(df: pd.DataFrame, *names: str) -> str | None:
    return next((n for n in names if n in df.columns), None)


def _hash(*parts: Any) -> str:
    text = "\x1f".join("" if is_missing(p) else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def sync_from_surveys(store: Store, *, lang: str = "es") -> pd.DataFrame:
    """Build or extend the ledger from the ingested assembly and follow-up forms (idempotent).

    Reads ``assembly__agreements`` (``agreement_code, agreement_text, department, due_date``
    and, from version 2026.2 of the form, ``proposal_code``: the proposal the agreement answers),
    linked to ``assembly`` (``assembly_code, kind, date, territory``) by ``assembly_code`` or by
    the first parent/child key pair found (:data:`PARENT_LINKS`), and ``followup``
    (``agreement_code, territory, update_date, status, progress, reason, evidence_url,
    department``). ``reporter_name`` and any other column are never read.

    New agreement codes become agreements (status ``agreed`` on the assembly date). When an
    agreement's row in the assembly form changed since it was last synced, a new version is
    recorded (corrections made elsewhere, e.g. a Decidim import, are not overwritten unless the
    form itself changed). Follow-up rows already synced (same content) are skipped.

    Parameters
    ----------
    store : Store
        Writable workspace store.
    lang : str
        Language of ``agreement_text`` in the forms.

    Returns
    -------
    DataFrame
        One row per source row that was not simply skipped as already synced: ``table, row,
        agreement_id, action`` (``created``, ``corrected``, ``update``, ``error``) and
        ``message``. Nothing is written when the sources are absent.
    """
    led = Ledger(store)
    report: list[dict] = []
    cur = led.agreement_versions()
    known = set(cur["agreement_id"].astype(str)) if not cur.empty else set()
    last_from_form: dict[str, dict] = {}
    if not cur.empty:
        frm = cur[cur["source"] == "assembly"].sort_values("version")
        for rec in frm.to_dict("records"):
            last_from_form[str(rec["agreement_id"])] = rec
    new_ag: list[dict] = []
    new_up: list[dict] = []
    if store.has_table("assembly__agreements"):
        rep = store.table("assembly__agreements")
        asm = store.table("assembly") if store.has_table("assembly") else pd.DataFrame()
        link = next(((c, p) for c, p in PARENT_LINKS
                     if c in rep.columns and p in asm.columns), None)
        if link is None:
            raise DataError("cannot link agreements to their assembly: no assembly_code or "
                            "parent key column in assembly__agreements",
                            file="assembly__agreements", column="assembly_code",
                            rule="one of " + ", ".join(f"{c}->{p}" for c, p in PARENT_LINKS))
        c, p = link
        keep = [x for x in ("assembly_code", "kind", "date", "territory", "territory_id")
                if x in asm.columns and x != p]
        parent = asm[[p] + keep].drop_duplicates(subset=[p])
        parent = parent.rename(columns={x: f"_asm_{x}" for x in keep})
        rep = rep.reset_index(drop=True)
        rep["_row"] = np.arange(1, len(rep) + 1)
        has_link = "proposal_code" in rep.columns
        merged = rep.merge(parent, left_on=c, right_on=p, how="left",
                           suffixes=("", "_parent"))
        for rec in merged.to_dict("records"):
            aid = rec.get("agreement_code")
            row = int(rec["_row"])
            if is_missing(aid):
                report.append({"table": "assembly__agreements", "row": row, "agreement_id": None,
                               "action": "error", "message": "agreement_code is empty"})
                continue
            aid = str(aid)
            asm_code = rec.get("_asm_assembly_code", rec.get("assembly_code"))
            terr = rec.get("_asm_territory", rec.get("_asm_territory_id", rec.get("territory")))
            item = {
                "agreement_id": aid, "territory_id": terr, "assembly_code": asm_code,
                "source_kind": rec.get("_asm_kind"),
                "description": None if is_missing(rec.get("agreement_text")) else
                {lang: str(rec["agreement_text"])},
                "department": rec.get("department"), "committed_date": rec.get("_asm_date"),
                "due_date": rec.get("due_date"),
            }
            if has_link:  # absent from exports of the form before 2026.2: left as it was
                item["proposal_code"] = None if is_missing(rec.get("proposal_code")) else \
                    str(rec["proposal_code"]).strip()
            if is_missing(item["committed_date"]):
                report.append({"table": "assembly__agreements", "row": row, "agreement_id": aid,
                               "action": "error", "message":
                               "its assembly (or the assembly date) was not found"})
                continue
            problems = check_agreement(item)
            if problems:
                report.append({"table": "assembly__agreements", "row": row, "agreement_id": aid,
                               "action": "error", "message": f"{problems[0][0]}: {problems[0][1]}"})
                continue
            # proposal_code enters the fingerprint only when given, so rows synced before the
            # form had it are not seen as changed
            link = [] if item.get("proposal_code") is None else [item["proposal_code"]]
            item["source_ref"] = "assembly__agreements:" + _hash(*[item[k] for k in (
                "agreement_id", "territory_id", "assembly_code", "source_kind", "department",
                "committed_date", "due_date")], json.dumps(item["description"], sort_keys=True),
                *link)
            prev = last_from_form.get(aid)
            if aid not in known and not any(a["agreement_id"] == aid for a in new_ag):
                new_ag.append(item)
                new_up.append({"agreement_id": aid, "update_date": item["committed_date"],
                               "status": "agreed", "department": item["department"],
                               "source_ref": item["source_ref"]})
                report.append({"table": "assembly__agreements", "row": row, "agreement_id": aid,
                               "action": "created", "message": ""})
            elif prev is not None and prev.get("source_ref") != item["source_ref"]:
                # the form row changed: correct the current version with the form's fields
                base = current_versions(cur[cur["agreement_id"] == aid]).iloc[0].to_dict()
                base.pop("version", None)
                base.update({k: v for k, v in item.items()})
                new_ag.append(base)
                report.append({"table": "assembly__agreements", "row": row, "agreement_id": aid,
                               "action": "corrected", "message": "assembly form row changed"})
    ag_rows = led.prepare_agreements(pd.DataFrame(new_ag), source="assembly", known=known) \
        if new_ag else None
    known_after = known | {a["agreement_id"] for a in new_ag}
    if store.has_table("followup"):
        fu = store.table("followup").reset_index(drop=True)
        if "reason" not in fu.columns and store.has_table("followup__freetext") \
                and "_uuid" in fu.columns:
            # ingest keeps free text apart (never published); the ledger (internal) needs
            # the rejection reason to accept a 'rejected' status
            ft = store.table("followup__freetext")
            if "reason" in ft.columns:
                fu = fu.merge(ft[["_uuid", "reason"]], on="_uuid", how="left")
        seen = set()
        if store.has_table(UPDATES):
            seen = set(store.query(f"SELECT source_ref FROM {UPDATES} WHERE source = 'followup'")
                       ["source_ref"].dropna())
        cols = ("agreement_code", "territory", "update_date", "status", "progress", "reason",
                "evidence_url", "department")
        for row, rec in enumerate(fu.to_dict("records"), start=1):
            ref = "followup:" + _hash(*[rec.get(k) for k in cols])
            if ref in seen:
                continue
            item = {"agreement_id": rec.get("agreement_code"),
                    "update_date": rec.get("update_date"), "status": rec.get("status"),
                    "progress": rec.get("progress"), "reason": rec.get("reason"),
                    "evidence_url": rec.get("evidence_url"), "department": rec.get("department"),
                    "source_ref": ref}
            problems = check_update(item)
            if not problems and str(item["agreement_id"]) not in known_after:
                problems = [("agreement_code", f"agreement '{item['agreement_id']}' is not in "
                             "the ledger", "")]
            if problems:
                report.append({"table": "followup", "row": row,
                               "agreement_id": item["agreement_id"], "action": "error",
                               "message": f"{problems[0][0]}: {problems[0][1]}"})
                continue
            seen.add(ref)
            new_up.append(item)
            report.append({"table": "followup", "row": row, "agreement_id": item["agreement_id"],
                           "action": "update", "message": ""})
    up_rows = None
    if new_up:
        srcs = ["assembly" if str(u.get("source_ref", "")).startswith("assembly") else "followup"
                for u in new_up]
        frame = pd.DataFrame(new_up)
        up_rows = led.prepare_updates(frame, source="followup", known=known_after)
        up_rows["source"] = srcs
    if ag_rows is not None or up_rows is not None:
        led.write(ag_rows, up_rows)
    return pd.DataFrame(report, columns=["table", "row", "agreement_id", "action", "message"])


def require_ledger(store: Store) -> None:
    """Raise :class:`StoreError` when the store has no ledger yet."""
    if not store.has_table(AGREEMENTS):
        raise StoreError("the store has no agreements yet; run 'territoria ledger sync' or "
                         "'territoria ledger import FILE.csv'")
