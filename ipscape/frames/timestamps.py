"""The tenant's timestamps -> UTC ``datetime64[ns, UTC]`` values; never raises.

Columns are parsed vectorised with one strict format (ISO 8601 with a colon-less offset, what
activities send), and only the values it refuses are read again: other ISO 8601 forms, and the
older API's naive ``YYYY-MM-DD hh:mm:ss`` in the tenant's zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ipscape.frames.values import NONE, NULL, TEXT_KINDS, kinds, object_array

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


def timestamp_array(raw: Sequence[object], tz: object = None) -> Any:
    """UTC datetimes from raw values; ``tz`` is the zone of naive strings, or one per value."""
    found = kinds(raw)
    if found <= {NONE}:  # a field this tenant does not send: skip the parser
        return pd.array(np.full(len(raw), _NAT)).tz_localize("UTC")
    if found <= TEXT_KINDS:
        strings: Sequence[str | None] = raw  # type: ignore[assignment]
    else:
        strings = [v if type(v) is str else None for v in raw]
    values = _ns_values(_to_index(strings, utc=True, fmt=_AWARE_FORMAT))
    present = np.not_equal(object_array(strings), NULL)
    failed = np.flatnonzero(np.isnat(values) & present).tolist()
    if failed:
        zones = [tz[i] for i in failed] if isinstance(tz, list) else [tz] * len(failed)
        values[failed] = _parse_rest([str(strings[i]) for i in failed], zones)
    return pd.array(values).tz_localize("UTC")


def as_utc(value: object) -> pd.Timestamp | None:
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
            return as_utc(value)
        value = value.isoformat(sep=" ")
    if not isinstance(value, str):
        return None
    try:
        stamp = timestamp_array([str(value)], tz)[0]
    except Exception:  # belt and braces: the contract is "never raises"
        return None
    return None if stamp is pd.NaT else stamp
