"""Track 2 report sections of the refute, semisynthetic and policy stages, and the one-page summary.

Small results tables with the stages' columns are written here (``write_tables``); every
expected number in the generated sections is formatted from those inputs with the report's
own Formatter, never typed. One test renders the EN and KO summary documents through the
fallback renderer and checks that each fits one page.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pypdf
import pytest

from conftest import ROOT, write_params
from segtarget.report import summary as SM, track2_stages as S2
from segtarget.report.facts import ORIGINAL, FigureRef
from segtarget.report.labels import label
from segtarget.report.render import render_project
from segtarget.report.results import ROOT_ENV, Formatter, Results
from segtarget.report.track2_checks import pass_rule, refutation_section
from segtarget.report.track2_decision import decision_facts, policy_label
from segtarget.report.track2_policy import ab_section, policy_section
from segtarget.report.track2_validation import semisynthetic_section

HANGUL = re.compile(r"[\uac00-\ud7a3]")
AMOUNT, COUNT = "purchase_amount", "purchase_count"
COST, MARGIN = 12.73, 0.3
BE = COST / MARGIN
RULES = {
    "placebo_treatment": "the central 95% band of the placebo effects (treatment permuted within campaign, all nuisances "
                         "refitted) covers 0",
    "random_common_cause": "the mean estimate with an added N(0,1) common cause is within 0.5 SE of the real estimate",
    "data_subset": "the mean estimate on random 80%-of-households subsets is within 0.5 SE of the real estimate",
    "dummy_outcome": "the central 95% band of the effects on a dummy outcome (outcome permuted within campaign, true "
                     "effect 0) covers 0",
}
# policy, pct_targeted (percent), DR profit, CI, plug-in profit, eligible
POLICIES = [("treat_none", 0.0, 0.0, (0.0, 0.0), 0.0, 1), ("treat_all", 100.0, -19000.0, (-52000.0, 4100.0), -19500.0, 1),
            ("current_practice", 38.0, -7700.0, (-20100.0, 5300.0), -7500.0, 1),
            ("cate_gt_breakeven", 0.0, 0.0, (0.0, 0.0), 0.0, 1), ("top_10pct", 10.0, -3100.0, (-10200.0, 2800.0), -1900.0, 0),
            ("top_50pct", 50.0, 1250.0, (-11000.0, 14000.0), -9900.0, 0),
            ("policy_tree", 23.0, -12700.0, (-40900.0, 4400.0), -4900.0, 1),
            ("cate_gt_breakeven@causal_forest", 7.5, 2950.0, (-1700.0, 9500.0), 340.0, 0)]
SEGMENTS = [("segment", "1", "Big-basket shoppers", "고액 장바구니", 600, 40.5, (-8.5, 98.5), "test_first"),
            ("segment", "2", "Weekly regulars", "매주 방문 단골", 500, 18.25, (-22.5, 61.5), "test_first"),
            ("value_tier", "High", "High", "고가치", 700, -19.5, (-137.5, 62.5), "test_first"),
            ("value_tier", "Low", "Low", "저가치", 400, 47.25, (3.25, 96.25), "test_first")]


def write_tables(root: Path, reps: int = 1, placebo_p: float = 0.43, best: str = "treat_none",
                 failed: str | None = None) -> Results:
    """A results/ folder with the refute, semisynthetic and policy stages' tables and metrics."""
    t = root / "results" / "tables"
    t.mkdir(parents=True, exist_ok=True)
    write_params(root / "params.yaml")
    # ate.csv: the headline rows the sensitivity and summary read
    pd.DataFrame({"outcome": [AMOUNT, COUNT], "method": "aipw", "population": "trimmed", "estimate": [13.25, 0.46],
                  "se": [21.5, 0.45], "ci_low": [-29.5, -0.42], "ci_high": [56.25, 1.34], "n": 2200}
                 ).to_csv(t / "ate.csv", index=False)
    rows = []
    for outcome, est, scale in ((AMOUNT, 13.25, 1.0), (COUNT, 0.46, 0.04)):
        for ref, new, lo, hi, shift in (("placebo_treatment", 2.75, -23.5, 31.25, -0.5),
                                        ("random_common_cause", 13.75, 11.25, 16.25, 0.04),
                                        ("data_subset", 16.25, -4.5, 41.5, 0.14), ("dummy_outcome", 7.25, -16.75, 39.5, -0.3)):
            rows.append({"outcome": outcome, "refuter": ref, "estimate": est, "new_effect": new * scale, "p_value": 0.4,
                         "passed": int(ref != failed), "n_simulations": 50 if ref == "placebo_treatment" else 20,
                         "pass_rule": RULES[ref], "se": 21.5 * scale, "new_effect_low": lo * scale,
                         "new_effect_high": hi * scale, "shift_se": shift,
                         "real_effect_p_value": placebo_p if ref == "placebo_treatment" else None})
    pd.DataFrame(rows).to_csv(t / "refutation.csv", index=False)
    sens = []
    for outcome, e in ((AMOUNT, 1.25), (COUNT, 1.5)):
        for q, v in (("smd", 0.031), ("rr", 1.029), ("e_value", e), ("e_value_ci", 1.0)):
            sens.append((outcome, "e_value", q, None, v))
        for q, v in (("theta", 10.25), ("ci_low", -19.25), ("ci_high", 39.75), ("robustness_value_theta", 0.016),
                     ("robustness_value_ci", 0.0)):
            sens.append((outcome, "linear_dml_ovb", q, None, v))
        for g, shift, lo, hi in (("other_campaigns", -15.5, 5.5, 14.75), ("purchase_frequency", -15.25, -2.75, 23.25),
                                 ("recency", 0.5, 9.5, 11.0)):
            for q, v in (("estimate_without", 13.25 + shift), ("shift", shift), ("c_y", 0.02), ("c_t", 0.07),
                         ("dml_theta_low_if_as_strong", lo), ("dml_theta_high_if_as_strong", hi)):
                sens.append((outcome, "loco_benchmark", q, g, v))
        sens.append((outcome, "summary", "fragile", None, 1.0))
    pd.DataFrame(sens, columns=["outcome", "method", "quantity", "covariate_group", "value"]).assign(note="").to_csv(
        t / "sensitivity.csv", index=False)
    summ = []
    for dgp, true, sel, share_t, regret, oracle in (("constant", 30.0, "constant", 0.0, 0.0, 0.0),
                                                    ("linear", 41.0, "constant", 1.0, 5.5, 1.75),
                                                    ("nonlinear", 33.5, "causal_forest", 0.35, 1.25, 2.5)):
        for model, bias in (("naive", 183.5), ("ipw", 0.5 if dgp != "nonlinear" else -3.5), ("aipw", 5.5), ("ato", -3.75)):
            summ.append({"outcome": AMOUNT, "dgp": dgp, "kind": "ate", "model": model, "population": "trimmed",
                         "n_reps": reps, "ate_true": true, "bias": bias, "bias_mcse": 0.75 if reps > 1 else None,
                         "rmse": abs(bias), "coverage": 0.0 if model == "naive" else 1.0})
        for model, pehe in (("causal_forest", 25.5 if dgp != "constant" else 21.5), ("t_learner", 148.5),
                            ("constant", {"constant": 11.5, "linear": 22.5, "nonlinear": 31.5}[dgp])):
            summ.append({"outcome": AMOUNT, "dgp": dgp, "kind": "cate", "model": model, "population": "overlap",
                         "n_reps": reps, "ate_true": true, "pehe": pehe, "spearman": 0.45, "auuc_normalized": 0.01,
                         "auuc_normalized_oracle": 0.1, "selected_count": int(model == sel)})
        summ.append({"outcome": AMOUNT, "dgp": dgp, "kind": "selection", "model": "selected", "population": "overlap",
                     "n_reps": reps, "ate_true": true, "ate_est": 48.75 if dgp == "linear" else true, "policy_regret": regret,
                     "share_treated": share_t, "share_treated_oracle": 0.4, "oracle_value": oracle})
    pd.DataFrame(summ).to_csv(t / "semisynthetic_summary.csv", index=False)
    pd.DataFrame({"dgp": ["constant"], "model": ["ipw"], "replication": [1], "ate_true": [30.0], "ate_est": [30.5],
                  "pehe": [None], "ci_covered": [1], "policy_regret": [None], "breakeven": [BE]}
                 ).to_csv(t / "semisynthetic.csv", index=False)
    pol = pd.DataFrame([{"outcome": AMOUNT, "population": "overlap", "policy": p, "n_targeted": round(2000 * pct / 100),
                         "pct_targeted": pct, "profit": prof, "profit_ci_low": ci[0], "profit_ci_high": ci[1],
                         "roi": None if pct == 0 else prof / (COST * 2000 * pct / 100), "n_units": 2000,
                         "incremental_sales_per_unit": 13.25 if p == "treat_all" else None,
                         "prob_profit_positive": 0.07 if p == "treat_all" else 0.5, "plugin_profit": plug,
                         "cate_model": "", "eligible": el, "cost_per_contact": COST, "margin": MARGIN, "breakeven": BE}
                        for p, pct, prof, ci, plug, el in POLICIES])
    pol.to_csv(t / "policy_comparison.csv", index=False)
    pd.DataFrame({"pct_targeted": [0.0, 10.0, 50.0, 100.0], "profit": [0.0, -3100.0, 1250.0, -19000.0],
                  "profit_ci_low": [0.0, -10200.0, -11000.0, -52000.0], "profit_ci_high": [0.0, 2800.0, 14000.0, 4100.0],
                  "population": "overlap", "ranking": "random (constant effect selected)", "selected_model": 1,
                  "plugin_profit": [0.0, -1900.0, -9900.0, -19500.0]}).to_csv(t / "roi_curve.csv", index=False)
    grid = [{"cost": c, "margin": m, "breakeven": c / m, "best_policy": "treat_all" if (c, m) == (5.0, 0.4) else "treat_none",
             "pct_targeted": 100.0 if (c, m) == (5.0, 0.4) else 0.0, "profit": 540.0 if (c, m) == (5.0, 0.4) else 0.0,
             "profit_ci_low": -46500.0 if (c, m) == (5.0, 0.4) else 0.0,
             "profit_ci_high": 32500.0 if (c, m) == (5.0, 0.4) else 0.0} for c in (5.0, COST) for m in (MARGIN, 0.4)]
    pd.DataFrame(grid).to_csv(t / "cost_margin_sensitivity.csv", index=False)
    pd.DataFrame([{"outcome": AMOUNT, "group": g, "segment": s, "segment_name": en, "segment_name_ko": ko, "n": n,
                   "share_of_units": n / 2000, "cate": c, "cate_ci_low": ci[0], "cate_ci_high": ci[1], "action": a,
                   "breakeven": BE, "dr_profit_if_targeted": -300.0, "dr_profit_ci_low": -900.0, "dr_profit_ci_high": 600.0}
                  for g, s, en, ko, n, c, ci, a in SEGMENTS]).to_csv(t / "segment_recommendations.csv", index=False)
    pd.DataFrame({"mde": BE, "sigma": [408.5, 208.25], "alpha": 0.05, "power": 0.8, "n_per_arm": [1456, 380],
                  "n_total": [2912, 760], "variance_reduction": ["none", "cuped"], "rho": [None, 0.86],
                  "population": "current_practice", "eligible_per_week": 30.0, "weeks": [98.0, 26.0],
                  "outcome_weeks": 10.875}).to_csv(t / "ab_test_design.csv", index=False)
    metrics = {"track2": {"ate_headline_population": "trimmed",
                          "policy": {"best_policy": best, "outcome": AMOUNT, "population": "overlap", "n_bootstrap": 500,
                                     "selected_model": "constant", "constant_selected": True},
                          "validation": {"population": "trimmed", "replications": reps, "selection_rule": "rate_blp_rloss",
                                         AMOUNT: {"ate_recommended": "ipw", "cate_best_pehe_learner": "causal_forest",
                                                  "ate_rmse": {"ipw": {"constant": 0.5, "linear": 0.5, "nonlinear": 3.5},
                                                               "aipw": {"constant": 5.5, "linear": 5.5, "nonlinear": 5.5}}}}}}
    (root / "results" / "metrics.json").write_text(json.dumps(metrics))
    return Results(root)


def shown(text: str) -> str:
    """Markdown as the reader sees it: without the backslashes that escape table text cells."""
    return re.sub(r"\\(.)", r"\1", text)


def md(parts: list) -> str:
    return shown("\n\n".join(p for p in parts if isinstance(p, str)))


# --------------------------------------------------------------------------- refutation and sensitivity


def test_refutation_section_gives_rules_a_plain_reading_and_the_sensitivity(tmp_path):
    res = write_tables(tmp_path)
    for lang in ("en", "ko"):
        f, text = Formatter(lang), md(refutation_section(res, lang))
        for needed in ("tbl-refutation", "tbl-sensitivity", "tbl-sensitivity-benchmark", f.money(13.25, 2),
                       f.ci(-23.5, 31.25, "money:2"), f.num(1.25, 2), f.pct(0.016), f.p(0.43),
                       label("covariate_group", "purchase_frequency", lang)):
            assert needed in text, (lang, needed)
        for ref in RULES:
            assert label("refuter", ref, lang) in text
            assert pass_rule(RULES[ref], lang) in text
    en = md(refutation_section(res, "en"))
    assert "all 4 refutations pass" in en and "does not stand out" in en and "fragile" in en
    assert "1 of 3 groups (purchase frequency) is strong enough" in en
    ko = md(refutation_section(res, "ko"))
    assert "모두 통과했다" in ko and "취약하다" in ko and "위약 효과(캠페인 안에서" in ko  # the rules in Korean
    res = write_tables(tmp_path, placebo_p=0.02, failed="data_subset")
    en = md(refutation_section(res, "en"))
    assert "stands out from the placebo effects" in en and "3 of 4 refutations pass" in en
    assert "Household subsets fails" in en and "6 of 8 checks pass" in en


# --------------------------------------------------------------------------- semi-synthetic


def test_semisynthetic_section_names_the_supported_estimator_and_warns_of_single_draws(tmp_path):
    res = write_tables(tmp_path, reps=1)
    for lang in ("en", "ko"):
        f, parts = Formatter(lang), semisynthetic_section(res, lang)
        text = md(parts)
        for needed in ("tbl-semisynthetic", "tbl-semisynthetic-cate", "tbl-semisynthetic-selection",
                       label("method", "ipw", lang) + " ✓", f.money(0.5, 2), f.money(5.5, 2), f.num(148.5, 1)):
            assert needed in text, (lang, needed)
        assert FigureRef("semisynthetic/semisynthetic", parts[-1].caption) == parts[-1]
        for ref in ("tbl-semisynthetic", "tbl-semisynthetic-cate", "tbl-semisynthetic-selection"):
            assert f"@{ref} " in text or f"@{ref})" in text or f"@{ref}." in text, (lang, ref)
    en = md(semisynthetic_section(res, "en"))
    assert "A single draw per shape" in en and "no Monte-Carlo standard error" in en
    assert "the benchmark supports IPW (Hájek)" in en and "beats it only on the non-linear shape" in en
    assert "loses money outright, because the constant effect" in en  # linear: regret 5.5 > oracle 1.75, all contacted
    assert "형태마다 한 번의 추출" in md(semisynthetic_section(res, "ko"))
    res = write_tables(tmp_path, reps=3)
    en = md(semisynthetic_section(res, "en"))
    f = Formatter("en")
    assert "A single draw" not in en and "means over 3 replications" in en and f"± {f.money(1.5, 2)}" in en


# --------------------------------------------------------------------------- the targeting decision


def test_policy_section_states_the_decision_with_intervals_and_the_original_claims(tmp_path):
    res = write_tables(tmp_path)
    d = decision_facts(res)
    assert d.best["policy"] == "treat_none" and d.targets_nobody and abs(d.breakeven - BE) < 1e-9
    for lang in ("en", "ko"):
        f, parts = Formatter(lang), policy_section(res, lang)
        text = md(parts)
        for needed in ("tbl-policy", "tbl-segment-recommendations", "tbl-original-policy", f.money(BE, 2),
                       f"{f.money(-19000)} {f.ci(-52000, 4100, 'money')}", f.money(-19500), f.pct(0.07, 0),
                       f.money(ORIGINAL["policy_profit"]), f.pct(ORIGINAL["policy_share_targeted"]),
                       f.pct(ORIGINAL["policy_roi"], 0), f.money(ORIGINAL["policy_dr_profit"]),
                       f"{f.money(2950)} {f.ci(-1700, 9500, 'money')}", policy_label("treat_none", lang) + "\u00a0✓",
                       policy_label("cate_gt_breakeven@causal_forest", lang) + "\u00a0†",
                       f"{f.money(40.5, 2)} {f.ci(-8.5, 98.5, 'money:2')}", "고액 장바구니" if lang == "ko" else
                       "Big-basket shoppers", label("action", "test_first", lang), f.money(540)):
            assert needed in text, (lang, needed)
        assert policy_label("top_10pct", lang) not in text  # budgets are left to the ROI curve
        figs = [p.name for p in parts if isinstance(p, FigureRef)]
        assert figs == ["policy/policy_comparison", "policy/roi_curve", "policy/policy_tree",
                        "policy/cost_margin_heatmap", "policy/segment_effects"]
    en = md(policy_section(res, "en"))
    assert "the best policy is to contact no one" in en and "No CATE model passed the selection rule" in en
    assert "“Contact no one” is the best policy in 3" in en and "every such interval includes zero" in en
    assert "No group is shown to clear the breakeven" in en and "the Low value tier" in en
    assert "Those were plug-in figures" in en and "an interval that includes zero" in en


def test_a_policy_that_targets_someone_is_stated_as_the_recommendation(tmp_path):
    res = write_tables(tmp_path, best="policy_tree")
    f = Formatter("en")
    en = md(policy_section(res, "en"))
    assert f"the best policy is DR policy tree: it contacts {f.pct(0.23)} of units" in en
    assert "The interval includes zero" in en and "DR policy tree\u00a0✓" in en
    assert "Send Type A campaigns by the policy “DR policy tree”" in SM.decision(res, "en")


def test_ab_section_gives_n_per_arm_weeks_and_cuped(tmp_path):
    res = write_tables(tmp_path)
    for lang in ("en", "ko"):
        f, text = Formatter(lang), md(ab_section(res, lang))
        for needed in ("tbl-ab", f.int(1456), f.int(380), f.int(2912), f.num(0.86, 2), f.int(98), f.int(26),
                       f.money(BE, 2), f.pct(0.86 ** 2, 0), f.num(10.875, 1)):
            assert needed in text, (lang, needed)
        assert policy_label("current_practice", lang).lower() in text.lower()
    assert "the recommended policy contacts no one, so the test is sized for current practice" in \
        md(ab_section(res, "en")).lower()


def test_sections_accept_the_results_contract_columns_alone(tmp_path):
    """With only the SPEC's columns (no summary, no eligibility, no CUPED rows), every stage still has its
    section and its cross-referenced table."""
    t = tmp_path / "results" / "tables"
    t.mkdir(parents=True)
    pd.DataFrame({"outcome": [AMOUNT] * 2, "refuter": ["placebo_treatment", "data_subset"], "estimate": [40.0, 40.0],
                  "new_effect": [0.5, 39.0], "p_value": [0.8, 0.9], "passed": [True, True]}
                 ).to_csv(t / "refutation.csv", index=False)
    pd.DataFrame({"dgp": ["linear"] * 2, "model": ["t_learner", "causal_forest"], "replication": [1, 1],
                  "ate_true": [10.0] * 2, "ate_est": [12.0, 10.5], "pehe": [3.0, 1.0], "ci_covered": [1, 1],
                  "policy_regret": [2.0, 0.5]}).to_csv(t / "semisynthetic.csv", index=False)
    pd.DataFrame({"outcome": [AMOUNT] * 2, "policy": ["treat_all", "cate_gt_breakeven"], "n_targeted": [100, 40],
                  "pct_targeted": [100.0, 40.0], "profit": [-50.0, 120.0], "profit_ci_low": [-90.0, 20.0],
                  "profit_ci_high": [-10.0, 220.0], "roi": [-0.1, 0.6]}).to_csv(t / "policy_comparison.csv", index=False)
    pd.DataFrame({"mde": [30.0], "sigma": [400.0], "alpha": [0.05], "power": [0.8], "n_per_arm": [2800]}
                 ).to_csv(t / "ab_test_design.csv", index=False)
    res = Results(tmp_path)
    for lang in ("en", "ko"):
        f, text = Formatter(lang), S2.later_stage_sections(res, lang)
        for needed in ("tbl-refutation", "tbl-semisynthetic", "tbl-policy", "tbl-ab", f.money(120), f.int(2800)):
            assert needed in text, (lang, needed)
        assert "@tbl-policy" in text and "@tbl-ab" in text and "@tbl-refutation" in text
    assert "the best policy is CATE > breakeven" in S2.later_stage_sections(res, "en")


def test_decision_summary_and_params_sections(tmp_path):
    res = write_tables(tmp_path)
    f = Formatter("en")
    text = S2.decision_summary(res, "en")
    assert text.startswith("**The targeting decision.**") and f.int(1456) in text and f.int(380) in text
    assert S2.decision_summary(Results(tmp_path / "empty"), "ko") == ""
    assert S2.params_sections(S2.LATER_STAGES) == ["cate", "cate_eval", "refute", "semisynthetic", "policy"]


# --------------------------------------------------------------------------- the one-page summary


def test_summary_blocks_come_from_the_results(tmp_path):
    res = write_tables(tmp_path)
    for lang in ("en", "ko"):
        f = Formatter(lang)
        text = shown("\n\n".join([SM.decision(res, lang), SM.profit_table(res, lang), SM.whom(res, lang),
                                  SM.segment_table(res, lang), *SM.caveats(res, lang), SM.test(res, lang),
                                  SM.original(res, lang)]))
        for needed in ("tbl-summary-policies", "tbl-summary-segments", f.money(BE, 2), f.money(COST, 2),
                       f"{f.money(0)} {f.ci(0, 0, 'money')}", f"{f.money(-19000)} {f.ci(-52000, 4100, 'money')}",
                       f.int(1456), f.int(380), f.num(0.86, 2), f.int(98), f.int(26), f.num(1.25, 2), f.pct(0.016),
                       f.p(0.43), f.money(ORIGINAL["policy_profit"]), f.money(47.25, 2), label("tier", "Low", lang)):
            assert needed in text, (lang, needed)
        assert len(SM.caveats(res, lang)) == 4
    en = SM.decision(res, "en")
    assert en.startswith("**Send no Type A campaign") and "contact no one" in en
    empty = Results(tmp_path / "nothing")
    assert SM.decision(empty, "en") == SM._NOT_RUN["en"] and SM.profit_table(empty) == "" and SM.test(empty) == ""
    assert SM.whom(empty) == "" and SM.original(empty, "ko").startswith("원 프로젝트는")


@pytest.mark.parametrize("doc", ["en/summary", "ko/summary"])
def test_summary_documents_have_no_typed_numbers(doc):
    text = (ROOT / "report" / f"{doc}.qmd").read_text(encoding="utf-8")
    text = re.sub(r"^```\{python\}.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"`\{python\}[^`]*`", "", text)
    assert [ln for ln in text.splitlines() if re.search(r"\d", ln)] == []


def test_summary_renders_to_one_page_in_both_languages(tmp_path, monkeypatch):
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    write_tables(tmp_path)
    project = tmp_path / "report"
    project.mkdir()
    shutil.copy(ROOT / "report" / "_quarto.yml", project)
    for lang in ("en", "ko"):
        shutil.copytree(ROOT / "report" / lang, project / lang, ignore=shutil.ignore_patterns("track*.qmd"))
    out = render_project(project, tmp_path / "out", engine="fallback")
    assert [r.document for r in out] == ["en/summary", "ko/summary"]
    for lang in ("en", "ko"):
        f = Formatter(lang)
        html = (tmp_path / "out" / lang / "summary.html").read_text(encoding="utf-8")
        for bad in ("{python}", "?@", "Traceback", "Error:", "FigureRef"):
            assert bad not in html, (lang, bad)
        for needed in (f.int(1456), f.money(BE, 2), 'id="tbl-summary-policies"', 'href="#tbl-summary-segments"'):
            assert needed in html, (lang, needed)
        pdf = pypdf.PdfReader(tmp_path / "out" / lang / "summary.pdf")
        assert len(pdf.pages) == 1
        if lang == "ko":
            assert len(HANGUL.findall(pdf.pages[0].extract_text())) > 300
