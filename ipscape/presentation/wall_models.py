"""The values each view of the wall shows, as frozen dataclasses: tiles, a table, a header.

Every value here is already text: numbers formatted by ipscape/presentation/formats.py, unknown
as "--" (never 0), levels typed (`Level`, or None for a number without a threshold). They are
built by `wall_board.Board` from snapshots, config and the clock; ui/wall.py lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from ipscape.presentation import tables
from ipscape.presentation.agent_grid import Grid
from ipscape.presentation.formats import (
    UNKNOWN_TEXT,
    age,
    clock_time,
    count,
    duration,
    is_missing,
    percent,
    text,
)
from ipscape.presentation.levels import UNKNOWN, Level
from ipscape.snapshots import Snapshot, State

TABLE_ROWS = 10
VIEW_TITLES = {
    "overview": "Overview",
    "agents": "Agents",
    "voicemail": "Voicemail",
    "transfers": "Transfers",
    "grid": "Agents",
}


# --- freshness, as the wall words it -----------------------------------------------------------


def tile_freshness(snapshot: Snapshot) -> str:
    """The short freshness line under a tile: "updated 4 s ago", "STALE 45 s", ..."""
    data_age = age(snapshot.age_s)
    if snapshot.state == "error":
        return f"NO CONNECTION · data {data_age} old" if snapshot.has_data else "NO CONNECTION"
    if snapshot.state == "empty" or not snapshot.has_data:
        return "waiting for data…"
    if snapshot.state == "stale":
        return f"STALE {data_age}"
    return f"updated {data_age} ago"


def connection_banner(snapshots: Sequence[Snapshot], tz: str) -> str | None:
    """One sentence when the latest refresh of any feed failed, with the last good time."""
    failed = [s for s in snapshots if s.state == "error"]
    if not failed:
        return None
    last_good = [s.fetched_at for s in failed if s.fetched_at is not None]
    oldest = min(last_good) if last_good else None
    since = (
        f"showing data from {clock_time(oldest, tz)} "
        f"({age((failed[0].taken_at - oldest).total_seconds())} ago)"
        if oldest is not None
        else "no data received yet"
    )
    reason = failed[0].error or "the refresh failed"
    return f"CONNECTION TO THE TENANT LOST — {since}. {reason}"


# --- the values a view is made of --------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """A big number with its level, how old its data is and, on the overview, today's shape.

    ``name`` is stable (the tile's id); `key` adds the feed state and the level, so the wall's
    constant CSS can dim a stale tile and colour its edge without any markup around vendor data.
    """

    name: str
    label: str
    value: str
    snapshot: Snapshot = field(repr=False, compare=False)
    level: Level | None = None  # None: this number has no threshold
    detail: str = ""
    # Today's shape under the number (ipscape/presentation/sparklines.py): a few dozen points at
    # most, none when there is no history or fewer than two points.
    chart: tuple[float, ...] = field(default=(), repr=False)

    @property
    def state(self) -> State:
        return self.snapshot.state

    @property
    def caption(self) -> str:
        line = tile_freshness(self.snapshot)
        return f"{self.detail} · {line}" if self.detail else line

    @property
    def key(self) -> str:
        level = self.level.name if self.level is not None else "none"
        return f"wall-tile-{self.name}--{self.state}--{level}"


@dataclass(frozen=True)
class WallTable:
    """The first rows of a table as text cells, with each row's level for its level column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    levels: tuple[Level, ...]  # one per row; UNKNOWN where a row has none
    level_column: str | None
    total_rows: int

    @property
    def more(self) -> int:
        """Rows left out of the board ("and 12 more")."""
        return self.total_rows - len(self.rows)


@dataclass(frozen=True)
class View:
    """One view at one tick: tiles, then a message or a table (with a chart beside it)."""

    name: str
    tiles: tuple[Tile, ...]
    table: WallTable | None = None
    figure: go.Figure | None = field(default=None, repr=False, compare=False)
    message: str | None = None
    message_kind: Literal["info", "caption"] = "caption"
    grid: Grid | None = field(default=None, repr=False, compare=False)  # the grid view's


@dataclass(frozen=True)
class Header:
    title: str
    clock: str  # "Thu 10:42" in the display time zone
    source: str  # "Demo data", the tenant's label, or ""
    freshness: str  # of the campaign statistics, which most tiles read
    view_line: str  # "OVERVIEW  ● ○ ○ ○ · campaigns 1, 2"


def _cell(value: object, kind: tables.ColumnKind, tz: str) -> str:
    if is_missing(value):
        return UNKNOWN_TEXT
    if kind == "count":
        return count(value)
    if kind == "duration":
        return duration(value)
    if kind == "percent":
        return percent(value)
    if kind == "progress":  # a share, 0-1
        return percent(100 * float(value))  # type: ignore[arg-type]
    if kind in ("time", "datetime"):
        return clock_time(pd.Timestamp(value).to_pydatetime(), tz)
    return text(value)


def wall_table(
    table: tables.Table,
    columns: Sequence[str],
    tz: str,
    *,
    level_column: str | None = None,
    keep: Sequence[bool] | None = None,
) -> WallTable:
    """The first `TABLE_ROWS` rows of ``table`` (those ``keep`` marks, all by default) in
    ``columns``, each cell formatted for its column's kind."""
    frame = table.frame
    levels = list(table.levels) or [UNKNOWN] * len(frame)
    if keep is not None:
        frame = frame.loc[list(keep)]
        levels = [lv for lv, kept in zip(levels, keep, strict=True) if kept]
    kinds = {c.name: c.kind for c in table.columns}
    shown = frame.head(TABLE_ROWS)
    rows = tuple(
        tuple(_cell(value, kinds[name], tz) for name, value in zip(columns, row, strict=True))
        for row in shown[list(columns)].itertuples(index=False, name=None)
    )
    return WallTable(
        tuple(columns), rows, tuple(levels[: len(rows)]), level_column, total_rows=len(frame)
    )
