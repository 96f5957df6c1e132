"""Progress lines: counts, percentage, elapsed and a straight-line estimate of the time left."""

from __future__ import annotations

import logging

from segtarget.core.progress import tracked


def test_progress_lines_count_and_estimate_the_time_left(caplog):
    ticks = iter([0.0, 10.0, 20.0, 25.0, 40.0])  # start, then one reading per item
    with caplog.at_level(logging.INFO, logger="segtarget.progress"):
        out = list(tracked("abcd", 4, "demo: fits", every=15.0, clock=lambda: next(ticks)))
    assert out == list("abcd")  # items pass through unchanged
    lines = [r.getMessage() for r in caplog.records]
    # after 2 of 4 items in 20 s: the next line is due (20 - 0 >= 15), 20 s left at that pace; the last always logs
    assert lines == ["demo: fits: 2/4 (50%), 20 s elapsed, ~20 s left", "demo: fits: 4/4 (100%), 40 s elapsed"]


def test_long_runs_are_stated_in_minutes_and_hours(caplog):
    ticks = iter([0.0, 600.0, 20000.0])
    with caplog.at_level(logging.INFO, logger="segtarget.progress"):
        list(tracked([1, 2], 2, "x", every=0.0, clock=lambda: next(ticks)))
    assert [r.getMessage() for r in caplog.records] == ["x: 1/2 (50%), 10.0 min elapsed, ~10.0 min left",
                                                         "x: 2/2 (100%), 5.6 h elapsed"]
