"""Today's activities, fetched incrementally (see `ActivityWindow`).

A wall runs for weeks, so a refresh costs in proportion to what is new, not to the day so far:
only the items of the latest fetch are parsed (``frames.activities_result`` and friends over that
batch), then merged into the typed day frames held here with a few vectorised passes (``isin``
over the ids, one ``concat``). The raw JSON is not kept once parsed, except for the activity
types the typed columns do not describe (drill-down shows their raw data) and the few activities
held in quarantine.

Measured with ``python -m benchmarks.activities_refresh``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ipscape import frames
from ipscape.clock import Clock, start_of_day, utc_from_timestamp
from ipscape.errors import PaginationError
from ipscape.frames import NO_DROPS, Drops, FrameResult

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
# pyarrow-backed string columns gain a chunk or two at every merge (concat keeps the chunks);
# past this many a column is combined into one, so filters and takes on it stay fast.
MAX_CHUNKS = 64

# The transfer's "from" side is its parent activity's (see frames.transfers_result).
_FROM_PARENT = {
    "from_agent": "agent_name",
    "from_agent_id": "agent_id",
    "from_campaign": "campaign_name",
    "from_campaign_id": "campaign_id",
}


@dataclass(frozen=True)
class ActivityUpdate:
    """The window after a fetch. Frames are never changed once published: share them freely.

    ``activities``, ``voicemail`` and ``transfers`` hold the same rows the frame builders would
    give over the latest version of every activity in today's window (``raw`` aside: it is None
    for the known types); ``changed`` holds the activity rows this fetch added or changed, for
    the history store. ``day_drops`` counts, by feed, the records today's fetches could not use
    (an unusable item sent again within the overlap counts again: these count what arrived);
    ``fetch_drops`` counts those of this fetch alone."""

    activities: pd.DataFrame
    voicemail: pd.DataFrame
    transfers: pd.DataFrame
    changed: pd.DataFrame
    day_drops: Mapping[str, Drops]
    fetch_drops: Mapping[str, Drops]

    def result(self, feed: str) -> FrameResult:
        """The day's frame of ``feed`` (activities, voicemail or transfers) with its drops."""
        frame = {
            "activities": self.activities,
            "voicemail": self.voicemail,
            "transfers": self.transfers,
        }[feed]
        return FrameResult(frame, self.day_drops.get(feed, NO_DROPS))


def _created_before(item: Mapping[str, Any], moment: datetime) -> bool:
    created = frames.activity_created_at(item)
    return created is not None and created < moment


def _created_after(item: Mapping[str, Any], moment: datetime) -> bool:
    created = frames.activity_created_at(item)
    return created is not None and created > moment


class ActivityWindow:
    """Today's activities, fetched incrementally: only what was created since the last fetch.

    Each fetch asks from (newest activity seen - overlap), or from the oldest call still open, so
    calls that change status after they were first seen are updated; activities are merged by id,
    the newest version winning (and moving to the young end, which the cap keeps), and everything
    created before local midnight is dropped when the day turns.
    The cursor never starts after our own "now" (the tenant's clock as the collector sees it), and
    an activity dated more than FUTURE_TOLERANCE_S ahead is quarantined: counted and listed in
    drill-down, released into the window once its time has come, never used as the cursor.

    One fetch merges at a time (a second waits for the first's merge); readers on other threads
    get the latest published `ActivityUpdate`.
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
        self._merge_lock = threading.Lock()  # one merge at a time
        self._lock = threading.Lock()  # guards the published state below
        self._held = _Day.empty()
        self._update: ActivityUpdate | None = None
        # Quarantined items stay raw JSON: at most MAX_QUARANTINE_ITEMS of them, and they must
        # enter the window exactly as the tenant sent them once their time comes.
        self._future: dict[int, dict[str, Any]] = {}
        self._midnight: datetime | None = None
        # Records the builders left out today, by feed (see ActivityUpdate.day_drops).
        self._day_drops: dict[str, Drops] = {}

    def start_of_day(self, now: float) -> datetime:
        return start_of_day(utc_from_timestamp(now), self.timezone)

    def next_since(self, now: float) -> datetime:
        """Where the next fetch starts. Measured on the tenant's own timestamps (the newest
        activity seen), not on our clock, so a tenant whose clock differs a little loses nothing;
        but never later than our now minus the overlap."""
        midnight = self.start_of_day(now)
        with self._lock:
            update = self._update
        frame = None if update is None else update.activities
        if frame is None or not len(frame):
            return midnight
        created = frame["created_at"]
        newest = created.max()
        if pd.isna(newest):
            return midnight
        since = newest - pd.Timedelta(seconds=self.overlap_s)
        open_calls = created[frame["hangup_at"].isna()]
        open_calls = open_calls[open_calls >= newest - pd.Timedelta(seconds=self.open_lookback_s)]
        if len(open_calls):
            since = min(since, open_calls.min())
        latest = utc_from_timestamp(now) - timedelta(seconds=self.overlap_s)
        with self._lock:
            held_day = self._midnight
        # Just after midnight, the first fetch still asks from the held day's cursor: the last
        # seconds of yesterday go to the history store (`ActivityUpdate.changed`), not the day.
        floor = held_day if held_day is not None and held_day < midnight else midnight
        return max(min(since.to_pydatetime(), latest), floor)

    def fetch(self) -> ActivityUpdate:
        """The collector's fetch: one incremental request, merged into today's window. A listing
        cut short (PaginationError) is merged as far as it was read and re-raised with the
        `ActivityUpdate` as its ``partial``."""
        started = self._clock()
        since = self.next_since(started)
        cut_short: PaginationError | None = None
        try:
            fresh = self._fetch_items(since)
        except PaginationError as exc:
            cut_short = exc
            fresh = exc.partial if isinstance(exc.partial, list) else []
        with self._merge_lock:
            update = self._merge(fresh, started)
        if cut_short is not None:
            cut_short.partial = update
            raise cut_short
        return update

    def resume(
        self, activities: pd.DataFrame, voicemail: pd.DataFrame, transfers: pd.DataFrame
    ) -> bool:
        """Start from the frames a predecessor published (a collector taking over the lease)
        instead of asking the tenant for the whole day again: today's rows are kept and the
        first fetch asks only from their newest minus the overlap, as it would have. True when
        resumed; False once this window has fetched (it never overwrites its own data)."""
        midnight = self.start_of_day(self._clock())
        kept = (activities["created_at"] >= midnight).fillna(False).to_numpy(dtype=bool)
        day_activities = activities.loc[kept]
        ids = _ids(day_activities)
        day = _Day(
            activities=_compacted(day_activities),
            voicemail=_compacted(voicemail.loc[_isin(voicemail["activity_id"], ids)]),
            transfers=_compacted(transfers.loc[_isin(transfers["activity_id"], ids)]),
        )
        with self._merge_lock, self._lock:
            if self._update is not None:
                return False
            self._held = day
            self._midnight = midnight
            self._day_drops = {}
            self._update = ActivityUpdate(
                activities=_published(day.activities),
                voicemail=_published(day.voicemail),
                transfers=_published(day.transfers),
                changed=_published(day.activities.iloc[:0]),
                day_drops={},
                fetch_drops={},
            )
        return True

    def current(self) -> ActivityUpdate | None:
        """The latest published state, None before the first fetch."""
        with self._lock:
            return self._update

    def quarantined(self) -> pd.DataFrame:
        """Activities dated too far in the future to trust, as an activities frame."""
        with self._lock:
            items = list(self._future.values())
        return frames.activities_frame(items)

    # -- the merge -----------------------------------------------------------------------------
    def _merge(self, fresh: list[dict[str, Any]], started: float) -> ActivityUpdate:
        midnight = self.start_of_day(started)
        horizon = utc_from_timestamp(started) + timedelta(seconds=self.future_tolerance_s)
        with self._lock:
            held = self._held
            future = dict(self._future)
            new_day = self._midnight is not None and self._midnight != midnight
            day_drops = {} if new_day else dict(self._day_drops)

        batch, future = _sorted_out(fresh, future, horizon, midnight)
        built = {
            "activities": frames.activities_result(batch),
            "voicemail": frames.voicemail_result(batch),
            "transfers": frames.transfers_result(batch),
        }
        fetch_drops = {feed: result.drops for feed, result in built.items()}
        for feed, drops in fetch_drops.items():
            day_drops[feed] = day_drops.get(feed, NO_DROPS).merged(drops)
        parsed = _Day(
            activities=_without_known_raw(built["activities"].frame),
            voicemail=built["voicemail"].frame,
            transfers=built["transfers"].frame,
        )
        parsed, yesterday = _split_off_before(parsed, midnight)
        resent = _isin(held.activities["activity_id"], _ids(parsed.activities))
        day = self._merged(held, parsed, resent, midnight if new_day else None)
        changed = parsed.activities.loc[_changed(held.activities, resent, parsed.activities)]
        if len(yesterday):
            changed = pd.concat([yesterday, changed], ignore_index=True)
        update = ActivityUpdate(
            activities=_published(day.activities),
            voicemail=_published(day.voicemail),
            transfers=_published(day.transfers),
            changed=_published(changed),
            day_drops=day_drops,
            fetch_drops=fetch_drops,
        )
        with self._lock:
            self._held = day
            self._update = update
            self._future = future
            self._midnight = midnight
            self._day_drops = day_drops
        return update

    def _merged(self, held: _Day, new: _Day, resent: np.ndarray, midnight: datetime | None) -> _Day:
        """``held`` with ``new`` merged in: the ``resent`` activities leave their old place,
        yesterday's go (``midnight`` when the day has turned), the new join the young end, and the
        oldest go past the cap. Voicemail and transfers follow the activities they came from."""
        old = held.activities
        new_ids = _ids(new.activities)
        gone = resent
        expired_ids = new_ids[:0]
        if midnight is not None:
            expired = (old["created_at"] < midnight).to_numpy(dtype=bool)
            expired_ids = _ids(old)[expired]
            gone = gone | expired
        activities = _appended(old, gone, new.activities)
        capped_ids = new_ids[:0]
        if len(activities) > self.max_items:
            capped_ids = _ids(activities)[: len(activities) - self.max_items]
            activities = activities.iloc[len(activities) - self.max_items :]

        replaced = np.concatenate([new_ids, expired_ids])
        derived = []
        for frame, fresh in ((held.voicemail, new.voicemail), (held.transfers, new.transfers)):
            frame = _appended(frame, _isin(frame["activity_id"], replaced), fresh)
            if len(capped_ids):
                frame = frame.loc[~_isin(frame["activity_id"], capped_ids)]
            derived.append(frame)
        voicemail, transfers = derived
        # A transfer's "from" side is its parent's latest version in the window: look it up for
        # the new rows, and again for the rows whose parent came, changed or left.
        stale = _isin(transfers["parent_activity_id"], np.concatenate([replaced, capped_ids]))
        stale |= _isin(transfers["activity_id"], new_ids)
        transfers = _with_parents(transfers, stale, activities)
        return _Day(
            activities=_compacted(activities),
            voicemail=_compacted(voicemail),
            transfers=_compacted(transfers),
        )


@dataclass(frozen=True)
class _Day:
    """The window's frames as held between fetches (readers get `ActivityUpdate`)."""

    activities: pd.DataFrame
    voicemail: pd.DataFrame
    transfers: pd.DataFrame

    @classmethod
    def empty(cls) -> _Day:
        return cls(
            activities=frames.activities_frame([]),
            voicemail=frames.voicemail_frame([]),
            transfers=frames.transfers_frame([]),
        )


def _sorted_out(
    fresh: list[Any],
    future: dict[int, dict[str, Any]],
    horizon: datetime,
    midnight: datetime,
) -> tuple[list[Any], dict[int, dict[str, Any]]]:
    """(the items to merge, the quarantine after this fetch): the latest version of each
    activity, in the order their latest versions came; items without a usable id are passed on
    for the builders to count."""
    # Quarantined items whose time has come join the window; newer versions replace them.
    arrivals = [
        item
        for item in future.values()
        if not _created_after(item, horizon) and not _created_before(item, midnight)
    ]
    future = {key: item for key, item in future.items() if _created_after(item, horizon)}
    latest: dict[int, Any] = {}
    unusable: list[Any] = []
    for item in [*arrivals, *fresh]:
        key = frames.activity_id(item)
        if key is None:
            unusable.append(item)
        elif _created_after(item, horizon):
            future.pop(key, None)
            future[key] = item
        else:
            future.pop(key, None)
            latest.pop(key, None)  # newest version wins, and moves to the young end
            latest[key] = item
    if len(future) > MAX_QUARANTINE_ITEMS:
        future = dict(list(future.items())[-MAX_QUARANTINE_ITEMS:])
    return [*latest.values(), *unusable], future


def _split_off_before(day: _Day, midnight: datetime) -> tuple[_Day, pd.DataFrame]:
    """(``day`` without the activities created before ``midnight``, those activities): a fetch
    just after midnight still brings yesterday's last ones, for the history store only."""
    created = day.activities["created_at"]
    before = (created < midnight).fillna(False).to_numpy(dtype=bool)
    if not before.any():
        return day, day.activities.iloc[:0]
    gone = _ids(day.activities)[before]
    return (
        _Day(
            activities=day.activities.loc[~before],
            voicemail=day.voicemail.loc[~_isin(day.voicemail["activity_id"], gone)],
            transfers=day.transfers.loc[~_isin(day.transfers["activity_id"], gone)],
        ),
        day.activities.loc[before],
    )


def _without_known_raw(frame: pd.DataFrame) -> pd.DataFrame:
    """The typed columns describe the known types in full: their raw JSON is not kept."""
    known = frame["type"].isin(frames.KNOWN_ACTIVITY_TYPES).to_numpy(dtype=bool)
    if not known.any():
        return frame
    raw = frame["raw"].to_numpy(dtype=object, copy=True)
    raw[known] = None
    return frame.assign(raw=raw)


def _appended(held: pd.DataFrame, gone: np.ndarray, new: pd.DataFrame) -> pd.DataFrame:
    """``held`` without the ``gone`` rows, then ``new``. Rows before the first one gone are
    sliced, not filtered (re-sent rows are recent ones, near the end), so the one copy made is
    the concat's."""
    parts = []
    hits = np.flatnonzero(gone)
    if not len(hits):
        parts.append(held)
    else:
        first = int(hits[0])
        parts.append(held.iloc[:first])
        tail = held.iloc[first:]
        parts.append(tail.loc[~gone[first:]])
    parts.append(new)
    parts = [part for part in parts if len(part)] or [new]
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _changed(old: pd.DataFrame, resent: np.ndarray, new: pd.DataFrame) -> np.ndarray:
    """Which rows of ``new`` are new, or differ from their version in ``old`` (the ``resent``
    rows; ids unique in both). Compared as Python values, over the re-sent rows only."""
    changed = np.ones(len(new), dtype=bool)
    rows = np.flatnonzero(resent)
    if not len(rows):
        return changed
    position = pd.Index(old["activity_id"].array.take(rows)).get_indexer(new["activity_id"])
    again = np.flatnonzero(position >= 0)
    before = _rows(old, rows[position[again]])
    after = _rows(new, again)
    changed[again] = [a != b for a, b in zip(before, after, strict=True)]
    return changed


def _rows(frame: pd.DataFrame, positions: np.ndarray) -> list[tuple[Any, ...]]:
    # None for every missing value, so that "unknown" equals "unknown" in the comparison.
    columns = [
        frame[name].array.take(positions).to_numpy(dtype=object, na_value=None)
        for name in frame.columns
    ]
    return list(zip(*columns, strict=True))


def _with_parents(
    transfers: pd.DataFrame, stale: np.ndarray, activities: pd.DataFrame
) -> pd.DataFrame:
    """``transfers`` with the "from" columns of the ``stale`` rows read from their parent's row in
    ``activities`` (<NA> while the parent is not there)."""
    rows = np.flatnonzero(stale)
    if not len(rows):
        return transfers
    wanted = transfers["parent_activity_id"].iloc[rows]
    ids = activities["activity_id"]
    hits = np.flatnonzero(_isin(ids, wanted))  # one pass; only the parents' rows are read
    position = pd.Index(ids.array.take(hits)).get_indexer(wanted)
    parent_rows = np.where(position >= 0, hits[position], -1) if len(hits) else position
    columns = {}
    for target, source in _FROM_PARENT.items():
        values = transfers[target].array.copy()
        values[rows] = activities[source].array.take(parent_rows, allow_fill=True)
        columns[target] = values
    return transfers.assign(**columns)


def _isin(column: pd.Series, ids: pd.Series) -> np.ndarray:
    """Which rows of an id column hold one of ``ids`` (a hash of ``ids``, one pass over the
    column), as a plain boolean mask."""
    return column.isin(ids).to_numpy(dtype=bool)


def _ids(frame: pd.DataFrame) -> np.ndarray:
    # The builders drop activities without an id, so the column never holds <NA>.
    return frame["activity_id"].to_numpy(dtype=np.int64)


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as readers get it: a shallow copy, so that no reader reaches the frame held
    for the next merge."""
    return frame.copy(deep=False)


def _compacted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed 0..n, its string columns combined once they are in many chunks."""
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        frame = frame.reset_index(drop=True)
    combined = {}
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            chunks = frame[name].array.__arrow_array__()
            if chunks.num_chunks > MAX_CHUNKS:
                combined[name] = pd.array(chunks.combine_chunks(), dtype=dtype)
    return frame.assign(**combined) if combined else frame
