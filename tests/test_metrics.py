"""Specification of ipscape.metrics: contact-centre metrics and voicemail call-backs, on
hand-counted activity lists built as the tenant sends them (through ipscape.frames), and on a
simulated day counted again by a plain loop over the raw items."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipscape import metrics
from ipscape.frames import activities_frame, voicemail_frame
from ipscape.metrics import (
    GLOSSARY,
    PERFORMANCE_COLUMNS,
    TOTAL_NAME,
    TREND_COLUMNS,
    VoicemailSummary,
    normalise_number,
    normalised_numbers,
    performance,
    performance_over,
    returned_at,
    service_level_trend,
    voicemail_summary,
    windows,
)
from ipscape.simulator.config import SimulatorConfig
from ipscape.simulator.model import ContactCentre

SYDNEY = "Australia/Sydney"
T0 = datetime(2024, 3, 11, 23, 0, tzinfo=UTC)  # 10:00 on 12 March in Sydney (AEDT, +11)
CALLER = "+61299990000"
NA = pd.NA
_ANSWERED_STATUSES = ("Answered", "Transferred")


def stamp(moment: datetime) -> str:
    """The activities' timestamp form: ISO 8601 with a colon-less offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def inbound(
    activity_id: int,
    *,
    campaign: int | None = 1,
    status: str | None = "Answered",
    minute: float = 0,
    queue: float | None = 10,
    talk: float | None = 100,
    hold: float | None = 0,
    wrap: float | None = 30,
    answered: float | bool | None = True,
    voicemail: bool = False,
    parent: int | None = None,
    source: str | None = CALLER,
    name: str | None = None,
    queued: bool | None = None,
) -> dict[str, Any]:
    """A call.inbound item as the tenant sends it. ``answered=True`` puts an answer time after
    the queue wait for the statuses of an answered call, a number puts it at that minute.
    ``queued`` (default: whether there is a queue wait) gives it a join-queue time."""
    if queued is None:
        queued = queue is not None
    if answered is True:
        answered = minute + (queue or 0) / 60 if status in _ANSWERED_STATUSES else None
    elif answered is False:
        answered = None
    unanswered = status in ("Abandoned", "Voicemail") or voicemail
    return {
        "type": "call.inbound",
        "data": {
            "activityId": activity_id,
            "parentActivityId": parent,
            "rootActivityId": parent or activity_id,
            "activityStatusName": status,
            "source": source,
            "destination": "+61280000000",
            "campaignId": campaign,
            "campaignName": name or (None if campaign is None else f"Campaign {campaign}"),
            "agentId": None if unanswered else 7,
            "voicemailMetadata": (
                [{"mediaId": 9000 + activity_id, "mediaUri": "/v3.0/media/1", "duration": 20}]
                if voicemail
                else []
            ),
            "durations": {
                "queue": queue,
                "talk": None if unanswered else talk,
                "hold": None if unanswered else hold,
                "wrap": None if unanswered else wrap,
            },
            "timestamps": {
                "created": stamp(at(minute)),
                "joinQueue": stamp(at(minute)) if queued else None,
                "answered": None if answered is None else stamp(at(answered)),
            },
        },
    }


def outbound(
    activity_id: int, *, minute: float, number: str | None, status: str = "No Answer"
) -> dict[str, Any]:
    """A call.outbound item (a dial attempt) to ``number``."""
    return {
        "type": "call.outbound",
        "data": {
            "activityId": activity_id,
            "dialStatusName": status,
            "phoneNumber": number,
            "source": "+61280000000",
            "destination": number,
            "campaignId": 5,
            "campaignName": "Call-backs",
            "leadId": 1,
            "timestamps": {"created": stamp(at(minute))},
        },
    }


def frame(*items: dict[str, Any]) -> pd.DataFrame:
    return activities_frame(list(items))


def row(table: pd.DataFrame, campaign_id: int | None) -> dict[str, Any]:
    """The row of one campaign (None: the total row) as plain values, <NA> as None."""
    ids = table["campaign_id"]
    mask = ids.isna() if campaign_id is None else ids.eq(campaign_id).fillna(False)
    (found,) = table[mask.to_numpy()].to_dict("records")
    return {k: (None if v is NA else v) for k, v in found.items()}


def numbers_of(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("answered", "abandoned", "voicemail", "service_level_pct", "abandon_rate_pct")
    return {k: values[k] for k in keys}


# ------------------------------------------------------------------------------ definitions


def test_every_definition_is_in_the_module_help_and_names_each_metric() -> None:
    doc = metrics.__doc__ or ""
    for term, text in GLOSSARY.items():
        assert f"- {term}: {text}" in doc
    for term in ("Answered", "Abandoned", "Voicemail", "Service level", "Abandon rate"):
        assert term in GLOSSARY
    assert {"ASA", "AHT", "Unknown", "Voicemail returned", "Phone numbers"} <= set(GLOSSARY)


# ------------------------------------------------------------------------------ performance


def test_columns_and_dtypes_are_exactly_the_exported_ones() -> None:
    table = performance(frame(inbound(1)), target_s=20)
    assert list(table.columns) == list(PERFORMANCE_COLUMNS)
    assert {c: str(t) for c, t in table.dtypes.items()} == {
        "campaign_id": "Int64",
        "campaign_name": "string",
        "answered": "Int64",
        "abandoned": "Int64",
        "voicemail": "Int64",
        "service_level_pct": "Float64",
        "abandon_rate_pct": "Float64",
        "asa_s": "Float64",
        "aht_s": "Float64",
        "service_level_target_s": "Float64",
    }


def test_no_calls_give_only_the_total_row_with_every_rate_unknown() -> None:
    table = performance(frame(), target_s=20)
    assert row(table, None) == {
        "campaign_id": None,
        "campaign_name": TOTAL_NAME,
        "answered": 0,
        "abandoned": 0,
        "voicemail": 0,
        "service_level_pct": None,
        "abandon_rate_pct": None,
        "asa_s": None,
        "aht_s": None,
        "service_level_target_s": 20.0,
    }
    assert len(table) == 1


def test_counts_and_metrics_per_campaign_and_in_total_match_a_hand_count() -> None:
    table = performance(
        frame(
            # Campaign 1: answered in 5 s, 20 s, 45 s; one abandoned; one voicemail.
            inbound(1, queue=5, talk=100, hold=0, wrap=20),
            inbound(2, queue=20, talk=200, hold=30, wrap=10),
            inbound(3, queue=45, talk=60, hold=0, wrap=30),
            inbound(4, status="Abandoned", queue=70),
            inbound(5, status="Voicemail", voicemail=True, queue=90),
            # Campaign 2: answered in 0 s; two abandoned.
            inbound(6, campaign=2, queue=0, talk=300, hold=0, wrap=60),
            inbound(7, campaign=2, status="Abandoned", queue=5),
            inbound(8, campaign=2, status="Abandoned", queue=None, queued=True),
            # and a caller who hung up in the IVR, before the queue: counted nowhere
            inbound(9, campaign=2, status="Abandoned", queue=None),
        ),
        target_s=20,
    )
    assert table["campaign_id"].tolist()[:2] == [1, 2]
    first = row(table, 1)
    assert numbers_of(first) == {
        "answered": 3,
        "abandoned": 1,
        "voicemail": 1,
        "service_level_pct": 50.0,  # 5 s and 20 s of 4
        "abandon_rate_pct": 25.0,
    }
    assert first["asa_s"] == pytest.approx((5 + 20 + 45) / 3)
    assert first["aht_s"] == pytest.approx((120 + 240 + 90) / 3)
    assert first["campaign_name"] == "Campaign 1"
    second = row(table, 2)
    assert numbers_of(second) == {
        "answered": 1,
        "abandoned": 2,
        "voicemail": 0,
        "service_level_pct": pytest.approx(100 / 3),
        "abandon_rate_pct": pytest.approx(200 / 3),
    }
    assert (second["asa_s"], second["aht_s"]) == (0.0, 360.0)
    total = row(table, None)
    assert numbers_of(total) == {
        "answered": 4,
        "abandoned": 3,
        "voicemail": 1,
        "service_level_pct": pytest.approx(300 / 7),
        "abandon_rate_pct": pytest.approx(300 / 7),
    }
    assert total["asa_s"] == pytest.approx(70 / 4)
    assert total["aht_s"] == pytest.approx(810 / 4)


def test_only_abandons_give_zero_service_level_full_abandon_rate_and_unknown_times() -> None:
    table = performance(
        frame(
            inbound(1, status="Abandoned"),
            inbound(2, status="Abandoned", queue=None, queued=True),
        ),
        target_s=20,
    )
    total = row(table, None)
    assert numbers_of(total) == {
        "answered": 0,
        "abandoned": 2,
        "voicemail": 0,
        "service_level_pct": 0.0,
        "abandon_rate_pct": 100.0,
    }
    assert (total["asa_s"], total["aht_s"]) == (None, None)


def test_only_voicemail_leaves_service_level_and_abandon_rate_unknown() -> None:
    total = row(
        performance(frame(inbound(1, status="Voicemail", voicemail=True)), target_s=20), None
    )
    assert numbers_of(total) == {
        "answered": 0,
        "abandoned": 0,
        "voicemail": 1,
        "service_level_pct": None,
        "abandon_rate_pct": None,
    }


def test_a_call_with_a_voicemail_counts_as_voicemail_whatever_its_status() -> None:
    total = row(
        performance(
            frame(
                inbound(1, status="Abandoned", voicemail=True),
                inbound(2, status="Answered", voicemail=True),
                inbound(3, status="Voicemail"),  # the status alone says so
                inbound(4, status="Answered"),
            ),
            target_s=20,
        ),
        None,
    )
    assert (total["answered"], total["abandoned"], total["voicemail"]) == (1, 0, 3)
    assert total["service_level_pct"] == 100.0


def test_a_transferred_call_counts_once_in_the_campaign_of_its_first_leg() -> None:
    table = performance(
        frame(
            # Answered in campaign 1 after 10 s, transferred to campaign 2, abandoned there.
            inbound(1, campaign=1, status="Transferred", queue=10, talk=50, hold=0, wrap=5),
            inbound(2, campaign=2, status="Abandoned", queue=200, parent=1, minute=1),
            # Answered in campaign 1 after 60 s, transferred within it and answered again.
            inbound(3, campaign=1, status="Transferred", queue=60, talk=40, hold=0, wrap=0),
            inbound(4, campaign=1, status="Answered", queue=5, parent=3, minute=2),
        ),
        target_s=20,
    )
    assert numbers_of(row(table, 1)) == {
        "answered": 2,
        "abandoned": 0,
        "voicemail": 0,
        "service_level_pct": 50.0,
        "abandon_rate_pct": 0.0,
    }
    assert row(table, 1)["aht_s"] == pytest.approx((55 + 40) / 2)
    # Campaign 2 only received a transferred leg: it is no new call.
    assert 2 not in table["campaign_id"].dropna().tolist()
    assert (row(table, None)["answered"], row(table, None)["abandoned"]) == (2, 0)


def test_an_answered_call_of_unknown_wait_is_in_the_denominator_never_within_target() -> None:
    total = row(
        performance(
            frame(inbound(1, queue=None), inbound(2, queue=5), inbound(3, status="Abandoned")),
            target_s=20,
        ),
        None,
    )
    assert total["service_level_pct"] == pytest.approx(100 / 3)
    assert total["abandon_rate_pct"] == pytest.approx(100 / 3)
    assert total["asa_s"] == 5.0  # over the known waits only


def test_a_wait_exactly_at_the_target_is_within_it() -> None:
    total = row(performance(frame(inbound(1, queue=20), inbound(2, queue=21)), target_s=20), None)
    assert total["service_level_pct"] == 50.0


def test_aht_leaves_out_answered_calls_with_any_part_missing() -> None:
    total = row(
        performance(
            frame(
                inbound(1, talk=100, hold=20, wrap=30),
                inbound(2, talk=200, hold=0, wrap=None),  # still wrapping up
                inbound(3, talk=None, hold=None, wrap=None),  # still talking
                inbound(4, talk=300, hold=None, wrap=10),
            ),
            target_s=20,
        ),
        None,
    )
    assert total["answered"] == 4
    assert total["aht_s"] == 150.0


def test_aht_is_unknown_when_no_answered_call_has_all_its_parts() -> None:
    total = row(performance(frame(inbound(1, wrap=None)), target_s=20), None)
    assert (total["answered"], total["aht_s"], total["asa_s"]) == (1, None, 10.0)


def test_a_call_in_progress_counts_as_answered_from_its_answer_time() -> None:
    table = performance(
        frame(
            inbound(1, status="In Progress", answered=0.2, queue=12, talk=None, wrap=None),
            inbound(2, status="In Progress", answered=None, queue=None),  # in the IVR
            inbound(3, status="In Queue", answered=None, queue=None),
        ),
        target_s=20,
    )
    total = row(table, None)
    assert numbers_of(total) == {
        "answered": 1,
        "abandoned": 0,
        "voicemail": 0,
        "service_level_pct": 100.0,
        "abandon_rate_pct": 0.0,
    }
    assert (total["asa_s"], total["aht_s"]) == (12.0, None)


def test_an_unknown_status_counts_as_answered_only_with_an_answer_time() -> None:
    total = row(
        performance(
            frame(
                inbound(1, status="Completed", answered=0.5),
                inbound(2, status="Completed", answered=None),
                inbound(3, status=None, answered=None),
                inbound(4, status="Something new", answered=None),
            ),
            target_s=20,
        ),
        None,
    )
    assert (total["answered"], total["abandoned"], total["voicemail"]) == (1, 0, 0)


def test_a_campaign_with_calls_still_queued_has_a_row_of_unknown_rates() -> None:
    table = performance(
        frame(inbound(1, campaign=3, status="In Queue", answered=None, queue=None)),
        target_s=20,
    )
    assert numbers_of(row(table, 3)) == {
        "answered": 0,
        "abandoned": 0,
        "voicemail": 0,
        "service_level_pct": None,
        "abandon_rate_pct": None,
    }


def test_status_is_read_whatever_its_case_and_surrounding_spaces() -> None:
    total = row(
        performance(
            frame(
                inbound(1, status=" answered ", answered=None),
                inbound(2, status="ABANDONED"),
                inbound(3, status="voiceMail"),
            ),
            target_s=20,
        ),
        None,
    )
    assert (total["answered"], total["abandoned"], total["voicemail"]) == (1, 1, 1)


def test_outbound_and_unknown_activity_types_are_not_calls_here() -> None:
    other = inbound(2)
    other["type"] = "chat.inbound"
    table = performance(
        frame(inbound(1), other, outbound(3, minute=0, number=CALLER, status="Connected")),
        target_s=20,
    )
    assert len(table) == 2
    assert row(table, None)["answered"] == 1


def test_calls_with_no_campaign_count_in_the_total_only() -> None:
    table = performance(
        frame(inbound(1), inbound(2, campaign=None, status="Abandoned")), target_s=20
    )
    assert table["campaign_id"].tolist() == [1, NA]
    assert (row(table, 1)["abandoned"], row(table, None)["abandoned"]) == (0, 1)


def test_a_campaign_is_named_by_the_name_on_its_latest_call_that_has_one() -> None:
    unnamed = inbound(3, minute=2)
    unnamed["data"]["campaignName"] = None
    table = performance(
        frame(inbound(2, minute=1, name="New name"), inbound(1, name="Old name"), unnamed),
        target_s=20,
    )
    assert row(table, 1)["campaign_name"] == "New name"


def test_a_campaign_target_overrides_the_default_and_the_total_uses_each_calls_own() -> None:
    items = (
        inbound(1, campaign=1, queue=30),
        inbound(2, campaign=1, queue=50),
        inbound(3, campaign=2, queue=30),
        inbound(4, campaign=2, queue=10),
    )
    table = performance(frame(*items), target_s=20, targets={1: 40, 99: 5})
    assert (row(table, 1)["service_level_pct"], row(table, 1)["service_level_target_s"]) == (
        50.0,
        40.0,
    )
    assert (row(table, 2)["service_level_pct"], row(table, 2)["service_level_target_s"]) == (
        50.0,
        20.0,
    )
    total = row(table, None)
    assert total["service_level_pct"] == 50.0  # 30 s ≤ 40 s in campaign 1, 10 s ≤ 20 s in 2
    assert total["service_level_target_s"] is None  # the campaigns' targets differ
    same = performance(frame(*items), target_s=20, targets={1: 20.0})
    assert row(same, None)["service_level_target_s"] == 20.0


def test_the_window_includes_since_and_excludes_until() -> None:
    calls = frame(
        inbound(1, minute=0), inbound(2, minute=10), inbound(3, minute=20), inbound(4, minute=30)
    )
    table = performance(calls, target_s=20, since=at(10), until=at(30))
    assert row(table, None)["answered"] == 2
    assert row(performance(calls, target_s=20, since=at(10)), None)["answered"] == 3
    assert row(performance(calls, target_s=20, until=at(10)), None)["answered"] == 1


def test_a_window_counts_calls_by_creation_not_answer_time() -> None:
    # Created before the window, answered in it: not counted.
    calls = frame(inbound(1, minute=0, answered=12), inbound(2, minute=11))
    assert row(performance(calls, target_s=20, since=at(10)), None)["answered"] == 1


def test_a_call_of_unknown_creation_time_counts_only_without_a_window() -> None:
    undated = inbound(1)
    undated["data"]["timestamps"]["created"] = None
    calls = frame(undated, inbound(2))
    assert row(performance(calls, target_s=20), None)["answered"] == 2
    assert row(performance(calls, target_s=20, since=at(-60)), None)["answered"] == 1


def test_naive_bounds_and_impossible_targets_are_refused() -> None:
    calls = frame(inbound(1))
    with pytest.raises(ValueError, match="aware"):
        performance(calls, target_s=20, since=datetime(2024, 3, 11))
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(ValueError, match="target"):
            performance(calls, target_s=bad)
    with pytest.raises(ValueError, match="targets"):
        performance(calls, target_s=20, targets={1: -5})


# ----------------------------------------------------------------------- windows over a day


def test_windows_are_today_from_local_midnight_the_last_hour_and_15_minutes() -> None:
    now = at(30)  # 10:30 in Sydney
    spans = windows(now, SYDNEY)
    assert list(spans) == ["today", "1h", "15m"]
    assert spans["today"] == (datetime(2024, 3, 11, 13, 0, tzinfo=UTC), None)
    assert spans["1h"] == (now - timedelta(hours=1), None)
    assert spans["15m"] == (now - timedelta(minutes=15), None)


def test_performance_over_counts_each_window_from_the_same_calls() -> None:
    calls = frame(
        inbound(1, minute=-11 * 60),  # 23:00 yesterday in Sydney
        inbound(2, minute=-9 * 60, status="Abandoned"),  # 01:00 today
        inbound(3, minute=-20),
        inbound(4, minute=20, queue=60),
        inbound(5, minute=25, status="Abandoned"),
    )
    over = performance_over(calls, at(30), SYDNEY, target_s=20)
    answered = {name: row(table, None)["answered"] for name, table in over.items()}
    abandoned = {name: row(table, None)["abandoned"] for name, table in over.items()}
    assert answered == {"today": 2, "1h": 2, "15m": 1}
    assert abandoned == {"today": 2, "1h": 1, "15m": 1}
    assert row(over["15m"], None)["service_level_pct"] == 0.0
    assert over["today"].equals(
        performance(calls, target_s=20, since=windows(at(30), SYDNEY)["today"][0])
    )


def test_performance_over_applies_the_campaign_targets_in_every_window() -> None:
    calls = frame(inbound(1, minute=20, queue=30), inbound(2, campaign=2, minute=20, queue=30))
    over = performance_over(calls, at(30), SYDNEY, target_s=20, targets={1: 40})
    for table in over.values():
        assert (row(table, 1)["service_level_pct"], row(table, 2)["service_level_pct"]) == (
            100.0,
            0.0,
        )
    with pytest.raises(ValueError, match="aware"):
        performance_over(calls, datetime(2024, 3, 12, 10, 30), SYDNEY, target_s=20)


# --------------------------------------------------------------------------------- the trend


def test_the_trend_has_one_point_per_local_quarter_hour_gaps_unknown() -> None:
    trend = service_level_trend(
        frame(
            inbound(1, minute=1, queue=5),
            inbound(2, minute=14, status="Abandoned"),
            inbound(3, minute=50, queue=50),
        ),
        target_s=20,
        tz=SYDNEY,
    )
    assert list(trend.columns) == list(TREND_COLUMNS)
    assert str(trend["bucket_start"].dtype) == "datetime64[ns, UTC]"
    assert trend["bucket_start"].tolist() == [at(0), at(15), at(30), at(45)]
    assert trend["answered"].tolist() == [1, 0, 0, 1]
    assert trend["service_level_pct"].tolist() == [50.0, NA, NA, 0.0]
    assert trend["abandon_rate_pct"].tolist() == [50.0, NA, NA, 0.0]


def test_the_trend_keeps_only_the_latest_points() -> None:
    calls = frame(*(inbound(n, minute=15 * n) for n in range(10)))
    trend = service_level_trend(calls, target_s=20, tz=SYDNEY, max_points=4)
    assert trend["bucket_start"].tolist() == [at(15 * n) for n in range(6, 10)]


def test_the_trend_buckets_follow_local_hours_in_a_half_hour_zone() -> None:
    trend = service_level_trend(
        frame(inbound(1, minute=40)), target_s=20, tz="Australia/Adelaide", freq="1h"
    )
    # 23:40 UTC is 10:10 in Adelaide (+10:30): the bucket starts at 10:00 local, 23:30 UTC.
    assert trend["bucket_start"].tolist() == [at(30)]


def test_the_hour_repeated_when_summer_time_ends_is_two_points() -> None:
    # Sydney leaves summer time on 7 April 2024 at 03:00 AEDT (16:00 UTC) -> 02:00 AEST.
    first = datetime(2024, 4, 6, 15, 30, tzinfo=UTC)  # 02:30 AEDT
    second = datetime(2024, 4, 6, 16, 30, tzinfo=UTC)  # 02:30 AEST
    items = [inbound(1), inbound(2, status="Abandoned")]
    items[0]["data"]["timestamps"]["created"] = stamp(first)
    items[1]["data"]["timestamps"]["created"] = stamp(second)
    trend = service_level_trend(frame(*items), target_s=20, tz=SYDNEY, freq="1h")
    assert trend["bucket_start"].tolist() == [
        datetime(2024, 4, 6, 15, tzinfo=UTC),
        datetime(2024, 4, 6, 16, tzinfo=UTC),
    ]
    assert trend["service_level_pct"].tolist() == [100.0, 0.0]


def test_the_trend_of_no_calls_is_empty_and_typed() -> None:
    trend = service_level_trend(frame(), target_s=20, tz=SYDNEY)
    assert trend.empty
    assert list(trend.columns) == list(TREND_COLUMNS)
    assert str(trend["bucket_start"].dtype) == "datetime64[ns, UTC]"
    assert str(trend["service_level_pct"].dtype) == "Float64"


def test_the_trend_runs_from_since_to_until_with_the_quiet_buckets_unknown() -> None:
    calls = frame(inbound(1, minute=-30), inbound(2, minute=20), inbound(3, minute=50))
    trend = service_level_trend(calls, target_s=20, tz=SYDNEY, since=at(0), until=at(47))
    # Buckets of 10:00 to 10:45: the call before since and the one at until or later are out.
    assert trend["bucket_start"].tolist() == [at(0), at(15), at(30), at(45)]
    assert trend["answered"].tolist() == [0, 1, 0, 0]
    assert trend["service_level_pct"].tolist() == [NA, 100.0, NA, NA]


def test_the_trend_from_since_with_no_calls_yet_is_empty() -> None:
    assert service_level_trend(frame(), target_s=20, tz=SYDNEY, since=at(0)).empty
    quiet = service_level_trend(frame(), target_s=20, tz=SYDNEY, since=at(0), until=at(20))
    assert quiet["bucket_start"].tolist() == [at(0), at(15)]
    assert quiet["service_level_pct"].isna().all()


def test_the_trend_refuses_buckets_that_do_not_divide_an_hour() -> None:
    for freq in ("7min", "2h", "0min"):
        with pytest.raises(ValueError, match="freq"):
            service_level_trend(frame(inbound(1)), target_s=20, tz=SYDNEY, freq=freq)


# ------------------------------------------------------------------------------- a property

OUTCOMES = st.sampled_from(
    [
        {"status": "Answered"},
        {"status": "Transferred"},
        {"status": "Abandoned"},
        {"status": "Voicemail", "voicemail": True},
        {"status": "Abandoned", "voicemail": True},
        {"status": "In Queue", "answered": None},
        {"status": "In Progress", "answered": 0.1},
        {"status": "Strange", "answered": None},
        {"status": None},
    ]
)
CALLS = st.lists(
    st.tuples(
        OUTCOMES,
        st.sampled_from([1, 2, 3, None]),
        st.one_of(st.none(), st.floats(0, 600)),
        st.booleans(),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CALLS, st.floats(0, 120))
def test_rates_stay_within_0_and_100_and_are_unknown_exactly_without_calls(
    calls: list[tuple[dict[str, Any], int | None, float | None, bool]], target: float
) -> None:
    items = [
        inbound(n, campaign=campaign, queue=queue, parent=1 if child and n > 1 else None, **kind)
        for n, (kind, campaign, queue, child) in enumerate(calls, start=1)
    ]
    table = performance(frame(*items), target_s=target, targets={2: target / 2})
    for values in table.to_dict("records"):
        offered = values["answered"] + values["abandoned"]
        level, rate = values["service_level_pct"], values["abandon_rate_pct"]
        if offered == 0:
            assert pd.isna(level) and pd.isna(rate)
        else:
            assert 0 <= level <= 100 and 0 <= rate <= 100
            # Within target is a part of answered: the two rates never add past 100 %.
            assert level + rate <= 100 + 1e-9
    campaigns, total = table.iloc[:-1], table.iloc[-1]
    for column in ("answered", "abandoned", "voicemail"):
        assert campaigns[column].sum() <= total[column]


# ---------------------------------------------------------------------- a simulated day


def simulated_items(seed: int) -> list[dict[str, Any]]:
    """A simulated tenant's activities from midnight to its busy hour, as JSON items."""
    centre = ContactCentre(SimulatorConfig(speed=0, seed=seed))
    return [json.loads(activity.item_json()) for activity in centre.activities]


def counted_by_a_loop(items: list[dict[str, Any]], target_s: float) -> dict[str, Any]:
    """The total row, counted again item by item, straight from the definitions."""
    answered = abandoned = voicemail = within = 0
    waits: list[float] = []
    handles: list[float] = []
    for item in items:
        data = item["data"]
        if item["type"] != "call.inbound" or data["parentActivityId"] is not None:
            continue
        status = data["activityStatusName"]
        durations = data["durations"]
        if data["voicemailMetadata"] or status == "Voicemail":
            voicemail += 1
        elif status == "Abandoned":
            # only a caller who reached the queue abandoned it; one who hung up in the IVR
            # counts nowhere
            abandoned += bool(data["timestamps"]["joinQueue"] or (durations["queue"] or 0) > 0)
        elif status in _ANSWERED_STATUSES or data["timestamps"]["answered"]:
            answered += 1
            if durations["queue"] is not None:
                waits.append(durations["queue"])
                within += durations["queue"] <= target_s
            parts = [durations["talk"], durations["hold"], durations["wrap"]]
            if None not in parts:
                handles.append(sum(parts))
    offered = answered + abandoned
    return {
        "answered": answered,
        "abandoned": abandoned,
        "voicemail": voicemail,
        "service_level_pct": pytest.approx(100 * within / offered),
        "abandon_rate_pct": pytest.approx(100 * abandoned / offered),
        "asa_s": pytest.approx(sum(waits) / len(waits)),
        "aht_s": pytest.approx(sum(handles) / len(handles)),
    }


def test_a_simulated_day_matches_a_count_item_by_item_and_the_campaigns_add_up() -> None:
    items = simulated_items(seed=3)
    table = performance(activities_frame(items), target_s=20)
    total = row(table, None)
    expected = counted_by_a_loop(items, 20)
    assert {k: total[k] for k in expected} == expected
    assert total["answered"] > 100 and total["abandoned"] > 10 and total["voicemail"] > 5
    campaigns = table.iloc[:-1]
    for column in ("answered", "abandoned", "voicemail"):
        assert campaigns[column].sum() == total[column]


def test_a_simulated_days_trend_adds_up_to_the_day() -> None:
    calls = activities_frame(simulated_items(seed=5))
    trend = service_level_trend(calls, target_s=20, tz=SYDNEY)
    total = row(performance(calls, target_s=20), None)
    assert 0 < len(trend) <= metrics.TREND_MAX_POINTS
    assert (trend["answered"].sum(), trend["abandoned"].sum()) == (
        total["answered"],
        total["abandoned"],
    )
    steps = trend["bucket_start"].diff().dropna().unique().tolist()
    assert steps == [pd.Timedelta(minutes=15)]


def test_a_simulated_voicemail_is_returned_by_a_dial_to_the_caller_in_national_form() -> None:
    items = simulated_items(seed=3)
    messages = voicemail_frame(items)
    first = messages.iloc[0]
    national = "0" + str(first["caller"]).removeprefix("+61")
    later = first["received_at"] + pd.Timedelta(minutes=3)
    dial = outbound(1, minute=0, number=f"{national[:4]} {national[4:7]} {national[7:]}")
    dial["data"]["timestamps"]["created"] = stamp(later.to_pydatetime())
    returned = returned_at(messages, activities_frame([*items, dial]))
    same_caller = messages["caller"].eq(first["caller"]).to_numpy()
    earlier = (messages["received_at"] < later).to_numpy()
    assert returned[same_caller & earlier].eq(later).all()
    assert returned[~(same_caller & earlier)].isna().all()


# ---------------------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("+61 2 9999 0000", "61299990000"),
        ("+61299990000", "61299990000"),
        ("(02) 9999 0000", "61299990000"),
        ("02-9999-0000", "61299990000"),
        ("02.9999.0000", "61299990000"),
        ("0299990000", "61299990000"),
        ("61299990000", "61299990000"),
        ("61 2 9999 0000", "61299990000"),
        ("+61 (0)2 9999 0000", "61299990000"),
        ("  0412 345 678 ", "61412345678"),
        ("412345678", "61412345678"),  # a spreadsheet dropped the 0
        ("0011 61 2 9999 0000", "61299990000"),
        ("0044 20 7946 0000", "442079460000"),
        ("+44 20 7946 0000", "442079460000"),
        ("+1 (212) 555-0100", "12125550100"),
        ("\u00a00299990000", "61299990000"),
        ("", None),
        ("   ", None),
        (None, None),
        ("anonymous", None),
        ("02 9999 0000 ext 12", None),
        ("+61 2 9999 000O", None),
        ("0", None),
        ("+12345", None),
        ("+1234567890123456", None),
        ("+0412345678", None),
        ("+61 2 9999\u20130000", "61299990000"),
        ("++61299990000", None),
        (61299990000, None),  # not text
    ],
)
def test_numbers_are_compared_as_e164_digits(text: object, digits: str | None) -> None:
    assert normalise_number(text) == digits


def test_the_default_country_code_can_be_another() -> None:
    assert normalise_number("020 7946 0000", default_country="44") == "442079460000"
    assert normalise_number("+61 2 9999 0000", default_country="44") == "61299990000"
    with pytest.raises(ValueError, match="default_country"):
        normalise_number("0299990000", default_country="+61")


def test_numbers_are_normalised_as_a_column_keeping_its_index() -> None:
    column = pd.Series(["(02) 9999 0000", None, "x"], index=[7, 3, 5], dtype="string")
    result = normalised_numbers(column)
    assert result.index.tolist() == [7, 3, 5]
    assert result.tolist() == ["61299990000", NA, NA]
    assert str(result.dtype) == "string"


# ----------------------------------------------------------------------- voicemail call-backs


def voicemail_at(activity_id: int, minute: float, caller: str | None = CALLER) -> dict[str, Any]:
    return inbound(activity_id, status="Voicemail", voicemail=True, minute=minute, source=caller)


def returns(*items: dict[str, Any]) -> list[datetime | None]:
    """returned_at of each voicemail among ``items``, NaT as None."""
    result = returned_at(voicemail_frame(list(items)), activities_frame(list(items)))
    return [None if pd.isna(v) else v.to_pydatetime() for v in result]


def test_an_outbound_call_to_the_caller_after_the_voicemail_returns_it() -> None:
    assert returns(voicemail_at(1, 0), outbound(2, minute=5, number="(02) 9999 0000")) == [at(5)]


def test_an_unanswered_dial_attempt_still_returns_the_voicemail() -> None:
    dial = outbound(2, minute=5, number="0299990000", status="No Answer")
    assert returns(voicemail_at(1, 0), dial) == [at(5)]


def test_a_call_back_before_the_voicemail_does_not_count() -> None:
    assert returns(outbound(2, minute=-5, number=CALLER), voicemail_at(1, 0)) == [None]


def test_a_call_at_the_same_second_as_the_voicemail_is_not_after_it() -> None:
    assert returns(voicemail_at(1, 0), outbound(2, minute=0, number=CALLER)) == [None]


def test_an_answered_inbound_call_from_the_caller_returns_it() -> None:
    assert returns(voicemail_at(1, 0), inbound(2, minute=30, source="0299990000")) == [at(30)]


def test_an_unanswered_inbound_call_from_the_caller_does_not() -> None:
    assert returns(
        voicemail_at(1, 0),
        inbound(2, minute=10, status="Abandoned"),
        inbound(3, minute=20, status="In Queue", answered=None),
    ) == [None]


def test_a_second_voicemail_from_the_caller_returns_only_the_first_when_called_back() -> None:
    assert returns(
        voicemail_at(1, 0), voicemail_at(2, 10), outbound(3, minute=20, number=CALLER)
    ) == [
        at(20),
        at(20),
    ]
    assert returns(voicemail_at(1, 0), voicemail_at(2, 10)) == [None, None]


def test_the_earliest_qualifying_call_is_the_return_time() -> None:
    assert returns(
        voicemail_at(1, 0),
        outbound(4, minute=50, number=CALLER),
        inbound(3, minute=20, source=CALLER),
        outbound(2, minute=-1, number=CALLER),
    ) == [at(20)]


def test_a_call_between_two_voicemails_returns_only_the_earlier() -> None:
    assert returns(
        voicemail_at(1, 0), outbound(2, minute=5, number=CALLER), voicemail_at(3, 10)
    ) == [
        at(5),
        None,
    ]


def test_calls_to_other_numbers_do_not_return_the_voicemail() -> None:
    assert returns(
        voicemail_at(1, 0),
        outbound(2, minute=5, number="+61299990001"),
        inbound(3, minute=6, source="+61399990000"),
    ) == [None]


def test_a_voicemail_without_a_usable_number_stays_waiting() -> None:
    assert returns(
        voicemail_at(1, 0, caller=None),
        voicemail_at(2, 0, caller="anonymous"),
        outbound(3, minute=5, number=None),
        outbound(4, minute=6, number="anonymous"),
    ) == [None, None]


def test_returned_at_is_aligned_to_the_voicemail_frames_index() -> None:
    items = [voicemail_at(1, 0, caller="+61399990000"), voicemail_at(2, 1)]
    messages = voicemail_frame(items).set_axis([40, 10])
    result = returned_at(messages, activities_frame([*items, outbound(3, minute=2, number=CALLER)]))
    assert result.index.tolist() == [40, 10]
    assert str(result.dtype) == "datetime64[ns, UTC]"
    assert result.isna().tolist() == [True, False]


def test_no_voicemail_and_no_calls_give_nothing_returned() -> None:
    empty = returned_at(voicemail_frame([]), activities_frame([]))
    assert empty.empty and str(empty.dtype) == "datetime64[ns, UTC]"
    assert returns(voicemail_at(1, 0)) == [None]


# One number in the ways people write it, and two others.
WRITTEN = st.sampled_from(
    ["+61299990000", "(02) 9999 0000", "61 2 9999 0000", "+61 3 9999 0000", "0399990000", "x"]
)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["voicemail", "dial", "answered", "abandoned"]),
        WRITTEN,
        st.integers(0, 30),
    ),
    max_size=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_each_voicemail_is_returned_by_the_earliest_later_call_back_of_its_number(
    events: list[tuple[str, str, int]],
) -> None:
    make = {
        "voicemail": lambda n, number, minute: voicemail_at(n, minute, caller=number),
        "dial": lambda n, number, minute: outbound(n, minute=minute, number=number),
        "answered": lambda n, number, minute: inbound(n, minute=minute, source=number),
        "abandoned": lambda n, number, minute: inbound(
            n, minute=minute, source=number, status="Abandoned"
        ),
    }
    items = [make[kind](n, number, minute) for n, (kind, number, minute) in enumerate(events, 1)]
    expected = []
    for kind, number, minute in events:
        if kind != "voicemail":
            continue
        later = [
            m
            for k, other, m in events
            if k in ("dial", "answered")
            and m > minute
            and normalise_number(number) is not None
            and normalise_number(other) == normalise_number(number)
        ]
        expected.append(at(min(later)) if later else None)
    assert returns(*items) == expected


# ------------------------------------------------------------------------- voicemail summary


def with_returned(*items: dict[str, Any]) -> pd.DataFrame:
    messages = voicemail_frame(list(items))
    return messages.assign(returned_at=returned_at(messages, activities_frame(list(items))))


def test_the_summary_counts_and_ages_only_the_waiting_voicemails() -> None:
    messages = with_returned(
        voicemail_at(1, 0, caller="+61311111111"),
        voicemail_at(2, 10, caller="+61322222222"),
        voicemail_at(3, 20, caller="+61333333333"),
        voicemail_at(4, 30, caller="+61344444444"),
        outbound(5, minute=12, number="03 1111 1111"),  # 12 min after the first
        outbound(6, minute=50, number="03 3333 3333"),  # 30 min after the third
    )
    assert voicemail_summary(messages, at(60), tz=SYDNEY) == VoicemailSummary(
        waiting=2, oldest_waiting_s=50 * 60.0, returned_today=2, median_return_s=21 * 60.0
    )


def test_a_return_after_now_is_still_waiting() -> None:
    messages = with_returned(voicemail_at(1, 0), outbound(2, minute=30, number=CALLER))
    assert voicemail_summary(messages, at(20), tz=SYDNEY) == VoicemailSummary(
        waiting=1, oldest_waiting_s=20 * 60.0, returned_today=0, median_return_s=None
    )


def test_a_voicemail_returned_yesterday_is_not_returned_today() -> None:
    # 23:00 and 23:30 yesterday in Sydney; now is 10:00 today.
    messages = with_returned(
        voicemail_at(1, -11 * 60), outbound(2, minute=-10.5 * 60, number=CALLER)
    )
    assert voicemail_summary(messages, at(0), tz=SYDNEY) == VoicemailSummary(
        waiting=0, oldest_waiting_s=None, returned_today=0, median_return_s=None
    )


def test_no_voicemail_is_nothing_waiting_and_no_time_to_return() -> None:
    assert voicemail_summary(with_returned(), at(0), tz=SYDNEY) == VoicemailSummary(
        waiting=0, oldest_waiting_s=None, returned_today=0, median_return_s=None
    )


def test_a_voicemail_dated_after_now_waits_for_no_time() -> None:
    summary = voicemail_summary(with_returned(voicemail_at(1, 5)), at(0), tz=SYDNEY)
    assert (summary.waiting, summary.oldest_waiting_s) == (1, 0.0)


def test_a_caller_who_hung_up_in_the_ivr_is_not_an_abandoned_call() -> None:
    table = performance(
        frame(
            inbound(1, queue=5),
            inbound(2, status="Abandoned", queue=None),  # IVR: no join time, no wait
            inbound(3, status="Abandoned", queue=0, queued=False),  # IVR: a wait of 0, no join
            inbound(4, status="Abandoned", queue=40, queued=False),  # waited: it was queued
            inbound(5, status="Abandoned", queue=None, queued=True),  # joined the queue
        ),
        target_s=20,
    )
    total = row(table, None)
    assert numbers_of(total) == {
        "answered": 1,
        "abandoned": 2,
        "voicemail": 0,
        "service_level_pct": pytest.approx(100 / 3),
        "abandon_rate_pct": pytest.approx(200 / 3),
    }


def test_a_frame_from_before_the_join_queue_time_counts_every_abandon() -> None:
    """A stored frame written before queued_at existed cannot tell the IVR from the queue:
    every Abandoned call counts, as it did then."""
    old = frame(inbound(1, queue=5), inbound(2, status="Abandoned", queue=None))
    assert row(performance(old, target_s=20), None)["abandoned"] == 0
    assert row(performance(old.drop(columns="queued_at"), target_s=20), None)["abandoned"] == 1
