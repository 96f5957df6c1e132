"""The feature query: one Ibis expression over transactions and products, for any windows.

See :mod:`segtarget.features` for the definitions and decisions (windows, baskets, heavy
tails, missing values, exact integer money sums).
"""

from __future__ import annotations

from typing import Iterable, Mapping

import ibis
import numpy as np
import pandas as pd
from ibis import _

from segtarget.core.errors import InputError
from segtarget.data.columns import BASKET, DAY, HOUSEHOLD, PRODUCT, WEEK
from segtarget.features.definitions import (
    _INTERNAL,
    _WINDOW_COLUMNS,
    AUXILIARY,
    DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    FEATURES,
    MACRO_CATEGORIES,
    MONEY_SCALE,
    REQUIRED_COLUMNS,
    SHARE_CATEGORIES,
    WEEKS_PER_MONTH,
    _upper_list,
)
from segtarget.features.engine import connect


#: Transaction lines per pass of the feature query. With more lines the households are split
#: into ranges of about this many lines and the query runs once per range (:func:`household_ranges`).
#: Why: the per-basket group-by holds every basket of the lines it reads; on 25.8M lines (10x the
#: original data) it fits in DuckDB's default 2GB, but on 256M lines (100x) it spilled about 2 GB
#: to disk and its time grew 13x for 10x the lines. Each window belongs to one household, so the
#: passes give exactly the rows of one pass; the calendar and the full data window are computed
#: once for all of them (then 11 passes over the 10x data cost the CPU time of one, in 0.5 GB
#: instead of 2.2 GB).
PASS_LINES = 25_000_000


def day_calendar(transactions: ibis.Table) -> ibis.Table:
    """``day, cal_week``: the largest week of the lines of each day (for the reference weeks)."""
    return transactions.group_by(DAY).aggregate(cal_week=_[WEEK].max())


def _cents(col):
    """Money as an exact integer count of 1/MONEY_SCALE units (rounded half away from 0)."""
    return (col * MONEY_SCALE).round().cast("int64")


def _ratio(num, den):
    """``num / den`` as float64, NULL when ``den`` is 0 (or NULL)."""
    return num.cast("float64") / den.cast("float64").nullif(0.0)


def feature_expr(
    transactions: ibis.Table,
    products: ibis.Table,
    windows: ibis.Table | None = None,
    *,
    quantity_exclude_departments: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    quantity_exclude_sub_commodities: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    auxiliary: bool = False,
    households: tuple[int, int] | None = None,
    calendar: ibis.Table | None = None,
) -> ibis.Table:
    """The 33 features per household and window, as one Ibis expression.

    Parameters
    ----------
    transactions, products : ibis.Table
        Canonical tables (at least :data:`REQUIRED_COLUMNS`), on the same backend.
    windows : ibis.Table, optional
        ``household_id, start_day, end_day`` (inclusive) and optionally more key columns
        (e.g. ``campaign_id``) so that a household can have several windows. ``None``
        means the full data window.
    quantity_exclude_departments, quantity_exclude_sub_commodities : iterable of str
        Lines whose department / sub-commodity is listed (case-insensitive) do not add
        their quantity to ``avg_items_per_basket``.
    auxiliary : bool
        Also return :data:`AUXILIARY` (tenure in days and weeks, max_day, max_week).
    households : (int, int), optional
        Only the windows of households ``lo <= household_id <= hi`` (one pass of
        :func:`compute_features` on large data). The reference weeks and the full data
        window still come from every line, so a window's features do not depend on it.
    calendar : ibis.Table, optional
        :func:`day_calendar` of ``transactions``, computed once (e.g. as a memtable) when
        the query runs in several passes; by default computed within the query.

    Returns
    -------
    ibis.Table
        Without ``windows``: ``household_id`` + :data:`FEATURES`. With ``windows``: all
        window columns (``household_id`` first) + :data:`FEATURES`. Features are float64.
        Only windows with at least one line appear. Rows are not ordered.

    Notes
    -----
    Each window gets an integer id. The lines are read twice, each time joined to the
    windows on ``household_id`` and filtered on ``day``: once grouped per (window,
    basket, day, week) for the money, dates, weeks and basket statistics, once per
    (window, product) for distinct products and departments, brands, quantities and
    category sales (the product table, coded as small integers, joins the per-product
    rows, not the lines). Both line-level passes are plain integer group-bys with no
    ``DISTINCT`` and no materialised intermediate table, which is what makes DuckDB
    fast and lean here: on 25.8M lines (10x the original data) the query took 27.5 s
    and 4.4 GB with one shared line table and four distinct counts, 9.3 s and about
    2 GB like this (2 threads; ``benchmarks/bench_features.py``).
    """
    for col in REQUIRED_COLUMNS["transactions"]:
        if col not in transactions.columns:
            raise InputError(f"transactions: column {col} missing; expected {', '.join(REQUIRED_COLUMNS['transactions'])}")
    for col in REQUIRED_COLUMNS["products"]:
        if col not in products.columns:
            raise InputError(f"products: column {col} missing; expected {', '.join(REQUIRED_COLUMNS['products'])}")

    ex_dept = _upper_list(quantity_exclude_departments)
    ex_sub = _upper_list(quantity_exclude_sub_commodities)

    tx = transactions
    dept = products.department.strip().upper()
    sub = products.sub_commodity.strip().upper()
    excluded = ibis.literal(False)
    if ex_dept:
        excluded = excluded | dept.isin(ex_dept).fill_null(False)
    if ex_sub:
        excluded = excluded | sub.isin(ex_sub).fill_null(False)
    # Product attributes as small integers: the line-level work then touches no strings.
    macro = ibis.cases(
        *[(dept.isin(list(depts)), i) for i, depts in enumerate(MACRO_CATEGORIES.values())],
        else_=len(MACRO_CATEGORIES),
    )
    prod = products.select(
        p_id=products[PRODUCT],
        p_dept=ibis.ifelse(dept.isnull(), ibis.null("int64"), ibis.dense_rank().over(order_by=dept).cast("int64")),
        p_macro=macro.cast("int64"),
        p_private=(products.brand == "Private").fill_null(False).cast("int64"),
        p_branded=products.brand.isin(["Private", "National"]).fill_null(False).cast("int64"),
        p_qty_excluded=excluded,
    )

    if windows is None:
        bounds = tx.aggregate(start_day=_[DAY].min(), end_day=_[DAY].max())
        windows = tx.select(HOUSEHOLD).distinct().cross_join(bounds)
        out_keys = [HOUSEHOLD]
    else:
        missing = [c for c in _WINDOW_COLUMNS if c not in windows.columns]
        if missing:
            raise InputError(f"windows: column {missing[0]} missing; expected household_id, start_day, end_day")
        clash = [c for c in windows.columns if c != HOUSEHOLD and (c in tx.columns or c in _INTERNAL)]
        if clash:
            raise InputError(f"windows: column {clash[0]} clashes with a transaction or internal column; rename it")
        out_keys = [HOUSEHOLD, *[c for c in windows.columns if c != HOUSEHOLD]]
    keys = [HOUSEHOLD, *[c for c in windows.columns if c != HOUSEHOLD]]

    # reference week of each window end: the latest week the data reached by that day
    calendar = day_calendar(tx) if calendar is None else calendar
    ends = windows.select(w_end=windows.end_day).distinct()
    ref_week = (
        ends.join(calendar, ends.w_end >= calendar[DAY])
        .group_by("w_end")
        .aggregate(max_week=_.cal_week.max())
        .rename(end_day="w_end")
    )

    # One integer id per window: the line-level group-bys hash one key, not all of them.
    wins = windows.mutate(w_id=ibis.row_number().over(order_by=keys))
    lines = tx
    if households is not None:
        # filtering the lines too (not only the windows) lets the parquet scan skip row groups
        wins = wins.filter(wins[HOUSEHOLD].between(*households))
        lines = tx.filter(tx[HOUSEHOLD].between(*households))
    bounds_by_id = wins.select(HOUSEHOLD, "w_id", "start_day", "end_day")

    def window_lines(*columns, **derived):
        # Each branch projects its own columns before the join, so the two line-level
        # scans are different expressions: a shared one would be a common table
        # expression that DuckDB materialises (25M wide rows at 10x the original data).
        part = lines.select(HOUSEHOLD, DAY, *columns, **derived).join(bounds_by_id, HOUSEHOLD)
        return part.filter((part[DAY] >= part.start_day) & (part[DAY] <= part.end_day))

    # Branch 1, per basket (and day and week, which a basket normally has one of), then
    # per window. Money is rounded to cents per line and summed as exact integers.
    visits = (
        window_lines(
            BASKET, WEEK,
            sales_c=_cents(lines.sales_value), coupon_c=_cents(lines.coupon_disc), retail_c=_cents(lines.retail_disc),
            discounted=(lines.retail_disc > 0).cast("int64"),
        )
        .group_by(["w_id", BASKET, DAY, WEEK])
        .aggregate(
            v_lines=_.count(), v_sales=_.sales_c.sum(), v_coupon=_.coupon_c.sum(),
            v_retail=_.retail_c.sum(), v_discounted=_.discounted.sum(),
        )
    )
    per_window = visits.group_by("w_id").aggregate(
        first_day=_[DAY].min(),
        last_day=_[DAY].max(),
        first_week=_[WEEK].min(),
        last_week=_[WEEK].max(),
        n_weeks=_[WEEK].nunique(),
        n_lines=_.v_lines.sum(),
        sales_c=_.v_sales.sum(),
        coupon_c=_.v_coupon.sum(),
        retail_c=_.v_retail.sum(),
        n_discounted=_.v_discounted.sum(),
    )

    # Basket totals and day gaps are aggregated as exact integers (cents, days); every
    # float below is a fixed function of those integers, so the result does not depend
    # on the order in which threads add them up (byte-identical reruns).
    baskets = visits.group_by(["w_id", BASKET]).aggregate(basket_day=_[DAY].min(), basket_c=_.v_sales.sum())
    days = baskets.group_by(["w_id", "basket_day"]).aggregate(
        day_baskets=_.count(), day_s2=(_.basket_c * _.basket_c).sum()
    )
    days = days.mutate(
        gap=_.basket_day - _.basket_day.lag().over(ibis.window(group_by="w_id", order_by="basket_day"))
    )
    per_days = days.group_by("w_id").aggregate(
        n_baskets=_.day_baskets.sum(),
        b_s2=_.day_s2.sum(),
        g_n=_.gap.count(),
        g_s1=_.gap.sum(),
        g_s2=(_.gap * _.gap).sum(),
    )

    # Branch 2, per product bought in the window, then per window: distinct products and
    # departments, brand counts, fuel-free quantities and category sales.
    bought = (
        window_lines(PRODUCT, "quantity", sales_c=_cents(lines.sales_value))
        .group_by(["w_id", PRODUCT])
        .aggregate(p_lines=_.count(), p_sales=_.sales_c.sum(), p_quantity=_.quantity.sum())
    )
    bought = bought.left_join(prod, bought[PRODUCT] == prod.p_id)
    share_sums = {
        f"sales_{name}": _.p_sales.sum(where=_.p_macro.fill_null(len(MACRO_CATEGORIES)) == i)
        for i, name in enumerate(SHARE_CATEGORIES)
    }
    per_product = bought.group_by("w_id").aggregate(
        n_products=_.count(),
        n_departments=_.p_dept.nunique(),
        n_private=(_.p_lines * _.p_private.fill_null(0)).sum(),
        n_branded=(_.p_lines * _.p_branded.fill_null(0)).sum(),
        items=_.p_quantity.sum(where=~_.p_qty_excluded.fill_null(False)),
        **share_sums,
    )

    w = (
        per_window.join(per_days, "w_id")
        .join(per_product, "w_id")
        .join(wins, "w_id")
        .join(ref_week, "end_day")
    )

    tenure_weeks = (w.max_week - w.first_week + 1).cast("float64")
    sales = w.sales_c.cast("float64") / MONEY_SCALE
    actual_c = w.sales_c - w.coupon_c
    actual = actual_c.cast("float64") / MONEY_SCALE
    n_b = w.n_baskets
    # sample variance of basket totals from exact sums: (n S2 - S1^2) / (n (n - 1))
    basket_var = _ratio(n_b * w.b_s2 - w.sales_c * w.sales_c, n_b * (n_b - 1))
    # population variance of day gaps: (m G2 - G1^2) / m^2
    gap_sd = (w.g_n * w.g_s2 - w.g_s1 * w.g_s1).cast("float64").sqrt()
    feats = {
        "recency": (w.end_day - w.last_day),
        "recency_weeks": (w.max_week - w.last_week),
        "active_last_4w": (w.last_week >= w.max_week - 4),
        "active_last_12w": (w.last_week >= w.max_week - 12),
        "days_between_purchases_avg": _ratio(w.g_s1, w.g_n),
        "days_between_purchases_std": _ratio(gap_sd, w.g_n),
        "frequency": n_b,
        "frequency_per_week": _ratio(n_b, tenure_weeks),
        "frequency_per_month": _ratio(n_b, tenure_weeks) * ibis.literal(WEEKS_PER_MONTH, type="float64"),
        "transaction_count": w.n_lines,
        "weeks_with_purchase": w.n_weeks,
        "purchase_regularity": _ratio(w.n_weeks, tenure_weeks),
        "monetary_sales": sales,
        "monetary_actual": actual,
        "monetary_avg_basket_sales": _ratio(w.sales_c, n_b) / MONEY_SCALE,
        "monetary_avg_basket_actual": _ratio(actual_c, n_b) / MONEY_SCALE,
        "monetary_std": basket_var.sqrt() / MONEY_SCALE,
        "monetary_per_week": _ratio(w.sales_c, tenure_weeks) / MONEY_SCALE,
        "coupon_savings_ratio": _ratio(w.coupon_c, w.sales_c),
        "discount_rate": _ratio(w.retail_c + w.coupon_c, w.sales_c + w.retail_c + w.coupon_c),
        "discount_usage_pct": _ratio(w.n_discounted, w.n_lines),
        "private_label_ratio": _ratio(w.n_private, w.n_branded),
        "n_departments": w.n_departments,
        "n_products": w.n_products,
        "avg_items_per_basket": _ratio(w["items"].fill_null(0), n_b),
        "avg_products_per_basket": _ratio(w.n_products, n_b),
        **{
            f"share_{name}": _ratio(w[f"sales_{name}"].fill_null(0), w.sales_c)
            for name in SHARE_CATEGORIES
        },
        "week_coverage": _ratio(w.n_weeks, w.last_week - w.first_week + 1),
    }
    assert tuple(feats) == FEATURES
    cols = {name: expr.cast("float64") for name, expr in feats.items()}
    if auxiliary:
        cols.update(
            tenure=(w.end_day - w.first_day).cast("float64"),
            tenure_weeks=tenure_weeks,
            max_day=w.end_day.cast("float64"),
            max_week=w.max_week.cast("float64"),
        )
    return w.select(*[w[k] for k in out_keys], **cols)


def _as_table(obj, name: str):
    if isinstance(obj, ibis.Table):
        return obj
    if isinstance(obj, pd.DataFrame):
        return ibis.memtable(obj)
    raise TypeError(f"{name}: expected an ibis.Table or a pandas.DataFrame, got {type(obj).__name__}")


def _execute(con, expr):
    return con.execute(expr) if con is not None else expr.execute()


def household_ranges(con, transactions: ibis.Table, pass_lines: int | None = None) -> list[tuple[int, int] | None]:
    """The household ranges of the passes of the feature query: ``[None]`` (one pass over
    everything) up to ``pass_lines`` lines (default :data:`PASS_LINES`), else consecutive
    ranges ``(lo, hi)`` holding about the same number of households each and together every
    household of the lines.

    Why ranges and not ``household_id % k``: a range is a filter the parquet scan can use to
    skip row groups, which hold neighbouring households when the lines are written household
    block by household block (as the synthetic generator does).
    """
    pass_lines = pass_lines or PASS_LINES
    n = int(_execute(con, transactions.count()))
    k = -(-n // pass_lines)
    if k <= 1:
        return [None]
    ids = np.sort(_execute(con, transactions.select(HOUSEHOLD).distinct())[HOUSEHOLD].to_numpy())
    return [(int(part[0]), int(part[-1])) for part in np.array_split(ids, k) if len(part)]


def compute_features(
    transactions: ibis.Table | pd.DataFrame,
    products: ibis.Table | pd.DataFrame,
    windows: ibis.Table | pd.DataFrame | None = None,
    *,
    con=None,
    quantity_exclude_departments: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    quantity_exclude_sub_commodities: Iterable[str] = DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    auxiliary: bool = False,
) -> pd.DataFrame:
    """Run :func:`feature_expr` and return a pandas table sorted by its keys.

    ``transactions``, ``products`` and ``windows`` may be Ibis tables (for example from
    :func:`read_tables`) or pandas frames. ``con`` is the connection to execute on
    (default: a new single-thread DuckDB connection when the inputs are pandas frames;
    the inputs' own backend otherwise). Above :data:`PASS_LINES` lines the query runs once
    per range of households (:func:`household_ranges`), with the same result.

    Returns
    -------
    pandas.DataFrame
        Key columns (``household_id`` first, then the other window columns) followed by
        :data:`FEATURES` (then :data:`AUXILIARY` with ``auxiliary=True``), float64,
        sorted by the keys, with a fresh 0..n-1 index. NaN marks undefined values (see
        the module docstring).
    """
    tx = _as_table(transactions, "transactions")
    pr = _as_table(products, "products")
    win = None if windows is None else _as_table(windows, "windows")
    if con is None and all(not isinstance(x, ibis.Table) for x in (transactions, products)):
        con = connect("duckdb", threads=1, memory_limit="2GB")
    ranges, passes, calendar = household_ranges(con, tx), win, None
    if len(ranges) > 1:
        # what every pass would otherwise recompute from all the lines, computed once
        calendar = ibis.memtable(_execute(con, day_calendar(tx)))
        if win is None:
            bounds = tx.aggregate(start_day=_[DAY].min(), end_day=_[DAY].max())
            passes = ibis.memtable(_execute(con, tx.select(HOUSEHOLD).distinct().cross_join(bounds)))
    parts = []
    for households in ranges:
        expr = feature_expr(
            tx,
            pr,
            passes,
            quantity_exclude_departments=quantity_exclude_departments,
            quantity_exclude_sub_commodities=quantity_exclude_sub_commodities,
            auxiliary=auxiliary,
            households=households,
            calendar=calendar,
        )
        parts.append(_execute(con, expr))
    df = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    if win is None and passes is not None:  # the full data window, given to the passes as explicit windows
        df = df.drop(columns=["start_day", "end_day"])
    names = [*FEATURES, *(AUXILIARY if auxiliary else ())]
    keys = [c for c in df.columns if c not in names]
    df = df[[*keys, *names]]
    df[names] = df[names].astype("float64")
    return df.sort_values(keys, kind="mergesort").reset_index(drop=True)


def features_from_params(con, tables: Mapping[str, ibis.Table], section: Mapping, windows=None, auxiliary=False) -> pd.DataFrame:
    """:func:`compute_features` with the options of a validated ``features`` params section."""
    return compute_features(
        tables["transactions"],
        tables["products"],
        windows,
        con=con,
        quantity_exclude_departments=section.get("quantity_exclude_departments", DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS),
        quantity_exclude_sub_commodities=section.get(
            "quantity_exclude_sub_commodities", DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES
        ),
        auxiliary=auxiliary,
    )
