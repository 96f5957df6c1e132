"""Fuzzed parameter files: the loader accepts every valid one and rejects every invalid one
with one line naming the key.

Documents are drawn from the JSON Schema itself (workflow/schemas/params.schema.yaml), so a
key added to the schema is fuzzed without touching this file. Valid documents also satisfy
the relations the schema cannot state (segtarget.core.param_rules), and must pass the checks
the stages run again when they consume their section, so the loader never lets through a
value a stage would reject half-way through the workflow. Invalid documents are a valid one
with one thing broken: a wrong type, a number out of range or not finite, an unknown enum
value, a missing required key, an unknown key, an empty list, a section that is not a
mapping, a broken relation between keys, or YAML that is not a mapping at all.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segtarget.core import params
from segtarget.core.errors import ParamError

SCHEMA = params.load_schema()
SECTIONS = SCHEMA["properties"]
REQUIRED = SCHEMA["required"]
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- valid values

_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)
_MEMORY = st.builds(lambda n, u: f"{n}{u}", st.integers(1, 64), st.sampled_from(["MB", "GB", "GiB", "KB"]))


def valid(schema: dict) -> st.SearchStrategy:
    """Values the schema accepts (bounds, enums, lengths and uniqueness respected)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        lo, hi = schema.get("minimum", -1000), schema.get("maximum", schema.get("minimum", 0) + 1000)
        m = schema.get("multipleOf", 1)
        return st.integers(math.ceil(lo / m), hi // m).map(lambda x: x * m)
    if kind == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1e6))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 1e6))
        return st.floats(lo, hi, exclude_min="exclusiveMinimum" in schema,
                         exclude_max="exclusiveMaximum" in schema, allow_nan=False)
    if kind == "string":
        return _MEMORY if "pattern" in schema else _TEXT
    if kind == "array":
        lo = schema.get("minItems", 0)
        return st.lists(valid(schema["items"]), min_size=lo, max_size=max(lo, schema.get("maxItems", 4)),
                        unique=bool(schema.get("uniqueItems")))
    if kind == "object" and "properties" in schema:
        props = schema["properties"]
        need = schema.get("required", [])
        return st.fixed_dictionaries({k: valid(props[k]) for k in need},
                                     optional={k: valid(v) for k, v in props.items() if k not in need})
    if kind == "object":
        return st.dictionaries(_TEXT, valid(schema["additionalProperties"]), max_size=3)
    raise AssertionError(f"the fuzzer does not know schema {schema}")


def _effective(doc: dict, section: str, key: str) -> Any:
    return doc[section].get(key, SECTIONS[section]["properties"][key].get("default"))


def repair(doc: dict) -> dict:
    """Make a schema-valid document satisfy the relations between keys (param_rules.RULES)."""
    def put(section, **values):
        doc[section].update(values)

    if "synthetic" in doc:
        n = sum(_effective(doc, "synthetic", f"campaigns_{t}") for t in "abc")
        weeks = _effective(doc, "synthetic", "weeks")
        if n and _effective(doc, "synthetic", "first_campaign_week") > weeks - 2:
            put("synthetic", weeks=weeks, first_campaign_week=weeks - 2)
    if "cohort" in doc:
        lb, mlb = _effective(doc, "cohort", "lookback_weeks"), _effective(doc, "cohort", "min_lookback_weeks")
        put("cohort", lookback_weeks=max(lb, mlb), min_lookback_weeks=min(lb, mlb))
        if _effective(doc, "cohort", "outcome_window") == "post_only":
            put("cohort", outcome_post_weeks=max(1, _effective(doc, "cohort", "outcome_post_weeks")))
    if "segmentation" in doc:
        for a, b in (("rank_min", "rank_max"), ("k_min", "k_max")):
            lo, hi = sorted([_effective(doc, "segmentation", a), _effective(doc, "segmentation", b)])
            put("segmentation", **{a: lo, b: hi})
        if _effective(doc, "segmentation", "rank_rule") == "max_cophenetic":
            put("segmentation", consensus_restarts=max(2, _effective(doc, "segmentation", "consensus_restarts")))
        bins = _effective(doc, "segmentation", "tier_bins")
        high = min(_effective(doc, "segmentation", "tier_high_min"), 3 * bins)
        put("segmentation", tier_bins=bins, tier_high_min=high,
            tier_medium_min=min(_effective(doc, "segmentation", "tier_medium_min"), high))
    if "ate" in doc and _effective(doc, "ate", "trim_low") >= _effective(doc, "ate", "trim_high"):
        put("ate", trim_low=0.1, trim_high=0.9)
    if "semisynthetic" in doc:
        effects = dict(_effective(doc, "semisynthetic", "effects"))
        for o in _effective(doc, "semisynthetic", "outcomes"):
            effects.setdefault(o, {"mean": 1.0, "sd": 1.0})
        put("semisynthetic", effects=effects)
    return doc


def valid_documents() -> st.SearchStrategy:
    return valid(SCHEMA).map(repair)


# --------------------------------------------------------------------------- invalid values

_WRONG_TYPE = {
    "integer": ["12", 1.5, [3], {"a": 1}, True, None],
    "number": ["0.3", [0.3], {"a": 1}, True, None],
    "string": [1, 1.5, ["a"], {"a": "b"}, True, None],
    "boolean": [0, 1, "yes", None, [True]],
    "array": ["a", 1, {"a": 1}, None],
    "object": ["a", 1, [1], True],
}


def _example(schema: dict) -> Any:
    """One fixed value the schema accepts (to build lists that are invalid as a whole)."""
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": schema.get("minimum", 0) + schema.get("multipleOf", 0),
            "number": schema.get("maximum", schema.get("minimum", 0.5)),
            "string": "a", "boolean": True}.get(schema.get("type"))


def invalid_values(schema: dict) -> list:
    """Values the loader must reject for a key with this schema."""
    kind = schema.get("type")
    out = list(_WRONG_TYPE[kind])
    if "enum" in schema:
        out.append("no_such_" + str(schema["enum"][0]))
    if kind == "integer":
        out.append(float(_example(schema)))  # 20.0: in range, but not an int
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else 0.5
        if "minimum" in schema:
            out.append(schema["minimum"] - step)
        if "maximum" in schema:
            out.append(schema["maximum"] + step)
        out += [schema[k] for k in ("exclusiveMinimum", "exclusiveMaximum") if k in schema]
        if schema.get("multipleOf", 1) > 1:
            out.append(schema["minimum"] + 1)
    if kind == "number":
        out += [math.nan, math.inf, -math.inf]
    if kind == "string":
        out.append("two\nlines")
        if schema.get("minLength"):
            out.append("")
    if kind == "array":
        item = _example(schema["items"])
        if schema.get("minItems"):
            out.append([])
        if "maxItems" in schema:
            out.append([item] * (schema["maxItems"] + 1))
        if schema.get("uniqueItems"):
            out.append([item, item])
        out += [[bad] + [item] * schema.get("minItems", 0) for bad in invalid_values(schema["items"])[:3]]
    return out


LEAVES = [(s, k, v) for s, sec in SECTIONS.items() for k, v in sec["properties"].items()]

#: Relations between keys, broken on purpose: (section, key the message must blame, values).
BROKEN_RELATIONS = [
    ("segmentation", "k_min", {"k_min": 9, "k_max": 3}),
    ("segmentation", "rank_min", {"rank_min": 6, "rank_max": 2}),
    ("segmentation", "rank_rule", {"rank_rule": "max_cophenetic", "consensus_restarts": 1}),
    ("segmentation", "tier_medium_min", {"tier_medium_min": 13, "tier_high_min": 12, "tier_bins": 5}),
    ("segmentation", "tier_high_min", {"tier_medium_min": 8, "tier_high_min": 16, "tier_bins": 5}),
    ("cohort", "lookback_weeks", {"lookback_weeks": 4, "min_lookback_weeks": 8}),
    ("cohort", "outcome_post_weeks", {"outcome_window": "post_only", "outcome_post_weeks": 0}),
    ("ate", "trim_low", {"trim_low": 0.5, "trim_high": 0.5}),
    ("synthetic", "first_campaign_week", {"weeks": 20, "first_campaign_week": 19, "campaigns_a": 1}),
    ("semisynthetic", "effects", {"outcomes": ["purchase_count"], "effects": {"purchase_amount": {"mean": 1, "sd": 1}}}),
]


def _break(doc: dict, data) -> str:
    """Break one thing in ``doc``; return the key path the error message must name."""
    how = data.draw(st.sampled_from(["leaf", "leaf", "leaf", "section", "unknown_key", "int_key",
                                     "unknown_section", "missing_section", "relation"]))
    if how == "leaf":
        section, key, schema = data.draw(st.sampled_from(LEAVES))
        doc.setdefault(section, {})[key] = data.draw(st.sampled_from(invalid_values(schema)))
        return f"{section}.{key}"
    if how == "section":
        section = data.draw(st.sampled_from(sorted(SECTIONS)))
        doc[section] = data.draw(st.sampled_from(_WRONG_TYPE["object"] + [None]))
        return section
    if how == "unknown_key":
        section = data.draw(st.sampled_from(sorted(SECTIONS)))
        doc.setdefault(section, {})["no_such_key"] = 1
        return f"{section}.no_such_key"
    if how == "int_key":
        section = data.draw(st.sampled_from(sorted(SECTIONS)))
        doc.setdefault(section, {})[7] = 1
        return section
    if how == "unknown_section":
        doc["no_such_section"] = {}
        return "no_such_section"
    if how == "missing_section":
        name = data.draw(st.sampled_from(REQUIRED))
        doc.pop(name)
        return name
    section, key, values = data.draw(st.sampled_from(BROKEN_RELATIONS))
    doc.setdefault(section, {}).update(copy.deepcopy(values))
    return f"{section}.{key}"


def _one_line(err: ParamError, source: str) -> str:
    msg = str(err)
    assert "\n" not in msg and "Traceback" not in msg and len(msg) < 2000, msg
    assert msg.startswith(f"{source}: "), msg
    return msg


# --------------------------------------------------------------------------- tests


@FUZZ
@given(doc=valid_documents())
def test_valid_documents_are_accepted_and_pass_the_stages_own_checks(doc):
    from segtarget.track1.segmentation import SegmentationConfig
    from segtarget.track2 import policy, refute, semisynthetic

    p = params.validate(copy.deepcopy(doc))
    assert set(p) >= set(REQUIRED)
    for name, section in SECTIONS.items():  # the sections the document left out come with defaults
        if "default" in section:
            assert set(p[name]) == set(section["properties"])
    SegmentationConfig.from_params(p["segmentation"])
    refute.check_section(p["refute"])
    semisynthetic.check_params(p["semisynthetic"])
    policy.check_params(p["policy"])


@FUZZ
@given(doc=valid_documents(), data=st.data())
def test_invalid_documents_are_one_line_errors_naming_the_key(doc, data):
    where = _break(doc, data)
    with pytest.raises(ParamError) as err:
        params.validate(doc)
    msg = _one_line(err.value, "params.yaml")
    assert where in msg, (where, msg)


def test_every_key_rejects_each_of_its_invalid_values():
    """Exhaustive over the schema: every key, every kind of invalid value it can take.

    Each case is validated against its section's own schema (the same :func:`params.validate`,
    a fraction of the time of a whole document), so that all of them run in about a second.
    """
    failures = []
    for section, key, schema in LEAVES:
        only = {"type": "object", "additionalProperties": False, "properties": {section: SECTIONS[section]}}
        for bad in invalid_values(schema):
            try:
                params.validate({section: {key: copy.deepcopy(bad)}}, schema=only)
                failures.append(f"{section}.{key} = {bad!r} accepted")
            except ParamError as err:
                msg = _one_line(err, "params.yaml")
                if f"{section}.{key}" not in msg:
                    failures.append(f"{section}.{key} = {bad!r}: {msg}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("params-fuzz")


@settings(max_examples=40, deadline=None)
@given(doc=valid_documents(), data=st.data())
def test_the_file_loader_the_scripts_use_agrees(file_dir, doc, data):
    """The same through ``load_section`` (what every script calls) on a written YAML file."""
    path = file_dir / "params.yaml"
    broken = data.draw(st.booleans())
    where = _break(doc, data) if broken else None
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    if not broken:
        assert params.load_section(path, "data")["source"] in ("completejourney", "dunnhumby", "synthetic")
        return
    with pytest.raises(ParamError) as err:
        params.load_section(path, "data")
    assert where in _one_line(err.value, str(path))


@pytest.mark.parametrize("text, expect", [
    ("- data\n- synthetic\n", "expected a mapping of sections at the top level"),
    ("just text\n", "expected a mapping of sections at the top level"),
    ("42\n", "expected a mapping of sections at the top level"),
    ("", "data is missing"),
    ("data: {}\nsynthetic: {}\ncompute: {}\n---\nother: 1\n", "not valid YAML"),
    ("data: {source: [unclosed\n", "not valid YAML"),
    ("data:\n\tsource: synthetic\n", "not valid YAML"),
    ("data: !!python/object:os.system {}\n", "not valid YAML"),
    ("data: {}\nsynthetic: {}\ncompute: {}\npolicy: &p {margin: 0.3, outcome: *p}\n", "policy.outcome"),
    ("data: {}\nsynthetic: {}\ncompute: {}\npolicy:\n  1: 2\n", "policy has the key 1"),
    ("data: {}\nsynthetic: {}\ncompute: {}\npolicy: {margin: .nan}\n", "policy.margin = nan"),
    ("data: {}\nsynthetic: {}\ncompute: {}\npolicy: {cost_per_contact: .inf}\n", "policy.cost_per_contact = inf"),
    ("data: {}\nsynthetic: {seed: 42.0}\ncompute: {}\n", "synthetic.seed = 42.0"),
    ("data: {}\nsynthetic: {seed: 99999999999}\ncompute: {}\n", "synthetic.seed = 99999999999"),
    ("data: {}\nsynthetic: {}\ncompute: {}\nsegmentation:\n", "segmentation = None"),
    ("data: {}\nsynthetic: {}\ncompute: {}\ncate: {models: [s_learner, gradient_boosting]}\n", "cate.models[1]"),
    ("data: {}\nsynthetic: {}\ncompute: {}\npolicy: {budgets: []}\n", "policy.budgets = []"),
    ("data: {}\nsynthetic: {}\ncompute: {}\nsegmentation: {k_min: 12, k_max: 4}\n", "segmentation.k_min = 12"),
    ("data: {}\nsynthetic: {}\ncompute: {}\ncate_eval: {selection_rule: best}\n", "cate_eval.selection_rule"),
])
def test_yaml_oddities_are_one_line_errors(tmp_path, text, expect):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamError) as err:
        params.load(path)
    assert expect in _one_line(err.value, str(path))


def test_alias_bomb_folders_and_binary_files_are_one_line_errors(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"data: \xff\xfe\n")
    for path, expect in ((bomb, "more than"), (tmp_path, "is a folder"), (binary, "not UTF-8"),
                         (tmp_path / "absent.yaml", "not found")):
        with pytest.raises(ParamError) as err:
            params.load(path)
        assert expect in _one_line(err.value, str(path))


def test_the_project_params_file_is_valid():
    root = Path(__file__).resolve().parents[2]
    assert params.load(root / "params.yaml")["policy"]["margin"] > 0
