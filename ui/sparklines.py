"""Today's sparklines from the history store, read once a minute per process (every viewer of
the overview shares the read: a day of campaign history is thousands of rows)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from ipscape.clock import start_of_day
from ipscape.history import HistoryStore
from ipscape.presentation.sparklines import agent_sparklines, campaign_sparklines
from ui import runtime

READ_EVERY_S = 60


def today_sparklines(ctx: runtime.AppContext, now: datetime) -> dict[str, list[float]]:
    """Headline key -> today's points; empty without history."""
    history = ctx.live.history
    if history is None:
        return {}
    since = start_of_day(now, ctx.tz)
    # The minute is part of the key, so a read is shared for up to a minute, then renewed.
    minute = int(now.timestamp() // READ_EVERY_S)
    return _read(history, since, minute)


@st.cache_data(ttl=READ_EVERY_S * 2, max_entries=4, show_spinner=False)
def _read(_history: HistoryStore, since: datetime, minute: int) -> dict[str, list[float]]:
    # _history is not hashed (the store is one per process); since and minute are the key
    try:
        campaigns = _history.campaign_history(since)
        agents = _history.agent_state_history(since)
    except Exception:  # the tiles still show their numbers; the trend pages say what failed
        return {}
    return {**campaign_sparklines(campaigns), **agent_sparklines(agents)}
