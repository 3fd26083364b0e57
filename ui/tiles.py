"""Tiles: a value with its level, and the freshness line every live part shows (DESIGN rule 2).

A snapshot is "updated 4 s ago" when fresh, "STALE 45 s" past twice its poll interval, and
"ERROR: <why> — showing data from 10:41:02" when the latest refresh failed; unknown values read
"--", never 0.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from ipscape.config import Threshold
from ipscape.replica import StoreProblem
from ipscape.snapshots import CollectorInfo, Snapshot
from ipscape.status import UNKNOWN, Level, LevelMemory
from ui.views import level_of_status

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# Streamlit's Markdown (remark-gfm) turns bare URLs and e-mail addresses into links after
# escapes are undone, so no escape stops it: an invisible word joiner inside each trigger
# (U+2060 after "http:", "www" and "@") does, and reads the same.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"
LEVEL_MEMORY_KEY = "_level_memory"


def plain(text: object) -> str:
    """Text that Streamlit's Markdown shows literally: no formatting, link, image, directive or
    autolink (for vendor strings and our own messages in st.error, labels etc.)."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, str(text)))


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def clock_time(at: datetime | None, tz: str) -> str:
    return "--" if at is None else at.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S")


def store_problem_text(problem: StoreProblem, tz: str) -> str:
    """A replica that cannot read the shared database: since when, and that the data waits."""
    return (
        f"SHARED DATABASE UNREACHABLE since {clock_time(problem.since, tz)}: showing the last "
        f"data received; it updates by itself once the database answers. {problem.reason}"
    )


def collector_text(info: CollectorInfo | None, tz: str) -> str:
    """Which process polls the tenant for this replica (the footer of a scaled deployment)."""
    if info is None:
        return "collector: none active"
    return f"collector: {info.holder} since {clock_time(info.since, tz)}"


def freshness_text(snapshot: Snapshot, tz: str) -> str:
    """One line saying how old a snapshot's data is and, on error, why and from when."""
    if snapshot.state == "error" or (snapshot.error and snapshot.state != "fresh"):
        since = (
            f"showing data from {clock_time(snapshot.fetched_at, tz)}"
            if snapshot.has_data
            else "no data yet"
        )
        return f"ERROR: {snapshot.error or 'refresh failed'} — {since}"
    if snapshot.state == "empty" or not snapshot.has_data:
        return "waiting for the first data…"
    if snapshot.state == "stale":
        return f"STALE {format_age(snapshot.age_s)}"
    return f"updated {format_age(snapshot.age_s)} ago"


def render_freshness(snapshot: Snapshot, tz: str) -> None:
    text = freshness_text(snapshot, tz)
    if text.startswith("ERROR"):
        st.error(plain(text), icon="⚠️")
    elif text.startswith("STALE"):
        st.warning(plain(text), icon="⏳")
    else:
        st.caption(plain(text))


def level_memory() -> LevelMemory:
    """This browser session's last levels (bounded), for threshold hysteresis across reruns."""
    if LEVEL_MEMORY_KEY not in st.session_state:
        st.session_state[LEVEL_MEMORY_KEY] = LevelMemory()
    return st.session_state[LEVEL_MEMORY_KEY]


def tile(
    label: str,
    value: str,
    *,
    help: str | None = None,
    level: Level | None = None,
    snapshot: Snapshot | None = None,
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
        delta_color = {"ok": "green", "warn": "orange", "alert": "red"}[level.name]
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
    )


def leveled(metric: str, key: object, value: object, threshold: Threshold) -> Level:
    """The level of ``value`` for ``(metric, key)``, with this session's hysteresis memory."""
    return level_memory().update((metric, key), value, threshold)  # type: ignore[arg-type]


# Light tints of the Okabe-Ito warn/alert colours: dark text on them stays readable on a TV.
ROW_TINTS = {"warn": "background-color: #FCE7C2", "alert": "background-color: #F8CDB5"}


def status_row_style(row: pd.Series) -> list[str]:
    """Styler row function: tint a row by the level written in its Status/Flag column."""
    level = level_of_status(str(row.get("Status", "") or row.get("Flag", "")))
    return [ROW_TINTS.get(level.name, "")] * len(row)
