"""The wall in a real browser: `streamlit run dashboard.py` against a simulator, headless Chromium.

One test walks the wall through a working day in about a minute: numbers from the tenant, a
surge that changes them, an outage that turns the board to "no connection" and back, a rotation
to a second view, no grey-out while the live fragment reruns, and a reload of its own after the
server restarts (Streamlit 1.67 reconnects its websocket but keeps the old page; the wall's
watchdog script reloads it). Another checks that the wall's look still takes effect on the
Streamlit release it targets: Streamlit's kiosk and theme switches (ui/assets/wall.js) and the
selectors of ui/assets/wall.css, in the dark and the light theme, a sparkline of today drawn in
the headline tiles without shrinking their numbers.

Poll intervals cannot go below 8 s (config MIN_POLL_S), so each step waits on a condition of
the page, with a deadline of its own generous enough for a loaded machine, never a fixed time.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ipscape import feeds
from ipscape.client import IpscapeClient
from ipscape.history import SQLiteHistory
from ipscape.presentation.levels import LEVEL_COLOURS
from ipscape.presentation.wall_board import OVERVIEW_TILES
from ipscape.settings import settings_from_mapping
from ipscape.simulator import SimulatorConfig, start_simulator
from tests.app_support import afternoon_zone
from tests.browser_support import (
    FIRST_RENDER_MS,
    PAGE_WAIT_MS,
    REPO,
    chromium_path,
    launch_chromium,
    patient,
    playwright_sync_api,
    running_dashboard,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_path() is None,
        reason="no Chromium installed (apt-get install chromium, or set IPSCAPE_CHROMIUM)",
    ),
]
sync_api = playwright_sync_api()

TZ = "Australia/Sydney"
# A change upstream reaches the screen within one poll interval (8 s) plus one fragment tick;
# the deadline allows for a machine too loaded to keep to the schedule.
WITHIN_MS = PAGE_WAIT_MS
ARTIFACTS = REPO / "artifacts"
# What a kiosk must not show: Streamlit's toolbar, main menu, running indicator, the coloured
# line at the top, the sidebar and its toggle (Streamlit 1.67's data-testids).
CHROME = (
    "stToolbar",
    "stMainMenu",
    "stStatusWidget",
    "stDecoration",
    "stSidebar",
    "stSidebarCollapsedControl",
    "stAppDeployButton",
)
# The [theme.dark] and [theme.light] sections of .streamlit/config.toml.
THEMES = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]


def _rgb(colour: str) -> str:
    """ "#D55E00" -> "rgb(213, 94, 0)", as getComputedStyle writes it."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


# Tracks the lowest opacity any element reaches while the fragment reruns (Streamlit's
# "stale element" fade would show up here as 0.33 or so).
OPACITY_PROBE = """() => {
  window.__wallMinOpacity = 1;
  const probe = () => {
    document.querySelectorAll('[data-testid="stElementContainer"]').forEach((el) => {
      const o = parseFloat(getComputedStyle(el).opacity);
      if (o < window.__wallMinOpacity) { window.__wallMinOpacity = o; }
    });
    requestAnimationFrame(probe);
  };
  probe();
}"""


def _tile(name: str) -> str:
    return f'[class*="st-key-wall-tile-{name}--"]'


def _value(page, name: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f'{_tile(name)} [data-testid="stMetricValue"]').first.inner_text()


# The computed styles the theme and ui/assets/wall.css give the overview board, or null while
# a tile is being redrawn or a sparkline is still being drawn.
BOARD_STYLES = """() => {
  const tiles = Array.from(document.querySelectorAll('[class*="st-key-wall-tile-"]'));
  const value = document.querySelector(
    '[class*="st-key-wall-tile-waiting--"] [data-testid="stMetricValue"]');
  if (!tiles.length || !value || !value.isConnected) { return null; }
  const edges = [];
  for (const tile of tiles) {
    const metric = tile.querySelector('[data-testid="stMetric"]');
    if (!metric) { return null; }
    const style = getComputedStyle(metric);
    edges.push([Array.from(tile.classList).find((c) => c.startsWith("st-key-")),
                style.borderLeftColor, parseFloat(style.borderLeftWidth)]);
  }
  const size = (name) => {
    const el = document.querySelector(
      `[class*="st-key-wall-tile-${name}--"] [data-testid="stMetricValue"]`);
    return el ? parseFloat(getComputedStyle(el).fontSize) : null;
  };
  // Today's sparkline: st.metric's chart in each tile (null: none), read once Vega has drawn
  // every chart on the board.
  const sparklines = {};
  for (const tile of tiles) {
    const name = Array.from(tile.classList).find((c) => c.startsWith("st-key-wall-tile-"))
      .slice("st-key-wall-tile-".length).split("--")[0];
    const chart = tile.querySelector('[data-testid="stMetric"] [data-testid="stMetricChart"]');
    if (!chart) { sparklines[name] = null; continue; }
    const drawn = chart.querySelector("svg, canvas");
    const line = chart.querySelector(".mark-line path");
    if (!drawn || !line) { return null; }
    const box = drawn.getBoundingClientRect();
    sparklines[name] = {
      width: box.width,
      height: box.height,
      metricWidth: tile.querySelector('[data-testid="stMetric"]').getBoundingClientRect().width,
      strokeWidth: parseFloat(getComputedStyle(line).strokeWidth),
    };
  }
  return {
    background: getComputedStyle(document.querySelector(".stApp")).backgroundColor,
    valueColour: getComputedStyle(value).color,
    valueSize: parseFloat(getComputedStyle(value).fontSize),
    voicemailSize: size("voicemail"),
    sparklines,
    tiles: edges,
  };
}"""


def _open_wall(opener, url: str, **options: object):  # type: ignore[no-untyped-def]
    """A new tab of ``opener`` (a Browser or a BrowserContext) on ``url``, once the wall has
    switched its URL to Streamlit's kiosk and theme switches and a tile is on screen."""
    page = patient(opener.new_page(**options))
    page.goto(url)
    page.wait_for_url(re.compile(r"embed_options="), timeout=FIRST_RENDER_MS)
    page.locator('[class*="st-key-wall-tile-"][class*="--fresh--"]').first.wait_for(
        timeout=FIRST_RENDER_MS
    )
    return page


def _seed_todays_history(path: Path, client: IpscapeClient) -> None:
    """Three hours of today's history in the store the server is about to open (a real server
    takes hours to record them), each quarter a little busier than the one before, so the
    tiles have a shape to draw. The dashboard's zone is one where it is afternoon now
    (tests/browser_support.py), so the three hours are today's whatever the time."""
    now = datetime.now(UTC)
    campaigns = feeds.fetch_campaigns(client, ())
    agents = feeds.fetch_agents(client)
    store = SQLiteHistory(path, retention_days=1)
    try:
        for quarter in range(12, 0, -1):
            busier = campaigns.assign(
                calls_waiting=campaigns["calls_waiting"].fillna(0) + 2 * (quarter % 4),
                max_wait_s=campaigns["max_wait_s"].fillna(0) + 30 * (quarter % 4),
                ewt_s=campaigns["ewt_s"].fillna(0) + 20 * (quarter % 3),
            )
            at = now - timedelta(minutes=15 * quarter)
            store.append_campaigns(busier, at)
            store.append_agent_states(agents, at)
    finally:
        store.close()


def _waiting_upstream(client: IpscapeClient) -> str:
    frame = feeds.fetch_campaigns(client, ())
    return f"{int(frame['calls_waiting'].sum()):,}"


def test_the_wall_tracks_the_tenant_in_a_real_browser(tmp_path: Path) -> None:
    now = datetime.now(ZoneInfo(TZ)).strftime("%H:%M")
    # Frozen simulated clock starting at the real time of day: only surge/faults change state,
    # and the tenant's timestamps agree with the browser's clock.
    sim = start_simulator(SimulatorConfig(speed=0, start_time=now, timezone=TZ))
    client = IpscapeClient(
        settings_from_mapping(
            {
                "IPSCAPE_BASE_URL": sim.api_root,
                "IPSCAPE_API_TOKEN": sim.token,
                "IPSCAPE_SECRET_KEY_1": sim.keys[0],
                "IPSCAPE_SECRET_KEY_2": sim.keys[1],
            }
        )
    )
    try:
        with (
            running_dashboard(sim.api_root, tmp_path) as server,
            sync_api.sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                page = _open_wall(
                    browser,
                    f"{server.url}/?kiosk=1&rotate=0&theme=dark",
                    viewport={"width": 1920, "height": 1080},
                )
                fresh = page.locator(f'{_tile("waiting")}[class*="--fresh--"]')
                fresh.wait_for(timeout=WITHIN_MS)
                page.evaluate(OPACITY_PROBE)

                # Kiosk: no Streamlit chrome, no menu; the board says what it is and when.
                for testid in CHROME:
                    assert page.locator(f'[data-testid="{testid}"]').count() == 0, testid
                assert page.get_by_text("Test Contact Centre").is_visible()
                assert re.search(r"updated \d+ s ago", page.inner_text("body"))

                # 1. The tiles show the tenant's numbers.
                assert _value(page, "waiting") == _waiting_upstream(client)

                # 2. They follow the tenant when its state changes.
                campaigns = client.list_campaigns()
                inbound = next(c for c in campaigns if c.get("campaignType") == "inbound")
                before = _value(page, "waiting")
                sim.surge(int(inbound["campaignId"]), 60)  # more callers than agents
                after = _waiting_upstream(client)
                assert after != before
                page.wait_for_function(
                    """([sel, want]) => {
                        const el = document.querySelector(sel);
                        return el !== null && el.innerText.trim() === want;
                    }""",
                    arg=[f'{_tile("waiting")} [data-testid="stMetricValue"]', after],
                    timeout=WITHIN_MS,
                )

                # 3. An outage turns the board to "no connection", keeping the last numbers.
                sim.inject({"kind": "status", "status": 503, "match": "*"})
                page.locator(f'{_tile("waiting")}[class*="--error--"]').wait_for(timeout=WITHIN_MS)
                banner = page.get_by_text("CONNECTION TO THE TENANT LOST")
                banner.wait_for(timeout=WITHIN_MS)
                assert "showing data from" in banner.inner_text()
                assert _value(page, "waiting") == after
                assert "NO CONNECTION" in page.locator(_tile("waiting")).first.inner_text()
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "wall-error.png"))

                # ... and back once the tenant answers again.
                sim.clear_faults()
                fresh.wait_for(timeout=WITHIN_MS)
                banner.wait_for(state="detached", timeout=WITHIN_MS)

                # 4. No grey-out while the fragment reruns (it reran every few seconds meanwhile).
                assert page.evaluate("window.__wallMinOpacity") == 1
                page.screenshot(path=str(ARTIFACTS / "wall.png"))

                # 5. A rotating wall reaches its next view on its own, at /wall too.
                rotating = _open_wall(
                    browser,
                    f"{server.url}/wall?kiosk=1&rotate=5&views=overview,agents",
                    viewport={"width": 1280, "height": 720},
                )
                rotating.locator(_tile("agents-busy")).first.wait_for(timeout=WITHIN_MS)
                assert rotating.get_by_text("Page not found").count() == 0
                rotating.locator(_tile("waiting")).first.wait_for(timeout=WITHIN_MS)
                rotating.close()

                # 6. After a server restart the wall reloads itself and carries on.
                page.evaluate("window.__beforeRestart = true")
                server.stop()
                server.start()
                page.wait_for_function(
                    "window.__beforeRestart === undefined", timeout=FIRST_RENDER_MS
                )
                fresh.wait_for(timeout=FIRST_RENDER_MS)
            finally:
                browser.close()
    finally:
        client.close()
        sim.stop()


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_walls_switches_and_styles_take_effect_in_each_theme(
    tmp_path: Path, theme: str
) -> None:
    """Streamlit 1.67's own switches hide the kiosk chrome and pick the theme from
    .streamlit/config.toml, and ui/assets/wall.css's selectors still reach the board: its
    big numbers, its coloured edges, and today's sparkline under each number with history."""
    now = datetime.now(ZoneInfo(TZ)).strftime("%H:%M")
    sim = start_simulator(SimulatorConfig(speed=0, start_time=now, timezone=TZ))
    try:
        with IpscapeClient(
            settings_from_mapping(
                {
                    "IPSCAPE_BASE_URL": sim.api_root,
                    "IPSCAPE_API_TOKEN": sim.token,
                    "IPSCAPE_SECRET_KEY_1": sim.keys[0],
                }
            )
        ) as client:
            _seed_todays_history(tmp_path / "history.sqlite", client)
        with (
            running_dashboard(sim.api_root, tmp_path) as server,
            sync_api.sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                # The viewer's system asks for the other theme: the wall's URL wins.
                context = browser.new_context(
                    viewport={"width": 1920, "height": 1080},
                    color_scheme="light" if theme == "dark" else "dark",
                )
                page = _open_wall(context, f"{server.url}/?kiosk=1&rotate=0&theme={theme}")
                assert "embed=true" in page.url and f"embed_options={theme}_theme" in page.url

                # Kiosk chrome: left out by Streamlit itself; the header is an empty band.
                for testid in CHROME:
                    assert page.locator(f'[data-testid="{testid}"]').count() == 0, testid
                assert page.locator('header[data-testid="stHeader"]').inner_text().strip() == ""

                page.locator(".st-key-wall-table td").first.wait_for(timeout=WITHIN_MS)

                # One consistent reading of the board (the fragment redraws it every few
                # seconds, and a tile being swapped has no computed style).
                board = page.wait_for_function(BOARD_STYLES, timeout=WITHIN_MS).json_value()

                # The theme's colours, on the page and on the board's text.
                assert board["background"] == _rgb(THEMES[theme]["backgroundColor"])
                assert board["valueColour"] == _rgb(THEMES[theme]["textColor"])
                # Big type: a tile's value is far larger than the theme's base font.
                assert board["valueSize"] > 40, board["valueSize"]

                # Today's shape under the number, from the history store: drawn in every tile
                # with history, most of the tile wide and tall enough to read from afar, and the
                # number as large as in the voicemail tile, which has no history to draw.
                sparklines = board["sparklines"]
                for name in ("waiting", "longest", "ewt", "free"):
                    drawn = sparklines[name]
                    assert drawn is not None, (name, sparklines)
                    assert drawn["width"] > drawn["metricWidth"] / 2, (name, drawn)
                    assert drawn["height"] >= 40, (name, drawn)
                    assert drawn["strokeWidth"] >= 4, (name, drawn)  # ui/assets/wall.css
                assert sparklines["voicemail"] is None, sparklines
                assert board["valueSize"] == board["voicemailSize"], board

                # Every tile carries its feed state and level in its class, and the CSS turns a
                # level into the coloured edge of its metric.
                assert len(board["tiles"]) == len(OVERVIEW_TILES), board["tiles"]
                levelled = 0
                for key, colour, width in board["tiles"]:
                    level = key.rsplit("--", 1)[1]
                    if level in LEVEL_COLOURS:
                        levelled += 1
                        assert colour == _rgb(LEVEL_COLOURS[level]), (key, colour)
                        assert width > 10, (key, width)
                assert levelled >= 3, board["tiles"]  # waiting, longest and EWT have thresholds

                # The watchdog's settings element takes no room.
                assert not page.locator("#ipscape-wall-watchdog").is_visible()

                ARTIFACTS.mkdir(exist_ok=True)
                # README.md shows docs/screenshots/wall.png: a copy of wall-dark.png when the
                # wall's look changes.
                page.screenshot(path=str(ARTIFACTS / f"wall-{theme}.png"))

                # Asking for the other theme in the same tab switches it too (the script's guard
                # against a loop only stops the same switch repeated).
                other = "light" if theme == "dark" else "dark"
                page.goto(f"{server.url}/?kiosk=1&rotate=0&theme={other}")
                page.wait_for_url(re.compile(f"embed_options={other}_theme"), timeout=WITHIN_MS)
            finally:
                browser.close()
    finally:
        sim.stop()


GRID_GEOMETRY = """() => {
    const cells = [...document.querySelectorAll('.agent-cell')];
    if (!cells.length) return null;
    const size = (c, part) => parseFloat(getComputedStyle(c.querySelector(part)).fontSize);
    const sizes = cells.map(c => size(c, '.agent-meta'));
    const names = cells.map(c => size(c, '.agent-name'));
    const bottom = Math.max(...cells.map(c => c.getBoundingClientRect().bottom));
    const right = Math.max(...cells.map(c => c.getBoundingClientRect().right));
    const clipped = cells.filter(c => c.querySelector('.agent-name').scrollWidth > 0 &&
        c.getBoundingClientRect().width < 60).length;
    return {cells: cells.length, smallest: Math.min(...sizes, ...names), bottom, right, clipped,
            viewportHeight: window.innerHeight, viewportWidth: window.innerWidth};
}"""


def test_the_agent_grid_fits_200_agents_on_a_1080p_wall_legibly(tmp_path: Path) -> None:
    """Every logged-in agent of a 200-agent shift is a cell on one 1920x1080 screen, with text
    of at least 18 px (legible at about 5 m); the screenshot is kept in artifacts/."""
    sim = start_simulator(
        SimulatorConfig(
            speed=0,
            agents=240,
            campaigns=20,
            calls_per_day=20_000,
            start_time="11:00",
            # the dashboard's own zone, where it is already afternoon: 11:00 has passed
            timezone=afternoon_zone(),
        )
    )
    try:
        settings = settings_from_mapping(
            {
                "IPSCAPE_BASE_URL": sim.api_root,
                "IPSCAPE_API_TOKEN": sim.token,
                "IPSCAPE_SECRET_KEY_1": sim.keys[0],
            }
        )
        with IpscapeClient(settings) as client:
            working = sum(a["state"] != "LoggedOut" for a in client.agent_status())
        assert working >= 200
        with (
            running_dashboard(sim.api_root, tmp_path) as server,
            sync_api.sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                page = patient(browser.new_page(viewport={"width": 1920, "height": 1080}))
                page.goto(f"{server.url}/?kiosk=1&view=grid&theme=dark")
                page.wait_for_url(re.compile(r"embed_options="), timeout=FIRST_RENDER_MS)
                page.locator(".agent-cell").first.wait_for(timeout=FIRST_RENDER_MS)
                geometry = page.wait_for_function(GRID_GEOMETRY, timeout=WITHIN_MS).json_value()
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "agent-grid-200.png"))
            finally:
                browser.close()
        assert geometry["cells"] == working, geometry
        assert geometry["smallest"] >= 18, geometry
        assert geometry["bottom"] <= geometry["viewportHeight"], geometry  # no scrolling
        assert geometry["right"] <= geometry["viewportWidth"], geometry
    finally:
        sim.stop()
