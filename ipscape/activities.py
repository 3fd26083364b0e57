"""Today's activities, fetched incrementally (see `ActivityWindow`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ipscape import feeds, frames
from ipscape.clock import Clock, utc_from_timestamp
from ipscape.errors import PaginationError

# Activities are re-asked for this far behind the previous fetch: a call that was queued then
# changes status (answered, abandoned, voicemail) under the same activity id.
ACTIVITY_OVERLAP_S = 120.0
# ... and calls still open (no hang-up yet) are re-asked until they close, up to this far back.
OPEN_CALL_LOOKBACK_S = 1800.0
# A wall runs for weeks: the activities window holds today only, and never more than this.
MAX_WINDOW_ITEMS = 200_000
# Activities dated further ahead than this (tenant clock trouble) are held apart: counted, shown
# in drill-down, but never the incremental cursor, which would otherwise ask for the future.
FUTURE_TOLERANCE_S = 300.0
MAX_QUARANTINE_ITEMS = 1000


def _item_key(item: Mapping[str, Any]) -> object:
    # No id at all: keep it, keyed by its content, so it is counted rather than lost.
    return frames.item_identity(item) or ("raw", repr(item))


def _created_at(item: Mapping[str, Any]) -> datetime | None:
    data = item.get("data") if isinstance(item, Mapping) else None
    stamps = data.get("timestamps") if isinstance(data, Mapping) else None
    created = stamps.get("created") if isinstance(stamps, Mapping) else None
    if not created:
        return None
    if isinstance(created, str):
        # The common, aware ISO form is read by the standard library a thousand times faster
        # than the frames' general parser, which takes the rest (older naive forms).
        try:
            when = datetime.fromisoformat(created)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when
    parsed = frames.parse_timestamp(created)
    return None if parsed is None or pd.isna(parsed) else parsed.to_pydatetime()


def _created_before(item: Mapping[str, Any], moment: datetime) -> bool:
    created = _created_at(item)
    return created is not None and created < moment


class ActivityWindow:
    """Today's activities, fetched incrementally: only what was created since the last fetch.

    Each fetch asks from (newest activity seen - overlap), or from the oldest call still open, so
    calls that change status after they were first seen are updated; items are merged by activity
    id, the newest version winning, and everything created before local midnight is dropped.
    The cursor never starts after our own "now" (the tenant's clock as the collector sees it), and
    an activity dated more than FUTURE_TOLERANCE_S ahead is quarantined: counted and listed in
    drill-down, released into the window once its time has come, never used as the cursor.
    """

    def __init__(
        self,
        fetch_items: Callable[[datetime], list[dict[str, Any]]],
        *,
        timezone: str,
        clock: Clock = time.time,
        overlap_s: float = ACTIVITY_OVERLAP_S,
        open_lookback_s: float = OPEN_CALL_LOOKBACK_S,
        max_items: int = MAX_WINDOW_ITEMS,
        future_tolerance_s: float = FUTURE_TOLERANCE_S,
    ) -> None:
        self._fetch_items = fetch_items
        self.timezone = timezone
        self._clock = clock
        self.overlap_s = overlap_s
        self.open_lookback_s = open_lookback_s
        self.max_items = max_items
        self.future_tolerance_s = future_tolerance_s
        self._lock = threading.Lock()
        self._items: dict[object, dict[str, Any]] = {}
        self._future: dict[object, dict[str, Any]] = {}
        self._frame: pd.DataFrame | None = None
        self._midnight: datetime | None = None
        self._version = 0

    def start_of_day(self, now: float) -> datetime:
        return feeds.start_of_day(utc_from_timestamp(now), self.timezone)

    def next_since(self, now: float) -> datetime:
        """Where the next fetch starts. Measured on the tenant's own timestamps (the newest
        activity seen), not on our clock, so a tenant whose clock differs a little loses nothing;
        but never later than our now minus the overlap."""
        midnight = self.start_of_day(now)
        with self._lock:
            frame = self._frame
        if frame is None or not len(frame) or "created_at" not in frame.columns:
            return midnight
        newest = frame["created_at"].max()
        if pd.isna(newest):
            return midnight
        since = newest - pd.Timedelta(seconds=self.overlap_s)
        if "hangup_at" in frame.columns:
            open_calls = frame.loc[frame["hangup_at"].isna(), "created_at"].dropna()
            open_calls = open_calls[
                open_calls >= newest - pd.Timedelta(seconds=self.open_lookback_s)
            ]
            if len(open_calls):
                since = min(since, open_calls.min())
        latest = utc_from_timestamp(now) - timedelta(seconds=self.overlap_s)
        return max(min(since.to_pydatetime(), latest), midnight)

    def fetch(self) -> pd.DataFrame:
        """The poller's fetch: one incremental request, merged into today's window. A listing
        cut short is merged as far as it was read and re-raised with the merged frame."""
        started = self._clock()
        since = self.next_since(started)
        cut_short: PaginationError | None = None
        try:
            fresh = self._fetch_items(since)
        except PaginationError as exc:
            cut_short = exc
            fresh = exc.partial if isinstance(exc.partial, list) else []
        midnight = self.start_of_day(started)
        horizon = utc_from_timestamp(started) + timedelta(seconds=self.future_tolerance_s)
        with self._lock:
            merged = dict(self._items)
            future = dict(self._future)
            new_day = self._midnight is not None and self._midnight != midnight
        if new_day:
            merged = {k: v for k, v in merged.items() if not _created_before(v, midnight)}
        # Quarantined items whose time has come join the window; newer versions replace them.
        arrivals = [
            v
            for v in future.values()
            if not _after(v, horizon) and not _created_before(v, midnight)
        ]
        future = {k: v for k, v in future.items() if _after(v, horizon)}
        for item in [*arrivals, *fresh]:
            key = _item_key(item)
            if _after(item, horizon):
                future[key] = item
                continue
            future.pop(key, None)
            merged.pop(key, None)  # newest version wins, and moves to the young end
            merged[key] = item
        if len(future) > MAX_QUARANTINE_ITEMS:
            future = dict(list(future.items())[-MAX_QUARANTINE_ITEMS:])
        if len(merged) > self.max_items:
            merged = dict(list(merged.items())[-self.max_items :])
        frame = frames.activities_frame(list(merged.values()))
        with self._lock:
            self._items = merged
            self._future = future
            self._frame = frame
            self._midnight = midnight
            self._version += 1
        if cut_short is not None:
            cut_short.partial = frame
            raise cut_short
        return frame

    def items(self) -> tuple[int, list[dict[str, Any]]]:
        """(version, items) of the last good fetch, for the derived voicemail/transfer views."""
        with self._lock:
            return self._version, list(self._items.values())

    def quarantined(self) -> pd.DataFrame:
        """Activities dated too far in the future to trust, as an activities frame."""
        with self._lock:
            items = list(self._future.values())
        return frames.activities_frame(items)


def _after(item: Mapping[str, Any], moment: datetime) -> bool:
    created = _created_at(item)
    return created is not None and created > moment
