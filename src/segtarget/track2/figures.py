"""Track 2 figures: propensity overlap, covariate balance (love plot), ATE forest plot.

Each figure is built by a function that takes ``lang="en"`` or ``lang="ko"`` and returns a
matplotlib :class:`~matplotlib.figure.Figure` (no pyplot state, so nothing leaks between
figures or into other modules). :func:`save_bilingual` writes both variants, the Korean one
next to the English one with a ``_ko`` suffix, through :func:`segtarget.core.io.save_figure`.

Korean glyphs need a Korean font. NanumGothic ships inside the ``koreanize-matplotlib``
package; importing that package would change matplotlib's global settings for every later
figure, so instead its TTF file is registered with matplotlib's font manager and used only
inside an ``rc_context`` while a Korean figure is built and saved.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator, Mapping

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segtarget.core.errors import InputError, ParamError
from segtarget.core.fonts import korean_font_name, korean_rc, minus_signs  # noqa: F401 (korean_font_name: re-exported)
from segtarget.core.io import save_figure

LANGS = ("en", "ko")

TREATED_COLOR = "#d95f02"
CONTROL_COLOR = "#1b9e77"
WEIGHT_COLORS = {"smd_unweighted": "#7f7f7f", "smd_weighted": "#1f77b4", "smd_overlap": "#d62728"}
POP_STYLE = {"full": ("#1f77b4", "o"), "crump": ("#d62728", "s"), "trimmed": ("#2ca02c", "D")}

TEXT = {
    "en": {
        "ps_title": "Propensity score by arm (out-of-fold)",
        "ps_x": "Propensity score",
        "ps_y": "Density",
        "treated": "Treated",
        "control": "Control",
        "band": "Overlap band [{lo:g}, {hi:g}]",
        "crump": "Crump et al. bounds [{lo:.3f}, {hi:.3f}]",
        "love_title": "Covariate balance",
        "love_x": "|Standardized mean difference|",
        "smd_unweighted": "Unweighted",
        "smd_weighted": "IPW (ATE weights)",
        "smd_overlap": "Overlap weights (ATO)",
        "threshold": "|SMD| = {thr:g}",
        "forest_title": "Average effect by method and population (95% CI)",
        "forest_x": "Effect estimate",
        "forest_cut": "Arrows: interval cut at the axis; its numbers are printed above it",
        "pop_full": "Full cohort",
        "pop_crump": "Crump-trimmed [{lo:.3f}, {hi:.3f}]",
        "pop_trimmed": "PS in [{lo:g}, {hi:g}]",
        "methods": {
            "naive": "Naive difference", "ols": "OLS adjustment", "ra": "Regression adjustment",
            "ipw": "IPW (Hajek)", "aipw": "AIPW (cross-fitted)", "ato": "Overlap weighting (ATO)",
            "linear_dml": "LinearDML",
        },
        "outcomes": {"purchase_amount": "Purchase amount", "purchase_count": "Purchase count"},
        "cate_title": "Out-of-fold CATE per learner, {n:,} units in the overlap band "
                      "(boxes: quartiles; whiskers: 5th-95th percentile)",
        "cate_x": "CATE (effect per unit)",
        "cate_models": {
            "s_learner": "S-learner", "t_learner": "T-learner", "x_learner": "X-learner",
            "dr_learner": "DR-learner", "linear_dml": "LinearDML", "causal_forest": "Causal forest",
        },
    },
    "ko": {
        "ps_title": "처리군·대조군의 성향점수 분포 (교차적합)",
        "ps_x": "성향점수",
        "ps_y": "밀도",
        "treated": "처리군",
        "control": "대조군",
        "band": "중첩 구간 [{lo:g}, {hi:g}]",
        "crump": "Crump 등의 최적 절단 경계 [{lo:.3f}, {hi:.3f}]",
        "love_title": "공변량 균형",
        "love_x": "|표준화 평균차|",
        "smd_unweighted": "가중치 없음",
        "smd_weighted": "IPW (ATE 가중치)",
        "smd_overlap": "중첩 가중치 (ATO)",
        "threshold": "|SMD| = {thr:g}",
        "forest_title": "방법·모집단별 평균 효과 (95% 신뢰구간)",
        "forest_x": "효과 추정치",
        "forest_cut": "화살표: 축 밖으로 이어지는 구간 (수치는 구간 위에 표기)",
        "pop_full": "전체 코호트",
        "pop_crump": "Crump 절단 [{lo:.3f}, {hi:.3f}]",
        "pop_trimmed": "성향점수 [{lo:g}, {hi:g}]",
        "methods": {
            "naive": "단순 평균 차이", "ols": "OLS 보정", "ra": "회귀 보정",
            "ipw": "IPW (Hajek)", "aipw": "AIPW (교차적합)", "ato": "중첩 가중 (ATO)",
            "linear_dml": "LinearDML",
        },
        "outcomes": {"purchase_amount": "구매 금액", "purchase_count": "구매 횟수"},
        "cate_title": "학습기별 교차적합 CATE, 중첩 구간의 {n:,}개 단위 "
                      "(상자: 사분위, 수염: 5~95 백분위)",
        "cate_x": "CATE (단위당 효과)",
        "cate_models": {
            "s_learner": "S-학습기", "t_learner": "T-학습기", "x_learner": "X-학습기",
            "dr_learner": "DR-학습기", "linear_dml": "LinearDML", "causal_forest": "인과 숲",
        },
    },
}


# --------------------------------------------------------------------------- fonts and saving


@contextlib.contextmanager
def language(lang: str) -> Iterator[dict]:
    """Context in which figures for ``lang`` are built and saved; yields the label table.

    For Korean it applies :func:`segtarget.core.fonts.korean_rc` (NanumGothic, with DejaVu Sans
    for the minus sign), only inside the context.
    """
    if lang not in LANGS:
        raise ParamError(f"lang = {lang!r} is invalid; expected one of {', '.join(LANGS)}")
    rc = {"svg.hashsalt": "segtarget"}
    if lang == "ko":
        rc.update(korean_rc())
    with matplotlib.rc_context(rc):
        yield TEXT[lang]


def ko_path(path: str | os.PathLike) -> Path:
    """``figures/x.png`` -> ``figures/x_ko.png``."""
    p = Path(path)
    return p.with_name(f"{p.stem}_ko{p.suffix}")


def save_bilingual(
    builder: Callable[..., Figure], path: str | os.PathLike, *args, path_ko: str | os.PathLike | None = None, **kwargs
) -> tuple[Path, Path]:
    """Build ``builder(*args, lang=..., **kwargs)`` in English and Korean and save both.

    Returns the two paths written (English, Korean).
    """
    out = []
    for lang, p in (("en", Path(path)), ("ko", Path(path_ko) if path_ko else ko_path(path))):
        with language(lang):
            fig = builder(*args, lang=lang, **kwargs)
            save_figure(fig, p)
        out.append(p)
    return out[0], out[1]


# --------------------------------------------------------------------------- figures


def propensity_histogram(
    e, t, *, lang: str = "en", band: tuple[float, float] = (0.1, 0.9), crump_alpha: float | None = None, bins: int = 40
) -> Figure:
    """Overlaid density histograms of the out-of-fold propensity score, treated vs control,
    with the fixed overlap band shaded and, if given and non-zero, the Crump et al. bounds
    drawn as dashed lines. Mass piled near 0 for controls and near 1 for treated is the
    picture of a positivity problem."""
    with language(lang) as L:
        e = np.asarray(e, dtype="float64")
        t = np.asarray(t)
        fig = Figure(figsize=(7, 4.2))
        ax = fig.add_subplot()
        edges = np.linspace(0, 1, bins + 1)
        ax.axvspan(band[0], band[1], color="#bdbdbd", alpha=0.25, lw=0, label=L["band"].format(lo=band[0], hi=band[1]))
        ax.hist(e[t == 0], bins=edges, density=True, alpha=0.55, color=CONTROL_COLOR, label=f"{L['control']} (n={int((t == 0).sum()):,})")
        ax.hist(e[t == 1], bins=edges, density=True, alpha=0.55, color=TREATED_COLOR, label=f"{L['treated']} (n={int((t == 1).sum()):,})")
        if crump_alpha:
            for x in (crump_alpha, 1 - crump_alpha):
                ax.axvline(x, color="black", ls="--", lw=1)
            ax.plot([], [], color="black", ls="--", lw=1, label=L["crump"].format(lo=crump_alpha, hi=1 - crump_alpha))
        ax.set_xlim(0, 1)
        ax.set_xlabel(L["ps_x"])
        ax.set_ylabel(L["ps_y"])
        ax.set_title(L["ps_title"])
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
    return fig


def love_plot(balance: pd.DataFrame, *, lang: str = "en", threshold: float = 0.1, max_covariates: int = 40) -> Figure:
    """|SMD| per covariate before weighting, after ATE inverse-probability weighting and after
    overlap weighting, with the conventional 0.1 line. Covariates are sorted by unweighted
    imbalance (largest on top); at most ``max_covariates`` are shown."""
    need = ["covariate", "smd_unweighted", "smd_weighted", "smd_overlap"]
    missing = [c for c in need if c not in balance.columns]
    if missing:
        raise InputError(f"balance table: column {missing[0]} not found; expected {', '.join(need)}")
    with language(lang) as L:
        b = balance.assign(_k=balance["smd_unweighted"].abs()).sort_values(["_k", "covariate"], ascending=[False, True])
        b = b.head(max_covariates).iloc[::-1]
        y = np.arange(len(b))
        fig = Figure(figsize=(7, max(2.5, 0.28 * len(b) + 1.3)))
        ax = fig.add_subplot()
        for col, marker in (("smd_unweighted", "o"), ("smd_weighted", "s"), ("smd_overlap", "^")):
            ax.scatter(b[col].abs(), y, marker=marker, s=28, color=WEIGHT_COLORS[col], label=L[col], zorder=3)
        ax.axvline(threshold, color="black", ls="--", lw=1, label=L["threshold"].format(thr=threshold))
        ax.set_yticks(y)
        ax.set_yticklabels(b["covariate"], fontsize=8)
        ax.set_xlabel(L["love_x"])
        ax.set_title(L["love_title"])
        ax.set_xlim(left=0)
        ax.grid(axis="y", color="#eeeeee", zorder=0)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        fig.tight_layout()
    return fig


def _population_label(L: dict, pop: str, lo: float, hi: float) -> str:
    return L.get(f"pop_{pop}", pop).format(lo=lo, hi=hi)


def _axis_limits(est: np.ndarray, cl: np.ndarray, ch: np.ndarray, wide: float) -> tuple[float, float]:
    """x-limits that show every interval except those more than ``wide`` times the median
    width (e.g. IPW on a cohort with propensities at 0 and 1), which would squash the rest."""
    ok = np.isfinite(est)
    width = np.where(np.isfinite(ch - cl), ch - cl, 0.0)
    core = ok & (width <= wide * np.median(width[ok])) if ok.any() else ok
    if not core.any():
        core = ok
    vals = np.r_[0.0, est[core], cl[core & np.isfinite(cl)], ch[core & np.isfinite(ch)]]
    lo, hi = float(vals.min()), float(vals.max())
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def forest_plot(
    ate: pd.DataFrame, *, lang: str = "en", outcome_labels: Mapping[str, str] | None = None, wide: float = 6.0
) -> Figure:
    """Point estimate and 95% CI for each method x population, one panel per outcome
    (panels keep the order of the table; methods top to bottom in table order).

    Each panel's x-axis covers the intervals no wider than ``wide`` times the panel's median
    interval width; a wider interval (an exploding estimator) is cut at the axis edge, marked
    with an arrow and labelled with its numbers, instead of squashing every other row. Rows
    that could not be estimated (NaN) are left empty. A vertical line marks zero effect.
    """
    need = ["outcome", "method", "population", "estimate", "ci_low", "ci_high"]
    missing = [c for c in need if c not in ate.columns]
    if missing:
        raise InputError(f"ate table: column {missing[0]} not found; expected {', '.join(need)}")
    with language(lang) as L:
        outcomes = list(dict.fromkeys(ate["outcome"]))
        methods = list(dict.fromkeys(ate["method"]))
        pops = list(dict.fromkeys(ate["population"]))
        labels = {**L["outcomes"], **(outcome_labels or {})}
        fig = Figure(figsize=(4.2 * len(outcomes) + 1.6, 0.5 * len(methods) * max(1, len(pops)) * 0.55 + 1.8))
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        offs = (np.arange(len(pops)) - (len(pops) - 1) / 2) * (0.7 / max(1, len(pops)))
        ypos = {m: len(methods) - 1 - i for i, m in enumerate(methods)}
        any_cut = False
        for ax, o in zip(axes, outcomes):
            sub = ate[ate["outcome"] == o]
            xlo, xhi = _axis_limits(*(sub[c].to_numpy(dtype="float64") for c in ("estimate", "ci_low", "ci_high")), wide)
            for j, pop in enumerate(pops):
                color, marker = POP_STYLE.get(pop, ("#555555", "o"))
                rows = sub[sub["population"] == pop]
                if rows.empty:
                    continue
                first = rows.iloc[0]
                lo = float(first["ps_low"]) if "ps_low" in rows else 0.0
                hi = float(first["ps_high"]) if "ps_high" in rows else 1.0
                yy = np.array([ypos[m] for m in rows["method"]]) + offs[j]
                est, cl, ch = (rows[c].to_numpy(dtype="float64") for c in ("estimate", "ci_low", "ci_high"))
                cl = np.where(np.isfinite(cl), cl, est)
                ch = np.where(np.isfinite(ch), ch, est)
                ok = np.isfinite(est)
                inside = ok & (cl >= xlo) & (ch <= xhi)
                ax.errorbar(est[inside], yy[inside], xerr=[est[inside] - cl[inside], ch[inside] - est[inside]],
                            fmt=marker, color=color, ms=4, capsize=2, lw=1, label=_population_label(L, pop, lo, hi))
                for k in np.flatnonzero(ok & ~inside):
                    any_cut = True
                    a, b = max(cl[k], xlo), min(ch[k], xhi)
                    ax.plot([a, b], [yy[k], yy[k]], color=color, lw=1)
                    if xlo <= est[k] <= xhi:
                        ax.plot(est[k], yy[k], marker=marker, color=color, ms=4)
                    if cl[k] < xlo:
                        ax.plot(xlo, yy[k], marker="<", color=color, ms=5, clip_on=False)
                    if ch[k] > xhi:
                        ax.plot(xhi, yy[k], marker=">", color=color, ms=5, clip_on=False)
                    ax.annotate(minus_signs(f"{est[k]:,.4g} [{cl[k]:,.4g}, {ch[k]:,.4g}]"), (0.5, yy[k]),
                                xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                                ha="center", va="bottom", fontsize=6.5, color=color)
            ax.set_xlim(xlo, xhi)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_title(labels.get(o, o))
            ax.set_xlabel(L["forest_x"])
            ax.grid(axis="x", color="#eeeeee")
        axes[0].set_yticks([ypos[m] for m in methods])
        axes[0].set_yticklabels([L["methods"].get(m, m) for m in methods], fontsize=9)
        handles, labs = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labs, loc="lower center", ncol=len(labs), frameon=False, fontsize=8)
        title = L["forest_title"] + ("\n" + L["forest_cut"] if any_cut else "")
        fig.suptitle(title, fontsize=11)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def cate_distribution_plot(cate: pd.DataFrame, *, lang: str = "en") -> Figure:
    """Distribution of each learner's out-of-fold CATE over the overlap units, one panel per
    outcome: where the learners agree, and how much heterogeneity each one claims."""
    need = ["outcome", "model", "cate", "in_overlap"]
    missing = [c for c in need if c not in cate.columns]
    if missing:
        raise InputError(f"customer_cate table: column {missing[0]} not found; expected {', '.join(need)}")
    with language(lang) as L:
        sub = cate[cate["in_overlap"] == 1]
        outcomes = list(dict.fromkeys(cate["outcome"]))
        models = list(dict.fromkeys(cate["model"]))
        fig = Figure(figsize=(4.6 * len(outcomes) + 1.4, 0.45 * len(models) + 1.8))
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        for ax, o in zip(axes, outcomes):
            data = [sub.loc[(sub["outcome"] == o) & (sub["model"] == m), "cate"].to_numpy(float) for m in models]
            data = [d[np.isfinite(d)] if d.size else np.array([np.nan]) for d in data]
            ax.boxplot(data, positions=np.arange(len(models))[::-1], orientation="horizontal", whis=(5, 95),
                       showfliers=False, widths=0.6, patch_artist=True,
                       boxprops={"facecolor": "#c6dbef", "edgecolor": "#3182bd"}, medianprops={"color": "#08519c"})
            ax.axvline(0, color="black", lw=0.8)
            ax.set_title(L["outcomes"].get(o, o))
            ax.set_xlabel(L["cate_x"])
            ax.grid(axis="x", color="#eeeeee")
        axes[0].set_yticks(np.arange(len(models))[::-1])
        axes[0].set_yticklabels([L["cate_models"].get(m, m) for m in models])
        n = int(sub.drop_duplicates(["household_id", "campaign_id"]).shape[0]) if "campaign_id" in sub else len(sub)
        fig.suptitle(L["cate_title"].format(n=n), fontsize=9)
        fig.tight_layout()
    return fig

