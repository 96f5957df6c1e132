"""Figure of the semi-synthetic benchmark (English and Korean).

Built like :mod:`segtarget.track2.figures_eval`: a function taking ``lang`` and returning a matplotlib
Figure without pyplot state; :func:`save_figures` writes both languages through
:func:`segtarget.track2.figures.save_bilingual` (the Korean font from :mod:`segtarget.core.fonts`).
Its input is :func:`segtarget.track2.semisynthetic_eval.summarise`'s table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segtarget.core.errors import InputError
from segtarget.core.fonts import minus_signs
from segtarget.track2.evaluation import CONSTANT
from segtarget.track2.figures import TEXT as BASE_TEXT, language, save_bilingual
from segtarget.track2.semisynthetic_eval import HEADLINE_POPULATION

SHAPE_COLORS = {"constant": "#1b9e77", "linear": "#d95f02", "nonlinear": "#7570b3"}
TEXT = {
    "en": {
        "title": "Semi-synthetic benchmark: real covariates and treatment, simulated outcomes with a known effect "
                 "({reps} replication(s) per shape)",
        "bias": "ATE bias ({pop} population), ±2 Monte-Carlo SE",
        "pops": {},
        "naive": "not shown: naive difference, bias {lo:,.4g} to {hi:,.4g}",
        "pehe": "CATE error (PEHE, overlap units)",
        "auuc": "DR-AUUC (normalised); dashed: ranking by the true effect",
        "shapes": {"constant": "Constant", "linear": "Linear", "nonlinear": "Non-linear"},
        "constant": "Constant effect",
        "picked": "chosen {n}x",
    },
    "ko": {
        "title": "준합성 벤치마크: 실제 공변량·처리, 알려진 효과를 넣은 모의 성과 (형태별 반복 {reps}회)",
        "bias": "ATE 편향 ({pop} 모집단), ±2 몬테카를로 표준오차",
        "pops": {"trimmed": "절단", "full": "전체", "crump": "Crump 절단"},
        "naive": "미표시: 단순 평균 차이, 편향 {lo:,.4g} ~ {hi:,.4g}",
        "pehe": "CATE 오차 (PEHE, 중첩 구간)",
        "auuc": "DR-AUUC (정규화); 점선: 참 효과 순위",
        "shapes": {"constant": "상수", "linear": "선형", "nonlinear": "비선형"},
        "constant": "상수 효과",
        "picked": "{n}회 선택",
    },
}


def semisynthetic_plot(summary: pd.DataFrame, *, lang: str = "en", population: str = HEADLINE_POPULATION) -> Figure:
    """One row per outcome: ATE bias per estimator, PEHE and DR-AUUC per learner, a colour per shape."""
    need = ["outcome", "dgp", "kind", "model", "population", "bias", "bias_mcse", "pehe", "auuc_normalized"]
    missing = [c for c in need if c not in summary.columns]
    if missing:
        raise InputError(f"semisynthetic_summary: column {missing[0]} not found; expected {', '.join(need)}")
    with language(lang):
        L = {**BASE_TEXT[lang], **TEXT[lang]}
        outcomes = list(dict.fromkeys(summary["outcome"]))
        shapes = list(dict.fromkeys(summary["dgp"]))
        reps = int(summary["n_reps"].max())
        fig = Figure(figsize=(15, 3.6 * len(outcomes) + 1.0))
        axes = fig.subplots(len(outcomes), 3, squeeze=False)
        offs = (np.arange(len(shapes)) - (len(shapes) - 1) / 2) * 0.22
        for row, o in zip(axes, outcomes):
            s = summary[summary["outcome"] == o]
            a = s[(s["kind"] == "ate") & (s["population"] == population)]
            naive = a[a["estimand"] == "difference_in_means"]  # the confounded reference would squash the axis
            a = a[a["estimand"] != "difference_in_means"]
            c = s[s["kind"] == "cate"]
            for ax, sub, names, col in ((row[0], a, L["methods"], "bias"), (row[1], c, L["cate_models"], "pehe"),
                                        (row[2], c, L["cate_models"], "auuc_normalized")):
                models = list(dict.fromkeys(sub["model"]))
                y = {m: len(models) - 1 - i for i, m in enumerate(models)}
                for j, shape in enumerate(shapes):
                    g = sub[sub["dgp"] == shape]
                    yy = np.array([y[m] for m in g["model"]]) + offs[j]
                    err = 2 * g["bias_mcse"].to_numpy(float) if col == "bias" else None
                    ax.errorbar(g[col], yy, xerr=err, fmt="o", ms=4, capsize=2, lw=1, color=SHAPE_COLORS.get(shape),
                                label=L["shapes"].get(shape, shape))
                    if col == "auuc_normalized" and len(g):
                        ax.axvline(float(g["auuc_normalized_oracle"].mean()), color=SHAPE_COLORS.get(shape), ls="--", lw=1)
                    if col == "pehe":
                        for m, v, n in zip(g["model"], g["pehe"], g["selected_count"].fillna(0)):
                            if n > 0:
                                ax.annotate(L["picked"].format(n=int(n)), (v, y[m] + offs[j]), xytext=(4, -3),
                                            textcoords="offset points", fontsize=6.5, color=SHAPE_COLORS.get(shape))
                if col != "pehe":
                    ax.axvline(0, color="black", lw=0.8)
                if col == "bias" and len(naive):
                    ax.set_xlabel(minus_signs(L["naive"].format(lo=naive["bias"].min(), hi=naive["bias"].max())),
                                  fontsize=7.5)
                ax.set_yticks(list(y.values()))
                ax.set_yticklabels([L["constant"] if m == CONSTANT else names.get(m, m) for m in y], fontsize=8)
                ax.set_title(f"{L['outcomes'].get(o, o)}: " + L[col if col != "auuc_normalized" else "auuc"].format(
                    pop=L["pops"].get(population, population)), fontsize=9)
                ax.grid(axis="x", color="#eeeeee")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=8)
        fig.suptitle(L["title"].format(reps=reps), fontsize=11)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def save_figures(summary: pd.DataFrame, folder: str | Path, population: str = HEADLINE_POPULATION) -> list[Path]:
    """``semisynthetic.png`` and ``semisynthetic_ko.png`` in ``folder``."""
    return list(save_bilingual(semisynthetic_plot, Path(folder) / "semisynthetic.png", summary, population=population))
