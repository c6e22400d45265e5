"""End-to-end runs of fixture notebooks (tests/pipeline/notebooks) on a small workspace.

The fixture notebooks record known values: step 01 records each territory's population from
the store, step 02 reads it back from the store (so it must run after 01's results were
collected) and fails on purpose for T03, and city step 07 sums step 01's populations (so it
must run after every territory step).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from territoria.exceptions import PipelineError
from territoria.pipeline.kernels import fork_supported
from territoria.pipeline.runner import run
from territoria.store import Store

NOTEBOOKS = Path(__file__).parent / "notebooks"
NASTY_ID = 'x/../"<script>alert(1)</script>\n\'y'  # same as conftest.NASTY_ID
TERRITORIES = [("T01", 1000.0, True), ("T02", 2000.0, True), ("T03", 3000.0, True),
               ("T04", 4000.0, False), (NASTY_ID, 500.0, True)]
STEPS = "00,01,02,07"
ENGINE = "fork" if fork_supported() else "plain"


def _indicators(ws, step, name):
    with Store(ws.store_path, read_only=True) as s:
        df = s.query("SELECT territory_id, value FROM indicators WHERE step = ? AND name = ?",
                     [step, name])
    return {(None if t is None or t != t else t): v for t, v in zip(df.territory_id, df.value, strict=False)}


@pytest.fixture(scope="module")
def first(tmp_path_factory, make_ws, nasty_id):
    assert nasty_id == NASTY_ID
    ws = make_ws(tmp_path_factory.mktemp("run") / "ws", TERRITORIES)
    summary = run(ws, steps=STEPS, workers=2, engine=ENGINE, notebooks_dir=NOTEBOOKS,
                  progress=False)
    return ws, summary


@pytest.mark.slow
def test_first_run_executes_everything_in_step_order(first):
    ws, summary = first
    # 1 city (00) + 4 priority territories x 2 steps + 1 city (07); T04 is not priority
    assert summary.counts == {"ok": 9, "skipped": 0, "failed": 1}
    assert summary.engine == ENGINE
    assert _indicators(ws, "00_selection", "n_territories") == {None: 5.0}
    assert _indicators(ws, "00_selection", "n_priority") == {None: 4.0}
    pops = _indicators(ws, "01_network", "population")
    assert pops == {"T01": 1000.0, "T02": 2000.0, "T03": 3000.0, NASTY_ID: 500.0}
    # 02 read 01's results from the store: they were collected before 02 ran
    assert _indicators(ws, "02_diagnostic", "population_from_01") == {
        "T01": 1000.0, "T02": 2000.0, NASTY_ID: 500.0}
    # 07 ran after all territory steps: 1000 + 2000 + 3000 + 500
    assert _indicators(ws, "07_synthesis", "population_total") == {None: 6500.0}
    assert _indicators(ws, "07_synthesis", "territories_with_01") == {None: 4.0}
    out = ws.output_dir
    for step, name in [("00_selection", "city"), ("01_network", "T01"),
                       ("02_diagnostic", "T02"), ("07_synthesis", "city")]:
        nb = nbformat.read(out / step / f"{name}.ipynb", as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "workspace = " in injected[0].source
        html = (out / step / f"{name}.html").read_text(encoding="utf-8")
        assert "Fixture" in html and "<html" not in html  # a fragment (basic template)
        assert "from territoria.store import Store" not in html  # inputs hidden
        assert "In&nbsp;[" not in html and "jp-InputPrompt" not in html
    # the figure of step 01 is embedded as a PNG
    assert "data:image/png;base64" in (out / "01_network" / "T01.html").read_text()
    with Store(ws.store_path, read_only=True) as s:
        runs = s.query("SELECT step, territory_id, status, fingerprint, output_path FROM runs")
    assert len(runs) == 10 and set(runs.status) == {"ok", "failed"}
    assert runs.fingerprint.str.len().eq(64).all()


@pytest.mark.slow
def test_failing_notebook_is_reported_and_others_finish(first):
    ws, summary = first
    [f] = summary.failures
    assert (f.step, f.territory_id) == ("02_diagnostic", "T03")
    # papermill counts cells of the executed notebook: markdown, parameters, injected
    # parameters, open store, query, raise -> index 5
    assert (f.error.ename, f.error.evalue, f.error.cell_index) == (
        "ValueError", "no data for T03", 5)
    text = summary.format("en")
    assert "02_diagnostic · territory T03: cell 5 (In [" in text and "1 failed" in text
    assert "territory T03" not in summary.format("es") and "colonia T03" in summary.format("es")
    nb = nbformat.read(ws.output_dir / "02_diagnostic" / "T03.ipynb", as_version=4)
    assert "An Exception was encountered" in nb.cells[0].source  # papermill's error banner
    [cell] = [c for c in nb.cells if c.get("execution_count") == f.error.exec_count]
    assert [o.get("ename") for o in cell.outputs] == ["ValueError"]
    assert "raise ValueError" in cell.source
    assert not (ws.output_dir / "02_diagnostic" / "T03.html").exists()
    with Store(ws.store_path, read_only=True) as s:
        err = s.query("SELECT error FROM runs WHERE status = 'failed'").error.tolist()
    assert err == [f.error.describe()]


@pytest.mark.slow
def test_nasty_territory_id_stays_inside_output_folder(first):
    ws, summary = first
    r = next(r for r in summary.results if r.territory_id == NASTY_ID and r.step == "01_network")
    assert r.status == "ok"
    files = {p.name for p in (ws.output_dir / "01_network").iterdir()}
    stem = next(n for n in files if n.startswith("x_..") and n.endswith(".ipynb"))[:-6]
    assert all(c.isalnum() or c in "._-" for c in stem)
    assert {p.resolve().parent for p in ws.output_dir.rglob("*")} <= {
        ws.output_dir.resolve(), *[d.resolve() for d in ws.output_dir.iterdir() if d.is_dir()]}
    # the parameter reached the notebook intact (papermill escaped it) and came back
    probe = _probe(ws, NASTY_ID)
    assert probe["territory"] == NASTY_ID
    html = (ws.output_dir / "01_network" / f"{stem}.html").read_text()
    assert "<script>alert(1)</script>" not in html


def _probe(ws, tid):
    from territoria.report.record import load_result_table

    with Store(ws.store_path, read_only=True) as s:
        t = load_result_table(s, "01_network", tid, "probe")
    return {k: json.loads(v) for k, v in zip(t["key"], t["value"], strict=False)}


@pytest.mark.slow
def test_rerun_skips_up_to_date_and_reruns_when_output_missing(first):
    ws, _ = first
    (ws.output_dir / "01_network" / "T01.html").unlink()
    again = run(ws, steps=STEPS, workers=2, engine="plain", notebooks_dir=NOTEBOOKS,
                progress=False)
    # 01/T01 lost its page; 02/T03 failed last time; the 8 others are up to date, and
    # 02/T01 stays up to date because 01/T01 recorded the same results again
    assert again.counts == {"ok": 1, "skipped": 8, "failed": 1}
    [ok] = [r for r in again.results if r.status == "ok"]
    assert (ok.step, ok.territory_id) == ("01_network", "T01")
    assert (ws.output_dir / "01_network" / "T01.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(not fork_supported(), reason="fork engine is Linux-only")
def test_fork_and_plain_kernels_give_the_same_results(first):
    ws, _ = first
    res = {}
    for engine in ("fork", "plain"):
        s = run(ws, steps="01", territories=["T02"], workers=1, engine=engine, force=True,
                notebooks_dir=NOTEBOOKS, progress=False)
        assert s.counts == {"ok": 1, "skipped": 0, "failed": 0} and s.engine == engine
        nb = nbformat.read(ws.output_dir / "01_network" / "T02.ipynb", as_version=4)
        outputs = [[{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs]
                   for c in nb.cells if c.cell_type == "code"]
        res[engine] = (_probe(ws, "T02"), _indicators(ws, "01_network", "mean_v")["T02"],
                       outputs)
    fork, plain = res["fork"], res["plain"]
    assert fork[0] == plain[0]  # sys.path, cwd, backend, options, user namespace, rng...
    assert fork[0]["backend"] == "module://matplotlib_inline.backend_inline"
    assert fork[0]["open_figures"] == 0 and fork[0]["cwd_is_workspace"] is True
    assert fork[1] == plain[1] == 50.0  # mean of (0..5) * 2000 / 100
    assert fork[2] == plain[2]  # identical printed outputs and PNG figure


def test_unknown_territory_and_step_are_named(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws", [("T01", 1.0, True)])
    with pytest.raises(PipelineError, match=r"unknown territory 'T99' \(allowed: T01\)"):
        run(ws, territories=["T99"], steps="01", notebooks_dir=NOTEBOOKS, progress=False)
    with pytest.raises(PipelineError, match=r"unknown step '9'"):
        run(ws, steps="9", notebooks_dir=NOTEBOOKS, progress=False)
    with pytest.raises(PipelineError, match="step notebook not found: .*03_agenda.ipynb"):
        run(ws, steps="03", notebooks_dir=NOTEBOOKS, progress=False)


def test_no_priority_territories_is_an_error(tmp_path, make_ws):
    ws = make_ws(tmp_path / "ws", [("T01", 1.0, False)])
    with pytest.raises(PipelineError, match="no territories to run"):
        run(ws, steps="01", notebooks_dir=NOTEBOOKS, progress=False)


def _ran(summary):
    return {(r.step, r.territory_id) for r in summary.results if r.status != "skipped"}


@pytest.fixture(scope="module")
def moved(first, tmp_path_factory):
    """A copy of the first run's workspace in another folder (the original is kept)."""
    import shutil

    ws, _ = first
    from territoria.config import Workspace

    dest = tmp_path_factory.mktemp("moved") / "elsewhere"
    shutil.copytree(ws.root, dest)
    return Workspace(dest)


@pytest.mark.slow
def test_a_copied_workspace_reruns_nothing(moved):
    again = run(moved, steps=STEPS, workers=2, engine=ENGINE, notebooks_dir=NOTEBOOKS,
                progress=False)
    # only 02/T03 runs again: it failed last time (and fails again)
    assert _ran(again) == {("02_diagnostic", "T03")}
    assert {k: v for k, v in again.counts.items() if v} == {"skipped": 9, "failed": 1}


@pytest.mark.slow
def test_one_territorys_new_data_reruns_its_notebooks_and_the_city_steps(moved):
    import pandas as pd

    with Store(moved.store_path) as s, s.transaction():  # crime: read by city steps only
        s.append("crime_counts", pd.DataFrame({"territory_id": ["T01"], "category": ["robo"],
                                               "count": [3]}))
    again = run(moved, steps=STEPS, workers=2, engine=ENGINE, notebooks_dir=NOTEBOOKS,
                progress=False)
    # 02/T03 fails on purpose, so it runs every time
    assert _ran(again) == {("00_selection", None), ("02_diagnostic", "T03"),
                           ("07_synthesis", None)}
    with Store(moved.store_path) as s, s.transaction():  # read by every territory step
        s.append("social_index", pd.DataFrame({"unit_id": ["T01"], "unit_level": ["territory"],
                                               "territory_id": ["T01"], "value": [0.4]}))
    again = run(moved, steps=STEPS, workers=2, engine=ENGINE, notebooks_dir=NOTEBOOKS,
                progress=False)
    assert _ran(again) == {("00_selection", None), ("01_network", "T01"),
                           ("02_diagnostic", "T01"), ("02_diagnostic", "T03"),
                           ("07_synthesis", None)}
    assert {k: v for k, v in again.counts.items() if v} == {"ok": 4, "skipped": 5, "failed": 1}


def test_summary_counts_no_data_per_step_and_writes_what_is_missing(tmp_path):
    """Statuses ok / no-data / failed / skipped per step, and the territory x step table of
    missing inputs read from the results files (also as output/missing_inputs.csv)."""
    import pandas as pd

    from territoria.config import init_workspace
    from territoria.pipeline.executor import Failure, JobResult
    from territoria.pipeline.runner import (
        MISSING_CSV,
        RunSummary,
        missing_inputs,
        write_missing_csv,
    )
    from territoria.steps.common import check_inputs, no_data_result, open_context

    ws = init_workspace(tmp_path / "ws", name="Vacía")
    Store(ws.store_path).close()
    ctx = open_context(ws.root)
    no_data_result(check_inputs(ctx, "02_diagnostic", "T1")).save(ws.output_dir)
    ctx.close()

    def job(step, tid, status):
        return JobResult(step, tid, status, 0.1, "x.ipynb", None, "plain",
                         error=Failure("ValueError", "boom") if status == "failed" else None)

    results = [job("00_selection", None, "ok"), job("02_diagnostic", "T1", "no-data"),
               job("02_diagnostic", "T2", "failed"), job("02_diagnostic", "T3", "skipped")]
    missing = missing_inputs(ws, results)
    assert [(m["step"], m["territory_id"], m["status"]) for m in missing] == [
        ("02_diagnostic", "T1", "no-data")]
    assert "diagnostic" in missing[0]["missing"].split(", ")
    path = write_missing_csv(ws, missing)
    assert path == ws.output_dir / MISSING_CSV
    csv = pd.read_csv(path, dtype=str)
    assert list(csv["territory_id"]) == ["T1"] and "territoria ingest" in csv["reason_es"][0]
    s = RunSummary("r", "plain", 1, 1.0, results, missing=missing, missing_csv=str(path))
    assert s.counts_by_step() == {
        "00_selection": {"ok": 1, "no-data": 0, "failed": 0, "skipped": 0},
        "02_diagnostic": {"ok": 0, "no-data": 1, "failed": 1, "skipped": 1}}
    assert s.counts == {"ok": 1, "skipped": 1, "failed": 1, "no-data": 1}
    assert not s.ok and [r.territory_id for r in s.failures] == ["T2"]
    text = s.format("en")
    assert "1 ok, 1 skipped (up to date), 1 failed, 1 no-data" in text
    assert "02_diagnostic: 0 / 1 / 1 / 1" in text
    assert "02_diagnostic · territory T1: " in text and str(path) in text
    assert "colonia T1" in s.format("es") and "sin datos" in s.format("es")


class _RecordingPool:
    """Stands in for the worker pool: records each batch of jobs, answers "ok"."""

    batches: list[list[str]] = []

    def __init__(self, *args, **kwargs):
        pass

    def run(self, jobs, on_result=None):
        from territoria.pipeline.executor import JobResult

        jobs = list(jobs)
        _RecordingPool.batches.append([j.step for j in jobs])
        out = [JobResult(j.step, j.territory_id, "ok", 0.01, j.output_path, j.html_path,
                         "plain", 1, None, 0.0, j.fingerprint) for j in jobs]
        for r in out:
            if on_result:
                on_result(r)
        return out

    def close(self, cancel=False):
        pass


def test_the_kits_notebooks_run_in_batches_longest_first(tmp_path, make_ws, monkeypatch):
    """Steps that read none of each other's results share one pool call and one record;
    inside a batch the steps whose last notebooks took longest go first."""
    from territoria.pipeline import runner

    ws = make_ws(tmp_path / "ws", [("T1", 10.0, True), ("T2", 20.0, True)])
    with Store(ws.store_path) as s, s.transaction():  # a previous run: 03 was the slowest
        s.append("runs", pd.DataFrame({
            "run_id": ["r0"] * 3, "step": ["01_network", "02_diagnostic", "03_agenda"],
            "territory_id": ["T1"] * 3, "status": ["ok"] * 3, "fingerprint": ["x"] * 3,
            "output_path": ["o"] * 3, "error": [None] * 3, "seconds": [0.2, 0.3, 0.9],
            "finished_at": [pd.Timestamp("2024-01-01")] * 3}))
    _RecordingPool.batches = []
    monkeypatch.setattr(runner, "Executor", _RecordingPool)
    summary = run(ws, engine="plain", progress=False)
    got = _RecordingPool.batches
    assert [sorted(set(b)) for b in got] == [
        ["00_selection", "01_network", "02_diagnostic", "03_agenda"],
        ["04_followup", "05_process", "06_impact"], ["07_synthesis"]]
    # unknown durations: city steps first; then by the last run's median seconds
    assert got[0] == ["00_selection", "03_agenda", "03_agenda", "02_diagnostic",
                      "02_diagnostic", "01_network", "01_network"]
    assert summary.counts["ok"] == 1 + 2 * 5 + 2
    with Store(ws.store_path, read_only=True) as s:
        assert s.query("SELECT count(*) AS n FROM runs WHERE run_id <> 'r0'").n[0] == 13


def test_adapted_notebooks_run_one_step_at_a_time(tmp_path, make_ws, monkeypatch):
    """Notebooks other than the kit's may read any earlier step's results."""
    from territoria.pipeline import runner

    ws = make_ws(tmp_path / "ws", [("T1", 10.0, True)])
    _RecordingPool.batches = []
    monkeypatch.setattr(runner, "Executor", _RecordingPool)
    run(ws, steps="00,01,02,07", engine="plain", progress=False, notebooks_dir=NOTEBOOKS)
    assert _RecordingPool.batches == [["00_selection"], ["01_network"], ["02_diagnostic"],
                                      ["07_synthesis"]]
