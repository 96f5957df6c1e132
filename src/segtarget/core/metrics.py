"""Headline numbers: each stage writes its own small JSON; this merges them into metrics.json.

DVC lets one file be the output of one stage only, so the stages that contribute to a block
(``track1``, ``track2``) write ``results/metrics/<stage>.json`` and the ``metrics`` stage
deep-merges them into ``results/metrics.json``, the file DVC declares as metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from segtarget.core.errors import InputError
from segtarget.core.io import write_json


def deep_merge(into: dict, new: dict, origin: str = "") -> dict:
    """Merge ``new`` into ``into``; a key set twice to different values is an error."""
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value, origin)
        elif key in into and into[key] != value:
            raise InputError(f"{origin}: metric {key} is already set by another stage")
        else:
            into[key] = value
    return into


def merge_files(paths, out) -> dict:
    """Merge the stage metric files ``paths`` (in the given order) and write ``out``."""
    merged: dict = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: stage metrics file not found; run its stage first")
        deep_merge(merged, json.loads(p.read_text()), str(p))
    write_json(merged, out)
    return merged
