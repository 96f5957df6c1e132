"""Figures of the CATE evaluation stage: uplift / Qini / TOC curves, calibration, agreement, drivers.

Built like :mod:`segtarget.track2.figures` (one function per figure taking ``lang``, returning a
matplotlib Figure without pyplot state; :func:`save_all` writes each in English and Korean
through :func:`segtarget.track2.figures.save_bilingual`, the Korean font from
:mod:`segtarget.core.fonts`). Each figure has one panel per outcome.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segtarget.core.errors import InputError
from segtarget.core.fonts import minus_signs
from segtarget.core.labels import feature_label
from segtarget.track2.figures import TEXT as BASE_TEXT, language, save_bilingual

CONSTANT = "constant"
COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4"]

TEXT = {
    "en": {
        "gain_title": "Uplift (cumulative DR gain) when the top share is targeted by each model, {level:.0%} CI bands",
        "gain_y": "Extra outcome per cohort unit",
        "qini_title": "Qini curves: gain over targeting the same share at random, {level:.0%} CI bands",
        "qini_y": "Gain over random targeting",
        "toc_title": "TOC: mean effect in the top share minus the average effect, {level:.0%} CI bands",
        "toc_y": "Top-share effect minus ATE",
        "x": "Share of units targeted (ranked by predicted CATE)",
        "random": "Random / everyone alike",
        "chosen": " (chosen)",
        "calib_title": "Calibration: predicted vs doubly-robust effect by group of predicted CATE ({level:.0%} CI)",
        "calib_x": "Group of predicted CATE (1 = lowest)",
        "calib_y": "Effect per unit",
        "calib_pred": "Predicted (mean CATE)",
        "calib_dr": "DR estimate (mean score)",
        "calib_ate": "Average effect",
        "agree_title": "Agreement between models: Spearman rank correlation of out-of-fold CATE (overlap units)",
        "drivers_title": "What the CATE moves with: projection on standardised covariates ({level:.0%} CI, household-clustered)",
        "drivers_x": "Change in predicted CATE per SD of the covariate",
        "drivers_model": "{outcome}: {model}",
        "drivers_model_constant": "{outcome}: {model} (constant effect chosen; lowest R-loss model shown)",
    },
    "ko": {
        "gain_title": "모형별 상위 비율 타기팅 시 업리프트(누적 DR 이득), {level:.0%} 신뢰대",
        "gain_y": "코호트 단위당 추가 성과",
        "qini_title": "Qini 곡선: 같은 비율을 무작위로 타기팅할 때 대비 이득, {level:.0%} 신뢰대",
        "qini_y": "무작위 타기팅 대비 이득",
        "toc_title": "TOC: 상위 비율의 평균 효과 − 평균 효과, {level:.0%} 신뢰대",
        "toc_y": "상위 비율 효과 − ATE",
        "x": "타기팅 비율 (예측 CATE 순)",
        "random": "무작위 / 모두 동일",
        "chosen": " (선택)",
        "calib_title": "보정: 예측 CATE 그룹별 예측 효과와 이중 강건 추정 효과 ({level:.0%} 신뢰구간)",
        "calib_x": "예측 CATE 그룹 (1 = 가장 낮음)",
        "calib_y": "단위당 효과",
        "calib_pred": "예측 (평균 CATE)",
        "calib_dr": "DR 추정 (평균 점수)",
        "calib_ate": "평균 효과",
        "agree_title": "모형 간 일치도: 교차적합 CATE의 스피어먼 순위상관 (중첩 구간 단위)",
        "drivers_title": "CATE를 움직이는 요인: 표준화 공변량에 대한 선형 투영 ({level:.0%} 신뢰구간, 가구 군집)",
        "drivers_x": "공변량 1 표준편차당 예측 CATE 변화",
        "drivers_model": "{outcome}: {model}",
        "drivers_model_constant": "{outcome}: {model} (상수 효과 선택, R-손실 최저 모형 표시)",
    },
}


def _labels(lang: str) -> dict:
    return {**BASE_TEXT[lang], **TEXT[lang]}


def _model_label(L: dict, model: str) -> str:
    if model == CONSTANT:
        return L["random"]
    return L["cate_models"].get(model, model)


def _check(df: pd.DataFrame, need: list[str], what: str) -> None:
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{what}: column {missing[0]} not found; expected {', '.join(need)}")


def _panels(n: int, height: float = 4.2, width: float = 5.4) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width * n + 0.6, height))
    return fig, fig.subplots(1, n, squeeze=False)[0]


def curve_plot(curves: pd.DataFrame, selection: pd.DataFrame, *, kind: str = "gain", lang: str = "en",
               level: float = 0.95) -> Figure:
    """Curves of ``kind`` (gain, qini or toc) with percentile CI bands, one panel per outcome; the
    constant candidate is the random-targeting reference (a straight line for gain, zero for the others)."""
    _check(curves, ["outcome", "model", "fraction", kind, f"{kind}_ci_low", f"{kind}_ci_high"], "uplift_curves")
    _check(selection, ["outcome", "model", "selected"], "cate_model_selection")
    sel = selection[selection["selected"] == 1]
    chosen = dict(zip(sel["outcome"], sel["model"]))
    with language(lang):
        L = _labels(lang)
        outcomes = list(dict.fromkeys(curves["outcome"]))
        fig, axes = _panels(len(outcomes))
        for ax, o in zip(axes, outcomes):
            sub = curves[curves["outcome"] == o]
            if kind == "toc":
                sub = sub[sub["fraction"] >= 0.05]  # the top 1-4% rest on a handful of units
            models = [m for m in dict.fromkeys(sub["model"]) if m != CONSTANT]
            for i, m in enumerate(models):
                g = sub[sub["model"] == m]
                lw = 2.4 if chosen.get(o) == m else 1.2
                ax.plot(g["fraction"], g[kind], color=COLORS[i % len(COLORS)], lw=lw,
                        label=_model_label(L, m) + (L["chosen"] if chosen.get(o) == m else ""))
                ax.fill_between(g["fraction"], g[f"{kind}_ci_low"], g[f"{kind}_ci_high"], color=COLORS[i % len(COLORS)],
                                alpha=0.10, lw=0)
            c = sub[sub["model"] == CONSTANT]
            ref = c[kind] if len(c) else np.zeros(0)
            ax.plot(c["fraction"], ref, color="black", ls="--", lw=1.2,
                    label=L["random"] + (L["chosen"] if chosen.get(o) == CONSTANT else ""))
            ax.axhline(0, color="#999999", lw=0.6)
            ax.set_xlim(0, 1)
            ax.set_title(L["outcomes"].get(o, o))
            ax.set_xlabel(L["x"])
            ax.set_ylabel(L[f"{kind}_y"])
            ax.grid(color="#eeeeee")
        axes[0].legend(frameon=False, fontsize=7)
        fig.suptitle(L[f"{kind}_title"].format(level=level), fontsize=10)
        fig.tight_layout()
    return fig


def calibration_plot(calibration: pd.DataFrame, shown: dict[str, str], *, lang: str = "en",
                     level: float = 0.95, constant_chosen: dict[str, bool] | None = None) -> Figure:
    """For each outcome, the groups of the shown model's predicted CATE: mean prediction vs mean DR
    score with its interval, and the average effect. A calibrated model's two series agree.
    ``constant_chosen[outcome]`` marks outcomes where the constant effect was chosen (the
    lowest R-loss model is shown, and the title says so)."""
    _check(calibration, ["outcome", "model", "group", "tau_hat_mean", "dr_mean", "ci_low", "ci_high"], "cate_calibration")
    with language(lang):
        L = _labels(lang)
        outcomes = list(shown)
        fig, axes = _panels(len(outcomes))
        for ax, o in zip(axes, outcomes):
            g = calibration[(calibration["outcome"] == o) & (calibration["model"] == shown[o])]
            x = g["group"].to_numpy()
            ax.errorbar(x, g["dr_mean"], yerr=[g["dr_mean"] - g["ci_low"], g["ci_high"] - g["dr_mean"]], fmt="o",
                        color="#1f77b4", capsize=3, label=L["calib_dr"])
            ax.plot(x, g["tau_hat_mean"], "D--", color="#d95f02", label=L["calib_pred"])
            c = calibration[(calibration["outcome"] == o) & (calibration["model"] == CONSTANT)]
            if len(c):
                ax.axhline(float(c["dr_mean"].iloc[0]), color="black", ls=":", lw=1, label=L["calib_ate"])
            ax.axhline(0, color="#999999", lw=0.6)
            ax.set_xticks(x)
            key = "drivers_model_constant" if (constant_chosen or {}).get(o) else "drivers_model"
            ax.set_title(L[key].format(outcome=L["outcomes"].get(o, o), model=_model_label(L, shown[o])), fontsize=8)
            ax.set_xlabel(L["calib_x"])
            ax.set_ylabel(L["calib_y"])
            ax.grid(axis="y", color="#eeeeee")
        axes[0].legend(frameon=False, fontsize=7)
        fig.suptitle(L["calib_title"].format(level=level), fontsize=10)
        fig.tight_layout()
    return fig


def agreement_plot(agreement: dict[str, pd.DataFrame], *, lang: str = "en") -> Figure:
    """Heatmap of the Spearman rank correlation between models' CATE, one panel per outcome."""
    with language(lang):
        L = _labels(lang)
        fig, axes = _panels(len(agreement), height=4.6, width=4.8)
        for ax, (o, mat) in zip(axes, agreement.items()):
            names = [_model_label(L, m) for m in mat.index]
            ax.imshow(mat.to_numpy(float), vmin=-1, vmax=1, cmap="RdBu_r")
            for i in range(len(mat)):
                for j in range(len(mat)):
                    v = mat.iloc[i, j]
                    ax.text(j, i, minus_signs(f"{v:.2f}") if np.isfinite(v) else "–", ha="center", va="center", fontsize=7,
                            color="white" if np.isfinite(v) and abs(v) > 0.6 else "black")
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels(names, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names, fontsize=7)
            ax.set_title(L["outcomes"].get(o, o))
        fig.suptitle(L["agree_title"], fontsize=9)
        fig.tight_layout()
    return fig


def drivers_plot(drivers: dict[str, tuple[str, bool, pd.DataFrame]], *, lang: str = "en", top: int = 12,
                 level: float = 0.95) -> Figure:
    """The shown model's CATE projected on the standardised covariates: the ``top`` largest
    coefficients with intervals, one panel per outcome."""
    with language(lang):
        L = _labels(lang)
        fig, axes = _panels(len(drivers), height=0.32 * top + 1.8, width=5.6)
        for ax, (o, (model, constant, tab)) in zip(axes, drivers.items()):
            d = tab.head(top).iloc[::-1]
            y = np.arange(len(d))
            ax.errorbar(d["coef"], y, xerr=[d["coef"] - d["ci_low"], d["ci_high"] - d["coef"]], fmt="o", color="#1f77b4",
                        capsize=2, ms=4)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_yticks(y)
            ax.set_yticklabels([feature_label(str(c).removeprefix("x_"), lang) for c in d["covariate"]], fontsize=7)
            key = "drivers_model_constant" if constant else "drivers_model"
            ax.set_title(L[key].format(outcome=L["outcomes"].get(o, o), model=_model_label(L, model)), fontsize=8)
            ax.set_xlabel(L["drivers_x"])
            ax.grid(axis="x", color="#eeeeee")
        fig.suptitle(L["drivers_title"].format(level=level), fontsize=9)
        fig.tight_layout()
    return fig


def save_all(result, folder: str | Path, level: float = 0.95) -> list[Path]:
    """Write every figure of the stage (English and Korean) into ``folder``; returns the paths.

    ``result`` is :class:`segtarget.track2.cate_eval.CateEvalResult`.
    """
    folder = Path(folder)
    shown = {o: m for o, (m, _, _) in result.drivers.items()}
    out = []
    for kind, name in (("gain", "uplift_curves"), ("qini", "qini_curves"), ("toc", "toc_curves")):
        out += save_bilingual(curve_plot, folder / f"{name}.png", result.curves, result.selection, kind=kind, level=level)
    constant = {o: c for o, (_, c, _) in result.drivers.items()}
    out += save_bilingual(calibration_plot, folder / "calibration.png", result.calibration, shown, level=level,
                          constant_chosen=constant)
    out += save_bilingual(agreement_plot, folder / "agreement.png", result.agreement)
    out += save_bilingual(drivers_plot, folder / "drivers.png", result.drivers, level=level)
    return out
