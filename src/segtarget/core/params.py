"""The one loader of ``params.yaml``: validate against the JSON Schema, fill defaults.

Every script reads its own section through :func:`load_section`, so an invalid value stops
any stage with the same one-line message (key, value, what is allowed) that the Snakefile
gives before the workflow starts.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from segtarget.core.errors import ParamError
from segtarget.core.paths import SCHEMA_FILE


def _with_defaults(validator_cls):
    """A validator class that also fills in ``default`` values (the jsonschema FAQ recipe)."""
    validate_properties = validator_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_cls, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema(path: str | Path = SCHEMA_FILE) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _describe(err: jsonschema.ValidationError, source: str) -> str:
    key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    sub = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        where = f"{key}." if key != "(top level)" else ""
        return f"{source}: unknown key {where}{extra[0]}; allowed keys here: {allowed}"
    if err.validator == "required":
        return f"{source}: {err.message} under {key}"
    allowed = {
        "enum": lambda: "one of " + ", ".join(map(str, err.validator_value)),
        "minimum": lambda: f">= {err.validator_value}",
        "maximum": lambda: f"<= {err.validator_value}",
        "exclusiveMinimum": lambda: f"> {err.validator_value}",
        "exclusiveMaximum": lambda: f"< {err.validator_value}",
        "type": lambda: f"a value of type {err.validator_value}",
        "pattern": lambda: f"text matching {err.validator_value}",
        "minItems": lambda: f"a list of at least {err.validator_value} items",
        "minLength": lambda: f"at least {err.validator_value} characters",
    }.get(err.validator, lambda: err.message)()
    desc = sub.get("description")
    tail = f" ({desc})" if desc and err.validator != "type" else ""
    return f"{source}: {key} = {err.instance!r} is invalid; expected {allowed}{tail}"


def validate(params: dict, source: str = "params.yaml", schema: dict | None = None) -> dict:
    """Validate ``params`` in place, filling defaults; raise :class:`ParamError` on the first problem.

    Examples
    --------
    >>> p = validate({"data": {"source": "synthetic"}, "synthetic": {}, "compute": {}})
    >>> p["synthetic"]["households"]
    2500
    """
    schema = schema or load_schema()
    errors = sorted(_Validator(schema).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        raise ParamError(_describe(errors[0], source))
    return params


def load(path: str | Path = "params.yaml") -> dict:
    """Read, validate and default-fill the whole parameter file."""
    path = Path(path)
    if not path.exists():
        raise ParamError(f"{path}: parameter file not found; run from the project folder or pass --params")
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(params, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level")
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
