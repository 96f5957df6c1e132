"""Track 2 (causal targeting) facts and tables, in English and Korean.

:class:`Track2Facts` (:func:`track2_facts`) holds the cohort, the positivity diagnostics
and the ATE table, read once from ``results/`` for both languages; the ``*_table``
functions build the Track 2 tables (cohort flow, campaigns, propensity models, overlap,
balance, ATE, estimators, calibration). The prose is in
:mod:`segtarget.report.track2_prose`, the sections of the stages after the ATE in
:mod:`segtarget.report.track2_stages`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segtarget.report.facts import positivity_metrics, read_params, truthy
from segtarget.report.labels import covariate_label, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table


# --------------------------------------------------------------------------- Track 2 facts


@dataclass
class Track2Facts:
    """Headline numbers of the causal study, computed once for both languages."""

    campaign_type: str
    campaigns: list
    n_units: int
    n_treated: int
    n_control: int
    n_households: int
    lookback_weeks: tuple[int, int]
    outcome_days: tuple[int, int]
    pos: dict
    ps_model: str
    ate: pd.DataFrame
    balance: pd.DataFrame
    outcomes: list
    params: dict = field(default_factory=dict)
    headline_method: str = "aipw"
    headline_population: str = "trimmed"

    def row(self, outcome: str, method: str, population: str) -> pd.Series | None:
        t = self.ate
        hit = t[(t["outcome"] == outcome) & (t["method"] == method) & (t["population"] == population)]
        return hit.iloc[0] if len(hit) else None

    def headline(self, outcome: str) -> pd.Series | None:
        return self.row(outcome, self.headline_method, self.headline_population)

    def population_band(self, population: str) -> tuple[float, float]:
        t = self.ate[self.ate["population"] == population]
        if t.empty:
            return (float("nan"), float("nan"))
        return float(t["ps_low"].iloc[0]), float(t["ps_high"].iloc[0])

    def population_n(self, population: str) -> int:
        t = self.ate[self.ate["population"] == population]
        return int(t["n"].iloc[0]) if len(t) else 0

    def estimates(self, outcome: str, population: str, exclude=("naive",)) -> pd.DataFrame:
        t = self.ate
        return t[(t["outcome"] == outcome) & (t["population"] == population) & ~t["method"].isin(exclude)]

    def unstable(self, outcome: str, methods=("ipw", "aipw"), factor: float = 2.0) -> list[str]:
        """Weighting estimators whose full-cohort SE is over ``factor`` times their SE on the
        headline population: extreme propensities make them explode."""
        out = []
        for m in methods:
            full, trim = self.row(outcome, m, "full"), self.row(outcome, m, self.headline_population)
            if full is None or trim is None or is_na(full["se"]) or is_na(trim["se"]) or trim["se"] <= 0:
                continue
            if full["se"] > factor * trim["se"]:
                out.append(m)
        return out

    def missing_se(self) -> pd.DataFrame:
        return self.ate[self.ate["se"].isna()]

    @property
    def n_covariates(self) -> int:
        return len(self.balance)

    @property
    def n_extreme(self) -> int:
        return int(self.pos.get("n_ps_below_0.05", 0) + self.pos.get("n_ps_above_0.95", 0))

    @property
    def ipw_worsens_balance(self) -> bool:
        """IPW leaves at least as many covariates imbalanced as no weighting at all, or
        raises the largest imbalance."""
        p = self.pos
        return (p.get("n_imbalanced_ipw", 0) >= p.get("n_imbalanced_unweighted", 0)
                or p.get("max_abs_smd_ipw", 0) > p.get("max_abs_smd_unweighted", 0))

    @property
    def ipw_worsened_covariates(self) -> int:
        b = self.balance
        return int(((b["smd_weighted"].abs() > b["smd_unweighted"].abs()) & (b["smd_weighted"].abs() >= 0.1)).sum())


def track2_facts(res: Results) -> Track2Facts:
    pos = positivity_metrics(res)
    ate = res.table("ate")
    cohort = res.table("cohort")
    params = read_params(res)
    m = res.metric("track2")
    outcomes = list(dict.fromkeys(ate["outcome"]))
    return Track2Facts(
        campaign_type=str((params.get("cohort") or {}).get("campaign_type", "A")),
        campaigns=sorted(int(c) for c in cohort["campaign_id"].unique()),
        n_units=len(cohort), n_treated=int(cohort["treated"].sum()), n_control=int((1 - cohort["treated"]).sum()),
        n_households=int(cohort["household_id"].nunique()),
        lookback_weeks=(int(cohort["lookback_weeks"].min()), int(cohort["lookback_weeks"].max())),
        outcome_days=(int(cohort["outcome_days"].min()), int(cohort["outcome_days"].max())),
        pos=pos, ps_model=str(m.get("ps_model", "")), ate=ate, balance=res.table("balance"), outcomes=outcomes,
        params=params,
    )


# --------------------------------------------------------------------------- Track 2 tables

_FLOW_KO = [
    (r"households with a purchase or a campaign", "구매 또는 캠페인 기록이 있는 가구"),
    (r"excluded: first campaign of the type not stacked", "제외: 해당 유형의 첫 캠페인이 스택에 들지 않음"),
    (r"campaign not stacked", "스택에서 빠진 캠페인"),
    (r"campaign (\w+): candidates", r"캠페인 \1: 후보"),
    (r"campaign (\w+): drop controls treated inside the outcome window", r"캠페인 \1: 성과 기간 안에 처리되는 대조군 제외"),
    (r"campaign (\w+): drop units with fewer than (\d+) baskets in the lookback",
     r"캠페인 \1: 룩백 기간 장바구니 \2개 미만 제외"),
    (r"campaign (\w+): units", r"캠페인 \1: 분석 단위"),
    (r"final cohort \(all stacked campaigns\)", "최종 코호트 (스택한 모든 캠페인)"),
]


def flow_step(step: str, lang: str = "en") -> str:
    if lang == "en":
        return step
    for pattern, repl in _FLOW_KO:
        if re.fullmatch(pattern, step):
            return re.sub(pattern, repl, step)
    return step


_NOTE_PATTERNS = [
    (r"index day (\d+); outcome days (\d+)\.\.(\d+)",
     ("start day {0}; outcome days {1}–{2}", "시작일 {0}, 성과 기간 {1}–{2}일")),
    (r"lookback days (\d+)\.\.(\d+) \((\d+) weeks\); same rule for both arms",
     ("lookback days {0}–{1} ({2} weeks), same rule for both arms", "룩백 {0}–{1}일 ({2}주), 두 집단에 같은 규칙")),
    (r"their own first treatment starts between day (\d+) and day (\d+)",
     ("own first treatment starts on days {0}–{1}", "자신의 첫 처리가 {0}–{1}일에 시작")),
    (r"campaign (\w+) not stacked: only (\d+) weeks of history before it \(cohort.min_lookback_weeks = (\d+)\)",
     ("campaign {0}: only {1} weeks of history before it (minimum {2})", "캠페인 {0}: 시작 전 이력이 {1}주뿐 (최소 {2}주)")),
    (r"campaign (\w+) not stacked: its outcome window starts on day (\d+), after the data end \(day (\d+)\)",
     ("campaign {0}: outcome window would start on day {1}, after the data end (day {2})",
      "캠페인 {0}: 성과 기간이 데이터 종료일({2}일) 뒤인 {1}일에 시작")),
    (r"(\d+) distinct households; a household can be a control for several campaigns",
     ("{0} distinct households; a household can be a control for several campaigns",
      "서로 다른 가구 {0}곳, 한 가구가 여러 캠페인의 대조군이 될 수 있음")),
    (r"too little history or outcome window beyond the data.*",
     ("too little history, or outcome window beyond the data", "이력이 부족하거나 성과 기간이 데이터 밖")),
]


def flow_note(note: Any, lang: str = "en") -> str:
    """A short note for the flow table (the generic ones, repeated on every campaign, are dropped)."""
    if is_na(note):
        return ""
    for pattern, (en, ko) in _NOTE_PATTERNS:
        m = re.fullmatch(pattern, str(note))
        if m:
            return (ko if lang == "ko" else en).format(*m.groups())
    return ""


def flow_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    fl = res.table("cohort_flow")
    df = pd.DataFrame({"step": [flow_step(s, lang) for s in fl["step"]], "n_treated": fl["n_treated"],
                       "n_control": fl["n_control"], "note": [flow_note(n, lang) for n in fl["note"]]})
    headers = ({"step": "Step", "n_treated": "Treated", "n_control": "Controls", "note": "Note"} if lang == "en" else
               {"step": "단계", "n_treated": "처리군", "n_control": "대조군", "note": "비고"})
    return pipe_table(Formatter(lang), df, formats={"step": "text", "note": "text"}, headers=headers, caption=caption,
                                 label=label_)


def campaign_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """One row per stacked campaign: windows, arm sizes and mean outcomes by arm."""
    c = res.table("cohort")
    rows = []
    for cid, g in c.groupby("campaign_id", sort=True):
        t, k = g[g["treated"] == 1], g[g["treated"] == 0]
        rows.append({"campaign": int(cid), "index_day": int(g["index_day"].iloc[0]),
                     "lookback": int(g["lookback_weeks"].iloc[0]), "outcome_days": int(g["outcome_days"].iloc[0]),
                     "n_t": len(t), "n_c": len(k),
                     "y_t": t["purchase_amount"].mean() if len(t) else np.nan,
                     "y_c": k["purchase_amount"].mean() if len(k) else np.nan})
    df = pd.DataFrame(rows)
    headers = ({"campaign": "Campaign", "index_day": "Start day", "lookback": "Lookback (weeks)",
                "outcome_days": "Outcome days", "n_t": "Treated", "n_c": "Controls",
                "y_t": "Mean amount, treated", "y_c": "Mean amount, controls"} if lang == "en" else
               {"campaign": "캠페인", "index_day": "시작일", "lookback": "룩백(주)", "outcome_days": "성과 기간(일)",
                "n_t": "처리군", "n_c": "대조군", "y_t": "처리군 평균 구매액", "y_c": "대조군 평균 구매액"})
    return pipe_table(Formatter(lang), df, formats={"campaign": "text", "y_t": "money", "y_c": "money"},
                                 headers=headers, caption=caption, label=label_)


def outcome_means(res: Results) -> pd.DataFrame:
    """Mean and SD of each outcome by arm in the cohort."""
    c = res.table("cohort")
    rows = []
    for y in ("purchase_amount", "purchase_count"):
        if y not in c:
            continue
        for arm in (1, 0):
            x = c.loc[c["treated"] == arm, y].astype(float)
            rows.append({"outcome": y, "treated": arm, "mean": x.mean(), "sd": x.std(ddof=1), "n": len(x)})
    return pd.DataFrame(rows)


def ps_models_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = res.table("propensity_models")
    df = pd.DataFrame({"model": [label("ps_model", m, lang) for m in t["model"]], "auc": t["auc"],
                       "brier": t["brier"], "log_loss": t["log_loss"],
                       "selected": ["✓" if truthy(v) else "" for v in t["selected"]]})
    headers = ({"model": "Model", "auc": "AUC", "brier": "Brier", "log_loss": "Log loss", "selected": "Used"}
               if lang == "en" else
               {"model": "모형", "auc": "AUC", "brier": "Brier 점수", "log_loss": "로그 손실", "selected": "사용"})
    return pipe_table(Formatter(lang), df, formats={"model": "text", "auc": "num:3", "brier": "num:3", "log_loss": "num:3",
                                              "selected": "text"}, headers=headers, caption=caption, label=label_)


def overlap_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    """Overlap shares, Crump trimming and effective sample sizes."""
    p, f = t2.pos, Formatter(lang)
    en = lang == "en"
    rows = []
    for lo, hi in ((0.05, 0.95), (0.1, 0.9)):
        key = f"{lo:g}_{hi:g}"
        if f"overlap_share_{key}" in p:
            rows.append(((f"Units with propensity in [{lo:g}, {hi:g}]" if en else f"성향점수 [{lo:g}, {hi:g}] 안의 단위"),
                         f"{f.int(p[f'overlap_n_{key}'])} ({f.pct(p[f'overlap_share_{key}'])})"))
    if "crump_alpha" in p:
        a = p["crump_alpha"]
        rows.append(((f"Crump et al. optimal band [{a:.3f}, {1 - a:.3f}]" if en
                      else f"Crump 등의 최적 구간 [{a:.3f}, {1 - a:.3f}]"),
                     f"{f.int(p['crump_n_kept'])} ({f.pct(p['crump_share_kept'])})"))
    rows.append(("Propensity below 0.05 / above 0.95" if en else "성향점수 0.05 미만 / 0.95 초과",
                 f"{f.int(p.get('n_ps_below_0.05'))} / {f.int(p.get('n_ps_above_0.95'))}"))
    for arm, arm_ko in (("treated", "처리군"), ("control", "대조군")):
        if f"ess_ipw_{arm}" in p:
            rows.append(((f"Effective sample size, {arm}: IPW / overlap weights" if en
                          else f"유효 표본 크기, {arm_ko}: IPW / 중첩 가중"),
                         f"{f.num(p[f'ess_ipw_{arm}'], 1)} / {f.num(p[f'ess_overlap_{arm}'], 1)}"))
            rows.append(((f"Largest single IPW weight share, {arm}" if en else f"IPW 최대 단일 가중치 비중, {arm_ko}"),
                         f.pct(p[f"ipw_max_weight_share_{arm}"])))
    df = pd.DataFrame(rows, columns=["metric", "value"])
    headers = {"metric": "Diagnostic", "value": "Value"} if en else {"metric": "진단 항목", "value": "값"}
    return pipe_table(f, df, formats={"metric": "text", "value": "text"}, headers=headers, caption=caption, label=label_)


def balance_summary_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    p, f = t2.pos, Formatter(lang)
    en = lang == "en"
    rows = []
    for key, name_en, name_ko in (("unweighted", "No weighting", "가중치 없음"), ("ipw", "IPW (ATE weights)", "IPW (ATE 가중치)"),
                                  ("overlap", "Overlap weights (ATO)", "중첩 가중 (ATO)")):
        if f"n_imbalanced_{key}" in p:
            rows.append({"weights": name_en if en else name_ko, "n": p[f"n_imbalanced_{key}"],
                         "max": p[f"max_abs_smd_{key}"]})
    df = pd.DataFrame(rows)
    headers = ({"weights": "Weights", "n": f"Covariates with |SMD| ≥ 0.1 (of {t2.n_covariates})", "max": "Largest |SMD|"}
               if en else {"weights": "가중 방식", "n": f"|SMD| ≥ 0.1인 공변량 (전체 {t2.n_covariates}개)",
                           "max": "최대 |SMD|"})
    return pipe_table(f, df, formats={"weights": "text", "n": "int", "max": "num:3"}, headers=headers, caption=caption,
                   label=label_)


def balance_table(t2: Track2Facts, lang: str = "en", top: int = 10, caption=None, label_=None) -> str:
    b = t2.balance.copy()
    b["_abs"] = b["smd_unweighted"].abs()
    b = b.sort_values(["_abs", "covariate"], ascending=[False, True]).head(top)
    df = pd.DataFrame({"covariate": [covariate_label(c, lang) for c in b["covariate"]],
                       "mean_t": b["mean_treated"], "mean_c": b["mean_control"],
                       "smd_u": b["smd_unweighted"], "smd_w": b["smd_weighted"], "smd_o": b["smd_overlap"]})
    headers = ({"covariate": "Covariate", "mean_t": "Mean, treated", "mean_c": "Mean, controls",
                "smd_u": "SMD", "smd_w": "SMD, IPW", "smd_o": "SMD, overlap"} if lang == "en" else
               {"covariate": "공변량", "mean_t": "처리군 평균", "mean_c": "대조군 평균", "smd_u": "SMD",
                "smd_w": "SMD (IPW)", "smd_o": "SMD (중첩 가중)"})
    return pipe_table(Formatter(lang), df, formats={"covariate": "text", "mean_t": "num:2", "mean_c": "num:2",
                                              "smd_u": "num:2", "smd_w": "num:2", "smd_o": "num:2"},
                                 headers=headers, caption=caption, label=label_)


def population_label(t2: Track2Facts, population: str, lang: str = "en") -> str:
    lo, hi = t2.population_band(population)
    if population == "full":
        return "Full cohort" if lang == "en" else "전체 코호트"
    if population == "crump":
        return (f"Crump band [{lo:.3f}, {hi:.3f}]" if lang == "en" else f"Crump 구간 [{lo:.3f}, {hi:.3f}]")
    if population == "trimmed":
        return (f"Propensity in [{lo:g}, {hi:g}]" if lang == "en" else f"성향점수 [{lo:g}, {hi:g}]")
    return population


def _est_ci(r: pd.Series, f: Formatter, kind: str) -> str:
    if r is None:
        return f.na
    est = f.value(r["estimate"], kind)
    if is_na(r["ci_low"]):
        return f"{est} ({'SE n/a' if f.lang == 'en' else '표준오차 없음'})"
    return f"{est} {f.ci(r['ci_low'], r['ci_high'], kind)}"


def ate_table(t2: Track2Facts, outcome: str, lang: str = "en", caption=None, label_=None) -> str:
    """Methods in rows, populations in columns: estimate [95% CI]."""
    f = Formatter(lang)
    kind = "money:1" if outcome == "purchase_amount" else "num:2"
    pops = [p for p in ("full", "crump", "trimmed") if (t2.ate["population"] == p).any()]
    methods = list(dict.fromkeys(t2.ate.loc[t2.ate["outcome"] == outcome, "method"]))
    rows = []
    for m in methods:
        row = {"method": label("method", m, lang)}
        for p in pops:
            row[p] = _est_ci(t2.row(outcome, m, p), f, kind)
        rows.append(row)
    df = pd.DataFrame(rows)
    headers = {"method": "Method" if lang == "en" else "방법"}
    for p in pops:
        headers[p] = f"{population_label(t2, p, lang)} (n = {f.int(t2.population_n(p))})"
    return pipe_table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def ra_se_text(ate: dict, lang: str = "en") -> str:
    """How regression adjustment's interval is computed under ``ate.ra_se`` (the params the run used)."""
    if ate.get("ra_se", "influence") == "bootstrap":
        n = ate.get("n_bootstrap")
        return (f"{n} household-cluster bootstrap resamples" if lang == "en" else f"가구 군집 부트스트랩 재표본 {n}개")
    return ("the efficient influence function at the cross-fitted nuisances, summed within households (it includes "
            "the inverse-propensity term, so the interval widens where overlap is poor: the price of "
            "extrapolation that a bootstrap of the outcome models does not show)" if lang == "en" else
            "교차적합 보조 모형에서 계산한 효율적 영향함수(가구별 합산. 역성향점수 항이 들어 있어 중첩이 나쁜 곳에서는 "
            "구간이 넓어지는데, 결과 모형만 다시 적합하는 부트스트랩이 드러내지 못하는 외삽의 대가)")


def estimator_table(lang: str = "en", caption=None, label_=None, ra_se: str = "influence") -> str:
    """The seven estimators and how their standard errors are computed (``ra_se``: params ``ate.ra_se``)."""
    rows_en = [
        ("naive", "difference of arm means", "influence function, clustered by household"),
        ("ols", "y ~ 1 + t + X, linear regression adjustment", "cluster-robust sandwich (CR1)"),
        ("ra", "mean of μ₁(x) − μ₀(x), outcome models cross-fitted per arm",
         "household cluster bootstrap" if ra_se == "bootstrap" else "efficient influence function, clustered"),
        ("ipw", "Hájek inverse-probability weighting", "influence function, clustered"),
        ("aipw", "cross-fitted augmented IPW (doubly robust)", "influence function, clustered"),
        ("ato", "overlap weights e(x)(1 − e(x)): effect where arms overlap", "influence function, clustered"),
        ("linear_dml", "econml LinearDML, constant effect, household-grouped folds", "clustered from its residuals"),
    ]
    rows_ko = [
        ("naive", "두 집단 평균의 차이", "영향함수, 가구 군집"),
        ("ols", "y ~ 1 + t + X 선형회귀 보정", "군집 강건 샌드위치 (CR1)"),
        ("ra", "집단별 교차적합 결과 모형의 μ₁(x) − μ₀(x) 평균",
         "가구 군집 부트스트랩" if ra_se == "bootstrap" else "효율적 영향함수, 가구 군집"),
        ("ipw", "Hájek 역확률 가중", "영향함수, 가구 군집"),
        ("aipw", "교차적합 증강 IPW (이중 강건)", "영향함수, 가구 군집"),
        ("ato", "중첩 가중 e(x)(1 − e(x)): 두 집단이 겹치는 곳의 효과", "영향함수, 가구 군집"),
        ("linear_dml", "econml LinearDML, 상수 효과, 가구 단위 폴드", "잔차 기반, 가구 군집"),
    ]
    rows = rows_en if lang == "en" else rows_ko
    df = pd.DataFrame([(label("method", m, lang), e, s) for m, e, s in rows], columns=["method", "estimator", "se"])
    headers = ({"method": "Method", "estimator": "Estimator", "se": "Standard error"} if lang == "en" else
               {"method": "방법", "estimator": "추정량", "se": "표준오차"})
    return pipe_table(Formatter(lang), df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def calibration_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    c = res.table("propensity_calibration")
    f = Formatter(lang)
    df = pd.DataFrame({"bin": [f"[{lo:g}, {hi:g})" for lo, hi in zip(c["bin_low"], c["bin_high"])], "n": c["n"],
                       "pred": c["mean_predicted"], "obs": c["observed_rate"]})
    headers = ({"bin": "Propensity bin", "n": "Units", "pred": "Mean predicted", "obs": "Share treated"}
               if lang == "en" else {"bin": "성향점수 구간", "n": "단위 수", "pred": "평균 예측값", "obs": "실제 처리 비율"})
    return pipe_table(f, df, formats={"bin": "text", "pred": "num:3", "obs": "num:3"}, headers=headers, caption=caption,
                   label=label_)
