"""Shared fixtures. Tests that need ``../shared/data/real`` skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("TERRITORIA_REAL_DATA", REPO.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder with the real data sets (each with its SOURCE.md); skips if absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_ws(tmp_path_factory):
    """The sample city built once per test session and ingested (a Workspace).

    Tests may read it and write sidecars under ``output/``; tests that change the store or the
    raw files must work on a copy (``shutil.copytree(sample_ws.root, tmp_path / "ws")``).
    """
    from territoria.demo import raw_files
    from territoria.ingest.core import ingest_files
    from territoria.sample import build_sample

    root = tmp_path_factory.mktemp("sample") / "iztapalapa"
    ws = build_sample(root)
    reports = ingest_files(ws, raw_files(ws))
    bad = [r.as_line() for r in reports if r.status != "ok"]
    if bad:
        raise RuntimeError("sample ingest failed: " + "; ".join(bad))
    return ws


@pytest.fixture(scope="session")
def published_ws(sample_ws, tmp_path_factory):
    """A copy of the sample city with every step run for two programme territories (city steps
    once) and the site published. Returns (workspace, territory ids)."""
    import shutil

    from territoria.config import Workspace
    from territoria.pipeline.runner import run
    from territoria.report.site import publish
    from territoria.store import Store

    root = tmp_path_factory.mktemp("published") / "ws"
    shutil.copytree(sample_ws.root, root)
    ws = Workspace(root)
    with Store(ws.store_path, read_only=True) as s:
        ids = s.query("SELECT territory_id FROM territories WHERE priority ORDER BY territory_id "
                      "LIMIT 2")["territory_id"].tolist()
    summary = run(ws, territories=ids, workers=2, progress=False)
    if not summary.ok:
        raise RuntimeError(summary.format("en"))
    publish(ws)
    return ws, ids


@pytest.fixture(autouse=True)
def _strict_translations():
    """In tests, a translation key missing from its catalogue raises (``i18n.set_strict``)."""
    from territoria import i18n

    old = i18n.set_strict(True)
    yield
    i18n.set_strict(old)
