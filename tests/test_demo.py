"""The demo's stages: the agreements ledger is part of ingesting, before any step runs."""

from __future__ import annotations

import pytest

from territoria.demo import run_demo
from territoria.store import Store


@pytest.mark.slow
def test_ledger_is_built_with_the_ingest_so_steps_read_it(tmp_path):
    lines = []
    out = run_demo(tmp_path / "w", stages=("sample", "ingest"), echo=lines.append,
                   progress=False)
    assert not out["failed"], lines
    assert any(line.startswith("  ledger: ") and "created" in line for line in lines), lines
    with Store(tmp_path / "w" / "territoria.duckdb", read_only=True) as s:
        assert s.has_table("agreements")
        assert s.query("SELECT count(*) AS n FROM agreements")["n"].iloc[0] > 0
