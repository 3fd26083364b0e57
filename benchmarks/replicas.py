"""A dashboard replica's cost per viewer: server CPU and database reads, 1 vs N viewers.

    python -m benchmarks.replicas [--seconds 60] [--viewers 10] [--page overview|wall]

Starts, on 127.0.0.1: a throwaway PostgreSQL server (tests/pg_support.py), the simulator, one
``python -m ipscape collect`` and one dashboard replica (``IPSCAPE_COLLECTOR=external``, which
copies each new snapshot version from the database into memory). Then it holds 0, 1 and N
websocket viewers (tests/ws_viewer.py, live like a browser tab) on one page for ``--seconds``
each, in the same run, and reports per minute:

- **CPU** of the replica process (user + system, /proc/<pid>/stat), and per viewer above the
  idle phase (0 viewers: the follower's checks alone);
- **the replica's reads** from its own /metrics: frames read from the database
  (``ipscape_replica_snapshot_reads_total``) and status checks
  (``ipscape_replica_status_checks_total``);
- **the data read**: each new snapshot version times its frame's stored size (KiB read);
- **the database's work** on the test database: index and sequential scans per table
  (``pg_stat_user_tables``: snapshots, the leader row, history) and transactions committed and
  tuples returned (``pg_stat_database``). The collector's writes and the replica's own checks
  are in every phase, so the rows marked ``+`` (above the idle phase) are what the viewers cost.
  PostgreSQL flushes these statistics about once a second (an idle session's within 10 s), so
  they are good to a few per cent over a minute.

The naive baseline is computed, not run: a replica has no switch to read through without its
local copy. A session that read the database itself would read every feed its page's live
fragment shows at each run of that fragment (overview: 3 feeds every campaigns_s; wall: 4 feeds
every board tick), so its frame reads per minute are viewers x feeds x 60 / interval, at the
measured size of the frames. The goal is that our reads do not grow with viewers (ratio N/1
near 1) while the naive ones grow N-fold. Not part of the test suite: it prints, it asserts
nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ipscape.presentation.wall import board_tick_s
from ipscape.simulator import SimulatorConfig, start_simulator
from tests.browser_support import write_dashboard_config
from tests.pg_support import NO_POSTGRES, PostgresServer, postgres_bin_dir
from tests.scale_support import (
    CollectorProcess,
    cpu_seconds,
    metric_value,
    metrics_text,
    replica_env,
    replica_server,
    tenant_env,
)
from tests.ws_viewer import Viewer

POLL_S = 8.0  # every feed, the fastest the config allows
WALL_ROTATE_S = 20.0  # [wall] rotate_s's default: the board redraws every board_tick_s of it
# The frames each page's live fragment reads at every run: screens/overview.py's live_overview,
# ui/wall.py's Board (the wall's other fragments and the footer read no frame).
FEEDS_ON_PAGE = {
    "overview": ("campaigns", "agents", "voicemail"),
    "wall": ("campaigns", "agents", "voicemail", "transfers"),
}
PAGES = {"overview": ("", ""), "wall": ("wall", "kiosk=1")}
FIRST_RUN_S = 90.0
SETTLE_S = 5.0  # after the viewers show data, before a phase's counters are read
# Before the first phase: the collector's first polls load the whole day's activities into
# history, a burst of writes no later phase has.
WARMUP_S = 30.0
DATABASE = "replicas_bench"
# Index and sequential scans per table (pg_stat_user_tables): which reads the viewers cause.
TABLES = {
    "snapshot scans": ("ipscape_snapshots",),
    "leader scans": ("ipscape_leader",),
    "history scans": (
        "ipscape_campaign_history",
        "ipscape_agent_state_history",
        "ipscape_activity_history",
    ),
}
COLUMNS = (
    # (key, heading, width, decimals)
    ("cpu_s", "CPU s", 7, 2),
    ("frames", "frames", 7, 1),
    ("checks", "checks", 7, 1),
    ("snapshot scans", "snap scans", 10, 0),
    ("leader scans", "leader scans", 12, 0),
    ("history scans", "hist scans", 10, 0),
    ("xact", "db xact", 8, 0),
    ("tuples", "db tuples", 9, 0),
    ("kib", "KiB read", 8, 0),
    ("fragment_runs", "frag runs", 9, 1),
)


@dataclass(frozen=True)
class Reading:
    """Cumulative counters at one moment, and each feed's snapshot version."""

    at: float
    counters: dict[str, float]
    versions: dict[str, int]


@dataclass(frozen=True)
class Phase:
    viewers: int
    per_min: dict[str, float]


def naive_interval_s(page: str) -> float:
    return POLL_S if page == "overview" else board_tick_s(WALL_ROTATE_S)


def read_counters(replica_url: str, pid: int, database_url: str) -> Reading:
    metrics = metrics_text(replica_url)
    counters = {
        "cpu_s": cpu_seconds(pid),
        "frames": metric_value(metrics, "ipscape_replica_snapshot_reads_total") or 0.0,
        "checks": metric_value(metrics, "ipscape_replica_status_checks_total") or 0.0,
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_returned FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
        scans = dict(
            conn.execute(
                "SELECT relname, seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            ).fetchall()
        )
        versions = dict(conn.execute("SELECT feed, version FROM ipscape_snapshots").fetchall())
    assert row is not None
    counters["xact"], counters["tuples"] = float(row[0]), float(row[1])
    for key, tables in TABLES.items():
        counters[key] = float(sum(scans.get(table, 0) for table in tables))
    return Reading(time.monotonic(), counters, {str(k): int(v) for k, v in versions.items()})


def frame_bytes(database_url: str) -> dict[str, int]:
    """The stored size of each feed's latest frame."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT feed, coalesce(length(frame), 0) FROM ipscape_snapshots"
        ).fetchall()
    return {str(feed): int(size) for feed, size in rows}


@contextlib.contextmanager
def viewers(port: int, page: str, count: int) -> Iterator[list[Viewer]]:
    path, query = PAGES[page]
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(Viewer(port, path, query)) for _ in range(count)]
        for viewer in opened:
            viewer.wait_runs(1, FIRST_RUN_S)
            viewer.wait_text(r"updated \d+ s ago", FIRST_RUN_S)
        yield opened


def measure(
    replica_url: str, pid: int, database_url: str, port: int, page: str, count: int, seconds: float
) -> Phase:
    with viewers(port, page, count) as opened:
        time.sleep(SETTLE_S)
        before = read_counters(replica_url, pid, database_url)
        runs = sum(v.fragment_runs for v in opened)
        time.sleep(seconds)
        after = read_counters(replica_url, pid, database_url)
        runs = sum(v.fragment_runs for v in opened) - runs
    minutes = (after.at - before.at) / 60
    per_min = {k: (after.counters[k] - before.counters[k]) / minutes for k in after.counters}
    # One of our own stats reads is a transaction of its own: not the replica's.
    per_min["xact"] -= 1 / minutes
    sizes = frame_bytes(database_url)
    new_versions = {f: v - before.versions.get(f, 0) for f, v in after.versions.items()}
    # The replica reads each new version once: KiB read is versions x the frame's size.
    per_min["kib"] = sum(n * sizes.get(f, 0) for f, n in new_versions.items()) / 1024 / minutes
    per_min["fragment_runs"] = runs / minutes
    return Phase(count, per_min)


def row(label: str, values: dict[str, float]) -> str:
    cells = [f"{label:>12}"]
    for key, _, width, decimals in COLUMNS:
        cells.append(f"{values.get(key, 0.0):{width}.{decimals}f}")
    return " ".join(cells)


def report(phases: list[Phase], page: str, sizes: dict[str, int]) -> None:
    idle, one, many = phases
    print(f"\none replica, page {page!r}, per minute; '+' rows: above the idle phase")
    print(" ".join([f"{'viewers':>12}", *(f"{h:>{w}}" for _, h, w, _ in COLUMNS)]))
    for phase in phases:
        print(row(str(phase.viewers), phase.per_min))
    for phase in (one, many):
        above = {k: v - idle.per_min.get(k, 0.0) for k, v in phase.per_min.items()}
        print(row(f"+{phase.viewers}", above))
        per_viewer = {k: v / phase.viewers for k, v in above.items()}
        print(row("per viewer", per_viewer))

    def ratio(key: str, above_idle: bool) -> str:
        base = idle.per_min[key] if above_idle else 0.0
        low, high = one.per_min[key] - base, many.per_min[key] - base
        return f"{high / low:.2f}" if low > 0 else "n/a"

    print(
        f"\nratio {many.viewers}/{one.viewers} viewers: frames read {ratio('frames', False)}, "
        f"KiB read {ratio('kib', False)}, status checks {ratio('checks', False)}, "
        f"snapshot-table scans {ratio('snapshot scans', False)}; above idle: leader-table scans "
        f"{ratio('leader scans', True)}, db transactions {ratio('xact', True)}, "
        f"replica CPU {ratio('cpu_s', True)}"
    )
    interval = naive_interval_s(page)
    feeds = FEEDS_ON_PAGE[page]
    kib_per_run = sum(sizes.get(f, 0) for f in feeds) / 1024
    print(
        f"\nnaive baseline, computed (no replica switch reads through without the local copy): "
        f"a session reading the database itself reads {', '.join(feeds)} every {interval:.0f} s"
    )
    headings = ("naive frames", "naive KiB", "ours frames", "ours KiB")
    print(" ".join([f"{'viewers':>12}", *(f"{h:>12}" for h in headings)]))
    for phase in (one, many):
        runs = phase.viewers * 60 / interval
        print(
            f"{phase.viewers:>12} {runs * len(feeds):12.1f} {runs * kib_per_run:12.0f} "
            f"{phase.per_min['frames']:12.1f} {phase.per_min['kib']:12.0f}"
        )
    stored = ", ".join(f"{feed} {size / 1024:.1f} KiB" for feed, size in sorted(sizes.items()))
    print(f"(latest frames in the database: {stored})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--viewers", type=int, default=10, help="viewers of the last phase")
    parser.add_argument("--page", choices=sorted(PAGES), default="overview")
    args = parser.parse_args(argv)
    if postgres_bin_dir() is None:
        print(NO_POSTGRES, file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="ipscape-replicas-"))
    config = write_dashboard_config(
        workdir / "dashboard.toml", history=workdir / "unused.sqlite", poll_s=POLL_S
    )
    postgres = PostgresServer()
    sim = start_simulator(SimulatorConfig(seed=5))
    collector: CollectorProcess | None = None
    replica = None
    try:
        postgres.start()
        url = postgres.create_database(DATABASE)
        collector = CollectorProcess(tenant_env(sim, config, url), workdir / "collector.log")
        collector.start()
        collector.wait_for_log(r"collector active")
        replica = replica_server(replica_env(sim, config, url), workdir / "replica.log")
        replica.start(FIRST_RUN_S)
        print(f"logs in {workdir}; {args.seconds:.0f} s per phase, page {args.page!r}")
        time.sleep(WARMUP_S)
        phases = []
        for count in (0, 1, args.viewers):
            phase = measure(
                replica.url, replica.pid, url, replica.port, args.page, count, args.seconds
            )
            print(f"  {count} viewer(s) measured")
            phases.append(phase)
        report(phases, args.page, frame_bytes(url))
    finally:
        if replica is not None:
            replica.stop()
        if collector is not None:
            collector.stop()
        sim.stop()
        postgres.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
