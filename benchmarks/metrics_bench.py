"""Contact-centre metrics: ipscape.metrics vs a naive per-row Python loop, side by side.

    python -m benchmarks.metrics_bench [--items 50000] [--repeat 5] [--seed 7]

A large centre's day (frames_bench's generated activities, a third of its voicemail callers
dialled back later, the number written the national way) is built into the activities and
voicemail frames once. Then, best of N each in the same run: the three windows of
`performance_over` (today, last hour, last 15 minutes) against a loop over the rows that applies
the same definitions call by call into per-campaign dicts; and `returned_at` against a loop that
normalises every number with a regular expression and looks each voicemail's call-backs up in a
dict by number. Both sides must agree before any time is printed. Not part of the tests.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from benchmarks.frames_bench import NOW, generate_items, stamp
from ipscape.frames import activities_frame, voicemail_frame
from ipscape.metrics import TOTAL_NAME, performance_over, returned_at, windows

TZ = "Australia/Sydney"
TARGET_S = 20.0


def with_call_backs(items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """``items`` plus an outbound call to a third of the voicemail callers, 5-120 min later."""
    rng = random.Random(seed)
    extra: list[dict[str, Any]] = []
    for item in items:
        data = item["data"]
        if item["type"] != "call.inbound" or not data.get("voicemailMetadata"):
            continue
        if rng.random() >= 1 / 3:
            continue
        national = "0" + data["source"].removeprefix("+61")
        created = datetime.strptime(data["timestamps"]["created"], "%Y-%m-%dT%H:%M:%S%z")
        extra.append(
            {
                "type": "call.outbound",
                "data": {
                    "activityId": 5_000_000 + len(extra),
                    "phoneNumber": f"({national[:2]}) {national[2:6]} {national[6:]}",
                    "destination": f"({national[:2]}) {national[2:6]} {national[6:]}",
                    "dialStatusName": "No Answer",
                    "campaignId": 21,
                    "timestamps": {
                        "created": stamp(created + timedelta(minutes=rng.randint(5, 120)))
                    },
                },
            }
        )
    return items + extra


# ------------------------------------------------------------------------ the naive baseline


def missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or value != value


def loop_performance(activities: pd.DataFrame, now: datetime) -> dict[str, dict[Any, dict]]:
    """Window -> campaign id (None: all) -> counts and metrics, one row at a time."""
    spans = windows(now, TZ)
    out: dict[str, dict[Any, dict]] = {}
    rows = activities.to_dict("records")
    for name, (since, _until) in spans.items():
        tally: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in rows:
            if r["type"] != "call.inbound" or not missing(r["parent_activity_id"]):
                continue
            created = r["created_at"]
            if missing(created) or created < since:
                continue
            status = "" if missing(r["status"]) else r["status"].strip().lower()
            keys = ["none" if missing(r["campaign_id"]) else r["campaign_id"], None]
            for key in keys:
                t = tally[key]
                if r["has_voicemail"] is True or status == "voicemail":
                    t["voicemail"] += 1
                elif status == "abandoned":
                    # in the queue only: a hang-up in the IVR counts nowhere
                    waited = not missing(r["queue_s"]) and r["queue_s"] > 0
                    t["abandoned"] += not missing(r["queued_at"]) or waited
                elif status in ("answered", "transferred") or not missing(r["answered_at"]):
                    t["answered"] += 1
                    queue = r["queue_s"]
                    if not missing(queue):
                        t["wait_n"] += 1
                        t["wait_sum"] += queue
                        t["within"] += queue <= TARGET_S
                    parts = (r["talk_s"], r["hold_s"], r["wrap_s"])
                    if not any(missing(p) for p in parts):
                        t["handle_n"] += 1
                        t["handle_sum"] += sum(parts)
        result: dict[Any, dict] = {}
        for key, t in tally.items():
            if key == "none":
                continue
            offered = t["answered"] + t["abandoned"]
            result[key] = {
                "answered": int(t["answered"]),
                "service_level_pct": 100 * t["within"] / offered if offered else None,
                "aht_s": t["handle_sum"] / t["handle_n"] if t["handle_n"] else None,
            }
        out[name] = result
    return out


_SEPARATORS = re.compile(r"[\s\-.\u00a0()\[\]]")


def loop_number(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    digits = _SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?\d+", digits):
        return None
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("0011"):
        digits = digits[4:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "61" + digits[1:]
    elif not digits.startswith("61"):
        digits = "61" + digits
    return digits if 7 <= len(digits) <= 15 else None


def loop_returned_at(voicemail: pd.DataFrame, activities: pd.DataFrame) -> list[Any]:
    by_number: dict[str, list[pd.Timestamp]] = defaultdict(list)
    for r in activities.to_dict("records"):
        if r["type"] == "call.outbound":
            number = loop_number(r["destination"])
        elif r["type"] == "call.inbound":
            status = "" if missing(r["status"]) else r["status"].strip().lower()
            answered = r["has_voicemail"] is not True and status not in ("voicemail", "abandoned")
            answered &= status in ("answered", "transferred") or not missing(r["answered_at"])
            number = loop_number(r["source"]) if answered else None
        else:
            number = None
        if number is not None and not missing(r["created_at"]):
            by_number[number].append(r["created_at"])
    out: list[Any] = []
    for r in voicemail.to_dict("records"):
        number = loop_number(r["caller"])
        received = r["received_at"]
        calls = [] if missing(received) else by_number.get(number or "", [])
        later = [t for t in calls if t > received]
        out.append(min(later) if later else pd.NaT)
    return out


# --------------------------------------------------------------------------------- the run


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def agree(ours: dict[str, pd.DataFrame], loop: dict[str, dict[Any, dict]]) -> None:
    for name, table in ours.items():
        for record in table.to_dict("records"):
            key = None if record["campaign_name"] == TOTAL_NAME else record["campaign_id"]
            theirs = loop[name].get(key, {"answered": 0, "service_level_pct": None})
            assert record["answered"] == theirs["answered"], (name, key)
            level = record["service_level_pct"]
            if theirs["service_level_pct"] is None:
                assert missing(level), (name, key)
            else:
                assert math.isclose(level, theirs["service_level_pct"]), (name, key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    items = with_call_backs(generate_items(args.items, args.seed), args.seed)
    activities = activities_frame(items)
    voicemail = voicemail_frame(items)
    print(f"{len(activities):,} activities, {len(voicemail):,} voicemails; best of {args.repeat}")

    ours_s, ours = best_of(
        args.repeat, lambda: performance_over(activities, NOW, TZ, target_s=TARGET_S)
    )
    loop_s, loop = best_of(args.repeat, lambda: loop_performance(activities, NOW))
    agree(ours, loop)
    print(
        f"performance_over (3 windows): ours {ours_s * 1e3:8.1f} ms   loop {loop_s * 1e3:8.1f} ms"
        f"   loop/ours {loop_s / ours_s:6.1f}x"
    )

    ours_s, returned = best_of(args.repeat, lambda: returned_at(voicemail, activities))
    loop_s, looped = best_of(args.repeat, lambda: loop_returned_at(voicemail, activities))
    assert pd.Series(looped, dtype="datetime64[ns, UTC]").equals(returned.reset_index(drop=True))
    print(
        f"returned_at:                  ours {ours_s * 1e3:8.1f} ms   loop {loop_s * 1e3:8.1f} ms"
        f"   loop/ours {loop_s / ours_s:6.1f}x   ({returned.notna().sum():,} returned)"
    )


if __name__ == "__main__":
    main()
