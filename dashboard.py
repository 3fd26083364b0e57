"""ipSCAPE real-time dashboard: the entry file (``streamlit run dashboard.py``).

This one file is read two ways:
- imported by the server (``streamlit run`` finds ``app`` below and serves it): an ``st.App``
  whose lifespan starts the collector at boot and stops it at shutdown, whoever is watching,
  and which answers ``/healthz`` and ``/metrics`` (ui/server.py);
- run as the script of every viewer's session (``__name__ == "__main__"``, also under AppTest):
  it only routes: sign-in or kiosk token, then the screen the URL names (ui/navigation.py).
Screens read the snapshots the collector publishes (ui/runtime.py); with no tenant configured,
an embedded simulator serves demo data and every screen says so.
"""

from __future__ import annotations

import streamlit as st

from ui import auth, layout, navigation, server


def route() -> None:
    """One viewer's script run: access, menu, then the screen."""
    layout.configure_page()
    # Before anything reads st.secrets: a broken secrets file would read as "no sign-in, no
    # tenant".
    auth.require_readable_secrets()
    kiosk = st.query_params.get("kiosk") == "1"
    pages = navigation.pages(kiosk=kiosk)
    # A wall display shows no menu at all, nor do the sign-in and denied screens.
    locked = not auth.still_allowed("page")
    page = st.navigation(list(pages), position="hidden" if kiosk or locked else "top")
    # The one access check of a full run, before the screen reads any data; live fragments
    # check again at each of their own reruns (auth.live_fragment).
    auth.require_access(pages[page])
    page.run()


if __name__ == "__main__":
    route()
else:
    app = st.App(__file__, lifespan=server.lifespan, routes=server.routes())
