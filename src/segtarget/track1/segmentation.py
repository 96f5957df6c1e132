"""Track 1 from customer features to stable, named segments (the `segment` stage).

:func:`run_segmentation` runs the whole chain on a customer feature table:

1. check the table (household_id + the configured NMF inputs) and sort it by household;
2. :class:`~segtarget.track1.preprocess.FeatureTransformer`: impute missing values (median by default:
   one-basket households have no gap between visits and no basket spread), winsorise at
   the 1st / 99th percentiles, ``log1p`` the heavy-tailed amounts, min-max to [0, 1];
3. NMF rank selection over a grid (:func:`~segtarget.track1.nmf.rank_selection_table`) and the
   rank rule; factor loadings and data-driven factor names;
4. K-means on the factor scores over a k grid
   (:func:`~segtarget.track1.clustering.cluster_selection_table`), each k's own whole-chain
   stability (minimum segment Jaccard) and smallest segment share, and the k rule;
5. the fitted chain as a :class:`~segtarget.track1.model.SegmentModel` that labels every
   household (so the saved model reproduces ``segments.csv``); segment ids ordered by
   revenue share; names, standardised differences and actions from behaviour
   (:mod:`segtarget.track1.describe`); value tiers (:mod:`segtarget.track1.value_tiers`);
   profiles and a feature separation table (:mod:`segtarget.track1.profiles`);
6. stability: the whole chain (transform, NMF, K-means) refitted on resampled households
   (:mod:`segtarget.track1.stability`);
7. the original project's recipe on the same table, side by side (:mod:`segtarget.track1.recipe`).

:func:`track1_metrics` gives the ``track1`` block of ``results/metrics.json``. All steps
are seeded; the same table and parameters give identical results.

Default rules and why
---------------------
- ``rank_rule: elbow``: the elbow of the held-out error curve ``1 - r2_heldout`` over
  the rank grid. It is out of sample (in-sample fit only ever improves with rank), needs
  no arbitrary R^2 target, and is the original's own criterion (an elbow) applied to an
  honest curve. On planted test data it lands at or one below the planted number of
  behaviour patterns, and K-means on the scores usually still recovers the segments.
  ``min_rank_r2`` (smallest rank with ``r2_heldout >= rank_r2_threshold``) is the
  alternative when a stated share of reproduced variation is preferred.
- ``features``: scale-free behaviour features (:data:`~segtarget.track1.preprocess.BEHAVIOUR_FEATURES`).
  Volume features (visits, spend, product counts) dominate any factorisation they enter,
  and the segments then come out as value tiers a CRM team already has; value is the
  separate RFM tier axis.
- ``k_rule: max_stable``: the largest k whose every segment keeps a mean clusterboot
  Jaccard >= ``k_min_jaccard`` (0.75, Hennig's "stable") over ``k_stability_resamples``
  whole-chain resamples and holds >= ``min_segment_share`` of households. Internal indices
  (Davies-Bouldin, silhouette) favour the fewest, coarsest groups when customers form a
  continuum; this rule asks for the finest partition that still holds up. The original's
  ``min_davies_bouldin`` (restricted to k with subsample ARI >= ``k_min_bootstrap_ari``),
  ``max_silhouette``, ``max_bootstrap_ari`` and ``fixed`` remain available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segtarget.track1 import clustering, describe, nmf, preprocess, profiles, recipe, stability, value_tiers
from segtarget.track1.chain import SegmentationChain
from segtarget.track1.model import SegmentModel, assign_segments
from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import HOUSEHOLD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentationConfig:
    """Every tunable of Track 1 segmentation (the ``segmentation`` section of params.yaml)."""

    features: tuple[str, ...] = preprocess.BEHAVIOUR_FEATURES
    transform: str = "log1p_minmax"
    log_features: tuple[str, ...] = preprocess.HEAVY_TAILED_FEATURES
    impute: str = "median"
    clip_quantile: float = 0.01
    revenue_feature: str = "monetary_sales"
    seed: int = 42
    rank_min: int = 2
    rank_max: int = 10
    rank_rule: str = "elbow"
    rank_r2_threshold: float = 0.8
    rank_fixed: int = 5
    nmf_init: str = "nndsvda"
    nmf_max_iter: int = 1000
    nmf_tol: float = 1e-4
    heldout_folds: int = 5
    consensus_restarts: int = 10
    consensus_max_rows: int = 400
    k_min: int = 2
    k_max: int = 10
    k_rule: str = "max_stable"
    k_fixed: int = 7
    k_min_jaccard: float = 0.75
    min_segment_share: float = 0.05
    k_stability_resamples: int = 20
    gap_references: int = 10
    k_min_bootstrap_ari: float = 0.8
    k_bootstrap_pairs: int = 10
    kmeans_n_init: int = 10
    subsample_fraction: float = 0.8
    stability_resamples: int = 100
    stability_scheme: str = "subsample"
    stability_ci: float = 0.95
    stability_nmf_max_iter: int = 300
    stability_kmeans_n_init: int = 3
    silhouette_max_rows: int = 5000
    tier_features: tuple[str, ...] = ("recency", "frequency", "monetary_sales")
    tier_bins: int = 5
    tier_high_min: int = 12
    tier_medium_min: int = 8
    compare_original: bool = True
    original_rank: int = 5

    @classmethod
    def from_params(cls, section: dict | None) -> "SegmentationConfig":
        """Build from the (validated) ``segmentation`` params section; unknown keys are errors."""
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        extra = sorted(set(section) - known)
        if extra:
            raise ParamError(f"segmentation.{extra[0]} is not a known key; allowed keys: {', '.join(sorted(known))}")
        for key in ("features", "log_features", "tier_features"):
            if key in section:
                section[key] = tuple(section[key])
        cfg = cls(**section)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Cross-key checks the schema cannot express."""
        if not self.features:
            raise ParamError("segmentation.features is empty; expected at least 2 feature names")
        if len(set(self.features)) != len(self.features):
            dup = next(f for f in self.features if self.features.count(f) > 1)
            raise ParamError(f"segmentation.features lists {dup} twice; expected distinct names")
        if self.rank_min > self.rank_max:
            raise ParamError(f"segmentation.rank_min = {self.rank_min} is invalid; expected <= rank_max ({self.rank_max})")
        if self.k_min > self.k_max:
            raise ParamError(f"segmentation.k_min = {self.k_min} is invalid; expected <= k_max ({self.k_max})")
        if self.k_min < 2:
            raise ParamError(f"segmentation.k_min = {self.k_min} is invalid; expected at least 2 segments")
        if not 0 <= self.min_segment_share < 0.5:
            raise ParamError(f"segmentation.min_segment_share = {self.min_segment_share} is invalid; expected 0 <= share < 0.5")
        value_tiers.ValueTiers(self.tier_features, self.tier_bins, self.tier_high_min, self.tier_medium_min)._check()
        for name, choices in (
            ("transform", preprocess.TRANSFORMS),
            ("impute", preprocess.IMPUTE),
            ("rank_rule", nmf.RANK_RULES),
            ("k_rule", clustering.K_RULES),
            ("stability_scheme", stability.SCHEMES),
        ):
            if getattr(self, name) not in choices:
                raise ParamError(
                    f"segmentation.{name} = {getattr(self, name)!r} is invalid; expected one of {', '.join(choices)}"
                )


@dataclass
class SegmentationResult:
    """Everything :func:`run_segmentation` produces (tables follow the results contract)."""

    config: SegmentationConfig
    households: int
    rank: int
    k: int
    rank_selection: pd.DataFrame
    loadings: pd.DataFrame
    factor_names: pd.DataFrame
    cluster_selection: pd.DataFrame
    segments: pd.DataFrame
    profiles: pd.DataFrame
    strategy: pd.DataFrame
    separation: pd.DataFrame
    differences: pd.DataFrame
    value_tiers: pd.DataFrame
    recipes: pd.DataFrame
    stability: pd.DataFrame
    ari: dict
    model: SegmentModel = field(repr=False)
    resamples: dict = field(repr=False)
    chain: SegmentationChain = field(repr=False)


def _log_positions(cfg: SegmentationConfig) -> list[int]:
    if cfg.transform != "log1p_minmax":
        return []
    wanted = set(cfg.log_features)
    return [i for i, f in enumerate(cfg.features) if f in wanted]


def prepare(features: pd.DataFrame, cfg: SegmentationConfig, origin: str = "feature table") -> pd.DataFrame:
    """Check the table and sort it by household (row order must not change results)."""
    needed = list(dict.fromkeys([*cfg.features, cfg.revenue_feature, *cfg.tier_features]))
    preprocess.check_feature_table(features, needed, origin)
    if len(features) < max(cfg.k_max, cfg.rank_max) + 2:
        raise InputError(f"{origin}: only {len(features)} households; expected at least 2 more than segmentation.k_max "
                         f"({cfg.k_max}) and segmentation.rank_max ({cfg.rank_max}); lower them or use more data")
    return features.sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)


def run_segmentation(features: pd.DataFrame, cfg: SegmentationConfig, origin: str = "feature table") -> SegmentationResult:
    """Run the whole Track 1 chain on a customer feature table (see the module docstring).

    BLAS and OpenMP are limited to one thread while it runs: the matrices are small (a few
    thousand rows, a handful of columns), threads only add contention on a shared machine,
    and one thread makes the floating-point results independent of the core count.
    """
    with threadpool_limits(limits=1):
        return _run(features, cfg, origin)


def _chain(cfg: SegmentationConfig, rank: int, k: int, stability_run: bool = False) -> SegmentationChain:
    return SegmentationChain(
        rank=rank, k=k, transform=cfg.transform, log_features=_log_positions(cfg), impute=cfg.impute,
        clip_quantile=cfg.clip_quantile, nmf_init=cfg.nmf_init, nmf_tol=cfg.nmf_tol, random_state=cfg.seed,
        nmf_max_iter=cfg.stability_nmf_max_iter if stability_run else cfg.nmf_max_iter,
        kmeans_n_init=cfg.stability_kmeans_n_init if stability_run else cfg.kmeans_n_init,
    )


def per_k_stability(X_raw: np.ndarray, W: np.ndarray, ks, rank: int, cfg: SegmentationConfig) -> pd.DataFrame:
    """For each k: the smallest segment share and the lowest segment mean Jaccard.

    The reference partition is K-means at k on the full-data scores (as the final fit);
    each of ``k_stability_resamples`` resamples refits the whole chain (fewer than the
    final ``stability_resamples``: this only has to tell stable k from unstable ones).
    """
    rows = []
    for k in ks:
        labels = clustering.fit_kmeans(W, k, cfg.kmeans_n_init, cfg.seed).labels_
        res = stability.bootstrap_stability(X_raw, labels, _chain(cfg, rank, k, True), cfg.k_stability_resamples,
                                            cfg.subsample_fraction, cfg.stability_scheme, cfg.seed)
        jac = stability.stability_table(res, cfg.stability_ci)["jaccard_mean"]
        rows.append({"k": int(k), "min_jaccard": float(jac.min()), "min_share": float(np.bincount(labels).min() / len(labels)),
                     "k_stability_resamples": int(cfg.k_stability_resamples)})
    return pd.DataFrame(rows)


def _run(features: pd.DataFrame, cfg: SegmentationConfig, origin: str) -> SegmentationResult:
    df = prepare(features, cfg, origin)
    X_raw = df[list(cfg.features)].to_numpy(dtype=float)
    n, p = X_raw.shape
    seed = cfg.seed
    logpos = _log_positions(cfg)
    transformer = preprocess.FeatureTransformer(cfg.transform, logpos, cfg.impute, cfg.clip_quantile)
    model = nmf.FactorModel(init=cfg.nmf_init, max_iter=cfg.nmf_max_iter, tol=cfg.nmf_tol, random_state=seed)

    top_rank = min(cfg.rank_max, p)
    if cfg.rank_min > top_rank:
        raise ParamError(f"segmentation.rank_min = {cfg.rank_min} is invalid; expected <= number of features ({p})")
    ranks = list(range(cfg.rank_min, top_rank + 1))
    log.info("NMF rank selection over ranks %s on %d households x %d features", ranks, n, p)
    rank_table = nmf.rank_selection_table(
        X_raw, ranks, transformer, model, cfg.heldout_folds, cfg.consensus_restarts, cfg.consensus_max_rows,
        min(cfg.nmf_max_iter, 200), seed,
    )
    rank = nmf.select_rank(rank_table, cfg.rank_rule, cfg.rank_r2_threshold, cfg.rank_fixed)
    if rank > p:
        raise ParamError(f"segmentation.rank_fixed = {rank} is invalid; expected <= number of features ({p})")
    log.info("rank rule %s chose rank %d", cfg.rank_rule, rank)

    chain0 = _chain(cfg, rank, cfg.k_min).fit(X_raw)
    W, H = chain0.scores_, chain0.factors_.components_
    loadings = nmf.loadings_table(H, cfg.features)
    fnames = nmf.factor_names(H, cfg.features)

    ks = list(range(cfg.k_min, cfg.k_max + 1))
    log.info("K-means selection over k %s", ks)
    k_table = clustering.cluster_selection_table(
        W, ks, cfg.kmeans_n_init, cfg.k_bootstrap_pairs, cfg.subsample_fraction, cfg.stability_kmeans_n_init,
        cfg.silhouette_max_rows, seed,
    )
    if cfg.k_rule == "max_stable":
        k_table = k_table.merge(per_k_stability(X_raw, W, ks, rank, cfg), on="k")
        if cfg.gap_references > 0:
            gap_ks = ks + [cfg.k_max + 1] if cfg.k_max + 1 < n else ks
            gap = clustering.gap_statistic(W, gap_ks, cfg.gap_references, cfg.kmeans_n_init, seed,
                                           cfg.stability_kmeans_n_init)
            log.info("gap statistic k = %d (grid %s)", clustering.gap_k(gap), gap_ks)
            k_table = k_table.merge(gap, on="k", how="left").assign(gap_cap=clustering.gap_k(gap))
    k = clustering.select_k(k_table, cfg.k_rule, cfg.k_fixed, cfg.k_min_bootstrap_ari, cfg.k_min_jaccard,
                            cfg.min_segment_share)
    if k >= n:
        raise ParamError(f"segmentation.k_fixed = {k} is invalid; expected fewer than {n} households")
    if cfg.k_rule == "max_stable" and k not in clustering.stable_ks(k_table, cfg.k_min_jaccard, cfg.min_segment_share):
        log.warning("no k in %s has every segment Jaccard >= %.2f and share >= %.2f; k = %d has the most stable segments",
                    ks, cfg.k_min_jaccard, cfg.min_segment_share, k)
    log.info("k rule %s chose k %d", cfg.k_rule, k)

    chain = _chain(cfg, rank, k).fit(X_raw)
    tiers = value_tiers.ValueTiers(cfg.tier_features, cfg.tier_bins, cfg.tier_high_min, cfg.tier_medium_min).fit(df)
    identity = {c: c for c in range(k)}
    raw = SegmentModel.from_fitted(chain.transformer_, chain.factors_.components_, chain.kmeans_.cluster_centers_,
                                   identity, pd.DataFrame({"segment": [], "segment_name": [], "segment_name_ko": []}),
                                   cfg.features, tiers).predict(df)[0]
    revenue = pd.to_numeric(df[cfg.revenue_feature], errors="coerce").to_numpy(dtype=float)
    mapping = profiles.segment_order(raw, revenue, df[HOUSEHOLD].to_numpy())
    seg = np.array([mapping[int(c)] for c in raw])
    D = describe.std_differences(df, seg, cfg.features)
    names = describe.segment_names(D)
    seg_model = SegmentModel.from_fitted(chain.transformer_, chain.factors_.components_, chain.kmeans_.cluster_centers_,
                                         mapping, names, cfg.features, tiers)
    segments = assign_segments(df, seg_model, origin)
    Wf = segments[nmf.factor_columns(rank)].to_numpy()
    tier = segments["value_tier"].to_numpy()
    prof = profiles.profiles_table(df, seg, Wf, names, tier, D, cfg.features, cfg.revenue_feature)
    strategy = profiles.strategy_table(prof, D)
    separation = profiles.separation_table(df, seg, cfg.features)
    differences = describe.differences_table(df, seg, names, profiles.profile_features(df, cfg.features), cfg.features)
    crosstab = value_tiers.crosstab(segments, revenue)

    res = stability.bootstrap_stability(
        X_raw, seg, _chain(cfg, rank, k, True), cfg.stability_resamples, cfg.subsample_fraction, cfg.stability_scheme, seed
    )
    log.info("stability: %d resamples of the whole chain in %.1f s", cfg.stability_resamples, res["seconds"])
    stab = stability.stability_table(res, cfg.stability_ci)
    stab.insert(1, "segment_name", stab["segment"].map(names.set_index("segment")["segment_name"]))
    ours = recipe.recipe_row("segtarget", df, seg, chain, p, cfg.k_rule, stab["jaccard_mean"].min(),
                             k_table.set_index("k").loc[k])
    recipes = recipe.comparison(ours, df, cfg)
    return SegmentationResult(
        config=cfg, households=n, rank=rank, k=k, rank_selection=rank_table, loadings=loadings,
        factor_names=fnames, cluster_selection=k_table, segments=segments, profiles=prof, strategy=strategy,
        separation=separation, differences=differences, value_tiers=crosstab, recipes=recipes, stability=stab,
        ari=stability.ari_summary(res, cfg.stability_ci), model=seg_model, resamples=res, chain=chain,
    )


def track1_metrics(result: SegmentationResult) -> dict:
    """The ``track1`` block of metrics.json: headline numbers at the chosen rank and k."""
    r = result.rank_selection.set_index("rank").loc[result.rank]
    c = result.cluster_selection.set_index("k").loc[result.k]
    orig = result.recipes[result.recipes["recipe"] == "original"]
    o = orig.iloc[0] if len(orig) else None
    return {
        "households": int(result.households),
        "features": len(result.config.features),
        "nmf_rank": int(result.rank),
        "r2_centered": float(r["r2_centered"]),
        "evar_uncentered": float(r["evar_uncentered"]),
        "r2_heldout": float(r["r2_heldout"]),
        "cophenetic": float(r["cophenetic"]),
        "k": int(result.k),
        "silhouette": float(c["silhouette"]),
        "davies_bouldin": float(c["davies_bouldin"]),
        "bootstrap_ari_mean": float(result.ari["mean"]),
        "bootstrap_ari_ci": [float(x) for x in result.ari["ci"]],
        "min_segment_jaccard": float(result.stability["jaccard_mean"].min()),
        "min_segment_share": float(result.profiles["share"].min()),
        "stability_resamples": int(result.config.stability_resamples),
        "k_rule": result.config.k_rule,
        "segments_apart_05sd": int((result.profiles["top_std_diff"].abs() >= 0.5).sum()),
        "original_recipe_k": int(o["k"]) if o is not None else None,
        "original_recipe_min_jaccard": float(o["min_jaccard"]) if o is not None else None,
    }
