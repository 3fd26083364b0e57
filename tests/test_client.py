"""Client behaviour at the byte level, with httpx.MockTransport: retries, Retry-After, key
fallback, pagination and error mapping. The same behaviours run over real HTTP in
test_client_integration.py."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from ipscape.client import IpscapeClient, RetryPolicy, parse_retry_after
from ipscape.errors import (
    ApiConnectionError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
)
from ipscape.settings import Settings

ROOT = "https://acme.ipscape.com.au/platform-api"
SETTINGS = Settings(base_url=ROOT, api_token="tok", secret_keys=("key-one", "key-two"))


def key_of(request: httpx.Request) -> str:
    user_pass = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
    return user_pass.split(":", 1)[1]


def make_client(handler, *, settings: Settings = SETTINGS, **kwargs) -> tuple[IpscapeClient, list]:
    sleeps: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = IpscapeClient(
        settings,
        http,
        discover=False,
        sleep=sleeps.append,
        rng=random.Random(0),
        **kwargs,
    )
    return client, sleeps


def stats_body(campaign_id: int = 1) -> dict:
    return {"campaignId": campaign_id, "campaignName": "Sales", "estimatedCallWaitingTime": 30}


def test_requests_use_basic_auth_with_token_and_first_key():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=stats_body())

    client, _ = make_client(handler)
    assert client.campaign_statistics(1)["campaignName"] == "Sales"
    assert seen[0].url.path == "/platform-api/v3.0/campaigns/1/statistics"
    assert seen[0].url.params["period"] == "day"
    assert key_of(seen[0]) == "key-one"
    assert client.key_number == 1


def test_second_key_is_used_when_first_is_rejected_and_kept_afterwards():
    keys = []

    def handler(request):
        keys.append(key_of(request))
        if key_of(request) == "key-one":
            return httpx.Response(401, json={"error": "unauthorized"})
        return httpx.Response(200, json=stats_body())

    client, sleeps = make_client(handler)
    client.campaign_statistics(1)
    client.campaign_statistics(2)
    assert keys == ["key-one", "key-two", "key-two"]
    assert client.key_number == 2
    assert sleeps == []  # a key switch is not a retry: no backoff


def test_both_keys_refused_raises_authentication_error_without_secrets():
    def handler(request):
        return httpx.Response(401)

    client, _ = make_client(handler)
    with pytest.raises(AuthenticationError) as info:
        client.campaign_statistics(1)
    assert info.value.status_code == 401
    assert "key-one" not in str(info.value) and "key-two" not in str(info.value)
    assert "tok" not in repr(client) and "key-one" not in repr(SETTINGS)


def test_first_key_is_tried_again_when_the_second_is_later_revoked():
    revoked = {"key-one"}

    def handler(request):
        return httpx.Response(401 if key_of(request) in revoked else 200, json=stats_body())

    client, _ = make_client(handler)
    client.campaign_statistics(1)
    assert client.key_number == 2
    revoked.clear()
    revoked.add("key-two")
    client.campaign_statistics(1)
    assert client.key_number == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_with_capped_jittered_backoff(status):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(status if len(calls) < 3 else 200, json=stats_body())

    policy = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=1.5)
    client, sleeps = make_client(handler, retry=policy)
    client.campaign_statistics(1)
    assert len(calls) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 1.5  # full jitter under the cap


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_client_errors_are_not_retried(status):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(status)

    client, sleeps = make_client(handler, settings=Settings(ROOT, "tok", ("only-key",)))
    with pytest.raises(ApiStatusError) as info:
        client.campaign_statistics(1)
    assert info.value.status_code == status
    assert len(calls) == 1 and sleeps == []


def test_errors_map_to_the_tree():
    def handler(request):
        status = int(request.url.params["period"] == "day") and int(request.url.path.split("/")[-2])
        return httpx.Response(status)

    client, _ = make_client(handler, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(NotFoundError):
        client.campaign_statistics(404)
    with pytest.raises(ServerError) as server:
        client.campaign_statistics(500)
    assert server.value.status_code == 500
    with pytest.raises(RateLimitedError):
        client.campaign_statistics(429)


def test_retry_after_seconds_is_honoured():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json=stats_body())

    client, sleeps = make_client(handler)
    client.campaign_statistics(1)
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured():
    when = datetime.now(UTC) + timedelta(seconds=20)
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
        return httpx.Response(200, json=stats_body())

    client, sleeps = make_client(handler)
    client.campaign_statistics(1)
    assert 15 <= sleeps[0] <= 20


def test_retry_after_beyond_the_cap_gives_up_at_once_and_reports_the_wait():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "3600"})

    client, sleeps = make_client(handler, retry=RetryPolicy(max_retry_after_s=30))
    with pytest.raises(RateLimitedError) as info:
        client.campaign_statistics(1)
    assert info.value.retry_after_s == 3600
    assert len(calls) == 1 and sleeps == []


def test_rate_limit_that_persists_raises_after_max_attempts():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "1"})

    client, sleeps = make_client(handler, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RateLimitedError) as info:
        client.campaign_statistics(1)
    assert len(calls) == 3 and sleeps == [1.0, 1.0]
    assert info.value.retry_after_s == 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("", None), (None, None), ("nan", None)],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_timeouts_are_retried_then_raise_timeout_error():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    client, sleeps = make_client(handler, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ApiTimeoutError) as info:
        client.campaign_statistics(1)
    assert len(calls) == 3 and len(sleeps) == 2
    assert isinstance(info.value, ApiConnectionError)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_connection_refused_raises_connection_error():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    client, _ = make_client(handler, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ApiConnectionError) as info:
        client.list_campaigns()
    assert not isinstance(info.value, ApiTimeoutError)


def test_lead_creation_is_not_resent_after_a_read_timeout():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = make_client(handler)
    with pytest.raises(ApiTimeoutError):
        client.create_lead({"campaignId": 1})
    assert len(calls) == 1  # it may have been created: never create it twice


@pytest.mark.parametrize("body", [b'{"campaignId": 1, "campaignN', b"<html>oops</html>", b""])
def test_broken_json_raises_response_format_error(body):
    def handler(request):
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    client, _ = make_client(handler)
    with pytest.raises(ResponseFormatError):
        client.campaign_statistics(1)


@pytest.mark.parametrize("body", [[1, 2], {"unexpected": True}, {"items": "nope"}, "text"])
def test_list_of_wrong_shape_raises_response_format_error(body):
    def handler(request):
        return httpx.Response(200, json=body)

    client, _ = make_client(handler)
    with pytest.raises(ResponseFormatError):
        client.list_campaigns()


def page(items, next_uri):
    return {"metadata": {"nextUri": next_uri}, "items": items}


def test_pagination_follows_next_uri_against_the_api_root_keeping_the_cursor():
    seen = []

    def handler(request):
        seen.append(request.url)
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx.Response(
                200, json=page([{"n": 1}], "/v3.0/activities?cursor=b&campaignId=3")
            )
        if cursor == "b":
            return httpx.Response(
                200, json=page([{"n": 2}], "/platform-api/v3.0/activities?cursor=c")
            )
        return httpx.Response(200, json={"metadata": {}, "items": [{"n": 3}]})

    client, _ = make_client(handler)
    items = client.list_activities(campaign_id=3, created_from=datetime(2026, 1, 2, tzinfo=UTC))
    assert [i["n"] for i in items] == [1, 2, 3]
    assert seen[0].params["campaignId"] == "3"
    assert seen[0].params["createdTimestampFrom"] == "2026-01-02T00:00:00+0000"
    assert seen[1].path == "/platform-api/v3.0/activities"  # never /platform-api/platform-api
    assert dict(seen[1].params) == {"cursor": "b", "campaignId": "3"}
    assert seen[2].path == "/platform-api/v3.0/activities"
    assert dict(seen[2].params) == {"cursor": "c"}


def test_pagination_stops_on_a_looping_next_uri():
    def handler(request):
        return httpx.Response(200, json=page([{"n": 1}], "/v3.0/activities?cursor=same"))

    client, _ = make_client(handler)
    with pytest.raises(ResponseFormatError):
        client.list_activities()


def test_next_uri_to_another_host_is_not_followed_with_our_credentials():
    hosts = []

    def handler(request):
        hosts.append(request.url.host)
        return httpx.Response(200, json=page([], "https://evil.example/v3.0/activities?cursor=x"))

    client, _ = make_client(handler)
    with pytest.raises(ResponseFormatError):
        client.list_activities()
    assert hosts == ["acme.ipscape.com.au"]


def test_media_by_uri_and_by_id_resolve_against_the_root():
    paths = []

    def handler(request):
        paths.append(request.url.path)
        return httpx.Response(200, content=b"RIFF....WAVE", headers={"Content-Type": "audio/wav"})

    client, _ = make_client(handler)
    assert client.get_media("/v3.0/media/100") == b"RIFF....WAVE"
    assert client.get_media(101) == b"RIFF....WAVE"
    assert paths == ["/platform-api/v3.0/media/100", "/platform-api/v3.0/media/101"]


def test_lead_update_sends_json_body_with_put():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"leadId": 9, **json.loads(request.content)})

    client, _ = make_client(handler)
    result = client.update_lead(9, {"phone1": "+61400000000"})
    assert seen[0].method == "PUT" and seen[0].url.path.endswith("/v3.0/leads/9")
    assert result == {"leadId": 9, "phone1": "+61400000000"}


def test_meter_counts_every_attempt_per_operation():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503 if len(calls) == 1 else 200, json=stats_body())

    client, _ = make_client(handler)
    client.campaign_statistics(1)
    summary = client.meter.summary()
    assert summary["campaign_statistics"]["requests"] == 2
    assert summary["campaign_statistics"]["last_status"] == 200
