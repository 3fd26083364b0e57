"""The presentation package: what a value reads as, which level it has, what a table holds.

Pure functions, tested without an app: the pages only lay these out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipscape.config import Thresholds
from ipscape.presentation import aggregates, formats, tables
from ipscape.presentation.freshness import freshness, tenant_cost_text
from ipscape.presentation.levels import ALERT, OK, UNKNOWN, WARN, LevelMemory, level, worst
from ipscape.presentation.text import escape_label, plain
from ipscape.snapshots import Snapshot

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
UNKNOWNS = [None, pd.NA, pd.NaT, float("nan"), float("inf"), "abc", "", True, object()]


# --- one notion of unknown ----------------------------------------------------------------------


@pytest.mark.parametrize("value", UNKNOWNS, ids=repr)
def test_anything_that_is_not_a_number_reads_dashes_in_every_number_format(value: object) -> None:
    assert formats.number(value) is None
    assert formats.count(value) == formats.duration(value) == formats.age(value) == "--"
    # ... and has no level: an unknown must never read as OK.
    assert level(value, Thresholds().ewt_s) is UNKNOWN


@pytest.mark.parametrize("value", [None, pd.NA, pd.NaT, float("nan")], ids=repr)
def test_missing_text_reads_dashes_but_any_string_is_text(value: object) -> None:
    assert formats.text(value) == "--"
    assert formats.text("abc") == "abc"
    assert formats.text("nan") == "nan"  # a name is a name, even this one


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (59.4, "0:59"),
        (61, "1:01"),
        (3599, "59:59"),
        (3600, "1 h 00 m"),
        (37345, "10 h 22 m"),
        (-5, "0:00"),
        ("90", "1:30"),
    ],
)
def test_durations_read_as_minutes_and_seconds_then_hours(seconds: object, shown: str) -> None:
    assert formats.duration(seconds) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"), [(4, "4 s"), (119, "119 s"), (120, "2 min"), (7260, "2 h 01 min")]
)
def test_ages_coarsen_with_size(seconds: float, shown: str) -> None:
    assert formats.age(seconds) == shown


def test_counts_are_grouped_by_thousands() -> None:
    assert formats.count(1234.4) == "1,234"
    assert formats.count(0) == "0"  # a real zero is shown, not hidden


@given(st.one_of(st.none(), st.floats(allow_nan=True), st.integers(), st.text(max_size=5)))
def test_every_formatter_answers_text_for_any_input(value: object) -> None:
    for fmt in (formats.count, formats.duration, formats.age, formats.text):
        assert isinstance(fmt(value), str)


# --- untrusted strings ----------------------------------------------------------------------------


def test_markdown_and_html_in_vendor_strings_are_shown_literally() -> None:
    assert plain("[click](http://x)") == "\\[click\\]\\(http\\:\u2060//x\\)"
    assert plain("**bold**") == "\\*\\*bold\\*\\*"
    assert escape_label("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert escape_label(None) == "--"


# --- levels ---------------------------------------------------------------------------------------


def test_the_worst_level_is_the_most_urgent_known_one() -> None:
    assert worst([OK, ALERT, WARN, UNKNOWN]) is ALERT
    assert worst([UNKNOWN, UNKNOWN]) is UNKNOWN
    assert worst([]) is UNKNOWN  # nothing known is not "all OK"


# --- aggregates -----------------------------------------------------------------------------------


def campaigns(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "campaign_id": [1, 2],
        "campaign_name": ["Sales", "Support"],
        "ewt_s": [30.0, 200.0],
        "max_wait_s": [40.0, 250.0],
        "calls_waiting": [1, 7],
        "calls_abandoned": [0, 3],
        "agents_available": [2, 0],
        "agents_logged_in": [5, 4],
    }
    base.update(columns)
    return pd.DataFrame(base)


def agents(states: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agent_id": range(len(states)),
            "agent_name": [f"Agent {i}" for i in range(len(states))],
            "state": pd.array(states, dtype="string"),
            "time_in_state_s": [10.0 * (i + 1) for i in range(len(states))],
            "pause_reason": pd.array([None] * len(states), dtype="string"),
            "campaign_ids": [(1,)] * len(states),
        }
    )


def test_agents_are_counted_from_their_own_status_when_the_tenant_offers_it() -> None:
    counts = aggregates.agent_counts(agents(["Available", "Busy", "LoggedOut", None]), campaigns())
    # An agent whose state the tenant left out is not counted as logged in.
    assert (counts.free, counts.logged_in, counts.from_campaigns) == (1.0, 2.0, False)


def test_without_agent_status_the_campaign_counts_stand_in_and_say_so() -> None:
    counts = aggregates.agent_counts(None, campaigns())
    assert (counts.free, counts.logged_in, counts.from_campaigns) == (2.0, 9.0, True)
    assert aggregates.agent_counts(None, None) == aggregates.AgentCounts(None, None)


def test_headline_numbers_are_unknown_without_data_never_zero() -> None:
    k = aggregates.kpis(None, None, None, NOW)
    assert all(v is None for key, v in vars(k).items() if key != "recent")
    assert k.recent == ()
    k = aggregates.kpis(campaigns(ewt_s=[None, None]), None, None, NOW)
    assert k.max_ewt_s is None and k.waiting == 8.0 and k.longest_wait_s == 250.0


def test_voicemail_ages_are_the_oldest_and_the_newest() -> None:
    received = pd.Series([NOW - timedelta(minutes=30), NOW - timedelta(minutes=2), pd.NaT])
    k = aggregates.kpis(None, None, pd.DataFrame({"received_at": received}), NOW)
    assert (k.voicemail, k.oldest_voicemail_s, k.newest_voicemail_s) == (3.0, 1800.0, 120.0)


# --- tables ---------------------------------------------------------------------------------------


def test_the_overview_table_is_typed_and_worst_first() -> None:
    memory = LevelMemory()
    frame = campaigns(ewt_s=[30.0, None])
    levels = aggregates.campaign_levels(frame, Thresholds(), memory)
    table = tables.overview_table(frame, levels)
    assert list(table.frame.columns) == [c.name for c in tables.OVERVIEW_COLUMNS]
    assert pd.api.types.is_float_dtype(table.frame["EWT"])
    assert pd.api.types.is_integer_dtype(table.frame["Waiting"])
    # Support waits 250 s (ALERT by default), so it comes first, its EWT unknown, not 0.
    assert list(table.frame["Campaign"]) == ["Support", "Sales"]
    assert table.frame["EWT"].isna().tolist() == [True, False]
    assert table.levels[0].rank >= table.levels[1].rank
    assert list(table.frame["Status"]) == [tables.badge(lv) for lv in table.levels]


def test_an_empty_overview_still_has_its_columns() -> None:
    table = tables.overview_table(campaigns().iloc[:0], {})
    assert table.empty and list(table.frame.columns) == [c.name for c in tables.OVERVIEW_COLUMNS]


def test_agents_over_their_threshold_are_flagged_with_their_levels() -> None:
    frame = agents(["Busy", "Busy", "LoggedOut"]).assign(time_in_state_s=[30.0, 4000.0, 9000.0])
    table = tables.agent_table(frame, {1: "Sales"}, LevelMemory(), Thresholds())
    assert list(table.frame["Time in state"]) == [9000.0, 4000.0, 30.0]
    flagged = table.flagged()
    # Logged-out agents are not flagged however long they have been out.
    assert list(flagged.frame["Agent"]) == ["Agent 1"]
    assert flagged.levels and all(lv in (WARN, ALERT) for lv in flagged.levels)


def test_the_agent_search_is_literal_text() -> None:
    frame = agents(["Busy", "Busy"]).assign(agent_name=["a.b (x)", "aXb"])
    table = tables.agent_table(frame, {}, LevelMemory(), Thresholds(), search="a.b (")
    assert list(table.frame["Agent"]) == ["a.b (x)"]


def test_voicemail_table_times_are_times_and_the_media_id_is_hidden() -> None:
    frame = pd.DataFrame(
        {
            "received_at": [NOW - timedelta(minutes=5)],
            "caller": ["+61 2 9999 0000"],
            "campaign_name": ["Sales"],
            "duration_s": [42.0],
            "media_id": pd.array(["101"], dtype="string"),
        }
    )
    table = tables.voicemail_table(frame, "Australia/Sydney", NOW)
    assert isinstance(table.frame["Received"].dtype, pd.DatetimeTZDtype)
    assert table.frame["Waiting"].tolist() == [300.0]
    assert "media_id" not in table.shown
    assert tables.voicemail_choices(frame, "Australia/Sydney") == {
        "101": "14:55:00 · +61 2 9999 0000 · Sales"
    }


# --- freshness ------------------------------------------------------------------------------------


def snapshot(**fields: object) -> Snapshot:
    values: dict[str, object] = {
        "feed": "campaigns",
        "frame": pd.DataFrame(),
        "fetched_at": NOW - timedelta(seconds=4),
        "state": "fresh",
        "error": None,
        "error_at": None,
        "interval_s": 8.0,
        "taken_at": NOW,
    }
    values.update(fields)
    return Snapshot(**values)  # type: ignore[arg-type]


def test_freshness_says_how_old_stale_or_failing_data_is() -> None:
    assert freshness(snapshot(), "UTC").kind == "fresh"
    assert freshness(snapshot(), "UTC").text == "updated 4 s ago"
    stale = freshness(snapshot(state="stale", fetched_at=NOW - timedelta(seconds=45)), "UTC")
    assert (stale.kind, stale.text) == ("stale", "STALE 45 s")
    failing = freshness(snapshot(state="error", error="tenant answered 503"), "UTC")
    assert failing.kind == "error"
    assert failing.text == "ERROR: tenant answered 503 — showing data from 03:59:56"
    waiting = freshness(snapshot(state="empty", fetched_at=None), "UTC")
    assert (waiting.kind, waiting.text) == ("waiting", "waiting for the first data…")
    never = freshness(snapshot(state="error", fetched_at=None, error="refused"), "UTC")
    assert never.text == "ERROR: refused — no data yet"


def test_the_tenant_cost_line_counts_each_request_once_against_the_budget() -> None:
    summary = {
        "campaign_statistics": {"requests": 45, "last_latency_ms": 120.4},
        "agent_status": {"requests": 7, "last_latency_ms": None},
        "media": {"requests": 0, "last_latency_ms": 310.0},  # outside the minute, still latest
    }
    assert tenant_cost_text(summary, 600) == "tenant: 52 req/min of 600 allowed (9 %), 310 ms"
    assert tenant_cost_text({}, None) == "tenant: 0 req/min, -- ms"


def test_tinted_rows_keep_dark_text_so_they_read_in_the_dark_theme_too() -> None:
    from ui.tables import _tinted

    frame = campaigns(ewt_s=[30.0, 900.0], max_wait_s=[40.0, 900.0])
    table = tables.overview_table(
        frame, aggregates.campaign_levels(frame, Thresholds(), LevelMemory())
    )
    assert table.levels[0] is ALERT
    html = _tinted(table).to_html()
    assert "background-color: #F8CDB5" in html and "color: #111111" in html
    # A table without levels is shown as it is, unstyled.
    plain_table = tables.Table(table.frame, table.columns)
    assert _tinted(plain_table) is plain_table.frame


# --- service level, abandon rate and call-backs -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0%"), (100, "100%"), (87.4, "87%"), (3.44, "3.4%"), (99.6, "99.9%"), (0.04, "0.1%")],
)
def test_percentages_never_round_to_everyone_or_nobody(value: float, shown: str) -> None:
    assert formats.percent(value) == shown


@pytest.mark.parametrize("value", UNKNOWNS, ids=repr)
def test_an_unknown_percentage_reads_dashes(value: object) -> None:
    assert formats.percent(value) == "--"


def performance_rows(*rows: tuple[object, int, int, float | None]) -> pd.DataFrame:
    """(campaign id, answered, abandoned, service level %) rows of one window."""
    return pd.DataFrame(
        {
            "campaign_id": pd.array([r[0] for r in rows], dtype="Int64"),
            "campaign_name": pd.array([f"C{r[0]}" for r in rows], dtype="string"),
            "answered": pd.array([r[1] for r in rows], dtype="Int64"),
            "abandoned": pd.array([r[2] for r in rows], dtype="Int64"),
            "service_level_pct": pd.array([r[3] for r in rows], dtype="Float64"),
            "abandon_rate_pct": pd.array(
                [100 * r[2] / (r[1] + r[2]) if r[1] + r[2] else None for r in rows],
                dtype="Float64",
            ),
            "asa_s": pd.array([10.0] * len(rows), dtype="Float64"),
            "aht_s": pd.array([200.0] * len(rows), dtype="Float64"),
        }
    )


def test_a_scoped_set_of_campaigns_adds_up_its_calls_not_its_percentages() -> None:
    # 8 of 10 within target, and 1 of 4: 9 of 14, not the mean of 80 % and 25 %
    rows = performance_rows((1, 9, 1, 80.0), (2, 2, 2, 25.0), (3, 0, 0, None))
    totals = aggregates.performance_totals(rows)
    assert totals is not None
    assert totals.service_level_pct == pytest.approx(100 * 9 / 14)
    assert totals.abandon_rate_pct == pytest.approx(100 * 3 / 14)
    assert (totals.answered, totals.abandoned) == (11, 3)
    # the feed's own total row wins when it is there (it counts calls without a campaign too)
    with_total = pd.concat([rows, performance_rows((None, 12, 3, 70.0))], ignore_index=True)
    total = aggregates.performance_totals(with_total)
    assert total is not None and total.service_level_pct == 70.0
    # nothing answered or abandoned: unknown, never 0 % or 100 %
    quiet = aggregates.performance_totals(performance_rows((3, 0, 0, None)))
    assert quiet is not None and quiet.service_level_pct is None
    assert aggregates.performance_totals(None) is None


def test_campaigns_get_their_own_performance_and_unknown_without_calls() -> None:
    frame = campaigns(ewt_s=[30.0, None])
    merged = aggregates.with_performance(frame, performance_rows((1, 9, 1, 80.0)))
    assert merged["service_level_pct"].tolist()[0] == 80.0
    assert merged["service_level_pct"].isna().tolist()[1]
    levels = aggregates.campaign_levels(merged, Thresholds(), LevelMemory())
    assert levels[1]["service_level"] is WARN  # 80 % is at the warn level: lower is worse
    assert levels[2]["service_level"] is UNKNOWN


def test_service_level_headlines_say_where_the_day_is_heading() -> None:
    from ipscape.presentation.headlines import headlines

    k = aggregates.Kpis(
        None, None, None, None, None, None, None,
        performance=aggregates.PerformanceTotals(91.0, 2.0, 90, 2),
        recent=(
            ("last hour", aggregates.PerformanceTotals(65.0, 12.5, 7, 1)),
            ("last 15 min", None),
        ),
    )  # fmt: skip
    heads = {h.key: h for h in headlines(k, Thresholds(), LevelMemory())}
    sl, abandon = heads["service_level"], heads["abandon_rate"]
    assert (sl.value, sl.level) == ("91%", OK)
    assert sl.detail == "last hour 65% · last 15 min --"
    assert (abandon.value, abandon.level) == ("2.0%", OK)
    assert abandon.detail == "last hour 12% · last 15 min --"
    assert sl.feed == abandon.feed == "performance"


def test_only_voicemails_not_yet_returned_are_waiting_and_aged() -> None:
    voicemail = pd.DataFrame(
        {
            "received_at": pd.to_datetime(
                [NOW - timedelta(hours=3), NOW - timedelta(hours=1), NOW - timedelta(minutes=5)],
                utc=True,
            ),
            "returned_at": pd.to_datetime(
                [NOW - timedelta(hours=2), pd.NaT, NOW + timedelta(minutes=1)], utc=True
            ),
            "caller": pd.array(["a", "b", "c"], dtype="string"),
            "campaign_name": pd.array(["X", "X", "Y"], dtype="string"),
        }
    )
    waiting = aggregates.waiting_voicemail(voicemail, NOW)
    assert waiting["caller"].tolist() == ["b", "c"]  # returned after now: still waiting now
    assert aggregates.voicemail_ages(voicemail, NOW) == (3600.0, 300.0)
    k = aggregates.kpis(None, None, voicemail, NOW, tz="UTC")
    assert (k.voicemail, k.voicemail_returned, k.median_return_s) == (2.0, 1, 3600.0)
    returned = tables.returned_table(voicemail, "UTC", NOW)
    assert returned.frame["Caller"].tolist() == ["a"]
    assert returned.frame["Took"].tolist() == [3600.0]


# --- sparklines ---------------------------------------------------------------------------------


def test_sparklines_show_each_quarters_worst_moment_and_leave_unknowns_out() -> None:
    from ipscape.presentation.sparklines import (
        agent_sparklines,
        campaign_sparklines,
        performance_sparklines,
    )

    at = pd.to_datetime(
        ["2026-03-02T00:01Z", "2026-03-02T00:01Z", "2026-03-02T00:07Z", "2026-03-02T00:20Z"],
        utc=True,
    )
    history = pd.DataFrame(
        {
            "at": at,
            "campaign_id": pd.array([1, 2, 1, 1], dtype="Int64"),
            "calls_waiting": pd.array([2, 3, 1, None], dtype="Int64"),
            "max_wait_s": pd.array([10.0, 50.0, 20.0, None], dtype="Float64"),
            "ewt_s": pd.array([5.0, 6.0, 70.0, 30.0], dtype="Float64"),
        }
    )
    lines = campaign_sparklines(history)
    # 00:00-00:15: polls of 5 and 1 waiting -> 5; 00:15-00:30: nothing known -> left out
    assert lines["calls_waiting"] == [5.0]
    assert lines["longest_wait"] == [50.0]
    assert lines["ewt"] == [70.0, 30.0]
    states = pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-03-02T00:01Z", "2026-03-02T00:01Z", "2026-03-02T00:05Z"]),
            "state": pd.array(["Available", "Busy", "Busy"], dtype="string"),
            "agents": pd.array([4, 6, 9], dtype="Int64"),
        }
    )
    assert agent_sparklines(states) == {"agents_free": [0.0]}  # the 00:05 poll had nobody free
    trend = pd.DataFrame(
        {
            "service_level_pct": pd.array([90.0, None, 70.0], dtype="Float64"),
            "abandon_rate_pct": pd.array([1.0, None, 4.0], dtype="Float64"),
        }
    )
    assert performance_sparklines(trend) == {
        "service_level": [90.0, 70.0],
        "abandon_rate": [1.0, 4.0],
    }
    assert campaign_sparklines(history.iloc[0:0]) == {} == performance_sparklines(trend.iloc[0:0])


def test_a_scoped_walls_sparklines_add_up_its_own_campaigns_only() -> None:
    from ipscape.presentation.sparklines import history_sparklines

    at = pd.to_datetime(
        ["2026-03-02T00:01Z"] * 3 + ["2026-03-02T00:16Z"] * 3 + ["2026-03-02T00:31Z"], utc=True
    )
    history = pd.DataFrame(
        {
            "at": at,
            "campaign_id": pd.array([1, 2, 3, 1, 2, 3, None], dtype="Int64"),
            "calls_waiting": pd.array([2, 3, 40, 1, 5, 40, 90], dtype="Int64"),
            "max_wait_s": pd.array([10.0, 50.0, 900.0, 20.0, None, 900.0, 999.0], dtype="Float64"),
            "ewt_s": pd.array([5.0, 6.0, 800.0, 7.0, 8.0, 800.0, 999.0], dtype="Float64"),
            "agents_available": pd.array([1, 2, 30, 0, None, 30, 99], dtype="Int64"),
        }
    )
    states = pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-03-02T00:01Z", "2026-03-02T00:16Z"], utc=True),
            "state": pd.array(["Available", "Available"], dtype="string"),
            "agents": pd.array([50, 60], dtype="Int64"),
        }
    )
    lines = history_sparklines(history, states, [2, 1])
    # the sum of campaigns 1 and 2 (not a share of everyone's), their longest and largest; the
    # row of no known campaign (00:31) and campaign 3 are left out
    assert lines == {
        "calls_waiting": [5.0, 6.0],
        "longest_wait": [50.0, 20.0],
        "ewt": [6.0, 8.0],
        # the agent-state history counts everyone: the scope's own campaign counts instead
        "agents_free": [3.0, 0.0],
    }
    everyone = history_sparklines(history, states)
    assert everyone["calls_waiting"] == [45.0, 46.0, 90.0]
    assert everyone["agents_free"] == [50.0, 60.0]
    assert history_sparklines(history, states, [7]) == {}  # a campaign with no history


def test_time_in_state_is_also_a_share_of_its_alert_limit() -> None:
    from ipscape.config import Threshold

    frame = pd.DataFrame(
        {
            "agent_id": pd.array([1, 2, 3, 4], dtype="Int64"),
            "agent_name": pd.array(["A", "B", "C", "D"], dtype="string"),
            "state": pd.array(["Paused", "Busy", "LoggedOut", "Wrap"], dtype="string"),
            "time_in_state_s": pd.array([1500.0, 300.0, 9000.0, None], dtype="Float64"),
            "pause_reason": pd.array([None] * 4, dtype="string"),
            "campaign_ids": [()] * 4,
        }
    )
    thresholds = Thresholds(time_in_state_s=Threshold(600, 1200, 0))
    table = tables.agent_table(frame, {}, LevelMemory(), thresholds)
    shares = dict(zip(table.frame["Agent"], table.frame["Of the limit"], strict=True))
    assert shares["A"] == 1.0  # past the limit: a full bar
    assert shares["B"] == pytest.approx(0.25)
    assert pd.isna(shares["C"]) and pd.isna(shares["D"])  # logged out, unknown: no bar
    assert str(table.frame["Of the limit"].dtype) == "Float64"
