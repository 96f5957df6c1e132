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
    """The code a stage runs: its dvc.yaml deps under scripts/ and src/, a folder as its .py files
    (Snakemake compares a folder's own modification time, which editing a file in it does not
    change; DVC hashes the folder's content)."""
    deps = []
    for dep in DVC_STAGES[stage]["deps"]:
        if dep.startswith(("scripts/", "src/")):
            path = Path(dep)
            deps.extend(sorted(p.as_posix() for p in path.rglob("*.py")) if path.is_dir() else [dep])
    return deps


SEGMENT_TABLES = [
    "nmf_rank_selection", "factor_loadings", "cluster_selection", "segment_stability",
    "segments", "segment_profiles", "segment_strategy", "segment_separation", "factor_names",
    "segment_feature_differences", "segment_value_tiers", "segment_recipe_comparison",
]
POSITIVITY_TABLES = ["propensity_scores", "positivity", "balance", "propensity_models", "propensity_calibration"]
TRACK2_METRICS = ["positivity", "ate", "cate", "cate_eval", "refute", "semisynthetic", "score_households", "policy"]
METRIC_PARTS = [f"results/metrics/{stage}.json" for stage in ["segment", *TRACK2_METRICS]]
#: The report documents (report/{en,ko}/<doc>.qmd), one job per document and language; each
#: depends only on the results it prints (dvc.yaml: stages report_<doc>, the same lists).
REPORT_DOCS = ["track1", "track2", "summary"]
REPORT_LANGS = ["en", "ko"]
COHORT_TABLES = ["transactions", "products", "campaigns", "campaign_members", "coupon_redemptions", "promotions"]


def semisynthetic_reps():
    """One table per (shape, replication) of the semisynthetic section: one job each."""
    sem = config["semisynthetic"]
    return expand("results/semisynthetic/{shape}_{rep}.csv", shape=sem["shapes"], rep=sem["replications"])


def cate_parts():
    """One table per (outcome, learner) of the cate and ate sections: one cate_fit job each."""
    return expand("results/cate/{outcome}/{model}.csv", outcome=config["ate"]["outcomes"], model=config["cate"]["models"])


def interim_tables(tables=CANONICAL_TABLES):
    return expand("data/interim/{table}.parquet", table=tables)


def report_inputs(doc, lang):
    """The inputs of report document ``doc`` in ``lang``: its code, sources, tables, figures and metric
    parts, taken from its dvc.yaml stage (report_<doc>) so that both orchestrators rerun it for the same reasons."""
    deps = DVC_STAGES[f"report_{doc}"]["deps"]
    return {
        "code": code_deps(f"report_{doc}"),
        "sources": [d.replace("${item.lang}", lang) for d in deps if d.startswith("report/")],
        "results": [d for d in deps if d.startswith("results/")],
    }


def all_outputs():
    """Every output of every stage (the per-job parts of cate_fit and the semisynthetic replications
    included) and every report. Listing them all is what makes a file lost to an interrupted or failed job
    be made again: Snakemake 9 does not rerun a job whose output is missing when everything downstream of
    it is present and up to date."""
    stage_outputs = {str(f) for rule in workflow.rules if rule.name != "all" and not rule.has_wildcards()
                     for f in rule.output}
    return [
        *sorted(stage_outputs), *cate_parts(), *semisynthetic_reps(),
        *expand("report/_output/{lang}/{doc}.{ext}", lang=REPORT_LANGS, doc=REPORT_DOCS, ext=["html", "pdf"]),
    ]
