"""The collector against the simulator over real HTTP: it polls on its own schedule, readers only
read, and every result is published to the snapshot store and the history.

Most tests move a ManualClock together with the simulator's frozen clock and run the schedule
by hand (`Collector.run_due`); the last ones run the real scheduler thread on real time and
wait for what it publishes (never asserting how long anything took).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ipscape import feeds, frames, metrics
from ipscape.client import IpscapeClient, RetryPolicy
from ipscape.clock import ManualClock, start_of_day
from ipscape.collector import DERIVED_FAILED, FEED_SOURCES, Collector
from ipscape.config import DashboardConfig, PollConfig
from ipscape.history import SQLiteHistory
from ipscape.live import LiveData
from ipscape.metrics import feeds as metric_feeds
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from ipscape.snapshots import MemorySnapshots
from tests.app_support import MANUAL_POLL

POLL = MANUAL_POLL
STATISTICS = "GET /v3.0/campaigns/{campaignId}/statistics"
CAMPAIGNS = "GET /v3.0/campaigns"
AGENTS = "GET /v3.0/agents/status"
ACTIVITIES = "GET /v3.0/activities"


@dataclass
class Env:
    sim: RunningSimulator
    live: LiveData
    collector: Collector
    clock: ManualClock
    history: SQLiteHistory

    def advance(self, seconds: float) -> None:
        """Move the tenant and the collector's clock forward together, then run what is due."""
        self.sim.advance(seconds)
        self.clock.advance(seconds)
        self.collector.run_due()

    def requests(self) -> dict[str, int]:
        return dict(self.sim.stats()["requests"])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with running_env(tmp_path) as running:
        yield running


@contextmanager
def running_env(tmp_path: Path, omit_operations: frozenset[str] = frozenset()) -> Iterator[Env]:
    sim = start_simulator(
        SimulatorConfig(
            seed=4, speed=0, page_size=500, calls_per_day=1500, omit_operations=omit_operations
        )
    )
    clock = ManualClock(frames.parse_timestamp(sim.state()["now"]).to_pydatetime())
    settings = demo_settings(sim.api_root)
    client = IpscapeClient(settings, retry=RetryPolicy(max_attempts=1))
    history = SQLiteHistory(tmp_path / "history.sqlite", 7, clock=clock)
    config = DashboardConfig(display_timezone="Australia/Sydney", poll=POLL)
    live = LiveData(client, config, history, clock=clock, first_wait_s=0.5)
    assert live.collector is not None
    try:
        yield Env(sim, live, live.collector, clock, history)
    finally:
        live.close()
        sim.stop()


def campaign_count(env: Env) -> int:
    return len(env.live.campaigns().frame)


def test_the_collector_polls_every_feed_with_nobody_reading(env: Env) -> None:
    assert sorted(env.collector.run_due()) == ["activities", "agents", "campaigns"]
    for _ in range(3):
        env.advance(POLL.campaigns_s)
    asked = env.requests()
    # Four rounds of campaigns and agents (boot + three intervals), activities once (30 s).
    assert asked[CAMPAIGNS] == 4 and asked[AGENTS] == 4
    assert asked[STATISTICS] == 4 * campaign_count(env)
    assert asked[ACTIVITIES] >= 1
    statuses = env.live.snapshots.statuses()
    assert set(statuses) == set(FEED_SOURCES)
    assert statuses["campaigns"].version == 4 and statuses["agents"].version == 4


def test_reading_never_asks_the_tenant(env: Env) -> None:
    env.collector.run_due()
    before = env.sim.stats()["total"]
    for _ in range(50):
        env.clock.advance(1)  # long past the interval: the data goes stale, nobody refreshes it
        for feed in FEED_SOURCES:
            assert env.live.snapshot(feed).has_data
    assert env.sim.stats()["total"] == before
    assert env.live.campaigns().state == "stale"


def test_before_the_first_poll_a_reader_waits_a_bounded_moment_then_sees_empty(env: Env) -> None:
    snap = env.live.campaigns()  # the schedule has not run: first_wait_s is 0.5 s here
    assert snap.state == "empty" and not snap.has_data
    assert list(snap.frame.columns) == frames.FEED_COLUMNS["campaigns"]
    assert env.sim.stats()["total"] == 0


def test_voicemail_and_transfers_are_published_with_the_activities_they_come_from(
    env: Env,
) -> None:
    env.collector.run_due()
    activities, voicemail, transfers = (
        env.live.activities(), env.live.voicemail(), env.live.transfers()
    )  # fmt: skip
    assert voicemail.fetched_at == transfers.fetched_at == activities.fetched_at
    assert voicemail.version == transfers.version == activities.version == 1
    assert len(voicemail.frame) > 0 and len(transfers.frame) > 0
    env.sim.inject({"kind": "status", "status": 500, "match": "/v3.0/activities"})
    env.advance(POLL.activities_s)
    for snap in (env.live.activities(), env.live.voicemail(), env.live.transfers()):
        assert snap.state == "error" and "HTTP 500" in (snap.error or "")
        assert snap.fetched_at == activities.fetched_at  # the last good data stays
    assert len(env.live.voicemail().frame) == len(voicemail.frame)


def test_the_metrics_are_computed_on_the_refresh_path_and_published_with_the_activities(
    env: Env,
) -> None:
    env.collector.run_due()
    activities = env.live.activities()
    performance, trend = env.live.snapshot("performance"), env.live.snapshot("service-level")
    assert performance.version == trend.version == activities.version == 1
    assert performance.fetched_at == activities.fetched_at
    now = env.live.now()
    today = metric_feeds.window_rows(performance.frame, "today")
    expected = metrics.performance(
        activities.frame, target_s=20, since=start_of_day(now, "Australia/Sydney")
    )
    pd.testing.assert_frame_equal(today, expected)
    assert today["answered"].iloc[-1] > 0  # a busy morning: something to show
    hour = metric_feeds.window_rows(performance.frame, "1h")
    pd.testing.assert_frame_equal(
        hour, metrics.performance(activities.frame, target_s=20, since=now - timedelta(hours=1))
    )
    # the trend runs from midnight to now in 15-minute buckets and adds up to today's total
    assert trend.frame["bucket_start"].iloc[0] == start_of_day(now, "Australia/Sydney")
    assert trend.frame["answered"].sum() == today["answered"].iloc[-1]
    # The rolling windows move with the clock: the next refresh counts from its own now.
    env.advance(POLL.activities_s)
    later = env.live.snapshot("performance")
    assert later.version == 2
    assert metric_feeds.window_rows(later.frame, "15m").equals(
        metrics.performance(
            env.live.activities().frame,
            target_s=20,
            since=env.live.now() - timedelta(minutes=15),
        )
    )


def test_a_metric_that_fails_to_compute_keeps_its_last_figures_and_says_so(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    env.collector.run_due()
    first = env.live.snapshot("performance")

    def broken(*args: object, **kwargs: object) -> pd.DataFrame:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(metric_feeds, "performance_feed", broken)
    with caplog.at_level(logging.ERROR, logger="ipscape.collector"):
        env.advance(POLL.activities_s)
    failed = env.live.snapshot("performance")
    assert failed.state == "error" and failed.error == DERIVED_FAILED
    assert failed.fetched_at == first.fetched_at  # its age is that of its last good figures
    assert failed.frame.equals(first.frame)
    # everything else from the same refresh is published as usual
    assert env.live.activities().version == env.live.snapshot("service-level").version == 2
    assert env.live.activities().state == "fresh"
    assert "computing performance failed" in caplog.text
    monkeypatch.undo()
    env.advance(POLL.activities_s)
    assert env.live.snapshot("performance").state == "fresh"  # and it recovers by itself


def test_a_failing_feed_backs_off_on_its_own_schedule_and_recovers(env: Env) -> None:
    env.collector.run_due()
    env.sim.inject({"kind": "status", "status": 503, "match": "*/statistics"})
    env.advance(POLL.campaigns_s)
    assert env.live.campaigns().state == "error"
    status = env.live.snapshots.status("campaigns")
    assert status is not None and status.error_kind == "server" and status.failures == 1
    env.sim.reset_stats()
    for _ in range(14):  # inside the 15 s backoff: agents keep their schedule, campaigns wait
        env.advance(1)
    assert env.requests().get(CAMPAIGNS, 0) == 0
    assert env.requests()[AGENTS] == 1
    env.sim.clear_faults()
    env.advance(1)
    snap = env.live.campaigns()
    assert snap.state == "fresh" and snap.error is None
    assert env.live.snapshots.status("campaigns").failures == 0  # type: ignore[union-attr]


# --- records the frames cannot use ----------------------------------------------------------


def drop_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "ipscape.collector" and r.levelno == logging.WARNING
    ]


def test_unusable_agent_rows_are_counted_on_the_snapshot_and_logged_once_per_refresh(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = env.live.client
    sent = client.agent_status

    def with_bad_rows(campaign_id: int | None = None) -> list[object]:
        return [*sent(campaign_id), "not an object", {"agentFullName": "Nobody", "state": "Idle"}]

    monkeypatch.setattr(client, "agent_status", with_bad_rows)
    caplog.set_level(logging.WARNING, logger="ipscape.collector")
    env.collector.run_due()
    agents = env.live.agents()
    assert agents.state == "fresh" and len(agents.frame) > 0
    assert agents.drops == frames.Drops({frames.NO_AGENT_ID: 1, frames.NOT_AN_OBJECT: 1})
    assert agents.frame.attrs == {}  # the drops travel on the snapshot only
    assert drop_warnings(caplog) == ["agents: dropped 2 rows (no agentId: 1, not an object: 1)"]
    assert "Nobody" not in caplog.text  # counts and our reasons, never what the tenant sent
    env.advance(POLL.agents_s)
    assert len(drop_warnings(caplog)) == 2  # again on the next refresh that has them


def test_a_statistics_answer_without_a_campaign_id_is_a_counted_drop(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = env.live.client
    sent = client.campaign_statistics
    broken: list[int] = []

    def one_without_its_id(campaign_id: int, period: str = "day") -> dict[str, object]:
        answer = sent(campaign_id, period)
        if not broken or broken == [campaign_id]:
            broken[:] = [campaign_id]
            return {key: value for key, value in answer.items() if key != "campaignId"}
        return answer

    monkeypatch.setattr(client, "campaign_statistics", one_without_its_id)
    caplog.set_level(logging.WARNING, logger="ipscape.collector")
    env.collector.run_due()
    campaigns = env.live.campaigns()
    assert campaigns.drops == frames.Drops({frames.NO_CAMPAIGN_ID: 1})
    assert broken[0] not in set(campaigns.frame["campaign_id"])
    assert "campaigns: dropped 1 row (no campaignId: 1)" in drop_warnings(caplog)


def test_unusable_activities_are_logged_per_fetch_and_counted_for_the_day(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = env.live.client
    sent = client.iter_activities

    def with_bad_items(**filters: object) -> Iterator[object]:
        yield {"type": "call.inbound", "data": "not an object"}
        yield from sent(**filters)  # type: ignore[arg-type]

    monkeypatch.setattr(client, "iter_activities", with_bad_items)
    caplog.set_level(logging.WARNING, logger="ipscape.collector")
    env.collector.run_due()
    day = frames.Drops({frames.NO_DATA_OBJECT: 1})
    for feed in ("activities", "voicemail", "transfers"):
        assert env.live.snapshot(feed).drops == day
        assert f"{feed}: dropped 1 row (no data object: 1)" in drop_warnings(caplog)
    env.advance(POLL.activities_s)
    assert env.live.activities().drops == day.merged(day)  # what arrived today, sent twice


def test_a_healthy_tenant_drops_nothing_and_logs_no_drops(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ipscape.collector")
    env.collector.run_due()
    for feed in FEED_SOURCES:
        snap = env.live.snapshot(feed)
        assert snap.has_data and not snap.drops and snap.unavailable is None
        assert snap.frame.attrs == {}  # nothing beside the typed snapshot
    assert drop_warnings(caplog) == []


def test_a_tenant_without_agent_status_says_so_on_the_agents_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_env(tmp_path, omit_operations=frozenset({"agent_status"})) as env:
        appended: list[pd.DataFrame] = []
        monkeypatch.setattr(env.history, "append_agent_states", lambda f, at: appended.append(f))
        start = env.live.now()
        env.collector.run_due()
        agents = env.live.agents()
        assert agents.state == "fresh" and agents.frame.empty
        assert agents.unavailable == feeds.AGENT_STATUS_UNAVAILABLE
        assert agents.frame.attrs == {}  # said on the snapshot only
        assert env.live.campaigns().unavailable is None
        # No trend of agent states either: an empty frame is not "no agents", so the collector
        # hands the history store nothing while the status is unavailable.
        assert appended == []
        assert not env.history.campaign_history(start - timedelta(seconds=1)).empty
        assert env.history.agent_state_history(start - timedelta(seconds=1)).empty


def test_the_schedule_is_fixed_rate_so_a_late_start_does_not_push_later_polls(env: Env) -> None:
    poller = env.collector.pollers["agents"]
    env.collector.run_due()
    env.advance(POLL.agents_s + 3)  # the scheduler woke 3 s late
    assert poller.due_in() == pytest.approx(POLL.agents_s - 3)


def test_history_gets_every_poll_and_todays_activities_without_a_reader(env: Env) -> None:
    start = env.live.now()
    env.collector.run_due()
    for _ in range(6):
        env.advance(POLL.campaigns_s)
    trend = env.history.campaign_history(start - timedelta(seconds=1))
    moments = sorted(trend["at"].unique())
    assert len(moments) == 7
    gaps = pd.Series(moments).diff().dropna().dt.total_seconds()
    assert (gaps <= 2 * POLL.campaigns_s).all()
    stored = env.history.activity_history(start - timedelta(days=1))
    held = env.live.activities().frame
    assert set(stored["activity_id"]) == set(held["activity_id"])


def test_stop_ends_polling_and_readers_keep_the_last_data(env: Env) -> None:
    env.collector.run_due()
    env.collector.stop()
    before = env.sim.stats()["total"]
    env.clock.advance(60)
    assert env.collector.run_due() == []
    assert env.sim.stats()["total"] == before
    assert env.live.campaigns().has_data


# --- the real scheduler thread on real time -----------------------------------------------------


def test_the_scheduler_thread_keeps_polling_with_no_reader(tmp_path: Path) -> None:
    fast = PollConfig(campaigns_s=0.3, agents_s=0.3, activities_s=0.6, jitter_s=0)
    with start_simulator(SimulatorConfig(seed=2, speed=0, calls_per_day=300)) as sim:
        client = IpscapeClient(demo_settings(sim.api_root))
        snapshots = MemorySnapshots()
        collector = Collector(client, DashboardConfig(poll=fast), snapshots)
        try:
            collector.start()
            collector.start()  # idempotent: one scheduler
            for version in range(1, 6):
                status = snapshots.wait("agents", version - 1, 30)
                assert status is not None and status.version >= version
            assert collector.uptime_s() is not None
        finally:
            collector.stop()
            client.close()
        stopped_at = sim.stats()["total"]
    assert stopped_at >= 5 * 2  # five agent polls and at least as many campaign lists
    assert snapshots.status("campaigns") is not None


def test_a_successor_resumes_todays_activities_instead_of_asking_for_the_whole_day(
    env: Env,
) -> None:
    env.collector.run_due()  # the predecessor: the whole day once
    store = env.live.snapshots
    successor = Collector(env.collector.client, env.collector.config, MemorySnapshots(),
                          clock=env.clock)  # fmt: skip
    try:
        assert successor.resume_from(store) is True
        env.sim.reset_stats()
        env.sim.advance(POLL.activities_s)
        env.clock.advance(POLL.activities_s)
        env.collector.pollers["activities"].refresh()  # the predecessor, for comparison
        before = env.requests().get(ACTIVITIES, 0)
        successor.pollers["activities"].refresh()
        assert env.requests()[ACTIVITIES] - before == 1  # one page of news, not the day
        ours = successor.window.current()
        theirs = env.collector.window.current()
        assert ours is not None and theirs is not None
        for name in ("activities", "voicemail", "transfers"):
            mine = getattr(ours, name).sort_values("activity_id", ignore_index=True)
            other = getattr(theirs, name).sort_values("activity_id", ignore_index=True)
            pd.testing.assert_frame_equal(mine.drop(columns="raw", errors="ignore"),
                                          other.drop(columns="raw", errors="ignore"),
                                          check_like=True)  # fmt: skip
        assert successor.resume_from(store) is False  # never over its own data
    finally:
        successor.stop()


def test_nothing_published_means_nothing_to_resume(env: Env) -> None:
    assert env.collector.resume_from(MemorySnapshots()) is False


def test_refresh_now_goes_through_the_collector_and_cannot_multiply_requests(env: Env) -> None:
    """A viewer's "refresh now": nothing when every feed was fetched in the last 8 s; after
    that one fetch per feed, however many people click at once."""
    import threading

    env.collector.run_due()
    before = env.requests()
    assert env.live.refresh_now() == []  # everything is seconds old
    assert env.requests() == before
    env.sim.advance(9)
    env.clock.advance(9)
    results: list[list[str]] = []
    clicks = [
        threading.Thread(target=lambda: results.append(env.live.refresh_now())) for _ in range(5)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    after = env.requests()
    assert sorted(set().union(*results)) == ["activities", "agents", "campaigns"]
    # five clicks, at most one fetch of each feed: the pollers join a fetch in flight, and a
    # click after it finds the feed fresh
    assert after[CAMPAIGNS] - before[CAMPAIGNS] == 1
    assert after[AGENTS] - before[AGENTS] == 1
    assert env.live.campaigns().version == 2
