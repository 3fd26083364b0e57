"""The reader side of a scaled deployment: a dashboard replica that does not poll the tenant.

A collector elsewhere (``python -m ipscape collect``) publishes to a shared snapshot store (a
database). A replica keeps a local copy: `SnapshotFollower` reads each new version once, when
the store announces one (or at the latest every ``check_every_s``), into an in-process
`MemorySnapshots` that pages read. So the database's reads grow with the versions published,
not with the viewers; and when the database is down, pages keep the last snapshot they had and
every page says why, until the follower gets through again by itself.

`CachedHistory` does the same for history reads: one read per distinct question per ``ttl_s``,
however many viewers' trend charts ask it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
from cachetools import TTLCache

from ipscape.errors import user_message
from ipscape.history import HistoryStatus, HistoryStore
from ipscape.snapshots import CollectorInfo, FeedStatus, MemorySnapshots, SnapshotStore

log = logging.getLogger(__name__)

# A replica checks the store at least this often, notification or not (a lost NOTIFY, a store
# with none): the worst added delay for a new version.
CHECK_EVERY_S = 2.0
# After a failed read, the next try comes this long later, doubling up to the cap.
RETRY_S = 1.0
RETRY_MAX_S = 10.0
STOP_JOIN_S = 5.0
# A trend read is shared by every viewer for this long.
HISTORY_TTL_S = 10.0
HISTORY_CACHE_SIZE = 256


class Changes(Protocol):
    """Announcements of new versions (PostgreSQL LISTEN/NOTIFY, say)."""

    def wait(self, timeout_s: float) -> bool:
        """True when something changed (or may have), False after ``timeout_s`` of silence.
        Never raises: a lost connection reads as silence and is reconnected by itself."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StoreProblem:
    """Why the replica's data may be behind: words safe to show, and since when (UTC)."""

    reason: str
    since: datetime


class SnapshotFollower:
    """Copies every new version of ``source`` into ``local`` (which pages read), once."""

    def __init__(
        self,
        source: SnapshotStore,
        local: MemorySnapshots,
        *,
        changes: Changes | None = None,
        check_every_s: float = CHECK_EVERY_S,
        clock: Callable[[], float] = time.time,
        prepare: Callable[[], object] | None = None,
        leader: Callable[[], CollectorInfo | None] | None = None,
    ) -> None:
        self.source = source
        # Run before the first read until it succeeds once (creating the schema of a database
        # that was down when this process started, say).
        self._prepare = prepare
        # Which process polls, read with each status check and kept here, so a footer on every
        # viewer's page reads memory, not the database.
        self._leader = leader
        self._active: CollectorInfo | None = None
        self.local = local
        self.changes = changes
        self.check_every_s = check_every_s
        self._clock = clock
        self._seen: dict[str, FeedStatus] = {}
        self._problem: StoreProblem | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.frame_reads = 0  # frames read from the source (each new version once)
        self.status_reads = 0  # status checks (one query each)

    # -- one pass ------------------------------------------------------------------------------
    def sync(self) -> list[str]:
        """Copy what changed in the source; returns the feeds whose frame was read. Raises what
        the source raises (the loop turns it into `problem`)."""
        if self._prepare is not None:
            self._prepare()
            self._prepare = None
        statuses = self.source.statuses()
        self.status_reads += 1
        if self._leader is not None:
            active = self._leader()
            with self._lock:
                self._active = active
        copied = []
        for feed, status in sorted(statuses.items()):
            seen = self._seen.get(feed)
            if seen is None or status.version > seen.version:
                fresh, result = self.source.read(feed)
                self.frame_reads += 1
                if fresh is None:
                    continue
                if result is None:
                    self.local.report(fresh)
                else:
                    self.local.copy(fresh, result)  # the frame with its drops, same version
                    copied.append(feed)
                self._seen[feed] = fresh
            elif status != seen:
                self.local.report(status)  # an error or a recovery without a new frame
                self._seen[feed] = status
        return copied

    def problem(self) -> StoreProblem | None:
        with self._lock:
            return self._problem

    def active_collector(self) -> CollectorInfo | None:
        """The lease holder as of the last check (None before it, or when none holds it)."""
        with self._lock:
            return self._active

    # -- the loop ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="snapshot-follower", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        delay = RETRY_S
        while not self._stopping.is_set():
            try:
                self.sync()
            except Exception as exc:  # the store is down or broken: keep what we have
                self._failed(exc)
                self._stopping.wait(delay)
                delay = min(2 * delay, RETRY_MAX_S)
                continue
            delay = RETRY_S
            self._recovered()
            if self.changes is not None:
                self.changes.wait(self.check_every_s)
            else:
                self._stopping.wait(self.check_every_s)

    def _failed(self, exc: Exception) -> None:
        reason = user_message(exc)
        with self._lock:
            if self._problem is None:
                log.warning("snapshot store unreadable, keeping the last data: %s", reason)
                self._problem = StoreProblem(reason, datetime.fromtimestamp(self._clock(), UTC))
            elif self._problem.reason != reason:
                self._problem = StoreProblem(reason, self._problem.since)

    def _recovered(self) -> None:
        with self._lock:
            if self._problem is not None:
                log.info("snapshot store readable again")
            self._problem = None

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if self.changes is not None:
            self.changes.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_S)


class CachedHistory:
    """A history store whose reads are shared for ``ttl_s`` (writes pass straight through)."""

    def __init__(
        self,
        store: HistoryStore,
        *,
        ttl_s: float = HISTORY_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._cache: TTLCache[Hashable, pd.DataFrame] = TTLCache(
            maxsize=HISTORY_CACHE_SIZE, ttl=ttl_s, timer=clock
        )

    def _read(self, key: Hashable, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        with self._lock:
            held = self._cache.get(key)
        if held is None:
            held = read()
            with self._lock:
                self._cache[key] = held
        return held.copy(deep=False)

    def status(self) -> HistoryStatus:
        return self.store.status()

    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None:
        self.store.append_campaigns(frame, at)

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None:
        self.store.append_agent_states(frame, at)

    def append_activities(self, frame: pd.DataFrame) -> None:
        self.store.append_activities(frame)

    def campaign_history(
        self,
        since: datetime,
        campaign_ids: Sequence[int] | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame:
        key = ("campaigns", since, None if campaign_ids is None else tuple(campaign_ids), until)
        return self._read(key, lambda: self.store.campaign_history(since, campaign_ids, until))

    def agent_state_history(self, since: datetime, until: datetime | None = None) -> pd.DataFrame:
        return self._read(
            ("agents", since, until), lambda: self.store.agent_state_history(since, until)
        )

    def activity_history(self, since: datetime, until: datetime | None = None, **filters: Any):
        key = ("activities", since, until, tuple(sorted(filters.items())))
        return self._read(key, lambda: self.store.activity_history(since, until, **filters))

    def prune(self, now: datetime | None = None) -> int:
        return self.store.prune(now)

    def close(self) -> None:
        self.store.close()


__all__: Sequence[str] = ("CachedHistory", "Changes", "SnapshotFollower", "StoreProblem")
