"""Fixtures shared by the step tests: a read-only context on the sample city, and its truth."""

import json

import pytest

from territoria.steps.common import open_context


@pytest.fixture(scope="module")
def ctx(sample_ws):
    """A read-only StepContext on the session's sample workspace."""
    c = open_context(sample_ws.root)
    yield c
    c.close()


@pytest.fixture(scope="module")
def truth(sample_ws):
    """True parameters and planted facts of the sample city (truth/params.json)."""
    return json.loads((sample_ws.root / "truth" / "params.json").read_text())
