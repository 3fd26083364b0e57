"""The simulated tenant over real HTTP: auth, shapes, pagination, spec, faults, dynamics."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ipscape.simulator import SCALES, RunningSimulator, SimulatorConfig
from ipscape.simulator.names import HOSTILE_NAMES

REPO = Path(__file__).resolve().parents[1]
STATUSES = {"Answered", "Abandoned", "Voicemail", "Transferred", "In Queue", "In Progress"}
DIAL_STATUSES = {"Connected", "No Answer", "Busy", "Invalid Number", "Voicemail"}
AGENT_STATES = {"Available", "Busy", "Wrap", "Paused", "Dialling", "LoggedOut"}
SUMMARIES = {
    "List of activities": ("get", "listActivities"),
    "Activity details": ("get", "getActivity"),
    "Campaign Statistics": ("get", "getCampaignStatistics"),
    "List of campaigns": ("get", "listCampaigns"),
    "Agent status": ("get", "getAgentStatus"),
    "Download media": ("get", "getMedia"),
    "Create lead": ("post", "createLead"),
    "Update lead": ("put", "updateLead"),
}


def api(sim: RunningSimulator, key: int = 0) -> httpx.Client:
    return httpx.Client(base_url=sim.api_root, auth=(sim.token, sim.keys[key]), timeout=30)


def all_pages(client: httpx.Client, first: str) -> tuple[list[dict[str, Any]], int]:
    """Items of every page (following nextUri) and the number of pages."""
    items: list[dict[str, Any]] = []
    url: str | None = first
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        url = body["metadata"]["nextUri"]
        pages += 1
        if url:
            assert url.startswith("/v3.0/"), url
    return items, pages


def parse_activity_ts(value: str) -> datetime:
    assert value[-5] in "+-" and ":" not in value[-5:], value  # colon-less offset
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


@pytest.fixture(scope="module")
def shared_activities(shared_simulator: RunningSimulator) -> list[dict[str, Any]]:
    with api(shared_simulator) as client:
        return all_pages(client, "/v3.0/activities")[0]


# ---- auth -------------------------------------------------------------------------------


def test_requests_without_credentials_are_refused_with_a_basic_challenge(shared_simulator):
    response = httpx.get(shared_simulator.api_root + "/v3.0/campaigns")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "auth", [("demo-token", "wrong-key"), ("other-token", "demo-key-1"), ("demo-token", "")]
)
def test_wrong_token_or_key_is_refused_without_echoing_it(shared_simulator, auth):
    response = httpx.get(shared_simulator.api_root + "/v3.0/campaigns", auth=auth)
    assert response.status_code == 401
    assert auth[1] not in response.text or not auth[1]
    assert "demo-token" not in response.text


@pytest.mark.parametrize("key", [0, 1])
def test_either_key_is_accepted(shared_simulator, key):
    with api(shared_simulator, key) as client:
        assert client.get("/v3.0/campaigns").status_code == 200


def test_revoked_key_is_refused_while_the_other_still_works(simulator):
    simulator.inject({"kind": "revoke_key", "key": "demo-key-1"})
    with api(simulator, 0) as first, api(simulator, 1) as second:
        assert first.get("/v3.0/campaigns").status_code == 401
        assert first.get("/v3.0/campaigns").status_code == 401
        assert second.get("/v3.0/campaigns").status_code == 200
        simulator.clear_faults()
        assert first.get("/v3.0/campaigns").status_code == 200


def test_spec_document_is_served_without_auth(shared_simulator):
    assert httpx.get(shared_simulator.api_root + "/platform-api.yaml").status_code == 200


# ---- shapes -----------------------------------------------------------------------------


def test_the_day_so_far_is_already_there(shared_activities):
    statuses = {a["data"]["activityStatusName"] for a in shared_activities}
    assert len(shared_activities) > 300
    assert {"Answered", "Abandoned", "Voicemail", "Transferred"} <= statuses
    assert statuses <= STATUSES
    assert {a["type"] for a in shared_activities} == {"call.inbound", "call.outbound"}


def test_activities_are_ordered_by_created_then_id(shared_activities):
    keys = [
        (parse_activity_ts(a["data"]["timestamps"]["created"]), a["data"]["activityId"])
        for a in shared_activities
    ]
    assert keys == sorted(keys)
    assert len({k[1] for k in keys}) == len(keys)


def test_inbound_activity_has_every_contract_field(shared_activities):
    inbound = [a["data"] for a in shared_activities if a["type"] == "call.inbound"]
    fields = {
        "activityId", "parentActivityId", "rootActivityId", "activityStatusId",
        "activityStatusName", "source", "destination", "campaignId", "campaignName",
        "agentInteractionId", "agentId", "agentFullName", "wrapCode", "wrapDescription",
        "recordingStatus", "recordingMetadata", "voicemailMetadata", "survey", "callQualityScore",
        "durations", "timestamps",
    }  # fmt: skip
    for data in inbound:
        assert fields <= data.keys()
        assert set(data["durations"]) == {"ivr", "queue", "hold", "interaction", "wrap", "talk"}
        assert set(data["timestamps"]) == {"created", "joinQueue", "answered", "hangUp", "wrapUp"}
        assert set(data["survey"]) == {"started", "startTimestamp", "workflowId", "workflowName"}
        assert data["source"].startswith("+")
        assert isinstance(data["voicemailMetadata"], list)
        parse_activity_ts(data["timestamps"]["created"])
    answered = [d for d in inbound if d["activityStatusName"] == "Answered" and d["wrapCode"]]
    assert answered and all(isinstance(d["agentId"], int) for d in answered)
    recorded = [d for d in answered if d["recordingMetadata"]]
    assert recorded
    assert set(recorded[0]["recordingMetadata"]) == {"mediaId", "mediaUri", "duration", "deleted"}
    assert any(d["recordingMetadata"] is None for d in answered)


def test_abandoned_calls_have_no_agent_and_no_wrap(shared_activities):
    abandoned = [
        a["data"]
        for a in shared_activities
        if a["type"] == "call.inbound" and a["data"]["activityStatusName"] == "Abandoned"
    ]
    assert abandoned
    for data in abandoned:
        assert data["agentId"] is None and data["agentFullName"] is None
        assert data["wrapCode"] is None and data["recordingMetadata"] is None


def test_voicemails_carry_media_metadata(shared_activities):
    voicemails = [a["data"] for a in shared_activities if a["data"]["voicemailMetadata"]]
    assert len(voicemails) >= 3
    for data in voicemails:
        (meta,) = data["voicemailMetadata"]
        assert meta["mediaUri"] == f"/v3.0/media/{meta['mediaId']}"
        assert 5 <= meta["duration"] <= 61
        assert data["activityStatusName"] == "Voicemail"


def test_transfer_children_point_to_first_leg_and_root(shared_activities):
    by_id = {a["data"]["activityId"]: a["data"] for a in shared_activities}
    children = [d for d in by_id.values() if d["parentActivityId"] is not None]
    assert children
    for child in children:
        parent = by_id[child["parentActivityId"]]
        assert parent["activityStatusName"] == "Transferred"
        assert child["rootActivityId"] == parent["rootActivityId"]
        assert child["source"] == parent["source"]
    for data in by_id.values():
        if data["parentActivityId"] is None:
            assert data["rootActivityId"] == data["activityId"]


def test_outbound_attempts_carry_lead_and_dial_fields(shared_activities):
    outbound = [a["data"] for a in shared_activities if a["type"] == "call.outbound"]
    assert outbound
    for data in outbound:
        assert {"attemptId", "leadId", "phoneIndex", "phoneNumber", "durations", "timestamps"} <= (
            data.keys()
        )
        assert data["phoneIndex"] in (1, 2, 3)
        assert data["dialStatusName"] in DIAL_STATUSES | {None}
        assert "dial" in data["durations"] and "interaction" in data["durations"]
    assert {d["dialStatusName"] for d in outbound} >= {"Connected", "No Answer"}


def test_activity_details_returns_the_item_or_404(shared_simulator, shared_activities):
    first = shared_activities[0]
    with api(shared_simulator) as client:
        response = client.get(f"/v3.0/activities/{first['data']['activityId']}")
        assert response.json() == first
        assert client.get("/v3.0/activities/1").status_code == 404
        assert client.get("/v3.0/activities/not-a-number").status_code == 404


def test_campaigns_list_has_inbound_and_outbound(shared_simulator):
    with api(shared_simulator) as client:
        items, _ = all_pages(client, "/v3.0/campaigns")
    assert len(items) == 6
    for item in items:
        assert set(item) == {"campaignId", "campaignName", "campaignType", "isActive"}
    assert {i["campaignType"] for i in items} == {"inbound", "outbound"}


def test_campaign_statistics_has_the_documented_fields(shared_simulator):
    with api(shared_simulator) as client:
        hour = client.get("/v3.0/campaigns/101/statistics").json()
        day = client.get("/v3.0/campaigns/101/statistics", params={"period": "day"}).json()
        assert client.get("/v3.0/campaigns/101/statistics?period=week").status_code == 400
        assert client.get("/v3.0/campaigns/999/statistics").status_code == 404
    expected = {
        "campaignId", "campaignName", "estimatedCallWaitingTime", "maxCallWaitingTime",
        "averageWaitingTime", "callsWaiting", "callsReceived", "callsAbandonedInWorkflow",
        "callsAbandonedInQueue", "callsAnswered", "agents", "isActive", "lists", "createdDate",
        "lastUpdated", "timestamp", "timezone",
    }  # fmt: skip
    assert set(hour) == expected
    assert set(hour["agents"]) == {"loggedIn", "available", "busy", "wrap", "paused"}
    assert hour["timezone"] == "Australia/Sydney"
    assert hour["timestamp"][-3] == ":"  # colon offset
    datetime.fromisoformat(hour["timestamp"])
    assert day["callsReceived"] >= hour["callsReceived"]
    assert day["callsReceived"] > 100
    assert day["callsAnswered"] + day["callsAbandonedInQueue"] <= day["callsReceived"]


def test_agent_status_items_and_campaign_filter(shared_simulator):
    with api(shared_simulator) as client:
        agents, _ = all_pages(client, "/v3.0/agents/status")
        sales, _ = all_pages(client, "/v3.0/agents/status?campaignId=101")
    assert len(agents) == 40
    for agent in agents:
        assert set(agent) == {
            "agentId", "agentFullName", "state", "stateSince", "pauseReason", "campaignIds"
        }  # fmt: skip
        assert agent["state"] in AGENT_STATES
        assert 1 <= len(agent["campaignIds"]) <= 3
        if agent["state"] == "Paused":
            assert agent["pauseReason"]["title"] in {"Break", "Lunch", "Meeting", "Training"}
        else:
            assert agent["pauseReason"] is None
    assert {a["state"] for a in agents} >= {"Busy"}
    assert sales and all(101 in a["campaignIds"] for a in sales)
    assert len(sales) < len(agents)


def test_media_is_a_small_wav(shared_simulator, shared_activities):
    media_id = next(
        a["data"]["voicemailMetadata"][0]["mediaId"]
        for a in shared_activities
        if a["data"]["voicemailMetadata"]
    )
    with api(shared_simulator) as client:
        response = client.get(f"/v3.0/media/{media_id}")
        assert client.get("/v3.0/media/1").status_code == 404
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        assert 0 < audio.getnframes() <= 3 * audio.getframerate()
    assert len(response.content) < 50_000


# ---- pagination and filters -------------------------------------------------------------


def test_pagination_covers_everything_once(shared_simulator, shared_activities):
    with api(shared_simulator) as client:
        items, pages = all_pages(client, "/v3.0/activities")
    assert pages > 1
    assert items == shared_activities
    assert len({i["data"]["activityId"] for i in items}) == len(items)


def test_next_uri_keeps_the_filters(shared_simulator):
    with api(shared_simulator) as client:
        first = client.get("/v3.0/activities?campaignId=101").json()
        next_uri = first["metadata"]["nextUri"]
        assert next_uri.startswith("/v3.0/activities?") and "campaignId=101" in next_uri
        items, pages = all_pages(client, "/v3.0/activities?campaignId=101")
    assert pages > 1
    assert {i["data"]["campaignId"] for i in items} == {101}


def test_campaign_filter_matches_unfiltered_listing(shared_simulator, shared_activities):
    with api(shared_simulator) as client:
        items, _ = all_pages(client, "/v3.0/activities?campaignId=102")
    assert items == [a for a in shared_activities if a["data"]["campaignId"] == 102]


def test_activity_type_filter(shared_simulator, shared_activities):
    with api(shared_simulator) as client:
        items, _ = all_pages(client, "/v3.0/activities?activityType=call.outbound")
        none, _ = all_pages(client, "/v3.0/activities?activityType=sms.inbound")
    assert items == [a for a in shared_activities if a["type"] == "call.outbound"]
    assert none == []


def test_lead_filter_lists_that_leads_attempts(shared_simulator, shared_activities):
    lead_id = next(a["data"]["leadId"] for a in shared_activities if a["type"] == "call.outbound")
    with api(shared_simulator) as client:
        items, _ = all_pages(client, f"/v3.0/activities?leadId={lead_id}")
    assert items == [a for a in shared_activities if a["data"].get("leadId") == lead_id]


@pytest.mark.parametrize("style", ["colon-less", "colon", "zulu", "unencoded-plus"])
def test_created_window_is_inclusive_and_accepts_iso_variants(
    shared_simulator, shared_activities, style
):
    start = parse_activity_ts(shared_activities[150]["data"]["timestamps"]["created"])
    end = start + timedelta(minutes=20)
    expected = [
        a
        for a in shared_activities
        if start <= parse_activity_ts(a["data"]["timestamps"]["created"]) <= end
    ]
    fmt = {
        "colon-less": lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "colon": lambda d: d.isoformat(),
        "zulu": lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "unencoded-plus": lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }[style]
    with api(shared_simulator) as client:
        if style == "unencoded-plus":
            url = (
                f"/v3.0/activities?createdTimestampFrom={fmt(start)}&createdTimestampTo={fmt(end)}"
            )
            items, _ = all_pages(client, url)
        else:
            query = httpx.QueryParams(
                {"createdTimestampFrom": fmt(start), "createdTimestampTo": fmt(end)}
            )
            items, _ = all_pages(client, f"/v3.0/activities?{query}")
    assert expected and items == expected


def test_bad_filters_are_400(shared_simulator):
    with api(shared_simulator) as client:
        assert client.get("/v3.0/activities?createdTimestampFrom=yesterday").status_code == 400
        assert client.get("/v3.0/activities?campaignId=abc").status_code == 400
        assert client.get("/v3.0/activities?cursor=%%%").status_code == 400


# ---- spec and discovery -----------------------------------------------------------------


def _spec(sim: RunningSimulator) -> dict[str, Any]:
    return yaml.safe_load(httpx.get(sim.api_root + "/platform-api.yaml").text)


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        op["summary"]: (method, path, op["operationId"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }


def test_spec_lists_exactly_the_served_operations(shared_simulator):
    spec = _spec(shared_simulator)
    assert spec["openapi"].startswith("3.")
    (server,) = spec["servers"]
    assert server["url"] == "https://{subdomain}.ipscape.com.au/platform-api"
    assert server["variables"]["subdomain"]["default"] == "demo"
    operations = _operations(spec)
    assert {s: (m, i) for s, (m, _p, i) in operations.items()} == SUMMARIES
    assert operations["Campaign Statistics"][1] == "/v3.0/campaigns/{campaignId}/statistics"


def test_path_override_is_served_and_described(sim_factory):
    sim = sim_factory(path_overrides={"campaign_statistics": "/v3.0/stats/{campaignId}"})
    assert _operations(_spec(sim))["Campaign Statistics"][1] == "/v3.0/stats/{campaignId}"
    with api(sim) as client:
        assert client.get("/v3.0/stats/101").json()["campaignId"] == 101
        assert client.get("/v3.0/campaigns/101/statistics").status_code == 404
    assert sim.stats()["requests"]["GET /v3.0/stats/{campaignId}"] == 1


def test_omitted_operation_is_neither_served_nor_described(sim_factory):
    sim = sim_factory(omit_operations=frozenset({"agent_status"}))
    assert "Agent status" not in _operations(_spec(sim))
    with api(sim) as client:
        assert client.get("/v3.0/agents/status").status_code == 404
        assert client.get("/v3.0/campaigns").status_code == 200


def test_unknown_operation_names_are_rejected():
    with pytest.raises(ValueError):
        SimulatorConfig(omit_operations=frozenset({"agents"}))


# ---- request counting -------------------------------------------------------------------


def test_stats_count_requests_by_template_including_refusals(simulator):
    simulator.reset_stats()
    with api(simulator) as client:
        client.get("/v3.0/campaigns/101/statistics")
        client.get("/v3.0/campaigns/102/statistics")
        client.get("/v3.0/activities")
    httpx.get(simulator.api_root + "/v3.0/campaigns")  # 401, still upstream load
    stats = simulator.stats()
    assert stats["requests"] == {
        "GET /v3.0/campaigns/{campaignId}/statistics": 2,
        "GET /v3.0/activities": 1,
        "GET /v3.0/campaigns": 1,
    }
    assert stats["total"] == 4
    simulator.reset_stats()
    assert simulator.stats()["total"] == 0


# ---- faults -----------------------------------------------------------------------------


def test_status_fault_with_retry_after_fires_count_times(simulator):
    simulator.inject({"kind": "status", "status": 429, "retry_after": "7", "count": 2})
    with api(simulator) as client:
        first = client.get("/v3.0/campaigns")
        second = client.get("/v3.0/campaigns")
        third = client.get("/v3.0/campaigns")
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "7"
    assert simulator.stats()["requests"]["GET /v3.0/campaigns"] == 3


def test_fault_without_count_lasts_until_cleared(simulator):
    simulator.inject({"kind": "status", "status": 503})
    with api(simulator) as client:
        assert [client.get("/v3.0/campaigns").status_code for _ in range(3)] == [503] * 3
        simulator.clear_faults()
        assert client.get("/v3.0/campaigns").status_code == 200


def test_fault_match_glob_limits_it_to_matching_paths(simulator):
    simulator.inject({"kind": "status", "status": 500, "match": "/v3.0/campaigns/*/statistics"})
    with api(simulator) as client:
        assert client.get("/v3.0/campaigns/101/statistics").status_code == 500
        assert client.get("/v3.0/campaigns").status_code == 200
        assert client.get("/v3.0/activities").status_code == 200


def test_faults_apply_after_the_auth_check(simulator):
    simulator.inject({"kind": "status", "status": 500, "count": 1})
    assert httpx.get(simulator.api_root + "/v3.0/campaigns").status_code == 401
    with api(simulator) as client:
        assert client.get("/v3.0/campaigns").status_code == 500


def test_truncated_malformed_and_wrong_shape_bodies(simulator):
    simulator.inject(
        {"kind": "truncate", "count": 1},
        {"kind": "malformed", "count": 1},
        {"kind": "wrong_shape", "count": 1},
        {"kind": "wrong_shape", "count": 1},
    )
    with api(simulator) as client:
        truncated = client.get("/v3.0/activities")
        malformed = client.get("/v3.0/activities")
        wrong_list = client.get("/v3.0/activities")
        wrong_object = client.get("/v3.0/campaigns/101/statistics")
    assert truncated.status_code == 200
    assert truncated.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        truncated.json()
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    assert wrong_list.json() == {"unexpected": True}
    assert isinstance(wrong_object.json(), list)


def test_drop_closes_the_connection_without_a_response(simulator):
    simulator.inject({"kind": "drop", "count": 1})
    with api(simulator) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v3.0/campaigns")
        assert client.get("/v3.0/campaigns").status_code == 200


def test_slow_fault_delays_one_request_without_blocking_others(simulator):
    simulator.inject({"kind": "slow", "delay_s": 1.5, "count": 1, "match": "/v3.0/activities"})
    finished: list[str] = []
    slow_status: list[int] = []

    def slow_call() -> None:
        with api(simulator) as client:
            slow_status.append(client.get("/v3.0/activities").status_code)
        finished.append("slow")

    thread = threading.Thread(target=slow_call)
    thread.start()
    try:
        # The slow request is counted before it sleeps; wait for it to be in flight.
        while simulator.stats()["requests"].get("GET /v3.0/activities", 0) == 0:
            time.sleep(0.01)
        with api(simulator) as client:
            assert client.get("/v3.0/campaigns").status_code == 200
        finished.append("fast")
    finally:
        thread.join()
    assert finished == ["fast", "slow"]
    assert slow_status == [200]


def test_faults_can_be_listed_and_bad_faults_rejected(simulator):
    simulator.inject({"kind": "status", "status": 500, "count": 3})
    listed = httpx.get(simulator.url + "/_simulator/faults").json()["faults"]
    assert listed == [{"kind": "status", "status": 500, "count": 3}]
    response = httpx.post(simulator.url + "/_simulator/faults", json={"faults": [{"kind": "x"}]})
    assert response.status_code == 400


# ---- dynamics ---------------------------------------------------------------------------


def test_advance_moves_the_clock_and_the_centre(simulator):
    before = simulator.state()
    simulator.advance(1800)
    after = simulator.state()
    assert datetime.fromisoformat(after["now"]) - datetime.fromisoformat(
        before["now"]
    ) == timedelta(seconds=1800)
    assert after["activities"] > before["activities"] + 50


def test_calls_in_queue_later_get_an_outcome(simulator):
    with api(simulator) as client:
        queued = [
            a["data"]["activityId"]
            for a in all_pages(client, "/v3.0/activities")[0]
            if a["data"]["activityStatusName"] == "In Queue"
        ]
        assert queued
        simulator.advance(3600)
        later = [client.get(f"/v3.0/activities/{i}").json()["data"] for i in queued]
    assert all(
        d["activityStatusName"] in {"Answered", "Abandoned", "Voicemail", "Transferred"}
        for d in later
    )


def test_surge_raises_calls_waiting_and_ewt(simulator):
    with api(simulator) as client:
        before = client.get("/v3.0/campaigns/102/statistics").json()
        simulator.surge(102, 40)
        after = client.get("/v3.0/campaigns/102/statistics").json()
    assert after["callsWaiting"] >= before["callsWaiting"] + 40 - before["agents"]["available"]
    assert after["estimatedCallWaitingTime"] > before["estimatedCallWaitingTime"]


def test_same_seed_gives_the_same_tenant(sim_factory):
    first, second = sim_factory(seed=5), sim_factory(seed=5)
    other = sim_factory(seed=6)
    for sim in (first, second, other):
        sim.advance(900)
        sim.advance(450)
    snapshots = []
    for sim in (first, second, other):
        with api(sim) as client:
            snapshots.append(
                (
                    all_pages(client, "/v3.0/activities")[0],
                    all_pages(client, "/v3.0/agents/status")[0],
                    client.get("/v3.0/campaigns/101/statistics?period=day").json(),
                )
            )
    assert snapshots[0] == snapshots[1]
    assert snapshots[0][0] != snapshots[2][0]


def test_advancing_in_steps_equals_one_jump(sim_factory):
    steps, jump = sim_factory(seed=3), sim_factory(seed=3)
    for _ in range(6):
        steps.advance(300)
    jump.advance(1800)
    with api(steps) as a, api(jump) as b:
        assert all_pages(a, "/v3.0/activities")[0] == all_pages(b, "/v3.0/activities")[0]


def test_hostile_names_appear_when_enabled(sim_factory):
    sim = sim_factory(hostile_names=True)
    with api(sim) as client:
        agents = {a["agentFullName"] for a in all_pages(client, "/v3.0/agents/status")[0]}
        campaigns = {c["campaignName"] for c in all_pages(client, "/v3.0/campaigns")[0]}
    assert set(HOSTILE_NAMES) <= agents
    assert "<script>alert(1)</script>" in campaigns
    assert any(len(n) == 300 for n in agents)


def test_scales_grow(sim_factory):
    assert SCALES["large"] == {"campaigns": 50, "agents": 500, "calls_per_day": 50_000}
    sim = sim_factory(**SCALES["medium"])
    with api(sim) as client:
        assert len(all_pages(client, "/v3.0/campaigns")[0]) == 20


# ---- leads ------------------------------------------------------------------------------


def test_lead_create_update_and_dialling(simulator):
    with api(simulator) as client:
        outbound = next(
            c["campaignId"]
            for c in client.get("/v3.0/campaigns").json()["items"]
            if c["campaignType"] == "outbound"
        )
        body = {
            "campaignId": outbound,
            "listId": 1,
            "customerKey": "C-1",
            "phone1": "+61400000001",
            "phone2": "+61400000002",
            "phone3": "+61400000003",
            "timezone": "Australia/Perth",
            "leadData": {"plan": "gold"},
        }
        created = client.post("/v3.0/leads", json=body)
        assert created.status_code == 201
        lead = created.json()
        assert lead == {"leadId": lead["leadId"], **body}
        updated = client.put(f"/v3.0/leads/{lead['leadId']}", json={"customerKey": "C-2"})
        assert updated.status_code == 200
        assert updated.json() == {**lead, "customerKey": "C-2"}
        simulator.advance(3 * 3600)
        attempts, _ = all_pages(client, f"/v3.0/activities?leadId={lead['leadId']}")
    assert attempts
    assert all(a["type"] == "call.outbound" for a in attempts)
    assert attempts[0]["data"]["phoneIndex"] == 1
    assert attempts[0]["data"]["phoneNumber"] == "+61400000001"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        "text",
        {"listId": 1},
        {"campaignId": 105, "phone1": 61400000001},
        {"campaignId": "105"},
        {"campaignId": 99999},
    ],
)
def test_invalid_lead_bodies_are_400(shared_simulator, body):
    with api(shared_simulator) as client:
        assert client.post("/v3.0/leads", json=body).status_code == 400


def test_updating_an_unknown_lead_is_404(shared_simulator):
    with api(shared_simulator) as client:
        assert client.put("/v3.0/leads/1", json={"customerKey": "x"}).status_code == 404


# ---- CLI --------------------------------------------------------------------------------


def test_cli_starts_and_prints_the_api_root(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipscape.simulator",
            "--port",
            str(port),
            "--seed",
            "1",
            "--start-time",
            "11:00",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        root = f"http://127.0.0.1:{port}/platform-api"
        assert f"IPSCAPE_BASE_URL={root}" in line
        assert "token=demo-token" in line and "keys=demo-key-1,demo-key-2" in line
        response = httpx.get(root + "/v3.0/campaigns", auth=("demo-token", "demo-key-2"))
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_an_agent_not_yet_logged_in_today_has_no_state_since() -> None:
    """A day-off agent has never changed state: null, not the epoch (which a dashboard would
    read as 56 years in the same state)."""
    from ipscape.frames import parse_timestamp
    from ipscape.simulator.model import ContactCentre

    centre = ContactCentre(SimulatorConfig(speed=0, agents=60))
    statuses = [agent.status(centre.tz) for agent in centre.agents]
    never = [s for s in statuses if s["stateSince"] is None]
    assert never and all(s["state"] == "LoggedOut" for s in never)
    midnight = datetime.fromtimestamp(centre.day_start, UTC)
    for status in statuses:
        if status["stateSince"] is not None:
            assert parse_timestamp(status["stateSince"]) >= midnight, status
