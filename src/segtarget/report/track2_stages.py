"""Track 2 sections of the stages after the ATE: CATE, refutation, semi-synthetic, policy, A/B.

:func:`later_stage_sections` (Markdown) and :func:`show_later_stages` (Markdown and
figures, from an ``output: asis`` chunk) emit a section for each stage in
``LATER_STAGES`` one of whose result tables exists, so the Track 2 documents grow with the
workflow. Each section comes from its builder: ``cate_section``
(:mod:`~segtarget.report.track2_cate`), ``refutation_section`` with the sensitivity
analysis (:mod:`~segtarget.report.track2_checks`), ``semisynthetic_section``
(:mod:`~segtarget.report.track2_validation`), ``policy_section`` and ``ab_section``
(:mod:`~segtarget.report.track2_policy`, on the decision facts of
:mod:`~segtarget.report.track2_decision`). A builder returns Markdown or a list of Markdown
blocks and :class:`~segtarget.report.facts.FigureRef` figures, shown where they stand.
:func:`decision_summary` is the targeting decision for a document's Summary and
:func:`params_sections` the params sections the appendix lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from segtarget.report.facts import FigureRef, has_table, stage_figures
from segtarget.report.labels import check_lang
from segtarget.report.results import Results
from segtarget.report.track2_cate import cate_section as _cate_section
from segtarget.report.track2_checks import refutation_section
from segtarget.report.track2_decision import ab_short, decision_facts, recommendation
from segtarget.report.track2_policy import ab_section, policy_section
from segtarget.report.track2_validation import semisynthetic_section


# --------------------------------------------------------------------------- later stages (Track 2)


@dataclass(frozen=True)
class LaterStage:
    key: str
    tables: tuple[str, ...]
    figures: tuple[str, ...]
    title_en: str
    title_ko: str


#: Track 2 stages after the ATE, in report order: each section appears only when one of its
#: tables exists in results/tables; its figures come from the listed figure folders, in order.
LATER_STAGES = (
    LaterStage("cate", ("cate_model_selection", "cate_summary"), ("cate_eval", "cate"),
               "Heterogeneous effects and model choice", "이질적 효과(CATE)와 모형 선택"),
    LaterStage("refutation", ("refutation",), ("refutation",), "Refutation and sensitivity", "반박 검정과 민감도"),
    LaterStage("semisynthetic", ("semisynthetic",), ("semisynthetic",), "Semi-synthetic validation", "준합성 검증"),
    LaterStage("policy", ("policy_comparison", "roi_curve", "segment_recommendations"), ("policy",),
               "Targeting policy", "타기팅 정책"),
    LaterStage("ab_test", ("ab_test_design",), ("ab_test",), "A/B test to confirm the policy", "정책 확인을 위한 A/B 테스트"),
)

_FIG_CAPTIONS = {
    "en": {"uplift": "Uplift curves", "qini": "Qini curves", "toc": "TOC curves", "roi_curve": "Profit by share targeted",
           "calibration": "Calibration of the chosen model (or the lowest R-loss model)",
           "agreement": "Agreement between models (rank correlation)",
           "drivers": "What the chosen model's CATE moves with",
           "cate_distribution": "Distribution of out-of-fold CATE", "policy": "Policy values",
           "semisynthetic": "Semi-synthetic validation", "refutation": "Refutation tests"},
    "ko": {"uplift": "업리프트 곡선", "qini": "Qini 곡선", "toc": "TOC 곡선", "roi_curve": "타기팅 비율별 이익",
           "calibration": "선택한 모형(또는 R-손실 최저 모형)의 보정",
           "agreement": "모형 간 일치도 (순위상관)",
           "drivers": "선택한 모형의 CATE를 움직이는 요인",
           "cate_distribution": "교차적합 CATE 분포", "policy": "정책별 가치",
           "semisynthetic": "준합성 검증", "refutation": "반박 검정"},
}


#: Figures shown first, in this order (by name stem); the others follow sorted.
_FIG_ORDER = ("uplift_curves", "qini_curves", "toc_curves", "calibration", "drivers", "agreement", "cate_distribution")


def available_stages(res: Results) -> list[LaterStage]:
    return [s for s in LATER_STAGES if any(has_table(res, t) for t in s.tables)]


def _title(stage: LaterStage, lang: str) -> str:
    return stage.title_ko if lang == "ko" else stage.title_en


def _figure_caption(name: str, lang: str) -> str:
    stem = name.split("/")[-1]
    for key, cap in _FIG_CAPTIONS[lang].items():
        if key in stem:
            return cap
    return stem.replace("_", " ")


_SECTION_BUILDERS: dict[str, Callable[[Results, str], "str | list"]] = {
    "cate": _cate_section, "refutation": refutation_section, "semisynthetic": semisynthetic_section,
    "policy": policy_section, "ab_test": ab_section,
}


def section_parts(res: Results, stage: LaterStage, lang: str) -> list:
    """A stage's section as a list of Markdown blocks and :class:`FigureRef` figures, in reading order."""
    out = _SECTION_BUILDERS[stage.key](res, lang)
    return [out] if isinstance(out, str) else [p for p in out if p]


def params_sections(stages: Iterable[LaterStage]) -> list[str]:
    """The params.yaml sections the later stages read, for the appendix (``cate`` adds ``cate_eval``)."""
    keys = {"cate": ["cate", "cate_eval"], "refutation": ["refute"], "semisynthetic": ["semisynthetic"],
            "policy": ["policy"], "ab_test": []}
    return list(dict.fromkeys(k for s in stages for k in keys.get(s.key, [s.key])))


def decision_summary(res: Results, lang: str = "en") -> str:
    """The targeting decision for a document's Summary (a bold lead and the recommendation); empty
    before the policy stage has run."""
    check_lang(lang)
    d = decision_facts(res)
    if d is None:
        return ""
    lead = "**The targeting decision.**" if lang == "en" else "**타기팅 결정.**"
    return " ".join(p for p in (lead, recommendation(d, lang), ab_short(res, lang)) if p)


def later_stage_sections(res: Results, lang: str = "en", level: int = 2) -> str:
    """Markdown for the Track 2 stages whose results exist (heading, prose, tables), in
    report order; an empty string when none has run yet. Figures are shown separately
    with :func:`later_stage_figures` (they are cell outputs, not Markdown)."""
    check_lang(lang)
    out = []
    for stage in available_stages(res):
        out.append("#" * level + " " + _title(stage, lang))
        out += [p for p in section_parts(res, stage, lang) if isinstance(p, str)]
    return "\n\n".join(out)


def later_stage_figures(res: Results, stages: str | tuple[str, ...], lang: str = "en") -> list[tuple[str, Path]]:
    """(caption, path) of each figure the later stage(s) wrote (figure folders ``stages``),
    language variant preferred, the figures of :data:`_FIG_ORDER` first."""
    names = [n for s in ((stages,) if isinstance(stages, str) else stages) for n in stage_figures(res, s)]
    rank = {stem: i for i, stem in enumerate(_FIG_ORDER)}
    names.sort(key=lambda n: rank.get(n.split("/")[-1], len(rank)))
    return [(_figure_caption(name, lang), res.figure(name, lang)) for name in names]


def show_later_stages(res: Results, lang: str = "en", level: int = 2) -> None:
    """Print each available later stage's section, with the figures it places inside it shown
    where they belong and the stage's other figures after it (call from a chunk with
    ``output: asis``). Prints nothing when no later stage has run."""
    from IPython.display import Image, display

    check_lang(lang)
    for stage in available_stages(res):
        print("#" * level + " " + _title(stage, lang) + "\n", flush=True)
        shown = set()
        for part in section_parts(res, stage, lang):
            if isinstance(part, FigureRef):
                if (res.figures_dir / f"{part.name}.png").is_file():
                    shown.add(part.name)
                    print(f"*{part.caption}*\n", flush=True)
                    display(Image(filename=str(res.figure(part.name, lang))))
            else:
                print(part + "\n", flush=True)
        for caption, path in later_stage_figures(res, stage.figures, lang):
            if f"{path.parent.name}/{path.stem.removesuffix('_ko')}" not in shown:
                print(f"*{caption}*\n", flush=True)
                display(Image(filename=str(path)))
