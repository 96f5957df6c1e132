"""The inputs and the data facts of both tracks, and the appendix tables.

- **inputs**: :func:`read_params` (``params.yaml`` beside ``results/``),
  :func:`has_table`, :func:`stage_figures`, :class:`FigureRef` (a figure placed inside a
  section), :func:`positivity_metrics`, :func:`truthy` (a flag read from a CSV);
- **data**: :class:`DataFacts` (:func:`data_facts`, language-free numbers from
  ``data_summary.csv``), the data summary table and the feature dictionary (with Korean
  units and definitions: the feature stage writes English ones);
- **appendix**: the parameters used (:func:`params_table`) and the software versions
  (:func:`versions_table`);
- ``ORIGINAL``: the published numbers of the *original* project
  (reference/original-methodology.md), quoted in both tracks for comparison.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pandas as pd
import yaml

from segtarget.report.labels import feature_label, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table

#: Published numbers of the original project (reference/original-methodology.md sections
#: 2-7 and 10), quoted in the Methods, Discussion and policy sections for comparison.
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
    # the targeting decision (section 10): CATE > breakeven on its causal forest's test-set
    # predictions, valued by those same predictions (plug-in); its discarded DR evaluation
    "policy_cost": 12.73,
    "policy_margin": 0.30,
    "policy_breakeven": 42.43,
    "policy_households": 486,
    "policy_n_targeted": 152,
    "policy_share_targeted": 0.3128,
    "policy_profit": 2426.11,
    "policy_roi": 1.2538,
    "policy_dr_profit": -9406.0,
}

#: Packages whose versions the appendix lists (distribution names).
KEY_PACKAGES = (
    "snakemake", "dvc", "numpy", "pandas", "scipy", "scikit-learn", "econml", "dowhy",
    "statsmodels", "ibis-framework", "duckdb", "pyarrow", "pandera", "matplotlib",
    "koreanize-matplotlib", "nbclient", "jupytext", "pypandoc-binary", "typst",
)


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


class FigureRef(NamedTuple):
    """A results figure placed inside a report section (``name`` as in :meth:`Results.figure`,
    e.g. ``policy/roi_curve``), shown with ``caption`` when the file exists."""

    name: str
    caption: str


def truthy(v: Any) -> bool:
    """A flag read from a CSV: ``True``, ``1`` or the strings ``true``/``1``/``yes``; NA is false."""
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v) and not is_na(v)


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
    return pipe_table(Formatter(lang), df, formats={"value": "text"}, headers=headers, caption=caption, label=label_)


def versions_table(lang: str = "en", caption: str | None = None, label_: str | None = None) -> str:
    headers = {"package": "Package", "version": "Version"} if lang == "en" else {"package": "패키지", "version": "버전"}
    return pipe_table(Formatter(lang), software_versions(), formats={"version": "text"}, headers=headers,
                                 caption=caption, label=label_)


# --------------------------------------------------------------------------- data


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
    out = pipe_table(f, df, formats={c: (lambda v: "–" if is_na(v) else f.int(v)) for c in fmt},
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
    return pipe_table(Formatter(lang), df, formats={c: "text" for c in df.columns}, headers=headers,
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
