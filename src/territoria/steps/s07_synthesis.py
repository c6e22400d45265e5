"""Step 07, city synthesis: how territories compare, and what should change.

It reads what the territory steps recorded (the store's ``indicators``, collected by the runner
before this city step runs; step 04's figures at one cut-off date for the whole city, stated
in the findings: :func:`load_indicators`), compares territories and zones on a few key
indicators, lists the territories that need attention on several fronts at once, recomputes
the city-wide process comparison (step 05) and writes plain-language findings.

Examples
--------
>>> import pandas as pd
>>> ind = pd.DataFrame({"territory_id": ["A", "B", "C", "A", "B", "C"],
...                     "name": ["block_coverage"] * 3 + ["pct_unsafe_colonia"] * 3,
...                     "value": [0.9, 0.5, 0.4, 0.8, 0.6, 0.9]})
>>> wide = wide_indicators(ind, ["block_coverage", "pct_unsafe_colonia"])
>>> float(wide.loc["B", "block_coverage"])
0.5
>>> attention(wide, {"block_coverage": "higher", "pct_unsafe_colonia": "lower"},
...           share=0.34)["territory_id"].tolist()
['C']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territoria import vocabulary
from territoria.analysis.suppression import suppress
from territoria.i18n import catalogue, tr
from territoria.report import names as site_names
from territoria.report import words
from territoria.report.catalogue import load_catalogue
from territoria.report.record import DATED_STEPS, at_cut_off
from territoria.steps import Section, StepResult, View
from territoria.steps.common import resolve_as_of
from territoria.steps.registry import step_by_id

STEP = "07_synthesis"
SCOPE = step_by_id(STEP).scope  # declared once, in the registry

#: Indicators compared across territories (those present in the store are used).
KEY_INDICATORS = ("block_coverage", "pct_unsafe_colonia", "agenda_share_divisive",
                  "followup_fulfilment_rate", "followup_on_time_rate", "impact_agree")

STAGE_LABELS = {"design": ("diseño del proceso", "process design"),
                "delib": ("experiencia deliberativa", "deliberative experience"),
                "impact": ("incidencia en las decisiones", "pathways to impact")}

MESSAGES = catalogue(__name__)
#: Why a zone's bar is not published: too few territories (not people) in it; ``{min_cell}``
#: is ``city.yml: min_cell_size`` (:func:`zone_summary`).
ZONE_NOTE = MESSAGES["zone_suppressed"]

SECTION = Section(
    step=STEP,
    title={"es": "Cómo se comparan las colonias", "en": "How territories compare"},
    intro={
        "es": "Aquí se juntan los resultados de todas las colonias del programa: en qué van bien, "
              "dónde hay rezagos y qué conviene cambiar. Las comparaciones entre zonas usan la "
              "mediana de sus colonias; las líneas muestran dónde está la mitad central.",
        "en": "Results of every programme territory together: what goes well, where there are "
              "gaps and what should change. Zone comparisons use the median of their "
              "territories; the whiskers show where the middle half lies."},
    views=(
        View("findings", "table", {"es": "Hallazgos principales", "en": "Main findings"},
             columns={"finding_{lang}": {"es": "Hallazgo", "en": "Finding"}}),
        View("zones_block_coverage", "bar",
             {"es": "Cobertura de manzanas por zona (mediana)", "en": "Block coverage by zone (median)"},
             percent=True, suppressed_note=ZONE_NOTE),
        View("zones_pct_unsafe_colonia", "bar",
             {"es": "Personas que se sienten inseguras en su colonia, por zona (mediana)",
              "en": "People who feel unsafe in their colonia, by zone (median)"},
             percent=True, suppressed_note=ZONE_NOTE),
        View("zones_followup_fulfilment_rate", "bar",
             {"es": "Acuerdos cumplidos por zona (mediana)", "en": "Agreements fulfilled by zone (median)"},
             percent=True, suppressed_note=ZONE_NOTE),
        View("process_comparison", "bar",
             {"es": "Dónde es más débil el proceso (0 = peor, 100 % = mejor)",
              "en": "Where the process is weakest (0 = worst, 100% = best)"},
             value="mean_norm", percent=True),
        View("attention", "table",
             {"es": "Colonias que requieren atención", "en": "Territories that need attention"},
             columns={"name": vocabulary.texts("heading", "territory"),
                      "zone_name": vocabulary.texts("heading", "zone"),
                      "n_behind": {"es": "Indicadores rezagados", "en": "Indicators behind"},
                      "behind_{lang}": {"es": "Cuáles", "en": "Which"}}),
    ),
    indicators=("synthesis_territories",),
)


def load_indicators(ctx, as_of=None) -> pd.DataFrame:
    """Territory-level indicators (no subgroups) recorded by the territory steps.

    Step 04 records its figures at a cut-off date (``grp`` = ``YYYY-MM-DD``,
    :data:`territoria.report.record.DATED_STEPS`): they are read at one cut-off for the whole
    city, step 04's rule (:func:`territoria.steps.common.resolve_as_of`: ``as_of``, else
    ``city.yml: period_end``, else today) when some territory recorded it, else the latest
    recorded (:func:`territoria.report.record.at_cut_off`); their date is in the column
    ``as_of`` (missing for the other steps' figures). A territory whose step 04 ran at another
    date is left out of the comparison (:func:`followup_cut_off` counts it).
    """
    cols = ["territory_id", "step", "name", "value", "ci_low", "ci_high", "n", "suppressed"]
    if not ctx.store.has_table("indicators"):
        return pd.DataFrame(columns=[*cols, "as_of"])
    ind = ctx.store.query(
        f"SELECT {', '.join(cols)}, grp, computed_at FROM indicators "
        "WHERE territory_id IS NOT NULL AND step <> ?", [STEP])
    ind = at_cut_off(ind, resolve_as_of(ctx, as_of))
    return ind[ind["grp"].isna()][[*cols, "as_of"]].reset_index(drop=True)


def followup_cut_off(ctx, ind: pd.DataFrame) -> dict | None:
    """The cut-off date of the step 04 figures in ``ind`` (:func:`load_indicators`), the number
    of territories at that date and of those whose step 04 ran at another date (left out);
    None when no step 04 figure was read.

    >>> from types import SimpleNamespace
    >>> from territoria.store import Store
    >>> st = Store(":memory:")
    >>> with st.transaction():
    ...     _ = st.append("indicators", pd.DataFrame({"territory_id": ["A", "B"],
    ...         "step": [DATED_STEPS[0]] * 2, "name": ["followup_overdue"] * 2,
    ...         "grp": ["2024-12-31", "2024-06-30"], "value": [1.0, 2.0]}))
    >>> ctx = SimpleNamespace(store=st, config=SimpleNamespace(period_end=None))
    >>> followup_cut_off(ctx, load_indicators(ctx))
    {'as_of': '2024-12-31', 'n': 1, 'n_other': 1}
    """
    dated = ind[ind["as_of"].notna()] if "as_of" in ind else ind.iloc[0:0]
    if dated.empty:
        return None
    day = str(dated["as_of"].max())
    at = set(dated.loc[dated["as_of"] == day, "territory_id"])
    marks = ", ".join("?" * len(DATED_STEPS))
    every = set(ctx.store.query(
        f"SELECT DISTINCT territory_id FROM indicators WHERE step IN ({marks}) "
        "AND territory_id IS NOT NULL", list(DATED_STEPS))["territory_id"])
    return {"as_of": day, "n": len(at), "n_other": len(every - at)}


def wide_indicators(ind: pd.DataFrame, names) -> pd.DataFrame:
    """Territories x indicators (values; suppressed values are missing).

    When none of ``names`` is recorded yet, every one is a column of missing values (so the
    frame can still be described and tabulated).

    >>> list(wide_indicators(pd.DataFrame(columns=["territory_id", "name", "value"]), ["a"]))
    ['a']
    """
    ind = ind[ind["name"].isin(names)].copy()
    if "suppressed" in ind:
        ind.loc[ind["suppressed"].fillna(False).astype(bool), "value"] = np.nan
    ind["value"] = pd.to_numeric(ind["value"], errors="coerce")
    wide = ind.pivot_table(index="territory_id", columns="name", values="value", aggfunc="first")
    keep = [n for n in names if n in wide.columns]
    if not keep:
        return wide.reindex(columns=pd.Index(list(names), name="name")).astype(float)
    return wide[keep]


def attention(wide: pd.DataFrame, better: dict, *, share: float = 0.2,
              min_behind: int = 2) -> pd.DataFrame:
    """Territories in the worst ``share`` of at least ``min_behind`` key indicators."""
    behind = pd.DataFrame(index=wide.index)
    for col in wide.columns:
        x = wide[col]
        if x.notna().sum() < 3:
            continue
        if better.get(col, "higher") == "lower":
            behind[col] = x >= x.quantile(1 - share)
        else:
            behind[col] = x <= x.quantile(share)
    n = behind.sum(axis=1)
    out = pd.DataFrame({"territory_id": behind.index, "n_behind": n.to_numpy(),
                        "behind": [", ".join(c for c in behind.columns if behind.loc[t, c])
                                   for t in behind.index]})
    return out[out["n_behind"] >= min_behind].sort_values(
        ["n_behind", "territory_id"], ascending=[False, True]).reset_index(drop=True)


def zone_summary(wide: pd.DataFrame, territories: pd.DataFrame, name: str,
                 min_cell: int | None = None, zone_names: dict | None = None) -> pd.DataFrame:
    """Median and inter-quartile range of one indicator over each zone's territories;
    ``zone_names``: stored zone name -> its name per language (``label_es``, ``label_en``).

    With ``min_cell`` (``city.yml: min_cell_size``), a zone with fewer territories with a value
    is suppressed (``estimate``, ``ci_low``, ``ci_high`` and ``n`` blank, ``suppressed``
    True, listed last by name so its place in the order tells nothing), the published site's
    rule for a table whose ``n`` is small; no text may then quote it (:func:`findings`).
    """
    if name not in wide.columns:
        return pd.DataFrame()
    d = territories.set_index("territory_id")[["zone_name"]].join(wide[name], how="inner")
    d = d.dropna()
    if d.empty:
        return pd.DataFrame()
    g = d.groupby("zone_name")[name]
    out = pd.DataFrame({"estimate": g.median(), "ci_low": g.quantile(0.25),
                        "ci_high": g.quantile(0.75), "n": g.size()}).reset_index()
    if min_cell is not None:
        out = suppress(out, "n", min_count=min_cell, value_cols=["estimate", "ci_low",
                                                                 "ci_high"], secondary=False)
        out = out.drop(columns="suppression")
    out = out.sort_values(["estimate", "zone_name"], ascending=[False, True],
                          na_position="last").reset_index(drop=True)
    for lg in ("es", "en"):
        out[f"label_{lg}"] = out["zone_name"].map(
            lambda z, lg=lg: (zone_names or {}).get(z, {}).get(lg) or z)
    return out


def _fmt(v, percent) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{100 * v:.0f} %" if percent else f"{v:.2f}"


def findings(wide: pd.DataFrame, territories: pd.DataFrame, process: pd.DataFrame | None,
             n_attention: int, min_cell: int | None = None,
             zone_names: dict | None = None, cut_off: dict | None = None) -> pd.DataFrame:
    """Plain-language findings (es/en) from the comparison; zones suppressed under
    ``min_cell`` territories (:func:`zone_summary`) are never named with a value; with
    ``cut_off`` (:func:`followup_cut_off`) the date step 04's figures are at, and how many
    territories are left out for being at another date."""
    cat = load_catalogue()
    rows = []
    if cut_off:
        rows.append({lg: tr(MESSAGES, "cut_off", lg, day=words.day(cut_off["as_of"], lg),
                            n=cut_off["n"]) for lg in ("es", "en")})
        if cut_off.get("n_other"):
            rows.append({lg: tr(MESSAGES, "cut_off_other", lg, k=cut_off["n_other"],
                                day=words.day(cut_off["as_of"], lg)) for lg in ("es", "en")})
    if process is not None and not process.empty and {"stage", "stage_mean_norm"} <= set(process):
        st = process.groupby("stage")["stage_mean_norm"].first().sort_values()
        stage, value = st.index[0], float(st.iloc[0])
        labels = STAGE_LABELS.get(stage, (stage, stage))
        rows.append({lg: tr(MESSAGES, "weak_stage", lg, stage=lab,
                            value=f"{100 * value:.0f}/100")
                     for lg, lab in (("es", labels[0]), ("en", labels[1]))})
    rows.append({lg: tr(MESSAGES, "attention", lg, n=n_attention) for lg in ("es", "en")})
    for name in wide.columns:
        x = wide[name].dropna()
        if len(x) < 3:
            continue
        ind = cat.get(name)
        pct = bool(ind.percent) if ind else False
        rows.append({lg: tr(MESSAGES, "spread", lg, name=ind.name(lg) if ind else name,
                            lo=_fmt(x.quantile(0.25), pct), hi=_fmt(x.quantile(0.75), pct),
                            mid=_fmt(x.median(), pct)) for lg in ("es", "en")})
        z = zone_summary(wide, territories, name, min_cell, zone_names)
        if len(z) and "suppressed" in z:
            z = z[~z["suppressed"].astype(bool)]
        z = z.dropna(subset=["estimate"]) if len(z) else z
        if len(z) >= 2:
            lo, hi = z.iloc[-1], z.iloc[0]
            rows.append({lg: tr(MESSAGES, "zone_gap", lg, name=ind.name(lg) if ind else name,
                                low=lo[f"label_{lg}"], lv=_fmt(lo["estimate"], pct),
                                high=hi[f"label_{lg}"], hv=_fmt(hi["estimate"], pct))
                         for lg in ("es", "en")})
    return pd.DataFrame({"finding_es": [r["es"] for r in rows],
                         "finding_en": [r["en"] for r in rows]})


def process_comparison(ctx, lang: str = "es") -> pd.DataFrame:
    """City-wide process comparison (step 05's), empty when there is no questionnaire."""
    from territoria.steps import s05_process

    if not ctx.store.has_table("process"):
        return pd.DataFrame()
    return s05_process.city_comparison_table(ctx, lang=lang)


def compute(ctx, territory_id=None, *, lang: str = "es", as_of=None) -> StepResult:
    """Everything step 07 records (city scope: ``territory_id`` must be None); step 04's
    figures are read at the cut-off of :func:`load_indicators` (``as_of``, else
    ``city.yml: period_end``, else today; else the latest recorded), and the tables built on
    them carry that date in their meta (``as_of``), which the site states in the caption."""
    res = StepResult(STEP, None)
    ind = load_indicators(ctx, as_of)
    cut = followup_cut_off(ctx, ind)
    dated = set(ind.loc[ind["as_of"].notna(), "name"])
    day = {"as_of": cut["as_of"]} if cut else {}
    terr = ctx.territories()
    zone_names = site_names.zone_translations(ctx.store, ctx.config)  # names per language
    wide = wide_indicators(ind, KEY_INDICATORS)
    cat = load_catalogue()
    better = {n: (cat[n].better if n in cat else "higher") for n in wide.columns}
    res.indicator("synthesis_territories", float(ind["territory_id"].nunique()),
                  n=int(ind["territory_id"].nunique()))
    for name in wide.columns:
        x = wide[name].dropna()
        if len(x):
            res.indicator(f"synthesis_median_{name}", float(x.median()),
                          ci_low=float(x.quantile(0.25)), ci_high=float(x.quantile(0.75)),
                          n=len(x))
        z = zone_summary(wide, terr, name, ctx.min_cell, zone_names)
        if not z.empty:
            res.table(f"zones_{name}", z, **(day if name in dated else {}))
    att = attention(wide, better)
    names = terr.set_index("territory_id")
    if not att.empty:
        att["name"] = att["territory_id"].map(names["name"])
        att["zone_name"] = att["territory_id"].map(names["zone_name"])
        for lg in ("es", "en"):
            att[f"behind_{lg}"] = att["behind"].map(
                lambda s, lg=lg: ", ".join(cat[c].name(lg) if c in cat else c
                                           for c in s.split(", ") if c))
    res.indicator("synthesis_attention", float(len(att)), n=len(wide))
    res.table("attention", att, **(day if dated & set(wide.columns) else {}))
    proc = process_comparison(ctx, lang=lang)
    if not proc.empty:
        res.table("process_comparison", proc)
    res.table("findings", findings(wide, terr, proc if not proc.empty else None, len(att),
                                   ctx.min_cell, zone_names, cut_off=cut))
    res.table("comparison", wide.reset_index(), **day)
    return res
