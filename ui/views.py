"""The drill-down's filters and tables (moving to ipscape/presentation/drilldown.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ipscape.frames import KNOWN_ACTIVITY_TYPES
from ipscape.presentation.formats import is_missing as is_unknown
from ipscape.presentation.formats import text as _text


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
