"""`ResilientHistory`: a history store that never raises, and says why it is not recording.

History is a convenience next to the live tiles: a full disk, a folder that cannot exist or a
damaged file becomes a status with a reason safe to show, and the store is opened or written
again by itself every ``RETRY_S``.
"""

from __future__ import annotations

import errno
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ipscape.history import (
    CLOSED,
    MAX_ACTIVITY_ROWS,
    RECORDING,
    HistoryStatus,
    HistoryStore,
    empty_activity_history,
    empty_agent_state_history,
    empty_campaign_history,
)

log = logging.getLogger(__name__)

# A failed store is opened (or written) again after this long, on whichever call comes next.
RETRY_S = 30.0


def failure_reason(exc: BaseException) -> str:
    """Why history is not being recorded, in words safe to show (no paths, no SQL)."""
    text = str(exc).lower()
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return "the disk that holds the history is full"
    if isinstance(exc, PermissionError) or code == errno.EROFS or "readonly" in text:
        return "the history file cannot be written (no permission, or a read-only disk)"
    if isinstance(exc, OSError) or "unable to open" in text:
        return "the history file cannot be created where dashboard.toml says ([history] path)"
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return "the history file is damaged or is not a history database"
    return f"the history store failed ({type(exc).__name__})"


class ResilientHistory:
    """A history store that never raises: open lazily, a failure recorded as `status`, and the
    store opened or written again by itself once ``retry_s`` has passed since the last failure.

    Appends during a failure are dropped (the trend shows a gap, and the pages say why); a
    read that fails returns an empty frame. A retry happens on the next call once it is due,
    normally a poller's append on its refresh path, and never more often than every ``retry_s``
    however many readers there are. Only a successful append clears the failure: "recording"
    means the last write worked.
    """

    def __init__(
        self,
        open_store: Callable[[], HistoryStore],
        *,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._open = open_store
        self.retry_s = retry_s
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._store: HistoryStore | None = None
        self._status = RECORDING
        self._next_try = -math.inf
        self._closed = False

    def status(self) -> HistoryStatus:
        with self._lock:
            return CLOSED if self._closed else self._status

    # -- the guarded store ---------------------------------------------------------------------
    def _usable(self, *, writing: bool) -> HistoryStore | None:
        """The store, opened when due; None while it cannot be opened, or (for a write) while
        the last write failed and the retry is not yet due, so a full disk is not hammered by
        every poll. Reads go on from an open store: what was recorded stays on the chart."""
        with self._lock:
            if self._closed:
                return None
            due = self._clock() >= self._next_try
            if self._store is None:
                if not due:
                    return None
                try:
                    self._store = self._open()
                except Exception as exc:
                    self._failed_locked(exc, "open")
                return self._store
            if writing and not self._status.recording and not due:
                return None
            return self._store

    def _failed_locked(self, exc: Exception, during: str) -> None:
        reason = failure_reason(exc)
        now = self._clock()
        self._next_try = now + self.retry_s
        if self._status.recording or self._status.reason != reason:
            log.warning(
                "history: not recording (%s failed: %s: %s); retrying every %.0f s",
                during,
                type(exc).__name__,
                exc,
                self.retry_s,
            )
        else:
            log.debug("history: still not recording (%s failed: %s)", during, reason)
        since = None if self._status.recording else self._status.since
        self._status = HistoryStatus(
            recording=False, reason=reason, since=since or datetime.fromtimestamp(now, UTC)
        )

    def _write(self, write: Callable[[HistoryStore], Any]) -> Any:
        store = self._usable(writing=True)
        if store is None:
            return None
        try:
            result = write(store)
        except Exception as exc:
            with self._lock:
                self._failed_locked(exc, "write")
            return None
        with self._lock:
            if not self._status.recording:
                log.info("history: recording again")
                self._status = RECORDING
        return result

    def _read(self, read: Callable[[HistoryStore], pd.DataFrame], empty: pd.DataFrame) -> Any:
        store = self._usable(writing=False)
        if store is None:
            return empty
        try:
            return read(store)
        except Exception as exc:
            with self._lock:
                self._failed_locked(exc, "read")
            return empty

    # -- HistoryStore --------------------------------------------------------------------------
    def append_campaigns(self, frame: pd.DataFrame, at: datetime) -> None:
        self._write(lambda store: store.append_campaigns(frame, at))

    def append_agent_states(self, frame: pd.DataFrame, at: datetime) -> None:
        self._write(lambda store: store.append_agent_states(frame, at))

    def append_activities(self, frame: pd.DataFrame) -> None:
        self._write(lambda store: store.append_activities(frame))

    def prune(self, now: datetime | None = None) -> int:
        return self._write(lambda store: store.prune(now)) or 0

    def campaign_history(
        self,
        since: datetime,
        campaign_ids: Sequence[int] | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame:
        return self._read(
            lambda store: store.campaign_history(since, campaign_ids, until),
            empty_campaign_history(),
        )

    def agent_state_history(self, since: datetime, until: datetime | None = None) -> pd.DataFrame:
        return self._read(
            lambda store: store.agent_state_history(since, until), empty_agent_state_history()
        )

    def activity_history(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        campaign_id: int | None = None,
        agent_id: int | None = None,
        lead_id: int | None = None,
        activity_type: str | None = None,
        limit: int = MAX_ACTIVITY_ROWS,
    ) -> pd.DataFrame:
        return self._read(
            lambda store: store.activity_history(
                since,
                until,
                campaign_id=campaign_id,
                agent_id=agent_id,
                lead_id=lead_id,
                activity_type=activity_type,
                limit=limit,
            ),
            empty_activity_history(),
        )

    def close(self) -> None:
        """Close the store; no more retries. Safe to call twice."""
        with self._lock:
            self._closed = True
            store, self._store = self._store, None
        if store is not None:
            store.close()
