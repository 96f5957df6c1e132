"""Sensitivity of the headline effect to unmeasured confounding, benchmarked on observed covariates.

Why this module exists: refuters (:mod:`segtarget.track2.refute`) cannot see a confounder
that was never measured; the original project's E-value converted a dollar ATE to a risk
ratio via exp(z) and was not valid (methodology 13.2 item 15). Three analyses, per outcome:

``e_value``
    VanderWeele & Ding (2017) E-value of the headline AIPW estimate (ate.csv, aipw,
    trimmed), with the standard conversion for a continuous outcome (VanderWeele 2017,
    Table 2; Chinn 2000): d = ATE / SD(outcome), SD over the headline population (both arms,
    ddof 1), RR ~ exp(0.91 d), E = RR + sqrt(RR (RR - 1)) (RR < 1 inverted first). The CI's
    E-value uses the limit closer to 0 of the clustered CI, converted the same way; it is 1
    when the CI covers 0. The minimum strength of association (risk-ratio scale) an unmeasured
    confounder would need with both treatment and outcome to explain the estimate away.
``linear_dml_ovb``
    econml's omitted-variable-bias analysis of the LinearDML estimate on the same population
    (Chernozhukov, Cinelli, Newey, Sharma & Syrgkanis, "Long Story Short"):
    ``sensitivity_summary``, ``sensitivity_interval`` and ``robustness_value``. The robustness
    value is the share of residual variation (of outcome and treatment alike) a confounder
    must explain to bring the point estimate (``theta``) or the CI (``ci``) to 0. econml's
    variance here is iid, not clustered by household (ate.csv's LinearDML SE is).
``loco_benchmark``
    Leave one covariate group out (params ``refute.benchmark_groups``; ungrouped covariates
    alone), refit the headline estimator (propensity and outcome models, same units), and
    report the shift of the estimate and the group's strength in the "Long Story Short"
    terms: c_y = 1 - E[(y - mu_t(x))^2] / E[(y - mu_t(x_without))^2] (share of outcome
    residual variance the group explains) and c_t = 1 - E[(t - e(x))^2] / E[(t - e(x_without))^2].
    Feeding (c_y, c_t) to econml's sensitivity interval gives the LinearDML CI if a hidden
    confounder were as strong as that group. Dropping one of several correlated covariates
    understates its strength, hence groups.

The ``summary`` rows flag the estimate ``fragile`` when its CI already covers 0, or when a
hidden confounder as strong as some observed group would bring the LinearDML CI to 0, or
when dropping a group shifts the estimate by more than the margin between its CI and 0.
When the estimator omits a strong confounder, the refuters still pass but this flag is set
(tested on data with a known omitted confounder).
"""

from __future__ import annotations

import fnmatch
import logging
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from segtarget.core.errors import InputError, ParamError
from segtarget.track2.design import COVARIATE_PREFIX, make_folds, single_thread
from segtarget.track2.effects import fit_linear_dml
from segtarget.track2.positivity import trim_mask
from segtarget.track2.refute import REPRODUCE_TOL, Headline, fit_headline

log = logging.getLogger(__name__)

#: Columns of :func:`run_sensitivity` (long format: one number per row).
SENSITIVITY_COLUMNS = ["outcome", "method", "quantity", "covariate_group", "value", "note"]
#: The continuous-outcome conversion to a risk ratio (VanderWeele 2017): RR ~ exp(0.91 d).
SMD_TO_LOG_RR = 0.91
#: Largest partial R^2 passed to econml (it requires c < 1).
MAX_C = 0.999


def e_value(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele & Ding 2017): RR + sqrt(RR (RR - 1)), RR < 1 inverted.

    Examples
    --------
    >>> round(e_value(3.9), 2), round(e_value(1.8), 2), e_value(1.0)
    (7.26, 3.0, 1.0)
    >>> e_value(0.5) == e_value(2.0)
    True
    """
    rr = float(rr)
    if not rr > 0:
        raise ParamError(f"risk ratio = {rr!r} is invalid; expected a number > 0")
    rr = 1 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1)))


def e_value_continuous(estimate: float, ci_low: float, ci_high: float, sd: float) -> dict:
    """E-values of a mean difference and of its CI limit closer to 0, via d = estimate / sd.

    Examples
    --------
    >>> r = e_value_continuous(0.5, 0.1, 0.9, 1.0)   # d = 0.5: RR = exp(0.455) = 1.576
    >>> round(r["rr"], 3), round(r["e_value"], 3), round(r["e_value_ci"], 3)
    (1.576, 2.529, 1.418)
    >>> e_value_continuous(0.5, -0.1, 0.9, 1.0)["e_value_ci"]
    1.0
    """
    if not sd > 0:
        raise ParamError(f"outcome SD = {sd!r} is invalid; expected a number > 0")
    d = estimate / sd
    rr = float(np.exp(SMD_TO_LOG_RR * d))
    covers = ci_low <= 0 <= ci_high
    limit = 0.0 if covers else (ci_low if estimate > 0 else ci_high)
    rr_ci = float(np.exp(SMD_TO_LOG_RR * limit / sd))
    return {"sd_outcome": float(sd), "smd": float(d), "rr": rr, "e_value": e_value(rr), "rr_ci_limit": rr_ci,
            "e_value_ci": 1.0 if covers else e_value(rr_ci)}


def covariate_groups(covariates, groups: dict | None, mode: str = "groups") -> dict[str, list[int]]:
    """Column indices of each benchmark group. A covariate joins the first group with a
    matching pattern (``fnmatch`` on its name without the ``x_`` prefix); unmatched ones, and
    all of them with ``mode="covariates"``, form groups of their own.

    Examples
    --------
    >>> covariate_groups(["x_a1", "x_a2", "x_b"], {"a": ["a*"]})
    {'a': [0, 1], 'b': [2]}
    """
    if mode not in ("groups", "covariates"):
        raise ParamError(f"refute.benchmark = {mode!r} is invalid; expected one of groups, covariates")
    out: dict[str, list[int]] = {}
    for j, c in enumerate(covariates):
        name = c.removeprefix(COVARIATE_PREFIX)
        hit = next((g for g, pats in (groups or {}).items() if any(fnmatch.fnmatchcase(name, p) for p in pats)), None)
        out.setdefault(name if mode == "covariates" or hit is None else hit, []).append(j)
    return out


def loco_benchmark(head: Headline, groups: dict[str, list[int]], n_jobs: int = 1) -> pd.DataFrame:
    """Shift of the headline estimate, c_y and c_t when each covariate group is left out.

    The population is the headline's units (as with ``population: fixed``), so the residual
    variances compare like with like.
    """
    base = head.sample if head.sample.pop is not None else head.sample.replace(pop=_population(head))
    _, res0 = fit_headline(base, head.spec, residuals=True)
    p = base.X.shape[1]
    names = [g for g, cols in groups.items() if len(cols) < p]
    tasks = [np.setdiff1d(np.arange(p), groups[g]) for g in names]
    fits = _parallel_loco(base, head.spec, tasks, n_jobs)
    rows = []
    for g, (est, res) in zip(names, fits):
        for o, r in est.items():
            e0 = head.estimates[o]
            ry0, rt0 = res0[o]
            ry, rt = res[o]
            rows.append({
                "outcome": o, "covariate_group": g, "n_covariates": len(groups[g]),
                "estimate_without": r.estimate, "shift": r.estimate - e0.estimate,
                "shift_se": (r.estimate - e0.estimate) / e0.se,
                "c_y": max(0.0, 1 - np.mean(ry0**2) / np.mean(ry**2)),
                "c_t": max(0.0, 1 - np.mean(rt0**2) / np.mean(rt**2)),
            })
    return pd.DataFrame(rows)


def _population(head: Headline) -> np.ndarray:
    """The headline's units: fixed mask, or the band on the real data's refitted scores."""
    s = head.sample
    return s.pop if s.pop is not None else trim_mask(s.e, *head.spec.trim)


def _loco_one(sample, spec, keep):
    return fit_headline(sample.replace(X=sample.X[:, keep], e=None), spec, residuals=True)  # same t, units: same folds


def _parallel_loco(sample, spec, tasks, n_jobs):
    if n_jobs == 1:
        return [_loco_one(sample, spec, k) for k in tasks]
    return Parallel(n_jobs=n_jobs)(delayed(_loco_one)(sample, spec, k) for k in tasks)


def fit_dml(head: Headline, outcome: str):
    """econml LinearDML on the headline population, as ``ate.py`` fits its ``linear_dml`` row."""
    s, spec, m = head.sample, head.spec, _population(head)
    folds = s.folds if s.folds is not None else make_folds(s.t[m], s.codes[m], spec.n_splits, spec.seed)
    return fit_linear_dml(s.y[outcome][m], s.t[m], s.X[m], s.codes[m], folds, outcome_model=spec.outcome_models[outcome],
                          propensity_model=spec.ps_model, propensity_kwargs=spec.ps_kwargs, seed=spec.seed)


def dml_sensitivity(est, level: float, c_y: float, c_t: float, rho: float) -> dict:
    """econml's omitted-variable-bias numbers for a fitted LinearDML (null hypothesis 0)."""
    alpha = 1 - level
    with single_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log.info("econml %s", est.sensitivity_summary(null_hypothesis=0, alpha=alpha, c_y=c_y, c_t=c_t, rho=rho))
        lo, hi = est.sensitivity_interval(alpha=alpha, c_y=0.0, c_t=0.0, rho=rho, interval_type="ci")
        t_lo, t_hi = est.sensitivity_interval(alpha=alpha, c_y=c_y, c_t=c_t, rho=rho, interval_type="theta")
        b_lo, b_hi = est.sensitivity_interval(alpha=alpha, c_y=c_y, c_t=c_t, rho=rho, interval_type="ci")
        return {
            "theta": float(np.ravel(est.intercept_)[0]), "ci_low": float(lo), "ci_high": float(hi),
            "robustness_value_theta": float(est.robustness_value(null_hypothesis=0, alpha=alpha, interval_type="theta")),
            "robustness_value_ci": float(est.robustness_value(null_hypothesis=0, alpha=alpha, interval_type="ci")),
            "theta_low_at_c": float(t_lo), "theta_high_at_c": float(t_hi), "ci_low_at_c": float(b_lo), "ci_high_at_c": float(b_hi),
        }


def _as_strong(est, level, c_y, c_t, rho, kind):
    """econml's bounds on theta (``kind="theta"``) or its CI (``"ci"``) for a confounder of strength (c_y, c_t)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo, hi = est.sensitivity_interval(alpha=1 - level, c_y=min(c_y, MAX_C), c_t=min(c_t, MAX_C), rho=rho,
                                          interval_type=kind)
    return float(lo), float(hi)


def run_sensitivity(head: Headline, section: dict, n_jobs: int = 1) -> tuple[pd.DataFrame, dict]:
    """The sensitivity table (long: outcome, method, quantity, covariate_group, value, note) and
    the ``sensitivity`` metrics block."""
    level, c_y, c_t, rho = section["level"], section["sensitivity_c_y"], section["sensitivity_c_t"], section["sensitivity_rho"]
    groups = covariate_groups(head.covariates, section["benchmark_groups"], section["benchmark"])
    bench = loco_benchmark(head, groups, n_jobs)
    m = _population(head)
    rows, block = [], {}
    add = lambda o, meth, q, v, note="", g="": rows.append(  # noqa: E731
        {"outcome": o, "method": meth, "quantity": q, "covariate_group": g, "value": float(v), "note": note})
    for o in head.sample.y:
        r = head.rows[o]
        ev = e_value_continuous(float(r.estimate), float(r.ci_low), float(r.ci_high), float(np.std(head.sample.y[o][m], ddof=1)))
        conv = ("d = ATE / SD(outcome) over the headline population; RR = exp(0.91 d) (VanderWeele 2017); "
                "E = RR + sqrt(RR (RR - 1)), RR < 1 inverted (VanderWeele & Ding 2017)")
        for q, v in ev.items():
            add(o, "e_value", q, v, conv if q == "e_value" else
                ("CI limit closer to 0 of the clustered CI; 1 if the CI covers 0" if q.endswith("_ci") or q == "rr_ci_limit" else ""))
        est = fit_dml(head, o)
        dml = dml_sensitivity(est, level, c_y, c_t, rho)
        ref = head.dml_rows.get(o)
        if ref is not None and abs(dml["theta"] - float(ref.estimate)) > REPRODUCE_TOL:
            raise InputError(f"ate.csv: the refit of LinearDML (trimmed) gives {dml['theta']:.10g} for {o}, but ate.csv "
                             f"has {float(ref.estimate):.10g}; rerun the ate stage")
        note = f"econml LinearDML, iid variance; bounds at c_y = {c_y:g}, c_t = {c_t:g}, rho = {rho:g}"
        for q, v in dml.items():
            add(o, "linear_dml_ovb", q, v, note if q.endswith("_at_c") or q.startswith("robustness") else "")
        b = bench[bench.outcome == o].copy()
        erase = {"theta": 0, "ci": 0}
        for br in b.itertuples(index=False):
            for q in ("estimate_without", "shift", "shift_se", "c_y", "c_t"):
                add(o, "loco_benchmark", q, getattr(br, q), "", br.covariate_group)
            for kind, what in (("theta", "bounds on the LinearDML estimate"), ("ci", "LinearDML CI")):
                lo, hi = _as_strong(est, level, br.c_y, br.c_t, rho, kind)
                erase[kind] += lo <= 0 <= hi
                add(o, "loco_benchmark", f"dml_{kind}_low_if_as_strong", lo, f"{what} if a hidden confounder had this "
                    "group's c_y and c_t", br.covariate_group)
                add(o, "loco_benchmark", f"dml_{kind}_high_if_as_strong", hi, "", br.covariate_group)
        significant = not float(r.ci_low) <= 0 <= float(r.ci_high)
        margin = min(abs(float(r.ci_low)), abs(float(r.ci_high))) if significant else 0.0
        top = b.loc[b["shift"].abs().idxmax()] if len(b) else None
        max_shift = float(abs(top["shift"])) if top is not None else 0.0
        fragile = (not significant) or erase["ci"] > 0 or max_shift >= margin
        add(o, "summary", "ci_excludes_zero", significant, "the headline (aipw, trimmed) CI from ate.csv")
        add(o, "summary", "max_abs_shift", max_shift, "largest shift of the estimate when one observed covariate "
            "group is left out", "" if top is None else top["covariate_group"])
        add(o, "summary", "ci_margin_to_zero", margin, "distance from 0 to the CI limit closer to 0 (0 if it covers 0)")
        add(o, "summary", "n_groups_as_strong_erase_estimate", erase["theta"], "observed groups whose strength, "
            "given to a hidden confounder, could move the LinearDML estimate to 0")
        add(o, "summary", "n_groups_as_strong_erase_ci", erase["ci"], "observed groups whose strength, given to a "
            "hidden confounder, brings the LinearDML CI to cover 0")
        add(o, "summary", "fragile", fragile, "1 if the CI covers 0, a confounder as strong as an observed group "
            "brings the LinearDML CI to cover 0, or dropping a group moves the estimate more than its CI margin")
        block[o] = {"e_value": ev["e_value"], "e_value_ci": ev["e_value_ci"],
                    "robustness_value_ci": dml["robustness_value_ci"],
                    "robustness_value_theta": dml["robustness_value_theta"],
                    "strongest_group": "" if top is None else str(top["covariate_group"]),
                    "strongest_group_shift": max_shift, "fragile": bool(fragile),
                    "n_groups_as_strong_erase_estimate": int(erase["theta"])}
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS), block
