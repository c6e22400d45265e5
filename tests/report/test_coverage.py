"""Data coverage and partial data end to end: a workspace with only geography, the social
index and crime runs every step and publishes; every page says what is missing.

Assertions are on what was recorded (runs, results, the coverage table), not on page text.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from territoria.config import Workspace, init_workspace
from territoria.pipeline.runner import MISSING_CSV, run
from territoria.report import coverage
from territoria.report.site import SiteBuilder, publish
from territoria.steps.registry import STEPS
from territoria.store import Store

N_TERRITORIES = 3


@pytest.fixture(scope="module")
def geo_only(sample_ws, tmp_path_factory):
    """Geography, social index and crime of the sample city, nothing from the field; every
    step run for three territories, then published. Returns (ws, ids, summary, errors)."""
    from territoria.ingest.core import ingest_files

    root = tmp_path_factory.mktemp("geo") / "ws"
    ws = init_workspace(root, name="Iztapalapa", force=True)
    shutil.copy(sample_ws.root / "city.yml", root / "city.yml")
    raw = sample_ws.raw_dir
    files = [raw / "catalogue" / "zones.csv", raw / "catalogue" / "iztapalapa_ut.geojson",
             *sorted((raw / "indices").iterdir()), *sorted((raw / "crime").iterdir())]
    reports = ingest_files(ws, files)
    assert all(r.status == "ok" for r in reports), [r.as_line() for r in reports]
    ws = Workspace(root)
    with Store(ws.store_path, read_only=True) as s:
        ids = s.query("SELECT territory_id FROM territories ORDER BY territory_id "
                      f"LIMIT {N_TERRITORIES}")["territory_id"].tolist()
    summary = run(ws, territories=ids, workers=2, progress=False)
    errors: list = []
    publish(ws, errors=errors)
    return ws, ids, summary, errors


@pytest.mark.slow
def test_geography_index_and_crime_only_runs_every_step_without_failing(geo_only):
    ws, ids, summary, errors = geo_only
    assert summary.counts["failed"] == 0, summary.format("en")
    by_step = summary.counts_by_step()
    assert list(by_step) == [s.id for s in STEPS]
    # selection needs only what is there; the field steps wait for their forms
    assert by_step["00_selection"]["ok"] == 1
    for step in ("01_network", "02_diagnostic", "03_agenda", "04_followup", "05_process"):
        assert by_step[step]["no-data"] == N_TERRITORIES, (step, by_step[step])
    assert not errors
    assert ws.site_dir.joinpath("index.html").exists()


@pytest.mark.slow
def test_the_run_writes_what_is_missing_where(geo_only):
    ws, ids, summary, _ = geo_only
    csv = pd.read_csv(ws.output_dir / MISSING_CSV, dtype=str, keep_default_na=False)
    assert str(ws.output_dir / MISSING_CSV) == summary.missing_csv
    assert len(csv) == len(summary.missing) > 0
    diag = csv[csv["step"] == "02_diagnostic"]
    assert sorted(diag["territory_id"]) == sorted(ids)
    assert (diag["status"] == "no-data").all()
    assert diag["missing"].str.contains("diagnostic").all()
    assert diag["reason_es"].str.contains("territoria ingest").all()
    assert (diag["reason_es"] != diag["reason_en"]).all()


@pytest.mark.slow
def test_pages_and_coverage_know_what_is_missing(geo_only):
    ws, ids, _, _ = geo_only
    with Store(ws.store_path, read_only=True) as store:
        runs = store.query("SELECT step, territory_id, status FROM runs")
        b = SiteBuilder(ws, store)
        # recorded statuses: a territory page shows the progress section and one
        # "no data yet" view per field step
        st = b.statuses
        assert st[(ids[0], "02_diagnostic")]["status"] == "no-data"
        assert "diagnostic" in st[(ids[0], "02_diagnostic")]["missing"]
        secs = b.section_blocks(ids[0], [s.id for s in STEPS if not s.is_city])
        kinds = {s["step"]: [v["kind"] for v in s["views"]] for s in secs}
        assert kinds["02_diagnostic"] == ["nodata"]
        progress = b.progress_section(ids[0])["views"][0]["rows"]
        assert [r[1]["text"]["en"] for r in progress] == ["No data yet"] * 5
        assert not coverage.has_field_data(st, ids[0])
    assert set(runs["status"]) <= {"ok", "no-data"}
    cov = pd.read_csv(ws.site_dir / "coverage.csv", dtype=str, keep_default_na=False)
    mine = cov[cov["territory_id"].isin(ids)]
    assert len(mine) == N_TERRITORIES * 5 and (mine["status"] == "no-data").all()
    assert (mine["since"] != "").all()
    others = cov[~cov["territory_id"].isin([*ids, "city"])]
    assert (others["status"] == "not-run").all()
    city = cov[cov["territory_id"] == "city"].set_index("step")["status"]
    assert city["00_selection"] == "ok"
    assert (ws.site_dir / "coverage.html").exists()


def test_statuses_keep_the_run_before_a_skip_and_say_since_when(tmp_path):
    import json

    s = Store(tmp_path / "s.duckdb")
    t = pd.Timestamp("2024-01-01")
    rows = [("01_network", "T1", "no-data", t), ("01_network", "T1", "skipped", t + pd.Timedelta(days=1)),
            ("01_network", "T1", "no-data", t + pd.Timedelta(days=2)),
            ("01_network", "T2", "failed", t), ("01_network", "T2", "ok", t + pd.Timedelta(days=3))]
    with s.transaction():
        s.append("runs", pd.DataFrame([{"run_id": "r", "step": a, "territory_id": b, "status": c,
                                        "fingerprint": "f", "output_path": "x", "error": None,
                                        "seconds": 1.0, "finished_at": d} for a, b, c, d in rows]))
        s.ensure_table("results", {"territory_id": "VARCHAR", "step": "VARCHAR",
                                   "key": "VARCHAR", "payload": "VARCHAR", "meta": "VARCHAR"})
        meta = {"status": "partial", "missing": ["links"], "missing_sections": ["links"],
                "reason_es": "falta", "reason_en": "missing"}
        s.append("results", pd.DataFrame([{"territory_id": "T2", "step": "01_network",
                                           "key": "inputs", "payload": "{}",
                                           "meta": json.dumps(meta)}]))
    st = coverage.step_statuses(s)
    assert st[("T1", "01_network")]["status"] == "no-data"
    assert st[("T1", "01_network")]["since"] == "2024-01-01"  # the skip does not break it
    assert st[("T2", "01_network")]["status"] == "partial"
    assert st[("T2", "01_network")]["since"] == "2024-01-04"
    assert st[("T2", "01_network")]["missing_sections"] == ["links"]
    frame = coverage.coverage_frame(s, ["T1", "T2", "T3"], ["01_network"])
    assert list(frame["status"]) == ["no-data", "partial", "not-run"]
    body = coverage.page_body(frame, {"T1": "<b>x</b>"}, {"01_network": ("Red", "Network")})
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body
    s.close()
