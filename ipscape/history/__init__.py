"""History of the live feeds, so trend charts survive a restart and past days stay reachable.

The collector appends every fresh campaign-statistics frame, the agent counts by state and the
activities each fetch added or changed, on its refresh path; pages read bounded, typed frames
back (drill-down reads past days' activities here instead of asking the tenant). SQLite (WAL,
one write and one read connection) is the default store; anything that satisfies
``HistoryStore`` can replace it.

History is a convenience next to the live tiles, so a broken store (a full disk, a folder that
cannot exist, a damaged file) must never take a screen down: the dashboard wraps its store in
`ResilientHistory`, which never raises, records why it is not recording and since when, and
tries again by itself every ``RETRY_S``.

This module holds what every store shares: the ``HistoryStore`` protocol and its status, the
limits, and how frames become stored rows and rows typed frames again (ipscape/pgstore/history.py
stores the same rows in PostgreSQL). The stores: `SQLiteHistory` in ipscape/history/sqlite.py,
`ResilientHistory` in ipscape/history/resilient.py; both are imported from here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ipscape import frames
from ipscape.states import state_counts

__all__ = [
    "ACTIVITY_TABLE_COLUMNS",
    "AGENT_STATE_COLUMNS",
    "CAMPAIGN_COLUMNS",
    "CLOSED",
    "MAX_ACTIVITY_ROWS",
    "MAX_POINTS",
    "MAX_RAW_JSON_CHARS",
    "PRUNE_EVERY_S",
    "RECORDING",
    "RETRY_S",
    "HistoryStatus",
    "HistoryStore",
    "ResilientHistory",
    "SQLiteHistory",
    "activity_conditions",
    "activity_rows",
    "agent_state_rows",
    "campaign_rows",
    "empty_activity_history",
    "empty_agent_state_history",
    "empty_campaign_history",
    "epoch_ms",
    "failure_reason",
    "period_condition",
    "thinning_bucket_ms",
    "typed_activities",
    "typed_campaigns",
    "typed_states",
]

CAMPAIGN_COLUMNS = (
    "at",
    "campaign_id",
    "campaign_name",
    "ewt_s",
    "max_wait_s",
    "calls_waiting",
    "agents_available",
)
AGENT_STATE_COLUMNS = ("at", "state", "agents")
# A chart never needs more points than this; longer ranges are thinned evenly in time.
MAX_POINTS = 5000
# Pruning is a DELETE over an index: cheap, but pointless more often than this.
PRUNE_EVERY_S = 300.0
# An activities read returns at most this many rows (the newest) unless asked for fewer.
MAX_ACTIVITY_ROWS = 50_000
# An unknown type's raw data longer than this (as JSON) is not kept: a tenant cannot fill the
# disk through one odd record.
MAX_RAW_JSON_CHARS = 64 * 1024

# How activities_frame's columns are stored: (frame column, table column, kind). Times are
# nanoseconds since the epoch (exactly what the frame holds), booleans 0/1.
_ACTIVITY_STORAGE = (
    ("activity_id", "activity_id", "int"),
    ("type", "type", "text"),
    ("campaign_id", "campaign_id", "int"),
    ("campaign_name", "campaign_name", "text"),
    ("agent_id", "agent_id", "int"),
    ("agent_name", "agent_name", "text"),
    ("status", "status", "text"),
    ("created_at", "created_ns", "time"),
    ("queued_at", "queued_ns", "time"),
    ("answered_at", "answered_ns", "time"),
    ("hangup_at", "hangup_ns", "time"),
    ("lead_id", "lead_id", "int"),
    ("source", "source", "text"),
    ("destination", "destination", "text"),
    ("parent_activity_id", "parent_activity_id", "int"),
    ("root_activity_id", "root_activity_id", "int"),
    ("queue_s", "queue_s", "float"),
    ("talk_s", "talk_s", "float"),
    ("hold_s", "hold_s", "float"),
    ("wrap_s", "wrap_s", "float"),
    ("interaction_s", "interaction_s", "float"),
    ("has_voicemail", "has_voicemail", "bool"),
    ("raw", "raw", "json"),
)
ACTIVITY_TABLE_COLUMNS = ("at_ns", *(stored for _, stored, _ in _ACTIVITY_STORAGE))
_ACTIVITY_DTYPES = frames.activities_frame([]).dtypes.to_dict()


@dataclass(frozen=True)
class HistoryStatus:
    """Whether history is being recorded; when not, why (words safe to show) and since when."""

    recording: bool
    reason: str | None = None
    since: datetime | None = None  # UTC, the first failure of this spell


RECORDING = HistoryStatus(recording=True)
CLOSED = HistoryStatus(recording=False, reason="the history store is closed")


class HistoryStore(Protocol):
    """What the pollers and pages need from a history store (SQLite here, a server DB later)."""

    def status(self) -> HistoryStatus: ...

    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None: ...

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None: ...

    def campaign_history(
        self,
        since: datetime,
        campaign_ids: Sequence[int] | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame: ...

    def agent_state_history(
        self, since: datetime, until: datetime | None = None
    ) -> pd.DataFrame: ...

    def append_activities(self, frame: pd.DataFrame) -> None: ...

    def activity_history(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        campaign_id: int | None = None,
        agent_id: int | None = None,
        lead_id: int | None = None,
        activity_type: str | None = None,
        limit: int = MAX_ACTIVITY_ROWS,
    ) -> pd.DataFrame: ...

    def prune(self, now: datetime | None = None) -> int: ...

    def close(self) -> None: ...


def epoch_ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    return round(value.timestamp() * 1000)


def _value(value: Any, kind: type) -> Any:
    """A SQLite-ready number, or None for anything unknown (NA stays unknown, never 0)."""
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _ns(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    return int(pd.Timestamp(value).as_unit("ns").value)


def empty_campaign_history() -> pd.DataFrame:
    return typed_campaigns(pd.DataFrame(columns=list(CAMPAIGN_COLUMNS)))


def empty_agent_state_history() -> pd.DataFrame:
    return typed_states(pd.DataFrame(columns=list(AGENT_STATE_COLUMNS)))


def typed_campaigns(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype(
        {
            "campaign_id": "Int64",
            "campaign_name": "string",
            "ewt_s": "Float64",
            "max_wait_s": "Float64",
            "calls_waiting": "Int64",
            "agents_available": "Int64",
        }
    )
    out["at"] = pd.to_datetime(frame["at"].astype("Int64"), unit="ms", utc=True)
    return out[list(CAMPAIGN_COLUMNS)]


def typed_states(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype({"state": "string", "agents": "Int64"})
    out["at"] = pd.to_datetime(frame["at"].astype("Int64"), unit="ms", utc=True)
    return out[list(AGENT_STATE_COLUMNS)]


def empty_activity_history() -> pd.DataFrame:
    return typed_activities([])


_STORED_TYPES: dict[str, tuple[str, type]] = {
    "int": ("Int64", int),
    "float": ("Float64", float),
    "text": ("string", str),
    "bool": ("boolean", bool),
}


def _stored_values(series: pd.Series, kind: str) -> list[Any]:
    """One frame column as SQLite values: Python ints, floats, str or None (never NA or numpy
    scalars, which sqlite3 refuses)."""
    if kind == "time":
        stamps = pd.to_datetime(series, utc=True, errors="coerce").dt.tz_localize(None)
        ns = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).astype(object)
        ns[stamps.isna().to_numpy()] = None
        return ns.tolist()
    dtype, python_type = _STORED_TYPES[kind]
    try:
        typed = series.astype(dtype)
    except (TypeError, ValueError):  # not typed like activities_frame: value by value
        return [_value(v, python_type) for v in series]
    return typed.to_numpy(dtype=object, na_value=None).tolist()


def _raw_json(value: object) -> str | None:
    if not isinstance(value, dict | list):
        return None
    try:
        text = json.dumps(value, default=str)  # ASCII: lone surrogates survive as escapes
    except (TypeError, ValueError, RecursionError):
        return None
    return text if len(text) <= MAX_RAW_JSON_CHARS else None


def typed_activities(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of ACTIVITY_TABLE_COLUMNS (at_ns first, then the stored columns) as a frame typed
    exactly like frames.activities_frame's."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(ACTIVITY_TABLE_COLUMNS)
    out: dict[str, Any] = {}
    for (name, _, kind), values in zip(_ACTIVITY_STORAGE, columns[1:], strict=True):
        if kind == "time":
            ns = np.array([np.iinfo(np.int64).min if v is None else v for v in values], np.int64)
            out[name] = pd.array(ns.view("datetime64[ns]")).tz_localize("UTC")
        elif kind == "json":
            out[name] = np.fromiter(map(_parsed_raw, values), dtype=object, count=len(values))
        elif kind == "bool":
            out[name] = pd.array([None if v is None else bool(v) for v in values], "boolean")
        else:
            out[name] = pd.array(list(values), dtype=_ACTIVITY_DTYPES[name])
    return pd.DataFrame(out, columns=frames.FEED_COLUMNS["activities"])


def _parsed_raw(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def campaign_rows(frame: pd.DataFrame | None, at: datetime) -> list[tuple[Any, ...]]:
    """One stored row per identified campaign at ``at``: (at_ms, campaign_id, name, ewt_s,
    max_wait_s, calls_waiting, agents_available), unknown values None."""
    if frame is None or not len(frame) or "campaign_id" not in frame.columns:
        return []
    at_ms = epoch_ms(at)
    rows = []
    for record in frame.to_dict("records"):
        campaign_id = _value(record.get("campaign_id"), int)
        if campaign_id is None:
            continue
        name = record.get("campaign_name")
        rows.append(
            (
                at_ms,
                campaign_id,
                None if name is None or name is pd.NA else str(name),
                _value(record.get("ewt_s"), float),
                _value(record.get("max_wait_s"), float),
                _value(record.get("calls_waiting"), int),
                _value(record.get("agents_available"), int),
            )
        )
    return rows


def agent_state_rows(frame: pd.DataFrame | None, at: datetime) -> list[tuple[Any, ...]]:
    """(at_ms, state, agents) per state group, none for an empty frame. A tenant without agent
    status is not recorded at all: the collector skips its agents feed (ipscape/collector.py)."""
    if frame is None or "state" not in frame.columns:
        return []
    at_ms = epoch_ms(at)
    return [(at_ms, state, int(n)) for state, n in state_counts(frame["state"]).items()]


def activity_rows(frame: pd.DataFrame | None, now_ns: int) -> list[tuple[Any, ...]]:
    """Rows of ACTIVITY_TABLE_COLUMNS for activities typed like frames.activities_frame (those
    without an id left out); an activity without a creation time is filed at ``now_ns``."""
    if frame is None or not len(frame) or "activity_id" not in frame.columns:
        return []
    stored: dict[str, list[Any]] = {}
    for name, column, kind in _ACTIVITY_STORAGE:
        if name in frame.columns and kind != "json":
            stored[column] = _stored_values(frame[name], kind)
        else:
            stored[column] = [None] * len(frame)
    if "raw" in frame.columns:
        # Raw data is kept only for the types the columns do not describe (as the activity
        # window does): for those it is all drill-down can show, while a call's raw JSON
        # (~2 KiB) would be most of the file and hold nothing the columns lack.
        stored["raw"] = [
            None if kind in frames.KNOWN_ACTIVITY_TYPES else _raw_json(raw)
            for kind, raw in zip(stored["type"], frame["raw"].tolist(), strict=True)
        ]
    stored["at_ns"] = [now_ns if c is None else c for c in stored["created_ns"]]
    return [
        row
        for row in zip(*(stored[c] for c in ACTIVITY_TABLE_COLUMNS), strict=True)
        if row[1] is not None  # activity_id
    ]


def period_condition(
    since: datetime, until: datetime | None, placeholder: str
) -> tuple[str, list[Any]]:
    """The WHERE condition (and its parameters) of rows ``at`` in [since, until)."""
    if until is None:
        return f"at_ms >= {placeholder}", [epoch_ms(since)]
    return f"at_ms >= {placeholder} AND at_ms < {placeholder}", [epoch_ms(since), epoch_ms(until)]


def thinning_bucket_ms(count: int, moments: int, lo: int, hi: int, max_points: int) -> int:
    """The time bucket that thins ``count`` rows over ``moments`` distinct times from ``lo`` to
    ``hi`` (ms) to about ``max_points``: one row per series per bucket is kept."""
    per_moment = count / max(moments, 1)
    buckets = max(1, int(max_points / per_moment))
    return max(1, math.ceil((hi - lo + 1) / buckets))


def activity_conditions(
    since: datetime,
    until: datetime | None = None,
    *,
    campaign_id: int | None = None,
    agent_id: int | None = None,
    lead_id: int | None = None,
    activity_type: str | None = None,
    placeholder: str = "?",
) -> tuple[list[str], list[Any]]:
    """An activity_history read's WHERE conditions (joined by AND) and their parameters."""
    where = [f"at_ns >= {placeholder}"]
    params: list[Any] = [_ns(since)]
    if until is not None:
        where.append(f"at_ns < {placeholder}")
        params.append(_ns(until))
    for column, value in (
        ("campaign_id", campaign_id),
        ("agent_id", agent_id),
        ("lead_id", lead_id),
    ):
        if value is not None:
            where.append(f"{column} = {placeholder}")
            params.append(int(value))
    if activity_type is not None:
        where.append(f"type = {placeholder}")
        params.append(str(activity_type))
    return where, params


# The stores, imported after the vocabulary above, which they import from this package.
from ipscape.history.resilient import RETRY_S, ResilientHistory, failure_reason  # noqa: E402
from ipscape.history.sqlite import SQLiteHistory  # noqa: E402
