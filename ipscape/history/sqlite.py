"""`SQLiteHistory`: history in one SQLite file (WAL; one write and one read connection).

The rows it stores and the frames it returns are ipscape/history/__init__.py's, shared with the
PostgreSQL store (ipscape/pgstore/history.py).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ipscape.history import (
    ACTIVITY_TABLE_COLUMNS,
    AGENT_STATE_COLUMNS,
    CAMPAIGN_COLUMNS,
    CLOSED,
    MAX_ACTIVITY_ROWS,
    MAX_POINTS,
    PRUNE_EVERY_S,
    RECORDING,
    HistoryStatus,
    activity_conditions,
    activity_rows,
    agent_state_rows,
    campaign_rows,
    empty_activity_history,
    empty_agent_state_history,
    empty_campaign_history,
    epoch_ms,
    period_condition,
    thinning_bucket_ms,
    typed_activities,
    typed_campaigns,
    typed_states,
)

log = logging.getLogger(__name__)

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
    queued_ns INTEGER,
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


# Columns added to activity_history after its first release: (name, SQL type). A file written
# by an older version gets them (empty) when it is opened, so history survives an upgrade.
_ADDED_ACTIVITY_COLUMNS = (("queued_ns", "INTEGER"),)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(activity_history)")}
    for name, kind in _ADDED_ACTIVITY_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE activity_history ADD COLUMN {name} {kind}")


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
                _add_missing_columns(self._writer)
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
        self,
        since: datetime,
        campaign_ids: Sequence[int] | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame:
        """Rows from ``since`` until before ``until`` (UTC ``at``; no end: until now), oldest
        first, at most ``max_points`` rows."""
        where, params = period_condition(since, until, "?")
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

    def agent_state_history(self, since: datetime, until: datetime | None = None) -> pd.DataFrame:
        """Agents by state from ``since`` until before ``until`` (UTC ``at``), oldest first, at
        most max_points rows."""
        where, params = period_condition(since, until, "?")
        rows = self._thinned("agent_state_history", where, params, "state", ["state", "agents"])
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
