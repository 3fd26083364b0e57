"""The collector lease: exactly one process polls the tenant, the others stand by.

The lease is a session-level PostgreSQL advisory lock (``pg_try_advisory_lock``) held on a
connection of its own, never a pooled one: it lasts exactly as long as that session. A process
that dies, even by SIGKILL, closes its socket and the server ends the session, releasing the
lock; a host that vanishes is dropped by the server's TCP keepalives (database.py), so a
standby calling `Leadership.try_acquire` every few seconds takes over well within 30 s.

Each acquisition starts a new tenure: ``term`` in the one-row ``ipscape_leader`` table grows by
one and the holder gets `Fence(term)`. Stores given a fence write only inside a transaction that
first reads that row ``FOR SHARE`` and finds its own term (`check_fence`), so a collector that
lost the lock without noticing (frozen, partitioned) cannot overwrite its successor's data:
its writes raise `FencedError`. The share lock makes the check and the write one step against
a new leader's term update, which waits for writes in flight and is seen by all later ones.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from ipscape.errors import FencedError, StoreError
from ipscape.pgstore.database import connect, database_errors, migrate_connection, safe_url

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = int.from_bytes(b"ipsLEAD", "big")
# A new tenure waits at most this long for the outgoing one's writes in flight.
TERM_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Fence:
    """Proof of one tenure: stores given it refuse to write once a newer term has begun."""

    term: int


@dataclass(frozen=True)
class LeaderInfo:
    """The process holding the lease now, for /metrics and the footer (times UTC)."""

    holder: str
    term: int
    since: datetime
    heartbeat_at: datetime


def check_fence(conn: psycopg.Connection[Any], fence: Fence | None) -> None:
    """Inside a write transaction: raise `FencedError` unless ``fence`` is the current term
    (None: an unfenced store, no check)."""
    if fence is None:
        return
    row = conn.execute("SELECT term FROM ipscape_leader WHERE id = 1 FOR SHARE").fetchone()
    if row is None or int(row[0]) != fence.term:
        current = "none" if row is None else str(row[0])
        raise FencedError(
            f"This collector's tenure (term {fence.term}) has ended (current term {current}); "
            "its writes are refused."
        )


def _lock_ids(key: int) -> tuple[int, int]:
    """pg_locks' (classid, objid) for a bigint advisory lock key."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def current_leader(pool: ConnectionPool, *, key: int = LEADER_LOCK_KEY) -> LeaderInfo | None:
    """Who holds the lease now; None when no process does (or the schema is not there yet).
    Raises `StoreError` when the database cannot be used."""
    classid, objid = _lock_ids(key)
    with database_errors("read the collector lease"), pool.connection() as conn:
        try:
            row = conn.execute(
                "SELECT holder, term, since, heartbeat_at FROM ipscape_leader WHERE id = 1 "
                "AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)",
                (classid, objid),
            ).fetchone()
        except pg_errors.UndefinedTable:
            return None
    if row is None:
        return None
    holder, term, since, heartbeat_at = row
    return LeaderInfo(holder=holder, term=int(term), since=since, heartbeat_at=heartbeat_at)


class Leadership:
    """One process's claim on the collector lease, on a dedicated connection to ``url``.

    `try_acquire` connects when needed (creating the schema), so it can be called every few
    seconds through database outages; `heartbeat` tells the holder whether it still leads;
    `release` gives the lease up (the next holder starts a new term). Thread-safe."""

    def __init__(
        self,
        url: str,
        holder: str,
        *,
        key: int = LEADER_LOCK_KEY,
        application_name: str = "ipscape-leadership",
    ) -> None:
        self.url = url
        self.holder = holder
        self.key = key
        self.application_name = application_name
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._fence: Fence | None = None

    @property
    def fence(self) -> Fence | None:
        """The current tenure's fence while this process believes it leads."""
        with self._lock:
            return self._fence

    def try_acquire(self) -> Fence | None:
        """A new tenure's `Fence` when the lease was free; None while another process holds
        it. Holding it already returns the same fence. Raises `StoreError` when the database
        cannot be used (the caller tries again later)."""
        with self._lock:
            if self._fence is not None:
                if self._still_leading():
                    return self._fence
                self._drop_locked()
            conn = self._connection_locked()
            try:
                with database_errors("acquire the collector lease"):
                    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
                    if not row or not row[0]:
                        return None
                    with conn.transaction():
                        conn.execute(f"SET LOCAL lock_timeout = '{TERM_LOCK_TIMEOUT}'")
                        (term,) = conn.execute(
                            "INSERT INTO ipscape_leader AS l (id, holder, term, since, "
                            "heartbeat_at) VALUES (1, %s, 1, now(), now()) ON CONFLICT (id) DO "
                            "UPDATE SET holder = excluded.holder, term = l.term + 1, "
                            "since = now(), heartbeat_at = now() RETURNING term",
                            (self.holder,),
                        ).fetchone() or (0,)
            except StoreError:
                self._drop_locked()  # never keep a lock without a term
                raise
            self._fence = Fence(int(term))
        log.info("collector lease acquired by %s (term %d)", self.holder, self._fence.term)
        return self._fence

    def heartbeat(self) -> bool:
        """True while this process still leads (its session is alive and no newer term has
        begun), recording when it last proved so; False once the lease is lost. Never raises."""
        with self._lock:
            if self._fence is None:
                return False
            if self._still_leading():
                return True
            log.warning("collector lease lost by %s (term %d)", self.holder, self._fence.term)
            self._drop_locked()
            return False

    def release(self) -> None:
        """Give the lease up and close the connection; `try_acquire` may be called again."""
        with self._lock:
            if self._fence is not None:
                log.info("collector lease released by %s (term %d)", self.holder, self._fence.term)
            self._drop_locked()

    # -- the lock's connection -----------------------------------------------------------------
    def _connection_locked(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = connect(self.url, self.application_name)
        try:
            with database_errors("create the schema"):
                migrate_connection(conn)
        except StoreError:
            conn.close()
            raise
        log.debug("collector lease connection to %s", safe_url(self.url))
        self._conn = conn
        return conn

    def _still_leading(self) -> bool:
        conn, fence = self._conn, self._fence
        if conn is None or conn.closed or fence is None:
            return False
        try:
            row = conn.execute(
                "UPDATE ipscape_leader SET heartbeat_at = now() WHERE id = 1 AND term = %s "
                "RETURNING term",
                (fence.term,),
            ).fetchone()
        except psycopg.Error:
            return False
        return row is not None

    def _drop_locked(self) -> None:
        """Forget the tenure; unlock if the session is still there, and close it either way."""
        conn, self._conn, self._fence = self._conn, None, None
        if conn is None:
            return
        try:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            pass  # a lost session has released its locks already
        finally:
            conn.close()
