"""The design every Track 2 estimator shares: covariate matrix, treatment, clusters, folds.

Why this module exists: the propensity, ATE, CATE and evaluation stages must read the same
cohort the same way (covariates as a finite float matrix, the 0/1 treatment with both arms,
households as integer cluster codes) and cut it into the *same* household-grouped folds, so
that every nuisance prediction is out of fold for the same units and the stages can be
joined unit by unit. Keeping these helpers here, rather than in the propensity module that
first needed them, lets each estimator module import the design without importing the
others.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segtarget.core.errors import InputError, ParamError
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD

#: Cohort covariate columns start with this prefix; everything else is a key or an outcome.
COVARIATE_PREFIX = "x_"


def covariate_columns(df: pd.DataFrame) -> list[str]:
    """The covariate columns of a cohort table (prefix ``x_``), in table order."""
    return [c for c in df.columns if c.startswith(COVARIATE_PREFIX)]


@contextlib.contextmanager
def single_thread():
    """Run BLAS and OpenMP code on one thread: the machine is shared and results must not
    depend on the number of cores (parallel float sums are summed in a different order)."""
    with threadpool_limits(limits=1):
        yield


def as_matrix(X, name: str = "covariates") -> np.ndarray:
    """Covariates as a float64 matrix; a missing or infinite value is an :class:`InputError`
    naming the column, because the logistic model cannot take it and silently imputing would
    hide a cohort bug."""
    if isinstance(X, pd.DataFrame):
        cols = list(X.columns)
        try:
            M = X.to_numpy(dtype="float64")
        except (TypeError, ValueError) as exc:
            bad = [c for c in cols if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
            raise InputError(f"{name}: column {bad[0] if bad else '?'} is not numeric; expected numbers") from exc
    else:
        M = np.asarray(X, dtype="float64")
        cols = [f"x{j}" for j in range(M.shape[1] if M.ndim == 2 else 1)]
    if M.ndim == 1:
        M = M.reshape(-1, 1)
    if M.ndim != 2 or M.shape[0] == 0:
        raise InputError(f"{name}: expected a non-empty 2-D table of covariates")
    bad = ~np.isfinite(M)
    if bad.any():
        j = int(np.argmax(bad.any(axis=0)))
        raise InputError(f"{name}: column {cols[j]} has {int(bad[:, j].sum())} missing or infinite values; expected finite numbers")
    return M


def as_treatment(t, name: str = "treated") -> np.ndarray:
    """Treatment as an int 0/1 vector with both arms present."""
    a = np.asarray(t)
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"{name}: expected a non-empty 1-D 0/1 treatment indicator")
    if a.dtype == bool:
        a = a.astype("int64")
    try:
        f = a.astype("float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected 0/1 values") from exc
    if not np.isin(f, (0.0, 1.0)).all():
        raise InputError(f"{name}: expected only 0/1 values, found {sorted(set(np.unique(f)) - {0.0, 1.0})[:3]}")
    out = f.astype("int64")
    if out.min() == out.max():
        raise InputError(f"{name}: only one arm present (all {out[0]}); need treated and control units")
    return out


def as_propensity(e, n: int | None = None, name: str = "propensity") -> np.ndarray:
    """Propensity scores as float64, strictly inside (0, 1)."""
    a = np.asarray(e, dtype="float64").ravel()
    if n is not None and a.size != n:
        raise InputError(f"{name}: expected {n} values, got {a.size}")
    if not np.isfinite(a).all() or (a <= 0).any() or (a >= 1).any():
        raise InputError(f"{name}: expected values strictly between 0 and 1")
    return a


def group_codes(groups, n: int | None = None, name: str = "household_id") -> np.ndarray:
    """Cluster labels as integer codes 0..G-1 (sorted by label, so stable across runs)."""
    g = np.asarray(groups)
    if n is not None and g.shape[0] != n:
        raise InputError(f"{name}: expected {n} cluster labels, got {g.shape[0]}")
    if pd.isna(pd.Series(g)).any():
        raise InputError(f"{name}: missing cluster labels; expected one household per unit")
    codes, _ = pd.factorize(pd.Series(g), sort=True)
    return codes.astype("int64")


def make_folds(t, groups, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, arm-stratified K folds with a fixed shuffle seed.

    All units of a household fall in the same fold, so no model is fitted on one of a
    household's campaigns and then used to score another of its campaigns. The same
    ``(t, groups, n_splits, seed)`` always gives the same folds, which lets the ATE stage
    rebuild exactly the folds the propensity stage used.

    Examples
    --------
    >>> t = [0, 1] * 10; g = [i // 2 for i in range(20)]
    >>> folds = make_folds(t, g, n_splits=5, seed=0)
    >>> len(folds), sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(20))
    (5, True)
    """
    t = as_treatment(t)
    codes = group_codes(groups, len(t))
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ParamError(f"n_splits = {n_splits!r} is invalid; expected an integer >= 2")
    n_groups = int(codes.max()) + 1
    if n_groups < n_splits:
        raise InputError(f"household_id: {n_groups} households but {n_splits} folds; expected at least one household per fold")
    from sklearn.model_selection import StratifiedGroupKFold  # here: the cohort stage imports this module, not sklearn

    splitter = StratifiedGroupKFold(n_splits=int(n_splits), shuffle=True, random_state=int(seed))
    folds = []
    for train, test in splitter.split(np.zeros((len(t), 1)), t, codes):
        train, test = np.sort(train), np.sort(test)
        if len(np.unique(t[train])) < 2:
            raise InputError("treated: a cross-fitting fold has only one arm in its training part; too few treated or control households")
        folds.append((train, test))
    return folds


def fold_ids(folds, n: int) -> np.ndarray:
    """Held-out fold number (0-based) of each of ``n`` units, e.g. to store beside the scores."""
    out = np.full(n, -1, dtype="int64")
    for k, (_, test) in enumerate(folds):
        out[test] = k
    return out


def signed_log1p(X):
    """sign(x) log(1 + |x|): tames heavy-tailed spending rates before a linear model.

    Monotone and close to the identity near 0 (shares, flags), so only the long right tails of
    amounts and counts are compressed; without it one household with 20 times the median spend
    can push a logistic score to exactly 1.
    """
    X = np.asarray(X, dtype="float64")
    return np.sign(X) * np.log1p(np.abs(X))


def check_cohort(df: pd.DataFrame, origin: str) -> list[str]:
    """The covariates of a cohort table; one-line error if the table cannot be analysed."""
    for col in (HOUSEHOLD, CAMPAIGN, "treated"):
        if col not in df.columns:
            raise InputError(f"{origin}: column {col} missing; expected the cohort stage's output")
    covs = covariate_columns(df)
    if not covs:
        raise InputError(f"{origin}: no covariate columns (prefix x_); expected the cohort stage's output")
    if df["treated"].nunique() < 2:
        raise InputError(f"{origin}: column treated has a single value; the cohort needs treated and control units")
    return covs


def cohort_with_scores(cohort: pd.DataFrame, scores: pd.DataFrame, outcomes, origin: str = "cohort.csv"):
    """The cohort joined to the positivity stage's out-of-fold propensity scores.

    Returns ``(table, covariates, propensity_model)``: the model family the positivity stage
    selected (the per-model score column identical to the chosen one), for learners that fit
    their own treatment model, so that they use the same family.
    """
    covs = check_cohort(cohort, origin)
    missing = [o for o in outcomes if o not in cohort.columns]
    if missing:
        raise InputError(f"{origin}: outcome column {missing[0]} missing (params ate.outcomes)")
    keys = [HOUSEHOLD, CAMPAIGN]
    df = cohort.merge(scores[keys + ["propensity"]], on=keys, how="left", validate="one_to_one")
    if df["propensity"].isna().any():
        raise InputError("propensity_scores.csv: some cohort units have no propensity score; rerun the positivity stage")
    selected = [c.removeprefix("propensity_") for c in scores.columns
                if c.startswith("propensity_") and scores[c].equals(scores["propensity"])]
    return df, covs, selected[0] if selected else "logit"


@dataclass
class CohortDesign:
    """A cohort ready for the estimators: the joined table and the arrays every stage derives
    from it the same way (so that units, clusters and folds line up across stages)."""

    df: pd.DataFrame          # cohort joined to the propensity scores, cohort order
    covariates: list[str]     # the x_ columns
    ps_model: str             # the propensity family the positivity stage selected
    t: np.ndarray             # 0/1 treatment
    e: np.ndarray             # out-of-fold propensity
    codes: np.ndarray         # household cluster codes
    folds: list               # the positivity stage's household-grouped folds


def cohort_design(cohort: pd.DataFrame, scores: pd.DataFrame, outcomes, positivity: dict,
                  origin: str = "cohort.csv") -> CohortDesign:
    """:func:`cohort_with_scores` plus treatment, propensity, clusters and the folds rebuilt
    exactly as the positivity stage cut them (``positivity.n_splits``, ``positivity.seed``)."""
    df, covs, ps_model = cohort_with_scores(cohort, scores, outcomes, origin)
    t = as_treatment(df["treated"])
    e = as_propensity(df["propensity"], len(t))
    codes = group_codes(df[HOUSEHOLD], len(t))
    folds = make_folds(t, codes, positivity["n_splits"], positivity["seed"])
    return CohortDesign(df, covs, ps_model, t, e, codes, folds)
