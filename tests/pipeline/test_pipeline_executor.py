"""Tests of territoria.pipeline.executor: failures described, results serialised, notebooks
that end on purpose cut cleanly, and one real execution (plain kernel) of a tiny notebook:
a success writes the notebook and its page, a failing cell is named and leaves no page."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from territoria.pipeline import executor as ex


def test_failure_and_result_round_trip():
    f = ex.Failure("ValueError", "bad", cell_index=3, exec_count=2)
    assert f.describe() == "cell 3 (In [2]): ValueError: bad"
    assert ex.Failure("TimeoutError", "slow").describe() == "TimeoutError: slow"
    r = ex.JobResult("01_network", "07-001", "failed", 1.5, "o.ipynb", None, "plain", 2, f)
    back = ex._result_from_dict(r.to_dict())
    assert back == r and isinstance(back.error, ex.Failure)


def test_clean_end_cuts_at_a_deliberate_exit():
    nb = new_notebook(cells=[
        new_code_cell("x = 1"),
        new_code_cell("raise SystemExit(0)", outputs=[
            new_output("stream", name="stderr", text="To exit: use 'exit', 'quit', or Ctrl-D."),
            new_output("error", ename="SystemExit", evalue="0", traceback=[]),
            new_output("stream", name="stdout", text="inputs are missing")]),
        new_code_cell("never = True")])
    out = ex._clean_end(nb)
    assert len(out.cells) == 2
    assert [o["output_type"] for o in out.cells[1].outputs] == ["stream"]
    assert out.cells[1].outputs[0]["text"] == "inputs are missing"
    real_error = new_notebook(cells=[new_code_cell("1/0", outputs=[
        new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])])])
    assert len(ex._clean_end(real_error).cells[0].outputs) == 1  # a real error stays


def test_kernel_never_started_and_atomic_write(tmp_path):
    p = tmp_path / "o.ipynb"
    assert ex._kernel_never_started(p)  # no output at all
    nb = new_notebook(cells=[new_code_cell("1")])
    nb.cells[0].metadata["papermill"] = {"status": "pending"}
    nbformat.write(nb, str(p))
    assert ex._kernel_never_started(p)
    nb.cells[0].metadata["papermill"] = {"status": "completed"}
    nbformat.write(nb, str(p))
    assert not ex._kernel_never_started(p)
    ex._write_atomic(tmp_path / "page.html", "<p>hola</p>")
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == "<p>hola</p>"
    assert not list(tmp_path.glob("*.tmp"))


def _job(tmp_path, source: str, name: str) -> ex.Job:
    nb = new_notebook(cells=[new_code_cell("value = 1", metadata={"tags": ["parameters"]}),
                             new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    src = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, str(src))
    return ex.Job(step="01_network", territory_id="T1", input_path=str(src),
                  output_path=str(tmp_path / "out" / f"{name}.ipynb"),
                  html_path=str(tmp_path / "out" / f"{name}.html"),
                  parameters={"value": 41}, cwd=str(tmp_path), timeout=120)


@pytest.mark.slow
def test_execute_job_with_a_plain_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "_STATE", {})
    ex.init_worker("plain", None)
    ok = ex.execute_job(_job(tmp_path, "print(value + 1)", "ok"))
    assert (ok.status, ok.engine, ok.attempts, ok.error) == ("ok", "plain", 1, None)
    assert "42" in (tmp_path / "out" / "ok.html").read_text(encoding="utf-8")
    bad = ex.execute_job(_job(tmp_path, "raise ValueError('no data for ' + str(value))", "bad"))
    assert bad.status == "failed" and bad.html_path is None
    assert bad.error.ename == "ValueError" and bad.error.evalue == "no data for 41"
    assert bad.error.cell_index is not None
    assert not (tmp_path / "out" / "bad.html").exists()
