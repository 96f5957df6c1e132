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
    try:
        run(args)
    except SegtargetError as exc:
        msg = " ".join(str(exc).split())
        for h in logging.getLogger().handlers:
            if isinstance(h, logging.FileHandler):
                h.stream.write(f"error: {msg}\n")
                h.flush()
        print(f"error: {msg}", file=sys.stderr)
        sys.exit(2)
