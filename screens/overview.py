"""Overview: the headline numbers and every campaign, worst first."""

import streamlit as st

from ipscape.presentation import aggregates, formats, tables
from ipscape.presentation.levels import UNKNOWN
from ipscape.presentation.text import plain
from ui import auth, layout, tiles
from ui.glossary import glossary
from ui.tables import show_table

ctx = layout.page_start("Overview")
words = glossary(ctx.tz)
thresholds = ctx.config.thresholds


@auth.live_fragment(ctx.config.poll.campaigns_s)
def live_overview() -> None:
    campaigns, agents, voicemail = ctx.live.campaigns(), ctx.live.agents(), ctx.live.voicemail()
    k = aggregates.kpis(
        campaigns.frame if campaigns.has_data else None,
        agents.frame if agents.has_data and not agents.unavailable else None,
        voicemail.frame if voicemail.has_data else None,
        campaigns.taken_at,
    )
    memory = tiles.level_memory()
    cols = st.columns(5)
    with cols[0]:
        tiles.tile(
            "Calls waiting",
            formats.count(k.waiting),
            help=words["calls_waiting"],
            level=memory.update(("calls_waiting", "all"), k.waiting, thresholds.calls_waiting),
            snapshot=campaigns,
        )
    with cols[1]:
        tiles.tile(
            "Longest wait",
            formats.duration(k.longest_wait_s),
            help=words["longest_wait"],
            level=memory.update(
                ("longest_wait_s", "all"), k.longest_wait_s, thresholds.longest_wait_s
            ),
            snapshot=campaigns,
        )
    with cols[2]:
        tiles.tile(
            "Max EWT",
            formats.duration(k.max_ewt_s),
            help=words["ewt"],
            level=memory.update(("ewt_s", "all"), k.max_ewt_s, thresholds.ewt_s),
            snapshot=campaigns,
        )
    with cols[3]:
        tiles.tile(
            "Agents free / logged in",
            f"{formats.count(k.agents_free)} / {formats.count(k.agents_logged_in)}",
            help=f"{words['agents_available']} {words['agents_logged_in']}",
            snapshot=agents,
        )
    with cols[4]:
        tiles.tile(
            "Voicemail waiting",
            formats.count(k.voicemail),
            help=f"{words['voicemail']} Oldest: {formats.duration(k.oldest_voicemail_s)}.",
            level=memory.update(
                ("voicemail_age_s", "all"), k.oldest_voicemail_s, thresholds.voicemail_age_s
            )
            if k.voicemail
            else None,
            snapshot=voicemail,
        )
    tiles.render_freshness(campaigns, ctx.tz)
    coverage = ctx.live.campaign_coverage()
    if coverage is not None and coverage.text():
        # The request budget cannot refresh every campaign every poll: say how stale rows get.
        st.warning(plain(coverage.text()), icon="📉")

    levels = aggregates.campaign_levels(campaigns.frame, thresholds, memory)
    table = tables.overview_table(campaigns.frame, levels)
    if table.empty:
        st.info("No campaign statistics yet." if not campaigns.has_data else "No active campaigns.")
        return
    show_table(table, words)
    unknown = sum(1 for per in levels.values() if all(lv is UNKNOWN for lv in per.values()))
    if unknown:
        st.caption(f"{unknown} campaign(s) report no wait figures (shown as --).")


live_overview()
layout.page_footer(ctx)
