"""``territoria evaluate run PLAN``: execute an evaluation plan and publish its report.

Each question of the plan is one execution of ``notebooks/evaluation.ipynb`` with the
parameters ``workspace, plan, question, language``, through the same worker pool and warm
kernels as ``territoria run`` (:mod:`territoria.pipeline.executor`). Notebooks open the store
read-only and write a results file; then this module, the only writer, loads every results
file into the store in one transaction:

- ``evaluation_results``: one row per indicator (and territory): ``plan, question, indicator,
  territory_id, grp, value, ci_low, ci_high, n, suppressed, unit, method, answer_es,
  answer_en, run_id, computed_at``;
- ``evaluation_questions``: one row per question: its text, method, outcome, indicators,
  sources, answer and limits in both languages, the detail table (JSON), status and error;
- ``evaluation_plans``: the plan itself (YAML text, for the report's appendix), title,
  languages, minimum cell size, run id and date;
- ``evaluation_feedback``: residents' readings of each finding, aggregated and suppressed
  (:mod:`territoria.evaluation.feedback`), as ingested so far.

A plan's earlier rows are replaced. Finally the evaluation pages of the site are rebuilt
(:mod:`territoria.evaluation.site`); ``territoria publish`` rebuilds them too, with the rest.

Examples
--------
>>> s = EvaluationRun("demo", "r1", "plain", 1.5, ok=["q1"], failed={})
>>> s.format("en")
'demo: 1 questions answered, 0 failed in 1.5 s (engine plain)'
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from territoria.config import Workspace
from territoria.evaluation import feedback as fb
from territoria.evaluation.methods import RESULT_COLUMNS, QuestionResult, sidecar_path
from territoria.evaluation.plan import Plan, check_plan, load_plan
from territoria.exceptions import PipelineError
from territoria.i18n import catalogue, check_language, tr
from territoria.store import Store

__all__ = ["run_plan", "EvaluationRun", "record", "notebook_path", "public_error", "TABLES"]

MESSAGES = catalogue(__name__)

TABLES = {
    "evaluation_results": {
        "plan": "VARCHAR", "question": "VARCHAR", "indicator": "VARCHAR",
        "territory_id": "VARCHAR", "grp": "VARCHAR", "value": "DOUBLE", "ci_low": "DOUBLE",
        "ci_high": "DOUBLE", "n": "INTEGER", "suppressed": "BOOLEAN", "unit": "VARCHAR",
        "method": "VARCHAR", "answer_es": "VARCHAR", "answer_en": "VARCHAR",
        "run_id": "VARCHAR", "computed_at": "TIMESTAMP"},
    "evaluation_questions": {
        "plan": "VARCHAR", "question": "VARCHAR", "position": "INTEGER", "text_es": "VARCHAR",
        "text_en": "VARCHAR", "method": "VARCHAR", "outcomes": "VARCHAR",
        "indicators": "VARCHAR", "sources": "VARCHAR", "answer_es": "VARCHAR",
        "answer_en": "VARCHAR", "limits_es": "VARCHAR", "limits_en": "VARCHAR",
        "detail": "VARCHAR", "status": "VARCHAR", "error": "VARCHAR", "run_id": "VARCHAR"},
    "evaluation_plans": {
        "plan": "VARCHAR", "title_es": "VARCHAR", "title_en": "VARCHAR",
        "purpose_es": "VARCHAR", "purpose_en": "VARCHAR", "languages": "VARCHAR",
        "min_cell_size": "INTEGER", "n_territories": "INTEGER", "source_text": "VARCHAR",
        "run_id": "VARCHAR", "ran_at": "TIMESTAMP"},
    "evaluation_feedback": {
        "plan": "VARCHAR", "question": "VARCHAR", "territory_id": "VARCHAR", "n": "INTEGER",
        "suppressed": "BOOLEAN", "n_explanations": "INTEGER", "share_yes": "DOUBLE",
        "share_partly": "DOUBLE", "share_no": "DOUBLE", "share_dont_know": "DOUBLE",
        "yes_ci_low": "DOUBLE", "yes_ci_high": "DOUBLE"},
}


@dataclass
class EvaluationRun:
    """The outcome of :func:`run_plan`."""

    plan: str
    run_id: str
    engine: str
    seconds: float
    ok: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # question -> (error, notebook path)
    warnings: list = field(default_factory=list)
    report: Path | None = None
    language: str = "es"  # of the lines :meth:`format` writes: the city's default language

    def format(self, lang: str | None = None) -> str:
        lang = lang or self.language
        lines = [tr(MESSAGES, "summary", lang, plan=self.plan, ok=len(self.ok),
                    failed=len(self.failed), s=self.seconds, engine=self.engine)]
        for q, (err, path) in self.failed.items():
            lines.append(tr(MESSAGES, "failed", lang, q=q, err=err, path=path))
        if self.report is not None:
            lines.append(tr(MESSAGES, "report", lang, path=self.report))
        return "\n".join(lines)


def notebook_path(notebooks_dir=None) -> Path:
    """The evaluation notebook (``notebooks/evaluation.ipynb`` of the kit)."""
    from territoria.pipeline.steps import default_notebooks_dir

    return Path(notebooks_dir or default_notebooks_dir()) / "evaluation.ipynb"


def _plan_rows(plan: Plan, cfg, n_territories: int, run_id: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "plan": plan.name, "title_es": plan.title.es, "title_en": plan.title.get("en"),
        "purpose_es": plan.purpose.es if plan.purpose else None,
        "purpose_en": plan.purpose.get("en") if plan.purpose else None,
        "languages": ",".join(plan.languages), "min_cell_size": plan.min_cell(cfg),
        "n_territories": n_territories, "source_text": plan.source_text, "run_id": run_id,
        "ran_at": pd.Timestamp.now(tz="UTC").tz_localize(None)}])


def record(store: Store, plan: Plan, results: dict, failed: dict, *, cfg, run_id: str,
           n_territories: int) -> None:
    """Replace the plan's rows in the evaluation tables, in one transaction.

    Parameters
    ----------
    store : Store
        Opened for writing.
    plan : Plan
    results : dict
        ``{question: QuestionResult}`` of the questions answered.
    failed : dict
        ``{question: (error, path)}`` of the questions that failed.
    """
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    frames = [r.frame() for r in results.values()]
    res = (pd.concat(frames, ignore_index=True) if frames
           else pd.DataFrame(columns=RESULT_COLUMNS))
    res["run_id"] = run_id
    res["computed_at"] = now
    res = res.astype({"territory_id": object, "grp": object, "unit": object})
    res["n"] = pd.array(res["n"], dtype="Int64")
    qrows = []
    for pos, q in enumerate(plan.questions):
        r = results.get(q.id)
        err = failed.get(q.id)
        qrows.append({
            "plan": plan.name, "question": q.id, "position": pos, "text_es": q.text.es,
            "text_en": q.text.get("en"), "method": q.method, "outcomes": ",".join(q.outcomes),
            "indicators": ",".join(q.indicators), "sources": ",".join(q.sources),
            "answer_es": r.answer.get("es") if r else None,
            "answer_en": r.answer.get("en") if r else None,
            "limits_es": r.limits.get("es") if r else None,
            "limits_en": r.limits.get("en") if r else None,
            "detail": r.detail.to_json(orient="split", default_handler=str) if r else None,
            "status": "ok" if r else "failed", "error": err[0] if err else None,
            "run_id": run_id})
    agg = fb.from_store(store, plan.name, plan.min_cell(cfg))
    with store.transaction():
        for name, cols in TABLES.items():
            store.ensure_table(name, cols)
            store.execute(f'DELETE FROM "{name}" WHERE plan = ?', [plan.name])
        if len(res):
            store.append("evaluation_results", res[list(TABLES["evaluation_results"])])
        store.append("evaluation_questions", pd.DataFrame(qrows))
        store.append("evaluation_plans", _plan_rows(plan, cfg, n_territories, run_id))
        if len(agg):
            agg = agg.astype({"territory_id": object})
            agg["n"] = pd.array(agg["n"], dtype="Int64")
            agg["n_explanations"] = pd.array(agg["n_explanations"], dtype="Int64")
            store.append("evaluation_feedback", agg)


def run_plan(ws, plan_path, *, workers: int = 2, engine: str = "auto",
             language: str | None = None, publish: bool = True, notebooks_dir=None,
             timeout: float | None = None) -> EvaluationRun:
    """Execute every question of a plan, record the results and publish the report.

    Parameters
    ----------
    ws : Workspace or path-like
    plan_path : path-like
        ``evaluations/<name>.yml``.
    workers : int
        Questions executed at once.
    engine : {"auto", "fork", "plain"}
        Kernels forked from a warm server (Linux) or fresh ones (see ``territoria run``).
    language : {"es", "en"}, optional
        Language of the notebooks' narrative (default: the plan's first language).
    publish : bool
        Rebuild the evaluation pages of the site.
    notebooks_dir : path-like, optional
        Folder holding ``evaluation.ipynb`` (default: the kit's).
    timeout : float, optional
        Seconds allowed per cell.

    Returns
    -------
    EvaluationRun
        Questions answered and failed (with the notebook's error), warnings, report path;
        its lines, the fallback warnings and the errors below are in the city's
        ``default_language`` (the notebooks' narrative follows ``language``).

    Raises
    ------
    PlanError
        The plan is invalid for this workspace (one line naming the key).
    PipelineError
        No notebook, or every question failed.
    """
    from territoria.pipeline.executor import Job
    from territoria.pipeline.runner import _start_pool

    t0 = time.perf_counter()
    ws = ws if isinstance(ws, Workspace) else Workspace(ws)
    cfg = ws.config()
    said = cfg.default_language  # the city's language for the lines the command prints
    plan = load_plan(plan_path, root=ws.root, lang=said)
    lang = check_language(language or plan.languages[0])
    nb = notebook_path(notebooks_dir)
    if not nb.is_file():
        raise PipelineError(tr(MESSAGES, "no_notebook", said, path=nb))
    if not ws.store_path.exists():
        raise PipelineError(tr(MESSAGES, "no_store", said, path=ws.store_path))
    import warnings

    with Store(ws.store_path, read_only=True) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        notes = check_plan(plan, store, cfg)
        from territoria.evaluation.methods import scope_territories
        from territoria.steps.common import StepContext

        n_terr = len(scope_territories(StepContext(ws, cfg, store), plan, lang=said))
    run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    out_dir = ws.output_dir / "evaluations" / plan.name
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for q in plan.questions:
        side = sidecar_path(ws.output_dir, plan.name, q.id)
        out = out_dir / f"{q.id}.ipynb"
        params = {"workspace": str(ws.root), "plan": str(Path(plan_path).resolve()),
                  "question": q.id, "language": lang}
        jobs.append(Job(f"evaluation_{plan.name}", q.id, str(nb), str(out),
                        str(out.with_suffix(".html")), params, str(ws.root), str(side), None,
                        timeout))
    log = ws.output_dir / "evaluate.log"
    log.write_bytes(b"")
    pool_notes: list[str] = []
    used, server, executor = _start_pool(engine, workers, log, pool_notes, said)
    try:
        results = executor.run(jobs)
    finally:
        executor.close()
        if server is not None:
            server.close()
    answered: dict = {}
    failed: dict = {}
    for job, r in zip(jobs, results, strict=True):
        qid = job.territory_id
        side = Path(job.sidecar_path)
        if r.status == "ok" and side.exists() and side.stat().st_mtime >= r.started_at - 1:
            answered[qid] = QuestionResult.load(side)
        else:
            err = r.error.describe() if r.error else "no results file"
            failed[qid] = (public_error(err, ws), job.output_path)
    if not answered:
        first = next(iter(failed.items()))
        raise PipelineError(tr(MESSAGES, "all_failed", said, plan=plan.name, q=first[0],
                               err=first[1][0], path=first[1][1]))
    with Store(ws.store_path) as store:
        record(store, plan, answered, failed, cfg=cfg, run_id=run_id, n_territories=n_terr)
    report = None
    if publish:
        report = publish_evaluations(ws)
        report = report / f"{plan.name}.html"
    return EvaluationRun(plan.name, run_id, used, time.perf_counter() - t0,
                         ok=[q.id for q in plan.questions if q.id in answered], failed=failed,
                         warnings=notes + pool_notes, report=report, language=said)


def public_error(error: str, ws: Workspace) -> str:
    """``error`` with the workspace's folder left out (files named from inside it): the
    report publishes the error of a question that could not be answered.

    >>> public_error("FileNotFoundError: /srv/ws/output/x.csv", Workspace("/srv/ws"))
    'FileNotFoundError: output/x.csv'
    """
    return error.replace(f"{ws.root}/", "").replace(str(ws.root), ".")


def publish_evaluations(ws: Workspace) -> Path:
    """Rebuild ``site/evaluations/`` (and the site's assets if missing); return the folder.

    The rest of the site is left as it is; ``territoria publish`` rebuilds everything.
    """
    from importlib import resources

    from territoria.evaluation import site as eval_site
    from territoria.report.site import SiteBuilder

    site = ws.site_dir
    assets = site / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for name in ("site.css", "site.js"):
        if not (assets / name).exists():
            data = resources.files("territoria").joinpath("report", "static", name).read_bytes()
            (assets / name).write_bytes(data)
    folder = site / "evaluations"
    tmp = site / ".evaluations.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    with Store(ws.store_path, read_only=True) as store:
        builder = SiteBuilder(ws, store)
        stage = site / ".stage.tmp"
        shutil.rmtree(stage, ignore_errors=True)
        try:
            eval_site.build(builder, stage)
            if builder.page_errors:  # a page that could not be built: keep the old pages
                page, err = builder.page_errors[0]
                raise PipelineError(f"{len(builder.page_errors)} evaluation page(s) could not "
                                    f"be built; first: {page}: {err}")
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    built = stage / "evaluations"
    if built.exists():
        shutil.move(str(built), str(tmp))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    shutil.rmtree(stage, ignore_errors=True)
    return folder


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)
