"""The ATE stage: every estimator on every population for each outcome of the cohort.

Uses the positivity stage's cross-fitted propensity scores (so that trimming and weighting
rest on the same scores the diagnostics report) and :func:`segtarget.track2.effects.estimate_all`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Sequence

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError
from segtarget.track2.design import as_matrix, as_propensity, as_treatment, cohort_with_scores, group_codes, make_folds
from segtarget.track2.effects import (
    ATE_COLUMNS,
    ESTIMANDS,
    METHODS,
    POPULATIONS,
    Estimate,
    _nan_estimate,
    aipw,
    ipw_hajek,
    linear_dml,
    naive,
    ols,
    overlap_weighted,
    regression_adjustment,
)
from segtarget.track2.outcome_models import OUTCOME_MODELS, cross_fit_outcomes, select_outcome_model
from segtarget.track2.positivity import CRUMP_RULES, crump_alpha, trim_mask
from segtarget.track2.propensity import PS_MODELS, CrossFittedPropensity


def run_ate(cohort: pd.DataFrame, scores: pd.DataFrame, ate: dict, positivity: dict,
            origin: str = "cohort.csv", n_jobs: int = 1) -> tuple[pd.DataFrame, dict]:
    """The ATE table and the stage's part of the ``track2`` metrics block.

    ``n_jobs`` processes share the bootstrap refits (params ``compute.threads``); the
    table does not depend on it.
    """
    df, covs, ps_model = cohort_with_scores(cohort, scores, ate["outcomes"], origin)
    table = estimate_all(
        df, ate["outcomes"], covs, propensity="propensity",
        propensity_model=ps_model,
        propensity_kwargs={"C": positivity["logit_C"]},
        trim=(ate["trim_low"], ate["trim_high"]), crump_rule=positivity["crump_rule"],
        outcome_model=ate["outcome_model"], n_splits=positivity["n_splits"],
        n_bootstrap=ate["n_bootstrap"], ra_se=ate["ra_se"], n_jobs=n_jobs, ipw_clip=positivity["ipw_clip"] or None,
        seed=ate["seed"],
    )
    # The headline is the AIPW estimate on the trimmed population: on the full cohort the
    # propensities reach 0 and 1, the inverse weights explode and so does the estimate
    # (reported, under ..._full, but not a number to act on).
    metrics = {"ate_headline_population": "trimmed"}
    for outcome in ate["outcomes"]:
        for pop, suffix in (("trimmed", ""), ("full", "_full"), ("crump", "_crump")):
            row = table.loc[(table.outcome == outcome) & (table.method == "aipw") & (table.population == pop)]
            if row.empty:
                continue
            r = row.iloc[0]
            metrics[f"ate_aipw_{outcome}{suffix}"] = float(r.estimate)
            metrics[f"ate_aipw_{outcome}{suffix}_ci"] = [float(r.ci_low), float(r.ci_high)]
        naive = table.loc[(table.outcome == outcome) & (table.method == "naive") & (table.population == "full")]
        if not naive.empty:
            metrics[f"ate_naive_{outcome}"] = float(naive.iloc[0].estimate)
    return table, metrics


def estimate_all(
    df: pd.DataFrame,
    outcomes: Sequence[str],
    covariates: Sequence[str],
    *,
    treatment: str = "treated",
    group: str = "household_id",
    propensity=None,
    propensity_model: str | None = None,
    propensity_models: Sequence[str] = PS_MODELS,
    propensity_kwargs: dict | None = None,
    methods: Sequence[str] = METHODS,
    populations: Sequence[str] = POPULATIONS,
    trim: tuple[float, float] = (0.1, 0.9),
    crump_rule: str = "exact",
    outcome_model: str = "auto",
    n_splits: int = 5,
    n_bootstrap: int = 200,
    ra_se: str = "influence",
    n_jobs: int = 1,
    ipw_clip: float | None = None,
    min_units_per_arm: int = 20,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Every requested estimator on every population for every outcome, in a fixed row order.

    Parameters
    ----------
    df : one row per (household, campaign) unit.
    outcomes, covariates : column names.
    treatment, group : the 0/1 treatment column and the cluster (household) column.
    propensity : out-of-fold propensity per unit (array or column name). If None, it is
        computed here with :class:`~segtarget.track2.propensity.CrossFittedPropensity` (both
        candidates, lower log loss wins) on the same folds.
    propensity_model : model type LinearDML uses for its own treatment model; defaults to
        the selected model when the propensity is computed here, else ``logit``.
    propensity_models : candidates when the propensity is computed here.
    propensity_kwargs : model settings (C, hgb_*) of :func:`~segtarget.track2.propensity.make_propensity_model`.
    methods, populations : subsets of :data:`METHODS` and :data:`POPULATIONS`; the output
        keeps the canonical order whatever the order given.
    trim : the band [low, high] of the ``trimmed`` population (inclusive).
    crump_rule : ``exact`` or ``rule_of_thumb`` for the ``crump`` population.
    outcome_model : ``auto`` (lower cross-fitted MSE on the full cohort, per outcome),
        ``hgb`` or ``ridge``.
    n_splits, seed : grouped folds (per population) and every model's seed.
    n_bootstrap : household-bootstrap resamples for ``ra`` with ``ra_se="bootstrap"``.
    ra_se : ``influence`` (default) or ``bootstrap``: the SE of ``ra``
        (:func:`~segtarget.track2.effects.regression_adjustment`).
    n_jobs : worker processes for the ``ra`` bootstrap refits (results do not depend on it).
    ipw_clip : clip e to [c, 1-c] in ``ipw`` and ``aipw`` (None/0 = off, the default).
    min_units_per_arm : a population with fewer treated or control units is not estimated
        (its rows are NaN with a note).
    level : confidence level of the intervals.

    Returns
    -------
    DataFrame with columns :data:`ATE_COLUMNS` (outcome, method, population, estimate, se,
    ci_low, ci_high, n, then estimand, arm and cluster counts, se_iid, se_method, the
    population's propensity bounds, the outcome learner and a note), ordered by outcome (as
    given), population, method.
    """
    outcomes, covariates = list(outcomes), list(covariates)
    for kind, names in (("outcome", outcomes), ("covariate", covariates), ("column", [treatment, group])):
        if not names:
            raise InputError(f"cohort: no {kind} columns given")
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise InputError(f"cohort: {kind} column {missing[0]} not found; expected it in the cohort table")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ParamError(f"ate.methods: {bad[0]!r} is invalid; expected any of {', '.join(METHODS)}")
    bad = [p for p in populations if p not in POPULATIONS]
    if bad:
        raise ParamError(f"ate.populations: {bad[0]!r} is invalid; expected any of {', '.join(POPULATIONS)}")
    if crump_rule not in CRUMP_RULES:
        raise ParamError(f"crump_rule = {crump_rule!r} is invalid; expected one of {', '.join(CRUMP_RULES)}")
    if outcome_model not in ("auto", *OUTCOME_MODELS):
        raise ParamError(f"outcome_model = {outcome_model!r} is invalid; expected one of auto, {', '.join(OUTCOME_MODELS)}")
    low, high = trim
    if not 0 <= low < high <= 1:
        raise ParamError(f"trim = {trim!r} is invalid; expected 0 <= low < high <= 1")
    if not 0 < level < 1:
        raise ParamError(f"level = {level!r} is invalid; expected a number in (0, 1)")
    methods = [m for m in METHODS if m in methods]
    populations = [p for p in POPULATIONS if p in populations]

    X = as_matrix(df[covariates], name="cohort covariates")
    t = as_treatment(df[treatment].to_numpy(), name=treatment)
    codes = group_codes(df[group].to_numpy(), name=group)
    Y = {}
    for o in outcomes:
        y = pd.to_numeric(df[o], errors="coerce").to_numpy(dtype="float64")
        if not np.isfinite(y).all():
            raise InputError(f"cohort: outcome column {o} has missing or non-numeric values; expected finite numbers")
        Y[o] = y

    full_folds = make_folds(t, codes, n_splits, seed)
    if propensity is None:
        ps = CrossFittedPropensity(propensity_models, n_splits, seed, **(propensity_kwargs or {})).fit(X, t, codes, folds=full_folds)
        e = ps.propensity_
        propensity_model = propensity_model or ps.selected_
    else:
        e = df[propensity].to_numpy() if isinstance(propensity, str) else propensity
        e = as_propensity(e, t.size)
    propensity_model = propensity_model or "logit"
    if propensity_model not in PS_MODELS:
        raise ParamError(f"propensity_model = {propensity_model!r} is invalid; expected one of {', '.join(PS_MODELS)}")

    alpha = crump_alpha(e, crump_rule)
    bounds = {"full": (0.0, 1.0), "crump": (alpha, 1.0 - alpha), "trimmed": (float(low), float(high))}
    masks = {"full": np.ones(t.size, bool), "crump": trim_mask(e, alpha, 1 - alpha), "trimmed": trim_mask(e, low, high)}

    chosen = {}
    for o in outcomes:
        if outcome_model == "auto":
            sel = select_outcome_model(X, Y[o], t, full_folds, seed=seed)
            chosen[o] = str(sel.loc[sel["selected"] == 1, "model"].iloc[0])
        else:
            chosen[o] = outcome_model

    results: dict[tuple[str, str, str], Estimate] = {}
    for pop in populations:
        m = masks[pop]
        Xp, tp, cp, ep = X[m], t[m], codes[m], e[m]
        n1, n0 = int(tp.sum()), int((1 - tp).sum())
        problem = ""
        if min(n1, n0) < max(min_units_per_arm, 2):
            problem = f"not estimated: {n1} treated and {n0} control units, fewer than {min_units_per_arm} in an arm"
        folds = None
        if not problem:
            try:
                folds = full_folds if pop == "full" or m.all() else make_folds(tp, cp, n_splits, seed)
            except InputError as exc:
                problem = f"not estimated: {exc}"
        for o in outcomes:
            yp = Y[o][m]
            if problem:
                for meth in methods:
                    results[(o, pop, meth)] = _nan_estimate(tp, cp, problem, ESTIMANDS[meth])
                continue
            need_mu = {"ra", "aipw"} & set(methods)
            mu0 = mu1 = None
            if need_mu:
                mu0, mu1 = cross_fit_outcomes(Xp, yp, tp, folds, chosen[o], seed)
            for meth in methods:
                if meth == "naive":
                    r = naive(yp, tp, cp)
                elif meth == "ols":
                    r = ols(yp, tp, Xp, cp)
                elif meth == "ra":
                    r = regression_adjustment(yp, tp, Xp, cp, mu0, mu1, e=ep, se_method=ra_se, model=chosen[o],
                                              n_bootstrap=n_bootstrap, seed=seed, n_jobs=n_jobs)
                elif meth == "ipw":
                    r = ipw_hajek(yp, tp, ep, cp, clip=ipw_clip)
                elif meth == "aipw":
                    r = aipw(yp, tp, ep, mu0, mu1, cp, clip=ipw_clip)
                elif meth == "ato":
                    r = overlap_weighted(yp, tp, ep, cp)
                else:
                    r = linear_dml(yp, tp, Xp, cp, folds, outcome_model=chosen[o], propensity_model=propensity_model,
                                   propensity_kwargs=propensity_kwargs, seed=seed)
                results[(o, pop, meth)] = r

    rows = []
    for o in outcomes:
        for pop in populations:
            for meth in methods:
                r = results[(o, pop, meth)]
                lo, hi = r.ci(level)
                d = asdict(r)
                rows.append({
                    **d, "outcome": o, "method": meth, "population": pop, "ci_low": lo, "ci_high": hi,
                    "ps_low": bounds[pop][0], "ps_high": bounds[pop][1],
                    "outcome_model": chosen[o] if meth in ("ra", "aipw", "linear_dml") else "",
                })
    out = pd.DataFrame(rows, columns=ATE_COLUMNS)
    for c in ("n", "n_treated", "n_control", "n_clusters"):
        out[c] = out[c].astype("int64")
    return out
