"""Connections to PostgreSQL: the pool, URLs and errors without secrets, the schema.

Every connection is bounded: a short connect timeout, TCP keepalives both ways (the client's
libpq settings notice a dead server; the session's ``tcp_keepalives_*`` and
``tcp_user_timeout`` make the server drop a dead client, which releases its advisory lock),
a statement timeout and an idle-in-transaction timeout (a stuck writer cannot hold the row
locks that fencing takes for long).

The project owns its schema: `migrate` applies the numbered migrations in `MIGRATIONS` that the
database has not seen, under a transaction-scoped advisory lock, so processes starting at once
apply each exactly once. Each migration is idempotent on its own too (``IF NOT EXISTS``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ipscape.errors import ConfigError, StoreError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 5.0  # how long a caller waits for a free (or new) pooled connection
STATEMENT_TIMEOUT_MS = 30_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
# A dead peer is noticed after about idle + interval x count seconds (11 s), or when unacked
# data has waited tcp_user_timeout: well inside the 30 s a standby has to take over.
KEEPALIVE_IDLE_S = 5
KEEPALIVE_INTERVAL_S = 2
KEEPALIVE_COUNT = 3
TCP_USER_TIMEOUT_MS = 10_000
# Advisory lock keys of this project (the collector lease has its own, in leadership.py).
MIGRATION_LOCK_KEY = int.from_bytes(b"ipsMIGR", "big")

URL_SETTING = "IPSCAPE_DATABASE_URL"


def safe_url(url: str) -> str:
    """``url`` without user, password or parameters: host, port and database, for logs."""
    try:
        params = conninfo_to_dict(url)
    except (psycopg.Error, ValueError, TypeError):
        return "postgresql://(unreadable URL)"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = params.get("port")
    database = params.get("dbname") or ""
    return f"postgresql://{host}{f':{port}' if port else ''}/{database}"


# Settings of every session of ours, made once per connection (not as startup ``options``,
# which connection poolers such as PgBouncer refuse). Times come back in UTC.
SESSION_SETTINGS = {
    "statement_timeout": STATEMENT_TIMEOUT_MS,
    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT_MS,
    "TimeZone": "UTC",
    "client_min_messages": "warning",
    "tcp_keepalives_idle": KEEPALIVE_IDLE_S,
    "tcp_keepalives_interval": KEEPALIVE_INTERVAL_S,
    "tcp_keepalives_count": KEEPALIVE_COUNT,
    "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
}


def connection_kwargs(url: str, application_name: str) -> dict[str, Any]:
    """libpq settings for every connection of ours (autocommit), over what ``url`` says."""
    try:
        given = conninfo_to_dict(url)
    except (psycopg.Error, ValueError, TypeError):
        raise ConfigError(
            f"{URL_SETTING} is not a PostgreSQL URL or connection string", setting=URL_SETTING
        ) from None
    return {
        "application_name": application_name,
        "connect_timeout": int(given.get("connect_timeout") or CONNECT_TIMEOUT_S),
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        "autocommit": True,
    }


def configure_session(conn: psycopg.Connection[Any]) -> None:
    """Apply `SESSION_SETTINGS` to a new connection, in one round trip."""
    settings = dict(SESSION_SETTINGS)
    if conn.info.server_version < 120000:  # tcp_user_timeout came with PostgreSQL 12
        settings.pop("tcp_user_timeout")
    calls = ", ".join("set_config(%s, %s, false)" for _ in settings)
    values = [str(part) for item in settings.items() for part in item]
    conn.execute(f"SELECT {calls}".encode(), values)


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    application_name: str,
    timeout_s: float = POOL_TIMEOUT_S,
) -> ConnectionPool:
    """A pool of autocommit connections (writes open their own transactions). It opens
    without waiting, so a process starts while the database is down; a caller then gets a
    `StoreError` after ``timeout_s``, and connections come back by themselves. Each is checked
    before it is handed out, so the first use after a server restart does not fail."""
    pool: ConnectionPool = ConnectionPool(
        url,
        kwargs=connection_kwargs(url, application_name),
        min_size=min_size,
        max_size=max_size,
        timeout=timeout_s,
        configure=configure_session,
        check=ConnectionPool.check_connection,
        name=application_name,
        open=False,
    )
    pool.open(wait=False)
    log.debug("database pool %s for %s", application_name, safe_url(url))
    return pool


def connect(url: str, application_name: str) -> psycopg.Connection[Any]:
    """A dedicated autocommit connection (a lock or a LISTEN must outlive pool checkouts)."""
    with database_errors("connect"):
        conn = psycopg.connect(url, **connection_kwargs(url, application_name))
        try:
            configure_session(conn)
        except BaseException:
            conn.close()
            raise
        return conn


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PoolTimeout):
        return "no connection to it became free in time"
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return "permission denied"
    if isinstance(exc, pg_errors.UndefinedTable):
        return "its tables are missing (the schema is not migrated)"
    if isinstance(exc, pg_errors.QueryCanceled):
        return "a statement took too long"
    if isinstance(exc, psycopg.OperationalError):
        return "it cannot be reached, or the connection was lost"
    return type(exc).__name__


@contextlib.contextmanager
def database_errors(what: str) -> Iterator[None]:
    """Driver errors as `StoreError` (``what`` failed, and why, without the server's text,
    which may quote values); `StoreError`s (`FencedError`) pass through."""
    try:
        yield
    except StoreError:
        raise
    except (psycopg.Error, OSError) as exc:
        raise StoreError(f"The database could not be used ({what}): {_reason(exc)}.") from exc


# --- the schema ---------------------------------------------------------------------------------

MIGRATIONS: Sequence[tuple[int, str]] = (
    (
        1,
        """
        -- The collector lease: one row, the tenure (term) that may write. The lock itself is
        -- a session advisory lock; this row fences writes (see leadership.py).
        CREATE TABLE IF NOT EXISTS ipscape_leader (
            id integer PRIMARY KEY CHECK (id = 1),
            holder text NOT NULL,
            term bigint NOT NULL,
            since timestamptz NOT NULL,
            heartbeat_at timestamptz NOT NULL
        );
        -- The latest good frame of every feed and its status; frames are Arrow IPC (codec.py).
        CREATE TABLE IF NOT EXISTS ipscape_snapshots (
            feed text PRIMARY KEY,
            version bigint NOT NULL,
            interval_s double precision NOT NULL,
            fetched_at timestamptz,
            error text,
            error_kind text,
            error_at timestamptz,
            refresh_s double precision,
            failures integer NOT NULL,
            frame bytea,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        2,
        """
        -- History, as ipscape/history/sqlite.py's SQLite schema: times in ms (trends) and ns
        -- (activities) since the epoch, exactly what the frames hold.
        CREATE TABLE IF NOT EXISTS ipscape_campaign_history (
            at_ms bigint NOT NULL,
            campaign_id bigint NOT NULL,
            campaign_name text,
            ewt_s double precision,
            max_wait_s double precision,
            calls_waiting bigint,
            agents_available bigint,
            PRIMARY KEY (campaign_id, at_ms)
        );
        CREATE INDEX IF NOT EXISTS ipscape_campaign_history_at
            ON ipscape_campaign_history (at_ms);
        CREATE TABLE IF NOT EXISTS ipscape_agent_state_history (
            at_ms bigint NOT NULL,
            state text NOT NULL,
            agents bigint NOT NULL,
            PRIMARY KEY (at_ms, state)
        );
        CREATE TABLE IF NOT EXISTS ipscape_activity_history (
            activity_id bigint PRIMARY KEY,
            at_ns bigint NOT NULL,
            type text,
            campaign_id bigint,
            campaign_name text,
            agent_id bigint,
            agent_name text,
            status text,
            created_ns bigint,
            answered_ns bigint,
            hangup_ns bigint,
            lead_id bigint,
            source text,
            destination text,
            parent_activity_id bigint,
            root_activity_id bigint,
            queue_s double precision,
            talk_s double precision,
            hold_s double precision,
            wrap_s double precision,
            interaction_s double precision,
            has_voicemail boolean,
            raw text
        );
        CREATE INDEX IF NOT EXISTS ipscape_activity_history_at
            ON ipscape_activity_history (at_ns);
        CREATE INDEX IF NOT EXISTS ipscape_activity_history_campaign
            ON ipscape_activity_history (campaign_id, at_ns);
        CREATE INDEX IF NOT EXISTS ipscape_activity_history_agent
            ON ipscape_activity_history (agent_id, at_ns);
        CREATE INDEX IF NOT EXISTS ipscape_activity_history_lead
            ON ipscape_activity_history (lead_id, at_ns);
        """,
    ),
    (
        3,
        """
        -- When each call joined the queue (timestamps.joinQueue): abandoned in the queue or in
        -- the IVR (ipscape/metrics/calls.py).
        ALTER TABLE ipscape_activity_history ADD COLUMN IF NOT EXISTS queued_ns bigint;
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The newest migration applied, 0 for a database we never touched (no DDL: a read-only
    role can ask)."""
    (table,) = conn.execute("SELECT to_regclass('ipscape_schema') IS NOT NULL").fetchone() or (
        False,
    )
    if not table:
        return 0
    row = conn.execute("SELECT max(version) FROM ipscape_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate_connection(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema up to `SCHEMA_VERSION` on ``conn`` (autocommit); returns the version."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        log.warning(
            "database schema is at version %d, newer than this code's %d", found, SCHEMA_VERSION
        )
    if found >= SCHEMA_VERSION:
        return found
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ipscape_schema ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = schema_version(conn)  # another process may have migrated while we waited
        for version, sql in MIGRATIONS:
            if version > current:
                conn.execute(sql.encode())
                conn.execute("INSERT INTO ipscape_schema (version) VALUES (%s)", (version,))
                log.info("database schema migrated to version %d", version)
    return max(current, SCHEMA_VERSION)


def migrate(pool: ConnectionPool) -> int:
    """Create or migrate the schema (safe when several processes start at once); returns the
    schema version. Raises `StoreError` when the database cannot be used."""
    with database_errors("migrate the schema"), pool.connection() as conn:
        return migrate_connection(conn)
