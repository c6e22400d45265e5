"""Step 04, follow-up of agreements: which promises are kept, late or broken, and by whom?

The notebook ``notebooks/04_followup.ipynb`` calls these functions section by section:

1. :func:`analyse` loads the territory's agreements and their update history and rebuilds the
   state of every agreement on one date (``as_of``: the parameter, else ``city.yml:
   period_end``, else today: :func:`territoria.steps.common.resolve_as_of`, the rule step 05
   also follows) with :func:`territoria.ledger.model.state_as_of`. The history
   comes from the ledger tables when someone ran ``territoria ledger sync`` (they may also hold
   corrections and Decidim imports); otherwise it is built in memory from the survey tables
   with :func:`territoria.ledger.surveys.frames_from_surveys` (notebooks never write);
2. :func:`summary_table` fulfilment rate, on-time rate, overdue count, evidence share
   (:mod:`territoria.analysis.followup`, Wilson 95 % intervals);
3. :func:`overdue_table` the overdue list on that date;
4. :func:`promise_table` promise keeping by department, :func:`time_table` and
   :func:`km_figure` time to fulfilment (Kaplan-Meier, open agreements censored);
5. :func:`traceability_table` coverage of the chain agenda -> agreement -> evidence;
6. :func:`accountability_table` the public accountability section: what was promised, by whom,
   by when, where it stands, with the last updates of each agreement;
7. :func:`compute` records it all (a :class:`StepResult`).

Privacy: agreements are commitments of departments, not people, so their tables are not
subject to small-cell suppression; no reporter name, no follow-up free text (the ``reason``
of an update may identify people and is never published) and no evidence link (photos may
show people; the published tables give the number of evidence items) reaches them.

Examples
--------
>>> SECTION.step, SCOPE
('04_followup', 'territory')
>>> "accountability" in [v.key for v in SECTION.views]
True
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import followup as fu
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.ledger.model import (
    COMMITTED,
    department_label,
    state_as_of,
    status_label,
    text_in,
)
from territoria.ledger.surveys import frames_from_surveys
from territoria.steps import StepResult, common
from territoria.steps.common import memoized, resolve_as_of
from territoria.steps.registry import step_by_id

STEP = "04_followup"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry
LANGS = ("es", "en")
#: Rows of the published accountability table (the most urgent first) and updates per history.
MAX_PROMISES = 40
MAX_OVERDUE = 15
LAST_UPDATES = 3

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts, title=step_by_id(STEP).title)
MESSAGES["col_done"] = MESSAGES["col_events"]  # one text: "Cumplidos"


def _t(key, lang, **kw):
    return tr(MESSAGES, key, lang, **kw)


_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("accountability", "table", "v_accountability",
            _T("c_accountability", n=MAX_PROMISES, k=LAST_UPDATES), columns=(
                ("agreement_id", "col_agreement"), ("label_{lang}", "col_promised"),
                ("department_{lang}", "col_by_whom"), ("meeting_{lang}", "col_meeting"),
                ("committed_date", "col_committed"), ("due_date", "col_by_when"),
                ("status_{lang}", "col_status"), ("progress", "col_progress"),
                ("overdue_{lang}", "col_overdue"), ("n_evidence", "col_evidence"),
                ("history_{lang}", "col_history"))),
    _T.view("overdue", "table", "v_overdue", _T("c_overdue", n=MAX_OVERDUE), columns=(
        ("agreement_id", "col_agreement"), ("label_{lang}", "col_promised"),
        ("department_{lang}", "col_by_whom"), ("due_date", "col_by_when"),
        ("days_overdue", "col_days_overdue"), ("status_{lang}", "col_status"),
        ("progress", "col_progress"))),
    _T.view("promise_keeping", "bar", "v_promise", "c_promise", percent=True),
    _T.view("promise_table", "table", "v_promise", "c_promise", columns=(
        ("label_{lang}", "col_department"), ("n_committed", "col_committed_n"),
        ("n_done", "col_done"), ("estimate", "col_fulfilment"), ("ci_low", "col_low"),
        ("ci_high", "col_high"), ("on_time", "col_on_time"), ("n_overdue", "col_n_overdue")),
            percent=True),
    _T.view("time_to_fulfilment", "table", "v_time", "c_time", columns=(
        ("label_{lang}", "col_department"), ("n", "col_n"), ("events", "col_events"),
        ("median_days", "col_median"), ("median_ci_low", "col_low"),
        ("median_ci_high", "col_high"))),
    _T.view("traceability", "table", "v_trace", "c_trace", columns=(
        ("label_{lang}", "col_indicator"), ("estimate", "col_value"), ("ci_low", "col_low"),
        ("ci_high", "col_high"), ("n", "col_base"), ("note_{lang}", "col_note")), percent=True),
), indicators=("followup_fulfilment_rate", "followup_on_time_rate", "followup_overdue",
               "followup_median_days", "followup_evidence_share"))


# ------------------------------------------------------------------------------ loading
@dataclass
class FollowupAnalysis:
    """Step 04's inputs and state for one territory on one date."""

    territory_id: str
    agreements: pd.DataFrame
    updates: pd.DataFrame
    state: pd.DataFrame
    as_of: pd.Timestamp
    source: str
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    agenda: pd.DataFrame | None = None
    city: object = None  # the CityConfig whose department labels the tables show


_FOLLOWUP_COLS = ("agreement_code", "territory", "update_date", "status", "progress",
                  "evidence_url", "department")  # never reporter_name, never free text


def load(ctx, territory_id: str) -> tuple[pd.DataFrame, pd.DataFrame, str, pd.DataFrame]:
    """The territory's agreements and updates: ``(agreements, updates, source, problems)``.

    ``source`` is ``"ledger"`` when the store has the ledger tables (``territoria ledger
    sync`` was run), else ``"surveys"`` (built in memory from ``assembly__agreements``,
    ``assembly`` and ``followup``). ``problems`` lists source rows left out (surveys only).
    """
    if territory_id is None:
        raise DataError(_t("no_territory", "en") + " (step 04 runs once per territory)")
    ctx.require_territory(territory_id)
    store = ctx.store
    if store.has_table("agreements"):
        ag = store.query("SELECT * FROM agreements WHERE territory_id = ?", [territory_id])
        if store.has_table("agreement_updates") and len(ag):
            up = store.query(
                "SELECT u.agreement_id, u.seq, u.update_date, u.status, u.progress, "
                "u.evidence_url, u.department FROM agreement_updates u WHERE u.agreement_id IN "
                "(SELECT DISTINCT agreement_id FROM agreements WHERE territory_id = ?)",
                [territory_id])
        else:
            up = pd.DataFrame(columns=["agreement_id", "seq", "update_date", "status",
                                       "progress", "evidence_url", "department"])
        return ag, up, "ledger", pd.DataFrame(columns=["table", "row", "agreement_id",
                                                       "message"])
    rep = ctx.repeat("assembly", "agreements", territory_id,
                     parent_cols=("assembly_code", "kind", "date", "territory"))
    if rep.empty:
        asm = pd.DataFrame(columns=["assembly_code", "kind", "date", "territory"])
    else:
        rep = rep[["agreement_code", "agreement_text", "department", "due_date",
                   "assembly_code", "kind", "date", "territory"]
                  + (["proposal_code"] if "proposal_code" in rep else [])]
        asm = rep[["assembly_code", "kind", "date", "territory"]].drop_duplicates(
            "assembly_code")
        rep = rep[["agreement_code", "agreement_text", "department", "due_date",
                   "assembly_code"] + (["proposal_code"] if "proposal_code" in rep else [])]
    fol = pd.DataFrame()
    if store.has_table("followup"):
        have = set(store.query("SELECT * FROM followup LIMIT 0").columns)
        cols = [c for c in _FOLLOWUP_COLS if c in have]
        sel = ", ".join(f'"{c}"' for c in cols)
        fol = store.query(f'SELECT {sel} FROM followup WHERE territory = ? ORDER BY _id',
                          [territory_id]) if "_id" in have else store.query(
            f'SELECT {sel} FROM followup WHERE territory = ?', [territory_id])
    # the follow-up's reason is free text (moved to followup__freetext at ingest) and is not
    # read here: rejections are kept without it
    ag, up, problems = frames_from_surveys(rep, asm, fol, require_reason=False)
    return ag, up, "surveys", problems


def _agenda(ctx, territory_id: str) -> pd.DataFrame | None:
    """Step 03's agenda for the territory (recorded results, else its CSV), or None."""
    from territoria.report.record import load_result_table

    ag = None
    if ctx.store.has_table("results"):
        ag = load_result_table(ctx.store, "03_agenda", territory_id, "agenda")
    if ag is None or ag.empty:
        p = Path(ctx.output_dir) / "03_agenda" / f"{territory_id.replace('/', '_')}.agenda.csv"
        if p.is_file():
            ag = pd.read_csv(StringIO(p.read_text(encoding="utf-8")))
    if ag is None or ag.empty:
        return None
    out = ag.rename(columns={"proposal": "proposal_code"})
    return out[[c for c in ("proposal_code", "rank", "department", "axis") if c in out.columns]]


def _territory_state(st: pd.DataFrame, territory_id: str) -> pd.DataFrame:
    """The rows of the territory in a state (its current version's territory), department
    'unknown' when missing."""
    if "territory_id" in st.columns:
        st = st[st["territory_id"].astype(str) == str(territory_id)].reset_index(drop=True)
    if "department" in st.columns:
        st["department"] = st["department"].fillna("unknown")
    return st


def analyse(ctx, territory_id: str, *, as_of=None, agenda: bool = True) -> FollowupAnalysis:
    """Load the agreements of a territory and rebuild their state on ``as_of``.

    ``agenda=False`` skips step 03's agenda (only :func:`traceability_table` needs it).
    """
    ag, up, source, problems = load(ctx, territory_id)
    when = resolve_as_of(ctx, as_of)
    st = _territory_state(state_as_of(ag, up, when), territory_id)
    return FollowupAnalysis(territory_id, ag, up, st, when, source, problems,
                            _agenda(ctx, territory_id) if agenda else None,
                            getattr(ctx, "config", None))


def analyse_many(ctx, territory_ids, *, as_of=None) -> list[FollowupAnalysis]:
    """:func:`analyse` for several territories (without the agenda), reading the ledger and
    rebuilding the state once for all of them: the same states as one call per territory.

    Without the ledger tables, each territory's forms are read in turn (:func:`load`).
    """
    ids = [str(t) for t in territory_ids]
    when = resolve_as_of(ctx, as_of)
    store = ctx.store
    if not store.has_table("agreements"):
        return [analyse(ctx, t, as_of=when, agenda=False) for t in ids]
    known = set(ctx.territories()["territory_id"].astype(str))
    missing = [t for t in ids if t not in known]
    if missing:
        raise DataError(f"territory '{missing[0]}' is not in the store")
    ag = store.query("SELECT * FROM agreements")
    ag = ag[ag["territory_id"].astype(str).isin(ids)]
    if store.has_table("agreement_updates") and len(ag):
        up = store.query("SELECT agreement_id, seq, update_date, status, progress, "
                         "evidence_url, department FROM agreement_updates")
        up = up[up["agreement_id"].isin(ag["agreement_id"])]
    else:
        up = pd.DataFrame(columns=["agreement_id", "seq", "update_date", "status", "progress",
                                   "evidence_url", "department"])
    st = state_as_of(ag, up, when)
    by_st = st.groupby(st["territory_id"].astype(str)).indices if len(st) else {}
    by_ag = ag.groupby(ag["territory_id"].astype(str)).indices if len(ag) else {}
    none = np.array([], dtype=int)
    out = []
    for t in ids:
        ag_t = ag.iloc[by_ag.get(t, none)].reset_index(drop=True)
        up_t = up[up["agreement_id"].isin(ag_t["agreement_id"])].reset_index(drop=True)
        st_t = st.iloc[by_st.get(t, none)].reset_index(drop=True)
        if "department" in st_t.columns:
            st_t["department"] = st_t["department"].fillna("unknown")
        out.append(FollowupAnalysis(t, ag_t, up_t, st_t, when, "ledger", pd.DataFrame(
            columns=["table", "row", "agreement_id", "message"]), None,
            getattr(ctx, "config", None)))
    return out


#: Statuses of an agreement a department accepted, also when it was cancelled later: step
#: 04's "accepted (incl. later cancelled)" and step 05's "signed".
ACCEPTED = (*COMMITTED, "cancelled")


def accepted_counts(ctx, territory_ids, *, as_of=None) -> pd.DataFrame:
    """Per territory, the agreements made by the cut-off date and those a department accepted
    (:data:`ACCEPTED`), from step 04's source and state (:func:`analyse_many`: the ledger with
    its corrections and imports when the store has it, else the forms; cut-off by
    :func:`territoria.steps.common.resolve_as_of`). Step 05 takes its "signed" count here.

    Returns
    -------
    DataFrame
        ``territory``, ``agreements_recorded``, ``agreements_signed``.
    """
    rows = [{"territory": a.territory_id, "agreements_recorded": len(a.state),
             "agreements_signed": int(a.state["status"].isin(ACCEPTED).sum())
             if len(a.state) else 0}
            for a in analyse_many(ctx, territory_ids, as_of=as_of)]
    return pd.DataFrame(rows, columns=["territory", "agreements_recorded", "agreements_signed"])


# ------------------------------------------------------------------------------ sections
def _dept(d, lang, a=None):
    return department_label(d, lang, getattr(a, "city", None)) or str(d)


def _date(v) -> str:
    return "" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")


@memoized
def summary_table(a: FollowupAnalysis) -> pd.DataFrame:
    """Headline figures: ``name, value, ci_low, ci_high, n, k`` (Wilson 95 % intervals).

    Rows: ``followup_agreements`` (agreements made by the date), ``followup_committed``,
    ``followup_fulfilment_rate`` (done / committed), ``followup_on_time_rate`` (done by the
    due date, among those whose outcome is known), ``followup_overdue`` (count; ``n`` the
    committed ones), ``followup_evidence_share`` (agreements with at least one evidence item).
    """
    st = a.state
    rows = [{"name": "followup_agreements", "value": float(len(st)), "n": len(st)}]
    committed = int(st["status"].isin(COMMITTED).sum()) if len(st) else 0
    rows.append({"name": "followup_committed", "value": float(committed), "n": len(st)})
    if len(st):
        f = fu.fulfilment_rate(st).iloc[0]
        o = fu.on_time_rate(st).iloc[0]
        rows.append({"name": "followup_fulfilment_rate", "value": f["rate"], "ci_low":
                     f["ci_low"], "ci_high": f["ci_high"], "n": int(f["n"]), "k": int(f["k"])})
        rows.append({"name": "followup_on_time_rate", "value": o["rate"], "ci_low": o["ci_low"],
                     "ci_high": o["ci_high"], "n": int(o["n"]), "k": int(o["k"])})
        rows.append({"name": "followup_overdue", "value": float(len(fu.overdue(st))),
                     "n": committed})
        k = int((st["n_evidence"] > 0).sum())
        lo, hi = fu.proportion_ci(k, len(st))
        rows.append({"name": "followup_evidence_share", "value": k / len(st), "ci_low": float(lo),
                     "ci_high": float(hi), "n": len(st), "k": k})
    out = pd.DataFrame(rows, columns=["name", "value", "ci_low", "ci_high", "n", "k"])
    return out


@memoized
def overdue_table(a: FollowupAnalysis, cap: int = MAX_OVERDUE) -> pd.DataFrame:
    """The overdue list on the cut-off date (most overdue first, at most ``cap`` rows).

    Returns
    -------
    DataFrame
        ``agreement_id, label_es, label_en, department, department_es, department_en,
        due_date, days_overdue, status, status_es, status_en, progress``.
    """
    cols = ["agreement_id", "label_es", "label_en", "department", "department_es",
            "department_en", "due_date", "days_overdue", "status", "status_es", "status_en",
            "progress"]
    if a.state.empty:
        return pd.DataFrame(columns=cols)
    od = fu.overdue(a.state).head(cap).copy()
    for lg in LANGS:
        od[f"label_{lg}"] = [text_in(d, lg) for d in od["description"]]
        od[f"department_{lg}"] = [_dept(d, lg, a) for d in od["department"]]
        od[f"status_{lg}"] = [status_label(s, lg) for s in od["status"]]
    od["due_date"] = [_date(v) for v in od["due_date"]]
    return od[cols].reset_index(drop=True)


@memoized
def promise_table(a: FollowupAnalysis) -> pd.DataFrame:
    """Promise keeping by department (:func:`territoria.analysis.followup.promise_keeping`).

    Returns
    -------
    DataFrame
        ``department, label_es, label_en, n_committed, n_done, estimate`` (fulfilment),
        ``ci_low, ci_high`` (Wilson 95 %), ``n_known, on_time, on_time_ci_low,
        on_time_ci_high, n_overdue, n_in_progress, n_cancelled, n_rejected``, lowest
        fulfilment first.
    """
    cols = ["department", "label_es", "label_en", "n_committed", "n_done", "estimate", "ci_low",
            "ci_high", "n_known", "on_time", "on_time_ci_low", "on_time_ci_high", "n_overdue",
            "n_in_progress", "n_cancelled", "n_rejected"]
    if a.state.empty:
        return pd.DataFrame(columns=cols)
    t = fu.promise_keeping(a.state, by="department").rename(columns={
        "fulfilment": "estimate", "fulfilment_ci_low": "ci_low",
        "fulfilment_ci_high": "ci_high"})
    for lg in LANGS:
        t[f"label_{lg}"] = [_dept(d, lg, a) for d in t["department"]]
    return t[cols].reset_index(drop=True)


@memoized
def time_table(a: FollowupAnalysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan-Meier time to fulfilment, overall and by department: ``(summary, curve)``.

    ``summary``: ``department`` (``all`` for everyone), ``label_es, label_en, n, events,
    censored, median_days, median_ci_low, median_ci_high`` (Brookmeyer-Crowley 95 %; NaN
    median when fewer than half were fulfilled; infinite upper bound when unbounded).
    ``curve``: by department, ``days, n_risk, n_events, share_fulfilled, ci_low, ci_high``.
    """
    cols = ["department", "label_es", "label_en", "n", "events", "censored", "median_days",
            "median_ci_low", "median_ci_high"]
    if a.state.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame()
    with warnings.catch_warnings():  # log(-log(S)) at S = 0 or 1: the CI is set to inf/NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        summ, curve = fu.time_to_fulfilment(a.state, by="department")
        tot, _ = fu.time_to_fulfilment(a.state, by=None)
    if len(tot):
        tot.insert(0, "department", "all")
        summ = pd.concat([tot, summ], ignore_index=True)
    for lg in LANGS:
        summ[f"label_{lg}"] = [_t("all_departments", lg) if d == "all" else _dept(d, lg, a)
                               for d in summ["department"]]
    return summ[cols].reset_index(drop=True), curve


def km_figure(a: FollowupAnalysis, lang: str = "es", max_lines: int = 5,
              backend: str = "svg"):
    """Kaplan-Meier curves (share fulfilled by days) of the departments with most agreements:
    ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws a :class:`~territoria.charts.Chart` like the
    site's charts; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    check_language(lang)
    plots.check_backend(backend)
    summ, curve = time_table(a)
    deps = summ[(summ["department"] != "all") & (summ["events"] > 0)].sort_values(
        ["n", "department"], ascending=[False, True]).head(max_lines)
    lines = {}
    if not (deps.empty or curve.empty):
        for d in deps["department"]:
            c = curve[curve["department"] == d]
            x = np.concatenate([[0.0], c["days"].to_numpy(float)])
            y = np.concatenate([[0.0], c["share_fulfilled"].to_numpy(float)])
            lines[_dept(d, lang, a)] = (x, y)
    if not lines:
        alt = _t("km_none", lang)
    else:
        med = deps.assign(m=deps["median_days"].fillna(np.inf)).sort_values("m")

        def fmt(v):
            return _t("not_reached", lang) if not np.isfinite(v) else f"{v:,.0f}"

        alt = _t("km_alt", lang, n=len(deps), best=_dept(med.iloc[0]["department"], lang, a),
                 bmed=fmt(med.iloc[0]["m"]), worst=_dept(med.iloc[-1]["department"], lang, a),
                 wmed=fmt(med.iloc[-1]["m"]))
    if backend == "svg":
        from territoria import charts

        xmax = max((float(x.max()) for x, _ in lines.values()), default=0.0)
        every = max(30.0, float(np.ceil(xmax / 5 / 30) * 30))  # ticks every n months of days
        ticks = {float(t): f"{t:,.0f}" for t in np.arange(0, xmax + 1, every)}
        svg = charts.lines({k: list(zip(x.tolist(), y.tolist(), strict=True))
                            for k, (x, y) in lines.items()},
                           title=_t("km_title", lang), alt=alt, ylabel=_t("col_fulfilment", lang),
                           xlabel=_t("km_x", lang), x_labels=ticks, step=True, ymax=1.0,
                           percent=True, standalone=True)
        return charts.Chart(svg, alt), alt
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.add_subplot()
    if not lines:
        ax.set_axis_off()
        return fig, alt
    for name, (x, y) in lines.items():
        ax.step(x, y * 100, where="post", label=name)
    ax.set_xlabel(_t("km_x", lang))
    ax.set_ylabel(_t("col_fulfilment", lang))
    ax.set_ylim(0, 100)
    ax.set_title(_t("km_title", lang), loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    return fig, alt


@memoized
def traceability_table(a: FollowupAnalysis, top: int = 10) -> pd.DataFrame:
    """Coverage of the chain agenda -> agreement -> evidence.

    Returns
    -------
    DataFrame
        ``name, label_es, label_en, estimate, ci_low, ci_high, k, n, computable,
        note_es, note_en``. ``top_agenda_with_agreement`` is exact: the share of the top
        agenda items named by the ``proposal_code`` of a standing agreement (agreed, in
        progress or done); it is computed when at least one agreement of the territory
        carries a ``proposal_code`` (assembly form 2026.2 or later, or a Decidim import),
        else it is not computable (``estimate`` NaN and a note).
        ``top_agenda_department_covered`` is the proxy, always given: the share of the top
        agenda items whose responsible department has a standing agreement in the territory.
    """
    st = a.state.copy()
    if "proposal_code" not in st.columns:
        st["proposal_code"] = None
    st["territory_id"] = a.territory_id
    agenda = a.agenda
    rows = []
    linked = st["proposal_code"].notna() & (st["proposal_code"].astype(str).str.strip() != "")
    if agenda is not None and len(agenda):
        cov = fu.traceability_coverage(st, agenda, a.territory_id, top=top).set_index("name")
        r = cov.loc["top_agenda_with_agreement"]
        ok = bool(linked.any())
        rows.append({"name": "top_agenda_with_agreement", "estimate": r["value"] if ok else
                     np.nan, "ci_low": r["ci_low"] if ok else np.nan,
                     "ci_high": r["ci_high"] if ok else np.nan, "k": int(r["k"]) if ok else
                     np.nan, "n": int(r["n"]), "computable": ok,
                     "note": None if ok else "tr_no_links"})
        topn = agenda.sort_values("rank").head(top)
        depts = set(st.loc[st["status"].isin(COMMITTED), "department"].astype(str))
        if "department" in topn.columns:
            k = int(topn["department"].astype(str).isin(depts).sum())
            lo, hi = fu.proportion_ci(k, len(topn))
            rows.append({"name": "top_agenda_department_covered", "estimate": k / len(topn)
                         if len(topn) else np.nan, "ci_low": float(lo), "ci_high": float(hi),
                         "k": k, "n": len(topn), "computable": True, "note": None})
    else:
        rows.append({"name": "top_agenda_with_agreement", "estimate": np.nan, "ci_low": np.nan,
                     "ci_high": np.nan, "k": np.nan, "n": 0, "computable": False,
                     "note": "tr_no_agenda"})
    n = len(st)
    for name, k in (("agreements_linked_to_proposal", int(linked.sum())),
                    ("agreements_with_evidence", int((st["n_evidence"] > 0).sum()) if n else 0)):
        lo, hi = fu.proportion_ci(k, n)
        rows.append({"name": name, "estimate": k / n if n else np.nan, "ci_low": float(lo),
                     "ci_high": float(hi), "k": k, "n": n, "computable": n > 0, "note": None})
    out = pd.DataFrame(rows)
    key = {"top_agenda_with_agreement": "tr_top", "top_agenda_department_covered": "tr_top_dept",
           "agreements_linked_to_proposal": "tr_linked",
           "agreements_with_evidence": "tr_evidence"}
    for lg in LANGS:
        out[f"label_{lg}"] = [_t(key[x], lg) for x in out["name"]]
        out[f"note_{lg}"] = ["" if pd.isna(nt) else _t(nt, lg) for nt in out["note"]]
    return out[["name", "label_es", "label_en", "estimate", "ci_low", "ci_high", "k", "n",
                "computable", "note_es", "note_en"]]


@memoized
def history_text(a: FollowupAnalysis, lang: str = "es", last: int = LAST_UPDATES) -> dict:
    """Compact history per agreement: the ``last`` updates up to the cut-off date, newest
    first, as ``"2024-02-01 En proceso (40 %)"`` joined by ``" · "``; older updates are
    counted (``"+3 anteriores"``)."""
    up = a.updates
    if up.empty:
        return {}
    up = up[pd.to_datetime(up["update_date"]) <= a.as_of].copy()
    up["update_date"] = pd.to_datetime(up["update_date"])
    up = up.sort_values(["agreement_id", "update_date", "seq"], kind="stable")
    older = {"es": "+{n} anteriores", "en": "+{n} earlier"}[lang]
    out = {}
    for aid, g in up.groupby("agreement_id", sort=False):
        tail = g.tail(last).iloc[::-1]
        parts = []
        for d, s, p in zip(tail["update_date"], tail["status"], tail["progress"], strict=True):
            txt = f"{d:%Y-%m-%d} {status_label(s, lang)}"
            if p is not None and not pd.isna(p):
                txt += f" ({p:.0f} %)"
            parts.append(txt)
        if len(g) > last:
            parts.append(older.format(n=len(g) - last))
        out[str(aid)] = " · ".join(parts)
    return out


@memoized
def accountability_table(a: FollowupAnalysis, cap: int = MAX_PROMISES,
                         last: int = LAST_UPDATES) -> pd.DataFrame:
    """The public accountability table: what was promised, by whom, by when, where it stands,
    with the last ``last`` updates of each agreement. Overdue agreements first (most overdue
    first), then open ones (nearest due date first), then closed ones (newest first); at most
    ``cap`` rows (the indicator ``followup_agreements`` gives the total).

    Returns
    -------
    DataFrame
        ``agreement_id, label_es, label_en`` (what was promised), ``department,
        department_es, department_en, meeting_es, meeting_en`` (kind of meeting),
        ``assembly_code, committed_date, due_date, status, status_es, status_en, progress,
        overdue, overdue_es, overdue_en, days_overdue, n_evidence, history_es, history_en``.
        No reporter, no reason text, no evidence links.
    """
    cols = ["agreement_id", "label_es", "label_en", "department", "department_es",
            "department_en", "meeting_es", "meeting_en", "assembly_code", "committed_date",
            "due_date", "status", "status_es", "status_en", "progress", "overdue", "overdue_es",
            "overdue_en", "days_overdue", "n_evidence", "history_es", "history_en"]
    st = a.state.copy()
    if st.empty:
        return pd.DataFrame(columns=cols)
    od = fu.overdue(st).set_index("agreement_id")["days_overdue"]
    st["days_overdue"] = st["agreement_id"].map(od)
    st["overdue"] = st["days_overdue"].notna()
    is_open = st["status"].isin(("proposed", "negotiating", "agreed", "in_progress"))
    st["_grp"] = np.where(st["overdue"], 0, np.where(is_open, 1, 2))
    st["_key"] = np.where(st["overdue"], -st["days_overdue"].fillna(0),
                          np.where(is_open, pd.to_datetime(st["due_date"]).map(
                              lambda v: v.toordinal() if not pd.isna(v) else 10**9),
                                   -pd.to_datetime(st["last_update_date"]).map(
                                       lambda v: v.toordinal() if not pd.isna(v) else 0)))
    st = st.sort_values(["_grp", "_key", "agreement_id"]).head(cap)
    for lg in LANGS:
        st[f"label_{lg}"] = [text_in(d, lg) for d in st["description"]]
        st[f"department_{lg}"] = [_dept(d, lg, a) for d in st["department"]]
        st[f"meeting_{lg}"] = vocabulary.labels("meeting_kind", st["source_kind"], lg, a.city)
        st[f"status_{lg}"] = [status_label(s, lg) for s in st["status"]]
        st[f"overdue_{lg}"] = np.where(st["overdue"], _t("yes", lg), _t("no", lg))
        h = history_text(a, lg, last)
        st[f"history_{lg}"] = [h.get(str(x), "") for x in st["agreement_id"]]
    st["committed_date"] = [_date(v) for v in st["committed_date"]]
    st["due_date"] = [_date(v) for v in st["due_date"]]
    st["progress"] = st["progress"].round(0)
    return st[cols].reset_index(drop=True)


# ------------------------------------------------------------------------------ result
def compute(ctx, territory_id: str, *, lang: str = "es",
            analysis: FollowupAnalysis | None = None, as_of=None) -> StepResult:
    """Everything step 04 records for one territory on the cut-off date.

    Returns
    -------
    StepResult
        Indicators (``grp`` = cut-off date for the rates): ``followup_agreements``,
        ``followup_committed``, ``followup_fulfilment_rate``, ``followup_on_time_rate``,
        ``followup_overdue``, ``followup_evidence_share``, ``followup_median_days`` (KM
        median, all departments), ``followup_top10_with_agreement`` (suppressed = not
        computable when agreements name no proposal), ``followup_top10_department_covered``,
        ``followup_linked_to_proposal``; tables ``accountability``, ``overdue``,
        ``promise_keeping``, ``promise_table``, ``time_to_fulfilment``, ``traceability``.
    """
    check_language(lang)
    a = analysis or analyse(ctx, territory_id, as_of=as_of)
    res = StepResult(STEP, territory_id)
    grp = a.as_of.strftime("%Y-%m-%d")
    for r in summary_table(a).to_dict("records"):
        res.indicator(r["name"], r["value"], ci_low=r.get("ci_low"), ci_high=r.get("ci_high"),
                      n=r["n"], grp=grp)
    summ, _ = time_table(a)
    tot = summ[summ["department"] == "all"]
    if len(tot):
        t0 = tot.iloc[0]
        hi = t0["median_ci_high"]
        res.indicator("followup_median_days", t0["median_days"], ci_low=t0["median_ci_low"],
                      ci_high=hi if np.isfinite(hi) else None, n=int(t0["n"]), grp=grp,
                      unit="days")
    trace = traceability_table(a).set_index("name")
    names = {"top_agenda_with_agreement": "followup_top10_with_agreement",
             "top_agenda_department_covered": "followup_top10_department_covered",
             "agreements_linked_to_proposal": "followup_linked_to_proposal"}
    for key, ind in names.items():
        if key in trace.index:
            r = trace.loc[key]
            res.indicator(ind, r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"],
                          n=int(r["n"]), grp=grp, suppressed=not bool(r["computable"]))
    pt = promise_table(a)
    res.table("accountability", accountability_table(a), as_of=grp, cap=MAX_PROMISES,
              last_updates=LAST_UPDATES, total=len(a.state))
    res.table("overdue", overdue_table(a), as_of=grp, cap=MAX_OVERDUE)
    res.table("promise_keeping", pt[pt["n_committed"] > 0][
        ["department", "label_es", "label_en", "estimate", "ci_low", "ci_high", "n_committed"]],
              as_of=grp, level=0.95)
    res.table("promise_table", pt, as_of=grp, level=0.95)
    res.table("time_to_fulfilment", summ.replace([np.inf], np.nan), as_of=grp, level=0.95)
    res.table("traceability", trace.reset_index(), as_of=grp, level=0.95)
    return res


__all__ = ["STEP", "SCOPE", "SECTION", "FollowupAnalysis", "analyse", "analyse_many", "load",
           "ACCEPTED", "accepted_counts", "resolve_as_of",
           "summary_table", "overdue_table", "promise_table", "time_table", "km_figure",
           "traceability_table", "history_text", "accountability_table", "compute"]

_ = dt  # dates in doctests
