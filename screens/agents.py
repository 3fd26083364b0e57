"""Agents: who is in which state, for how long, and who has been there too long."""

import streamlit as st

from ipscape import charts
from ui import auth, layout, tiles, views
from ui.glossary import glossary

ctx = layout.page_start("Agents")
words = glossary(ctx.tz)
VISIBLE = ["Flag", "Agent", "State", "Time in state", "Pause reason", "Campaigns"]


@auth.live_fragment(ctx.config.poll.agents_s)
def live_agents() -> None:
    agents, campaigns = ctx.live.agents(), ctx.live.campaigns()
    tiles.render_freshness(agents, ctx.tz)
    frame = agents.frame
    names = views.campaign_names(campaigns.frame)
    if frame.attrs.get("unavailable"):
        st.info(
            "This tenant does not offer per-agent status. The counts below come from the "
            "campaign statistics (an agent on several campaigns counts in each)."
        )
        st.dataframe(views.campaign_agent_counts(campaigns.frame), hide_index=True, width="stretch")
        return

    totals = views.agent_state_totals(frame)
    states = [s for s in charts.STATE_ORDER if s in totals] + sorted(
        s for s in totals if s not in charts.STATE_ORDER
    )
    cols = st.columns(max(1, len(states)))
    for col, state in zip(cols, states, strict=False):
        with col:
            tiles.tile(state, str(totals[state]), snapshot=agents)
    if not states:
        st.info("No agents reported." if agents.has_data else "Waiting for agent status…")

    left, right = st.columns([1, 2])
    with left:
        st.plotly_chart(charts.agent_state_chart(frame), width="stretch", key="agent_states")
    with right:
        by_campaign = charts.agent_state_by_campaign(frame, names)
        st.plotly_chart(
            charts.agent_state_by_campaign_chart(by_campaign), width="stretch", key="by_campaign"
        )

    st.subheader("Agents", help=words["time_in_state"])
    f1, f2, f3 = st.columns([2, 2, 2])
    with f1:
        chosen_states = st.multiselect("State", states, key="agent_states_filter")
    with f2:
        campaign = st.selectbox(
            "Campaign",
            [None, *sorted(names, key=lambda c: names[c])],
            format_func=lambda c: "All campaigns" if c is None else names[c],
            key="agent_campaign_filter",
        )
    with f3:
        search = st.text_input("Name contains", key="agent_search", max_chars=60)
    table = views.agent_table(
        frame,
        names,
        tiles.level_memory(),
        ctx.config.thresholds,
        states=chosen_states,
        campaign_id=campaign,
        search=search,
    )
    column_config = {
        "Flag": st.column_config.TextColumn("Flag", help=words["status"], width="small"),
        "Time in state": st.column_config.TextColumn("Time in state", help=words["time_in_state"]),
    }
    threshold = ctx.config.thresholds.for_campaign("time_in_state_s", campaign)
    over = int((table["_level"].isin(["warn", "alert"])).sum())
    st.caption(
        tiles.plain(
            f"{len(table)} of {len(frame)} agents · {over} over "
            f"{views.clock_duration(threshold.warn)} in their state (flag ▲/■)"
        )
    )
    flagged = table[table["_level"].isin(["warn", "alert"])]
    if len(flagged):
        # Styling is per cell and costly, so only the few flagged rows get it, in their own table.
        st.dataframe(
            flagged.style.apply(tiles.status_row_style, axis=1),
            hide_index=True,
            width="stretch",
            column_order=VISIBLE,
            column_config=column_config,
            key="agents_flagged",
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=VISIBLE,
        column_config=column_config,
        key="agents_all",
    )


@auth.live_fragment(max(60.0, ctx.config.poll.agents_s))
def trend() -> None:
    if ctx.live.history is None:
        return
    now = ctx.live.agents().taken_at
    since, _ = views.window_bounds("today", now, ctx.tz)
    history = ctx.live.history.agent_state_history(since)
    warning = views.history_warning(ctx.live.history.status(), ctx.tz)
    if warning:
        st.warning(tiles.plain(warning), icon="⚠️")
    st.plotly_chart(
        charts.agent_state_trend_chart(history, tz=ctx.tz), width="stretch", key="state_trend"
    )
    st.caption(tiles.plain(words["times"]))


live_agents()
trend()
layout.page_footer(ctx)
