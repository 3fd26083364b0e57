"""Time as the collector sees it: POSIX seconds from a clock callable, and "today".

Production uses ``time.time`` (or, for the demo, the embedded simulator's own clock); tests and
benchmarks pass a `ManualClock` and move time by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

# POSIX seconds, ``time.time`` in production.
Clock = Callable[[], float]


def utc_from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class ManualClock:
    """A clock that moves only when told to, for tests and benchmarks."""

    def __init__(self, start: float | datetime = 1_750_000_000.0) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def start_of_day(now: datetime, timezone: str) -> datetime:
    """Local midnight of ``now`` in ``timezone``, as an aware datetime: "today" everywhere
    (pages, the wall, drill-down, the CLI, the activities window)."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(timezone))
