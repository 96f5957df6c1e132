"""End to end: Snakemake runs the whole workflow on a tiny synthetic config."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from workflow_helpers import snakemake

pytestmark = pytest.mark.workflow


def test_data_stage(tiny_project):
    summary = pd.read_csv(tiny_project / "results/tables/data_summary.csv").set_index("table")
    tx = summary.loc["transactions"]
    assert tx["households"] > 150 and tx["rows"] > 10_000
    assert tx["first_day"] == 1 and tx["last_day"] <= 30 * 7
    assert (tiny_project / "data/raw/synthetic/truth.csv").exists()
    for t in ("transactions", "products", "campaigns", "promotions"):
        assert (tiny_project / f"data/interim/{t}.parquet").exists()


def test_results_contract(tiny_project):
    """Every table of the results contract exists with at least its required columns."""
    contract = {
        "data_summary": "table rows households first_day last_day",
        "customer_features": "household_id recency frequency monetary_sales week_coverage",
        "nmf_rank_selection": "rank reconstruction_error r2_centered evar_uncentered r2_heldout cophenetic",
        "factor_loadings": "feature",
        "cluster_selection": "k inertia silhouette calinski_harabasz davies_bouldin bootstrap_ari",
        "segment_stability": "segment jaccard_mean jaccard_ci_low jaccard_ci_high band",
        "segments": "household_id segment segment_name",
        "segment_profiles": "segment segment_name n share revenue_share",
        "segment_recipe_comparison": "recipe k silhouette davies_bouldin bootstrap_ari min_jaccard",
        "segment_value_tiers": "segment value_tier households share_of_segment revenue_share",
        "segment_feature_differences": "segment feature std_diff rank",
        "cohort_flow": "step n_treated n_control note",
        "cohort": "household_id campaign_id treated index_day purchase_amount purchase_count",
        "balance": "covariate smd_unweighted smd_weighted",
        "positivity": "metric value",
        "ate": "outcome method population estimate se ci_low ci_high n",
        "customer_cate": "household_id outcome model cate cate_ci_low cate_ci_high propensity in_overlap",
        "cate_summary": "outcome model n n_overlap mean_cate rloss_heldout rloss_constant",
        "cate_predictions": "household_id campaign_id outcome model cate cate_ci_low cate_ci_high propensity in_overlap fold",
        "cate_model_selection": "outcome model rloss_heldout auuc_normalized qini_normalized blp_pvalue rate rate_ci_low "
                                "rate_ci_high selected rloss_gain blp_beta1 reason",
        "uplift_curves": "outcome model fraction gain gain_ci_low gain_ci_high qini toc",
        "cate_calibration": "outcome model group tau_hat_mean dr_mean ci_low ci_high",
        "dr_scores": "household_id campaign_id outcome treated propensity fold in_overlap mu0 mu1 dr_score",
    }
    for name, cols in contract.items():
        df = pd.read_csv(tiny_project / f"results/tables/{name}.csv")
        assert set(cols.split()) <= set(df.columns), name
        assert len(df) > 0, name
    feats = pd.read_csv(tiny_project / "results/tables/customer_features.csv")
    assert feats.shape[1] == 34
    from segtarget.track1.model import assign_segments

    segs = pd.read_csv(tiny_project / "results/tables/segments.csv")
    again = assign_segments(feats, tiny_project / "results/models/segmentation.json")
    assert again["segment"].tolist() == segs["segment"].tolist()
    assert again["value_tier"].tolist() == segs["value_tier"].tolist()
    prof = pd.read_csv(tiny_project / "results/tables/segment_profiles.csv")
    assert prof["n"].sum() == len(feats)
    assert prof["share"].sum() == pytest.approx(1) and prof["revenue_share"].sum() == pytest.approx(1)
    metrics = json.loads((tiny_project / "results/metrics.json").read_text())
    for key in ("households", "nmf_rank", "k", "r2_heldout", "bootstrap_ari_ci", "min_segment_jaccard"):
        assert key in metrics["track1"]
    for key in ("n_treated", "n_control", "ps_auc", "overlap_share_10_90", "crump_threshold", "ate_aipw_purchase_amount",
                "cate_units", "cate_models", "cate"):
        assert key in metrics["track2"]
    sel = pd.read_csv(tiny_project / "results/tables/cate_model_selection.csv")
    assert (sel.groupby("outcome")["selected"].sum() == 1).all() and (sel["model"] == "constant").sum() == sel["outcome"].nunique()
    cc = pd.read_csv(tiny_project / "results/tables/customer_cate.csv")
    chosen = set(zip(sel.loc[sel["selected"] == 1, "outcome"], sel.loc[sel["selected"] == 1, "model"]))
    assert (cc["selected"] == [int((o, m) in chosen) for o, m in zip(cc["outcome"], cc["model"])]).all()
    for outcome in sel["outcome"].unique():
        assert metrics["track2"]["cate"][outcome]["selected_model"] in set(sel["model"])


def test_reports_rendered(tiny_project):
    for lang in ("en", "ko"):
        for doc in ("track1", "track2", "summary"):
            for ext in ("html", "pdf"):
                assert (tiny_project / f"report/_output/{lang}/{doc}.{ext}").stat().st_size > 1000
    info = json.loads((tiny_project / "results/run_info.json").read_text())
    assert info["data_source"] == "synthetic" and info["households"] > 150


def test_every_rule_logged_and_benchmarked(tiny_project):
    root = tiny_project / "logs"  # per-job logs of a wildcard rule sit in a folder: logs/<rule>/<job>.log
    logs = {"_".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*.log")}
    bench = {p.stem for p in (tiny_project / "logs/benchmarks").glob("*.tsv")}
    assert {"synthetic", "ingest", "features", "segment", "cohort", "positivity", "ate", "cate", "cate_eval", "refute",
            "semisynthetic", "semisynthetic_constant_1", "score_households", "policy", "metrics",
            *(f"report_{lang}_{doc}" for lang in ("en", "ko") for doc in ("track1", "track2", "summary"))} <= logs
    assert logs == bench


def test_second_run_does_nothing(tiny_project):
    res = snakemake(tiny_project, "-n")
    assert "Nothing to be done" in res.stdout + res.stderr


def test_a_lost_stage_output_is_made_again(tiny_project, tmp_path):
    """A stage output deleted (or lost to a killed job) while everything downstream is up to date is made
    again: the default target lists every stage output, not only the reports."""
    work = tmp_path / "p"
    shutil.copytree(tiny_project, work, symlinks=True)
    (work / "results/tables/roi_curve.csv").unlink()
    out = snakemake(work, "-n")
    text = out.stdout + out.stderr
    assert "rule policy:" in text and "rule segment:" not in text, text[-3000:]
