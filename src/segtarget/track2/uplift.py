"""Ranking curves of a CATE model, scored with doubly-robust pseudo-outcomes (Track 2).

A CATE model is used to *rank*: treat the units it predicts to gain most. Whether the
ranking is any good is measured with each unit's doubly-robust (AIPW) score ``d`` (see
:func:`segtarget.track2.evaluation.dr_scores`), an unbiased but noisy stand-in for its own
effect, never with raw treated-minus-control means (which are confounded by the
propensity in an observational cohort). With ``n`` units and ``ATE = mean(d)``:

===========  ==========================================================================
gain         ``G(q) = (1/n) * sum of d over the top q*n units``: incremental outcome per
             cohort unit when only the top fraction q is treated; random: ``q * ATE``
qini         ``Q(q) = G(q) - q * ATE``: gain over random targeting
toc          ``TOC(q) = G(q) / q - ATE``: mean d among the top q minus the ATE (Yadlowsky
             et al. 2021); at q = 0 its limit, the top tie group's mean d minus the ATE
auuc         ``integral of G over q in [0, 1]``; random targeting gives ``ATE / 2``
qini_area    ``integral of Q = auuc - ATE / 2``; since ``q * TOC(q) = Q(q)`` it is also
             the Qini-weighted RATE, ``integral of q * TOC(q)``
rate         ``integral of TOC``: the AUTOC-weighted RATE (weights the top more)
===========  ==========================================================================

Normalisations divide by the *oracle*: the same quantity when units are ranked by ``d``
itself, the best ranking this noisy yardstick can reward (its Qini curve is >= 0):

* ``auuc_normalized = (auuc - ATE/2) / (auuc_oracle - ATE/2) = qini_area / qini_area_oracle``
* ``qini_normalized = integral(q TOC) / integral(q TOC_oracle)``, the Qini-weighted RATE
  ratio. By the identity above it *equals* ``auuc_normalized``; both names are kept so
  that tables read either way, and the distinct AUTOC analogue is
* ``autoc_normalized = rate / rate_oracle``.

Because the oracle profits from the noise in ``d``, these are small even for the true
CATE (typically 0.05-0.3); they compare models on one cohort, not across cohorts.

Ties are averaged: units with equal predictions form a tie group, and a fraction q that
cuts a group takes, for the cut part, the group's mean d. The curves therefore do not
depend on the input order, and a constant prediction is exactly the random line.

Exact areas: G is piecewise linear in q with knots at the tie-group boundaries (every
unit, without ties), so the areas are exact integrals of that function, not sums on the
output grid: the trapezoid rule is exact for G and Q, and each linear piece of G / q
integrates in closed form to ``G_b - G_a + c log(q_b / q_a)`` with
``c = (G_a q_b - G_b q_a) / (q_b - q_a)``. The ``fractions`` grid only chooses the rows
of the output tables. (grf's RATE sums TOC at unit steps instead; the two differ by
O(log(n) / n).)

Weights: the engine takes a weight per unit and per row. A cluster-bootstrap replicate is
the same ranking with each unit weighted by its multiplicity in the resample, so a
ranking is sorted once and each replicate costs one weighted cumulative sum.

Examples
--------
>>> import numpy as np
>>> d = np.array([3.0, -1.0, 2.0, 0.0])
>>> uplift_curves([0.9, 0.1, 0.5, 0.2], d, fractions=[0, 0.5, 1]).round(3).to_dict("list")
{'fraction': [0.0, 0.5, 1.0], 'gain': [0.0, 1.25, 1.0], 'qini': [0.0, 0.75, 0.0], 'toc': [2.0, 1.5, 0.0]}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError

#: The public API; the other functions are the engine shared with :mod:`segtarget.track2.evaluation`.
__all__ = ["FRACTIONS", "uplift_areas", "uplift_at_k", "uplift_curves"]

#: Bootstrap rows x units handled at once (bounds the memory of the weighted cumulative sums).
_CHUNK_CELLS = 2_000_000

#: Default output grid of the curve tables: 0, 1%, ..., 100% of the units targeted.
FRACTIONS = np.linspace(0.0, 1.0, 101)


def as_vector(x, name: str, n: int | None = None) -> np.ndarray:
    """``x`` as a finite 1-D float array (of length ``n`` if given), else a one-line InputError."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected numbers") from None
    if a.ndim != 1:
        raise InputError(f"{name}: {a.ndim}-dimensional; expected one value per unit")
    if n is not None and a.size != n:
        raise InputError(f"{name}: length {a.size}; expected {n}, one value per unit")
    if a.size == 0:
        raise InputError(f"{name}: empty; expected one value per unit")
    bad = int(np.sum(~np.isfinite(a)))
    if bad:
        raise InputError(f"{name}: {bad} non-finite values (NaN or inf); expected finite numbers")
    return a


def as_fractions(x, name: str, low_open: bool = False) -> np.ndarray:
    """Fractions of the units in [0, 1] (in (0, 1] with ``low_open``), else a one-line ParamError."""
    a = np.atleast_1d(np.asarray(x, dtype=float))
    if a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
        raise ParamError(f"{name}: expected a list of fractions")
    too_low = (a <= 0) if low_open else (a < 0)
    if (a > 1).any() or too_low.any():
        raise ParamError(f"{name}: {a.tolist()}; expected fractions in {'(0' if low_open else '[0'}, 1]")
    return a


class Ranking:
    """A fixed ordering (highest score first) with its tie groups, reused across weightings."""

    def __init__(self, score: np.ndarray):
        self.order = np.argsort(-score, kind="stable")
        s = score[self.order]
        self.ends = np.flatnonzero(np.append(s[1:] != s[:-1], True)) + 1  # exclusive group ends

    def knots(self, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Knots (q, G) of the gain curve for each row of weights ``w`` (rows x units).

        q runs from 0 to exactly 1 and G from 0 to the weighted ATE, one knot per tie group.
        """
        wo = w[:, self.order]
        cw = np.cumsum(wo, axis=1)[:, self.ends - 1]
        cs = np.cumsum(wo * d[self.order], axis=1)[:, self.ends - 1]
        total = cw[:, -1:]
        zero = np.zeros((w.shape[0], 1))
        return np.hstack([zero, cw / total]), np.hstack([zero, cs / total])


def areas(q: np.ndarray, G: np.ndarray) -> dict[str, np.ndarray]:
    """Exact ``ate``, ``auuc``, ``qini_area`` and ``rate`` (AUTOC) of piecewise-linear gain curves."""
    ate = G[:, -1]
    qa, qb, Ga, Gb = q[:, :-1], q[:, 1:], G[:, :-1], G[:, 1:]
    dq = qb - qa
    auuc = np.sum(0.5 * (Ga + Gb) * dq, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(dq > 0, (Ga * qb - Gb * qa) / dq, 0.0)
        log = np.where((qa > 0) & (dq > 0), np.log1p(dq / qa), 0.0)
    rate = np.sum(Gb - Ga + c * log, axis=1) - ate
    return {"ate": ate, "auuc": auuc, "qini_area": auuc - ate / 2, "rate": rate}


def gain_at(q: np.ndarray, G: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """G at ``fractions`` for each row (linear between knots: the tie-averaging rule)."""
    return np.vstack([np.interp(fractions, qr, Gr) for qr, Gr in zip(q, G)])


def toc_at(q: np.ndarray, G: np.ndarray, gain: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """TOC from the gain at ``fractions``; at q = 0 the limit (slope of the first non-empty piece)."""
    rows = np.arange(q.shape[0])
    first = np.argmax(q > 0, axis=1)
    limit = G[rows, first] / q[rows, first]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_top = np.where(fractions > 0, gain / np.where(fractions > 0, fractions, 1.0), limit[:, None])
    return mean_top - G[:, -1:]


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where the oracle's area is not positive (all DR scores equal)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def score_rows(ranking: Ranking, d: np.ndarray, grid: np.ndarray | None, cluster_counts=None,
               codes=None) -> dict[str, np.ndarray]:
    """Areas (and gain / TOC at ``grid``) on the full sample, or per bootstrap replicate.

    ``cluster_counts`` (replicates x clusters) gives how often each cluster is drawn in each
    replicate and ``codes`` each unit's cluster: a unit's weight is its cluster's count.
    Replicates are handled in chunks of rows to bound memory.
    """
    if cluster_counts is None:
        cluster_counts, codes = np.ones((1, 1)), np.zeros(d.size, dtype=int)
    step = max(1, _CHUNK_CELLS // d.size)
    parts = []
    for lo in range(0, cluster_counts.shape[0], step):
        q, G = ranking.knots(d, cluster_counts[lo:lo + step][:, codes].astype(float))
        part = areas(q, G)
        if grid is not None:
            part["gain"] = gain_at(q, G, grid)
            part["toc"] = toc_at(q, G, part["gain"], grid)
        parts.append(part)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _inputs(tau_hat, dr) -> tuple[np.ndarray, np.ndarray]:
    d = as_vector(dr, "dr")
    return as_vector(tau_hat, "tau_hat", d.size), d


def uplift_curves(tau_hat, dr, fractions=None) -> pd.DataFrame:
    """Gain, Qini and TOC curves of the ranking by ``tau_hat``, at ``fractions`` of the units.

    Parameters
    ----------
    tau_hat : predicted effect per unit (only its order and ties matter).
    dr : doubly-robust score per unit (:func:`segtarget.track2.evaluation.dr_scores`).
    fractions : shares of units targeted, in [0, 1]; default :data:`FRACTIONS`.

    Returns
    -------
    DataFrame with columns fraction, gain, qini, toc (definitions in the module docstring).

    Examples
    --------
    A constant prediction is the random line: no Qini gain, a flat TOC.

    >>> c = uplift_curves([1.0, 1.0, 1.0], [3.0, 0.0, 0.0], fractions=[0.5, 1])
    >>> c["qini"].tolist(), c["toc"].tolist()
    ([0.0, 0.0], [0.0, 0.0])
    """
    tau, d = _inputs(tau_hat, dr)
    f = FRACTIONS if fractions is None else as_fractions(fractions, "fractions")
    q, G = Ranking(tau).knots(d, np.ones((1, d.size)))
    gain = gain_at(q, G, f)
    return pd.DataFrame({"fraction": f, "gain": gain[0], "qini": (gain - f * G[:, -1:])[0],
                         "toc": toc_at(q, G, gain, f)[0]})


def uplift_areas(tau_hat, dr) -> dict[str, float]:
    """Areas under the ranking curves of ``tau_hat``, the oracle's, and their normalised ratios.

    Returns
    -------
    dict with ate, auuc, auuc_random (= ATE/2), qini_area, rate (AUTOC) for the model, the same
    with suffix ``_oracle`` for the ranking by ``dr``, and auuc_normalized, qini_normalized,
    autoc_normalized (module docstring).

    Examples
    --------
    The oracle ranks by d itself; this ranking swaps the oracle's 2nd and 3rd units.

    >>> a = uplift_areas([0.9, 0.1, 0.2, 0.5], [3.0, -1.0, 2.0, 0.0])
    >>> a["qini_area"], a["qini_area_oracle"], round(a["auuc_normalized"], 3), round(a["autoc_normalized"], 3)
    (0.3125, 0.4375, 0.714, 0.792)
    """
    tau, d = _inputs(tau_hat, dr)
    w = np.ones((1, d.size))
    model, oracle = areas(*Ranking(tau).knots(d, w)), areas(*Ranking(d).knots(d, w))
    out = {"ate": model["ate"], "auuc": model["auuc"], "auuc_random": model["ate"] / 2,
           "qini_area": model["qini_area"], "rate": model["rate"]}
    out.update({f"{k}_oracle": oracle[k] for k in ("auuc", "qini_area", "rate")})
    out["auuc_normalized"] = ratio(model["qini_area"], oracle["qini_area"])
    out["qini_normalized"] = out["auuc_normalized"]
    out["autoc_normalized"] = ratio(model["rate"], oracle["rate"])
    return {k: float(v[0]) for k, v in out.items()}


def uplift_at_k(tau_hat, dr, k: float) -> tuple[float, float]:
    """Mean DR score among the top ``k`` fraction (ties averaged) and its excess over the ATE.

    The first number is the expected effect per treated unit when only the top k are
    treated; the second, ``TOC(k)``, is what the ranking adds over treating k at random.

    Examples
    --------
    >>> uplift_at_k([0.9, 0.1, 0.5, 0.2], [3.0, -1.0, 2.0, 0.0], 0.25)
    (3.0, 2.0)
    """
    tau, d = _inputs(tau_hat, dr)
    kk = as_fractions(k, "k", low_open=True)
    if kk.size != 1:
        raise ParamError(f"k: {kk.tolist()}; expected one fraction in (0, 1]")
    q, G = Ranking(tau).knots(d, np.ones((1, d.size)))
    mean_top = float(gain_at(q, G, kk)[0, 0] / kk[0])
    return mean_top, mean_top - float(G[0, -1])
