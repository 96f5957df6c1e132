"""Positivity and balance: cross-fitted propensity scores and the diagnostics built on them.

Why this module exists: every weighting or doubly-robust estimate of a campaign's effect
divides by the propensity score e(x) = P(treated | x), so the estimate is only as good as
e(x) and only as stable as its extremes allow. The original project fitted one unscaled
logistic regression, clipped silently to [0.01, 0.99], and used a different model for the
test set. Here:

* the score of every unit is **out-of-fold**: the model that scores a unit never saw it,
  and folds are **grouped by household** (a household appearing in several campaigns sits
  in one fold), stratified by arm, with a fixed shuffle seed (:func:`make_folds`);
* two candidate models, gradient boosting (``hgb``) and L2-regularised logistic
  regression on standardised features (``logit``), are both reported and the one with the
  lower out-of-fold log loss is used (:class:`CrossFittedPropensity`);
* the diagnostics are the usual ones: AUC, Brier score, log loss, a binned calibration
  table, overlap shares, the Crump, Hotz, Imbens & Mitnik (2009) optimal trimming
  threshold (:func:`crump_alpha`), effective sample sizes and standardised mean
  differences before and after weighting (:func:`balance_table`);
* clipping of inverse-probability weights is an explicit parameter (``clip``), off by
  default, and the number of clipped units is reported, never silent.

All fits run single-threaded with fixed seeds, so results are reproducible to the byte.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from segtarget.core.errors import InputError, ParamError

#: Candidate propensity models, in the order they are reported (and win ties).
PS_MODELS = ("hgb", "logit")

#: Overlap bands reported by default: [0.05, 0.95] and [0.1, 0.9] (inclusive).
DEFAULT_BANDS = ((0.05, 0.95), (0.1, 0.9))

#: |SMD| below this counts as balanced (Austin 2009; the original used the same bar).
SMD_THRESHOLD = 0.1

CRUMP_RULES = ("exact", "rule_of_thumb")


@contextlib.contextmanager
def single_thread():
    """Run BLAS and OpenMP code on one thread: the machine is shared and results must not
    depend on the number of cores (parallel float sums are summed in a different order)."""
    with threadpool_limits(limits=1):
        yield


# --------------------------------------------------------------------------- inputs


def as_matrix(X, name: str = "covariates") -> np.ndarray:
    """Covariates as a float64 matrix; a missing or infinite value is an :class:`InputError`
    naming the column, because the logistic model cannot take it and silently imputing would
    hide a cohort bug."""
    if isinstance(X, pd.DataFrame):
        cols = list(X.columns)
        try:
            M = X.to_numpy(dtype="float64")
        except (TypeError, ValueError) as exc:
            bad = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
            raise InputError(f"{name}: column {bad[0] if bad else '?'} is not numeric; expected numbers") from exc
    else:
        M = np.asarray(X, dtype="float64")
        cols = [f"x{j}" for j in range(M.shape[1] if M.ndim == 2 else 1)]
    if M.ndim == 1:
        M = M.reshape(-1, 1)
    if M.ndim != 2 or M.shape[0] == 0:
        raise InputError(f"{name}: expected a non-empty 2-D table of covariates")
    bad = ~np.isfinite(M)
    if bad.any():
        j = int(np.argmax(bad.any(axis=0)))
        raise InputError(f"{name}: column {cols[j]} has {int(bad[:, j].sum())} missing or infinite values; expected finite numbers")
    return M


def as_treatment(t, name: str = "treated") -> np.ndarray:
    """Treatment as an int 0/1 vector with both arms present."""
    a = np.asarray(t)
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"{name}: expected a non-empty 1-D 0/1 treatment indicator")
    if a.dtype == bool:
        a = a.astype("int64")
    try:
        f = a.astype("float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected 0/1 values") from exc
    if not np.isin(f, (0.0, 1.0)).all():
        raise InputError(f"{name}: expected only 0/1 values, found {sorted(set(np.unique(f)) - {0.0, 1.0})[:3]}")
    out = f.astype("int64")
    if out.min() == out.max():
        raise InputError(f"{name}: only one arm present (all {out[0]}); need treated and control units")
    return out


def as_propensity(e, n: int | None = None, name: str = "propensity") -> np.ndarray:
    """Propensity scores as float64, strictly inside (0, 1)."""
    a = np.asarray(e, dtype="float64").ravel()
    if n is not None and a.size != n:
        raise InputError(f"{name}: expected {n} values, got {a.size}")
    if not np.isfinite(a).all() or (a <= 0).any() or (a >= 1).any():
        raise InputError(f"{name}: expected values strictly between 0 and 1")
    return a


def group_codes(groups, n: int | None = None, name: str = "household_id") -> np.ndarray:
    """Cluster labels as integer codes 0..G-1 (sorted by label, so stable across runs)."""
    g = np.asarray(groups)
    if n is not None and g.shape[0] != n:
        raise InputError(f"{name}: expected {n} cluster labels, got {g.shape[0]}")
    if pd.isna(pd.Series(g)).any():
        raise InputError(f"{name}: missing cluster labels; expected one household per unit")
    codes, _ = pd.factorize(pd.Series(g), sort=True)
    return codes.astype("int64")


# --------------------------------------------------------------------------- folds and models


def make_folds(t, groups, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, arm-stratified K folds with a fixed shuffle seed.

    All units of a household fall in the same fold, so no model is fitted on one of a
    household's campaigns and then used to score another of its campaigns. The same
    ``(t, groups, n_splits, seed)`` always gives the same folds, which lets the ATE stage
    rebuild exactly the folds the propensity stage used.

    Examples
    --------
    >>> t = [0, 1] * 10; g = [i // 2 for i in range(20)]
    >>> folds = make_folds(t, g, n_splits=5, seed=0)
    >>> len(folds), sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(20))
    (5, True)
    """
    t = as_treatment(t)
    codes = group_codes(groups, len(t))
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ParamError(f"n_splits = {n_splits!r} is invalid; expected an integer >= 2")
    n_groups = int(codes.max()) + 1
    if n_groups < n_splits:
        raise InputError(f"household_id: {n_groups} households but {n_splits} folds; expected at least one household per fold")
    splitter = StratifiedGroupKFold(n_splits=int(n_splits), shuffle=True, random_state=int(seed))
    folds = []
    for train, test in splitter.split(np.zeros((len(t), 1)), t, codes):
        train, test = np.sort(train), np.sort(test)
        if len(np.unique(t[train])) < 2:
            raise InputError("treated: a cross-fitting fold has only one arm in its training part; too few treated or control households")
        folds.append((train, test))
    return folds


def fold_ids(folds, n: int) -> np.ndarray:
    """Held-out fold number (0-based) of each of ``n`` units, e.g. to store beside the scores."""
    out = np.full(n, -1, dtype="int64")
    for k, (_, test) in enumerate(folds):
        out[test] = k
    return out


#: Out-of-fold scores are kept inside [SCORE_EPS, 1 - SCORE_EPS]: a linear score on a
#: heavy-tailed covariate can round to exactly 0 or 1, which no weight or SMD survives.
SCORE_EPS = 1e-6


def signed_log1p(X):
    """sign(x) log(1 + |x|): tames heavy-tailed spending rates before a linear model.

    Monotone and close to the identity near 0 (shares, flags), so only the long right tails of
    amounts and counts are compressed; without it one household with 20 times the median spend
    can push a logistic score to exactly 1.
    """
    X = np.asarray(X, dtype="float64")
    return np.sign(X) * np.log1p(np.abs(X))


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


def overlap_share(e, low: float = 0.1, high: float = 0.9) -> float:
    """Share of units whose propensity lies in the closed band [low, high].

    Examples
    --------
    >>> overlap_share([0.05, 0.1, 0.5, 0.9, 0.95], 0.1, 0.9)
    0.6
    """
    e = np.asarray(e, dtype="float64")
    return float(np.mean((e >= low) & (e <= high)))


def trim_mask(e, low: float, high: float) -> np.ndarray:
    """Boolean mask of units kept by trimming to the closed band [low, high]."""
    e = np.asarray(e, dtype="float64")
    return (e >= low) & (e <= high)


def _crump_gamma(e) -> float:
    """The Crump et al. bound gamma on g = 1/(e(1-e)); ``inf`` means keep everyone."""
    e = as_propensity(e)
    g = 1.0 / (e * (1.0 - e))
    if g.max() <= 2.0 * g.mean():
        return float("inf")
    # Sample analogue of F(gamma) = gamma - 2 E[g | g <= gamma]. Between consecutive distinct
    # values of g the kept set is fixed (the k smallest, ties kept together), so on that
    # interval the only candidate root is gamma = 2 * mean(k smallest), valid if it lies in
    # [g_(k), next distinct g). F starts negative and ends positive (the sup condition
    # failed), and it only jumps downwards, so at least one root exists. When several do,
    # take the one minimising the asymptotic-variance criterion sum_kept(g) / n_kept^2, of
    # which the condition is the first-order condition (Crump et al. 2009, Theorem 1).
    gs = np.sort(g)
    csum = np.cumsum(gs)
    last = np.r_[gs[1:] != gs[:-1], True]  # last index of each run of tied values
    ks = np.flatnonzero(last) + 1  # sizes of the candidate kept sets
    nxt = np.r_[gs[ks[:-1]], np.inf]  # next distinct value after each kept set
    cand = 2.0 * csum[ks - 1] / ks
    ok = (cand >= gs[ks - 1]) & (cand < nxt)
    if not ok.any():  # cannot happen by the argument above; guards float edge cases
        raise InputError("propensity: no solution of the Crump et al. trimming condition found")
    crit = csum[ks - 1] / ks.astype("float64") ** 2
    i = np.flatnonzero(ok)[np.argmin(crit[ok])]
    return float(cand[i])


def crump_alpha(e, rule: str = "exact") -> float:
    """Crump, Hotz, Imbens & Mitnik (2009) optimal trimming threshold alpha.

    Keep units with alpha <= e <= 1 - alpha. With g = 1/(e(1-e)): if max g <= 2 E[g]
    (sample mean), alpha = 0 (no trimming); otherwise alpha solves
    ``1/(alpha(1-alpha)) = 2 E[g | g <= 1/(alpha(1-alpha))]`` with the sample mean over the
    kept units. Because g >= 4, no trimming is guaranteed whenever every e(1-e) >= 1/8, i.e.
    every score lies in [0.1464, 0.8536]; and when trimming happens alpha <= 0.1464.
    ``rule="rule_of_thumb"`` returns the paper's approximation alpha = 0.1 instead.

    Examples
    --------
    >>> crump_alpha([0.2, 0.5, 0.8])
    0.0
    >>> round(crump_alpha([0.5] * 90 + [0.01] * 10), 6)  # 1/(a(1-a)) = 2 * 4 = 8
    0.146447
    """
    if rule == "rule_of_thumb":
        as_propensity(e)
        return 0.1
    if rule != "exact":
        raise ParamError(f"crump_rule = {rule!r} is invalid; expected one of {', '.join(CRUMP_RULES)}")
    gamma = _crump_gamma(e)
    if np.isinf(gamma):
        return 0.0
    return float(0.5 - np.sqrt(0.25 - 1.0 / gamma))


# --------------------------------------------------------------------------- weights and balance


def ipw_weights(t, e, clip: float | None = None, normalize: bool = True) -> np.ndarray:
    """ATE inverse-probability weights t/e + (1-t)/(1-e), optionally normalised per arm.

    ``clip`` (e.g. 0.01) bounds e to [clip, 1-clip] before inverting; it is off by default
    and every caller that uses it reports how many units it touched (:func:`n_clipped`).
    Normalised (Hajek) weights sum to 1 within each arm.
    """
    t = np.asarray(t)
    e = _clip(np.asarray(e, dtype="float64"), clip)
    w = np.where(t == 1, 1.0 / e, 1.0 / (1.0 - e))
    return _normalize(w, t) if normalize else w


def overlap_weights(t, e, normalize: bool = True) -> np.ndarray:
    """Overlap (ATO) weights of Li, Morgan & Zaslavsky (2018): 1-e for treated, e for controls.

    They are bounded, so no clipping is ever needed; they target the population with most
    overlap (weight e(1-e)).
    """
    t = np.asarray(t)
    e = np.asarray(e, dtype="float64")
    w = np.where(t == 1, 1.0 - e, e)
    return _normalize(w, t) if normalize else w


def _clip(e: np.ndarray, clip: float | None) -> np.ndarray:
    if clip is None or clip == 0:
        return e
    if not 0 < clip < 0.5:
        raise ParamError(f"ipw_clip = {clip!r} is invalid; expected 0 (off) or a number in (0, 0.5)")
    return np.clip(e, clip, 1.0 - clip)


def n_clipped(e, clip: float | None) -> int:
    """Number of units whose propensity ``clip`` changes."""
    if clip is None or clip == 0:
        return 0
    e = np.asarray(e, dtype="float64")
    return int(((e < clip) | (e > 1.0 - clip)).sum())


def _normalize(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.empty_like(w)
    for arm in (0, 1):
        m = t == arm
        out[m] = w[m] / w[m].sum()
    return out


def effective_sample_size(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: how many equally weighted units the
    weights are worth."""
    w = np.asarray(w, dtype="float64")
    return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0


def smd(x, t, w=None) -> float:
    """Standardised mean difference of one covariate, treated minus control.

    The numerator uses the (optionally weighted) arm means; the denominator is always the
    *unweighted* pooled SD sqrt((s1^2 + s0^2)/2) (sample variances), so that weighting can
    only change the SMD through the means and the before/after numbers are comparable (the
    convention of cobalt and of Austin & Stuart 2015). A covariate constant in both arms has
    SMD 0 when the means agree and +-inf otherwise.

    Examples
    --------
    >>> round(smd([1., 2., 3., 4.], [1, 1, 0, 0]), 4)
    -2.8284
    """
    x = np.asarray(x, dtype="float64")
    t = np.asarray(t)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype="float64")
    m1, m0 = t == 1, t == 0
    diff = np.average(x[m1], weights=w[m1]) - np.average(x[m0], weights=w[m0])
    v1 = x[m1].var(ddof=1) if m1.sum() > 1 else 0.0
    v0 = x[m0].var(ddof=1) if m0.sum() > 1 else 0.0
    sd = np.sqrt((v1 + v0) / 2.0)
    if sd == 0:
        return 0.0 if np.isclose(diff, 0.0) else float(np.sign(diff) * np.inf)
    return float(diff / sd)


def balance_table(X, t, e, covariates: Sequence[str] | None = None, clip: float | None = None) -> pd.DataFrame:
    """Covariate balance before and after weighting, one row per covariate (input order).

    Columns: covariate, smd_unweighted, smd_weighted (ATE inverse-probability weights,
    normalised per arm, optionally clipped), smd_overlap (overlap weights e(1-e)),
    mean_treated, mean_control (unweighted), variance_ratio (treated/control, unweighted).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1., 2., 3., 4.]}); t = [1, 0, 1, 0]
    >>> balance_table(X, t, [0.5] * 4)[["covariate", "smd_unweighted", "smd_weighted"]].round(3).values.tolist()
    [['a', -0.707, -0.707]]
    """
    if covariates is None:
        covariates = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{j}" for j in range(np.shape(X)[1])]
    M = as_matrix(X)
    t = as_treatment(t)
    e = as_propensity(e, len(t))
    if M.shape[1] != len(covariates):
        raise InputError(f"covariates: {M.shape[1]} columns but {len(covariates)} names")
    w_ipw = ipw_weights(t, e, clip=clip)
    w_ato = overlap_weights(t, e)
    rows = []
    for j, name in enumerate(covariates):
        x = M[:, j]
        v0 = x[t == 0].var(ddof=1)
        rows.append(
            {
                "covariate": name,
                "smd_unweighted": smd(x, t),
                "smd_weighted": smd(x, t, w_ipw),
                "smd_overlap": smd(x, t, w_ato),
                "mean_treated": float(x[t == 1].mean()),
                "mean_control": float(x[t == 0].mean()),
                "variance_ratio": float(x[t == 1].var(ddof=1) / v0) if v0 > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


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


def _band_label(low: float, high: float) -> str:
    return f"{low:g}_{high:g}"


def positivity_table(
    t,
    e,
    *,
    groups=None,
    scores: pd.DataFrame | None = None,
    balance: pd.DataFrame | None = None,
    bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    crump_rule: str = "exact",
    clip: float | None = None,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Positivity diagnostics as a long (metric, value) table with a fixed row order.

    Parameters
    ----------
    t, e : treatment and (out-of-fold) propensity of each unit.
    groups : optional household of each unit (adds n_clusters).
    scores : optional :attr:`CrossFittedPropensity.scores_` (adds auc_<model>, brier_<model>,
        log_loss_<model>, selected_<model> for every candidate).
    balance : optional :func:`balance_table` (adds counts of |SMD| >= 0.1 and max |SMD|).
    bands : overlap bands [low, high], inclusive (metric names carry the bounds, e.g.
        ``overlap_share_0.1_0.9``).
    crump_rule : ``exact`` or ``rule_of_thumb`` (see :func:`crump_alpha`).
    clip : the IPW clipping level in force (0/None = none), reported with the units it touches.
    """
    t = as_treatment(t)
    e = as_propensity(e, len(t))
    rows: list[tuple[str, float]] = []
    add = lambda k, v: rows.append((k, float(v)))  # noqa: E731
    add("n_units", len(t))
    add("n_treated", int(t.sum()))
    add("n_control", int((1 - t).sum()))
    if groups is not None:
        add("n_clusters", int(group_codes(groups, len(t)).max()) + 1)
    add("treated_share", t.mean())
    if scores is not None:
        for r in scores.itertuples(index=False):
            add(f"auc_{r.model}", r.auc)
            add(f"brier_{r.model}", r.brier)
            add(f"log_loss_{r.model}", r.log_loss)
            add(f"selected_{r.model}", r.selected)
    for k, v in classification_scores(t, e).items():
        add(k, v)
    add("calibration_ece", expected_calibration_error(t, e, n_bins))
    add("ps_mean", e.mean())
    for arm, label in ((1, "treated"), (0, "control")):
        add(f"ps_min_{label}", e[t == arm].min())
        add(f"ps_max_{label}", e[t == arm].max())
    for low, high in bands:
        lab = _band_label(low, high)
        m = trim_mask(e, low, high)
        add(f"overlap_share_{lab}", m.mean())
        add(f"overlap_n_{lab}", m.sum())
        add(f"overlap_n_treated_{lab}", (m & (t == 1)).sum())
        add(f"overlap_n_control_{lab}", (m & (t == 0)).sum())
        add(f"n_ps_below_{low:g}", (e < low).sum())
        add(f"n_ps_above_{high:g}", (e > high).sum())
    alpha = crump_alpha(e, crump_rule)
    keep = trim_mask(e, alpha, 1 - alpha)
    add("crump_alpha", alpha)
    add("crump_n_kept", keep.sum())
    add("crump_share_kept", keep.mean())
    add("crump_n_treated_kept", (keep & (t == 1)).sum())
    add("crump_n_control_kept", (keep & (t == 0)).sum())
    w_ipw = ipw_weights(t, e, clip=clip, normalize=False)
    w_ato = overlap_weights(t, e, normalize=False)
    for arm, label in ((1, "treated"), (0, "control")):
        add(f"ess_ipw_{label}", effective_sample_size(w_ipw[t == arm]))
        add(f"ess_overlap_{label}", effective_sample_size(w_ato[t == arm]))
        add(f"ipw_max_weight_share_{label}", w_ipw[t == arm].max() / w_ipw[t == arm].sum())
    add("ipw_clip", 0.0 if clip is None else clip)
    add("ipw_n_clipped", n_clipped(e, clip))
    if balance is not None:
        for col, label in (("smd_unweighted", "unweighted"), ("smd_weighted", "ipw"), ("smd_overlap", "overlap")):
            if col in balance:
                a = balance[col].abs()
                add(f"n_imbalanced_{label}", (a >= SMD_THRESHOLD).sum())
                add(f"max_abs_smd_{label}", a.max())
    return pd.DataFrame(rows, columns=["metric", "value"])
