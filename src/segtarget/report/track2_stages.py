"""Track 2 sections of the stages after the ATE: CATE, refutation, semi-synthetic, policy, A/B.

:func:`later_stage_sections` (Markdown) and :func:`show_later_stages` (Markdown and
figures, from an ``output: asis`` chunk) emit a section for each stage in
``LATER_STAGES`` one of whose result tables exists, so the Track 2 documents grow with the
workflow; each section's prose and tables come from its builder (``_cate_section`` in
:mod:`segtarget.report.track2_cate`,
``_refutation_section``, ``_semisynthetic_section``, ``_policy_section``,
``_ab_section``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from segtarget.report.facts import has_table, stage_figures, truthy
from segtarget.report.labels import CI_LEVEL, check_lang, ko_particle, label
from segtarget.report.results import Formatter, Results
from segtarget.report.tables import pipe_table
from segtarget.report.track2_cate import cate_section as _cate_section


# --------------------------------------------------------------------------- later stages (Track 2)


@dataclass(frozen=True)
class LaterStage:
    key: str
    tables: tuple[str, ...]
    figures: tuple[str, ...]
    title_en: str
    title_ko: str


#: Track 2 stages after the ATE, in report order: each section appears only when one of its
#: tables exists in results/tables; its figures come from the listed figure folders, in order.
LATER_STAGES = (
    LaterStage("cate", ("cate_model_selection", "cate_summary"), ("cate_eval", "cate"),
               "Heterogeneous effects and model choice", "이질적 효과(CATE)와 모형 선택"),
    LaterStage("refutation", ("refutation",), ("refutation",), "Refutation and sensitivity", "반박 검정과 민감도"),
    LaterStage("semisynthetic", ("semisynthetic",), ("semisynthetic",), "Semi-synthetic validation", "준합성 검증"),
    LaterStage("policy", ("policy_comparison", "roi_curve", "segment_recommendations"), ("policy",),
               "Targeting policy", "타기팅 정책"),
    LaterStage("ab_test", ("ab_test_design",), ("ab_test",), "A/B test to confirm the policy", "정책 확인을 위한 A/B 테스트"),
)

_FIG_CAPTIONS = {
    "en": {"uplift": "Uplift curves", "qini": "Qini curves", "toc": "TOC curves", "roi_curve": "Profit by share targeted",
           "calibration": "Calibration of the chosen model (or the lowest R-loss model)",
           "agreement": "Agreement between models (rank correlation)",
           "drivers": "What the chosen model's CATE moves with",
           "cate_distribution": "Distribution of out-of-fold CATE", "policy": "Policy values",
           "semisynthetic": "Semi-synthetic validation", "refutation": "Refutation tests"},
    "ko": {"uplift": "업리프트 곡선", "qini": "Qini 곡선", "toc": "TOC 곡선", "roi_curve": "타기팅 비율별 이익",
           "calibration": "선택한 모형(또는 R-손실 최저 모형)의 보정",
           "agreement": "모형 간 일치도 (순위상관)",
           "drivers": "선택한 모형의 CATE를 움직이는 요인",
           "cate_distribution": "교차적합 CATE 분포", "policy": "정책별 가치",
           "semisynthetic": "준합성 검증", "refutation": "반박 검정"},
}


#: Figures shown first, in this order (by name stem); the others follow sorted.
_FIG_ORDER = ("uplift_curves", "qini_curves", "toc_curves", "calibration", "drivers", "agreement", "cate_distribution")


def available_stages(res: Results) -> list[LaterStage]:
    return [s for s in LATER_STAGES if any(has_table(res, t) for t in s.tables)]


def _title(stage: LaterStage, lang: str) -> str:
    return stage.title_ko if lang == "ko" else stage.title_en


def _figure_caption(name: str, lang: str) -> str:
    stem = name.split("/")[-1]
    for key, cap in _FIG_CAPTIONS[lang].items():
        if key in stem:
            return cap
    return stem.replace("_", " ")


def _pick(df: pd.DataFrame, cols: Iterable[str]) -> list[str]:
    return [c for c in cols if c in df.columns]


def _refutation_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("refutation")
    df = t[_pick(t, ["outcome", "refuter", "estimate", "new_effect", "p_value", "passed"])].copy()
    if "outcome" in df:
        df["outcome"] = [label("outcome", o, lang) for o in df["outcome"]]
    if "passed" in df:
        df["passed"] = [f.bool(truthy(v)) for v in df["passed"]]
    n_pass = int(t["passed"].map(truthy).sum()) if "passed" in t else 0
    text = (f"The refuters were run on the same estimator as the headline estimate; {n_pass} of {len(t)} checks "
            f"passed (@tbl-refutation)." if en else
            f"반박 검정은 주 추정치와 같은 추정량으로 수행했으며, {len(t)}개 검정 가운데 {n_pass}개를 통과했다"
            f"(@tbl-refutation).")
    headers = ({"outcome": "Outcome", "refuter": "Refuter", "estimate": "Estimate", "new_effect": "New effect",
                "p_value": "p", "passed": "Passed"} if en else
               {"outcome": "성과", "refuter": "반박 검정", "estimate": "추정치", "new_effect": "새 효과", "p_value": "p값",
                "passed": "통과"})
    fm = {"outcome": "text", "refuter": "text", "estimate": "num:2", "new_effect": "num:2", "p_value": "p", "passed": "text"}
    return text + "\n\n" + pipe_table(f, df, formats={k: v for k, v in fm.items() if k in df},
                                   headers={k: v for k, v in headers.items() if k in df},
                                   caption="Refutation tests" if en else "반박 검정 결과", label="tbl-refutation")


def _semisynthetic_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("semisynthetic")
    t = t.assign(bias=t["ate_est"] - t["ate_true"]) if {"ate_est", "ate_true"} <= set(t.columns) else t
    agg = {c: "mean" for c in ("bias", "pehe", "ci_covered", "policy_regret") if c in t}
    g = t.groupby(["dgp", "model"], sort=True).agg(agg).reset_index()
    if "bias" in t:
        g["rmse"] = t.groupby(["dgp", "model"], sort=True)["bias"].apply(lambda x: float(np.sqrt(np.mean(x ** 2)))).values
    n_rep = int(t["replication"].nunique()) if "replication" in t else 1
    text = (f"Outcomes were simulated with a known CATE on the real covariates and treatment assignment and every "
            f"estimator was rerun ({n_rep} replications per design; @tbl-semisynthetic)." if en else
            f"실제 공변량과 처리 배정은 그대로 두고 CATE를 알고 있는 결과를 시뮬레이션해 모든 추정량을 다시 돌렸다"
            f"(설계마다 {n_rep}회 반복, @tbl-semisynthetic).")
    headers = ({"dgp": "Design", "model": "Model", "bias": "ATE bias", "rmse": "ATE RMSE", "pehe": "PEHE",
                "ci_covered": "CI coverage", "policy_regret": "Policy regret"} if en else
               {"dgp": "설계", "model": "모형", "bias": "ATE 편향", "rmse": "ATE RMSE", "pehe": "PEHE",
                "ci_covered": "구간 포함률", "policy_regret": "정책 후회"})
    fm = {"dgp": "text", "model": "text", "bias": "num:2", "rmse": "num:2", "pehe": "num:2", "ci_covered": "pct",
          "policy_regret": "num:2"}
    return text + "\n\n" + pipe_table(f, g, formats={k: v for k, v in fm.items() if k in g},
                                   headers={k: v for k, v in headers.items() if k in g},
                                   caption=("Semi-synthetic validation, mean over replications" if en
                                            else "준합성 검증 (반복 평균)"), label="tbl-semisynthetic")


def _policy_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    parts = []
    if has_table(res, "policy_comparison"):
        t = res.table("policy_comparison")
        df = pd.DataFrame({"outcome": [label("outcome", o, lang) for o in t["outcome"]] if "outcome" in t else "",
                           "policy": t["policy"], "pct": t["pct_targeted"],
                           "profit": [f"{f.money(p)} {f.ci(lo, hi, 'money')}" for p, lo, hi in
                                      zip(t["profit"], t["profit_ci_low"], t["profit_ci_high"])],
                           "roi": t["roi"]})
        best = t.sort_values("profit", ascending=False).iloc[0]
        parts.append(
            (f"Each policy is valued by a cross-fitted doubly-robust estimate on held-out folds (@tbl-policy). "
             f"The highest estimated profit is {f.money(best['profit'])} for the policy {best['policy']}, with a "
             f"95% CI of {f.ci(best['profit_ci_low'], best['profit_ci_high'], 'money')}." if en else
             f"각 정책의 가치는 검증 폴드에서의 교차적합 이중 강건 추정으로 평가했다(@tbl-policy). 추정 이익이 가장 큰 "
             f"정책은 {ko_particle(best['policy'], '으로')} {ko_particle(f.money(best['profit']), '이며')} 95% 신뢰구간은 "
             f"{ko_particle(f.ci(best['profit_ci_low'], best['profit_ci_high'], 'money'), '이다')}."))
        parts.append(pipe_table(f, df, formats={"outcome": "text", "policy": "text", "pct": "pct", "profit": "text",
                                          "roi": "pct"},
                             headers=({"outcome": "Outcome", "policy": "Policy", "pct": "Targeted", "profit":
                                       "Profit [95% CI]", "roi": "ROI"} if en else
                                      {"outcome": "성과", "policy": "정책", "pct": "타기팅 비율", "profit":
                                       "이익 [95% CI]", "roi": "ROI"}),
                             caption="Policy comparison" if en else "정책 비교", label="tbl-policy"))
    if has_table(res, "roi_curve"):
        r = res.table("roi_curve")
        if len(r) and {"pct_targeted", "profit"} <= set(r.columns):
            best = r.sort_values(["profit", "pct_targeted"], ascending=[False, True]).iloc[0]
            ci = (f.ci(best["profit_ci_low"], best["profit_ci_high"], "money")
                  if {"profit_ci_low", "profit_ci_high"} <= set(r.columns) else f.na)
            parts.append(
                (f"Along the ROI curve, estimated profit peaks when the top {f.pct(best['pct_targeted'], 0)} of "
                 f"households by predicted effect are targeted: {f.money(best['profit'])} ({level_text(lang)} CI {ci})."
                 if en else
                 f"ROI 곡선에서 추정 이익은 예측 효과 상위 {f.pct(best['pct_targeted'], 0)} 가구를 타깃으로 할 때 "
                 f"{ko_particle(f.money(best['profit']) + f'({level_text(lang)} 신뢰구간 {ci})', '으로')} 가장 크다."))
    if has_table(res, "segment_recommendations"):
        s = res.table("segment_recommendations")
        df = pd.DataFrame({"segment": s["segment"], "n": s["n"],
                           "cate": [f"{f.num(c, 2)} {f.ci(lo, hi, 'num:2')}" for c, lo, hi in
                                    zip(s["cate"], s["cate_ci_low"], s["cate_ci_high"])],
                           "action": s["action"]})
        parts.append(pipe_table(f, df, formats={"segment": "text", "cate": "text", "action": "text"},
                             headers=({"segment": "Segment", "n": "Households", "cate": "CATE [95% CI]",
                                       "action": "Action"} if en else
                                      {"segment": "세그먼트", "n": "가구 수", "cate": "CATE [95% CI]", "action": "조치"}),
                             caption=("Recommendations by segment (segments from pre-period features)" if en
                                      else "세그먼트별 권고 (사전 기간 특성으로 만든 세그먼트)"),
                             label="tbl-segment-recommendations"))
    return "\n\n".join(parts)


def level_text(lang: str = "en") -> str:
    return Formatter(lang).pct(CI_LEVEL, 0)


def _ab_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("ab_test_design")
    df = t[_pick(t, ["mde", "sigma", "alpha", "power", "n_per_arm"])]
    r = t.iloc[0]
    text = (f"To confirm the policy, an A/B test needs {f.int(r['n_per_arm'])} households per arm to detect an effect of "
            f"{f.num(r['mde'], 2)} with {f.pct(r['power'], 0)} power at a {f.pct(r['alpha'], 0)} significance level "
            f"(@tbl-ab)." if en else
            f"정책을 확인하려면 효과 {ko_particle(f.num(r['mde'], 2), '을')} 유의수준 {f.pct(r['alpha'], 0)}, 검정력 "
            f"{f.pct(r['power'], 0)}로 찾아내기 위해 집단당 {f.int(r['n_per_arm'])}가구가 필요하다(@tbl-ab).")
    headers = ({"mde": "Minimum detectable effect", "sigma": "Outcome SD", "alpha": "α", "power": "Power",
                "n_per_arm": "Households per arm"} if en else
               {"mde": "최소 검출 효과", "sigma": "결과 표준편차", "alpha": "α", "power": "검정력",
                "n_per_arm": "집단당 가구 수"})
    return text + "\n\n" + pipe_table(f, df, formats={"mde": "num:2", "sigma": "num:2", "alpha": "num:3", "power": "pct"},
                                   headers={k: v for k, v in headers.items() if k in df},
                                   caption="A/B test design" if en else "A/B 테스트 설계", label="tbl-ab")


_SECTION_BUILDERS = {"cate": _cate_section, "refutation": _refutation_section, "semisynthetic": _semisynthetic_section,
                     "policy": _policy_section, "ab_test": _ab_section}


def later_stage_sections(res: Results, lang: str = "en", level: int = 2) -> str:
    """Markdown for the Track 2 stages whose results exist (heading, prose, tables), in
    report order; an empty string when none has run yet. Figures are shown separately
    with :func:`later_stage_figures` (they are cell outputs, not Markdown)."""
    check_lang(lang)
    out = []
    for stage in available_stages(res):
        out.append("#" * level + " " + _title(stage, lang))
        out.append(_SECTION_BUILDERS[stage.key](res, lang))
    return "\n\n".join(out)


def later_stage_figures(res: Results, stages: str | tuple[str, ...], lang: str = "en") -> list[tuple[str, Path]]:
    """(caption, path) of each figure the later stage(s) wrote (figure folders ``stages``),
    language variant preferred, the figures of :data:`_FIG_ORDER` first."""
    names = [n for s in ((stages,) if isinstance(stages, str) else stages) for n in stage_figures(res, s)]
    rank = {stem: i for i, stem in enumerate(_FIG_ORDER)}
    names.sort(key=lambda n: rank.get(n.split("/")[-1], len(rank)))
    return [(_figure_caption(name, lang), res.figure(name, lang)) for name in names]


def show_later_stages(res: Results, lang: str = "en", level: int = 2) -> None:
    """Print each available later stage's section and display its figures after it (call
    from a chunk with ``output: asis``). Prints nothing when no later stage has run."""
    from IPython.display import Image, display

    check_lang(lang)
    for stage in available_stages(res):
        print("#" * level + " " + _title(stage, lang) + "\n", flush=True)
        print(_SECTION_BUILDERS[stage.key](res, lang) + "\n", flush=True)
        for caption, path in later_stage_figures(res, stage.figures, lang):
            print(f"*{caption}*\n", flush=True)
            display(Image(filename=str(path)))
