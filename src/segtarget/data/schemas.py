"""Canonical tables: their columns, types and value rules, declared once (pandera).

Every source adapter produces these tables. The pandera schemas are the one declaration of
what a valid table is; :func:`rules` turns them into SQL predicates so that the ingest stage
checks a whole table (25M lines at 10x the original data) on the parquet file it has just
written, settling most rules from the file's statistics and counting the rest with one DuckDB
query, instead of validating pandas chunks in Python. The column names live in
:mod:`segtarget.data.columns` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import pyarrow

from segtarget.data.columns import BASKET, CAMPAIGN, DAY, DEMOGRAPHICS, HOUSEHOLD, PRODUCT, STORE, WEEK  # noqa: F401

_nonneg = pa.Check.ge(0)
_pos = pa.Check.ge(1)


def _int(*checks, nullable=False, unique=False):
    return pa.Column("int64", checks=list(checks), nullable=nullable, unique=unique)


def _float(*checks):
    return pa.Column("float64", checks=list(checks), nullable=False)


def _text(nullable=True, checks=()):
    return pa.Column("str", checks=list(checks), nullable=nullable)


def _table_check(sql: str) -> pa.Check:
    """A rule across columns. Its ``error`` text is the SQL condition every valid row meets,
    so :func:`rules` can evaluate it in DuckDB while pandera evaluates the lambda."""
    left, op, right = sql.split()
    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}
    return pa.Check(lambda d: ops[op](d[left], d[right]), error=sql)


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
        checks=[_table_check("end_day >= start_day")],
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

#: DuckDB type of each pandera dtype (what the parquet files hold: int64, float64, string);
#: pandas spells the text dtype ``str`` or ``string[pyarrow]`` depending on its version.
SQL_TYPES = {"int64": "BIGINT", "float64": "DOUBLE"}


def sql_type(table: str, column: str) -> str:
    """The DuckDB type of a canonical column."""
    return SQL_TYPES.get(str(SCHEMAS[table].columns[column].dtype), "VARCHAR")


def arrow_schema(table: str) -> pyarrow.Schema:
    """The parquet schema of a canonical table (int64, float64 or string columns)."""
    kinds = {"BIGINT": pyarrow.int64(), "DOUBLE": pyarrow.float64(), "VARCHAR": pyarrow.string()}
    return pyarrow.schema([(c, kinds[sql_type(table, c)]) for c in COLUMNS[table]])


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    schema = SCHEMAS[table]
    return pd.DataFrame({c: pd.Series(dtype=str(col.dtype)) for c, col in schema.columns.items()})


@dataclass(frozen=True)
class Rule:
    """One value rule of a canonical table, as SQL over its canonical columns.

    ``bad`` is true on an offending row (NULL counts as not offending, except for the
    non-null rule); ``unique`` rules are not row-local and are counted as
    ``count(col) - count(DISTINCT col)`` instead. ``what`` completes "column X has N ..."
    and ``expected`` says what a valid value is; both go into the one-line error. ``stat``
    says which parquet statistic settles the rule without reading the data: ``nulls`` (the
    null count is 0) or ``min`` (the minimum is at least ``bound``).
    """

    column: str | None
    bad: str
    what: str
    expected: str
    unique: bool = False
    stat: str | None = None
    bound: float | None = None


def _literal(value) -> str:
    return "'" + str(value).replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def rules(table: str) -> list[Rule]:
    """The rules of ``table`` derived from its pandera schema, in column order.

    Types are not rules here: the readers parse every column as its canonical type, so a
    value of the wrong type stops the read itself (see :mod:`segtarget.data.sources.csvread`).
    """
    schema = SCHEMAS[table]
    out: list[Rule] = []
    for name, col in schema.columns.items():
        if not col.nullable:  # numbers: the readers turn NaN into NULL (pandera counts NaN as missing too)
            number = sql_type(table, name) == "DOUBLE"
            out.append(Rule(name, f"{name} IS NULL", "empty or NaN values" if number else "empty values",
                            "a number on every line" if number else "a value on every line", stat="nulls"))
        if col.unique:
            out.append(Rule(name, "", "repeated values", "each value once", unique=True))
        for check in col.checks:
            stats = check.statistics
            if check.name == "greater_than_or_equal_to":
                low = stats["min_value"]
                what = "negative values" if low == 0 else f"values below {low}"
                out.append(Rule(name, f"{name} < {low}", what, f">= {low}", stat="min", bound=low))
            elif check.name == "isin":
                allowed = list(stats["allowed_values"])
                listed = ", ".join(map(str, allowed))
                out.append(Rule(name, f"{name} NOT IN ({', '.join(map(_literal, allowed))})",
                                f"values other than {listed}", f"one of {listed}"))
            else:  # pragma: no cover - a new kind of check must be translated here first
                raise NotImplementedError(f"{table}.{name}: no SQL for pandera check {check.name}")
    for check in schema.checks:
        left = check.error.split()[0]
        out.append(Rule(left, f"NOT ({check.error})", f"values breaking {check.error}", check.error))
    return out
