"""Step 05, process evaluation (territory; the city comparison too): was the participation
inclusive, deliberative and influential?

The notebook ``notebooks/05_process.ipynb`` calls these functions one per section:

1. :func:`load_questionnaire`: the territory's participant questionnaire (``process``) with
   numeric Likert items (items nobody answered are left out: they were not asked);
2. :func:`reliability`: Cronbach's alpha with its Feldt interval for each OECD stage, and
   :func:`item_analysis` (corrected item-total correlations, alpha if an item is dropped);
3. :func:`stage_scores`: the stage scores (mean 1-5 and share agreeing) with intervals;
4. :func:`repeated_items`: start-versus-end change of the items asked twice (paired, d_z
   with interval);
5. :func:`activity`: what the activity data say about pathways to impact (agreements per
   assembly, share of agreements that reached a signed status), on step 04's cut-off date;
6. :func:`iap2_table`: each mechanism on the IAP2 spectrum;
7. :func:`scorecard` and :func:`scorecard_plot`: the territory's scorecard with intervals;
8. :func:`compute`: the indicators and tables the territory page shows;
   :func:`city_comparison_table` compares every territory (step 07 calls it).

Examples
--------
>>> from territoria.steps import s05_process as s05
>>> s05.STEP, s05.SCOPE
('05_process', 'territory')
>>> s05.SIGNED_STATUSES
('agreed', 'in_progress', 'done', 'cancelled')
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import process_eval as pe
from territoria.analysis.suppression import suppress
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.steps import StepResult, common, s04_followup
from territoria.steps.common import resolve_as_of
from territoria.steps.registry import step_by_id

STEP = "05_process"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Statuses that mean a department signed (accepted) the agreement: step 04's "accepted (incl.
#: later cancelled)" (:data:`territoria.steps.s04_followup.ACCEPTED`).
SIGNED_STATUSES = s04_followup.ACCEPTED

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)

_T = common.Texts(MESSAGES)
SECTION = _T.section(STEP, (
    _T.view("scorecard", "bar", "view_scorecard", "view_scorecard_caption", percent=True),
    _T.view("reliability", "table", "view_reliability", "view_reliability_caption", columns=(
        ("label_{lang}", "col_stage"), ("alpha", "col_alpha"), ("ci_low", "col_low"),
        ("ci_high", "col_high"), ("k", "col_items"), ("n", "col_n"))),
    _T.view("repeated", "table", "view_change", "view_change_caption", columns=(
        ("label_{lang}", "col_item"), ("mean_pre", "col_pre"), ("mean_post", "col_post"),
        ("estimate", "col_change"), ("ci_low", "col_low"), ("ci_high", "col_high"),
        ("n", "col_n"))),
    _T.view("iap2", "table", "view_iap2", columns=(
        ("mechanism_{lang}", "col_mechanism"), ("level_{lang}", "col_level"),
        ("rationale_{lang}", "col_why"))),
    _T.view("city_comparison", "table", "view_city", columns=(
        ("label_{lang}", "col_stage"), ("territory_value", "col_territory"),
        ("city_value", "col_city"))),
), indicators=("impact_agree", "delib_agree", "design_agree", "agreements_signed"))


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------
def _numeric(q: pd.DataFrame) -> pd.DataFrame:
    """Likert columns as numbers; items nobody answered (not asked) are dropped."""
    q = q.copy()
    cols = [c for c in q.columns if str(c).startswith("pe_") and c != "pe_comments"]
    for c in cols:
        v = pd.to_numeric(q[c], errors="coerce")
        bad = v.isna() & q[c].notna() & (q[c].astype(str).str.strip() != "")
        if bad.any():
            raise DataError(f"Likert answer {q.loc[bad, c].iloc[0]!r} is not a number",
                            column=c, rule="Likert 1-5")
        q[c] = v
    empty = [c for c in cols if q[c].isna().all()]
    return q.drop(columns=empty)


def load_questionnaire(ctx, territory_id: str | None) -> pd.DataFrame:
    """The participant questionnaire of one territory (or of the city when None).

    Returns
    -------
    DataFrame
        ``participant_code`` (pseudonymised), ``territory``, ``moment`` (start/end), ``sex``,
        ``age_group``, and the numeric items ``pe_<stage>_<item>`` and ``pe_rep_<item>``
        that somebody answered. No free text.
    """
    q = ctx.table("process", territory_id)
    if q.empty:
        return q
    keep = [c for c in ("participant_code", "territory", "moment", "sex", "age_group",
                        "disability") if c in q.columns]
    keep += [c for c in q.columns if str(c).startswith("pe_") and c != "pe_comments"]
    return _numeric(q[keep])


def _label(stage: str, lang: str) -> str:
    return vocabulary.label("process_stage", stage, lang)


def indicator_label(stage: str, indicator: str, lang: str = "es") -> str:
    """Label of a scorecard indicator: an activity share, or a stage's mean or share agreeing.

    >>> indicator_label("delib", "delib_agree", "en")
    'Deliberative experience: Participants agreeing (4 or 5)'
    """
    if indicator in ("agreements_signed", "assemblies_with_agreement"):
        return tr(MESSAGES, indicator, lang)
    kind = "mean" if indicator.endswith("_mean") else "agree"
    return f"{_label(stage, lang)}: {tr(MESSAGES, kind, lang)}"


def _end(q: pd.DataFrame) -> pd.DataFrame:
    return q[q["moment"].astype(str) == "end"] if "moment" in q.columns else q


def _scales(q: pd.DataFrame):
    """The end questionnaire and, per OECD stage with at least two Likert items, the stage and
    its items (a scale of one item has no reliability)."""
    e = _end(q)
    scales = [(stage, pe.likert_items(e, stage)) for stage in pe.STAGES]
    return e, [(stage, items) for stage, items in scales if len(items) >= 2]


def reliability(q: pd.DataFrame) -> pd.DataFrame:
    """Cronbach's alpha (Feldt 95 % interval) of each OECD stage scale, end questionnaire.

    Returns
    -------
    DataFrame
        ``stage``, ``label_es``, ``label_en``, ``k`` (items), ``n`` (complete answers),
        ``alpha``, ``ci_low``, ``ci_high``, ``reliable`` (alpha >= 0.7).
    """
    e, scales = _scales(q)
    rows = []
    for stage, items in scales:
        r = pe.cronbach(e, items).iloc[0]
        rows.append({"stage": stage, "label_es": _label(stage, "es"),
                     "label_en": _label(stage, "en"), "k": int(r["k"]), "n": int(r["n"]),
                     "alpha": r["alpha"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "reliable": bool(r["alpha"] >= 0.7) if pd.notna(r["alpha"]) else False})
    return pd.DataFrame(rows)


def item_analysis(q: pd.DataFrame) -> pd.DataFrame:
    """Corrected item-total correlations and alpha if deleted, per stage (for staff: an
    item with a correlation below 0.3 measures something else).

    Returns
    -------
    DataFrame
        ``stage``, ``stage_es``, ``stage_en`` (its name), ``item``, ``label_es``,
        ``label_en`` (the question the form asks, :func:`territoria.vocabulary.question`) and
        the other columns of :func:`territoria.analysis.process_eval.item_total`.
    """
    e, scales = _scales(q)
    out = []
    for stage, items in scales:
        it = pe.item_total(e, items)
        it.insert(0, "stage", stage)
        for i, lg in enumerate(("es", "en")):
            it.insert(1 + i, f"stage_{lg}", _label(stage, lg))
            it.insert(it.columns.get_loc("item") + 1 + i, f"label_{lg}",
                      [vocabulary.question("process", str(x), lg) for x in it["item"]])
        out.append(it)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def stage_scores(q: pd.DataFrame, *, lang: str = "es") -> pd.DataFrame:
    """Stage scores of the end questionnaire (mean 1-5 and share agreeing, with intervals).

    Returns
    -------
    DataFrame
        As :func:`territoria.analysis.process_eval.process_indicators` (one territory), with
        the indicator's ``label`` in ``lang`` after ``indicator``.
    """
    out = pe.process_indicators(q, by=None, moment="end")
    out.insert(out.columns.get_loc("indicator") + 1, "label",
               [indicator_label(a, b, lang) for a, b in zip(out["stage"], out["indicator"],
                                                             strict=True)])
    return out


def repeated_items(q: pd.DataFrame, *, min_cell: int = 5) -> pd.DataFrame:
    """Start-versus-end change of the repeated items (same participants), suppressed below
    ``min_cell`` pairs; the last row, ``pe_rep_scale``, is each person's mean over the
    repeated items.

    Returns
    -------
    DataFrame
        ``dv``, ``label_es``, ``label_en``, ``n`` (pairs), ``mean_pre``, ``mean_post``,
        ``estimate`` (end - start), ``ci_low``, ``ci_high``, ``p_val``, ``dz``,
        ``dz_ci_low``, ``dz_ci_high``, ``wilcoxon_p``, ``suppressed``.
    """
    if not pe.likert_items(q, "rep") or q["moment"].nunique() < 2:
        return pd.DataFrame()
    items = pe.likert_items(q, "rep")
    qq = q.assign(pe_rep_scale=q[items].mean(axis=1)) if len(items) > 1 else q
    r = pe.repeated_change(qq).rename(columns={"diff": "estimate", "diff_ci_low": "ci_low",
                                               "diff_ci_high": "ci_high"})
    for i, lg in enumerate(("es", "en"), start=1):  # the questionnaire's own wording
        r.insert(i, f"label_{lg}", [tr(MESSAGES, v, lg) if v in MESSAGES
                                    else vocabulary.question("process", v, lg) for v in r["dv"]])
    vals = [c for c in r.columns if c not in ("dv", "label_es", "label_en", "n")]
    return suppress(r, "n", min_count=min_cell, value_cols=vals, secondary=False)


def activity(ctx, territory_id: str | None, *, as_of=None) -> pd.DataFrame:
    """Activity indicators of pathways to impact, per territory, on the cut-off date.

    Parameters
    ----------
    ctx : StepContext
    territory_id : str or None
        One territory, or every one (None).
    as_of : date-like, optional
        The cut-off date, by step 04's rule (:func:`territoria.steps.common.resolve_as_of`:
        this date, else ``city.yml: period_end``, else today), so both steps count the same
        agreements: meetings held after it, and follow-up updates dated after it, do not
        count.

    Returns
    -------
    DataFrame
        One row per territory: ``territory``, ``assemblies``, ``assemblies_with_agreement``,
        ``agreements`` (in the assembly forms), ``agreements_followed`` (with at least one
        update in the follow-up form), ``agreements_recorded`` (step 04's agreements made by
        the cut-off date) and ``agreements_signed`` (those of them a department accepted),
        ``as_of``.

    Notes
    -----
    "Signed" is step 04's count (:func:`territoria.steps.s04_followup.accepted_counts`): the
    same source (the agreements ledger, with its corrections and Decidim imports, when the
    store has it; else the forms), the same cut-off and the same rule: on the cut-off date the
    agreement is agreed, in progress, done, or cancelled after being accepted (step 04's
    "accepted (incl. later cancelled)"); rejected and still proposed ones are not signed. Its
    share is out of ``agreements_recorded``. A meeting without a date counts (as an undated
    agreement does in step 04). The share of *agenda items* with a signed agreement needs the
    agenda-agreement link, which the store does not keep yet.
    """
    when = resolve_as_of(ctx, as_of)
    day = when.date()
    params: list = [day]
    where = " WHERE (p.date IS NULL OR CAST(p.date AS DATE) <= ?)"
    if territory_id is not None:
        where += " AND p.territory = ?"
        params.append(territory_id)
    st = ctx.store
    cols = ["territory", "assemblies", "assemblies_with_agreement", "agreements",
            "agreements_followed", "agreements_recorded", "agreements_signed"]
    if not st.has_table("assembly"):
        return pd.DataFrame(columns=cols + ["as_of"])
    has_ag = st.has_table("assembly__agreements")
    has_fu = st.has_table("followup")
    ag_join = ("LEFT JOIN (SELECT _parent_uuid, count(*) AS n_ag FROM assembly__agreements "
               "GROUP BY 1) a ON a._parent_uuid = p._uuid") if has_ag else ""
    n_ag = "coalesce(a.n_ag, 0)" if has_ag else "0"
    asm = st.query(f"SELECT p.territory, count(*) AS assemblies, "
                   f"sum(CASE WHEN {n_ag} > 0 THEN 1 ELSE 0 END) AS assemblies_with_agreement, "
                   f"sum({n_ag}) AS agreements FROM assembly p {ag_join}{where} GROUP BY 1 ORDER BY 1",
                   params)
    if has_fu and has_ag:
        fu = st.query(
            "SELECT p.territory, count(DISTINCT f.agreement_code) AS agreements_followed "
            "FROM assembly__agreements c JOIN assembly p "
            "ON c._parent_uuid = p._uuid JOIN followup f ON f.agreement_code = c.agreement_code "
            "AND CAST(f.update_date AS DATE) <= ?"
            f"{where} GROUP BY 1 ORDER BY 1", [day, *params])
        asm = asm.merge(fu, on="territory", how="left")
    known = set(ctx.territories()["territory_id"].astype(str))
    ids = [str(t) for t in asm["territory"] if str(t) in known]
    signed = s04_followup.accepted_counts(ctx, ids, as_of=when)
    asm = asm.merge(signed, on="territory", how="left")
    for c in cols[1:]:
        if c not in asm.columns:
            asm[c] = 0
        asm[c] = asm[c].fillna(0).astype(int)
    out = asm[cols].copy()
    out["as_of"] = when
    return out


def activity_rows(act: pd.DataFrame) -> pd.DataFrame:
    """Activity counts as scorecard shares (stage ``impact``) for
    :func:`territoria.analysis.process_eval.process_scorecard` (labels:
    :func:`indicator_label`)."""
    rows = []
    for r in act.itertuples(index=False):
        recorded = getattr(r, "agreements_recorded", r.agreements)
        if recorded > 0:
            rows.append({"territory": r.territory, "stage": "impact",
                         "indicator": "agreements_signed",
                         "successes": r.agreements_signed, "trials": recorded})
        if r.assemblies > 0:
            rows.append({"territory": r.territory, "stage": "impact",
                         "indicator": "assemblies_with_agreement",
                         "successes": r.assemblies_with_agreement, "trials": r.assemblies})
    return pd.DataFrame(rows, columns=["territory", "stage", "indicator", "successes",
                                       "trials"])


def agreements_per_assembly(act: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Agreements per assembly with an exact Poisson (Garwood) interval on the count
    (as R ``poisson.test(10)$conf.int`` = 4.795389, 18.390356, divided by 5 assemblies).

    >>> r = agreements_per_assembly(pd.DataFrame({"agreements": [10], "assemblies": [5]}))
    >>> r["value"], round(r["ci_low"], 3), round(r["ci_high"], 3)
    (2.0, 0.959, 3.678)
    """
    k, n = float(act["agreements"].sum()), float(act["assemblies"].sum())
    if n <= 0:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    lo = stats.chi2.ppf(alpha / 2, 2 * k) / 2 if k > 0 else 0.0
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return {"value": k / n, "ci_low": float(lo / n), "ci_high": float(hi / n), "n": int(n)}


def iap2_table() -> pd.DataFrame:
    """Each mechanism on the IAP2 spectrum, in both languages.

    Returns
    -------
    DataFrame
        ``mechanism``, ``level``, ``level_rank``, and ``mechanism_es/en``, ``level_es/en``,
        ``rationale_es/en``.
    """
    t = pe.iap2_classification()
    for what, kind in (("mechanism", "mechanism"), ("level", "iap2_level")):
        t = t.assign(**vocabulary.label_columns(kind, t[what], prefix=what))
    return t.assign(**{f"rationale_{lg}": [tr(MESSAGES, f"why_{m}", lg) for m in t["mechanism"]]
                       for lg in ("es", "en")})


def _label_columns(frame: pd.DataFrame) -> dict:
    """``label_es``/``label_en`` of each row's (stage, indicator), to ``DataFrame.assign``."""
    return {f"label_{lg}": [indicator_label(a, b, lg) for a, b in
                            zip(frame["stage"], frame["indicator"], strict=True)]
            for lg in ("es", "en")}


def scorecard(q: pd.DataFrame, act: pd.DataFrame, *, min_cell: int = 5) -> pd.DataFrame:
    """The territory's process scorecard (questionnaire stages and activity shares), with
    ``label_es``/``label_en``, ``estimate``, ``ci_low``, ``ci_high``, ``n`` and small cells
    suppressed.

    Returns
    -------
    DataFrame
        ``stage``, ``indicator``, ``scale`` (``likert`` 1-5 or ``share``), ``label_es``,
        ``label_en``, ``estimate``, ``ci_low``, ``ci_high``, ``n``, ``norm`` (0-1),
        ``alpha_cronbach``, ``alpha_ci_low``, ``alpha_ci_high``, ``k_items``, ``suppressed``.
    """
    card = pe.process_scorecard(q, activity_rows(act), by="territory", min_n=min_cell)
    card = card.rename(columns={"value": "estimate"}).assign(**_label_columns(card))
    cols = ["stage", "indicator", "scale", "label_es", "label_en", "estimate", "ci_low",
            "ci_high", "n", "norm", "alpha_cronbach", "alpha_ci_low", "alpha_ci_high",
            "k_items"]
    card = card[[c for c in cols if c in card.columns]]
    vals = [c for c in ("estimate", "ci_low", "ci_high", "norm", "alpha_cronbach",
                        "alpha_ci_low", "alpha_ci_high") if c in card.columns]
    return suppress(card, "n", min_count=min_cell, value_cols=vals, secondary=False)


def reliability_from_scorecard(card: pd.DataFrame) -> pd.DataFrame:
    """The reliability table (as :func:`reliability`) from the alphas the scorecard already
    computed on the same answers (no second pass)."""
    m = card[card["indicator"].str.endswith("_mean") & (card["k_items"] >= 2)]
    return pd.DataFrame({
        "stage": m["stage"].to_numpy(),
        "label_es": [_label(s, "es") for s in m["stage"]],
        "label_en": [_label(s, "en") for s in m["stage"]],
        "k": m["k_items"].astype(int).to_numpy(), "n": m["n"].to_numpy(),
        "alpha": m["alpha_cronbach"].to_numpy(), "ci_low": m["alpha_ci_low"].to_numpy(),
        "ci_high": m["alpha_ci_high"].to_numpy(),
        "reliable": (m["alpha_cronbach"] >= 0.7).to_numpy()})


def scorecard_plot(card: pd.DataFrame, *, lang: str = "es", backend: str = "svg"):
    """Bars of the shares in the scorecard with their intervals: ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    lang = check_language(lang)
    shares = card[card["scale"] == "share"].copy()
    return plots.bar_ci(shares, label=f"label_{lang}", value="estimate", lang=lang,
                        title=tr(MESSAGES, "plot_title", lang),
                        subject=tr(MESSAGES, "plot_subject", lang), percent=True,
                        backend=backend)


# ----------------------------------------------------------------------------------------
# city comparison
# ----------------------------------------------------------------------------------------
def city_comparison_table(ctx, *, lang: str = "es", activity_data: bool = True,
                          questionnaire: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where is the process weakest across the city? (Step 07 calls this.)

    Scorecards of every territory from the whole questionnaire (and, with
    ``activity_data``, the activity shares), compared with
    :func:`territoria.analysis.process_eval.city_comparison`. Territories with fewer than
    ``min_cell_size`` answers are left out of the comparison.

    Returns
    -------
    DataFrame
        One row per indicator from weakest to strongest: ``stage``, ``indicator``,
        ``label_es``, ``label_en``, ``n_territories``, ``mean_norm``, ``ci_low``,
        ``ci_high`` (0-1 scale), ``min_norm``, ``weakest_territory``, ``n_weak``,
        ``stage_mean_norm``, ``weakest_stage``.
    """
    check_language(lang)
    q = questionnaire if questionnaire is not None else load_questionnaire(ctx, None)
    if q.empty:
        raise DataError("the participant questionnaire (process) is empty",
                        rule="process answers needed for the city comparison")
    act = activity_rows(activity(ctx, None)) if activity_data else None
    card = pe.process_scorecard(q, act, by="territory", min_n=ctx.min_cell)
    comp = pe.city_comparison(card)
    at = comp.columns.get_loc("indicator") + 1
    for i, (col, labels) in enumerate(_label_columns(comp).items()):
        comp.insert(at + i, col, labels)
    return comp


def _city_view(comp: pd.DataFrame, card: pd.DataFrame) -> pd.DataFrame:
    t = card.set_index("indicator")["norm"]
    out = comp[["stage", "indicator", "label_es", "label_en", "mean_norm",
                "weakest_stage"]].rename(columns={"mean_norm": "city_value"})
    out["territory_value"] = out["indicator"].map(t)
    return out


# ----------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------
def compute(ctx, territory_id: str | None, *, lang: str = "es", city: pd.DataFrame | None = None,
            questionnaire: pd.DataFrame | None = None, act: pd.DataFrame | None = None,
            card: pd.DataFrame | None = None, repeated: pd.DataFrame | None = None,
            as_of=None) -> StepResult:
    """Everything step 05 records for one territory.

    Parameters
    ----------
    ctx : StepContext
    territory_id : str
        A territory id (this step runs per territory).
    lang : {"es", "en"}
    city : DataFrame, optional
        :func:`city_comparison_table`, to record this territory beside the city (optional:
        computing it reads the whole questionnaire).
    questionnaire, act, card, repeated : DataFrame, optional
        What the notebook already computed for this territory (:func:`load_questionnaire`,
        :func:`activity`, :func:`scorecard`, :func:`repeated_items`), so it is not computed
        twice; each one not given is computed here.
    as_of : date-like, optional
        Cut-off date of the agreements (:func:`activity`; default: step 04's rule).
    """
    check_language(lang)
    if territory_id is None:
        raise DataError(tr(MESSAGES, "no_territory", lang), column="territory",
                        rule="territory step")
    ctx.require_territory(territory_id)
    res = StepResult(STEP, territory_id)
    q = load_questionnaire(ctx, territory_id) if questionnaire is None else questionnaire
    act = activity(ctx, territory_id, as_of=as_of) if act is None else act
    if card is not None:
        pass
    elif not q.empty:
        card = scorecard(q, act, min_cell=ctx.min_cell)
    else:
        card = scorecard(pd.DataFrame({"territory": [territory_id]}), act,
                         min_cell=ctx.min_cell) if len(act) else pd.DataFrame()
    for r in card.to_dict("records"):
        sup = bool(r["suppressed"])
        res.indicator(r["indicator"], None if sup else r["estimate"],
                      ci_low=None if sup else r["ci_low"], ci_high=None if sup else r["ci_high"],
                      n=None if pd.isna(r["n"]) else int(r["n"]), suppressed=sup,
                      unit="share" if r["scale"] == "share" else "likert_1_5")
    rel = reliability_from_scorecard(card) if not card.empty else pd.DataFrame()
    for r in rel.to_dict("records"):
        sup = not r["n"] >= ctx.min_cell
        res.indicator(f"{r['stage']}_alpha", None if sup else r["alpha"],
                      ci_low=None if sup else r["ci_low"], ci_high=None if sup else r["ci_high"],
                      n=None if pd.isna(r["n"]) else int(r["n"]), suppressed=sup,
                      unit="alpha")
    if repeated is not None:
        rep = repeated
    else:
        rep = repeated_items(q, min_cell=ctx.min_cell) if not q.empty else pd.DataFrame()
    if not rep.empty:
        sc = rep.set_index("dv")
        if "pe_rep_scale" in sc.index:
            r = sc.loc["pe_rep_scale"]
            sup = bool(r["suppressed"])
            res.indicator("repeated_change", None if sup else r["estimate"],
                          ci_low=None if sup else r["ci_low"],
                          ci_high=None if sup else r["ci_high"],
                          n=None if sup else int(r["n"]), suppressed=sup, unit="likert_1_5")
    apa = agreements_per_assembly(act)
    if apa["n"] > 0:
        res.indicator("agreements_per_assembly", apa["value"], ci_low=apa["ci_low"],
                      ci_high=apa["ci_high"], n=apa["n"], unit="per_assembly")
    if not card.empty:
        pub = card.drop(columns=["alpha_ci_low", "alpha_ci_high", "k_items"], errors="ignore")
        res.table("scorecard", pub[pub["scale"] == "share"].reset_index(drop=True))
        res.table("scorecard_means", pub[pub["scale"] == "likert"].reset_index(drop=True))
    if not rel.empty:
        res.table("reliability", rel)
    if not rep.empty:
        res.table("repeated", rep[["dv", "label_es", "label_en", "n", "mean_pre", "mean_post",
                                   "estimate", "ci_low", "ci_high", "dz", "dz_ci_low",
                                   "dz_ci_high", "suppressed"]])
    res.table("iap2", iap2_table())
    if city is not None and not card.empty:
        res.table("city_comparison", _city_view(city, card))
    return res


__all__ = ["STEP", "SCOPE", "SECTION", "load_questionnaire", "reliability", "item_analysis",
           "stage_scores", "repeated_items", "activity", "activity_rows", "reliability_from_scorecard",
           "agreements_per_assembly", "iap2_table", "indicator_label", "scorecard",
           "scorecard_plot",
           "city_comparison_table", "compute"]
