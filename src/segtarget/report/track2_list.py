"""The Track 2 report's "who to contact next" paragraph: the decision applied to the current households.

Reads ``target_list.csv`` (the policy stage) and the ``track2.policy.target_list`` and
``track2.household_scores`` metric blocks: how many households were scored from which window,
how many the recommended policy contacts, what the list is expected to earn (the cohort's
doubly-robust value per contact times the list, beside the model's own sum), and the caveats a
CRM team must know before loading it (households already targeted, households outside the
propensity band), and how many households the A/B test would draw its arms from.
"""

from __future__ import annotations

from segtarget.report.facts import has_table
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.track2_cate import model_label
from segtarget.report.track2_decision import policy_label


def _block(res: Results, key: str) -> dict:
    try:
        return res.metric(key) or {}
    except Exception:  # a partial run: no metrics file or no block
        return {}


def contact_list(res: Results, lang: str = "en") -> str:
    """One paragraph on target_list.csv ('' when the policy stage wrote none)."""
    if not has_table(res, "target_list"):
        return ""
    t = res.table("target_list")
    m, s = _block(res, "track2.policy.target_list"), _block(res, "track2.household_scores")
    f, en = Formatter(lang), lang == "en"
    n = len(t)
    k = int((t["target"] == "yes").sum())
    pol = policy_label(str(t["policy"].iloc[0]), lang) if n else ""
    model = str(t["model"].iloc[0]) if n and "model" in t else "constant"
    constant = model == "constant"
    prev = int((t["previously_targeted"] > 0).sum()) if "previously_targeted" in t else 0
    out_band = int((t["in_overlap"] == 0).sum()) if "in_overlap" in t else 0
    share = f.pct(k / n if n else 0, 1)
    day = s.get("scoring_index_day", m.get("index_day"))
    when = (f" (the next campaign starting on day {f.int(day)})" if en else f"(다음 캠페인 시작일 {f.int(day)}일 기준)") \
        if day is not None and not is_na(day) else ""
    if en:
        how = ("every household gets the average effect, since no heterogeneity was supported," if constant else
               f"the selected model, {model_label(model, lang)}, predicts each household's effect")
        text = [f"The decision is applied to the {f.int(n)} households active in the last lookback window of the data{when}: "
                f"their covariates are built as the cohort's were, and {how} (target_list.csv). The recommended policy, "
                f"{pol.lower() if pol[:1].isupper() and pol[1:2].islower() else pol}, marks {f.int(k)} of them ({share}) "
                "for contact."]
    else:
        how = ("이질성이 뒷받침되지 않았으므로 모든 가구에 같은 평균 효과를 주었다" if constant else
               f"선택 모형({model_label(model, lang)})이 가구별 효과를 예측했다")
        text = [f"결정은 데이터의 마지막 룩백 기간에 구매한 {f.int(n)}가구{when}에 적용했다. 공변량은 코호트와 같은 방식으로 "
                f"만들었고, {how}(target_list.csv). 권고 정책({pol})은 그중 {f.int(k)}가구({share})에 보낸다."]
    if k and m.get("profit") is not None:
        lo, hi = m.get("profit_ci", [None, None])
        text.append(f"The list's expected profit is {f.money(m['profit'], 0)} {f.ci(lo, hi, 'money')} (the cohort's "
                    f"doubly-robust value per contact times the list; the model's own sum says "
                    f"{f.money(m.get('plugin_profit'), 0)})." if en else
                    f"목록의 기대 이익은 {f.money(m['profit'], 0)} {f.ci(lo, hi, 'money')}이다(코호트의 이중 강건 접촉당 가치 × "
                    f"목록 크기, 모형 자체 합계는 {f.money(m.get('plugin_profit'), 0)}).")
    text.append(f"{f.int(prev)} households ({f.pct(prev / n if n else 0, 0)}) were already targeted by a campaign of the "
                f"type: the cohort measured the effect of a first campaign, so for them the prediction is an "
                f"extrapolation; {f.int(out_band)} lie outside the propensity band." if en else
                f"{f.int(prev)}가구({f.pct(prev / n if n else 0, 0)})는 이미 같은 유형의 캠페인을 받은 적이 있다. 코호트는 첫 "
                f"캠페인의 효과를 측정했으므로 이들에 대한 예측은 외삽이다. {f.int(out_band)}가구는 성향 점수 구간 밖에 있다.")
    if "ab_test_candidate" in t:
        c = int((t["ab_test_candidate"] == "yes").sum())
        ab = m.get("ab_policy")
        who = f" (the households the {policy_label(ab, lang)} policy would contact)" if en and ab else (
            f"({policy_label(ab, lang)} 정책이 보낼 가구)" if ab else "")
        text.append(f"The A/B test draws both arms at random from the {f.int(c)} households flagged as test candidates{who}."
                    if en else f"A/B 테스트는 실험 후보로 표시한 {f.int(c)}가구{who}에서 두 집단을 무작위로 뽑는다.")
    return " ".join(text)
