"""Track 1 figures, each in English (``name.png``) and Korean (``name_ko.png``).

Figures are built on :class:`matplotlib.figure.Figure` objects (no pyplot state) inside a
:func:`matplotlib.rc_context`, so making them changes no global setting. Korean figures
use NanumGothic, registered from the font file that ships in the ``koreanize-matplotlib``
package's folder; that package is *not* imported, because importing it rewrites the
global rcParams. Files are written with :func:`segtarget.core.io.save_figure` (atomic, no
timestamps), so the same tables give the same PNG bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segtarget.core.fonts import korean_font_name, korean_rc, minus_signs  # noqa: F401 (korean_font_name: re-exported)
from segtarget.core.io import save_figure
from segtarget.core.labels import feature_label
from segtarget.track1.profiles import profile_features, profile_label

_BASE_RC = {
    "font.family": ["DejaVu Sans"],
    "axes.unicode_minus": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}
BANDS = ((0.6, "#d62728"), (0.75, "#ff7f0e"), (0.85, "#2ca02c"))

TEXT = {
    "en": {
        "loadings_title": "NMF factor loadings (each factor scaled to max 1)",
        "feature": "feature",
        "rank_title": "NMF rank selection",
        "rank": "rank",
        "recon": "reconstruction error (Frobenius)",
        "fit": "share of variation reproduced",
        "r2_centered": "R² centred (in-sample)",
        "evar_uncentered": "evar uncentred (in-sample)",
        "r2_heldout": "R² centred (held-out)",
        "cophenetic": "cophenetic correlation",
        "chosen": "chosen",
        "k_title": "K-means: number of segments",
        "k": "k (segments)",
        "inertia": "inertia",
        "silhouette": "silhouette (higher better)",
        "calinski_harabasz": "Calinski-Harabasz (higher better)",
        "davies_bouldin": "Davies-Bouldin (lower better)",
        "bootstrap_ari": "subsample ARI (higher better)",
        "size_note": "bubble area = share of households",
        "loyalty_title": "Loyalty vs deal sensitivity",
        "freq_title": "Frequency vs spend",
        "factor_title": "Segments on factors {a} and {b}",
        "profile_title": "What sets segments apart: standardised difference (segment mean - all households) / SD",
        "min_jaccard": "lowest segment Jaccard (higher better)",
        "min_share": "smallest segment share",
        "floor": "floor",
        "tiers_title": "Segments x value tiers (RFM)",
        "tiers_hh": "households: share of the segment",
        "tiers_rev": "revenue: share of all revenue",
        "tiers": ("High", "Medium", "Low"),
        "stab_title": "Segment stability: clusterboot Jaccard ({n} resamples, whole chain refitted)",
        "jaccard": "Jaccard (mean, {ci:.0%} interval)",
        "ari_title": "Global ARI vs full-data segments",
        "ari": "adjusted Rand index",
        "count": "resamples",
        "mean": "mean",
        "bands": ("unstable", "doubtful", "stable", "highly stable"),
        "sizes_title": "Segment size and revenue",
        "share": "share of households",
        "revenue_share": "share of revenue",
        "segment": "segment",
    },
    "ko": {
        "loadings_title": "NMF 요인 적재량 (요인별 최댓값 1로 조정)",
        "feature": "변수",
        "rank_title": "NMF 요인 수 선택",
        "rank": "요인 수",
        "recon": "재구성 오차 (Frobenius)",
        "fit": "재현된 변동 비율",
        "r2_centered": "중심화 R² (학습 표본)",
        "evar_uncentered": "비중심 evar (학습 표본)",
        "r2_heldout": "중심화 R² (검증 표본)",
        "cophenetic": "코페네틱 상관계수",
        "chosen": "선택",
        "k_title": "K-평균: 세그먼트 수",
        "k": "k (세그먼트 수)",
        "inertia": "관성 (inertia)",
        "silhouette": "실루엣 (높을수록 좋음)",
        "calinski_harabasz": "Calinski-Harabasz (높을수록 좋음)",
        "davies_bouldin": "Davies-Bouldin (낮을수록 좋음)",
        "bootstrap_ari": "부분표본 ARI (높을수록 좋음)",
        "size_note": "원 면적 = 고객 비중",
        "loyalty_title": "충성도 대 할인 민감도",
        "freq_title": "구매 빈도 대 구매액",
        "factor_title": "요인 {a}, {b} 기준 세그먼트",
        "profile_title": "세그먼트 차이: 표준화 차이 (세그먼트 평균 - 전체 평균) / 표준편차",
        "min_jaccard": "최저 세그먼트 Jaccard (높을수록 좋음)",
        "min_share": "최소 세그먼트 비중",
        "floor": "기준",
        "tiers_title": "세그먼트 x 가치 등급 (RFM)",
        "tiers_hh": "고객 수: 세그먼트 내 비중",
        "tiers_rev": "매출: 전체 매출 대비 비중",
        "tiers": ("고가치", "중가치", "저가치"),
        "stab_title": "세그먼트 안정성: clusterboot Jaccard ({n}회 재표본, 전체 과정 재적합)",
        "jaccard": "Jaccard (평균, {ci:.0%} 구간)",
        "ari_title": "전체 ARI (전체 데이터 세그먼트 대비)",
        "ari": "수정 랜드 지수 (ARI)",
        "count": "재표본 수",
        "mean": "평균",
        "bands": ("불안정", "의심", "안정", "매우 안정"),
        "sizes_title": "세그먼트 규모와 매출",
        "share": "고객 비중",
        "revenue_share": "매출 비중",
        "segment": "세그먼트",
    },
}


def _rc(lang: str) -> dict:
    rc = dict(_BASE_RC)
    if lang == "ko":
        rc.update(korean_rc())
    return rc


def _seg_labels(profiles: pd.DataFrame, lang: str) -> list[str]:
    col = "segment_name_ko" if lang == "ko" and "segment_name_ko" in profiles else "segment_name"
    return [f"S{s} {n}" for s, n in zip(profiles["segment"], profiles[col])]


def _factor_labels(factor_names: pd.DataFrame, lang: str) -> list[str]:
    return factor_names["name_ko" if lang == "ko" else "name"].tolist()


# ----------------------------------------------------------------------------- figures


def fig_loadings(loadings: pd.DataFrame, factor_names: pd.DataFrame, lang: str = "en") -> Figure:
    t = TEXT[lang]
    fcols = [c for c in loadings.columns if c != "feature"]
    H = loadings[fcols].to_numpy(dtype=float)
    rows = [feature_label(f, lang) for f in loadings["feature"]]
    fig = Figure(figsize=(1.6 + 1.5 * len(fcols), 0.8 + 0.36 * len(rows)))
    ax = fig.add_subplot()
    im = ax.imshow(H, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    for i in range(H.shape[0]):
        for j in range(H.shape[1]):
            ax.text(j, i, f"{H[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if H[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(fcols)), _wrap_all(_factor_labels(factor_names, lang), 16), fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.set_title(t["loadings_title"])
    fig.colorbar(im, ax=ax, fraction=0.04)
    return fig


def _mark(ax, x, label):
    ax.axvline(x, color="grey", ls="--", lw=1)
    ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), ha="left", va="top", fontsize=8, color="grey")


def fig_rank_selection(table: pd.DataFrame, rank: int, lang: str = "en") -> Figure:
    t = TEXT[lang]
    fig = Figure(figsize=(13, 3.6))
    axes = fig.subplots(1, 3)
    r = table["rank"]
    axes[0].plot(r, table["reconstruction_error"], "o-")
    axes[0].set_ylabel(t["recon"])
    for col, style in (("r2_centered", "o-"), ("evar_uncentered", "s--"), ("r2_heldout", "^-")):
        axes[1].plot(r, table[col], style, label=t[col])
    axes[1].set_ylabel(t["fit"])
    axes[1].legend(fontsize=8)
    axes[2].plot(r, table["cophenetic"], "o-", color="C3")
    axes[2].set_ylabel(t["cophenetic"])
    for ax in axes:
        ax.set_xlabel(t["rank"])
        ax.set_xticks(list(r))
        _mark(ax, rank, f" {t['chosen']}: {rank}")
    fig.suptitle(t["rank_title"])
    fig.tight_layout()
    return fig


def fig_cluster_selection(table: pd.DataFrame, k: int, lang: str = "en", floors: dict | None = None) -> Figure:
    """One panel per k-table column; ``floors`` (column -> value) draws the max_stable floors."""
    t = TEXT[lang]
    cols = ["inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "bootstrap_ari", "min_jaccard", "min_share"]
    cols = [c for c in cols if c in table]
    fig = Figure(figsize=(3.4 * len(cols), 3.4))
    axes = fig.subplots(1, len(cols))
    for ax, col in zip(axes, cols):
        ax.plot(table["k"], table[col], "o-")
        ax.set_title(t[col], fontsize=9)
        ax.set_xlabel(t["k"])
        ax.set_xticks(list(table["k"]))
        if floors and col in floors:
            ax.axhline(floors[col], color="grey", ls=":", lw=1)
            ax.text(ax.get_xlim()[0], floors[col], f" {t['floor']} {floors[col]:g}", fontsize=7, va="bottom")
        _mark(ax, k, f" {t['chosen']}: {k}")
    fig.suptitle(t["k_title"])
    fig.tight_layout()
    return fig


def fig_bubble(profiles: pd.DataFrame, x: str, y: str, title: str, lang: str = "en",
               xlabel: str | None = None, ylabel: str | None = None) -> Figure:
    t = TEXT[lang]
    fig = Figure(figsize=(8, 6.4 + 0.22 * len(profiles)))
    ax = fig.add_subplot()
    sizes = 4000 * profiles["share"].to_numpy(dtype=float)
    xs, ys = profiles[x].to_numpy(dtype=float), profiles[y].to_numpy(dtype=float)
    labels = _seg_labels(profiles, lang)
    for i, (xi, yi, si, lab) in enumerate(zip(xs, ys, sizes, labels)):
        ax.scatter([xi], [yi], s=[si], color=f"C{i % 10}", alpha=0.5, edgecolors="black", linewidths=0.6, label=lab)
        ax.annotate(f"S{profiles['segment'].iloc[i]}", (xi, yi), ha="center", va="center", fontsize=9, weight="bold")
    leg = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, fontsize=8, frameon=False,
                    markerscale=0.25)
    for h in leg.legend_handles:
        h.set_sizes([40])
    ax.set_xlabel(xlabel or profile_label(x, lang))
    ax.set_ylabel(ylabel or profile_label(y, lang))
    ax.set_title(title)
    ax.margins(0.18)
    ax.annotate(t["size_note"], (0.99, 0.01), xycoords="axes fraction", ha="right", va="bottom", fontsize=8, color="grey")
    return fig


def factor_pairs(rank: int) -> list[tuple[int, int]]:
    """Factor pairs for the bubble charts: (F1, F2), (F3, F4), ... covering every factor.

    >>> factor_pairs(5)
    [(1, 2), (3, 4), (5, 1)]
    """
    pairs = [(j, j + 1) for j in range(1, rank, 2)]
    if rank % 2 == 1 and rank > 1:
        pairs.append((rank, 1))
    return pairs


def fig_profile_heatmap(profiles: pd.DataFrame, features: pd.DataFrame, columns: list[str], lang: str = "en") -> Figure:
    """z-scores of segment means against all households (mean and SD of the households)."""
    t = TEXT[lang]
    ref = features
    Z = np.empty((len(profiles), len(columns)))
    for j, c in enumerate(columns):
        v = pd.to_numeric(ref[c], errors="coerce").to_numpy(dtype=float)
        sd = np.nanstd(v)
        Z[:, j] = (profiles[c].to_numpy(dtype=float) - np.nanmean(v)) / (sd if sd > 0 else 1.0)
    fig = Figure(figsize=(1.5 + 0.55 * len(columns), 1.6 + 0.5 * len(profiles)))
    ax = fig.add_subplot()
    lim = max(1.0, float(np.nanmax(np.abs(Z)))) if Z.size else 1.0
    im = ax.imshow(Z, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            ax.text(j, i, minus_signs(f"{Z[i, j]:.1f}"), ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(columns)), [profile_label(c, lang) for c in columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(profiles)), [_wrap(s, 40) for s in _seg_labels(profiles, lang)], fontsize=8)
    ax.set_title(t["profile_title"])
    fig.colorbar(im, ax=ax, fraction=0.03)
    return fig


def fig_stability(stability: pd.DataFrame, profiles: pd.DataFrame, ari: np.ndarray, level: float,
                  lang: str = "en") -> Figure:
    t = TEXT[lang]
    fig = Figure(figsize=(13, 0.9 + 0.55 * len(stability) if len(stability) > 6 else 4.4))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    st = stability.sort_values("segment")
    y = np.arange(len(st))[::-1]
    m = st["jaccard_mean"].to_numpy(dtype=float)
    err = np.vstack([m - st["jaccard_ci_low"].to_numpy(dtype=float), st["jaccard_ci_high"].to_numpy(dtype=float) - m])
    prev = 0.0
    for (cut, color), name in zip(BANDS + ((1.0, "#1f77b4"),), t["bands"]):
        ax.axvspan(prev, cut, color=color, alpha=0.12, lw=0)
        ax.annotate(name, ((prev + cut) / 2, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7)
        prev = cut
    ax.errorbar(m, y, xerr=np.clip(err, 0, None), fmt="o", color="black", ecolor="black", capsize=4, ms=7)
    for xi, yi in zip(m, y):
        ax.annotate(f"{xi:.2f}", (xi, yi), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=8)
    names = profiles.set_index("segment").loc[st["segment"]]
    labels = _seg_labels(names.reset_index(), lang)
    ax.set_yticks(y, [_wrap(s, 38) for s in labels], fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(-0.7, len(st) - 0.3)
    ax.set_xlabel(t["jaccard"].format(ci=level))
    ari = np.asarray(ari, dtype=float)
    ax2.hist(ari, bins=40, range=(min(0.0, float(ari.min())), 1.0), color="C1", alpha=0.8)
    lo, hi = np.quantile(ari, [(1 - level) / 2, 1 - (1 - level) / 2])
    ax2.axvline(ari.mean(), color="black", lw=1.2, label=f"{t['mean']} {ari.mean():.3f}")
    ax2.axvspan(lo, hi, color="grey", alpha=0.2, label=f"{level:.0%}: [{lo:.3f}, {hi:.3f}]")
    ax2.set_xlabel(t["ari"])
    ax2.set_ylabel(t["count"])
    ax2.set_title(t["ari_title"], fontsize=10)
    ax2.legend(fontsize=8, loc="upper left")
    fig.suptitle(t["stab_title"].format(n=len(ari)))
    fig.tight_layout()
    return fig


def fig_sizes(profiles: pd.DataFrame, lang: str = "en") -> Figure:
    t = TEXT[lang]
    fig = Figure(figsize=(9, 0.9 + 0.5 * len(profiles)))
    ax = fig.add_subplot()
    y = np.arange(len(profiles))[::-1]
    ax.barh(y + 0.2, profiles["share"], height=0.4, label=t["share"], color="C0")
    ax.barh(y - 0.2, profiles["revenue_share"], height=0.4, label=t["revenue_share"], color="C2")
    for yi, a, b in zip(y, profiles["share"], profiles["revenue_share"]):
        ax.text(a, yi + 0.2, f" {a:.1%}", va="center", fontsize=7)
        ax.text(b, yi - 0.2, f" {b:.1%}", va="center", fontsize=7)
    ax.set_yticks(y, [_wrap(s, 40) for s in _seg_labels(profiles, lang)], fontsize=8)
    ax.set_title(t["sizes_title"])
    ax.legend(fontsize=8, loc="lower right")
    ax.margins(x=0.15)
    return fig


def fig_value_tiers(crosstab: pd.DataFrame, lang: str = "en") -> Figure:
    """Two heatmaps: each segment's tier mix (share of its households) and each cell's revenue share."""
    t = TEXT[lang]
    segs = sorted(crosstab["segment"].unique())
    tiers = ["High", "Medium", "Low"]
    name_col = "segment_name_ko" if lang == "ko" else "segment_name"
    names = crosstab.drop_duplicates("segment").set_index("segment")[name_col]
    fig = Figure(figsize=(11, 1.6 + 0.55 * len(segs)))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, col, title, cmap in ((axes[0], "share_of_segment", t["tiers_hh"], "Blues"),
                                 (axes[1], "revenue_share", t["tiers_rev"], "Greens")):
        M = crosstab.pivot(index="segment", columns="value_tier", values=col).reindex(index=segs, columns=tiers)
        ax.imshow(M.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0)
        for i in range(M.shape[0]):
            for j in range(M.shape[1]):
                ax.text(j, i, f"{M.iat[i, j]:.0%}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(3), list(t["tiers"]))
        ax.set_title(title, fontsize=9)
    axes[0].set_yticks(range(len(segs)), [_wrap(f"S{s} {names[s]}", 36) for s in segs], fontsize=8)
    fig.suptitle(t["tiers_title"])
    fig.tight_layout()
    return fig


def _wrap(s: str, width: int) -> str:
    words, lines, cur = s.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\n".join(lines)


def _wrap_all(items, width):
    return [_wrap(s, width) for s in items]


# ----------------------------------------------------------------------------- all


def figure_specs(result, features: pd.DataFrame | None = None) -> list[tuple[str, callable]]:
    """(file stem, function of lang -> Figure) for every Track 1 figure."""
    prof = result.profiles
    cfg = result.config
    specs = [
        ("factor_loadings_heatmap", lambda lang: fig_loadings(result.loadings, result.factor_names, lang)),
        ("nmf_rank_selection", lambda lang: fig_rank_selection(result.rank_selection, result.rank, lang)),
        ("cluster_selection", lambda lang: fig_cluster_selection(
            result.cluster_selection, result.k, lang, {"min_jaccard": cfg.k_min_jaccard, "min_share": cfg.min_segment_share})),
        ("segment_sizes", lambda lang: fig_sizes(prof, lang)),
        ("segment_value_tiers", lambda lang: fig_value_tiers(result.value_tiers, lang)),
    ]
    loyalty = "purchase_regularity" if "purchase_regularity" in prof else "frequency_per_week"
    deal = next((c for c in ("discount_usage_pct", "discount_rate", "coupon_savings_ratio") if c in prof), None)
    if loyalty in prof and deal:
        specs.append(("bubble_loyalty_vs_deal", lambda lang: fig_bubble(prof, loyalty, deal, TEXT[lang]["loyalty_title"], lang)))
    if "frequency" in prof and cfg.revenue_feature in prof:
        specs.append(("bubble_frequency_vs_monetary",
                      lambda lang: fig_bubble(prof, "frequency", cfg.revenue_feature, TEXT[lang]["freq_title"], lang)))
    fn = result.factor_names
    for a, b in factor_pairs(result.rank):
        def make(lang, a=a, b=b):
            xa, xb = fn["name_ko" if lang == "ko" else "name"].iloc[[a - 1, b - 1]]
            return fig_bubble(prof, f"F{a}", f"F{b}", TEXT[lang]["factor_title"].format(a=f"F{a}", b=f"F{b}"),
                              lang, xlabel=xa, ylabel=xb)
        specs.append((f"bubble_factors_f{a}_f{b}", make))
    if features is not None:
        cols = [c for c in profile_features(features, cfg.features) if c in prof.columns]
        specs.append(("segment_profiles_heatmap", lambda lang: fig_profile_heatmap(prof, features, cols, lang)))
    specs.append(("segment_stability", lambda lang: fig_stability(
        result.stability, prof, result.resamples["ari"], cfg.stability_ci, lang)))
    return specs


def save_track1_figures(result, figures_dir, features: pd.DataFrame | None = None, only=None) -> list[Path]:
    """Write every Track 1 figure (or those named in ``only``) as ``<name>.png`` and
    ``<name>_ko.png``; return the paths.

    ``features`` (the input feature table) is needed for the profile heatmap, whose
    z-scores are taken against all households.
    """
    figures_dir = Path(figures_dir)
    written = []
    for stem, make in figure_specs(result, features):
        if only is not None and stem not in only:
            continue
        for lang, suffix in (("en", ""), ("ko", "_ko")):
            with matplotlib.rc_context(_rc(lang)):
                fig = make(lang)
                path = figures_dir / f"{stem}{suffix}.png"
                save_figure(fig, path)
            written.append(path)
    return written
