"""CATE evaluation: DR scores, tie-averaged ranking curves, RATE, BLP, cluster bootstrap, model choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segtarget.core.errors import InputError, ParamError
from segtarget.track2 import evaluation as E
from segtarget.track2 import uplift as U


def cohort(n_households=1500, seed=0, effect=True, randomized=False):
    """Households with 1-3 units (campaigns); effect tau(x) = 1 + x0 or none; true nuisances.

    Confounded assignment on x1, which also drives the outcome; a household random effect
    makes units of a household correlated (what the cluster bootstrap is for).
    """
    rng = np.random.default_rng(seed)
    hh = np.repeat(np.arange(n_households), rng.integers(1, 4, n_households))
    n = hh.size
    X = rng.normal(size=(n, 2))
    e = np.full(n, 0.5) if randomized else 1 / (1 + np.exp(-0.7 * X[:, 1]))
    t = (rng.random(n) < e).astype(int)
    tau = 1 + X[:, 0] if effect else np.zeros(n)
    mu0 = 2 * X[:, 1]
    y = mu0 + t * tau + rng.normal(scale=0.7, size=n_households)[hh] + rng.normal(size=n)
    return dict(X=X, hh=hh, e=e, t=t, tau=tau, mu0=mu0, mu1=mu0 + tau, m=mu0 + e * tau, y=y, rng=rng)


def with_dr(c):
    c["dr"] = E.dr_scores(c["y"], c["t"], c["mu0"], c["mu1"], c["e"])
    return c


def true_gain(tau, q):
    """(1/n) * sum of the TRUE effects of the top q*n units ranked by the true effect (no ties)."""
    s = np.sort(tau)[::-1]
    return np.interp(q * len(s), np.arange(len(s) + 1), np.r_[0.0, np.cumsum(s)]) / len(s)


# --- DR scores ---------------------------------------------------------------------------------

def test_dr_scores_match_a_hand_computed_example():
    y, t = [3.0, 0.0, 2.0], [1, 0, 1]
    mu0, mu1 = [1.0, 1.0, 0.0], [2.0, 2.0, 1.0]
    # 1 + (3-2)/0.5 = 3;  1 - (0-1)/(1-0.75) = 5;  1 + (2-1)/0.25 = 5
    np.testing.assert_allclose(E.dr_scores(y, t, mu0, mu1, [0.5, 0.75, 0.25]), [3.0, 5.0, 5.0], rtol=0, atol=1e-14)
    # clipping: e = 0.99 -> 0.9 and 0.01 -> 0.1: 1 - (0-1)/0.1 = 11; 1 + (2-1)/0.1 = 11
    np.testing.assert_allclose(E.dr_scores(y, t, mu0, mu1, [0.5, 0.99, 0.01], clip=0.1), [3.0, 11.0, 11.0],
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("randomized", [True, False])
def test_mean_dr_score_recovers_the_true_ate(randomized):
    c = with_dr(cohort(seed=1, randomized=randomized))
    se = c["dr"].std() / np.sqrt(len(c["dr"]))
    assert abs(c["dr"].mean() - c["tau"].mean()) < 3 * se
    # the naive treated-minus-control difference is confounded in the observational design
    naive = c["y"][c["t"] == 1].mean() - c["y"][c["t"] == 0].mean()
    assert randomized or abs(naive - c["tau"].mean()) > 10 * se


# --- ranking curves ------------------------------------------------------------------------------

def test_a_constant_prediction_is_exactly_the_random_line():
    c = with_dr(cohort(n_households=300, seed=2))
    const = np.full(len(c["dr"]), 0.7)
    curves = U.uplift_curves(const, c["dr"])
    np.testing.assert_allclose(curves["qini"], 0, atol=1e-12)
    np.testing.assert_allclose(curves["toc"], 0, atol=1e-12)
    np.testing.assert_allclose(curves["gain"], curves["fraction"] * c["dr"].mean(), atol=1e-12)
    a = U.uplift_areas(const, c["dr"])
    assert abs(a["qini_area"]) < 1e-12 and abs(a["rate"]) < 1e-12 and abs(a["auuc_normalized"]) < 1e-12
    assert abs(a["auuc"] - a["auuc_random"]) < 1e-12
    s, cur = E.evaluate_model(c["y"], c["t"], c["m"], c["e"], c["dr"], const, c["hh"], n_boot=30)
    assert s["rate"] == 0 and s["rate_ci_low"] == 0 and s["rate_ci_high"] == 0
    assert np.isnan(s["blp_beta1"]) and np.isnan(s["blp_pvalue"]) and abs(s["blp_beta0"] - c["dr"].mean()) < 1e-12
    np.testing.assert_allclose(cur[["qini", "qini_ci_low", "qini_ci_high", "toc"]], 0, atol=1e-12)


def test_areas_are_exact_integrals_of_the_curves():
    rng = np.random.default_rng(3)
    tau, d = np.round(rng.normal(size=40), 1), rng.normal(size=40)
    a = U.uplift_areas(tau, d)
    f = np.linspace(0, 1, 400_001)
    c = U.uplift_curves(tau, d, fractions=f)
    assert abs(np.trapezoid(c["gain"], f) - a["auuc"]) < 1e-9
    assert abs(np.trapezoid(c["qini"], f) - a["qini_area"]) < 1e-9
    assert abs(np.trapezoid(c["toc"], f) - a["rate"]) < 1e-4  # G/q is curved: the fine grid converges
    assert abs(np.trapezoid(f * c["toc"], f) - a["qini_area"]) < 1e-9  # Qini-weighted RATE = Qini area


def test_ties_are_averaged_whatever_the_input_order():
    # tie group {4, 0} at the top: a quarter of the units takes the group's mean, 2, not 4 or 0
    c = U.uplift_curves([1, 1, 0, 0], [4.0, 0.0, 2.0, 2.0], fractions=[0.25, 0.5, 0.75])
    np.testing.assert_allclose(c["gain"], [0.5, 1.0, 1.5])
    assert U.uplift_at_k([1, 1, 0, 0], [4.0, 0.0, 2.0, 2.0], 0.25) == (2.0, 0.0)
    rng = np.random.default_rng(4)
    tau, d = rng.integers(0, 5, 500).astype(float), rng.normal(size=500)
    perm = rng.permutation(500)
    a, b = U.uplift_curves(tau, d), U.uplift_curves(tau[perm], d[perm])
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-12)
    aa, ab = U.uplift_areas(tau, d), U.uplift_areas(tau[perm], d[perm])
    assert all(abs(aa[k] - ab[k]) < 1e-12 for k in aa)


def test_the_whole_evaluation_is_invariant_to_the_order_of_the_units():
    c = with_dr(cohort(n_households=300, seed=5))
    tau = np.round(c["tau"], 0)  # ties
    args = [c[k] for k in ("y", "t", "m", "e", "dr")]
    s1, c1 = E.evaluate_model(*args, tau, c["hh"], n_boot=40, seed=9)
    perm = c["rng"].permutation(len(tau))
    s2, c2 = E.evaluate_model(*[a[perm] for a in args], tau[perm], c["hh"][perm], n_boot=40, seed=9)
    assert s1.keys() == s2.keys()
    for k in s1:
        assert s1[k] == pytest.approx(s2[k], rel=1e-9, abs=1e-12, nan_ok=True), k
    np.testing.assert_allclose(c1.to_numpy(), c2.to_numpy(), rtol=1e-9, atol=1e-12)


# --- a model that knows the truth, and no effect at all -----------------------------------------

def test_the_true_cate_is_found_and_its_gain_curve_covers_the_true_gain():
    c = with_dr(cohort(n_households=1500, seed=6))
    preds = {"truth": c["tau"], "random": c["rng"].normal(size=len(c["tau"]))}
    table, curves = E.evaluate_models(c["y"], c["t"], c["m"], c["e"], c["dr"], preds, c["hh"], n_boot=200, seed=0)
    truth, rnd = table.set_index("model").loc["truth"], table.set_index("model").loc["random"]
    assert truth["auuc_normalized_ci_low"] > rnd["auuc_normalized_ci_high"]
    assert truth["auuc_normalized"] > 0.1 and abs(rnd["auuc_normalized"]) < 0.05
    assert truth["qini_normalized"] == truth["auuc_normalized"]
    assert truth["rate_ci_low"] > 0 and truth["rate_pvalue"] < 1e-6
    assert abs(truth["blp_beta1"] - 1) < 0.5 and truth["blp_pvalue"] < 1e-6
    assert abs(truth["blp_beta0"] - c["tau"].mean()) < 4 * truth["blp_beta0_se"]
    assert truth["rloss_gain"] > 0 and truth["rloss_heldout"] < rnd["rloss_heldout"]
    cur = curves[curves["model"] == "truth"].set_index("fraction")
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        row = cur.iloc[np.argmin(np.abs(cur.index - q))]
        g = true_gain(c["tau"], row.name)
        assert row["gain_ci_low"] <= g <= row["gain_ci_high"], (q, g, row["gain_ci_low"], row["gain_ci_high"])
    # uplift@10%: the true mean effect of the top tenth lies in its interval
    top = np.sort(c["tau"])[::-1][: int(0.1 * len(c["tau"]))].mean()
    assert truth["uplift_at_10_ci_low"] <= top <= truth["uplift_at_10_ci_high"]
    assert E.select_model(table)[0] == "truth"


def test_with_permuted_treatment_nothing_is_found_and_the_constant_is_chosen():
    covered, blp_null, chose_constant = [], [], []
    for seed in range(8):  # each check fails by chance in ~5% of seeds: ask for 6 of 8
        c = cohort(n_households=500, seed=10 + seed)
        rng = c["rng"]
        t = rng.permutation(c["t"])  # the treatment no longer does anything
        m = c["mu0"] + c["t"] * c["tau"]  # y's mean given x and the original treatment: known
        e = np.full(len(t), t.mean())
        dr = E.dr_scores(c["y"], t, m, m, e)
        # the former true CATE, a prognostic score (x1 drives y, not the effect), and noise
        preds = {"old_truth": c["tau"], "prognostic": c["X"][:, 1], "noise": rng.normal(size=len(t))}
        table, _ = E.evaluate_models(c["y"], t, m, e, dr, preds, c["hh"], n_boot=200, seed=seed)
        rows = table[table["model"] != "constant"]
        covered.append(((rows["rate_ci_low"] <= 0) & (rows["rate_ci_high"] >= 0)).to_numpy())
        blp_null.append((rows["blp_pvalue"] > 0.05).to_numpy())
        chose_constant.append(E.select_model(table)[0] == "constant")
    assert np.sum(covered, axis=0).min() >= 6, covered
    assert np.sum(blp_null, axis=0).min() >= 6, blp_null
    assert sum(chose_constant) >= 6, chose_constant


# --- BLP, calibration groups, R-loss -------------------------------------------------------------

def test_blp_slope_measures_calibration():
    c = with_dr(cohort(n_households=1500, seed=7, randomized=True))
    # predictions with double the true spread: slope 1/2; shifted predictions: slope unchanged
    assert abs(E.blp_test(c["dr"], 2 * c["tau"], c["hh"])["beta1"] - 0.5) < 0.25
    a, b = E.blp_test(c["dr"], c["tau"], c["hh"]), E.blp_test(c["dr"], c["tau"] + 5, c["hh"])
    assert a["beta1"] == pytest.approx(b["beta1"]) and a["beta0"] == pytest.approx(b["beta0"])
    # household-level effect heterogeneity makes a household's DR scores correlated: the
    # household-clustered SE then exceeds the unit-level one (each unit its own cluster)
    d = c["dr"] + c["rng"].normal(scale=4.0, size=c["hh"].max() + 1)[c["hh"]]
    clustered, units = E.blp_test(d, c["tau"], c["hh"]), E.blp_test(d, c["tau"], np.arange(len(d)))
    assert clustered["beta0_se"] > 1.2 * units["beta0_se"] and clustered["beta1"] == pytest.approx(units["beta1"])


def test_calibration_groups_track_the_true_effect_and_keep_ties_together():
    c = with_dr(cohort(n_households=1500, seed=8))
    g = E.calibration_groups(c["dr"], c["tau"], c["hh"], n_groups=5)
    assert g["group"].tolist() == [1, 2, 3, 4, 5] and g["n"].sum() == len(c["dr"])
    assert np.all(np.diff(g["tau_hat_mean"]) > 0) and np.all(np.diff(g["dr_mean"]) > 0)
    covers = (g["ci_low"] <= g["tau_hat_mean"]) & (g["tau_hat_mean"] <= g["ci_high"])  # tau_hat is the truth
    assert covers.sum() >= 4
    tied = E.calibration_groups([1.0, 5.0, 0.0, 2.0, 0.0, 0.0], [1, 1, 0, 2, 0, 0], [1, 2, 3, 4, 5, 6], n_groups=3)
    assert tied["n"].tolist() == [3, 3] and tied["tau_hat_min"].tolist() == [0, 1]
    shuffled = E.calibration_groups([0.0, 0.0, 5.0, 2.0, 1.0, 0.0], [0, 0, 1, 2, 1, 0], [1, 2, 3, 4, 5, 6], n_groups=3)
    pd.testing.assert_frame_equal(tied[["group", "n", "tau_hat_mean"]], shuffled[["group", "n", "tau_hat_mean"]])


def test_constant_tau_minimises_the_r_loss_and_the_truth_beats_it():
    c = cohort(n_households=1000, seed=9)
    k = E.constant_tau(c["y"], c["t"], c["m"], c["e"])
    loss = E.r_loss(c["y"], c["t"], c["m"], c["e"], k)
    assert loss < E.r_loss(c["y"], c["t"], c["m"], c["e"], k + 0.01)
    assert loss < E.r_loss(c["y"], c["t"], c["m"], c["e"], k - 0.01)
    assert abs(k - c["tau"].mean()) < 0.15
    assert E.r_loss(c["y"], c["t"], c["m"], c["e"], c["tau"]) < loss


# --- cluster bootstrap ------------------------------------------------------------------------------

def test_cluster_bootstrap_resamples_whole_households_deterministically():
    rng = np.random.default_rng(11)
    labels = np.repeat([f"h{i}" for i in range(60)], rng.integers(1, 5, 60))
    labels = labels[rng.permutation(labels.size)]  # a household's units need not be adjacent
    idx = E.cluster_bootstrap_indices(labels, 25, seed=3)
    assert len(idx) == 25
    codes = pd.factorize(labels)[0]
    for ix in idx:
        mult = np.bincount(ix, minlength=labels.size)
        per_hh = [np.unique(mult[codes == h]) for h in range(60)]
        assert all(len(u) == 1 for u in per_hh)  # all units of a household, the same number of times
        assert sum(u[0] for u in per_hh) == 60  # as many households drawn as there are
    again = E.cluster_bootstrap_indices(labels, 25, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(idx, again))
    assert not all(np.array_equal(a, b) for a, b in zip(idx, E.cluster_bootstrap_indices(labels, 25, seed=4)))
    # the intervals of evaluate_model use exactly these resamples
    sorted_codes = np.unique(labels, return_inverse=True)[1]
    counts = E._counts(sorted_codes, 60, 25, 3)
    assert all(np.array_equal(np.bincount(ix, minlength=labels.size), w) for ix, w in zip(idx, counts))


def test_parallel_evaluation_gives_identical_results():
    c = with_dr(cohort(n_households=300, seed=12))
    preds = {"a": c["tau"], "b": c["X"][:, 1]}
    args = [c[k] for k in ("y", "t", "m", "e", "dr")]
    t1, c1 = E.evaluate_models(*args, preds, c["hh"], n_boot=30, seed=1, n_jobs=1)
    t2, c2 = E.evaluate_models(*args, preds, c["hh"], n_boot=30, seed=1, n_jobs=2)
    pd.testing.assert_frame_equal(t1, t2)
    pd.testing.assert_frame_equal(c1, c2)
    assert list(c1.columns) == ["model", "fraction", "gain", "gain_ci_low", "gain_ci_high", "qini", "qini_ci_low",
                                "qini_ci_high", "toc", "toc_ci_low", "toc_ci_high"]


# --- model choice ---------------------------------------------------------------------------------

def selection_table():
    return pd.DataFrame({
        "model": ["a", "b", "c", "constant"], "rloss_heldout": [0.90, 0.80, 0.70, 1.00],
        "rate": [0.3, 0.2, 0.05, 0.0], "rate_ci_low": [0.1, 0.05, -0.1, 0.0], "rate_ci_high": [0.5, 0.4, 0.2, 0.0],
        "blp_beta1": [0.8, -0.2, 0.9, np.nan], "mean_tau_hat": [1.1, 1.0, 1.2, 0.95], "level": 0.95,
    })


def test_selection_rules():
    t = selection_table()
    name, why = E.select_model(t)  # b fails the BLP slope, c the RATE interval: a, despite higher R-loss
    assert name == "a" and "0.9" in why and "[0.1, 0.5]" in why and "\n" not in why
    assert E.select_model(t, "min_rloss")[0] == "c"
    name, why = E.select_model(t, "constant")
    assert name == "constant" and "0.95" in why
    t.loc[0, "rate_ci_low"] = -0.01
    name, why = E.select_model(t)
    assert name == "constant" and "no model" in why
    assert set(E.SELECTION_RULES) == {"rate_blp_rloss", "min_rloss", "constant"}


# --- the same numbers as econml's DRTester ---------------------------------------------------------

def test_agrees_with_econml_drtester():
    validate = pytest.importorskip("econml.validate")
    from sklearn.linear_model import LinearRegression, LogisticRegression

    rng = np.random.default_rng(13)
    n = 1500
    X = rng.normal(size=(n, 2))
    D = (rng.random(n) < 1 / (1 + np.exp(-0.6 * X[:, 1]))).astype(int)
    y = X[:, 1] + D * (1 + X[:, 0]) + rng.normal(size=n)

    class Fixed:
        """A 'fitted CATE model' returning coarse predictions (many ties)."""

        def effect(self, X, T0=0, T1=1):
            return np.round(1 + X[:, 0], 1)

    tester = validate.DRTester(model_regression=LinearRegression(), model_propensity=LogisticRegression(),
                               cate=Fixed(), cv=5)
    tester.fit_nuisance(X, D, y)
    # econml's cross-fitted nuisances (its splitter is seeded, so this refit is identical);
    # its DR outcome clips each arm's probability below at 0.01, i.e. e to [0.01, 0.99]
    reg, prop = tester.fit_nuisance_cv(X, D, y)
    dr = E.dr_scores(y, D, reg[:, 0], reg[:, 1], prop[:, 1], clip=0.01)
    np.testing.assert_allclose(dr, tester.dr_val_[:, 0], rtol=1e-9, atol=1e-9)

    tester.get_cate_preds(X, X)  # predictions for the "training" quantiles are the same units'
    tau_hat = tester.cate_preds_val_[:, 0]
    # BLP: econml regresses on [1, tau_hat] (uncentred, classical SEs); the slope is the same
    # as ours (centring moves only the intercept; clustering changes only the SEs)
    ours = E.blp_test(tester.dr_val_[:, 0], tau_hat, np.arange(n))
    assert ours["beta1"] == pytest.approx(tester.evaluate_blp().params[0], rel=1e-10)

    pct = np.linspace(5, 95, 19)
    # econml's point at percentile p takes every unit with tau_hat >= the p-th percentile of the
    # predictions: whole tie groups, so its actual fraction is that share, while it labels the
    # point 100 - p. At the actual fraction our tie-averaged curve needs no cut inside a tie
    # group, so the two must agree exactly; at the nominal label they would not.
    frac = np.array([np.mean(tau_hat >= q) for q in np.percentile(tau_hat, pct)])
    assert np.max(np.abs(frac - (1 - pct / 100))) > 0.005  # the ties do matter here
    curve = U.uplift_curves(tau_hat, tester.dr_val_[:, 0], fractions=frac)
    for metric, ours_col in (("toc", curve["toc"]), ("qini", curve["qini"])):
        res = tester.evaluate_uplift(metric=metric, percentiles=pct, n_bootstrap=20)
        theirs = next(iter(res.curves.values()))
        np.testing.assert_allclose(theirs["Percentage treated"], 100 - pct)
        np.testing.assert_allclose(ours_col, theirs["value"], rtol=1e-9, atol=1e-12)
        # econml's coefficient is a left Riemann sum over its percentile grid (not our exact
        # integral over [0, 1]); from our values on its grid it is the same number
        assert res.params[0] == pytest.approx(np.sum(ours_col.to_numpy()[:-1] * np.diff(pct) / 100), rel=1e-9)


# --- bad input: one-line errors naming the argument ------------------------------------------------

@pytest.mark.parametrize("call, exc, text", [
    (lambda: U.uplift_curves([1.0, 2.0], [1.0, 2.0, 3.0]), InputError, "tau_hat: length 2; expected 3"),
    (lambda: U.uplift_areas([1.0, np.nan, 2.0], [1.0, 2.0, 3.0]), InputError, "tau_hat: 1 non-finite"),
    (lambda: E.dr_scores([1.0, 2.0], [1, 0], [0.0, 0.0], [1.0, 1.0], [0.5, 1.0]), InputError,
     "e: 1 values outside (0, 1)"),
    (lambda: E.dr_scores([1.0, 2.0], [1, 0], [0.0, 0.0], [1.0, 1.0], [0.5, 1.2], clip=0.05), InputError, "e: 1 values"),
    (lambda: E.dr_scores([1.0, 2.0], [1, 2], [0.0, 0.0], [1.0, 1.0], [0.5, 0.5]), InputError, "t: values other"),
    (lambda: E.dr_scores([1.0, 2.0], [1, 0], [0.0], [1.0, 1.0], [0.5, 0.5]), InputError, "mu0: length 1"),
    (lambda: E.dr_scores([1.0, 2.0], [1, 0], [0.0, 0.0], [1.0, 1.0], [0.5, 0.5], clip=0.7), ParamError, "clip: 0.7"),
    (lambda: E.blp_test([1.0, 2.0], [1.0, 2.0], [1]), InputError, "clusters: shape (1,)"),
    (lambda: E.blp_test([1.0, 2.0], [1.0, 2.0], [1, None]), InputError, "clusters: missing"),
    (lambda: U.uplift_at_k([1.0, 2.0], [1.0, 2.0], 0), ParamError, "k: [0.0]; expected fractions in (0, 1]"),
    (lambda: E.evaluate_model([1.0, 2.0], [1, 0], [0.0, 0.0], [0.5, 0.5], [1.0, 2.0], [1.0, 2.0], [1, 2],
                              fractions=[0.5, 1.5]), ParamError, "fractions:"),
    (lambda: E.evaluate_model([1.0, 2.0], [1, 0], [0.0, 0.0], [0.5, 0.5], [1.0, 2.0], [1.0, 2.0], [1, 2],
                              n_boot=0), ParamError, "n_boot: 0"),
    (lambda: E.evaluate_models([1.0, 2.0], [1, 0], [0.0, 0.0], [0.5, 0.5], [1.0, 2.0], {"constant": [1.0, 2.0]},
                               [1, 2]), InputError, "predictions: the name 'constant'"),
    (lambda: E.select_model(selection_table(), "x"), ParamError,
     "cate.selection_rule: unknown rule 'x'; expected one of rate_blp_rloss, min_rloss, constant"),
    (lambda: E.select_model(selection_table().drop(columns="rate_ci_low")), InputError,
     "table: missing columns rate_ci_low"),
])
def test_bad_input_gives_a_one_line_error_naming_the_argument(call, exc, text):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value).startswith(text) and "\n" not in str(err.value)
