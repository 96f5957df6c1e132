"""Track 1: the original project's recipe side by side, and the bar the segmentation must clear.

- :func:`recipe_section`: the segment stage also runs the original project's recipe (its 19
  features, min-max scaling only, k by the lowest Davies-Bouldin index) on the same
  households; one table (:func:`recipe_table`) and a plain-words reading
  (:func:`recipe_reading`) generated from ``segment_recipe_comparison.csv``;
- :func:`done_when` / :func:`done_when_sentence`: the bar of a segmentation a CRM team can
  act on (issue 12), this run's numbers against it and, when it is not met, what fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from segtarget.report.facts import has_table, read_params
from segtarget.report.labels import feature_label, join_words, ko_particle
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import pipe_table
from segtarget.report.track1 import distinguishing, feature_words
from segtarget.report.track1_axes import seg_ref, stability_floors

#: The bar of issue 12 ("Done when"): at least this many segments, and at least this
#: fraction of them standing apart from all households by at least ``APART_SD`` SDs on a
#: behaviour feature (the stability and share floors are the k rule's, from params.yaml).
DONE_MIN_SEGMENTS = 4
APART_SD = 0.5
APART_MIN_FRACTION = 0.5
#: Category shares that differ by less than this between segments are "hardly different".
CATEGORY_SMALL = 0.10


# --------------------------------------------------------------------------- the original recipe


_TRANSFORM = {
    "log1p_minmax": ("log(1 + x) on heavy-tailed inputs, then min-max", "꼬리가 긴 입력에 log(1 + x) 후 최소-최대 변환"),
    "minmax": ("min-max only", "최소-최대 변환만"),
    "none": ("none", "없음"),
}
_K_RULE = {
    "max_stable": ("largest stable k, max_stable", "버텨 내는 가장 큰 k, max_stable"),
    "min_davies_bouldin": ("lowest Davies-Bouldin", "Davies-Bouldin 최소"),
    "max_silhouette": ("highest silhouette", "실루엣 최대"),
    "max_bootstrap_ari": ("highest subsample ARI", "부분표본 ARI 최대"),
    "fixed": ("fixed", "고정값"),
}


def _separating(text, lang: str) -> str:
    """``share_other 2.13; share_fresh 1.20`` -> ``other departments 2.13, fresh food 1.20``."""
    if is_na(text) or not str(text).strip():
        return Formatter(lang).na
    items = []
    for part in str(text).split(";"):
        name, _, value = part.strip().rpartition(" ")
        items.append(f"{feature_words(name, lang)} {value}" if name else part.strip())
    return ", ".join(items)


def _recipes(res: Results) -> tuple[pd.Series, pd.Series | None]:
    t = res.table("segment_recipe_comparison").set_index("recipe")
    ours = t.loc["segtarget"] if "segtarget" in t.index else t.iloc[0]
    orig = t.loc["original"] if "original" in t.index else None
    return ours, orig


def recipe_table(res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """The two recipes side by side, one row per measure."""
    ours, orig = _recipes(res)
    f = Formatter(lang)
    i = 0 if lang == "en" else 1

    def cells(r: pd.Series) -> list[str]:
        return [f.int(r["features"]), _TRANSFORM.get(str(r["transform"]), (r["transform"],) * 2)[i], f.int(r["rank"]),
                f"{int(r['k'])} ({_K_RULE.get(str(r['k_rule']), (r['k_rule'],) * 2)[i]})", f.num(r["silhouette"], 3),
                f.num(r["davies_bouldin"], 3), f.num(r["bootstrap_ari"], 3), f.num(r["min_jaccard"], 3),
                f"{f.num(100 * r['max_category_spread'], 1)} ({feature_label(str(r['category_spread_feature']), lang)})",
                _separating(r["top_separating_features"], lang)]

    measures = (["NMF inputs (features)", "Scaling", "NMF rank", "k (rule)", "Silhouette (higher: better separated)",
                 "Davies-Bouldin (lower: better separated)", "Subsample ARI", "Lowest segment Jaccard",
                 "Largest gap in a category share between segments (percentage points)",
                 "Features that set segments apart most (largest standardised difference, SD)"]
                if lang == "en" else
                ["NMF 입력 (특성 수)", "척도 변환", "NMF 랭크", "k (규칙)", "실루엣 (클수록 잘 분리)",
                 "Davies-Bouldin (작을수록 잘 분리)", "부분표본 ARI", "최저 세그먼트 Jaccard",
                 "세그먼트 사이 카테고리 비중의 최대 차이 (%포인트)",
                 "세그먼트를 가장 크게 가르는 특성 (최대 표준화 차이, 표준편차 단위)"])
    df = pd.DataFrame({"measure": measures, "ours": cells(ours)})
    if orig is not None:
        df["original"] = cells(orig)
    headers = ({"measure": "Measure", "ours": "This workflow", "original": "Original recipe"} if lang == "en" else
               {"measure": "지표", "ours": "이 워크플로", "original": "원 프로젝트의 방식"})
    return pipe_table(f, df, formats={c: "text" for c in df}, headers={c: v for c, v in headers.items() if c in df},
                      caption=caption, label=label_)


def recipe_reading(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """What the side-by-side says, in plain words, from the comparison table."""
    ours, orig = _recipes(res)
    f = Formatter(lang)
    en = lang == "en"
    if orig is None:
        return ("The original recipe was not run (segmentation.compare_original is false)." if en else
                "원 프로젝트의 방식은 실행하지 않았다(segmentation.compare_original이 false).")
    floor = stability_floors(read_params(res) if params is None else params)[0]
    sil = (f.num(orig["silhouette"], 2), f.num(ours["silhouette"], 2))
    db = (f.num(orig["davies_bouldin"], 2), f.num(ours["davies_bouldin"], 2))
    jac = (f.num(orig["min_jaccard"], 2), f.num(ours["min_jaccard"], 2))
    geo_orig = int(orig["silhouette"] > ours["silhouette"]) + int(orig["davies_bouldin"] < ours["davies_bouldin"])
    k_orig, k_ours = int(orig["k"]), int(ours["k"])
    spread_o, spread_u = 100 * orig["max_category_spread"], 100 * ours["max_category_spread"]
    cat_o, cat_u = (feature_label(str(r["category_spread_feature"]), lang) for r in (orig, ours))
    sep_o = [x.rpartition(" ")[0] for x in str(orig["top_separating_features"]).split("; ")]
    sep_u = _separating(ours["top_separating_features"], lang)
    both_stable = min(orig["min_jaccard"], ours["min_jaccard"]) >= floor
    if en:
        geo = {2: "its partition is cleaner by both geometric indices", 0: "its partition is less clean by both "
               "geometric indices", 1: "the geometric indices disagree"}[geo_orig]
        stab = ("its segments are more stable" if orig["min_jaccard"] > ours["min_jaccard"] + 0.01 else
                "its segments are less stable" if orig["min_jaccard"] < ours["min_jaccard"] - 0.01 else
                "both are about equally stable")
        text = (f"Run on the same households, the original recipe ({int(orig['features'])} features, "
                f"{_TRANSFORM.get(str(orig['transform']), (orig['transform'],))[0]}, k by the "
                f"{_K_RULE.get(str(orig['k_rule']), (orig['k_rule'],))[0]}) picks k = {k_orig}, "
                f"against k = {k_ours} here (@tbl-recipes). {geo[0].upper()}{geo[1:]} (silhouette {sil[0]} "
                f"against {sil[1]}; Davies-Bouldin {db[0]} against {db[1]}), and {stab} (lowest segment Jaccard "
                f"{jac[0]} against {jac[1]}{'; both clear ' + f.num(floor, 2) if both_stable else ''}). ")
        if spread_o < 100 * CATEGORY_SMALL:
            text += (f"But its segments hardly differ in what households buy: their category shares differ by at most "
                     f"{f.num(spread_o, 1)} percentage points ({cat_o}), and they are told apart mainly by "
                     f"{join_words([feature_words(x, lang) for x in sep_o], lang)}. ")
        else:
            text += (f"Its segments' category shares differ by up to {f.num(spread_o, 1)} percentage points ({cat_o}). ")
        text += (f"The segments here differ by up to {f.num(spread_u, 1)} points ({cat_u}), and the features that set "
                 f"them apart most are {sep_u} (SD from all households).")
        if k_orig < k_ours and spread_o < spread_u:
            text += (" The original's fewer, coarser segments are easier to separate but say less about how households "
                     "shop; the segments here are finer and behavioural"
                     + (", at the price of boundaries that run through a continuum (lower silhouette)."
                        if ours["silhouette"] < orig["silhouette"] else "."))
        return text
    geo = {2: "두 기하 지표 모두에서 더 깔끔하게 나뉘고", 0: "두 기하 지표 모두에서 덜 깔끔하게 나뉘고",
           1: "두 기하 지표의 판단이 엇갈리고"}[geo_orig]
    stab = ("세그먼트도 더 안정적이다" if orig["min_jaccard"] > ours["min_jaccard"] + 0.01 else
            "세그먼트는 덜 안정적이다" if orig["min_jaccard"] < ours["min_jaccard"] - 0.01 else
            "안정성은 비슷하다")
    text = (f"같은 가구에 원 프로젝트의 방식(특성 {int(orig['features'])}개, "
            f"{_TRANSFORM.get(str(orig['transform']), (orig['transform'],) * 2)[1]}, "
            f"{_K_RULE.get(str(orig['k_rule']), (orig['k_rule'],) * 2)[1]} 기준으로 k 선택)을 적용하면 "
            f"{ko_particle(f'k = {k_orig}', '이')} 나온다. 이 워크플로는 {ko_particle(f'k = {k_ours}', '이다')}"
            f"(@tbl-recipes). "
            f"원 방식은 {geo}(실루엣 {sil[0]} 대 {sil[1]}, Davies-Bouldin {db[0]} 대 {db[1]}), {stab}"
            f"(최저 세그먼트 Jaccard {jac[0]} 대 {jac[1]}{', 둘 다 ' + f.num(floor, 2) + ' 이상' if both_stable else ''}). ")
    if spread_o < 100 * CATEGORY_SMALL:
        text += (f"그러나 원 방식의 세그먼트는 무엇을 사는지에서 거의 차이가 없다. 카테고리 비중의 차이는 최대 "
                 f"{f.num(spread_o, 1)}%포인트({cat_o})에 그치고, 세그먼트를 가르는 것은 주로 "
                 f"{ko_particle(', '.join(feature_words(x, lang) for x in sep_o), '이다')}. ")
    else:
        text += f"원 방식의 세그먼트는 카테고리 비중이 최대 {f.num(spread_o, 1)}%포인트({cat_o})까지 차이 난다. "
    text += (f"이 워크플로의 세그먼트는 카테고리 비중이 최대 {f.num(spread_u, 1)}%포인트({cat_u})까지 차이 나며, "
             f"세그먼트를 가장 크게 가르는 특성은 {ko_particle(sep_u, '이다')}(전체 가구 대비 표준편차 단위).")
    if k_orig < k_ours and spread_o < spread_u:
        text += (" 원 방식의 적고 굵은 세그먼트는 잘 분리되지만 가구가 어떻게 장보는지는 덜 알려 준다. 이 워크플로의 "
                 "세그먼트는 더 세밀하고 행동에 기반한다"
                 + (". 대신 경계가 연속적인 분포를 가로지르므로 실루엣은 더 낮다." if ours["silhouette"] < orig["silhouette"]
                    else "."))
    return text


def recipe_section(res: Results, lang: str = "en") -> str:
    """The comparison table and its reading (or a note when the segment stage did not run it)."""
    if not has_table(res, "segment_recipe_comparison"):
        return ("The segment stage did not write the recipe comparison." if lang == "en" else
                "세그먼트 단계가 방식 비교표를 만들지 않았다.")
    caption = ("This workflow's recipe and the original project's, on the same households" if lang == "en" else
               "같은 가구에 적용한 이 워크플로의 방식과 원 프로젝트의 방식")
    return recipe_table(res, lang, caption=caption, label_="tbl-recipes") + "\n\n" + recipe_reading(res, lang)


# --------------------------------------------------------------------------- the bar to clear


@dataclass
class DoneWhen:
    """The bar of a segmentation a CRM team can act on, against this run's tables."""

    k: int
    jaccard_floor: float
    share_floor: float
    resamples: int
    min_jaccard: float
    min_jaccard_segment: int
    min_share: float
    min_share_segment: int
    apart: int  # segments with a behaviour feature at least APART_SD from all households
    apart_weakest: float  # the smallest of the segments' largest |standardised difference|
    apart_weakest_segment: int

    @property
    def checks(self) -> dict[str, bool]:
        return {"segments": self.k >= DONE_MIN_SEGMENTS, "jaccard": self.min_jaccard >= self.jaccard_floor,
                "share": self.min_share >= self.share_floor, "apart": self.apart >= math.ceil(APART_MIN_FRACTION * self.k)}

    @property
    def met(self) -> bool:
        return all(self.checks.values())


def done_when(res: Results, params: Mapping | None = None) -> DoneWhen:
    params = read_params(res) if params is None else params
    jac_floor, share_floor = stability_floors(params)
    prof = res.table("segment_profiles")
    stab = res.table("segment_stability").sort_values(["jaccard_mean", "segment"])
    small = prof.sort_values(["share", "segment"]).iloc[0]
    top = {s: max(abs(d) for _, d in v) for s, v in distinguishing(res, 1).items() if v}
    weakest = min(top, key=lambda s: (top[s], s)) if top else int(small["segment"])
    n_res = int(stab["n_resamples"].iloc[0]) if "n_resamples" in stab else int(res.metric("track1.stability_resamples"))
    return DoneWhen(k=len(prof), jaccard_floor=jac_floor, share_floor=share_floor, resamples=n_res,
                    min_jaccard=float(stab["jaccard_mean"].iloc[0]), min_jaccard_segment=int(stab["segment"].iloc[0]),
                    min_share=float(small["share"]), min_share_segment=int(small["segment"]),
                    apart=sum(v >= APART_SD for v in top.values()), apart_weakest=float(top.get(weakest, float("nan"))),
                    apart_weakest_segment=int(weakest))


def done_when_sentence(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """The bar, this run's numbers against it, and whether it is met (or what fails)."""
    d = done_when(res, params)
    f = Formatter(lang)
    en = lang == "en"
    need = math.ceil(APART_MIN_FRACTION * d.k)
    if en:
        text = (f"A segmentation a CRM team can act on should have at least {DONE_MIN_SEGMENTS} segments, each with a "
                f"mean Jaccard of at least {f.num(d.jaccard_floor, 2)} and at least {f.pct(d.share_floor, 0)} of "
                f"households, and at least half of them should stand apart from all households by "
                f"{f.num(APART_SD, 1)} SD or more on a behaviour feature. This run has {d.k} segments; the least "
                f"stable, {seg_ref(res, d.min_jaccard_segment, lang)}, keeps a mean Jaccard of "
                f"{f.num(d.min_jaccard, 2)} over {d.resamples} resamples; the smallest, "
                f"{seg_ref(res, d.min_share_segment, lang)}, holds {f.pct(d.min_share)} of households; and {d.apart} "
                f"of {d.k} segments stand apart by at least {f.num(APART_SD, 1)} SD (the least distinct, "
                f"segment {d.apart_weakest_segment}, by {f.num(d.apart_weakest, 2)} SD). ")
        if d.met:
            return text + "All four conditions hold."
        fails = {"segments": f"fewer than {DONE_MIN_SEGMENTS} segments",
                 "jaccard": "a segment below the Jaccard floor",
                 "share": f"a segment below {f.pct(d.share_floor, 0)} of households",
                 "apart": f"only {d.apart} of the {need} distinct segments needed"}
        return text + (f"The bar is not met ({join_words([fails[c] for c, ok in d.checks.items() if not ok], lang)}): "
                       f"the data do not support a finer behaviour segmentation that holds up, as the per-k table "
                       f"shows (@tbl-k).")
    text = (f"CRM 팀이 실행에 옮길 수 있는 세분화라면 세그먼트가 {DONE_MIN_SEGMENTS}개 이상이고, 모든 세그먼트의 평균 "
            f"Jaccard가 {f.num(d.jaccard_floor, 2)} 이상이며 가구의 {f.pct(d.share_floor, 0)} 이상을 차지하고, 세그먼트의 "
            f"절반 이상이 행동 특성 하나 이상에서 전체 가구와 {f.num(APART_SD, 1)} 표준편차 이상 달라야 한다. 이번 실행의 "
            f"세그먼트는 {d.k}개다. 가장 불안정한 {ko_particle(seg_ref(res, d.min_jaccard_segment, lang), '은')} 재표본 "
            f"{d.resamples}개에서 평균 Jaccard {ko_particle(f.num(d.min_jaccard, 2), '을')} 유지하고, 가장 작은 "
            f"{ko_particle(seg_ref(res, d.min_share_segment, lang), '은')} 가구의 {f.pct(d.min_share)}를 차지하며, "
            f"{d.k}개 가운데 {d.apart}개 세그먼트가 {f.num(APART_SD, 1)} 표준편차 이상 두드러진다(가장 덜 두드러진 "
            f"{d.apart_weakest_segment}번 세그먼트도 {f.num(d.apart_weakest, 2)} 표준편차). ")
    if d.met:
        return text + "네 조건을 모두 충족한다."
    fails = {"segments": f"세그먼트 {DONE_MIN_SEGMENTS}개 미만", "jaccard": "Jaccard 기준에 못 미치는 세그먼트",
             "share": f"가구 비중 {f.pct(d.share_floor, 0)} 미만인 세그먼트",
             "apart": f"두드러진 세그먼트가 필요한 {need}개 중 {d.apart}개뿐"}
    return text + (f"기준을 충족하지 못한다({', '.join(fails[c] for c, ok in d.checks.items() if not ok)}). 데이터가 더 세밀하면서도 "
                   f"버텨 내는 행동 세분화를 뒷받침하지 못한다는 뜻이며, 그 이유는 k별 표(@tbl-k)에 있다.")


def done_when_short(res: Results, lang: str = "en", params: Mapping | None = None) -> str:
    """One sentence for the summary: whether the segmentation clears its bar."""
    d = done_when(res, params)
    f = Formatter(lang)
    if lang == "en":
        if d.met:
            return (f"The segmentation clears the bar set for it: {d.k} segments, each stable (lowest mean Jaccard "
                    f"{f.num(d.min_jaccard, 2)}) and holding at least {f.pct(d.min_share)} of households, and {d.apart} "
                    f"of them standing apart from all households on a behaviour feature (see the Discussion).")
        return "The segmentation does not clear the bar set for it; the Discussion says where it falls short."
    if d.met:
        return (f"세분화는 정해 둔 기준을 충족한다. 세그먼트 {d.k}개가 모두 안정적이고(최저 평균 Jaccard "
                f"{f.num(d.min_jaccard, 2)}) 각각 가구의 {f.pct(d.min_share)} 이상을 차지하며, 그중 {d.apart}개가 행동 특성에서 "
                f"전체 가구와 뚜렷이 다르다(논의 참조).")
    return "세분화는 정해 둔 기준을 충족하지 못한다. 어디서 못 미치는지는 논의에서 다룬다."


def recipe_summary(res: Results, lang: str = "en") -> str:
    """One sentence for the summary: what the original recipe finds on the same households."""
    if not has_table(res, "segment_recipe_comparison"):
        return ""
    ours, orig = _recipes(res)
    if orig is None:
        return ""
    f = Formatter(lang)
    k = int(orig["k"])
    spread = f.num(100 * orig["max_category_spread"], 1)
    better = [w for w, ok in ((("better separated", "더 잘 분리되고"), orig["silhouette"] > ours["silhouette"]),
                              (("more stable", "더 안정적이고"), orig["min_jaccard"] > ours["min_jaccard"])) if ok]
    if lang == "en":
        quality = f", {join_words([w[0] for w in better], lang)}," if better else ""
        return (f"Run on the same households, the original project's recipe finds {k} segments{quality} whose "
                f"category shares differ by at most {spread} percentage points, against "
                f"{f.num(100 * ours['max_category_spread'], 1)} here (@tbl-recipes).")
    quality = (" ".join(w[1] for w in better)[:-1] + "지만, ") if better else ""
    return (f"같은 가구에 원 프로젝트의 방식을 적용하면 세그먼트가 {k}개 나온다. 이 세그먼트는 {quality}카테고리 비중의 차이가 "
            f"최대 {spread}%포인트에 그친다(이 워크플로는 {f.num(100 * ours['max_category_spread'], 1)}%포인트, @tbl-recipes).")
