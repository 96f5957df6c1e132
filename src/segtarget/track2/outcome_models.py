"""Outcome nuisance models: mu_t(x) = E[y | x, t] per arm and m(x) = E[y | x], cross-fitted.

Why this module exists: regression adjustment, AIPW, the CATE learners' R-loss and the
doubly-robust scores of the evaluation stage all need outcome predictions that are out of
fold on the design's household-grouped folds. One module builds them, with one choice of
learners (gradient boosting or ridge on signed-log covariates), so that every stage compares
its estimates on the same nuisances.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from segtarget.core.errors import InputError, ParamError
from segtarget.track2.design import as_matrix, signed_log1p, single_thread


#: Outcome learners; ``auto`` picks the one with lower cross-fitted MSE.
OUTCOME_MODELS = ("hgb", "ridge")


def make_outcome_model(name: str, seed: int = 0):
    """A fresh outcome regressor.

    ``hgb``: HistGradientBoostingRegressor (100 rounds, learning rate 0.1, 15 leaves, at
    least 20 units per leaf, L2 1.0, no early stopping; fitted 2 x (folds + bootstrap
    resamples) times per outcome and population, so kept light): captures nonlinearity and
    interactions and is robust to skewed covariates. ``ridge``: standardise, then ridge
    regression with the penalty chosen by efficient leave-one-out over a fixed grid; fast,
    and hard to beat when the outcome is close to linear in past spending rates.
    """
    if name == "hgb":
        return HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, early_stopping=False, random_state=seed,
        )
    if name == "ridge":
        return make_pipeline(FunctionTransformer(signed_log1p), StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13)))
    raise ParamError(f"outcome_model = {name!r} is invalid; expected one of auto, {', '.join(OUTCOME_MODELS)}")


def cross_fit_outcomes(X, y, t, folds, model: str = "hgb", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions mu0(x), mu1(x) from one model per arm and fold.

    For each fold, the treated (control) units of the training part fit mu1 (mu0), which
    then predicts every unit of the held-out part.
    """
    M, y, t = as_matrix(X), np.asarray(y, float), np.asarray(t)
    mu0, mu1 = np.full(y.size, np.nan), np.full(y.size, np.nan)
    with single_thread():
        for train, test in folds:
            for arm, out in ((0, mu0), (1, mu1)):
                idx = train[t[train] == arm]
                if idx.size < 2:
                    raise InputError("treated: a cross-fitting fold has fewer than 2 units of one arm; too few units for this population")
                out[test] = make_outcome_model(model, seed).fit(M[idx], y[idx]).predict(M[test])
    if np.isnan(mu0).any() or np.isnan(mu1).any():
        raise InputError("folds: some units are in no held-out fold; expected a partition of the rows")
    return mu0, mu1


def select_outcome_model(X, y, t, folds, models: Sequence[str] = OUTCOME_MODELS, seed: int = 0) -> pd.DataFrame:
    """Cross-fitted MSE of each candidate outcome learner, on each unit's own arm.

    Returns columns model, mse, mse_treated, mse_control, selected (1 for the lowest mse;
    ties go to the earlier model). Only prediction error is compared, never effect sizes.
    """
    y, t = np.asarray(y, float), np.asarray(t)
    rows = []
    for m in models:
        mu0, mu1 = cross_fit_outcomes(X, y, t, folds, m, seed)
        r = y - np.where(t == 1, mu1, mu0)
        rows.append({"model": m, "mse": float(np.mean(r**2)), "mse_treated": float(np.mean(r[t == 1] ** 2)),
                     "mse_control": float(np.mean(r[t == 0] ** 2))})
    out = pd.DataFrame(rows)
    out["selected"] = (np.arange(len(out)) == int(np.argmin(out["mse"].to_numpy()))).astype("int64")
    return out


def cross_fit_mean_outcome(X, y, folds, model: str = "hgb", seed: int = 0) -> np.ndarray:
    """Out-of-fold m(x) = E[y | x] (both arms pooled), the outcome nuisance of the R-loss."""
    M, y = as_matrix(X), np.asarray(y, float)
    m = np.full(len(y), np.nan)
    with single_thread():
        for train, test in folds:
            m[test] = make_outcome_model(model, seed).fit(M[train], y[train]).predict(M[test])
    return m
