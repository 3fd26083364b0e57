"""Health and metrics for operators: ``GET /healthz`` (JSON) and ``GET /metrics`` (Prometheus).

Both read only what the collector already holds (the snapshot store's statuses, the client's
`UpstreamMeter`, the `RequestBudget`, the history store's status, the alerts' counters), so a
probe or a scrape costs no tenant request, however often it comes.

The health rule, per feed (``feed_limit_s``):

- a feed is **healthy** while its last good data is at most ``max(5 x interval, 60 s)`` old,
  whatever its state: fresh, stale, or in error with the last good data kept;
- a feed with no good data (``starting``: no status yet; ``empty``; ``error`` before the first
  success) or with data older than that is **unhealthy**.

``/healthz`` answers 200 while every expected feed is healthy, 503 otherwise. Its ``status``:

- ``ok``: every feed fresh and history recording (or no history store);
- ``degraded``: still 200, but a feed is stale or in error, or history is not recording;
- ``starting``: 503 because feeds have not reported yet, within their limit of the collector's
  start (a load balancer should wait, an alert should not fire yet);
- ``failing``: 503 for any other reason (never fetched long after start, data too old).

Neither body holds secrets, URLs, tenant strings (campaign or agent names) or the free-text
``error`` of a `FeedStatus`: only fixed labels (feed names, `errors.error_kind` labels, our own
operation ids) and numbers. A label not shaped like one of ours is reported as ``other``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ipscape.alerts import NOTIFIED_LEVELS, AlertStats
from ipscape.budget import RequestBudget
from ipscape.client import UpstreamMeter
from ipscape.clock import Clock, utc_from_timestamp
from ipscape.feeds import Coverage
from ipscape.history import HistoryStore
from ipscape.replica import SnapshotFollower
from ipscape.snapshots import CollectorInfo, FeedStatus, SnapshotStore

log = logging.getLogger(__name__)

# A feed's last good data may be this many intervals old before health fails...
STALE_LIMIT_INTERVALS = 5
# ...and never less than this, so a fast feed survives one slow tenant minute.
MIN_STALE_LIMIT_S = 60.0
# The window of the upstream request counts (the page footer's window too).
METER_WINDOW_S = 60.0

FEED_STATES = ("fresh", "stale", "error", "empty", "starting")
NO_STORE = {"Cache-Control": "no-store"}
# Our feed names, error kinds and operation ids: lower case words. Anything else is not ours.
_LABEL = re.compile(r"[a-z][a-z0-9_-]{0,39}")
# A lease holder is "host:pid" (holder_name): anything else in it is replaced, never echoed.
_HOLDER_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass(frozen=True)
class OperatorView:
    """What the operators' endpoints read; built once by whoever runs the collector."""

    snapshots: SnapshotStore
    feeds: Mapping[str, float]  # expected feed -> interval_s: one not reported yet is "starting"
    clock: Clock  # POSIX seconds, the tenant's clock (ages are measured on it)
    started_at: float | None = None  # monotonic() at collector start; None: no collector here
    meter: UpstreamMeter | None = None
    budget: RequestBudget | None = None
    history: HistoryStore | None = None
    coverage: Callable[[], Coverage | None] | None = None
    monotonic: Callable[[], float] = time.monotonic  # the clock of ``started_at``
    # Scaled deployments: who holds the collector lease, and this replica's follower.
    active_collector: Callable[[], CollectorInfo | None] | None = None
    follower: SnapshotFollower | None = None
    # The alerts this process sends (its collector's counters); None: no collector here, or
    # one standing by for the lease.
    alerts: Callable[[], AlertStats | None] | None = None


@dataclass(frozen=True)
class FeedHealth:
    """One feed as health and metrics report it: labels and numbers only."""

    feed: str
    state: str  # one of FEED_STATES
    interval_s: float
    limit_s: float
    age_s: float | None
    healthy: bool
    error_kind: str | None
    failures: int
    refresh_s: float | None
    version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "healthy": self.healthy,
            "age_s": _rounded(self.age_s),
            "interval_s": self.interval_s,
            "limit_s": self.limit_s,
            "error_kind": self.error_kind,
            "failures": self.failures,
            "refresh_s": _rounded(self.refresh_s),
            "version": self.version,
        }


def feed_limit_s(interval_s: float) -> float:
    """How old a feed's last good data may be before health fails."""
    return max(STALE_LIMIT_INTERVALS * interval_s, MIN_STALE_LIMIT_S)


def safe_label(value: str | None) -> str | None:
    """``value`` when it is shaped like one of our identifiers, else "other" (never echoed)."""
    if value is None:
        return None
    return value if _LABEL.fullmatch(value) else "other"


def uptime_s(view: OperatorView) -> float | None:
    """Seconds since the collector in this process started; None without one."""
    if view.started_at is None:
        return None
    return max(0.0, view.monotonic() - view.started_at)


def feed_health(view: OperatorView) -> list[FeedHealth]:
    """Every expected feed, and any other the store holds, sorted by name."""
    now = utc_from_timestamp(view.clock())
    statuses = view.snapshots.statuses()
    names = sorted(set(view.feeds) | set(statuses))
    return [_one_feed(name, statuses.get(name), view.feeds.get(name), now) for name in names]


def _one_feed(
    name: str, status: FeedStatus | None, expected_s: float | None, now: datetime
) -> FeedHealth:
    feed = safe_label(name) or "other"
    if status is None:
        interval = float(expected_s or 0.0)
        return FeedHealth(
            feed, "starting", interval, feed_limit_s(interval), None, False, None, 0, None, 0
        )
    limit = feed_limit_s(status.interval_s)
    age = status.age_s(now)
    kind = (status.error_kind or "internal") if status.error is not None else None
    return FeedHealth(
        feed=feed,
        state=status.state(now),
        interval_s=status.interval_s,
        limit_s=limit,
        age_s=age,
        healthy=age is not None and age <= limit,
        error_kind=safe_label(kind),
        failures=status.failures,
        refresh_s=status.refresh_s,
        version=status.version,
    )


def overall_status(view: OperatorView, feeds: list[FeedHealth], recording: bool) -> str:
    """ "ok", "degraded", "starting" or "failing" (the rule in the module docstring)."""
    unhealthy = [f for f in feeds if not f.healthy]
    if unhealthy:
        up = uptime_s(view)
        just_started = up is not None and all(
            f.state == "starting" and up <= f.limit_s for f in unhealthy
        )
        return "starting" if just_started else "failing"
    if not recording or any(f.state != "fresh" for f in feeds):
        return "degraded"
    return "ok"


def health_report(view: OperatorView) -> tuple[int, dict[str, Any]]:
    """The HTTP status code and JSON body of ``/healthz``."""
    feeds = feed_health(view)
    history = view.history.status() if view.history is not None else None
    status = overall_status(view, feeds, history is None or history.recording)
    coverage = view.coverage() if view.coverage is not None else None
    body: dict[str, Any] = {
        "status": status,
        "feeds": {f.feed: f.as_json() for f in feeds},
        # HistoryStatus.reason is one of history.failure_reason's fixed phrases.
        "history": None
        if history is None
        else {"recording": history.recording, "reason": history.reason},
        "campaign_coverage": None if coverage is None else _coverage_json(coverage),
        "uptime_s": _rounded(uptime_s(view)),
    }
    if view.follower is not None:
        problem = view.follower.problem()
        body["store"] = {"reachable": problem is None}
        if problem is not None and status == "ok":
            body["status"] = "degraded"
    if view.active_collector is not None:
        holder = _active_holder(view)
        body["collector"] = None if holder is None else {"holder": holder}
    return (200 if all(f.healthy for f in feeds) else 503), body


def _active_holder(view: OperatorView) -> str | None:
    """The lease holder's name ("host:pid", ours, not the tenant's), None when none holds it or
    the store cannot say."""
    if view.active_collector is None:
        return None
    try:
        info = view.active_collector()
    except Exception:
        return None
    return None if info is None else _HOLDER_UNSAFE.sub("_", str(info.holder))[:100]


def _coverage_json(coverage: Coverage) -> dict[str, Any]:
    return {
        "complete": coverage.complete,
        "campaigns": coverage.campaigns,
        "per_poll": coverage.per_poll,
        "cycle_s": coverage.cycle_s,
        "needed_per_min": round(coverage.needed_per_min, 1),
        "granted_per_min": round(coverage.granted_per_min, 1),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# -- /metrics ----------------------------------------------------------------------------------


class OperatorCollector(Collector):
    """A Prometheus collector over one `OperatorView`, read afresh at every scrape."""

    def __init__(self, view: OperatorView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        yield from _feed_metrics(feed_health(self.view))
        yield from _upstream_metrics(self.view)
        uptime = uptime_s(self.view)
        if uptime is not None:
            yield GaugeMetricFamily(
                "ipscape_collector_uptime_seconds",
                "Seconds since the collector started.",
                value=uptime,
            )
        if self.view.history is not None:
            yield GaugeMetricFamily(
                "ipscape_history_recording",
                "1 while intraday history is being recorded, else 0.",
                value=float(self.view.history.status().recording),
            )
        yield from _scale_out_metrics(self.view)
        yield from _alert_metrics(self.view)
        coverage = self.view.coverage() if self.view.coverage is not None else None
        if coverage is not None:
            yield GaugeMetricFamily(
                "ipscape_campaigns",
                "Campaigns the campaigns feed covers.",
                value=coverage.campaigns,
            )
            yield GaugeMetricFamily(
                "ipscape_campaigns_per_poll",
                "Campaign statistics refreshed by each campaigns poll.",
                value=coverage.per_poll,
            )
            yield GaugeMetricFamily(
                "ipscape_campaign_refresh_cycle_seconds",
                "How often each campaign's statistics are refreshed.",
                value=coverage.cycle_s,
            )


def _scale_out_metrics(view: OperatorView) -> Iterator[Metric]:
    if view.active_collector is not None:
        active = GaugeMetricFamily(
            "ipscape_collector_active",
            "1 for the process holding the collector lease (the one polling the tenant).",
            labels=["holder"],
        )
        holder = _active_holder(view)
        if holder is not None:
            active.add_metric([holder], 1.0)
        yield active
    follower = view.follower
    if follower is not None:
        yield CounterMetricFamily(
            "ipscape_replica_snapshot_reads",
            "Snapshot frames this replica read from the shared store (each version once).",
            value=follower.frame_reads,
        )
        yield CounterMetricFamily(
            "ipscape_replica_status_checks",
            "Status checks this replica made on the shared store.",
            value=follower.status_reads,
        )
        yield GaugeMetricFamily(
            "ipscape_replica_store_reachable",
            "1 while this replica can read the shared store, else 0.",
            value=float(follower.problem() is None),
        )


def _alert_metrics(view: OperatorView) -> Iterator[Metric]:
    stats = view.alerts() if view.alerts is not None else None
    if stats is None:
        return
    raised = CounterMetricFamily(
        "ipscape_alerts_raised",
        "Level changes the collector announced, by the level entered (ok: cleared).",
        labels=["level"],
    )
    for level in NOTIFIED_LEVELS:
        raised.add_metric([level], stats.raised.get(level, 0))
    sent = CounterMetricFamily(
        "ipscape_alerts_sent", "Notifications the channel took.", labels=["channel"]
    )
    retried = CounterMetricFamily(
        "ipscape_alerts_retried",
        "Failed delivery attempts that were tried again.",
        labels=["channel"],
    )
    given_up = CounterMetricFamily(
        "ipscape_alerts_given_up",
        "Notifications given up: refused for good, or still failing after max_attempts.",
        labels=["channel"],
    )
    dropped = CounterMetricFamily(
        "ipscape_alerts_dropped",
        "Notifications dropped from a full queue before they were delivered.",
        labels=["channel"],
    )
    for counts in stats.deliveries:
        labels = [safe_label(counts.channel) or "other"]  # a fixed word, never the address
        sent.add_metric(labels, counts.sent)
        retried.add_metric(labels, counts.retried)
        given_up.add_metric(labels, counts.given_up)
        dropped.add_metric(labels, counts.dropped)
    yield from (raised, sent, retried, given_up, dropped)


def _feed_metrics(feeds: list[FeedHealth]) -> Iterator[Metric]:
    age = GaugeMetricFamily(
        "ipscape_feed_age_seconds",
        "Age of the feed's last good data (absent before the first).",
        labels=["feed"],
    )
    limit = GaugeMetricFamily(
        "ipscape_feed_age_limit_seconds", "Age past which the feed fails /healthz.", labels=["feed"]
    )
    interval = GaugeMetricFamily(
        "ipscape_feed_interval_seconds", "The feed's poll interval.", labels=["feed"]
    )
    state = GaugeMetricFamily(
        "ipscape_feed_state", "1 for the feed's current state.", labels=["feed", "state"]
    )
    healthy = GaugeMetricFamily(
        "ipscape_feed_healthy", "1 while the feed passes /healthz.", labels=["feed"]
    )
    error = GaugeMetricFamily(
        "ipscape_feed_last_error",
        "1 for the kind of error of the feed's latest refresh, if it failed.",
        labels=["feed", "kind"],
    )
    refresh = GaugeMetricFamily(
        "ipscape_feed_last_refresh_duration_seconds",
        "How long the feed's latest refresh took, good or not.",
        labels=["feed"],
    )
    failures = GaugeMetricFamily(
        "ipscape_feed_consecutive_failures",
        "Failed refreshes of the feed in a row.",
        labels=["feed"],
    )
    fetches = CounterMetricFamily(
        "ipscape_feed_good_fetches",
        "Good fetches published for the feed (its snapshot version).",
        labels=["feed"],
    )
    for f in feeds:
        labels = [f.feed]
        if f.age_s is not None:
            age.add_metric(labels, f.age_s)
        limit.add_metric(labels, f.limit_s)
        interval.add_metric(labels, f.interval_s)
        for name in FEED_STATES:
            state.add_metric([f.feed, name], float(name == f.state))
        healthy.add_metric(labels, float(f.healthy))
        if f.error_kind is not None:
            error.add_metric([f.feed, f.error_kind], 1.0)
        if f.refresh_s is not None:
            refresh.add_metric(labels, f.refresh_s)
        failures.add_metric(labels, f.failures)
        fetches.add_metric(labels, f.version)
    yield from (age, limit, interval, state, healthy, error, refresh, failures, fetches)


def _upstream_metrics(view: OperatorView) -> Iterator[Metric]:
    if view.meter is not None:
        requests = GaugeMetricFamily(
            "ipscape_upstream_requests_last_minute",
            "Requests sent to the tenant in the last minute.",
            labels=["operation"],
        )
        latency = GaugeMetricFamily(
            "ipscape_upstream_last_latency_seconds",
            "Latency of the latest request to the tenant.",
            labels=["operation"],
        )
        for operation, row in sorted(view.meter.summary(METER_WINDOW_S).items()):
            labels = [safe_label(operation) or "other"]
            requests.add_metric(labels, row["requests"])
            if row["last_latency_ms"] is not None:
                latency.add_metric(labels, row["last_latency_ms"] / 1000)
        yield requests
        yield latency
    if view.budget is not None:
        per_minute = view.budget.per_minute
        yield GaugeMetricFamily(
            "ipscape_request_budget_limit_per_minute",
            "The ceiling on requests to the tenant per minute (+Inf: none).",
            value=math.inf if per_minute is None else per_minute,
        )
        yield GaugeMetricFamily(
            "ipscape_request_budget_used_last_minute",
            "Requests to the tenant counted against the budget in the last minute.",
            value=view.budget.used_last_minute(),
        )


def metrics_text(view: OperatorView) -> tuple[bytes, str]:
    """The body and content type of ``/metrics`` (Prometheus text format 0.0.4)."""
    # A private registry: nothing of the process-wide default one (or of Streamlit) leaks in.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OperatorCollector(view))
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4


# -- routes ------------------------------------------------------------------------------------


def routes(view_provider: Callable[[], OperatorView | None], *, base_path: str = "") -> list[Route]:
    """``GET /healthz`` and ``GET /metrics`` over the view the provider returns (None: the
    collector is not built yet). Plain functions, so Starlette runs them on its thread pool and
    a snapshot store that blocks (a database) never holds the event loop. With ``base_path``
    (Streamlit's ``server.baseUrlPath``) they answer under it too: behind a proxy that passes
    only that path, a probe of ``/<base>/healthz`` must reach them, not the app's HTML page."""

    def healthz(request: Request) -> Response:
        view = view_provider()
        if view is None:
            return JSONResponse({"status": "starting"}, status_code=503, headers=NO_STORE)
        try:
            code, body = health_report(view)
        except Exception as exc:
            return _unreadable(exc, JSONResponse({"status": "failing"}, 503, NO_STORE))
        return JSONResponse(body, status_code=code, headers=NO_STORE)

    def metrics(request: Request) -> Response:
        view = view_provider()
        if view is None:
            return Response(b"", status_code=503, headers=NO_STORE)
        try:
            body, content_type = metrics_text(view)
        except Exception as exc:
            return _unreadable(exc, Response(b"", status_code=503, headers=NO_STORE))
        return Response(body, media_type=content_type, headers=NO_STORE)

    prefixes = [""] + ([f"/{base_path.strip('/')}"] if base_path.strip("/") else [])
    return [
        Route(f"{prefix}{path}", endpoint, methods=["GET"])
        for prefix in prefixes
        for path, endpoint in (("/healthz", healthz), ("/metrics", metrics))
    ]


def _unreadable(exc: Exception, response: Response) -> Response:
    # Only the exception's type: a store's message may name a database URL.
    log.warning(
        "operator endpoint: the collector's state could not be read (%s)", type(exc).__name__
    )
    return response


__all__ = (
    "FEED_STATES",
    "MIN_STALE_LIMIT_S",
    "STALE_LIMIT_INTERVALS",
    "FeedHealth",
    "OperatorCollector",
    "OperatorView",
    "feed_health",
    "feed_limit_s",
    "health_report",
    "metrics_text",
    "routes",
)
