"""Indicator -> code: every catalogue entry names the function that computes it
(``computed_by: territoria.steps.sNN_x.function``), and the name resolves."""

from __future__ import annotations

import importlib
import inspect

import pytest
import yaml

from territoria.report.catalogue import kit_dir


def _entries():
    for path in sorted((kit_dir("methodology") / "indicators").glob("*.yml")):
        for e in yaml.safe_load(path.read_text(encoding="utf-8"))["indicators"]:
            yield pytest.param(path.stem, e, id=e["id"])


@pytest.mark.parametrize(("step", "entry"), list(_entries()))
def test_computed_by_resolves(step, entry):
    target = entry.get("computed_by")
    assert target, f"{step}.yml: indicator {entry['id']} does not name computed_by"
    module, _, name = target.rpartition(".")
    assert module.startswith("territoria.steps.s" + step[:2]), \
        f"{entry['id']}: {target} is not in the step's module"
    fn = getattr(importlib.import_module(module), name, None)
    assert inspect.isfunction(fn), f"{entry['id']}: {target} does not resolve to a function"


def test_the_catalogue_carries_computed_by():
    from territoria.report.catalogue import load_catalogue

    cat = load_catalogue()
    assert cat["block_coverage"].computed_by == "territoria.steps.s01_network.coverage"
    assert all(i.computed_by for i in cat.values())
