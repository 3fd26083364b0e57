"""ipSCAPE API JSON -> typed pandas frames, one per feed.

Pure functions, no I/O. Input is untrusted JSON: a record with missing or wrong-typed fields keeps
what is valid (a bad optional field becomes <NA>, never 0); a record is dropped only when it cannot
be identified, and every drop is counted by reason in ``frame.attrs["dropped"]``.

Every assumed field name of the contract (docs: shared/ipscape-api.md §2) lives in this module,
so a tenant that differs is served by changing the extraction loops below.

Speed (100k activities): no per-record json_normalize. Each field is read for all records at
once (``map(dict.get, ...)``, a C-level loop), each column is converted once (a C-level fast
path when every value already has the right type, a checked Python path otherwise), timestamps
are parsed vectorised with one strict format and only the values it refuses are re-read, and
the frame is built in one go with explicit dtypes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import compress, repeat
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "FEED_BUILDERS",
    "FEED_COLUMNS",
    "KNOWN_ACTIVITY_TYPES",
    "activities_frame",
    "activity_id",
    "agents_frame",
    "campaigns_frame",
    "dial_attempts_frame",
    "dropped",
    "parse_timestamp",
    "transfers_frame",
    "voicemail_frame",
]

_STRING = pd.StringDtype()
_TS = "datetime64[ns, UTC]"

_SCHEMAS: dict[str, dict[str, Any]] = {
    "campaigns": {
        "campaign_id": "Int64",
        "campaign_name": _STRING,
        "ewt_s": "Float64",
        "max_wait_s": "Float64",
        "avg_wait_s": "Float64",
        "calls_waiting": "Int64",
        "calls_received": "Int64",
        "calls_abandoned": "Int64",
        "calls_answered": "Int64",
        "agents_logged_in": "Int64",
        "agents_available": "Int64",
        "agents_busy": "Int64",
        "agents_wrap": "Int64",
        "agents_paused": "Int64",
        "is_active": "boolean",
        "timezone": _STRING,
        "as_of": _TS,
    },
    "agents": {
        "agent_id": "Int64",
        "agent_name": _STRING,
        "state": _STRING,
        "state_since": _TS,
        "time_in_state_s": "Float64",
        "pause_reason": _STRING,
        "campaign_ids": object,
    },
    "voicemail": {
        "activity_id": "Int64",
        "media_id": _STRING,
        "received_at": _TS,
        "caller": _STRING,
        "campaign_id": "Int64",
        "campaign_name": _STRING,
        "agent_id": "Int64",
        "duration_s": "Float64",
        "media_uri": _STRING,
    },
    "transfers": {
        "activity_id": "Int64",
        "parent_activity_id": "Int64",
        "root_activity_id": "Int64",
        "transferred_at": _TS,
        "from_agent": _STRING,
        "to_agent": _STRING,
        "from_agent_id": "Int64",
        "to_agent_id": "Int64",
        "from_campaign": _STRING,
        "to_campaign": _STRING,
        "from_campaign_id": "Int64",
        "to_campaign_id": "Int64",
        "talk_s": "Float64",
    },
    "dial-attempts": {
        "lead_id": "Int64",
        "attempt_id": "Int64",
        "activity_id": "Int64",
        "phone_index": "Int64",
        "phone_number": _STRING,
        "dial_status": _STRING,
        "campaign_id": "Int64",
        "agent_id": "Int64",
        "created_at": _TS,
        "dial_s": "Float64",
    },
    "activities": {
        "activity_id": "Int64",
        "type": _STRING,
        "campaign_id": "Int64",
        "campaign_name": _STRING,
        "agent_id": "Int64",
        "agent_name": _STRING,
        "status": _STRING,
        "created_at": _TS,
        "answered_at": _TS,
        "hangup_at": _TS,
        "lead_id": "Int64",
        "source": _STRING,
        "destination": _STRING,
        "parent_activity_id": "Int64",
        "root_activity_id": "Int64",
        "queue_s": "Float64",
        "talk_s": "Float64",
        "hold_s": "Float64",
        "wrap_s": "Float64",
        "interaction_s": "Float64",
        "has_voicemail": "boolean",
        "raw": object,
    },
}

FEED_COLUMNS: dict[str, list[str]] = {feed: list(schema) for feed, schema in _SCHEMAS.items()}

# Drop reasons, shared so that callers and tests can name them.
NOT_A_LIST = "not a list"
NOT_AN_OBJECT = "not an object"
NO_DATA_OBJECT = "no data object"
NO_ACTIVITY_ID = "no activityId"
NO_CAMPAIGN_ID = "no campaignId"
NO_AGENT_ID = "no agentId"
NO_PARENT_ACTIVITY_ID = "unusable parentActivityId"
VOICEMAIL_NOT_AN_OBJECT = "voicemail entry not an object"
VOICEMAIL_NOT_A_LIST = "voicemailMetadata not a list"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Integers this small convert to float exactly; larger ones take the checked path.
_EXACT_FLOAT_INT = 2**53
_EMPTY: dict[str, Any] = {}  # shared, never written to
_OUTBOUND = "call.outbound"
# The activity types the typed columns describe in full; any other type is known only by its
# raw data (drill-down shows it).
KNOWN_ACTIVITY_TYPES = ("call.inbound", _OUTBOUND)


# ---------------------------------------------------------------- scalar conversions (slow path)


def _number(value: object) -> float | None:
    """A finite float from a JSON number or numeric string. Bools are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        # float() accepts "1_000"; the API never sends that, so it is more likely garbage.
        if "_" in value:
            return None
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _integer(value: object) -> int | None:
    """An int64 from an integral JSON number or numeric string ("12", "12.0")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        integer = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        integer = int(value)
    elif isinstance(value, str):
        if "_" in value:
            return None
        try:
            integer = int(value)
        except ValueError:
            number = _number(value)
            if number is None or not number.is_integer():
                return None
            integer = int(number)
    else:
        return None
    return integer if _INT64_MIN <= integer <= _INT64_MAX else None


def _text(value: object) -> str | None:
    """A display string from any JSON scalar; containers and bools are not names."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return str(value)
    except ValueError:  # int too long for str() (Python's digit limit)
        return None


def _id_text(value: object) -> str | None:
    """An identifier kept as text, so that non-numeric ids survive; 100.0 reads "100"."""
    if isinstance(value, str):
        return value
    integer = _integer(value)
    return None if integer is None else str(integer)


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return None


def _has_voicemail(value: object) -> bool | None:
    # Missing means "no voicemail" (outbound calls never carry the field); a wrong type is unknown.
    if value is None:
        return False
    if isinstance(value, list):
        return any(isinstance(entry, dict) for entry in value)
    return None


def _pause_title(value: object) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("title"))
    # Some tenants may send the title alone.
    return value if isinstance(value, str) else None


def _id_tuple(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    ids = (_integer(v) for v in value)
    return tuple(dict.fromkeys(i for i in ids if i is not None))


# ----------------------------------------------------------------------- column conversions


def _kinds(raw: Sequence[object]) -> set[type]:
    return set(map(type, raw))


_NONE = type(None)
_INT_KINDS = {int, _NONE}
_NUMBER_KINDS = {int, float, _NONE}
_TEXT_KINDS = {str, _NONE}


def _int_array(raw: Sequence[object], lo: int | None = None, hi: int | None = None) -> Any:
    data = None
    if _kinds(raw) <= _INT_KINDS:  # the usual case, done in C
        objects = _object_array(raw)
        mask = np.equal(objects, None)
        try:
            data = np.where(mask, 0, objects).astype(np.int64)
        except OverflowError:
            data = None
    if data is None:
        values = [
            v if type(v) is int and _INT64_MIN <= v <= _INT64_MAX else _integer(v) for v in raw
        ]
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        data = np.array([0 if v is None else v for v in values], dtype=np.int64)
    if lo is not None:
        mask |= data < lo
    if hi is not None:
        mask |= data > hi
    data[mask] = 0
    return pd.arrays.IntegerArray(data, mask)


def _count_array(raw: Sequence[object]) -> Any:
    return _int_array(raw, lo=0)


def _float_array(raw: Sequence[object], nonnegative: bool = True) -> Any:
    data = None
    if _kinds(raw) <= _NUMBER_KINDS:  # the usual case, done in C (None becomes NaN)
        try:
            data = np.array(raw, dtype=np.float64).reshape(len(raw))
        except OverflowError:
            data = None
    if data is None:
        values = [
            v
            if type(v) is float or (type(v) is int and -_EXACT_FLOAT_INT < v < _EXACT_FLOAT_INT)
            else _number(v)
            for v in raw
        ]
        data = np.array(values, dtype=np.float64).reshape(len(values))
    mask = ~np.isfinite(data)
    if nonnegative:
        mask |= data < 0
    data[mask] = 0.0
    return pd.arrays.FloatingArray(data, mask)


def _clean_text(value: str | None) -> str | None:
    # Lone surrogates (legal in Python strings decoded from JSON) cannot be stored as UTF-8.
    if value is None:
        return None
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _str_array(raw: Sequence[object]) -> Any:
    if _kinds(raw) <= _TEXT_KINDS:
        return _strings(raw)  # type: ignore[arg-type]
    return _strings([v if type(v) is str else _text(v) for v in raw])


def _strings(values: Sequence[str | None]) -> Any:
    objects = np.array(values, dtype=object).reshape(len(values))
    try:
        return pd.array(objects, dtype=_STRING)
    except (UnicodeError, ValueError):
        cleaned = np.array([_clean_text(v) for v in values], dtype=object).reshape(len(values))
        return pd.array(cleaned, dtype=_STRING)


def _bool_array(raw: Sequence[object]) -> Any:
    return pd.array([v if type(v) is bool else _boolean(v) for v in raw], dtype="boolean")


def _object_array(values: Sequence[object]) -> np.ndarray:
    # fromiter keeps tuples and dicts as elements where np.array would try to nest them.
    return np.fromiter(values, dtype=object, count=len(values))


# ------------------------------------------------------------------------------- timestamps

_AWARE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
# What a datetime64[ns] column can hold, a little inside the exact limits.
_NS_LO = np.datetime64("1677-09-22T00:00:00", "us")
_NS_HI = np.datetime64("2262-04-11T00:00:00", "us")
_NAT = np.datetime64("NaT", "ns")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfo raises several types for bad names (ValueError, OSError, ...)
        return None


def _zone_for(tz: object) -> ZoneInfo | None:
    if tz is None:
        return _zone("UTC")
    return _zone(tz) if isinstance(tz, str) else None


def _to_index(strings: Sequence[str | None], *, utc: bool, fmt: str) -> pd.DatetimeIndex:
    array = np.array(strings, dtype=object).reshape(len(strings))
    try:
        return pd.to_datetime(array, format=fmt, utc=utc, errors="coerce")
    except Exception:  # pandas raising despite errors="coerce": go one by one, never fail
        parsed = []
        for text in strings:
            try:
                parsed.append(pd.to_datetime(text, format=fmt, utc=utc))
            except Exception:
                parsed.append(pd.NaT)
        try:
            return pd.DatetimeIndex(parsed)
        except Exception:
            return pd.DatetimeIndex([pd.NaT] * len(strings), tz="UTC" if utc else None)


def _ns_values(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC wall-clock datetime64[ns] values; instants ns cannot hold become NaT."""
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    values = index.to_numpy()
    if values.dtype == _NAT.dtype:
        return values.copy()
    values = values.astype("datetime64[us]")
    values[(values < _NS_LO) | (values > _NS_HI)] = _NAT
    return values.astype(_NAT.dtype)


def _parse_rest(strings: list[str], zones: list[object]) -> np.ndarray:
    """The strings the fast format refused: other ISO 8601 forms and the naive old-API form."""
    result = np.full(len(strings), _NAT)
    aware: list[int] = []
    naive_by_zone: dict[object, list[int]] = {}
    stripped = [s.strip() for s in strings]
    for position, text in enumerate(stripped):
        match = _TIMESTAMP_RE.fullmatch(text)
        if match is None:
            continue
        if match.group(1):
            aware.append(position)
        else:
            naive_by_zone.setdefault(zones[position], []).append(position)
    if aware:
        parsed = _to_index([stripped[p] for p in aware], utc=True, fmt="ISO8601")
        result[aware] = _ns_values(parsed)
    for tz, positions in naive_by_zone.items():
        zone = _zone_for(tz)
        if zone is None:
            continue
        parsed = _to_index([stripped[p] for p in positions], utc=False, fmt="ISO8601")
        try:
            # In the repeated autumn hour take the first (daylight) instant; a time skipped by
            # the spring change is read as the first valid instant after it.
            local = parsed.tz_localize(
                zone, ambiguous=np.ones(len(positions), dtype=bool), nonexistent="shift_forward"
            )
        except Exception:  # e.g. a local time at the edge of the representable range
            continue
        result[positions] = _ns_values(local)
    return result


def _timestamp_array(raw: Sequence[object], tz: object = None) -> Any:
    """UTC datetimes from raw values; ``tz`` is the zone of naive strings, or one per value."""
    kinds = _kinds(raw)
    if kinds <= {_NONE}:  # a field this tenant does not send: skip the parser
        return pd.array(np.full(len(raw), _NAT)).tz_localize("UTC")
    if kinds <= _TEXT_KINDS:
        strings: Sequence[str | None] = raw  # type: ignore[assignment]
    else:
        strings = [v if type(v) is str else None for v in raw]
    values = _ns_values(_to_index(strings, utc=True, fmt=_AWARE_FORMAT))
    present = np.not_equal(_object_array(strings), None)
    failed = np.flatnonzero(np.isnat(values) & present)
    if len(failed):
        zones = [tz[i] for i in failed] if isinstance(tz, list) else [tz] * len(failed)
        values[failed] = _parse_rest([strings[i] for i in failed], zones)  # type: ignore[misc]
    return pd.array(values).tz_localize("UTC")


def _as_utc(value: object) -> pd.Timestamp | None:
    """A caller's datetime (naive means UTC) as a UTC Timestamp, None if it is not one."""
    if not isinstance(value, datetime) or value is pd.NaT:
        return None
    try:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except Exception:
        return None
    if not pd.Timestamp(_NS_LO, tz="UTC") <= stamp <= pd.Timestamp(_NS_HI, tz="UTC"):
        return None
    return stamp.as_unit("ns")


def parse_timestamp(value: object, tz: str | None = None) -> pd.Timestamp | None:
    """A tz-aware UTC Timestamp from an API timestamp, or None; never raises.

    Accepts ISO 8601 with a colon-less offset (``2020-07-06T13:11:06+1000``, activities), a colon
    offset or ``Z`` (campaign statistics), and the older API's naive ``YYYY-MM-DD hh:mm:ss``, which
    is local time in ``tz`` (the tenant's zone; None means UTC, an unknown zone gives None).
    Instants outside what a ns-resolution frame column holds (years 1678-2261) give None too.
    """
    if isinstance(value, datetime):
        if value is pd.NaT:
            return None
        if value.tzinfo is not None:
            return _as_utc(value)
        value = value.isoformat(sep=" ")
    if not isinstance(value, str):
        return None
    try:
        stamp = _timestamp_array([str(value)], tz)[0]
    except Exception:  # belt and braces: the contract is "never raises"
        return None
    return None if stamp is pd.NaT else stamp


# --------------------------------------------------------------------------- frame assembly


def _records(items: object, counts: Counter[str]) -> Iterable[object]:
    # Strings and mappings are iterable but are never a list of records (e.g. a whole response
    # body passed by mistake): refuse them rather than reading keys or characters as records.
    # An iterator that raises (a failing page fetch) is the caller's error and propagates.
    if items is None or isinstance(items, (str, bytes, bytearray, Mapping)):
        counts[NOT_A_LIST] += 1
        return ()
    try:
        iter(items)  # type: ignore[call-overload]
    except TypeError:
        counts[NOT_A_LIST] += 1
        return ()
    return items  # type: ignore[return-value]


def _columns(rows: list[tuple[object, ...]], width: int) -> list[Sequence[object]]:
    return list(zip(*rows, strict=True)) if rows else [()] * width


def _frame(feed: str, columns: dict[str, Any], counts: Counter[str]) -> pd.DataFrame:
    frame = pd.DataFrame({name: columns[name] for name in FEED_COLUMNS[feed]})
    frame.attrs["dropped"] = dict(counts)
    return frame


def dropped(frame: pd.DataFrame) -> dict[str, int]:
    """Why records were left out of ``frame``: reason -> count, {} if none were."""
    reasons = getattr(frame, "attrs", {}).get("dropped")
    if not isinstance(reasons, dict):
        return {}
    return {
        str(reason): count
        for reason, count in reasons.items()
        if isinstance(count, int) and not isinstance(count, bool)
    }


# ------------------------------------------------------------------------------------ feeds


def campaigns_frame(stats: Iterable[object], *, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per campaign-statistics object.

    ``as_of`` is the record's ``timestamp`` (naive form read in the record's ``timezone``), else
    the ``as_of`` argument (naive means UTC). ``calls_abandoned`` adds the abandoned-in-workflow
    and abandoned-in-queue counters, and is <NA> only when both are unknown.
    """
    dropped_: Counter[str] = Counter()
    rows = []
    append = rows.append
    for record in _records(stats, dropped_):
        if not isinstance(record, dict):
            dropped_[NOT_AN_OBJECT] += 1
            continue
        campaign_id = _integer(record.get("campaignId"))
        if campaign_id is None:
            dropped_[NO_CAMPAIGN_ID] += 1
            continue
        agents = record.get("agents")
        if not isinstance(agents, dict):
            agents = _EMPTY
        timezone = record.get("timezone")
        append(
            (
                campaign_id,
                record.get("campaignName"),
                record.get("estimatedCallWaitingTime"),
                record.get("maxCallWaitingTime"),
                record.get("averageWaitingTime"),
                record.get("callsWaiting"),
                record.get("callsReceived"),
                record.get("callsAbandonedInWorkflow"),
                record.get("callsAbandonedInQueue"),
                record.get("callsAnswered"),
                agents.get("loggedIn"),
                agents.get("available"),
                agents.get("busy"),
                agents.get("wrap"),
                agents.get("paused"),
                record.get("isActive"),
                timezone,
                record.get("timestamp"),
                timezone if isinstance(timezone, str) else None,
            )
        )
    (
        ids, names, ewt, max_wait, avg_wait, waiting, received, ab_workflow, ab_queue, answered,
        logged_in, available, busy, wrap, paused, active, timezones, stamps, zones,
    ) = _columns(rows, 19)  # fmt: skip

    in_workflow, in_queue = _count_array(ab_workflow), _count_array(ab_queue)
    abandoned = in_workflow.fillna(0) + in_queue.fillna(0)
    abandoned[in_workflow.isna() & in_queue.isna()] = pd.NA

    as_of_column = _timestamp_array(stamps, list(zones))
    fallback = _as_utc(as_of)
    if fallback is not None:
        as_of_column = as_of_column.fillna(fallback)

    return _frame(
        "campaigns",
        {
            "campaign_id": _int_array(ids),
            "campaign_name": _str_array(names),
            "ewt_s": _float_array(ewt),
            "max_wait_s": _float_array(max_wait),
            "avg_wait_s": _float_array(avg_wait),
            "calls_waiting": _count_array(waiting),
            "calls_received": _count_array(received),
            "calls_abandoned": abandoned,
            "calls_answered": _count_array(answered),
            "agents_logged_in": _count_array(logged_in),
            "agents_available": _count_array(available),
            "agents_busy": _count_array(busy),
            "agents_wrap": _count_array(wrap),
            "agents_paused": _count_array(paused),
            "is_active": _bool_array(active),
            "timezone": _str_array(timezones),
            "as_of": as_of_column,
        },
        dropped_,
    )


def agents_frame(items: Iterable[object], *, now: datetime) -> pd.DataFrame:
    """One row per agent-status item; ``time_in_state_s`` = ``now`` - ``stateSince``, >= 0.

    ``campaign_ids`` is a tuple of the valid ids listed (empty when the field is missing or not
    a list, so that filtering code can always iterate it).
    """
    dropped_: Counter[str] = Counter()
    rows = []
    append = rows.append
    for item in _records(items, dropped_):
        if not isinstance(item, dict):
            dropped_[NOT_AN_OBJECT] += 1
            continue
        agent_id = _integer(item.get("agentId"))
        if agent_id is None:
            dropped_[NO_AGENT_ID] += 1
            continue
        append(
            (
                agent_id,
                item.get("agentFullName"),
                item.get("state"),
                item.get("stateSince"),
                _pause_title(item.get("pauseReason")),
                _id_tuple(item.get("campaignIds")),
            )
        )
    ids, names, states, since, pauses, campaigns = _columns(rows, 6)

    since_column = _timestamp_array(since)
    now_utc = _as_utc(now)
    if now_utc is None:
        elapsed = _float_array([None] * len(rows))
    else:
        seconds = (now_utc - pd.Series(since_column)).dt.total_seconds().to_numpy()
        elapsed = _float_array(np.clip(seconds, 0.0, None).tolist())

    return _frame(
        "agents",
        {
            "agent_id": _int_array(ids),
            "agent_name": _str_array(names),
            "state": _str_array(states),
            "state_since": since_column,
            "time_in_state_s": elapsed,
            "pause_reason": _strings(list(pauses)),
            "campaign_ids": _object_array(campaigns),
        },
        dropped_,
    )


def _get(records: list[dict[str, Any]], key: str) -> list[Any]:
    """One field of every record, missing as None (a C-level loop: no Python per record)."""
    return list(map(dict.get, records, repeat(key)))


def _objects(values: list[Any]) -> list[dict[str, Any]]:
    """Nested objects, with anything that is not one read as an empty object."""
    empty = _EMPTY
    return [v if type(v) is dict or isinstance(v, dict) else empty for v in values]


def _count(dropped_: Counter[str], reason: str, count: int) -> None:
    if count:
        dropped_[reason] += count


def _activity_datas(
    items: object, dropped_: Counter[str], only_type: str | None = None
) -> tuple[list[dict[str, Any]], list[object]]:
    """(data dicts, types) of the activity items, optionally of one type only."""
    records = list(_records(items, dropped_))
    if not _kinds(records) <= {dict}:
        everything = records
        records = [r for r in everything if isinstance(r, dict)]
        _count(dropped_, NOT_AN_OBJECT, len(everything) - len(records))
    types = _get(records, "type")
    if only_type is not None:
        wanted = [t == only_type for t in types]
        records, types = list(compress(records, wanted)), list(compress(types, wanted))
    datas = _get(records, "data")
    if not _kinds(datas) <= {dict}:
        usable = [isinstance(d, dict) for d in datas]
        _count(dropped_, NO_DATA_OBJECT, len(usable) - sum(usable))
        datas, types = list(compress(datas, usable)), list(compress(types, usable))
    return datas, types


def _identified(
    datas: list[dict[str, Any]], types: list[object], dropped_: Counter[str]
) -> tuple[Any, list[dict[str, Any]], list[object]]:
    """(activity ids, datas, types) without the activities that have no usable id."""
    ids = _int_array(_get(datas, "activityId"))
    missing = ids.isna()
    if missing.any():
        _count(dropped_, NO_ACTIVITY_ID, int(missing.sum()))
        keep = ~missing
        ids = ids[keep]
        datas, types = list(compress(datas, keep)), list(compress(types, keep))
    return ids, datas, types


def activities_frame(items: Iterable[object]) -> pd.DataFrame:
    """One row per activity item ``{"type", "data"}``, unknown types included.

    ``status`` is ``activityStatusName`` (inbound) or ``dialStatusName`` (outbound); ``raw`` is
    the item's original ``data`` dict, for showing unknown types in a drill-down.
    """
    dropped_: Counter[str] = Counter()
    ids, datas, types = _identified(*_activity_datas(items, dropped_), dropped_)
    durations = _objects(_get(datas, "durations"))
    stamps = _objects(_get(datas, "timestamps"))
    statuses = [
        status if type(status) is str or dial is None else dial
        for status, dial in zip(
            _get(datas, "activityStatusName"), _get(datas, "dialStatusName"), strict=True
        )
    ]
    has_voicemail = [
        False if v is None or (type(v) is list and not v) else _has_voicemail(v)
        for v in _get(datas, "voicemailMetadata")
    ]
    return _frame(
        "activities",
        {
            "activity_id": ids,
            "type": _str_array(types),
            "campaign_id": _int_array(_get(datas, "campaignId")),
            "campaign_name": _str_array(_get(datas, "campaignName")),
            "agent_id": _int_array(_get(datas, "agentId")),
            "agent_name": _str_array(_get(datas, "agentFullName")),
            "status": _str_array(statuses),
            "created_at": _timestamp_array(_get(stamps, "created")),
            "answered_at": _timestamp_array(_get(stamps, "answered")),
            "hangup_at": _timestamp_array(_get(stamps, "hangUp")),
            "lead_id": _int_array(_get(datas, "leadId")),
            "source": _str_array(_get(datas, "source")),
            "destination": _str_array(_get(datas, "destination")),
            "parent_activity_id": _int_array(_get(datas, "parentActivityId")),
            "root_activity_id": _int_array(_get(datas, "rootActivityId")),
            "queue_s": _float_array(_get(durations, "queue")),
            "talk_s": _float_array(_get(durations, "talk")),
            "hold_s": _float_array(_get(durations, "hold")),
            "wrap_s": _float_array(_get(durations, "wrap")),
            "interaction_s": _float_array(_get(durations, "interaction")),
            "has_voicemail": pd.array(has_voicemail, dtype="boolean"),
            "raw": _object_array(datas),
        },
        dropped_,
    )


def activity_id(item: object) -> int | None:
    """The ``activity_id`` the activity builders give ``item``, None when they would drop it
    (not an object, no data object, no usable id), so callers can key items as the frames do."""
    if not isinstance(item, dict):
        return None
    data = item.get("data")
    return _integer(data.get("activityId")) if isinstance(data, dict) else None


def voicemail_frame(items: Iterable[object]) -> pd.DataFrame:
    """One row per entry of an activity's ``voicemailMetadata`` (two voicemails, two rows).

    Activities of any type count; those without voicemail are not rows (and not "dropped").
    """
    dropped_: Counter[str] = Counter()
    datas, _ = _activity_datas(items, dropped_)
    candidates = [d for d, v in zip(datas, _get(datas, "voicemailMetadata"), strict=True) if v]
    rows = []
    for data in candidates:
        voicemails = data["voicemailMetadata"]
        if not isinstance(voicemails, list):
            dropped_[VOICEMAIL_NOT_A_LIST] += 1
            continue
        activity_id = _integer(data.get("activityId"))
        if activity_id is None:
            dropped_[NO_ACTIVITY_ID] += 1
            continue
        stamps = data.get("timestamps")
        created = stamps.get("created") if isinstance(stamps, dict) else None
        for voicemail in voicemails:
            if not isinstance(voicemail, dict):
                dropped_[VOICEMAIL_NOT_AN_OBJECT] += 1
                continue
            rows.append(
                (
                    activity_id,
                    _id_text(voicemail.get("mediaId")),
                    created,
                    data.get("source"),
                    data.get("campaignId"),
                    data.get("campaignName"),
                    data.get("agentId"),
                    voicemail.get("duration"),
                    voicemail.get("mediaUri"),
                )
            )
    ids, media_ids, created, callers, campaign_ids, campaign_names, agent_ids, durations, uris = (
        _columns(rows, 9)
    )
    return _frame(
        "voicemail",
        {
            "activity_id": _int_array(ids),
            "media_id": _strings(media_ids),
            "received_at": _timestamp_array(created),
            "caller": _str_array(callers),
            "campaign_id": _int_array(campaign_ids),
            "campaign_name": _str_array(campaign_names),
            "agent_id": _int_array(agent_ids),
            "duration_s": _float_array(durations),
            "media_uri": _str_array(uris),
        },
        dropped_,
    )


def transfers_frame(items: Iterable[object]) -> pd.DataFrame:
    """One row per activity with a ``parentActivityId`` (the leg transferred from the parent).

    The "from" agent and campaign come from the parent activity when it is among ``items``,
    else they are <NA>; the "to" side and ``talk_s`` come from the child.
    """
    dropped_: Counter[str] = Counter()
    datas, _ = _activity_datas(items, dropped_)
    ids = _int_array(_get(datas, "activityId"))
    known = ~ids.isna()
    by_id = dict(
        compress(zip(ids.to_numpy(dtype=np.int64, na_value=0).tolist(), datas, strict=True), known)
    )
    is_child = np.array([p is not None for p in _get(datas, "parentActivityId")], dtype=bool)
    _count(dropped_, NO_ACTIVITY_ID, int((is_child & ~known).sum()))
    children = list(compress(datas, is_child & known))
    parent_ids = _int_array(_get(children, "parentActivityId"))
    orphans = parent_ids.isna()
    if orphans.any():
        _count(dropped_, NO_PARENT_ACTIVITY_ID, int(orphans.sum()))
        children = list(compress(children, ~orphans))
        parent_ids = parent_ids[~orphans]
    parents = [by_id.get(p, _EMPTY) for p in parent_ids.to_numpy(dtype=np.int64).tolist()]

    return _frame(
        "transfers",
        {
            "activity_id": _int_array(_get(children, "activityId")),
            "parent_activity_id": parent_ids,
            "root_activity_id": _int_array(_get(children, "rootActivityId")),
            "transferred_at": _timestamp_array(
                _get(_objects(_get(children, "timestamps")), "created")
            ),
            "from_agent": _str_array(_get(parents, "agentFullName")),
            "to_agent": _str_array(_get(children, "agentFullName")),
            "from_agent_id": _int_array(_get(parents, "agentId")),
            "to_agent_id": _int_array(_get(children, "agentId")),
            "from_campaign": _str_array(_get(parents, "campaignName")),
            "to_campaign": _str_array(_get(children, "campaignName")),
            "from_campaign_id": _int_array(_get(parents, "campaignId")),
            "to_campaign_id": _int_array(_get(children, "campaignId")),
            "talk_s": _float_array(_get(_objects(_get(children, "durations")), "talk")),
        },
        dropped_,
    )


def dial_attempts_frame(items: Iterable[object]) -> pd.DataFrame:
    """One row per ``call.outbound`` activity (a dial attempt); other types are skipped."""
    dropped_: Counter[str] = Counter()
    ids, datas, _ = _identified(*_activity_datas(items, dropped_, _OUTBOUND), dropped_)
    return _frame(
        "dial-attempts",
        {
            "lead_id": _int_array(_get(datas, "leadId")),
            "attempt_id": _int_array(_get(datas, "attemptId")),
            "activity_id": ids,
            "phone_index": _int_array(_get(datas, "phoneIndex"), lo=1, hi=3),
            "phone_number": _str_array(_get(datas, "phoneNumber")),
            "dial_status": _str_array(_get(datas, "dialStatusName")),
            "campaign_id": _int_array(_get(datas, "campaignId")),
            "agent_id": _int_array(_get(datas, "agentId")),
            "created_at": _timestamp_array(_get(_objects(_get(datas, "timestamps")), "created")),
            "dial_s": _float_array(_get(_objects(_get(datas, "durations")), "dial")),
        },
        dropped_,
    )


FEED_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "campaigns": campaigns_frame,
    "agents": agents_frame,
    "voicemail": voicemail_frame,
    "transfers": transfers_frame,
    "dial-attempts": dial_attempts_frame,
    "activities": activities_frame,
}


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
