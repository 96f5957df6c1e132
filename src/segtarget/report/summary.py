"""The one-page executive summary (``report/{en,ko}/summary.qmd``): the decision, whom to target, the caveats, the test.

Each function returns the Markdown of one block of the page, in English or Korean, built
from the results files only: :func:`decision` (the recommended action, what it and its
alternatives earn with their 95% CIs, as a sentence and :func:`profit_table`),
:func:`whom` and :func:`segment_table` (the segment recommendations), :func:`caveats`
(what limits the conclusion: the effect's interval and its placebo check, hidden
confounding, the targeting model, the semi-synthetic benchmark), :func:`test` (the A/B test
that would confirm the decision) and :func:`original` (the original project's claim set
against this run). Blocks whose stage has not run return an empty string, so the page
renders at any point of the workflow. :data:`COMPACT` is raw Typst that sets the page's
text a size smaller so it fits one A4 page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.report.escape import md_escape
from segtarget.report.facts import ORIGINAL, has_table, read_params, truthy
from segtarget.report.labels import check_lang, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table
from segtarget.report.track2_cate import model_label
from segtarget.report.track2_checks import headline_ci, refutation_facts, sensitivity_facts
from segtarget.report.track2_decision import ab_rows, covers_zero, decision_facts, group_name, policy_label, share

#: Raw Typst (ignored by HTML): the summary's text a size smaller than the reports', so that
#: the page holds the decision, two tables and the caveats. Print it once, after TYPST_SETUP.
COMPACT = """```{=typst}
#set text(size: 9pt)
#set par(leading: 0.5em)
#set table(inset: (x: 4pt, y: 2.5pt))
#show figure.where(kind: table): set text(size: 0.9em)
#show figure: set block(spacing: 0.8em)
```"""

_NOT_RUN = {"en": "The policy stage has not run yet: there is no decision to summarise.",
            "ko": "정책 단계가 아직 실행되지 않아 요약할 결정이 없다."}


def _campaign_type(res: Results) -> str:
    return str((read_params(res).get("cohort") or {}).get("campaign_type", "A"))


def _ci(f: Formatter, r: pd.Series) -> str:
    return f"{f.money(r['profit'])} {f.ci(r.get('profit_ci_low'), r.get('profit_ci_high'), 'money')}"


def decision(res: Results, lang: str = "en") -> str:
    """The recommended action in bold, then why (breakeven against the effect) and what the alternatives earn."""
    f, en = Formatter(check_lang(lang)), lang == "en"
    d = decision_facts(res)
    if d is None:
        return _NOT_RUN[lang]
    ctype, b = _campaign_type(res), d.best
    if d.targets_nobody:
        lead = (f"**Send no Type {ctype} campaign on the evidence so far: valued on observed outcomes, the best policy is to "
                f"contact no one** (expected profit {_ci(f, b)})." if en else
                f"**지금까지의 근거로는 {ctype}형 캠페인을 보내지 않는다. 관측 성과로 평가하면 가장 좋은 정책은 아무에게도 "
                f"보내지 않는 것이다**(기대 이익 {_ci(f, b)}).")
    else:
        lead = (f"**Send Type {ctype} campaigns by the policy “{policy_label(b['policy'], lang)}”: it contacts "
                f"{f.pct(share(b['pct_targeted']))} of households, with an expected profit of {_ci(f, b)}.**" if en else
                f"**{ctype}형 캠페인을 ‘{policy_label(b['policy'], lang)}’ 정책으로 보낸다. 가구의 "
                f"{f.pct(share(b['pct_targeted']))}에 보내며 기대 이익은 {ko_particle(_ci(f, b), '이다')}.**")
    est, lo, hi = headline_ci(res, d.outcome)
    ate = est if not is_na(est) else d.average_effect
    why = ""
    if not is_na(d.breakeven):
        eff = f"{f.money(ate, 2)}" + (f" (95% CI {f.ci(lo, hi, 'money:2')})" if not is_na(lo) else "")
        eff_ko = f"{f.money(ate, 2)}" + (f"(95% 신뢰구간 {f.ci(lo, hi, 'money:2')})" if not is_na(lo) else "")
        why = (f" A contact costs {f.money(d.cost, 2)} and keeps {f.pct(d.margin, 0)} of the extra sales, so it pays only "
               f"above {f.money(d.breakeven, 2)} of extra purchases per household; the campaign's average effect is {eff}."
               if en else
               f" 접촉 한 번에 {ko_particle(f.money(d.cost, 2), '이')} 들고 추가 매출의 {f.pct(d.margin, 0)}만 남으므로 가구당 "
               f"추가 구매가 {ko_particle(f.money(d.breakeven, 2), '을')} 넘어야 수익이 난다. 캠페인의 평균 효과는 "
               f"{ko_particle(eff_ko, '이다')}.")
    n = f.int(d.n_units) if not is_na(d.n_units) else f.na
    tail = (f" @tbl-summary-policies values the alternatives over the {n} household-campaign units where targeted and "
            f"untargeted households overlap." if en else
            f" 다른 정책의 가치는 타깃 가구와 비타깃 가구가 겹치는 {n}개 가구-캠페인 단위에서 평가했다(@tbl-summary-policies).")
    return lead + why + tail


def profit_table(res: Results, lang: str = "en") -> str:
    """The recommended policy, contacting everyone, current practice and the original's rule: DR profit [CI], plug-in."""
    d = decision_facts(res)
    if d is None:
        return ""
    f, en = Formatter(lang), lang == "en"
    names = [d.best["policy"], "treat_all", "current_practice"]
    if d.original_rule is not None:
        names.append(d.original_rule["policy"])
    rows = [d.row(n) for n in dict.fromkeys(names)]
    rows = [r for r in rows if r is not None]
    df = pd.DataFrame({
        "policy": [policy_label(r["policy"], lang) + ("\u00a0✓" if r["policy"] == d.best["policy"] else "")
                   + ("\u00a0†" if "eligible" in r and not truthy(r["eligible"]) else "") for r in rows],
        "pct": [share(r["pct_targeted"]) for r in rows],
        "profit": [_ci(f, r) for r in rows],
        "plugin": [r.get("plugin_profit", np.nan) for r in rows],
        "pp": [r.get("prob_profit_positive", np.nan) for r in rows],
    })
    hdr = ({"policy": "Policy", "pct": "Contacted", "profit": "Profit, doubly robust [95% CI]",
            "plugin": "Plug-in profit", "pp": "P(profit > 0)"} if en else
           {"policy": "정책", "pct": "발송 비율", "profit": "이중 강건 이익 [95% CI]", "plugin": "플러그인 이익",
            "pp": "P(이익 > 0)"})
    return pipe_table(f, df, formats={"policy": "text", "pct": "pct", "profit": "text", "plugin": "money", "pp": "pct:0"},
                      headers=hdr, caption=("What each policy earns (✓ recommended; † for comparison only: a model whose "
                                            "ranking was not supported)" if en else
                                            "정책별 기대 이익 (✓ 권고, † 비교용: 순위가 뒷받침되지 않은 모형)"),
                      label="tbl-summary-policies")


def whom(res: Results, lang: str = "en") -> str:
    """Which segments and value tiers clear the breakeven (the segment recommendations in two sentences)."""
    if not has_table(res, "segment_recommendations"):
        return ""
    s = res.table("segment_recommendations")
    d = decision_facts(res)
    f, en = Formatter(check_lang(lang)), lang == "en"
    be = f.money(d.breakeven if d is not None else s["breakeven"].iloc[0], 2)
    acts = s["action"].value_counts()
    names = lambda a: join_words([md_escape(group_name(r, lang, True) if en else group_name(r, lang))  # noqa: E731
                                  for _, r in s[s["action"] == a].iterrows()], lang)
    if (s["action"] == "target").any():
        text = (f"Target {names('target')}: the lower end of their 95% CI lies above the breakeven ({be})." if en else
                f"{ko_particle(names('target'), '을')} 타기팅한다. 95% 신뢰구간의 하한이 손익분기({be})보다 높다.")
    elif len(acts) == 1:
        a = label("action", acts.index[0], lang)
        text = (f"No group is shown to clear the breakeven ({be}): all {len(s)} segments and value tiers are marked {a}."
                if en else f"손익분기({be})를 넘는다고 확인된 집단은 없다. 세그먼트와 가치 등급 {len(s)}개가 모두 ‘{a}’이다.")
    else:
        text = (f"No group is shown to clear the breakeven ({be}); " +
                ", ".join(f"{n} marked {label('action', a, lang)}" for a, n in acts.items()) + "." if en else
                f"손익분기({be})를 넘는다고 확인된 집단은 없다. " +
                ", ".join(f"‘{label('action', a, lang)}’ {n}개" for a, n in acts.items()) + ".")
    top = s.sort_values("cate", ascending=False).head(2)
    shown = [f"{md_escape(group_name(r, lang, True) if en else group_name(r, lang))} ({f.money(r['cate'], 2)})" for _, r in top.iterrows()]
    if not (s["action"] == "target").any() and shown:
        text += (f" A test would start where the estimates are highest: {join_words(shown, lang)} "
                 f"(@tbl-summary-segments)." if en else
                 f" 실험은 추정치가 가장 높은 {', '.join(shown)}에서 시작하는 것이 자연스럽다"
                 f"(@tbl-summary-segments).")
    return text


def segment_table(res: Results, lang: str = "en") -> str:
    """Each segment and value tier: units, effect per unit [CI] against the breakeven, action."""
    if not has_table(res, "segment_recommendations"):
        return ""
    s = res.table("segment_recommendations")
    f, en = Formatter(lang), lang == "en"
    df = pd.DataFrame({"group": [group_name(r, lang) for _, r in s.iterrows()], "n": s["n"].to_numpy(),
                       "cate": [f"{f.money(c, 2)} {f.ci(lo, hi, 'money:2')}" for c, lo, hi in
                                zip(s["cate"], s["cate_ci_low"], s["cate_ci_high"])],
                       "action": [label("action", a, lang) for a in s["action"]]})
    hdr = ({"group": "Segment / value tier", "n": "Units", "cate": "Effect per unit [95% CI]", "action": "Action"} if en
           else {"group": "세그먼트 / 가치 등급", "n": "단위 수", "cate": "단위당 효과 [95% CI]", "action": "조치"})
    return pipe_table(f, df, formats={"group": "text", "n": "int", "cate": "text", "action": "text"}, headers=hdr,
                      caption=("Whom to target: effect per unit by segment and value tier" if en else
                               "누구를 타기팅할까: 세그먼트와 가치 등급별 단위당 효과"), label="tbl-summary-segments")


def caveats(res: Results, lang: str = "en") -> list[str]:
    """What limits the conclusion, one plain sentence each, from whichever checks have run."""
    f, en = Formatter(check_lang(lang)), lang == "en"
    d = decision_facts(res)
    outcome = d.outcome if d is not None else "purchase_amount"
    what = label("outcome", outcome, lang)
    out = []
    est, lo, hi = headline_ci(res, outcome)
    p = refutation_facts(res)["placebo_p"].get(outcome) if has_table(res, "refutation") else None
    if not is_na(est):
        zero = covers_zero(lo, hi)
        text = (f"**The effect is uncertain.** The average effect on {what}, {f.money(est, 2)} "
                f"{f.ci(lo, hi, 'money:2')}, " + ("cannot be told apart from zero" if zero else "is above zero") if en else
                f"**효과가 불확실하다.** {what}에 대한 평균 효과 {ko_particle(f.money(est, 2) + ' ' + f.ci(lo, hi, 'money:2'), '은')} "
                + ("0과 구별되지 않는다" if zero else "0보다 크다"))
        if p is not None and not is_na(p):
            text += (f", and it does not stand out from placebo effects (permutation p = {f.p(p)}), although every "
                     f"refutation check passes." if en else
                     f". 반박 검정은 모두 통과했지만 위약 효과들 사이에서 두드러지지 않는다(순열 p = {f.p(p)}).")
        else:
            text += "."
        out.append(text)
    if has_table(res, "sensitivity"):
        s = sensitivity_facts(res, outcome)
        if not is_na(s["e_value"]):
            b = s["bench"]
            strong = [label("covariate_group", g, lang) for g in b.index[b["erases"].astype(bool)]] if "erases" in b else []
            text = (f"**Hidden confounding.** An unmeasured factor tied to targeting and spending by a risk ratio of "
                    f"{f.num(s['e_value'], 2)} (the E-value), or explaining {f.pct(s['rv'])} of their residual variation, "
                    f"would erase the effect" if en else
                    f"**숨은 교란.** 타기팅 및 구매와 위험비 {f.num(s['e_value'], 2)}(E-값) 정도로 연관되거나 잔차 변동의 "
                    f"{f.pct(s['rv'])}를 설명하는 측정되지 않은 요인 하나면 효과가 사라진다")
            if strong:
                text += (f"; observed covariates as strong exist ({join_words(strong, lang)})." if en else
                         f". 이만큼 강한 관측 공변량이 이미 있다({join_words(strong, lang)}).")
            else:
                text += "." if en else "."
            out.append(text)
    if d is not None and d.constant_selected:
        r = d.original_rule
        out.append((f"**No reliable ranking.** No CATE model's ranking of households held up on held-out data, so "
                    f"there is no evidence that some households respond more than others"
                    + (f"; the original's rule on the {model_label('causal_forest', lang).lower()} would earn {_ci(f, r)}."
                       if r is not None else ".")) if en else
                   (f"**믿을 만한 순위가 없다.** 검증 자료에서 가구 순위가 유지된 CATE 모형이 없으므로 어떤 가구가 더 크게 반응한다는 "
                    f"근거가 없다" + (f". 원 프로젝트의 규칙을 {model_label('causal_forest', lang)}에 적용하면 이익은 "
                                      f"{ko_particle(_ci(f, r), '이다')}." if r is not None else ".")))
    val = _validation(res, lang)
    if val:
        out.append(val)
    return out


def _validation(res: Results, lang: str) -> str:
    """The semi-synthetic benchmark in one sentence: the estimator it supports, the headline's error, single draws."""
    try:
        v = res.metric("track2.validation")
    except Exception:  # the semisynthetic stage has not run
        return ""
    f, en = Formatter(lang), lang == "en"
    outcome = next((k for k, x in v.items() if isinstance(x, dict) and "ate_rmse" in x), None)
    if outcome is None:
        return ""
    block, rec = v[outcome], v[outcome].get("ate_recommended")
    pooled = {m: float(np.sqrt(np.mean(np.square([x for x in by.values() if x is not None]))))
              for m, by in block["ate_rmse"].items() if any(x is not None for x in by.values())}
    if rec not in pooled:
        return ""
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    reps = int(v.get("replications", 1) or 1)
    text = (f"**Benchmark.** On simulated data shaped like these, {label('method', rec, lang)} estimated the average effect "
            f"best (pooled RMSE {f.value(pooled[rec], kind)})" if en else
            f"**벤치마크.** 이런 모양의 모의 데이터에서 평균 효과를 가장 잘 추정한 것은 "
            f"{ko_particle(label('method', rec, lang), '이었다')}(통합 RMSE {f.value(pooled[rec], kind)})")
    if "aipw" in pooled and rec != "aipw":
        text += (f"; the headline {label('method', 'aipw', lang)} had {f.value(pooled['aipw'], kind)}" if en else
                 f". 주 추정량인 {label('method', 'aipw', lang)}의 통합 RMSE는 {ko_particle(f.value(pooled['aipw'], kind), '이다')}")
    text += "."
    if reps <= 1:
        text += (f" These are single draws per shape ({reps} replication), with no Monte-Carlo error." if en else
                 f" 형태마다 한 번({reps}회 반복)의 추출값이어서 몬테카를로 오차를 알 수 없다.")
    return text


def test(res: Results, lang: str = "en") -> str:
    """The A/B test that would confirm the decision: the policy it tests, n per arm and weeks, with and without CUPED."""
    plain, cuped = ab_rows(res)
    if plain is None:
        return ""
    f, en = Formatter(check_lang(lang)), lang == "en"
    d = decision_facts(res)
    sized = str(plain["population"]) if "population" in plain else ""
    who = ""
    if d is not None and sized and sized != str(d.best["policy"]):
        who = (f"A randomised holdout within {policy_label(sized, lang).lower()} (the best policy that contacts anyone)"
               if en else f"{policy_label(sized, lang)}(누군가에게 보내는 정책 가운데 가장 나은 정책) 안에서 무작위로 대조군을 "
                          f"떼어 두는 실험")
    elif sized:
        who = (f"A randomised test of {policy_label(sized, lang)}" if en else f"{policy_label(sized, lang)}의 무작위 실험")
    else:
        who = "A randomised test" if en else "무작위 실험"
    wk = lambda r: (f" (about {f.int(r['weeks'])} weeks of eligible households)" if en else  # noqa: E731
                    f"(적격 가구 약 {f.int(r['weeks'])}주 분량)") if "weeks" in r and not is_na(r["weeks"]) else ""
    text = (f"{who}: to detect an effect the size of the breakeven ({f.money(plain['mde'], 2)}) with "
            f"{f.pct(plain['power'], 0)} power at a two-sided {f.pct(plain['alpha'], 0)} level it needs "
            f"{f.int(plain['n_per_arm'])} households per arm{wk(plain)}" if en else
            f"{who}으로 손익분기와 같은 효과({f.money(plain['mde'], 2)})를 양측 {f.pct(plain['alpha'], 0)} 수준, 검정력 "
            f"{f.pct(plain['power'], 0)}로 찾아내려면 집단당 {f.int(plain['n_per_arm'])}가구{wk(plain)}가 필요하다")
    if cuped is not None:
        text += (f", or {f.int(cuped['n_per_arm'])}{wk(cuped)} when each outcome is adjusted for lookback spend (CUPED, "
                 f"ρ = {f.num(cuped['rho'], 2)})" if en else
                 f". 성과를 룩백 구매액으로 보정하면(CUPED, ρ = {f.num(cuped['rho'], 2)}) 집단당 "
                 f"{f.int(cuped['n_per_arm'])}가구{wk(cuped)}면 된다")
    r = cuped if cuped is not None else plain
    if "outcome_weeks" in r and not is_na(r["outcome_weeks"]):
        text += (f"; the outcome window adds {f.num(r['outcome_weeks'], 1)} weeks." if en else
                 f". 결과를 읽기까지 성과 기간 {f.num(r['outcome_weeks'], 1)}주가 더 걸린다.")
    else:
        text += "."
    return text


def original(res: Results, lang: str = "en") -> str:
    """The original project's claim (plug-in) against this run's doubly-robust valuation, in two sentences."""
    f, en, o = Formatter(check_lang(lang)), lang == "en", ORIGINAL
    d = decision_facts(res)
    r = d.original_rule if d is not None else None
    claim = (f"The original project claimed that targeting {f.pct(o['policy_share_targeted'])} of households with the "
             f"causal forest's CATE above the breakeven earns {f.money(o['policy_profit'])} at an ROI of "
             f"{f.pct(o['policy_roi'], 0)}, graded by the forest's own predictions; its own doubly-robust check, on observed "
             f"outcomes, gave {f.money(o['policy_dr_profit'])} and was dropped." if en else
             f"원 프로젝트는 인과 숲의 CATE가 손익분기를 넘는 가구 {ko_particle(f.pct(o['policy_share_targeted']), '을')} "
             f"타기팅하면 이익 {f.money(o['policy_profit'])}, ROI {ko_particle(f.pct(o['policy_roi'], 0), '을')} 얻는다고 "
             f"주장했지만, 이는 인과 숲 자신의 예측으로 매긴 값이었다. 관측 성과로 본 원 프로젝트 자체의 이중 강건 점검은 "
             f"{ko_particle(f.money(o['policy_dr_profit']), '이었고')} 버려졌다.")
    if r is None:
        return claim
    return claim + (f" Here the same rule contacts {f.pct(share(r['pct_targeted']))} of units for {_ci(f, r)} by the "
                    f"doubly-robust estimate (plug-in {f.money(r.get('plugin_profit'))})"
                    + (", an interval that includes zero" if covers_zero(r.get("profit_ci_low"), r.get("profit_ci_high"))
                       else "") + ", on a ranking held-out data do not support." if en else
                    f" 이번 실행에서 같은 규칙은 단위의 {f.pct(share(r['pct_targeted']))}에 보내며, 플러그인 이익은 "
                    f"{f.money(r.get('plugin_profit'))}, 이중 강건 이익은 "
                    + (ko_particle(_ci(f, r), "으로") + " 구간에 0이 들어 있다." if covers_zero(r.get("profit_ci_low"),
                                                                                   r.get("profit_ci_high"))
                       else ko_particle(_ci(f, r), "이다") + ".")
                    + " 그 순위는 검증 자료가 뒷받침하지 않는다.")
