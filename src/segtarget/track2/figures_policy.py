"""Figures of the policy stage: ROI curve (DR vs plug-in), policy comparison, cost x margin heatmap,
segment effects against the breakeven, and the policy tree.

Built like :mod:`segtarget.track2.figures_eval`: one function per figure taking ``lang`` and
returning a matplotlib Figure without pyplot state; :func:`save_all` writes each in English and
Korean through :func:`segtarget.track2.figures.save_bilingual`. Every figure shows the headline
population (``policy.population``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from segtarget.core.labels import feature_label
from segtarget.track2.figures import language, save_bilingual

COLORS = ["#1f77b4", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
ACTION_COLORS = {"target": "#1b9e77", "test_first": "#e6ab02", "do_not_target": "#d62728"}
SHOWN_BUDGETS = ("top_10pct", "top_20pct", "top_30pct", "top_50pct")

TEXT = {
    "en": {
        "roi_title": "Profit by share targeted: doubly-robust estimate ({level:.0%} CI) vs the model's own plug-in",
        "roi_x": "Share of units targeted (%)", "roi_y": "Profit ($, population total)",
        "dr": "{r}: DR", "plugin": "{r}: plug-in", "random": "random (constant effect selected)",
        "cmp_title": "Policies: DR profit ({level:.0%} CI, {pop} units) and plug-in profit",
        "cmp_x": "Profit ($, population total)", "cmp_dr": "DR estimate", "cmp_plugin": "Plug-in (model's own CATE)",
        "cmp_foot": "* recommended (highest DR profit);  \u2020 shown for comparison, never recommended",
        "heat_title": "Best policy by DR profit for each cost and margin (cell: policy, share targeted)",
        "heat_x": "Margin", "heat_y": "Cost per contact ($)", "heat_bar": "DR profit of the best policy ($)",
        "seg_title": "DR effect per group ({level:.0%} CI) against the breakeven ${be:.2f}",
        "seg_x": "Effect per unit ($, mean DR score)", "seg_panel": "Behaviour segment", "tier_panel": "Value tier",
        "breakeven": "Breakeven", "target": "Target", "test_first": "Test first", "do_not_target": "Do not target",
        "tree_title": "Policy tree on all {pop} units (shown; the valued decisions are the per-fold trees)",
        "tree_leaf": "{decision}\nn = {n}\nprofit/contact {r:+.1f}", "tree_split": "{f}\n<= {t:.3g}", "yes": "yes", "no": "no",
        "tree_none": "No policy tree in this run",
        "policies": {"treat_none": "Treat none", "treat_all": "Treat all", "current_practice": "Current practice",
                     "cate_gt_0": "CATE > 0", "cate_gt_breakeven": "CATE > breakeven", "risk_adjusted": "Lower bound > breakeven",
                     "best_budget_cv": "Budget chosen out of fold", "policy_tree": "Policy tree", "top": "Top {k}%"},
        "pop": {"overlap": "overlap-band", "all": "all"},
    },
    "ko": {
        "roi_title": "타기팅 비율별 이익: 이중 강건 추정 ({level:.0%} 신뢰구간)과 모형 자체 예측(플러그인)",
        "roi_x": "타기팅 비율 (%)", "roi_y": "이익 ($, 모집단 합계)",
        "dr": "{r}: DR", "plugin": "{r}: 플러그인", "random": "무작위 (상수 효과 선택)",
        "cmp_title": "정책별 DR 이익 ({level:.0%} 신뢰구간, {pop} 단위)과 플러그인 이익",
        "cmp_x": "이익 ($, 모집단 합계)", "cmp_dr": "DR 추정", "cmp_plugin": "플러그인 (모형 자체 CATE)",
        "cmp_foot": "* 권장 (DR 이익 최고);  \u2020 비교용, 권장 대상 아님",
        "heat_title": "비용·마진 조합별 DR 이익 최고 정책 (칸: 정책, 타기팅 비율)",
        "heat_x": "마진", "heat_y": "접촉당 비용 ($)", "heat_bar": "최고 정책의 DR 이익 ($)",
        "seg_title": "그룹별 DR 효과 ({level:.0%} 신뢰구간)와 손익분기 ${be:.2f}",
        "seg_x": "단위당 효과 ($, DR 점수 평균)", "seg_panel": "행동 세그먼트", "tier_panel": "가치 등급",
        "breakeven": "손익분기", "target": "타기팅", "test_first": "먼저 실험", "do_not_target": "타기팅 안 함",
        "tree_title": "전체 {pop} 단위로 적합한 정책 트리 (표시용; 평가된 결정은 폴드별 트리)",
        "tree_leaf": "{decision}\nn = {n}\n접촉당 이익 {r:+.1f}", "tree_split": "{f}\n<= {t:.3g}", "yes": "예", "no": "아니오",
        "tree_none": "이번 실행에는 정책 트리가 없습니다",
        "policies": {"treat_none": "타기팅 없음", "treat_all": "전원 타기팅", "current_practice": "현행",
                     "cate_gt_0": "CATE > 0", "cate_gt_breakeven": "CATE > 손익분기", "risk_adjusted": "하한 > 손익분기",
                     "best_budget_cv": "폴드 밖에서 고른 예산", "policy_tree": "정책 트리", "top": "상위 {k}%"},
        "pop": {"overlap": "중첩 구간", "all": "전체"},
    },
}


def policy_label(name: str, lang: str = "en") -> str:
    """Readable policy name: ``top_30pct`` -> ``Top 30%``, ``cate_gt_0@causal_forest`` -> ``CATE > 0 [causal_forest]``."""
    L = TEXT[lang]["policies"]
    base, _, model = name.partition("@")
    if base.startswith("top_") and base.endswith("pct"):
        text = L["top"].format(k=base[4:-3])
    else:
        text = L.get(base, base)
    return f"{text} [{model}]" if model else text


def roi_curve_plot(curve: pd.DataFrame, extra: dict, *, lang: str = "en") -> Figure:
    """DR profit with CI band and plug-in profit against the share targeted, one line pair per ranking."""
    with language(lang):
        L = TEXT[lang]
        d = curve[curve["population"] == extra["population"]]
        fig = Figure(figsize=(7.6, 4.6))
        ax = fig.subplots()
        for i, (r, g) in enumerate(d.groupby("ranking", sort=False)):
            name = L["random"] if r.startswith("random") else r
            c = COLORS[i % len(COLORS)]
            ax.plot(g["pct_targeted"], g["profit"], color=c, lw=2, label=L["dr"].format(r=name))
            ax.fill_between(g["pct_targeted"], g["profit_ci_low"], g["profit_ci_high"], color=c, alpha=0.15, lw=0)
            ax.plot(g["pct_targeted"], g["plugin_profit"], color=c, lw=1.4, ls="--", label=L["plugin"].format(r=name))
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(L["roi_x"])
        ax.set_ylabel(L["roi_y"])
        ax.set_title(L["roi_title"].format(level=extra["level"]), fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.grid(color="#eeeeee")
        fig.tight_layout()
    return fig


def comparison_plot(table: pd.DataFrame, extra: dict, *, lang: str = "en") -> Figure:
    """Horizontal DR profit intervals per policy (budgets thinned to a few), plug-in profit as open markers."""
    with language(lang):
        L = TEXT[lang]
        d = table[table["population"] == extra["population"]]
        d = d[~d["policy"].str.startswith("top_") | d["policy"].isin(SHOWN_BUDGETS)].iloc[::-1]
        fig = Figure(figsize=(7.6, 0.32 * len(d) + 1.6))
        ax = fig.subplots()
        y = np.arange(len(d))
        ax.errorbar(d["profit"], y, xerr=[d["profit"] - d["profit_ci_low"], d["profit_ci_high"] - d["profit"]], fmt="o",
                    color=COLORS[0], capsize=2, ms=4, label=L["cmp_dr"])
        ax.plot(d["plugin_profit"], y, "D", mfc="none", color=COLORS[1], ms=5, label=L["cmp_plugin"])
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([policy_label(p, lang) + (" *" if p == extra["best"] else "") + (" \u2020" if e == 0 else "")
                            for p, e in zip(d["policy"], d["eligible"])], fontsize=7)
        ax.set_xlabel(L["cmp_x"] + "\n" + L["cmp_foot"], fontsize=8)
        ax.set_title(L["cmp_title"].format(level=extra["level"], pop=L["pop"][extra["population"]]), fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
        ax.grid(axis="x", color="#eeeeee")
        fig.tight_layout()
    return fig


def heatmap_plot(grid: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Cost (rows) x margin (columns): colour = DR profit of the best policy, text = policy and share."""
    with language(lang):
        L = TEXT[lang]
        costs, margins = sorted(grid["cost"].unique()), sorted(grid["margin"].unique())
        g = grid.set_index(["cost", "margin"])
        Z = np.array([[g.loc[(c, m), "profit"] for m in margins] for c in costs])
        lim = max(float(np.nanmax(np.abs(Z))), 1.0)
        fig = Figure(figsize=(1.05 * len(margins) + 2.0, 0.6 * len(costs) + 1.4))
        ax = fig.subplots()
        im = ax.imshow(Z, cmap="RdYlGn", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
        for i, c in enumerate(costs):
            for j, m in enumerate(margins):
                r = g.loc[(c, m)]
                ax.text(j, i, f"{policy_label(r['best_policy'], lang)}\n{r['pct_targeted']:.0f}%", ha="center", va="center",
                        fontsize=6.5, fontweight="bold" if r["headline"] else "normal")
        ax.set_xticks(range(len(margins)))
        ax.set_xticklabels([f"{m:.0%}" for m in margins])
        ax.set_yticks(range(len(costs)))
        ax.set_yticklabels([f"{c:g}" for c in costs])
        ax.set_xlabel(L["heat_x"])
        ax.set_ylabel(L["heat_y"])
        fig.colorbar(im, ax=ax, label=L["heat_bar"])
        ax.set_title(L["heat_title"], fontsize=8)
        fig.tight_layout()
    return fig


def segment_plot(recs: pd.DataFrame, extra: dict, *, lang: str = "en") -> Figure:
    """DR effect per segment and per value tier with CIs, coloured by action, breakeven line."""
    with language(lang):
        L = TEXT[lang]
        n_rows = max(len(recs), 1)
        fig = Figure(figsize=(8.2, 0.3 * n_rows + 2.0))
        axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        for ax, group, title in zip(axes, ("segment", "value_tier"), (L["seg_panel"], L["tier_panel"])):
            d = recs[recs["group"] == group].iloc[::-1]
            y = np.arange(len(d))
            for yi, (_, r) in zip(y, d.iterrows()):
                ax.errorbar(r["cate"], yi, xerr=[[r["cate"] - r["cate_ci_low"]], [r["cate_ci_high"] - r["cate"]]], fmt="o",
                            color=ACTION_COLORS.get(r["action"], "grey"), capsize=2, ms=4)
            ax.axvline(extra["breakeven"], color="black", ls="--", lw=1, label=L["breakeven"])
            ax.axvline(0, color="grey", lw=0.6)
            names = d["segment_name_ko" if lang == "ko" else "segment_name"].replace("", np.nan).fillna(d["segment"])
            ax.set_yticks(y)
            ax.set_yticklabels([f"{s} ({n:,})" for s, n in zip(names, d["n"])], fontsize=7)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(L["seg_x"], fontsize=8)
            ax.grid(axis="x", color="#eeeeee")
        handles = [Line2D([], [], marker="o", ls="", color=c, label=L[a]) for a, c in ACTION_COLORS.items()]
        handles.append(Line2D([], [], color="black", ls="--", lw=1, label=L["breakeven"]))
        fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=len(handles), frameon=False)
        fig.suptitle(L["seg_title"].format(level=extra["level"], be=extra["breakeven"]), fontsize=9)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def tree_plot(tree: pd.DataFrame | None, extra: dict, *, lang: str = "en") -> Figure:
    """The displayed policy tree as boxes: splits (feature <= threshold; left = yes) and leaves (decision, n,
    estimated profit per contact)."""
    with language(lang):
        L = TEXT[lang]
        fig = Figure(figsize=(8.0, 4.2))
        ax = fig.subplots()
        ax.set_axis_off()
        if tree is None or tree.empty:
            ax.text(0.5, 0.5, L["tree_none"], ha="center", va="center")
            return fig
        t = tree.set_index("node")
        depth = int(t["depth"].max())
        pos = {0: (0.5, 1.0)}
        for node in t.index:
            x, y = pos[node]
            r = t.loc[node]
            dx = 0.5 ** (r["depth"] + 2)
            if r["left"] >= 0:
                for child, sign, word in ((int(r["left"]), -1, L["yes"]), (int(r["right"]), 1, L["no"])):
                    pos[child] = (x + sign * dx, y - 1.0 / max(depth, 1))
                    ax.annotate("", xy=pos[child], xytext=(x, y), arrowprops={"arrowstyle": "->", "color": "grey", "shrinkA": 14, "shrinkB": 18})
                    ax.text((x + pos[child][0]) / 2, (y + pos[child][1]) / 2, word, fontsize=7, color="grey")
                text = L["tree_split"].format(f=feature_label(r["feature"], lang), t=r["threshold"])
                ax.text(x, y, text, ha="center", va="center", fontsize=7, bbox={"boxstyle": "round", "fc": "#eeeeee"})
            else:
                text = L["tree_leaf"].format(decision=L[r["decision"]], n=int(r["n"]), r=r["profit_per_contact"])
                ax.text(x, y, text, ha="center", va="center", fontsize=7,
                        bbox={"boxstyle": "round", "fc": ACTION_COLORS.get(r["decision"], "#ffffff"), "alpha": 0.5})
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.15, 1.12)
        ax.set_title(L["tree_title"].format(pop=L["pop"][extra["population"]]), fontsize=9)
    return fig


def save_all(result, folder: str | Path) -> list[Path]:
    """Write every figure of the stage (English and Korean) into ``folder``; ``result`` is a PolicyResult."""
    folder, x = Path(folder), result.extra
    out = []
    out += save_bilingual(roi_curve_plot, folder / "roi_curve.png", result.roi_curve, x)
    out += save_bilingual(comparison_plot, folder / "policy_comparison.png", result.comparison, x)
    out += save_bilingual(heatmap_plot, folder / "cost_margin_heatmap.png", result.sensitivity)
    out += save_bilingual(segment_plot, folder / "segment_effects.png", result.recommendations, x)
    out += save_bilingual(tree_plot, folder / "policy_tree.png", result.tree, x)
    return out
