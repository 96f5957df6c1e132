"""The Korean figure font and its minus signs."""

import matplotlib
from matplotlib import font_manager, ft2font

from segtarget.core import fonts


def test_korean_rc_uses_nanumgothic_with_a_fallback_for_the_minus_sign():
    rc = fonts.korean_rc()
    assert rc["font.family"] == ["NanumGothic", "DejaVu Sans"] and rc["axes.unicode_minus"] is True
    # why the fallback: NanumGothic has no U+2212 glyph, DejaVu Sans has one
    assert ft2font.FT2Font(str(fonts.korean_font_path())).get_char_index(0x2212) == 0
    dejavu = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    assert ft2font.FT2Font(dejavu).get_char_index(0x2212) != 0


def test_minus_signs_follow_the_active_rc():
    with matplotlib.rc_context(fonts.korean_rc()):
        assert fonts.minus_signs("-1.5 [-3, 0.2]") == "\u22121.5 [\u22123, 0.2]"
    with matplotlib.rc_context({"axes.unicode_minus": False}):
        assert fonts.minus_signs("-1.5") == "-1.5"
