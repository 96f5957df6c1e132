"""The weekly simulation: the World it runs in, campaign targeting, and baskets and lines.

:func:`_target` chooses each campaign's households from their realised past (the
confounding) and adds the Type A effect to their basket rate; :func:`_simulate` makes the
baskets and transaction lines of one block of households over one time segment (see
:func:`_segments`), with the coupon redemptions of targeted households.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from segtarget.data.synthetic.calendar import Coupons
from segtarget.data.synthetic.catalog import DEPARTMENTS, Catalog, Stores, pick_products
from segtarget.data.synthetic.helpers import (
    _categorical,
    _hash_uniform,
    _rng,
    _round2,
    _sigmoid,
    _solve_alpha,
    _zscore,
)
from segtarget.data.synthetic.households import (
    BLOCK,
    DISC_DEPTH,
    FUEL_EXTRA_LINE,
    FUEL_VALUE_MEAN,
    MATCH_SHARE,
    P_MATCH,
    P_ZERO_QTY,
    REPERTOIRE_SHARE,
    REPERTOIRE_SIZE,
    Households,
)

log = logging.getLogger(__name__)

#: Longest time segment generated at once (weeks).
SEGMENT_WEEKS = 13
BASKET_BASE = 26_000_000_000

# --- baskets ------------------------------------------------------------------------------
LINES_SHAPE = 1.5
REDEEM_WEIGHT = {"A": 1.0, "B": 0.6, "C": 0.8}
HOUR_NOISE = 2.0
DOW_WEIGHTS = (0.13, 0.12, 0.12, 0.13, 0.15, 0.18, 0.17)

# --- lines --------------------------------------------------------------------------------
COUPON_VALUE = (0.25, 1.50)
REDEEM_VALUE = (0.50, 3.00)
FUEL_VALUE_SD_LOG = 0.45
FUEL_GRADES = (0.80, 0.12, 0.08)
P_SPAN = 0.003

# --- campaigns ----------------------------------------------------------------------------
SHARE_TARGETED = {"B": 0.06, "C": 0.04}


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


def _fuel_prices(s: dict) -> np.ndarray:
    rng = _rng(s["seed"], 11)
    w = np.arange(s["weeks"])
    walk = np.cumsum(0.04 * rng.standard_normal(s["weeks"]))
    return np.clip(3.0 + 0.3 * np.sin(2 * np.pi * (w - 20) / 52) + walk, 2.2, 4.3)
