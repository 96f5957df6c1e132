"""Assembling and converting a document for the fallback renderer: Markdown, HTML, PDF.

:func:`render_fallback` renders one document without Quarto: it parses and runs it
(:mod:`segtarget.report.qmd`, :mod:`segtarget.report.kernel`), turns the chunk outputs into
pandoc Markdown (figures, tables, ``asis`` text), numbers the ``fig-``/``tbl-``
cross-references as Quarto does, and converts the result with pandoc to self-contained
HTML and, through ``pandoc -t typst`` and the ``typst`` package, to PDF (NanumGothic on
the font path for Korean; the date from ``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import re
import subprocess
from pathlib import Path
from typing import Sequence

import yaml

from segtarget.core.errors import InputError
from segtarget.core.fonts import korean_font_path
from segtarget.report.kernel import execute_chunks
from segtarget.report.qmd import (
    INLINE,
    WORDS,
    Chunk,
    RenderError,
    document_metadata,
    format_options,
    one_line,
    parse_document,
)

log = logging.getLogger("segtarget.report")

_DATE_KEYWORDS = {"today", "now", "last-modified"}
_PANDOC_META_KEYS = ("title", "subtitle", "author", "date", "abstract", "lang",
                     "toc-title", "keywords")
_TYPST_VARS = ("mainfont", "papersize", "fontsize", "margin", "mathfont", "codefont")
_CSS = """
body { max-width: 52em; margin: 0 auto; padding: 1.5em; line-height: 1.55;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #222; }
:lang(ko) body, body:lang(ko) { font-family: "Noto Sans KR", "Nanum Gothic", NanumGothic,
  "Apple SD Gothic Neo", "Malgun Gothic", system-ui, sans-serif; word-break: keep-all; }
h1, h2, h3 { line-height: 1.25; }
table { border-collapse: collapse; margin: 1em auto; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; }
thead th { border-bottom: 2px solid #888; }
caption, figcaption { font-size: 0.92em; color: #444; margin: 0.4em 0; }
figure { margin: 1.2em 0; text-align: center; }
img { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; font-size: 0.88em; }
code { font-size: 0.92em; }
nav#TOC { border-left: 3px solid #ddd; padding-left: 1em; margin: 1.5em 0; }
div[class*="callout"] { border-left: 4px solid #4a7ab5; background: #f4f7fb;
  padding: 0.4em 1em; margin: 1em 0; }
"""


def font_dir() -> Path | None:
    """NanumGothic's folder (see :mod:`segtarget.core.fonts`), or None without the package."""
    try:
        return korean_font_path().parent
    except InputError:
        return None


def _source_date() -> tuple[int | None, str | None]:
    """``SOURCE_DATE_EPOCH`` as (seconds, ISO date), or (None, None) when unset."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None, None
    try:
        seconds = int(epoch)
    except ValueError:
        raise RenderError(f"SOURCE_DATE_EPOCH must be an integer number of seconds, got {epoch!r}") from None
    return seconds, dt.datetime.fromtimestamp(seconds, dt.timezone.utc).date().isoformat()


# --------------------------------------------------------------------------- fallback: assemble


def _fence(text: str, info: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}"


def _html_table_to_md(pandoc: str, html: str, doc: str) -> str:
    """A DataFrame's HTML as a Markdown table (its ``<style>`` block dropped), so that it
    reaches the PDF too."""
    html = re.sub(r"<(style|script)\b.*?</\1\s*>", "", html, flags=re.S | re.I)
    proc = subprocess.run([pandoc, "-f", "html", "-t", "markdown-raw_html-native_divs-native_spans",
                           "--wrap=none"], input=html, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{doc}: pandoc could not convert an HTML table: {one_line(proc.stderr)}")
    return proc.stdout.strip()


def merge_streams(outputs: list[dict]) -> list[dict]:
    """Consecutive stream outputs of one stream (stdout, stderr) joined into one.

    The kernel flushes a long ``print`` in pieces whenever its buffer fills or a timer fires,
    so the number of pieces depends on timing; joining them makes the document depend only on
    what was printed (Quarto does the same).

    >>> merge_streams([{"output_type": "stream", "name": "stdout", "text": "a "},
    ...                {"output_type": "stream", "name": "stdout", "text": "b\\n"}])
    [{'output_type': 'stream', 'name': 'stdout', 'text': 'a b\\n'}]
    """
    merged: list[dict] = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            merged[-1] = {**prev, "text": prev.get("text", "") + out.get("text", "")}
        else:
            merged.append(out)
    return merged


def _chunk_markdown(chunk: Chunk, doc: str, media: Path, pandoc: str) -> str:
    opts = chunk.options
    if not opts.get("include", True):
        return ""
    parts: list[str] = []
    if opts.get("echo", True):
        parts.append(_fence(chunk.code, "python"))
    output = opts.get("output", True)
    if output is False:
        return "\n\n".join(parts)
    asis = output == "asis"
    label = str(opts.get("label") or "")
    fig_cap, fig_alt = opts.get("fig-cap"), opts.get("fig-alt")
    n_images = 0
    for out in merge_streams(chunk.outputs):
        otype = out.get("output_type")
        if otype == "stream":
            if out.get("name") == "stderr" and not opts.get("warning", True):
                continue
            text = out.get("text", "")
            parts.append(text.strip("\n") if asis and out.get("name") == "stdout" else _fence(text))
        elif otype in ("display_data", "execute_result"):
            data = out.get("data", {})
            image = next((m for m in ("image/png", "image/jpeg", "image/svg+xml") if m in data), None)
            if image:
                n_images += 1
                ext = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}[image]
                path = media / f"chunk{chunk.index}-{n_images}.{ext}"
                raw = data[image]
                path.write_bytes(raw.encode() if image == "image/svg+xml" else base64.b64decode(raw))
                rel = f"{media.name}/{path.name}"
                if n_images == 1 and fig_cap and label.startswith("fig-"):
                    alt = f' fig-alt="{fig_alt}"' if fig_alt else ""
                    parts.append(f"![{fig_cap}]({rel}){{#{label}{alt}}}")
                elif n_images == 1 and fig_cap:
                    parts.append(f"![{fig_cap}]({rel})")
                else:
                    parts.append(f"![]({rel})\\")  # backslash: an image, not a figure
            elif "text/markdown" in data:
                parts.append(data["text/markdown"].strip("\n"))
            elif "text/html" in data and "<table" in data["text/html"]:
                parts.append(_html_table_to_md(pandoc, data["text/html"], doc))
            elif "text/html" in data and not asis:
                parts.append(_fence(data["text/html"], "{=html}"))
            elif "text/plain" in data:
                text = data["text/plain"]
                parts.append(text.strip("\n") if asis else _fence(text))
        elif otype == "error":
            parts.append(_fence(f"{out.get('ename')}: {out.get('evalue')}"))
    tbl_cap = opts.get("tbl-cap")
    if tbl_cap and label.startswith("tbl-"):
        parts.append(f": {tbl_cap} {{#{label}}}")
    return "\n\n".join(p for p in parts if p)


# Citations are off: there is no bibliography, and an unresolved @label must stay text
# (a Typst reference to a missing label is a compile error).
_READER = "markdown-citations"
_FIG = re.compile(r"!\[(?P<cap>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<src>[^)\s]+)\)\{#(?P<label>fig-[\w-]+)(?P<rest>[^}]*)\}")
_TBL = re.compile(r"^:\s*(?P<cap>.*?)\s*\{#(?P<label>tbl-[\w-]+)\}\s*$", re.M)
_REF = re.compile(r"(?<![\w@\\])@(?P<label>(?:fig|tbl)-[\w-]*\w)")


def _crossref(markdown: str, lang: str) -> str:
    """Number ``fig-``/``tbl-`` figures and tables and resolve ``@fig-x`` references, the
    way Quarto does ("Figure 1: caption", "Figure 1" linking to it)."""
    words = WORDS.get(lang, WORDS["en"])
    numbers: dict[str, str] = {}

    def fig(m):
        numbers[m["label"]] = f"{words['fig']} {sum(k.startswith('fig-') for k in numbers) + 1}"
        return f"![{numbers[m['label']]}: {m['cap']}]({m['src']}){{#{m['label']}{m['rest']}}}"

    def tbl(m):
        numbers[m["label"]] = f"{words['tbl']} {sum(k.startswith('tbl-') for k in numbers) + 1}"
        return f": {numbers[m['label']]}: {m['cap']} {{#{m['label']}}}"

    markdown = _FIG.sub(fig, markdown)
    markdown = _TBL.sub(tbl, markdown)

    def ref(m):
        label = m["label"]
        if label in numbers:
            return f"[{numbers[label]}](#{label})"
        log.warning("unresolved cross-reference @%s", label)
        return f"?@{label}"  # what Quarto shows for an unknown label

    return _REF.sub(ref, markdown)


def _assemble(blocks: list, inline_values: list[str], doc: str, media: Path, pandoc: str) -> str:
    values = iter(inline_values)
    parts = []
    for block in blocks:
        if isinstance(block, Chunk):
            parts.append(_chunk_markdown(block, doc, media, pandoc))
        else:
            parts.append(INLINE.sub(lambda m: next(values), block))
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


# --------------------------------------------------------------------------- fallback: convert


def _pandoc_meta(meta: dict, fmt_opts: dict, name: str, lang: str, date_iso: str | None) -> dict:
    out = {k: meta[k] for k in _PANDOC_META_KEYS if k in meta}
    out["lang"] = lang
    out.setdefault("toc-title", WORDS.get(lang, WORDS["en"])["toc"])
    if "title" not in out:
        out["pagetitle"] = Path(name).name
    date = out.get("date")
    if isinstance(date, (dt.date, dt.datetime)):
        out["date"] = date.isoformat()
    elif isinstance(date, str) and date.strip().lower() in _DATE_KEYWORDS:
        if date_iso:
            out["date"] = date_iso
        else:
            out.pop("date")
    for key in ("title", "subtitle", "abstract"):
        if key in fmt_opts:
            out[key] = fmt_opts[key]
    return out


def _run(cmd: list[str], doc: str, what: str, cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or ["no message"]
        raise RenderError(f"{doc}: {what} failed: {one_line(lines[0])}")


def render_fallback(project_dir: Path, name: str, work: Path, exec_dir: Path,
                    formats: Sequence[str], timeout: int) -> dict[str, Path]:
    """Render one document without Quarto in the folder ``work``; return its output file per
    format."""
    import pypandoc

    doc = f"{name}.qmd"
    source = project_dir / doc
    work.mkdir(parents=True, exist_ok=True)
    media = work / "media_out"
    media.mkdir(exist_ok=True)
    pandoc = pypandoc.get_pandoc_path()

    header, blocks = parse_document(source, doc)
    meta = document_metadata(project_dir, name, header)
    lang = str(meta.get("lang", "en")).split("-")[0]
    epoch, date_iso = _source_date()
    inline_values = execute_chunks(doc, blocks, meta, exec_dir, work, timeout)
    body = _crossref(_assemble(blocks, inline_values, doc, media, pandoc), lang)
    (work / "body.md").write_text(body, encoding="utf-8")

    resource_path = os.pathsep.join(str(p) for p in (work, source.parent, exec_dir))
    toc = bool(meta.get("toc", True))
    toc_depth = str(int(meta.get("toc-depth", 3)))
    numbered = bool(meta.get("number-sections", False))
    files: dict[str, Path] = {}

    if "html" in formats:
        opts = format_options(meta, "html")
        (work / "meta-html.yaml").write_text(yaml.safe_dump(
            _pandoc_meta(meta, opts, name, lang, date_iso), allow_unicode=True), encoding="utf-8")
        (work / "style.css").write_text(_CSS, encoding="utf-8")
        files["html"] = work / "out.html"
        cmd = [pandoc, "body.md", "-f", _READER, "-t", "html5", "--standalone",
               "--embed-resources", "--mathml", "--css", "style.css", "--wrap=none",
               "--metadata-file", "meta-html.yaml", f"--resource-path={resource_path}",
               "-o", str(files["html"])]
        cmd += ["--toc", f"--toc-depth={toc_depth}"] if toc else []
        cmd += ["--number-sections"] if numbered else []
        _run(cmd, doc, "pandoc (HTML)", work)

    if "pdf" in formats:
        import typst

        opts = format_options(meta, "typst")
        pmeta = _pandoc_meta(meta, opts, name, lang, date_iso)
        fonts = font_dir()
        korean = ["NanumGothic"] if fonts is not None else []
        family = korean if lang == "ko" else ["Libertinus Serif", *korean]
        includes = ['#set text(font: (' + "".join(f'"{f}", ' for f in family) + '))',
                    # Quarto-style "Figure N:" prefixes are added to the captions above.
                    "#set figure(numbering: none)"]
        if epoch is None:
            includes.append("#set document(date: none)")
        pmeta["header-includes"] = [f"`{inc}`{{=typst}}" for inc in includes]
        (work / "meta-typst.yaml").write_text(yaml.safe_dump(pmeta, allow_unicode=True), encoding="utf-8")
        cmd = [pandoc, "body.md", "-f", _READER, "-t", "typst", "--standalone", "--wrap=none",
               "--metadata-file", "meta-typst.yaml", f"--resource-path={resource_path}",
               "--extract-media=typst_media", "-o", "out.typ"]
        cmd += ["--toc", f"--toc-depth={toc_depth}"] if toc else []
        cmd += ["-V", "section-numbering=1.1.1"] if numbered else []
        for var in _TYPST_VARS:
            value = opts.get(var, meta.get(var))
            if isinstance(value, (str, int, float)):
                cmd += ["-V", f"{var}={value}"]
        _run(cmd, doc, "pandoc (Typst)", work)
        files["pdf"] = work / "out.pdf"
        try:
            typst.compile(str(work / "out.typ"), output=str(files["pdf"]), root=str(work),
                          font_paths=[str(fonts)] if fonts is not None else [],
                          ignore_system_fonts=True, timestamp=epoch)
        except Exception as exc:  # typst raises RuntimeError with the compiler's messages
            raise RenderError(f"{doc}: typst could not compile the PDF: {one_line(exc)}") from None
    return files
