"""Shared fixtures. Tests that need ``../shared/data/real`` skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("TERRITORIA_REAL_DATA", REPO.parent / "shared" / "data" / "real"))

# `territoria run` keeps a warm server for the user's next runs; the tests' runs leave none
# behind (tests/pipeline/test_pipeline_forkserver.py turns it on where it is under test)
os.environ["TERRITORIA_KEEP_WARM"] = "0"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder with the real data sets (each with its SOURCE.md); skips if absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not available at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_ws(tmp_path_factory):
    """The sample city built once per test session and ingested (a Workspace).

    Tests may read it and write sidecars under ``output/``; tests that change the store or the
    raw files must work on a copy (``shutil.copytree(sample_ws.root, tmp_path / "ws")``).
    """
    from territoria.demo import raw_files
    from territoria.ingest.core import ingest_files
    from territoria.sample import build_sample

    root = tmp_path_factory.mktemp("sample") / "iztapalapa"
    ws = build_sample(root)
    reports = ingest_files(ws, raw_files(ws))
    bad = [r.as_line() for r in reports if r.status != "ok"]
    if bad:
        raise RuntimeError("sample ingest failed: " + "; ".join(bad))
    return ws


@pytest.fixture(scope="session")
def published_ws(sample_ws, tmp_path_factory):
    """A copy of the sample city with every step run for two programme territories (city steps
    once) and the site published. Returns (workspace, territory ids)."""
    import shutil

    from territoria.config import Workspace
    from territoria.pipeline.runner import run
    from territoria.report.site import publish
    from territoria.store import Store

    root = tmp_path_factory.mktemp("published") / "ws"
    shutil.copytree(sample_ws.root, root)
    ws = Workspace(root)
    with Store(ws.store_path, read_only=True) as s:
        ids = s.query("SELECT territory_id FROM territories WHERE priority ORDER BY territory_id "
                      "LIMIT 2")["territory_id"].tolist()
    summary = run(ws, territories=ids, workers=2, progress=False)
    if not summary.ok:
        raise RuntimeError(summary.format("en"))
    publish(ws)
    return ws, ids


@pytest.fixture(autouse=True)
def _strict_translations():
    """In tests, a translation key missing from its catalogue raises (``i18n.set_strict``)."""
    from territoria import i18n

    old = i18n.set_strict(True)
    yield
    i18n.set_strict(old)


def _executed_evaluation_page(path, language: str) -> None:
    """``path`` (``.ipynb``) and its page (``.html``): the kit's evaluation notebook with each
    code cell's outputs written in ``language`` as a run would (a message and a table), and
    the last cell's message in both languages (:mod:`territoria.evaluation.narration`), made
    into a page by the executor's own exporter (inputs hidden)."""
    import nbformat
    import pandas as pd

    from territoria.evaluation.narration import saved
    from territoria.pipeline.html import NotebookHTMLExporter
    from territoria.steps.display import table

    nb = nbformat.read(REPO / "notebooks" / "evaluation.ipynb", as_version=4)
    nb.metadata["papermill"] = {"parameters": {"language": language, "question": path.stem}}
    said = {"es": "Cambio en quienes se sienten inseguros en su colonia: -9.2 puntos.",
            "en": "Change in the share of people who feel unsafe: -9.2 points."}[language]
    frame = pd.DataFrame({"indicator": ["wb_unsafe_change"], "estimate": [-0.092],
                          "ci_low": [-0.107], "ci_high": [-0.078], "n": [3040]})
    shown = table(frame, language)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=said + "\n"),
                nbformat.v4.new_output("display_data", data={"text/html": shown.html,
                                                             "text/plain": shown.text})]
    both = saved(path.with_suffix(".results.json"), path.parents[3], language)
    nb.cells[-1].outputs.append(nbformat.v4.new_output(
        "display_data", data={"text/html": both._repr_html_(), "text/plain": both.text}))
    nbformat.write(nb, path)
    exporter = NotebookHTMLExporter(template_name="basic", exclude_input=True,
                                    exclude_input_prompt=True, exclude_output_prompt=True)
    path.with_suffix(".html").write_text(exporter.from_notebook_node(nb)[0], encoding="utf-8")


@pytest.fixture(scope="session")
def evaluation_ws(tmp_path_factory):
    """A small city (18 territories) with the kit's classroom plan recorded in the store as
    ``territoria evaluate run`` records it (figures for the plan and each territory) and its
    executed notebooks beside: ``process`` and ``safety`` ran in Spanish, ``crime`` in
    English. Nothing published yet: tests publish it where they need (a Workspace)."""
    import json

    import pandas as pd

    from territoria.config import init_workspace
    from territoria.evaluation.methods import QuestionResult
    from territoria.evaluation.plan import load_plan
    from territoria.evaluation.runner import record
    from territoria.store import Store

    ws = init_workspace(tmp_path_factory.mktemp("evaluated") / "w", name="Ciudad Prueba")
    ids = [f"07-{i:03d}" for i in range(1, 19)]
    geom = json.dumps({"type": "Polygon", "coordinates": [[[-99.0, 19.3], [-99.0, 19.31],
                                                          [-98.99, 19.31], [-99.0, 19.3]]]})
    plan = load_plan(REPO / "evaluations" / "classroom.yml")
    results = {}
    for q in plan.questions:
        r = QuestionResult(plan.name, q.id, q.method,
                           answer={"es": f"Respuesta a {q.id}: bajó, con un intervalo que no "
                                         "incluye el cero.",
                                   "en": f"Answer to {q.id}: it went down, with an interval "
                                         "that excludes zero."},
                           limits={"es": "Sin grupo de comparación no se sabe la causa.",
                                   "en": "Without a comparison group the cause is unknown."},
                           detail=pd.DataFrame({"indicator": q.indicators,
                                                "label_es": [f"Indicador {i}" for i in q.indicators],
                                                "label_en": [f"Indicator {i}" for i in q.indicators],
                                                "estimate": [0.5] * len(q.indicators),
                                                "ci_low": [0.4] * len(q.indicators),
                                                "ci_high": [0.6] * len(q.indicators)}))
        for ind in q.indicators:
            r.add(ind, 3.5, ci_low=3.2, ci_high=3.8, n=400)
            for k, tid in enumerate(ids if q.method != "staggered_did" else []):
                r.add(ind, 3.0 + k / 10, ci_low=2.5, ci_high=3.9, n=3 + k, territory_id=tid)
        results[q.id] = r
    s = Store(ws.store_path)
    with s.transaction():
        s.append("zones", pd.DataFrame({"zone_id": ["Z1"], "name": ["Uno"]}))
        s.append("territories", pd.DataFrame({
            "territory_id": ids, "name": [f"Colonia {i}" for i in range(len(ids))],
            "kind": ["colonia"] * len(ids), "zone_id": ["Z1"] * len(ids),
            "population": [1000.0] * len(ids), "priority": [True] * len(ids),
            "cohort": [None] * len(ids), "geometry": [geom] * len(ids)}))
    record(s, plan, results, {}, cfg=ws.config(), run_id="r1", n_territories=len(ids))
    s.close()
    folder = ws.output_dir / "evaluations" / plan.name
    folder.mkdir(parents=True)
    for q, language in (("process", "es"), ("safety", "es"), ("crime", "en")):
        _executed_evaluation_page(folder / f"{q}.ipynb", language)
    return ws
