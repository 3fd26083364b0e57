"""Aggregates the screens show: headline numbers, counts by state, campaign and time bucket.

Each rule is written once here, with its fallback: without per-agent status the campaign
statistics' agent counts stand in (`agents_free_and_logged_in`); an unknown input gives an
unknown result, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from ipscape.config import Thresholds
from ipscape.metrics import returned_by, voicemail_summary
from ipscape.metrics.feeds import window_rows
from ipscape.presentation.formats import age_seconds, is_missing, number, text
from ipscape.presentation.levels import Level, LevelMemory
from ipscape.snapshots import Snapshot
from ipscape.states import grouped_states, state_counts

MAX_TIME_BUCKETS = 200

# metric name in Thresholds -> column of the campaigns frame
CAMPAIGN_METRICS = {
    "ewt_s": "ewt_s",
    "longest_wait_s": "max_wait_s",
    "calls_waiting": "calls_waiting",
    # today's performance, once merged in (`with_performance`)
    "service_level": "service_level_pct",
    "abandon_rate": "abandon_rate_pct",
}
# The rolling windows of the performance feed, as the tiles name them.
RECENT_LABELS = {"1h": "last hour", "15m": "last 15 min"}
# The performance columns `with_performance` adds to the campaigns frame.
PERFORMANCE_METRICS = ("service_level_pct", "abandon_rate_pct", "asa_s", "aht_s")


def total(series: pd.Series) -> float | None:
    """Sum of known values, or None when none is known (unknown must not become 0)."""
    known = pd.to_numeric(series, errors="coerce").dropna()
    return float(known.sum()) if len(known) else None


def largest(series: pd.Series) -> float | None:
    """Largest known value, or None when none is known."""
    known = pd.to_numeric(series, errors="coerce").dropna()
    return float(known.max()) if len(known) else None


def local_naive(series: pd.Series, tz: str) -> pd.Series:
    """Timestamps as naive wall-clock times in ``tz`` (what a chart's time axis shows)."""
    times = pd.to_datetime(series, utc=True)
    return times.dt.tz_convert(tz).dt.tz_localize(None)


def usable(snapshot: Snapshot) -> pd.DataFrame | None:
    """A snapshot's frame, or None when it holds no data to count: never fetched, or (agents)
    the tenant's per-agent status is unavailable and campaign counts must stand in."""
    if not snapshot.has_data or snapshot.unavailable:
        return None
    return snapshot.frame


def campaign_names(campaigns: pd.DataFrame) -> dict[Any, str]:
    """campaign_id -> name ("--" for a missing name)."""
    if campaigns.empty:
        return {}
    return {
        cid: text(name)
        for cid, name in zip(campaigns["campaign_id"], campaigns["campaign_name"], strict=True)
        if not is_missing(cid)
    }


def campaign_levels(
    campaigns: pd.DataFrame, thresholds: Thresholds, memory: LevelMemory
) -> dict[Any, dict[str, Level]]:
    """campaign_id -> metric -> level, with hysteresis from ``memory``."""
    result: dict[Any, dict[str, Level]] = {}
    metrics = {m: c for m, c in CAMPAIGN_METRICS.items() if c in campaigns.columns}
    for row in campaigns.itertuples(index=False):
        cid = row.campaign_id
        result[cid] = {
            metric: memory.update(
                (metric, cid), getattr(row, column), thresholds.for_campaign(metric, cid)
            )
            for metric, column in metrics.items()
        }
    return result


def with_performance(campaigns: pd.DataFrame, performance: pd.DataFrame | None) -> pd.DataFrame:
    """The campaigns frame with each campaign's performance (`PERFORMANCE_METRICS`, unknown
    where the campaign had no calls or there is no performance yet) from a window's rows."""
    if performance is None or performance.empty or campaigns.empty:
        extra = {
            name: pd.array([None] * len(campaigns), dtype="Float64") for name in PERFORMANCE_METRICS
        }
        return campaigns.assign(**extra)
    rows = performance[performance["campaign_id"].notna()]
    by_id = rows.set_index(rows["campaign_id"].astype("Int64"))
    ids = campaigns["campaign_id"].astype("Int64")
    return campaigns.assign(
        **{name: by_id[name].astype("Float64").reindex(ids).array for name in PERFORMANCE_METRICS}
    )


@dataclass(frozen=True)
class AgentCounts:
    free: float | None
    logged_in: float | None
    # True when counted from campaign statistics: an agent on several campaigns counts in
    # each, so the numbers are upper bounds.
    from_campaigns: bool = False


def agent_counts(agents: pd.DataFrame | None, campaigns: pd.DataFrame | None) -> AgentCounts:
    """Agents free and logged in: from per-agent status (``agents``, None when unavailable), or
    else from the campaign statistics; unknown when neither is there."""
    if agents is not None:
        states = agents["state"].astype("string")
        return AgentCounts(
            free=float((states == "Available").sum()),
            logged_in=float((states.fillna("LoggedOut") != "LoggedOut").sum()),
        )
    if campaigns is not None:
        return AgentCounts(
            free=total(campaigns["agents_available"]),
            logged_in=total(campaigns["agents_logged_in"]),
            from_campaigns=True,
        )
    return AgentCounts(None, None)


@dataclass(frozen=True)
class Kpis:
    waiting: float | None
    longest_wait_s: float | None
    max_ewt_s: float | None
    agents_free: float | None
    agents_logged_in: float | None
    voicemail: float | None  # voicemails waiting for a call-back
    oldest_voicemail_s: float | None  # of those waiting
    newest_voicemail_s: float | None = None
    # today's performance (`performance_totals`) and call-backs (`metrics.voicemail_summary`)
    performance: PerformanceTotals | None = None
    # the same over the rolling windows: ("last hour", totals), ("last 15 min", totals)
    recent: tuple[tuple[str, PerformanceTotals | None], ...] = ()
    voicemail_returned: int | None = None
    median_return_s: float | None = None


@dataclass(frozen=True)
class PerformanceTotals:
    """Service level and abandon rate of a set of campaigns (unknown: None), and the counts."""

    service_level_pct: float | None
    abandon_rate_pct: float | None
    answered: int
    abandoned: int


def performance_totals(rows: pd.DataFrame | None) -> PerformanceTotals | None:
    """The totals of a window's performance rows (`ipscape.metrics.feeds.window_rows`): its
    total row when it has one, else the campaign rows added up (a wall scoped to some
    campaigns), counting each call again against its own campaign's target; None without
    rows."""
    if rows is None or rows.empty:
        return None
    totals = rows[rows["campaign_id"].isna()]
    if len(totals) == 1:
        row = totals.iloc[0]
        return PerformanceTotals(
            number(row["service_level_pct"]),
            number(row["abandon_rate_pct"]),
            int(row["answered"]),
            int(row["abandoned"]),
        )
    campaigns = rows[rows["campaign_id"].notna()]
    answered = campaigns["answered"].astype("Int64").fillna(0).to_numpy(dtype=float)
    abandoned = campaigns["abandoned"].astype("Int64").fillna(0).to_numpy(dtype=float)
    offered = answered + abandoned
    level = campaigns["service_level_pct"].astype("Float64").fillna(0).to_numpy(dtype=float)
    within = (level / 100.0 * offered).sum()
    n = offered.sum()
    return PerformanceTotals(
        None if n == 0 else 100.0 * within / n,
        None if n == 0 else 100.0 * abandoned.sum() / n,
        int(answered.sum()),
        int(abandoned.sum()),
    )


def _window_totals(performance: pd.DataFrame | None, window: str) -> PerformanceTotals | None:
    return None if performance is None else performance_totals(window_rows(performance, window))


def waiting_voicemail(voicemail: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The voicemails not returned by ``now`` (all of them in a frame without call-backs)."""
    return voicemail[~returned_by(voicemail, now)]


def voicemail_ages(voicemail: pd.DataFrame, now: datetime) -> tuple[float | None, float | None]:
    """(oldest, newest) age in seconds of the voicemails waiting; None when unknown."""
    ages = age_seconds(waiting_voicemail(voicemail, now)["received_at"], now).clip(lower=0)
    known = ages.dropna()
    if known.empty:
        return None, None
    return float(known.max()), float(known.min())


def kpis(
    campaigns: pd.DataFrame | None,
    agents: pd.DataFrame | None,
    voicemail: pd.DataFrame | None,
    now: datetime,
    *,
    performance: pd.DataFrame | None = None,
    tz: str = "UTC",
) -> Kpis:
    """Headline numbers. A frame of None means "no data" (not yet, or unavailable): its numbers
    are unknown, or come from the fallback (`agent_counts`). ``performance`` is the frame of
    the performance feed (every window; a scoped wall's without the total rows); ``tz`` says
    when today began (for the call-backs of today)."""
    people = agent_counts(agents, campaigns)
    vm_count = oldest = newest = median = None
    returned = None
    if voicemail is not None:
        vm_count = float((~returned_by(voicemail, now)).sum())
        oldest, newest = voicemail_ages(voicemail, now)
        if "returned_at" in voicemail.columns:
            summary = voicemail_summary(voicemail, now, tz=tz)
            returned, median = summary.returned_today, summary.median_return_s
    return Kpis(
        waiting=total(campaigns["calls_waiting"]) if campaigns is not None else None,
        longest_wait_s=largest(campaigns["max_wait_s"]) if campaigns is not None else None,
        max_ewt_s=largest(campaigns["ewt_s"]) if campaigns is not None else None,
        agents_free=people.free,
        agents_logged_in=people.logged_in,
        voicemail=vm_count,
        oldest_voicemail_s=oldest,
        newest_voicemail_s=newest,
        performance=_window_totals(performance, "today"),
        recent=()
        if performance is None
        else tuple(
            (RECENT_LABELS[name], _window_totals(performance, name)) for name in RECENT_LABELS
        ),
        voicemail_returned=returned,
        median_return_s=median,
    )


def last_transfer_age_s(transfers: pd.DataFrame, now: datetime) -> float | None:
    """Seconds since the latest transfer; None when there is none with a known time."""
    ages = age_seconds(transfers["transferred_at"], now).dropna() if len(transfers) else None
    return None if ages is None or ages.empty else max(0.0, float(ages.min()))


def agent_state_totals(agents: pd.DataFrame) -> dict[str, int]:
    """Agents per state in display order, other names past a few grouped (ipscape/states.py)."""
    if agents.empty:
        return {}
    return {str(k): int(v) for k, v in state_counts(agents["state"]).items()}


def _agent_states(agents: pd.DataFrame) -> pd.Series:
    """Each agent's state for counting, a missing one as "Unknown"."""
    return agents["state"].astype("string").fillna("Unknown")


def agent_state_counts(agents: pd.DataFrame) -> pd.DataFrame:
    """state -> agents, in a fixed order (unknown states after the known ones, then Other;
    past a few, other names are grouped: ipscape/states.py)."""
    counts = state_counts(_agent_states(agents))
    return pd.DataFrame({"state": list(counts.index), "agents": [int(n) for n in counts]})


def agent_state_by_campaign(agents: pd.DataFrame, names: Mapping[Any, str]) -> pd.DataFrame:
    """(campaign_id, campaign_name, state, agents); an agent counts once per campaign."""
    cols = ["campaign_id", "campaign_name", "state", "agents"]
    if agents.empty:
        return pd.DataFrame(columns=cols)
    # Grouped per agent, before an agent is repeated once per campaign.
    grouped = agents[["agent_id", "campaign_ids"]].assign(
        state=grouped_states(_agent_states(agents))
    )
    exploded = grouped.explode("campaign_ids").dropna(subset=["campaign_ids"])
    if exploded.empty:
        return pd.DataFrame(columns=cols)
    counts = (
        exploded.groupby(["campaign_ids", "state"])
        .size()
        .reset_index(name="agents")
        .rename(columns={"campaign_ids": "campaign_id"})
    )
    counts["campaign_name"] = [names.get(c, f"Campaign {c}") for c in counts["campaign_id"]]
    return counts[cols]


def transfer_links(transfers: pd.DataFrame, by: str = "campaign") -> pd.DataFrame:
    """(source, target, transfers) for ``by`` = "campaign" or "agent", largest flows first."""
    if by not in ("campaign", "agent"):
        raise ValueError("by must be 'campaign' or 'agent'")
    src, dst = f"from_{by}", f"to_{by}"
    if transfers.empty:
        return pd.DataFrame(columns=["source", "target", "transfers"])
    pairs = pd.DataFrame(
        {
            "source": transfers[src].astype("string").fillna("--"),
            "target": transfers[dst].astype("string").fillna("--"),
        }
    )
    links = pairs.groupby(["source", "target"]).size().reset_index(name="transfers")
    return links.sort_values(["transfers", "source", "target"], ascending=[False, True, True])


def bucket_counts(
    times: pd.Series, *, tz: str, freq: str = "15min", max_buckets: int = MAX_TIME_BUCKETS
) -> pd.DataFrame:
    """(start, count) per ``freq`` bucket in local time ``tz``; an empty bucket is a real 0."""
    local = local_naive(times.dropna(), tz)
    if local.empty:
        return pd.DataFrame(
            {"start": pd.Series(dtype="datetime64[ns]"), "count": pd.Series(dtype=int)}
        )
    counts = local.dt.floor(freq).value_counts().sort_index()
    full = pd.date_range(counts.index.min(), counts.index.max(), freq=freq)
    counts = counts.reindex(full, fill_value=0).tail(max_buckets)
    return pd.DataFrame({"start": counts.index, "count": counts.to_numpy()})


def count_by_campaign(frame: pd.DataFrame) -> pd.DataFrame:
    """(campaign_id, campaign_name, count) rows, most first; missing campaigns grouped as "--"."""
    if frame.empty:
        return pd.DataFrame(columns=["campaign_id", "campaign_name", "count"])
    keyed = frame.assign(
        campaign_name=frame["campaign_name"].astype("string").fillna("--"),
    )
    counts = (
        keyed.groupby(["campaign_id", "campaign_name"], dropna=False)
        .size()
        .reset_index(name="count")
        .sort_values(["count", "campaign_name"], ascending=[False, True])
    )
    return counts.reset_index(drop=True)
