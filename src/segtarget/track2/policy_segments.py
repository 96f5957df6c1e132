"""Track 1 segments of the Track 2 cohort units, from lookback-window features only.

The original placed households in segments from features over all 102 weeks, which include
the outcome windows: segment-level effects then conditioned on post-treatment behaviour
(original-methodology.md 13.2 item 6). Here each (household, campaign) unit is described by the
project's 33 features over its own lookback window, ``lookback_start .. lookback_end`` of
cohort.csv (the ``cohort.lookback_weeks`` weeks before the campaign's start, ``index_day``; the
window ends the day before it), so no transaction on or after the index day can move a unit's
segment. The features come from the feature code of :mod:`segtarget.features` (the same query
as Track 1 and as the cohort covariates).

Track 2 must not import Track 1 (import-linter), so the stage script composes them: it passes
the saved segment model's ``assign_segments`` in as a callable (``assign``), and optionally a
``tiers`` callable for the value tier. Why re-tier: the saved model's tier edges are quantiles of
full-history totals (visits, spend over the whole data), which a 12-week window cannot reach, so
nearly every unit would be "Low". The stage passes the saved tier rule (same bins and
thresholds) re-fitted on the units of the same campaign: a unit's tier is its value rank among
the households eligible at that date, on the same window length.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from segtarget import features as F
from segtarget.core.errors import InputError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.policy_value import group_effects

KEYS = [HOUSEHOLD, CAMPAIGN]
TIER_ORDER = {"High": 0, "Medium": 1, "Low": 2}
SEGMENT_COLUMNS = [*KEYS, "segment", "segment_name", "segment_name_ko", "value_tier"]
#: segment_recommendations.csv: SPEC columns first.
RECOMMENDATION_LEAD = ["group", "segment", "segment_name", "segment_name_ko", "n", "share_of_units", "cate", "cate_ci_low",
                       "cate_ci_high", "action"]


def lookback_windows(cohort: pd.DataFrame, origin: str = "cohort.csv") -> pd.DataFrame:
    """Each unit's lookback window (household_id, campaign_id, start_day, end_day); it must end before the index day."""
    need = [*KEYS, "index_day", "lookback_start", "lookback_end"]
    miss = [c for c in need if c not in cohort.columns]
    if miss:
        raise InputError(f"{origin}: column {miss[0]} missing; expected the cohort stage's output")
    if (cohort["lookback_end"] >= cohort["index_day"]).any():
        raise InputError(f"{origin}: a lookback window ends on or after its index day; expected lookback_end < index_day")
    return cohort[KEYS + ["lookback_start", "lookback_end"]].rename(
        columns={"lookback_start": "start_day", "lookback_end": "end_day"}).reset_index(drop=True)


def lookback_features(con, tables: dict, cohort: pd.DataFrame, features: dict) -> pd.DataFrame:
    """The 33 features of every cohort unit over its lookback window (household_id, campaign_id + features).

    ``tables`` holds the canonical transactions and products as Ibis tables on ``con``
    (:func:`segtarget.features.read_tables`); ``features`` is the validated params section.
    A unit without a line in its window (none in the default cohort: eligibility needs a
    basket) gets no row and is left without a segment.
    """
    out = F.features_from_params(con, tables, features, windows=lookback_windows(cohort))
    return out.drop(columns=["start_day", "end_day"], errors="ignore").sort_values(KEYS, kind="mergesort").reset_index(drop=True)


def assign_units(feats: pd.DataFrame, assign: Callable[[pd.DataFrame], pd.DataFrame],
                 tiers: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Segment (and value tier) of every unit, one campaign at a time.

    ``assign(features)`` scores a table with one row per household (Track 1's
    ``assign_segments`` with the saved model) and returns household_id, segment, segment_name,
    segment_name_ko, value_tier. ``tiers(features)``, if given, returns a ``value_tier`` per
    row of ``features`` that replaces the saved model's (see the module docstring).
    """
    parts = []
    for cid, g in feats.groupby(CAMPAIGN, sort=True):
        f = g.drop(columns=CAMPAIGN).sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)
        a = assign(f).sort_values(HOUSEHOLD, kind="mergesort").reset_index(drop=True)
        if not np.array_equal(a[HOUSEHOLD].to_numpy(), f[HOUSEHOLD].to_numpy()):
            raise InputError(f"segment assignment of campaign {cid}: households do not match the feature rows")
        if tiers is not None:
            a["value_tier"] = np.asarray(tiers(f)["value_tier"])
        parts.append(a.assign(**{CAMPAIGN: cid}))
    if not parts:
        raise InputError("lookback features: no unit has a transaction in its lookback window")
    return pd.concat(parts, ignore_index=True)[SEGMENT_COLUMNS]


def segment_recommendations(units: pd.DataFrame, segments: pd.DataFrame, pop: np.ndarray, counts, be: float,
                            margin: float, cost: float, level: float, cate=None) -> pd.DataFrame:
    """DR effect, CI, action and DR profit if targeted per segment and per value tier, on the population.

    ``units`` are the policy inputs (keys, dr_score, household); ``segments`` is
    :func:`assign_units`' table; units without a segment form the group ``unassigned``.
    """
    s = units[KEYS].merge(segments, on=KEYS, how="left", validate="one_to_one")
    s["segment"] = s["segment"].astype("Int64").astype(str).replace("<NA>", "unassigned")
    s["value_tier"] = s["value_tier"].fillna("unassigned")
    dr, hh = units["dr_score"].to_numpy(float), units[HOUSEHOLD].to_numpy()
    parts = []
    for group, col in (("segment", "segment"), ("value_tier", "value_tier")):
        g = group_effects(dr, s[col].to_numpy(), hh, counts, be, margin, cost, level, cate, mask=pop)
        g.insert(0, "group", group)
        g = g.rename(columns={"group_label": "segment"})
        names = s.drop_duplicates(col).set_index(col)
        if group == "segment":
            g.insert(2, "segment_name", g["segment"].map(names["segment_name"]).fillna(""))
            g.insert(3, "segment_name_ko", g["segment"].map(names["segment_name_ko"]).fillna(""))
        else:
            g = g.iloc[np.argsort([TIER_ORDER.get(v, 9) for v in g["segment"]], kind="stable")]
            g.insert(2, "segment_name", g["segment"])
            g.insert(3, "segment_name_ko", g["segment"].map({"High": "고가치", "Medium": "중가치", "Low": "저가치"}).fillna(""))
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    return out[[*RECOMMENDATION_LEAD, *[c for c in out.columns if c not in RECOMMENDATION_LEAD]]]
