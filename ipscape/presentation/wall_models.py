"""What each view of the wall shows, as frozen values built from snapshots, config and the clock.

A board redraws every few seconds (`wall.board_tick_s`) but its data changes only every few
poll intervals. So the part that depends on the data alone (tables, counts, levels, figures) is
built once per data version and kept in a `ModelCache` shared by every wall of the process
(docs/architecture.md, "Shared resources and viewers"), and each redraw only adds what the clock
changes (ages, and the levels that follow them) to make a `View`. ui/wall.py lays a `View` out.

Levels (with hysteresis) are process-wide too, so every screen in the room agrees on what is
ALERT. Every value here is already text: numbers formatted, unknown as "--" (never 0).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from cachetools import LRUCache

from ipscape import charts
from ipscape.config import DashboardConfig, Threshold
from ipscape.live import LiveData
from ipscape.presentation import aggregates, tables
from ipscape.presentation.formats import (
    UNKNOWN_TEXT,
    age,
    clock_time,
    count,
    duration,
    is_missing,
    text,
)
from ipscape.presentation.headlines import headlines
from ipscape.presentation.levels import UNKNOWN, Level, LevelMemory
from ipscape.presentation.wall import Rotation, WallParams, scope_frame
from ipscape.snapshots import Snapshot, State

TABLE_ROWS = 10
# One model per (view, campaign scope) slot, replaced when its data changes, so old versions are
# never kept; 32 slots hold the four views of eight differently scoped walls.
MODEL_CACHE_SIZE = 32
VIEW_TITLES = {
    "overview": "Overview",
    "agents": "Agents",
    "voicemail": "Voicemail",
    "transfers": "Transfers",
}
# The overview's five tiles: the headline metric (ipscape/presentation/headlines.py) -> the wall's
# name for it (its tile id, which the browser tests and ui/assets/wall.css select) and its label,
# short enough to read across a room.
OVERVIEW_TILES = {
    "calls_waiting": ("waiting", "Waiting"),
    "longest_wait": ("longest", "Longest"),
    "ewt": ("ewt", "EWT max"),
    "agents_free": ("free", "Agents free"),
    "voicemail": ("voicemail", "Voicemail"),
}
# The agents view's tiles: state -> (tile id, column of the campaign statistics that stands in
# without per-agent status).
AGENT_TILES = {
    "Available": ("agents-free", "agents_available"),
    "Busy": ("agents-busy", "agents_busy"),
    "Wrap": ("agents-wrap", "agents_wrap"),
    "Paused": ("agents-paused", "agents_paused"),
}
NO_AGENT_STATUS = "Per-agent status is not available from this tenant: campaign counts shown."

T = TypeVar("T")


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
    """A big number with its level and how old its data is.

    ``name`` is stable (the tile's id); `key` adds the feed state and the level, so the wall's
    constant CSS can dim a stale tile and colour its edge without any markup around vendor data.
    """

    name: str
    label: str
    value: str
    snapshot: Snapshot = field(repr=False, compare=False)
    level: Level | None = None  # None: this number has no threshold
    detail: str = ""

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


@dataclass(frozen=True)
class Header:
    title: str
    clock: str  # "Thu 10:42" in the display time zone
    source: str  # "[Demo data]", the tenant's label, or ""
    freshness: str  # of the campaign statistics, which most tiles read
    view_line: str  # "OVERVIEW  ● ○ ○ ○ · campaigns 1, 2"


def _cell(value: object, kind: tables.ColumnKind, tz: str) -> str:
    if is_missing(value):
        return UNKNOWN_TEXT
    if kind == "count":
        return count(value)
    if kind == "duration":
        return duration(value)
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


def wall_figure(fig: go.Figure) -> go.Figure:
    """A figure readable across a room (colours follow the page's theme: ui/wall.py)."""
    fig.update_layout(font={"size": 20}, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def latest_time(times: pd.Series) -> pd.Timestamp | None:
    """The newest known timestamp of ``times``, or None when none is known."""
    known = pd.to_datetime(times, utc=True).dropna()
    return None if known.empty else known.max()


def _voicemail_ages(voicemail: pd.DataFrame, now: datetime) -> tuple[float | None, float | None]:
    # Before the first fetch the frame may not have its columns yet.
    return aggregates.voicemail_ages(voicemail, now) if len(voicemail) else (None, None)


def seconds_since(at: pd.Timestamp | None, now: datetime) -> float | None:
    return None if at is None else max(0.0, (pd.Timestamp(now) - at).total_seconds())


# --- what is built once per data version -------------------------------------------------------


@dataclass(frozen=True)
class OverviewData:
    kpis: aggregates.Kpis
    voicemail: pd.DataFrame  # the scoped voicemail, for its ages at each tick
    table: WallTable
    empty_text: str


@dataclass(frozen=True)
class AgentsData:
    totals: Mapping[str, float | None]  # state -> agents ("--" when unknown)
    table: WallTable | None  # None without per-agent status
    figure: go.Figure | None


@dataclass(frozen=True)
class VoicemailData:
    count: float | None
    voicemail: pd.DataFrame
    table: WallTable | None


@dataclass(frozen=True)
class TransfersData:
    count: float | None
    last_at: pd.Timestamp | None
    table: WallTable | None
    figure: go.Figure | None


class ModelCache:
    """Per-version models and the levels' memory, shared by every wall of the process."""

    def __init__(self, max_models: int = MODEL_CACHE_SIZE) -> None:
        self.lock = threading.RLock()
        self.models: LRUCache[Hashable, tuple[Hashable, Any]] = LRUCache(maxsize=max_models)
        self.levels = LevelMemory()

    def model(self, slot: Hashable, version: Hashable, build: Callable[[LevelMemory], T]) -> T:
        """The model held for ``slot`` if built from ``version``, else a new one (replacing it)."""
        with self.lock:
            held = self.models.get(slot)
            if held is None or held[0] != version:
                held = (version, build(self.levels))
                self.models[slot] = held
            model: T = held[1]
            return model

    def level(self, key: Hashable, value: object, threshold: Threshold) -> Level:
        with self.lock:
            return self.levels.update(key, value, threshold)


class Board:
    """The snapshots of one tick, and the views derived from them."""

    def __init__(
        self, live: LiveData, config: DashboardConfig, params: WallParams, cache: ModelCache
    ) -> None:
        self.config = config
        self.params = params
        self.cache = cache
        self.scope = params.campaigns
        self.tz = config.display_timezone
        self.campaigns = live.campaigns()
        self.agents = live.agents()
        self.voicemail = live.voicemail()
        self.transfers = live.transfers()

    def snapshots_for(self, view: str) -> list[Snapshot]:
        return {
            "overview": [self.campaigns, self.agents, self.voicemail],
            "agents": [self.agents, self.campaigns],
            "voicemail": [self.voicemail],
            "transfers": [self.transfers],
        }[view]

    @property
    def per_agent(self) -> bool:
        """Whether the tenant reports each agent's status (else campaign counts stand in)."""
        return self.agents.has_data and self.agents.unavailable is None

    def _scoped(self, snapshot: Snapshot) -> pd.DataFrame:
        return scope_frame(snapshot.feed, snapshot.frame, self.scope)

    def _model(self, view: str, snapshots: Sequence[Snapshot], build: Callable[..., T]) -> T:
        version = tuple(s.fetched_at for s in snapshots)
        return self.cache.model((view, self.scope), version, build)

    def _voicemail_age_level(self, oldest_s: float | None) -> Level:
        # The same key as the overview's voicemail headline: both views show one level.
        key = ("voicemail_age_s", ("wall", self.scope))
        return self.cache.level(key, oldest_s, self.config.thresholds.voicemail_age_s)

    def view(self, name: str, now: datetime) -> View:
        build = {
            "overview": self.overview,
            "agents": self.agents_view,
            "voicemail": self.voicemail_view,
            "transfers": self.transfers_view,
        }[name]
        return build(now)

    # overview

    def overview(self, now: datetime) -> View:
        data = self._model(
            "overview", [self.campaigns, self.agents, self.voicemail], self._overview_data
        )
        oldest, newest = _voicemail_ages(data.voicemail, now)
        k = replace(data.kpis, oldest_voicemail_s=oldest, newest_voicemail_s=newest)
        source = {"campaigns": self.campaigns, "agents": self.agents, "voicemail": self.voicemail}
        if not self.per_agent:
            source["agents"] = self.campaigns  # the agent counts come from the campaigns
        with self.cache.lock:
            heads = headlines(k, self.config.thresholds, self.cache.levels, ("wall", self.scope))
        tiles = tuple(
            Tile(
                *OVERVIEW_TILES[h.key],
                value=h.value,
                snapshot=source[h.feed],
                level=h.level,
                detail=h.detail or "",
            )
            for h in heads
        )
        if data.table.rows:
            return View("overview", tiles, table=data.table)
        return View("overview", tiles, message=data.empty_text, message_kind="info")

    def _overview_data(self, memory: LevelMemory) -> OverviewData:
        c, v = self.campaigns, self.voicemail
        campaigns = self._scoped(c)
        voicemail = self._scoped(v)
        k = aggregates.kpis(
            campaigns if c.has_data else None,
            self._scoped(self.agents) if self.per_agent else None,
            voicemail if v.has_data else None,
            c.taken_at,
        )
        levels = aggregates.campaign_levels(campaigns, self.config.thresholds, memory)
        table = wall_table(
            tables.overview_table(campaigns, levels),
            ["Status", "Campaign", "EWT", "Longest wait", "Waiting", "Agents free"],
            self.tz,
            level_column="Status",
        )
        return OverviewData(
            kpis=k,
            voicemail=voicemail,
            table=table,
            empty_text="No campaign statistics yet." if not c.has_data else "No active campaigns.",
        )

    # agents

    def agents_view(self, now: datetime) -> View:
        data = self._model("agents", [self.agents, self.campaigns], self._agents_data)
        source = self.agents if self.per_agent else self.campaigns
        tiles = tuple(
            Tile(name, state, count(data.totals.get(state)), source)
            for state, (name, _column) in AGENT_TILES.items()
        )
        if data.table is None:
            return View("agents", tiles, message=NO_AGENT_STATUS)
        return View("agents", tiles, table=data.table, figure=data.figure)

    def _agents_data(self, memory: LevelMemory) -> AgentsData:
        campaigns = self._scoped(self.campaigns)
        if not self.per_agent:
            # Without per-agent status, the campaign counts (an agent on two campaigns counts
            # twice) are all there is; unknown stays "--".
            known = self.campaigns.has_data and len(campaigns) > 0
            totals = {
                state: aggregates.total(campaigns[column]) if known else None
                for state, (_name, column) in AGENT_TILES.items()
            }
            return AgentsData(totals, None, None)
        agents = self._scoped(self.agents)
        by_state = aggregates.agent_state_totals(agents)
        table = tables.agent_table(
            agents, aggregates.campaign_names(campaigns), memory, self.config.thresholds
        )
        logged_in = (table.frame["State"] != "LoggedOut").fillna(True)
        return AgentsData(
            totals={state: float(by_state.get(state, 0)) for state in AGENT_TILES},
            table=wall_table(
                table,
                ["Flag", "Agent", "State", "Time in state"],
                self.tz,
                level_column="Flag",
                keep=list(logged_in),
            ),
            figure=wall_figure(charts.agent_state_chart(agents)),
        )

    # voicemail

    def voicemail_view(self, now: datetime) -> View:
        v = self.voicemail
        data = self._model("voicemail", [v], self._voicemail_data)
        oldest, newest = _voicemail_ages(data.voicemail, now)
        waiting = bool(data.count)
        tiles = (
            Tile("vm-count", "Voicemail today", count(data.count), v),
            Tile(
                "vm-oldest",
                "Oldest waiting",
                duration(oldest) if waiting else UNKNOWN_TEXT,
                v,
                level=self._voicemail_age_level(oldest) if waiting else None,
            ),
            Tile("vm-newest", "Newest", duration(newest) if waiting else UNKNOWN_TEXT, v),
        )
        return View("voicemail", tiles, table=data.table)

    def _voicemail_data(self, _memory: LevelMemory) -> VoicemailData:
        v = self.voicemail
        frame = self._scoped(v)
        if not v.has_data:
            return VoicemailData(None, frame, None)
        table = wall_table(
            tables.voicemail_table(frame, self.tz, v.taken_at),
            ["Received", "Campaign", "Duration"],
            self.tz,
        )
        return VoicemailData(float(len(frame)), frame, table if len(frame) else None)

    # transfers

    def transfers_view(self, now: datetime) -> View:
        t = self.transfers
        data = self._model("transfers", [t], self._transfers_data)
        last = seconds_since(data.last_at, now)
        tiles = (
            Tile("tr-count", "Transfers today", count(data.count), t),
            Tile("tr-last", "Last transfer", f"{age(last)} ago" if last is not None else "--", t),
        )
        return View("transfers", tiles, table=data.table, figure=data.figure)

    def _transfers_data(self, _memory: LevelMemory) -> TransfersData:
        t = self.transfers
        frame = self._scoped(t)
        if not t.has_data or not len(frame):
            return TransfersData(float(len(frame)) if t.has_data else None, None, None, None)
        return TransfersData(
            count=float(len(frame)),
            last_at=latest_time(frame["transferred_at"]),
            table=wall_table(
                tables.transfers_table(frame, self.tz),
                ["Transferred", "From campaign", "To campaign", "To agent"],
                self.tz,
            ),
            figure=wall_figure(charts.transfer_count_chart(frame, tz=self.tz)),
        )

    # around the view

    def header(self, rotation: Rotation, now: datetime, source_label: str) -> Header:
        dots = " ".join("●" if i == rotation.index else "○" for i in range(rotation.count))
        title = VIEW_TITLES[rotation.view].upper()
        scope = f" · campaigns {', '.join(str(c) for c in self.scope)}" if self.scope else ""
        return Header(
            title=self.config.title,
            clock=now.astimezone(ZoneInfo(self.tz)).strftime("%a %H:%M"),
            source=f"[{source_label}]" if source_label else "",
            freshness=tile_freshness(self.campaigns),
            view_line=f"{title}  {dots}{scope}" if rotation.count > 1 else title,
        )

    def banner(self, view: str) -> str | None:
        return connection_banner(self.snapshots_for(view), self.tz)
