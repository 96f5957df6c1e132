"""The CATE evaluation stage (Track 2): score every model on one yardstick, choose one by a fixed rule.

The ``cate`` stage predicts each unit's effect out of fold with several learners
(``cate_predictions.csv``). This stage asks which of those rankings, if any, finds the units
that respond more, and picks the model to target with by the rule in
``params.yaml`` (``cate_eval.selection_rule``; :data:`segtarget.track2.evaluation.SELECTION_RULES`),
which is fixed before any policy is looked at.

The yardstick (:func:`cross_fit_nuisances`): on the positivity stage's household-grouped folds
(rebuilt exactly as the ``cate`` stage rebuilds them), the outcome learner
``cate.outcome_model`` is fitted per arm (mu0, mu1) and pooled (m = E[y | x]) on the other
folds and predicts the held-out ones; e is the positivity stage's out-of-fold propensity.
From these, every unit gets a doubly-robust (AIPW) score. The same nuisances score every
model, so the models are compared on one yardstick, and no nuisance prediction of a unit comes
from a model that saw its outcome.

Evaluation units: those inside the band ``[ate.trim_low, ate.trim_high]`` (``in_overlap = 1``),
where the learners were trained and where both arms exist, so inverse-propensity weights stay
bounded. Clusters (the bootstrap) are households. m, e and the units are those of the ``cate``
stage's summary, so the held-out R-loss here equals ``cate_summary.csv``'s for each model.

Outputs (:class:`CateEvalResult`): the selection table (one row per outcome and model, the
``constant`` candidate included), the uplift / Qini / TOC curves with intervals, the
calibration groups, ``customer_cate.csv`` (the predictions plus a ``selected`` flag: 1 on the
rows of the model chosen for that outcome; none when the constant effect is chosen), figure
inputs (Spearman agreement between models, the drivers of the shown model) and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr
from statsmodels.regression.linear_model import OLS

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.cate import CUSTOMER_CATE_COLUMNS as PREDICTION_COLUMNS
from segtarget.track2.design import cohort_design, fold_ids, group_codes
from segtarget.track2.evaluation import CONSTANT, SELECTION_RULES, calibration_groups, dr_scores, evaluate_models, select_model
from segtarget.track2.outcome_models import cross_fit_mean_outcome, cross_fit_outcomes
from segtarget.track2.positivity import trim_mask

#: customer_cate.csv: the cate stage's predictions plus the selection flag.
CUSTOMER_CATE_COLUMNS = [*PREDICTION_COLUMNS, "selected"]

#: The leading columns of cate_model_selection.csv (SPEC section 7 first); the rest follow.
SELECTION_LEAD = [
    "outcome", "model", "rloss_heldout", "auuc_normalized", "qini_normalized", "blp_pvalue", "rate", "rate_ci_low",
    "rate_ci_high", "selected", "rloss_constant", "rloss_gain", "auuc_normalized_ci_low", "auuc_normalized_ci_high",
    "qini_normalized_ci_low", "qini_normalized_ci_high", "blp_beta1", "blp_beta1_se", "rate_pvalue", "rule", "reason",
]



@dataclass
class CateEvalResult:
    """Everything the stage writes; the figure inputs are per outcome."""

    selection: pd.DataFrame
    curves: pd.DataFrame
    calibration: pd.DataFrame
    customer_cate: pd.DataFrame
    metrics: dict
    agreement: dict = field(default_factory=dict)  # outcome -> Spearman matrix (models x models)
    drivers: dict = field(default_factory=dict)  # outcome -> (model, shown_because_constant, coef table)
    dr: dict = field(default_factory=dict)  # outcome -> DR score of every cohort unit (cohort order), the yardstick
    dr_scores: pd.DataFrame | None = None  # the same, with nuisances, as the table the policy stage values policies on


def cross_fit_nuisances(X, y, t, e, folds, model: str = "hgb", seed: int = 0) -> dict[str, np.ndarray]:
    """Out-of-fold mu0, mu1, m (:mod:`segtarget.track2.outcome_models`) and the DR score of every unit.

    Each unit's three outcome predictions come from models fitted on the other folds only, so
    changing a household's outcomes never changes its own nuisances (the folds are grouped by
    household).
    """
    mu0, mu1 = cross_fit_outcomes(X, y, t, folds, model, seed)
    m = cross_fit_mean_outcome(X, y, folds, model, seed)
    return {"mu0": mu0, "mu1": mu1, "m": m, "dr": dr_scores(y, t, mu0, mu1, e)}


def _check_params(cate_eval: dict) -> None:
    rule = cate_eval.get("selection_rule")
    if rule not in SELECTION_RULES:
        raise ParamError(f"cate_eval.selection_rule: unknown rule {rule!r}; expected one of {', '.join(SELECTION_RULES)}")


def align_predictions(pred: pd.DataFrame, df: pd.DataFrame, outcomes, fold: np.ndarray, in_overlap: np.ndarray,
                      origin: str = "cate_predictions.csv") -> dict[str, dict[str, np.ndarray]]:
    """Each (outcome, model)'s predictions in cohort order; a one-line InputError if they do not match.

    The predictions must cover exactly the cohort's units, once per (outcome, model), with the
    folds and overlap flags this stage rebuilds (otherwise they came from another cohort,
    other folds or another trimming band, and would not be out of fold here).
    """
    missing = [c for c in PREDICTION_COLUMNS if c not in pred.columns]
    if missing:
        raise InputError(f"{origin}: column {missing[0]} missing; expected the cate stage's predictions")
    if pred["cate"].isna().any() or not np.isfinite(pred["cate"].to_numpy(float)).all():
        raise InputError(f"{origin}: column cate has missing or infinite values; expected a prediction for every unit")
    keys = df[[HOUSEHOLD, CAMPAIGN]].assign(_row=np.arange(len(df)))
    out: dict[str, dict[str, np.ndarray]] = {}
    for outcome in outcomes:
        part = pred[pred["outcome"] == outcome]
        if part.empty:
            raise InputError(f"{origin}: no predictions for outcome {outcome} (params ate.outcomes); rerun the cate stage")
        out[outcome] = {}
        for model, g in part.groupby("model", sort=False):
            if model == CONSTANT:
                raise InputError(f"{origin}: model name {CONSTANT!r} is reserved for the constant-effect candidate")
            j = keys.merge(g, on=[HOUSEHOLD, CAMPAIGN], how="outer", indicator=True)
            if len(g) != len(df) or (j["_merge"] != "both").any() or g.duplicated([HOUSEHOLD, CAMPAIGN]).any():
                raise InputError(f"{origin}: {outcome}/{model} has units that do not match cohort.csv ({len(g)} rows, "
                                 f"{len(df)} cohort units); expected one row per cohort unit, rerun the cate stage")
            j = j.sort_values("_row")
            if not np.array_equal(j["fold"].to_numpy(), fold):
                raise InputError(f"{origin}: column fold of {outcome}/{model} differs from the folds rebuilt from "
                                 f"positivity.n_splits and positivity.seed; rerun the cate stage")
            if not np.array_equal(j["in_overlap"].to_numpy().astype(int), in_overlap.astype(int)):
                raise InputError(f"{origin}: column in_overlap of {outcome}/{model} differs from the band "
                                 f"[ate.trim_low, ate.trim_high] on propensity_scores.csv; rerun the cate stage")
            out[outcome][str(model)] = j["cate"].to_numpy(float)
    return out


def drivers_table(tau, X: pd.DataFrame, clusters, level: float = 0.95, max_r2: float = 0.9) -> pd.DataFrame:
    """Linear projection of predicted CATE on the standardised covariates, household-clustered CIs.

    A model-agnostic summary of what a model's CATE moves with: coefficient = change in the
    predicted effect per standard deviation of the covariate, the others held fixed. Covariates
    constant on these units are left out, and so is a covariate explained by those already in
    (R-squared above ``max_r2``; covariates enter by their correlation with the CATE), so that
    near-collinear ones (category shares summing to one) do not blow the coefficients up.
    Returns covariate, coef, se, ci_low, ci_high, sorted by |coef| (largest first), and the
    projection's R-squared as ``r2`` on every row.
    """
    from scipy.stats import norm

    Z = X.loc[:, X.std(ddof=0) > 0]
    Z = (Z - Z.mean()) / Z.std(ddof=0)
    tau = np.asarray(tau, float)
    corr = np.abs(Z.to_numpy().T @ (tau - tau.mean())) if tau.std() > 0 else np.zeros(Z.shape[1])
    keep, Q = [], np.full((len(Z), 1), 1 / np.sqrt(len(Z)))  # orthonormal basis of the columns kept
    for j in np.argsort(-corr, kind="stable"):  # most related to the CATE first
        z = Z.iloc[:, j].to_numpy()
        resid = z - Q @ (Q.T @ z)
        resid -= Q @ (Q.T @ resid)  # second pass (Gram-Schmidt stability)
        if resid.var() > (1 - max_r2) * z.var():  # skip near-linear combinations (shares summing to one)
            keep.append(Z.columns[j])
            Q = np.column_stack([Q, resid / np.linalg.norm(resid)])
    Z = Z[keep]
    codes = group_codes(clusters, len(Z))
    fit = OLS(tau, np.column_stack([np.ones(len(Z)), Z.to_numpy()])).fit(
        cov_type="cluster", cov_kwds={"groups": codes})
    z = norm.ppf(0.5 + level / 2)
    coef, se = np.asarray(fit.params)[1:], np.asarray(fit.bse)[1:]
    out = pd.DataFrame({"covariate": list(Z.columns), "coef": coef, "se": se, "ci_low": coef - z * se,
                        "ci_high": coef + z * se, "r2": float(fit.rsquared)})
    return out.reindex(out["coef"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def agreement_matrix(predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spearman rank correlation between the models' predictions (models x models).

    Examples
    --------
    >>> agreement_matrix({"a": np.array([1.0, 2, 3]), "b": np.array([3.0, 2, 1])}).to_numpy().tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    names = list(predictions)
    if len(names) == 1:
        return pd.DataFrame([[1.0]], index=names, columns=names)
    rho = spearmanr(np.column_stack([predictions[k] for k in names])).statistic
    rho = np.array([[1.0, rho], [rho, 1.0]]) if np.ndim(rho) == 0 else np.asarray(rho)
    return pd.DataFrame(rho, index=names, columns=names)


def _selection_rows(table: pd.DataFrame, outcome: str, rule: str) -> tuple[pd.DataFrame, str, str]:
    chosen, reason = select_model(table, rule)
    t = table.assign(outcome=outcome, selected=(table["model"] == chosen).astype("int64"), rule=rule,
                     reason=np.where(table["model"] == chosen, reason, ""))
    return t, chosen, reason


def _metrics_block(row: pd.Series, chosen: str, reason: str, n_rows: int) -> dict:
    block = {"selected_model": chosen, "reason": reason, "rloss_gain": row["rloss_gain"],
             "auuc_normalized": row["auuc_normalized"],
             "auuc_normalized_ci": [row["auuc_normalized_ci_low"], row["auuc_normalized_ci_high"]],
             "blp_pvalue": row["blp_pvalue"], "blp_slope": row["blp_beta1"], "rate": row["rate"],
             "rate_ci": [row["rate_ci_low"], row["rate_ci_high"]], "customer_cate_rows_selected": n_rows}
    if chosen == CONSTANT:
        block["note"] = ("the constant effect was chosen: no model's rows are flagged selected in customer_cate.csv "
                         "(targeting on predicted heterogeneity is not supported)")
    return block


def run_cate_eval(cohort: pd.DataFrame, scores: pd.DataFrame, predictions: pd.DataFrame, cate_eval: dict, cate: dict,
                  ate: dict, positivity: dict, origin: str = "cohort.csv", pred_origin: str = "cate_predictions.csv",
                  n_jobs: int = 1) -> CateEvalResult:
    """The stage: nuisances, DR scores, every model's evaluation, the choice, customer_cate."""
    _check_params(cate_eval)
    outcomes = list(ate["outcomes"])
    d = cohort_design(cohort, scores, outcomes, positivity, origin)
    df, covs, t, e, folds = d.df, d.covariates, d.t, d.e, d.folds
    ov = trim_mask(e, ate["trim_low"], ate["trim_high"])
    if ov.sum() < 2 or len(np.unique(t[ov])) < 2:
        raise InputError(f"propensity_scores.csv: {int(ov.sum())} units inside [ate.trim_low, ate.trim_high] with "
                         f"both arms needed to evaluate the CATE models; widen the band")
    preds = align_predictions(predictions, df, outcomes, fold_ids(folds, len(t)), ov, pred_origin)
    opts = dict(ks=cate_eval["uplift_at"], n_boot=cate_eval["n_bootstrap"], seed=cate_eval["seed"],
                level=cate_eval["level"])
    sel, curves, calib, metrics = [], [], [], {}
    agreement, drivers = {}, {}
    chosen_by_outcome = {}
    hh = df[HOUSEHOLD].to_numpy()[ov]
    # one process per outcome: each fit runs on one thread with fixed seeds, so n_jobs changes only the speed
    nuisances = Parallel(n_jobs=max(1, min(n_jobs, len(outcomes))))(
        delayed(cross_fit_nuisances)(df[covs], df[o].to_numpy(float), t, e, folds, cate["outcome_model"], cate["seed"])
        for o in outcomes)
    for outcome, nu in zip(outcomes, nuisances):
        y = df[outcome].to_numpy(float)
        p = {k: v[ov] for k, v in preds[outcome].items()}
        table, cur = evaluate_models(y[ov], t[ov], nu["m"][ov], e[ov], nu["dr"][ov], p, hh, n_jobs=n_jobs, **opts)
        table, chosen, reason = _selection_rows(table, outcome, cate_eval["selection_rule"])
        chosen_by_outcome[outcome] = chosen
        sel.append(table)
        curves.append(cur.assign(outcome=outcome))
        for name, tau in {**p, CONSTANT: np.full(ov.sum(), table.loc[table["model"] == CONSTANT, "mean_tau_hat"].iloc[0])}.items():
            calib.append(calibration_groups(nu["dr"][ov], tau, hh, cate_eval["calibration_groups"], cate_eval["level"])
                         .assign(outcome=outcome, model=name))
        agreement[outcome] = agreement_matrix(p)
        others = table[table["model"] != CONSTANT]
        shown = chosen if chosen != CONSTANT else str(others.loc[others["rloss_heldout"].idxmin(), "model"])
        drivers[outcome] = (shown, chosen == CONSTANT, drivers_table(p[shown], df.loc[ov, covs], hh, cate_eval["level"]))
        row = table[table["model"] == chosen].iloc[0]
        metrics[outcome] = _metrics_block(row, chosen, reason, len(df) if chosen != CONSTANT else 0)
    selection = pd.concat(sel, ignore_index=True)
    selection = selection[[*[c for c in SELECTION_LEAD if c in selection], *[c for c in selection if c not in SELECTION_LEAD]]]
    curves = pd.concat(curves, ignore_index=True)
    curves = curves[["outcome", *[c for c in curves if c != "outcome"]]]
    calib = pd.concat(calib, ignore_index=True)
    calib = calib[["outcome", "model", *[c for c in calib if c not in ("outcome", "model")]]]
    cc = predictions[predictions["outcome"].isin(outcomes)].copy()
    cc["selected"] = np.array([chosen_by_outcome[o] == m for o, m in zip(cc["outcome"], cc["model"])], dtype="int64")
    return CateEvalResult(selection=selection.reset_index(drop=True), curves=curves, calibration=calib,
                          customer_cate=cc[CUSTOMER_CATE_COLUMNS].reset_index(drop=True),
                          metrics={"cate": {"rule": cate_eval["selection_rule"], "units_evaluated": int(ov.sum()),
                                            "households_evaluated": int(np.unique(hh).size), **metrics}},
                          agreement=agreement, drivers=drivers,
                          dr={o: nu["dr"] for o, nu in zip(outcomes, nuisances)},
                          dr_scores=dr_scores_table(df, outcomes, nuisances, t, e, fold_ids(folds, len(t)), ov))


DR_SCORE_COLUMNS = [HOUSEHOLD, CAMPAIGN, "outcome", "treated", "propensity", "fold", "in_overlap", "mu0", "mu1", "dr_score"]


def dr_scores_table(df: pd.DataFrame, outcomes, nuisances, t, e, fold, in_overlap) -> pd.DataFrame:
    """Every unit's cross-fitted nuisances and doubly-robust score, per outcome (cohort order).

    The policy stage values any targeting rule on these scores (mean of rule x DR score on
    held-out folds) without refitting anything, so a policy parameter change reruns in seconds.
    """
    parts = []
    for outcome, nu in zip(outcomes, nuisances):
        parts.append(pd.DataFrame({HOUSEHOLD: df[HOUSEHOLD].to_numpy(), CAMPAIGN: df[CAMPAIGN].to_numpy(),
                                   "outcome": outcome, "treated": np.asarray(t, dtype="int64"), "propensity": e,
                                   "fold": np.asarray(fold, dtype="int64"), "in_overlap": np.asarray(in_overlap, dtype="int64"),
                                   "mu0": nu["mu0"], "mu1": nu["mu1"], "dr_score": nu["dr"]}))
    return pd.concat(parts, ignore_index=True)[DR_SCORE_COLUMNS]
