"""Scoring the semi-synthetic replications against the injected truth; gathering; figure; metrics.

Per replication (:mod:`segtarget.track2.semisynthetic` builds the data and runs the stages):

* ATE rows (:func:`ate_rows`, ``kind = ate``), one per (method, population) of ``ate.csv``:
  ``ate_true`` is the injected effect averaged over the population's units (the units whose
  propensity lies in the row's band ``[ps_low, ps_high]``); for ``ato`` the overlap-weighted
  mean with weights e(1-e), its estimand; the ``naive`` difference in means is compared with
  the ATE, so its bias is the confounding it ignores. ``bias = ate_est - ate_true``;
  ``ci_covered`` = the row's 95% CI contains ``ate_true``.
* CATE rows (:func:`cate_rows`, ``kind = cate``), one per learner plus the selection rule's
  ``constant`` candidate, on the evaluation units (``population = overlap``: propensity in
  ``[ate.trim_low, ate.trim_high]``, where the learners are trained and scored):
  ``pehe = sqrt(mean((tau_hat - tau)^2))`` (``pehe_all``: over every cohort unit, the
  extrapolated ones included); ``spearman`` with the true CATE; ``auuc_normalized`` as the
  evaluation stage computed it on the DR scores, and ``auuc_normalized_oracle``, the same
  quantity for the ranking by the *true* tau on the same DR scores (the best any model could
  reach on this noisy yardstick); ``selected`` = the rule chose it; ``ate_est`` / ``ate_true``
  = mean predicted / true effect over the evaluation units.
* Policy regret (money outcome only): the policy treats a unit when its predicted effect
  exceeds the breakeven ``b = cost / margin``; the oracle when its true effect does. Regret,
  in true profit per cohort unit, is ``margin * mean((oracle - treat) * (tau - b))`` (>= 0; 0
  when the model treats exactly the units worth treating). ``policy_regret`` averages over
  every cohort unit (the policy is applied to all of them), ``policy_regret_overlap`` over
  the evaluation units; ``oracle_value`` is the oracle policy's true profit per unit,
  ``margin * mean(max(tau - b, 0))``, the scale to read the regret against.

:func:`gather` stacks the replications (``semisynthetic.csv``), :func:`summarise` averages
them (``semisynthetic_summary.csv``) and :func:`validation_metrics` gives the ``track2.validation``
block; the figure is :func:`segtarget.track2.figures_validation.semisynthetic_plot`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from segtarget.core.errors import InputError
from segtarget.track2.evaluation import CONSTANT
from segtarget.track2.positivity import trim_mask
from segtarget.track2.uplift import uplift_areas

#: Effect shapes, in the fixed order of every output table.
SHAPES = ("constant", "linear", "nonlinear")
#: The headline population of the ATE stage (:func:`segtarget.track2.ate.run_ate`).
HEADLINE_POPULATION = "trimmed"
#: Name of the selection rule's pick in the summary (kind ``selection``).
SELECTED = "selected"

SUMMARY_COLUMNS = [
    "outcome", "dgp", "kind", "model", "population", "estimand", "n_reps", "ate_true", "ate_est", "bias",
    "bias_mcse", "rmse", "coverage", "se_mean", "sd_est", "pehe", "pehe_all", "spearman", "auuc_normalized",
    "auuc_normalized_oracle", "selected_count", "policy_regret", "policy_regret_mcse", "policy_regret_overlap",
    "share_treated", "share_treated_oracle", "oracle_value", "note",
]


# --------------------------------------------------------------------------- per replication


def ate_rows(ate: pd.DataFrame, tau, e) -> pd.DataFrame:
    """One outcome's ATE table scored against the injected effect (module docstring)."""
    tau, e = np.asarray(tau, float), np.asarray(e, float)
    rows = []
    for r in ate.itertuples(index=False):
        m = trim_mask(e, r.ps_low, r.ps_high)
        w = e[m] * (1 - e[m]) if r.estimand == "ATO" else np.ones(int(m.sum()))
        truth = float(np.sum(w * tau[m]) / np.sum(w)) if m.any() else np.nan
        est = float(r.estimate)
        covered = float(r.ci_low <= truth <= r.ci_high) if np.isfinite(est) and np.isfinite(r.se) else np.nan
        rows.append({"kind": "ate", "model": r.method, "population": r.population, "estimand": r.estimand,
                     "n": int(r.n), "ate_true": truth, "ate_est": est, "bias": est - truth, "se": float(r.se),
                     "ci_low": float(r.ci_low), "ci_high": float(r.ci_high), "ci_covered": covered})
    return pd.DataFrame(rows)


def policy_regret(tau_hat, tau, b: float, margin: float) -> dict[str, float]:
    """Regret of "treat when tau_hat > b" against "treat when tau > b", in true profit per unit.

    Examples
    --------
    >>> r = policy_regret([50.0, 50.0, 0.0], [60.0, 0.0, 60.0], b=40.0, margin=0.5)
    >>> round(r["regret"], 4), r["share_treated"], round(r["oracle_value"], 4)
    (10.0, 0.6666666666666666, 6.6667)
    """
    tau_hat, tau = np.asarray(tau_hat, float), np.asarray(tau, float)
    if not np.isfinite(b):
        return {"regret": np.nan, "share_treated": np.nan, "share_treated_oracle": np.nan, "oracle_value": np.nan}
    treat, oracle = tau_hat > b, tau > b
    gain = (tau - b) * margin
    return {"regret": float(np.mean((oracle.astype(float) - treat) * gain)), "share_treated": float(treat.mean()),
            "share_treated_oracle": float(oracle.mean()), "oracle_value": float(np.mean(oracle * gain))}


def cate_rows(pred: pd.DataFrame, selection: pd.DataFrame, tau, dr, in_overlap, b: float,
              margin: float) -> pd.DataFrame:
    """One outcome's learners (and the constant candidate) scored against the injected effect.

    ``pred``: the cate stage's predictions of this outcome (rows of each model in cohort
    order); ``selection``: the evaluation stage's table of this outcome; ``dr``: its DR score
    of every cohort unit; ``in_overlap``: the evaluation units.
    """
    tau, dr, ov = np.asarray(tau, float), np.asarray(dr, float), np.asarray(in_overlap, bool)
    oracle_auuc = uplift_areas(tau[ov], dr[ov])["auuc_normalized"]
    rows = []
    for s in selection.itertuples(index=False):
        if s.model == CONSTANT:
            tau_hat = np.full(tau.size, float(s.mean_tau_hat))
        else:
            tau_hat = pred.loc[pred["model"] == s.model, "cate"].to_numpy(float)
        if tau_hat.size != tau.size:
            raise InputError(f"cate_predictions: {s.model} has {tau_hat.size} rows; expected one per cohort unit ({tau.size})")
        constant = np.ptp(tau_hat[ov]) == 0 or np.ptp(tau[ov]) == 0
        rho = np.nan if constant else float(spearmanr(tau_hat[ov], tau[ov]).statistic)
        pol, pol_ov = policy_regret(tau_hat, tau, b, margin), policy_regret(tau_hat[ov], tau[ov], b, margin)
        rows.append({
            "kind": "cate", "model": s.model, "population": "overlap", "estimand": "CATE", "n": int(ov.sum()),
            "ate_true": float(tau[ov].mean()), "ate_est": float(tau_hat[ov].mean()),
            "bias": float(tau_hat[ov].mean() - tau[ov].mean()),
            "pehe": float(np.sqrt(np.mean((tau_hat[ov] - tau[ov]) ** 2))),
            "pehe_all": float(np.sqrt(np.mean((tau_hat - tau) ** 2))), "spearman": rho,
            "auuc_normalized": float(s.auuc_normalized), "auuc_normalized_oracle": oracle_auuc,
            "selected": int(s.selected), "policy_regret": pol["regret"], "policy_regret_overlap": pol_ov["regret"],
            "share_treated": pol["share_treated"], "share_treated_oracle": pol["share_treated_oracle"],
            "oracle_value": pol["oracle_value"],
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- gather and summary


def gather(tables: list[pd.DataFrame], shapes, replications, outcomes=None) -> pd.DataFrame:
    """Stack the replications' tables, checking that each (shape, replication) is there once.

    Rows are ordered by outcome, shape (``shapes`` order), kind, model and population (the
    order of the replication tables), then replication.
    """
    if not tables:
        raise InputError("semisynthetic: no replication tables given; expected one per (shape, replication)")
    seen: dict[tuple[str, int], int] = {}
    for t in tables:
        for key in t[["dgp", "replication"]].drop_duplicates().itertuples(index=False):
            seen[(key.dgp, int(key.replication))] = seen.get((key.dgp, int(key.replication)), 0) + 1
    want = {(s, int(r)) for s in shapes for r in replications}
    problems = ([f"{s}/{r} missing" for s, r in sorted(want - set(seen))]
                + [f"{s}/{r} not in semisynthetic.shapes x replications" for s, r in sorted(set(seen) - want)]
                + [f"{s}/{r} given {k} times" for (s, r), k in sorted(seen.items()) if k > 1])
    if problems:
        raise InputError(f"semisynthetic: replication {problems[0]}; expected exactly one table per (shape, replication) "
                         f"for the current params ({len(problems)} problem(s))")
    df = pd.concat(tables, ignore_index=True)
    df["_model"] = list(zip(df["kind"], df["model"]))  # a name can be an estimator and a learner (linear_dml)
    order = {}
    for col, first in (("outcome", list(outcomes or [])), ("dgp", list(shapes)), ("kind", ["ate", "cate"]),
                       ("_model", []), ("population", [])):
        levels = list(dict.fromkeys([*first, *df[col].tolist()]))
        order[col] = df[col].map({v: i for i, v in enumerate(levels)})
    df = df.drop(columns="_model")
    keys = pd.DataFrame(order).assign(replication=df["replication"])
    idx = keys.sort_values(list(keys.columns), kind="stable").index
    return df.loc[idx].reset_index(drop=True)


def _mcse(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per (outcome, shape, estimator or learner, population): means over the replications.

    ATE rows: mean bias, its Monte-Carlo SE (SD of the bias over replications / sqrt(R)),
    RMSE, CI coverage, mean SE next to the SD of the estimates. CATE rows: mean PEHE,
    Spearman, DR-AUUC (and the oracle's), times selected, mean regret of the learner's own
    policy. ``kind = selection`` rows (model ``selected``): the rule's pick in each replication,
    its mean PEHE and regret, and in ``note`` which models it picked how often.
    """
    keys = ["outcome", "dgp", "kind", "model", "population", "estimand"]
    rows = []
    for k, g in table.groupby(keys, sort=False):
        row = dict(zip(keys, k), n_reps=len(g), ate_true=g["ate_true"].mean(), ate_est=g["ate_est"].mean(),
                   bias=g["bias"].mean(), bias_mcse=_mcse(g["bias"]), rmse=float(np.sqrt(np.mean(g["bias"] ** 2))))
        if k[2] == "ate":
            row.update(coverage=g["ci_covered"].mean(), se_mean=g["se"].mean(),
                       sd_est=g["ate_est"].std(ddof=1) if len(g) > 1 else np.nan)
        else:
            row.update({c: g[c].mean() for c in ("pehe", "pehe_all", "spearman", "auuc_normalized",
                                                  "auuc_normalized_oracle", "policy_regret", "policy_regret_overlap",
                                                  "share_treated", "share_treated_oracle", "oracle_value")})
            row.update(selected_count=int(g["selected"].sum()), policy_regret_mcse=_mcse(g["policy_regret"]))
        rows.append(row)
    cate = table[(table["kind"] == "cate") & (table["selected"] == 1)]
    for (o, s), g in cate.groupby(["outcome", "dgp"], sort=False):
        picks = g["model"].value_counts(sort=False)
        rows.append(dict(outcome=o, dgp=s, kind="selection", model=SELECTED, population="overlap", estimand="CATE",
                         n_reps=len(g), ate_true=g["ate_true"].mean(), ate_est=g["ate_est"].mean(), bias=g["bias"].mean(),
                         bias_mcse=_mcse(g["bias"]), rmse=float(np.sqrt(np.mean(g["bias"] ** 2))),
                         pehe=g["pehe"].mean(), pehe_all=g["pehe_all"].mean(), spearman=g["spearman"].mean(),
                         auuc_normalized=g["auuc_normalized"].mean(),
                         auuc_normalized_oracle=g["auuc_normalized_oracle"].mean(), selected_count=len(g),
                         policy_regret=g["policy_regret"].mean(), policy_regret_mcse=_mcse(g["policy_regret"]),
                         policy_regret_overlap=g["policy_regret_overlap"].mean(),
                         share_treated=g["share_treated"].mean(), share_treated_oracle=g["share_treated_oracle"].mean(),
                         oracle_value=g["oracle_value"].mean(),
                         note="; ".join(f"{m} {n}" for m, n in picks.items())))
    out = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    out["selected_count"] = out["selected_count"].astype("Int64")
    order = {"ate": 0, "cate": 1, "selection": 2}
    return (out.assign(_o=out["outcome"].map({o: i for i, o in enumerate(dict.fromkeys(out["outcome"]))}),
                       _d=out["dgp"].map({d: i for i, d in enumerate(dict.fromkeys(out["dgp"]))}),
                       _k=out["kind"].map(order))
            .sort_values(["_o", "_d", "_k"], kind="stable").drop(columns=["_o", "_d", "_k"]).reset_index(drop=True))


RULE = ("ATE: among the estimators of the ATE (naive difference and overlap-weighted ATO excluded) on the headline "
        "population, the lowest root-mean-square error pooled over the effect shapes; CATE: the learner with the lowest "
        "mean PEHE over the shapes (evaluation units)")


def validation_metrics(summary: pd.DataFrame, sem: dict, rule: str, population: str = HEADLINE_POPULATION) -> dict:
    """The ``track2.validation`` metrics block: settings, and per outcome the estimator and learner
    the benchmark supports (:data:`RULE`) with their bias, coverage and PEHE per shape."""
    out = {"replications": len(sem["replications"]), "shapes": list(sem["shapes"]), "noise": sem["noise"],
           "baseline_model": sem["baseline_model"], "population": population, "recommendation_rule": RULE,
           "selection_rule": rule}
    R = len(sem["replications"])
    if R < 20:
        out["note"] = (f"{R} replication(s) per shape: biases, coverages (in steps of 1/{R}) and the recommendation "
                       "are rough" + (", with no Monte-Carlo SE" if R < 2 else "")
                       + "; a full study uses 100 replications")
    for o, s in summary.groupby("outcome", sort=False):
        a = s[(s["kind"] == "ate") & (s["population"] == population) & (s["estimand"] == "ATE")]
        c = s[(s["kind"] == "cate") & (s["model"] != CONSTANT)]
        sel = s[s["kind"] == "selection"].set_index("dgp")
        block: dict = {}
        if not a.empty:
            pooled = a.groupby("model", sort=False)["rmse"].apply(lambda r: float(np.sqrt(np.mean(r**2))))
            best = str(pooled.idxmin())
            b = a[a["model"] == best].set_index("dgp")
            block.update(ate_recommended=best, ate_recommended_rmse=float(pooled[best]),
                         ate_recommended_bias=b["bias"].to_dict(), ate_recommended_bias_mcse=b["bias_mcse"].to_dict(),
                         ate_recommended_coverage=b["coverage"].to_dict(),
                         ate_rmse={m: a[a["model"] == m].set_index("dgp")["rmse"].to_dict() for m in pooled.index},
                         ate_coverage={m: a[a["model"] == m].set_index("dgp")["coverage"].to_dict() for m in pooled.index})
        if not c.empty:
            mean_pehe = c.groupby("model", sort=False)["pehe"].mean()
            best = str(mean_pehe.idxmin())
            block.update(cate_best_pehe_learner=best, cate_best_pehe=c[c["model"] == best].set_index("dgp")["pehe"].to_dict(),
                         cate_pehe={m: c[c["model"] == m].set_index("dgp")["pehe"].to_dict() for m in mean_pehe.index},
                         constant_pehe=s[(s["kind"] == "cate") & (s["model"] == CONSTANT)].set_index("dgp")["pehe"].to_dict(),
                         auuc_oracle=c.groupby("dgp", sort=False)["auuc_normalized_oracle"].mean().to_dict())
        if not sel.empty:
            block.update(selected=sel["note"].to_dict(), regret_selected=sel["policy_regret"].to_dict(),
                         oracle_value=sel["oracle_value"].to_dict())
        out[o] = block
    return {"track2": {"validation": out}}
