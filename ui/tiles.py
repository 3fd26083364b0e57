"""Tiles and freshness lines on screen: presentation values bound to Streamlit elements.

What a tile says (its value, level and staleness) is decided in ipscape/presentation/; here it
is only laid out: every live part shows how old its data is (`render_freshness`), a tile's
level is written out ("ALERT ■"), not only coloured, and a stale tile is marked.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from ipscape.presentation.freshness import freshness
from ipscape.presentation.levels import DELTA_COLOURS, UNKNOWN, Level, LevelMemory
from ipscape.presentation.text import plain
from ipscape.snapshots import Snapshot

LEVEL_MEMORY_KEY = "_level_memory"


def render_freshness(snapshot: Snapshot, tz: str) -> None:
    line = freshness(snapshot, tz)
    if line.kind == "error":
        st.error(plain(line.text), icon="⚠️")
    elif line.kind == "stale":
        st.warning(plain(line.text), icon="⏳")
    else:
        st.caption(plain(line.text))


def level_memory() -> LevelMemory:
    """This browser session's last levels (bounded), for threshold hysteresis across reruns."""
    if LEVEL_MEMORY_KEY not in st.session_state:
        st.session_state[LEVEL_MEMORY_KEY] = LevelMemory()
    memory: LevelMemory = st.session_state[LEVEL_MEMORY_KEY]
    return memory


def tile(
    label: str,
    value: str,
    *,
    help: str | None = None,
    level: Level | None = None,
    snapshot: Snapshot | None = None,
    chart_data: list[float] | None = None,
    chart_type: Literal["line", "bar", "area"] = "line",
) -> None:
    """A metric whose level is written out ("ALERT ■"), not only coloured; dimmed when stale.

    ``label`` may be a vendor string (the Agents page has a tile per state name): st.metric
    renders it as Markdown (links and images included), so it is escaped here, once for every
    tile. ``help`` is our own text (Markdown on purpose); ``value`` a formatted number or "--".
    """
    stale = snapshot is not None and snapshot.state in ("stale", "error")
    delta = None
    delta_color = "off"
    if level is not None and level is not UNKNOWN:
        delta = level.badge
        delta_color = DELTA_COLOURS[level.name]
    if stale:
        delta = f"{delta + ' · ' if delta else ''}stale"
        delta_color = "gray"
    st.metric(
        plain(label),
        value,
        delta=delta,
        delta_color=delta_color,  # type: ignore[arg-type]
        delta_arrow="off",
        help=help,
        border=True,
        # today's shape under the number (ipscape/presentation/sparklines.py); two points at least
        chart_data=chart_data if chart_data and len(chart_data) > 1 else None,
        chart_type=chart_type,
    )
