"""The PostgreSQL stores against a real server (tests/pg_support.py): frames round trip with
their dtypes, versions are the database's, notifications wake listeners through outages, the
schema migrates once however many start, history answers as SQLite's does, and the collector
lease has one holder whose successor fences it out, even after a kill -9 mid-write."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from ipscape import frames, pgstore
from ipscape.clock import ManualClock
from ipscape.errors import FencedError, StoreError
from ipscape.history import HistoryStore, SQLiteHistory
from ipscape.pgstore import (
    Fence,
    Leadership,
    PostgresHistory,
    PostgresSnapshots,
    SnapshotListener,
    codec,
)
from ipscape.pgstore.database import SCHEMA_VERSION, migrate
from ipscape.snapshots import FeedStatus, SnapshotStore, snapshot_of
from tests import test_history as history_scenarios
from tests.pg_support import PostgresServer, free_port, running_postgres

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 11, 23, 42, tzinfo=UTC)
T0 = history_scenarios.T0


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def feed_frames() -> dict[str, pd.DataFrame]:
    """A real frame of every feed, from the recorded API answers, plus each feed's empty one."""
    activities = fixture("activities_page")["items"]
    built = {
        "campaigns": frames.campaigns_frame(fixture("campaign_statistics"), as_of=NOW),
        "agents": frames.agents_frame(fixture("agent_status_page")["items"], now=NOW),
        "activities": frames.activities_frame(activities),
        "voicemail": frames.voicemail_frame(activities),
        "transfers": frames.transfers_frame(activities),
        "dial-attempts": frames.dial_attempts_frame(activities),
    }
    for feed, builder in frames.FEED_BUILDERS.items():
        built[f"{feed} (empty)"] = builder([], now=NOW) if feed == "agents" else builder([])
    return built


FEED_FRAMES = feed_frames()


def status(feed: str = "agents", **fields: Any) -> FeedStatus:
    fields.setdefault("fetched_at", NOW)
    return FeedStatus(feed=feed, interval_s=10.0, **fields)


@pytest.fixture
def pool(pg_url: str) -> Iterator[Any]:
    opened = pgstore.open_pool(pg_url, application_name="ipscape-test")
    try:
        pgstore.migrate(opened)
        yield opened
    finally:
        opened.close()


@pytest.fixture
def snapshots(pool: Any) -> Iterator[PostgresSnapshots]:
    store = PostgresSnapshots(pool)
    try:
        yield store
    finally:
        store.close()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# --- snapshots --------------------------------------------------------------------------------


def test_the_postgres_stores_satisfy_the_store_protocols(
    snapshots: PostgresSnapshots, pool: Any
) -> None:
    store: SnapshotStore = snapshots  # checked by mypy, as the history store below
    history: HistoryStore = PostgresHistory(pool, 7)
    assert history.status().recording
    assert store.status("campaigns") is None
    assert store.read("campaigns") == (None, None)
    assert store.statuses() == {}


def read_frame(store: PostgresSnapshots, feed: str) -> pd.DataFrame | None:
    _, result = store.read(feed)
    return None if result is None else result.frame


@pytest.mark.parametrize("name", sorted(FEED_FRAMES))
def test_every_feed_frame_comes_back_equal_with_its_dtypes_drops_and_unavailable(
    pool, snapshots, name
):
    frame = FEED_FRAMES[name]
    drops = frames.Drops({frames.NOT_AN_OBJECT: 2, frames.NOT_A_LIST: 1})
    unavailable = "no agent status here" if name.startswith("agents") else None
    published = snapshots.publish(status(name), frames.FrameResult(frame, drops, unavailable))
    reader = PostgresSnapshots(pool)  # a new store object: from the database
    got, back = reader.read(name)
    assert got == published and back is not None
    pd.testing.assert_frame_equal(back.frame, frame, check_exact=True)
    assert back.frame.dtypes.to_dict() == frame.dtypes.to_dict()
    assert back.drops == drops and back.unavailable == unavailable
    snap = snapshot_of(got, back, NOW, frame.iloc[:0])
    assert snap.drops == drops and snap.unavailable == unavailable
    assert snap.frame.attrs == {}  # no side channel next to the typed result


def test_object_columns_come_back_as_objects_and_attrs_are_not_stored(pool, snapshots):
    agents = FEED_FRAMES["agents"].copy()
    agents.attrs = {"dropped": {"no agentId": 2}, "unavailable": "no agent status here"}
    chat = {"type": "chat.inbound", "data": {"activityId": 9, "transcript": ["hi", {"x": None}]}}
    activities = frames.activities_frame([chat, *fixture("activities_page")["items"]])
    snapshots.publish(status("agents"), agents)
    snapshots.publish(status("activities"), activities)
    reader = PostgresSnapshots(pool)
    _, agents_back = reader.read("agents")
    activities_back = read_frame(reader, "activities")
    assert agents_back is not None and activities_back is not None
    assert agents_back.frame.attrs == {}  # a frame's attrs are nobody's to read back
    assert not agents_back.drops and agents_back.unavailable is None  # nor read as drops
    assert all(isinstance(ids, tuple) for ids in agents_back.frame["campaign_ids"])
    assert agents_back.frame["campaign_ids"].tolist() == agents["campaign_ids"].tolist()
    assert activities_back["raw"].iloc[0] == chat["data"]
    pd.testing.assert_frame_equal(activities_back, activities)


def earlier_blob(result: frames.FrameResult) -> bytes:
    """``result`` as the previous version of the codec stored it: the drops and ``unavailable``
    also in ``frame.attrs``, kept in the header's "attrs" and in pyarrow's pandas metadata."""
    frame = result.frame.copy(deep=False)
    frame.attrs = {"dropped": {"stale reason": 5}, "unavailable": "an old text"}
    table = pa.Table.from_pandas(frame, preserve_index=None)
    header = {
        "format": codec.FORMAT,
        "objects": {},
        "attrs": frame.attrs,
        "drops": dict(result.drops.counts),
        "unavailable": result.unavailable,
    }
    metadata = {**(table.schema.metadata or {}), codec.METADATA_KEY: json.dumps(header).encode()}
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    options = ipc.IpcWriteOptions(compression=codec.COMPRESSION)
    with ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_a_blob_from_the_previous_version_decodes_and_its_attrs_are_ignored():
    frame = FEED_FRAMES["campaigns"]
    drops = frames.Drops({frames.NO_CAMPAIGN_ID: 1})
    back = codec.decode_result(earlier_blob(frames.FrameResult(frame, drops)))
    pd.testing.assert_frame_equal(back.frame, frame, check_exact=True)
    assert back.frame.attrs == {}
    assert back.drops == drops and back.unavailable is None  # from their own keys only
    tagged = frame.copy(deep=False)
    tagged.attrs = {"note": "a reader's"}
    assert codec.decode_frame(codec.encode_frame(tagged)).attrs == {}  # none are stored now


def test_drops_and_unavailable_come_back_with_the_frame(pool, snapshots):
    agents = frames.agents_result(
        [*fixture("agent_status_page")["items"], "not an object", {"state": "no id"}], now=NOW
    )
    assert agents.drops == frames.Drops({frames.NOT_AN_OBJECT: 1, frames.NO_AGENT_ID: 1})
    published = frames.FrameResult(agents.frame, agents.drops, "no agent status here")
    snapshots.publish(status("agents"), published)
    snapshots.publish(status("campaigns"), FEED_FRAMES["campaigns"])  # a bare frame: no drops
    reader = PostgresSnapshots(pool)
    _, back = reader.read("agents")
    assert back is not None
    assert back.drops == agents.drops and back.unavailable == "no agent status here"
    pd.testing.assert_frame_equal(back.frame, agents.frame)
    _, campaigns = reader.read("campaigns")
    assert campaigns is not None and not campaigns.drops and campaigns.unavailable is None
    snapshots.report(status("agents", error="The tenant is failing.", failures=1))
    _, kept = PostgresSnapshots(pool).read("agents")
    assert kept is not None and kept.drops == agents.drops  # the last good fetch's, kept


def test_a_filtered_frame_keeps_its_index(pool, snapshots):
    frame = FEED_FRAMES["activities"].iloc[[3, 0, 5]]
    snapshots.publish(status("activities"), frame)
    pd.testing.assert_frame_equal(read_frame(PostgresSnapshots(pool), "activities"), frame)


def test_versions_are_numbered_by_the_store_and_continue_in_a_new_store_object(pool, snapshots):
    frame = FEED_FRAMES["campaigns"]
    first = snapshots.publish(status("campaigns", version=99), frame)
    second = snapshots.publish(status("campaigns"), frame)
    assert (first.version, second.version) == (1, 2)
    successor = PostgresSnapshots(pool)
    assert successor.publish(status("campaigns"), frame).version == 3
    assert successor.status("campaigns") == status("campaigns", version=3)


def test_a_report_keeps_the_last_good_frame_and_its_version(pool, snapshots):
    frame = FEED_FRAMES["agents"]
    snapshots.publish(status("agents"), frame)
    failed = status("agents", error="The tenant is failing.", error_kind="server", failures=1)
    snapshots.report(failed)
    now_status, back = PostgresSnapshots(pool).read("agents")
    assert now_status == replace(failed, version=1)
    assert back is not None
    pd.testing.assert_frame_equal(back.frame, frame)
    assert now_status.state(NOW) == "error"


def test_a_report_before_any_frame_has_a_status_and_no_frame(snapshots):
    snapshots.report(status("voicemail", fetched_at=None, error="unreachable", failures=1))
    got, frame = snapshots.read("voicemail")
    assert got is not None and got.version == 0 and frame is None
    assert set(snapshots.statuses()) == {"voicemail"}


def test_a_reader_decodes_each_version_once(pool, snapshots, monkeypatch):
    decoded: list[int] = []
    real = pgstore.snapshots.decode_result

    def counting(blob: bytes) -> frames.FrameResult:
        decoded.append(len(blob))
        return real(blob)

    monkeypatch.setattr(pgstore.snapshots, "decode_result", counting)
    reader = PostgresSnapshots(pool)
    snapshots.publish(status("campaigns"), FEED_FRAMES["campaigns"])
    for _ in range(5):
        reader.read("campaigns")
    snapshots.report(status("campaigns", error="late", failures=1))
    reader.read("campaigns")
    assert len(decoded) == 1
    snapshots.publish(status("campaigns"), FEED_FRAMES["campaigns"])
    assert reader.read("campaigns")[0].version == 2
    assert len(decoded) == 2


def test_wait_returns_a_newer_version_published_meanwhile(pool, snapshots):
    frame = FEED_FRAMES["campaigns"]
    snapshots.publish(status("campaigns"), frame)
    started = threading.Event()

    def publish_later() -> None:
        started.wait()
        PostgresSnapshots(pool).publish(status("campaigns"), frame)

    writer = threading.Thread(target=publish_later)
    writer.start()
    started.set()
    got = snapshots.wait("campaigns", newer_than=1, timeout_s=30)
    writer.join()
    assert got is not None and got.version == 2


def test_wait_returns_at_once_on_an_error_and_gives_up_after_its_timeout(snapshots):
    assert snapshots.wait("agents", newer_than=0, timeout_s=0.3) is None
    snapshots.report(status("agents", error="down", failures=1))
    got = snapshots.wait("agents", newer_than=0, timeout_s=30)
    assert got is not None and got.error == "down"


# --- notifications ----------------------------------------------------------------------------


def test_a_publish_wakes_a_listener_once(pg_url, snapshots):
    listener = SnapshotListener(pg_url)
    try:
        assert listener.wait(0.2) is False  # connects and listens; nothing yet
        for _ in range(3):
            snapshots.publish(status("agents"), FEED_FRAMES["agents"])
        assert listener.wait(30) is True
        assert listener.wait(0.2) is False  # all three were consumed by the first wake
        snapshots.report(status("agents", error="down", failures=1))
        assert listener.wait(30) is True
    finally:
        listener.close()


def test_a_notification_is_sent_only_when_the_publish_commits(pg_url, pool):
    listener = SnapshotListener(pg_url)
    try:
        listener.wait(0.1)
        fenced = PostgresSnapshots(pool, fence=Fence(term=7))  # no such tenure: refused
        with pytest.raises(FencedError):
            fenced.publish(status("agents"), FEED_FRAMES["agents"])
        assert listener.wait(0.3) is False
    finally:
        listener.close()


def test_a_listener_whose_session_is_ended_listens_again_by_itself(postgres_server, pg_url, pool):
    listener = SnapshotListener(pg_url, application_name="ipscape-test-listener")
    try:
        listener.wait(0.1)
        ended = postgres_server.terminate_backends(database_name(pg_url), "ipscape-test-listener")
        assert ended == 1
        assert listener.wait(1) is False  # the loss reads as silence, never raises
        assert listener.wait(5) is True  # listening again: versions may have come meanwhile
        assert listener.reconnects == 1
        PostgresSnapshots(pool).publish(status("agents"), FEED_FRAMES["agents"])
        assert listener.wait(30) is True
    finally:
        listener.close()


def read_when_back(store: PostgresSnapshots, feed: str) -> tuple[Any, Any]:
    """The store's read once the pool has connected again (it retries with backoff)."""
    for _ in range(60):
        try:
            return store.read(feed)
        except StoreError:
            continue  # each try waits for the pool's timeout
    raise AssertionError("the pool did not connect again")


def test_a_listener_and_a_store_come_through_a_server_restart():
    with running_postgres() as server:
        url = server.create_database("restart")
        opened = pgstore.open_pool(url, application_name="ipscape-test", timeout_s=1)
        listener = SnapshotListener(url)
        try:
            store = PostgresSnapshots(opened)
            store.publish(status("agents"), FEED_FRAMES["agents"])
            listener.wait(0.1)
            server.stop()
            assert listener.wait(0.5) is False
            assert listener.wait(0.5) is False  # still down: silence again, no error
            with pytest.raises(StoreError):
                store.status("agents")
            server.start()
            assert listener.wait(10) is True
            assert read_when_back(store, "agents")[0].version == 1  # new pooled connections
            store.publish(status("agents"), FEED_FRAMES["agents"])
            assert listener.wait(30) is True
        finally:
            listener.close()
            opened.close()


def test_closing_a_listener_ends_it(pg_url):
    listener = SnapshotListener(pg_url)
    listener.wait(0.1)
    listener.close()
    assert listener.wait(5) is False


# --- the schema -------------------------------------------------------------------------------


def test_migrating_again_changes_nothing(pool):
    assert migrate(pool) == SCHEMA_VERSION
    assert migrate(pool) == SCHEMA_VERSION
    with pool.connection() as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM ipscape_schema ORDER BY 1")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_processes_starting_at_once_migrate_once(pg_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        try:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                barrier.wait()
                pgstore.database.migrate_connection(conn)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with psycopg.connect(pg_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM ipscape_schema").fetchone()
    assert count == SCHEMA_VERSION


def test_a_store_on_a_database_never_migrated_creates_the_schema(pg_url):
    opened = pgstore.open_pool(pg_url, application_name="ipscape-test")
    try:
        PostgresSnapshots(opened).publish(status("agents"), FEED_FRAMES["agents"])
        assert PostgresSnapshots(opened).status("agents").version == 1
    finally:
        opened.close()


# --- errors never carry the secret ------------------------------------------------------------


def test_urls_in_logs_and_errors_carry_no_password():
    url = "postgresql://collector:s3cr3t-pw@db.example:6543/ipscape?sslmode=require"
    assert pgstore.safe_url(url) == "postgresql://db.example:6543/ipscape"
    assert "s3cr3t" not in pgstore.safe_url("host=db user=u password=s3cr3t-pw dbname=x")


def test_an_unreachable_database_raises_a_store_error_without_the_password():
    url = f"postgresql://collector:s3cr3t-pw@127.0.0.1:{free_port()}/ipscape"
    opened = pgstore.open_pool(url, application_name="ipscape-test", timeout_s=1)
    try:
        with pytest.raises(StoreError) as caught:
            PostgresSnapshots(opened).statuses()
        assert "s3cr3t" not in str(caught.value)
        with pytest.raises(StoreError) as caught:
            Leadership(url, "me").try_acquire()
        assert "s3cr3t" not in str(caught.value)
        listener = SnapshotListener(url)
        assert listener.wait(0.2) is False
        listener.close()
    finally:
        opened.close()


# --- history: the same answers as SQLite ------------------------------------------------------

# Scenarios of tests/test_history.py that are about SQLite itself, not about history.
SQLITE_ONLY = {
    "test_sqlite_history_satisfies_the_store_protocol",
    "test_the_file_uses_write_ahead_logging",
}
SHARED_FIXTURES = {"store", "clock", "monkeypatch"}
HISTORY_SCENARIOS = sorted(
    name
    for name, function in inspect.getmembers(history_scenarios, inspect.isfunction)
    if name.startswith("test_")
    and name not in SQLITE_ONLY
    and set(inspect.signature(function).parameters) <= SHARED_FIXTURES
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=12))


@pytest.fixture
def pg_history(pool, clock) -> Iterator[PostgresHistory]:
    with PostgresHistory(pool, 7, clock=clock) as history:
        yield history


def test_the_sqlite_scenarios_are_found():
    assert len(HISTORY_SCENARIOS) >= 15
    assert "test_the_window_changed_rows_round_trip_through_the_store" in HISTORY_SCENARIOS


@pytest.mark.parametrize("scenario", HISTORY_SCENARIOS)
def test_postgres_history_passes_the_sqlite_history_scenario(
    scenario, pg_history, clock, monkeypatch
):
    run = getattr(history_scenarios, scenario)
    given = {"store": pg_history, "clock": clock, "monkeypatch": monkeypatch}
    run(**{name: given[name] for name in inspect.signature(run).parameters})


@pytest.fixture
def both(tmp_path, pool, clock) -> Iterator[Callable[..., tuple[HistoryStore, HistoryStore]]]:
    """``both(**options)``: a SQLite and a PostgreSQL history, same clock, same options."""
    opened: list[Any] = []

    def make(**options: Any) -> tuple[HistoryStore, HistoryStore]:
        sqlite = SQLiteHistory(tmp_path / f"h{len(opened)}.sqlite", 7, clock=clock, **options)
        postgres = PostgresHistory(pool, 7, clock=clock, **options)
        opened.extend((sqlite, postgres))
        return sqlite, postgres

    try:
        yield make
    finally:
        for store in opened:
            store.close()


def agents_in(*states: str) -> pd.DataFrame:
    return history_scenarios.agents(*states)


def test_long_ranges_are_thinned_exactly_as_sqlite_thins_them(both):
    sqlite, postgres = both(max_points=100)
    for store in (sqlite, postgres):
        for i in range(300):
            at = T0 + timedelta(seconds=7 * i)
            store.append_campaigns(history_scenarios.campaigns(ewt=float(i)), at)
            states = ("Busy", "available", "Ärger", "Zz", "Busy")[: 2 + i % 4]
            store.append_agent_states(agents_in(*states), at)
    for since in (T0, T0 + timedelta(minutes=30)):
        thinned = sqlite.campaign_history(since)
        assert len(thinned) <= 100
        pd.testing.assert_frame_equal(postgres.campaign_history(since), thinned)
        pd.testing.assert_frame_equal(
            postgres.campaign_history(since, [2]), sqlite.campaign_history(since, [2])
        )
        pd.testing.assert_frame_equal(
            postgres.agent_state_history(since), sqlite.agent_state_history(since)
        )


def test_short_ranges_come_back_whole_in_the_same_order_as_sqlite(both):
    sqlite, postgres = both()
    for store in (sqlite, postgres):
        for i in range(20):
            at = T0 + timedelta(seconds=10 * i)
            store.append_campaigns(history_scenarios.campaigns(ewt=float(i)), at)
            store.append_agent_states(agents_in("b", "B", "Ärger", "a", "Zz"), at)
    pd.testing.assert_frame_equal(postgres.campaign_history(T0), sqlite.campaign_history(T0))
    pd.testing.assert_frame_equal(postgres.agent_state_history(T0), sqlite.agent_state_history(T0))


def test_activities_read_back_as_sqlite_reads_them(both, clock):
    sqlite, postgres = both()
    items = [
        history_scenarios.activity_item(
            i,
            None if i % 17 == 0 else T0 + timedelta(minutes=i),
            ("Queued", "Answered", "Abandoned")[i % 3],
            kind=("call.inbound", "call.outbound", "chat.inbound")[i % 3],
            campaignId=5 + i % 2,
            agentId=None if i % 5 == 0 else 7 + i % 3,
            leadId=100 + i % 4,
            durations={"queue": i, "talk": i / 3},
        )
        for i in range(1, 120)
    ]
    batches = [items[:50], items[40:90], items[80:], items[:5]]  # overlapping: newer versions
    for store in (sqlite, postgres):
        for batch in batches:
            store.append_activities(frames.activities_frame(batch))
    now = datetime.fromtimestamp(clock(), UTC)
    questions: list[dict[str, Any]] = [
        {},
        {"until": T0 + timedelta(hours=1)},
        {"campaign_id": 5},
        {"agent_id": 8, "lead_id": 101},
        {"activity_type": "chat.inbound"},
        {"limit": 7},
        {"limit": 0},
        {"since": now - timedelta(minutes=5)},
    ]
    for question in questions:
        since = question.pop("since", T0)
        pd.testing.assert_frame_equal(
            postgres.activity_history(since, **question), sqlite.activity_history(since, **question)
        )
    assert sqlite.prune(now + timedelta(days=7)) == postgres.prune(now + timedelta(days=7))
    pd.testing.assert_frame_equal(postgres.activity_history(T0), sqlite.activity_history(T0))


def test_one_batch_that_carries_an_id_twice_keeps_its_last_row(both):
    sqlite, postgres = both()
    older = history_scenarios.activity_item(1, T0, "Queued")
    newer = history_scenarios.activity_item(1, T0, "Answered", agentId=7)
    for store in (sqlite, postgres):
        store.append_activities(frames.activities_frame([older, newer]))
    back = postgres.activity_history(T0)
    assert back["status"].tolist() == ["Answered"]
    pd.testing.assert_frame_equal(back, sqlite.activity_history(T0))


def test_nul_characters_in_tenant_text_do_not_fail_an_append(pg_history):
    item = history_scenarios.activity_item(1, T0, campaignName="Sa\x00les", agentFullName="A\x00")
    pg_history.append_activities(frames.activities_frame([item]))
    campaigns = history_scenarios.campaigns()
    campaigns["campaign_name"] = pd.array(["Sa\x00les", "Support"], dtype="string")
    pg_history.append_campaigns(campaigns, T0)
    pg_history.append_agent_states(agents_in("Bu\x00sy"), T0)
    assert pg_history.activity_history(T0)["campaign_name"].tolist() == ["Sa\ufffdles"]
    assert pg_history.campaign_history(T0, [1])["campaign_name"].tolist() == ["Sa\ufffdles"]
    assert len(pg_history.agent_state_history(T0)) == 1


def test_history_survives_a_new_store_object(pool, clock):
    with PostgresHistory(pool, 7, clock=clock) as first:
        first.append_campaigns(history_scenarios.campaigns(ewt=42), T0)
        first.append_activities(frames.activities_frame([history_scenarios.activity_item(1, T0)]))
    with PostgresHistory(pool, 7, clock=clock) as again:
        assert again.campaign_history(T0, [1])["ewt_s"].tolist() == [42.0]
        assert again.activity_history(T0)["activity_id"].tolist() == [1]


def test_old_rows_are_pruned_when_a_history_store_opens(pool, clock):
    with PostgresHistory(pool, 30, clock=clock) as history:
        history.append_campaigns(history_scenarios.campaigns(), T0 - timedelta(days=10))
    with PostgresHistory(pool, 1, clock=clock) as history:
        assert history.campaign_history(T0 - timedelta(days=30)).empty


def test_a_closed_history_store_ignores_appends_and_reads_empty(pool, clock):
    history = PostgresHistory(pool, 7, clock=clock)
    history.close()
    history.append_campaigns(history_scenarios.campaigns(), T0)
    history.append_activities(frames.activities_frame([history_scenarios.activity_item(1, T0)]))
    assert history.campaign_history(T0).empty
    assert history.activity_history(T0).dtypes.equals(history_scenarios.ACTIVITY_DTYPES)
    assert not history.status().recording
    with PostgresHistory(pool, 7, clock=clock) as open_again:
        assert open_again.campaign_history(T0).empty


# --- the collector lease ----------------------------------------------------------------------


@pytest.fixture
def leases(pg_url) -> Iterator[Callable[[str], Leadership]]:
    made: list[Leadership] = []

    def make(holder: str) -> Leadership:
        lease = Leadership(pg_url, holder, application_name=f"ipscape-lease-{holder}")
        made.append(lease)
        return lease

    try:
        yield make
    finally:
        for lease in made:
            lease.release()


def test_one_holder_at_a_time_and_the_next_gets_a_newer_term(pool, leases):
    first, second = leases("first"), leases("second")
    assert pgstore.current_leader(pool) is None
    fence = first.try_acquire()
    assert fence == Fence(term=1)
    assert first.try_acquire() == fence  # holding it already: the same tenure
    assert second.try_acquire() is None
    assert first.heartbeat() is True
    leader = pgstore.current_leader(pool)
    assert leader is not None and (leader.holder, leader.term) == ("first", 1)
    assert leader.heartbeat_at >= leader.since
    first.release()
    assert first.heartbeat() is False
    assert pgstore.current_leader(pool) is None
    assert second.try_acquire() == Fence(term=2)
    assert pgstore.current_leader(pool).holder == "second"


def test_a_standby_takes_over_when_the_holders_session_ends(postgres_server, pg_url, leases):
    first, second = leases("first"), leases("second")
    assert first.try_acquire() is not None
    assert second.try_acquire() is None
    postgres_server.terminate_backends(database_name(pg_url), "ipscape-lease-first")
    assert second.try_acquire() == Fence(term=2)
    assert first.heartbeat() is False  # its session is gone: it knows it no longer leads
    assert first.try_acquire() is None  # and reconnects as a standby


def test_writes_of_an_ended_tenure_are_refused_and_change_nothing(pool, leases, clock):
    first, second = leases("first"), leases("second")
    old = first.try_acquire()
    old_snapshots = PostgresSnapshots(pool, fence=old)
    old_history = PostgresHistory(pool, 7, fence=old, clock=clock)
    old_snapshots.publish(status("campaigns"), FEED_FRAMES["campaigns"])
    old_history.append_campaigns(history_scenarios.campaigns(ewt=1), T0)
    first.release()
    new = second.try_acquire()
    PostgresSnapshots(pool, fence=new).publish(status("agents"), FEED_FRAMES["agents"])

    with pytest.raises(FencedError):
        old_snapshots.publish(status("campaigns"), FEED_FRAMES["campaigns"].iloc[:1])
    with pytest.raises(FencedError):
        old_snapshots.report(status("agents", error="zombie", failures=9))
    with pytest.raises(FencedError):
        old_history.append_campaigns(history_scenarios.campaigns(ewt=2), T0 + timedelta(1))
    with pytest.raises(FencedError):
        old_history.append_activities(
            frames.activities_frame([history_scenarios.activity_item(1, T0)])
        )
    reader = PostgresSnapshots(pool)
    campaigns_status, campaigns = reader.read("campaigns")
    assert campaigns_status.version == 1 and campaigns is not None
    pd.testing.assert_frame_equal(campaigns.frame, FEED_FRAMES["campaigns"])
    assert reader.status("agents").error is None
    unfenced = PostgresHistory(pool, 7, clock=clock)
    assert unfenced.campaign_history(T0, [1])["ewt_s"].tolist() == [1.0]
    assert unfenced.activity_history(T0).empty


# --- kill -9 -----------------------------------------------------------------------------------

PUBLISHER = textwrap.dedent(
    """
    import contextlib
    import sys
    import time

    import pandas as pd

    from ipscape import pgstore
    from ipscape.snapshots import FeedStatus

    url, mode = sys.argv[1:3]


    class StallingBeforeTheNotify:
        # The publish's connection, stopping for good once the new frame is written (its
        # transaction open, nothing committed): the moment to be killed in.
        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, name):
            return getattr(self._conn, name)

        def execute(self, query, params=None):
            if "pg_notify" in str(query):
                print("mid-write", flush=True)
                time.sleep(3600)
            return self._conn.execute(query, params)


    class Snapshots(pgstore.PostgresSnapshots):
        stall = False

        @contextlib.contextmanager
        def _connection(self, what):
            with super()._connection(what) as conn:
                yield StallingBeforeTheNotify(conn) if self.stall else conn


    lease = pgstore.Leadership(url, "doomed")
    fence = lease.try_acquire()
    assert fence is not None
    store = Snapshots(pgstore.open_pool(url, application_name="ipscape-doomed"), fence=fence)
    frame = pd.DataFrame({"text": pd.array([f"row {i}" for i in range(200_000)], "string")})
    n = 0
    while True:
        n += 1
        store.stall = mode == "stall" and n > 3
        # Every row says which publish it belongs to: a torn write would show two numbers.
        frame["n"] = pd.array([n] * len(frame), dtype="Int64")
        print(store.publish(FeedStatus("activities", 10.0), frame).version, flush=True)
    """
)


@pytest.mark.parametrize("mode", ["stall", "loop"])
def test_a_collector_killed_mid_write_leaves_the_last_snapshot_whole_and_the_lease_free(
    pg_url, pool, leases, mode
):
    """``stall``: killed inside the publish's transaction, its frame written, not committed;
    ``loop``: killed wherever it is while it publishes back to back."""
    doomed = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, pg_url, mode],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        assert [doomed.stdout.readline().strip() for _ in range(3)] == ["1", "2", "3"]
        if mode == "stall":
            assert doomed.stdout.readline().strip() == "mid-write"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    got, result = PostgresSnapshots(pool).read("activities")
    assert got is not None and result is not None and len(result.frame) == 200_000
    frame = result.frame
    if mode == "stall":
        assert got.version == 3  # the uncommitted fourth never shows
    assert frame["n"].unique().tolist() == [got.version]
    successor = leases("successor")
    fence = None
    for _ in range(300):  # the server ends the killed sessions once it reads their sockets
        fence = successor.try_acquire()
        if fence is not None:
            break
        threading.Event().wait(0.1)
    assert fence == Fence(term=2)
    store = PostgresSnapshots(pool, fence=fence)
    assert store.publish(FeedStatus("activities", 10.0), frame).version == got.version + 1


def test_pg_support_can_kill_and_restart_a_server():
    with running_postgres() as server:
        url = server.create_database("crash")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (1)")
        server.kill()
        assert not server.is_running()
        server.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_the_session_server_is_the_one_pg_url_points_at(postgres_server: PostgresServer, pg_url):
    assert pg_url.startswith(postgres_server.url.rsplit("/", 1)[0])
    assert pg_url.startswith("postgresql://postgres@127.0.0.1:")
