"""The segmentation chain at a fixed rank and k: transform -> NMF -> K-means.

One estimator that learns everything the segments depend on, so that stability checks
can refit *all* of it on resampled households (the original refitted K-means only).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator

from segtarget.track1 import clustering, nmf, preprocess


class SegmentationChain(BaseEstimator):
    """Transform -> NMF -> K-means at a fixed rank and k: the unit that stability refits.

    Parameters mirror :class:`SegmentationConfig`; ``log_features`` are column positions.
    After ``fit(X_raw)``: ``transformer_``, ``factors_`` (:class:`~segtarget.track1.nmf.FactorModel`),
    ``kmeans_``, ``scores_`` (factor scores W of the fitted rows: the exact NNLS scores with
    the fitted loadings, the same scores a saved model gives) and ``labels_``.

    Examples
    --------
    >>> from segtarget.track1.planted import planted_feature_table
    >>> df, truth = planted_feature_table(300, n_segments=3, seed=1)
    >>> X = df[list(preprocess.ORIGINAL_NMF_FEATURES)].to_numpy(float)
    >>> chain = SegmentationChain(rank=3, k=3, log_features=[0, 1, 2, 3, 5, 6, 7, 12, 13]).fit(X)
    >>> from sklearn.metrics import adjusted_rand_score
    >>> bool(adjusted_rand_score(truth, chain.labels_) > 0.9)
    True
    """

    def __init__(
        self,
        rank: int = 5,
        k: int = 7,
        transform: str = "log1p_minmax",
        log_features=(),
        impute: str = "median",
        clip_quantile: float = 0.0,
        nmf_init: str = "nndsvda",
        nmf_max_iter: int = 1000,
        nmf_tol: float = 1e-4,
        kmeans_n_init: int = 10,
        random_state: int = 42,
    ):
        self.rank = rank
        self.k = k
        self.transform = transform
        self.log_features = log_features
        self.impute = impute
        self.clip_quantile = clip_quantile
        self.nmf_init = nmf_init
        self.nmf_max_iter = nmf_max_iter
        self.nmf_tol = nmf_tol
        self.kmeans_n_init = kmeans_n_init
        self.random_state = random_state

    def fit(self, X, y=None):
        self.transformer_ = preprocess.FeatureTransformer(
            self.transform, self.log_features, self.impute, self.clip_quantile
        ).fit(X)
        Xt = self.transformer_.transform(X)
        self.factors_ = nmf.FactorModel(
            rank=self.rank, init=self.nmf_init, max_iter=self.nmf_max_iter, tol=self.nmf_tol, random_state=self.random_state
        ).fit(Xt)
        self.scores_ = nmf.nnls_scores(Xt, self.factors_.components_)
        self.kmeans_ = clustering.fit_kmeans(self.scores_, self.k, self.kmeans_n_init, self.random_state)
        self.labels_ = self.kmeans_.labels_
        return self

    def predict(self, X):
        """Raw K-means label of new rows: transform, NNLS scores with H fixed, nearest centre."""
        W = nmf.nnls_scores(self.transformer_.transform(X), self.factors_.components_)
        return self.kmeans_.predict(W)
