"""What every step notebook needs first: the workspace, its configuration and the store
(read-only: several notebooks run at once and only the runner writes).

Examples
--------
>>> from territoria.config import init_workspace
>>> import tempfile
>>> ws = init_workspace(tempfile.mkdtemp(), name="Demo")
>>> from territoria.store import Store
>>> Store(ws.store_path).close()
>>> ctx = open_context(ws.root)
>>> ctx.config.name, ctx.min_cell
('Demo', 5)
>>> ctx.territory_row("nope") is None
True
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from territoria import vocabulary
from territoria.bilingual import Versions
from territoria.config import CityConfig, Workspace
from territoria.exceptions import ConfigError, DataError
from territoria.i18n import LANGUAGES, MissingTranslation, catalogue, check_language, tr
from territoria.steps import Section, View
from territoria.store import Store


@dataclass
class StepContext:
    """Workspace, configuration and a read-only store for one notebook."""

    ws: Workspace
    config: CityConfig
    store: Store

    @property
    def output_dir(self) -> Path:
        return self.ws.output_dir

    @property
    def min_cell(self) -> int:
        return self.config.min_cell_size

    def territories(self, territory_id: str | None = None) -> pd.DataFrame:
        """The territory catalogue with its zone name (no geometry); only one territory's row
        when ``territory_id`` is given."""
        where, params = ("WHERE t.territory_id = ? ", [territory_id]) if territory_id \
            is not None else ("", [])
        return self.store.query(
            "SELECT t.territory_id, t.name, t.kind, t.zone_id, z.name AS zone_name, "
            "t.population, t.households, coalesce(t.social_index, s.value) AS social_index, "
            "t.blocks_total, t.priority, t.cohort, t.joined_on FROM territories t "
            "LEFT JOIN zones z USING (zone_id) LEFT JOIN (SELECT territory_id, avg(value) AS "
            "value FROM social_index WHERE unit_level = 'territory' GROUP BY 1) s "
            f"USING (territory_id) {where}ORDER BY t.territory_id", params)

    def territory_row(self, territory_id: str) -> dict | None:
        t = self.territories(territory_id)
        return None if t.empty else t.iloc[0].to_dict()

    def require_territory(self, territory_id: str) -> dict:
        row = self.territory_row(territory_id)
        if row is None:
            raise DataError(f"territory '{territory_id}' is not in the store")
        return row

    def table(self, name: str, territory_id: str | None = None,
              column: str = "territory") -> pd.DataFrame:
        """A store table, optionally only the rows of one territory; empty if the table is
        not there (data not collected yet)."""
        if not self.store.has_table(name):
            return pd.DataFrame()
        if territory_id is None:
            return self.store.table(name)
        return self.store.table(name, where=f'"{column}" = ?', params=[territory_id])

    def repeat(self, parent: str, repeat: str, territory_id: str | None = None,
               parent_cols=("territory",)) -> pd.DataFrame:
        """Rows of a repeat group joined with columns of their parent submission."""
        child = f"{parent}__{repeat}"
        if not (self.store.has_table(parent) and self.store.has_table(child)):
            return pd.DataFrame()
        cols = ", ".join(f'p."{c}"' for c in parent_cols)
        sql = (f'SELECT c.*, {cols} FROM "{child}" c JOIN "{parent}" p '
               "ON c._parent_uuid = p._uuid")
        params = []
        if territory_id is not None:
            sql += ' WHERE p."territory" = ?'
            params = [territory_id]
        return self.store.query(sql, params)

    def close(self) -> None:
        self.store.close()


def require_territory(step: str, territory_id) -> str:
    """The territory parameter of a territory step, or a clear error when it is missing.

    >>> require_territory("01_network", "07-003")
    '07-003'
    """
    if territory_id is None or str(territory_id).strip() == "":
        raise DataError(f"step {step} runs for one territory: pass territory='<id>' "
                        "(e.g. territory='07-003')", column="territory")
    return str(territory_id)


def resolve_as_of(ctx, as_of=None) -> pd.Timestamp:
    """The cut-off date of the agreements' follow-up, one rule for steps 04 and 05: ``as_of``
    if given, else ``city.yml: period_end``, else today. Agreements made after it, and
    follow-up updates dated after it, do not count.

    >>> from types import SimpleNamespace
    >>> import datetime as dt
    >>> ctx = SimpleNamespace(config=SimpleNamespace(period_end=dt.date(2024, 12, 31)))
    >>> resolve_as_of(ctx), resolve_as_of(ctx, "2023-06-30")
    (Timestamp('2024-12-31 00:00:00'), Timestamp('2023-06-30 00:00:00'))
    """
    if as_of is not None and str(as_of).strip():
        return pd.Timestamp(as_of).normalize()
    end = getattr(ctx.config, "period_end", None)
    return pd.Timestamp(end) if end else pd.Timestamp.today().normalize()


def territory_info(ctx: StepContext, step: str, territory_id) -> dict:
    """The territory's catalogue row (name, zone, population...) for a territory step; a clear
    error when the notebook was run without a territory or with an unknown one.

    Raises
    ------
    DataError
        ``territory_id`` is missing or not in the store.
    """
    return ctx.require_territory(require_territory(step, territory_id))


def open_context(workspace) -> StepContext:
    """Open a workspace for a notebook: validated config and a read-only store.

    ``workspace=None`` (the default of every notebook's parameters cell) raises a
    :class:`~territoria.exceptions.ConfigError` that tells the learner what to do.
    """
    if workspace is None or str(workspace).strip() == "":
        raise ConfigError(
            "falta el espacio de trabajo: escriba su carpeta en la celda de parámetros "
            "(workspace = \"../demo-workspace\") o abra las copias que prepara 'territoria lab' / "
            "no workspace: write its folder in the parameters cell or open the copies "
            "'territoria lab' prepares")
    ws = Workspace(workspace).require()
    cfg = ws.config()
    store = Store(ws.store_path, read_only=True)
    return StepContext(ws=ws, config=cfg, store=store)


def memoized(fn):
    """Compute a section of an analysis once, however often the notebook and ``compute`` ask.

    For functions whose first argument is an analysis object (e.g. ``AgendaAnalysis``): the
    result is kept on that object, keyed by the function and its other arguments, and every
    call returns a copy, so a caller that changes what it got (adds a column, say) changes
    nothing for the next one. A notebook shows a table, then ``compute`` records the same
    table: with this the work is done once.

    Examples
    --------
    >>> class A:
    ...     calls = 0
    >>> @memoized
    ... def table(a, top=3):
    ...     a.calls += 1
    ...     return pd.DataFrame({"x": range(top)})
    >>> a = A()
    >>> t = table(a); t["y"] = 1
    >>> list(table(a).columns), a.calls, len(table(a, top=5)), a.calls
    (['x'], 1, 5, 2)
    """
    @functools.wraps(fn)
    def wrapper(analysis, *args, **kwargs):
        cache = vars(analysis).setdefault("_memo", {})
        key = (fn.__name__, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = fn(analysis, *args, **kwargs)
        value = cache[key]
        return value.copy() if isinstance(value, pd.DataFrame) else copy.deepcopy(value)

    return wrapper


# -- a step's section of the site, declared from its catalogue ---------------------------

class Texts:
    """A step's catalogue, for declaring its :class:`~territoria.steps.Section`: every title,
    caption and column header is a key of the catalogue, given in the kit's languages.

    Parameters
    ----------
    messages : dict
        ``{key: {"es": ..., "en": ...}}``, the module's ``MESSAGES``.

    Examples
    --------
    >>> t = Texts({"title": {"es": "Paso", "en": "Step"}, "intro": {"es": "I", "en": "I"},
    ...            "v": {"es": "Vista de {n}", "en": "View of {n}"},
    ...            "col": {"es": "Columna", "en": "Column"}})
    >>> t("v", n=3)
    {'es': 'Vista de 3', 'en': 'View of 3'}
    >>> s = t.section("00_x", [t.view("k", "table", "title", columns=[("c", "col")])])
    >>> s.title["en"], s.views[0].columns, s.views[0].caption
    ('Step', {'c': {'es': 'Columna', 'en': 'Column'}}, {})
    """

    def __init__(self, messages: dict):
        self.messages = messages

    def __call__(self, key: str, **fmt) -> dict:
        """The entry ``key`` in every language of the kit, formatted with ``fmt``.

        Raises
        ------
        MissingTranslation
            ``key`` is not in the catalogue (strict or not: a section is declared once, at
            import, and a page must not show a key instead of a text).
        """
        if key not in self.messages:
            raise MissingTranslation(f"translation key {key} is not in the catalogue")
        return {lang: tr(self.messages, key, lang, **fmt) for lang in LANGUAGES}

    def columns(self, pairs) -> dict:
        """``{column: header}`` from ``(column, key)`` pairs, in display order."""
        return {col: self(key) for col, key in pairs}

    def view(self, key: str, kind: str, title, caption=None, *, columns=(), **options) -> View:
        """A :class:`~territoria.steps.View` of the result table ``key``; ``title`` and
        ``caption`` are catalogue keys (or texts already built with ``self(key, ...)``),
        ``columns`` ``(column, key)`` pairs; ``options`` are the other fields of the view."""
        def text(t):
            return {} if t is None else t if isinstance(t, dict) else self(t)

        return View(key=key, kind=kind, title=text(title), caption=text(caption),
                    columns=self.columns(columns), **options)

    def section(self, step: str, views, indicators=()) -> Section:
        """The step's :class:`~territoria.steps.Section`: title and introduction from the
        catalogue's ``title`` and ``intro``, then ``views`` and the headline ``indicators``."""
        return Section(step=step, title=self("title"), intro=self("intro"), views=tuple(views),
                       indicators=tuple(indicators))


# -- inputs: what a step needs, checked before any computation -----------------------------

INPUT_MESSAGES = catalogue(__name__, "INPUT_MESSAGES", vocabulary=vocabulary.texts)

#: Statuses of a checked input (``lacking_values``: the table has rows, but too few have the
#: values the step needs in the input's ``about`` columns, e.g. no join dates).
INPUT_OK, MISSING_TABLE, MISSING_COLUMNS, TOO_FEW_ROWS, LACKING_VALUES = (
    "ok", "missing_table", "missing_columns", "too_few_rows", "lacking_values")


@dataclass
class InputCheck:
    """The inputs of one step for one territory (or the city), checked.

    Attributes
    ----------
    step : str
    territory_id : str or None
    rows : list of dict
        One per declared input: ``table``, ``required``, ``state`` (``ok``,
        ``missing_table``, ``missing_columns``, ``too_few_rows``, ``lacking_values``),
        ``rows``, ``min_rows``, ``missing_columns``, ``sections``, ``what_es``, ``what_en``,
        ``command``, ``about`` (``table.column`` lacking values).
    """

    step: str
    territory_id: str | None
    rows: list

    @property
    def status(self) -> str:
        """``no-data`` (a required input is missing), ``partial`` (an optional one) or ``ok``."""
        if any(r["state"] != INPUT_OK and r["required"] for r in self.rows):
            return "no-data"
        if any(r["state"] != INPUT_OK and r["sections"] for r in self.rows):
            return "partial"
        return "ok"

    def _short(self, r) -> bool:
        return r["state"] != INPUT_OK and (r["required"] or bool(r["sections"]))

    @property
    def missing(self) -> list[str]:
        """Tables that are missing or fall short (required, or feeding a section), in
        declaration order, each once; a table that has rows but lacks the values the step
        needs is named by those columns (``territories.joined_on``)."""
        out: list[str] = []
        for r in self.rows:
            if self._short(r):
                out.extend(r["about"] if r["state"] == LACKING_VALUES else [r["table"]])
        return list(dict.fromkeys(out))

    @property
    def missing_sections(self) -> list[str]:
        """Result tables that cannot be computed for lack of an optional input."""
        out: list[str] = []
        for r in self.rows:
            if self._short(r):
                out.extend(s for s in r["sections"] if s not in out)
        return out

    def reasons(self, lang: str = "es", *, required_only: bool = False) -> list[str]:
        """One sentence per missing input, in the user's language."""
        out = []
        for r in self.rows:
            if not self._short(r) or (required_only and not r["required"]):
                continue
            what = r["what_es"] if lang == "es" else r["what_en"]
            if r["state"] == LACKING_VALUES:  # the input's own words: what lacks, what fills it
                lacks = r["lacks"].get(lang, r["lacks"]["es"]).format(
                    rows=r["rows"], min_rows=r["min_rows"])
                out.append(tr(INPUT_MESSAGES, LACKING_VALUES, lang, lacks=lacks,
                              command=r["command"]))
                continue
            where = tr(INPUT_MESSAGES, "where", lang) if r["per_territory"] else ""
            if r.get("rows_are"):
                where += tr(INPUT_MESSAGES, "rows_are", lang,
                            what=r["rows_are"].get(lang, r["rows_are"]["es"]))
            out.append(tr(INPUT_MESSAGES, r["state"], lang, table=r["table"], what=what,
                          command=r["command"], rows=r["rows"], min_rows=r["min_rows"],
                          where=where, columns=", ".join(r["missing_columns"])))
        return out

    def message(self, lang: str = "es") -> str:
        """What a notebook says after the check (Markdown)."""
        if self.status == "no-data":
            where = ("" if self.territory_id is None
                     else tr(INPUT_MESSAGES, "in_territory", lang, tid=self.territory_id))
            return tr(INPUT_MESSAGES, "ends", lang, step=self.step, where=where,
                      reasons="; ".join(self.reasons(lang, required_only=True)))
        if self.status == "partial":
            return tr(INPUT_MESSAGES, "partial", lang, reasons="; ".join(self.reasons(lang)),
                      sections=", ".join(self.missing_sections) or "—")
        return tr(INPUT_MESSAGES, "complete", lang)

    def frame(self) -> pd.DataFrame:
        """The check as a table (recorded with the step's results as ``inputs``)."""
        cols = ["table", "required", "state", "rows", "min_rows", "missing_columns",
                "sections", "what_es", "what_en", "command"]
        df = pd.DataFrame([{**r, "missing_columns": ", ".join(r["missing_columns"]),
                            "sections": ", ".join(r["sections"])} for r in self.rows],
                          columns=cols)
        return df.astype({"required": bool, "rows": "int64", "min_rows": "int64"})

    def meta(self) -> dict:
        """Status, missing tables and reasons (es/en), stored beside the ``inputs`` table."""
        req = self.status == "no-data"  # then what stops the step, not what it could add
        return {"status": self.status, "missing": self.missing,
                "missing_sections": self.missing_sections,
                "reason_es": "; ".join(self.reasons("es", required_only=req)),
                "reason_en": "; ".join(self.reasons("en", required_only=req))}


def _count_rows(ctx: StepContext, table: str, column: str | None, territory_id,
                where: str | None = None, count: str | None = None) -> int:
    if where or count:
        cond, params = f"({where or 'true'})", []
        if territory_id is not None and column is not None:
            cond += f' AND "{column}" = ?'
            params = [territory_id]
        return int(ctx.store.query(f'SELECT {count or "count(*)"} AS n FROM "{table}" '
                                   f"WHERE {cond}", params)["n"].iloc[0])
    if territory_id is None or column is None:
        if "__" in table and territory_id is not None:  # a repeat: count the territory's
            parent = table.split("__", 1)[0]
            if ctx.store.has_table(parent) and "territory" in ctx.store.columns(parent):
                return int(ctx.store.query(
                    f'SELECT count(*) AS n FROM "{table}" c JOIN "{parent}" p '
                    'ON c._parent_uuid = p._uuid WHERE p.territory = ?',
                    [territory_id])["n"].iloc[0])
        return ctx.store.count(table)
    return int(ctx.store.query(f'SELECT count(*) AS n FROM "{table}" WHERE "{column}" = ?',
                               [territory_id])["n"].iloc[0])


def check_inputs(ctx: StepContext, step: str, territory_id=None) -> InputCheck:
    """Check a step's declared inputs (:mod:`territoria.steps.registry`) in the store.

    Nothing is computed: only whether each table exists, has the columns the step needs and
    enough rows (of the territory, for a territory step).

    Parameters
    ----------
    ctx : StepContext
    step : str
        Step id (``"02_diagnostic"``).
    territory_id : str, optional
        The territory (territory steps); None for city steps.

    Returns
    -------
    InputCheck
        ``status`` is ``no-data``, ``partial`` or ``ok``; ``reasons(lang)`` says what is
        missing, which form or file fills it and what to run.

    Examples
    --------
    >>> from territoria.config import init_workspace
    >>> import tempfile
    >>> ws = init_workspace(tempfile.mkdtemp(), name="Demo")
    >>> Store(ws.store_path).close()
    >>> ctx = open_context(ws.root)
    >>> chk = check_inputs(ctx, "02_diagnostic", "07-001")
    >>> chk.status, chk.missing[:2]
    ('no-data', ['territories', 'diagnostic'])
    >>> chk.reasons("en")[1][:60]
    'the table “diagnostic” is missing: the form “Participatory d'
    """
    from territoria.steps.registry import step_by_id

    spec = step_by_id(step)
    tid = None if spec.is_city else territory_id
    rows = []
    for inp in spec.inputs:
        column = inp.territory_column if tid is not None else None
        r = {"table": inp.table, "required": inp.required, "state": INPUT_OK, "rows": 0,
             "min_rows": inp.min_rows, "missing_columns": [], "sections": list(inp.sections),
             "what_es": inp.source.what["es"], "what_en": inp.source.what["en"],
             "command": inp.source.command, "rows_are": inp.rows_are,
             "per_territory": tid is not None and (column is not None or "__" in inp.table),
             "about": [f"{inp.table}.{c}" for c in inp.about], "lacks": inp.lacks}
        if not ctx.store.has_table(inp.table):
            r["state"] = MISSING_TABLE
        else:
            have = set(ctx.store.columns(inp.table))
            lacking = [c for c in inp.columns if c not in have]
            if column is not None and column not in have:
                lacking.append(column)
            if lacking:
                r["state"], r["missing_columns"] = MISSING_COLUMNS, lacking
            else:
                r["rows"] = _count_rows(ctx, inp.table, column, tid, inp.where, inp.count)
                if r["rows"] < inp.min_rows:
                    r["state"] = TOO_FEW_ROWS
                    if inp.about and inp.lacks and inp.where and _count_rows(
                            ctx, inp.table, column, tid) > 0:  # rows, without those values
                        r["state"] = LACKING_VALUES
        rows.append(r)
    return InputCheck(step, tid, rows)


def require_inputs(ctx: StepContext, step: str, territory_id=None, *, lang: str = "es",
                   end: bool = True) -> InputCheck:
    """For a notebook's first cell: check the inputs, say what is missing, and when a
    required one is, record the status ``no-data`` and end the notebook.

    The notebook ends with ``SystemExit(0)``, which papermill (``territoria run``) treats as a
    clean end; the results file holds only the ``inputs`` table with the status and the
    reason, so the runner records ``no-data`` and the site says what is missing. In a
    script, pass ``end=False`` and look at the returned check instead.

    Returns
    -------
    InputCheck
    """
    check_language(lang)
    chk = check_inputs(ctx, step, territory_id)
    langs = LANGUAGES if lang in LANGUAGES else (*LANGUAGES, lang)
    _show({lg: chk.message(lg) for lg in langs}, lang)
    if chk.status == "no-data" and end:
        no_data_result(chk).save(ctx.output_dir)
        ctx.close()
        raise SystemExit(0)
    return chk


def _show(texts: dict[str, str], lang: str) -> None:
    """Say ``texts`` (language -> Markdown) in the notebook's language, with the other
    versions for the site (:mod:`territoria.bilingual`)."""
    from territoria.steps.display import emit

    # commands hold placeholders like <export ...>: shown as text, not as tags
    emit(Versions({lg: t.replace("<", "&lt;") for lg, t in texts.items()}, texts, lang,
                  markdown=True))


def no_data_result(chk: InputCheck):
    """What a step records when its inputs are missing: only the ``inputs`` table."""
    from territoria.steps import StepResult

    res = StepResult(chk.step, chk.territory_id)
    res.check = chk
    return res


def run_step(ctx: StepContext, step: str, territory_id=None, *, lang: str = "es", **kwargs):
    """Check a step's inputs, then compute it: the contract every step module honours.

    Returns a :class:`territoria.steps.StepResult` whose ``status`` is ``no-data`` (only the
    ``inputs`` table) or ``ok`` (computed; ``check.status`` says ``partial`` when sections
    were left out).
    """
    from territoria.steps import step_module

    check_language(lang)
    chk = check_inputs(ctx, step, territory_id)
    if chk.status == "no-data":
        return no_data_result(chk)
    res = step_module(step).compute(ctx, territory_id, lang=lang, **kwargs)
    res.check = chk
    return res
