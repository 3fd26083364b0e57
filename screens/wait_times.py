"""Wait times: EWT and calls waiting per campaign now, the service level through the day, and
how the waits moved through the day."""

import streamlit as st

from ipscape import charts
from ipscape.clock import start_of_day
from ipscape.metrics.feeds import SERVICE_LEVEL_FEED
from ipscape.presentation import aggregates
from ipscape.presentation.freshness import history_warning
from ipscape.presentation.text import plain
from ui import auth, layout, tiles
from ui.glossary import glossary

ctx = layout.page_start("Wait times")
words = glossary(ctx.tz)


@auth.live_fragment(ctx.config.poll.campaigns_s)
def live_now() -> None:
    campaigns = ctx.live.campaigns()
    tiles.render_freshness(campaigns, ctx.tz)
    levels = aggregates.campaign_levels(
        campaigns.frame, ctx.config.thresholds, tiles.level_memory()
    )
    left, right = st.columns(2)
    with left:
        fig = charts.campaign_bar_chart(
            campaigns.frame,
            "ewt_s",
            title="Estimated wait time (EWT) now",
            levels={cid: lv["ewt_s"] for cid, lv in levels.items()},
            durations=True,
        )
        st.plotly_chart(fig, width="stretch", key="ewt_now")
        st.caption(plain(words["ewt"]))
    with right:
        fig = charts.campaign_bar_chart(
            campaigns.frame,
            "calls_waiting",
            title="Calls waiting now",
            levels={cid: lv["calls_waiting"] for cid, lv in levels.items()},
        )
        st.plotly_chart(fig, width="stretch", key="waiting_now")
        st.caption(plain(words["calls_waiting"]))


@auth.live_fragment(max(60.0, ctx.config.poll.campaigns_s))
def trend() -> None:
    st.subheader("Today", help=words["times"])
    if ctx.live.history is None:
        st.info("History is switched off, so there is no trend to show.")
        return
    since = start_of_day(ctx.live.campaigns().taken_at, ctx.tz)
    history = ctx.live.history.campaign_history(since)
    warning = history_warning(ctx.live.history.status(), ctx.tz)
    if warning:
        st.warning(plain(warning), icon="⚠️")
    metric = st.segmented_control(
        "Metric",
        ["EWT", "Calls waiting", "Longest wait"],
        default="EWT",
        key="trend_metric",
    )
    column = {"Calls waiting": "calls_waiting", "Longest wait": "max_wait_s"}.get(
        metric or "EWT", "ewt_s"
    )
    fig = charts.wait_trend_chart(history, column, tz=ctx.tz, title=f"{metric or 'EWT'} today")
    st.plotly_chart(fig, width="stretch", key="trend_chart")
    st.caption(plain(f"{words['times']} {len(history)} history points since midnight."))


@auth.live_fragment(ctx.config.poll.activities_s)
def service_level() -> None:
    """Today's service level per 15 minutes, computed by the collector from the calls."""
    snapshot = ctx.live.snapshot(SERVICE_LEVEL_FEED)
    sl = ctx.config.thresholds.service_level
    st.subheader(
        f"Service level today (answered within {sl.target_s:g} s)", help=words["service_level"]
    )
    tiles.render_freshness(snapshot, ctx.tz)
    fig = charts.service_level_trend_chart(
        snapshot.frame, tz=ctx.tz, target_pct=sl.warn, alert_pct=sl.alert
    )
    st.plotly_chart(fig, width="stretch", key="service_level_trend")
    st.caption(
        plain(
            "A point per 15 minutes of calls created then; a gap is a quarter-hour without "
            f"answered or abandoned calls. {words['abandon_rate']}"
        )
    )


live_now()
service_level()
trend()
layout.page_footer(ctx)
