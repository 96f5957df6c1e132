"""The targeting decision (Track 2, SPEC 5.8): policies chosen out of fold, valued on doubly-robust scores.

Inputs are the ``cate_eval`` stage's tables, so no CATE model is refitted here and a change to a
``policy:`` parameter reruns in seconds: ``customer_cate.csv`` (every unit's out-of-fold CATE
per learner, the chosen one flagged ``selected``; none flagged = the constant effect was chosen)
and ``dr_scores.csv`` (every unit's cross-fitted nuisances and DR score, its fold and overlap
flag), plus the cohort (covariates, arm, outcomes).

Policies (one 0/1 decision per unit; :func:`build_policies`): treat none, treat all, current
practice (who was actually targeted), CATE > 0, CATE > breakeven (cost / margin), the top k% of
the CATE ranking for each budget, the budget chosen by DR profit on the training folds, risk
adjusted (lower interval bound > breakeven, where the model gives intervals) and a depth-2
econml policy tree on a few covariates. Whatever is chosen from data (a top-k threshold, a
budget, a tree, the constant effect) is chosen on the other folds' units of the valuation
population and applied to the held-out fold, so each unit's decision never used its own outcome.

When the selection rule chose the constant effect (no heterogeneity supported), each held-out
fold gets the AIPW effect of the other folds as everybody's CATE, so the CATE rules are all or
nothing, and a top-k% budget is a random k% (nobody is predicted to respond more). Policies on
``policy.compare_models`` (the original project's causal forest by default) are valued beside,
marked ``eligible = 0``: they show what targeting on an unsupported model would earn, and its
plug-in optimism, but are never recommended.

The tree: ``dr_policy_tree`` fits econml's ``DRPolicyTree`` on each fold's training units with
its own cross-fitted nuisances (household-grouped), on the outcome minus breakeven x treated so
that its reward is the profit margin of treating (tau - cost / margin); ``policy_tree`` fits
econml's ``PolicyTree`` (the learner inside ``DRPolicyTree``) on the training units' DR rewards
[0, margin x G - cost] without refitting nuisances (faster; those scores' nuisances saw the held-out
fold's outcomes). The tree drawn in the figure is refitted on all units of the population: it is
the rule one would deploy; the valued decisions are the per-fold trees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.design import COVARIATE_PREFIX, covariate_columns, single_thread
from segtarget.track2.policy_value import breakeven, check_economics, household_counts, summarise, value_policies

log = logging.getLogger(__name__)

CONSTANT = "constant"
#: Policies with no rule to apply to new households (who was targeted in the past): benchmarks only,
#: never deployed in the target list nor sized in the A/B test.
NOT_DEPLOYABLE = ("current_practice",)
KEYS = [HOUSEHOLD, CAMPAIGN]
#: policy_comparison.csv: SPEC columns first.
COMPARISON_LEAD = ["outcome", "population", "policy", "n_targeted", "pct_targeted", "profit", "profit_ci_low",
                   "profit_ci_high", "roi"]


@dataclass
class PolicyInputs:
    """Units of one outcome in dr_scores order with everything the policies need."""

    df: pd.DataFrame            # keys, treated, fold, in_overlap, dr_score, outcome, x_ covariates
    model: str                  # selected model or "constant"
    cate: np.ndarray            # the selected model's out-of-fold CATE (NaN for the constant: filled per fold)
    ci_low: np.ndarray          # its lower interval bound (NaN where the model gives none)
    compare: dict = field(default_factory=dict)  # model -> (cate, ci_low)


def check_params(policy: dict) -> None:
    """One-line ParamError for values the schema cannot express."""
    check_economics(policy["margin"], policy["cost_per_contact"])
    if policy.get("contact_cost", 0) < 0:
        raise ParamError(f"policy.contact_cost = {policy['contact_cost']!r} is invalid; expected a cost >= 0")
    if not 0.5 < policy["level"] < 1:
        raise ParamError(f"policy.level = {policy['level']!r} is invalid; expected a confidence level in (0.5, 1)")
    bad = [b for b in policy["budgets"] if not 0 < b <= 100]
    if bad:
        raise ParamError(f"policy.budgets lists {bad[0]!r}; expected percentages in (0, 100]")
    for c in policy["cost_grid"]:
        check_economics(0.5, c)
    for m in policy["margin_grid"]:
        check_economics(m, 0.0)


def policy_inputs(cohort: pd.DataFrame, dr_scores: pd.DataFrame, customer_cate: pd.DataFrame, policy: dict) -> PolicyInputs:
    """Join the DR scores, the cohort and the selected model's CATE; one-line InputError on any mismatch."""
    outcome = policy["outcome"]
    need = [*KEYS, "outcome", "treated", "fold", "in_overlap", "dr_score"]
    miss = [c for c in need if c not in dr_scores.columns]
    if miss:
        raise InputError(f"dr_scores.csv: column {miss[0]} missing; expected the cate_eval stage's DR scores")
    d = dr_scores[dr_scores["outcome"] == outcome]
    if d.empty:
        raise InputError(f"dr_scores.csv: no rows for outcome {outcome} (policy.outcome); expected one of "
                         f"{', '.join(map(str, dr_scores['outcome'].unique()))}")
    for col in (outcome, "index_day", "outcome_days"):
        if col not in cohort.columns:
            raise InputError(f"cohort.csv: column {col} missing; expected the cohort stage's output (outcome: policy.outcome)")
    miss = [c for c in [*KEYS, "outcome", "model", "cate", "cate_ci_low", "fold", "selected"] if c not in customer_cate.columns]
    if miss:
        raise InputError(f"customer_cate.csv: column {miss[0]} missing; expected the cate_eval stage's customer CATE")
    covs = covariate_columns(cohort)
    df = d[need].drop(columns="outcome").merge(cohort[[*KEYS, outcome, "index_day", "outcome_days", *covs]]
                                               .rename(columns={outcome: "y"}), on=KEYS, how="left", validate="one_to_one")
    if df["y"].isna().any():
        raise InputError("dr_scores.csv: units not in cohort.csv; rerun the cate_eval stage on this cohort")
    cc = customer_cate[customer_cate["outcome"] == outcome]
    sel = cc[cc["selected"] == 1]
    models = sel["model"].unique()
    if len(models) > 1:
        raise InputError(f"customer_cate.csv: several models selected for {outcome} ({', '.join(models)}); expected one")

    def aligned(model: str):
        g = cc[cc["model"] == model]
        j = df[[*KEYS, "fold"]].merge(g[[*KEYS, "cate", "cate_ci_low", "fold"]], on=KEYS, how="left", suffixes=("", "_c"))
        if len(g) != len(df) or j["cate"].isna().any() or not np.array_equal(j["fold"], j["fold_c"]):
            raise InputError(f"customer_cate.csv: {outcome}/{model} does not cover the units and folds of dr_scores.csv; "
                             "rerun the cate and cate_eval stages together")
        return j["cate"].to_numpy(float), j["cate_ci_low"].to_numpy(float)

    model = str(models[0]) if len(models) else CONSTANT
    cate, lo = aligned(model) if model != CONSTANT else (np.full(len(df), np.nan), np.full(len(df), np.nan))
    compare = {m: aligned(m) for m in policy["compare_models"] if m != model and (cc["model"] == m).any()}
    return PolicyInputs(df.reset_index(drop=True), model, cate, lo, compare)


def population_mask(df: pd.DataFrame, population: str) -> np.ndarray:
    """Units policies are chosen on and the headline is valued on: ``overlap`` (in_overlap == 1) or ``all``."""
    if population == "all":
        return np.ones(len(df), bool)
    if population == "overlap":
        return df["in_overlap"].to_numpy().astype(bool)
    raise ParamError(f"policy.population = {population!r} is invalid; expected overlap or all")


def _folds(df: pd.DataFrame) -> np.ndarray:
    return np.sort(df["fold"].unique())


def fold_constant(df: pd.DataFrame, pop: np.ndarray, policy: dict) -> tuple[np.ndarray, np.ndarray]:
    """The constant effect each held-out fold gets: the other folds' mean DR score (AIPW) on the
    population, and the lower bound of its household-bootstrap interval."""
    tau, lo = np.full(len(df), np.nan), np.full(len(df), np.nan)
    fold, dr, hh = df["fold"].to_numpy(), df["dr_score"].to_numpy(float), df[HOUSEHOLD].to_numpy()
    for f in _folds(df):
        tr = (fold != f) & pop
        codes, W = household_counts(hh[tr], policy["n_bootstrap"], policy["seed"] + int(f))
        S = np.bincount(codes, weights=dr[tr], minlength=W.shape[1])
        N = np.bincount(codes, minlength=W.shape[1]).astype(float)
        means = (W @ S) / (W @ N)
        tau[fold == f] = dr[tr].mean()
        lo[fold == f] = np.quantile(means, (1 - policy["level"]) / 2)
    return tau, lo


def top_share(key: np.ndarray, fold: np.ndarray, pop: np.ndarray, pct: float) -> np.ndarray:
    """Target the held-out units whose key reaches the training folds' top ``pct`` percent threshold."""
    out = np.zeros(len(key), dtype=int)
    if pct <= 0:
        return out
    if pct >= 100:
        return np.ones(len(key), dtype=int)
    for f in np.unique(fold):
        k = np.sort(key[(fold != f) & pop])[::-1]
        thr = k[max(int(np.ceil(pct / 100 * k.size)) - 1, 0)]
        out[fold == f] = key[fold == f] >= thr
    return out


def top_in_sample(key: np.ndarray, pct: float) -> np.ndarray:
    """The top ``pct`` percent of ``key`` among the same units (ties at the threshold included)."""
    if pct <= 0 or key.size == 0:
        return np.zeros(key.size, dtype=int)
    k = np.sort(key)[::-1]
    return (key >= k[min(max(int(np.ceil(pct / 100 * k.size)) - 1, 0), k.size - 1)]).astype(int)


def budget_by_cv(key, dr, fold, pop, budgets, margin: float, cost: float) -> tuple[np.ndarray, dict]:
    """For each held-out fold, the budget (0 = nobody) with the highest DR profit on the training folds'
    own top-k of the population, applied to the held-out fold; returns (decisions, fold -> budget)."""
    out, chosen = np.zeros(len(key), dtype=int), {}
    for f in np.unique(fold):
        tr = (fold != f) & pop
        k_tr, g_tr = key[tr], dr[tr]
        best, best_k = 0.0, 0.0
        for b in budgets:
            a = top_in_sample(k_tr, b)
            p = float(np.sum(a * (margin * g_tr - cost)))
            if p > best:
                best, best_k = p, b
        chosen[int(f)] = best_k
        out[fold == f] = top_share(key, fold, pop, best_k)[fold == f]
    return out, chosen


def _tree_learner(policy: dict, seed: int):
    from segtarget.track2.econml_import import econml
    from segtarget.track2.outcome_models import make_outcome_model
    from segtarget.track2.propensity import make_propensity_model

    DRPolicyTree, PolicyTree = econml("policy").DRPolicyTree, econml("policy").PolicyTree

    opts = dict(max_depth=policy["tree_depth"], min_samples_leaf=policy["tree_min_leaf"], honest=True, random_state=seed)
    if policy["tree_learner"] == "policy_tree":
        return PolicyTree(**opts)
    return DRPolicyTree(model_regression=make_outcome_model("hgb", seed), model_propensity=make_propensity_model("hgb", seed),
                        cv=3, **opts)


def _fit_tree(df: pd.DataFrame, rows: np.ndarray, xcols, policy: dict, margin: float, cost: float, seed: int):
    sub = df.loc[rows]
    X = sub[xcols].to_numpy(float)
    tree = _tree_learner(policy, seed)
    with single_thread():
        if policy["tree_learner"] == "policy_tree":
            r = margin * sub["dr_score"].to_numpy(float) - cost
            tree.fit(X, np.column_stack([np.zeros(len(r)), r]))
        else:
            W = sub[[c for c in covariate_columns(df) if c not in xcols]].to_numpy(float)
            y = sub["y"].to_numpy(float) - cost / margin * sub["treated"].to_numpy(float)
            tree.fit(y, sub["treated"].to_numpy(int), X=X, W=W, groups=sub[HOUSEHOLD].to_numpy())
    return tree


def tree_columns(df: pd.DataFrame, policy: dict) -> list[str]:
    cols = [COVARIATE_PREFIX + c for c in policy["tree_covariates"]]
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise ParamError(f"policy.tree_covariates lists {miss[0].removeprefix(COVARIATE_PREFIX)}, which is not a cohort "
                         f"covariate; expected names of cohort.csv's x_ columns without the prefix")
    return cols


def tree_policy(df: pd.DataFrame, pop: np.ndarray, policy: dict, margin: float, cost: float):
    """Per-fold trees (fitted on the other folds' population units) deciding the held-out fold, and the
    tree refitted on all population units (shown, not valued). The fits run one after the other in this
    process: worker processes would each import econml, which takes longer than the fits."""
    xcols = tree_columns(df, policy)
    fold = df["fold"].to_numpy()
    out = np.zeros(len(df), dtype=int)
    for f in _folds(df):
        tree = _fit_tree(df, (fold != f) & pop, xcols, policy, margin, cost, policy["seed"] + int(f))
        out[fold == f] = tree.predict(df.loc[fold == f, xcols].to_numpy(float)).astype(int)
    final = _fit_tree(df, pop, xcols, policy, margin, cost, policy["seed"])
    return out, describe_tree(final, xcols, margin if policy["tree_learner"] == "dr_policy_tree" else 1.0)


def describe_tree(tree, xcols, scale: float = 1.0) -> pd.DataFrame:
    """Nodes of a fitted econml policy tree: id, depth, feature, threshold, children, n, decision and the
    estimated profit per contact of treating there (the tree's reward times ``scale``: the margin for
    DRPolicyTree, whose reward is tau - breakeven)."""
    t = getattr(tree, "policy_model_", tree).tree_
    depth = np.zeros(t.node_count, int)
    for i in range(t.node_count):
        for c in (t.children_left[i], t.children_right[i]):
            if c >= 0:
                depth[c] = depth[i] + 1
    val = t.value[:, :, 0] if t.value.ndim == 3 else t.value
    leaf = t.children_left < 0
    return pd.DataFrame({"node": np.arange(t.node_count), "depth": depth,
                         "feature": [xcols[j].removeprefix(COVARIATE_PREFIX) if not lf else "" for j, lf in zip(t.feature, leaf)],
                         "threshold": np.where(leaf, np.nan, t.threshold), "left": t.children_left, "right": t.children_right,
                         "n": t.n_node_samples, "profit_per_contact": scale * (val[:, 1] - val[:, 0]),
                         "decision": np.where(leaf, np.where(val[:, 1] > val[:, 0], "target", "do_not_target"), "")})


def tree_rules(tree: pd.DataFrame) -> list[str]:
    """Each leaf of :func:`describe_tree`'s table as a readable rule (path, decision, n, profit per contact)."""
    t, out = tree.set_index("node"), []

    def walk(node: int, path: list[str]) -> None:
        r = t.loc[node]
        if r["left"] < 0:
            out.append(f"{' and '.join(path) or 'everyone'} -> {r['decision']} (n = {int(r['n'])} of the honest half, "
                       f"profit per contact {r['profit_per_contact']:+.2f})")
            return
        walk(int(r["left"]), [*path, f"{r['feature']} <= {r['threshold']:.4g}"])
        walk(int(r["right"]), [*path, f"{r['feature']} > {r['threshold']:.4g}"])

    walk(0, [])
    return out


def build_policies(inp: PolicyInputs, pop: np.ndarray, policy: dict, margin: float, cost: float, tree: bool = True):
    """Every policy's out-of-fold decisions: (DataFrame units x policies, info per policy, extras)."""
    df, be = inp.df, breakeven(cost, margin)
    fold, dr = df["fold"].to_numpy(), df["dr_score"].to_numpy(float)
    cate, lo = inp.cate, inp.ci_low
    constant = inp.model == CONSTANT
    if constant:
        cate, lo = fold_constant(df, pop, policy)
    key = cate if not constant else np.random.default_rng(policy["seed"]).random(len(df))
    P, info, extra = {}, {}, {"cate": cate, "breakeven": be}
    note_c = f"constant effect selected: every unit's CATE is the other folds' AIPW effect ({np.mean(cate):.3g})"

    def add(name, a, model="", eligible=1, note=""):
        P[name] = np.asarray(a, dtype=int)
        info[name] = {"cate_model": model, "eligible": eligible, "note": note}

    add("treat_none", np.zeros(len(df)))
    add("treat_all", np.ones(len(df)))
    add("current_practice", df["treated"], note="who was actually targeted (the model's plug-in view of it beside)")
    add("cate_gt_0", cate > 0, inp.model, note=note_c + ": all or nothing" if constant else "")
    add("cate_gt_breakeven", cate > be, inp.model, note=note_c + ": all or nothing" if constant else "")
    if np.isfinite(lo).any():
        add("risk_adjusted", np.nan_to_num(lo, nan=-np.inf) > be, inp.model,
            note=f"lower {policy['level']:.0%} bound of the other folds' AIPW effect > breakeven" if constant
            else "lower interval bound of the CATE > breakeven")
    random_note = ("constant effect selected: a random share, worth the treat-all profit per contact in expectation "
                   "(its DR estimate is noise around that); shown, never recommended. ") if constant else ""
    for b in policy["budgets"]:
        add(f"top_{b:g}pct", top_share(key, fold, pop, b), inp.model, int(not constant), random_note.strip())
    a, chosen = budget_by_cv(key, dr, fold, pop, policy["budgets"], margin, cost)
    add("best_budget_cv", a, inp.model, int(not constant), random_note + "budget with the best DR profit on the "
        "training folds, per held-out fold: " + ", ".join(f"fold {f}: {b:g}%" for f, b in chosen.items()))
    if tree:
        a, extra["tree"] = tree_policy(df, pop, policy, margin, cost)
        add("policy_tree", a, policy["tree_learner"], note=f"depth-{policy['tree_depth']} econml {policy['tree_learner']} "
            f"on {', '.join(policy['tree_covariates'])}, fitted per fold on the other folds")
    for m, (c, l) in inp.compare.items():
        add(f"cate_gt_0@{m}", c > 0, m, 0, "not the selected model: shown for comparison, never recommended")
        add(f"cate_gt_breakeven@{m}", c > be, m, 0, "not the selected model (the original's rule on its model)")
        if np.isfinite(l).any():
            add(f"risk_adjusted@{m}", np.nan_to_num(l, nan=-np.inf) > be, m, 0, "not the selected model")
    return pd.DataFrame(P), info, extra


def plugin_cate(inp: PolicyInputs, cate: np.ndarray, info: dict) -> np.ndarray:
    """Per-unit prediction behind each policy's plug-in value: its own model's CATE for comparison
    policies, the selected model's (or the fold constant) otherwise: units x policies."""
    cols = [inp.compare[v["cate_model"]][0] if v["cate_model"] in inp.compare else cate for v in info.values()]
    return np.column_stack(cols)


def compare_table(assign: pd.DataFrame, info: dict, inp: PolicyInputs, cate, masks: dict, counts, policy: dict,
                  margin: float, cost: float) -> pd.DataFrame:
    """policy_comparison rows for each population in ``masks``."""
    plug = plugin_cate(inp, cate, info)
    parts = []
    for name, m in masks.items():
        v = value_policies(assign, inp.df["dr_score"], plug, inp.df[HOUSEHOLD], counts, m)
        t = summarise(v, margin, cost, policy["level"])
        t.insert(0, "population", name)
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    meta = pd.DataFrame.from_dict(info, orient="index").rename_axis("policy").reset_index()
    out = out.merge(meta, on="policy", how="left")
    out.insert(0, "outcome", policy["outcome"])
    out["cost_per_contact"], out["margin"], out["breakeven"] = cost, margin, cost / margin
    return out[[*COMPARISON_LEAD, *[c for c in out.columns if c not in COMPARISON_LEAD]]]


def best_policy(table: pd.DataFrame, population: str) -> pd.Series:
    """The eligible policy with the highest DR profit on ``population`` (ties: fewer contacts, then table order)."""
    t = table[(table["population"] == population) & (table["eligible"] == 1)].reset_index(drop=True)
    order = np.lexsort((np.arange(len(t)), t["n_targeted"].to_numpy(), -t["profit"].round(6).to_numpy()))
    return t.iloc[order[0]]


def roi_curve(inp: PolicyInputs, cate, masks: dict, counts, policy: dict, margin: float, cost: float) -> pd.DataFrame:
    """Top-k% over the budget grid for the selected ranking (random if constant) and each comparison model."""
    fold, head = inp.df["fold"].to_numpy(), masks[policy["population"]]
    rank_key = {inp.model: cate if inp.model != CONSTANT else np.random.default_rng(policy["seed"]).random(len(cate))}
    rank_key.update({m: c for m, (c, _) in inp.compare.items()})
    budgets = [0, *policy["budgets"]]
    parts = []
    for model, key in rank_key.items():
        A = pd.DataFrame({f"{b:g}": top_share(key, fold, head, b) for b in budgets})
        plug = cate if model == inp.model else inp.compare[model][0]
        for name, m in masks.items():
            t = summarise(value_policies(A, inp.df["dr_score"], plug, inp.df[HOUSEHOLD], counts, m), margin, cost,
                          policy["level"])
            t.insert(0, "budget_pct", budgets)
            t.insert(0, "ranking", model if model != CONSTANT else "random (constant effect selected)")
            t.insert(0, "population", name)
            t["selected_model"] = int(model == inp.model)
            parts.append(t.drop(columns="policy"))
    out = pd.concat(parts, ignore_index=True)
    lead = ["pct_targeted", "profit", "profit_ci_low", "profit_ci_high", "roi"]
    return out[[*lead, *[c for c in out.columns if c not in lead]]]
