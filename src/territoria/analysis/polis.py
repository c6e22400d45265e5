"""Opinion groups from a vote matrix, Pol.is-compatible, plus the kit's own variant.

Reference implementation followed (``mode="polis"``): the Clojure math of compdemocracy/polis,
``math/src/polismath/math/{conversation,named_matrix,pca,clusters,repness,stats}.clj``
(versions read: conversation.clj 19af664, named_matrix.clj 7e0c6bf, pca.clj 7850848,
clusters.clj 314d532, repness.clj 2679ba7, stats.clj a2d0747). Not the newer Python port
``delphi/polismath`` (it changes the constants).

Steps (``mode="polis"``), each with the place of the Clojure code it follows
----------------------------------------------------------------------------
1. Vote matrix (``conversation.clj`` ``:raw-rating-mat``): participants x statements that
   received a vote, agree = +1, disagree = -1, pass = 0 (the export coding; Pol.is stores the
   opposite sign internally, which only flips PCA axes), unseen = missing.
2. Moderation (``conversation.clj`` ``:rating-mat``; ``named_matrix.clj``
   ``zero-out-columns``): the columns of moderated-out statements (``moderated = -1`` in the
   export's ``comments.csv``, argument ``mod_out``) are set to 0 *for every participant*.
   They carry no variance into the PCA, and in step 5 they count as answered (a Clojure
   ``0`` is truthy), so they shrink the scaling of sparse voters. On the seven real
   conversations of ``../shared/data/real/polis`` this is the projection in which Pol.is's
   own groups are most linearly separable (best on the six with moderated-out statements,
   e.g. 0.994 against 0.955 unzeroed on austria-climate; ``benchmarks/bench_polis.py``).
3. In-conversation rule (``conversation.clj`` ``:in-conv``, ``:user-vote-counts`` on the raw
   matrix): a participant enters if they voted on at least ``min(7, N)`` statements; if fewer
   than 15 qualify the most active voters are added up to 15. Pol.is applies this at every
   update and "once in, always in"; a static matrix cannot replay that, hence the optional
   ``in_conv`` argument.
4. Missing votes and PCA (``conversation.clj`` ``:mat``; ``pca.clj`` ``powerit-pca``): on
   *all* participants, each missing cell is filled with the statement's mean observed vote,
   the matrix is centred by column means and two components are found. Pol.is runs 100 power
   iterations with Gram-Schmidt deflation, warm-started at every update (and mini-batches
   above 10,000 participants, ``large-conv-update-graph``); we take the converged answer,
   the two leading eigenvectors of the centred cross-product matrix.
5. Projection (``pca.clj`` ``sparsity-aware-project-ptpt``):
   ``x_ik = sqrt(N / max(|V_i|, 1)) sum_{j in V_i} (v_ij - mu_j) w_kj`` over the cells that
   are not missing (moderated-out cells included, step 2), N = number of statements.
6. Base clusters (``conversation.clj`` ``:base-clusters``, ``clusters.clj`` ``kmeans``,
   ``init-clusters``): k-means with k = 100 on the in-conversation participants' points,
   started at the first 100 distinct points, at most 100 iterations (``:base-iters``),
   stopping when the sorted centres move < 0.01 (``same-clustering?``); empty clusters are
   dropped. With fewer than 100 distinct points each distinct point is a base cluster.
7. Groups (``conversation.clj`` ``:group-clusterings``, ``max-k-fn``): k-means on the base
   clusters' centres weighted by their sizes (``weighted-mean``), for
   k = 2 .. min(5, 2 + floor(n_base / 12)); the ``kmeans`` default of 20 iterations applies
   (``:cluster-iters`` is passed but ``kmeans`` reads ``:max-iters``).
8. Choice of k (``:group-clusterings-silhouettes``, ``clusters.clj`` ``silhouette``;
   ``:group-k-smoother``): mean silhouette over base clusters (unweighted; a base cluster
   alone in its group scores 0), best k by ``max-key`` (ties: the larger k). The smoother
   switches to a new k only after it has won ``group-k-buffer`` = 4 consecutive updates.
   Small conversations: fewer than 24 base clusters allow only k = 2 (``max-k-fn``), fewer
   than two distinct points give one group.

What a one-shot analysis cannot reproduce, and what we do instead
-----------------------------------------------------------------
Pol.is clusters incrementally: every update restarts base clusters and groups from the
previous update's (``clean-start-clusters``) and smooths k over updates; the export holds
only the final state, not the update times. Evidence that this history decides the answer:
(a) on brexit-consensus, whose vote log is public, replaying the incremental procedure with
the true vote order gives k = 2, 4 or 5 when updates run every 10, 30 or 100 votes; (b) on
the seven conversations the partitions reached from different initial orders agree with each
other only at mean adjusted Rand 0.74-0.94 (``benchmarks/README.md``, 2026-12-05), so no
one-shot procedure can match every history. So steps 6-8 are repeated
over ``n_orders`` participant orders (file order first, then seeded permutations), each a
plausible history (Pol.is starts k-means at the first points of its update order). The
smoother's role (k must keep winning) is played by the *modal* k over orders (ties: the
smaller k). The published partition is the *medoid* of the orders' partitions at that k,
the one with the highest mean adjusted Rand index to the others: it maximises the expected
agreement with a history drawn like the orders. ``silhouettes["k_votes"]`` counts the orders
choosing each k and ``silhouettes["agreement"]`` is the mean pairwise adjusted Rand index of
the orders' partitions (how reproducible the groups are at all).

9. Representativeness (``repness.clj``, ``stats.clj``): see :func:`repness`. Consensus
   (``select-consensus-comments``) and group-informed consensus (``:group-aware-consensus``).

``mode="kit"``: same matrix, in-conv rule, imputation and projection, then k-means++ (10
restarts; 3 above 2,000 participants and in resamples) directly on participants' points. k
in 2..5 is chosen by the silhouette on each of ``n_boot`` bootstrap resamples of the
participants (of 2,000 participants at most; silhouettes on the distinct participants of a
resample, 1,000 at most) and the
modal k is kept (ties: the best silhouette on the full data). The groups published are the
full-data k-means at that k; :attr:`PolisResult.stability` gives each one's mean Jaccard
similarity to its best match in the resamples' clusterings (Hennig 2007, "Cluster-wise
assessment of cluster stability", CSDA 52: 258-271: 0.5 or less means the group dissolves,
0.6 or less it should not be trusted, 0.75 and above it is stable). It does not depend on
row order.

Examples
--------
>>> import pandas as pd
>>> votes = pd.DataFrame({"participant": list("aabbccdd"), "proposal": ["S1", "S2"] * 4,
...                       "vote": ["agree", "agree", "agree", "agree",
...                                "disagree", "disagree", "disagree", "disagree"]})
>>> res = analyse(votes, mode="polis")
>>> res.k, res.participants["group"].tolist()
(2, [0, 0, 1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from territoria.analysis.votes import (
    group_consensus,
    group_table,
    jeffreys_interval,
    normalise_votes,
    polis_gic,
    vote_counts,
)
from territoria.exceptions import AnalysisError, DataError

#: One-sided 90 % critical value used by Pol.is (``stats/z-sig-90?``).
Z90 = 1.2816
VOTE_VALUE = {"agree": 1.0, "disagree": -1.0, "pass": 0.0}


@dataclass
class PolisResult:
    """Result of :func:`analyse`.

    Attributes
    ----------
    k : int
        Number of opinion groups (1 when the data cannot be split).
    participants : DataFrame
        ``participant, n_votes, in_conv, x, y, group`` (group is <NA> outside in-conv).
    statements : DataFrame
        One row per statement: counts, shares, ``gic`` (the mode's GIC) with interval,
        ``gic_kit*``, ``gic_polis*``, ``gdc*``, ``divisive``, ``x, y, extremity``.
    group_votes : DataFrame
        Per statement and group (see :func:`territoria.analysis.votes.group_table`).
    repness : DataFrame
        Representative statements per group (Pol.is selection).
    repness_all : DataFrame
        Every (group, statement) repness statistic.
    consensus : DataFrame
        Pol.is "majority" statements (``select-consensus-comments``).
    silhouettes : dict
        Silhouette per candidate k; ``k_votes``: how many row orders (``polis``) or
        bootstrap resamples (``kit``) chose each k; ``agreement`` (``polis``): mean pairwise
        adjusted Rand index of the orders' partitions.
    mode : str
    stability : DataFrame
        ``kit`` mode: ``group, n, jaccard, dissolved`` (mean bootstrap Jaccard of each group
        and the share of resamples where it dissolved, Jaccard < 0.5); empty in ``polis``
        mode.
    """

    k: int
    participants: pd.DataFrame
    statements: pd.DataFrame
    group_votes: pd.DataFrame
    repness: pd.DataFrame
    repness_all: pd.DataFrame
    consensus: pd.DataFrame
    silhouettes: dict = field(default_factory=dict)
    mode: str = "polis"
    stability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["group", "n", "jaccard", "dissolved"]))


# ---------------------------------------------------------------------------- input


def read_polis_participants_votes(path) -> tuple[pd.DataFrame, pd.Series]:
    """Read a Pol.is ``participants-votes.csv`` export.

    Parameters
    ----------
    path : path-like
        The CSV: ``participant, group-id, n-comments, n-votes, n-agree, n-disagree`` then one
        column per statement id (1 agree, -1 disagree, 0 pass, empty not seen).

    Returns
    -------
    votes : DataFrame
        Long votes ``participant, proposal, vote`` (agree/disagree/pass), in file order.
    group_id : Series
        Pol.is's ``group-id`` per participant (<NA> when Pol.is left them out).

    Raises
    ------
    DataError
        Empty file, missing ``participant`` column, no statement columns, values other than
        1, -1, 0 or empty.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", file=path) from None
    except FileNotFoundError:
        raise DataError("file not found", file=path) from None
    if "participant" not in raw.columns:
        raise DataError("column 'participant' is missing", file=path, column="participant",
                        rule="a Pol.is participants-votes.csv export")
    meta = {"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}
    stmt = [c for c in raw.columns if c not in meta]
    if not stmt:
        raise DataError("no statement columns", file=path,
                        rule="one column per statement id after the participant columns")
    if raw.empty:
        raise DataError("the file has no participants", file=path)
    block = raw[stmt].apply(lambda s: s.str.strip())
    ok = block.isin(["1", "-1", "0", "", "1.0", "-1.0", "0.0"])
    if not ok.to_numpy().all():
        r, c = np.argwhere(~ok.to_numpy())[0]
        raise DataError(f"'{block.iat[r, c]}' is not a vote", file=path, row=int(r) + 2,
                        column=stmt[c], rule="1 agree, -1 disagree, 0 pass, empty not seen")
    long = block.assign(participant=raw["participant"].astype(str)).melt(
        id_vars="participant", var_name="proposal", value_name="v")
    long = long.loc[long["v"] != ""]
    long["vote"] = long["v"].astype(float).map({1.0: "agree", -1.0: "disagree", 0.0: "pass"})
    order = {p: i for i, p in enumerate(raw["participant"].astype(str))}
    long = long.sort_values("participant", key=lambda s: s.map(order), kind="stable")
    gid = (pd.to_numeric(raw["group-id"].replace("", np.nan), errors="coerce")
           if "group-id" in raw.columns else pd.Series(np.nan, index=raw.index))
    gid = pd.Series(gid.to_numpy(), index=raw["participant"].astype(str), name="group-id")
    out = long[["participant", "proposal", "vote"]].reset_index(drop=True)
    for name in ("comments.csv", "comments.csv.gz"):
        if (path.parent / name).is_file():
            out.attrs["polis_mod_out"] = sorted(read_polis_moderation(path.parent / name))
            break
    return out, gid.astype("Int64")


def read_polis_moderation(path) -> set[str]:
    """Moderated-out statement ids from a Pol.is ``comments.csv`` export (``moderated == -1``).

    :func:`read_polis_participants_votes` calls it on the ``comments.csv`` beside the votes
    (if any) and keeps the ids in ``votes.attrs["polis_mod_out"]``, which :func:`analyse`
    uses when ``mod_out`` is not given (module notes, step 2).

    Raises
    ------
    DataError
        Missing file or a missing ``comment-id`` / ``moderated`` column.
    """
    path = Path(path)
    try:
        c = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        raise DataError("file not found or empty", file=path) from None
    for col in ("comment-id", "moderated"):
        if col not in c.columns:
            raise DataError(f"column '{col}' is missing", file=path, column=col,
                            rule="a Pol.is comments.csv export")
    mod = pd.to_numeric(c["moderated"].str.strip(), errors="coerce")
    return set(c.loc[mod == -1, "comment-id"].str.strip())


def vote_matrix(votes: pd.DataFrame, proposals=None):
    """Participants x statements matrix (agree 1, disagree -1, pass 0, unseen NaN).

    Rows follow the order of first appearance of each participant, columns the order of
    ``proposals`` (default: order of first appearance).

    Returns
    -------
    (ndarray, list, list)
        Matrix, participant ids, statement ids.

    Examples
    --------
    >>> v = pd.DataFrame({"participant": ["a", "b"], "proposal": ["S1", "S2"],
    ...                   "vote": ["agree", "pass"]})
    >>> m, rows, cols = vote_matrix(v)
    >>> m.tolist(), rows, cols
    ([[1.0, nan], [nan, 0.0]], ['a', 'b'], ['S1', 'S2'])
    """
    v = normalise_votes(votes)
    rows = list(pd.unique(v["participant"]))
    seen = list(pd.unique(v["proposal"]))
    cols = seen if proposals is None else [str(p) for p in proposals]
    known = set(cols)
    extra = [p for p in seen if p not in known]
    cols = cols + extra
    ri = pd.Index(rows).get_indexer(v["participant"])
    ci = pd.Index(cols).get_indexer(v["proposal"])
    m = np.full((len(rows), len(cols)), np.nan)
    m[ri, ci] = v["vote"].map(VOTE_VALUE).to_numpy(float)
    return m, rows, cols


# ---------------------------------------------------------------------------- math


def in_conv_mask(m: np.ndarray, min_votes: int = 7, greedy_n: int = 15) -> np.ndarray:
    """Pol.is in-conversation rule on a static matrix (see the module notes).

    Examples
    --------
    >>> m = np.array([[1, 1, np.nan], [1, np.nan, np.nan]])
    >>> in_conv_mask(m, greedy_n=0).tolist()
    [False, False]
    >>> in_conv_mask(m).tolist()  # fewer than 15 in: the most active are added
    [True, True]
    """
    counts = np.sum(~np.isnan(m), axis=1)
    need = min(min_votes, m.shape[1])
    mask = counts >= need
    if mask.sum() < greedy_n:
        rest = np.flatnonzero(~mask)
        order = rest[np.argsort(-counts[rest], kind="stable")]
        order = order[counts[order] > 0]
        mask[order[: greedy_n - mask.sum()]] = True
    return mask


def polis_pca(m: np.ndarray, n_comps: int = 2):
    """Column-mean imputation, centring and the leading principal components.

    Returns
    -------
    center : ndarray (N,)
    comps : ndarray (n_comps, N)
        Unit vectors; the sign is fixed so the largest |loading| is positive. Components of
        a matrix with no variance are zero vectors.
    """
    n, p = m.shape
    obs = ~np.isnan(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        colmean = np.where(obs.sum(0) > 0, np.nansum(m, 0) / obs.sum(0), 0.0)
    filled = np.where(obs, m, colmean)
    center = filled.mean(0)
    x = filled - center
    c = x.T @ x
    w, v = np.linalg.eigh(c)
    idx = np.argsort(w)[::-1][:n_comps]
    comps = v[:, idx].T.copy()
    for k, i in enumerate(idx):
        if w[i] <= 1e-10 * max(1.0, abs(w).max()):
            comps[k] = 0.0
        elif comps[k, np.argmax(np.abs(comps[k]))] < 0:
            comps[k] = -comps[k]
    if comps.shape[0] < n_comps:
        comps = np.vstack([comps, np.zeros((n_comps - comps.shape[0], p))])
    return center, comps


def sparsity_aware_projection(m: np.ndarray, center: np.ndarray, comps: np.ndarray):
    """Pol.is ``sparsity-aware-project-ptpt``: project using only voted cells, then scale.

    Examples
    --------
    >>> m = np.array([[1.0, np.nan], [np.nan, -1.0]])
    >>> sparsity_aware_projection(m, np.zeros(2), np.eye(2)).round(3).tolist()
    [[1.414, 0.0], [0.0, -1.414]]
    """
    obs = ~np.isnan(m)
    dev = np.where(obs, m - center, 0.0)
    proj = dev @ comps.T
    nv = np.maximum(obs.sum(1), 1)
    return proj * np.sqrt(m.shape[1] / nv)[:, None]


def polis_kmeans(points: np.ndarray, k: int, weights=None, max_iter: int = 20,
                 tol: float = 0.01):
    """Pol.is k-means (``clusters.clj``): first k distinct points as centres, drop empties.

    Returns
    -------
    labels : ndarray of int (cluster index into ``centers``)
    centers : ndarray
    """
    pts = np.asarray(points, float)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, float)
    _, first = np.unique(pts, axis=0, return_index=True)
    centers = pts[np.sort(first)[:k]]
    p2 = (pts ** 2).sum(1)[:, None]

    def assign(c):
        return np.argmin(p2 - 2 * pts @ c.T + (c ** 2).sum(1)[None, :], axis=1)

    for _ in range(max_iter + 1):
        labels = assign(centers)
        used, labels = np.unique(labels, return_inverse=True)
        sw = np.bincount(labels, weights=w, minlength=len(used))
        new = np.column_stack([np.bincount(labels, weights=w * pts[:, j],
                                           minlength=len(used)) / sw
                               for j in range(pts.shape[1])])
        same = len(new) == len(centers) and np.all(
            np.linalg.norm(np.sort(new, axis=0) - np.sort(centers, axis=0), axis=1) < tol)
        centers = new
        if same:
            break
    return assign(centers), centers


def silhouette_points(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette over points (Pol.is ``clusters/silhouette``; singletons score 0).

    Examples
    --------
    >>> pts = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1]])
    >>> round(silhouette_points(pts, np.array([0, 0, 1, 1])), 3)
    0.9
    """
    pts = np.asarray(points, float)
    groups, lab = np.unique(np.asarray(labels), return_inverse=True)
    if len(groups) < 2:
        return float("nan")
    d2 = np.zeros((len(pts), len(pts)))
    for j in range(pts.shape[1]):  # no BLAS: it only adds thread overhead on shared cores
        d2 += np.subtract.outer(pts[:, j], pts[:, j]) ** 2
    dist = np.sqrt(d2)
    sizes = np.bincount(lab, minlength=len(groups)).astype(float)
    sums = np.column_stack([dist[:, lab == g].sum(1) for g in range(len(groups))])
    own = sizes[lab]
    a = sums[np.arange(len(pts)), lab] / np.maximum(own - 1, 1)
    other = sums / sizes[None, :]
    other[np.arange(len(pts)), lab] = np.inf
    b = other.min(1)
    den = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(den > 0, (b - a) / den, 0.0)
    s[own == 1] = 0.0
    return float(s.mean())


def kmeans_pp(points: np.ndarray, k: int, *, n_init: int = 10, seed: int = 0,
              max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Plain k-means with k-means++ starts (Arthur and Vassilvitskii 2007), best of ``n_init``.

    Returns ``(labels, inertia)``; labels are 0..k'-1 (k' < k only with fewer distinct
    points).

    Examples
    --------
    >>> pts = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1]])
    >>> lab, _ = kmeans_pp(pts, 2)
    >>> bool(lab[0] == lab[1] != lab[2] == lab[3])
    True
    """
    pts = np.asarray(points, float)
    rng = np.random.default_rng(seed)
    best = (None, np.inf)

    def sqdist(c):  # broadcasting, no BLAS (thread overhead on shared cores)
        return ((pts[:, None, :] - c[None, :, :]) ** 2).sum(-1)

    for _ in range(n_init):
        centers = [pts[rng.integers(len(pts))]]
        d2 = ((pts - centers[0]) ** 2).sum(1)
        for _ in range(1, k):
            if d2.sum() <= 0:
                break
            centers.append(pts[rng.choice(len(pts), p=d2 / d2.sum())])
            d2 = np.minimum(d2, ((pts - centers[-1]) ** 2).sum(1))
        c = np.array(centers)
        lab = None
        for _ in range(max_iter):
            new_lab = np.argmin(sqdist(c), axis=1)
            if lab is not None and np.array_equal(new_lab, lab):
                break
            lab = new_lab
            cnt = np.bincount(lab, minlength=len(c))
            keep = cnt > 0  # an emptied centre is dropped
            c = np.column_stack([np.bincount(lab, weights=pts[:, j], minlength=len(c))
                                 for j in range(pts.shape[1])])[keep] / cnt[keep, None]
        d = sqdist(c)
        lab = np.argmin(d, axis=1)
        inertia = float(d[np.arange(len(pts)), lab].sum())
        if inertia < best[1] - 1e-12:
            best = (np.unique(lab, return_inverse=True)[1], inertia)
    return best


def adjusted_rand(a, b) -> float:
    """Adjusted Rand index of two labelings (Hubert and Arabie 1985), 1.0 if both are trivial.

    Examples
    --------
    >>> adjusted_rand([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> round(adjusted_rand([0, 0, 1, 1], [0, 1, 0, 1]), 3)
    -0.5
    """
    _, ia = np.unique(np.asarray(a), return_inverse=True)
    _, ib = np.unique(np.asarray(b), return_inverse=True)
    n = len(ia)
    cont = np.bincount(ia * (ib.max() + 1) + ib, minlength=(ia.max() + 1) * (ib.max() + 1))

    def c2(x):
        x = np.asarray(x, float)
        return float((x * (x - 1) / 2).sum())

    sum_ij = c2(cont)
    sa, sb = c2(np.bincount(ia)), c2(np.bincount(ib))
    expected = sa * sb / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (sa + sb) / 2
    if top == expected:
        return 1.0
    return float((sum_ij - expected) / (top - expected))


def _by_first_member(lab: np.ndarray) -> np.ndarray:
    _, first = np.unique(lab, return_index=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    return relabel[np.searchsorted(np.unique(lab), lab)]


def _polis_groups(proj_in: np.ndarray, n_orders: int = 20, seed: int = 0, base_k: int = 100,
                  max_k: int = 5):
    """Pol.is steps 6-8 repeated over participant orders; modal k, medoid partition.

    Each order is one plausible history: base clusters and groups are started at the first
    distinct points of that order (module notes). The k chosen most often wins (ties: the
    smaller k); among all orders' partitions at that k the one with the highest mean adjusted
    Rand index to the others is returned. ``n_orders=1`` uses the given order only. Large
    conversations get fewer orders (``max(5, 40000 // n)``, n = in-conv participants).
    """
    rng = np.random.default_rng(seed)
    n_orders = max(1, min(n_orders, max(5, 40_000 // max(len(proj_in), 1))))
    runs = []
    for t in range(n_orders):
        perm = np.arange(len(proj_in)) if t == 0 else rng.permutation(len(proj_in))
        base_lab, base_ctr = polis_kmeans(proj_in[perm], base_k, max_iter=100)
        sizes = np.bincount(base_lab, minlength=len(base_ctr)).astype(float)
        k_max = min(max_k, 2 + len(base_ctr) // 12)
        sil, parts = {}, {}
        for k in range(2, k_max + 1):
            glab, _ = polis_kmeans(base_ctr, k, weights=sizes, max_iter=20)
            if len(np.unique(glab)) < 2:
                continue
            sil[k] = silhouette_points(base_ctr, glab)
            lab = np.empty(len(proj_in), dtype=int)
            lab[perm] = np.searchsorted(np.unique(glab), glab)[base_lab]
            parts[k] = lab
        # clojure max-key over keys 2..k_max keeps the last maximum: ties go to the larger k
        best = max(sil, key=lambda k: (sil[k], k)) if sil else None
        runs.append((best, sil, parts))
    ks = [r[0] for r in runs if r[0] is not None]
    if not ks:
        return np.zeros(len(proj_in), dtype=int), {}
    k_mode = min(set(ks), key=lambda k: (-ks.count(k), k))
    pool = [(r[2][k_mode], r[1]) for r in runs if k_mode in r[2]]
    agree = np.eye(len(pool))
    for i in range(len(pool)):
        for j in range(i + 1, len(pool)):
            agree[i, j] = agree[j, i] = adjusted_rand(pool[i][0], pool[j][0])
    med = int(np.argmax(agree.mean(1)))
    lab, sil = pool[med]
    sil = dict(sil)
    sil["k_votes"] = {int(kk): ks.count(kk) for kk in sorted(set(ks))}
    off = agree[~np.eye(len(pool), dtype=bool)]
    sil["agreement"] = float(off.mean()) if off.size else 1.0
    return _by_first_member(lab), sil


def _jaccard_best(lab_full: np.ndarray, idx: np.ndarray, lab_boot: np.ndarray) -> np.ndarray:
    """For each full-data group, its best Jaccard match among bootstrap groups (Hennig 2007).

    ``idx`` are the resampled rows (with repeats) and ``lab_boot`` their bootstrap labels;
    sets are compared on the distinct resampled rows.
    """
    uniq, pos = np.unique(idx, return_index=True)
    lb = lab_boot[pos]
    lf = lab_full[uniq]
    out = np.zeros(lab_full.max() + 1)
    for g in range(len(out)):
        a = lf == g
        if not a.any():
            out[g] = np.nan
            continue
        best = 0.0
        for h in np.unique(lb):
            b = lb == h
            best = max(best, (a & b).sum() / (a | b).sum())
        out[g] = best
    return out


def _kit_groups(proj_in: np.ndarray, seed: int = 0, max_k: int = 5, n_boot: int = 20):
    """k-means++ on participants; k = modal silhouette choice over bootstrap resamples.

    Returns ``(labels, silhouettes, stability)``; see the module notes (``mode="kit"``).
    """
    rng = np.random.default_rng(seed)
    n = len(proj_in)
    n_distinct = len(np.unique(proj_in.round(12), axis=0))
    ks = list(range(2, min(max_k, n_distinct - 1, n - 1) + 1))
    empty = pd.DataFrame(columns=["group", "n", "jaccard", "dissolved"])
    if not ks:
        return np.zeros(n, dtype=int), {}, empty
    def fit(pts, k, rs, n_init, rows):
        lab, inertia = kmeans_pp(pts, k, n_init=n_init, seed=rs)
        if len(np.unique(lab[rows])) < 2:
            return lab, inertia, -1.0
        # silhouette on distinct participants (a resample's copies would sit at distance 0
        # and favour many small groups), 1,000 at most
        sub = (np.random.default_rng(rs).choice(rows, 1000, replace=False)
               if len(rows) > 1000 else rows)
        return lab, inertia, silhouette_points(pts[sub], lab[sub])

    full = {k: fit(proj_in, k, seed, 10 if n <= 2000 else 3, np.arange(n)) for k in ks}
    sil = {k: full[k][2] for k in ks}
    boot_k, boot_fits = [], []
    m_boot = min(n, 2000)  # above 2,000 participants: resamples of 2,000 (m-out-of-n)
    for b in range(n_boot):
        idx = rng.integers(0, n, m_boot)
        pts = proj_in[idx]
        if len(np.unique(pts.round(12), axis=0)) <= max(ks):
            continue
        rows = np.unique(idx, return_index=True)[1]
        fits = {k: fit(pts, k, seed + 1 + b, 3, rows) for k in ks}
        boot_k.append(max(ks, key=lambda k: (fits[k][2], -k)))
        boot_fits.append((idx, fits))
    if boot_k:
        k = min(set(boot_k), key=lambda k: (-boot_k.count(k), -sil[k], k))
    else:
        k = max(ks, key=lambda k: (sil[k], -k))
    lab = full[k][0]
    # label groups by decreasing size (ties: by first member) so ids are stable
    sizes = np.bincount(lab)
    first = np.array([np.flatnonzero(lab == g)[0] for g in range(len(sizes))])
    order = np.lexsort((first, -sizes))
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    lab = relabel[lab]
    jac = np.array([_jaccard_best(lab, idx, fits[k][0]) for idx, fits in boot_fits])
    if len(jac):
        stab = pd.DataFrame({"group": np.arange(len(sizes)), "n": np.bincount(lab),
                             "jaccard": np.nanmean(jac, axis=0),
                             "dissolved": np.nanmean(jac < 0.5, axis=0)})
    else:
        stab = empty
    sil = dict(sil)
    sil["k_votes"] = {int(kk): boot_k.count(kk) for kk in sorted(set(boot_k))}
    return lab, sil, stab


def prop_test(succ, n):
    """Pol.is one-proportion z against 1/2 with +1 pseudocounts (``stats/prop-test``).

    Examples
    --------
    >>> round(float(prop_test(8, 10)), 4)  # 2*sqrt(11)*(9/11 - 1/2)
    2.1106
    """
    succ, n = np.asarray(succ, float) + 1, np.asarray(n, float) + 1
    return 2 * np.sqrt(n) * (succ / n - 0.5)


def two_prop_test(succ_in, succ_out, n_in, n_out):
    """Pol.is two-proportion z with +1 on all four counts (``stats/two-prop-test``).

    Examples
    --------
    >>> round(float(two_prop_test(8, 2, 10, 10)), 4)
    2.569
    """
    s1, s2, n1, n2 = (np.asarray(x, float) + 1 for x in (succ_in, succ_out, n_in, n_out))
    p1, p2 = s1 / n1, s2 / n2
    ph = (s1 + s2) / (n1 + n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (p1 - p2) / np.sqrt(ph * (1 - ph) * (1 / n1 + 1 / n2))
    return np.where(ph == 1, 0.0, z)


def repness(m: np.ndarray, labels, statements) -> pd.DataFrame:
    """Representativeness statistics for every (group, statement) (``repness.clj``).

    Parameters
    ----------
    m : ndarray
        Vote matrix of the group members (rows), agree 1, disagree -1, pass 0, NaN unseen.
    labels : array
        Group of each row (NaN or <NA>: not in any group; such rows are ignored).
    statements : list
        Statement ids (columns).

    Returns
    -------
    DataFrame
        ``group, proposal, na, nd, ns, pa, pd, pat, pdt, ra, rd, rat, rdt`` with
        ``pa = (na+1)/(ns+2)``, ``pat`` = :func:`prop_test`, ``ra = pa / ((Na+1)/(Ns+2))``
        over the other groups, ``rat`` = :func:`two_prop_test`; likewise for disagree.
    """
    lab = pd.Series(labels)
    ok = lab.notna().to_numpy()
    mm, lab = m[ok], lab[ok].astype(int).to_numpy()
    groups = np.unique(lab)
    na = np.array([(mm[lab == g] == 1).sum(0) for g in groups], float)
    nd = np.array([(mm[lab == g] == -1).sum(0) for g in groups], float)
    ns = np.array([(~np.isnan(mm[lab == g])).sum(0) for g in groups], float)
    ra_, rd_, rs_ = na.sum(0) - na, nd.sum(0) - nd, ns.sum(0) - ns
    pa, pd_ = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
    out = pd.DataFrame({
        "group": np.repeat(groups, len(statements)),
        "proposal": np.tile(np.asarray(statements, dtype=object), len(groups)),
        "na": na.ravel(), "nd": nd.ravel(), "ns": ns.ravel(),
        "pa": pa.ravel(), "pd": pd_.ravel(),
        "pat": prop_test(na, ns).ravel(), "pdt": prop_test(nd, ns).ravel(),
        "ra": (pa / ((ra_ + 1) / (rs_ + 2))).ravel(),
        "rd": (pd_ / ((rd_ + 1) / (rs_ + 2))).ravel(),
        "rat": two_prop_test(na, ra_, ns, rs_).ravel(),
        "rdt": two_prop_test(nd, rd_, ns, rs_).ravel(),
    })
    for c in ("na", "nd", "ns"):
        out[c] = out[c].astype("int64")
    return out


def _finalize(r) -> dict:
    agree = r["rat"] > r["rdt"]
    return {"proposal": r["proposal"], "direction": "agree" if agree else "disagree",
            "n_success": int(r["na"] if agree else r["nd"]), "n_trials": int(r["ns"]),
            "p_success": float(r["pa"] if agree else r["pd"]),
            "p_test": float(r["pat"] if agree else r["pdt"]),
            "repness": float(r["ra"] if agree else r["rd"]),
            "repness_test": float(r["rat"] if agree else r["rdt"])}


def select_rep_comments(stats: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """Pol.is ``select-rep-comments``: up to 5 representative statements per group.

    A statement qualifies if (``rat`` and ``pat`` > 1.2816) or (``rdt`` and ``pdt`` >
    1.2816); direction agree if ``rat > rdt``. Sorted by ``repness * repness_test *
    p_success * p_test``; the best-agree statement goes first; agrees before disagrees. If none
    qualifies: the best-agree statement, else the best by ``max(rat, rdt)``.

    Returns
    -------
    DataFrame
        ``group, rank, proposal, direction, n_success, n_trials, p_success, p_test, repness,
        repness_test, best_agree``.
    """
    rows = []
    for g, sub in stats.groupby("group", sort=True):
        sufficient, best, best_agree = [], None, None
        for _, r in sub.iterrows():
            passes = (r["rat"] > Z90 and r["pat"] > Z90) or (r["rdt"] > Z90 and r["pdt"] > Z90)
            if passes:
                sufficient.append(_finalize(r))
            if not sufficient and (best is None or max(r["rat"], r["rdt"]) > best[1]):
                best = (_finalize(r), float(max(r["rat"], r["rdt"])))
            if r["na"] == 0 and r["nd"] == 0:
                beats = False
            elif best_agree is not None and best_agree["ra"] > 1.0:
                beats = (r["ra"] * r["rat"] * r["pa"] * r["pat"]
                         > best_agree["ra"] * best_agree["rat"] * best_agree["pa"]
                         * best_agree["pat"])
            elif best_agree is not None:
                beats = r["pa"] * r["pat"] > best_agree["pa"] * best_agree["pat"]
            else:
                beats = r["pat"] > Z90 or (r["ra"] > 1.0 and r["pa"] > 0.5)
            if beats:
                best_agree = r
        ba = None
        if best_agree is not None:
            ba = _finalize(best_agree)
            ba.update(direction=ba["direction"], best_agree=True)
        if not sufficient:
            chosen = [ba] if ba else ([best[0]] if best else [])
        else:
            rest = [s for s in sufficient if ba is None or s["proposal"] != ba["proposal"]]
            rest.sort(key=lambda s: -(s["repness"] * s["repness_test"] * s["p_success"]
                                      * s["p_test"]))
            chosen = ([ba] if ba else []) + rest
            chosen = chosen[:top]
            chosen = ([c for c in chosen if c["direction"] == "agree"]
                      + [c for c in chosen if c["direction"] == "disagree"])
        for i, c in enumerate(chosen):
            rows.append({"group": g, "rank": i + 1, **c,
                         "best_agree": bool(c.get("best_agree", False))})
    cols = ["group", "rank", "proposal", "direction", "n_success", "n_trials", "p_success",
            "p_test", "repness", "repness_test", "best_agree"]
    return pd.DataFrame(rows, columns=cols)


def select_consensus(m: np.ndarray, statements, top: int = 5) -> pd.DataFrame:
    """Pol.is "majority" statements over all participants (``select-consensus-comments``).

    Keeps statements with ``p > 0.5`` and ``z > 1.2816`` and sorts by ``p * z``, top 5 for
    agree and for disagree.

    Returns
    -------
    DataFrame
        ``direction, rank, proposal, n_success, n_trials, p_success, p_test``.
    """
    na = (m == 1).sum(0).astype(float)
    nd = (m == -1).sum(0).astype(float)
    ns = (~np.isnan(m)).sum(0).astype(float)
    rows = []
    for direction, n in (("agree", na), ("disagree", nd)):
        p = (n + 1) / (ns + 2)
        z = prop_test(n, ns)
        ok = np.flatnonzero((p > 0.5) & (z > Z90))
        ok = ok[np.argsort(-(p[ok] * z[ok]), kind="stable")][:top]
        for i, j in enumerate(ok):
            rows.append({"direction": direction, "rank": i + 1, "proposal": statements[j],
                         "n_success": int(n[j]), "n_trials": int(ns[j]),
                         "p_success": float(p[j]), "p_test": float(z[j])})
    return pd.DataFrame(rows, columns=["direction", "rank", "proposal", "n_success",
                                       "n_trials", "p_success", "p_test"])


# ---------------------------------------------------------------------------- driver


def opinion_groups(votes: pd.DataFrame, *, mode: str = "polis", in_conv=None, seed: int = 0,
                   proposals=None, n_orders: int = 20, mod_out=None, n_boot: int = 20,
                   return_stability: bool = False):
    """Find opinion groups. Returns ``(participants DataFrame, k, silhouettes, m, cols, pca)``.

    ``in_conv`` (optional) is a collection of participant ids to treat as in the
    conversation instead of the static rule (for instance those Pol.is grouped).
    ``mod_out`` (optional) holds moderated-out statement ids (module notes, step 2); default
    ``votes.attrs["polis_mod_out"]`` when present. ``n_boot``: bootstrap resamples of the
    ``kit`` mode. With ``return_stability=True`` the kit mode's stability table is appended
    to the returned tuple.
    """
    if mode not in ("polis", "kit"):
        raise AnalysisError(f"mode must be 'polis' or 'kit', got '{mode}'")
    if mod_out is None:
        mod_out = votes.attrs.get("polis_mod_out")
    m, rows, cols = vote_matrix(votes, proposals)
    if in_conv is None:
        mask = in_conv_mask(m)
    else:
        wanted = {str(p) for p in in_conv}
        mask = np.array([r in wanted for r in rows])
        if not mask.any():
            raise DataError("none of the in_conv participants voted", column="participant")
    rating = m
    if mod_out:
        out_cols = np.flatnonzero(np.isin(np.asarray(cols, dtype=object),
                                          [str(c) for c in mod_out]))
        if len(out_cols):
            rating = m.copy()
            rating[:, out_cols] = 0.0  # named_matrix.clj zero-out-columns
    center, comps = polis_pca(rating)
    proj = sparsity_aware_projection(rating, center, comps)
    pin = proj[mask]
    stab = pd.DataFrame(columns=["group", "n", "jaccard", "dissolved"])
    if len(pin) < 2 or len(np.unique(pin.round(12), axis=0)) < 2:
        lab, sil = np.zeros(len(pin), dtype=int), {}
    elif mode == "polis":
        lab, sil = _polis_groups(pin, n_orders=n_orders, seed=seed)
    else:
        lab, sil, stab = _kit_groups(pin, seed=seed, n_boot=n_boot)
    group = pd.array([pd.NA] * len(rows), dtype="Int64")
    group[np.flatnonzero(mask)] = lab
    parts = pd.DataFrame({"participant": rows, "n_votes": (~np.isnan(m)).sum(1),
                          "in_conv": mask, "x": proj[:, 0], "y": proj[:, 1], "group": group})
    k = int(len(np.unique(lab))) if len(lab) else 0
    if return_stability:
        return parts, k, sil, m, cols, (center, comps), stab
    return parts, k, sil, m, cols, (center, comps)


def analyse(votes: pd.DataFrame, *, mode: str = "polis", in_conv=None, seed: int = 0,
            level: float = 0.9, proposals=None, n_draws: int = 2000,
            n_orders: int = 20, mod_out=None, n_boot: int = 20) -> PolisResult:
    """Opinion groups, repness and consensus from long votes.

    Parameters
    ----------
    votes : DataFrame
        Long votes (``participant, proposal, vote``; see
        :func:`territoria.analysis.votes.normalise_votes`).
    mode : {"polis", "kit"}
        Opinion-group method (module notes). In ``polis`` mode ``gic`` is Pol.is's product
        ``prod_g (A+1)/(S+2)``; in ``kit`` mode the geometric mean with Jeffreys prior and
        effective agreement. Both are always present as ``gic_polis`` and ``gic_kit``.
    in_conv : collection, optional
        Participants to treat as in the conversation (default: the static Pol.is rule).
    seed, level, n_draws
        Seed, interval level and posterior draws of the consensus intervals.
    n_orders : int
        ``polis`` mode: participant orders tried (module notes).
    mod_out : collection, optional
        Moderated-out statement ids (module notes, step 2); default
        ``votes.attrs["polis_mod_out"]``, set by :func:`read_polis_participants_votes`.
    n_boot : int
        ``kit`` mode: bootstrap resamples for the choice of k and the groups' stability.
    proposals : list, optional
        All statement ids (statements nobody saw are reported with 0 votes).

    Returns
    -------
    PolisResult
    """
    if mod_out is None:
        mod_out = votes.attrs.get("polis_mod_out")
    votes = normalise_votes(votes)
    parts, k, sil, m, cols, (center, comps), stab = opinion_groups(
        votes, mode=mode, in_conv=in_conv, seed=seed, proposals=proposals, n_orders=n_orders,
        mod_out=mod_out, n_boot=n_boot, return_stability=True)
    gmap = parts.dropna(subset=["group"]).set_index("participant")["group"].astype(int)
    counts = vote_counts(votes, group=gmap.astype(str), proposals=cols)
    kit = group_consensus(counts, level=level, seed=seed, n_draws=n_draws)
    pol = polis_gic(counts, level=level, seed=seed, n_draws=n_draws).rename(
        columns={"gic": "gic_polis", "gic_low": "gic_polis_low", "gic_high": "gic_polis_high"})
    st = kit.rename(columns={"gic": "gic_kit", "gic_low": "gic_kit_low",
                             "gic_high": "gic_kit_high"}).merge(pol, on="proposal")
    # totals over everyone who voted (not only grouped participants)
    tot = vote_counts(votes, proposals=cols).set_index("proposal")
    st = st.drop(columns=["n_votes", "n_agree", "n_disagree", "n_pass", "p_agree",
                          "p_disagree", "p_agree_low", "p_agree_high"])
    s = tot["n_seen"].to_numpy(float)
    lo, hi = jeffreys_interval(tot["n_agree"].to_numpy(), s, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        totals = pd.DataFrame({
            "proposal": tot.index, "n_votes": tot["n_seen"].to_numpy(),
            "n_agree": tot["n_agree"].to_numpy(), "n_disagree": tot["n_disagree"].to_numpy(),
            "n_pass": tot["n_pass"].to_numpy(),
            "p_agree": np.where(s > 0, tot["n_agree"] / s, np.nan),
            "p_disagree": np.where(s > 0, tot["n_disagree"] / s, np.nan),
            "p_agree_low": lo, "p_agree_high": hi})
    st = totals.merge(st, on="proposal", how="left")
    src = "gic_polis" if mode == "polis" else "gic_kit"
    st["gic"], st["gic_low"], st["gic_high"] = st[src], st[f"{src}_low"], st[f"{src}_high"]
    st["divisive"] = st["divisive"].fillna(False).astype(bool)
    cproj = sparsity_aware_projection(
        np.where(np.eye(len(cols), dtype=bool), 1.0, np.nan), center, comps)
    order = {c: i for i, c in enumerate(cols)}
    idx = st["proposal"].map(order).to_numpy()
    st["x"], st["y"] = cproj[idx, 0], cproj[idx, 1]
    st["extremity"] = np.linalg.norm(cproj[idx], axis=1)
    st["gic_method"] = mode
    first = ["proposal", "n_votes", "n_agree", "n_disagree", "n_pass", "p_agree", "p_disagree",
             "p_agree_low", "p_agree_high", "gic", "gic_low", "gic_high", "divisive"]
    st = st[first + [c for c in st.columns if c not in first]]
    st = st.sort_values("proposal", key=lambda s: s.map(order)).reset_index(drop=True)
    if k >= 2:
        stats = repness(m, parts["group"].to_numpy(dtype=float, na_value=np.nan), cols)
        reps = select_rep_comments(stats)
    else:
        stats = pd.DataFrame(columns=["group", "proposal", "na", "nd", "ns", "pa", "pd",
                                      "pat", "pdt", "ra", "rd", "rat", "rdt"])
        reps = select_rep_comments(stats)
    return PolisResult(k=k, participants=parts, statements=st,
                       group_votes=group_table(counts, level=level), repness=reps,
                       repness_all=stats, consensus=select_consensus(m, cols),
                       silhouettes=sil, mode=mode, stability=stab)
