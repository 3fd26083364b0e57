"""Overview: the headline numbers and every campaign, worst first."""

import streamlit as st

from ipscape.presentation import aggregates, tables
from ipscape.presentation.headlines import headlines
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
        aggregates.usable(campaigns),
        aggregates.usable(agents),
        aggregates.usable(voicemail),
        campaigns.taken_at,
    )
    memory = tiles.level_memory()
    snapshots = {"campaigns": campaigns, "agents": agents, "voicemail": voicemail}
    for col, headline in zip(st.columns(5), headlines(k, thresholds, memory), strict=True):
        with col:
            explained = " ".join(words[key] for key in headline.help_keys)
            tiles.tile(
                headline.label,
                headline.value,
                help=f"{explained} {headline.detail}" if headline.detail else explained,
                level=headline.level,
                snapshot=snapshots[headline.feed],
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
