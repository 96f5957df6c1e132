"""The original project's segmentation recipe, run on the same table, side by side.

The original (methodology section 3-4) fed its 19 features (volume, value and behaviour
mixed) to NMF after min-max scaling only (missing values as 0), kept rank 5, and chose k by
the lowest Davies-Bouldin index over 2..10 on the raw scores. Running it here on the same
households, with the same quality measures as segtarget's recipe, shows what the changes
buy: :func:`comparison` gives one row per recipe with k, silhouette, Davies-Bouldin,
subsample ARI, the lowest segment Jaccard on whole-chain resamples, the largest spread of a
category share between segments (how much the segments differ in *what* they buy) and the
three features that separate the segments most (largest |standardised difference|).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.track1 import clustering, describe, stability
from segtarget.track1.chain import SegmentationChain
from segtarget.track1.preprocess import ORIGINAL_NMF_FEATURES

RECIPE_COLUMNS = ["recipe", "features", "transform", "rank", "k", "k_rule", "silhouette", "davies_bouldin",
                  "bootstrap_ari", "min_jaccard", "max_category_spread", "category_spread_feature",
                  "top_separating_features"]


def category_spread(features: pd.DataFrame, segments: np.ndarray) -> tuple[float, str]:
    """Largest (max - min) of a segment mean category share, and which share it is."""
    cols = sorted(c for c in features.columns if c.startswith("share_"))
    if not cols:
        return float("nan"), ""
    means = features[cols].apply(pd.to_numeric, errors="coerce").groupby(np.asarray(segments)).mean()
    spread = (means.max() - means.min()).round(12)
    best = spread.idxmax()
    return float(spread[best]), str(best)


def top_separating(features: pd.DataFrame, segments: np.ndarray, n: int = 3) -> str:
    """The n numeric features with the largest |standardised difference| in any segment."""
    cols = [c for c in features.columns if c != "household_id" and pd.api.types.is_numeric_dtype(features[c])]
    D = describe.std_differences(features, segments, cols).abs().max().round(10)
    order = sorted(D.index, key=lambda c: (-np.nan_to_num(D[c], nan=-1.0), c))
    return "; ".join(f"{c} {D[c]:.2f}" for c in order[:n])


def recipe_row(name: str, df: pd.DataFrame, seg: np.ndarray, chain, n_features: int, k_rule: str,
               min_jaccard: float, k_row: pd.Series) -> dict:
    """One comparison row from a fitted recipe (its segments, chain settings and k-table row)."""
    spread, spread_col = category_spread(df, seg)
    return {
        "recipe": name,
        "features": int(n_features),
        "transform": chain.transform,
        "rank": int(chain.rank),
        "k": int(chain.k),
        "k_rule": k_rule,
        "silhouette": float(k_row["silhouette"]),
        "davies_bouldin": float(k_row["davies_bouldin"]),
        "bootstrap_ari": float(k_row["bootstrap_ari"]),
        "min_jaccard": float(min_jaccard),
        "max_category_spread": spread,
        "category_spread_feature": spread_col,
        "top_separating_features": top_separating(df, seg),
    }


def original_recipe(df: pd.DataFrame, cfg) -> dict:
    """Fit the original's recipe on ``df`` (sorted by household) and describe it as a row."""
    feats = [f for f in ORIGINAL_NMF_FEATURES if f in df.columns]
    X = df[feats].to_numpy(dtype=float)
    base = dict(rank=min(cfg.original_rank, len(feats)), transform="minmax", impute="zero", nmf_init=cfg.nmf_init,
                nmf_tol=cfg.nmf_tol, random_state=cfg.seed)
    chain = SegmentationChain(k=2, nmf_max_iter=cfg.nmf_max_iter, kmeans_n_init=cfg.kmeans_n_init, **base).fit(X)
    W = chain.factors_.scores_
    ks = [k for k in range(2, 11) if k < len(df)]
    table = clustering.cluster_selection_table(W, ks, cfg.kmeans_n_init, cfg.k_bootstrap_pairs, cfg.subsample_fraction,
                                               cfg.stability_kmeans_n_init, cfg.silhouette_max_rows, cfg.seed)
    k = clustering.select_k(table, "min_davies_bouldin")
    labels = clustering.fit_kmeans(W, k, cfg.kmeans_n_init, cfg.seed).labels_
    boot = SegmentationChain(k=k, nmf_max_iter=cfg.stability_nmf_max_iter, kmeans_n_init=cfg.stability_kmeans_n_init,
                             **base)
    res = stability.bootstrap_stability(X, labels, boot, cfg.k_stability_resamples, cfg.subsample_fraction,
                                        cfg.stability_scheme, cfg.seed)
    jac = stability.stability_table(res)["jaccard_mean"].min()
    return recipe_row("original", df, labels, boot, len(feats), "min_davies_bouldin", jac, table.set_index("k").loc[k])


def comparison(ours: dict, df: pd.DataFrame, cfg) -> pd.DataFrame:
    """segtarget's row and, when ``cfg.compare_original``, the original recipe's row on the same households."""
    rows = [ours, original_recipe(df, cfg)] if cfg.compare_original else [ours]
    return pd.DataFrame(rows, columns=RECIPE_COLUMNS)
