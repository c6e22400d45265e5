"""Data coverage of the unit: per territory and step, what is there, what is missing, since when.

Built from what the runner recorded: the latest run of each notebook (``runs``, a re-run that
was skipped as up to date keeps the status of the run before it) and the ``inputs`` table the
notebook recorded with its results (:func:`territoria.steps.common.check_inputs`: the status,
the tables missing, the sections left out and the reason in es/en). *Since* is when the
current status was first recorded without a break.

The site shows it as ``coverage.html`` and publishes the same table as ``coverage.csv``; the
territory pages and the index read :func:`step_statuses` to say what exists and what is
missing.

Examples
--------
>>> from territoria.store import Store
>>> s = Store(":memory:")
>>> step_statuses(s)
{}
>>> coverage_frame(s, ["07-001"], ["01_network"])[["territory_id", "step", "status"]].to_dict("records")
[{'territory_id': '07-001', 'step': '01_network', 'status': 'not-run'}]
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pandas as pd

from territoria import vocabulary
from territoria.i18n import catalogue
from territoria.store import Store

#: Statuses shown, in the order of the method's progress (labels: the vocabulary's run_status).
STATUS_LABELS = {s: vocabulary.texts("run_status", s) for s in vocabulary.codes("run_status")}
#: Columns of ``coverage.csv``.
COLUMNS = ["territory_id", "step", "status", "missing", "sections_left_out", "since",
           "last_run", "reason_es", "reason_en"]
MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)


def _runs(store: Store) -> pd.DataFrame:
    if not store.has_table("runs"):
        return pd.DataFrame(columns=["step", "territory_id", "status", "finished_at"])
    return store.query("SELECT step, territory_id, status, finished_at FROM runs "
                       "WHERE status <> 'skipped' ORDER BY finished_at")


def _inputs_meta(store: Store) -> dict:
    if not store.has_table("results"):
        return {}
    df = store.query("SELECT step, territory_id, meta FROM results WHERE key = 'inputs'")
    out = {}
    for r in df.itertuples():
        try:
            meta = json.loads(r.meta) if isinstance(r.meta, str) else {}
        except ValueError:
            meta = {}
        out[(r.territory_id if isinstance(r.territory_id, str) else None, r.step)] = meta
    return out


def step_statuses(store: Store) -> dict:
    """``(territory_id or None, step) -> dict`` for every notebook that has run.

    Returns
    -------
    dict
        Values hold ``status`` (``ok``, ``partial``, ``no-data`` or ``failed``), ``missing``
        and ``missing_sections`` (lists), ``reason_es``, ``reason_en``, ``since`` and
        ``last_run`` (ISO dates).
    """
    runs = _runs(store)
    metas = _inputs_meta(store)
    out: dict = {}
    city = "\ncity\n"  # no territory id holds newlines; "\x00" does not survive str dtype
    keys = runs["territory_id"].astype(object).where(runs["territory_id"].notna(), city)
    for (tid, step), sub in runs.groupby([keys, "step"], sort=False):
        tid = None if tid == city else tid
        statuses = list(sub["status"])
        times = list(sub["finished_at"])
        meta = metas.get((tid, step), {})
        status = statuses[-1]
        if status == "ok" and meta.get("status") == "partial":
            status = "partial"
        k = len(statuses) - 1
        while k > 0 and statuses[k - 1] == statuses[-1]:
            k -= 1
        out[(tid, step)] = {
            "status": status, "missing": list(meta.get("missing", [])) if status != "ok" else [],
            "missing_sections": list(meta.get("missing_sections", [])),
            "reason_es": meta.get("reason_es", "") if status != "ok" else "",
            "reason_en": meta.get("reason_en", "") if status != "ok" else "",
            "since": _date(times[k]), "last_run": _date(times[-1])}
    return out


def _date(v) -> str:
    return "" if v is None or pd.isna(v) else pd.Timestamp(v).date().isoformat()


def coverage_frame(store: Store, territory_ids, steps, *, city_steps=()) -> pd.DataFrame:
    """One row per territory and territory step (and one per city step, ``territory_id``
    ``city``), with :data:`COLUMNS`; steps never run are ``not-run``."""
    st = step_statuses(store)
    rows = []
    pairs = [(None, s) for s in city_steps] + [(t, s) for t in territory_ids for s in steps]
    for tid, step in pairs:
        d = st.get((tid, step))
        if d is None:
            d = {"status": "not-run", "missing": [], "missing_sections": [], "reason_es": "",
                 "reason_en": "", "since": "", "last_run": ""}
        rows.append({"territory_id": "city" if tid is None else tid, "step": step,
                     "status": d["status"], "missing": ", ".join(d["missing"]),
                     "sections_left_out": ", ".join(d["missing_sections"]),
                     "since": d["since"], "last_run": d["last_run"],
                     "reason_es": d["reason_es"], "reason_en": d["reason_en"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def has_field_data(statuses: dict, territory_id) -> bool:
    """True when some territory step computed something for ``territory_id`` (ok or partial)."""
    return any(t == territory_id and d["status"] in ("ok", "partial")
               for (t, _), d in statuses.items())


def _bi(d: dict) -> str:
    return (f"<span lang='es'>{escape(d['es'])}</span>"
            f"<span lang='en'>{escape(d.get('en') or d['es'])}</span>")


def page_body(frame: pd.DataFrame, names: dict, titles: dict) -> str:
    """The coverage page's HTML body (every text escaped)."""
    m = MESSAGES
    counts = (frame.groupby(["step", "status"]).size().unstack(fill_value=0)
              if len(frame) else pd.DataFrame())
    order = [s for s in STATUS_LABELS if s in counts.columns]
    head = "".join(f"<th scope='col' class='num'>{_bi(STATUS_LABELS[s])}</th>" for s in order)
    summary = "".join(
        f"<tr><td>{_bi(_title(titles, step))}</td>"
        + "".join(f"<td class='num'>{int(counts.loc[step, s])}</td>" for s in order) + "</tr>"
        for step in counts.index)
    rows = []
    for r in frame.itertuples():
        where = m["city"] if r.territory_id == "city" else {
            "es": names.get(r.territory_id, r.territory_id),
            "en": names.get(r.territory_id, r.territory_id)}
        reason = {"es": r.reason_es or r.missing or "—", "en": r.reason_en or r.missing or "—"}
        rows.append(f"<tr data-status='{escape(r.status)}'><td>{_bi(where)} "
                    f"<span class='badge'>{escape(str(r.territory_id))}</span></td>"
                    f"<td>{_bi(_title(titles, r.step))}</td>"
                    f"<td>{_bi(STATUS_LABELS.get(r.status, {'es': r.status}))}</td>"
                    f"<td>{_bi(reason)}</td><td>{escape(r.since or '—')}</td></tr>")
    return (f"<h1>{_bi(m['title'])}</h1><p>{_bi(m['intro'])} "
            "<a href='coverage.csv'>coverage.csv</a></p>"
            f"<h2>{_bi(m['summary'])}</h2><div class='tablewrap' tabindex='0'><table><thead><tr>"
            f"<th scope='col'>{_bi(m['step'])}</th>{head}</tr></thead><tbody>{summary}"
            "</tbody></table></div>"
            f"<h2>{_bi(m['title'])}</h2><div class='tablewrap' tabindex='0'><table><thead><tr>"
            f"<th scope='col'>{_bi(m['territory'])}</th><th scope='col'>{_bi(m['step'])}</th>"
            f"<th scope='col'>{_bi(m['status'])}</th><th scope='col'>{_bi(m['missing'])}</th>"
            f"<th scope='col'>{_bi(m['since'])}</th></tr></thead><tbody>{''.join(rows)}"
            "</tbody></table></div>")


def _title(titles: dict, step: str) -> dict:
    es, en = titles.get(step, (step, step))
    return {"es": es, "en": en}


def write_csv(frame: pd.DataFrame, path) -> Path:
    """Write the coverage table as CSV (UTF-8, header always)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
