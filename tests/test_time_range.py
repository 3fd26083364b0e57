"""Time ranges, campaign scope and how both keep to the URL (pure rules, no app)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from ipscape import frames
from ipscape.clock import local_days
from ipscape.metrics.feeds import Scope, service_level_between
from ipscape.presentation import scope, time_range, url_state
from ipscape.presentation.time_range import Bounds, TimeRange

SYDNEY = "Australia/Sydney"
NOW = datetime(2026, 3, 12, 3, 30, tzinfo=UTC)  # 14:30 in Sydney (UTC+11)


def local(*args: int, tz: str = SYDNEY) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))  # type: ignore[misc]


# --- ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "since"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("1h", NOW - timedelta(hours=1)),
        ("4h", NOW - timedelta(hours=4)),
        ("today", local(2026, 3, 12)),
        ("7d", NOW - timedelta(days=7)),
    ],
)
def test_ranges_that_end_now_move_with_the_clock(window: str, since: datetime) -> None:
    bounds = time_range.range_bounds(TimeRange(window), NOW, SYDNEY)
    assert bounds == Bounds(since, NOW, live=True)


def test_yesterday_is_local_midnight_to_local_midnight_and_does_not_move() -> None:
    bounds = time_range.range_bounds(TimeRange("yesterday"), NOW, SYDNEY)
    assert bounds == Bounds(local(2026, 3, 11), local(2026, 3, 12), live=False)


def test_yesterday_across_a_daylight_saving_change_is_its_own_length() -> None:
    # Sydney left daylight saving at 03:00 on Sunday 5 April 2026: that day had 25 hours.
    now = local(2026, 4, 6, 9, 0)
    bounds = time_range.range_bounds(TimeRange("yesterday"), now, SYDNEY)
    assert bounds.span == timedelta(hours=25)


def test_a_custom_range_is_local_time_and_never_ends_after_now() -> None:
    past = TimeRange("custom", datetime(2026, 3, 10, 9, 0), datetime(2026, 3, 10, 17, 0))
    bounds = time_range.range_bounds(past, NOW, SYDNEY)
    assert bounds == Bounds(local(2026, 3, 10, 9), local(2026, 3, 10, 17), live=False)
    running = TimeRange("custom", datetime(2026, 3, 12, 9, 0), datetime(2026, 3, 12, 18, 0))
    assert time_range.range_bounds(running, NOW, SYDNEY) == Bounds(
        local(2026, 3, 12, 9), NOW, live=True
    )


def test_a_custom_range_longer_than_the_cap_keeps_its_latest_part() -> None:
    huge = TimeRange("custom", datetime(2025, 1, 1), datetime(2026, 3, 1))
    bounds = time_range.range_bounds(huge, NOW, SYDNEY)
    assert bounds.span == time_range.MAX_SPAN and bounds.until == local(2026, 3, 1)


def test_a_range_round_trips_through_its_query_parameters() -> None:
    picked = TimeRange("custom", datetime(2026, 3, 10, 9, 15), datetime(2026, 3, 10, 17, 0), "week")
    params = time_range.range_params(picked)
    assert params == {
        "window": "custom",
        "since": "2026-03-10T09:15",
        "until": "2026-03-10T17:00",
        "compare": "week",
    }
    assert time_range.parse_range(params) == (picked, [])
    assert time_range.range_params(TimeRange()) == {}  # today, no comparison: a short URL
    # a preset carries no times, even if the widgets still hold some
    preset = TimeRange("1h", datetime(2026, 3, 10, 9, 15), datetime(2026, 3, 10, 17, 0))
    assert time_range.range_params(preset) == {"window": "1h"}


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"window": "forever"}, "Ignored window='forever': use one of 15m, 1h, 4h, today,"),
        ({"compare": "<b>x"}, "Ignored compare='<b>x': use yesterday or week."),
        ({"window": "custom", "since": "2026-03-10T09:00"}, "A custom range needs since="),
        (
            {"window": "custom", "since": "yesterday", "until": "2026-03-10T09:00"},
            "Ignored since='yesterday': use YYYY-MM-DDTHH:MM",
        ),
        (
            {"window": "custom", "since": "2026-03-10T09:00", "until": "2026-03-10T08:00"},
            "Ignored a custom range that ends before it starts: showing today.",
        ),
    ],
)
def test_an_unusable_range_falls_back_to_today_with_a_note(
    params: dict[str, str], note: str
) -> None:
    picked, notes = time_range.parse_range(params)
    assert picked.window in ("today",) and picked.compare == "none"
    assert any(n.startswith(note) for n in notes), notes


def test_a_comparison_is_the_same_clock_times_one_day_or_one_week_earlier() -> None:
    bounds = Bounds(local(2026, 3, 12, 9), local(2026, 3, 12, 10), live=False)
    assert time_range.comparison_bounds(bounds, "none", SYDNEY) is None
    day = time_range.comparison_bounds(bounds, "yesterday", SYDNEY)
    assert day == Bounds(local(2026, 3, 11, 9), local(2026, 3, 11, 10), live=False)
    week = time_range.comparison_bounds(bounds, "week", SYDNEY)
    assert week is not None and week.since == local(2026, 3, 5, 9)
    assert time_range.comparison_days("week") == 7 and time_range.comparison_days("none") == 0


def test_a_comparison_across_a_daylight_saving_change_keeps_the_clock_time() -> None:
    # 09:00 on Monday 6 April (AEST, UTC+10) against 09:00 on Sunday 5 April... and the
    # Saturday before it, still daylight saving (AEDT, UTC+11): 9 o'clock both times.
    bounds = Bounds(local(2026, 4, 5, 9), local(2026, 4, 5, 10), live=False)
    before = time_range.comparison_bounds(bounds, "yesterday", SYDNEY)
    assert before is not None
    assert before.since.astimezone(ZoneInfo(SYDNEY)).hour == 9
    assert bounds.since - before.since == timedelta(hours=25)


def test_a_long_range_is_counted_per_hour_a_day_per_quarter() -> None:
    assert time_range.bucket_freq(timedelta(hours=24)) == "15min"
    assert time_range.bucket_freq(timedelta(days=7)) == "1h"


def test_a_range_is_cut_at_local_midnights_for_reading_day_by_day() -> None:
    pieces = local_days(local(2026, 3, 10, 20), local(2026, 3, 12, 2), SYDNEY)
    assert pieces == [
        (local(2026, 3, 10, 20), local(2026, 3, 11)),
        (local(2026, 3, 11), local(2026, 3, 12)),
        (local(2026, 3, 12), local(2026, 3, 12, 2)),
    ]
    assert local_days(NOW, NOW, SYDNEY) == []


# --- campaign scope ---------------------------------------------------------------------------


def test_a_scope_reads_commas_and_repeats_alike_in_order_without_repeats() -> None:
    assert scope.parse_campaign_ids(["3,1", "3", " 7 "]) == ((3, 1, 7), [])
    ids, notes = scope.parse_campaign_ids(["1,abc,<b>"])
    assert ids == (1,)
    assert notes == ["ignored campaigns=abc,?b? (campaign ids are numbers)"]
    many, notes = scope.parse_campaign_ids([",".join(str(i) for i in range(80))])
    assert len(many) == scope.MAX_CAMPAIGNS and notes == ["only the first 50 campaigns are shown"]
    assert scope.campaigns_param((3, 1)) == "3,1" and scope.campaigns_param(()) is None


def test_scope_choices_are_names_in_order_then_chosen_ids_the_tenant_no_longer_lists() -> None:
    names = {2: "support", 1: "Sales", 3: "Billing"}
    assert scope.scope_options(names, [9, 1]) == [3, 1, 2, 9]
    assert [scope.scope_label(c, names) for c in (1, 9)] == ["Sales", "#9"]


def test_a_scoped_frame_keeps_its_campaigns_rows_and_leaves_out_unknown_ones() -> None:
    frame = pd.DataFrame({"campaign_id": pd.array([1, 2, None, 3], dtype="Int64")})
    assert scope.scope_frame("alerts", frame, (1, 3))["campaign_id"].tolist() == [1, 3]
    assert scope.scope_frame("alerts", frame, ()) is frame


# --- the URL ----------------------------------------------------------------------------------

NAMES = ("window", "compare")


def test_the_url_wins_when_it_names_any_of_the_views_parameters() -> None:
    state = url_state.sticky_params(
        {"window": "1h"}, {"window": "7d", "compare": "week"}, NAMES, widgets_present=True
    )
    assert state.asked == {"window": "1h", "compare": None} and state.reseed


def test_a_page_switch_that_dropped_the_query_string_keeps_the_sessions_view() -> None:
    remembered = url_state.remembered({"window": "7d"}, NAMES)
    state = url_state.sticky_params({}, remembered, NAMES, widgets_present=False)
    assert state.asked == {"window": "7d", "compare": None} and state.reseed


def test_the_run_after_a_write_leaves_the_widgets_alone() -> None:
    remembered = url_state.remembered({"window": "7d"}, NAMES)
    state = url_state.sticky_params({"window": "7d"}, remembered, NAMES, widgets_present=True)
    assert not state.reseed


def test_writing_a_view_touches_only_its_own_parameters() -> None:
    current = {"window": "1h", "compare": None, "campaign": "3", "token": "t"}
    changes = url_state.url_changes({"compare": "week"}, current, NAMES)
    assert changes == {"window": None, "compare": "week"}
    assert url_state.url_changes({"window": "1h"}, current, NAMES) == {}


def test_a_weeks_service_level_is_counted_per_hour_and_not_cut_to_a_day() -> None:
    since, until = local(2026, 3, 5), local(2026, 3, 12)
    call = {
        "type": "call.inbound",
        "data": {
            "activityId": 1,
            "activityStatusName": "Answered",
            "campaignId": 3,
            "timestamps": {"created": local(2026, 3, 5, 9, 10).isoformat()},
            "durations": {"queue": 5},
        },
    }
    freq = time_range.bucket_freq(until - since)
    trend = service_level_between(
        frames.activities_frame([call]), since, until, SYDNEY, Scope(), freq=freq
    )
    assert freq == "1h" and len(trend) == 7 * 24  # to the 23:00 bucket, none at midnight
    first = trend.dropna(subset=["service_level_pct"])
    assert first["service_level_pct"].tolist() == [100.0]
    scoped_out = service_level_between(
        frames.activities_frame([call]), since, until, SYDNEY, Scope(), campaign_ids=(4,), freq=freq
    )
    assert scoped_out["service_level_pct"].isna().all()  # another campaign's scope: no calls


def test_a_custom_range_is_kept_inside_what_history_holds() -> None:
    earliest, latest = datetime(2026, 3, 5, 14, 30), datetime(2026, 3, 13, 14, 30)
    inside = TimeRange("custom", datetime(2026, 3, 10, 9), datetime(2026, 3, 10, 17))
    assert time_range.within_history(inside, earliest, latest) == (inside, [])
    cut, notes = time_range.within_history(
        TimeRange("custom", datetime(2026, 3, 1), datetime(2026, 3, 6), "week"), earliest, latest
    )
    assert cut == TimeRange("custom", earliest, datetime(2026, 3, 6), "week")
    assert notes == ["History reaches back to 2026-03-05 14:30: the range starts there."]
    gone, notes = time_range.within_history(
        TimeRange("custom", datetime(2020, 1, 1), datetime(2020, 1, 2)), earliest, latest
    )
    assert gone == TimeRange() and notes == [
        "History reaches back to 2026-03-05 14:30: showing today."
    ]
    assert time_range.within_history(TimeRange("1h"), earliest, latest) == (TimeRange("1h"), [])
