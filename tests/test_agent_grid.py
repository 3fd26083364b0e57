"""The agent grid: one cell per agent, by state then longest in it, every state written out,
every vendor string escaped; on the Agents page and as the wall's "grid" view (AppTest; the
200-agent fit at 1080p is checked in a real browser in tests/test_browser_wall.py)."""

from __future__ import annotations

import pandas as pd

from ipscape.config import Threshold, Thresholds
from ipscape.presentation.agent_grid import agent_grid
from ipscape.presentation.levels import ALERT, OK, UNKNOWN, WARN, LevelMemory
from ipscape.simulator import RunningSimulator
from tests.app_support import api, open_page
from ui.agent_grid import grid_html

HOSTILE = '<img src=x onerror="alert(1)"> [click](https://evil.example) **bold**'


def agents(*rows: tuple[object, str | None, float | None]) -> pd.DataFrame:
    """(name, state, seconds in state) per agent."""
    return pd.DataFrame(
        {
            "agent_id": pd.array(range(1, len(rows) + 1), dtype="Int64"),
            "agent_name": pd.array([r[0] for r in rows], dtype="string"),
            "state": pd.array([r[1] for r in rows], dtype="string"),
            "time_in_state_s": pd.array([r[2] for r in rows], dtype="Float64"),
            "campaign_ids": [(7,)] * len(rows),
        }
    )


THRESHOLDS = Thresholds(time_in_state_s=Threshold(600, 1200, 0))


def test_cells_go_by_state_then_longest_in_it_and_logged_out_agents_are_left_out() -> None:
    frame = agents(
        ("Paula", "Paused", 700.0),
        ("Bea", "Busy", 30.0),
        ("Ava", "Available", 5.0),
        ("Lou", "LoggedOut", 9000.0),
        ("Bob", "Busy", 300.0),
        ("Cal", "Coaching", 10.0),  # a tenant's own state: after the known ones
        ("Nia", None, None),
    )
    grid = agent_grid(frame, THRESHOLDS, LevelMemory())
    assert [c.name for c in grid.cells] == ["Ava", "Bob", "Bea", "Paula", "Cal", "Nia"]
    assert grid.logged_out == 1
    assert [c.time_in_state for c in grid.cells][:3] == ["0:05", "5:00", "0:30"]
    everyone = agent_grid(frame, THRESHOLDS, LevelMemory(), include_logged_out=True)
    assert "Lou" in [c.name for c in everyone.cells] and everyone.logged_out == 0


def test_an_agent_over_its_time_in_state_threshold_is_flagged_not_only_coloured() -> None:
    frame = agents(("Paula", "Paused", 700.0), ("Pete", "Paused", 1300.0), ("Ava", "Busy", 10.0))
    by_name = {c.name: c for c in agent_grid(frame, THRESHOLDS, LevelMemory()).cells}
    assert (by_name["Pete"].level, by_name["Paula"].level, by_name["Ava"].level) == (
        ALERT,
        WARN,
        OK,
    )
    html = grid_html(agent_grid(frame, THRESHOLDS, LevelMemory()))
    assert html.count("level-alert") == 1 and html.count("level-warn") == 1
    assert "■ Paused · 21:40" in html and "▲ Paused · 11:40" in html  # the icon says it too
    unknown = agent_grid(agents(("Nia", "Busy", None)), THRESHOLDS, LevelMemory()).cells[0]
    assert unknown.level is UNKNOWN and unknown.time_in_state == "--"


def test_vendor_names_and_states_are_escaped_in_the_markup() -> None:
    grid = agent_grid(agents((HOSTILE, HOSTILE, 12.0)), THRESHOLDS, LevelMemory())
    html = grid_html(grid)
    assert "<img" not in html and 'onerror="' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    # an unknown state gets the neutral colour, never one the tenant chose
    assert grid.cells[0].fill == "#BBBBBB"


def test_the_agents_page_draws_a_cell_for_every_working_agent(
    app_tenant: RunningSimulator,
) -> None:
    statuses = api(app_tenant, "/v3.0/agents/status")
    working = [a for a in statuses if a["state"] != "LoggedOut"]
    at = open_page("agents")
    assert not at.exception
    (grid,) = [h.proto.body for h in at.get("html") if "agent-grid" in h.proto.body]
    assert grid.count('class="agent-cell') == len(working)
    off = len(statuses) - len(working)
    if off:
        assert any(f"{off} logged-out agent(s) not shown" in c.value for c in at.caption)


def test_the_wall_grid_view_shows_the_state_counts_and_the_cells(
    app_tenant: RunningSimulator,
) -> None:
    statuses = api(app_tenant, "/v3.0/agents/status")
    busy = sum(a["state"] == "Busy" for a in statuses)
    at = open_page("wall", kiosk="1", view="grid")
    assert not at.exception
    (grid,) = [h.proto.body for h in at.get("html") if "agent-grid" in h.proto.body]
    assert grid.count('class="agent-cell') == sum(a["state"] != "LoggedOut" for a in statuses)
    assert any(f"Busy {busy}" in c.value for c in at.caption)
