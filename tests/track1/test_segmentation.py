"""Track 1 segmentation: NMF statistics, rank and k rules, stability, profiles, script.

Most tests run the chain on a small synthetic feature table with planted segments
(:func:`segtarget.track1.planted.planted_feature_table`) and a reduced configuration (short
grids, few restarts and resamples) so the module runs in well under a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score

from segtarget.track1 import clustering, figures as figures_track1, nmf, preprocess, stability
from segtarget.core.errors import InputError, ParamError
from segtarget.core.io import write_csv
from segtarget.core.params import load_schema
from segtarget.track1.planted import planted_feature_table
from segtarget.track1.segmentation import SegmentationConfig, run_segmentation, track1_metrics

ROOT = Path(__file__).resolve().parents[2]

#: Small, fast settings; everything else at its default.
FAST = dict(
    rank_max=5,
    k_max=6,
    heldout_folds=3,
    consensus_restarts=3,
    consensus_max_rows=150,
    k_bootstrap_pairs=3,
    kmeans_n_init=4,
    stability_resamples=12,
    k_stability_resamples=6,
)
N_PLANTED, K_PLANTED = 450, 3


def fast(**kw) -> SegmentationConfig:
    return SegmentationConfig(**{**FAST, **kw})


@pytest.fixture(scope="module")
def planted():
    return planted_feature_table(N_PLANTED, K_PLANTED, seed=3, noise=0.7)


@pytest.fixture(scope="module")
def result(planted):
    return run_segmentation(planted[0], fast())


# ------------------------------------------------------------------ planted recovery


def test_planted_segments_recovered_and_stable(planted, result):
    """The default rules find the planted segments, and resampling confirms them.

    Planted segments differ by at least one level step on each of seven drivers, several
    noise SDs apart, so an ideal classifier errs on at most a few per cent of households
    (one-basket and fuel-like outliers). ARI >= 0.9 allows that; merging two of three
    balanced segments would give ARI ~0.57 and splitting one ~0.75, so the bar separates
    recovery from a wrong partition.
    """
    df, truth = planted
    assert result.k == K_PLANTED
    seg = result.segments.set_index("household_id").loc[df["household_id"], "segment"].to_numpy()
    assert adjusted_rand_score(truth, seg) >= 0.9
    assert set(result.stability["band"]) <= {"stable", "highly stable"}
    assert result.stability["jaccard_mean"].min() >= 0.75
    assert result.ari["ci"][0] <= result.ari["mean"] <= result.ari["ci"][1]
    assert result.ari["mean"] >= 0.9


def test_profiles_add_up(planted, result):
    df, _ = planted
    prof = result.profiles
    assert prof["n"].sum() == len(df) == len(result.segments)
    assert prof["share"].sum() == pytest.approx(1.0)
    assert prof["revenue_share"].sum() == pytest.approx(1.0)
    assert prof["segment"].tolist() == list(range(1, result.k + 1))
    # ids follow descending revenue share; names are unique and match the segments table
    assert prof["revenue_share"].is_monotonic_decreasing
    assert prof["segment_name"].is_unique and prof["segment_name_ko"].is_unique
    names = result.segments.drop_duplicates("segment").set_index("segment")["segment_name"]
    assert names.loc[prof["segment"]].tolist() == prof["segment_name"].tolist()
    # revenue share recomputed from the input table
    rev = df.set_index("household_id")["monetary_sales"]
    seg = result.segments.set_index("household_id")["segment"]
    expect = rev.groupby(seg.loc[rev.index]).sum() / rev.sum()
    assert np.allclose(prof.set_index("segment")["revenue_share"], expect.sort_index())
    # profile means are means of the raw features
    rec = df.set_index("household_id")["recency"].groupby(seg.loc[rev.index]).mean()
    assert np.allclose(prof.set_index("segment")["recency"], rec.sort_index())
    assert set(result.strategy["value_tier"]) <= {"High", "Medium", "Low"}
    assert result.strategy["recommended_action"].str.len().min() > 0


def test_separation_table(planted, result):
    sep = result.separation
    assert list(sep.columns[:5]) == ["feature", "anova_f", "anova_p", "kruskal_h", "kruskal_p"]
    assert set(sep["feature"]) == set(planted[0].columns) - {"household_id"}
    f = sep["anova_f"].dropna().to_numpy()
    assert (np.diff(f) <= 1e-6 * f[:-1]).all()  # sorted by F (ties to float noise broken by name)
    assert sep.loc[sep["nmf_input"], "feature"].tolist() != []


def test_metrics_block(result):
    m = track1_metrics(result)
    required = {
        "households", "features", "nmf_rank", "r2_centered", "evar_uncentered", "r2_heldout", "k", "silhouette",
        "davies_bouldin", "bootstrap_ari_mean", "bootstrap_ari_ci", "min_segment_jaccard",
    }
    assert required <= set(m)
    assert m["households"] == N_PLANTED and m["features"] == len(preprocess.BEHAVIOUR_FEATURES)
    assert m["nmf_rank"] == result.rank and m["k"] == result.k
    assert len(m["bootstrap_ari_ci"]) == 2
    assert m["evar_uncentered"] >= m["r2_centered"]
    assert m["min_segment_jaccard"] == pytest.approx(result.stability["jaccard_mean"].min())


# ------------------------------------------------------------------ NMF statistics


def test_exact_low_rank_matrix_is_reproduced():
    rng = np.random.default_rng(0)
    X = rng.random((120, 3)) @ rng.random((3, 8))
    m = nmf.FactorModel(rank=3, max_iter=5000, tol=1e-10).fit(X)
    s = nmf.nmf_fit_statistics(X, m.scores_, m.components_)
    assert s["evar_uncentered"] > 0.999
    assert s["r2_centered"] > 0.99
    assert np.allclose(m.components_.max(axis=1), 1.0)
    t = preprocess.FeatureTransformer(method="none")
    assert nmf.heldout_r2(X, t, nmf.FactorModel(rank=3, max_iter=3000, tol=1e-10), folds=3) > 0.99
    # the exact factorisation scores exactly 1 and zero error
    W, H = rng.random((10, 2)), rng.random((2, 4))
    exact = nmf.nmf_fit_statistics(W @ H, W, H)
    assert exact["reconstruction_error"] == pytest.approx(0.0, abs=1e-12)
    assert exact["r2_centered"] == pytest.approx(1.0) and exact["evar_uncentered"] == pytest.approx(1.0)


def test_uncentred_evar_exceeds_centred_r2():
    rng = np.random.default_rng(1)
    X = rng.random((80, 6)) + 2.0  # large column means: evar flatters, R^2 does not
    m = nmf.FactorModel(rank=1).fit(X)
    s = nmf.nmf_fit_statistics(X, m.scores_, m.components_)
    assert s["evar_uncentered"] > 0.9 > s["r2_centered"]
    assert s["reconstruction_error"] == pytest.approx(np.linalg.norm(X - m.scores_ @ m.components_))


def test_feature_transformer():
    X = np.array([[0.0, 0.2], [np.nan, 0.4], [9.0, 0.6], [99.0, np.nan]])
    t = preprocess.FeatureTransformer(log_features=[0]).fit(X)
    Z = t.transform(X)
    assert Z.min() == 0.0 and Z.max() == 1.0
    assert t.fill_.tolist() == [9.0, 0.4]  # column medians
    assert Z[1, 0] == pytest.approx(np.log1p(9) / np.log1p(99))
    assert t.transform(np.array([[-5.0, 0.0]])).min() == 0.0  # clipped, never negative
    z = preprocess.FeatureTransformer(impute="zero", method="minmax").fit(X)
    assert z.transform(X)[1, 0] == 0.0


def test_cophenetic_and_consensus():
    assert nmf.cophenetic_correlation(np.kron(np.eye(3), np.ones((4, 4)))) == 1.0
    rng = np.random.default_rng(2)
    C = rng.random((12, 12))
    C = (C + C.T) / 2
    assert nmf.cophenetic_correlation(C) < 1.0
    X = np.vstack([np.tile([5.0, 0, 0], (10, 1)), np.tile([0, 5.0, 0], (10, 1))]) + rng.random((20, 3)) * 0.01
    cons = nmf.consensus_matrix(X, rank=2, restarts=4)
    assert cons.shape == (20, 20) and np.allclose(np.diag(cons), 1.0)
    assert nmf.cophenetic_correlation(cons) > 0.99


def test_rank_rules():
    t = pd.DataFrame({
        "rank": [2, 3, 4, 5, 6],
        "reconstruction_error": [10.0, 6.0, 3.0, 2.5, 2.2],
        "r2_heldout": [0.5, 0.7, 0.85, 0.87, 0.88],
        "cophenetic": [0.99, 0.999, 0.98, 0.97, 0.96],
    })
    assert nmf.select_rank(t, "elbow") == 4
    assert nmf.select_rank(t, "min_rank_r2", r2_threshold=0.6) == 3
    assert nmf.select_rank(t, "min_rank_r2", r2_threshold=0.99) == 6
    assert nmf.select_rank(t, "max_cophenetic") == 3
    assert nmf.select_rank(t, "fixed", fixed=2) == 2
    with pytest.raises(ParamError):
        nmf.select_rank(t, "largest")


def test_factor_names_are_data_driven_and_unique():
    feats = ["share_grocery", "discount_usage_pct", "share_fresh", "n_departments"]
    H = np.array([[1.0, 0.8, 0.0, 0.4], [0.0, 0.1, 1.0, 0.4]])
    names = nmf.factor_names(H, feats)
    assert names["name"].tolist() == ["F1 grocery + deal usage", "F2 fresh food"]
    assert names["name_ko"].iloc[0] == "F1 식료품 + 할인 이용률"
    same = nmf.factor_names(np.array([[1.0, 0.9, 0.5], [1.0, 0.9, 0.1]]), feats[:3])
    assert same["name"].is_unique


# ------------------------------------------------------------------ clustering rules


def test_k_rules_on_table():
    t = pd.DataFrame({
        "k": [2, 3, 4, 5],
        "silhouette": [0.5, 0.45, 0.4, 0.3],
        "davies_bouldin": [1.0, 0.9, 0.7, 0.8],
        "bootstrap_ari": [0.99, 0.97, 0.6, 0.9],
    })
    assert clustering.select_k(t, "min_davies_bouldin") == 4
    assert clustering.select_k(t, "min_davies_bouldin", min_bootstrap_ari=0.8) == 5
    assert clustering.select_k(t, "max_silhouette") == 2
    assert clustering.select_k(t, "max_bootstrap_ari") == 2
    assert clustering.select_k(t, "fixed", fixed=3) == 3


def test_changing_k_rule_changes_segments(planted, result):
    other = run_segmentation(planted[0], fast(k_rule="fixed", k_fixed=result.k + 2, stability_resamples=3))
    assert other.k == result.k + 2
    assert len(other.profiles) == other.k == other.segments["segment"].nunique()
    assert len(other.stability) == other.k
    common = list(other.cluster_selection.columns)  # max_stable adds per-k stability and gap columns
    assert other.cluster_selection.equals(result.cluster_selection[common])  # the grid itself does not change


def test_changing_feature_list_changes_outputs(planted):
    feats = ["frequency", "monetary_sales", "share_fresh", "share_health_beauty"]
    other = run_segmentation(planted[0], fast(features=tuple(feats), rank_max=10, stability_resamples=3))
    assert other.loadings["feature"].tolist() == feats
    assert other.rank_selection["rank"].max() == len(feats)  # grid capped at the feature count
    assert track1_metrics(other)["features"] == len(feats)
    assert set(other.separation.loc[other.separation["nmf_input"], "feature"]) == set(feats)


def test_transform_option_changes_inputs(planted):
    df = planted[0]
    X = df[list(preprocess.ORIGINAL_NMF_FEATURES)].to_numpy(float)
    a = preprocess.FeatureTransformer("log1p_minmax", [5]).fit_transform(X)
    b = preprocess.FeatureTransformer("minmax").fit_transform(X)
    # log1p spreads the heavy-tailed spend column: its median moves away from 0
    assert np.median(a[:, 5]) > np.median(b[:, 5])
    assert np.allclose(a[:, 0], b[:, 0])


# ------------------------------------------------------------------ stability


def test_stability_helpers():
    assert [stability.jaccard_band(x) for x in (0.59, 0.6, 0.75, 0.85, 0.86)] == [
        "unstable", "doubtful", "stable", "stable", "highly stable"]
    j = stability.best_jaccard(np.array([1, 1, 2, 2, 2]), np.array([0, 0, 0, 1, 1]), [1, 2, 3])
    assert j[0] == pytest.approx(2 / 3) and j[1] == pytest.approx(2 / 3) and np.isnan(j[2])


def test_bootstrap_scheme_scores_distinct_households(planted, result):
    X = planted[0].sort_values("household_id")[list(preprocess.ORIGINAL_NMF_FEATURES)].to_numpy(float)
    ref = result.segments.sort_values("household_id")["segment"].to_numpy()
    chain = result.chain.set_params(kmeans_n_init=2)
    out = stability.bootstrap_stability(X, ref, chain, n_resamples=3, scheme="bootstrap", random_state=1)
    assert out["ari"].shape == (3,) and out["jaccard"].shape == (3, result.k)
    assert (out["ari"] > 0.8).all()
    with pytest.raises(ParamError):
        stability.bootstrap_stability(X, ref, chain, n_resamples=2, scheme="jackknife")


# ------------------------------------------------------------------ determinism, input errors


def test_deterministic_and_row_order_free(planted, result, tmp_path):
    df = planted[0]
    again = run_segmentation(df.sample(frac=1.0, random_state=7), fast())
    for name in ("rank_selection", "loadings", "cluster_selection", "segments", "profiles", "strategy",
                 "separation", "stability"):
        a, b = getattr(result, name), getattr(again, name)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
        write_csv(a, tmp_path / "a.csv")
        write_csv(b, tmp_path / "b.csv")
        assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_missing_column_is_one_line_input_error(planted):
    df = planted[0].drop(columns=["share_fresh"])
    with pytest.raises(InputError) as e:
        run_segmentation(df, fast())
    assert "share_fresh" in str(e.value) and "\n" not in str(e.value)
    bad = planted[0].assign(recency=lambda d: -d["recency"])
    with pytest.raises(InputError, match="recency"):
        run_segmentation(bad, fast())
    with pytest.raises(InputError, match="household_id"):
        run_segmentation(planted[0].drop(columns=["household_id"]), fast())


def test_config_checks_and_schema_defaults():
    with pytest.raises(ParamError):
        SegmentationConfig.from_params({"k_min": 5, "k_max": 3})
    with pytest.raises(ParamError):
        SegmentationConfig.from_params({"no_such_key": 1})
    schema = load_schema()["properties"]["segmentation"]["properties"]
    defaults = {k: v["default"] for k, v in schema.items()}
    cfg = SegmentationConfig()
    assert set(defaults) == set(cfg.__dataclass_fields__)
    for key, value in defaults.items():
        got = getattr(cfg, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key


# ------------------------------------------------------------------ figures and script


def test_figures_en_and_ko_without_global_side_effects(planted, result, tmp_path):
    before = list(matplotlib.rcParams["font.family"])
    specs = dict(figures_track1.figure_specs(result, planted[0]))
    assert {"factor_loadings_heatmap", "nmf_rank_selection", "cluster_selection", "bubble_loyalty_vs_deal",
            "bubble_frequency_vs_monetary", "segment_profiles_heatmap", "segment_stability"} <= set(specs)
    assert any(s.startswith("bubble_factors_") for s in specs)
    only = {"segment_stability", "factor_loadings_heatmap", "segment_profiles_heatmap"}
    paths = figures_track1.save_track1_figures(result, tmp_path / "a", planted[0], only=only)
    assert sorted(p.name for p in paths) == sorted(f"{s}{x}.png" for s in only for x in ("", "_ko"))
    assert all(p.stat().st_size > 0 for p in paths)
    assert list(matplotlib.rcParams["font.family"]) == before
    assert figures_track1.korean_font_name() == "NanumGothic"
    again = figures_track1.save_track1_figures(result, tmp_path / "b", planted[0], only=only)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]


CONTRACT = {
    "nmf_rank_selection": ["rank", "reconstruction_error", "r2_centered", "evar_uncentered", "r2_heldout", "cophenetic"],
    "factor_loadings": ["feature"],
    "cluster_selection": ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "bootstrap_ari"],
    "segment_stability": ["segment", "jaccard_mean", "jaccard_ci_low", "jaccard_ci_high", "band"],
    "segments": ["household_id", "segment", "segment_name"],
    "segment_profiles": ["segment", "segment_name", "n", "share", "revenue_share"],
    "segment_strategy": ["segment", "segment_name", "value_tier", "recommended_action"],
    "segment_separation": ["feature", "anova_f", "anova_p", "kruskal_h", "kruskal_p"],
}


def _params(tmp_path: Path, **seg) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["segmentation"] = {**params.get("segmentation", {}), **FAST, **seg}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _script(tmp_path, params, features):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "segment.py"), "--params", str(params), "--features", str(features),
         "--tables-dir", str(tmp_path / "tables"), "--figures-dir", str(tmp_path / "figures"),
         "--metrics", str(tmp_path / "metrics.json")],
        capture_output=True, text=True, cwd=tmp_path,
    )


def test_script_writes_the_results_contract(planted, tmp_path):
    df = planted[0]
    features = tmp_path / "customer_features.csv"
    df.to_csv(features, index=False)
    (tmp_path / "metrics.json").write_text(json.dumps({"track2": {"keep": 1}}))
    params = _params(tmp_path, stability_resamples=4)
    proc = _script(tmp_path, params, features)
    assert proc.returncode == 0, proc.stderr
    for name, cols in CONTRACT.items():
        table = pd.read_csv(tmp_path / "tables" / f"{name}.csv")
        assert set(cols) <= set(table.columns), name
    seg = pd.read_csv(tmp_path / "tables" / "segments.csv")
    k = seg["segment"].nunique()
    assert [c for c in seg.columns if c.startswith("F")] == pd.read_csv(
        tmp_path / "tables" / "factor_loadings.csv").columns[1:].tolist()
    assert len(pd.read_csv(tmp_path / "tables" / "segment_profiles.csv")) == k
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["track2"] == {"keep": 1} and metrics["track1"]["k"] == k
    pngs = {p.name for p in (tmp_path / "figures").glob("*.png")}
    stems = {n[: -len("_ko.png")] for n in pngs if n.endswith("_ko.png")}
    assert pngs == {f"{s}{x}.png" for s in stems for x in ("", "_ko")} and len(stems) >= 9


def test_script_missing_column_exits_with_one_line(planted, tmp_path, capsys):
    """In-process (no interpreter start-up): the script's run() through cli.main."""
    import importlib.util

    from segtarget.core import cli

    spec = importlib.util.spec_from_file_location("segment_script", ROOT / "scripts" / "segment.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    features = tmp_path / "customer_features.csv"
    planted[0].drop(columns=["share_fresh"]).to_csv(features, index=False)
    ap = cli.parser("segment")
    for opt in ("--features", "--tables-dir", "--figures-dir", "--metrics", "--model"):
        ap.add_argument(opt)
    argv = ["--params", str(_params(tmp_path)), "--features", str(features), "--tables-dir", str(tmp_path / "tables"),
            "--figures-dir", str(tmp_path / "figures"), "--metrics", str(tmp_path / "metrics.json"),
            "--model", str(tmp_path / "model.json")]
    with pytest.raises(SystemExit) as e:
        cli.main(script.run, ap, argv)
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "share_fresh" in lines[-1]
    assert not (tmp_path / "tables").exists() and not (tmp_path / "metrics.json").exists()


def test_segment_names_stay_unique_when_behaviours_collide():
    from segtarget.track1.describe import segment_names

    # segments 1 and 2 share their top two behaviours and differ on the third; 3 and 4 are identical
    D = pd.DataFrame({
        "share_fresh": [1.5, 1.4, -1.0, -1.0],
        "discount_usage_pct": [0.9, 0.8, 0.3, 0.3],
        "private_label_ratio": [0.5, -0.6, 0.0, 0.0],
    }, index=[1, 2, 3, 4])
    names = segment_names(D)
    assert names["segment_name"].tolist()[:2] == [
        "Fresh-food lovers, deal seekers, private-label fans", "Fresh-food lovers, deal seekers, brand loyal"]
    assert names["segment_name"].tolist()[2:] == [  # identical: a third behaviour does not help, so the id
        "Little fresh food, deal seekers, private-label fans (S3)", "Little fresh food, deal seekers, private-label fans (S4)"]
    assert names["segment_name_ko"].nunique() == 4
    assert names["top_feature"].tolist() == ["share_fresh"] * 4
