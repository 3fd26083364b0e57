"""Drill-down: activities filtered by campaign, agent, lead, time window and type.

The filters live in the URL (read on load, written on change) so a view can be shared and
bookmarked; clicking a campaign bar filters by it; the CSV export is exactly the table shown.
"""

import streamlit as st

from ipscape import charts
from ui import auth, layout, tiles, views
from ui.glossary import glossary

ctx = layout.page_start("Drill-down")
words = glossary(ctx.tz)
PARAMS = ("campaign", "agent", "lead", "window", "type")
KEYS = {name: f"dd_{name}" for name in PARAMS}
FUTURE_NOTE = (
    "The tenant dated these more than 5 minutes after its own now (a clock problem on its side). "
    "They are kept out of the live views and of the incremental fetch until their time comes."
)


def _load_from_url() -> list[str]:
    """Seed the filter widgets from the URL once per distinct URL; returns notes on bad values."""
    params = {name: st.query_params.get(name) for name in PARAMS}
    remembered = st.session_state.get("dd_loaded")
    if remembered and not any(params.values()):
        # Switching pages drops the query string and the widgets' state; this session's
        # filters are kept (and written back to the URL below) rather than reset.
        params = remembered
    filters, notes = views.filters_from_params(params)
    widgets_gone = any(KEYS[name] not in st.session_state for name in PARAMS)
    if remembered != params or widgets_gone:
        for name in PARAMS:
            value = getattr(filters, name)
            st.session_state[KEYS[name]] = (
                ""
                if name == "lead" and value is None
                else (str(value) if name == "lead" else value)
            )
        st.session_state["dd_loaded"] = params
    return notes


def _filters_from_widgets() -> tuple[views.DrillFilters, list[str]]:
    raw = {
        "campaign": st.session_state.get(KEYS["campaign"]),
        "agent": st.session_state.get(KEYS["agent"]),
        "lead": st.session_state.get(KEYS["lead"]),
        "window": st.session_state.get(KEYS["window"]),
        "type": st.session_state.get(KEYS["type"]),
    }
    return views.filters_from_params({k: "" if v is None else str(v) for k, v in raw.items()})


def _write_url(filters: views.DrillFilters) -> None:
    params = views.filters_to_params(filters)
    current = {name: st.query_params.get(name) for name in PARAMS if name in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
    # Remember what we wrote, so the next run does not reseed the widgets from it.
    st.session_state["dd_loaded"] = {name: params.get(name) for name in PARAMS}


def _on_chart_select() -> None:
    event = st.session_state.get("dd_chart")
    points = event.selection.points if event is not None else []
    campaign = views.campaign_from_selection(points)
    if campaign is not None:
        st.session_state[KEYS["campaign"]] = campaign


def _options(current: object, known: dict) -> list:
    options = [None, *sorted(known, key=lambda k: known[k])]
    if current is not None and current not in known:
        options.append(current)
    return options


# An analysis view, not a wall tile: it refreshes once a minute at most, so a table being read,
# a row being selected or a CSV being downloaded is not pulled away every few seconds.
@auth.live_fragment(max(60.0, ctx.config.poll.activities_s))
def drilldown() -> None:
    notes = _load_from_url()
    for note in notes:
        st.caption(tiles.plain(note))
    campaigns = ctx.live.campaigns()
    names = views.campaign_names(campaigns.frame)
    agents = ctx.live.agents().frame
    agent_names = (
        {a: n for a, n in zip(agents["agent_id"], agents["agent_name"], strict=True)}
        if len(agents)
        else {}
    )
    agent_names = {k: ("--" if charts.is_unknown(v) else str(v)) for k, v in agent_names.items()}
    c1, c2, c3, c4, c5 = st.columns([3, 3, 2, 2, 2])
    with c1:
        current = st.session_state.get(KEYS["campaign"])
        st.selectbox(
            "Campaign",
            _options(current, names),
            format_func=lambda c: "All" if c is None else names.get(c, f"#{c}"),
            key=KEYS["campaign"],
        )
    with c2:
        current = st.session_state.get(KEYS["agent"])
        st.selectbox(
            "Agent",
            _options(current, agent_names),
            format_func=lambda a: "All" if a is None else agent_names.get(a, f"#{a}"),
            key=KEYS["agent"],
        )
    with c3:
        st.text_input("Lead id", key=KEYS["lead"], max_chars=20)
    with c4:
        st.selectbox(
            "Time window", list(views.WINDOWS), format_func=views.WINDOWS.get, key=KEYS["window"]
        )
    with c5:
        current = st.session_state.get(KEYS["type"])
        types = {t: t for t in (*views.KNOWN_TYPES, *([current] if current else []))}
        st.selectbox(
            "Type",
            _options(current, types),
            format_func=lambda t: "All" if t is None else t,
            key=KEYS["type"],
        )

    filters, bad = _filters_from_widgets()
    for note in bad:
        st.caption(tiles.plain(note))
    _write_url(filters)

    now = ctx.live.now()
    since, until = views.window_bounds(filters.window, now, ctx.tz)
    result = ctx.live.query_activities(
        campaign_id=filters.campaign,
        agent_id=filters.agent,
        lead_id=filters.lead,
        since=since,
        until=until,
        activity_type=filters.type,
    )
    tiles.render_freshness(result, ctx.tz)
    if result.state != "error" and campaigns.state == "error":
        # This query's own result is still within its interval, but the tenant is failing now:
        # say so rather than let a cached answer look like all is well.
        st.error(
            tiles.plain(
                f"The tenant is failing now: {campaigns.error} These results came earlier."
            ),
            icon="⚠️",
        )
    matched = len(result.frame)
    # Bounded: the newest MAX_TABLE_ROWS are shown (and exported); narrower filters show the rest.
    rows = views.sort_activities(result.frame).head(views.MAX_TABLE_ROWS)
    table = views.activities_table(rows, ctx.tz)

    st.plotly_chart(
        charts.count_bar_chart(
            rows,
            title="Activities per campaign (click a bar to filter)",
            empty_message="No activities match these filters",
            uirevision="dd-campaigns",
        ),
        width="stretch",
        key="dd_chart",
        on_select=_on_chart_select,
        selection_mode="points",
    )
    shown = (
        f"{len(table)} activities"
        if len(table) == matched
        else (
            f"the newest {len(table)} of {matched} activities (narrow the filters to see the rest)"
        )
    )
    st.caption(tiles.plain(f"Showing {shown} · {words['times']}"))
    strange = views.unknown_types(rows)
    if strange:
        st.caption(
            tiles.plain(
                f"Kept as-is, types this dashboard does not know: {', '.join(strange)}. "
                "Select a row to see its raw data."
            )
        )
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="dd_rows",
    )
    st.download_button(
        "Download CSV (this table)",
        data=lambda: views.csv_bytes(table),  # built on click, from this very table
        file_name="activities.csv",
        mime="text/csv",
        key="dd_csv",
        on_click="ignore",
    )
    selected = picked.selection.rows if picked is not None else []
    if selected and selected[0] < len(rows):
        raw = rows["raw"].iloc[selected[0]]
        with st.expander("Raw data of the selected activity", expanded=True):
            st.json(raw if raw is not None else {})

    future = ctx.live.quarantined_activities()
    if len(future):
        with st.expander(f"{len(future)} activities dated in the future, held apart"):
            st.caption(tiles.plain(FUTURE_NOTE))
            st.dataframe(views.activities_table(future, ctx.tz), hide_index=True, width="stretch")

    if filters.lead is not None:
        st.subheader(f"Dial attempts of lead {filters.lead}")
        attempts = ctx.live.dial_attempts(filters.lead)
        tiles.render_freshness(attempts, ctx.tz)
        if attempts.frame.empty:
            st.info("No dial attempts for this lead.")
        else:
            st.dataframe(views.dial_summary(attempts.frame), hide_index=True, width="stretch")
            st.dataframe(
                views.dial_attempts_table(attempts.frame, ctx.tz),
                hide_index=True,
                width="stretch",
            )


drilldown()
layout.page_footer(ctx)
