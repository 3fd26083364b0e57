"""The wall display: kiosk URL rules, time-derived schedule, and the page against a simulator."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st_h

from ipscape import feeds
from ipscape.client import IpscapeClient
from ipscape.clock import ManualClock
from ipscape.config import DashboardConfig, PollConfig, WallConfig, load_config
from ipscape.live import LiveData
from ipscape.presentation.levels import ALERT, LEVEL_COLOURS, OK, WARN
from ipscape.presentation.scope import scope_frame
from ipscape.presentation.tables import Column, table_of
from ipscape.presentation.wall import (
    BOARD_TICK_S,
    MIN_ROTATE_S,
    VIEWS,
    UrlSwitches,
    WallParams,
    board_tick_s,
    current_view,
    is_open,
    next_reload,
    parse_open_hours,
    parse_wall_params,
    pixel_shift,
    token_allowed,
    url_switches,
    wall_schedule,
)
from ipscape.presentation.wall_models import TABLE_ROWS, Tile, tile_freshness, wall_table
from ipscape.settings import settings_from_mapping
from ipscape.simulator import RunningSimulator
from ipscape.snapshots import Snapshot
from tests.app_support import APP, RUN_TIMEOUT, SCREEN_SCRIPTS

WALL = WallConfig()
SYDNEY = "Australia/Sydney"


# --- URL parameters ------------------------------------------------------------------------------


def test_a_full_kiosk_url_is_read_as_asked() -> None:
    params = parse_wall_params(
        {"kiosk": "1", "rotate": "20", "campaigns": "1,2,5", "theme": "light"}, WALL
    )
    assert params == WallParams(
        kiosk=True, rotate_s=20.0, campaigns=(1, 2, 5), theme="light", notes=()
    )


def test_no_parameters_mean_the_config_defaults() -> None:
    params = parse_wall_params({}, WallConfig(rotate_s=45))
    assert (params.kiosk, params.rotate_s, params.campaigns, params.theme) == (
        False,
        45.0,
        (),
        "dark",
    )
    assert params.views == VIEWS and params.notes == ()


@pytest.mark.parametrize(
    ("key", "value", "note"),
    [
        ("rotate", "abc", "ignored rotate=abc"),
        ("rotate", "2", "ignored rotate=2"),
        ("rotate", "-20", "ignored rotate=-20"),
        ("rotate", "nan", "ignored rotate=nan"),
        ("rotate", "1e9", "ignored rotate=1e9"),
        ("theme", "purple", "ignored theme=purple"),
        ("kiosk", "maybe", "ignored kiosk=maybe"),
        ("view", "sales", "ignored view=sales"),
    ],
)
def test_an_invalid_value_is_ignored_with_a_note(key: str, value: str, note: str) -> None:
    params = parse_wall_params({key: value}, WALL)
    defaults = parse_wall_params({}, WALL)
    assert any(n.startswith(note) for n in params.notes), params.notes
    assert replace(params, notes=()) == defaults


def test_rotate_zero_switches_rotation_off() -> None:
    assert parse_wall_params({"rotate": "0"}, WALL).rotate_s == 0


def test_the_shortest_rotation_allowed_is_accepted() -> None:
    assert parse_wall_params({"rotate": str(MIN_ROTATE_S)}, WALL).rotate_s == MIN_ROTATE_S


def test_bad_campaign_ids_are_dropped_and_good_ones_kept() -> None:
    params = parse_wall_params({"campaigns": "1, x,2,,2,-3"}, WALL)
    assert params.campaigns == (1, 2)
    assert params.notes == ("ignored campaigns=x,-3 (campaign ids are numbers)",)


def test_unknown_parameters_are_noted_but_streamlits_own_are_not() -> None:
    params = parse_wall_params({"foo": "1", "embed": "true"}, WALL)
    assert params.notes == ("ignored foo (unknown)",)


def test_a_note_never_echoes_markup_or_long_values() -> None:
    params = parse_wall_params({"theme": "<script>alert(1)</script>" * 5}, WALL)
    (note,) = params.notes
    assert "<" not in note and ">" not in note
    assert len(note) < 80


def test_a_token_value_is_never_echoed() -> None:
    params = parse_wall_params({"token": "s3cret-token-value", "rotate": "x"}, WALL)
    assert params.token == "s3cret-token-value"
    assert all("s3cret" not in n for n in params.notes)
    assert "s3cret" not in repr(params)


def test_repeated_parameters_use_the_last_value() -> None:
    assert parse_wall_params({"rotate": ["abc", "30"]}, WALL).rotate_s == 30


def test_views_choose_the_rotation_and_view_pins_one() -> None:
    assert parse_wall_params({"views": "agents,overview,agents"}, WALL).views == (
        "agents",
        "overview",
    )
    assert parse_wall_params({"view": "voicemail"}, WALL).views == ("voicemail",)


def test_many_problems_are_summarised_in_a_few_notes() -> None:
    params = parse_wall_params({f"x{i}": "1" for i in range(20)}, WALL)
    assert len(params.notes) <= 6 and params.notes[-1].startswith("… and")


@given(st_h.dictionaries(st_h.text(max_size=12), st_h.text(max_size=40), max_size=8))
def test_no_query_string_makes_the_parser_raise(raw: dict[str, str]) -> None:
    params = parse_wall_params(raw, WALL)
    assert params.rotate_s == 0 or MIN_ROTATE_S <= params.rotate_s <= 3600
    assert params.theme in ("dark", "light") and params.views


# --- kiosk tokens --------------------------------------------------------------------------------

TOKENS = ("a" * 20, "b" * 24)


def test_no_configured_tokens_means_no_token_needed() -> None:
    assert token_allowed(None, ())


def test_a_configured_token_is_required_and_must_match() -> None:
    assert token_allowed("b" * 24, TOKENS)
    assert not token_allowed(None, TOKENS)
    assert not token_allowed("", TOKENS)
    assert not token_allowed("b" * 23, TOKENS)
    assert not token_allowed("ä" * 20, TOKENS)


# --- rotation ------------------------------------------------------------------------------------


def test_the_view_follows_the_wall_clock() -> None:
    shown = [current_view(t, 20, VIEWS).view for t in (0, 19.9, 20, 40, 60, 80)]
    assert shown == ["overview", "overview", "agents", "voicemail", "transfers", "overview"]


def test_two_screens_and_a_reload_agree_on_the_view() -> None:
    now = 1_750_000_123.4
    assert current_view(now, 15, VIEWS) == current_view(now, 15, VIEWS)


def test_seconds_left_count_down_to_the_next_view() -> None:
    rotation = current_view(105.0, 20, VIEWS)
    assert (rotation.index, rotation.seconds_left) == (1, 15.0)


def test_the_board_redraws_every_few_seconds_and_twice_per_view() -> None:
    assert board_tick_s(0) == BOARD_TICK_S
    assert board_tick_s(60) == BOARD_TICK_S
    assert board_tick_s(MIN_ROTATE_S) == MIN_ROTATE_S / 2
    # Never faster than the data can change, nor slower than the fastest feed brings it.
    assert board_tick_s(0, poll_s=8) == 8
    assert board_tick_s(0, poll_s=30) == BOARD_TICK_S
    assert board_tick_s(12, poll_s=8) == 6


def test_no_rotation_stays_on_the_first_view() -> None:
    rotation = current_view(1e9, 0, ("agents", "overview"))
    assert rotation.view == "agents" and math.isinf(rotation.seconds_left)


# --- opening hours -------------------------------------------------------------------------------


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=ZoneInfo(SYDNEY))


def test_the_board_is_bright_inside_opening_hours_only() -> None:
    hours = parse_open_hours("07:00-20:00")
    assert [is_open(_at(h), hours) for h in (6, 7, 19, 20, 23)] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_opening_hours_can_span_midnight() -> None:
    hours = parse_open_hours("20:00-06:00")
    assert [is_open(_at(h), hours) for h in (19, 20, 23, 0, 5, 6)] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]


def test_empty_opening_hours_mean_always_open() -> None:
    assert parse_open_hours("") is None and is_open(_at(3), None)


@pytest.mark.parametrize("text", ["7-20", "07:00", "25:00-26:00", "07:00-07:00", "ab:cd-ef:gh"])
def test_malformed_opening_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_open_hours(text)


def test_a_malformed_config_keeps_the_wall_bright_and_says_so() -> None:
    wall = WallConfig(open_hours="nine to five", reload_at="3am")
    schedule = wall_schedule(_at(2), WallParams(), wall, SYDNEY)
    assert not schedule.dimmed and schedule.reload_at is None
    assert schedule.notes == (
        "ignored wall.open_hours (use HH:MM-HH:MM)",
        "ignored wall.reload_at (use HH:MM)",
    )


def test_the_schedule_dims_outside_opening_hours() -> None:
    wall = WallConfig(open_hours="07:00-20:00")
    assert wall_schedule(_at(22), WallParams(), wall, SYDNEY).dimmed
    assert not wall_schedule(_at(12), WallParams(), wall, SYDNEY).dimmed


# --- pixel shift ---------------------------------------------------------------------------------


@given(st_h.floats(0, 4e9), st_h.integers(0, 20))
def test_the_pixel_shift_stays_within_its_amplitude(now: float, amplitude: int) -> None:
    dx, dy = pixel_shift(now, amplitude)
    assert abs(dx) <= amplitude and abs(dy) <= amplitude


def test_the_pixel_shift_moves_slowly_and_visits_the_whole_square() -> None:
    positions = [pixel_shift(minute * 60.0, 4) for minute in range(2 * 81 * 3)]
    steps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in itertools.pairwise(positions)]
    assert max(steps) == 1
    assert set(positions) == {(x, y) for x in range(-4, 5) for y in range(-4, 5)}
    assert pixel_shift(30.0, 4) == pixel_shift(59.0, 4)  # constant within a minute


def test_no_amplitude_means_no_shift() -> None:
    assert pixel_shift(12345.0, 0) == (0, 0)


# --- nightly reload ------------------------------------------------------------------------------


def test_the_next_reload_is_tonight_when_still_ahead() -> None:
    reload = next_reload(_at(1, 30), "03:00", SYDNEY)
    assert reload == _at(3)


def test_the_next_reload_is_tomorrow_once_passed() -> None:
    assert next_reload(_at(3), "03:00", SYDNEY) == _at(3) + timedelta(days=1)
    assert next_reload(_at(14), "03:00", SYDNEY) == _at(3) + timedelta(days=1)


def test_the_reload_time_is_local_to_the_display_zone() -> None:
    utc_now = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 02:00 on 2 March in Sydney
    reload = next_reload(utc_now, "03:00", SYDNEY)
    assert reload is not None
    assert reload.astimezone(ZoneInfo(SYDNEY)).time() == time(3, 0)
    assert reload - utc_now == timedelta(hours=1)


def test_a_reload_time_skipped_by_daylight_saving_still_happens_that_night() -> None:
    # Sydney skips 02:00-03:00 on 2026-10-04.
    before = datetime(2026, 10, 4, 1, 0, tzinfo=ZoneInfo(SYDNEY))
    reload = next_reload(before, "02:30", SYDNEY)
    assert reload is not None and reload.date() == before.date() and reload > before


def test_an_empty_reload_time_means_never() -> None:
    assert next_reload(_at(1), "", SYDNEY) is None


# --- campaign scope ------------------------------------------------------------------------------


def test_a_scoped_board_keeps_only_its_campaigns_rows() -> None:
    campaigns = pd.DataFrame({"campaign_id": pd.array([1, 2, 3, None], dtype="Int64")})
    assert list(scope_frame("campaigns", campaigns, (1, 3))["campaign_id"]) == [1, 3]
    agents = pd.DataFrame({"agent_id": [1, 2, 3], "campaign_ids": [(1,), (2, 3), ()]})
    assert list(scope_frame("agents", agents, (3,))["agent_id"]) == [2]
    transfers = pd.DataFrame(
        {
            "from_campaign_id": pd.array([1, 2, None], dtype="Int64"),
            "to_campaign_id": pd.array([2, 2, 1], dtype="Int64"),
        }
    )
    assert len(scope_frame("transfers", transfers, (1,))) == 2
    assert scope_frame("campaigns", campaigns, ()) is campaigns


# --- Streamlit's URL switches ---------------------------------------------------------------------


def test_a_kiosk_asks_streamlit_for_its_embed_mode_and_every_wall_for_its_theme() -> None:
    kiosk = url_switches(parse_wall_params({"kiosk": "1", "theme": "light"}, WALL))
    assert kiosk == UrlSwitches(embed=True, theme_option="light_theme")
    preview = url_switches(parse_wall_params({}, WALL))
    assert preview == UrlSwitches(embed=False, theme_option="dark_theme")


# --- view models ---------------------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _snapshot(
    state: str = "fresh", age_s: float | None = 4.0, error: str | None = None
) -> Snapshot:
    fetched = None if age_s is None else NOW - timedelta(seconds=age_s)
    return Snapshot(
        feed="campaigns",
        frame=pd.DataFrame(),
        fetched_at=fetched,
        state=state,  # type: ignore[arg-type]
        error=error,
        error_at=None,
        interval_s=8,
        taken_at=NOW,
    )


@pytest.mark.parametrize(
    ("snapshot", "line"),
    [
        (_snapshot(), "updated 4 s ago"),
        (_snapshot("stale", 45), "STALE 45 s"),
        (_snapshot("error", 130, "refused"), "NO CONNECTION · data 2 min old"),
        (_snapshot("error", None, "refused"), "NO CONNECTION"),
        (_snapshot("empty", None), "waiting for data…"),
    ],
)
def test_a_tile_says_how_old_its_data_is(snapshot: Snapshot, line: str) -> None:
    assert tile_freshness(snapshot) == line


def test_a_tiles_key_carries_its_feed_state_and_level_for_the_css() -> None:
    assert Tile("waiting", "Waiting", "12", _snapshot("stale"), ALERT).key == (
        "wall-tile-waiting--stale--alert"
    )
    # A number without a threshold has no level at all, not an unknown one.
    assert Tile("free", "Agents free", "3 / 9", _snapshot()).key == "wall-tile-free--fresh--none"
    assert Tile("vm", "Voicemail", "2", _snapshot(), detail="Oldest: 4:35.").caption == (
        "Oldest: 4:35. · updated 4 s ago"
    )


def test_a_wall_table_is_text_in_the_columns_formats_with_levels_beside_its_rows() -> None:
    columns = (
        Column("Status"),
        Column("Agent"),
        Column("Time", "duration"),
        Column("Calls", "count"),
        Column("At", "time"),
    )
    at = pd.Timestamp("2026-03-02 15:04:05", tz=SYDNEY)
    rows = 3 + TABLE_ROWS
    table = table_of(
        {
            "Status": ["ALERT ■", "OK ✓", "WARN ▲"] + ["OK ✓"] * TABLE_ROWS,
            "Agent": ["*Ann*", None, "Bo"] + ["x"] * TABLE_ROWS,
            "Time": pd.array([275.0, None, 3725.0] + [1.0] * TABLE_ROWS, dtype="Float64"),
            "Calls": pd.array([1234, None, 2] + [0] * TABLE_ROWS, dtype="Int64"),
            "At": [at, pd.NaT, at] + [at] * TABLE_ROWS,
        },
        columns,
        [ALERT, OK, WARN] + [OK] * TABLE_ROWS,
    )
    keep = [True, False] + [True] * (rows - 2)
    shown = wall_table(table, ["Status", "Agent", "Time", "Calls", "At"], SYDNEY, keep=keep)
    assert shown.rows[:2] == (
        ("ALERT ■", "*Ann*", "4:35", "1,234", "15:04:05"),
        ("WARN ▲", "Bo", "1 h 02 m", "2", "15:04:05"),
    )
    assert shown.levels[:2] == (ALERT, WARN)
    assert len(shown.rows) == len(shown.levels) == TABLE_ROWS
    assert shown.more == rows - 1 - TABLE_ROWS
    unknown = wall_table(table, ["Agent", "Time", "Calls", "At"], SYDNEY).rows[1]
    assert unknown == ("--", "--", "--", "--")


def test_the_wall_assets_are_filled_in_with_our_own_values_only() -> None:
    from ui import wall as ui_wall

    for asset in (ui_wall.BOARD_CSS, ui_wall.WATCHDOG_SCRIPT, ui_wall.board_state_css(2, -3, True)):
        assert "${" not in asset and "$" not in asset
    for colour in LEVEL_COLOURS.values():
        assert colour in ui_wall.BOARD_CSS
    # st.html's sanitiser drops a style element whose text has "<" before a letter or a slash.
    for name in ("wall.css", "board-state.css"):
        assert not re.search(r"<[/\w!]", (ui_wall.ASSETS / name).read_text(encoding="utf-8"))
    assert ui_wall.board_state_css(2, -3, True).count("px") == 2
    assert f"#{ui_wall.WATCHDOG_ID}" in ui_wall.BOARD_CSS
    assert f'"{ui_wall.WATCHDOG_ID}"' in ui_wall.WATCHDOG_SCRIPT


# --- the page (AppTest) against a simulator ------------------------------------------------------


def _config(tmp_path: Path, **wall: object) -> DashboardConfig:
    return DashboardConfig(
        title="Wall Test",
        poll=PollConfig(campaigns_s=8, agents_s=8, activities_s=8, jitter_s=0, error_backoff_s=1),
        wall=WallConfig(**wall),  # type: ignore[arg-type]
    )


@pytest.fixture
def wall_app(
    simulator: RunningSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[callable, LiveData, ManualClock, RunningSimulator]]:  # type: ignore[valid-type]
    """The wall page as AppTest, reading from a LiveData on a manual clock over the simulator.

    The LiveData is the real one (client, pollers, simulator over HTTP); only its clock is
    manual, so staleness can be produced without waiting.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui import runtime

    settings = settings_from_mapping(
        {
            "IPSCAPE_BASE_URL": simulator.api_root,
            "IPSCAPE_API_TOKEN": simulator.token,
            "IPSCAPE_SECRET_KEY_1": simulator.keys[0],
            "IPSCAPE_SECRET_KEY_2": simulator.keys[1],
        }
    )
    clock = ManualClock(datetime.now(UTC))
    current: dict[str, object] = {"config": _config(tmp_path)}
    live = LiveData(IpscapeClient(settings), current["config"], clock=clock)  # type: ignore[arg-type]
    assert live.collector is not None
    live.collector.run_due()  # the collector's first round, as at server boot
    current["live"] = live
    monkeypatch.setattr(runtime, "live", lambda: current["live"])
    monkeypatch.setattr(runtime, "dashboard_config", lambda: current["config"])

    def run(
        query: dict[str, str] | None = None,
        config: DashboardConfig | None = None,
        data: LiveData | None = None,
    ) -> AppTest:
        current["config"] = config or current["config"]
        current["live"] = data or live
        # Through the entry file, as a browser gets it (it checks access, then routes): a
        # kiosk URL lands on the wall, any other is switched to it as its menu link does.
        at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
        at.query_params.update(query or {})
        at.run()
        if (query or {}).get("kiosk") != "1":
            at.switch_page(SCREEN_SCRIPTS["wall"]).run()
        return at

    try:
        yield run, live, clock, simulator
    finally:
        live.close()
        st.cache_resource.clear()


def _metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def _captions(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.value for c in at.caption]


def test_the_wall_shows_the_tenants_numbers(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, *_ = wall_app
    at = run({"kiosk": "1", "rotate": "0"})
    assert not at.exception
    expected = feeds.fetch_campaigns(live.client, ())
    shown = _metrics(at)
    assert shown["Waiting"] == f"{int(expected['calls_waiting'].sum()):,}"
    agents_free = int((live.agents().frame["state"] == "Available").sum())
    assert shown["Agents free"].startswith(f"{agents_free} / ")
    assert any(c.endswith("updated 0 s ago") for c in _captions(at))
    assert "Wall Test" in [m.value for m in at.markdown]


def test_the_campaign_table_lists_the_tenants_campaigns_worst_first(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, *_ = wall_app
    at = run({"kiosk": "1", "rotate": "0"})
    table = at.table[0].value
    expected = feeds.fetch_campaigns(live.client, ())
    assert len(table) == len(expected)

    def rank(status: str) -> int:
        return next((r for word, r in (("ALERT", 2), ("WARN", 1), ("OK", 0)) if word in status), -1)

    statuses = [rank(s) for s in table["Status"]]
    assert statuses == sorted(statuses, reverse=True)


def test_a_scoped_wall_counts_only_its_campaigns(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, *_ = wall_app
    expected = feeds.fetch_campaigns(live.client, ())
    first = int(expected["campaign_id"].iloc[0])
    at = run({"kiosk": "1", "rotate": "0", "campaigns": str(first)})
    waiting = expected.loc[expected["campaign_id"] == first, "calls_waiting"].sum()
    assert _metrics(at)["Waiting"] == f"{int(waiting):,}"
    assert len(at.table[0].value) == 1


def _charts(at) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Each tile's sparkline points (empty: no sparkline)."""
    return {m.label: list(m.proto.chart_data) for m in at.metric}


# The tiles whose lines come from the history store (service level and abandon rate come from
# the service-level feed, which the collector publishes with or without history).
HISTORY_TILES = {
    "Waiting": "calls_waiting",
    "Longest": "longest_wait",
    "EWT max": "ewt",
    "Agents free": "agents_free",
}


def test_a_tile_draws_todays_shape_of_its_walls_own_campaigns(wall_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st

    from ipscape.clock import start_of_day
    from ipscape.history import SQLiteHistory
    from ipscape.presentation.sparklines import history_sparklines

    run, live, clock, _sim = wall_app
    st.cache_data.clear()  # the history read is shared per minute, whichever store it came from
    # Without history the tiles have their numbers and no sparkline.
    assert not any(_charts(run({"kiosk": "1", "rotate": "0"}))[label] for label in HISTORY_TILES)

    history = SQLiteHistory(tmp_path / "history.sqlite", 1, clock=clock)
    recorded = LiveData(IpscapeClient(live.client.settings), live.config, history, clock=clock)
    assert recorded.collector is not None
    try:
        recorded.collector.run_due()  # one poll so far: one point is no shape
        at = run({"kiosk": "1", "rotate": "0"}, data=recorded)
        assert not at.exception
        assert not any(_charts(at)[label] for label in HISTORY_TILES)

        # Earlier quarters of today, each busier than the last.
        campaigns = recorded.campaigns().frame
        since = start_of_day(recorded.now(), recorded.config.display_timezone)
        for quarter in range(4):
            busier = campaigns.assign(
                calls_waiting=campaigns["calls_waiting"].fillna(0) + quarter,
                max_wait_s=campaigns["max_wait_s"].fillna(0) + 60 * quarter,
            )
            history.append_campaigns(busier, since + timedelta(minutes=15 * quarter + 1))
            history.append_agent_states(
                recorded.agents().frame, since + timedelta(minutes=15 * quarter + 1)
            )
        first = int(campaigns["campaign_id"].iloc[0])
        stored = history.campaign_history(since), history.agent_state_history(since)
        st.cache_data.clear()
        everyone = _charts(run({"kiosk": "1", "rotate": "0"}, data=recorded))
        lines = history_sparklines(*stored)
        for label, key in HISTORY_TILES.items():
            assert len(lines[key]) > 1 and everyone[label] == pytest.approx(lines[key]), label

        scoped = _charts(run({"kiosk": "1", "rotate": "0", "campaigns": str(first)}, data=recorded))
        own = history_sparklines(*stored, [first])
        assert scoped["Waiting"] == pytest.approx(own["calls_waiting"])
        assert scoped["Agents free"] == pytest.approx(own["agents_free"])
        assert scoped["Waiting"] != everyone["Waiting"]  # the sum of its campaigns, not all
        # the service-level feed counts every campaign: a scoped wall draws no such line
        assert not scoped["Service level"] and not scoped["Abandoned"]
    finally:
        recorded.close()
        st.cache_data.clear()


def test_invalid_parameters_leave_a_note_and_no_exception(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, *_ = wall_app
    at = run({"kiosk": "1", "rotate": "abc", "theme": "plaid", "campaigns": "x"})
    assert not at.exception
    notes = " ".join(_captions(at))
    assert "ignored rotate=abc" in notes and "ignored theme=plaid" in notes
    assert "ignored campaigns=x" in notes
    assert at.metric  # whichever view the clock picked, the board is there


def test_each_view_renders_from_the_simulator(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, *_ = wall_app
    agents = run({"view": "agents"})
    assert not agents.exception
    totals = live.agents().frame["state"].value_counts()
    assert _metrics(agents)["Busy"] == str(int(totals.get("Busy", 0)))
    voicemail = run({"view": "voicemail"})
    held = live.voicemail().frame
    waiting = held["returned_at"].isna() | (held["returned_at"] > live.now())
    assert _metrics(voicemail)["Waiting"] == str(int(waiting.sum()))
    assert _metrics(voicemail)["Returned today"] == str(int((~waiting).sum()))
    transfers = run({"view": "transfers"})
    assert _metrics(transfers)["Transfers today"] == str(len(live.transfers().frame))


def test_a_failed_refresh_shows_the_banner_with_the_last_good_time(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, clock, sim = wall_app
    before = run({"kiosk": "1", "rotate": "0"})
    waiting = _metrics(before)["Waiting"]
    sim.inject({"kind": "status", "status": 503, "match": "*"})
    clock.advance(9)
    for poller in live.pollers.values():
        poller.refresh()
    at = run({"kiosk": "1", "rotate": "0"})
    assert not at.exception
    (banner,) = [e.value for e in at.error]
    assert "CONNECTION TO THE TENANT LOST" in banner and "showing data from" in banner
    # the last good numbers stay on screen, marked as not current
    assert _metrics(at)["Waiting"] == waiting
    assert any("NO CONNECTION" in c for c in _captions(at))
    sim.clear_faults()
    for poller in live.pollers.values():
        poller.refresh()
    recovered = run({"kiosk": "1", "rotate": "0"})
    assert not recovered.error
    assert not any("NO CONNECTION" in c for c in _captions(recovered))


def test_old_data_is_labelled_stale(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, clock, _sim = wall_app
    run({"kiosk": "1", "rotate": "0"})
    # 45 s later every feed but the campaigns has been refreshed (its poll is still on its way).
    clock.advance(45)
    for feed in ("agents", "activities"):
        live.pollers[feed].refresh()
    at = run({"kiosk": "1", "rotate": "0"})
    captions = _captions(at)
    assert captions.count("STALE 45 s") == 3, captions  # waiting, longest, EWT max
    assert not at.error  # stale is not an outage


def test_unknown_values_read_as_dashes_not_zero(wall_app) -> None:  # type: ignore[no-untyped-def]
    run, live, clock, sim = wall_app
    # A wall started while the tenant refuses both keys has never had any data.
    sim.inject(*({"kind": "revoke_key", "key": key} for key in sim.keys))
    never = LiveData(IpscapeClient(live.client.settings), live.config, clock=clock)
    assert never.collector is not None
    never.collector.run_due()
    try:
        at = run({"kiosk": "1", "rotate": "0"}, data=never)
    finally:
        never.close()
    assert not at.exception
    shown = _metrics(at)
    assert shown["Waiting"] == "--" and shown["Longest"] == "--"
    assert shown["Agents free"] == "-- / --"


def test_a_wall_with_kiosk_tokens_refuses_a_missing_or_wrong_token(
    wall_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    run, *_ = wall_app
    toml = tmp_path / "dashboard.toml"
    toml.write_text(f'[wall]\nkiosk_tokens = ["{"t" * 20}"]\n', encoding="utf-8")
    with_tokens = load_config(toml)
    for query in ({"kiosk": "1"}, {"kiosk": "1", "token": "nope"}):
        denied = run(query, config=with_tokens)
        assert next(e.value for e in denied.error).startswith("Access denied")
        assert not denied.metric
    allowed = run({"kiosk": "1", "token": "t" * 20, "rotate": "0"})
    assert not allowed.error and "Waiting" in _metrics(allowed)
    assert all("t" * 20 not in c for c in _captions(allowed))


def test_the_page_injects_only_constant_markup(wall_app) -> None:  # type: ignore[no-untyped-def]
    from ui import wall as ui_wall

    run, *_ = wall_app
    at = run({"kiosk": "1", "rotate": "0", "theme": "dark"})
    bodies = [h.proto.body for h in at.get("html")]
    assert ui_wall.BOARD_CSS in bodies
    assert any(ui_wall.WATCHDOG_SCRIPT in b for b in bodies)
    # vendor text never reaches HTML: every body is ours, or our template with ints
    for body in bodies:
        assert "Sales" not in body and "Support" not in body


def test_the_wall_keeps_no_session_state_and_bounded_shared_state(wall_app) -> None:  # type: ignore[no-untyped-def]
    from ui import wall as ui_wall

    run, live, clock, _sim = wall_app
    at = run({"kiosk": "1", "rotate": "0"})
    for _ in range(10):
        clock.advance(1)
        for poller in live.pollers.values():
            poller.refresh()  # a new data version each time
        at.run()
        assert not at.exception
        assert len(at.session_state) == 0
    shared = ui_wall._shared()
    # one model per (view, scope, theme), replaced as the data changes: old versions are not kept
    assert len(shared.models) == 1
    assert len(shared.levels) <= shared.levels.max_keys


def test_wall_table_cells_read_as_their_kind_percentages_included() -> None:
    from ipscape.presentation import tables as table_models
    from ipscape.presentation.wall_models import wall_table

    table = table_models.table_of(
        {"Campaign": ["A", "B"], "Service level": [74.68354430379746, None]},
        (table_models.Column("Campaign"), table_models.Column("Service level", "percent")),
    )
    shown = wall_table(table, ["Campaign", "Service level"], "UTC")
    assert [row[1] for row in shown.rows] == ["75%", "--"]


@pytest.mark.parametrize(
    "settings",
    [
        {"views": ("overview", "grid"), "campaigns": (3, 1), "rotate_s": 30.0, "theme": "light"},
        {"views": ("grid",), "token": "k" * 20},
        {"views": VIEWS, "rotate_s": 0.0},
    ],
)
def test_the_wall_link_asks_for_exactly_what_was_chosen(settings: dict) -> None:
    from urllib.parse import parse_qs, urlsplit

    from ipscape.config import WallConfig
    from ipscape.presentation.wall import parse_wall_params, wall_link

    url = wall_link("https://wall.example:8443/dash/?x=1", **settings)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wall.example:8443", "/dash/")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    read = parse_wall_params(query, WallConfig(kiosk_tokens=("k" * 20,)))
    assert read.kiosk and read.notes == ()
    assert read.views == tuple(settings["views"])
    assert read.campaigns == tuple(settings.get("campaigns", ()))
    assert read.theme == settings.get("theme", "dark")
    assert read.token == settings.get("token")
    if len(settings["views"]) > 1:
        assert read.rotate_s == settings.get("rotate_s", 20.0)


def test_the_wall_link_refuses_what_no_wall_would_read() -> None:
    from ipscape.presentation.wall import wall_link

    with pytest.raises(ValueError, match="views"):
        wall_link("http://x/", views=("overview", "nope"))
    with pytest.raises(ValueError, match="rotate_s"):
        wall_link("http://x/", views=("overview", "agents"), rotate_s=2)


def test_the_wall_link_page_builds_the_link_from_its_form(app_tenant) -> None:  # type: ignore[no-untyped-def]
    from tests.app_support import open_page

    at = open_page("wall_link")
    assert not at.exception
    (views,) = [m for m in at.multiselect if m.label == "Views, in rotation order"]
    views.set_value(["overview", "grid"])
    at.number_input[0].set_value(15)
    (make,) = [b for b in at.button if b.label == "Make the link"]
    make.click().run()
    assert not at.exception
    (code,) = [c.value for c in at.code]
    assert "kiosk=1" in code and "rotate=15" in code and "views=overview,grid" in code
