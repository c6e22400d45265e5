"""Opinion groups from a vote matrix, Pol.is-compatible, plus the kit's own variant.

Reference implementation followed (``mode="polis"``): the Clojure math of compdemocracy/polis,
``math/src/polismath/math/{pca,clusters,conversation,repness,stats}.clj`` (snapshot read:
conversation.clj 19af664, pca.clj 7850848, clusters.clj 314d532, repness.clj 2679ba7,
stats.clj a2d0747). Not the newer Python port ``delphi/polismath`` (it changes the constants).

Steps (``mode="polis"``)
-------------------------
1. Vote matrix: participants x statements, agree = +1, disagree = -1, pass = 0 (the export
   coding; Pol.is stores the opposite sign internally, which only flips PCA axes), unseen =
   missing.
2. In-conversation rule: a participant enters if they voted on at least ``min(7, N)``
   statements; if fewer than 15 qualify the most active voters are added up to 15
   (``:in-conv``). Pol.is applies this at every update and "once in, always in", so people
   who voted on all statements early in a conversation stay in; a static matrix cannot
   replay that, hence the optional ``in_conv`` argument.
3. PCA on *all* participants: missing cells imputed by the statement's mean observed vote,
   centred by column means, two components. Pol.is uses power iteration with Gram-Schmidt
   deflation, warm-started at every update; we take the converged answer (the two leading
   eigenvectors of the centred cross-product matrix), which is what those iterations tend to.
4. Sparsity-aware projection: ``x_ik = sqrt(N / max(|V_i|, 1)) sum_{j in V_i} (v_ij - mu_j) w_kj``.
5. Base clusters: k-means with k = 100 on the in-conv participants' 2-D points, initialised
   with the first 100 distinct points, at most 100 iterations, stop when centres move < 0.01;
   empty clusters are dropped.
6. Opinion groups: k-means on base-cluster centres weighted by base-cluster size, for
   k = 2 .. min(5, 2 + floor(n_base / 12)) (the ``kmeans`` default of 20 iterations applies:
   ``:cluster-iters`` is passed but not read), k chosen by the highest silhouette over base
   clusters (unweighted mean; singletons score 0). Pol.is seeds k-means with the first points
   of a hash-ordered set and smooths k over 4 consecutive updates (``group-k-buffer``); a
   one-shot analysis cannot replay either, so the procedure is repeated over ``n_orders``
   row orders (file order first, then seeded permutations) and the modal k is kept, with
   its best-silhouette partition. On the Brexit conversation the file order alone picks
   k = 3 (silhouette 0.398 vs 0.387 for k = 2), while most orders pick Pol.is's k = 2.
7. Representativeness (``repness.clj``, ``stats.clj``): see :func:`repness`. Consensus
   (``select-consensus-comments``) and group-informed consensus (``:group-aware-consensus``).

``mode="kit"``: same matrix, in-conv rule, imputation and projection, then k-means++ with
10 restarts directly on participants' points, k in 2..5 chosen by the participants'
silhouette. It does not depend on row order (Pol.is's initialisation does).

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

from territoria.analysis.consensus import (
    group_consensus,
    group_table,
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
        Per statement and group (see :func:`territoria.analysis.consensus.group_table`).
    repness : DataFrame
        Representative statements per group (Pol.is selection).
    repness_all : DataFrame
        Every (group, statement) repness statistic.
    consensus : DataFrame
        Pol.is "majority" statements (``select-consensus-comments``).
    silhouettes : dict
        Silhouette per candidate k (``polis`` mode also ``k_votes``: how many row orders
        chose each k).
    mode : str
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
    return long[["participant", "proposal", "vote"]].reset_index(drop=True), gid.astype("Int64")


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
    labels = np.asarray(labels)
    groups = np.unique(labels)
    if len(groups) < 2:
        return float("nan")
    dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    s = np.zeros(len(pts))
    for i in range(len(pts)):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = dist[i, own].sum() / (own.sum() - 1)
        b = min(dist[i, labels == g].mean() for g in groups if g != labels[i])
        den = max(a, b)
        s[i] = (b - a) / den if den > 0 else 0.0
    return float(s.mean())


def _polis_groups_once(proj_in: np.ndarray, base_k: int = 100, max_k: int = 5):
    """Base clusters then opinion groups chosen by silhouette (Pol.is), rows in given order."""
    base_lab, base_ctr = polis_kmeans(proj_in, base_k, max_iter=100)
    sizes = np.bincount(base_lab, minlength=len(base_ctr)).astype(float)
    keep = sizes > 0
    base_ctr, sizes = base_ctr[keep], sizes[keep]
    base_lab = np.searchsorted(np.flatnonzero(keep), base_lab)
    k_max = min(max_k, 2 + len(base_ctr) // 12)
    sil = {}
    best = None
    for k in range(2, k_max + 1):
        glab, _ = polis_kmeans(base_ctr, k, weights=sizes, max_iter=20)
        if len(np.unique(glab)) < 2:
            continue
        sil[k] = silhouette_points(base_ctr, glab)
        if best is None or sil[k] >= sil[best[0]]:  # Clojure max-key keeps the last maximum
            best = (k, glab)
    if best is None:
        return np.zeros(len(proj_in), dtype=int), sil
    _, glab = best
    return np.searchsorted(np.unique(glab), glab)[base_lab], sil


def _polis_groups(proj_in: np.ndarray, n_orders: int = 20, seed: int = 0, base_k: int = 100,
                  max_k: int = 5):
    """Pol.is groups, repeated over row orders; modal k, then its best-silhouette run.

    Pol.is seeds k-means with the first k distinct points of the in-conv participants, an
    unordered (hash) set, so its result depends on an arbitrary order; it then only changes
    k after the same k wins 4 consecutive updates. We repeat the one-shot procedure over
    ``n_orders`` orders (the given order first, then seeded permutations), keep the most
    frequent k (ties: the smaller k), and among those runs the one with the highest
    silhouette. ``n_orders=1`` uses the given order only. Large conversations get fewer
    orders (``max(5, 40000 // n)``, n = in-conv participants) to keep the run in seconds.
    """
    rng = np.random.default_rng(seed)
    runs = []
    # time budget: about 20 orders x 2,000 points; never fewer than 5 orders
    n_orders = min(n_orders, max(5, 40_000 // max(len(proj_in), 1)))
    for t in range(max(1, n_orders)):
        perm = np.arange(len(proj_in)) if t == 0 else rng.permutation(len(proj_in))
        lab, sil = _polis_groups_once(proj_in[perm], base_k=base_k, max_k=max_k)
        out = np.empty_like(lab)
        out[perm] = lab
        k = len(np.unique(out))
        runs.append((k, sil.get(k, np.nan), out, sil))
    ks = [r[0] for r in runs]
    k_mode = min(set(ks), key=lambda k: (-ks.count(k), k))
    cands = [r for r in runs if r[0] == k_mode]
    k, _, lab, sil = max(cands, key=lambda r: (np.nan_to_num(r[1], nan=-2.0)))
    # relabel groups by first member so ids do not depend on the chosen order
    _, first = np.unique(lab, return_index=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    sil = dict(sil)
    sil["k_votes"] = {int(kk): ks.count(kk) for kk in sorted(set(ks))}
    return relabel[lab], sil


def _kit_groups(proj_in: np.ndarray, seed: int = 0, max_k: int = 5):
    """k-means++ (10 restarts; 3 above 2,000 points) on participants, k by silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n_distinct = len(np.unique(proj_in.round(12), axis=0))
    sil, best = {}, None
    for k in range(2, min(max_k, n_distinct - 1, len(proj_in) - 1) + 1):
        n_init = 10 if len(proj_in) <= 2000 else 3  # restarts matter less with many points
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(proj_in)
        lab = km.labels_
        sample = 3000 if len(proj_in) > 3000 else None
        sil[k] = float(silhouette_score(proj_in, lab, sample_size=sample, random_state=seed))
        if best is None or sil[k] > sil[best[0]]:
            best = (k, lab)
    if best is None:
        return np.zeros(len(proj_in), dtype=int), sil
    lab = best[1]
    # label groups by decreasing size (ties: by first member) so ids are stable
    sizes = np.bincount(lab)
    first = np.array([np.flatnonzero(lab == g)[0] for g in range(len(sizes))])
    order = np.lexsort((first, -sizes))
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    return relabel[lab], sil


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
                   proposals=None, n_orders: int = 20):
    """Find opinion groups. Returns ``(participants DataFrame, k, silhouettes, m, cols, pca)``.

    ``in_conv`` (optional) is a collection of participant ids to treat as in the
    conversation instead of the static rule (for instance those Pol.is grouped).
    """
    if mode not in ("polis", "kit"):
        raise AnalysisError(f"mode must be 'polis' or 'kit', got '{mode}'")
    m, rows, cols = vote_matrix(votes, proposals)
    if in_conv is None:
        mask = in_conv_mask(m)
    else:
        wanted = {str(p) for p in in_conv}
        mask = np.array([r in wanted for r in rows])
        if not mask.any():
            raise DataError("none of the in_conv participants voted", column="participant")
    center, comps = polis_pca(m)
    proj = sparsity_aware_projection(m, center, comps)
    pin = proj[mask]
    if len(pin) < 2 or len(np.unique(pin.round(12), axis=0)) < 2:
        lab, sil = np.zeros(len(pin), dtype=int), {}
    elif mode == "polis":
        lab, sil = _polis_groups(pin, n_orders=n_orders, seed=seed)
    else:
        lab, sil = _kit_groups(pin, seed=seed)
    group = pd.array([pd.NA] * len(rows), dtype="Int64")
    group[np.flatnonzero(mask)] = lab
    parts = pd.DataFrame({"participant": rows, "n_votes": (~np.isnan(m)).sum(1),
                          "in_conv": mask, "x": proj[:, 0], "y": proj[:, 1], "group": group})
    k = int(len(np.unique(lab))) if len(lab) else 0
    return parts, k, sil, m, cols, (center, comps)


def analyse(votes: pd.DataFrame, *, mode: str = "polis", in_conv=None, seed: int = 0,
            level: float = 0.9, proposals=None, n_draws: int = 2000,
            n_orders: int = 20) -> PolisResult:
    """Opinion groups, repness and consensus from long votes.

    Parameters
    ----------
    votes : DataFrame
        Long votes (``participant, proposal, vote``; see
        :func:`territoria.analysis.consensus.normalise_votes`).
    mode : {"polis", "kit"}
        Opinion-group method (module notes). In ``polis`` mode ``gic`` is Pol.is's product
        ``prod_g (A+1)/(S+2)``; in ``kit`` mode the geometric mean with Jeffreys prior and
        effective agreement. Both are always present as ``gic_polis`` and ``gic_kit``.
    in_conv : collection, optional
        Participants to treat as in the conversation (default: the static Pol.is rule).
    seed, level, n_draws
        Seed, interval level and posterior draws of the consensus intervals.
    n_orders : int
        ``polis`` mode: row orders tried (see the module notes, step 6).
    proposals : list, optional
        All statement ids (statements nobody saw are reported with 0 votes).

    Returns
    -------
    PolisResult
    """
    votes = normalise_votes(votes)
    parts, k, sil, m, cols, (center, comps) = opinion_groups(
        votes, mode=mode, in_conv=in_conv, seed=seed, proposals=proposals, n_orders=n_orders)
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
    from territoria.analysis.consensus import jeffreys_interval

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
                       silhouettes=sil, mode=mode)
