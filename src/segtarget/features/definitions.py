"""What the 33 customer features are: names, groups, categories and their dictionary.

Why this module exists: the feature names and definitions are facts that the feature query,
the segmentation recipes, the cohort covariates and the report all read. They live apart
from the Ibis expression that computes them (:mod:`segtarget.features.expressions`), so a
reader can find what a feature means without reading the query.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from segtarget.data.columns import BASKET, DAY, HOUSEHOLD, PRODUCT, WEEK


def _upper_list(values: Iterable[str]) -> list[str]:
    return sorted({str(v).strip().upper() for v in values})


#: Weeks per month used by ``frequency_per_month`` (the original's constant).
WEEKS_PER_MONTH = 4.33


#: Money is summed as exact integers of 1/MONEY_SCALE currency units (cents): sums do not
#: depend on the summation order, so reruns on several threads give identical bytes.
MONEY_SCALE = 100


#: The 33 features, in output order, by group.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": (
        "recency",
        "recency_weeks",
        "active_last_4w",
        "active_last_12w",
        "days_between_purchases_avg",
        "days_between_purchases_std",
    ),
    "frequency": (
        "frequency",
        "frequency_per_week",
        "frequency_per_month",
        "transaction_count",
        "weeks_with_purchase",
        "purchase_regularity",
    ),
    "monetary": (
        "monetary_sales",
        "monetary_actual",
        "monetary_avg_basket_sales",
        "monetary_avg_basket_actual",
        "monetary_std",
        "monetary_per_week",
        "coupon_savings_ratio",
    ),
    "behavioural": (
        "discount_rate",
        "discount_usage_pct",
        "private_label_ratio",
        "n_departments",
        "n_products",
        "avg_items_per_basket",
        "avg_products_per_basket",
    ),
    "category": (
        "share_grocery",
        "share_fresh",
        "share_bakery",
        "share_health_beauty",
        "share_alcohol",
        "share_other",
    ),
    "time": ("week_coverage",),
}


#: The 33 feature names in their fixed output order (after ``household_id``).
FEATURES: tuple[str, ...] = tuple(f for group in FEATURE_GROUPS.values() for f in group)


#: Auxiliary per-window fields (not features): ``auxiliary=True`` adds them.
AUXILIARY: tuple[str, ...] = ("tenure", "tenure_weeks", "max_day", "max_week")


#: Macro categories of the share features: department -> category. Any other
#: department, and a missing one, is ``other``.
MACRO_CATEGORIES: dict[str, tuple[str, ...]] = {
    "grocery": ("GROCERY", "FROZEN GROCERY", "GRO BAKERY"),
    "fresh": (
        "PRODUCE", "MEAT", "MEAT-PCKGD", "MEAT-WHSE", "PORK", "SEAFOOD", "SEAFOOD-PCKGD",
        "DELI", "DELI/SNACK BAR", "DAIRY DELI", "CHEF SHOPPE", "SALAD BAR",
    ),
    "bakery": ("PASTRY",),
    "health_beauty": ("DRUG GM", "NUTRITION", "COSMETICS", "RX", "PHARMACY SUPPLY", "HBC"),
    "alcohol": ("SPIRITS",),
}


SHARE_CATEGORIES: tuple[str, ...] = (*MACRO_CATEGORIES, "other")


#: Defaults of ``features.quantity_exclude_departments`` / ``_sub_commodities``:
#: fuel lines (dunnhumby's KIOSK-GAS, the Complete Journey's FUEL, and gasoline sold
#: under other departments such as the Complete Journey's MISCELLANEOUS).
DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS: tuple[str, ...] = ("KIOSK-GAS", "FUEL")


DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES: tuple[str, ...] = ("GASOLINE-REG UNLEADED",)


#: Columns the feature code reads from each canonical table.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": (
        HOUSEHOLD, BASKET, DAY, WEEK, PRODUCT, "quantity", "sales_value", "retail_disc", "coupon_disc",
    ),
    "products": (PRODUCT, "department", "sub_commodity", "brand"),
}


_WINDOW_COLUMNS = (HOUSEHOLD, "start_day", "end_day")


#: Column names the feature expression uses internally; window keys must avoid them.
_INTERNAL = frozenset({
    "p_id", "p_dept", "p_macro", "p_private", "p_branded", "p_qty_excluded", "p_lines", "p_sales",
    "p_quantity", "w_id", "sales_c", "coupon_c", "retail_c", "discounted", "basket_day", "basket_c", "gap",
})


_DEFINITIONS: dict[str, tuple[str, str]] = {
    "recency": ("max_day - last purchase day (max_day = window end day; full data: the data's last day)", "days"),
    "recency_weeks": ("max_week - last purchase week (max_week = latest week of any line on or before max_day)", "weeks"),
    "active_last_4w": ("1 if last purchase week >= max_week - 4, else 0", "0/1"),
    "active_last_12w": ("1 if last purchase week >= max_week - 12, else 0", "0/1"),
    "days_between_purchases_avg": ("mean gap between consecutive distinct basket days (basket day = first day of the basket); NaN with fewer than 2 days", "days"),
    "days_between_purchases_std": ("population std (ddof=0) of those gaps; 0 with one gap; NaN with fewer than 2 days", "days"),
    "frequency": ("number of distinct baskets", "baskets"),
    "frequency_per_week": ("frequency / tenure_weeks (tenure_weeks = max_week - first purchase week + 1)", "baskets per week"),
    "frequency_per_month": (f"frequency_per_week x {WEEKS_PER_MONTH}", "baskets per month"),
    "transaction_count": ("number of transaction lines", "lines"),
    "weeks_with_purchase": ("number of distinct weeks with a purchase", "weeks"),
    "purchase_regularity": ("weeks_with_purchase / tenure_weeks", "share of weeks"),
    "monetary_sales": ("sum of sales_value", "currency"),
    "monetary_actual": ("sum of sales_value - coupon_disc (what the household paid)", "currency"),
    "monetary_avg_basket_sales": ("monetary_sales / frequency (mean basket sales)", "currency per basket"),
    "monetary_avg_basket_actual": ("monetary_actual / frequency", "currency per basket"),
    "monetary_std": ("sample std (ddof=1) of basket sales; NaN with one basket", "currency"),
    "monetary_per_week": ("monetary_sales / tenure_weeks", "currency per week"),
    "coupon_savings_ratio": ("sum of coupon_disc / monetary_sales; NaN when sales are 0", "ratio"),
    "discount_rate": ("(sum retail_disc + sum coupon_disc) / (sales + retail_disc + coupon_disc); coupon_match_disc excluded; NaN when the denominator is 0", "ratio"),
    "discount_usage_pct": ("share of lines with a retail (loyalty) discount > 0", "share of lines"),
    "private_label_ratio": ("lines of Private brand / lines with a known brand (Private or National); NaN with none", "share of lines"),
    "n_departments": ("number of distinct known departments", "departments"),
    "n_products": ("number of distinct products", "products"),
    "avg_items_per_basket": ("sum of quantity over lines not excluded (departments: {dept}; sub-commodities: {sub}) / frequency", "items per basket"),
    "avg_products_per_basket": ("n_products / frequency", "products per basket"),
    "share_other": ("sales share of every other department, of products without a department and of unknown products; NaN when sales are 0", "share of sales"),
    "week_coverage": ("weeks_with_purchase / (last purchase week - first purchase week + 1)", "share of weeks"),
}


for _name, _depts in MACRO_CATEGORIES.items():
    _DEFINITIONS[f"share_{_name}"] = (
        f"sales share of departments {', '.join(_depts)}; NaN when sales are 0",
        "share of sales",
    )


def feature_dictionary(
    quantity_exclude_departments: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    quantity_exclude_sub_commodities: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
) -> pd.DataFrame:
    """One row per feature: name, group, definition, unit (in :data:`FEATURES` order).

    Examples
    --------
    >>> d = feature_dictionary()
    >>> len(d), list(d.columns)
    (33, ['name', 'group', 'definition', 'unit'])
    """
    dept = ", ".join(_upper_list(quantity_exclude_departments)) or "none"
    sub = ", ".join(_upper_list(quantity_exclude_sub_commodities)) or "none"
    rows = []
    for group, names in FEATURE_GROUPS.items():
        for name in names:
            definition, unit = _DEFINITIONS[name]
            rows.append(
                {"name": name, "group": group, "definition": definition.format(dept=dept, sub=sub), "unit": unit}
            )
    return pd.DataFrame(rows, columns=["name", "group", "definition", "unit"])
