"""The ATE stage: every estimator on every population for each outcome of the cohort.

Uses the positivity stage's cross-fitted propensity scores (so that trimming and weighting
rest on the same scores the diagnostics report) and :func:`segtarget.track2.effects.estimate_all`.
"""

from __future__ import annotations

import pandas as pd

from segtarget.track2.effects import estimate_all
from segtarget.core.errors import InputError
from segtarget.track2.positivity import check_cohort
from segtarget.data.schemas import CAMPAIGN, HOUSEHOLD


def cohort_with_scores(cohort: pd.DataFrame, scores: pd.DataFrame, outcomes, origin: str = "cohort.csv"):
    """The cohort joined to the positivity stage's out-of-fold propensity scores.

    Returns ``(table, covariates, propensity_model)``: the model family the positivity stage
    selected (the per-model score column identical to the chosen one), for learners that fit
    their own treatment model, so that they use the same family.
    """
    covs = check_cohort(cohort, origin)
    missing = [o for o in outcomes if o not in cohort.columns]
    if missing:
        raise InputError(f"{origin}: outcome column {missing[0]} missing (params ate.outcomes)")
    keys = [HOUSEHOLD, CAMPAIGN]
    df = cohort.merge(scores[keys + ["propensity"]], on=keys, how="left", validate="one_to_one")
    if df["propensity"].isna().any():
        raise InputError("propensity_scores.csv: some cohort units have no propensity score; rerun the positivity stage")
    selected = [c.removeprefix("propensity_") for c in scores.columns
                if c.startswith("propensity_") and scores[c].equals(scores["propensity"])]
    return df, covs, selected[0] if selected else "logit"


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
        n_bootstrap=ate["n_bootstrap"], n_jobs=n_jobs, ipw_clip=positivity["ipw_clip"] or None, seed=ate["seed"],
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
