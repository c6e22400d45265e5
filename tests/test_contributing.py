"""CONTRIBUTING.md's examples exist: every repository path it names in backquotes is there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATH = re.compile(r"`((?:src|tests|surveys|methodology|notebooks)/[\w./-]+\.(?:py|yml|md|ipynb))`")


def test_paths_named_in_contributing_exist():
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    paths = PATH.findall(text)
    assert len(paths) >= 5
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, f"CONTRIBUTING.md names files that do not exist: {missing}"


def test_modules_named_in_contributing_import():
    import importlib

    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for mod in sorted(set(re.findall(r"`(territoria(?:\.[A-Za-z_]+)+)`", text))):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError:  # an attribute (territoria.i18n.tr): its module imports
            parent, _, attr = mod.rpartition(".")
            assert hasattr(importlib.import_module(parent), attr), mod
