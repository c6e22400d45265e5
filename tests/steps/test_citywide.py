"""City-wide results computed once per store state (territoria.steps.citywide)."""

from __future__ import annotations

import multiprocessing
import os
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from territoria.steps import citywide
from territoria.store import Store


@pytest.fixture()
def ctx(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.transaction():
        store.append("zones", pd.DataFrame({"zone_id": ["Z1", "Z2"], "name": ["A", "B"]}))
    citywide._MEMORY.clear()
    yield SimpleNamespace(store=store, ws=SimpleNamespace(output_dir=tmp_path / "output"))
    citywide._MEMORY.clear()
    store.close()


def _frame():
    return pd.DataFrame({"level": ["territory", "city"], "unit": ["T1", None],
                         "estimate": [0.1 + 0.2, np.nan], "n": [3, 40], "ok": [True, False]})


def _counting(calls, result=None):
    def compute():
        calls.append(1)
        return _frame() if result is None else result
    return compute


def test_computed_once_and_read_back_identical(ctx):
    calls = []
    a = citywide.cached(ctx, "t", reads={"zones": None}, compute=_counting(calls))
    citywide._MEMORY.clear()  # as another process would: read from the file
    b = citywide.cached(ctx, "t", reads={"zones": None}, compute=_counting(calls))
    assert len(calls) == 1
    pd.testing.assert_frame_equal(a, _frame())
    pd.testing.assert_frame_equal(b, _frame())
    assert a["estimate"].iloc[0] == 0.1 + 0.2  # bit for bit


def test_tuples_and_copies(ctx):
    calls = []
    pair = (_frame(), _frame().assign(x=1.5))
    a, b = citywide.cached(ctx, "pair", reads={}, compute=_counting(calls, pair))
    a["changed"] = 1
    a2, b2 = citywide.cached(ctx, "pair", reads={}, compute=_counting(calls, pair))
    assert "changed" not in a2 and list(b2["x"]) == [1.5, 1.5] and len(calls) == 1


def test_key_follows_the_tables_it_reads_and_the_parameters(ctx):
    calls = []
    reads = {"zones": ["zone_id"]}
    citywide.cached(ctx, "t", reads=reads, compute=_counting(calls))
    with ctx.store.transaction():  # a table it does not read: same key
        ctx.store.append("crime_counts_extra", pd.DataFrame({"x": [1]}))
    citywide.cached(ctx, "t", reads=reads, compute=_counting(calls))
    assert len(calls) == 1
    citywide.cached(ctx, "t", reads=reads, params={"n_boot": 10}, compute=_counting(calls))
    assert len(calls) == 2
    with ctx.store.transaction():  # a row of a table it reads: computed again
        ctx.store.append("zones", pd.DataFrame({"zone_id": ["Z3"], "name": ["C"]}))
    citywide.cached(ctx, "t", reads=reads, compute=_counting(calls))
    assert len(calls) == 3
    # only the newest key of a name is kept on disk
    files = sorted(p.name for p in (ctx.ws.output_dir / "cache").glob("t-*.json"))
    assert len(files) == 1


def test_order_of_rows_does_not_change_the_key(ctx, tmp_path):
    other = Store(tmp_path / "o.duckdb")
    with other.transaction():
        other.append("zones", pd.DataFrame({"zone_id": ["Z2", "Z1"], "name": ["B", "A"]}))
    assert citywide.key(other, "t", {"zones": None}) == citywide.key(ctx.store, "t",
                                                                      {"zones": None})
    other.close()


def test_a_damaged_file_is_computed_again(ctx):
    calls = []
    citywide.cached(ctx, "t", reads={}, compute=_counting(calls))
    for p in (ctx.ws.output_dir / "cache").glob("t-*.parquet"):
        p.write_bytes(b"not parquet")
    citywide._MEMORY.clear()
    got = citywide.cached(ctx, "t", reads={}, compute=_counting(calls))
    assert len(calls) == 2
    pd.testing.assert_frame_equal(got, _frame())


def test_a_workspace_that_cannot_be_written_still_gets_its_result(ctx):
    ctx.ws.output_dir.parent.mkdir(exist_ok=True)
    ctx.ws.output_dir.write_text("a file where the folder should be")
    got = citywide.cached(ctx, "t", reads={}, compute=_counting([]))
    pd.testing.assert_frame_equal(got, _frame())


def test_bad_names_are_refused(ctx):
    with pytest.raises(ValueError, match="letters, digits"):
        citywide.cached(ctx, "../x", reads={}, compute=_frame)


def _worker(db, out, marks):
    store = Store(db, read_only=True)
    c = SimpleNamespace(store=store, ws=SimpleNamespace(output_dir=out))

    def compute():
        with open(marks, "a") as fh:
            fh.write("computed\n")
        time.sleep(0.5)
        return _frame()
    citywide.cached(c, "race", reads={"zones": None}, compute=compute)
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_processes_at_once_compute_it_once(ctx, tmp_path):
    db = ctx.store.path
    ctx.store.close()
    marks = tmp_path / "marks.txt"
    mp = multiprocessing.get_context("fork")
    procs = [mp.Process(target=_worker, args=(db, ctx.ws.output_dir, marks)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert marks.read_text().count("computed") == 1
    ctx.store = Store(db)
