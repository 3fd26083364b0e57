"""Every page, run with streamlit's AppTest against a simulated tenant over real HTTP.

The app reaches the simulator through the IPSCAPE_* environment variables, exactly as it would
reach a real tenant; expected numbers are read from the simulator's API directly. The pollers are
process-wide, so each test resets them (closing the previous LiveData) before and after.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.presentation.formats import duration
from ipscape.simulator import RunningSimulator
from tests.app_support import api, open_page, point_app_at, unescape
from ui import runtime

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
RUN_TIMEOUT = 60
PAGES = {
    "overview": "Overview",
    "wait_times": "Wait times",
    "agents": "Agents",
    "voicemail": "Voicemail",
    "transfers": "Transfers",
    "drilldown": "Drill-down",
}


def active_stats(sim: RunningSimulator) -> list[dict[str, Any]]:
    campaigns = [c for c in api(sim, "/v3.0/campaigns") if c.get("isActive") is not False]
    return [
        api(sim, f"/v3.0/campaigns/{c['campaignId']}/statistics", period="day") for c in campaigns
    ]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


# --- every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_exception_against_the_tenant(
    app_tenant: RunningSimulator, page: str
) -> None:
    at = open_page(page)
    assert not at.exception
    assert not at.error
    assert [t.value for t in at.title] == [PAGES[page]]
    assert any(c.startswith("updated ") for c in captions(at)), "every page shows its data age"
    footer = [c for c in captions(at) if c.startswith("tenant: ")]
    # What the dashboard costs the tenant, against the request budget (600/min by default).
    cost = r"tenant: \d+ req/min of 600 allowed .*\d+ %.*, (\d+|--) ms"
    assert footer and re.match(cost, footer[0])
    assert "Demo data" not in " ".join(m.value for m in at.markdown)


def test_overview_numbers_are_what_the_tenant_reports(app_tenant: RunningSimulator) -> None:
    stats = active_stats(app_tenant)
    at = open_page("overview")
    shown = metrics(at)
    assert shown["Calls waiting"] == str(sum(s["callsWaiting"] for s in stats))
    assert shown["Longest wait"] == duration(max(s["maxCallWaitingTime"] for s in stats))
    assert shown["Max EWT"] == duration(max(s["estimatedCallWaitingTime"] for s in stats))
    agents = api(app_tenant, "/v3.0/agents/status")
    free = sum(a["state"] == "Available" for a in agents)
    logged_in = sum(a["state"] != "LoggedOut" for a in agents)
    assert shown["Agents free / logged in"] == f"{free} / {logged_in}"


def test_overview_lists_every_campaign_worst_first(app_tenant: RunningSimulator) -> None:
    stats = active_stats(app_tenant)
    at = open_page("overview")
    table = at.dataframe[0].value
    assert sorted(table["Campaign"]) == sorted(s["campaignName"] for s in stats)
    rank = {"ALERT ■": 2, "WARN ▲": 1, "OK ✓": 0, "--": -1}
    ranks = [rank[s] for s in table["Status"]]
    assert ranks == sorted(ranks, reverse=True)
    assert set(table["Status"]) <= {"OK ✓", "WARN ▲", "ALERT ■", "--"}


def test_overview_table_keeps_counts_and_durations_as_numbers(app_tenant: RunningSimulator) -> None:
    stats = {s["campaignName"]: s for s in active_stats(app_tenant)}
    table = open_page("overview").dataframe[0].value
    for column in ("EWT", "Longest wait", "Waiting", "Abandoned", "Agents free"):
        assert pd.api.types.is_numeric_dtype(table[column]), (column, table[column].dtype)
    # Sorting a column sorts numbers, and each number is the tenant's own.
    for _, row in table.iterrows():
        s = stats[row["Campaign"]]
        assert row["EWT"] == s["estimatedCallWaitingTime"]
        assert row["Waiting"] == s["callsWaiting"]
    assert pd.api.types.is_integer_dtype(table["Waiting"])


def test_agents_page_counts_states_and_lists_every_agent(app_tenant: RunningSimulator) -> None:
    agents = api(app_tenant, "/v3.0/agents/status")
    at = open_page("agents")
    shown = metrics(at)
    for state in {a["state"] for a in agents}:
        assert shown[state] == str(sum(a["state"] == state for a in agents))
    table = at.dataframe[-1].value
    assert len(table) == len(agents)
    assert sorted(table["Agent"]) == sorted(a["agentFullName"] for a in agents)
    # the intraday trend drawn from the history the agents poller just appended to
    trends = [c for c in at.get("plotly_chart") if "agent-state-trend" in c.proto.spec]
    assert len(trends) == 1
    data = json.loads(trends[0].proto.spec)["data"]
    assert {t["name"]: t["y"][-1] for t in data} == {
        state: sum(a["state"] == state for a in agents) for state in {a["state"] for a in agents}
    }


def test_agents_table_filters_by_state_and_name(app_tenant: RunningSimulator) -> None:
    agents = api(app_tenant, "/v3.0/agents/status")
    busy = sum(a["state"] == "Busy" for a in agents)
    at = open_page("agents")
    at.multiselect(key="agent_states_filter").set_value(["Busy"]).run()
    assert len(at.dataframe[-1].value) == busy
    name = agents[0]["agentFullName"]
    at.multiselect(key="agent_states_filter").set_value([])
    at.text_input(key="agent_search").set_value(name.upper()).run()
    assert name in set(at.dataframe[-1].value["Agent"])


def test_agents_over_the_time_in_state_threshold_are_flagged(
    app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory()
    point_app_at(sim, monkeypatch)
    app_env.write_text(
        app_env.read_text() + "[thresholds.time_in_state_s]\nwarn = 0.0\nalert = 0.0\n"
    )
    try:
        at = open_page("agents")
        flagged, everyone = at.dataframe[0].value, at.dataframe[-1].value
    finally:
        runtime.reset()
    assert set(flagged["Flag"]) == {"ALERT ■"}
    assert len(flagged) == (everyone["State"] != "LoggedOut").sum()
    assert "ALERT ■" in set(everyone["Flag"])


def test_tenant_without_agent_status_falls_back_to_campaign_counts(
    app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(omit_operations={"agent_status"})
    point_app_at(sim, monkeypatch)
    try:
        at = open_page("agents")
        assert not at.exception
        assert "does not offer per-agent status" in at.info[0].value
        table = at.dataframe[0].value
        assert len(table) == len(active_stats(sim))
        assert list(table.columns)[:3] == ["Campaign", "Logged in", "Available"]
    finally:
        runtime.reset()


def test_tenant_settings_from_streamlit_secrets(app_env: Path, simulator: RunningSimulator) -> None:
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.secrets["ipscape"] = {
        "IPSCAPE_BASE_URL": simulator.api_root,
        "IPSCAPE_API_TOKEN": simulator.token,
        "IPSCAPE_SECRET_KEY_1": simulator.keys[0],
    }
    try:
        at.run()
        assert not at.exception and not at.error
        assert not any("Demo data" in m.value for m in at.markdown)
        assert metrics(at)["Calls waiting"] == str(
            sum(s["callsWaiting"] for s in active_stats(simulator))
        )
    finally:
        runtime.reset()


def voicemail_count(sim: RunningSimulator) -> int:
    return sum(
        len(item["data"].get("voicemailMetadata") or [])
        for item in api(sim, "/v3.0/activities")
        if item.get("type") == "call.inbound"
    )


def test_voicemail_page_lists_every_voicemail(app_tenant: RunningSimulator) -> None:
    expected = voicemail_count(app_tenant)
    assert expected > 0
    at = open_page("voicemail")
    assert metrics(at)["Voicemail waiting"] == str(expected)
    assert len(at.dataframe[0].value) == expected


def test_voicemail_plays_through_the_dashboard_not_the_tenant(app_tenant: RunningSimulator) -> None:
    at = open_page("voicemail")
    chooser = at.selectbox(key="vm_play")
    chooser.set_value(chooser.options[1]).run()
    assert not at.exception and not at.error
    # inline, for this session only: no /media URL that outlives it (screens/voicemail.py)
    assert not at.get("audio")
    assert any("<audio controls" in h.proto.body for h in at.get("html"))
    page = str([el.proto for el in at.main if hasattr(el, "proto")])
    assert app_tenant.api_root not in page
    assert app_tenant.keys[0] not in page and app_tenant.token not in page


def test_voicemail_empty_state_is_explicit(
    app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory(calls_per_day=0)
    point_app_at(sim, monkeypatch)
    try:
        at = open_page("voicemail")
        assert not at.exception
        assert [s.value for s in at.success] == ["No voicemail waiting"]
        assert metrics(at)["Voicemail waiting"] == "0"
        assert not at.dataframe
    finally:
        runtime.reset()


def test_transfers_page_counts_transferred_calls(app_tenant: RunningSimulator) -> None:
    expected = sum(
        1 for item in api(app_tenant, "/v3.0/activities") if item["data"].get("parentActivityId")
    )
    at = open_page("transfers")
    assert metrics(at)["Transfers today"] == str(expected)
    assert len(at.dataframe[0].value) == expected
    at.segmented_control(key="transfer_by").set_value("agent").run()
    assert not at.exception


# --- failures -------------------------------------------------------------------------------


def test_tenant_refusing_both_keys_shows_the_error_and_unknown_values(
    app_tenant: RunningSimulator,
) -> None:
    app_tenant.inject(
        {"kind": "revoke_key", "key": app_tenant.keys[0]},
        {"kind": "revoke_key", "key": app_tenant.keys[1]},
    )
    at = open_page("overview")
    assert not at.exception
    errors = [unescape(e.value) for e in at.error]
    assert any(e.startswith("ERROR: The tenant refused the API token") for e in errors)
    assert all(app_tenant.keys[0] not in e for e in errors)
    shown = metrics(at)
    assert shown["Calls waiting"] == "--" and shown["Longest wait"] == "--"
    assert [t.value for t in at.title] == ["Overview"]  # the page kept rendering


def test_failing_tenant_keeps_last_good_data_and_says_from_when(
    app_tenant: RunningSimulator,
) -> None:
    at = open_page("overview")
    before = metrics(at)["Calls waiting"]
    app_tenant.inject({"kind": "status", "status": 503, "match": "*", "count": 1000})
    runtime.live().pollers["campaigns"].refresh()
    at.run()
    assert not at.exception
    errors = [unescape(e.value) for e in at.error]
    assert any(
        re.match(
            r"ERROR: The tenant is failing \(HTTP 503\).* — showing data from \d\d:\d\d:\d\d", e
        )
        for e in errors
    ), errors
    assert metrics(at)["Calls waiting"] == before


def test_partial_tenant_settings_are_a_clear_error(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSCAPE_BASE_URL", "https://acme.ipscape.com.au/platform-api")
    at = open_page("overview")
    assert not at.exception
    (error,) = at.error
    assert "IPSCAPE_API_TOKEN" in unescape(error.value)
    assert "secrets.toml" in unescape(at.info[0].value)
    assert not at.metric  # the page stopped


def test_malformed_dashboard_config_names_the_key(app_env: Path) -> None:
    app_env.write_text("[poll]\ncampaigns_s = 1\n")
    at = open_page("agents")
    assert not at.exception
    (error,) = at.error
    assert "poll.campaigns_s" in unescape(error.value)
    assert "dashboard.toml" in unescape(at.info[0].value)


def test_an_edited_dashboard_toml_applies_on_the_next_rerun(
    app_tenant: RunningSimulator, app_env: Path
) -> None:
    at = open_page("overview")
    assert any(c.startswith("Contact Centre ·") for c in captions(at))
    app_env.write_text('title = "ACME Support"\n' + app_env.read_text())
    os.utime(app_env, ns=(0, app_env.stat().st_mtime_ns + 1_000_000_000))  # coarse clocks
    at.run()
    assert not at.exception
    assert any(c.startswith("ACME Support ·") for c in captions(at))


def test_demo_mode_starts_the_embedded_tenant_and_says_demo_data(app_env: Path) -> None:
    at = open_page("overview")
    assert not at.exception and not at.error
    assert any("Demo data" in m.value for m in at.markdown)
    assert metrics(at)["Calls waiting"] != "--"
    at.switch_page("screens/voicemail.py").run()
    assert any("Demo data" in m.value for m in at.markdown)


# --- page logic (no app) --------------------------------------------------------------------


def test_shipped_dashboard_toml_lists_the_defaults() -> None:
    from dataclasses import replace

    from ipscape.config import DashboardConfig, load_config

    shipped = load_config(ROOT / "dashboard.toml")
    assert replace(shipped, source="defaults") == DashboardConfig()


def test_no_live_page_asks_the_tenant_only_the_collector_does(app_tenant: RunningSimulator) -> None:
    open_page("overview")  # builds the live data; its collector makes the first round
    live = runtime.live()
    assert live.collector is not None
    live.collector.stop()  # from here on, any tenant request would come from a page
    before = app_tenant.stats()["total"]
    for page in (p for p in PAGES if p != "drilldown"):
        at = open_page(page)
        assert not at.exception, page
    wall = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    wall.query_params.update({"kiosk": "1", "rotate": "0"})
    assert not wall.run().exception
    assert app_tenant.stats()["total"] == before


def test_pause_and_refresh_now_on_an_interactive_page(app_tenant: RunningSimulator) -> None:
    at = open_page("overview")
    (pause,) = [t for t in at.toggle if t.key == "live_paused"]
    pause.set_value(True).run()
    assert not at.exception
    assert any("Paused" in c.value for c in at.caption)
    assert at.metric  # the numbers stay on screen
    (refresh,) = [b for b in at.button if b.key == "live_refresh_now"]
    before = app_tenant.stats()["total"]
    refresh.click().run()
    assert not at.exception
    said = [c.value for c in at.caption if "Fetched" in c.value or "nothing to do" in c.value]
    assert said, [c.value for c in at.caption]
    if "Fetched" in said[0]:
        assert app_tenant.stats()["total"] > before  # it went through to the tenant
    else:
        assert app_tenant.stats()["total"] == before  # all fresh: the tenant was not asked
    # the wall has neither: it never pauses
    wall = open_page("wall", kiosk="1")
    assert not [t for t in wall.toggle if t.key == "live_paused"]
