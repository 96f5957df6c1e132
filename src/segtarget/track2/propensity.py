"""Cross-fitted propensity scores: candidate models, out-of-fold fits and their calibration.

Why this module exists: every weighting or doubly-robust estimate divides by the propensity
score e(x) = P(treated | x), so the estimate is only as good as e(x). The original project
fitted one unscaled logistic regression, clipped silently to [0.01, 0.99], and used a
different model for the test set. Here:

* the score of every unit is **out-of-fold**: the model that scores a unit never saw it,
  on the household-grouped, arm-stratified folds of :func:`segtarget.track2.design.make_folds`;
* two candidate models, gradient boosting (``hgb``) and L2-regularised logistic
  regression on standardised features (``logit``), are both reported and the one with the
  lower out-of-fold log loss is used (:class:`CrossFittedPropensity`);
* AUC, Brier score, log loss and a binned calibration table describe the fit. The overlap
  and balance diagnostics built on the scores are in :mod:`segtarget.track2.positivity`.

All fits run single-threaded with fixed seeds, so results are reproducible to the byte.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from segtarget.core.errors import InputError, ParamError
from segtarget.track2.design import as_matrix, as_treatment, make_folds, signed_log1p, single_thread


#: Candidate propensity models, in the order they are reported (and win ties).
PS_MODELS = ("hgb", "logit")


# --------------------------------------------------------------------------- inputs


# --------------------------------------------------------------------------- folds and models


#: Out-of-fold scores are kept inside [SCORE_EPS, 1 - SCORE_EPS]: a linear score on a
#: heavy-tailed covariate can round to exactly 0 or 1, which no weight or SMD survives.
SCORE_EPS = 1e-6


def make_propensity_model(
    name: str,
    seed: int = 0,
    *,
    C: float = 1.0,
    hgb_max_iter: int = 200,
    hgb_learning_rate: float = 0.05,
    hgb_max_leaf_nodes: int = 15,
    hgb_min_samples_leaf: int = 20,
):
    """A fresh, unfitted candidate propensity classifier.

    ``hgb``: :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with early stopping
    off (early stopping would draw an internal validation split and make results depend on
    sample size thresholds) and L2 regularisation on the leaves. ``logit``: standardise, then
    L2-penalised logistic regression (C is the inverse penalty); standardising makes the
    penalty treat covariates alike and lets lbfgs converge, which the original's unscaled
    fit did not reliably do.
    """
    if name == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=hgb_max_iter,
            learning_rate=hgb_learning_rate,
            max_leaf_nodes=hgb_max_leaf_nodes,
            min_samples_leaf=hgb_min_samples_leaf,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        )
    if name == "logit":
        return make_pipeline(FunctionTransformer(signed_log1p), StandardScaler(),
                             LogisticRegression(C=C, max_iter=5000, random_state=seed))
    raise ParamError(f"propensity model = {name!r} is invalid; expected one of {', '.join(PS_MODELS)}")


def classification_scores(t, e) -> dict[str, float]:
    """AUC, Brier score and log loss of propensity scores ``e`` for the treatment ``t``.

    AUC near 1 means the arms are almost separable (little overlap), not a good model.
    """
    t = np.asarray(t)
    e = np.asarray(e, dtype="float64")
    return {
        "auc": float(roc_auc_score(t, e)),
        "brier": float(brier_score_loss(t, e)),
        "log_loss": float(log_loss(t, np.clip(e, 1e-15, 1 - 1e-15), labels=[0, 1])),
    }


class CrossFittedPropensity(BaseEstimator):
    """Out-of-fold propensity scores from two candidate models; the one with lower log loss wins.

    Parameters
    ----------
    models : sequence of str
        Candidate models among :data:`PS_MODELS`; reported in this order, and the first wins a
        tie in log loss.
    n_splits : int
        Number of grouped folds.
    seed : int
        Seed of the fold shuffle and of the models.
    C : float
        Inverse L2 penalty of the logistic model.
    hgb_max_iter, hgb_learning_rate, hgb_max_leaf_nodes, hgb_min_samples_leaf
        Gradient boosting settings.

    Attributes
    ----------
    folds_ : list of (train, test) index arrays
    oof_ : dict model -> array of out-of-fold propensities
    scores_ : DataFrame with model, auc, brier, log_loss, selected
    selected_ : str, the chosen model
    propensity_ : array, the chosen model's out-of-fold propensities

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); t = (rng.random(400) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    >>> ps = CrossFittedPropensity(n_splits=3, hgb_max_iter=20).fit(X, t, groups=np.arange(400) // 2)
    >>> ps.propensity_.shape, ps.selected_ in PS_MODELS
    ((400,), True)
    """

    def __init__(
        self,
        models: Sequence[str] = PS_MODELS,
        n_splits: int = 5,
        seed: int = 0,
        C: float = 1.0,
        hgb_max_iter: int = 200,
        hgb_learning_rate: float = 0.05,
        hgb_max_leaf_nodes: int = 15,
        hgb_min_samples_leaf: int = 20,
    ):
        self.models = models
        self.n_splits = n_splits
        self.seed = seed
        self.C = C
        self.hgb_max_iter = hgb_max_iter
        self.hgb_learning_rate = hgb_learning_rate
        self.hgb_max_leaf_nodes = hgb_max_leaf_nodes
        self.hgb_min_samples_leaf = hgb_min_samples_leaf

    def model_kwargs(self) -> dict:
        """Keyword arguments for :func:`make_propensity_model` (to rebuild the chosen model)."""
        return dict(
            C=self.C,
            hgb_max_iter=self.hgb_max_iter,
            hgb_learning_rate=self.hgb_learning_rate,
            hgb_max_leaf_nodes=self.hgb_max_leaf_nodes,
            hgb_min_samples_leaf=self.hgb_min_samples_leaf,
        )

    def fit(self, X, t, groups, folds: Iterable | None = None):
        """Fit every candidate on each fold's training part and score its held-out part."""
        X = as_matrix(X)
        t = as_treatment(t)
        if X.shape[0] != t.shape[0]:
            raise InputError(f"covariates: {X.shape[0]} rows but {t.shape[0]} treatment values")
        models = list(self.models)
        if not models or len(set(models)) != len(models):
            raise ParamError("propensity models: expected a non-empty list of distinct model names")
        for m in models:
            make_propensity_model(m)  # validates the name
        self.folds_ = list(folds) if folds is not None else make_folds(t, groups, self.n_splits, self.seed)
        self.oof_ = {}
        rows = []
        with single_thread():
            for m in models:
                e = np.full(len(t), np.nan)
                for train, test in self.folds_:
                    model = make_propensity_model(m, self.seed, **self.model_kwargs())
                    model.fit(X[train], t[train])
                    e[test] = model.predict_proba(X[test])[:, 1]
                if np.isnan(e).any():
                    raise InputError("folds: some units are in no held-out fold; expected a partition of the rows")
                e = np.clip(e, SCORE_EPS, 1 - SCORE_EPS)
                self.oof_[m] = e
                rows.append({"model": m, **classification_scores(t, e)})
        scores = pd.DataFrame(rows)
        best = int(np.argmin(scores["log_loss"].to_numpy()))  # first minimum: ties go to the earlier model
        scores["selected"] = (np.arange(len(scores)) == best).astype("int64")
        self.scores_ = scores
        self.selected_ = models[best]
        self.propensity_ = self.oof_[self.selected_]
        return self


# --------------------------------------------------------------------------- overlap and trimming


# --------------------------------------------------------------------------- weights and balance


# --------------------------------------------------------------------------- calibration and summary


def calibration_table(t, e, n_bins: int = 10) -> pd.DataFrame:
    """Binned calibration of propensity scores: equal-width bins on [0, 1].

    Columns: bin, bin_low, bin_high, n, mean_predicted, observed_rate. Every bin is listed
    (empty bins have n = 0 and NaN rates) so the table has a fixed shape. A well-calibrated
    model has observed_rate close to mean_predicted in every populated bin.
    """
    t = np.asarray(t, dtype="float64")
    e = np.asarray(e, dtype="float64")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ParamError(f"calibration_bins = {n_bins!r} is invalid; expected an integer >= 2")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        m = idx == b
        rows.append(
            {
                "bin": b + 1,
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n": int(m.sum()),
                "mean_predicted": float(e[m].mean()) if m.any() else float("nan"),
                "observed_rate": float(t[m].mean()) if m.any() else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(t, e, n_bins: int = 10) -> float:
    """Count-weighted mean |observed - predicted| over the bins of :func:`calibration_table`."""
    cal = calibration_table(t, e, n_bins)
    cal = cal[cal["n"] > 0]
    return float(np.average((cal["observed_rate"] - cal["mean_predicted"]).abs(), weights=cal["n"]))


