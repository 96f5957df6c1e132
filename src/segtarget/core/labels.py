"""Display labels shared by figures and reports: one place for the words a reader sees.

The analysis modules name things by column (``share_grocery``); figures (Track 1 and 2) and
the report documents show the same readable label in English or Korean, so the table lives
here, in ``core``, where every area may read it.
"""

from __future__ import annotations

#: Short readable labels (English, Korean) for the 33 features, used in factor and
#: segment names and in figure labels. Unknown features fall back to their column name.
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "recency": ("days since last visit", "마지막 구매 후 경과일"),
    "recency_weeks": ("weeks since last visit", "마지막 구매 후 경과주"),
    "active_last_4w": ("active last 4 weeks", "최근 4주 활동"),
    "active_last_12w": ("active last 12 weeks", "최근 12주 활동"),
    "days_between_purchases_avg": ("days between visits", "구매 간격"),
    "days_between_purchases_std": ("visit gap variability", "구매 간격 변동"),
    "frequency": ("visits", "방문 횟수"),
    "frequency_per_week": ("visits per week", "주간 방문 횟수"),
    "frequency_per_month": ("visits per month", "월간 방문 횟수"),
    "transaction_count": ("purchase lines", "구매 품목 수"),
    "weeks_with_purchase": ("active weeks", "구매 주 수"),
    "purchase_regularity": ("regularity", "구매 규칙성"),
    "monetary_sales": ("spend", "구매액"),
    "monetary_actual": ("net spend", "실구매액"),
    "monetary_avg_basket_sales": ("basket value", "객단가"),
    "monetary_avg_basket_actual": ("net basket value", "순 객단가"),
    "monetary_std": ("basket value spread", "객단가 변동"),
    "monetary_per_week": ("spend per week", "주간 구매액"),
    "coupon_savings_ratio": ("coupon savings", "쿠폰 절감률"),
    "discount_rate": ("discount rate", "할인율"),
    "discount_usage_pct": ("deal usage", "할인 이용률"),
    "private_label_ratio": ("private label", "자체 브랜드"),
    "n_departments": ("department breadth", "구매 부문 수"),
    "n_products": ("product range", "구매 상품 수"),
    "avg_items_per_basket": ("items per basket", "장바구니당 수량"),
    "avg_products_per_basket": ("products per basket", "장바구니당 상품 수"),
    "share_grocery": ("grocery", "식료품"),
    "share_fresh": ("fresh food", "신선식품"),
    "share_bakery": ("bakery", "베이커리"),
    "share_health_beauty": ("health & beauty", "건강·뷰티"),
    "share_alcohol": ("alcohol", "주류"),
    "share_other": ("other departments", "기타 부문"),
    "week_coverage": ("week coverage", "주간 커버리지"),
}


def feature_label(feature: str, lang: str = "en") -> str:
    """Readable label of a feature in English (``en``) or Korean (``ko``).

    >>> feature_label("share_grocery"), feature_label("share_grocery", "ko")
    ('grocery', '식료품')
    >>> feature_label("my_feature")
    'my feature'
    """
    en, ko = FEATURE_LABELS.get(feature, (feature.replace("_", " "),) * 2)
    return ko if lang == "ko" else en
