"""K-means segments on NMF factor scores: the k grid, its metrics and the k rule.

For every k of the grid the table reports inertia, silhouette, Calinski-Harabasz,
Davies-Bouldin and a bootstrap stability score, and :func:`select_k` applies the rule
named in ``params.yaml``. The stability score follows Ben-Hur, Elisseeff and Guyon (2002):
fit K-means on two random subsamples (without replacement) and measure the adjusted Rand
index on the households the two share. It needs no reference labelling, so it does not
favour the full-data fit, and it is computed for every k so that a rule can use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from segtarget.core.errors import ParamError

K_RULES = ("max_stable", "min_davies_bouldin", "max_silhouette", "max_bootstrap_ari", "fixed")
K_COLUMNS = ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "bootstrap_ari"]


def fit_kmeans(W: np.ndarray, k: int, n_init: int = 10, random_state: int = 42) -> KMeans:
    """K-means with a fixed seed (Lloyd, k-means++ starts, best of ``n_init``)."""
    return KMeans(n_clusters=int(k), n_init=int(n_init), random_state=int(random_state)).fit(W)


def silhouette(W: np.ndarray, labels: np.ndarray, max_rows: int = 5000, random_state: int = 42) -> float:
    """Silhouette on all rows, or on a fixed random subsample above ``max_rows`` (it is O(n^2))."""
    if len(np.unique(labels)) < 2:
        return float("nan")
    n = len(labels)
    size = None if n <= max_rows else max_rows
    return float(silhouette_score(W, labels, sample_size=size, random_state=random_state))


def subsample_ari(
    W: np.ndarray, k: int, pairs: int = 10, fraction: float = 0.8, n_init: int = 3, random_state: int = 42
) -> float:
    """Mean ARI between K-means fits on two subsamples, on the rows they share.

    Each of ``pairs`` draws two subsamples of ``fraction`` of the rows without
    replacement (duplicated rows would sit on top of each other and inflate agreement),
    fits K-means on each, and compares the two labellings on their overlap.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = np.vstack([rng.normal(c, 0.05, (40, 2)) for c in ([0, 0], [1, 1], [0, 1])])
    >>> round(subsample_ari(W, 3, pairs=3), 6)
    1.0
    """
    if pairs <= 0:
        return float("nan")
    rng = np.random.default_rng(random_state)
    n = W.shape[0]
    m = max(int(k) + 1, int(round(fraction * n)))
    scores = []
    for b in range(pairs):
        a_idx = np.sort(rng.choice(n, size=m, replace=False))
        b_idx = np.sort(rng.choice(n, size=m, replace=False))
        la = fit_kmeans(W[a_idx], k, n_init, random_state + 2 * b).labels_
        lb = fit_kmeans(W[b_idx], k, n_init, random_state + 2 * b + 1).labels_
        common, ia, ib = np.intersect1d(a_idx, b_idx, assume_unique=True, return_indices=True)
        scores.append(adjusted_rand_score(la[ia], lb[ib]))
    return float(np.mean(scores))


def cluster_selection_table(
    W: np.ndarray,
    ks,
    n_init: int = 10,
    bootstrap_pairs: int = 10,
    bootstrap_fraction: float = 0.8,
    bootstrap_n_init: int = 3,
    silhouette_max_rows: int = 5000,
    random_state: int = 42,
) -> pd.DataFrame:
    """Inertia, silhouette, Calinski-Harabasz, Davies-Bouldin and subsample ARI per k."""
    W = np.asarray(W, dtype=float)
    rows = []
    for k in ks:
        k = int(k)
        if k < 2 or k >= W.shape[0]:
            raise ParamError(f"segmentation.k_max = {k} is invalid; expected 2 <= k < number of households ({W.shape[0]})")
        km = fit_kmeans(W, k, n_init, random_state)
        labels = km.labels_
        several = len(np.unique(labels)) > 1
        rows.append(
            {
                "k": k,
                "inertia": float(km.inertia_),
                "silhouette": silhouette(W, labels, silhouette_max_rows, random_state),
                "calinski_harabasz": float(calinski_harabasz_score(W, labels)) if several else float("nan"),
                "davies_bouldin": float(davies_bouldin_score(W, labels)) if several else float("nan"),
                "bootstrap_ari": subsample_ari(W, k, bootstrap_pairs, bootstrap_fraction, bootstrap_n_init, random_state),
            }
        )
    return pd.DataFrame(rows, columns=K_COLUMNS)


def gap_statistic(W: np.ndarray, ks, n_refs: int = 10, n_init: int = 10, random_state: int = 42,
                  ref_n_init: int = 3) -> pd.DataFrame:
    """Tibshirani, Walther & Hastie's (2001) gap statistic per k, with its standard error.

    ``gap(k) = mean_b log(W*_kb) - log(W_k)``: how much tighter K-means packs the data
    than it packs ``n_refs`` structureless reference sets (uniform over the data's
    principal-component box, the paper's reference "b"). ``gap_se = sd_b * sqrt(1 + 1/B)``.
    The data fits get ``n_init`` K-means starts (a poor local optimum on the data makes a
    false dip in the curve); the uniform references, which have no competing optima worth
    the cost, get ``ref_n_init``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = np.vstack([rng.normal(c, 0.05, (60, 2)) for c in ([0, 0], [1, 1], [0, 1])])
    >>> t = gap_statistic(W, [2, 3, 4, 5], n_refs=5)
    >>> gap_k(t)
    3
    """
    W = np.asarray(W, dtype=float)
    rng = np.random.default_rng(random_state)
    C = W - W.mean(axis=0)
    _, _, Vt = np.linalg.svd(C, full_matrices=False)
    Z = C @ Vt.T
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    refs = [rng.uniform(lo, hi, Z.shape) @ Vt for _ in range(n_refs)]
    rows = []
    for k in ks:
        k = int(k)
        log_w = np.log(max(fit_kmeans(W, k, n_init, random_state).inertia_, 1e-300))
        ref = np.array([np.log(max(fit_kmeans(R, k, ref_n_init, random_state).inertia_, 1e-300)) for R in refs])
        rows.append({"k": k, "gap": float(ref.mean() - log_w),
                     "gap_se": float(ref.std() * np.sqrt(1 + 1 / n_refs)) if n_refs > 1 else float("nan")})
    return pd.DataFrame(rows)


def gap_k(table: pd.DataFrame) -> int:
    """The paper's rule: the smallest k with ``gap(k) >= gap(k+1) - se(k+1)`` (else the largest k)."""
    t = table.sort_values("k")
    k, g, se = t["k"].to_numpy(), t["gap"].to_numpy(dtype=float), t["gap_se"].to_numpy(dtype=float)
    for i in range(len(k) - 1):
        if np.round(g[i], 10) >= np.round(g[i + 1] - np.nan_to_num(se[i + 1]), 10):
            return int(k[i])
    return int(k[-1])


def select_k(
    table: pd.DataFrame,
    rule: str,
    fixed: int | None = None,
    min_bootstrap_ari: float = 0.0,
    min_jaccard: float = 0.75,
    min_share: float = 0.05,
) -> int:
    """Apply the k rule to a cluster-selection table.

    - ``max_stable`` (the default): the largest k whose every segment is stable on
      whole-chain resamples (``min_jaccard`` column >= ``min_jaccard``, Hennig's "stable"
      band) and holds at least ``min_share`` of the households (``min_share`` column): the
      finest segmentation that holds up. When the table has a ``gap_cap`` column, k is
      capped at it (the gap statistic's k, :func:`gap_k`): stability alone rewards any split K-means
      makes the same way every time, including halving a one-humped group along its
      longest axis (Ben-David, von Luxburg & Pal 2006), and the gap statistic caps k at the
      number of groups the data's dispersion supports against a structureless reference.
      If no k qualifies, the k with the highest minimum Jaccard among those meeting the
      share floor (or among all k) is returned, and the caller says so.
    - ``min_davies_bouldin`` (the original's rule): the most compact, best separated
      partition by the Davies-Bouldin index.
    - ``max_silhouette``, ``max_bootstrap_ari``: the best k by that column.
    - ``fixed``: ``fixed``.

    Before the rule is applied, k with ``bootstrap_ari < min_bootstrap_ari`` are set
    aside (when at least one k passes), so that a rule cannot pick a partition that does
    not reproduce on resampled data. Ties go to the smaller k.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"k": [2, 3, 4], "silhouette": [.3, .4, .5], "davies_bouldin": [1.2, 1.0, 0.9],
    ...                   "bootstrap_ari": [.99, .95, .5]})
    >>> select_k(t, "min_davies_bouldin"), select_k(t, "min_davies_bouldin", min_bootstrap_ari=0.8)
    (4, 3)
    """
    if rule == "max_stable":
        ok = stable_ks(table, min_jaccard, min_share)
        if ok and "gap_cap" in table:
            ok = [k for k in ok if k <= int(table["gap_cap"].iloc[0])] or [min(ok)]
        if ok:
            return max(ok)
        t = table[table["min_share"].to_numpy(dtype=float) >= min_share]
        t = t if len(t) else table
        vals = -np.round(np.nan_to_num(t["min_jaccard"].to_numpy(dtype=float), nan=-1.0), 10)
        return int(t["k"].to_numpy()[np.argmin(vals)])
    if rule == "fixed":
        if fixed is None:
            raise ParamError("segmentation.k_fixed is missing; expected an integer when k_rule is fixed")
        return int(fixed)
    column, sign = {
        "min_davies_bouldin": ("davies_bouldin", 1.0),
        "max_silhouette": ("silhouette", -1.0),
        "max_bootstrap_ari": ("bootstrap_ari", -1.0),
    }.get(rule, (None, None))
    if column is None:
        raise ParamError(f"segmentation.k_rule = {rule!r} is invalid; expected one of {', '.join(K_RULES)}")
    t = table
    if min_bootstrap_ari > 0:
        ok = t["bootstrap_ari"].to_numpy(dtype=float) >= min_bootstrap_ari
        if ok.any():
            t = t[ok]
    vals = sign * np.round(t[column].to_numpy(dtype=float), 10)
    vals = np.where(np.isnan(vals), np.inf, vals)
    return int(t["k"].to_numpy()[np.argmin(vals)])


def stable_ks(table: pd.DataFrame, min_jaccard: float = 0.75, min_share: float = 0.05) -> list[int]:
    """The k whose smallest segment share and lowest segment Jaccard both clear their floors.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"k": [3, 4, 5], "min_jaccard": [.9, .8, .7], "min_share": [.2, .1, .1]})
    >>> stable_ks(t), select_k(t, "max_stable"), select_k(t, "max_stable", min_jaccard=0.95)
    ([3, 4], 4, 3)
    """
    j = table["min_jaccard"].to_numpy(dtype=float)
    s = table["min_share"].to_numpy(dtype=float)
    ok = np.nan_to_num(j, nan=-1.0) >= min_jaccard
    ok &= np.nan_to_num(s, nan=-1.0) >= min_share
    return [int(k) for k in table["k"].to_numpy()[ok]]
