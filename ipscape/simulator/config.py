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

    def __post_init__(self) -> None:
        unknown = (set(self.path_overrides) | set(self.omit_operations)) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown simulator operations: {sorted(unknown)}")
        if self.campaigns < 1 or self.agents < 1 or self.calls_per_day < 0:
            raise ValueError("campaigns and agents must be >= 1, calls_per_day >= 0")
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.omit_operations = frozenset(self.omit_operations)
        self.keys = (self.keys[0], self.keys[1])
        self.extra_names = tuple(self.extra_names)


SCALES: dict[str, dict[str, Any]] = {
    "small": {"campaigns": 6, "agents": 40, "calls_per_day": 4000},
    "medium": {"campaigns": 20, "agents": 200, "calls_per_day": 20_000},
    "large": {"campaigns": 50, "agents": 500, "calls_per_day": 50_000},
}
