"""The interactive pages in a real browser (`streamlit run dashboard.py` against a simulator,
headless Chromium): a slow first load says so, and the scope and range live in the address bar
a supervisor copies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from ipscape.simulator import RunningSimulator
from tests.browser_support import (
    FIRST_RENDER_MS,
    NO_CHROMIUM,
    PAGE_WAIT_MS,
    chromium_path,
    open_browser,
    playwright_sync_api,
    running_dashboard,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_path() is None, reason=NO_CHROMIUM)]
sync_api = playwright_sync_api()
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# A drill-down question the tenant takes this long to answer: well over the half second after
# which a load must say it is loading, well under the poll deadline.
SLOW_S = 4.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with open_browser() as launched:
        yield launched


def test_a_slow_first_load_shows_that_it_is_loading_then_the_data(
    browser: Browser, sim_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = sim_factory(calls_per_day=600)
    with running_dashboard(sim.api_root, tmp_path) as server:
        # From now on every activities question waits: the drill-down's own is a new one.
        sim.inject({"kind": "slow", "delay_s": SLOW_S, "match": "/v3.0/activities*"})
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.goto(f"{server.url}/drilldown?window=4h&type=call.outbound")
            spinner = page.locator('[data-testid="stSpinner"]', has_text="Loading")
            spinner.first.wait_for(state="visible", timeout=FIRST_RENDER_MS)
            page.screenshot(path=str(ARTIFACTS / "loading.png"))
            # ... and it goes once the answer is in, the table in its place
            page.get_by_text("Showing ", exact=False).first.wait_for(timeout=PAGE_WAIT_MS)
            spinner.first.wait_for(state="hidden", timeout=PAGE_WAIT_MS)
        finally:
            page.close()


def test_the_scope_and_range_picked_on_a_page_are_in_the_address_to_share(
    browser: Browser, sim_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = sim_factory(calls_per_day=600)
    with running_dashboard(sim.api_root, tmp_path) as server:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.goto(f"{server.url}/wait-times?window=1h&compare=yesterday")
            choose = page.get_by_role("combobox", name="Campaigns")
            choose.wait_for(timeout=FIRST_RENDER_MS)
            choose.click()
            if not page.get_by_role("option").first.is_visible():
                choose.press("ArrowDown")  # a click that lands during a rerun only focuses it
            page.get_by_role("option").last.click(timeout=PAGE_WAIT_MS)  # one campaign
            page.keyboard.press("Escape")
            page.wait_for_function("location.search.includes('campaigns=')", timeout=PAGE_WAIT_MS)
            query = parse_qs(urlsplit(page.url).query)
            assert query["window"] == ["1h"] and query["compare"] == ["yesterday"]
            assert query["campaigns"][0].isdigit()  # one id, the wall's campaigns= form
            page.screenshot(path=str(ARTIFACTS / "scope-and-range.png"), full_page=True)
        finally:
            page.close()
