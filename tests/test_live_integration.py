"""LiveData against the simulator over real HTTP: upstream load, errors, backoff, history.

The simulator's clock is frozen (speed 0) and moved together with the pollers' ManualClock, so
"a poll interval later" is exact and nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest

from ipscape import feeds, frames
from ipscape.activities import OPEN_CALL_LOOKBACK_S
from ipscape.client import IpscapeClient, RetryPolicy, make_http_client
from ipscape.clock import ManualClock, start_of_day, utc_from_timestamp
from ipscape.config import DashboardConfig, HistoryConfig
from ipscape.history import SQLiteHistory
from ipscape.live import LiveData, build_live
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.app_support import MANUAL_POLL

SYDNEY = ZoneInfo("Australia/Sydney")
POLL = MANUAL_POLL
ACTIVITIES = "GET /v3.0/activities"
STATISTICS = "GET /v3.0/campaigns/{campaignId}/statistics"


@dataclass
class Live:
    sim: RunningSimulator
    live: LiveData
    clock: ManualClock
    http: httpx.Client
    activity_queries: list[dict[str, list[str]]] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        """Move the tenant and the pollers forward together."""
        self.sim.advance(seconds)
        self.clock.advance(seconds)

    def settle(self) -> None:
        """The collector's schedule, run by hand: every feed due now is fetched, and waited for."""
        assert self.live.collector is not None
        self.live.collector.run_due(30)

    def requests(self) -> dict[str, int]:
        return self.sim.stats()["requests"]

    def clock_now(self) -> datetime:
        return utc_from_timestamp(self.clock())


def sim_now(sim: RunningSimulator) -> datetime:
    return frames.parse_timestamp(sim.state()["now"]).to_pydatetime()


def open_live(sim: RunningSimulator, tmp_path, *, history: bool = False) -> Live:
    settings = demo_settings(sim.api_root)
    recorded: list[dict[str, list[str]]] = []

    def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/v3.0/activities"):
            recorded.append(parse_qs(urlsplit(str(request.url)).query))

    http = make_http_client(settings)
    http.event_hooks["request"].append(record)
    # One attempt per refresh, so the simulator's counters show exactly what the pollers asked.
    client = IpscapeClient(settings, http, retry=RetryPolicy(max_attempts=1))
    clock = ManualClock(sim_now(sim))
    config = DashboardConfig(
        display_timezone="Australia/Sydney",
        poll=POLL,
        history=HistoryConfig(path=str(tmp_path / "history.sqlite")),
    )
    store = SQLiteHistory(tmp_path / "history.sqlite", 7, clock=clock) if history else None
    live = LiveData(client, config, store, clock=clock)
    env = Live(sim, live, clock, http, recorded)
    env.settle()  # the collector's first round, as at server boot
    return env


@pytest.fixture
def tenant() -> Iterator[RunningSimulator]:
    sim = start_simulator(SimulatorConfig(seed=11, speed=0, page_size=500))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def env(tenant, tmp_path) -> Iterator[Live]:
    live = open_live(tenant, tmp_path, history=True)
    try:
        yield live
    finally:
        live.live.close()
        live.http.close()


def read_everything(live: LiveData, viewers: int) -> None:
    barrier = threading.Barrier(viewers)
    failures: list[BaseException] = []

    def viewer() -> None:
        try:
            barrier.wait()
            for snap in (live.campaigns(), live.agents(), live.voicemail(), live.transfers()):
                assert snap.has_data, snap.feed
        except BaseException as exc:  # surfaced in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=viewer) for _ in range(viewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures


def requests_for_viewers(viewers: int, tmp_path) -> dict[str, int]:
    with start_simulator(
        SimulatorConfig(seed=5, speed=0, page_size=500, calls_per_day=2000)
    ) as sim:
        env = open_live(sim, tmp_path / str(viewers))
        try:
            for _ in range(3):  # three poll rounds: a first fetch, then two expiries
                read_everything(env.live, viewers)
                env.settle()
                env.advance(31)
            return env.requests()
        finally:
            env.live.close()
            env.http.close()


def test_upstream_requests_do_not_grow_with_viewers(tmp_path):
    one = requests_for_viewers(1, tmp_path)
    assert one[ACTIVITIES] >= 3 and one["GET /v3.0/agents/status"] == 3
    for viewers in (10, 50):
        many = requests_for_viewers(viewers, tmp_path)
        assert set(many) == set(one)
        for template, count in one.items():
            assert abs(many[template] - count) <= 1, (viewers, template, many[template], count)


def test_voicemail_and_transfers_come_from_the_one_activities_poller(env):
    voicemail = env.live.voicemail()
    transfers = env.live.transfers()
    activities = env.live.activities()
    first_round = env.requests()[ACTIVITIES]
    assert len(env.activity_queries) == first_round  # one fetch, paged
    full = feeds.fetch_activity_items(
        env.live.client, since=datetime.now(SYDNEY).replace(hour=0, minute=0, second=0)
    )
    assert len(voicemail.frame) == len(frames.voicemail_frame(full)) > 0
    assert len(transfers.frame) == len(frames.transfers_frame(full)) > 0
    assert voicemail.fetched_at == activities.fetched_at
    assert voicemail.state == transfers.state == "fresh"


def test_activities_are_fetched_incrementally_and_deduplicated(env):
    first = env.live.activities()
    first_query = env.activity_queries[0]
    midnight = datetime.fromtimestamp(env.clock(), SYDNEY).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    assert frames.parse_timestamp(first_query["createdTimestampFrom"][0]) == midnight
    pages_first = len(env.activity_queries)

    started = env.clock()
    env.advance(31)
    env.live.activities()
    env.settle()
    second = env.live.activities()
    later = env.activity_queries[pages_first:]
    assert len(later) == 1  # one page of news, not the whole day again
    since = frames.parse_timestamp(later[0]["createdTimestampFrom"][0]).timestamp()
    newest = first.frame["created_at"].max().timestamp()
    assert newest - OPEN_CALL_LOOKBACK_S <= since <= newest - 120
    assert since >= started - OPEN_CALL_LOOKBACK_S - 120

    assert second.frame["activity_id"].is_unique
    assert len(second.frame) >= len(first.frame)
    # The merged window is what a full fetch of the day returns now, newest status included.
    full = frames.activities_frame(
        feeds.fetch_activity_items(env.live.client, since=midnight)
    ).set_index("activity_id")
    window = second.frame.set_index("activity_id")
    assert set(window.index) == set(full.index)
    assert (window["status"] == full.loc[window.index, "status"]).fillna(True).mean() > 0.99


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"kind": "status", "status": 503, "match": "*/statistics"}, "503"),
        ({"kind": "malformed", "match": "*/statistics"}, "could not read"),
    ],
)
def test_failed_refresh_keeps_the_last_good_frame_and_says_why(env, fault, says):
    good = env.live.campaigns()
    assert good.state == "fresh" and len(good.frame) > 0
    env.sim.inject(fault)
    env.advance(11)
    env.live.campaigns()
    env.settle()
    snap = env.live.campaigns()
    assert snap.state == "error"
    assert says in snap.error
    assert snap.fetched_at == good.fetched_at
    assert snap.frame["campaign_id"].tolist() == good.frame["campaign_id"].tolist()
    budget = env.live.budget().set_index("feed")
    assert budget.loc["campaigns", "last_error"] == snap.error


def test_backoff_keeps_readers_off_the_tenant_then_recovers(env):
    env.live.campaigns()
    env.sim.inject({"kind": "status", "status": 503, "match": "*/statistics"})
    env.advance(11)
    env.live.campaigns()
    env.settle()
    assert env.live.campaigns().state == "error"
    env.sim.reset_stats()
    for _ in range(50):
        env.clock.advance(0.25)  # 12.5 s of reading, inside the 15 s backoff
        env.live.campaigns()
    env.settle()
    asked = env.requests()
    # The agents feed kept its own schedule; the failing campaigns feed waited out its backoff.
    assert asked.get("GET /v3.0/campaigns", 0) == asked.get(STATISTICS, 0) == 0
    env.sim.clear_faults()
    env.advance(3)
    env.live.campaigns()
    env.settle()
    snap = env.live.campaigns()
    assert snap.state == "fresh" and snap.error is None
    assert env.requests()[STATISTICS] == len(snap.frame)


def test_history_records_fresh_snapshots_and_survives_restart(env, tmp_path):
    start = datetime.fromtimestamp(env.clock(), SYDNEY)
    for step in (11, 5):  # the second read falls inside the interval: nothing new to append
        env.live.campaigns()
        env.live.agents()
        env.settle()
        env.advance(step)
    env.live.campaigns()
    env.settle()
    env.live.close()
    reopened = SQLiteHistory(tmp_path / "history.sqlite", 7, clock=env.clock)
    try:
        trend = reopened.campaign_history(start - timedelta(seconds=1))
        states = reopened.agent_state_history(start - timedelta(seconds=1))
    finally:
        reopened.close()
    assert trend["at"].nunique() == 2
    assert trend.groupby("at").size().nunique() == 1  # every campaign at every moment
    assert states["at"].nunique() == 2
    per_moment = states.groupby("at")["agents"].sum()
    assert (per_moment == env.sim.config.agents).all()


def test_drill_down_queries_share_one_poller_per_question(env):
    now = datetime.fromtimestamp(env.clock(), SYDNEY)
    minute = now.replace(second=0, microsecond=0)
    hour_ago = minute - timedelta(hours=1)
    campaign = int(env.live.campaigns().frame["campaign_id"].iloc[0])
    first = env.live.query_activities(campaign_id=campaign, since=hour_ago + timedelta(seconds=5))
    asked = len(env.activity_queries)
    assert asked >= 1 and len(first.frame) > 0
    again = env.live.query_activities(campaign_id=campaign, since=hour_ago + timedelta(seconds=40))
    assert len(env.activity_queries) == asked  # same minute, same poller
    assert len(again.frame) <= len(first.frame)
    assert (again.frame["created_at"] >= hour_ago + timedelta(seconds=40)).all()
    assert set(first.frame["campaign_id"]) == {campaign}
    agent = first.frame["agent_id"].dropna().iloc[0]
    mine = env.live.query_activities(
        campaign_id=campaign, agent_id=int(agent), since=hour_ago + timedelta(seconds=5)
    )
    assert len(env.activity_queries) == asked
    assert set(mine.frame["agent_id"]) == {agent}


def test_dial_attempts_and_media_are_cached(env):
    outbound = env.live.query_activities(activity_type="call.outbound")
    lead = outbound.frame["lead_id"].dropna().iloc[0]
    attempts = env.live.dial_attempts(int(lead))
    assert attempts.state == "fresh"
    assert set(attempts.frame["lead_id"]) == {lead}
    before = env.requests()[ACTIVITIES]
    env.live.dial_attempts(int(lead))
    assert env.requests()[ACTIVITIES] == before

    media_id = env.live.voicemail().frame["media_id"].dropna().iloc[0]
    audio = env.live.media(media_id)
    assert audio and env.live.media(media_id) == audio
    assert env.requests()["GET /v3.0/media/{mediaId}"] == 1


def test_budget_counts_requests_per_feed_and_each_request_once(env):
    env.live.campaigns()
    env.live.agents()
    env.live.voicemail()
    env.live.transfers()
    budget = env.live.budget().set_index("feed")
    stats = env.sim.stats()
    assert budget["requests_last_min"].sum() == stats["total"] + stats["specRequests"]
    assert budget.loc["activities", "requests_last_min"] == env.requests()[ACTIVITIES]
    campaigns = len(env.live.campaigns().frame)
    assert budget.loc["campaigns", "requests_last_min"] == campaigns + 1  # list + stats each
    assert budget.loc["agents", "requests_last_min"] == 1
    assert budget.loc["campaigns", "last_latency_ms"] > 0
    assert budget["last_error"].isna().all()


def test_build_live_wires_the_demo_tenant_and_closes_twice(tenant, tmp_path):
    config = DashboardConfig(
        poll=POLL, history=HistoryConfig(path=str(tmp_path / "deep" / "h.sqlite"))
    )
    live = build_live(demo_settings(tenant.api_root), config).start()
    try:
        assert live.demo and live.source_label == "Demo data"
        assert live.campaigns().state == "fresh"  # the first reader waits for the first poll
        assert live.history is not None
    finally:
        live.close()
        live.close()
    assert (tmp_path / "deep" / "h.sqlite").exists()


# --- past days: from the history store, never the tenant ---------------------------------------


def yesterdays_copy(today: pd.DataFrame) -> pd.DataFrame:
    """Today's activities as if they had happened a day earlier (new ids), as history holds."""
    moved = today.copy()
    for column in ("created_at", "queued_at", "answered_at", "hangup_at"):
        moved[column] = moved[column] - pd.Timedelta(days=1)
    moved["activity_id"] = moved["activity_id"] + 10**9
    return moved


def test_past_days_come_from_the_history_store_and_the_tenant_is_not_asked(env):
    today = env.live.activities().frame
    assert len(today) > 20
    yesterday = yesterdays_copy(today)
    assert env.live.history is not None
    env.live.history.append_activities(yesterday)
    midnight = start_of_day(env.clock_now(), "Australia/Sydney")
    asked_before = env.requests()[ACTIVITIES]

    past = env.live.query_activities(since=midnight - timedelta(days=1), until=midnight)
    assert sorted(past.frame["activity_id"]) == sorted(yesterday["activity_id"])
    calls = env.live.activities_between(midnight - timedelta(days=1), midnight)
    assert len(calls) == len(yesterday)
    assert env.requests()[ACTIVITIES] == asked_before  # the tenant was asked nothing

    # A range across midnight: yesterday's part from history, today's from the tenant from
    # midnight on only.
    noon = midnight - timedelta(hours=12)
    across = env.live.query_activities(since=noon, campaign_id=None)
    expected = (yesterday["created_at"] >= noon).sum() + (today["created_at"] >= midnight).sum()
    assert len(across.frame) == expected
    asked_from = [q["createdTimestampFrom"][0] for q in env.activity_queries[-1:]]
    assert asked_from and frames.parse_timestamp(asked_from[0]) >= pd.Timestamp(midnight)
    between = env.live.activities_between(noon, env.clock_now())
    assert len(between) == (yesterday["created_at"] >= noon).sum() + len(today)


def test_past_days_filter_by_campaign_agent_and_type_in_the_store(env):
    today = env.live.activities().frame
    yesterday = yesterdays_copy(today)
    assert env.live.history is not None
    env.live.history.append_activities(yesterday)
    midnight = start_of_day(env.clock_now(), "Australia/Sydney")
    campaign = int(yesterday["campaign_id"].dropna().iloc[0])
    past = env.live.query_activities(
        since=midnight - timedelta(days=1),
        until=midnight,
        campaign_id=campaign,
        activity_type="call.inbound",
    )
    expected = yesterday[
        (yesterday["campaign_id"] == campaign).fillna(False)
        & (yesterday["type"] == "call.inbound").fillna(False)
    ]
    assert len(past.frame) == len(expected) > 0
