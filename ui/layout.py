"""The frame around every page: header (title, "Demo data" badge), config errors, budget footer.

Each page calls `page_start` first. The page does it rather than ``dashboard.py`` because in
Streamlit 1.67 a process's first run of an app with a ``pages/`` folder may execute a page
file directly (the v1 multipage fallback, see dashboard.py): the page must stand on its own.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from ipscape.errors import ApiError, ConfigError, StoreError, user_message
from ipscape.settings import COLLECTOR_ENV, DATABASE_ENV, SETTING_NAMES, TIMEOUT
from ui import auth, runtime
from ui.tiles import collector_text, plain, store_problem_text

DEMO_LABEL = "Demo data"


def config_error_help(exc: ConfigError) -> str:
    """How to fix a configuration error, by where the named setting lives."""
    setting = exc.setting or ""
    if setting in (DATABASE_ENV, COLLECTOR_ENV):
        return (
            "A scaled deployment is set with IPSCAPE_DATABASE_URL (postgresql://...) and "
            "IPSCAPE_COLLECTOR (embedded or external), in the environment or the [ipscape] "
            "section of .streamlit/secrets.toml; docs/deployment.md shows each process's "
            "settings. Unset both to run on one process. Restart the dashboard after changing them."
        )
    if setting in (*SETTING_NAMES, TIMEOUT):
        return (
            "Tenant settings are read from the [ipscape] section of .streamlit/secrets.toml "
            "(copy .streamlit/secrets.toml.example) or from IPSCAPE_* environment variables. "
            "Set all of IPSCAPE_BASE_URL, IPSCAPE_API_TOKEN and IPSCAPE_SECRET_KEY_1, or none "
            "of them to run the demo. Restart the dashboard after changing them."
        )
    return (
        "Dashboard settings are read from dashboard.toml (or the file named by "
        "IPSCAPE_DASHBOARD_CONFIG); the shipped dashboard.toml lists every key with its "
        "default. Fix the key named above and reload the page."
    )


def show_config_error(exc: ConfigError) -> None:
    st.error(plain(f"Configuration problem: {exc}"), icon="🛠️")
    st.info(plain(config_error_help(exc)))


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


def page_start(title: str) -> runtime.AppContext:
    """Header for ``title``; stops the page (no traceback) when the configuration is unusable."""
    configure_page(title)
    # Again here, not only in dashboard.py: a page may run without it (see the module docstring).
    auth.require_access("page")
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
    if ctx.live.follower is not None:
        store_banner(ctx)
    return ctx


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


def budget_text(ctx: runtime.AppContext) -> str:
    """ "tenant: 14 req/min of 600 allowed (2 %), 120 ms": what the dashboard costs the tenant
    right now, against the request budget of dashboard.toml."""
    client = ctx.live.client
    # The meter counts each request once; budget() rows share operations between feeds.
    requests = sum(int(row.get("requests") or 0) for row in client.meter.summary(60).values())
    ceiling = client.budget.per_minute
    share = f" of {ceiling:,.0f} allowed ({100 * requests / ceiling:.0f} %)" if ceiling else ""
    latencies = ctx.live.budget()["last_latency_ms"].dropna()
    latency = f"{latencies.max():.0f} ms" if len(latencies) else "-- ms"
    return f"tenant: {requests} req/min{share}, {latency}"


def page_footer(ctx: runtime.AppContext) -> None:
    """The tenant budget and where the settings came from, refreshed with the fastest feed."""

    @auth.live_fragment(ctx.config.poll.campaigns_s)
    def footer() -> None:
        st.divider()
        parts = [budget_text(ctx), DEMO_LABEL if ctx.demo else "live tenant"]
        if ctx.live.follower is not None:
            parts.append(collector_text(ctx.live.active_collector(), ctx.tz))
        parts += [f"times in {ctx.tz}", f"config: {ctx.config.source}"]
        st.caption(plain(" · ".join(parts)))

    footer()
    auth.account_menu()
