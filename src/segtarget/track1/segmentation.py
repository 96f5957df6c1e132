"""Track 1 from customer features to stable, named segments (the `segment` stage).

:func:`run_segmentation` runs the whole chain on a customer feature table:

1. check the table (household_id + the configured NMF inputs) and sort it by household;
2. :class:`~segtarget.track1.preprocess.FeatureTransformer`: impute missing values (median by default:
   one-basket households have no gap between visits and no basket spread), ``log1p`` the
   heavy-tailed counts and amounts, min-max to [0, 1];
3. NMF rank selection over a grid (:func:`~segtarget.track1.nmf.rank_selection_table`) and the
   rank rule; factor loadings and data-driven factor names;
4. K-means on the factor scores over a k grid
   (:func:`~segtarget.track1.clustering.cluster_selection_table`) and the k rule;
5. segment ids ordered by revenue share, names, value tiers, profiles, strategy and a
   feature separation table (:mod:`segtarget.track1.profiles`);
6. stability: the whole chain (transform, NMF, K-means) refitted on resampled households
   (:mod:`segtarget.track1.stability`).

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
- ``k_rule: min_davies_bouldin`` (the original's rule) restricted to k whose subsample ARI
  is at least ``k_min_bootstrap_ari: 0.8``: compact, separated segments, but only among
  partitions that reproduce when the households are resampled. Internal indices favour
  few, coarse segments when customers form a continuum (on the Complete Journey features
  both Davies-Bouldin and silhouette peak at k = 2); raise ``k_min`` or use
  ``k_rule: fixed`` when a finer, still stable segmentation is wanted, and read the
  stability table before acting on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from segtarget.track1 import clustering, nmf, preprocess, profiles, stability
from segtarget.core.errors import InputError, ParamError
from segtarget.data.schemas import HOUSEHOLD

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentationConfig:
    """Every tunable of Track 1 segmentation (the ``segmentation`` section of params.yaml)."""

    features: tuple[str, ...] = preprocess.ORIGINAL_NMF_FEATURES
    transform: str = "log1p_minmax"
    log_features: tuple[str, ...] = preprocess.HEAVY_TAILED_FEATURES
    impute: str = "median"
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
    k_rule: str = "min_davies_bouldin"
    k_fixed: int = 7
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

    @classmethod
    def from_params(cls, section: dict | None) -> "SegmentationConfig":
        """Build from the (validated) ``segmentation`` params section; unknown keys are errors."""
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        extra = sorted(set(section) - known)
        if extra:
            raise ParamError(f"segmentation.{extra[0]} is not a known key; allowed keys: {', '.join(sorted(known))}")
        for key in ("features", "log_features"):
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


class SegmentationChain(BaseEstimator):
    """Transform -> NMF -> K-means at a fixed rank and k: the unit that stability refits.

    Parameters mirror :class:`SegmentationConfig`; ``log_features`` are column positions.
    After ``fit(X_raw)``: ``transformer_``, ``factors_`` (:class:`~segtarget.track1.nmf.FactorModel`),
    ``kmeans_``, ``scores_`` (factor scores W of the fitted rows) and ``labels_``.

    Examples
    --------
    >>> df, truth = planted_feature_table(300, n_segments=3, seed=1)
    >>> X = df[list(preprocess.ORIGINAL_NMF_FEATURES)].to_numpy(float)
    >>> chain = SegmentationChain(rank=3, k=3, log_features=[0, 1, 2, 3, 5, 6, 7, 12, 13]).fit(X)
    >>> from sklearn.metrics import adjusted_rand_score
    >>> bool(adjusted_rand_score(truth, chain.labels_) > 0.9)
    True
    """

    def __init__(
        self,
        rank: int = 5,
        k: int = 7,
        transform: str = "log1p_minmax",
        log_features=(),
        impute: str = "median",
        nmf_init: str = "nndsvda",
        nmf_max_iter: int = 1000,
        nmf_tol: float = 1e-4,
        kmeans_n_init: int = 10,
        random_state: int = 42,
    ):
        self.rank = rank
        self.k = k
        self.transform = transform
        self.log_features = log_features
        self.impute = impute
        self.nmf_init = nmf_init
        self.nmf_max_iter = nmf_max_iter
        self.nmf_tol = nmf_tol
        self.kmeans_n_init = kmeans_n_init
        self.random_state = random_state

    def fit(self, X, y=None):
        self.transformer_ = preprocess.FeatureTransformer(self.transform, self.log_features, self.impute).fit(X)
        Xt = self.transformer_.transform(X)
        self.factors_ = nmf.FactorModel(
            rank=self.rank, init=self.nmf_init, max_iter=self.nmf_max_iter, tol=self.nmf_tol, random_state=self.random_state
        ).fit(Xt)
        self.scores_ = self.factors_.scores_
        self.kmeans_ = clustering.fit_kmeans(self.scores_, self.k, self.kmeans_n_init, self.random_state)
        self.labels_ = self.kmeans_.labels_
        return self

    def predict(self, X):
        """Segment (raw K-means label) of new rows: transform, solve W with H fixed, nearest centre."""
        return self.kmeans_.predict(self.factors_.transform(self.transformer_.transform(X)))


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
    stability: pd.DataFrame
    ari: dict
    resamples: dict = field(repr=False)
    chain: SegmentationChain = field(repr=False)


def _log_positions(cfg: SegmentationConfig) -> list[int]:
    if cfg.transform != "log1p_minmax":
        return []
    wanted = set(cfg.log_features)
    return [i for i, f in enumerate(cfg.features) if f in wanted]


def prepare(features: pd.DataFrame, cfg: SegmentationConfig, origin: str = "feature table") -> pd.DataFrame:
    """Check the table and sort it by household (row order must not change results)."""
    needed = list(cfg.features)
    if cfg.revenue_feature not in needed:
        needed.append(cfg.revenue_feature)
    preprocess.check_feature_table(features, needed, origin)
    if len(features) < max(cfg.k_max, cfg.rank_max) + 2:
        raise InputError(f"{origin}: only {len(features)} households; expected more than k_max and rank_max")
    return features.sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)


def run_segmentation(features: pd.DataFrame, cfg: SegmentationConfig, origin: str = "feature table") -> SegmentationResult:
    """Run the whole Track 1 chain on a customer feature table (see the module docstring).

    BLAS and OpenMP are limited to one thread while it runs: the matrices are small (a few
    thousand rows, a handful of columns), threads only add contention on a shared machine,
    and one thread makes the floating-point results independent of the core count.
    """
    with threadpool_limits(limits=1):
        return _run(features, cfg, origin)


def _run(features: pd.DataFrame, cfg: SegmentationConfig, origin: str) -> SegmentationResult:
    df = prepare(features, cfg, origin)
    X_raw = df[list(cfg.features)].to_numpy(dtype=float)
    n, p = X_raw.shape
    seed = cfg.seed
    logpos = _log_positions(cfg)
    transformer = preprocess.FeatureTransformer(cfg.transform, logpos, cfg.impute)
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

    Xt = transformer.fit(X_raw).transform(X_raw)
    fm = model.set_params(rank=rank).fit(Xt)
    W, H = fm.scores_, fm.components_
    loadings = nmf.loadings_table(H, cfg.features)
    fnames = nmf.factor_names(H, cfg.features)

    ks = list(range(cfg.k_min, cfg.k_max + 1))
    log.info("K-means selection over k %s", ks)
    k_table = clustering.cluster_selection_table(
        W, ks, cfg.kmeans_n_init, cfg.k_bootstrap_pairs, cfg.subsample_fraction, cfg.stability_kmeans_n_init,
        cfg.silhouette_max_rows, seed,
    )
    k = clustering.select_k(k_table, cfg.k_rule, cfg.k_fixed, cfg.k_min_bootstrap_ari)
    if k >= n:
        raise ParamError(f"segmentation.k_fixed = {k} is invalid; expected fewer than {n} households")
    log.info("k rule %s chose k %d", cfg.k_rule, k)

    chain = SegmentationChain(
        rank=rank, k=k, transform=cfg.transform, log_features=logpos, impute=cfg.impute, nmf_init=cfg.nmf_init,
        nmf_max_iter=cfg.nmf_max_iter, nmf_tol=cfg.nmf_tol, kmeans_n_init=cfg.kmeans_n_init, random_state=seed,
    ).fit(X_raw)
    revenue = pd.to_numeric(df[cfg.revenue_feature], errors="coerce").to_numpy(dtype=float)
    mapping = profiles.segment_order(chain.labels_, revenue, df[HOUSEHOLD].to_numpy())
    seg = np.array([mapping[int(c)] for c in chain.labels_])

    att = profiles.segment_attributes(
        df, seg, chain.scores_, fnames, cfg.revenue_feature, chain.transformer_.transform(X_raw), cfg.features
    )
    segments = profiles.segments_table(df[HOUSEHOLD].to_numpy(), seg, chain.scores_, att)
    prof = profiles.profiles_table(df, seg, chain.scores_, att, cfg.features, cfg.revenue_feature)
    strategy = profiles.strategy_table(prof)
    separation = profiles.separation_table(df, seg, cfg.features)

    boot_chain = SegmentationChain(**{**chain.get_params(), "nmf_max_iter": cfg.stability_nmf_max_iter,
                                      "kmeans_n_init": cfg.stability_kmeans_n_init})
    res = stability.bootstrap_stability(
        X_raw, seg, boot_chain, cfg.stability_resamples, cfg.subsample_fraction, cfg.stability_scheme, seed
    )
    log.info("stability: %d resamples of the whole chain in %.1f s", cfg.stability_resamples, res["seconds"])
    stab = stability.stability_table(res, cfg.stability_ci)
    stab.insert(1, "segment_name", stab["segment"].map(att.set_index("segment")["segment_name"]))
    return SegmentationResult(
        config=cfg, households=n, rank=rank, k=k, rank_selection=rank_table, loadings=loadings,
        factor_names=fnames, cluster_selection=k_table, segments=segments, profiles=prof, strategy=strategy,
        separation=separation, stability=stab, ari=stability.ari_summary(res, cfg.stability_ci), resamples=res,
        chain=chain,
    )


def track1_metrics(result: SegmentationResult) -> dict:
    """The ``track1`` block of metrics.json: headline numbers at the chosen rank and k."""
    r = result.rank_selection.set_index("rank").loc[result.rank]
    c = result.cluster_selection.set_index("k").loc[result.k]
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
        "stability_resamples": int(result.config.stability_resamples),
    }


# --------------------------------------------------------------------------------------
# Synthetic feature table with planted segments (tests and benchmarks)
# --------------------------------------------------------------------------------------


def planted_feature_table(
    n_households: int = 2500, n_segments: int = 5, seed: int = 0, noise: float = 1.0, weeks: int = 102
) -> tuple[pd.DataFrame, np.ndarray]:
    """A customer feature table (household_id + the 33 features) with known segments.

    Each segment has its own level of seven behaviour drivers (visits per week, basket
    value, regularity, recency, deal usage, private label, fresh vs health & beauty
    tilt). For every driver the segments' levels are a random permutation of evenly
    spaced values, so any two segments differ by at least one step on *every* driver;
    households scatter around their segment's levels (lognormal amounts, Beta ratios,
    Dirichlet category shares, a few fuel-like item counts), ``noise`` scales the scatter.
    The 33 features are then derived the way the feature stage defines them, so the table
    has realistic heavy tails, correlated features and NaNs for one-basket households.

    Returns the table and the planted segment of each row (0..n_segments-1).
    """
    rng = np.random.default_rng(seed)
    k = n_segments
    steps = np.linspace(0.0, 1.0, k) if k > 1 else np.array([0.5])

    def levels(lo, hi, log=False):
        v = steps[rng.permutation(k)]
        return np.exp(np.log(lo) + v * (np.log(hi) - np.log(lo))) if log else lo + v * (hi - lo)

    vpw_c = levels(0.3, 3.0, log=True)
    basket_c = levels(15.0, 80.0, log=True)
    reg_c = levels(0.25, 0.9)
    rec_c = levels(2.0, 60.0, log=True)
    deal_c = levels(0.3, 0.7)
    pl_c = levels(0.15, 0.45)
    tilt_c = levels(-1.0, 1.0)
    truth = rng.permutation(np.arange(n_households) % k)
    s = noise

    def ln(c, sd):
        return c[truth] * np.exp(rng.normal(0.0, sd * s, n_households))

    def beta(c, conc=80.0):
        m = np.clip(c[truth], 0.01, 0.99)
        conc = conc / max(s, 1e-6) ** 2
        return rng.beta(m * conc, (1 - m) * conc)

    days = weeks * 7
    vpw = ln(vpw_c, 0.15)
    frequency = np.maximum(1, np.round(vpw * weeks)).astype(int)
    frequency[rng.random(n_households) < 0.004] = 1
    reg = beta(reg_c)
    wwp = np.clip(np.round(reg * weeks), 1, np.minimum(weeks, frequency)).astype(int)
    basket = ln(basket_c, 0.15)
    sales = basket * frequency
    coupon = rng.beta(2, 400, n_households)
    recency = np.minimum(days - 1, np.round(ln(rec_c, 0.3))).astype(int)
    gap = (days - recency) / np.maximum(frequency - 1, 1) * np.exp(rng.normal(0, 0.1 * s, n_households))
    lines = np.maximum(frequency, np.round(frequency * basket / 3.0 * np.exp(rng.normal(0, 0.1, n_households))))
    n_products = np.maximum(1, np.round(lines * rng.uniform(0.35, 0.6, n_households))).astype(int)
    items = lines * 1.2 / frequency
    fuel = rng.random(n_households) < 0.02
    items[fuel] *= rng.uniform(10, 40, fuel.sum())
    deal = beta(deal_c)
    base = np.array([0.5, 0.25, 0.02, 0.15, 0.005, 0.075])
    tilt = tilt_c[truth] + rng.normal(0, 0.1 * s, n_households)
    alpha = base[None, :] * np.exp(np.outer(tilt, [0, 1, 0, -1, 0, 0]))
    alpha = alpha / alpha.sum(axis=1, keepdims=True) * 200.0
    shares = np.vstack([rng.dirichlet(a) for a in alpha])
    one = frequency == 1
    std = basket * np.exp(rng.normal(-0.15, 0.2, n_households))
    df = pd.DataFrame(
        {
            HOUSEHOLD: np.arange(1, n_households + 1),
            "recency": recency,
            "recency_weeks": recency // 7,
            "active_last_4w": (recency // 7 <= 4).astype(int),
            "active_last_12w": (recency // 7 <= 12).astype(int),
            "days_between_purchases_avg": np.where(one, np.nan, gap),
            "days_between_purchases_std": np.where(one, np.nan, gap * np.exp(rng.normal(-0.2, 0.3, n_households))),
            "frequency": frequency,
            "frequency_per_week": frequency / weeks,
            "frequency_per_month": frequency / weeks * 4.33,
            "transaction_count": lines.astype(int),
            "weeks_with_purchase": wwp,
            "purchase_regularity": wwp / weeks,
            "monetary_sales": sales,
            "monetary_actual": sales * (1 - coupon),
            "monetary_avg_basket_sales": basket,
            "monetary_avg_basket_actual": basket * (1 - coupon),
            "monetary_std": np.where(one, np.nan, std),
            "monetary_per_week": sales / weeks,
            "coupon_savings_ratio": coupon,
            "discount_rate": np.clip(deal * 0.3 + rng.normal(0, 0.02, n_households), 0, 1),
            "discount_usage_pct": deal,
            "private_label_ratio": beta(pl_c),
            "n_departments": np.clip(np.round(2.2 * np.log1p(n_products) + rng.normal(0, 1, n_households)), 1, 30).astype(int),
            "n_products": n_products,
            "avg_items_per_basket": items,
            "avg_products_per_basket": n_products / frequency,
            "share_grocery": shares[:, 0],
            "share_fresh": shares[:, 1],
            "share_bakery": shares[:, 2],
            "share_health_beauty": shares[:, 3],
            "share_alcohol": shares[:, 4],
            "share_other": shares[:, 5],
            "week_coverage": np.minimum(1.0, wwp / weeks * rng.uniform(1.0, 1.1, n_households)),
        }
    )
    return df, truth
