"""Time as the collector sees it: POSIX seconds from a clock callable, and "today".

Production uses ``time.time`` (or, for the demo, the embedded simulator's own clock); tests and
benchmarks pass a `ManualClock` and move time by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
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


def local_days(since: datetime, until: datetime, timezone: str) -> list[tuple[datetime, datetime]]:
    """[since, until) cut at local midnights in ``timezone``, oldest first, so that each past
    day can be read (and kept) on its own: it no longer changes."""
    pieces: list[tuple[datetime, datetime]] = []
    start = since
    while start < until:
        end = min(next_midnight(start, timezone), until)
        pieces.append((start, end))
        start = end
    return pieces


def next_midnight(now: datetime, timezone: str) -> datetime:
    """The local midnight after ``now`` in ``timezone``: when its day ends."""
    zone = ZoneInfo(timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone)
