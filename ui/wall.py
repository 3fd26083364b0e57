"""The wall display (kiosk mode): one board, readable across a room, that runs for weeks.

The page is driven by its URL (``?kiosk=1&rotate=20&campaigns=1,2,5&theme=dark``) and the wall
clock: the rules are in ipscape/presentation/wall.py, what each view shows in
ipscape/presentation/wall_models.py (built by wall_board.py); this module only lays them out.
Everything that changes lives in one fragment that reruns every few seconds (`board_tick_s`)
and reads snapshots only, never the tenant (docs/architecture.md, "The collector").

The CSS and JavaScript are files in ui/assets/, read once at import. What is substituted into
them are numbers and ids of our own; vendor strings (campaign and agent names) only ever reach
native elements, escaped for Markdown (docs/architecture.md, "Viewers are untrusted too").
"""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import pandas as pd
import streamlit as st

from ipscape.config import DashboardConfig
from ipscape.errors import ApiError, ConfigError, user_message
from ipscape.live import LiveData
from ipscape.presentation.freshness import store_problem_text
from ipscape.presentation.headlines import NOW_TILES
from ipscape.presentation.levels import ALERT, LEVEL_COLOURS, WARN
from ipscape.presentation.text import plain
from ipscape.presentation.wall import (
    WallParams,
    board_tick_s,
    parse_wall_params,
    url_switches,
    wall_schedule,
)
from ipscape.presentation.wall_board import Board, ModelCache
from ipscape.presentation.wall_models import Header, Tile, View, WallTable
from ui import auth, layout, runtime, tiles
from ui.agent_grid import show_grid
from ui.messages import show_config_error
from ui.sparklines import headline_sparklines

ASSETS = Path(__file__).parent / "assets"
WATCHDOG_ID = "ipscape-wall-watchdog"
# Outside opening hours nobody watches the board: keep it alive, but dark.
DIM_BRIGHTNESS = 0.3
# Identifies this server process to the watchdog: a restarted server has another.
BOOT_ID = str(time.time_ns())


def _asset(name: str, **values: object) -> str:
    return Template((ASSETS / name).read_text(encoding="utf-8")).substitute(values)


_COLOURS = {f"level_{name}": colour for name, colour in LEVEL_COLOURS.items()}
BOARD_CSS = "<style>" + _asset("wall.css", watchdog_id=WATCHDOG_ID, **_COLOURS) + "</style>"
WATCHDOG_SCRIPT = "<script>" + _asset("wall.js", watchdog_id=WATCHDOG_ID) + "</script>"
_BOARD_STATE = Template((ASSETS / "board-state.css").read_text(encoding="utf-8"))
_WATCHDOG = Template((ASSETS / "watchdog.html").read_text(encoding="utf-8"))


def board_state_css(dx: int, dy: int, dimmed: bool) -> str:
    """The board's pixel shift and brightness now: ints and one of two constants only."""
    brightness = DIM_BRIGHTNESS if dimmed else 1
    return (
        f"<style>{_BOARD_STATE.substitute(dx=int(dx), dy=int(dy), brightness=brightness)}</style>"
    )


def health_url() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/_stcore/health" if base else "/_stcore/health"


def watchdog_html(params: WallParams, reload_at: datetime | None) -> str:
    switches = url_switches(params)
    element = _WATCHDOG.substitute(
        watchdog_id=WATCHDOG_ID,
        boot=BOOT_ID,
        reload_at=0 if reload_at is None else int(reload_at.timestamp() * 1000),
        health=html.escape(health_url(), quote=True),
        embed=int(switches.embed),
        theme_option=switches.theme_option,
    )
    return element.strip() + WATCHDOG_SCRIPT


@st.cache_resource(show_spinner=False)
def _shared() -> ModelCache:
    """Process-wide view models and levels (rebuilt from the snapshots if a viewer clears it)."""
    return ModelCache()


# --- layout ------------------------------------------------------------------------------------

# A level in a table cell, as st.table's own Markdown: colour, bold text and the level's icon.
_LEVEL_MARKDOWN = {
    ALERT.name: f":red-background[**{plain(ALERT.badge)}**]",
    WARN.name: f":orange-background[**{plain(WARN.badge)}**]",
}


def table_frame(table: WallTable) -> pd.DataFrame:
    """What st.table shows: it renders each cell as Markdown, so every cell is escaped, and the
    level column of a WARN or ALERT row is written as (our own) coloured Markdown."""
    rows = [
        [
            _LEVEL_MARKDOWN.get(level.name, plain(cell))
            if column == table.level_column
            else plain(cell)
            for column, cell in zip(table.columns, row, strict=True)
        ]
        for row, level in zip(table.rows, table.levels, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(table.columns))


def show_table(table: WallTable) -> None:
    with st.container(key="wall-table"):
        st.table(table_frame(table), hide_index=True)
    if table.more > 0:
        st.caption(f"and {table.more} more")


def show_tile(tile: Tile) -> None:
    """A big metric with its level written out, today's shape under it (the overview's tiles,
    with history) and its data age underneath."""
    with st.container(key=tile.key):
        tiles.tile(
            tile.label,
            tile.value,
            level=tile.level,
            snapshot=tile.snapshot,
            chart_data=list(tile.chart),
            chart_type="area",  # a filled shape reads across a room; a thin line does not
        )
        st.caption(plain(tile.caption))


def show_view(view: View) -> None:
    # At most NOW_TILES a row, so each number stays big enough to read across the room (the
    # overview's seven: the queue now, then today).
    per_row = min(len(view.tiles), NOW_TILES)
    for start in range(0, len(view.tiles), per_row or 1):
        row = view.tiles[start : start + per_row]
        for column, tile in zip(st.columns(per_row), row, strict=False):
            with column:
                show_tile(tile)
    if view.message is not None:
        (st.info if view.message_kind == "info" else st.caption)(plain(view.message))
    if view.grid is not None and len(view.grid):
        # Across a room: cells of 150 px and 18 px text fit 200 agents on a 1080p screen.
        show_grid(view.grid, cell_min_px=150, font_px=18)
    if view.table is None:
        return
    if view.figure is None:
        show_table(view.table)
        return
    left, right = st.columns([3, 2])
    with left:
        show_table(view.table)
    with right:
        st.plotly_chart(
            view.figure,
            key=f"wall-chart-{view.name}",
            # Streamlit's theme: the figure follows the page's light or dark theme.
            theme="streamlit",
            config={"displayModeBar": False, "staticPlot": True},
        )


def show_header(header: Header) -> None:
    with st.container(key="wall-header"):
        cols = st.columns([4, 3, 2, 3], vertical_alignment="center")
        with cols[0]:
            st.markdown(plain(header.title))
        with cols[1], st.container(key="wall-clock"):
            st.markdown(plain(header.clock))
        with cols[2], st.container(key="wall-source"):
            # A badge: its colours are the theme's own, readable in light and dark.
            if header.source:
                st.badge(plain(header.source), color="orange")
        with cols[3]:
            st.markdown(plain(header.freshness))
    with st.container(key="wall-view"):
        st.markdown(plain(header.view_line))


# --- the page ----------------------------------------------------------------------------------


def render_board(live: LiveData, config: DashboardConfig, params: WallParams) -> None:
    """One tick of the board: schedule, header, banners, and the view due now."""
    # Dimming, pixel shift and reloads follow the room's clock; the header clock and every age
    # follow the tenant's (they differ only for the demo tenant, which runs at a busy hour).
    schedule = wall_schedule(datetime.now(UTC), params, config.wall, config.display_timezone)
    now = live.now()
    st.html(board_state_css(*schedule.shift, schedule.dimmed))
    board = Board(live, config, params, _shared())
    view = schedule.rotation.view
    source = layout.DEMO_LABEL if live.demo else live.source_label
    show_header(board.header(schedule.rotation, now, source))
    banner = board.banner(view)
    if banner:
        st.error(plain(banner), icon="⚠️")
    problem = live.store_problem()
    if problem is not None:
        st.error(plain(store_problem_text(problem, board.tz)), icon="🗄️")
    # Today's history of this wall's campaigns: one store read a minute shared by every wall
    # and viewer, and lines kept per scope, so a redraw reads neither (ui/sparklines.py).
    lines = (
        headline_sparklines(live, board.tz, now, params.campaigns) if view == "overview" else None
    )
    show_view(board.view(view, now, lines))


def render() -> None:
    """The wall page (access was checked by dashboard.py). Never raises for a bad URL: bad
    parameters are dropped with a note."""
    layout.configure_page("Wall")
    try:
        config = runtime.dashboard_config()
    except ConfigError as exc:
        show_config_error(exc)
        st.stop()
    params = parse_wall_params(st.query_params.to_dict(), config.wall)
    st.html(BOARD_CSS)
    try:
        live = runtime.live()
    except ConfigError as exc:
        show_config_error(exc)
        st.stop()
    except ApiError as exc:
        st.error(plain(user_message(exc)))
        st.stop()
    first = wall_schedule(datetime.now(UTC), params, config.wall, config.display_timezone)
    st.html(watchdog_html(params, first.reload_at), unsafe_allow_javascript=True)
    notes = params.notes + first.notes
    if notes:
        with st.container(key="wall-notes"):
            st.caption(plain(" · ".join(notes)))

    # Each redraw reads snapshots and the shared view models only: no upstream requests.
    @auth.live_fragment(board_tick_s(params.rotate_s, config.poll.campaigns_s), page_kind="wall")
    def board() -> None:
        render_board(live, config, params)

    board()
