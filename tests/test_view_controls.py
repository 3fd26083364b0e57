"""The campaign scope and the time range on the pages (AppTest, a simulated tenant over real
HTTP, a real SQLite history): kept in the URL, kept across page changes, and past days drawn
from the history store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape import feeds, frames, metrics
from ipscape.client import IpscapeClient
from ipscape.clock import start_of_day
from ipscape.config import WallConfig
from ipscape.history import SQLiteHistory
from ipscape.presentation.wall import parse_wall_params
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator
from tests.app_support import APP, RUN_TIMEOUT, afternoon_zone, api, open_page, unescape

SCOPE = "view_campaigns"
WINDOW, COMPARE = "range_window", "range_compare"


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


def chart(at: AppTest, revision: str) -> dict[str, Any]:
    (found,) = [c for c in at.get("plotly_chart") if f'"uirevision":"{revision}"' in c.proto.spec]
    return json.loads(found.proto.spec)


def campaign_ids(sim: RunningSimulator) -> dict[int, str]:
    return {
        c["campaignId"]: c["campaignName"]
        for c in api(sim, "/v3.0/campaigns")
        if c.get("isActive") is not False
    }


# --- the campaign scope -----------------------------------------------------------------------


def test_the_campaign_scope_is_kept_in_the_url_and_across_page_changes(
    app_tenant: RunningSimulator,
) -> None:
    names = campaign_ids(app_tenant)
    first, second, *others = sorted(names)
    assert others, "the tenant has more campaigns than the scope picks"
    at = open_page("overview", campaigns=f"{second},{first}")
    assert not at.exception
    assert at.multiselect(key=SCOPE).value == [second, first]
    assert set(at.dataframe[0].value["Campaign"]) == {names[first], names[second]}
    assert at.query_params["campaigns"] == f"{second},{first}"

    at.query_params.clear()  # as the browser does: the menu's links drop the query string
    open_page("wait_times", at)
    assert not at.exception
    assert at.multiselect(key=SCOPE).value == [second, first]
    assert at.query_params["campaigns"] == f"{second},{first}"  # ... and the URL says it again
    ewt = chart(at, "campaign-ewt_s")
    assert {unescape(y) for trace in ewt["data"] for y in trace["y"]} <= {
        names[first],
        names[second],
    }

    at.query_params.clear()
    open_page("voicemail", at)
    backlog = at.dataframe[0].value if at.dataframe else pd.DataFrame({"Campaign": []})
    assert set(backlog["Campaign"]) <= {names[first], names[second]}

    at.multiselect(key=SCOPE).unselect(second).run()
    assert at.query_params["campaigns"] == str(first)
    at.multiselect(key=SCOPE).unselect(first).run()
    assert "campaigns" not in at.query_params  # every campaign: a short URL


def test_a_scope_narrows_the_headline_numbers_to_its_campaigns(
    app_tenant: RunningSimulator,
) -> None:
    names = campaign_ids(app_tenant)
    stats = {
        cid: api(app_tenant, f"/v3.0/campaigns/{cid}/statistics", period="day") for cid in names
    }
    waiting = {cid: s.get("callsWaiting") or 0 for cid, s in stats.items()}
    busiest = max(waiting, key=lambda c: waiting[c])
    at = open_page("overview", campaigns=str(busiest))
    tiles = {unescape(m.label): m.value for m in at.metric}
    assert tiles["Calls waiting"] == str(waiting[busiest])
    at.multiselect(key=SCOPE).unselect(busiest).run()
    tiles = {unescape(m.label): m.value for m in at.metric}
    assert tiles["Calls waiting"] == str(sum(waiting.values()))


def test_an_unknown_or_bad_scope_in_a_link_is_kept_visible_or_noted(
    app_tenant: RunningSimulator,
) -> None:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.query_params.update(campaigns="999999,abc")
    at.run()
    assert not at.exception
    assert at.multiselect(key=SCOPE).value == [999999]  # a campaign that is gone still shows
    assert "Campaigns: ignored campaigns=abc (campaign ids are numbers)." in captions(at)
    assert at.query_params["campaigns"] == "999999"


def test_the_wall_link_starts_from_the_pages_scope_and_the_wall_reads_it(
    app_tenant: RunningSimulator,
) -> None:
    first = sorted(campaign_ids(app_tenant))[0]
    at = open_page("wall_link", campaigns=str(first))
    assert at.multiselect[-1].value == [first]
    # the wall reads the pages' parameter whichever way it is written
    repeated = parse_wall_params({"campaigns": ["3", "1,3"]}, WallConfig())
    assert repeated.campaigns == (3, 1)


# --- the time range ---------------------------------------------------------------------------


def test_the_time_range_is_kept_in_the_url_and_across_page_changes(
    app_tenant: RunningSimulator,
) -> None:
    at = open_page("wait_times", window="yesterday", compare="week")
    assert not at.exception
    assert at.selectbox(key=WINDOW).value == "yesterday"
    assert at.selectbox(key=COMPARE).value == "week"
    assert at.query_params == {"window": "yesterday", "compare": "week"}

    at.selectbox(key=WINDOW).set_value("custom").run()
    assert not at.exception
    since, until = at.query_params["since"], at.query_params["until"]
    assert at.query_params["window"] == "custom"
    assert datetime.fromisoformat(since) < datetime.fromisoformat(until)

    at.query_params.clear()
    open_page("drilldown", at)
    assert not at.exception
    assert at.selectbox(key=WINDOW).value == "custom"
    assert at.query_params["since"] == since and at.query_params["until"] == until
    assert at.query_params["compare"] == "week"  # kept for the pages that compare

    at.selectbox(key=WINDOW).set_value("today").run()
    assert "window" not in at.query_params and "since" not in at.query_params


def test_a_bad_range_in_a_link_says_so_and_shows_today(app_tenant: RunningSimulator) -> None:
    at = open_page("wait_times", window="custom", since="2026-01-01T09:00", until="tea time")
    assert not at.exception
    notes = captions(at)
    assert "Ignored until='tea time': use YYYY-MM-DDTHH:MM (local time)." in notes
    assert "A custom range needs since= and until=: showing today." in notes
    assert "window" not in at.query_params


# --- past days, from the history store --------------------------------------------------------


@pytest.fixture
def yesterday(app_env: Path, app_tenant: RunningSimulator) -> Iterator[pd.DataFrame]:
    """The tenant's day so far, copied to yesterday in the app's history file (new ids), and
    its campaign statistics once an hour through yesterday, before the app opens the file."""
    now = datetime.now(UTC)
    today0 = start_of_day(now, afternoon_zone())
    with IpscapeClient(demo_settings(app_tenant.api_root)) as client:
        items = feeds.fetch_activity_items(client, since=today0)
    moved = frames.activities_frame(items)
    for column in ("created_at", "queued_at", "answered_at", "hangup_at"):
        moved[column] = moved[column] - pd.Timedelta(days=1)
    moved["activity_id"] = moved["activity_id"] + 10**9
    names = campaign_ids(app_tenant)
    store = SQLiteHistory(app_env.parent / "history.sqlite", 7)
    try:
        store.append_activities(moved)
        for hour in range(24):  # yesterday's staffing: one more agent at work each hour
            working = pd.DataFrame(
                {"state": pd.array(["Busy"] * hour + ["LoggedOut"] * 3, dtype="string")}
            )
            store.append_agent_states(
                working, today0 - timedelta(days=1) + timedelta(hours=hour, minutes=30)
            )
        for hour in range(24):
            store.append_campaigns(
                pd.DataFrame(
                    {
                        "campaign_id": pd.array(list(names), dtype="Int64"),
                        "campaign_name": pd.array(list(names.values()), dtype="string"),
                        "ewt_s": pd.array([float(hour)] * len(names), dtype="Float64"),
                        "max_wait_s": pd.array([None] * len(names), dtype="Float64"),
                        "calls_waiting": pd.array([hour % 5] * len(names), dtype="Int64"),
                        "agents_available": pd.array([1] * len(names), dtype="Int64"),
                    }
                ),
                today0 - timedelta(days=1) + timedelta(hours=hour, minutes=30),
            )
    finally:
        store.close()
    yield moved


def test_yesterday_is_drawn_from_the_history_store(
    yesterday: pd.DataFrame, app_tenant: RunningSimulator
) -> None:
    at = open_page("wait_times", window="yesterday")
    assert not at.exception
    trend = chart(at, "trend-ewt_s")
    assert trend["data"], "yesterday's history is drawn"
    assert all(len(trace["y"]) == 24 for trace in trend["data"])
    assert sorted(trend["data"][0]["y"]) == [float(h) for h in range(24)]

    today0 = start_of_day(datetime.now(UTC), afternoon_zone())
    expected = metrics.service_level_trend(
        yesterday,
        target_s=20,
        tz=afternoon_zone(),
        since=today0 - timedelta(days=1),
        until=today0,
    )
    sl = chart(at, "service-level-trend")
    line = next(t for t in sl["data"] if t["name"] == "Service level %")
    drawn = pd.array(line["y"], dtype="Float64")
    assert len(drawn) == len(expected) == 96
    assert drawn.dropna().tolist() == pytest.approx(expected["service_level_pct"].dropna().tolist())


def test_today_compared_with_yesterday_draws_yesterday_over_the_same_clock_times(
    yesterday: pd.DataFrame, app_tenant: RunningSimulator
) -> None:
    at = open_page("wait_times", compare="yesterday")
    assert not at.exception
    trend = chart(at, "trend-ewt_s")
    earlier = [t for t in trend["data"] if t["name"].endswith("(yesterday)")]
    assert earlier, "the comparison lines are drawn"
    today = datetime.now(UTC).astimezone(start_of_day(datetime.now(UTC), afternoon_zone()).tzinfo)
    assert all(x.startswith(today.date().isoformat()) for t in earlier for x in t["x"])
    sl = chart(at, "service-level-trend")
    assert any(t["name"] == "Service level % (yesterday)" for t in sl["data"])


def test_the_drill_down_lists_yesterday_from_history_within_the_scope(
    yesterday: pd.DataFrame, app_tenant: RunningSimulator
) -> None:
    campaign = int(yesterday["campaign_id"].dropna().mode().iloc[0])
    at = open_page("drilldown", window="yesterday", campaigns=str(campaign))
    assert not at.exception
    shown = at.dataframe[0].value
    expected = yesterday[(yesterday["campaign_id"] == campaign).fillna(False)]
    assert len(shown) == len(expected) > 0
    assert set(shown["Activity"].astype(str)) == {str(i) for i in expected["activity_id"]}


def test_a_custom_range_older_than_history_says_so_and_shows_today(
    app_tenant: RunningSimulator,
) -> None:
    at = open_page(
        "wait_times", window="custom", since="2020-01-01T00:00", until="2020-01-02T00:00"
    )
    assert not at.exception
    assert any(n.startswith("History reaches back to ") for n in captions(at))
    assert at.selectbox(key=WINDOW).value == "today" and "window" not in at.query_params


def test_the_agents_page_compares_todays_states_with_yesterdays_staffing(
    yesterday: pd.DataFrame, app_tenant: RunningSimulator
) -> None:
    at = open_page("agents", compare="yesterday")
    assert not at.exception
    assert at.selectbox(key=COMPARE).value == "yesterday"
    trend = chart(at, "agent-state-trend")
    (earlier,) = [t for t in trend["data"] if t["name"] == "Logged in (yesterday)"]
    # yesterday up to this clock time: hours 1, 2, ... (the hour with nobody at work has no row)
    local = datetime.now(UTC).astimezone(start_of_day(datetime.now(UTC), afternoon_zone()).tzinfo)
    passed = [h for h in range(1, 24) if h * 60 + 30 < local.hour * 60 + local.minute]
    assert earlier["y"] == [float(h) for h in range(1, len(earlier["y"]) + 1)]
    assert abs(len(earlier["y"]) - len(passed)) <= 1  # the clock may pass a half hour meanwhile
    at.selectbox(key=WINDOW).set_value("yesterday").run()
    trend = chart(at, "agent-state-trend")
    busy = next(t for t in trend["data"] if t["name"] == "Busy")
    assert len(busy["y"]) == 23 and max(busy["y"]) == 23.0
