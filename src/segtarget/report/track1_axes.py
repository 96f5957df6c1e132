"""Track 1 sections on the two axes, the choice of k and the original recipe, in EN and KO.

The segmentation has two axes: behaviour segments (NMF factors of scale-free features, then
K-means) and a per-household value tier (a stated RFM rule). This module writes what the
report says about them, every number read from ``results/`` and ``params.yaml``:

- method sentences: the behaviour inputs (:func:`behaviour_inputs_sentence`) and the value
  tier rule (:func:`value_tier_rule_sentence`);
- why k is what it is, read from the per-k table (:func:`k_choice_sentence`);
- segment x value tier: the cross-tab (:func:`value_tier_table`) and its reading
  (:func:`value_tier_reading`);
- the original recipe side by side and the bar the segmentation must clear are in
  :mod:`segtarget.report.track1_compare`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from segtarget.report.escape import md_escape
from segtarget.report.facts import read_params, truthy
from segtarget.report.labels import JACCARD_BANDS, feature_label, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table

TIERS = ("High", "Medium", "Low")
#: A segment with less than this share of High-tier households has "almost none"; one whose
#: most common tier holds at least SINGLE_TIER of its households is "almost a single tier".
NO_HIGH = 0.02
SINGLE_TIER = 0.95
#: Cohen's (1988) small / medium / large effect sizes for an association (w), divided by
#: sqrt(min(rows, columns) - 1) for Cramér's V.
COHEN_W = (0.1, 0.3, 0.5)


def _seg(params: Mapping | None) -> dict:
    return (params or {}).get("segmentation", {}) or {}


def stability_floors(params: Mapping | None) -> tuple[float, float]:
    seg = _seg(params)
    return float(seg.get("k_min_jaccard", JACCARD_BANDS[1])), float(seg.get("min_segment_share", 0.05))


def ks_words(ks, lang: str) -> str:
    """``k = 8, 9 and 10`` / ``k = 8, 9, 10``."""
    return "k = " + join_words([str(int(k)) for k in ks], lang)


def segments_words(ids, lang: str) -> str:
    """``segment 4`` / ``segments 4, 5 and 6`` / ``4, 5, 6번 세그먼트``."""
    ids = [str(int(i)) for i in ids]
    if lang == "en":
        return ("segment " if len(ids) == 1 else "segments ") + join_words(ids, lang)
    return ", ".join(ids) + "번 세그먼트"


def _pct_range(values, f: Formatter) -> str:
    lo, hi = min(values), max(values)
    if f.pct(lo, 0) == f.pct(hi, 0):
        return f.pct(hi, 0)
    return f"{f.pct(lo, 0)} to {f.pct(hi, 0)}" if f.lang == "en" else f"{f.pct(lo, 0)}–{f.pct(hi, 0)}"


def _name(res: Results, segment: int, lang: str) -> str:
    p = res.table("segment_profiles").set_index("segment")
    col = "segment_name_ko" if lang == "ko" and "segment_name_ko" in p else "segment_name"
    return md_escape(p.loc[int(segment), col])  # a name from data, put into prose


def seg_ref(res: Results, segment: int, lang: str) -> str:
    """``segment 2 (Weekly regulars)`` / ``2번 세그먼트(매주 방문 단골)``."""
    if lang == "en":
        return f"segment {int(segment)} ({_name(res, segment, lang)})"
    return f"{int(segment)}번 세그먼트({_name(res, segment, lang)})"


# --------------------------------------------------------------------------- method sentences


def behaviour_inputs_sentence(params: Mapping, lang: str = "en") -> str:
    """The NMF inputs in words: the category shares, then the other behaviour features."""
    feats = list(_seg(params).get("features", []))
    cats = [feature_label(x, lang) for x in feats if x.startswith("share_")]
    other = [feature_label(x, lang) for x in feats if not x.startswith("share_")]
    if lang == "en":
        parts = "; ".join(([f"the share of spend in {join_words(cats, lang)}"] if cats else [])
                          + ([join_words(other, lang)] if other else []))
        return (f"The segments are built from {len(feats)} features that describe how a household shops rather than "
                f"how much it buys: {parts}. All are shares, ratios or per-basket and per-visit "
                f"measures, so none of them grows simply because a household shops more.")
    parts = ([f"{', '.join(cats)}의 지출 비중"] if cats else []) + other
    return (f"세그먼트는 가구가 얼마나 많이 사는지가 아니라 어떻게 장보는지를 나타내는 특성 {len(feats)}개로 만든다. "
            f"{ko_particle(', '.join(parts), '이다')}. 모두 비중, 비율, 또는 장바구니당·방문당 지표여서 가구가 "
            f"더 많이 산다는 이유만으로 커지는 특성은 없다.")


def value_tier_rule_sentence(params: Mapping, lang: str = "en") -> str:
    """The RFM value-tier rule of ``params.yaml`` in words."""
    seg = _seg(params)
    feats = list(seg.get("tier_features", ["recency", "frequency", "monetary_sales"]))
    bins, hi, mid = int(seg.get("tier_bins", 5)), int(seg.get("tier_high_min", 12)), int(seg.get("tier_medium_min", 8))
    n = len(feats)
    high, medium, low = (label("tier", t, lang) for t in TIERS)
    if lang == "en":
        groups = {4: "quartiles", 5: "quintiles", 10: "deciles"}.get(bins, f"{bins} equal-count groups")
        return (f"How much a household is worth is a separate axis, the value tier, set by a stated RFM rule: "
                f"{join_words([feature_label(x, lang) for x in feats], lang)} are each scored 1 to {bins} by "
                f"household {groups} (for {feature_label(feats[0], lang)}, fewer days score higher), the RFM score is "
                f"their sum ({n} to {n * bins}), and a household is {high} when its score is at least {hi}, "
                f"{medium} when it is at least {mid}, and {low} otherwise. The value tier is not an input to the "
                f"segments; the two axes are crossed only afterwards (@tbl-tiers).")
    return (f"가구가 얼마나 가치 있는지는 별도의 축인 가치 등급으로 보며, 미리 정한 RFM 규칙으로 정한다. "
            f"{ko_particle(', '.join(feature_label(x, lang) for x in feats), '을')} 각각 가구 {bins}분위에 따라 "
            f"1–{bins}점으로 매기고({ko_particle(feature_label(feats[0], lang), '은')} 짧을수록 높은 점수), 세 점수의 합인 RFM 점수({n}–{n * bins}점)가 "
            f"{hi}점 이상이면 {high}, {mid}점 이상이면 {medium}, 그 밖은 {low} 등급이다. 가치 등급은 세그먼트의 입력에 "
            f"들어가지 않으며, 두 축은 세그먼트를 만든 뒤에만 교차해 본다(@tbl-tiers).")


# --------------------------------------------------------------------------- why this k


def _k_reasons(row: pd.Series, floors: tuple[float, float], cap: int | None) -> set[str]:
    jac, share = floors
    out = set()
    if is_na(row["min_jaccard"]) or row["min_jaccard"] < jac:
        out.add("jaccard")
    if is_na(row["min_share"]) or row["min_share"] < share:
        out.add("share")
    if not out and cap is not None and row["k"] > cap:
        out.add("gap")
    return out


def _k_detail(row: pd.Series, why: set[str], floors: tuple[float, float], cap, f: Formatter) -> str:
    """Why one k was not chosen, with its numbers."""
    k, jac, share = int(row["k"]), row["min_jaccard"], row["min_share"]
    if f.lang == "en":
        if why == {"share"}:
            return (f"k = {k} is stable (its least stable segment keeps a mean Jaccard of {f.num(jac, 3)}) but its "
                    f"smallest segment holds {f.pct(share)} of households, below {f.pct(floors[1], 0)}")
        if why == {"jaccard"}:
            return (f"k = {k} gives every segment enough households but its least stable segment keeps a mean "
                    f"Jaccard of only {f.num(jac, 3)}, below {f.num(floors[0], 2)}")
        if why == {"gap"}:
            return f"k = {k} meets both floors but lies above the gap statistic's k = {cap}"
        return (f"k = {k} fails both floors (least stable segment {f.num(jac, 3)}, smallest segment "
                f"{f.pct(share)})")
    kk = f"k = {k}"
    if why == {"share"}:
        return (f"{ko_particle(kk, '은')} 안정적이지만(가장 불안정한 세그먼트의 평균 Jaccard {f.num(jac, 3)}) 가장 작은 "
                f"세그먼트가 가구의 {f.pct(share)}에 그쳐 {f.pct(floors[1], 0)}에 못 미친다")
    if why == {"jaccard"}:
        return (f"{ko_particle(kk, '은')} 모든 세그먼트가 충분한 가구를 담지만 가장 불안정한 세그먼트의 평균 Jaccard가 "
                f"{f.num(jac, 3)}로 {f.num(floors[0], 2)}에 못 미친다")
    if why == {"gap"}:
        return f"{ko_particle(kk, '은')} 두 기준을 모두 충족하지만 갭 통계량의 k = {cap}보다 크다"
    return (f"{ko_particle(kk, '은')} 두 기준을 모두 충족하지 못한다(가장 불안정한 세그먼트 {f.num(jac, 3)}, 가장 작은 "
            f"세그먼트 {f.pct(share)})")


_GROUP_TEXT = {
    "en": {frozenset({"jaccard", "share"}): "fail both floors", frozenset({"jaccard"}): "fall short of the Jaccard floor",
           frozenset({"share"}): "have a segment below the share floor", frozenset({"gap"}): "lie above the gap cap"},
    "en_one": {frozenset({"jaccard", "share"}): "fails both floors", frozenset({"jaccard"}): "falls short of the Jaccard "
               "floor", frozenset({"share"}): "has a segment below the share floor", frozenset({"gap"}): "lies above the "
               "gap cap"},
    "ko": {frozenset({"jaccard", "share"}): "두 기준을 모두 충족하지 못한다", frozenset({"jaccard"}): "Jaccard 기준에 못 미친다",
           frozenset({"share"}): "비중 기준에 못 미치는 세그먼트가 있다", frozenset({"gap"}): "갭 통계량의 상한을 넘는다"},
}


def k_choice_sentence(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """Why the chosen k, read from ``cluster_selection.csv``: which k meet the ``max_stable``
    floors, why the next larger k does not qualify, and whether the gap cap binds. Empty
    when the table has no per-k stability columns (another k rule)."""
    t = res.table("cluster_selection").sort_values("k").reset_index(drop=True)
    if not {"min_jaccard", "min_share"} <= set(t.columns):
        return ""
    params = read_params(res) if params is None else params
    floors = stability_floors(params)
    f = Formatter(lang)
    k = int(t.loc[[truthy(v) for v in t["selected"]], "k"].iloc[0]) if "selected" in t else int(res.metric("track1.k"))
    cap = int(t["gap_cap"].dropna().iloc[0]) if "gap_cap" in t and t["gap_cap"].notna().any() else None
    reasons = {int(r.k): _k_reasons(t.loc[i], floors, None) for i, r in t.iterrows()}
    passing = [kk for kk, why in reasons.items() if not why]
    chosen = t.set_index("k").loc[k]
    n_res = int(chosen["k_stability_resamples"]) if "k_stability_resamples" in chosen else \
        _seg(params).get("k_stability_resamples", f.na)
    en = lang == "en"
    out = []
    if passing:
        out.append(f"Of the {len(t)} values of k tried, {ks_words(passing, lang)} meet both floors." if en else
                   f"시도한 k {len(t)}개 가운데 두 기준을 모두 충족하는 것은 {ko_particle(ks_words(passing, lang), '이다')}.")
    if k in passing:
        capped = cap is not None and any(kk > cap for kk in passing)
        if en:
            out.append(f"k = {k} is the largest of them{' within the gap cap' if capped else ''}, so the rule chose it: "
                       f"its least stable segment keeps a mean Jaccard of {f.num(chosen['min_jaccard'], 3)} over "
                       f"{n_res} resamples and its "
                       f"smallest segment holds {f.pct(chosen['min_share'])} of households.")
        else:
            out.append(f"그중 가장 큰 {ko_particle(f'k = {k}', '이')} {'갭 상한 안에서 ' if capped else ''}선택되었다. 재표본 "
                       f"{n_res}개에서 가장 불안정한 세그먼트의 평균 Jaccard는 {f.num(chosen['min_jaccard'], 3)}, 가장 작은 세그먼트의 "
                       f"비중은 {ko_particle(f.pct(chosen['min_share']), '이다')}.")
    else:
        out.append(f"No k in the grid meets both floors, so the rule fell back to k = {k}, whose least stable segment "
                   f"is the most stable on offer ({f.num(chosen['min_jaccard'], 3)}); read the segments with that in "
                   f"mind." if en else
                   f"두 기준을 모두 충족하는 k가 없어, 규칙은 가장 불안정한 세그먼트의 Jaccard가 가장 높은 "
                   f"{ko_particle(f'k = {k}', '을')} 대신 골랐다({f.num(chosen['min_jaccard'], 3)}). 세그먼트를 읽을 때 "
                   f"이 점을 감안해야 한다.")
    above = [(int(r.k), _k_reasons(t.loc[i], floors, cap)) for i, r in t.iterrows() if r.k > k]
    if above and k in passing:
        first_k, first_why = above[0]
        parts = [_k_detail(t.loc[t["k"] == first_k].iloc[0], first_why, floors, cap, f)]
        groups: dict[frozenset, list[int]] = {}
        for kk, why in above[1:]:
            groups.setdefault(frozenset(why), []).append(int(kk))
        for why, ks in groups.items():
            text = _GROUP_TEXT["en_one" if en and len(ks) == 1 else lang].get(why, "")
            parts.append(f"{ks_words(ks, lang)} {text}" if en else f"{ko_particle(ks_words(ks, lang), '은')} {text}")
        out.append(("; ".join(parts) + ".") if en else (". ".join(parts) + "."))
    if cap is not None and passing:
        binds = [kk for kk in passing if kk > cap]
        if en:
            out.append(f"The gap statistic's k is {cap}, which rules out {ks_words(binds, lang)} although "
                       f"{'it meets' if len(binds) == 1 else 'they meet'} both floors." if binds else
                       f"The gap statistic's k is {cap}, at or above every k that meets the floors, so its cap does "
                       f"not bind here.")
        else:
            out.append(f"갭 통계량이 고른 k는 {cap}이어서, 두 기준을 충족하는 {ks_words(binds, lang)}도 제외되었다." if binds else
                       f"갭 통계량이 고른 k는 {ko_particle(cap, '으로')} 기준을 충족하는 어떤 k보다도 작지 않아, 이번 "
                       f"실행에서는 상한이 결과를 바꾸지 않았다.")
    return " ".join(out)


# --------------------------------------------------------------------------- segments x value tiers


def _crosstab(res: Results) -> pd.DataFrame:
    t = res.table("segment_value_tiers")
    return t[t["value_tier"].isin(TIERS)]


def value_tier_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """Segment x value tier, two rows per segment: each tier's share of the segment's
    households, and each segment and tier's share of all revenue; last, all households."""
    t = _crosstab(res)
    hh = t.pivot(index="segment", columns="value_tier", values="share_of_segment").reindex(columns=list(TIERS))
    rev = t.pivot(index="segment", columns="value_tier", values="revenue_share").reindex(columns=list(TIERS))
    names = t.drop_duplicates("segment").set_index("segment")
    col = "segment_name_ko" if lang == "ko" and "segment_name_ko" in names else "segment_name"
    en = lang == "en"
    what = (("households (share of segment)", "revenue (share of all revenue)") if en else
            ("가구 (세그먼트 내 비중)", "매출 (전체 매출 대비 비중)"))
    rows = []
    for seg in hh.index:
        rows.append({"segment": str(int(seg)), "name": names.loc[seg, col], "what": what[0], **hh.loc[seg].to_dict()})
        rows.append({"segment": "", "name": "", "what": what[1], **rev.loc[seg].to_dict()})
    total = t.groupby("value_tier")[["share_of_households", "revenue_share"]].sum().reindex(list(TIERS))
    rows.append({"segment": "", "name": "All households" if en else "전체 가구",
                 "what": "households (share of all)" if en else "가구 (전체 가구 대비 비중)",
                 **total["share_of_households"].to_dict()})
    rows.append({"segment": "", "name": "", "what": what[1], **total["revenue_share"].to_dict()})
    df = pd.DataFrame(rows, columns=["segment", "name", "what", *TIERS])
    headers = {"segment": "Seg." if en else "번호", "name": "Segment" if en else "세그먼트",
               "what": "Measure" if en else "구분", **{x: label("tier", x, lang) for x in TIERS}}
    fmt = {"segment": "text", "name": "text", "what": "text", **{x: "pct" for x in TIERS}}
    return pipe_table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def cramers_v(counts: pd.DataFrame) -> float:
    """Cramér's V of a contingency table of counts (0: the tier mix is the same in every
    segment; 1: the segment fixes the tier). Rows or columns that are all zero are dropped.

    >>> cramers_v(pd.DataFrame([[10, 0], [0, 10]])), cramers_v(pd.DataFrame([[5, 5], [5, 5]]))
    (1.0, 0.0)
    """
    x = counts.to_numpy(dtype=float)
    x = x[x.sum(axis=1) > 0][:, x.sum(axis=0) > 0]
    n = x.sum()
    if n == 0 or min(x.shape) < 2:
        return float("nan")
    expected = np.outer(x.sum(axis=1), x.sum(axis=0)) / n
    chi2 = float(((x - expected) ** 2 / expected).sum())
    return round(math.sqrt(chi2 / (n * (min(x.shape) - 1))), 12)


def association_strength(v: float, n_tiers: int = len(TIERS)) -> str:
    """Cohen's reading of Cramér's V: ``negligible``, ``small``, ``medium`` or ``large``."""
    bands = [w / math.sqrt(max(n_tiers - 1, 1)) for w in COHEN_W]
    if is_na(v) or v < bands[0]:
        return "negligible"
    return "small" if v < bands[1] else "medium" if v < bands[2] else "large"


_STRENGTH_KO = {"negligible": "거의 없는", "small": "약한", "medium": "중간 정도의", "large": "강한"}


@dataclass
class TierReading:
    """What the segment x value tier cross-tab says, language-free."""

    cramers_v: float
    strength: str
    dominant: pd.DataFrame  # segment, tier, share (the most common tier of each segment)
    top_high_segment: int
    top_high_revenue: float  # that segment's High-tier revenue, share of all revenue
    high_revenue_total: float  # High tier's share of all revenue
    high_households: float  # High tier's share of households
    spread: dict[str, int]  # tier -> segments holding at least min_share of that tier's households
    min_share: float
    no_high: pd.Series  # High-tier share of the segments with almost none (below NO_HIGH), by segment


def tier_reading(res: Results, params: Mapping | None = None) -> TierReading:
    t = _crosstab(res)
    counts = t.pivot(index="segment", columns="value_tier", values="households").reindex(columns=list(TIERS)).fillna(0)
    v = cramers_v(counts)
    share = t.pivot(index="segment", columns="value_tier", values="share_of_segment").reindex(columns=list(TIERS))
    dominant = pd.DataFrame({"segment": share.index, "tier": share.idxmax(axis=1).values,
                             "share": share.max(axis=1).values})
    high = t[t["value_tier"] == "High"].sort_values(["revenue_share", "segment"], ascending=[False, True])
    floor = stability_floors(read_params(res) if params is None else params)[1]
    by_tier = counts / counts.sum(axis=0).replace(0, np.nan)
    spread = {x: int((by_tier[x] >= floor).sum()) for x in TIERS}
    return TierReading(v, association_strength(v, len(TIERS)), dominant, int(high["segment"].iloc[0]),
                       float(high["revenue_share"].iloc[0]), float(high["revenue_share"].sum()),
                       float(high["share_of_households"].sum()), spread, floor, share["High"][share["High"] < NO_HIGH])


def value_tier_reading(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """Whether the behaviour segments cut across the value tiers, which tier dominates
    where, and which segment holds the most High-tier revenue."""
    r = tier_reading(res, params)
    f = Formatter(lang)
    en = lang == "en"
    if is_na(r.cramers_v):
        return ("Every household falls in the same value tier, so crossing the tiers with the segments says nothing "
                "here (@tbl-tiers, @fig-tiers)." if en else
                "모든 가구가 같은 가치 등급에 속해, 세그먼트와 등급을 교차해도 알 수 있는 것이 없다(@tbl-tiers, @fig-tiers).")
    groups = []
    for tier in TIERS:
        d = r.dominant[r.dominant["tier"] == tier]
        if len(d):
            rng = _pct_range(d["share"], f)
            groups.append(f"{label('tier', tier, lang)} in {segments_words(d['segment'], lang)} ({rng} of "
                          f"{'its' if len(d) == 1 else 'their'} households)"
                          if en else f"{segments_words(d['segment'], lang)}는 {label('tier', tier, lang)}(가구의 {rng})")
    v_text = f.num(r.cramers_v, 2)
    top_share = float(r.dominant["share"].max())
    single = int((r.dominant["share"] >= SINGLE_TIER).sum())
    no_high = r.no_high
    if en:
        verdict = {
            "negligible": "The behaviour segments cut across the value tiers: every segment has much the same tier mix",
            "small": "The behaviour segments mostly cut across the value tiers: their tier mixes differ only a little",
            "medium": "The behaviour segments are related to value, though they do not follow the tiers",
            "large": "The behaviour segments are strongly related to value",
        }[r.strength]
        text = (f"{verdict} (Cramér's V = {v_text}, where 0 means the same tier mix in every segment and 1 means the "
                f"segment fixes the tier; @tbl-tiers, @fig-tiers). The most common tier is {'; '.join(groups)}. ")
        if len(no_high):
            text += (f"{segments_words(no_high.index, lang).capitalize()} {'has' if len(no_high) == 1 else 'have'} almost no "
                     f"High-tier households (at most {f.pct(no_high.max())}). ")
        text += (f"{single} segment{' is' if single == 1 else 's are'} almost entirely a single tier. " if single else
                 f"Still, no segment is a single tier (the most common tier of a segment holds at most "
                 f"{f.pct(top_share, 0)} of its households), and read the other way each tier spreads over several "
                 f"segments (counting those with at least {f.pct(r.min_share, 0)} of the tier's households: "
                 f"{join_words([f'{r.spread[x]} for ' + label('tier', x, lang) for x in TIERS], lang)}). Within a "
                 f"tier, the segments still say how to talk to a household. ")
        if not r.high_revenue_total > 0:
            return text.rstrip()
        ref = seg_ref(res, r.top_high_segment, lang)
        text += (f"{ref[0].upper()}{ref[1:]} holds "
                 f"the most High-tier revenue: {f.pct(r.top_high_revenue)} of all revenue, "
                 f"{f.pct(r.top_high_revenue / r.high_revenue_total, 0)} of "
                 f"what the High tier spends (the High tier as a whole is {f.pct(r.high_households)} of households and "
                 f"{f.pct(r.high_revenue_total)} of revenue).")
        return text
    verdict = {
        "negligible": "행동 세그먼트는 가치 등급을 가로지른다. 세그먼트마다 등급 구성이 거의 같다",
        "small": "행동 세그먼트는 대체로 가치 등급을 가로지른다. 세그먼트 사이에 등급 구성의 차이가 작다",
        "medium": "행동 세그먼트는 가치와 어느 정도 관련되지만 등급을 그대로 따르지는 않는다",
        "large": "행동 세그먼트는 가치와 강하게 관련된다",
    }[r.strength]
    text = (f"{verdict}(Cramér의 V = {v_text}, 0이면 모든 세그먼트의 등급 구성이 같고 1이면 세그먼트가 등급을 결정한다. "
            f"@tbl-tiers, @fig-tiers). 세그먼트별로 가장 많은 등급을 보면 {ko_particle(', '.join(groups), '이다')}. ")
    if len(no_high):
        text += f"{segments_words(no_high.index, lang)}에는 고가치 가구가 거의 없다(많아야 {f.pct(no_high.max())}). "
    text += (f"세그먼트 {single}개는 거의 한 등급으로만 이루어져 있다. " if single else
             f"그래도 한 등급으로만 이루어진 세그먼트는 없고(가장 많은 등급도 세그먼트 가구의 {f.pct(top_share, 0)} 이하), "
             f"거꾸로 보면 각 등급이 여러 세그먼트에 걸쳐 있다. 등급마다 그 등급 가구의 {f.pct(r.min_share, 0)} 이상을 "
             f"담은 세그먼트 수는 " + ", ".join(f"{label('tier', x, lang)} {r.spread[x]}개" for x in TIERS) +
             "다. 같은 등급 안에서도 세그먼트는 가구에 어떻게 다가갈지를 알려 준다. ")
    if not r.high_revenue_total > 0:
        return text.rstrip()
    ratio = r.top_high_revenue / r.high_revenue_total
    text += (f"고가치 등급 매출이 가장 많은 곳은 {ko_particle(seg_ref(res, r.top_high_segment, lang), '으로')} 전체 매출의 "
             f"{f.pct(r.top_high_revenue)}, 고가치 등급 매출의 {f.pct(ratio, 0)}를 차지한다(고가치 등급 전체는 가구의 "
             f"{f.pct(r.high_households)}, 매출의 {f.pct(r.high_revenue_total)}).")
    return text


def value_tier_summary(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """One sentence for the summary: how strongly segments and value tiers are related."""
    r = tier_reading(res, params)
    f = Formatter(lang)
    if is_na(r.cramers_v):
        return ("Every household falls in the same value tier (@tbl-tiers)." if lang == "en" else
                "모든 가구가 같은 가치 등급에 속한다(@tbl-tiers).")
    low = r.dominant[r.dominant["tier"] == "Low"]["segment"]
    if lang == "en":
        text = {"negligible": "The segments cut across the value tiers", "small": "The segments mostly cut across the "
                "value tiers", "medium": "The segments are related to value without following the tiers",
                "large": "The segments are strongly related to value"}[r.strength]
        text += f" (Cramér's V = {f.num(r.cramers_v, 2)}; @tbl-tiers)"
        if len(low):
            text += f": {len(low)} of {len(r.dominant)} are mostly Low tier"
        return text + (", but no segment is a single tier." if r.dominant["share"].max() < SINGLE_TIER else ".")
    text = {"negligible": "세그먼트는 가치 등급을 가로지른다", "small": "세그먼트는 대체로 가치 등급을 가로지른다",
            "medium": "세그먼트는 가치와 어느 정도 관련되지만 등급을 그대로 따르지는 않는다",
            "large": "세그먼트는 가치와 강하게 관련된다"}[r.strength]
    text += f"(Cramér의 V = {f.num(r.cramers_v, 2)}, @tbl-tiers)"
    if len(low):
        text += f". {len(r.dominant)}개 가운데 {len(low)}개는 주로 저가치 등급이다"
    return text + (". 그래도 한 등급으로만 이루어진 세그먼트는 없다." if r.dominant["share"].max() < SINGLE_TIER else ".")
