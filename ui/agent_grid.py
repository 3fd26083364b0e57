"""The agent grid on screen: `ipscape.presentation.agent_grid` cells as one HTML grid.

Names and states are the tenant's untrusted text: every one is HTML-escaped here, and nothing
else of theirs reaches the markup (colours come from our own palette, by state).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import streamlit as st

from ipscape.presentation.agent_grid import Grid
from ipscape.presentation.levels import ALERT, WARN

GRID_CSS = (
    "<style>"
    + (Path(__file__).parent / "assets" / "agent-grid.css").read_text(encoding="utf-8")
    + "</style>"
)


def grid_html(grid: Grid, *, cell_min_px: int = 150, font_px: int = 18) -> str:
    """The grid's markup: one div per cell, the name and "State · 4:35" in it."""
    cells = []
    for cell in grid.cells:
        flag = f"{cell.level.icon} " if cell.level in (WARN, ALERT) else ""
        level = f" level-{cell.level.name}" if cell.level in (WARN, ALERT) else ""
        title = f"{cell.name}: {cell.state} for {cell.time_in_state}"
        cells.append(
            f'<div class="agent-cell{level}" title="{escape(title)}" '
            f'style="background:{cell.fill};color:{cell.ink}">'
            f'<div class="agent-name">{escape(cell.name)}</div>'
            f'<div class="agent-meta">{flag}{escape(cell.state)} · {cell.time_in_state}</div>'
            "</div>"
        )
    style = f"--cell-min:{int(cell_min_px)}px;--cell-font:{int(font_px)}px"
    return f'<div class="agent-grid" style="{style}">{"".join(cells)}</div>'


def show_grid(grid: Grid, **sizes: int) -> None:
    st.html(GRID_CSS + grid_html(grid, **sizes))
