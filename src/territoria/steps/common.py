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

from territoria.config import CityConfig, Workspace
from territoria.exceptions import ConfigError, DataError
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

    def territories(self) -> pd.DataFrame:
        """The territory catalogue with its zone name (no geometry)."""
        return self.store.query(
            "SELECT t.territory_id, t.name, t.kind, t.zone_id, z.name AS zone_name, "
            "t.population, t.households, coalesce(t.social_index, s.value) AS social_index, "
            "t.blocks_total, t.priority, t.cohort, t.joined_on FROM territories t "
            "LEFT JOIN zones z USING (zone_id) LEFT JOIN (SELECT territory_id, avg(value) AS "
            "value FROM social_index WHERE unit_level = 'territory' GROUP BY 1) s "
            "USING (territory_id) ORDER BY t.territory_id")

    def territory_row(self, territory_id: str) -> dict | None:
        t = self.territories()
        row = t[t["territory_id"] == territory_id]
        return None if row.empty else row.iloc[0].to_dict()

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
