"""Adapter for the original dunnhumby "The Complete Journey" CSVs (and the synthetic generator).

Quirks handled: discounts are stored as negative numbers (negated here; lines whose discount has
the wrong sign are data artifacts and are dropped, and counted); DAY runs from 1 and WEEK_NO is
kept as the week; ``causal_data.csv`` display/mailer codes become the promotions table; both
known ``hh_demographic.csv`` layouts (named columns, or the anonymised ``classification_*``
release); optional files (demographics, coupons, redemptions, causal_data) may be absent, and
then their canonical table is empty and the data summary says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa

from segtarget.data import schemas as S
from segtarget.core.errors import InputError
from segtarget.data.sources import TableSource
from segtarget.data.sources.csvread import header, stream

I64, F64, STR = pa.int64(), pa.float64(), pa.string()

FILES = {
    "transactions": "transaction_data.csv",
    "products": "product.csv",
    "households": "hh_demographic.csv",
    "campaigns": "campaign_desc.csv",
    "campaign_members": "campaign_table.csv",
    "coupons": "coupon.csv",
    "coupon_redemptions": "coupon_redempt.csv",
    "promotions": "causal_data.csv",
}
REQUIRED = ("transactions", "products", "campaigns", "campaign_members")

#: The two known layouts of hh_demographic.csv, mapped to canonical demographic names.
DEMOGRAPHIC_LAYOUTS = (
    {
        "AGE_DESC": "age",
        "INCOME_DESC": "income",
        "HOMEOWNER_DESC": "home_ownership",
        "MARITAL_STATUS_CODE": "marital_status",
        "HOUSEHOLD_SIZE_DESC": "household_size",
        "HH_COMP_DESC": "household_comp",
        "KID_CATEGORY_DESC": "kids_count",
    },
    {
        "classification_1": "age",
        "classification_3": "income",
        "HOMEOWNER_DESC": "home_ownership",
        "classification_2": "marital_status",
        "classification_4": "household_size",
        "classification_5": "household_comp",
        "KID_CATEGORY_DESC": "kids_count",
    },
)

TRANSACTION_TYPES = {
    "household_key": I64, "BASKET_ID": I64, "DAY": I64, "PRODUCT_ID": I64, "QUANTITY": I64,
    "SALES_VALUE": F64, "STORE_ID": I64, "RETAIL_DISC": F64, "WEEK_NO": I64,
    "COUPON_DISC": F64, "COUPON_MATCH_DISC": F64,
}
DISCOUNTS = {"RETAIL_DISC": "retail_disc", "COUPON_DISC": "coupon_disc", "COUPON_MATCH_DISC": "coupon_match_disc"}


def _frames(path: Path, types: dict, optional: tuple[str, ...] = ()) -> Iterator[pd.DataFrame]:
    for batch in stream(path, types, optional):
        yield batch.to_pandas()


def _text(s: pd.Series) -> pd.Series:
    s = s.astype("str").str.strip()
    return s.where(s.notna() & (s != "") & (s != "nan"), None).astype("str")


def _transactions(path: Path, notes: list[str]) -> Iterator[pd.DataFrame]:
    dropped = 0
    for df in _frames(path, TRANSACTION_TYPES):
        for col in DISCOUNTS:
            df[col] = df[col].fillna(0.0)
        bad = (df[list(DISCOUNTS)] > 0).any(axis=1)
        dropped += int(bad.sum())
        df = df.loc[~bad]
        out = pd.DataFrame(
            {
                S.HOUSEHOLD: df["household_key"],
                S.BASKET: df["BASKET_ID"],
                S.DAY: df["DAY"],
                S.WEEK: df["WEEK_NO"],
                S.PRODUCT: df["PRODUCT_ID"],
                S.STORE: df["STORE_ID"],
                "quantity": df["QUANTITY"],
                "sales_value": df["SALES_VALUE"].astype("float64"),
                **{new: (-df[old]).astype("float64") + 0.0 for old, new in DISCOUNTS.items()},
            }
        )
        yield out.reset_index(drop=True)
    if dropped:
        notes.append(f"dropped {dropped} lines whose discount had the wrong sign (data artifacts)")


def _products(path: Path) -> Iterator[pd.DataFrame]:
    types = {"PRODUCT_ID": I64, "MANUFACTURER": STR, "DEPARTMENT": STR, "BRAND": STR,
             "COMMODITY_DESC": STR, "SUB_COMMODITY_DESC": STR}
    for df in _frames(path, types):
        yield pd.DataFrame(
            {
                S.PRODUCT: df["PRODUCT_ID"],
                "department": _text(df["DEPARTMENT"]),
                "commodity": _text(df["COMMODITY_DESC"]),
                "sub_commodity": _text(df["SUB_COMMODITY_DESC"]),
                "brand": _text(df["BRAND"]),
                "manufacturer": _text(df["MANUFACTURER"]),
            }
        )


def _households(path: Path) -> Iterator[pd.DataFrame]:
    cols = header(path)
    layout = next((lay for lay in DEMOGRAPHIC_LAYOUTS if sum(c in cols for c in lay) >= 5), None)
    if layout is None or "household_key" not in cols:
        raise InputError(
            f"{path}: unknown demographics layout; expected household_key plus either "
            f"{', '.join(DEMOGRAPHIC_LAYOUTS[0])} or {', '.join(DEMOGRAPHIC_LAYOUTS[1])}"
        )
    types = {"household_key": I64, **{c: STR for c in layout}}
    for df in _frames(path, types, optional=tuple(layout)):
        out = pd.DataFrame({S.HOUSEHOLD: df["household_key"]})
        for raw, canon in layout.items():
            out[canon] = _text(df[raw]) if raw in df else pd.Series([None] * len(df), dtype="str")
        yield out[S.COLUMNS["households"]]


def _campaigns(path: Path) -> Iterator[pd.DataFrame]:
    types = {"DESCRIPTION": STR, "CAMPAIGN": I64, "START_DAY": I64, "END_DAY": I64}
    for df in _frames(path, types):
        kind = df["DESCRIPTION"].astype("str").str.strip().str.replace("Type", "", regex=False).str.strip()
        yield pd.DataFrame(
            {S.CAMPAIGN: df["CAMPAIGN"], "campaign_type": kind.astype("str"),
             "start_day": df["START_DAY"], "end_day": df["END_DAY"]}
        )


def _members(path: Path) -> Iterator[pd.DataFrame]:
    for df in _frames(path, {"household_key": I64, "CAMPAIGN": I64}):
        yield pd.DataFrame({S.CAMPAIGN: df["CAMPAIGN"], S.HOUSEHOLD: df["household_key"]})


def _coupons(path: Path) -> Iterator[pd.DataFrame]:
    for df in _frames(path, {"COUPON_UPC": I64, "PRODUCT_ID": I64, "CAMPAIGN": I64}):
        yield pd.DataFrame({"coupon_upc": df["COUPON_UPC"], S.PRODUCT: df["PRODUCT_ID"], S.CAMPAIGN: df["CAMPAIGN"]})


def _redemptions(path: Path) -> Iterator[pd.DataFrame]:
    types = {"household_key": I64, "DAY": I64, "COUPON_UPC": I64, "CAMPAIGN": I64}
    for df in _frames(path, types):
        yield pd.DataFrame({S.HOUSEHOLD: df["household_key"], S.DAY: df["DAY"],
                            "coupon_upc": df["COUPON_UPC"], S.CAMPAIGN: df["CAMPAIGN"]})


def _promotions(path: Path) -> Iterator[pd.DataFrame]:
    types = {"PRODUCT_ID": I64, "STORE_ID": I64, "WEEK_NO": I64, "display": STR, "mailer": STR}
    for df in _frames(path, types):
        yield pd.DataFrame(
            {S.PRODUCT: df["PRODUCT_ID"], S.STORE: df["STORE_ID"], S.WEEK: df["WEEK_NO"],
             "display": df["display"].fillna("0").astype("str").str.strip(),
             "mailer": df["mailer"].fillna("0").astype("str").str.strip()}
        )


READERS = {
    "products": _products, "households": _households, "campaigns": _campaigns,
    "campaign_members": _members, "coupons": _coupons, "coupon_redemptions": _redemptions,
    "promotions": _promotions,
}
ABSENT_NOTE = {
    "households": "hh_demographic.csv absent: no demographics",
    "coupons": "coupon.csv absent: no coupon-product map (coupon-based cost estimate unavailable)",
    "coupon_redemptions": "coupon_redempt.csv absent: no redemption outcome",
    "promotions": "causal_data.csv absent: display/mailer exposure covariates are missing",
}


def read(folder: str | Path) -> dict[str, TableSource]:
    """Canonical table sources for a folder of dunnhumby-format CSVs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: dunnhumby data folder not found; set data.dunnhumby_dir in params.yaml "
            f"to the folder holding {', '.join(FILES[t] for t in REQUIRED)}"
        )
    for table in REQUIRED:
        if not (folder / FILES[table]).exists():
            raise InputError(f"{folder / FILES[table]}: required file missing; the dunnhumby source needs "
                             f"{', '.join(FILES[t] for t in REQUIRED)}")
    sources: dict[str, TableSource] = {}
    tx_path = folder / FILES["transactions"]
    tx = TableSource(str(tx_path), lambda: iter(()))
    tx.chunks = lambda: _transactions(tx_path, tx.notes)
    sources["transactions"] = tx
    for table, reader in READERS.items():
        path = folder / FILES[table]
        if path.exists():
            sources[table] = TableSource(str(path), (lambda r=reader, p=path: r(p)))
        else:
            sources[table] = TableSource(str(path), lambda t=table: iter([S.empty(t)]), [ABSENT_NOTE[table]])
    return sources
