"""Track 1 (segmentation) facts and tables, in English and Korean.

:class:`Track1Facts` (:func:`track1_facts`) holds the headline numbers of the
segmentation, read once from ``results/`` for both languages; the ``*_table`` functions
build the Track 1 tables (NMF rank, factors, k, profiles with their value-tier mix, what
sets each segment apart, categories, stability, separation, strategy, feature tails). The
prose about them is in :mod:`segtarget.report.track1_prose`; the sections on the value
tiers, the choice of k and the original recipe are in :mod:`segtarget.report.track1_axes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from segtarget.report.escape import md_escape
from segtarget.report.facts import has_table, read_params, truthy
from segtarget.report.labels import JACCARD_BANDS, feature_label, label, silhouette_strength
from segtarget.report.results import Formatter, Results
from segtarget.report.tables import pipe_table


# --------------------------------------------------------------------------- Track 1 facts


@dataclass
class Track1Facts:
    """Headline numbers of the segmentation, computed once for both languages."""

    households: int
    n_features: int
    n_dictionary: int
    n_groups: int
    rank: int
    rank_grid: tuple[int, int]
    r2_centered: float
    evar_uncentered: float
    r2_heldout: float
    cophenetic: float
    k: int
    k_grid: tuple[int, int]
    silhouette: float
    davies_bouldin: float
    k_bootstrap_ari: float
    k_best_silhouette: int
    k_best_davies_bouldin: int
    ari_mean: float
    ari_ci: tuple[float, float]
    resamples: int
    min_jaccard: float
    min_jaccard_segment: int
    bands: dict[str, int]
    profiles: pd.DataFrame
    stability: pd.DataFrame
    factors: pd.DataFrame
    params: dict = field(default_factory=dict)

    # --- derived
    def segment_name(self, segment: int, lang: str = "en") -> str:
        """The segment's name for prose, Markdown-escaped (names are data; a table cell takes the
        raw name from ``profiles``, which ``md_table`` escapes itself)."""
        row = self.profiles.set_index("segment").loc[segment]
        return md_escape(row["segment_name_ko"] if lang == "ko" and "segment_name_ko" in row else row["segment_name"])

    @property
    def top_revenue(self) -> pd.Series:
        """The segment with the largest revenue share."""
        return self.profiles.sort_values(["revenue_share", "n"], ascending=False).iloc[0]

    @property
    def top_per_household(self) -> pd.Series:
        return self.profiles.sort_values("revenue_per_household", ascending=False).iloc[0]

    @property
    def largest(self) -> pd.Series:
        return self.profiles.sort_values(["n", "segment"], ascending=[False, True]).iloc[0]

    @property
    def seg_params(self) -> dict:
        return self.params.get("segmentation", {}) if self.params else {}

    @property
    def jaccard_floor(self) -> float:
        """The mean Jaccard a segment needs (``k_min_jaccard``; Hennig's 'stable' band)."""
        return float(self.seg_params.get("k_min_jaccard", JACCARD_BANDS[1]))

    @property
    def share_floor(self) -> float:
        """The share of households a segment needs (``min_segment_share``)."""
        return float(self.seg_params.get("min_segment_share", 0.05))

    @property
    def min_share(self) -> float:
        return float(self.profiles["share"].min())

    @property
    def weak_segments(self) -> list[int]:
        """Segments whose mean Jaccard is below the stability floor (0.75 by default)."""
        return [int(s) for s, j in zip(self.stability["segment"], self.stability["jaccard_mean"])
                if j < self.jaccard_floor]

    @property
    def small_segments(self) -> list[int]:
        """Segments holding less than ``min_segment_share`` of the households."""
        return [int(s) for s, sh in zip(self.profiles["segment"], self.profiles["share"]) if sh < self.share_floor]

    @property
    def silhouette_strength(self) -> str:
        return silhouette_strength(self.silhouette)

    @property
    def k_at_grid_edge(self) -> bool:
        return self.k in self.k_grid

    @property
    def rank_at_grid_edge(self) -> bool:
        return self.rank in self.rank_grid

    def factor_name(self, factor: str, lang: str = "en") -> str:
        row = self.factors.set_index("factor").loc[factor]
        col = "label_ko" if lang == "ko" and "label_ko" in row else "label"
        return md_escape(row[col] if col in row else factor)  # data: escaped for prose


def _factor_table(res: Results) -> pd.DataFrame:
    """Factor names: ``factor_names.csv`` when the segment stage wrote it, else built from
    the loadings (the two features that load highest on each factor)."""
    if has_table(res, "factor_names"):
        return res.table("factor_names")
    load = res.table("factor_loadings").set_index("feature")
    rows = []
    for fac in load.columns:
        top = load[fac].sort_values(ascending=False).index[:2].tolist()
        rows.append({"factor": fac, "label": " + ".join(feature_label(t) for t in top),
                     "label_ko": " + ".join(feature_label(t, "ko") for t in top), "top_features": "+".join(top)})
    return pd.DataFrame(rows)


def track1_facts(res: Results) -> Track1Facts:
    m = res.metric("track1")
    ranks = res.table("nmf_rank_selection")
    clus = res.table("cluster_selection")
    stab = res.table("segment_stability")
    prof = res.table("segment_profiles")
    fd = res.table("feature_dictionary")
    k = int(m["k"])
    row_k = clus.set_index("k").loc[k]
    low = stab.sort_values(["jaccard_mean", "segment"]).iloc[0]
    bands = {b: int((stab["band"] == b).sum()) for b in ("highly stable", "stable", "doubtful", "unstable")}
    return Track1Facts(
        households=int(m["households"]), n_features=int(m["features"]), n_dictionary=len(fd),
        n_groups=int(fd["group"].nunique()),
        rank=int(m["nmf_rank"]), rank_grid=(int(ranks["rank"].min()), int(ranks["rank"].max())),
        r2_centered=float(m["r2_centered"]), evar_uncentered=float(m["evar_uncentered"]),
        r2_heldout=float(m["r2_heldout"]), cophenetic=float(m["cophenetic"]),
        k=k, k_grid=(int(clus["k"].min()), int(clus["k"].max())),
        silhouette=float(m["silhouette"]), davies_bouldin=float(m["davies_bouldin"]),
        k_bootstrap_ari=float(row_k["bootstrap_ari"]),
        k_best_silhouette=int(clus.loc[clus["silhouette"].idxmax(), "k"]),
        k_best_davies_bouldin=int(clus.loc[clus["davies_bouldin"].idxmin(), "k"]),
        ari_mean=float(m["bootstrap_ari_mean"]), ari_ci=tuple(float(x) for x in m["bootstrap_ari_ci"]),
        resamples=int(m["stability_resamples"]), min_jaccard=float(low["jaccard_mean"]),
        min_jaccard_segment=int(low["segment"]), bands=bands, profiles=prof, stability=stab,
        factors=_factor_table(res), params=read_params(res),
    )


# --------------------------------------------------------------------------- Track 1 tables


def _seg_col(df: pd.DataFrame, lang: str) -> pd.Series:
    if lang == "ko" and "segment_name_ko" in df:
        return df["segment_name_ko"]
    return df["segment_name"]


def rank_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = res.table("nmf_rank_selection")
    df = t[["rank", "reconstruction_error", "r2_centered", "evar_uncentered", "r2_heldout", "cophenetic"]].copy()
    df["selected"] = ["✓" if truthy(v) else "" for v in t.get("selected", [False] * len(t))]
    headers = ({"rank": "Rank", "reconstruction_error": "Frobenius error", "r2_centered": "R² (centred)",
                "evar_uncentered": "evar (uncentred)", "r2_heldout": "R² held-out", "cophenetic": "Cophenetic",
                "selected": "Chosen"} if lang == "en" else
               {"rank": "랭크", "reconstruction_error": "프로베니우스 오차", "r2_centered": "R² (중심화)",
                "evar_uncentered": "evar (비중심화)", "r2_heldout": "검증 R²", "cophenetic": "코페네틱 상관",
                "selected": "선택"})
    fmt = {"reconstruction_error": "num:2", "r2_centered": "num:3", "evar_uncentered": "num:3",
           "r2_heldout": "num:3", "cophenetic": "num:3", "selected": "text"}
    return pipe_table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def factor_table(res: Results, lang: str = "en", top: int = 3, caption=None, label_=None) -> str:
    """Each factor with its data-driven name and its highest loadings."""
    load = res.table("factor_loadings").set_index("feature")
    names = _factor_table(res).set_index("factor")
    rows = []
    for fac in load.columns:
        s = load[fac].sort_values(ascending=False).head(top)
        name = (names.loc[fac, "label_ko"] if lang == "ko" and "label_ko" in names else names.loc[fac, "label"]) \
            if fac in names.index else fac
        rows.append({"factor": fac, "name": name,
                     "top": ", ".join(f"{feature_label(feat, lang)} ({v:.2f})" for feat, v in s.items())})
    df = pd.DataFrame(rows)
    headers = ({"factor": "Factor", "name": "Name", "top": "Highest loadings (max = 1)"} if lang == "en" else
               {"factor": "요인", "name": "이름", "top": "가장 큰 적재값 (최댓값 = 1)"})
    return pipe_table(Formatter(lang), df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def k_passes(res: Results, params: dict | None = None) -> pd.Series:
    """Per k of ``cluster_selection.csv``: True when every segment clears the stability and
    share floors of the ``max_stable`` rule and k is not above the gap statistic's k (all
    False when the table has no per-k stability columns)."""
    t = res.table("cluster_selection")
    if not {"min_jaccard", "min_share"} <= set(t.columns):
        return pd.Series(False, index=t.index)
    seg = (params if params is not None else read_params(res)).get("segmentation", {})
    ok = (t["min_jaccard"].fillna(-1) >= float(seg.get("k_min_jaccard", JACCARD_BANDS[1]))) & \
         (t["min_share"].fillna(-1) >= float(seg.get("min_segment_share", 0.05)))
    if "gap_cap" in t and t["gap_cap"].notna().any():
        ok &= t["k"] <= int(t["gap_cap"].dropna().iloc[0])
    return ok


def cluster_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """The k grid: quality criteria and, with the ``max_stable`` rule, each k's lowest
    segment Jaccard, smallest segment share, gap statistic and whether it meets the floors."""
    t = res.table("cluster_selection")
    per_k = {"min_jaccard", "min_share"} <= set(t.columns)
    cols = (["k", "silhouette", "davies_bouldin", "bootstrap_ari", "min_jaccard", "min_share"]
            + (["gap"] if "gap" in t else []) if per_k else
            ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "bootstrap_ari"])
    df = t[cols].copy()
    if per_k:
        df["passes"] = ["✓" if v else "" for v in k_passes(res)]
    df["selected"] = ["✓" if truthy(v) else "" for v in t.get("selected", [False] * len(t))]
    headers = ({"k": "k", "inertia": "Inertia", "silhouette": "Silhouette", "calinski_harabasz": "Calinski-Harabasz",
                "davies_bouldin": "Davies-Bouldin", "bootstrap_ari": "Subsample ARI",
                "min_jaccard": "Lowest segment Jaccard", "min_share": "Smallest segment", "gap": "Gap",
                "passes": "Meets floors", "selected": "Chosen"}
               if lang == "en" else
               {"k": "k", "inertia": "관성", "silhouette": "실루엣", "calinski_harabasz": "Calinski-Harabasz",
                "davies_bouldin": "Davies-Bouldin", "bootstrap_ari": "부분표본 ARI",
                "min_jaccard": "최저 세그먼트 Jaccard", "min_share": "최소 세그먼트 비중", "gap": "갭",
                "passes": "기준 충족", "selected": "선택"})
    fmt = {"inertia": "num:2", "silhouette": "num:3", "calinski_harabasz": "num:1", "davies_bouldin": "num:3",
           "bootstrap_ari": "num:3", "min_jaccard": "num:3", "min_share": "pct", "gap": "num:3",
           "passes": "text", "selected": "text"}
    return pipe_table(Formatter(lang), df, formats={c: v for c, v in fmt.items() if c in df},
                      headers={c: v for c, v in headers.items() if c in df}, caption=caption, label=label_)


TIER_COLUMNS = {"High": "tier_high_share", "Medium": "tier_medium_share", "Low": "tier_low_share"}


def profile_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """Size, revenue and value-tier mix (share of the segment's households in each tier)."""
    p = res.table("segment_profiles")
    df = pd.DataFrame({
        "segment": p["segment"], "name": _seg_col(p, lang), "n": p["n"], "share": p["share"],
        "revenue_share": p["revenue_share"], "revenue_per_household": p["revenue_per_household"],
        **{tier: p[col] for tier, col in TIER_COLUMNS.items() if col in p},
    })
    headers = ({"segment": "Seg.", "name": "Name", "n": "Households", "share": "Share", "revenue_share": "Revenue share",
                "revenue_per_household": "Spend per household"} if lang == "en" else
               {"segment": "번호", "name": "이름", "n": "가구 수", "share": "가구 비중", "revenue_share": "매출 비중",
                "revenue_per_household": "가구당 구매액"})
    headers.update({tier: label("tier", tier, lang) for tier in TIER_COLUMNS if tier in df})
    fmt = {"name": "text", "share": "pct", "revenue_share": "pct", "revenue_per_household": "money",
           **{tier: "pct:0" for tier in TIER_COLUMNS if tier in df}}
    return pipe_table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def distinguishing(res: Results, n: int = 3) -> dict[int, list[tuple[str, float]]]:
    """Per segment, the ``n`` behaviour features (NMF inputs) with the largest |standardised
    difference| from all households, as (feature, d), largest first."""
    d = res.table("segment_feature_differences")
    if "nmf_input" in d:
        d = d[[truthy(v) for v in d["nmf_input"]]]
    d = d.assign(abs_d=d["std_diff"].abs()).sort_values(["segment", "abs_d", "feature"], ascending=[True, False, True])
    return {int(s): [(str(r.feature), float(r.std_diff)) for r in g.head(n).itertuples()]
            for s, g in d.groupby("segment")}


def feature_words(feature: str, lang: str = "en") -> str:
    """A feature's label, with "share" for a category share (``health & beauty share``)."""
    name = feature_label(feature, lang)
    if str(feature).startswith("share_"):
        return f"{name} share" if lang == "en" else f"{name} 비중"
    return name


def behaviour_words(feature: str, d: float, lang: str = "en") -> str:
    """A feature and the direction of a difference in plain words (``high regularity``)."""
    name = feature_words(feature, lang)
    if lang == "en":
        return f"{'high' if d >= 0 else 'low'} {name}"
    return f"{name} {'높음' if d >= 0 else '낮음'}"


def distinct_table(res: Results, lang: str = "en", n: int = 3, caption=None, label_=None) -> str:
    """What sets each segment apart: its largest standardised differences on behaviour features."""
    p = res.table("segment_profiles")
    top = distinguishing(res, n)
    df = pd.DataFrame({"segment": p["segment"], "name": _seg_col(p, lang),
                       "apart": ["; ".join(f"{feature_words(feat, lang)} {d:+.2f}" for feat, d in top.get(int(s), []))
                                 for s in p["segment"]]})
    headers = ({"segment": "Seg.", "name": "Name", "apart": "Sets it apart (segment mean minus all households, in SD)"}
               if lang == "en" else
               {"segment": "번호", "name": "이름", "apart": "구별되는 특성 (세그먼트 평균과 전체 가구 평균의 차이, 표준편차 단위)"})
    return pipe_table(Formatter(lang), df, formats={"name": "text", "apart": "text"}, headers=headers,
                      caption=caption, label=label_)


def category_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """Behaviour and category mix per segment (means of shares and ratios)."""
    p = res.table("segment_profiles")
    cols = [c for c in ("discount_usage_pct", "private_label_ratio", "share_grocery", "share_fresh",
                        "share_health_beauty", "share_alcohol") if c in p]
    df = pd.DataFrame({"segment": p["segment"], **{c: p[c] for c in cols}})
    headers = {c: feature_label(c, lang) for c in cols}
    headers["segment"] = "Seg." if lang == "en" else "번호"
    return pipe_table(Formatter(lang), df, formats={c: "pct" for c in cols}, headers=headers, caption=caption, label=label_)


def stability_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    s = res.table("segment_stability")
    df = pd.DataFrame({"segment": s["segment"], "name": _seg_col(res.table("segment_profiles").set_index("segment")
                                                                  .reindex(s["segment"]).reset_index(), lang).values,
                       "jaccard": s["jaccard_mean"], "ci": [(lo, hi) for lo, hi in zip(s["jaccard_ci_low"], s["jaccard_ci_high"])],
                       "band": [label("band", b, lang) for b in s["band"]],
                       "dissolved": s["dissolved_share"] if "dissolved_share" in s else np.nan})
    f = Formatter(lang)
    headers = ({"segment": "Seg.", "name": "Name", "jaccard": "Mean Jaccard", "ci": "Interval",
                "band": "Band", "dissolved": "Dissolved"} if lang == "en" else
               {"segment": "번호", "name": "이름", "jaccard": "평균 Jaccard", "ci": "구간", "band": "판정",
                "dissolved": "해체 비율"})
    return pipe_table(f, df, formats={"name": "text", "jaccard": "num:3", "ci": lambda v: f.ci(v[0], v[1], "num:3"),
                                "band": "text", "dissolved": "pct"}, headers=headers, caption=caption, label=label_)


def separation_table(res: Results, lang: str = "en", top: int = 8, caption=None, label_=None) -> str:
    s = res.table("segment_separation").sort_values(["kruskal_h", "feature"], ascending=[False, True]).head(top)
    df = pd.DataFrame({"feature": [feature_label(x, lang) for x in s["feature"]], "kruskal_h": s["kruskal_h"],
                       "anova_f": s["anova_f"],
                       "nmf_input": [Formatter(lang).bool(truthy(v)) for v in s["nmf_input"]]})
    headers = ({"feature": "Feature", "kruskal_h": "Kruskal-Wallis H", "anova_f": "ANOVA F", "nmf_input": "NMF input"}
               if lang == "en" else
               {"feature": "특성", "kruskal_h": "Kruskal-Wallis H", "anova_f": "분산분석 F", "nmf_input": "NMF 입력"})
    return pipe_table(Formatter(lang), df, formats={"feature": "text", "kruskal_h": "num:1", "anova_f": "num:1",
                                              "nmf_input": "text"}, headers=headers, caption=caption, label=label_)


def strategy_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """A behaviour-led action per segment, with the behaviour it follows from and the
    segment's most common value tier."""
    s = res.table("segment_strategy")
    p = res.table("segment_profiles").set_index("segment")
    action = s["recommended_action_ko"] if lang == "ko" and "recommended_action_ko" in s else s["recommended_action"]
    df = pd.DataFrame({"segment": s["segment"], "name": _seg_col(s, lang)})
    if {"top_feature", "top_std_diff"} <= set(p.columns):
        df["behaviour"] = [behaviour_words(p.loc[g, "top_feature"], p.loc[g, "top_std_diff"], lang) for g in s["segment"]]
    if "value_tier" in s:
        df["tier"] = [label("tier", t, lang) for t in s["value_tier"]]
    df["action"] = action.values
    headers = ({"segment": "Seg.", "name": "Segment", "behaviour": "Sets it apart most", "tier": "Most common value tier",
                "action": "Recommended action"} if lang == "en" else
               {"segment": "번호", "name": "세그먼트", "behaviour": "가장 두드러진 행동", "tier": "가장 많은 가치 등급",
                "action": "권장 전략"})
    return pipe_table(Formatter(lang), df, formats={c: "text" for c in df if c != "segment"},
                      headers={c: v for c, v in headers.items() if c in df}, caption=caption, label=label_)


@dataclass
class FeatureTails:
    """Heavy tails of the customer features: why log1p and the fuel fix matter."""

    table: pd.DataFrame  # feature, median, p99, max, skew_ratio (max / median)
    items_max: float
    items_median: float


def feature_tails(res: Results, features: Iterable[str] = ("monetary_sales", "frequency", "n_products",
                                                            "recency", "avg_items_per_basket")) -> FeatureTails:
    cf = res.table("customer_features")
    rows = []
    for feat in features:
        if feat not in cf:
            continue
        x = cf[feat].dropna().astype(float)
        rows.append({"feature": feat, "median": float(x.median()), "p99": float(x.quantile(0.99)),
                     "max": float(x.max()), "mean": float(x.mean())})
    t = pd.DataFrame(rows)
    items = cf["avg_items_per_basket"].dropna().astype(float) if "avg_items_per_basket" in cf else pd.Series([np.nan])
    return FeatureTails(t, float(items.max()), float(items.median()))


def tails_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = feature_tails(res).table.copy()
    t["feature"] = [feature_label(x, lang) for x in t["feature"]]
    t = t[["feature", "median", "mean", "p99", "max"]]
    headers = ({"feature": "Feature", "median": "Median", "mean": "Mean", "p99": "99th percentile", "max": "Maximum"}
               if lang == "en" else
               {"feature": "특성", "median": "중앙값", "mean": "평균", "p99": "99번째 백분위수", "max": "최댓값"})
    return pipe_table(Formatter(lang), t, formats={"feature": "text", "median": "num:1", "mean": "num:1", "p99": "num:1",
                                             "max": "num:1"}, headers=headers, caption=caption, label=label_)
