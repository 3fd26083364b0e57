"""What the pages say when the request budget or the tenant's clock limits what they can show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_support import point_app_at
from tests.hostile_tenant import KEY, TOKEN, HostileTenant, _activity

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
RUN_TIMEOUT = 60


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.run()
    if page != "overview":
        at.switch_page(f"screens/{page}.py").run()
    return at


def test_the_overview_says_when_the_budget_cannot_refresh_every_campaign_each_poll(
    app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(campaigns=6)
    point_app_at(sim, monkeypatch)
    with app_env.open("a") as config:
        config.write("[poll]\nmax_requests_per_min = 10\n")
    at = open_page("overview")
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("6 campaigns at one poll every 10 s need" in w for w in warnings), warnings
    # Only as many statistics calls as the budget grants, not one per campaign.
    statistics = sim.stats()["requests"].get("GET /v3.0/campaigns/{campaignId}/statistics", 0)
    assert 1 <= statistics < 6


def test_the_overview_says_nothing_of_the_budget_when_it_covers_every_campaign(
    app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_app_at(sim_factory(campaigns=6), monkeypatch)
    at = open_page("overview")
    assert not any("campaigns at one poll" in w.value for w in at.warning)


@pytest.fixture
def tenant_from_the_future(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HostileTenant]:
    tenant = HostileTenant()
    tenant.extra_activities = [_activity(99, tenant.now.replace(year=2100))]
    monkeypatch.setenv("IPSCAPE_BASE_URL", tenant.api_root)
    monkeypatch.setenv("IPSCAPE_API_TOKEN", TOKEN)
    monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", KEY)
    try:
        yield tenant
    finally:
        from ui import runtime

        runtime.reset()  # close the app's pollers before the tenant stops
        tenant.stop()


def test_drill_down_lists_activities_dated_in_the_future_apart(tenant_from_the_future):
    at = open_page("overview")
    at.switch_page("screens/drilldown.py").run()
    assert not at.exception
    (held,) = [e for e in at.expander if "dated in the future" in e.label]
    assert held.label.startswith("1 activities")
    table = held.dataframe[0].value
    assert len(table) == 1
