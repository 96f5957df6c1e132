"""Semi-synthetic validation (Track 2, SPEC 5.7): the real design, simulated outcomes, a known effect.

Why this module exists: on the real cohort nobody knows the true effect, so nothing says which
estimator to trust. Here the real cohort's covariates, treatment, households, folds and
propensity scores are kept, and only the outcome is replaced by one whose effect is known:

* **Untreated outcome** ``Y0 = mu0(x) + noise``. ``mu0`` is the project's outcome learner
  (:func:`segtarget.track2.outcome_models.make_outcome_model`, ``semisynthetic.baseline_model``)
  fitted on the real control units and predicted for every unit. The noise has the real
  residual spread: the control units' *out-of-fold* residuals ``y - mu0_oof(x)`` (from
  :func:`segtarget.track2.outcome_models.cross_fit_outcomes` on the positivity stage's folds, so
  that an overfitted mu0 does not shrink them), either resampled with replacement
  (``noise: resample``, the default: keeps their skew and heavy tail) or drawn from a normal
  with their standard deviation (``noise: normal``). Noise is independent across units: the
  within-household correlation of the real outcomes is not reproduced, so household-clustered
  standard errors are, if anything, conservative here.
* **Effect** ``tau(x)`` of a known shape (:data:`SHAPES`), in outcome units, with mean
  ``effects.<outcome>.mean`` and standard deviation ``effects.<outcome>.sd`` over the cohort's
  units (:func:`true_effect`):

  - ``constant``: ``tau = mean`` for every unit;
  - ``linear``: linear in two named covariates (``linear_covariates``, weights
    ``linear_weights``), each taken as ``signed_log1p`` and standardised over the cohort (the
    raw spending rates are heavy-tailed; a linear effect in them would be carried by a
    handful of households), then rescaled to the stated mean and SD;
  - ``nonlinear``: a segment-wise, non-monotone function of two covariates
    (``nonlinear_covariates`` = (a, b)): ``g = 1[b > median(b)] * exp(-z_a^2 / 2)`` with
    ``z_a`` the standardised signed-log of a, i.e. the effect is concentrated on units above
    the median of b and in the middle of a's range (a step in one covariate times a bump in
    the other), then rescaled to the stated mean and SD.
* ``Y1 = Y0 + tau`` and the observed ``Y = T * Y1 + (1 - T) * Y0`` with the real T.

Each (shape, replication) draws its noise from its own seed (:func:`replication_seed`:
``semisynthetic.seed``, the shape's name, the replication number and the outcome), so a
replication is reproducible on its own and independent of the others; tau and mu0 are the
same in every replication.

Then :func:`run_replication` runs the *real* stages' library functions on the simulated
cohort: :func:`segtarget.track2.ate.run_ate` (every estimator, every population),
:func:`segtarget.track2.cate.run_cate` (every learner, out of fold) and
:func:`segtarget.track2.cate_eval.run_cate_eval` (DR scores, RATE / BLP / R-loss and the
selection rule), with the real params sections; the only settings changed are
``ate.outcomes`` (``semisynthetic.outcomes``) and the RA bootstrap size
(``semisynthetic.ate_bootstrap``). It returns one tidy table (:data:`REP_COLUMNS`; metric
definitions in :mod:`segtarget.track2.semisynthetic_eval`).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.ate import run_ate
from segtarget.track2.cate import run_cate
from segtarget.track2.cate_eval import run_cate_eval
from segtarget.track2.design import COVARIATE_PREFIX, cohort_design, signed_log1p, single_thread
from segtarget.track2.outcome_models import OUTCOME_MODELS, cross_fit_outcomes, make_outcome_model
from segtarget.track2.semisynthetic_eval import SHAPES, ate_rows, cate_rows

log = logging.getLogger(__name__)

#: Noise schemes for the untreated outcome.
NOISE = ("resample", "normal")

#: Columns of one replication's table (SPEC section 7's semisynthetic.csv columns first).
REP_COLUMNS = [
    "dgp", "model", "replication", "ate_true", "ate_est", "pehe", "ci_covered", "policy_regret",
    "outcome", "kind", "population", "estimand", "n", "bias", "se", "ci_low", "ci_high",
    "pehe_all", "spearman", "auuc_normalized", "auuc_normalized_oracle", "selected", "policy_regret_overlap",
    "share_treated", "share_treated_oracle", "oracle_value", "breakeven", "noise_sd",
]


def check_params(sem: dict, shape: str | None = None, rep: int | None = None) -> None:
    """One-line :class:`ParamError` for an unusable ``semisynthetic`` section, shape or replication."""
    shapes = list(sem.get("shapes") or [])
    bad = [s for s in shapes if s not in SHAPES]
    if not shapes or bad:
        raise ParamError(f"semisynthetic.shapes: {bad[0] if bad else shapes!r} is invalid; expected some of {', '.join(SHAPES)}")
    if shape is not None and shape not in shapes:
        raise ParamError(f"shape {shape!r} is invalid; expected one of semisynthetic.shapes: {', '.join(shapes)}")
    R = sem.get("replications")
    if (not isinstance(R, (list, tuple)) or not R or len(set(R)) != len(R)
            or not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) and r >= 1 for r in R)):
        raise ParamError(f"semisynthetic.replications = {R!r} is invalid; expected a list of distinct replication "
                         "numbers >= 1, e.g. [1, 2, 3]")
    if rep is not None and rep not in R:
        raise ParamError(f"replication {rep!r} is invalid; expected one of semisynthetic.replications {list(R)}")
    if sem.get("noise") not in NOISE:
        raise ParamError(f"semisynthetic.noise = {sem.get('noise')!r} is invalid; expected one of {', '.join(NOISE)}")
    if sem.get("baseline_model") not in OUTCOME_MODELS:
        raise ParamError(f"semisynthetic.baseline_model = {sem.get('baseline_model')!r} is invalid; "
                         f"expected one of {', '.join(OUTCOME_MODELS)}")
    outcomes = list(sem.get("outcomes") or [])
    if not outcomes:
        raise ParamError("semisynthetic.outcomes is empty; expected at least one outcome column")
    for o in outcomes:
        eff = (sem.get("effects") or {}).get(o)
        if not isinstance(eff, dict) or not {"mean", "sd"} <= set(eff):
            raise ParamError(f"semisynthetic.effects.{o}: missing; expected mean and sd of the injected effect")
        if not (np.isfinite(eff["mean"]) and np.isfinite(eff["sd"]) and eff["sd"] >= 0):
            raise ParamError(f"semisynthetic.effects.{o} = {eff!r} is invalid; expected a finite mean and sd >= 0")
    for key in ("linear_covariates", "nonlinear_covariates"):
        if len(sem.get(key) or []) != 2:
            raise ParamError(f"semisynthetic.{key} = {sem.get(key)!r} is invalid; expected two covariate names")
    if len(sem.get("linear_weights") or []) != 2:
        raise ParamError(f"semisynthetic.linear_weights = {sem.get('linear_weights')!r} is invalid; expected two numbers")
    for key, ok, want in (("cost", lambda v: v >= 0, ">= 0"), ("margin", lambda v: 0 < v <= 1, "in (0, 1]")):
        v = sem.get(key)
        if not isinstance(v, (int, float)) or not ok(v):
            raise ParamError(f"semisynthetic.{key} = {v!r} is invalid; expected a number {want}")


def breakeven(sem: dict, outcome: str) -> float:
    """Breakeven effect of the policy (treat a unit when its effect exceeds cost / margin) for the
    money outcome ``semisynthetic.policy_outcome``; NaN for any other outcome (no regret there)."""
    if outcome != sem["policy_outcome"]:
        return float("nan")
    return float(sem["cost"]) / float(sem["margin"])


def replication_seed(seed: int, shape: str, rep: int, outcome: str) -> np.random.SeedSequence:
    """The seed of one (shape, replication, outcome): stable names, not list positions, so
    adding a shape or an outcome changes no other replication's draws."""
    return np.random.SeedSequence([int(seed), zlib.crc32(shape.encode()), int(rep), zlib.crc32(outcome.encode())])


# --------------------------------------------------------------------------- the simulated outcome


@dataclass
class Baseline:
    """The untreated-outcome model of one outcome: mu0(x) for every unit, and the noise pool."""

    mu0: np.ndarray        # fitted on all real controls, predicted for every unit
    residuals: np.ndarray  # out-of-fold residuals of the real controls
    noise_sd: float        # their standard deviation


def fit_baseline(X, y, t, folds, model: str = "hgb", seed: int = 0) -> Baseline:
    """mu0 fitted on the control units, predicted for all; the controls' out-of-fold residuals."""
    X, y, t = np.asarray(X, float), np.asarray(y, float), np.asarray(t)
    if (t == 0).sum() < 2:
        raise InputError("cohort: fewer than 2 control units; cannot fit the untreated-outcome model")
    with single_thread():
        mu0 = make_outcome_model(model, seed).fit(X[t == 0], y[t == 0]).predict(X)
    mu0_oof, _ = cross_fit_outcomes(X, y, t, folds, model, seed)
    resid = (y - mu0_oof)[t == 0]
    return Baseline(mu0=mu0, residuals=resid, noise_sd=float(np.std(resid, ddof=1)))


def _covariate(df: pd.DataFrame, name: str, key: str) -> np.ndarray:
    col = name if name.startswith(COVARIATE_PREFIX) else f"{COVARIATE_PREFIX}{name}"
    if col not in df.columns:
        raise ParamError(f"semisynthetic.{key}: covariate {name!r} is not in the cohort; expected a cohort "
                         f"covariate named without the {COVARIATE_PREFIX} prefix")
    return df[col].to_numpy(float)


def _standardise(v: np.ndarray, what: str) -> np.ndarray:
    sd = v.std()
    if not np.isfinite(sd) or sd <= 0:
        raise InputError(f"cohort: {what} is constant over the cohort; an effect cannot vary with it")
    return (v - v.mean()) / sd


def true_effect(shape: str, df: pd.DataFrame, sem: dict, outcome: str) -> np.ndarray:
    """The injected effect tau(x) of every unit (module docstring), mean and SD as stated."""
    eff = sem["effects"][outcome]
    mean, sd = float(eff["mean"]), float(eff["sd"])
    if shape == "constant":
        return np.full(len(df), mean)
    if shape == "linear":
        a, b = sem["linear_covariates"]
        wa, wb = sem["linear_weights"]
        g = (wa * _standardise(signed_log1p(_covariate(df, a, "linear_covariates")), a)
             + wb * _standardise(signed_log1p(_covariate(df, b, "linear_covariates")), b))
    elif shape == "nonlinear":
        a, b = sem["nonlinear_covariates"]
        za = _standardise(signed_log1p(_covariate(df, a, "nonlinear_covariates")), a)
        xb = _covariate(df, b, "nonlinear_covariates")
        g = (xb > np.median(xb)) * np.exp(-(za**2) / 2)
    else:
        raise ParamError(f"shape {shape!r} is invalid; expected one of {', '.join(SHAPES)}")
    return mean + sd * _standardise(g, f"the {shape} effect's index")


def simulate(baseline: Baseline, tau, t, noise: str, rng: np.random.Generator) -> pd.DataFrame:
    """Potential outcomes y0, y1 = y0 + tau and the observed y = t y1 + (1 - t) y0, with tau."""
    n = baseline.mu0.size
    if noise == "resample":
        eps = rng.choice(baseline.residuals, size=n, replace=True)
    elif noise == "normal":
        eps = rng.normal(0.0, baseline.noise_sd, size=n)
    else:
        raise ParamError(f"semisynthetic.noise = {noise!r} is invalid; expected one of {', '.join(NOISE)}")
    y0 = baseline.mu0 + eps
    tau = np.asarray(tau, float)
    y1 = y0 + tau
    t = np.asarray(t)
    return pd.DataFrame({"y0": y0, "y1": y1, "y": np.where(t == 1, y1, y0), "tau": tau})


def simulate_cohort(cohort: pd.DataFrame, scores: pd.DataFrame, sem: dict, positivity: dict, shape: str,
                    rep: int, origin: str = "cohort.csv"):
    """The cohort with each of ``semisynthetic.outcomes`` replaced by its simulated outcome.

    Returns ``(cohort, design, truth)``: the simulated cohort (rows and columns of ``cohort``),
    the real design (:func:`segtarget.track2.design.cohort_design`: treatment, propensity,
    folds) and ``truth[outcome]``, the :func:`simulate` table (y0, y1, y, tau) in cohort order.
    """
    check_params(sem, shape, rep)
    outcomes = list(sem["outcomes"])
    missing = [o for o in outcomes if o not in cohort.columns]
    if missing:
        raise ParamError(f"semisynthetic.outcomes: {missing[0]!r} is not a column of {origin}; expected outcome columns")
    d = cohort_design(cohort, scores, outcomes, positivity, origin)
    if not (d.df[[HOUSEHOLD, CAMPAIGN]].to_numpy() == cohort[[HOUSEHOLD, CAMPAIGN]].to_numpy()).all():
        raise InputError(f"{origin}: the join with the propensity scores changed the unit order")  # pragma: no cover
    X = d.df[d.covariates].to_numpy(float)
    sim, truth = cohort.copy(), {}
    for o in outcomes:
        base = fit_baseline(X, d.df[o].to_numpy(float), d.t, d.folds, sem["baseline_model"], sem["seed"])
        tau = true_effect(shape, d.df, sem, o)
        rng = np.random.default_rng(replication_seed(sem["seed"], shape, rep, o))
        truth[o] = simulate(base, tau, d.t, sem["noise"], rng).assign(noise_sd=base.noise_sd)
        sim[o] = truth[o]["y"].to_numpy()
    return sim, d, truth


# --------------------------------------------------------------------------- one replication


def run_replication(cohort: pd.DataFrame, scores: pd.DataFrame, sem: dict, ate: dict, positivity: dict,
                    cate: dict, cate_eval: dict, shape: str, rep: int, origin: str = "cohort.csv",
                    n_jobs: int = 1) -> pd.DataFrame:
    """Simulate one (shape, replication) and run every ATE estimator, CATE learner and the
    evaluation with the selection rule on it, through the real stages' functions.

    Returns the tidy table :data:`REP_COLUMNS`: one ``kind = ate`` row per (outcome, method,
    population) and one ``kind = cate`` row per (outcome, learner), the ``constant`` candidate
    of the selection rule included.
    """
    sim, d, truth = simulate_cohort(cohort, scores, sem, positivity, shape, rep, origin)
    ate_sec = {**ate, "outcomes": list(sem["outcomes"]), "n_bootstrap": sem["ate_bootstrap"]}
    log.info("semisynthetic %s/%d: ATE estimators", shape, rep)
    ate_table, _ = run_ate(sim, scores, ate_sec, positivity, origin=origin, n_jobs=n_jobs)
    log.info("semisynthetic %s/%d: CATE learners", shape, rep)
    pred, _, _ = run_cate(sim, scores, cate, ate_sec, positivity, origin=origin, n_jobs=n_jobs)
    log.info("semisynthetic %s/%d: evaluation and selection rule", shape, rep)
    ev = run_cate_eval(sim, scores, pred, cate_eval, cate, ate_sec, positivity, origin=origin, n_jobs=n_jobs)
    in_overlap = (d.e >= ate["trim_low"]) & (d.e <= ate["trim_high"])
    parts = []
    for o in sem["outcomes"]:
        tau = truth[o]["tau"].to_numpy()
        a = ate_rows(ate_table[ate_table["outcome"] == o], tau, d.e)
        c = cate_rows(pred[pred["outcome"] == o], ev.selection[ev.selection["outcome"] == o], tau, ev.dr[o],
                      in_overlap, breakeven(sem, o), sem["margin"])
        parts.append(pd.concat([a, c], ignore_index=True).assign(
            outcome=o, breakeven=breakeven(sem, o), noise_sd=float(truth[o]["noise_sd"].iloc[0])))
    out = pd.concat(parts, ignore_index=True).assign(dgp=shape, replication=int(rep))
    return out.reindex(columns=REP_COLUMNS)
