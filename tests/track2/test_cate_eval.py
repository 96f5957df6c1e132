"""The cate_eval stage: known answers on synthetic cohorts, honesty, agreement with the cate stage, errors, the script."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr

from conftest import ROOT, run_script, write_params
from segtarget.core.errors import InputError, ParamError
from segtarget.track2 import cate as C
from segtarget.track2 import cate_eval as CE
from segtarget.track2.design import make_folds
from segtarget.track2.evaluation import SELECTION_RULES

CATE = dict(models=["t_learner", "linear_dml"], train_population="trimmed", outcome_model="ridge", inner_cv=2,
            linear_modifiers=[], forest_trees=40, forest_min_leaf=10, level=0.9, seed=0)
ATE = dict(outcomes=["purchase_amount"], trim_low=0.1, trim_high=0.9)
POS = dict(n_splits=3, seed=0, logit_C=1.0)
EVAL = dict(selection_rule="rate_blp_rloss", n_bootstrap=100, uplift_at=[0.1, 0.2, 0.3, 0.5], calibration_groups=5,
            level=0.95, seed=0)


def cohort(n_households=500, seed=0, permute=False):
    """Households with one or two campaigns (8, 9); confounded on x_0; effect tau = 2 + 2 x_1.

    With ``permute`` the treatment is shuffled within campaign after the outcomes are drawn, so it
    does nothing, and the propensity is the campaign's treated share (known).
    """
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 3, n_households)
    hh = np.repeat(np.arange(n_households) + 1000, per)
    camp = np.concatenate([rng.choice([8, 9], k, replace=False) for k in per])
    n = hh.size
    X = rng.normal(size=(n, 3))
    e = 1 / (1 + np.exp(-0.6 * X[:, 0]))
    t = (rng.random(n) < e).astype(int)
    tau = 2 + 2 * X[:, 1]
    y = 2 * X[:, 0] + X[:, 2] + t * tau + rng.normal(scale=0.5, size=n_households)[np.searchsorted(np.unique(hh), hh)] \
        + rng.normal(size=n)
    if permute:
        for c in (8, 9):
            idx = np.flatnonzero(camp == c)
            t[idx] = rng.permutation(t[idx])
        e = pd.Series(t).groupby(camp).transform("mean").to_numpy()
    df = pd.DataFrame(X, columns=["x_0", "x_1", "x_2"])
    df.insert(0, "household_id", hh)
    df.insert(1, "campaign_id", camp)
    df.insert(2, "treated", t)
    df["x_campaign_9"] = (camp == 9).astype(float)
    df["purchase_amount"] = y
    scores = df[["household_id", "campaign_id"]].assign(propensity=np.clip(e, 0.02, 0.98))
    scores["propensity_logit"] = scores["propensity"]
    return df, scores, tau


def predictions(df, scores, cate=CATE):
    table, summary, _ = C.run_cate(df, scores, cate, ATE, POS)
    return table, summary


def with_rankings(pred: pd.DataFrame, tau, seed=0) -> pd.DataFrame:
    """The learners' predictions plus an oracle (the true effect) and a random ranking."""
    base = pred[pred["model"] == pred["model"].iloc[0]]
    rng = np.random.default_rng(seed)
    extra = [base.assign(model="oracle", cate=tau), base.assign(model="random", cate=rng.normal(size=len(base)))]
    return pd.concat([pred, *extra], ignore_index=True)


def evaluate(df, scores, pred, **over):
    return CE.run_cate_eval(df, scores, pred, {**EVAL, **over}, CATE, ATE, POS)


def true_gain(tau, q):
    s = np.sort(tau)[::-1]
    return np.interp(q * len(s), np.arange(len(s) + 1), np.r_[0.0, np.cumsum(s)]) / len(s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_effect_is_found_and_the_chosen_model_tracks_the_truth(seed):
    df, scores, tau = cohort(seed=seed)
    pred, _ = predictions(df, scores)
    out = evaluate(df, scores, pred)
    sel = out.selection.set_index("model")
    chosen = sel.index[sel["selected"] == 1][0]
    assert chosen != "constant", out.selection[["model", "rate_ci_low", "blp_beta1"]]
    ov = pred[(pred["model"] == chosen)]["in_overlap"].to_numpy() == 1
    rho = spearmanr(pred.loc[pred["model"] == chosen, "cate"].to_numpy()[ov], tau[ov]).statistic
    assert rho > 0.5, (chosen, rho)
    # customer_cate: the predictions with the chosen model's rows flagged
    cc = out.customer_cate
    assert list(cc.columns) == CE.CUSTOMER_CATE_COLUMNS and len(cc) == len(pred)
    assert (cc["selected"] == (cc["model"] == chosen)).all()
    m = out.metrics["cate"]["purchase_amount"]
    assert m["selected_model"] == chosen and m["customer_cate_rows_selected"] == len(df) and m["rate_ci"][0] > 0

    # the oracle ranking beats a random one on DR-AUUC, and its gain curve covers the true gain
    out2 = evaluate(df, scores, with_rankings(pred, tau, seed))
    s2 = out2.selection.set_index("model")
    assert s2.loc["oracle", "auuc_normalized_ci_low"] > s2.loc["random", "auuc_normalized"]
    assert s2.loc["oracle", "auuc"] > s2.loc["random", "auuc"]
    cur = out2.curves[out2.curves["model"] == "oracle"].set_index("fraction")
    tau_ov = tau[pred.loc[pred["model"] == pred["model"].iloc[0], "in_overlap"].to_numpy() == 1]
    covered = []
    for q in (0.2, 0.5, 0.8):  # pointwise 95% intervals: ask for two of three
        row = cur.iloc[np.argmin(np.abs(cur.index - q))]
        covered.append(row["gain_ci_low"] <= true_gain(tau_ov, row.name) <= row["gain_ci_high"])
    assert sum(covered) >= 2, covered


def test_with_permuted_treatment_nothing_is_found_and_the_constant_is_chosen():
    covered, constant = [], []
    for seed in range(5):
        df, scores, _ = cohort(n_households=400, seed=20 + seed, permute=True)
        pred, _ = predictions(df, scores)
        out = evaluate(df, scores, pred, seed=seed)
        rows = out.selection[out.selection["model"] != "constant"]
        covered.append(bool(((rows["rate_ci_low"] <= 0) & (rows["rate_ci_high"] >= 0)).all()))
        constant.append(out.metrics["cate"]["purchase_amount"]["selected_model"] == "constant")
        if constant[-1]:
            assert (out.customer_cate["selected"] == 0).all()
            assert "no model's rows" in out.metrics["cate"]["purchase_amount"]["note"]
    assert sum(covered) >= 4, covered
    assert sum(constant) >= 4, constant


def test_a_households_own_nuisances_and_cate_do_not_depend_on_its_outcomes():
    df, scores, _ = cohort(n_households=300, seed=5)
    keys = df.merge(scores, on=["household_id", "campaign_id"])
    hh = df["household_id"].to_numpy()
    target = hh[np.flatnonzero(np.bincount(np.searchsorted(np.unique(hh), hh)) == 2)[0]]
    own = hh == target
    df2 = df.copy()
    df2.loc[own, "purchase_amount"] += 50.0
    folds = make_folds(df["treated"], hh, POS["n_splits"], POS["seed"])
    covs = ["x_0", "x_1", "x_2", "x_campaign_9"]
    a = CE.cross_fit_nuisances(df[covs], df["purchase_amount"], df["treated"], keys["propensity"], folds, "hgb", 0)
    b = CE.cross_fit_nuisances(df2[covs], df2["purchase_amount"], df2["treated"], keys["propensity"], folds, "hgb", 0)
    for k in ("mu0", "mu1", "m"):
        np.testing.assert_array_equal(a[k][own], b[k][own])
    # the other folds' models did see the change (mu0 or mu1, by the household's arms)
    assert not np.allclose(a["m"][~own], b["m"][~own])
    assert not (np.allclose(a["mu0"][~own], b["mu0"][~own]) and np.allclose(a["mu1"][~own], b["mu1"][~own]))
    assert not np.allclose(a["dr"][own], b["dr"][own])  # only through its own outcome
    pa, _ = predictions(df, scores)
    pb, _ = predictions(df2, scores)
    mine = pa["household_id"] == target
    np.testing.assert_array_equal(pa.loc[mine, "cate"].to_numpy(), pb.loc[mine, "cate"].to_numpy())
    assert not np.allclose(pa.loc[~mine, "cate"], pb.loc[~mine, "cate"])


def test_r_loss_agrees_with_the_cate_stage_summary():
    df, scores, _ = cohort(n_households=300, seed=6)
    pred, summary = predictions(df, scores)
    out = evaluate(df, scores, pred)
    merged = summary.merge(out.selection, on=["outcome", "model"], suffixes=("_cate", "_eval"))
    assert len(merged) == len(CATE["models"])
    np.testing.assert_allclose(merged["rloss_heldout_eval"], merged["rloss_heldout_cate"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged["rloss_constant_eval"], merged["rloss_constant_cate"], rtol=0, atol=1e-9)


def test_tables_figures_inputs_and_the_constant_candidate():
    df, scores, _ = cohort(n_households=300, seed=7)
    pred, _ = predictions(df, scores)
    out = evaluate(df, scores, pred, selection_rule="constant", calibration_groups=4)
    s = out.selection
    assert list(s.columns[:10]) == ["outcome", "model", "rloss_heldout", "auuc_normalized", "qini_normalized",
                                    "blp_pvalue", "rate", "rate_ci_low", "rate_ci_high", "selected"]
    assert s["model"].tolist() == [*CATE["models"], "constant"] and s["selected"].tolist() == [0, 0, 1]
    assert s.loc[s["selected"] == 1, "reason"].str.contains("rule 'constant'").all() and (s.loc[s["selected"] == 0, "reason"] == "").all()
    assert {"uplift_at_10", "uplift_at_50_ci_high", "blp_beta1", "rloss_gain", "auuc_normalized_ci_low"} <= set(s.columns)
    assert {"outcome", "model", "fraction", "gain", "gain_ci_low", "gain_ci_high", "qini", "toc_ci_high"} <= set(out.curves.columns)
    assert out.calibration.groupby("model")["group"].max().loc["t_learner"] == 4
    assert out.agreement["purchase_amount"].shape == (2, 2)
    model, constant, drivers = out.drivers["purchase_amount"]
    assert constant and model in CATE["models"]
    assert drivers.loc[0, "covariate"] == "x_1"  # the effect modifier leads the projection


def test_bad_inputs_are_one_line_errors():
    df, scores, _ = cohort(n_households=200, seed=8)
    pred, _ = predictions(df, scores)
    with pytest.raises(InputError, match="column fold missing"):
        evaluate(df, scores, pred.drop(columns="fold"))
    with pytest.raises(InputError, match="do not match cohort.csv"):
        evaluate(df, scores, pred.iloc[1:])
    with pytest.raises(InputError, match="differs from the folds"):
        CE.run_cate_eval(df, scores, pred, EVAL, CATE, ATE, {**POS, "seed": 1})
    with pytest.raises(InputError, match="no predictions for outcome purchase_count"):
        CE.run_cate_eval(df.assign(purchase_count=1.0), scores, pred, EVAL, CATE,
                         {**ATE, "outcomes": ["purchase_amount", "purchase_count"]}, POS)
    with pytest.raises(ParamError, match="cate_eval.selection_rule"):
        evaluate(df, scores, pred, selection_rule="best_looking")
    schema = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
    assert schema["properties"]["cate_eval"]["properties"]["selection_rule"]["enum"] == list(SELECTION_RULES)


def test_script_runs_end_to_end(tmp_path):
    df, scores, _ = cohort(n_households=200, seed=9)
    df.to_csv(tmp_path / "cohort.csv", index=False)
    scores.to_csv(tmp_path / "scores.csv", index=False)
    params = write_params(tmp_path / "params.yaml", cate={**CATE, "models": ["t_learner", "s_learner"]}, ate=ATE, compute={"threads": 1},
                          positivity={"n_splits": 3, "seed": 0}, cate_eval={"n_bootstrap": 30})
    common = ["--params", str(params), "--cohort", str(tmp_path / "cohort.csv"), "--scores", str(tmp_path / "scores.csv")]
    for model in ("t_learner", "s_learner"):  # the workflow's cate_fit jobs, then the gather
        res = run_script("cate_fit.py", *common, "--model", model, "--outcome", "purchase_amount",
                         "--out", str(tmp_path / "parts" / "purchase_amount" / f"{model}.csv"))
        assert res.returncode == 0, res.stderr[-2000:]
    res = run_script("cate.py", *common, "--parts-dir", str(tmp_path / "parts"), "--out", str(tmp_path / "pred.csv"),
                     "--summary", str(tmp_path / "summary.csv"), "--figures-dir", str(tmp_path / "fig_cate"),
                     "--metrics", str(tmp_path / "cate.json"))
    assert res.returncode == 0, res.stderr[-2000:]
    out = ["--predictions", str(tmp_path / "pred.csv"), "--out", str(tmp_path / "customer_cate.csv"),
           "--selection", str(tmp_path / "sel.csv"), "--curves", str(tmp_path / "curves.csv"),
           "--calibration", str(tmp_path / "calib.csv"), "--dr-scores", str(tmp_path / "dr_scores.csv"), "--figures-dir", str(tmp_path / "fig"),
           "--metrics", str(tmp_path / "eval.json")]
    res = run_script("cate_eval.py", *common, *out)
    assert res.returncode == 0, res.stderr[-2000:]
    sel = pd.read_csv(tmp_path / "sel.csv")
    assert sel["selected"].sum() == 1 and len(sel) == 3
    assert pd.read_csv(tmp_path / "customer_cate.csv")["selected"].isin([0, 1]).all()
    figs = sorted(p.name for p in (tmp_path / "fig").glob("*.png"))
    assert len(figs) == 12 and "uplift_curves_ko.png" in figs
    block = json.loads((tmp_path / "eval.json").read_text())["track2"]["cate"]["purchase_amount"]
    assert {"selected_model", "rloss_gain", "auuc_normalized", "auuc_normalized_ci", "blp_pvalue", "rate", "rate_ci",
            "reason"} <= set(block)
    bad = write_params(tmp_path / "bad.yaml", cate_eval={"selection_rule": "best_looking"})
    res = run_script("cate_eval.py", "--params", str(bad), *common[2:], *out)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "cate_eval.selection_rule" in res.stderr
    res = run_script("cate_eval.py", *common, *out, "--predictions", str(tmp_path / "missing.csv"))
    assert res.returncode == 2 and "missing.csv" in res.stderr
