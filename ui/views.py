"""Display tables and page state, as plain pandas (no streamlit): what each page shows, and how.

Formatted durations in tables are zero-padded ``hh:mm:ss`` text, so clicking a column header in
st.dataframe sorts them correctly, and an unknown value reads "--" instead of an empty cell or 0.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ipscape.charts import age_seconds, format_count, is_unknown
from ipscape.config import Thresholds
from ipscape.frames import KNOWN_ACTIVITY_TYPES
from ipscape.history import HistoryStatus
from ipscape.states import grouped_states, state_counts
from ipscape.status import ALERT, OK, UNKNOWN, WARN, Level, LevelMemory

# metric name in Thresholds -> column of the campaigns frame
CAMPAIGN_METRICS = {
    "ewt_s": "ewt_s",
    "longest_wait_s": "max_wait_s",
    "calls_waiting": "calls_waiting",
}


def clock_duration(seconds: object) -> str:
    """``hh:mm:ss`` (zero-padded, so text order is time order), "--" when unknown."""
    if is_unknown(seconds):
        return "--"
    total = max(0, round(float(seconds)))  # type: ignore[arg-type]
    hours, rest = divmod(total, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _text(value: object) -> str:
    return "--" if is_unknown(value) else str(value)


# Vectorised forms of the above, for tables of thousands of rows (the drill-down).
def texts(series: pd.Series) -> list[str]:
    return series.astype("string").fillna("--").tolist()


def clock_durations(series: pd.Series) -> list[str]:
    seconds = pd.to_numeric(series, errors="coerce").astype("Float64").clip(lower=0).round()
    total = seconds.astype("Int64")
    text = (
        (total // 3600).astype("string").str.zfill(2)
        + ":"
        + (total % 3600 // 60).astype("string").str.zfill(2)
        + ":"
        + (total % 60).astype("string").str.zfill(2)
    )
    return text.fillna("--").tolist()


def local_times(series: pd.Series, tz: str, fmt: str = "%H:%M:%S") -> list[str]:
    stamps = pd.to_datetime(series, utc=True).dt.tz_convert(ZoneInfo(tz))
    return stamps.dt.strftime(fmt).astype("string").fillna("--").tolist()


def worst(levels: Iterable[Level]) -> Level:
    known = [lv for lv in levels if lv is not UNKNOWN]
    return max(known, key=lambda lv: lv.rank) if known else UNKNOWN


def _sum(series: pd.Series) -> float | None:
    """Sum of known values, or None when none is known (unknown must not become 0)."""
    known = pd.to_numeric(series, errors="coerce").dropna()
    return float(known.sum()) if len(known) else None


def _max(series: pd.Series) -> float | None:
    known = pd.to_numeric(series, errors="coerce").dropna()
    return float(known.max()) if len(known) else None


# --- overview ----------------------------------------------------------------------------------


def campaign_levels(
    campaigns: pd.DataFrame, thresholds: Thresholds, memory: LevelMemory
) -> dict[Any, dict[str, Level]]:
    """campaign_id -> metric -> level, with hysteresis from ``memory``."""
    result: dict[Any, dict[str, Level]] = {}
    for row in campaigns.itertuples(index=False):
        cid = row.campaign_id
        result[cid] = {
            metric: memory.update(
                (metric, cid), getattr(row, column), thresholds.for_campaign(metric, cid)
            )
            for metric, column in CAMPAIGN_METRICS.items()
        }
    return result


def overview_table(
    campaigns: pd.DataFrame, levels: Mapping[Any, Mapping[str, Level]]
) -> pd.DataFrame:
    """One row per campaign, worst status first, then longest EWT."""
    columns = ["Status", "Campaign", "EWT", "Longest wait", "Waiting", "Abandoned", "Agents free"]
    if campaigns.empty:
        return pd.DataFrame(columns=columns)
    status = [worst(levels.get(cid, {}).values()) for cid in campaigns["campaign_id"]]
    table = pd.DataFrame(
        {
            "Status": [lv.badge if lv is not UNKNOWN else "--" for lv in status],
            "Campaign": [_text(n) for n in campaigns["campaign_name"]],
            "EWT": [clock_duration(v) for v in campaigns["ewt_s"]],
            "Longest wait": [clock_duration(v) for v in campaigns["max_wait_s"]],
            "Waiting": [format_count(v) for v in campaigns["calls_waiting"]],
            "Abandoned": [format_count(v) for v in campaigns["calls_abandoned"]],
            "Agents free": [format_count(v) for v in campaigns["agents_available"]],
            "_rank": [lv.rank for lv in status],
            "_ewt": pd.to_numeric(campaigns["ewt_s"], errors="coerce").fillna(-1).to_numpy(),
            "_wait": pd.to_numeric(campaigns["max_wait_s"], errors="coerce").fillna(-1).to_numpy(),
        }
    )
    table = table.sort_values(["_rank", "_ewt", "_wait"], ascending=False, kind="stable")
    return table[columns].reset_index(drop=True)


def level_of_status(text: str) -> Level:
    for lv in (ALERT, WARN, OK):
        if text == lv.badge:
            return lv
    return UNKNOWN


@dataclass(frozen=True)
class Kpis:
    waiting: float | None
    longest_wait_s: float | None
    max_ewt_s: float | None
    agents_free: float | None
    agents_logged_in: float | None
    voicemail: float | None
    oldest_voicemail_s: float | None


def kpis(
    campaigns: pd.DataFrame | None,
    agents: pd.DataFrame | None,
    voicemail: pd.DataFrame | None,
    now: datetime,
) -> Kpis:
    """Headline numbers. A frame of None means "no data yet": its numbers are unknown."""
    free = logged_in = None
    if agents is not None and not agents.attrs.get("unavailable"):
        states = agents["state"].astype("string")
        free = float((states == "Available").sum())
        logged_in = float((states.fillna("LoggedOut") != "LoggedOut").sum())
    elif campaigns is not None:
        # Without per-agent status the campaign counts are all we have; an agent on several
        # campaigns is counted in each, so these are upper bounds.
        free = _sum(campaigns["agents_available"])
        logged_in = _sum(campaigns["agents_logged_in"])
    vm_count = oldest = None
    if voicemail is not None:
        vm_count = float(len(voicemail))
        oldest = _max(age_seconds(voicemail["received_at"], now).clip(lower=0))
    return Kpis(
        waiting=_sum(campaigns["calls_waiting"]) if campaigns is not None else None,
        longest_wait_s=_max(campaigns["max_wait_s"]) if campaigns is not None else None,
        max_ewt_s=_max(campaigns["ewt_s"]) if campaigns is not None else None,
        agents_free=free,
        agents_logged_in=logged_in,
        voicemail=vm_count,
        oldest_voicemail_s=oldest,
    )


def campaign_names(campaigns: pd.DataFrame) -> dict[Any, str]:
    if campaigns.empty:
        return {}
    return {
        cid: _text(name)
        for cid, name in zip(campaigns["campaign_id"], campaigns["campaign_name"], strict=True)
        if not is_unknown(cid)
    }


# --- agents ------------------------------------------------------------------------------------


def agent_table(
    agents: pd.DataFrame,
    names: Mapping[Any, str],
    memory: LevelMemory,
    thresholds: Thresholds,
    *,
    states: Iterable[str] = (),
    campaign_id: int | None = None,
    search: str = "",
) -> pd.DataFrame:
    """Per-agent rows (filtered), longest in state first; "Flag" marks agents over threshold.

    The time-in-state threshold is the global one, or a campaign's own when filtering by it.
    """
    columns = ["Flag", "Agent", "State", "Time in state", "Pause reason", "Campaigns", "_level"]
    if agents.empty:
        return pd.DataFrame(columns=columns)
    frame = agents
    wanted = set(states)
    if wanted:
        # A state picked from the tiles may be the grouped "Other": match it too, while each
        # row keeps (and shows) the agent's own state text.
        own = frame["state"].astype("string")
        frame = frame[(own.isin(wanted) | grouped_states(own).isin(wanted)).fillna(False)]
    if campaign_id is not None:
        frame = frame[[campaign_id in tuple(ids or ()) for ids in frame["campaign_ids"]]]
    if search.strip():
        needle = search.strip().casefold()
        frame = (
            frame[[needle in _text(n).casefold() for n in frame["agent_name"]]]
            if len(frame)
            else frame
        )
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
    return pd.DataFrame(
        {
            "Flag": [lv.badge if lv in (WARN, ALERT) else "" for lv in levels],
            "Agent": texts(frame["agent_name"]),
            "State": texts(frame["state"]),
            "Time in state": clock_durations(frame["time_in_state_s"]),
            "Pause reason": [_text(p) if not is_unknown(p) else "" for p in frame["pause_reason"]],
            "Campaigns": [
                ", ".join(names.get(c, f"#{c}") for c in (ids or ()))
                for ids in frame["campaign_ids"]
            ],
            "_level": [lv.name for lv in levels],
        },
        columns=columns,
    ).reset_index(drop=True)


def history_warning(status: HistoryStatus, tz: str) -> str | None:
    """What a trend says while history is not being recorded (and why), None while it is."""
    if status.recording:
        return None
    since = ""
    if status.since is not None:
        since = f" since {status.since.astimezone(ZoneInfo(tz)):%H:%M:%S}"
    return (
        f"History is not being recorded{since}: {status.reason}. The trend has a gap from "
        "then; recording resumes by itself once the history can be written again."
    )


def agent_state_totals(agents: pd.DataFrame) -> dict[str, int]:
    """Agents per state in display order, other names past a few grouped (ipscape/states.py)."""
    if agents.empty:
        return {}
    return {str(k): int(v) for k, v in state_counts(agents["state"]).items()}


# --- voicemail ---------------------------------------------------------------------------------


def voicemail_table(voicemail: pd.DataFrame, tz: str, now: datetime) -> pd.DataFrame:
    """Waiting voicemail, oldest first; the hidden media id lets the page play one."""
    columns = ["Received", "Waiting", "Caller", "Campaign", "Duration", "media_id"]
    if voicemail.empty:
        return pd.DataFrame(columns=columns)
    frame = voicemail.sort_values("received_at", na_position="last")
    ages = age_seconds(frame["received_at"], now).clip(lower=0)
    return pd.DataFrame(
        {
            "Received": local_times(frame["received_at"], tz),
            "Waiting": [clock_duration(a) for a in ages],
            "Caller": texts(frame["caller"]),
            "Campaign": texts(frame["campaign_name"]),
            "Duration": clock_durations(frame["duration_s"]),
            "media_id": texts(frame["media_id"]),
        },
        columns=columns,
    ).reset_index(drop=True)


def audio_format(data: bytes) -> str:
    """The MIME type of voicemail audio, from its first bytes (the tenant does not say)."""
    if data[:4] == b"RIFF":
        return "audio/wav"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[:4] == b"fLaC":
        return "audio/flac"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    return "audio/wav"


def audio_player_html(data: bytes) -> str:
    """An <audio> element that carries the recording itself as a data: URI.

    st.audio would serve the bytes at a /media/<hash> URL that anyone holding the link can
    fetch without a session, and that outlives the viewer's visit; inline, the audio goes only
    to the session that may see it, over its own websocket. Only our MIME constants and base64
    characters reach the markup.
    """
    source = f"data:{audio_format(data)};base64,{base64.b64encode(data).decode('ascii')}"
    return f'<audio controls preload="auto" src="{source}"></audio>'


# --- transfers ---------------------------------------------------------------------------------


def transfers_table(transfers: pd.DataFrame, tz: str) -> pd.DataFrame:
    columns = ["Transferred", "From agent", "From campaign", "To agent", "To campaign", "Talk"]
    if transfers.empty:
        return pd.DataFrame(columns=columns)
    frame = transfers.sort_values("transferred_at", ascending=False, na_position="last")
    return pd.DataFrame(
        {
            "Transferred": local_times(frame["transferred_at"], tz),
            "From agent": texts(frame["from_agent"]),
            "From campaign": texts(frame["from_campaign"]),
            "To agent": texts(frame["to_agent"]),
            "To campaign": texts(frame["to_campaign"]),
            "Talk": clock_durations(frame["talk_s"]),
        },
        columns=columns,
    ).reset_index(drop=True)


# --- drill-down --------------------------------------------------------------------------------

WINDOWS: dict[str, str] = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "4h": "Last 4 hours",
    "today": "Today",
}
_WINDOW_SPAN = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "4h": timedelta(hours=4)}
_TYPE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class DrillFilters:
    """The drill-down view; each field is one query parameter, so a view can be bookmarked."""

    campaign: int | None = None
    agent: int | None = None
    lead: int | None = None
    window: str = "today"
    type: str | None = None


def _positive_int(value: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def filters_from_params(params: Mapping[str, str]) -> tuple[DrillFilters, list[str]]:
    """Filters from query parameters, plus a note for each value that was ignored."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    for name in ("campaign", "agent", "lead"):
        raw = params.get(name)
        if raw in (None, ""):
            continue
        number = _positive_int(str(raw))
        if number is None:
            notes.append(f"Ignored {name}={str(raw)[:40]!r}: expected a number.")
        else:
            values[name] = number
    window = params.get("window")
    if window not in (None, ""):
        if window in WINDOWS:
            values["window"] = window
        else:
            notes.append(f"Ignored window={str(window)[:40]!r}: use one of {', '.join(WINDOWS)}.")
    kind = params.get("type")
    if kind not in (None, ""):
        if _TYPE_RE.match(str(kind)):
            values["type"] = str(kind)
        else:
            notes.append(f"Ignored type={str(kind)[:40]!r}: not an activity type.")
    return DrillFilters(**values), notes


def filters_to_params(filters: DrillFilters) -> dict[str, str]:
    """Only the fields that differ from the defaults, so URLs stay short."""
    default = DrillFilters()
    return {
        f.name: str(getattr(filters, f.name))
        for f in fields(filters)
        if getattr(filters, f.name) != getattr(default, f.name)
    }


def window_bounds(window: str, now: datetime, tz: str) -> tuple[datetime, datetime | None]:
    """(since, until) for a window preset; "today" starts at local midnight in ``tz``."""
    if window in _WINDOW_SPAN:
        return now - _WINDOW_SPAN[window], None
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0), None


def campaign_from_selection(points: Iterable[Mapping[str, Any]]) -> int | None:
    """The campaign id of a clicked bar (its ``customdata``), or None."""
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        number = _positive_int(str(data)) if data is not None else None
        if number is not None:
            return number
    return None


def sort_activities(activities: pd.DataFrame) -> pd.DataFrame:
    """Newest first (stable), the order the drill-down table shows; row i of both match."""
    return activities.sort_values(
        "created_at", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


# The drill-down type filter offers these; the list itself lives with the frames.
KNOWN_TYPES = KNOWN_ACTIVITY_TYPES
MAX_TABLE_ROWS = 10_000


def unknown_types(activities: pd.DataFrame) -> list[str]:
    if activities.empty:
        return []
    types = activities["type"].astype("string").dropna().unique()
    return sorted(str(t) for t in types if t not in KNOWN_ACTIVITY_TYPES)


def dial_summary(attempts: pd.DataFrame) -> pd.DataFrame:
    """Per phone number of a lead: attempts and the latest status."""
    columns = ["Phone", "Number", "Attempts", "Last status"]
    if attempts.empty:
        return pd.DataFrame(columns=columns)
    frame = attempts.sort_values("created_at", na_position="first", kind="stable")
    rows = []
    for index, group in frame.groupby("phone_index", dropna=False, sort=True):
        rows.append(
            {
                "Phone": "--" if is_unknown(index) else f"phone{int(index)}",
                "Number": _text(group["phone_number"].dropna().iloc[-1])
                if group["phone_number"].notna().any()
                else "--",
                "Attempts": len(group),
                "Last status": _text(group["dial_status"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def activities_table(activities: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The drill-down rows as shown (and exported): every type kept, unknown ones included."""
    columns = [
        "Activity",
        "Type",
        "Created",
        "Campaign",
        "Agent",
        "Status",
        "Lead",
        "From",
        "To",
        "Queue",
        "Talk",
    ]
    if activities.empty:
        return pd.DataFrame(columns=columns)
    frame = sort_activities(activities)
    return pd.DataFrame(
        {
            "Activity": texts(frame["activity_id"]),
            "Type": texts(frame["type"]),
            "Created": local_times(frame["created_at"], tz, "%Y-%m-%d %H:%M:%S"),
            "Campaign": texts(frame["campaign_name"]),
            "Agent": texts(frame["agent_name"]),
            "Status": texts(frame["status"]),
            "Lead": texts(frame["lead_id"]),
            "From": texts(frame["source"]),
            "To": texts(frame["destination"]),
            "Queue": clock_durations(frame["queue_s"]),
            "Talk": clock_durations(frame["talk_s"]),
        },
        columns=columns,
    )


def dial_attempts_table(attempts: pd.DataFrame, tz: str) -> pd.DataFrame:
    columns = ["Attempt", "Phone", "Number", "Status", "Dialled", "Dial time"]
    if attempts.empty:
        return pd.DataFrame(columns=columns)
    frame = attempts.sort_values("created_at", na_position="last")
    return pd.DataFrame(
        {
            "Attempt": texts(frame["attempt_id"]),
            "Phone": [
                f"phone{int(v)}" if not is_unknown(v) else "--" for v in frame["phone_index"]
            ],
            "Number": texts(frame["phone_number"]),
            "Status": texts(frame["dial_status"]),
            "Dialled": local_times(frame["created_at"], tz, "%Y-%m-%d %H:%M:%S"),
            "Dial time": clock_durations(frame["dial_s"]),
        },
        columns=columns,
    ).reset_index(drop=True)


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The table on screen as CSV (UTF-8 with BOM, so spreadsheet apps show accents)."""
    safe = table.copy()
    for column in safe.columns:
        values = safe[column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            text = values.astype("string")
            formula = text.str.match(r"[=@\t\r]|[+-](?![0-9][0-9 .]*$)").fillna(False)
            risky = formula & text.ne("--").fillna(False)
            if risky.any():
                safe[column] = text.where(~risky, "'" + text)
    return safe.to_csv(index=False).encode("utf-8-sig")


def campaign_agent_counts(campaigns: pd.DataFrame) -> pd.DataFrame:
    """Agent counts by state per campaign, from campaign statistics (the fallback view)."""
    columns = {
        "campaign_name": "Campaign",
        "agents_logged_in": "Logged in",
        "agents_available": "Available",
        "agents_busy": "Busy",
        "agents_wrap": "Wrap",
        "agents_paused": "Paused",
    }
    if campaigns.empty:
        return pd.DataFrame(columns=list(columns.values()))
    return pd.DataFrame(
        {
            label: texts(campaigns[col])
            if col == "campaign_name"
            else [format_count(v) for v in campaigns[col]]
            for col, label in columns.items()
        }
    )
