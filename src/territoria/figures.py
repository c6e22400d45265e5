"""Figures a resident can read: one idea per chart, translated, with alt text (moved here
from ``analysis.plots``: the statistics layer makes numbers, this module draws them).

Every function takes ``lang`` (``'es'`` default, ``'en'``) and returns ``(fig, alt_text)``:
a :class:`matplotlib.figure.Figure` (built without pyplot, so no global state) and a sentence
describing what the figure shows, for screen readers and report captions. Values marked as
suppressed (too few people) are not drawn and the figure says so.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"axis": ["Agua", "Seguridad"], "estimate": [0.42, 0.30],
...                    "ci_low": [0.36, 0.25], "ci_high": [0.48, 0.35]})
>>> fig, alt = bar_ci(df, label="axis", subject="problem")
>>> alt
'Barras ordenadas: el problema más mencionado es Agua (42 %, IC 95 % 36–48 %); el menos mencionado es Seguridad (30 %).'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from territoria import vocabulary
from territoria.exceptions import AnalysisError
from territoria.i18n import catalogue, check_language, tr

__all__ = ["MESSAGES", "EVENT_MESSAGES", "BACKENDS", "check_backend", "bar_ci", "lines_by_group",
           "choropleth", "format_value", "event_study_plot"]

#: How a figure is drawn: a Matplotlib ``Figure``, or the site's SVG chart (``Chart``).
BACKENDS = ("matplotlib", "svg")

MESSAGES = catalogue(__name__, vocabulary=vocabulary.texts)


def format_value(v: float, lang: str = "es", *, percent: bool = True, digits: int = 0) -> str:
    """Format a share (0-1) as a percentage, or a number, the way each language writes it.

    >>> format_value(0.423, "es"), format_value(0.423, "en"), format_value(1234.5, percent=False)
    ('42 %', '42%', '1,234')
    """
    if v is None or not np.isfinite(v):
        return "–"
    if percent:
        txt = f"{100 * v:.{digits}f}"
        return f"{txt} %" if lang == "es" else f"{txt}%"
    return f"{v:,.{digits}f}"


def _pct_number(v: float, percent: bool, digits: int = 0) -> str:
    if not np.isfinite(v):
        return "–"
    return f"{100 * v:.{digits}f}" if percent else f"{v:,.{digits}f}"


def _need(df, cols):
    if not isinstance(df, pd.DataFrame):
        raise AnalysisError(f"expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnalysisError(f"missing column(s) {missing} for the figure (have: {list(df.columns)})")


def _split_suppressed(df: pd.DataFrame, suppressed: str | None, value: str):
    if suppressed and suppressed in df.columns:
        hidden = df[suppressed].fillna(False).astype(bool) | df[value].isna()
    else:
        hidden = df[value].isna()
    return df[~hidden], int(hidden.sum())


def bar_ci(
    df: pd.DataFrame,
    *,
    label: str,
    value: str = "estimate",
    low: str | None = "ci_low",
    high: str | None = "ci_high",
    lang: str = "es",
    title: str | None = None,
    xlabel: str | None = None,
    subject: str | None = None,
    percent: bool = True,
    level: int = 95,
    suppressed: str | None = "suppressed",
    labels: Mapping[str, str] | None = None,
    ref: float | None = None,
    backend: str = "matplotlib",
):
    """Horizontal bars sorted from largest (top) to smallest, with CI whiskers.

    Parameters
    ----------
    df : DataFrame
        One row per bar.
    label, value, low, high : str
        Columns: bar label, value, interval bounds (``low``/``high`` None: no whiskers).
    lang : {'es', 'en'}
    title, xlabel : str, optional
        Already-translated texts (defaults: no title, "Porcentaje"/"Percentage").
    subject : {'problem'}, optional
        Wording of the alt text ("the most mentioned problem is ..."); default generic.
    percent : bool
        Values are shares (0-1) shown as percentages.
    suppressed : str, optional
        Boolean column: rows not drawn (and counted in a note).
    labels : mapping, optional
        Display names for the ``label`` values (e.g. axis id -> translated label).
    ref : float, optional
        A dashed reference line at this value (e.g. 1 for ratios).
    backend : {'matplotlib', 'svg'}
        ``svg`` draws the published site's chart (:class:`territoria.charts.Chart`,
        ~1 ms) instead of a Matplotlib figure (~0.2 s to render).

    Returns
    -------
    (Figure or Chart, str)
    """
    check_language(lang)
    check_backend(backend)
    _need(df, [label, value] + [c for c in (low, high) if c])
    shown, k = _split_suppressed(df, suppressed, value)
    shown = shown.sort_values(value, ascending=False, kind="stable")
    names = [str(labels.get(v, v)) if labels else str(v) for v in shown[label]]
    notes = []
    if low and high:
        notes.append(tr(MESSAGES, "ci_note", lang, level=level))
    if k:
        notes.append(tr(MESSAGES, "suppressed_note", lang, k=k))
    alt = _bar_alt(shown, names, value, low, high, lang, subject, percent, level)
    if k:
        alt += " " + tr(MESSAGES, "suppressed_note", lang, k=k)
    if backend == "svg":
        from territoria import charts

        def col(c):
            return [None] * len(shown) if not c else \
                [None if not np.isfinite(v) else float(v) for v in shown[c].to_numpy(float)]

        svg = charts.bar_ci(names, col(value), col(low), col(high), title=title or "",
                            alt=alt, percent=percent, ref=ref, notes=notes, standalone=True,
                            xlabel=xlabel or tr(MESSAGES, "share_axis" if percent
                                                else "value_axis", lang))
        return charts.Chart(svg, alt), alt
    fig = Figure(figsize=(7, 0.45 * max(len(shown), 2) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    scale = 100 if percent else 1
    vals = shown[value].to_numpy(float) * scale
    ax.barh(y, vals, color="#3b75af", height=0.65)
    if low and high and len(shown):
        lo = shown[low].to_numpy(float) * scale
        hi = shown[high].to_numpy(float) * scale
        # rounding can leave an estimate a hair outside its interval (e.g. 100 % with a
        # Wilson bound of 0.9999999): whiskers never go negative, missing bounds draw nothing
        err = np.nan_to_num(np.clip([vals - lo, hi - vals], 0, None), nan=0.0)
        ax.errorbar(vals, y, xerr=err, fmt="none", ecolor="#222222",
                    elinewidth=1, capsize=3)
    for yi, v in zip(y, vals, strict=True):
        ax.text(v, yi + 0.36, format_value(v / scale, lang, percent=percent, digits=0)
                if percent else f"{v:,.1f}", fontsize=8, va="bottom", ha="left")
    ax.set_yticks(y, names)
    ax.set_xlabel(xlabel or tr(MESSAGES, "share_axis" if percent else "value_axis", lang))
    ax.spines[["top", "right"]].set_visible(False)
    if percent:
        ax.set_xlim(0, max(100, float(np.nanmax(vals)) if len(vals) else 100))
    if ref is not None:
        ax.axvline(ref * scale, color="#d1495b", linewidth=1, linestyle="--")
    if title:
        ax.set_title(title, loc="left")
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=8, x=0.01, ha="left")
    return fig, alt


def check_backend(backend: str) -> None:
    """Raise :class:`AnalysisError` unless ``backend`` is one of :data:`BACKENDS`."""
    if backend not in BACKENDS:
        raise AnalysisError(f"unknown figure backend '{backend}' (allowed: "
                            f"{', '.join(BACKENDS)})")


def _bar_alt(shown, names, value, low, high, lang, subject, percent, level):
    if not len(shown):
        return tr(MESSAGES, "nothing", lang)
    first = shown.iloc[0]
    last = shown.iloc[-1]
    fmt = {"top": names[0], "value": format_value(first[value], lang, percent=percent),
           "lo": _pct_number(first[low], percent) if low else "–",
           "hi": format_value(first[high], lang, percent=percent) if high else "–",
           "bottom": names[-1], "bvalue": format_value(last[value], lang, percent=percent),
           "level": level}
    if not percent:
        fmt["value"] = f"{first[value]:,.2f}"
        fmt["bvalue"] = f"{last[value]:,.2f}"
        fmt["lo"] = f"{first[low]:,.2f}" if low else "–"
        fmt["hi"] = f"{first[high]:,.2f}" if high else "–"
    if len(shown) == 1:
        return tr(MESSAGES, "bars_alt_one", lang, **fmt)
    key = "bars_alt_problem" if subject == "problem" else "bars_alt_generic"
    return tr(MESSAGES, key, lang, **fmt)


def lines_by_group(
    df: pd.DataFrame,
    *,
    x: str = "month",
    y: str = "assemblies",
    group: str = "mode",
    lang: str = "es",
    title: str | None = None,
    ylabel: str | None = None,
    labels: Mapping[str, str] | None = None,
    suppressed: str | None = "suppressed",
    backend: str = "matplotlib",
):
    """One line per group over time (e.g. assemblies per month by mode).

    Parameters
    ----------
    df : DataFrame
        Long format: ``x`` (dates or periods), ``y`` (value), ``group``.
    labels : mapping, optional
        Display names of the groups (e.g. ``{"in_person": "Presencial"}``).
    backend : {'matplotlib', 'svg'}
        As in :func:`bar_ci`.

    Returns
    -------
    (Figure or Chart, str)

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": pd.to_datetime(["2019-01-01", "2019-02-01"] * 2),
    ...                   "mode": ["in_person"] * 2 + ["virtual"] * 2,
    ...                   "assemblies": [5, 7, 1, 0]})
    >>> fig, alt = lines_by_group(d, lang="en", labels={"in_person": "In person"})
    >>> alt
    'Lines by group from 2019-01 to 2019-02: In person adds up to the most (12 in total); virtual to the least (1).'
    """
    check_language(lang)
    check_backend(backend)
    _need(df, [x, y, group])
    shown, k = _split_suppressed(df, suppressed, y)
    if backend == "svg":
        return _lines_svg(shown, k, x, y, group, lang, title, ylabel, labels)
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.add_subplot()
    totals = {}
    for g, d in shown.groupby(group, sort=True):
        d = d.sort_values(x)
        name = str(labels.get(g, g)) if labels else str(g)
        ax.plot(pd.to_datetime(d[x]), d[y], marker="o", markersize=3, label=name)
        totals[name] = float(d[y].sum())
    ax.set_xlabel(tr(MESSAGES, "month_axis", lang) if x == "month" else x)
    ax.set_ylabel(ylabel or tr(MESSAGES, "value_axis", lang))
    ax.spines[["top", "right"]].set_visible(False)
    if totals:
        ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title, loc="left")
    if k:
        fig.supxlabel(tr(MESSAGES, "suppressed_note", lang, k=k), fontsize=8, x=0.01, ha="left")
    return fig, _lines_alt(totals, shown[x], k, lang)


def _lines_svg(shown, k, x, y, group, lang, title, ylabel, labels):
    from territoria import charts

    when = pd.to_datetime(shown[x])
    stamps = sorted(when.unique())  # one x position per distinct date, in order
    index = {t: i for i, t in enumerate(stamps)}
    series, totals = {}, {}
    for g, d in shown.assign(_t=when).groupby(group, sort=True):
        d = d.sort_values("_t")
        name = str(labels.get(g, g)) if labels else str(g)
        series[name] = [(index[t], float(v)) for t, v in zip(d["_t"], d[y], strict=True)]
        totals[name] = float(d[y].sum())
    every = max(1, len(stamps) // 6)
    ticks = {i: pd.Timestamp(stamps[i]).strftime("%Y-%m") for i in range(0, len(stamps), every)}
    alt = _lines_alt(totals, shown[x], k, lang)
    notes = [tr(MESSAGES, "suppressed_note", lang, k=k)] if k else []
    svg = charts.lines(series, title=title or "", alt=alt, x_labels=ticks, notes=notes,
                       ylabel=ylabel or tr(MESSAGES, "value_axis", lang),
                       xlabel=tr(MESSAGES, "month_axis", lang) if x == "month" else "",
                       standalone=True)
    return charts.Chart(svg, alt), alt


def _lines_alt(totals: dict, xvals: pd.Series, k: int, lang: str) -> str:
    if not totals:
        return tr(MESSAGES, "nothing", lang)
    xs = pd.to_datetime(xvals)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    alt = tr(MESSAGES, "lines_alt", lang, start=xs.min().strftime("%Y-%m"),
             end=xs.max().strftime("%Y-%m"), top=ranked[0][0],
             top_total=f"{ranked[0][1]:,.0f}", bottom=ranked[-1][0],
             bottom_total=f"{ranked[-1][1]:,.0f}")
    if k:
        alt += " " + tr(MESSAGES, "suppressed_note", lang, k=k)
    return alt


def _geometry(text) -> shapely.Geometry:
    if isinstance(text, shapely.Geometry):
        return text
    if not isinstance(text, str) or not text.strip():
        raise AnalysisError("geometry must be GeoJSON or WKT text")
    t = text.strip()
    try:
        return shapely.from_geojson(t) if t.startswith("{") else shapely.from_wkt(t)
    except Exception as e:  # shapely raises several types
        raise AnalysisError(f"geometry is not valid GeoJSON/WKT: {str(e)[:80]}") from None


def _polygon_path(geom) -> Path | None:
    polys = getattr(geom, "geoms", [geom])
    verts, codes = [], []
    for p in polys:
        if p.geom_type != "Polygon":
            continue
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes.append([Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY])
    if not verts:
        return None
    return Path(np.concatenate(verts), np.concatenate(codes))


def choropleth(
    territories: pd.DataFrame,
    *,
    value: str,
    geometry: str = "geometry",
    name: str = "name",
    lang: str = "es",
    title: str | None = None,
    legend: str | None = None,
    percent: bool = False,
    suppressed: str | None = "suppressed",
    cmap: str = "YlOrRd",
) -> tuple[Figure, str]:
    """Map of territories coloured by ``value`` (GeoJSON or WKT geometry text).

    Parameters
    ----------
    territories : DataFrame
        ``geometry`` (GeoJSON or WKT text, e.g. the store's ``territories.geometry``),
        ``name`` and ``value``.
    legend : str, optional
        What the colour means, already translated (also used in the alt text).
    percent : bool
        Values are shares shown as percentages.

    Returns
    -------
    (Figure, str)
        Territories without a value or suppressed are drawn hatched in grey.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"name": ["Aculco", "Barrio San Lucas"],
    ...     "geometry": ["POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
    ...                  '{"type": "Polygon", "coordinates": [[[1,0],[2,0],[2,1],[1,1],[1,0]]]}'],
    ...     "unsafe": [0.7, 0.55]})
    >>> fig, alt = choropleth(t, value="unsafe", percent=True, legend="percepción de inseguridad")
    >>> alt
    'Mapa de 2 colonias coloreadas por percepción de inseguridad: el valor más alto está en Aculco (70 %) y el más bajo en Barrio San Lucas (55 %).'
    """
    check_language(lang)
    _need(territories, [value, geometry, name])
    geoms = [_geometry(g) for g in territories[geometry]]
    vals = pd.to_numeric(territories[value], errors="coerce").to_numpy(float)
    hidden = np.isnan(vals)
    if suppressed and suppressed in territories.columns:
        hidden |= territories[suppressed].fillna(False).astype(bool).to_numpy()
    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.add_subplot()
    ok = vals[~hidden]
    norm = Normalize(vmin=float(ok.min()) if len(ok) else 0.0,
                     vmax=float(ok.max()) if len(ok) and ok.max() > ok.min() else
                     (float(ok.min()) + 1 if len(ok) else 1.0))
    cm = colormaps[cmap]
    for g, v, hid in zip(geoms, vals, hidden, strict=True):
        path = _polygon_path(g)
        if path is None:
            continue
        if hid:
            patch = PathPatch(path, facecolor="#dddddd", edgecolor="white", hatch="///",
                              linewidth=0.4)
        else:
            patch = PathPatch(path, facecolor=cm(norm(v)), edgecolor="white", linewidth=0.4)
        ax.add_patch(patch)
    bounds = shapely.total_bounds(np.array(geoms, dtype=object))
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_axis_off()
    sm = _scalar_mappable(cm, norm)
    cb = fig.colorbar(sm, ax=ax, shrink=0.6)
    what = legend or value
    cb.set_label(what)
    if percent:
        cb.ax.yaxis.set_major_formatter(lambda x, _: format_value(x, lang))
    if title:
        ax.set_title(title, loc="left")
    k = int(hidden.sum())
    if k:
        fig.supxlabel(tr(MESSAGES, "suppressed_note", lang, k=k) + " ("
                      + tr(MESSAGES, "map_missing", lang) + ")", fontsize=8, x=0.01, ha="left")
    if not len(ok):
        return fig, tr(MESSAGES, "nothing", lang)
    names = territories[name].astype(str).to_numpy()[~hidden]
    hi, lo = int(np.argmax(ok)), int(np.argmin(ok))

    def f(v):
        return format_value(v, lang) if percent else f"{v:,.2f}"

    alt = tr(MESSAGES, "map_alt", lang, n=len(geoms), what=what, hi_name=names[hi], hi=f(ok[hi]),
             lo_name=names[lo], lo=f(ok[lo]))
    if k:
        alt += " " + tr(MESSAGES, "suppressed_note", lang, k=k)
    return fig, alt


def _scalar_mappable(cm, norm):
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=norm, cmap=cm)
    sm.set_array([])
    return sm


# -- event study (moved from analysis.impact: the statistics make the numbers) ---------------
#: Texts of :func:`event_study_plot`.
EVENT_MESSAGES = catalogue(__name__, "EVENT_MESSAGES")


def event_study_plot(event: pd.DataFrame, lang: str = "es", ax=None, title: str | None = None):
    """Event-study chart with pre-trends, from ``analysis.impact.aggregate(res, "event")``.

    Parameters
    ----------
    event : DataFrame
        Output of :func:`territoria.analysis.impact.aggregate` with ``kind="event"``.
    lang : {"es", "en"}
        Language of labels.
    ax : matplotlib Axes, optional
    title : str, optional
        Overrides the default translated title.

    Returns
    -------
    (Figure, str)
        The figure and a plain-language alternative text describing it.

    Examples
    --------
    >>> from territoria.analysis.impact import aggregate, att_gt, simulate_staggered
    >>> panel = simulate_staggered(n_units=30, n_periods=5, cohorts={3: 10}, effect=1.0,
    ...                            noise_sd=0.01, seed=6)
    >>> ev = aggregate(att_gt(panel, "unit", "time", "cohort", "y"), "event")
    >>> fig, alt = event_study_plot(ev, lang="en")
    >>> alt.startswith("Event-study chart")
    True
    """
    import matplotlib
    import matplotlib.pyplot as plt

    if "key" not in event.columns or "overall" not in event.columns:
        raise AnalysisError("event_study_plot() needs the output of aggregate(res, 'event')")
    d = event[~event["overall"].astype(bool)].copy()
    d["key"] = d["key"].astype(int)
    pre, post = d[d["key"] < 0], d[d["key"] >= 0]
    if ax is None:
        with matplotlib.rc_context({"figure.max_open_warning": 0}):
            fig, ax = plt.subplots(figsize=(8, 4.5))
    else:
        fig = ax.figure
    for part, color, key in ((pre, "#9a3324", "pre"), (post, "#1f5a96", "post")):
        if len(part):
            ax.errorbar(part["key"], part["estimate"],
                        yerr=[part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]],
                        fmt="o", color=color, ecolor=color, elinewidth=1, capsize=2, ms=4,
                        label=tr(EVENT_MESSAGES, key, lang))
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(tr(EVENT_MESSAGES, "es_xlabel", lang))
    ax.set_ylabel(tr(EVENT_MESSAGES, "es_ylabel", lang))
    ax.set_title(title or tr(EVENT_MESSAGES, "es_title", lang))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()

    def f(x):
        return f"{x:.3f}"

    alt = tr(EVENT_MESSAGES, "alt", lang,
             n_pre=len(pre), n_post=len(post),
             pre_min=f(pre["estimate"].min()) if len(pre) else "-",
             pre_max=f(pre["estimate"].max()) if len(pre) else "-",
             n_pre_sig=int(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).sum()),
             post_mean=f(post["estimate"].mean()) if len(post) else "-",
             post_min=f(post["estimate"].min()) if len(post) else "-",
             post_max=f(post["estimate"].max()) if len(post) else "-")
    return fig, alt
