"""Table layout of the reports: pipe tables whose columns fit the PDF page, and lists.

:func:`pipe_table` is how every ``*_table`` function of the report modules builds its
table: ``Formatter.table`` (translated headers, rounded numbers, optional ``@tbl-``
caption) with its separator line rewritten by :func:`fit_widths`, so that pandoc's column
widths keep numbers whole in the PDF. ``TYPST_SETUP`` is the raw Typst each document prints
once for page breaks, table font size and figure height; :func:`bullet_list` makes a
Markdown list.
"""

from __future__ import annotations

import re
from typing import Iterable

import pandas as pd

from segtarget.report.results import Formatter

#: Raw Typst for the PDF (ignored by HTML): long tables may break across pages (pandoc puts a
#: captioned table in a figure, which Typst keeps on one page by default), tables use a
#: slightly smaller font so that more columns fit and no justified spacing, and tall figures
#: are scaled down to a height that leaves room for their caption on the same page (an image
#: is otherwise as tall as its width allows). Print it once, from an ``output: asis`` chunk.
TYPST_SETUP = """```{=typst}
#show image: it => layout(size => {
  let natural = measure(it)
  let w = calc.min(natural.width, size.width)
  let h = if natural.width > 0pt { natural.height * (w / natural.width) } else { natural.height }
  let src = it.fields().at("source", default: it.fields().at("path", default: none))
  if h > 16cm and src != none { image(src, height: 16cm) } else { it }
})
#show figure.where(kind: table): set block(breakable: true)
#show figure.where(kind: table): set text(size: 0.85em)
#show table.cell: set par(justify: false)
```"""


# --------------------------------------------------------------------------- table layout

#: Width of the PDF text block in characters of the body font (A4, default margins, 10pt):
#: Libertinus Serif for English; NanumGothic, a wider face, for Korean.
TEXT_WIDTH_CHARS = {"en": 90, "ko": 100}
#: Width of a narrow (Latin, digit) character relative to the unit above, and the space a
#: table cell's padding takes, in the same units.
_NARROW = {"en": 1.0, "ko": 1.2}
_CELL_PADDING = 3


def _display_width(text: str, lang: str = "en") -> float:
    """Characters as they take space on the page: Hangul and other wide characters count
    twice; in Korean documents Latin letters and digits (set in NanumGothic) a little more
    than once."""
    import unicodedata

    narrow = _NARROW.get(lang, 1.0)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else narrow for ch in text)


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in cells[1:-1]]


def fit_widths(md: str, budget: float = TEXT_WIDTH_CHARS["en"], lang: str = "en") -> str:
    """Rewrite a pipe table's separator line so that pandoc's relative column widths keep
    numbers and words whole: each column gets at least its longest word (numeric columns:
    their longest cell), and text columns share the rest by how much text they hold.

    Pandoc sizes the columns of a pipe table wider than its ``--columns`` by the number of
    dashes per column; ``md_table`` pads by content, which starves short numeric columns
    next to a long text column (numbers then overflow into their neighbour in the PDF).
    Tables narrower than pandoc's limit are left as they are (natural widths).
    """
    lines = md.split("\n")
    try:
        i = next(n for n, ln in enumerate(lines) if re.fullmatch(r"\|(:?-+:?\|)+", ln.strip()))
    except StopIteration:
        return md
    header, rule = lines[i - 1], lines[i]
    body = []
    for ln in lines[i + 1:]:
        if not ln.startswith("|"):
            break
        body.append(ln)
    if max(len(ln) for ln in [header, *body]) <= 72:
        return md
    aligns = _split_row(rule)
    # widths of the text as printed: an escaped character (md_escape's ``\<``) takes one place
    rows = [[re.sub(r"\\(.)", r"\1", c) for c in row] for row in [_split_row(header)] + [_split_row(b) for b in body]]
    n = len(aligns)
    need, want = [], []
    for c in range(n):
        cells = [r[c] if c < len(r) else "" for r in rows]
        numeric = aligns[c].endswith(":") and not aligns[c].startswith(":")
        words = [w for cell in cells for w in cell.split()] or [""]
        longest_word = max(_display_width(w, lang) for w in words)
        longest_cell = max(_display_width(x, lang) for x in cells[1:] or [""])
        head_word = max((_display_width(w, lang) for w in cells[0].split()), default=0)
        # a short header of a numeric column stays on one line (Korean breaks inside words)
        head = min(_display_width(cells[0], lang), 14) if numeric else head_word
        # text columns keep room for a few words per line, not just their longest word
        body = longest_cell if numeric else max(longest_word, min(longest_cell, 18))
        need.append(max(body, head, head_word, 3) + _CELL_PADDING)
        want.append(max(max(_display_width(x, lang) for x in cells), 3) + _CELL_PADDING)
    extra = budget - sum(need)
    widths = list(need)
    if extra > 0:
        slack = [w - m for w, m in zip(want, need)]
        total = sum(slack)
        if total > 0:
            widths = [m + extra * s / total for m, s in zip(need, slack)]
            widths = [min(w, x) for w, x in zip(widths, want)] if sum(want) <= budget else widths
    new_rule = "|" + "|".join((":" if a.startswith(":") else "-") + "-" * max(int(round(w)) - 2, 1)
                              + (":" if a.endswith(":") else "-") for a, w in zip(aligns, widths)) + "|"
    lines[i] = new_rule
    return "\n".join(lines)


def pipe_table(fmt: Formatter, df: pd.DataFrame, formats=None, headers=None, caption=None, label=None) -> str:
    """``fmt.table(...)`` with its columns fitted to the PDF text width of ``fmt``'s language
    (:func:`fit_widths`)."""
    return fit_widths(fmt.table(df, formats=formats, headers=headers, caption=caption, label=label),
                      TEXT_WIDTH_CHARS[fmt.lang], fmt.lang)


def bullet_list(items: Iterable[str]) -> str:
    return "\n".join(f"- {i}" for i in items)
