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
"""

from __future__ import annotations

import errno
import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ipscape import frames
from ipscape.states import state_counts

log = logging.getLogger(__name__)

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
# A failed store is opened (or written) again after this long, on whichever call comes next.
RETRY_S = 30.0
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS campaign_history (
    at_ms INTEGER NOT NULL,
    campaign_id INTEGER NOT NULL,
    campaign_name TEXT,
    ewt_s REAL,
    max_wait_s REAL,
    calls_waiting INTEGER,
    agents_available INTEGER,
    PRIMARY KEY (campaign_id, at_ms)
);
CREATE INDEX IF NOT EXISTS campaign_history_at ON campaign_history (at_ms);
CREATE TABLE IF NOT EXISTS agent_state_history (
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    agents INTEGER NOT NULL,
    PRIMARY KEY (at_ms, state)
);
-- One row per activity, its latest version. at_ns is when it was created, or for an activity
-- sent without a creation time, when it was recorded: retention and time ranges go by it.
-- raw is JSON for the types the columns do not describe, else NULL (see append_activities).
CREATE TABLE IF NOT EXISTS activity_history (
    activity_id INTEGER PRIMARY KEY,
    at_ns INTEGER NOT NULL,
    type TEXT,
    campaign_id INTEGER,
    campaign_name TEXT,
    agent_id INTEGER,
    agent_name TEXT,
    status TEXT,
    created_ns INTEGER,
    answered_ns INTEGER,
    hangup_ns INTEGER,
    lead_id INTEGER,
    source TEXT,
    destination TEXT,
    parent_activity_id INTEGER,
    root_activity_id INTEGER,
    queue_s REAL,
    talk_s REAL,
    hold_s REAL,
    wrap_s REAL,
    interaction_s REAL,
    has_voicemail INTEGER,
    raw TEXT
);
CREATE INDEX IF NOT EXISTS activity_history_at ON activity_history (at_ns);
CREATE INDEX IF NOT EXISTS activity_history_campaign ON activity_history (campaign_id, at_ns);
CREATE INDEX IF NOT EXISTS activity_history_agent ON activity_history (agent_id, at_ns);
CREATE INDEX IF NOT EXISTS activity_history_lead ON activity_history (lead_id, at_ns);
"""


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
        self, since: datetime, campaign_ids: Sequence[int] | None = None
    ) -> pd.DataFrame: ...

    def agent_state_history(self, since: datetime) -> pd.DataFrame: ...

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
    """(at_ms, state, agents) per state group; none for a tenant without agent status."""
    if frame is None or "state" not in frame.columns or frame.attrs.get("unavailable"):
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


class SQLiteHistory:
    """History in one SQLite file. Thread-safe; writes and reads use separate connections so a
    trend chart being read never waits on an append (WAL lets readers run beside the writer)."""

    def __init__(
        self,
        path: str | Path,
        retention_days: float,
        *,
        clock: Callable[[], float] | None = None,
        max_points: int = MAX_POINTS,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("retention_days must be > 0")
        self.path = Path(path)
        self.retention_s = retention_days * 86400.0
        self.max_points = max_points
        self._clock = clock or time.time
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._writer = self._connect()
        self._closed = False
        self._last_prune = -math.inf
        try:
            with self._write_lock:
                self._writer.execute("PRAGMA journal_mode=WAL")
                self._writer.execute("PRAGMA synchronous=NORMAL")
                self._writer.executescript(_SCHEMA)
            self._reader = self._connect()
            self.prune()
        except BaseException:
            # A store that cannot open is retried for weeks: never leave a connection behind.
            self._writer.close()
            if hasattr(self, "_reader"):
                self._reader.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    # -- writes (poller refresh path) ----------------------------------------------------------
    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None:
        """One row per campaign at ``at``; a second append for the same moment is ignored."""
        self._write(
            "campaign_history", "(?, ?, ?, ?, ?, ?, ?)", campaign_rows(frame, at), epoch_ms(at)
        )

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None:
        """Agents counted by state at ``at`` (from the agent-status frame), a tenant's many
        other state names grouped, so a moment is a handful of rows whatever the tenant says."""
        self._write("agent_state_history", "(?, ?, ?)", agent_state_rows(frame, at), epoch_ms(at))

    def _write(self, table: str, values: str, rows: list[tuple[Any, ...]], at_ms: int) -> None:
        """Append one moment's rows, unless that moment is already stored (a replayed snapshot
        must not add or mix rows)."""
        with self._write_lock:
            if self._closed:
                return
            if rows:
                with self._writer:
                    seen = self._writer.execute(
                        f"SELECT 1 FROM {table} WHERE at_ms = ? LIMIT 1", (at_ms,)
                    ).fetchone()
                    if seen is None:
                        self._writer.executemany(
                            f"INSERT OR IGNORE INTO {table} VALUES {values}", rows
                        )
        self._prune_when_due()

    def append_activities(self, frame: pd.DataFrame) -> None:
        """Activities (typed like frames.activities_frame), upserted by ``activity_id``: the
        version appended last wins, as the activity window's ``changed`` rows come in order."""
        rows = activity_rows(frame, round(self._clock() * 1e9))
        names = ", ".join(ACTIVITY_TABLE_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in ACTIVITY_TABLE_COLUMNS[2:])
        sql = (
            f"INSERT INTO activity_history ({names}) "
            f"VALUES ({', '.join('?' * len(ACTIVITY_TABLE_COLUMNS))}) "
            f"ON CONFLICT (activity_id) DO UPDATE SET at_ns = excluded.at_ns, {updates}"
        )
        with self._write_lock:
            if self._closed or not rows:
                return
            with self._writer:
                self._writer.executemany(sql, rows)
        self._prune_when_due()

    def _prune_when_due(self) -> None:
        if self._clock() - self._last_prune >= PRUNE_EVERY_S:
            self.prune()

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention; returns how many went."""
        now_s = now.timestamp() if now is not None else self._clock()
        cutoff_ms = round((now_s - self.retention_s) * 1000)
        with self._write_lock:
            if self._closed:
                return 0
            with self._writer:
                removed = self._writer.execute(
                    "DELETE FROM campaign_history WHERE at_ms < ?", (cutoff_ms,)
                ).rowcount
                removed += self._writer.execute(
                    "DELETE FROM agent_state_history WHERE at_ms < ?", (cutoff_ms,)
                ).rowcount
                removed += self._writer.execute(
                    "DELETE FROM activity_history WHERE at_ns < ?", (cutoff_ms * 1_000_000,)
                ).rowcount
            self._last_prune = self._clock()
        if removed:
            log.info("history: pruned %d rows older than the retention", removed)
        return removed

    # -- reads (pages) -------------------------------------------------------------------------
    def campaign_history(
        self, since: datetime, campaign_ids: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """Rows since ``since`` (UTC ``at``), oldest first, at most ``max_points`` rows."""
        where = "at_ms >= ?"
        params: list[Any] = [epoch_ms(since)]
        if campaign_ids is not None:
            ids = [int(c) for c in campaign_ids]
            if not ids:
                return empty_campaign_history()
            where += f" AND campaign_id IN ({','.join('?' * len(ids))})"
            params += ids
        rows = self._thinned(
            "campaign_history", where, params, "campaign_id", list(CAMPAIGN_COLUMNS)[1:]
        )
        if not rows:
            return empty_campaign_history()
        return typed_campaigns(pd.DataFrame(rows, columns=list(CAMPAIGN_COLUMNS)))

    def agent_state_history(self, since: datetime) -> pd.DataFrame:
        """Agents by state since ``since`` (UTC ``at``), oldest first, at most max_points rows."""
        rows = self._thinned(
            "agent_state_history", "at_ms >= ?", [epoch_ms(since)], "state", ["state", "agents"]
        )
        if not rows:
            return empty_agent_state_history()
        return typed_states(pd.DataFrame(rows, columns=list(AGENT_STATE_COLUMNS)))

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
    ) -> pd.DataFrame:
        """Activities created from ``since`` until before ``until`` (an activity without a
        creation time counts from when it was recorded), matching every filter given; the newest
        ``limit`` rows, oldest first (ties by id), typed exactly like frames.activities_frame."""
        where, params = activity_conditions(
            since,
            until,
            campaign_id=campaign_id,
            agent_id=agent_id,
            lead_id=lead_id,
            activity_type=activity_type,
        )
        limit = max(0, int(limit))
        if not limit:
            return empty_activity_history()
        names = ", ".join(ACTIVITY_TABLE_COLUMNS)
        sql = (
            f"SELECT * FROM (SELECT {names} FROM activity_history WHERE {' AND '.join(where)} "
            "ORDER BY at_ns DESC, activity_id DESC LIMIT ?) ORDER BY at_ns, activity_id"
        )
        with self._read_lock:
            if self._closed:
                return empty_activity_history()
            rows = self._reader.execute(sql, [*params, limit]).fetchall()
        return typed_activities(rows)

    def _thinned(
        self,
        table: str,
        where: str,
        params: list[Any],
        series: str,
        columns: list[str],
    ) -> list[tuple[Any, ...]]:
        """Rows oldest first; over the cap, one row per series per time bucket (the latest in it,
        which SQLite returns for bare columns next to MAX()), then the newest ``max_points``
        (ties at the cut broken by series, so every store keeps the same rows)."""
        cols = ", ".join(columns)
        with self._read_lock:
            if self._closed:
                return []
            count, lo, hi = self._reader.execute(
                f"SELECT COUNT(*), MIN(at_ms), MAX(at_ms) FROM {table} WHERE {where}", params
            ).fetchone()
            if not count:
                return []
            if count <= self.max_points:
                sql = f"SELECT at_ms, {cols} FROM {table} WHERE {where} ORDER BY at_ms, {series}"
                return self._reader.execute(sql, params).fetchall()
            (moments,) = self._reader.execute(
                f"SELECT COUNT(DISTINCT at_ms) FROM {table} WHERE {where}", params
            ).fetchone()
            bucket = thinning_bucket_ms(count, moments, lo, hi, self.max_points)
            sql = (
                f"SELECT * FROM (SELECT MAX(at_ms) AS latest, {cols} FROM {table} WHERE {where} "
                f"GROUP BY {series}, (at_ms - ?) / ? ORDER BY latest DESC, {series} DESC LIMIT ?) "
                f"ORDER BY latest, {series}"
            )
            return self._reader.execute(sql, [*params, lo, bucket, self.max_points]).fetchall()

    def status(self) -> HistoryStatus:
        """Recording while open (a failed write raises to the caller instead)."""
        return CLOSED if self._closed else RECORDING

    def close(self) -> None:
        """Close both connections; safe to call twice."""
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            self._reader.close()
            self._writer.close()

    def __enter__(self) -> SQLiteHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def failure_reason(exc: BaseException) -> str:
    """Why history is not being recorded, in words safe to show (no paths, no SQL)."""
    text = str(exc).lower()
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return "the disk that holds the history is full"
    if isinstance(exc, PermissionError) or code == errno.EROFS or "readonly" in text:
        return "the history file cannot be written (no permission, or a read-only disk)"
    if isinstance(exc, OSError) or "unable to open" in text:
        return "the history file cannot be created where dashboard.toml says ([history] path)"
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return "the history file is damaged or is not a history database"
    return f"the history store failed ({type(exc).__name__})"


class ResilientHistory:
    """A history store that never raises: open lazily, a failure recorded as `status`, and the
    store opened or written again by itself once ``retry_s`` has passed since the last failure.

    Appends during a failure are dropped (the trend shows a gap, and the pages say why); a
    read that fails returns an empty frame. A retry happens on the next call once it is due,
    normally a poller's append on its refresh path, and never more often than every ``retry_s``
    however many readers there are. Only a successful append clears the failure: "recording"
    means the last write worked.
    """

    def __init__(
        self,
        open_store: Callable[[], HistoryStore],
        *,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._open = open_store
        self.retry_s = retry_s
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._store: HistoryStore | None = None
        self._status = RECORDING
        self._next_try = -math.inf
        self._closed = False

    def status(self) -> HistoryStatus:
        with self._lock:
            return CLOSED if self._closed else self._status

    # -- the guarded store ---------------------------------------------------------------------
    def _usable(self, *, writing: bool) -> HistoryStore | None:
        """The store, opened when due; None while it cannot be opened, or (for a write) while
        the last write failed and the retry is not yet due, so a full disk is not hammered by
        every poll. Reads go on from an open store: what was recorded stays on the chart."""
        with self._lock:
            if self._closed:
                return None
            due = self._clock() >= self._next_try
            if self._store is None:
                if not due:
                    return None
                try:
                    self._store = self._open()
                except Exception as exc:
                    self._failed_locked(exc, "open")
                return self._store
            if writing and not self._status.recording and not due:
                return None
            return self._store

    def _failed_locked(self, exc: Exception, during: str) -> None:
        reason = failure_reason(exc)
        now = self._clock()
        self._next_try = now + self.retry_s
        if self._status.recording or self._status.reason != reason:
            log.warning(
                "history: not recording (%s failed: %s: %s); retrying every %.0f s",
                during,
                type(exc).__name__,
                exc,
                self.retry_s,
            )
        else:
            log.debug("history: still not recording (%s failed: %s)", during, reason)
        since = None if self._status.recording else self._status.since
        self._status = HistoryStatus(
            recording=False, reason=reason, since=since or datetime.fromtimestamp(now, UTC)
        )

    def _write(self, write: Callable[[HistoryStore], Any]) -> Any:
        store = self._usable(writing=True)
        if store is None:
            return None
        try:
            result = write(store)
        except Exception as exc:
            with self._lock:
                self._failed_locked(exc, "write")
            return None
        with self._lock:
            if not self._status.recording:
                log.info("history: recording again")
                self._status = RECORDING
        return result

    def _read(self, read: Callable[[HistoryStore], pd.DataFrame], empty: pd.DataFrame) -> Any:
        store = self._usable(writing=False)
        if store is None:
            return empty
        try:
            return read(store)
        except Exception as exc:
            with self._lock:
                self._failed_locked(exc, "read")
            return empty

    # -- HistoryStore --------------------------------------------------------------------------
    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None:
        self._write(lambda store: store.append_campaigns(frame, at))

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None:
        self._write(lambda store: store.append_agent_states(frame, at))

    def append_activities(self, frame: pd.DataFrame) -> None:
        self._write(lambda store: store.append_activities(frame))

    def prune(self, now: datetime | None = None) -> int:
        return self._write(lambda store: store.prune(now)) or 0

    def campaign_history(
        self, since: datetime, campaign_ids: Sequence[int] | None = None
    ) -> pd.DataFrame:
        return self._read(
            lambda store: store.campaign_history(since, campaign_ids), empty_campaign_history()
        )

    def agent_state_history(self, since: datetime) -> pd.DataFrame:
        return self._read(
            lambda store: store.agent_state_history(since), empty_agent_state_history()
        )

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
    ) -> pd.DataFrame:
        return self._read(
            lambda store: store.activity_history(
                since,
                until,
                campaign_id=campaign_id,
                agent_id=agent_id,
                lead_id=lead_id,
                activity_type=activity_type,
                limit=limit,
            ),
            empty_activity_history(),
        )

    def close(self) -> None:
        """Close the store; no more retries. Safe to call twice."""
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            store.close()
