"""Synthetic customer feature tables with planted segments (tests, docs and benchmarks).

:func:`planted_feature_table` plants segments that differ on value *and* behaviour (the
original test bed); ``equal_value=True`` plants segments that differ only in *how* they
shop (category mix, deal use, private label, basket size, regularity) at the same visits
per week and the same spend per visit on average, the case a behaviour segmentation must
recover without leaning on value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.data.columns import HOUSEHOLD


def planted_feature_table(
    n_households: int = 2500, n_segments: int = 5, seed: int = 0, noise: float = 1.0, weeks: int = 102,
    equal_value: bool = False,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A customer feature table (household_id + the 33 features) with known segments.

    Each segment has its own level of seven behaviour drivers (visits per week, basket
    value, regularity, recency, deal usage, private label, fresh vs health & beauty
    tilt). For every driver the segments' levels are a random permutation of evenly
    spaced values, so any two segments differ by at least one step on *every* driver;
    households scatter around their segment's levels (lognormal amounts, Beta ratios,
    Dirichlet category shares, a few fuel-like item counts), ``noise`` scales the scatter.
    The 33 features are then derived the way the feature stage defines them, so the table
    has realistic heavy tails, correlated features and NaNs for one-basket households.

    With ``equal_value`` every segment has the same visits per week, basket value and
    recency levels, so segments differ only in behaviour (regularity, deal usage, private
    label, fresh vs health & beauty tilt) and have the same expected spend.

    Returns the table and the planted segment of each row (0..n_segments-1).
    """
    rng = np.random.default_rng(seed)
    k = n_segments
    steps = np.linspace(0.0, 1.0, k) if k > 1 else np.array([0.5])

    def levels(lo, hi, log=False):
        v = steps[rng.permutation(k)]
        return np.exp(np.log(lo) + v * (np.log(hi) - np.log(lo))) if log else lo + v * (hi - lo)

    vpw_c = levels(0.3, 3.0, log=True)
    basket_c = levels(15.0, 80.0, log=True)
    reg_c = levels(0.25, 0.9)
    rec_c = levels(2.0, 60.0, log=True)
    if equal_value:
        vpw_c, basket_c, rec_c = np.full(k, 1.0), np.full(k, 35.0), np.full(k, 6.0)
    deal_c = levels(0.3, 0.7)
    pl_c = levels(0.15, 0.45)
    tilt_c = levels(-1.0, 1.0)
    truth = rng.permutation(np.arange(n_households) % k)
    s = noise

    def ln(c, sd):
        return c[truth] * np.exp(rng.normal(0.0, sd * s, n_households))

    def beta(c, conc=80.0):
        m = np.clip(c[truth], 0.01, 0.99)
        conc = conc / max(s, 1e-6) ** 2
        return rng.beta(m * conc, (1 - m) * conc)

    days = weeks * 7
    vpw = ln(vpw_c, 0.15)
    frequency = np.maximum(1, np.round(vpw * weeks)).astype(int)
    frequency[rng.random(n_households) < 0.004] = 1
    reg = beta(reg_c)
    wwp = np.clip(np.round(reg * weeks), 1, np.minimum(weeks, frequency)).astype(int)
    basket = ln(basket_c, 0.15)
    sales = basket * frequency
    coupon = rng.beta(2, 400, n_households)
    recency = np.minimum(days - 1, np.round(ln(rec_c, 0.3))).astype(int)
    gap = (days - recency) / np.maximum(frequency - 1, 1) * np.exp(rng.normal(0, 0.1 * s, n_households))
    lines = np.maximum(frequency, np.round(frequency * basket / 3.0 * np.exp(rng.normal(0, 0.1, n_households))))
    n_products = np.maximum(1, np.round(lines * rng.uniform(0.35, 0.6, n_households))).astype(int)
    items = lines * 1.2 / frequency
    fuel = rng.random(n_households) < 0.02
    items[fuel] *= rng.uniform(10, 40, fuel.sum())
    deal = beta(deal_c)
    base = np.array([0.5, 0.25, 0.02, 0.15, 0.005, 0.075])
    tilt = tilt_c[truth] + rng.normal(0, 0.1 * s, n_households)
    alpha = base[None, :] * np.exp(np.outer(tilt, [0, 1, 0, -1, 0, 0]))
    alpha = alpha / alpha.sum(axis=1, keepdims=True) * 200.0
    shares = np.vstack([rng.dirichlet(a) for a in alpha])
    one = frequency == 1
    std = basket * np.exp(rng.normal(-0.15, 0.2, n_households))
    df = pd.DataFrame(
        {
            HOUSEHOLD: np.arange(1, n_households + 1),
            "recency": recency,
            "recency_weeks": recency // 7,
            "active_last_4w": (recency // 7 <= 4).astype(int),
            "active_last_12w": (recency // 7 <= 12).astype(int),
            "days_between_purchases_avg": np.where(one, np.nan, gap),
            "days_between_purchases_std": np.where(one, np.nan, gap * np.exp(rng.normal(-0.2, 0.3, n_households))),
            "frequency": frequency,
            "frequency_per_week": frequency / weeks,
            "frequency_per_month": frequency / weeks * 4.33,
            "transaction_count": lines.astype(int),
            "weeks_with_purchase": wwp,
            "purchase_regularity": wwp / weeks,
            "monetary_sales": sales,
            "monetary_actual": sales * (1 - coupon),
            "monetary_avg_basket_sales": basket,
            "monetary_avg_basket_actual": basket * (1 - coupon),
            "monetary_std": np.where(one, np.nan, std),
            "monetary_per_week": sales / weeks,
            "coupon_savings_ratio": coupon,
            "discount_rate": np.clip(deal * 0.3 + rng.normal(0, 0.02, n_households), 0, 1),
            "discount_usage_pct": deal,
            "private_label_ratio": beta(pl_c),
            "n_departments": np.clip(np.round(2.2 * np.log1p(n_products) + rng.normal(0, 1, n_households)), 1, 30).astype(int),
            "n_products": n_products,
            "avg_items_per_basket": items,
            "avg_products_per_basket": n_products / frequency,
            "share_grocery": shares[:, 0],
            "share_fresh": shares[:, 1],
            "share_bakery": shares[:, 2],
            "share_health_beauty": shares[:, 3],
            "share_alcohol": shares[:, 4],
            "share_other": shares[:, 5],
            "week_coverage": np.minimum(1.0, wwp / weeks * rng.uniform(1.0, 1.1, n_households)),
        }
    )
    return df, truth
