"""Value tiers: the second axis of Track 1, a stated RFM rule per household.

Behaviour segments say *how* a household shops; the value tier says *how much it is worth*.
Keeping them apart is the point: a CRM team already ranks customers by value, and a
segmentation that only rediscovers value tiers tells it nothing new. The tier is a plain,
auditable rule (``segmentation.tier_*`` in ``params.yaml``):

1. each of recency, frequency and monetary value is scored 1..``bins`` by the household
   quantiles learnt at fit time (recency reversed: the most recent get ``bins``);
   a value on a quantile edge gets the lower score, so ties never split by row order;
2. the RFM score is the sum of the three scores (3 .. 3 x ``bins``);
3. ``High`` when the score is at least ``high_min``, ``Medium`` when at least
   ``medium_min``, else ``Low``.

The edges are part of the saved segment model, so new households are tiered against the
training population, not against each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from segtarget.core.errors import ParamError

TIERS = ("High", "Medium", "Low")
TIER_KO = {"High": "고가치", "Medium": "중가치", "Low": "저가치"}


class ValueTiers(BaseEstimator):
    """RFM scores and tiers from quantile edges learnt on the training households.

    Parameters
    ----------
    features : tuple of str
        Recency, frequency and monetary columns, in that order (recency: lower is better).
    bins : int
        Scores per dimension (5 = quintiles).
    high_min, medium_min : int
        Smallest RFM score of the ``High`` and ``Medium`` tiers.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"recency": [1, 50, 5, 90], "frequency": [90, 2, 40, 1],
    ...                    "monetary_sales": [900.0, 20.0, 300.0, 5.0]})
    >>> ValueTiers(bins=2, high_min=6, medium_min=4).fit(df).transform(df)["value_tier"].tolist()
    ['High', 'Low', 'High', 'Low']
    """

    def __init__(self, features=("recency", "frequency", "monetary_sales"), bins: int = 5, high_min: int = 12,
                 medium_min: int = 8):
        self.features = features
        self.bins = bins
        self.high_min = high_min
        self.medium_min = medium_min

    def _check(self) -> None:
        if len(self.features) != 3:
            raise ParamError(f"segmentation.tier_features lists {len(self.features)} columns; expected recency, "
                             "frequency and monetary columns (3)")
        top = 3 * self.bins
        if not 3 <= self.medium_min <= self.high_min <= top:
            raise ParamError(f"segmentation.tier_medium_min = {self.medium_min} and tier_high_min = {self.high_min} "
                             f"are invalid; expected 3 <= medium_min <= high_min <= {top} (3 x tier_bins)")

    def _values(self, df: pd.DataFrame) -> np.ndarray:
        return np.column_stack([pd.to_numeric(df[f], errors="coerce").to_numpy(dtype=float) for f in self.features])

    def fit(self, df: pd.DataFrame, y=None):
        self._check()
        V = self._values(df)
        qs = np.arange(1, self.bins) / self.bins
        self.edges_ = np.vstack([np.nanquantile(V[:, j], qs) for j in range(3)])
        return self

    def scores(self, df: pd.DataFrame) -> np.ndarray:
        """(n, 3) integer scores 1..bins for R, F and M (missing values score 1)."""
        V = self._values(df)
        out = np.ones(V.shape, dtype=int)
        for j in range(3):
            v = V[:, j]
            above = (v[:, None] > self.edges_[j][None, :]).sum(axis=1)
            below = (v[:, None] < self.edges_[j][None, :]).sum(axis=1)
            s = 1 + (below if j == 0 else above)
            out[:, j] = np.where(np.isnan(v), 1, s)
        return out

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """r_score, f_score, m_score, rfm_score and value_tier per row."""
        s = self.scores(df)
        total = s.sum(axis=1)
        tier = np.where(total >= self.high_min, "High", np.where(total >= self.medium_min, "Medium", "Low"))
        return pd.DataFrame({"r_score": s[:, 0], "f_score": s[:, 1], "m_score": s[:, 2], "rfm_score": total,
                             "value_tier": tier}, index=df.index)


def crosstab(segments: pd.DataFrame, revenue: np.ndarray) -> pd.DataFrame:
    """Segment x value tier: households, their share of the segment, revenue and its share of all revenue.

    ``segments`` has segment, segment_name, segment_name_ko and value_tier per household
    (rows aligned with ``revenue``). Every (segment, tier) pair appears, with zeros.
    """
    df = segments[["segment", "value_tier"]].assign(revenue=np.nan_to_num(np.asarray(revenue, dtype=float)))
    names = segments.drop_duplicates("segment").set_index("segment")
    idx = pd.MultiIndex.from_product([sorted(df["segment"].unique()), list(TIERS)], names=["segment", "value_tier"])
    g = df.groupby(["segment", "value_tier"]).agg(households=("revenue", "size"), revenue=("revenue", "sum"))
    g = g.reindex(idx, fill_value=0).reset_index()
    g["households"] = g["households"].astype(int)
    seg_n = g.groupby("segment")["households"].transform("sum")
    g["share_of_segment"] = g["households"] / seg_n
    g["share_of_households"] = g["households"] / len(df)
    total = df["revenue"].sum()
    g["revenue_share"] = g["revenue"] / total if total > 0 else np.nan
    g.insert(1, "segment_name", g["segment"].map(names["segment_name"]))
    g.insert(2, "segment_name_ko", g["segment"].map(names["segment_name_ko"]))
    g.insert(4, "value_tier_ko", g["value_tier"].map(TIER_KO))
    return g
