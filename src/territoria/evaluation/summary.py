"""Plain-language findings: what an evaluation says, for the report and for a community assembly.

:func:`display` turns a recorded value into words residents read (percentages, percentage
points, % change of crime); :func:`findings` gathers, for one territory (or for the whole
plan), one finding per question: the question, the territory's figures with their intervals
and n next to the figure for all territories of the plan, the finding's code for the feedback
form, and the residents' reading when feedback has been ingested (shares with n, suppressed
below the minimum cell; explanations only counted).

Examples
--------
>>> display("wb_unsafe_change", "share", -0.092, -0.107, -0.078, "es")
('-9.2 puntos', '-10.7 a -7.8')
>>> display("crime_att_cs_never", "log", -0.0617, -0.1533, 0.0298, "en")
('-6.0%', '-14.2 to +3.0')
>>> display("pct_unsafe_colonia", "share", 0.77, 0.762, 0.778, "es")
('77.0 %', '76.2 a 77.8')
"""

from __future__ import annotations

import math

import pandas as pd

from territoria.evaluation.feedback import MESSAGES as FB_MESSAGES
from territoria.evaluation.feedback import RESPONSES, finding_id
from territoria.evaluation.methods import label
from territoria.i18n import catalogue, tr

__all__ = ["display", "findings", "PlanFindings", "MESSAGES"]

MESSAGES = catalogue(__name__)


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def display(indicator: str, unit, value, lo, hi, lang: str = "es") -> tuple[str, str]:
    """``(value, interval)`` as text for residents.

    Shares are percentages; changes of a share are percentage points; effects on
    ``log(1 + crime)`` are shown as % change (100 (e^b - 1)); other values with two decimals
    (signed for changes).
    """
    v, a, b = _num(value), _num(lo), _num(hi)
    to = tr(MESSAGES, "to", lang)
    change = indicator.endswith("_change") or indicator.startswith("crime_")
    if v is None:
        return "—", ""
    if unit == "log":
        f = (lambda x: 100 * (math.exp(x) - 1))  # noqa: E731
        sfx = " %" if lang == "es" else "%"
        txt = f"{f(v):+.1f}{sfx}"
        ci = f"{f(a):+.1f} {to} {f(b):+.1f}" if a is not None and b is not None else ""
        return txt, ci
    if unit == "share" and change:
        txt = f"{100 * v:+.1f} {tr(MESSAGES, 'pp', lang)}"
        ci = f"{100 * a:+.1f} {to} {100 * b:+.1f}" if a is not None and b is not None else ""
        return txt, ci
    if unit == "share":
        sfx = " %" if lang == "es" else "%"
        ci = f"{100 * a:.1f} {to} {100 * b:.1f}" if a is not None and b is not None else ""
        return f"{100 * v:.1f}{sfx}", ci
    fmt = "{:+.2f}" if change else "{:.2f}"
    ci = (f"{fmt.format(a)} {to} {fmt.format(b)}" if a is not None and b is not None else "")
    return fmt.format(v), ci


def _basis(method: str, indicator: str, lang: str) -> str:
    if method == "its":
        return tr(MESSAGES, "months", lang)
    if method == "staggered_did":
        return tr(MESSAGES, "territories", lang)
    if indicator == "followup_fulfilment_rate":
        return tr(MESSAGES, "agreements", lang)
    return tr(MESSAGES, "people", lang)


def _figure(row, method: str, min_cell: int) -> dict:
    out = {}
    for lang in ("es", "en"):
        if bool(row["suppressed"]) or _num(row["value"]) is None:
            out[lang] = {"value": "—", "ci": "", "n": "",
                         "note": tr(MESSAGES, "suppressed", lang, m=min_cell)}
            continue
        v, ci = display(row["indicator"], row["unit"], row["value"], row["ci_low"],
                        row["ci_high"], lang)
        n = _num(row["n"])
        out[lang] = {"value": v, "ci": ci, "note": "",
                     "n": f"{int(n):,} {_basis(method, row['indicator'], lang)}" if n else ""}
    return out


def _key(territory_id):
    """A territory id, or ``None`` for the rows of the plan as a whole (None or NaN)."""
    return None if territory_id is None or isinstance(territory_id, float) else territory_id


def _reading(r: dict | None, min_cell: int) -> dict:
    """Residents' reading of one finding (``r``: its row of ``evaluation_feedback``)."""
    out = {}
    for lang in ("es", "en"):
        if r is None:
            out[lang] = {"head": tr(MESSAGES, "fb_none", lang), "shares": [], "text": ""}
            continue
        if bool(r["suppressed"]):
            out[lang] = {"head": tr(MESSAGES, "fb_sup", lang, m=min_cell), "shares": [],
                         "text": ""}
            continue
        shares = [{"label": tr(FB_MESSAGES, k, lang), "key": k,
                   "value": f"{100 * float(r[f'share_{k}']):.0f}" + (" %" if lang == "es"
                                                                      else "%")}
                  for k in RESPONSES if _num(r[f"share_{k}"]) is not None]
        k_text = _num(r["n_explanations"])
        out[lang] = {"head": tr(MESSAGES, "fb_head", lang, n=int(r["n"])), "shares": shares,
                     "text": tr(MESSAGES, "fb_text", lang, k=int(k_text)) if k_text else ""}
    return out


class PlanFindings:
    """The findings of one plan, its tables read once: :meth:`for_territory` then gives a
    territory's (or the plan's) findings without going through the tables again, so a plan
    with thousands of territories costs each page its own rows only.

    Parameters
    ----------
    results, questions, feedback, plan, min_cell
        As for :func:`findings`.
    """

    def __init__(self, results: pd.DataFrame, questions: pd.DataFrame,
                 feedback: pd.DataFrame | None, *, plan: str, min_cell: int):
        self.plan = plan
        self.min_cell = min_cell
        self.questions = [q for q in questions.sort_values("position").to_dict("records")
                          if q["status"] == "ok"]
        self.rows: dict = {}  # (question, territory or None) -> rows, in the table's order
        for r in results.to_dict("records"):
            self.rows.setdefault((r["question"], _key(r["territory_id"])), []).append(r)
        self.feedback: dict = {}  # (question, territory or None) -> its first row
        if feedback is not None and len(feedback):
            for r in feedback.to_dict("records"):
                self.feedback.setdefault((r["question"], _key(r["territory_id"])), r)

    def territories(self) -> list[str]:
        """Territories with figures of their own, sorted."""
        return sorted({t for _, t in self.rows if t is not None})

    def _figures(self, q: dict, where: str | None) -> list[dict]:
        return [{"indicator": r["indicator"], "grp": r["grp"],
                 "label": {lg: label(r["indicator"], lg) for lg in ("es", "en")},
                 **_figure(r, q["method"], self.min_cell)}
                for r in self.rows.get((q["question"], where), [])]

    def for_territory(self, territory_id: str | None) -> list[dict]:
        """One finding per question answered (see :func:`findings`)."""
        out = []
        for q in self.questions:
            qid = q["question"]
            out.append({"code": finding_id(self.plan, qid), "question": qid,
                        "text": {"es": q["text_es"], "en": q["text_en"] or q["text_es"]},
                        "method": q["method"],
                        "local": [] if territory_id is None else self._figures(q, territory_id),
                        "overall": self._figures(q, None),
                        "answer": {"es": q["answer_es"], "en": q["answer_en"] or q["answer_es"]},
                        "limits": {"es": q["limits_es"], "en": q["limits_en"] or q["limits_es"]},
                        "reading": _reading(self.feedback.get((qid, territory_id)),
                                            self.min_cell)})
        return out


def findings(results: pd.DataFrame, questions: pd.DataFrame, feedback: pd.DataFrame | None,
             *, plan: str, territory_id: str | None, min_cell: int) -> list[dict]:
    """One finding per question for a territory (``None``: the plan as a whole).

    Parameters
    ----------
    results : DataFrame
        The plan's rows of ``evaluation_results``.
    questions : DataFrame
        The plan's rows of ``evaluation_questions`` (in order).
    feedback : DataFrame or None
        The plan's rows of ``evaluation_feedback``.
    plan : str
    territory_id : str or None
    min_cell : int

    Returns
    -------
    list of dict
        ``code`` (for the feedback form), ``question`` ({es, en}), ``local`` (figures of
        the territory, each with ``label``, and ``es``/``en`` value, interval, n),
        ``overall`` (figures for all territories), ``answer`` ({es, en}), ``reading``
        (residents' feedback, {es, en}).

    See Also
    --------
    PlanFindings : the same for many territories of one plan, its tables read once.
    """
    return PlanFindings(results, questions, feedback, plan=plan,
                        min_cell=min_cell).for_territory(territory_id)
