"""A document's kernel that fails to start (e.g. it lost a race for a TCP port to another document's
kernel started at the same moment) is started again; after the last attempt the document fails in one line."""

from __future__ import annotations

import json
import sys

import pytest

from segtarget.report import kernel as K
from segtarget.report.qmd import Chunk, RenderError


def _flaky(monkeypatch, failures: int) -> list[int]:
    """Make the first ``failures`` kernel starts die at once (a kernel process that exits before replying)."""
    real, calls = K._kernel_manager, []

    def manager(tmp):
        km = real(tmp)
        calls.append(1)
        if len(calls) <= failures:  # real() wrote the working kernelspec; this start gets one that dies
            spec = tmp / "kernels" / K.KERNEL_NAME / "kernel.json"
            spec.write_text(json.dumps({"argv": [sys.executable, "-c", "import sys; sys.exit(3)"],
                                        "display_name": "dies", "language": "python"}))
        return km

    monkeypatch.setattr(K, "_kernel_manager", manager)
    return calls


def _run(tmp_path):
    blocks = [Chunk(index=1, code="x = 6 * 7", options={}), "The answer is `{python} x`."]
    return K.execute_chunks("demo.qmd", blocks, {}, tmp_path, tmp_path / "tmp", timeout=120)


def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, monkeypatch):
    calls = _flaky(monkeypatch, failures=1)
    assert _run(tmp_path) == ["42"]
    assert len(calls) == 2


def test_after_the_last_attempt_the_document_fails_in_one_line(tmp_path, monkeypatch):
    calls = _flaky(monkeypatch, failures=K.KERNEL_START_ATTEMPTS)
    with pytest.raises(RenderError, match=r"^demo.qmd: cannot start a Python kernel \(") as err:
        _run(tmp_path)
    assert len(calls) == K.KERNEL_START_ATTEMPTS and "\n" not in str(err.value)
