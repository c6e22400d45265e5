"""Which notebooks the runner executes, in which order, and where their outputs go.

The steps themselves (id, scope, module, titles, inputs) are declared once in
:mod:`territoria.steps.registry`; this module resolves them for the runner.

A *city* step runs once (territory ``None``); a *territory* step runs once per territory.
Steps run in the order of their number, so ``00_selection`` comes first and the city steps
``06_impact`` and ``07_synthesis`` come after every territory step they summarise.

Examples
--------
>>> [s.id for s in resolve_steps("00,2,07_synthesis")]
['00_selection', '02_diagnostic', '07_synthesis']
>>> get_step("01").scope
'territory'
>>> safe_name("07-001")
'07-001'
>>> safe_name("../x") != "../x"
True
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from territoria.exceptions import PipelineError
from territoria.steps.registry import STEPS as REGISTERED_STEPS
from territoria.steps.registry import Step, batches

__all__ = ["CITY_NAME", "STEPS", "Step", "batches", "default_notebooks_dir", "get_step", "notebook_path",
           "output_paths", "resolve_steps", "safe_name"]

#: The steps, in execution order: declared once, in :mod:`territoria.steps.registry`.
STEPS: tuple[Step, ...] = REGISTERED_STEPS

CITY_NAME = "city"


def get_step(key: str) -> Step:
    """A step by id (``"02_diagnostic"``), number (``"02"``) or number without zero (``"2"``).

    Raises
    ------
    PipelineError
        Unknown step, naming the allowed values.
    """
    k = str(key).strip()
    for s in STEPS:
        if k in (s.id, s.number) or (k.isdigit() and int(k) == int(s.number)):
            return s
    raise PipelineError(
        f"unknown step '{k}' (allowed: {', '.join(s.id for s in STEPS)}, or their numbers)")


def resolve_steps(spec: str | Iterable[str] | None = None) -> list[Step]:
    """Steps to run, in execution order, from None (all), ``"00,01"`` or a list of keys."""
    if spec is None or spec == "" or spec == "all":
        return list(STEPS)
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen = {get_step(p).id for p in parts if str(p).strip()}
    if not chosen:
        raise PipelineError("no steps given (allowed: " + ", ".join(s.id for s in STEPS) + ")")
    return [s for s in STEPS if s.id in chosen]


def default_notebooks_dir() -> Path:
    """The kit's step notebooks: ``notebooks/`` of the source checkout, else the package copy.

    >>> default_notebooks_dir().name
    'notebooks'
    """
    here = Path(__file__).resolve()
    repo = here.parents[3] / "notebooks"
    if (here.parents[3] / "pyproject.toml").exists() and repo.is_dir():
        return repo
    return here.parents[1] / "data" / "notebooks"


def notebook_path(step: Step, notebooks_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of a step's notebook (``NN_name.ipynb``)."""
    return Path(notebooks_dir or default_notebooks_dir()) / step.notebook


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(territory_id: str | None) -> str:
    """A file name for a territory's outputs that cannot leave the output folder.

    Letters, digits, ``.``, ``_`` and ``-`` are kept; anything else (slashes, quotes, ``<``,
    newlines, spaces) becomes ``_`` and a short hash of the original id is appended so two
    different ids never share a file. Leading dots are replaced, so no hidden files and no
    ``..``. City steps are named ``city``.

    >>> safe_name(None)
    'city'
    >>> safe_name("a/b")
    'a_b-...'
    >>> safe_name("..")
    '_.-...'
    """
    if territory_id is None:
        return CITY_NAME
    tid = str(territory_id)
    clean = _UNSAFE.sub("_", tid)[:80]
    if clean.startswith("."):
        clean = "_" + clean[1:]
    if clean != tid or not clean or clean == CITY_NAME:
        clean = (clean or "_") + "-" + hashlib.sha256(tid.encode("utf-8")).hexdigest()[:8]
    return clean


def output_paths(output_dir: str | os.PathLike[str], step: Step,
                 territory_id: str | None) -> tuple[Path, Path]:
    """``(notebook, html)`` output paths for one step run; always inside ``output_dir/step``.

    Raises
    ------
    PipelineError
        If the path would fall outside the step's folder (cannot happen with
        :func:`safe_name`; checked anyway).
    """
    folder = (Path(output_dir) / step.id).resolve()
    stem = safe_name(territory_id)
    nb = (folder / f"{stem}.ipynb").resolve()
    if nb.parent != folder:
        raise PipelineError(f"territory id {territory_id!r} gives an output path outside {folder}")
    return nb, nb.with_suffix(".html")
