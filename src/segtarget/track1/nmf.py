"""NMF inputs, factors and rank selection for Track 1.

The chain is: customer feature table ->
:class:`~segtarget.track1.preprocess.FeatureTransformer` (impute, log1p on
heavy-tailed columns, min-max to [0, 1]) -> :class:`FactorModel` (non-negative matrix
factorisation ``X ~ W H``) -> factor scores ``W`` that the clustering step groups.

Why each step (the original's problems, methodology section 13.2 item 16):

- Min-max alone squeezes heavy-tailed counts and amounts (spend, products, items per basket
  with fuel quantities in the thousands) into a sliver near 0, so bounded share and ratio
  features dominate the factors. ``log1p`` before min-max spreads them out again.
- The original's "explained variance 92%" was ``1 - var(X - WH) / var(X)`` over all matrix
  entries. Here every fit statistic is named for what it is: ``r2_centered`` (residual
  sum of squares over the sum of squares around the column means, the usual R^2),
  ``evar_uncentered`` (``1 - ||X - WH||^2 / ||X||^2``, the NMF literature's "evar", always
  larger because it credits the model for the column means) and ``r2_heldout`` (centred
  R^2 on rows the factors never saw).
- The rank is chosen by a stated rule over a grid, with consensus stability across random
  restarts (cophenetic correlation, Brunet et al. 2004) beside the fit statistics.

Factors are returned in a canonical form so that the same data always give the same
table: each loading row ``H_j`` is scaled to a maximum of 1 (the scores ``W_j`` absorb the
scale, so a score is in units of the scaled features), and factors are ordered by their
share of the reconstruction, ``||w_j|| * ||h_j||``, largest first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.cluster.hierarchy import average, cophenet
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator, clone
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

from segtarget.core.errors import ParamError
from segtarget.core.labels import feature_label
from segtarget.track1.preprocess import FeatureTransformer


RANK_RULES = ("elbow", "min_rank_r2", "max_cophenetic", "fixed")
RANK_COLUMNS = ["rank", "reconstruction_error", "r2_centered", "evar_uncentered", "r2_heldout", "cophenetic"]


# --------------------------------------------------------------------------------------
# NMF factors in canonical form
# --------------------------------------------------------------------------------------


class FactorModel(BaseEstimator):
    """Non-negative matrix factorisation ``X ~ W H`` with canonical scaling and order.

    A thin wrapper around :class:`sklearn.decomposition.NMF` (coordinate descent,
    Frobenius loss) that removes NMF's two ambiguities so results are comparable and
    reproducible: each row of ``components_`` (H) is scaled to a maximum of 1 and the
    factors are ordered by their contribution ``||w_j|| ||h_j||`` to the reconstruction.

    Parameters
    ----------
    rank : int
        Number of factors.
    init : {"nndsvda", "nndsvd", "nndsvdar", "random"}
        sklearn NMF initialisation; ``nndsvda`` is deterministic given the data.
    max_iter, tol : int, float
        Stopping rule of the solver (warnings about ``max_iter`` are silenced: a capped
        fit is still a valid non-negative factorisation, and its quality is what the
        fit statistics report).
    random_state : int
        Seed (matters for ``init="random"`` and the solver's coordinate order).

    Attributes
    ----------
    components_ : ndarray (rank, n_features)
        Loadings H, each row with maximum 1.
    scores_ : ndarray (n_samples, rank)
        Factor scores W of the fitted rows.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 2)) @ rng.random((2, 6))
    >>> m = FactorModel(rank=2, max_iter=2000, tol=1e-8).fit(X)
    >>> bool(nmf_fit_statistics(X, m.scores_, m.components_)["evar_uncentered"] > 0.999)
    True
    """

    def __init__(self, rank: int = 5, init: str = "nndsvda", max_iter: int = 1000, tol: float = 1e-4, random_state: int = 42):
        self.rank = rank
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        self.nmf_ = NMF(
            n_components=self.rank,
            init=self.init,
            solver="cd",
            beta_loss="frobenius",
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            W = self.nmf_.fit_transform(X)
        H = self.nmf_.components_
        hmax = H.max(axis=1)
        hmax = np.where(hmax > 0, hmax, 1.0)
        contribution = np.linalg.norm(W, axis=0) * np.linalg.norm(H, axis=1)
        # Stable order: by contribution (rounded so float noise cannot swap ties), then index.
        self.order_ = np.lexsort((np.arange(self.rank), -np.round(contribution, 10)))
        self.scale_ = hmax[self.order_]
        self.components_ = H[self.order_] / self.scale_[:, None]
        self.scores_ = W[:, self.order_] * self.scale_[None, :]
        self.reconstruction_err_ = float(self.nmf_.reconstruction_err_)
        self.n_iter_ = int(self.nmf_.n_iter_)
        return self

    def transform(self, X):
        """Scores W of new rows with H held fixed (non-negative least squares)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            W = self.nmf_.transform(np.asarray(X, dtype=float))
        return W[:, self.order_] * self.scale_[None, :]

    def fit_transform(self, X, y=None):
        return self.fit(X).scores_


def nnls_scores(X, components: np.ndarray) -> np.ndarray:
    """Factor scores of each row with the loadings held fixed: ``argmin_{w >= 0} ||x - w H||``.

    Solved exactly, so a household's scores depend on its own features only, never on
    which other rows are scored with it (scikit-learn's ``NMF.transform`` starts its
    solver from the batch mean and stops at a tolerance, so the same household can get
    slightly different scores in different batches; segments assigned from a saved model
    must not). For the small ranks used here (<= 12) every support set S is tried at once
    for all rows: the least-squares solution on S is a candidate when it is non-negative,
    and the NNLS optimum is the feasible candidate with the smallest residual (the
    problem is convex, so its optimum is the unconstrained optimum on its own support).
    Larger ranks fall back to :func:`scipy.optimize.nnls` row by row.

    >>> import numpy as np
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> nnls_scores(np.array([[2.0, 3.0], [-1.0, 4.0]]), H).tolist()
    [[2.0, 3.0], [0.0, 4.0]]
    """
    X = np.asarray(X, dtype=float)
    H = np.asarray(components, dtype=float)
    r = H.shape[0]
    if r > 12:
        return np.vstack([optimize.nnls(H.T, x)[0] for x in X]) if len(X) else np.empty((0, r))
    best = np.zeros((X.shape[0], r))
    best_err = np.einsum("ij,ij->i", X, X)
    for mask in range(1, 2**r):
        S = [j for j in range(r) if mask >> j & 1]
        Hs = H[S]
        # einsum's own loops, not BLAS: a row's result must not depend on the batch it is in
        w = np.einsum("ij,jk->ik", X, np.linalg.pinv(Hs))
        ok = (w >= 0).all(axis=1)
        if not ok.any():
            continue
        resid = X - np.einsum("ik,kj->ij", w, Hs)
        err = np.einsum("ij,ij->i", resid, resid)
        better = ok & (err < best_err - 1e-12 * (1.0 + best_err))
        if better.any():
            best[np.ix_(better, S)] = w[better]
            best[np.ix_(better, [j for j in range(r) if j not in S])] = 0.0
            best_err = np.where(better, err, best_err)
    return best


def nmf_fit_statistics(X: np.ndarray, W: np.ndarray, H: np.ndarray) -> dict[str, float]:
    """Reconstruction error and the two R^2-type ratios of a factorisation ``X ~ W H``.

    - ``reconstruction_error``: Frobenius norm ``||X - WH||_F`` (sklearn's
      ``reconstruction_err_``).
    - ``r2_centered``: ``1 - SS_res / SS_tot`` with ``SS_tot`` around each column's mean:
      the share of the between-household variation the factors reproduce.
    - ``evar_uncentered``: ``1 - ||X - WH||^2 / ||X||^2``: the NMF literature's explained
      variance; it also credits the column means, so it is larger than ``r2_centered``.

    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [2.0, 4.0]])
    >>> s = nmf_fit_statistics(X, np.array([[1.0], [2.0]]), np.array([[1.0, 2.0]]))
    >>> s["r2_centered"], s["evar_uncentered"], s["reconstruction_error"]
    (1.0, 1.0, 0.0)
    """
    X = np.asarray(X, dtype=float)
    R = X - W @ H
    ss_res = float((R**2).sum())
    ss_tot = float(((X - X.mean(axis=0)) ** 2).sum())
    ss_raw = float((X**2).sum())
    return {
        "reconstruction_error": math.sqrt(ss_res),
        "r2_centered": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "evar_uncentered": 1.0 - ss_res / ss_raw if ss_raw > 0 else float("nan"),
    }


def heldout_r2(
    X_raw: np.ndarray,
    transformer: FeatureTransformer,
    model: FactorModel,
    folds: int = 5,
    random_state: int = 42,
) -> float:
    """Centred R^2 of the factorisation on rows it never saw (K-fold over households).

    In each fold the transformer and H are fitted on the training rows; the held-out
    rows are transformed with the training transformer and their scores W solved with H
    fixed (non-negative least squares, ``NMF.transform``). Residual and total sums of
    squares (the latter around the held-out rows' own column means) are pooled over
    folds. Unlike the in-sample statistics this does not grow mechanically with rank:
    extra factors that only fit noise stop helping.
    """
    X_raw = np.asarray(X_raw, dtype=float)
    n = X_raw.shape[0]
    folds = max(2, min(int(folds), n))
    ss_res = ss_tot = 0.0
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=random_state).split(X_raw):
        t = clone(transformer).fit(X_raw[train])
        m = clone(model).fit(t.transform(X_raw[train]))
        Xt = t.transform(X_raw[test])
        W = m.transform(Xt)
        ss_res += float(((Xt - W @ m.components_) ** 2).sum())
        ss_tot += float(((Xt - Xt.mean(axis=0)) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def consensus_matrix(
    X: np.ndarray, rank: int, restarts: int = 10, random_state: int = 42, max_iter: int = 200, tol: float = 1e-4
) -> np.ndarray:
    """Share of random-start NMF fits in which two rows get the same dominant factor.

    Each restart uses ``init="random"`` with seed ``random_state + i``; a row's class is
    the argmax of its scores W (Brunet et al. 2004).
    """
    X = np.asarray(X, dtype=float)
    C = np.zeros((X.shape[0], X.shape[0]))
    for i in range(restarts):
        m = FactorModel(rank=rank, init="random", max_iter=max_iter, tol=tol, random_state=random_state + i).fit(X)
        cls = m.scores_.argmax(axis=1)
        C += cls[:, None] == cls[None, :]
    return C / restarts


def cophenetic_correlation(consensus: np.ndarray) -> float:
    """Cophenetic correlation of average-linkage clustering on ``1 - consensus``.

    1 means the restarts always agree (a perfectly crisp consensus); values drop as the
    co-membership gets fuzzy. A consensus with no spread at all (every pair always or
    never together in the same way) is perfectly stable and scores 1.

    >>> import numpy as np
    >>> cophenetic_correlation(np.kron(np.eye(2), np.ones((3, 3))))
    1.0
    """
    D = 1.0 - np.asarray(consensus, dtype=float)
    np.fill_diagonal(D, 0.0)
    d = squareform(D, checks=False)
    if d.size == 0 or np.ptp(d) == 0:
        return 1.0
    c, _ = cophenet(average(d), d)
    return float(c)


def rank_selection_table(
    X_raw: np.ndarray,
    ranks,
    transformer: FeatureTransformer,
    model: FactorModel,
    heldout_folds: int = 5,
    consensus_restarts: int = 10,
    consensus_max_rows: int = 400,
    consensus_max_iter: int = 200,
    random_state: int = 42,
) -> pd.DataFrame:
    """Fit statistics and consensus stability for every rank of the grid.

    Returns one row per rank with the columns of :data:`RANK_COLUMNS`. The consensus is
    computed on a fixed random subsample of at most ``consensus_max_rows`` households
    (the consensus matrix is quadratic in rows; a few hundred rows estimate it well).
    """
    X_raw = np.asarray(X_raw, dtype=float)
    t = clone(transformer).fit(X_raw)
    X = t.transform(X_raw)
    rng = np.random.default_rng(random_state)
    n = X.shape[0]
    sub = np.sort(rng.choice(n, size=min(n, consensus_max_rows), replace=False))
    rows = []
    for r in ranks:
        if r < 1 or r > min(X.shape):
            raise ParamError(
                f"segmentation.rank_max = {r} is invalid; expected at most min(households, features) = {min(X.shape)}"
            )
        m = clone(model).set_params(rank=int(r)).fit(X)
        stats = nmf_fit_statistics(X, m.scores_, m.components_)
        r2h = heldout_r2(X_raw, transformer, clone(model).set_params(rank=int(r)), heldout_folds, random_state)
        coph = (
            cophenetic_correlation(
                consensus_matrix(X[sub], int(r), consensus_restarts, random_state, consensus_max_iter, model.tol)
            )
            if consensus_restarts >= 2
            else float("nan")
        )
        rows.append({"rank": int(r), **stats, "r2_heldout": r2h, "cophenetic": coph})
    return pd.DataFrame(rows, columns=RANK_COLUMNS)


def elbow_point(x, y) -> int:
    """Index of the elbow of a decreasing curve: the point farthest below the chord.

    Both axes are rescaled to [0, 1] and the point with the largest distance from the
    straight line joining the first and last points is returned (the "kneedle" idea).

    >>> elbow_point([1, 2, 3, 4, 5], [10, 4, 3, 2.5, 2])
    1
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) <= 2:
        return 0
    xs = (x - x[0]) / (x[-1] - x[0])
    span = y[0] - y[-1]
    ys = (y - y[-1]) / span if span != 0 else np.zeros_like(y)
    chord = 1.0 - xs
    return int(np.argmax(chord - ys))


def select_rank(table: pd.DataFrame, rule: str, r2_threshold: float = 0.7, fixed: int | None = None) -> int:
    """Apply the rank rule to a rank-selection table.

    - ``elbow``: the elbow of the held-out error curve ``1 - r2_heldout`` (the
      out-of-sample counterpart of the reconstruction error): the rank after which
      extra factors bring clearly smaller gains on new households. Needs no threshold.
    - ``min_rank_r2``: the smallest rank whose held-out centred R^2 reaches
      ``r2_threshold`` (the largest rank of the grid if none does): the most parsimonious
      factorisation that reproduces a stated share of the variation on new households.
    - ``max_cophenetic``: the rank with the most reproducible consensus (ties: smaller).
    - ``fixed``: ``fixed``.
    """
    ranks = table["rank"].to_numpy()
    if rule == "fixed":
        if fixed is None:
            raise ParamError("segmentation.rank_fixed is missing; expected an integer when rank_rule is fixed")
        return int(fixed)
    if rule == "elbow":
        return int(ranks[elbow_point(ranks, 1.0 - table["r2_heldout"].to_numpy(dtype=float))])
    if rule == "min_rank_r2":
        ok = table["r2_heldout"].to_numpy() >= r2_threshold
        return int(ranks[np.argmax(ok)]) if ok.any() else int(ranks.max())
    if rule == "max_cophenetic":
        c = np.round(table["cophenetic"].to_numpy(dtype=float), 10)
        if np.isnan(c).all():
            raise ParamError("segmentation.rank_rule = 'max_cophenetic' needs consensus_restarts >= 2")
        return int(ranks[np.nanargmax(c)])
    raise ParamError(f"segmentation.rank_rule = {rule!r} is invalid; expected one of {', '.join(RANK_RULES)}")


# --------------------------------------------------------------------------------------
# Loadings and names
# --------------------------------------------------------------------------------------


def factor_columns(rank: int) -> list[str]:
    """Factor column names F1..Fr."""
    return [f"F{j + 1}" for j in range(rank)]


def loadings_table(H: np.ndarray, features) -> pd.DataFrame:
    """Factor loadings: one row per feature, one column per factor (F1..Fr)."""
    df = pd.DataFrame(np.asarray(H).T, columns=factor_columns(H.shape[0]))
    df.insert(0, "feature", list(features))
    return df


def factor_names(H: np.ndarray, features, top: int = 2) -> pd.DataFrame:
    """Data-driven factor names from each factor's most characteristic features.

    A feature characterises factor j when it loads highly on j *and* mostly on j: the
    score is ``H[j, f] * H[j, f] / sum_j' H[j', f]`` (loading times specificity), so a
    feature that loads on every factor (e.g. department breadth) does not name them all.
    The best feature names the factor, followed by up to ``top - 1`` more whose score is
    at least a quarter of the best one's, e.g. ``"F1 grocery + deal usage"``; if two
    factors would get the same name, more features are added until names are unique.

    Returns a table with factor, name, name_ko, label (the name without "Fj"), label_ko
    and top_features (feature column names joined by "+").
    """
    H = np.asarray(H, dtype=float)
    features = list(features)
    total = H.sum(axis=0)
    spec = np.divide(H, total, out=np.zeros_like(H), where=total > 0)
    score = H * spec
    order = [list(np.lexsort((np.arange(H.shape[1]), -np.round(score[j], 12)))) for j in range(H.shape[0])]
    n_top = [
        max(1, min(top, int((score[j] >= 0.25 * score[j].max()).sum()) if score[j].max() > 0 else 1))
        for j in range(H.shape[0])
    ]
    for _ in range(H.shape[1]):
        keys = [tuple(order[j][: n_top[j]]) for j in range(H.shape[0])]
        dup = {k for k in keys if keys.count(k) > 1}
        if not dup:
            break
        n_top = [n + 1 if keys[j] in dup and n < H.shape[1] else n for j, n in enumerate(n_top)]
    rows = []
    for j in range(H.shape[0]):
        feats = [features[i] for i in order[j][: n_top[j]]]
        label = " + ".join(feature_label(f) for f in feats)
        label_ko = " + ".join(feature_label(f, "ko") for f in feats)
        rows.append(
            {
                "factor": f"F{j + 1}",
                "name": f"F{j + 1} {label}",
                "name_ko": f"F{j + 1} {label_ko}",
                "label": label,
                "label_ko": label_ko,
                "top_features": "+".join(feats),
            }
        )
    return pd.DataFrame(rows)

