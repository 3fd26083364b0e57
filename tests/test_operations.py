"""Operation discovery from a tenant's platform-api.yaml (contract §1)."""

from __future__ import annotations

import httpx
import yaml

from ipscape.client import IpscapeClient
from ipscape.operations import DEFAULT_OPERATIONS, operations_from_spec, resolve_operations
from ipscape.settings import Settings


def spec(paths: dict) -> dict:
    return {"openapi": "3.0.0", "paths": paths}


def test_operation_is_matched_by_its_documented_summary_whatever_the_path():
    ops = resolve_operations(
        spec({"/v3.0/stats/campaign/{id}": {"get": {"summary": "Campaign Statistics"}}})
    )
    assert ops["campaign_statistics"].path == "/v3.0/stats/campaign/{campaignId}"
    assert ops["campaign_statistics"].source == "tenant"
    assert ops["list_activities"] == DEFAULT_OPERATIONS["list_activities"]


def test_operation_is_matched_by_operation_id_when_the_summary_differs():
    ops = operations_from_spec(
        spec(
            {
                "/v4/acts": {
                    "get": {"summary": "Activities (paged)", "operationId": "listActivities"}
                }
            }
        )
    )
    assert ops["list_activities"].path == "/v4/acts"


def test_operation_is_matched_by_path_shape_as_a_last_resort():
    ops = operations_from_spec(
        spec(
            {
                "/v3.1/agents/status": {"get": {"summary": "Who is on"}},
                "/v3.1/leads/{id}": {"put": {}},
            }
        )
    )
    assert ops["agent_status"].path == "/v3.1/agents/status"
    assert ops["update_lead"].path == "/v3.1/leads/{leadId}"


def test_method_must_match_the_operation():
    ops = operations_from_spec(spec({"/v3.0/leads": {"get": {"summary": "Create lead"}}}))
    assert "create_lead" not in ops


def test_paths_that_repeat_the_api_root_are_not_doubled():
    ops = operations_from_spec(
        spec({"/platform-api/v3.0/activities": {"get": {"summary": "List of activities"}}}),
        root_path="/platform-api",
    )
    assert ops["list_activities"].path == "/v3.0/activities"


def test_garbage_specs_fall_back_to_defaults():
    for garbage in (None, "text", [], {"paths": []}, {"paths": {"/x": "y", 3: {}}}):
        assert resolve_operations(garbage) == DEFAULT_OPERATIONS


def test_client_discovers_paths_from_the_tenants_yaml_and_uses_them():
    document = yaml.safe_dump(
        spec({"/v3.0/stats/{cid}": {"get": {"summary": "Campaign Statistics"}}})
    )
    paths = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("platform-api.yaml"):
            return httpx.Response(200, text=document)
        return httpx.Response(200, json={"campaignId": 7})

    client = IpscapeClient(
        Settings("https://t.ipscape.com.au/platform-api", "tok", ("k1",)),
        httpx.Client(transport=httpx.MockTransport(handler)),
    )
    assert client.campaign_statistics(7) == {"campaignId": 7}
    client.campaign_statistics(8)
    assert paths == [
        "/platform-api/platform-api.yaml",
        "/platform-api/v3.0/stats/7",
        "/platform-api/v3.0/stats/8",
    ]


def test_client_uses_defaults_when_the_yaml_is_missing_or_broken():
    for answer in (httpx.Response(404), httpx.Response(200, text="paths: [unclosed")):
        paths = []

        def handler(request: httpx.Request, answer=answer, paths=paths) -> httpx.Response:
            paths.append(request.url.path)
            if request.url.path.endswith("platform-api.yaml"):
                return answer
            return httpx.Response(200, json={"campaignId": 7})

        client = IpscapeClient(
            Settings("https://t.ipscape.com.au/platform-api", "tok", ("k1",)),
            httpx.Client(transport=httpx.MockTransport(handler)),
        )
        client.campaign_statistics(7)
        assert paths[-1] == "/platform-api/v3.0/campaigns/7/statistics"
