r"""What the evaluation notebook says, in Spanish and English at once.

The executed evaluation notebook (``notebooks/evaluation.ipynb``) is published on the site,
where a language switch shows one language at a time
(:mod:`territoria.evaluation.notebook_page`). A message or table printed in the language the
notebook ran in would leave the other language's page without it; so the notebook shows its
messages and tables through this module: each is a :class:`Both`, whose HTML holds the
Spanish and the English version (``<div lang="es">``, ``<div lang="en">``, inside
``<div class="both-languages">``, the mark the page reads) and whose plain text (a terminal,
a log) is in the notebook's language. Texts come from the module's catalogue
(``messages/evaluation.narration.yml``). Files are named relative to the workspace or the kit
(:func:`territoria.config.shown_path`), never by a folder of the machine that ran them.

Examples
--------
>>> b = Both({"es": "<p>Hola</p>", "en": "<p>Hello</p>"}, "Hello")
>>> b._repr_html_()
'<div class="both-languages"><div lang="es"><p>Hola</p></div><div lang="en"><p>Hello</p></div></div>'
>>> repr(b)
'Hello'
>>> saved("/srv/ws/output/evaluations/p/q.results.json", "/srv/ws", "es").text
'Resultado guardado en output/evaluations/p/q.results.json'
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from territoria.config import shown_path
from territoria.evaluation.methods import QuestionResult, is_percent, label
from territoria.evaluation.plan import Plan, uncatalogued
from territoria.i18n import catalogue, tr

__all__ = ["Both", "LANGUAGES", "MARK", "the_plan", "the_answer", "by_territory", "detail",
           "saved", "say"]

MESSAGES = catalogue(__name__)
#: The languages of every message (the site's).
LANGUAGES = ("es", "en")
#: The class of the element holding both versions (:mod:`territoria.evaluation.notebook_page`).
MARK = "both-languages"


@dataclass(frozen=True)
class Both:
    """A notebook output in both languages: ``html`` per language and ``text`` in the
    notebook's own language (for a terminal)."""

    html: dict
    text: str

    def _repr_html_(self) -> str:
        parts = "".join(f'<div lang="{lang}">{self.html[lang]}</div>' for lang in LANGUAGES)
        return f'<div class="{MARK}">{parts}</div>'

    def __repr__(self) -> str:
        return self.text


_CODE_OPEN, _CODE_CLOSE = "\x00", "\x01"


def _code(text: str) -> str:
    """``text`` (an id, a table's name) marked to be shown as code."""
    return f"{_CODE_OPEN}{text}{_CODE_CLOSE}"


def _p(text: str) -> str:
    body = html.escape(text).replace(_CODE_OPEN, "<code>").replace(_CODE_CLOSE, "</code>")
    return f"<p>{body}</p>"


def _lines(make, lang: str) -> Both:
    """A :class:`Both` of paragraphs: ``make(lang)`` gives the lines of one language, with
    the parts marked by :func:`_code` shown as code."""
    plain = "\n".join(make(lang)).replace(_CODE_OPEN, "").replace(_CODE_CLOSE, "")
    return Both({lg: "".join(_p(t) for t in make(lg)) for lg in LANGUAGES}, plain)


def the_plan(plan: Plan, question: str, lang: str = "es") -> Both:
    """The plan's title, the question, its method, outcome, indicators and sources, and a
    warning for each of its indicators not yet in the methodology catalogue."""
    q = plan.question(question)
    at = f"questions[{plan.questions.index(q)}]."
    missing = [(key, ind) for key, ind in uncatalogued(plan) if key.startswith(at)]

    def lines(lg: str) -> list[str]:
        out = [plan.title.get(lg), f"{_code(q.id)}: {q.text.get(lg)}",
               tr(MESSAGES, "method", lg, method=_code(q.method),
                  outcome=", ".join(_code(o) for o in q.outcomes)),
               tr(MESSAGES, "indicators", lg,
                  names="; ".join(f"{label(i, lg)} ({_code(i)})" for i in q.indicators)),
               tr(MESSAGES, "sources", lg, sources=", ".join(_code(s) for s in q.sources))]
        out += [tr(MESSAGES, "uncatalogued", lg, indicator=_code(ind), where=_code(key),
                   plan=_code(plan.where)) for key, ind in missing]
        return out

    return _lines(lines, lang)


def the_answer(result: QuestionResult, lang: str = "es") -> Both:
    """The plain-language answer and what the data cannot say."""
    def lines(lg: str) -> list[str]:
        return [result.answer.get(lg) or result.answer.get("es", ""),
                result.limits.get(lg) or result.limits.get("es", "")]

    return _lines(lines, lang)


def _table(frame: pd.DataFrame, lang: str, ids: pd.Series | None = None) -> Both:
    """``frame`` formatted in each language; ``ids`` (one indicator per row) shows the rows of
    shares as percentages."""
    from territoria.steps.display import table

    shares = None if ids is None else ids.map(is_percent).to_numpy(dtype=bool)
    shown = {lg: table(frame, lg, percent_rows=shares) for lg in LANGUAGES}
    return Both({lg: t.html for lg, t in shown.items()}, shown[lang].text)


def detail(result: QuestionResult, lang: str = "es") -> Both:
    """The detail table of the answer (each indicator for all the plan's territories)."""
    frame = result.detail.reset_index(drop=True)
    return _table(frame, lang, frame["indicator"] if "indicator" in frame else None)


def by_territory(result: QuestionResult, lang: str = "es", rows: int = 12) -> list[Both]:
    """How many territories have a figure and how many figures are suppressed, then the
    first ``rows`` figures by territory (none when the method gives none)."""
    frame = result.frame()
    per = frame[frame["territory_id"].notna()]
    count = _lines(lambda lg: [tr(MESSAGES, "by_territory", lg,
                                  n=int(per["territory_id"].nunique()),
                                  suppressed=int(per["suppressed"].sum()))], lang)
    if per.empty:
        return [count]
    per = per.head(rows).assign(**{f"label_{lg}": per["indicator"].head(rows).map(
        lambda i, lg=lg: label(i, lg)) for lg in LANGUAGES})
    cols = ["territory_id", "label_es", "label_en", "value", "ci_low", "ci_high", "n",
            "suppressed"]
    return [count, _table(per[cols], lang, per["indicator"])]


def saved(path, root, lang: str = "es") -> Both:
    """Where the results file was written, relative to the workspace ``root``."""
    where = _code(shown_path(path, root))
    return _lines(lambda lg: [tr(MESSAGES, "saved", lg, path=where)], lang)


def say(*shown: Both) -> None:
    """Display each in Jupyter (both languages); print its text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        get_ipython = None
    for item in shown:
        if get_ipython is not None and get_ipython() is not None:
            display(item)
        else:
            print(item.text)
