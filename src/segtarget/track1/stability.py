"""Are the segments real? Resample households, refit the whole chain, compare.

Each resample refits *everything* that learnt from the data (imputation and scaling, NMF,
K-means; rank and k stay at their selected values) on a subset of households, and the
resulting partition of those households is compared with the full-data segments:

- global agreement: adjusted Rand index (ARI) on the resampled households, summarised by
  its mean and a percentile interval over resamples (no normal approximation: the ARI is
  bounded and skewed);
- per segment: Hennig's (2007) clusterboot Jaccard, the best Jaccard similarity between
  the segment (restricted to the resampled households) and any cluster of the refit,
  with the usual bands (< 0.6 unstable, 0.6-0.75 doubtful, 0.75-0.85 stable, > 0.85
  highly stable).

The default scheme draws ``fraction`` of the households *without* replacement
(subsetting, one of clusterboot's schemes). The original drew with replacement and
clustered the duplicates too: identical rows always share a cluster, which inflates
agreement, and the NMF factors were not refitted. ``scheme="bootstrap"`` (draw n with
replacement, fit on all draws, score each distinct household once) is available for
comparison.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from segtarget.core.errors import ParamError
from segtarget.core.progress import tracked

SCHEMES = ("subsample", "bootstrap")
STABILITY_COLUMNS = ["segment", "jaccard_mean", "jaccard_ci_low", "jaccard_ci_high", "band", "dissolved_share", "n_resamples"]


def jaccard_band(j: float) -> str:
    """Hennig's reading of a mean clusterboot Jaccard.

    >>> [jaccard_band(x) for x in (0.5, 0.7, 0.8, 0.9)]
    ['unstable', 'doubtful', 'stable', 'highly stable']
    """
    if not np.isfinite(j) or j < 0.6:
        return "unstable"
    if j < 0.75:
        return "doubtful"
    if j <= 0.85:
        return "stable"
    return "highly stable"


def best_jaccard(reference: np.ndarray, labels: np.ndarray, segments) -> np.ndarray:
    """For each reference segment, the highest Jaccard with any cluster of ``labels``.

    Both labellings are over the same households. A segment with no household in the
    resample gets NaN (it is left out of that segment's summary, as in clusterboot).

    >>> import numpy as np
    >>> best_jaccard(np.array([0, 0, 1, 1]), np.array([5, 5, 5, 7]), [0, 1]).tolist()
    [0.6666666666666666, 0.5]
    """
    out = np.full(len(segments), np.nan)
    clusters = np.unique(labels)
    for i, s in enumerate(segments):
        a = reference == s
        na = a.sum()
        if na == 0:
            continue
        best = 0.0
        for c in clusters:
            b = labels == c
            inter = np.logical_and(a, b).sum()
            if inter:
                best = max(best, inter / (na + b.sum() - inter))
        out[i] = best
    return out


def bootstrap_stability(
    X_raw: np.ndarray,
    reference: np.ndarray,
    chain,
    n_resamples: int = 100,
    fraction: float = 0.8,
    scheme: str = "subsample",
    random_state: int = 42,
) -> dict:
    """Refit ``chain`` on resampled households and compare with ``reference`` labels.

    Parameters
    ----------
    X_raw : ndarray (n, p)
        The untransformed inputs the chain starts from (NaN allowed).
    reference : ndarray (n,)
        Full-data segment of every household.
    chain : estimator
        Has a ``random_state`` parameter and, after ``fit(X)``, ``labels_`` for the fitted
        rows (e.g. :class:`segtarget.track1.segmentation.SegmentationChain`). Cloned per resample
        with seed ``random_state + b``.
    n_resamples, fraction, scheme, random_state
        See the module docstring.

    Returns
    -------
    dict with ``ari`` (n_resamples,), ``jaccard`` (n_resamples, n_segments), ``segments``
    and ``seconds`` (wall time, for the log only: never written to results).
    """
    if scheme not in SCHEMES:
        raise ParamError(f"segmentation.stability_scheme = {scheme!r} is invalid; expected one of {', '.join(SCHEMES)}")
    X_raw = np.asarray(X_raw, dtype=float)
    reference = np.asarray(reference)
    segments = np.unique(reference)
    n = len(reference)
    m = int(round(fraction * n))
    if scheme == "subsample" and not (len(segments) < m < n + 1):
        raise ParamError(f"segmentation.stability_fraction = {fraction} is invalid; it leaves {m} of {n} households")
    rng = np.random.default_rng(random_state)
    ari = np.empty(n_resamples)
    jac = np.empty((n_resamples, len(segments)))
    start = time.perf_counter()
    for b in tracked(range(n_resamples), n_resamples, f"stability: whole-chain refits on {scheme}s"):
        if scheme == "subsample":
            fit_idx = np.sort(rng.choice(n, size=m, replace=False))
            units, first = fit_idx, np.arange(m)
        else:
            fit_idx = np.sort(rng.choice(n, size=n, replace=True))
            units, first = np.unique(fit_idx, return_index=True)
        model = clone(chain).set_params(random_state=random_state + b).fit(X_raw[fit_idx])
        labels = np.asarray(model.labels_)[first]
        ari[b] = adjusted_rand_score(reference[units], labels)
        jac[b] = best_jaccard(reference[units], labels, segments)
    return {"ari": ari, "jaccard": jac, "segments": segments, "seconds": time.perf_counter() - start}


def percentile_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of resampled values (NaN ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(v, [a, 1.0 - a])
    return float(lo), float(hi)


def stability_table(result: dict, level: float = 0.95) -> pd.DataFrame:
    """Per-segment Jaccard summary: mean, percentile CI, band, share dissolved (< 0.5)."""
    rows = []
    for i, s in enumerate(result["segments"]):
        j = result["jaccard"][:, i]
        j = j[np.isfinite(j)]
        mean = float(j.mean()) if j.size else float("nan")
        lo, hi = percentile_interval(j, level)
        rows.append(
            {
                "segment": s.item() if hasattr(s, "item") else s,
                "jaccard_mean": mean,
                "jaccard_ci_low": lo,
                "jaccard_ci_high": hi,
                "band": jaccard_band(mean),
                "dissolved_share": float((j < 0.5).mean()) if j.size else float("nan"),
                "n_resamples": int(j.size),
            }
        )
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)


def ari_summary(result: dict, level: float = 0.95) -> dict:
    """Mean, SD and percentile CI of the resampled ARI."""
    a = np.asarray(result["ari"], dtype=float)
    lo, hi = percentile_interval(a, level)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if a.size > 1 else float("nan"), "ci": [lo, hi]}
