"""The page registry: every screen of the dashboard, in menu order, in one place.

``dashboard.py`` builds its ``st.navigation`` from `SCREENS` and the tests walk the same tuple,
so a screen cannot be added to one and forgotten in the other. Screens live in ``screens/``:
a folder named ``pages/`` beside the entry file would switch on Streamlit's legacy multipage
mode, in which a page file can run without the entry file (and so without its access check).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent

PageKind = Literal["page", "wall"]


@dataclass(frozen=True)
class Screen:
    script: str  # relative to the repository root
    title: str
    icon: str
    url_path: str
    kind: PageKind = "page"
    home: bool = False  # the page at "/" (except on a kiosk, whose home is the wall)

    @property
    def path(self) -> Path:
        return ROOT / self.script


SCREENS: tuple[Screen, ...] = (
    Screen("screens/overview.py", "Overview", "🏠", "overview", home=True),
    Screen("screens/wait_times.py", "Wait times", "⏱️", "wait-times"),
    Screen("screens/agents.py", "Agents", "🎧", "agents"),
    Screen("screens/voicemail.py", "Voicemail", "📨", "voicemail"),
    Screen("screens/transfers.py", "Transfers", "🔀", "transfers"),
    Screen("screens/drilldown.py", "Drill-down", "🔎", "drilldown"),
    Screen("screens/wall.py", "Wall", "📺", "wall", kind="wall"),
    Screen("screens/wall_link.py", "Wall link", "🔗", "wall-link"),
)

# The default page answers "/" only (its url_path is ""), so a default wall would make /wall
# "Page not found": the kiosk wall is registered twice, as the default and under its own path.
KIOSK_HOME = "wall-home"


def pages(*, kiosk: bool) -> dict[st.Page, PageKind]:
    """The ``st.Page`` objects of one run, each with the access it needs."""
    built: dict[st.Page, PageKind] = {}
    for screen in SCREENS:
        default = screen.home and not kiosk
        page = st.Page(
            screen.script,
            title=screen.title,
            icon=screen.icon,
            url_path=None if default else screen.url_path,
            default=default,
        )
        built[page] = screen.kind
    if kiosk:
        wall = next(s for s in SCREENS if s.kind == "wall")
        built[st.Page(wall.script, title=wall.title, url_path=KIOSK_HOME, default=True)] = "wall"
    return built
