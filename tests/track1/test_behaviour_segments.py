"""Behaviour segments, the max_stable k rule, value tiers, the saved segment model and the recipe comparison."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segtarget.core.errors import InputError, ParamError
from segtarget.track1 import clustering, describe, value_tiers
from segtarget.track1.model import assign_segments, load_model
from segtarget.track1.planted import planted_feature_table
from segtarget.track1.segmentation import SegmentationConfig, run_segmentation

ROOT = Path(__file__).resolve().parents[2]

#: Small grids and few resamples; the recipe (features, transform, rules) stays at its defaults.
FAST = dict(rank_max=5, k_max=6, heldout_folds=3, consensus_restarts=3, consensus_max_rows=150, k_bootstrap_pairs=3,
            kmeans_n_init=4, stability_resamples=12, k_stability_resamples=6, compare_original=False)


def fast(**kw) -> SegmentationConfig:
    return SegmentationConfig(**{**FAST, **kw})


def _truth_ari(df, truth, res) -> float:
    seg = res.segments.set_index("household_id").loc[df["household_id"], "segment"].to_numpy()
    return adjusted_rand_score(truth, seg)


@pytest.fixture(scope="module")
def equal_value():
    df, truth = planted_feature_table(450, 3, seed=3, noise=0.7, equal_value=True)
    return df, truth, run_segmentation(df, fast())


@pytest.mark.parametrize("n, k, seed, noise", [(450, 3, 3, 0.7), (600, 4, 5, 1.0)])
def test_default_recipe_recovers_planted_behaviour_groups_of_equal_value(n, k, seed, noise, equal_value):
    """Groups that differ only in how they shop (same visits, basket value and recency levels).

    ARI >= 0.9: the groups are several noise SDs apart on every planted behaviour driver, so
    an ideal classifier errs only on a few per cent of households; merging two groups or
    splitting one (the failure modes of a wrong k) gives ARI below 0.8 at these sizes.
    """
    df, truth, res = equal_value if (n, k) == (450, 3) else (*planted_feature_table(n, k, seed=seed, noise=noise,
                                                                                      equal_value=True), None)
    res = res or run_segmentation(df, fast())
    spend = df.groupby(truth)["monetary_sales"].mean()
    assert spend.max() / spend.min() < 1.3  # equal value by construction
    assert res.k == k
    assert _truth_ari(df, truth, res) >= 0.9
    assert (res.cluster_selection.set_index("k").loc[k, ["min_jaccard", "min_share"]] >= [0.75, 0.05]).all()


def test_max_stable_without_gap_cap_would_split_a_group(equal_value):
    """Why the gap cap exists: stability alone also rewards halving each group the same way every time."""
    df, truth, res = equal_value
    t = res.cluster_selection
    assert max(clustering.stable_ks(t)) > 3  # some finer split is stable ...
    assert clustering.select_k(t.drop(columns="gap_cap"), "max_stable") > 3
    assert clustering.select_k(t, "max_stable") == 3  # ... and the gap statistic caps it


def test_min_segment_share_and_k_rule_change_k_as_documented(equal_value):
    t = pd.DataFrame({"k": [2, 3, 4, 5], "min_jaccard": [0.95, 0.9, 0.8, 0.6], "min_share": [0.4, 0.2, 0.04, 0.03],
                      "davies_bouldin": [1.0, 1.2, 1.1, 1.3], "bootstrap_ari": [1, 1, 1, 1], "silhouette": [.4, .3, .2, .1]})
    assert clustering.select_k(t, "max_stable") == 3  # k = 4 is stable but has a 4% segment
    assert clustering.select_k(t, "max_stable", min_share=0.03) == 4
    assert clustering.select_k(t, "max_stable", min_jaccard=0.92) == 2
    assert clustering.select_k(t, "max_stable", min_jaccard=0.99) == 2  # none qualifies: the most stable
    assert clustering.select_k(t, "min_davies_bouldin") == 2
    df, _, res = equal_value
    # three groups of 1/3 each: no k keeps every segment above 34%, so the most stable k is kept (documented fallback)
    strict = run_segmentation(df, fast(min_segment_share=0.34, stability_resamples=3))
    table = strict.cluster_selection
    assert not clustering.stable_ks(table, 0.75, 0.34)
    assert strict.k == int(table.loc[table["min_jaccard"].idxmax(), "k"])
    uncapped = run_segmentation(df, fast(gap_references=0, stability_resamples=3))
    assert uncapped.k > res.k == 3  # without the gap cap, max_stable takes a stable split of the groups
    fixed = run_segmentation(df, fast(k_rule="fixed", k_fixed=5, stability_resamples=3))
    assert fixed.k == 5 and "min_jaccard" not in fixed.cluster_selection


def test_segments_have_value_tier_crosstab_and_behaviour_names(equal_value):
    df, truth, res = equal_value
    seg = res.segments
    assert {"value_tier", "rfm_score"} <= set(seg.columns)
    assert set(seg["value_tier"]) <= set(value_tiers.TIERS)
    x = res.value_tiers
    assert len(x) == res.k * 3 and x["households"].sum() == len(df)
    assert x["revenue_share"].sum() == pytest.approx(1.0)
    assert np.allclose(x.groupby("segment")["share_of_segment"].sum(), 1.0)
    # names come from behaviour: no value words
    assert not seg["segment_name"].str.contains("value").any()
    d = res.differences
    assert set(d["segment"]) == set(range(1, res.k + 1))
    top = d[(d["rank"] == 1)]
    assert (top["std_diff"].abs() >= 0.5).all()
    assert res.strategy["recommended_action"].str.len().min() > 10


def test_saved_model_reproduces_segments_and_refuses_tampering(equal_value, tmp_path):
    df, _, res = equal_value
    path = res.model.save(tmp_path / "models" / "segmentation.json")
    assert assign_segments(df, path).equals(res.segments)
    assert assign_segments(df.sample(frac=1.0, random_state=0), path).equals(res.segments)  # row order free
    one = assign_segments(df[df["household_id"] == 7], path)
    assert one.iloc[0].equals(res.segments[res.segments["household_id"] == 7].iloc[0])  # batch free
    text = path.read_text()
    (tmp_path / "truncated.json").write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="truncated or not JSON") as e:
        load_model(tmp_path / "truncated.json")
    assert "\n" not in str(e.value)
    payload = json.loads(text)
    payload["model"]["centers"][0][0] += 0.5
    (tmp_path / "tampered.json").write_text(json.dumps(payload))
    with pytest.raises(InputError, match="does not match its sha256"):
        load_model(tmp_path / "tampered.json")
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.json")
    with pytest.raises(InputError, match="monetary_sales"):
        assign_segments(df.drop(columns="monetary_sales"), path)


def test_assign_segments_cli(equal_value, tmp_path):
    df, _, res = equal_value
    model = res.model.save(tmp_path / "segmentation.json")
    feats = tmp_path / "features.csv"
    df.to_csv(feats, index=False)
    out = tmp_path / "assigned.csv"
    cmd = [sys.executable, str(ROOT / "scripts/assign_segments.py"), "--features", str(feats), "--model", str(model),
           "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True)
    got = pd.read_csv(out)
    assert got["segment"].tolist() == res.segments["segment"].tolist()
    (tmp_path / "bad.json").write_text("{")
    bad = subprocess.run(cmd[:-3] + [str(tmp_path / "bad.json"), "--out", str(tmp_path / "x.csv")], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "x.csv").exists()


def test_original_recipe_row_beside_ours():
    df, _ = planted_feature_table(300, 3, seed=1, noise=0.7)
    res = run_segmentation(df, fast(compare_original=True, stability_resamples=3))
    r = res.recipes.set_index("recipe")
    assert list(r.index) == ["segtarget", "original"]
    assert r.loc["original", "features"] == 19 and r.loc["original", "transform"] == "minmax"
    assert r.loc["original", "k_rule"] == "min_davies_bouldin" and 2 <= r.loc["original", "k"] <= 10
    assert r.loc["segtarget", "k"] == res.k
    for col in ("silhouette", "davies_bouldin", "bootstrap_ari", "min_jaccard", "max_category_spread"):
        assert r[col].notna().all(), col
    assert r["top_separating_features"].str.count(";").eq(2).all()


def test_value_tiers_rule_and_checks():
    df = pd.DataFrame({"recency": [0, 10, 20, 30, 40], "frequency": [50, 40, 30, 20, 10],
                       "monetary_sales": [500.0, 400, 300, 200, 100]})
    t = value_tiers.ValueTiers(bins=5, high_min=12, medium_min=8).fit(df).transform(df)
    assert t["rfm_score"].tolist() == [15, 12, 9, 6, 3]
    assert t["value_tier"].tolist() == ["High", "High", "Medium", "Low", "Low"]
    with pytest.raises(ParamError, match="tier_medium_min"):
        SegmentationConfig(tier_high_min=7, tier_medium_min=8).check()


def test_std_difference_known_answer():
    f = pd.DataFrame({"x": [1.0, 1.0, 3.0, 3.0], "y": [0.0, 0.0, 0.0, 4.0]})
    D = describe.std_differences(f, np.array([1, 1, 2, 2]), ["x", "y"])
    assert D.loc[1, "x"] == pytest.approx(-1.0) and D.loc[2, "y"] == pytest.approx(1 / np.sqrt(3))
