"""The baseline of the CSV -> features speed bar: pandas, written the way the original project does it.

The original project loads ``transaction_data.csv`` and ``product.csv`` with ``pd.read_csv``,
cleans the lines, merges the products in and builds the 33 customer features with vectorised
``groupby().agg`` calls (reference/original-methodology.md section 2). This module does the
same, with this project's feature definitions (``segtarget.features``: fuel quantities not
counted as items, discount usage per line, basket day = first day of the basket) and this
project's cleaning (lines whose discount has the wrong sign are dropped, discounts negated;
the original also drops lines with quantity <= 0), so its table can be compared value by value
with the ``features`` stage. Nothing here loops over households in Python: it is the fair,
vectorised version of the original's approach, not the per-household reference oracle of
``features_pandas.py``.

Usage::

    python benchmarks/features_original.py CSV_DIR OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from segtarget.features import (
    DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    FEATURES,
    MACRO_CATEGORIES,
    WEEKS_PER_MONTH,
)

DISCOUNTS = ["RETAIL_DISC", "COUPON_DISC", "COUPON_MATCH_DISC"]
HH = "household_key"


def load(csv_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and clean the two files the features need (as the original: plain ``read_csv``)."""
    csv_dir = Path(csv_dir)
    tx = pd.read_csv(csv_dir / "transaction_data.csv")
    products = pd.read_csv(csv_dir / "product.csv")
    tx[DISCOUNTS] = tx[DISCOUNTS].fillna(0.0)
    tx = tx[~(tx[DISCOUNTS] > 0).any(axis=1)].copy()
    tx[DISCOUNTS] = -tx[DISCOUNTS] + 0.0
    return tx, products


def _upper(s: pd.Series) -> pd.Series:
    s = s.astype("str").str.strip().str.upper()
    return s.where(s.notna() & (s != "") & (s != "NAN"))


def product_attributes(products: pd.DataFrame) -> pd.DataFrame:
    """Per product: department (upper case), macro category, brand flags, quantity exclusion."""
    dept, sub = _upper(products["DEPARTMENT"]), _upper(products["SUB_COMMODITY_DESC"])
    macro = pd.Series("other", index=products.index)
    for name, depts in MACRO_CATEGORIES.items():
        macro = macro.mask(dept.isin(depts), name)
    brand = products["BRAND"].astype("str").str.strip()
    excluded = dept.isin(DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS) | sub.isin(DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES)
    return pd.DataFrame({"PRODUCT_ID": products["PRODUCT_ID"], "DEPARTMENT": dept, "macro": macro,
                         "private": brand == "Private", "branded": brand.isin(["Private", "National"]),
                         "qty_excluded": excluded})


def build_features(tx: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """The 33 features of every household over the whole data window (``household_id`` first)."""
    max_day, max_week = int(tx["DAY"].max()), int(tx["WEEK_NO"].max())
    lines = tx.merge(product_attributes(products), on="PRODUCT_ID", how="left")
    lines["macro"] = lines["macro"].fillna("other")
    lines["actual"] = lines["SALES_VALUE"] - lines["COUPON_DISC"]
    lines["discounted"] = lines["RETAIL_DISC"] > 0
    lines["private"] = lines["private"].fillna(False).astype(bool)
    lines["branded"] = lines["branded"].fillna(False).astype(bool)
    lines["items"] = lines["QUANTITY"].where(~lines["qty_excluded"].fillna(False).astype(bool), 0)

    g = lines.groupby(HH)
    f = g.agg(last_day=("DAY", "max"), first_week=("WEEK_NO", "min"), last_week=("WEEK_NO", "max"),
              n_weeks=("WEEK_NO", "nunique"), n_lines=("BASKET_ID", "size"), sales=("SALES_VALUE", "sum"),
              coupon=("COUPON_DISC", "sum"), retail=("RETAIL_DISC", "sum"), actual=("actual", "sum"),
              discounted=("discounted", "mean"), n_private=("private", "sum"), n_branded=("branded", "sum"),
              n_products=("PRODUCT_ID", "nunique"), n_departments=("DEPARTMENT", "nunique"), items=("items", "sum"))

    baskets = lines.groupby([HH, "BASKET_ID"]).agg(day=("DAY", "min"), sales=("SALES_VALUE", "sum")).reset_index()
    b = baskets.groupby(HH).agg(n_baskets=("BASKET_ID", "size"), basket_mean=("sales", "mean"),
                                basket_std=("sales", "std"))
    days = baskets[[HH, "day"]].drop_duplicates().sort_values([HH, "day"])
    days["gap"] = days.groupby(HH)["day"].diff()
    gaps = days.groupby(HH)["gap"].agg(gap_mean="mean", gap_std=lambda s: s.std(ddof=0))
    shares = lines.groupby([HH, "macro"])["SALES_VALUE"].sum().unstack(fill_value=0.0)
    f = f.join(b).join(gaps).join(shares)

    tenure_weeks = max_week - f["first_week"] + 1
    n_b = f["n_baskets"]
    sales = f["sales"]
    nz = sales.replace(0.0, np.nan)
    out = pd.DataFrame({
        "recency": max_day - f["last_day"],
        "recency_weeks": max_week - f["last_week"],
        "active_last_4w": (f["last_week"] >= max_week - 4).astype(float),
        "active_last_12w": (f["last_week"] >= max_week - 12).astype(float),
        "days_between_purchases_avg": f["gap_mean"],
        "days_between_purchases_std": f["gap_std"],
        "frequency": n_b,
        "frequency_per_week": n_b / tenure_weeks,
        "frequency_per_month": n_b / tenure_weeks * WEEKS_PER_MONTH,
        "transaction_count": f["n_lines"],
        "weeks_with_purchase": f["n_weeks"],
        "purchase_regularity": f["n_weeks"] / tenure_weeks,
        "monetary_sales": sales,
        "monetary_actual": f["actual"],
        "monetary_avg_basket_sales": f["basket_mean"],
        "monetary_avg_basket_actual": f["actual"] / n_b,
        "monetary_std": f["basket_std"],
        "monetary_per_week": sales / tenure_weeks,
        "coupon_savings_ratio": f["coupon"] / nz,
        "discount_rate": (f["retail"] + f["coupon"]) / (sales + f["retail"] + f["coupon"]).replace(0.0, np.nan),
        "discount_usage_pct": f["discounted"],
        "private_label_ratio": f["n_private"] / f["n_branded"].replace(0, np.nan),
        "n_departments": f["n_departments"],
        "n_products": f["n_products"],
        "avg_items_per_basket": f["items"] / n_b,
        "avg_products_per_basket": f["n_products"] / n_b,
        **{f"share_{m}": f.get(m, 0.0) / nz for m in (*MACRO_CATEGORIES, "other")},
        "week_coverage": f["n_weeks"] / (f["last_week"] - f["first_week"] + 1),
    })
    out = out[list(FEATURES)].astype(float)
    out.index.name = "household_id"
    return out.reset_index().sort_values("household_id").reset_index(drop=True)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    tx, products = load(argv[0])
    build_features(tx, products).to_csv(argv[1], index=False)


if __name__ == "__main__":
    main()
