"""A real PostgreSQL server for tests: Debian's binaries, a throwaway cluster, always stopped.

`PostgresServer` runs ``initdb`` into a temporary directory and ``pg_ctl start`` on a free port
on 127.0.0.1 (its unix socket in the same directory), with trust authentication for the
``postgres`` role: it listens on loopback only and lives as long as the test session. PostgreSQL
refuses to run as root, so when the tests run as root (here and in CI) the cluster belongs to
the ``postgres`` system user the Debian package creates, and its programs run under
``runuser -u postgres``.

Fixtures (import them, or list this module in ``pytest_plugins``):

- ``postgres_server``: one server for the session; tests must leave it running.
- ``pg_url``: a fresh, empty database on it for one test.

Without PostgreSQL binaries (``/usr/lib/postgresql/*/bin``, or ``$IPSCAPE_POSTGRES_BIN``) both
skip with the reason; with ``IPSCAPE_REQUIRE_POSTGRES=1`` (CI) they fail instead. A test that
stops, kills or restarts a server makes its own with ``running_postgres()``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

BIN_ENV = "IPSCAPE_POSTGRES_BIN"
REQUIRE_POSTGRES_ENV = "IPSCAPE_REQUIRE_POSTGRES"
BIN_GLOB = "/usr/lib/postgresql/*/bin"
NO_POSTGRES = (
    "no PostgreSQL server binaries (apt-get install postgresql, or set IPSCAPE_POSTGRES_BIN "
    "to the directory holding initdb and pg_ctl)"
)
SYSTEM_USER = "postgres"  # the cluster's owner when tests run as root (made by Debian's package)
SUPERUSER = "postgres"  # the database role the cluster is initialised with
START_TIMEOUT_S = 60
# Durability is not what these servers are for: a crash test kills processes, not the machine,
# so the OS page cache keeps every committed write either way.
SERVER_SETTINGS = (
    "fsync=off",
    "full_page_writes=off",
    "max_connections=200",
    "shared_buffers=32MB",
    "log_min_messages=warning",
)


def postgres_required() -> bool:
    """True in CI (IPSCAPE_REQUIRE_POSTGRES=1): PostgreSQL tests must run, never skip."""
    return os.environ.get(REQUIRE_POSTGRES_ENV, "").strip().lower() in ("1", "true", "yes")


def postgres_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres (newest version first), or None."""
    configured = os.environ.get(BIN_ENV, "").strip()
    candidates = [Path(configured)] if configured else []
    candidates += sorted((Path(p) for p in glob.glob(BIN_GLOB)), key=_version_key, reverse=True)
    for candidate in candidates:
        if all((candidate / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in bin_dir.parent.name.split("."))
    except ValueError:
        return (0,)


def require_postgres() -> Path:
    """The binaries' directory; otherwise skips the calling test (fails when required)."""
    found = postgres_bin_dir()
    if found is None:
        if postgres_required():
            pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {NO_POSTGRES}")
        pytest.skip(NO_POSTGRES)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway cluster on 127.0.0.1. `start()` again after `stop()` or `kill()` reuses
    its directory and port, so clients can reconnect to the same URL."""

    def __init__(self, bin_dir: Path | None = None, *, port: int | None = None) -> None:
        self.bin_dir = bin_dir or require_postgres()
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.base: Path | None = None
        self._names = itertools.count(1)

    # --- where things are ----------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base()

    @property
    def log_path(self) -> Path:
        return self._base() / "server.log"

    @property
    def url(self) -> str:
        """The default database (``postgres``) as the superuser."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def _base(self) -> Path:
        if self.base is None:
            raise RuntimeError("PostgreSQL server not started")
        return self.base

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise the cluster on first use, then start it and wait until it accepts."""
        if self.base is None:
            self.base = Path(tempfile.mkdtemp(prefix="ipscape-pg-"))
            self._own(self.base)
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "-U",
                    SUPERUSER,
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                f"-c listen_addresses={self.host}",
                *(f"-c {setting}" for setting in SERVER_SETTINGS),
            ]
        )
        try:
            self._run(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-o",
                    options,
                    "start",
                ]
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- server log ---\n{self.log_tail()}") from None

    def stop(self) -> None:
        """Stop at once (no checkpoint: the next start recovers like after a crash)."""
        if self.base is None or not self.is_running():
            return
        self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend: a crash. `start()` recovers."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while any(_alive(victim) for victim in victims) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The postmaster treats a pid that still exists as a running server, and a zombie
        # exists until whoever adopted it reaps it: give that a moment, then clear the lock
        # file ourselves (every process of the cluster is dead by now).
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not any(_alive(victim) for victim in victims):
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "postmaster.pid").unlink()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop if running and delete the cluster's directory."""
        if self.base is None:
            return
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _alive(pid)

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # --- databases -----------------------------------------------------------------------------

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (named ``name``, or ``test_<n>``); returns its URL."""
        name = name or f"test_{next(self._names)}"
        if not name.replace("_", "").isalnum():
            raise ValueError("database names here are letters, digits and underscores")
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement as the superuser, outside a transaction."""
        import psycopg

        with psycopg.connect(self.url_for(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.encode())

    def terminate_backends(self, database: str, application_name: str | None = None) -> int:
        """``pg_terminate_backend`` every other session on ``database`` (only those of
        ``application_name`` when given), waiting until each has really exited (and released
        its advisory locks), as a crashed process's session would have; returns how many were
        ended."""
        import psycopg

        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            rows = conn.execute(
                # The timeout form (PostgreSQL 14+) returns once the backend is gone, not when
                # the signal is sent: a lock it held is free when this returns.
                "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND (%s::text IS NULL OR application_name = %s)",
                (database, application_name, application_name),
            ).fetchall()
        return sum(1 for (ended,) in rows if ended)

    # --- running the server's programs ---------------------------------------------------------

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root, but there is no {SYSTEM_USER!r} system user to run "
                    "PostgreSQL as (Debian's postgresql package creates it)"
                ) from None
            os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, command: Sequence[str]) -> None:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SYSTEM_USER, "--", *argv]
        done = subprocess.run(
            argv,
            cwd=self._base(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{command[0]} failed ({done.returncode}): {done.stdout}{done.stderr}".strip()
            )


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie (state Z) is dead, only not yet reaped by its parent.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[-1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server of the caller's own (stop it, kill it, restart it), removed at the end."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (skips without PostgreSQL unless required)."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards (sessions left open too)."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            postgres_server.drop_database(url.rsplit("/", 1)[-1])
