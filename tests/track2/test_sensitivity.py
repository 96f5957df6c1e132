"""Sensitivity to unmeasured confounding: E-values by hand, econml's omitted-variable-bias
numbers, and the benchmark that flags an estimate whose confounder was left out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from refute_data import ATE, POS, REFUTE, cohort, stage_tables
from segtarget.core.errors import ParamError
from segtarget.track2 import refute as R
from segtarget.track2 import sensitivity as S

#: Few placebo and dummy draws: these tests are about the other two refuters and the sensitivity.
FEW = {**REFUTE, "n_placebo": 2, "n_dummy": 2}


def _headline(df):
    scores, table = stage_tables(df)
    return R.prepare(df, scores, table, ATE, POS)


def _value(sens, method, quantity, group=""):
    rows = sens[(sens.method == method) & (sens.quantity == quantity) & (sens.covariate_group == group)]
    assert len(rows) == 1, (method, quantity, group)
    return float(rows["value"].iloc[0])


def test_e_value_matches_the_hand_worked_examples():
    # VanderWeele & Ding (2017): RR = 3.9 -> E = 3.9 + sqrt(3.9 * 2.9) = 7.26; CI limit 1.8 -> 3.0
    assert S.e_value(3.9) == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert round(S.e_value(3.9), 2) == 7.26 and S.e_value(1.8) == pytest.approx(3.0)
    assert S.e_value(1 / 3.9) == pytest.approx(S.e_value(3.9)) and S.e_value(1.0) == 1.0
    # continuous outcome: ATE 30 on an outcome with SD 60 -> d = 0.5, RR = exp(0.455) = 1.5762, E = 2.529
    ev = S.e_value_continuous(30.0, 6.0, 54.0, 60.0)
    assert ev["smd"] == 0.5 and ev["rr"] == pytest.approx(math.exp(0.455))
    assert ev["e_value"] == pytest.approx(1.576173 + math.sqrt(1.576173 * 0.576173), rel=1e-6)
    assert ev["e_value"] == pytest.approx(2.5291, abs=1e-4)
    assert ev["e_value_ci"] == pytest.approx(S.e_value(math.exp(0.91 * 0.1)))  # lower limit 6 -> d = 0.1
    neg = S.e_value_continuous(-30.0, -54.0, -6.0, 60.0)  # a harmful effect: same E-values
    assert neg["e_value"] == pytest.approx(ev["e_value"]) and neg["e_value_ci"] == pytest.approx(ev["e_value_ci"])
    assert S.e_value_continuous(30.0, -1.0, 61.0, 60.0)["e_value_ci"] == 1.0  # the CI covers 0
    with pytest.raises(ParamError, match="outcome SD"):
        S.e_value_continuous(1.0, 0.5, 1.5, 0.0)


def test_e_value_agrees_with_dowhy_conversion():
    from dowhy.causal_refuters.evalue_sensitivity_analyzer import EValueSensitivityAnalyzer

    ours = S.e_value_continuous(0.4, 0.4 - 1.96 * 0.1, 0.4 + 1.96 * 0.1, 1.0)
    theirs = EValueSensitivityAnalyzer._evalue_MD(EValueSensitivityAnalyzer.__new__(EValueSensitivityAnalyzer),
                                                  est=0.4, se=0.1)
    assert ours["e_value"] == pytest.approx(theirs["evalue_estimate"], rel=1e-12)
    assert ours["e_value_ci"] == pytest.approx(theirs["evalue_lower_ci"], rel=2e-3)  # dowhy rounds 0.91 * 1.96 to 1.78


def test_groups_take_the_first_matching_pattern():
    cols = ["x_monetary_sales_per_week", "x_monetary_std_missing", "x_share_fresh", "x_recency", "x_new_thing"]
    groups = S.covariate_groups(cols, {"spending": ["monetary_*"], "shares": ["share_*", "monetary_std*"]})
    assert groups == {"spending": [0, 1], "shares": [2], "recency": [3], "new_thing": [4]}
    assert list(S.covariate_groups(cols, {"spending": ["monetary_*"]}, "covariates")) == [c[2:] for c in cols]
    with pytest.raises(ParamError, match="refute.benchmark"):
        S.covariate_groups(cols, {}, "everything")


def test_an_omitted_strong_confounder_passes_the_refuters_but_is_flagged_fragile():
    """No true effect; x_0 (observed) and u (left out) confound alike. The estimate is biased
    and significant, random common cause and subset cannot tell, and the sensitivity analysis
    says a hidden confounder as strong as x_0 would undo it."""
    df = cohort(seed=0, conf=0.5, hidden=0.5)
    head = _headline(df)
    table, _ = R.run_refutation(head, FEW)
    passed = table.set_index("refuter")["passed"]
    assert passed["random_common_cause"] == 1 and passed["data_subset"] == 1
    sens, block = S.run_sensitivity(head, FEW)
    est = head.estimates["purchase_amount"]
    assert est.estimate - 1.96 * est.se > 0  # a "significant" effect that is pure confounding
    assert _value(sens, "summary", "ci_excludes_zero") == 1
    assert block["purchase_amount"]["fragile"] and _value(sens, "summary", "fragile") == 1
    assert block["purchase_amount"]["strongest_group"] == "0"  # x_0, the observed twin of the hidden confounder
    assert _value(sens, "summary", "max_abs_shift", "0") >= _value(sens, "summary", "ci_margin_to_zero")
    # the truth: with u in the table, leaving it out has strength (c_y, c_t); econml's bounds at that
    # strength cover 0, i.e. the robustness value is below what the omitted confounder really has
    full = _headline(cohort(seed=0, conf=0.5, hidden=0.5, keep_hidden=True))
    u = S.loco_benchmark(full, {"u": [full.covariates.index("x_u")]}).iloc[0]
    lo, hi = S._as_strong(S.fit_dml(head, "purchase_amount"), 0.95, u.c_y, u.c_t, 1.0, "ci")
    assert lo <= 0 <= hi
    assert full.estimates["purchase_amount"].estimate - 1.96 * full.estimates["purchase_amount"].se < 0 < \
        full.estimates["purchase_amount"].estimate + 1.96 * full.estimates["purchase_amount"].se


def test_a_real_effect_without_hidden_confounding_is_not_fragile():
    head = _headline(cohort(seed=1, tau=1.0, conf=0.3))
    sens, block = S.run_sensitivity(head, FEW)
    b = block["purchase_amount"]
    assert not b["fragile"] and b["e_value_ci"] > 1.5 and b["robustness_value_ci"] > 0.1
    assert _value(sens, "summary", "n_groups_as_strong_erase_ci") == 0
    dml = {q: _value(sens, "linear_dml_ovb", q) for q in ("theta", "ci_low", "ci_high", "robustness_value_theta",
                                                          "robustness_value_ci", "ci_low_at_c", "ci_high_at_c")}
    assert dml["ci_low_at_c"] < dml["ci_low"] < dml["theta"] < dml["ci_high"] < dml["ci_high_at_c"]
    assert 0 < dml["robustness_value_ci"] < dml["robustness_value_theta"] < 1
    est = S.fit_dml(head, "purchase_amount")  # econml's own summary agrees with the table
    assert dml["robustness_value_ci"] == pytest.approx(est.robustness_value(alpha=0.05), abs=1e-9)
    c = np.ravel(est.sensitivity_interval(alpha=0.05, c_y=0.05, c_t=0.05, rho=1.0))
    assert (dml["ci_low_at_c"], dml["ci_high_at_c"]) == pytest.approx(tuple(c))
    row = head.dml_rows["purchase_amount"]  # the refit is ate.csv's LinearDML row
    assert dml["theta"] == pytest.approx(float(row.estimate), abs=1e-6)
    groups = set(sens.loc[sens.method == "loco_benchmark", "covariate_group"])
    assert groups == {"0", "1", "2", "campaign"}  # x_campaign_9 joins the default group "campaign"
    assert set(sens.columns) >= {"outcome", "method", "value"} and sens["value"].notna().all()
