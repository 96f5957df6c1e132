"""The stacked cohort: design invariants, no leakage, single-campaign design, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from segtarget import features as F
from segtarget.track2 import cohort as C
from segtarget.core import params
from segtarget.core.errors import ParamError
from segtarget.core.io import write_parquet
from segtarget.core.paths import interim
from segtarget.data.schemas import empty

DEFAULTS = params.load_schema()["properties"]


def _section(name, **over):
    sec = {k: v["default"] for k, v in DEFAULTS[name]["properties"].items()}
    return {**sec, **over}


def make_world(seed=0, n=60, days=200):
    """A small retailer: three Type A campaigns, one Type B, households with daily visits."""
    rng = np.random.default_rng(seed)
    rows = []
    basket = 0
    for h in range(1, n + 1):
        rate = rng.uniform(0.05, 0.4)
        for d in range(1, days + 1):
            if rng.random() < rate:
                basket += 1
                for _ in range(rng.integers(1, 4)):
                    rows.append((h, basket, d, (d - 1) // 7 + 1, int(rng.integers(1, 6)), 1, 1,
                                 round(float(rng.uniform(1, 10)), 2), 0.0, 0.0, 0.0))
    tx = pd.DataFrame(rows, columns=empty("transactions").columns)
    products = pd.DataFrame({"product_id": [1, 2, 3, 4, 5], "department": ["GROCERY", "PRODUCE", "DRUG GM", None, "PASTRY"],
                             "commodity": None, "sub_commodity": None, "brand": ["Private", "National", "National", None, "Private"],
                             "manufacturer": None}).astype({"commodity": "str", "sub_commodity": "str", "manufacturer": "str"})
    campaigns = pd.DataFrame({"campaign_id": [1, 2, 3, 9], "campaign_type": ["A", "A", "A", "B"],
                              "start_day": [70, 100, 150, 60], "end_day": [84, 110, 160, 90]})
    # households 1-10 first targeted by 1; 11-20 by 2 (inside campaign 1's outcome window 70..112);
    # 21-30 by 3 (after it); 31-35 targeted by 1 and again by 3 (re-targeting); 36-60 never.
    members = [(1, h) for h in range(1, 11)] + [(2, h) for h in range(11, 21)] + [(3, h) for h in range(21, 31)]
    members += [(1, h) for h in range(31, 36)] + [(3, h) for h in range(31, 36)] + [(9, h) for h in range(1, 60, 3)]
    members = pd.DataFrame(members, columns=["campaign_id", "household_id"])
    red = pd.DataFrame({"household_id": [1, 2], "day": [75, 40], "coupon_upc": [5, 5], "campaign_id": [1, 1]})
    promo = pd.DataFrame({"product_id": [1, 2], "store_id": [1, 1], "week": [8, 9], "display": ["A", "0"], "mailer": ["0", "D"]})
    return {"transactions": tx, "products": products, "campaigns": campaigns, "campaign_members": members,
            "coupon_redemptions": red, "promotions": promo}


def build(world, tmp_path, **over):
    for name, df in world.items():
        write_parquet(df, interim(name, tmp_path))
    con = F.connect("duckdb", 1, "1GB")
    return C.build_cohort(con, C.load_tables(con, tmp_path), _section("cohort", **over), _section("features"))


@pytest.fixture(scope="module")
def world():
    return make_world()


def test_design_invariants(world, tmp_path):
    df, flow = build(world, tmp_path, lookback_weeks=8, min_lookback_weeks=8, outcome_stop_at_next=False)
    first = world["campaign_members"].merge(world["campaigns"].query("campaign_type == 'A'"), on="campaign_id") \
        .groupby("household_id").start_day.min()
    # treated at most once
    assert df.loc[df.treated == 1, "household_id"].is_unique
    # never a control at or after its own first treatment
    ctrl = df.loc[df.treated == 0]
    fs = ctrl.household_id.map(first)
    assert ((fs.isna()) | (fs > ctrl.index_day)).all()
    # controls whose treatment starts inside the outcome window are dropped
    c1 = df.loc[(df.campaign_id == 1) & (df.treated == 0), "household_id"]
    assert not set(range(11, 21)) & set(c1)
    assert set(range(21, 31)) & set(c1)  # first treated later, after the window: valid controls
    # re-targeted households are treated once, at their first campaign
    assert set(df.loc[(df.treated == 1) & df.household_id.between(31, 35), "campaign_id"]) == {1}
    # both arms of a campaign share its calendar
    cal = ["index_day", "lookback_start", "lookback_end", "outcome_start", "outcome_end"]
    assert (df.groupby("campaign_id")[cal].nunique() == 1).all().all()
    assert "final cohort (all stacked campaigns)" in set(flow.step)
    final = flow.set_index("step").loc["final cohort (all stacked campaigns)"]
    assert (final.n_treated, final.n_control) == ((df.treated == 1).sum(), (df.treated == 0).sum())


def test_outcomes_and_rates_are_exact(world, tmp_path):
    df, _ = build(world, tmp_path, lookback_weeks=8, min_lookback_weeks=8, campaigns=[1])
    tx = world["transactions"]
    row = df.iloc[0]
    h, s, e = row.household_id, row.outcome_start, row.outcome_end
    sel = tx[(tx.household_id == h) & tx.day.between(s, e)]
    assert row.purchase_amount == pytest.approx(sel.sales_value.sum())
    assert row.purchase_count == sel.basket_id.nunique()
    lb = tx[(tx.household_id == h) & tx.day.between(row.lookback_start, row.lookback_end)]
    assert row.x_frequency_per_week == pytest.approx(lb.basket_id.nunique() / 8)
    assert (row.outcome_start, row.outcome_end) == (70, 99)  # stops before campaign 2 starts (day 100)


def test_outcome_window_stops_before_the_next_campaign(world, tmp_path):
    """By default no control has to be dropped: the window ends before the next campaign."""
    df, flow = build(world, tmp_path, lookback_weeks=8, min_lookback_weeks=8)
    c1 = df.loc[df.campaign_id == 1]
    assert set(c1.outcome_end) == {99}
    assert set(range(11, 21)) <= set(c1.loc[c1.treated == 0, "household_id"])
    assert (flow.loc[flow.step.str.contains("inside the outcome window"), "n_control"] == 0).all()
    full, _ = build(world, tmp_path, lookback_weeks=8, min_lookback_weeks=8, outcome_stop_at_next=False)
    assert set(full.loc[full.campaign_id == 1, "outcome_end"]) == {84 + 28}


def test_single_campaign_design(world, tmp_path):
    df, flow = build(world, tmp_path, lookback_weeks=8, min_lookback_weeks=8, campaigns=[2])
    assert set(df.campaign_id) == {2}
    assert not [c for c in df.columns if c.startswith("x_campaign_")]  # no indicator for one campaign
    assert set(df.loc[df.treated == 1, "household_id"]) == set(range(11, 21)) & set(df.household_id)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), scale=st.floats(0.0, 5.0))
def test_no_leakage_from_after_the_index_day(world, tmp_path_factory, seed, scale):
    """Changing any transaction on or after a unit's index day changes none of its covariates."""
    base, _ = build(world, tmp_path_factory.mktemp("a"), lookback_weeks=8, min_lookback_weeks=8)
    rng = np.random.default_rng(seed)
    changed = {k: v.copy() for k, v in world.items()}
    tx = changed["transactions"]
    late = tx.day >= 70  # on or after the first index day
    pick = late & (rng.random(len(tx)) < 0.5)
    tx.loc[pick, "sales_value"] = (tx.loc[pick, "sales_value"] * scale).round(2)
    tx = tx.loc[~(late & (rng.random(len(tx)) < 0.3))]
    changed["transactions"] = tx
    new, _ = build(changed, tmp_path_factory.mktemp("b"), lookback_weeks=8, min_lookback_weeks=8)
    xcols = C.covariate_columns(base)
    for cid in (1,):  # campaign 1: everything after day 70 is post-index for all its units
        a = base.loc[base.campaign_id == cid].set_index("household_id")[xcols]
        b = new.loc[new.campaign_id == cid].set_index("household_id")[xcols]
        pd.testing.assert_frame_equal(a, b.loc[a.index])


@pytest.mark.parametrize(
    "over, words",
    [
        ({"campaign_type": "C"}, ("cohort.campaign_type", "no campaign of that type")),
        ({"lookback_weeks": 40, "min_lookback_weeks": 40}, ("no Type A campaign can be stacked", "min_lookback_weeks")),
        ({"outcome_window": "post_only", "outcome_post_weeks": 0}, ("cohort.outcome_post_weeks", "empty")),
        ({"campaigns": [7]}, ("cohort.campaigns", "7")),
        ({"lookback_weeks": 4, "min_lookback_weeks": 8}, ("cohort.lookback_weeks",)),
    ],
)
def test_bad_design_parameters(world, tmp_path, over, words):
    with pytest.raises(ParamError) as err:
        build(world, tmp_path, **{"lookback_weeks": 8, "min_lookback_weeks": 8, **over})
    for w in words:
        assert w in str(err.value)
    assert "\n" not in str(err.value)


def test_type_without_members_and_no_controls(world, tmp_path):
    w = dict(world)
    w["campaign_members"] = world["campaign_members"].query("campaign_id == 9")
    with pytest.raises(ParamError, match="no household is a member"):
        build(w, tmp_path, lookback_weeks=8, min_lookback_weeks=8)
    w = dict(world)
    everyone = pd.DataFrame({"campaign_id": 1, "household_id": range(1, 61)})
    w["campaign_members"] = everyone
    with pytest.raises(ParamError, match="no control units"):
        build(w, tmp_path, lookback_weeks=8, min_lookback_weeks=8, campaigns=[1])
