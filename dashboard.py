"""ipSCAPE real-time dashboard: the entry file (``streamlit run dashboard.py``).

This one file is read two ways:
- imported by the server (``streamlit run`` finds ``app`` below and serves it): an ``st.App``
  whose lifespan starts the collector at boot and stops it at shutdown, whoever is watching,
  and which answers ``/healthz`` and ``/metrics`` (ui/server.py);
- run as the script of every viewer's session (``__name__ == "__main__"``, also under AppTest):
  page config, the settings check, and ``st.navigation`` over ``pages/``.
Pages read the snapshots the collector publishes (ui/runtime.py); with no tenant configured, an
embedded simulator serves demo data and every page says so.

Why ``pages/`` + ``st.navigation`` needs care in Streamlit 1.67: a ``pages/`` folder next to the
entry file switches on the old (v1) automatic multipage mode until the first ``st.navigation``
call of the process. That first run is wrapped in an automatic navigation built from
``pages/*.py``; a deep link such as ``/agents`` can then execute ``pages/agents.py`` without this
file. We handle it deliberately:
- ``client.showSidebarNavigation = false`` in .streamlit/config.toml hides that automatic menu
  (it also hides ``position="sidebar"``, so our menu sits at the top);
- every page starts with ``ui.layout.page_start()``, which configures the page and checks the
  settings itself, so a page run directly renders the same as one routed from here.
From the first ``st.navigation`` call on, the ``pages/`` folder is ignored (process-wide).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth, layout, server

HERE = Path(__file__).parent
WALL = HERE / "pages" / "wall.py"


def route() -> None:
    """One viewer's script run: sign-in, menu, then the page."""
    layout.configure_page()
    # Before anything reads st.secrets: a broken secrets file would read as "no sign-in, no
    # tenant".
    auth.require_readable_secrets()

    kiosk = st.query_params.get("kiosk") == "1" and WALL.exists()

    pages = [
        st.Page("pages/overview.py", title="Overview", icon="🏠", default=not kiosk),
        st.Page("pages/wait_times.py", title="Wait times", icon="⏱️", url_path="wait-times"),
        st.Page("pages/agents.py", title="Agents", icon="🎧", url_path="agents"),
        st.Page("pages/voicemail.py", title="Voicemail", icon="📨", url_path="voicemail"),
        st.Page("pages/transfers.py", title="Transfers", icon="🔀", url_path="transfers"),
        st.Page("pages/drilldown.py", title="Drill-down", icon="🔎", url_path="drilldown"),
    ]
    walls = []
    if WALL.exists():
        walls.append(st.Page("pages/wall.py", title="Wall", icon="📺", url_path="wall"))
        if kiosk:
            # The default page answers "/" only (its url_path is ""), so a default wall would
            # make /wall?kiosk=1 "Page not found". The kiosk wall is registered twice: "/" and
            # "/wall".
            walls.append(st.Page("pages/wall.py", title="Wall", url_path="wall-home", default=True))
        pages.extend(walls)

    # A wall display shows no menu at all, nor do the sign-in and denied screens; everyone else
    # gets it across the top (see above).
    locked = not auth.still_allowed("page")
    page = st.navigation(pages, position="hidden" if kiosk or locked else "top")
    # Before the page runs and reads any data: sign-in or a kiosk token, when one is configured.
    auth.require_access("wall" if any(page is w for w in walls) else "page")
    page.run()


if __name__ == "__main__":
    route()
else:
    app = st.App(__file__, lifespan=server.lifespan, routes=server.routes())
