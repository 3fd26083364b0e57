"""Settings of the simulated tenant: size, clock, credentials and the shape of its API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Logical operation -> (method, default path template, operationId, fixed summary).
# The summaries are what the client's discovery matches on, so they never change.
OPERATIONS: dict[str, tuple[str, str, str, str]] = {
    "list_activities": ("GET", "/v3.0/activities", "listActivities", "List of activities"),
    "activity_details": (
        "GET",
        "/v3.0/activities/{activityId}",
        "getActivity",
        "Activity details",
    ),
    "campaign_statistics": (
        "GET",
        "/v3.0/campaigns/{campaignId}/statistics",
        "getCampaignStatistics",
        "Campaign Statistics",
    ),
    "list_campaigns": ("GET", "/v3.0/campaigns", "listCampaigns", "List of campaigns"),
    "agent_status": ("GET", "/v3.0/agents/status", "getAgentStatus", "Agent status"),
    "media": ("GET", "/v3.0/media/{mediaId}", "getMedia", "Download media"),
    "create_lead": ("POST", "/v3.0/leads", "createLead", "Create lead"),
    "update_lead": ("PUT", "/v3.0/leads/{leadId}", "updateLead", "Update lead"),
}


@dataclass
class SimulatorConfig:
    """Everything that shapes one simulated tenant. Same config + same seed = same data."""

    seed: int = 1
    campaigns: int = 6
    agents: int = 40
    calls_per_day: int = 4000
    # Simulated time of day at start in the tenant zone; "now" follows the real wall clock.
    start_time: str = "10:30"
    timezone: str = "Australia/Sydney"
    # Simulated seconds per real second; 0 freezes the clock (only `advance` moves it),
    # which is what tests that compare two instances use.
    speed: float = 1.0
    token: str = "demo-token"
    keys: tuple[str, str] = ("demo-key-1", "demo-key-2")
    hostile_names: bool = False
    # Untrusted names of the caller's choosing (a test's Markdown links to its own server, say),
    # placed before HOSTILE_NAMES on campaigns and agents; agent i also reports extra_names[i]
    # as its state, as a tenant with custom states would.
    extra_names: tuple[str, ...] = ()
    path_overrides: dict[str, str] = field(default_factory=dict)
    omit_operations: frozenset[str] = frozenset()
    page_size: int = 100
    # Mean seconds a queued caller waits before hanging up (an exponential patience).
    patience_s: float = 150.0
    # Livelier traffic (all off by default, so the default tenant's data stays what it was; the
    # demo turns them on, see demo.py; the scheduling lives in traffic.py).
    # Mean minutes each inbound campaign's arrival rate keeps one level of BURST_LEVELS (calm,
    # normal, busy) before it draws another: a Markov-modulated Poisson process whose queues
    # build and drain. 0 keeps the plain intraday Poisson rate.
    burst_minutes: float = 0.0
    # Mean surges per open hour across the centre: a batch of callers (size drawn from
    # surge_calls) reaches one inbound campaign's queue at once, as after an outage or a mailout.
    surges_per_hour: float = 0.0
    surge_calls: tuple[int, int] = (6, 14)
    # Share of the callers in opening hours who take the IVR's leave-a-message option rather
    # than queue (without it, daytime voicemails come only from long waits).
    message_share: float = 0.0
    # Of the callers who leave a voicemail: the share an outbound agent calls back (a call-back
    # lead dialled like any other, due a log-normal delay of median callback_minutes after the
    # voicemail), and the share who call in again themselves and wait until answered.
    callback_share: float = 0.0
    recall_share: float = 0.0
    callback_minutes: float = 20.0

    def __post_init__(self) -> None:
        unknown = (set(self.path_overrides) | set(self.omit_operations)) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown simulator operations: {sorted(unknown)}")
        if self.campaigns < 1 or self.agents < 1 or self.calls_per_day < 0:
            raise ValueError("campaigns and agents must be >= 1, calls_per_day >= 0")
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")
        shares = (self.callback_share, self.recall_share)
        if min(shares) < 0 or sum(shares) > 1 or not 0 <= self.message_share <= 1:
            raise ValueError(
                "message_share must be in [0, 1]; callback_share and recall_share >= 0, sum <= 1"
            )
        low, high = self.surge_calls
        if min(self.burst_minutes, self.surges_per_hour, low) < 0 or high < low:
            raise ValueError(
                "burst_minutes, surges_per_hour, surge_calls must be >= 0, low <= high"
            )
        if self.callback_minutes <= 0 or self.patience_s <= 0:
            raise ValueError("callback_minutes and patience_s must be > 0")
        self.surge_calls = (int(low), int(high))
        self.omit_operations = frozenset(self.omit_operations)
        self.keys = (self.keys[0], self.keys[1])
        self.extra_names = tuple(self.extra_names)


SCALES: dict[str, dict[str, Any]] = {
    "small": {"campaigns": 6, "agents": 40, "calls_per_day": 4000},
    "medium": {"campaigns": 20, "agents": 200, "calls_per_day": 20_000},
    "large": {"campaigns": 50, "agents": 500, "calls_per_day": 50_000},
}
