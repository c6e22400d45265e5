"""The checks `make lint` runs besides ruff, so the suite (and CI) fails when they do:
import-linter's contracts (.importlinter) and mypy (mypy.ini)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    exe = BIN / "lint-imports"
    if not exe.exists():
        pytest.skip("import-linter is not installed (make install)")
    return subprocess.run([str(exe), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_import_contracts_hold():
    res = _lint_imports()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: a contract the code breaks on purpose (config imports exceptions)."""
    cfg = tmp_path / "broken.ini"
    cfg.write_text("[importlinter]\nroot_package = territoria\n\n"
                   "[importlinter:contract:x]\nname = config imports nothing\ntype = forbidden\n"
                   "source_modules =\n    territoria.config\n"
                   "forbidden_modules =\n    territoria.exceptions\n", encoding="utf-8")
    res = _lint_imports("--config", str(cfg))
    assert res.returncode != 0 and "BROKEN" in res.stdout


@pytest.mark.slow
def test_mypy_passes(monkeypatch):
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(REPO)  # mypy.ini's files = src/territoria
    out, err, status = api.run(["--config-file", str(REPO / "mypy.ini"),
                                "--cache-dir", str(REPO / ".mypy_cache")])
    assert status == 0, out[-4000:] + err[-2000:]
