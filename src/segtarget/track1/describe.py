"""What sets each segment apart: standardised differences, names and behaviour-led actions.

A segment is described by how its households differ from the whole population, feature by
feature, on a common scale: the standardised difference ``d = (segment mean - population
mean) / population SD`` (Cohen's d against the population; 0.2 small, 0.5 medium, 0.8 large).
Names and actions come from the behaviour features (the NMF inputs) with the largest
``|d|``, never from the segment's value level, which is the separate value-tier axis
(:mod:`segtarget.track1.value_tiers`):

- name: the phrase of the most distinguishing feature and its direction, plus the second
  one when ``|d| >= SECOND_MIN_D`` (``"Health & beauty buyers, full-price shoppers"``); if
  two segments would share a name, a third feature is added, then the segment id;
- action: :data:`ACTIONS` of that most distinguishing (feature, direction), a starting
  point that follows from how the segment shops. Whether contacting it pays is Track 2's
  causal question.

Features without a phrase fall back to ``"high <label>"`` / ``"low <label>"``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from segtarget.core.labels import feature_label

SECOND_MIN_D = 0.25
MAX_NAME_FEATURES = 3
DIFFERENCE_COLUMNS = ["segment", "segment_name", "feature", "nmf_input", "segment_mean", "population_mean",
                      "population_sd", "std_diff", "rank"]

#: (feature, +1 / -1) -> (English, Korean) phrase naming a segment by that behaviour.
PHRASES: dict[tuple[str, int], tuple[str, str]] = {
    ("share_grocery", 1): ("Grocery-centred", "식료품 중심"),
    ("share_grocery", -1): ("light on grocery", "식료품 비중 낮음"),
    ("share_fresh", 1): ("Fresh-food lovers", "신선식품 선호"),
    ("share_fresh", -1): ("little fresh food", "신선식품 적음"),
    ("share_bakery", 1): ("Bakery fans", "베이커리 선호"),
    ("share_bakery", -1): ("little bakery", "베이커리 적음"),
    ("share_health_beauty", 1): ("Health & beauty buyers", "건강·뷰티 구매층"),
    ("share_health_beauty", -1): ("little health & beauty", "건강·뷰티 적음"),
    ("share_alcohol", 1): ("Drinks buyers", "주류 구매층"),
    ("share_alcohol", -1): ("no drinks", "주류 적음"),
    ("share_other", 1): ("Other-department shoppers", "기타 부문 구매층"),
    ("share_other", -1): ("few other-department trips", "기타 부문 적음"),
    ("discount_usage_pct", 1): ("Deal seekers", "할인 추구"),
    ("discount_usage_pct", -1): ("full-price shoppers", "정가 구매"),
    ("coupon_savings_ratio", 1): ("Coupon users", "쿠폰 활용"),
    ("coupon_savings_ratio", -1): ("no coupons", "쿠폰 미사용"),
    ("private_label_ratio", 1): ("Private-label fans", "자체 브랜드 선호"),
    ("private_label_ratio", -1): ("brand loyal", "제조사 브랜드 선호"),
    ("avg_products_per_basket", 1): ("Stock-up shoppers", "대량 장보기"),
    ("avg_products_per_basket", -1): ("small top-up baskets", "소량 보충 구매"),
    ("monetary_avg_basket_sales", 1): ("Big-basket shoppers", "고액 장바구니"),
    ("monetary_avg_basket_sales", -1): ("small baskets", "소액 장바구니"),
    ("purchase_regularity", 1): ("Weekly regulars", "매주 방문 단골"),
    ("purchase_regularity", -1): ("irregular visitors", "불규칙 방문"),
    ("days_between_purchases_avg", 1): ("Infrequent visitors", "드문 방문"),
    ("days_between_purchases_avg", -1): ("frequent visitors", "잦은 방문"),
}

#: (feature, +1 / -1) -> (English, Korean) action that follows from that behaviour.
ACTIONS: dict[tuple[str, int], tuple[str, str]] = {
    ("share_grocery", 1): ("Personalised offers on their regular staples; bundle fresh items into the grocery trip",
                           "정기 구매 식료품 개인화 혜택, 신선식품 묶음 제안"),
    ("share_grocery", -1): ("Cross-sell grocery staples they buy elsewhere", "타 매장에서 사는 식료품 교차 판매"),
    ("share_fresh", 1): ("Fresh-food promotions and recipes to keep the fresh trip here",
                         "신선식품 프로모션과 레시피로 신선 장보기 유지"),
    ("share_fresh", -1): ("Trial offers on produce and meat to win the fresh trip", "농산물·육류 체험 혜택으로 신선 장보기 유치"),
    ("share_bakery", 1): ("Bakery bundles and morning-visit offers", "베이커리 묶음과 아침 방문 혜택"),
    ("share_bakery", -1): ("Bakery sampling at checkout", "계산대 베이커리 시식"),
    ("share_health_beauty", 1): ("Loyalty on health & beauty lines; cross-sell grocery into the pharmacy trip",
                                 "건강·뷰티 로열티 혜택, 약국 방문에 식료품 교차 판매"),
    ("share_health_beauty", -1): ("Introduce health & beauty lines with bundled offers", "건강·뷰티 상품 묶음 혜택으로 소개"),
    ("share_alcohol", 1): ("Drinks-and-food pairing offers", "주류·음식 페어링 혜택"),
    ("share_alcohol", -1): ("No drinks offers; focus on their food basket", "주류 혜택 제외, 식품 장바구니 집중"),
    ("share_other", 1): ("Turn other-department trips (fuel, kiosk) into grocery baskets with cross-store offers",
                         "주유·키오스크 등 기타 부문 방문을 식료품 구매로 전환하는 교차 혜택"),
    ("share_other", -1): ("Offer the other departments (fuel, kiosk) as add-ons", "기타 부문(주유·키오스크) 부가 혜택 제안"),
    ("discount_usage_pct", 1): ("Targeted promotions in their categories; test that deals add sales before scaling",
                                "주요 카테고리 타깃 프로모션, 확대 전 매출 증분 검증"),
    ("discount_usage_pct", -1): ("Reward with service and perks, not discounts", "할인 대신 서비스·혜택으로 보상"),
    ("coupon_savings_ratio", 1): ("Digital coupons in their categories", "주요 카테고리 디지털 쿠폰"),
    ("coupon_savings_ratio", -1): ("Reach through channels other than coupons", "쿠폰 외 채널로 접촉"),
    ("private_label_ratio", 1): ("Extend the private-label range and value packs", "자체 브랜드 상품군·실속 팩 확대"),
    ("private_label_ratio", -1): ("Brand-funded offers on national brands", "제조사 브랜드 공동 프로모션"),
    ("avg_products_per_basket", 1): ("Multi-buy and bulk offers to keep the big stock-up trip here",
                                     "대량 장보기 유지를 위한 묶음·대용량 혜택"),
    ("avg_products_per_basket", -1): ("Convenience offers and basket-building incentives", "편의형 혜택과 장바구니 확대 유도"),
    ("monetary_avg_basket_sales", 1): ("Spend-threshold rewards to keep the big basket", "구매 금액 구간 보상으로 고액 장바구니 유지"),
    ("monetary_avg_basket_sales", -1): ("Spend-threshold offers to grow the basket", "구매 금액 구간 혜택으로 객단가 향상"),
    ("purchase_regularity", 1): ("Loyalty rewards; do not over-discount habitual visits", "로열티 보상, 습관적 방문에 과잉 할인 지양"),
    ("purchase_regularity", -1): ("Visit-frequency incentives and reminders", "방문 빈도 유도 혜택과 리마인드"),
    ("days_between_purchases_avg", 1): ("Reminders and time-limited offers to shorten the gap between visits",
                                        "리마인드와 기간 한정 혜택으로 방문 간격 단축"),
    ("days_between_purchases_avg", -1): ("Reward frequency and grow the basket", "잦은 방문 보상, 장바구니 확대"),
}


def std_differences(features: pd.DataFrame, segments: np.ndarray, columns) -> pd.DataFrame:
    """Segments x columns matrix of standardised differences against the population (NaN-aware).

    >>> import numpy as np, pandas as pd
    >>> std_differences(pd.DataFrame({"x": [0.0, 0.0, 2.0, 2.0]}), np.array([1, 1, 2, 2]), ["x"])["x"].tolist()
    [-1.0, 1.0]
    """
    X = features[list(columns)].apply(pd.to_numeric, errors="coerce").astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = X.mean()
        sd = X.std(ddof=0)
        seg_mean = X.groupby(np.asarray(segments)).mean()
    return (seg_mean - mean) / sd.where(sd > 0)


def _order(d: pd.Series) -> list[str]:
    key = -np.round(d.abs().fillna(-1).to_numpy(), 10)
    return [d.index[i] for i in np.lexsort((np.arange(len(d)), key))]


def _phrase(feature: str, sign: int) -> tuple[str, str]:
    if (feature, sign) in PHRASES:
        return PHRASES[(feature, sign)]
    word, word_ko = ("high", "높음") if sign > 0 else ("low", "낮음")
    return f"{word} {feature_label(feature)}", f"{feature_label(feature, 'ko')} {word_ko}"


def segment_names(D: pd.DataFrame) -> pd.DataFrame:
    """Names (EN, KO) from each segment's most distinguishing behaviour features.

    ``D`` is the segments x behaviour-features matrix of :func:`std_differences`.

    >>> import pandas as pd
    >>> D = pd.DataFrame({"share_fresh": [1.2, -0.1], "discount_usage_pct": [-0.6, 0.9]}, index=[1, 2])
    >>> segment_names(D)["segment_name"].tolist()
    ['Fresh-food lovers, full-price shoppers', 'Deal seekers']
    """
    orders = {s: _order(D.loc[s]) for s in D.index}
    n_used = {s: 1 + int(len(orders[s]) > 1 and abs(D.loc[s, orders[s][1]]) >= SECOND_MIN_D) for s in D.index}

    def make(s):
        parts = [_phrase(f, 1 if D.loc[s, f] >= 0 else -1) for f in orders[s][: n_used[s]]]
        en = parts[0][0][:1].upper() + parts[0][0][1:] + "".join(f", {p[0][:1].lower() + p[0][1:]}" for p in parts[1:])
        return en, " · ".join(p[1] for p in parts)

    for _ in range(D.shape[1]):
        en = {s: make(s)[0] for s in D.index}
        dup = {s for s in D.index if list(en.values()).count(en[s]) > 1}
        if not dup:
            break
        for s in dup:
            n_used[s] = min(n_used[s] + 1, D.shape[1], MAX_NAME_FEATURES)
    names = {s: make(s) for s in D.index}
    all_en = [n[0] for n in names.values()]
    rows = []
    for s in D.index:
        en, ko = names[s]
        if all_en.count(en) > 1:
            en, ko = f"{en} (S{s})", f"{ko} (S{s})"
        top = orders[s][0]
        rows.append({"segment": int(s), "segment_name": en, "segment_name_ko": ko, "top_feature": top,
                     "top_direction": 1 if D.loc[s, top] >= 0 else -1, "top_std_diff": float(D.loc[s, top])})
    return pd.DataFrame(rows)


def action(feature: str, sign: int) -> tuple[str, str]:
    """The behaviour-led action (EN, KO) for a segment set apart by ``feature`` in direction ``sign``."""
    if (feature, sign) in ACTIONS:
        return ACTIONS[(feature, sign)]
    word = "high" if sign > 0 else "low"
    return (f"Tailor offers to their distinguishing behaviour ({word} {feature_label(feature)})",
            f"구별되는 행동({_phrase(feature, sign)[1]})에 맞춘 혜택")


def differences_table(features: pd.DataFrame, segments: np.ndarray, names: pd.DataFrame, columns, nmf_inputs) -> pd.DataFrame:
    """Long table: every profiled column's standardised difference per segment, ranked by |d|."""
    seg = np.asarray(segments)
    D = std_differences(features, seg, columns)
    X = features[list(columns)].apply(pd.to_numeric, errors="coerce").astype(float)
    seg_mean = X.groupby(seg).mean()
    pop_mean, pop_sd = X.mean(), X.std(ddof=0)
    inputs = set(nmf_inputs)
    name = names.set_index("segment")["segment_name"]
    rows = []
    for s in D.index:
        for rank, f in enumerate(_order(D.loc[s]), start=1):
            rows.append({"segment": int(s), "segment_name": name.get(int(s)), "feature": f, "nmf_input": f in inputs,
                         "segment_mean": float(seg_mean.loc[s, f]), "population_mean": float(pop_mean[f]),
                         "population_sd": float(pop_sd[f]), "std_diff": float(D.loc[s, f]), "rank": rank})
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def top_features_text(D: pd.DataFrame, segment, n: int = 3) -> str:
    """``"share_health_beauty +2.03; discount_usage_pct -0.73"``: the n largest |d| of a segment."""
    return "; ".join(f"{f} {D.loc[segment, f]:+.2f}" for f in _order(D.loc[segment])[:n])
