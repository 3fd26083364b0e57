"""Properties of ipscape.frames over generated input: untrusted JSON never breaks a builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipscape.frames import (
    FEED_BUILDERS,
    FEED_COLUMNS,
    FEED_RESULTS,
    FrameResult,
    parse_timestamp,
)

NOW = datetime(2024, 3, 11, 23, 42, tzinfo=UTC)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Strings that sit on the edges of the converters: numbers, timestamps, lone surrogates.
tricky_strings = st.sampled_from(
    [
        "", " ", "12", " 12 ", "-5", "1.5", "12.0", "1e3", "1e400", "nan", "inf", "-inf", "0x10",
        "1_000", "true", "false", "null", "\ud800", "a\x00b", "9" * 40,
        "2020-07-06T13:11:06+1000", "2020-07-06T13:55:06+10:00", "2020-07-06 13:11:06",
        "2020-07-06T03:11:06Z", "2020-02-30T00:00:00Z", "0001-01-01T00:00:00Z",
        "9999-12-31 23:59:59", "2020-07-06T13:11:06+9999",
    ]
)  # fmt: skip
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    tricky_strings,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=5,
)

ACTIVITY_FIELDS = [
    "parentActivityId", "rootActivityId", "activityStatusName", "dialStatusName", "source",
    "destination", "campaignId", "campaignName", "agentId", "agentFullName", "leadId",
    "attemptId", "phoneIndex", "phoneNumber", "durations", "timestamps", "voicemailMetadata",
    "recordingMetadata",
]  # fmt: skip
DURATION_KEYS = ["ivr", "queue", "hold", "interaction", "wrap", "talk", "dial"]
TIMESTAMP_KEYS = ["created", "joinQueue", "answered", "hangUp", "wrapUp"]
CAMPAIGN_FIELDS = [
    "campaignName", "estimatedCallWaitingTime", "maxCallWaitingTime", "averageWaitingTime",
    "callsWaiting", "callsReceived", "callsAbandonedInWorkflow", "callsAbandonedInQueue",
    "callsAnswered", "agents", "isActive", "timezone", "timestamp",
]  # fmt: skip
AGENT_FIELDS = ["agentFullName", "state", "stateSince", "pauseReason", "campaignIds"]

ids = st.integers(min_value=1, max_value=2**62)
id_values = st.one_of(ids, ids.map(str))  # the API may send ids as numeric strings
instants_1990_2100 = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.astimezone(timezone(timedelta(hours=10))))
REMOVE = object()


def build(feed: str, items: object) -> pd.DataFrame:
    if feed == "agents":
        return FEED_BUILDERS[feed](items, now=NOW)
    return FEED_BUILDERS[feed](items)


def build_result(feed: str, items: object) -> FrameResult:
    if feed == "agents":
        return FEED_RESULTS[feed](items, now=NOW)
    return FEED_RESULTS[feed](items)


EMPTY_DTYPES = {feed: build(feed, []).dtypes.to_dict() for feed in FEED_COLUMNS}


def assert_typed_like_empty(frame: pd.DataFrame, feed: str) -> None:
    assert list(frame.columns) == FEED_COLUMNS[feed]
    assert frame.dtypes.to_dict() == EMPTY_DTYPES[feed]


def corruptions(fields: list[str]) -> st.SearchStrategy[dict[str, object]]:
    """Which optional fields to replace by any JSON value, or to remove (REMOVE)."""
    return st.dictionaries(st.sampled_from(fields), st.just(REMOVE) | json_values, max_size=4)


def corrupt(record: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    for field, value in changes.items():
        if value is REMOVE:
            record.pop(field, None)
        else:
            record[field] = value
    return record


def activity_data(created: datetime, seconds: int, ref: int, name: str) -> dict[str, Any]:
    # Everything derives from a few draws: generation stays cheap, the record stays valid.
    stamps = [created + timedelta(seconds=seconds * n) for n in range(len(TIMESTAMP_KEYS))]
    return {
        "campaignId": ref,
        "campaignName": name,
        "agentId": ref + 1,
        "agentFullName": name,
        "source": f"+6129{seconds:07d}",
        "attemptId": ref + 2,
        "leadId": ref + 3,
        "phoneIndex": seconds % 3 + 1,
        "durations": dict.fromkeys(DURATION_KEYS, seconds),
        "timestamps": {
            k: t.strftime("%Y-%m-%dT%H:%M:%S%z")
            for k, t in zip(TIMESTAMP_KEYS, stamps, strict=True)
        },
    }


activity_bodies = st.builds(
    activity_data, instants_1990_2100, st.integers(0, 3600), ids, st.text(max_size=10)
)


def corrupted_activities(fields: list[str] = ACTIVITY_FIELDS) -> st.SearchStrategy[list[dict]]:
    """Valid, identified activities (ids 1..n) with some optional fields corrupted."""

    def assemble(drawn: list[tuple[dict, bool, bool, dict]]) -> list[dict]:
        items = []
        for number, (data, outbound, id_as_text, changes) in enumerate(drawn, start=1):
            data = corrupt(data, changes)
            data["activityId"] = str(number) if id_as_text else number
            items.append({"type": "call.outbound" if outbound else "call.inbound", "data": data})
        return items

    one = st.tuples(activity_bodies, st.booleans(), st.booleans(), corruptions(fields))
    return st.lists(one, max_size=4).map(assemble)


def identified(key: str, fields: list[str]) -> st.SearchStrategy[list[dict]]:
    record = st.builds(
        lambda ident, changes: corrupt({key: ident, "callsWaiting": 1, "state": "Busy"}, changes),
        id_values,
        corruptions(fields),
    )
    return st.lists(record, max_size=4)


# --------------------------------------------------------------------------- never raises


@PROPERTY_SETTINGS
@given(items=st.lists(json_values, max_size=6) | json_values)
def test_any_json_input_never_raises_and_every_item_is_a_row_or_counted(items: object) -> None:
    for feed in FEED_COLUMNS:
        result = build_result(feed, items)
        frame = result.frame
        assert_typed_like_empty(frame, feed)
        assert frame.attrs == {}  # the drops travel on the result only
        if feed in {"activities", "campaigns", "agents"}:
            expected = len(items) if isinstance(items, list) else 1
            assert len(frame) + result.drops.total == expected


@PROPERTY_SETTINGS
@given(
    data=st.dictionaries(
        st.sampled_from(["activityId", *ACTIVITY_FIELDS, "agents", "stateSince", "timestamp"]),
        json_values,
        max_size=8,
    ),
    type_=json_values,
)
def test_any_json_value_in_any_activity_field_never_raises(data: dict, type_: object) -> None:
    for feed in FEED_COLUMNS:
        # the same dict stands for an activity's data, a statistics object and an agent item
        assert_typed_like_empty(build(feed, [{"type": type_, "data": data}, data]), feed)


# ------------------------------------------------------------- valid records are never dropped


@PROPERTY_SETTINGS
@given(items=corrupted_activities())
def test_identified_activities_are_never_dropped(items: list[dict]) -> None:
    result = build_result("activities", items)
    assert result.frame["activity_id"].tolist() == list(range(1, len(items) + 1))
    assert result.drops.counts == {}
    attempts = build_result("dial-attempts", items)
    outbound = [i + 1 for i, item in enumerate(items) if item["type"] == "call.outbound"]
    assert attempts.frame["activity_id"].tolist() == outbound
    assert attempts.drops.counts == {}


@PROPERTY_SETTINGS
@given(
    items=corrupted_activities([f for f in ACTIVITY_FIELDS if f != "voicemailMetadata"]),
    counts=st.lists(st.integers(0, 3), min_size=4, max_size=4),
)
def test_every_voicemail_entry_of_an_identified_activity_is_a_row(
    items: list[dict], counts: list[int]
) -> None:
    for item, count in zip(items, counts, strict=False):
        item["data"]["voicemailMetadata"] = [{"mediaId": n, "duration": n} for n in range(count)]
    result = build_result("voicemail", items)
    assert len(result.frame) == sum(counts[: len(items)])
    assert result.drops.counts == {}


@PROPERTY_SETTINGS
@given(items=corrupted_activities([f for f in ACTIVITY_FIELDS if f != "parentActivityId"]))
def test_every_identified_child_activity_is_a_transfer_row(items: list[dict]) -> None:
    for item in items:
        item["data"]["parentActivityId"] = int(item["data"]["activityId"]) + 1000
    result = build_result("transfers", items)
    assert len(result.frame) == len(items)
    assert result.drops.counts == {}


@PROPERTY_SETTINGS
@given(stats=identified("campaignId", CAMPAIGN_FIELDS), agents=identified("agentId", AGENT_FIELDS))
def test_identified_campaigns_and_agents_are_never_dropped(
    stats: list[dict], agents: list[dict]
) -> None:
    campaigns = build_result("campaigns", stats)
    assert campaigns.frame["campaign_id"].tolist() == [int(s["campaignId"]) for s in stats]
    assert campaigns.drops.counts == {}
    agent_result = build_result("agents", agents)
    assert agent_result.frame["agent_id"].tolist() == [int(a["agentId"]) for a in agents]
    assert agent_result.drops.counts == {}


# ------------------------------------------------------------------------------- timestamps


@PROPERTY_SETTINGS
@given(value=json_values, tz=st.none() | st.text(max_size=20) | json_values)
def test_parse_timestamp_never_raises(value: object, tz: Any) -> None:
    result = parse_timestamp(value, tz)
    assert result is None or str(result.tz) == "UTC"


instants = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
)
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))


@PROPERTY_SETTINGS
@given(instant=instants, offset=offsets)
def test_offset_forms_round_trip(instant: datetime, offset: timedelta) -> None:
    local = instant.astimezone(timezone(offset))
    colon_less = local.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    colon = local.isoformat()
    zulu = instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for text in (colon_less, colon, zulu):
        assert parse_timestamp(text) == pd.Timestamp(instant), text


@PROPERTY_SETTINGS
@given(
    instant=instants,
    zone=st.sampled_from(["Australia/Sydney", "Australia/Perth", "America/New_York", "UTC"]),
)
def test_naive_form_round_trips_in_its_zone(instant: datetime, zone: str) -> None:
    local = instant.astimezone(ZoneInfo(zone))
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    parsed = parse_timestamp(text, zone)
    assert parsed is not None
    # The wall-clock text always comes back; the instant does unless the hour was repeated
    # (autumn change), where the reading is the first of the two.
    assert parsed.tz_convert(zone).strftime("%Y-%m-%d %H:%M:%S") == text
    if local.fold == 0:
        assert parsed == pd.Timestamp(instant.replace(microsecond=0))
