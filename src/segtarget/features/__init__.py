"""Customer features (Track 1): 33 behaviour features per household, for any time window.

The features are written once, as Ibis expressions, so that the same code runs on DuckDB
(the embedded default, which spills to disk beyond memory) and on PySpark or a warehouse
engine when the transactions outgrow one machine. :func:`feature_expr` builds the
expression; :func:`compute_features` runs it and returns a sorted pandas table with the
columns ``household_id`` + :data:`FEATURES`; :func:`feature_dictionary` documents every
feature (name, group, definition, unit).

Definitions follow the original project (methodology section 2) with these decisions:

Windows and reference points
    A *window* is one row ``(household_id, start_day, end_day)``, both days inclusive.
    A transaction line belongs to the window when its household matches and
    ``start_day <= day <= end_day``. Every feature uses only those lines; a window with no
    line gives no row (the caller decides what "no purchase" means for it).
    ``windows=None`` is the full data window: one row per household with at least one
    line, ``end_day`` = the data's last day.
    The reference point of recency is ``max_day = end_day``. The reference week is
    ``max_week`` = the largest ``week`` of any line (of any household) on a day
    ``<= end_day``: the week the data's calendar has reached by the end of the window.
    It is well defined for days without sales and for calendars where one day straddles
    two weeks (the Complete Journey's weeks change during a day), and for the full window
    it is the data's last week, as in the original.
Baskets
    A basket's day is the first day of its lines inside the window. ``frequency`` counts
    baskets; ``days_between_purchases_*`` use the sorted distinct basket days.
Heavy tails
    ``avg_items_per_basket`` does not count the quantity of lines whose department is in
    ``quantity_exclude_departments`` or whose sub-commodity is in
    ``quantity_exclude_sub_commodities`` (fuel: quantities there are gallons or points,
    up to 90,000 per line, which made the original feature's mean 728). The lines still
    count everywhere else (sales, shares, baskets).
``discount_usage_pct``
    The share of the household's lines bought with a loyalty (retail) discount, a
    fraction in [0, 1]. The original divided the discounted lines by the *branded* lines
    only, a ratio that can exceed 1 when some products lack a brand.
Missing values (kept as NaN; the segmentation step imputes)
    ``days_between_purchases_avg`` and ``_std`` are NaN with fewer than two distinct
    basket days (the std is 0 with exactly two); ``monetary_std`` is NaN with one basket;
    a ratio whose denominator is 0 is NaN: ``coupon_savings_ratio``, ``discount_rate``
    and the six shares when the household's sales are 0, ``private_label_ratio`` when
    none of its lines has a known brand. The original filled the first three with 0,
    which mixes "one visit" with "perfectly regular".
Products without a department (or not in the products table) count towards
``share_other``, not towards ``n_departments``, and have no brand.
Exact arithmetic
    Money is rounded to cents per line and summed as integers; basket and day-gap
    variances come from exact integer sums. Floating-point sums depend on the order in
    which threads add them, which changed the 10th digit of a feature between two
    identical runs; with integer sums reruns are byte-identical on any backend.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"household_id": [1, 1, 1], "basket_id": [10, 11, 11],
...                    "day": [1, 8, 8], "week": [1, 2, 2], "product_id": [5, 5, 6],
...                    "quantity": [1, 2, 1], "sales_value": [2.0, 4.0, 6.0],
...                    "retail_disc": [0.0, 0.5, 0.0], "coupon_disc": [0.0, 0.0, 1.0]})
>>> pr = pd.DataFrame({"product_id": [5, 6], "department": ["GROCERY", "PRODUCE"],
...                    "sub_commodity": ["SOUP", "APPLES"], "brand": ["Private", "National"]})
>>> f = compute_features(tx, pr)
>>> f[["household_id", "frequency", "monetary_sales", "share_fresh"]]
   household_id  frequency  monetary_sales  share_fresh
0             1        2.0            12.0          0.5
"""

from segtarget.features.definitions import (
    AUXILIARY,
    DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS,
    DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES,
    FEATURE_GROUPS,
    FEATURES,
    MACRO_CATEGORIES,
    MONEY_SCALE,
    REQUIRED_COLUMNS,
    SHARE_CATEGORIES,
    WEEKS_PER_MONTH,
    feature_dictionary,
)
from segtarget.features.engine import connect, read_tables
from segtarget.features.expressions import compute_features, feature_expr, features_from_params

__all__ = [
    "AUXILIARY",
    "DEFAULT_QUANTITY_EXCLUDE_DEPARTMENTS",
    "DEFAULT_QUANTITY_EXCLUDE_SUB_COMMODITIES",
    "FEATURE_GROUPS",
    "FEATURES",
    "MACRO_CATEGORIES",
    "MONEY_SCALE",
    "REQUIRED_COLUMNS",
    "SHARE_CATEGORIES",
    "WEEKS_PER_MONTH",
    "compute_features",
    "connect",
    "feature_dictionary",
    "feature_expr",
    "features_from_params",
    "read_tables",
]
