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

ColumnKind = Literal["text", "count", "duration", "time", "datetime"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind = "text"
    # A key of the page's glossary (ui/glossary.py), shown as the column's help.
    help: str | None = None


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
    Column("Campaign"),
    Column("EWT", "duration", "ewt"),
    Column("Longest wait", "duration", "longest_wait"),
    Column("Waiting", "count", "calls_waiting"),
    Column("Abandoned", "count", "abandoned"),
    Column("Agents free", "count", "agents_available"),
)


def overview_table(campaigns: pd.DataFrame, levels: Mapping[Any, Mapping[str, Level]]) -> Table:
    """One row per campaign, worst status first, then longest EWT, then longest wait."""
    if campaigns.empty:
        return table_of(None, OVERVIEW_COLUMNS)
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
    data = {
        "Status": [badge(lv) for lv in shown],
        "Campaign": texts(rows["campaign_name"]).array,
        "EWT": seconds(rows["ewt_s"]).array,
        "Longest wait": seconds(rows["max_wait_s"]).array,
        "Waiting": counts(rows["calls_waiting"]).array,
        "Abandoned": counts(rows["calls_abandoned"]).array,
        "Agents free": counts(rows["agents_available"]).array,
    }
    return table_of(data, OVERVIEW_COLUMNS, shown)


# --- agents ------------------------------------------------------------------------------------

AGENT_COLUMNS = (
    Column("Flag", help="status"),
    Column("Agent"),
    Column("State"),
    Column("Time in state", "duration", "time_in_state"),
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
        "Pause reason": texts(frame["pause_reason"]).fillna("").array,
        "Campaigns": [
            ", ".join(names.get(c, f"#{c}") for c in (ids or ())) for ids in frame["campaign_ids"]
        ],
    }
    return table_of(data, AGENT_COLUMNS, levels)


CAMPAIGN_AGENT_COLUMNS = {
    "campaign_name": "Campaign",
    "agents_logged_in": "Logged in",
    "agents_available": "Available",
    "agents_busy": "Busy",
    "agents_wrap": "Wrap",
    "agents_paused": "Paused",
}


def campaign_agent_counts(campaigns: pd.DataFrame) -> Table:
    """Agent counts by state per campaign, from campaign statistics (the fallback view)."""
    columns = [
        Column(label, "text" if col == "campaign_name" else "count")
        for col, label in CAMPAIGN_AGENT_COLUMNS.items()
    ]
    if campaigns.empty:
        return table_of(None, columns)
    data = {
        label: (texts if col == "campaign_name" else counts)(campaigns[col]).array
        for col, label in CAMPAIGN_AGENT_COLUMNS.items()
    }
    return table_of(data, columns)


# --- voicemail ---------------------------------------------------------------------------------

VOICEMAIL_COLUMNS = (
    Column("Received", "time", "times"),
    Column("Waiting", "duration", "voicemail_waiting"),
    Column("Caller"),
    Column("Campaign"),
    Column("Duration", "duration"),
    Column("media_id"),
)


def voicemail_table(voicemail: pd.DataFrame, tz: str, now: datetime) -> Table:
    """Waiting voicemail, oldest first; the hidden media id lets the page play one."""
    if voicemail.empty:
        return table_of(None, VOICEMAIL_COLUMNS, hidden=("media_id",))
    frame = voicemail.sort_values("received_at", na_position="last")
    data = {
        "Received": local_times(frame["received_at"], tz).array,
        "Waiting": age_seconds(frame["received_at"], now).clip(lower=0).array,
        "Caller": texts(frame["caller"]).array,
        "Campaign": texts(frame["campaign_name"]).array,
        "Duration": seconds(frame["duration_s"]).array,
        "media_id": texts(frame["media_id"]).array,
    }
    return table_of(data, VOICEMAIL_COLUMNS, hidden=("media_id",))


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
    Column("Transferred", "time", "times"),
    Column("From agent"),
    Column("From campaign"),
    Column("To agent"),
    Column("To campaign"),
    Column("Talk", "duration"),
)


def transfers_table(transfers: pd.DataFrame, tz: str) -> Table:
    """Today's transfers, newest first."""
    if transfers.empty:
        return table_of(None, TRANSFER_COLUMNS)
    frame = transfers.sort_values("transferred_at", ascending=False, na_position="last")
    data = {
        "Transferred": local_times(frame["transferred_at"], tz).array,
        "From agent": texts(frame["from_agent"]).array,
        "From campaign": texts(frame["from_campaign"]).array,
        "To agent": texts(frame["to_agent"]).array,
        "To campaign": texts(frame["to_campaign"]).array,
        "Talk": seconds(frame["talk_s"]).array,
    }
    return table_of(data, TRANSFER_COLUMNS)
