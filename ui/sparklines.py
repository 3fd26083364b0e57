"""Today's sparklines of the headline tiles (`headline_sparklines`, for the overview and the
wall alike): the waits and agents from the history store, read once a minute per process (every
viewer of the overview and every wall share the read: a day of campaign history is thousands of
rows), and the service level and abandon rate from the service-level feed.

A wall scoped to some campaigns draws from the same read, its own campaigns picked out
(`ipscape.presentation.sparklines.history_sparklines`); its lines are kept per scope for the
minute, so a board redrawing every few seconds neither reads the store nor adds anything up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import streamlit as st

from ipscape.clock import start_of_day
from ipscape.history import HistoryStore
from ipscape.live import LiveData
from ipscape.metrics.feeds import SERVICE_LEVEL_FEED
from ipscape.presentation.sparklines import history_sparklines, performance_sparklines

READ_EVERY_S = 60
# Scopes whose lines are kept (two minutes' worth of eight differently scoped walls); a ninth
# scope only costs its walls a recount from the shared read.
MAX_SCOPES = 16


def headline_sparklines(
    live: LiveData, tz: str, now: datetime, campaign_ids: Sequence[int] = ()
) -> dict[str, list[float]]:
    """Headline key -> today's points, of ``campaign_ids`` (all campaigns when none). The
    service-level feed counts every campaign's calls (it has no campaign rows), so a scoped
    view draws no service-level or abandon line rather than everyone's."""
    lines = scoped_sparklines(live.history, tz, now, campaign_ids)
    if not campaign_ids:
        lines |= performance_sparklines(live.snapshot(SERVICE_LEVEL_FEED).frame)
    return lines


def scoped_sparklines(
    history: HistoryStore | None, tz: str, now: datetime, campaign_ids: Sequence[int] = ()
) -> dict[str, list[float]]:
    """Headline key -> today's points of ``campaign_ids`` (all campaigns when none); empty
    without history or when it cannot be read."""
    if history is None:
        return {}
    since = start_of_day(now, tz)
    # The minute is part of the key, so a read is shared for up to a minute, then renewed.
    minute = int(now.timestamp() // READ_EVERY_S)
    return _lines(history, since, minute, tuple(sorted(set(campaign_ids))))


@st.cache_data(ttl=READ_EVERY_S * 2, max_entries=MAX_SCOPES, show_spinner=False)
def _lines(
    _history: HistoryStore, since: datetime, minute: int, campaign_ids: tuple[int, ...]
) -> dict[str, list[float]]:
    rows = _read(_history, since, minute)
    if rows is None:
        return {}
    return history_sparklines(*rows, campaign_ids)


@st.cache_data(ttl=READ_EVERY_S * 2, max_entries=4, show_spinner=False)
def _read(
    _history: HistoryStore, since: datetime, minute: int
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    # _history is not hashed (the store is one per process); since and minute are the key
    try:
        return _history.campaign_history(since), _history.agent_state_history(since)
    except Exception:  # the tiles still show their numbers; the trend pages say what failed
        return None
