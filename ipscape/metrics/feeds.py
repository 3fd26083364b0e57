"""The metrics the collector publishes with every activities refresh, as frames pages read
from the snapshot store like any other feed (so no page, and no viewer, computes them):

- ``performance``: `performance` over today, the last hour and the last 15 minutes, one block
  of rows per window (column ``window``), each with its campaign rows and its total row;
- ``service-level``: today's `service_level_trend` (all campaigns, 15-minute buckets);
- the voicemail frame with ``returned_at`` filled in (`returned_at`).

The service-level targets and the campaign list come from the dashboard config; a configured
campaign list limits the calls counted (the total is the total of the campaigns shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import pandas as pd

from ipscape.clock import start_of_day
from ipscape.config import DashboardConfig
from ipscape.metrics.callbacks import returned_at
from ipscape.metrics.performance import (
    PERFORMANCE_COLUMNS,
    TREND_COLUMNS,
    TREND_MAX_POINTS,
    performance_over,
    service_level_trend,
)

PERFORMANCE_FEED: Final = "performance"
SERVICE_LEVEL_FEED: Final = "service-level"
# The windows of the performance feed, in the order they are published.
WINDOWS: Final = ("today", "1h", "15m")
WINDOW_LABELS: Final[dict[str, str]] = {
    "today": "Today",
    "1h": "Last hour",
    "15m": "Last 15 min",
}
# A range's trend has at most this many buckets: a month of hours (the longest custom range).
RANGE_MAX_POINTS: Final = 31 * 24 + 1
# Feed -> its columns (an empty frame of a feed not yet published has them).
FEED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    PERFORMANCE_FEED: ("window", *PERFORMANCE_COLUMNS),
    SERVICE_LEVEL_FEED: tuple(TREND_COLUMNS),
}


@dataclass(frozen=True)
class Scope:
    """What the published metrics are measured against: the service-level target T (and each
    campaign's own), and the campaigns counted (empty: all)."""

    target_s: float = 20.0
    targets: Mapping[int, float] = field(default_factory=dict)
    campaigns: Sequence[int] = ()

    @classmethod
    def of(cls, config: DashboardConfig) -> Scope:
        target_s, targets = config.thresholds.service_level_targets()
        return cls(target_s, targets, tuple(config.campaigns))

    def calls(self, activities: pd.DataFrame) -> pd.DataFrame:
        """The activities of the campaigns counted."""
        if not self.campaigns:
            return activities
        wanted = list(self.campaigns)
        keep = activities["campaign_id"].isin(wanted).to_numpy(dtype=bool, na_value=False)
        return activities[keep]


def performance_feed(
    activities: pd.DataFrame, now: datetime, tz: str, scope: Scope
) -> pd.DataFrame:
    """The ``performance`` feed: `performance_over` of each window stacked, ``window`` first."""
    by_window = performance_over(
        scope.calls(activities), now, tz, target_s=scope.target_s, targets=scope.targets
    )
    blocks = [by_window[name].assign(window=name) for name in WINDOWS]
    stacked = pd.concat(blocks, ignore_index=True)
    stacked["window"] = stacked["window"].astype("string")
    return stacked[list(FEED_COLUMNS[PERFORMANCE_FEED])]


def service_level_feed(
    activities: pd.DataFrame, now: datetime, tz: str, scope: Scope
) -> pd.DataFrame:
    """The ``service-level`` feed: today's trend, from local midnight to ``now``."""
    return service_level_between(
        activities, start_of_day(now, tz), now, tz, scope, max_points=TREND_MAX_POINTS
    )


def service_level_between(
    activities: pd.DataFrame,
    since: datetime,
    until: datetime,
    tz: str,
    scope: Scope,
    *,
    campaign_ids: Sequence[int] = (),
    freq: str = "15min",
    max_points: int = RANGE_MAX_POINTS,
) -> pd.DataFrame:
    """The service-level trend of calls created in [since, until), counted as the feed counts
    them, of ``campaign_ids`` only when given (a page's campaign scope, within the config's);
    at most the latest ``max_points`` buckets."""
    calls = scope.calls(activities)
    if campaign_ids:
        wanted = list(campaign_ids)
        calls = calls[calls["campaign_id"].isin(wanted).to_numpy(dtype=bool, na_value=False)]
    return service_level_trend(
        calls,
        target_s=scope.target_s,
        targets=scope.targets,
        tz=tz,
        freq=freq,
        since=since,
        until=until,
        max_points=max_points,
    )


def with_returned_at(voicemail: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """The voicemail frame with ``returned_at`` computed from the day's activities."""
    return voicemail.assign(returned_at=returned_at(voicemail, activities))


def window_rows(performance: pd.DataFrame, window: str) -> pd.DataFrame:
    """The rows of one window of a ``performance`` feed frame, without the window column."""
    if "window" not in performance.columns:
        return performance.reindex(columns=list(PERFORMANCE_COLUMNS)).iloc[0:0]
    rows = performance[performance["window"].astype("string").eq(window).fillna(False)]
    return rows.drop(columns="window").reset_index(drop=True)
