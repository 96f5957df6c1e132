"""Shared command-line plumbing for the thin stage scripts in ``scripts/``.

Each script builds an :class:`argparse.ArgumentParser` with :func:`parser`, does its work
in a function, and hands that function to :func:`main`, which sets up logging and turns a
:class:`~segtarget.core.errors.SegtargetError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from typing import Callable

from segtarget.core.errors import SegtargetError

log = logging.getLogger("segtarget")


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every stage shares (--params, --log)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="parameter file (default: params.yaml)")
    p.add_argument("--log", default=None, help="also write the log to this file")
    return p


def _setup_logging(log_file: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        os.makedirs(os.path.dirname(log_file) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(run: Callable[[argparse.Namespace], None], ap: argparse.ArgumentParser, argv=None) -> None:
    """Parse arguments, run the stage, and exit 2 with one line on a user error."""
    args = ap.parse_args(argv)
    _setup_logging(args.log)
    stage, start = os.path.splitext(ap.prog)[0], time.monotonic()
    # The log file is non-empty from the first second, so whoever watches logs/ sees the stage is alive
    # (the terminal is left to the stage's own lines and, on a user error, the one error line).
    _to_log_file(logging.INFO, f"{stage}: started")
    try:
        run(args)
    except SegtargetError as exc:
        msg = " ".join(str(exc).split())
        _to_log_file(logging.ERROR, f"error: {msg}")
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)
    _to_log_file(logging.INFO, f"{stage}: finished in {time.monotonic() - start:.1f} s")


def _to_log_file(level: int, msg: str) -> None:
    """Write ``msg`` to the ``--log`` file only (not to stderr)."""
    record = logging.makeLogRecord({"name": log.name, "levelno": level, "levelname": logging.getLevelName(level),
                                    "msg": msg})
    for h in logging.getLogger().handlers:
        if isinstance(h, logging.FileHandler):
            h.handle(record)
            h.flush()
