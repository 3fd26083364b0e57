"""Properties the frame tests in test_frames_properties.py leave out: activity types we do not
know are kept as they came, and a value the tenant did not send is unknown, never 0."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipscape.frames import FEED_BUILDERS, FEED_RESULTS

NOW = datetime(2024, 3, 11, 23, 42, tzinfo=UTC)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
any_type = (
    json_scalars
    | st.lists(json_scalars, max_size=2)
    | st.dictionaries(st.text(max_size=4), json_scalars, max_size=2)
)
missing = st.sampled_from(["null", "absent"])

CAMPAIGN_NUMBERS = {
    "estimatedCallWaitingTime": "ewt_s",
    "maxCallWaitingTime": "max_wait_s",
    "averageWaitingTime": "avg_wait_s",
    "callsWaiting": "calls_waiting",
    "callsReceived": "calls_received",
    "callsAnswered": "calls_answered",
}
AGENT_COUNTS = {
    "loggedIn": "agents_logged_in",
    "available": "agents_available",
    "busy": "agents_busy",
    "wrap": "agents_wrap",
    "paused": "agents_paused",
}
ACTIVITY_NUMBERS = {"queue": "queue_s", "talk": "talk_s", "hold": "hold_s", "wrap": "wrap_s"}


@PROPERTY_SETTINGS
@given(types=st.lists(any_type, min_size=1, max_size=6))
def test_activities_of_any_type_are_kept_with_their_type_and_raw_data(types: list[Any]) -> None:
    items = [
        {"type": kind, "data": {"activityId": n, "campaignName": "Sales"}}
        for n, kind in enumerate(types, start=1)
    ]
    result = FEED_RESULTS["activities"](items)
    frame = result.frame
    assert frame["activity_id"].tolist() == list(range(1, len(types) + 1))
    assert result.drops.counts == {}
    for item, shown, raw in zip(items, frame["type"], frame["raw"], strict=True):
        if isinstance(item["type"], str) and item["type"].strip():
            assert shown in (item["type"], item["type"].strip())
        assert raw == item["data"]  # shown raw in the drill-down


def _blank(record: dict[str, Any], keys: list[str], how: str) -> dict[str, Any]:
    for key in keys:
        if how == "null":
            record[key] = None
        else:
            record.pop(key, None)
    return record


@PROPERTY_SETTINGS
@given(
    how=missing,
    blanked=st.lists(st.sampled_from(list(CAMPAIGN_NUMBERS)), unique=True),
    agents_how=missing,
    count=st.integers(1, 5),
)
def test_campaign_figures_not_sent_are_unknown_never_zero(
    how: str, blanked: list[str], agents_how: str, count: int
) -> None:
    stats = []
    for n in range(1, count + 1):
        record: dict[str, Any] = {"campaignId": n, "campaignName": f"C{n}"}
        record.update(dict.fromkeys(CAMPAIGN_NUMBERS, 7))
        record["agents"] = None if agents_how == "null" else {}
        stats.append(_blank(record, blanked, how))
    result = FEED_RESULTS["campaigns"](stats)
    frame = result.frame
    assert len(frame) == count and result.drops.counts == {}
    for source, column in CAMPAIGN_NUMBERS.items():
        if source in blanked:
            assert frame[column].isna().all(), column
        else:
            assert (frame[column] == 7).all(), column
    for column in AGENT_COUNTS.values():
        assert frame[column].isna().all(), column


@PROPERTY_SETTINGS
@given(how=missing, blanked=st.lists(st.sampled_from(list(ACTIVITY_NUMBERS)), unique=True))
def test_activity_durations_not_sent_are_unknown_never_zero(how: str, blanked: list[str]) -> None:
    durations = _blank(dict.fromkeys(ACTIVITY_NUMBERS, 30), blanked, how)
    items = [{"type": "call.inbound", "data": {"activityId": 1, "durations": durations}}]
    frame = FEED_BUILDERS["activities"](items)
    for source, column in ACTIVITY_NUMBERS.items():
        value = frame[column].iloc[0]
        if source in blanked:
            assert str(value) == "<NA>", column
        else:
            assert value == 30, column
