"""Segment profiles, data-driven names, value tiers, strategy and feature separation.

Everything here is computed from the data with stated rules, so names and tiers follow
the segments when the data or parameters change (the original named segments by hand and
its code's dominant-factor rule disagreed with its own docs for one segment).

- Segment ids are 1..k in descending order of revenue share (ties: larger segment, then
  smallest household_id), so the same partition always gets the same ids.
- Value tier: a segment is ``High`` when its median household spend is in the top third
  of all households' spend, ``Low`` when it is in the bottom third, else ``Medium``.
- Recency status: ``lapsing`` when the segment's median recency is beyond the 75th
  percentile of all households' recency.
- Dominant factor: the factor on which the segment stands out most, the largest z-score
  of the segment's mean score against all households' scores (raw score means favour
  whichever factor has the largest scale; the original's rule).
- Name: ``"<tier> value: <dominant factor label>"`` plus ``" (lapsing)"``; if segments
  would share a name, each gets the NMF input that sets it apart from the others in that
  group (``"(high basket value)"``); if that is not enough, the segment id instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from segtarget.core.labels import feature_label
from segtarget.data.schemas import HOUSEHOLD

RFM_FEATURES = ("recency", "frequency", "monetary_sales")
TIERS = ("High", "Medium", "Low")
TIER_KO = {"High": "고가치", "Medium": "중가치", "Low": "저가치"}
DEAL_FEATURES = ("discount_usage_pct", "discount_rate", "coupon_savings_ratio")
SEPARATION_COLUMNS = ["feature", "anova_f", "anova_p", "kruskal_h", "kruskal_p", "nmf_input"]

#: Rule-based actions by (tier, behaviour), English and Korean. Behaviour is ``lapsing``
#: (checked first), ``deal`` (deal usage clearly above the household average) or ``core``.
ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("High", "lapsing"): (
        "Win back: personal outreach before these high spenders churn",
        "이탈 방지: 고가치 고객 이탈 전에 개인화된 접촉",
    ),
    ("High", "deal"): (
        "Retain with personalised offers on their regular basket; avoid blanket discounts",
        "유지: 정기 구매 품목 중심의 개인화 혜택, 일괄 할인은 지양",
    ),
    ("High", "core"): (
        "Retain and reward: loyalty perks and service, no discount needed",
        "유지·보상: 로열티 혜택과 서비스 중심, 할인 불필요",
    ),
    ("Medium", "lapsing"): (
        "Re-engage: reminder with a time-limited offer",
        "재활성화: 기간 한정 혜택과 함께 리마인드",
    ),
    ("Medium", "deal"): (
        "Grow with targeted deals in adjacent categories",
        "성장: 인접 카테고리 타깃 할인으로 구매 확대",
    ),
    ("Medium", "core"): (
        "Grow: cross-sell into new departments to lift basket value",
        "성장: 새로운 부문 교차 판매로 객단가 향상",
    ),
    ("Low", "lapsing"): (
        "Low-cost win-back through owned channels only; no paid contacts",
        "저비용 재유입: 자사 채널만 활용, 유료 접촉 지양",
    ),
    ("Low", "deal"): (
        "Activate with entry-level deals; test before scaling",
        "활성화: 입문형 할인 제공, 확대 전 테스트",
    ),
    ("Low", "core"): (
        "Activate: visit-frequency incentives through low-cost channels",
        "활성화: 저비용 채널로 방문 빈도 유도",
    ),
}


def segment_order(raw_labels: np.ndarray, revenue: np.ndarray, household_ids: np.ndarray) -> dict:
    """Map raw cluster labels to segment ids 1..k by descending revenue share.

    >>> import numpy as np
    >>> segment_order(np.array([0, 0, 1]), np.array([1.0, 1.0, 5.0]), np.array([1, 2, 3]))
    {1: 1, 0: 2}
    """
    df = pd.DataFrame({"c": raw_labels, "r": np.nan_to_num(np.asarray(revenue, float)), "h": household_ids})
    g = df.groupby("c").agg(rev=("r", "sum"), n=("r", "size"), first=("h", "min")).reset_index()
    g["rev"] = g["rev"].round(8)
    g = g.sort_values(["rev", "n", "first"], ascending=[False, False, True], kind="mergesort")
    return {int(c): i + 1 for i, c in enumerate(g["c"])}


def value_tier(segment_median: float, q_low: float, q_high: float) -> str:
    """High / Medium / Low from a segment's median spend and the household tertiles."""
    if segment_median >= q_high:
        return "High"
    if segment_median < q_low:
        return "Low"
    return "Medium"


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce").astype(float)


def segment_attributes(
    features: pd.DataFrame,
    segments: np.ndarray,
    W: np.ndarray,
    factors: pd.DataFrame,
    revenue_feature: str = "monetary_sales",
    X: np.ndarray | None = None,
    feature_names=None,
) -> pd.DataFrame:
    """Per segment: tier, recency status, deal sensitivity, dominant factor and names.

    ``X`` (the transformed NMF inputs) and ``feature_names`` are used only to tell apart
    segments that would otherwise get the same name.
    """
    seg = np.asarray(segments)
    ids = np.unique(seg)
    revenue = _num(features, revenue_feature).to_numpy()
    q_low, q_high = np.nanquantile(revenue, [1 / 3, 2 / 3])
    rec = _num(features, "recency").to_numpy() if "recency" in features.columns else None
    rec_q75 = np.nanquantile(rec, 0.75) if rec is not None else np.nan
    deal_col = next((c for c in DEAL_FEATURES if c in features.columns), None)
    deal = _num(features, deal_col).to_numpy() if deal_col else None
    overall = W.mean(axis=0)
    sd = W.std(axis=0)
    rows = []
    for s in ids:
        m = seg == s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tier = value_tier(float(np.nanmedian(revenue[m])), q_low, q_high)
            lapsing = bool(rec is not None and np.nanmedian(rec[m]) > rec_q75)
            deal_z = (np.nanmean(deal[m]) - np.nanmean(deal)) / np.nanstd(deal) if deal is not None else np.nan
        z = np.divide(W[m].mean(axis=0) - overall, sd, out=np.zeros_like(overall), where=sd > 0)
        order = np.lexsort((np.arange(len(z)), -np.round(z, 10)))
        rows.append(
            {
                "segment": int(s),
                "value_tier": tier,
                "lapsing": lapsing,
                "deal_sensitive": bool(np.isfinite(deal_z) and deal_z >= 0.25),
                "dominant_factor": factors["factor"].iloc[order[0]],
                "f1_idx": int(order[0]),
            }
        )
    att = pd.DataFrame(rows)
    if X is not None:
        X = np.asarray(X, dtype=float)
        sdx = np.nanstd(X, axis=0)
        sdx = np.where(sdx > 0, sdx, 1.0)
        Zf = np.vstack([(np.nanmean(X[seg == s], axis=0) - np.nanmean(X, axis=0)) / sdx for s in ids])
    else:
        Zf = np.empty((len(ids), 0))
    att["qual_en"], att["qual_ko"] = _contrast(att, Zf, list(feature_names or []))
    en, ko = _names(att, factors)
    att["segment_name"], att["segment_name_ko"] = en, ko
    return att.drop(columns=["f1_idx", "qual_en", "qual_ko"])


def _contrast(att: pd.DataFrame, Zf: np.ndarray, feature_names) -> tuple[list[str], list[str]]:
    """Qualifier for segments that would share a name: the input feature that sets each apart.

    Segments with the same tier, dominant factor and recency status would get the same
    name. Each is qualified by the NMF input on which its mean z-score most exceeds the
    mean z-score of the others in that group, e.g. ``"high basket value"``.
    """
    en = [""] * len(att)
    ko = [""] * len(att)
    keys = list(zip(att["value_tier"], att["f1_idx"], att["lapsing"]))
    for key in dict.fromkeys(keys):
        members = [i for i, k in enumerate(keys) if k == key]
        if len(members) < 2 or Zf.size == 0:
            continue
        for i in members:
            others = [m for m in members if m != i]
            gap = Zf[i] - Zf[others].mean(axis=0)
            j = int(np.lexsort((np.arange(len(gap)), -np.round(gap, 10)))[0])
            en[i] = f"high {feature_label(feature_names[j])}"
            ko[i] = f"{feature_label(feature_names[j], 'ko')} 높음"
    return en, ko


def _names(att: pd.DataFrame, factors: pd.DataFrame) -> tuple[list[str], list[str]]:
    lab, lab_ko = factors["label"].tolist(), factors["label_ko"].tolist()

    def make(r, level):
        en = f"{r.value_tier} value: {lab[r.f1_idx]}"
        ko = f"{TIER_KO[r.value_tier]}: {lab_ko[r.f1_idx]}"
        if level == 1 and r.qual_en:
            en += f" ({r.qual_en})"
            ko += f" ({r.qual_ko})"
        if r.lapsing:
            en += " (lapsing)"
            ko += " (이탈 위험)"
        if level >= 2:
            en += f" (S{r.segment})"
            ko += f" (S{r.segment})"
        return en, ko

    level = [0] * len(att)
    for _ in range(3):
        names = [make(r, lv) for r, lv in zip(att.itertuples(), level)]
        en = [n[0] for n in names]
        dup = {n for n in en if en.count(n) > 1}
        if not dup:
            break
        level = [lv + 1 if e in dup else lv for e, lv in zip(en, level)]
    names = [make(r, lv) for r, lv in zip(att.itertuples(), level)]
    return [n[0] for n in names], [n[1] for n in names]


def segments_table(household_ids, segments, W: np.ndarray, att: pd.DataFrame) -> pd.DataFrame:
    """household_id, segment, segment_name, segment_name_ko, F1..Fr; sorted by household."""
    names = att.set_index("segment")
    df = pd.DataFrame({HOUSEHOLD: np.asarray(household_ids), "segment": np.asarray(segments, dtype=int)})
    df["segment_name"] = df["segment"].map(names["segment_name"])
    df["segment_name_ko"] = df["segment"].map(names["segment_name_ko"])
    for j in range(W.shape[1]):
        df[f"F{j + 1}"] = W[:, j]
    return df.sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)


def profile_features(features: pd.DataFrame, nmf_features) -> list[str]:
    """RFM, category shares, then the NMF inputs: the columns profiled (present ones only)."""
    cols = [c for c in RFM_FEATURES if c in features.columns]
    cols += sorted(c for c in features.columns if c.startswith("share_"))
    cols += list(nmf_features)
    return list(dict.fromkeys(cols))


def profiles_table(
    features: pd.DataFrame,
    segments: np.ndarray,
    W: np.ndarray,
    att: pd.DataFrame,
    nmf_features,
    revenue_feature: str = "monetary_sales",
) -> pd.DataFrame:
    """One row per segment: size, share, revenue share, tier, name, profile and factor means."""
    seg = np.asarray(segments, dtype=int)
    revenue = np.nan_to_num(_num(features, revenue_feature).to_numpy())
    cols = profile_features(features, nmf_features)
    data = pd.DataFrame({c: _num(features, c).to_numpy() for c in cols})
    for j in range(W.shape[1]):
        data[f"F{j + 1}"] = W[:, j]
    data["segment"] = seg
    means = data.groupby("segment").mean()
    a = att.set_index("segment")
    total = revenue.sum()
    out = pd.DataFrame({"segment": means.index.astype(int)})
    out["segment_name"] = out["segment"].map(a["segment_name"])
    out["segment_name_ko"] = out["segment"].map(a["segment_name_ko"])
    n = pd.Series(seg).value_counts()
    out["n"] = out["segment"].map(n).astype(int)
    out["share"] = out["n"] / len(seg)
    rev = pd.Series(revenue).groupby(seg).sum()
    out["revenue_share"] = out["segment"].map(rev) / total if total > 0 else np.nan
    out["revenue_per_household"] = out["segment"].map(rev) / out["n"]
    out["value_tier"] = out["segment"].map(a["value_tier"])
    out["lapsing"] = out["segment"].map(a["lapsing"])
    out["deal_sensitive"] = out["segment"].map(a["deal_sensitive"])
    out["dominant_factor"] = out["segment"].map(a["dominant_factor"])
    for c in means.columns:
        out[c] = means[c].to_numpy()
    return out.sort_values("segment").reset_index(drop=True)


def strategy_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """Rule-based action per segment from its value tier and behaviour.

    Behaviour is ``lapsing`` if the segment is lapsing, else ``deal`` if it is deal
    sensitive, else ``core``; the action is :data:`ACTIONS` ``[(tier, behaviour)]``.
    These are descriptive starting points: whether contacting a segment pays is what
    Track 2's causal estimates decide.
    """
    rows = []
    for r in profiles.itertuples():
        behaviour = "lapsing" if r.lapsing else "deal" if r.deal_sensitive else "core"
        en, ko = ACTIONS[(r.value_tier, behaviour)]
        why = f"{r.value_tier} tier ({r.revenue_share:.1%} of revenue, {r.share:.1%} of households)"
        why += {"lapsing": "; lapsing", "deal": "; deal sensitive", "core": ""}[behaviour]
        rows.append(
            {
                "segment": r.segment,
                "segment_name": r.segment_name,
                "segment_name_ko": r.segment_name_ko,
                "value_tier": r.value_tier,
                "behaviour": behaviour,
                "recommended_action": en,
                "recommended_action_ko": ko,
                "rationale": why,
            }
        )
    return pd.DataFrame(rows)


def separation_table(features: pd.DataFrame, segments: np.ndarray, nmf_features) -> pd.DataFrame:
    """One-way ANOVA F and Kruskal-Wallis H of every numeric feature across segments.

    These are descriptive: the segments were built from (most of) these features, so
    large statistics and tiny p-values are expected and are not evidence that segments
    differ in the population. The table ranks which features separate the segments most
    (sorted by ANOVA F, largest first).
    """
    seg = np.asarray(segments)
    ids = np.unique(seg)
    nmf = set(nmf_features)
    rows = []
    for c in features.columns:
        if c == HOUSEHOLD or not pd.api.types.is_numeric_dtype(features[c]):
            continue
        x = _num(features, c).to_numpy()
        groups = [x[(seg == s) & np.isfinite(x)] for s in ids]
        groups = [g for g in groups if g.size]
        f = p = h = hp = np.nan
        if len(groups) >= 2 and np.ptp(np.concatenate(groups)) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f, p = stats.f_oneway(*groups)
                try:
                    h, hp = stats.kruskal(*groups)
                except ValueError:
                    pass
        rows.append({"feature": c, "anova_f": float(f), "anova_p": float(p), "kruskal_h": float(h),
                     "kruskal_p": float(hp), "nmf_input": c in nmf})
    df = pd.DataFrame(rows, columns=SEPARATION_COLUMNS)
    key = df["anova_f"].fillna(-np.inf).round(8)
    return df.assign(_k=-key).sort_values(["_k", "feature"], kind="mergesort").drop(columns="_k").reset_index(drop=True)


def profile_label(feature: str, lang: str = "en") -> str:
    """Readable label of a profile column (features and factor columns)."""
    return feature if feature.startswith("F") and feature[1:].isdigit() else feature_label(feature, lang)
