# Helpers shared by all rules (parameter validation, per-stage params and code deps).
#
# dvc.yaml is the one place that lists, per stage, the params keys it reads and the code it
# runs; the rules take both from there (stage_params, code_deps), so Snakemake and DVC rerun
# a stage for the same reasons. tests/test_workflow_drift.py checks the rest (commands, data
# inputs, outputs) against dvc.yaml.
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

from segtarget.core import params as seg_params
from segtarget.core.errors import ParamError
from segtarget.core.paths import CANONICAL_TABLES

try:
    seg_params.validate(config, source="params.yaml")
except ParamError as exc:
    sys.exit(f"error: {exc}")
validate(config, "../schemas/params.schema.yaml", set_default=True)

DVC_STAGES = yaml.safe_load(Path("dvc.yaml").read_text())["stages"]


def _lookup(key):
    node = config
    for part in key.split("."):
        node = node[part]
    return node


def stage_params(stage):
    """The params values a stage reads (the keys its dvc.yaml stage declares)."""
    keys = []
    for entry in DVC_STAGES[stage].get("params", []):
        keys.extend([entry] if isinstance(entry, str) else [k for v in entry.values() for k in v])
    return {key: _lookup(key) for key in keys}


def code_deps(stage):
    """The code a stage runs: its dvc.yaml deps under scripts/ and src/."""
    return [d for d in DVC_STAGES[stage]["deps"] if d.startswith(("scripts/", "src/"))]


SEGMENT_TABLES = [
    "nmf_rank_selection", "factor_loadings", "cluster_selection", "segment_stability",
    "segments", "segment_profiles", "segment_strategy", "segment_separation", "factor_names",
    "segment_feature_differences", "segment_value_tiers", "segment_recipe_comparison",
]
POSITIVITY_TABLES = ["propensity_scores", "positivity", "balance", "propensity_models", "propensity_calibration"]
METRIC_PARTS = [
    "results/metrics/segment.json", "results/metrics/positivity.json", "results/metrics/ate.json",
    "results/metrics/cate.json", "results/metrics/cate_eval.json", "results/metrics/refute.json",
    "results/metrics/semisynthetic.json", "results/metrics/score_households.json", "results/metrics/policy.json",
]
REPORT_TABLES = [
    "data_summary", "feature_dictionary", "customer_features", *SEGMENT_TABLES, "cohort_flow", "cohort",
    *POSITIVITY_TABLES, "ate", "cate_predictions", "cate_summary", "cate_model_selection", "uplift_curves",
    "cate_calibration", "customer_cate", "refutation", "sensitivity", "semisynthetic", "semisynthetic_summary",
    "policy_comparison", "roi_curve", "cost_margin_sensitivity", "segment_recommendations", "ab_test_design",
    "target_list",
]
FIGURE_STAGES = ["segment", "positivity", "ate", "cate", "cate_eval", "semisynthetic", "policy"]
#: The report documents, each rendered in English and Korean (report/{en,ko}/<doc>.qmd).
REPORT_DOCS = ["track1", "track2", "summary"]
COHORT_TABLES = ["transactions", "products", "campaigns", "campaign_members", "coupon_redemptions", "promotions"]


def semisynthetic_reps():
    """One table per (shape, replication) of the semisynthetic section: one job each."""
    sem = config["semisynthetic"]
    return expand("results/semisynthetic/{shape}_{rep}.csv", shape=sem["shapes"], rep=sem["replications"])


def interim_tables(tables=CANONICAL_TABLES):
    return expand("data/interim/{table}.parquet", table=tables)


def all_outputs():
    return [
        "results/tables/data_summary.csv",
        "results/tables/customer_features.csv",
        "results/metrics.json",
        "results/run_info.json",
    ]
