"""Track 1 report sections on the two axes, the choice of k and the original recipe.

Small results tables written here (the segment stage's columns) drive the generated
sentences and tables of segtarget.report.track1_axes / track1_compare; every expected
number is formatted from those inputs with the report's own Formatter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, write_params
from segtarget.report import track1 as T1, track1_axes as A1, track1_compare as C1
from segtarget.report.results import Formatter, Results

HANGUL = re.compile(r"[\uac00-\ud7a3]")
NAMES = {1: ("Weekly regulars", "매주 방문 단골"), 2: ("Big-basket shoppers", "고액 장바구니"),
         3: ("Stock-up shoppers", "대량 장보기"), 4: ("Health & beauty buyers", "건강·뷰티 구매층")}
# households by segment and tier (High, Medium, Low), revenue by segment and tier
COUNTS = {1: (60, 35, 5), 2: (31, 59, 10), 3: (0, 20, 80), 4: (1, 19, 80)}
REVENUE = {1: (600.0, 150.0, 10.0), 2: (300.0, 200.0, 20.0), 3: (0.0, 40.0, 60.0), 4: (5.0, 25.0, 90.0)}
TOP = {1: ("purchase_regularity", 1.1), 2: ("monetary_avg_basket_sales", 0.8), 3: ("avg_products_per_basket", 1.2),
       4: ("share_health_beauty", 2.03)}


def write_tables(root: Path, shares=(0.3, 0.3, 0.25, 0.15), selected: int = 4, gap_cap: int = 6,
                 original: bool = True) -> Results:
    tables = root / "results" / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    write_params(root / "params.yaml")
    (root / "results" / "metrics.json").write_text(json.dumps({"track1": {"k": selected, "stability_resamples": 100}}))
    ks = [2, 3, 4, 5, 6]
    pd.DataFrame({"k": ks, "inertia": [9.0, 8.0, 7.0, 6.0, 5.0], "silhouette": [0.30, 0.25, 0.21, 0.20, 0.19],
                  "calinski_harabasz": [900.0, 800.0, 700.0, 600.0, 500.0],
                  "davies_bouldin": [1.2, 1.3, 1.4, 1.35, 1.3], "bootstrap_ari": [0.99, 0.95, 0.9, 0.8, 0.6],
                  "min_jaccard": [0.98, 0.85, 0.80, 0.79, 0.60], "min_share": [0.45, 0.2, 0.15, 0.03, 0.02],
                  "k_stability_resamples": 20, "gap": [1.1, 1.2, 1.3, 1.35, 1.4], "gap_se": 0.01, "gap_cap": gap_cap,
                  "selected": [k == selected for k in ks]}).to_csv(tables / "cluster_selection.csv", index=False)
    segs = list(NAMES)
    n = {s: sum(COUNTS[s]) for s in segs}
    total_rev = sum(sum(v) for v in REVENUE.values())
    prof = pd.DataFrame({
        "segment": segs, "segment_name": [NAMES[s][0] for s in segs], "segment_name_ko": [NAMES[s][1] for s in segs],
        "n": [n[s] for s in segs], "share": list(shares),
        "revenue_share": [sum(REVENUE[s]) / total_rev for s in segs],
        "revenue_per_household": [sum(REVENUE[s]) / n[s] for s in segs],
        "tier_high_share": [COUNTS[s][0] / n[s] for s in segs], "tier_medium_share": [COUNTS[s][1] / n[s] for s in segs],
        "tier_low_share": [COUNTS[s][2] / n[s] for s in segs],
        "value_tier": ["High", "Medium", "Low", "Low"], "top_feature": [TOP[s][0] for s in segs],
        "top_std_diff": [TOP[s][1] for s in segs],
        "share_grocery": [0.5, 0.52, 0.6, 0.36], "share_health_beauty": [0.14, 0.15, 0.1, 0.39],
    })
    prof.to_csv(tables / "segment_profiles.csv", index=False)
    rows = []
    for s in segs:
        feat, d = TOP[s]
        rows += [{"segment": s, "segment_name": NAMES[s][0], "feature": feat, "nmf_input": True, "std_diff": d},
                 {"segment": s, "segment_name": NAMES[s][0], "feature": "share_grocery", "nmf_input": True,
                  "std_diff": -0.3},
                 {"segment": s, "segment_name": NAMES[s][0], "feature": "frequency", "nmf_input": False,
                  "std_diff": 3.0}]
    pd.DataFrame(rows).to_csv(tables / "segment_feature_differences.csv", index=False)
    tiers = []
    for s in segs:
        for i, tier in enumerate(("High", "Medium", "Low")):
            tiers.append({"segment": s, "segment_name": NAMES[s][0], "segment_name_ko": NAMES[s][1], "value_tier": tier,
                          "value_tier_ko": ["고가치", "중가치", "저가치"][i], "households": COUNTS[s][i],
                          "revenue": REVENUE[s][i], "share_of_segment": COUNTS[s][i] / n[s],
                          "share_of_households": COUNTS[s][i] / sum(n.values()),
                          "revenue_share": REVENUE[s][i] / total_rev})
    pd.DataFrame(tiers).to_csv(tables / "segment_value_tiers.csv", index=False)
    recipes = [{"recipe": "segtarget", "features": 13, "transform": "log1p_minmax", "rank": 6, "k": selected,
                "k_rule": "max_stable", "silhouette": 0.19, "davies_bouldin": 1.49, "bootstrap_ari": 0.78,
                "min_jaccard": 0.77, "max_category_spread": 0.293, "category_spread_feature": "share_health_beauty",
                "top_separating_features": "share_other 2.13; share_health_beauty 2.03"},
               {"recipe": "original", "features": 19, "transform": "minmax", "rank": 5, "k": 2,
                "k_rule": "min_davies_bouldin", "silhouette": 0.42, "davies_bouldin": 0.89, "bootstrap_ari": 0.99,
                "min_jaccard": 0.97, "max_category_spread": 0.041, "category_spread_feature": "share_other",
                "top_separating_features": "purchase_regularity 0.87; weeks_with_purchase 0.85"}]
    pd.DataFrame(recipes[:2 if original else 1]).to_csv(tables / "segment_recipe_comparison.csv", index=False)
    pd.DataFrame({"segment": segs, "segment_name": [NAMES[s][0] for s in segs], "jaccard_mean": [0.83, 0.81, 0.77, 0.9],
                  "n_resamples": 100}).to_csv(tables / "segment_stability.csv", index=False)
    pd.DataFrame({"segment": segs, "segment_name": [NAMES[s][0] for s in segs],
                  "segment_name_ko": [NAMES[s][1] for s in segs], "value_tier": ["High", "Medium", "Low", "Low"],
                  "behaviour": "x", "recommended_action": "act", "recommended_action_ko": "전략",
                  "rationale": "r"}).to_csv(tables / "segment_strategy.csv", index=False)
    return Results(root)


@pytest.fixture
def res(tmp_path):
    return write_tables(tmp_path)


def test_k_choice_says_why_this_k(res, tmp_path):
    f = Formatter("en")
    en = A1.k_choice_sentence(res, "en")
    assert "k = 2, 3 and 4 meet both floors" in en and "k = 4 is the largest of them" in en
    assert f"k = 5 is stable (its least stable segment keeps a mean Jaccard of {f.num(0.79, 3)})" in en
    assert f"holds {f.pct(0.03)} of households, below {f.pct(0.05, 0)}" in en
    assert "k = 6 fails both floors" in en and "does not bind" in en and "over 20 resamples" in en
    ko = A1.k_choice_sentence(res, "ko")
    assert "k = 5는 안정적이지만" in ko and "k = 4가 선택되었다" in ko
    capped = write_tables(tmp_path / "capped", selected=3, gap_cap=3)
    en = A1.k_choice_sentence(capped, "en")
    assert "k = 3 is the largest of them within the gap cap" in en and "rules out k = 4" in en
    table = T1.cluster_table(res, "en")
    assert "Lowest segment Jaccard" in table and "Meets floors" in table and "Smallest segment" in table
    assert sum(line.count("✓") for line in table.splitlines()) == 3 + 1  # k = 2, 3, 4 pass; k = 4 chosen


def test_k_choice_is_silent_without_per_k_stability(res):
    t = pd.read_csv(res.tables_dir / "cluster_selection.csv").drop(columns=["min_jaccard", "min_share"])
    t.to_csv(res.tables_dir / "cluster_selection.csv", index=False)
    assert A1.k_choice_sentence(res, "en") == ""
    assert "Inertia" in T1.cluster_table(res, "en")


def test_method_sentences_come_from_params(res):
    en = A1.behaviour_inputs_sentence(A1.read_params(res), "en")
    assert "13 features" in en and "health & beauty" in en and "regularity" in en
    rule = A1.value_tier_rule_sentence(A1.read_params(res), "en")
    assert "quintiles" in rule and "at least 12" in rule and "at least 8" in rule and "(3 to 15)" in rule
    ko = A1.value_tier_rule_sentence(A1.read_params(res), "ko")
    assert "5분위" in ko and "12점 이상이면 고가치" in ko


def test_segments_by_value_tier(res):
    f = Formatter("en")
    counts = pd.DataFrame(COUNTS).T
    v = A1.cramers_v(counts)
    assert 0 < v < 1 and A1.cramers_v(pd.DataFrame([[10, 0], [0, 10]])) == 1.0
    en = A1.value_tier_reading(res, "en")
    assert f"Cramér's V = {f.num(v, 2)}" in en
    total = sum(sum(r) for r in REVENUE.values())
    assert f"Segment 1 (Weekly regulars) holds the most High-tier revenue: {f.pct(600 / total)} of all revenue" in en
    assert "Segments 3 and 4 have almost no High-tier households" in en and "no segment is a single tier" in en
    table = A1.value_tier_table(res, "en", caption="x", label_="tbl-tiers")
    assert "All households" in table and "revenue (share of all revenue)" in table and "{#tbl-tiers}" in table
    assert f.pct(60 / 100) in table and f.pct(92 / 400) in table  # share of segment; High tier's share of all
    ko = A1.value_tier_reading(res, "ko")
    assert "1번 세그먼트(매주 방문 단골)로" in ko and len(HANGUL.findall(ko)) > 100


def test_original_recipe_side_by_side(res, tmp_path):
    section = C1.recipe_section(res, "en")
    assert "{#tbl-recipes}" in section and "Original recipe" in section and "other departments share 2.13" in section
    assert "picks k = 2, against k = 4 here" in section and "at most 4.1 percentage points" in section
    assert "cleaner by both geometric indices" in section and "its segments are more stable" in section
    ko = C1.recipe_section(res, "ko")
    assert "k = 2가 나온다" in ko and "k = 4다" in ko and "원 프로젝트의 방식" in ko
    alone = write_tables(tmp_path / "alone", original=False)
    assert "not run" in C1.recipe_reading(alone, "en") and C1.recipe_summary(alone, "en") == ""


def test_done_when_check(res, tmp_path):
    d = C1.done_when(res)
    assert (d.k, d.apart, d.min_share_segment, d.min_jaccard_segment) == (4, 4, 4, 3) and d.met
    assert "All four conditions hold." in C1.done_when_sentence(res, "en")
    assert "네 조건을 모두 충족한다" in C1.done_when_sentence(res, "ko")
    small = write_tables(tmp_path / "small", shares=(0.4, 0.35, 0.22, 0.03))
    text = C1.done_when_sentence(small, "en")
    assert not C1.done_when(small).met and "The bar is not met (a segment below 5% of households)" in text
    assert "@tbl-k" in text


def test_segment_and_strategy_tables(res):
    shown = lambda md: re.sub(r"\\(.)", r"\1", md)  # noqa: E731  (as the reader sees it: text cells are escaped)
    distinct = shown(T1.distinct_table(res, "en"))
    assert "health & beauty share +2.03" in distinct and "frequency" not in distinct  # behaviour inputs only
    strategy = shown(T1.strategy_table(res, "en"))
    assert "high health & beauty share" in strategy and "Most common value tier" in strategy
    assert "건강·뷰티 비중 높음" in T1.strategy_table(res, "ko") and "저가치" in T1.strategy_table(res, "ko")
    profile = T1.profile_table(res, "en")
    assert "| High" in profile and "Recency" not in profile


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_documents_carry_the_new_sections_and_no_old_tiers(lang):
    text = (ROOT / "report" / lang / "track1.qmd").read_text(encoding="utf-8")
    for needed in ("tbl-tiers", "fig-tiers", "segment/segment_value_tiers", "tbl-recipes", "tbl-distinct",
                   "A1.k_choice_sentence", "A1.value_tier_reading", "C1.recipe_section", "C1.done_when_sentence",
                   "A1.behaviour_inputs_sentence", "A1.value_tier_rule_sentence"):
        assert needed in text, needed
    sources = [text] + [p.read_text(encoding="utf-8") for p in (ROOT / "src" / "segtarget" / "report").glob("track1*.py")]
    for old in ("lapsing", "deal_sensitive", "deal sensitive", "deal-sensitive"):
        assert not any(old in s.lower() for s in sources), old
