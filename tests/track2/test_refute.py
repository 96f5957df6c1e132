"""Refuters of the headline ATE: they refit the ate stage's own estimator, pass on clean data,
agree with dowhy's refuters, and reject stale inputs and bad parameters in one line."""

from __future__ import annotations

import argparse
import json
import runpy
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, run_script, write_params
from refute_data import ATE, POS, REFUTE, cohort, stage_tables
from segtarget.core import params
from segtarget.core.errors import InputError, ParamError
from segtarget.track2 import refute as R
from segtarget.track2.design import make_folds
from segtarget.track2.effects import ols
from segtarget.track2.grouped_folds import make_folds_fast


@pytest.fixture(scope="module")
def clean():
    """No effect, no confounding: the cohort, the stage tables and the prepared headline."""
    df = cohort(seed=0)
    scores, table = stage_tables(df)
    return df, scores, table, R.prepare(df, scores, table, ATE, POS)


def test_with_no_effect_and_no_confounding_every_refuter_passes(clean):
    *_, head = clean
    table, block = R.run_refutation(head, REFUTE)
    assert list(table.columns[:8]) == ["outcome", "refuter", "estimate", "new_effect", "p_value", "passed",
                                       "n_simulations", "pass_rule"]
    assert table["refuter"].tolist() == list(R.REFUTERS)
    assert table["passed"].tolist() == [1, 1, 1, 1], table.to_string()
    assert table["n_simulations"].tolist() == [20, 6, 10, 10] and (table["n_failed"] == 0).all()
    assert block["all_passed"] and block["n_passed"] == 4
    placebo = table.set_index("refuter").loc["placebo_treatment"]
    assert placebo["new_effect_low"] < 0 < placebo["new_effect_high"] and "within campaign" in placebo["pass_rule"]
    assert (table["p_value"] > 0.05).all()  # dowhy's reading: no refutation is significant


def test_fast_folds_are_the_design_folds():
    rng = np.random.default_rng(0)
    for _ in range(40):
        g = int(rng.integers(8, 300))
        codes = np.repeat(rng.permutation(g) * 3 + 7, rng.integers(1, 4, g))
        t = (rng.random(codes.size) < rng.uniform(0.1, 0.6)).astype(int)
        k, seed = int(rng.integers(2, 7)), int(rng.integers(0, 1000))
        if t.min() == t.max() or min(t.sum(), (1 - t).sum()) < k:
            continue
        try:
            slow = make_folds(t, codes, k, seed)
        except InputError:
            with pytest.raises(InputError):
                make_folds_fast(t, codes, k, seed)
            continue
        fast = make_folds_fast(t, codes, k, seed)
        assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(slow, fast))


def test_the_refit_reproduces_the_ate_stage_and_stale_inputs_are_rejected(clean):
    df, scores, table, head = clean
    row = table[(table.method == "aipw") & (table.population == "trimmed")].iloc[0]
    assert head.estimates["purchase_amount"].estimate == pytest.approx(row.estimate, abs=1e-9)
    stale = table.copy()
    stale.loc[(stale.method == "aipw") & (stale.population == "trimmed"), "estimate"] += 1e-4
    with pytest.raises(InputError, match="rerun the ate stage"):
        R.prepare(df, scores, stale, ATE, POS)
    with pytest.raises(InputError, match="no estimated headline row"):
        R.prepare(df, scores, table[table.method != "aipw"], ATE, POS)
    with pytest.raises(InputError, match="trimmed band"):
        R.prepare(df, scores, table, {**ATE, "trim_low": 0.05}, POS)
    with pytest.raises(InputError, match="rerun the positivity stage"):
        R.prepare(df, scores.assign(propensity=scores["propensity"] * 0.99), table, ATE, POS)
    with pytest.raises(InputError, match="outcome learner"):
        R.prepare(df, scores, table, {**ATE, "outcome_model": "hgb"}, POS)


def test_every_refit_refits_the_propensity_and_cached_folds_change_nothing(clean):
    *_, head = clean
    s, spec = head.sample, head.spec
    rng = np.random.default_rng(0)
    perm = R.permute_within(s.strata, rng)
    assert (np.sort(s.t[perm][s.strata == 0]) == np.sort(s.t[s.strata == 0])).all()  # arms kept per campaign
    placebo = R.perturb("placebo_treatment", s, perm)
    assert placebo.e is None and placebo.ps_folds is None  # never the real treatment's scores (dowhy issue 1728)
    assert R.perturb("data_subset", s, R.household_subset(s.codes, 0.8, rng)).e is None
    assert R.perturb("random_common_cause", s, rng.standard_normal(s.t.size)).e is None
    # the dummy outcome keeps the scores: refitting them on the same treatment and covariates is identical
    assert np.array_equal(R.refit_propensity(s.X, s.t, s.codes, spec), s.e)
    for kind, draw in (("dummy_outcome", perm), ("random_common_cause", rng.standard_normal(s.t.size))):
        cached = R.perturb(kind, s, draw)
        fresh = cached.replace(e=None, ps_folds=None, folds=None)
        a, b = R.fit_headline(cached, spec), R.fit_headline(fresh, spec)
        assert a["purchase_amount"].estimate == b["purchase_amount"].estimate
    rows = R.household_subset(s.codes, 0.5, rng)
    kept = np.unique(s.codes[rows])
    assert kept.size == round(0.5 * np.unique(s.codes).size) and np.isin(s.codes, kept).sum() == rows.size


def test_the_recompute_population_reruns_the_band_on_each_refit(clean):
    df, scores, table, fixed = clean
    head = R.prepare(df, scores, table, ATE, POS, population="recompute")
    assert head.sample.pop is None and head.estimates["purchase_amount"].estimate == fixed.estimates["purchase_amount"].estimate
    few = {**REFUTE, "population": "recompute", "n_placebo": 3, "n_random_common_cause": 2, "n_subset": 2, "n_dummy": 2}
    out, block = R.run_refutation(head, few)
    assert (out["population"] == "recompute").all() and out["new_effect"].notna().all() and block["population"] == "recompute"
    # a permuted treatment is unpredictable: its refitted scores put (nearly) every unit inside the band
    placebo = R.perturb("placebo_treatment", head.sample, R.permute_within(head.sample.strata, np.random.default_rng(1)))
    e = R.refit_propensity(placebo.X, placebo.t, placebo.codes, head.spec)
    assert R.trim_mask(e, 0.1, 0.9).mean() > 0.99


def _ols_fit(sample, spec):
    """A linear regression estimator, y ~ 1 + t + X, as dowhy's backdoor.linear_regression."""
    return {o: ols(y, sample.t, sample.X, sample.codes) for o, y in sample.y.items()}


def test_refuter_logic_agrees_with_dowhy():
    from dowhy import CausalModel

    rng = np.random.default_rng(3)
    n = 400
    W = rng.normal(size=(n, 2))
    t = (rng.random(n) < 1 / (1 + np.exp(-W[:, 0]))).astype(int)
    y = 1 + 2 * t + W @ [1.5, -1.0] + rng.normal(size=n)
    data = pd.DataFrame({"t": t, "y": y, "w0": W[:, 0], "w1": W[:, 1]})
    sample = R.Sample(W, t, {"y": y}, np.arange(n), np.zeros(n, int), np.ones(n, bool))
    base = _ols_fit(sample, None)["y"]
    section = {**REFUTE, "rcc_max_shift_se": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment="t", outcome="y", common_causes=["w0", "w1"])
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
        assert estimate.value == pytest.approx(base.estimate, rel=1e-10)
        theirs = {
            "random_common_cause": model.refute_estimate(estimand, estimate, method_name="random_common_cause",
                                                         num_simulations=15, random_state=7),
            "placebo_treatment": model.refute_estimate(estimand, estimate, method_name="placebo_treatment_refuter",
                                                       placebo_type="permute", num_simulations=15, random_state=7),
        }
    # the same random draws as dowhy's (its RandomState stream), through our refuter logic
    rs = np.random.RandomState(7)
    draws = {"random_common_cause": [rs.normal(size=n) for _ in range(15)]}
    rs = np.random.RandomState(7)
    draws["placebo_treatment"] = [rs.choice(n, size=n, replace=False) for _ in range(15)]
    for kind, ref in theirs.items():
        sims = [r["y"] for r in R.simulate([(kind, d) for d in draws[kind]], sample, None, fit=_ols_fit)]
        row = R.summarise(kind, "y", base, sims, section)
        assert row["new_effect"] == pytest.approx(ref.new_effect, rel=1e-9, abs=1e-12), kind
        assert row["p_value"] == pytest.approx(ref.refutation_result["p_value"], rel=1e-9), kind
        assert not ref.refutation_result["is_statistically_significant"] and row["passed"] == 1


def test_p_values_follow_dowhy_and_rules_read_the_params():
    sims = np.linspace(-1, 1, 200)
    assert R.dowhy_p_value(0.0, sims) == pytest.approx(1.0)
    assert R.dowhy_p_value(2.0, sims) == 0.0
    assert R.dowhy_p_value(0.0, [-1.0, 1.0]) == pytest.approx(0.5)
    strict = {**REFUTE, "placebo_require_real_outside": True}
    assert R.pass_rule("placebo_treatment", strict).endswith("the real estimate lies outside it")
    assert "0.5 SE" in R.pass_rule("random_common_cause", REFUTE)
    from segtarget.track2.effects import Estimate
    base = Estimate(0.1, 1.0, 1.0, "", 100, 50, 50, 100)
    noise = np.random.default_rng(0).normal(size=50)
    assert R.summarise("placebo_treatment", "y", base, noise, REFUTE)["passed"] == 1
    assert R.summarise("placebo_treatment", "y", base, noise, strict)["passed"] == 0  # no real effect to stand out
    assert R.summarise("data_subset", "y", base, noise + 0.9, REFUTE)["passed"] == 0  # mean moved by ~0.9 SE
    failed = R.summarise("data_subset", "y", base, [np.nan, np.nan, 0.1], REFUTE)
    assert failed["passed"] == 0 and failed["n_failed"] == 2


@pytest.mark.parametrize("key, value, match", [
    ("n_placebo", 1, "refute.n_placebo"),
    ("subset_fraction", 1.0, "refute.subset_fraction"),
    ("rcc_max_shift_se", 0, "refute.rcc_max_shift_se"),
    ("population", "everyone", "refute.population"),
])
def test_bad_params_are_one_line_errors(key, value, match):
    with pytest.raises(ParamError, match=match) as err:
        R.check_section({**REFUTE, key: value})
    assert "\n" not in str(err.value)


def test_script_writes_the_tables_and_fails_cleanly(tmp_path):
    df = cohort(n_households=150, seed=2)
    scores, table = stage_tables(df)
    for name, frame in (("cohort", df), ("scores", scores), ("ate", table)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    refute = {"benchmark_groups": {"signal": ["0", "1"]}}
    good = write_params(tmp_path / "params.yaml", ate=ATE, positivity=POS, compute={"threads": 1}, refute=refute)
    out = {k: tmp_path / f"{k}.out" for k in ("out", "sensitivity", "metrics")}
    args = ["--cohort", str(tmp_path / "cohort.csv"), "--scores", str(tmp_path / "scores.csv"),
            "--ate", str(tmp_path / "ate.csv"), *[a for k, v in out.items() for a in (f"--{k}", str(v))]]
    stage = runpy.run_path(str(ROOT / "scripts" / "refute.py"))  # in-process: the CLI path is run below
    stage["run"](argparse.Namespace(params=str(good), **{k.lstrip("-"): v for k, v in zip(args[::2], args[1::2])}))
    ref = pd.read_csv(out["out"])
    assert ref["n_simulations"].tolist() == [50, 20, 20, 20] and set(ref["passed"]) <= {0, 1}
    sens = pd.read_csv(out["sensitivity"])
    assert {"outcome", "method", "value"} <= set(sens.columns)
    assert set(sens["method"]) == {"e_value", "linear_dml_ovb", "loco_benchmark", "summary"}
    assert set(sens["covariate_group"].dropna()) == {"signal", "2", "campaign_9"}
    block = json.loads(out["metrics"].read_text())["track2"]
    assert block["refutation"]["n_refutations"] == 4 and "e_value" in block["sensitivity"]["purchase_amount"]
    before = {k: v.read_bytes() for k, v in out.items()}
    bad = write_params(tmp_path / "bad.yaml", refute={"n_placebo": 3})  # below the schema's floor of 5
    with pytest.raises(ParamError, match="refute.n_placebo = 3 is invalid; expected >= 5"):
        params.load_section(bad, "refute")
    stale = table.assign(estimate=table["estimate"] + 1)
    stale.to_csv(tmp_path / "ate.csv", index=False)
    res = run_script("refute.py", "--params", str(good), *args)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "rerun the ate stage" in res.stderr
    assert {k: v.read_bytes() for k, v in out.items()} == before  # earlier results untouched
    assert sorted(p.name for p in tmp_path.glob(".*")) == []  # no temporary file left behind
