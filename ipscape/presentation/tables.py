"""The tables the live pages show, as typed models: numbers stay numbers, times stay times.

A `Table` is a frame plus what each column holds (`Column.kind`); ``ui/tables.py`` maps the
kinds to Streamlit's column types, so a count sorts as a number, a duration is a number of
seconds, and a missing value reads "--" (the table's placeholder), never 0 or an empty cell.
Each row's `Level` travels beside the frame for tinting; nothing is parsed back from a badge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from ipscape.config import Thresholds
from ipscape.metrics import returned_by
from ipscape.presentation.aggregates import PERFORMANCE_METRICS, with_performance
from ipscape.presentation.formats import (
    age_seconds,
    counts,
    is_missing,
    local_times,
    seconds,
    text,
    texts,
)
from ipscape.presentation.levels import ALERT, UNKNOWN, WARN, Level, LevelMemory, worst
from ipscape.states import grouped_states

ColumnKind = Literal["text", "count", "duration", "percent", "progress", "time", "datetime"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind = "text"
    # A key of the page's glossary (ui/glossary.py), shown as the column's help.
    help: str | None = None
    # The frame column it shows, converted by `kind` (`column_values`); None when the table
    # builder computes it.
    source: str | None = None


def column_values(frame: pd.DataFrame, columns: Sequence[Column], tz: str) -> dict[str, Any]:
    """Each sourced column of ``frame``, typed by its kind: text stays text (missing stays
    missing), counts become Int64, durations Float64 seconds, times datetimes in ``tz``."""
    return {c.name: _typed(frame[c.source], c.kind, tz).array for c in columns if c.source}


def _typed(series: pd.Series, kind: ColumnKind, tz: str) -> pd.Series:
    if kind == "count":
        return counts(series)
    if kind in ("time", "datetime"):
        return local_times(series, tz)
    # A duration is a number of seconds, a percentage a number of per cent; else text.
    return texts(series) if kind == "text" else seconds(series)


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    # One level per row (same order), for tinting; empty when rows carry no level.
    levels: tuple[Level, ...] = ()
    # Columns the frame carries for the page (an id to act on) but the table does not show.
    hidden: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @property
    def shown(self) -> list[str]:
        return [c.name for c in self.columns if c.name not in self.hidden]

    def __len__(self) -> int:
        return len(self.frame)

    def flagged(self) -> Table:
        """The rows at WARN or ALERT, in order."""
        keep = [lv in (WARN, ALERT) for lv in self.levels]
        frame = self.frame[keep] if keep else self.frame.iloc[:0]
        levels = tuple(lv for lv, k in zip(self.levels, keep, strict=True) if k)
        return Table(frame.reset_index(drop=True), self.columns, levels, self.hidden)


def badge(level: Level) -> str:
    """A level as the table writes it ("ALERT ■"); "--" when unknown."""
    return "--" if level is UNKNOWN else level.badge


def table_of(
    data: Mapping[str, Any] | None,
    columns: Sequence[Column],
    levels: Iterable[Level] = (),
    hidden: Sequence[str] = (),
) -> Table:
    """A `Table` of ``data`` (column name -> values; None for an empty table with its columns)."""
    names = [c.name for c in columns]
    frame = pd.DataFrame(data, columns=names) if data is not None else pd.DataFrame(columns=names)
    return Table(frame.reset_index(drop=True), tuple(columns), tuple(levels), tuple(hidden))


# --- overview ----------------------------------------------------------------------------------

OVERVIEW_COLUMNS = (
    Column("Status", help="status"),
    Column("Campaign", source="campaign_name"),
    Column("EWT", "duration", "ewt", "ewt_s"),
    Column("Longest wait", "duration", "longest_wait", "max_wait_s"),
    Column("Waiting", "count", "calls_waiting", "calls_waiting"),
    Column("Abandoned", "count", "abandoned", "calls_abandoned"),
    Column("Agents free", "count", "agents_available", "agents_available"),
    Column("Service level", "percent", "service_level", "service_level_pct"),
    Column("Abandon rate", "percent", "abandon_rate", "abandon_rate_pct"),
    Column("ASA", "duration", "asa", "asa_s"),
    Column("AHT", "duration", "aht", "aht_s"),
)


def overview_table(campaigns: pd.DataFrame, levels: Mapping[Any, Mapping[str, Level]]) -> Table:
    """One row per campaign, worst status first, then longest EWT, then longest wait; today's
    performance comes from `aggregates.with_performance` (unknown when not merged in)."""
    if campaigns.empty:
        return table_of(None, OVERVIEW_COLUMNS)
    if not set(PERFORMANCE_METRICS) <= set(campaigns.columns):
        campaigns = with_performance(campaigns, None)
    status = [worst(levels.get(cid, {}).values()) for cid in campaigns["campaign_id"]]
    order = (
        pd.DataFrame(
            {
                "rank": [lv.rank for lv in status],
                "ewt": pd.to_numeric(campaigns["ewt_s"], errors="coerce").fillna(-1).array,
                "wait": pd.to_numeric(campaigns["max_wait_s"], errors="coerce")
                .fillna(-1)
                .to_numpy(),
            }
        )
        .sort_values(["rank", "ewt", "wait"], ascending=False, kind="stable")
        .index.to_numpy()
    )
    rows = campaigns.iloc[order]
    shown = [status[i] for i in order]
    data = {"Status": [badge(lv) for lv in shown], **column_values(rows, OVERVIEW_COLUMNS, "UTC")}
    return table_of(data, OVERVIEW_COLUMNS, shown)


# --- agents ------------------------------------------------------------------------------------

AGENT_COLUMNS = (
    Column("Flag", help="status"),
    Column("Agent"),
    Column("State"),
    Column("Time in state", "duration", "time_in_state"),
    # time in state as a share of its alert threshold: a bar that fills up to ALERT
    Column("Of the limit", "progress", "time_in_state_limit"),
    Column("Pause reason"),
    Column("Campaigns"),
)


def agent_table(
    agents: pd.DataFrame,
    names: Mapping[Any, str],
    memory: LevelMemory,
    thresholds: Thresholds,
    *,
    states: Iterable[str] = (),
    campaign_id: int | None = None,
    search: str = "",
) -> Table:
    """Per-agent rows (filtered), longest in state first; "Flag" marks agents over threshold.

    The time-in-state threshold is the global one, or a campaign's own when filtering by it.
    """
    if agents.empty:
        return table_of(None, AGENT_COLUMNS)
    frame = agents
    wanted = set(states)
    if wanted:
        # A state picked from the tiles may be the grouped "Other": match it too, while each
        # row keeps (and shows) the agent's own state text.
        own = frame["state"].astype("string")
        frame = frame[(own.isin(wanted) | grouped_states(own).isin(wanted)).fillna(False)]
    if campaign_id is not None:
        frame = frame[[campaign_id in tuple(ids or ()) for ids in frame["campaign_ids"]]]
    needle = search.strip().casefold()
    if needle and len(frame):
        names_seen = frame["agent_name"].astype("string").str.casefold()
        found = names_seen.str.contains(needle, regex=False)
        frame = frame[found.fillna(False).to_numpy()]
    frame = frame.sort_values("time_in_state_s", ascending=False, na_position="last")
    threshold = thresholds.for_campaign("time_in_state_s", campaign_id)
    levels = [
        # ``state`` may be <NA> (an agent whose state the tenant left out): compare as text.
        memory.update(("time_in_state_s", aid), t, threshold)
        if not isinstance(state, str) or state != "LoggedOut"
        else UNKNOWN
        for aid, t, state in zip(
            frame["agent_id"], frame["time_in_state_s"], frame["state"].astype(object), strict=True
        )
    ]
    data = {
        "Flag": [lv.badge if lv in (WARN, ALERT) else "" for lv in levels],
        "Agent": texts(frame["agent_name"]).array,
        "State": texts(frame["state"]).array,
        "Time in state": seconds(frame["time_in_state_s"]).array,
        "Of the limit": pd.array(
            [
                None
                if lv is UNKNOWN or is_missing(t) or threshold.alert <= 0
                else min(1.0, float(t) / threshold.alert)
                for lv, t in zip(levels, frame["time_in_state_s"], strict=True)
            ],
            dtype="Float64",
        ),
        "Pause reason": texts(frame["pause_reason"]).fillna("").array,
        "Campaigns": [
            ", ".join(names.get(c, f"#{c}") for c in (ids or ())) for ids in frame["campaign_ids"]
        ],
    }
    return table_of(data, AGENT_COLUMNS, levels)


CAMPAIGN_AGENT_COLUMNS = (
    Column("Campaign", source="campaign_name"),
    Column("Logged in", "count", source="agents_logged_in"),
    Column("Available", "count", source="agents_available"),
    Column("Busy", "count", source="agents_busy"),
    Column("Wrap", "count", source="agents_wrap"),
    Column("Paused", "count", source="agents_paused"),
)


def campaign_agent_counts(campaigns: pd.DataFrame) -> Table:
    """Agent counts by state per campaign, from campaign statistics (the fallback view)."""
    if campaigns.empty:
        return table_of(None, CAMPAIGN_AGENT_COLUMNS)
    return table_of(column_values(campaigns, CAMPAIGN_AGENT_COLUMNS, "UTC"), CAMPAIGN_AGENT_COLUMNS)


# --- voicemail ---------------------------------------------------------------------------------

VOICEMAIL_COLUMNS = (
    Column("Received", "time", "times", "received_at"),
    Column("Waiting", "duration", "voicemail_waiting"),
    Column("Caller", source="caller"),
    Column("Campaign", source="campaign_name"),
    Column("Duration", "duration", source="duration_s"),
    Column("media_id", source="media_id"),
)


def voicemail_table(voicemail: pd.DataFrame, tz: str, now: datetime) -> Table:
    """Waiting voicemail, oldest first; the hidden media id lets the page play one."""
    if voicemail.empty:
        return table_of(None, VOICEMAIL_COLUMNS, hidden=("media_id",))
    frame = voicemail.sort_values("received_at", na_position="last")
    data = {
        **column_values(frame, VOICEMAIL_COLUMNS, tz),
        "Waiting": age_seconds(frame["received_at"], now).clip(lower=0).array,
    }
    return table_of(data, VOICEMAIL_COLUMNS, hidden=("media_id",))


RETURNED_COLUMNS = (
    Column("Received", "time", "times", "received_at"),
    Column("Returned", "time", "voicemail_returned", "returned_at"),
    Column("Took", "duration", "voicemail_took"),
    Column("Caller", source="caller"),
    Column("Campaign", source="campaign_name"),
)


def returned_table(voicemail: pd.DataFrame, tz: str, now: datetime) -> Table:
    """The voicemails returned by ``now``, latest call-back first, with how long each took."""
    if voicemail.empty or "returned_at" not in voicemail.columns:
        return table_of(None, RETURNED_COLUMNS)
    frame = voicemail[returned_by(voicemail, now)]
    frame = frame.sort_values("returned_at", ascending=False, kind="stable")
    took = pd.to_datetime(frame["returned_at"], utc=True) - pd.to_datetime(
        frame["received_at"], utc=True
    )
    data = {
        **column_values(frame, RETURNED_COLUMNS, tz),
        "Took": seconds(took.dt.total_seconds()).array,
    }
    return table_of(data, RETURNED_COLUMNS)


def voicemail_choices(voicemail: pd.DataFrame, tz: str) -> dict[str, str]:
    """media id -> "14:05:09 · caller · campaign", oldest first, for the player's picker
    (voicemails without a recording are left out)."""
    if voicemail.empty:
        return {}
    frame = voicemail.sort_values("received_at", na_position="last")
    received = local_times(frame["received_at"], tz).dt.strftime("%H:%M:%S").fillna("--")
    return {
        str(media): f"{at} · {text(caller)} · {text(campaign)}"
        for media, at, caller, campaign in zip(
            frame["media_id"], received, frame["caller"], frame["campaign_name"], strict=True
        )
        if not is_missing(media)
    }


# --- transfers ---------------------------------------------------------------------------------

TRANSFER_COLUMNS = (
    Column("Transferred", "time", "times", "transferred_at"),
    Column("From agent", source="from_agent"),
    Column("From campaign", source="from_campaign"),
    Column("To agent", source="to_agent"),
    Column("To campaign", source="to_campaign"),
    Column("Talk", "duration", source="talk_s"),
)


def transfers_table(transfers: pd.DataFrame, tz: str) -> Table:
    """Today's transfers, newest first."""
    if transfers.empty:
        return table_of(None, TRANSFER_COLUMNS)
    frame = transfers.sort_values("transferred_at", ascending=False, na_position="last")
    return table_of(column_values(frame, TRANSFER_COLUMNS, tz), TRANSFER_COLUMNS)


# --- recent alerts -----------------------------------------------------------------------------

ALERTS_COLUMNS = (
    Column("Time", "time", "times", "at"),
    Column("Campaign", source="campaign_name"),
    Column("Metric"),
    Column("Level"),
    Column("Value"),
    Column("Threshold"),
)


def alerts_table(recent: pd.DataFrame, tz: str, now: datetime, limit: int = 20) -> Table:
    """Today's latest level changes the collector sent (the ``alerts`` feed), newest first;
    value and threshold read as the tiles write them (the chat ``text`` line is escaped for
    chat clients, not for this table)."""
    from ipscape.clock import start_of_day

    if not recent.empty:
        recent = recent[recent["at"] >= pd.Timestamp(start_of_day(now, tz))]
    if recent.empty:
        return table_of(None, ALERTS_COLUMNS)
    # appended below the builders above: the alerts module owns the metric words
    from ipscape.alerts import METRIC_WORDS
    from ipscape.presentation.levels import LEVELS

    frame = recent.sort_values("at", ascending=False, na_position="last").head(limit)
    levels = [LEVELS.get(str(name), UNKNOWN) for name in frame["level"]]
    words = [METRIC_WORDS.get(str(m), (str(m), text)) for m in frame["metric"]]
    data = {
        **column_values(frame, ALERTS_COLUMNS, tz),
        "Metric": [w for w, _shown in words],
        "Level": [badge(lv) for lv in levels],
        "Value": [shown(v) for (_w, shown), v in zip(words, frame["value"], strict=True)],
        "Threshold": [shown(t) for (_w, shown), t in zip(words, frame["threshold"], strict=True)],
    }
    return table_of(data, ALERTS_COLUMNS, levels)
