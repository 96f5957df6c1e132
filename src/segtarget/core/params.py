"""The one loader of ``params.yaml``: validate against the JSON Schema, fill defaults.

Every script reads its own section through :func:`load_section`, so an invalid value stops
any stage with the same one-line message (key, value, what is allowed) that the Snakefile
gives before the workflow starts. Whatever the file holds (wrong types, a number out of
range, an unknown key, YAML that is not a mapping, NaN, a key that is a number, an alias
bomb), the loader raises :class:`ParamError` with one line, never a traceback or a
multi-line jsonschema report: checks the schema cannot state are in
:mod:`segtarget.core.param_rules`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from segtarget.core.errors import ParamError
from segtarget.core.param_rules import check_document, check_rules, key_path, short_repr
from segtarget.core.paths import SCHEMA_FILE


def _with_defaults(validator_cls):
    """A validator class that also fills in ``default`` values (the jsonschema FAQ recipe),
    and whose ``integer`` is a Python int only: jsonschema counts ``5.0`` as an integer,
    which then reaches ``range()`` or a seed argument and fails there with a traceback."""
    validate_properties = validator_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    checker = validator_cls.TYPE_CHECKER.redefine(
        "integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool))
    return jsonschema.validators.extend(validator_cls, {"properties": set_defaults}, type_checker=checker)


_Validator = _with_defaults(jsonschema.Draft202012Validator)


@functools.lru_cache(maxsize=4)
def _schema(path: str, mtime_ns: int) -> dict:
    return yaml.safe_load(Path(path).read_text())


def load_schema(path: str | Path = SCHEMA_FILE) -> dict:
    """The parameter schema (a private copy: parsed once per file version, then copied)."""
    path = Path(path)
    return copy.deepcopy(_schema(str(path), path.stat().st_mtime_ns))


#: JSON Schema types in the words of someone editing params.yaml.
_TYPE_WORDS = {"object": "a mapping of keys (key: value lines)", "array": "a list", "string": "text",
               "integer": "a whole number", "number": "a number", "boolean": "true or false"}

_EXPECTED = {
    "enum": lambda v: "one of " + ", ".join(map(str, v)),
    "minimum": lambda v: f">= {v}",
    "maximum": lambda v: f"<= {v}",
    "exclusiveMinimum": lambda v: f"> {v}",
    "exclusiveMaximum": lambda v: f"< {v}",
    "type": lambda v: " or ".join(_TYPE_WORDS.get(t, f"a value of type {t}") for t in ([v] if isinstance(v, str) else v)),
    "pattern": lambda v: f"text matching {v}",
    "minItems": lambda v: f"a list of at least {v} item{'s' if v != 1 else ''}",
    "maxItems": lambda v: f"a list of at most {v} item{'s' if v != 1 else ''}",
    "uniqueItems": lambda v: "a list without repeated items",
    "minLength": lambda v: f"at least {v} character{'s' if v != 1 else ''}",
    "multipleOf": lambda v: f"a multiple of {v}",
}


def _describe(err: jsonschema.ValidationError, source: str) -> str:
    """One line for a schema violation: the key path, the value and what is allowed."""
    key = key_path(err.absolute_path)
    sub = err.schema if isinstance(err.schema, dict) else {}
    where = f"{key}." if err.absolute_path else ""
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        props = sub.get("properties", {})
        extra = sorted((k for k in err.instance if k not in props), key=str)
        allowed = ", ".join(sorted(props))
        return f"{source}: unknown key {where}{extra[0]}; allowed keys here: {allowed}"
    if err.validator == "required" and isinstance(err.instance, dict):
        # the message, not the instance: defaults filled after the check may have added the key
        missing = re.match(r"^'?(.*?)'? is a required property", str(err.message))
        missing = missing.group(1) if missing else err.message
        return f"{source}: {where}{missing} is missing; expected it to be given (required)"
    if err.validator in _EXPECTED:
        allowed = _EXPECTED[err.validator](err.validator_value)
    else:
        allowed = " ".join(str(err.message).split())
    desc = sub.get("description")
    tail = f" ({desc})" if desc and err.validator != "type" else ""
    return f"{source}: {key} = {short_repr(err.instance)} is invalid; expected {allowed}{tail}"


def validate(params: dict, source: str = "params.yaml", schema: dict | None = None) -> dict:
    """Validate ``params`` in place, filling defaults; raise :class:`ParamError` on the first problem.

    The problem reported is the one at the first key path in sorted order, so the same file
    always gives the same message; it is one line whatever the value.

    Examples
    --------
    >>> p = validate({"data": {"source": "synthetic"}, "synthetic": {}, "compute": {}})
    >>> p["synthetic"]["households"]
    2500
    >>> validate({"data": {}, "synthetic": {}, "compute": {}, "policy": {"budgets": [5, -1]}})
    Traceback (most recent call last):
    ...
    segtarget.core.errors.ParamError: params.yaml: policy.budgets[1] = -1 is invalid; expected > 0
    """
    check_document(params, source)
    schema = schema or _schema(str(SCHEMA_FILE), SCHEMA_FILE.stat().st_mtime_ns)
    errors = sorted(_Validator(schema).iter_errors(params),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise ParamError(" ".join(_describe(errors[0], source).split()))
    check_rules(params, source)
    return params


def load(path: str | Path = "params.yaml") -> dict:
    """Read, validate and default-fill the whole parameter file."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise ParamError(f"{path}: parameter file {what}; run from the project folder or pass --params")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ParamError(f"{path}: not UTF-8 text (byte {exc.start}); expected a YAML file") from None
    except OSError as exc:
        raise ParamError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(params, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level, "
                         f"got {type(params).__name__} {short_repr(params, 40)}")
    return validate(params, source=str(path))


def load_section(path: str | Path, *names: str) -> dict[str, Any] | tuple[dict[str, Any], ...]:
    """Validate the whole file and return only the named section(s).

    A script asks only for the sections it declares to DVC and Snakemake, which keeps the
    dependency declarations honest.
    """
    params = load(path)
    sections = tuple(params[n] for n in names)
    return sections[0] if len(sections) == 1 else sections


def digest(obj: Any) -> str:
    """A stable short hash of a parameter block (for provenance records)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
