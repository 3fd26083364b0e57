"""Overview: the headline numbers and every campaign, worst first."""

import streamlit as st

from ipscape.metrics import GLOSSARY
from ipscape.metrics.feeds import (
    PERFORMANCE_FEED,
    WINDOW_LABELS,
    window_rows,
)
from ipscape.presentation import aggregates, tables
from ipscape.presentation.headlines import NOW_TILES, headlines
from ipscape.presentation.levels import UNKNOWN
from ipscape.presentation.text import plain
from ui import auth, layout, tiles, view
from ui.glossary import glossary
from ui.sparklines import headline_sparklines
from ui.tables import show_table

ctx = layout.page_start("Overview")
words = glossary(ctx.tz)
thresholds = ctx.config.thresholds


@auth.live_fragment(ctx.config.poll.campaigns_s)
def live_overview() -> None:
    scope = view.scope()
    campaigns, agents, voicemail, performance = (
        view.scoped(snapshot)
        for snapshot in (
            ctx.live.campaigns(),
            ctx.live.agents(),
            ctx.live.voicemail(),
            ctx.live.snapshot(PERFORMANCE_FEED),
        )
    )
    k = aggregates.kpis(
        aggregates.usable(campaigns),
        aggregates.usable(agents),
        aggregates.usable(voicemail),
        campaigns.taken_at,
        performance=aggregates.usable(performance),
        tz=ctx.tz,
    )
    memory = tiles.level_memory()
    snapshots = {
        "campaigns": campaigns,
        "agents": agents,
        "voicemail": voicemail,
        "performance": performance,
    }
    heads = headlines(k, thresholds, memory, scope or "all")  # each scope its own hysteresis
    sparks = headline_sparklines(ctx.live, ctx.tz, campaigns.taken_at, scope)
    now_row, today_row = st.columns(NOW_TILES), st.columns(NOW_TILES)
    for col, headline in zip([*now_row, *today_row], heads, strict=False):
        with col:
            explained = " ".join(words[key] for key in headline.help_keys)
            tiles.tile(
                headline.label,
                headline.value,
                help=f"{explained} {headline.detail}" if headline.detail else explained,
                level=headline.level,
                snapshot=snapshots[headline.feed],
                chart_data=sparks.get(headline.key),
            )
    tiles.render_freshness(campaigns, ctx.tz)
    coverage = ctx.live.campaign_coverage()
    if coverage is not None and coverage.text():
        # The request budget cannot refresh every campaign every poll: say how stale rows get.
        st.warning(plain(coverage.text()), icon="📉")

    labels = {label: name for name, label in WINDOW_LABELS.items()}
    chosen = st.segmented_control(
        "Service level, abandon rate, ASA and AHT over",
        list(labels),
        default=WINDOW_LABELS["today"],
        key="performance_window",
        help=words["service_level"],
    )
    window = labels.get(chosen or "", "today")
    rows = window_rows(performance.frame, window) if performance.has_data else None
    frame = aggregates.with_performance(campaigns.frame, rows)
    levels = aggregates.campaign_levels(frame, thresholds, memory)
    table = tables.overview_table(frame, levels)
    if table.empty:
        st.info("No campaign statistics yet." if not campaigns.has_data else "No active campaigns.")
        return
    show_table(table, words)
    unknown = sum(1 for per in levels.values() if all(lv is UNKNOWN for lv in per.values()))
    if unknown:
        st.caption(f"{unknown} campaign(s) report no wait figures (shown as --).")
    target = thresholds.service_level.target_s
    st.caption(
        f"Service level, abandon rate, ASA and AHT: {(chosen or 'today').lower()}, from the "
        f"calls themselves (target {target:g} s; a campaign may have its own). Definitions "
        "below."
    )


def definitions() -> None:
    """Every metric's one definition, as the dashboard computes it."""
    with st.expander("How the metrics are counted"):
        for term, meaning in GLOSSARY.items():
            st.markdown(f"**{plain(term)}**: {plain(meaning)}")


live_overview()
definitions()


@auth.live_fragment(ctx.config.poll.campaigns_s)
def recent_alerts() -> None:
    """The latest level changes the collector sent (with or without a webhook configured)."""
    st.subheader("Recent alerts")
    recent = view.scoped(ctx.live.snapshot("alerts"))
    table = tables.alerts_table(recent.frame, ctx.tz, recent.taken_at)
    if table.empty:
        st.caption("No alerts today.")
    else:
        show_table(table, words)


recent_alerts()
layout.page_footer(ctx)
