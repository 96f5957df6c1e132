"""Random streams and small numeric helpers shared by the synthetic generator's modules.

Each part of the generator draws from its own stream, :func:`_rng` (the seed plus fixed
keys); :func:`_hash_uniform` is counter-based, so a household's repertoire is the same in
every block and segment without being stored.
"""

from __future__ import annotations

import numpy as np


def _rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent random stream for one part of the generator (seed + fixed keys)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash_uniform(seed: int, *keys: np.ndarray) -> np.ndarray:
    """A uniform in [0, 1) that is a fixed function of (seed, keys): a household's repertoire.

    Counter-based, so a household's favourite products are the same in every block and
    segment without storing them.
    """
    x = _mix(np.full(np.shape(keys[0]), seed, dtype=np.uint64))
    for k in keys:
        x = _mix(x ^ np.asarray(k).astype(np.uint64))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x, dtype=float)


def _solve_alpha(z: np.ndarray, slope: float, target: float) -> float:
    """The intercept a with sum(sigmoid(a + slope * z)) = target (bisection; clipped to +-30)."""
    if len(z) == 0 or target <= 0:
        return -30.0
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if _sigmoid(mid + slope * z).sum() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _categorical(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=float))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def _round2(x):
    return np.round(x, 2) + 0.0
