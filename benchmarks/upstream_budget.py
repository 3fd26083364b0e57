"""Upstream requests per minute: one collector (ours) vs every viewer polling for itself.

    python -m benchmarks.upstream_budget [--seconds 25] [--viewers 50] [--scale small]

Starts the simulator, then runs 1 and then N viewers for a fixed period, each reading every
~1 s, twice: through one shared LiveData (ours), and as a naive viewer that polls the tenant
itself on the same intervals (what a per-session cache would do). Requests are counted by the
simulator (/_simulator/stats), not timed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ipscape import feeds, frames
from ipscape.client import IpscapeClient
from ipscape.clock import start_of_day
from ipscape.config import DashboardConfig, HistoryConfig
from ipscape.history import SQLiteHistory
from ipscape.live import LiveData
from ipscape.settings import demo_settings
from ipscape.simulator import SCALES, RunningSimulator, SimulatorConfig, start_simulator


def shared_viewers(
    sim: RunningSimulator, config: DashboardConfig, clock: Callable[[], float]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one viewer's read, cleanup): every viewer reads the same process-wide LiveData."""
    history = SQLiteHistory(config.history.path, 1)
    live = LiveData(IpscapeClient(demo_settings(sim.api_root)), config, history, clock=clock)
    live.start()  # the collector polls on schedule, as the server does from boot

    def read() -> None:
        live.campaigns()
        live.agents()
        live.voicemail()
        live.transfers()

    return read, live.close


def naive_viewers(
    sim: RunningSimulator, config: DashboardConfig, clock: Callable[[], float]
) -> tuple[Callable[[], Callable[[], None]], Callable[[], None]]:
    """(factory of one viewer's read, cleanup): each viewer polls the tenant on its own."""
    client = IpscapeClient(demo_settings(sim.api_root))
    poll = config.poll

    def viewer() -> Callable[[], None]:
        due = {"campaigns": 0.0, "agents": 0.0, "activities": 0.0}

        def read() -> None:
            now = clock()
            if now >= due["campaigns"]:
                feeds.fetch_campaigns(client, config.campaigns)
                due["campaigns"] = now + poll.campaigns_s
            if now >= due["agents"]:
                feeds.fetch_agents(client)
                due["agents"] = now + poll.agents_s
            if now >= due["activities"]:
                since = start_of_day(datetime.fromtimestamp(now, UTC), config.display_timezone)
                items = feeds.fetch_activity_items(client, since=since)
                frames.voicemail_frame(items)
                frames.transfers_frame(items)
                due["activities"] = now + poll.activities_s

        return read

    return viewer, client.close


def run(
    sim: RunningSimulator,
    viewers: int,
    seconds: float,
    make_read: Callable[[], Callable[[], None]],
) -> tuple[int, int]:
    """Run ``viewers`` threads reading every ~1 s for ``seconds``; (upstream requests, reads)."""
    stop = threading.Event()
    reads = [0] * viewers
    readers = [make_read() for _ in range(viewers)]

    def loop(i: int) -> None:
        rng = random.Random(i)
        stop.wait(rng.uniform(0, 1))  # viewers open their pages at different moments
        while not stop.is_set():
            readers[i]()
            reads[i] += 1
            stop.wait(1.0)

    sim.reset_stats()
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(viewers)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    requests = sim.stats()["total"]
    stop.set()
    for t in threads:
        t.join(30)
    return requests, sum(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each run")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    args = parser.parse_args()

    sim = start_simulator(SimulatorConfig(seed=1, **SCALES[args.scale]))
    tmp = tempfile.TemporaryDirectory()
    try:
        # The simulator's day runs from a busy time of day, not the wall clock: the pollers
        # follow its clock so "today" and "since the last fetch" mean the same on both sides.
        sim_now = frames.parse_timestamp(sim.state()["now"]).timestamp()
        offset = sim_now - time.time()

        def clock() -> float:
            return time.time() + offset

        config = replace(
            DashboardConfig(), history=HistoryConfig(path=str(Path(tmp.name) / "h.sqlite"))
        )
        results: dict[tuple[str, int], tuple[int, int]] = {}
        for viewers in (1, args.viewers):
            read, close = shared_viewers(sim, config, clock)
            try:
                results["ours", viewers] = run(sim, viewers, args.seconds, lambda r=read: r)
            finally:
                close()
            factory, close = naive_viewers(sim, config, clock)
            try:
                results["naive", viewers] = run(sim, viewers, args.seconds, factory)
            finally:
                close()
    finally:
        sim.stop()
        tmp.cleanup()

    per_min = 60.0 / args.seconds
    print(f"scale={args.scale} seconds per run={args.seconds:g} (poll: campaigns/agents "
          f"{config.poll.campaigns_s:g} s, activities {config.poll.activities_s:g} s)")  # fmt: skip
    print(f"{'mode':<6} {'viewers':>7} {'requests':>9} {'req/min':>9} {'reads':>7}")
    for (mode, viewers), (requests, reads) in results.items():
        print(f"{mode:<6} {viewers:>7} {requests:>9} {requests * per_min:>9.1f} {reads:>7}")
    n = args.viewers

    def ratio(a: tuple[str, int], b: tuple[str, int]) -> str:
        return f"{results[a][0] / max(results[b][0], 1):.2f}x"

    print(f"ours  {n} vs 1 viewer : {ratio(('ours', n), ('ours', 1))}")
    print(f"naive {n} vs 1 viewer : {ratio(('naive', n), ('naive', 1))}")
    print(f"naive vs ours at {n}  : {ratio(('naive', n), ('ours', n))}")


if __name__ == "__main__":
    main()
