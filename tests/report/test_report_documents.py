"""The four report documents (report/{en,ko}/{track1,track2}.qmd) against a real workflow run.

The session fixture `tiny_project` runs the tiny synthetic workflow once, report stage
included (the fallback engine: Jupyter + pandoc + Typst, unless quarto is on PATH).
Every expected number is formatted here from the results files with the same helpers the
documents use; nothing is typed in.
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pandas as pd
import pypdf
import pytest

from segtarget.report import facts as F, labels as L, tables as TB, track2 as T2, track2_stages as S2
from segtarget.report.render import render_project
from segtarget.report.results import ROOT_ENV, Formatter, Results
from workflow_helpers import ROOT

pytestmark = pytest.mark.workflow

DOCS = ("en/track1", "en/track2", "ko/track1", "ko/track2")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.I)
SECTIONS = {
    "en": ("Summary", "Introduction", "Methods", "Results", "Discussion", "Limitations", "Appendix"),
    "ko": ("요약", "서론", "방법", "결과", "논의", "한계", "부록"),
}
@pytest.fixture(scope="module")
def project(tiny_project):
    """The session's tiny workflow run: its report stage rendered all four documents."""
    return {"root": tiny_project, "out": tiny_project / "report" / "_output", "res": Results(tiny_project)}


def html_of(project, doc: str) -> str:
    return (project["out"] / f"{doc}.html").read_text(encoding="utf-8")


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def font_names(pdf: Path) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(pdf).pages:
        for ref in page.get("/Resources", {}).get("/Font", {}).values():
            names.add(str(ref.get_object().get("/BaseFont", "")))
    return names


# --------------------------------------------------------------------------- rendered documents


def test_all_four_documents_render_to_html_and_pdf(project):
    for doc in DOCS:
        for fmt in ("html", "pdf"):
            assert (project["out"] / f"{doc}.{fmt}").stat().st_size > 0


@pytest.mark.parametrize("doc", DOCS)
def test_html_is_self_contained_and_complete(project, doc):
    html = html_of(project, doc)
    refs = ATTR.findall(html)
    external = [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]
    assert external == []
    images = [r for r in refs if r.startswith("data:image/png;base64,")]
    assert len(images) >= (8 if doc.endswith("track1") else 3)
    lang = doc.split("/")[0]
    for heading in SECTIONS[lang]:
        assert re.search(rf"<h1[^>]*>{heading}</h1>", html), heading
    # no code, no unrendered inline expression, no unresolved cross-reference, no error output
    for bad in ("{python}", "?@", "Traceback", "res.show_figure", "Error:"):
        assert bad not in html, bad
    assert f'lang="{lang}"' in html


@pytest.mark.parametrize("doc", DOCS)
def test_pdf_has_pages_and_korean_pdfs_carry_hangul(project, doc):
    pdf = project["out"] / f"{doc}.pdf"
    assert len(pypdf.PdfReader(pdf).pages) >= 4
    if doc.startswith("ko/"):
        assert any("NanumGothic" in name for name in font_names(pdf))
        assert len(HANGUL.findall(pdf_text(pdf))) > 500


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_track1_numbers_come_from_results(project, lang):
    res, f = project["res"], Formatter(lang)
    html = html_of(project, f"{lang}/track1")
    m = res.metric("track1")
    summary = res.table("data_summary").set_index("table")
    profiles = res.table("segment_profiles")
    top = profiles.sort_values(["revenue_share", "n"], ascending=False).iloc[0]
    expected = [f.int(summary.loc["transactions", "households"]), f.int(summary.loc["transactions", "rows"]),
                f.num(m["bootstrap_ari_mean"], 2), f.num(m["silhouette"], 3), f.pct(m["r2_heldout"]),
                f.pct(top["revenue_share"]), f.pct(top["share"])]
    for text in expected:
        assert text in html, text
    name_col = "segment_name_ko" if lang == "ko" else "segment_name"
    for name in profiles[name_col]:
        assert name in html


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_track2_numbers_come_from_results(project, lang):
    res, f = project["res"], Formatter(lang)
    html = html_of(project, f"{lang}/track2")
    cohort, ate = res.table("cohort"), res.table("ate")
    head = ate[(ate.outcome == "purchase_amount") & (ate.method == "aipw") & (ate.population == "trimmed")].iloc[0]
    naive = ate[(ate.outcome == "purchase_amount") & (ate.method == "naive") & (ate.population == "full")].iloc[0]
    expected = [f.int(len(cohort)), f.int(cohort["treated"].sum()), f.int(cohort["household_id"].nunique()),
                f.money(head["estimate"], 2), f.money(naive["estimate"], 2),
                f.num(F.positivity_metrics(res)["auc"], 3)]
    for text in expected:
        assert text in html, text
    # every method appears in the ATE tables, in the document's language
    for method in ate["method"].unique():
        assert L.label("method", method, lang) in html


def test_korean_documents_embed_the_korean_figure_variants(project):
    res = project["res"]

    def embedded(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()[:200]

    for doc, name in (("track1", "segment/segment_sizes"), ("track2", "positivity/propensity_hist")):
        ko, en = html_of(project, f"ko/{doc}"), html_of(project, f"en/{doc}")
        assert embedded(res.figure(name, "ko")) in ko and embedded(res.figure(name, "en")) not in ko
        assert embedded(res.figure(name, "en")) in en


def test_numbers_flow_from_results_and_later_stages_slot_in(project, tmp_path, monkeypatch):
    """Change a results value and add later-stage tables in a copy: the re-rendered documents
    show the new value and the new sections, with their tables cross-referenced."""
    monkeypatch.delenv(ROOT_ENV, raising=False)
    root = tmp_path / "copy"
    for part in ("results", "report", "params.yaml"):
        src = project["root"] / part
        (shutil.copytree(src, root / part, ignore=shutil.ignore_patterns("_output"))
         if src.is_dir() else shutil.copy(src, root / part))
    path = root / "results" / "tables" / "data_summary.csv"
    summary = pd.read_csv(path)
    new = int(summary.loc[summary.table == "transactions", "households"].iloc[0]) + 76543
    summary.loc[summary.table == "transactions", "households"] = new
    summary.to_csv(path, index=False)
    write_later_stage_tables(root / "results" / "tables")
    render_project(root / "report", root / "out", ["en/track1", "en/track2"], formats=("html",), engine="fallback")
    html1 = (root / "out" / "en" / "track1.html").read_text(encoding="utf-8")
    assert Formatter("en").int(new) in html1
    html2 = (root / "out" / "en" / "track2.html").read_text(encoding="utf-8")
    for stage in S2.LATER_STAGES:
        assert stage.title_en in html2
    for label in ("tbl-cate-models", "tbl-refutation", "tbl-semisynthetic", "tbl-policy", "tbl-ab"):
        assert f'href="#{label}"' in html2 and f'id="{label}"' in html2
    assert "?@" not in html2


# --------------------------------------------------------------------------- helpers and sources


def write_later_stage_tables(folder: Path) -> None:
    """Small tables with the SPEC's results-contract columns for the stages after the ATE."""
    pd.DataFrame({"outcome": ["purchase_amount"] * 2, "model": ["t_learner", "causal_forest"],
                  "rloss_heldout": [1.5, 1.2], "auuc_normalized": [0.1, 0.2], "qini_normalized": [0.05, 0.1],
                  "blp_pvalue": [0.3, 0.01], "rate": [0.5, 1.0], "rate_ci_low": [-0.1, 0.2],
                  "rate_ci_high": [1.1, 1.8], "selected": [False, True]}).to_csv(folder / "cate_model_selection.csv", index=False)
    pd.DataFrame({"household_id": [1, 2, 3], "outcome": "purchase_amount", "model": "causal_forest",
                  "cate": [10.0, -2.0, 5.0], "cate_ci_low": [1.0, -9.0, -1.0], "cate_ci_high": [19.0, 5.0, 11.0],
                  "propensity": [0.3, 0.5, 0.7], "in_overlap": [1, 1, 0]}).to_csv(folder / "customer_cate.csv", index=False)
    pd.DataFrame({"outcome": ["purchase_amount"] * 2, "refuter": ["placebo_treatment", "data_subset"],
                  "estimate": [40.0, 40.0], "new_effect": [0.5, 39.0], "p_value": [0.8, 0.9],
                  "passed": [True, True]}).to_csv(folder / "refutation.csv", index=False)
    pd.DataFrame({"dgp": ["linear"] * 4, "model": ["t_learner", "t_learner", "causal_forest", "causal_forest"],
                  "replication": [1, 2, 1, 2], "ate_true": [10.0] * 4, "ate_est": [12.0, 9.0, 10.5, 9.5],
                  "pehe": [3.0, 2.5, 1.0, 1.2], "ci_covered": [1, 0, 1, 1],
                  "policy_regret": [2.0, 3.0, 0.5, 0.4]}).to_csv(folder / "semisynthetic.csv", index=False)
    pd.DataFrame({"outcome": ["purchase_amount"] * 2, "policy": ["treat_all", "cate_above_breakeven"],
                  "n_targeted": [100, 40], "pct_targeted": [1.0, 0.4], "profit": [-50.0, 120.0],
                  "profit_ci_low": [-90.0, 20.0], "profit_ci_high": [-10.0, 220.0],
                  "roi": [-0.1, 0.6]}).to_csv(folder / "policy_comparison.csv", index=False)
    pd.DataFrame({"mde": [30.0], "sigma": [400.0], "alpha": [0.05], "power": [0.8],
                  "n_per_arm": [2800]}).to_csv(folder / "ab_test_design.csv", index=False)


def test_later_stage_sections_only_for_existing_results(tmp_path):
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    res = Results(tmp_path)
    assert S2.later_stage_sections(res, "en") == "" and S2.available_stages(res) == []
    write_later_stage_tables(tables)
    (tables / "semisynthetic.csv").unlink()
    for lang in ("en", "ko"):
        md = S2.later_stage_sections(res, lang)
        titles = [s.title_ko if lang == "ko" else s.title_en for s in S2.LATER_STAGES]
        present = [t for t in titles if f"## {t}" in md]
        assert len(present) == len(S2.LATER_STAGES) - 1
        assert ("준합성 검증" if lang == "ko" else "Semi-synthetic validation") not in md
        f = Formatter(lang)
        assert f.int(2800) in md and f.money(120) in md  # A/B sample size, best policy profit
        assert "tbl-cate-summary" in md  # the chosen model's out-of-fold CATE summary


@pytest.mark.parametrize("doc", DOCS)
def test_prose_has_no_typed_numbers(doc):
    """Numbers reach the prose through code only: outside code chunks and inline
    expressions (and cross-reference labels) a document has no digit at all."""
    text = (ROOT / "report" / f"{doc}.qmd").read_text(encoding="utf-8")
    text = re.sub(r"^```\{python\}.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"`\{python\}[^`]*`", "", text)
    text = re.sub(r"@(tbl|fig)-[\w-]+", "", text)
    lines = [ln for ln in text.splitlines() if re.search(r"\d", ln)]
    assert lines == []


def test_results_figure_accepts_stage_folders(tmp_path):
    folder = tmp_path / "results" / "figures" / "segment"
    folder.mkdir(parents=True)
    (folder / "sizes.png").write_bytes(b"en")
    (folder / "sizes_ko.png").write_bytes(b"ko")
    res = Results(tmp_path)
    assert res.figure("segment/sizes", "en").read_bytes() == b"en"
    assert res.figure("segment/sizes", "ko").read_bytes() == b"ko"
    assert F.stage_figures(res, "segment") == ["segment/sizes"]


def test_korean_particles_follow_the_last_sound():
    P = L.ko_particle
    assert [P("구매 금액", "은"), P("구매 횟수", "은"), P("AIPW (교차적합)", "은")] == ["구매 금액은", "구매 횟수는", "AIPW (교차적합)는"]
    assert [P("0.93", "이었다"), P("0.92", "이었다"), P("$41.57", "으로"), P("0.83", "으로")] == \
        ["0.93이었다", "0.92였다", "$41.57로", "0.83으로"]
    assert P("53.4%", "을") == "53.4%를" and P("k = 3", "을") == "k = 3을"


def test_fit_widths_keeps_numbers_whole():
    df = pd.DataFrame({"name": ["a very long segment name that wraps " * 3, "short"], "n": [1318, 7],
                       "share": [0.534, 0.466]})
    md = TB.fit_widths(Formatter("en").table(df, formats={"share": "pct"}))
    rule = md.splitlines()[1]
    widths = [len(c) for c in rule.strip("|").split("|")]
    assert widths[1] >= len("1,318") + 1 and widths[2] >= len("53.4%") + 1
    assert rule.endswith(":|") and rule.startswith("|:")
    small = Formatter("en").table(pd.DataFrame({"a": [1]}))
    assert TB.fit_widths(small) == small


def test_significance_and_flow_translation():
    assert [L.significance(1, 2), L.significance(-2, -1), L.significance(-1, 1)] == \
        ["positive", "negative", "inconclusive"]
    assert T2.flow_step("campaign 8: units", "ko") == "캠페인 8: 분석 단위"
    assert T2.flow_note("index day 128; outcome days 128..204", "en") == "start day 128; outcome days 128–204"
    assert T2.flow_step("something new", "ko") == "something new"


def test_cate_section_from_the_cate_stage_alone(tmp_path):
    """Before any model-selection stage has run, the CATE section reads the cate stage's
    summary: the learners' held-out R-loss against the constant effect, stated plainly."""
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    res = Results(tmp_path)
    pd.DataFrame({"household_id": [1, 2], "campaign_id": 8, "outcome": "purchase_amount", "model": "t_learner",
                  "cate": [1.0, 2.0], "cate_ci_low": None, "cate_ci_high": None, "propensity": [0.3, 0.5],
                  "in_overlap": [1, 1], "treated": [0, 1], "fold": [0, 1]}).to_csv(tables / "customer_cate.csv", index=False)
    summary = pd.DataFrame({"outcome": ["purchase_amount", "purchase_amount"], "model": ["t_learner", "causal_forest"],
                            "n": 4014, "n_overlap": 2226, "mean_cate": [40.5, 8.9], "mean_cate_overlap": [25.5, 7.3],
                            "sd_cate": [159.1, 50.5], "q10": [-113.2, -34.9], "median": [54.1, 23.6], "q90": [197.1, 44.2],
                            "share_positive": [0.7, 0.77], "share_ci_above_zero": [None, 0.137],
                            "rloss_heldout": [74730.2, 67000.0], "rloss_constant": [67880.0, 67880.0],
                            "rloss_gain": [-6850.2, 880.0]})
    summary.to_csv(tables / "cate_summary.csv", index=False)
    en, ko = S2.later_stage_sections(res, "en"), S2.later_stage_sections(res, "ko")
    assert "## Heterogeneous effects and model choice" in en and "tbl-cate-summary" in en
    assert Formatter("en").int(2226) in en and "1 of 2 learners beat the constant effect" in en and "Causal forest" in en
    assert "tbl-cate-summary" in ko and "인과 숲" in ko
    summary.assign(rloss_gain=[-1.0, -2.0]).to_csv(tables / "cate_summary.csv", index=False)
    assert "no learner beats the constant effect" in S2.later_stage_sections(res, "en")


def test_cate_section_built_around_the_evaluation(tmp_path):
    """With the cate_eval stage's tables, the section explains the curves, gives the selection
    table, the chosen model and why (from the numbers), and what targeting by it would earn."""
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    res = Results(tmp_path)
    base = {"rloss_constant": 10.0, "ate_dr": 2.0, "n": 900, "n_clusters": 600, "n_boot": 200, "rule": "rate_blp_rloss",
            "auuc_normalized_ci_low": -0.01, "auuc_normalized_ci_high": 0.2, "blp_beta1_se": 0.2}
    rows = [
        {"outcome": "purchase_amount", "model": "causal_forest", "rloss_heldout": 9.5, "rloss_gain": 0.5,
         "auuc_normalized": 0.12, "qini_normalized": 0.12, "blp_beta1": 0.9, "blp_pvalue": 0.01, "rate": 1.4,
         "rate_ci_low": 0.3, "rate_ci_high": 2.5, "mean_tau_hat": 2.1, "selected": 1, "uplift_at_10": 5.5,
         "uplift_at_10_ci_low": 3.25, "uplift_at_10_ci_high": 7.75, "uplift_at_10_vs_ate": 3.5},
        {"outcome": "purchase_amount", "model": "constant", "rloss_heldout": 10.0, "rloss_gain": 0.0, "auuc_normalized": 0.0,
         "qini_normalized": 0.0, "blp_beta1": None, "blp_pvalue": None, "rate": 0.0, "rate_ci_low": 0.0, "rate_ci_high": 0.0,
         "mean_tau_hat": 1.9, "selected": 0, "uplift_at_10": 2.0, "uplift_at_10_ci_low": 1.5, "uplift_at_10_ci_high": 2.5,
         "uplift_at_10_vs_ate": 0.0},
        {"outcome": "purchase_count", "model": "causal_forest", "rloss_heldout": 3.2, "rloss_gain": -0.2,
         "auuc_normalized": 0.01, "qini_normalized": 0.01, "blp_beta1": -0.3, "blp_pvalue": 0.8, "rate": -0.1,
         "rate_ci_low": -0.6, "rate_ci_high": 0.4, "mean_tau_hat": 0.5, "selected": 0, "uplift_at_10": 0.4,
         "uplift_at_10_ci_low": -0.5, "uplift_at_10_ci_high": 1.3, "uplift_at_10_vs_ate": -0.1},
        {"outcome": "purchase_count", "model": "constant", "rloss_heldout": 3.0, "rloss_gain": 0.0, "auuc_normalized": 0.0,
         "qini_normalized": 0.0, "blp_beta1": None, "blp_pvalue": None, "rate": 0.0, "rate_ci_low": 0.0, "rate_ci_high": 0.0,
         "mean_tau_hat": 0.5, "selected": 1, "uplift_at_10": 0.5, "uplift_at_10_ci_low": 0.4, "uplift_at_10_ci_high": 0.6,
         "uplift_at_10_vs_ate": 0.0},
    ]
    sel = pd.DataFrame([{**base, **r} for r in rows])
    sel.loc[sel["outcome"] == "purchase_count", "ate_dr"] = 0.5
    sel.to_csv(tables / "cate_model_selection.csv", index=False)
    pd.DataFrame({"household_id": [1, 2], "campaign_id": 8, "outcome": "purchase_amount", "model": "causal_forest",
                  "cate": [1.0, 3.0], "cate_ci_low": 0.0, "cate_ci_high": 4.0, "propensity": [0.3, 0.5], "in_overlap": 1,
                  "treated": [0, 1], "fold": [0, 1], "selected": 1}).to_csv(tables / "customer_cate.csv", index=False)
    for lang in ("en", "ko"):
        f = Formatter(lang)
        md = S2.later_stage_sections(res, lang)
        for text in ("tbl-cate-models", "tbl-cate-uplift", "tbl-cate-summary", f.money(5.5, 2), f.money(3.5, 2),
                     f.ci(0.3, 2.5, "num:3"), f.int(900), "✓"):
            assert text in md, (lang, text)
    en = S2.later_stage_sections(res, "en")
    assert "the rule chose Causal forest" in en and "it is the only model that qualifies" in en
    assert "For purchase count, no model qualifies" in en and "How to read the curves" in en
    assert "인과 숲" in S2.later_stage_sections(res, "ko")


def test_ingest_warnings_read_as_words_in_the_data_table():
    """Counted ingest warnings (data_summary rows ``warning:<table>:<check>``) are named in plain words."""
    from segtarget.report.labels import label

    assert label("table", "warning:transactions:zero_quantity", "en") == "Warning, Transactions: lines with quantity 0 (kept)"
    assert label("table", "warning:campaign_members:households_without_transactions", "ko") == \
        "경고, 캠페인 대상 가구: 거래 내역에 없는 가구"
    assert label("table", "warning:products:a_new_check", "en") == "Warning, Products: a new check"
    assert label("table", "transactions", "en") == "Transactions"
