"""Progress lines for long loops, so that a user watching ``logs/`` or the terminal knows a run is alive.

A stage that refits models hundreds of times (bootstraps, refutations, CATE learners, stability
resamples) can run for minutes without a word. :func:`tracked` wraps the loop's iterable and logs,
at most every ``every`` seconds and once at the end, how many items are done, the elapsed time and
an estimate of the time left (elapsed / done x remaining: a straight-line guess, stated as such with
"~"). With ``joblib.Parallel(..., return_as="generator")`` the results arrive in order as they are
computed, so the same wrapper reports parallel work.

Examples
--------
>>> import logging
>>> out = list(tracked(range(3), 3, "demo", every=0.0))
>>> out
[0, 1, 2]
"""

from __future__ import annotations

import logging
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
log = logging.getLogger("segtarget.progress")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def tracked(items: Iterable[T], total: int, label: str, *, every: float = 15.0, logger: logging.Logger | None = None,
            clock=time.monotonic) -> Iterator[T]:
    """Yield ``items`` unchanged, logging ``label: done/total (pct), elapsed, ~left`` every ``every`` seconds.

    Parameters
    ----------
    items : the loop's iterable (a list, a generator, a joblib generator of results).
    total : how many items there are (for the percentage and the estimate).
    label : what is being counted, e.g. ``"ate: bootstrap resamples"``.
    every : seconds between two progress lines (0 = every item); the last item always logs.
    logger : where to log (default ``segtarget.progress``, which the stages' ``--log`` file receives).
    """
    out = logger or log
    start = last = clock()
    done = 0
    for item in items:
        yield item
        done += 1
        now = clock()
        if done == total or now - last >= every:
            last = now
            elapsed = now - start
            left = elapsed / done * (total - done) if done and total > done else 0.0
            out.info("%s: %d/%d (%.0f%%), %s elapsed%s", label, done, total, 100.0 * done / max(total, 1),
                     _duration(elapsed), f", ~{_duration(left)} left" if total > done else "")
