"""Agents: who is in which state, for how long, and who has been there too long; how the states
added up over a time range (today unless picked: past days from the history store)."""

import streamlit as st

from ipscape import charts
from ipscape.presentation import aggregates, formats, tables
from ipscape.presentation.agent_grid import agent_grid
from ipscape.presentation.freshness import history_warning
from ipscape.presentation.text import plain
from ipscape.presentation.time_range import comparison_days, comparison_label
from ui import auth, layout, tiles, view
from ui.agent_grid import show_grid
from ui.glossary import glossary
from ui.tables import show_table

ctx = layout.page_start("Agents")
words = glossary(ctx.tz)


@auth.live_fragment(ctx.config.poll.agents_s)
def live_agents() -> None:
    # An agent is in a campaign scope when the campaign is among theirs.
    agents, campaigns = view.scoped(ctx.live.agents()), view.scoped(ctx.live.campaigns())
    tiles.render_freshness(agents, ctx.tz)
    frame = agents.frame
    names = aggregates.campaign_names(campaigns.frame)
    if agents.unavailable:
        st.info(
            "This tenant does not offer per-agent status. The counts below come from the "
            "campaign statistics (an agent on several campaigns counts in each)."
        )
        show_table(tables.campaign_agent_counts(campaigns.frame), words)
        return

    totals = aggregates.agent_state_totals(frame)
    cols = st.columns(max(1, len(totals)))
    for col, (state, agents_in_state) in zip(cols, totals.items(), strict=False):
        with col:
            tiles.tile(state, formats.count(agents_in_state), snapshot=agents)
    if not totals:
        st.info("No agents reported." if agents.has_data else "Waiting for agent status…")

    left, right = st.columns([1, 2])
    with left:
        st.plotly_chart(charts.agent_state_chart(frame), width="stretch", key="agent_states")
    with right:
        by_campaign = aggregates.agent_state_by_campaign(frame, names)
        st.plotly_chart(
            charts.agent_state_by_campaign_chart(by_campaign), width="stretch", key="by_campaign"
        )

    st.subheader("At a glance", help=words["agent_grid"])
    everyone = st.toggle("Include logged-out agents", key="grid_logged_out")
    grid = agent_grid(
        frame, ctx.config.thresholds, tiles.level_memory(), include_logged_out=everyone
    )
    if len(grid):
        show_grid(grid)
    if grid.logged_out:
        st.caption(f"{grid.logged_out} logged-out agent(s) not shown.")

    st.subheader("Agents", help=words["time_in_state"])
    f1, f2, f3 = st.columns([2, 2, 2])
    with f1:
        chosen_states = st.multiselect("State", list(totals), key="agent_states_filter")
    with f2:
        campaign = st.selectbox(
            "Campaign",
            [None, *sorted(names, key=lambda c: names[c])],
            format_func=lambda c: "All campaigns" if c is None else names[c],
            key="agent_campaign_filter",
        )
    with f3:
        search = st.text_input("Name contains", key="agent_search", max_chars=60)
    table = tables.agent_table(
        frame,
        names,
        tiles.level_memory(),
        ctx.config.thresholds,
        states=chosen_states,
        campaign_id=campaign,
        search=search,
    )
    threshold = ctx.config.thresholds.for_campaign("time_in_state_s", campaign)
    flagged = table.flagged()
    st.caption(
        plain(
            f"{len(table)} of {len(frame)} agents · {len(flagged)} over "
            f"{formats.duration(threshold.warn)} in their state (flag ▲/■)"
        )
    )
    if len(flagged):
        # Styling is per cell and costly, so only the few flagged rows get it, in their own table.
        show_table(flagged, words, key="agents_flagged")
    show_table(tables.Table(table.frame, table.columns), words, key="agents_all")


live_agents()
if ctx.live.history is not None:
    st.subheader("Over time", help=words["times"])
    picked = view.time_range(ctx, compare=True)
    live = view.bounds(ctx, picked)[0].live

    @auth.live_fragment(max(60.0, ctx.config.poll.agents_s) if live else None)
    def trend() -> None:
        assert ctx.live.history is not None
        bounds, against = view.bounds(ctx, picked)
        history = ctx.live.history.agent_state_history(
            bounds.since, None if bounds.live else bounds.until
        )
        before = (
            None
            if against is None
            else ctx.live.history.agent_state_history(against.since, against.until)
        )
        warning = history_warning(ctx.live.history.status(), ctx.tz)
        if warning:
            st.warning(plain(warning), icon="⚠️")
        st.plotly_chart(
            charts.agent_state_trend_chart(
                history,
                tz=ctx.tz,
                title=f"Agents by state, {picked.label.lower()}",
                compare=before,
                compare_days=comparison_days(picked.compare),
                compare_label=comparison_label(picked.compare),
            ),
            width="stretch",
            key="state_trend",
        )
        note = words["times"]
        if view.scope():
            note += " Every campaign's agents: the history keeps the counts per state only."
        st.caption(plain(note))

    trend()
layout.page_footer(ctx)
