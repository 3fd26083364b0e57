"""Voicemail: the backlog waiting for a call-back per campaign, the oldest one waiting, the
ones returned today, and a player for each.

Audio is fetched server-side through the client (LiveData.media) and sent inline to this
session only (ui/audio.py), so the browser never sees the tenant URL or credentials, and no
/media URL exists that could be fetched without a session.
"""

import streamlit as st

from ipscape import charts
from ipscape.errors import IpscapeError, user_message
from ipscape.metrics import GLOSSARY
from ipscape.presentation import aggregates, formats, tables
from ipscape.presentation.text import plain
from ui import audio, auth, layout, tiles, view
from ui.glossary import glossary
from ui.tables import show_table

ctx = layout.page_start("Voicemail")
words = glossary(ctx.tz)
EMPTY = "No voicemail waiting"


@auth.live_fragment(ctx.config.poll.activities_s)
def live_backlog() -> None:
    voicemail = view.scoped(ctx.live.voicemail())
    tiles.render_freshness(voicemail, ctx.tz)
    if not voicemail.has_data:
        st.info("Waiting for the first activity data…")
        return
    now = voicemail.taken_at
    frame = voicemail.frame
    waiting = aggregates.waiting_voicemail(frame, now)
    k = aggregates.kpis(None, None, frame, now, tz=ctx.tz)
    left, middle, right = st.columns(3)
    with left:
        tiles.tile(
            "Voicemail waiting",
            formats.count(k.voicemail),
            help=words["voicemail"],
            snapshot=voicemail,
        )
    with middle:
        tiles.tile(
            "Oldest waiting",
            formats.duration(k.oldest_voicemail_s),
            help=words["voicemail"],
            level=tiles.level_memory().update(
                ("voicemail_age_s", view.scope() or "all"),
                k.oldest_voicemail_s,
                ctx.config.thresholds.voicemail_age_s,
            )
            if k.voicemail
            else None,
            snapshot=voicemail,
        )
    with right:
        median = formats.age(k.median_return_s) if k.voicemail_returned else None
        tiles.tile(
            "Returned today",
            formats.count(k.voicemail_returned),
            help=f"{words['voicemail_returned']} Median: from the voicemail to its call-back.",
            snapshot=voicemail,
        )
        if median:
            st.caption(f"Median time to return: {median}")
    st.caption(plain(f"Returned: {GLOSSARY['Voicemail returned']}"))
    if waiting.empty:
        st.success(EMPTY, icon="✅")
    else:
        st.plotly_chart(
            charts.count_bar_chart(
                waiting,
                title="Voicemail waiting per campaign",
                empty_message=EMPTY,
                uirevision="vm-backlog",
            ),
            width="stretch",
            key="vm_backlog",
        )
        show_table(tables.voicemail_table(waiting, ctx.tz, now), words)
    returned = tables.returned_table(frame, ctx.tz, now)
    if not returned.empty:
        with st.expander(f"Returned today ({len(returned)})"):
            show_table(returned, words)


@auth.live_fragment()
def player() -> None:
    """Not on a timer: a refresh must not restart the audio someone is listening to."""
    voicemail = view.scoped(ctx.live.voicemail())
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
