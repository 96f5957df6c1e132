"""Who to contact next: the recommended policy applied to every current household (target_list.csv).

The policy stage chooses and values policies on the cohort's past units; this module deploys
the chosen one on the households scored by the ``score_households`` stage
(:mod:`segtarget.track2.scoring`): same model, same covariates, so the decision is the one the
valuation stands behind.

* **Which policy.** The best eligible policy by DR profit on ``policy.population``, except
  ``current_practice``: it is who was targeted in the past, a benchmark with no rule to apply to
  new households. If it is the best, the best deployable policy is used and the note says so.
* **How each rule is applied.** treat none / all; CATE > 0; CATE > breakeven; risk adjusted
  (lower interval bound > breakeven); top k% (the top k% of the current households by predicted
  effect, a seeded random k% when the constant effect was selected); the budget chosen by DR
  profit on all population units (``best_budget_cv``, deployed with the budget the whole
  population supports); the policy tree refitted on all population units (the tree in
  policy_tree.csv), walked on the households' covariates.
* **What the list earns** (:func:`list_value`). The valuation measured the policy's DR
  incremental sales per contacted unit of the cohort with a household-bootstrap interval; the
  list's expected incremental sales are that per-contact figure times the households it
  targets, profit = margin x sales - cost x contacts, with the interval scaled the same way.
  This transports the cohort's per-contact effect to the current households (the same rule
  picks comparable households); the plug-in sum of the model's own predictions is beside it.

Examples
--------
>>> import pandas as pd
>>> tree = pd.DataFrame({"node": [0, 1, 2], "feature": ["spend", "", ""], "threshold": [10.0, None, None],
...                      "left": [1, -1, -1], "right": [2, -1, -1], "decision": ["", "do_not_target", "target"]})
>>> apply_tree(tree, pd.DataFrame({"x_spend": [5.0, 12.0]})).tolist()
[0, 1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError
from segtarget.data.columns import HOUSEHOLD
from segtarget.track2 import policy as P
from segtarget.track2.design import COVARIATE_PREFIX

#: target_list.csv columns, in order.
COLUMNS = [HOUSEHOLD, "target", "policy", "segment", "segment_name", "segment_name_ko", "value_tier", "segment_action",
           "cate", "cate_ci_low", "cate_ci_high", "model", "plugin_profit_if_targeted", "propensity", "in_overlap",
           "previously_targeted", "ab_test_candidate", "index_day"]


def apply_tree(tree: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """0/1 decisions of a policy tree table (:func:`segtarget.track2.policy.describe_tree`) on covariates ``X``
    (columns ``x_<feature>``); a unit goes left when its value is <= the node's threshold, as in scikit-learn."""
    t = tree.set_index("node")
    node = np.zeros(len(X), dtype=int)
    for _ in range(int(tree["depth"].max()) + 1 if "depth" in tree else len(tree)):
        left = t.loc[node, "left"].to_numpy()
        inner = left >= 0
        if not inner.any():
            break
        for n in np.unique(node[inner]):
            rows = node == n
            col = COVARIATE_PREFIX + str(t.loc[n, "feature"])
            if col not in X.columns:
                raise InputError(f"current_households.csv: column {col} (a policy tree split) missing; rerun score_households")
            go_left = X.loc[rows, col].to_numpy(float) <= float(t.loc[n, "threshold"])
            node[rows] = np.where(go_left, int(t.loc[n, "left"]), int(t.loc[n, "right"]))
    return (t.loc[node, "decision"].to_numpy() == "target").astype(int)


def deployed_policy(table: pd.DataFrame, population: str) -> tuple[pd.Series, str]:
    """(the policy the list applies, a note): the best eligible policy, or the best deployable one."""
    best = P.best_policy(table, population)
    if best["policy"] not in P.NOT_DEPLOYABLE:
        return best, f"{best['policy']}: the recommended policy (best DR profit on {population} units)"
    t = table[~table["policy"].isin(P.NOT_DEPLOYABLE)]
    alt = P.best_policy(t, population)
    return alt, (f"{alt['policy']}: the recommended policy, {best['policy']}, is who was targeted in the past and has no "
                 "rule for new households; this is the best policy that does")


def decisions(name: str, cate: np.ndarray, ci_low: np.ndarray, constant: bool, be: float, policy: dict,
              tree: pd.DataFrame | None, X: pd.DataFrame, budget: float | None) -> np.ndarray:
    """0/1 per current household under policy ``name`` (module docstring)."""
    n = len(cate)
    key = np.random.default_rng(policy["seed"]).random(n) if constant else cate
    if name == "treat_none":
        return np.zeros(n, int)
    if name == "treat_all":
        return np.ones(n, int)
    if name == "cate_gt_0":
        return (cate > 0).astype(int)
    if name == "cate_gt_breakeven":
        return (cate > be).astype(int)
    if name == "risk_adjusted":
        return (np.nan_to_num(ci_low, nan=-np.inf) > be).astype(int)
    if name.startswith("top_") and name.endswith("pct"):
        return P.top_in_sample(key, float(name[4:-3]))
    if name == "best_budget_cv":
        return P.top_in_sample(key, budget or 0.0)
    if name == "policy_tree":
        if tree is None:
            raise InputError("policy: the policy tree was not fitted; cannot apply policy_tree to the households")
        return apply_tree(tree, X)
    raise InputError(f"policy: {name} cannot be applied to new households")


def population_budget(inp, pop: np.ndarray, cate: np.ndarray, policy: dict, margin: float, cost: float) -> float:
    """The budget (0 = nobody) with the best DR profit on all population units' own top-k: best_budget_cv as deployed."""
    key, dr = cate[pop], inp.df["dr_score"].to_numpy(float)[pop]
    best, best_k = 0.0, 0.0
    for b in policy["budgets"]:
        p = float(np.sum(P.top_in_sample(key, b) * (margin * dr - cost)))
        if p > best:
            best, best_k = p, b
    return best_k


def list_value(row: pd.Series, n_list: int, margin: float, cost: float) -> dict:
    """Expected incremental sales and profit of a list of ``n_list`` contacts, from the policy's per-contact DR value."""
    n = float(row["n_targeted"])
    per = {k: (float(row[f"incremental_sales{k}"]) / n if n else 0.0) for k in ("", "_ci_low", "_ci_high")}
    sales = {k: v * n_list for k, v in per.items()}
    profit = {k: margin * v - cost * n_list for k, v in sales.items()}
    return {"n_targeted": int(n_list), "incremental_sales_per_contact": per[""],
            "incremental_sales": sales[""], "incremental_sales_ci": [sales["_ci_low"], sales["_ci_high"]],
            "profit": profit[""], "profit_ci": [profit["_ci_low"], profit["_ci_high"]],
            "roi": profit[""] / (cost * n_list) if n_list and cost else None}


def build_target_list(households: pd.DataFrame, scores: pd.DataFrame, table: pd.DataFrame, recs: pd.DataFrame,
                      inp, pop: np.ndarray, cate_cohort: np.ndarray, policy: dict, margin: float, cost: float,
                      tree: pd.DataFrame | None, ab_policy: str | None = None) -> tuple[pd.DataFrame, dict]:
    """(target_list.csv, its metrics block): every current household with its decision and the list's value."""
    outcome, be = policy["outcome"], cost / margin
    s = scores[scores["outcome"] == outcome]
    if s.empty:
        raise InputError(f"household_scores.csv: no rows for outcome {outcome} (policy.outcome); rerun score_households")
    if set(s["model"]) != {inp.model}:
        raise InputError(f"household_scores.csv: scored with {', '.join(map(str, set(s['model'])))} but the selected model "
                         f"for {outcome} is {inp.model}; rerun score_households after cate_eval")
    df = households.merge(s.drop(columns=["outcome", "in_overlap"]), on=HOUSEHOLD, how="inner", validate="one_to_one")
    if len(df) != len(households):
        raise InputError("household_scores.csv: households do not match current_households.csv; rerun score_households")
    row, note = deployed_policy(table, policy["population"])
    name = str(row["policy"])
    budget = population_budget(inp, pop, cate_cohort, policy, margin, cost) if name == "best_budget_cv" else None
    cate, lo = df["cate"].to_numpy(float), df["cate_ci_low"].to_numpy(float)
    target = decisions(name, cate, lo, inp.model == P.CONSTANT, be, policy, tree, df, budget)
    if ab_policy is not None:
        b = population_budget(inp, pop, cate_cohort, policy, margin, cost) if ab_policy == "best_budget_cv" else None
        ab = decisions(ab_policy, cate, lo, inp.model == P.CONSTANT, be, policy, tree, df, b)
        df["ab_test_candidate"] = np.where(ab == 1, "yes", "no")
    seg = recs[recs["group"] == "segment"].set_index("segment")["action"]
    df["segment_action"] = df["segment"].astype("Int64").astype(str).map(seg)
    df["target"] = np.where(target == 1, "yes", "no")
    df["policy"], df["plugin_profit_if_targeted"] = name, margin * cate - cost
    out = df[[c for c in COLUMNS if c in df.columns]].sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)
    value = list_value(row, int(target.sum()), margin, cost)
    value.update({"policy": name, "note": note, "households": int(len(df)), "pct_targeted": 100.0 * target.mean(),
                  "plugin_profit": float(np.sum(target * (margin * cate - cost))),
                  "targeted_in_overlap": int(np.sum(target * df["in_overlap"].to_numpy())),
                  "targeted_previously_targeted": int(np.sum(target * (df["previously_targeted"].to_numpy() > 0))),
                  "budget_pct": budget, "index_day": int(df["index_day"].iloc[0]), "ab_policy": ab_policy,
                  "ab_test_candidates": int((df.get("ab_test_candidate", pd.Series(dtype=str)) == "yes").sum())})
    return out, value
