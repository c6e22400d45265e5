"""What a step notebook records: indicators and result tables, as a sidecar file.

Several notebooks run at once and DuckDB admits a single writing process, so a notebook never
writes the store. It opens the store read-only, computes, and calls :class:`Recorder`, which
writes ``output/<step>/<territory>.results.json``. The runner then loads every sidecar into the
store in one transaction (:func:`collect`).

Examples
--------
>>> import pandas as pd, tempfile
>>> from territoria.store import Store, indicator_rows
>>> d = tempfile.mkdtemp()
>>> rec = Recorder(d, step="02_diagnostic", territory_id="07-001")
>>> rec.indicator("pct_unsafe", 61.5, ci_low=55.0, ci_high=67.8, n=180, unit="%")
>>> rec.table("top_problems", pd.DataFrame({"axis": ["water"], "estimate": [0.4]}))
>>> path = rec.save()
>>> s = Store(":memory:")
>>> collect(s, [path])
1
>>> s.table("indicators")[["name", "value", "n"]].to_dict("records")
[{'name': 'pct_unsafe', 'value': 61.5, 'n': 180}]
>>> load_result_table(s, "02_diagnostic", "07-001", "top_problems").to_dict("records")
[{'axis': 'water', 'estimate': 0.4}]
"""

from __future__ import annotations

import json
import math
import os
from io import StringIO
from pathlib import Path
from typing import Any

import pandas as pd

from territoria.exceptions import StoreError
from territoria.store import Store, indicator_rows


def _clean(v):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return None if math.isnan(f) else f


class Recorder:
    """Collects a notebook's indicators and result tables, then saves them as JSON.

    Parameters
    ----------
    output_dir : path-like
        The workspace's ``output/`` folder (or any folder).
    step : str
        Step id, e.g. ``"02_diagnostic"``.
    territory_id : str or None
        None for city steps.
    """

    def __init__(self, output_dir, step: str, territory_id: str | None = None):
        self.output_dir = Path(output_dir)
        self.step = step
        self.territory_id = territory_id
        self.indicators: list[dict] = []
        self.tables: dict[str, dict] = {}

    def indicator(self, name: str, value, *, ci_low=None, ci_high=None, n=None, grp=None,
                  suppressed: bool = False, unit: str | None = None) -> None:
        """Record one indicator (value with its interval and n)."""
        self.indicators.append({
            "name": name, "grp": grp, "value": _clean(value), "ci_low": _clean(ci_low),
            "ci_high": _clean(ci_high), "n": None if n is None or _clean(n) is None else int(n),
            "suppressed": bool(suppressed), "unit": unit,
        })

    def indicators_from(self, df: pd.DataFrame, *, name_col: str = "name") -> None:
        """Record every row of a frame with columns name, value and optional ci_low, ci_high,
        n, grp, suppressed, unit."""
        for r in df.to_dict("records"):
            self.indicator(r[name_col], r.get("value"), ci_low=r.get("ci_low"),
                           ci_high=r.get("ci_high"), n=r.get("n"), grp=r.get("grp"),
                           suppressed=bool(r.get("suppressed", False)), unit=r.get("unit"))

    def table(self, key: str, df: pd.DataFrame, **meta) -> None:
        """Record a (published, already suppressed) result table under ``key``."""
        self.tables[key] = {"data": df.to_json(orient="split", date_format="iso",
                                               default_handler=str), "meta": meta}

    @property
    def path(self) -> Path:
        name = (self.territory_id or "city").replace("/", "_")
        return self.output_dir / self.step / f"{name}.results.json"

    def save(self) -> Path:
        """Write the sidecar file atomically and return its path."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"step": self.step, "territory_id": self.territory_id,
                   "indicators": self.indicators, "tables": self.tables}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, self.path)
        return self.path


def collect(store: Store, paths) -> int:
    """Load sidecar files into the store (indicators and ``results``) in one transaction.

    Every file is read before anything is written (an unreadable one raises
    :class:`StoreError` and writes nothing); then each (step, territory) in the files has its
    indicators and result tables replaced, all files at once (one delete and one insert per
    table). Returns the number of files loaded.
    """
    payloads = []
    for p in paths:
        try:
            payloads.append(json.loads(Path(p).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as e:
            raise StoreError(f"{p}: cannot read results ({e})") from None
    if not payloads:
        return 0
    last = {(p["step"], p["territory_id"]): p for p in payloads}  # a key twice: the last wins
    ind_parts: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for payload in last.values():
        step, terr = payload["step"], payload["territory_id"]
        ind = pd.DataFrame(payload["indicators"], columns=[
            "name", "grp", "value", "ci_low", "ci_high", "n", "suppressed", "unit"])
        ind["n"] = ind["n"].astype("Int64")
        ind_parts.append(indicator_rows(ind, step, terr))
        rows.extend({"territory_id": terr, "step": step, "key": k, "payload": v["data"],
                     "meta": json.dumps(v.get("meta", {}), ensure_ascii=False, default=str)}
                    for k, v in payload["tables"].items())
    keys = pd.DataFrame(list(last), columns=["step", "territory_id"], dtype="object")
    filled = [d for d in ind_parts if len(d)] or ind_parts[:1]
    with store.transaction():
        store.ensure_table("results", {"territory_id": "VARCHAR", "step": "VARCHAR",
                                       "key": "VARCHAR", "payload": "VARCHAR",
                                       "meta": "VARCHAR"})
        store.replace_rows("indicators", pd.concat(filled, ignore_index=True), keys)
        store.replace_rows("results", pd.DataFrame(
            rows, columns=["territory_id", "step", "key", "payload", "meta"]), keys)
    return len(payloads)


#: Steps whose territory indicators are tagged with the cut-off date they are at: ``grp`` holds
#: ``YYYY-MM-DD``. Step 04 rebuilds every agreement's state on one date
#: (:func:`territoria.steps.common.resolve_as_of`: its ``as_of``, else ``city.yml: period_end``,
#: else the day it ran), so its figures mean nothing without that date.
DATED_STEPS = ("04_followup",)


def at_cut_off(ind: pd.DataFrame, as_of=None, *, per_territory: bool = False) -> pd.DataFrame:
    """The indicators with the rows of the dated steps (:data:`DATED_STEPS`) taken at one
    cut-off date and read as plain territory figures.

    The cut-off kept is ``as_of`` when some territory recorded it, else the latest recorded:
    one for the whole city (figures that compare territories must be at one date; a territory
    recorded at another date is left out) or, with ``per_territory``, one per territory (what
    a territory's own page shows). The rows kept get ``grp`` None and their date in a column
    ``as_of`` (``YYYY-MM-DD``); a figure recorded twice at that date counts once (the last
    computed). The other rows are returned as they are, ``as_of`` missing.

    >>> ind = pd.DataFrame({"territory_id": ["A", "B", "C", "C"],
    ...                     "step": ["04_followup"] * 3 + ["01_network"],
    ...                     "name": ["followup_overdue"] * 3 + ["block_coverage"],
    ...                     "grp": ["2024-12-31", "2024-12-31", "2023-06-30", None],
    ...                     "value": [3.0, 1.0, 2.0, 0.5]})
    >>> at_cut_off(ind)[["territory_id", "as_of"]].values.tolist()
    [['A', '2024-12-31'], ['B', '2024-12-31'], ['C', None]]
    >>> bool(at_cut_off(ind)["grp"].isna().all())
    True
    >>> at_cut_off(ind, "2023-06-30")["territory_id"].tolist()
    ['C', 'C']
    >>> len(at_cut_off(ind, per_territory=True))
    4
    """
    out = ind.copy()
    out["as_of"] = None
    if out.empty or not {"step", "grp", "territory_id"} <= set(out.columns):
        return out
    dated = out["step"].isin(DATED_STEPS) & out["territory_id"].notna()
    dates = pd.to_datetime(out["grp"].where(dated), errors="coerce", format="%Y-%m-%d")
    dated &= dates.notna()
    if not dated.any():
        return out
    d = out[dated].assign(_date=dates[dated])
    target = None if as_of is None or not str(as_of).strip() else pd.Timestamp(as_of).normalize()

    def pick(s: pd.Series) -> pd.Timestamp:
        return target if target is not None and (s == target).any() else s.max()

    keys = ["step", "territory_id"] if per_territory else ["step"]
    d = d[d["_date"] == d.groupby(keys)["_date"].transform(pick)]
    if "computed_at" in d:
        d = d.sort_values("computed_at", kind="stable", na_position="first")
    d = d[~d.duplicated(["territory_id", "step", "name"], keep="last")].sort_index()
    d["as_of"] = d["_date"].dt.strftime("%Y-%m-%d")
    d["grp"] = None
    return pd.concat([out[~dated], d.drop(columns="_date")]).sort_index()


def load_result_table(store: Store, step: str, territory_id: str | None, key: str) -> pd.DataFrame:
    """Read back a result table recorded by a notebook (empty frame if absent)."""
    if not store.has_table("results"):
        return pd.DataFrame()
    if territory_id is None:
        row = store.con.execute(
            "SELECT payload FROM results WHERE step=? AND territory_id IS NULL AND key=?",
            [step, key]).fetchone()
    else:
        row = store.con.execute(
            "SELECT payload FROM results WHERE step=? AND territory_id=? AND key=?",
            [step, territory_id, key]).fetchone()
    if row is None:
        return pd.DataFrame()
    return pd.read_json(StringIO(row[0]), orient="split")
