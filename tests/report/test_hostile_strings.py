"""Strings from data render as text: in tables and prose, in the HTML and in the Typst PDF.

A department, brand or campaign description, or a segment name built from them, is data. A
name such as ``<script>alert(1)</script>`` or ``#set page(width: 1cm)``, or one with ``$``,
``*``, ``_``, ``@``, ``<``, a backtick or ``[``, must come out of the report as those very
characters: never as live HTML, Typst code, math, emphasis, a cross-reference or a link.
The documents feed data to pandoc's Markdown reader (the fallback renderer and Quarto
alike), so the tests check the Markdown that the report code writes, what pandoc makes of
it, and a whole document rendered by the fallback renderer.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pypandoc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from segtarget.report import track1_axes as A1
from segtarget.report import track1_prose as P1
from segtarget.report import track2_decision as D
from segtarget.report.escape import md_escape
from segtarget.report.pandoc import render_fallback
from segtarget.report.results import Results, md_table

FIXTURE = Path(__file__).parent / "fixtures" / "report_project"
SCRIPT = "<script>alert(1)</script>"
TYPST = "#set page(width: 1cm)"
MARKUP = "$x$ *b* _u_ @fig-demo `c` [l](u) \\textbf{z} &lt; ~s~ ^p^ | {=html}"
HOSTILE = [SCRIPT, TYPST, MARKUP, "1. Ordered", "- Bulleted", ": caption", "---"]
#: Unescaped pieces of the hostile names, as they would appear in Markdown that lets them through.
RAW = re.compile(r"(?<!\\)(<script|#set page|\$x\$|\*b\*|`c`|\[l\]|@fig-demo)")

# --------------------------------------------------------------------------- md_escape itself

_SPECIAL = list("<>#$*_@`[]{}\\|~^&!-+:=.()'\"%/;,?") + ["--", "---", "1.", "a)", "(i)", "<!--", "```", ":::"]
#: Texts made of Markdown's special characters and sequences, letters, spaces, line breaks and
#: any other printable character.
_TEXTS = st.lists(st.lists(st.sampled_from(_SPECIAL + list("ab1 \t\n")) | st.characters(
    blacklist_categories=("Cs", "Cc")), min_size=1, max_size=16).map("".join), min_size=1, max_size=40)


def _pandoc_json(markdown: str) -> dict:
    # the renderer's reader (markdown-citations) without smart quotes, so that text compares as is
    out = subprocess.run([pypandoc.get_pandoc_path(), "-f", "markdown-citations-smart", "-t", "json"],
                         input=markdown, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _inline_text(inlines: list) -> str:
    parts = []
    for node in inlines:
        assert node["t"] in ("Str", "Space", "SoftBreak"), f"markup {node['t']} from escaped text"
        parts.append(node["c"] if node["t"] == "Str" else " ")
    return "".join(parts)


@settings(max_examples=15, deadline=None)
@given(texts=_TEXTS)
@example(texts=["%"])  # a title block at the top of a pandoc document (found by hypothesis)
def test_escaped_text_reads_back_as_the_same_plain_text(texts):
    """Any text, escaped, is one paragraph of plain words to pandoc, with the same characters."""
    texts = [t for t in texts if t.split()]
    if not texts:
        return
    doc = _pandoc_json("\n\n".join(md_escape(t) for t in texts) + "\n")
    assert [b["t"] for b in doc["blocks"]] == ["Para"] * len(texts)
    for block, text in zip(doc["blocks"], texts):
        assert _inline_text(block["c"]) == " ".join(text.split())


@settings(max_examples=10, deadline=None)
@given(texts=_TEXTS)
def test_table_text_cells_read_back_as_the_same_plain_text(texts):
    """The same for text cells of ``md_table`` (pipes inside a name do not split the cell)."""
    md = md_table(pd.DataFrame({"name": texts, "n": range(len(texts))}), "en")
    doc = _pandoc_json(md + "\n")
    assert [b["t"] for b in doc["blocks"]] == ["Table"]
    rows = doc["blocks"][0]["c"][4][0][3]  # Table attr caption colspecs head [TableBody] foot
    for row, text in zip(rows, texts):
        cell = row[1][0][4]  # Row attr [Cell]; Cell attr align rowspan colspan [Block]
        assert _inline_text(cell[0]["c"] if cell else []) == " ".join(text.split())


# --------------------------------------------------------------------------- report helpers


def _write_tables(root: Path) -> Results:
    tables = root / "results" / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    names = HOSTILE[:4]
    pd.DataFrame({"segment": range(1, 5), "segment_name": names, "segment_name_ko": names,
                  "n": [40, 30, 20, 10], "share": [0.4, 0.3, 0.2, 0.1], "revenue_share": [0.5, 0.3, 0.15, 0.05],
                  }).to_csv(tables / "segment_profiles.csv", index=False)
    pd.DataFrame({"segment": range(1, 5), "segment_name": names, "segment_name_ko": names,
                  "value_tier": ["High", "Medium", "Low", "Low"], "behaviour": ["x"] * 4,
                  "recommended_action": [TYPST, SCRIPT, MARKUP, "- act"], "recommended_action_ko": [TYPST] * 4,
                  }).to_csv(tables / "segment_strategy.csv", index=False)
    pd.DataFrame({"outcome": "purchase_amount", "group": "segment", "segment": range(1, 5), "segment_name": names,
                  "segment_name_ko": names, "n": [40, 30, 20, 10], "cate": [50.0, 10.0, 5.0, 1.0],
                  "cate_ci_low": [45.0, -1.0, -2.0, -3.0], "cate_ci_high": [60.0, 20.0, 9.0, 4.0],
                  "action": ["target", "test_first", "test_first", "do_not_target"], "breakeven": 42.43,
                  }).to_csv(tables / "segment_recommendations.csv", index=False)
    return Results(root)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_prose_helpers_escape_the_names_they_put_in_sentences(tmp_path, lang):
    res = _write_tables(tmp_path)
    texts = {"action_bullets": P1.action_bullets(res, lang), "seg_ref": A1.seg_ref(res, 1, lang),
             "segment_sentence": D.segment_sentence(res, None, lang)}
    for where, text in texts.items():
        assert not RAW.search(text), (where, text)
    assert md_escape(SCRIPT) in texts["seg_ref"] and md_escape(TYPST) in texts["action_bullets"]
    # a table takes the raw name and escapes it once (no doubled backslashes)
    table = md_table(pd.DataFrame({"group": [D.group_name(r, lang) for _, r in res.table("segment_recommendations")
                                             .iterrows()]}), lang)
    assert md_escape(SCRIPT) in table and "\\\\<" not in table and not RAW.search(table)


# --------------------------------------------------------------------------- a rendered document

DOC = """---
title: "Hostile strings"
---

```{python}
#| label: setup
from segtarget.report import track1_prose as P1
from segtarget.report.escape import md_escape
from segtarget.report.results import Formatter, Results

res = Results.discover()
f = Formatter("en")
seg = res.table("segment_profiles")
```

The largest segment is **`{python} md_escape(seg["segment_name"].iloc[0])`**; the next is `{python} md_escape(seg["segment_name"].iloc[1])`.

```{python}
#| output: asis
print(f.table(seg[["segment", "segment_name", "share"]], formats={"share": "pct"},
              headers={"segment_name": "Segment", "share": "Share"}, caption="Segments", label="tbl-segments"))
```

```{python}
#| output: asis
print(P1.action_bullets(res, "en"))
```
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    project = root / "report"
    (project / "en").mkdir(parents=True)
    shutil.copy(FIXTURE / "_quarto.yml", project / "_quarto.yml")
    (project / "en" / "hostile.qmd").write_text(DOC, encoding="utf-8")
    _write_tables(root)
    work = root / "work"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SEGTARGET_ROOT", raising=False)
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        files = render_fallback(project, "en/hostile", work, root, ("html", "pdf"), 120)
    return {"body": (work / "body.md").read_text(encoding="utf-8"), "html": files["html"].read_text(encoding="utf-8"),
            "typst": (work / "out.typ").read_text(encoding="utf-8"), "pdf": files["pdf"]}


def test_markdown_given_to_pandoc_has_every_data_string_escaped(rendered):
    """What Quarto would receive too: the chunks' Markdown, the same on both paths."""
    assert not RAW.search(rendered["body"]), RAW.search(rendered["body"])
    assert md_escape(SCRIPT) in rendered["body"] and md_escape(TYPST) in rendered["body"]


def test_html_shows_the_names_as_text(rendered):
    html = rendered["html"]
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert TYPST in html  # literal text ('#' means nothing in HTML)
    assert "$x$ *b* _u_ @fig-demo `c` [l](u) \\textbf{z} &amp;lt; ~s~ ^p^ | {=html}" in html
    body = html[html.index("<body"):]
    for markup in ("<em>b</em>", "<code>c</code>", 'href="u"', "<sub>", "<sup>", "<math", "<hr"):
        assert markup not in body, markup
    assert "<li>1. Ordered" not in body and "<ol" not in body


def test_typst_source_escapes_the_names(rendered):
    typ = rendered["typst"]
    assert not re.search(r"(?<!\\)#set page\(width: 1cm\)", typ)
    assert "\\#set page(width: 1cm)" in typ
    for piece in ("\\$x\\$", "\\*b\\*", "\\_u\\_", "\\@fig-demo", "\\<script\\>", "\\`c\\`", "\\[l\\]"):
        assert piece in typ, piece


def test_pdf_shows_the_names_and_keeps_its_page_size(rendered):
    import pypdf

    reader = pypdf.PdfReader(rendered["pdf"])
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert SCRIPT in text and TYPST in text
    assert float(reader.pages[0].mediabox.width) > 500  # A4 or letter, not the 1 cm a '#set page' would make
