"""How one process is wired, by its settings: embedded (the default) or scaled on PostgreSQL.

- **Embedded** (no ``IPSCAPE_DATABASE_URL``): `ipscape.live.build_live`: the collector, the
  snapshots in memory and SQLite history, all in the dashboard process.
- **Scaled** (``IPSCAPE_DATABASE_URL=postgresql://...``): snapshots and history live in the
  database. Collectors (``python -m ipscape collect``, or a dashboard left with its collector
  on) poll only while they hold the database lease: exactly one polls, the others stand by and
  take over. Dashboards read the database through a `SnapshotFollower` into memory, so pages
  read memory and the database serves each version once per replica. With
  ``IPSCAPE_COLLECTOR=external`` a dashboard never polls: it is a pure replica.

Secrets come from the environment or ``st.secrets["ipscape"]`` (the caller passes the mapping);
a database URL's password never reaches a log or a page (`pgstore.safe_url`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

from ipscape import pgstore
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient
from ipscape.clock import Clock
from ipscape.collector import Collector, LeasedCollector
from ipscape.config import DashboardConfig
from ipscape.errors import StoreError, user_message
from ipscape.history import ResilientHistory
from ipscape.live import LiveData
from ipscape.replica import CachedHistory, SnapshotFollower
from ipscape.settings import Settings
from ipscape.snapshots import MemorySnapshots

log = logging.getLogger(__name__)


def holder_name() -> str:
    """Who holds the lease, as operators read it in /metrics and the footer."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Closing:
    """A service with nothing to start that closes something at stop (the pool, last)."""

    def __init__(self, close: Callable[[], None]) -> None:
        self._close = close

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        self._close()


def leased_collector(
    client: IpscapeClient,
    config: DashboardConfig,
    pool: Any,
    url: str,
    *,
    holder: str,
    clock: Clock | None = None,
) -> LeasedCollector:
    """A collector for ``client`` that polls while it holds the database lease, each tenure
    writing through stores fenced by its term."""

    def make(fence: Any) -> Collector:
        snapshots = pgstore.PostgresSnapshots(pool, fence=fence)
        history = ResilientHistory(
            lambda: pgstore.PostgresHistory(pool, config.history.retention_days, fence=fence),
            clock=clock,
        )
        collector = Collector(client, config, snapshots, history, clock=clock)
        try:
            collector.resume_from(snapshots)
        except StoreError as exc:  # nothing to resume from: the first poll asks for the day
            log.info("collector starts today's activities afresh: %s", user_message(exc))
        return collector

    return LeasedCollector(pgstore.Leadership(url, holder), make)


def build_scaled(
    settings: Settings,
    config: DashboardConfig,
    url: str,
    *,
    collect: bool,
    clock: Clock | None = None,
) -> LiveData:
    """A dashboard on the shared database: pages read a local copy kept by a follower; with
    ``collect``, this process also competes for the lease and polls while it holds it."""
    pool = pgstore.open_pool(url, application_name="ipscape-dashboard")
    client = IpscapeClient(settings, budget=RequestBudget(config.poll.max_requests_per_min))
    local = MemorySnapshots()
    # The database may be down now: the follower creates or migrates the schema on its first
    # contact, and meanwhile every page says the database cannot be read.
    follower = SnapshotFollower(
        pgstore.PostgresSnapshots(pool),
        local,
        changes=pgstore.SnapshotListener(url),
        prepare=lambda: pgstore.migrate(pool),
        leader=lambda: pgstore.current_leader(pool),
    )
    history = CachedHistory(
        ResilientHistory(
            lambda: pgstore.PostgresHistory(pool, config.history.retention_days), clock=clock
        )
    )
    services: list[Any] = []
    if collect:
        services.append(leased_collector(client, config, pool, url, holder=holder_name()))
    services.insert(0, _Closing(pool.close))  # stopped in reverse: the pool goes last
    return LiveData(
        client,
        config,
        history,
        snapshots=local,
        embedded=False,
        clock=clock,
        follower=follower,
        services=services,
        active_collector=follower.active_collector,
    )


__all__: Sequence[str] = (
    "build_scaled",
    "holder_name",
    "leased_collector",
)
