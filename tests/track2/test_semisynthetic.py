"""The semisynthetic stage: the injected truth, unbiasedness under a constant effect, gathering, errors, scripts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_script, write_params
from segtarget.core.errors import InputError, ParamError
from segtarget.track2 import semisynthetic as S
from segtarget.track2 import figures_validation as FV
from segtarget.track2 import semisynthetic_eval as SE
from segtarget.track2.design import signed_log1p

SEM = dict(shapes=["constant", "linear", "nonlinear"], replications=[1, 2, 3, 4], outcomes=["purchase_amount"],
           effects={"purchase_amount": {"mean": 10.0, "sd": 5.0}}, linear_covariates=["spend", "deal"],
           linear_weights=[1.0, -0.5], nonlinear_covariates=["freq", "deal"], baseline_model="ridge",
           noise="resample", ate_bootstrap=5, cost=3.0, margin=0.3, policy_outcome="purchase_amount", seed=7)
ATE = dict(outcomes=["purchase_amount"], trim_low=0.1, trim_high=0.9, outcome_model="ridge", ra_se="influence", n_bootstrap=5, seed=0)
POS = dict(n_splits=3, seed=0, logit_C=1.0, crump_rule="exact", ipw_clip=0.0)
CATE = dict(models=["t_learner", "linear_dml"], train_population="trimmed", outcome_model="ridge", inner_cv=2,
            linear_modifiers=[], forest_trees=40, forest_min_leaf=10, level=0.95, seed=0)
EVAL = dict(selection_rule="rate_blp_rloss", n_bootstrap=50, uplift_at=[0.1, 0.5], calibration_groups=3,
            level=0.95, seed=0)


def small_cohort(n_households=300, seed=0):
    """Households with one or two campaigns; spending drives both targeting and outcome."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 3, n_households)
    hh = np.repeat(np.arange(n_households) + 1000, per)
    camp = np.concatenate([rng.choice([8, 9], k, replace=False) for k in per])
    n = hh.size
    spend, deal, freq = rng.lognormal(3, 0.8, n), rng.beta(2, 5, n), rng.gamma(2.0, 0.5, n)
    e = 1 / (1 + np.exp(-1.2 * (np.log(spend) - 3)))
    t = (rng.random(n) < e).astype(int)
    y = 20 * np.log1p(spend) + 30 * deal + 5 * freq + 8 * t + rng.normal(scale=10, size=n)
    df = pd.DataFrame({"household_id": hh, "campaign_id": camp, "treated": t, "x_spend": spend, "x_deal": deal,
                       "x_freq": freq, "x_campaign_9": (camp == 9).astype(float), "purchase_amount": y,
                       "purchase_count": np.round(y / 10)})
    scores = df[["household_id", "campaign_id"]].assign(propensity=np.clip(e, 0.02, 0.98))
    scores["propensity_logit"] = scores["propensity"]
    return df, scores


@pytest.fixture(scope="module")
def data():
    return small_cohort()


@pytest.fixture(scope="module")
def constant_reps(data):
    """Every replication of the constant shape through the real stages (small settings)."""
    df, scores = data
    return [S.run_replication(df, scores, SEM, ATE, POS, CATE, EVAL, "constant", r) for r in range(1, 5)]


# --------------------------------------------------------------------------- the truth


@pytest.mark.parametrize("shape", S.SHAPES)
def test_the_truth_is_exactly_what_is_injected(data, shape):
    df, scores = data
    sim, d, truth = S.simulate_cohort(df, scores, SEM, POS, shape, 2)
    tr = truth["purchase_amount"]
    t = df["treated"].to_numpy()
    np.testing.assert_allclose(tr["y1"] - tr["y0"], tr["tau"], atol=1e-9)
    np.testing.assert_allclose(tr["y"], t * tr["y1"] + (1 - t) * tr["y0"], atol=1e-12)
    np.testing.assert_array_equal(sim["purchase_amount"].to_numpy(), tr["y"].to_numpy())
    pd.testing.assert_frame_equal(sim.drop(columns="purchase_amount"), df.drop(columns="purchase_amount"))
    tau = tr["tau"].to_numpy()
    assert tau.mean() == pytest.approx(10.0, abs=1e-9)
    assert tau.std() == pytest.approx(0.0 if shape == "constant" else 5.0, abs=1e-9)
    if shape == "linear":  # exactly linear in the two standardised signed-log covariates
        Z = np.column_stack([np.ones(len(df)), signed_log1p(df["x_spend"]), signed_log1p(df["x_deal"])])
        coef, *_ = np.linalg.lstsq(Z, tau, rcond=None)
        np.testing.assert_allclose(Z @ coef, tau, atol=1e-8)
        assert coef[1] > 0 > coef[2]
    if shape == "nonlinear":  # no effect above the mean for deal-averse units (below b's median)
        low = df["x_deal"].to_numpy() <= np.median(df["x_deal"])
        assert np.ptp(tau[low]) == 0 and tau[low][0] < tau.mean()


def test_replications_are_reproducible_and_independent(data):
    df, scores = data
    y = {r: S.simulate_cohort(df, scores, SEM, POS, "linear", r)[2]["purchase_amount"]["y0"].to_numpy() for r in (1, 2)}
    again = S.simulate_cohort(df, scores, SEM, POS, "linear", 1)[2]["purchase_amount"]["y0"].to_numpy()
    np.testing.assert_array_equal(y[1], again)
    assert np.corrcoef(y[1] - y[2], df["purchase_amount"])[0, 1] < 0.3  # different noise, same mu0
    assert not np.allclose(y[1], y[2])
    normal = S.simulate_cohort(df, scores, {**SEM, "noise": "normal"}, POS, "linear", 1)[2]["purchase_amount"]
    assert np.isfinite(normal["y0"]).all()


def test_true_ate_is_the_mean_effect_over_each_population(data, constant_reps):
    df, scores = data
    sim, d, truth = S.simulate_cohort(df, scores, SEM, POS, "nonlinear", 1)
    tau = truth["purchase_amount"]["tau"].to_numpy()
    ate = pd.DataFrame({"method": ["aipw", "aipw", "ato"], "population": ["full", "trimmed", "trimmed"],
                        "estimand": ["ATE", "ATE", "ATO"], "n": [1, 1, 1], "estimate": [1.0, 2.0, 3.0],
                        "se": [1.0, 1.0, 1.0], "ci_low": [-1.0, 0.0, 1.0], "ci_high": [3.0, 4.0, 5.0],
                        "ps_low": [0.0, 0.1, 0.1], "ps_high": [1.0, 0.9, 0.9]})
    rows = SE.ate_rows(ate, tau, d.e)
    band = (d.e >= 0.1) & (d.e <= 0.9)
    w = d.e[band] * (1 - d.e[band])
    np.testing.assert_allclose(rows["ate_true"], [tau.mean(), tau[band].mean(), np.sum(w * tau[band]) / w.sum()])
    np.testing.assert_allclose(rows["bias"], ate["estimate"] - rows["ate_true"])
    # the real run's rows: the constant effect is the truth of every population
    rep = constant_reps[0]
    np.testing.assert_allclose(rep.loc[rep["kind"] == "ate", "ate_true"], 10.0, rtol=1e-12)
    assert set(rep.loc[rep["kind"] == "ate", "population"]) == {"full", "crump", "trimmed"}


def test_policy_regret_against_the_oracle():
    tau = np.array([10.0, 0.0, 20.0, 5.0])
    assert SE.policy_regret(tau, tau, b=6.0, margin=0.5)["regret"] == 0.0
    everyone = SE.policy_regret(np.full(4, 99.0), tau, b=6.0, margin=0.5)
    assert everyone["regret"] == pytest.approx(0.5 * (6.0 + 1.0) / 4)  # the units below 6 lose 6 and 1
    assert np.isnan(SE.policy_regret(tau, tau, b=np.nan, margin=0.5)["regret"])


# --------------------------------------------------------------------------- estimators on the truth


def test_constant_shape_unbiased_estimators_within_two_monte_carlo_se(constant_reps):
    """AIPW and RA (whose ridge outcome model is the baseline's own learner) are unbiased here; OLS is
    not expected to be: the baseline is linear in the signed-log covariates, not in the raw ones."""
    table = SE.gather(constant_reps, ["constant"], [1, 2, 3, 4])
    summary = SE.summarise(table)
    for method in ("aipw", "ra"):
        for pop in ("full", "trimmed"):
            r = summary[(summary["kind"] == "ate") & (summary["model"] == method) & (summary["population"] == pop)].iloc[0]
            assert r["n_reps"] == 4 and r["bias_mcse"] > 0
            assert abs(r["bias"]) <= 2 * r["bias_mcse"], (method, pop, r["bias"], r["bias_mcse"])
    naive = summary[(summary["model"] == "naive") & (summary["population"] == "full")].iloc[0]
    assert naive["bias"] > 5 * naive["bias_mcse"]  # the confounded difference is not


def test_replication_table_has_every_estimator_and_learner(constant_reps):
    rep = constant_reps[0]
    assert list(rep.columns[:8]) == ["dgp", "model", "replication", "ate_true", "ate_est", "pehe", "ci_covered",
                                     "policy_regret"]
    a, c = rep[rep["kind"] == "ate"], rep[rep["kind"] == "cate"]
    assert len(a) == 7 * 3 and len(c) == len(CATE["models"]) + 1
    assert c["selected"].sum() == 1 and set(c["model"]) == {*CATE["models"], "constant"}
    assert (c["policy_regret"] >= 0).all() and (c["pehe"] >= 0).all()
    assert c["auuc_normalized_oracle"].nunique() == 1
    np.testing.assert_allclose(c["breakeven"], 10.0)


# --------------------------------------------------------------------------- gathering


def test_gather_summary_metrics_and_figure(constant_reps, data, tmp_path):
    df, scores = data
    other = S.run_replication(df, scores, {**SEM, "replications": [1]}, ATE, POS, CATE, EVAL, "linear", 1)
    sem = {**SEM, "shapes": ["constant", "linear"], "replications": [1]}
    table = SE.gather([other, constant_reps[0]], sem["shapes"], [1], sem["outcomes"])
    assert list(dict.fromkeys(table["dgp"])) == ["constant", "linear"]
    summary = SE.summarise(table)
    assert list(summary.columns) == SE.SUMMARY_COLUMNS
    sel = summary[summary["kind"] == "selection"]
    assert len(sel) == 2 and (sel["selected_count"] == 1).all()
    lin = summary[(summary["dgp"] == "linear") & (summary["kind"] == "cate")]
    assert (lin["spearman"].dropna().abs() <= 1).all() and (lin["auuc_normalized_oracle"] > 0).all()
    metrics = SE.validation_metrics(summary, sem, EVAL["selection_rule"])["track2"]["validation"]
    assert metrics["purchase_amount"]["ate_recommended"] in {"ols", "ra", "ipw", "aipw", "linear_dml"}
    assert set(metrics["purchase_amount"]["regret_selected"]) == {"constant", "linear"}
    paths = FV.save_figures(summary, tmp_path)
    assert [p.name for p in paths] == ["semisynthetic.png", "semisynthetic_ko.png"] and all(p.stat().st_size for p in paths)


def test_gather_names_a_missing_or_duplicated_replication(constant_reps):
    with pytest.raises(InputError, match="constant/4 missing"):
        SE.gather(constant_reps[:3], ["constant"], [1, 2, 3, 4])
    with pytest.raises(InputError, match="given 2 times"):
        SE.gather([*constant_reps, constant_reps[0]], ["constant"], [1, 2, 3, 4])
    with pytest.raises(InputError, match="not in semisynthetic.shapes"):
        SE.gather(constant_reps, ["constant"], [1, 2, 3])


# --------------------------------------------------------------------------- errors and scripts


@pytest.mark.parametrize("over, shape, rep, match", [
    ({}, "quadratic", 1, "shape 'quadratic' is invalid"),
    ({"shapes": ["constant", "wavy"]}, "constant", 1, "semisynthetic.shapes: 'wavy' is invalid"),
    ({}, "linear", 5, "replication 5 is invalid; expected one of semisynthetic.replications"),
    ({"replications": 3}, "linear", 1, "semisynthetic.replications = 3 is invalid; expected a list"),
    ({"noise": "cauchy"}, "linear", 1, "semisynthetic.noise = 'cauchy' is invalid"),
    ({"effects": {}}, "linear", 1, "semisynthetic.effects.purchase_amount: missing"),
    ({"linear_covariates": ["spend", "height"]}, "linear", 1, "covariate 'height' is not in the cohort"),
    ({"baseline_model": "forest"}, "linear", 1, "semisynthetic.baseline_model = 'forest' is invalid"),
    ({"outcomes": ["basket_size"], "effects": {"basket_size": {"mean": 1, "sd": 1}}}, "linear", 1,
     "semisynthetic.outcomes: 'basket_size' is not a column"),
])
def test_bad_params_give_one_line_param_errors(data, over, shape, rep, match):
    df, scores = data
    with pytest.raises(ParamError, match=match) as err:
        S.simulate_cohort(df, scores, {**SEM, **over}, POS, shape, rep)
    assert "\n" not in str(err.value)


def test_scripts_rep_error_and_gather(constant_reps, tmp_path):
    (tmp_path / "reps").mkdir()
    for r, t in enumerate(constant_reps, start=1):
        t.to_csv(tmp_path / "reps" / f"constant_{r}.csv", index=False)
    params = write_params(tmp_path / "params.yaml", semisynthetic={**SEM, "shapes": ["constant"]})
    res = run_script("semisynthetic_rep.py", "--params", str(params), "--shape", "wavy", "--rep", "1",
                     "--out", str(tmp_path / "x.csv"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].startswith("error: shape 'wavy' is invalid")
    out = {k: tmp_path / f"{k}.csv" for k in ("table", "summary")}
    res = run_script("semisynthetic_gather.py", "--params", str(params), "--reps-dir", str(tmp_path / "reps"),
                     "--out", str(out["table"]), "--summary", str(out["summary"]), "--figures-dir",
                     str(tmp_path / "fig"), "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert len(pd.read_csv(out["table"])) == sum(len(t) for t in constant_reps)
    assert list(pd.read_csv(out["summary"]).columns) == SE.SUMMARY_COLUMNS
    assert "validation" in json.loads((tmp_path / "m.json").read_text())["track2"]
    assert (tmp_path / "fig" / "semisynthetic_ko.png").exists()
