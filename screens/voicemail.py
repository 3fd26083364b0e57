"""Voicemail: the backlog per campaign, the oldest one waiting, and a player for each.

Audio is fetched server-side through the client (LiveData.media) and sent inline to this
session only (views.audio_player_html), so the browser never sees the tenant URL or credentials,
and no /media URL exists that could be fetched without a session.
"""

import streamlit as st

from ipscape import charts
from ipscape.errors import IpscapeError, user_message
from ui import auth, layout, tiles, views
from ui.glossary import glossary

ctx = layout.page_start("Voicemail")
words = glossary(ctx.tz)
EMPTY = "No voicemail waiting"


@auth.live_fragment(ctx.config.poll.activities_s)
def live_backlog() -> None:
    voicemail = ctx.live.voicemail()
    tiles.render_freshness(voicemail, ctx.tz)
    if not voicemail.has_data:
        st.info("Waiting for the first activity data…")
        return
    now = voicemail.taken_at
    frame = voicemail.frame
    k = views.kpis(None, None, frame, now)
    left, right = st.columns(2)
    with left:
        tiles.tile(
            "Voicemail waiting",
            charts.format_count(k.voicemail),
            help=words["voicemail"],
            snapshot=voicemail,
        )
    with right:
        tiles.tile(
            "Oldest waiting",
            views.clock_duration(k.oldest_voicemail_s) if k.voicemail else "--",
            help=words["voicemail"],
            level=tiles.leveled(
                "voicemail_age_s",
                "all",
                k.oldest_voicemail_s,
                ctx.config.thresholds.voicemail_age_s,
            )
            if k.voicemail
            else None,
            snapshot=voicemail,
        )
    if frame.empty:
        st.success(EMPTY, icon="✅")
        return
    st.plotly_chart(
        charts.count_bar_chart(
            frame, title="Voicemail per campaign", empty_message=EMPTY, uirevision="vm-backlog"
        ),
        width="stretch",
        key="vm_backlog",
    )
    st.dataframe(
        views.voicemail_table(frame, ctx.tz, now),
        hide_index=True,
        width="stretch",
        column_order=["Received", "Waiting", "Caller", "Campaign", "Duration"],
        column_config={
            "Received": st.column_config.TextColumn("Received", help=words["times"]),
            "Waiting": st.column_config.TextColumn("Waiting", help="Time since it was left."),
        },
    )


@auth.live_fragment()
def player() -> None:
    """Not on a timer: a refresh must not restart the audio someone is listening to."""
    voicemail = ctx.live.voicemail()
    table = views.voicemail_table(voicemail.frame, ctx.tz, voicemail.taken_at)
    if table.empty:
        return
    labels = {
        media: f"{received} · {caller} · {campaign}"
        for media, received, caller, campaign in zip(
            table["media_id"], table["Received"], table["Caller"], table["Campaign"], strict=True
        )
        if media != "--"
    }
    st.subheader("Listen")
    chosen = st.selectbox(
        "Voicemail",
        [None, *labels],
        format_func=lambda m: "Choose a voicemail…" if m is None else labels[m],
        key="vm_play",
    )
    if chosen is None:
        return
    try:
        audio = ctx.live.media(chosen)
    except IpscapeError as exc:
        st.error(tiles.plain(f"Could not load this voicemail: {user_message(exc)}"))
        return
    st.html(views.audio_player_html(audio))


live_backlog()
player()
layout.page_footer(ctx)
