"""Chart builders: figures carry the frame's values, stay bounded, and never render vendor HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from ipscape import charts
from ipscape.presentation import aggregates, formats
from ipscape.presentation.levels import ALERT, LEVEL_COLOURS, OK, WARN
from ipscape.presentation.text import escape_label

NOW = datetime(2025, 7, 7, 1, 0, tzinfo=UTC)  # 11:00 in Sydney


def campaigns(n: int = 3, ewt: list[float | None] | None = None) -> pd.DataFrame:
    ewt = ewt if ewt is not None else [30.0 * (i + 1) for i in range(n)]
    return pd.DataFrame(
        {
            "campaign_id": pd.array(range(1, n + 1), dtype="Int64"),
            "campaign_name": pd.array([f"Campaign {i}" for i in range(1, n + 1)], dtype="string"),
            "ewt_s": pd.array(ewt, dtype="Float64"),
            "calls_waiting": pd.array([i for i in range(n)], dtype="Int64"),
        }
    )


def bar(fig):  # the one bar trace of a campaign chart
    (trace,) = fig.data
    return trace


def test_campaign_bars_carry_values_largest_on_top_and_ids_for_clicks() -> None:
    fig = charts.campaign_bar_chart(campaigns(), "ewt_s", title="EWT", durations=True)
    trace = bar(fig)
    # plotly draws the first category at the bottom: the largest comes last
    assert list(trace.y) == ["Campaign 1", "Campaign 2", "Campaign 3"]
    assert list(trace.x) == [30.0, 60.0, 90.0]
    assert list(trace.customdata) == [1, 2, 3]
    assert list(trace.text) == ["0:30", "1:00", "1:30"]


def test_levels_are_written_and_patterned_not_only_coloured() -> None:
    levels = {1: OK, 2: WARN, 3: ALERT}
    trace = bar(charts.campaign_bar_chart(campaigns(), "ewt_s", title="EWT", levels=levels))
    assert [t.split("  ")[1] for t in trace.text] == ["OK ✓", "WARN ▲", "ALERT ■"]
    assert list(trace.marker.pattern.shape) == ["", "/", "x"]
    assert list(trace.marker.color) == [
        LEVEL_COLOURS["ok"],
        LEVEL_COLOURS["warn"],
        LEVEL_COLOURS["alert"],
    ]


def test_unknown_value_is_labelled_dashes_not_zero() -> None:
    trace = bar(charts.campaign_bar_chart(campaigns(2, [None, 45.0]), "ewt_s", title="EWT"))
    assert list(trace.text) == ["--", "45"]


def test_bar_chart_is_capped_to_the_largest_campaigns() -> None:
    fig = charts.campaign_bar_chart(campaigns(80), "ewt_s", title="EWT", max_bars=10)
    trace = bar(fig)
    assert len(trace.y) == 10
    assert trace.y[-1] == "Campaign 80"


def test_figures_keep_zoom_across_live_updates() -> None:
    a = charts.campaign_bar_chart(campaigns(), "ewt_s", title="EWT")
    b = charts.campaign_bar_chart(campaigns(3, [1.0, 2.0, 3.0]), "ewt_s", title="EWT")
    assert a.layout.uirevision == b.layout.uirevision == "campaign-ewt_s"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<b>Sales</b>", "&lt;b&gt;Sales&lt;/b&gt;"),
        ('<a href="javascript:alert(1)">x</a>', '&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;'),
        ("R&D", "R&amp;D"),
        (None, "--"),
    ],
)
def test_escape_label_neutralises_plotly_html(raw: object, shown: str) -> None:
    assert escape_label(raw) == shown


def test_hostile_campaign_names_are_escaped_in_the_figure() -> None:
    frame = campaigns(1)
    frame["campaign_name"] = pd.array(["<img src=x onerror=alert(1)>"], dtype="string")
    fig = charts.campaign_bar_chart(frame, "ewt_s", title="EWT")
    assert "<img" not in fig.to_json()


def test_empty_frame_gives_a_figure_that_says_so() -> None:
    fig = charts.campaign_bar_chart(campaigns(0), "ewt_s", title="EWT")
    assert fig.layout.annotations[0].text == "No campaigns yet"


def history(points: int, campaigns_n: int = 2) -> pd.DataFrame:
    rows = []
    for c in range(1, campaigns_n + 1):
        for i in range(points):
            rows.append(
                {
                    "at": NOW - timedelta(seconds=10 * (points - i)),
                    "campaign_id": c,
                    "campaign_name": f"C{c}",
                    "ewt_s": float(c * 10 + i % 5),
                }
            )
    frame = pd.DataFrame(rows)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def test_trend_has_a_line_per_campaign_in_the_display_time_zone() -> None:
    fig = charts.wait_trend_chart(history(4), "ewt_s", tz="Australia/Sydney", title="EWT")
    assert sorted(t.name for t in fig.data) == ["C1", "C2"]
    last = fig.data[0].x[-1]
    assert pd.Timestamp(last).hour == 10  # 00:59:50 UTC is 10:59:50 AEST


def test_trend_is_thinned_but_keeps_the_latest_point() -> None:
    frame = history(5000, campaigns_n=1)
    fig = charts.wait_trend_chart(frame, "ewt_s", tz="UTC", title="EWT", max_points=100)
    (line,) = fig.data
    assert len(line.x) <= 101
    assert pd.Timestamp(line.x[-1]) == frame["at"].iloc[-1].tz_localize(None)


def test_agent_state_trend_stacks_states_in_the_usual_order_with_their_counts() -> None:
    at = pd.to_datetime([NOW - timedelta(minutes=1), NOW], utc=True)
    frame = pd.DataFrame(
        {
            "at": [at[0], at[0], at[1], at[1], at[1]],
            "state": ["Paused", "Available", "Paused", "Available", "Busy"],
            "agents": [1, 5, 2, 3, 4],
        }
    )
    fig = charts.agent_state_trend_chart(frame, tz="UTC")
    assert [t.name for t in fig.data] == ["Available", "Busy", "Paused"]
    assert {t.stackgroup for t in fig.data} == {"agents"}
    assert list(fig.data[0].y) == [5.0, 3.0] and list(fig.data[2].y) == [1.0, 2.0]
    assert fig.data[1].line.color == charts.STATE_COLOURS["Busy"]
    assert fig.layout.uirevision == "agent-state-trend"


def test_agent_state_trend_without_history_says_so() -> None:
    empty = pd.DataFrame({"at": pd.to_datetime([], utc=True), "state": [], "agents": []})
    fig = charts.agent_state_trend_chart(empty, tz="UTC")
    assert not fig.data
    assert "No history for this range" in fig.layout.annotations[0].text


def test_trend_without_history_says_so() -> None:
    empty = pd.DataFrame(columns=["at", "campaign_id", "campaign_name", "ewt_s"])
    fig = charts.wait_trend_chart(empty, "ewt_s", tz="UTC", title="EWT")
    assert not fig.data
    assert "No history for this range" in fig.layout.annotations[0].text


def transfers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "from_campaign": pd.array(["Sales", "Sales", "Support", "<i>x</i>"], dtype="string"),
            "to_campaign": pd.array(["Support", "Support", "Support", None], dtype="string"),
            "from_agent": pd.array(["Ann", "Bob", "Ann", "Cy"], dtype="string"),
            "to_agent": pd.array(["Dee", "Dee", "Eve", "Eve"], dtype="string"),
            "transferred_at": pd.to_datetime(
                [NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=40), None], utc=True
            ),
        }
    )


def test_sankey_links_count_transfers_between_campaigns() -> None:
    fig = charts.transfer_flow_chart(transfers(), by="campaign")
    (sankey,) = fig.data
    labels = list(sankey.node.label)
    flows = {
        (labels[s], labels[t]): v
        for s, t, v in zip(sankey.link.source, sankey.link.target, sankey.link.value, strict=True)
    }
    assert flows[("Sales", "→ Support")] == 2
    assert flows[("Support", "→ Support")] == 1  # within one campaign: a flow, not a loop
    assert flows[("&lt;i&gt;x&lt;/i&gt;", "→ --")] == 1


def test_sankey_by_agent_and_capped_links() -> None:
    fig = charts.transfer_flow_chart(transfers(), by="agent", max_links=2)
    assert len(fig.data[0].link.value) == 2


def test_transfer_counts_per_quarter_hour_fill_empty_buckets_with_zero() -> None:
    buckets = aggregates.bucket_counts(transfers()["transferred_at"], tz="UTC", freq="15min")
    assert list(buckets["count"]) == [2, 0, 1]


def test_agent_state_counts_in_fixed_order_with_unknown_states_kept() -> None:
    agents = pd.DataFrame(
        {"state": pd.array(["Busy", "Available", "Busy", "OnMars", None], dtype="string")}
    )
    counts = aggregates.agent_state_counts(agents)
    assert list(counts["state"]) == ["Available", "Busy", "OnMars", "Unknown"]
    assert list(counts["agents"]) == [1, 2, 1, 1]


def test_agents_count_once_in_each_of_their_campaigns() -> None:
    agents = pd.DataFrame(
        {
            "agent_id": [1, 2],
            "state": pd.array(["Busy", "Available"], dtype="string"),
            "campaign_ids": [(1, 2), (2,)],
        }
    )
    by = aggregates.agent_state_by_campaign(agents, {1: "Sales", 2: "Support"})
    got = {(r.campaign_name, r.state): r.agents for r in by.itertuples()}
    assert got == {("Sales", "Busy"): 1, ("Support", "Busy"): 1, ("Support", "Available"): 1}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "--"),
        (float("nan"), "--"),
        (0, "0:00"),
        (75, "1:15"),
        (3725, "1 h 02 m"),
        (36145, "10 h 02 m"),
    ],
)
def test_format_duration(seconds: object, text: str) -> None:
    assert formats.duration(seconds) == text


def sl_trend(levels: list[float | None], abandons: list[float | None]) -> pd.DataFrame:
    start = pd.Timestamp("2026-03-02T00:00:00Z")
    return pd.DataFrame(
        {
            "bucket_start": pd.date_range(start, periods=len(levels), freq="15min"),
            "answered": pd.array([0 if v is None else 10 for v in levels], dtype="Int64"),
            "abandoned": pd.array([0] * len(levels), dtype="Int64"),
            "service_level_pct": pd.array(levels, dtype="Float64"),
            "abandon_rate_pct": pd.array(abandons, dtype="Float64"),
        }
    )


def test_service_level_trend_breaks_where_a_quarter_had_no_calls() -> None:
    fig = charts.service_level_trend_chart(
        sl_trend([90.0, None, 60.0], [2.0, None, 12.5]),
        tz="Australia/Sydney",
        target_pct=80,
        alert_pct=70,
    )
    level, abandon = fig.data
    assert list(level.y) == [90.0, None, 60.0] and level.connectgaps is False
    assert list(abandon.y) == [2.0, None, 12.5]
    assert str(level.x[0]) == "2026-03-02 11:00:00"  # local time of the display zone
    # the warn and alert levels are drawn across, with their values
    lines = sorted(shape.y0 for shape in fig.layout.shapes)
    assert lines == [70, 80]
    assert list(fig.layout.yaxis.range) == [0, 105]  # a bad day looks bad


def test_service_level_trend_without_calls_says_so() -> None:
    fig = charts.service_level_trend_chart(
        sl_trend([None, None], [None, None]), tz="UTC", target_pct=80, alert_pct=70
    )
    assert not fig.data
    assert "No answered or abandoned calls" in fig.layout.annotations[0].text


def _history(day: datetime, ewt: float) -> pd.DataFrame:
    moments = [day + timedelta(hours=h) for h in range(3)]
    return pd.DataFrame(
        {
            "at": pd.to_datetime(moments, utc=True),
            "campaign_id": pd.array([7, 7, 7], dtype="Int64"),
            "campaign_name": pd.array(["Sales"] * 3, dtype="string"),
            "ewt_s": pd.array([ewt] * 3, dtype="Float64"),
        }
    )


def test_an_earlier_day_is_drawn_dotted_over_the_same_clock_times() -> None:
    today = datetime(2026, 3, 12, 9, tzinfo=UTC)
    fig = charts.wait_trend_chart(
        _history(today, 60.0),
        "ewt_s",
        tz="UTC",
        title="EWT",
        compare=_history(today - timedelta(days=7), 30.0),
        compare_days=7,
        compare_label="same day last week",
    )
    now, before = fig.data
    assert before.name == "Sales (same day last week)" and before.line.dash == "dot"
    assert list(before.x) == list(now.x)  # moved onto today's clock times
    assert list(before.y) == [30.0] * 3 and before.legendgroup == now.legendgroup
    assert before.line.color == now.line.color


def test_a_comparison_without_rows_for_a_campaign_adds_nothing_for_it() -> None:
    today = datetime(2026, 3, 12, 9, tzinfo=UTC)
    other = _history(today - timedelta(days=1), 30.0).assign(
        campaign_id=pd.array([8] * 3, dtype="Int64")
    )
    fig = charts.wait_trend_chart(
        _history(today, 60.0), "ewt_s", tz="UTC", title="EWT", compare=other, compare_days=1
    )
    assert len(fig.data) == 1


def test_the_service_level_of_an_earlier_day_is_a_grey_dotted_line() -> None:
    start = datetime(2026, 3, 12, 9, tzinfo=UTC)

    def trend(day: datetime, pct: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "bucket_start": pd.to_datetime([day, day + timedelta(minutes=15)], utc=True),
                "service_level_pct": pd.array([pct, None], dtype="Float64"),
                "abandon_rate_pct": pd.array([5.0, None], dtype="Float64"),
            }
        )

    fig = charts.service_level_trend_chart(
        trend(start, 90.0),
        tz="UTC",
        target_pct=80,
        alert_pct=70,
        compare=trend(start - timedelta(days=1), 60.0),
        compare_days=1,
        compare_label="yesterday",
    )
    earlier = next(t for t in fig.data if t.name == "Service level % (yesterday)")
    assert list(earlier.x) == list(fig.data[0].x) and list(earlier.y) == [60.0, None]


def test_agents_logged_in_on_an_earlier_day_are_a_dotted_line_over_todays_states() -> None:
    today = datetime(2026, 3, 12, 9, tzinfo=UTC)

    def states(day: datetime, busy: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "at": pd.to_datetime([day] * 3, utc=True),
                "state": pd.array(["Busy", "Available", "LoggedOut"], dtype="string"),
                "agents": pd.array([busy, 2, 40], dtype="Int64"),
            }
        )

    fig = charts.agent_state_trend_chart(
        states(today, 5),
        tz="UTC",
        compare=states(today - timedelta(days=1), 9),
        compare_days=1,
        compare_label="yesterday",
    )
    earlier = next(t for t in fig.data if t.name == "Logged in (yesterday)")
    assert list(earlier.y) == [11.0]  # 9 busy + 2 available; logged-out agents are not in
    assert list(earlier.x) == list(fig.data[0].x) and earlier.stackgroup is None
