"""The policy stage (Track 2, SPEC 5.8) put together: every table, the figure inputs and the metrics block.

:func:`run_policy` takes the tables the stage reads (cohort, DR scores, customer CATE), the
units' segments (composed by the script from Track 1's saved model on lookback features:
:mod:`segtarget.track2.policy_segments`) and the ``policy:`` params, and returns
:class:`PolicyResult`:

* ``comparison`` (policy_comparison.csv): every policy on the headline population
  (``policy.population``, default the overlap band where the DR scores are trustworthy) and on
  all units, with DR incremental sales, profit and ROI with household-bootstrap CIs, and the
  plug-in figures beside;
* ``roi_curve`` (roi_curve.csv): top-k% budgets for the selected ranking (random when the
  constant effect was selected) and each comparison model;
* ``sensitivity`` (cost_margin_sensitivity.csv): for each cost x margin cell, the eligible
  policy with the best DR profit (the breakeven rules re-derived per cell; the policy tree is
  not refitted per cell and is left out of the grid);
* ``recommendations`` (segment_recommendations.csv), ``ab_design`` (ab_test_design.csv),
  ``assignments`` (policy_assignments.csv: every unit x policy, out of fold), ``metrics``.

The cost per contact is ``policy.cost_per_contact`` (``cost_source: fixed``) or, with
``estimate``, ``policy.contact_cost`` plus the mean redeemed coupon discount per targeted unit
of the stacked campaigns (:func:`segtarget.track2.policy_value.redeemed_discounts`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2 import policy as P
from segtarget.track2.design import COVARIATE_PREFIX
from segtarget.track2.policy_segments import segment_recommendations
from segtarget.track2.policy_value import ab_test_design, breakeven, household_counts, summarise, value_policies
from segtarget.track2.target_list import build_target_list

log = logging.getLogger(__name__)
OTHER = {"overlap": "all", "all": "overlap"}
#: Policies whose decisions depend on the breakeven, re-derived in each cell of the cost x margin grid.
BREAKEVEN_POLICIES = ("cate_gt_breakeven", "risk_adjusted", "best_budget_cv")


@dataclass
class PolicyResult:
    comparison: pd.DataFrame
    roi_curve: pd.DataFrame
    sensitivity: pd.DataFrame
    recommendations: pd.DataFrame
    ab_design: pd.DataFrame
    assignments: pd.DataFrame
    metrics: dict
    tree: pd.DataFrame | None = None
    extra: dict = field(default_factory=dict)
    target_list: pd.DataFrame | None = None


def contact_cost(policy: dict, discounts: dict | None) -> tuple[float, str]:
    """(cost per contact, how it was set)."""
    if policy["cost_source"] == "fixed":
        return float(policy["cost_per_contact"]), "fixed (policy.cost_per_contact)"
    if discounts is None:
        raise InputError("policy.cost_source = 'estimate' needs the redeemed coupon discounts (coupons, "
                         "coupon_redemptions and transactions of the interim folder)")
    c = float(policy["contact_cost"]) + discounts["discount_per_contact"]
    return c, (f"estimate: contact cost {policy['contact_cost']:g} + mean redeemed coupon discount "
               f"{discounts['discount_per_contact']:.4g} per targeted unit ({discounts['redeeming_units']} of "
               f"{discounts['treated_units']} treated units redeemed)")


def sensitivity_grid(inp, pop, counts, policy: dict, assign: pd.DataFrame, info: dict, cate) -> pd.DataFrame:
    """Best eligible policy by DR profit (headline population) in each cost x margin cell."""
    costs = sorted(set(map(float, policy["cost_grid"])) | {policy["_cost"]})
    margins = sorted(set(map(float, policy["margin_grid"])) | {float(policy["margin"])})
    fixed = [p for p, v in info.items() if v["eligible"] and p not in (*BREAKEVEN_POLICIES, "policy_tree")]
    v_fixed = value_policies(assign[fixed], inp.df["dr_score"], cate, inp.df[HOUSEHOLD], counts, pop)
    rows = []
    for c in costs:
        for m in margins:
            a, _, _ = P.build_policies(inp, pop, policy, m, c, tree=False)
            keep = [p for p in BREAKEVEN_POLICIES if p in a.columns and info[p]["eligible"]]
            parts = [summarise(v_fixed, m, c, policy["level"])]
            if keep:
                v_be = value_policies(a[keep], inp.df["dr_score"], cate, inp.df[HOUSEHOLD], counts, pop)
                parts.append(summarise(v_be, m, c, policy["level"]))
            t = pd.concat(parts, ignore_index=True)
            t["population"], t["eligible"] = policy["population"], 1
            b = P.best_policy(t, policy["population"])
            rows.append({"cost": c, "margin": m, "breakeven": c / m, "best_policy": b["policy"],
                         "pct_targeted": b["pct_targeted"], "profit": b["profit"], "profit_ci_low": b["profit_ci_low"],
                         "profit_ci_high": b["profit_ci_high"], "n_targeted": b["n_targeted"], "roi": b["roi"],
                         "plugin_profit": b["plugin_profit"], "treat_all_profit": t.loc[t.policy == "treat_all", "profit"].iloc[0],
                         "headline": int(np.isclose(c, policy["_cost"]) and np.isclose(m, policy["margin"])),
                         "population": policy["population"], "note": "policy tree not refitted per cell: left out"})
    return pd.DataFrame(rows)


def campaign_rate(df: pd.DataFrame, targeted: np.ndarray) -> tuple[float, float]:
    """(eligible units per week, outcome weeks): targeted units per stacked campaign over the mean gap
    between campaign starts (one campaign: its outcome window), and the median outcome window in weeks."""
    days = np.sort(df["index_day"].unique())
    outcome_weeks = float(np.median(df["outcome_days"])) / 7
    gap = float(np.mean(np.diff(days))) / 7 if days.size > 1 else outcome_weeks
    per_campaign = float(np.sum(targeted)) / days.size
    return per_campaign / gap, outcome_weeks


def ab_design(inp, pop, table: pd.DataFrame, assign: pd.DataFrame, policy: dict, be: float) -> pd.DataFrame:
    """The A/B test that would confirm the recommended policy (or, if it targets nobody, the best eligible
    policy that targets someone): MDE = breakeven; sigma from control outcomes among its targeted units of the
    population (fallback: all the population's controls); CUPED on lookback spend."""
    t = table[(table["population"] == policy["population"]) & (table["eligible"] == 1) & (table["n_targeted"] > 0)
              & ~table["policy"].isin(P.NOT_DEPLOYABLE)]
    if t.empty:
        raise InputError("policy: no eligible policy that can be deployed targets anybody; no A/B design")
    name = P.best_policy(t, policy["population"])["policy"]
    df = inp.df
    target = assign[name].to_numpy().astype(bool)
    ctrl = (df["treated"].to_numpy() == 0) & pop
    use, src = ctrl & target, f"control outcomes of the units {name} targets ({policy['population']})"
    if use.sum() < policy["ab_min_controls"]:
        use, src = ctrl, f"all control outcomes ({policy['population']}): fewer than {policy['ab_min_controls']} among the targeted"
    spend_col = COVARIATE_PREFIX + policy["ab_spend_covariate"]
    if spend_col not in df.columns:
        raise InputError(f"cohort.csv: column {spend_col} (policy.ab_spend_covariate) missing")
    per_week, weeks_out = campaign_rate(df, target)
    out = ab_test_design(df.loc[use, "y"], df.loc[use, spend_col], be, policy["ab_alpha"], policy["ab_power"], per_week,
                         weeks_out, src, name)
    best = P.best_policy(table, policy["population"])
    reason = "targets nobody" if best["n_targeted"] == 0 else "has no rule for new households"
    why = ("" if name == best["policy"] else
           f"the recommended policy ({best['policy']}) {reason}: the test is sized for {name}, the best eligible policy "
           "that targets someone (a randomised holdout among the households it would contact); ")
    out["note"] = why + ("eligible households per week = units the policy targets per stacked campaign (all cohort units) / "
                   "mean weeks between campaign starts; weeks = weeks of such households needed to enrol both arms, "
                   "before the outcome window (outcome_weeks) is measured; rho = correlation of the outcome with "
                   f"lookback {policy['ab_spend_covariate']} among the same controls")
    return out


def _metrics(inp, table, best, recs, ab, policy, cost, cost_note, be, tree) -> dict:
    pop = policy["population"]
    row = lambda name: table[(table.population == pop) & (table.policy == name)].iloc[0]  # noqa: E731
    cur, allp = row("current_practice"), row("treat_all")
    acts = recs[recs["group"] == "segment"].groupby("action")["segment"].apply(list).to_dict()
    ab0, ab1 = ab[ab.variance_reduction == "none"].iloc[0], ab[ab.variance_reduction == "cuped"].iloc[0]
    return {
        "outcome": policy["outcome"], "population": pop, "n_units": int(best["n_units"]),
        "selected_model": inp.model, "constant_selected": inp.model == P.CONSTANT,
        "cost_per_contact": cost, "cost_source": cost_note, "margin": policy["margin"], "breakeven": be,
        "best_policy": best["policy"], "best_pct_targeted": best["pct_targeted"], "best_n_targeted": int(best["n_targeted"]),
        "best_dr_profit": best["profit"], "best_dr_profit_ci": [best["profit_ci_low"], best["profit_ci_high"]],
        "best_plugin_profit": best["plugin_profit"], "best_roi": best["roi"], "best_roi_ci": [best["roi_ci_low"], best["roi_ci_high"]],
        "treat_all_dr_profit": allp["profit"], "treat_all_dr_profit_ci": [allp["profit_ci_low"], allp["profit_ci_high"]],
        "current_practice_dr_profit": cur["profit"], "current_practice_plugin_profit": cur["plugin_profit"],
        "segment_actions": {k: sorted(v, key=lambda s: (len(s), s)) for k, v in acts.items()},
        "ab_policy": ab0["population"], "ab_n_per_arm": int(ab0["n_per_arm"]), "ab_n_per_arm_cuped": int(ab1["n_per_arm"]),
        "ab_sigma": ab0["sigma"], "ab_rho": ab1["rho"], "ab_weeks": ab0["weeks"], "ab_weeks_cuped": ab1["weeks"],
        "policy_tree_dr_profit": row("policy_tree")["profit"] if (table.policy == "policy_tree").any() else None,
        "policy_tree_rules": None if tree is None else P.tree_rules(tree),
        "comparison_models": {r.policy: {"pct_targeted": r.pct_targeted, "dr_profit": r.profit,
                                         "dr_profit_ci": [r.profit_ci_low, r.profit_ci_high], "plugin_profit": r.plugin_profit}
                              for r in table[(table.population == pop) & table.policy.str.contains("@")].itertuples()},
        "n_bootstrap": policy["n_bootstrap"], "level": policy["level"],
    }


def run_policy(cohort: pd.DataFrame, dr_scores: pd.DataFrame, customer_cate: pd.DataFrame, segments: pd.DataFrame,
               policy: dict, discounts: dict | None = None, households: pd.DataFrame | None = None,
               household_scores: pd.DataFrame | None = None) -> PolicyResult:
    """The stage: inputs -> out-of-fold policies -> DR valuation, ROI curve, grid, segments, A/B, metrics, and
    (given the score_households stage's tables) the target list of the current households."""
    P.check_params(policy)
    cost, cost_note = contact_cost(policy, discounts)
    margin = float(policy["margin"])
    be = breakeven(cost, margin)
    policy = {**policy, "_cost": cost}
    inp = P.policy_inputs(cohort, dr_scores, customer_cate, policy)
    pop = P.population_mask(inp.df, policy["population"])
    masks = {policy["population"]: pop, OTHER[policy["population"]]: P.population_mask(inp.df, OTHER[policy["population"]])}
    counts = household_counts(inp.df[HOUSEHOLD], policy["n_bootstrap"], policy["seed"])
    assign, info, extra = P.build_policies(inp, pop, policy, margin, cost)
    cate = extra["cate"]
    table = P.compare_table(assign, info, inp, cate, masks, counts, policy, margin, cost)
    best = P.best_policy(table, policy["population"])
    curve = P.roi_curve(inp, cate, masks, counts, policy, margin, cost)
    grid = sensitivity_grid(inp, pop, counts, policy, assign, info, cate)
    recs = segment_recommendations(inp.df, segments, pop, counts, be, margin, cost, policy["level"], cate)
    recs.insert(0, "outcome", policy["outcome"])
    ab = ab_design(inp, pop, table, assign, policy, be)
    long = assign.assign(**{k: inp.df[k] for k in (HOUSEHOLD, CAMPAIGN)}).melt(
        id_vars=[HOUSEHOLD, CAMPAIGN], var_name="policy", value_name="targeted")
    metrics = _metrics(inp, table, best, recs, ab, policy, cost, cost_note, be, extra.get("tree"))
    if discounts is not None:
        metrics["discount_estimate"] = discounts
    targets = None
    if households is not None and household_scores is not None:
        targets, metrics["target_list"] = build_target_list(households, household_scores, table, recs, inp, pop, cate,
                                                            policy, margin, cost, extra.get("tree"), metrics["ab_policy"])
    log.info("policy: best %s on %s (%.1f%% targeted), DR profit %.0f [%.0f, %.0f], plug-in %.0f",
             best["policy"], policy["population"], best["pct_targeted"], best["profit"], best["profit_ci_low"],
             best["profit_ci_high"], best["plugin_profit"])
    return PolicyResult(table, curve, grid, recs, ab, long, metrics, extra.get("tree"),
                        {"breakeven": be, "cost": cost, "margin": margin, "population": policy["population"],
                         "selected_model": inp.model, "best": best["policy"], "level": policy["level"]}, targets)
