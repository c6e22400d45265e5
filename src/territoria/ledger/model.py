"""The agreement ledger's data model: statuses with fixed meaning, table schemas, validation,
and the reconstruction of the state of every agreement at any date.

This module is pure (pandas in, pandas out; no store), so :mod:`territoria.analysis.followup`
can use it.

Two tables make the ledger:

``agreements``
    One row per *version* of an agreement (``agreement_id``, ``version``). Static fields:
    territory, source meeting, text, responsible department, committed and due dates,
    evidence links, optional parent and weight. A correction of a static field is a new
    version; rows are never updated or deleted. The current agreement is its last version.
``agreement_updates``
    Append-only history: ``update_date`` (when it happened), ``status``, ``progress``,
    ``reason``, ``evidence_url``. ``seq`` orders updates recorded for the same date. A
    correction is a new update.

Status (what has been decided) is kept apart from progress (how much is built): an agreement
can be ``done`` at 90 % or ``in_progress`` at 100 %; neither is inferred from the other.

Examples
--------
>>> import pandas as pd
>>> ag = pd.DataFrame({"agreement_id": ["A1"], "version": [1], "committed_date": ["2024-01-10"],
...                    "due_date": ["2024-03-01"]})
>>> up = pd.DataFrame({"agreement_id": ["A1", "A1"], "seq": [1, 2],
...                    "update_date": ["2024-01-10", "2024-02-20"],
...                    "status": ["agreed", "done"], "progress": [None, 100.0]})
>>> s = state_as_of(ag, up, "2024-02-01")
>>> s[["agreement_id", "status", "progress"]].to_dict("records")
[{'agreement_id': 'A1', 'status': 'agreed', 'progress': nan}]
>>> state_as_of(ag, up, "2024-02-20").loc[0, ["status", "done_date"]].tolist()
['done', Timestamp('2024-02-20 00:00:00')]
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from territoria.exceptions import DataError
from territoria.i18n import catalogue, tr
from territoria.vocabulary import label as vocabulary_label

if TYPE_CHECKING:  # pragma: no cover
    from territoria.config import CityConfig

#: The statuses, in the order of the life of an agreement. Their meaning is fixed (see
#: :data:`MESSAGES` ``status_meaning_*``) and does not depend on any label.
STATUSES: tuple[str, ...] = (
    "proposed", "negotiating", "agreed", "in_progress", "done", "rejected", "cancelled",
)
#: Not yet a commitment: a department has not (yet) agreed.
PRE_COMMITMENT = ("proposed", "negotiating")
#: A department committed and has not finished: can be overdue.
COMMITTED_OPEN = ("agreed", "in_progress")
#: Every status that means a commitment was made and stands.
COMMITTED = ("agreed", "in_progress", "done")
#: Closed without fulfilment.
CLOSED_UNFULFILLED = ("rejected", "cancelled")
#: Statuses that require a non-empty ``reason``.
REASON_REQUIRED = ("rejected",)

#: Kinds of meeting an agreement can come from (the assembly form's ``kind``).
SOURCE_KINDS = ("block_assembly", "territorial_assembly", "working_table", "security_cabinet")

AGREEMENT_COLUMNS: dict[str, str] = {
    "agreement_id": "VARCHAR",
    "version": "INTEGER",
    "territory_id": "VARCHAR",
    "assembly_code": "VARCHAR",
    "source_kind": "VARCHAR",
    "title": "VARCHAR",          # JSON {locale: text}
    "description": "VARCHAR",    # JSON {locale: text}
    "department": "VARCHAR",
    "committed_date": "DATE",
    "due_date": "DATE",
    "evidence_urls": "VARCHAR",  # ';'-separated
    "parent_id": "VARCHAR",
    "weight": "DOUBLE",
    "proposal_code": "VARCHAR",
    "proposal_urls": "VARCHAR",  # ';'-separated, as in Decidim
    "category_id": "VARCHAR",
    "external_id": "VARCHAR",
    "extra": "VARCHAR",          # JSON {column: value} of imported columns we do not model
    "source": "VARCHAR",         # assembly | decidim | manual
    "source_ref": "VARCHAR",
    "recorded_at": "TIMESTAMP",
}

UPDATE_COLUMNS: dict[str, str] = {
    "agreement_id": "VARCHAR",
    "seq": "BIGINT",
    "update_date": "DATE",
    "status": "VARCHAR",
    "progress": "DOUBLE",
    "reason": "VARCHAR",
    "evidence_url": "VARCHAR",   # ';'-separated when several
    "department": "VARCHAR",
    "source": "VARCHAR",         # followup | assembly | decidim | manual
    "source_ref": "VARCHAR",
    "recorded_at": "TIMESTAMP",
}

#: Static fields compared to decide whether an import/sync row corrects an agreement.
STATIC_FIELDS = (
    "territory_id", "assembly_code", "source_kind", "title", "description", "department",
    "committed_date", "due_date", "parent_id", "weight", "proposal_code", "proposal_urls",
    "category_id", "external_id", "extra",
)

MESSAGES: dict[str, dict[str, str]] = catalogue(__name__)


def status_label(status: str | None, lang: str = "es") -> str:
    """Translated label of a status (the follow-up form's list, :mod:`territoria.vocabulary`).

    >>> status_label("in_progress", "es"), status_label("done", "en")
    ('En proceso', 'Done')
    """
    if status is None or (isinstance(status, float) and math.isnan(status)):
        return tr(MESSAGES, "status_unknown", lang)
    return vocabulary_label("agreement_status", status, lang)


def department_label(dept: str | None, lang: str = "es", city: CityConfig | None = None) -> str:
    """Name of a department code: the city's ``departments``, else the forms' list (an
    unknown code is shown as is); see :mod:`territoria.vocabulary`.

    >>> department_label("water_utility", "es")
    'Sistema de Aguas'
    >>> department_label("alcaldia_x")
    'alcaldia_x'
    """
    return vocabulary_label("department", dept, lang, city)


# -- small value helpers ----------------------------------------------------------------------
def is_missing(v: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and blank strings.

    >>> is_missing(""), is_missing(float("nan")), is_missing("x")
    (True, True, False)
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and not v.strip():
        return True
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def split_urls(v: Any) -> list[str]:
    """Split a ';'-separated list of links (blanks dropped, order kept, duplicates dropped).

    >>> split_urls("https://a ; https://b;https://a;")
    ['https://a', 'https://b']
    """
    if is_missing(v):
        return []
    out: list[str] = []
    for part in str(v).split(";"):
        p = part.strip()
        if p and p not in out:
            out.append(p)
    return out


def texts(v: Any) -> dict[str, str]:
    """Read a translated text stored as JSON ``{locale: text}`` (a plain string means Spanish).

    >>> texts('{"es": "Luminarias", "en": "Street lights"}')["en"]
    'Street lights'
    >>> texts("Poda de árboles")
    {'es': 'Poda de árboles'}
    """
    if is_missing(v):
        return {}
    if isinstance(v, dict):
        return {str(k): str(t) for k, t in v.items()}
    s = str(v)
    if s.startswith("{"):
        try:
            d = json.loads(s)
        except json.JSONDecodeError:
            return {"es": s}
        if isinstance(d, dict):
            return {str(k): str(t) for k, t in d.items()}
    return {"es": s}


def dump_texts(d: dict[str, str]) -> str | None:
    """Inverse of :func:`texts` (None for an empty map; keys kept in order)."""
    return json.dumps(d, ensure_ascii=False) if d else None


def text_in(v: Any, lang: str = "es") -> str:
    """The text in ``lang``, else Spanish, else any language, else ''.

    >>> text_in('{"en": "Street lights"}', "es")
    'Street lights'
    """
    d = texts(v)
    for k in (lang, "es", "en"):
        if d.get(k):
            return d[k]
    return next((t for t in d.values() if t), "")


def to_date(v: Any) -> pd.Timestamp | None:
    """Parse a date (ISO ``YYYY-MM-DD`` or a date/timestamp object); None when missing.

    Raises ``ValueError`` when the value is not a date.

    >>> to_date("2024-05-01")
    Timestamp('2024-05-01 00:00:00')
    """
    if is_missing(v):
        return None
    ts = pd.Timestamp(v) if not isinstance(v, str) else pd.to_datetime(v.strip(), format="ISO8601")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


# -- validation -------------------------------------------------------------------------------
def check_update(rec: dict) -> list[tuple[str, str, str]]:
    """Problems of one update record as ``(column, message, rule)`` (empty list when valid).

    >>> check_update({"agreement_id": "A1", "update_date": "2024-01-01", "status": "rejected"})
    [('reason', 'status rejected needs a reason', 'rejected with a reason')]
    >>> check_update({"agreement_id": "A1", "update_date": "2024-01-01", "status": "done",
    ...               "progress": 140})
    [('progress', 'progress 140 is outside 0-100', 'progress between 0 and 100')]
    """
    out: list[tuple[str, str, str]] = []
    if is_missing(rec.get("agreement_id")):
        out.append(("agreement_id", "agreement id is empty", "required"))
    try:
        if to_date(rec.get("update_date")) is None:
            out.append(("update_date", "update date is empty", "required"))
    except (ValueError, TypeError):
        out.append(("update_date", f"'{rec.get('update_date')}' is not a date", "YYYY-MM-DD"))
    status = rec.get("status")
    if is_missing(status):
        if is_missing(rec.get("progress")):
            out.append(("status", "the update has neither a status nor a progress",
                        "status or progress required"))
    elif status not in STATUSES:
        out.append(("status", f"unknown status '{status}'", "one of " + ", ".join(STATUSES)))
    elif status in REASON_REQUIRED and is_missing(rec.get("reason")):
        out.append(("reason", f"status {status} needs a reason", "rejected with a reason"))
    out.extend(check_progress(rec.get("progress")))
    return out


def check_progress(v: Any) -> list[tuple[str, str, str]]:
    """Problems of a progress value (0-100 or empty)."""
    if is_missing(v):
        return []
    try:
        p = float(v)
    except (TypeError, ValueError):
        return [("progress", f"progress '{v}' is not a number", "progress between 0 and 100")]
    if not (0.0 <= p <= 100.0) or math.isnan(p):
        shown = int(p) if p == int(p) else p
        return [("progress", f"progress {shown} is outside 0-100", "progress between 0 and 100")]
    return []


def check_agreement(rec: dict) -> list[tuple[str, str, str]]:
    """Problems of one agreement record (static fields) as ``(column, message, rule)``.

    >>> check_agreement({"agreement_id": "A1", "committed_date": "2024-05-01",
    ...                  "due_date": "2024-04-01"})
    [('due_date', 'due date 2024-04-01 is before committed date 2024-05-01', 'committed_date <= due_date')]
    """
    out: list[tuple[str, str, str]] = []
    aid = rec.get("agreement_id")
    if is_missing(aid):
        out.append(("agreement_id", "agreement id is empty", "required"))
    dates = {}
    for col in ("committed_date", "due_date"):
        try:
            dates[col] = to_date(rec.get(col))
        except (ValueError, TypeError):
            out.append((col, f"'{rec.get(col)}' is not a date", "YYYY-MM-DD"))
            dates[col] = None
    c, d = dates["committed_date"], dates["due_date"]
    if c is not None and d is not None and d < c:
        out.append(("due_date", f"due date {d.date()} is before committed date {c.date()}",
                    "committed_date <= due_date"))
    kind = rec.get("source_kind")
    if not is_missing(kind) and kind not in SOURCE_KINDS:
        out.append(("source_kind", f"unknown meeting kind '{kind}'",
                    "one of " + ", ".join(SOURCE_KINDS)))
    w = rec.get("weight")
    if not is_missing(w):
        try:
            wf = float(cast(Any, w))
            if not wf >= 0:
                raise ValueError
        except (TypeError, ValueError):
            out.append(("weight", f"weight '{w}' is not a number >= 0", "weight >= 0"))
    pid = rec.get("parent_id")
    if not is_missing(pid) and not is_missing(aid) and str(pid) == str(aid):
        out.append(("parent_id", f"agreement '{aid}' cannot be its own parent", "no cycles"))
    return out


def raise_first(problems: list[tuple[str, str, str]], *, row=None, file=None) -> None:
    """Raise :class:`~territoria.exceptions.DataError` for the first problem, if any."""
    if problems:
        col, msg, rule = problems[0]
        raise DataError(msg, file=file, row=row, column=col, rule=rule)


# -- reconstruction ---------------------------------------------------------------------------
def current_versions(agreements: pd.DataFrame) -> pd.DataFrame:
    """The last version of each agreement (all versions are kept in the store)."""
    if agreements.empty:
        return agreements.copy()
    a = agreements.copy()
    if "version" not in a.columns:
        a["version"] = 1
    a = a.sort_values(["agreement_id", "version"], kind="stable")
    return a.groupby("agreement_id", sort=True).tail(1).reset_index(drop=True)


STATE_COLUMNS = (
    "status", "progress", "reason", "status_since", "done_date", "ever_done", "reopened",
    "last_update_date", "n_updates", "evidence", "n_evidence", "first_date", "as_of",
)


def state_as_of(agreements: pd.DataFrame, updates: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """The state of every agreement on ``as_of`` (end of that day), from the append-only history.

    Parameters
    ----------
    agreements : DataFrame
        Rows of the ``agreements`` table (all versions or current ones); needs ``agreement_id``.
    updates : DataFrame
        Rows of ``agreement_updates``; needs ``agreement_id, update_date, status``; ``seq``
        orders same-day updates (row order otherwise).
    as_of : date-like, optional
        Default: today. Updates dated after ``as_of`` are ignored, and agreements that did not
        exist yet (committed date and first update both after ``as_of``) are left out;
        an agreement with neither a committed date nor updates is always included.

    Returns
    -------
    DataFrame
        The current version of each agreement (its static columns) plus:
        ``status`` last status on or before ``as_of`` (None when none);
        ``progress`` last progress reported (NaN when none; never inferred from status);
        ``reason`` last reason given in the current status spell;
        ``status_since`` date the current status spell began;
        ``done_date`` = ``status_since`` when ``status == 'done'``, else NaT;
        ``ever_done`` whether it was ever ``done``; ``reopened`` done before but not now;
        ``last_update_date``, ``n_updates``;
        ``evidence`` ';'-joined links (agreement + updates up to ``as_of``), ``n_evidence``;
        ``first_date`` earliest of committed date and first update; ``as_of``.

    Notes
    -----
    A status spell is the run of consecutive updates with the same status at the end of the
    history; a reopened agreement (done, then in_progress) leaves the done spell, so its
    ``done_date`` is NaT until it is done again.
    """
    as_of_ts = cast(pd.Timestamp, to_date(as_of) if as_of is not None
                    else pd.Timestamp.today().normalize())
    ag = current_versions(agreements).copy()
    for col in ("committed_date", "due_date"):
        if col in ag.columns:
            ag[col] = pd.to_datetime(ag[col])
    per = _update_summary(updates, as_of_ts)
    keys = ag["agreement_id"] if "agreement_id" in ag.columns else pd.Series(
        [], dtype="object")
    has = np.asarray(keys.isin(per.index), dtype=bool)
    info = per.reindex(keys.to_numpy())
    committed = (pd.to_datetime(ag["committed_date"]) if "committed_date" in ag.columns
                 else pd.Series(pd.NaT, index=ag.index, dtype="datetime64[ns]"))
    # the earliest of the committed date and the first update (the committed one on a tie)
    upd1 = pd.to_datetime(info["_first_update"]).set_axis(ag.index)
    use_c = committed.notna() & (upd1.isna() | ~(upd1 < committed))
    first = pd.Series(np.where(use_c, committed.astype(object), upd1.astype(object)),
                      index=ag.index, dtype=object)
    first = first.where(committed.notna() | upd1.notna(), None)
    keep = (~(committed.notna() | upd1.notna()) | (pd.to_datetime(first) <= as_of_ts)
            ).to_numpy()  # undated ones are always shown
    ag, info, has, first = ag[keep], info[keep], has[keep], first[keep]
    cols = list(ag.columns) + [c for c in STATE_COLUMNS if c not in ag.columns]
    n = len(ag)
    if not n:
        out = pd.DataFrame([], columns=cols)
    else:
        def obj(values) -> np.ndarray:
            return np.asarray(values, dtype=object)

        def when(c: str) -> np.ndarray:
            return obj(pd.to_datetime(info[c]).astype(object))

        ev = _evidence(ag, info)
        state = pd.DataFrame({
            "status": _or_none(has, _nones(info["status"])),
            "progress": np.where(has, obj(info["progress"].astype("float64")), np.nan),
            "reason": _or_none(has, _nones(info["reason"])),
            "status_since": when("status_since"), "done_date": when("done_date"),
            "ever_done": obj([bool(x) for x in info["ever_done"].fillna(False)]),
            "reopened": obj([bool(x) for x in info["reopened"].fillna(False)]),
            "last_update_date": when("last_update_date"),
            "n_updates": obj([int(x) for x in info["n_updates"].fillna(0)]),
            "evidence": obj(ev),
            "n_evidence": obj([0 if v is None else v.count(";") + 1 for v in ev]),
            "first_date": first.to_numpy(object), "as_of": obj([as_of_ts] * n),
        }, index=ag.index)
        # one round trip through records, as the columns were always built (same dtypes)
        both = pd.concat([ag.drop(columns=[c for c in STATE_COLUMNS if c in ag.columns]),
                          state], axis=1)
        out = pd.DataFrame(both.to_dict("records"), columns=cols)
    out = out[cols]
    for c in ("status_since", "done_date", "last_update_date", "first_date", "as_of"):
        out[c] = pd.to_datetime(out[c])
    out["progress"] = out["progress"].astype("float64")
    out["n_updates"] = out["n_updates"].astype("int64")
    out["n_evidence"] = out["n_evidence"].astype("int64")
    out["ever_done"] = out["ever_done"].astype(bool)
    out["reopened"] = out["reopened"].astype(bool)
    return out.reset_index(drop=True)


def _or_none(mask: np.ndarray, values) -> np.ndarray:
    """``values`` (as objects) where ``mask``, else None."""
    out = np.array(values, dtype=object)
    out[~np.asarray(mask, dtype=bool)] = None
    return out


def _nones(values) -> list:
    """The values with None for NaN / NA (pandas may turn a None into NaN)."""
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else v for v in values]


def _missing(s: pd.Series) -> pd.Series:
    """:func:`is_missing` of every value of a Series (vectorised)."""
    if s.dtype.kind in "biufcmM":  # numbers and dates are never blank
        return s.isna()
    blank = np.fromiter((isinstance(v, str) and not v.strip() for v in s), dtype=bool,
                        count=len(s))
    return s.isna() | blank


_SUMMARY = ("status", "progress", "reason", "status_since", "done_date", "ever_done",
            "reopened", "last_update_date", "n_updates", "_ev", "_first_update")


def _update_summary(updates: pd.DataFrame | None, as_of_ts: pd.Timestamp) -> pd.DataFrame:
    """Per agreement (index), the state its updates up to ``as_of_ts`` give (see
    :func:`state_as_of`), computed for all agreements at once."""
    up = updates.copy() if updates is not None else pd.DataFrame()
    for col, default in (("seq", None), ("progress", np.nan), ("reason", None),
                         ("evidence_url", None)):
        if col not in up.columns:
            up[col] = default if col != "seq" else np.arange(len(up))
    if up.empty:
        return pd.DataFrame(columns=list(_SUMMARY))
    up["update_date"] = pd.to_datetime(up["update_date"])
    up = up[up["update_date"] <= as_of_ts]
    up = up.sort_values(["agreement_id", "update_date", "seq"], kind="stable")
    if up.empty:
        return pd.DataFrame(columns=list(_SUMMARY))
    up = up.reset_index(drop=True)
    aid = up["agreement_id"]
    g = up.groupby(aid, sort=False)
    pos = pd.Series(np.arange(len(up)), index=up.index)
    status = up["status"]
    smiss = _missing(status)
    # the last status given (None when none)
    last_pos = pos.where(~smiss).groupby(aid, sort=False).transform("max")
    has_st = last_pos.notna()
    st_row = pd.Series(status.to_numpy(object)[last_pos.fillna(0).to_numpy(int)],
                       index=up.index).where(has_st, None)
    # the current spell: after the last update whose status is another one, the first update
    # with the current status
    other = ~smiss & has_st & (status.astype(object) != st_row)
    last_other = pos.where(other).groupby(aid, sort=False).transform("max").fillna(-1)
    in_spell = ~smiss & has_st & (pos > last_other)
    start = pos.where(in_spell).groupby(aid, sort=False).transform("min")
    # with no status at all, the spell starts at the first update whose status is None
    # (else the last one), as the loop of the original implementation did
    is_none = status.map(lambda v: v is None).astype(bool)
    none_start = pos.where(is_none).groupby(aid, sort=False).transform("min")
    last_row = pos.groupby(aid, sort=False).transform("max")
    start = start.where(has_st, none_start.fillna(last_row))
    reason = up["reason"]
    rpos = pos.where((pos >= start) & ~_missing(reason))
    r_last = rpos.groupby(aid, sort=False).max()
    prog = up["progress"].astype("float64")
    dates = up["update_date"]
    firsts = g.head(1).set_index("agreement_id")
    lasts = g.tail(1).set_index("agreement_id")
    start_first = pd.Series(start.to_numpy(), index=aid.to_numpy()).groupby(level=0,
                                                                               sort=False).first()
    st_last = pd.Series(st_row.to_numpy(object), index=aid.to_numpy(), dtype=object).groupby(
        level=0, sort=False).last()
    st = st_last.reindex(lasts.index)
    since = pd.Series(dates.to_numpy()[start_first.reindex(lasts.index).astype(int).to_numpy()],
                      index=lasts.index)
    has = st.notna().to_numpy()
    out = pd.DataFrame(index=lasts.index)
    out["status"] = st.where(has, None).astype(object)
    out["progress"] = prog.groupby(aid, sort=False).last().reindex(lasts.index)
    rl = r_last.reindex(lasts.index)
    out["reason"] = pd.Series(_or_none(np.asarray(rl.notna(), dtype=bool), reason.to_numpy(
        object)[rl.fillna(0).astype(int).to_numpy()]), index=lasts.index, dtype="object")
    out["status_since"] = since.where(has)
    out["done_date"] = since.where(has & (st == "done").to_numpy())
    ever = (status == "done").groupby(aid, sort=False).any().reindex(lasts.index)
    out["ever_done"] = ever.astype(bool)
    out["reopened"] = ever.astype(bool) & (st != "done")
    out["last_update_date"] = lasts["update_date"]
    out["n_updates"] = g.size().reindex(lasts.index)
    out["_first_update"] = firsts["update_date"].reindex(lasts.index)
    links = up.loc[~_missing(up["evidence_url"]), ["agreement_id", "evidence_url"]]
    out["_ev"] = _links(links["agreement_id"], links["evidence_url"]).reindex(lasts.index)
    return out


def _links(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Per key, the list of the ';'-separated links of ``values`` (in order, blanks and
    repeats dropped, as :func:`split_urls`)."""
    if keys.empty:
        return pd.Series(dtype=object)
    parts = pd.DataFrame({"k": keys.to_numpy(), "v": values.astype(str).str.split(";")})
    parts = parts.explode("v")
    parts["v"] = parts["v"].str.strip()
    parts = parts[parts["v"].notna() & (parts["v"] != "")].drop_duplicates(["k", "v"])
    return parts.groupby("k", sort=False)["v"].agg(list)


def _evidence(ag: pd.DataFrame, info: pd.DataFrame) -> list[str | None]:
    """';'-joined links of each agreement (its own first, then those of its updates)."""
    own = ag["evidence_urls"] if "evidence_urls" in ag.columns else pd.Series(
        None, index=ag.index, dtype=object)
    mask = ~_missing(own.astype(object))
    frames = [pd.DataFrame({"i": np.arange(len(ag))[mask.to_numpy()], "v": own[mask].astype(
        str).to_numpy()})]
    upd = info["_ev"].to_numpy(object) if "_ev" in info.columns else [None] * len(ag)
    ii = [i for i, x in enumerate(upd) if isinstance(x, list) and x]
    if ii:
        frames.append(pd.DataFrame({"i": ii, "v": [";".join(cast(list, upd[i])) for i in ii]}))
    allv = pd.concat(frames, ignore_index=True)
    joined = _links(allv["i"], allv["v"]).map(";".join) if len(allv) else pd.Series(dtype=object)
    return [v if isinstance(v, str) else None for v in joined.reindex(np.arange(len(ag)))]
