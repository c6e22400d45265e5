"""Step 03, agenda and consensus: what does the territory agree on, and where is it divided?

The notebook ``notebooks/03_agenda.ipynb`` calls these functions section by section:

1. :func:`analyse` loads the territory's proposals, individual votes (``votes`` +
   ``votes__votes``), assembly hand counts (``tallies`` + ``tallies__tally``) and the
   diagnostic's top-3 problem ranking, and runs
   :func:`territoria.analysis.consensus.territory_consensus` (opinion groups in ``kit`` mode,
   group-informed consensus with the Jeffreys prior, disagreement consensus, divisive flags,
   hand-count consensus, trajectory across rounds, agenda), plus consensus over sex and age
   groups;
2. :func:`axes_table` proposals by thematic axis next to the diagnostic's Borda ranking of
   problems;
3. :func:`ranking_rules` ranks by several rules (consensus, approval share, hand counts) and
   :func:`rule_pairs` says whether the top 10 changes with the rule;
4. :func:`opinion_groups_table`, :func:`consensus_by_grouping`, :func:`divisive_table`;
5. :func:`trajectory_table` consensus across rounds (assembly, collective, validation);
6. :func:`agenda_table` the Local Development Agenda, :func:`write_agenda_csv`;
7. :func:`compute` records indicators and published tables (a :class:`StepResult`).

Borda needs ranking ballots. The kit's proposal instruments collect approval votes and hand
counts, not rankings of proposals; the rankings that exist are the diagnostic's top-3
problems (``problem_1..3``), so the modified Borda count is applied to thematic axes there.

Published tables count people only in ``n_*`` columns and are suppressed below
``city.yml: min_cell_size``; they carry no participant codes and no free text.

Examples
--------
>>> SECTION.step, SCOPE
('03_agenda', 'territory')
>>> [v.key for v in SECTION.views][:2]
['agenda', 'agenda_consensus']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from territoria import figures as plots
from territoria import vocabulary
from territoria.analysis import agenda as _agenda
from territoria.analysis.consensus import (
    ROUND_ORDER,
    consensus_trajectory,
    group_consensus,
    jeffreys_interval,
    tally_counts,
    territory_consensus,
    vote_counts,
)
from territoria.analysis.prioritisation import (
    approval_ranking,
    borda_ranking,
    rank_sensitivity,
    tally_ranking,
)
from territoria.analysis.suppression import suppress
from territoria.config import CityConfig
from territoria.exceptions import DataError
from territoria.i18n import catalogue, check_language, tr
from territoria.steps import StepResult, common
from territoria.steps.common import memoized
from territoria.steps.registry import step_by_id

STEP = "03_agenda"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry
TOP = 10
SEED = 0
LANGS = ("es", "en")

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)


def _t(key: str, lang: str, **kw) -> str:
    return tr(MESSAGES, key, lang, **kw)


_T = common.Texts(MESSAGES)


def agreed_min_gic(config=None) -> float:
    """The consensus threshold of an agreed priority: ``city.yml:
    agenda.agreed_min_consensus`` (default :data:`territoria.analysis.agenda.AGREED_MIN_GIC`).

    >>> agreed_min_gic()
    0.5
    """
    settings = getattr(config, "agenda", None)
    return float(settings.agreed_min_consensus) if settings is not None \
        else _agenda.AGREED_MIN_GIC


_DEFAULT_MIN_CELL = CityConfig.model_fields["min_cell_size"].default


def _number(x: float) -> str:
    """A threshold as written in a caption: 0.5, 0.55 (no trailing zeros)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else f"{x:.1f}"


def section(config=None):
    """The step's :class:`~territoria.steps.Section` for a city: the agenda's caption states
    the city's consensus threshold (``city.yml: agenda.agreed_min_consensus``) and its
    ``min_cell_size``, read when called (the site calls it with the workspace's
    configuration; :data:`SECTION` holds the defaults)."""
    min_cell = getattr(config, "min_cell_size", None) or _DEFAULT_MIN_CELL
    return _T.section(STEP, (
        _T.view("agenda", "table", "v_agenda",
                _T("c_agenda", min_gic=_number(agreed_min_gic(config)), min_cell=min_cell),
                columns=(
                    ("rank", "col_rank"), ("label_{lang}", "col_proposal"),
                    ("axis_{lang}", "col_axis"), ("estimate", "col_consensus"),
                    ("ci_low", "col_low"), ("ci_high", "col_high"), ("n_votes", "col_votes"),
                    ("department_{lang}", "col_department"), ("horizon_{lang}", "col_horizon"),
                    ("status_{lang}", "col_status"))),
        _T.view("agenda_consensus", "bar", "v_agenda_bar", "c_agenda_bar"),
        _T.view("divisive", "table", "v_divisive", "c_divisive", columns=(
            ("label_{lang}", "col_proposal"), ("group_{lang}", "col_group"),
            ("estimate", "col_agree"), ("ci_low", "col_low"), ("ci_high", "col_high"),
            ("n", "col_votes")), percent=True),
        _T.view("opinion_groups", "table", "v_groups", "c_groups", columns=(
            ("group_{lang}", "col_group"), ("n", "col_people"), ("repr_{lang}", "col_rep"))),
        _T.view("by_grouping", "table", "v_by_grouping", "c_by_grouping", columns=(
            ("label_{lang}", "col_proposal"), ("gic_opinion", "col_gic_opinion"),
            ("gic_sex", "col_gic_sex"), ("gic_age_group", "col_gic_age"),
            ("gic_tally", "col_gic_tally"), ("divisive_{lang}", "col_divisive"))),
        _T.view("ranking_rules", "table", "v_rules", "c_rules", columns=(
            ("label_{lang}", "col_proposal"), ("rank_consensus", "col_rank_consensus"),
            ("rank_approval", "col_rank_approval"), ("rank_tally", "col_rank_tally"),
            ("in_all_{lang}", "col_in_all"))),
        _T.view("rule_pairs", "table", "v_pairs", columns=(
            ("label_{lang}", "col_pair"), ("top_overlap", "col_overlap"),
            ("kendall_tau", "col_tau"))),
        _T.view("axes", "table", "v_axes", "c_axes", columns=(
            ("label_{lang}", "col_axis"), ("n_proposals", "col_n_proposals"),
            ("n_top", "col_in_top"), ("mean_gic", "col_mean_gic"),
            ("borda_rank", "col_borda_rank"), ("n_ballots", "col_ballots"))),
        _T.view("trajectory", "lines", "v_trajectory", "c_trajectory", x="x", y="y",
                group="group_{lang}"),
    ), indicators=("agenda_top_consensus", "agenda_share_divisive", "agenda_top10_stable",
                   "agenda_consensus_change", "agenda_opinion_groups", "agenda_voters"))


#: The section with the default settings (the site uses :func:`section` with the city's).
SECTION = section()


# ------------------------------------------------------------------------------ loading
@dataclass
class AgendaAnalysis:
    """Everything step 03 computed for one territory (inputs and results)."""

    territory_id: str
    votes: pd.DataFrame
    proposals: pd.DataFrame
    tallies: pd.DataFrame
    problems: pd.DataFrame
    results: dict = field(default_factory=dict)
    min_cell: int = 5
    axis_labels: dict = field(default_factory=dict)
    city: object = None  # the CityConfig: axis -> department, labels of departments and axes
    min_gic: float = _agenda.AGREED_MIN_GIC  # city.yml: agenda.agreed_min_consensus


def _ts(v):
    return None if v is None or (isinstance(v, str) and not v.strip()) else pd.Timestamp(v)


def _in_period(df: pd.DataFrame, column: str, lo, hi, *, whole_day: bool) -> pd.DataFrame:
    """Rows of ``df`` whose ``column`` is from ``lo`` to ``hi`` (either may be None: open),
    without the form's own ``_`` columns; ``whole_day``: every time of ``hi``'s day counts."""
    when = pd.to_datetime(df[column])
    keep = pd.Series(True, index=df.index)
    if lo is not None:
        keep &= when >= lo
    if hi is not None:
        keep &= when < hi + pd.Timedelta(days=1) if whole_day else when <= hi
    return df.loc[keep, [c for c in df.columns if not c.startswith("_")]]


def load(ctx, territory_id: str, *, period_start=None, period_end=None) -> dict:
    """Load the territory's proposals, votes, tallies and diagnostic top-3 rankings.

    Parameters
    ----------
    ctx : territoria.steps.common.StepContext
    territory_id : str
    period_start, period_end : date-like, optional
        Keep votes submitted and tallies held in this period (default: everything).

    Returns
    -------
    dict of DataFrame
        ``votes`` (``participant_code, proposal_code, vote, round, sex, age_group, block``),
        ``proposals`` (``proposal_code, axis, title, round``), ``tallies``
        (``assembly_code, round, date, proposal_code, n_agree, n_disagree, n_pass``),
        ``problems`` (``respondent, axis, rank``: the diagnostic's top-3 ranking).
    """
    if territory_id is None:
        raise DataError(_t("no_territory", "en") + " (step 03 runs once per territory)")
    ctx.require_territory(territory_id)
    votes = ctx.repeat("votes", "votes", territory_id,
                       parent_cols=("participant_code", "territory", "round", "sex",
                                    "age_group", "block", "_submission_time"))
    tallies = ctx.repeat("tallies", "tally", territory_id,
                         parent_cols=("assembly_code", "territory", "round", "date"))
    props = ctx.table("proposals", territory_id)
    if not props.empty:
        props = props[[c for c in ("proposal_code", "territory", "axis", "title", "round")
                       if c in props.columns]]
    lo, hi = _ts(period_start), _ts(period_end)
    if not votes.empty:  # submission times: the last day counts whole
        votes = _in_period(votes, "_submission_time", lo, hi, whole_day=True)
    if not tallies.empty:
        tallies = _in_period(tallies, "date", lo, hi, whole_day=False)
    diag = ctx.store.query(
        'SELECT _uuid AS respondent, problem_1, problem_2, problem_3 FROM diagnostic '
        'WHERE territory = ?', [territory_id]) if ctx.store.has_table("diagnostic") else \
        pd.DataFrame(columns=["respondent", "problem_1", "problem_2", "problem_3"])
    long = diag.melt(id_vars="respondent", value_vars=["problem_1", "problem_2", "problem_3"],
                     var_name="rank", value_name="axis").dropna(subset=["axis"])
    long["rank"] = long["rank"].str[-1].astype(int)
    # a ballot's ranks must be 1..m: renumber when a respondent skipped a position
    long = long.drop_duplicates(["respondent", "axis"]).sort_values(["respondent", "rank"])
    long["rank"] = long.groupby("respondent").cumcount() + 1
    return {"votes": votes.reset_index(drop=True), "proposals": props.reset_index(drop=True),
            "tallies": tallies.reset_index(drop=True),
            "problems": long.reset_index(drop=True)}


def analyse(ctx, territory_id: str, *, period_start=None, period_end=None,
            seed: int = SEED) -> AgendaAnalysis:
    """Load and analyse one territory (opinion groups, consensus, trajectory, agenda).

    Returns
    -------
    AgendaAnalysis
        ``results`` holds the output of
        :func:`territoria.analysis.consensus.territory_consensus` (``statements``,
        ``groups``, ``group_votes``, ``repness``, ``tallies``, ``trajectory``, ``agenda``)
        plus ``by_sex`` and ``by_age_group`` (consensus over known groups; a group with
        fewer than ``min_cell`` votes on a proposal is left out of that proposal's score).

    Raises
    ------
    DataError
        When the territory has no proposals or no votes.
    """
    d = load(ctx, territory_id, period_start=period_start, period_end=period_end)
    if d["proposals"].empty:
        raise DataError(f"territory '{territory_id}' has no proposals in the store",
                        file="proposals", column="territory", rule="step 03 needs proposals")
    if d["votes"].empty:
        raise DataError(f"territory '{territory_id}' has no votes in the store",
                        file="votes", column="territory", rule="step 03 needs votes")
    tallies = d["tallies"] if not d["tallies"].empty else None
    with threadpool_limits(1):  # small k-means: threads only add overhead on shared cores
        # the trajectory is computed below from hand counts only (same method every round)
        res = territory_consensus(
            d["votes"], d["proposals"],
            None if tallies is None else tallies.drop(columns=["round"], errors="ignore"),
            mode="kit", seed=seed, level=0.9, min_gic=agreed_min_gic(ctx.config),
            min_votes=ctx.min_cell)
    if tallies is not None and "round" in tallies.columns and tallies["round"].nunique() > 1:
        parts = []
        for rnd, sub in tallies.groupby(tallies["round"].astype(str)):
            c = tally_counts(sub, group="assembly_code" if "assembly_code" in sub else None)
            c["round"] = rnd
            parts.append(c)
        res["trajectory"] = consensus_trajectory(pd.concat(parts, ignore_index=True),
                                                 seed=seed, level=0.9, n_draws=1000)
    # known groups: only the round the main consensus used (the last round with votes)
    v = d["votes"]
    present = [r for r in ROUND_ORDER if r in set(v["round"].astype(str))]
    main = v[v["round"].astype(str) == present[-1]] if present else v
    codes = d["proposals"]["proposal_code"].astype(str).unique()
    for col in ("sex", "age_group"):
        if col in main.columns and main[col].notna().any():
            c = vote_counts(main.dropna(subset=[col]), group=col, proposals=codes)
            res[f"by_{col}"] = group_consensus(c, seed=seed, min_seen=ctx.min_cell)
    labels = {a.id: {lg: a.label.get(lg) or a.id for lg in LANGS} for a in ctx.config.axes}
    return AgendaAnalysis(territory_id, d["votes"], d["proposals"], d["tallies"], d["problems"],
                          res, ctx.min_cell, labels, getattr(ctx, "config", None),
                          agreed_min_gic(ctx.config))


# ------------------------------------------------------------------------------ labels
def _axis(a: AgendaAnalysis, axis, lang: str) -> str:
    if axis in a.axis_labels:
        return a.axis_labels[axis][lang]
    return vocabulary.label("axis", axis, lang, a.city)


def _titles(a: AgendaAnalysis) -> dict:
    p = a.proposals.drop_duplicates("proposal_code", keep="last")
    t = p["title"] if "title" in p.columns else p["proposal_code"]
    t = t.where(t.notna() & (t.astype(str).str.strip() != ""), p["proposal_code"]).astype(str)
    dup = t.duplicated(keep=False)  # two cards with the same title: show which is which
    t = t.where(~dup, t + " (" + p["proposal_code"].astype(str) + ")")
    return dict(zip(p["proposal_code"].astype(str), t, strict=True))


def _add_labels(df: pd.DataFrame, a: AgendaAnalysis, col: str = "proposal") -> pd.DataFrame:
    titles = _titles(a)
    for lg in LANGS:  # proposals are written by residents: one text, shown in every language
        df[f"label_{lg}"] = df[col].astype(str).map(titles).fillna(df[col].astype(str))
    return df


def _group_name(g, lang: str) -> str:
    return _t("group_n", lang, n=chr(ord("A") + int(g))) if str(g).isdigit() else str(g)


# ------------------------------------------------------------------------------ sections
@memoized
def agenda_frame(a: AgendaAnalysis) -> pd.DataFrame:
    """The agenda of :func:`territoria.analysis.agenda.build_agenda` (machine codes); a
    proposal without a department gets the one its axis names in ``city.yml``."""
    ag = a.results["agenda"].copy()
    owners = a.city.axis_department() if a.city is not None else {}
    if owners and "department" in ag.columns:
        dep = ag["department"]
        ag["department"] = dep.where(dep.notna() & (dep.astype(str) != ""),
                                     ag["axis"].map(owners))
    return ag


@memoized
def agenda_table(a: AgendaAnalysis) -> pd.DataFrame:
    """The Local Development Agenda as published (suppressed, labelled in es and en).

    Returns
    -------
    DataFrame
        ``rank, proposal, label_es, label_en, axis, axis_es, axis_en, estimate`` (GIC),
        ``ci_low, ci_high`` (90 % posterior interval), ``n_votes``, ``divisive``,
        ``department, department_es, department_en, horizon, horizon_es, horizon_en,
        status, status_es, status_en, suppressed``. A proposal with fewer than
        ``min_cell`` votes shows no score, goes last and its status says there are not
        enough votes to judge it (``few_votes``:
        :func:`territoria.analysis.agenda.build_agenda`).
    """
    ag = agenda_frame(a).rename(columns={"gic": "estimate", "gic_low": "ci_low",
                                         "gic_high": "ci_high"})
    ag["n_votes"] = pd.to_numeric(ag["n_votes"], errors="coerce").fillna(0)
    ag = suppress(ag, "n_votes", min_count=a.min_cell,
                  value_cols=["estimate", "ci_low", "ci_high"], secondary=False)
    ag = _add_labels(ag, a)
    m = MESSAGES
    for lg in LANGS:
        ag[f"axis_{lg}"] = [_axis(a, x, lg) for x in ag["axis"]]
        ag[f"department_{lg}"] = [vocabulary.label("department", d, lg, a.city)
                                  or tr(m, "undefined", lg) for d in ag["department"]]
        ag[f"horizon_{lg}"] = [tr(m, h if h in _agenda.HORIZONS else "undefined", lg)
                               for h in ag["horizon"]]
        ag[f"status_{lg}"] = [tr(m, s, lg) for s in ag["status"]]
    cols = ["rank", "proposal", "label_es", "label_en", "axis", "axis_es", "axis_en",
            "estimate", "ci_low", "ci_high", "n_votes", "divisive", "department",
            "department_es", "department_en", "horizon", "horizon_es", "horizon_en", "status",
            "status_es", "status_en", "suppressed"]
    return ag[cols].reset_index(drop=True)


@memoized
def agenda_consensus(a: AgendaAnalysis, top: int = TOP) -> pd.DataFrame:
    """The first ``top`` agenda items for a bar chart (``label_*, estimate, ci_low, ci_high``)."""
    t = agenda_table(a)
    t = t[~t["suppressed"] & t["estimate"].notna()].head(top)
    return t[["rank", "proposal", "label_es", "label_en", "estimate", "ci_low", "ci_high",
              "n_votes", "divisive", "suppressed"]].reset_index(drop=True)


def agenda_figure(a: AgendaAnalysis, lang: str = "es", top: int = TOP, backend: str = "svg"):
    """Bars of the top agenda items' consensus with 90 % intervals: ``(figure, alt_text)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    check_language(lang)
    t = agenda_consensus(a, top)
    t["name"] = [f"{r}. {s[:38]}" for r, s in zip(t["rank"], t[f"label_{lang}"], strict=True)]
    return plots.bar_ci(t, label="name", lang=lang, percent=False, level=90,
                        title=_t("v_agenda_bar", lang), xlabel=_t("col_consensus", lang),
                        backend=backend)


def write_agenda_csv(ctx, territory_id: str, a: AgendaAnalysis) -> Path:
    """Write ``output/03_agenda/<territory>.agenda.csv`` (machine codes, for departments)."""
    name = str(territory_id).replace("/", "_")
    ag = agenda_frame(a)
    small = pd.to_numeric(ag["n_votes"], errors="coerce").fillna(0) < a.min_cell
    ag.loc[small, ["gic", "gic_low", "gic_high"]] = np.nan
    return _agenda.agenda_to_csv(ag, Path(ctx.output_dir) / STEP / f"{name}.agenda.csv")


@memoized
def axes_table(a: AgendaAnalysis, top: int = TOP) -> pd.DataFrame:
    """Proposals by thematic axis, with the diagnostic's Borda ranking of the same axes.

    Returns
    -------
    DataFrame
        ``axis, label_es, label_en, n_proposals, n_top`` (in the agenda's top ``top``, with a
        published score), ``mean_gic`` (over the proposals with a published score), ``borda_score`` (mean modified-Borda points per diagnostic ballot),
        ``borda_rank``, ``n_ballots`` (people ranking the axis among their top 3;
        suppressed below ``min_cell`` together with the Borda columns), ``suppressed``.
    """
    ag = agenda_frame(a)
    ag = ag.assign(_top=(ag["rank"] <= top) & ag["gic"].notna())  # only judged items
    g = ag.groupby("axis").agg(n_proposals=("proposal", "size"), n_top=("_top", "sum"),
                               mean_gic=("gic", "mean")).reset_index()
    if len(a.problems):
        b = borda_ranking(a.problems, voter="respondent", proposal="axis", rank="rank")
        b = b.rename(columns={"proposal": "axis", "score": "borda_score", "rank": "borda_rank"})
        g = g.merge(b[["axis", "borda_score", "borda_rank", "n_ballots"]], on="axis",
                    how="outer")
    else:
        g["borda_score"], g["borda_rank"], g["n_ballots"] = np.nan, np.nan, 0
    g["n_proposals"] = g["n_proposals"].fillna(0).astype(int)
    g["n_top"] = g["n_top"].fillna(0).astype(int)
    g["n_ballots"] = g["n_ballots"].fillna(0)
    g = suppress(g, "n_ballots", min_count=a.min_cell, value_cols=["borda_score", "borda_rank"],
                 secondary=False)
    for lg in LANGS:
        g[f"label_{lg}"] = [_axis(a, x, lg) for x in g["axis"]]
    g = g.sort_values(["n_top", "mean_gic", "axis"], ascending=[False, False, True],
                      na_position="last")
    return g[["axis", "label_es", "label_en", "n_proposals", "n_top", "mean_gic",
              "borda_score", "borda_rank", "n_ballots", "suppressed"]].reset_index(drop=True)


@memoized
def rankings(a: AgendaAnalysis) -> dict:
    """Rankings of the proposals by each rule: ``consensus`` (GIC), ``approval`` (share of
    agree votes) and ``tally`` (hand-count agree share), each ``proposal, rank, ...``; only
    the proposals at least ``min_cell`` people voted on (by that rule's count) are ranked."""
    st = a.results["statements"]
    cons = st.sort_values(["gic", "gic_low", "proposal"], ascending=[False, False, True],
                          na_position="last")
    out = {"consensus": cons[["proposal", "gic", "n_votes"]]}
    out["approval"] = approval_ranking(a.votes)
    if len(a.tallies):
        out["tally"] = tally_ranking(a.tallies)
    return {rule: _judged(r, a.min_cell) for rule, r in out.items()}


def _judged(ranking: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """A ranking of the proposals at least ``min_cell`` people voted on, ranked 1..k in its
    order: the place of one with fewer votes would tell its withheld score."""
    r = ranking[pd.to_numeric(ranking["n_votes"], errors="coerce").fillna(0) >= min_cell]
    r = r.sort_values("rank") if "rank" in r.columns else r
    return r.assign(rank=np.arange(1, len(r) + 1)).reset_index(drop=True)


@memoized
def ranking_rules(a: AgendaAnalysis, top: int = TOP) -> pd.DataFrame:
    """Sensitivity table: the rank of each proposal under each rule.

    Returns
    -------
    DataFrame
        ``proposal, label_es, label_en, rank_consensus, rank_approval, rank_tally, n_top``
        (rules that put it in the top ``top``), ``in_all`` and ``in_all_es/en``.
    """
    tab, _ = rank_sensitivity(rankings(a), top=top)
    for r in ("consensus", "approval", "tally"):
        if f"rank_{r}" not in tab.columns:
            tab[f"rank_{r}"] = np.nan
    tab = _add_labels(tab, a)
    for lg in LANGS:
        tab[f"in_all_{lg}"] = np.where(tab["in_all"], _t("yes", lg), _t("no", lg))
    return tab[["proposal", "label_es", "label_en", "rank_consensus", "rank_approval",
                "rank_tally", "n_top", "in_all", "in_all_es", "in_all_en"]]


@memoized
def rule_pairs(a: AgendaAnalysis, top: int = TOP) -> pd.DataFrame:
    """Pairs of rules: proposals in both top lists, Jaccard index, Kendall's tau."""
    _, pairs = rank_sensitivity(rankings(a), top=top)
    for lg in LANGS:
        pairs[f"label_{lg}"] = [_t("vs", lg, a=_t(f"rule_{x}", lg), b=_t(f"rule_{y}", lg))
                                for x, y in zip(pairs["rule_a"], pairs["rule_b"], strict=True)]
    return pairs


@memoized
def top_stability(a: AgendaAnalysis, top: int = TOP) -> dict:
    """Share of the consensus top ``top`` that every rule also puts in its top ``top``."""
    tab, _ = rank_sensitivity(rankings(a), top=top)
    top_c = tab[tab["top_consensus"]]
    n = len(top_c)
    k = int(top_c["in_all"].sum())
    return {"value": k / n if n else np.nan, "k": k, "n": n}


@memoized
def opinion_groups_table(a: AgendaAnalysis, n_repr: int = 2) -> pd.DataFrame:
    """Opinion groups: size and the proposals that most set each group apart.

    Returns
    -------
    DataFrame
        ``group, group_es, group_en, n`` (participants; suppressed below ``min_cell`` with
        complementary suppression), ``repr_es, repr_en`` (up to ``n_repr`` representative
        proposals, "for"/"against"), ``suppressed``.
    """
    g = a.results["groups"].dropna(subset=["group"])
    sizes = g.groupby("group").size().rename("n").reset_index()
    reps = a.results["repness"]
    titles = _titles(a)
    for lg in LANGS:
        sizes[f"group_{lg}"] = [_group_name(x, lg) for x in sizes["group"]]
        txt = {}
        for grp, sub in reps.groupby("group"):
            items = [f"{titles.get(str(p), p)} ({_t('agree_word' if d == 'agree' else 'disagree_word', lg)})"
                     for p, d in zip(sub["proposal"].head(n_repr), sub["direction"].head(n_repr),
                                     strict=True)]
            txt[int(grp)] = "; ".join(items)
        sizes[f"repr_{lg}"] = [txt.get(int(x), "") for x in sizes["group"]]
    sizes = suppress(sizes, "n", min_count=a.min_cell, value_cols=[])
    for lg in LANGS:  # a suppressed group does not show what sets it apart either
        sizes.loc[sizes["suppressed"], f"repr_{lg}"] = ""
    sizes["group"] = sizes["group"].astype(int)
    return sizes[["group", "group_es", "group_en", "n", "repr_es", "repr_en", "suppressed"]]


@memoized
def consensus_by_grouping(a: AgendaAnalysis) -> pd.DataFrame:
    """Consensus of each proposal when people are grouped by opinion, sex, age group, or by
    assembly (hand counts), with the divisive flag of the opinion groups.

    Returns
    -------
    DataFrame
        ``proposal, label_es, label_en, gic_opinion, gic_opinion_low, gic_opinion_high,
        gic_sex, gic_age_group, gic_tally, divisive`` (opinion groups), ``divisive_sex``,
        ``divisive_age_group``, ``divisive_es/en``, ``gdc`` (shared rejection), sorted by
        ``gic_opinion``. A proposal with fewer than ``min_cell`` votes has its scores blanked
        and ``divisive_es/en`` "—" (not judged).
    """
    r = a.results
    st = r["statements"]
    out = st[["proposal", "n_votes", "gic", "gic_low", "gic_high", "gdc", "divisive"]].rename(
        columns={"gic": "gic_opinion", "gic_low": "gic_opinion_low",
                 "gic_high": "gic_opinion_high"})
    for key, col in (("by_sex", "sex"), ("by_age_group", "age_group"), ("tallies", "tally")):
        if key in r:
            part = r[key][["proposal", "gic", "divisive"]].rename(
                columns={"gic": f"gic_{col}", "divisive": f"divisive_{col}"})
            out = out.merge(part, on="proposal", how="left")
        else:
            out[f"gic_{col}"], out[f"divisive_{col}"] = np.nan, False
    small = out["n_votes"] < a.min_cell
    num = [c for c in out.columns if c.startswith(("gic", "gdc"))]
    out.loc[small, num] = np.nan
    out = _add_labels(out, a)
    for lg in LANGS:  # a proposal too few voted on is not judged divisive or not
        out[f"divisive_{lg}"] = np.where(small, "—", np.where(out["divisive"], _t("yes", lg),
                                                             _t("no", lg)))
    out = out.drop(columns=["divisive_tally"]).sort_values("gic_opinion", ascending=False,
                                                           na_position="last")
    return out.reset_index(drop=True)


@memoized
def divisive_table(a: AgendaAnalysis) -> pd.DataFrame:
    """Divisive proposals (flagged for a mediation round) with each opinion group's agree
    share (Jeffreys 90 % interval).

    Returns
    -------
    DataFrame
        Long: ``proposal, label_es, label_en, group, group_es, group_en, estimate``
        (agree share), ``ci_low, ci_high, n`` (votes of the group on it), ``p_divisive``,
        ``suppressed``. Cells with fewer than ``min_cell`` votes are blanked, with a second
        cell of the same proposal (its total votes are published in the agenda); a proposal
        with fewer than ``min_cell`` votes in all is not listed (its agenda status says there
        are not enough votes to judge it).
    """
    st = a.results["statements"]  # a proposal too few voted on is not judged divisive either
    div = st.loc[st["divisive"] & (st["n_votes"] >= a.min_cell), ["proposal", "p_divisive"]]
    gv = a.results["group_votes"]
    t = gv[gv["proposal"].isin(div["proposal"])].merge(div, on="proposal")
    t = t.rename(columns={"p_agree": "estimate", "p_agree_low": "ci_low",
                          "p_agree_high": "ci_high", "n_seen": "n"})
    t = t[["proposal", "group", "estimate", "ci_low", "ci_high", "n", "p_divisive"]]
    if t.empty:
        t["suppressed"] = pd.Series(dtype=bool)
    else:
        t = suppress(t, "n", min_count=a.min_cell, value_cols=["estimate", "ci_low", "ci_high"],
                     groups=["proposal"])
    t = _add_labels(t, a)
    for lg in LANGS:
        t[f"group_{lg}"] = [_group_name(x, lg) for x in t["group"]]
    t = t.sort_values(["p_divisive", "proposal", "group"], ascending=[False, True, True])
    return t[["proposal", "label_es", "label_en", "group", "group_es", "group_en", "estimate",
              "ci_low", "ci_high", "n", "p_divisive", "suppressed"]].reset_index(drop=True)


@memoized
def trajectory_table(a: AgendaAnalysis, top: int = TOP) -> pd.DataFrame:
    """Consensus of the top ``top`` agenda items across rounds (assembly, planning collective,
    agenda validation), from the hand counts of each round (each assembly a group).

    Returns
    -------
    DataFrame
        ``proposal, label_es, label_en, round, round_order, x`` (date of the round's tally
        assembly, or the round number), ``y`` (GIC), ``ci_low, ci_high, n_votes, delta``
        (change from the previous round), ``p_increase``, ``round_es, round_en,
        group_es, group_en`` (the proposal, for line charts). Empty without several rounds.
    """
    tr_ = a.results.get("trajectory")
    cols = ["proposal", "label_es", "label_en", "round", "round_order", "x", "y", "ci_low",
            "ci_high", "n_votes", "delta", "p_increase", "round_es", "round_en", "group_es",
            "group_en"]
    if tr_ is None or tr_.empty:
        return pd.DataFrame(columns=cols)
    top_ids = agenda_frame(a).head(top)["proposal"].astype(str)
    t = tr_[tr_["proposal"].isin(top_ids)].copy()
    t = t[t["n_votes"] >= a.min_cell]
    dates = {}
    if len(a.tallies) and "date" in a.tallies.columns:
        dates = pd.to_datetime(a.tallies.groupby("round")["date"].min()).to_dict()
    t["x"] = [dates.get(r, pd.NaT) for r in t["round"]]
    t = t.rename(columns={"gic": "y", "gic_low": "ci_low", "gic_high": "ci_high"})
    t = _add_labels(t, a)
    for lg in LANGS:
        t[f"round_{lg}"] = vocabulary.labels("consensus_round", t["round"], lg)
        t[f"group_{lg}"] = [s[:40] for s in t[f"label_{lg}"]]
    return t[cols].sort_values(["proposal", "round_order"]).reset_index(drop=True)


@memoized
def consensus_change(a: AgendaAnalysis) -> dict:
    """Mean change of consensus from the first to the last round, over proposals, from the
    hand counts (the same assemblies' method in every round), with a t interval (95 %).

    Returns
    -------
    dict
        ``value, ci_low, ci_high, n`` (proposals counted in both rounds).
    """
    tr_ = a.results.get("trajectory")
    if tr_ is None or tr_.empty:
        return {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0}
    t = tr_[tr_["n_votes"] > 0]
    first = t.sort_values("round_order").groupby("proposal").first()
    last = t.sort_values("round_order").groupby("proposal").last()
    ok = first["round_order"] < last["round_order"]
    d = (last["gic"] - first["gic"])[ok].dropna()
    n = len(d)
    if n < 2:
        return {"value": float(d.mean()) if n else np.nan, "ci_low": np.nan,
                "ci_high": np.nan, "n": n}
    from scipy import stats
    se = d.std(ddof=1) / np.sqrt(n)
    q = stats.t.ppf(0.975, n - 1)
    return {"value": float(d.mean()), "ci_low": float(d.mean() - q * se),
            "ci_high": float(d.mean() + q * se), "n": n}


def trajectory_figure(a: AgendaAnalysis, lang: str = "es", top: int = 5,
                      backend: str = "svg"):
    """Lines of consensus across rounds for the top ``top`` agenda items: ``(figure, alt)``.

    ``backend``: ``"svg"`` (default) draws the site's chart as a
    :class:`~territoria.charts.Chart`; ``"matplotlib"`` a Matplotlib figure to adjust.
    """
    check_language(lang)
    t = trajectory_table(a, top=top)
    t = t[t["x"].notna()]
    return plots.lines_by_group(t, x="x", y="y", group=f"group_{lang}", lang=lang,
                                title=_t("v_trajectory", lang), ylabel=_t("col_consensus", lang),
                                suppressed=None, backend=backend)


# ------------------------------------------------------------------------------ result
def compute(ctx, territory_id: str, *, lang: str = "es", analysis: AgendaAnalysis | None = None,
            period_start=None, period_end=None, write_csv: bool = True) -> StepResult:
    """Everything step 03 records for one territory.

    Parameters
    ----------
    ctx : StepContext
    territory_id : str
    lang : {"es", "en"}
        Language of the notebook (published tables carry both languages).
    analysis : AgendaAnalysis, optional
        Reuse what the notebook already computed (default: :func:`analyse`).
    period_start, period_end : date-like, optional
    write_csv : bool
        Also write ``output/03_agenda/<territory>.agenda.csv``.

    Returns
    -------
    StepResult
        Indicators ``agenda_items``, ``agenda_voters``, ``agenda_opinion_groups``,
        ``agenda_top_consensus``, ``agenda_share_divisive``, ``agenda_top10_stable``,
        ``agenda_consensus_change``; tables ``agenda``, ``agenda_consensus``, ``divisive``,
        ``opinion_groups``, ``by_grouping``, ``ranking_rules``, ``rule_pairs``, ``axes``,
        ``trajectory``.
    """
    check_language(lang)
    a = analysis or analyse(ctx, territory_id, period_start=period_start, period_end=period_end)
    res = StepResult(STEP, territory_id)
    ag = agenda_table(a)
    st = a.results["statements"]
    voted = st[st["n_votes"] > 0]
    n_voters = int(a.votes["participant_code"].nunique())
    groups = a.results["groups"].dropna(subset=["group"])
    res.indicator("agenda_items", float(len(voted)), n=n_voters)
    res.indicator("agenda_voters", float(n_voters), n=n_voters,
                  suppressed=n_voters < a.min_cell)
    k = int(groups["group"].nunique())
    res.indicator("agenda_opinion_groups", float(k), n=len(groups))
    first = ag[ag["estimate"].notna()].head(1)
    if len(first):
        r0 = first.iloc[0]
        res.indicator("agenda_top_consensus", r0["estimate"], ci_low=r0["ci_low"],
                      ci_high=r0["ci_high"], n=int(r0["n_votes"]), grp=str(r0["proposal"]))
    else:
        res.indicator("agenda_top_consensus", None, suppressed=True)
    judged = st[st["n_votes"] >= a.min_cell]  # those too few voted on are not judged
    n_div = int(judged["divisive"].sum())
    lo, hi = jeffreys_interval(n_div, len(judged), level=0.9)
    res.indicator("agenda_share_divisive", n_div / len(judged) if len(judged) else None,
                  ci_low=float(lo), ci_high=float(hi), n=len(judged))
    stab = top_stability(a)
    res.indicator("agenda_top10_stable", stab["value"], n=stab["n"])
    ch = consensus_change(a)
    res.indicator("agenda_consensus_change", ch["value"], ci_low=ch["ci_low"],
                  ci_high=ch["ci_high"], n=ch["n"])
    res.table("agenda", ag, level=0.9)
    res.table("agenda_consensus", agenda_consensus(a), level=0.9)
    res.table("divisive", divisive_table(a), level=0.9)
    res.table("opinion_groups", opinion_groups_table(a))
    res.table("by_grouping", consensus_by_grouping(a))
    res.table("ranking_rules", ranking_rules(a), top=TOP)
    res.table("rule_pairs", rule_pairs(a), top=TOP)
    res.table("axes", axes_table(a), top=TOP)
    res.table("trajectory", trajectory_table(a), level=0.9)
    if write_csv:
        write_agenda_csv(ctx, territory_id, a)
    return res
