"""Refutations of the headline ATE, each simulation refitting the headline estimator itself.

Why this module exists: the original project "refuted" a tuned causal forest with an
untuned one, one placebo draw and a ratio of means (methodology 9.4, 13.2 item 13), and
dowhy's own placebo refuter reuses stale propensity scores for propensity-based estimators
(py-why/dowhy issue 1728), which manufactures placebo effects. Here the estimator under
test is exactly the headline row of ``ate.csv``: cross-fitted AIPW on the ``trimmed``
population, with the propensity family the positivity stage selected and the outcome learner
the ATE stage chose, on the same folds, seeds and settings. :func:`prepare` refits it on the
real data and stops unless it reproduces ``ate.csv`` (and the propensity file) to 1e-6, so
the refuters provably refute that estimator. dowhy cannot refit a cross-fitted AIPW, so
each refuter's logic is implemented here around :func:`fit_headline`; a test checks the
logic against dowhy's ``CausalModel.refute_estimate`` with a linear estimator.

Every simulation refits **all** nuisances: the propensity model is refitted on the whole
perturbed cohort (as the positivity stage does, on its household-grouped folds) and the
outcome models on the population, so no score from the real treatment is ever reused for a
placebo. The one exception is the dummy outcome, which changes neither treatment nor
covariates: its propensity refit would be identical to the headline's (the fits are
deterministic; a test checks it), so the headline's refitted scores are passed on. Folds
depend only on the treatment, the households and the population, so the random common cause
and the dummy outcome reuse the headline's; new folds come from
:func:`~segtarget.track2.grouped_folds.make_folds_fast`, identical to ``make_folds`` but
about 8 times faster. Simulations run in ``compute.threads`` worker processes (joblib), each
fit single-threaded, with all draws taken up front: the numbers do not depend on the count.
On the default data the stage's cost is the gradient-boosting outcome model of
purchase_amount, refitted (10 fits) in each of the ~120 refits.

Population (``refute.population``): ``fixed`` (default) keeps the headline's units, those
whose real-data propensity lies in [ate.trim_low, ate.trim_high] (the band applied as
``ate.py`` applies it), in every simulation; a data subset keeps its households' units of
that population. Each refuter then changes one thing (treatment, a covariate, households or
the outcome) on the estimand's own units, and the placebo band is on the same units as the
real estimate. ``recompute`` applies the band to each simulation's refitted scores instead
(the whole pipeline rerun); for the placebo that moves the population to nearly the whole
cohort, since a permuted treatment is unpredictable.

==================  ============================================  =====================================
refuter             one simulation                                passes when (params ``refute``)
==================  ============================================  =====================================
placebo_treatment   treatment permuted within campaign            the central ``level`` band of the
                                                                  placebo effects covers 0
random_common_cause an N(0, 1) covariate added                    mean estimate within
                                                                  ``rcc_max_shift_se`` SE of the real one
data_subset         ``subset_fraction`` of the households drawn   mean estimate within
                    without replacement (all their units)         ``subset_max_shift_se`` SE
dummy_outcome       outcome permuted within campaign (true        the central ``level`` band of the
                    effect 0)                                     dummy effects covers 0
==================  ============================================  =====================================

``p_value`` follows dowhy (``test_significance``: a normal test below 100 simulations, a
percentile test from 100): for placebo and dummy outcome it is the p-value of 0 within the
simulated effects, for the others that of the real estimate; a large value agrees with a
pass. For the placebo, ``real_effect_p_value`` is the permutation p-value of the real
estimate (share of placebo effects at least as large in absolute value): a small value means
the real effect stands out from placebo noise (``placebo_require_real_outside`` makes that
part of the rule; off by default, since with no true effect it must fail).

What the refuters can and cannot see: placebo and dummy outcome catch an estimator that
manufactures effects (stale nuisances, leakage, a biased learner); random common cause and
subset show stability. None of them can detect an omitted confounder: with a strong one left
out, random common cause and subset still pass (a test shows it). That is the job of
:mod:`segtarget.track2.sensitivity`, which flags such an estimate as fragile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import norm

from segtarget.core.errors import InputError, ParamError
from segtarget.core.progress import tracked
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track2.design import as_matrix, as_treatment, cohort_with_scores, group_codes, make_folds
from segtarget.track2.effects import Estimate, aipw
from segtarget.track2.grouped_folds import make_folds_fast
from segtarget.track2.outcome_models import OUTCOME_MODELS, cross_fit_outcomes
from segtarget.track2.positivity import trim_mask
from segtarget.track2.propensity import CrossFittedPropensity

#: Refuters, in the order of the output table.
REFUTERS = ("placebo_treatment", "random_common_cause", "data_subset", "dummy_outcome")
#: How the trimmed population is chosen in each simulation (module docstring).
POPULATION_RULES = ("fixed", "recompute")
#: Columns of :func:`run_refutation`: the results contract first, then the details.
REFUTATION_COLUMNS = [
    "outcome", "refuter", "estimate", "new_effect", "p_value", "passed", "n_simulations", "pass_rule",
    "se", "new_effect_sd", "new_effect_low", "new_effect_high", "shift_se", "real_effect_p_value",
    "n_failed", "population", "note",
]
#: As in :func:`segtarget.track2.ate.estimate_all`: a population with fewer units in an arm is not estimated.
MIN_UNITS_PER_ARM = 20
#: Largest difference allowed between the refit of the real data and ate.csv / the propensity file.
REPRODUCE_TOL = 1e-6


@dataclass
class Sample:
    """What one refit sees: covariates, treatment, outcomes, clusters, campaign strata.

    ``pop`` is the fixed population mask (None: apply the trim band to the refitted scores);
    ``e`` is a propensity already fitted on exactly these ``X``, ``t`` and clusters (None:
    refit it). Perturbations that change ``X``, ``t`` or the rows must drop ``e``. ``ps_folds``
    and ``folds`` are the propensity's and the population's grouped folds, which depend only
    on ``t``, the clusters and the population (None: rebuild them, with the faster but
    identical :func:`~segtarget.track2.grouped_folds.make_folds_fast`; keeping them where
    those are unchanged saves time and changes no number).
    """

    X: np.ndarray
    t: np.ndarray
    y: dict
    codes: np.ndarray
    strata: np.ndarray
    pop: np.ndarray | None = None
    e: np.ndarray | None = None
    ps_folds: list | None = None
    folds: list | None = None

    def replace(self, **kw) -> "Sample":
        return dataclasses.replace(self, **kw)

    def take(self, idx) -> "Sample":
        """The rows ``idx`` (a data subset): the propensity must be refitted on them."""
        return Sample(self.X[idx], self.t[idx], {o: v[idx] for o, v in self.y.items()}, self.codes[idx],
                      self.strata[idx], None if self.pop is None else self.pop[idx])


@dataclass(frozen=True)
class HeadlineSpec:
    """The headline estimator's settings (those of ``ate.py`` for method aipw, population trimmed)."""

    outcome_models: dict      # outcome -> learner the ATE stage used (ate.csv outcome_model)
    ps_model: str             # propensity family the positivity stage selected
    ps_kwargs: dict           # its settings (C)
    n_splits: int             # positivity.n_splits: folds of the propensity and of the outcome models
    ps_seed: int              # positivity.seed: propensity folds and model
    seed: int                 # ate.seed: outcome folds and models
    trim: tuple               # (ate.trim_low, ate.trim_high)
    ipw_clip: float | None    # positivity.ipw_clip (None = off)


@dataclass
class Headline:
    """The real data as a :class:`Sample`, the estimator, its refit and the ate.csv rows it reproduces."""

    sample: Sample
    spec: HeadlineSpec
    estimates: dict           # outcome -> Estimate (the refit, equal to ate.csv)
    rows: dict                # outcome -> the ate.csv headline row (a Series)
    dml_rows: dict            # outcome -> the ate.csv linear_dml trimmed row (sensitivity checks its refit)
    covariates: list
    df: pd.DataFrame
    population: str


def refit_propensity(X, t, codes, spec: HeadlineSpec, folds=None) -> np.ndarray:
    """Out-of-fold propensity of the positivity stage's selected family, refitted on (X, t)
    on its folds ``make_folds(t, codes, spec.n_splits, spec.ps_seed)`` (pass them if known)."""
    if folds is None:
        folds = make_folds_fast(t, codes, spec.n_splits, spec.ps_seed)
    ps = CrossFittedPropensity((spec.ps_model,), spec.n_splits, spec.ps_seed, **spec.ps_kwargs)
    return ps.fit(X, t, codes, folds=folds).propensity_


def fit_headline(sample: Sample, spec: HeadlineSpec, residuals: bool = False):
    """The headline estimate of every outcome of ``sample``, all nuisances refitted.

    Returns ``{outcome: Estimate}``; with ``residuals`` also ``{outcome: (y - mu_t(x), t - e)}``
    on the population (for the sensitivity benchmarks). An unestimable population (too few
    units in an arm, a fold without both arms) raises :class:`InputError`.
    """
    e = sample.e if sample.e is not None else refit_propensity(sample.X, sample.t, sample.codes, spec, sample.ps_folds)
    m = trim_mask(e, *spec.trim) if sample.pop is None else sample.pop
    tp, cp, Xp, ep = sample.t[m], sample.codes[m], sample.X[m], e[m]
    n1, n0 = int(tp.sum()), int((1 - tp).sum())
    if min(n1, n0) < MIN_UNITS_PER_ARM:
        raise InputError(f"population: {n1} treated and {n0} control units, fewer than {MIN_UNITS_PER_ARM} in an arm")
    folds = sample.folds if sample.folds is not None else make_folds_fast(tp, cp, spec.n_splits, spec.seed)
    est, res = {}, {}
    for o, y in sample.y.items():
        yp = y[m]
        mu0, mu1 = cross_fit_outcomes(Xp, yp, tp, folds, spec.outcome_models[o], spec.seed)
        est[o] = aipw(yp, tp, ep, mu0, mu1, cp, clip=spec.ipw_clip)
        res[o] = (yp - np.where(tp == 1, mu1, mu0), tp - ep)
    return (est, res) if residuals else est


# --------------------------------------------------------------------------- the real data


def _headline_rows(ate_table: pd.DataFrame, outcomes, ate: dict, origin: str) -> dict:
    need = ["outcome", "method", "population", "estimate", "se", "ci_low", "ci_high", "n", "ps_low", "ps_high",
            "outcome_model"]
    missing = [c for c in need if c not in ate_table.columns]
    if missing:
        raise InputError(f"{origin}: column {missing[0]} missing; expected the ate stage's output")
    rows = {}
    for o in outcomes:
        r = ate_table[(ate_table.outcome == o) & (ate_table.method == "aipw") & (ate_table.population == "trimmed")]
        if len(r) != 1 or not np.isfinite(r.iloc[0][["estimate", "se"]].astype(float)).all():
            raise InputError(f"{origin}: no estimated headline row (aipw, trimmed) for outcome {o}; rerun the ate stage")
        r = r.iloc[0]
        if not np.allclose([r.ps_low, r.ps_high], [ate["trim_low"], ate["trim_high"]]):
            raise InputError(f"{origin}: the trimmed band [{r.ps_low:g}, {r.ps_high:g}] differs from params ate.trim_low/"
                             f"trim_high [{ate['trim_low']:g}, {ate['trim_high']:g}]; rerun the ate stage")
        if r.outcome_model not in OUTCOME_MODELS or ate["outcome_model"] not in ("auto", r.outcome_model):
            raise InputError(f"{origin}: outcome learner {r.outcome_model!r} of {o} does not match params "
                             f"ate.outcome_model = {ate['outcome_model']}; rerun the ate stage")
        rows[o] = r
    return rows


def _dml_rows(ate_table: pd.DataFrame, outcomes) -> dict:
    sel = ate_table[(ate_table.method == "linear_dml") & (ate_table.population == "trimmed")]
    return {o: sel[sel.outcome == o].iloc[0] for o in outcomes
            if (sel.outcome == o).sum() == 1 and np.isfinite(float(sel[sel.outcome == o].iloc[0].estimate))}


def prepare(cohort: pd.DataFrame, scores: pd.DataFrame, ate_table: pd.DataFrame, ate: dict, positivity: dict,
            population: str = "fixed", origin: str = "cohort.csv", ate_origin: str = "ate.csv") -> Headline:
    """The headline estimator refitted on the real data; an error unless it reproduces ``ate.csv``.

    Checks that the refitted propensity equals the positivity stage's scores and that the
    refitted AIPW equals the ate.csv headline estimate, both within 1e-6.
    """
    if population not in POPULATION_RULES:
        raise ParamError(f"refute.population = {population!r} is invalid; expected one of {', '.join(POPULATION_RULES)}")
    outcomes = list(ate["outcomes"])
    df, covs, ps_model = cohort_with_scores(cohort, scores, outcomes, origin)
    rows = _headline_rows(ate_table, outcomes, ate, ate_origin)
    X = as_matrix(df[covs], name=origin)
    t = as_treatment(df["treated"].to_numpy())
    y = {}
    for o in outcomes:
        v = pd.to_numeric(df[o], errors="coerce").to_numpy(dtype="float64")
        if not np.isfinite(v).all():
            raise InputError(f"{origin}: outcome column {o} has missing or non-numeric values; expected finite numbers")
        y[o] = v
    spec = HeadlineSpec(
        outcome_models={o: str(rows[o].outcome_model) for o in outcomes}, ps_model=ps_model,
        ps_kwargs={"C": positivity["logit_C"]}, n_splits=positivity["n_splits"], ps_seed=positivity["seed"],
        seed=ate["seed"], trim=(ate["trim_low"], ate["trim_high"]), ipw_clip=positivity["ipw_clip"] or None,
    )
    codes, strata = group_codes(df[HOUSEHOLD].to_numpy()), group_codes(df[CAMPAIGN].to_numpy(), name=CAMPAIGN)
    ps_folds = make_folds(t, codes, spec.n_splits, spec.ps_seed)
    fast = make_folds_fast(t, codes, spec.n_splits, spec.ps_seed)
    if not all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(ps_folds, fast)):
        raise RuntimeError("make_folds_fast differs from make_folds on this cohort (a bug): the refits would not "
                           "use the headline's folds")
    e = refit_propensity(X, t, codes, spec, ps_folds)
    gap = float(np.max(np.abs(e - df["propensity"].to_numpy(dtype="float64"))))
    if gap > REPRODUCE_TOL:
        raise InputError(f"propensity scores differ by up to {gap:.3g} from a refit of the positivity stage's {ps_model} "
                         "model with params positivity; rerun the positivity stage")
    m = trim_mask(e, *spec.trim)
    sample = Sample(X, t, y, codes, strata, m if population == "fixed" else None, e, ps_folds,
                    make_folds(t[m], codes[m], spec.n_splits, spec.seed))
    est = fit_headline(sample, spec)
    for o in outcomes:
        r = rows[o]
        if abs(est[o].estimate - float(r.estimate)) > REPRODUCE_TOL or est[o].n != int(r.n):
            raise InputError(f"{ate_origin}: the refit of the headline (aipw, trimmed) gives {est[o].estimate:.10g} on "
                             f"{est[o].n} units for {o}, but ate.csv has {float(r.estimate):.10g} on {int(r.n)}; "
                             "rerun the ate stage (ate.csv is stale or from other params)")
    return Headline(sample, spec, est, rows, _dml_rows(ate_table, outcomes), covs, df, population)


# --------------------------------------------------------------------------- draws and simulations


def permute_within(strata, rng) -> np.ndarray:
    """Row indices that permute the rows within each stratum (campaign).

    Examples
    --------
    >>> p = permute_within(np.array([0, 0, 1, 1, 1]), np.random.default_rng(0))
    >>> sorted(p[:2].tolist()), sorted(p[2:].tolist())
    ([0, 1], [2, 3, 4])
    """
    strata = np.asarray(strata)
    perm = np.arange(strata.size)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        perm[idx] = idx[rng.permutation(idx.size)]
    return perm


def household_subset(codes, fraction: float, rng) -> np.ndarray:
    """Rows of ``round(fraction * G)`` households drawn without replacement (all their units), in row order."""
    labels = np.unique(codes)
    k = min(labels.size, max(2, int(round(fraction * labels.size))))
    return np.flatnonzero(np.isin(codes, rng.choice(labels, k, replace=False)))


def make_draws(kind: str, sample: Sample, n: int, rng, subset_fraction: float = 0.8) -> list:
    """The random part of ``n`` simulations of one refuter, drawn up front from one generator
    (so that results do not depend on the number of worker processes)."""
    if kind in ("placebo_treatment", "dummy_outcome"):
        return [permute_within(sample.strata, rng) for _ in range(n)]
    if kind == "random_common_cause":
        return [rng.standard_normal(sample.t.size) for _ in range(n)]
    if kind == "data_subset":
        return [household_subset(sample.codes, subset_fraction, rng) for _ in range(n)]
    raise ParamError(f"refuter = {kind!r} is invalid; expected one of {', '.join(REFUTERS)}")


def perturb(kind: str, sample: Sample, draw) -> Sample:
    """``sample`` changed by one draw of a refuter."""
    if kind == "placebo_treatment":
        return sample.replace(t=sample.t[draw], e=None, ps_folds=None, folds=None)
    if kind == "random_common_cause":  # same t and clusters: same folds (the population's only if it is fixed)
        return sample.replace(X=np.column_stack([sample.X, draw]), e=None,
                              folds=sample.folds if sample.pop is not None else None)
    if kind == "data_subset":
        return sample.take(draw)
    if kind == "dummy_outcome":  # treatment and covariates unchanged: the propensity refit would be identical
        return sample.replace(y={o: v[draw] for o, v in sample.y.items()})
    raise ParamError(f"refuter = {kind!r} is invalid; expected one of {', '.join(REFUTERS)}")


def _simulate_one(kind, sample, spec, draw, fit) -> dict:
    try:
        return {o: float(r.estimate) for o, r in fit(perturb(kind, sample, draw), spec).items()}
    except InputError:  # e.g. a subset or placebo fold without both arms: counted in n_failed
        return {o: float("nan") for o in sample.y}


def simulate(tasks, sample: Sample, spec, n_jobs: int = 1, fit=fit_headline) -> list[dict]:
    """Refit ``fit`` on each ``(kind, draw)`` of ``tasks``; one ``{outcome: estimate}`` per task
    (NaN where the perturbed data could not be estimated). ``n_jobs`` worker processes share
    the refits (each single-threaded); the results do not depend on it."""
    if n_jobs == 1:
        runs = (_simulate_one(k, sample, spec, d, fit) for k, d in tasks)
    else:
        runs = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_simulate_one)(k, sample, spec, d, fit)
                                                              for k, d in tasks)
    kinds = ", ".join(dict.fromkeys(str(k) for k, _ in tasks))
    return list(tracked(runs, len(tasks), f"refute: simulations ({kinds})"))


# --------------------------------------------------------------------------- tests and rules


def dowhy_p_value(value: float, simulations) -> float:
    """dowhy's ``test_significance`` p-value of ``value`` within the simulated effects: a
    two-sided percentile test from 100 simulations, else its normal test (one tail)."""
    s = np.asarray(simulations, dtype="float64")
    if s.size >= 100:
        half = float(np.mean((s > value) + 0.5 * (s == value)))
        return 2 * min(half, 1 - half)
    sd = float(np.std(s))
    if sd == 0:
        return 1.0 if np.isclose(value, s.mean()) else 0.0
    z = (value - float(np.mean(s))) / sd
    return float(1 - norm.cdf(z)) if z > 0 else float(norm.cdf(z))


def pass_rule(kind: str, section: dict) -> str:
    """The pass rule of a refuter, in words (for the table and the report)."""
    band = f"the central {section['level']:.0%} band of the"
    if kind == "placebo_treatment":
        extra = " and the real estimate lies outside it" if section["placebo_require_real_outside"] else ""
        return f"{band} placebo effects (treatment permuted within campaign, all nuisances refitted) covers 0{extra}"
    if kind == "random_common_cause":
        return (f"the mean estimate with an added N(0,1) common cause is within {section['rcc_max_shift_se']:g} SE "
                "of the real estimate")
    if kind == "data_subset":
        return (f"the mean estimate on random {section['subset_fraction']:.0%}-of-households subsets is within "
                f"{section['subset_max_shift_se']:g} SE of the real estimate")
    return f"{band} effects on a dummy outcome (outcome permuted within campaign, true effect 0) covers 0"


def summarise(kind: str, outcome: str, base: Estimate, sims, section: dict) -> dict:
    """One row of the refutation table from the real estimate and the simulated ones."""
    sims = np.asarray(sims, dtype="float64")
    ok = sims[np.isfinite(sims)]
    n_failed = int(sims.size - ok.size)
    est, se, level = float(base.estimate), float(base.se), float(section["level"])
    row = {"outcome": outcome, "refuter": kind, "estimate": est, "se": se, "n_simulations": int(sims.size),
           "pass_rule": pass_rule(kind, section), "n_failed": n_failed, "real_effect_p_value": float("nan"),
           "note": f"{n_failed} simulations could not be estimated and are left out" if n_failed else ""}
    if ok.size < 2:
        nan = float("nan")
        return {**row, "new_effect": nan, "p_value": nan, "passed": 0, "new_effect_sd": nan, "new_effect_low": nan,
                "new_effect_high": nan, "shift_se": nan, "note": "fewer than 2 simulations could be estimated"}
    lo, hi = (float(q) for q in np.quantile(ok, [(1 - level) / 2, (1 + level) / 2]))
    mean = float(ok.mean())
    shift = (mean - est) / se if se > 0 else float("nan")
    if kind in ("placebo_treatment", "dummy_outcome"):
        p, passed = dowhy_p_value(0.0, ok), lo <= 0 <= hi
        if kind == "placebo_treatment":
            row["real_effect_p_value"] = float((1 + np.sum(np.abs(ok) >= abs(est))) / (ok.size + 1))
            if section["placebo_require_real_outside"]:
                passed = passed and not lo <= est <= hi
    else:
        limit = section["rcc_max_shift_se"] if kind == "random_common_cause" else section["subset_max_shift_se"]
        p, passed = dowhy_p_value(est, ok), bool(abs(shift) <= limit)
    return {**row, "new_effect": mean, "p_value": p, "passed": int(passed), "new_effect_sd": float(ok.std(ddof=1)),
            "new_effect_low": lo, "new_effect_high": hi, "shift_se": shift}


def check_section(section: dict) -> None:
    """One-line :class:`ParamError` for a ``refute`` value the library cannot use (the schema
    enforces the workflow's minimum numbers of simulations)."""
    for key in ("n_placebo", "n_random_common_cause", "n_subset", "n_dummy"):
        v = section[key]
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 2:
            raise ParamError(f"refute.{key} = {v!r} is invalid; expected an integer >= 2")
    for key, (lo, hi) in {"subset_fraction": (0, 1), "level": (0, 1)}.items():
        if not lo < section[key] < hi:
            raise ParamError(f"refute.{key} = {section[key]!r} is invalid; expected a number in ({lo}, {hi})")
    for key in ("rcc_max_shift_se", "subset_max_shift_se"):
        if not section[key] > 0:
            raise ParamError(f"refute.{key} = {section[key]!r} is invalid; expected a number > 0")
    if section["population"] not in POPULATION_RULES:
        raise ParamError(f"refute.population = {section['population']!r} is invalid; expected one of "
                         f"{', '.join(POPULATION_RULES)}")


N_KEYS = {"placebo_treatment": "n_placebo", "random_common_cause": "n_random_common_cause",
          "data_subset": "n_subset", "dummy_outcome": "n_dummy"}


def run_refutation(head: Headline, section: dict, n_jobs: int = 1, fit=fit_headline) -> tuple[pd.DataFrame, dict]:
    """Every refuter for every outcome: the refutation table and the ``refutation`` metrics block.

    The draws of each refuter come from their own stream of ``section["seed"]``, so changing
    one refuter's number of simulations leaves the others' results unchanged.
    """
    check_section(section)
    streams = np.random.SeedSequence(section["seed"]).spawn(len(REFUTERS))
    tasks = []
    for kind, ss in zip(REFUTERS, streams):
        draws = make_draws(kind, head.sample, section[N_KEYS[kind]], np.random.default_rng(ss), section["subset_fraction"])
        tasks += [(kind, d) for d in draws]
    results = simulate(tasks, head.sample, head.spec, n_jobs, fit)
    rows, block = [], {"population": head.population, "outcomes": {}}
    for o in head.sample.y:
        for kind in REFUTERS:
            sims = [r[o] for (k, _), r in zip(tasks, results) if k == kind]
            rows.append(summarise(kind, o, head.estimates[o], sims, section))
            row = rows[-1]
            block["outcomes"].setdefault(o, {})[kind] = {
                "passed": bool(row["passed"]), "new_effect": row["new_effect"], "p_value": row["p_value"],
                "band": [row["new_effect_low"], row["new_effect_high"]]}
    table = pd.DataFrame(rows, columns=REFUTATION_COLUMNS)
    table["population"] = head.population
    table["passed"] = table["passed"].astype("int64")
    block.update(n_passed=int(table["passed"].sum()), n_refutations=len(table), all_passed=bool(table["passed"].all()))
    return table, block
