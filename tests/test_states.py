"""A tenant's own state names are grouped past a few: bounded tiles, traces and history rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape import charts
from ipscape.config import Thresholds
from ipscape.history import SQLiteHistory
from ipscape.presentation import aggregates, tables
from ipscape.presentation.levels import LevelMemory
from ipscape.simulator import RunningSimulator
from ipscape.states import MAX_UNKNOWN_STATES, OTHER, STATE_ORDER, grouped_states, state_counts
from tests.app_support import point_app_at
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")
MOST = len(STATE_ORDER) + MAX_UNKNOWN_STATES + 1  # known, the most common others, "Other"
MANY = 2000


def agents_in(states: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agent_id": pd.array(range(1, len(states) + 1), dtype="Int64"),
            "agent_name": pd.array([f"Agent {i}" for i in range(len(states))], dtype="string"),
            "state": pd.array(states, dtype="string"),
            "time_in_state_s": pd.array([60.0] * len(states), dtype="Float64"),
            "pause_reason": pd.array([None] * len(states), dtype="string"),
            "campaign_ids": [(101,)] * len(states),
        }
    )


def custom(count: int) -> list[str]:
    return [f"Custom {i:04d}" for i in range(count)]


def test_a_few_unknown_states_are_kept_as_they_are() -> None:
    states = ["Busy", "Lunch", "Training", None, *custom(MAX_UNKNOWN_STATES - 2)]
    assert grouped_states(pd.Series(states)).tolist() == [
        s if s is not None else pd.NA for s in states
    ]


def test_unknown_states_past_the_limit_count_together_as_other() -> None:
    states = ["Available"] * 3 + ["Lunch"] * 5 + custom(MANY)
    counts = state_counts(pd.Series(states))
    assert len(counts) == 1 + MAX_UNKNOWN_STATES + 1
    assert counts.index[0] == "Available" and counts.index[-1] == OTHER
    assert counts["Lunch"] == 5  # the most common other name is kept
    assert counts.sum() == len(states)  # every agent is counted once
    assert counts[OTHER] == MANY - (MAX_UNKNOWN_STATES - 1)


def test_which_names_are_kept_does_not_depend_on_the_order_agents_arrive_in() -> None:
    states = pd.Series(custom(40))
    forward = state_counts(states)
    backward = state_counts(states[::-1].reset_index(drop=True))
    assert forward.to_dict() == backward.to_dict()


def test_known_states_are_never_grouped() -> None:
    states = list(STATE_ORDER) + custom(MANY)
    counts = state_counts(pd.Series(states))
    assert all(counts[s] == 1 for s in STATE_ORDER)


def test_totals_charts_and_history_agree_on_the_grouping(tmp_path: Path) -> None:
    agents = agents_in(["Busy", *custom(MANY)])
    totals = aggregates.agent_state_totals(agents)
    assert len(totals) <= MOST and totals[OTHER] == MANY - MAX_UNKNOWN_STATES
    assert aggregates.agent_state_counts(agents)["state"].tolist() == list(totals)
    by_campaign = aggregates.agent_state_by_campaign(agents, {101: "Sales"})
    assert set(by_campaign["state"]) == set(totals)
    assert len(charts.agent_state_chart(agents).data[0].x) == len(totals)

    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    with SQLiteHistory(tmp_path / "h.sqlite", 1, clock=at.timestamp) as history:
        history.append_agent_states(agents, at)
        stored = history.agent_state_history(at - timedelta(minutes=1))
    assert dict(zip(stored["state"], stored["agents"], strict=True)) == totals


def test_the_agent_table_keeps_each_agents_own_state_and_filters_by_other() -> None:
    agents = agents_in(["Busy", *custom(MANY)])
    table = tables.agent_table(agents, {101: "Sales"}, LevelMemory(), Thresholds()).frame
    assert set(table["State"]) == {"Busy", *custom(MANY)}
    others = tables.agent_table(
        agents, {101: "Sales"}, LevelMemory(), Thresholds(), states=[OTHER]
    ).frame
    assert len(others) == MANY - MAX_UNKNOWN_STATES
    assert OTHER not in set(others["State"])


def test_a_day_of_changing_custom_names_stays_a_few_trend_lines() -> None:
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    rows = [
        {"at": start + timedelta(minutes=m), "state": name, "agents": 1}
        for m in range(30)
        for name in custom(MAX_UNKNOWN_STATES + 30)[m : m + MAX_UNKNOWN_STATES]
    ]
    history = pd.DataFrame(rows).astype({"state": "string", "agents": "Int64"})
    fig = charts.agent_state_trend_chart(history, tz="Australia/Sydney")
    assert len(fig.data) <= MOST


# --- the app, against a tenant with 2,000 state names -----------------------------------------


@pytest.mark.parametrize("page", ["agents", "overview"])
def test_a_tenant_with_2000_state_names_gets_a_few_tiles_and_history_rows(
    page: str,
    app_env: Path,
    sim_factory: Callable[..., RunningSimulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = tuple(custom(MANY))
    sim = sim_factory(agents=MANY, extra_names=names)
    point_app_at(sim, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120).run()
    if page != "overview":
        at.switch_page(f"screens/{page}.py").run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    live = runtime.live()
    if page == "agents":
        labels = [m.label for m in at.metric]
        assert len(labels) <= MOST
        assert OTHER in labels
        assert len(at.dataframe[-1].value) == MANY  # one row per agent, own state shown
        assert set(at.dataframe[-1].value["State"]) <= set(names)
    assert live.history is not None
    since = live.now() - timedelta(hours=1)
    stored = live.history.agent_state_history(since)
    assert 0 < len(stored) <= MOST
    assert stored["agents"].sum() == MANY
