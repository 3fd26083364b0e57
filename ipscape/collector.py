"""The collector: polls every feed of one tenant on its own schedule, whoever is watching.

It is the only code that decides when the tenant is asked for live data, so the upstream load
follows its schedule, not the number of viewers (docs/architecture.md, "The collector"). It
belongs to the server process, not to a viewer: the dashboard starts it at boot and stops it at
shutdown (ui/server.py), and it polls whether 0 or 500 viewers are connected. Each result is
published to the snapshot store (ipscape/snapshots.py) that pages read, and appended to the
history store (ipscape/history/) on the refresh path, so history has no holes when nobody
watches.

Feeds: ``campaigns`` (statistics per campaign, under the request budget's rotation), ``agents``
(status of every agent) and ``activities`` (today's activities, fetched incrementally, see
ipscape/activities.py) with ``voicemail`` and ``transfers`` derived from it and published with
it. Each feed's `Poller` keeps its schedule (interval + jitter, backoff, Retry-After) and its own
lane of the request budget; one scheduler thread starts whichever is due and sleeps until the
next due time. A refresh whose answer had records the frames could not use logs one warning per
feed with the counts by reason (our fixed texts, never what the tenant sent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, Protocol

import pandas as pd

from ipscape import alerts, feeds, frames
from ipscape.activities import ActivityUpdate, ActivityWindow
from ipscape.client import IpscapeClient, request_scope
from ipscape.clock import Clock, utc_from_timestamp
from ipscape.config import DashboardConfig, PollConfig
from ipscape.errors import PaginationError, user_message
from ipscape.frames import Drops, FrameResult
from ipscape.history import HistoryStore
from ipscape.metrics import feeds as metric_feeds
from ipscape.pollers import CLOSE_JOIN_S, Poller, poll_deadline_s, poller_options
from ipscape.snapshots import FeedStatus, SnapshotStore

log = logging.getLogger(__name__)

# The feeds pages read, and the poller each one comes from.
FEED_SOURCES = {
    "campaigns": "campaigns",
    "agents": "agents",
    "activities": "activities",
    "voicemail": "activities",
    "transfers": "activities",
    metric_feeds.PERFORMANCE_FEED: "activities",
    metric_feeds.SERVICE_LEVEL_FEED: "activities",
    # the recent level changes, republished with every campaigns poll (ipscape/alerts.py)
    alerts.ALERTS_FEED: "campaigns",
}
# The feeds published with the activities, computed from them.
DERIVED_FEEDS = tuple(f for f, src in FEED_SOURCES.items() if src == "activities" != f)
# What a derived feed (computed from the activities) says when computing it failed.
DERIVED_FAILED = "Computing this from the activities failed (logged); the last figures are kept."
# Marks a derived feed whose computation failed (`Collector._derived`).
_FAILED: Final = FrameResult(pd.DataFrame())
# The scheduler sleeps at most this long (real seconds), so a clock that does not run at one
# second per second (a demo tenant running faster, a wall clock stepping) is followed closely.
MAX_SLEEP_S = 0.25
STOP_JOIN_S = 5.0
# A standby asks for the lease this often, and the holder proves it still has it this often:
# together they bound a takeover after the holder dies (the issue asks for 30 s).
ACQUIRE_EVERY_S = 5.0
HEARTBEAT_EVERY_S = 5.0


def feed_intervals(poll: PollConfig) -> dict[str, float]:
    """Every feed pages read -> its interval (seconds): its source poller's, from [poll]."""
    return {feed: float(getattr(poll, f"{source}_s")) for feed, source in FEED_SOURCES.items()}


def _log_drops(feed: str, drops: Drops) -> None:
    """One warning when a refresh of ``feed`` dropped records, with the counts by reason."""
    if drops:
        log.warning("%s: %s", feed, drops.text())


def empty_frame(feed: str) -> pd.DataFrame:
    if feed == alerts.ALERTS_FEED:
        return alerts.alerts_frame()
    columns = frames.FEED_COLUMNS.get(feed) or metric_feeds.FEED_COLUMNS.get(feed)
    return pd.DataFrame(columns=list(columns)) if columns else pd.DataFrame()


class Collector:
    """Every live feed of one tenant, polled on schedule into ``snapshots`` and ``history``."""

    def __init__(
        self,
        client: IpscapeClient,
        config: DashboardConfig,
        snapshots: SnapshotStore,
        history: HistoryStore | None = None,
        *,
        clock: Clock | None = None,
        senders: Sequence[alerts.Outbox] | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.snapshots = snapshots
        self.history = history
        self._clock: Clock = clock or time.time
        poll = config.poll
        # A whole poll (every page, retry and statistics call) ends by this.
        self.poll_deadline_s = poll_deadline_s(client.settings.timeout_s, poll)
        self.options = poller_options(poll, self._clock, self.poll_deadline_s)
        self.campaign_rotation = feeds.CampaignRotation(
            client, config.campaigns, interval_s=poll.campaigns_s
        )
        self.window = ActivityWindow(
            lambda since: feeds.fetch_activity_items(client, since=since),
            timezone=config.display_timezone,
            clock=self._clock,
        )
        self.pollers: dict[str, Poller] = {
            "campaigns": Poller(
                "campaigns",
                self._scoped("campaigns", self._fetch_campaigns),
                interval_s=poll.campaigns_s,
                on_fresh=self._record_campaigns if history is not None else None,
                publish=self._publisher("campaigns"),
                empty_frame=empty_frame("campaigns"),
                **self.options,
            ),
            "agents": Poller(
                "agents",
                self._scoped("agents", self._fetch_agents, poll.agents_s),
                interval_s=poll.agents_s,
                on_fresh=self._record_agent_states if history is not None else None,
                publish=self._publisher("agents"),
                empty_frame=empty_frame("agents"),
                **self.options,
            ),
            "activities": Poller(
                "activities",
                self._scoped("activities", self._fetch_activities, poll.activities_s),
                interval_s=poll.activities_s,
                publish=self._publish_activities,
                empty_frame=empty_frame("activities"),
                **self.options,
            ),
        }
        # Level changes, sent from here (the lease holder's collector) whoever is watching.
        # (``senders`` replace those config.alerts would make: a test's quicker retries.)
        self.senders = tuple(senders) if senders is not None else alerts.senders_for(config.alerts)
        self.alerter = alerts.Alerter(config.thresholds, self._send)
        self._alerts_published: int | None = None  # the alerter's version last published
        self._alerts_lock = threading.Lock()  # campaigns and activities publish it both
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at: float | None = None  # time.monotonic() at start

    # -- what the feeds fetch ------------------------------------------------------------------
    def _now(self) -> datetime:
        return utc_from_timestamp(self._clock())

    def _fetch_campaigns(self) -> FrameResult:
        result = self.campaign_rotation.fetch(now=self._now())
        _log_drops("campaigns", result.drops)
        return result

    def _fetch_agents(self) -> FrameResult:
        result = feeds.fetch_agents_result(self.client, now=self._now())
        _log_drops("agents", result.drops)
        return result

    def _fetch_activities(self) -> FrameResult:
        """One incremental fetch; its new and changed rows go to the history store here, on the
        refresh path, so past days stay reachable without asking the tenant again."""
        try:
            update = self.window.fetch()
        except PaginationError as exc:
            if isinstance(exc.partial, ActivityUpdate):
                self._fetched(exc.partial)
                exc.partial = exc.partial.result("activities")
            raise
        self._fetched(update)
        return update.result("activities")

    def _fetched(self, update: ActivityUpdate) -> None:
        for feed, drops in update.fetch_drops.items():
            _log_drops(feed, drops)
        self._append_activities(update.changed)

    def _record_campaigns(self, result: FrameResult, at: datetime) -> None:
        if self.history is not None:
            self.history.append_campaigns(result.frame, at)

    def _record_agent_states(self, result: FrameResult, at: datetime) -> None:
        """Agent states for the trend; none while the tenant offers no per-agent status (an
        empty frame is no agents, which is not what we know)."""
        if self.history is not None and result.unavailable is None:
            self.history.append_agent_states(result.frame, at)

    def _append_activities(self, changed: pd.DataFrame) -> None:
        if self.history is not None and len(changed):
            self.history.append_activities(changed)

    def _scoped(
        self, lane: str, fetch: Callable[[], FrameResult], interval_s: float | None = None
    ) -> Callable[[], FrameResult]:
        """``fetch`` in its lane of the request budget, under the poll deadline; with
        ``interval_s``, the lane's need is then declared from the requests this poll made (the
        campaigns feed plans its statistics calls on its grant itself)."""
        budget = self.client.budget

        def run() -> FrameResult:
            before = budget.sent(lane)
            try:
                with request_scope(lane, self.poll_deadline_s):
                    return fetch()
            finally:
                if interval_s is not None:
                    made = budget.sent(lane) - before
                    budget.declare(lane, feeds.DEMAND_HEADROOM * max(1, made) * 60.0 / interval_s)

        return run

    # -- publishing ----------------------------------------------------------------------------
    def _publisher(self, feed: str) -> Callable[[FeedStatus, FrameResult | None], None]:
        def publish(status: FeedStatus, result: FrameResult | None) -> None:
            if result is None:
                self.snapshots.report(status)
            else:
                self.snapshots.publish(status, result)
            if feed == "campaigns":
                if result is not None:
                    self._alert(self.alerter.campaigns, result.frame)
                self._publish_alerts()

        return publish

    def alert_stats(self) -> alerts.AlertStats:
        """The alerter's and the outboxes' counters (for /metrics)."""
        return alerts.AlertStats(
            self.alerter.raised(), tuple(outbox.counts() for outbox in self.senders)
        )

    def _send(self, notification: alerts.Notification) -> None:
        for outbox in self.senders:
            outbox.send(notification)  # enqueues: never waits for a receiver

    def _alert(
        self, observe: Callable[[pd.DataFrame, datetime], object], frame: pd.DataFrame
    ) -> None:
        """Level changes in ``frame``, sent; a bug in them must not stop the publishing."""
        try:
            observe(frame, self._now())
        except Exception:
            log.exception("collector: checking the alert levels failed")

    def _publish_alerts(self) -> None:
        """The recent alerts, after every campaigns poll and every performance update: fresh
        each time (the alerter is alive whether or not anything changed, so the feed's age never
        reads as a fault), a new version only when the list changed (replicas copy it then)."""
        status = FeedStatus(
            feed=alerts.ALERTS_FEED,
            interval_s=float(self.config.poll.campaigns_s),
            fetched_at=self._now(),
        )
        with self._alerts_lock:
            version = self.alerter.version
            if version == self._alerts_published:
                self.snapshots.report(status)
            else:
                self.snapshots.publish(status, self.alerter.recent_frame())
                self._alerts_published = version

    def _publish_activities(self, status: FeedStatus, result: FrameResult | None) -> None:
        """Activities, and what is derived from the same fetch (voicemail with its call-backs,
        transfers, the performance metrics), with the same status (their errors are the
        activities poller's)."""
        current = self.window.current() if result is not None else None
        derived: dict[str, FrameResult | None] = {"activities": result}
        if current is None:
            derived.update(dict.fromkeys(DERIVED_FEEDS))
        else:
            derived.update(self._derived(current))
        for feed, shown in derived.items():
            feed_status = replace(status, feed=feed)
            if shown is _FAILED:
                self.snapshots.report(self._failed(feed_status))
            elif shown is None:
                self.snapshots.report(feed_status)
            else:
                self.snapshots.publish(feed_status, shown)
        # The voicemail backlog's age grows without new data: read at every refresh, at now.
        voicemail = derived.get("voicemail")
        performance = derived.get(metric_feeds.PERFORMANCE_FEED)
        if voicemail is not None and voicemail is not _FAILED:
            self._alert(self.alerter.voicemail, voicemail.frame)
        if performance is not None and performance is not _FAILED:
            today = metric_feeds.window_rows(performance.frame, "today")
            self._alert(self.alerter.performance, today)
        if current is not None:
            self._publish_alerts()

    def _failed(self, status: FeedStatus) -> FeedStatus:
        """``status`` for a derived feed whose computation failed: its last good data and
        its age stay, and it says why it is not newer."""
        previous = self.snapshots.status(status.feed)
        return replace(
            status,
            fetched_at=None if previous is None else previous.fetched_at,
            error=DERIVED_FAILED,
            error_kind="internal",
            error_at=self._now(),
            failures=1 + (previous.failures if previous is not None else 0),
        )

    def _derived(self, current: ActivityUpdate) -> dict[str, FrameResult | None]:
        """The feeds computed from the day's activities, here on the refresh path (pages only
        read them). A bug in a metric must not take the activities down with it: that feed
        keeps its last frame and says it failed."""
        activities = current.activities
        config = self.config
        scope = metric_feeds.Scope.of(config)
        now, tz = self._now(), config.display_timezone
        voicemail = current.result("voicemail")
        computed: dict[str, FrameResult | None] = {"transfers": current.result("transfers")}
        builders: dict[str, Callable[[], FrameResult]] = {
            "voicemail": lambda: replace(
                voicemail, frame=metric_feeds.with_returned_at(voicemail.frame, activities)
            ),
            metric_feeds.PERFORMANCE_FEED: lambda: frames.as_result(
                metric_feeds.performance_feed(activities, now, tz, scope)
            ),
            metric_feeds.SERVICE_LEVEL_FEED: lambda: frames.as_result(
                metric_feeds.service_level_feed(activities, now, tz, scope)
            ),
        }
        for feed, build in builders.items():
            try:
                computed[feed] = build()
            except Exception:  # never the tenant's text: a bug of ours, logged with its trace
                log.exception("collector: computing %s failed; its last frame is kept", feed)
                computed[feed] = _FAILED
        return computed

    # -- schedule ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start polling in the background (idempotent)."""
        if self._thread is not None:
            return
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="collector", daemon=True)
        self._thread.start()
        schedule = ", ".join(f"{feed} every {p.interval_s:g} s" for feed, p in self.pollers.items())
        log.info("collector started: %s", schedule)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                for poller in self.pollers.values():
                    poller.start_if_due()
                wait = min(p.due_in() for p in self.pollers.values())
            except Exception:  # the schedule must outlive any bug in one tick
                log.exception("collector: scheduling tick failed")
                wait = MAX_SLEEP_S
            # A running poll reads as "due in infinity": its successor is looked for again
            # within MAX_SLEEP_S of it ending.
            self._wake.wait(min(wait, MAX_SLEEP_S))
            self._wake.clear()

    def resume_from(self, store: SnapshotStore) -> bool:
        """Seed today's activities from what a predecessor published to ``store`` (a collector
        taking over the lease), so the first poll asks for what is new, not the whole day
        again. False when there is nothing to resume from."""
        published = {}
        for feed in ("activities", "voicemail", "transfers"):
            status, result = store.read(feed)
            if status is None or result is None:
                return False
            published[feed] = result.frame
        resumed = self.window.resume(**published)
        if resumed:
            log.info("collector resumed today's activities from the shared store")
        return resumed

    def run_due(self, timeout_s: float = 60.0) -> list[str]:
        """Start every feed that is due and wait for them (tests and tools that move a manual
        clock by hand instead of running the scheduler thread). Returns the feeds started."""
        started = [feed for feed, poller in self.pollers.items() if poller.start_if_due()]
        for feed in started:
            self.pollers[feed].join(timeout_s)
        return started

    def refresh(self, feed: str) -> None:
        """Fetch ``feed`` now (joining a fetch in flight) and wait for it."""
        self.pollers[FEED_SOURCES[feed]].refresh()

    def uptime_s(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    def stop(self) -> None:
        """Stop the schedule and the pollers; the snapshots keep the last data. Idempotent."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_S)
        for poller in self.pollers.values():
            poller.close()
        for outbox in self.senders:
            outbox.stop()
        if thread is not None:
            log.info("collector stopped")


class Lease(Protocol):
    """The right to poll, held by one collector process at a time (PostgreSQL advisory lock)."""

    def try_acquire(self) -> Any | None:
        """A fence (its ``term`` numbers this tenure) when acquired, None while another holds it."""
        ...

    def heartbeat(self) -> bool:
        """True while still held; False once lost (the lock's connection went away)."""
        ...

    def release(self) -> None: ...


class LeasedCollector:
    """A collector that polls only while it holds ``lease``: several processes may run one,
    exactly one polls, and a standby takes over within ``acquire_every_s`` of the holder's
    death. Each tenure gets a fresh `Collector` from ``make_collector(fence)``, whose stores
    refuse writes once a newer tenure has begun (fencing), so a process that lost the lease
    without noticing cannot overwrite its successor."""

    def __init__(
        self,
        lease: Lease,
        make_collector: Callable[[Any], Collector],
        *,
        acquire_every_s: float = ACQUIRE_EVERY_S,
        heartbeat_every_s: float = HEARTBEAT_EVERY_S,
    ) -> None:
        self.lease = lease
        self._make = make_collector
        self.acquire_every_s = acquire_every_s
        self.heartbeat_every_s = heartbeat_every_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.collector: Collector | None = None  # the current tenure's, while active
        self.term: int | None = None

    @property
    def active(self) -> bool:
        with self._lock:
            return self.collector is not None

    def alert_stats(self) -> alerts.AlertStats | None:
        """The current tenure's alert counters (they start again with each); None on standby."""
        with self._lock:
            collector = self.collector
        return None if collector is None else collector.alert_stats()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="lease", daemon=True)
            self._thread.start()

    def run(self) -> None:
        """Stand by, lead, stand by again...: until `stop`. Never raises."""
        log.info("collector standing by for the lease")
        while not self._stopping.is_set():
            try:
                fence = self.lease.try_acquire()
            except Exception as exc:  # the database is down: try again later
                log.warning("collector lease unavailable: %s", user_message(exc))
                fence = None
            if fence is None:
                self._stopping.wait(self.acquire_every_s)
                continue
            self._lead(fence)
        self._release()

    def _lead(self, fence: Any) -> None:
        collector = self._make(fence)
        with self._lock:
            self.collector, self.term = collector, getattr(fence, "term", None)
        log.info("collector active (term %s)", self.term)
        collector.start()
        try:
            while not self._stopping.wait(self.heartbeat_every_s):
                try:
                    held = self.lease.heartbeat()
                except Exception:  # a heartbeat that cannot be sent is a lease we cannot prove
                    held = False
                if not held:
                    log.warning("collector lease lost (term %s); standing by", self.term)
                    break
        finally:
            collector.stop()
            with self._lock:
                self.collector = None
        if not self._stopping.is_set():
            self._release()

    def _release(self) -> None:
        try:
            self.lease.release()
        except Exception as exc:  # closing a connection that is already gone
            log.debug("collector lease release failed: %s", user_message(exc))

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_S + CLOSE_JOIN_S * 3)


__all__: Sequence[str] = (
    "FEED_SOURCES",
    "Collector",
    "Lease",
    "LeasedCollector",
    "empty_frame",
    "feed_intervals",
)
