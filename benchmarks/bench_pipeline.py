"""Seconds per notebook of ``territoria run`` by engine and number of workers.

Runs N copies of a trivial-but-representative step notebook (imports of pandas, numpy,
seaborn, statsmodels and pingouin; a territory filtered from a 20k-row table; a group-by; one
seaborn figure as PNG; results recorded as a sidecar) through :func:`territoria.pipeline.run`,
each engine/workers combination on a fresh temporary workspace (so nothing is skipped),
including HTML conversion and collection of results into the store.

Usage::

    python benchmarks/bench_pipeline.py --notebooks 20 --workers 1 2 --engines fork plain
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from territoria.config import init_workspace
from territoria.pipeline.runner import run
from territoria.store import Store

PARAMS = 'workspace = None\nterritory = None\nlanguage = "es"\nperiod_start = None\nperiod_end = None'
CODE = [
    "from pathlib import Path\nimport numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
    "import seaborn as sns\nimport statsmodels.api as sm\nimport pingouin as pg\n"
    "from territoria.report.record import Recorder",
    "rng = np.random.default_rng(abs(hash(territory)) % 2**32)\n"
    "df = pd.DataFrame({'territory': rng.choice([territory, 'other'], 20000),\n"
    "                   'axis': rng.choice(['water', 'security', 'services'], 20000),\n"
    "                   'score': rng.normal(3, 1, 20000)})\n"
    "mine = df[df.territory == territory]\n"
    "summary = mine.groupby('axis')['score'].agg(['mean', 'count']).reset_index()\nsummary",
    "fig, ax = plt.subplots(figsize=(5, 3))\nsns.barplot(data=mine, x='axis', y='score', ax=ax)\n"
    "ax.set_title(f'Territorio {territory}')\nplt.show()",
    "rec = Recorder(Path(workspace) / 'output', step='01_network', territory_id=territory)\n"
    "rec.indicator('mean_score', float(mine.score.mean()), n=len(mine))\n"
    "rec.table('summary', summary)\nrec.save()",
]


def make_notebook(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Benchmark step"), p,
                *[nbformat.v4.new_code_cell(c) for c in CODE]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "01_network.ipynb")


def make_ws(root: Path, n: int):
    ws = init_workspace(root, "Bench")
    with Store(ws.store_path) as s, s.transaction():
        s.append("territories", pd.DataFrame({
            "territory_id": [f"07-{i:03d}" for i in range(1, n + 1)],
            "name": [f"Colonia {i}" for i in range(1, n + 1)], "priority": True}))
    return ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engines", nargs="+", default=["fork", "plain"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        nbdir = Path(tmp) / "notebooks"
        make_notebook(nbdir)
        print(f"{a.notebooks} notebooks per run (incl. start-up, HTML and store collection)")
        print(f"{'engine':8}{'workers':>8}{'total s':>10}{'s/notebook':>12}{'ok':>5}")
        for engine in a.engines:
            for w in a.workers:
                ws = make_ws(Path(tmp) / f"ws-{engine}-{w}", a.notebooks)
                t = time.perf_counter()
                s = run(ws, steps="01", workers=w, engine=engine, notebooks_dir=nbdir,
                        progress=False)
                dt = time.perf_counter() - t
                print(f"{s.engine:8}{w:>8}{dt:>10.1f}{dt / a.notebooks:>12.2f}"
                      f"{s.counts['ok']:>5}", flush=True)


if __name__ == "__main__":
    main()
