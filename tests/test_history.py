"""SQLite history on a real file: appends, reads, restart, retention and bounded reads."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from ipscape.clock import ManualClock
from ipscape.history import HistoryStore, SQLiteHistory

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


def test_a_tenant_without_agent_status_records_no_agent_counts(store):
    unavailable = agents()
    unavailable.attrs["unavailable"] = "no agent status"
    store.append_agent_states(unavailable, T0)
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
