"""Wait times: EWT and calls waiting per campaign now, then the service level and the waits
over a time range (today unless picked: past days come from the history store), optionally
drawn over the same clock times of an earlier day."""

import streamlit as st

from ipscape import charts
from ipscape.metrics.feeds import SERVICE_LEVEL_FEED
from ipscape.presentation import aggregates
from ipscape.presentation.freshness import history_warning
from ipscape.presentation.text import plain
from ipscape.presentation.time_range import bucket_freq, comparison_days, comparison_label
from ui import auth, layout, tiles, view
from ui.glossary import glossary

ctx = layout.page_start("Wait times")
words = glossary(ctx.tz)


@auth.live_fragment(ctx.config.poll.campaigns_s)
def live_now() -> None:
    campaigns = view.scoped(ctx.live.campaigns())
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


live_now()
st.subheader("Over time", help=words["times"])
picked = view.time_range(ctx, compare=True)
days, earlier = comparison_days(picked.compare), comparison_label(picked.compare)
period = picked.label.lower()
live = view.bounds(ctx, picked)[0].live


@auth.live_fragment(ctx.config.poll.activities_s if live else None)
def service_level() -> None:
    """The service level per bucket: today's from the collector's feed; any other range or a
    campaign scope counted from the calls of that range (past days from the history store)."""
    sl = ctx.config.thresholds.service_level
    scope = view.scope()
    bounds, against = view.bounds(ctx, picked)
    st.markdown(f"**Service level, {plain(period)}** (answered within {sl.target_s:g} s)")
    if picked.window == "today" and not scope and against is None:
        snapshot = ctx.live.snapshot(SERVICE_LEVEL_FEED)
        tiles.render_freshness(snapshot, ctx.tz)
        trend, before = snapshot.frame, None
    else:
        freq = bucket_freq(bounds.span)
        trend = view.service_level_between(ctx, bounds, scope, freq)
        before = None if against is None else view.service_level_between(ctx, against, scope, freq)
    fig = charts.service_level_trend_chart(
        trend,
        tz=ctx.tz,
        target_pct=sl.warn,
        alert_pct=sl.alert,
        title=f"Per {'hour' if bucket_freq(bounds.span) == '1h' else '15 minutes'}, "
        "with the abandon rate",
        compare=before,
        compare_days=days,
        compare_label=earlier,
        empty_message="No answered or abandoned calls in this range",
    )
    st.plotly_chart(fig, width="stretch", key="service_level_trend")
    st.caption(
        plain(
            "A point per bucket of calls created then; a gap is a bucket without answered or "
            f"abandoned calls. {words['abandon_rate']}"
        )
    )


@auth.live_fragment(max(60.0, ctx.config.poll.campaigns_s) if live else None)
def trend() -> None:
    if ctx.live.history is None:
        st.info("History is switched off, so there is no trend to show.")
        return
    bounds, against = view.bounds(ctx, picked)
    scope = view.scope() or None
    until = None if bounds.live else bounds.until
    history = ctx.live.history.campaign_history(bounds.since, scope, until)
    before = (
        None
        if against is None
        else ctx.live.history.campaign_history(against.since, scope, against.until)
    )
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
    fig = charts.wait_trend_chart(
        history,
        column,
        tz=ctx.tz,
        title=f"{metric or 'EWT'}, {period}",
        compare=before,
        compare_days=days,
        compare_label=earlier,
    )
    st.plotly_chart(fig, width="stretch", key="trend_chart")
    caption = f"{words['times']} {len(history)} history points in this range"
    if before is not None:
        caption += f"; {earlier}: {len(before)} points, dotted"
    st.caption(plain(caption + "."))


service_level()
trend()
layout.page_footer(ctx)
