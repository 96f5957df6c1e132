"""Propensity scores, overlap, Crump trimming and balance on data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segtarget.track2 import design as D, positivity as POS
from segtarget.track2 import propensity as P
from segtarget.core.errors import InputError, ParamError


def simulate(n=2000, p=5, seed=0, nonlinear=False, rows_per_household=1):
    """Confounded assignment: treatment depends on x0..x2, which also drive the outcome."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if nonlinear:  # a threshold rule a linear logit cannot represent
        lin = 2.5 * (np.abs(X[:, 0]) > 1.0) - 1.2 + 0.3 * X[:, 1]
    else:
        lin = 1.0 * X[:, 0] + 0.8 * X[:, 1] + 0.4 * X[:, 2]
    e = 1.0 / (1.0 + np.exp(-lin))
    t = (rng.random(n) < e).astype(int)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df["treated"] = t
    df["household_id"] = np.arange(n) // rows_per_household
    return df, e


def g_to_e(g):
    """Invert g = 1/(e(1-e)) on the lower branch e <= 0.5."""
    g = np.asarray(g, dtype="float64")
    return (1.0 - np.sqrt(1.0 - 4.0 / g)) / 2.0


# --------------------------------------------------------------------------- Crump et al.


def test_crump_no_trimming_when_all_scores_in_safe_band():
    # g = 1/(e(1-e)) >= 4 always, so 2 E[g] >= 8; if every e(1-e) >= 1/8 then max g <= 8 and
    # the sup condition max g <= 2 E[g] holds: Crump et al. trim nothing.
    rng = np.random.default_rng(1)
    lo = (1 - np.sqrt(0.5)) / 2  # e(1-e) = 1/8
    for e in (rng.uniform(0.2, 0.8, 500), rng.uniform(lo + 1e-9, 1 - lo - 1e-9, 500), np.r_[lo + 1e-9, [0.5] * 99]):
        assert POS.crump_alpha(e) == 0.0


def test_crump_two_point_hand_case():
    # 90 units at e = 0.5 (g = 4) and 10 at e = 0.01 (g = 101.01): mean g = 13.7, 2 E[g] = 27.4
    # < max g, so trim. For gamma in [4, 101) the kept set is the 0.5s, E[g | kept] = 4, so
    # gamma = 8 and alpha(1-alpha) = 1/8.
    e = np.r_[[0.5] * 90, [0.01] * 10]
    alpha = POS.crump_alpha(e)
    assert alpha == pytest.approx((1 - np.sqrt(1 - 4 / 8)) / 2, abs=1e-12)
    keep = POS.trim_mask(e, alpha, 1 - alpha)
    assert keep.sum() == 90 and (e[keep] == 0.5).all()


def test_crump_condition_holds_and_kept_set_is_variance_optimal():
    rng = np.random.default_rng(3)
    e = np.clip(rng.beta(0.6, 0.6, 3000), 1e-4, 1 - 1e-4)  # many extreme scores
    alpha = POS.crump_alpha(e)
    assert 0 < alpha < 0.1465
    gamma = 1 / (alpha * (1 - alpha))
    g = 1 / (e * (1 - e))
    kept = g <= gamma * (1 + 1e-12)
    # the defining condition: 1/(a(1-a)) = 2 E[g | g <= 1/(a(1-a))]
    assert gamma == pytest.approx(2 * g[kept].mean(), rel=1e-9)
    # the kept set minimises sum(g)/k^2 over all sets {g <= c} (brute force over prefixes)
    gs = np.sort(g)
    k = np.arange(1, gs.size + 1)
    crit = np.cumsum(gs) / k**2
    assert crit[kept.sum() - 1] == pytest.approx(crit.min(), rel=1e-6)
    assert abs(kept.sum() - (int(np.argmin(crit)) + 1)) <= 2


def test_crump_picks_the_variance_minimising_root_when_several_exist():
    # g values: 10 at 4, 90 at 9, 5 at 1000. Roots of gamma = 2 E[g | g <= gamma]: gamma = 8
    # (keep the 4s; 9 > 8) and gamma = 2 * 8.5 = 17 (keep 4s and 9s). Criterion sum(g)/k^2:
    # 40/100 = 0.4 versus 850/10000 = 0.085, so the second root is the optimum.
    g = np.r_[[4.0] * 10, [9.0] * 90, [1000.0] * 5]
    e = g_to_e(g)
    alpha = POS.crump_alpha(e)
    assert 1 / (alpha * (1 - alpha)) == pytest.approx(17.0, rel=1e-9)
    assert POS.trim_mask(e, alpha, 1 - alpha).sum() == 100


def test_crump_rules_and_bad_values():
    assert POS.crump_alpha([0.01, 0.5, 0.99], rule="rule_of_thumb") == 0.1
    with pytest.raises(ParamError, match="crump_rule"):
        POS.crump_alpha([0.5], rule="bogus")
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        POS.crump_alpha([0.0, 0.5])


# --------------------------------------------------------------------------- overlap and balance


def test_overlap_shares_are_exact_on_a_constructed_example():
    e = np.array([0.01, 0.05, 0.0999, 0.1, 0.3, 0.5, 0.7, 0.9, 0.9001, 0.95, 0.96, 0.99])
    t = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1])
    inside_05 = [0.05, 0.0999, 0.1, 0.3, 0.5, 0.7, 0.9, 0.9001, 0.95]  # closed band
    inside_10 = [0.1, 0.3, 0.5, 0.7, 0.9]
    assert POS.overlap_share(e, 0.05, 0.95) == len(inside_05) / len(e)
    assert POS.overlap_share(e, 0.1, 0.9) == len(inside_10) / len(e)
    tab = POS.positivity_table(t, e).set_index("metric")["value"]
    assert tab["overlap_share_0.1_0.9"] == len(inside_10) / len(e)
    assert tab["overlap_n_0.05_0.95"] == len(inside_05)
    assert tab["overlap_n_treated_0.1_0.9"] == 3 and tab["overlap_n_control_0.1_0.9"] == 2
    assert tab["n_ps_below_0.1"] == 3 and tab["n_ps_above_0.9"] == 4


def test_smd_matches_formula_and_ipw_removes_most_imbalance():
    df, e_true = simulate(seed=4)
    cov = [f"x{j}" for j in range(5)]
    ps = P.CrossFittedPropensity(n_splits=5, seed=0).fit(df[cov], df["treated"], df["household_id"])
    bal = POS.balance_table(df[cov], df["treated"], ps.propensity_)
    assert bal["covariate"].tolist() == cov
    x, t = df["x0"].to_numpy(), df["treated"].to_numpy()
    by_hand = (x[t == 1].mean() - x[t == 0].mean()) / np.sqrt((x[t == 1].var(ddof=1) + x[t == 0].var(ddof=1)) / 2)
    assert bal.loc[0, "smd_unweighted"] == pytest.approx(by_hand, rel=1e-12)
    before = bal["smd_unweighted"].abs().max()
    assert before > 0.5  # the simulation is strongly confounded
    assert bal["smd_weighted"].abs().max() < 0.25 * before
    assert bal["smd_overlap"].abs().max() < 0.25 * before
    # the IPW weights are ATE weights normalised within each arm
    w = POS.ipw_weights(t, ps.propensity_)
    assert w[t == 1].sum() == pytest.approx(1) and w[t == 0].sum() == pytest.approx(1)


def test_ipw_clipping_is_explicit_and_reported():
    t = np.array([1, 1, 0, 0, 1, 0])
    e = np.array([0.005, 0.5, 0.5, 0.998, 0.7, 0.3])
    raw = POS.ipw_weights(t, e, normalize=False)
    clipped = POS.ipw_weights(t, e, clip=0.01, normalize=False)
    assert raw[0] == pytest.approx(200) and clipped[0] == pytest.approx(100)
    assert clipped[3] == pytest.approx(100) and raw[3] == pytest.approx(500)
    tab = POS.positivity_table(t, e, clip=0.01).set_index("metric")["value"]
    assert tab["ipw_clip"] == 0.01 and tab["ipw_n_clipped"] == 2
    assert POS.positivity_table(t, e).set_index("metric")["value"]["ipw_n_clipped"] == 0
    with pytest.raises(ParamError, match="ipw_clip"):
        POS.ipw_weights(t, e, clip=0.7)


def test_calibration_table_bins_and_counts():
    rng = np.random.default_rng(5)
    e = rng.uniform(0.001, 0.999, 4000)
    t = (rng.random(4000) < e).astype(int)  # perfectly calibrated by construction
    cal = P.calibration_table(t, e, n_bins=10)
    assert len(cal) == 10 and cal["n"].sum() == 4000
    assert cal.loc[0, "n"] == int(((e >= 0) & (e < 0.1)).sum())
    assert (cal["observed_rate"] - cal["mean_predicted"]).abs().max() < 0.06
    assert P.expected_calibration_error(t, e) < 0.03


# --------------------------------------------------------------------------- cross-fitting and selection


def test_folds_are_grouped_stratified_and_deterministic():
    df, _ = simulate(n=900, seed=6, rows_per_household=3)
    folds = D.make_folds(df["treated"], df["household_id"], n_splits=5, seed=11)
    hh = df["household_id"].to_numpy()
    test_all = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(test_all), np.arange(len(df)))
    for train, test in folds:
        assert not set(hh[train]) & set(hh[test])
    again = D.make_folds(df["treated"], df["household_id"], n_splits=5, seed=11)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = D.make_folds(df["treated"], df["household_id"], n_splits=5, seed=12)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))


@pytest.mark.parametrize("nonlinear", [False, True])
def test_selection_picks_lower_out_of_fold_log_loss(nonlinear):
    df, _ = simulate(n=2000, seed=7, nonlinear=nonlinear)
    cov = [f"x{j}" for j in range(5)]
    ps = P.CrossFittedPropensity(n_splits=5, seed=0).fit(df[cov], df["treated"], df["household_id"])
    s = ps.scores_.set_index("model")
    t = df["treated"].to_numpy()
    for m in P.PS_MODELS:  # the reported scores are those of the out-of-fold predictions
        assert s.loc[m, "log_loss"] == pytest.approx(P.classification_scores(t, ps.oof_[m])["log_loss"])
    assert ps.selected_ == s["log_loss"].idxmin()
    assert s["selected"].sum() == 1 and s.loc[ps.selected_, "selected"] == 1
    assert np.array_equal(ps.propensity_, ps.oof_[ps.selected_])
    # a threshold assignment rule is beyond a linear logit: boosting must win there
    if nonlinear:
        assert ps.selected_ == "hgb"


def test_cross_fitting_and_tables_are_deterministic():
    df, _ = simulate(n=800, seed=8, rows_per_household=2)
    cov = [f"x{j}" for j in range(5)]
    kw = dict(n_splits=4, seed=3, hgb_max_iter=50)
    a = P.CrossFittedPropensity(**kw).fit(df[cov], df["treated"], df["household_id"])
    b = P.CrossFittedPropensity(**kw).fit(df[cov], df["treated"], df["household_id"])
    for m in P.PS_MODELS:
        assert np.array_equal(a.oof_[m], b.oof_[m])
    bal = POS.balance_table(df[cov], df["treated"], a.propensity_)
    ta = POS.positivity_table(df["treated"], a.propensity_, groups=df["household_id"], scores=a.scores_, balance=bal)
    tb = POS.positivity_table(df["treated"], b.propensity_, groups=df["household_id"], scores=b.scores_, balance=bal)
    pd.testing.assert_frame_equal(ta, tb)
    assert list(ta.columns) == ["metric", "value"] and ta["metric"].is_unique
    m = ta.set_index("metric")["value"]
    assert m["n_units"] == 800 and m["n_clusters"] == 400
    assert m["selected_hgb"] + m["selected_logit"] == 1
    assert m["auc"] == pytest.approx(m[f"auc_{a.selected_}"])
    assert m["crump_n_kept"] == POS.trim_mask(a.propensity_, m["crump_alpha"], 1 - m["crump_alpha"]).sum()


def test_bad_inputs_give_one_line_errors():
    X = pd.DataFrame({"a": [1.0, np.nan, 2.0, 3.0], "b": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InputError, match="column a"):
        D.as_matrix(X)
    with pytest.raises(InputError, match="0/1"):
        D.as_treatment([0, 1, 2])
    with pytest.raises(InputError, match="one arm"):
        D.as_treatment([1, 1, 1])
    with pytest.raises(InputError, match="households"):
        D.make_folds([0, 1, 0, 1], [1, 1, 2, 2], n_splits=5)
    with pytest.raises(ParamError, match="propensity model"):
        P.make_propensity_model("forest")


def test_figures_written_in_both_languages(tmp_path):
    from segtarget.track2 import figures as F
    import matplotlib

    family_before = list(matplotlib.rcParams["font.family"])
    df, e = simulate(n=400, seed=9)
    cov = [f"x{j}" for j in range(5)]
    bal = POS.balance_table(df[cov], df["treated"], e)
    en, ko = F.save_bilingual(F.propensity_histogram, tmp_path / "ps.png", e, df["treated"], crump_alpha=0.08)
    assert en.name == "ps.png" and ko.name == "ps_ko.png"
    en2, ko2 = F.save_bilingual(F.love_plot, tmp_path / "love.png", bal)
    for p in (en, ko, en2, ko2):
        assert p.stat().st_size > 5000
    assert F.korean_font_name() == "NanumGothic"
    assert list(matplotlib.rcParams["font.family"]) == family_before  # English settings untouched
    first = en2.read_bytes()
    F.save_bilingual(F.love_plot, tmp_path / "love.png", bal)
    assert en2.read_bytes() == first  # deterministic bytes
