"""Dask distributed engine: the same stored results as a local run, failures per notebook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from territoria.exceptions import PipelineError
from territoria.pipeline.dask_engine import parse_scheduler
from territoria.pipeline.kernels import fork_supported
from territoria.pipeline.runner import run
from territoria.store import Store

NOTEBOOKS = Path(__file__).parent / "notebooks"
TERRITORIES = [("T01", 1000.0, True), ("T03", 3000.0, True), ("T04", 4000.0, False)]
#: What a run uses by default (``auto``), on the local pool and on Dask workers alike.
ENGINE = "inproc" if fork_supported() else "plain"


def _nonzero(counts):
    return {k: v for k, v in counts.items() if v}


def _stored(ws):
    with Store(ws.store_path, read_only=True) as s:
        ind = s.query("SELECT step, territory_id, name, grp, value, ci_low, ci_high, n, "
                      "suppressed, unit FROM indicators ORDER BY ALL")
        res = s.query("SELECT step, territory_id, key, payload FROM results ORDER BY ALL")
        runs = s.query("SELECT step, territory_id, status, fingerprint, error FROM runs "
                       "ORDER BY ALL")
    return ind, res, runs


@pytest.mark.slow
def test_a_local_cluster_stores_the_same_results_as_a_local_run(tmp_path, make_ws):
    pytest.importorskip("distributed")
    local = make_ws(tmp_path / "local", TERRITORIES)
    shutil.copytree(local.root, tmp_path / "dask")
    from territoria.config import Workspace

    dask_ws = Workspace(tmp_path / "dask")
    # 2 territories x 2 steps; 02 fails on purpose for T03 (the fixture notebook raises)
    a = run(local, steps="01,02", workers=2, engine=ENGINE, notebooks_dir=NOTEBOOKS,
            progress=False)
    b = run(dask_ws, steps="01,02", engine="auto", notebooks_dir=NOTEBOOKS, progress=False,
            scheduler="local:2")
    assert b.engine == f"dask-{ENGINE}" and b.workers == 2
    assert a.counts == b.counts
    assert _nonzero(b.counts) == {"ok": 3, "failed": 1}
    [fa], [fb] = a.failures, b.failures
    assert (fb.step, fb.territory_id) == ("02_diagnostic", "T03")
    assert fb.error.describe() == fa.error.describe()
    ind_a, res_a, runs_a = _stored(local)
    ind_b, res_b, runs_b = _stored(dask_ws)
    assert len(ind_a) > 0 and ind_a.equals(ind_b)
    # the probe table records where the kernel ran (workspace path): compare the others
    assert res_a[res_a.key != "probe"].reset_index(drop=True).equals(
        res_b[res_b.key != "probe"].reset_index(drop=True))
    assert runs_a.equals(runs_b)  # same statuses, errors and fingerprints
    nb = dask_ws.output_dir / "02_diagnostic" / "T03.ipynb"
    assert "An Exception was encountered" in nb.read_text(encoding="utf-8")
    assert (dask_ws.output_dir / "01_network" / "T01.html").exists()
    # nothing changed: the Dask run is up to date for a local rerun too
    again = run(dask_ws, steps="01,02", workers=1, engine="plain", notebooks_dir=NOTEBOOKS,
                progress=False)
    assert _nonzero(again.counts) == {"skipped": 3, "failed": 1}


@pytest.mark.parametrize("spec, parsed", [("local:2", ("local", 2)),
                                          ("tcp://10.1.2.3:8786", ("address",
                                                                   "tcp://10.1.2.3:8786"))])
def test_scheduler_specs(spec, parsed):
    assert parse_scheduler(spec) == parsed


@pytest.mark.parametrize("spec", ["local", "local:0", "local:x", "10.1.2.3:8786", ""])
def test_bad_scheduler_is_one_clear_error(spec):
    with pytest.raises(PipelineError, match=r"invalid --scheduler .* \(allowed: local:N"):
        parse_scheduler(spec)


def test_unreachable_scheduler_is_one_clear_error(tmp_path, make_ws):
    pytest.importorskip("distributed")
    ws = make_ws(tmp_path / "ws", [("T01", 1.0, True)])
    with pytest.raises(PipelineError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        run(ws, steps="01", notebooks_dir=NOTEBOOKS, progress=False,
            scheduler="tcp://127.0.0.1:9")


def test_cli_bad_scheduler_is_one_line(tmp_path, make_ws):
    from click.testing import CliRunner

    from territoria.cli import cli

    ws = make_ws(tmp_path / "ws", [("T01", 1.0, True)])
    r = CliRunner().invoke(cli, ["run", "-w", str(ws.root), "--scheduler", "local:zero",
                                 "--notebooks", str(NOTEBOOKS)], catch_exceptions=False)
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: invalid --scheduler 'local:zero' (allowed: local:N with N >= 1, or a scheduler "
        "address such as tcp://HOST:8786)"]


@pytest.mark.parametrize(("asked", "used", "mode"), [("auto", "inproc", "notebooks"),
                                                     ("inproc", "inproc", "notebooks"),
                                                     ("fork", "fork", "kernels")])
def test_a_dask_worker_uses_the_engine_of_the_local_pool(monkeypatch, asked, used, mode):
    """auto means inproc on Linux, as with --workers (not forked kernels)."""
    from territoria.pipeline import dask_engine, executor, forkserver

    started = []

    class FakeServer:
        address = "/tmp/fake.sock"

        def __init__(self, log_path=None, mode="kernels"):
            started.append(mode)

        def start(self):
            return self

        def close(self):
            pass

    monkeypatch.setattr(forkserver, "ForkServer", FakeServer)
    monkeypatch.setattr(forkserver, "fork_supported", lambda: True)
    monkeypatch.setattr(executor, "init_worker", lambda *a: None)
    monkeypatch.setattr(dask_engine, "_WORKER", {})
    monkeypatch.setattr(dask_engine.atexit, "register", lambda *a: None)
    assert dask_engine.prepare_worker(asked) == used
    assert started == [mode]
