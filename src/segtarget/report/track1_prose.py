"""Track 1 (segmentation) prose: sentences, caveats, interpretation and actions.

Prose whose wording depends on the results (how the rank and k were chosen, how
separated and stable the segments are, where spending concentrates, the caveats), written
separately for each language rather than translated word by word, and the table of what
this workflow does differently from the original project (:func:`track1_fixes_table`).
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from segtarget.report.escape import md_escape
from segtarget.report.facts import ORIGINAL
from segtarget.report.labels import check_lang, feature_label, join_words, ko_particle, label
from segtarget.report.results import Formatter, Results, is_na
from segtarget.report.tables import bullet_list, pipe_table
from segtarget.report.track1 import Track1Facts, feature_tails

_IMPUTE_KO = {"median": "중앙값", "zero": "0"}


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
    """How k was chosen, from the segmentation parameters (floors, resamples and gap cap
    of ``max_stable`` included)."""
    seg = params.get("segmentation", {}) if params else {}
    rule = seg.get("k_rule", "max_stable")
    ari = seg.get("k_min_bootstrap_ari", 0.8)
    f = Formatter(lang)
    if rule == "max_stable":
        jac, share = seg.get("k_min_jaccard", 0.75), seg.get("min_segment_share", 0.05)
        n_res, refs = seg.get("k_stability_resamples", 20), int(seg.get("gap_references", 0) or 0)
        if lang == "en":
            text = (f"the largest k in the grid whose every segment keeps a mean Jaccard of at least {f.num(jac, 2)} "
                    f"over {n_res} resamples of the whole chain and holds at least {f.pct(share, 0)} of households "
                    f"(max_stable: the finest segmentation that holds up)")
            if refs:
                text += (f", capped at the k of the gap statistic (Tibshirani, Walther and Hastie's first-SE rule "
                         f"against {refs} uniform reference sets), because stability alone also rewards cutting one "
                         f"undivided group in two the same way every time")
            return text
        text = (f"모든 세그먼트가 전체 과정 재표본 {n_res}개에서 평균 Jaccard {f.num(jac, 2)} 이상을 유지하고 가구의 "
                f"{f.pct(share, 0)} 이상을 차지하는 k 가운데 가장 큰 k (max_stable: 버텨 내는 가장 세밀한 세분화)")
        if refs:
            text += (f". 다만 갭 통계량이 고른 k(Tibshirani, Walther, Hastie의 1-표준오차 규칙, 균일 참조 집합 {refs}개)를 "
                     f"넘지 않게 했다. 안정성만 보면 나뉘지 않은 한 집단을 매번 같은 방식으로 둘로 자르는 분할도 "
                     f"좋은 점수를 받기 때문이다")
        return text
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
                       f"{'are' if len(t1.weak_segments) > 1 else 'is'} not stable (mean Jaccard below "
                       f"{f.num(t1.jaccard_floor, 2)}): do not build campaigns on "
                       f"{'them' if len(t1.weak_segments) > 1 else 'it'} alone.")
        if t1.small_segments:
            out.append(f"{len(t1.small_segments)} segment(s) hold less than {f.pct(t1.share_floor, 0)} of households "
                       f"each, too few for a separate programme.")
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
        out.append(f"세그먼트 {ko_particle(names, '은')} 안정적이지 않다(평균 Jaccard {f.num(t1.jaccard_floor, 2)} 미만). "
                   f"이 세그먼트만을 근거로 캠페인을 설계하지 말아야 한다.")
    if t1.small_segments:
        out.append(f"가구 비중이 {f.pct(t1.share_floor, 0)} 미만인 세그먼트가 {len(t1.small_segments)}개 있어 별도 프로그램을 "
                   f"운영하기에는 작다.")
    if t1.ari_ci[0] < 0.8:
        out.append(f"ARI 구간의 하한({f.num(t1.ari_ci[0], 3)})이 0.8보다 낮다. 일부 재표본에서는 다시 적합한 전체 과정이 "
                   f"눈에 띄게 다른 경계를 긋는다.")
    return out


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


def category_spread_feature(res: Results, lang: str = "en") -> str:
    """Label of the category whose mean share differs most between segments."""
    p = res.table("segment_profiles")
    cols = [c for c in CATEGORY_SHARES if c in p]
    if not cols:
        return Formatter(lang).na
    return feature_label(max(cols, key=lambda c: (round(p[c].max() - p[c].min(), 12), c)), lang)


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
            text += (f"Category shares differ by up to {f.num(100 * spread, 1)} percentage points between segments "
                     f"({category_spread_feature(res, lang)}), so category-specific offers can be tailored to the "
                     f"segments as well as frequency and retention actions.")
        return text
    text = (f"세그먼트를 가르는 가장 큰 요인은 {ko_particle(', '.join(top), '이다')}(@tbl-separation). "
            f"{concentration_phrase(t1, lang)} "
            f"{ko_particle(name, '은')} 가구 비중의 {f.num(ratio, 1)}배에 해당하는 매출 비중을 차지한다. ")
    if cat_small:
        text += (f"카테고리 비중은 세그먼트 사이에서 최대 {f.num(100 * spread, 1)}%포인트밖에 차이 나지 않는다. 세그먼트는 "
                 f"무엇을 사는지보다 이 매장에서 얼마나 자주, 얼마나 많이 사는지로 나뉘므로, 카테고리 할인보다 방문 빈도와 "
                 f"유지에 초점을 둔 활동이 더 잘 맞는다.")
    else:
        text += (f"카테고리 비중은 세그먼트 사이에서 최대 {f.num(100 * spread, 1)}%포인트까지 차이 난다"
                 f"({category_spread_feature(res, lang)}). 방문 빈도와 유지 활동뿐 아니라 세그먼트별 카테고리 제안도 "
                 f"설계할 수 있다.")
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
    }[check_lang(lang)][key]


def action_bullets(res: Results, lang: str = "en") -> str:
    """One bullet per segment: name, weight, most common value tier and the behaviour-led
    action (from segment_strategy)."""
    s = res.table("segment_strategy")
    p = res.table("segment_profiles").set_index("segment")
    f = Formatter(lang)
    out = []
    for _, r in s.iterrows():
        seg = int(r["segment"])
        name = md_escape(r["segment_name_ko"] if lang == "ko" and "segment_name_ko" in r else r["segment_name"])
        action = md_escape(r["recommended_action_ko"] if lang == "ko" and "recommended_action_ko" in r
                           else r["recommended_action"])
        share, rev = p.loc[seg, "share"], p.loc[seg, "revenue_share"]
        tier = label("tier", r["value_tier"], lang) if "value_tier" in r and not is_na(r["value_tier"]) else None
        if lang == "en":
            extra = f", most often {tier} value tier" if tier else ""
            out.append(f"**{name}** ({f.pct(share)} of households, {f.pct(rev)} of revenue{extra}): {action}.")
        else:
            extra = f", 주로 {tier} 등급" if tier else ""
            out.append(f"**{name}** (가구의 {f.pct(share)}, 매출의 {f.pct(rev)}{extra}): {action}.")
    return bullet_list(out)


def track1_fixes_table(t1: Track1Facts, res: Results, lang: str = "en", caption=None, label_=None) -> str:
    """What the original did and what this workflow does instead, with this run's numbers."""
    f, o = Formatter(lang), ORIGINAL
    seg = t1.params.get("segmentation", {}) if t1.params else {}
    feat = t1.params.get("features", {}) if t1.params else {}
    tails = feature_tails(res)
    n_log = len([x for x in seg.get("features", []) if x in seg.get("log_features", [])])
    n_inputs = len(seg.get("features", [])) or t1.n_features
    excluded = join_words([*feat.get("quantity_exclude_departments", []),
                           *feat.get("quantity_exclude_sub_commodities", [])], lang)
    frac = seg.get("subsample_fraction", 0.8)
    ci_level = seg.get("stability_ci", 0.95)
    if lang == "en":
        rows = [
            ("NMF inputs", f"{o['nmf_features']} features mixing volume and value (visits, spend, recency, product "
                           f"counts) with behaviour",
             f"{n_inputs} scale-free behaviour features (shares, ratios, per-basket and per-visit measures); value is "
             f"a separate RFM tier"),
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
            ("NMF 입력", f"물량·가치 특성(방문 횟수, 구매액, 경과일, 상품 수)과 행동 특성을 섞은 {o['nmf_features']}개 특성",
             f"규모와 무관한 행동 특성 {n_inputs}개(비중, 비율, 장바구니당·방문당 지표). 가치는 별도의 RFM 등급으로 분리"),
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
    return pipe_table(f, df, formats={c: "text" for c in df}, headers=headers, caption=caption, label=label_)
