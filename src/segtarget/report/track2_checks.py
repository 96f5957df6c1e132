"""The Track 2 report's refutation and sensitivity section: does the headline estimate survive?

:func:`refutation_section` reads ``refutation.csv`` (the ``refute`` stage): a table of the
four refuters with their pass rules and a plain reading per outcome (what passing shows,
and whether the real estimate stands out from the placebo effects). When
``sensitivity.csv`` exists, :func:`sensitivity_blocks` adds how strong an unmeasured
confounder would have to be to erase the effect: the E-value, econml's robustness value,
and the observed covariate groups as benchmarks (the shift of the estimate when each is left
out, and whether a hidden confounder as strong could move it to zero). The facts shared with
the summary come from :func:`refutation_facts` and :func:`sensitivity_facts`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from segtarget.report.facts import has_table, read_params, truthy
from segtarget.report.labels import CI_LEVEL, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table

REFUTERS = ("placebo_treatment", "random_common_cause", "data_subset", "dummy_outcome")

_RULES_KO = [
    (r"the central (\S+) band of the placebo effects \(treatment permuted within campaign, all nuisances refitted\) "
     r"covers 0( and the real estimate lies outside it)?",
     lambda m: (f"위약 효과(캠페인 안에서 처리를 뒤섞고 모든 보조 모형을 다시 적합)의 가운데 {m[1]} 구간이 0을 포함"
                + (", 그리고 실제 추정치는 그 구간 밖" if m[2] else ""))),
    (r"the mean estimate with an added N\(0,1\) common cause is within (\S+) SE of the real estimate",
     lambda m: f"N(0,1) 공통 원인을 더한 추정치의 평균이 실제 추정치와 표준오차의 {m[1]}배 이내로 차이"),
    (r"the mean estimate on random (\S+)-of-households subsets is within (\S+) SE of the real estimate",
     lambda m: f"가구의 {m[1]}를 무작위로 뽑은 부분표본 추정치의 평균이 실제 추정치와 표준오차의 {m[2]}배 이내로 차이"),
    (r"the central (\S+) band of the effects on a dummy outcome \(outcome permuted within campaign, true effect 0\) "
     r"covers 0",
     lambda m: f"가짜 성과(캠페인 안에서 성과를 뒤섞어 실제 효과가 0)에 대한 효과의 가운데 {m[1]} 구간이 0을 포함"),
]


def pass_rule(rule, lang: str = "en") -> str:
    """A refuter's pass rule (as the refute stage writes it) in the document's language.

    >>> pass_rule("the mean estimate on random 80%-of-households subsets is within 0.5 SE of the real estimate", "ko")
    '가구의 80%를 무작위로 뽑은 부분표본 추정치의 평균이 실제 추정치와 표준오차의 0.5배 이내로 차이'
    """
    text = "" if is_na(rule) else str(rule)
    if lang == "ko":
        for pattern, make in _RULES_KO:
            m = re.fullmatch(pattern, text)
            if m:
                return make(m)
    return text


def _kind(outcome: str) -> str:
    return "money:2" if outcome == "purchase_amount" else "num:2"


def headline_ci(res: Results, outcome: str) -> tuple[float, float, float]:
    """(estimate, ci_low, ci_high) of the headline ATE (AIPW on the headline population) from ate.csv."""
    if not has_table(res, "ate"):
        return np.nan, np.nan, np.nan
    a = res.table("ate")
    try:
        pop = res.metric("track2.ate_headline_population")
    except Exception:  # no metrics: the documented default
        pop = "trimmed"
    r = a[(a["outcome"] == outcome) & (a["method"] == "aipw") & (a["population"] == pop)]
    return (np.nan, np.nan, np.nan) if r.empty else tuple(float(r.iloc[0][c]) for c in ("estimate", "ci_low", "ci_high"))


def refutation_facts(res: Results) -> dict:
    """Counts of passed refutations and the placebo permutation p-value per outcome."""
    t = res.table("refutation")
    passed = t["passed"].map(truthy) if "passed" in t else pd.Series([False] * len(t))
    out = {"n": len(t), "n_passed": int(passed.sum()), "failed": list(zip(t.loc[~passed, "outcome"],
                                                                          t.loc[~passed, "refuter"])), "placebo_p": {}}
    if "real_effect_p_value" in t:
        for _, r in t[t["refuter"] == "placebo_treatment"].iterrows():
            out["placebo_p"][r["outcome"]] = float(r["real_effect_p_value"])
    return out


def _refutation_table(f: Formatter, t: pd.DataFrame, lang: str) -> str:
    en = lang == "en"
    df = pd.DataFrame({"outcome": [label("outcome", o, lang) for o in t["outcome"]],
                       "refuter": [label("refuter", r, lang) for r in t["refuter"]]})
    fmts = {"outcome": "text", "refuter": "text"}
    if "n_simulations" in t:
        df["n"], fmts["n"] = t["n_simulations"].to_numpy(), "int"
    df["estimate"] = [f.value(e, _kind(o)) for e, o in zip(t["estimate"], t["outcome"])]
    band = {"new_effect_low", "new_effect_high"} <= set(t.columns)
    df["new"] = [f"{f.value(r['new_effect'], _kind(r['outcome']))}"
                 + (f" {f.ci(r['new_effect_low'], r['new_effect_high'], _kind(r['outcome']))}" if band else "")
                 for _, r in t.iterrows()]
    df["p"] = t["p_value"].to_numpy()
    df["passed"] = ["✓" if truthy(v) else ("✗ " + f.bool(False)) for v in t["passed"]]
    fmts.update(estimate="text", new="text", p="p", passed="text")
    hdr = ({"outcome": "Outcome", "refuter": "Refuter", "n": "Runs", "estimate": "Real estimate",
            "new": "Simulated effect, mean [95% band]" if band else "Simulated effect", "p": "p (dowhy)", "passed": "Passed"}
           if en else
           {"outcome": "성과", "refuter": "반박 검정", "n": "반복", "estimate": "실제 추정치",
            "new": "모의 효과 평균 [95% 구간]" if band else "모의 효과", "p": "p값 (dowhy)", "passed": "통과"})
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df},
                      caption=("Refutations of the headline estimate, each run refitting the same estimator with all its "
                               "nuisance models" if en else "주 추정치의 반박 검정 (매 반복마다 같은 추정량과 모든 보조 모형을 다시 적합)"),
                      label="tbl-refutation")


def _outcome_reading(f: Formatter, g: pd.DataFrame, lang: str, alpha: float = 1 - CI_LEVEL) -> str:
    """What the refuters say about one outcome, in plain words (``alpha``: when the real estimate stands out)."""
    en, o = lang == "en", str(g["outcome"].iloc[0])
    kind, what = _kind(o), label("outcome", o, lang)
    rows = {r["refuter"]: r for _, r in g.iterrows()}
    ok = [truthy(r["passed"]) for r in rows.values()]
    est = f.value(g["estimate"].iloc[0], kind)
    band = lambda r: f.ci(r.get("new_effect_low"), r.get("new_effect_high"), kind)  # noqa: E731
    if en:
        text = [f"For {what}, " + (f"all {len(ok)} refutations pass." if all(ok) else
                                   f"{sum(ok)} of {len(ok)} refutations pass.")]
    else:
        text = [f"{ko_particle(what, '은')} " + (f"반박 검정 {len(ok)}개를 모두 통과했다." if all(ok) else
                                                f"반박 검정 {len(ok)}개 가운데 {sum(ok)}개를 통과했다.")]
    pl, du = rows.get("placebo_treatment"), rows.get("dummy_outcome")
    if pl is not None and du is not None and truthy(pl["passed"]) and truthy(du["passed"]):
        text.append(f"With the treatment permuted within campaign the placebo effects centre on "
                    f"{f.value(pl['new_effect'], kind)} (95% band {band(pl)}), and on a dummy outcome with no true effect "
                    f"on {f.value(du['new_effect'], kind)} ({band(du)}): the estimator does not make up an effect where "
                    f"there is none." if en else
                    f"캠페인 안에서 처리를 뒤섞으면 위약 효과의 중심은 {f.value(pl['new_effect'], kind)}(95% 구간 {band(pl)}), "
                    f"실제 효과가 없는 가짜 성과에서는 {ko_particle(f.value(du['new_effect'], kind) + f'({band(du)})', '이다')}. 추정량이 없는 효과를 "
                    f"만들어 내지는 않는다.")
    rc, ds = rows.get("random_common_cause"), rows.get("data_subset")
    if rc is not None and ds is not None and truthy(rc["passed"]) and truthy(ds["passed"]) and "shift_se" in rc:
        a, b = f.num(abs(rc["shift_se"]), 2), f.num(abs(ds["shift_se"]), 2)
        text.append(f"An added random common cause moves the estimate by {a} SE and household subsets move it by {b} SE on "
                    f"average: the estimate is stable." if en else
                    f"무작위 공통 원인을 더하면 추정치가 표준오차의 {a}배, 가구 부분표본에서는 평균 {b}배 움직일 뿐이어서 "
                    f"추정치는 안정적이다.")
    for key, r in rows.items():
        if truthy(r["passed"]):
            continue
        text.append(f"{label('refuter', key, lang)} fails: {pass_rule(r.get('pass_rule'), lang) or 'its rule'} does not hold."
                    if en else
                    f"{ko_particle(label('refuter', key, lang), '은')} 통과하지 못했다"
                    + (f"(규칙: {pass_rule(r.get('pass_rule'), lang)})." if r.get("pass_rule") else "."))
    if pl is not None and "real_effect_p_value" in pl and not is_na(pl["real_effect_p_value"]):
        p = float(pl["real_effect_p_value"])
        stands = p < alpha
        text.append((f"The real estimate, {est}, stands out from the placebo effects (permutation p = {f.p(p)})." if stands
                     else f"But the real estimate, {est}, lies among the placebo effects: {f.pct(p, 0)} of them are at "
                          f"least as large (permutation p = {f.p(p)}), so it does not stand out from what a random "
                          f"assignment of the campaign produces.") if en else
                    (f"실제 추정치 {ko_particle(est, '은')} 위약 효과들 사이에서 두드러진다(순열 p = {f.p(p)})." if stands else
                     f"그러나 실제 추정치 {ko_particle(est, '은')} 위약 효과들 사이에 묻힌다. 위약 효과의 {f.pct(p, 0)}가 그만큼 "
                     f"크거나 더 커서(순열 p = {f.p(p)}), 캠페인을 무작위로 배정했을 때 나오는 값과 구별되지 않는다."))
    return " ".join(text)


def refutation_section(res: Results, lang: str) -> list:
    """The refutation table, the pass rules, a reading per outcome and, with sensitivity.csv, the sensitivity blocks."""
    f, en = Formatter(lang), lang == "en"
    t = res.table("refutation")
    n_pass = int(t["passed"].map(truthy).sum()) if "passed" in t else 0
    parts = [(f"Each refuter changes one thing, the treatment, a covariate, the households or the outcome, and refits the "
              f"same estimator as the headline estimate, with all its nuisance models, on the same units; {n_pass} of "
              f"{len(t)} checks pass (@tbl-refutation)." if en else
              f"각 반박 검정은 처리, 공변량, 가구, 성과 가운데 하나를 바꾸고 주 추정치와 같은 추정량을 모든 보조 모형과 함께 같은 "
              f"단위에서 다시 적합한다. 검정 {len(t)}개 가운데 {n_pass}개를 통과했다(@tbl-refutation)."),
             _refutation_table(f, t, lang)]
    if "pass_rule" in t:
        rules = t.drop_duplicates("refuter")
        parts.append(("Pass rules (params.yaml, section refute):" if en else "통과 규칙 (params.yaml의 refute 절):") + "\n\n"
                     + "\n".join(f"- **{label('refuter', r['refuter'], lang)}**: {pass_rule(r['pass_rule'], lang)}."
                                 for _, r in rules.iterrows()))
    level = float((read_params(res).get("refute") or {}).get("level", CI_LEVEL))
    parts.append(" ".join(_outcome_reading(f, g, lang, 1 - level) for _, g in t.groupby("outcome", sort=False)))
    parts.append("Passing shows that the estimator is sound, not that the effect is real, and no refuter can see a "
                 "confounder that was never measured: the sensitivity analysis asks how strong one would have to be."
                 if en else
                 "반박 검정 통과는 추정량이 건전하다는 뜻이지 효과가 진짜라는 뜻은 아니며, 어떤 반박 검정도 측정되지 않은 교란 요인은 "
                 "보지 못한다. 그런 교란 요인이 얼마나 강해야 하는지는 민감도 분석이 답한다.")
    if has_table(res, "sensitivity"):
        parts += sensitivity_blocks(res, lang)
    return parts


# --------------------------------------------------------------------------- sensitivity


def sensitivity_facts(res: Results, outcome: str) -> dict:
    """E-value, robustness values, the benchmark groups and the fragility flag of one outcome."""
    s = res.table("sensitivity")
    s = s[s["outcome"] == outcome]
    one = {(m, q): v for m, q, v, g in zip(s["method"], s["quantity"], s["value"], s["covariate_group"]) if is_na(g)}
    bench = s[s["method"] == "loco_benchmark"].pivot_table(index="covariate_group", columns="quantity", values="value",
                                                           sort=False)
    theta = one.get(("linear_dml_ovb", "theta"), np.nan)
    if len(bench) and {"dml_theta_low_if_as_strong", "dml_theta_high_if_as_strong"} <= set(bench.columns):
        lo, hi = bench["dml_theta_low_if_as_strong"], bench["dml_theta_high_if_as_strong"]
        bench["erases"] = (lo <= 0) & (hi >= 0)
        if {"dml_ci_low_if_as_strong", "dml_ci_high_if_as_strong"} <= set(bench.columns):
            bench["erases_ci"] = (bench["dml_ci_low_if_as_strong"] <= 0) & (bench["dml_ci_high_if_as_strong"] >= 0)
    if "shift" in bench:
        bench = bench.reindex(bench["shift"].abs().sort_values(ascending=False).index)
    get = lambda m, q: one.get((m, q), np.nan)  # noqa: E731
    return {"e_value": get("e_value", "e_value"), "e_value_ci": get("e_value", "e_value_ci"), "smd": get("e_value", "smd"),
            "rr": get("e_value", "rr"), "rv": get("linear_dml_ovb", "robustness_value_theta"),
            "rv_ci": get("linear_dml_ovb", "robustness_value_ci"), "theta": theta,
            "theta_ci": (get("linear_dml_ovb", "ci_low"), get("linear_dml_ovb", "ci_high")),
            "fragile": get("summary", "fragile"), "bench": bench}


def _group(g: str, lang: str) -> str:
    return label("covariate_group", g, lang)


def _sens_table(f: Formatter, res: Results, outcomes: list[str], lang: str) -> str:
    en, rows = lang == "en", []
    for o in outcomes:
        s = sensitivity_facts(res, o)
        est, lo, hi = headline_ci(res, o)
        b = s["bench"]
        erase = int(b["erases"].sum()) if "erases" in b else None
        top = (f"{_group(b.index[0], lang)}: {f.value(b['shift'].iloc[0], _kind(o))}" if "shift" in b and len(b) else f.na)
        rows.append({"outcome": label("outcome", o, lang),
                     "est": f"{f.value(est, _kind(o))} {f.ci(lo, hi, _kind(o))}" if not is_na(est) else f.na,
                     "e": f"{f.num(s['e_value'], 2)} / {f.num(s['e_value_ci'], 2)}",
                     "rv": f"{f.pct(s['rv'])} / {f.pct(s['rv_ci'])}", "top": top,
                     "erase": f"{erase} / {len(b)}" if erase is not None else f.na,
                     "fragile": f.bool(truthy(s["fragile"])) if not is_na(s["fragile"]) else f.na})
    hdr = ({"outcome": "Outcome", "est": "Headline estimate [95% CI]", "e": "E-value (estimate / CI)",
            "rv": "Robustness value (estimate / CI)", "top": "Largest shift from leaving a group out",
            "erase": "Groups as strong that erase it", "fragile": "Fragile"} if en else
           {"outcome": "성과", "est": "주 추정치 [95% CI]", "e": "E-값 (추정치 / 구간)", "rv": "강건성 값 (추정치 / 구간)",
            "top": "공변량 묶음을 뺄 때 가장 큰 변화", "erase": "같은 강도면 효과를 지우는 묶음", "fragile": "취약"})
    return pipe_table(f, pd.DataFrame(rows), formats={k: "text" for k in hdr}, headers=hdr,
                      caption=("How strong hidden confounding would need to be" if en else
                               "숨은 교란이 얼마나 강해야 하는가"), label="tbl-sensitivity")


def _bench_table(f: Formatter, s: dict, outcome: str, lang: str) -> str:
    en, b, kind = lang == "en", s["bench"], _kind(outcome)
    df = pd.DataFrame({"group": [_group(g, lang) for g in b.index]})
    fmts = {"group": "text"}
    for col, key, fm in (("estimate_without", "without", "text"), ("shift", "shift", "text")):
        if col in b:
            df[key] = [f.value(v, kind) for v in b[col]]
            fmts[key] = fm
    for col in ("c_y", "c_t"):
        if col in b:
            df[col], fmts[col] = b[col].to_numpy(), "pct"
    if {"dml_theta_low_if_as_strong", "dml_theta_high_if_as_strong"} <= set(b.columns):
        df["range"] = [f.ci(lo, hi, kind) for lo, hi in zip(b["dml_theta_low_if_as_strong"], b["dml_theta_high_if_as_strong"])]
        df["erases"] = [f.bool(bool(v)) for v in b["erases"]]
        fmts.update(range="text", erases="text")
    hdr = ({"group": "Covariate group", "without": "Estimate without it", "shift": "Shift", "c_y": "c_y (outcome)",
            "c_t": "c_t (treatment)", "range": "LinearDML bounds, confounder as strong", "erases": "Reaches 0"} if en else
           {"group": "공변량 묶음", "without": "뺐을 때 추정치", "shift": "변화", "c_y": "c_y (성과)", "c_t": "c_t (처리)",
            "range": "같은 강도 교란 시 LinearDML 범위", "erases": "0 도달"})
    what = label("outcome", outcome, lang)
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df},
                      caption=(f"Observed covariate groups as benchmarks ({what}): the estimate without each group, its "
                               f"strength (shares of residual variation of outcome and treatment it explains) and where a "
                               f"hidden confounder as strong could move the LinearDML estimate" if en else
                               f"관측 공변량 묶음을 기준으로 본 민감도 ({what}): 묶음을 뺐을 때의 추정치, 묶음의 강도(성과와 처리의 "
                               f"잔차 변동 가운데 설명하는 비율), 같은 강도의 숨은 교란이 LinearDML 추정치를 옮길 수 있는 범위"),
                      label="tbl-sensitivity-benchmark")


def sensitivity_sentences(res: Results, outcome: str, lang: str) -> str:
    """E-value, robustness value and the benchmark reading for one outcome."""
    f, en, s = Formatter(lang), lang == "en", sensitivity_facts(res, outcome)
    kind, what = _kind(outcome), label("outcome", outcome, lang)
    out = []
    if not is_na(s["e_value"]):
        ci_zero = not is_na(s["e_value_ci"]) and s["e_value_ci"] <= 1
        out.append((f"For {what} the estimate is d = {f.num(s['smd'], 3)} standard deviations of the outcome, a risk ratio "
                    f"of {f.num(s['rr'], 3)}, and its E-value is {f.num(s['e_value'], 2)}: an unmeasured confounder "
                    f"associated with both targeting and {what} by a risk ratio of {f.num(s['e_value'], 2)} each, beyond "
                    f"the measured covariates, could explain it away."
                    + (" For the confidence interval the E-value is 1: it already includes zero, so no confounding at all "
                       "is needed to make the effect indistinguishable from none." if ci_zero else
                       f" For the confidence interval it is {f.num(s['e_value_ci'], 2)}.")) if en else
                   (f"{ko_particle(what, '은')} 추정치가 성과 표준편차의 d = {f.num(s['smd'], 3)}배, 위험비로는 "
                    f"{ko_particle(f.num(s['rr'], 3), '이고')} E-값은 {ko_particle(f.num(s['e_value'], 2), '이다')}. 측정된 "
                    f"공변량 외에 타기팅과 {what} 양쪽과 위험비 {f.num(s['e_value'], 2)} 정도로 연관된 숨은 교란 요인 하나면 이 "
                    f"효과를 모두 설명할 수 있다는 뜻이다."
                    + (" 신뢰구간의 E-값은 1이다. 구간이 이미 0을 포함하므로 교란이 전혀 없어도 효과를 0과 구별할 수 없다."
                       if ci_zero else f" 신뢰구간의 E-값은 {ko_particle(f.num(s['e_value_ci'], 2), '이다')}.")))
    if not is_na(s["rv"]):
        theta = f"{f.value(s['theta'], kind)} {f.ci(*s['theta_ci'], kind)}"
        out.append((f"econml's omitted-variable-bias analysis of the LinearDML estimate ({theta}) says the same in another "
                    f"currency: a confounder explaining {f.pct(s['rv'])} of the residual variation of both the outcome and "
                    f"the treatment would bring the estimate to zero (its robustness value); "
                    + ("for the interval it is zero, since the interval already includes zero." if s["rv_ci"] == 0 else
                       f"for the interval the robustness value is {f.pct(s['rv_ci'])}.")) if en else
                   (f"LinearDML 추정치({theta})에 대한 econml의 누락 변수 편향 분석도 같은 결론을 다른 척도로 보여 준다. 성과와 처리의 "
                    f"잔차 변동을 각각 {f.pct(s['rv'])}만 설명하는 교란 요인이면 추정치가 0이 된다(강건성 값). "
                    + ("구간은 이미 0을 포함하므로 구간의 강건성 값은 0이다." if s["rv_ci"] == 0 else
                       f"구간의 강건성 값은 {ko_particle(f.pct(s['rv_ci']), '이다')}.")))
    b = s["bench"]
    if "shift" in b and len(b):
        strong = [_group(g, lang) for g in b.index[b["erases"].astype(bool)]] if "erases" in b else []
        top, g0 = f.value(abs(b["shift"].iloc[0]), kind), _group(b.index[0], lang)
        if en:
            text = (f"How strong is that? Leaving each group of observed covariates out in turn moves the estimate by up to "
                    f"{top} (leaving out {g0}); ")
            text += (f"{len(strong)} of {len(b)} groups ({join_words(strong, lang)}) {'is' if len(strong) == 1 else 'are'} "
                     f"strong enough that a hidden "
                     f"confounder as strong as any of them could move the LinearDML estimate to zero." if strong else
                     f"none of the {len(b)} groups is strong enough that a hidden confounder as strong could move the "
                     f"LinearDML estimate to zero.")
        else:
            text = (f"그 정도면 얼마나 강한가? 관측 공변량 묶음을 하나씩 빼 보면 추정치가 최대 {top} 움직인다({g0} 묶음). ")
            text += (f"{len(b)}개 묶음 가운데 {len(strong)}개({join_words(strong, lang)})는 그만큼 강한 숨은 교란 요인이 "
                     f"LinearDML 추정치를 0으로 옮길 수 있을 정도다." if strong else
                     f"{len(b)}개 묶음 가운데 그만큼 강한 숨은 교란 요인이 LinearDML 추정치를 0으로 옮길 수 있는 묶음은 없다.")
        out.append(text)
    if not is_na(s["fragile"]):
        out.append(("The estimate is therefore fragile: the confounding needed to erase it is no stronger than covariates "
                    "we already observe." if truthy(s["fragile"]) else
                    "By these measures the estimate is not fragile.") if en else
                   ("따라서 추정치는 취약하다. 효과를 지우는 데 필요한 교란은 이미 관측한 공변량보다 강하지 않다." if truthy(s["fragile"])
                    else "이 기준으로 보면 추정치는 취약하지 않다."))
    return " ".join(out)


def sensitivity_blocks(res: Results, lang: str) -> list:
    """The sensitivity subsection: heading, method, readings, the summary and benchmark tables."""
    f, en = Formatter(lang), lang == "en"
    s = res.table("sensitivity")
    outcomes = list(dict.fromkeys(s["outcome"]))
    pol = (read_params(res).get("policy") or {}).get("outcome", "purchase_amount")
    main = pol if pol in outcomes else outcomes[0]
    parts = ["### " + ("Sensitivity to hidden confounding" if en else "숨은 교란에 대한 민감도"),
             ("Two measures say how strong an unmeasured confounder would have to be to erase the effect (@tbl-sensitivity). "
              "The E-value (VanderWeele and Ding) converts the estimate to a risk ratio (d = effect / standard deviation of "
              "the outcome, RR = exp(0.91 d)) and asks how strongly a confounder would have to be tied to both targeting "
              "and the outcome to explain it away. The robustness value (Chernozhukov et al., econml) is the share of the "
              "residual variation of both outcome and treatment a confounder would have to explain to bring the LinearDML "
              "estimate to zero. Neither means much alone, so the observed covariate groups serve as yardsticks "
              "(@tbl-sensitivity-benchmark): how far the estimate moves when each is left out, and whether a hidden "
              "confounder as strong as it could erase the effect." if en else
              "측정되지 않은 교란 요인이 효과를 지우려면 얼마나 강해야 하는지 두 척도로 본다(@tbl-sensitivity). E-값(VanderWeele와 "
              "Ding)은 추정치를 위험비로 바꾸고(d = 효과 / 성과 표준편차, RR = exp(0.91 d)), 교란 요인이 타기팅과 성과 양쪽에 얼마나 "
              "강하게 연관되어야 효과를 설명해 버리는지 묻는다. 강건성 값(Chernozhukov 등, econml)은 LinearDML 추정치를 0으로 만들려면 "
              "교란 요인이 성과와 처리의 잔차 변동을 각각 얼마나 설명해야 하는지를 비율로 나타낸다. 두 값만으로는 크고 작음을 판단하기 "
              "어려우므로 관측 공변량 묶음을 잣대로 삼는다(@tbl-sensitivity-benchmark). 각 묶음을 뺐을 때 추정치가 얼마나 움직이는지, "
              "그만큼 강한 숨은 교란 요인이 효과를 지울 수 있는지를 본다."),
             _sens_table(f, res, outcomes, lang),
             sensitivity_sentences(res, main, lang),
             _bench_table(f, sensitivity_facts(res, main), main, lang)]
    return parts
