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
