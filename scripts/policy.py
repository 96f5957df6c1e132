#!/usr/bin/env python
"""Stage `policy`: whom to target, what it earns (DR profit with CIs beside the plug-in), segments, A/B design.

Composes Track 1 (the saved segment model) with Track 2: every cohort unit is placed in a
segment from its lookback-window features only, then the policies are chosen out of fold and
valued on the cate_eval stage's doubly-robust scores. No CATE model is refitted.
"""

from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.features import connect, read_tables
from segtarget.track1.model import assign_segments, load_model
from segtarget.track2 import figures_policy as FP
from segtarget.track2.policy_run import run_policy
from segtarget.track2.policy_segments import assign_units, lookback_features
from segtarget.track2.policy_value import redeemed_discounts

TABLES = ("transactions", "products", "coupons", "coupon_redemptions")


def run(args):
    policy, features, compute = params.load_section(args.params, "policy", "features", "compute")
    cohort, model = io.read_csv(args.cohort), load_model(args.model)
    con = connect("duckdb", compute["threads"], compute["memory_limit"])
    tables = read_tables(con, args.interim_dir, TABLES)
    segments = assign_units(lookback_features(con, tables, cohort, features), lambda f: assign_segments(f, model),
                            tiers=lambda f: model.tiers().fit(f).transform(f))
    discounts = redeemed_discounts(con, tables, cohort) if policy["cost_source"] == "estimate" else None
    out = run_policy(cohort, io.read_csv(args.dr_scores), io.read_csv(args.cate), segments, policy, discounts,
                     io.read_csv(args.households), io.read_csv(args.household_scores))
    with io.staged_dir(Path(args.figures_dir)) as tmp:
        FP.save_all(out, tmp)
    for name in ("comparison", "roi_curve", "sensitivity", "recommendations", "ab_design", "assignments"):
        io.write_csv(getattr(out, name), getattr(args, name))
    io.write_csv(out.target_list, args.target_list)
    io.write_json({"track2": {"policy": out.metrics}}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--dr-scores", default="results/tables/dr_scores.csv", help="the cate_eval stage's DR scores")
    ap.add_argument("--cate", default="results/tables/customer_cate.csv", help="out-of-fold CATE, selected model flagged")
    ap.add_argument("--model", default="results/models/segmentation.json", help="the saved Track 1 segment model")
    ap.add_argument("--interim-dir", default="data/interim", help="canonical parquet tables (lookback features, coupons)")
    ap.add_argument("--households", default="results/tables/current_households.csv", help="the score_households stage's")
    ap.add_argument("--household-scores", dest="household_scores", default="results/tables/household_scores.csv")
    ap.add_argument("--target-list", dest="target_list", default="results/tables/target_list.csv")
    ap.add_argument("--comparison", default="results/tables/policy_comparison.csv")
    ap.add_argument("--roi-curve", dest="roi_curve", default="results/tables/roi_curve.csv")
    ap.add_argument("--sensitivity", default="results/tables/cost_margin_sensitivity.csv")
    ap.add_argument("--recommendations", default="results/tables/segment_recommendations.csv")
    ap.add_argument("--ab-design", dest="ab_design", default="results/tables/ab_test_design.csv")
    ap.add_argument("--assignments", default="results/tables/policy_assignments.csv", help="every unit x policy, out of fold")
    ap.add_argument("--figures-dir", default="results/figures/policy")
    ap.add_argument("--metrics", default="results/metrics/policy.json")
    cli.main(run, ap)
