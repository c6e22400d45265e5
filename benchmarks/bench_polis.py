"""Benchmark: the Pol.is-compatible opinion groups against Pol.is's own on real conversations.

Run: ``.venv/bin/python benchmarks/bench_polis.py [--replay]`` (about a minute; prints
Markdown tables). Data: ``../shared/data/real/polis/*/participants-votes.csv[.gz]`` with
``comments.csv[.gz]`` (compdemocracy/openData, CC BY 4.0; data gathered using the Polis
software, compdemocracy.org/polis, sub-licensed under CC BY 4.0 with attribution to The
Computational Democracy Project). Pol.is's own ``group-id`` is the reference.

Columns of the main table: k found by ``mode="polis"`` and by Pol.is, adjusted Rand index
(ARI) on the participants both grouped, seconds, how many participant orders chose each k and
their mean pairwise ARI (``agreement``), then the kit's own mode (``mode="kit"``): its k,
bootstrap share of resamples choosing it, and the smallest group Jaccard stability.

The evidence table checks step 2 of :mod:`territoria.analysis.polis` (moderated-out
columns zeroed): accuracy of the best linear separator of Pol.is's groups in the kit's 2-D
projection, with the columns zeroed (Pol.is's code), dropped, or left as voted.

``--replay`` (brexit-consensus only: its vote log is public) replays Pol.is's incremental
updates approximately (warm-started base clusters and groups, k smoother with buffer 4) at
three update cadences, to show that the final k depends on the cadence, which exports omit.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.analysis import polis as P

ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "polis"


def conversations() -> list[Path]:
    return sorted(d for d in ROOT.iterdir() if d.is_dir()) if ROOT.is_dir() else []


def load(folder: Path):
    f = next(folder.glob("participants-votes.csv*"))
    return P.read_polis_participants_votes(f)


def ari_vs_polis(parts: pd.DataFrame, gid: pd.Series) -> tuple[float, int]:
    ours = parts.set_index("participant")["group"]
    ref = gid.reindex(ours.index)
    both = ours.notna() & ref.notna()
    return P.adjusted_rand(ref[both].astype(int), ours[both].astype(int)), int(both.sum())


def separability(votes, gid, variant: str) -> float:
    """Training accuracy of a linear SVM separating Pol.is's groups in our projection."""
    from sklearn.svm import LinearSVC

    m, rows, cols = P.vote_matrix(votes)
    out = set(votes.attrs.get("polis_mod_out", []))
    idx = [i for i, c in enumerate(cols) if c in out]
    if variant == "zeroed":
        m = m.copy()
        m[:, idx] = 0.0
    elif variant == "dropped":
        m = np.delete(m, idx, axis=1)
    center, comps = P.polis_pca(m)
    proj = P.sparsity_aware_projection(m, center, comps)
    y = gid.reindex(rows).to_numpy(dtype=float, na_value=np.nan)
    ok = ~np.isnan(y)
    if len(np.unique(y[ok])) < 2:
        return float("nan")
    clf = LinearSVC(C=100, max_iter=20_000).fit(proj[ok], y[ok])
    return float(clf.score(proj[ok], y[ok]))


def main_table() -> pd.DataFrame:
    rows = []
    for folder in conversations():
        votes, gid = load(folder)
        t = time.perf_counter()
        parts, k, sil, *_ = P.opinion_groups(votes, mode="polis")
        dt = time.perf_counter() - t
        ari, n_both = ari_vs_polis(parts, gid)
        t = time.perf_counter()
        kparts, kk, ksil, *_, stab = P.opinion_groups(votes, mode="kit",
                                                      return_stability=True)
        dtk = time.perf_counter() - t
        votes_k = ksil.get("k_votes", {})
        rows.append({
            "conversation": folder.name, "participants": len(gid),
            "statements": votes["proposal"].nunique(),
            "mod_out": len(votes.attrs.get("polis_mod_out", [])),
            "k_kit": k, "k_polis": int(gid.dropna().nunique()), "ari": round(ari, 3),
            "n_compared": n_both, "seconds": round(dt, 1),
            "k_votes": " ".join(f"{a}:{b}" for a, b in sil.get("k_votes", {}).items()),
            "agreement": round(sil.get("agreement", float("nan")), 2),
            "kit_k": kk,
            "kit_k_share": round(votes_k.get(kk, 0) / max(sum(votes_k.values()), 1), 2),
            "kit_min_jaccard": round(float(stab["jaccard"].min()), 2) if len(stab) else None,
            "kit_ari": round(ari_vs_polis(kparts, gid)[0], 3), "kit_seconds": round(dtk, 1)})
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def evidence_table() -> pd.DataFrame:
    rows = []
    for folder in conversations():
        votes, gid = load(folder)
        rows.append({"conversation": folder.name,
                     **{v: round(separability(votes, gid, v), 3)
                        for v in ("zeroed", "dropped", "as voted")}})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ approximate replay


def _recentre(pts, w, lab):
    ids = [g for g in np.unique(lab) if g >= 0]
    return ids, np.array([np.average(pts[lab == g], axis=0, weights=w[lab == g]) for g in ids])


def _clean_start(pts, w, prev, k):
    """clusters.clj ``clean-start-clusters``: recentre, then split off most distal points."""
    lab = prev.copy()
    possible = min(k, len(np.unique(pts, axis=0)))
    nxt = lab.max() + 1
    while True:
        _, c = _recentre(pts, w, lab)
        if possible <= len(c):
            return c
        d = np.sqrt(((pts[:, None, :] - c[None]) ** 2).sum(-1)).min(1)
        i = int(np.argmax(d))
        if d[i] <= 0:
            return c
        lab[i] = nxt
        nxt += 1


def _lloyd(pts, c, w, iters):
    while True:
        lab = np.argmin(((pts[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        used, lab = np.unique(lab, return_inverse=True)
        sw = np.bincount(lab, weights=w)
        new = np.column_stack([np.bincount(lab, weights=w * pts[:, j]) / sw for j in range(2)])
        same = len(new) == len(c) and np.all(np.linalg.norm(
            np.sort(new, axis=0) - np.sort(c, axis=0), axis=1) < 0.01)
        if iters == 0 or same:
            return lab, new
        c, iters = new, iters - 1


def _warm_kmeans(pts, k, prev, w, iters):
    if prev is None or (prev >= 0).sum() == 0:
        _, first = np.unique(pts, axis=0, return_index=True)
        c = pts[np.sort(first)[:k]]
    else:
        c = _clean_start(pts, w, prev, k)
    return _lloyd(pts, c, w, iters)


def replay(snapshots, buffer=4):
    """Approximate Pol.is update sequence over vote-matrix snapshots; returns final k."""
    base_prev, group_prev, smoother = None, {}, {}
    in_conv = np.zeros(len(snapshots[-1]), bool)
    for full in snapshots:
        n = len(full)
        seen = ~np.all(np.isnan(full), axis=0)
        mm = full[:, seen]
        cnt = (~np.isnan(mm)).sum(1)
        ic = in_conv[:n] | (cnt >= min(7, mm.shape[1]))
        if ic.sum() < 15:
            rest = np.flatnonzero(~ic)
            ic[rest[np.argsort(-cnt[rest], kind="stable")][:15 - ic.sum()]] = True
        in_conv[:n] = ic
        center, comps = P.polis_pca(mm)
        pts = P.sparsity_aware_projection(mm, center, comps)[ic]
        idx = np.flatnonzero(ic)
        prev = None if base_prev is None else base_prev[idx]
        blab, bctr = _warm_kmeans(pts, 100, prev, np.ones(len(pts)), 100)
        base_prev = np.full(len(in_conv), -1)
        base_prev[idx] = blab
        sizes = np.bincount(blab).astype(float)
        sils, labs = {}, {}
        for k in range(2, min(5, 2 + len(bctr) // 12) + 1):
            prev_b = None
            if k in group_prev:  # previous group of each base cluster's members (majority)
                old = group_prev[k][idx]
                prev_b = np.array([np.bincount(old[(blab == b) & (old >= 0)]).argmax()
                                   if ((blab == b) & (old >= 0)).any() else -1
                                   for b in range(len(bctr))])
            gl, _ = _warm_kmeans(bctr, k, prev_b, sizes, 20)
            labs[k] = gl
            sils[k] = P.silhouette_points(bctr, gl) if len(np.unique(gl)) > 1 else -1.0
            g = np.full(len(in_conv), -1)
            g[idx] = gl[blab]
            group_prev[k] = g
        this_k = max(sils, key=lambda k: (sils[k], k))
        count = smoother.get("count", 0) + 1 if smoother.get("last") == this_k else 1
        smoothed = this_k if count >= buffer else smoother.get("smoothed", this_k)
        smoother = {"last": this_k, "count": count,
                    "smoothed": smoothed if smoothed in labs else this_k}
    return smoother["smoothed"]


def replay_table() -> pd.DataFrame:
    folder = ROOT / "brexit-consensus"
    log = pd.read_csv(folder / "votes.csv").sort_values("timestamp", kind="stable")
    first = log.groupby("voter-id")["timestamp"].min().sort_values(kind="stable")
    pos = {v: i for i, v in enumerate(first.index)}
    cols = {c: j for j, c in enumerate(sorted(log["comment-id"].unique()))}
    rows = []
    for every in (10, 30, 100):
        mat = np.full((len(pos), len(cols)), np.nan)
        snaps, n_now = [], 0
        for t, (v, c, x) in enumerate(zip(log["voter-id"], log["comment-id"], log["vote"], strict=True)):
            mat[pos[v], cols[c]] = x
            n_now = max(n_now, pos[v] + 1)
            if (t + 1) % every == 0 or t == len(log) - 1:
                snaps.append(mat[:n_now].copy())
        rows.append({"update every (votes)": every, "updates": len(snaps),
                     "final k": replay(snaps)})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replay", action="store_true")
    args = ap.parse_args()
    if not ROOT.is_dir():
        raise SystemExit(f"no data at {ROOT}")
    tab = main_table()
    print(tab.to_markdown(index=False))
    ok = tab["k_kit"] == tab["k_polis"]
    print(f"\nk equal on {ok.sum()} of {len(tab)}; median ARI {tab['ari'].median():.3f}")
    print(evidence_table().to_markdown(index=False))
    if args.replay:
        print(replay_table().to_markdown(index=False))


if __name__ == "__main__":
    main()
