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

The steps are in :mod:`segtarget.report.qmd` (1: parse a document and merge its
metadata), :mod:`segtarget.report.kernel` (2: run its chunks) and
:mod:`segtarget.report.pandoc` (3: assemble the Markdown and convert it); this module
finds the documents, picks the engine, runs Quarto when it is used and publishes the
outputs.

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
- Text from data (segment, department or brand names, descriptions) is not Markdown: put it
  into prose through :func:`~segtarget.report.escape.md_escape`; ``md_table`` escapes its
  text cells and headers itself. Both paths then show it literally in HTML and PDF.
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

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from segtarget.core.io import atomic_path
from segtarget.report.pandoc import font_dir, render_fallback
from segtarget.report.qmd import RenderError

__all__ = ["ENGINES", "FORMATS", "RenderError", "Rendered", "find_documents", "render_project"]

log = logging.getLogger("segtarget.report")

FORMATS = ("html", "pdf")
ENGINES = ("auto", "quarto", "fallback")


@dataclass(frozen=True)
class Rendered:
    """One rendered document: its name (``en/track1``), output files, time and engine."""

    document: str
    outputs: tuple[Path, ...]
    seconds: float
    engine: str


# --------------------------------------------------------------------------- discovery


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
                files = render_fallback(project_dir, name, tmp / "work" / name, exec_dir,
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
    fonts = font_dir()
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
