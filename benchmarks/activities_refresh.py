"""One activities refresh: the incremental ActivityWindow vs rebuilding every frame, side by side.

    python -m benchmarks.activities_refresh [--held 10000 50000 100000] [--new 100] [--repeat 20]

For each size, a window holding that many of today's activities (frames_bench's generated items,
fed through JSON so they are shaped as a tenant's response decodes) takes ``--repeat`` fetches
of ``--new`` items each, a fifth of them re-sent ids of recent calls whose status changed (so it
holds a little more by the last one). The baseline, measured in the same run on the same data,
is what the window did before: merge the raw items by id and rebuild the activities, voicemail
and transfers frames from all of them. Best of N each (and our median), then the memory each way
keeps per held activity: ours is the frames' ``memory_usage(deep=True)``; the old way adds the
raw dicts (traced while decoding) to frames that referenced them. "chunks" is the most chunks a
string column was in after the run; last, what chunks cost a read, which is why the window
combines a column past ``MAX_CHUNKS``. Not part of the tests.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

from benchmarks.frames_bench import best_of, generate_items
from ipscape import frames
from ipscape.activities import MAX_CHUNKS, ActivityWindow
from ipscape.clock import ManualClock

# The generated day runs 08:00-18:00 Sydney summer time; the clock stands just after it.
NOW = datetime.fromisoformat("2024-03-12T18:30:00+11:00")
TIMEZONE = "Australia/Sydney"
RESENT_SHARE = 0.2


def batches(
    items: list[dict[str, Any]], held: int, new: int, count: int
) -> list[list[dict[str, Any]]]:
    """``count`` fetches after the first ``held`` items: each ``new`` items, a share of them
    recent calls sent again with another status (what the cursor's overlap brings)."""
    resent = int(new * RESENT_SHARE)
    out = []
    start = held
    for _ in range(count):
        fresh = items[start : start + new - resent]
        again = copy.deepcopy(items[start - resent : start])
        for item in again:
            item["data"]["activityStatusName"] = "Abandoned"
        out.append(again + fresh)
        start += new - resent
    return out


def baseline_refresh(merged: dict[object, dict[str, Any]], batch: list[dict[str, Any]]) -> None:
    """The old fetch: raw items merged by id, then all three frames rebuilt from all of them."""
    merged = dict(merged)
    for item in batch:
        key = frames.item_identity(item) or ("raw", repr(item))
        merged.pop(key, None)
        merged[key] = item
    everything = list(merged.values())
    frames.activities_frame(everything)
    frames.voicemail_frame(everything)
    frames.transfers_frame(everything)


def frame_bytes(*frames_: pd.DataFrame, without: tuple[str, ...] = ()) -> int:
    return sum(
        int(f.drop(columns=list(without), errors="ignore").memory_usage(deep=True).sum())
        for f in frames_
    )


def traced_bytes(make: Callable[[], object]) -> tuple[object, int]:
    gc.collect()
    tracemalloc.start()
    try:
        made = make()
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return made, size


def measure(held: int, new: int, repeat: int, seed: int) -> dict[str, float]:
    generated = generate_items(held + new * repeat, seed)
    payload = json.dumps(generated)
    del generated
    items, raw_bytes = traced_bytes(lambda: json.loads(payload))
    assert isinstance(items, list)
    fetches = batches(items, held, new, repeat)
    answers: list[list[dict[str, Any]]] = [items[:held], *fetches]
    window = ActivityWindow(lambda since: answers.pop(0), timezone=TIMEZONE, clock=ManualClock(NOW))
    window.fetch()  # the first fetch of the day: everything so far

    times = []
    for _ in fetches:
        started = time.perf_counter()
        window.fetch()
        times.append(time.perf_counter() - started)
    update = window.current()
    assert update is not None

    merged = {frames.item_identity(item) or ("raw", repr(item)): item for item in items[:held]}
    base_s = best_of(lambda: baseline_refresh(merged, fetches[0]), max(3, repeat // 4))

    old_frames = [
        frames.activities_frame(items[:held]),
        frames.voicemail_frame(items[:held]),
        frames.transfers_frame(items[:held]),
    ]
    held_rows = len(update.activities)
    ours_bytes = frame_bytes(update.activities, update.voicemail, update.transfers)
    raw_share = raw_bytes * held / len(items)  # the dicts of the held items only
    old_bytes = raw_share + frame_bytes(*old_frames, without=("raw",)) + 8 * held
    return {
        "held": held,
        "ours_ms": min(times) * 1000,
        "ours_median_ms": statistics.median(times) * 1000,
        "base_ms": base_s * 1000,
        "ours_b": ours_bytes / held_rows,
        "old_b": old_bytes / held,
        "chunks": max(
            update.activities[c].array.__arrow_array__().num_chunks
            for c in update.activities.columns
            if isinstance(update.activities[c].array, pd.arrays.ArrowStringArray)
        ),
    }


def chunk_cost(rows: int, seed: int) -> list[tuple[int, float]]:
    """A filter and a take over an activities frame whose strings are in 1..n chunks."""
    frame = frames.activities_frame(generate_items(rows, seed)).drop(columns=["raw"])
    wanted = frame["campaign_id"] == 11
    out = []
    for chunks in (1, MAX_CHUNKS, 1000):
        size = -(-rows // chunks)
        split = pd.concat(
            [frame.iloc[i : i + size] for i in range(0, rows, size)], ignore_index=True
        )
        out.append((chunks, best_of(lambda split=split: split.loc[wanted], 10) * 1000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--new", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    print(
        f"one refresh of {args.new} items ({RESENT_SHARE:.0%} re-sent ids), best of "
        f"{args.repeat} (baseline best of {max(3, args.repeat // 4)}), seed {args.seed}"
    )
    header = (
        f"{'held':>8} {'ours ms':>8} {'(median)':>9} {'rebuild ms':>11} {'ratio':>7}"
        f" {'ours B/act':>11} {'old B/act':>10} {'ratio':>6} {'chunks':>7}"
    )
    print(header)
    print("-" * len(header))
    for held in args.held:
        r = measure(held, args.new, args.repeat, args.seed)
        print(
            f"{r['held']:>8,} {r['ours_ms']:>8.1f} {r['ours_median_ms']:>9.1f}"
            f" {r['base_ms']:>11.1f} {r['base_ms'] / r['ours_ms']:>6.0f}x"
            f" {r['ours_b']:>11,.0f} {r['old_b']:>10,.0f} {r['old_b'] / r['ours_b']:>5.1f}x"
            f" {r['chunks']:>7}"
        )
    rows = max(args.held)
    print(f"\na filter over {rows:,} activities by how many chunks the string columns are in:")
    for chunks, ms in chunk_cost(rows, args.seed):
        print(f"{chunks:>8,} chunks {ms:>8.1f} ms")
    print(f"(the window combines a column past {MAX_CHUNKS} chunks)")


if __name__ == "__main__":
    main()
