"""The Korean font of the figures: NanumGothic from the ``koreanize-matplotlib`` package.

The package is *not* imported (importing it rewrites matplotlib's global rcParams); its
font files are registered with matplotlib's font manager instead, and :func:`korean_rc`
gives the settings a Korean figure is drawn under, inside an ``rc_context``.

Examples
--------
>>> korean_font_name()
'NanumGothic'
>>> korean_rc()["axes.unicode_minus"]
True
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from segtarget.core.errors import InputError

KOREAN_FONT_FILE = "NanumGothic.ttf"


def korean_font_path() -> Path:
    """Path of NanumGothic.ttf inside the installed koreanize-matplotlib package."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("koreanize-matplotlib: package not installed; it provides the NanumGothic font for Korean figures")
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / KOREAN_FONT_FILE
    if not path.exists():
        raise InputError(f"koreanize-matplotlib: font file {KOREAN_FONT_FILE} not found in the package; expected fonts/{KOREAN_FONT_FILE}")
    return path


def korean_font_name() -> str:
    """Register the NanumGothic files (regular, bold, ...) with matplotlib (idempotent);
    return the family name."""
    path = korean_font_path()
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for ttf in sorted(path.parent.glob("NanumGothic*.ttf")):
        if str(ttf) not in known:
            font_manager.fontManager.addfont(str(ttf))
    return font_manager.FontProperties(fname=str(path)).get_name()


def korean_rc() -> dict:
    """rcParams of a Korean figure.

    NanumGothic first, DejaVu Sans for the glyphs it lacks. NanumGothic has no U+2212 and
    draws the ASCII hyphen high, like a dash, so minus signs are asked for as U+2212, which
    matplotlib's font fallback then takes from DejaVu Sans.
    """
    return {"font.family": [korean_font_name(), "DejaVu Sans"], "axes.unicode_minus": True}


def minus_signs(text: str) -> str:
    """``text`` with ASCII hyphens as U+2212 when the active rcParams ask for real minus
    signs, so that numbers typed into annotations match the tick labels."""
    return text.replace("-", "\u2212") if matplotlib.rcParams["axes.unicode_minus"] else text
