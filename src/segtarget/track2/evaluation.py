"""Evaluation and choice of a CATE model (Track 2): does any model rank units better than a constant?

Every candidate's out-of-fold predictions ``tau_hat`` are scored on the same units with the
same cross-fitted nuisances (mu0, mu1, m = E[y | x], e = propensity), so that the choice
rests on held-out evidence only:

* held-out R-loss (Nie and Wager 2021) next to that of the best constant effect;
* ranking curves built from doubly-robust (AIPW) scores, not raw treated-minus-control
  means: gain, Qini and TOC curves, AUUC, Qini area, RATE and uplift@k
  (:mod:`segtarget.track2.uplift`, which defines them);
* the Best Linear Predictor calibration test (Chernozhukov, Demirer, Duflo and
  Fernandez-Val) and GATES-like calibration groups, with household-clustered SEs.

Normalisations (the oracle ranks units by their DR scores, the best ranking this noisy
yardstick can reward; ``ATE = mean(dr)``; all areas over the targeted fraction q in [0, 1]):

* ``auuc_normalized = (AUUC - ATE/2) / (AUUC_oracle - ATE/2) = qini_area / qini_area_oracle``
* ``qini_normalized = integral(q TOC(q)) / integral(q TOC_oracle(q))``: the Qini-weighted
  RATE ratio, which equals ``auuc_normalized`` because q TOC(q) is the Qini curve;
* ``autoc_normalized = RATE / RATE_oracle`` with RATE the integral of TOC (AUTOC weights):
  the distinct normalisation, weighting the top of the ranking more.

Intervals: a cluster (household) bootstrap. Households are resampled with replacement and
bring all their units; predictions and DR scores stay fixed (no refit), so the intervals
carry the sampling of households given the fitted models. All resamples are drawn up front
from one ``np.random.default_rng(seed)`` over the households sorted by label, so results
are deterministic and the same for any ``n_jobs`` and any order of the input units. Each
replicate recomputes the ATE, the curves, the areas and the oracle normalisation on the
resampled units; intervals are percentile intervals of the replicates. The RATE p-value is
the two-sided normal approximation ``2 * (1 - Phi(|RATE| / bootstrap SE))``.

Model choice follows a rule fixed in params.yaml (``cate.selection_rule``) before the
policy is looked at; the rules are :data:`SELECTION_RULES`.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> n = 600
>>> x = rng.normal(size=n)
>>> t = rng.integers(0, 2, n)
>>> tau = 1 + x
>>> y = x + t * tau + rng.normal(size=n)
>>> e, mu0, m = np.full(n, 0.5), x, x + 0.5 * tau
>>> dr = dr_scores(y, t, mu0, mu0 + tau, e)
>>> table, curves = evaluate_models(y, t, m, e, dr, {"truth": tau, "noise": rng.normal(size=n)},
...                                 clusters=np.arange(n) // 2, n_boot=50, seed=1)
>>> table["model"].tolist()
['truth', 'noise', 'constant']
>>> select_model(table)[0]
'truth'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import norm
from statsmodels.regression.linear_model import OLS

from segtarget.core.errors import InputError, ParamError
from segtarget.track2.uplift import FRACTIONS, Ranking, as_fractions, as_vector, ratio, score_rows

__all__ = ["CONSTANT", "DEFAULT_KS", "SELECTION_RULES", "blp_test", "calibration_groups", "cluster_bootstrap_indices",
           "constant_tau", "dr_scores", "evaluate_model", "evaluate_models", "r_loss", "select_model"]

#: Model-choice rules (``cate.selection_rule``), each stated in plain English.
SELECTION_RULES = {
    "rate_blp_rloss": "among the non-constant models whose RATE (AUTOC) confidence interval lies above 0 and "
                      "whose BLP calibration slope is positive, the one with the lowest held-out R-loss; the "
                      "constant effect if no model qualifies",
    "min_rloss": "the lowest held-out R-loss, the constant effect included",
    "constant": "always the constant effect: no targeting on predicted heterogeneity",
}

#: Name of the built-in constant-effect candidate.
CONSTANT = "constant"

#: Default fractions for uplift@k.
DEFAULT_KS = (0.1, 0.2, 0.3, 0.5)


def _treatment(t, n: int) -> np.ndarray:
    a = as_vector(t, "t", n)
    if not np.isin(a, (0.0, 1.0)).all():
        raise InputError("t: values other than 0 and 1; expected a binary treatment")
    return a


def _propensity(e, n: int, strict: bool = True) -> np.ndarray:
    a = as_vector(e, "e", n)
    bad = int(np.sum((a <= 0) | (a >= 1))) if strict else int(np.sum((a < 0) | (a > 1)))
    if bad:
        where = "(0, 1)" if strict else "[0, 1]"
        raise InputError(f"e: {bad} values outside {where}; expected propensity scores strictly between 0 and 1")
    return a


def _clusters(clusters, n: int) -> tuple[np.ndarray, int]:
    """Cluster code per unit (households sorted by label) and the number of clusters."""
    a = np.asarray(clusters)
    if a.ndim != 1 or a.size != n:
        raise InputError(f"clusters: shape {a.shape}; expected one household label per unit ({n})")
    if pd.isna(a).any():
        raise InputError("clusters: missing labels; expected a household label for every unit")
    labels, codes = np.unique(a, return_inverse=True)
    return codes.ravel(), labels.size


def dr_scores(y, t, mu0, mu1, e, clip: float | None = None) -> np.ndarray:
    """Doubly-robust (AIPW) score per unit: an unbiased, noisy stand-in for its own effect.

    ``mu1 - mu0 + t (y - mu1) / e - (1 - t) (y - mu0) / (1 - e)``: the outcome models'
    difference, corrected by the inverse-propensity-weighted residual of the arm observed.
    Its mean is the AIPW ATE, and its mean over any set of units chosen without looking at
    their outcomes estimates that set's effect, which is why rankings are scored with it.

    Parameters
    ----------
    y, t : outcome and 0/1 treatment per unit.
    mu0, mu1 : cross-fitted E[y | x, t=0] and E[y | x, t=1].
    e : cross-fitted propensity, in (0, 1) (in [0, 1] when ``clip`` is given).
    clip : if given, e is clipped to [clip, 1 - clip] first (bounds the weights).

    Examples
    --------
    >>> dr_scores([3.0, 0.0], [1, 0], [1.0, 1.0], [2.0, 2.0], [0.5, 0.75])
    array([3., 5.])
    """
    y = as_vector(y, "y")
    n = y.size
    t = _treatment(t, n)
    mu0, mu1 = as_vector(mu0, "mu0", n), as_vector(mu1, "mu1", n)
    if clip is None:
        e = _propensity(e, n)
    else:
        if not 0 < clip < 0.5:
            raise ParamError(f"clip: {clip}; expected a number in (0, 0.5)")
        e = np.clip(_propensity(e, n, strict=False), clip, 1 - clip)
    return mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)


def r_loss(y, t, m, e, tau) -> float:
    """Mean R-loss ``((y - m) - (t - e) tau)^2`` (Nie and Wager 2021); ``tau`` a number or one per unit.

    With out-of-fold m, e and tau it scores how well tau explains the outcome residual by
    the treatment residual: lower is better, and only differences between models matter.

    Examples
    --------
    >>> r_loss([1.0, 0.0], [1, 0], [0.5, 0.5], [0.5, 0.5], 1.0)
    0.0
    """
    y = as_vector(y, "y")
    n = y.size
    t, m, e = _treatment(t, n), as_vector(m, "m", n), _propensity(e, n)
    tau = np.asarray(tau, dtype=float)
    tau = as_vector(np.full(n, tau) if tau.ndim == 0 else tau, "tau", n)
    return float(np.mean(((y - m) - (t - e) * tau) ** 2))


def constant_tau(y, t, m, e) -> float:
    """The constant effect minimising the R-loss, ``sum((t-e)(y-m)) / sum((t-e)^2)``: the baseline.

    Examples
    --------
    >>> constant_tau([1.0, 0.0], [1, 0], [0.5, 0.5], [0.5, 0.5])
    1.0
    """
    y = as_vector(y, "y")
    n = y.size
    rt = _treatment(t, n) - _propensity(e, n)
    return float(np.sum(rt * (y - as_vector(m, "m", n))) / np.sum(rt**2))


def blp_test(dr, tau_hat, clusters) -> dict[str, float]:
    """Best Linear Predictor test: does ``tau_hat`` predict the heterogeneity in the DR scores?

    OLS of dr on ``[1, tau_hat - mean(tau_hat)]`` with household-clustered SEs. beta0 is the
    ATE; beta1 is the calibration slope (1: well calibrated, 0: no heterogeneity found,
    between: right direction, overstated spread). ``pvalue`` is one-sided, H0: beta1 <= 0.
    A constant ``tau_hat`` has no slope: beta1, its SE and the p-value are NaN.

    Examples
    --------
    >>> r = blp_test([2.0, 0.0, 4.0, 2.0], [1.0, 0.0, 2.0, 1.0], clusters=[1, 2, 3, 4])
    >>> round(r["beta0"], 6), round(r["beta1"], 6)
    (2.0, 2.0)
    """
    d = as_vector(dr, "dr")
    n = d.size
    tau = as_vector(tau_hat, "tau_hat", n)
    codes, _ = _clusters(clusters, n)
    constant = bool(np.all(tau == tau[0]))
    X = np.ones((n, 1)) if constant else np.column_stack([np.ones(n), tau - tau.mean()])
    fit = OLS(d, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    out = {"beta0": float(fit.params[0]), "beta0_se": float(fit.bse[0]),
           "beta1": np.nan, "beta1_se": np.nan, "pvalue": np.nan}
    if not constant:
        b1, se = float(fit.params[1]), float(fit.bse[1])
        out.update(beta1=b1, beta1_se=se, pvalue=float(norm.sf(b1 / se)) if se > 0 else np.nan)
    return out


def calibration_groups(dr, tau_hat, clusters, n_groups: int = 5, level: float = 0.95) -> pd.DataFrame:
    """GATES-like table: mean predicted and mean DR effect in quantile groups of ``tau_hat``.

    Group 1 has the lowest predictions. A unit's group comes from its mid-rank, so tied
    predictions always share a group (groups may then be unequal; empty ones are left out).
    SEs of the group means are household-clustered; intervals are normal at ``level``.

    Examples
    --------
    >>> g = calibration_groups([0.0, 1.0, 2.0, 5.0], [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4], n_groups=2)
    >>> g[["group", "n", "tau_hat_mean", "dr_mean"]].round(3).to_dict("list")
    {'group': [1, 2], 'n': [2, 2], 'tau_hat_mean': [0.15, 0.35], 'dr_mean': [0.5, 3.5]}
    """
    d = as_vector(dr, "dr")
    n = d.size
    tau = as_vector(tau_hat, "tau_hat", n)
    codes, _ = _clusters(clusters, n)
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ParamError(f"n_groups: {n_groups!r}; expected a positive integer")
    from scipy.stats import rankdata

    group = np.minimum(np.floor((rankdata(tau) - 0.5) * n_groups / n).astype(int), n_groups - 1) + 1
    present = np.unique(group)
    X = (group[:, None] == present[None, :]).astype(float)
    fit = OLS(d, X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    z = norm.ppf(0.5 + level / 2)
    mean, se = np.asarray(fit.params), np.asarray(fit.bse)
    rows = [{"group": int(g), "n": int(np.sum(group == g)), "n_clusters": int(np.unique(codes[group == g]).size),
             "tau_hat_mean": float(tau[group == g].mean()), "tau_hat_min": float(tau[group == g].min()),
             "tau_hat_max": float(tau[group == g].max())} for g in present]
    out = pd.DataFrame(rows)
    out["dr_mean"], out["dr_se"], out["ci_low"], out["ci_high"] = mean, se, mean - z * se, mean + z * se
    return out


def _draws(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """All resamples up front: row b holds the cluster codes drawn for replicate b."""
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ParamError(f"n_boot: {n_boot!r}; expected a positive integer")
    return np.random.default_rng(seed).integers(0, n_clusters, size=(n_boot, n_clusters))


def _cluster_counts(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """Times each cluster is drawn in each replicate (replicates x clusters), from :func:`_draws`."""
    flat = (_draws(n_clusters, n_boot, seed) + n_clusters * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_clusters).reshape(n_boot, n_clusters)


def _counts(codes: np.ndarray, n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """Multiplicity of each unit in each replicate (replicates x units): the bootstrap weights."""
    return _cluster_counts(n_clusters, n_boot, seed)[:, codes].astype(float)


def cluster_bootstrap_indices(clusters, n_boot: int, seed: int) -> list[np.ndarray]:
    """Unit indices of ``n_boot`` household-bootstrap resamples.

    Each resample draws as many households as there are, with replacement, and takes all
    units of each drawn household (a household drawn twice contributes its units twice).
    These are the resamples behind every interval of :func:`evaluate_model`.

    Examples
    --------
    >>> idx = cluster_bootstrap_indices(["a", "a", "b"], n_boot=2, seed=0)
    >>> [sorted(i.tolist()) for i in idx]
    [[2, 2], [0, 1, 2]]
    """
    codes, k = _clusters(clusters, np.asarray(clusters).size)
    draws = _draws(k, n_boot, seed)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=k)
    starts = np.cumsum(sizes) - sizes
    out = []
    for row in draws:
        sz, st = sizes[row], starts[row]
        out.append(order[np.repeat(st - (np.cumsum(sz) - sz), sz) + np.arange(sz.sum())])
    return out


class _Setup:
    """Validated inputs, bootstrap cluster counts and the oracle's areas, shared by all models."""

    def __init__(self, y, t, m, e, dr, clusters, fractions, ks, n_boot, seed, level):
        self.y = as_vector(y, "y")
        n = self.y.size
        self.t, self.m, self.e = _treatment(t, n), as_vector(m, "m", n), _propensity(e, n)
        self.d = as_vector(dr, "dr", n)
        self.codes, self.n_clusters = _clusters(clusters, n)
        self.fractions = FRACTIONS if fractions is None else as_fractions(fractions, "fractions")
        self.ks = as_fractions(ks, "ks", low_open=True)
        if not 0 < level < 1:
            raise ParamError(f"level: {level}; expected a confidence level in (0, 1)")
        self.level, self.n_boot = level, n_boot
        self.cluster_counts = _cluster_counts(self.n_clusters, n_boot, seed)
        oracle = Ranking(self.d)
        self.oracle = score_rows(oracle, self.d, None)
        self.oracle_reps = score_rows(oracle, self.d, None, self.cluster_counts, self.codes)
        self.tau_constant = constant_tau(self.y, self.t, self.m, self.e)
        self.rloss_constant = r_loss(self.y, self.t, self.m, self.e, self.tau_constant)

    def ci(self, reps: np.ndarray) -> np.ndarray:
        a = 1 - self.level
        quantile = np.nanquantile if np.isnan(reps).any() else np.quantile  # nanquantile is slow on 2-D
        return quantile(reps, [a / 2, 1 - a / 2], axis=0)


def _evaluate(S: _Setup, tau_hat) -> tuple[dict, pd.DataFrame]:
    """One model's summary and curve table on the shared setup."""
    tau = as_vector(tau_hat, "tau_hat", S.d.size)
    ranking, grid = Ranking(tau), np.concatenate([S.fractions, S.ks])
    full = score_rows(ranking, S.d, grid)
    reps = score_rows(ranking, S.d, grid, S.cluster_counts, S.codes)
    rl = r_loss(S.y, S.t, S.m, S.e, tau)
    blp = blp_test(S.d, tau, S.codes)
    out = {"n": int(S.d.size), "n_clusters": S.n_clusters, "mean_tau_hat": float(tau.mean()),
           "ate_dr": float(full["ate"][0]), "rloss_heldout": rl, "rloss_constant": S.rloss_constant,
           "rloss_gain": S.rloss_constant - rl, "auuc": float(full["auuc"][0]),
           "qini_area": float(full["qini_area"][0])}
    for name, num, den in (("auuc_normalized", "qini_area", "qini_area"), ("qini_normalized", "qini_area", "qini_area"),
                           ("autoc_normalized", "rate", "rate")):
        lo, hi = S.ci(ratio(reps[num], S.oracle_reps[den]))
        out.update({name: float(ratio(full[num], S.oracle[den])[0]), f"{name}_ci_low": lo, f"{name}_ci_high": hi})
    rate, se = float(full["rate"][0]), float(np.std(reps["rate"], ddof=1)) if S.n_boot > 1 else np.nan
    lo, hi = S.ci(reps["rate"])
    out.update(rate=rate, rate_se=se, rate_ci_low=lo, rate_ci_high=hi,
               rate_pvalue=float(2 * norm.sf(abs(rate) / se)) if se > 0 else np.nan)
    out.update({f"blp_{k}": v for k, v in blp.items()})
    nf = S.fractions.size
    for j, k in enumerate(S.ks):
        top_full, top_reps = full["toc"][0, nf + j] + full["ate"][0], reps["toc"][:, nf + j] + reps["ate"]
        lo, hi = S.ci(top_reps)
        key = f"uplift_at_{100 * k:g}"
        out.update({key: float(top_full), f"{key}_ci_low": lo, f"{key}_ci_high": hi,
                    f"{key}_vs_ate": float(top_full - full["ate"][0])})
    out.update(level=S.level, n_boot=S.n_boot)
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in out.items()}, _curve_table(S, full, reps, grid)


def _curve_table(S: _Setup, full: dict, reps: dict, grid: np.ndarray) -> pd.DataFrame:
    """Gain, Qini and TOC at the output fractions, with percentile intervals over the replicates."""
    nf = S.fractions.size
    curves = pd.DataFrame({"fraction": S.fractions})
    for name, vals, rvals in (("gain", full["gain"], reps["gain"]), ("toc", full["toc"], reps["toc"]),
                              ("qini", full["gain"] - grid * full["ate"][:, None],
                               reps["gain"] - grid * reps["ate"][:, None])):
        lo, hi = S.ci(rvals[:, :nf])
        curves[name], curves[f"{name}_ci_low"], curves[f"{name}_ci_high"] = vals[0, :nf], lo, hi
    cols = ["fraction"] + [f"{c}{s}" for c in ("gain", "qini", "toc") for s in ("", "_ci_low", "_ci_high")]
    return curves[cols]


def evaluate_model(y, t, m, e, dr, tau_hat, clusters, fractions=None, ks=DEFAULT_KS, n_boot: int = 200,
                   seed: int = 0, level: float = 0.95) -> tuple[dict, pd.DataFrame]:
    """Score one model's out-of-fold CATE predictions: R-loss, ranking curves, RATE, BLP, uplift@k.

    Parameters
    ----------
    y, t, m, e : outcome, 0/1 treatment, cross-fitted E[y | x] and propensity per unit.
    dr : DR score per unit (:func:`dr_scores`).
    tau_hat : the model's out-of-fold prediction per unit.
    clusters : household label per unit (the bootstrap resamples households).
    fractions : rows of the curve table (default 0, 0.01, ..., 1); areas are exact anyway.
    ks : fractions for uplift@k, in (0, 1].
    n_boot, seed, level : bootstrap replicates, their seed, and the interval level.

    Returns
    -------
    summary : dict with rloss_heldout, rloss_constant, rloss_gain (constant minus model:
        positive is better), auuc, qini_area, auuc_normalized, qini_normalized,
        autoc_normalized (each with _ci_low/_ci_high), rate (AUTOC) with rate_se (bootstrap),
        rate_ci_low/high and rate_pvalue (two-sided, normal with the bootstrap SE),
        blp_beta0, blp_beta0_se, blp_beta1, blp_beta1_se, blp_pvalue (one-sided), and per k
        ``uplift_at_<100k>`` (mean DR in the top k) with its interval and ``_vs_ate``.
    curves : DataFrame fraction, gain, qini, toc, each with _ci_low and _ci_high.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, t = rng.normal(size=300), rng.integers(0, 2, 300)
    >>> y = t * (1 + x) + rng.normal(size=300)
    >>> dr = dr_scores(y, t, np.zeros(300), 1 + x, np.full(300, 0.5))
    >>> s, c = evaluate_model(y, t, 0.5 * (1 + x), np.full(300, 0.5), dr, x, np.arange(300), n_boot=50)
    >>> bool(s["rate_ci_low"] > 0), bool(s["rloss_gain"] > 0), list(c.columns[:4])
    (True, True, ['fraction', 'gain', 'gain_ci_low', 'gain_ci_high'])
    """
    return _evaluate(_Setup(y, t, m, e, dr, clusters, fractions, ks, n_boot, seed, level), tau_hat)


def evaluate_models(y, t, m, e, dr, predictions: dict, clusters, fractions=None, ks=DEFAULT_KS,
                    n_boot: int = 200, seed: int = 0, level: float = 0.95,
                    n_jobs: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`evaluate_model` for each model in ``predictions`` and for the constant effect.

    The constant candidate (named ``constant``) predicts :func:`constant_tau` for every unit.
    All models share the same bootstrap resamples (paired comparisons); ``n_jobs`` threads
    change the speed only.

    Returns
    -------
    table : one row per model (``predictions`` order, then ``constant``), :func:`evaluate_model`'s
        summary with a leading ``model`` column; input of :func:`select_model`.
    curves : the curve tables stacked, with a leading ``model`` column.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t, y = rng.integers(0, 2, 200), rng.normal(size=200)
    >>> table, curves = evaluate_models(y, t, np.zeros(200), np.full(200, 0.5), 4 * (t - 0.5) * y,
    ...                                 {"a": rng.normal(size=200)}, np.arange(200), n_boot=20)
    >>> table["model"].tolist(), float(table["rate"].iloc[-1])
    (['a', 'constant'], 0.0)
    """
    if not isinstance(predictions, dict) or not predictions:
        raise InputError("predictions: expected a non-empty dict {model name: predicted effects}")
    if CONSTANT in predictions:
        raise InputError(f"predictions: the name {CONSTANT!r} is reserved for the built-in constant effect")
    S = _Setup(y, t, m, e, dr, clusters, fractions, ks, n_boot, seed, level)
    models = {**predictions, CONSTANT: np.full(S.d.size, S.tau_constant)}
    if n_jobs == 1:
        results = [_evaluate(S, tau) for tau in models.values()]
    else:
        results = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(_evaluate)(S, tau) for tau in models.values())
    table = pd.DataFrame([{"model": name, **s} for name, (s, _) in zip(models, results)])
    curves = pd.concat([c.assign(model=name) for name, (_, c) in zip(models, results)], ignore_index=True)
    return table, curves[["model", *curves.columns[:-1]]]


def select_model(table: pd.DataFrame, rule: str = "rate_blp_rloss") -> tuple[str, str]:
    """The model the pre-registered ``rule`` (:data:`SELECTION_RULES`) picks, and why, in plain English.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": ["a", "constant"], "rloss_heldout": [0.9, 1.0], "rate": [0.2, 0.0],
    ...                   "rate_ci_low": [0.05, 0.0], "rate_ci_high": [0.3, 0.0], "blp_beta1": [0.8, float("nan")],
    ...                   "mean_tau_hat": [1.1, 1.0]})
    >>> select_model(t)[0], select_model(t, "constant")[0]
    ('a', 'constant')
    """
    if rule not in SELECTION_RULES:
        raise ParamError(f"cate.selection_rule: unknown rule {rule!r}; expected one of {', '.join(SELECTION_RULES)}")
    need = ["model", "rloss_heldout", "rate", "rate_ci_low", "rate_ci_high", "blp_beta1", "mean_tau_hat"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputError(f"table: missing columns {', '.join(missing)}; expected evaluate_models' selection table")
    if not (table["model"] == CONSTANT).any():
        raise InputError(f"table: no {CONSTANT!r} row; expected evaluate_models' selection table")
    const = table[table["model"] == CONSTANT].iloc[0]
    level = float(table["level"].iloc[0]) if "level" in table.columns else 0.95
    plain = f"the constant effect ({const['mean_tau_hat']:.4g} for every unit"
    if rule == "constant":
        return CONSTANT, f"rule 'constant': {plain}) is used whatever the models show"
    if rule == "min_rloss":
        best = table.loc[table["rloss_heldout"].idxmin()]
        return str(best["model"]), (f"rule 'min_rloss': {best['model']} has the lowest held-out R-loss, "
                                    f"{best['rloss_heldout']:.4g} (constant effect: {const['rloss_heldout']:.4g})")
    others = table[table["model"] != CONSTANT]
    ok = others[(others["rate_ci_low"] > 0) & (others["blp_beta1"] > 0) & others["rloss_heldout"].notna()]
    if ok.empty:
        top = others.loc[others["rate_ci_low"].idxmax()] if others["rate_ci_low"].notna().any() else None
        near = f" (highest RATE CI lower bound: {top['model']}, {top['rate_ci_low']:.3g})" if top is not None else ""
        return CONSTANT, (f"rule 'rate_blp_rloss': no model has a RATE {level:.0%} CI above 0 and a positive BLP "
                          f"slope{near}, so {plain}) is used")
    best = ok.loc[ok["rloss_heldout"].idxmin()]
    return str(best["model"]), (
        f"rule 'rate_blp_rloss': {best['model']} has the lowest held-out R-loss ({best['rloss_heldout']:.4g}; constant "
        f"effect {const['rloss_heldout']:.4g}) of the {len(ok)} model(s) whose RATE {level:.0%} CI lies above 0 and "
        f"whose BLP slope is positive: RATE {best['rate']:.3g} "
        f"[{best['rate_ci_low']:.3g}, {best['rate_ci_high']:.3g}], "
        f"BLP slope {best['blp_beta1']:.3g}")
