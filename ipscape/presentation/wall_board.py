"""The wall's board: the views of one tick, built from snapshots, config and the clock.

A board redraws every few seconds (`wall.board_tick_s`) but its data changes only every few
poll intervals. So the part that depends on the data alone (tables, counts, levels, figures) is
built once per data version and kept in a `ModelCache` shared by every wall of the process
(docs/architecture.md, "Shared resources and viewers"), and each redraw only adds what the clock
changes (ages, and the levels that follow them) to make a `wall_models.View`.

Levels (with hysteresis) are process-wide too, so every screen in the room agrees on what is
ALERT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from cachetools import LRUCache

from ipscape import charts
from ipscape.config import DashboardConfig, Threshold
from ipscape.live import LiveData
from ipscape.metrics import voicemail_summary
from ipscape.metrics.feeds import PERFORMANCE_FEED, window_rows
from ipscape.presentation import aggregates, tables
from ipscape.presentation.agent_grid import Grid, agent_grid
from ipscape.presentation.formats import (
    UNKNOWN_TEXT,
    age,
    count,
    duration,
)
from ipscape.presentation.headlines import headlines
from ipscape.presentation.levels import Level, LevelMemory
from ipscape.presentation.scope import scope_frame
from ipscape.presentation.wall import Rotation, WallParams
from ipscape.presentation.wall_models import (
    VIEW_TITLES,
    Header,
    Tile,
    View,
    WallTable,
    connection_banner,
    tile_freshness,
    wall_table,
)
from ipscape.snapshots import Snapshot
from ipscape.states import LOGGED_OUT

# One model per (view, campaign scope) slot, replaced when its data changes, so old versions are
# never kept; 32 slots hold the four views of eight differently scoped walls.
MODEL_CACHE_SIZE = 32
# The overview's seven tiles: the headline metric (ipscape/presentation/headlines.py) -> the wall's
# name for it (its tile id, which the browser tests and ui/assets/wall.css select) and its label,
# short enough to read across a room.
OVERVIEW_TILES = {
    "calls_waiting": ("waiting", "Waiting"),
    "longest_wait": ("longest", "Longest"),
    "ewt": ("ewt", "EWT max"),
    "agents_free": ("free", "Agents free"),
    "service_level": ("service-level", "Service level"),
    "abandon_rate": ("abandon-rate", "Abandoned"),
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


def wall_figure(fig: go.Figure) -> go.Figure:
    """A figure readable across a room (colours follow the page's theme: ui/wall.py)."""
    fig.update_layout(
        font={"size": 20},
        title_font_size=24,
        xaxis={"tickfont_size": 18, "title_font_size": 18},
        yaxis={"tickfont_size": 18, "title_font_size": 18},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
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
class GridData:
    totals: Mapping[str, float | None]
    grid: Grid


@dataclass(frozen=True)
class VoicemailData:
    count: float | None  # waiting for a call-back
    voicemail: pd.DataFrame
    table: WallTable | None
    returned: int | None = None  # returned today (None: the frame knows no call-backs)
    median_return_s: float | None = None


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
        self.performance = live.snapshot(PERFORMANCE_FEED)

    def snapshots_for(self, view: str) -> list[Snapshot]:
        return {
            "overview": [self.campaigns, self.agents, self.voicemail, self.performance],
            "agents": [self.agents, self.campaigns],
            "voicemail": [self.voicemail],
            "transfers": [self.transfers],
            "grid": [self.agents],
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

    def view(
        self, name: str, now: datetime, sparklines: Mapping[str, Sequence[float]] | None = None
    ) -> View:
        """The view ``name`` at ``now``; the overview's tiles draw ``sparklines`` (headline key
        -> today's points of this wall's scope: ui/sparklines.headline_sparklines)."""
        if name == "overview":
            return self.overview(now, sparklines or {})
        build = {
            "agents": self.agents_view,
            "voicemail": self.voicemail_view,
            "transfers": self.transfers_view,
            "grid": self.grid_view,
        }[name]
        return build(now)

    # overview

    def overview(
        self, now: datetime, sparklines: Mapping[str, Sequence[float]] | None = None
    ) -> View:
        data = self._model("overview", self.snapshots_for("overview"), self._overview_data)
        lines = sparklines or {}
        oldest, newest = _voicemail_ages(data.voicemail, now)
        k = replace(data.kpis, oldest_voicemail_s=oldest, newest_voicemail_s=newest)
        source = {
            "campaigns": self.campaigns,
            "agents": self.agents,
            "voicemail": self.voicemail,
            "performance": self.performance,
        }
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
                chart=tuple(lines.get(h.key, ())),
            )
            for h in heads
        )
        if data.table.rows:
            return View("overview", tiles, table=data.table)
        return View("overview", tiles, message=data.empty_text, message_kind="info")

    def _overview_data(self, memory: LevelMemory) -> OverviewData:
        c, v, p = self.campaigns, self.voicemail, self.performance
        voicemail = self._scoped(v)
        # A scoped wall adds up its campaigns' rows (the total rows are everyone's).
        performance = self._scoped(p) if p.has_data else None
        today = None if performance is None else window_rows(performance, "today")
        campaigns = aggregates.with_performance(self._scoped(c), today)
        k = aggregates.kpis(
            campaigns if c.has_data else None,
            self._scoped(self.agents) if self.per_agent else None,
            voicemail if v.has_data else None,
            c.taken_at,
            performance=performance,
            tz=self.tz,
        )
        levels = aggregates.campaign_levels(campaigns, self.config.thresholds, memory)
        table = wall_table(
            tables.overview_table(campaigns, levels),
            [
                "Status",
                "Campaign",
                "EWT",
                "Longest wait",
                "Waiting",
                "Agents free",
                "Service level",
            ],
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

    # the agent grid

    def grid_view(self, now: datetime) -> View:
        if not self.per_agent:
            return View("grid", (), message=NO_AGENT_STATUS)
        data = self._model("grid", [self.agents], self._grid_data)
        # No tiles: the room reads the cells, and 200 of them need the whole screen. The counts
        # go in one line above them.
        counts = [f"{state} {count(n)}" for state, n in data.totals.items() if n]
        if data.grid.logged_out:
            counts.append(f"{data.grid.logged_out} logged out (not shown)")
        return View("grid", (), grid=data.grid, message=" · ".join(counts) or None)

    def _grid_data(self, memory: LevelMemory) -> GridData:
        agents = self._scoped(self.agents)
        by_state = aggregates.agent_state_totals(agents)
        by_state.pop(LOGGED_OUT, None)
        return GridData(
            totals={state: float(n) for state, n in by_state.items()},
            grid=agent_grid(agents, self.config.thresholds, memory),
        )

    # voicemail

    def voicemail_view(self, now: datetime) -> View:
        v = self.voicemail
        data = self._model("voicemail", [v], self._voicemail_data)
        oldest, _newest = _voicemail_ages(data.voicemail, now)
        waiting = bool(data.count)
        tiles = (
            Tile("vm-count", "Waiting", count(data.count), v),
            Tile(
                "vm-oldest",
                "Oldest waiting",
                duration(oldest) if waiting else UNKNOWN_TEXT,
                v,
                level=self._voicemail_age_level(oldest) if waiting else None,
            ),
            Tile(
                "vm-returned",
                "Returned today",
                count(data.returned),
                v,
                detail=f"median {age(data.median_return_s)}" if data.returned else "",
            ),
        )
        return View("voicemail", tiles, table=data.table)

    def _voicemail_data(self, _memory: LevelMemory) -> VoicemailData:
        v = self.voicemail
        frame = self._scoped(v)
        if not v.has_data:
            return VoicemailData(None, frame, None)
        # The board lists the voicemails still to call back; the returned ones are done.
        waiting = aggregates.waiting_voicemail(frame, v.taken_at)
        summary = (
            voicemail_summary(frame, v.taken_at, tz=self.tz)
            if "returned_at" in frame.columns
            else None
        )
        table = wall_table(
            tables.voicemail_table(waiting, self.tz, v.taken_at),
            ["Received", "Campaign", "Duration"],
            self.tz,
        )
        return VoicemailData(
            float(len(waiting)),
            frame,
            table if len(waiting) else None,
            returned=None if summary is None else summary.returned_today,
            median_return_s=None if summary is None else summary.median_return_s,
        )

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
            source=source_label,
            freshness=tile_freshness(self.campaigns),
            view_line=f"{title}  {dots}{scope}" if rotation.count > 1 else title,
        )

    def banner(self, view: str) -> str | None:
        return connection_banner(self.snapshots_for(view), self.tz)
