"""What pages read: live snapshots, history, and bounded, shared drill-down queries.

`LiveData` is the reader side of one tenant. Live feeds come from the snapshot store that the
collector (ipscape/collector.py) publishes to on its own schedule: reading never asks the tenant.
The only tenant calls on a page's code path are drill-down queries and media, each bounded
(request budget lane, deadline, byte caps) and shared: one poller per distinct question however
many viewers ask it, one cached copy of a recording.

`build_live` wires the embedded default: a client, in-memory snapshots, SQLite history and a
collector in this process, started by the server at boot (ui/server.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from cachetools import LRUCache, TTLCache, cached

from ipscape import feeds, frames, health
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient, request_scope
from ipscape.clock import Clock, local_days, next_midnight, start_of_day, utc_from_timestamp
from ipscape.collector import Collector, LeasedCollector, empty_frame, feed_intervals
from ipscape.config import MIN_POLL_S, DashboardConfig
from ipscape.errors import PaginationError
from ipscape.history import HistoryStore, ResilientHistory, SQLiteHistory
from ipscape.pollers import FIRST_DATA_WAIT_S, Poller, poll_deadline_s, poller_options
from ipscape.replica import SnapshotFollower, StoreProblem
from ipscape.settings import Settings
from ipscape.snapshots import (
    CollectorInfo,
    FeedStatus,
    MemorySnapshots,
    Service,
    Snapshot,
    SnapshotStore,
    snapshot_of,
)

QUERY_CACHE_SIZE = 64
# Past days' activities read from the history store, kept whole: they no longer change. A week
# of one range, or a few drill-down questions about yesterday.
PAST_DAYS_CACHE_SIZE = 16
MEDIA_CACHE_BYTES = 64 * 1024 * 1024
# The request-budget lane of drill-down queries and media, and the share of the budget kept for it.
QUERY_LANE = "queries"
QUERY_SHARE = 0.1


def _floor_minute(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(second=0, microsecond=0)


def _ceil_minute(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    floored = value.replace(second=0, microsecond=0)
    return floored if floored == value else floored + timedelta(minutes=1)


class LiveData:
    """The reader side of one tenant for the whole process (one per process, whatever the
    number of viewers). With ``collector`` (the embedded default) it also owns that collector's
    lifecycle; without, it reads snapshots another process publishes."""

    def __init__(
        self,
        client: IpscapeClient,
        config: DashboardConfig,
        history: HistoryStore | None = None,
        *,
        snapshots: SnapshotStore | None = None,
        collector: Collector | None = None,
        clock: Clock | None = None,
        embedded: bool = True,
        first_wait_s: float = FIRST_DATA_WAIT_S,
        services: Sequence[Service] = (),
        follower: SnapshotFollower | None = None,
        active_collector: Callable[[], CollectorInfo | None] | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.history = history
        self._clock: Clock = clock or time.time
        self.snapshots: SnapshotStore = snapshots if snapshots is not None else MemorySnapshots()
        if collector is None and embedded:
            collector = Collector(client, config, self.snapshots, history, clock=self._clock)
        self.collector = collector
        # A replica's follower (snapshots copied from a shared store), and what else runs in
        # the background for this LiveData (a collector under a database lease, say).
        self.follower = follower
        self.services = tuple(services)
        self._active_collector = active_collector
        self.first_wait_s = first_wait_s
        settings = client.settings
        self.demo: bool = bool(getattr(settings, "demo", False))
        self.source_label: str = (
            "Demo data" if self.demo else (urlsplit(settings.base_url).netloc or "")
        )
        poll = config.poll
        self.intervals = feed_intervals(poll)
        # Drill-down queries end within one poll's deadline, like the collector's polls.
        self.poll_deadline_s = poll_deadline_s(settings.timeout_s, poll)
        self._options = poller_options(poll, self._clock, self.poll_deadline_s)
        # Drill-down and media share one lane with a modest reservation; the feeds say what they
        # need after each poll, and the campaigns feed plans its statistics calls on its grant.
        if client.budget.per_minute is not None:
            client.budget.declare(QUERY_LANE, client.budget.per_minute * QUERY_SHARE)
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
        self._past_lock = threading.Lock()
        self._past: LRUCache = LRUCache(maxsize=PAST_DAYS_CACHE_SIZE)
        self._closed = False

    def start(self) -> LiveData:
        """Start the collector's schedule, the follower and the services (at server boot)."""
        if self.collector is not None:
            self.collector.start()
        for service in self.services:
            service.start()
        if self.follower is not None:
            self.follower.start()
        return self

    def store_problem(self) -> StoreProblem | None:
        """Why the snapshots may be behind (a replica that cannot read the shared store)."""
        return None if self.follower is None else self.follower.problem()

    def active_collector(self) -> CollectorInfo | None:
        """Which process polls the tenant, when another one does (scaled deployments)."""
        if self._active_collector is None:
            return None
        try:
            return self._active_collector()
        except Exception:  # the store is down: the banner says so already
            return None

    def _now(self) -> datetime:
        return utc_from_timestamp(self._clock())

    def now(self) -> datetime:
        """The tenant's "now" as this process sees it (UTC): pages show ages and clocks from it,
        so they agree with the snapshots' own times (a demo tenant may run at another hour)."""
        return self._now()

    @property
    def pollers(self) -> dict[str, Poller]:
        """The collector's pollers (empty when another process collects)."""
        return dict(self.collector.pollers) if self.collector is not None else {}

    def refresh_now(self, min_age_s: float = MIN_POLL_S) -> list[str]:
        """Fetch every feed now (a viewer's "refresh now"), through the collector's own pollers:
        a fetch already in flight is joined, not doubled, and a feed fetched less than
        ``min_age_s`` ago is left alone, so a room of people clicking cannot multiply the
        requests to the tenant. Returns the feeds with newer data since the call (a failed fetch
        brings none); none when another process collects. Waits for them (each within its poll
        deadline), in parallel."""
        before = {feed: poller.version for feed, poller in self.pollers.items()}
        workers = [
            threading.Thread(
                target=poller.refresh, args=(min_age_s,), name=f"refresh-{feed}", daemon=True
            )
            for feed, poller in self.pollers.items()
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return [feed for feed, poller in self.pollers.items() if poller.version != before[feed]]

    # -- live feeds ----------------------------------------------------------------------------
    def campaigns(self) -> Snapshot:
        return self.snapshot("campaigns")

    def agents(self) -> Snapshot:
        return self.snapshot("agents")

    def activities(self) -> Snapshot:
        return self.snapshot("activities")

    def voicemail(self) -> Snapshot:
        return self.snapshot("voicemail")

    def transfers(self) -> Snapshot:
        return self.snapshot("transfers")

    def snapshot(self, feed: str) -> Snapshot:
        """The feed's latest published snapshot. Before the first one, waits a bounded moment
        (the collector's first poll is usually under way), then says "waiting". Never asks the
        tenant."""
        status, result = self.snapshots.read(feed)
        if status is None or (status.version == 0 and status.error is None):
            if not self._closed:
                self.snapshots.wait(feed, 0, self.first_wait_s)
            status, result = self.snapshots.read(feed)
        if status is None:
            status = FeedStatus(feed=feed, interval_s=self.intervals.get(feed, 0.0) or 1.0)
        return snapshot_of(status, result, self._now(), lambda: empty_frame(feed))

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
        on every rerun shares one poller, then trimmed back to exactly what was asked. What lies
        before today comes from the history store, not the tenant (when history is kept): a
        range entirely in the past asks the tenant nothing, and its freshness is the activities
        feed's, which is what recorded it.
        """
        midnight = start_of_day(self._now(), self.config.display_timezone)
        if since is None and lead_id is None:
            since = midnight
        past: pd.DataFrame | None = None
        if since is not None and since < midnight and self.history is not None:
            filters = {
                "campaign_id": campaign_id,
                "agent_id": agent_id,
                "lead_id": lead_id,
                "activity_type": activity_type,
            }
            past = self.past_activities(since, min(until or midnight, midnight), **filters)
            if until is not None and until <= midnight:
                return replace(self.snapshot("activities"), frame=past)
            since = midnight
        key_since, key_until = _floor_minute(since), _ceil_minute(until)
        key = ("activities", campaign_id, lead_id, key_since, key_until, activity_type)

        def fetch() -> frames.FrameResult:
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
                        exc.partial = frames.activities_result(exc.partial)
                    raise
            return frames.activities_result(items)

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
        if past is not None and len(past):
            frame = pd.concat([past, frame], ignore_index=True) if len(frame) else past
        return replace(snap, frame=frame)

    def past_activities(self, since: datetime, until: datetime, **filters: Any) -> pd.DataFrame:
        """Activities created in [since, until), all before today, from the history store, a
        whole local day at a time, trimmed to the range; each day read is kept
        (`PAST_DAYS_CACHE_SIZE`), since it no longer changes, so a range that starts at "now
        minus 7 days" reads its first day once, not at each run. An empty read is not kept: it
        may be a store that failed and will recover."""
        if self.history is None:
            return frames.activities_frame([])
        tz = self.config.display_timezone
        parts = []
        for piece_since, piece_until in local_days(since, until, tz):
            day, day_end = start_of_day(piece_since, tz), next_midnight(piece_since, tz)
            key = (day, tuple(sorted(filters.items())))
            with self._past_lock:
                frame = self._past.get(key)
            if frame is None:
                frame = self.history.activity_history(day, day_end, **filters)
                if len(frame):
                    with self._past_lock:
                        self._past[key] = frame
            if len(frame) and (piece_since > day or piece_until < day_end):
                created = frame["created_at"]
                inside = (created >= piece_since) & (created < piece_until)
                frame = frame.loc[inside.fillna(False)]
            if len(frame):
                parts.append(frame)
        if not parts:
            return frames.activities_frame([])
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def activities_between(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Every activity created in [since, until): past days from the history store, today's
        from the collector's day (never the tenant). For trends over a range."""
        midnight = start_of_day(self._now(), self.config.display_timezone)
        parts = []
        if since < midnight:
            parts.append(self.past_activities(since, min(until, midnight)))
        if until > midnight:
            today = self.activities().frame
            if len(today):
                created = today["created_at"]
                keep = (created >= max(since, midnight)) & (created < until)
                parts.append(today.loc[keep.fillna(False)])
        parts = [p for p in parts if len(p)]
        if not parts:
            return frames.activities_frame([])
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def dial_attempts(self, lead_id: int) -> Snapshot:
        def fetch() -> frames.FrameResult:
            with request_scope(QUERY_LANE, self.poll_deadline_s):
                items = feeds.fetch_activity_items(
                    self.client, lead_id=lead_id, activity_type=frames.DIAL_ATTEMPT_TYPE
                )
            return frames.dial_attempts_result(items)

        return self._query_poller(
            ("dial-attempts", str(lead_id)), "dial-attempts", fetch
        ).snapshot()

    def _query_poller(
        self, key: tuple[Any, ...], feed: str, fetch: Callable[[], frames.FrameResult]
    ) -> Poller:
        with self._queries_lock:
            poller = self._queries.get(key)
            if poller is None:
                poller = Poller(
                    feed,
                    fetch,
                    interval_s=self.config.poll.activities_s,
                    empty_frame=empty_frame(feed),
                    **self._options,
                )
                self._queries[key] = poller
            return poller

    def media(self, media: str | int) -> bytes:
        """Audio bytes (recording or voicemail), cached; raises ApiError when it cannot be had."""
        with request_scope(QUERY_LANE, self.poll_deadline_s):
            return self._fetch_media(media)

    def quarantined_activities(self) -> pd.DataFrame:
        """Today's activities dated too far ahead to trust (held out of every live view)."""
        if self.collector is None:
            return empty_frame("activities")
        return self.collector.window.quarantined()

    def operator_view(self) -> health.OperatorView:
        """What /healthz and /metrics read: the stores and counters, never the tenant; the
        alert counters of whichever collector this process runs (the embedded one, or the one
        competing for the database lease; none on a pure replica)."""
        sender: Collector | LeasedCollector | None = self.collector
        if sender is None:
            sender = next((s for s in self.services if isinstance(s, LeasedCollector)), None)
        return health.OperatorView(
            snapshots=self.snapshots,
            feeds=self.intervals,
            clock=self._clock,
            started_at=None if self.collector is None else self.collector.started_at,
            meter=self.client.meter,
            budget=self.client.budget,
            history=self.history,
            coverage=self.campaign_coverage,
            active_collector=self._active_collector,
            follower=self.follower,
            alerts=None if sender is None else sender.alert_stats,
        )

    def campaign_coverage(self) -> feeds.Coverage | None:
        """How much of the campaign list each poll refreshes under the request budget."""
        return None if self.collector is None else self.collector.campaign_rotation.coverage

    # -- budget and lifecycle ------------------------------------------------------------------
    def budget(self) -> pd.DataFrame:
        """Requests per feed in the last minute, last latency and last error, for the footer.

        Feeds share operations (voicemail and transfers come from the activities poller), so
        each operation's requests are counted under the first feed that uses it and the column
        sums to what the tenant saw; requests outside every feed (drill-down details) are
        "other". Latency is the slowest last request among the feed's operations.
        """
        summary = self.client.meter.summary(60)
        statuses = self.snapshots.statuses()
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
            status = statuses.get(feed)
            rows.append(
                {
                    "feed": feed,
                    "requests_last_min": sum(int(summary[op]["requests"]) for op in own),
                    "last_latency_ms": max(latencies) if latencies else None,
                    "last_error": status.error if status is not None else None,
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
        """Stop the collector and the queries, close the client, the history and the
        snapshots. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.follower is not None:
            self.follower.stop()
        for service in reversed(self.services):
            service.stop()
        if self.collector is not None:
            self.collector.stop()
        with self._queries_lock:
            queries = list(self._queries.values())
            self._queries.clear()
        for poller in queries:
            poller.close()
        try:
            self.client.close()
        finally:
            try:
                if self.history is not None:
                    self.history.close()
            finally:
                self.snapshots.close()

    def __enter__(self) -> LiveData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_live(
    settings: Settings, config: DashboardConfig, *, clock: Clock | None = None
) -> LiveData:
    """The embedded wiring: a client for ``settings``, in-memory snapshots, SQLite history and
    a collector (not started: the server starts it, see `LiveData.start`).

    ``clock`` replaces the wall clock, e.g. with the embedded simulator's own time in the demo.
    The history opens on first use and never raises: a store that cannot open or write (a full
    disk, say) leaves the live tiles working and says why in its status."""
    client = IpscapeClient(settings, budget=RequestBudget(config.poll.max_requests_per_min))
    history = ResilientHistory(
        lambda: SQLiteHistory(config.history.path, config.history.retention_days), clock=clock
    )
    return LiveData(client, config, history, clock=clock)


__all__: Sequence[str] = ("LiveData", "build_live")
