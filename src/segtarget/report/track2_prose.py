"""Track 2 (causal targeting) prose: headline, agreement, caveats and summary helpers.

Prose whose wording depends on the results (the headline effect and what its interval
says, how far the estimators agree, the inconvenient findings, what a CRM manager should
do, how sure we are), written separately for each language, and the table of what this
design does differently from the original project (:func:`track2_fixes_table`).
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from segtarget.report.facts import ORIGINAL
from segtarget.report.labels import join_words, ko_particle, label, significance
from segtarget.report.results import Formatter, is_na
from segtarget.report.tables import pipe_table
from segtarget.report.track2 import Track2Facts, population_label


# --------------------------------------------------------------------------- Track 2 sentences


def headline_sentence(t2: Track2Facts, outcome: str, lang: str = "en") -> str:
    """The headline effect on one outcome, its interval and what the interval says."""
    r = t2.headline(outcome)
    f = Formatter(lang)
    if r is None:
        return ""
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    if any(abs(v) < 0.005 and v != 0 for v in (r["ci_low"], r["ci_high"])):
        kind = kind.replace(":2", ":3")
    sig = significance(r["ci_low"], r["ci_high"])
    est, ci = f.value(r["estimate"], kind), f.ci(r["ci_low"], r["ci_high"], kind)
    what = label("outcome", outcome, lang)
    if lang == "en":
        verdict = {"positive": "the interval lies above zero, so the campaign raised it",
                   "negative": "the interval lies below zero, so the campaign lowered it",
                   "inconclusive": "the interval includes zero, so the data cannot tell a gain from no effect"}[sig]
        return (f"Per targeted household, the campaign changed {what} over the outcome window by {est} "
                f"(95% CI {ci}); {verdict}.")
    verdict = {"positive": "구간 전체가 0보다 커서 캠페인이 이를 늘렸다고 볼 수 있다",
               "negative": "구간 전체가 0보다 작아서 캠페인이 이를 줄였다고 볼 수 있다",
               "inconclusive": "구간에 0이 들어 있어 효과가 있는지 없는지 데이터로는 가릴 수 없다"}[sig]
    return f"대상 가구 한 곳당 성과 기간의 {ko_particle(what, '은')} {est} 변했다(95% 신뢰구간 {ci}). {verdict}."


def agreement_sentence(t2: Track2Facts, outcome: str, lang: str = "en") -> str:
    """How far the adjusted estimators agree on the headline population."""
    e = t2.estimates(outcome, t2.headline_population)
    if e.empty:
        return ""
    f = Formatter(lang)
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    sigs = [significance(lo, hi) for lo, hi in zip(e["ci_low"], e["ci_high"])]
    n_pos, n_neg = sigs.count("positive"), sigs.count("negative")
    lo, hi = f.value(e["estimate"].min(), kind), f.value(e["estimate"].max(), kind)
    if lang == "en":
        return (f"The {len(e)} adjusted estimators range from {lo} to {hi} on this population; "
                f"{n_pos} of them {'has' if n_pos == 1 else 'have'} an interval entirely above zero "
                f"and {n_neg} entirely below.")
    return (f"같은 모집단에서 보정 추정량 {len(e)}개의 값은 {lo}에서 {hi} 사이이며, 이 가운데 {n_pos}개는 구간 전체가 "
            f"0보다 크고 {n_neg}개는 0보다 작다.")


def track2_caveats(t2: Track2Facts, lang: str = "en") -> list[str]:
    """Inconvenient findings of the causal study, each stated plainly."""
    f, p = Formatter(lang), t2.pos
    en = lang == "en"
    out = []
    pieces = []  # one clause per outcome whose weighting estimators blow up on the full cohort
    for outcome in t2.outcomes:
        bad = t2.unstable(outcome)
        if not bad:
            continue
        what = label("outcome", outcome, lang)
        kind = "money:1" if outcome == "purchase_amount" else "num:2"
        rows = [(m, t2.row(outcome, m, "full"), t2.row(outcome, m, t2.headline_population)) for m in bad]
        if en:
            listed = join_words([f"{label('method', m, lang)} has an SE of {f.value(fu['se'], kind)}, "
                                 f"{f.num(fu['se'] / tr['se'], 1)} times its SE on the trimmed population"
                                 for m, fu, tr in rows])
            pieces.append(f"on {what}, {listed}")
        else:
            listed = ", ".join(f"{ko_particle(label('method', m, lang), '은')} 표준오차가 "
                               f"{ko_particle(f.value(fu['se'], kind), '으로')} 절단 모집단의 {f.num(fu['se'] / tr['se'], 1)}배"
                               for m, fu, tr in rows)
            pieces.append(f"{what}에서 {listed}")
    if pieces:
        if en:
            out.append(f"The weighting estimators blow up on the full cohort: {'; '.join(pieces)}. The cause is the "
                       f"extreme propensities: {f.int(t2.n_extreme)} of {f.int(t2.n_units)} units have a propensity "
                       f"below 0.05 or above 0.95, so a handful of units receive huge inverse-probability weights. "
                       f"These full-cohort numbers are not evidence about the campaign; the trimmed estimates are.")
        else:
            out.append(f"가중 추정량은 전체 코호트에서 크게 흔들린다. {', '.join(pieces)}에 이른다. 원인은 극단적인 "
                       f"성향점수다. {f.int(t2.n_units)}개 단위 가운데 {f.int(t2.n_extreme)}개가 0.05 미만이거나 0.95를 "
                       f"넘어, 소수의 단위가 매우 큰 역확률 가중치를 받는다. 이 전체 코호트 수치는 캠페인 효과의 근거가 "
                       f"될 수 없고, 절단한 모집단의 추정치가 근거다.")
    if t2.ipw_worsens_balance:
        nu, ni = p.get("n_imbalanced_unweighted", 0), p.get("n_imbalanced_ipw", 0)
        mu, mi = p.get("max_abs_smd_unweighted", 0), p.get("max_abs_smd_ipw", 0)
        if en:
            out.append(f"Inverse-probability weighting does not balance the full cohort: {f.int(ni)} covariates keep "
                       f"|SMD| ≥ 0.1 after weighting against {f.int(nu)} before, the largest |SMD| goes from "
                       f"{f.num(mu, 2)} to {f.num(mi, 2)}, and {f.int(t2.ipw_worsened_covariates)} covariates end "
                       f"up more imbalanced than without weights. Weights this extreme let a few units dominate "
                       f"each arm's means; overlap weights, which cannot explode, balance "
                       f"{f.int(t2.n_covariates - p.get('n_imbalanced_overlap', 0))} of {f.int(t2.n_covariates)}.")
        else:
            out.append(f"역확률 가중은 전체 코호트의 균형을 맞추지 못한다. 가중 후에도 |SMD| ≥ 0.1인 공변량이 "
                       f"{f.int(ni)}개로 가중 전({f.int(nu)}개)보다 줄지 않았고, 최대 |SMD|는 {f.num(mu, 2)}에서 "
                       f"{ko_particle(f.num(mi, 2), '으로')} 바뀌었으며, {f.int(t2.ipw_worsened_covariates)}개 공변량은 가중하지 않았을 "
                       f"때보다 오히려 불균형이 커졌다. 가중치가 이 정도로 극단적이면 몇몇 단위가 각 집단의 평균을 "
                       f"좌우한다. 폭주할 수 없는 중첩 가중은 {f.int(t2.n_covariates)}개 가운데 "
                       f"{f.int(t2.n_covariates - p.get('n_imbalanced_overlap', 0))}개의 균형을 맞춘다.")
    missing = t2.missing_se()
    if len(missing):
        combos = sorted({(label("method", m, lang), population_label(t2, pp, lang))
                         for m, pp in zip(missing["method"], missing["population"])})
        listed = "; ".join(f"{m}, {pp}" for m, pp in combos)
        if en:
            one = len(missing) == 1
            out.append(f"For {len(missing)} estimate{'' if one else 's'} ({listed}) the clustered standard error "
                       f"could not be computed (the covariate matrix is rank-deficient: some covariates are constant "
                       f"or duplicate others, and the cluster-robust variance is then undefined); "
                       f"{'it is' if one else 'they are'} shown without an interval and should not be read as precise.")
        else:
            out.append(f"{len(missing)}개 추정치({listed})는 가구 군집 표준오차를 계산할 수 없었다(공변량 행렬의 계수가 "
                       f"부족하다. 일부 공변량이 상수이거나 다른 공변량과 겹쳐 군집 강건 분산이 정의되지 않는다). "
                       f"구간 없이 보였으며 정밀한 값으로 읽어서는 안 된다.")
    for outcome in t2.outcomes:
        r = t2.row(outcome, "ols", t2.headline_population)
        h = t2.headline(outcome)
        if r is None or h is None or is_na(r["se"]) or is_na(h["se"]) or h["se"] <= 0:
            continue
        if r["se"] > 5 * h["se"]:
            what = label("outcome", outcome, lang)
            if en:
                out.append(f"On {what} the OLS adjustment is unusable on the trimmed population: its clustered SE is "
                           f"{f.num(r['se'] / h['se'], 1)} times the AIPW SE, a sign that a few households with "
                           f"extreme covariate values drive the linear fit.")
            else:
                out.append(f"{what}에서 OLS 보정은 절단 모집단에서 쓸 수 없다. 군집 표준오차가 AIPW의 "
                           f"{f.num(r['se'] / h['se'], 1)}배로, 공변량 값이 극단적인 몇몇 가구가 선형 적합을 좌우한다는 "
                           f"신호다.")
    return out


# --------------------------------------------------------------------------- Track 2 summary helpers


def track2_action(t2: Track2Facts, lang: str = "en") -> str:
    """What a CRM manager should do, from the headline effect on purchase amount."""
    outcome = "purchase_amount" if "purchase_amount" in t2.outcomes else t2.outcomes[0]
    r = t2.headline(outcome)
    sig = significance(r["ci_low"], r["ci_high"]) if r is not None else "inconclusive"
    f = Formatter(lang)
    if lang == "en":
        return {
            "positive": f"Keep running the campaign for households like those it reached: it raised spending by about "
                        f"{f.money(r['estimate'], 2)} per household over the outcome window. Whether that pays depends "
                        f"on the cost per contact and the margin: at a margin m the campaign breaks even when a contact "
                        f"costs less than m times this gain.",
            "negative": "Pause the campaign and review it: among comparable households, those it reached spent less.",
            "inconclusive": "Do not extend the campaign on this evidence alone: among comparable households the effect "
                            "cannot be told apart from zero. Confirm it with a randomised test before spending more.",
        }[sig]
    return {
        "positive": f"캠페인이 도달한 가구와 비슷한 가구에는 캠페인을 계속한다. 성과 기간 동안 가구당 구매액이 약 "
                    f"{f.money(r['estimate'], 2)} 늘었다. 수익이 나는지는 접촉 비용과 마진에 달려 있다. 마진이 m이면 "
                    f"접촉 한 번의 비용이 이 증가분의 m배보다 작을 때 손익분기를 넘는다.",
        "negative": "캠페인을 멈추고 재검토한다. 비교 가능한 가구 가운데 캠페인을 받은 가구의 구매가 오히려 적었다.",
        "inconclusive": "이 근거만으로 캠페인을 확대하지 않는다. 비교 가능한 가구에서 효과를 0과 구별할 수 없다. 예산을 "
                        "늘리기 전에 무작위 실험으로 확인한다.",
    }[sig]


def track2_fixes_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    """The original design against this one, with this run's numbers."""
    f, o, p = Formatter(lang), ORIGINAL, t2.pos
    coh = t2.params.get("cohort", {}) if t2.params else {}
    pos = t2.params.get("positivity", {}) if t2.params else {}
    models = join_words([label("ps_model", m, lang) for m in pos.get("models", ["hgb", "logit"])], lang)
    share = p.get("overlap_share_0.1_0.9", float("nan"))
    n_in = p.get("overlap_n_0.1_0.9", float("nan"))
    lb = (f"{t2.lookback_weeks[0]}" if t2.lookback_weeks[0] == t2.lookback_weeks[1]
          else f"{t2.lookback_weeks[0]}–{t2.lookback_weeks[1]}")
    if lang == "en":
        rows = [
            ("Controls", "never-targeted households only, each anchored at the first campaign in whose window it "
                         "shopped",
             "at each stacked campaign, households not yet targeted by the type (never-targeted and later-targeted); "
             "controls treated inside the outcome window dropped"),
            ("Who may enter", "controls had to buy inside the campaign window, part of the outcome window",
             f"at least {coh.get('min_baskets', 1)} basket(s) in the lookback, the same rule for both arms"),
            ("Covariate window", f"all history before the anchor: {o['pre_weeks'][0]} to {o['pre_weeks'][1]} weeks, "
                                 f"longer for the treated",
             f"a fixed lookback of {coh.get('lookback_weeks', '')} weeks (at least {coh.get('min_lookback_weeks', '')}; "
             f"this run: {lb}), counts as per-week rates"),
            ("Propensity model", f"one logistic regression on unscaled covariates, clipped to [0.01, 0.99]; "
                                 f"AUC {f.num(o['ps_auc'], 3)}",
             f"cross-fitted {models}, {pos.get('n_splits', '')} folds grouped by household; "
             f"AUC {f.num(p.get('auc'), 3)}"),
            ("Overlap, propensity in [0.1, 0.9]",
             f"{f.pct(o['overlap_share_10_90'])} ({f.int(o['overlap_n_10_90'])} of {f.int(o['cohort_units'])} units)",
             f"{f.pct(share)} ({f.int(n_in)} of {f.int(t2.n_units)} units)"),
            ("Standard errors", "iid; AIPW without cross-fitting; an ad hoc SE for overlap weights",
             "clustered by household for every estimator (a household can appear in several campaigns)"),
        ]
        headers = {"topic": "Topic", "original": "Original project", "here": "This workflow (this run)"}
    else:
        rows = [
            ("대조군", "한 번도 타깃이 되지 않은 가구만 사용, 각 가구를 처음 구매한 캠페인 기간에 고정",
             "스택한 캠페인마다 아직 해당 유형의 타깃이 되지 않은 가구(끝까지 타깃이 아닌 가구와 나중에 타깃이 되는 가구), "
             "성과 기간 안에 처리되는 대조군은 제외"),
            ("진입 조건", "대조군은 성과 기간의 일부인 캠페인 기간에 구매해야 했음",
             f"룩백 기간에 장바구니 {coh.get('min_baskets', 1)}개 이상, 두 집단에 같은 규칙"),
            ("공변량 기간", f"기준 시점 이전의 모든 이력: {o['pre_weeks'][0]}–{o['pre_weeks'][1]}주, 처리군이 더 김",
             f"고정된 {coh.get('lookback_weeks', '')}주 룩백 (최소 {coh.get('min_lookback_weeks', '')}주, "
             f"이번 실행 {lb}주), 횟수는 주당 비율로 변환"),
            ("성향점수 모형", f"척도 변환 없는 로지스틱 회귀 하나, [0.01, 0.99]로 절단, AUC {f.num(o['ps_auc'], 3)}",
             f"교차적합한 {models}, 가구 단위로 묶은 {pos.get('n_splits', '')}개 폴드, AUC {f.num(p.get('auc'), 3)}"),
            ("중첩, 성향점수 [0.1, 0.9]",
             f"{f.pct(o['overlap_share_10_90'])} (전체 {f.int(o['cohort_units'])}개 중 {f.int(o['overlap_n_10_90'])}개)",
             f"{f.pct(share)} (전체 {f.int(t2.n_units)}개 중 {f.int(n_in)}개)"),
            ("표준오차", "독립 가정, 교차적합 없는 AIPW, 중첩 가중에는 임시방편 표준오차",
             "모든 추정량에서 가구 단위 군집 표준오차 (한 가구가 여러 캠페인에 나타날 수 있음)"),
        ]
        headers = {"topic": "항목", "original": "원 프로젝트", "here": "이 워크플로 (이번 실행)"}
    df = pd.DataFrame(rows, columns=["topic", "original", "here"])
    return pipe_table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def selection_sentence(t2: Track2Facts, outcome: str = "purchase_amount", lang: str = "en") -> str:
    """How much of the naive treated-control gap is selection rather than effect."""
    naive, head = t2.row(outcome, "naive", "full"), t2.headline(outcome)
    if naive is None or head is None:
        return ""
    f = Formatter(lang)
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    what = label("outcome", outcome, lang)
    share = 1 - head["estimate"] / naive["estimate"] if naive["estimate"] > 0 and head["estimate"] < naive["estimate"] else None
    if lang == "en":
        text = (f"A naive comparison of targeted and untargeted households would credit the campaign with "
                f"{f.value(naive['estimate'], kind)} of {what} per household.")
        text += f" Comparing like with like (the headline estimate) leaves {f.value(head['estimate'], kind)}."
        if share is not None and share > 0:
            text += (f" About {f.pct(share, 0)} of the naive gap therefore reflects whom the retailer targets, "
                     f"households that already shop more, rather than what the campaign did.")
        return text
    text = (f"타깃 가구와 비타깃 가구를 단순 비교하면 캠페인이 가구당 {what}을(를) {f.value(naive['estimate'], kind)} "
            f"늘린 것처럼 보인다.")
    text = text.replace(f"{what}을(를)", ko_particle(what, "을"))
    text += f" 비슷한 가구끼리 비교한 주 추정치로는 {f.value(head['estimate'], kind)}만 남는다."
    if share is not None and share > 0:
        text += (f" 단순 비교 차이의 약 {f.pct(share, 0)}는 캠페인의 효과가 아니라, 원래 더 많이 사는 가구를 타깃으로 "
                 f"고르는 소매업체의 선택을 반영한다.")
    return text


def confidence_paragraph(t2: Track2Facts, lang: str = "en") -> str:
    """The 'how sure are we' paragraph of the Track 2 summary."""
    f, p = Formatter(lang), t2.pos
    lo, hi = t2.population_band(t2.headline_population)
    n_pop = t2.population_n(t2.headline_population)
    outcome = "purchase_amount" if "purchase_amount" in t2.outcomes else t2.outcomes[0]
    unstable = any(t2.unstable(o) for o in t2.outcomes)
    auc = p.get("auc", float("nan"))
    how = "far" if auc >= 0.7 else "partly" if auc >= 0.6 else "close"
    if lang == "en":
        verdict = {"far": "far from random", "partly": "partly predictable", "close": "close to random"}[how]
        text = (f"The comparison is only as good as the overlap between targeted and untargeted households. A model "
                f"predicting who was targeted from past behaviour reaches an AUC of {f.num(auc, 2)}, so targeting "
                f"was {verdict}; the headline estimate uses the {f.int(n_pop)} of {f.int(t2.n_units)} "
                f"household-campaign units whose probability of being targeted lies in [{lo:g}, {hi:g}], where both kinds "
                f"of household exist. {agreement_sentence(t2, outcome, lang)}")
        if unstable:
            text += (" On the full cohort, without trimming, the weighting estimators become unstable and should not be "
                     "used (see the Discussion).")
        text += " The estimate assumes that past purchase behaviour captures everything that drove targeting and also " \
                "affects spending; the Limitations list what it may miss."
        return text
    text = (f"이 비교는 타깃 가구와 비타깃 가구가 얼마나 겹치는지에 달려 있다. 과거 구매 행동으로 타깃 여부를 예측하는 "
            f"모형의 AUC가 {ko_particle(f.num(auc, 2), '이므로')} 타기팅은 "
            f"{ {'far': '무작위와 거리가 멀었다', 'partly': '어느 정도 예측 가능했다', 'close': '무작위에 가까웠다'}[how] }. "
            f"주 추정치는 "
            f"타깃이 될 확률이 [{lo:g}, {hi:g}] 안에 있어 두 종류의 가구가 모두 존재하는 단위, 곧 전체 "
            f"{f.int(t2.n_units)}개 가구-캠페인 단위 가운데 {f.int(n_pop)}개만 사용한다. {agreement_sentence(t2, outcome, lang)}")
    if unstable:
        text += " 절단하지 않은 전체 코호트에서는 가중 추정량이 불안정해 쓸 수 없다(논의 참조)."
    text += (" 이 추정은 과거 구매 행동이 타기팅을 결정하면서 동시에 구매에도 영향을 준 요인을 모두 담고 있다고 가정한다. "
             "무엇을 놓쳤을 수 있는지는 한계 절에 정리했다.")
    return text


def original_comparison_sentence(t2: Track2Facts, lang: str = "en") -> str:
    """This design's overlap and propensity AUC against the original's."""
    f, p, o = Formatter(lang), t2.pos, ORIGINAL
    auc, share = p.get("auc", float("nan")), p.get("overlap_share_0.1_0.9", float("nan"))
    strength = "strongly" if auc >= 0.8 else "moderately" if auc >= 0.7 else "weakly"
    if lang == "en":
        text = (f"Against the original design, {f.pct(share)} of units now lie in the overlap band [0.1, 0.9] instead of "
                f"{f.pct(o['overlap_share_10_90'])}, and the propensity AUC is {f.num(auc, 3)} instead of "
                f"{f.num(o['ps_auc'], 3)}. ")
        text += (f"Targeting still depends {strength} on past behaviour, but the comparison is no longer built to "
                 f"separate the arms." if auc < o["ps_auc"] else
                 "The arms remain as separable as in the original design, so the overlap band carries the analysis.")
        return text
    strength_ko = {"strongly": "강하게", "moderately": "어느 정도", "weakly": "약하게"}[strength]
    text = (f"원 프로젝트의 설계와 비교하면 성향점수 [0.1, 0.9] 구간에 드는 단위가 {f.pct(o['overlap_share_10_90'])}에서 "
            f"{ko_particle(f.pct(share), '으로')} 바뀌었고, 성향점수 AUC는 {f.num(o['ps_auc'], 3)} 대신 "
            f"{ko_particle(f.num(auc, 3), '이다')}. ")
    text += (f"타기팅은 여전히 과거 행동에 {strength_ko} 의존하지만, 비교 설계 자체가 두 집단을 갈라놓지는 않는다."
             if auc < o["ps_auc"] else
             "두 집단은 원 설계만큼 잘 구분되므로 분석은 중첩 구간에 기댈 수밖에 없다.")
    return text


def outcome_window_phrase(params: Mapping, lang: str = "en") -> str:
    """How the outcome window is defined, from the cohort parameters."""
    coh = params.get("cohort", {}) if params else {}
    weeks = coh.get("outcome_post_weeks", 4)
    if coh.get("outcome_window", "campaign_plus_post") == "campaign_plus_post":
        return (f"from the campaign's start to {weeks} weeks after its end" if lang == "en"
                else f"캠페인 시작일부터 종료 {weeks}주 뒤까지")
    return (f"the {weeks} weeks after the campaign's end" if lang == "en" else f"캠페인 종료 다음 날부터 {weeks}주 동안")
