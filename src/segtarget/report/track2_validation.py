"""The Track 2 report's semi-synthetic benchmark: which estimator deserves trust on data shaped like these.

:func:`semisynthetic_section` reads ``semisynthetic_summary.csv`` (the gather step of the
``semisynthetic`` stage, one row per shape and estimator) and the ``track2.validation``
metrics block: how the benchmark was built, a warning when it rests on a single draw per
shape (no Monte-Carlo standard error), the average-effect estimators (bias, RMSE, CI
coverage; the one the benchmark supports marked), the CATE learners (PEHE, rank correlation
with the true effect, DR-AUUC against the oracle's) and the selection rule (what it chose
and the regret of its breakeven policy against the oracle), then the figure. With only the
per-replication ``semisynthetic.csv`` it falls back to one table of means (:func:`raw_section`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.report.facts import FigureRef, has_table, read_params
from segtarget.report.labels import covariate_label, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table
from segtarget.report.track2_cate import CONSTANT, model_label

#: Estimators the benchmark's ATE recommendation leaves out (they estimate something else or nothing adjusted).
NOT_RECOMMENDABLE = ("naive", "ato")


def raw_section(res: Results, lang: str) -> str:
    """Means over replications from semisynthetic.csv alone (before the gather step's summary exists)."""
    f, en = Formatter(lang), lang == "en"
    t = res.table("semisynthetic")
    t = t.assign(bias=t["ate_est"] - t["ate_true"]) if {"ate_est", "ate_true"} <= set(t.columns) else t
    agg = {c: "mean" for c in ("bias", "pehe", "ci_covered", "policy_regret") if c in t}
    g = t.groupby(["dgp", "model"], sort=True).agg(agg).reset_index()
    if "bias" in t:
        g["rmse"] = t.groupby(["dgp", "model"], sort=True)["bias"].apply(lambda x: float(np.sqrt(np.mean(x ** 2)))).values
    g["dgp"] = [label("dgp", d, lang) for d in g["dgp"]]
    g["model"] = [label("method", m, lang) if m in ("naive", "ols", "ra", "ipw", "aipw", "ato") else model_label(m, lang)
                  for m in g["model"]]
    n_rep = int(t["replication"].nunique()) if "replication" in t else 1
    text = (f"Outcomes were simulated with a known effect on the real covariates and treatment assignment and every "
            f"estimator was rerun ({n_rep} replications per shape; @tbl-semisynthetic)." if en else
            f"실제 공변량과 처리 배정은 그대로 두고 효과를 알고 있는 결과를 시뮬레이션해 모든 추정량을 다시 돌렸다"
            f"(형태마다 {n_rep}회 반복, @tbl-semisynthetic).")
    hdr = ({"dgp": "Shape", "model": "Estimator", "bias": "ATE bias", "rmse": "ATE RMSE", "pehe": "PEHE",
            "ci_covered": "CI coverage", "policy_regret": "Policy regret"} if en else
           {"dgp": "효과 형태", "model": "추정량", "bias": "ATE 편향", "rmse": "ATE RMSE", "pehe": "PEHE",
            "ci_covered": "구간 포함률", "policy_regret": "정책 후회"})
    fm = {"dgp": "text", "model": "text", "bias": "num:2", "rmse": "num:2", "pehe": "num:2", "ci_covered": "pct",
          "policy_regret": "num:2"}
    return text + "\n\n" + pipe_table(f, g, formats={k: v for k, v in fm.items() if k in g},
                                   headers={k: v for k, v in hdr.items() if k in g},
                                   caption=("Semi-synthetic validation, mean over replications" if en
                                            else "준합성 검증 (반복 평균)"), label="tbl-semisynthetic")


def _metrics(res: Results) -> dict:
    try:
        return res.metric("track2.validation")
    except Exception:  # no metrics file or no validation block: the table alone
        return {}


def _shape_desc(shape: str, sem: dict, lang: str) -> str:
    en = lang == "en"
    covs = {"linear": sem.get("linear_covariates", []), "nonlinear": sem.get("nonlinear_covariates", [])}.get(shape, [])
    words = (join_words([covariate_label(c, lang) for c in covs], lang) if en else
             "·".join(covariate_label(c, lang) for c in covs))
    if shape == "constant":
        return "constant" if en else "상수"
    if shape in ("linear", "nonlinear") and words:
        return ((f"linear in {words}" if shape == "linear" else f"non-linear in {words}") if en else
                (f"{words}에 선형" if shape == "linear" else f"{words}에 비선형"))
    return label("dgp", shape, lang)


def _recommended(ate: pd.DataFrame, m: dict) -> str | None:
    rec = m.get("ate_recommended")
    if rec in set(ate["model"]):
        return rec
    ok = ate[~ate["model"].isin(NOT_RECOMMENDABLE)]
    if ok.empty:
        return None
    pooled = ok.groupby("model")["rmse"].apply(lambda x: float(np.sqrt(np.mean(np.square(x)))))
    return str(pooled.idxmin())


def semisynthetic_section(res: Results, lang: str) -> list:
    """The semi-synthetic section (Markdown blocks and the figure, in reading order)."""
    if not has_table(res, "semisynthetic_summary"):
        return [raw_section(res, lang), FigureRef("semisynthetic/semisynthetic", _caption(lang))]
    f, en = Formatter(lang), lang == "en"
    s, m = res.table("semisynthetic_summary"), _metrics(res)
    sem = read_params(res).get("semisynthetic", {}) or {}
    outcome = (sem.get("policy_outcome") or (sem.get("outcomes") or ["purchase_amount"])[0])
    if "outcome" in s and (s["outcome"] == outcome).any():
        s = s[s["outcome"] == outcome]
    shapes = [d for d in (sem.get("shapes") or []) if d in set(s["dgp"])] or list(dict.fromkeys(s["dgp"]))
    reps = int(s["n_reps"].max()) if "n_reps" in s else 1
    pop = m.get("population") or "trimmed"
    ate = s[(s["kind"] == "ate") & (s["population"] == pop)]
    cate = s[s["kind"] == "cate"]
    eff = (sem.get("effects") or {}).get(outcome, {})
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    model = label("ps_model", sem.get("baseline_model", ""), lang) if sem.get("baseline_model") else ""
    descs = "; ".join(_shape_desc(d, sem, lang) for d in shapes) if en else ", ".join(_shape_desc(d, sem, lang) for d in shapes)
    size = ((f" with mean {f.value(eff['mean'], kind)} and spread {f.value(eff['sd'], kind)}" if en else
             f"(평균 {f.value(eff['mean'], kind)}, 표준편차 {f.value(eff['sd'], kind)})") if {"mean", "sd"} <= set(eff) else "")
    parts: list = [
        (f"The benchmark keeps the real cohort's covariates, treatment and households and replaces the outcome "
         f"({label('outcome', outcome, lang)}) with a simulated one whose effect is known: untreated outcomes come from a "
         f"model fitted on the real controls{' (' + model + ')' if model else ''} plus noise with the real residual spread, "
         f"and an effect{size} is added in {len(shapes)} shapes: {descs}. Every average-effect estimator, every CATE "
         f"learner, the evaluation and the selection rule then run through the same code as the real analysis, so the "
         f"benchmark shows which of them to trust on data shaped like these." if en else
         f"준합성 벤치마크는 실제 코호트의 공변량, 처리, 가구를 그대로 두고 성과({label('outcome', outcome, lang)})만 효과를 "
         f"알고 있는 모의 성과로 바꾼다. 처리받지 않았을 때의 성과는 실제 대조군으로 적합한 모형"
         f"{'(' + model + ')' if model else ''}에 실제 잔차 크기의 잡음을 더해 만들고, 여기에 효과{size}를 "
         f"{len(shapes)}가지 형태({descs})로 더한다. 그런 다음 모든 평균 효과 추정량, 모든 CATE 학습기, 평가와 선택 규칙을 실제 "
         f"분석과 같은 코드로 돌리므로, 이런 모양의 데이터에서 어느 추정량을 믿을 만한지 알 수 있다."),
    ]
    if reps <= 1:
        parts.append(
            f"**A single draw per shape.** Only {reps} replication per shape was run (the default, sized to the time "
            f"budget), so every figure below is one draw with no Monte-Carlo standard error: a coverage can only be 0% or "
            f"100%, and close estimators may swap places in the next draw. A full study runs many replications "
            f"(semisynthetic.replications in params.yaml)." if en else
            f"**형태마다 한 번의 추출.** 시간 예산에 맞춘 기본값대로 형태마다 {reps}회만 반복했으므로, 아래 수치는 모두 한 번의 "
            f"추출값이며 몬테카를로 표준오차가 없다. 구간 포함률은 0% 아니면 100%일 수밖에 없고, 차이가 작은 추정량끼리는 다음 "
            f"추출에서 순위가 바뀔 수 있다. 제대로 된 연구는 반복을 충분히 늘려 돌린다(params.yaml의 semisynthetic.replications).")
    else:
        parts.append(f"Figures are means over {reps} replications per shape, with Monte-Carlo standard errors." if en else
                     f"수치는 형태마다 {reps}회 반복의 평균이며 몬테카를로 표준오차를 함께 보였다.")
    rec = _recommended(ate, m) if len(ate) else None
    refs = ([("@tbl-semisynthetic", "the average-effect estimators on the headline population", "평균 효과 추정량")]
            if len(ate) else []) + ([("@tbl-semisynthetic-cate", "the CATE learners", "CATE 학습기")] if len(cate) else [])
    if refs:
        parts.append((" and ".join(f"{r} scores {what}" for r, what, _ in refs) + ".") if en else
                     (", ".join(f"{ko_particle(ko, '은')} {r} 에" for r, _, ko in refs) + " 정리했다."))
    if len(ate):
        parts += [_ate_table(f, ate, shapes, rec, reps, kind, lang), _ate_reading(f, ate, shapes, rec, kind, lang)]
    if len(cate):
        parts += [_cate_table(f, cate, shapes, lang), _cate_reading(f, cate, shapes, m, kind, lang)]
        be = float(sem["cost"]) / float(sem["margin"]) if sem.get("cost") and sem.get("margin") else np.nan
        if has_table(res, "semisynthetic"):
            raw = res.table("semisynthetic")
            be = float(raw["breakeven"].dropna().iloc[0]) if "breakeven" in raw and raw["breakeven"].notna().any() else be
        parts += _selection(f, s, cate, shapes, m, kind, lang, be)
    parts.append(FigureRef("semisynthetic/semisynthetic", _caption(lang)))
    return [p for p in parts if p]


def _caption(lang: str) -> str:
    return ("Semi-synthetic benchmark: ATE bias, CATE error (PEHE) and DR-AUUC against the oracle, by shape" if lang == "en"
            else "준합성 벤치마크: 형태별 ATE 편향, CATE 오차(PEHE), 오라클과 비교한 DR-AUUC")


def _pivot(t: pd.DataFrame, col: str, shapes: list[str]) -> pd.DataFrame:
    return t.pivot_table(index="model", columns="dgp", values=col, sort=False).reindex(columns=shapes)


def _ate_table(f: Formatter, ate: pd.DataFrame, shapes, rec, reps: int, kind: str, lang: str) -> str:
    en = lang == "en"
    bias, mcse = _pivot(ate, "bias", shapes), _pivot(ate, "bias_mcse", shapes) if "bias_mcse" in ate else None
    rmse = _pivot(ate, "rmse", shapes)
    cov = _pivot(ate, "coverage", shapes)
    models = list(dict.fromkeys(ate["model"]))
    df = pd.DataFrame({"model": [label("method", mm, lang) + (" ✓" if mm == rec else "") for mm in models]})
    fmts = {"model": "text"}
    for d in shapes:
        df[d] = [f.value(bias.loc[mm, d], kind) + (f" ± {f.value(2 * mcse.loc[mm, d], kind)}"
                                                   if reps > 1 and mcse is not None and not is_na(mcse.loc[mm, d]) else "")
                 for mm in models]
        fmts[d] = "text"
    df["rmse"] = [float(np.sqrt(np.nanmean(np.square(rmse.loc[mm].to_numpy(float))))) for mm in models]
    df["coverage"] = [float(np.nanmean(cov.loc[mm].to_numpy(float))) for mm in models]
    fmts.update(rmse=kind, coverage="pct:0")
    hdr = {"model": "Estimator" if en else "추정량", "rmse": "RMSE, pooled" if en else "RMSE (통합)",
           "coverage": "CI coverage" if en else "구간 포함률"}
    hdr.update({d: (f"Bias, {label('dgp', d, lang)}" if en else f"편향: {label('dgp', d, lang)}") for d in shapes})
    pm = "; ± 2 Monte-Carlo SE" if en else ", ± 몬테카를로 표준오차의 2배"
    return pipe_table(f, df, formats=fmts, headers=hdr,
                      caption=(f"Average-effect estimators on the headline population: bias by shape{pm if reps > 1 else ''}, "
                               f"RMSE pooled over the shapes and CI coverage (✓ the estimator the benchmark supports)" if en else
                               f"주 모집단에서 본 평균 효과 추정량: 형태별 편향{pm if reps > 1 else ''}, 형태 통합 RMSE, 구간 포함률 "
                               f"(✓ 벤치마크가 뒷받침하는 추정량)"), label="tbl-semisynthetic")


def _ate_reading(f: Formatter, ate: pd.DataFrame, shapes, rec, kind: str, lang: str) -> str:
    en = lang == "en"
    bias, cov, rmse = _pivot(ate, "bias", shapes), _pivot(ate, "coverage", shapes), _pivot(ate, "rmse", shapes)
    out = []

    def about(mm: str) -> tuple[str, str, str]:
        b = join_words([f.value(bias.loc[mm, d], kind) for d in shapes], lang)
        n_cov = float(np.nansum(cov.loc[mm].to_numpy(float)))
        pooled = f.value(float(np.sqrt(np.nanmean(np.square(rmse.loc[mm].to_numpy(float))))), kind)
        return b, pooled, (f"{f.num(n_cov, 0)} of {len(shapes)}" if en else f"{len(shapes)}번 가운데 {f.num(n_cov, 0)}번")

    if rec is not None:
        b, pooled, c = about(rec)
        name = label("method", rec, lang)
        out.append(f"On data shaped like these the benchmark supports {name} for the average effect: the lowest RMSE pooled "
                   f"over the shapes among the adjusted ATE estimators ({pooled}), with biases of {b} on the "
                   f"{len(shapes)} shapes, and its interval covered the true effect in {c} shapes." if en else
                   f"이런 모양의 데이터에서 벤치마크가 평균 효과 추정에 뒷받침하는 추정량은 {ko_particle(name, '이다')}. 보정한 ATE "
                   f"추정량 가운데 형태 통합 RMSE가 가장 낮고({pooled}), {len(shapes)}가지 형태에서 편향은 각각 "
                   f"{ko_particle(b, '이며')}, 구간은 {c} 참값을 포함했다.")
    if "aipw" in set(ate["model"]) and rec != "aipw":
        b, pooled, c = about("aipw")
        name = label("method", "aipw", lang)
        out.append(f"The headline estimator, {name}, had biases of {b} (pooled RMSE {pooled}) and covered the truth in "
                   f"{c} shapes." if en else
                   f"주 추정량인 {ko_particle(name, '은')} 통합 RMSE {pooled}, 편향 각각 {ko_particle(b, '이며')} 구간은 {c} "
                   f"참값을 포함했다.")
    if "naive" in set(ate["model"]):
        nb = bias.loc["naive"].to_numpy(float)
        out.append(f"The naive difference is off by {f.value(np.nanmin(nb), kind)} to {f.value(np.nanmax(nb), kind)}: "
                   f"that gap is what the retailer's choice of whom to target does to an unadjusted comparison." if en else
                   f"단순 차이는 {f.value(np.nanmin(nb), kind)}에서 {f.value(np.nanmax(nb), kind)}만큼 빗나간다. 조정하지 않은 "
                   f"비교에 소매업체의 타깃 선택이 만드는 차이가 이만큼이다.")
    return " ".join(out)


def _cate_table(f: Formatter, cate: pd.DataFrame, shapes, lang: str) -> str:
    en = lang == "en"
    pehe = _pivot(cate, "pehe", shapes)
    models = list(dict.fromkeys(cate["model"]))
    df = pd.DataFrame({"model": [model_label(mm, lang) for mm in models]})
    fmts = {"model": "text"}
    for d in shapes:
        df[d], fmts[d] = pehe[d].reindex(models).to_numpy(), "num:1"
    for col, key in (("spearman", "rho"), ("auuc_normalized", "auuc")):
        if col in cate:
            df[key] = cate.groupby("model", sort=False)[col].mean().reindex(models).to_numpy()
            fmts[key] = "num:2" if key == "rho" else "num:3"
    if "selected_count" in cate:
        df["chosen"], fmts["chosen"] = cate.groupby("model", sort=False)["selected_count"].sum().reindex(models).to_numpy(), "int"
    hdr = {d: (f"PEHE, {label('dgp', d, lang)}" if en else f"PEHE: {label('dgp', d, lang)}") for d in shapes}
    hdr.update({"model": "Learner" if en else "학습기", "rho": "Spearman with true CATE" if en else "참 CATE와 순위상관",
                "auuc": "DR-AUUC (norm.)" if en else "DR-AUUC (정규화)", "chosen": "Times chosen" if en else "선택 횟수"})
    oracle = (cate.groupby("dgp")["auuc_normalized_oracle"].mean().reindex(shapes)
              if "auuc_normalized_oracle" in cate else None)
    orc = (", ".join(f"{label('dgp', d, lang)} {f.num(v, 3)}" for d, v in oracle.items() if not is_na(v))
           if oracle is not None else "")
    return pipe_table(f, df, formats=fmts, headers={k: v for k, v in hdr.items() if k in df},
                      caption=(f"CATE learners and the constant effect on the evaluation units: error against the true "
                               f"effect (PEHE), rank correlation with it, and DR-AUUC means over the shapes"
                               + (f" (ranking by the true effect: {orc})" if orc else "") if en else
                               f"평가 단위에서 본 CATE 학습기와 상수 효과: 참 효과에 대한 오차(PEHE), 참 효과와의 순위상관, 형태 평균 "
                               f"DR-AUUC" + (f" (참 효과로 순위를 매길 때: {orc})" if orc else "")),
                      label="tbl-semisynthetic-cate")


def _cate_reading(f: Formatter, cate: pd.DataFrame, shapes, m: dict, kind: str, lang: str) -> str:
    en = lang == "en"
    pehe = _pivot(cate, "pehe", shapes)
    learners = [mm for mm in pehe.index if mm != CONSTANT]
    if not learners:
        return ""
    best = m.get("cate_best_pehe_learner")
    best = best if best in learners else str(pehe.loc[learners].mean(axis=1).idxmin())
    name = model_label(best, lang)
    vals = join_words([f.num(pehe.loc[best, d], 1) for d in shapes], lang)
    text = (f"For individual effects, {name} had the lowest error among the learners (PEHE {vals} on the {len(shapes)} "
            f"shapes)." if en else
            f"개별 효과에서는 {ko_particle(name, '이')} 학습기 가운데 오차가 가장 작았다({len(shapes)}가지 형태에서 PEHE 각각 "
            f"{vals}).")
    if CONSTANT in pehe.index:
        cvals = join_words([f.num(pehe.loc[CONSTANT, d], 1) for d in shapes], lang)
        wins = [label("dgp", d, lang) for d in shapes if pehe.loc[best, d] < pehe.loc[CONSTANT, d]]
        text += (f" A constant effect, the estimated average for everyone, had {cvals}: "
                 + (f"the best learner beats it only on the {join_words(wins, lang)} shape{'s' if len(wins) > 1 else ''}, "
                    f"so a learner's ranking is worth using only where effects really vary a lot." if wins and
                    len(wins) < len(shapes) else
                    "the best learner beats it on every shape." if wins else
                    "no learner beats it on any shape.") if en else
                 f" 모든 가구에 추정 평균을 주는 상수 효과는 {ko_particle(cvals, '이었다')}. "
                 + (f"가장 나은 학습기도 {join_words(wins, lang)} 형태에서만 상수 효과를 이기므로, 학습기의 순위는 효과가 정말 크게 "
                    f"달라질 때만 쓸모가 있다." if wins and len(wins) < len(shapes) else
                    "가장 나은 학습기는 모든 형태에서 상수 효과를 이긴다." if wins else
                    "어떤 학습기도 상수 효과를 이기지 못한다."))
    return text


def _selection(f: Formatter, s: pd.DataFrame, cate: pd.DataFrame, shapes, m: dict, kind: str, lang: str,
               breakeven: float = np.nan) -> list:
    en = lang == "en"
    sel = s[s["kind"] == "selection"].set_index("dgp") if "kind" in s else pd.DataFrame()
    if sel.empty or "policy_regret" not in sel:
        return []
    rows = []
    for d in shapes:
        if d not in sel.index:
            continue
        r = sel.loc[d]
        g = cate[(cate["dgp"] == d) & (cate.get("selected_count", 0) > 0)]
        chosen = ", ".join(f"{model_label(mm, lang)}" + (f" ×{int(n)}" if n > 1 else "")
                           for mm, n in zip(g["model"], g["selected_count"])) or f.na
        blanket = bool(set(g["model"]) == {CONSTANT} and not is_na(r.get("share_treated")) and r["share_treated"] >= 1
                       and not is_na(breakeven) and r.get("ate_est", np.nan) > breakeven > r.get("ate_true", np.nan))
        rows.append({"dgp": label("dgp", d, lang), "true": r.get("ate_true"), "chosen": chosen, "_blanket": blanket,
                     "share": r.get("share_treated"), "oracle_share": r.get("share_treated_oracle"),
                     "regret": r.get("policy_regret"), "oracle": r.get("oracle_value")})
    df = pd.DataFrame(rows).drop(columns="_blanket")
    hdr = ({"dgp": "Shape", "true": "True ATE", "chosen": "Rule chose", "share": "Contacted", "oracle_share":
            "Contacted, oracle", "regret": "Regret per unit", "oracle": "Oracle profit per unit"} if en else
           {"dgp": "형태", "true": "참 ATE", "chosen": "규칙의 선택", "share": "발송 비율", "oracle_share": "오라클 발송 비율",
            "regret": "단위당 후회", "oracle": "오라클 단위당 이익"})
    table = pipe_table(f, df, formats={"dgp": "text", "true": kind, "chosen": "text", "share": "pct:0",
                                       "oracle_share": "pct:0", "regret": kind, "oracle": kind}, headers=hdr,
                       caption=("The selection rule on the benchmark: what it chose and the regret of its breakeven policy "
                                "against the oracle that contacts exactly the units worth contacting" if en else
                                "벤치마크에서 본 선택 규칙: 규칙이 고른 모형과, 보낼 가치가 있는 단위에만 보내는 오라클 대비 손익분기 정책의 후회"),
                       label="tbl-semisynthetic-selection")
    rule = m.get("selection_rule")
    worse = [r for r in rows if not is_na(r["regret"]) and not is_na(r["oracle"]) and r["regret"] > r["oracle"] > 0]
    why = all(r["_blanket"] for r in worse)
    worse = [r["dgp"] for r in worse]
    if en:
        text = (f"The selection rule{f' ({rule})' if rule else ''} is judged by what its choice earns: the regret is the "
                f"true profit per unit lost against the oracle policy, which contacts exactly the units whose true effect "
                f"clears the breakeven (@tbl-semisynthetic-selection).")
        if worse:
            text += (f" On the {join_words(worse, lang)} shape the regret exceeds the oracle's whole profit: the rule's "
                     f"policy loses money outright" + (", because the constant effect, estimated above the breakeven, "
                                                       "sends the campaign to everyone while the true average lies below "
                                                       "it." if why else "."))
    else:
        text = (f"선택 규칙{f'({rule})' if rule else ''}은 그 선택이 벌어들이는 것으로 평가한다. 후회는 참 효과가 손익분기를 넘는 "
                f"단위에만 정확히 보내는 오라클 정책에 비해 단위당 잃는 실제 이익이다(@tbl-semisynthetic-selection).")
        if worse:
            text += (f" {join_words(worse, lang)} 형태에서는 후회가 오라클의 이익 전체보다 커서 규칙의 정책이 그대로 손실을 낸다."
                     + (" 상수 효과가 손익분기보다 높게 추정되어 모두에게 보내지만 참 평균은 손익분기보다 낮기 때문이다."
                        if why else ""))
    return [text, table]
