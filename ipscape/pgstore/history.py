"""The history store in PostgreSQL: what `ipscape.history.SQLiteHistory` stores, shared by
every process of a scaled deployment.

Rows are built and frames typed by the same functions as SQLite's (``campaign_rows``,
``activity_rows``, ``typed_activities``, ...), so both stores give the same frames for the same
appends: one moment's trend rows stored once, activities upserted by id (the version appended
last wins), long ranges thinned to ``max_points`` the same way, retention by creation time.
Text is ordered byte-wise (``COLLATE "C"``) as SQLite does, whatever the database's locale.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool

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
    period_condition,
    thinning_bucket_ms,
    typed_activities,
    typed_campaigns,
    typed_states,
)
from ipscape.pgstore.database import database_errors, migrate
from ipscape.pgstore.leadership import Fence, check_fence

log = logging.getLogger(__name__)

_NAMES = ", ".join(ACTIVITY_TABLE_COLUMNS)
_UPSERT_ACTIVITIES = (
    f"INSERT INTO ipscape_activity_history ({_NAMES}) "
    f"SELECT DISTINCT ON (activity_id) {_NAMES} FROM ipscape_activity_batch "
    "ORDER BY activity_id, pos DESC "  # one batch may carry an id twice: its last row wins
    "ON CONFLICT (activity_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ACTIVITY_TABLE_COLUMNS[1:])
)


def _without_nul(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """``frame`` with NUL characters in text replaced (PostgreSQL text cannot hold them)."""
    if frame is None or not len(frame):
        return frame
    changed: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.StringDtype):
            if column.str.contains("\x00", regex=False).any():
                changed[name] = column.str.replace("\x00", "\ufffd", regex=False)
        elif column.dtype == object and any(isinstance(v, str) and "\x00" in v for v in column):
            changed[name] = column.map(
                lambda v: v.replace("\x00", "\ufffd") if isinstance(v, str) else v
            )
    if not changed:
        return frame
    return frame.assign(**changed)


class PostgresHistory:
    """`HistoryStore` in PostgreSQL. Opening it migrates the schema and prunes, like
    SQLiteHistory; methods raise `StoreError` when the database cannot be used (wrap it in
    `ResilientHistory`), and writes made with a ``fence`` raise `FencedError` once a newer
    collector tenure has begun. The pool belongs to whoever opened it. Thread-safe."""

    def __init__(
        self,
        pool: ConnectionPool,
        retention_days: float,
        *,
        fence: Fence | None = None,
        clock: Callable[[], float] | None = None,
        max_points: int = MAX_POINTS,
    ) -> None:
        if retention_days <= 0:
            raise ValueError("retention_days must be > 0")
        self._pool = pool
        self.fence = fence
        self.retention_s = retention_days * 86400.0
        self.max_points = max_points
        self._clock = clock or time.time
        self._closed = False
        self._prune_lock = threading.Lock()
        self._last_prune = -math.inf
        migrate(pool)
        self.prune()

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        with database_errors(what), self._pool.connection() as conn, conn.transaction():
            check_fence(conn, self.fence)
            yield conn

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        with database_errors(what), self._pool.connection() as conn:
            yield conn

    # -- writes (the collector's refresh path) -------------------------------------------------
    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None:
        """One row per campaign at ``at``; a second append for the same moment is ignored."""
        self._append_moment("ipscape_campaign_history", campaign_rows(_without_nul(frame), at))

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None:
        """Agents counted by state at ``at``, other state names grouped (as SQLiteHistory)."""
        self._append_moment(
            "ipscape_agent_state_history", agent_state_rows(_without_nul(frame), at)
        )

    def _append_moment(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if self._closed:
            return
        if rows:
            values = ", ".join(["%s"] * len(rows[0]))
            with self._writing("append history") as conn:
                seen = conn.execute(
                    f"SELECT 1 FROM {table} WHERE at_ms = %s LIMIT 1", (rows[0][0],)
                ).fetchone()
                if seen is None:
                    with conn.cursor() as cursor:
                        cursor.executemany(
                            f"INSERT INTO {table} VALUES ({values}) ON CONFLICT DO NOTHING", rows
                        )
        self._prune_when_due()

    def append_activities(self, frame: pd.DataFrame) -> None:
        """Activities upserted by ``activity_id``, the version appended last winning: copied
        into a session-local batch table, then merged in one statement."""
        if self._closed:
            return
        rows = activity_rows(_without_nul(frame), round(self._clock() * 1e9))
        if not rows:
            return
        with self._writing("append activities") as conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS ipscape_activity_batch "
                "(pos integer NOT NULL, LIKE ipscape_activity_history) ON COMMIT DELETE ROWS"
            )
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY ipscape_activity_batch (pos, {_NAMES}) FROM STDIN") as copy,
            ):
                for pos, row in enumerate(rows):
                    copy.write_row((pos, *row))
            conn.execute(_UPSERT_ACTIVITIES)
        self._prune_when_due()

    def _prune_when_due(self) -> None:
        if self._clock() - self._last_prune >= PRUNE_EVERY_S:
            self.prune()

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows older than the retention; returns how many went."""
        now_s = now.timestamp() if now is not None else self._clock()
        cutoff_ms = round((now_s - self.retention_s) * 1000)
        if self._closed:
            return 0
        with self._prune_lock, self._writing("prune history") as conn:
            removed = 0
            for table, column, cutoff in (
                ("ipscape_campaign_history", "at_ms", cutoff_ms),
                ("ipscape_agent_state_history", "at_ms", cutoff_ms),
                ("ipscape_activity_history", "at_ns", cutoff_ms * 1_000_000),
            ):
                removed += conn.execute(
                    f"DELETE FROM {table} WHERE {column} < %s", (cutoff,)
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
        where, params = period_condition(since, until, "%s")
        if campaign_ids is not None:
            ids = [int(c) for c in campaign_ids]
            if not ids:
                return empty_campaign_history()
            where += " AND campaign_id = ANY(%s)"
            params.append(ids)
        rows = self._thinned(
            "ipscape_campaign_history", where, params, "campaign_id", list(CAMPAIGN_COLUMNS)[1:]
        )
        if not rows:
            return empty_campaign_history()
        return typed_campaigns(pd.DataFrame(rows, columns=list(CAMPAIGN_COLUMNS)))

    def agent_state_history(self, since: datetime, until: datetime | None = None) -> pd.DataFrame:
        """Agents by state from ``since`` until before ``until`` (UTC ``at``), oldest first, at
        most max_points rows."""
        where, params = period_condition(since, until, "%s")
        rows = self._thinned(
            "ipscape_agent_state_history",
            where,
            params,
            'state COLLATE "C"',
            ["state", "agents"],
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
        """As SQLiteHistory.activity_history: the newest ``limit`` matching rows, oldest first
        (ties by id), typed exactly like frames.activities_frame."""
        where, params = activity_conditions(
            since,
            until,
            campaign_id=campaign_id,
            agent_id=agent_id,
            lead_id=lead_id,
            activity_type=activity_type,
            placeholder="%s",
        )
        limit = max(0, int(limit))
        if not limit or self._closed:
            return empty_activity_history()
        sql = (
            f"SELECT * FROM (SELECT {_NAMES} FROM ipscape_activity_history "
            f"WHERE {' AND '.join(where)} ORDER BY at_ns DESC, activity_id DESC LIMIT %s) "
            "AS newest ORDER BY at_ns, activity_id"
        )
        with self._reading("read activity history") as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return typed_activities(rows)

    def _thinned(
        self,
        table: str,
        where: str,
        params: list[Any],
        series: str,
        columns: list[str],
    ) -> list[tuple[Any, ...]]:
        """Rows oldest first; over the cap, one row per series per time bucket (the latest in
        it), then the newest ``max_points``: SQLiteHistory's thinning, in PostgreSQL's SQL."""
        if self._closed:
            return []
        cols = ", ".join(columns)
        with self._reading("read history") as conn:
            count, lo, hi = conn.execute(
                f"SELECT count(*), min(at_ms), max(at_ms) FROM {table} WHERE {where}", params
            ).fetchone() or (0, 0, 0)
            if not count:
                return []
            if count <= self.max_points:
                sql = f"SELECT at_ms, {cols} FROM {table} WHERE {where} ORDER BY at_ms, {series}"
                return conn.execute(sql, params).fetchall()
            (moments,) = conn.execute(
                f"SELECT count(DISTINCT at_ms) FROM {table} WHERE {where}", params
            ).fetchone() or (1,)
            bucket = thinning_bucket_ms(count, moments, lo, hi, self.max_points)
            kept = (
                f"SELECT DISTINCT ON ({series}, bucket) at_ms AS latest, {cols} "
                f"FROM (SELECT *, (at_ms - %s) / %s AS bucket FROM {table} WHERE {where}) AS b "
                f"ORDER BY {series}, bucket, at_ms DESC"
            )
            sql = (
                f"SELECT * FROM (SELECT * FROM ({kept}) AS kept "
                f"ORDER BY latest DESC, {series} DESC LIMIT %s) "
                f"AS newest ORDER BY latest, {series}"
            )
            return conn.execute(sql, [lo, bucket, *params, self.max_points]).fetchall()

    def status(self) -> HistoryStatus:
        """Recording while open (a failed write raises to the caller instead)."""
        return CLOSED if self._closed else RECORDING

    def close(self) -> None:
        """Appends are ignored and reads empty from now on; the pool stays with its owner."""
        self._closed = True

    def __enter__(self) -> PostgresHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
