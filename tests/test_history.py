"""SQLite history on a real file: appends, reads, restart, retention and bounded reads, for the
trends and for past days' activities."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from ipscape import frames
from ipscape.activities import ActivityWindow
from ipscape.clock import ManualClock
from ipscape.history import HistoryStore, ResilientHistory, SQLiteHistory, empty_activity_history

T0 = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)


def campaigns(ewt: float | None = 30.0, waiting: int | None = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": pd.array([1, 2], dtype="Int64"),
            "campaign_name": pd.array(["Sales", "Support"], dtype="string"),
            "ewt_s": pd.array([ewt, 90.0], dtype="Float64"),
            "max_wait_s": pd.array([60.0, None], dtype="Float64"),
            "calls_waiting": pd.array([waiting, 5], dtype="Int64"),
            "agents_available": pd.array([3, 0], dtype="Int64"),
        }
    )


def agents(*states: str) -> pd.DataFrame:
    return pd.DataFrame({"agent_id": range(len(states)), "state": pd.array(states, dtype="string")})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=12))


@pytest.fixture
def store(tmp_path, clock):
    history = SQLiteHistory(tmp_path / "nested" / "history.sqlite", 7, clock=clock)
    try:
        yield history
    finally:
        history.close()


def test_sqlite_history_satisfies_the_store_protocol(store):
    assert isinstance(store, SQLiteHistory)
    history: HistoryStore = store  # a server DB replaces it through this Protocol
    assert callable(history.campaign_history)


def test_campaign_rows_come_back_typed_in_utc_and_in_order(store):
    store.append_campaigns(campaigns(ewt=30), T0 + timedelta(minutes=1))
    store.append_campaigns(campaigns(ewt=45), T0 + timedelta(minutes=2))
    frame = store.campaign_history(T0)
    assert list(frame.columns) == [
        "at",
        "campaign_id",
        "campaign_name",
        "ewt_s",
        "max_wait_s",
        "calls_waiting",
        "agents_available",
    ]
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]" or str(frame["at"].dt.tz) == "UTC"
    assert frame["at"].is_monotonic_increasing
    sales = frame[frame["campaign_id"] == 1]
    assert sales["ewt_s"].tolist() == [30.0, 45.0]
    assert sales["at"].iloc[0] == pd.Timestamp(T0 + timedelta(minutes=1))
    assert frame["calls_waiting"].dtype == "Int64"


def test_unknown_values_stay_unknown_not_zero(store):
    store.append_campaigns(campaigns(ewt=None, waiting=None), T0)
    sales = store.campaign_history(T0).set_index("campaign_id").loc[1]
    assert pd.isna(sales["ewt_s"]) and pd.isna(sales["calls_waiting"])
    support = store.campaign_history(T0).set_index("campaign_id").loc[2]
    assert pd.isna(support["max_wait_s"])


def test_campaign_history_filters_by_time_and_campaign(store):
    store.append_campaigns(campaigns(), T0)
    store.append_campaigns(campaigns(), T0 + timedelta(hours=1))
    assert len(store.campaign_history(T0 + timedelta(minutes=30))) == 2
    only_sales = store.campaign_history(T0, campaign_ids=[1])
    assert only_sales["campaign_id"].unique().tolist() == [1]
    assert store.campaign_history(T0, campaign_ids=[]).empty


def test_a_range_with_an_end_leaves_out_what_came_at_and_after_it(store):
    for hour in range(4):
        store.append_campaigns(campaigns(ewt=float(hour)), T0 + timedelta(hours=hour))
        store.append_agent_states(agents(*["Busy"] * (hour + 1)), T0 + timedelta(hours=hour))
    until = T0 + timedelta(hours=2)
    past = store.campaign_history(T0 + timedelta(hours=1), [1], until)
    assert past["ewt_s"].tolist() == [1.0]
    assert sorted(store.campaign_history(T0, None, until)["ewt_s"].unique()) == [0.0, 1.0, 90.0]
    assert store.agent_state_history(T0, until)["agents"].tolist() == [1, 2]
    assert store.agent_state_history(T0)["agents"].tolist() == [1, 2, 3, 4]  # no end: until now


def test_the_same_moment_is_stored_once(store):
    store.append_campaigns(campaigns(ewt=30), T0)
    store.append_campaigns(campaigns(ewt=99), T0)
    store.append_agent_states(agents("Available"), T0)
    store.append_agent_states(agents("Available", "Busy"), T0)
    assert len(store.campaign_history(T0)) == 2
    assert store.campaign_history(T0, [1])["ewt_s"].tolist() == [30.0]
    assert store.agent_state_history(T0)["agents"].sum() == 1


def test_agent_states_are_counted_per_state(store):
    store.append_agent_states(agents("Available", "Busy", "Busy", "Paused"), T0)
    frame = store.agent_state_history(T0)
    assert dict(zip(frame["state"], frame["agents"], strict=True)) == {
        "Available": 1,
        "Busy": 2,
        "Paused": 1,
    }
    assert list(frame.columns) == ["at", "state", "agents"]


def test_an_empty_agents_frame_records_no_agent_counts(store):
    # A tenant without agent status never gets here: the collector skips it (test_collector.py).
    store.append_agent_states(agents(), T0)
    assert store.agent_state_history(T0).empty


def test_history_survives_close_and_reopen(tmp_path, clock):
    path = tmp_path / "history.sqlite"
    first = SQLiteHistory(path, 7, clock=clock)
    first.append_campaigns(campaigns(ewt=42), T0)
    first.append_agent_states(agents("Busy"), T0)
    first.close()
    first.close()  # idempotent
    again = SQLiteHistory(path, 7, clock=clock)
    try:
        assert again.campaign_history(T0, [1])["ewt_s"].tolist() == [42.0]
        assert again.agent_state_history(T0)["state"].tolist() == ["Busy"]
    finally:
        again.close()


def test_the_file_uses_write_ahead_logging(store):
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(campaign_history)")}
    assert "campaign_history_at" in indexes


def test_retention_prunes_rows_older_than_the_retention(store, clock):
    now = datetime.fromtimestamp(clock(), UTC)
    store.append_campaigns(campaigns(), now - timedelta(days=8))
    store.append_campaigns(campaigns(), now - timedelta(days=6))
    store.append_agent_states(agents("Busy"), now - timedelta(days=8))
    assert store.prune(now) == 3
    assert store.campaign_history(now - timedelta(days=30))["at"].min() == pd.Timestamp(
        now - timedelta(days=6)
    )


def test_old_rows_are_pruned_when_the_store_opens(tmp_path, clock):
    path = tmp_path / "history.sqlite"
    with SQLiteHistory(path, 30, clock=clock) as history:
        history.append_campaigns(campaigns(), T0 - timedelta(days=10))
    with SQLiteHistory(path, 1, clock=clock) as history:
        assert history.campaign_history(T0 - timedelta(days=30)).empty


def test_appends_prune_at_most_every_few_minutes(store, clock):
    now = datetime.fromtimestamp(clock(), UTC)
    store.append_campaigns(campaigns(), now - timedelta(days=8))
    assert len(store.campaign_history(now - timedelta(days=9))) == 2  # pruned on open only
    clock.advance(301)
    store.append_campaigns(campaigns(), now)
    assert len(store.campaign_history(now - timedelta(days=9))) == 2  # the old pair went


def test_long_ranges_are_thinned_to_the_point_cap(tmp_path, clock):
    with SQLiteHistory(tmp_path / "h.sqlite", 7, clock=clock, max_points=100) as history:
        for i in range(500):
            at = T0 + timedelta(seconds=10 * i)
            history.append_campaigns(campaigns(ewt=float(i)), at)
            history.append_agent_states(agents("Busy", "Available"), at)
        frame = history.campaign_history(T0)
        states = history.agent_state_history(T0)
    assert 50 <= len(frame) <= 100
    assert len(states) <= 100
    # Evenly thinned across the whole range, both campaigns kept, the latest point kept.
    assert set(frame["campaign_id"]) == {1, 2}
    assert frame["at"].max() == pd.Timestamp(T0 + timedelta(seconds=4990))
    assert frame["at"].min() < pd.Timestamp(T0 + timedelta(minutes=10))
    assert frame["at"].is_monotonic_increasing


def test_reads_go_on_while_another_thread_appends(store):
    errors = []

    def write() -> None:
        try:
            for i in range(200):
                store.append_campaigns(campaigns(), T0 + timedelta(seconds=i))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        store.campaign_history(T0)
    writer.join()
    assert not errors
    assert len(store.campaign_history(T0)) == 400


def test_a_closed_store_ignores_appends_and_reads_empty(tmp_path, clock):
    history = SQLiteHistory(tmp_path / "h.sqlite", 7, clock=clock)
    history.close()
    history.append_campaigns(campaigns(), T0)
    assert history.campaign_history(T0).empty


# -- activities --------------------------------------------------------------------------------


def activity_item(
    activity_id: int,
    created: datetime | None,
    status: str = "Answered",
    *,
    kind: str = "call.inbound",
    **fields: object,
) -> dict:
    stamps = {} if created is None else {"created": created.isoformat()}
    data = {"activityId": activity_id, "activityStatusName": status, "timestamps": stamps}
    return {"type": kind, "data": {**data, **fields}}


def activities(*items: dict) -> pd.DataFrame:
    return frames.activities_frame(list(items))


ACTIVITY_DTYPES = frames.activities_frame([]).dtypes


def test_activities_come_back_typed_exactly_like_the_builders_frame(store):
    stamp = T0 + timedelta(hours=1, seconds=0.123456789)
    full = activity_item(
        1,
        stamp,
        campaignId=5,
        campaignName="Sales",
        agentId=7,
        agentFullName="Zoë \ud800",
        leadId=2**40,
        source="+61290000000",
        parentActivityId=None,
        rootActivityId=1,
        durations={"queue": 12, "talk": 30.5, "hold": 0, "wrap": None},
        voicemailMetadata=[{"mediaId": 9}],
    )
    full["data"]["timestamps"].update(
        joinQueue=(stamp + timedelta(seconds=3)).isoformat(),
        answered=(stamp + timedelta(seconds=12)).isoformat(),
        hangUp=None,
    )
    sparse = activity_item(2, T0 + timedelta(hours=2), status=None, voicemailMetadata="odd")
    written = activities(full, sparse)
    store.append_activities(written)
    back = store.activity_history(T0)
    assert back.dtypes.to_dict() == ACTIVITY_DTYPES.to_dict()
    assert list(back.columns) == frames.FEED_COLUMNS["activities"]
    pd.testing.assert_frame_equal(back.drop(columns="raw"), written.drop(columns="raw"))
    assert back["created_at"].iloc[0] == written["created_at"].iloc[0]  # to the nanosecond
    assert back["raw"].isna().all()  # calls are described by their columns in full
    assert empty_activity_history().dtypes.to_dict() == ACTIVITY_DTYPES.to_dict()


def test_raw_data_is_kept_for_the_types_the_columns_do_not_describe(store):
    chat = activity_item(3, T0, kind="chat.inbound", transcript=["hi", {"who": "agent"}])
    store.append_activities(activities(chat, activity_item(4, T0)))
    back = store.activity_history(T0).set_index("activity_id")["raw"]
    assert back.loc[3] == chat["data"]
    assert back.loc[4] is None


def test_raw_data_too_large_to_keep_is_dropped_not_the_row(store, monkeypatch):
    monkeypatch.setattr("ipscape.history.MAX_RAW_JSON_CHARS", 100)
    chat = activity_item(3, T0, kind="chat.inbound", transcript="x" * 200)
    store.append_activities(activities(chat))
    back = store.activity_history(T0)
    assert back["activity_id"].tolist() == [3] and back["raw"].tolist() == [None]


def test_an_activity_appended_again_keeps_only_its_latest_version(store):
    store.append_activities(activities(activity_item(1, T0, "Queued"), activity_item(2, T0)))
    store.append_activities(activities(activity_item(1, T0, "Voicemail", agentId=None)))
    back = store.activity_history(T0).set_index("activity_id")
    assert len(back) == 2
    assert back.loc[1, "status"] == "Voicemail" and back.loc[2, "status"] == "Answered"


def test_activity_history_filters_by_time_campaign_agent_lead_and_type(store):
    store.append_activities(
        activities(
            activity_item(1, T0, campaignId=5, agentId=7, leadId=100),
            activity_item(2, T0 + timedelta(hours=1), campaignId=5, agentId=8),
            activity_item(3, T0 + timedelta(hours=2), campaignId=6, agentId=7, leadId=100),
            activity_item(4, T0 + timedelta(hours=3), kind="call.outbound", campaignId=6),
        )
    )

    def ids(**filters: object) -> list[int]:
        since = filters.pop("since", T0)
        return store.activity_history(since, **filters)["activity_id"].tolist()

    assert ids() == [1, 2, 3, 4]  # oldest first
    assert ids(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [2, 3]
    assert ids(campaign_id=5) == [1, 2]
    assert ids(agent_id=7) == [1, 3]
    assert ids(lead_id=100, campaign_id=6) == [3]
    assert ids(activity_type="call.outbound") == [4]
    assert ids(agent_id=99) == []


def test_activity_history_returns_the_newest_rows_up_to_the_limit_oldest_first(store):
    store.append_activities(
        activities(*(activity_item(i, T0 + timedelta(minutes=i)) for i in range(10)))
    )
    assert store.activity_history(T0, limit=3)["activity_id"].tolist() == [7, 8, 9]
    assert store.activity_history(T0, limit=0).empty


def test_an_activity_without_a_creation_time_is_filed_when_it_was_recorded(store, clock):
    store.append_activities(activities(activity_item(1, None)))
    now = datetime.fromtimestamp(clock(), UTC)
    back = store.activity_history(now - timedelta(minutes=1))
    assert back["activity_id"].tolist() == [1] and back["created_at"].isna().all()
    assert store.activity_history(T0, now - timedelta(minutes=1)).empty


def test_retention_prunes_activities_by_when_they_were_created(store, clock):
    now = datetime.fromtimestamp(clock(), UTC)
    store.append_activities(
        activities(
            activity_item(1, now - timedelta(days=8)), activity_item(2, now - timedelta(days=6))
        )
    )
    assert store.prune(now) == 1
    assert store.activity_history(now - timedelta(days=30))["activity_id"].tolist() == [2]


def test_activities_survive_close_and_reopen(tmp_path, clock):
    path = tmp_path / "history.sqlite"
    with SQLiteHistory(path, 7, clock=clock) as first:
        first.append_activities(activities(activity_item(1, T0 + timedelta(hours=1))))
    with SQLiteHistory(path, 7, clock=clock) as again:
        assert again.activity_history(T0)["activity_id"].tolist() == [1]


def test_appending_nothing_or_a_closed_store_writes_nothing(tmp_path, clock):
    history = SQLiteHistory(tmp_path / "h.sqlite", 7, clock=clock)
    history.append_activities(activities())
    history.append_activities(pd.DataFrame())
    assert history.activity_history(T0).empty
    history.close()
    history.append_activities(activities(activity_item(1, T0)))
    assert history.activity_history(T0).dtypes.to_dict() == ACTIVITY_DTYPES.to_dict()


def test_the_window_changed_rows_round_trip_through_the_store(store):
    now = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
    answers = [
        [activity_item(1, now - timedelta(minutes=5), "Queued"), activity_item(2, now)],
        [activity_item(1, now - timedelta(minutes=5), "Answered", agentId=7)],
    ]
    window = ActivityWindow(lambda since: answers.pop(0), timezone="UTC", clock=ManualClock(now))
    for _ in range(2):
        store.append_activities(window.fetch().changed)
    held = window.current().activities
    back = store.activity_history(now - timedelta(hours=1))
    pd.testing.assert_frame_equal(
        back.sort_values("activity_id").reset_index(drop=True),
        held.sort_values("activity_id").reset_index(drop=True),
    )


def test_a_failing_store_returns_an_empty_typed_activities_frame(tmp_path, clock):
    not_a_database = tmp_path / "h.sqlite"
    not_a_database.write_bytes(b"this is not a database file at all" * 100)
    history = ResilientHistory(lambda: SQLiteHistory(not_a_database, 7, clock=clock), clock=clock)
    history.append_activities(activities(activity_item(1, T0)))  # dropped, never raised
    back = history.activity_history(T0, campaign_id=5, limit=10)
    assert back.empty and back.dtypes.to_dict() == ACTIVITY_DTYPES.to_dict()
    assert not history.status().recording
    history.close()


def test_a_file_from_before_the_join_queue_column_is_upgraded_in_place(tmp_path) -> None:
    """History written by the previous release (no queued_ns) opens, keeps its rows (their
    join-queue time unknown) and takes new rows with it."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE activity_history (activity_id INTEGER PRIMARY KEY, at_ns INTEGER NOT "
            "NULL, type TEXT, campaign_id INTEGER, campaign_name TEXT, agent_id INTEGER, "
            "agent_name TEXT, status TEXT, created_ns INTEGER, answered_ns INTEGER, hangup_ns "
            "INTEGER, lead_id INTEGER, source TEXT, destination TEXT, parent_activity_id "
            "INTEGER, root_activity_id INTEGER, queue_s REAL, talk_s REAL, hold_s REAL, wrap_s "
            "REAL, interaction_s REAL, has_voicemail INTEGER, raw TEXT)"
        )
        at = round((T0 + timedelta(hours=1)).timestamp() * 1e9)
        old.execute(
            "INSERT INTO activity_history (activity_id, at_ns, type, status, created_ns) "
            "VALUES (1, ?, 'call.inbound', 'Abandoned', ?)",
            (at, at),
        )
    clock = ManualClock(T0 + timedelta(hours=3))
    store = SQLiteHistory(path, 7, clock=clock)
    try:
        item = activity_item(2, T0 + timedelta(hours=2))
        item["data"]["timestamps"]["joinQueue"] = (T0 + timedelta(hours=2, seconds=5)).isoformat()
        store.append_activities(activities(item))
        back = store.activity_history(T0).set_index("activity_id")
        assert back.loc[1, "status"] == "Abandoned" and pd.isna(back.loc[1, "queued_at"])
        assert back.loc[2, "queued_at"] == pd.Timestamp(T0 + timedelta(hours=2, seconds=5))
    finally:
        store.close()
