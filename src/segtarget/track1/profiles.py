"""Segment ids, profiles, strategy and feature separation.

Everything here is computed from the data with stated rules, so ids, profiles and actions
follow the segments when the data or parameters change (the original named segments by
hand and its code's dominant-factor rule disagreed with its own docs for one segment).

- Segment ids are 1..k in descending order of revenue share (ties: larger segment, then
  smallest household_id), so the same partition always gets the same ids.
- Names and actions come from behaviour (:mod:`segtarget.track1.describe`); the value tier
  is the separate RFM axis (:mod:`segtarget.track1.value_tiers`), summarised per segment by
  its tier mix and its most common tier.
- Dominant factor: the factor on which the segment stands out most, the largest z-score
  of the segment's mean score against all households' scores (raw score means favour
  whichever factor has the largest scale; the original's rule).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from segtarget.core.labels import feature_label
from segtarget.data.columns import HOUSEHOLD
from segtarget.track1 import describe
from segtarget.track1.value_tiers import TIERS

RFM_FEATURES = ("recency", "frequency", "monetary_sales")
SEPARATION_COLUMNS = ["feature", "anova_f", "anova_p", "kruskal_h", "kruskal_p", "nmf_input"]


def segment_order(raw_labels: np.ndarray, revenue: np.ndarray, household_ids: np.ndarray) -> dict:
    """Map raw cluster labels to segment ids 1..k by descending revenue share.

    >>> import numpy as np
    >>> segment_order(np.array([0, 0, 1]), np.array([1.0, 1.0, 5.0]), np.array([1, 2, 3]))
    {1: 1, 0: 2}
    """
    df = pd.DataFrame({"c": raw_labels, "r": np.nan_to_num(np.asarray(revenue, float)), "h": household_ids})
    g = df.groupby("c").agg(rev=("r", "sum"), n=("r", "size"), first=("h", "min")).reset_index()
    g["rev"] = g["rev"].round(8)
    g = g.sort_values(["rev", "n", "first"], ascending=[False, False, True], kind="mergesort")
    return {int(c): i + 1 for i, c in enumerate(g["c"])}


def profile_features(features: pd.DataFrame, nmf_features) -> list[str]:
    """RFM, category shares, then the NMF inputs: the columns profiled (present ones only)."""
    cols = [c for c in RFM_FEATURES if c in features.columns]
    cols += sorted(c for c in features.columns if c.startswith("share_"))
    cols += list(nmf_features)
    return list(dict.fromkeys(cols))


def dominant_factors(segments: np.ndarray, W: np.ndarray) -> dict:
    """Segment -> factor column (F1..Fr) with the largest z-score of the segment's mean score."""
    seg = np.asarray(segments)
    overall, sd = W.mean(axis=0), W.std(axis=0)
    out = {}
    for s in np.unique(seg):
        z = np.divide(W[seg == s].mean(axis=0) - overall, sd, out=np.zeros_like(overall), where=sd > 0)
        out[int(s)] = f"F{int(np.lexsort((np.arange(len(z)), -np.round(z, 10)))[0]) + 1}"
    return out


def profiles_table(
    features: pd.DataFrame,
    segments: np.ndarray,
    W: np.ndarray,
    names: pd.DataFrame,
    tiers: np.ndarray,
    D: pd.DataFrame,
    nmf_features,
    revenue_feature: str = "monetary_sales",
) -> pd.DataFrame:
    """One row per segment: size, shares, names, tier mix, top distinguishing features, profile means.

    ``names`` is :func:`segtarget.track1.describe.segment_names`, ``tiers`` the households'
    value tiers and ``D`` the segments x behaviour-features standardised differences.
    """
    seg = np.asarray(segments, dtype=int)
    revenue = np.nan_to_num(pd.to_numeric(features[revenue_feature], errors="coerce").to_numpy(dtype=float))
    cols = profile_features(features, nmf_features)
    data = pd.DataFrame({c: pd.to_numeric(features[c], errors="coerce").to_numpy(dtype=float) for c in cols})
    for j in range(W.shape[1]):
        data[f"F{j + 1}"] = W[:, j]
    data["segment"] = seg
    means = data.groupby("segment").mean()
    a = names.set_index("segment")
    total = revenue.sum()
    out = pd.DataFrame({"segment": means.index.astype(int)})
    out["segment_name"] = out["segment"].map(a["segment_name"])
    out["segment_name_ko"] = out["segment"].map(a["segment_name_ko"])
    n = pd.Series(seg).value_counts()
    out["n"] = out["segment"].map(n).astype(int)
    out["share"] = out["n"] / len(seg)
    rev = pd.Series(revenue).groupby(seg).sum()
    out["revenue_share"] = out["segment"].map(rev) / total if total > 0 else np.nan
    out["revenue_per_household"] = out["segment"].map(rev) / out["n"]
    mix = pd.crosstab(seg, np.asarray(tiers), normalize="index").reindex(columns=list(TIERS), fill_value=0.0)
    for t in TIERS:
        out[f"tier_{t.lower()}_share"] = out["segment"].map(mix[t])
    out["value_tier"] = out["segment"].map(mix.idxmax(axis=1))
    out["top_feature"] = out["segment"].map(a["top_feature"])
    out["top_std_diff"] = out["segment"].map(a["top_std_diff"])
    out["distinguishing_features"] = [describe.top_features_text(D, s) for s in out["segment"]]
    out["dominant_factor"] = out["segment"].map(dominant_factors(seg, W))
    for c in means.columns:
        out[c] = means[c].to_numpy()
    return out.sort_values("segment").reset_index(drop=True)


def strategy_table(profiles: pd.DataFrame, D: pd.DataFrame) -> pd.DataFrame:
    """A behaviour-led action per segment (:func:`segtarget.track1.describe.action`).

    The action follows from the behaviour that sets the segment apart most (its top
    standardised difference); the rationale names the top three differences and the
    segment's weight and value mix. These are descriptive starting points: whether
    contacting a segment pays is what Track 2's causal estimates decide.
    """
    rows = []
    for r in profiles.itertuples():
        sign = 1 if r.top_std_diff >= 0 else -1
        en, ko = describe.action(r.top_feature, sign)
        why = (f"{describe.top_features_text(D, r.segment)} (SD vs all households); {r.share:.1%} of households, "
               f"{r.revenue_share:.1%} of revenue, {r.tier_high_share:.0%} High value tier")
        rows.append(
            {
                "segment": r.segment,
                "segment_name": r.segment_name,
                "segment_name_ko": r.segment_name_ko,
                "value_tier": r.value_tier,
                "behaviour": f"{'high' if sign > 0 else 'low'} {feature_label(r.top_feature)}",
                "recommended_action": en,
                "recommended_action_ko": ko,
                "rationale": why,
            }
        )
    return pd.DataFrame(rows)


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce").astype(float)


def separation_table(features: pd.DataFrame, segments: np.ndarray, nmf_features) -> pd.DataFrame:
    """One-way ANOVA F and Kruskal-Wallis H of every numeric feature across segments.

    These are descriptive: the segments were built from (most of) these features, so
    large statistics and tiny p-values are expected and are not evidence that segments
    differ in the population. The table ranks which features separate the segments most
    (sorted by ANOVA F, largest first).
    """
    seg = np.asarray(segments)
    ids = np.unique(seg)
    nmf = set(nmf_features)
    rows = []
    for c in features.columns:
        if c == HOUSEHOLD or not pd.api.types.is_numeric_dtype(features[c]):
            continue
        x = _num(features, c).to_numpy()
        groups = [x[(seg == s) & np.isfinite(x)] for s in ids]
        groups = [g for g in groups if g.size]
        f = p = h = hp = np.nan
        if len(groups) >= 2 and np.ptp(np.concatenate(groups)) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f, p = stats.f_oneway(*groups)
                try:
                    h, hp = stats.kruskal(*groups)
                except ValueError:
                    pass
        rows.append({"feature": c, "anova_f": float(f), "anova_p": float(p), "kruskal_h": float(h),
                     "kruskal_p": float(hp), "nmf_input": c in nmf})
    df = pd.DataFrame(rows, columns=SEPARATION_COLUMNS)
    key = df["anova_f"].fillna(-np.inf).round(8)
    return df.assign(_k=-key).sort_values(["_k", "feature"], kind="mergesort").drop(columns="_k").reset_index(drop=True)


def profile_label(feature: str, lang: str = "en") -> str:
    """Readable label of a profile column (features and factor columns)."""
    return feature if feature.startswith("F") and feature[1:].isdigit() else feature_label(feature, lang)
