"""CATE (Track 2): six econml learners, every unit's effect predicted out of fold.

Learners (:data:`MODELS`)

=================  =====================================================================
``s_learner``      one outcome model on (x, t); CATE = f(x, 1) - f(x, 0)
``t_learner``      one outcome model per arm; CATE = f1(x) - f0(x)
``x_learner``      T-learner residuals imputed per arm, blended by the propensity
``dr_learner``     doubly-robust pseudo-outcomes regressed on x (nuisances cross-fitted)
``linear_dml``     residual-on-residual, effect linear in a few pre-specified modifiers
                   (``cate.linear_modifiers``; the other covariates are controls);
                   asymptotic intervals
``causal_forest``  CausalForestDML (generalised random forest); bootstrap-of-little-bags
                   intervals
=================  =====================================================================

Honesty by construction: the cohort's households are split into the same grouped folds the
propensity stage used (:func:`segtarget.track2.design.make_folds`); for each fold every learner
is fitted on the other folds only and predicts the held-out units, so no unit's CATE comes
from a model that saw its outcome, and a household's campaigns never straddle a training
and a held-out part. Learners with internal cross-fitting (DR, DML) get the household codes
as ``groups`` so their inner folds are grouped too.

Training population: by default a fold's models are fitted on its units inside the
propensity band ``[ate.trim_low, ate.trim_high]`` (``cate.train_population: trimmed``):
where e(x) is near 0 or 1 one arm is absent, the nuisance fits extrapolate and the DR and
X pseudo-outcomes explode. Every held-out unit still gets a prediction; ``in_overlap``
flags those outside the band, whose CATE is an extrapolation to be read with care.

Alongside, :func:`cate_summary` scores each learner by its held-out R-loss on the overlap
units, mean over i of ((y - m(x)) - (t - e(x)) tau(x))^2 with out-of-fold m (outcome given
x) and e (the propensity stage's scores), next to the R-loss of the best *constant* effect:
a learner that does not beat the constant has found no heterogeneity the data support.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> X = rng.normal(size=(n, 3))
>>> t = (rng.random(n) < 0.5).astype(int)
>>> y = X[:, 0] + t * (1 + X[:, 1]) + rng.normal(size=n)
>>> folds = make_folds(t, np.arange(n), 3, 0)
>>> out = cross_fit_cate(X, y, t, np.arange(n), folds, models=("t_learner",), outcome_model="ridge")
>>> bool(np.corrcoef(out["t_learner"]["cate"], 1 + X[:, 1])[0, 1] > 0.8)
True
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from segtarget.core.errors import InputError, ParamError
from segtarget.core.progress import tracked
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.design import (
    as_matrix,
    as_treatment,
    cohort_design,
    group_codes,
    make_folds,  # noqa: F401 (the module example)
    signed_log1p,
    single_thread,
)
from segtarget.track2.outcome_models import cross_fit_mean_outcome, make_outcome_model
from segtarget.track2.positivity import trim_mask
from segtarget.track2.propensity import make_propensity_model


#: The learners, in the fixed order of every output table.
MODELS = ("s_learner", "t_learner", "x_learner", "dr_learner", "linear_dml", "causal_forest")

#: Learners that give a per-unit confidence interval of their own.
MODELS_WITH_INTERVALS = ("linear_dml", "causal_forest")

CUSTOMER_CATE_COLUMNS = [
    "household_id", "campaign_id", "outcome", "model", "cate", "cate_ci_low", "cate_ci_high",
    "propensity", "in_overlap", "treated", "fold",
]
SUMMARY_COLUMNS = [
    "outcome", "model", "n", "n_overlap", "mean_cate", "mean_cate_overlap", "sd_cate", "q10", "median", "q90",
    "share_positive", "share_ci_above_zero", "rloss_heldout", "rloss_constant", "rloss_gain",
]


def make_cate_model(
    name: str,
    *,
    outcome_model: str = "hgb",
    propensity_model: str = "logit",
    propensity_kwargs: dict | None = None,
    inner_cv: int = 3,
    n_trees: int = 200,
    min_leaf: int = 20,
    seed: int = 0,
):
    """A fresh, unfitted econml CATE learner with this project's nuisance models.

    Outcome models are :func:`segtarget.track2.effects.make_outcome_model` (gradient boosting or
    ridge), treatment models :func:`segtarget.track2.propensity.make_propensity_model` (the family
    the positivity stage selected), so the CATE rests on the same nuisances as the ATE.
    """
    from segtarget.track2.econml_import import econml

    CausalForestDML, LinearDML = econml("dml").CausalForestDML, econml("dml").LinearDML
    DRLearner = econml("dr").DRLearner
    meta = econml("metalearners")
    SLearner, TLearner, XLearner = meta.SLearner, meta.TLearner, meta.XLearner

    def reg():
        return make_outcome_model(outcome_model, seed)

    def clf():
        return make_propensity_model(propensity_model, seed, **(propensity_kwargs or {}))

    if name == "s_learner":
        return SLearner(overall_model=reg())
    if name == "t_learner":
        return TLearner(models=reg())
    if name == "x_learner":
        return XLearner(models=reg(), cate_models=reg(), propensity_model=clf())
    if name == "dr_learner":
        # The final stage regresses noisy pseudo-outcomes: a ridge fit is the stable choice.
        return DRLearner(model_propensity=clf(), model_regression=reg(), model_final=make_outcome_model("ridge", seed),
                         cv=inner_cv, random_state=seed)
    if name == "linear_dml":
        # The effect is linear in signed-log, standardised covariates: on the raw heavy-tailed
        # spending rates a linear CATE extrapolates wildly for the biggest spenders.
        featurizer = make_pipeline(FunctionTransformer(signed_log1p), StandardScaler())
        return LinearDML(model_y=reg(), model_t=clf(), featurizer=featurizer, discrete_treatment=True,
                         cv=inner_cv, random_state=seed)
    if name == "causal_forest":
        return CausalForestDML(model_y=reg(), model_t=clf(), discrete_treatment=True, cv=inner_cv,
                               n_estimators=n_trees, min_samples_leaf=min_leaf, random_state=seed, n_jobs=1)
    raise ParamError(f"cate.models: {name!r} is invalid; expected some of {', '.join(MODELS)}")


def fit_predict(name: str, M, y, t, codes, train, test, level: float, kwargs: dict, modifiers=None):
    """Fit learner ``name`` on ``train`` and predict CATE (and interval) for ``test``.

    For ``linear_dml`` with ``modifiers`` (column indices), the effect is linear in those
    columns only and the other columns are controls (W).
    """
    est = make_cate_model(name, **kwargs)
    ytr, ttr = y[train], t[train]
    W = None
    if name == "linear_dml" and modifiers is not None and len(modifiers) < M.shape[1]:
        others = np.setdiff1d(np.arange(M.shape[1]), modifiers)
        W, M = M[train][:, others], M[:, modifiers]
    Xtr = M[train]
    with single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "linear_dml":
            est.fit(ytr, ttr, X=Xtr, W=W, groups=codes[train])
        elif name in ("dr_learner", "causal_forest"):
            est.fit(ytr, ttr, X=Xtr, groups=codes[train])
        else:
            est.fit(ytr, ttr, X=Xtr)
        tau = np.ravel(est.effect(M[test]))
        if name in MODELS_WITH_INTERVALS:
            lo, hi = est.effect_interval(M[test], alpha=1 - level)
            lo, hi = np.ravel(lo), np.ravel(hi)
        else:
            lo = hi = np.full(len(test), np.nan)
    return tau, lo, hi


def cross_fit_cate(
    X, y, t, groups, folds, *,
    models: Sequence[str] = MODELS,
    train_mask=None,
    linear_modifiers: Sequence[int] | None = None,
    level: float = 0.95,
    n_jobs: int = 1,
    min_train_per_arm: int = 10,
    **model_kwargs,
) -> dict[str, pd.DataFrame]:
    """Out-of-fold CATE of each learner for every unit.

    Parameters
    ----------
    X, y, t, groups : covariates, outcome, 0/1 treatment, household of each unit.
    folds : list of (train, test) index arrays partitioning the units (grouped by household).
    models : subset of :data:`MODELS`.
    train_mask : boolean per unit; only units with True are used for fitting (all units are
        predicted). Default: all.
    linear_modifiers : column indices LinearDML's effect is linear in (the other columns are
        its controls); default all columns.
    level : confidence level of the intervals (learners in :data:`MODELS_WITH_INTERVALS`).
    n_jobs : worker processes; each (learner, fold) fit runs on one thread with fixed seeds,
        so the result does not depend on ``n_jobs``.
    **model_kwargs : passed to :func:`make_cate_model`.

    Returns
    -------
    dict model -> DataFrame with columns cate, cate_ci_low, cate_ci_high, fold (one row per
    unit, in input order).
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ParamError(f"cate.models: {unknown[0]!r} is invalid; expected some of {', '.join(MODELS)}")
    M, y, t = as_matrix(X), np.asarray(y, float), as_treatment(t)
    codes = group_codes(groups, len(t))
    keep = np.ones(len(t), bool) if train_mask is None else np.asarray(train_mask, bool)
    tasks = []
    for k, (train, test) in enumerate(folds):
        tr = train[keep[train]]
        n1, n0 = int(t[tr].sum()), int((1 - t[tr]).sum())
        if min(n1, n0) < min_train_per_arm:
            raise InputError(f"cohort: fold {k} has {n1} treated and {n0} control units to train CATE models on, "
                             f"fewer than {min_train_per_arm} in an arm; widen the trimming band or use fewer folds")
        for m in models:
            tasks.append((m, k, tr, test))
    run = delayed(fit_predict)
    if n_jobs == 1:
        results = (fit_predict(m, M, y, t, codes, tr, te, level, model_kwargs, linear_modifiers)
                   for m, _, tr, te in tasks)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            run(m, M, y, t, codes, tr, te, level, model_kwargs, linear_modifiers) for m, _, tr, te in tasks)
    results = list(tracked(results, len(tasks), f"cate: learner x fold fits ({', '.join(models)})"))
    out = {m: pd.DataFrame({"cate": np.nan, "cate_ci_low": np.nan, "cate_ci_high": np.nan, "fold": -1},
                           index=range(len(t))) for m in models}
    for (m, k, _, test), (tau, lo, hi) in zip(tasks, results):
        out[m].loc[test, ["cate", "cate_ci_low", "cate_ci_high"]] = np.column_stack([tau, lo, hi])
        out[m].loc[test, "fold"] = k
    for m in models:
        out[m]["fold"] = out[m]["fold"].astype("int64")
        if out[m]["cate"].isna().any():
            raise InputError("folds: some units are in no held-out fold; expected a partition of the rows")
    return out


def r_loss(y, t, m, e, tau) -> float:
    """Mean R-loss ((y - m) - (t - e) tau)^2 (Nie and Wager 2021)."""
    y, t, m, e, tau = (np.asarray(a, float) for a in (y, t, m, e, tau))
    return float(np.mean(((y - m) - (t - e) * tau) ** 2))


def constant_tau(y, t, m, e) -> float:
    """The constant effect that minimises the R-loss: sum((t-e)(y-m)) / sum((t-e)^2)."""
    r_t, r_y = np.asarray(t, float) - np.asarray(e, float), np.asarray(y, float) - np.asarray(m, float)
    return float(np.sum(r_t * r_y) / np.sum(r_t**2))


def cate_summary(table: pd.DataFrame, m_hat: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per (outcome, model): distribution of the CATE and held-out R-loss on overlap units.

    ``table`` is :func:`run_cate`'s long table, whose rows within each (outcome, model) are
    the cohort's units in cohort order, aligned with ``m_hat[outcome]`` and ``y[outcome]``.
    """
    rows = []
    for (outcome, model), g in table.groupby(["outcome", "model"], sort=False):
        if len(g) != len(y[outcome]):
            raise InputError(f"cate_predictions: {outcome}/{model} has {len(g)} rows; expected one per cohort unit ({len(y[outcome])})")
        ov = g["in_overlap"].to_numpy() == 1
        yy, mm = y[outcome], m_hat[outcome]
        tt, ee, tau = g["treated"].to_numpy(), g["propensity"].to_numpy(), g["cate"].to_numpy()
        rl = r_loss(yy[ov], tt[ov], mm[ov], ee[ov], tau[ov]) if ov.any() else np.nan
        c = constant_tau(yy[ov], tt[ov], mm[ov], ee[ov]) if ov.any() else np.nan
        rc = r_loss(yy[ov], tt[ov], mm[ov], ee[ov], np.full(ov.sum(), c)) if ov.any() else np.nan
        lo = g["cate_ci_low"].to_numpy()
        rows.append({
            "outcome": outcome, "model": model, "n": len(g), "n_overlap": int(ov.sum()),
            "mean_cate": float(np.mean(tau)), "mean_cate_overlap": float(np.mean(tau[ov])) if ov.any() else np.nan,
            "sd_cate": float(np.std(tau, ddof=1)) if len(tau) > 1 else np.nan,
            "q10": float(np.quantile(tau, 0.1)), "median": float(np.median(tau)), "q90": float(np.quantile(tau, 0.9)),
            "share_positive": float(np.mean(tau > 0)),
            "share_ci_above_zero": float(np.mean(lo > 0)) if np.isfinite(lo).all() else np.nan,
            "rloss_heldout": rl, "rloss_constant": rc, "rloss_gain": rc - rl,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _stage_setup(cohort: pd.DataFrame, scores: pd.DataFrame, cate: dict, ate: dict, positivity: dict, origin: str):
    """The design and learner settings every CATE job derives the same way (units, folds, kwargs, modifiers)."""
    d = cohort_design(cohort, scores, list(ate["outcomes"]), positivity, origin)
    in_overlap = trim_mask(d.e, ate["trim_low"], ate["trim_high"])
    train_mask = in_overlap if cate["train_population"] == "trimmed" else np.ones(len(d.t), bool)
    kwargs = dict(outcome_model=cate["outcome_model"], propensity_model=d.ps_model,
                  propensity_kwargs={"C": positivity["logit_C"]}, inner_cv=cate["inner_cv"],
                  n_trees=cate["forest_trees"], min_leaf=cate["forest_min_leaf"], seed=cate["seed"])
    # LinearDML's effect modifiers: the listed covariates the cohort kept (the cohort stage
    # drops constant columns); none left, or an empty list, means all covariates.
    wanted = [c if c.startswith("x_") else f"x_{c}" for c in cate.get("linear_modifiers", [])]
    modifiers = [c for c in wanted if c in d.covariates]
    mod_idx = [d.covariates.index(c) for c in modifiers] or None
    return d, in_overlap, train_mask, kwargs, modifiers, mod_idx


def run_cate_part(cohort: pd.DataFrame, scores: pd.DataFrame, cate: dict, ate: dict, positivity: dict, model: str,
                  outcome: str, origin: str = "cohort.csv", n_jobs: int = 1) -> pd.DataFrame:
    """One (learner, outcome) of the CATE stage: every unit's out-of-fold CATE (:data:`CUSTOMER_CATE_COLUMNS`).

    The workflow runs one job per pair (Snakemake wildcards, a DVC matrix stage) and gathers them
    with :func:`gather_cate`; each fit depends only on its learner, outcome, fold and seed, so the
    parts are the rows :func:`run_cate` computes in one process.
    """
    if outcome not in ate["outcomes"]:
        raise ParamError(f"cate: outcome {outcome!r} is not in ate.outcomes ({', '.join(ate['outcomes'])})")
    d, in_overlap, train_mask, kwargs, _, mod_idx = _stage_setup(cohort, scores, cate, ate, positivity, origin)
    fits = cross_fit_cate(d.df[d.covariates], d.df[outcome].to_numpy(float), d.t, d.codes, d.folds, models=[model],
                          train_mask=train_mask, linear_modifiers=mod_idx, level=cate["level"], n_jobs=n_jobs, **kwargs)
    part = fits[model]
    return pd.DataFrame({
        HOUSEHOLD: d.df[HOUSEHOLD].to_numpy(), CAMPAIGN: d.df[CAMPAIGN].to_numpy(), "outcome": outcome,
        "model": model, "cate": part["cate"].to_numpy(), "cate_ci_low": part["cate_ci_low"].to_numpy(),
        "cate_ci_high": part["cate_ci_high"].to_numpy(), "propensity": d.e, "in_overlap": in_overlap.astype("int64"),
        "treated": d.t.astype("int64"), "fold": part["fold"].to_numpy(),
    })[CUSTOMER_CATE_COLUMNS]


def gather_cate(cohort: pd.DataFrame, scores: pd.DataFrame, parts: Sequence[pd.DataFrame], cate: dict, ate: dict,
                positivity: dict, origin: str = "cohort.csv") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The CATE stage's tables from its (learner, outcome) parts: predictions (outcomes, then learners, in
    params order), summary (held-out R-loss against each outcome's cross-fitted mean) and metrics."""
    outcomes = list(ate["outcomes"])
    d, in_overlap, _, _, modifiers, mod_idx = _stage_setup(cohort, scores, cate, ate, positivity, origin)
    by_pair = {}
    for p in parts:
        for (o, m), g in p.groupby(["outcome", "model"], sort=False):
            by_pair[(o, m)] = g
    missing = [f"{o}/{m}" for o in outcomes for m in cate["models"] if (o, m) not in by_pair]
    if missing:
        raise InputError(f"cate: no predictions for {missing[0]}; run its cate_fit job (or the cate stage) first")
    keys = d.df[[HOUSEHOLD, CAMPAIGN]].reset_index(drop=True)
    ordered = []
    for o in outcomes:
        for m in cate["models"]:
            g = by_pair[(o, m)].reset_index(drop=True)
            if len(g) != len(keys) or not g[[HOUSEHOLD, CAMPAIGN]].equals(keys):
                raise InputError(f"cate: the predictions of {o}/{m} are not the cohort's units in cohort order; "
                                 "rerun its cate_fit job on this cohort")
            ordered.append(g)
    table = pd.concat(ordered, ignore_index=True)[CUSTOMER_CATE_COLUMNS]
    m_hat = {o: cross_fit_mean_outcome(d.df[d.covariates], d.df[o].to_numpy(float), d.folds, cate["outcome_model"],
                                       cate["seed"]) for o in outcomes}
    summary = cate_summary(table, m_hat, {o: d.df[o].to_numpy(float) for o in outcomes})
    metrics = {"cate_models": list(cate["models"]), "cate_units": int(len(d.t)), "cate_units_overlap": int(in_overlap.sum()),
               "cate_train_population": cate["train_population"],
               "cate_linear_modifiers": modifiers if mod_idx else "all covariates"}
    for outcome in outcomes:
        s = summary[summary["outcome"] == outcome]
        best = s.loc[s["rloss_heldout"].idxmin()] if s["rloss_heldout"].notna().any() else None
        if best is not None:
            metrics[f"cate_lowest_rloss_model_{outcome}"] = str(best["model"])
            metrics[f"cate_models_beating_constant_{outcome}"] = int((s["rloss_gain"] > 0).sum())
    return table, summary, metrics


def run_cate(cohort: pd.DataFrame, scores: pd.DataFrame, cate: dict, ate: dict, positivity: dict,
             origin: str = "cohort.csv", n_jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The CATE stage in one process: every (learner, outcome) part, then :func:`gather_cate`."""
    parts = [run_cate_part(cohort, scores, cate, ate, positivity, m, o, origin, n_jobs)
             for o in ate["outcomes"] for m in cate["models"]]
    return gather_cate(cohort, scores, parts, cate, ate, positivity, origin)
