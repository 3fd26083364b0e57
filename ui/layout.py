"""The frame around every screen: header (title, "Demo data" badge), live controls, the campaign
scope, config errors, footer.

Each screen calls `page_start` first; access was checked by dashboard.py before it ran.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from ipscape.errors import ApiError, ConfigError, StoreError, user_message
from ipscape.presentation.freshness import collector_text, store_problem_text, tenant_cost_text
from ipscape.presentation.text import plain
from ui import auth, runtime, view
from ui.messages import show_config_error

DEMO_LABEL = "Demo data"


def configure_page(title: str | None = None) -> None:
    """Wide layout and the browser tab title (idempotent: later calls override earlier ones)."""
    try:
        site = runtime.dashboard_config().title
    except ConfigError:
        site = "Contact Centre"
    st.set_page_config(
        page_title=f"{title} · {site}" if title else site,
        layout="wide",
        initial_sidebar_state="collapsed",
        menu_items={"Get help": None, "Report a bug": None, "About": "ipSCAPE real-time dashboard"},
    )


def page_start(title: str, *, scoped: bool = True) -> runtime.AppContext:
    """Header for ``title``, the live controls and (``scoped``) the campaign scope, read back by
    `ui.view.scope`; stops the page (no traceback) when the configuration is unusable."""
    configure_page(title)
    try:
        ctx = runtime.app_context()
    except ConfigError as exc:
        st.title(title)
        show_config_error(exc)
        st.stop()
    except (ApiError, StoreError) as exc:  # e.g. the demo tenant could not start
        st.title(title)
        st.error(plain(user_message(exc)))
        st.stop()
    left, right = st.columns([4, 1], vertical_alignment="center")
    with left:
        st.title(title)
    with right:
        if ctx.demo:
            st.badge(DEMO_LABEL, icon="🧪", color="orange")
        st.caption(plain(f"{ctx.config.title} · {_now_text(ctx)}"))
    view.enter_page(title)
    live_controls(ctx, scoped=scoped)
    if ctx.live.follower is not None:
        store_banner(ctx)
    return ctx


def live_controls(ctx: runtime.AppContext, *, scoped: bool = True) -> None:
    """Pause / resume this tab's live updates, fetch everything now, and the campaign scope."""
    pause, refresh, campaigns = st.columns([1, 1, 4], vertical_alignment="center")
    with pause:
        paused = st.toggle(
            "Pause updates",
            key=auth.PAUSED_KEY,
            help="Stop this tab's live updates (to read or compare without numbers moving); "
            "the collector keeps polling, and history has no gap.",
        )
    with refresh:
        asked = st.button(
            "Refresh now",
            key="live_refresh_now",
            disabled=ctx.live.collector is None,
            help="Fetch every feed now, through the collector: a feed fetched in the last "
            "8 s, or being fetched, is not asked again."
            if ctx.live.collector is not None
            else "Another process collects: this dashboard shows what it publishes.",
        )
    with campaigns:
        if scoped:
            # The first read of a cold dashboard waits for the collector's first poll.
            with st.spinner("Waiting for the first campaign list…"):
                view.campaign_scope(ctx)
    if asked or paused:
        if asked:
            with st.spinner("Fetching from the tenant…"):
                fetched = ctx.live.refresh_now()
            st.caption(
                plain(f"Fetched {', '.join(fetched)}.")
                if fetched
                else "Everything was fetched in the last few seconds: nothing to do."
            )
        elif paused:
            st.caption("Paused: the numbers below stay as they are until you resume.")


def store_banner(ctx: runtime.AppContext) -> None:
    """On a replica: a warning while the shared database cannot be read (checked as often as
    the fastest feed refreshes, like the footer)."""

    @auth.live_fragment(ctx.config.poll.campaigns_s)
    def banner() -> None:
        problem = ctx.live.store_problem()
        if problem is not None:
            st.warning(plain(store_problem_text(problem, ctx.tz)), icon="🗄️")

    banner()


def _now_text(ctx: runtime.AppContext) -> str:
    return ctx.live.now().astimezone(ZoneInfo(ctx.tz)).strftime("%a %H:%M:%S %Z")


def page_footer(ctx: runtime.AppContext) -> None:
    """The tenant budget and where the settings came from."""

    # Its numbers are per minute: a run a minute shows them all, at a fraction of a tile's cost.
    @auth.live_fragment(max(60.0, ctx.config.poll.activities_s))
    def footer() -> None:
        st.divider()
        client = ctx.live.client
        parts = [
            tenant_cost_text(client.meter.summary(60), client.budget.per_minute),
            DEMO_LABEL if ctx.demo else "live tenant",
        ]
        if ctx.live.follower is not None:
            parts.append(collector_text(ctx.live.active_collector(), ctx.tz))
        parts += [f"times in {ctx.tz}", f"config: {ctx.config.source}"]
        st.caption(plain(" · ".join(parts)))

    footer()
    auth.account_menu()
