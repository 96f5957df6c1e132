"""Who to contact next: every current household scored by the selected CATE model (Track 2, SPEC 5.8).

The policy stage decides on the cohort's past units; a CRM team needs the decision for the
households it can contact *now*. This module builds those households the way the cohort built
its units and predicts their effect:

* **Window.** The "next campaign" starts the day after the data's last day (``index_day``,
  campaign id :data:`NEXT_CAMPAIGN`); each household's covariates come from the
  ``cohort.lookback_weeks`` weeks before it, through the cohort's own covariate code
  (:func:`segtarget.track2.cohort.window_features`, :func:`~segtarget.track2.cohort.unit_covariates`),
  and the same eligibility (``cohort.min_baskets`` baskets in the window).
* **Alignment** (:func:`align_covariates`). The covariates are put in the cohort's columns:
  missing-value flags recomputed, missing values filled with the cohort's medians, and the
  campaign indicators set as for the *last* stacked campaign (the most recent context the
  models saw), which is an assumption: the next campaign behaves like the last one.
* **Model** (:func:`score_households`). The selected learner of each outcome
  (``cate_model_selection.csv``) is refitted on all the cohort units it was trained on out of
  fold (``cate.train_population``), with the same settings, and predicts each household's
  effect and, where the learner gives one, its interval. When the selection rule chose the
  constant effect, every household gets the AIPW effect on the overlap units (the mean DR
  score of ``dr_scores.csv``) with its household-clustered interval: nobody is predicted to
  respond more than anybody else.
* **Support.** The positivity stage's propensity family, refitted on all cohort units, gives
  each household its propensity under the past targeting; ``in_overlap`` flags the households
  inside ``[ate.trim_low, ate.trim_high]``, where the effect was estimated from both arms.
  ``previously_targeted`` counts the household's past campaigns of the type: the cohort
  estimated the effect of a *first* campaign, so for these households it is an extrapolation.

Examples
--------
>>> import pandas as pd
>>> cohort = pd.DataFrame({"household_id": [1, 2, 3], "campaign_id": [8, 8, 13], "index_day": [100, 100, 200],
...                        "x_spend": [1.0, 3.0, 5.0], "x_spend_missing": [0.0, 0.0, 1.0], "x_campaign_13": [0.0, 0.0, 1.0]})
>>> cov = pd.DataFrame({"household_id": [7, 9], "campaign_id": [0, 0], "x_spend": [2.0, None]})
>>> align_covariates(cov, cohort)[["x_spend", "x_spend_missing", "x_campaign_13"]].to_numpy().tolist()
[[2.0, 0.0, 1.0], [3.0, 1.0, 1.0]]
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from segtarget.core.errors import InputError
from segtarget.data.columns import CAMPAIGN, DAY, HOUSEHOLD
from segtarget.track2.cate import MODELS, fit_predict
from segtarget.track2.cohort import unit_covariates, window_features
from segtarget.track2.design import COVARIATE_PREFIX, as_matrix, cohort_design, covariate_columns, single_thread
from segtarget.track2.positivity import trim_mask
from segtarget.track2.propensity import make_propensity_model

log = logging.getLogger(__name__)

#: Campaign id of the next, not yet run campaign the current households are scored for.
NEXT_CAMPAIGN = 0
CONSTANT = "constant"
HOUSEHOLD_COLUMNS = [HOUSEHOLD, CAMPAIGN, "index_day", "lookback_start", "lookback_end", "lookback_weeks",
                     "previously_targeted", "propensity", "in_overlap"]
SCORE_COLUMNS = [HOUSEHOLD, "outcome", "model", "cate", "cate_ci_low", "cate_ci_high", "in_overlap"]


def current_units(con, tables: dict, cohort: dict, features: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The households eligible for the next campaign: (units with window features, raw covariates).

    ``tables`` are the cohort's canonical tables on ``con``; ``cohort`` and ``features`` the
    validated params sections. One-line InputError when the data is shorter than
    ``cohort.min_lookback_weeks``.
    """
    tx = tables["transactions"]
    rng = con.execute(tx.aggregate(first=tx[DAY].min(), last=tx[DAY].max()))
    first_day, last_day = int(rng["first"].iloc[0]), int(rng["last"].iloc[0])
    index_day = last_day + 1
    weeks = min(int(cohort["lookback_weeks"]), (index_day - first_day) // 7)
    if weeks < cohort["min_lookback_weeks"]:
        raise InputError(f"transactions: only {weeks} weeks of data before day {index_day}; the next campaign needs "
                         f"cohort.min_lookback_weeks = {cohort['min_lookback_weeks']} weeks of lookback")
    households = np.sort(con.execute(tx.select(HOUSEHOLD).distinct())[HOUSEHOLD].to_numpy())
    units = pd.DataFrame({HOUSEHOLD: households, CAMPAIGN: NEXT_CAMPAIGN, "index_day": index_day,
                          "lookback_start": index_day - 7 * weeks, "lookback_end": last_day, "lookback_weeks": weeks})
    units = window_features(con, tables, units, features)
    units = units.loc[units["frequency"] >= cohort["min_baskets"]].reset_index(drop=True)
    if units.empty:
        raise InputError(f"transactions: no household has {cohort['min_baskets']} basket(s) in the last {weeks} weeks "
                         "(cohort.min_baskets); nobody to score for the next campaign")
    campaigns = con.execute(tables["campaigns"])
    members = con.execute(tables["campaign_members"])
    ctype = cohort["campaign_type"]
    cov = unit_covariates(con, tables, units, campaigns, members, ctype)
    typed = members.merge(campaigns.loc[campaigns.campaign_type == ctype, [CAMPAIGN, "start_day"]], on=CAMPAIGN)
    past = typed.loc[typed["start_day"] <= last_day].groupby(HOUSEHOLD).size()
    units["previously_targeted"] = units[HOUSEHOLD].map(past).fillna(0).astype("int64")
    log.info("score: %d households with >= %d basket(s) in days %d..%d", len(units), cohort["min_baskets"],
             index_day - 7 * weeks, last_day)
    return units, cov


def align_covariates(cov: pd.DataFrame, cohort: pd.DataFrame) -> pd.DataFrame:
    """``cov`` in the cohort's covariate columns (see the module docstring); keys kept in front."""
    cols = covariate_columns(cohort)
    last = cohort.loc[cohort["index_day"] == cohort["index_day"].max(), CAMPAIGN].iloc[0]
    out = cov[[HOUSEHOLD, CAMPAIGN]].copy()
    for c in cols:
        if c.startswith(f"{COVARIATE_PREFIX}campaign_") and c.removeprefix(f"{COVARIATE_PREFIX}campaign_").isdigit():
            out[c] = float(c == f"{COVARIATE_PREFIX}campaign_{last}")
        elif c.endswith("_missing") and c not in cov.columns:
            base = c.removesuffix("_missing")
            out[c] = cov[base].isna().astype("float64") if base in cov.columns else 0.0
        elif c not in cov.columns:
            raise InputError(f"cohort.csv: covariate {c} cannot be built for the current households; "
                             "rerun the cohort stage with the same code")
        else:
            out[c] = cov[c].astype("float64").fillna(float(cohort[c].median()))
    return out


def constant_effect(dr_scores: pd.DataFrame, outcome: str, level: float) -> tuple[float, float, float]:
    """AIPW effect on the overlap units (mean DR score) and its household-clustered normal interval."""
    d = dr_scores[(dr_scores["outcome"] == outcome) & (dr_scores["in_overlap"] == 1)]
    if d.empty:
        raise InputError(f"dr_scores.csv: no overlap units for outcome {outcome}; rerun the cate_eval stage")
    g = d["dr_score"].to_numpy(float)
    tau = float(g.mean())
    resid = pd.Series(g - tau).groupby(d[HOUSEHOLD].to_numpy()).sum().to_numpy()
    se = float(np.sqrt(np.sum(resid ** 2))) / len(g)
    z = stats.norm.ppf(0.5 + level / 2)
    return tau, tau - z * se, tau + z * se


def selected_models(selection: pd.DataFrame, outcomes) -> dict[str, str]:
    """outcome -> the selected learner (or :data:`CONSTANT` when no learner was selected)."""
    out = {}
    for o in outcomes:
        s = selection[(selection["outcome"] == o) & (selection["selected"] == 1)]
        if len(s) > 1:
            raise InputError(f"cate_model_selection.csv: several models selected for {o}; expected at most one")
        name = str(s["model"].iloc[0]) if len(s) else CONSTANT
        if name not in (*MODELS, CONSTANT):
            raise InputError(f"cate_model_selection.csv: selected model {name!r} for {o} is unknown; expected one of "
                             f"{', '.join(MODELS)}")
        out[o] = name
    return out


def score_households(cohort: pd.DataFrame, scores: pd.DataFrame, dr_scores: pd.DataFrame, selection: pd.DataFrame,
                     units: pd.DataFrame, cov: pd.DataFrame, cate: dict, ate: dict, positivity: dict
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(households table, long scores table, metrics) for the current households (module docstring)."""
    outcomes = list(ate["outcomes"])
    d = cohort_design(cohort, scores, outcomes, positivity)
    X_new = align_covariates(cov, cohort)
    if not np.array_equal(X_new[HOUSEHOLD].to_numpy(), units[HOUSEHOLD].to_numpy()):
        raise InputError("current households: covariates and units do not line up")
    M_new = as_matrix(X_new[d.covariates])
    M_old = as_matrix(d.df[d.covariates])
    ps = make_propensity_model(d.ps_model, positivity["seed"], C=positivity["logit_C"])
    with single_thread():
        ps.fit(M_old, d.t)
        e_new = ps.predict_proba(M_new)[:, 1]
    overlap = trim_mask(e_new, ate["trim_low"], ate["trim_high"]).astype("int64")
    households = units[[c for c in HOUSEHOLD_COLUMNS if c in units.columns]].copy()
    households["propensity"], households["in_overlap"] = e_new, overlap
    households = households.join(X_new[d.covariates])

    train = trim_mask(d.e, ate["trim_low"], ate["trim_high"]) if cate["train_population"] == "trimmed" \
        else np.ones(len(d.t), bool)
    kwargs = dict(outcome_model=cate["outcome_model"], propensity_model=d.ps_model,
                  propensity_kwargs={"C": positivity["logit_C"]}, inner_cv=cate["inner_cv"],
                  n_trees=cate["forest_trees"], min_leaf=cate["forest_min_leaf"], seed=cate["seed"])
    wanted = [c if c.startswith(COVARIATE_PREFIX) else COVARIATE_PREFIX + c for c in cate.get("linear_modifiers", [])]
    mod_idx = [d.covariates.index(c) for c in wanted if c in d.covariates] or None
    M = np.vstack([M_old, M_new])
    n_old, n_new = len(M_old), len(M_new)
    t = np.concatenate([d.t, np.zeros(n_new, d.t.dtype)])
    codes = np.concatenate([d.codes, np.full(n_new, -1)])
    tr, te = np.flatnonzero(train), np.arange(n_old, n_old + n_new)
    parts, metrics = [], {"households_scored": int(n_new), "households_in_overlap": int(overlap.sum()),
                          "households_previously_targeted": int((households["previously_targeted"] > 0).sum()),
                          "scoring_index_day": int(units["index_day"].iloc[0])}
    for outcome, name in selected_models(selection, outcomes).items():
        if name == CONSTANT:
            tau, lo, hi = constant_effect(dr_scores, outcome, cate["level"])
            tau, lo, hi = np.full(n_new, tau), np.full(n_new, lo), np.full(n_new, hi)
        else:
            y = np.concatenate([d.df[outcome].to_numpy(float), np.full(n_new, np.nan)])
            tau, lo, hi = fit_predict(name, M, y, t, codes, tr, te, cate["level"], kwargs,
                                       mod_idx if name == "linear_dml" else None)
        parts.append(pd.DataFrame({HOUSEHOLD: units[HOUSEHOLD].to_numpy(), "outcome": outcome, "model": name,
                                   "cate": tau, "cate_ci_low": lo, "cate_ci_high": hi, "in_overlap": overlap}))
        metrics[f"model_{outcome}"] = name
        metrics[f"mean_cate_{outcome}"] = float(np.mean(tau))
        log.info("score: %s predicted by %s for %d households (mean %.4g)", outcome, name, n_new, np.mean(tau))
    return households.reset_index(drop=True), pd.concat(parts, ignore_index=True)[SCORE_COLUMNS], metrics
