"""Activities: one row per activity, and the frames derived from the same items (voicemail,
transfers, dial attempts), plus the two facts of a single item the activity window needs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import compress
from typing import Any

import numpy as np
import pandas as pd

from ipscape.frames.records import EMPTY, count, field, identified, nested, objects
from ipscape.frames.result import (
    NO_ACTIVITY_ID,
    NO_DATA_OBJECT,
    NO_PARENT_ACTIVITY_ID,
    VOICEMAIL_NOT_A_LIST,
    VOICEMAIL_NOT_AN_OBJECT,
    FrameResult,
)
from ipscape.frames.schema import assembled
from ipscape.frames.timestamps import parse_timestamp, timestamp_array
from ipscape.frames.values import (
    float_array,
    int_array,
    integer,
    kinds,
    object_array,
    str_array,
)

# The activity type of a dial attempt (the dial-attempts frame is built from these only).
DIAL_ATTEMPT_TYPE = "call.outbound"
# The activity types the typed columns describe in full; any other type is known only by its
# raw data (drill-down shows it).
KNOWN_ACTIVITY_TYPES = ("call.inbound", DIAL_ATTEMPT_TYPE)


def _activity_datas(
    items: object, tally: Counter[str], only_type: str | None = None
) -> tuple[list[dict[str, Any]], list[object]]:
    """(data objects, types) of the activity items ``{"type", "data"}``, optionally of one
    type only; items that are not objects or have no data object are counted as dropped."""
    rows = objects(items, tally)
    types = field(rows, "type")
    if only_type is not None:
        wanted = [t == only_type for t in types]
        rows, types = list(compress(rows, wanted)), list(compress(types, wanted))
    datas = field(rows, "data")
    if not kinds(datas) <= {dict}:
        usable = [isinstance(d, dict) for d in datas]
        count(tally, NO_DATA_OBJECT, len(usable) - sum(usable))
        datas, types = list(compress(datas, usable)), list(compress(types, usable))
    return datas, types


def _has_voicemail(value: object) -> bool | None:
    # Missing means "no voicemail" (outbound calls never carry the field); a wrong type is unknown.
    if value is None:
        return False
    if isinstance(value, list):
        return any(isinstance(entry, dict) for entry in value)
    return None


def activities_result(items: Iterable[object]) -> FrameResult:
    """One row per activity item ``{"type", "data"}``, unknown types included.

    ``status`` is ``activityStatusName`` (inbound) or ``dialStatusName`` (outbound); ``raw`` is
    the item's original ``data`` dict, for showing unknown types in a drill-down.
    """
    tally: Counter[str] = Counter()
    datas, types = _activity_datas(items, tally)
    ids, datas, kept = identified(datas, "activityId", NO_ACTIVITY_ID, tally)
    if kept is not None:
        types = list(compress(types, kept))
    durations = nested(field(datas, "durations"))
    stamps = nested(field(datas, "timestamps"))
    statuses = [
        status if type(status) is str or dial is None else dial
        for status, dial in zip(
            field(datas, "activityStatusName"), field(datas, "dialStatusName"), strict=True
        )
    ]
    return assembled(
        "activities",
        {
            "activity_id": ids,
            "type": str_array(types),
            "campaign_id": int_array(field(datas, "campaignId")),
            "campaign_name": str_array(field(datas, "campaignName")),
            "agent_id": int_array(field(datas, "agentId")),
            "agent_name": str_array(field(datas, "agentFullName")),
            "status": str_array(statuses),
            "created_at": timestamp_array(field(stamps, "created")),
            "queued_at": timestamp_array(field(stamps, "joinQueue")),
            "answered_at": timestamp_array(field(stamps, "answered")),
            "hangup_at": timestamp_array(field(stamps, "hangUp")),
            "lead_id": int_array(field(datas, "leadId")),
            "source": str_array(field(datas, "source")),
            # An outbound call (a dial attempt) names the number it dialled phoneNumber.
            "destination": str_array(
                [
                    dialled if called is None else called
                    for called, dialled in zip(
                        field(datas, "destination"), field(datas, "phoneNumber"), strict=True
                    )
                ]
            ),
            "parent_activity_id": int_array(field(datas, "parentActivityId")),
            "root_activity_id": int_array(field(datas, "rootActivityId")),
            "queue_s": float_array(field(durations, "queue")),
            "talk_s": float_array(field(durations, "talk")),
            "hold_s": float_array(field(durations, "hold")),
            "wrap_s": float_array(field(durations, "wrap")),
            "interaction_s": float_array(field(durations, "interaction")),
            "has_voicemail": pd.array(
                [
                    # The usual cases inline: a call per activity costs more than the test.
                    False if v is None or (type(v) is list and not v) else _has_voicemail(v)
                    for v in field(datas, "voicemailMetadata")
                ],
                dtype="boolean",
            ),
            "raw": object_array(datas),
        },
        tally,
    )


def voicemail_result(items: Iterable[object]) -> FrameResult:
    """One row per entry of an activity's ``voicemailMetadata`` (two voicemails, two rows).

    Activities of any type count; those without voicemail are not rows (and not "dropped").
    """
    tally: Counter[str] = Counter()
    datas, _ = _activity_datas(items, tally)
    carriers = [d for d, v in zip(datas, field(datas, "voicemailMetadata"), strict=True) if v]
    lists = field(carriers, "voicemailMetadata")
    is_list = [isinstance(v, list) for v in lists]
    if not all(is_list):
        count(tally, VOICEMAIL_NOT_A_LIST, len(is_list) - sum(is_list))
        carriers, lists = list(compress(carriers, is_list)), list(compress(lists, is_list))
    ids, carriers, kept = identified(carriers, "activityId", NO_ACTIVITY_ID, tally)
    if kept is not None:
        lists = list(compress(lists, kept))
    # One row per entry: each entry's own fields, and its activity's taken at ``owner``.
    entries = [entry for voicemails in lists for entry in voicemails]
    owners = [n for n, voicemails in enumerate(lists) for _ in voicemails]
    if not kinds(entries) <= {dict}:
        usable = [isinstance(e, dict) for e in entries]
        count(tally, VOICEMAIL_NOT_AN_OBJECT, len(usable) - sum(usable))
        entries, owners = list(compress(entries, usable)), list(compress(owners, usable))
    owner = np.array(owners, dtype=np.intp)
    created = field(nested(field(carriers, "timestamps")), "created")
    return assembled(
        "voicemail",
        {
            "activity_id": ids.take(owner),
            "media_id": int_array(field(entries, "mediaId")),
            "received_at": timestamp_array(created).take(owner),
            "caller": str_array(field(carriers, "source")).take(owner),
            "campaign_id": int_array(field(carriers, "campaignId")).take(owner),
            "campaign_name": str_array(field(carriers, "campaignName")).take(owner),
            "agent_id": int_array(field(carriers, "agentId")).take(owner),
            "duration_s": float_array(field(entries, "duration")),
            "media_uri": str_array(field(entries, "mediaUri")),
            # Filled in by ipscape.metrics.returned_at, which needs the later activities too.
            "returned_at": pd.array([None] * len(entries), dtype="datetime64[ns, UTC]"),
        },
        tally,
    )


def transfers_result(items: Iterable[object]) -> FrameResult:
    """One row per activity with a ``parentActivityId`` (the leg transferred from the parent).

    The "from" agent and campaign come from the parent activity when it is among ``items``,
    else they are <NA>; the "to" side and ``talk_s`` come from the child.
    """
    tally: Counter[str] = Counter()
    datas, _ = _activity_datas(items, tally)
    ids = int_array(field(datas, "activityId"))
    known = ~ids.isna()
    by_id = dict(
        compress(zip(ids.to_numpy(dtype=np.int64, na_value=0).tolist(), datas, strict=True), known)
    )
    is_child = np.array([p is not None for p in field(datas, "parentActivityId")], dtype=bool)
    count(tally, NO_ACTIVITY_ID, int((is_child & ~known).sum()))
    children = list(compress(datas, is_child & known))
    parent_ids, children, _ = identified(children, "parentActivityId", NO_PARENT_ACTIVITY_ID, tally)
    parents = [by_id.get(p, EMPTY) for p in parent_ids.to_numpy(dtype=np.int64).tolist()]

    return assembled(
        "transfers",
        {
            "activity_id": int_array(field(children, "activityId")),
            "parent_activity_id": parent_ids,
            "root_activity_id": int_array(field(children, "rootActivityId")),
            "transferred_at": timestamp_array(
                field(nested(field(children, "timestamps")), "created")
            ),
            "from_agent": str_array(field(parents, "agentFullName")),
            "to_agent": str_array(field(children, "agentFullName")),
            "from_agent_id": int_array(field(parents, "agentId")),
            "to_agent_id": int_array(field(children, "agentId")),
            "from_campaign": str_array(field(parents, "campaignName")),
            "to_campaign": str_array(field(children, "campaignName")),
            "from_campaign_id": int_array(field(parents, "campaignId")),
            "to_campaign_id": int_array(field(children, "campaignId")),
            "talk_s": float_array(field(nested(field(children, "durations")), "talk")),
        },
        tally,
    )


def dial_attempts_result(items: Iterable[object]) -> FrameResult:
    """One row per dial attempt (a ``call.outbound`` activity); other types are skipped."""
    tally: Counter[str] = Counter()
    datas, _ = _activity_datas(items, tally, DIAL_ATTEMPT_TYPE)
    ids, datas, _ = identified(datas, "activityId", NO_ACTIVITY_ID, tally)
    return assembled(
        "dial-attempts",
        {
            "lead_id": int_array(field(datas, "leadId")),
            "attempt_id": int_array(field(datas, "attemptId")),
            "activity_id": ids,
            "phone_index": int_array(field(datas, "phoneIndex"), lo=1, hi=3),
            "phone_number": str_array(field(datas, "phoneNumber")),
            "dial_status": str_array(field(datas, "dialStatusName")),
            "campaign_id": int_array(field(datas, "campaignId")),
            "agent_id": int_array(field(datas, "agentId")),
            "created_at": timestamp_array(field(nested(field(datas, "timestamps")), "created")),
            "dial_s": float_array(field(nested(field(datas, "durations")), "dial")),
        },
        tally,
    )


def activities_frame(items: Iterable[object]) -> pd.DataFrame:
    """`activities_result`'s frame."""
    return activities_result(items).frame


def voicemail_frame(items: Iterable[object]) -> pd.DataFrame:
    """`voicemail_result`'s frame."""
    return voicemail_result(items).frame


def transfers_frame(items: Iterable[object]) -> pd.DataFrame:
    """`transfers_result`'s frame."""
    return transfers_result(items).frame


def dial_attempts_frame(items: Iterable[object]) -> pd.DataFrame:
    """`dial_attempts_result`'s frame."""
    return dial_attempts_result(items).frame


# -------------------------------------------------------------------------- one item at a time


def activity_id(item: object) -> int | None:
    """The ``activity_id`` the activity builders give ``item``, None when they would drop it
    (not an object, no data object, no usable id), so callers can key items as the frames do."""
    if not isinstance(item, dict):
        return None
    data = item.get("data")
    return integer(data.get("activityId")) if isinstance(data, dict) else None


def activity_created_at(item: object) -> datetime | None:
    """When the activity was created (aware), None when the item does not say."""
    data = item.get("data") if isinstance(item, Mapping) else None
    stamps = data.get("timestamps") if isinstance(data, Mapping) else None
    created = stamps.get("created") if isinstance(stamps, Mapping) else None
    if not created:
        return None
    if isinstance(created, str):
        # The common, aware ISO form is read by the standard library a thousand times faster
        # than the general parser, which takes the rest (older naive forms).
        try:
            when = datetime.fromisoformat(created)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when
    parsed = parse_timestamp(created)
    return None if parsed is None or pd.isna(parsed) else parsed.to_pydatetime()
