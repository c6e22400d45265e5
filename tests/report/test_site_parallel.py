"""Parallel publish: pages rendered by forked workers give the same site, byte for byte."""

import json

import pandas as pd
import pytest

from territoria.config import init_workspace
from territoria.report import site as site_mod
from territoria.report.record import Recorder, collect
from territoria.report.site import SiteBuilder, publish
from territoria.store import Store

GEOM = json.dumps({"type": "Polygon", "coordinates": [[[-99.0, 19.3], [-99.0, 19.31],
                                                      [-98.99, 19.31], [-99.0, 19.3]]]})
N = 24  # territories: enough pages for two workers (site._MIN_PAGES_PER_WORKER each)


@pytest.fixture()
def city(tmp_path):
    """A workspace with N territories, an indicator each and an executed notebook page each."""
    ws = init_workspace(tmp_path / "w", name="Ciudad Prueba")
    ids = [f"T{i:02d}" for i in range(N)]
    s = Store(ws.store_path)
    with s.transaction():
        s.append("zones", pd.DataFrame({"zone_id": ["Z1", "Z2"], "name": ["Uno", "Dos"]}))
        s.append("territories", pd.DataFrame({
            "territory_id": ids, "name": [f"Colonia {i}" for i in range(N)],
            "kind": ["colonia"] * N, "zone_id": ["Z1", "Z2"] * (N // 2),
            "population": [1000.0 + i for i in range(N)], "priority": [i % 3 == 0 for i in range(N)],
            "cohort": [None] * N, "geometry": [GEOM] * N}))
    runs = []
    for i, tid in enumerate(ids):
        rec = Recorder(ws.output_dir, "02_diagnostic", tid)
        rec.indicator("pct_unsafe_colonia", 0.5 + i / 100, ci_low=0.4, ci_high=0.9, n=50 + i)
        rec.save()
        nb = ws.output_dir / "02_diagnostic" / f"{tid}.ipynb"
        nb.write_text("{}", encoding="utf-8")
        nb.with_suffix(".html").write_text(f"<p>cuaderno de {tid}</p>", encoding="utf-8")
        runs.append({"run_id": "r1", "step": "02_diagnostic", "territory_id": tid,
                     "status": "ok", "fingerprint": "x",
                     "output_path": f"output/02_diagnostic/{tid}.ipynb", "error": None,
                     "seconds": 1.0, "finished_at": pd.Timestamp("2026-12-05 06:00")})
    collect(s, list(ws.output_dir.rglob("*.results.json")))
    with s.transaction():
        s.append("runs", pd.DataFrame(runs))
    s.close()
    return ws


def site_files(index) -> dict:
    root = index.parent.resolve()
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def publish_serial_and_forked(ws, monkeypatch) -> tuple[dict, dict, list]:
    """The site of ``ws`` published by 1 and by 2 processes, and (pages, workers) of each
    forked rendering."""
    serial = site_files(publish(ws, workers=1))
    forked = []
    original = SiteBuilder._render_forked

    def spy(self, pages, write_page, workers, bar):
        forked.append((tuple(pages), workers))
        return original(self, pages, write_page, workers, bar)

    monkeypatch.setattr(SiteBuilder, "_render_forked", spy)
    return serial, site_files(publish(ws, workers=2)), forked


def test_parallel_publish_is_byte_identical_to_serial(city, monkeypatch):
    if not site_mod._can_fork():
        pytest.skip("pages are rendered in forked processes on Linux only")
    serial, parallel, forked = publish_serial_and_forked(city, monkeypatch)
    # territory pages, then annex pages, in 2 processes
    assert [(len(pages), w) for pages, w in forked] == [(N, 2), (N, 2)]
    assert sorted(parallel) == sorted(serial)
    assert any(k.startswith("territories/") for k in serial)
    assert any(k.startswith("annex/") for k in serial)
    different = [k for k in serial if serial[k] != parallel[k]]
    assert different == []


def test_evaluation_pages_are_rendered_by_the_workers_byte_identical(evaluation_ws, tmp_path,
                                                                    monkeypatch):
    """The evaluation pages (territories' summaries, notebooks) go through the same workers."""
    import shutil

    from territoria.config import Workspace

    if not site_mod._can_fork():
        pytest.skip("pages are rendered in forked processes on Linux only")
    ws = Workspace(shutil.copytree(evaluation_ws.root, tmp_path / "ws",
                                   ignore=shutil.ignore_patterns("site", ".site*")))
    serial, parallel, forked = publish_serial_and_forked(ws, monkeypatch)
    evaluation = [pages for pages, w in forked if pages[0].startswith("evaluations/")]
    assert len(evaluation) == 1 and len(evaluation[0]) == 3 + 18  # notebooks, summaries
    assert all(w == 2 for _, w in forked)
    assert sorted(parallel) == sorted(serial)
    assert any(k.startswith("evaluations/classroom/notebooks/") for k in serial)
    assert [k for k in serial if serial[k] != parallel[k]] == []


def test_a_page_failing_in_a_worker_is_reported_in_page_order(city, monkeypatch):
    if not site_mod._can_fork():
        pytest.skip("pages are rendered in forked processes on Linux only")
    original = SiteBuilder._territory_page

    def flaky(self, out, r, *args):
        if r.territory_id in ("T03", "T17"):
            raise ValueError(f"bad {r.territory_id}")
        return original(self, out, r, *args)

    monkeypatch.setattr(SiteBuilder, "_territory_page", flaky)
    results = {}
    for workers in (1, 2):
        errors: list = []
        index = publish(city, errors=errors, workers=workers)
        results[workers] = errors
        pages = {p.name for p in (index.parent / "territories").iterdir()}
        assert "T03.html" not in pages and "T04.html" in pages and len(pages) == N - 2
    # pages go in name order ("Colonia 17" before "Colonia 3"), serially or forked
    assert results[1] == results[2] == [("territories/T17.html", "ValueError: bad T17"),
                                        ("territories/T03.html", "ValueError: bad T03")]


def test_a_dead_worker_fails_publish_and_keeps_the_previous_site(city, monkeypatch):
    if not site_mod._can_fork():
        pytest.skip("pages are rendered in forked processes on Linux only")
    index = publish(city, workers=1)
    before = site_files(index)
    original = SiteBuilder._territory_page

    def dies(self, out, r, *args):
        if r.territory_id == "T05":
            import os

            os._exit(9)  # what the kernel's OOM killer does to a worker
        return original(self, out, r, *args)

    monkeypatch.setattr(SiteBuilder, "_territory_page", dies)
    with pytest.raises(site_mod.PipelineError, match="died"):
        publish(city, workers=2)
    assert site_files(index) == before
    assert not list(city.root.glob(".site.tmp-*"))  # the half-built site was removed


def test_publish_shows_pages_left_on_a_terminal_only(city, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    publish(city, workers=2, progress=True)
    assert quiet.getvalue() == ""  # not a terminal: nothing
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    publish(city, workers=2, progress=True)
    shown = term.getvalue()
    assert "Páginas de colonias: 100%" in shown and f"{N}/{N}" in shown
    assert "Anexo técnico" in shown
