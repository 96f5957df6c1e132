"""Checks of ``params.yaml`` that a JSON Schema cannot state, each a one-line :class:`ParamError`.

:mod:`segtarget.core.params` runs :func:`check_document` before the schema and
:func:`check_rules` after it (defaults filled), so every stage and the Snakefile stop on the
same message before any work starts, instead of a stage failing half-way (or, worse,
running on a value no one meant).

- :func:`check_document` guards the shape of the YAML itself: mapping keys must be text
  (an integer key sorts against text keys and would crash the schema's error report),
  numbers must be finite (NaN passes every ``minimum``/``maximum`` comparison, and ``.inf``
  every ``minimum``), strings must be one line without control characters (they end up in
  file names, column look-ups and report text), and the document must not refer to itself
  through YAML aliases or expand to an absurd size (a "billion laughs" alias bomb).
- :func:`check_rules` holds the relations between keys: a k grid with ``k_min > k_max`` is
  empty, a trim band with ``trim_low >= trim_high`` holds no unit, and so on. Each rule
  names the key it blames, the value, and what was expected.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from segtarget.core.errors import ParamError

#: Most nodes (mappings, lists, scalars, counted through aliases) a parameter document may
#: have; the real file has about 600.
MAX_NODES = 100_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def key_path(parts) -> str:
    """``["policy", "budgets", 1]`` -> ``policy.budgets[1]`` (``(top level)`` when empty)."""
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "(top level)"


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that a huge value keeps the message short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_document(params: Any, source: str = "params.yaml") -> None:
    """Raise :class:`ParamError` for a key that is not text, a number that is not finite, a
    string with a line break or control character, a recursive alias or a runaway size.

    Examples
    --------
    >>> check_document({"policy": {"margin": float("nan")}})
    Traceback (most recent call last):
    ...
    segtarget.core.errors.ParamError: params.yaml: policy.margin = nan is invalid; expected a finite number
    """
    count = 0
    stack: list[tuple[Any, tuple, frozenset]] = [(params, (), frozenset())]
    while stack:
        node, path, ancestors = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ParamError(f"{source}: the document has more than {MAX_NODES:,} values "
                             "(YAML aliases expanding without bound?); expected a parameter file")
        if isinstance(node, (dict, list)):
            if id(node) in ancestors:
                raise ParamError(f"{source}: {key_path(path)} contains itself through a YAML alias; "
                                 "expected plain values")
            inner = ancestors | {id(node)}
            if isinstance(node, dict):
                for key, value in node.items():
                    if not isinstance(key, str):
                        raise ParamError(f"{source}: {key_path(path)} has the key {short_repr(key)}; "
                                         "expected keys that are text (quote it)")
                    stack.append((value, (*path, key), inner))
            else:
                stack.extend((v, (*path, i), inner) for i, v in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            raise ParamError(f"{source}: {key_path(path)} = {node!r} is invalid; expected a finite number")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > 2**63:
            raise ParamError(f"{source}: {key_path(path)} = {short_repr(node)} is invalid; "
                             "expected a number of ordinary size")
        elif isinstance(node, str) and _CONTROL.search(node):
            raise ParamError(f"{source}: {key_path(path)} = {short_repr(node)} is invalid; "
                             "expected text on one line without control characters")


# --------------------------------------------------------------------------- relations


def _get(params: dict, dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        node = node[part]
    return node


def _synthetic_calendar(p: dict) -> str | None:
    s = p["synthetic"]
    if s["campaigns_a"] + s["campaigns_b"] + s["campaigns_c"] and s["first_campaign_week"] > s["weeks"] - 2:
        return (f"expected <= synthetic.weeks - 2 = {s['weeks'] - 2} so that campaigns fall inside the data")
    return None


def _effects_cover_outcomes(p: dict) -> str | None:
    sem = p["semisynthetic"]
    missing = [o for o in sem["outcomes"] if o not in sem["effects"]]
    if missing:
        return f"expected an entry (mean, sd) for {missing[0]}, listed in semisynthetic.outcomes"
    return None


#: (section, key blamed, test returning the expectation text when the rule is broken).
RULES: tuple[tuple[str, str, Callable[[dict], str | None]], ...] = (
    ("synthetic", "first_campaign_week", _synthetic_calendar),
    ("cohort", "lookback_weeks", lambda p: (
        f"expected >= cohort.min_lookback_weeks ({p['cohort']['min_lookback_weeks']}), the least history a campaign needs"
        if p["cohort"]["min_lookback_weeks"] > p["cohort"]["lookback_weeks"] else None)),
    ("cohort", "outcome_post_weeks", lambda p: (
        "expected >= 1 with cohort.outcome_window = 'post_only', else the outcome window is empty"
        if p["cohort"]["outcome_window"] == "post_only" and p["cohort"]["outcome_post_weeks"] < 1 else None)),
    ("segmentation", "rank_min", lambda p: (
        f"expected <= segmentation.rank_max ({p['segmentation']['rank_max']}), else the rank grid is empty"
        if p["segmentation"]["rank_min"] > p["segmentation"]["rank_max"] else None)),
    ("segmentation", "k_min", lambda p: (
        f"expected <= segmentation.k_max ({p['segmentation']['k_max']}), else the k grid is empty"
        if p["segmentation"]["k_min"] > p["segmentation"]["k_max"] else None)),
    ("segmentation", "rank_rule", lambda p: (
        "expected segmentation.consensus_restarts >= 2 with rank_rule max_cophenetic (no cophenetic without restarts)"
        if p["segmentation"]["rank_rule"] == "max_cophenetic" and p["segmentation"]["consensus_restarts"] < 2
        else None)),
    ("segmentation", "tier_medium_min", lambda p: (
        f"expected <= segmentation.tier_high_min ({p['segmentation']['tier_high_min']})"
        if p["segmentation"]["tier_medium_min"] > p["segmentation"]["tier_high_min"] else None)),
    ("segmentation", "tier_high_min", lambda p: (
        f"expected <= 3 x segmentation.tier_bins = {3 * p['segmentation']['tier_bins']}, the highest RFM score"
        if p["segmentation"]["tier_high_min"] > 3 * p["segmentation"]["tier_bins"] else None)),
    ("ate", "trim_low", lambda p: (
        f"expected < ate.trim_high ({p['ate']['trim_high']}), else the trimmed population is empty"
        if p["ate"]["trim_low"] >= p["ate"]["trim_high"] else None)),
    ("semisynthetic", "effects", _effects_cover_outcomes),
)


def check_rules(params: dict, source: str = "params.yaml") -> None:
    """Raise :class:`ParamError` for the first broken relation between keys (see :data:`RULES`).

    ``params`` must have passed the schema with its defaults filled in; sections the
    document leaves out (and the schema does not default) are skipped.

    Examples
    --------
    >>> check_rules({"segmentation": {"k_min": 8, "k_max": 3, "rank_min": 2, "rank_max": 5,
    ...     "rank_rule": "elbow", "consensus_restarts": 10, "tier_medium_min": 8,
    ...     "tier_high_min": 12, "tier_bins": 5}})
    Traceback (most recent call last):
    ...
    segtarget.core.errors.ParamError: params.yaml: segmentation.k_min = 8 is invalid; expected <= segmentation.k_max (3), else the k grid is empty
    """
    for section, key, rule in RULES:
        if not isinstance(params.get(section), dict):
            continue
        try:
            problem = rule(params)
        except KeyError:  # a partial document (e.g. one section validated alone)
            continue
        if problem:
            value = short_repr(_get(params, f"{section}.{key}"))
            raise ParamError(f"{source}: {section}.{key} = {value} is invalid; {problem}")
