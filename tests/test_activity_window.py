"""Today's activities, fetched incrementally: what each fetch asks for, how the window merges,
and that the merged frames are exactly what the frame builders give over the latest version of
every activity, whatever the order in which versions, parents and children arrive."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipscape import activities, frames
from ipscape.activities import ActivityUpdate, ActivityWindow
from ipscape.clock import ManualClock
from ipscape.errors import PaginationError, ServerError

SYDNEY = ZoneInfo("Australia/Sydney")


def activity(
    activity_id: int,
    created: datetime,
    status: str = "Queued",
    hangup: datetime | None = None,
    *,
    kind: str = "call.inbound",
    **fields: Any,
) -> dict[str, Any]:
    stamps = {"created": created.isoformat()}
    if hangup is not None:
        stamps["hangUp"] = hangup.isoformat()
    data = {"activityId": activity_id, "activityStatusName": status, "timestamps": stamps}
    return {"type": kind, "data": {**data, **fields}}


def voicemail(media_id: int) -> dict[str, Any]:
    return {"mediaId": media_id, "mediaUri": f"/v3.0/media/{media_id}", "duration": 12}


class ActivitySource:
    def __init__(self) -> None:
        self.asked: list[datetime] = []
        self.answers: list[list[Any]] = []
        self.fail: Exception | None = None

    def __call__(self, since: datetime) -> list[Any]:
        self.asked.append(since)
        if self.fail is not None:
            raise self.fail
        return self.answers.pop(0) if self.answers else []


@pytest.fixture
def sydney_clock() -> ManualClock:
    return ManualClock(datetime(2025, 6, 2, 14, 0, tzinfo=SYDNEY))


@pytest.fixture
def source() -> ActivitySource:
    return ActivitySource()


@pytest.fixture
def window(source, sydney_clock) -> ActivityWindow:
    return ActivityWindow(source, timezone="Australia/Sydney", clock=sydney_clock)


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("activity_id")


# -- what each fetch asks for ------------------------------------------------------------------


def test_first_activity_fetch_asks_from_local_midnight(window, source):
    window.fetch()
    assert source.asked == [datetime(2025, 6, 2, 0, 0, tzinfo=SYDNEY)]


def test_later_fetches_ask_only_since_the_newest_activity_minus_the_overlap(
    window, source, sydney_clock
):
    t = datetime(2025, 6, 2, 13, 50, tzinfo=SYDNEY)
    done = t + timedelta(minutes=1)
    source.answers = [
        [activity(1, t, "Answered", done), activity(2, t.replace(minute=59), "X", done)]
    ]
    window.fetch()
    sydney_clock.advance(30)
    window.fetch()
    assert source.asked[1] == datetime(2025, 6, 2, 13, 57, tzinfo=SYDNEY)


def test_a_tenant_clock_behind_ours_loses_no_activities(window, source, sydney_clock):
    tenant_now = datetime(2025, 6, 2, 9, 0, tzinfo=SYDNEY)  # five hours behind our clock
    source.answers = [[activity(1, tenant_now, "Answered", tenant_now)]]
    window.fetch()
    sydney_clock.advance(30)
    window.fetch()
    assert source.asked[1] == tenant_now - timedelta(minutes=2)


def test_the_cursor_never_starts_after_our_now_minus_the_overlap(window, source, sydney_clock):
    ahead = datetime(2025, 6, 2, 14, 4, tzinfo=SYDNEY)  # ahead, but within the tolerance
    source.answers = [[activity(1, ahead, "Answered", ahead)]]
    window.fetch()
    assert window.next_since(sydney_clock()) == datetime(2025, 6, 2, 13, 58, tzinfo=SYDNEY)


def test_calls_still_open_are_asked_for_again_until_they_close(window, source, sydney_clock):
    queued_at = datetime(2025, 6, 2, 13, 40, tzinfo=SYDNEY)
    newest = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    closed = activity(2, newest, "Answered", hangup=newest)
    source.answers = [[activity(1, queued_at), closed]]
    window.fetch()
    sydney_clock.advance(30)
    source.answers = [[activity(1, queued_at, "Voicemail", hangup=queued_at.replace(minute=55))]]
    update = window.fetch()
    assert source.asked[1] == queued_at
    assert by_id(update.activities).loc[1, "status"] == "Voicemail"
    sydney_clock.advance(30)
    window.fetch()
    assert source.asked[2] == newest - timedelta(minutes=2)


def test_open_calls_older_than_the_lookback_no_longer_hold_the_cursor(window, source, sydney_clock):
    stuck = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)  # open for an hour: the tenant lost it
    newest = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [[activity(1, stuck), activity(2, newest, "Answered", newest)]]
    window.fetch()
    assert window.next_since(sydney_clock()) == newest - timedelta(minutes=2)


# -- merging -----------------------------------------------------------------------------------


def test_merged_activities_keep_one_row_per_id_with_the_newest_version(
    window, source, sydney_clock
):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [
        [activity(1, t), activity(2, t)],
        [activity(2, t, "Answered"), activity(3, t)],
    ]
    window.fetch()
    sydney_clock.advance(30)
    update = window.fetch()
    assert update.activities["activity_id"].tolist() == [1, 2, 3]  # 2 moved to the young end
    assert by_id(update.activities).loc[2, "status"] == "Answered"
    assert window.current() is update


def test_a_version_sent_twice_in_one_fetch_counts_once_the_later_winning(window, source):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [[activity(1, t), activity(2, t), activity(1, t, "Answered")]]
    update = window.fetch()
    assert update.activities["activity_id"].tolist() == [2, 1]
    assert by_id(update.activities).loc[1, "status"] == "Answered"


def test_changed_holds_the_new_and_the_changed_not_what_came_again_unchanged(
    window, source, sydney_clock
):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [
        [activity(1, t), activity(2, t)],
        [activity(1, t), activity(2, t, "Answered"), activity(3, t)],
        [activity(1, t), activity(2, t, "Answered")],
    ]
    assert window.fetch().changed["activity_id"].tolist() == [1, 2]
    sydney_clock.advance(30)
    second = window.fetch()
    assert second.changed["activity_id"].tolist() == [2, 3]
    assert second.changed["status"].tolist() == ["Answered", "Queued"]
    sydney_clock.advance(30)
    assert window.fetch().changed.empty
    assert list(second.changed.columns) == frames.FEED_COLUMNS["activities"]


def test_raw_json_is_kept_only_for_types_the_columns_do_not_describe(window, source):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    chat = activity(3, t, kind="chat.inbound", transcript="hello")
    source.answers = [
        [activity(1, t), activity(2, t, kind="call.outbound", dialStatusName="Busy"), chat]
    ]
    update = window.fetch()
    raw = by_id(update.activities)["raw"]
    assert raw.loc[1] is None and raw.loc[2] is None
    assert raw.loc[3] == chat["data"]
    assert by_id(update.changed)["raw"].loc[3] == chat["data"]


def test_a_voicemail_left_on_a_second_look_replaces_the_first_version(window, source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [
        [activity(1, t, voicemailMetadata=[voicemail(10)]), activity(2, t)],
        [activity(1, t, "Answered"), activity(2, t, voicemailMetadata=[voicemail(20)])],
    ]
    assert window.fetch().voicemail["media_id"].tolist() == [10]
    sydney_clock.advance(30)
    update = window.fetch()
    assert update.voicemail["activity_id"].tolist() == [2]
    assert update.voicemail["media_id"].tolist() == [20]


def test_a_transfer_learns_its_from_side_when_the_parent_arrives_later(
    window, source, sydney_clock
):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    child = activity(2, t, "Answered", parentActivityId=1, agentId=8, agentFullName="Bo")
    parent = activity(1, t, "Answered", agentId=7, agentFullName="Ann", campaignId=5)
    source.answers = [[child], [parent], [{**parent, "data": {**parent["data"], "agentId": 9}}]]
    first = window.fetch().transfers
    assert first["from_agent"].isna().all() and first["to_agent"].tolist() == ["Bo"]
    sydney_clock.advance(30)
    second = window.fetch().transfers
    assert second["from_agent"].tolist() == ["Ann"]
    assert second["from_agent_id"].tolist() == [7] and second["from_campaign_id"].tolist() == [5]
    sydney_clock.advance(30)
    assert window.fetch().transfers["from_agent_id"].tolist() == [9]  # the parent's latest


def test_items_without_an_activity_id_are_counted_for_today_not_kept(window, source):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    nameless = {"type": "call.inbound", "data": {"activityStatusName": "Queued"}}
    source.answers = [[nameless, "not an object", activity(1, t)], [nameless]]
    first = window.fetch()
    assert first.activities["activity_id"].tolist() == [1]
    expected = frames.Drops({frames.NO_ACTIVITY_ID: 1, frames.NOT_AN_OBJECT: 1})
    assert first.result("activities").drops == first.fetch_drops["activities"] == expected
    published = (first.activities, first.voicemail, first.transfers, first.changed)
    assert all(frame.attrs == {} for frame in published)  # counts travel on the update only
    second = window.fetch()
    assert second.result("activities").drops.counts[frames.NO_ACTIVITY_ID] == 2
    assert second.fetch_drops["activities"] == frames.Drops({frames.NO_ACTIVITY_ID: 1})
    assert second.changed.attrs == {}


def test_the_window_holds_today_only(window, source, sydney_clock):
    late = datetime(2025, 6, 2, 23, 58, tzinfo=SYDNEY)
    source.answers = [
        [
            activity(1, late, "Voicemail", late, voicemailMetadata=[voicemail(10)]),
            activity(3, late, "Answered", late, parentActivityId=1),
            {"type": "call.inbound", "data": {}},
        ]
    ]
    window.fetch()
    sydney_clock.advance(10 * 3600 + 5 * 60)  # 00:05 the next day
    early = datetime(2025, 6, 3, 0, 1, tzinfo=SYDNEY)
    source.answers = [[activity(2, early)]]
    update = window.fetch()
    assert update.activities["activity_id"].tolist() == [2]
    assert update.voicemail.empty and update.transfers.empty
    assert not update.result("activities").drops  # yesterday's counts went with it
    assert source.asked[1] == datetime(2025, 6, 3, 0, 0, tzinfo=SYDNEY)


def test_yesterdays_last_activities_reach_the_history_but_not_the_day(window, source, sydney_clock):
    sydney_clock.advance(9 * 3600 + 59 * 60 + 45)  # 23:59:45
    late = datetime(2025, 6, 2, 23, 59, 40, tzinfo=SYDNEY)
    source.answers = [[activity(1, late, "Answered", late)]]
    assert window.fetch().activities["activity_id"].tolist() == [1]
    sydney_clock.advance(35)  # 00:00:20 the next day
    tail = datetime(2025, 6, 2, 23, 59, 55, tzinfo=SYDNEY)  # listed after the last fetch
    early = datetime(2025, 6, 3, 0, 0, 10, tzinfo=SYDNEY)
    source.answers = [[activity(2, tail, "Answered", tail), activity(3, early)]]
    update = window.fetch()
    assert source.asked[1] == late - timedelta(seconds=activities.ACTIVITY_OVERLAP_S)
    assert update.activities["activity_id"].tolist() == [3]
    assert sorted(update.changed["activity_id"].tolist()) == [2, 3]
    # From then on, today only.
    sydney_clock.advance(30)
    window.fetch()
    assert source.asked[2] >= datetime(2025, 6, 3, 0, 0, tzinfo=SYDNEY)


def test_a_transfer_whose_parent_left_at_midnight_loses_its_from_side(window, source, sydney_clock):
    late = datetime(2025, 6, 2, 23, 58, tzinfo=SYDNEY)
    early = datetime(2025, 6, 3, 0, 1, tzinfo=SYDNEY)
    source.answers = [
        [activity(1, late, "Answered", late, agentFullName="Ann")],
        [activity(2, early, "Answered", early, parentActivityId=1)],
    ]
    window.fetch()
    sydney_clock.advance(10 * 3600 + 5 * 60)
    transfers = window.fetch().transfers
    assert transfers["activity_id"].tolist() == [2] and transfers["from_agent"].isna().all()


def test_the_window_never_holds_more_than_its_cap(source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)
    source.answers = [
        [activity(i, t, "Voicemail", t, voicemailMetadata=[voicemail(100 + i)]) for i in range(10)]
    ]
    window = ActivityWindow(source, timezone="Australia/Sydney", clock=sydney_clock, max_items=4)
    update = window.fetch()
    assert update.activities["activity_id"].tolist() == [6, 7, 8, 9]
    assert update.voicemail["activity_id"].tolist() == [6, 7, 8, 9]
    assert update.activities.index.tolist() == [0, 1, 2, 3]


def test_the_cap_keeps_the_most_recently_sent_versions(source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)
    source.answers = [
        [activity(i, t, "Answered", t) for i in range(4)],
        [activity(0, t, "Answered", t), activity(9, t, "Answered", t)],
    ]
    window = ActivityWindow(source, timezone="Australia/Sydney", clock=sydney_clock, max_items=4)
    window.fetch()
    assert window.fetch().activities["activity_id"].tolist() == [2, 3, 0, 9]


# -- failures ----------------------------------------------------------------------------------


def test_a_failed_activity_fetch_leaves_the_window_as_it_was(window, source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [[activity(1, t, "Answered", hangup=t)]]
    before = window.fetch()
    source.fail = ServerError("HTTP 503", status_code=503)
    sydney_clock.advance(31)
    with pytest.raises(ServerError):
        window.fetch()
    assert window.current() is before
    assert before.activities["activity_id"].tolist() == [1]
    assert source.asked[1] == t - timedelta(minutes=2)


def test_a_listing_cut_short_is_merged_as_far_as_read_and_re_raised(window, source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 59, tzinfo=SYDNEY)
    source.answers = [[activity(1, t, "Answered", hangup=t)]]
    window.fetch()
    cut = PaginationError("too many pages", operation="activities")
    cut.partial = [activity(2, t, "Answered", hangup=t)]
    source.fail = cut
    sydney_clock.advance(30)
    with pytest.raises(PaginationError) as raised:
        window.fetch()
    partial = raised.value.partial
    assert isinstance(partial, ActivityUpdate)
    assert partial.activities["activity_id"].tolist() == [1, 2]
    assert partial.changed["activity_id"].tolist() == [2]
    assert window.current() is partial


# -- quarantine --------------------------------------------------------------------------------


def test_an_activity_dated_ahead_is_quarantined_until_its_time_comes(window, source, sydney_clock):
    now = datetime(2025, 6, 2, 14, 0, tzinfo=SYDNEY)
    ahead = now + timedelta(minutes=30)
    source.answers = [[activity(1, now - timedelta(minutes=1)), activity(99, ahead)]]
    update = window.fetch()
    assert update.activities["activity_id"].tolist() == [1]
    assert window.quarantined()["activity_id"].tolist() == [99]
    assert window.next_since(sydney_clock()) < now  # never the cursor
    sydney_clock.advance(26 * 60)  # within the tolerance of its time now
    released = window.fetch()
    assert released.activities["activity_id"].tolist() == [1, 99]
    assert released.changed["activity_id"].tolist() == [99]
    assert window.quarantined().empty


def test_a_current_version_of_a_quarantined_activity_replaces_it(window, source, sydney_clock):
    now = datetime(2025, 6, 2, 14, 0, tzinfo=SYDNEY)
    source.answers = [[activity(5, now + timedelta(hours=3))], [activity(5, now, "Answered")]]
    window.fetch()
    assert window.quarantined()["activity_id"].tolist() == [5]
    sydney_clock.advance(30)
    update = window.fetch()
    assert window.quarantined().empty
    assert by_id(update.activities).loc[5, "status"] == "Answered"


def test_the_quarantine_is_bounded_keeping_the_latest(window, source, monkeypatch):
    monkeypatch.setattr(activities, "MAX_QUARANTINE_ITEMS", 3)
    far = datetime(2100, 1, 1, tzinfo=SYDNEY)
    source.answers = [[activity(i, far) for i in range(10)]]
    window.fetch()
    assert window.quarantined()["activity_id"].tolist() == [7, 8, 9]
    assert window.current().activities.empty


# -- held frames stay fast to read -------------------------------------------------------------


def test_string_columns_are_combined_once_they_are_in_many_chunks(
    window, source, sydney_clock, monkeypatch
):
    monkeypatch.setattr(activities, "MAX_CHUNKS", 4)
    t = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)
    source.answers = [[activity(i, t, "Answered", t, campaignName="Sales")] for i in range(20)]
    for _ in range(20):
        update = window.fetch()
        sydney_clock.advance(30)
    for name, dtype in update.activities.dtypes.items():
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            assert update.activities[name].array.__arrow_array__().num_chunks <= 4, name
    assert update.activities["activity_id"].tolist() == list(range(20))
    assert (update.activities["campaign_name"] == "Sales").all()


def test_readers_on_other_threads_always_see_a_whole_update(window, source, sydney_clock):
    t = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)
    source.answers = [
        [activity(i, t, voicemailMetadata=[voicemail(i)]) for i in range(n, n + 5)]
        for n in range(0, 200, 5)
    ]
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set() and len(seen) < 20_000:
            current = window.current()
            if current is not None:
                seen.append((len(current.activities), len(current.voicemail)))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(40):
            window.fetch()
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert all(activities_ == voicemails for activities_, voicemails in seen)
    assert len(window.current().activities) == 200


# -- the incremental frames are the builders' frames -------------------------------------------

T0 = datetime(2025, 6, 2, 13, 0, tzinfo=SYDNEY)
IDS = st.integers(min_value=1, max_value=12)  # few ids, so versions and parents collide
AGENTS = st.sampled_from([(None, None), (7, "Ann"), (8, "Bo"), ("8", "Bo")])
CAMPAIGNS = st.sampled_from([(None, None), (1, "Sales"), (2, "Support")])
VOICEMAILS = st.one_of(
    st.none(),
    st.just([]),
    st.lists(st.integers(1, 999).map(voicemail), min_size=1, max_size=2),
    st.just([voicemail(5), "not an entry"]),
    st.just("not a list"),
)


@st.composite
def activity_items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:  # an item the builders cannot identify
        return draw(
            st.sampled_from(
                [
                    "not an object",
                    {"type": "call.inbound"},
                    {"type": "call.inbound", "data": {"activityStatusName": "Queued"}},
                    {"type": "call.inbound", "data": {"activityId": "abc"}},
                ]
            )
        )
    created = T0 + timedelta(minutes=draw(st.integers(0, 59)))
    agent_id, agent_name = draw(AGENTS)
    campaign_id, campaign_name = draw(CAMPAIGNS)
    stamps = {"created": created.isoformat()}
    if draw(st.booleans()):
        stamps["hangUp"] = (created + timedelta(seconds=draw(st.integers(0, 600)))).isoformat()
    data = {
        "activityId": draw(st.one_of(IDS, IDS.map(str))),
        "activityStatusName": draw(st.sampled_from(["Queued", "Answered", "Voicemail"])),
        "parentActivityId": draw(st.one_of(st.none(), IDS)),
        "agentId": agent_id,
        "agentFullName": agent_name,
        "campaignId": campaign_id,
        "campaignName": campaign_name,
        "durations": {"talk": draw(st.one_of(st.none(), st.integers(0, 900)))},
        "timestamps": stamps,
        "voicemailMetadata": draw(VOICEMAILS),
    }
    kind = draw(st.sampled_from(["call.inbound", "call.inbound", "call.outbound", "sms.inbound"]))
    return {"type": kind, "data": data}


def builders_over(latest: dict[int, Any]) -> dict[str, pd.DataFrame]:
    items = list(latest.values())
    return {
        "activities": frames.activities_frame(items),
        "voicemail": frames.voicemail_frame(items),
        "transfers": frames.transfers_frame(items),
    }


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=["raw"], errors="ignore")
    return frame.sort_values("activity_id", kind="stable").reset_index(drop=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fetches=st.lists(st.lists(activity_items(), max_size=6), min_size=1, max_size=6),
    max_items=st.sampled_from([4, 8, 1000]),
)
def test_incremental_frames_equal_the_builders_over_the_latest_versions(fetches, max_items):
    clock = ManualClock(datetime(2025, 6, 2, 14, 0, tzinfo=SYDNEY))
    answers = list(fetches)
    window = ActivityWindow(
        lambda since: answers.pop(0),
        timezone="Australia/Sydney",
        clock=clock,
        max_items=max_items,
    )
    latest: dict[int, Any] = {}
    for batch in fetches:
        ids_before = dict(latest)
        for item in batch:
            key = frames.activity_id(item)
            if key is not None:
                latest.pop(key, None)
                latest[key] = item
        latest = dict(list(latest.items())[-max_items:])
        update = window.fetch()
        clock.advance(30)

        expected = builders_over(latest)
        for feed, frame in expected.items():
            pd.testing.assert_frame_equal(comparable(getattr(update, feed)), comparable(frame))
        assert update.activities["activity_id"].tolist() == list(latest)  # arrival order
        known = update.activities["type"].isin(frames.KNOWN_ACTIVITY_TYPES)
        assert update.activities.loc[known, "raw"].isna().all()
        assert update.activities.loc[~known, "raw"].tolist() == [
            expected["activities"].set_index("activity_id").loc[i, "raw"]
            for i in update.activities.loc[~known, "activity_id"]
        ]
        sent = {frames.activity_id(item) for item in batch} - {None}
        changed = set(update.changed["activity_id"].tolist())
        assert changed <= sent and sent - set(ids_before) <= changed
