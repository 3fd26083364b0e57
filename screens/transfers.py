"""Transfers: today's transferred calls as a flow, over time, and as a list (a transfer is in a
campaign scope when either end is)."""

import streamlit as st

from ipscape import charts
from ipscape.presentation import aggregates, formats, tables
from ui import auth, layout, tiles, view
from ui.glossary import glossary
from ui.tables import show_table

ctx = layout.page_start("Transfers")
words = glossary(ctx.tz)


@auth.live_fragment(ctx.config.poll.activities_s)
def live_transfers() -> None:
    transfers = view.scoped(ctx.live.transfers())
    tiles.render_freshness(transfers, ctx.tz)
    if not transfers.has_data:
        st.info("Waiting for the first activity data…")
        return
    frame = transfers.frame
    left, right = st.columns(2)
    with left:
        tiles.tile(
            "Transfers today",
            formats.count(len(frame)),
            help=words["transfers"],
            snapshot=transfers,
        )
    with right:
        ago = aggregates.last_transfer_age_s(frame, transfers.taken_at)
        tiles.tile(
            "Last transfer",
            formats.UNKNOWN_TEXT if ago is None else f"{formats.age(ago)} ago",
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
    show_table(tables.transfers_table(frame, ctx.tz), words)


live_transfers()
layout.page_footer(ctx)
