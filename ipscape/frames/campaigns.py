"""Campaigns: the per-campaign statistics feed, and which campaigns a listing says are active."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from ipscape.frames.records import field, identified, nested, objects
from ipscape.frames.result import NO_CAMPAIGN_ID, FrameResult
from ipscape.frames.schema import assembled
from ipscape.frames.timestamps import as_utc, timestamp_array
from ipscape.frames.values import (
    bool_array,
    count_array,
    float_array,
    integer,
    str_array,
)


def campaigns_result(stats: Iterable[object], *, as_of: datetime | None = None) -> FrameResult:
    """One row per campaign-statistics object; the objects without a usable ``campaignId`` are
    dropped and counted.

    ``as_of`` is the record's ``timestamp`` (naive form read in the record's ``timezone``), else
    the ``as_of`` argument (naive means UTC). ``calls_abandoned`` adds the abandoned-in-workflow
    and abandoned-in-queue counters, and is <NA> only when both are unknown.
    """
    tally: Counter[str] = Counter()
    ids, rows, _ = identified(objects(stats, tally), "campaignId", NO_CAMPAIGN_ID, tally)
    agents = nested(field(rows, "agents"))
    timezones = field(rows, "timezone")

    in_workflow = count_array(field(rows, "callsAbandonedInWorkflow"))
    in_queue = count_array(field(rows, "callsAbandonedInQueue"))
    abandoned = in_workflow.fillna(0) + in_queue.fillna(0)
    abandoned[in_workflow.isna() & in_queue.isna()] = pd.NA

    zones = [tz if isinstance(tz, str) else None for tz in timezones]
    as_of_column = timestamp_array(field(rows, "timestamp"), zones)
    fallback = as_utc(as_of)
    if fallback is not None:
        as_of_column = as_of_column.fillna(fallback)

    return assembled(
        "campaigns",
        {
            "campaign_id": ids,
            "campaign_name": str_array(field(rows, "campaignName")),
            "ewt_s": float_array(field(rows, "estimatedCallWaitingTime")),
            "max_wait_s": float_array(field(rows, "maxCallWaitingTime")),
            "avg_wait_s": float_array(field(rows, "averageWaitingTime")),
            "calls_waiting": count_array(field(rows, "callsWaiting")),
            "calls_received": count_array(field(rows, "callsReceived")),
            "calls_abandoned": abandoned,
            "calls_answered": count_array(field(rows, "callsAnswered")),
            "agents_logged_in": count_array(field(agents, "loggedIn")),
            "agents_available": count_array(field(agents, "available")),
            "agents_busy": count_array(field(agents, "busy")),
            "agents_wrap": count_array(field(agents, "wrap")),
            "agents_paused": count_array(field(agents, "paused")),
            "is_active": bool_array(field(rows, "isActive")),
            "timezone": str_array(timezones),
            "as_of": as_of_column,
        },
        tally,
    )


def campaigns_frame(stats: Iterable[object], *, as_of: datetime | None = None) -> pd.DataFrame:
    """`campaigns_result`'s frame."""
    return campaigns_result(stats, as_of=as_of).frame


def active_campaign_ids(listing: Iterable[object]) -> list[int]:
    """The ids of a campaign listing's campaigns, in order and each once, except those marked
    inactive; items that are not objects or have no usable id are skipped."""
    ids = (
        integer(item.get("campaignId"))
        for item in listing
        if isinstance(item, dict) and item.get("isActive") is not False
    )
    return list(dict.fromkeys(i for i in ids if i is not None))
