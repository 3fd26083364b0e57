"""The snapshot store in PostgreSQL, and the notifications replicas wait on.

One row per feed in ``ipscape_snapshots``: its status and its latest good result (one
compressed Arrow blob, codec.py: the frame, its drops and ``unavailable``; no history of
frames). `PostgresSnapshots.publish` replaces
the frame, numbers the version in the database (a successor collector continues the count)
and sends ``NOTIFY ipscape_snapshots, '<feed>:<version>'`` in the same transaction, so a
listener never hears of a version it cannot read yet. A reader decodes a frame once per
version: `read` asks for the blob only when the version differs from the one it holds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool

from ipscape.frames import FrameResult, as_result
from ipscape.pgstore.codec import decode_result, encode_result
from ipscape.pgstore.database import (
    connect,
    database_errors,
    migrate_connection,
    safe_url,
)
from ipscape.pgstore.leadership import Fence, check_fence
from ipscape.snapshots import FeedStatus

log = logging.getLogger(__name__)

CHANNEL = "ipscape_snapshots"
WAIT_POLL_S = 0.2  # `wait` checks the status this often (one cheap query, no frame)

_STATUS_COLUMNS = (
    "feed, interval_s, version, fetched_at, error, error_kind, error_at, refresh_s, failures"
)
_STATUS_VALUES = (
    "%(feed)s, %(interval_s)s, %(fetched_at)s, %(error)s, %(error_kind)s, %(error_at)s, "
    "%(refresh_s)s, %(failures)s"
)
_STATUS_UPDATES = (
    "interval_s = excluded.interval_s, fetched_at = excluded.fetched_at, "
    "error = excluded.error, error_kind = excluded.error_kind, error_at = excluded.error_at, "
    "refresh_s = excluded.refresh_s, failures = excluded.failures, updated_at = now()"
)
_PUBLISH = (
    "INSERT INTO ipscape_snapshots AS s (feed, interval_s, fetched_at, error, error_kind, "
    f"error_at, refresh_s, failures, version, frame) VALUES ({_STATUS_VALUES}, 1, %(frame)s) "
    f"ON CONFLICT (feed) DO UPDATE SET version = s.version + 1, frame = excluded.frame, "
    f"{_STATUS_UPDATES} RETURNING version"
)
_REPORT = (
    "INSERT INTO ipscape_snapshots AS s (feed, interval_s, fetched_at, error, error_kind, "
    f"error_at, refresh_s, failures, version) VALUES ({_STATUS_VALUES}, 0) "
    f"ON CONFLICT (feed) DO UPDATE SET {_STATUS_UPDATES} RETURNING version"
)


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL characters.
    return None if value is None else value.replace("\x00", "\ufffd")


def _params(status: FeedStatus) -> dict[str, Any]:
    return {
        "feed": _text(status.feed),
        "interval_s": float(status.interval_s),
        "fetched_at": status.fetched_at,
        "error": _text(status.error),
        "error_kind": _text(status.error_kind),
        "error_at": status.error_at,
        "refresh_s": status.refresh_s,
        "failures": int(status.failures),
    }


def _status(row: tuple[Any, ...]) -> FeedStatus:
    feed, interval_s, version, fetched_at, error, error_kind, error_at, refresh_s, failures = row
    return FeedStatus(
        feed=feed,
        interval_s=float(interval_s),
        version=int(version),
        fetched_at=fetched_at,
        error=error,
        error_kind=error_kind,
        error_at=error_at,
        refresh_s=None if refresh_s is None else float(refresh_s),
        failures=int(failures),
    )


class PostgresSnapshots:
    """`SnapshotStore` in PostgreSQL. Writes made with a ``fence`` are refused with
    `FencedError` once a newer collector tenure has begun. Every method raises `StoreError`
    when the database cannot be used. The pool belongs to whoever opened it: `close` does not
    close it. Thread-safe."""

    def __init__(self, pool: ConnectionPool, *, fence: Fence | None = None) -> None:
        self._pool = pool
        self.fence = fence
        self._lock = threading.Lock()
        self._results: dict[str, tuple[int, FrameResult]] = {}  # feed -> (version, result)
        self._schema_ready = False
        self._closed = threading.Event()

    @contextlib.contextmanager
    def _connection(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        with database_errors(what), self._pool.connection() as conn:
            if not self._schema_ready:
                migrate_connection(conn)  # the database may have come up after we started
                self._schema_ready = True
            yield conn

    def _remember(self, feed: str, version: int, result: FrameResult) -> None:
        with self._lock:
            self._results[feed] = (version, result)

    # -- writes (the collector) ----------------------------------------------------------------
    def publish(self, status: FeedStatus, published: FrameResult | pd.DataFrame) -> FeedStatus:
        result = as_result(published)
        blob = encode_result(result)  # before the transaction: no locks held while encoding
        with self._connection("publish a snapshot") as conn, conn.transaction():
            check_fence(conn, self.fence)
            (version,) = conn.execute(_PUBLISH, {**_params(status), "frame": blob}).fetchone() or (
                0,
            )
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{status.feed}:{version}"))
        self._remember(status.feed, int(version), result)
        return replace(status, version=int(version))

    def report(self, status: FeedStatus) -> None:
        with self._connection("report a feed's status") as conn, conn.transaction():
            check_fence(conn, self.fence)
            (version,) = conn.execute(_REPORT, _params(status)).fetchone() or (0,)
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{status.feed}:{version}"))

    # -- reads ---------------------------------------------------------------------------------
    def status(self, feed: str) -> FeedStatus | None:
        with self._connection("read a feed's status") as conn:
            row = conn.execute(
                f"SELECT {_STATUS_COLUMNS} FROM ipscape_snapshots WHERE feed = %s", (feed,)
            ).fetchone()
        return None if row is None else _status(row)

    def read(self, feed: str) -> tuple[FeedStatus | None, FrameResult | None]:
        """The status and result, in one query; the blob travels and is decoded only when its
        version is not the one this store object read last."""
        with self._lock:
            held = self._results.get(feed)
        held_version = held[0] if held is not None else -1
        with self._connection("read a snapshot") as conn:
            row = conn.execute(
                f"SELECT {_STATUS_COLUMNS}, CASE WHEN version <> %s THEN frame END "
                "FROM ipscape_snapshots WHERE feed = %s",
                (held_version, feed),
            ).fetchone()
        if row is None:
            return None, None
        status, blob = _status(row[:-1]), row[-1]
        if held is not None and status.version == held_version:
            return status, held[1]
        if blob is None:  # statuses reported, no good fetch yet
            return status, None
        result = decode_result(bytes(blob))
        self._remember(feed, status.version, result)
        return status, result

    def statuses(self) -> dict[str, FeedStatus]:
        with self._connection("read the feeds' statuses") as conn:
            rows = conn.execute(
                f"SELECT {_STATUS_COLUMNS} FROM ipscape_snapshots ORDER BY feed"
            ).fetchall()
        return {row[0]: _status(row) for row in rows}

    def wait(self, feed: str, newer_than: int, timeout_s: float) -> FeedStatus | None:
        """Polls the status every `WAIT_POLL_S` (a replica follows notifications instead:
        `SnapshotListener`)."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            status = self.status(feed)
            if status is not None and (status.version > newer_than or status.error is not None):
                return status
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed.wait(min(WAIT_POLL_S, remaining)):
                return status

    def close(self) -> None:
        """Stop waits and forget the frames held; the pool stays with its owner."""
        self._closed.set()
        with self._lock:
            self._results.clear()


class SnapshotListener:
    """``LISTEN ipscape_snapshots`` on a connection of its own: `wait` tells a replica when to
    look for new versions. Never raises: a lost connection reads as silence and is made again
    by the next `wait` (which then returns True, as versions may have come meanwhile)."""

    def __init__(
        self,
        url: str,
        *,
        channel: str = CHANNEL,
        application_name: str = "ipscape-listener",
    ) -> None:
        self.url = url
        self.channel = channel
        self.application_name = application_name
        self._conn: psycopg.Connection[Any] | None = None
        self._waiting = threading.Lock()  # the connection is used by one wait at a time
        self._closed = threading.Event()
        self._lost = False  # a connection was lost and not yet made again
        self.reconnects = 0

    def wait(self, timeout_s: float) -> bool:
        """True when at least one notification arrived (all of them are consumed), False
        after ``timeout_s`` without one, or while the database cannot be reached."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._waiting:
            try:
                return self._wait_locked(deadline)
            finally:
                if self._closed.is_set():
                    self._disconnect()

    def _wait_locked(self, deadline: float) -> bool:
        if self._closed.is_set():
            return False
        conn = self._conn
        if conn is None or conn.closed:
            conn = self._connect()
            if conn is None:
                self._closed.wait(max(0.0, deadline - time.monotonic()))
                return False
            if self._lost:
                self._lost = False
                self.reconnects += 1
                log.info("snapshot notifications: listening again on %s", safe_url(self.url))
                return True
        try:
            heard = False
            remaining = max(0.0, deadline - time.monotonic())
            for _ in conn.notifies(timeout=remaining, stop_after=1):
                heard = True
            if heard:
                # One round trip makes the server send every notification committed before
                # it (they come ahead of its answer); then take them all at once.
                conn.execute("SELECT 1")
                for _ in conn.notifies(timeout=0):
                    pass
            return heard
        except Exception as exc:  # never raise: silence until the connection is made again
            if not self._closed.is_set():
                log.warning("snapshot notifications lost (%s); reconnecting", type(exc).__name__)
            self._lost = True
            self._disconnect()
            return False

    def _connect(self) -> psycopg.Connection[Any] | None:
        try:
            conn = connect(self.url, self.application_name)
            conn.execute(f'LISTEN "{self.channel}"')
        except Exception as exc:  # never raise: the replica keeps what it has
            log.debug("snapshot notifications unavailable: %s", exc)
            self._lost = True
            return None
        self._conn = conn
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Stop listening. A `wait` in progress ends by its timeout and closes the connection."""
        self._closed.set()
        if self._waiting.acquire(blocking=False):
            try:
                self._disconnect()
            finally:
                self._waiting.release()
