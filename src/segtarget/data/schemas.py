"""Canonical tables: their columns, types and value rules, declared once (pandera).

Every source adapter produces these tables and :func:`check` validates each one (or each
chunk of a large one) before it is written. Column-name constants are exported so that
no other module spells a canonical column by hand.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from segtarget.core.errors import InputError

HOUSEHOLD = "household_id"
BASKET = "basket_id"
PRODUCT = "product_id"
STORE = "store_id"
CAMPAIGN = "campaign_id"
DAY = "day"
WEEK = "week"

#: Demographic columns of the households table (all optional text).
DEMOGRAPHICS = ("age", "income", "home_ownership", "marital_status", "household_size", "household_comp", "kids_count")

_nonneg = pa.Check.ge(0)
_pos = pa.Check.ge(1)


def _int(*checks, nullable=False, unique=False):
    return pa.Column("int64", checks=list(checks), nullable=nullable, unique=unique)


def _float(*checks):
    return pa.Column("float64", checks=list(checks), nullable=False)


def _text(nullable=True, checks=()):
    return pa.Column("str", checks=list(checks), nullable=nullable)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "transactions": pa.DataFrameSchema(
        {
            HOUSEHOLD: _int(),
            BASKET: _int(),
            DAY: _int(_pos),
            WEEK: _int(_pos),
            PRODUCT: _int(),
            STORE: _int(),
            "quantity": _int(_nonneg),
            "sales_value": _float(_nonneg),
            "retail_disc": _float(_nonneg),
            "coupon_disc": _float(_nonneg),
            "coupon_match_disc": _float(_nonneg),
        },
        strict=True,
        ordered=True,
    ),
    "products": pa.DataFrameSchema(
        {
            PRODUCT: _int(unique=True),
            "department": _text(),
            "commodity": _text(),
            "sub_commodity": _text(),
            "brand": _text(checks=[pa.Check.isin(["National", "Private"])]),
            "manufacturer": _text(),
        },
        strict=True,
        ordered=True,
    ),
    "households": pa.DataFrameSchema(
        {HOUSEHOLD: _int(unique=True), **{c: _text() for c in DEMOGRAPHICS}},
        strict=True,
        ordered=True,
    ),
    "campaigns": pa.DataFrameSchema(
        {
            CAMPAIGN: _int(unique=True),
            "campaign_type": _text(nullable=False, checks=[pa.Check.isin(["A", "B", "C"])]),
            "start_day": _int(),
            "end_day": _int(),
        },
        checks=[pa.Check(lambda d: d["end_day"] >= d["start_day"], error="end_day >= start_day")],
        strict=True,
        ordered=True,
    ),
    "campaign_members": pa.DataFrameSchema(
        {CAMPAIGN: _int(), HOUSEHOLD: _int()}, strict=True, ordered=True
    ),
    "coupons": pa.DataFrameSchema(
        {"coupon_upc": _int(), PRODUCT: _int(), CAMPAIGN: _int()}, strict=True, ordered=True
    ),
    "coupon_redemptions": pa.DataFrameSchema(
        {HOUSEHOLD: _int(), DAY: _int(_pos), "coupon_upc": _int(), CAMPAIGN: _int()},
        strict=True,
        ordered=True,
    ),
    "promotions": pa.DataFrameSchema(
        {
            PRODUCT: _int(),
            STORE: _int(),
            WEEK: _int(_pos),
            "display": _text(nullable=False),
            "mailer": _text(nullable=False),
        },
        strict=True,
        ordered=True,
    ),
}

COLUMNS: dict[str, list[str]] = {name: list(s.columns) for name, s in SCHEMAS.items()}


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    schema = SCHEMAS[table]
    return pd.DataFrame({c: pd.Series(dtype=str(col.dtype)) for c, col in schema.columns.items()})


def check(df: pd.DataFrame, table: str, origin: str) -> pd.DataFrame:
    """Validate one canonical table (or a chunk of it); raise a one-line :class:`InputError`.

    ``origin`` names the file the rows came from, so the message points at what to fix.
    """
    try:
        return SCHEMAS[table].validate(df, lazy=False)
    except pa.errors.SchemaError as exc:
        col = getattr(exc, "column_name", None) or "?"
        cases = getattr(exc, "failure_cases", None)
        example = ""
        if cases is not None and len(cases):
            example = f"; first offending value: {cases['failure_case'].iloc[0]!r}"
        reason = str(exc).splitlines()[0]
        raise InputError(
            f"{origin}: canonical table {table}, column {col}: {reason}{example}"
        ) from exc
