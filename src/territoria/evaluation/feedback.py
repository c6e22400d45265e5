"""Residents' reading of each finding: the ``territoria_feedback`` form, aggregated.

At a community assembly the territory's plain-language summary is read aloud; for each finding
(code ``<plan>.<question>``, printed on the summary) residents answer whether it matches their
experience (``yes``, ``partly``, ``no``, ``dont_know``) and what explains it (free text). The
Kobo export is ingested like any kit form (``territoria ingest``): the answers land in the
store table ``feedback`` and the free text, separately, in ``feedback__freetext``.

What reaches the report is only :func:`aggregate`: per finding and territory (and for all
territories of the plan), the number of answers and the share of each reading; cells with
fewer answers than the minimum cell size are suppressed; of the free text only the *number*
of explanations is published, never the words.

Examples
--------
>>> finding_id("crime_impact", "did")
'crime_impact.did'
>>> import pandas as pd
>>> fb = pd.DataFrame({"_uuid": list("abcdef"), "territory": ["07-001"] * 6,
...                    "finding": ["p.q"] * 6,
...                    "matches": ["yes", "yes", "partly", "no", "yes", "dont_know"]})
>>> agg = aggregate(fb, None, plan="p", min_cell=5)
>>> agg[agg["territory_id"] == "07-001"][["n", "share_yes", "suppressed"]].values.tolist()
[[6, 0.5, False]]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from territoria.analysis.process_eval import wilson_ci
from territoria.i18n import catalogue

__all__ = ["RESPONSES", "FORM_ID", "TABLE", "finding_id", "aggregate", "from_store",
           "FEEDBACK_COLUMNS"]

FORM_ID = "territoria_feedback"
TABLE = "feedback"
RESPONSES = ("yes", "partly", "no", "dont_know")
FINDING_PATTERN = r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_]*$"
FEEDBACK_COLUMNS = ["plan", "question", "territory_id", "n", "suppressed", "n_explanations",
                    *[f"share_{r}" for r in RESPONSES], "yes_ci_low", "yes_ci_high"]

MESSAGES = catalogue(__name__)


def finding_id(plan: str, question: str) -> str:
    """The code residents write on the feedback form for a finding."""
    return f"{plan}.{question}"


def aggregate(feedback: pd.DataFrame, freetext: pd.DataFrame | None, *, plan: str,
              min_cell: int = 5) -> pd.DataFrame:
    """Shares of each reading per finding and territory (and over all territories).

    Parameters
    ----------
    feedback : DataFrame
        The ``feedback`` table: ``_uuid``, ``territory``, ``finding``, ``matches``.
    freetext : DataFrame or None
        ``feedback__freetext`` (``_uuid``, ``explanation``); only counted.
    plan : str
        Keep the findings of this plan.
    min_cell : int
        Cells with fewer answers are suppressed (shares and counts set to missing).

    Returns
    -------
    DataFrame
        ``plan``, ``question``, ``territory_id`` (None = all territories), ``n``,
        ``suppressed``, ``n_explanations``, ``share_yes``, ``share_partly``, ``share_no``,
        ``share_dont_know``, ``yes_ci_low``, ``yes_ci_high`` (Wilson interval of the share
        "yes").
    """
    if feedback is None or feedback.empty or "finding" not in feedback.columns:
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    fb = feedback.copy()
    fb["finding"] = fb["finding"].astype("string").str.strip()
    pat = re.compile(rf"^{re.escape(plan)}\.([a-z][a-z0-9_]*)$")
    q = fb["finding"].map(lambda s: (m.group(1) if isinstance(s, str) and (m := pat.match(s))
                                     else None))
    fb = fb.assign(question=q).dropna(subset=["question"])
    if fb.empty:
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    fb["matches"] = fb["matches"].astype("string")
    has_text = set()
    if freetext is not None and not freetext.empty and "explanation" in freetext.columns:
        txt = freetext["explanation"].astype("string").str.strip()
        has_text = set(freetext.loc[txt.notna() & (txt != ""), "_uuid"].astype(str))
    fb["_text"] = fb["_uuid"].astype(str).isin(has_text) if "_uuid" in fb.columns else False
    rows = []
    for question, part in fb.groupby("question", sort=True):
        groups = [(None, part), *part.groupby(part["territory"].astype(str), sort=True)]
        for tid, g in groups:
            valid = g[g["matches"].isin(RESPONSES)]
            n = len(valid)
            sup = n < min_cell
            row = {"plan": plan, "question": question, "territory_id": tid, "n": n,
                   "suppressed": sup, "n_explanations": None if sup else int(g["_text"].sum())}
            for r in RESPONSES:
                row[f"share_{r}"] = (None if sup or n == 0
                                     else float((valid["matches"] == r).mean()))
            k = int((valid["matches"] == "yes").sum())
            lo, hi = wilson_ci(k, n) if n and not sup else (np.nan, np.nan)
            row["yes_ci_low"], row["yes_ci_high"] = (None if sup else lo), (None if sup else hi)
            if sup:
                row["n"] = None if n else 0
            rows.append(row)
    return pd.DataFrame(rows, columns=FEEDBACK_COLUMNS).astype({"territory_id": object})


def from_store(store, plan: str, min_cell: int = 5) -> pd.DataFrame:
    """:func:`aggregate` on the store's ``feedback`` tables (empty if none was ingested)."""
    if not store.has_table(TABLE):
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    cols = [c for c in ("_uuid", "territory", "finding", "matches") if c in store.columns(TABLE)]
    fb = store.query("SELECT " + ", ".join(f'"{c}"' for c in cols) + f' FROM "{TABLE}"')
    ft = (store.query(f'SELECT _uuid, explanation FROM "{TABLE}__freetext"')
          if store.has_table(f"{TABLE}__freetext")
          and "explanation" in store.columns(f"{TABLE}__freetext") else None)
    return aggregate(fb, ft, plan=plan, min_cell=min_cell)
