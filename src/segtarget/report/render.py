"""Render the Quarto report project to self-contained HTML and PDF, with or without Quarto.

The Quarto CLI cannot be installed on every machine (SPEC section 6), so
:func:`render_project` runs ``quarto render`` when ``quarto`` is on PATH and otherwise a
fallback built on the engines Quarto itself uses:

1. each ``.qmd`` is parsed with jupytext's R Markdown reader (``fmt="Rmd"``), which reads
   the YAML header and the ```` ```{python} ```` chunks;
2. the Python chunks run in a Jupyter kernel (nbclient) started from this interpreter,
   with the working directory set to ``exec_dir`` (default: the parent of the project
   folder, i.e. the repository root, so documents can read ``results/``);
3. the prose and the outputs are assembled into pandoc Markdown and converted with the
   pandoc that ships in the ``pypandoc-binary`` wheel: HTML with ``--standalone
   --embed-resources --mathml`` and a table of contents; PDF through ``pandoc -t typst``
   and the ``typst`` package, with NanumGothic (from ``koreanize-matplotlib``) on the font
   path so Korean text renders.

Outputs go to ``out_dir/<folder>/<name>.html`` and ``.pdf`` (``report/en/track1.qmd`` ->
``_output/en/track1.html``), the same layout ``quarto render`` gives. Nothing is written
until every requested document has rendered: a failing chunk raises :class:`RenderError`
(one line naming the document, the chunk and the exception) and leaves earlier outputs as
they were. Renders are deterministic: ``date: today`` and the PDF creation date follow
``SOURCE_DATE_EPOCH`` when it is set and are left out otherwise.

Supported subset (what both paths render the same way; keep documents to it)
--------------------------------------------------------------------------
- YAML header: ``title``, ``subtitle``, ``author``, ``date``, ``abstract``, ``lang``
  (``en``/``ko``), ``toc``, ``toc-depth``, ``toc-title``, ``number-sections``,
  ``execute`` (``echo``, ``eval``, ``output``, ``warning``, ``error``, ``include``), and
  under ``format: typst:`` ``mainfont``, ``papersize``, ``fontsize``, ``margin``. Values are
  merged from ``_quarto.yml``, then each folder's ``_metadata.yml``, then the header, as in
  Quarto.
- Prose: pandoc Markdown (headings, emphasis, lists, pipe tables, ``$math$``, footnotes,
  fenced divs). Callouts (``::: {.callout-note}``) render as a plain bordered box in the
  fallback HTML and as plain text in its PDF.
- Chunk options as ``#| key: value`` lines: ``label``, ``echo``, ``eval``, ``output``
  (``true``/``false``/``asis``), ``include``, ``warning``, ``error``, ``fig-cap``,
  ``fig-alt``, ``tbl-cap``. Write options as ``#|`` lines, not in the chunk header
  (```` ```{python echo=FALSE} ```` is R Markdown syntax).
- ``output: asis``: printed text and Markdown display data are inserted verbatim. This is
  how prose with computed numbers and tables get in: ``print(md_table(...))``.
- Inline expressions ```` `{python} expr` ```` in prose: the value's Markdown (or ``str``).
- Figures: an image output (matplotlib inline, or ``Results.show_figure``) in a chunk with
  ``#| label: fig-x`` and ``#| fig-cap: "..."`` becomes "Figure N: ..." ("그림 N: ...");
  ``@fig-x`` in prose links to it. Markdown images ``![cap](path){#fig-x}`` also work (use
  absolute paths, e.g. from ``Results.figure``).
- Tables: pipe tables from ``md_table`` with ``: caption {#tbl-x}`` (or a chunk with
  ``label: tbl-x`` and ``tbl-cap``) become "Table N: ..." ("표 N: ..."), ``@tbl-x`` links.
  DataFrame HTML output is converted to a Markdown table by the fallback, but Quarto's PDF
  shows it as plain text: print ``md_table`` instead.
- Not supported by the fallback: other chunk languages, cross-references other than
  ``fig-``/``tbl-``, citations, Quarto shortcodes, tabsets, interactive widgets.

Examples
--------
``render_project("report", "report/_output")`` renders every ``.qmd`` in ``report/``;
``render_project("report", "report/_output", ["en/track1"])`` renders one document.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from segtarget.core.errors import InputError, SegtargetError
from segtarget.core.fonts import korean_font_path
from segtarget.core.io import atomic_path

log = logging.getLogger("segtarget.report")

FORMATS = ("html", "pdf")
ENGINES = ("auto", "quarto", "fallback")
KERNEL_NAME = "segtarget-python"
#: Text that depends on the document language.
WORDS = {
    "en": {"fig": "Figure", "tbl": "Table", "toc": "Contents"},
    "ko": {"fig": "그림", "tbl": "표", "toc": "차례"},
}
_DATE_KEYWORDS = {"today", "now", "last-modified"}
_EXEC_DEFAULTS = {"echo": True, "eval": True, "output": True, "warning": True,
                  "error": False, "include": True}
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


class RenderError(SegtargetError):
    """A document could not be rendered (one line: document, chunk, cause)."""


@dataclass(frozen=True)
class Rendered:
    """One rendered document: its name (``en/track1``), output files, time and engine."""

    document: str
    outputs: tuple[Path, ...]
    seconds: float
    engine: str


# --------------------------------------------------------------------------- discovery


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: invalid YAML ({' '.join(str(exc).split())})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RenderError(f"{path}: expected a YAML mapping at the top level")
    return data


def _ignored(rel: Path) -> bool:
    """Quarto's rule: files and folders whose name starts with ``_`` or ``.`` are not
    rendered (``_output``, ``_metadata.yml``, ``.quarto``)."""
    return any(part.startswith(("_", ".")) for part in rel.parts)


def find_documents(project_dir: str | os.PathLike, documents: Iterable[str] | None = None) -> list[str]:
    """Names (``en/track1``) of the documents to render, sorted.

    ``documents`` entries may be given with or without ``.qmd``; without it, every ``.qmd``
    in the project except those under a ``_``/``.`` folder or file name.
    """
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise RenderError(f"{project_dir}: report project folder not found")
    if documents:
        names = []
        for doc in documents:
            name = str(doc).replace("\\", "/").removesuffix(".qmd")
            if not (project_dir / f"{name}.qmd").is_file():
                raise RenderError(f"{project_dir / (name + '.qmd')}: document not found")
            names.append(name)
        return sorted(dict.fromkeys(names))
    names = [p.relative_to(project_dir).with_suffix("").as_posix()
             for p in project_dir.rglob("*.qmd") if not _ignored(p.relative_to(project_dir))]
    if not names:
        raise RenderError(f"{project_dir}: no .qmd documents found")
    return sorted(names)


def _output_paths(out_dir: Path, name: str, formats: Sequence[str]) -> dict[str, Path]:
    return {fmt: out_dir / f"{name}.{fmt}" for fmt in formats}


def _font_dir() -> Path | None:
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


# --------------------------------------------------------------------------- entry point


def render_project(
    project_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    documents: Iterable[str] | None = None,
    *,
    exec_dir: str | os.PathLike | None = None,
    formats: Sequence[str] = FORMATS,
    engine: str = "auto",
    timeout: int = 600,
) -> list[Rendered]:
    """Render report documents to ``out_dir/<folder>/<name>.{html,pdf}``.

    Parameters
    ----------
    project_dir : the Quarto project folder (``report``), holding ``_quarto.yml``.
    out_dir : where outputs go (``report/_output``).
    documents : names like ``en/track1`` (default: every document in the project).
    exec_dir : working directory of the code chunks (default: ``project_dir``'s parent,
        the repository root, so documents find ``results/``).
    formats : any of ``html`` and ``pdf``.
    engine : ``auto`` (Quarto if on PATH, else the fallback), ``quarto`` or ``fallback``.
    timeout : seconds allowed per chunk.

    Returns
    -------
    One :class:`Rendered` per document, in name order, with its render time.

    Raises
    ------
    RenderError
        If a document is missing or any chunk fails; no output file is written or changed.
    """
    project_dir = Path(project_dir).resolve()
    out_dir = Path(out_dir).resolve()
    exec_dir = Path(exec_dir).resolve() if exec_dir is not None else project_dir.parent
    formats = tuple(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise RenderError(f"formats must be among {', '.join(FORMATS)}, got {', '.join(formats) or 'none'}")
    if engine not in ENGINES:
        raise RenderError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if not exec_dir.is_dir():
        raise RenderError(f"{exec_dir}: execution folder not found")
    names = find_documents(project_dir, documents)
    quarto = shutil.which("quarto")
    if engine == "quarto" and quarto is None:
        raise RenderError("engine 'quarto' requested but quarto is not on PATH")
    use_quarto = engine != "fallback" and quarto is not None

    with tempfile.TemporaryDirectory(prefix="segtarget-report-") as tmp:
        tmp = Path(tmp)
        staged: list[tuple[Path, Path]] = []
        results: list[Rendered] = []
        for name in names:
            start = time.perf_counter()
            if use_quarto:
                files = _render_quarto(quarto, project_dir, name, tmp / "quarto" / name, exec_dir,
                                       formats)
            else:
                files = _render_fallback(project_dir, name, tmp / "work" / name, exec_dir,
                                         formats, timeout)
            seconds = time.perf_counter() - start
            targets = _output_paths(out_dir, name, formats)
            staged += [(files[fmt], targets[fmt]) for fmt in formats]
            results.append(Rendered(name, tuple(targets[f] for f in formats), seconds,
                                    "quarto" if use_quarto else "fallback"))
            log.info("rendered %s (%s) in %.1f s with %s", name, ", ".join(formats), seconds,
                     results[-1].engine)
        # Every document rendered: only now touch out_dir (each file atomically). Temporary
        # files are private (0600); published reports get the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        for src, dest in staged:
            with atomic_path(dest) as part:
                shutil.copyfile(src, part)
                os.chmod(part, 0o666 & ~umask)
    return results


# --------------------------------------------------------------------------- Quarto path


def _render_quarto(quarto: str, project_dir: Path, name: str, staging: Path, exec_dir: Path,
                   formats: Sequence[str]) -> dict[str, Path]:
    """``quarto render`` one document into a staging folder; return its output files.

    Quarto takes the formats from ``_quarto.yml`` (``html`` and ``typst``, which makes the
    PDF). Its kernel runs this interpreter (``QUARTO_PYTHON``) from ``exec_dir``, and Typst
    finds NanumGothic through ``TYPST_FONT_PATHS``.
    """
    staging.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, QUARTO_PYTHON=sys.executable)
    fonts = _font_dir()
    if fonts is not None:
        env["TYPST_FONT_PATHS"] = os.pathsep.join(
            p for p in (os.environ.get("TYPST_FONT_PATHS"), str(fonts)) if p)
    to = {"html": "html", "pdf": "typst"}
    cmd = [quarto, "render", str(project_dir / f"{name}.qmd"), "--output-dir", str(staging),
           "--execute-dir", str(exec_dir)]
    if len(formats) == 1:  # otherwise the formats listed in _quarto.yml (html and typst)
        cmd += ["--to", to[formats[0]]]
    proc = subprocess.run(cmd, cwd=project_dir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        errs = [ln for ln in lines if "error" in ln.lower()] or lines[-1:] or ["no message"]
        raise RenderError(f"{name}.qmd: quarto render failed (exit {proc.returncode}): {errs[-1]}")
    files = {}
    for fmt in formats:
        hits = sorted(staging.rglob(f"{Path(name).name}.{fmt}"))
        if not hits:
            raise RenderError(f"{name}.qmd: quarto render produced no {fmt} output "
                              f"(check the formats in _quarto.yml)")
        files[fmt] = hits[0]
    return files


# --------------------------------------------------------------------------- fallback: parse


@dataclass
class _Chunk:
    """One code chunk: its options, its code without the ``#|`` lines, and outputs."""

    index: int  # 1-based among the document's code chunks
    code: str
    options: dict
    outputs: list = field(default_factory=list)

    def describe(self, line: int | None = None) -> str:
        """``chunk 'label' (`first line`)``, plus the failing line when it is another one."""
        lines = self.code.splitlines()
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        label = self.options.get("label")
        where = f"chunk '{label}'" if label else f"chunk {self.index}"
        text = f"{where} (`{_short(first)}`)" if first else where
        if line is not None and 0 < line <= len(lines) and lines[line - 1].strip() != first:
            text += f" at line {line} (`{_short(lines[line - 1].strip())}`)"
        return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_line(traceback: str) -> int | None:
    """The line of the chunk where the exception was raised, from IPython's traceback."""
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(traceback))
    hits = re.findall(r"Cell In\[\d+\], line (\d+)", plain)
    return int(hits[-1]) if hits else None


_CHUNK_HEADER = re.compile(r"^(`{3,})\s*\{\s*([A-Za-z][\w.+-]*)[^}]*\}\s*$", re.M)
_INLINE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _document_metadata(project_dir: Path, name: str, header: dict) -> dict:
    """Quarto's merge order: ``_quarto.yml``, each folder's ``_metadata.yml``, the header."""
    meta = {k: v for k, v in _read_yaml(project_dir / "_quarto.yml").items() if k != "project"}
    folder = project_dir
    for part in Path(name).parts[:-1]:
        folder = folder / part
        meta = _merge(meta, _read_yaml(folder / "_metadata.yml"))
    meta = _merge(meta, header)
    if "lang" not in meta and Path(name).parts[0] in WORDS:
        meta["lang"] = Path(name).parts[0]
    return meta


def _format_options(meta: dict, fmt: str) -> dict:
    """Options under ``format: <fmt>:`` (``format: html`` alone means defaults)."""
    formats = meta.get("format")
    if isinstance(formats, dict) and isinstance(formats.get(fmt), dict):
        return formats[fmt]
    return {}


def _parse_options(doc: str, chunk_index: int, source: str) -> tuple[dict, str]:
    lines = source.splitlines()
    opt_lines = []
    while lines and lines[0].startswith("#|"):
        opt_lines.append(lines.pop(0)[2:].removeprefix(" "))
    try:
        options = yaml.safe_load("\n".join(opt_lines)) if opt_lines else {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{doc}: chunk {chunk_index}: invalid '#|' options "
                          f"({' '.join(str(exc).split())})") from None
    if not isinstance(options, dict):
        raise RenderError(f"{doc}: chunk {chunk_index}: '#|' lines must be 'key: value' pairs")
    return options, "\n".join(lines)


def _parse_document(path: Path, doc: str):
    """Split a .qmd into its YAML header and a list of markdown strings and chunks."""
    import jupytext

    text = path.read_text(encoding="utf-8")
    try:
        nb = jupytext.reads(text, fmt="Rmd")
    except Exception as exc:  # jupytext raises assorted errors on malformed input
        raise RenderError(f"{doc}: cannot parse ({type(exc).__name__}: {exc})") from None
    languages = [m.group(2).lower() for m in _CHUNK_HEADER.finditer(text)]
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    header: dict = {}
    blocks: list[Any] = []
    chunk_no = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "raw" and i == 0 and cell.source.startswith("---"):
            try:
                header = yaml.safe_load(cell.source.strip().strip("-")) or {}
            except yaml.YAMLError as exc:
                raise RenderError(f"{doc}: invalid YAML header ({' '.join(str(exc).split())})") from None
            if not isinstance(header, dict):
                raise RenderError(f"{doc}: the YAML header must be a mapping")
        elif cell.cell_type == "code":
            chunk_no += 1
            if len(languages) == n_code and languages[chunk_no - 1] != "python":
                raise RenderError(f"{doc}: chunk {chunk_no} is {languages[chunk_no - 1]}; "
                                  f"the fallback renderer runs python chunks only")
            options, code = _parse_options(doc, chunk_no, cell.source)
            tags = set(cell.metadata.get("tags", []))
            if "remove_input" in tags:
                options.setdefault("echo", False)
            if "remove_output" in tags:
                options.setdefault("output", False)
            if "remove_cell" in tags:
                options.setdefault("include", False)
            blocks.append(_Chunk(chunk_no, code, options))
        else:
            blocks.append(cell.source)
    return header, blocks


# --------------------------------------------------------------------------- fallback: run


def _kernel_manager(tmp: Path):
    """A kernel manager for this interpreter via a kernelspec in a temporary folder, so the
    documents run in the same environment as the workflow and nothing is installed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = tmp / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "segtarget report", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)


_SETUP = """
def __segtarget_inline__(value):
    from IPython.display import Markdown, display
    md = value._repr_markdown_() if hasattr(value, "_repr_markdown_") else None
    display(Markdown(md if md is not None else str(value)))
"""


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _execute(doc: str, blocks: list, meta: dict, exec_dir: Path, tmp: Path, timeout: int) -> list[dict]:
    """Run the chunks (and inline expressions) in order in one kernel; fill in outputs.

    Returns the inline expression results in order, as markdown strings per markdown block.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    execute = _merge(_EXEC_DEFAULTS, meta.get("execute") or {})
    units: list[tuple[str, Any, Any]] = []  # (kind, block, payload)
    for block in blocks:
        if isinstance(block, _Chunk):
            opts = _merge(execute, block.options)
            block.options = opts
            if opts.get("eval", True):
                units.append(("chunk", block, block.code))
        else:
            for m in _INLINE.finditer(block):
                units.append(("inline", block, m.group(1)))
    inline_values: list[str] = []
    if not units:
        return inline_values

    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell(_SETUP)]
    for kind, _, code in units:
        cells.append(nbformat.v4.new_code_cell(code if kind == "chunk" else f"__segtarget_inline__(({code}))"))
    nb.cells = cells
    ipython_dir = tmp / "ipython"
    ipython_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, IPYTHONDIR=str(ipython_dir),
               MPLBACKEND="module://matplotlib_inline.backend_inline",
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    client = NotebookClient(nb, km=_kernel_manager(tmp), timeout=timeout, allow_errors=False,
                            resources={"metadata": {"path": str(exec_dir)}},
                            shutdown_kernel="immediate")
    kernel_log = tmp / "kernel.log"
    with open(kernel_log, "w") as stderr:
        try:
            with client.setup_kernel(env=env, stderr=stderr, cleanup_kc=True):
                for i, cell in enumerate(cells):
                    kind, block, code = units[i - 1] if i else ("setup", None, "")
                    allow = kind == "chunk" and bool(block.options.get("error"))
                    try:
                        client.execute_cell(cell, i, execution_count=i)
                    except CellExecutionError as exc:
                        if allow:
                            continue
                        where = (block.describe(_error_line(exc.traceback)) if kind == "chunk"
                                 else f"inline expression `{code}`")
                        raise RenderError(f"{doc}: {where} failed: {exc.ename}: "
                                          f"{_one_line(exc.evalue) or '(no message)'}") from None
                    except CellTimeoutError:
                        where = block.describe() if kind == "chunk" else f"inline expression `{code}`"
                        raise RenderError(f"{doc}: {where} timed out after {timeout} s") from None
                    except DeadKernelError:
                        where = block.describe() if kind == "chunk" else f"inline expression `{code}`"
                        raise RenderError(f"{doc}: the kernel died while running {where}") from None
        except RenderError:
            raise
        except Exception as exc:  # kernel could not start
            stderr.flush()
            detail = kernel_log.read_text(errors="replace").strip().splitlines()
            raise RenderError(f"{doc}: cannot start a Python kernel ({type(exc).__name__}: "
                              f"{_one_line(exc)}{'; ' + _one_line(detail[-1]) if detail else ''})") from None
    for (kind, block, _), cell in zip(units, cells[1:]):
        if kind == "chunk":
            block.outputs = list(cell.outputs)
        else:
            texts = [o["data"].get("text/markdown", "") for o in cell.outputs
                     if o.get("output_type") == "display_data"]
            inline_values.append(texts[0].strip() if texts else "")
    return inline_values


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
        raise RenderError(f"{doc}: pandoc could not convert an HTML table: {_one_line(proc.stderr)}")
    return proc.stdout.strip()


def _chunk_markdown(chunk: _Chunk, doc: str, media: Path, pandoc: str) -> str:
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
    for out in chunk.outputs:
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
        if isinstance(block, _Chunk):
            parts.append(_chunk_markdown(block, doc, media, pandoc))
        else:
            parts.append(_INLINE.sub(lambda m: next(values), block))
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
        raise RenderError(f"{doc}: {what} failed: {_one_line(lines[0])}")


def _render_fallback(project_dir: Path, name: str, work: Path, exec_dir: Path,
                     formats: Sequence[str], timeout: int) -> dict[str, Path]:
    import pypandoc

    doc = f"{name}.qmd"
    source = project_dir / doc
    work.mkdir(parents=True, exist_ok=True)
    media = work / "media_out"
    media.mkdir(exist_ok=True)
    pandoc = pypandoc.get_pandoc_path()

    header, blocks = _parse_document(source, doc)
    meta = _document_metadata(project_dir, name, header)
    lang = str(meta.get("lang", "en")).split("-")[0]
    epoch, date_iso = _source_date()
    inline_values = _execute(doc, blocks, meta, exec_dir, work, timeout)
    body = _crossref(_assemble(blocks, inline_values, doc, media, pandoc), lang)
    (work / "body.md").write_text(body, encoding="utf-8")

    resource_path = os.pathsep.join(str(p) for p in (work, source.parent, exec_dir))
    toc = bool(meta.get("toc", True))
    toc_depth = str(int(meta.get("toc-depth", 3)))
    numbered = bool(meta.get("number-sections", False))
    files: dict[str, Path] = {}

    if "html" in formats:
        opts = _format_options(meta, "html")
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

        opts = _format_options(meta, "typst")
        pmeta = _pandoc_meta(meta, opts, name, lang, date_iso)
        fonts = _font_dir()
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
            raise RenderError(f"{doc}: typst could not compile the PDF: {_one_line(exc)}") from None
    return files
