"""From the client to a feed's frame: the calls each feed makes, in one place.

Pollers and the CLI both go through these functions, so what the dashboard shows and what
``python -m ipscape fetch`` prints are the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ipscape import frames
from ipscape.client import IpscapeClient
from ipscape.errors import NotFoundError

FEEDS = ("campaigns", "agents", "voicemail", "transfers", "dial-attempts", "activities")
ACTIVITY_FEEDS = ("voicemail", "transfers", "dial-attempts", "activities")

# Which logical operations each feed spends the tenant's budget on (for the budget footer).
FEED_OPERATIONS: dict[str, tuple[str, ...]] = {
    "campaigns": ("list_campaigns", "campaign_statistics"),
    "agents": ("agent_status",),
    "activities": ("list_activities",),
    "voicemail": ("list_activities", "media"),
    "transfers": ("list_activities",),
    "dial-attempts": ("list_activities",),
}

# Per-campaign statistics are one request each: a few in flight keeps a 50-campaign poll short
# without looking like a burst to the tenant.
STATS_CONCURRENCY = 4


def start_of_day(now: datetime, timezone: str) -> datetime:
    """Local midnight of ``now`` in ``timezone``, as an aware datetime ("today" on every page)."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time(0), tzinfo=ZoneInfo(timezone))


def active_campaign_ids(client: IpscapeClient) -> list[int]:
    ids: list[int] = []
    for item in client.list_campaigns():
        if not isinstance(item, dict) or item.get("isActive") is False:
            continue
        try:
            ids.append(int(item["campaignId"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ids


def fetch_campaigns(
    client: IpscapeClient, campaign_ids: Sequence[int] = (), *, now: datetime | None = None
) -> pd.DataFrame:
    """Today's statistics of each campaign (every active one when ``campaign_ids`` is empty).

    A campaign that disappeared between listing and asking (404) is left out and counted; any
    other failure fails the whole feed so the poller keeps the last complete picture.
    """
    ids = list(campaign_ids) or active_campaign_ids(client)

    def one(campaign_id: int) -> dict[str, Any] | None:
        try:
            return client.campaign_statistics(campaign_id, period="day")
        except NotFoundError:
            return None

    if len(ids) > 1:
        with ThreadPoolExecutor(max_workers=STATS_CONCURRENCY) as pool:
            results = list(pool.map(one, ids))
    else:
        results = [one(i) for i in ids]
    frame = frames.campaigns_frame([r for r in results if r is not None], as_of=now)
    missing = sum(r is None for r in results)
    if missing:
        frame.attrs.setdefault("dropped", {})["campaign not found"] = missing
    return frame


def fetch_agents(
    client: IpscapeClient, *, campaign_id: int | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """Every agent's state. A tenant without the agent-status operation gives an empty frame
    marked ``attrs["unavailable"]``; pages then fall back to the per-campaign agent counts."""
    now = now or datetime.now().astimezone()
    try:
        items = client.agent_status(campaign_id)
    except NotFoundError:
        frame = frames.agents_frame([], now=now)
        frame.attrs["unavailable"] = (
            "This tenant does not offer agent status; agent counts come from campaign statistics."
        )
        return frame
    return frames.agents_frame(items, now=now)


def fetch_activity_items(
    client: IpscapeClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    activity_type: str | None = None,
) -> list[dict[str, Any]]:
    return list(
        client.iter_activities(
            campaign_id=campaign_id,
            lead_id=lead_id,
            created_from=since,
            created_to=until,
            activity_type=activity_type,
        )
    )


def fetch_feed(
    client: IpscapeClient,
    feed: str,
    *,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    timezone: str = "Australia/Sydney",
    now: datetime | None = None,
) -> pd.DataFrame:
    """One feed's frame, filtered. Activity feeds default to today (local midnight onwards)."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; choose one of {', '.join(FEEDS)}")
    now = now or datetime.now().astimezone()
    if feed == "campaigns":
        return fetch_campaigns(client, [campaign_id] if campaign_id is not None else (), now=now)
    if feed == "agents":
        return fetch_agents(client, campaign_id=campaign_id, now=now)
    if since is None and lead_id is None:
        since = start_of_day(now, timezone)
    items = fetch_activity_items(
        client,
        since=since,
        until=until,
        campaign_id=campaign_id,
        lead_id=lead_id,
        activity_type="call.outbound" if feed == "dial-attempts" else None,
    )
    return frames.FEED_BUILDERS[feed](items)
