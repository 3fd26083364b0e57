"""The scaled wiring in one process, on a real PostgreSQL server and the simulator over HTTP:
a dashboard that collects under the lease, a pure replica, two collectors taking turns, and a
replica that loses its database and gets it back. tests/test_scale_out.py runs the same as
separate processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ipscape.config import DashboardConfig, HistoryConfig, PollConfig
from ipscape.deployment import build_scaled
from ipscape.live import LiveData
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests import pg_support
from tests.pg_support import PostgresServer

# Real time, short intervals (a PollConfig built in code is not held to dashboard.toml's 8 s).
POLL = PollConfig(campaigns_s=0.5, agents_s=0.5, activities_s=1.0, jitter_s=0)
WAIT_S = 60.0


def eventually(check: Callable[[], object], what: str, within_s: float = WAIT_S) -> object:
    """``check()`` once it is truthy; fails the test after ``within_s`` (a generous bound on a
    loaded machine, never an assertion about speed)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {within_s:.0f} s: {what}")


@pytest.fixture
def tenant() -> Iterator[RunningSimulator]:
    with start_simulator(SimulatorConfig(seed=6, speed=0, calls_per_day=400)) as sim:
        yield sim


@pytest.fixture
def config(tmp_path: Path) -> DashboardConfig:
    return DashboardConfig(poll=POLL, history=HistoryConfig(path=str(tmp_path / "unused.db")))


def scaled(tenant: RunningSimulator, config: DashboardConfig, url: str, *, collect: bool):
    return build_scaled(demo_settings(tenant.api_root), config, url, collect=collect).start()


def test_a_dashboard_collects_under_the_lease_and_a_replica_reads_it(
    tenant: RunningSimulator, config: DashboardConfig, pg_url: str
) -> None:
    leader = scaled(tenant, config, pg_url, collect=True)
    replica = scaled(tenant, config, pg_url, collect=False)
    try:
        assert replica.collector is None and replica.follower is not None
        eventually(lambda: replica.campaigns().has_data, "the replica sees the campaigns")
        for live in (leader, replica):
            for feed in ("campaigns", "agents", "activities", "voicemail", "transfers"):
                assert live.snapshot(feed).has_data, feed
        holder = replica.active_collector()
        assert holder is not None and holder.holder.endswith(f":{_pid()}")
        assert replica.store_problem() is None
        # Only the leader's client asks the tenant for the feeds.
        assert sum(replica.client.meter.summary(60).get(op, {}).get("requests", 0)
                   for op in ("list_campaigns", "agent_status")) == 0  # fmt: skip
        trend = eventually(
            lambda: len(replica.history.campaign_history(_midnight(replica))),  # type: ignore[union-attr]
            "campaign history in the database",
        )
        assert trend
    finally:
        replica.close()
        leader.close()


def test_two_collectors_take_turns_and_only_one_polls(
    tenant: RunningSimulator, config: DashboardConfig, pg_url: str
) -> None:
    first = scaled(tenant, config, pg_url, collect=True)
    second = scaled(tenant, config, pg_url, collect=True)
    try:
        leases = [s for live in (first, second) for s in live.services if hasattr(s, "active")]
        eventually(lambda: any(s.active for s in leases), "one collector leads")
        time.sleep(1.0)
        assert sum(s.active for s in leases) == 1
        active = next(s for s in leases if s.active)
        standby = next(s for s in leases if not s.active)
        active.stop()  # a clean stop releases the lease
        eventually(lambda: standby.active, "the standby takes over")
        term = standby.term
        assert term is not None and active.term is not None and term > active.term
    finally:
        second.close()
        first.close()


def test_a_replica_keeps_its_data_while_the_database_is_down_and_recovers(
    tenant: RunningSimulator, config: DashboardConfig
) -> None:
    server = PostgresServer()  # its own: this test stops and starts it
    server.start()
    try:
        url = server.create_database()
        leader = scaled(tenant, config, url, collect=True)
        replica = scaled(tenant, config, url, collect=False)
        try:
            eventually(lambda: replica.campaigns().has_data, "first data")
            before = replica.campaigns()
            server.stop()
            eventually(replica.store_problem, "the replica notices")
            during = replica.campaigns()
            assert during.has_data and during.fetched_at == before.fetched_at
            server.start()
            eventually(lambda: replica.store_problem() is None, "the replica recovers")
            eventually(
                lambda: replica.campaigns().fetched_at > before.fetched_at,  # type: ignore[operator]
                "new data after the outage",
            )
        finally:
            replica.close()
            leader.close()
    finally:
        server.remove()


def _pid() -> int:
    return os.getpid()


def _midnight(live: LiveData):  # type: ignore[no-untyped-def]
    return live.now().replace(hour=0, minute=0, second=0, microsecond=0)


def collect_env(tenant: RunningSimulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSCAPE_")}
    env.update(
        IPSCAPE_BASE_URL=tenant.api_root,
        IPSCAPE_API_TOKEN=tenant.token,
        IPSCAPE_SECRET_KEY_1=tenant.keys[0],
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def test_collect_without_a_database_says_what_to_set(tenant: RunningSimulator) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ipscape", "collect"],
        env=collect_env(tenant),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "IPSCAPE_DATABASE_URL=postgresql://" in done.stderr and "Traceback" not in done.stderr


def test_collect_polls_serves_its_health_and_stops_on_sigterm(
    tenant: RunningSimulator, pg_url: str, tmp_path: Path
) -> None:
    port = pg_support.free_port()
    config = tmp_path / "dashboard.toml"
    config.write_text("[poll]\ncampaigns_s = 8\nagents_s = 8\nactivities_s = 8\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ipscape", "collect", "--metrics-port", str(port)],
        env=collect_env(tenant, IPSCAPE_DATABASE_URL=pg_url, IPSCAPE_DASHBOARD_CONFIG=str(config)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy() -> object:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except httpx.HTTPError:
                return None
            return response.status_code == 200 and response.json()

        body = eventually(healthy, "the collector's /healthz reads 200")
        assert body["collector"]["holder"].endswith(f":{process.pid}")  # type: ignore[index]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'ipscape_collector_active{holder="' in metrics
        assert tenant.stats()["requests"].get("GET /v3.0/agents/status", 0) >= 1
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "collector active (term 1)" in output and "Traceback" not in output


def test_a_dashboard_started_while_the_database_is_down_waits_for_it(
    tenant: RunningSimulator, config: DashboardConfig
) -> None:
    server = PostgresServer()
    server.start()
    try:
        url = server.create_database()  # empty: no schema yet
        server.stop()
        live = scaled(tenant, config, url, collect=True)
        try:
            problem = eventually(live.store_problem, "the dashboard says the database is down")
            assert "postgres@" not in str(problem)
            assert not live.campaigns().has_data
            server.start()
            eventually(lambda: live.campaigns().has_data, "data once the database is up")
            # The problem is cleared once the whole first pass is done (data lands within it).
            eventually(lambda: live.store_problem() is None, "the warning goes")
        finally:
            live.close()
    finally:
        server.remove()


def test_a_replicas_pages_and_wall_say_when_the_shared_database_is_down(
    tenant: RunningSimulator,
    config: DashboardConfig,
    app_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real app as a pure replica (IPSCAPE_COLLECTOR=external) beside a collecting one."""
    import re

    from streamlit.testing.v1 import AppTest

    from tests.app_support import point_app_at
    from ui import runtime

    server = PostgresServer()
    server.start()
    try:
        url = server.create_database()
        leader = scaled(tenant, config, url, collect=True)
        point_app_at(tenant, monkeypatch)
        monkeypatch.setenv("IPSCAPE_DATABASE_URL", url)
        monkeypatch.setenv("IPSCAPE_COLLECTOR", "external")
        runtime.reset()
        app = str(Path(__file__).parents[1] / "dashboard.py")
        try:
            assert not AppTest.from_file(app, default_timeout=60).run().exception
            replica = runtime.current()
            assert replica is not None and replica.collector is None
            eventually(lambda: replica.campaigns().has_data, "the replica has data")
            server.stop()
            eventually(replica.store_problem, "the replica notices")
            shown: list[str] = []
            for query in ({}, {"kiosk": "1", "rotate": "0"}):
                at = AppTest.from_file(app, default_timeout=60)
                at.query_params.update(query)
                at.run()
                assert not at.exception
                texts = [re.sub(r"\\(.)", r"\1", e.value) for e in (*at.warning, *at.error)]
                assert any("SHARED DATABASE UNREACHABLE since" in t for t in texts), query
                shown += texts
            assert not any("postgres@" in t for t in shown)  # the database URL stays out
        finally:
            runtime.reset()
            leader.close()
    finally:
        server.remove()
