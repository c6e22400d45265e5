"""Tables a reader can read: a result frame shown in a notebook (and so in the site's technical
annex) with human column names in the notebook's language, numbers formatted for people.

A step computes frames whose columns are codes (``label_es``, ``mean_gic``, ``suppressed``);
:func:`show` displays such a frame as a plain HTML table (and as text outside Jupyter):

- column names, in the notebook's language, are the step's own names for its site views
  (:data:`STEP_COLUMNS`) or :data:`territoria.vocabulary.COLUMNS`; a column neither knows
  keeps its code with spaces;
- of the columns in several languages (``label_es``, ``label_en``) only the notebook's
  language stays, and the code column they label (``department`` beside ``department_es``,
  ``axis`` before ``label_es``) is dropped, the label taking its header and place; codes
  people quote (proposal, agreement) go inside the label: ``Alarmas vecinales (P-07-291-07)``;
- ``ci_low``/``ci_high`` (and ``X_ci_low``/``X_ci_high``, ``X_low``/``X_high``) become one
  interval column beside their estimate, with the decimals the interval needs;
- shares named in ``percent`` (and their intervals) are percentages; counts have no decimals;
  p-values under 0.001 read "< 0.001";
- booleans are "Sí"/"No", missing values "—", and the missing cells of a row marked
  ``suppressed`` (too few people) say "suprimido"; internal columns are dropped.

Every output carries each site language (es, en): the notebook's ``lang`` shown, the others
hidden until the annex page's language switch asks for them (:mod:`territoria.bilingual`).
:func:`show` formats the table in both languages from one reading of the frame; :func:`say`
prints a message written in both languages (:func:`place` names the territory or the city in
each), :func:`show_figure` draws a step's figure in each language.

It is plain string building (no Styler, no template): a 16-row, 22-column table takes about
3 ms in both languages, less than pandas' own HTML and text of the same frame (measured on
the agenda tables).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"axis": ["water", "security"], "label_es": ["Agua", "Seguridad"],
...                    "label_en": ["Water", "Security"], "estimate": [0.4213, None],
...                    "ci_low": [0.36, None], "ci_high": [0.48, None], "n": [93.0, 4.0],
...                    "suppressed": [False, True]})
>>> print(table(df, "es", percent=["estimate"]).text)
Eje       | Estimación | IC 95 %     | Casos (n)
Agua      | 42 %       | 36 % a 48 % | 93
Seguridad | suprimido  | suprimido   | 4
>>> print(table(df, "en", percent=["estimate"]).text.splitlines()[1])
Water     | 42%      | 36% to 48% | 93
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from html import escape

import pandas as pd

from territoria.bilingual import LANGUAGES, Versions
from territoria.charts import digits_for
from territoria.i18n import catalogue, check_language, tr
from territoria.vocabulary import column_label

__all__ = ["MESSAGES", "INTERNAL", "STEP_COLUMNS", "Table", "table", "tables", "table_versions",
           "show", "show_indicators", "emit", "message", "say", "place", "zone_names",
           "figure_versions", "show_figure", "column_name", "indicator_names", "warm_cache"]

MESSAGES = catalogue(__name__)

#: Columns the reader does not need (flags already shown in the cells, sort keys, units).
INTERNAL = ("suppressed", "suppression", "round_order", "unit", "_uuid", "_parent_uuid")

#: Code columns a ``label_<lang>`` column names: dropped when they come first in the table.
LABELLED_CODES = ("axis", "department", "stage", "name", "indicator", "group", "source",
                  "rule", "item", "territory", "mechanism", "zone_name", "cohort", "rule_a",
                  "rule_b")

#: Header of a label column that replaces a code column (else the code's own header).
LABEL_HEADER = {"name": "indicator", "rule_a": "pair", "rule_b": "pair",
                "agreement_id": "agreement"}

#: Codes people quote (proposal, agreement): shown inside the label, ``Alarmas vecinales
#: (P-07-291-07)``, rather than in a column of their own.
CODES_IN_LABEL = ("proposal", "agreement_id")

#: Columns holding counts (shown without decimals) and p-values (``< 0.001``).
_COUNT = re.compile(r"^(n|k|count|n_.*|.*_total|blocks_.*|links|participants|assemblies|attendance"
                    r"|population|households|events|censored|occasions|repeat|territories"
                    r"|units|agreements.*|respondents|votes|n)$")
_PVALUE = re.compile(r"^(p|p_holm|p_value|p_val|p_increase|p_divisive|p-unc|pval)$")
_LANGS = ("es", "en")


@dataclass
class Table:
    """A formatted table: ``html`` for Jupyter and the annex, ``text`` for a terminal.

    Attributes
    ----------
    headers : list of str
        Human column names.
    rows : list of list of str
        The cells as the reader sees them.
    html : str
    more : int
        Rows left out (``max_rows``).
    lang : str
    """

    headers: list
    rows: list
    html: str
    more: int = 0
    lang: str = "es"

    @property
    def frame(self) -> pd.DataFrame:
        """The cells (strings) under their human column names."""
        return pd.DataFrame(self.rows, columns=self.headers)

    @property
    def text(self) -> str:
        """The table as aligned plain text."""
        return _text(self.headers, self.rows, self.more, self.lang)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


#: Columns a step already names for its site views (module, key of its ``MESSAGES``): that
#: one definition serves the notebooks too. Other columns: :data:`territoria.vocabulary.COLUMNS`.
STEP_COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("s00_selection", "col_name"),
    "score": ("s00_selection", "col_score"),
    "social_index": ("s00_selection", "col_social_index"),
    "population": ("s00_selection", "col_population"),
    "selected": ("s00_selection", "col_selected"),
    "in_programme": ("s00_selection", "col_in_programme"),
    "cohort_computed": ("s00_selection", "col_cohort_computed"),
    "cohort_actual": ("s00_selection", "col_cohort_actual"),
    "n_changed": ("s00_selection", "col_n_changed"),
    "ratio_city": ("s01_network", "col_ratio_city"),
    "consensus": ("s03_agenda", "col_consensus"),
    "department": ("s03_agenda", "col_department"),
    "horizon": ("s03_agenda", "col_horizon"),
    "status": ("s03_agenda", "col_status"),
    "repr": ("s03_agenda", "col_rep"),
    "gic_opinion": ("s03_agenda", "col_gic_opinion"),
    "gic_sex": ("s03_agenda", "col_gic_sex"),
    "gic_age_group": ("s03_agenda", "col_gic_age"),
    "gic_tally": ("s03_agenda", "col_gic_tally"),
    "divisive": ("s03_agenda", "col_divisive"),
    "rank_consensus": ("s03_agenda", "col_rank_consensus"),
    "rank_approval": ("s03_agenda", "col_rank_approval"),
    "rank_tally": ("s03_agenda", "col_rank_tally"),
    "in_all": ("s03_agenda", "col_in_all"),
    "top_overlap": ("s03_agenda", "col_overlap"),
    "n_proposals": ("s03_agenda", "col_n_proposals"),
    "borda_rank": ("s03_agenda", "col_borda_rank"),
    "mean_gic": ("s03_agenda", "col_mean_gic"),
    "delta": ("s03_agenda", "col_change"),
    "overdue": ("s04_followup", "col_overdue"),
    "days_overdue": ("s04_followup", "col_days_overdue"),
    "n_evidence": ("s04_followup", "col_evidence"),
    "history": ("s04_followup", "col_history"),
    "n_committed": ("s04_followup", "col_committed_n"),
    "n_overdue": ("s04_followup", "col_n_overdue"),
    "median_days": ("s04_followup", "col_median"),
    "note": ("s04_followup", "col_note"),
    "stage": ("s05_process", "col_stage"),
    "item": ("s05_process", "col_item"),
    "mechanism": ("s05_process", "col_mechanism"),
    "rationale": ("s05_process", "col_why"),
    "estimate": ("s06_impact", "col_estimate"),
    "cohort": ("s06_impact", "col_cohort"),
    "joined_on": ("s06_impact", "col_joined"),
    "first_exposed_period": ("s06_impact", "col_exposed"),
    "first_full_period": ("s06_impact", "col_full"),
    "pct_change": ("s06_impact", "col_pct"),
    "n_per_round": ("s06_impact", "col_needed"),
    "change": ("s05_process", "col_change"),
    "alternative": ("s00_selection", "col_alternative"),
    "month": ("territoria.figures", "month_axis"),
    "yes": ("s03_agenda", "yes"),  # the words of booleans
    "no": ("s03_agenda", "no"),
    "pair": ("s03_agenda", "col_pair"),
    "agreement": ("s04_followup", "col_agreement"),
}


def column_name(column, lang: str = "es") -> str:
    """The header a reader sees for a column code: the step's own name for it
    (:data:`STEP_COLUMNS`), else the vocabulary's (:data:`territoria.vocabulary.COLUMNS`); an
    unknown code is shown with spaces instead of underscores.

    >>> column_name("mean_gic", "es"), column_name("n_votes", "en"), column_name("odd_col")
    ('Consenso promedio', 'Votes', 'odd col')
    """
    code = str(column)
    known = _NAMES.get((code, lang))
    if known is not None:
        return known
    if code in STEP_COLUMNS:
        module, key = STEP_COLUMNS[code]
        name = module if module.startswith("territoria.") else f"territoria.steps.{module}"
        known = tr(importlib.import_module(name).MESSAGES, key, lang)
    else:
        known = column_label(code, lang) or code.replace("_", " ")
    _NAMES[(code, lang)] = known
    return known


#: Headers already looked up (a table asks for the same few many times: "Sí", "No").
_NAMES: dict[tuple[str, str], str] = {}


def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float) and math.isnan(v))
    except TypeError:  # pragma: no cover
        return False


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _is_bool(v) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"


#: Below this a value is floating-point noise around zero (``-1.4e-17``), shown as 0.
_NOISE = 1e-12


def _num(v, *, percent: bool, digits: int, lang: str) -> str:
    if abs(float(v)) < _NOISE:
        v = 0.0
    if percent:
        s = f"{100 * float(v):.{digits}f}"
        s = s.lstrip("-") if float(s) == 0 else s
        return s + (" %" if lang == "es" else "%")
    v = float(v)
    if v.is_integer():
        return f"{int(v):,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    s = f"{v:.{digits}f}"
    if float(s) == 0 and v != 0:  # a small value: two significant digits, never "0.00"
        s = f"{v:.2g}"
    return s.lstrip("-") if float(s) == 0 else s


def _cell(v, lang: str, *, percent=False, digits=2, count=False, pvalue=False) -> str:
    if _missing(v):
        return "—"
    if _is_bool(v):
        return column_name("yes" if v else "no", lang)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, (int, float)) or type(v).__module__ == "numpy":
        try:
            f = float(v)
        except (TypeError, ValueError):
            return str(v)
        if math.isinf(f):
            return "∞" if f > 0 else "−∞"
        if count and f.is_integer():
            return f"{int(f):,}"
        if pvalue:
            return "< 0.001" if f < 0.001 else f"{f:.3f}"
        return _num(f, percent=percent, digits=digits, lang=lang)
    text = str(v)
    return text if text.strip() else "—"


def _intervals(cols: list[str]) -> dict[str, tuple[str, str]]:
    """low column -> (estimate column, high column) of each interval in ``cols``."""
    out = {}
    for i, c in enumerate(cols):
        for lo_suffix, hi_suffix in (("ci_low", "ci_high"), ("_low", "_high")):
            if not c.endswith(lo_suffix):
                continue
            base = c[: -len(lo_suffix)]
            high = base + hi_suffix
            if high not in cols:
                continue
            primary = base.rstrip("_")
            if primary not in cols:
                primary = cols[i - 1] if i > 0 and cols[i - 1] != high else ""
            out[c] = (primary, high)
            break
    return out


def _language_columns(cols: list[str], lang: str) -> tuple[dict[str, str], set[str]]:
    """Chosen language column -> its base name; columns dropped (other languages, codes)."""
    drop: set[str] = set()
    keep: dict[str, str] = {}
    bases: dict[str, list[str]] = {}
    for c in cols:
        m = re.match(r"^(.+)_([a-z]{2,3})$", c)
        if m and (m.group(2) in _LANGS or m.group(2) == lang):
            bases.setdefault(m.group(1), []).append(c)
    for base, variants in bases.items():
        chosen = f"{base}_{lang}" if f"{base}_{lang}" in variants else (
            f"{base}_es" if f"{base}_es" in variants else variants[0])
        keep[chosen] = base
        drop.update(v for v in variants if v != chosen)
        if base in cols:
            drop.add(base)
    return keep, drop


def _order_columns(df: pd.DataFrame, lang: str) -> tuple[list[str], dict[str, str]]:
    """Columns shown, in order, and the header key of each language column. Changes ``df``:
    a label missing its code (``P-07-291-07``) gets it in parentheses."""
    cols = [str(c) for c in df.columns]
    keep, drop = _language_columns(cols, lang)
    label_col = next((c for c, b in keep.items() if b == "label"), None)
    if label_col is not None:
        before = cols[:cols.index(label_col)]
        named = [c for c in before if c in LABELLED_CODES and c not in drop]
        for code in CODES_IN_LABEL:  # the label carries the code: one column says both
            if code in cols and code not in drop:
                lab, ids = df[label_col].astype(str), df[code].astype(str)
                has = [i in x for i, x in zip(ids, lab, strict=True)]
                df[label_col] = [x if h or i in ("", "nan", "None") else f"{x} ({i})"
                                 for x, i, h in zip(lab, ids, has, strict=True)]
                named.append(code)
        drop.update(named)
        if named:  # the label says what the dropped code said: it takes its header and place
            keep[label_col] = LABEL_HEADER.get(named[-1], named[-1])
            first = min(cols.index(c) for c in named)
            if first < cols.index(label_col):
                cols.remove(label_col)
                cols.insert(first, label_col)
    drop.update(c for c in INTERNAL if c in cols)
    return [c for c in cols if c not in drop], keep


def table(frame: pd.DataFrame | pd.Series, lang: str = "es", *, percent: Iterable[str] = (),
          names: Mapping[str, str] | None = None, drop: Iterable[str] = (), max_rows: int = 60,
          percent_rows=None, row_names: Mapping[str, str] | None = None) -> Table:
    """Format ``frame`` for a reader (see the module notes for the rules).

    Parameters
    ----------
    frame : DataFrame, Series or dict
        A result table (a dict is one row); a named index (``year``, a pivot's rows) is shown as a first column,
        a plain row number is not.
    lang : str
        The notebook's language.
    percent : iterable of str
        Columns holding shares (0 to 1), shown as percentages with their intervals.
    names : mapping, optional
        Column (or the base of language columns: ``label``) -> the column code whose header
        it takes, for columns whose code says little (``{"x": "date", "y": "consensus"}``).
    drop : iterable of str
        More columns to leave out.
    max_rows : int
        Rows shown; a sentence says how many more there are.
    percent_rows : array of bool, optional
        Rows whose numbers are all shares (an indicators table mixing units).
    row_names : mapping, optional
        Values of the first column to replace (indicator ids by their names).

    Returns
    -------
    Table
    """
    return tables(frame, (lang,), percent=percent, names=names, drop=drop, max_rows=max_rows,
                  percent_rows=percent_rows,
                  row_names=None if row_names is None else {lang: row_names})[lang]


def tables(frame, langs: Iterable[str], *, percent: Iterable[str] = (),
           names: Mapping[str, str] | None = None, drop: Iterable[str] = (), max_rows: int = 60,
           percent_rows=None, row_names: Mapping[str, Mapping[str, str]] | None = None,
           labels: Mapping[str, Mapping[object, Mapping[str, str]]] | None = None
           ) -> dict[str, Table]:
    """:func:`table` in each of ``langs``, reading the frame once (the work common to the
    languages is done once). ``row_names``: language -> the first column's values to
    replace; ``labels``: column -> code -> its text in each language (``{"level":
    {"city": {"es": "Todo el programa", "en": "Whole programme"}}}``), for the codes a column
    holds; the other parameters are :func:`table`'s."""
    langs = [check_language(lg) for lg in langs]
    if isinstance(frame, Mapping):  # one row of results (a dict)
        frame = pd.DataFrame([frame])
    df = frame.to_frame() if isinstance(frame, pd.Series) else frame
    if not isinstance(df.index, pd.RangeIndex) or any(n is not None for n in df.index.names):
        df = df.reset_index()
    df = df.copy()
    df.columns = [("" if str(c) == "index" else str(c)) if not isinstance(c, tuple)
                  else " · ".join(str(x) for x in c if str(x)) for c in df.columns]
    suppressed = (df["suppressed"].fillna(False).astype(bool).to_numpy()
                  if "suppressed" in df else [False] * len(df))
    pct_rows = ([bool(x) for x in percent_rows] if percent_rows is not None
                else [False] * len(df))
    drop = set(drop)
    percent = set(percent)
    names = dict(names or {})
    layouts = {}
    for lang in langs:
        cols, lang_cols = _order_columns(df, lang)
        layouts[lang] = ([c for c in cols if c not in drop], lang_cols)
    shown = df.iloc[:max_rows]
    needed = list(dict.fromkeys(c for cols, _ in layouts.values() for c in cols))
    if len(df) and not any(suppressed):  # a column with nothing in it says nothing
        empty = df[needed].isna().all()
        needed = [c for c in needed if not empty[c]]
    values = {c: shown[c].tolist() for c in needed}
    kind = {c: df[c].dtype.kind for c in needed}
    more = len(df) - len(shown)
    out = {}
    for lang in langs:
        cols = [c for c in layouts[lang][0] if c in values]
        said = {c: [(named.get(v) or {}).get(lang, v) if isinstance(v, Hashable) else v
                    for v in values[c]]
                for c, named in (labels or {}).items() if c in values}
        out[lang] = _one_table(cols, layouts[lang][1], {**values, **said}, kind, len(shown),
                               more, lang,
                               suppressed=suppressed, pct_rows=pct_rows, percent=set(percent),
                               names=names, row_names=(row_names or {}).get(lang))
    return out


def _one_table(cols, lang_cols, values, kind, n_rows, more, lang, *, suppressed, pct_rows,
               percent, names, row_names) -> Table:
    """The table in ``lang`` from the columns' values (``tables`` read them once)."""
    intervals = _intervals(cols)
    highs = {h for _, h in intervals.values()}
    for low, (primary, high) in intervals.items():
        if primary in percent:
            percent.update((low, high))
    headers, out_cols = [], []
    for c in cols:
        if c in highs:
            continue
        if c in intervals:
            key = "ci"
        else:
            key = names.get(c) or names.get(lang_cols.get(c, c)) or lang_cols.get(c, c)
        headers.append(column_name(key, lang) if c else "")
        out_cols.append(c)
    first = out_cols[0] if out_cols else None
    kinds = {c: (bool(_COUNT.match(c)), bool(_PVALUE.match(c))) for c in out_cols}
    said = {"suppressed": tr(MESSAGES, "suppressed", lang)}
    rows = []
    for i in range(n_rows):
        digits = {}
        for low, (primary, high) in intervals.items():
            pct = primary in percent or pct_rows[i]
            lo, hi = values[low][i], values[high][i]
            finite = _finite(lo) and _finite(hi)
            d = digits_for(lo, hi, pct) if finite else (1 if pct else 2)
            digits[low] = digits[primary] = d
        cells = []
        for c in out_cols:
            pct = c in percent or (pct_rows[i] and not kinds[c][0])
            if c in intervals:
                high = intervals[c][1]
                lo, hi = values[c][i], values[high][i]
                if _missing(lo) or _missing(hi):
                    cells.append(said["suppressed"] if suppressed[i] else "—")
                    continue
                fl = _cell(lo, lang, percent=pct, digits=digits[c])
                fh = _cell(hi, lang, percent=pct, digits=digits[c])
                cells.append(tr(MESSAGES, "flat", lang, v=fl) if fl == fh
                             else tr(MESSAGES, "interval", lang, lo=fl, hi=fh))
                continue
            v = values[c][i]
            if _missing(v) and suppressed[i]:
                cells.append(said["suppressed"])
                continue
            if c == first and row_names and isinstance(v, str) and v in row_names:
                v = row_names[v]
            elif c == first and isinstance(v, str) and not c:
                v = column_name(v, lang)  # describe(): count, mean, std...
            if c == "year" and _finite(v):
                cells.append(str(int(float(v))))
                continue
            cells.append(_cell(v, lang, percent=pct, digits=digits.get(c, 1 if pct else 2),
                               count=kinds[c][0], pvalue=kinds[c][1]))
        rows.append(cells)
    numeric = [c in intervals or (kind[c] in "iuf") for c in out_cols]
    return Table(headers, rows, _html(headers, rows, numeric, more, lang), more, lang)


def _html(headers, rows, numeric, more, lang) -> str:
    num_class = ' class="num"'

    def th(h, num):
        return f'<th scope="col"{num_class if num else ""}>{escape(h)}</th>'

    def td(v, num):
        return f'<td{num_class if num else ""}>{escape(v)}</td>'

    head = "".join(th(h, n) for h, n in zip(headers, numeric, strict=True))
    body = "".join("<tr>" + "".join(td(v, n) for v, n in zip(r, numeric, strict=True))
                   + "</tr>" for r in rows)
    note = (f'<p class="note">{escape(tr(MESSAGES, "more_rows", lang, n=more))}</p>'
            if more > 0 else "")
    if not rows:
        note = f'<p class="note">{escape(tr(MESSAGES, "no_rows", lang))}</p>'
    return (f'<div class="tablewrap"><table class="territoria-table"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table></div>{note}")


def _text(headers, rows, more, lang) -> str:
    widths = [max([len(h), *(len(r[j]) for r in rows)]) for j, h in enumerate(headers)]
    lines = [" | ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
             for line in [headers, *rows]]
    if more > 0:
        lines.append(tr(MESSAGES, "more_rows", lang, n=more))
    return "\n".join(lines)


def emit(out: Versions) -> None:
    """Display ``out`` in Jupyter (every language, the notebook's shown); print it elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        print(out)
        return
    if get_ipython() is None:
        print(out)
    else:
        display(out)


def _languages(lang: str) -> tuple[str, ...]:
    """The versions an output carries: the site's languages, and the notebook's."""
    return LANGUAGES if lang in LANGUAGES else (*LANGUAGES, lang)


def table_versions(frame, lang: str = "es", **kwargs) -> Versions:
    """``frame`` formatted (:func:`table`) in every site language, for :func:`show`.

    ``frame`` may also be a mapping language -> frame, for a step function that labels its
    rows in one language (``{lg: s05.stage_scores(q, lang=lg) for lg in ("es", "en")}``).
    """
    check_language(lang)
    langs = _languages(lang)
    if isinstance(frame, Mapping) and frame and all(
            isinstance(v, (pd.DataFrame, pd.Series)) for v in frame.values()):
        per = {lg: table(frame.get(lg, frame.get("es", next(iter(frame.values())))), lg,
                         **kwargs) for lg in langs}
    else:
        per = tables(frame, langs, **kwargs)
    return Versions({lg: t.html for lg, t in per.items()},
                    {lg: t.text for lg, t in per.items()}, lang)


def show(frame, lang: str = "es", **kwargs) -> None:
    """Display ``frame`` formatted (:func:`table`) in Jupyter; print it elsewhere.

    The display holds the table in every site language, the notebook's ``lang`` shown and
    the others hidden (:mod:`territoria.bilingual`), so the annex page built from the
    executed notebook follows the site's language switch. About 1.2 times the time of one
    language (the frame is read once; see :func:`tables`).
    """
    emit(table_versions(frame, lang, **kwargs))


def _paragraphs(text) -> tuple[str, str]:
    """HTML and plain text of a message: a string (its lines kept), or a list (bullets)."""
    if isinstance(text, str):
        return "<br>".join(escape(t) for t in text.splitlines()), text
    items = [str(t) for t in text]
    return ("<ul>" + "".join(f"<li>{escape(t)}</li>" for t in items) + "</ul>",
            "\n".join(f"• {t}" for t in items))


def message(es, en, lang: str = "es", **fmt) -> Versions | None:
    """A message in both languages (see :func:`say`), or None when both are empty lists."""
    check_language(lang)
    if not isinstance(es, str) and not list(es) and not list(en):
        return None

    def value(v, lg):
        per_language = isinstance(v, Mapping) and v and set(v) <= {*LANGUAGES, lang}
        return v.get(lg, v.get("es")) if per_language else v

    html, text = {}, {}
    for lg, t in (("es", es), ("en", en)):
        if fmt and isinstance(t, str):
            t = t.format(**{k: value(v, lg) for k, v in fmt.items()})
        html[lg], text[lg] = _paragraphs(t)
    return Versions(html, text, lang)


def say(es, en, lang: str = "es", **fmt) -> None:
    """Print a message in the notebook's language, with its other version for the site.

    Parameters
    ----------
    es, en : str or list of str
        The message in Spanish and in English; ``str.format`` templates when ``fmt`` is
        given. A list is shown as bullets (nothing is shown when both are empty).
    lang : str
        The notebook's language (another language shows the Spanish).
    **fmt
        Values for the templates; a mapping whose keys are languages (:func:`place`) gives
        each version its own value.

    Examples
    --------
    >>> say("Hogares: {n:,}", "Households: {n:,}", "en", n=1093)
    Households: 1,093
    >>> say("{where}", "{where}", "es", where={"es": "Zona 1", "en": "Zone 1"})
    Zona 1
    """
    out = message(es, en, lang, **fmt)
    if out is not None:
        emit(out)


def place(ctx, info=None) -> dict[str, str]:
    """Where a notebook is, in each site language: the territory's id, name and zone
    (``info``: its catalogue row, ``territory_info``), else the city's name. For
    :func:`say`'s templates."""
    from territoria.report import names as site_names

    if info is None:
        return {lg: ctx.config.city_name(lg) for lg in LANGUAGES}
    zones = site_names.zones_by_id(ctx.store, ctx.config)
    zone = zones.get(str(info.get("zone_id")), {})
    return {lg: f"{info['territory_id']} {info['name']} · "
                f"{zone.get(lg) or info.get('zone_name') or ''}".rstrip(" ·")
            for lg in LANGUAGES}


def zone_names(ctx) -> dict[str, dict[str, str]]:
    """Each zone's stored name -> its name in each site language (``city.yml: zones``, the
    zones file's ``name_en``), for the tables that carry zone names."""
    from territoria.report import names as site_names

    return site_names.zone_translations(ctx.store, ctx.config)


def _image(fig, alt: str) -> str:
    """A figure as an ``<img>``: a site chart (SVG) as it shows itself, a Matplotlib figure as
    a PNG (closed afterwards, so Jupyter does not show it again)."""
    html = fig._repr_html_() if hasattr(fig, "_repr_html_") else None
    if isinstance(html, str):  # a site chart (Matplotlib's figures answer None)
        return html
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        pass
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" '
            'style="max-width:100%;height:auto">')


def figure_versions(draw, *args, lang: str = "es", **kwargs) -> Versions:
    """A figure and its description in every site language (see :func:`show_figure`)."""
    check_language(lang)
    html, text = {}, {}
    for lg in _languages(lang):
        fig, alt = draw(*args, lang=lg, **kwargs)
        alt = str(alt or "")
        html[lg] = (_image(fig, alt) if fig is not None else "") + f"<p>{escape(alt)}</p>"
        text[lg] = alt
    return Versions(html, text, lang)


def show_figure(draw, *args, lang: str = "es", **kwargs) -> None:
    """Show a figure and its description in the notebook's language, with the other
    versions for the site: ``draw(*args, lang=..., **kwargs)`` is called once per language
    and returns ``(figure, description)`` (the steps' ``*_figure``/``*_plot`` functions).

    A site chart costs about 1 ms a language; a Matplotlib figure is drawn to PNG per
    language (the step functions' Matplotlib figures are the city steps' maps and series).
    """
    emit(figure_versions(draw, *args, lang=lang, **kwargs))


def indicator_names(lang: str = "es") -> tuple[dict[str, str], set[str]]:
    """Indicator id -> its name in ``lang``, and the ids shown as percentages (catalogue)."""
    from territoria.report.catalogue import load_catalogue

    cat = load_catalogue()
    return ({k: i.name(lang) for k, i in cat.items()},
            {k for k, i in cat.items() if i.percent or i.unit == "share"})


def warm_cache() -> None:
    """Read the indicator catalogue now: the pipeline's fork server calls this once, so each
    notebook it forks finds the catalogue read (:func:`show_indicators`)."""
    indicator_names()


def show_indicators(frame: pd.DataFrame, lang: str = "es", **kwargs) -> None:
    """:func:`show` for a table whose rows are indicators (``StepResult.indicators_frame()``,
    or indicators as the index): each id by its catalogue name, shares as percentages."""
    check_language(lang)
    names = {lg: indicator_names(lg)[0] for lg in _languages(lang)}
    shares = indicator_names(lang)[1]
    ids = frame["name"] if "name" in frame else pd.Series(frame.index, index=frame.index)
    is_share = ids.isin(shares)
    if "unit" in frame:
        is_share = is_share | frame["unit"].isin(["share", "proportion"])
    show(frame, lang, row_names=names, percent_rows=is_share.to_numpy(),
         names={"name": "indicator", **kwargs.pop("names", {})}, **kwargs)
