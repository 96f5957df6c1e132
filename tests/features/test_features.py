"""Customer features: known answers on a hand-made dataset, window property test against
the pandas reference implementation, the stage script."""

from __future__ import annotations

import importlib.util
import math
import statistics
import subprocess
import sys
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segtarget.features import (
    AUXILIARY,
    FEATURE_GROUPS,
    FEATURES,
    WEEKS_PER_MONTH,
    compute_features,
    connect,
    feature_dictionary,
)

ROOT = Path(__file__).resolve().parents[2]


def _load_reference():
    spec = importlib.util.spec_from_file_location("features_pandas", ROOT / "benchmarks" / "features_pandas.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ref = _load_reference()

TX_COLUMNS = [
    "household_id", "basket_id", "day", "week", "product_id", "store_id", "quantity",
    "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc",
]


def week_of(day: int) -> int:
    return (day - 1) // 7 + 1


def make_tx(rows) -> pd.DataFrame:
    """rows: (household, basket, day, product, quantity, sales, retail_disc, coupon_disc)."""
    df = pd.DataFrame(
        rows, columns=["household_id", "basket_id", "day", "product_id", "quantity", "sales_value", "retail_disc", "coupon_disc"]
    )
    df["week"] = df["day"].map(week_of)
    df["store_id"] = 1
    df["coupon_match_disc"] = 0.0
    return df[TX_COLUMNS].astype({"sales_value": float, "retail_disc": float, "coupon_disc": float})


# Products: 1 grocery (National), 2 produce (Private), 3 fuel, 4 no department / brand,
# 5 spirits, 6 gasoline sold under MISCELLANEOUS; product 99 is not in the table.
PRODUCTS = pd.DataFrame(
    {
        "product_id": [1, 2, 3, 4, 5, 6],
        "department": ["GROCERY", "PRODUCE", "FUEL", None, "SPIRITS", "MISCELLANEOUS"],
        "commodity": ["SOUP", "APPLES", "FUEL", None, "WHISKY", "COUPON/MISC ITEMS"],
        "sub_commodity": ["SOUP", "APPLES", "GASOLINE-REG UNLEADED", None, "WHISKY", "GASOLINE-REG UNLEADED"],
        "brand": ["National", "Private", "National", None, "National", "National"],
        "manufacturer": ["1", "2", "3", "4", "5", "6"],
    }
)

# Household 1: four baskets; basket 13 spans days 9 and 10 (its day is 9).
# Household 2: a single basket on the last day (50), with gasoline under MISCELLANEOUS.
# Household 3: two baskets with zero sales.
HAND_ROWS = [
    (1, 11, 2, 1, 2, 4.00, 1.00, 0.50),
    (1, 11, 2, 2, 1, 2.00, 0.00, 0.00),
    (1, 12, 9, 3, 500, 30.00, 0.00, 0.00),
    (1, 12, 9, 1, 1, 2.00, 0.50, 0.00),
    (1, 13, 9, 4, 3, 6.00, 0.00, 0.00),
    (1, 13, 10, 5, 1, 20.00, 0.00, 2.00),
    (1, 14, 20, 2, 2, 3.00, 0.00, 0.00),
    (1, 14, 20, 99, 1, 1.00, 0.00, 0.00),
    (2, 21, 50, 6, 1000, 25.00, 0.00, 0.00),
    (2, 21, 50, 1, 2, 5.00, 0.00, 0.00),
    (3, 31, 5, 1, 1, 0.00, 0.00, 0.00),
    (3, 32, 12, 2, 1, 0.00, 0.00, 0.00),
]


@pytest.fixture(scope="module")
def con():
    return connect("duckdb", threads=1, memory_limit="1GB")


@pytest.fixture(scope="module")
def hand(con):
    tx = make_tx(HAND_ROWS)
    return tx, compute_features(tx, PRODUCTS, con=con, auxiliary=True).set_index("household_id")


def test_feature_list_and_dictionary():
    assert len(FEATURES) == 33 == len(set(FEATURES))
    assert [len(v) for v in FEATURE_GROUPS.values()] == [6, 6, 7, 7, 6, 1]
    d = feature_dictionary(["FUEL"], [])
    assert list(d["name"]) == list(FEATURES)
    assert d["definition"].str.len().min() > 10 and d["unit"].str.len().min() > 0
    assert "FUEL" in d.set_index("name").loc["avg_items_per_basket", "definition"]


def test_columns_and_order(hand):
    tx, f = hand
    assert list(f.reset_index().columns) == ["household_id", *FEATURES, *AUXILIARY]
    assert list(f.index) == sorted(tx["household_id"].unique())
    assert (f[list(FEATURES)].dtypes == "float64").all()


def test_household_with_four_baskets(hand):
    tx, f = hand
    h = f.loc[1]
    max_day, max_week = tx["day"].max(), week_of(tx["day"].max())
    assert (h["max_day"], h["max_week"]) == (max_day, max_week)
    # recency: last line day 20, week 3
    assert h["recency"] == max_day - 20
    assert h["recency_weeks"] == max_week - 3
    assert h["active_last_4w"] == float(3 >= max_week - 4) == 0.0
    assert h["active_last_12w"] == 1.0
    # basket days 2, 9 (basket 13 counts on its first day), 20 -> gaps 7 and 11
    assert h["days_between_purchases_avg"] == pytest.approx((7 + 11) / 2)
    assert h["days_between_purchases_std"] == pytest.approx(statistics.pstdev([7, 11]))
    tenure_weeks = max_week - 1 + 1
    assert h["tenure_weeks"] == tenure_weeks and h["tenure"] == max_day - 2
    assert h["frequency"] == 4
    assert h["frequency_per_week"] == pytest.approx(4 / tenure_weeks)
    assert h["frequency_per_month"] == pytest.approx(4 / tenure_weeks * WEEKS_PER_MONTH)
    assert h["transaction_count"] == 8
    assert h["weeks_with_purchase"] == 3  # weeks 1, 2, 3
    assert h["purchase_regularity"] == pytest.approx(3 / tenure_weeks)
    assert h["week_coverage"] == pytest.approx(3 / (3 - 1 + 1))
    sales = 4 + 2 + 30 + 2 + 6 + 20 + 3 + 1
    assert h["monetary_sales"] == pytest.approx(sales)
    assert h["monetary_actual"] == pytest.approx(sales - 2.5)
    baskets = [4 + 2, 30 + 2, 6 + 20, 3 + 1]
    assert h["monetary_avg_basket_sales"] == pytest.approx(statistics.mean(baskets))
    assert h["monetary_avg_basket_actual"] == pytest.approx((sales - 2.5) / 4)
    assert h["monetary_std"] == pytest.approx(statistics.stdev(baskets))
    assert h["monetary_per_week"] == pytest.approx(sales / tenure_weeks)
    assert h["coupon_savings_ratio"] == pytest.approx(2.5 / sales)
    assert h["discount_rate"] == pytest.approx((1.5 + 2.5) / (sales + 1.5 + 2.5))
    assert h["discount_usage_pct"] == pytest.approx(2 / 8)
    # branded lines: products 1 (x2), 2 (x2, Private), 3, 5; product 4 and 99 have no brand
    assert h["private_label_ratio"] == pytest.approx(2 / 6)
    assert h["n_departments"] == 4  # GROCERY, PRODUCE, FUEL, SPIRITS (missing ones not counted)
    assert h["n_products"] == 6
    # the fuel line's 500 is not counted
    assert h["avg_items_per_basket"] == pytest.approx((2 + 1 + 1 + 3 + 1 + 2 + 1) / 4)
    assert h["avg_products_per_basket"] == pytest.approx(6 / 4)
    assert h["share_grocery"] == pytest.approx(6 / sales)
    assert h["share_fresh"] == pytest.approx(5 / sales)
    assert h["share_bakery"] == 0 and h["share_health_beauty"] == 0
    assert h["share_alcohol"] == pytest.approx(20 / sales)
    # fuel, the product without department and the unknown product 99
    assert h["share_other"] == pytest.approx((30 + 6 + 1) / sales)
    shares = [c for c in FEATURES if c.startswith("share_")]
    assert h[shares].sum() == pytest.approx(1.0)


def test_single_basket_household(hand):
    tx, f = hand
    h = f.loc[2]
    assert h["recency"] == 0 and h["recency_weeks"] == 0 and h["frequency"] == 1
    assert math.isnan(h["days_between_purchases_avg"]) and math.isnan(h["days_between_purchases_std"])
    assert math.isnan(h["monetary_std"])
    assert h["tenure_weeks"] == 1 and h["purchase_regularity"] == 1.0
    # gasoline under MISCELLANEOUS is excluded by its sub-commodity
    assert h["avg_items_per_basket"] == 2.0
    assert h["share_other"] == pytest.approx(25 / 30)
    assert h["n_departments"] == 2


def test_zero_sales_ratios_are_nan_and_one_gap_std_is_zero(hand):
    tx, f = hand
    h = f.loc[3]
    for c in ["coupon_savings_ratio", "discount_rate", *[c for c in FEATURES if c.startswith("share_")]]:
        assert math.isnan(h[c]), c
    assert h["monetary_sales"] == 0 and h["monetary_std"] == 0
    assert h["days_between_purchases_avg"] == 12 - 5
    assert h["days_between_purchases_std"] == 0.0
    assert h["private_label_ratio"] == 0.5


def test_quantity_exclusion_is_configurable(con):
    tx = make_tx(HAND_ROWS)
    f = compute_features(tx, PRODUCTS, con=con, quantity_exclude_departments=[], quantity_exclude_sub_commodities=[])
    f = f.set_index("household_id")
    assert f.loc[1, "avg_items_per_basket"] == pytest.approx((2 + 1 + 500 + 1 + 3 + 1 + 2 + 1) / 4)
    assert f.loc[2, "avg_items_per_basket"] == 1002.0
    g = compute_features(tx, PRODUCTS, con=con, quantity_exclude_departments=["fuel"], quantity_exclude_sub_commodities=[])
    g = g.set_index("household_id")
    assert g.loc[1, "avg_items_per_basket"] == pytest.approx(11 / 4)  # case-insensitive
    assert g.loc[2, "avg_items_per_basket"] == 1002.0


def test_explicit_windows(con):
    tx = make_tx(HAND_ROWS)
    windows = pd.DataFrame(
        {"household_id": [1, 1, 1, 2], "campaign_id": [7, 8, 9, 7], "start_day": [10, 1, 30, 1], "end_day": [20, 9, 40, 49]}
    )
    f = compute_features(tx, PRODUCTS, windows, con=con, auxiliary=True)
    # windows without lines (household 1 days 30-40, household 2 before day 50) give no row
    assert list(f.columns[:4]) == ["household_id", "campaign_id", "start_day", "end_day"]
    assert f[["household_id", "campaign_id"]].values.tolist() == [[1, 7], [1, 8]]
    w1 = f.iloc[0]
    # only the day-10 line of basket 13 is inside: its basket day becomes 10
    assert w1["frequency"] == 2 and w1["transaction_count"] == 3
    assert w1["days_between_purchases_avg"] == 20 - 10 and w1["days_between_purchases_std"] == 0
    assert w1["max_day"] == 20 and w1["max_week"] == week_of(20) and w1["recency"] == 0
    w2 = f.iloc[1]
    assert w2["max_week"] == week_of(9) and w2["recency"] == 0 and w2["frequency"] == 3
    assert w2["monetary_sales"] == pytest.approx(4 + 2 + 30 + 2 + 6)


def test_bad_windows_are_one_line_errors(con):
    from segtarget.core.errors import InputError

    tx = make_tx(HAND_ROWS)
    with pytest.raises(InputError, match="end_day"):
        compute_features(tx, PRODUCTS, pd.DataFrame({"household_id": [1], "start_day": [1]}), con=con)
    with pytest.raises(InputError, match="clashes"):
        compute_features(
            tx, PRODUCTS, pd.DataFrame({"household_id": [1], "start_day": [1], "end_day": [9], "week": [1]}), con=con
        )
    with pytest.raises(InputError, match="w_id clashes"):
        compute_features(
            tx, PRODUCTS, pd.DataFrame({"household_id": [1], "start_day": [1], "end_day": [9], "w_id": [1]}), con=con
        )


# ---------------------------------------------------------------------------------------
# property test: random windows vs the pandas reference on the filtered data


def synthetic(seed: int, households: int = 6, days: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, basket = [], 1000
    for h in range(1, households + 1):
        for _ in range(rng.integers(1, 9)):
            basket += 1
            d0 = int(rng.integers(1, days + 1))
            for _ in range(rng.integers(1, 5)):
                d = min(days, d0 + int(rng.random() < 0.1))  # some baskets span two days
                sales = round(float(rng.choice([0.0, rng.uniform(0.5, 20)], p=[0.05, 0.95])), 2)
                rows.append(
                    (h, basket, d, int(rng.integers(1, 10)), int(rng.integers(1, 4)), sales,
                     round(float(rng.choice([0.0, 0.3])), 2), round(float(rng.choice([0.0, 0.0, 0.25])), 2))
                )
    tx = make_tx(rows)
    pr = pd.DataFrame(
        {
            "product_id": range(1, 9),  # product 9 is unknown
            "department": ["GROCERY", "PRODUCE", "FUEL", None, "SPIRITS", "PASTRY", "DRUG GM", "FLORAL"],
            "commodity": ["x"] * 8,
            "sub_commodity": ["a", "b", "GASOLINE-REG UNLEADED", None, "c", "d", "e", "f"],
            "brand": ["National", "Private", "National", None, "Private", "National", "Private", None],
            "manufacturer": ["m"] * 8,
        }
    )
    return tx, pr


def assert_same(a: pd.DataFrame, b: pd.DataFrame, keys) -> None:
    assert list(a.columns) == list(b.columns)
    assert a[keys].values.tolist() == b[keys].values.tolist()
    x, y = a[list(FEATURES)].to_numpy(float), b[list(FEATURES)].to_numpy(float)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y))
    np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_full_window_matches_reference(con):
    tx, pr = synthetic(0)
    assert_same(compute_features(tx, pr, con=con), ref.pandas_features(tx, pr), ["household_id"])


window = st.tuples(st.integers(1, 6), st.integers(-5, 65), st.integers(0, 40))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 3), wins=st.lists(window, min_size=1, max_size=8))
def test_random_windows_match_reference(con, seed, wins):
    tx, pr = synthetic(seed)
    windows = pd.DataFrame(
        [(h, i, s, s + n) for i, (h, s, n) in enumerate(wins)],
        columns=["household_id", "window", "start_day", "end_day"],
    )
    got = compute_features(tx, pr, windows, con=con)
    want = ref.pandas_window_features(tx, pr, windows)
    keys = ["household_id", "window", "start_day", "end_day"]
    assert_same(got, want, keys)


def test_passes_over_household_ranges_give_the_same_table(con, monkeypatch):
    """Above PASS_LINES lines the query runs once per household range (bounded memory on large
    data); the table is the same, for the full window and for explicit windows, and ranges
    holding no window or no line give no row."""
    from segtarget.features import expressions

    tx, pr = synthetic(1, households=9)
    windows = pd.DataFrame({"household_id": [1, 1, 4, 8, 8, 9, 12], "campaign_id": [1, 2, 1, 1, 2, 1, 1],
                            "start_day": [1, 30, 5, 1, 20, 40, 1], "end_day": [29, 60, 50, 19, 60, 45, 60]})
    whole = compute_features(tx, pr, con=con, auxiliary=True)
    whole_w = compute_features(tx, pr, windows, con=con, auxiliary=True)
    monkeypatch.setattr(expressions, "PASS_LINES", len(tx) // 4)
    ranges = expressions.household_ranges(con, ibis.memtable(tx))
    assert len(ranges) >= 4 and ranges[0][0] == 1 and ranges[-1][1] == 9
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))
    pd.testing.assert_frame_equal(compute_features(tx, pr, con=con, auxiliary=True), whole)
    pd.testing.assert_frame_equal(compute_features(tx, pr, windows, con=con, auxiliary=True), whole_w)
    monkeypatch.setattr(expressions, "PASS_LINES", 1)  # one household per pass
    pd.testing.assert_frame_equal(compute_features(tx, pr, windows, con=con, auxiliary=True), whole_w)


# ---------------------------------------------------------------------------------------
# the stage script


def _run_script(tmp_path, interim_dir):
    return subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "features.py"),
            "--params", str(ROOT / "params.yaml"),
            "--interim-dir", str(interim_dir),
            "--out", str(tmp_path / "out" / "customer_features.csv"),
            "--dictionary", str(tmp_path / "out" / "feature_dictionary.csv"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_script_bad_interim_dir(tmp_path):
    res = _run_script(tmp_path, tmp_path / "no_such_dir")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "no_such_dir" in lines[0]
    assert not (tmp_path / "out").exists()


def test_script_missing_column(tmp_path):
    interim = tmp_path / "interim"
    interim.mkdir()
    make_tx(HAND_ROWS).drop(columns="week").to_parquet(interim / "transactions.parquet")
    PRODUCTS.to_parquet(interim / "products.parquet")
    res = _run_script(tmp_path, interim)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "week" in lines[0] and "transactions.parquet" in lines[0]


def test_script_writes_table_and_dictionary(tmp_path):
    interim = tmp_path / "interim"
    interim.mkdir()
    tx, pr = synthetic(1)
    tx.to_parquet(interim / "transactions.parquet")
    pr.to_parquet(interim / "products.parquet")
    res = _run_script(tmp_path, interim)
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(tmp_path / "out" / "customer_features.csv")
    assert list(out.columns) == ["household_id", *FEATURES]
    want = ref.pandas_features(tx, pr)
    np.testing.assert_allclose(out[list(FEATURES)].to_numpy(float), want[list(FEATURES)].to_numpy(float), rtol=1e-9)
    d = pd.read_csv(tmp_path / "out" / "feature_dictionary.csv")
    assert list(d["name"]) == list(FEATURES)
