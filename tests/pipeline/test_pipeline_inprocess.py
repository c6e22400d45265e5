"""The ``inproc`` engine: the same output notebook, page, results and failure report as a
notebook run by a real (forked) kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from territoria.pipeline.inprocess import _merge_stream
from territoria.pipeline.kernels import fork_supported
from territoria.pipeline.runner import run

pytestmark = pytest.mark.skipif(not fork_supported(), reason="inproc forks (Linux only)")

CELLS = [
    ("print('uno')\nprint('dos')\nimport sys\nprint('err', file=sys.stderr)\nprint('tres')", []),
    ("from IPython.display import display, HTML, Markdown\nimport pandas as pd\n"
     "df = pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})\ndisplay(df)\ndisplay(HTML('<b>h</b>'))\n"
     "display(Markdown('*m*'))\ndf.a.sum()", []),
    ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\n"
     "ax.plot([0, 1], [1, 0])\nplt.show()", []),
    ("from territoria.charts import Chart\nimport pandas as pd\n"
     "x = pd.Series([1.5, 2.25], name='v')\nx", []),
    ("", []),
    ("raise RuntimeError('skipped, never runs')", ["skip-execution"]),
    ("import warnings\nwarnings.warn('careful', UserWarning)\n'after'", []),
    ("if territory == 'T02':\n    raise KeyError('no such column')\n'fine'", []),
    ("'not reached for T02'", []),
]


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('workspace = None\nterritory = None\nlanguage = "es"\n'
                                       "period_start = None\nperiod_end = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Outputs"), params]
    for src, tags in CELLS:
        c = nbformat.v4.new_code_cell(src)
        if tags:
            c.metadata["tags"] = tags
        nb.cells.append(c)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "01_network.ipynb")
    return folder


def _outputs(ws, tid):
    nb = nbformat.read(ws.output_dir / "01_network" / f"{tid}.ipynb", as_version=4)
    cells = []
    for c in nb.cells:
        if "injected-parameters" in c.metadata.get("tags", []):
            continue
        outs = []
        for o in c.get("outputs", []):
            o = dict(o)
            if o.get("output_type") == "error":
                o["traceback"] = len(o["traceback"]) > 0  # colours and frames may differ
            if o.get("output_type") == "stream" and "warn" in o.get("text", ""):
                o["text"] = o["text"].split(":", 2)[-1]  # the warning's file path differs
            if "image/png" in o.get("data", {}):
                o["data"] = {**o["data"], "image/png": "<png>"}
            outs.append(o)
        cells.append((c.cell_type, c.source, c.get("execution_count"), outs,
                      c.metadata.get("papermill", {}).get("status"),
                      c.metadata.get("papermill", {}).get("exception")))
    return cells, nb.metadata.papermill.get("exception")


@pytest.mark.slow
def test_inproc_writes_what_a_kernel_writes(tmp_path, make_ws):
    nbdir = _notebook(tmp_path / "nb")
    runs = {}
    for engine in ("fork", "inproc"):
        ws = make_ws(tmp_path / engine, [("T01", 1.0, True), ("T02", 2.0, True)])
        s = run(ws, steps="01", engine=engine, notebooks_dir=nbdir, progress=False, workers=2)
        assert s.engine == engine
        runs[engine] = (ws, s)
    (fws, fs), (iws, isum) = runs["fork"], runs["inproc"]
    for tid in ("T01", "T02"):
        assert _outputs(iws, tid) == _outputs(fws, tid)
    [ff], [fi] = fs.failures, isum.failures
    assert fi.territory_id == "T02" and fi.error.describe() == ff.error.describe()
    assert "KeyError" in fi.error.describe()
    nb = nbformat.read(iws.output_dir / "01_network" / "T02.ipynb", as_version=4)
    assert "An Exception was encountered" in nb.cells[0].source  # papermill's banner
    assert (iws.output_dir / "01_network" / "T01.html").exists()
    assert not (iws.output_dir / "01_network" / "T02.html").exists()
    page = (iws.output_dir / "01_network" / "T01.html").read_text(encoding="utf-8")
    assert "<b>h</b>" in page and "uno\ndos" in page


def test_stream_outputs_merge_like_nbclient():
    outs = _merge_stream([], "stdout", "a")
    _merge_stream(outs, "stdout", "b\n")
    _merge_stream(outs, "stderr", "e")
    _merge_stream(outs, "stdout", "c")
    assert [(o["name"], o["text"]) for o in outs] == [("stdout", "ab\n"), ("stderr", "e"),
                                                      ("stdout", "c")]


@pytest.mark.slow
def test_inproc_gives_the_fixture_run_the_same_results(tmp_path, make_ws, fixture_notebooks):
    from territoria.store import Store

    got = {}
    for engine in ("fork", "inproc"):
        ws = make_ws(tmp_path / engine, [("T01", 1000.0, True), ("T03", 3000.0, True)])
        s = run(ws, steps="00,01,02,07", engine=engine, notebooks_dir=fixture_notebooks,
                progress=False)
        with Store(ws.store_path, read_only=True) as st:
            ind = st.query("SELECT step, territory_id, name, value FROM indicators "
                           "ORDER BY ALL")
            probe = st.query("SELECT territory_id, payload FROM results WHERE key = 'probe' "
                             "ORDER BY ALL")
        got[engine] = (s.counts, [f.error.describe() for f in s.failures], ind,
                       probe.payload.str.replace(str(ws.root), "WS").tolist())
        shutil.rmtree(ws.output_dir)
    f, i = got["fork"], got["inproc"]
    assert f[0] == i[0] and f[1] == i[1] == ["cell 5 (In [5]): ValueError: no data for T03"]
    assert len(i[2]) > 0 and f[2].equals(i[2])
    assert f[3] == i[3]  # sys.path, cwd, backend, options, user namespace, argv, warnings...
