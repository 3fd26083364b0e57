"""Frames -> plotly figures, and nothing else: no I/O, no Streamlit, no number formats or
aggregates of its own (those live in ipscape/presentation/).

Rules every figure follows:
- bounded: bars, lines, points and Sankey links are capped, so a large tenant or a long day
  cannot make a page slow or a browser tab grow;
- ``layout.uirevision`` is fixed per chart, so a live rerun keeps the viewer's zoom and legend;
- colours come from the Okabe-Ito palette (safe for the common colour-vision deficiencies) and a
  level or state is always also written as text (and as a bar pattern), never colour alone;
- vendor strings (campaign, agent, caller names) go through `escape_label`, because plotly renders
  a subset of HTML in labels and hover text (``<b>``, ``<br>``, ``<a href>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ipscape.presentation.aggregates import (
    agent_state_counts,
    bucket_counts,
    count_by_campaign,
    local_naive,
    transfer_links,
)
from ipscape.presentation.formats import count, duration, number
from ipscape.presentation.levels import LEVEL_COLOURS, LEVEL_PATTERNS, OK, UNKNOWN, Level
from ipscape.presentation.text import escape_label
from ipscape.states import LOGGED_OUT, STATE_COLOURS, grouped_states, ordered

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",
)

MAX_BARS = 60
MAX_LINES = 12
MAX_POINTS_PER_LINE = 500
MAX_LINKS = 150

_LAYOUT = {
    # room at the top for the title and, under it, the legend (they overlapped at 40)
    "margin": {"l": 8, "r": 8, "t": 72, "b": 8},
    "font": {"size": 15},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "hoverlabel": {"font_size": 15},
}


def _floats(series: pd.Series) -> list[float | None]:
    return [number(v) for v in series]


def _figure(title: str, uirevision: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={
            "text": title,
            "x": 0,
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 8},
        },
        uirevision=uirevision,
        **_LAYOUT,
    )
    return fig


def empty_figure(title: str, message: str, uirevision: str) -> go.Figure:
    """A chart frame that says why it is empty instead of drawing blank axes."""
    fig = _figure(title, uirevision)
    fig.add_annotation(
        text=escape_label(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# --- campaigns -------------------------------------------------------------------------------


def campaign_bar_chart(
    campaigns: pd.DataFrame,
    column: str,
    *,
    title: str,
    levels: Mapping[Any, Level] | None = None,
    durations: bool = False,
    uirevision: str | None = None,
    max_bars: int = MAX_BARS,
) -> go.Figure:
    """Horizontal bars of ``column`` per campaign, largest at the top.

    ``levels`` maps campaign_id -> `Level`; each bar is coloured, patterned and labelled with
    it (a campaign missing from it is unknown). Unknown values get no bar and the label "--".
    ``customdata`` holds the campaign id, so a click can filter by campaign.
    """
    uirevision = uirevision or f"campaign-{column}"
    if campaigns.empty:
        return empty_figure(title, "No campaigns yet", uirevision)
    frame = campaigns.assign(_v=pd.to_numeric(campaigns[column], errors="coerce"))
    frame = frame.sort_values("_v", ascending=False, na_position="last").head(max_bars)
    frame = frame.iloc[::-1]  # plotly draws the first category at the bottom
    ids = list(frame["campaign_id"])
    shown = [(levels or {}).get(cid, UNKNOWN) if levels else OK for cid in ids]
    values = _floats(frame["_v"])
    fmt = duration if durations else count
    text = [
        f"{fmt(v)}  {lv.badge if lv is not UNKNOWN else '--'}" if levels else fmt(v)
        for v, lv in zip(values, shown, strict=True)
    ]
    fig = _figure(title, uirevision)
    fig.add_bar(
        x=[0 if v is None else v for v in values],
        y=[escape_label(n) for n in frame["campaign_name"]],
        orientation="h",
        text=text,
        textposition="auto",
        customdata=ids,
        marker={
            "color": [LEVEL_COLOURS[lv.colour] for lv in shown],
            "pattern": {"shape": [LEVEL_PATTERNS[lv.colour] for lv in shown]},
        },
        hovertemplate="%{y}: %{text}<extra></extra>",
    )
    fig.update_layout(height=max(260, 28 * len(frame) + 80))
    if durations:
        fig.update_xaxes(title_text="seconds")
    return fig


def _thinned_rows(rows: pd.DataFrame, max_points: int) -> pd.DataFrame:
    step = max(1, math.ceil(len(rows) / max_points))
    if step > 1:  # keep the latest point: it is the one people look at
        rows = pd.concat([rows.iloc[:-1:step], rows.iloc[[-1]]])
    return rows


def _shifted_x(times: pd.Series, tz: str, days: int) -> list:
    """Local times moved forward ``days`` days of clock time, so an earlier day's points sit
    over the same clock times of the range they are compared with."""
    return list(local_naive(times, tz) + pd.Timedelta(days=days))


def wait_trend_chart(
    history: pd.DataFrame,
    column: str,
    *,
    tz: str,
    title: str,
    uirevision: str | None = None,
    max_lines: int = MAX_LINES,
    max_points: int = MAX_POINTS_PER_LINE,
    compare: pd.DataFrame | None = None,
    compare_days: int = 0,
    compare_label: str = "",
) -> go.Figure:
    """One line per campaign over the range, for the ``max_lines`` campaigns highest at its end;
    with ``compare`` (the same campaigns ``compare_days`` earlier), a dotted, paler line of the
    same colour for each, drawn over the same clock times."""
    uirevision = uirevision or f"trend-{column}"
    if history.empty or column not in history:
        return empty_figure(title, "No history for this range and these campaigns", uirevision)
    frame = history.sort_values("at")
    latest = frame.groupby("campaign_id")[column].last().astype("Float64").fillna(-1)
    chosen = list(latest.sort_values(ascending=False).index[:max_lines])
    earlier = (
        compare.sort_values("at")
        if compare is not None and not compare.empty and column in compare
        else None
    )
    fig = _figure(title, uirevision)
    for i, cid in enumerate(chosen):
        rows = _thinned_rows(frame[frame["campaign_id"] == cid], max_points)
        name = escape_label(rows["campaign_name"].iloc[-1])
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        fig.add_scatter(
            x=list(local_naive(rows["at"], tz)),
            y=_floats(rows[column]),
            mode="lines",
            name=name,
            legendgroup=str(cid),
            line={"color": colour, "dash": ("solid", "dash", "dot")[i // 8 % 3]},
            connectgaps=False,
        )
        if earlier is None:
            continue
        before = earlier[earlier["campaign_id"] == cid]
        if before.empty:
            continue
        before = _thinned_rows(before, max_points)
        fig.add_scatter(
            x=_shifted_x(before["at"], tz, compare_days),
            y=_floats(before[column]),
            mode="lines",
            name=f"{name} ({compare_label})",
            legendgroup=str(cid),
            line={"color": colour, "dash": "dot", "width": 1.5},
            opacity=0.55,
            connectgaps=False,
        )
    fig.update_xaxes(title_text=f"time ({tz})")
    return fig


def service_level_trend_chart(
    trend: pd.DataFrame,
    *,
    tz: str,
    target_pct: float,
    alert_pct: float,
    title: str = "Per 15 minutes, with the abandon rate",
    uirevision: str = "service-level-trend",
    compare: pd.DataFrame | None = None,
    compare_days: int = 0,
    compare_label: str = "",
    empty_message: str = "No answered or abandoned calls yet today",
) -> go.Figure:
    """Service level (and abandon rate) per bucket of the ``service-level`` feed, as points on
    lines that break where a bucket had no calls (unknown, not 0 %), with the warn and alert
    levels drawn across; the y axis is fixed at 0-100 so a good and a bad day look different.
    With ``compare`` (the same trend ``compare_days`` earlier), its service level is a grey
    dotted line over the same clock times."""
    if trend.empty or not trend["service_level_pct"].notna().any():
        return empty_figure(title, empty_message, uirevision)
    fig = _figure(title, uirevision)
    x = list(local_naive(trend["bucket_start"], tz))
    fig.add_scatter(
        x=x,
        y=_floats(trend["service_level_pct"]),
        mode="lines+markers",
        name="Service level %",
        line={"color": OKABE_ITO[0], "width": 3},
        connectgaps=False,
    )
    fig.add_scatter(
        x=x,
        y=_floats(trend["abandon_rate_pct"]),
        mode="lines+markers",
        name="Abandon rate %",
        line={"color": OKABE_ITO[1], "dash": "dot"},
        connectgaps=False,
    )
    if compare is not None and not compare.empty and compare["service_level_pct"].notna().any():
        fig.add_scatter(
            x=_shifted_x(compare["bucket_start"], tz, compare_days),
            y=_floats(compare["service_level_pct"]),
            mode="lines",
            name=f"Service level % ({compare_label})",
            line={"color": "#8c8c8c", "dash": "dot", "width": 2},
            connectgaps=False,
        )
    for level, at, dash in (("warn", target_pct, "dash"), ("alert", alert_pct, "dot")):
        fig.add_hline(
            y=at,
            line={"color": LEVEL_COLOURS[level], "dash": dash, "width": 1},
            annotation_text=f"{level} {at:g}%",
            annotation_position="bottom right",
        )
    fig.update_yaxes(range=[0, 105], title_text="%")
    fig.update_xaxes(title_text=f"time ({tz})")
    return fig


# --- agents ----------------------------------------------------------------------------------


def agent_state_chart(agents: pd.DataFrame, *, title: str = "Agents by state") -> go.Figure:
    uirevision = "agent-states"
    if agents.empty:
        return empty_figure(title, "No agents reported", uirevision)
    counts = agent_state_counts(agents)
    fig = _figure(title, uirevision)
    fig.add_bar(
        x=[escape_label(s) for s in counts["state"]],
        y=list(counts["agents"]),
        text=[
            f"{escape_label(s)}: {n}"
            for s, n in zip(counts["state"], counts["agents"], strict=True)
        ],
        textposition="auto",
        marker={"color": [STATE_COLOURS.get(s, "#999999") for s in counts["state"]]},
        hovertemplate="%{x}: %{y}<extra></extra>",
    )
    fig.update_layout(height=320)
    return fig


def agent_state_trend_chart(
    history: pd.DataFrame,
    *,
    tz: str,
    title: str = "Agents by state today",
    max_points: int = MAX_POINTS_PER_LINE,
    compare: pd.DataFrame | None = None,
    compare_days: int = 0,
    compare_label: str = "",
) -> go.Figure:
    """Stacked areas of agents per state over the range (from the history store), states in
    the usual order, each also named in the legend and hover so colour is never the only cue.
    With ``compare`` (the same history ``compare_days`` earlier), the agents then logged in
    (every state but logged out) are a dotted line over the same clock times."""
    uirevision = "agent-state-trend"
    if history.empty:
        return empty_figure(title, "No history for this range", uirevision)
    # The day may hold more names than one moment does (the kept few change): group again.
    history = (
        history.assign(state=grouped_states(history["state"], history["agents"]))
        .groupby(["at", "state"], as_index=False)["agents"]
        .sum(min_count=1)
    )
    fig = _figure(title, uirevision)
    for state in ordered(history["state"].dropna()):
        rows = _thinned_rows(history[history["state"] == state].sort_values("at"), max_points)
        fig.add_scatter(
            x=list(local_naive(rows["at"], tz)),
            y=_floats(rows["agents"]),
            mode="lines",
            stackgroup="agents",
            name=escape_label(state),
            line={"color": STATE_COLOURS.get(state, "#999999"), "width": 1},
            hovertemplate=f"{escape_label(state)}: %{{y}}<extra></extra>",
        )
    if compare is not None and not compare.empty:
        working = compare[compare["state"].ne(LOGGED_OUT).fillna(True)]
        logged_in = working.groupby("at", as_index=False)["agents"].sum(min_count=1)
        logged_in = _thinned_rows(logged_in.sort_values("at"), max_points)
        label = f"Logged in ({compare_label})"
        fig.add_scatter(
            x=_shifted_x(logged_in["at"], tz, compare_days),
            y=_floats(logged_in["agents"]),
            mode="lines",
            name=label,
            line={"color": "#555555", "dash": "dot", "width": 2},
            hovertemplate=f"{label}: %{{y}}<extra></extra>",
        )
    fig.update_xaxes(title_text=f"time ({tz})")
    return fig


def agent_state_by_campaign_chart(
    by_campaign: pd.DataFrame,
    *,
    title: str = "Agents by state per campaign",
    max_bars: int = MAX_BARS,
) -> go.Figure:
    """Stacked bars from `agent_state_by_campaign`: one trace per state, named in the legend."""
    uirevision = "agent-states-campaign"
    if by_campaign.empty:
        return empty_figure(title, "No agents reported", uirevision)
    totals = by_campaign.groupby("campaign_id")["agents"].sum().sort_values(ascending=False)
    keep = list(totals.index[:max_bars])
    frame = by_campaign[by_campaign["campaign_id"].isin(keep)]
    names = frame.drop_duplicates("campaign_id").set_index("campaign_id")["campaign_name"]
    order = [escape_label(names[c]) for c in reversed(keep)]
    fig = _figure(title, uirevision)
    for state in ordered(frame["state"]):
        rows = frame[frame["state"] == state]
        fig.add_bar(
            x=list(rows["agents"]),
            y=[escape_label(n) for n in rows["campaign_name"]],
            orientation="h",
            name=escape_label(state),
            marker={"color": STATE_COLOURS.get(state, "#999999")},
            hovertemplate="%{y}, " + escape_label(state) + ": %{x}<extra></extra>",
        )
    fig.update_layout(barmode="stack", height=max(260, 26 * len(keep) + 100))
    fig.update_yaxes(categoryorder="array", categoryarray=order)
    return fig


# --- transfers -------------------------------------------------------------------------------


def transfer_flow_chart(
    transfers: pd.DataFrame, *, by: str = "campaign", max_links: int = MAX_LINKS
) -> go.Figure:
    """Sankey of transfers from campaign/agent to campaign/agent.

    Sources and targets are separate nodes ("from"/"to" columns), so a transfer within one
    campaign is drawn as a flow instead of a loop plotly cannot lay out.
    """
    title = f"Transfers by {by}"
    uirevision = f"transfer-flow-{by}"
    links = transfer_links(transfers, by)
    if links.empty:
        return empty_figure(title, "No transfers today", uirevision)
    links = links.head(max_links)
    sources = list(dict.fromkeys(links["source"]))
    targets = list(dict.fromkeys(links["target"]))
    labels = [escape_label(s) for s in sources] + [f"→ {escape_label(t)}" for t in targets]
    fig = _figure(title, uirevision)
    fig.add_trace(
        go.Sankey(
            node={
                "label": labels,
                "color": [OKABE_ITO[4]] * len(sources) + [OKABE_ITO[0]] * len(targets),
                "pad": 12,
            },
            link={
                "source": [sources.index(s) for s in links["source"]],
                "target": [len(sources) + targets.index(t) for t in links["target"]],
                "value": [int(v) for v in links["transfers"]],
            },
        )
    )
    fig.update_layout(height=max(320, 22 * max(len(sources), len(targets)) + 80))
    return fig


def transfer_count_chart(transfers: pd.DataFrame, *, tz: str, freq: str = "15min") -> go.Figure:
    title = f"Transfers per {freq.replace('min', ' min')}"
    uirevision = "transfer-count"
    times = (
        transfers["transferred_at"] if "transferred_at" in transfers else pd.Series(dtype=object)
    )
    buckets = bucket_counts(times, tz=tz, freq=freq)
    if buckets.empty:
        return empty_figure(title, "No transfers today", uirevision)
    fig = _figure(title, uirevision)
    fig.add_bar(
        x=list(buckets["start"]),
        y=[int(c) for c in buckets["count"]],
        marker={"color": OKABE_ITO[4]},
        hovertemplate="%{x|%H:%M}: %{y}<extra></extra>",
    )
    fig.update_xaxes(title_text=f"time ({tz})")
    fig.update_layout(height=300, bargap=0.1)
    return fig


# --- voicemail / activities ------------------------------------------------------------------


def count_bar_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    empty_message: str,
    uirevision: str,
    levels: Mapping[Any, Level] | None = None,
    max_bars: int = MAX_BARS,
) -> go.Figure:
    """Rows per campaign as bars; ``customdata`` is the campaign id, for click-to-filter."""
    counts = count_by_campaign(frame)
    if counts.empty:
        return empty_figure(title, empty_message, uirevision)
    counts = counts.assign(value=counts["count"].astype("Float64"))
    return campaign_bar_chart(
        counts, "value", title=title, levels=levels, uirevision=uirevision, max_bars=max_bars
    )
