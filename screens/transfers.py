"""Transfers: today's transferred calls as a flow, over time, and as a list."""

import streamlit as st

from ipscape import charts
from ui import auth, layout, tiles, views
from ui.glossary import glossary

ctx = layout.page_start("Transfers")
words = glossary(ctx.tz)


@auth.live_fragment(ctx.config.poll.activities_s)
def live_transfers() -> None:
    transfers = ctx.live.transfers()
    tiles.render_freshness(transfers, ctx.tz)
    if not transfers.has_data:
        st.info("Waiting for the first activity data…")
        return
    frame = transfers.frame
    last = frame["transferred_at"].max() if len(frame) else None
    left, right = st.columns(2)
    with left:
        tiles.tile(
            "Transfers today",
            charts.format_count(len(frame)),
            help=words["transfers"],
            snapshot=transfers,
        )
    with right:
        ago = (
            None
            if last is None or charts.is_unknown(last)
            else (transfers.taken_at - last.to_pydatetime()).total_seconds()
        )
        tiles.tile(
            "Last transfer",
            "--" if ago is None else f"{tiles.format_age(max(0.0, ago))} ago",
            help=words["times"],
            snapshot=transfers,
        )
    if frame.empty:
        st.info("No transfers today.")
        return
    by = st.segmented_control(
        "Flow between",
        ["campaign", "agent"],
        default="campaign",
        key="transfer_by",
        format_func=str.capitalize,
    )
    st.plotly_chart(
        charts.transfer_flow_chart(frame, by=by or "campaign"), width="stretch", key="flow"
    )
    st.plotly_chart(charts.transfer_count_chart(frame, tz=ctx.tz), width="stretch", key="per_15")
    st.dataframe(
        views.transfers_table(frame, ctx.tz),
        hide_index=True,
        width="stretch",
        column_config={
            "Transferred": st.column_config.TextColumn("Transferred", help=words["times"])
        },
    )


live_transfers()
layout.page_footer(ctx)
