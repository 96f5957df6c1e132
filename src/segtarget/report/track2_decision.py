"""The targeting decision as the policy stage left it: facts and sentences shared by Track 2 and the summary.

:func:`decision_facts` reads ``policy_comparison.csv`` (and the ``track2.policy`` metrics
block when there is one) into a :class:`Decision`: the policies valued on the headline
population, the recommended one (the eligible policy with the highest doubly-robust
profit), cost, margin and breakeven. The sentences built from it, in English and Korean:
:func:`recommendation` (what to do and what the alternatives would earn),
:func:`fallback_reason` (why the CATE rules collapse when no model's ranking is supported),
:func:`original_comparison` (the original project's claims against this run),
:func:`ab_sentence` and :func:`ab_short` (the test that would confirm the decision) and
:func:`segment_sentence` (whom the segment recommendations point at). Every number comes
from the results files; :func:`policy_label` names a policy of the table.

Conventions of the policy tables: ``pct_targeted`` is a percentage (0-100), ``roi`` a
ratio (profit / cost), profits are totals over the population's units in dollars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segtarget.report.escape import md_escape
from segtarget.report.facts import ORIGINAL, has_table, read_params, truthy
from segtarget.report.labels import covariate_label, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.track2_cate import model_label

_POLICY_NAMES = {
    "treat_none": ("Contact no one", "아무에게도 보내지 않음"),
    "treat_all": ("Contact everyone", "모두에게 보냄"),
    "current_practice": ("Current practice", "현행 방식"),
    "cate_gt_0": ("CATE > 0", "CATE > 0"),
    "cate_gt_breakeven": ("CATE > breakeven", "CATE > 손익분기"),
    "risk_adjusted": ("Risk-adjusted (lower bound > breakeven)", "위험 조정 (하한 > 손익분기)"),
    "best_budget_cv": ("Budget chosen on training folds", "학습 폴드에서 고른 예산"),
    "policy_tree": ("DR policy tree", "DR 정책 트리"),
}


def policy_label(name, lang: str = "en") -> str:
    """Display name of a policy of ``policy_comparison.csv``.

    >>> policy_label("top_25pct"), policy_label("cate_gt_breakeven@causal_forest", "ko")
    ('Top 25%', 'CATE > 손익분기 (인과 숲)')
    """
    base, _, model = str(name).partition("@")
    i = 1 if lang == "ko" else 0
    m = re.fullmatch(r"top_(\d+(?:\.\d+)?)pct", base)
    if m:
        text = f"상위 {m.group(1)}%" if i else f"Top {m.group(1)}%"
    else:
        text = _POLICY_NAMES.get(base, (base.replace("_", " "),) * 2)[i]
    return f"{text} ({model_label(model, lang)})" if model else text


def share(pct) -> float:
    """``pct_targeted`` (a percentage) as a fraction for :meth:`Formatter.pct`."""
    return float("nan") if is_na(pct) else float(pct) / 100


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def covers_zero(lo, hi) -> bool:
    return not (is_na(lo) or is_na(hi)) and lo <= 0 <= hi


@dataclass
class Decision:
    """The policies on the headline population and the recommended one."""

    outcome: str
    population: str | None
    table: pd.DataFrame
    best: pd.Series
    cost: float
    margin: float
    breakeven: float
    selected_model: str | None
    constant_selected: bool
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def row(self, policy: str) -> pd.Series | None:
        hit = self.table[self.table["policy"] == policy]
        return None if hit.empty else hit.iloc[0]

    @property
    def n_units(self) -> float:
        return _num(self.table["n_units"].iloc[0]) if "n_units" in self.table else float("nan")

    @property
    def average_effect(self) -> float:
        """The doubly-robust average effect per unit on the population (treat-all incremental sales per unit)."""
        r = self.row("treat_all")
        return _num(r["incremental_sales_per_unit"]) if r is not None and "incremental_sales_per_unit" in r else float("nan")

    @property
    def original_rule(self) -> pd.Series | None:
        """The original's rule (CATE > breakeven) on a comparison model, the causal forest if there is one."""
        rows = self.table[self.table["policy"].astype(str).str.startswith("cate_gt_breakeven@")]
        if rows.empty:
            return None
        forest = rows[rows["policy"].astype(str).str.endswith("@causal_forest")]
        return (forest if len(forest) else rows).iloc[0]

    @property
    def targets_nobody(self) -> bool:
        return _num(self.best.get("n_targeted", np.nan)) == 0


def _eligible(t: pd.DataFrame) -> pd.DataFrame:
    return t[t["eligible"].map(truthy)] if "eligible" in t else t


def decision_facts(res: Results) -> Decision | None:
    """The decision from ``policy_comparison.csv`` (None when the policy stage has not run)."""
    if not has_table(res, "policy_comparison"):
        return None
    t = res.table("policy_comparison")
    params = read_params(res)
    pol = params.get("policy", {}) or {}
    try:
        m = res.metric("track2.policy")
    except Exception:  # no metrics file or no policy block: the table alone
        m = {}
    outcome = str(m.get("outcome") or pol.get("outcome") or (t["outcome"].iloc[0] if "outcome" in t else "purchase_amount"))
    if "outcome" in t:
        t = t[t["outcome"] == outcome] if (t["outcome"] == outcome).any() else t
    population = None
    if "population" in t:
        population = str(m.get("population") or pol.get("population") or t["population"].iloc[0])
        t = t[t["population"] == population] if (t["population"] == population).any() else t
    t = t.reset_index(drop=True)
    best_name = m.get("best_policy")
    if best_name in set(t["policy"]):
        best = t[t["policy"] == best_name].iloc[0]
    else:
        e = _eligible(t)
        e = e if len(e) else t
        order = e.assign(_n=e["n_targeted"] if "n_targeted" in e else 0).sort_values(
            ["profit", "_n"], ascending=[False, True], kind="stable")
        best = order.iloc[0].drop("_n")

    def first(col, key, default):
        if col in t and t[col].notna().any():
            return _num(t[col].dropna().iloc[0])
        return _num(m.get(key, pol.get(key, default)))

    cost = first("cost_per_contact", "cost_per_contact", np.nan)
    margin = first("margin", "margin", np.nan)
    be = first("breakeven", "breakeven", cost / margin if margin else np.nan)
    selected = m.get("selected_model")
    constant = bool(m.get("constant_selected", selected == "constant"))
    return Decision(outcome, population, t, best, cost, margin, be, selected, constant, m, params)


# --------------------------------------------------------------------------- sentences


def _profit(f: Formatter, r: pd.Series) -> str:
    ci = (f" (95% CI {f.ci(r['profit_ci_low'], r['profit_ci_high'], 'money')})" if f.lang == "en" else
          f"(95% 신뢰구간 {f.ci(r['profit_ci_low'], r['profit_ci_high'], 'money')})")
    return f.money(r["profit"]) + (ci if "profit_ci_low" in r else "")


def recommendation(d: Decision, lang: str = "en") -> str:
    """What to do, by doubly-robust profit, and what contacting everyone and current practice would earn."""
    f, en = Formatter(lang), lang == "en"
    b, be = d.best, f.money(d.breakeven, 2)
    parts = []
    if d.targets_nobody:
        parts.append("Valued on held-out folds with doubly-robust scores, the best policy is to contact no one."
                     if en else "검증 폴드에서 이중 강건 점수로 평가하면 가장 좋은 정책은 아무에게도 캠페인을 보내지 않는 것이다.")
    else:
        roi = (f", a return on cost of {f.pct(b['roi'], 0)}" if en else f", 비용 대비 수익률 {f.pct(b['roi'], 0)}") \
            if "roi" in b and not is_na(b["roi"]) else ""
        if en:
            text = (f"Valued on held-out folds with doubly-robust scores, the best policy is {policy_label(b['policy'], lang)}: "
                    f"it contacts {f.pct(share(b['pct_targeted']))} of units and earns {_profit(f, b)}{roi}.")
            if "plugin_profit" in b:
                text += f" The model's own (plug-in) figure for it is {f.money(b['plugin_profit'])}."
            if covers_zero(b.get("profit_ci_low"), b.get("profit_ci_high")):
                text += " The interval includes zero, so even this policy is not shown to pay."
        else:
            text = (f"검증 폴드에서 이중 강건 점수로 평가하면 가장 좋은 정책은 {ko_particle(policy_label(b['policy'], lang), '이다')}. "
                    f"단위의 {f.pct(share(b['pct_targeted']))}에 보내며 이익은 {ko_particle(_profit(f, b) + roi, '이다')}.")
            if "plugin_profit" in b:
                text += f" 모형 자체의 예측으로 계산한(플러그인) 이익은 {ko_particle(f.money(b['plugin_profit']), '이다')}."
            if covers_zero(b.get("profit_ci_low"), b.get("profit_ci_high")):
                text += " 구간에 0이 들어 있으므로 이 정책도 수익이 난다고 보이지는 못한다."
        parts.append(text)
    if not is_na(d.cost) and not is_na(d.margin):
        ate = d.average_effect
        parts.append(
            (f"A contact costs {f.money(d.cost, 2)} and keeps {f.pct(d.margin, 0)} of the extra sales it causes, so it "
             f"pays only if it raises a household's purchases by more than {be}, the breakeven"
             + (f"; the average effect on these units is {f.money(ate, 2)}." if not is_na(ate) else "."))
            if en else
            (f"접촉 한 번의 비용은 {ko_particle(f.money(d.cost, 2), '이고')} 캠페인이 만든 추가 매출의 {f.pct(d.margin, 0)}만 "
             f"이익으로 남으므로, 가구의 구매를 손익분기인 {be}보다 많이 늘려야 수익이 난다"
             + (f". 이 단위들의 평균 효과는 {ko_particle(f.money(ate, 2), '이다')}." if not is_na(ate) else ".")))
    alt = []
    for name in ("treat_all", "current_practice"):
        r = d.row(name)
        if r is None or name == b["policy"]:
            continue
        pp = r.get("prob_profit_positive", np.nan)
        if en:
            who = ("Contacting everyone" if name == "treat_all" else
                   f"Current practice (the {f.pct(share(r['pct_targeted']))} of units actually targeted)")
            text = f"{who} would earn {_profit(f, r)}"
            if not is_na(pp):
                text += f", positive in {f.pct(pp, 0)} of household-bootstrap resamples"
        else:
            who = ("모두에게 보낼 때의 이익은" if name == "treat_all" else
                   f"현행 방식(실제로 타깃이 된 {f.pct(share(r['pct_targeted']))}의 단위)의 이익은")
            text = (f"{who} {ko_particle(_profit(f, r), '으로')} 가구 부트스트랩 재표본의 {f.pct(pp, 0)}에서 양수다"
                    if not is_na(pp) else f"{who} {ko_particle(_profit(f, r), '이다')}")
        alt.append(text)
    if alt:
        parts.append(". ".join(alt) + ".")
    return " ".join(parts)


def fallback_reason(d: Decision, lang: str = "en") -> str:
    """Why the CATE rules contact everyone or no one when the constant effect was selected (else empty)."""
    if not d.constant_selected:
        return ""
    f, en = Formatter(lang), lang == "en"
    ate = d.average_effect
    below = not is_na(ate) and ate < d.breakeven
    if en:
        text = ("No CATE model passed the selection rule fixed before the policy was looked at, so every unit carries the "
                "same predicted effect, the average effect estimated on the other folds"
                + (f" (about {f.money(ate, 2)})" if not is_na(ate) else "") + ". ")
        text += ("It lies below the breakeven, so the rule CATE > breakeven contacts no one and CATE > 0 contacts everyone. "
                 if below else "It lies above the breakeven, so the breakeven rule contacts everyone. ")
        return text + ("The top-k% budgets then pick random shares of the units: they are shown for reference, never "
                       "recommended, and their ups and downs along the curve are noise.")
    text = ("정책을 보기 전에 정해 둔 선택 규칙을 통과한 CATE 모형이 없으므로, 모든 단위의 예측 효과는 다른 폴드에서 추정한 평균 "
            "효과" + (f"(약 {f.money(ate, 2)})" if not is_na(ate) else "") + "로 같다. ")
    text += ("이 값이 손익분기보다 작으므로 ‘CATE > 손익분기’ 규칙은 아무에게도 보내지 않고 ‘CATE > 0’ 규칙은 모두에게 보낸다. "
             if below else "이 값이 손익분기보다 크므로 손익분기 규칙은 모두에게 보낸다. ")
    return text + ("상위 k% 예산 정책은 결국 단위를 무작위로 고르는 셈이어서 참고로만 보이며 권고하지 않는다. 곡선의 오르내림은 "
                   "잡음이다.")


def original_comparison(d: Decision, lang: str = "en") -> str:
    """The original project's claims (plug-in) against this run's doubly-robust valuation."""
    f, en, o = Formatter(lang), lang == "en", ORIGINAL
    r = d.original_rule
    if en:
        text = (f"The original project applied the same breakeven ({f.money(o['policy_cost'], 2)} / "
                f"{f.pct(o['policy_margin'], 0)} = {f.money(o['policy_breakeven'], 2)}) to its causal forest and reported "
                f"{f.pct(o['policy_share_targeted'])} of {f.int(o['policy_households'])} test households targeted, a profit "
                f"of {f.money(o['policy_profit'])} and an ROI of {f.pct(o['policy_roi'], 0)}. Those were plug-in figures: "
                f"the forest's own predicted effects summed over the households it picked, so the model graded itself and a "
                f"model that overstates effects looks profitable by construction. The project's own doubly-robust check, "
                f"which values a policy by observed outcomes, put the same policy at {f.money(o['policy_dr_profit'])} and "
                f"was dropped.")
        if r is not None:
            text += (f" The same rule on this run's causal forest contacts {f.pct(share(r['pct_targeted']))} of units, with "
                     f"a plug-in profit of {f.money(r.get('plugin_profit'))} and a doubly-robust profit of {_profit(f, r)}"
                     + (", an interval that includes zero" if covers_zero(r.get("profit_ci_low"), r.get("profit_ci_high"))
                        else "") + ".")
            if "eligible" in r and not truthy(r["eligible"]):
                text += (" The forest is not the selected model (its ranking of households is not supported on held-out "
                         "data), so this policy is shown for comparison, not recommended.")
        text += (" Here every policy is valued by observed outcomes on held-out folds, with an interval, and a model may "
                 "steer targeting only if held-out data support its ranking: that is why the answer differs.")
        return text
    text = (f"원 프로젝트는 같은 손익분기({f.money(o['policy_cost'], 2)} / {f.pct(o['policy_margin'], 0)} = "
            f"{f.money(o['policy_breakeven'], 2)})를 인과 숲 예측에 적용해, 시험 가구 {f.int(o['policy_households'])}곳의 "
            f"{ko_particle(f.pct(o['policy_share_targeted']), '을')} 타기팅하면 이익 {f.money(o['policy_profit'])}, ROI "
            f"{ko_particle(f.pct(o['policy_roi'], 0), '이라고')} 보고했다. 이는 플러그인 수치, 곧 인과 숲이 고른 가구에 대해 "
            f"인과 숲 자신의 예측 효과를 더한 값이다. 모형이 스스로를 채점한 셈이어서, 효과를 부풀리는 모형일수록 수익성이 좋아 "
            f"보인다. 관측된 성과로 정책을 평가하는 원 프로젝트 자체의 이중 강건 점검은 같은 정책을 "
            f"{ko_particle(f.money(o['policy_dr_profit']), '으로')} 평가했지만 버려졌다.")
    if r is not None:
        text += (f" 이번 실행의 인과 숲에 같은 규칙을 적용하면 단위의 {f.pct(share(r['pct_targeted']))}에 보내며, 플러그인 이익은 "
                 f"{f.money(r.get('plugin_profit'))}, 이중 강건 이익은 "
                 + (ko_particle(_profit(f, r), "으로") + " 구간에 0이 들어 있다."
                    if covers_zero(r.get("profit_ci_low"), r.get("profit_ci_high")) else ko_particle(_profit(f, r), "이다") + "."))
        if "eligible" in r and not truthy(r["eligible"]):
            text += " 인과 숲은 선택된 모형이 아니므로(검증 자료가 가구 순위를 뒷받침하지 않는다) 이 정책은 비교용일 뿐 권고하지 않는다."
    text += (" 여기서는 모든 정책을 검증 폴드의 관측 성과로 구간과 함께 평가하고, 검증 자료가 순위를 뒷받침하는 모형만 타기팅에 "
             "쓴다. 결론이 다른 이유가 여기에 있다.")
    return text


def ab_rows(res: Results) -> tuple[pd.Series | None, pd.Series | None]:
    """(the plain design, the CUPED design) of ``ab_test_design.csv`` (None where absent)."""
    if not has_table(res, "ab_test_design"):
        return None, None
    t = res.table("ab_test_design")
    if t.empty:
        return None, None
    if "variance_reduction" not in t:
        return t.iloc[0], None
    plain = t[t["variance_reduction"] != "cuped"]
    cuped = t[t["variance_reduction"] == "cuped"]
    return (plain.iloc[0] if len(plain) else None), (cuped.iloc[0] if len(cuped) else None)


def ab_sentence(res: Results, d: Decision | None, lang: str = "en") -> str:
    """The A/B test that would confirm the decision: n per arm, weeks, and the same with CUPED."""
    plain, cuped = ab_rows(res)
    if plain is None:
        return ""
    f, en = Formatter(lang), lang == "en"
    sized = str(plain.get("population", "")) if "population" in plain else ""
    parts = []
    if d is not None and sized and sized != str(d.best["policy"]):
        parts.append(
            (f"The recommended policy contacts no one, so the test is sized for {policy_label(sized, lang).lower()}, the best "
             f"policy that contacts anyone, as a randomised holdout among the households it would contact." if en else
             f"권고 정책은 아무에게도 보내지 않으므로, 실험은 누군가에게 보내는 정책 가운데 가장 나은 "
             f"{ko_particle(policy_label(sized, lang), '을')} 기준으로, 이 정책이 보낼 가구 안에서 무작위로 대조군을 떼어 두는 "
             f"방식으로 설계했다.")
            if d.targets_nobody else
            (f"The test is sized for {policy_label(sized, lang)}." if en else
             f"실험은 {ko_particle(policy_label(sized, lang), '을')} 기준으로 설계했다."))

    def weeks(r, rate: bool = True) -> str:
        if "weeks" not in r or is_na(r["weeks"]):
            return ""
        per = f.num(r["eligible_per_week"], 0) if "eligible_per_week" in r else f.na
        if en:
            return f", about {f.int(r['weeks'])} weeks of eligible households" + (f" at about {per} a week" if rate else "")
        return (f" 적격 가구가 주당 약 {per}가구씩 생기므로 모집에 약 {f.int(r['weeks'])}주가 걸린다." if rate else
                f" 모집 기간도 약 {f.int(r['weeks'])}주로 줄어든다.")

    two = "two-sided " if en else "양측 "
    total = f" ({f.int(plain['n_total'])} in all)" if en and "n_total" in plain else (
        f"(전체 {f.int(plain['n_total'])}가구)" if "n_total" in plain else "")
    parts.append(
        (f"To detect an effect the size of the breakeven, {f.money(plain['mde'], 2)} per household, against an outcome "
         f"standard deviation of {f.money(plain['sigma'], 0)} among comparable controls, with {f.pct(plain['power'], 0)} "
         f"power at a {two}{f.pct(plain['alpha'], 0)} significance level, it needs {f.int(plain['n_per_arm'])} households "
         f"per arm{total}{weeks(plain)}." if en else
         f"손익분기와 같은 크기의 효과(가구당 {f.money(plain['mde'], 2)})를, 비교 가능한 대조군의 성과 표준편차 "
         f"{f.money(plain['sigma'], 0)} 아래에서 {two}유의수준 {f.pct(plain['alpha'], 0)}, 검정력 {f.pct(plain['power'], 0)}로 "
         f"찾아내려면 집단당 {f.int(plain['n_per_arm'])}가구{total}가 필요하다.{weeks(plain)}"))
    if cuped is not None:
        spend = covariate_label(str((d.params.get("policy", {}) if d else {}).get("ab_spend_covariate", "monetary_sales_per_week")),
                                lang)
        rho = _num(cuped.get("rho"))
        parts.append(
            (f"Adjusting each household's outcome for its lookback {spend} (CUPED; correlation ρ = {f.num(rho, 2)} between "
             f"the outcome and lookback {spend} among the same controls) removes {f.pct(rho ** 2, 0)} of the variance: "
             f"{f.int(cuped['n_per_arm'])} households per arm{weeks(cuped, False)}." if en else
             f"각 가구의 성과를 룩백 기간의 {ko_particle(spend, '으로')} 보정하면(CUPED, 같은 대조군에서 성과와 룩백 "
             f"{spend}의 상관 ρ = {f.num(rho, 2)}) 분산의 {f.pct(rho ** 2, 0)}가 줄어 집단당 "
             f"{f.int(cuped['n_per_arm'])}가구면 된다.{weeks(cuped, False)}"))
    r = cuped if cuped is not None else plain
    if "outcome_weeks" in r and not is_na(r["outcome_weeks"]):
        parts.append(f"The outcome window adds {f.num(r['outcome_weeks'], 1)} weeks before the result can be read." if en
                     else f"결과를 읽으려면 여기에 성과 기간 {f.num(r['outcome_weeks'], 1)}주가 더 걸린다.")
    return " ".join(parts)


def ab_short(res: Results, lang: str = "en") -> str:
    """The A/B test's size in one sentence (households per arm, and with CUPED)."""
    plain, cuped = ab_rows(res)
    if plain is None:
        return ""
    f, en = Formatter(lang), lang == "en"
    n = f.int(plain["n_per_arm"])
    if cuped is None:
        return (f"A randomised test that would settle it needs {n} households per arm." if en else
                f"이를 가릴 무작위 실험에는 집단당 {n}가구가 필요하다.")
    return (f"A randomised test that would settle it needs {n} households per arm, or {f.int(cuped['n_per_arm'])} with CUPED "
            f"variance reduction (see the A/B test section)." if en else
            f"이를 가릴 무작위 실험에는 집단당 {n}가구, CUPED 분산 축소를 쓰면 {f.int(cuped['n_per_arm'])}가구가 필요하다"
            f"(A/B 테스트 절 참조).")


def segment_sentence(res: Results, d: Decision | None, lang: str = "en") -> str:
    """The rule behind the segment actions, how many groups fall under each, and the highest estimates."""
    if not has_table(res, "segment_recommendations"):
        return ""
    s = res.table("segment_recommendations")
    f, en = Formatter(lang), lang == "en"
    be = d.breakeven if d is not None else (_num(s["breakeven"].iloc[0]) if "breakeven" in s else np.nan)
    parts = [(f"A group is marked target when the lower end of its 95% CI lies above the breakeven ({f.money(be, 2)}), do "
              f"not target when the upper end lies at or below it, and test first otherwise." if en else
              f"95% 신뢰구간의 하한이 손익분기({f.money(be, 2)})보다 높으면 타기팅, 상한이 손익분기 이하이면 타기팅 안 함, 그 밖에는 "
              f"먼저 실험으로 표시한다.")]
    groups = s["group"] if "group" in s else pd.Series(["segment"] * len(s), index=s.index)
    counts = []
    for g, name_en, name_ko in (("segment", "segments", "세그먼트"), ("value_tier", "value tiers", "가치 등급")):
        sub = s[groups == g]
        if sub.empty:
            continue
        items = [(a, int(n)) for a, n in sub["action"].value_counts().items()]
        if len(items) == 1:
            a = label("action", items[0][0], lang)
            counts.append(f"all {len(sub)} {name_en} are marked {a}" if en else f"{name_ko} {len(sub)}개는 모두 ‘{a}’")
        elif en:
            counts.append(f"of the {len(sub)} {name_en}, " + ", ".join(f"{n} {label('action', a, lang)}" for a, n in items))
        else:
            counts.append(f"{name_ko} {len(sub)}개 가운데 " + ", ".join(f"‘{label('action', a, lang)}’ {n}개" for a, n in items))
    if counts:
        parts.append(("By that rule, " + "; ".join(counts) + ".") if en else ("이 규칙에 따라 " + ", ".join(counts) + "이다."))
    if (s["action"] == "target").any():
        names = [md_escape(_group_name(r, lang)) for _, r in s[s["action"] == "target"].iterrows()]
        parts.append(f"Target: {', '.join(names)}." if en else f"타기팅 대상: {', '.join(names)}.")
    elif len(s):
        top = s.sort_values("cate", ascending=False).head(2)
        shown = [f"{md_escape(_group_name(r, lang, True))} ({f.money(r['cate'], 2)} {f.ci(r['cate_ci_low'], r['cate_ci_high'], 'money:2')})"
                 for _, r in top.iterrows()]
        parts.append((f"No group is shown to clear the breakeven; the highest estimates are those of {' and '.join(shown)}, "
                      f"the natural place to start a test." if en else
                      f"손익분기를 넘는다고 확인된 집단은 없다. 추정치가 가장 높은 집단은 {ko_particle(', '.join(shown), '이며')}, 실험을 시작하기에 "
                      f"자연스러운 곳이다."))
    return " ".join(parts)


def _group_name(r: pd.Series, lang: str, article: bool = False) -> str:
    if str(r.get("group", "segment")) == "value_tier":
        tier = label("tier", r["segment"], lang)
        return (f"{'the ' if article else ''}{tier} value tier" if lang == "en" else f"{tier} 등급")
    name = r.get("segment_name_ko" if lang == "ko" else "segment_name", "")
    name = "" if is_na(name) else str(name)
    return (name or (f"segment {r['segment']}" if lang == "en" else f"세그먼트 {r['segment']}"))


def group_name(r: pd.Series, lang: str = "en", article: bool = False) -> str:
    """A segment's name (or ``High value tier``, ``the High value tier``) in the document's language."""
    return _group_name(r, lang, article)
