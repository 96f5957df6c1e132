"""Small stacked cohorts for the refutation and sensitivity tests, run through the real
positivity and ATE stages so that the refuters start from a genuine ``ate.csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic_cohort import section
from segtarget.track2.ate import run_ate
from segtarget.track2.positivity import run_positivity

POS = section("positivity", models=["logit"], n_splits=3, seed=0)
ATE = section("ate", outcomes=["purchase_amount"], outcome_model="ridge", n_bootstrap=20, seed=0)
#: The refute section at its defaults, with fewer simulations (the schema's minimums are for real runs).
REFUTE = section("refute", n_placebo=20, n_random_common_cause=6, n_subset=10, n_dummy=10, seed=1)


def cohort(n_households=300, seed=0, tau=0.0, conf=0.0, hidden=0.0, keep_hidden=False):
    """Households with one or two of campaigns 8 and 9. x_0 is an observed confounder of
    strength ``conf`` (treatment log-odds conf * x_0, outcome 4 conf * x_0); u, of strength
    ``hidden``, enters alike but is left out of the table (the estimator omits it) unless
    ``keep_hidden`` (then as column x_u). x_1 drives the outcome only, x_2 is noise. True
    effect ``tau``."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 3, n_households)
    hh = np.repeat(np.arange(n_households) + 100, per)
    camp = np.concatenate([rng.choice([8, 9], k, replace=False) for k in per])
    n = hh.size
    X = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(conf * X[:, 0] + hidden * u - 0.3 * (camp == 9))))).astype(int)
    y = (5 + 4 * conf * X[:, 0] + X[:, 1] + 4 * hidden * u + 0.5 * (camp == 9) + tau * t
         + rng.normal(scale=0.5, size=n_households)[np.searchsorted(np.unique(hh), hh)] + rng.normal(size=n))
    df = pd.DataFrame(X, columns=["x_0", "x_1", "x_2"])
    df.insert(0, "household_id", hh)
    df.insert(1, "campaign_id", camp)
    df.insert(2, "treated", t)
    df["x_campaign_9"] = (camp == 9).astype(float)
    if keep_hidden:
        df["x_u"] = u
    df["purchase_amount"] = y
    return df


def stage_tables(df, ate=ATE, pos=POS):
    """The positivity stage's scores and the ATE stage's table for ``df``."""
    scores = run_positivity(df, pos).scores
    table, _ = run_ate(df, scores, ate, pos)
    return scores, table
