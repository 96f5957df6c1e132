"""The synthetic retailer: dunnhumby-format CSVs with a known causal truth, at any size.

:func:`write_synthetic` writes the eight files of the original dunnhumby release
(``transaction_data.csv``, ``product.csv``, ``hh_demographic.csv``, ``campaign_desc.csv``,
``campaign_table.csv``, ``coupon.csv``, ``coupon_redempt.csv`` and, when
``synthetic.promotions`` is true, ``causal_data.csv``) in the original column layout, so the
data go through the same dunnhumby adapter as the real files, plus the truth the generator
used (``truth.csv``, ``truth_campaigns.csv``) and ``MANIFEST.json``. The same seed gives
byte-identical files.

The data-generating process (every constant is a module-level name below)
-------------------------------------------------------------------------
Households
    Baseline visit rate ``mu_h`` (baskets per week) is lognormal with mean about 1.1. The
    weekly rate is ``lambda_hw = mu_h * exp(x_hw - s^2/2 + season_w)`` where ``x_hw`` is a
    stationary AR(1) process on the log rate (persistence ``AR_RHO`` per week, standard
    deviation ``AR_SD``), so a household that spent more recently keeps spending more for a
    while; ``season_w`` is a mild annual sine plus a holiday bump. Each week the household
    makes ``Poisson(lambda_hw + campaign effects)`` baskets (at least one basket in an early
    "enrolment" week, so every household appears in the transactions).
Baskets
    A share ``fuel_h`` of a household's visits are fuel-kiosk visits (one gasoline line with
    a huge QUANTITY in department KIOSK-GAS, sometimes one more item); the other baskets hold
    ``1 + Poisson(Gamma)`` lines with household mean ``lines_h`` (about 9). Each line picks
    a department from the household's Dirichlet preferences, a Private brand with the
    household's private-label share, then a product: from the household's personal
    repertoire (a few fixed products per department and brand) or by chain-wide popularity.
    Lines are discounted by the loyalty card with the household's deal proneness
    (RETAIL_DISC), some carry a manufacturer coupon (COUPON_DISC) and a retailer match
    (COUPON_MATCH_DISC). A few lines have QUANTITY 0; a few baskets start just before
    midnight and have lines on two DAYs. Shoppers use a home store and sometimes others.
Campaigns
    ``campaigns_a/b/c`` campaigns from ``first_campaign_week``: Type A 6-8 weeks, spread
    evenly so that their effect windows end before the data do; Type B 4-6 weeks and Type C
    8-10 weeks at random start weeks. Type A campaigns start on the first day of a week and
    end on the last (so the effect windows below are whole weeks); B and C start on any day.
Targeting (the confounding)
    At the start of Type A campaign ``c``, ``logit P(target) = alpha_c + confounding *
    z(log(1 + past sales))``, past sales being all weeks before ``c``
    (``targeting_basis: history``) or the last ``targeting_recent_weeks`` (``recent``), and
    ``z`` standardised over households. ``alpha_c`` is solved so that each Type A campaign
    adds ``target_share_a / campaigns_a`` of the households to those ever targeted; with
    ``repeat_targeting: false`` a household targeted once is not eligible later. Type B
    targeting follows past sales and deal proneness, Type C past visits; **B and C have no
    effect on purchases** (they only cause coupon redemptions), so they are realistic noise
    for the analysis, not a second treatment.
Effect of Type A
    A targeted household's basket rate rises by ``tau_h`` baskets per week during the
    campaign's weeks and ``effect_post_weeks`` after. The extra baskets are ordinary baskets,
    so the effect on sales is ``tau_h`` times the household's expected basket value.
    ``effect_shape``: ``none`` (0), ``constant`` (``effect_baskets_per_week``), ``linear``
    (linear in standardised deal proneness, mean ``effect_baskets_per_week``, negative for
    about 5% of households), ``heterogeneous`` (large for deal-prone households with a
    mid-range visit rate, near zero elsewhere; population mean ``effect_baskets_per_week``).
    Every targeted household (A, B or C) redeems some of the campaign's coupons on baskets
    inside the campaign dates: the line becomes the coupon's product with a COUPON_DISC,
    and a row in coupon_redempt.csv. A redemption replaces a line and keeps its sales value,
    so redemptions do not add sales beyond the basket effect.

Truth files
    ``truth.csv`` has one row per household: ``true_propensity`` (probability of being
    targeted by at least one Type A campaign, ``1 - prod_c (1 - p_hc)`` from the model's
    targeting probabilities given the realised histories), the effect per week and over a
    window of the mean Type A length plus ``effect_post_weeks``, and the simulated traits.
    ``truth_campaigns.csv`` has one row per (household, Type A campaign): the targeting
    probability at that campaign (0 when not eligible), whether targeted, and the expected
    direct effect of being targeted by it over its effect window inside the data, holding the
    other campaigns' assignments fixed (for a negative ``tau_h`` the basket rate cannot fall
    below zero; this is accounted for exactly, given the simulated weekly rates).

Scale and determinism
    Households are simulated in fixed blocks of :data:`BLOCK` and time in segments that
    start at every campaign start (and at least every :data:`SEGMENT_WEEKS` weeks); each
    (segment, block) has its own random stream derived from the seed, and lines are
    appended to the CSV as they are made, so memory stays bounded (25,000 households x 102
    weeks fit well within 4 GB) and the files depend only on the parameters.

Examples
--------
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "synthetic"
>>> m = write_synthetic({"source": "synthetic"}, {"households": 60, "weeks": 20,
...     "first_campaign_week": 6, "campaigns_a": 2, "campaigns_b": 2, "campaigns_c": 1}, out)
>>> m["requested"], m["rows"]["truth.csv"]
(True, 60)
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from segtarget.core import params as seg_params
from segtarget.core.errors import ParamError
from segtarget.core.io import FLOAT_FORMAT, write_json

log = logging.getLogger(__name__)

#: Bumped whenever the generated data change for the same parameters.
VERSION = 1
#: Households per generation block (fixed, so the files never depend on memory settings).
BLOCK = 2048
#: Longest time segment generated at once (weeks).
SEGMENT_WEEKS = 13
BASKET_BASE = 26_000_000_000
COUPON_BASE = 10_000_000_000
PRIVATE_MANUFACTURER = 69

# --- households -------------------------------------------------------------------------
MEAN_BASKETS_PER_WEEK = 1.1
SD_LOG_RATE = 0.8
RATE_RANGE = (0.04, 12.0)
AR_RHO = 0.85
AR_SD = 0.35
SEASON_AMPLITUDE = 0.05
HOLIDAY_BUMP = 0.12
HOLIDAY_WEEKS = (47, 51, 52)
ENROL_WEEKS = 13
MEAN_LINES = 9.4
SD_LOG_LINES = 0.45
LINES_SHAPE = 1.5
PREFERENCE_CONCENTRATION = 30.0
PRIVATE_BETA = (2.2, 5.0)
DEAL_BETA = (2.5, 2.5)
COUPON_CLIPPER_SHARE = 0.35
COUPON_LINE_RATE = 0.012
REDEEM_RATE = 0.06
REDEEM_WEIGHT = {"A": 1.0, "B": 0.6, "C": 0.8}
FUEL_USER_SHARE = 0.35
FUEL_BETA = (2.0, 9.0)
QTY_GAMMA = (1.5, 0.2)
HOUR_MEAN, HOUR_SD, HOUR_NOISE = 14.5, 2.5, 2.0
LOYALTY_BETA = (9.0, 1.5)
STORES_PER_HOUSEHOLD = 0.17
DOW_WEIGHTS = (0.13, 0.12, 0.12, 0.13, 0.15, 0.18, 0.17)

# --- lines --------------------------------------------------------------------------------
PRICE_SCALE = 0.9
REPERTOIRE_SIZE = 8
REPERTOIRE_SHARE = 0.45
P_ZERO_QTY = 0.002
DISC_DEPTH = (0.10, 0.50)
P_MATCH = 0.3
MATCH_SHARE = (0.05, 0.15)
COUPON_VALUE = (0.25, 1.50)
REDEEM_VALUE = (0.50, 3.00)
FUEL_VALUE_MEAN = 28.0
FUEL_VALUE_SD_LOG = 0.45
FUEL_EXTRA_LINE = 0.25
FUEL_GRADES = (0.80, 0.12, 0.08)
P_SPAN = 0.003

# --- campaigns ----------------------------------------------------------------------------
LENGTH_WEEKS = {"A": (6, 8), "B": (4, 6), "C": (8, 10)}
SHARE_TARGETED = {"B": 0.06, "C": 0.04}
COUPONS_PER_CAMPAIGN = {"A": 40, "B": 12, "C": 25}
HETERO_DEAL_CENTRE, HETERO_DEAL_SLOPE = 0.55, 8.0
HETERO_RATE_CENTRE, HETERO_RATE_SD = 0.8, 0.45
LINEAR_SLOPE = 0.6

# --- promotions (causal_data.csv) ---------------------------------------------------------
PROMO_PRODUCTS, PROMO_STORES, PROMO_WEEK_RATE, PROMO_STORE_RATE = 1500, 30, 0.10, 0.8
DISPLAY_CODES = ("0", "1", "2", "3", "4", "5", "6", "7", "9", "A")
DISPLAY_WEIGHTS = (0.45, 0.06, 0.12, 0.07, 0.04, 0.07, 0.05, 0.04, 0.04, 0.06)
MAILER_CODES = ("0", "A", "D", "F", "H", "J", "L", "P", "X", "Z")
MAILER_WEIGHTS = (0.35, 0.36, 0.08, 0.04, 0.06, 0.03, 0.03, 0.02, 0.02, 0.01)
DEMOGRAPHIC_SHARE = 0.32

#: Departments: name, share of lines, share of the catalogue, median price, private share.
DEPARTMENTS = (
    ("GROCERY", 0.47, 0.40, 2.3, 0.22),
    ("PRODUCE", 0.11, 0.04, 1.8, 0.10),
    ("MEAT-PCKGD", 0.05, 0.03, 4.0, 0.20),
    ("MEAT", 0.03, 0.03, 6.5, 0.15),
    ("DELI", 0.03, 0.03, 4.5, 0.15),
    ("DRUG GM", 0.12, 0.32, 3.8, 0.15),
    ("PASTRY", 0.025, 0.02, 3.0, 0.30),
    ("NUTRITION", 0.015, 0.03, 4.5, 0.10),
    ("SPIRITS", 0.006, 0.01, 12.0, 0.0),
    ("KIOSK-GAS", 0.006, 0.003, 3.5, 0.0),
    ("FROZEN GROCERY", 0.004, 0.005, 3.2, 0.10),
    ("SEAFOOD-PCKGD", 0.004, 0.005, 6.0, 0.10),
    ("SEAFOOD", 0.002, 0.003, 8.0, 0.0),
    ("COSMETICS", 0.006, 0.03, 6.0, 0.05),
    ("FLORAL", 0.003, 0.005, 8.0, 0.0),
    ("SALAD BAR", 0.003, 0.002, 4.0, 0.0),
    ("MISC SALES TRAN", 0.003, 0.003, 2.0, 0.0),
    ("GARDEN CENTER", 0.001, 0.005, 9.0, 0.0),
    ("CHEF SHOPPE", 0.001, 0.002, 6.0, 0.0),
    ("TRAVEL & LEISUR", 0.002, 0.005, 5.0, 0.0),
    ("RX", 0.0005, 0.002, 10.0, 0.0),
    ("", 0.0005, 0.0005, 2.0, 0.0),
)
COMMODITIES = {
    "GROCERY": ("SOFT DRINKS", "FLUID MILK PRODUCTS", "BAKED BREAD/BUNS/ROLLS", "CHEESE", "BAG SNACKS",
                "COLD CEREAL", "SOUP", "FROZEN PIZZA", "EGGS", "YOGURT", "CANNED JUICES", "COFFEE",
                "CANDY - PACKAGED", "PASTA SAUCE", "DRY PASTA", "CRACKERS/MISC BKD FD"),
    "PRODUCE": ("VEGETABLES - ALL OTHERS", "TROPICAL FRUIT", "POTATOES", "APPLES", "BERRIES",
                "SALAD MIX", "ONIONS", "CITRUS"),
    "MEAT-PCKGD": ("LUNCHMEAT", "BACON", "HOT DOGS", "BREAKFAST SAUSAGE/SANDWICHES"),
    "MEAT": ("BEEF", "CHICKEN", "PORK", "TURKEY"),
    "DELI": ("DELI MEATS", "DELI SPECIALTIES (RETAIL PK)", "CHEESES", "SANDWICHES"),
    "DRUG GM": ("CIGARETTES", "MAGAZINE", "GREETING CARDS/WRAP/PARTY SPLY", "HAIR CARE PRODUCTS",
                "VITAMINS", "COLD AND FLU", "ORAL HYGIENE PRODUCTS", "HOUSEHOLD CLEANING"),
    "PASTRY": ("CAKES", "DONUTS", "BREAD", "COOKIES"),
    "NUTRITION": ("NATURAL HBC", "HEALTH FOODS", "ORGANICS FRUIT & VEGETABLES"),
    "SPIRITS": ("LIQUOR", "WINE"),
    "KIOSK-GAS": ("CIGARETTES", "SOFT DRINKS", "CANDY - PACKAGED"),
    "FROZEN GROCERY": ("FROZEN MEAT", "ICE CREAM"),
    "SEAFOOD-PCKGD": ("SEAFOOD - FROZEN", "SEAFOOD - SHELF STABLE"),
    "SEAFOOD": ("SEAFOOD - FRESH",),
    "COSMETICS": ("MAKEUP AND TREATMENT", "NAIL CARE"),
    "FLORAL": ("BOUQUETS", "PLANTS"),
    "SALAD BAR": ("SALAD BAR",),
    "MISC SALES TRAN": ("COUPON/MISC ITEMS", "GIFT CARDS"),
    "GARDEN CENTER": ("LAWN AND GARDEN",),
    "CHEF SHOPPE": ("PREPARED FOOD",),
    "TRAVEL & LEISUR": ("TRAVEL ITEMS",),
    "RX": ("RX",),
    "": ("",),
}
SUB_VARIANTS = ("ALL OTHER", "PREMIUM", "VALUE", "MULTI-PACK", "SINGLE SERVE", "FAMILY SIZE")
SIZES = ("", "", "", "8 OZ", "12 OZ", "16 OZ", "32 OZ", "1 LB", "2 LB", "5 LB", "2 LTR", "6 PK", "1 GA", "1 CT")
FUEL_PRODUCTS = (("GASOLINE-REG UNLEADED", ""), ("GASOLINE-MID GRADE", ""), ("GASOLINE-PREMIUM", ""))

TX_COLUMNS = ("household_key", "BASKET_ID", "DAY", "PRODUCT_ID", "QUANTITY", "SALES_VALUE", "STORE_ID",
              "RETAIL_DISC", "TRANS_TIME", "WEEK_NO", "COUPON_DISC", "COUPON_MATCH_DISC")
FILES = ("transaction_data.csv", "product.csv", "hh_demographic.csv", "campaign_desc.csv",
         "campaign_table.csv", "coupon.csv", "coupon_redempt.csv", "causal_data.csv",
         "truth.csv", "truth_campaigns.csv")

DEMOGRAPHIC_VALUES = {
    "AGE_DESC": (("19-24", "25-34", "35-44", "45-54", "55-64", "65+"), (0.06, 0.17, 0.24, 0.36, 0.08, 0.09)),
    "INCOME_DESC": (("Under 15K", "15-24K", "25-34K", "35-49K", "50-74K", "75-99K", "100-124K",
                     "125-149K", "150-174K", "175-199K", "200-249K", "250K+"), None),
    "HOMEOWNER_DESC": (("Homeowner", "Unknown", "Renter", "Probable Renter", "Probable Owner"),
                       (0.63, 0.29, 0.05, 0.015, 0.015)),
}


# ------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------
def _rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent random stream for one part of the generator (seed + fixed keys)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash_uniform(seed: int, *keys: np.ndarray) -> np.ndarray:
    """A uniform in [0, 1) that is a fixed function of (seed, keys): a household's repertoire.

    Counter-based, so a household's favourite products are the same in every block and
    segment without storing them.
    """
    x = _mix(np.full(np.shape(keys[0]), seed, dtype=np.uint64))
    for k in keys:
        x = _mix(x ^ np.asarray(k).astype(np.uint64))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x, dtype=float)


def _solve_alpha(z: np.ndarray, slope: float, target: float) -> float:
    """The intercept a with sum(sigmoid(a + slope * z)) = target (bisection; clipped to +-30)."""
    if len(z) == 0 or target <= 0:
        return -30.0
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _sigmoid(mid + slope * z).sum() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _categorical(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=float))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def _round2(x):
    return np.round(x, 2) + 0.0


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
# catalogue and stores
# ------------------------------------------------------------------------------------------
@dataclass
class Catalog:
    """Products in sampling order: grouped by (department, brand), fuel last."""

    ids: np.ndarray
    dept: np.ndarray
    private: np.ndarray
    price: np.ndarray
    table: pd.DataFrame  # product.csv rows in catalogue order
    flat: np.ndarray  # cumulative popularity within group + group index
    group_start: np.ndarray
    group_end: np.ndarray
    group_mean_price: np.ndarray
    has_private: np.ndarray
    line_share: np.ndarray
    fuel: np.ndarray  # catalogue positions of the gasoline products
    popularity: np.ndarray  # chain-wide share of lines of each product (approximate)


def make_catalog(s: dict) -> Catalog:
    """A product catalogue of ``8 * households`` products (3,000 to 60,000) plus 3 fuels."""
    rng = _rng(s["seed"], 2)
    n_dept = len(DEPARTMENTS)
    n = int(np.clip(8 * s["households"], 3000, 60000))
    share = np.array([d[2] for d in DEPARTMENTS])
    counts = np.maximum(4, np.round(share / share.sum() * n)).astype(int)
    depts, privs, prices, comms, subs = [], [], [], [], []
    for d, (name, _, _, median, p_priv) in enumerate(DEPARTMENTS):
        n_d = counts[d]
        n_priv = int(round(p_priv * n_d))
        if p_priv > 0:
            n_priv = min(max(n_priv, 1), n_d - 2)
        for b, n_b in ((0, n_d - n_priv), (1, n_priv)):
            depts.append(np.full(n_b, d))
            privs.append(np.full(n_b, b))
            p = np.exp(np.log(PRICE_SCALE * median) + 0.55 * rng.standard_normal(n_b)) * (0.75 if b else 1.0)
            prices.append(np.maximum(np.round(p, 2), 0.25))
            cl = COMMODITIES[name]
            c = rng.integers(0, len(cl), n_b)
            v = rng.integers(0, len(SUB_VARIANTS), n_b)
            comms.append(np.array(cl, dtype=object)[c])
            subs.append(np.array([f"{SUB_VARIANTS[j]} {cl[i]}".strip() if name else "" for i, j in zip(c, v)],
                                 dtype=object))
    dept = np.concatenate(depts)
    private = np.concatenate(privs)
    price = np.concatenate(prices)
    group = 2 * dept + private
    n_groups = 2 * n_dept
    gcount = np.bincount(group, minlength=n_groups)
    gstart = np.concatenate([[0], np.cumsum(gcount)[:-1]])
    gend = gstart + gcount
    # Zipf-like popularity within each group (random ranks).
    pop = np.empty(len(dept))
    cum = np.empty(len(dept))
    gmean = np.zeros(n_groups)
    for g in range(n_groups):
        a, b = gstart[g], gend[g]
        if b == a:
            continue
        w = 1.0 / (rng.permutation(b - a) + 1.0) ** 0.9
        w /= w.sum()
        pop[a:b] = w
        c = np.cumsum(w)
        c[-1] = 1.0
        cum[a:b] = c
        gmean[g] = float(np.dot(w, price[a:b]))
    flat = cum + group
    has_private = gcount[1::2] > 0
    line_share = np.array([d[1] for d in DEPARTMENTS])
    line_share = line_share / line_share.sum()
    private_mix = np.where(has_private[dept], np.where(private == 1, 0.3, 0.7), 1.0)
    popularity = pop * line_share[dept] * private_mix
    # fuel products (KIOSK-GAS, brand Private as in the original) after the catalogue
    kiosk = [d[0] for d in DEPARTMENTS].index("KIOSK-GAS")
    n_all = len(dept) + len(FUEL_PRODUCTS)
    ids = 25_000 + np.cumsum(rng.integers(1, 400, n_all))
    ids = ids[rng.permutation(n_all)]
    manuf = rng.integers(1, max(60, n // 15), n_all)
    manuf[manuf == PRIVATE_MANUFACTURER] += 1
    all_private = np.concatenate([private, np.ones(len(FUEL_PRODUCTS), int)])
    manuf[all_private == 1] = PRIVATE_MANUFACTURER
    names = np.array([d[0] for d in DEPARTMENTS], dtype=object)
    table = pd.DataFrame(
        {
            "PRODUCT_ID": ids,
            "MANUFACTURER": manuf,
            "DEPARTMENT": np.concatenate([names[dept], np.full(len(FUEL_PRODUCTS), "KIOSK-GAS", dtype=object)]),
            "BRAND": np.where(all_private == 1, "Private", "National"),
            "COMMODITY_DESC": np.concatenate(comms + [np.full(len(FUEL_PRODUCTS), "COUPON/MISC ITEMS", dtype=object)]),
            "SUB_COMMODITY_DESC": np.concatenate(subs + [np.array([f[0] for f in FUEL_PRODUCTS], dtype=object)]),
            "CURR_SIZE_OF_PRODUCT": np.array(SIZES, dtype=object)[rng.integers(0, len(SIZES), n_all)],
        }
    )
    return Catalog(
        ids=ids, dept=np.concatenate([dept, np.full(len(FUEL_PRODUCTS), kiosk)]),
        private=all_private, price=np.concatenate([price, np.full(len(FUEL_PRODUCTS), 3.0)]),
        table=table, flat=flat, group_start=gstart, group_end=gend, group_mean_price=gmean,
        has_private=has_private, line_share=line_share,
        fuel=np.arange(len(dept), n_all), popularity=popularity,
    )


def pick_products(cat: Catalog, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Catalogue positions of products drawn by popularity inside ``group`` with uniforms ``u``."""
    pos = np.searchsorted(cat.flat, group + u, side="right")
    return np.clip(pos, cat.group_start[group], cat.group_end[group] - 1)


@dataclass
class Stores:
    ids: np.ndarray
    cum: np.ndarray  # cumulative popularity (for visits away from home)
    order: np.ndarray  # store positions by popularity, most popular first


def make_stores(s: dict) -> Stores:
    rng = _rng(s["seed"], 10)
    n = max(5, int(round(STORES_PER_HOUSEHOLD * s["households"])))
    w = 1.0 / (np.arange(n) + 1.0) ** 1.1
    w = w[rng.permutation(n)]
    cum = np.cumsum(w) / w.sum()
    cum[-1] = 1.0
    ids = np.cumsum(rng.integers(1, 3, n))
    return Stores(ids=ids, cum=cum, order=np.argsort(-w, kind="stable"))


# ------------------------------------------------------------------------------------------
# households
# ------------------------------------------------------------------------------------------
@dataclass
class Households:
    """Traits (length N) and the weekly latent basket rate (N x weeks) of every household."""

    rate: np.ndarray
    lines: np.ndarray
    pref_cum: np.ndarray
    private: np.ndarray
    deal: np.ndarray
    coupon_affinity: np.ndarray
    coupon_line: np.ndarray
    redeem: np.ndarray
    fuel: np.ndarray
    qty: np.ndarray
    hour: np.ndarray
    home: np.ndarray
    loyalty: np.ndarray
    enrol: np.ndarray
    basket_value: np.ndarray
    latent: np.ndarray


def season(weeks: int) -> np.ndarray:
    """Mild annual seasonality of the log visit rate, week 1..weeks."""
    w = np.arange(1, weeks + 1)
    s = SEASON_AMPLITUDE * np.sin(2 * np.pi * (w - 10) / 52.0)
    return s + HOLIDAY_BUMP * np.isin((w - 1) % 52 + 1, HOLIDAY_WEEKS)


def _household_block(s: dict, cat: Catalog, stores: Stores, h0: int, h1: int, sea: np.ndarray) -> dict:
    rng = _rng(s["seed"], 3, h0 // BLOCK)
    nb, weeks = h1 - h0, s["weeks"]
    n_dept = len(DEPARTMENTS)
    mu = np.exp(np.log(MEAN_BASKETS_PER_WEEK) - SD_LOG_RATE**2 / 2 + SD_LOG_RATE * rng.standard_normal(nb))
    mu = np.clip(mu, *RATE_RANGE)
    lines = 1.0 + np.exp(np.log(MEAN_LINES - 1.0) - SD_LOG_LINES**2 / 2 + SD_LOG_LINES * rng.standard_normal(nb))
    lines = np.clip(lines, 1.5, 60.0)
    pref = rng.standard_gamma(PREFERENCE_CONCENTRATION * cat.line_share, size=(nb, n_dept))
    pref[:, 0] += 1e-9  # every household has a department
    pref /= pref.sum(axis=1, keepdims=True)
    pref_cum = np.cumsum(pref, axis=1)
    pref_cum[:, -1] = 1.0
    private = rng.beta(*PRIVATE_BETA, nb)
    deal = rng.beta(*DEAL_BETA, nb)
    clipper = rng.random(nb) < COUPON_CLIPPER_SHARE
    affinity = np.where(clipper, np.exp(0.6 * rng.standard_normal(nb)), 0.05)
    coupon_line = np.minimum(COUPON_LINE_RATE * affinity * (0.5 + deal), 0.2)
    redeem = np.minimum(REDEEM_RATE * affinity * (0.5 + deal), 0.6)
    fuel = np.where(rng.random(nb) < FUEL_USER_SHARE, rng.beta(*FUEL_BETA, nb), 0.0)
    qty = rng.gamma(*QTY_GAMMA, nb)
    hour = np.clip(HOUR_MEAN + HOUR_SD * rng.standard_normal(nb), 7.0, 21.0)
    home = np.minimum(np.searchsorted(stores.cum, rng.random(nb), side="right"), len(stores.cum) - 1)
    loyalty = rng.beta(*LOYALTY_BETA, nb)
    enrol = rng.integers(1, max(1, min(ENROL_WEEKS, s["first_campaign_week"] - 1, weeks)) + 1, nb)
    # latent AR(1) on the log rate, stationary from week 1
    eps = rng.standard_normal((nb, weeks))
    x = np.empty((nb, weeks))
    x[:, 0] = AR_SD * eps[:, 0]
    k = AR_SD * np.sqrt(1 - AR_RHO**2)
    for w in range(1, weeks):
        x[:, w] = AR_RHO * x[:, w - 1] + k * eps[:, w]
    latent = mu[:, None] * np.exp(x - AR_SD**2 / 2 + sea[None, :])
    # expected price of a line in each (department, brand), given the household's repertoire
    hh = np.arange(h0, h1)
    exp_price = np.zeros((nb, n_dept, 2))
    for d in range(n_dept):
        for b in (0, 1):
            g = 2 * d + b
            if cat.group_end[g] == cat.group_start[g]:
                continue
            reps = []
            for r in range(REPERTOIRE_SIZE):
                u = _hash_uniform(s["seed"], hh, np.full(nb, g), np.full(nb, r))
                reps.append(cat.price[pick_products(cat, np.full(nb, g), u)])
            exp_price[:, d, b] = (REPERTOIRE_SHARE * np.mean(reps, axis=0)
                                  + (1 - REPERTOIRE_SHARE) * cat.group_mean_price[g])
    p_priv = private[:, None] * cat.has_private[None, :]
    dept_price = p_priv * exp_price[:, :, 1] + (1 - p_priv) * exp_price[:, :, 0]
    line_value = (
        (1 - P_ZERO_QTY) * (1 + qty) * (pref * dept_price).sum(axis=1)
        * (1 - deal * np.mean(DISC_DEPTH)) * (1 - coupon_line * P_MATCH * np.mean(MATCH_SHARE))
    )
    basket_value = fuel * (FUEL_VALUE_MEAN + FUEL_EXTRA_LINE * line_value) + (1 - fuel) * lines * line_value
    return dict(rate=mu, lines=lines, pref_cum=pref_cum, private=private, deal=deal,
                coupon_affinity=affinity, coupon_line=coupon_line, redeem=redeem, fuel=fuel, qty=qty,
                hour=hour, home=home, loyalty=loyalty, enrol=enrol, basket_value=basket_value, latent=latent)


def make_households(s: dict, cat: Catalog, stores: Stores) -> Households:
    """All households' traits, generated block by block from per-block random streams."""
    n, sea = s["households"], season(s["weeks"])
    parts = [_household_block(s, cat, stores, h0, min(h0 + BLOCK, n), sea) for h0 in range(0, n, BLOCK)]
    return Households(**{k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


def effect_per_week(s: dict, hh: Households) -> np.ndarray:
    """tau_h: extra baskets per week caused by one Type A campaign, per ``effect_shape``."""
    mean, shape = s["effect_baskets_per_week"], s["effect_shape"]
    n = len(hh.rate)
    if shape == "none" or mean == 0:
        return np.zeros(n)
    if shape == "constant":
        return np.full(n, float(mean))
    if shape == "linear":
        return mean * (1 + LINEAR_SLOPE * _zscore(hh.deal))
    raw = _sigmoid(HETERO_DEAL_SLOPE * (hh.deal - HETERO_DEAL_CENTRE)) * np.exp(
        -((np.log(hh.rate) - np.log(HETERO_RATE_CENTRE)) ** 2) / (2 * HETERO_RATE_SD**2)
    )
    return mean * raw / raw.mean()


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


# ------------------------------------------------------------------------------------------
# the simulation
# ------------------------------------------------------------------------------------------
@dataclass
class World:
    """Everything the simulation reads, plus the running state it updates."""

    s: dict
    cal: pd.DataFrame
    cat: Catalog
    stores: Stores
    hh: Households
    coupons: Coupons
    tau: np.ndarray
    fuel_price: np.ndarray
    effect: np.ndarray  # N x weeks: extra baskets per week from Type A campaigns
    spend: np.ndarray  # N x weeks realised sales value
    visits: np.ndarray  # N x weeks realised baskets
    member: np.ndarray  # N x campaigns targeted
    propensity: np.ndarray  # N x campaigns targeting probability (0 when not eligible)
    propensity_all: np.ndarray  # N x campaigns probability ignoring eligibility
    redemptions: list = field(default_factory=list)
    next_basket: int = 0
    lines_written: int = 0


def _target(w: World, col: int) -> None:
    """Choose the households targeted by campaign row ``col`` from their past behaviour."""
    s, row = w.s, w.cal.iloc[col]
    n, start = s["households"], int(row.start_week)
    kind = row.kind
    if kind == "A" and s["targeting_basis"] == "recent":
        past = w.spend[:, max(0, start - 1 - s["targeting_recent_weeks"]):start - 1].sum(axis=1)
    else:
        past = w.spend[:, :start - 1].sum(axis=1)
    z_spend = _zscore(np.log1p(past))
    if kind == "A":
        a_cols = np.flatnonzero((w.cal["kind"] == "A").to_numpy())
        done = a_cols[a_cols < col]
        ever = w.member[:, done].any(axis=1)
        eligible = np.ones(n, bool) if s["repeat_targeting"] else ~ever
        slope = s["confounding"]
        new = s["target_share_a"] * n / s["campaigns_a"]
        alpha = _solve_alpha(z_spend[~ever], slope, new)
        score = slope * z_spend
    elif kind == "B":
        eligible = np.ones(n, bool)
        score = 0.8 * z_spend + 0.6 * _zscore(w.hh.deal)
        alpha = _solve_alpha(score, 1.0, SHARE_TARGETED["B"] * n)
    else:
        eligible = np.ones(n, bool)
        score = 1.0 * _zscore(np.log1p(w.visits[:, :start - 1].sum(axis=1)))
        alpha = _solve_alpha(score, 1.0, SHARE_TARGETED["C"] * n)
    p_all = _sigmoid(alpha + score)
    p = np.where(eligible, p_all, 0.0)
    chosen = _rng(s["seed"], 5, col).random(n) < p
    w.member[:, col] = chosen
    w.propensity[:, col] = p
    w.propensity_all[:, col] = p_all
    if kind == "A":
        stop = min(int(row.end_week) + s["effect_post_weeks"], s["weeks"])
        w.effect[chosen, start - 1:stop] += w.tau[chosen, None]
    log.debug("campaign %s (Type %s, week %d): %d targeted", row.campaign, kind, start, chosen.sum())


def _simulate(w: World, h0: int, h1: int, w0: int, w1: int, seg: int) -> pa.Table:
    """Baskets and lines of households [h0, h1) in weeks [w0, w1), as transaction rows."""
    s, hh, cat = w.s, w.hh, w.cat
    rng = _rng(s["seed"], 6, seg, h0 // BLOCK)
    nb, nw = h1 - h0, w1 - w0
    last_day = 7 * s["weeks"]
    # --- baskets -----------------------------------------------------------------------
    rate = np.maximum(hh.latent[h0:h1, w0 - 1:w1 - 1] + w.effect[h0:h1, w0 - 1:w1 - 1], 0.0)
    cnt = rng.poisson(rate)
    e = hh.enrol[h0:h1]
    inside = np.flatnonzero((e >= w0) & (e < w1))
    cnt[inside, e[inside] - w0] = np.maximum(cnt[inside, e[inside] - w0], 1)
    w.visits[h0:h1, w0 - 1:w1 - 1] += cnt
    cell = np.repeat(np.arange(nb * nw), cnt.ravel())
    n_b = len(cell)
    b_hh = h0 + cell // nw
    b_week = w0 + cell % nw
    b_day = 7 * (b_week - 1) + 1 + _categorical(rng, DOW_WEIGHTS, n_b)
    hour = np.clip(np.floor(hh.hour[b_hh] + HOUR_NOISE * rng.standard_normal(n_b)), 0, 23).astype(np.int64)
    b_time = hour * 100 + rng.integers(0, 60, n_b)
    span = (rng.random(n_b) < P_SPAN) & (b_day < last_day)
    b_time = np.where(span, 2340 + rng.integers(0, 20, n_b), b_time)
    away = np.minimum(np.searchsorted(w.stores.cum, rng.random(n_b), side="right"), len(w.stores.cum) - 1)
    b_store = np.where(rng.random(n_b) < hh.loyalty[b_hh], hh.home[b_hh], away)
    is_fuel = rng.random(n_b) < hh.fuel[b_hh]
    size = 1 + rng.poisson(rng.gamma(LINES_SHAPE, (hh.lines[b_hh] - 1.0) / LINES_SHAPE))
    n_reg = np.where(is_fuel, (rng.random(n_b) < FUEL_EXTRA_LINE).astype(np.int64), size)
    order = np.lexsort((b_hh, b_time, b_day))
    b_hh, b_week, b_day, b_time, span = b_hh[order], b_week[order], b_day[order], b_time[order], span[order]
    b_store, is_fuel, n_reg = b_store[order], is_fuel[order], n_reg[order]
    b_id = BASKET_BASE + w.next_basket + np.arange(n_b, dtype=np.int64)
    w.next_basket += n_b
    # --- lines -------------------------------------------------------------------------
    n_lines = n_reg + is_fuel
    total = int(n_lines.sum())
    l_b = np.repeat(np.arange(n_b), n_lines)
    l_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    l_pos = np.arange(total) - l_start[l_b]
    regular = l_pos < n_reg[l_b]
    product = np.empty(total, np.int64)
    qty = np.zeros(total, np.int64)
    sales = np.zeros(total)
    retail = np.zeros(total)
    coupon = np.zeros(total)
    match = np.zeros(total)
    # regular lines
    r = np.flatnonzero(regular)
    n_r = len(r)
    r_hh = b_hh[l_b[r]]
    local = r_hh - h0
    flat_pref = (hh.pref_cum[h0:h1] + np.arange(nb)[:, None]).ravel()
    n_dept = len(DEPARTMENTS)
    dept = np.clip(np.searchsorted(flat_pref, local + rng.random(n_r), side="right") - local * n_dept, 0, n_dept - 1)
    priv = ((rng.random(n_r) < hh.private[r_hh]) & cat.has_private[dept]).astype(np.int64)
    group = 2 * dept + priv
    from_rep = rng.random(n_r) < REPERTOIRE_SHARE
    slot = rng.integers(0, REPERTOIRE_SIZE, n_r)
    u = rng.random(n_r)
    u[from_rep] = _hash_uniform(s["seed"], r_hh[from_rep], group[from_rep], slot[from_rep])
    pos = pick_products(cat, group, u)
    q = 1 + rng.poisson(hh.qty[r_hh])
    q[rng.random(n_r) < P_ZERO_QTY] = 0
    shelf = q * cat.price[pos]
    disc = rng.random(n_r) < hh.deal[r_hh]
    ret = _round2(shelf * rng.uniform(*DISC_DEPTH, n_r) * disc)
    coup = (rng.random(n_r) < hh.coupon_line[r_hh]) & (q > 0)
    cval = _round2(np.minimum(rng.uniform(*COUPON_VALUE, n_r), shelf) * coup)
    mat = coup & (rng.random(n_r) < P_MATCH)
    mval = _round2((shelf - ret) * rng.uniform(*MATCH_SHARE, n_r) * mat)
    product[r], qty[r] = pos, q
    sales[r] = _round2(shelf - ret - mval)
    retail[r], coupon[r], match[r] = ret, cval, mval
    # fuel lines: value ~ lognormal; quantity in thousandths of a gallon (a huge number)
    f = np.flatnonzero(~regular)
    n_f = len(f)
    log_fuel = np.log(FUEL_VALUE_MEAN) - FUEL_VALUE_SD_LOG**2 / 2
    f_val = _round2(np.exp(log_fuel + FUEL_VALUE_SD_LOG * rng.standard_normal(n_f)))
    product[f] = cat.fuel[_categorical(rng, FUEL_GRADES, n_f)]
    qty[f] = np.maximum(np.round(f_val / w.fuel_price[b_week[l_b[f]] - 1] * 1000), 1).astype(np.int64)
    sales[f] = f_val
    # midnight: some later lines of a spanning basket fall on the next day, just after 00:00
    l_day = b_day[l_b].copy()
    l_time = b_time[l_b].copy()
    moved = span[l_b] & (l_pos > 0) & (rng.random(total) < 0.5)
    l_day[moved] += 1
    l_time[moved] = rng.integers(0, 15, total)[moved]
    # --- coupon redemptions of targeted households --------------------------------------
    cols = np.flatnonzero(((w.cal["start_day"] <= 7 * (w1 - 1)) & (w.cal["end_day"] >= 7 * (w0 - 1) + 1)).to_numpy())
    if len(cols) and n_b:
        start_day = w.cal["start_day"].to_numpy()[cols]
        end_day = w.cal["end_day"].to_numpy()[cols]
        weight = np.array([REDEEM_WEIGHT[k] for k in w.cal["kind"].to_numpy()[cols]])
        active = w.member[b_hh][:, cols] & (b_day[:, None] >= start_day) & (b_day[:, None] <= end_day)
        hit = active & (rng.random((n_b, len(cols))) < hh.redeem[b_hh][:, None] * weight[None, :])
        bi, ci = np.nonzero(hit)
        col = cols[ci]
        k = len(bi)
        cpn = w.coupons.start[col] + np.floor(rng.random(k) * w.coupons.count[col]).astype(np.int64)
        which = np.floor(rng.random(k) * w.coupons.prod_count[cpn]).astype(np.int64)
        prod = w.coupons.prod[w.coupons.prod_start[cpn] + which]
        line = l_start[bi] + np.floor(rng.random(k) * np.maximum(n_reg[bi], 1)).astype(np.int64)
        value = _round2(rng.uniform(*REDEEM_VALUE, k))
        ok = (n_reg[bi] > 0) & (qty[line] > 0) & (l_day[line] <= end_day[ci])
        _, first = np.unique(line[ok], return_index=True)
        keep = np.flatnonzero(ok)[np.sort(first)]
        line, keep_col, keep_cpn = line[keep], col[keep], cpn[keep]
        product[line] = prod[keep]
        coupon[line] = value[keep]
        if len(line):
            w.redemptions.append(pd.DataFrame({
                "household_key": b_hh[l_b[line]] + 1,
                "DAY": l_day[line],
                "COUPON_UPC": w.coupons.upc[keep_cpn],
                "CAMPAIGN": w.cal["campaign"].to_numpy()[keep_col],
            }))
    # --- bookkeeping: realised sales per household and week (drives later targeting) ------
    key = (b_hh[l_b] - h0) * s["weeks"] + (b_week[l_b] - 1)
    w.spend[h0:h1] += np.bincount(key, weights=sales, minlength=nb * s["weeks"]).reshape(nb, s["weeks"])
    w.lines_written += total
    return pa.table({
        "household_key": b_hh[l_b] + 1,
        "BASKET_ID": b_id[l_b],
        "DAY": l_day,
        "PRODUCT_ID": cat.ids[product],
        "QUANTITY": qty,
        "SALES_VALUE": sales,
        "STORE_ID": w.stores.ids[b_store[l_b]],
        "RETAIL_DISC": 0.0 - retail,
        "TRANS_TIME": l_time,
        "WEEK_NO": (l_day - 1) // 7 + 1,
        "COUPON_DISC": 0.0 - coupon,
        "COUPON_MATCH_DISC": 0.0 - match,
    })


def _segments(s: dict, cal: pd.DataFrame) -> list[tuple[int, int]]:
    """Time segments [w0, w1): a new one at every campaign start and every SEGMENT_WEEKS."""
    bounds = {1, s["weeks"] + 1} | set(int(x) for x in cal["start_week"])
    bounds |= set(range(1, s["weeks"] + 1, SEGMENT_WEEKS))
    b = sorted(x for x in bounds if 1 <= x <= s["weeks"] + 1)
    return list(zip(b[:-1], b[1:]))


# ------------------------------------------------------------------------------------------
# side tables
# ------------------------------------------------------------------------------------------
def make_demographics(s: dict, hh: Households) -> pd.DataFrame:
    """hh_demographic.csv for about 32% of households, consistent with their behaviour."""
    rng = _rng(s["seed"], 8)
    n = s["households"]
    has = rng.random(n) < DEMOGRAPHIC_SHARE * np.clip(0.7 + 0.3 * hh.rate / MEAN_BASKETS_PER_WEEK, 0.5, 1.6)
    idx = np.flatnonzero(has)
    k = len(idx)
    lines_rank = (np.argsort(np.argsort(hh.lines)) + 0.5) / n
    size = np.clip(np.round(1 + 3.2 * lines_rank[idx] + 0.8 * rng.standard_normal(k)), 1, 5).astype(int)
    kids = np.where((size >= 3) & (rng.random(k) < 0.75), np.minimum(size - 2, 3), 0)
    kids = np.where((size == 2) & (rng.random(k) < 0.15), 1, kids)
    comp = np.where(
        size == 1,
        np.where(rng.random(k) < 0.55, "Single Female", "Single Male"),
        np.where(kids > 0, np.where(size - kids >= 2, "2 Adults Kids", "1 Adult Kids"), "2 Adults No Kids"),
    ).astype(object)
    comp[rng.random(k) < 0.05] = "Unknown"
    marital = np.where(rng.random(k) < 0.4, "U", np.where((size >= 2) & (rng.random(k) < 0.75), "A", "B"))
    value_rank = (np.argsort(np.argsort(hh.basket_value * hh.rate)) + 0.5) / n
    incomes = DEMOGRAPHIC_VALUES["INCOME_DESC"][0]
    inc = np.clip(np.round(1.5 + 5.0 * value_rank[idx] + 1.6 * rng.standard_normal(k)), 0, len(incomes) - 1).astype(int)
    ages, age_w = DEMOGRAPHIC_VALUES["AGE_DESC"]
    owners, owner_w = DEMOGRAPHIC_VALUES["HOMEOWNER_DESC"]
    return pd.DataFrame({
        "AGE_DESC": np.array(ages, dtype=object)[_categorical(rng, age_w, k)],
        "MARITAL_STATUS_CODE": marital,
        "INCOME_DESC": np.array(incomes, dtype=object)[inc],
        "HOMEOWNER_DESC": np.array(owners, dtype=object)[_categorical(rng, owner_w, k)],
        "HH_COMP_DESC": comp,
        "HOUSEHOLD_SIZE_DESC": np.where(size >= 5, "5+", size.astype(str)),
        "KID_CATEGORY_DESC": np.where(kids == 0, "None/Unknown", np.where(kids >= 3, "3+", kids.astype(str))),
        "household_key": idx + 1,
    })


def make_promotions(s: dict, cat: Catalog, stores: Stores) -> pd.DataFrame:
    """causal_data.csv: display/mailer exposure of popular products in the busiest stores.

    A sample (the most popular products x the busiest stores), with chain-wide promotion
    weeks in which most of those stores take part; only exposed rows are listed. The
    exposure is generated independently of purchases (it is a covariate, not a cause here).
    """
    rng = _rng(s["seed"], 7)
    prods = np.argsort(-cat.popularity, kind="stable")[:PROMO_PRODUCTS]
    st = stores.order[: min(PROMO_STORES, len(stores.order))]
    weeks = s["weeks"]
    pi, wi = np.nonzero(rng.random((len(prods), weeks)) < PROMO_WEEK_RATE)
    take = rng.random((len(pi), len(st))) < PROMO_STORE_RATE
    ei, si = np.nonzero(take)
    n = len(ei)
    display = np.array(DISPLAY_CODES, dtype=object)[_categorical(rng, DISPLAY_WEIGHTS, n)]
    mailer = np.array(MAILER_CODES, dtype=object)[_categorical(rng, MAILER_WEIGHTS, n)]
    df = pd.DataFrame({
        "PRODUCT_ID": cat.ids[prods[pi[ei]]],
        "STORE_ID": stores.ids[st[si]],
        "WEEK_NO": wi[ei] + 1,
        "display": display,
        "mailer": mailer,
    })
    df = df[(df["display"] != "0") | (df["mailer"] != "0")]
    return df.sort_values(["PRODUCT_ID", "STORE_ID", "WEEK_NO"], kind="stable").reset_index(drop=True)


def _fuel_prices(s: dict) -> np.ndarray:
    rng = _rng(s["seed"], 11)
    w = np.arange(s["weeks"])
    walk = np.cumsum(0.04 * rng.standard_normal(s["weeks"]))
    return np.clip(3.0 + 0.3 * np.sin(2 * np.pi * (w - 20) / 52) + walk, 2.2, 4.3)


def make_truth(w: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """truth.csv (per household) and truth_campaigns.csv (per household x Type A campaign)."""
    s, hh, cal = w.s, w.hh, w.cal
    n, weeks, post = s["households"], s["weeks"], s["effect_post_weeks"]
    a_cols = np.flatnonzero((cal["kind"] == "A").to_numpy())
    lengths = (cal["end_week"] - cal["start_week"] + 1).to_numpy()[a_cols]
    window = (lengths.mean() if len(a_cols) else float(np.mean(LENGTH_WEEKS["A"]))) + post
    keys = np.arange(1, n + 1)
    rows = []
    for col in a_cols:
        row = cal.iloc[col]
        a, b = int(row.start_week) - 1, min(int(row.end_week) + post, weeks)
        base = hh.latent[:, a:b] + w.effect[:, a:b]
        tau = w.tau[:, None]
        targeted = w.member[:, col]
        with_c = np.where(targeted[:, None], base, base + tau)
        without_c = with_c - tau
        count = (np.maximum(with_c, 0) - np.maximum(without_c, 0)).sum(axis=1)
        rows.append(pd.DataFrame({
            "household_key": keys,
            "CAMPAIGN": int(row.campaign),
            "start_day": int(row.start_day),
            "window_end_day": 7 * b,
            "propensity": w.propensity[:, col],
            "targeted": targeted.astype(int),
            "tau_count": count,
            "tau_amount": count * hh.basket_value,
        }))
    cols = ["household_key", "CAMPAIGN", "start_day", "window_end_day", "propensity", "targeted",
            "tau_count", "tau_amount"]
    per_campaign = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols))
    per_campaign = per_campaign.sort_values(["household_key", "start_day", "CAMPAIGN"], kind="stable")
    per_campaign = per_campaign.reset_index(drop=True)
    p_ever = 1 - np.prod(1 - w.propensity_all[:, a_cols], axis=1) if len(a_cols) else np.zeros(n)
    mean_lines = hh.fuel * (1 + FUEL_EXTRA_LINE) + (1 - hh.fuel) * hh.lines
    truth = pd.DataFrame({
        "household_key": keys,
        "true_propensity": p_ever,
        "tau_count_per_week": w.tau,
        "tau_amount_per_week": w.tau * hh.basket_value,
        "tau_count": w.tau * window,
        "tau_amount": w.tau * window * hh.basket_value,
        "n_targeted_a": w.member[:, a_cols].sum(axis=1),
        "baseline_baskets_per_week": hh.rate,
        "mean_basket_value": hh.basket_value,
        "mean_lines_per_basket": mean_lines,
        "deal_proneness": hh.deal,
        "private_label_share": hh.private,
        "coupon_affinity": hh.coupon_affinity,
        "fuel_visit_share": hh.fuel,
        "store_loyalty": hh.loyalty,
        "home_store": w.stores.ids[hh.home],
    })
    return truth, per_campaign


# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------
def _csv(df: pd.DataFrame, path: Path) -> int:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return len(df)


def generate(params_synth: dict, folder: str | os.PathLike) -> dict:
    """Generate the synthetic retailer into ``folder`` (not atomic); return the manifest.

    Use :func:`write_synthetic` in stages: it builds into a temporary folder and swaps it in.
    """
    s = settings(params_synth)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n, weeks = s["households"], s["weeks"]
    log.info("synthetic: %d households x %d weeks, seed %d", n, weeks, s["seed"])
    cal = make_calendar(s)
    cat = make_catalog(s)
    stores = make_stores(s)
    hh = make_households(s, cat, stores)
    k = len(cal)
    w = World(
        s=s, cal=cal, cat=cat, stores=stores, hh=hh, coupons=make_coupons(s, cal, cat),
        tau=effect_per_week(s, hh), fuel_price=_fuel_prices(s),
        effect=np.zeros((n, weeks)), spend=np.zeros((n, weeks)), visits=np.zeros((n, weeks), np.int64),
        member=np.zeros((n, k), bool), propensity=np.zeros((n, k)), propensity_all=np.zeros((n, k)),
    )
    schema = None
    with open(folder / "transaction_data.csv", "wb") as fh:
        fh.write((",".join(TX_COLUMNS) + "\n").encode())
        writer = None
        for seg, (w0, w1) in enumerate(_segments(s, cal)):
            for col in np.flatnonzero((cal["start_week"] == w0).to_numpy()):
                _target(w, int(col))
            for h0 in range(0, n, BLOCK):
                table = _simulate(w, h0, min(h0 + BLOCK, n), w0, w1, seg)
                if writer is None:
                    schema = table.schema
                    writer = pacsv.CSVWriter(fh, schema, write_options=pacsv.WriteOptions(
                        include_header=False, quoting_style="none"))
                writer.write_table(table)
            log.info("synthetic: weeks %d-%d done, %d lines so far", w0, w1 - 1, w.lines_written)
        if writer is not None:
            writer.close()
    rows = {"transaction_data.csv": w.lines_written}
    rows["product.csv"] = _csv(cat.table.sort_values("PRODUCT_ID", kind="stable"), folder / "product.csv")
    rows["hh_demographic.csv"] = _csv(make_demographics(s, hh), folder / "hh_demographic.csv")
    desc = pd.DataFrame({
        "DESCRIPTION": "Type" + cal["kind"], "CAMPAIGN": cal["campaign"],
        "START_DAY": cal["start_day"], "END_DAY": cal["end_day"],
    }).sort_values("CAMPAIGN", kind="stable")
    rows["campaign_desc.csv"] = _csv(desc, folder / "campaign_desc.csv")
    hi, ci = np.nonzero(w.member)
    members = pd.DataFrame({
        "DESCRIPTION": ("Type" + cal["kind"]).to_numpy()[ci], "household_key": hi + 1,
        "CAMPAIGN": cal["campaign"].to_numpy()[ci],
    }).sort_values(["CAMPAIGN", "household_key"], kind="stable")
    rows["campaign_table.csv"] = _csv(members, folder / "campaign_table.csv")
    rows["coupon.csv"] = _csv(w.coupons.table, folder / "coupon.csv")
    red_cols = ["household_key", "DAY", "COUPON_UPC", "CAMPAIGN"]
    red = pd.concat(w.redemptions, ignore_index=True) if w.redemptions else pd.DataFrame(columns=red_cols)
    red = red.sort_values(red_cols, kind="stable")
    rows["coupon_redempt.csv"] = _csv(red, folder / "coupon_redempt.csv")
    if s["promotions"]:
        rows["causal_data.csv"] = _csv(make_promotions(s, cat, stores), folder / "causal_data.csv")
    truth, per_campaign = make_truth(w)
    rows["truth.csv"] = _csv(truth, folder / "truth.csv")
    rows["truth_campaigns.csv"] = _csv(per_campaign, folder / "truth_campaigns.csv")
    a = (cal["kind"] == "A").to_numpy()
    manifest = {
        "generator": "segtarget.data.synthetic",
        "version": VERSION,
        "requested": True,
        "data_source": "synthetic",
        "params": s,
        "rows": rows,
        "households": n,
        "weeks": weeks,
        "days": 7 * weeks,
        "baskets": w.next_basket,
        "campaigns": {kind: int((cal["kind"] == kind).sum()) for kind in "ABC"},
        "ever_targeted_a_share": float(w.member[:, a].any(axis=1).mean()) if a.any() else 0.0,
        "mean_tau_count_per_week": float(w.tau.mean()),
        "notes": [
            "truth.csv and truth_campaigns.csv are the generator's truth, not part of the dunnhumby format",
            "Type B and C campaigns are targeted on past behaviour but have no effect on purchases",
            "Type A campaigns start on the first day of a week and end on the last day of a week",
        ],
    }
    write_json(manifest, folder / "MANIFEST.json")
    log.info("synthetic: %d lines, %d baskets, %d redemptions",
             w.lines_written, w.next_basket, rows["coupon_redempt.csv"])
    return manifest


def _publish_modes(folder: Path) -> None:
    """Give the built folder and its files the usual permissions (mkdtemp/mkstemp use 0700/0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        os.chmod(f, 0o666 & ~umask)


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace folder ``out`` by ``tmp`` (renames only; the old folder survives a failure)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_synthetic(params_data: dict, params_synth: dict, out_dir: str | os.PathLike) -> dict:
    """The `synthetic` stage: generate into ``out_dir`` atomically; return the manifest.

    When ``data.source`` is not ``synthetic`` the folder holds only ``MANIFEST.json`` saying
    that generation was not requested, so the stage costs nothing for the other sources.
    The data are built in a temporary folder next to ``out_dir`` and swapped in at the end;
    if anything fails, the previous ``out_dir`` is left as it was.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    source = (params_data or {}).get("source", "completejourney")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        if source == "synthetic":
            manifest = generate(params_synth, tmp)
        else:
            manifest = {
                "generator": "segtarget.data.synthetic",
                "version": VERSION,
                "requested": False,
                "data_source": source,
                "note": f"synthetic data not generated: data.source is {source!r}, not 'synthetic'",
                "rows": {},
            }
            write_json(manifest, tmp / "MANIFEST.json")
        _publish_modes(tmp)
        _swap_in(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest
