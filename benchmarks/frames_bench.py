"""Frame building: ipscape.frames vs a naive pandas.json_normalize baseline, side by side.

    python -m benchmarks.frames_bench [--items 100000] [--repeat 5] [--seed 7]

Generates realistic activity items (seeded: inbound calls, outbound dial attempts, a few
percent transfers and voicemails, the odd unknown type and string-typed number), then times
activities_frame, voicemail_frame and transfers_frame against the obvious baseline
(json_normalize + renames + pd.to_datetime) in the same run, best of N; then the same for the
statistics of a large tenant's campaigns and the status of its agents (items / 20 of each).
Not part of the tests.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from ipscape.frames import (
    activities_frame,
    agents_frame,
    campaigns_frame,
    transfers_frame,
    voicemail_frame,
)

SYDNEY_SUMMER = timezone(timedelta(hours=11))
CAMPAIGNS = [(11, "Sales"), (12, "Support"), (13, "Billing"), (21, "Renewals"), (22, "Winback")]
STATUSES, STATUS_WEIGHTS = ["Answered", "Abandoned", "Voicemail"], [80, 15, 5]
DIAL_STATUSES = ["Answered", "No Answer", "Busy", "Disconnected"]

ACTIVITY_RENAMES = {
    "data.activityId": "activity_id",
    "type": "type",
    "data.campaignId": "campaign_id",
    "data.campaignName": "campaign_name",
    "data.agentId": "agent_id",
    "data.agentFullName": "agent_name",
    "data.activityStatusName": "status",
    "data.timestamps.created": "created_at",
    "data.timestamps.answered": "answered_at",
    "data.timestamps.hangUp": "hangup_at",
    "data.leadId": "lead_id",
    "data.source": "source",
    "data.destination": "destination",
    "data.parentActivityId": "parent_activity_id",
    "data.rootActivityId": "root_activity_id",
    "data.durations.queue": "queue_s",
    "data.durations.talk": "talk_s",
    "data.durations.hold": "hold_s",
    "data.durations.wrap": "wrap_s",
    "data.durations.interaction": "interaction_s",
}
TIME_COLUMNS = ["created_at", "answered_at", "hangup_at"]
CAMPAIGN_RENAMES = {
    "campaignId": "campaign_id",
    "campaignName": "campaign_name",
    "estimatedCallWaitingTime": "ewt_s",
    "maxCallWaitingTime": "max_wait_s",
    "averageWaitingTime": "avg_wait_s",
    "callsWaiting": "calls_waiting",
    "callsReceived": "calls_received",
    "callsAnswered": "calls_answered",
    "agents.loggedIn": "agents_logged_in",
    "agents.available": "agents_available",
    "agents.busy": "agents_busy",
    "agents.wrap": "agents_wrap",
    "agents.paused": "agents_paused",
    "isActive": "is_active",
    "timezone": "timezone",
    "timestamp": "as_of",
}
AGENT_RENAMES = {
    "agentId": "agent_id",
    "agentFullName": "agent_name",
    "state": "state",
    "stateSince": "state_since",
    "pauseReason.title": "pause_reason",
    "campaignIds": "campaign_ids",
}
AGENT_STATES = ["Available", "Busy", "Wrap", "Paused", "LoggedOut"]
NOW = datetime(2024, 3, 12, 18, 0, tzinfo=SYDNEY_SUMMER)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def generate_items(count: int, seed: int) -> list[dict[str, Any]]:
    """A day of a large centre's activities, shaped as the API sends them."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 12, 8, 0, tzinfo=SYDNEY_SUMMER)
    items: list[dict[str, Any]] = []
    for n in range(count):
        activity_id = 1_000_000 + n
        created = start + timedelta(seconds=n * 36_000 / count)
        campaign_id, campaign_name = rng.choice(CAMPAIGNS)
        agent_id = rng.randint(200, 699)
        queue = int(rng.expovariate(1 / 60))
        talk = int(rng.lognormvariate(5.4, 0.5))
        timestamps = {
            "created": stamp(created),
            "joinQueue": stamp(created + timedelta(seconds=10)),
            "answered": stamp(created + timedelta(seconds=10 + queue)),
            "hangUp": stamp(created + timedelta(seconds=10 + queue + talk)),
            "wrapUp": stamp(created + timedelta(seconds=10 + queue + talk + 45)),
        }
        roll = rng.random()
        if roll < 0.15:
            items.append(
                {
                    "type": "call.outbound",
                    "data": {
                        "activityId": activity_id,
                        "parentActivityId": None,
                        "rootActivityId": activity_id,
                        "attemptId": 500_000 + n,
                        "dialStatusId": 1,
                        "dialStatusName": rng.choice(DIAL_STATUSES),
                        "phoneIndex": rng.randint(1, 3),
                        "phoneNumber": f"+614{rng.randint(10**7, 10**8 - 1)}",
                        "leadId": rng.randint(3000, 9000),
                        "campaignId": campaign_id,
                        "campaignName": campaign_name,
                        "agentId": agent_id,
                        "agentFullName": f"Agent {agent_id}",
                        "durations": {"dial": rng.randint(5, 40), "interaction": talk},
                        "timestamps": timestamps,
                    },
                }
            )
            continue
        if roll < 0.151:
            items.append({"type": "chat.inbound", "data": {"activityId": activity_id}})
            continue
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        voicemail = status == "Voicemail"
        parent = activity_id - rng.randint(1, 50) if roll > 0.93 and n > 50 else None
        items.append(
            {
                "type": "call.inbound",
                "data": {
                    "activityId": activity_id if roll > 0.01 else str(activity_id),
                    "parentActivityId": parent,
                    "rootActivityId": parent or activity_id,
                    "activityStatusId": 2,
                    "activityStatusName": status,
                    "source": f"+612{rng.randint(10**7, 10**8 - 1)}",
                    "destination": "+61280001000",
                    "campaignId": campaign_id,
                    "campaignName": campaign_name,
                    "agentInteractionId": None if voicemail else 80_000 + n,
                    "agentId": None if voicemail else agent_id,
                    "agentFullName": None if voicemail else f"Agent {agent_id}",
                    "wrapCode": None,
                    "wrapDescription": None,
                    "recordingStatus": "Recorded",
                    "recordingMetadata": None,
                    "voicemailMetadata": [
                        {
                            "mediaId": 900_000 + n * 2 + k,
                            "mediaUri": f"/v3.0/media/{900_000 + n * 2 + k}",
                            "duration": rng.randint(5, 60),
                        }
                        for k in range(rng.randint(1, 2) if voicemail else 0)
                    ],
                    "survey": None,
                    "callQualityScore": None,
                    "durations": {
                        "ivr": rng.randint(0, 20),
                        "queue": queue,
                        "hold": rng.choice([0, 0, 0, 15, 40]),
                        "interaction": talk,
                        "wrap": str(rng.randint(30, 90)) if roll < 0.02 else rng.randint(30, 90),
                        "talk": None if voicemail else talk,
                    },
                    "timestamps": timestamps,
                },
            }
        )
    return items


def generate_campaign_statistics(count: int, seed: int) -> list[dict[str, Any]]:
    """One statistics answer per campaign, shaped as the API sends them."""
    rng = random.Random(seed)
    return [
        {
            "campaignId": 10_000 + n,
            "campaignName": f"Campaign {n}",
            "estimatedCallWaitingTime": rng.randint(0, 600),
            "maxCallWaitingTime": rng.randint(0, 900),
            "averageWaitingTime": rng.random() * 120,
            "callsWaiting": rng.randint(0, 30),
            "callsReceived": rng.randint(0, 5000),
            "callsAbandonedInWorkflow": rng.randint(0, 50),
            "callsAbandonedInQueue": rng.randint(0, 200),
            "callsAnswered": rng.randint(0, 4500),
            "agents": {
                "loggedIn": rng.randint(0, 40),
                "available": rng.randint(0, 10),
                "busy": rng.randint(0, 25),
                "wrap": rng.randint(0, 5),
                "paused": rng.randint(0, 5),
            },
            "isActive": True,
            "timestamp": stamp(NOW - timedelta(seconds=rng.randint(0, 30))),
            "timezone": "Australia/Sydney",
        }
        for n in range(count)
    ]


def generate_agent_status(count: int, seed: int) -> list[dict[str, Any]]:
    """One agent-status item per agent, shaped as the API sends them."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        state = rng.choice(AGENT_STATES)
        items.append(
            {
                "agentId": 200 + n,
                "agentFullName": f"Agent {n}",
                "state": state,
                "stateSince": stamp(NOW - timedelta(seconds=rng.randint(0, 7200))),
                "pauseReason": {"id": 2, "title": "Lunch"} if state == "Paused" else None,
                "campaignIds": rng.sample(range(10_000, 10_050), rng.randint(0, 3)),
            }
        )
    return items


def _parse_times(frame: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601", utc=True, errors="coerce")


def baseline_activities(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.json_normalize(items).rename(columns=ACTIVITY_RENAMES)
    frame = frame[[c for c in ACTIVITY_RENAMES.values() if c in frame.columns]].copy()
    _parse_times(frame, TIME_COLUMNS)
    return frame


def baseline_voicemail(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.json_normalize(items)
    frame = frame.explode("data.voicemailMetadata").dropna(subset=["data.voicemailMetadata"])
    frame = frame.reset_index(drop=True)
    entries = pd.json_normalize(frame["data.voicemailMetadata"].tolist())
    result = pd.DataFrame(
        {
            "activity_id": frame["data.activityId"],
            "media_id": entries["mediaId"].astype(str),
            "received_at": frame["data.timestamps.created"],
            "caller": frame["data.source"],
            "campaign_id": frame["data.campaignId"],
            "campaign_name": frame["data.campaignName"],
            "agent_id": frame["data.agentId"],
            "duration_s": entries["duration"],
            "media_uri": entries["mediaUri"],
        }
    )
    _parse_times(result, ["received_at"])
    return result


def baseline_transfers(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.json_normalize(items)
    columns = {
        "data.activityId": "activity_id",
        "data.agentFullName": "agent",
        "data.agentId": "agent_id",
        "data.campaignName": "campaign",
        "data.campaignId": "campaign_id",
    }
    parents = frame[list(columns)].rename(columns=columns)
    children = frame[frame["data.parentActivityId"].notna()]
    merged = children.merge(
        parents.add_prefix("from_"),
        how="left",
        left_on="data.parentActivityId",
        right_on="from_activity_id",
    )
    result = merged.rename(
        columns={
            "data.activityId": "activity_id",
            "data.parentActivityId": "parent_activity_id",
            "data.rootActivityId": "root_activity_id",
            "data.timestamps.created": "transferred_at",
            "data.agentFullName": "to_agent",
            "data.agentId": "to_agent_id",
            "data.campaignName": "to_campaign",
            "data.campaignId": "to_campaign_id",
            "data.durations.talk": "talk_s",
        }
    )
    _parse_times(result, ["transferred_at"])
    return result


def baseline_campaigns(stats: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.json_normalize(stats).rename(columns=CAMPAIGN_RENAMES)
    frame["calls_abandoned"] = frame["callsAbandonedInWorkflow"] + frame["callsAbandonedInQueue"]
    frame = frame[[*CAMPAIGN_RENAMES.values(), "calls_abandoned"]].copy()
    _parse_times(frame, ["as_of"])
    return frame


def baseline_agents(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.json_normalize(items).rename(columns=AGENT_RENAMES)
    frame = frame[[c for c in AGENT_RENAMES.values() if c in frame.columns]].copy()
    _parse_times(frame, ["state_since"])
    frame["time_in_state_s"] = (NOW - frame["state_since"]).dt.total_seconds().clip(lower=0)
    return frame


def best_of(function: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    items = generate_items(args.items, args.seed)
    stats = generate_campaign_statistics(max(1, args.items // 20), args.seed)
    agents = generate_agent_status(max(1, args.items // 20), args.seed)
    print(
        f"{len(items):,} activity items, {len(stats):,} campaigns, {len(agents):,} agents, "
        f"best of {args.repeat} (seed {args.seed})"
    )
    pairs: list[tuple[str, Callable[[], pd.DataFrame], Callable[[], pd.DataFrame]]] = [
        ("activities_frame", lambda: activities_frame(items), lambda: baseline_activities(items)),
        ("voicemail_frame", lambda: voicemail_frame(items), lambda: baseline_voicemail(items)),
        ("transfers_frame", lambda: transfers_frame(items), lambda: baseline_transfers(items)),
        (
            "campaigns_frame",
            lambda: campaigns_frame(stats, as_of=NOW),
            lambda: baseline_campaigns(stats),
        ),
        ("agents_frame", lambda: agents_frame(agents, now=NOW), lambda: baseline_agents(agents)),
    ]
    for name, ours, baseline in pairs:
        rows = len(ours())
        ours_s = best_of(ours, args.repeat)
        base_s = best_of(baseline, args.repeat)
        print(
            f"{name}: {ours_s:.3f} s vs json_normalize baseline {base_s:.3f} s"
            f" -> {base_s / ours_s:.1f}x faster ({rows:,} rows)"
        )


if __name__ == "__main__":
    main()
