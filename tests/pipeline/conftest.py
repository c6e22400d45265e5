"""Fixtures of the pipeline tests: a small workspace and the fixture step notebooks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territoria.config import init_workspace
from territoria.store import Store

NOTEBOOKS = Path(__file__).parent / "notebooks"
#: An id that would escape the output folder, break quoting or inject HTML if used raw.
NASTY_ID = 'x/../"<script>alert(1)</script>\n\'y'


def make_workspace(root: Path, territories: list[tuple[str, float, bool]]):
    """A workspace whose store has ``territories`` as (id, population, priority)."""
    ws = init_workspace(root, "Prueba")
    df = pd.DataFrame({"territory_id": [t[0] for t in territories],
                       "name": [f"Colonia {i}" for i in range(len(territories))],
                       "population": [t[1] for t in territories],
                       "priority": [t[2] for t in territories]})
    with Store(ws.store_path) as s, s.transaction():
        s.append("territories", df)
    return ws


@pytest.fixture(scope="session")
def make_ws():
    """Factory ``make_ws(root, [(id, population, priority), ...]) -> Workspace``."""
    return make_workspace


@pytest.fixture(scope="session")
def nasty_id() -> str:
    return NASTY_ID


@pytest.fixture(scope="session")
def fixture_notebooks() -> Path:
    return NOTEBOOKS
