"""Track 2 study design: a stacked cohort of (household, campaign) units with not-yet-treated controls.

For each stacked campaign c of the chosen type:

* **treated** are the households whose *first* campaign of that type is c;
* **controls** are the households not targeted by that type at or before c: households never
  targeted by it *and* households first targeted later. A control whose own first treatment
  starts inside c's outcome window is dropped (its outcome would mix in its own treatment).
  By default (``outcome_stop_at_next``) c's outcome window ends the day before the next
  campaign of the type starts, so no control has to be dropped: dropping them would select
  controls on their spending inside the window whenever targeting follows recent spending
  (found by tests/test_track2_recovery.py: AIPW overstated the effect by 2-4 SE).

Why not-yet-treated controls: using only never-targeted controls (the original project's
choice) selects controls on their future. Whether a household is *ever* targeted depends on
its later spending, which overlaps the outcome window, so "never targeted" households are
partly chosen for spending little after c. Here nothing that happens at or after c decides
who enters: eligibility (at least ``min_baskets`` baskets) and every covariate use only the
lookback window before c, the same fixed length for both arms of a campaign, and counts are
expressed per week so that lookback length cannot separate campaigns either.

A household is treated at most once and is never a control at or after its first treatment.
It can be a control for several earlier campaigns, so inference must be clustered by
household (``household_id`` is the cluster in every later stage).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from segtarget import features as F
from segtarget.core.errors import ParamError
from segtarget.data.columns import CAMPAIGN, DAY, HOUSEHOLD
from segtarget.track2.design import COVARIATE_PREFIX, covariate_columns

log = logging.getLogger(__name__)

#: Outcomes measured over each unit's outcome window (redemptions is secondary).
OUTCOMES = ("purchase_amount", "purchase_count", "redemptions")
#: Count-like features turned into per-week rates over the lookback window.
RATE_FEATURES = ("frequency", "transaction_count", "weeks_with_purchase", "monetary_sales", "monetary_actual", "n_products")
#: Features dropped from the covariates: duplicates of a rate or depending on tenure, which
#: differs with the lookback's start rather than with behaviour.
DROPPED_FEATURES = ("frequency_per_week", "frequency_per_month", "monetary_per_week", "recency_weeks")
DESIGN_COLUMNS = (HOUSEHOLD, CAMPAIGN, "treated", "index_day", "lookback_start", "lookback_end",
                  "lookback_weeks", "outcome_start", "outcome_end", "outcome_days")


@dataclass
class CampaignPlan:
    campaign_id: int
    start_day: int
    end_day: int
    lookback_weeks: int
    lookback_start: int
    lookback_end: int
    outcome_start: int
    outcome_end: int


def _first_campaigns(campaigns: pd.DataFrame, members: pd.DataFrame, ctype: str) -> pd.DataFrame:
    """Each targeted household's first campaign of type ``ctype`` (by start day, then id)."""
    typed = campaigns.loc[campaigns.campaign_type == ctype, [CAMPAIGN, "start_day", "end_day"]]
    m = members.merge(typed, on=CAMPAIGN).sort_values([HOUSEHOLD, "start_day", CAMPAIGN], kind="mergesort")
    first = m.drop_duplicates(HOUSEHOLD, keep="first")
    return first.rename(columns={CAMPAIGN: "first_campaign", "start_day": "first_start"})[
        [HOUSEHOLD, "first_campaign", "first_start"]
    ]


def plan_campaigns(campaigns: pd.DataFrame, ctype: str, section: dict, first_day: int, last_day: int) -> tuple[list[CampaignPlan], list[str]]:
    """The stacked campaigns with their lookback and outcome windows, and notes on exclusions."""
    lookback, min_lookback = section["lookback_weeks"], section["min_lookback_weeks"]
    post = section["outcome_post_weeks"]
    if lookback < min_lookback:
        raise ParamError(f"params.yaml: cohort.lookback_weeks = {lookback} is invalid; expected >= cohort.min_lookback_weeks ({min_lookback})")
    if section["outcome_window"] == "post_only" and post == 0:
        raise ParamError("params.yaml: cohort.outcome_post_weeks = 0 is invalid with cohort.outcome_window = 'post_only'; the outcome window would be empty")
    typed = campaigns.loc[campaigns.campaign_type == ctype].sort_values(["start_day", CAMPAIGN], kind="mergesort")
    if typed.empty:
        raise ParamError(f"params.yaml: cohort.campaign_type = {ctype!r} is invalid; the data has no campaign of that type")
    wanted = [int(c) for c in section.get("campaigns") or []]
    unknown = sorted(set(wanted) - set(typed[CAMPAIGN]))
    if unknown:
        raise ParamError(f"params.yaml: cohort.campaigns lists {unknown[0]}, which is not a Type {ctype} campaign of the data (those are {', '.join(map(str, typed[CAMPAIGN]))})")
    plans, notes = [], []
    starts = sorted(set(typed["start_day"].astype(int)))
    for row in typed.itertuples(index=False):
        cid, start, end = int(getattr(row, CAMPAIGN)), int(row.start_day), int(row.end_day)
        if wanted and cid not in wanted:
            continue
        history_weeks = (start - first_day) // 7
        o_start = start if section["outcome_window"] == "campaign_plus_post" else end + 1
        o_end = min(end + 7 * post, last_day)
        later = [s for s in starts if s > start]
        if section["outcome_stop_at_next"] and later and later[0] <= o_end:
            # Controls first targeted by the next campaign would otherwise have to be dropped,
            # and who gets targeted next depends on spending inside this window: stopping the
            # window first keeps every not-yet-treated control (no selection on the future).
            o_end = later[0] - 1
            notes.append(f"campaign {cid}: outcome window ends on day {o_end}, before the next Type {ctype} campaign starts")
        problem = None
        if history_weeks < min_lookback:
            problem = f"only {max(history_weeks, 0)} weeks of history before it (cohort.min_lookback_weeks = {min_lookback})"
        elif o_start > last_day or o_end < o_start:
            problem = f"its outcome window starts on day {o_start}, after the data end (day {last_day})"
        if problem:
            if wanted:
                raise ParamError(f"params.yaml: cohort.campaigns lists campaign {cid}, which cannot be stacked: {problem}")
            notes.append(f"campaign {cid} not stacked: {problem}")
            continue
        weeks = min(lookback, history_weeks)
        plans.append(CampaignPlan(cid, start, end, weeks, start - 7 * weeks, start - 1, o_start, o_end))
    if not plans:
        raise ParamError(
            f"params.yaml: no Type {ctype} campaign can be stacked ({'; '.join(notes)}); "
            "lower cohort.min_lookback_weeks or choose another cohort.campaign_type"
        )
    return plans, notes


def _units(plans, first: pd.DataFrame, universe: np.ndarray, flow: list) -> pd.DataFrame:
    """Candidate (household, campaign) units of every stacked campaign, with flow counts."""
    stacked = {p.campaign_id for p in plans}
    not_stacked = first.loc[~first.first_campaign.isin(stacked), HOUSEHOLD]
    all_h = pd.DataFrame({HOUSEHOLD: universe}).merge(first, on=HOUSEHOLD, how="left")
    frames = []
    for p in plans:
        treated = all_h.loc[all_h.first_campaign == p.campaign_id, [HOUSEHOLD]].assign(treated=1)
        later = all_h.first_start.isna() | (all_h.first_start > p.start_day)
        ctrl = all_h.loc[later].copy()
        inside = ctrl.first_start.notna() & (ctrl.first_start <= p.outcome_end)
        flow.append(dict(step=f"campaign {p.campaign_id}: candidates", n_treated=len(treated), n_control=int(len(ctrl)),
                         note="treated = first Type campaign is this one; controls = not targeted by the type at or before its start"))
        flow.append(dict(step=f"campaign {p.campaign_id}: drop controls treated inside the outcome window",
                         n_treated=0, n_control=-int(inside.sum()),
                         note=f"their own first treatment starts between day {p.start_day + 1} and day {p.outcome_end}"))
        ctrl = ctrl.loc[~inside, [HOUSEHOLD]].assign(treated=0)
        units = pd.concat([treated, ctrl], ignore_index=True)
        for k, v in vars(p).items():
            if k not in ("end_day",):
                units[k] = v
        frames.append(units)
    flow.insert(0, dict(step="households with a purchase or a campaign", n_treated=int(all_h.first_campaign.notna().sum()),
                        n_control=int(all_h.first_campaign.isna().sum()),
                        note="n_treated = ever targeted by the type; n_control = never targeted"))
    flow.insert(1, dict(step="excluded: first campaign of the type not stacked", n_treated=-int(len(not_stacked)), n_control=0,
                        note="too little history or outcome window beyond the data; they may still serve as controls for earlier campaigns"))
    out = pd.concat(frames, ignore_index=True).rename(columns={"campaign_id": CAMPAIGN, "start_day": "index_day"})
    return out


def _window_sums(con, tx: ibis.Table, windows: pd.DataFrame, start: str, end: str, prefix: str) -> pd.DataFrame:
    """Sales and basket counts of each (household, campaign) window."""
    w = ibis.memtable(windows[[HOUSEHOLD, CAMPAIGN, start, end]].rename(columns={start: "w_start", end: "w_end"}))
    j = w.join(tx, w[HOUSEHOLD] == tx[HOUSEHOLD]).filter(lambda t: (t[DAY] >= t.w_start) & (t[DAY] <= t.w_end))
    agg = j.group_by([HOUSEHOLD, CAMPAIGN]).aggregate(
        # money summed in whole cents: float sums depend on the order threads add them in
        **{f"{prefix}cents": (j.sales_value * F.MONEY_SCALE).round().cast("int64").sum(),
           f"{prefix}count": j.basket_id.nunique().cast("float64")}
    )
    out = con.execute(agg)
    out[f"{prefix}amount"] = out.pop(f"{prefix}cents").astype("float64") / F.MONEY_SCALE
    return out


def _exposure(con, tx: ibis.Table, promo: ibis.Table, windows: pd.DataFrame) -> pd.DataFrame:
    """Display and mailer exposure rates: share of lookback lines on display / in the mailer."""
    w = ibis.memtable(windows[[HOUSEHOLD, CAMPAIGN, "lookback_start", "lookback_end"]])
    lines = w.join(tx, w[HOUSEHOLD] == tx[HOUSEHOLD]).filter(
        lambda t: (t[DAY] >= t.lookback_start) & (t[DAY] <= t.lookback_end)
    ).select(HOUSEHOLD, CAMPAIGN, "product_id", "store_id", "week")
    p = promo.group_by(["product_id", "store_id", "week"]).aggregate(
        disp=(promo.display != "0").any(), mail=(promo.mailer != "0").any()
    )
    j = lines.left_join(p, [lines.product_id == p.product_id, lines.store_id == p.store_id, lines.week == p.week])
    agg = j.group_by([HOUSEHOLD, CAMPAIGN]).aggregate(
        display_exposure_rate=j.disp.fill_null(False).mean().cast("float64"),
        mailer_exposure_rate=j.mail.fill_null(False).mean().cast("float64"),
    )
    return con.execute(agg)


def _other_campaigns(units: pd.DataFrame, campaigns: pd.DataFrame, members: pd.DataFrame, ctype: str) -> pd.DataFrame:
    """Per unit: how many campaigns of each other type the household was in during the lookback."""
    out = units[[HOUSEHOLD, CAMPAIGN]].copy()
    other = members.merge(campaigns, on=CAMPAIGN)
    for t in sorted(set(campaigns.campaign_type) - {ctype}):
        m = other.loc[other.campaign_type == t, [HOUSEHOLD, "start_day", "end_day"]]
        j = units[[HOUSEHOLD, CAMPAIGN, "lookback_start", "lookback_end"]].merge(m, on=HOUSEHOLD)
        hit = j.loc[(j.start_day <= j.lookback_end) & (j.end_day >= j.lookback_start)]
        n = hit.groupby([HOUSEHOLD, CAMPAIGN]).size().rename(f"campaigns_{t}_lookback")
        out = out.merge(n.reset_index(), on=[HOUSEHOLD, CAMPAIGN], how="left")
        out[f"campaigns_{t}_lookback"] = out[f"campaigns_{t}_lookback"].fillna(0).astype("float64")
    return out


def window_features(con, tables: dict, units: pd.DataFrame, features: dict) -> pd.DataFrame:
    """``units`` (household, campaign, lookback_start, lookback_end, ...) with the project's features
    over each unit's lookback window (the Track 1 feature code, per window); ``frequency`` is 0 for a
    unit without a basket in its window."""
    win = units[[HOUSEHOLD, CAMPAIGN, "lookback_start", "lookback_end"]].rename(
        columns={"lookback_start": "start_day", "lookback_end": "end_day"})
    feats = F.features_from_params(con, tables, features, windows=win)
    feats = feats.drop(columns=["start_day", "end_day"], errors="ignore")
    out = units.merge(feats, on=[HOUSEHOLD, CAMPAIGN], how="left")
    out["frequency"] = out["frequency"].fillna(0.0)
    return out


def unit_covariates(con, tables: dict, units: pd.DataFrame, campaigns: pd.DataFrame, members: pd.DataFrame,
                    ctype: str) -> pd.DataFrame:
    """Raw covariates (``x_*``) of units carrying their window features (:func:`window_features`) and
    ``lookback_weeks``: counts as per-week rates, display/mailer exposure and other campaign types
    in the lookback. Missing values are left for the caller (the cohort imputes within campaign;
    scoring new households imputes with the cohort's medians)."""
    cov = pd.DataFrame({HOUSEHOLD: units[HOUSEHOLD], CAMPAIGN: units[CAMPAIGN]})
    for f in F.FEATURES:
        if f in DROPPED_FEATURES:
            continue
        if f in RATE_FEATURES:
            cov[f"{COVARIATE_PREFIX}{f}_per_week"] = units[f] / units["lookback_weeks"]
        else:
            cov[f"{COVARIATE_PREFIX}{f}"] = units[f]
    expo = _exposure(con, tables["transactions"], tables["promotions"], units)
    cov = cov.merge(expo.rename(columns=lambda c: c if c in (HOUSEHOLD, CAMPAIGN) else COVARIATE_PREFIX + c),
                    on=[HOUSEHOLD, CAMPAIGN], how="left")
    other = _other_campaigns(units, campaigns, members, ctype)
    return cov.merge(other.rename(columns=lambda c: c if c in (HOUSEHOLD, CAMPAIGN) else COVARIATE_PREFIX + c),
                     on=[HOUSEHOLD, CAMPAIGN], how="left")


def build_cohort(con, tables: dict, cohort: dict, features: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the stacked cohort and its flow table.

    Parameters
    ----------
    con : ibis connection
        Backend holding ``tables`` (see :func:`segtarget.features.connect`).
    tables : dict of ibis.Table
        Canonical tables: transactions, products, campaigns, campaign_members,
        coupon_redemptions, promotions.
    cohort, features : dict
        Validated ``cohort`` and ``features`` params sections.

    Returns
    -------
    cohort_df : DataFrame
        One row per unit: :data:`DESIGN_COLUMNS`, covariates (``x_*``, incl. campaign
        indicators ``x_campaign_<id>`` for all but the first campaign, and missing-value flags) and :data:`OUTCOMES`,
        sorted by campaign and household.
    flow : DataFrame
        step, n_treated, n_control, note: who entered and who was excluded, and why.
    """
    ctype = cohort["campaign_type"]
    campaigns = con.execute(tables["campaigns"])
    members = con.execute(tables["campaign_members"])
    tx = tables["transactions"]
    rng = con.execute(tx.aggregate(first=tx[DAY].min(), last=tx[DAY].max()))
    first_day, last_day = int(rng["first"].iloc[0]), int(rng["last"].iloc[0])
    plans, notes = plan_campaigns(campaigns, ctype, cohort, first_day, last_day)
    typed_members = members.merge(campaigns.loc[campaigns.campaign_type == ctype, [CAMPAIGN]], on=CAMPAIGN)
    if typed_members.empty:
        raise ParamError(f"params.yaml: cohort.campaign_type = {ctype!r} is invalid; no household is a member of any Type {ctype} campaign")
    first = _first_campaigns(campaigns, members, ctype)
    universe = np.union1d(con.execute(tx.select(HOUSEHOLD).distinct())[HOUSEHOLD].to_numpy(), members[HOUSEHOLD].unique())
    flow: list[dict] = []
    units = _units(plans, first, universe, flow)

    units = window_features(con, tables, units, features)
    eligible = units["frequency"] >= cohort["min_baskets"]
    for p in plans:
        sel = units[CAMPAIGN] == p.campaign_id
        drop = sel & ~eligible
        flow.append(dict(step=f"campaign {p.campaign_id}: drop units with fewer than {cohort['min_baskets']} baskets in the lookback",
                         n_treated=-int((drop & (units.treated == 1)).sum()), n_control=-int((drop & (units.treated == 0)).sum()),
                         note=f"lookback days {p.lookback_start}..{p.lookback_end} ({p.lookback_weeks} weeks); same rule for both arms"))
    units = units.loc[eligible].reset_index(drop=True)
    for p in plans:
        sel = units[CAMPAIGN] == p.campaign_id
        flow.append(dict(step=f"campaign {p.campaign_id}: units", n_treated=int((sel & (units.treated == 1)).sum()),
                         n_control=int((sel & (units.treated == 0)).sum()),
                         note=f"index day {p.start_day}; outcome days {p.outcome_start}..{p.outcome_end}"))
    n_t, n_c = int((units.treated == 1).sum()), int((units.treated == 0).sum())
    if n_t == 0 or n_c == 0:
        arm = "treated" if n_t == 0 else "control"
        raise ParamError(f"params.yaml: the cohort has no {arm} units (cohort.campaign_type = {ctype!r}, "
                         f"cohort.campaigns = {cohort.get('campaigns') or 'all'}); the design needs both arms")
    flow.append(dict(step="final cohort (all stacked campaigns)", n_treated=n_t, n_control=n_c,
                     note=f"{units[HOUSEHOLD].nunique()} distinct households; a household can be a control for several campaigns"))
    for note in notes:
        step = "outcome window shortened" if "outcome window ends" in note else "campaign not stacked"
        flow.insert(2, dict(step=step, n_treated=0, n_control=0, note=note))

    cov = unit_covariates(con, tables, units, campaigns, members, ctype)
    # missing values: flag, then impute with the campaign's median (covariates only, no outcome)
    xcols = covariate_columns(cov)
    for c in xcols:
        miss = cov[c].isna()
        if miss.any():
            cov[f"{c}_missing"] = miss.astype("float64")
            med = cov.groupby(CAMPAIGN)[c].transform("median")
            cov[c] = cov[c].fillna(med).fillna(cov[c].median()).fillna(0.0)
    # covariates that cannot inform anything: constant across the cohort (active_last_12w
    # with a 12-week lookback) or an exact copy of an earlier column (two missing flags)
    xcols = covariate_columns(cov)
    seen: dict[bytes, str] = {}
    for c in xcols:
        col = cov[c].to_numpy()
        key = col.tobytes()
        if np.all(col == col[0]) or key in seen:
            log.info("cohort: dropping covariate %s (%s)", c, "constant" if np.all(col == col[0]) else f"same as {seen[key]}")
            cov = cov.drop(columns=c)
        else:
            seen[key] = c
    # campaign indicators (the first stacked campaign is the reference level, so that a
    # regression with an intercept stays full rank)
    for p in plans[1:]:
        cov[f"{COVARIATE_PREFIX}campaign_{p.campaign_id}"] = (cov[CAMPAIGN] == p.campaign_id).astype("float64")

    # outcomes over the outcome window
    sums = _window_sums(con, tx, units, "outcome_start", "outcome_end", "y_")
    red = con.execute(tables["coupon_redemptions"])
    rj = units[[HOUSEHOLD, CAMPAIGN, "outcome_start", "outcome_end"]].merge(red[[HOUSEHOLD, DAY]], on=HOUSEHOLD)
    rj = rj.loc[(rj[DAY] >= rj.outcome_start) & (rj[DAY] <= rj.outcome_end)]
    red_n = rj.groupby([HOUSEHOLD, CAMPAIGN]).size().rename("redemptions").reset_index()

    design = units[[HOUSEHOLD, CAMPAIGN, "treated", "index_day", "lookback_start", "lookback_end",
                    "lookback_weeks", "outcome_start", "outcome_end"]].copy()
    design["outcome_days"] = design.outcome_end - design.outcome_start + 1
    out = design.merge(cov, on=[HOUSEHOLD, CAMPAIGN], how="left")
    out = out.merge(sums, on=[HOUSEHOLD, CAMPAIGN], how="left").merge(red_n, on=[HOUSEHOLD, CAMPAIGN], how="left")
    out["purchase_amount"] = out.pop("y_amount").fillna(0.0)
    out["purchase_count"] = out.pop("y_count").fillna(0.0)
    out["redemptions"] = out["redemptions"].fillna(0).astype("float64")
    out = out.sort_values([CAMPAIGN, HOUSEHOLD], kind="mergesort").reset_index(drop=True)
    return out, pd.DataFrame(flow, columns=["step", "n_treated", "n_control", "note"])


def load_tables(con, interim_dir) -> dict:
    """The canonical tables the cohort needs, as Ibis tables on ``con``."""
    names = ("transactions", "products", "campaigns", "campaign_members", "coupon_redemptions", "promotions")
    return F.read_tables(con, interim_dir, names)
