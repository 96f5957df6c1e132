"""Settings and the campaign calendar: the validated parameters, the campaigns and their coupons.

:func:`settings` validates the ``synthetic`` section and fills in its defaults;
:func:`make_calendar` lays out the Type A, B and C campaigns and :func:`make_coupons` the
coupons each campaign offers (a few products of one department and brand per coupon).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segtarget.core import params as seg_params
from segtarget.core.errors import ParamError
from segtarget.data.synthetic.catalog import DEPARTMENTS, Catalog, pick_products
from segtarget.data.synthetic.helpers import _categorical, _rng

COUPON_BASE = 10_000_000_000

# --- campaigns ----------------------------------------------------------------------------
LENGTH_WEEKS = {"A": (6, 8), "B": (4, 6), "C": (8, 10)}
COUPONS_PER_CAMPAIGN = {"A": 40, "B": 12, "C": 25}


# ------------------------------------------------------------------------------------------
# settings and calendar
# ------------------------------------------------------------------------------------------
def settings(params_synth: dict) -> dict:
    """The ``synthetic`` section validated against the schema, with its defaults filled in.

    Examples
    --------
    >>> settings({"households": 300})["weeks"]
    102
    """
    full = {"data": {"source": "synthetic"}, "synthetic": dict(params_synth or {}), "compute": {}}
    s = seg_params.validate(full, source="params.yaml")["synthetic"]
    n_campaigns = s["campaigns_a"] + s["campaigns_b"] + s["campaigns_c"]
    if n_campaigns and s["first_campaign_week"] > s["weeks"] - 2:
        raise ParamError(
            f"params.yaml: synthetic.first_campaign_week = {s['first_campaign_week']} is invalid; "
            f"expected <= synthetic.weeks - 2 = {s['weeks'] - 2} so that campaigns fall inside the data"
        )
    return s


def make_calendar(s: dict) -> pd.DataFrame:
    """The campaign calendar: one row per campaign, in start order.

    Columns: campaign (CAMPAIGN id), kind (A/B/C), start_week, end_week, start_day, end_day.
    Type A campaigns are spread evenly from ``first_campaign_week`` so that their effect
    windows (plus a two-week margin) end inside the data; B and C start at random weeks.
    Campaign ids are a random permutation of 1..K (as in the original, ids do not follow
    time), so no consumer can rely on their order.
    """
    rng = _rng(s["seed"], 1)
    weeks, first, post = s["weeks"], s["first_campaign_week"], s["effect_post_weeks"]
    rows = []
    k_a = s["campaigns_a"]
    lo_len, hi_len = LENGTH_WEEKS["A"]
    last = max(first, weeks - post - hi_len - 2)
    for k in range(k_a):
        start = first if k_a == 1 else first + round(k * (last - first) / (k_a - 1))
        if k > 0:
            start = int(np.clip(start + rng.integers(-1, 2), first, last))
        length = int(rng.integers(lo_len, hi_len + 1))
        end = min(start + length - 1, weeks)
        rows.append(("A", start, end, 7 * (start - 1) + 1, 7 * end))
    for kind, n in (("B", s["campaigns_b"]), ("C", s["campaigns_c"])):
        lo_len, hi_len = LENGTH_WEEKS[kind]
        for _ in range(n):
            length = int(rng.integers(lo_len, hi_len + 1))
            start = int(rng.integers(first, max(first, weeks - lo_len) + 1))
            start_day = 7 * (start - 1) + 1 + int(rng.integers(0, 7))
            end_day = min(start_day + 7 * length - 1, 7 * weeks)
            rows.append((kind, start, (end_day - 1) // 7 + 1, start_day, end_day))
    cal = pd.DataFrame(rows, columns=["kind", "start_week", "end_week", "start_day", "end_day"])
    cal = cal.sort_values(["start_day", "kind"], kind="stable").reset_index(drop=True)
    cal.insert(0, "campaign", rng.permutation(len(cal)) + 1 if len(cal) else np.zeros(0, int))
    return cal


# ------------------------------------------------------------------------------------------
# coupons
# ------------------------------------------------------------------------------------------
@dataclass
class Coupons:
    table: pd.DataFrame  # coupon.csv rows
    upc: np.ndarray  # per coupon
    start: np.ndarray  # per campaign row: first coupon index
    count: np.ndarray  # per campaign row: number of coupons
    prod_start: np.ndarray  # per coupon: first product index in prod
    prod_count: np.ndarray
    prod: np.ndarray  # catalogue positions


def make_coupons(s: dict, cal: pd.DataFrame, cat: Catalog) -> Coupons:
    """Coupons of every campaign, each covering a few products of one department and brand."""
    rng = _rng(s["seed"], 9)
    share = cat.line_share.copy()
    share[[i for i, d in enumerate(DEPARTMENTS) if d[0] in ("", "KIOSK-GAS")]] = 0
    counts = np.array([COUPONS_PER_CAMPAIGN[k] for k in cal["kind"]], dtype=int)
    n_coupons = int(counts.sum())
    upc = COUPON_BASE + np.cumsum(rng.integers(1, 5_000_000, n_coupons))
    upc = upc[rng.permutation(n_coupons)]
    prods, pstart, pcount = [], [], []
    total = 0
    for _ in range(n_coupons):
        d = int(_categorical(rng, share, 1)[0])
        b = int(cat.has_private[d] and rng.random() < 0.15)
        g = 2 * d + b
        k = int(rng.integers(1, 16))
        p = np.unique(pick_products(cat, np.full(k, g), rng.random(k)))
        prods.append(p)
        pstart.append(total)
        pcount.append(len(p))
        total += len(p)
    prod = np.concatenate(prods) if prods else np.zeros(0, int)
    pstart, pcount = np.array(pstart, dtype=int), np.array(pcount, dtype=int)
    cstart = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int) if len(counts) else counts
    camp_of_coupon = np.repeat(cal["campaign"].to_numpy(), counts)
    table = pd.DataFrame(
        {
            "COUPON_UPC": np.repeat(upc, pcount),
            "PRODUCT_ID": cat.ids[prod],
            "CAMPAIGN": np.repeat(camp_of_coupon, pcount),
        }
    ).sort_values(["CAMPAIGN", "COUPON_UPC", "PRODUCT_ID"], kind="stable")
    return Coupons(table=table, upc=upc, start=cstart, count=counts, prod_start=pstart, prod_count=pcount, prod=prod)
