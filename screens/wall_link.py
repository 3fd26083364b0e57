"""Wall link: the kiosk URL for a TV, built from a form instead of read off the README."""

import streamlit as st

from ipscape.presentation import aggregates
from ipscape.presentation.wall import ALL_VIEWS, MAX_ROTATE_S, MIN_ROTATE_S, VIEWS, wall_link
from ipscape.presentation.wall_models import VIEW_TITLES
from ui import layout, view

ctx = layout.page_start("Wall link")
VIEW_NAMES = {**VIEW_TITLES, "grid": "Agent grid"}

names = aggregates.campaign_names(ctx.live.campaigns().frame)
with st.form("wall_link"):
    views = st.multiselect(
        "Views, in rotation order",
        list(ALL_VIEWS),
        default=list(VIEWS),
        format_func=lambda v: VIEW_NAMES[v],
        help="One view: the wall stays on it. Agent grid: one cell per agent.",
    )
    rotate = st.number_input(
        "Seconds per view",
        min_value=0,
        max_value=int(MAX_ROTATE_S),
        value=int(ctx.config.wall.rotate_s),
        help=f"0 = stay on the first view; else {MIN_ROTATE_S:g} to {MAX_ROTATE_S:g}.",
    )
    campaigns = st.multiselect(
        "Campaigns (none: every campaign the dashboard shows)",
        sorted(names, key=lambda c: names[c]),
        default=[c for c in view.scope() if c in names],  # this page's scope, to start from
        format_func=lambda c: names[c],
    )
    theme = st.segmented_control("Theme", ["dark", "light"], default="dark")
    token = st.text_input(
        "Kiosk token",
        type="password",
        help="One of [wall] kiosk_tokens in dashboard.toml, when set: it goes into the link.",
    )
    built = st.form_submit_button("Make the link")

if built:
    if not views:
        st.error("Choose at least one view.")
    elif rotate and rotate < MIN_ROTATE_S:
        st.error(f"Seconds per view: 0, or at least {MIN_ROTATE_S:g}.")
    else:
        link = wall_link(
            # this page's address without its own path: the dashboard's (under any base path)
            (st.context.url or "http://localhost:8501/").split("?")[0].removesuffix("wall-link"),
            views=views,
            campaigns=campaigns,
            rotate_s=float(rotate),
            theme="light" if theme == "light" else "dark",
            token=token or None,
        )
        st.caption("Open this on the TV (copy it with the button at the right of the box):")
        st.code(link, language=None, wrap_lines=True)
        if ctx.config.wall.kiosk_tokens and not token:
            st.warning(
                "This dashboard asks walls for a kiosk token: add one, or the TV is refused."
            )

layout.page_footer(ctx)
