"""Average treatment effect estimators with household-clustered uncertainty.

Why this module exists: the original project reported six ATEs whose answers ranged from
-65 to +471 dollars, with an AIPW that was not cross-fitted, an ad-hoc overlap-weighting
SE and iid standard errors although households enter the stacked cohort several times.
Here every estimator gets an SE and a 95% CI that respect the household clusters:

=================  ==================================================  ==========================
method             estimator                                           standard error
=================  ==================================================  ==========================
naive              difference in arm means                             influence function, clustered
ols                y ~ 1 + t + X (linear regression adjustment)        cluster-robust sandwich (CR1)
ra                 mean of mu1(x) - mu0(x), cross-fitted per arm       influence function, clustered (or bootstrap)
ipw                Hajek inverse-probability weighting                 influence function, clustered
aipw               cross-fitted augmented IPW (doubly robust)          influence function, clustered
ato                overlap weights (Li, Morgan & Zaslavsky 2018)       influence function, clustered
linear_dml         econml LinearDML, constant effect, grouped folds    clustered from its residuals
=================  ==================================================  ==========================

"Clustered" means the unit-level influence values are summed within each household before
the variance is taken (with the G/(G-1) small-sample factor), so a household's campaigns
count as one independent draw. The unclustered (iid / HC) SE is kept in ``se_iid`` for
comparison. Note that in the stacked design a household's treated and control rows enter
the influence function with opposite signs, so clustering can make the SE smaller as well
as larger.

Two things are deliberately *not* propagated: the IPW, AIPW and ATO SEs treat the
cross-fitted propensity scores as given (for AIPW this is justified by Neyman
orthogonality; for IPW and ATO it is an approximation); the SE of ``ra`` is the efficient
influence function's (RA itself is not orthogonal, so it holds when the outcome models are
good), and its optional bootstrap refits the outcome models without re-cross-fitting.

Populations (:func:`estimate_all`): ``full``; ``crump`` (units with alpha <= e <= 1-alpha,
alpha from Crump et al. 2009 computed on the full cohort's scores); ``trimmed`` (a fixed
band, default [0.1, 0.9]). Each trimmed population is re-estimated from scratch on its
subset: new grouped folds, new outcome models, new LinearDML fit. The propensity scores are
**reused** from the full cohort: trimming is defined by them, the propensity function
restricted to a subset of x is the same function, and refitting on fewer units would only
add noise (LinearDML, which fits its own treatment model, does refit it on the subset).
The outcome learner (gradient boosting ``hgb`` or ``ridge``) is chosen once per outcome, on
the full cohort, by cross-fitted mean squared error (``outcome_model="auto"``), or fixed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import norm

from segtarget.core.errors import InputError, ParamError
from segtarget.core.progress import tracked
from segtarget.track2.design import (
    as_matrix,
    as_propensity,
    as_treatment,
    group_codes,
    single_thread,
)
from segtarget.track2.outcome_models import make_outcome_model
from segtarget.track2.positivity import _clip, n_clipped
from segtarget.track2.propensity import make_propensity_model


#: Estimators in the fixed order of the output table.
METHODS = ("naive", "ols", "ra", "ipw", "aipw", "ato", "linear_dml")
#: Populations in the fixed order of the output table.
POPULATIONS = ("full", "crump", "trimmed")
#: What each method estimates (``ato`` targets the overlap-weighted population).
ESTIMANDS = {m: "ATE" for m in METHODS} | {"naive": "difference_in_means", "ato": "ATO"}

#: Columns of :func:`estimate_all`: the results contract first, then the details.
ATE_COLUMNS = [
    "outcome", "method", "population", "estimate", "se", "ci_low", "ci_high", "n",
    "estimand", "n_treated", "n_control", "n_clusters", "se_iid", "se_method", "ps_low", "ps_high",
    "outcome_model", "note",
]


@dataclass
class Estimate:
    """One effect estimate with its uncertainty and the sample it was computed on."""

    estimate: float
    se: float
    se_iid: float
    se_method: str
    n: int
    n_treated: int
    n_control: int
    n_clusters: int
    estimand: str = "ATE"
    note: str = ""

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation interval estimate +- z * se."""
        z = norm.ppf(0.5 + level / 2.0)
        return self.estimate - z * self.se, self.estimate + z * self.se


# --------------------------------------------------------------------------- variance helpers


def cluster_se(psi, codes) -> float:
    """SE of a mean-zero influence function, clustered: sqrt(G/(G-1) * sum_g (sum_i psi_i)^2) / n.

    With one unit per cluster it reduces to the usual sqrt(sum psi^2 / (n (n-1))).
    """
    psi = np.asarray(psi, dtype="float64")
    codes = np.asarray(codes)
    n = psi.size
    sums = np.bincount(codes, weights=psi)
    sums = sums[np.bincount(codes) > 0]
    G = sums.size
    if G < 2:
        return float("nan")
    return float(np.sqrt(G / (G - 1) * np.sum(sums**2)) / n)


def iid_se(psi) -> float:
    """SE of a mean-zero influence function treating units as independent."""
    psi = np.asarray(psi, dtype="float64")
    return cluster_se(psi, np.arange(psi.size))


def _counts(t, codes) -> dict:
    return dict(n=int(t.size), n_treated=int(t.sum()), n_control=int((1 - t).sum()), n_clusters=int(np.unique(codes).size))


def _from_psi(tau: float, psi: np.ndarray, t, codes, **kw) -> Estimate:
    return Estimate(
        estimate=float(tau), se=cluster_se(psi, codes), se_iid=iid_se(psi), se_method="influence_cluster",
        **_counts(t, codes), **kw,
    )


# --------------------------------------------------------------------------- simple estimators


def naive(y, t, groups) -> Estimate:
    """Difference in arm means. Its influence function t(y-m1)/p - (1-t)(y-m0)/(1-p) gives
    the classical sqrt(v1/n1 + v0/n0) (population variances) times sqrt(n/(n-1)) when
    unclustered."""
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    p = t.mean()
    m1, m0 = y[t == 1].mean(), y[t == 0].mean()
    psi = np.where(t == 1, (y - m1) / p, -(y - m0) / (1 - p))
    return _from_psi(m1 - m0, psi, t, codes, estimand="difference_in_means")


def ols(y, t, X, groups) -> Estimate:
    """Coefficient of t in y ~ 1 + t + X, with cluster-robust (CR1) and HC1 SEs.

    A linear regression adjustment assumes the effect is constant and the outcome linear in
    X; it is here because the original project reported it, as a simple benchmark.
    """
    import statsmodels.api as sm

    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    M = as_matrix(X)
    D = np.column_stack([np.ones_like(y), t, M])
    keep = independent_columns(D)
    if keep[:2] != [0, 1]:
        raise InputError("treated: the treatment is a linear function of the covariates in this population; OLS cannot separate it")
    dropped = D.shape[1] - len(keep)
    D = D[:, keep]
    fit = sm.OLS(y, D).fit(cov_type="cluster", cov_kwds={"groups": codes})
    fit_hc = sm.OLS(y, D).fit(cov_type="HC1")
    note = f"{dropped} constant or collinear covariates dropped" if dropped else ""
    return Estimate(
        estimate=float(fit.params[1]), se=float(fit.bse[1]), se_iid=float(fit_hc.bse[1]),
        se_method="sandwich_cluster", **_counts(t, codes), note=note,
    )


def independent_columns(D, tol: float = 1e-6) -> list[int]:
    """Indices of a maximal set of linearly independent columns, chosen greedily left to right.

    A covariate that is constant in a trimmed population (e.g. a campaign indicator) or an
    exact combination of others makes the OLS sandwich meaningless (statsmodels would use a
    pseudo-inverse and report garbage or NaN standard errors); dropping it does not change
    the fitted values or the treatment coefficient. A column counts as dependent when less
    than ``tol`` of its root-mean-square survives projection on the columns kept before it.

    Examples
    --------
    >>> independent_columns(np.array([[1., 2., 0., 2.], [1., 3., 0., 3.], [1., 5., 0., 5.]]))
    [0, 1]
    """
    D = np.asarray(D, dtype="float64")
    scale = np.sqrt((D**2).mean(axis=0))
    Z = D / np.where(scale > 0, scale, 1.0)
    keep: list[int] = []
    Q = np.zeros((D.shape[0], 0))
    for j in range(D.shape[1]):
        v = Z[:, j] - Q @ (Q.T @ Z[:, j])
        v = v - Q @ (Q.T @ v)  # second Gram-Schmidt pass for numerical stability
        norm_v = np.linalg.norm(v)
        if scale[j] > 0 and norm_v > tol * np.sqrt(D.shape[0]):
            keep.append(j)
            Q = np.column_stack([Q, v / norm_v])
    return keep


def ipw_hajek(y, t, e, groups, clip: float | None = None) -> Estimate:
    """Hajek IPW: weighted arm means with weights t/e and (1-t)/(1-e), each normalised.

    Influence function of the ratio estimator: w1 (y - mu1) / mean(w1) - w0 (y - mu0) / mean(w0),
    with e taken as given. ``clip`` bounds e to [clip, 1-clip] (off by default; the note
    records how many units it touched).
    """
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    e0 = as_propensity(e, t.size)
    e = _clip(e0, clip)
    w1, w0 = t / e, (1 - t) / (1 - e)
    mu1, mu0 = np.sum(w1 * y) / w1.sum(), np.sum(w0 * y) / w0.sum()
    psi = w1 * (y - mu1) / w1.mean() - w0 * (y - mu0) / w0.mean()
    return _from_psi(mu1 - mu0, psi, t, codes, note=_clip_note(e0, clip))


def overlap_weighted(y, t, e, groups) -> Estimate:
    """Overlap-weighted effect (ATO, Li, Morgan & Zaslavsky 2018): Hajek means with weights
    1-e (treated) and e (controls). Estimand: the effect in the population weighted by
    e(1-e), i.e. where treated and controls overlap most. SE from the influence function of
    the two weighted means with e taken as given, clustered."""
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    e = as_propensity(e, t.size)
    h1, h0 = t * (1 - e), (1 - t) * e
    mu1, mu0 = np.sum(h1 * y) / h1.sum(), np.sum(h0 * y) / h0.sum()
    psi = h1 * (y - mu1) / h1.mean() - h0 * (y - mu0) / h0.mean()
    return _from_psi(mu1 - mu0, psi, t, codes, estimand="ATO")


def aipw(y, t, e, mu0, mu1, groups, clip: float | None = None) -> Estimate:
    """Augmented IPW with cross-fitted nuisances (all of e, mu0, mu1 out-of-fold).

    psi_i = mu1 - mu0 + t (y - mu1) / e - (1-t) (y - mu0) / (1-e); the estimate is its mean and
    the SE comes from psi summed within households. Consistent if either the propensity or
    the outcome models are right; with cross-fitting, flexible learners keep valid inference.
    """
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    e0 = as_propensity(e, t.size)
    e = _clip(e0, clip)
    mu0, mu1 = np.asarray(mu0, float), np.asarray(mu1, float)
    phi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    tau = phi.mean()
    return _from_psi(tau, phi - tau, t, codes, note=_clip_note(e0, clip))


def _clip_note(e, clip) -> str:
    k = n_clipped(e, clip)
    return f"propensity clipped to [{clip:g}, {1 - clip:g}] for {k} units" if clip else ""


# --------------------------------------------------------------------------- outcome models


def _cluster_index(codes: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


def _ra_replicate(M, y, t, idx, model: str, seed: int) -> float | None:
    """One bootstrap replicate of RA: refit both arm models on the resample ``idx``."""
    tb = t[idx]
    if tb.sum() < 2 or (1 - tb).sum() < 2:
        return None
    Mb, yb = M[idx], y[idx]
    with single_thread():
        f1 = make_outcome_model(model, seed).fit(Mb[tb == 1], yb[tb == 1])
        f0 = make_outcome_model(model, seed).fit(Mb[tb == 0], yb[tb == 0])
        return float(np.mean(f1.predict(Mb) - f0.predict(Mb)))


def regression_adjustment(
    y, t, X, groups, mu0, mu1, *, e=None, se_method: str = "influence", model: str = "hgb", n_bootstrap: int = 200,
    seed: int = 0, n_jobs: int = 1
) -> Estimate:
    """Regression adjustment: mean over units of mu1(x) - mu0(x) (cross-fitted, per arm).

    With a flexible learner there is no closed-form SE. Two ways to get one (``se_method``):

    * ``influence`` (default): the efficient influence function of the ATE evaluated at the
      cross-fitted nuisances, psi_i = mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e),
      centred and summed within households. RA and AIPW estimate the same functional; when the
      outcome models are good, RA's sampling variance is close to this bound, and it costs no
      refit (tests/track2/test_effects.py checks its coverage against the bootstrap's on data
      with a known effect). Needs the propensity ``e``.
    * ``bootstrap``: households resampled with replacement ``n_bootstrap`` times; on each resample
      the two arm models are refitted and the average predicted difference recomputed; the SE is
      the bootstrap SD. The resamples are drawn up front from one seeded generator and each
      replicate fits on one thread, so ``n_jobs`` worker processes give the same bytes as one.
      At 10x the default data this is 1,200 gradient-boosting refits and most of the stage's time.

    Either way the CI is the normal one around the cross-fitted point estimate.
    """
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    M = as_matrix(X)
    tau = float(np.mean(np.asarray(mu1) - np.asarray(mu0)))
    if se_method == "influence":
        if e is None:
            raise ParamError("regression_adjustment: se_method = 'influence' needs the propensity scores e")
        e = as_propensity(e, t.size)
        mu0, mu1 = np.asarray(mu0, float), np.asarray(mu1, float)
        phi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
        return _from_psi(tau, phi - phi.mean(), t, codes,
                         note="SE from the efficient influence function at the cross-fitted nuisances")
    if se_method != "bootstrap":
        raise ParamError(f"ate.ra_se = {se_method!r} is invalid; expected influence or bootstrap")
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 2:
        raise ParamError(f"n_bootstrap = {n_bootstrap!r} is invalid; expected an integer >= 2")
    clusters = _cluster_index(codes)
    G = len(clusters)
    rng = np.random.default_rng(seed)
    draws = [np.concatenate([clusters[k] for k in rng.integers(0, G, G)]) for _ in range(int(n_bootstrap))]
    if n_jobs == 1:
        reps = (_ra_replicate(M, y, t, idx, model, seed) for idx in draws)
    else:
        reps = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_ra_replicate)(M, y, t, idx, model, seed)
                                                              for idx in draws)
    reps = [r for r in tracked(reps, len(draws), "regression adjustment: household bootstrap refits") if r is not None]
    skipped = int(n_bootstrap) - len(reps)
    se = float(np.std(reps, ddof=1)) if len(reps) > 1 else float("nan")
    note = f"{len(reps)} bootstrap resamples" + (f" ({skipped} without both arms skipped)" if skipped else "")
    return Estimate(estimate=tau, se=se, se_iid=float("nan"), se_method="cluster_bootstrap", **_counts(t, codes), note=note)


def fit_linear_dml(
    y, t, X, groups, folds, *, outcome_model: str = "hgb", propensity_model: str = "logit",
    propensity_kwargs: dict | None = None, seed: int = 0,
):
    """The fitted econml LinearDML behind :func:`linear_dml` (residuals cached), e.g. for
    econml's omitted-variable-bias sensitivity analysis (:mod:`segtarget.track2.sensitivity`)."""
    from segtarget.track2.econml_import import econml

    est = econml("dml").LinearDML(
        model_y=make_outcome_model(outcome_model, seed),
        model_t=make_propensity_model(propensity_model, seed, **(propensity_kwargs or {})),
        discrete_treatment=True,
        cv=[(tr, te) for tr, te in folds],
        random_state=seed,
    )
    with single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(np.asarray(y, float), as_treatment(t), X=None, W=as_matrix(X), groups=group_codes(groups),
                cache_values=True)
    return est


def linear_dml(
    y, t, X, groups, folds, *, outcome_model: str = "hgb", propensity_model: str = "logit",
    propensity_kwargs: dict | None = None, seed: int = 0,
) -> Estimate:
    """econml LinearDML with a constant effect (X=None, all covariates as controls W).

    Nuisances are cross-fitted on the given grouped folds (``groups`` is also passed to
    ``fit``). econml's own inference is heteroskedasticity-robust (HC0) but **not**
    cluster-robust, even with ``groups``: groups only shape the folds. So the SE reported is
    computed from the final stage's residuals: theta = sum(t~ y~) / sum(t~^2), influence
    t~ (y~ - theta t~) / mean(t~^2), summed within households; econml's HC0 SE is in se_iid.
    """
    y, t, codes = np.asarray(y, float), as_treatment(t), group_codes(groups)
    est = fit_linear_dml(y, t, X, codes, folds, outcome_model=outcome_model, propensity_model=propensity_model,
                         propensity_kwargs=propensity_kwargs, seed=seed)
    with single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theta = float(np.ravel(est.intercept_)[0])
        se_hc0 = float(np.ravel(est.intercept__inference().stderr)[0])
    y_res, t_res, _, _ = est.residuals_
    y_res, t_res = np.ravel(y_res), np.ravel(t_res)
    theta_r = np.sum(t_res * y_res) / np.sum(t_res**2)
    psi = t_res * (y_res - theta_r * t_res) / np.mean(t_res**2)
    return Estimate(
        estimate=theta, se=cluster_se(psi, codes), se_iid=se_hc0, se_method="dml_residual_cluster",
        **_counts(t, codes),
    )


# --------------------------------------------------------------------------- all estimators


def _nan_estimate(t, codes, note: str, estimand: str = "ATE") -> Estimate:
    nan = float("nan")
    return Estimate(nan, nan, nan, "", **_counts(t, codes), estimand=estimand, note=note)


