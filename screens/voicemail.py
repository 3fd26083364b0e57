"""Voicemail: the backlog per campaign, the oldest one waiting, and a player for each.

Audio is fetched server-side through the client (LiveData.media) and sent inline to this
session only (ui/audio.py), so the browser never sees the tenant URL or credentials, and no
/media URL exists that could be fetched without a session.
"""

import streamlit as st

from ipscape import charts
from ipscape.errors import IpscapeError, user_message
from ipscape.presentation import aggregates, formats, tables
from ipscape.presentation.text import plain
from ui import audio, auth, layout, tiles
from ui.glossary import glossary
from ui.tables import show_table

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
    k = aggregates.kpis(None, None, frame, now)
    left, right = st.columns(2)
    with left:
        tiles.tile(
            "Voicemail waiting",
            formats.count(k.voicemail),
            help=words["voicemail"],
            snapshot=voicemail,
        )
    with right:
        tiles.tile(
            "Oldest waiting",
            formats.duration(k.oldest_voicemail_s),
            help=words["voicemail"],
            level=tiles.level_memory().update(
                ("voicemail_age_s", "all"),
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
    show_table(tables.voicemail_table(frame, ctx.tz, now), words)


@auth.live_fragment()
def player() -> None:
    """Not on a timer: a refresh must not restart the audio someone is listening to."""
    voicemail = ctx.live.voicemail()
    labels = tables.voicemail_choices(voicemail.frame, ctx.tz)
    if not labels:
        return
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
        recording = ctx.live.media(chosen)
    except IpscapeError as exc:
        st.error(plain(f"Could not load this voicemail: {user_message(exc)}"))
        return
    audio.play(recording)


live_backlog()
player()
layout.page_footer(ctx)
