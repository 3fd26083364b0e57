"""The client over real HTTP against the simulator, faults injected through its control API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ipscape.client import IpscapeClient, RetryPolicy
from ipscape.errors import (
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
)
from ipscape.settings import Settings


def client_for(sim, *, keys=None, timeout_s: float = 10.0, **kwargs) -> tuple[IpscapeClient, list]:
    sleeps: list[float] = []
    settings = Settings(sim.api_root, sim.token, tuple(keys or sim.keys), timeout_s=timeout_s)
    return IpscapeClient(settings, sleep=sleeps.append, **kwargs), sleeps


def first_campaign(sim) -> int:
    client, _ = client_for(sim)
    return client.list_campaigns()[0]["campaignId"]


def api_requests(sim, key: str) -> int:
    return sim.stats()["requests"].get(key, 0)


STATS = "GET /v3.0/campaigns/{campaignId}/statistics"


def test_pagination_returns_every_activity_once_across_pages(shared_simulator):
    client, _ = client_for(shared_simulator)
    items = client.list_activities()
    ids = [item["data"]["activityId"] for item in items]
    assert len(ids) > shared_simulator_page_size() * 2  # several pages were followed
    assert len(ids) == len(set(ids))
    campaign = first_campaign(shared_simulator)
    one_campaign = client.list_activities(campaign_id=campaign)
    assert one_campaign and all(i["data"]["campaignId"] == campaign for i in one_campaign)
    assert len(one_campaign) == sum(i["data"]["campaignId"] == campaign for i in items)


def shared_simulator_page_size() -> int:
    from ipscape.simulator import SimulatorConfig

    return SimulatorConfig().page_size


def test_time_window_filters_are_sent_in_ipscape_form(shared_simulator):
    client, _ = client_for(shared_simulator)
    everything = client.list_activities()
    created = sorted(i["data"]["timestamps"]["created"] for i in everything)
    middle = datetime.strptime(created[len(created) // 2], "%Y-%m-%dT%H:%M:%S%z")
    later = client.list_activities(created_from=middle)
    assert 0 < len(later) < len(everything)
    assert all(
        datetime.strptime(i["data"]["timestamps"]["created"], "%Y-%m-%dT%H:%M:%S%z") >= middle
        for i in later
    )


def test_key_two_takes_over_without_a_gap_when_key_one_is_revoked(simulator):
    campaign = first_campaign(simulator)
    client, sleeps = client_for(simulator)
    client.campaign_statistics(campaign)
    simulator.inject({"kind": "revoke_key", "key": simulator.keys[0]})
    assert client.campaign_statistics(campaign)["campaignId"] == campaign
    assert client.key_number == 2 and sleeps == []
    before = api_requests(simulator, STATS)
    client.campaign_statistics(campaign)
    assert api_requests(simulator, STATS) == before + 1  # key 2 is kept: no wasted request


def test_both_keys_revoked_raises_authentication_error(simulator):
    client, _ = client_for(simulator)
    for key in simulator.keys:
        simulator.inject({"kind": "revoke_key", "key": key})
    with pytest.raises(AuthenticationError):
        client.list_campaigns()


def test_429_with_retry_after_is_honoured_then_succeeds(simulator):
    client, sleeps = client_for(simulator)
    simulator.inject({"kind": "status", "status": 429, "retry_after": "3", "count": 2})
    assert client.list_campaigns()
    assert sleeps == [3.0, 3.0]


def test_429_with_a_long_retry_after_gives_up_at_once(simulator):
    client, sleeps = client_for(simulator, retry=RetryPolicy(max_retry_after_s=10))
    simulator.inject({"kind": "status", "status": 429, "retry_after": "120"})
    with pytest.raises(RateLimitedError) as info:
        client.list_campaigns()
    assert info.value.retry_after_s == 120 and sleeps == []


def test_a_burst_of_503_is_ridden_out_by_retries(simulator):
    campaign = first_campaign(simulator)
    client, sleeps = client_for(simulator)
    simulator.inject({"kind": "status", "status": 503, "count": 3})
    assert client.campaign_statistics(campaign)["campaignId"] == campaign
    assert len(sleeps) == 3


def test_persistent_500_is_not_retried_and_raises_server_error(simulator):
    campaign = first_campaign(simulator)
    client, sleeps = client_for(simulator)
    simulator.inject({"kind": "status", "status": 500})
    with pytest.raises(ServerError):
        client.campaign_statistics(campaign)
    assert sleeps == []


def test_slow_responses_past_the_timeout_raise_timeout_error(simulator):
    campaign = first_campaign(simulator)
    client, sleeps = client_for(simulator, timeout_s=0.3, retry=RetryPolicy(max_attempts=2))
    simulator.inject({"kind": "slow", "delay_s": 2.0})
    with pytest.raises(ApiTimeoutError):
        client.campaign_statistics(campaign)
    assert len(sleeps) == 1


def test_connection_refused_after_the_tenant_stops(sim_factory):
    sim = sim_factory()
    client, _ = client_for(sim, retry=RetryPolicy(max_attempts=2))
    client.list_campaigns()
    sim.stop()
    with pytest.raises(ApiConnectionError):
        client.list_campaigns()


@pytest.mark.parametrize("kind", ["truncate", "malformed", "wrong_shape"])
def test_broken_bodies_raise_response_format_error(simulator, kind):
    client, _ = client_for(simulator)
    simulator.inject({"kind": kind, "match": "/v3.0/agents*"})
    with pytest.raises(ResponseFormatError):
        client.agent_status()


def test_dropped_connection_is_retried(simulator):
    client, sleeps = client_for(simulator)
    simulator.inject({"kind": "drop", "count": 1})
    assert client.list_campaigns()
    assert len(sleeps) == 1


def test_discovery_uses_the_tenants_path_for_an_operation(sim_factory):
    sim = sim_factory(path_overrides={"campaign_statistics": "/v3.0/stats/campaign/{campaignId}"})
    campaign = first_campaign(sim)
    client, _ = client_for(sim)
    assert client.operations()["campaign_statistics"].path == "/v3.0/stats/campaign/{campaignId}"
    assert client.campaign_statistics(campaign)["campaignId"] == campaign
    requests = sim.stats()["requests"]
    assert requests.get("GET /v3.0/stats/campaign/{campaignId}") == 1
    assert STATS not in requests


def test_missing_agent_status_is_a_not_found_error(sim_factory):
    sim = sim_factory(omit_operations=frozenset({"agent_status"}))
    client, _ = client_for(sim)
    with pytest.raises(NotFoundError):
        client.agent_status()


def test_media_of_a_voicemail_is_audio(shared_simulator):
    client, _ = client_for(shared_simulator)
    since = datetime.now(UTC) - timedelta(days=2)
    voicemail = next(
        item
        for item in client.iter_activities(created_from=since)
        if item["data"].get("voicemailMetadata")
    )
    meta = voicemail["data"]["voicemailMetadata"][0]
    by_uri = client.get_media(meta["mediaUri"])
    assert by_uri[:4] == b"RIFF" and by_uri[8:12] == b"WAVE"
    assert client.get_media(meta["mediaId"]) == by_uri
