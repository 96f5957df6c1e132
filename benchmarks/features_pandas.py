"""A straightforward pandas reference implementation of the 33 customer features.

This is the "row-by-row pandas" baseline of the speed bar (the feature stage must be at
least 10x faster) and the independent oracle of the window property test: it follows the
definitions of :mod:`segtarget.features` literally, one household at a time
(``groupby().apply``), with its own formulas (numpy diffs of sorted basket days, pandas
std of basket totals) instead of the Ibis expressions.

Run on the canonical parquet tables::

    python benchmarks/features_pandas.py INTERIM_DIR OUT.csv
"""

from __future__ import annotations

import sys
from typing import Iterable

import numpy as np
import pandas as pd

from segtarget.features import (
    DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    FEATURES,
    MACRO_CATEGORIES,
    WEEKS_PER_MONTH,
)

NAN = float("nan")


def _div(num: float, den: float) -> float:
    return float(num) / float(den) if den != 0 else NAN


def _macro(department) -> str:
    if isinstance(department, str):
        d = department.strip().upper()
        for name, depts in MACRO_CATEGORIES.items():
            if d in depts:
                return name
    return "other"


def _one_household(g: pd.DataFrame, max_day: int, max_week: int) -> pd.Series:
    """All 33 features of one household's lines (already restricted to its window)."""
    baskets = g.groupby("basket_id").agg(day=("day", "min"), sales=("sales_value", "sum"))
    basket_days = np.sort(baskets["day"].unique())
    gaps = np.diff(basket_days).astype(float)
    n_baskets = len(baskets)
    first_week, last_week = g["week"].min(), g["week"].max()
    tenure_weeks = max_week - first_week + 1
    n_weeks = g["week"].nunique()
    sales = g["sales_value"].sum()
    coupon = g["coupon_disc"].sum()
    retail = g["retail_disc"].sum()
    actual = (g["sales_value"] - g["coupon_disc"]).sum()
    n_private = int((g["brand"] == "Private").sum())
    n_branded = int(g["brand"].isin(["Private", "National"]).sum())
    n_products = g["product_id"].nunique()
    items = g.loc[~g["qty_excluded"], "quantity"].sum()
    by_macro = g.groupby("macro")["sales_value"].sum()
    f = {
        "recency": max_day - g["day"].max(),
        "recency_weeks": max_week - last_week,
        "active_last_4w": float(last_week >= max_week - 4),
        "active_last_12w": float(last_week >= max_week - 12),
        "days_between_purchases_avg": gaps.mean() if len(gaps) else NAN,
        "days_between_purchases_std": gaps.std(ddof=0) if len(gaps) else NAN,
        "frequency": n_baskets,
        "frequency_per_week": n_baskets / tenure_weeks,
        "frequency_per_month": n_baskets / tenure_weeks * WEEKS_PER_MONTH,
        "transaction_count": len(g),
        "weeks_with_purchase": n_weeks,
        "purchase_regularity": n_weeks / tenure_weeks,
        "monetary_sales": sales,
        "monetary_actual": actual,
        "monetary_avg_basket_sales": baskets["sales"].mean(),
        "monetary_avg_basket_actual": actual / n_baskets,
        "monetary_std": baskets["sales"].std(ddof=1) if n_baskets > 1 else NAN,
        "monetary_per_week": sales / tenure_weeks,
        "coupon_savings_ratio": _div(coupon, sales),
        "discount_rate": _div(retail + coupon, sales + retail + coupon),
        "discount_usage_pct": float((g["retail_disc"] > 0).mean()),
        "private_label_ratio": _div(n_private, n_branded),
        "n_departments": g["department"].dropna().nunique(),
        "n_products": n_products,
        "avg_items_per_basket": items / n_baskets,
        "avg_products_per_basket": n_products / n_baskets,
        **{
            f"share_{name}": _div(by_macro.get(name, 0.0), sales)
            for name in (*MACRO_CATEGORIES, "other")
        },
        "week_coverage": n_weeks / (last_week - first_week + 1),
    }
    return pd.Series({k: float(f[k]) for k in FEATURES})


def prepare_lines(
    transactions: pd.DataFrame,
    products: pd.DataFrame,
    quantity_exclude_departments: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    quantity_exclude_sub_commodities: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
) -> pd.DataFrame:
    """Transactions joined to their product's department, brand, macro category and
    the quantity-exclusion flag."""
    ex_d = {str(x).strip().upper() for x in quantity_exclude_departments}
    ex_s = {str(x).strip().upper() for x in quantity_exclude_sub_commodities}
    p = products[["product_id", "department", "sub_commodity", "brand"]].copy()
    dept = p["department"].astype(object).map(lambda x: x.strip().upper() if isinstance(x, str) else None)
    sub = p["sub_commodity"].astype(object).map(lambda x: x.strip().upper() if isinstance(x, str) else None)
    p["department"] = dept
    p["qty_excluded"] = dept.isin(ex_d) | sub.isin(ex_s)
    p["macro"] = p["department"].map(_macro)
    lines = transactions.merge(p.drop(columns="sub_commodity"), on="product_id", how="left")
    lines["qty_excluded"] = lines["qty_excluded"].astype(object).fillna(False).astype(bool)
    lines["macro"] = lines["macro"].astype(object).fillna("other")
    return lines


def pandas_features(
    transactions: pd.DataFrame,
    products: pd.DataFrame,
    max_day: int | None = None,
    max_week: int | None = None,
    **exclude,
) -> pd.DataFrame:
    """Features of every household in ``transactions`` with one reference point.

    ``max_day`` / ``max_week`` default to the data's last day and week (the full window).
    Returns ``household_id`` + FEATURES sorted by household.
    """
    lines = prepare_lines(transactions, products, **exclude)
    max_day = int(lines["day"].max()) if max_day is None else max_day
    max_week = int(lines["week"].max()) if max_week is None else max_week
    out = lines.groupby("household_id").apply(
        lambda g: _one_household(g, max_day, max_week), include_groups=False
    )
    return out.reset_index().sort_values("household_id").reset_index(drop=True)


def pandas_window_features(
    transactions: pd.DataFrame, products: pd.DataFrame, windows: pd.DataFrame, **exclude
) -> pd.DataFrame:
    """Features per window row (household_id, start_day, end_day, other keys...).

    Each window's lines are the household's lines with ``start_day <= day <= end_day``;
    ``max_day`` is the end day and ``max_week`` the largest week of any line of the whole
    data on a day up to the end day. Windows without lines give no row.
    """
    lines = prepare_lines(transactions, products, **exclude)
    keys = ["household_id", *[c for c in windows.columns if c != "household_id"]]
    rows = []
    for w in windows.itertuples(index=False):
        w = w._asdict()
        g = lines[(lines["household_id"] == w["household_id"]) & lines["day"].between(w["start_day"], w["end_day"])]
        if g.empty:
            continue
        max_week = int(lines.loc[lines["day"] <= w["end_day"], "week"].max())
        feats = _one_household(g, w["end_day"], max_week)
        rows.append({**{k: w[k] for k in keys}, **feats.to_dict()})
    out = pd.DataFrame(rows, columns=[*keys, *FEATURES])
    return out.sort_values(keys).reset_index(drop=True)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    interim_dir, out = argv[0], argv[1]
    tx = pd.read_parquet(f"{interim_dir}/transactions.parquet")
    pr = pd.read_parquet(f"{interim_dir}/products.parquet")
    pandas_features(tx, pr).to_csv(out, index=False)


if __name__ == "__main__":
    main()
