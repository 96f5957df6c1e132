"""Track 2 sections of the stages after the ATE: CATE, refutation, semi-synthetic, policy, A/B.

:func:`later_stage_sections` (Markdown) and :func:`show_later_stages` (Markdown and
figures, from an ``output: asis`` chunk) emit a section for each stage in
``LATER_STAGES`` whose first result table exists, so the Track 2 documents grow with the
workflow; each section's prose and tables come from its builder (``_cate_section``,
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


# --------------------------------------------------------------------------- later stages (Track 2)


@dataclass(frozen=True)
class LaterStage:
    key: str
    tables: tuple[str, ...]
    figures: str
    title_en: str
    title_ko: str


#: Track 2 stages after the ATE, in report order: each section appears only when its first
#: table exists in results/tables.
LATER_STAGES = (
    LaterStage("cate", ("customer_cate", "cate_summary", "cate_model_selection"), "cate",
               "Heterogeneous effects and model choice", "이질적 효과(CATE)와 모형 선택"),
    LaterStage("refutation", ("refutation",), "refutation", "Refutation and sensitivity", "반박 검정과 민감도"),
    LaterStage("semisynthetic", ("semisynthetic",), "semisynthetic", "Semi-synthetic validation", "준합성 검증"),
    LaterStage("policy", ("policy_comparison", "roi_curve", "segment_recommendations"), "policy",
               "Targeting policy", "타기팅 정책"),
    LaterStage("ab_test", ("ab_test_design",), "ab_test", "A/B test to confirm the policy", "정책 확인을 위한 A/B 테스트"),
)

_FIG_CAPTIONS = {
    "en": {"uplift": "Uplift curves", "qini": "Qini curves", "toc": "TOC curves", "roi_curve": "Profit by share targeted",
           "cate_distribution": "Distribution of out-of-fold CATE", "policy": "Policy values",
           "semisynthetic": "Semi-synthetic validation", "refutation": "Refutation tests"},
    "ko": {"uplift": "업리프트 곡선", "qini": "Qini 곡선", "toc": "TOC 곡선", "roi_curve": "타기팅 비율별 이익",
           "cate_distribution": "교차적합 CATE 분포", "policy": "정책별 가치",
           "semisynthetic": "준합성 검증", "refutation": "반박 검정"},
}


def available_stages(res: Results) -> list[LaterStage]:
    return [s for s in LATER_STAGES if has_table(res, s.tables[0])]


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


_CATE_MODEL_LABELS = {
    "s_learner": ("S-learner", "S-학습기"), "t_learner": ("T-learner", "T-학습기"), "x_learner": ("X-learner", "X-학습기"),
    "dr_learner": ("DR-learner", "DR-학습기"), "linear_dml": ("LinearDML", "LinearDML"),
    "causal_forest": ("Causal forest", "인과 숲"),
}


def _cate_model(name: str, lang: str) -> str:
    pair = _CATE_MODEL_LABELS.get(str(name))
    return str(name) if pair is None else pair[1 if lang == "ko" else 0]


def _cate_summary_section(res: Results, lang: str) -> str:
    """The CATE learners' out-of-fold effects and held-out R-loss, before any model choice."""
    f, en = Formatter(lang), lang == "en"
    s = res.table("cate_summary")
    n_models = s["model"].nunique()
    n_ov = int(s["n_overlap"].iloc[0]) if len(s) else 0
    n_all = int(s["n"].iloc[0]) if len(s) else 0
    parts = [
        (f"{n_models} CATE learners were fitted with cross-fitting on the propensity stage's household-grouped folds, so "
         f"every unit's effect is predicted by a model that never saw its outcome. They were trained on the units inside "
         f"the overlap band and scored there ({f.int(n_ov)} of {f.int(n_all)} units); predictions for the other units "
         f"are extrapolations and are flagged as such in customer_cate.csv. The held-out R-loss measures how well a "
         f"learner's CATE explains the outcome residuals; the same loss for the best constant effect is the bar a "
         f"learner must clear before its heterogeneity means anything (@tbl-cate-summary)."
         if en else
         f"CATE 학습기 {n_models}개를 성향점수 단계와 같은 가구 단위 폴드로 교차적합해, 모든 단위의 효과를 그 단위의 결과를 "
         f"보지 않은 모형이 예측하게 했다. 학습과 평가는 중첩 구간 안의 단위({f.int(n_all)}개 가운데 {f.int(n_ov)}개)에서 "
         f"했고, 나머지 단위의 예측은 외삽이므로 customer_cate.csv에 따로 표시했다. 검증 R-손실은 학습기의 CATE가 결과 잔차를 "
         f"얼마나 설명하는지를 재며, 가장 좋은 상수 효과의 R-손실이 학습기가 넘어야 할 기준선이다(@tbl-cate-summary)."),
    ]
    df = pd.DataFrame({
        "outcome": [label("outcome", o, lang) for o in s["outcome"]],
        "model": [_cate_model(m, lang) for m in s["model"]],
        "mean": s["mean_cate_overlap"], "spread": [f"{f.num(a, 2)} – {f.num(b, 2)}" for a, b in zip(s["q10"], s["q90"])],
        "pos": s["share_positive"], "sig": s["share_ci_above_zero"],
        "rloss": s["rloss_heldout"], "gain": s["rloss_gain"],
    })
    hdr = ({"outcome": "Outcome", "model": "Learner", "mean": "Mean CATE (overlap)", "spread": "10th – 90th pct.",
            "pos": "CATE > 0", "sig": "CI above 0", "rloss": "Held-out R-loss", "gain": "Gain over constant"}
           if en else
           {"outcome": "성과", "model": "학습기", "mean": "평균 CATE (중첩)", "spread": "10~90 백분위", "pos": "CATE > 0",
            "sig": "구간이 0 초과", "rloss": "검증 R-손실", "gain": "상수 대비 개선"})
    parts.append(pipe_table(f, df, formats={"outcome": "text", "model": "text", "mean": "num:2", "spread": "text", "pos": "pct",
                                        "sig": "pct", "rloss": "num:2", "gain": "num:3"}, headers=hdr,
                        caption=("Out-of-fold CATE per learner and held-out R-loss (overlap units)" if en
                                 else "학습기별 교차적합 CATE와 검증 R-손실 (중첩 구간 단위)"),
                        label="tbl-cate-summary"))
    for outcome, g in s.groupby("outcome", sort=False):
        beat = [_cate_model(m, lang) for m, gain in zip(g["model"], g["rloss_gain"]) if gain > 0]
        what = label("outcome", outcome, lang)
        best = float((g["rloss_gain"] / g["rloss_constant"]).max())
        if en:
            parts.append(f"For {what.lower()}, " + (
                f"{len(beat)} of {len(g)} learners beat the constant effect on held-out data ({', '.join(beat)}); the "
                f"best lowers the loss by {f.pct(best, 2)}, which is the size of the heterogeneity the data support."
                if beat else
                f"no learner beats the constant effect on held-out data: the heterogeneity the learners report is not "
                f"supported by the data, and targeting on it would be targeting on noise."))
        else:
            parts.append(f"{ko_particle(what, '은')} " + (
                f"학습기 {len(g)}개 가운데 {len(beat)}개가 검증 자료에서 상수 효과보다 낫다({', '.join(beat)}). 가장 나은 "
                f"학습기도 손실을 {f.pct(best, 2)} 줄일 뿐이며, 이것이 자료가 뒷받침하는 이질성의 크기다."
                if beat else
                "검증 자료에서 상수 효과보다 나은 학습기가 없다. 학습기들이 보여 주는 이질성은 자료가 뒷받침하지 않으며, 이에 따른 "
                "타기팅은 잡음에 따른 타기팅이 된다."))
    return "\n\n".join(parts)


def _cate_section(res: Results, lang: str) -> str:
    if not has_table(res, "cate_model_selection"):
        return _cate_summary_section(res, lang)
    f = Formatter(lang)
    en = lang == "en"
    t = res.table("cate_model_selection")
    cols = _pick(t, ["outcome", "model", "rloss_heldout", "auuc_normalized", "qini_normalized", "blp_pvalue", "rate",
                     "selected"])
    df = t[cols].copy()
    if "outcome" in df:
        df["outcome"] = [label("outcome", o, lang) for o in df["outcome"]]
    if "rate" in df and {"rate_ci_low", "rate_ci_high"} <= set(t.columns):
        df["rate"] = [f"{f.num(r, 3)} {f.ci(lo, hi, 'num:3')}" for r, lo, hi in
                      zip(t["rate"], t["rate_ci_low"], t["rate_ci_high"])]
    if "selected" in df:
        df["selected"] = ["✓" if truthy(v) else "" for v in df["selected"]]
    headers = ({"outcome": "Outcome", "model": "Model", "rloss_heldout": "Held-out R-loss", "auuc_normalized": "AUUC (norm.)",
                "qini_normalized": "Qini (norm.)", "blp_pvalue": "BLP p", "rate": "RATE [95% CI]", "selected": "Chosen"}
               if en else
               {"outcome": "성과", "model": "모형", "rloss_heldout": "검증 R-손실", "auuc_normalized": "AUUC (정규화)",
                "qini_normalized": "Qini (정규화)", "blp_pvalue": "BLP p값", "rate": "RATE [95% CI]", "selected": "선택"})
    fmts = {"outcome": "text", "model": "text", "rloss_heldout": "num:3", "auuc_normalized": "num:3",
            "qini_normalized": "num:3", "blp_pvalue": "p", "rate": "text", "selected": "text"}
    parts = []
    n_models = t["model"].nunique() if "model" in t else len(t)
    parts.append(
        (f"{n_models} CATE learners were fitted with cross-fitting, so every household's effect is predicted by a model "
         f"that never saw its outcome, and compared on held-out folds (@tbl-cate-models). The rule that picks a model was "
         f"fixed in params.yaml before the policy was looked at."
         if en else
         f"CATE 학습기 {n_models}개를 교차적합으로 학습해 모든 가구의 효과를 그 가구의 결과를 보지 않은 모형이 예측하게 "
         f"하고, 검증 폴드에서 비교했다(@tbl-cate-models). 모형 선택 규칙은 정책을 보기 전에 params.yaml에 정해 두었다."))
    parts.append(pipe_table(f, df, formats={k: v for k, v in fmts.items() if k in df}, headers={k: v for k, v in headers.items() if k in df},
                         caption="CATE model comparison on held-out folds" if en else "검증 폴드에서의 CATE 모형 비교",
                         label="tbl-cate-models"))
    if has_table(res, "customer_cate"):
        c = res.table("customer_cate")
        sel = t[t["selected"].map(truthy)] if "selected" in t else t.head(0)
        rows = []
        for _, s in sel.iterrows():
            g = c[(c["outcome"] == s["outcome"]) & (c["model"] == s["model"])] if {"outcome", "model"} <= set(c.columns) else c
            if g.empty:
                continue
            rows.append({"outcome": label("outcome", s["outcome"], lang), "model": s["model"], "n": len(g),
                         "mean": g["cate"].mean(), "pos": (g["cate"] > 0).mean(),
                         "sig": (g["cate_ci_low"] > 0).mean() if "cate_ci_low" in g else np.nan,
                         "overlap": g["in_overlap"].mean() if "in_overlap" in g else np.nan})
        if rows:
            hdr = ({"outcome": "Outcome", "model": "Model", "n": "Households", "mean": "Mean CATE", "pos": "CATE > 0",
                    "sig": "CI above 0", "overlap": "In overlap"} if en else
                   {"outcome": "성과", "model": "모형", "n": "가구 수", "mean": "평균 CATE", "pos": "CATE > 0 비율",
                    "sig": "구간이 0 초과", "overlap": "중첩 구간 비율"})
            parts.append(pipe_table(f, pd.DataFrame(rows), formats={"outcome": "text", "model": "text", "mean": "num:2",
                                                              "pos": "pct", "sig": "pct", "overlap": "pct"},
                                 headers=hdr, caption=("Out-of-fold CATE of the chosen models" if en
                                                       else "선택한 모형의 교차적합 CATE"), label="tbl-cate-summary"))
    return "\n\n".join(parts)


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


def later_stage_figures(res: Results, stage: str, lang: str = "en") -> list[tuple[str, Path]]:
    """(caption, path) of each figure a later stage wrote, language variant preferred."""
    return [(_figure_caption(name, lang), res.figure(name, lang)) for name in stage_figures(res, stage)]


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
