"""Reading a Quarto document for the fallback renderer: header, prose, chunks, metadata.

:func:`parse_document` splits a ``.qmd`` (jupytext's R Markdown reader) into its YAML
header and a list of Markdown strings and :class:`Chunk` objects (code, ``#|`` options,
outputs once run); :func:`document_metadata` merges ``_quarto.yml``, the folders'
``_metadata.yml`` and the header the way Quarto does. Also :class:`RenderError`, which
every step of rendering raises, and ``WORDS``, the text that depends on the document
language.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from segtarget.core.errors import SegtargetError

#: Text that depends on the document language.
WORDS = {
    "en": {"fig": "Figure", "tbl": "Table", "toc": "Contents"},
    "ko": {"fig": "그림", "tbl": "표", "toc": "차례"},
}


class RenderError(SegtargetError):
    """A document could not be rendered (one line: document, chunk, cause)."""


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


def one_line(text: str, limit: int = 300) -> str:
    """``text`` as one line for an error message: colour codes and line breaks removed, at most
    ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- fallback: parse


@dataclass
class Chunk:
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


_CHUNK_HEADER = re.compile(r"^(`{3,})\s*\{\s*([A-Za-z][\w.+-]*)[^}]*\}\s*$", re.M)
INLINE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")


def deep_merge(base: dict, extra: dict) -> dict:
    """A copy of ``base`` updated with ``extra``, nested mappings merged key by key."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def document_metadata(project_dir: Path, name: str, header: dict) -> dict:
    """Quarto's merge order: ``_quarto.yml``, each folder's ``_metadata.yml``, the header."""
    meta = {k: v for k, v in _read_yaml(project_dir / "_quarto.yml").items() if k != "project"}
    folder = project_dir
    for part in Path(name).parts[:-1]:
        folder = folder / part
        meta = deep_merge(meta, _read_yaml(folder / "_metadata.yml"))
    meta = deep_merge(meta, header)
    if "lang" not in meta and Path(name).parts[0] in WORDS:
        meta["lang"] = Path(name).parts[0]
    return meta


def format_options(meta: dict, fmt: str) -> dict:
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


def parse_document(path: Path, doc: str):
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
            blocks.append(Chunk(chunk_no, code, options))
        else:
            blocks.append(cell.source)
    return header, blocks
