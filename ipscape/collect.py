"""``python -m ipscape collect``: the collector alone, writing to the shared database.

Run two or more (on different hosts, say): exactly one polls the tenant, the holder of the
database lease; the others stand by and take over within ~5 s of its death (the lease is a
PostgreSQL advisory lock, released when its connection goes). Dashboards started with
``IPSCAPE_COLLECTOR=external`` read what it publishes. SIGTERM or Ctrl-C stops it cleanly: no
new poll starts, a poll in flight is waited for a few seconds at most, then the lease is
released and a standby takes over (a late write of the old poll is refused by the new term).

With ``--metrics-port``, ``/healthz`` and ``/metrics`` are served on that port (127.0.0.1 unless
``--metrics-host`` says otherwise), from the database and this process's counters.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ipscape import health, pgstore
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient
from ipscape.collector import LeasedCollector, feed_intervals
from ipscape.config import DashboardConfig
from ipscape.deployment import holder_name, leased_collector
from ipscape.errors import ConfigError
from ipscape.settings import DATABASE_ENV, Settings, database_url
from ipscape.simulator.server import bind_socket

log = logging.getLogger(__name__)

STOP_SERVER_S = 5.0


def operator_view(
    leased: LeasedCollector, pool: Any, client: IpscapeClient, config: DashboardConfig
) -> health.OperatorView:
    collector = leased.collector
    return health.OperatorView(
        snapshots=pgstore.PostgresSnapshots(pool),
        feeds=feed_intervals(config.poll),
        clock=time.time,
        started_at=None if collector is None else collector.started_at,
        meter=client.meter,
        budget=client.budget,
        active_collector=lambda: pgstore.current_leader(pool),
        alerts=leased.alert_stats,
    )


def _serve(app: Starlette, host: str, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    sock = bind_socket(host, port)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="metrics", daemon=True
    )
    thread.start()
    return server, thread


def run(
    settings: Settings,
    config: DashboardConfig,
    environ: Mapping[str, str],
    *,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Collect until ``stop`` is set (or SIGTERM/SIGINT in the main thread). Returns 0."""
    url = database_url(environ)
    if url is None:
        raise ConfigError(
            f"collect writes to the shared database: set {DATABASE_ENV}=postgresql://...",
            setting=DATABASE_ENV,
        )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    pool = pgstore.open_pool(url, application_name="ipscape-collector")
    client = IpscapeClient(settings, budget=RequestBudget(config.poll.max_requests_per_min))
    server = thread = None
    try:
        # No migrate here: the lease's own connection creates or migrates the schema each time
        # it connects, so a collector started while the database is down waits for it.
        holder = holder_name()
        leased = leased_collector(client, config, pool, url, holder=holder)
        if metrics_port is not None:
            routes = health.routes(lambda: operator_view(leased, pool, client, config))
            server, thread = _serve(Starlette(routes=routes), metrics_host, metrics_port)
        log.info("collector %s on %s", holder, pgstore.safe_url(url))
        leased.start()
        stop.wait()
        log.info("collector %s stopping", holder)
        leased.stop()
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(STOP_SERVER_S)
        client.close()
        pool.close()
    return 0
