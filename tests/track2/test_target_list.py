"""Who to contact next: current households built like cohort units, scored by the selected model, and the
recommended policy deployed on them (target_list.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segtarget import features as F
from segtarget.core.errors import InputError
from segtarget.core.io import write_parquet
from segtarget.core.paths import interim
from segtarget.track2 import cohort as C
from segtarget.track2 import policy as P
from segtarget.track2 import scoring as S
from segtarget.track2 import target_list as T
from segtarget.track2.design import COVARIATE_PREFIX
from segtarget.track2.policy_run import run_policy

from test_cohort import _section, make_world
from test_policy import BE, COST, MARGIN, fast_policy, synthetic_units


# --------------------------------------------------------------------------- current households


@pytest.fixture(scope="module")
def scored_world(tmp_path_factory):
    """make_world's retailer (days 1..200, Type A campaigns on days 70, 100, 150): its cohort and the
    households eligible for the next campaign (index day 201)."""
    world, root = make_world(), tmp_path_factory.mktemp("world")
    # households 55-60 stop shopping on day 100: no basket in the last 8 weeks
    tx = world["transactions"]
    world["transactions"] = tx[~((tx.household_id >= 55) & (tx.day > 100))].reset_index(drop=True)
    for name, df in world.items():
        write_parquet(df, interim(name, root))
    con = F.connect("duckdb", 1, "1GB")
    tables = C.load_tables(con, root)
    sec = _section("cohort", lookback_weeks=8, min_lookback_weeks=8)
    cohort, _ = C.build_cohort(con, tables, sec, _section("features"))
    units, cov = S.current_units(con, tables, sec, _section("features"))
    return world, cohort, units, cov


def test_current_households_use_the_last_lookback_window(scored_world):
    world, cohort, units, cov = scored_world
    tx = world["transactions"]
    assert set(units.index_day) == {201} and set(units.lookback_start) == {145} and set(units.lookback_end) == {200}
    assert set(units.campaign_id) == {S.NEXT_CAMPAIGN}
    active = set(tx.loc[tx.day >= 145, "household_id"])
    assert set(units.household_id) == active and not active & set(range(55, 61))
    # the same per-week rate the cohort computes, over the last 8 weeks
    h = int(units.household_id.iloc[0])
    lb = tx[(tx.household_id == h) & (tx.day >= 145)]
    assert cov.set_index("household_id").loc[h, "x_frequency_per_week"] == pytest.approx(lb.basket_id.nunique() / 8)
    # past Type A campaigns are counted (31-35 were targeted twice, 1-10 once, 36+ never)
    prev = units.set_index("household_id")["previously_targeted"]
    assert prev.loc[31] == 2 and prev.loc[1] == 1 and prev.loc[40] == 0


def test_aligned_covariates_match_the_cohort_columns(scored_world):
    _, cohort, _, cov = scored_world
    X = S.align_covariates(cov, cohort)
    cols = [c for c in cohort.columns if c.startswith(COVARIATE_PREFIX)]
    assert list(X.columns[2:]) == cols and not X[cols].isna().any().any()
    # the campaign indicators say "like the last stacked campaign"
    last = cohort.loc[cohort.index_day.idxmax(), "campaign_id"]
    ind = [c for c in cols if c.startswith("x_campaign_") and c.removeprefix("x_campaign_").isdigit()]
    assert ind and all(X[c].eq(float(c == f"x_campaign_{last}")).all() for c in ind)


def test_a_cohort_column_the_scoring_cannot_build_is_a_one_line_error(scored_world):
    _, cohort, _, cov = scored_world
    with pytest.raises(InputError, match="x_from_elsewhere") as e:
        S.align_covariates(cov, cohort.assign(x_from_elsewhere=1.0))
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- the selected model refitted


def _scoring_inputs(seed=0, n=1500):
    """A cohort with a known effect tau = 20 + 30 x1 and confounding through x2; half the units re-used as
    'current households' (new rows with the same covariate distribution)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    e = 1 / (1 + np.exp(-1.5 * x2))
    t = (rng.random(n) < e).astype(int)
    y = 100 + 20 * x2 + t * (20 + 30 * x1) + rng.normal(0, 10, n)
    hh = np.arange(1, n + 1)
    cohort = pd.DataFrame({"household_id": hh, "campaign_id": 1, "treated": t, "index_day": 100,
                           "x_a": x1, "x_b": x2, "purchase_amount": y, "purchase_count": y / 50})
    scores = pd.DataFrame({"household_id": hh, "campaign_id": 1, "treated": t, "propensity": e, "propensity_logit": e})
    dr = pd.DataFrame({"household_id": hh, "campaign_id": 1, "outcome": "purchase_amount", "in_overlap": 1,
                       "dr_score": 20 + 30 * x1 + rng.normal(0, 5, n)})
    m = 400
    z1, z2 = rng.normal(size=m), np.linspace(-4, 4, m)
    units = pd.DataFrame({"household_id": np.arange(10_001, 10_001 + m), "campaign_id": 0, "index_day": 200,
                          "previously_targeted": 0})
    cov = pd.DataFrame({"household_id": units.household_id, "campaign_id": 0, "x_a": z1, "x_b": z2})
    return cohort, scores, dr, units, cov, 20 + 30 * z1


def _params(**cate_over):
    from test_policy import section

    cate = section("cate", **{"forest_trees": 40, "inner_cv": 2, **cate_over})
    return cate, section("ate", outcomes=["purchase_amount"]), section("positivity")


def test_selected_learner_is_refitted_and_predicts_new_households():
    cohort, scores, dr, units, cov, tau = _scoring_inputs()
    sel = pd.DataFrame({"outcome": ["purchase_amount"] * 2, "model": ["linear_dml", "s_learner"], "selected": [1, 0]})
    cate, ate, pos = _params(linear_modifiers=["a"])
    hh, sc, m = S.score_households(cohort, scores, dr, sel, units, cov, cate, ate, pos)
    assert list(sc.columns) == S.SCORE_COLUMNS and len(sc) == len(units) and set(sc.model) == {"linear_dml"}
    assert np.corrcoef(sc.cate, tau)[0, 1] > 0.95 and abs(np.mean(sc.cate - tau)) < 5
    assert (sc.cate_ci_low <= sc.cate).all() and (sc.cate <= sc.cate_ci_high).all()
    # the propensity refitted on the cohort follows x_b: the extremes of the new households fall outside the band
    assert np.corrcoef(hh.propensity, cov.x_b)[0, 1] > 0.95 and hh.in_overlap.iloc[0] == 0 and hh.in_overlap.iloc[-1] == 0
    assert hh.in_overlap.iloc[len(hh) // 2] == 1 and m["households_scored"] == len(units)


def test_constant_selection_gives_everyone_the_aipw_effect():
    cohort, scores, dr, units, cov, _ = _scoring_inputs(1, n=600)
    sel = pd.DataFrame({"outcome": ["purchase_amount"], "model": ["s_learner"], "selected": [0]})
    _, sc, m = S.score_households(cohort, scores, dr, sel, units, cov, *_params())
    g = dr.dr_score.to_numpy()
    se = g.std() / np.sqrt(len(g))  # one unit per household: the clustered SE is the plain one (ddof 0)
    assert set(sc.model) == {"constant"} and np.allclose(sc.cate, g.mean())
    assert np.allclose(sc.cate_ci_high - sc.cate, 1.959964 * se, rtol=1e-4)
    assert m["model_purchase_amount"] == "constant"


# --------------------------------------------------------------------------- the decision deployed


def test_apply_tree_reproduces_the_fitted_econml_tree():
    from econml.policy import PolicyTree

    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 2))
    reward = np.column_stack([np.zeros(600), np.where(X[:, 0] > 0.3, 1.0, -1.0) + np.where(X[:, 1] < 0, 0.5, -0.5)])
    tree = PolicyTree(max_depth=2, min_samples_leaf=20, random_state=0).fit(X, reward)
    table = P.describe_tree(tree, ["x_u", "x_v"])
    Xn = pd.DataFrame(rng.normal(size=(300, 2)), columns=["x_u", "x_v"])
    assert np.array_equal(T.apply_tree(table, Xn), tree.predict(Xn.to_numpy()).astype(int))


def test_list_value_arithmetic_on_a_hand_made_case():
    row = pd.Series({"n_targeted": 10, "incremental_sales": 500.0, "incremental_sales_ci_low": 100.0,
                     "incremental_sales_ci_high": 900.0})
    v = T.list_value(row, 4, 0.3, 12.0)
    assert v["incremental_sales_per_contact"] == 50.0 and v["incremental_sales"] == 200.0
    assert v["incremental_sales_ci"] == pytest.approx([40.0, 360.0])
    assert v["profit"] == pytest.approx(12.0) and v["profit_ci"] == pytest.approx([-36.0, 60.0])
    assert v["roi"] == pytest.approx(0.25)
    assert T.list_value(pd.Series({**row, "n_targeted": 0}), 0, 0.3, 12.0)["profit"] == 0.0


def test_current_practice_is_never_deployed():
    t = pd.DataFrame({"population": "overlap", "eligible": 1, "policy": ["treat_none", "current_practice", "treat_all"],
                      "profit": [0.0, 50.0, 10.0], "n_targeted": [0, 5, 9]})
    row, note = T.deployed_policy(t, "overlap")
    assert row["policy"] == "treat_all" and "current_practice" in note


def test_target_list_applies_the_recommended_rule_to_the_households():
    """End to end on known effects: the list targets exactly the households the recommended rule picks, and its
    expected profit is the policy's DR value per contact times the list."""
    cohort, dr, cc, segs, _ = synthetic_units(1)
    first = cohort.drop_duplicates("household_id").reset_index(drop=True)
    sel = cc[(cc.selected == 1)].drop_duplicates("household_id").reset_index(drop=True)
    households = first[["household_id", *[c for c in first if c.startswith("x_")]]].assign(
        previously_targeted=0, propensity=0.5, in_overlap=1, index_day=300, segment=(first.x_frequency_per_week > 1) + 1)
    scores = pd.DataFrame({"household_id": sel.household_id, "outcome": "purchase_amount", "model": "causal_forest",
                           "cate": sel.cate, "cate_ci_low": sel.cate_ci_low, "cate_ci_high": sel.cate_ci_high, "in_overlap": 1})
    res = run_policy(cohort, dr, cc, segs, fast_policy(), households=households, household_scores=scores)
    tl, m = res.target_list, res.metrics["target_list"]
    best = res.metrics["best_policy"]
    expect = {"cate_gt_breakeven": scores.cate > BE, "risk_adjusted": scores.cate_ci_low > BE, "cate_gt_0": scores.cate > 0}
    assert best in expect or best.startswith("top_") or best in ("best_budget_cv", "policy_tree"), best
    targeted = tl.set_index("household_id")["target"].eq("yes")
    if best in expect:
        assert np.array_equal(targeted.to_numpy(), expect[best].to_numpy())
    assert m["n_targeted"] == int(targeted.sum()) > 0 and len(tl) == len(households)
    row = res.comparison[(res.comparison.population == "overlap") & (res.comparison.policy == best)].iloc[0]
    per = row["incremental_sales"] / row["n_targeted"]
    assert m["profit"] == pytest.approx(MARGIN * per * m["n_targeted"] - COST * m["n_targeted"])
    assert m["plugin_profit"] == pytest.approx(float(np.sum(targeted.to_numpy() * (MARGIN * scores.cate - COST))))
    assert set(tl.ab_test_candidate) <= {"yes", "no"} and list(tl.columns)[:3] == ["household_id", "target", "policy"]


def test_scores_from_another_model_are_refused():
    cohort, dr, cc, segs, _ = synthetic_units(2, n_households=300)
    households = pd.DataFrame({"household_id": [1], "previously_targeted": 0, "in_overlap": 1, "index_day": 1})
    scores = pd.DataFrame({"household_id": [1], "outcome": "purchase_amount", "model": "s_learner", "cate": 1.0,
                           "cate_ci_low": np.nan, "cate_ci_high": np.nan, "in_overlap": 1})
    with pytest.raises(InputError, match="selected model"):
        run_policy(cohort, dr, cc, segs, fast_policy(compare_models=[]), households=households, household_scores=scores)
