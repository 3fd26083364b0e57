"""The wall display (kiosk mode): one board, readable across a room, that runs for weeks.

The page is driven by its URL (``?kiosk=1&rotate=20&campaigns=1,2,5&theme=dark``) and the wall
clock; see ipscape/wall.py for the rules. Everything that changes lives in one fragment that
reruns every few seconds (`board_tick_s`) and reads cached snapshots only (DESIGN rules 1, 3).

HTML and CSS here are our own constants. The few numbers formatted into them are ints computed
by us; vendor strings (campaign and agent names) only ever reach native elements, escaped for
Markdown (DESIGN rule 5).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from cachetools import LRUCache

from ipscape import charts
from ipscape.config import DashboardConfig, Threshold
from ipscape.errors import ApiError, ConfigError, user_message
from ipscape.live import LiveData
from ipscape.snapshots import Snapshot
from ipscape.status import ALERT, WARN, Level, LevelMemory
from ipscape.wall import (
    WallParams,
    WallSchedule,
    board_tick_s,
    parse_wall_params,
    scope_frame,
    wall_schedule,
)
from ui import auth, layout, runtime, tiles, views

TABLE_ROWS = 10
VIEW_TITLES = {
    "overview": "Overview",
    "agents": "Agents",
    "voicemail": "Voicemail",
    "transfers": "Transfers",
}
DEMO_LABEL = layout.DEMO_LABEL
WATCHDOG_ID = "ipscape-wall-watchdog"

# Streamlit's own chrome, hidden in kiosk mode: nothing on a wall is clickable anyway.
KIOSK_CSS = """<style>
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"], [data-testid="stSidebar"],
[data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"], [data-testid="stBottom"],
footer { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 1rem 1.5rem 0.5rem 1.5rem !important;
  max-width: none !important; }
</style>"""

_LEVEL_RULES = "\n".join(
    f'[class*="st-key-wall-tile-"][class*="--{name}"] [data-testid="stMetric"] '
    f"{{ border-left: 0.9rem solid {colour} !important; }}"
    for name, colour in charts.LEVEL_COLOURS.items()
)

# The board itself: big type, stale tiles dimmed and labelled, and no grey-out while a fragment
# reruns. Streamlit 1.67 marks elements being re-rendered with data-stale="true" and fades them
# to the theme's "stale" opacity; on a board that reruns every second that reads as flicker.
BOARD_CSS = (
    """<style>
[data-stale="true"], [data-stale="true"] * { opacity: 1 !important; transition: none !important; }
[data-testid="stMainBlockContainer"] { transition: transform 2s ease-in-out, filter 2s; }
.st-key-wall-header p, .st-key-wall-header span { font-size: clamp(1.1rem, 2.2vw, 2.6rem);
  font-weight: 700; line-height: 1.2; margin: 0; }
.st-key-wall-clock p { font-variant-numeric: tabular-nums; }
.st-key-wall-source p { color: #E69F00 !important; overflow-wrap: anywhere;
  font-size: clamp(0.9rem, 1.5vw, 1.8rem) !important; }
[data-testid="stAlert"] p { font-size: clamp(1rem, 1.7vw, 2.1rem) !important; font-weight: 700; }
[class*="st-key-wall-tile-"] [data-testid="stMetricLabel"] p {
  font-size: clamp(1rem, 1.7vw, 2.2rem) !important; font-weight: 700; text-transform: uppercase; }
[class*="st-key-wall-tile-"] [data-testid="stMetricValue"] {
  font-size: clamp(2.2rem, 4.2vw, 6rem) !important; font-weight: 800; line-height: 1.05;
  font-variant-numeric: tabular-nums; }
[class*="st-key-wall-tile-"] [data-testid="stMetricDelta"] {
  font-size: clamp(1rem, 1.5vw, 2rem) !important; }
[class*="st-key-wall-tile-"] [data-testid="stCaptionContainer"] p,
[class*="st-key-wall-tile-"] [data-testid="stCaptionContainer"] {
  font-size: clamp(0.9rem, 1.3vw, 1.7rem) !important; }
[class*="st-key-wall-tile-"][class*="--stale--"] [data-testid="stMetric"],
[class*="st-key-wall-tile-"][class*="--error--"] [data-testid="stMetric"] {
  opacity: 0.42 !important; filter: grayscale(1); }
[class*="st-key-wall-tile-"][class*="--stale--"] [data-testid="stCaptionContainer"] p,
[class*="st-key-wall-tile-"][class*="--error--"] [data-testid="stCaptionContainer"] p {
  display: inline-block; background: #E69F00; color: #000 !important; font-weight: 800;
  padding: 0 0.4em; border-radius: 0.2em; }
.st-key-wall-table table { font-size: clamp(1rem, 1.7vw, 2.1rem) !important; }
.st-key-wall-table th { font-size: clamp(0.9rem, 1.3vw, 1.6rem) !important; }
.st-key-wall-view p { font-size: clamp(1rem, 1.6vw, 2rem); font-weight: 700; }
.st-key-wall-notes p { font-size: 0.85rem; opacity: 0.8; }
[data-testid="stElementContainer"]:has(#"""
    + WATCHDOG_ID
    + """) { display: none; }
"""
    + _LEVEL_RULES
    + "\n</style>"
)

DARK_CSS = """<style>
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
  background: #0B0D12 !important; color: #F4F4F4; }
.stApp [data-testid="stMarkdownContainer"], .stApp th, .stApp td, .stApp label,
.stApp [data-testid="stMetricValue"], .stApp [data-testid="stMetricLabel"] { color: #F4F4F4; }
.stApp td [data-testid="stMarkdownContainer"], .stApp th [data-testid="stMarkdownContainer"] {
  color: inherit; }
.stApp [data-testid="stCaptionContainer"], .stApp [data-testid="stCaptionContainer"] p {
  color: #C9CED8; }
.stApp [data-testid="stMetric"] { background: #181C24; border-color: #3A4050; }
.stApp table, .stApp th, .stApp td { border-color: #3A4050 !important; }
</style>"""

# Outside opening hours nobody watches the board: keep it alive, but dark.
DIM_CSS = """<style>
[data-testid="stMainBlockContainer"] { filter: brightness(0.3); }
</style>"""

# The only values formatted into this template are ints (see `shift_css`).
_SHIFT_TEMPLATE = (
    '<style>[data-testid="stMainBlockContainer"] '
    "{{ transform: translate({dx}px, {dy}px); }}</style>"
)

# Self-healing, in the browser. Streamlit 1.67 reconnects its websocket after a server restart
# and reruns the page, but the tab keeps everything it had accumulated; the wall reloads itself
# instead: when the server's boot id (data-boot) changes, when the server answers again after
# an outage, and once a night at data-reload-at (ms since epoch), but never into a server that
# does not answer its health check. Constant text; settings are read from the data attributes
# of the element next to it on every tick.
WATCHDOG_SCRIPT = (
    """<script>
(function () {
  if (window.__ipscapeWallWatchdog) { return; }
  window.__ipscapeWallWatchdog = true;
  var wasDown = false;
  var firstBoot = null;
  function tick() {
    var el = document.getElementById("""
    + f'"{WATCHDOG_ID}"'
    + """);
    if (!el) { return; }
    var boot = el.getAttribute("data-boot");
    if (firstBoot === null) { firstBoot = boot; }
    var reloadAt = Number(el.getAttribute("data-reload-at") || 0);
    fetch(el.getAttribute("data-health"), { cache: "no-store" }).then(function (r) {
      if (!r.ok) { wasDown = true; return; }
      if (wasDown || boot !== firstBoot || (reloadAt > 0 && Date.now() >= reloadAt)) {
        window.location.reload();
      }
    }).catch(function () { wasDown = true; });
  }
  window.setInterval(tick, 5000);
})();
</script>"""
)
# Identifies this server process to the watchdog: a restarted server has another.
BOOT_ID = str(time.time_ns())


def shift_css(dx: int, dy: int) -> str:
    return _SHIFT_TEMPLATE.format(dx=int(dx), dy=int(dy))


def health_url() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_stcore/health" if base else "/_stcore/health"


def watchdog_html(reload_at: datetime | None) -> str:
    reload_ms = 0 if reload_at is None else int(reload_at.timestamp() * 1000)
    return (
        f'<div id="{WATCHDOG_ID}" data-boot="{BOOT_ID}" data-reload-at="{reload_ms}" '
        f'data-health="{html.escape(health_url(), quote=True)}"></div>' + WATCHDOG_SCRIPT
    )


# --- freshness ---------------------------------------------------------------------------------


def tile_freshness(snapshot: Snapshot) -> str:
    """The short freshness line under a tile: "updated 4 s ago", "STALE 45 s", ..."""
    age = tiles.format_age(snapshot.age_s)
    if snapshot.state == "error":
        return f"NO CONNECTION · data {age} old" if snapshot.has_data else "NO CONNECTION"
    if snapshot.state == "empty" or not snapshot.has_data:
        return "waiting for data…"
    if snapshot.state == "stale":
        return f"STALE {age}"
    return f"updated {age} ago"


def connection_banner(snapshots: Sequence[Snapshot], tz: str) -> str | None:
    """One sentence when the latest refresh of any feed failed, with the last good time."""
    failed = [s for s in snapshots if s.state == "error"]
    if not failed:
        return None
    last_good = [s.fetched_at for s in failed if s.fetched_at is not None]
    oldest = min(last_good) if last_good else None
    since = (
        f"showing data from {tiles.clock_time(oldest, tz)} "
        f"({tiles.format_age((failed[0].taken_at - oldest).total_seconds())} ago)"
        if oldest is not None
        else "no data received yet"
    )
    reason = failed[0].error or "the refresh failed"
    return f"CONNECTION TO THE TENANT LOST — {since}. {reason}"


# --- tiles and tables --------------------------------------------------------------------------


def wall_tile(
    name: str,
    label: str,
    value: str,
    snapshot: Snapshot,
    *,
    level: Level | None = None,
    detail: str = "",
) -> None:
    """A big metric with its level written out and its data age underneath.

    The container key carries the feed state and level, so the constant CSS can dim a stale
    tile and colour its edge without any HTML of ours around vendor data.
    """
    level_name = level.name if level is not None else "none"
    with st.container(key=f"wall-tile-{name}--{snapshot.state}--{level_name}"):
        tiles.tile(label, value, level=level, snapshot=snapshot)
        line = tile_freshness(snapshot)
        st.caption(tiles.plain(f"{detail} · {line}" if detail else line))


# A level in a table cell, as st.table's own Markdown: colour, bold text and the level's icon.
_STATUS_MARKDOWN = {
    ALERT.badge: f":red-background[**{tiles.plain(ALERT.badge)}**]",
    WARN.badge: f":orange-background[**{tiles.plain(WARN.badge)}**]",
}


def display_table(
    table: pd.DataFrame, vendor_columns: Sequence[str], status_column: str | None = None
) -> pd.DataFrame:
    """The first `TABLE_ROWS` rows as st.table will show them: st.table renders cell Markdown,
    so vendor text is escaped, and the level column is written as (our own) Markdown."""
    shown = table.head(TABLE_ROWS).copy()
    for column in vendor_columns:
        if column in shown:
            shown[column] = [tiles.plain(v) for v in shown[column]]
    if status_column and status_column in shown:
        shown[status_column] = [
            _STATUS_MARKDOWN.get(v, tiles.plain(v)) for v in shown[status_column]
        ]
    shown.attrs["total_rows"] = len(table)
    return shown


def wall_table(shown: pd.DataFrame) -> None:
    with st.container(key="wall-table"):
        st.table(shown, hide_index=True)
    more = shown.attrs.get("total_rows", len(shown)) - len(shown)
    if more > 0:
        st.caption(f"and {more} more")


def wall_figure(fig: go.Figure, theme: str) -> go.Figure:
    fig.update_layout(font={"size": 20}, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    if theme == "dark":
        fig.update_layout(
            template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)"
        )
    return fig


def _chart(fig: go.Figure, key: str, theme: str) -> None:
    st.plotly_chart(
        fig,
        key=key,
        theme=None if theme == "dark" else "streamlit",
        config={"displayModeBar": False, "staticPlot": True},
    )


# --- view models: computed once per data version, shared by every wall -----------------------

# A board redraws every few seconds, its data changes every few poll intervals: tables, levels
# and figures are built once per data version for the whole process, and each redraw only lays
# them out. One model is kept per (view, scope, theme) slot, replaced when its data changes, so
# old versions are never kept. Levels (with hysteresis) are process-wide too, so every screen in
# the room agrees on what is ALERT.
MODEL_CACHE_SIZE = 32


@dataclass
class _Shared:
    lock: threading.RLock
    models: LRUCache
    levels: LevelMemory


@st.cache_resource(show_spinner=False)
def _shared() -> _Shared:
    """Process-wide view models and levels (cleared with st.cache_resource.clear())."""
    return _Shared(threading.RLock(), LRUCache(maxsize=MODEL_CACHE_SIZE), LevelMemory())


def _cached(
    slot: tuple[object, ...], version: tuple[object, ...], build: Callable[[LevelMemory], Any]
) -> Any:
    shared = _shared()
    with shared.lock:
        held = shared.models.get(slot)
        if held is None or held[0] != version:
            held = (version, build(shared.levels))
            shared.models[slot] = held
        return held[1]


def _level(key: tuple[object, ...], value: object, threshold: Threshold) -> Level:
    shared = _shared()
    with shared.lock:
        return shared.levels.update(key, value, threshold)  # type: ignore[arg-type]


def _version(snapshot: Snapshot) -> object:
    return snapshot.fetched_at


def _scoped(feed: str, snapshot: Snapshot, scope: tuple[int, ...]) -> pd.DataFrame:
    return scope_frame(feed, snapshot.frame, scope) if scope else snapshot.frame


def _oldest(times: pd.Series, newest: bool = False) -> pd.Timestamp | None:
    known = pd.to_datetime(times, utc=True).dropna()
    if known.empty:
        return None
    return known.max() if newest else known.min()


def _age(at: pd.Timestamp | None, now: datetime) -> float | None:
    return None if at is None else max(0.0, (pd.Timestamp(now) - at).total_seconds())


@dataclass(frozen=True)
class OverviewModel:
    waiting: str
    waiting_level: Level
    longest: str
    longest_level: Level
    ewt: str
    ewt_level: Level
    free: str
    free_from_agents: bool
    voicemail: float | None
    voicemail_oldest_at: pd.Timestamp | None
    table: pd.DataFrame
    empty_text: str


class Board:
    """The snapshots of one tick, and the view models derived from them."""

    def __init__(self, live: LiveData, config: DashboardConfig, params: WallParams) -> None:
        self.config = config
        self.params = params
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
        return self.agents.has_data and not self.agents.frame.attrs.get("unavailable")

    def overview(self) -> OverviewModel:
        c, a, v = self.campaigns, self.agents, self.voicemail
        version = (_version(c), _version(a), _version(v))
        return _cached(("overview", self.scope), version, self._build_overview)

    def _build_overview(self, levels_memory: LevelMemory) -> OverviewModel:
        c, a, v = self.campaigns, self.agents, self.voicemail
        campaigns = _scoped("campaigns", c, self.scope)
        voicemail = _scoped("voicemail", v, self.scope)
        k = views.kpis(
            campaigns if c.has_data else None,
            _scoped("agents", a, self.scope) if a.has_data else None,
            voicemail if v.has_data else None,
            c.taken_at,
        )
        th = self.config.thresholds
        levels = views.campaign_levels(campaigns, th, levels_memory)
        table = views.overview_table(campaigns, levels)
        columns = ["Status", "Campaign", "EWT", "Longest wait", "Waiting", "Agents free"]
        return OverviewModel(
            waiting=charts.format_count(k.waiting),
            waiting_level=levels_memory.update(
                ("wall", self.scope, "waiting"), k.waiting, th.calls_waiting
            ),
            longest=charts.format_duration(k.longest_wait_s),
            longest_level=levels_memory.update(
                ("wall", self.scope, "longest"), k.longest_wait_s, th.longest_wait_s
            ),
            ewt=charts.format_duration(k.max_ewt_s),
            ewt_level=levels_memory.update(("wall", self.scope, "ewt"), k.max_ewt_s, th.ewt_s),
            free=f"{charts.format_count(k.agents_free)}/{charts.format_count(k.agents_logged_in)}",
            free_from_agents=self.per_agent,
            voicemail=k.voicemail,
            voicemail_oldest_at=_oldest(voicemail["received_at"]) if len(voicemail) else None,
            table=display_table(table[columns], ["Campaign"], "Status"),
            empty_text="No campaign statistics yet." if not c.has_data else "No active campaigns.",
        )

    def agents_model(self, theme: str) -> dict[str, Any]:
        version = (_version(self.agents), _version(self.campaigns))
        return _cached(
            ("agents", self.scope, theme),
            version,
            lambda memory: self._build_agents(theme, memory),
        )

    def _build_agents(self, theme: str, levels_memory: LevelMemory) -> dict[str, Any]:
        campaigns = _scoped("campaigns", self.campaigns, self.scope)
        if not self.per_agent:
            # Without per-agent status, the campaign counts (an agent on two campaigns counts
            # twice) are all there is; unknown stays "--".
            totals = {
                state: pd.to_numeric(campaigns[column], errors="coerce").sum(min_count=1)
                if self.campaigns.has_data and len(campaigns)
                else None
                for state, column in _CAMPAIGN_AGENT_COLUMNS.items()
            }
            return {"totals": totals, "table": None, "figure": None}
        agents = _scoped("agents", self.agents, self.scope)
        totals = views.agent_state_totals(agents)
        table = views.agent_table(
            agents, views.campaign_names(campaigns), levels_memory, self.config.thresholds
        )
        table = table[table["State"] != "LoggedOut"]
        return {
            "totals": {state: totals.get(state, 0) for state in _CAMPAIGN_AGENT_COLUMNS},
            "table": display_table(
                table[["Flag", "Agent", "State", "Time in state"]], ["Agent", "State"], "Flag"
            ),
            "figure": wall_figure(charts.agent_state_chart(agents), theme),
        }

    def voicemail_model(self) -> dict[str, Any]:
        return _cached(
            ("voicemail", self.scope),
            (_version(self.voicemail),),
            lambda _memory: self._build_voicemail(),
        )

    def _build_voicemail(self) -> dict[str, Any]:
        v = self.voicemail
        frame = _scoped("voicemail", v, self.scope)
        if not v.has_data:
            return {"count": None, "oldest_at": None, "newest_at": None, "table": None}
        table = views.voicemail_table(frame, self.tz, v.taken_at)
        return {
            "count": float(len(frame)),
            "oldest_at": _oldest(frame["received_at"]) if len(frame) else None,
            "newest_at": _oldest(frame["received_at"], newest=True) if len(frame) else None,
            "table": display_table(table[["Received", "Campaign", "Duration"]], ["Campaign"])
            if len(frame)
            else None,
        }

    def transfers_model(self, theme: str) -> dict[str, Any]:
        return _cached(
            ("transfers", self.scope, theme),
            (_version(self.transfers),),
            lambda _memory: self._build_transfers(theme),
        )

    def _build_transfers(self, theme: str) -> dict[str, Any]:
        t = self.transfers
        frame = _scoped("transfers", t, self.scope)
        if not t.has_data or not len(frame):
            return {
                "count": float(len(frame)) if t.has_data else None,
                "last_at": None,
                "table": None,
                "figure": None,
            }
        table = views.transfers_table(frame, self.tz)
        return {
            "count": float(len(frame)),
            "last_at": _oldest(frame["transferred_at"], newest=True),
            "table": display_table(
                table[["Transferred", "From campaign", "To campaign", "To agent"]],
                ["From campaign", "To campaign", "To agent"],
            ),
            "figure": wall_figure(charts.transfer_count_chart(frame, tz=self.tz), theme),
        }


# --- views -------------------------------------------------------------------------------------

_AGENT_TILES = (("Available", "free"), ("Busy", "busy"), ("Wrap", "wrap"), ("Paused", "paused"))
_CAMPAIGN_AGENT_COLUMNS = {
    "Available": "agents_available",
    "Busy": "agents_busy",
    "Wrap": "agents_wrap",
    "Paused": "agents_paused",
}


def overview_view(board: Board, now: datetime) -> None:
    c, a, v = board.campaigns, board.agents, board.voicemail
    m = board.overview()
    cols = st.columns(5)
    with cols[0]:
        wall_tile("waiting", "Waiting", m.waiting, c, level=m.waiting_level)
    with cols[1]:
        wall_tile("longest", "Longest", m.longest, c, level=m.longest_level)
    with cols[2]:
        wall_tile("ewt", "EWT max", m.ewt, c, level=m.ewt_level)
    with cols[3]:
        wall_tile("free", "Agents free", m.free, a if m.free_from_agents else c)
    with cols[4]:
        oldest = _age(m.voicemail_oldest_at, now) if m.voicemail else None
        level = (
            _level(("wall", board.scope, "vm-age"), oldest, board.config.thresholds.voicemail_age_s)
            if m.voicemail
            else None
        )
        wall_tile(
            "voicemail",
            "Voicemail",
            charts.format_count(m.voicemail),
            v,
            level=level,
            detail=f"oldest {charts.format_duration(oldest)}",
        )
    if m.table.empty:
        st.info(m.empty_text)
    else:
        wall_table(m.table)


def agents_view(board: Board, theme: str) -> None:
    m = board.agents_model(theme)
    source = board.agents if board.per_agent else board.campaigns
    cols = st.columns(len(_AGENT_TILES))
    for col, (state, name) in zip(cols, _AGENT_TILES, strict=True):
        with col:
            wall_tile(f"agents-{name}", state, charts.format_count(m["totals"].get(state)), source)
    if m["table"] is None:
        st.caption("Per-agent status is not available from this tenant: campaign counts shown.")
        return
    left, right = st.columns([3, 2])
    with left:
        wall_table(m["table"])
    with right:
        _chart(m["figure"], "wall-chart-agents", theme)


def voicemail_view(board: Board, now: datetime) -> None:
    v = board.voicemail
    m = board.voicemail_model()
    count = m["count"]
    oldest = _age(m["oldest_at"], now)
    cols = st.columns(3)
    with cols[0]:
        wall_tile("vm-count", "Voicemail today", charts.format_count(count), v)
    with cols[1]:
        wall_tile(
            "vm-oldest",
            "Oldest waiting",
            charts.format_duration(oldest) if count else "--",
            v,
            level=_level(
                ("wall", board.scope, "vm-age"), oldest, board.config.thresholds.voicemail_age_s
            )
            if count
            else None,
        )
    with cols[2]:
        newest = _age(m["newest_at"], now)
        wall_tile("vm-newest", "Newest", charts.format_duration(newest) if count else "--", v)
    if m["table"] is not None:
        wall_table(m["table"])


def transfers_view(board: Board, theme: str, now: datetime) -> None:
    t = board.transfers
    m = board.transfers_model(theme)
    last = _age(m["last_at"], now)
    cols = st.columns(2)
    with cols[0]:
        wall_tile("tr-count", "Transfers today", charts.format_count(m["count"]), t)
    with cols[1]:
        wall_tile(
            "tr-last",
            "Last transfer",
            f"{tiles.format_age(last)} ago" if last is not None else "--",
            t,
        )
    if m["table"] is not None:
        left, right = st.columns([3, 2])
        with left:
            wall_table(m["table"])
        with right:
            _chart(m["figure"], "wall-chart-transfers", theme)


# --- the page ----------------------------------------------------------------------------------


def _header(board: Board, schedule: WallSchedule, now: datetime, demo_label: str) -> None:
    rotation = schedule.rotation
    with st.container(key="wall-header"):
        cols = st.columns([4, 3, 2, 3], vertical_alignment="center")
        with cols[0]:
            st.markdown(tiles.plain(board.config.title))
        with cols[1], st.container(key="wall-clock"):
            local = now.astimezone(ZoneInfo(board.tz))
            st.markdown(tiles.plain(local.strftime("%a %H:%M")))
        with cols[2], st.container(key="wall-source"):
            st.markdown(tiles.plain(f"[{demo_label}]") if demo_label else "")
        with cols[3]:
            st.markdown(tiles.plain(tile_freshness(board.campaigns)))
    with st.container(key="wall-view"):
        dots = " ".join("●" if i == rotation.index else "○" for i in range(rotation.count))
        title = VIEW_TITLES[rotation.view].upper()
        scope = (
            f" · campaigns {', '.join(str(c) for c in board.params.campaigns)}"
            if board.params.campaigns
            else ""
        )
        st.markdown(tiles.plain(f"{title}  {dots}{scope}") if rotation.count > 1 else title)


def render_board(live: LiveData, config: DashboardConfig, params: WallParams) -> None:
    """One tick of the board: schedule, header, banner, and the view due now."""
    # Dimming, pixel shift and reloads follow the room's clock; the header clock and every age
    # follow the tenant's (they differ only for the demo tenant, which runs at a busy hour).
    schedule = wall_schedule(datetime.now(UTC), params, config.wall, config.display_timezone)
    now = live.now()
    st.html(shift_css(*schedule.shift) + (DIM_CSS if schedule.dimmed else ""))
    board = Board(live, config, params)
    view = schedule.rotation.view
    _header(board, schedule, now, DEMO_LABEL if live.demo else live.source_label)
    banner = connection_banner(board.snapshots_for(view), board.tz)
    if banner:
        st.error(tiles.plain(banner), icon="⚠️")
    problem = live.store_problem()
    if problem is not None:
        st.error(tiles.plain(tiles.store_problem_text(problem, board.tz)), icon="🗄️")
    if view == "overview":
        overview_view(board, now)
    elif view == "agents":
        agents_view(board, params.theme)
    elif view == "voicemail":
        voicemail_view(board, now)
    else:
        transfers_view(board, params.theme, now)


def render() -> None:
    """The wall page. Never raises for a bad URL: bad parameters are dropped with a note."""
    layout.configure_page("Wall")
    try:
        config = runtime.dashboard_config()
    except ConfigError as exc:
        layout.show_config_error(exc)
        st.stop()
    params = parse_wall_params(st.query_params.to_dict(), config.wall)
    if params.kiosk:
        st.html(KIOSK_CSS)
    st.html(BOARD_CSS)
    if params.theme == "dark":
        st.html(DARK_CSS)
    # dashboard.py checks this before routing here; a page run directly (Streamlit's v1
    # multipage fallback on a process's first run) must not skip it.
    auth.require_access("wall")
    try:
        live = runtime.live()
    except ConfigError as exc:
        layout.show_config_error(exc)
        st.stop()
    except ApiError as exc:
        st.error(tiles.plain(user_message(exc)))
        st.stop()
    first = wall_schedule(datetime.now(UTC), params, config.wall, config.display_timezone)
    st.html(watchdog_html(first.reload_at), unsafe_allow_javascript=True)
    notes = params.notes + first.notes
    if notes:
        with st.container(key="wall-notes"):
            st.caption(tiles.plain(" · ".join(notes)))

    # Each redraw reads cached snapshots and view models only: no upstream requests.
    @auth.live_fragment(board_tick_s(params.rotate_s), page_kind="wall")
    def board() -> None:
        render_board(live, config, params)

    board()
