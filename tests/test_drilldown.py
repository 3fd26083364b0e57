"""The drill-down: its filters, their URL form, its tables and CSV export.

The rules are plain functions (ipscape/presentation/drilldown.py), tested without an app; the
screen itself runs under AppTest against a simulated tenant over real HTTP.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.presentation import drilldown
from ipscape.simulator import RunningSimulator
from tests.app_support import open_page, point_app_at, unescape
from ui import runtime


@pytest.fixture
def tenant(
    app_env: Path, simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningSimulator]:
    point_app_at(simulator, monkeypatch)
    try:
        yield simulator
    finally:
        runtime.reset()  # close the app's pollers before the simulator stops


def api(sim: RunningSimulator, path: str, **params: Any) -> Any:
    """GET from the simulated tenant, following ``metadata.nextUri`` for lists."""
    auth = (sim.token, sim.keys[0])
    with httpx.Client(auth=auth, timeout=30) as http:
        body = http.get(sim.api_root + path, params=params or None).raise_for_status().json()
        if "items" not in body:
            return body
        items = list(body["items"])
        while (body.get("metadata") or {}).get("nextUri"):
            body = http.get(sim.api_root.rsplit("/v3.0", 1)[0] + body["metadata"]["nextUri"])
            body = body.raise_for_status().json()
            items.extend(body["items"])
        return items


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


# --- the screen (AppTest) ---------------------------------------------------------------------


def test_drilldown_reads_filters_from_the_url_and_keeps_them_there(
    tenant: RunningSimulator,
) -> None:
    campaign = api(tenant, "/v3.0/campaigns")[0]
    expected = [
        item
        for item in api(tenant, "/v3.0/activities", campaignId=campaign["campaignId"])
        if item["type"] == "call.inbound"
    ]
    at = open_page("drilldown", campaign=str(campaign["campaignId"]), type="call.inbound")
    assert not at.exception
    assert at.selectbox(key="dd_campaign").value == campaign["campaignId"]
    assert at.selectbox(key="dd_type").value == "call.inbound"
    table = at.dataframe[0].value
    assert len(table) == len(expected)
    assert set(table["Campaign"]) == {campaign["campaignName"]}
    assert at.query_params == {"campaign": str(campaign["campaignId"]), "type": "call.inbound"}

    at.selectbox(key="dd_window").set_value("4h").run()
    assert at.query_params["window"] == "4h"
    at.selectbox(key="dd_campaign").set_value(None).run()
    assert "campaign" not in at.query_params


def test_drilldown_keeps_its_filters_when_the_user_comes_back_from_another_page(
    tenant: RunningSimulator,
) -> None:
    at = open_page("drilldown", window="4h", type="call.inbound")
    open_page("agents", at)
    at.query_params.clear()  # as the browser does: page navigation drops the query string
    open_page("drilldown", at)
    assert not at.exception
    assert at.selectbox(key="dd_window").value == "4h"
    assert at.selectbox(key="dd_type").value == "call.inbound"
    assert at.query_params == {"window": "4h", "type": "call.inbound"}


def test_drilldown_ignores_invalid_url_values_with_a_note(tenant: RunningSimulator) -> None:
    at = open_page("drilldown", campaign="abc", window="forever")
    assert not at.exception
    notes = captions(at)
    assert any(n.startswith("Ignored campaign='abc'") for n in notes)
    assert any(n.startswith("Ignored window='forever'") for n in notes)
    assert at.selectbox(key="dd_campaign").value is None
    assert "campaign" not in at.query_params and "window" not in at.query_params


def test_drilldown_csv_is_exactly_the_table_on_screen(
    tenant: RunningSimulator, csv_exports: list[Any]
) -> None:
    campaign = api(tenant, "/v3.0/campaigns")[1]["campaignId"]
    at = open_page("drilldown", campaign=str(campaign), window="today")
    shown = at.dataframe[0].value
    assert csv_exports, "the page offers a CSV download"
    exported = pd.read_csv(
        io.BytesIO(csv_exports[-1]()), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    assert len(exported) == len(shown) > 0
    assert list(exported.columns) == list(shown.columns)
    assert exported.to_numpy().tolist() == shown.astype(str).to_numpy().tolist()


def test_drilldown_shows_a_leads_dial_attempts_across_its_numbers(
    tenant: RunningSimulator,
) -> None:
    outbound = api(tenant, "/v3.0/activities", activityType="call.outbound")
    if not outbound:
        pytest.skip("this simulated day has no outbound calls")
    lead = outbound[0]["data"]["leadId"]
    attempts = [i for i in outbound if i["data"].get("leadId") == lead]
    at = open_page("drilldown", lead=str(lead))
    assert not at.exception
    assert f"Dial attempts of lead {lead}" in [s.value for s in at.subheader]
    summary, detail = at.dataframe[1].value, at.dataframe[2].value
    assert len(detail) == len(attempts)
    assert summary["Attempts"].sum() == len(attempts)


# --- the rules (no app) -----------------------------------------------------------------------


def test_filters_round_trip_through_query_params() -> None:
    filters = drilldown.DrillFilters(
        campaign=3, agent=7, lead=42, window="1h", type="call.outbound"
    )
    again, notes = drilldown.filters_from_params(drilldown.filters_to_params(filters))
    assert again == filters and notes == []
    assert drilldown.filters_to_params(drilldown.DrillFilters()) == {}


def test_clicked_bar_gives_its_campaign() -> None:
    assert drilldown.campaign_from_selection([{"customdata": [5], "y": "Sales"}]) == 5
    assert drilldown.campaign_from_selection([{"customdata": 9}]) == 9
    assert drilldown.campaign_from_selection([{"y": "Sales"}]) is None


def test_csv_neutralises_formulas_but_keeps_phone_numbers() -> None:
    table = pd.DataFrame({"Caller": ["+61412345678", '=HYPERLINK("http://x")', "@SUM(A1)"]})
    text = drilldown.csv_bytes(table).decode("utf-8-sig").splitlines()
    assert text == ["Caller", "+61412345678", '"\'=HYPERLINK(""http://x"")"', "'@SUM(A1)"]
