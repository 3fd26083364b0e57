"""Process-wide cached pollers: the only place that decides when the tenant is asked for data.

Every page reads snapshots from here, never from the client, so upstream load does not grow with
viewers (DESIGN rule 1): a feed is fetched at most once per interval whatever the number of
readers. A reader that finds the data expired gets the previous snapshot while one background
thread refreshes it (stale-while-revalidate); only a reader with nothing at all to show waits, a
bounded moment, for the one fetch in flight. A failed refresh keeps the last good frame, says why
in user-safe words, and backs off before the next try (stale-if-error). Every refresh runs in a
request scope (``ipscape.client.request_scope``): its feed's lane of the request budget and a
deadline for the whole poll, so a tenant that trickles or loops cannot hold a feed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import pandas as pd
from cachetools import LRUCache, TTLCache, cached

from ipscape import feeds, frames
from ipscape.activities import ActivityWindow
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient, request_scope
from ipscape.clock import Clock, utc_from_timestamp
from ipscape.config import DashboardConfig, PollConfig
from ipscape.errors import ApiTimeoutError, PaginationError, RateLimitedError, user_message
from ipscape.history import HistoryStore, ResilientHistory, SQLiteHistory
from ipscape.settings import Settings

log = logging.getLogger(__name__)

State = Literal["fresh", "stale", "error", "empty"]

QUERY_CACHE_SIZE = 64
MEDIA_CACHE_BYTES = 64 * 1024 * 1024
# How long a background refresh may keep close() waiting; the client's own timeout ends it anyway.
CLOSE_JOIN_S = 2.0
# A reader that finds data past stale waits this long for the refresh it started (real seconds).
IDLE_REFRESH_WAIT_S = 3.0
# A reader with nothing to show waits this long for the first fetch, then shows "waiting".
FIRST_DATA_WAIT_S = 10.0
# A refresh still running this long past its poll deadline is given up as stuck.
STUCK_GRACE_S = 5.0
# The request-budget lane of drill-down queries and media, and the share of the budget kept for it.
QUERY_LANE = "queries"
QUERY_SHARE = 0.1


def poll_deadline_s(timeout_s: float, poll: PollConfig) -> float:
    """How long one poll may take: three whole requests' deadlines (a request's is twice the
    timeout), and never less than the shortest interval, so a big first fetch can finish."""
    return max(6 * timeout_s, min(poll.campaigns_s, poll.agents_s, poll.activities_s))


@dataclass(frozen=True)
class Snapshot:
    """What a page gets: a private copy of the frame plus how fresh it is and why not."""

    feed: str
    frame: pd.DataFrame
    fetched_at: datetime | None  # UTC time of the last good fetch
    state: State
    error: str | None  # user-safe reason the latest refresh failed
    error_at: datetime | None
    interval_s: float
    taken_at: datetime

    @property
    def age_s(self) -> float | None:
        if self.fetched_at is None:
            return None
        return max(0.0, (self.taken_at - self.fetched_at).total_seconds())

    @property
    def has_data(self) -> bool:
        """A good fetch happened (its frame may still be empty: no voicemail is data too)."""
        return self.fetched_at is not None


class Poller:
    """One feed: a frame refreshed at most once per interval (plus jitter), by one background
    thread at a time, with stale-if-error.

    ``fetch`` may raise anything: the poller never raises to a reader. ``on_fresh(frame, at)``
    runs on the refresh path after each good fetch (history appends live there, not on readers).
    A refresh that runs past ``deadline_s`` (plus a grace) is given up: it is reported as "did not
    answer in time" and a late result is dropped, so a stuck fetch never blocks the next one.
    A fetch that fails with an error carrying a ``partial`` DataFrame (a listing cut short) shows
    that frame with the error.
    """

    def __init__(
        self,
        feed: str,
        fetch: Callable[[], pd.DataFrame],
        *,
        interval_s: float,
        jitter_s: float = 0.0,
        error_backoff_s: float = 15.0,
        error_backoff_max_s: float = 120.0,
        clock: Clock = time.time,
        on_fresh: Callable[[pd.DataFrame, datetime], None] | None = None,
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
        self._rng = rng or random.Random()
        self._empty = empty_frame if empty_frame is not None else pd.DataFrame()
        self._cond = threading.Condition()
        self._frame: pd.DataFrame | None = None
        self._fetched_at: float | None = None
        self._error: str | None = None
        self._error_at: float | None = None
        self._failures = 0
        self._version = 0
        # When (on ``clock``) the next refresh is due, and when the last one ended.
        self._due_at = float("-inf")
        self._ended_at: float | None = None
        self._worker: threading.Thread | None = None
        self._worker_started = 0.0  # time.monotonic(): a stuck worker is judged in real time
        self._generation = 0  # a worker whose generation is not current has been given up
        self._closed = False

    # -- readers -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest data; starts (at most one) refresh when it is due. Never raises."""
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

    def refresh(self) -> Snapshot:
        """Fetch now, ignoring the interval (joins a fetch already in flight instead of adding
        one) and wait for it, at most its deadline."""
        with self._cond:
            if not self._closed and not self._running_locked():
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
        """Start a refresh when one is due and none is running; True if this call started it."""
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
        try:
            frame = self._fetch()
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"{self.feed} fetch returned {type(frame).__name__}")
        except Exception as exc:  # a poller never raises to a page
            with self._cond:
                if generation == self._generation:
                    partial = getattr(exc, "partial", None)
                    if isinstance(partial, pd.DataFrame):
                        self._publish_locked(partial)
                    self._fail_locked(exc)
                    self._worker = None
                    self._cond.notify_all()
            return
        with self._cond:
            if generation != self._generation:
                log.info("%s: a refresh given up earlier returned; dropped", self.feed)
                return
            now = self._publish_locked(frame)
            self._error = None
            self._error_at = None
            self._failures = 0
            self._ended_at = now
            self._due_at = now + self.interval_s + self._rng.uniform(0, self.jitter_s)
        if self._on_fresh is not None:
            # Before waiting readers are woken, so one that waited for new data sees its history.
            try:
                self._on_fresh(frame, utc_from_timestamp(now))
            except Exception as exc:  # history trouble must not cost the live tiles
                log.warning("%s: after-refresh hook failed: %s", self.feed, user_message(exc))
        with self._cond:
            if generation == self._generation:
                self._worker = None  # done: the next due refresh may start at once
            self._cond.notify_all()
        log.debug("%s refreshed in %.2f s", self.feed, now - started)

    def _publish_locked(self, frame: pd.DataFrame) -> float:
        now = self._clock()
        self._frame = frame
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
        self._error_at = now
        self._ended_at = now
        self._due_at = now + backoff
        log.warning("%s refresh failed (retry in %.0f s): %s", self.feed, backoff, message)

    def _is_stale_locked(self) -> bool:
        return (
            self._fetched_at is not None and self._clock() - self._fetched_at > 2 * self.interval_s
        )

    def _snapshot_locked(self) -> Snapshot:
        now = self._clock()
        frame = self._frame if self._frame is not None else self._empty
        if self._error is not None:
            state: State = "error"
        elif self._fetched_at is None:
            state = "empty"
        elif now - self._fetched_at > 2 * self.interval_s:
            state = "stale"
        else:
            state = "fresh"
        return Snapshot(
            feed=self.feed,
            # Copy-on-write makes a shallow copy private to the reader and cheap.
            frame=frame.copy(deep=False),
            fetched_at=None if self._fetched_at is None else utc_from_timestamp(self._fetched_at),
            state=state,
            error=self._error,
            error_at=None if self._error_at is None else utc_from_timestamp(self._error_at),
            interval_s=self.interval_s,
            taken_at=utc_from_timestamp(now),
        )


class _Derived:
    """A frame derived from the activity window, rebuilt only when the window changes."""

    def __init__(self, build: Callable[[list[dict[str, Any]]], pd.DataFrame]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._version = -1
        self._frame = pd.DataFrame()

    def frame(self, window: ActivityWindow) -> pd.DataFrame:
        with self._lock:
            version, items = window.items()
            if version != self._version:
                self._frame = self._build(items)
                self._version = version
            return self._frame


# Feeds derived from another feed's poller report that poller's errors.
_FEED_POLLER = {"voicemail": "activities", "transfers": "activities"}


def _empty(feed: str) -> pd.DataFrame:
    columns = frames.FEED_COLUMNS.get(feed)
    return pd.DataFrame(columns=list(columns)) if columns else pd.DataFrame()


def _floor_minute(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(second=0, microsecond=0)


def _ceil_minute(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    floored = value.replace(second=0, microsecond=0)
    return floored if floored == value else floored + timedelta(minutes=1)


class LiveData:
    """All pollers of one tenant for the whole process (one per process, whatever the viewers)."""

    def __init__(
        self,
        client: Any,
        config: DashboardConfig,
        history: HistoryStore | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.history = history
        self._clock: Clock = clock or time.time
        settings = getattr(client, "settings", None)
        self.demo: bool = bool(getattr(settings, "demo", False))
        base_url = getattr(settings, "base_url", "")
        self.source_label: str = "Demo data" if self.demo else (urlsplit(base_url).netloc or "")
        poll = config.poll
        # A whole poll (every page, retry and statistics call) ends by this.
        self.poll_deadline_s = poll_deadline_s(client.settings.timeout_s, poll)
        common = {
            "jitter_s": poll.jitter_s,
            "error_backoff_s": poll.error_backoff_s,
            "error_backoff_max_s": poll.error_backoff_max_s,
            "clock": self._clock,
            "deadline_s": self.poll_deadline_s,
        }
        # Drill-down and media share one lane with a modest reservation; the feeds say what they
        # need after each poll, and the campaigns feed plans its statistics calls on its grant.
        if client.budget.per_minute is not None:
            client.budget.declare(QUERY_LANE, client.budget.per_minute * QUERY_SHARE)
        self.campaign_rotation = feeds.CampaignRotation(
            client, config.campaigns, interval_s=poll.campaigns_s
        )
        self._campaigns = Poller(
            "campaigns",
            self._scoped("campaigns", lambda: self.campaign_rotation.fetch(now=self._now())),
            interval_s=poll.campaigns_s,
            on_fresh=history.append_campaigns if history is not None else None,
            empty_frame=_empty("campaigns"),
            **common,
        )
        self._agents = Poller(
            "agents",
            self._scoped(
                "agents", lambda: feeds.fetch_agents(client, now=self._now()), poll.agents_s
            ),
            interval_s=poll.agents_s,
            on_fresh=history.append_agent_states if history is not None else None,
            empty_frame=_empty("agents"),
            **common,
        )
        self.window = ActivityWindow(
            lambda since: feeds.fetch_activity_items(client, since=since),
            timezone=config.display_timezone,
            clock=self._clock,
        )
        self._activities = Poller(
            "activities",
            self._scoped("activities", self.window.fetch, poll.activities_s),
            interval_s=poll.activities_s,
            empty_frame=_empty("activities"),
            **common,
        )
        self._voicemail = _Derived(frames.voicemail_frame)
        self._transfers = _Derived(frames.transfers_frame)
        self._common = common
        self._queries_lock = threading.Lock()
        # Drill-down pollers, one per distinct query; idle ones age out.
        self._queries: TTLCache = TTLCache(
            maxsize=QUERY_CACHE_SIZE, ttl=max(600.0, 10 * poll.activities_s), timer=self._clock
        )
        self._media_lock = threading.Condition()
        self._media: LRUCache = LRUCache(maxsize=MEDIA_CACHE_BYTES, getsizeof=len)
        self._fetch_media = cached(
            self._media, key=str, lock=self._media_lock, condition=self._media_lock
        )(client.get_media)
        self._closed = False

    def _scoped(
        self, lane: str, fetch: Callable[[], pd.DataFrame], interval_s: float | None = None
    ) -> Callable[[], pd.DataFrame]:
        """``fetch`` in its lane of the request budget, under the poll deadline; with
        ``interval_s``, the lane's need is then declared from the requests this poll made."""
        budget = self.client.budget

        def run() -> pd.DataFrame:
            before = budget.sent(lane)
            try:
                with request_scope(lane, self.poll_deadline_s):
                    return fetch()
            finally:
                if interval_s is not None:
                    made = budget.sent(lane) - before
                    budget.declare(lane, feeds.DEMAND_HEADROOM * max(1, made) * 60.0 / interval_s)

        return run

    def _now(self) -> datetime:
        return utc_from_timestamp(self._clock())

    def now(self) -> datetime:
        """The tenant's "now" as this process sees it (UTC): pages show ages and clocks from it,
        so they agree with the snapshots' own times (a demo tenant may run at another hour)."""
        return self._now()

    @property
    def pollers(self) -> dict[str, Poller]:
        return {p.feed: p for p in (self._campaigns, self._agents, self._activities)}

    # -- live feeds ----------------------------------------------------------------------------
    def campaigns(self) -> Snapshot:
        return self._campaigns.snapshot()

    def agents(self) -> Snapshot:
        return self._agents.snapshot()

    def activities(self) -> Snapshot:
        return self._activities.snapshot()

    def voicemail(self) -> Snapshot:
        return self._derived("voicemail", self._voicemail)

    def transfers(self) -> Snapshot:
        return self._derived("transfers", self._transfers)

    def _derived(self, feed: str, view: _Derived) -> Snapshot:
        base = self._activities.snapshot()
        if not base.has_data:
            return replace(base, feed=feed, frame=_empty(feed))
        return replace(base, feed=feed, frame=view.frame(self.window).copy(deep=False))

    # -- drill-down ----------------------------------------------------------------------------
    def query_activities(
        self,
        *,
        campaign_id: int | None = None,
        agent_id: int | None = None,
        lead_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        activity_type: str | None = None,
    ) -> Snapshot:
        """Activities matching the filters (agent filtered here: the API has no agent filter).

        Times are widened to whole minutes for the cache key, so a page asking "the last hour"
        on every rerun shares one poller, then trimmed back to exactly what was asked.
        """
        if since is None and lead_id is None:
            since = self.window.start_of_day(self._clock())
        key_since, key_until = _floor_minute(since), _ceil_minute(until)
        key = ("activities", campaign_id, lead_id, key_since, key_until, activity_type)

        def fetch() -> pd.DataFrame:
            with request_scope(QUERY_LANE, self.poll_deadline_s):
                try:
                    items = feeds.fetch_activity_items(
                        self.client,
                        since=key_since,
                        until=key_until,
                        campaign_id=campaign_id,
                        lead_id=lead_id,
                        activity_type=activity_type,
                    )
                except PaginationError as exc:
                    if isinstance(exc.partial, list):
                        exc.partial = frames.activities_frame(exc.partial)
                    raise
            return frames.activities_frame(items)

        snap = self._query_poller(key, "activities", fetch).snapshot()
        frame = snap.frame
        if len(frame):
            keep = pd.Series(True, index=frame.index)
            if agent_id is not None:
                keep &= (frame["agent_id"] == agent_id).fillna(False)
            if since is not None:
                keep &= (frame["created_at"] >= since).fillna(False)
            if until is not None:
                keep &= (frame["created_at"] < until).fillna(False)
            if not keep.all():
                frame = frame.loc[keep].reset_index(drop=True)
        return replace(snap, frame=frame)

    def dial_attempts(self, lead_id: int | str) -> Snapshot:
        def fetch() -> pd.DataFrame:
            with request_scope(QUERY_LANE, self.poll_deadline_s):
                items = feeds.fetch_activity_items(
                    self.client, lead_id=lead_id, activity_type="call.outbound"
                )
            return frames.dial_attempts_frame(items)

        return self._query_poller(
            ("dial-attempts", str(lead_id)), "dial-attempts", fetch
        ).snapshot()

    def _query_poller(
        self, key: tuple[Any, ...], feed: str, fetch: Callable[[], pd.DataFrame]
    ) -> Poller:
        with self._queries_lock:
            poller = self._queries.get(key)
            if poller is None:
                poller = Poller(
                    feed,
                    fetch,
                    interval_s=self.config.poll.activities_s,
                    empty_frame=_empty(feed),
                    **self._common,
                )
                self._queries[key] = poller
            return poller

    def media(self, media: str | int) -> bytes:
        """Audio bytes (recording or voicemail), cached; raises ApiError when it cannot be had."""
        with request_scope(QUERY_LANE, self.poll_deadline_s):
            return self._fetch_media(media)

    def quarantined_activities(self) -> pd.DataFrame:
        """Today's activities dated too far ahead to trust (held out of every live view)."""
        return self.window.quarantined()

    def campaign_coverage(self) -> feeds.Coverage | None:
        """How much of the campaign list each poll refreshes under the request budget."""
        return self.campaign_rotation.coverage

    # -- budget and lifecycle ------------------------------------------------------------------
    def budget(self) -> pd.DataFrame:
        """Requests per feed in the last minute, last latency and last error, for the footer.

        Feeds share operations (voicemail and transfers come from the activities poller), so
        each operation's requests are counted under the first feed that uses it and the column
        sums to what the tenant saw; requests outside every feed (drill-down details) are
        "other". Latency is the slowest last request among the feed's operations.
        """
        summary = self.client.meter.summary(60)
        pollers = self.pollers
        counted: set[str] = set()
        rows = []
        for feed, operations in feeds.FEED_OPERATIONS.items():
            own = [op for op in operations if op in summary and op not in counted]
            counted.update(own)
            latencies = [
                summary[op]["last_latency_ms"]
                for op in operations
                if op in summary and summary[op]["last_latency_ms"] is not None
            ]
            poller = pollers.get(_FEED_POLLER.get(feed, feed))
            rows.append(
                {
                    "feed": feed,
                    "requests_last_min": sum(int(summary[op]["requests"]) for op in own),
                    "last_latency_ms": max(latencies) if latencies else None,
                    "last_error": poller.last_error if poller is not None else None,
                }
            )
        other = [op for op in summary if op not in counted]
        if other:
            latencies = [
                summary[op]["last_latency_ms"]
                for op in other
                if summary[op]["last_latency_ms"] is not None
            ]
            rows.append(
                {
                    "feed": "other",
                    "requests_last_min": sum(int(summary[op]["requests"]) for op in other),
                    "last_latency_ms": max(latencies) if latencies else None,
                    "last_error": None,
                }
            )
        return pd.DataFrame(
            rows, columns=["feed", "requests_last_min", "last_latency_ms", "last_error"]
        ).astype(
            {
                "feed": "string",
                "requests_last_min": "Int64",
                "last_latency_ms": "Float64",
                "last_error": "string",
            }
        )

    def close(self) -> None:
        """Stop background refreshes, close the client and the history. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with self._queries_lock:
            queries = list(self._queries.values())
            self._queries.clear()
        for poller in (*self.pollers.values(), *queries):
            poller.close()
        try:
            self.client.close()
        finally:
            if self.history is not None:
                self.history.close()

    def __enter__(self) -> LiveData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_live(
    settings: Settings, config: DashboardConfig, *, clock: Clock | None = None
) -> LiveData:
    """The production wiring: a client for ``settings``, SQLite history, and the pollers.

    ``clock`` replaces the wall clock, e.g. with the embedded simulator's own time in the demo.
    The history opens on first use and never raises: a store that cannot open or write (a full
    disk, say) leaves the live tiles working and says why in its status."""
    client = IpscapeClient(settings, budget=RequestBudget(config.poll.max_requests_per_min))
    history = ResilientHistory(
        lambda: SQLiteHistory(config.history.path, config.history.retention_days), clock=clock
    )
    return LiveData(client, config, history, clock=clock)


__all__: Sequence[str] = (
    "LiveData",
    "Poller",
    "Snapshot",
    "State",
    "build_live",
)
