"""A classroom: a workspace plus, for each learner, copies of the notebooks with their
parameters filled in for one territory.

``territoria lab`` calls :func:`build_classroom`. The layout it writes inside the workspace::

    classroom/
        README.md               who has which colonia (es/en)
        roster.csv              learner, folder, territory_id, name
        learner-1/
            00_selection.ipynb  ... 07_synthesis.ipynb, evaluation.ipynb
            exercises/01_network.ipynb ...
        learner-2/ ...

Copies are made with papermill's prepare-only mode, so each one carries papermill's
``injected-parameters`` cell and metadata exactly as ``territoria run`` would, but nothing is
executed. The workspace path in each copy is relative (``../..``), so a classroom folder can be
moved or copied to a USB stick with its workspace.

Examples
--------
>>> spread(["a", "b", "c", "d", "e", "f"], 3)
['a', 'c', 'e']
>>> spread(["a", "b"], 3)
['a', 'b', 'a']
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from territoria.config import Workspace
from territoria.exceptions import ConfigError
from territoria.i18n import catalogue, tr

CLASSROOM_DIR = "classroom"
EXERCISES_DIR = "exercises"
#: Territories with fewer blocks make dull exercises (a coverage of 3 of 3 blocks).
MIN_BLOCKS = 10

MESSAGES = catalogue(__name__)


@dataclass
class Learner:
    """One learner's folder and territory."""

    number: int
    territory_id: str
    name: str
    folder: Path
    notebooks: list[Path] = field(default_factory=list)


@dataclass
class Classroom:
    """What :func:`build_classroom` wrote."""

    workspace: Workspace
    root: Path
    learners: list[Learner]
    built: bool = False

    def notebooks(self) -> list[Path]:
        return [p for learner in self.learners for p in learner.notebooks]


def spread(items: list, n: int) -> list:
    """``n`` items evenly spread over ``items`` (cycling when there are fewer)."""
    if not items:
        return []
    if len(items) <= n:
        return [items[i % len(items)] for i in range(n)]
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def step_notebooks(notebooks_dir: Path | None = None) -> list[Path]:
    """The kit's step notebooks (``NN_name.ipynb``) and ``evaluation.ipynb``, in order."""
    from territoria.pipeline.steps import STEPS, default_notebooks_dir

    nb_dir = Path(notebooks_dir or default_notebooks_dir())
    paths = [nb_dir / f"{s.id}.ipynb" for s in STEPS] + [nb_dir / "evaluation.ipynb"]
    return [p for p in paths if p.is_file()]


def exercise_notebooks(notebooks_dir: Path | None = None) -> list[Path]:
    """The exercises notebooks (``exercises/NN_name.ipynb``), in order."""
    from territoria.pipeline.steps import default_notebooks_dir

    return sorted((Path(notebooks_dir or default_notebooks_dir()) / EXERCISES_DIR)
                  .glob("[0-9][0-9]_*.ipynb"))


def choose_territories(ws: Workspace, n: int, wanted=()) -> list[tuple[str, str]]:
    """``n`` (territory_id, name) pairs: the ``wanted`` ids first, then programme territories
    with at least :data:`MIN_BLOCKS` blocks, evenly spread over the list.

    Raises
    ------
    ConfigError
        A wanted territory is not in the store, or the store has no territories.
    """
    from territoria.store import Store

    if not ws.store_path.exists():
        raise ConfigError(f"{ws.root}: no store yet; run 'territoria ingest' first")
    with Store(ws.store_path, read_only=True) as s:
        t = s.query("SELECT territory_id, name, coalesce(priority, false) AS priority, "
                    "coalesce(blocks_total, 0) AS blocks_total FROM territories "
                    "ORDER BY territory_id")
    if t.empty:
        raise ConfigError(f"{ws.store_path}: no territories in the store")
    names = dict(zip(t["territory_id"], t["name"], strict=True))
    for tid in wanted:
        if tid not in names:
            raise ConfigError(f"territory '{tid}' is not in the store of {ws.root} "
                              f"(e.g. {', '.join(list(names)[:3])})")
    chosen = list(dict.fromkeys(wanted))
    if len(chosen) < n:
        pool = t[t["priority"].astype(bool) & (t["blocks_total"] >= MIN_BLOCKS)]
        if pool.empty:
            pool = t[t["priority"].astype(bool)] if t["priority"].any() else t
        ids = [i for i in pool["territory_id"] if i not in chosen]
        chosen += spread(ids, n - len(chosen)) if ids else spread(chosen, n - len(chosen))
    return [(tid, str(names[tid])) for tid in chosen[:max(n, len(wanted))]]


def copy_plans(ws: Workspace) -> list[Path]:
    """Copy the kit's evaluation plans into ``WS/evaluations/`` (existing files are kept)."""
    src = Path(__file__).resolve().parents[1] / "data" / "evaluations"
    repo = Path(__file__).resolve().parents[3] / "evaluations"
    if (Path(__file__).resolve().parents[3] / "pyproject.toml").exists() and repo.is_dir():
        src = repo
    out = []
    dest = ws.root / "evaluations"
    dest.mkdir(exist_ok=True)
    for p in sorted(src.glob("*.yml")):
        target = dest / p.name
        if not target.exists():
            shutil.copyfile(p, target)
        out.append(target)
    return out


def prepare(src: Path, dst: Path, parameters: dict) -> Path:
    """Write ``dst``: ``src`` with papermill's injected parameters, not executed."""
    import logging

    import papermill

    dst.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("papermill").setLevel(logging.WARNING)
    papermill.execute_notebook(str(src), str(dst), parameters=parameters, prepare_only=True,
                               progress_bar=False, kernel_name="python3")
    return dst


def prepare_learner(ws: Workspace, folder: Path, territory_id: str, language: str,
                    notebooks_dir: Path | None = None) -> list[Path]:
    """Write a learner's copies of the step, evaluation and exercises notebooks."""
    rel = Path(os.path.relpath(ws.root, folder))
    out = []
    for src in step_notebooks(notebooks_dir):
        params = {"workspace": rel.as_posix(), "language": language}
        if src.stem != "evaluation":
            params["territory"] = territory_id
        out.append(prepare(src, folder / src.name, params))
    ex_rel = Path(os.path.relpath(ws.root, folder / EXERCISES_DIR)).as_posix()
    for src in exercise_notebooks(notebooks_dir):
        out.append(prepare(src, folder / EXERCISES_DIR / src.name,
                           {"workspace": ex_rel, "territory": territory_id,
                            "language": language}))
    return out


def has_results(ws: Workspace, territory_ids) -> bool:
    """True when the store holds indicators of every step for each territory."""
    from territoria.store import Store

    with Store(ws.store_path, read_only=True) as s:
        if not s.has_table("indicators"):
            return False
        got = s.query("SELECT territory_id, count(DISTINCT step) AS n FROM indicators "
                      "WHERE territory_id IS NOT NULL GROUP BY 1")
        city = s.query("SELECT count(DISTINCT step) AS n FROM indicators "
                       "WHERE territory_id IS NULL")["n"].iloc[0]
    done = dict(zip(got["territory_id"], got["n"], strict=True))
    return city >= 3 and all(done.get(t, 0) >= 5 for t in territory_ids)


def build_classroom(path, *, territories=(), learners: int = 1, language: str | None = None,
                    workers: int = 2, run_steps: bool = True, notebooks_dir=None,
                    echo=print) -> Classroom:
    """Build (or reuse) a workspace and write one folder of notebooks per learner.

    Parameters
    ----------
    path : path-like
        The workspace. When it is not a workspace yet, the sample city is built there and
        ingested (``territoria demo PATH --stages sample,ingest``).
    territories : sequence of str
        Territories to give the learners, in order; the rest are chosen by
        :func:`choose_territories`.
    learners : int
        Number of learners (one territory each).
    language : {"es", "en"}, optional
        Language of the notebooks (default: the city's default language).
    run_steps : bool
        Run the steps for the chosen territories when the store has no results for them yet
        (the exercises check answers against the kit's stored results).

    Returns
    -------
    Classroom

    Raises
    ------
    ConfigError
        Bad number of learners, unknown territory or a folder that is not a workspace.
    """
    from territoria.i18n import check_language

    if learners < 1 or learners > 200:
        raise ConfigError(f"--learners must be between 1 and 200, got {learners}")
    ws = Workspace(path)
    built = False
    if not ws.exists():
        if ws.root.exists() and any(ws.root.iterdir()):
            raise ConfigError(f"{ws.root}: not a workspace (no city.yml) and not empty; "
                              "give an empty or new folder to build the sample city there")
        from territoria.demo import run_demo

        cfg_lang = language or "es"
        echo(tr(MESSAGES, "building", cfg_lang, path=ws.root))
        result = run_demo(ws.root, stages=("sample", "ingest"), echo=lambda *_: None)
        if result.get("failed"):
            raise ConfigError(f"{ws.root}: the sample city could not be ingested")
        built = True
    cfg = ws.config()
    lang = check_language(language or cfg.default_language)
    if not built:
        echo(tr(MESSAGES, "reusing", lang, path=ws.root))
    chosen = choose_territories(ws, learners, list(territories))
    ids = list(dict.fromkeys(t for t, _ in chosen))
    if run_steps and not has_results(ws, ids):
        from territoria.pipeline.runner import run

        echo(tr(MESSAGES, "running", lang, ids=", ".join(ids)))
        summary = run(ws, territories=ids, workers=workers, progress=False)
        if not summary.ok:
            echo(summary.format(lang))
    copy_plans(ws)
    root = ws.root / CLASSROOM_DIR
    root.mkdir(exist_ok=True)
    out = []
    for n, (tid, name) in enumerate(chosen, start=1):
        folder = root / f"learner-{n}"
        nbs = prepare_learner(ws, folder, tid, lang, notebooks_dir)
        out.append(Learner(n, tid, name, folder, nbs))
        echo(tr(MESSAGES, "learner", lang, n=n, tid=tid, name=name,
                folder=folder.relative_to(ws.root)))
    _write_roster(root, out)
    return Classroom(ws, root, out, built=built)


def _write_roster(root: Path, learners: list[Learner]) -> None:
    from territoria.safe_export import neutralise

    with open(root / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["learner", "folder", "territory_id", "name"])
        for x in learners:  # names come from the store: no cell may run as a formula
            w.writerow([neutralise(str(v)) for v in (x.number, x.folder.name, x.territory_id,
                                                     x.name)])
    lines = []
    for lang in ("es", "en"):
        lines += [f"# {tr(MESSAGES, 'readme_title', lang)}", "", tr(MESSAGES, "readme_intro", lang),
                  ""]
        lines += [f"- `{x.folder.name}/`: {x.territory_id} {x.name}" for x in learners]
        lines.append("")
    (root / "README.md").write_text("\n".join(lines), encoding="utf-8")
