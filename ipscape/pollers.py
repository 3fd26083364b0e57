"""One feed's refresh machinery: when to fetch, one fetch at a time, and what a failure means.

A `Poller` owns a fetch function and decides when it runs: on a fixed-rate schedule (interval
plus jitter, anchored to the previous due time so lateness does not accumulate), backing off
after a failure (doubling, capped, lengthened by a 429's Retry-After), and giving up a fetch
still running past its deadline. It never raises to a reader: a failed refresh keeps the last
good frame and says why in user-safe words (stale-if-error).

Who starts a refresh:
- the collector (ipscape/collector.py) calls `Poller.start_if_due` on its own schedule for the
  live feeds, whatever the number of viewers, and pages read the snapshot store it publishes to;
- a drill-down query poller refreshes when read (`Poller.snapshot`): it exists only while someone
  asks that question, and every reader of the same question shares it.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeAlias, TypedDict

import pandas as pd

from ipscape.clock import Clock, utc_from_timestamp
from ipscape.config import PollConfig
from ipscape.errors import ApiTimeoutError, RateLimitedError, error_kind, user_message
from ipscape.frames import FrameResult, as_result
from ipscape.snapshots import FeedStatus, Snapshot, snapshot_of

log = logging.getLogger(__name__)

# How long a background refresh may keep close() waiting; the client's own timeout ends it anyway.
CLOSE_JOIN_S = 2.0
# A reader that finds data past stale waits this long for the refresh it started (real seconds).
IDLE_REFRESH_WAIT_S = 3.0
# A reader with nothing to show waits this long for the first fetch, then shows "waiting".
FIRST_DATA_WAIT_S = 10.0
# A refresh still running this long past its poll deadline is given up as stuck.
STUCK_GRACE_S = 5.0

# Called with the feed's status and the result to show (None: a failure with nothing new to show).
Publish = Callable[[FeedStatus, "FrameResult | None"], None]
# What a fetch returns: a builder's result, or a bare frame (a result without drops).
Fetched: TypeAlias = FrameResult | pd.DataFrame


class PollerOptions(TypedDict):
    """What every poller of one tenant shares, from ``dashboard.toml``'s ``[poll]``."""

    jitter_s: float
    error_backoff_s: float
    error_backoff_max_s: float
    clock: Clock
    deadline_s: float | None


def poller_options(poll: PollConfig, clock: Clock, deadline_s: float | None) -> PollerOptions:
    return PollerOptions(
        jitter_s=poll.jitter_s,
        error_backoff_s=poll.error_backoff_s,
        error_backoff_max_s=poll.error_backoff_max_s,
        clock=clock,
        deadline_s=deadline_s,
    )


def poll_deadline_s(timeout_s: float, poll: PollConfig) -> float:
    """How long one poll may take: three whole requests' deadlines (a request's is twice the
    timeout), and never less than the shortest interval, so a big first fetch can finish."""
    return max(6 * timeout_s, min(poll.campaigns_s, poll.agents_s, poll.activities_s))


class Poller:
    """One feed: a frame refreshed once per interval (plus jitter), by one background thread at
    a time, with stale-if-error.

    ``fetch`` returns a `FrameResult` (or a bare frame) and may raise anything: the poller never
    raises to a reader. After each refresh, on the refresh thread and before waiting readers
    wake: ``on_fresh(result, at)`` after a good one (history appends live there), then
    ``publish(status, result)`` (the snapshot store), with ``result`` None after a failure that
    has nothing new to show. A fetch that fails with an error carrying a ``partial`` result or
    frame (a listing cut short) shows that with the error.
    A refresh that runs past ``deadline_s`` (plus a grace) is given up: it is reported as "did
    not answer in time" and a late result is dropped, so a stuck fetch never blocks the next one.
    """

    def __init__(
        self,
        feed: str,
        fetch: Callable[[], Fetched],
        *,
        interval_s: float,
        jitter_s: float = 0.0,
        error_backoff_s: float = 15.0,
        error_backoff_max_s: float = 120.0,
        clock: Clock = time.time,
        on_fresh: Callable[[FrameResult, datetime], None] | None = None,
        publish: Publish | None = None,
        empty_frame: pd.DataFrame | None = None,
        rng: random.Random | None = None,
        deadline_s: float | None = None,
        first_wait_s: float = FIRST_DATA_WAIT_S,
    ) -> None:
        if interval_s <= 0 or jitter_s < 0 or error_backoff_s <= 0:
            raise ValueError("interval_s and error_backoff_s must be > 0, jitter_s >= 0")
        self.feed = feed
        self.interval_s = float(interval_s)
        self.jitter_s = float(jitter_s)
        self.error_backoff_s = float(error_backoff_s)
        self.error_backoff_max_s = max(float(error_backoff_max_s), self.error_backoff_s)
        self.deadline_s = deadline_s
        self.first_wait_s = first_wait_s
        self._fetch = fetch
        self._clock = clock
        self._on_fresh = on_fresh
        self._publish = publish
        self._rng = rng or random.Random()
        self._empty = empty_frame if empty_frame is not None else pd.DataFrame()
        self._cond = threading.Condition()
        self._result: FrameResult | None = None
        self._fetched_at: float | None = None
        self._error: str | None = None
        self._error_kind: str | None = None
        self._error_at: float | None = None
        self._refresh_s: float | None = None
        self._failures = 0
        self._version = 0
        # When (on ``clock``) the next refresh is due, and when the last one ended.
        self._due_at = -math.inf
        self._ended_at: float | None = None
        self._worker: threading.Thread | None = None
        self._worker_started = 0.0  # time.monotonic(): a stuck worker is judged in real time
        self._generation = 0  # a worker whose generation is not current has been given up
        self._closed = False

    # -- readers -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest data, refreshed on read: starts (at most one) refresh when it is due.
        For pollers nobody schedules (drill-down queries). Never raises."""
        with self._cond:
            started = self._start_if_due_locked()
            if self._closed:
                return self._snapshot_locked()
            if self._fetched_at is None and self._error is None:
                # Nothing to show yet: wait a bounded moment for the first fetch, then say so.
                self._cond.wait_for(
                    lambda: self._fetched_at is not None or self._error is not None,
                    timeout=self.first_wait_s,
                )
            elif started and self._error is None and self._is_stale_locked():
                # Nobody has looked for a while: the data is past stale, but a refresh is
                # usually a moment away. Wait briefly for it rather than flash "STALE".
                version = self._version
                self._cond.wait_for(
                    lambda: self._version != version or self._error is not None,
                    timeout=IDLE_REFRESH_WAIT_S,
                )
            return self._snapshot_locked()

    def start_if_due(self) -> bool:
        """Start a refresh when one is due and none is running; True if this call started it.
        The collector's schedule calls this; it never waits."""
        with self._cond:
            return self._start_if_due_locked()

    def due_in(self) -> float:
        """Seconds (on the clock) until the next refresh is due: 0 when due now, infinity while
        one runs or after close."""
        with self._cond:
            if self._closed or self._running_locked():
                return math.inf
            return max(0.0, self._due_at - self._clock())

    def refresh(self, min_age_s: float = 0.0) -> Snapshot:
        """Fetch now, ignoring the interval (joins a fetch already in flight instead of adding
        one) and wait for it, at most its deadline. With ``min_age_s``, data fetched more
        recently than that is recent enough: no new fetch (decided under the poller's lock, so
        callers racing each other cannot start one each)."""
        with self._cond:
            recent = self._fetched_at is not None and self._clock() - self._fetched_at < min_age_s
            if not self._closed and not self._running_locked() and not recent:
                self._start_locked()
            worker = self._worker
        if worker is not None:
            worker.join(None if self.deadline_s is None else self.deadline_s + STUCK_GRACE_S)
        with self._cond:
            return self._snapshot_locked()

    @property
    def version(self) -> int:
        """Counts good fetches; derived views cache on it."""
        with self._cond:
            return self._version

    @property
    def last_error(self) -> str | None:
        """User-safe reason the latest refresh failed, None after a success."""
        with self._cond:
            return self._error

    def status(self) -> FeedStatus:
        with self._cond:
            return self._status_locked()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a background refresh in flight, if any (tests, shutdown)."""
        with self._cond:
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def close(self) -> None:
        """No more refreshes; readers keep getting the last snapshot."""
        with self._cond:
            self._closed = True
        self.join(CLOSE_JOIN_S)

    # -- refresh path --------------------------------------------------------------------------
    def _start_if_due_locked(self) -> bool:
        if self._closed:
            return False
        now = self._clock()
        if self._ended_at is not None and self._ended_at > now + 1:
            # The wall clock stepped back: don't let a due time in the future pin the data.
            self._due_at = now
        if self._running_locked() or now < self._due_at:
            return False
        self._start_locked()
        return True

    def _running_locked(self) -> bool:
        """True while a worker runs; a worker past its deadline is given up here."""
        worker = self._worker
        if worker is None or not worker.is_alive():
            return False
        if self.deadline_s is None:
            return True
        if time.monotonic() - self._worker_started < self.deadline_s + STUCK_GRACE_S:
            return True
        self._generation += 1  # whatever it returns later is dropped
        self._worker = None
        self._fail_locked(
            ApiTimeoutError(f"{self.feed}: the refresh did not finish within its deadline")
        )
        log.warning("%s: refresh still running past its deadline; given up", self.feed)
        status = self._status_locked()
        if self._publish is not None:
            # Under the lock, rarely: the store must hear that this feed is failing.
            self._publish(status, None)
        return False

    def _start_locked(self) -> None:
        self._generation += 1
        self._worker = threading.Thread(
            target=self._run, args=(self._generation,), name=f"poller-{self.feed}", daemon=True
        )
        self._worker_started = time.monotonic()
        self._worker.start()

    def _run(self, generation: int) -> None:
        started = self._clock()
        began = time.monotonic()
        shown: FrameResult | None = None
        good: FrameResult | None = None
        try:
            fetched = self._fetch()
            if not isinstance(fetched, (FrameResult, pd.DataFrame)):
                raise TypeError(f"{self.feed} fetch returned {type(fetched).__name__}")
            result = as_result(fetched)
        except Exception as exc:  # a poller never raises to a page
            partial = getattr(exc, "partial", None)
            with self._cond:
                if generation != self._generation:
                    return
                self._refresh_s = time.monotonic() - began
                if isinstance(partial, (FrameResult, pd.DataFrame)):
                    shown = as_result(partial)
                    self._publish_locked(shown)
                self._fail_locked(exc)
                status = self._status_locked()
        else:
            with self._cond:
                if generation != self._generation:
                    log.info("%s: a refresh given up earlier returned; dropped", self.feed)
                    return
                self._refresh_s = time.monotonic() - began
                now = self._publish_locked(result)
                self._error = self._error_kind = self._error_at = None
                self._failures = 0
                self._ended_at = now
                self._due_at = self._next_due(started, now)
                status = self._status_locked()
            shown = good = result
        self._after_refresh(generation, status, shown, good)
        log.debug("%s refreshed in %.2f s", self.feed, status.refresh_s or 0.0)

    def _after_refresh(
        self,
        generation: int,
        status: FeedStatus,
        shown: FrameResult | None,
        good: FrameResult | None,
    ) -> None:
        """Hooks on the refresh thread, then wake readers and free the next refresh. Readers
        woken here see the history and the published snapshot of what they waited for."""
        if good is not None and self._on_fresh is not None and status.fetched_at is not None:
            try:
                self._on_fresh(good, status.fetched_at)
            except Exception as exc:  # history trouble must not cost the live tiles
                log.warning("%s: after-refresh hook failed: %s", self.feed, user_message(exc))
        if self._publish is not None:
            try:
                self._publish(status, shown)
            except Exception as exc:
                log.warning("%s: publishing the snapshot failed: %s", self.feed, user_message(exc))
        with self._cond:
            if generation == self._generation:
                self._worker = None  # done: the next due refresh may start at once
            self._cond.notify_all()

    def _next_due(self, started: float, now: float) -> float:
        """Fixed rate: one interval after the previous due time (so a late start does not push
        every later poll back), or after this start when far behind; plus jitter."""
        base = self._due_at + self.interval_s
        if (
            not math.isfinite(base)
            or base < started - self.interval_s
            or base > now + self.interval_s
        ):
            base = started + self.interval_s
        return base + self._rng.uniform(0, self.jitter_s)

    def _publish_locked(self, result: FrameResult) -> float:
        now = self._clock()
        self._result = result
        self._fetched_at = now
        self._version += 1
        return now

    def _fail_locked(self, exc: Exception) -> None:
        now = self._clock()
        message = user_message(exc)
        self._failures += 1
        backoff = min(self.error_backoff_s * 2 ** (self._failures - 1), self.error_backoff_max_s)
        if isinstance(exc, RateLimitedError) and exc.retry_after_s:
            backoff = max(backoff, min(exc.retry_after_s, self.error_backoff_max_s))
        self._error = message
        self._error_kind = error_kind(exc)
        self._error_at = now
        self._ended_at = now
        self._due_at = now + backoff
        log.warning("%s refresh failed (retry in %.0f s): %s", self.feed, backoff, message)

    def _is_stale_locked(self) -> bool:
        return (
            self._fetched_at is not None and self._clock() - self._fetched_at > 2 * self.interval_s
        )

    def _status_locked(self) -> FeedStatus:
        return FeedStatus(
            feed=self.feed,
            interval_s=self.interval_s,
            version=self._version,
            fetched_at=None if self._fetched_at is None else utc_from_timestamp(self._fetched_at),
            error=self._error,
            error_kind=self._error_kind,
            error_at=None if self._error_at is None else utc_from_timestamp(self._error_at),
            refresh_s=self._refresh_s,
            failures=self._failures,
        )

    def _snapshot_locked(self) -> Snapshot:
        return snapshot_of(
            self._status_locked(), self._result, utc_from_timestamp(self._clock()), self._empty
        )


__all__: Sequence[str] = ("Poller", "PollerOptions", "poll_deadline_s", "poller_options")
