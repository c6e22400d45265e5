"""The fixed costs of one notebook in ``territoria run``: kernel start, a cell, HTML, a chart.

Measures, with the fork engine of :mod:`territoria.pipeline.kernels`:

- ``start_ready_s``: asking the fork server for a kernel until the client is ready
  (``wait_for_ready``), with the kit's client and with jupyter_client's stock one;
- ``cell_s``: one trivial cell's round trip (``x = 1``) and one that displays a small table;
- ``html_s``: converting an executed notebook to the annex page, with the kit's exporter and
  with nbconvert's ``HTMLExporter`` (needs an executed notebook: ``--notebook``);
- ``chart_s``: drawing a bar chart as SVG (``backend="svg"``) and as a rendered Matplotlib PNG.

Usage::

    python benchmarks/bench_kernel.py [--repeat 10] [--notebook output/02_diagnostic/07-003.ipynb]

Prints one JSON line (medians, seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import tempfile
import time

import pandas as pd
from jupyter_client import AsyncKernelClient
from traitlets import default

from territoria.pipeline.forkserver import ENV_ADDRESS, ForkServer
from territoria.pipeline.kernels import ForkKernelManager


class StockClientManager(ForkKernelManager):
    """A forked kernel with jupyter_client's own client (the 0.2 s IOPub drain)."""

    @default("client_factory")
    def _stock_client_factory(self):
        return AsyncKernelClient


async def _session(manager_class, cwd: str, repeat_cells: int) -> dict:
    km = manager_class(kernel_name="python3")
    t0 = time.perf_counter()
    await km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    ready = time.perf_counter() - t0
    cells = {}
    for name, code in (("x = 1", "x = 1"), ("display table", "import pandas as pd\n"
                                            "pd.DataFrame({'a': range(8)})")):
        t = time.perf_counter()
        for _ in range(repeat_cells):
            await kc.execute_interactive(code, timeout=60, output_hook=lambda m: None)
        cells[name] = (time.perf_counter() - t) / repeat_cells
    kc.stop_channels()
    await km.shutdown_kernel(now=True)
    return {"ready": ready, **cells}


def _median(xs):
    return round(statistics.median(xs), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--notebook", help="an executed notebook for the HTML timing")
    a = ap.parse_args()
    out: dict = {"cpus": os.cpu_count(), "load_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp, ForkServer() as srv:
        os.environ[ENV_ADDRESS] = srv.address
        kit = [asyncio.run(_session(ForkKernelManager, tmp, 10)) for _ in range(a.repeat)]
        stock = [asyncio.run(_session(StockClientManager, tmp, 1)) for _ in range(a.repeat)]
    out["start_ready_s"] = {"kit_client": _median([r["ready"] for r in kit]),
                            "stock_client": _median([r["ready"] for r in stock])}
    out["cell_s"] = {k: _median([r[k] for r in kit]) for k in ("x = 1", "display table")}
    if a.notebook:
        import nbformat
        from nbconvert import HTMLExporter

        from territoria.pipeline.html import NotebookHTMLExporter

        nb = nbformat.read(a.notebook, as_version=4)
        kw = dict(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                  exclude_output_prompt=True)
        res = {}
        for name, cls in (("kit", NotebookHTMLExporter), ("nbconvert", HTMLExporter)):
            ex = cls(**kw)
            ex.from_notebook_node(nb)
            ts = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                ex.from_notebook_node(nb)
                ts.append(time.perf_counter() - t)
            res[name] = _median(ts)
        out["html_s"] = res
    from territoria.figures import bar_ci

    df = pd.DataFrame({"label": [f"Grupo {i}" for i in range(8)],
                       "estimate": [0.1 * i for i in range(1, 9)],
                       "ci_low": [0.1 * i - 0.05 for i in range(1, 9)],
                       "ci_high": [0.1 * i + 0.05 for i in range(1, 9)]})
    chart = {}
    for backend in ("svg", "matplotlib"):
        ts = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            fig, _ = bar_ci(df, label="label", title="Prueba", backend=backend)
            if backend == "matplotlib":  # what the inline backend does to show it
                fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
            ts.append(time.perf_counter() - t)
        chart[backend] = _median(ts)
    out["chart_s"] = chart
    print(json.dumps(out))


if __name__ == "__main__":
    main()
