"""Adapter for the original dunnhumby "The Complete Journey" CSVs (and the synthetic generator).

Quirks handled: discounts are stored as negative numbers (negated here; lines whose discount has
the wrong sign are data artifacts and are dropped, and counted); DAY runs from 1 and WEEK_NO is
kept as the week; ``causal_data.csv`` display/mailer codes become the promotions table; both
known ``hh_demographic.csv`` layouts (named columns, or the anonymised ``classification_*``
release); optional files (demographics, coupons, redemptions, causal_data) may be absent, and
then their canonical table is empty and the data summary says so. Column names match in any
case and order; extra columns are ignored; a UTF-8 byte-order mark and Windows line ends are
fine.

Each canonical column is one of a few conversions of one file column (:data:`CONVERSIONS`),
applied with pyarrow compute to each block as it streams from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from segtarget.core.errors import InputError
from segtarget.data import schemas as S
from segtarget.data.sources import TableSource
from segtarget.data.sources.csvread import check_file, header, match, stream

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


def _number(x):
    """A number; NaN becomes missing (so the non-null rule names it, as pandera would)."""
    return pc.if_else(pc.is_nan(x), pa.scalar(None, F64), x)


def _discount(x):
    """A discount stored as a negative number, as a positive amount (missing or NaN = 0, no -0.0)."""
    return pc.add(pc.negate(pc.fill_null(_number(x), 0.0)), 0.0)


def _text(x):
    """Trimmed text; blank (or the text 'nan') is missing."""
    t = pc.utf8_trim_whitespace(x)
    return pc.if_else(pc.is_in(t, pa.array(["", "nan"])), pa.scalar(None, STR), t)


#: How a canonical column is made from its file column.
CONVERSIONS = {
    "as is": lambda x: x,
    "number": _number,
    "discount": _discount,
    "text": _text,
    "campaign type": lambda x: pc.utf8_trim_whitespace(pc.replace_substring(pc.utf8_trim_whitespace(x), "Type", "")),
    "code": lambda x: pc.utf8_trim_whitespace(pc.fill_null(x, "0")),
}

#: Per table: the file's columns and their types, then each canonical column as
#: (file column, conversion).
SPECS: dict[str, tuple[dict[str, pa.DataType], dict[str, tuple[str, str]]]] = {
    "transactions": (
        {"household_key": I64, "BASKET_ID": I64, "DAY": I64, "PRODUCT_ID": I64, "QUANTITY": I64,
         "SALES_VALUE": F64, "STORE_ID": I64, "RETAIL_DISC": F64, "WEEK_NO": I64, "COUPON_DISC": F64,
         "COUPON_MATCH_DISC": F64},
        {S.HOUSEHOLD: ("household_key", "as is"), S.BASKET: ("BASKET_ID", "as is"), S.DAY: ("DAY", "as is"),
         S.WEEK: ("WEEK_NO", "as is"), S.PRODUCT: ("PRODUCT_ID", "as is"), S.STORE: ("STORE_ID", "as is"),
         "quantity": ("QUANTITY", "as is"), "sales_value": ("SALES_VALUE", "number"),
         "retail_disc": ("RETAIL_DISC", "discount"), "coupon_disc": ("COUPON_DISC", "discount"),
         "coupon_match_disc": ("COUPON_MATCH_DISC", "discount")},
    ),
    "products": (
        {"PRODUCT_ID": I64, "MANUFACTURER": STR, "DEPARTMENT": STR, "BRAND": STR, "COMMODITY_DESC": STR,
         "SUB_COMMODITY_DESC": STR},
        {S.PRODUCT: ("PRODUCT_ID", "as is"), "department": ("DEPARTMENT", "text"),
         "commodity": ("COMMODITY_DESC", "text"), "sub_commodity": ("SUB_COMMODITY_DESC", "text"),
         "brand": ("BRAND", "text"), "manufacturer": ("MANUFACTURER", "text")},
    ),
    "campaigns": (
        {"DESCRIPTION": STR, "CAMPAIGN": I64, "START_DAY": I64, "END_DAY": I64},
        {S.CAMPAIGN: ("CAMPAIGN", "as is"), "campaign_type": ("DESCRIPTION", "campaign type"),
         "start_day": ("START_DAY", "as is"), "end_day": ("END_DAY", "as is")},
    ),
    "campaign_members": (
        {"household_key": I64, "CAMPAIGN": I64},
        {S.CAMPAIGN: ("CAMPAIGN", "as is"), S.HOUSEHOLD: ("household_key", "as is")},
    ),
    "coupons": (
        {"COUPON_UPC": I64, "PRODUCT_ID": I64, "CAMPAIGN": I64},
        {"coupon_upc": ("COUPON_UPC", "as is"), S.PRODUCT: ("PRODUCT_ID", "as is"), S.CAMPAIGN: ("CAMPAIGN", "as is")},
    ),
    "coupon_redemptions": (
        {"household_key": I64, "DAY": I64, "COUPON_UPC": I64, "CAMPAIGN": I64},
        {S.HOUSEHOLD: ("household_key", "as is"), S.DAY: ("DAY", "as is"), "coupon_upc": ("COUPON_UPC", "as is"),
         S.CAMPAIGN: ("CAMPAIGN", "as is")},
    ),
    "promotions": (
        {"PRODUCT_ID": I64, "STORE_ID": I64, "WEEK_NO": I64, "display": STR, "mailer": STR},
        {S.PRODUCT: ("PRODUCT_ID", "as is"), S.STORE: ("STORE_ID", "as is"), S.WEEK: ("WEEK_NO", "as is"),
         "display": ("display", "code"), "mailer": ("mailer", "code")},
    ),
}

WRONG_SIGN_NOTE = "dropped {n} lines whose discount had the wrong sign (data artifacts)"
ABSENT_NOTE = {
    "households": "hh_demographic.csv absent: no demographics",
    "coupons": "coupon.csv absent: no coupon-product map (coupon-based cost estimate unavailable)",
    "coupon_redemptions": "coupon_redempt.csv absent: no redemption outcome",
    "promotions": "causal_data.csv absent: display/mailer exposure covariates are missing",
}


def _canonical(batch: pa.RecordBatch, table: str, plan: dict[str, tuple[int | None, str]]) -> pa.RecordBatch:
    """One block of the file as canonical columns (plus ``__drop`` for the transactions)."""
    schema = S.arrow_schema(table)
    arrays = []
    for f in schema:
        pos, conversion = plan[f.name]
        arrays.append(pa.nulls(batch.num_rows, f.type) if pos is None
                      else CONVERSIONS[conversion](batch.column(f"c{pos}")).cast(f.type))
    if table != "transactions":
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    disc = [arrays[schema.get_field_index(c)] for c in ("retail_disc", "coupon_disc", "coupon_match_disc")]
    drop = pc.fill_null(pc.or_(pc.or_(pc.less(disc[0], 0), pc.less(disc[1], 0)), pc.less(disc[2], 0)), False)
    return pa.RecordBatch.from_arrays([*arrays, drop], schema=schema.append(pa.field("__drop", pa.bool_())))


def csv_source(path: Path, table: str, types: dict[str, pa.DataType], columns: dict[str, tuple[str, str]],
               optional: tuple[str, ...] = ()) -> TableSource:
    """The canonical ``table`` read from ``path``: header matched, every column typed."""
    check_file(path, f"the {FILES.get(table, table)} file of canonical table {table}")
    found = header(path)
    pos = match(path, found, list(types), optional)
    typed = {pos[name]: kind for name, kind in types.items() if name in pos}
    plan = {c: (pos.get(raw), conversion) for c, (raw, conversion) in columns.items()}

    def batches(_con) -> Iterator[pa.RecordBatch]:
        for batch in stream(path, len(found), typed):
            yield _canonical(batch, table, plan)

    return TableSource(
        str(path), batches, path=path,
        raw={c: found[pos[raw]] if raw in pos else raw for c, (raw, _) in columns.items()},
        raw_index={c: pos[raw] for c, (raw, _) in columns.items() if raw in pos},
        csv={"found": found, "types": typed}, required=table in REQUIRED,
        drop_note=WRONG_SIGN_NOTE if table == "transactions" else "",
    )


def empty_source(path: Path, table: str) -> TableSource:
    """An empty canonical table (an optional file that is absent)."""
    return TableSource(str(path), lambda _con: iter(()), notes=[ABSENT_NOTE[table]])


def _households(path: Path) -> TableSource:
    check_file(path, "the hh_demographic.csv file")
    cols = {c.upper() for c in header(path)}
    layout = next((lay for lay in DEMOGRAPHIC_LAYOUTS if sum(c.upper() in cols for c in lay) >= 5), None)
    if layout is None or "HOUSEHOLD_KEY" not in cols:
        raise InputError(
            f"{path}: unknown demographics layout; expected household_key plus either "
            f"{', '.join(DEMOGRAPHIC_LAYOUTS[0])} or {', '.join(DEMOGRAPHIC_LAYOUTS[1])}"
        )
    types = {"household_key": I64, **{c: STR for c in layout}}
    columns = {S.HOUSEHOLD: ("household_key", "as is"), **{canon: (raw, "text") for raw, canon in layout.items()}}
    return csv_source(path, "households", types, columns, optional=tuple(layout))


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
    for table in S.COLUMNS:
        path = folder / FILES[table]
        if table not in REQUIRED and not path.exists():
            sources[table] = empty_source(path, table)
        elif table == "households":
            sources[table] = _households(path)
        else:
            sources[table] = csv_source(path, table, *SPECS[table])
    return sources
