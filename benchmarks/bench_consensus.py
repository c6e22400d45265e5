"""Benchmark: consensus analysis of 10,000 participants x 500 proposals.

Run: ``.venv/bin/python benchmarks/bench_consensus.py`` (prints seconds per stage, both modes).
Synthetic votes: 3 latent opinion groups, each participant sees 30 % of the proposals
(about 1.5 million votes).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from territoria.analysis.consensus import group_consensus, normalise_votes, vote_counts
from territoria.analysis.polis import analyse


def make_votes(n=10_000, p=500, seen=0.3, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    pa = rng.uniform(0.1, 0.9, (3, p))
    mask = rng.random((n, p)) < seen
    u = rng.random((n, p))
    ii, jj = np.nonzero(mask)
    vals = np.where(u < pa[g], "agree", np.where(u < pa[g] + 0.1, "pass", "disagree"))[ii, jj]
    return pd.DataFrame({"participant": ii.astype(str), "proposal": jj.astype(str),
                         "vote": vals})


def main() -> None:
    votes = make_votes()
    print(f"votes: {len(votes):,}")
    t = time.perf_counter()
    clean = normalise_votes(votes)
    print(f"normalise_votes        {time.perf_counter() - t:6.2f} s")
    t = time.perf_counter()
    c = vote_counts(clean, group=clean["participant"].str[-1:].rename(None).set_axis(
        clean["participant"]).groupby(level=0).first())
    print(f"vote_counts (10 groups) {time.perf_counter() - t:6.2f} s")
    t = time.perf_counter()
    group_consensus(c)
    print(f"group_consensus        {time.perf_counter() - t:6.2f} s")
    for mode in ("polis", "kit"):
        t = time.perf_counter()
        res = analyse(votes, mode=mode)
        print(f"analyse mode={mode:5s}    {time.perf_counter() - t:6.2f} s  (k={res.k})")


if __name__ == "__main__":
    main()
