"""The snapshot store: the latest frame of every feed, as the collector last published it.

The collector writes, pages read; nothing else passes data between them. Each feed has a
`FeedStatus` (when it was last fetched, the last error and its kind, how long the refresh took)
and a version that grows with every good fetch, so a reader can cache whatever it derives from
a frame per version. `MemorySnapshots` is the embedded default; any class with the same methods
(a database shared by several dashboard processes, say) can replace it.

What is stored per feed is the latest good `FrameResult` (ipscape/frames/result.py): the frame,
the rows the tenant sent that it could not use (`Drops`), and for agents why per-agent status is
unavailable. A reader gets a `Snapshot`: a private, shallow copy of the frame and those two, plus
its state measured at the moment of reading ("fresh" within 2 x the interval, then "stale";
"error" when the latest refresh failed, with the last good frame kept; "empty" before the first
fetch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

import pandas as pd

from ipscape.frames import NO_DROPS, Drops, FrameResult, as_result

State = Literal["fresh", "stale", "error", "empty"]


@dataclass(frozen=True)
class FeedStatus:
    """How one feed stands: words safe to show (no secrets, no tenant strings in ``error``)."""

    feed: str
    interval_s: float
    version: int = 0  # good fetches published so far; 0 = none yet
    fetched_at: datetime | None = None  # UTC, the last good fetch
    error: str | None = None  # user-safe reason the latest refresh failed, None after a success
    error_kind: str | None = None  # errors.error_kind: "timeout", "auth", "rate_limited", ...
    error_at: datetime | None = None
    refresh_s: float | None = None  # how long the latest refresh took (good or not)
    failures: int = 0  # failed refreshes in a row

    def state(self, now: datetime) -> State:
        if self.error is not None:
            return "error"
        if self.fetched_at is None:
            return "empty"
        return "stale" if (now - self.fetched_at).total_seconds() > 2 * self.interval_s else "fresh"

    def age_s(self, now: datetime) -> float | None:
        if self.fetched_at is None:
            return None
        return max(0.0, (now - self.fetched_at).total_seconds())


@dataclass(frozen=True)
class Snapshot:
    """What a page gets: a private copy of the frame plus how fresh it is and why not, and what
    the tenant sent that the frame could not use."""

    feed: str
    frame: pd.DataFrame
    fetched_at: datetime | None  # UTC time of the last good fetch
    state: State
    error: str | None  # user-safe reason the latest refresh failed
    error_at: datetime | None
    interval_s: float
    taken_at: datetime
    version: int = 0
    drops: Drops = NO_DROPS  # rows of the latest good fetch left out, by reason
    unavailable: str | None = None  # agents: why per-agent status could not be read

    @property
    def age_s(self) -> float | None:
        if self.fetched_at is None:
            return None
        return max(0.0, (self.taken_at - self.fetched_at).total_seconds())

    @property
    def has_data(self) -> bool:
        """A good fetch happened (its frame may still be empty: no voicemail is data too)."""
        return self.fetched_at is not None


def snapshot_of(
    status: FeedStatus,
    published: FrameResult | None,
    now: datetime,
    empty: pd.DataFrame | Callable[[], pd.DataFrame],
) -> Snapshot:
    """The reader's view of ``published`` under ``status`` at ``now`` (``empty`` before any;
    a callable is only called then: readers ask many times a minute, and building an empty
    typed frame costs more than the rest of a read)."""
    if published is None:
        published = FrameResult(empty() if callable(empty) else empty)
    result = published
    shown = result.frame
    return Snapshot(
        feed=status.feed,
        # Copy-on-write makes a shallow copy private to the reader and cheap.
        frame=shown.copy(deep=False),
        fetched_at=status.fetched_at,
        state=status.state(now),
        error=status.error,
        error_at=status.error_at,
        interval_s=status.interval_s,
        taken_at=now,
        version=status.version,
        drops=result.drops,
        unavailable=result.unavailable,
    )


class SnapshotStore(Protocol):
    """Latest result and status per feed. Writers are the collector's refresh threads."""

    def publish(self, status: FeedStatus, published: FrameResult | pd.DataFrame) -> FeedStatus:
        """Store ``published`` as the feed's latest good data (a bare frame is a result without
        drops); returns the status with its new version (the store numbers versions, so a
        successor collector continues them)."""
        ...

    def report(self, status: FeedStatus) -> None:
        """Store a status without new data (a failed refresh: the last good frame stays)."""
        ...

    def status(self, feed: str) -> FeedStatus | None:
        """The feed's latest status, cheap (no frame), None when nothing was stored yet."""
        ...

    def read(self, feed: str) -> tuple[FeedStatus | None, FrameResult | None]:
        """The feed's status and latest good result (shared: readers must not modify its
        frame)."""
        ...

    def statuses(self) -> dict[str, FeedStatus]:
        """Every feed's status, for health and metrics."""
        ...

    def wait(self, feed: str, newer_than: int, timeout_s: float) -> FeedStatus | None:
        """Block until the feed has a version above ``newer_than`` or an error, at most
        ``timeout_s``; returns the status then (None if nothing was stored)."""
        ...

    def close(self) -> None: ...


class Service(Protocol):
    """Something that runs in the background beside the readers (a follower, a collector)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class CollectorInfo(Protocol):
    """Which process polls the tenant (the holder of the collector lease) and since when."""

    @property
    def holder(self) -> str: ...

    @property
    def since(self) -> datetime | None: ...


class MemorySnapshots:
    """Snapshots in this process's memory (the embedded default). Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._status: dict[str, FeedStatus] = {}
        self._results: dict[str, FrameResult] = {}

    def publish(self, status: FeedStatus, published: FrameResult | pd.DataFrame) -> FeedStatus:
        with self._cond:
            previous = self._status.get(status.feed)
            version = (previous.version if previous is not None else 0) + 1
            stored = replace(status, version=version)
            self._status[status.feed] = stored
            self._results[status.feed] = as_result(published)
            self._cond.notify_all()
            return stored

    def copy(self, status: FeedStatus, published: FrameResult | pd.DataFrame) -> None:
        """Store another store's version as it is, its number included: a replica's copy
        (ipscape/replica.py) then says what the shared store says, in health and metrics too,
        however many versions it skipped between two checks."""
        with self._cond:
            self._status[status.feed] = status
            self._results[status.feed] = as_result(published)
            self._cond.notify_all()

    def report(self, status: FeedStatus) -> None:
        with self._cond:
            previous = self._status.get(status.feed)
            version = previous.version if previous is not None else 0
            self._status[status.feed] = replace(status, version=version)
            self._cond.notify_all()

    def status(self, feed: str) -> FeedStatus | None:
        with self._cond:
            return self._status.get(feed)

    def read(self, feed: str) -> tuple[FeedStatus | None, FrameResult | None]:
        with self._cond:
            return self._status.get(feed), self._results.get(feed)

    def statuses(self) -> dict[str, FeedStatus]:
        with self._cond:
            return dict(self._status)

    def wait(self, feed: str, newer_than: int, timeout_s: float) -> FeedStatus | None:
        def arrived() -> bool:
            status = self._status.get(feed)
            return status is not None and (status.version > newer_than or status.error is not None)

        with self._cond:
            self._cond.wait_for(arrived, timeout=timeout_s)
            return self._status.get(feed)

    def close(self) -> None:
        """Nothing to release; the frames go with the process."""


__all__: Sequence[str] = (
    "CollectorInfo",
    "FeedStatus",
    "MemorySnapshots",
    "Service",
    "Snapshot",
    "SnapshotStore",
    "State",
    "snapshot_of",
)
