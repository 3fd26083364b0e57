"""The tenant's JSON, record by record: which items are records, and one field of them all.

Builders read each field for all records at once (``field``: a C-level ``map(dict.get, ...)``,
no Python per record), then convert the column once (ipscape/frames/values.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from itertools import compress, repeat
from typing import Any

from ipscape.frames.result import NOT_A_LIST, NOT_AN_OBJECT
from ipscape.frames.values import int_array, kinds

EMPTY: dict[str, Any] = {}  # shared, never written to

# Every field name of the tenant's JSON that the frames package reads (and no other module of
# ipscape/ does: tests/test_vendor_fields.py checks both).
VENDOR_FIELDS = frozenset(
    {
        # activities: the item, its data, and what the data nests
        "type", "data", "activityId", "parentActivityId", "rootActivityId", "attemptId",
        "campaignId", "campaignName", "agentId", "agentFullName", "activityStatusName",
        "dialStatusName", "leadId", "source", "destination", "phoneIndex", "phoneNumber",
        "timestamps", "created", "joinQueue", "answered", "hangUp",
        "durations", "queue", "talk", "hold", "wrap", "interaction", "dial",
        "voicemailMetadata", "mediaId", "mediaUri", "duration",
        # campaign statistics and the campaign listing
        "estimatedCallWaitingTime", "maxCallWaitingTime", "averageWaitingTime", "callsWaiting",
        "callsReceived", "callsAbandonedInWorkflow", "callsAbandonedInQueue", "callsAnswered",
        "agents", "loggedIn", "available", "busy", "paused", "isActive", "timezone", "timestamp",
        # agent status
        "state", "stateSince", "pauseReason", "title", "campaignIds",
    }
)  # fmt: skip


def count(tally: Counter[str], reason: str, n: int) -> None:
    if n:
        tally[reason] += n


def records(items: object, tally: Counter[str]) -> list[object]:
    """The listed records. Strings and mappings are iterable but are never a list of records
    (e.g. a whole response body passed by mistake): they are refused rather than read as keys or
    characters. An iterator that raises (a failing page fetch) is the caller's error."""
    if items is None or isinstance(items, (str, bytes, bytearray, Mapping)):
        tally[NOT_A_LIST] += 1
        return []
    try:
        listed = iter(items)  # type: ignore[call-overload]
    except TypeError:
        tally[NOT_A_LIST] += 1
        return []
    return list(listed)


def objects(items: object, tally: Counter[str]) -> list[dict[str, Any]]:
    """The listed records that are JSON objects; the others are counted as dropped."""
    listed = records(items, tally)
    if kinds(listed) <= {dict}:
        return listed  # type: ignore[return-value]
    kept = [r for r in listed if isinstance(r, dict)]
    count(tally, NOT_AN_OBJECT, len(listed) - len(kept))
    return kept


def field(rows: list[dict[str, Any]], key: str) -> list[Any]:
    """One field of every record, missing as None."""
    return list(map(dict.get, rows, repeat(key)))


def nested(values: list[Any]) -> list[dict[str, Any]]:
    """Nested objects, with anything that is not one read as an empty object."""
    empty = EMPTY
    return [v if type(v) is dict or isinstance(v, dict) else empty for v in values]


def identified(
    rows: list[dict[str, Any]], key: str, reason: str, tally: Counter[str]
) -> tuple[Any, list[dict[str, Any]], Any]:
    """(ids, rows, kept) without the rows whose ``key`` is no usable id, counted as ``reason``;
    ``kept`` is the mask of the rows kept (None when all were), for lists that run alongside."""
    ids = int_array(field(rows, key))
    missing = ids.isna()
    if not missing.any():
        return ids, rows, None
    count(tally, reason, int(missing.sum()))
    kept = ~missing
    return ids[kept], list(compress(rows, kept)), kept


# Fields that identify a listed item, by feed: activities, dial attempts, campaigns, agents.
_IDENTITY_FIELDS = ("activityId", "attemptId", "campaignId", "agentId")


def item_identity(item: object) -> tuple[str, str] | None:
    """What identifies a listed item (its id field and value), or None when it has none.

    Pagination uses it to tell a page of new items from a page of ones already seen, and the
    activity window to merge a call's newer version over the older."""
    if not isinstance(item, Mapping):
        return None
    data = item.get("data")
    for record in (data, item) if isinstance(data, Mapping) else (item,):
        for name in _IDENTITY_FIELDS:
            value = record.get(name)
            if value not in (None, "") and not isinstance(value, Mapping | list | bool):
                return (name, str(value))
    return None
