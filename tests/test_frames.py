"""Specification of ipscape.frames: API JSON -> typed frames, robust to untrusted input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipscape import frames
from ipscape.frames import (
    FEED_BUILDERS,
    FEED_COLUMNS,
    activities_frame,
    activities_result,
    agents_frame,
    agents_result,
    campaigns_frame,
    campaigns_result,
    dial_attempts_frame,
    dial_attempts_result,
    parse_timestamp,
    transfers_frame,
    transfers_result,
    voicemail_frame,
    voicemail_result,
)

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 11, 23, 42, tzinfo=UTC)  # 10:42 in Sydney (AEDT)
NA = pd.NA

INT, FLT, STR, BOOL, TS, OBJ = (
    "Int64",
    "Float64",
    "string",
    "boolean",
    "datetime64[ns, UTC]",
    "object",
)
EXPECTED_DTYPES: dict[str, dict[str, str]] = {
    "campaigns": {
        "campaign_id": INT, "campaign_name": STR, "ewt_s": FLT, "max_wait_s": FLT,
        "avg_wait_s": FLT, "calls_waiting": INT, "calls_received": INT, "calls_abandoned": INT,
        "calls_answered": INT,
        "agents_logged_in": INT, "agents_available": INT, "agents_busy": INT, "agents_wrap": INT,
        "agents_paused": INT, "is_active": BOOL, "timezone": STR, "as_of": TS,
    },
    "agents": {
        "agent_id": INT, "agent_name": STR, "state": STR, "state_since": TS, "time_in_state_s": FLT,
        "pause_reason": STR, "campaign_ids": OBJ,
    },
    "voicemail": {
        "activity_id": INT, "media_id": INT, "received_at": TS, "caller": STR, "campaign_id": INT,
        "campaign_name": STR, "agent_id": INT, "duration_s": FLT, "media_uri": STR,
        "returned_at": TS,
    },
    "transfers": {
        "activity_id": INT, "parent_activity_id": INT, "root_activity_id": INT,
        "transferred_at": TS, "from_agent": STR, "to_agent": STR, "from_agent_id": INT,
        "to_agent_id": INT,
        "from_campaign": STR, "to_campaign": STR, "from_campaign_id": INT, "to_campaign_id": INT,
        "talk_s": FLT,
    },
    "dial-attempts": {
        "lead_id": INT, "attempt_id": INT, "activity_id": INT, "phone_index": INT,
        "phone_number": STR, "dial_status": STR, "campaign_id": INT, "agent_id": INT,
        "created_at": TS, "dial_s": FLT,
    },
    "activities": {
        "activity_id": INT, "type": STR, "campaign_id": INT, "campaign_name": STR, "agent_id": INT,
        "agent_name": STR, "status": STR, "created_at": TS, "queued_at": TS, "answered_at": TS,
        "hangup_at": TS,
        "lead_id": INT, "source": STR, "destination": STR, "parent_activity_id": INT,
        "root_activity_id": INT, "queue_s": FLT, "talk_s": FLT, "hold_s": FLT, "wrap_s": FLT,
        "interaction_s": FLT, "has_voicemail": BOOL, "raw": OBJ,
    },
}  # fmt: skip


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def activity_items() -> list[dict[str, Any]]:
    return load("activities_page.json")["items"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def build(feed: str, items: object) -> pd.DataFrame:
    if feed == "agents":
        return agents_frame(items, now=NOW)  # type: ignore[arg-type]
    return FEED_BUILDERS[feed](items)


def assert_schema(frame: pd.DataFrame, feed: str) -> None:
    assert list(frame.columns) == FEED_COLUMNS[feed]
    assert {c: str(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES[feed]


def record(frame: pd.DataFrame, position: int) -> dict[str, Any]:
    """One row as a dict, read column by column so that each keeps its own dtype's NA."""
    return {column: frame[column].iloc[position] for column in frame.columns}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [record(frame, position) for position in range(len(frame))]


def row(frame: pd.DataFrame, key: str, value: object) -> dict[str, Any]:
    positions = [i for i, v in enumerate(frame[key]) if v is not NA and v == value]
    assert len(positions) == 1, f"expected one row with {key}={value}, got {len(positions)}"
    return record(frame, positions[0])


def activity(activity_id: object = 1, type_: object = "call.inbound", **fields: Any) -> dict:
    return {"type": type_, "data": {"activityId": activity_id, **fields}}


# ------------------------------------------------------------------------ parse_timestamp


def test_colon_less_offset_is_read_as_that_offset() -> None:
    assert parse_timestamp("2020-07-06T13:11:06+1000") == utc("2020-07-06T03:11:06")


def test_colon_offset_and_z_are_read() -> None:
    assert parse_timestamp("2020-07-06T13:55:06+10:00") == utc("2020-07-06T03:55:06")
    assert parse_timestamp("2020-07-06T03:55:06Z") == utc("2020-07-06T03:55:06")
    assert parse_timestamp("2020-07-06T13:55:06-05:30") == utc("2020-07-06T19:25:06")


def test_result_is_tz_aware_utc() -> None:
    stamp = parse_timestamp("2020-07-06T13:11:06+1000")
    assert stamp is not None
    assert str(stamp.tz) == "UTC"


def test_naive_old_api_form_is_local_time_in_the_tenant_zone_with_daylight_saving() -> None:
    # Sydney: AEST (+10) in July, AEDT (+11) in January.
    assert parse_timestamp("2020-07-06 13:11:06", "Australia/Sydney") == utc("2020-07-06 03:11:06")
    assert parse_timestamp("2020-01-06 13:11:06", "Australia/Sydney") == utc("2020-01-06 02:11:06")


def test_naive_form_without_zone_is_utc() -> None:
    assert parse_timestamp("2020-07-06 13:11:06") == utc("2020-07-06 13:11:06")


def test_naive_time_in_the_repeated_autumn_hour_is_the_daylight_instant() -> None:
    # 2020-04-05 02:30 happened twice in Sydney: first at +11.
    assert parse_timestamp("2020-04-05 02:30:00", "Australia/Sydney") == utc("2020-04-04 15:30")


def test_naive_time_skipped_by_spring_change_moves_forward() -> None:
    # 2020-10-04 02:00-03:00 did not exist in Sydney; 03:00 AEDT is 16:00 UTC.
    assert parse_timestamp("2020-10-04 02:30:00", "Australia/Sydney") == utc("2020-10-03 16:00")


def test_naive_form_in_unknown_zone_is_unknown() -> None:
    assert parse_timestamp("2020-07-06 13:11:06", "Mars/Olympus_Mons") is None


def test_offset_forms_ignore_the_tenant_zone() -> None:
    assert parse_timestamp("2020-07-06T13:11:06+1000", "America/New_York") == utc(
        "2020-07-06T03:11:06"
    )


def test_fractional_seconds_and_surrounding_spaces_are_accepted() -> None:
    assert parse_timestamp(" 2020-07-06T13:11:06.250+1000 ") == utc("2020-07-06T03:11:06.25")


@pytest.mark.parametrize(
    "value",
    [
        None, "", "garbage", "2020-13-45T00:00:00+1000", "2020-07-06", "13:11:06",
        "2020-07-06T25:00:00Z", 1594005066, 1594005066.0, True, [], {}, b"2020-07-06",
        "2020-07-06T13:11:06+1000\x00", "\ud800", "0001-01-01T00:00:00Z",
    ],
)  # fmt: skip
def test_unparseable_values_give_none(value: object) -> None:
    assert parse_timestamp(value) is None


def test_datetime_objects_are_accepted_naive_ones_in_the_zone() -> None:
    aware = datetime(2020, 7, 6, 3, 11, 6, tzinfo=UTC)
    assert parse_timestamp(aware) == utc("2020-07-06T03:11:06")
    assert parse_timestamp(datetime(2020, 7, 6, 13, 11, 6), "Australia/Sydney") == utc(
        "2020-07-06T03:11:06"
    )


# ------------------------------------------------------------------------------ empty input


@pytest.mark.parametrize("feed", list(FEED_COLUMNS))
def test_empty_input_gives_empty_frame_with_feed_columns_and_dtypes(feed: str) -> None:
    result = build_result(feed, [])
    frame = result.frame
    assert len(frame) == 0
    assert_schema(frame, feed)
    assert result.drops.counts == {}


@pytest.mark.parametrize("feed", list(FEED_COLUMNS))
@pytest.mark.parametrize("items", [None, 42, "items", {"items": []}, b"[]"])
def test_non_list_input_gives_empty_frame_counted_as_not_a_list(feed: str, items: object) -> None:
    result = build_result(feed, items)
    frame = result.frame
    assert len(frame) == 0
    assert_schema(frame, feed)
    assert result.drops.counts == {"not a list": 1}


def test_feed_builders_cover_every_feed() -> None:
    assert set(FEED_BUILDERS) == set(FEED_COLUMNS) == set(EXPECTED_DTYPES)
    assert set(FEED_COLUMNS) == {
        "campaigns", "agents", "voicemail", "transfers", "dial-attempts", "activities",
    }  # fmt: skip


# -------------------------------------------------------------------------------- campaigns


def test_campaign_statistics_are_read_precisely() -> None:
    result = campaigns_result(load("campaign_statistics.json"))
    frame = result.frame
    assert_schema(frame, "campaigns")
    assert frame["campaign_id"].tolist() == [11, 12, 13]
    sales = row(frame, "campaign_id", 11)
    assert sales == {
        "campaign_id": 11, "campaign_name": "Sales", "ewt_s": 45.0, "max_wait_s": 80.0,
        "avg_wait_s": 31.5, "calls_waiting": 3, "calls_received": 412, "calls_abandoned": 21,
        "calls_answered": 380, "agents_logged_in": 14, "agents_available": 2, "agents_busy": 9,
        "agents_wrap": 2, "agents_paused": 1, "is_active": True, "timezone": "Australia/Sydney",
        "as_of": utc("2024-03-11T23:42:00"),
    }  # fmt: skip
    assert result.drops.counts == {}


def test_numeric_strings_are_numbers_and_missing_counts_stay_unknown() -> None:
    support = row(campaigns_frame(load("campaign_statistics.json")), "campaign_id", 12)
    assert support["ewt_s"] == 190.0
    assert support["max_wait_s"] == 275.0
    assert support["calls_waiting"] == 8
    assert support["avg_wait_s"] is NA  # null, not 0
    assert support["agents_paused"] is NA  # key missing, not 0
    assert support["agents_available"] == 0  # a real zero stays zero


def test_abandoned_adds_workflow_and_queue_and_is_unknown_only_when_both_are() -> None:
    frame = campaigns_frame(
        [
            {"campaignId": 1, "callsAbandonedInWorkflow": 2, "callsAbandonedInQueue": 5},
            {"campaignId": 2, "callsAbandonedInQueue": "40"},
            {"campaignId": 3, "callsAbandonedInWorkflow": 3, "callsAbandonedInQueue": None},
            {"campaignId": 4},
            {"campaignId": 5, "callsAbandonedInWorkflow": "x", "callsAbandonedInQueue": -1},
        ]
    )
    assert frame["calls_abandoned"].tolist() == [7, 40, 3, NA, NA]


def test_naive_statistics_timestamp_is_read_in_the_campaign_zone() -> None:
    billing = row(campaigns_frame(load("campaign_statistics.json")), "campaign_id", 13)
    # Brisbane has no daylight saving: +10 all year.
    assert billing["as_of"] == utc("2024-03-12T00:41:30")
    assert billing["is_active"] == False  # noqa: E712
    for column in ["agents_logged_in", "agents_available", "agents_busy", "agents_wrap"]:
        assert billing[column] is NA


def test_as_of_argument_is_used_when_the_record_has_no_timestamp() -> None:
    frame = campaigns_frame(
        [{"campaignId": 1}, {"campaignId": 2, "timestamp": "2024-03-12T10:00:00+11:00"}],
        as_of=datetime(2024, 3, 12, 0, 0, 5),  # naive: UTC
    )
    assert frame["as_of"].tolist() == [utc("2024-03-12T00:00:05"), utc("2024-03-11T23:00:00")]


def test_as_of_is_unknown_without_timestamp_or_argument() -> None:
    frame = campaigns_frame([{"campaignId": 1, "timestamp": "yesterday"}])
    assert frame["as_of"].isna().all()


def test_unidentifiable_statistics_are_dropped_and_counted() -> None:
    result = campaigns_result(
        [
            {"campaignId": 1},
            "oops",
            None,
            {"campaignName": "No id"},
            {"campaignId": True},
            {"campaignId": {"id": 3}},
            {"campaignId": "abc"},
            {"campaignId": 2.0},
        ]
    )
    frame = result.frame
    assert frame["campaign_id"].tolist() == [1, 2]
    assert result.drops.counts == {"not an object": 2, "no campaignId": 4}


def test_wrong_typed_statistics_become_unknown_not_zero() -> None:
    frame = campaigns_frame(
        [
            {
                "campaignId": 1,
                "campaignName": {"en": "Sales"},
                "estimatedCallWaitingTime": True,
                "maxCallWaitingTime": float("nan"),
                "averageWaitingTime": -3,
                "callsWaiting": 2.5,
                "callsReceived": [1],
                "callsAnswered": float("inf"),
                "agents": ["loggedIn", 3],
                "isActive": "yes",
                "timezone": 10,
                "timestamp": 1710200000,
            }
        ]
    )
    assert_schema(frame, "campaigns")
    values = record(frame, 0)
    assert values["campaign_id"] == 1
    for column in FEED_COLUMNS["campaigns"]:
        if column not in {"campaign_id", "timezone"}:
            assert pd.isna(values[column]), column
    assert values["timezone"] == "10"


# ----------------------------------------------------------------------------------- agents


def test_agent_status_is_read_with_time_in_state() -> None:
    frame = agents_frame(load("agent_status_page.json")["items"], now=NOW)
    assert_schema(frame, "agents")
    assert frame["agent_id"].tolist() == [201, 202, 203, 204]
    assert frame["state"].tolist() == ["Busy", "Available", "Paused", "LoggedOut"]
    assert frame["time_in_state_s"].tolist() == [165.0, 10.0, 1800.0, NA]
    assert frame["pause_reason"].tolist() == [NA, NA, "Lunch", NA]
    assert frame["campaign_ids"].tolist() == [(11, 13), (12,), (12, 13), ()]
    assert row(frame, "agent_id", 203)["state_since"] == utc("2024-03-11T23:12:00")


def test_state_since_in_the_future_gives_zero_time_in_state() -> None:
    frame = agents_frame(
        [{"agentId": 1, "stateSince": "2024-03-11T23:43:00Z"}], now=NOW
    )  # clock skew between tenant and dashboard
    assert frame["time_in_state_s"].tolist() == [0.0]


def test_naive_now_is_utc() -> None:
    frame = agents_frame(
        [{"agentId": 1, "stateSince": "2024-03-11T23:41:00Z"}], now=datetime(2024, 3, 11, 23, 42)
    )
    assert frame["time_in_state_s"].tolist() == [60.0]


def test_broken_agent_items_keep_what_is_valid() -> None:
    result = agents_result(
        [
            {"agentId": "7", "agentFullName": 12, "state": None, "stateSince": "soon",
             "pauseReason": {"id": 1}, "campaignIds": [1, "2", None, "x", True, 1]},
            {"agentId": 8, "agentFullName": {"first": "A"}, "state": ["Busy"],
             "pauseReason": "Break", "campaignIds": "11"},
            {"agentFullName": "Nobody"},
            [201],
        ],
        now=NOW,
    )  # fmt: skip
    frame = result.frame
    assert frame["agent_id"].tolist() == [7, 8]
    assert frame["agent_name"].tolist() == ["12", NA]
    assert frame["state"].tolist() == [NA, NA]
    assert frame["time_in_state_s"].tolist() == [NA, NA]
    assert frame["pause_reason"].tolist() == [NA, "Break"]
    assert frame["campaign_ids"].tolist() == [(1, 2), ()]
    assert result.drops.counts == {"no agentId": 1, "not an object": 1}


# ------------------------------------------------------------------------------- activities


def test_activities_are_read_precisely() -> None:
    items = activity_items()
    result = activities_result(items)
    frame = result.frame
    assert_schema(frame, "activities")
    assert frame["activity_id"].tolist() == [5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009]
    first = record(frame, 0)
    assert first.pop("raw") is items[0]["data"]
    assert first == {
        "activity_id": 5001, "type": "call.inbound", "campaign_id": 11, "campaign_name": "Sales",
        "agent_id": 201, "agent_name": "Alice Nguyen", "status": "Answered",
        "created_at": utc("2024-03-11T22:15:02"), "queued_at": utc("2024-03-11T22:15:14"),
        "answered_at": utc("2024-03-11T22:15:47"),
        "hangup_at": utc("2024-03-11T22:21:10"), "lead_id": NA, "source": "+61298765432",
        "destination": "+61280001000", "parent_activity_id": NA, "root_activity_id": 5001,
        "queue_s": 33.0, "talk_s": 323.0, "hold_s": 0.0, "wrap_s": 45.0, "interaction_s": 323.0,
        "has_voicemail": False,
    }  # fmt: skip
    assert result.drops.counts == {}


def test_outbound_status_is_the_dial_status() -> None:
    frame = activities_frame(activity_items())
    assert row(frame, "activity_id", 5007)["status"] == "No Answer"
    assert row(frame, "activity_id", 5007)["lead_id"] == 3001


def test_an_outbound_call_s_destination_is_the_number_it_dialled() -> None:
    dialled = {"type": "call.outbound", "data": {"activityId": 1, "phoneNumber": "+61400000001"}}
    both = {
        "type": "call.outbound",
        "data": {"activityId": 2, "phoneNumber": "+61400000002", "destination": "+61400000009"},
    }
    neither = {"type": "call.outbound", "data": {"activityId": 3}}
    frame = activities_frame([dialled, both, neither])
    # the item's own destination wins; a dial attempt names it phoneNumber
    assert frame["destination"].tolist() == ["+61400000001", "+61400000009", NA]


def test_unknown_activity_type_is_kept_with_its_raw_data() -> None:
    items = activity_items()
    chat = row(activities_frame(items), "activity_id", 5008)
    assert chat["type"] == "chat.inbound"
    assert chat["raw"]["channel"] == "webchat"
    assert chat["created_at"] == utc("2024-03-12T01:00:00")
    assert chat["talk_s"] is NA


def test_has_voicemail_is_true_only_for_a_non_empty_list() -> None:
    frame = activities_frame(
        [
            *activity_items(),
            activity(1, voicemailMetadata={"mediaId": 1}),
            activity(2, voicemailMetadata=[None]),
        ]
    )
    by_id = dict(zip(frame["activity_id"], frame["has_voicemail"], strict=True))
    assert by_id[5004] == True  # noqa: E712
    assert by_id[5001] == False  # noqa: E712  ([])
    assert by_id[5005] == False  # noqa: E712  (null)
    assert by_id[5006] == False  # noqa: E712  (missing on outbound)
    assert by_id[1] is NA  # wrong type: unknown
    assert by_id[2] == False  # noqa: E712  (no usable entry)


def test_activity_items_may_come_from_a_generator() -> None:
    frame = activities_frame(item for item in activity_items())
    assert len(frame) == 9


def test_nulls_in_every_nullable_activity_field_give_na() -> None:
    data = {key: None for key in activity_items()[0]["data"]}
    data["activityId"] = 1
    frame = activities_frame([{"type": None, "data": data}])
    assert_schema(frame, "activities")
    values = record(frame, 0)
    for column in FEED_COLUMNS["activities"]:
        if column not in {"activity_id", "has_voicemail", "raw"}:
            assert values[column] is NA or pd.isna(values[column]), column
    assert values["has_voicemail"] == False  # noqa: E712


def test_wrong_types_in_activity_fields_give_na_and_numeric_strings_are_numbers() -> None:
    frame = activities_frame(
        [
            activity(
                "42",
                type_=["call"],
                campaignId="11",
                campaignName={"name": "Sales"},
                agentId=True,
                agentFullName=["Alice"],
                activityStatusName=3,
                leadId="lead-9",
                source=61298765432,
                destination=None,
                parentActivityId=" 41 ",
                rootActivityId=40.0,
                durations={"queue": "12", "talk": "-5", "hold": False, "wrap": "nan",
                           "interaction": 1e400},
                timestamps={"created": 20240312, "answered": "2024-03-12T09:15:47+1100",
                            "hangUp": {"at": "now"}},
            ),
            activity(43, durations=[1, 2], timestamps="2024-03-12T09:15:47+1100"),
        ]
    )  # fmt: skip
    first, second = records(frame)
    assert first["activity_id"] == 42
    assert first["type"] is NA
    assert first["campaign_id"] == 11
    assert first["campaign_name"] is NA
    assert first["agent_id"] is NA
    assert first["agent_name"] is NA
    assert first["status"] == "3"
    assert first["lead_id"] is NA
    assert first["source"] == "61298765432"
    assert first["parent_activity_id"] == 41
    assert first["root_activity_id"] == 40
    assert first["queue_s"] == 12.0
    for column in ["talk_s", "hold_s", "wrap_s", "interaction_s", "created_at", "hangup_at"]:
        assert pd.isna(first[column]), column
    assert first["answered_at"] == utc("2024-03-11T22:15:47")
    assert second["activity_id"] == 43
    assert pd.isna(second["queue_s"])
    assert pd.isna(second["created_at"])


def test_unidentifiable_activities_are_dropped_and_counted_by_reason() -> None:
    result = activities_result(
        [
            activity(1),
            "call",
            None,
            17,
            {"type": "call.inbound"},
            {"type": "call.inbound", "data": "oops"},
            activity(None),
            activity("abc"),
            activity(True),
            activity(2**63),
            activity(1.5),
            {"type": "call.inbound", "data": {"source": "+61200000000"}},
            activity(2, type_="something.new"),
        ]
    )
    frame = result.frame
    assert frame["activity_id"].tolist() == [1, 2]
    assert result.drops.counts == {"not an object": 3, "no data object": 2, "no activityId": 6}


# -------------------------------------------------------------------------------- voicemail


def test_two_voicemails_on_one_activity_give_two_rows() -> None:
    result = voicemail_result(activity_items())
    frame = result.frame
    assert_schema(frame, "voicemail")
    assert records(frame) == [
        {
            "activity_id": 5004, "media_id": 9001, "received_at": utc("2024-03-12T07:05:30"),
            "caller": "+61255501234", "campaign_id": 12, "campaign_name": "Support",
            "agent_id": NA, "duration_s": 23.0, "media_uri": "/v3.0/media/9001",
            "returned_at": pd.NaT,
        },
        {
            "activity_id": 5004, "media_id": 9002, "received_at": utc("2024-03-12T07:05:30"),
            "caller": "+61255501234", "campaign_id": 12, "campaign_name": "Support",
            "agent_id": NA, "duration_s": 41.0, "media_uri": "/v3.0/media/9002",
            "returned_at": pd.NaT,
        },
    ]  # fmt: skip
    assert result.drops.counts == {}


def test_voicemail_media_ids_are_integers_like_every_other_id() -> None:
    # The vendor's examples: "mediaId": 101. Anything that is not an integer id is unknown; the
    # voicemail is still listed (it just cannot be played).
    frame = voicemail_frame(
        [
            activity(
                1,
                voicemailMetadata=[
                    {"mediaId": "vm-a1"},
                    {"mediaId": 7.0},
                    {"mediaId": {}},
                    {"mediaId": "101"},
                    {"mediaId": True},
                ],
            )
        ]
    )
    assert str(frame["media_id"].dtype) == "Int64"
    assert frame["media_id"].tolist() == [NA, 7, NA, 101, NA]
    assert frame["duration_s"].isna().all()


def test_unusable_voicemail_entries_are_dropped_and_counted() -> None:
    result = voicemail_result(
        [
            activity(1, voicemailMetadata=[{"mediaId": 1}, "vm", None]),
            activity(2, voicemailMetadata={"mediaId": 2}),
            activity(None, voicemailMetadata=[{"mediaId": 3}]),
            activity(4, voicemailMetadata=[]),
            activity(5),
            "x",
        ]
    )
    frame = result.frame
    assert frame["media_id"].tolist() == [1]
    assert result.drops.counts == {
        "voicemail entry not an object": 2,
        "voicemailMetadata not a list": 1,
        "no activityId": 1,
        "not an object": 1,
    }


# -------------------------------------------------------------------------------- transfers


def test_transfer_with_parent_present_names_both_sides() -> None:
    frame = transfers_frame(activity_items())
    assert_schema(frame, "transfers")
    assert frame["activity_id"].tolist() == [5003, 5009]
    assert row(frame, "activity_id", 5003) == {
        "activity_id": 5003, "parent_activity_id": 5002, "root_activity_id": 5002,
        "transferred_at": utc("2024-03-11T22:39:40"),
        "from_agent": "Bob Smith", "to_agent": "Chen Wei", "from_agent_id": 202,
        "to_agent_id": 203, "from_campaign": "Support", "to_campaign": "Billing",
        "from_campaign_id": 12, "to_campaign_id": 13, "talk_s": 180.0,
    }  # fmt: skip


def test_transfer_without_parent_present_has_unknown_from_side() -> None:
    transfer = row(transfers_frame(activity_items()), "activity_id", 5009)
    assert transfer["parent_activity_id"] == 4999
    assert transfer["root_activity_id"] == 4998
    for column in ["from_agent", "from_agent_id", "from_campaign", "from_campaign_id"]:
        assert transfer[column] is NA, column
    assert transfer["to_agent"] == "Alice Nguyen"
    assert transfer["to_campaign_id"] == 11
    assert transfer["talk_s"] == 75.0


def test_parent_given_as_numeric_string_is_found_after_its_child() -> None:
    frame = transfers_frame(
        [
            activity(2, parentActivityId="1", agentFullName="B"),
            activity("1", agentFullName="A", campaignId="9"),
        ]
    )
    assert frame[["from_agent", "to_agent", "from_campaign_id"]].values.tolist() == [["A", "B", 9]]


def test_unusable_transfer_records_are_dropped_and_counted() -> None:
    result = transfers_result(
        [
            activity(1, parentActivityId="abc"),
            activity(None, parentActivityId=5),
            activity(None),  # not a transfer: not counted
            activity(3, parentActivityId=None),
            activity(4, parentActivityId=3),
            7,
        ]
    )
    frame = result.frame
    assert frame["activity_id"].tolist() == [4]
    assert result.drops.counts == {
        "unusable parentActivityId": 1,
        "no activityId": 1,
        "not an object": 1,
    }


# ---------------------------------------------------------------------------- dial attempts


def test_dial_attempts_are_the_outbound_activities() -> None:
    result = dial_attempts_result(activity_items())
    frame = result.frame
    assert_schema(frame, "dial-attempts")
    assert records(frame) == [
        {
            "lead_id": 3001, "attempt_id": 7001, "activity_id": 5006, "phone_index": 1,
            "phone_number": "+61412000111", "dial_status": "Answered", "campaign_id": 21,
            "agent_id": 204, "created_at": utc("2024-03-12T00:00:00"), "dial_s": 14.0,
        },
        {
            "lead_id": 3001, "attempt_id": 7002, "activity_id": 5007, "phone_index": 2,
            "phone_number": "+61412000222", "dial_status": "No Answer", "campaign_id": 21,
            "agent_id": NA, "created_at": utc("2024-03-12T00:05:00"), "dial_s": 30.5,
        },
    ]  # fmt: skip
    assert result.drops.counts == {}


def test_phone_index_outside_one_to_three_is_unknown() -> None:
    frame = dial_attempts_frame(
        [activity(i, "call.outbound", phoneIndex=v) for i, v in enumerate([0, 1, "3", 4, -1])]
    )
    assert frame["phone_index"].tolist() == [NA, 1, 3, NA, NA]


def test_unusable_dial_attempts_are_counted_and_other_types_ignored() -> None:
    result = dial_attempts_result(
        [
            activity(1, "call.outbound", attemptId="77", phoneNumber=61412000111),
            activity(None, "call.outbound"),
            {"type": "call.outbound", "data": None},
            activity(None, "call.inbound"),
            [],
        ]
    )
    frame = result.frame
    assert frame["attempt_id"].tolist() == [77]
    assert frame["phone_number"].tolist() == ["61412000111"]
    assert result.drops.counts == {"no activityId": 1, "no data object": 1, "not an object": 1}


# ---------------------------------------------------------------------- general robustness


def test_lone_surrogates_in_names_are_replaced_not_fatal() -> None:
    frame = activities_frame([activity(1, agentFullName="Al\ud800ice")])
    assert frame["agent_name"].tolist() == ["Al\ufffdice"]


def test_builders_do_not_modify_their_input() -> None:
    items = activity_items()
    before = copy.deepcopy(items)
    for feed in ["activities", "voicemail", "transfers", "dial-attempts"]:
        build(feed, items)
    assert items == before


def test_drop_reason_constants_match_the_counted_reasons() -> None:
    assert frames.NOT_A_LIST == "not a list"
    assert frames.NO_ACTIVITY_ID == "no activityId"


# ------------------------------------------------------------------------- typed results


def build_result(feed: str, items: object) -> frames.FrameResult:
    if feed == "agents":
        return frames.agents_result(items, now=NOW)  # type: ignore[arg-type]
    return frames.FEED_RESULTS[feed](items)


@pytest.mark.parametrize("feed", list(FEED_COLUMNS))
def test_every_feed_has_a_result_builder_whose_frame_is_the_frame_builders(feed: str) -> None:
    items = load("campaign_statistics.json") if feed == "campaigns" else activity_items()
    if feed == "agents":
        items = load("agent_status_page.json")["items"]
    items = [*items, "not an object"]
    result = build_result(feed, items)
    pd.testing.assert_frame_equal(result.frame, build(feed, items))
    assert result.drops == frames.Drops({frames.NOT_AN_OBJECT: 1})
    assert result.unavailable is None


@pytest.mark.parametrize("feed", list(FEED_COLUMNS))
@pytest.mark.parametrize("extra", [[], ["not an object"]])
def test_no_frame_carries_attrs_drops_travel_on_the_result_only(feed: str, extra: list) -> None:
    items = load("campaign_statistics.json") if feed == "campaigns" else activity_items()
    if feed == "agents":
        items = load("agent_status_page.json")["items"]
    items = [*items, *extra]
    result = build_result(feed, items)
    assert result.drops == frames.Drops({frames.NOT_AN_OBJECT: len(extra)})
    assert result.frame.attrs == {}
    assert build(feed, items).attrs == {}
    assert build_result(feed, None).frame.attrs == {}  # "not a list"


def test_drops_count_rows_by_reason_and_add_up() -> None:
    drops = frames.Drops({frames.NO_CAMPAIGN_ID: 2, frames.NOT_AN_OBJECT: 1, "unused": 0})
    assert drops.total == 3 and drops
    assert drops.counts == {"no campaignId": 2, "not an object": 1}  # no zero counts
    assert not frames.NO_DROPS and frames.NO_DROPS.total == 0
    assert drops.merged(frames.NO_DROPS) == drops == frames.NO_DROPS.merged(drops)
    assert drops.merged(frames.Drops({"no campaignId": 1})).counts == {
        "no campaignId": 3,
        "not an object": 1,
    }


def test_drops_read_as_a_line_for_the_log_most_common_reason_first() -> None:
    drops = frames.Drops({frames.NOT_AN_OBJECT: 1, frames.NO_CAMPAIGN_ID: 2})
    assert drops.text() == "dropped 3 rows (no campaignId: 2, not an object: 1)"
    assert frames.Drops({frames.NO_AGENT_ID: 1}).text() == "dropped 1 row (no agentId: 1)"


@pytest.mark.parametrize("stored", [None, [], {"a": "2", "b": True, "c": -1, "d": 2.0}])
def test_stored_drops_that_are_not_counts_read_as_none(stored: object) -> None:
    assert frames.Drops.read(stored) == frames.NO_DROPS


def test_a_result_carries_drops_and_unavailable_and_leaves_the_frame_alone() -> None:
    frame = pd.DataFrame()
    result = frames.frame_result(frame, frames.Drops({"x": 1}), "no agent status")
    assert result.frame is frame and frame.attrs == {}
    assert result.drops.counts == {"x": 1} and result.unavailable == "no agent status"
    assert frames.as_result(result) is result
    bare = frames.as_result(pd.DataFrame())
    assert not bare.drops and bare.unavailable is None


def test_a_campaign_listing_gives_its_active_campaigns_once_each_in_order() -> None:
    listing = [
        {"campaignId": 12, "isActive": True},
        {"campaignId": "11"},
        {"campaignId": 13, "isActive": False},
        {"campaignId": 12},
        {"campaignId": True},
        {"campaignId": 1.5},
        {"campaignName": "no id"},
        "not an object",
    ]
    assert frames.active_campaign_ids(listing) == [12, 11]


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2024-03-12T10:42:00+1100", datetime(2024, 3, 11, 23, 42, tzinfo=UTC)),
        ("2024-03-11 23:42:00", datetime(2024, 3, 11, 23, 42, tzinfo=UTC)),
        ("garbage", None),
        (None, None),
        (12, None),
    ],
)
def test_an_activitys_creation_time_is_read_from_the_item(created: object, expected) -> None:
    when = frames.activity_created_at(activity(1, timestamps={"created": created}))
    assert when == expected


@pytest.mark.parametrize("item", ["x", {"type": "call.inbound"}, {"data": {"timestamps": 1}}])
def test_an_item_that_does_not_say_when_it_was_created_has_no_creation_time(item) -> None:
    assert frames.activity_created_at(item) is None


def test_the_public_names_are_declared_and_importable() -> None:
    assert len(set(frames.__all__)) == len(frames.__all__)
    for name in frames.__all__:
        assert getattr(frames, name) is not None
    assert not [name for name in frames.__all__ if name.startswith("_")]
