"""A replica's local copy of the snapshots, and history reads shared by every viewer.

Here the shared store is an in-process MemorySnapshots written by a real collector over the
simulator; tests/test_pgstore.py and tests/test_scale_out.py do the same with PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ipscape import frames
from ipscape.client import IpscapeClient
from ipscape.clock import ManualClock
from ipscape.collector import FEED_SOURCES, Collector
from ipscape.config import DashboardConfig, PollConfig
from ipscape.history import SQLiteHistory
from ipscape.live import LiveData
from ipscape.replica import CachedHistory, SnapshotFollower
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from ipscape.snapshots import MemorySnapshots

POLL = PollConfig(campaigns_s=10, agents_s=10, activities_s=30, jitter_s=0)


@pytest.fixture
def tenant() -> Iterator[RunningSimulator]:
    with start_simulator(SimulatorConfig(seed=9, speed=0, calls_per_day=800)) as sim:
        yield sim


@pytest.fixture
def shared(tenant: RunningSimulator) -> Iterator[tuple[Collector, MemorySnapshots, ManualClock]]:
    clock = ManualClock(frames.parse_timestamp(tenant.state()["now"]).to_pydatetime())
    client = IpscapeClient(demo_settings(tenant.api_root))
    store = MemorySnapshots()
    collector = Collector(client, DashboardConfig(poll=POLL), store, clock=clock)
    try:
        yield collector, store, clock
    finally:
        collector.stop()
        client.close()


def test_the_follower_copies_each_new_version_once(shared) -> None:  # type: ignore[no-untyped-def]
    collector, source, clock = shared
    local = MemorySnapshots()
    follower = SnapshotFollower(source, local)
    assert follower.sync() == []  # nothing published yet
    collector.run_due()
    assert sorted(follower.sync()) == sorted(FEED_SOURCES)
    reads = follower.frame_reads
    for _ in range(5):  # many viewers' worth of checks, no new version
        assert follower.sync() == []
    assert follower.frame_reads == reads
    clock.advance(POLL.campaigns_s)
    collector.run_due()
    assert sorted(follower.sync()) == ["agents", "campaigns"]
    for feed in FEED_SOURCES:
        (mine, my_result), (theirs, their_result) = local.read(feed), source.read(feed)
        assert mine == theirs  # same status, version included
        assert my_result is not None and their_result is not None
        pd.testing.assert_frame_equal(my_result.frame, their_result.frame)
        assert my_result.drops == their_result.drops


def test_a_failed_refresh_reaches_the_replica_with_the_last_good_frame(  # type: ignore[no-untyped-def]
    shared, tenant: RunningSimulator
) -> None:
    collector, source, clock = shared
    local = MemorySnapshots()
    follower = SnapshotFollower(source, local)
    collector.run_due()
    follower.sync()
    good = local.read("agents")
    tenant.inject({"kind": "status", "status": 503, "match": "/v3.0/agents/status"})
    clock.advance(POLL.agents_s)
    collector.run_due()
    assert "agents" not in follower.sync()  # an error has no new frame to read
    status, result = local.read("agents")
    assert status is not None and status.error_kind == "server"
    assert result is good[1]


def test_drops_reach_the_replica_with_the_frame(shared, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    collector, source, _clock = shared
    sent = collector.client.agent_status

    def with_a_bad_row(campaign_id: int | None = None) -> list[object]:
        return [*sent(campaign_id), "not an object"]

    monkeypatch.setattr(collector.client, "agent_status", with_a_bad_row)
    local = MemorySnapshots()
    follower = SnapshotFollower(source, local)
    collector.run_due()
    follower.sync()
    replica = LiveData(
        IpscapeClient(collector.client.settings),
        collector.config,
        snapshots=local,
        embedded=False,
    )
    try:
        agents = replica.agents()
        assert agents.drops == frames.Drops({frames.NOT_AN_OBJECT: 1})
        assert agents.drops == source.read("agents")[1].drops  # type: ignore[union-attr]
    finally:
        replica.close()


def test_a_replica_reads_only_its_local_copy(shared, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    collector, source, _clock = shared
    local = MemorySnapshots()
    follower = SnapshotFollower(source, local)
    collector.run_due()
    follower.sync()
    replica = LiveData(
        IpscapeClient(collector.client.settings),
        collector.config,
        snapshots=local,
        embedded=False,
        follower=follower,
    )
    try:
        assert replica.collector is None and replica.pollers == {}
        published = source.read("campaigns")[1]
        assert published is not None and replica.campaigns().frame.equals(published.frame)
        assert replica.store_problem() is None
        assert replica.operator_view().started_at is None
    finally:
        replica.close()


def test_history_reads_are_shared_for_their_ttl(tmp_path: Path) -> None:
    clock = ManualClock()
    store = SQLiteHistory(tmp_path / "h.sqlite", 7, clock=clock)
    cached = CachedHistory(store, ttl_s=10, clock=clock)
    at = pd.Timestamp(clock(), unit="s", tz="UTC").to_pydatetime()
    rows = pd.DataFrame({"state": ["Available", "Busy"]})
    cached.append_agent_states(rows, at)
    since = at - timedelta(hours=1)
    first = cached.agent_state_history(since)
    cached.append_agent_states(rows, at + timedelta(seconds=5))
    assert cached.agent_state_history(since).equals(first)  # within the TTL: the same read
    clock.advance(11)
    later = cached.agent_state_history(since)
    assert later["at"].nunique() == first["at"].nunique() + 1
    cached.close()


def test_a_replica_without_a_database_says_what_to_set(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from ui import runtime

    monkeypatch.setenv("IPSCAPE_COLLECTOR", "external")
    runtime.reset()
    try:
        at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
        at.run()
        assert not at.exception
        shown = [re.sub(r"\\(.)", r"\1", e.value) for e in (*at.error, *at.info)]  # unescape
        assert any("IPSCAPE_COLLECTOR=external reads the shared database" in t for t in shown)
        assert any("IPSCAPE_COLLECTOR (embedded or external)" in t for t in shown), shown
        assert runtime.current() is None  # nothing started, no simulator either
    finally:
        runtime.reset()


def test_the_lease_holder_is_read_with_each_check_not_with_each_viewer(shared) -> None:  # type: ignore[no-untyped-def]
    collector, source, _clock = shared
    asked: list[int] = []

    @dataclass(frozen=True)
    class Holder:
        holder: str
        since: None = None

    def leader() -> Holder:
        asked.append(1)
        return Holder(f"collector-a:{len(asked)}")

    follower = SnapshotFollower(source, MemorySnapshots(), leader=leader)
    assert follower.active_collector() is None  # nothing checked yet
    collector.run_due()
    follower.sync()
    for _ in range(100):  # a hundred footers
        assert follower.active_collector() == Holder("collector-a:1")
    follower.sync()
    assert len(asked) == 2 and follower.active_collector() == Holder("collector-a:2")
