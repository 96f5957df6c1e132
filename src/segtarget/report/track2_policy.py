"""The Track 2 report's targeting sections: policies and their value, segments, the original's claims, the A/B test.

:func:`policy_section` (the ``policy`` stage) explains how a policy is valued, states the
decision (:mod:`segtarget.report.track2_decision`), gives the policy comparison table
(doubly-robust profit with its CI beside the plug-in profit), reads the ROI curve, the
policy tree and the cost x margin grid, the segment recommendations, and sets this run
against the original project's claims; :func:`ab_section` (the ``ab_test`` stage) gives
the A/B test that would confirm the decision. Both return a list of Markdown blocks and
:class:`~segtarget.report.facts.FigureRef` figures, in reading order.
"""

from __future__ import annotations

import pandas as pd

from segtarget.report.facts import ORIGINAL, FigureRef, has_table, truthy
from segtarget.report.labels import covariate_label, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table
from segtarget.report.track2_cate import model_label
from segtarget.report.track2_list import contact_list
from segtarget.report.track2_decision import (
    Decision,
    ab_rows,
    ab_sentence,
    covers_zero,
    decision_facts,
    fallback_reason,
    group_name,
    original_comparison,
    policy_label,
    recommendation,
    segment_sentence,
    share,
)


def _ci(f: Formatter, r, col: str = "profit", kind: str = "money") -> str:
    if f"{col}_ci_low" not in r:
        return f.value(r[col], kind)
    return f"{f.value(r[col], kind)} {f.ci(r[f'{col}_ci_low'], r[f'{col}_ci_high'], kind)}"


def _population_phrase(d: Decision, f: Formatter) -> str:
    en = f.lang == "en"
    if is_na(d.n_units):
        return "the population's units" if en else "모집단의 단위"
    n = f.int(d.n_units)
    if d.population == "overlap":
        return (f"the {n} units in the overlap band, where the doubly-robust scores can be trusted" if en else
                f"이중 강건 점수를 믿을 수 있는 중첩 구간의 {n}개 단위")
    return f"the {n} units" if en else f"{n}개 단위"


def _intro(d: Decision, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    boot = d.metrics.get("n_bootstrap") or (d.params.get("policy", {}) or {}).get("n_bootstrap")
    boot_en = f"{f.int(boot)} household-bootstrap resamples" if boot else "a household bootstrap"
    boot_ko = f"가구 부트스트랩 {f.int(boot)}회" if boot else "가구 부트스트랩"
    if en:
        return ("Each policy decides, unit by unit, whether to send the campaign. Whatever a policy learns from the data (a "
                "model's ranking, a budget, the policy tree) is learned on training folds and applied to the held-out fold, "
                "so no unit is judged by a rule fitted on its own outcome. A policy's incremental sales are the sum of the "
                "doubly-robust scores of the units it contacts (each an estimate of that unit's effect built from "
                "cross-fitted outcome and propensity models); profit = margin × incremental sales − cost × contacts and "
                f"ROI = profit / cost, with 95% intervals from {boot_en}. Beside it, the plug-in profit sums the model's own "
                "predicted effects instead, the way the original project valued its policies; the gap between the two is "
                f"the model's optimism. Profits are totals over {_population_phrase(d, f)}.")
    return ("각 정책은 단위마다 캠페인을 보낼지 정한다. 정책이 데이터에서 배우는 것(모형의 순위, 예산, 정책 트리)은 모두 학습 폴드에서 "
            "배워 검증 폴드에 적용하므로, 어떤 단위도 자신의 성과로 맞춘 규칙으로 평가받지 않는다. 정책의 추가 매출은 정책이 보내는 "
            "단위들의 이중 강건 점수(교차적합한 결과·성향점수 모형으로 만든 단위별 효과 추정치)의 합이다. 이익 = 마진 × 추가 매출 − "
            f"비용 × 접촉 수, ROI = 이익 / 비용이며, 95% 구간은 {boot_ko} 재표본으로 구했다. 그 옆의 플러그인 이익은 점수 대신 "
            "모형 자신의 예측 효과를 더한 값으로, 원 프로젝트가 정책을 평가한 방식이다. 두 값의 차이가 모형의 낙관 편향이다. 이익은 "
            f"{_population_phrase(d, f)}에 대한 합계다.")


def policy_table(d: Decision, lang: str) -> str:
    """The policies (budgets left to the ROI curve): DR profit [CI] beside the plug-in, ROI, P(profit > 0)."""
    f, en = Formatter(lang), lang == "en"
    t = d.table[~d.table["policy"].astype(str).str.fullmatch(r"top_[\d.]+pct")]
    names = []
    for _, r in t.iterrows():
        name = policy_label(r["policy"], lang)
        if r["policy"] == d.best["policy"]:
            name += "\u00a0✓"
        if "eligible" in r and not truthy(r["eligible"]):
            name += "\u00a0†"
        names.append(name)
    df = pd.DataFrame({"policy": names, "pct": [share(p) for p in t["pct_targeted"]],
                       "profit": [_ci(f, r) for _, r in t.iterrows()]})
    fmts = {"policy": "text", "pct": "pct", "profit": "text"}
    if "plugin_profit" in t:
        df["plugin"], fmts["plugin"] = t["plugin_profit"].to_numpy(), "money"
    df["roi"], fmts["roi"] = t["roi"].to_numpy(), "pct:0"
    if "prob_profit_positive" in t:
        df["pp"], fmts["pp"] = t["prob_profit_positive"].to_numpy(), "pct:0"
    hdr = ({"policy": "Policy", "pct": "Contacted", "profit": "DR profit [95% CI]", "plugin": "Plug-in profit",
            "roi": "ROI (DR)", "pp": "P(profit > 0)"} if en else
           {"policy": "정책", "pct": "발송 비율", "profit": "이중 강건 이익 [95% CI]", "plugin": "플러그인 이익",
            "roi": "ROI (이중 강건)", "pp": "P(이익 > 0)"})
    cap = ("Policies valued on held-out folds: doubly-robust profit beside the model's own plug-in figure (✓ recommended; "
           "† shown for comparison, never recommended: it ranks by a model that was not selected or, with the constant "
           "effect selected, picks a random share). Budgets are in the ROI curve." if en else
           "검증 폴드에서 평가한 정책: 이중 강건 이익과 모형 자체의 플러그인 이익 (✓ 권고 정책, † 비교용으로만 보이며 권고하지 "
           "않음: 선택되지 않은 모형의 순위를 따르거나, 상수 효과가 선택되어 무작위로 일부를 고름). 예산별 결과는 ROI 곡선에 있다.")
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df}, caption=cap,
                      label="tbl-policy")


def _ranking_label(ranking: str, lang: str) -> str:
    if ranking.startswith("random"):
        return "a random order (the constant effect was selected)" if lang == "en" else "무작위 순서(상수 효과가 선택됨)"
    return model_label(ranking, lang)


def roi_paragraph(res: Results, d: Decision, lang: str) -> str:
    """Where the DR profit peaks along the ROI curve of each ranking, and what the plug-in curve says."""
    if not has_table(res, "roi_curve"):
        return ""
    r = res.table("roi_curve")
    if "population" in r and d.population and (r["population"] == d.population).any():
        r = r[r["population"] == d.population]
    r = r[r["pct_targeted"] > 0]
    if r.empty:
        return ""
    f, en = Formatter(lang), lang == "en"
    out = []
    groups = list(r.groupby("ranking", sort=False)) if "ranking" in r else [("", r)]
    if "selected_model" in r:
        groups.sort(key=lambda g: not truthy(g[1]["selected_model"].iloc[0]))
    for i, (ranking, g) in enumerate(groups):
        top = g.sort_values(["profit", "pct_targeted"], ascending=[False, True]).iloc[0]
        peak = _ci(f, top)
        zero = covers_zero(top.get("profit_ci_low"), top.get("profit_ci_high"))
        who = _ranking_label(str(ranking), lang) if ranking else ""
        if en:
            text = (f"{'Along the curve' if i == 0 else 'Ranking instead'}{' by ' + who if who else ''}, the doubly-robust "
                    f"profit peaks when {f.pct(share(top['pct_targeted']), 0)} of units are contacted: {peak}"
                    + (", an interval that includes zero." if zero else "."))
        else:
            text = (f"{who + ' 기준 ' if who else ''}곡선에서 이중 강건 이익은 단위의 {f.pct(share(top['pct_targeted']), 0)}에 "
                    f"보낼 때 {ko_particle(peak, '으로')} 가장 크다" + ("(구간에 0이 들어 있다)." if zero else "."))
        if "plugin_profit" in g:
            best_plug = g.sort_values("plugin_profit", ascending=False).iloc[0]
            if best_plug["plugin_profit"] <= 0:
                text += (" The plug-in curve never rises above zero." if en else " 플러그인 곡선은 0 위로 올라가지 않는다.")
            else:
                text += (f" The plug-in curve peaks at {f.pct(share(best_plug['pct_targeted']), 0)} with "
                         f"{f.money(best_plug['plugin_profit'])}." if en else
                         f" 플러그인 곡선은 {f.pct(share(best_plug['pct_targeted']), 0)}에서 "
                         f"{ko_particle(f.money(best_plug['plugin_profit']), '으로')} 가장 높다.")
        out.append(text)
    return " ".join(out)


def tree_sentence(d: Decision, lang: str) -> str:
    r = d.row("policy_tree")
    if r is None:
        return ""
    f, en = Formatter(lang), lang == "en"
    pol = d.params.get("policy", {}) or {}
    covs = join_words([covariate_label(c, lang) for c in pol.get("tree_covariates", [])], lang)
    depth = pol.get("tree_depth")
    if en:
        return (f"The doubly-robust policy tree{f' (depth {depth})' if depth else ''}"
                f"{' on ' + covs if covs else ''}, fitted on the other folds for each fold, contacts "
                f"{f.pct(share(r['pct_targeted']))} of units; its doubly-robust profit is {_ci(f, r)}.")
    return (f"{ko_particle(covs, '으로') + ' 만든 ' if covs else ''}이중 강건 정책 트리{f'(깊이 {depth})' if depth else ''}는 폴드마다 다른 폴드에서 "
            f"적합했으며 단위의 {f.pct(share(r['pct_targeted']))}에 보낸다. 이중 강건 이익은 {ko_particle(_ci(f, r), '이다')}.")


def cost_margin_paragraph(res: Results, d: Decision, lang: str) -> str:
    """How the best policy changes over the cost x margin grid."""
    if not has_table(res, "cost_margin_sensitivity"):
        return ""
    g = res.table("cost_margin_sensitivity")
    if g.empty:
        return ""
    f, en = Formatter(lang), lang == "en"
    costs = join_words([f.money(c, 2) for c in sorted(g["cost"].unique())], lang)
    margins = join_words([f.pct(m, 0) for m in sorted(g["margin"].unique())], lang)
    k = int((g["best_policy"] == d.best["policy"]).sum())
    base = policy_label(d.best["policy"], lang)
    if en:
        text = (f"Across the {len(g)} combinations of cost per contact ({costs}) and margin ({margins}), "
                f"“{base}” is the best policy in {k}.")
    else:
        text = (f"접촉 비용({costs})과 마진({margins})의 조합 {len(g)}개 가운데 {k}개에서 "
                f"{ko_particle('‘' + base + '’', '이')} 가장 좋은 정책이다.")
    other = g[g["best_policy"] != d.best["policy"]]
    if len(other):
        items = []
        for _, r in other.iterrows():
            ci = f"{f.money(r['profit'])} {f.ci(r['profit_ci_low'], r['profit_ci_high'], 'money')}"
            items.append((f"“{policy_label(r['best_policy'], lang)}”" if en else f"‘{policy_label(r['best_policy'], lang)}’")
                         + " "
                         + (f"at cost {f.money(r['cost'], 2)} and margin {f.pct(r['margin'], 0)} (breakeven "
                            f"{f.money(r['breakeven'], 2)}), with {ci}" if en else
                            f"(비용 {f.money(r['cost'], 2)}, 마진 {f.pct(r['margin'], 0)}, 손익분기 {f.money(r['breakeven'], 2)}: "
                            f"{ci})"))
        zero = all(covers_zero(lo, hi) for lo, hi in zip(other["profit_ci_low"], other["profit_ci_high"]))
        text += (f" Elsewhere the best is {'; '.join(items)}" + ("; every such interval includes zero." if zero else ".")
                 if en else f" 나머지는 {', '.join(items)}" + ("이며, 이 구간들은 모두 0을 포함한다." if zero else "이다."))
        ate = d.average_effect
        if not is_na(ate) and "breakeven" in other and (other["breakeven"] < ate).all():
            text += (f" Contacting pays only where the breakeven falls below the average effect of about {f.money(ate, 2)}: "
                     f"the decision follows from the effect being small, not from the exact cost or margin assumed." if en else
                     f" 손익분기가 평균 효과(약 {f.money(ate, 2)})보다 낮을 때만 발송이 수익을 낸다. 결론은 비용이나 마진 가정이 "
                     f"아니라 효과가 작다는 데서 나온다.")
    return text


def segment_table(res: Results, lang: str) -> str:
    s = res.table("segment_recommendations")
    f, en = Formatter(lang), lang == "en"
    df = pd.DataFrame({"group": [group_name(r, lang) for _, r in s.iterrows()], "n": s["n"].to_numpy()})
    fmts = {"group": "text", "n": "int"}
    if "share_of_units" in s:
        df["share"], fmts["share"] = s["share_of_units"].to_numpy(), "pct"
    df["cate"] = [_ci(f, r, "cate", "money:2") for _, r in s.iterrows()]
    fmts["cate"] = "text"
    if "dr_profit_if_targeted" in s:
        df["profit"] = [f"{f.money(p)} {f.ci(lo, hi, 'money')}" for p, lo, hi in
                        zip(s["dr_profit_if_targeted"], s["dr_profit_ci_low"], s["dr_profit_ci_high"])]
        fmts["profit"] = "text"
    df["action"] = [label("action", a, lang) for a in s["action"]]
    fmts["action"] = "text"
    hdr = ({"group": "Segment / value tier", "n": "Units", "share": "Share", "cate": "Effect per unit [95% CI]",
            "profit": "DR profit if contacted [95% CI]", "action": "Action"} if en else
           {"group": "세그먼트 / 가치 등급", "n": "단위 수", "share": "비중", "cate": "단위당 효과 [95% CI]",
            "profit": "발송 시 이중 강건 이익 [95% CI]", "action": "조치"})
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df},
                      caption=("Recommendations by segment and value tier (segments from lookback-window features; "
                               "doubly-robust effects with household-bootstrap intervals)" if en else
                               "세그먼트와 가치 등급별 권고 (룩백 기간 특성으로 정한 세그먼트, 가구 부트스트랩 구간의 이중 강건 효과)"),
                      label="tbl-segment-recommendations")


def original_table(d: Decision, lang: str) -> str:
    """The original's claim, the same rule on this run's forest, and the recommendation, side by side."""
    f, en, o = Formatter(lang), lang == "en", ORIGINAL
    r, b = d.original_rule, d.best
    cols = {"what": [], "orig": [], "same": [], "rec": []}

    def add(what, orig, same, rec):
        for k, v in zip(cols, (what, orig, same, rec)):
            cols[k].append(v)

    units = f.int(d.n_units) if not is_na(d.n_units) else f.na
    pct = lambda x: f.pct(share(x))  # noqa: E731
    add("Policy" if en else "정책", policy_label("cate_gt_breakeven@causal_forest", lang),
        policy_label(r["policy"], lang) if r is not None else f.na, policy_label(b["policy"], lang))
    add("Contacted" if en else "발송 비율",
        f"{f.pct(o['policy_share_targeted'])} of {f.int(o['policy_households'])}" if en else
        f"{f.int(o['policy_households'])}가구 중 {f.pct(o['policy_share_targeted'])}",
        (f"{pct(r['pct_targeted'])} of {units}" if en else f"{units}개 중 {pct(r['pct_targeted'])}") if r is not None else f.na,
        f"{pct(b['pct_targeted'])} of {units}" if en else f"{units}개 중 {pct(b['pct_targeted'])}")
    add("Profit, plug-in (as reported)" if en else "플러그인 이익 (보고 방식)", f.money(o["policy_profit"]),
        f.money(r.get("plugin_profit")) if r is not None else f.na, f.money(b.get("plugin_profit", float("nan"))))
    add("Profit, doubly robust [95% CI]" if en else "이중 강건 이익 [95% CI]",
        f"{f.money(o['policy_dr_profit'])} ({'discarded' if en else '폐기됨'})",
        _ci(f, r) if r is not None else f.na, _ci(f, b))
    add("ROI" if en else "ROI", f"{f.pct(o['policy_roi'], 0)} ({'plug-in' if en else '플러그인'})",
        f"{f.pct(r['roi'], 0)} ({'DR' if en else '이중 강건'})" if r is not None else f.na,
        f.pct(b["roi"], 0) if "roi" in b else f.na)
    df = pd.DataFrame(cols)
    hdr = ({"what": "", "orig": "Original project (claimed)", "same": "Same rule, this run", "rec": "Recommended here"}
           if en else {"what": "", "orig": "원 프로젝트 (주장)", "same": "같은 규칙, 이번 실행", "rec": "이번 권고"})
    return pipe_table(f, df, formats={c: "text" for c in df}, headers=hdr,
                      caption=("The original project's targeting claim against this run" if en else
                               "원 프로젝트의 타기팅 주장과 이번 실행"), label="tbl-original-policy")


def _fig_caps(lang: str) -> dict[str, str]:
    en = lang == "en"
    return {
        "policy_comparison": ("Doubly-robust profit of each policy with its 95% CI, beside the plug-in figure" if en else
                              "정책별 이중 강건 이익과 95% 신뢰구간, 플러그인 수치 비교"),
        "roi_curve": ("Profit by share contacted: doubly-robust estimate with its 95% band against the plug-in curve" if en
                      else "발송 비율별 이익: 이중 강건 추정치와 95% 구간, 플러그인 곡선"),
        "policy_tree": "The doubly-robust policy tree" if en else "이중 강건 정책 트리",
        "cost_margin_heatmap": ("Best policy and its doubly-robust profit in each cost × margin cell" if en else
                                "비용 × 마진 조합별 최선 정책과 이중 강건 이익"),
        "segment_effects": ("Doubly-robust effect per segment and value tier against the breakeven" if en else
                            "세그먼트와 가치 등급별 이중 강건 효과와 손익분기"),
    }


def policy_section(res: Results, lang: str) -> list:
    """The targeting-policy section: Markdown blocks and figures in reading order."""
    d = decision_facts(res)
    if d is None:
        return []
    en, caps = lang == "en", _fig_caps(lang)
    fig = lambda stem: FigureRef(f"policy/{stem}", caps[stem])  # noqa: E731
    parts: list = [_intro(d, lang), recommendation(d, lang)]
    parts.append(fallback_reason(d, lang))
    parts.append(("@tbl-policy lists every policy." if en else "@tbl-policy 에 모든 정책을 정리했다."))
    parts += [policy_table(d, lang), fig("policy_comparison"), roi_paragraph(res, d, lang), fig("roi_curve"),
              tree_sentence(d, lang), fig("policy_tree"), cost_margin_paragraph(res, d, lang), fig("cost_margin_heatmap")]
    if has_table(res, "segment_recommendations"):
        parts += ["### " + ("Segment recommendations" if en else "세그먼트별 권고"),
                  ("Every unit is placed in a segment and value tier of the first report from its lookback-window features only, so "
                   "no post-campaign behaviour decides its group (@tbl-segment-recommendations). " if en else
                   "모든 단위는 룩백 기간의 특성만으로 첫 번째 보고서의 세그먼트와 가치 등급에 배정했으므로 캠페인 이후의 행동이 집단을 "
                   "정하지 않는다(@tbl-segment-recommendations). ") + segment_sentence(res, d, lang),
                  segment_table(res, lang), fig("segment_effects")]
    listed = contact_list(res, lang)
    if listed:
        parts += ["### " + ("Who to contact next" if en else "다음에 연락할 가구"), listed]
    parts += ["### " + ("Against the original project's claims" if en else "원 프로젝트의 주장과 비교"),
              original_comparison(d, lang) + (" @tbl-original-policy sets the figures side by side." if en else
                                              " 수치는 @tbl-original-policy 에 나란히 정리했다."),
              original_table(d, lang)]
    return [p for p in parts if p]


def ab_section(res: Results, lang: str) -> list:
    """The A/B test that would confirm the decision: the sentence and the design table."""
    plain, cuped = ab_rows(res)
    if plain is None:
        return []
    f, en = Formatter(lang), lang == "en"
    rows = [r for r in (plain, cuped) if r is not None]
    df = pd.DataFrame({"design": [("CUPED" if r.get("variance_reduction") == "cuped" else ("Plain" if en else "보정 없음"))
                                  for r in rows],
                       "mde": [r["mde"] for r in rows], "sigma": [r["sigma"] for r in rows]})
    fmts = {"design": "text", "mde": "money:2", "sigma": "money:0"}
    if cuped is not None:
        df["rho"], fmts["rho"] = [r.get("rho") for r in rows], "num:2"
    df["n"], fmts["n"] = [r["n_per_arm"] for r in rows], "int"
    if "n_total" in plain:
        df["total"], fmts["total"] = [r["n_total"] for r in rows], "int"
    if "weeks" in plain:
        df["weeks"], fmts["weeks"] = [r["weeks"] for r in rows], "int"
    hdr = ({"design": "Design", "mde": "Minimum detectable effect", "sigma": "Outcome SD", "rho": "ρ (lookback spend)",
            "n": "Households per arm", "total": "Total", "weeks": "Weeks to enrol"} if en else
           {"design": "설계", "mde": "최소 검출 효과", "sigma": "성과 표준편차", "rho": "ρ (룩백 구매액)",
            "n": "집단당 가구 수", "total": "전체", "weeks": "모집 기간(주)"})
    cap = (f"A/B test design (two-sided α = {f.pct(plain['alpha'], 0)}, power {f.pct(plain['power'], 0)})" if en else
           f"A/B 테스트 설계 (양측 α = {f.pct(plain['alpha'], 0)}, 검정력 {f.pct(plain['power'], 0)})")
    intro = ("A policy valued on observational data is a hypothesis; a randomised test confirms it (@tbl-ab). " if en else
             "관찰 데이터로 평가한 정책은 가설일 뿐이며, 무작위 실험으로 확인해야 한다(@tbl-ab). ")
    return [intro + ab_sentence(res, decision_facts(res), lang),
            pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df}, caption=cap, label="tbl-ab")]
