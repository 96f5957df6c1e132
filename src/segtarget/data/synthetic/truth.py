"""The truth files and side tables: truth.csv, truth_campaigns.csv, demographics, promotions.

:func:`make_truth` computes the generator's truth from the finished simulation (targeting
probabilities, assignments and effects); :func:`make_demographics` writes hh_demographic.csv
for a share of households, consistent with their behaviour, and :func:`make_promotions`
causal_data.csv.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.data.synthetic.calendar import LENGTH_WEEKS
from segtarget.data.synthetic.catalog import Catalog, Stores
from segtarget.data.synthetic.helpers import _categorical, _rng
from segtarget.data.synthetic.households import FUEL_EXTRA_LINE, MEAN_BASKETS_PER_WEEK, Households
from segtarget.data.synthetic.simulation import World

# --- promotions (causal_data.csv) ---------------------------------------------------------
PROMO_PRODUCTS, PROMO_STORES, PROMO_WEEK_RATE, PROMO_STORE_RATE = 1500, 30, 0.10, 0.8
DISPLAY_CODES = ("0", "1", "2", "3", "4", "5", "6", "7", "9", "A")
DISPLAY_WEIGHTS = (0.45, 0.06, 0.12, 0.07, 0.04, 0.07, 0.05, 0.04, 0.04, 0.06)
MAILER_CODES = ("0", "A", "D", "F", "H", "J", "L", "P", "X", "Z")
MAILER_WEIGHTS = (0.35, 0.36, 0.08, 0.04, 0.06, 0.03, 0.03, 0.02, 0.02, 0.01)

# --- demographics (hh_demographic.csv) ----------------------------------------------------
DEMOGRAPHIC_SHARE = 0.32
DEMOGRAPHIC_VALUES = {
    "AGE_DESC": (("19-24", "25-34", "35-44", "45-54", "55-64", "65+"), (0.06, 0.17, 0.24, 0.36, 0.08, 0.09)),
    "INCOME_DESC": (("Under 15K", "15-24K", "25-34K", "35-49K", "50-74K", "75-99K", "100-124K",
                     "125-149K", "150-174K", "175-199K", "200-249K", "250K+"), None),
    "HOMEOWNER_DESC": (("Homeowner", "Unknown", "Renter", "Probable Renter", "Probable Owner"),
                       (0.63, 0.29, 0.05, 0.015, 0.015)),
}


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


# ------------------------------------------------------------------------------------------
# truth
# ------------------------------------------------------------------------------------------
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
