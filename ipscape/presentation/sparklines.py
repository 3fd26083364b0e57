"""Sparklines for the headline tiles: today's shape of each number, in a few dozen points.

Pure: from the history store's campaign and agent-state rows and from the ``service-level``
feed, one list of numbers per headline key (`ipscape.presentation.headlines`). Values are per
15-minute bucket of the display day: the peak of calls waiting, longest wait and EWT (a
supervisor looks for the worst moment), the fewest agents free, and the service level and
abandon rate of the calls in each quarter. A bucket with nothing known is left out, never 0.

A wall scoped to some campaigns draws its own campaigns only (`history_sparklines`): their rows
are picked before anything is added up, so calls waiting is the sum of their counts, never a
share of everyone's.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ipscape.presentation.scope import scope_frame

BUCKET = "15min"
MAX_POINTS = 96  # a whole day of 15-minute buckets


def _bucketed(values: pd.Series, at: pd.Series, how: str) -> list[float]:
    frame = pd.DataFrame({"at": pd.to_datetime(at, utc=True), "value": values.astype("Float64")})
    frame = frame.dropna()
    if frame.empty:
        return []
    grouped = frame.groupby(frame["at"].dt.floor(BUCKET))["value"]
    series = grouped.max() if how == "max" else grouped.min()
    return [float(v) for v in series.tail(MAX_POINTS)]


def campaign_sparklines(history: pd.DataFrame) -> dict[str, list[float]]:
    """calls_waiting (total across campaigns), longest_wait and ewt (the largest), per bucket's
    peak, from `HistoryStore.campaign_history` rows."""
    if history.empty:
        return {}
    per_poll = history.groupby("at").agg(
        waiting=("calls_waiting", lambda s: s.astype("Float64").sum(min_count=1)),
        longest=("max_wait_s", lambda s: s.astype("Float64").max()),
        ewt=("ewt_s", lambda s: s.astype("Float64").max()),
    )
    at = pd.Series(per_poll.index, index=per_poll.index)
    return {
        "calls_waiting": _bucketed(per_poll["waiting"], at, "max"),
        "longest_wait": _bucketed(per_poll["longest"], at, "max"),
        "ewt": _bucketed(per_poll["ewt"], at, "max"),
    }


def agent_sparklines(history: pd.DataFrame) -> dict[str, list[float]]:
    """agents_free: the fewest agents Available in each bucket, from agent-state rows."""
    if history.empty:
        return {}
    free = history[history["state"].astype("string").eq("Available").fillna(False)]
    polls = history.groupby("at").size().index  # a poll with nobody Available is 0 free
    per_poll = free.groupby("at")["agents"].sum().reindex(polls, fill_value=0)
    at = pd.Series(per_poll.index, index=per_poll.index)
    return {"agents_free": _bucketed(per_poll.astype("Float64"), at, "min")}


def campaign_agent_sparklines(history: pd.DataFrame) -> dict[str, list[float]]:
    """agents_free: the fewest agents available in each bucket, as the campaign rows of
    `HistoryStore.campaign_history` count them (an agent free on two campaigns counts on both,
    as the campaign statistics do)."""
    if history.empty:
        return {}
    per_poll = history.groupby("at")["agents_available"].agg(
        lambda s: s.astype("Float64").sum(min_count=1)
    )
    at = pd.Series(per_poll.index, index=per_poll.index)
    return {"agents_free": _bucketed(per_poll, at, "min")}


def history_sparklines(
    campaigns: pd.DataFrame, agents: pd.DataFrame, campaign_ids: Sequence[int] = ()
) -> dict[str, list[float]]:
    """Every line the history store draws: of all campaigns, or of ``campaign_ids`` only.

    Scoped, the other campaigns' rows are left out first (and rows of no known campaign). The
    agent-state history counts every agent whatever their campaigns, so a scoped agents_free
    comes from the scope's own campaign rows instead (`campaign_agent_sparklines`).
    """
    if not campaign_ids:
        return {**campaign_sparklines(campaigns), **agent_sparklines(agents)}
    scoped = scope_frame("campaigns", campaigns, campaign_ids)
    return {**campaign_sparklines(scoped), **campaign_agent_sparklines(scoped)}


def performance_sparklines(trend: pd.DataFrame) -> dict[str, list[float]]:
    """service_level and abandon_rate per quarter, from the ``service-level`` feed (every
    campaign's calls: it has no campaign rows, so a scoped wall draws no such line)."""
    if trend.empty:
        return {}
    out = {}
    for key, column in (
        ("service_level", "service_level_pct"),
        ("abandon_rate", "abandon_rate_pct"),
    ):
        known = trend[column].astype("Float64").dropna()
        out[key] = [float(v) for v in known.tail(MAX_POINTS)]
    return out
