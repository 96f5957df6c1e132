"""Households: their traits, the weekly latent basket rate and the true effect of Type A.

:func:`make_households` draws every household's traits and its AR(1) weekly basket rate
(with :func:`season`) block by block, and the expected basket value that turns an effect on
baskets into an effect on sales; :func:`effect_per_week` is ``tau_h`` for each
``effect_shape``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segtarget.data.synthetic.catalog import DEPARTMENTS, Catalog, Stores, pick_products
from segtarget.data.synthetic.helpers import _hash_uniform, _rng, _sigmoid, _zscore

#: Households per generation block (fixed, so the files never depend on memory settings).
BLOCK = 2048

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
PREFERENCE_CONCENTRATION = 30.0
PRIVATE_BETA = (2.2, 5.0)
DEAL_BETA = (2.5, 2.5)
COUPON_CLIPPER_SHARE = 0.35
COUPON_LINE_RATE = 0.012
REDEEM_RATE = 0.06
FUEL_USER_SHARE = 0.35
FUEL_BETA = (2.0, 9.0)
QTY_GAMMA = (1.5, 0.2)
HOUR_MEAN, HOUR_SD = 14.5, 2.5
LOYALTY_BETA = (9.0, 1.5)

# --- lines (the expected basket value; the simulation draws lines with the same numbers) --
REPERTOIRE_SIZE = 8
REPERTOIRE_SHARE = 0.45
P_ZERO_QTY = 0.002
DISC_DEPTH = (0.10, 0.50)
P_MATCH = 0.3
MATCH_SHARE = (0.05, 0.15)
FUEL_VALUE_MEAN = 28.0
FUEL_EXTRA_LINE = 0.25

# --- effect of Type A ---------------------------------------------------------------------
HETERO_DEAL_CENTRE, HETERO_DEAL_SLOPE = 0.55, 8.0
HETERO_RATE_CENTRE, HETERO_RATE_SD = 0.8, 0.45
LINEAR_SLOPE = 0.6


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
