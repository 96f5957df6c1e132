"""The NMF inputs: which customer features, checked, imputed, log-compressed and scaled.

Why this module exists: NMF needs a non-negative matrix on a common scale, and what goes
into it decides what the segments describe. The feature lists (the original's 19 inputs,
the heavy-tailed columns that get ``log1p``) and :class:`FeatureTransformer` (impute,
``log1p`` on heavy tails, min-max to [0, 1]) live here, apart from the factorisation in
:mod:`segtarget.track1.nmf`, so a different recipe changes this module only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import HOUSEHOLD


#: The 19 features the original fed to NMF (methodology section 2.8), the default input list.
ORIGINAL_NMF_FEATURES: tuple[str, ...] = (
    "recency",
    "days_between_purchases_avg",
    "frequency",
    "frequency_per_week",
    "purchase_regularity",
    "monetary_sales",
    "monetary_avg_basket_sales",
    "monetary_std",
    "coupon_savings_ratio",
    "discount_usage_pct",
    "private_label_ratio",
    "n_departments",
    "n_products",
    "avg_items_per_basket",
    "share_grocery",
    "share_fresh",
    "share_bakery",
    "share_health_beauty",
    "share_alcohol",
)


#: Unbounded counts, amounts and durations among the 33 features: right-skewed with long
#: tails, so ``log1p`` is applied to them (when they are NMF inputs) before min-max.
#: Shares, ratios, 0/1 flags and the bounded department count are left as they are.
HEAVY_TAILED_FEATURES: tuple[str, ...] = (
    "recency",
    "recency_weeks",
    "days_between_purchases_avg",
    "days_between_purchases_std",
    "frequency",
    "frequency_per_week",
    "frequency_per_month",
    "transaction_count",
    "weeks_with_purchase",
    "monetary_sales",
    "monetary_actual",
    "monetary_avg_basket_sales",
    "monetary_avg_basket_actual",
    "monetary_std",
    "monetary_per_week",
    "n_products",
    "avg_items_per_basket",
    "avg_products_per_basket",
)


TRANSFORMS = ("log1p_minmax", "minmax", "none")

#: Scale-free behaviour features (shares, ratios, per-basket and per-visit measures): how a
#: household shops, not how much. The default NMF inputs, so segments describe behaviour and
#: value stays a separate axis (:mod:`segtarget.track1.value_tiers`).
BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "share_grocery",
    "share_fresh",
    "share_bakery",
    "share_health_beauty",
    "share_alcohol",
    "share_other",
    "discount_usage_pct",
    "coupon_savings_ratio",
    "private_label_ratio",
    "avg_products_per_basket",
    "monetary_avg_basket_sales",
    "purchase_regularity",
    "days_between_purchases_avg",
)


IMPUTE = ("median", "zero")


def check_feature_table(df: pd.DataFrame, features, origin: str = "feature table") -> pd.DataFrame:
    """Check that ``df`` has household_id and every feature as finite, non-negative numbers.

    NaN is allowed (it is imputed later: one-basket households have no gap between visits
    and no basket spread); infinities, negative values, text, duplicate households and
    an empty table are not. Raises a one-line :class:`InputError` naming the column.
    """
    if HOUSEHOLD not in df.columns:
        raise InputError(f"{origin}: missing column {HOUSEHOLD}; expected household_id + the feature columns")
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise InputError(
            f"{origin}: missing feature column {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + "; expected the columns listed in segmentation.features"
        )
    if len(df) == 0:
        raise InputError(f"{origin}: no rows; expected one row per household")
    if df[HOUSEHOLD].duplicated().any():
        dup = df.loc[df[HOUSEHOLD].duplicated(), HOUSEHOLD].iloc[0]
        raise InputError(f"{origin}: column {HOUSEHOLD} has duplicate value {dup!r}; expected one row per household")
    for f in features:
        col = df[f]
        if not pd.api.types.is_numeric_dtype(col):
            raise InputError(f"{origin}: column {f} is not numeric (dtype {col.dtype}); expected numbers")
        values = col.to_numpy(dtype=float)
        finite = values[~np.isnan(values)]
        if np.isinf(finite).any():
            raise InputError(f"{origin}: column {f} contains infinite values; expected finite numbers or empty")
        if (finite < 0).any():
            raise InputError(
                f"{origin}: column {f} has negative value {finite[finite < 0][0]!r}; NMF inputs must be >= 0"
            )
        if finite.size == 0:
            raise InputError(f"{origin}: column {f} is empty (all missing); expected numbers")
    return df


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Impute, log1p the heavy-tailed columns, min-max scale: NMF-ready non-negative input.

    Parameters
    ----------
    method : {"log1p_minmax", "minmax", "none"}
        The ``segmentation.transform`` parameter. ``log1p_minmax`` (default) applies ``log1p`` to the columns in ``log_features``
        and then min-max scales every column to [0, 1]; ``minmax`` is the original's
        scaling; ``none`` passes the (imputed) values through.
    log_features : sequence of int
        Column positions to ``log1p`` (only used by ``log1p_minmax``).
    impute : {"median", "zero"}
        Fill value for missing entries, learnt per column at fit time. The median (the
        default) puts a one-basket household's undefined gap between visits at a typical
        value instead of at an extreme one; ``zero`` is what the original did.
    clip_quantile : float, default 0.0
        Winsorise every column at its ``clip_quantile`` and ``1 - clip_quantile``
        quantiles (learnt at fit time) before the log and the scaling. Without it one
        household with 100% of its spend in a small department stretches that column's
        min-max range so far that everybody else is squeezed near 0; 0 turns it off.

    Rows transformed after fitting (held-out rows, other resamples) can fall outside the
    fitted range; values below the fitted minimum are clipped to 0 because NMF needs
    non-negative input.

    Examples
    --------
    >>> import numpy as np
    >>> t = FeatureTransformer(log_features=[0]).fit(np.array([[0.0, 1.0], [np.nan, 3.0], [99.0, 5.0]]))
    >>> np.round(t.transform(np.array([[0.0, 1.0], [99.0, 5.0]])), 3).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """

    def __init__(self, method: str = "log1p_minmax", log_features=(), impute: str = "median", clip_quantile: float = 0.0):
        self.method = method
        self.log_features = log_features
        self.impute = impute
        self.clip_quantile = clip_quantile

    def _log(self, X: np.ndarray) -> np.ndarray:
        if self.method == "log1p_minmax" and len(self.log_features):
            X = X.copy()
            idx = list(self.log_features)
            X[:, idx] = np.log1p(np.clip(X[:, idx], 0.0, None))
        return X

    def fit(self, X, y=None):
        if self.method not in TRANSFORMS:
            raise ParamError(f"segmentation.transform = {self.method!r} is invalid; expected one of {', '.join(TRANSFORMS)}")
        if self.impute not in IMPUTE:
            raise ParamError(f"segmentation.impute = {self.impute!r} is invalid; expected one of {', '.join(IMPUTE)}")
        X = np.asarray(X, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fill = np.nanmedian(X, axis=0) if self.impute == "median" else np.zeros(X.shape[1])
        self.fill_ = np.where(np.isnan(fill), 0.0, fill)
        if not 0.0 <= self.clip_quantile < 0.5:
            raise ParamError(f"segmentation.clip_quantile = {self.clip_quantile} is invalid; expected 0 <= value < 0.5")
        filled = self._impute(X)
        if self.clip_quantile > 0:
            self.clip_low_, self.clip_high_ = np.quantile(filled, [self.clip_quantile, 1 - self.clip_quantile], axis=0)
        else:
            self.clip_low_, self.clip_high_ = np.full(X.shape[1], -np.inf), np.full(X.shape[1], np.inf)
        Z = self._log(self._clip(filled))
        self.min_ = Z.min(axis=0)
        rng = Z.max(axis=0) - self.min_
        self.scale_ = np.where(rng > 0, rng, 1.0)
        self.n_features_in_ = X.shape[1]
        return self

    def _impute(self, X: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(X), self.fill_, X)

    def _clip(self, X: np.ndarray) -> np.ndarray:
        return np.clip(X, self.clip_low_, self.clip_high_)

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        Z = self._log(self._clip(self._impute(X)))
        if self.method == "none":
            return np.clip(Z, 0.0, None)
        return np.clip((Z - self.min_) / self.scale_, 0.0, None)
