"""A week of past days for the trend pages: LiveData's day-by-day reads (each past day kept once
read) against reading the whole range from the history store on every page run, side by side.

    python -m benchmarks.past_days [--per-day 20000] [--days 7] [--repeat 5] [--seed 7]

A large centre's day (frames_bench's generated activities) is copied onto each of the ``days``
days before "today" in a fresh SQLite history. The range is the past part of "last 7 days" at
18:00 (from 18:00 a week ago to midnight). Then, in the same run and best of N: the naive read
(one `activity_history` over the range, as a page would do at each rerun), our first read
(cold: a whole local day at a time, trimmed), our later reads (every day kept, the first one
included although the range's start moves with the clock), and the service-level trend of the
week (hourly buckets) that a Wait times viewer gets once a minute. Both reads must
return the same activities before any time is printed. Not part of the tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd

from benchmarks.frames_bench import NOW, generate_items
from ipscape.client import IpscapeClient
from ipscape.clock import ManualClock, start_of_day
from ipscape.config import DashboardConfig
from ipscape.frames import activities_frame
from ipscape.history import SQLiteHistory
from ipscape.live import LiveData
from ipscape.metrics.feeds import Scope, service_level_between
from ipscape.settings import demo_settings

TZ = "Australia/Sydney"


def week_of(day: pd.DataFrame, days: int) -> list[pd.DataFrame]:
    """``day`` (yesterday, as seen from "today") and copies moved back up to ``days`` - 1 more
    days, each copy with its own ids."""
    copies = []
    for back in range(days):
        moved = day.copy()
        for column in ("created_at", "queued_at", "answered_at", "hangup_at"):
            moved[column] = moved[column] - pd.Timedelta(days=back)
        moved["activity_id"] = moved["activity_id"] + back * 10_000_000
        copies.append(moved)
    return copies


def best(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    day = activities_frame(generate_items(args.per_day, args.seed))
    now = NOW + timedelta(days=1)  # "today" is the day after the generated one
    clock = ManualClock(now)
    midnight = start_of_day(now, TZ)
    # "Last 7 days" at 18:00: from 18:00 a week ago, so its first day is a part of one
    since = now - timedelta(days=args.days)
    with tempfile.TemporaryDirectory() as folder:
        history = SQLiteHistory(Path(folder) / "history.sqlite", args.days + 2, clock=clock)
        expected = 0
        for copy in week_of(day, args.days):
            history.append_activities(copy)
            created = copy["created_at"]
            expected += int(((created >= since) & (created < midnight)).sum())
        config = DashboardConfig(display_timezone=TZ)
        # No collector and no tenant: past days never ask one (the address is never dialled).
        client = IpscapeClient(demo_settings("http://127.0.0.1:9/platform-api/"))
        live = LiveData(client, config, history, clock=clock, embedded=False)
        try:
            naive_s, naive = best(
                args.repeat,
                lambda: history.activity_history(since, midnight, limit=10**8),
            )
            started = time.perf_counter()
            cold = live.past_activities(since, midnight)
            cold_s = time.perf_counter() - started
            warm_s, warm = best(args.repeat, lambda: live.past_activities(since, midnight))
            assert isinstance(naive, pd.DataFrame) and isinstance(warm, pd.DataFrame)
            assert len(naive) == len(cold) == len(warm) == expected
            assert set(naive["activity_id"]) == set(warm["activity_id"])
            trend_s, trend = best(
                args.repeat,
                lambda: service_level_between(
                    warm, since, midnight, TZ, Scope.of(config), freq="1h"
                ),
            )
            hours = (midnight - since) // timedelta(hours=1)
            assert isinstance(trend, pd.DataFrame) and len(trend) == hours  # not cut to a day
        finally:
            live.close()
            history.close()

    rows = len(naive)
    print(
        f"{args.days} past days of {args.per_day:,} generated activities ({rows:,} dated, in all)"
    )
    print(f"  whole range from the store, every run : {naive_s * 1000:8.1f} ms")
    print(f"  ours, first read (a day at a time)    : {cold_s * 1000:8.1f} ms")
    print(f"  ours, later reads (every day kept)    : {warm_s * 1000:8.1f} ms")
    print(f"  -> a later read is {naive_s / warm_s:,.0f}x faster than the naive read")
    print(f"  service level of the week, hourly     : {trend_s * 1000:8.1f} ms (once a minute)")


if __name__ == "__main__":
    main()
