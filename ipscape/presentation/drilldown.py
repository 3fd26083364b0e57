"""The drill-down: its filters and their URL form, the activity tables, the CSV export.

A drill-down view is four filters (`DrillFilters`), each one query parameter, inside the time
range and campaign scope every range page shares (ipscape/presentation/time_range.py, scope.py),
so a view can be shared and bookmarked. The screen keeps the URL, its widgets and this session's
memory in step through `url_state` (on load) and `url_write` (after the widgets ran), by the
rules of ipscape/presentation/url_state.py.

Tables are typed (`ipscape.presentation.tables.Table`): durations are seconds, counts integers,
times tz-aware datetimes in the display zone. Ids stay text: they are names, not quantities (no
thousands separator, nothing to add up, and what is shown can be typed back into a filter).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from ipscape.frames import KNOWN_ACTIVITY_TYPES, Drops
from ipscape.presentation.formats import counts, is_missing, text, texts
from ipscape.presentation.tables import Column, Table, column_values, table_of
from ipscape.presentation.time_range import Bounds
from ipscape.presentation.url_state import remembered, sticky_params, url_changes

# --- filters and their URL form ------------------------------------------------------------

_TYPE_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# The query parameters of a view, in the order the screen lays out their widgets.
PARAMS = ("campaign", "agent", "lead", "type")
# The type filter offers these; the list itself lives with the frames.
KNOWN_TYPES = KNOWN_ACTIVITY_TYPES
# The table shows (and exports) the newest this many rows; narrower filters show the rest.
MAX_TABLE_ROWS = 10_000

Params = Mapping[str, str | None]


@dataclass(frozen=True)
class DrillFilters:
    """The drill-down view; each field is one query parameter, so a view can be bookmarked."""

    campaign: int | None = None
    agent: int | None = None
    lead: int | None = None
    type: str | None = None


def _positive_int(value: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def filters_from_params(params: Params) -> tuple[DrillFilters, list[str]]:
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


def widget_values(filters: DrillFilters) -> dict[str, object]:
    """What each filter's widget holds for ``filters`` (the lead is typed in: text, "" for none)."""
    values: dict[str, object] = {name: getattr(filters, name) for name in PARAMS}
    values["lead"] = "" if filters.lead is None else str(filters.lead)
    return values


def filters_from_widgets(values: Mapping[str, object]) -> tuple[DrillFilters, list[str]]:
    """Filters from what the widgets hold, read as the URL would be (with the same notes)."""
    return filters_from_params(
        {name: "" if values.get(name) is None else str(values.get(name)) for name in PARAMS}
    )


@dataclass(frozen=True)
class UrlState:
    """The view a run of the screen starts from, and what to do with the widgets."""

    filters: DrillFilters
    notes: tuple[str, ...]  # one per ignored URL value
    reseed: bool  # set the widgets to `widget_values` before they are drawn
    widget_values: Mapping[str, object]
    remember: dict[str, str | None]  # this session's memory of what the URL says


def url_state(url: Params, remembered: Params | None, widgets_present: bool) -> UrlState:
    """Where a run starts: from the URL, or from this session's filters when the URL names none
    (a page switch dropped the query string); see ipscape/presentation/url_state.py."""
    state = sticky_params(url, remembered, PARAMS, widgets_present)
    filters, notes = filters_from_params(state.asked)
    return UrlState(filters, tuple(notes), state.reseed, widget_values(filters), state.asked)


@dataclass(frozen=True)
class UrlWrite:
    """The URL for a view: its query parameters, and what to change in the current URL."""

    params: dict[str, str]
    changes: dict[str, str | None]  # set (a value) or remove (None); other parameters stay
    remember: dict[str, str | None]  # what the URL says once written, for the next run

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def url_write(filters: DrillFilters, current: Params) -> UrlWrite:
    """The query parameters that say ``filters``, compared with the ones the URL has now."""
    params = filters_to_params(filters)
    return UrlWrite(params, url_changes(params, current, PARAMS), remembered(params, PARAMS))


def activity_query(filters: DrillFilters, bounds: Bounds) -> dict[str, Any]:
    """The view as the question it asks (keyword arguments of `LiveData.query_activities`). A
    range that ends now asks without an end, so the question stays the same as time moves."""
    return {
        "campaign_id": filters.campaign,
        "agent_id": filters.agent,
        "lead_id": filters.lead,
        "since": bounds.since,
        "until": None if bounds.live else bounds.until,
        "activity_type": filters.type,
    }


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


# --- the filter widgets' choices -------------------------------------------------------------


def agent_names(agents: pd.DataFrame) -> dict[Any, str]:
    """agent_id -> name ("--" for a missing name)."""
    if agents.empty:
        return {}
    return {
        aid: text(name)
        for aid, name in zip(agents["agent_id"], agents["agent_name"], strict=True)
        if not is_missing(aid)
    }


def filter_options(current: object, names: Mapping[Any, str]) -> list[Any]:
    """A filter's choices: "All" (None), then the known ones by name, then the current value
    when it is not known (a bookmarked id that left the tenant's lists still shows)."""
    options: list[Any] = [None, *sorted(names, key=lambda k: names[k])]
    if current is not None and current not in names:
        options.append(current)
    return options


def option_label(value: object, names: Mapping[Any, str]) -> str:
    """How a filter choice reads: "All", its name, or ``#id`` when it has none."""
    return "All" if value is None else names.get(value, f"#{value}")


def type_names(current: object) -> dict[str, str]:
    """The activity types the type filter offers: the known ones, and the current one."""
    chosen = [str(current)] if current else []
    return {t: t for t in (*KNOWN_TYPES, *chosen)}


# --- the activities shown ----------------------------------------------------------------------


def sort_activities(activities: pd.DataFrame) -> pd.DataFrame:
    """Newest first (stable), the order the drill-down table shows; row i of both match."""
    return activities.sort_values(
        "created_at", ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def newest_activities(activities: pd.DataFrame, limit: int = MAX_TABLE_ROWS) -> pd.DataFrame:
    """The rows the table shows: the newest ``limit`` (bounded, so a wide filter stays cheap)."""
    return sort_activities(activities).head(limit)


def unknown_types(activities: pd.DataFrame) -> list[str]:
    if activities.empty:
        return []
    types = activities["type"].astype("string").dropna().unique()
    return sorted(str(t) for t in types if t not in KNOWN_ACTIVITY_TYPES)


def raw_of_selected(rows: pd.DataFrame, selected: Sequence[int]) -> object | None:
    """The tenant's own data of the selected row, None when no row is selected (``{}`` for a
    known type: its typed columns say it all, and only unknown types keep their raw data)."""
    if not selected or not 0 <= selected[0] < len(rows):
        return None
    raw = rows["raw"].iloc[selected[0]]
    return {} if is_missing(raw) else raw


CHART_TITLE = "Activities per campaign (click a bar to filter)"
NO_MATCH = "No activities match these filters"


def shown_caption(shown: int, matched: int, times: str) -> str:
    """ "Showing 12 activities", or the newest N of M when the table is capped."""
    what = (
        f"{shown} activities"
        if shown == matched
        else f"the newest {shown} of {matched} activities (narrow the filters to see the rest)"
    )
    return f"Showing {what} · {times}"


def unknown_types_note(types: Sequence[str]) -> str | None:
    if not types:
        return None
    return (
        f"Kept as-is, types this dashboard does not know: {', '.join(types)}. "
        "Select a row to see its raw data."
    )


def tenant_failing_note(error: str | None) -> str:
    """An answer still within its interval while the tenant fails now: said, not hidden."""
    return f"The tenant is failing now: {error} These results came earlier."


FUTURE_NOTE = (
    "The tenant dated these more than 5 minutes after its own now (a clock problem on its side). "
    "They are kept out of the live views and of the incremental fetch until their time comes."
)


def future_label(held: int) -> str:
    return f"{held} activities dated in the future, held apart"


# --- tables ------------------------------------------------------------------------------------

ACTIVITY_COLUMNS = (
    Column("Activity", source="activity_id"),
    Column("Type", source="type"),
    Column("Created", "datetime", source="created_at"),
    Column("Campaign", source="campaign_name"),
    Column("Agent", source="agent_name"),
    Column("Status", source="status"),
    Column("Lead", source="lead_id"),
    Column("From", source="source"),
    Column("To", source="destination"),
    Column("Queue", "duration", source="queue_s"),
    Column("Talk", "duration", source="talk_s"),
)
DIAL_SUMMARY_COLUMNS = (
    Column("Phone"),
    Column("Number"),
    Column("Attempts", "count"),
    Column("Last status"),
)
DIAL_ATTEMPT_COLUMNS = (
    Column("Attempt", source="attempt_id"),
    Column("Phone"),
    Column("Number", source="phone_number"),
    Column("Status", source="dial_status"),
    Column("Dialled", "datetime", source="created_at"),
    Column("Dial time", "duration", source="dial_s"),
)


def _phones(indexes: pd.Series) -> pd.Series:
    """``phone1``..``phone3`` (the lead's number slots), missing where the tenant said none."""
    slots = counts(indexes)
    return ("phone" + slots.astype("string")).astype("string")


def activities_table(activities: pd.DataFrame, tz: str) -> Table:
    """The drill-down rows as shown (and exported): every type kept, unknown ones included."""
    if activities.empty:
        return table_of(None, ACTIVITY_COLUMNS)
    frame = sort_activities(activities)
    return table_of(column_values(frame, ACTIVITY_COLUMNS, tz), ACTIVITY_COLUMNS)


def dial_summary(attempts: pd.DataFrame) -> Table:
    """Per phone number of a lead: attempts and the latest status."""
    if attempts.empty:
        return table_of(None, DIAL_SUMMARY_COLUMNS)
    frame = attempts.sort_values("created_at", na_position="first", kind="stable")
    rows = []
    for slot, group in frame.groupby(_phones(frame["phone_index"]), dropna=False, sort=True):
        # the number last dialled in this slot (a lead's number may change during the day)
        numbers = group["phone_number"].dropna()
        last = numbers.iloc[-1] if len(numbers) else pd.NA
        rows.append((slot, last, len(group), group["dial_status"].iloc[-1]))
    phone, number, tries, status = zip(*rows, strict=True)
    data = {
        "Phone": texts(pd.Series(phone, dtype=object)).array,
        "Number": texts(pd.Series(number, dtype=object)).array,
        "Attempts": counts(pd.Series(tries)).array,
        "Last status": texts(pd.Series(status, dtype=object)).array,
    }
    return table_of(data, DIAL_SUMMARY_COLUMNS)


def dial_attempts_table(attempts: pd.DataFrame, tz: str) -> Table:
    if attempts.empty:
        return table_of(None, DIAL_ATTEMPT_COLUMNS)
    frame = attempts.sort_values("created_at", na_position="last", kind="stable")
    data = {
        **column_values(frame, DIAL_ATTEMPT_COLUMNS, tz),
        "Phone": _phones(frame["phone_index"]).array,
    }
    return table_of(data, DIAL_ATTEMPT_COLUMNS)


# --- the CSV export ----------------------------------------------------------------------------

# A cell a spreadsheet would run as a formula: = @ tab CR, or + - not starting a number (a phone
# number "+61 2 9999 0000" or "-12.5" stays as it is).
_FORMULA = r"[=@\t\r]|[+-](?![0-9][0-9 .]*$)"
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _csv_number(value: object) -> str:
    """A number as a spreadsheet reads it: whole numbers without ".0", empty when unknown."""
    if is_missing(value):
        return ""
    number = float(value)  # type: ignore[arg-type]
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return repr(number)


def _csv_column(values: pd.Series, column: Column) -> pd.Series:
    if column.kind in ("count", "duration", "percent", "progress"):
        return pd.to_numeric(values, errors="coerce").map(_csv_number).astype("string")
    if column.kind in ("time", "datetime"):
        # Local wall-clock time of the display zone, as on screen (and as spreadsheets parse).
        stamps = pd.to_datetime(values, errors="coerce")
        return stamps.dt.strftime(CSV_TIME_FORMAT).astype("string").fillna("")
    cells = values.astype("string")
    risky = cells.str.match(_FORMULA).fillna(False) & cells.ne("--").fillna(False)
    return cells.where(~risky, "'" + cells).fillna("")


def csv_bytes(table: Table) -> bytes:
    """The table on screen as CSV (UTF-8 with BOM, so spreadsheet apps show accents): exactly
    its shown columns, numbers as numbers, times as local ``YYYY-MM-DD HH:MM:SS``, unknown as an
    empty cell; only text cells can hold a formula, so only they are guarded (a leading ')."""
    kinds = {c.name: c for c in table.columns}
    out = pd.DataFrame(
        {name: _csv_column(table.frame[name], kinds[name]) for name in table.shown},
        columns=table.shown,
    )
    return out.to_csv(index=False).encode("utf-8-sig")


# --- rows the tenant sent that we could not use ------------------------------------------------


# The live feeds whose drops the drill-down lists, after its own query's ("these results").
DROP_FEEDS = ("campaigns", "agents", "activities", "voicemail", "transfers")
DROPS_LABEL = "Rows the tenant sent that could not be used"
DROPS_NOTE = (
    "Left out of the tables and tiles, counted by reason (the activity feeds since midnight). "
    "Everything else the tenant sent is shown as usual."
)


def drops_lines(drops: Mapping[str, Drops | None]) -> list[str]:
    """One line per feed that dropped rows (feeds without drops say nothing), by our own reason
    texts, most common first: ``activities: dropped 3 rows (no activityId: 2, not an object: 1)``.
    """
    return [f"{feed}: {dropped.text()}" for feed, dropped in drops.items() if dropped]
