"""territoria.pipeline: run the step notebooks (``territoria run``).

Everything is loaded on first use: ``run`` and ``RunSummary`` import Jupyter machinery, and
the steps import pandas, while :mod:`territoria.pipeline.forkserver` (launched first by
``territoria run``) needs neither.

>>> from territoria.pipeline import STEPS
>>> STEPS[0].id
'00_selection'
"""

from typing import Any

__all__ = ["STEPS", "RunSummary", "Step", "resolve_steps", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "RunSummary"):
        from territoria.pipeline import runner

        return getattr(runner, name)
    if name in ("STEPS", "Step", "resolve_steps"):
        from territoria.pipeline import steps

        return getattr(steps, name)
    raise AttributeError(f"module 'territoria.pipeline' has no attribute {name!r}")
