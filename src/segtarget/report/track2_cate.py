"""The Track 2 report's CATE section: the learners, their evaluation, the model chosen and what it earns.

:func:`cate_section` reads ``cate_model_selection.csv`` (the ``cate_eval`` stage) when it
exists and builds the section around it: how to read the uplift / Qini / TOC curves, the
selection table, the model the pre-registered rule chose and why (rebuilt from the table's
numbers, in both languages), and what targeting the top shares by it would earn against
targeting the same number of households at random. Without the evaluation it falls back to
:func:`cate_summary_section` (the ``cate`` stage's held-out R-loss). Every number comes from
the results files.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from segtarget.report.facts import has_table, truthy
from segtarget.report.labels import ko_particle, label
from segtarget.report.results import Formatter, Results
from segtarget.report.tables import pipe_table

CONSTANT = "constant"

_MODEL_LABELS = {
    "s_learner": ("S-learner", "S-학습기"), "t_learner": ("T-learner", "T-학습기"), "x_learner": ("X-learner", "X-학습기"),
    "dr_learner": ("DR-learner", "DR-학습기"), "linear_dml": ("LinearDML", "LinearDML"),
    "causal_forest": ("Causal forest", "인과 숲"), CONSTANT: ("Constant effect", "상수 효과"),
}

#: The selection rules (cate_eval.selection_rule), in plain words.
_RULES = {
    "rate_blp_rloss": ("among the models whose RATE interval lies above zero and whose BLP calibration slope is positive, "
                       "the one with the lowest held-out R-loss; the constant effect if no model qualifies",
                       "RATE 신뢰구간이 0보다 위에 있고 BLP 보정 기울기가 양수인 모형 가운데 검증 R-손실이 가장 낮은 모형, "
                       "조건을 충족하는 모형이 없으면 상수 효과"),
    "min_rloss": ("the lowest held-out R-loss, the constant effect included", "상수 효과를 포함해 검증 R-손실이 가장 낮은 모형"),
    CONSTANT: ("always the constant effect", "항상 상수 효과"),
}


def model_label(name, lang: str) -> str:
    pair = _MODEL_LABELS.get(str(name))
    return str(name) if pair is None else pair[1 if lang == "ko" else 0]


def _effect(f: Formatter, outcome: str, x, ci: tuple | None = None) -> str:
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    text = f.value(x, kind)
    return text if ci is None else f"{text} {f.ci(ci[0], ci[1], kind)}"


def _get(row: pd.Series, col: str):
    return row[col] if col in row.index else np.nan


def _uplift_ks(t: pd.DataFrame) -> list[str]:
    """The uplift@k columns of the selection table (``uplift_at_10`` ...), in k order."""
    cols = [c for c in t.columns if re.fullmatch(r"uplift_at_[\d.]+", c)]
    return sorted(cols, key=lambda c: float(c.removeprefix("uplift_at_")))


def _reason(f: Formatter, g: pd.DataFrame, outcome: str, lang: str) -> str:
    """Why the rule chose what it chose for one outcome, from the table's numbers."""
    en = lang == "en"
    what = label("outcome", outcome, lang)
    sel = g[g["selected"].map(truthy)]
    if sel.empty:
        return ""
    s = sel.iloc[0]
    chosen = str(s["model"])
    rule = str(_get(s, "rule")) if "rule" in g else "rate_blp_rloss"
    others = g[g["model"] != CONSTANT]
    const = g[g["model"] == CONSTANT]
    rc = const["rloss_heldout"].iloc[0] if len(const) else np.nan
    ate = (_get(const.iloc[0], "ate_dr") if "ate_dr" in g else _get(const.iloc[0], "mean_tau_hat")) if len(const) else np.nan
    if chosen == CONSTANT:
        if rule == CONSTANT:
            return (f"For {what.lower()}, the rule keeps the constant effect whatever the models show." if en else
                    f"{ko_particle(what, '은')} 모형 결과와 상관없이 규칙에 따라 상수 효과를 쓴다.")
        near = others.loc[others["rate_ci_low"].idxmax()] if others["rate_ci_low"].notna().any() else None
        if en:
            text = (f"For {what.lower()}, no model qualifies: none has a RATE interval above zero together with a positive "
                    f"calibration slope")
            if near is not None:
                text += (f" (the closest, {model_label(near['model'], lang)}, has RATE "
                         f"{f.num(near['rate'], 3)} {f.ci(near['rate_ci_low'], near['rate_ci_high'], 'num:3')})")
            return text + (f". The rule therefore keeps the constant effect: every household is expected to gain the "
                           f"average effect, {_effect(f, outcome, ate)}, and ranking households by any of these models "
                           f"would be ranking them on noise.")
        text = f"{ko_particle(what, '은')} 조건을 충족하는 모형이 없다. RATE 신뢰구간이 0보다 위에 있으면서 보정 기울기가 양수인 모형이 없다"
        if near is not None:
            text += (f"(가장 가까운 {ko_particle(model_label(near['model'], lang), '은')} RATE "
                     f"{f.num(near['rate'], 3)} {f.ci(near['rate_ci_low'], near['rate_ci_high'], 'num:3')})")
        return text + (f". 따라서 규칙은 상수 효과를 택한다. 모든 가구의 기대 효과는 평균 효과 "
                       f"{ko_particle(_effect(f, outcome, ate), '이며')}, 이 모형들로 가구의 순위를 매기는 것은 잡음으로 "
                       f"순위를 매기는 것과 같다.")
    name = model_label(chosen, lang)
    rl = s["rloss_heldout"]
    if rule == "min_rloss":
        return (f"For {what.lower()}, the rule chose {name}, the lowest held-out R-loss ({f.num(rl, 3)}; constant effect "
                f"{f.num(rc, 3)})." if en else
                f"{ko_particle(what, '은')} 검증 R-손실이 가장 낮은 {ko_particle(name, '을')} 택했다"
                f"({f.num(rl, 3)}, 상수 효과 {f.num(rc, 3)}).")
    ok = others[(others["rate_ci_low"] > 0) & (others["blp_beta1"] > 0)] if "blp_beta1" in others else others.head(0)
    n_ok = len(ok) if len(ok) else 1
    rate = f"{f.num(s['rate'], 3)} {f.ci(s['rate_ci_low'], s['rate_ci_high'], 'num:3')}"
    slope, p = _get(s, "blp_beta1"), _get(s, "blp_pvalue")
    loss = f"{f.num(rl, 3)} against {f.num(rc, 3)} for the constant effect" if en else f"상수 효과 {f.num(rc, 3)}에 대해 {f.num(rl, 3)}"
    if en:
        which = ("it is the only model that qualifies" if n_ok == 1 else
                 f"of the {n_ok} models that qualify it has the lowest held-out R-loss")
        return (f"For {what.lower()}, the rule chose {name}: its RATE, {rate}, lies above zero, its BLP calibration slope "
                f"is {f.num(slope, 2)} (one-sided p = {f.p(p)}), and {which} (held-out R-loss {loss}).")
    which = "조건을 충족하는 유일한 모형이다" if n_ok == 1 else f"조건을 충족하는 모형 {n_ok}개 가운데 검증 R-손실이 가장 낮다"
    return (f"{ko_particle(what, '은')} 규칙에 따라 {ko_particle(name, '을')} 택했다. RATE는 {rate}로 0보다 위에 있고, "
            f"BLP 보정 기울기는 {f.num(slope, 2)}(단측 p = {f.p(p)})이며, {which}(검증 R-손실: {loss}).")


def _selection_table(f: Formatter, t: pd.DataFrame, lang: str) -> str:
    en = lang == "en"
    df = pd.DataFrame({"outcome": [label("outcome", o, lang) for o in t["outcome"]],
                       "model": [model_label(m, lang) for m in t["model"]]})
    fmts = {"outcome": "text", "model": "text"}
    if "rloss_gain" in t:
        df["gain"], fmts["gain"] = t["rloss_gain"].to_numpy(), "num:3"
    else:
        df["rloss"], fmts["rloss"] = t["rloss_heldout"].to_numpy(), "num:3"
    ci = {"auuc_normalized_ci_low", "auuc_normalized_ci_high"} <= set(t.columns)
    df["auuc"] = [f"{f.num(a, 3)} {f.ci(lo, hi, 'num:3')}" if ci else f.num(a, 3) for a, lo, hi in
                  zip(t["auuc_normalized"], t.get("auuc_normalized_ci_low", t["auuc_normalized"]),
                      t.get("auuc_normalized_ci_high", t["auuc_normalized"]))]
    if "blp_beta1" in t:
        df["blp"] = [f.na if pd.isna(b) else f"{f.num(b, 2)} (p {f.p(p)})" for b, p in zip(t["blp_beta1"], t["blp_pvalue"])]
    else:
        df["blp"] = [f.p(p) for p in t["blp_pvalue"]]
    df["rate"] = [f"{f.num(r, 3)} {f.ci(lo, hi, 'num:3')}" for r, lo, hi in zip(t["rate"], t["rate_ci_low"], t["rate_ci_high"])]
    df["chosen"] = ["✓" if truthy(v) else "" for v in t["selected"]]
    fmts.update(auuc="text", blp="text", rate="text", chosen="text")
    hdr = ({"outcome": "Outcome", "model": "Model", "gain": "R-loss gain over constant", "rloss": "Held-out R-loss",
            "auuc": "AUUC (norm.) [CI]", "blp": "BLP slope (p)" if "blp_beta1" in t else "BLP p", "rate": "RATE [CI]",
            "chosen": "Chosen"} if en else
           {"outcome": "성과", "model": "모형", "gain": "상수 대비 R-손실 개선", "rloss": "검증 R-손실",
            "auuc": "AUUC (정규화) [CI]", "blp": "BLP 기울기 (p)" if "blp_beta1" in t else "BLP p값", "rate": "RATE [CI]",
            "chosen": "선택"})
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df},
                      caption=("CATE models and the constant effect on one doubly-robust yardstick (overlap units; "
                               "household-bootstrap intervals)" if en else
                               "하나의 이중 강건 기준으로 본 CATE 모형과 상수 효과 (중첩 구간 단위, 가구 부트스트랩 구간)"),
                      label="tbl-cate-models")


def _earnings(f: Formatter, t: pd.DataFrame, lang: str) -> list[str]:
    """The uplift@k table of the chosen model (or, for reference, the best-RATE candidate) and a sentence per outcome."""
    en, ks = lang == "en", _uplift_ks(t)
    if not ks or "ate_dr" not in t:
        return []
    rows, sentences = [], []
    for outcome, g in t.groupby("outcome", sort=False):
        sel = g[g["selected"].map(truthy)]
        others = g[g["model"] != CONSTANT]
        if sel.empty or others.empty:
            continue
        chosen = str(sel["model"].iloc[0])
        shown = sel.iloc[0] if chosen != CONSTANT else others.loc[others["rate"].idxmax()]
        what = label("outcome", outcome, lang)
        for c in ks:
            k = float(c.removeprefix("uplift_at_")) / 100
            rows.append({"outcome": what, "model": model_label(shown["model"], lang) + ("" if chosen != CONSTANT else
                         (" (reference)" if en else " (참고)")), "k": k,
                         "top": _effect(f, outcome, shown[c], (shown[f"{c}_ci_low"], shown[f"{c}_ci_high"])),
                         "ate": _effect(f, outcome, shown["ate_dr"]), "diff": _effect(f, outcome, shown[f"{c}_vs_ate"])})
        c = ks[0]
        k = f.pct(float(c.removeprefix("uplift_at_")) / 100, 0)
        top, lo, hi, ate = shown[c], shown[f"{c}_ci_low"], shown[f"{c}_ci_high"], shown["ate_dr"]
        name = model_label(shown["model"], lang)
        inside = lo <= ate <= hi
        if chosen != CONSTANT:
            sentences.append(
                f"For {what.lower()}, sending the campaign only to the top {k} of units by {name} would earn "
                f"{_effect(f, outcome, top, (lo, hi))} per targeted unit, against {_effect(f, outcome, ate)} for units "
                f"picked at random (or everyone alike): {_effect(f, outcome, top - ate)} more per targeted unit"
                + (", although the interval still includes the average." if inside else ".")
                if en else
                f"{ko_particle(what, '은')} {name} 기준 상위 {k} 단위에만 캠페인을 보내면 타깃 단위당 "
                f"{_effect(f, outcome, top, (lo, hi))}의 효과가 기대된다. 무작위로(또는 모두에게 똑같이) 고를 때의 "
                f"{_effect(f, outcome, ate)}보다 단위당 {_effect(f, outcome, top - ate)} 많다"
                + ("(다만 구간은 여전히 평균을 포함한다)." if inside else "."))
        else:
            sentences.append(
                f"For {what.lower()}, no ranking is supported; for reference, the top {k} by {name} (the highest RATE) "
                f"shows {_effect(f, outcome, top, (lo, hi))} per targeted unit against the average "
                f"{_effect(f, outcome, ate)}" + (", an interval that includes the average: no reliable gain over "
                                                 "treating everyone alike." if inside else ".")
                if en else
                f"{ko_particle(what, '은')} 근거 있는 순위가 없다. 참고로 RATE가 가장 높은 {name} 기준 상위 {k}의 효과는 "
                f"타깃 단위당 {_effect(f, outcome, top, (lo, hi))}로 평균 {_effect(f, outcome, ate)}와 비교되며"
                + (", 구간이 평균을 포함하므로 모두에게 똑같이 대하는 것보다 확실히 낫다고 할 수 없다." if inside else "."))
    if not rows:
        return []
    hdr = ({"outcome": "Outcome", "model": "Ranking by", "k": "Top share targeted", "top": "Effect per targeted unit [CI]",
            "ate": "Random / everyone", "diff": "Difference"} if en else
           {"outcome": "성과", "model": "순위 기준", "k": "타기팅 상위 비율", "top": "타깃 단위당 효과 [CI]",
            "ate": "무작위 / 전체", "diff": "차이"})
    table = pipe_table(f, pd.DataFrame(rows), formats={"outcome": "text", "model": "text", "k": "pct:0", "top": "text",
                                                       "ate": "text", "diff": "text"}, headers=hdr,
                       caption=("What targeting the top shares would earn per targeted unit, against random targeting "
                                "(doubly-robust estimates)" if en else
                                "상위 비율 타기팅의 타깃 단위당 기대 효과와 무작위 타기팅 비교 (이중 강건 추정)"),
                       label="tbl-cate-uplift")
    intro = ("@tbl-cate-uplift turns the curves into what a campaign would earn: the mean effect per targeted unit when "
             "only the top share is targeted, against the average effect that a random or blanket choice earns." if en else
             "@tbl-cate-uplift 는 곡선을 캠페인의 기대 성과로 바꾼 것이다. 상위 비율만 타기팅할 때 타깃 단위당 평균 효과를, "
             "무작위로 또는 모두에게 보낼 때의 평균 효과와 비교한다.")
    return [intro, " ".join(sentences), table]


def _distribution_table(f: Formatter, res: Results, t: pd.DataFrame, lang: str) -> str:
    """Each model's out-of-fold CATE on the overlap units (customer_cate.csv), the chosen ones marked."""
    name = "customer_cate" if has_table(res, "customer_cate") else "cate_predictions"
    if not has_table(res, name):
        return ""
    c = res.table(name)
    if not {"outcome", "model", "cate"} <= set(c.columns):
        return ""
    if "in_overlap" in c:
        c = c[c["in_overlap"].map(truthy)]
    chosen = {(o, m) for o, m, s in zip(t["outcome"], t["model"], t["selected"]) if truthy(s)}
    rows = [{"outcome": label("outcome", o, lang), "model": model_label(m, lang), "n": len(g), "mean": g["cate"].mean(),
             "spread": f"{f.num(g['cate'].quantile(0.1), 2)} – {f.num(g['cate'].quantile(0.9), 2)}",
             "pos": (g["cate"] > 0).mean(), "chosen": "✓" if (o, m) in chosen else ""}
            for (o, m), g in c.groupby(["outcome", "model"], sort=False)]
    en = lang == "en"
    hdr = ({"outcome": "Outcome", "model": "Model", "n": "Units", "mean": "Mean CATE", "spread": "10th – 90th pct.",
            "pos": "CATE > 0", "chosen": "Chosen"} if en else
           {"outcome": "성과", "model": "모형", "n": "단위 수", "mean": "평균 CATE", "spread": "10~90 백분위",
            "pos": "CATE > 0 비율", "chosen": "선택"})
    return pipe_table(f, pd.DataFrame(rows), formats={"outcome": "text", "model": "text", "mean": "num:2", "spread": "text",
                                                      "pos": "pct", "chosen": "text"}, headers=hdr,
                      caption=("Out-of-fold CATE of each model (overlap units)" if en else
                               "모형별 교차적합 CATE (중첩 구간 단위)"), label="tbl-cate-summary")


def cate_section(res: Results, lang: str) -> str:
    """The CATE section: evaluation and model choice if the cate_eval stage ran, else the learners' summary."""
    if not has_table(res, "cate_model_selection"):
        return cate_summary_section(res, lang)
    f, en = Formatter(lang), lang == "en"
    t = res.table("cate_model_selection")
    n_models = int((t["model"] != CONSTANT).groupby(t["outcome"]).sum().max())
    first = t.iloc[0]
    units = (f" over the {f.int(first['n'])} units in the overlap band ({f.int(first['n_clusters'])} households)" if en
             else f" 중첩 구간의 {f.int(first['n'])}개 단위({f.int(first['n_clusters'])}가구)에서") if "n_clusters" in t else ""
    boot = ((f"; every interval is a household bootstrap of {f.int(first['n_boot'])} resamples" if en else
             f" 모든 구간은 가구 단위 부트스트랩({f.int(first['n_boot'])}회)으로 구했다.") if "n_boot" in t else "")
    parts = [
        (f"{n_models} CATE learners predicted every unit's effect out of fold. The evaluation scores them, and a constant "
         f"effect (the average effect for everyone: no targeting on predicted differences), on one yardstick: "
         f"doubly-robust scores from cross-fitted outcome and propensity models{units}{boot}."
         if en else
         f"CATE 학습기 {n_models}개가 모든 단위의 효과를 교차적합으로 예측했다. 평가는 이 학습기들과 상수 효과(모두에게 같은 "
         f"평균 효과, 즉 예측된 차이에 따른 타기팅을 하지 않는 경우)를 교차적합한 결과·성향점수 모형으로 만든 이중 강건 점수라는 "
         f"하나의 기준으로{units} 비교한다.{boot}"),
        ("**How to read the curves.** Rank households by a model's predicted effect and target the top share: the uplift "
         "curve gives the extra purchases per unit of the cohort that this earns. Targeting the same share at random earns "
         "the straight line from zero to the average effect, so a model is worth using only where its curve stands clearly "
         "above that line. The Qini curve is the gap between the two; the TOC curve is the extra effect per targeted unit "
         "in the top share over the average. The normalised AUUC divides the area between a model's curve and the random "
         "line by the same area for the best ordering these noisy scores allow (zero: no better than random); RATE "
         "summarises the TOC curve, and the BLP slope says whether predicted differences show up in the outcomes (one: "
         "calibrated, zero: none)."
         if en else
         "**곡선 읽는 법.** 모형이 예측한 효과로 가구의 순위를 매기고 상위 일부만 타기팅하면, 업리프트 곡선은 그때 코호트 단위당 "
         "얻는 추가 구매를 보여 준다. 같은 비율을 무작위로 타기팅하면 0에서 평균 효과까지의 직선을 얻으므로, 모형은 곡선이 이 "
         "직선보다 분명히 위에 있을 때만 쓸모가 있다. Qini 곡선은 두 곡선의 차이이고, TOC 곡선은 상위 비율의 타깃 단위당 효과가 "
         "평균보다 얼마나 큰지를 보여 준다. 정규화 AUUC는 모형 곡선과 무작위 직선 사이의 면적을 이 점수로 가능한 최선의 순서의 "
         "면적으로 나눈 값이다(0이면 무작위와 같음). RATE는 TOC 곡선을 요약하고, BLP 기울기는 예측된 차이가 실제 결과에 나타나는지를 "
         "보여 준다(1이면 잘 보정됨, 0이면 차이 없음)."),
    ]
    if "rule" in t:
        rule = str(t["rule"].iloc[0])
        desc = _RULES.get(rule, (rule, rule))[0 if en else 1]
        parts.append(f"The model was chosen by a rule fixed in params.yaml before any policy was looked at ({rule}): {desc} "
                     f"(@tbl-cate-models)." if en else
                     f"모형은 정책을 보기 전에 params.yaml에 정해 둔 규칙({rule})으로 골랐다: {desc}(@tbl-cate-models).")
    else:
        parts.append("The rule that picks a model was fixed in params.yaml before the policy was looked at (@tbl-cate-models)."
                     if en else "모형 선택 규칙은 정책을 보기 전에 params.yaml에 정해 두었다(@tbl-cate-models).")
    parts.append(_selection_table(f, t, lang))
    reasons = [_reason(f, g, o, lang) for o, g in t.groupby("outcome", sort=False)]
    parts.append(" ".join(r for r in reasons if r))
    parts += _earnings(f, t, lang)
    dist = _distribution_table(f, res, t, lang)
    if dist:
        parts.append(dist)
    return "\n\n".join(p for p in parts if p)


def cate_summary_section(res: Results, lang: str) -> str:
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
         f"are extrapolations and are flagged as such in the predictions table. The held-out R-loss measures how well a "
         f"learner's CATE explains the outcome residuals; the same loss for the best constant effect is the bar a "
         f"learner must clear before its heterogeneity means anything (@tbl-cate-summary)."
         if en else
         f"CATE 학습기 {n_models}개를 성향점수 단계와 같은 가구 단위 폴드로 교차적합해, 모든 단위의 효과를 그 단위의 결과를 "
         f"보지 않은 모형이 예측하게 했다. 학습과 평가는 중첩 구간 안의 단위({f.int(n_all)}개 가운데 {f.int(n_ov)}개)에서 "
         f"했고, 나머지 단위의 예측은 외삽이므로 예측 표에 따로 표시했다. 검증 R-손실은 학습기의 CATE가 결과 잔차를 "
         f"얼마나 설명하는지를 재며, 가장 좋은 상수 효과의 R-손실이 학습기가 넘어야 할 기준선이다(@tbl-cate-summary)."),
    ]
    df = pd.DataFrame({
        "outcome": [label("outcome", o, lang) for o in s["outcome"]],
        "model": [model_label(m, lang) for m in s["model"]],
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
        beat = [model_label(m, lang) for m, gain in zip(g["model"], g["rloss_gain"]) if gain > 0]
        what = label("outcome", outcome, lang)
        best = float((g["rloss_gain"] / g["rloss_constant"]).max())
        if en:
            parts.append(f"For {what.lower()}, " + (
                f"{len(beat)} of {len(g)} learners beat the constant effect on held-out data ({', '.join(beat)}); the "
                f"best lowers the loss by {f.pct(best, 2)}, which is the size of the heterogeneity the data support."
                if beat else
                "no learner beats the constant effect on held-out data: the heterogeneity the learners report is not "
                "supported by the data, and targeting on it would be targeting on noise."))
        else:
            parts.append(f"{ko_particle(what, '은')} " + (
                f"학습기 {len(g)}개 가운데 {len(beat)}개가 검증 자료에서 상수 효과보다 낫다({', '.join(beat)}). 가장 나은 "
                f"학습기도 손실을 {f.pct(best, 2)} 줄일 뿐이며, 이것이 자료가 뒷받침하는 이질성의 크기다."
                if beat else
                "검증 자료에서 상수 효과보다 나은 학습기가 없다. 학습기들이 보여 주는 이질성은 자료가 뒷받침하지 않으며, 이에 따른 "
                "타기팅은 잡음에 따른 타기팅이 된다."))
    return "\n\n".join(parts)
