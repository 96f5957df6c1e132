"""Positivity and balance: overlap, trimming, weights and balance on the cross-fitted scores.

Why this module exists: every weighting or doubly-robust estimate of a campaign's effect
divides by the propensity score e(x), so it is only as stable as the extremes of e(x) allow.
Given the out-of-fold scores of :mod:`segtarget.track2.propensity`, this module measures
the overlap and its consequences with the usual diagnostics: overlap shares in fixed bands,
the Crump, Hotz, Imbens & Mitnik (2009) optimal trimming threshold (:func:`crump_alpha`),
inverse-probability and overlap weights with their effective sample sizes, and standardised
mean differences before and after weighting (:func:`balance_table`). Clipping of the
inverse-probability weights is an explicit parameter (``clip``), off by default, and the
number of clipped units is reported, never silent.

:func:`run_positivity` is the stage: it fits the propensity candidates and assembles the
tables, so that the script only reads and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2 import propensity as P
from segtarget.track2.design import as_matrix, as_propensity, as_treatment, check_cohort, group_codes
from segtarget.track2.propensity import classification_scores, expected_calibration_error

#: Overlap bands reported by default: [0.05, 0.95] and [0.1, 0.9] (inclusive).
DEFAULT_BANDS = ((0.05, 0.95), (0.1, 0.9))

#: |SMD| below this counts as balanced (Austin 2009; the original used the same bar).
SMD_THRESHOLD = 0.1


CRUMP_RULES = ("exact", "rule_of_thumb")


def overlap_share(e, low: float = 0.1, high: float = 0.9) -> float:
    """Share of units whose propensity lies in the closed band [low, high].

    Examples
    --------
    >>> overlap_share([0.05, 0.1, 0.5, 0.9, 0.95], 0.1, 0.9)
    0.6
    """
    e = np.asarray(e, dtype="float64")
    return float(np.mean((e >= low) & (e <= high)))


def trim_mask(e, low: float, high: float) -> np.ndarray:
    """Boolean mask of units kept by trimming to the closed band [low, high]."""
    e = np.asarray(e, dtype="float64")
    return (e >= low) & (e <= high)


def _crump_gamma(e) -> float:
    """The Crump et al. bound gamma on g = 1/(e(1-e)); ``inf`` means keep everyone."""
    e = as_propensity(e)
    g = 1.0 / (e * (1.0 - e))
    if g.max() <= 2.0 * g.mean():
        return float("inf")
    # Sample analogue of F(gamma) = gamma - 2 E[g | g <= gamma]. Between consecutive distinct
    # values of g the kept set is fixed (the k smallest, ties kept together), so on that
    # interval the only candidate root is gamma = 2 * mean(k smallest), valid if it lies in
    # [g_(k), next distinct g). F starts negative and ends positive (the sup condition
    # failed), and it only jumps downwards, so at least one root exists. When several do,
    # take the one minimising the asymptotic-variance criterion sum_kept(g) / n_kept^2, of
    # which the condition is the first-order condition (Crump et al. 2009, Theorem 1).
    gs = np.sort(g)
    csum = np.cumsum(gs)
    last = np.r_[gs[1:] != gs[:-1], True]  # last index of each run of tied values
    ks = np.flatnonzero(last) + 1  # sizes of the candidate kept sets
    nxt = np.r_[gs[ks[:-1]], np.inf]  # next distinct value after each kept set
    cand = 2.0 * csum[ks - 1] / ks
    ok = (cand >= gs[ks - 1]) & (cand < nxt)
    if not ok.any():  # cannot happen by the argument above; guards float edge cases
        raise InputError("propensity: no solution of the Crump et al. trimming condition found")
    crit = csum[ks - 1] / ks.astype("float64") ** 2
    i = np.flatnonzero(ok)[np.argmin(crit[ok])]
    return float(cand[i])


def crump_alpha(e, rule: str = "exact") -> float:
    """Crump, Hotz, Imbens & Mitnik (2009) optimal trimming threshold alpha.

    Keep units with alpha <= e <= 1 - alpha. With g = 1/(e(1-e)): if max g <= 2 E[g]
    (sample mean), alpha = 0 (no trimming); otherwise alpha solves
    ``1/(alpha(1-alpha)) = 2 E[g | g <= 1/(alpha(1-alpha))]`` with the sample mean over the
    kept units. Because g >= 4, no trimming is guaranteed whenever every e(1-e) >= 1/8, i.e.
    every score lies in [0.1464, 0.8536]; and when trimming happens alpha <= 0.1464.
    ``rule="rule_of_thumb"`` returns the paper's approximation alpha = 0.1 instead.

    Examples
    --------
    >>> crump_alpha([0.2, 0.5, 0.8])
    0.0
    >>> round(crump_alpha([0.5] * 90 + [0.01] * 10), 6)  # 1/(a(1-a)) = 2 * 4 = 8
    0.146447
    """
    if rule == "rule_of_thumb":
        as_propensity(e)
        return 0.1
    if rule != "exact":
        raise ParamError(f"crump_rule = {rule!r} is invalid; expected one of {', '.join(CRUMP_RULES)}")
    gamma = _crump_gamma(e)
    if np.isinf(gamma):
        return 0.0
    return float(0.5 - np.sqrt(0.25 - 1.0 / gamma))


def ipw_weights(t, e, clip: float | None = None, normalize: bool = True) -> np.ndarray:
    """ATE inverse-probability weights t/e + (1-t)/(1-e), optionally normalised per arm.

    ``clip`` (e.g. 0.01) bounds e to [clip, 1-clip] before inverting; it is off by default
    and every caller that uses it reports how many units it touched (:func:`n_clipped`).
    Normalised (Hajek) weights sum to 1 within each arm.
    """
    t = np.asarray(t)
    e = _clip(np.asarray(e, dtype="float64"), clip)
    w = np.where(t == 1, 1.0 / e, 1.0 / (1.0 - e))
    return _normalize(w, t) if normalize else w


def overlap_weights(t, e, normalize: bool = True) -> np.ndarray:
    """Overlap (ATO) weights of Li, Morgan & Zaslavsky (2018): 1-e for treated, e for controls.

    They are bounded, so no clipping is ever needed; they target the population with most
    overlap (weight e(1-e)).
    """
    t = np.asarray(t)
    e = np.asarray(e, dtype="float64")
    w = np.where(t == 1, 1.0 - e, e)
    return _normalize(w, t) if normalize else w


def _clip(e: np.ndarray, clip: float | None) -> np.ndarray:
    if clip is None or clip == 0:
        return e
    if not 0 < clip < 0.5:
        raise ParamError(f"ipw_clip = {clip!r} is invalid; expected 0 (off) or a number in (0, 0.5)")
    return np.clip(e, clip, 1.0 - clip)


def n_clipped(e, clip: float | None) -> int:
    """Number of units whose propensity ``clip`` changes."""
    if clip is None or clip == 0:
        return 0
    e = np.asarray(e, dtype="float64")
    return int(((e < clip) | (e > 1.0 - clip)).sum())


def _normalize(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = np.empty_like(w)
    for arm in (0, 1):
        m = t == arm
        out[m] = w[m] / w[m].sum()
    return out


def effective_sample_size(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: how many equally weighted units the
    weights are worth."""
    w = np.asarray(w, dtype="float64")
    return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0


def smd(x, t, w=None) -> float:
    """Standardised mean difference of one covariate, treated minus control.

    The numerator uses the (optionally weighted) arm means; the denominator is always the
    *unweighted* pooled SD sqrt((s1^2 + s0^2)/2) (sample variances), so that weighting can
    only change the SMD through the means and the before/after numbers are comparable (the
    convention of cobalt and of Austin & Stuart 2015). A covariate constant in both arms has
    SMD 0 when the means agree and +-inf otherwise.

    Examples
    --------
    >>> round(smd([1., 2., 3., 4.], [1, 1, 0, 0]), 4)
    -2.8284
    """
    x = np.asarray(x, dtype="float64")
    t = np.asarray(t)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype="float64")
    m1, m0 = t == 1, t == 0
    diff = np.average(x[m1], weights=w[m1]) - np.average(x[m0], weights=w[m0])
    v1 = x[m1].var(ddof=1) if m1.sum() > 1 else 0.0
    v0 = x[m0].var(ddof=1) if m0.sum() > 1 else 0.0
    sd = np.sqrt((v1 + v0) / 2.0)
    if sd == 0:
        return 0.0 if np.isclose(diff, 0.0) else float(np.sign(diff) * np.inf)
    return float(diff / sd)


def balance_table(X, t, e, covariates: Sequence[str] | None = None, clip: float | None = None) -> pd.DataFrame:
    """Covariate balance before and after weighting, one row per covariate (input order).

    Columns: covariate, smd_unweighted, smd_weighted (ATE inverse-probability weights,
    normalised per arm, optionally clipped), smd_overlap (overlap weights e(1-e)),
    mean_treated, mean_control (unweighted), variance_ratio (treated/control, unweighted).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1., 2., 3., 4.]}); t = [1, 0, 1, 0]
    >>> balance_table(X, t, [0.5] * 4)[["covariate", "smd_unweighted", "smd_weighted"]].round(3).values.tolist()
    [['a', -0.707, -0.707]]
    """
    if covariates is None:
        covariates = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{j}" for j in range(np.shape(X)[1])]
    M = as_matrix(X)
    t = as_treatment(t)
    e = as_propensity(e, len(t))
    if M.shape[1] != len(covariates):
        raise InputError(f"covariates: {M.shape[1]} columns but {len(covariates)} names")
    w_ipw = ipw_weights(t, e, clip=clip)
    w_ato = overlap_weights(t, e)
    rows = []
    for j, name in enumerate(covariates):
        x = M[:, j]
        v0 = x[t == 0].var(ddof=1)
        rows.append(
            {
                "covariate": name,
                "smd_unweighted": smd(x, t),
                "smd_weighted": smd(x, t, w_ipw),
                "smd_overlap": smd(x, t, w_ato),
                "mean_treated": float(x[t == 1].mean()),
                "mean_control": float(x[t == 0].mean()),
                "variance_ratio": float(x[t == 1].var(ddof=1) / v0) if v0 > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _band_label(low: float, high: float) -> str:
    return f"{low:g}_{high:g}"


def positivity_table(
    t,
    e,
    *,
    groups=None,
    scores: pd.DataFrame | None = None,
    balance: pd.DataFrame | None = None,
    bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    crump_rule: str = "exact",
    clip: float | None = None,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Positivity diagnostics as a long (metric, value) table with a fixed row order.

    Parameters
    ----------
    t, e : treatment and (out-of-fold) propensity of each unit.
    groups : optional household of each unit (adds n_clusters).
    scores : optional :attr:`CrossFittedPropensity.scores_` (adds auc_<model>, brier_<model>,
        log_loss_<model>, selected_<model> for every candidate).
    balance : optional :func:`balance_table` (adds counts of |SMD| >= 0.1 and max |SMD|).
    bands : overlap bands [low, high], inclusive (metric names carry the bounds, e.g.
        ``overlap_share_0.1_0.9``).
    crump_rule : ``exact`` or ``rule_of_thumb`` (see :func:`crump_alpha`).
    clip : the IPW clipping level in force (0/None = none), reported with the units it touches.
    """
    t = as_treatment(t)
    e = as_propensity(e, len(t))
    rows: list[tuple[str, float]] = []
    add = lambda k, v: rows.append((k, float(v)))  # noqa: E731
    add("n_units", len(t))
    add("n_treated", int(t.sum()))
    add("n_control", int((1 - t).sum()))
    if groups is not None:
        add("n_clusters", int(group_codes(groups, len(t)).max()) + 1)
    add("treated_share", t.mean())
    if scores is not None:
        for r in scores.itertuples(index=False):
            add(f"auc_{r.model}", r.auc)
            add(f"brier_{r.model}", r.brier)
            add(f"log_loss_{r.model}", r.log_loss)
            add(f"selected_{r.model}", r.selected)
    for k, v in classification_scores(t, e).items():
        add(k, v)
    add("calibration_ece", expected_calibration_error(t, e, n_bins))
    add("ps_mean", e.mean())
    for arm, label in ((1, "treated"), (0, "control")):
        add(f"ps_min_{label}", e[t == arm].min())
        add(f"ps_max_{label}", e[t == arm].max())
    for low, high in bands:
        lab = _band_label(low, high)
        m = trim_mask(e, low, high)
        add(f"overlap_share_{lab}", m.mean())
        add(f"overlap_n_{lab}", m.sum())
        add(f"overlap_n_treated_{lab}", (m & (t == 1)).sum())
        add(f"overlap_n_control_{lab}", (m & (t == 0)).sum())
        add(f"n_ps_below_{low:g}", (e < low).sum())
        add(f"n_ps_above_{high:g}", (e > high).sum())
    alpha = crump_alpha(e, crump_rule)
    keep = trim_mask(e, alpha, 1 - alpha)
    add("crump_alpha", alpha)
    add("crump_n_kept", keep.sum())
    add("crump_share_kept", keep.mean())
    add("crump_n_treated_kept", (keep & (t == 1)).sum())
    add("crump_n_control_kept", (keep & (t == 0)).sum())
    w_ipw = ipw_weights(t, e, clip=clip, normalize=False)
    w_ato = overlap_weights(t, e, normalize=False)
    for arm, label in ((1, "treated"), (0, "control")):
        add(f"ess_ipw_{label}", effective_sample_size(w_ipw[t == arm]))
        add(f"ess_overlap_{label}", effective_sample_size(w_ato[t == arm]))
        add(f"ipw_max_weight_share_{label}", w_ipw[t == arm].max() / w_ipw[t == arm].sum())
    add("ipw_clip", 0.0 if clip is None else clip)
    add("ipw_n_clipped", n_clipped(e, clip))
    if balance is not None:
        for col, label in (("smd_unweighted", "unweighted"), ("smd_weighted", "ipw"), ("smd_overlap", "overlap")):
            if col in balance:
                a = balance[col].abs()
                add(f"n_imbalanced_{label}", (a >= SMD_THRESHOLD).sum())
                add(f"max_abs_smd_{label}", a.max())
    return pd.DataFrame(rows, columns=["metric", "value"])



@dataclass
class PositivityResult:
    scores: pd.DataFrame       # one row per unit: keys, treated, propensity (selected + each model), bands
    positivity: pd.DataFrame   # metric, value
    balance: pd.DataFrame      # covariate, smd_unweighted, smd_weighted, smd_overlap, ...
    models: pd.DataFrame       # model, auc, brier, log_loss, selected
    calibration: pd.DataFrame  # binned calibration curve of the selected model
    metrics: dict              # the stage's part of the track2 metrics block


def run_positivity(df: pd.DataFrame, section: dict, origin: str = "cohort.csv") -> PositivityResult:
    covs = check_cohort(df, origin)
    X, t, g = df[covs].to_numpy(float), df["treated"].to_numpy(int), df[HOUSEHOLD].to_numpy()
    ps = P.CrossFittedPropensity(models=section["models"], n_splits=section["n_splits"], seed=section["seed"],
                                 C=section["logit_C"]).fit(X, t, groups=g)
    e = ps.propensity_
    clip = section["ipw_clip"] or None
    balance = balance_table(X, t, e, covariates=covs, clip=clip)
    pos = positivity_table(t, e, groups=g, scores=ps.scores_, balance=balance,
                             crump_rule=section["crump_rule"], clip=clip)
    alpha = crump_alpha(e, section["crump_rule"])
    scores = df[[HOUSEHOLD, CAMPAIGN, "treated"]].copy()
    scores["propensity"] = e
    for m, v in ps.oof_.items():
        scores[f"propensity_{m}"] = v
    scores["in_overlap"] = trim_mask(e, 0.1, 0.9).astype(int)
    scores["in_crump"] = trim_mask(e, alpha, 1 - alpha).astype(int)
    sel = ps.scores_.loc[ps.scores_.selected == 1].iloc[0]
    metrics = {
        "n_treated": int(t.sum()),
        "n_control": int((1 - t).sum()),
        "n_households": int(pd.Series(g).nunique()),
        "ps_model": ps.selected_,
        "ps_auc": float(sel["auc"]),
        "overlap_share_10_90": float(overlap_share(e, 0.1, 0.9)),
        "overlap_share_05_95": float(overlap_share(e, 0.05, 0.95)),
        "crump_threshold": float(alpha),
        "max_abs_smd_unweighted": float(np.nanmax(balance["smd_unweighted"].abs())),
        "max_abs_smd_weighted": float(np.nanmax(balance["smd_weighted"].abs())),
        "max_abs_smd_overlap": float(np.nanmax(balance["smd_overlap"].abs())),
    }
    return PositivityResult(scores, pos, balance, ps.scores_, P.calibration_table(t, e), metrics)
