"""Valuing targeting policies honestly: cross-fitted doubly-robust value, profit, ROI, with household-bootstrap CIs.

A policy is a 0/1 decision per cohort unit, made out of fold (:mod:`segtarget.track2.policy`).
Its value is estimated from the ``cate_eval`` stage's doubly-robust (AIPW) scores ``G``: each
unit's score is an unbiased, noisy stand-in for its own effect, so for any rule chosen without
the held-out units' outcomes

* incremental sales (total over the population) = ``sum(pi * G)``, per unit = ``mean(pi * G)``;
* profit = margin x incremental sales - cost x contacts; ROI = profit / (cost x contacts).

Treat-none is exactly 0 (no contact, no score enters). Beside it stands the *plug-in* profit,
``sum(pi * (margin * cate - cost))``, the model grading its own predictions (how the original
valued every policy): the gap between the two is the optimism.

Intervals: households are resampled with replacement (all units of a drawn household come
along), the per-unit value is recomputed and scaled to the population's size; percentile
intervals. One set of resamples values every policy, so differences between policies are
paired. Also here: the cost estimate from redeemed coupon discounts, DR group effects with the
target / test first / do not target rule, and the A/B test design (statsmodels power).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, DAY, HOUSEHOLD

#: Actions of a group from its DR effect interval against the breakeven.
ACTIONS = ("target", "test_first", "do_not_target")


def check_economics(margin: float, cost: float) -> None:
    """One-line :class:`ParamError` for a margin outside (0, 1] or a negative cost."""
    if not np.isfinite(margin) or margin <= 0 or margin > 1:
        raise ParamError(f"policy.margin = {margin!r} is invalid; expected a share of sales in (0, 1]")
    if not np.isfinite(cost) or cost < 0:
        raise ParamError(f"policy.cost_per_contact = {cost!r} is invalid; expected a cost >= 0 per contact")


def breakeven(cost: float, margin: float) -> float:
    """The effect per contact at which targeting pays for itself: cost / margin.

    >>> round(breakeven(12.73, 0.30), 2)
    42.43
    """
    check_economics(margin, cost)
    return float(cost) / float(margin)


def profit_and_roi(incremental_sales, contacts, margin: float, cost: float):
    """Profit = margin x sales - cost x contacts and ROI = profit / (cost x contacts) (NaN without spend).

    >>> profit_and_roi(1000.0, 10, 0.3, 12.0)
    (180.0, 1.5)
    """
    sales, n = np.asarray(incremental_sales, float), np.asarray(contacts, float)
    profit = margin * sales - cost * n
    spend = cost * n
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(spend > 0, profit / np.where(spend > 0, spend, 1.0), np.nan)
    if profit.ndim == 0:
        return float(profit), float(roi)
    return profit, roi


def household_counts(clusters, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes per unit, replicate x household draw counts) of a household bootstrap."""
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ParamError(f"policy.n_bootstrap = {n_boot!r} is invalid; expected a positive integer")
    codes, uniq = pd.factorize(pd.Series(np.asarray(clusters)), sort=True)
    h = len(uniq)
    draws = np.random.default_rng(seed).integers(0, h, size=(n_boot, h)) + h * np.arange(n_boot)[:, None]
    return codes.astype("int64"), np.bincount(draws.ravel(), minlength=n_boot * h).reshape(n_boot, h).astype(float)


def _by_household(values: np.ndarray, codes: np.ndarray, n_h: int) -> np.ndarray:
    v = np.asarray(values, float)
    v = v.reshape(len(codes), -1)
    out = np.zeros((n_h, v.shape[1]))
    np.add.at(out, codes, v)
    return out


@dataclass
class Valuation:
    """Point totals and bootstrap totals of incremental sales and contacts for K policies."""

    names: list
    n_units: int
    contacts: np.ndarray        # (K,) units targeted
    sales: np.ndarray           # (K,) DR incremental sales, total
    plugin_sales: np.ndarray    # (K,) sum of predicted CATE over the targeted
    sales_boot: np.ndarray      # (B, K) totals in each household resample (per unit x n_units)
    contacts_boot: np.ndarray   # (B, K)

    def profit(self, margin: float, cost: float):
        """(point, bootstrap) profit totals."""
        return margin * self.sales - cost * self.contacts, margin * self.sales_boot - cost * self.contacts_boot


def value_policies(assign: pd.DataFrame, dr, cate, clusters, counts: tuple[np.ndarray, np.ndarray],
                   mask=None) -> Valuation:
    """DR and plug-in value of every policy (column of ``assign``, 0/1 per unit) on the units of ``mask``.

    ``cate`` is the per-unit prediction behind the plug-in value: one array for all policies or
    a (units x policies) array. ``counts`` is :func:`household_counts` of ``clusters`` (all
    units): resampled households carry all their units; the per-unit mean of each resample is
    scaled by the population's size, so totals stay comparable.
    """
    A = assign.to_numpy(dtype=float)
    n, k = A.shape
    dr = np.asarray(dr, float)
    if not np.isfinite(dr).all():
        raise InputError("dr_scores.csv: column dr_score has missing or infinite values; rerun the cate_eval stage")
    cate = np.asarray(cate, float)
    cate = np.broadcast_to(cate[:, None] if cate.ndim == 1 else cate, (n, k))
    m = np.ones(n, bool) if mask is None else np.asarray(mask, bool)
    codes, W = counts
    if codes.size != n:
        raise InputError(f"bootstrap: {codes.size} cluster codes for {n} units")
    A, G, T = A * m[:, None], dr * m, np.nan_to_num(cate) * m[:, None]
    h = W.shape[1]
    S, C, N = _by_household(A * G[:, None], codes, h), _by_household(A, codes, h), _by_household(m, codes, h)[:, 0]
    n_pop = int(m.sum())
    if n_pop == 0:
        raise InputError("policy: no units in the valuation population (policy.population); widen the overlap band")
    nb = W @ N
    nb = np.where(nb > 0, nb, np.nan)
    scale = n_pop / nb[:, None]
    return Valuation(list(assign.columns), n_pop, A.sum(0), (A * G[:, None]).sum(0), (A * T).sum(0),
                     (W @ S) * scale, (W @ C) * scale)


def _pct(a: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    lo = np.nanquantile(a, (1 - level) / 2, axis=0)
    hi = np.nanquantile(a, 1 - (1 - level) / 2, axis=0)
    return lo, hi


def summarise(v: Valuation, margin: float, cost: float, level: float = 0.95) -> pd.DataFrame:
    """One row per policy: contacts, DR incremental sales / profit / ROI with CIs, plug-in beside."""
    profit, profit_b = v.profit(margin, cost)
    _, roi = profit_and_roi(v.sales, v.contacts, margin, cost)
    spend_b = cost * v.contacts_boot
    with np.errstate(divide="ignore", invalid="ignore"):
        roi_b = np.where(spend_b > 0, profit_b / np.where(spend_b > 0, spend_b, 1.0), np.nan)
    plug_profit, plug_roi = profit_and_roi(v.plugin_sales, v.contacts, margin, cost)
    s_lo, s_hi = _pct(v.sales_boot, level)
    p_lo, p_hi = _pct(profit_b, level)
    all_nan = np.isnan(roi_b).all(axis=0)
    r_lo, r_hi = _pct(np.where(all_nan[None, :], 0.0, roi_b), level)
    none = v.contacts == 0  # treat-none (and any empty policy) is exactly zero, interval included
    z = lambda a: np.where(none, 0.0, a)  # noqa: E731
    return pd.DataFrame({
        "policy": v.names, "n_units": v.n_units, "n_targeted": v.contacts.astype("int64"),
        "pct_targeted": 100 * v.contacts / v.n_units,
        "incremental_sales": z(v.sales), "incremental_sales_ci_low": z(s_lo), "incremental_sales_ci_high": z(s_hi),
        "incremental_sales_per_unit": z(v.sales) / v.n_units,
        "profit": z(profit), "profit_ci_low": z(p_lo), "profit_ci_high": z(p_hi), "profit_per_unit": z(profit) / v.n_units,
        "prob_profit_positive": np.where(none, 0.0, np.mean(profit_b > 0, axis=0)),
        "roi": roi, "roi_ci_low": np.where(none | all_nan, np.nan, r_lo), "roi_ci_high": np.where(none | all_nan, np.nan, r_hi),
        "plugin_incremental_sales": z(v.plugin_sales), "plugin_profit": z(plug_profit), "plugin_roi": plug_roi,
        "optimism": z(plug_profit - profit),
    })


def group_effects(dr, groups, clusters, counts, bkeven: float, margin: float, cost: float,
                  level: float = 0.95, cate=None, mask=None) -> pd.DataFrame:
    """DR effect of each group (mean DR score of its units) with household-bootstrap CI and an action.

    Action from the interval against the breakeven: ``target`` when the lower bound is above it,
    ``do_not_target`` when the upper bound is at or below it, else ``test_first``. Also: the DR
    profit if the whole group were targeted (total, with CI) and, if ``cate`` is given, the
    model's own mean prediction for the group. Only the units of ``mask`` (default: all) count.
    """
    g = pd.Series(np.asarray(groups)).astype(str).to_numpy()
    m = np.ones(len(g), bool) if mask is None else np.asarray(mask, bool)
    labels = sorted(set(g[m]), key=lambda s: (len(s), s))
    A = pd.DataFrame({lab: (g == lab).astype(float) for lab in labels})
    dr = np.asarray(dr, float)
    v = value_policies(A, dr, np.zeros(len(dr)) if cate is None else cate, clusters, counts, m)
    n = v.contacts
    with np.errstate(divide="ignore", invalid="ignore"):
        eff, eff_b = v.sales / n, v.sales_boot / v.contacts_boot
    lo, hi = _pct(eff_b, level)
    profit, profit_b = v.profit(margin, cost)
    p_lo, p_hi = _pct(profit_b, level)
    action = np.where(lo > bkeven, "target", np.where(hi <= bkeven, "do_not_target", "test_first"))
    out = pd.DataFrame({"group_label": labels, "n": n.astype("int64"), "share_of_units": n / n.sum(),
                        "n_households": [len(set(np.asarray(clusters)[(g == lab) & m])) for lab in labels],
                        "cate": eff, "cate_ci_low": lo, "cate_ci_high": hi, "breakeven": bkeven, "action": action,
                        "dr_profit_if_targeted": profit, "dr_profit_ci_low": p_lo, "dr_profit_ci_high": p_hi})
    if cate is not None:
        out["cate_model_mean"] = v.plugin_sales / n
    return out


# --------------------------------------------------------------------------- cost


def discount_per_contact(units: pd.DataFrame, redemptions: pd.DataFrame, coupons: pd.DataFrame,
                         lines: pd.DataFrame) -> dict:
    """Mean redeemed coupon discount per targeted unit of the stacked campaigns.

    A treated unit (household h, campaign c) redeemed a coupon of c when ``redemptions`` has
    (h, c, day, coupon_upc); the discount is the ``coupon_disc`` of h's transaction lines on that
    day whose product the coupon covers (``coupons``: coupon_upc, product_id, campaign_id), each
    line counted once. The sum over treated units, divided by the number of treated units
    (redeemers or not), is the expected discount a contact costs.

    ``lines`` holds transaction lines with coupon_disc > 0 (household_id, basket_id, day,
    product_id, coupon_disc). Returns a dict: discount_per_contact, total_discount,
    treated_units, redeeming_units (units with a matched discounted line), lines, redemptions
    (the treated units' redemption rows of their own campaign) and units_with_redemptions.
    """
    t = units.loc[units["treated"] == 1, [HOUSEHOLD, CAMPAIGN]].drop_duplicates()
    if t.empty:
        raise InputError("cohort.csv: no treated units; the cost estimate needs the targeted units")
    red = redemptions[[HOUSEHOLD, CAMPAIGN, DAY, "coupon_upc"]].merge(t, on=[HOUSEHOLD, CAMPAIGN])
    n_red, n_red_units = len(red), int(red[[HOUSEHOLD, CAMPAIGN]].drop_duplicates().shape[0])
    red = red.merge(coupons[["coupon_upc", CAMPAIGN, "product_id"]].drop_duplicates(), on=["coupon_upc", CAMPAIGN])
    key = [HOUSEHOLD, "basket_id", DAY, "product_id"]
    hit = red.merge(lines[[*key, "coupon_disc"]], on=[HOUSEHOLD, DAY, "product_id"])
    hit = hit.drop_duplicates(key)
    total = float(hit["coupon_disc"].sum())
    return {"discount_per_contact": total / len(t), "total_discount": total, "treated_units": int(len(t)),
            "redeeming_units": int(hit[[HOUSEHOLD, CAMPAIGN]].drop_duplicates().shape[0]), "lines": int(len(hit)),
            "redemptions": int(n_red), "units_with_redemptions": n_red_units}


def redeemed_discounts(con, tables: dict, cohort: pd.DataFrame) -> dict:
    """:func:`discount_per_contact` on the canonical tables (Ibis on ``con``): transactions,
    coupons, coupon_redemptions; only lines with a coupon discount leave the database."""
    tx = tables["transactions"]
    lines = con.execute(tx.filter(tx.coupon_disc > 0).select(HOUSEHOLD, "basket_id", DAY, "product_id", "coupon_disc"))
    return discount_per_contact(cohort, con.execute(tables["coupon_redemptions"]), con.execute(tables["coupons"]), lines)


# --------------------------------------------------------------------------- A/B test


def n_per_arm(mde: float, sigma: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per arm of a two-sided two-sample t-test (statsmodels ``TTestIndPower``), not rounded.

    >>> round(n_per_arm(0.5, 1.0), 2)
    63.77
    """
    from statsmodels.stats.power import TTestIndPower

    if not (sigma > 0 and mde > 0):
        raise InputError(f"A/B design: minimum detectable effect {mde!r} and sigma {sigma!r} must be positive")
    return float(TTestIndPower().solve_power(effect_size=mde / sigma, alpha=alpha, power=power, ratio=1.0,
                                             alternative="two-sided"))


def ab_test_design(y, spend, mde: float, alpha: float, power: float, per_week: float, outcome_weeks: float,
                   sigma_source: str, population: str) -> pd.DataFrame:
    """Rows ``none`` and ``cuped``: sigma of control outcomes ``y``, n per arm at MDE = ``mde``
    and the weeks of eligible households (``per_week``) that 2 x n takes to enrol. CUPED uses
    sigma x sqrt(1 - rho^2), rho = correlation of ``y`` with lookback ``spend`` (same units)."""
    y, spend = np.asarray(y, float), np.asarray(spend, float)
    sigma = float(np.std(y, ddof=1))
    rho = float(np.corrcoef(y, spend)[0, 1]) if np.std(spend) > 0 and sigma > 0 else 0.0
    rows = []
    for kind, s, r in (("none", sigma, np.nan), ("cuped", sigma * np.sqrt(max(1 - rho**2, 0.0)), rho)):
        n = int(np.ceil(n_per_arm(mde, s, alpha, power)))
        rows.append({"mde": mde, "sigma": s, "alpha": alpha, "power": power, "n_per_arm": n, "n_total": 2 * n,
                     "variance_reduction": kind, "rho": r, "effect_size_d": mde / s, "sigma_source": sigma_source,
                     "n_sigma": int(y.size), "population": population, "eligible_per_week": per_week,
                     "weeks": float(np.ceil(2 * n / per_week)) if per_week > 0 else np.nan,
                     "outcome_weeks": outcome_weeks})
    return pd.DataFrame(rows)
