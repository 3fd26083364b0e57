"""The drill-down: its filters, their URL form, its tables and CSV export.

The rules are plain functions (ipscape/presentation/drilldown.py), tested without an app; the
screen itself runs under AppTest against a simulated tenant over real HTTP.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape import frames
from ipscape.frames import NO_ACTIVITY_ID, NOT_AN_OBJECT, Drops
from ipscape.presentation import drilldown
from ipscape.presentation.tables import Column, Table
from ipscape.presentation.time_range import Bounds
from ipscape.simulator import RunningSimulator
from tests.app_support import api, open_page, patch_transport, unescape

FIXTURES = Path(__file__).parent / "fixtures"


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


# --- the screen (AppTest) ---------------------------------------------------------------------


def test_drilldown_reads_filters_from_the_url_and_keeps_them_there(
    app_tenant: RunningSimulator,
) -> None:
    campaign = api(app_tenant, "/v3.0/campaigns")[0]
    expected = [
        item
        for item in api(app_tenant, "/v3.0/activities", campaignId=campaign["campaignId"])
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

    at.selectbox(key="range_window").set_value("4h").run()
    assert at.query_params["window"] == "4h"
    assert at.query_params["type"] == "call.inbound"  # each control writes its own parameters
    at.selectbox(key="dd_campaign").set_value(None).run()
    assert "campaign" not in at.query_params


def test_drilldown_keeps_its_filters_when_the_user_comes_back_from_another_page(
    app_tenant: RunningSimulator,
) -> None:
    at = open_page("drilldown", window="4h", type="call.inbound")
    open_page("agents", at)
    at.query_params.clear()  # as the browser does: page navigation drops the query string
    open_page("drilldown", at)
    assert not at.exception
    assert at.selectbox(key="range_window").value == "4h"
    assert at.selectbox(key="dd_type").value == "call.inbound"
    assert at.query_params == {"window": "4h", "type": "call.inbound"}


def test_drilldown_ignores_invalid_url_values_with_a_note(app_tenant: RunningSimulator) -> None:
    at = open_page("drilldown", campaign="abc", window="forever")
    assert not at.exception
    notes = captions(at)
    assert any(n.startswith("Ignored campaign='abc'") for n in notes)
    assert any(n.startswith("Ignored window='forever'") for n in notes)
    assert at.selectbox(key="dd_campaign").value is None
    assert "campaign" not in at.query_params and "window" not in at.query_params


def test_drilldown_csv_is_exactly_the_table_on_screen(
    app_tenant: RunningSimulator, csv_exports: list[Any]
) -> None:
    campaign = api(app_tenant, "/v3.0/campaigns")[1]["campaignId"]
    at = open_page("drilldown", campaign=str(campaign), window="today")
    shown = at.dataframe[0].value
    assert csv_exports, "the page offers a CSV download"
    exported = pd.read_csv(
        io.BytesIO(csv_exports[-1]()), dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    assert len(exported) == len(shown) > 0
    assert list(exported.columns) == list(shown.columns)
    for name in shown.columns:
        on_screen, in_file = shown[name], exported[name]
        if pd.api.types.is_datetime64_any_dtype(on_screen):
            # local wall-clock time of the display zone, as on screen
            assert in_file.tolist() == on_screen.dt.strftime("%Y-%m-%d %H:%M:%S").tolist(), name
        elif pd.api.types.is_numeric_dtype(on_screen):
            numbers = pd.to_numeric(in_file.replace("", None)).astype(float)
            assert numbers.equals(on_screen.astype(float)), name  # NaN where unknown
        else:
            assert in_file.tolist() == on_screen.fillna("").astype(str).tolist(), name


def test_drilldown_tables_hold_numbers_and_times_not_text(app_tenant: RunningSimulator) -> None:
    outbound = api(app_tenant, "/v3.0/activities", activityType="call.outbound")
    if not outbound:
        pytest.skip("this simulated day has no outbound calls")
    at = open_page("drilldown", lead=str(outbound[0]["data"]["leadId"]))
    activities, summary, detail = (at.dataframe[i].value for i in range(3))
    assert len(activities) and len(summary) and len(detail)
    for table, durations in ((activities, ("Queue", "Talk")), (detail, ("Dial time",))):
        for name in durations:
            assert pd.api.types.is_float_dtype(table[name]), (name, table[name].dtype)
    assert pd.api.types.is_integer_dtype(summary["Attempts"]), summary["Attempts"].dtype
    assert pd.api.types.is_datetime64_any_dtype(activities["Created"])
    assert pd.api.types.is_datetime64_any_dtype(detail["Dialled"])


def test_drilldown_shows_a_leads_dial_attempts_across_its_numbers(
    app_tenant: RunningSimulator,
) -> None:
    outbound = api(app_tenant, "/v3.0/activities", activityType="call.outbound")
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


def with_unusable_rows(path: str, body: Any) -> Any:
    """Each agents and activities page with rows no frame can use: not an object, no id."""
    if path.endswith("/v3.0/agents/status"):
        body["items"] += [42, {"firstName": "No id"}]
    elif path.endswith("/v3.0/activities"):
        body["items"] += ["oops", {"type": "call.inbound", "data": {"campaignId": 1}}]
    return body


def test_drilldown_lists_the_rows_the_tenant_sent_that_could_not_be_used(
    app_tenant: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_transport(monkeypatch, with_unusable_rows)
    at = open_page("drilldown", window="today")
    assert not at.exception
    (held,) = [e for e in at.expander if e.label == drilldown.DROPS_LABEL]
    lines = {line.split(":")[0]: line for line in (unescape(c.value) for c in held.caption)}
    assert lines["agents"] == "agents: dropped 2 rows (no agentId: 1, not an object: 1)"
    for feed in ("activities", "these results"):
        assert re.fullmatch(
            rf"{feed}: dropped [\d,]+ rows \(no activityId: [\d,]+, not an object: [\d,]+\)",
            lines[feed],
        ), lines[feed]
    assert "campaigns" not in lines  # a feed without drops says nothing
    assert len(at.dataframe[0].value) > 0  # the usable rows are all shown


def test_drilldown_says_nothing_of_drops_when_every_row_was_usable(
    app_tenant: RunningSimulator,
) -> None:
    at = open_page("drilldown", window="today")
    assert not at.exception
    assert drilldown.DROPS_LABEL not in [e.label for e in at.expander]


# --- the rules (no app) -----------------------------------------------------------------------


def test_filters_round_trip_through_query_params() -> None:
    filters = drilldown.DrillFilters(campaign=3, agent=7, lead=42, type="call.outbound")
    again, notes = drilldown.filters_from_params(drilldown.filters_to_params(filters))
    assert again == filters and notes == []
    assert drilldown.filters_to_params(drilldown.DrillFilters()) == {}


def test_clicked_bar_gives_its_campaign() -> None:
    assert drilldown.campaign_from_selection([{"customdata": [5], "y": "Sales"}]) == 5
    assert drilldown.campaign_from_selection([{"customdata": 9}]) == 9
    assert drilldown.campaign_from_selection([{"y": "Sales"}]) is None


def test_csv_neutralises_formulas_but_keeps_phone_numbers() -> None:
    table = Table(
        pd.DataFrame({"Caller": ["+61412345678", '=HYPERLINK("http://x")', "@SUM(A1)"]}),
        (Column("Caller"),),
    )
    text = drilldown.csv_bytes(table).decode("utf-8-sig").splitlines()
    assert text == ["Caller", "+61412345678", '"\'=HYPERLINK(""http://x"")"', "'@SUM(A1)"]


def test_csv_writes_numbers_as_numbers_times_as_local_text_and_unknown_as_empty() -> None:
    at = pd.Timestamp("2026-03-12T09:15:02", tz="Australia/Sydney")
    table = Table(
        pd.DataFrame(
            {
                "Name": pd.array(["-1+1", pd.NA, "--"], dtype="string"),
                "Calls": pd.array([1234, pd.NA, 0], dtype="Int64"),
                "Talk": pd.array([323.0, 12.5, pd.NA], dtype="Float64"),
                "At": pd.Series([at, pd.NaT, at]),
                "media_id": ["a", "b", "c"],
            }
        ),
        (
            Column("Name"),
            Column("Calls", "count"),
            Column("Talk", "duration"),
            Column("At", "datetime"),
            Column("media_id"),
        ),
        hidden=("media_id",),
    )
    lines = drilldown.csv_bytes(table).decode("utf-8-sig").splitlines()
    assert lines == [
        "Name,Calls,Talk,At",  # exactly the shown columns: the hidden id stays out
        "'-1+1,1234,323,2026-03-12 09:15:02",  # a number is never quoted or guarded
        ",,12.5,",
        "--,0,,2026-03-12 09:15:02",  # "--" starts no formula; 0 stays 0
    ]


def test_csv_guards_only_text_columns_and_never_lets_text_into_a_number_column() -> None:
    table = Table(
        pd.DataFrame({"Calls": ["=1+1", "7"], "Note": ["=1+1", "7"]}),
        (Column("Calls", "count"), Column("Note")),
    )
    lines = drilldown.csv_bytes(table).decode("utf-8-sig").splitlines()
    assert lines == ["Calls,Note", ",'=1+1", "7,7"]


# URL, widgets and the session's memory


def test_invalid_url_values_are_ignored_each_with_a_note() -> None:
    filters, notes = drilldown.filters_from_params(
        {"campaign": "abc", "lead": "-3", "type": "<b>x</b>" + "y" * 60}
    )
    assert filters == drilldown.DrillFilters()
    assert notes[0] == "Ignored campaign='abc': expected a number."
    assert notes[1] == "Ignored lead='-3': expected a number."
    assert notes[2].startswith("Ignored type='<b>x</b>yyy") and "y" * 40 not in notes[2]


def test_a_first_visit_seeds_the_widgets_from_the_url() -> None:
    state = drilldown.url_state({"campaign": "3", "type": "sms"}, None, widgets_present=False)
    assert state.filters == drilldown.DrillFilters(campaign=3, type="sms")
    assert state.reseed and state.notes == ()
    assert state.widget_values == {
        "campaign": 3,
        "agent": None,
        "lead": "",  # typed in: text
        "type": "sms",
    }
    assert state.remember == {
        "campaign": "3",
        "agent": None,
        "lead": None,
        "type": "sms",
    }


def test_a_rerun_keeps_what_the_user_picked_in_the_widgets() -> None:
    first = drilldown.url_state({"type": "sms"}, None, widgets_present=False)
    again = drilldown.url_state({"type": "sms"}, first.remember, widgets_present=True)
    assert not again.reseed


def test_a_changed_url_reseeds_the_widgets() -> None:
    first = drilldown.url_state({"type": "sms"}, None, widgets_present=False)
    edited = drilldown.url_state({"type": "call.inbound"}, first.remember, widgets_present=True)
    assert edited.reseed and edited.filters.type == "call.inbound"


def test_widgets_whose_state_is_gone_are_reseeded_even_from_the_same_url() -> None:
    first = drilldown.url_state({"type": "sms"}, None, widgets_present=False)
    back = drilldown.url_state({"type": "sms"}, first.remember, widgets_present=False)
    assert back.reseed and back.filters.type == "sms"


def test_a_page_switch_that_drops_the_query_string_keeps_the_sessions_filters() -> None:
    shown = drilldown.DrillFilters(agent=4, type="call.inbound")
    written = drilldown.url_write(shown, {})
    back = drilldown.url_state({}, written.remember, widgets_present=False)
    assert back.filters == shown and back.reseed
    # ... and the URL says them again
    assert drilldown.url_write(back.filters, {}).params == {"agent": "4", "type": "call.inbound"}


def test_the_url_wins_over_the_sessions_filters_when_it_names_any() -> None:
    remembered = drilldown.url_write(drilldown.DrillFilters(type="sms"), {}).remember
    state = drilldown.url_state({"campaign": "5"}, remembered, widgets_present=True)
    assert state.filters == drilldown.DrillFilters(campaign=5) and state.reseed


def test_an_empty_url_and_no_memory_is_the_default_view() -> None:
    state = drilldown.url_state({"campaign": "", "type": None}, None, widgets_present=False)
    assert state.filters == drilldown.DrillFilters() and state.reseed and not state.notes


def test_the_url_is_written_only_when_it_does_not_already_say_the_filters() -> None:
    filters = drilldown.DrillFilters(campaign=3, lead=42)
    write = drilldown.url_write(filters, {"campaign": "3", "lead": None})
    assert write.params == {"campaign": "3", "lead": "42"} and write.changed
    again = drilldown.url_write(filters, {"campaign": "3", "lead": "42", "type": None})
    assert again.params == write.params and not again.changed
    # the scope's and the range's parameters are not the filters' to touch
    shared = drilldown.url_write(filters, {"campaign": "3", "lead": "42", "window": "1h"})
    assert shared.changes == {}
    # back to the defaults: the query string empties
    cleared = drilldown.url_write(drilldown.DrillFilters(), {"campaign": "3"})
    assert cleared.params == {} and cleared.changes == {"campaign": None}


def test_the_run_after_a_write_does_not_reseed_the_widgets() -> None:
    filters = drilldown.DrillFilters(agent=7, type="sms")
    write = drilldown.url_write(filters, {})
    state = drilldown.url_state(write.params, write.remember, widgets_present=True)
    assert state.filters == filters and not state.reseed


def test_invalid_url_values_are_noted_once_then_cleared_from_the_url() -> None:
    first = drilldown.url_state({"campaign": "abc"}, None, widgets_present=False)
    assert first.notes == ("Ignored campaign='abc': expected a number.",)
    filters, notes = drilldown.filters_from_widgets(first.widget_values)
    write = drilldown.url_write(filters, {"campaign": "abc"})
    assert notes == [] and write.params == {} and write.changed
    after = drilldown.url_state(write.params, write.remember, widgets_present=True)
    assert after.notes == () and not after.reseed


def test_widget_values_round_trip_and_a_typed_lead_is_checked() -> None:
    filters = drilldown.DrillFilters(campaign=3, agent=7, lead=42, type="x.y")
    assert drilldown.filters_from_widgets(drilldown.widget_values(filters)) == (filters, [])
    typed, notes = drilldown.filters_from_widgets({"lead": "12a", "campaign": None})
    assert typed == drilldown.DrillFilters()
    assert notes == ["Ignored lead='12a': expected a number."]


def test_a_view_asks_for_its_filters_over_its_range() -> None:
    now = datetime(2026, 3, 12, 3, 30, tzinfo=UTC)
    filters = drilldown.DrillFilters(campaign=3, agent=7, lead=42, type="x.y")
    live = Bounds(now - timedelta(minutes=15), now, live=True)
    assert drilldown.activity_query(filters, live) == {
        "campaign_id": 3,
        "agent_id": 7,
        "lead_id": 42,
        "since": now - timedelta(minutes=15),
        "until": None,  # it ends now: the same question as time moves on
        "activity_type": "x.y",
    }
    past = Bounds(now - timedelta(days=1), now - timedelta(hours=20), live=False)
    asked = drilldown.activity_query(filters, past)
    assert (asked["since"], asked["until"]) == (past.since, past.until)


def test_filter_choices_list_all_then_names_then_an_unknown_current_id() -> None:
    names = {2: "Support", 1: "Sales"}
    assert drilldown.filter_options(None, names) == [None, 1, 2]
    assert drilldown.filter_options(9, names) == [None, 1, 2, 9]
    assert [drilldown.option_label(v, names) for v in (None, 2, 9)] == ["All", "Support", "#9"]
    assert list(drilldown.type_names("sms")) == ["call.inbound", "call.outbound", "sms"]
    assert list(drilldown.type_names(None)) == list(drilldown.KNOWN_TYPES)


def test_agent_names_read_missing_names_as_unknown() -> None:
    agents = pd.DataFrame(
        {
            "agent_id": pd.array([1, 2, pd.NA], dtype="Int64"),
            "agent_name": pd.array(["Ann", pd.NA, "Nobody"], dtype="string"),
        }
    )
    assert drilldown.agent_names(agents) == {1: "Ann", 2: "--"}
    assert drilldown.agent_names(agents.head(0)) == {}


# The tables


def fixture_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((FIXTURES / "activities_page.json").read_text())[
        "items"
    ]
    return items


def test_the_activities_table_is_typed_newest_first_with_unknowns_missing() -> None:
    activities = frames.activities_frame(fixture_items())
    table = drilldown.activities_table(activities, "Australia/Sydney")
    frame = table.frame
    assert [c.name for c in table.columns] == list(frame.columns) == table.shown
    assert str(frame["Created"].dtype) == "datetime64[ns, Australia/Sydney]"
    assert frame["Created"].is_monotonic_decreasing
    assert str(frame["Queue"].dtype) == str(frame["Talk"].dtype) == "Float64"
    for name in ("Activity", "Type", "Campaign", "Agent", "Lead", "From", "To"):
        assert isinstance(frame[name].dtype, pd.StringDtype), name
    first = fixture_items()[0]["data"]
    row = frame[frame["Activity"] == str(first["activityId"])].iloc[0]
    assert row["Queue"] == first["durations"]["queue"]
    assert row["Created"].strftime("%H:%M:%S") == "09:15:02"
    # an inbound call has no lead: unknown, not 0 and not "--" text
    assert row["Lead"] is pd.NA
    assert {c.kind for c in table.columns if c.name in ("Queue", "Talk")} == {"duration"}
    assert set(frame["Type"]) >= {"chat.inbound"}  # unknown types kept
    assert drilldown.activities_table(activities.head(0), "UTC").frame.columns.tolist() == [
        c.name for c in drilldown.ACTIVITY_COLUMNS
    ]


def outbound(attempt: int, created: str, **data: Any) -> dict[str, Any]:
    return {
        "type": "call.outbound",
        "data": {
            "activityId": 100 + attempt,
            "attemptId": attempt,
            "leadId": 3001,
            "timestamps": {"created": created},
            "durations": {"dial": 14},
            **data,
        },
    }


def test_a_leads_dial_attempts_are_summed_per_phone_slot() -> None:
    attempts = frames.dial_attempts_frame(
        [
            outbound(
                1, "2026-03-12T09:00:00Z", phoneIndex=1, phoneNumber="+611", dialStatusName="Busy"
            ),
            outbound(2, "2026-03-12T10:00:00Z", phoneIndex=1, dialStatusName="Answered"),
            outbound(3, "2026-03-12T09:30:00Z", phoneIndex=2, phoneNumber="+612"),
            outbound(4, "2026-03-12T09:45:00Z", phoneNumber="+613", dialStatusName="No answer"),
        ]
    )
    summary = drilldown.dial_summary(attempts).frame
    assert summary["Phone"].tolist()[:2] == ["phone1", "phone2"]
    assert summary["Phone"].iloc[2] is pd.NA  # the slot the tenant did not say
    assert str(summary["Attempts"].dtype) == "Int64"
    assert summary["Attempts"].tolist() == [2, 1, 1]
    # the number last dialled in the slot, and the status of its latest attempt
    assert summary["Number"].tolist()[:2] == ["+611", "+612"]
    assert summary["Last status"].iloc[0] == "Answered"
    assert summary["Last status"].iloc[1] is pd.NA

    detail = drilldown.dial_attempts_table(attempts, "UTC").frame
    assert detail["Attempt"].tolist() == ["1", "3", "4", "2"]  # in dialling order
    assert str(detail["Dial time"].dtype) == "Float64" and detail["Dial time"].iloc[0] == 14
    assert str(detail["Dialled"].dtype) == "datetime64[ns, UTC]"
    assert drilldown.dial_summary(attempts.head(0)).empty


def test_the_table_is_capped_to_the_newest_rows_and_the_caption_says_so() -> None:
    activities = frames.activities_frame(fixture_items())
    newest = drilldown.newest_activities(activities, limit=3)
    assert len(newest) == 3
    assert newest["created_at"].tolist() == sorted(activities["created_at"], reverse=True)[:3]
    times = "Times are shown in UTC."
    assert drilldown.shown_caption(9, 9, times) == "Showing 9 activities · Times are shown in UTC."
    assert drilldown.shown_caption(3, 9, times).startswith(
        "Showing the newest 3 of 9 activities (narrow the filters to see the rest)"
    )


def test_unknown_types_are_listed_and_their_raw_data_is_shown_on_selection() -> None:
    rows = drilldown.newest_activities(frames.activities_frame(fixture_items()))
    assert drilldown.unknown_types(rows) == ["chat.inbound"]
    assert drilldown.unknown_types_note([]) is None
    note = drilldown.unknown_types_note(["chat.inbound"]) or ""
    assert note.startswith("Kept as-is, types this dashboard does not know: chat.inbound.")
    chat = int(rows.index[rows["type"] == "chat.inbound"][0])
    raw = drilldown.raw_of_selected(rows, [chat])
    assert isinstance(raw, dict) and raw["activityId"] == rows["activity_id"][chat]
    # the collector keeps raw data only for unknown types (ipscape/activities.py)
    known = int(rows.index[rows["type"] == "call.inbound"][0])
    rows.loc[known, "raw"] = None
    assert drilldown.raw_of_selected(rows, [known]) == {}
    assert drilldown.raw_of_selected(rows, []) is None
    assert drilldown.raw_of_selected(rows, [len(rows)]) is None  # a stale selection


def test_drops_are_listed_per_feed_by_reason_and_feeds_without_drops_say_nothing() -> None:
    lines = drilldown.drops_lines(
        {
            "campaigns": Drops({}),
            "agents": None,
            "activities": Drops({NO_ACTIVITY_ID: 2, NOT_AN_OBJECT: 1}),
            "voicemail": Drops({NOT_AN_OBJECT: 1}),
        }
    )
    assert lines == [
        "activities: dropped 3 rows (no activityId: 2, not an object: 1)",
        "voicemail: dropped 1 row (not an object: 1)",
    ]
