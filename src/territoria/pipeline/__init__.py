"""territoria.pipeline: run the step notebooks (``territoria run``).

``run`` and ``RunSummary`` are loaded on first use (they import Jupyter machinery).

>>> from territoria.pipeline import STEPS
>>> STEPS[0].id
'00_selection'
"""

from typing import Any

from territoria.pipeline.steps import STEPS, Step, resolve_steps

__all__ = ["STEPS", "RunSummary", "Step", "resolve_steps", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "RunSummary"):
        from territoria.pipeline import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'territoria.pipeline' has no attribute {name!r}")
