"""The positivity stage: cross-fitted propensity, overlap, trimming and balance for the cohort.

Thin orchestration over :mod:`segtarget.track2.propensity` (the estimators) and
:mod:`segtarget.track2.figures` (the plots), so that the script only reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segtarget.track2 import propensity as P
from segtarget.track2.cohort import covariate_columns
from segtarget.core.errors import InputError
from segtarget.data.schemas import CAMPAIGN, HOUSEHOLD


@dataclass
class PositivityResult:
    scores: pd.DataFrame       # one row per unit: keys, treated, propensity (selected + each model), bands
    positivity: pd.DataFrame   # metric, value
    balance: pd.DataFrame      # covariate, smd_unweighted, smd_weighted, smd_overlap, ...
    models: pd.DataFrame       # model, auc, brier, log_loss, selected
    calibration: pd.DataFrame  # binned calibration curve of the selected model
    metrics: dict              # the stage's part of the track2 metrics block


def check_cohort(df: pd.DataFrame, origin: str) -> list[str]:
    """The covariates of a cohort table; one-line error if the table cannot be analysed."""
    for col in (HOUSEHOLD, CAMPAIGN, "treated"):
        if col not in df.columns:
            raise InputError(f"{origin}: column {col} missing; expected the cohort stage's output")
    covs = covariate_columns(df)
    if not covs:
        raise InputError(f"{origin}: no covariate columns (prefix x_); expected the cohort stage's output")
    if df["treated"].nunique() < 2:
        raise InputError(f"{origin}: column treated has a single value; the cohort needs treated and control units")
    return covs


def run_positivity(df: pd.DataFrame, section: dict, origin: str = "cohort.csv") -> PositivityResult:
    covs = check_cohort(df, origin)
    X, t, g = df[covs].to_numpy(float), df["treated"].to_numpy(int), df[HOUSEHOLD].to_numpy()
    ps = P.CrossFittedPropensity(models=section["models"], n_splits=section["n_splits"], seed=section["seed"],
                                 C=section["logit_C"]).fit(X, t, groups=g)
    e = ps.propensity_
    clip = section["ipw_clip"] or None
    balance = P.balance_table(X, t, e, covariates=covs, clip=clip)
    pos = P.positivity_table(t, e, groups=g, scores=ps.scores_, balance=balance,
                             crump_rule=section["crump_rule"], clip=clip)
    alpha = P.crump_alpha(e, section["crump_rule"])
    scores = df[[HOUSEHOLD, CAMPAIGN, "treated"]].copy()
    scores["propensity"] = e
    for m, v in ps.oof_.items():
        scores[f"propensity_{m}"] = v
    scores["in_overlap"] = P.trim_mask(e, 0.1, 0.9).astype(int)
    scores["in_crump"] = P.trim_mask(e, alpha, 1 - alpha).astype(int)
    sel = ps.scores_.loc[ps.scores_.selected == 1].iloc[0]
    metrics = {
        "n_treated": int(t.sum()),
        "n_control": int((1 - t).sum()),
        "n_households": int(pd.Series(g).nunique()),
        "ps_model": ps.selected_,
        "ps_auc": float(sel["auc"]),
        "overlap_share_10_90": float(P.overlap_share(e, 0.1, 0.9)),
        "overlap_share_05_95": float(P.overlap_share(e, 0.05, 0.95)),
        "crump_threshold": float(alpha),
        "max_abs_smd_unweighted": float(np.nanmax(balance["smd_unweighted"].abs())),
        "max_abs_smd_weighted": float(np.nanmax(balance["smd_weighted"].abs())),
        "max_abs_smd_overlap": float(np.nanmax(balance["smd_overlap"].abs())),
    }
    return PositivityResult(scores, pos, balance, ps.scores_, P.calibration_table(t, e), metrics)
