"""Running a document's code for the fallback renderer: one Jupyter kernel per document.

:func:`execute_chunks` runs the chunks and inline expressions of a parsed document in
order in a kernel of this interpreter (nbclient), with the working directory set to
``exec_dir``, and fills in each chunk's outputs; a failing chunk raises
:class:`~segtarget.report.qmd.RenderError` naming the chunk and the line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from segtarget.report.qmd import INLINE, Chunk, RenderError, deep_merge, one_line

KERNEL_NAME = "segtarget-python"
#: Kernel starts tried before a document fails (a start can lose a race for a TCP port).
KERNEL_START_ATTEMPTS = 3
log = logging.getLogger(__name__)
_EXEC_DEFAULTS = {"echo": True, "eval": True, "output": True, "warning": True,
                  "error": False, "include": True}


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


def _error_line(traceback: str) -> int | None:
    """The line of the chunk where the exception was raised, from IPython's traceback."""
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(traceback))
    hits = re.findall(r"Cell In\[\d+\], line (\d+)", plain)
    return int(hits[-1]) if hits else None


def _run_cells(client, doc: str, cells: list, units: list, timeout: int) -> None:
    """Execute ``cells`` (the setup cell, then one per unit) in the started kernel of ``client``."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

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
                              f"{one_line(exc.evalue) or '(no message)'}") from None
        except CellTimeoutError:
            where = block.describe() if kind == "chunk" else f"inline expression `{code}`"
            raise RenderError(f"{doc}: {where} timed out after {timeout} s") from None
        except DeadKernelError:
            where = block.describe() if kind == "chunk" else f"inline expression `{code}`"
            raise RenderError(f"{doc}: the kernel died while running {where}") from None


def execute_chunks(doc: str, blocks: list, meta: dict, exec_dir: Path, tmp: Path, timeout: int) -> list[dict]:
    """Run the chunks (and inline expressions) in order in one kernel; fill in outputs.

    Returns the inline expression results in order, as markdown strings per markdown block.
    """
    import nbformat
    from nbclient import NotebookClient

    execute = deep_merge(_EXEC_DEFAULTS, meta.get("execute") or {})
    units: list[tuple[str, Any, Any]] = []  # (kind, block, payload)
    for block in blocks:
        if isinstance(block, Chunk):
            opts = deep_merge(execute, block.options)
            block.options = opts
            if opts.get("eval", True):
                units.append(("chunk", block, block.code))
        else:
            for m in INLINE.finditer(block):
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
    kernel_log = tmp / "kernel.log"
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        client = NotebookClient(nb, km=_kernel_manager(tmp), timeout=timeout, allow_errors=False,
                                resources={"metadata": {"path": str(exec_dir)}},
                                shutdown_kernel="immediate")
        started = False
        with open(kernel_log, "w") as stderr:
            try:
                with client.setup_kernel(env=env, stderr=stderr, cleanup_kc=True):
                    started = True
                    _run_cells(client, doc, cells, units, timeout)
            except RenderError:
                raise
            except Exception as exc:
                stderr.flush()
                detail = kernel_log.read_text(errors="replace").strip().splitlines()
                reason = f"{type(exc).__name__}: {one_line(exc)}{'; ' + one_line(detail[-1]) if detail else ''}"
                if not started and attempt < KERNEL_START_ATTEMPTS:
                    # Jupyter picks the kernel's TCP ports by binding to port 0 and releasing them; a
                    # kernel started at the same moment (another document's job) can take one first.
                    log.warning("%s: the Python kernel did not start (%s); starting another", doc, reason)
                    continue
                what = "the kernel stopped" if started else "cannot start a Python kernel"
                raise RenderError(f"{doc}: {what} ({reason})") from None
        break
    for (kind, block, _), cell in zip(units, cells[1:]):
        if kind == "chunk":
            block.outputs = list(cell.outputs)
        else:
            texts = [o["data"].get("text/markdown", "") for o in cell.outputs
                     if o.get("output_type") == "display_data"]
            inline_values.append(texts[0].strip() if texts else "")
    return inline_values
