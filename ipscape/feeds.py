"""From the client to a feed's frame: the calls each feed makes, in one place.

Pollers and the CLI both go through these functions, so what the dashboard shows and what
``python -m ipscape fetch`` prints are the same data.
"""

from __future__ import annotations

import contextvars
import math
import time as _time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from ipscape import frames, metrics
from ipscape.client import IpscapeClient
from ipscape.clock import start_of_day
from ipscape.errors import BudgetExhaustedError, NotFoundError, PaginationError
from ipscape.metrics.feeds import with_returned_at

FEEDS = ("campaigns", "agents", "voicemail", "transfers", "dial-attempts", "activities")
# Derived from the activities, not a tenant feed of its own (`fetch_performance`).
PERFORMANCE = "performance"

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
# A feed asks the request budget for this much more than it needs.
DEMAND_HEADROOM = 1.5


# Why a tenant's agents feed has no per-agent status (pages then fall back on the counts).
AGENT_STATUS_UNAVAILABLE = (
    "This tenant does not offer agent status; agent counts come from campaign statistics."
)


def active_campaign_ids(client: IpscapeClient) -> list[int]:
    """The tenant's campaigns, less those it marks inactive."""
    return frames.active_campaign_ids(client.list_campaigns())


def _statistics(client: IpscapeClient, ids: Sequence[int]) -> list[dict[str, Any] | None]:
    """Today's statistics of each campaign (None for one that disappeared: 404), a few at a time;
    each worker runs in a copy of the caller's context, so it keeps the poll's budget lane and
    deadline."""

    def one(campaign_id: int) -> dict[str, Any] | None:
        try:
            return client.campaign_statistics(campaign_id, period="day")
        except NotFoundError:
            return None

    if len(ids) <= 1:
        return [one(i) for i in ids]
    with ThreadPoolExecutor(max_workers=STATS_CONCURRENCY) as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, i) for i in ids]
        return [f.result() for f in futures]


def _campaigns_result(
    records: Sequence[dict[str, Any] | None], *, now: datetime | None
) -> frames.FrameResult:
    """The campaigns frame of the statistics answered; those that were not (None: the campaign
    disappeared) count as dropped."""
    built = frames.campaigns_result([r for r in records if r is not None], as_of=now)
    missing = sum(r is None for r in records)
    if not missing:
        return built
    drops = built.drops.merged(frames.Drops({frames.CAMPAIGN_NOT_FOUND: missing}))
    return frames.frame_result(built.frame, drops)


def fetch_campaigns(
    client: IpscapeClient,
    campaign_ids: Sequence[int] = (),
    *,
    now: datetime | None = None,
    within_s: float | None = None,
) -> pd.DataFrame:
    """Today's statistics of each campaign (every active one when ``campaign_ids`` is empty).

    A campaign that disappeared between listing and asking (404) is left out and counted; any
    other failure fails the whole feed so the poller keeps the last complete picture. When the
    request budget cannot cover every campaign within ``within_s`` seconds, nothing is asked and
    BudgetExhaustedError says so (the CLI's case; the dashboard uses CampaignRotation).
    """
    ids = list(campaign_ids) or active_campaign_ids(client)
    per_minute = client.budget.per_minute
    if within_s is not None and per_minute is not None:
        allowed = int(per_minute * within_s / 60)
        if len(ids) > allowed:
            raise BudgetExhaustedError(
                f"campaigns: {len(ids):,} campaigns need {len(ids):,} statistics requests; the "
                f"request budget allows {allowed:,} in {within_s:.0f} s. Ask for one campaign "
                "(--campaign ID) or raise [poll] max_requests_per_min",
                operation="campaign_statistics",
                per_minute=per_minute,
            )
    return _campaigns_result(_statistics(client, ids), now=now).frame


@dataclass(frozen=True)
class Coverage:
    """How much of the campaign list each poll covers under the request budget."""

    campaigns: int
    per_poll: int
    needed_per_min: float
    granted_per_min: float
    interval_s: float

    @property
    def complete(self) -> bool:
        return self.per_poll >= self.campaigns

    @property
    def cycle_s(self) -> float:
        """How often each campaign's statistics are refreshed."""
        if self.complete or self.per_poll <= 0:
            return self.interval_s
        return self.interval_s * math.ceil(self.campaigns / self.per_poll)

    def text(self) -> str | None:
        """What a supervisor should know when the budget cannot keep every campaign fresh."""
        if self.complete:
            return None
        minutes = self.cycle_s / 60
        return (
            f"{self.campaigns:,} campaigns at one poll every {self.interval_s:.0f} s need "
            f"{self.needed_per_min:,.0f} requests/min; the request budget gives this feed "
            f"{self.granted_per_min:,.0f}, so each poll refreshes {self.per_poll:,} of them and "
            f"each campaign is refreshed about every {minutes:,.0f} min. List fewer campaigns "
            "(campaigns = [...] in dashboard.toml) or raise [poll] max_requests_per_min."
        )


class CampaignRotation:
    """The campaigns feed under the request budget.

    Each poll lists the campaigns (unless dashboard.toml names them) and asks the statistics of
    as many as the budget grants this feed, those refreshed longest ago first; the frame holds the
    latest statistics of every campaign. With budget to spare that is every campaign every poll;
    at 10,000 campaigns it is a rolling refresh that keeps to the budget instead of sending 10,000
    requests every 10 s.
    """

    def __init__(
        self,
        client: IpscapeClient,
        campaign_ids: Sequence[int],
        *,
        interval_s: float,
        lane: str = "campaigns",
    ) -> None:
        self.client = client
        self.campaign_ids = tuple(campaign_ids)
        self.interval_s = interval_s
        self.lane = lane
        self._latest: dict[int, tuple[float, dict[str, Any]]] = {}
        self.coverage: Coverage | None = None

    def fetch(self, now: datetime | None = None) -> frames.FrameResult:
        listing = 0 if self.campaign_ids else 1
        ids = list(self.campaign_ids) or active_campaign_ids(self.client)
        needed = (listing + len(ids)) * 60.0 / self.interval_s
        # Asked with headroom, so retries and a slow minute do not eat into the next poll; an
        # unlimited budget grants infinity, capped so the arithmetic below stays finite.
        granted = min(self.client.budget.declare(self.lane, needed * DEMAND_HEADROOM), 1e12)
        per_poll = max(1, math.floor(granted * self.interval_s / 60.0 + 1e-9) - listing)
        never = float("-inf")
        chosen = sorted(ids, key=lambda i: self._latest.get(i, (never,))[0])[:per_poll]
        records = _statistics(self.client, chosen)
        asked_at = _time.monotonic()
        listed = set(ids)
        for campaign_id, record in zip(chosen, records, strict=True):
            if record is None:
                self._latest.pop(campaign_id, None)
            else:
                self._latest[campaign_id] = (asked_at, record)
        for gone in set(self._latest) - listed:
            del self._latest[gone]
        self.coverage = Coverage(
            len(ids), min(per_poll, len(ids)), needed, granted, self.interval_s
        )
        latest = [self._latest[i][1] for i in ids if i in self._latest]
        gone_now = [None] * sum(r is None for r in records)  # counted as "campaign not found"
        return _campaigns_result([*latest, *gone_now], now=now)


def fetch_agents_result(
    client: IpscapeClient, *, campaign_id: int | None = None, now: datetime | None = None
) -> frames.FrameResult:
    """Every agent's state. A tenant without the agent-status operation gives an empty frame
    whose result says why (``unavailable``); pages then fall back on the per-campaign counts."""
    now = now or datetime.now().astimezone()
    try:
        items = client.agent_status(campaign_id)
    except NotFoundError:
        empty = frames.agents_frame([], now=now)
        return frames.frame_result(empty, unavailable=AGENT_STATUS_UNAVAILABLE)
    return frames.agents_result(items, now=now)


def fetch_agents(
    client: IpscapeClient, *, campaign_id: int | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """`fetch_agents_result`'s frame."""
    return fetch_agents_result(client, campaign_id=campaign_id, now=now).frame


def fetch_activity_items(
    client: IpscapeClient,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    activity_type: str | None = None,
) -> list[dict[str, Any]]:
    """Every matching activity. A listing cut short (PaginationError) carries what was read in
    ``partial``, for a caller that can safely keep it."""
    items: list[dict[str, Any]] = []
    try:
        for item in client.iter_activities(
            campaign_id=campaign_id,
            lead_id=lead_id,
            created_from=since,
            created_to=until,
            activity_type=activity_type,
        ):
            items.append(item)
    except PaginationError as exc:
        exc.partial = items
        raise
    return items


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
    within_s: float | None = None,
) -> pd.DataFrame:
    """One feed's frame, filtered. Activity feeds default to today (local midnight onwards).
    ``within_s`` is the time the whole fetch may take (its request budget is planned on it)."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; choose one of {', '.join(FEEDS)}")
    now = now or datetime.now().astimezone()
    if feed == "campaigns":
        ids = [campaign_id] if campaign_id is not None else ()
        return fetch_campaigns(client, ids, now=now, within_s=within_s)
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
        activity_type=frames.DIAL_ATTEMPT_TYPE if feed == "dial-attempts" else None,
    )
    if feed == "voicemail":
        # when each was returned, from the calls fetched with it (ipscape.metrics)
        return with_returned_at(frames.voicemail_frame(items), frames.activities_frame(items))
    return frames.FEED_BUILDERS[feed](items)


def fetch_performance(
    client: IpscapeClient,
    *,
    target_s: float,
    targets: Mapping[int, float] | None = None,
    campaign_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    timezone: str = "Australia/Sydney",
    now: datetime | None = None,
) -> pd.DataFrame:
    """`metrics.performance` of the activities created in [since, until): since defaults to
    today (local midnight in ``timezone``), as for the activity feeds; ``target_s`` and
    ``targets`` are the service-level targets (`ThresholdsConfig.service_level_targets`).

    With ``campaign_id`` the tenant is asked for that campaign only and the frame is its one
    row, no total row: a campaign without calls in the window has counts 0 and unknown metrics,
    named as on its latest activity fetched (unknown when there is none).
    """
    now = now or datetime.now().astimezone()
    if since is None:
        since = start_of_day(now, timezone)
    items = fetch_activity_items(client, since=since, until=until, campaign_id=campaign_id)
    activities = frames.activities_frame(items)
    if campaign_id is None:
        return metrics.performance(
            activities, target_s=target_s, since=since, until=until, targets=targets
        )
    ours = activities["campaign_id"].eq(campaign_id).to_numpy(dtype=bool, na_value=False)
    activities = activities[ours]
    own_target = (targets or {}).get(campaign_id, target_s)
    rows = metrics.performance(activities, target_s=own_target, since=since, until=until)
    # One campaign: its calls are all the calls, so the total row holds its numbers, also
    # when it has none (counts 0, metrics unknown), and only needs its id and name.
    names = rows["campaign_name"].iloc[:-1]
    if len(names):
        name = names.iloc[0]
    else:
        latest = activities.sort_values("created_at", kind="stable", na_position="first")
        known = latest["campaign_name"].dropna()
        name = known.iloc[-1] if len(known) else pd.NA
    row = rows.iloc[-1:].reset_index(drop=True)
    row["campaign_id"] = pd.array([campaign_id], dtype="Int64")
    row["campaign_name"] = pd.array([name], dtype=rows["campaign_name"].dtype)
    return row
