"""ATE estimators on simulated cohorts with a known constant effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segtarget.track2 import design as D, positivity as POS, outcome_models as OM, ate as A
from segtarget.track2 import effects as E
from segtarget.track2 import propensity as P
from segtarget.core.errors import InputError, ParamError

TAU = 1.0
COV = [f"x{j}" for j in range(5)]


def cohort(n=2000, seed=0, clustered=False, tau=TAU):
    """Confounded cohort: x0..x2 raise both the chance of treatment and the outcome.

    With ``clustered``, households hold 2-3 rows that share the treatment (assigned per
    household), a covariate shift and a large random effect in the outcome.
    """
    rng = np.random.default_rng(seed)
    if clustered:
        sizes = rng.integers(2, 4, size=n)
        hh = np.repeat(np.arange(n), sizes)[:n]
    else:
        hh = np.arange(n)
    n_hh = hh.max() + 1
    X = rng.normal(size=(n, 5))
    if clustered:
        X[:, :3] += rng.normal(size=(n_hh, 3))[hh]
    lin = 1.0 * X[:, 0] + 0.8 * X[:, 1] + 0.4 * X[:, 2]
    if clustered:  # one assignment per household, from its mean covariates
        lin = pd.Series(lin).groupby(hh).transform("mean").to_numpy()
        t = (rng.random(n_hh) < 1 / (1 + np.exp(-lin[np.unique(hh, return_index=True)[1]])))[hh].astype(int)
    else:
        t = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    u = rng.normal(scale=3.0, size=n_hh)[hh] if clustered else 0.0
    y = 2 + 3 * X[:, 0] + 2 * X[:, 1] - X[:, 2] + 0.5 * X[:, 3] + tau * t + u + rng.normal(size=n)
    df = pd.DataFrame(X, columns=COV)
    df["treated"], df["household_id"], df["purchase_amount"] = t, hh, y
    df["purchase_count"] = np.round(np.maximum(0, y + 10))  # a second outcome, integer-valued
    return df


def run(df, **kw):
    outcomes = kw.pop("outcomes", ["purchase_amount"])
    args = dict(outcome_model="ridge", n_bootstrap=40, seed=0)
    args.update(kw)
    return A.estimate_all(df, outcomes, COV, **args)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_naive_is_biased_and_adjusted_estimators_recover_the_effect(seed):
    df = cohort(seed=seed)
    # the whole pipeline once (both propensity candidates); the cheaper logit alone after
    models = P.PS_MODELS if seed == 1 else ("logit",)
    res = run(df, populations=("full",), propensity_models=models).set_index("method")
    naive = res.loc["naive"]
    assert abs(naive["estimate"] - TAU) > 8 * naive["se"]  # confounding: clearly biased
    aipw = res.loc["aipw"]
    assert aipw["ci_low"] <= TAU <= aipw["ci_high"]
    for m in ("ols", "ra", "ipw", "ato", "linear_dml"):
        r = res.loc[m]
        assert abs(r["estimate"] - TAU) < 4 * r["se"], m
        assert abs(r["estimate"] - TAU) < 0.2 * abs(naive["estimate"] - TAU), m
    assert (res["se"] > 0).all() and (res["ci_low"] < res["ci_high"]).all()


def test_cluster_robust_se_exceeds_iid_se_when_households_repeat():
    df = cohort(n=2000, seed=4, clustered=True)
    e = P.CrossFittedPropensity(seed=0, models=("logit",)).fit(df[COV], df["treated"], df["household_id"]).propensity_
    res = run(df, propensity=e, populations=("full",), methods=("naive", "ols", "ipw", "aipw", "ato", "linear_dml"))
    assert (res["n_clusters"] < res["n"]).all()
    for r in res.itertuples():
        assert r.se > 1.2 * r.se_iid, r.method


def test_with_one_unit_per_household_cluster_and_iid_se_agree():
    df = cohort(n=1500, seed=5)
    e = P.CrossFittedPropensity(seed=0, models=("logit",)).fit(df[COV], df["treated"], df["household_id"]).propensity_
    res = run(df, propensity=e, populations=("full",), methods=("naive", "ipw", "aipw", "ato", "linear_dml")).set_index("method")
    for m in ("naive", "ipw", "aipw", "ato"):
        assert res.loc[m, "se"] == pytest.approx(res.loc[m, "se_iid"], rel=1e-12)
    # LinearDML: our residual-based SE against econml's own HC0 SE
    assert res.loc["linear_dml", "se"] == pytest.approx(res.loc["linear_dml", "se_iid"], rel=2e-3)


def test_naive_se_is_the_classical_formula():
    df = cohort(n=500, seed=6)
    y, t = df["purchase_amount"].to_numpy(), df["treated"].to_numpy()
    r = E.naive(y, t, df["household_id"])
    assert r.estimate == pytest.approx(y[t == 1].mean() - y[t == 0].mean())
    classical = np.sqrt(y[t == 1].var() / (t == 1).sum() + y[t == 0].var() / (t == 0).sum())
    assert r.se_iid == pytest.approx(classical * np.sqrt(len(y) / (len(y) - 1)), rel=1e-12)


def test_ols_matches_least_squares_and_weighted_estimators_match_definitions():
    df = cohort(n=600, seed=7)
    y, t = df["purchase_amount"].to_numpy(), df["treated"].to_numpy()
    D = np.column_stack([np.ones(len(y)), t, df[COV].to_numpy()])
    beta = np.linalg.lstsq(D, y, rcond=None)[0]
    assert E.ols(y, t, df[COV], df["household_id"]).estimate == pytest.approx(beta[1], rel=1e-9)
    e = np.clip(1 / (1 + np.exp(-(df["x0"] + 0.8 * df["x1"] + 0.4 * df["x2"]).to_numpy())), 0.02, 0.98)
    w1, w0 = t / e, (1 - t) / (1 - e)
    ipw = np.sum(w1 * y) / w1.sum() - np.sum(w0 * y) / w0.sum()
    assert E.ipw_hajek(y, t, e, df["household_id"]).estimate == pytest.approx(ipw)
    h1, h0 = t * (1 - e), (1 - t) * e
    ato = np.sum(h1 * y) / h1.sum() - np.sum(h0 * y) / h0.sum()
    r = E.overlap_weighted(y, t, e, df["household_id"])
    assert r.estimate == pytest.approx(ato) and r.estimand == "ATO"
    clipped = E.ipw_hajek(y, t, e, df["household_id"], clip=0.05)
    assert f"for {int(((e < 0.05) | (e > 0.95)).sum())} units" in clipped.note


def test_ols_drops_constant_and_collinear_covariates():
    # e.g. a campaign indicator constant inside a trimmed population, or shares summing to 1
    df = cohort(n=600, seed=14)
    y, t, g = df["purchase_amount"], df["treated"], df["household_id"]
    base = E.ols(y, t, df[COV], g)
    X = df[COV].assign(const=1.0, dup=2 * df["x0"] - df["x1"])
    r = E.ols(y, t, X, g)
    assert r.estimate == pytest.approx(base.estimate, rel=1e-9)
    assert r.se == pytest.approx(base.se, rel=1e-9) and r.note.startswith("2 constant or collinear")
    assert E.independent_columns(np.column_stack([np.ones(5), np.arange(5.0), np.ones(5)])) == [0, 1]


def test_outcome_model_selection_and_gradient_boosting_path():
    df = cohort(n=500, seed=8)
    y, t = df["purchase_amount"].to_numpy(), df["treated"].to_numpy()
    folds = D.make_folds(t, df["household_id"], 3, 0)
    sel = OM.select_outcome_model(df[COV], y, t, folds)
    assert sel["model"].tolist() == ["hgb", "ridge"] and sel["selected"].sum() == 1
    assert sel.loc[sel["selected"] == 1, "mse"].iloc[0] == sel["mse"].min()
    assert sel.set_index("model").loc["ridge", "selected"] == 1  # the outcome is linear in x
    kw = dict(n_splits=3, populations=("full",), propensity_models=("logit",))
    res = run(df, outcome_model="hgb", n_bootstrap=3, methods=("ra", "aipw"), **kw)
    assert res["outcome_model"].tolist() == ["hgb", "hgb"]
    assert np.isfinite(res["estimate"]).all() and np.isfinite(res["se"]).all()
    auto = run(df, outcome_model="auto", methods=("aipw",), **kw)
    assert auto["outcome_model"].iloc[0] == "ridge"


def test_estimate_all_order_columns_and_populations():
    df = cohort(n=1200, seed=9)
    e = P.CrossFittedPropensity(seed=0, models=("logit",)).fit(df[COV], df["treated"], df["household_id"]).propensity_
    df["ps"] = e
    res = run(df, outcomes=["purchase_count", "purchase_amount"], propensity="ps", trim=(0.1, 0.9),
              methods=("linear_dml", "naive", "aipw"), n_bootstrap=5)
    assert list(res.columns) == E.ATE_COLUMNS
    expected = [(o, p, m) for o in ("purchase_count", "purchase_amount") for p in E.POPULATIONS
                for m in ("naive", "aipw", "linear_dml")]
    assert list(zip(res["outcome"], res["population"], res["method"])) == expected
    alpha = POS.crump_alpha(e)
    n_pop = {"full": len(df), "crump": int(POS.trim_mask(e, alpha, 1 - alpha).sum()),
             "trimmed": int(((e >= 0.1) & (e <= 0.9)).sum())}
    for r in res.itertuples():
        assert r.n == n_pop[r.population] and r.n == r.n_treated + r.n_control
    crump = res[res["population"] == "crump"].iloc[0]
    assert crump["ps_low"] == pytest.approx(alpha) and crump["ps_high"] == pytest.approx(1 - alpha)
    assert res.loc[res["method"] == "naive", "estimand"].eq("difference_in_means").all()


def test_a_population_too_small_is_reported_not_estimated():
    df = cohort(n=600, seed=10)
    res = run(df, propensity=np.full(len(df), 0.5) + np.linspace(-0.3, 0.3, len(df)), trim=(0.49, 0.5),
              populations=("trimmed",), methods=("naive", "aipw"), min_units_per_arm=20)
    assert res["estimate"].isna().all() and res["note"].str.startswith("not estimated").all()


def test_estimate_all_is_deterministic():
    df = cohort(n=700, seed=11, clustered=True)
    kw = dict(methods=("ra", "aipw", "linear_dml"), n_bootstrap=10, n_splits=4, propensity_models=("logit",))
    pd.testing.assert_frame_equal(run(df, **kw), run(df, **kw))


def test_bad_inputs_and_params():
    df = cohort(n=300, seed=12)
    with pytest.raises(InputError, match="purchase_margin"):
        A.estimate_all(df, ["purchase_margin"], COV)
    with pytest.raises(ParamError, match="ate.methods"):
        A.estimate_all(df, ["purchase_amount"], COV, methods=("tmle",))
    with pytest.raises(ParamError, match="trim"):
        A.estimate_all(df, ["purchase_amount"], COV, trim=(0.9, 0.1))
    bad = df.assign(purchase_amount=df["purchase_amount"].where(df.index != 3))
    with pytest.raises(InputError, match="purchase_amount"):
        A.estimate_all(bad, ["purchase_amount"], COV, propensity=np.full(len(df), 0.5))


def test_forest_plot_both_languages(tmp_path):
    from segtarget.track2 import figures as F

    df = cohort(n=600, seed=13)
    res = run(df, outcomes=["purchase_amount", "purchase_count"], propensity=np.full(len(df), 0.5),
              methods=("naive", "ols", "ipw", "ato"), trim=(0.2, 0.8))
    res.loc[0, ["estimate", "ci_low", "ci_high"]] = np.nan  # a row that could not be estimated
    res.loc[2, ["estimate", "ci_low", "ci_high"]] = [-900.0, -2500.0, 700.0]  # an exploding estimator
    en, ko = F.save_bilingual(F.forest_plot, tmp_path / "ate_forest.png", res)
    assert en.stat().st_size > 5000 and ko.stat().st_size > 5000
    # the exploding row is cut at the axis instead of setting the scale
    sub = res[res["outcome"] == res.loc[2, "outcome"]]
    lo, hi = F._axis_limits(*(sub[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high")), 6.0)
    assert -2500 < lo and hi < 700


def test_ra_bootstrap_in_worker_processes_gives_identical_results():
    """The refits are shared out to processes; the resamples and each fit are fixed, so the
    SE is the same to the last bit whatever n_jobs (the stage's output must not depend on
    how many cores the machine lends it)."""
    df = cohort(n=300, seed=5, clustered=True)
    y, t = df["purchase_amount"].to_numpy(), df["treated"].to_numpy()
    folds = D.make_folds(t, df["household_id"], 3, 0)
    mu0, mu1 = OM.cross_fit_outcomes(df[COV], y, t, folds, "hgb", 0)
    kw = dict(se_method="bootstrap", model="hgb", n_bootstrap=6)
    one = E.regression_adjustment(y, t, df[COV], df["household_id"], mu0, mu1, n_jobs=1, **kw)
    two = E.regression_adjustment(y, t, df[COV], df["household_id"], mu0, mu1, n_jobs=2, **kw)
    assert np.isfinite(one.se) and one.se > 0
    assert (one.estimate, one.se, one.note) == (two.estimate, two.se, two.note)
    other = E.regression_adjustment(y, t, df[COV], df["household_id"], mu0, mu1, seed=1, **kw)
    assert other.se != one.se  # the seed matters, so the equality above is not vacuous


def test_ra_influence_se_covers_like_the_household_bootstrap():
    """Regression adjustment's influence-function SE (no refits) against the household bootstrap it replaces, on
    clustered, confounded cohorts with a known effect: over 30 cohorts both 95% CIs cover the true effect about as
    often as they should, and the two SEs agree (median ratio within 20% of 1)."""
    cover_if, cover_bs, ratio = [], [], []
    for seed in range(30):
        df = cohort(n=600, seed=100 + seed, clustered=True)
        y, t, hh = df["purchase_amount"].to_numpy(), df["treated"].to_numpy(), df["household_id"].to_numpy()
        folds = D.make_folds(t, hh, 5, seed)
        e = P.CrossFittedPropensity(models=("logit",), seed=seed).fit(df[COV], t, hh, folds).propensity_
        mu0, mu1 = OM.cross_fit_outcomes(df[COV], y, t, folds, "ridge", seed)
        inf = E.regression_adjustment(y, t, df[COV], hh, mu0, mu1, e=e, model="ridge", seed=seed)
        boot = E.regression_adjustment(y, t, df[COV], hh, mu0, mu1, se_method="bootstrap", model="ridge",
                                       n_bootstrap=60, seed=seed)
        assert inf.estimate == boot.estimate and inf.se_method == "influence_cluster"
        for est, out in ((inf, cover_if), (boot, cover_bs)):
            lo, hi = est.ci()
            out.append(lo <= TAU <= hi)
        ratio.append(inf.se / boot.se)
    assert np.mean(cover_if) >= 0.85 and np.mean(cover_bs) >= 0.85, (np.mean(cover_if), np.mean(cover_bs))
    assert abs(np.mean(cover_if) - np.mean(cover_bs)) <= 0.1
    assert 0.8 <= np.median(ratio) <= 1.2, np.median(ratio)


def test_ra_influence_se_needs_the_propensity():
    df = cohort(n=200, seed=1)
    y, t = df["purchase_amount"].to_numpy(), df["treated"].to_numpy()
    with pytest.raises(ParamError, match="propensity"):
        E.regression_adjustment(y, t, df[COV], df["household_id"], y * 0, y * 0)
    with pytest.raises(ParamError, match="ra_se"):
        E.regression_adjustment(y, t, df[COV], df["household_id"], y * 0, y * 0, e=np.full(len(y), 0.5), se_method="x")
