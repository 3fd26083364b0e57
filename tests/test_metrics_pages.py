"""The contact-centre metrics on screen, with AppTest against a simulated tenant over real HTTP
that has the demo's traffic (queues, abandons, voicemails that are called back).

Expected numbers are computed again here from the tenant's own activities, fetched directly
through the client, with ipscape.metrics: the pages must show what those definitions give.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime

import pandas as pd
import pytest

from ipscape import feeds, metrics
from ipscape.client import IpscapeClient
from ipscape.clock import start_of_day
from ipscape.frames import activities_frame, voicemail_frame
from ipscape.presentation.formats import count, percent
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, demo_config
from tests.app_support import afternoon_zone, open_page, point_app_at, unescape
from ui import runtime


@pytest.fixture
def busy_tenant(
    app_env, sim_factory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningSimulator]:
    """The demo's tenant, frozen, in a zone where its day is today (see afternoon_zone)."""
    sim = sim_factory(**{**asdict(demo_config()), "speed": 0, "timezone": afternoon_zone()})
    point_app_at(sim, monkeypatch)
    try:
        yield sim
    finally:
        runtime.reset()


def tenant_day(sim: RunningSimulator) -> tuple[list[dict], datetime]:
    """Today's activities as the tenant lists them, and now (the app's clock is the wall
    clock, as with a real tenant; the frozen tenant's day ended at its own now)."""
    now = datetime.now(UTC)
    with IpscapeClient(demo_settings(sim.api_root)) as client:
        items = feeds.fetch_activity_items(client, since=start_of_day(now, afternoon_zone()))
    return items, now


def todays_performance(sim: RunningSimulator) -> pd.DataFrame:
    """Today's performance rows, counted again from the tenant's activities."""
    items, now = tenant_day(sim)
    return metrics.performance(
        activities_frame(items), target_s=20, since=start_of_day(now, afternoon_zone())
    )


def todays_trend(sim: RunningSimulator) -> pd.DataFrame:
    """Today's service level per 15 minutes, counted again from the tenant's activities."""
    items, now = tenant_day(sim)
    return metrics.service_level_trend(
        activities_frame(items),
        target_s=20,
        tz=afternoon_zone(),
        since=start_of_day(now, afternoon_zone()),
        until=now,
    )


def shown(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def test_the_overview_shows_todays_service_level_and_abandon_rate(
    busy_tenant: RunningSimulator,
) -> None:
    expected = todays_performance(busy_tenant)
    total = expected.iloc[-1]
    assert total["answered"] > 0 and total["abandoned"] > 0  # a day with something to show
    at = open_page("overview")
    assert not at.exception
    tiles = shown(at)
    assert tiles["Service level today"] == percent(total["service_level_pct"])
    assert tiles["Abandon rate today"] == percent(total["abandon_rate_pct"])
    # per campaign, as numbers in the table, by campaign name
    table = at.dataframe[0].value.set_index("Campaign")
    for row in expected.iloc[:-1].itertuples():
        if row.campaign_name in table.index:
            assert table.loc[row.campaign_name, "Service level"] == pytest.approx(
                row.service_level_pct
            )
            assert table.loc[row.campaign_name, "AHT"] == pytest.approx(row.aht_s)
    assert str(table["Service level"].dtype) == "Float64"
    # the definitions are on the page, in words
    assert any("How the metrics are counted" in e.label for e in at.expander)


def test_voicemail_counts_only_those_still_waiting_for_a_call_back(
    busy_tenant: RunningSimulator,
) -> None:
    items, now = tenant_day(busy_tenant)
    held = voicemail_frame(items)
    returned = metrics.returned_at(held, activities_frame(items))
    waiting = int((returned.isna() | (returned > now)).sum())
    assert 0 < waiting < len(held)  # some were called back, some still wait
    at = open_page("voicemail")
    assert not at.exception
    tiles = shown(at)
    assert tiles["Voicemail waiting"] == count(waiting)
    summary = metrics.voicemail_summary(held.assign(returned_at=returned), now, tz=afternoon_zone())
    assert tiles["Returned today"] == count(summary.returned_today)
    assert len(at.dataframe[0].value) == waiting  # the backlog lists the waiting ones
    assert len(at.dataframe[1].value) == summary.returned_today  # and, folded, the returned
    rule = "Returned: " + metrics.GLOSSARY["Voicemail returned"]
    assert rule in [unescape(c.value) for c in at.caption]  # the rule, on screen
    overview = shown(open_page("overview"))
    assert overview["Voicemail waiting"] == count(waiting)


def test_the_wait_times_page_draws_the_service_level_through_the_day(
    busy_tenant: RunningSimulator,
) -> None:
    trend = todays_trend(busy_tenant)
    at = open_page("wait_times")
    assert not at.exception
    (chart,) = [c for c in at.get("plotly_chart") if "service-level-trend" in c.proto.spec]
    figure = json.loads(chart.proto.spec)
    line = next(t for t in figure["data"] if t["name"] == "Service level %")
    drawn = pd.array([None if v is None else v for v in line["y"]], dtype="Float64")
    expected = trend["service_level_pct"]
    assert drawn.dropna().tolist() == pytest.approx(expected.dropna().tolist())
    # a quarter-hour without calls (the night; the hours after the frozen tenant's now) is a
    # gap, not 0 %
    assert drawn.isna().sum() > 0


def test_the_wall_shows_the_service_level_and_abandon_rate_tiles(
    busy_tenant: RunningSimulator,
) -> None:
    total = todays_performance(busy_tenant).iloc[-1]
    at = open_page("wall", kiosk="1", rotate="0", view="overview")
    assert not at.exception
    tiles = shown(at)
    assert tiles["Service level"] == percent(total["service_level_pct"])
    assert tiles["Abandoned"] == percent(total["abandon_rate_pct"])


def test_the_overview_table_shows_the_chosen_window(busy_tenant: RunningSimulator) -> None:
    """The frozen tenant's day ended at its own now (10:30 there, hours ago on the app's wall
    clock): today has calls, the last hour none, so its figures are unknown, not 0 %."""
    at = open_page("overview")
    today = at.dataframe[0].value
    assert today["Service level"].notna().any()
    (control,) = [c for c in at.button_group if c.key == "performance_window"]
    control.set_value("Last hour").run()
    assert not at.exception
    hour = at.dataframe[0].value
    assert hour["Service level"].isna().all() and hour["ASA"].isna().all()
    assert any("last hour" in unescape(c.value) for c in at.caption)
    # the tiles stay today's, and say the last hour is unknown
    (tile,) = [m for m in at.metric if m.label == "Service level today"]
    assert tile.value != "--"


def test_the_service_level_tile_draws_todays_shape(busy_tenant: RunningSimulator) -> None:
    trend = todays_trend(busy_tenant)
    at = open_page("overview")
    (tile,) = [m for m in at.metric if m.label == "Service level today"]
    drawn = list(tile.proto.chart_data)
    assert drawn == pytest.approx(trend["service_level_pct"].dropna().tolist())
