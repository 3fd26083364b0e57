"""Operators' endpoints: /healthz answers by the health rule, /metrics in Prometheus format, and
neither tells a scraper anything but fixed labels and numbers.

Unit tests read real `MemorySnapshots`, `RequestBudget`, `UpstreamMeter` and `ResilientHistory`
objects on manual clocks; the HTTP tests serve `health.routes` with uvicorn on 127.0.0.1 and
meter a real `IpscapeClient` against the simulator.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from ipscape.alerts import AlertStats, DeliveryCounts
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient, UpstreamMeter
from ipscape.clock import ManualClock, utc_from_timestamp
from ipscape.config import DashboardConfig
from ipscape.feeds import Coverage
from ipscape.frames import campaigns_frame
from ipscape.health import (
    OperatorView,
    feed_limit_s,
    health_report,
    metrics_text,
    routes,
)
from ipscape.history import ResilientHistory, SQLiteHistory
from ipscape.live import LiveData
from ipscape.replica import SnapshotFollower
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator
from ipscape.simulator.server import bind_socket
from ipscape.snapshots import FeedStatus, MemorySnapshots

ROOT = Path(__file__).resolve().parents[1]
CANARY = "canary-error-text-5d1e"
FEED_KEYS = {
    "state",
    "healthy",
    "age_s",
    "interval_s",
    "limit_s",
    "error_kind",
    "failures",
    "refresh_s",
    "version",
}

# --- building views -----------------------------------------------------------------------------


def put(
    store: MemorySnapshots,
    clock: ManualClock,
    feed: str,
    *,
    interval_s: float = 10.0,
    age_s: float | None = None,
    error_kind: str | None = None,
    failures: int = 0,
    refresh_s: float = 0.25,
) -> None:
    """A feed whose last good fetch is ``age_s`` old (None: never), then a failed refresh when
    ``error_kind`` is given (its free text the canary)."""
    now = utc_from_timestamp(clock())
    fetched_at = None if age_s is None else now - timedelta(seconds=age_s)
    status = FeedStatus(feed, interval_s, fetched_at=fetched_at, refresh_s=refresh_s)
    if fetched_at is not None:
        store.publish(status, campaigns_frame([]))
    if error_kind is not None:
        store.report(
            FeedStatus(
                feed,
                interval_s,
                fetched_at=fetched_at,
                error=CANARY,
                error_kind=error_kind,
                error_at=now,
                refresh_s=refresh_s,
                failures=failures,
            )
        )


# The states an operator must tell apart: feed setup -> (feed state, healthy).
CASES: dict[str, tuple[dict[str, Any], str, bool]] = {
    "fresh": ({"age_s": 5.0}, "fresh", True),
    "stale within the limit": ({"age_s": 45.0}, "stale", True),
    "too old": ({"age_s": 61.0}, "stale", False),
    "error with recent data": (
        {"age_s": 30.0, "error_kind": "timeout", "failures": 2},
        "error",
        True,
    ),
    "error with data too old": (
        {"age_s": 600.0, "error_kind": "auth", "failures": 9},
        "error",
        False,
    ),
    "error before any data": ({"error_kind": "unreachable", "failures": 1}, "error", False),
    "empty": ({}, "empty", False),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store() -> Iterator[MemorySnapshots]:
    snapshots = MemorySnapshots()
    yield snapshots
    snapshots.close()


def view_of(store: MemorySnapshots, clock: ManualClock, **fields: Any) -> OperatorView:
    fields.setdefault("feeds", {"agents": 10.0})
    return OperatorView(snapshots=store, clock=clock, **fields)


def report_empty(store: MemorySnapshots, feed: str = "agents") -> None:
    store.report(FeedStatus(feed, 10.0))


def metric_samples(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels) -> value, parsed back from the exposition text."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def sample(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


# --- the health rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_each_feed_state_gives_its_code(
    case: str, store: MemorySnapshots, clock: ManualClock
) -> None:
    setup, state, healthy = CASES[case]
    if setup:
        put(store, clock, "agents", **setup)
    else:
        report_empty(store)
    code, body = health_report(view_of(store, clock))
    feed = body["feeds"]["agents"]
    assert (feed["state"], feed["healthy"]) == (state, healthy)
    assert code == (200 if healthy else 503)
    assert body["status"] == (
        "failing" if not healthy else "ok" if state == "fresh" else "degraded"
    )


def test_limit_is_five_intervals_and_never_under_a_minute() -> None:
    assert feed_limit_s(5) == 60
    assert feed_limit_s(12) == 60
    assert feed_limit_s(30) == 150


def test_data_exactly_at_the_limit_still_passes(store: MemorySnapshots, clock: ManualClock) -> None:
    put(store, clock, "agents", interval_s=30.0, age_s=150.0)
    code, body = health_report(view_of(store, clock, feeds={"agents": 30.0}))
    assert code == 200
    assert body["feeds"]["agents"]["limit_s"] == 150
    clock.advance(0.5)
    assert health_report(view_of(store, clock, feeds={"agents": 30.0}))[0] == 503


def test_error_with_recent_data_reports_kind_failures_and_age(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    put(store, clock, "agents", age_s=30.0, error_kind="rate_limited", failures=3, refresh_s=1.5)
    code, body = health_report(view_of(store, clock))
    assert code == 200
    assert body["status"] == "degraded"
    assert body["feeds"]["agents"] == {
        "state": "error",
        "healthy": True,
        "age_s": 30.0,
        "interval_s": 10.0,
        "limit_s": 60.0,
        "error_kind": "rate_limited",
        "failures": 3,
        "refresh_s": 1.5,
        "version": 1,
    }


def test_one_failing_feed_fails_the_whole(store: MemorySnapshots, clock: ManualClock) -> None:
    put(store, clock, "agents", age_s=1.0)
    put(store, clock, "campaigns", age_s=900.0)
    code, body = health_report(view_of(store, clock, feeds={"agents": 10.0, "campaigns": 10.0}))
    assert (code, body["status"]) == (503, "failing")
    assert body["feeds"]["agents"]["healthy"] is True
    assert body["feeds"]["campaigns"]["healthy"] is False


def test_feed_not_reported_yet_is_starting_until_its_limit_after_collector_start(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    monotonic = ManualClock(start=100.0)
    put(store, clock, "agents", age_s=1.0)
    view = view_of(
        store,
        clock,
        feeds={"agents": 10.0, "voicemail": 30.0},
        started_at=100.0,
        monotonic=monotonic,
    )
    monotonic.advance(20)
    code, body = health_report(view)
    assert (code, body["status"]) == (503, "starting")
    assert body["uptime_s"] == 20
    assert body["feeds"]["voicemail"] == {
        "state": "starting",
        "healthy": False,
        "age_s": None,
        "interval_s": 30.0,
        "limit_s": 150.0,
        "error_kind": None,
        "failures": 0,
        "refresh_s": None,
        "version": 0,
    }
    monotonic.advance(131)  # past voicemail's limit of 150 s since start, still nothing
    assert health_report(view) == (503, {**body, "status": "failing", "uptime_s": 151})


def test_without_a_collector_here_a_missing_feed_is_failing(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    code, body = health_report(view_of(store, clock))
    assert (code, body["status"], body["uptime_s"]) == (503, "failing", None)
    assert body["feeds"]["agents"]["state"] == "starting"


def test_history_not_recording_degrades_but_keeps_200(
    store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"  # a file where the history's folder should be
    blocker.write_text("")
    history = ResilientHistory(lambda: SQLiteHistory(blocker / "history.sqlite", 7))
    try:
        put(store, clock, "agents", age_s=1.0)
        view = view_of(store, clock, history=history)
        assert health_report(view)[1]["history"] == {"recording": True, "reason": None}
        history.append_campaigns(campaigns_frame([]), utc_from_timestamp(clock()))
        code, body = health_report(view)
        assert (code, body["status"]) == (200, "degraded")
        assert body["history"]["recording"] is False
        assert body["history"]["reason"] == history.status().reason
        assert str(tmp_path) not in json.dumps(body)
    finally:
        history.close()


def test_campaign_coverage_is_reported_in_numbers(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    coverage = Coverage(
        campaigns=100, per_poll=25, needed_per_min=400, granted_per_min=100, interval_s=15
    )
    put(store, clock, "campaigns", interval_s=15.0, age_s=1.0)
    view = view_of(store, clock, feeds={"campaigns": 15.0}, coverage=lambda: coverage)
    assert health_report(view)[1]["campaign_coverage"] == {
        "complete": False,
        "campaigns": 100,
        "per_poll": 25,
        "cycle_s": 60.0,
        "needed_per_min": 400.0,
        "granted_per_min": 100.0,
    }
    assert health_report(view_of(store, clock))[1]["campaign_coverage"] is None


def test_error_text_and_unknown_labels_never_reach_the_body(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    put(store, clock, "agents", age_s=5.0, error_kind="auth")
    store.report(FeedStatus("Sales <b>", 10.0, error=CANARY, error_kind=f"{CANARY} Sales"))
    body = health_report(view_of(store, clock))[1]
    text = json.dumps(body)
    assert CANARY not in text
    assert "Sales" not in text
    assert body["feeds"]["other"]["error_kind"] == "other"
    assert body["feeds"]["agents"]["error_kind"] == "auth"
    assert set(body) == {"status", "feeds", "history", "campaign_coverage", "uptime_s"}
    assert all(set(feed) == FEED_KEYS for feed in body["feeds"].values())


# --- /metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Who holds the collector lease, as a scaled deployment's leader table says."""

    holder: str
    since: datetime | None = None


def full_view(
    store: MemorySnapshots, clock: ManualClock, monotonic: ManualClock, tmp_path: Path
) -> OperatorView:
    """A view with every source of metrics filled: a meter, a budget, history, coverage."""
    meter = UpstreamMeter(clock=monotonic)
    meter.record("list_campaigns", 200, 0.25)
    monotonic.advance(61)  # that one is out of the last minute now
    meter.record("campaign_statistics", 200, 0.5)
    meter.record("campaign_statistics", 429, 0.125, "rate limited")
    budget = RequestBudget(120, clock=monotonic)
    for _ in range(3):
        budget.acquire("agents")
    history = ResilientHistory(lambda: SQLiteHistory(tmp_path / "history.sqlite", 7))
    coverage = Coverage(
        campaigns=40, per_poll=10, needed_per_min=160, granted_per_min=40, interval_s=15
    )
    return OperatorView(
        snapshots=store,
        feeds={"agents": 10.0, "campaigns": 15.0, "voicemail": 30.0},
        clock=clock,
        started_at=0.0,
        monotonic=monotonic,
        meter=meter,
        budget=budget,
        history=history,
        coverage=lambda: coverage,
        active_collector=lambda: Holder("collector-a:4242"),
        follower=SnapshotFollower(store, MemorySnapshots()),
        alerts=lambda: ALERT_STATS,
    )


ALERT_STATS = AlertStats(
    {"warn": 3, "alert": 2, "ok": 4},
    (
        DeliveryCounts("webhook", sent=8, retried=5, given_up=1),
        DeliveryCounts("email", sent=9, dropped=2),
    ),
)


def test_metrics_report_every_feed_in_numbers(
    store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    put(store, clock, "agents", age_s=7.0, refresh_s=0.75)
    put(store, clock, "agents", age_s=4.0, error_kind="timeout", failures=2, refresh_s=2.5)
    put(store, clock, "campaigns", interval_s=15.0, age_s=3.0)
    body, content_type = metrics_text(full_view(store, clock, ManualClock(start=0.0), tmp_path))
    assert content_type.startswith("text/plain; version=0.0.4")
    got = metric_samples(body)

    assert sample(got, "ipscape_feed_age_seconds", feed="agents") == 4.0
    assert sample(got, "ipscape_feed_age_seconds", feed="voicemail") is None  # unknown, not 0
    assert sample(got, "ipscape_feed_age_limit_seconds", feed="campaigns") == 75.0
    assert sample(got, "ipscape_feed_interval_seconds", feed="voicemail") == 30.0
    assert sample(got, "ipscape_feed_last_refresh_duration_seconds", feed="agents") == 2.5
    assert sample(got, "ipscape_feed_consecutive_failures", feed="agents") == 2
    assert sample(got, "ipscape_feed_good_fetches_total", feed="agents") == 2
    assert sample(got, "ipscape_feed_good_fetches_total", feed="voicemail") == 0
    assert sample(got, "ipscape_feed_last_error", feed="agents", kind="timeout") == 1
    assert not [
        key for key in got if key[0] == "ipscape_feed_last_error" and "campaigns" in str(key)
    ]
    assert sample(got, "ipscape_feed_healthy", feed="agents") == 1
    assert sample(got, "ipscape_feed_healthy", feed="voicemail") == 0
    one_hot = {
        feed: {
            state: sample(got, "ipscape_feed_state", feed=feed, state=state)
            for state in ("fresh", "stale", "error", "empty", "starting")
        }
        for feed in ("agents", "campaigns", "voicemail")
    }
    assert one_hot == {
        "agents": {"fresh": 0, "stale": 0, "error": 1, "empty": 0, "starting": 0},
        "campaigns": {"fresh": 1, "stale": 0, "error": 0, "empty": 0, "starting": 0},
        "voicemail": {"fresh": 0, "stale": 0, "error": 0, "empty": 0, "starting": 1},
    }


def test_metrics_report_upstream_budget_uptime_history_and_coverage(
    store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    view = full_view(store, clock, ManualClock(start=0.0), tmp_path)
    try:
        got = metric_samples(metrics_text(view)[0])
        requests = "ipscape_upstream_requests_last_minute"
        assert sample(got, requests, operation="campaign_statistics") == 2
        assert sample(got, requests, operation="list_campaigns") == 0
        latency = "ipscape_upstream_last_latency_seconds"
        assert sample(got, latency, operation="campaign_statistics") == 0.125
        assert sample(got, "ipscape_request_budget_limit_per_minute") == 120
        assert sample(got, "ipscape_request_budget_used_last_minute") == 3
        assert sample(got, "ipscape_collector_uptime_seconds") == 61
        assert sample(got, "ipscape_history_recording") == 1
        assert sample(got, "ipscape_campaigns") == 40
        assert sample(got, "ipscape_campaigns_per_poll") == 10
        assert sample(got, "ipscape_campaign_refresh_cycle_seconds") == 60
    finally:
        assert view.history is not None
        view.history.close()
    got = metric_samples(metrics_text(view)[0])
    assert sample(got, "ipscape_history_recording") == 0


def test_metrics_count_the_alerts_raised_and_each_channels_deliveries(
    store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    view = full_view(store, clock, ManualClock(start=0.0), tmp_path)
    try:
        body = metrics_text(view)[0]
    finally:
        assert view.history is not None
        view.history.close()
    got = metric_samples(body)
    raised = {lv: sample(got, "ipscape_alerts_raised_total", level=lv) for lv in ("warn", "ok")}
    assert raised == {"warn": 3, "ok": 4}
    assert sample(got, "ipscape_alerts_sent_total", channel="webhook") == 8
    assert sample(got, "ipscape_alerts_retried_total", channel="webhook") == 5
    assert sample(got, "ipscape_alerts_given_up_total", channel="webhook") == 1
    assert sample(got, "ipscape_alerts_dropped_total", channel="webhook") == 0
    assert sample(got, "ipscape_alerts_sent_total", channel="email") == 9
    assert sample(got, "ipscape_alerts_dropped_total", channel="email") == 2
    text = body.decode()
    assert "# TYPE ipscape_alerts_given_up_total counter" in text
    assert "# HELP ipscape_alerts_given_up_total " in text


def test_no_alert_metrics_where_no_collector_sends_them(
    store: MemorySnapshots, clock: ManualClock
) -> None:
    """A replica (no alerts source) and a collector standing by for the lease (None)."""
    for view in (view_of(store, clock), view_of(store, clock, alerts=lambda: None)):
        assert "ipscape_alerts_" not in metrics_text(view)[0].decode()


def test_the_servers_view_reads_the_alerts_of_its_collector_and_none_on_a_replica(
    shared_simulator: RunningSimulator,
) -> None:
    """The server's /metrics (LiveData.operator_view): the embedded collector's counters; a
    replica has none."""
    client = IpscapeClient(demo_settings(shared_simulator.api_root))
    embedded = LiveData(client, DashboardConfig())
    replica = LiveData(client, DashboardConfig(), embedded=False)
    try:
        assert embedded.collector is not None
        alerts = embedded.operator_view().alerts
        assert alerts is not None and alerts() == embedded.collector.alert_stats()
        assert alerts() == AlertStats({"warn": 0, "alert": 0, "ok": 0})  # nothing configured
        assert replica.operator_view().alerts is None
    finally:
        embedded.close()
        replica.close()
        client.close()


def test_an_unlimited_budget_reads_as_infinity(store: MemorySnapshots, clock: ManualClock) -> None:
    got = metric_samples(metrics_text(view_of(store, clock, budget=RequestBudget(None)))[0])
    assert sample(got, "ipscape_request_budget_limit_per_minute") == math.inf


def test_metrics_hold_only_our_metrics(store: MemorySnapshots, clock: ManualClock) -> None:
    """A private registry: no process or Python metrics of the default one (nor Streamlit's)."""
    put(store, clock, "agents", age_s=1.0)
    families = text_string_to_metric_families(metrics_text(view_of(store, clock))[0].decode())
    names = {family.name for family in families}
    assert "ipscape_feed_age_seconds" in names
    assert all(name.startswith("ipscape_") for name in names)


def test_error_text_never_reaches_the_metrics(store: MemorySnapshots, clock: ManualClock) -> None:
    put(store, clock, "agents", age_s=5.0, error_kind="auth")
    store.report(FeedStatus("Sales <b>", 10.0, error=CANARY, error_kind=f"{CANARY} Sales"))
    meter = UpstreamMeter()
    meter.record("GET /v3.0/campaigns?name=Sales", 500, 0.1, CANARY)
    body = metrics_text(view_of(store, clock, meter=meter))[0].decode()
    assert CANARY not in body
    assert "Sales" not in body
    got = metric_samples(body.encode())
    assert sample(got, "ipscape_feed_last_error", feed="other", kind="other") == 1
    assert sample(got, "ipscape_upstream_requests_last_minute", operation="other") == 1


def every_metric_name(tmp_path: Path) -> set[str]:
    """The family names /metrics can show, from a view with every source filled."""
    store, clock = MemorySnapshots(), ManualClock()
    put(store, clock, "agents", age_s=2.0, error_kind="timeout")
    view = full_view(store, clock, ManualClock(start=0.0), tmp_path)
    try:
        families = text_string_to_metric_families(metrics_text(view)[0].decode())
        return {family.name + ("_total" if family.type == "counter" else "") for family in families}
    finally:
        assert view.history is not None
        view.history.close()


def documented_metrics() -> set[str]:
    text = (ROOT / "docs" / "deployment.md").read_text()
    section = text.split("## 5. Health and metrics", 1)[1].split("\n## ", 1)[0]
    return {
        word.strip("`")
        for word in section.split()
        if word.startswith("`ipscape_") and word.rstrip(",.").endswith("`")
    }


def test_docs_list_exactly_the_metrics(tmp_path: Path) -> None:
    assert every_metric_name(tmp_path) == documented_metrics()


# --- over HTTP ----------------------------------------------------------------------------------


@contextmanager
def serving(
    view_provider: Callable[[], OperatorView | None], base_path: str = ""
) -> Iterator[httpx.Client]:
    """``routes(view_provider)`` served by uvicorn on 127.0.0.1, a free port; always stopped."""
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        Starlette(routes=routes(view_provider, base_path=base_path)),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.005)
        host, port = sock.getsockname()[:2]
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=10) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_before_the_collector_exists_both_endpoints_say_starting() -> None:
    with serving(lambda: None) as http:
        health = http.get("/healthz")
        metrics = http.get("/metrics")
    assert (health.status_code, health.json()) == (503, {"status": "starting"})
    assert metrics.status_code == 503
    assert health.headers["cache-control"] == metrics.headers["cache-control"] == "no-store"


def test_under_a_base_path_the_endpoints_answer_there_and_at_the_root() -> None:
    with serving(lambda: None, base_path="/cc/") as http:
        for path in ("/healthz", "/cc/healthz"):
            response = http.get(path)
            assert (response.status_code, response.json()) == (503, {"status": "starting"})
        assert http.get("/cc/metrics").status_code == 503
        assert http.get("/ccx/healthz").status_code == 404


@pytest.mark.parametrize("case", list(CASES))
def test_http_status_follows_the_feed_state(
    case: str, store: MemorySnapshots, clock: ManualClock
) -> None:
    setup, state, healthy = CASES[case]
    if setup:
        put(store, clock, "agents", **setup)
    else:
        report_empty(store)
    view = view_of(store, clock)
    with serving(lambda: view) as http:
        response = http.get("/healthz")
    assert response.status_code == (200 if healthy else 503)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["feeds"]["agents"]["state"] == state
    assert CANARY not in response.text


def tenant_strings(client: IpscapeClient) -> list[str]:
    """Every campaign and agent name the tenant shows (read before the meter is swapped)."""
    campaigns = [row["campaignName"] for row in client.list_campaigns()]
    agents = [row["agentFullName"] for row in client.agent_status()]
    assert campaigns and agents
    return [*campaigns, *agents]


def test_endpoints_over_http_with_a_metered_client_leak_nothing(
    simulator: RunningSimulator, store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    settings = demo_settings(simulator.api_root)
    with IpscapeClient(settings) as client:
        names = tenant_strings(client)
        client.meter = UpstreamMeter(clock=ManualClock(start=0.0))  # a frozen minute
        simulator.reset_stats()
        client.list_campaigns()
        client.agent_status()
        client.agent_status()
        sent = simulator.stats()["requests"]

        put(store, clock, "campaigns", interval_s=15.0, age_s=3.0)
        put(store, clock, "agents", age_s=2.0, error_kind="server", failures=1)
        history = ResilientHistory(lambda: SQLiteHistory(tmp_path / "history.sqlite", 7))
        view = OperatorView(
            snapshots=store,
            feeds={"campaigns": 15.0, "agents": 10.0},
            clock=clock,
            meter=client.meter,
            budget=client.budget,
            history=history,
        )
        try:
            with serving(lambda: view) as http:
                health = http.get("/healthz")
                metrics = http.get("/metrics")
                wrong_method = http.post("/healthz")
        finally:
            history.close()
        assert simulator.stats()["requests"] == sent  # the endpoints asked the tenant nothing

    assert (health.status_code, health.json()["status"]) == (200, "degraded")
    assert set(health.json()["feeds"]) == {"campaigns", "agents"}
    assert health.json()["feeds"]["agents"]["error_kind"] == "server"
    assert wrong_method.status_code == 405
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert metrics.headers["cache-control"] == "no-store"
    got = metric_samples(metrics.content)
    requests = "ipscape_upstream_requests_last_minute"
    assert sample(got, requests, operation="list_campaigns") == sent["GET /v3.0/campaigns"] == 1
    assert sample(got, requests, operation="agent_status") == sent["GET /v3.0/agents/status"] == 2

    secrets = [settings.api_token, *settings.secret_keys, settings.base_url, simulator.url]
    for where, text in (("/healthz", health.text), ("/metrics", metrics.text)):
        for forbidden in (*secrets, *names, CANARY):
            assert forbidden not in text, f"{forbidden!r} leaked into {where}"


def test_a_replica_reports_the_lease_holder_and_its_store(
    store: MemorySnapshots, clock: ManualClock, tmp_path: Path
) -> None:
    put(store, clock, "agents", age_s=2.0)
    view = full_view(store, clock, ManualClock(start=0.0), tmp_path)
    assert view.follower is not None
    view.follower.sync()
    try:
        _, body = health_report(view)
        families = {
            f.name: f for f in text_string_to_metric_families(metrics_text(view)[0].decode())
        }
    finally:
        assert view.history is not None
        view.history.close()
    assert body["collector"] == {"holder": "collector-a:4242"}
    assert body["store"] == {"reachable": True}
    (active,) = families["ipscape_collector_active"].samples
    assert active.labels == {"holder": "collector-a:4242"} and active.value == 1
    reads = families["ipscape_replica_snapshot_reads"].samples[0].value
    assert reads == view.follower.frame_reads == 1
