"""The wall in a real browser: `streamlit run dashboard.py` against a simulator, headless Chromium.

One test walks the wall through a working day in about a minute: numbers from the tenant, a
surge that changes them, an outage that turns the board to "no connection" and back, a rotation
to a second view, no grey-out while the live fragment reruns, and a reload of its own after the
server restarts (Streamlit 1.67 reconnects its websocket but keeps the old page; the wall's
watchdog script reloads it). Poll intervals cannot go below 8 s (config MIN_POLL_S), so each
step waits on the page for up to a few poll cycles instead of sleeping for a fixed time.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ipscape import feeds
from ipscape.client import IpscapeClient
from ipscape.settings import settings_from_mapping
from ipscape.simulator import SimulatorConfig, start_simulator
from tests.browser_support import (
    REPO,
    chromium_path,
    launch_chromium,
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
POLL_S = 8
# A change upstream reaches the screen within one poll interval plus one fragment tick; allow
# three poll cycles before calling it a failure.
WITHIN_MS = 3 * POLL_S * 1000
ARTIFACTS = REPO / "artifacts"

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
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(f"{server.url}/?kiosk=1&rotate=0&theme=dark")
                fresh = page.locator(f'{_tile("waiting")}[class*="--fresh--"]')
                fresh.wait_for(timeout=WITHIN_MS)
                page.evaluate(OPACITY_PROBE)

                # Kiosk: no Streamlit chrome, no menu; the board says what it is and when.
                assert not page.locator('header[data-testid="stHeader"]').is_visible()
                assert page.locator('[data-testid="stSidebar"]').count() == 0
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
                rotating = browser.new_page(viewport={"width": 1280, "height": 720})
                rotating.goto(f"{server.url}/wall?kiosk=1&rotate=5&views=overview,agents")
                rotating.locator(_tile("waiting")).first.wait_for(timeout=WITHIN_MS)
                rotating.locator(_tile("agents-busy")).first.wait_for(timeout=15_000)
                assert rotating.get_by_text("Page not found").count() == 0
                rotating.locator(_tile("waiting")).first.wait_for(timeout=15_000)
                rotating.close()

                # 6. After a server restart the wall reloads itself and carries on.
                page.evaluate("window.__beforeRestart = true")
                server.stop()
                server.start()
                page.wait_for_function("window.__beforeRestart === undefined", timeout=30_000)
                fresh.wait_for(timeout=WITHIN_MS)
            finally:
                browser.close()
    finally:
        client.close()
        sim.stop()
