"""The time range a trend or the drill-down shows, its URL form, and the period it is compared
with.

A range is one of a few presets or a custom pair of local times (``window``, ``since``,
``until`` in the URL, times as ``YYYY-MM-DDTHH:MM`` in the display time zone, which is how
people say them), and optionally a comparison (``compare=yesterday|week``): the same period one
day or one week earlier, drawn over it. Days are local days: "yesterday" is local midnight to
local midnight, and a comparison moves the clock times back by whole days, so 09:00-10:00 is
compared with 09:00-10:00 even across a daylight-saving change.

Everything here is pure; where the data of a range comes from (the collector's day for today,
the history store for past days) is decided by the screens' data module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ipscape.clock import start_of_day

PRESETS: dict[str, str] = {
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "4h": "Last 4 hours",
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "custom": "Custom range",
}
_SPANS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "4h": timedelta(hours=4)}
COMPARISONS: dict[str, str] = {
    "none": "No comparison",
    "yesterday": "Same period yesterday",
    "week": "Same weekday last week",
}
_COMPARE_DAYS = {"yesterday": 1, "week": 7}
# The query parameters of a range, in the order the controls lay them out.
RANGE_PARAMS = ("window", "since", "until", "compare")
URL_TIME_FORMAT = "%Y-%m-%dT%H:%M"
# A range longer than this is cut to its last MAX_SPAN: history keeps a week by default, and a
# chart of more would thin its points to nothing.
MAX_SPAN = timedelta(days=31)

Params = Mapping[str, str | None]


@dataclass(frozen=True)
class TimeRange:
    """A range as the viewer picked it. ``since``/``until`` are local, naive (what the time
    inputs hold), and only used by ``window="custom"``."""

    window: str = "today"
    since: datetime | None = None
    until: datetime | None = None
    compare: str = "none"

    @property
    def label(self) -> str:
        if self.window == "custom" and self.since and self.until:
            return f"{self.since:%a %d %b %H:%M} to {self.until:%a %d %b %H:%M}"
        return PRESETS.get(self.window, self.window)


@dataclass(frozen=True)
class Bounds:
    """A range resolved at a moment: calls created in [since, until), both aware (UTC)."""

    since: datetime
    until: datetime
    live: bool  # it ends now, so it moves with the clock (a past day does not)

    def __post_init__(self) -> None:
        # In UTC: two times of one zone subtract as clock times in Python, so a 25-hour day
        # would read as 24 hours.
        object.__setattr__(self, "since", self.since.astimezone(UTC))
        object.__setattr__(self, "until", self.until.astimezone(UTC))

    @property
    def span(self) -> timedelta:
        return self.until - self.since


def _local(value: str, name: str, notes: list[str]) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), URL_TIME_FORMAT)
    except ValueError:
        notes.append(f"Ignored {name}={value[:40]!r}: use YYYY-MM-DDTHH:MM (local time).")
        return None


def parse_range(params: Params) -> tuple[TimeRange, list[str]]:
    """The range the query parameters ask for, plus a note for each value that was ignored.

    An unusable custom range (a time missing or unreadable, or an end not after its start)
    falls back to today, with a note: a bookmark that no longer reads still opens."""
    notes: list[str] = []
    window = params.get("window") or "today"
    if window not in PRESETS:
        notes.append(f"Ignored window={window[:40]!r}: use one of {', '.join(PRESETS)}.")
        window = "today"
    compare = params.get("compare") or "none"
    if compare not in COMPARISONS:
        notes.append(f"Ignored compare={compare[:40]!r}: use yesterday or week.")
        compare = "none"
    since = until = None
    if window == "custom":
        raw_since, raw_until = params.get("since") or "", params.get("until") or ""
        since = _local(raw_since, "since", notes) if raw_since else None
        until = _local(raw_until, "until", notes) if raw_until else None
        if since is None or until is None:
            notes.append("A custom range needs since= and until=: showing today.")
            window, since, until = "today", None, None
        elif until <= since:
            notes.append("Ignored a custom range that ends before it starts: showing today.")
            window, since, until = "today", None, None
    return TimeRange(window, since, until, compare), notes


def within_history(
    time_range: TimeRange, earliest: datetime, latest: datetime
) -> tuple[TimeRange, list[str]]:
    """A custom range kept inside what history can hold (local, naive ``earliest``..``latest``):
    cut at ``earliest`` with a note, or today with a note when it lies wholly before it."""
    if time_range.window != "custom" or time_range.since is None or time_range.until is None:
        return time_range, []
    since, until = time_range.since, min(time_range.until, latest)
    if until <= earliest:
        note = f"History reaches back to {earliest:%Y-%m-%d %H:%M}: showing today."
        return TimeRange(compare=time_range.compare), [note]
    if since < earliest:
        note = f"History reaches back to {earliest:%Y-%m-%d %H:%M}: the range starts there."
        return TimeRange("custom", earliest, until, time_range.compare), [note]
    return TimeRange("custom", since, until, time_range.compare), []


def range_params(time_range: TimeRange) -> dict[str, str]:
    """Only what differs from the default (today, no comparison), so URLs stay short."""
    params: dict[str, str] = {}
    if time_range.window != "today":
        params["window"] = time_range.window
    if time_range.window == "custom" and time_range.since and time_range.until:
        params["since"] = time_range.since.strftime(URL_TIME_FORMAT)
        params["until"] = time_range.until.strftime(URL_TIME_FORMAT)
    if time_range.compare != "none":
        params["compare"] = time_range.compare
    return params


def _aware(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz))


def minus_days(moment: datetime, days: int, tz: str) -> datetime:
    """``moment`` moved back ``days`` local days at the same clock time (DST-safe)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone).replace(tzinfo=None)
    return (local - timedelta(days=days)).replace(tzinfo=zone)


def range_bounds(time_range: TimeRange, now: datetime, tz: str) -> Bounds:
    """[since, until) of ``time_range`` at ``now``; nothing ends after now."""
    window = time_range.window
    if window in _SPANS:
        return Bounds(now - _SPANS[window], now, live=True)
    midnight = start_of_day(now, tz)
    if window == "yesterday":
        return Bounds(minus_days(midnight, 1, tz), midnight, live=False)
    if window == "7d":
        return Bounds(now - timedelta(days=7), now, live=True)
    if window == "custom" and time_range.since and time_range.until:
        since, until = _aware(time_range.since, tz), _aware(time_range.until, tz)
        live = until >= now
        until = min(until, now)
        since = max(min(since, until), until - MAX_SPAN)
        return Bounds(since, until, live=live)
    return Bounds(midnight, now, live=True)


def comparison_bounds(bounds: Bounds, compare: str, tz: str) -> Bounds | None:
    """The same clock times ``compare`` days earlier, or None without a comparison."""
    days = _COMPARE_DAYS.get(compare)
    if days is None:
        return None
    return Bounds(minus_days(bounds.since, days, tz), minus_days(bounds.until, days, tz), False)


def comparison_days(compare: str) -> int:
    """How many local days a comparison looks back (0 without one)."""
    return _COMPARE_DAYS.get(compare, 0)


def comparison_label(compare: str) -> str:
    return {"yesterday": "yesterday", "week": "same day last week"}.get(compare, "")


def bucket_freq(span: timedelta) -> str:
    """How finely a trend of this span is counted: 15 min up to a day, then hourly."""
    return "15min" if span <= timedelta(days=1, hours=1) else "1h"
