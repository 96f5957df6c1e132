"""CATE learners: recovery of a known effect, out-of-fold honesty, R-loss, the stage table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segtarget.track2 import cate as C
from segtarget.track2 import figures as F
from segtarget.core.errors import InputError, ParamError
from segtarget.track2.design import make_folds

FAST = dict(outcome_model="ridge", inner_cv=2, n_trees=40, min_leaf=10, seed=0)


def data(n=600, seed=0):
    """Confounded assignment on x0; effect tau(x) = 1 + 2 x1 (linear, so every learner can find it)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    e = 1 / (1 + np.exp(-0.8 * X[:, 0]))
    t = (rng.random(n) < e).astype(int)
    tau = 1 + 2 * X[:, 1]
    y = 2 * X[:, 0] + X[:, 2] + t * tau + rng.normal(scale=0.5, size=n)
    return X, y, t, tau, e


@pytest.mark.parametrize("model", ["t_learner", "x_learner", "dr_learner", "linear_dml", "causal_forest"])
def test_learners_recover_a_known_heterogeneous_effect(model):
    X, y, t, tau, _ = data()
    folds = make_folds(t, np.arange(len(t)), 3, 0)
    out = C.cross_fit_cate(X, y, t, np.arange(len(t)), folds, models=(model,), **FAST)[model]
    r = np.corrcoef(out["cate"], tau)[0, 1]
    # a linear effect with unit noise on 400 training units: a correlation of 0.8 separates a
    # learner that finds the modifier from one that does not (a constant gives 0)
    assert r > 0.8, f"{model}: correlation with the true CATE {r:.2f}"
    assert abs(out["cate"].mean() - tau.mean()) < 0.3
    if model in C.MODELS_WITH_INTERVALS:
        assert (out["cate_ci_low"] <= out["cate"]).all() and (out["cate"] <= out["cate_ci_high"]).all()
    else:
        assert out["cate_ci_low"].isna().all()


def test_a_units_cate_never_depends_on_its_own_outcome():
    """Change the outcomes of fold 0's held-out units: their own CATEs must not move (they
    come from the model fitted on the other folds), while other units' CATEs do."""
    X, y, t, _, _ = data(n=300, seed=1)
    g = np.arange(len(t))
    folds = make_folds(t, g, 3, 0)
    test0 = folds[0][1]
    y2 = y.copy()
    y2[test0] += np.random.default_rng(0).normal(scale=5.0, size=test0.size)
    a = C.cross_fit_cate(X, y, t, g, folds, models=("t_learner",), **FAST)["t_learner"]
    b = C.cross_fit_cate(X, y2, t, g, folds, models=("t_learner",), **FAST)["t_learner"]
    np.testing.assert_array_equal(a.loc[test0, "cate"].to_numpy(), b.loc[test0, "cate"].to_numpy())
    others = np.setdiff1d(np.arange(len(t)), test0)
    assert not np.allclose(a.loc[others, "cate"], b.loc[others, "cate"])
    assert sorted(a["fold"].unique()) == [0, 1, 2] and (a.loc[test0, "fold"] == 0).all()


def test_train_mask_excludes_units_from_fitting_but_not_from_prediction():
    X, y, t, _, _ = data(n=300, seed=2)
    g = np.arange(len(t))
    folds = make_folds(t, g, 3, 0)
    mask = X[:, 3] > -0.5
    y2 = y.copy()
    y2[~mask] += 100.0  # outcomes of units never fitted on
    a = C.cross_fit_cate(X, y, t, g, folds, models=("t_learner",), train_mask=mask, **FAST)["t_learner"]
    b = C.cross_fit_cate(X, y2, t, g, folds, models=("t_learner",), train_mask=mask, **FAST)["t_learner"]
    assert a["cate"].notna().all()
    np.testing.assert_array_equal(a["cate"].to_numpy(), b["cate"].to_numpy())


def test_worker_processes_give_identical_results():
    X, y, t, _, _ = data(n=300, seed=3)
    g = np.arange(len(t))
    folds = make_folds(t, g, 3, 0)
    models = ("s_learner", "causal_forest")
    one = C.cross_fit_cate(X, y, t, g, folds, models=models, n_jobs=1, **FAST)
    two = C.cross_fit_cate(X, y, t, g, folds, models=models, n_jobs=2, **FAST)
    for m in models:
        pd.testing.assert_frame_equal(one[m], two[m])


def test_r_loss_and_best_constant_have_their_closed_forms():
    rng = np.random.default_rng(0)
    n = 5000
    e = rng.uniform(0.2, 0.8, n)
    t = (rng.random(n) < e).astype(int)
    m = rng.normal(size=n)
    noise = rng.normal(scale=0.7, size=n)
    tau = 1.5
    # y - m = (t - e) tau + noise exactly, so the true tau leaves only the noise
    y = m + (t - e) * tau + noise
    assert C.r_loss(y, t, m, e, np.full(n, tau)) == pytest.approx(np.mean(noise**2))
    c = C.constant_tau(y, t, m, e)
    r_t, r_y = t - e, y - m
    assert c == pytest.approx(np.sum(r_t * r_y) / np.sum(r_t**2))
    assert C.r_loss(y, t, m, e, np.full(n, c)) <= C.r_loss(y, t, m, e, np.full(n, tau))  # c minimises it


def cohort_frame(n_households=240, seed=4):
    X, y, t, tau, e = data(n=n_households, seed=seed)
    df = pd.DataFrame(X, columns=[f"x_{j}" for j in range(X.shape[1])])
    df.insert(0, "household_id", np.arange(n_households) + 100)
    df.insert(1, "campaign_id", 8)
    df.insert(2, "treated", t)
    df["purchase_amount"] = y
    df["purchase_count"] = np.round(np.maximum(0, y + 3))
    scores = df[["household_id", "campaign_id"]].assign(propensity=np.clip(e, 0.02, 0.98))
    scores["propensity_logit"] = scores["propensity"]
    return df, scores


SECTIONS = dict(
    cate=dict(models=["t_learner", "linear_dml"], train_population="trimmed", outcome_model="ridge", inner_cv=2,
              forest_trees=40, forest_min_leaf=10, level=0.9, seed=0),
    ate=dict(outcomes=["purchase_amount", "purchase_count"], trim_low=0.1, trim_high=0.9),
    positivity=dict(n_splits=3, seed=0, logit_C=1.0),
)


def test_run_cate_table_summary_and_metrics():
    df, scores = cohort_frame()
    table, summary, metrics = C.run_cate(df, scores, **SECTIONS)
    assert list(table.columns) == C.CUSTOMER_CATE_COLUMNS
    assert len(table) == len(df) * 2 * 2  # units x outcomes x models
    inside = ((scores["propensity"] >= 0.1) & (scores["propensity"] <= 0.9)).astype(int).to_numpy()
    for (_, _), g in table.groupby(["outcome", "model"]):
        np.testing.assert_array_equal(g["in_overlap"].to_numpy(), inside)
        np.testing.assert_array_equal(g["household_id"].to_numpy(), df["household_id"].to_numpy())
    assert list(summary.columns) == C.SUMMARY_COLUMNS and len(summary) == 4
    assert (summary["n_overlap"] == inside.sum()).all()
    assert (summary["rloss_gain"] == summary["rloss_constant"] - summary["rloss_heldout"]).all()
    assert metrics["cate_units"] == len(df) and metrics["cate_units_overlap"] == int(inside.sum())
    assert metrics["cate_lowest_rloss_model_purchase_amount"] in ("t_learner", "linear_dml")


def test_bad_inputs_are_one_line_errors():
    df, scores = cohort_frame()
    with pytest.raises(InputError, match="purchase_count missing"):
        C.run_cate(df.drop(columns="purchase_count"), scores, **SECTIONS)
    with pytest.raises(InputError, match="no propensity score"):
        C.run_cate(df, scores.iloc[:-1], **SECTIONS)
    narrow = {**SECTIONS, "ate": {**SECTIONS["ate"], "trim_low": 0.49, "trim_high": 0.51}}
    with pytest.raises(InputError, match="fewer than 10 in an arm"):
        C.run_cate(df, scores, **narrow)
    with pytest.raises(ParamError, match="cate.models"):
        C.make_cate_model("g_learner")


def test_parts_gathered_in_any_order_equal_the_one_process_stage(tmp_path):
    """The workflow fits one job per (learner, outcome) and gathers them: the same tables as run_cate, whatever
    order the parts arrive in, and through the stage scripts' CSV files."""
    df, scores = cohort_frame(n_households=160)
    whole = C.run_cate(df, scores, **SECTIONS)
    pairs = [(o, m) for o in SECTIONS["ate"]["outcomes"] for m in SECTIONS["cate"]["models"]]
    parts = [C.run_cate_part(df, scores, model=m, outcome=o, **SECTIONS) for o, m in reversed(pairs)]
    gathered = C.gather_cate(df, scores, parts, **SECTIONS)
    pd.testing.assert_frame_equal(gathered[0], whole[0])
    pd.testing.assert_frame_equal(gathered[1], whole[1])
    assert gathered[2] == whole[2]
    with pytest.raises(InputError, match="no predictions for purchase_count/linear_dml"):
        C.gather_cate(df, scores, parts[1:], **SECTIONS)
    shuffled = [p.sample(frac=1.0, random_state=0) if i == 0 else p for i, p in enumerate(parts)]
    with pytest.raises(InputError, match="cohort order"):
        C.gather_cate(df, scores, shuffled, **SECTIONS)
    with pytest.raises(ParamError, match="ate.outcomes"):
        C.run_cate_part(df, scores, model="t_learner", outcome="redemptions", **SECTIONS)


def test_cate_distribution_plot_both_languages(tmp_path):
    df, scores = cohort_frame()
    table, _, _ = C.run_cate(df, scores, **SECTIONS)
    en, ko = F.save_bilingual(F.cate_distribution_plot, tmp_path / "cate_distribution.png", table)
    assert en.stat().st_size > 10_000 and ko.stat().st_size > 10_000
    with pytest.raises(InputError, match="in_overlap"):
        F.cate_distribution_plot(table.drop(columns="in_overlap"))


def test_linear_dml_effect_is_linear_in_the_listed_modifiers_only():
    X, y, t, tau, _ = data(n=600, seed=6)
    g = np.arange(len(t))
    folds = make_folds(t, g, 3, 0)
    out = C.cross_fit_cate(X, y, t, g, folds, models=("linear_dml",), linear_modifiers=[1], **FAST)["linear_dml"]
    z = np.sign(X[:, 1]) * np.log1p(np.abs(X[:, 1]))  # the featurizer's signed log
    for k in range(3):  # inside a fold the CATE is a * z1 + b exactly, whatever the other columns
        m = out["fold"].to_numpy() == k
        assert abs(np.corrcoef(out.loc[m, "cate"], z[m])[0, 1]) > 1 - 1e-9
    assert np.corrcoef(out["cate"], tau)[0, 1] > 0.95
    df, scores = cohort_frame()
    sections = {**SECTIONS, "cate": {**SECTIONS["cate"], "linear_modifiers": ["x_1", "2", "not_a_covariate"]}}
    _, _, metrics = C.run_cate(df, scores, **sections)
    assert metrics["cate_linear_modifiers"] == ["x_1", "x_2"]  # names with or without x_; absent ones skipped
