"""Text from data, made safe to put into the reports' pandoc Markdown.

Department, brand and commodity names, campaign descriptions, segment names built from
them and anything else read from a results table are data, not markup. Put into Markdown
as they are, a name like ``<script>alert(1)</script>`` becomes live HTML in the report,
``#set page(width: 1cm)`` could become Typst code once a backtick or a raw block gets in,
and ``$``, ``*``, ``_``, ``@``, `````, ``[`` turn into math, emphasis, citations or
cross-references, code and links. :func:`md_escape` is the one function that prevents it:
every data string goes through it where it enters the Markdown (``md_table`` does it for
text cells; prose helpers for the names they interpolate).

The escaping is done at the Markdown level, with backslashes, because both renderers read
the document with pandoc's Markdown reader (the fallback renderer and Quarto alike): a
backslash-escaped punctuation character is always a literal character there, which pandoc's
HTML writer then writes as an entity (``&lt;script&gt;``) and its Typst writer with Typst's
own escape (``\\#set``). Line breaks are folded into spaces, so a name cannot start a new
block (a heading, a fence, a raw ``{=html}`` block), and a leading list or quote marker is
escaped, so a name at the start of a line stays text.
"""

from __future__ import annotations

import re
from typing import Any

#: Characters with a meaning in pandoc's Markdown inside a line: escapes and code (\\ `),
#: emphasis, sub/superscript and strikeout (* _ ~ ^), links, spans and attributes ([ ] { }),
#: raw HTML and autolinks (< >), entities (&), math ($), citations and cross-references (@),
#: table cells (|), headings and Typst code (#), images (!).
_INLINE = re.compile(r"([\\`*_~^\[\]{}<>&$@|#!])")
#: Markers that mean something only at the start of a line: bullet items, horizontal rules
#: and setext underlines (``- x``, ``+ x``, ``---``, ``===``), definition lists, table
#: captions and fenced divs (``: x``, ``:::``), a title block at the top of a document
#: (``% x``), always escaped there; ordered list items
#: (``1. x``, ``a) x``, ``(iv) x``) when a space follows, so that ``12.5%`` is left alone.
#: (``#``, ``>``, ``*``, ``_`` and ``|`` are escaped everywhere already.)
_LEADING = re.compile(r"^(?:([-+:=%])|(\(?)(?:\d+|[A-Za-z]|[ivxlcdm]+|[IVXLCDM]+)([.)])(?=\s|$))")


def md_escape(value: Any) -> str:
    """``value`` as Markdown text that every renderer shows literally.

    Parameters
    ----------
    value : any object; its ``str`` is escaped (``None`` gives an empty string).

    Returns
    -------
    The text on one line, with Markdown's special characters backslash-escaped.

    Examples
    --------
    >>> md_escape("<script>alert(1)</script>")
    '\\\\<script\\\\>alert(1)\\\\</script\\\\>'
    >>> md_escape("#set page(width: 1cm)")
    '\\\\#set page(width: 1cm)'
    >>> md_escape("Fresh & *bakery*\\n# of $5")
    'Fresh \\\\& \\\\*bakery\\\\* \\\\# of \\\\$5'
    >>> md_escape("1. Loyal"), md_escape("- Lapsed"), md_escape("KIOSK-GAS"), md_escape("17.0% (413)")
    ('1\\\\. Loyal', '\\\\- Lapsed', 'KIOSK-GAS', '17.0% (413)')
    """
    if value is None:
        return ""
    text = " ".join(re.split(r"[ \t\n\r\f\v]+", str(value).strip(" \t\n\r\f\v")))  # a no-break space stays
    text = _INLINE.sub(r"\\\1", text)
    m = _LEADING.match(text)
    if m and m.group(1):
        text = "\\" + text
    elif m:
        paren, end = m.group(2), m.end()
        text = ("\\" if paren else "") + text[: end - 1] + "\\" + text[end - 1:]
    return text

