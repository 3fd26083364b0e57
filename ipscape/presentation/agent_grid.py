"""The agent grid: one cell per agent (its state's colour, its state named, its time in state),
ordered by state then longest in it, so a supervisor sees at a glance who is free, who is busy
and who has been paused too long. Pure: `ui/agent_grid.py` draws the cells.

A cell never says anything by colour alone: the state is written in it, and an agent over the
time-in-state threshold carries the level's icon and label as well as a heavier edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ipscape.config import Thresholds
from ipscape.presentation.formats import duration, text
from ipscape.presentation.levels import UNKNOWN, Level, LevelMemory
from ipscape.states import LOGGED_OUT, OTHER_STATE_COLOUR, STATE_COLOURS, STATE_ORDER

# Text on a state's colour: dark on the light ones, light on the dark ones (contrast >= 4.5).
_LIGHT_TEXT = "#FFFFFF"
_DARK_TEXT = "#111111"
_DARK_FILLS = {"Busy"}


@dataclass(frozen=True)
class GridCell:
    agent_id: int | None
    name: str  # untrusted text: the drawing escapes it
    state: str  # untrusted text too (a tenant may have its own states)
    time_in_state: str  # "4:35", "1 h 02 m", "--"
    fill: str
    ink: str
    level: Level  # of the time in state against its threshold; UNKNOWN when unknown


@dataclass(frozen=True)
class Grid:
    cells: tuple[GridCell, ...]
    logged_out: int  # agents left out (logged out), so the page can say so

    def __len__(self) -> int:
        return len(self.cells)


def _rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def agent_grid(
    agents: pd.DataFrame,
    thresholds: Thresholds,
    memory: LevelMemory,
    *,
    include_logged_out: bool = False,
) -> Grid:
    """The cells of ``agents`` (the agents feed's frame): known states in their order, other
    names after them (alphabetically), then within a state the longest in it first. Logged-out
    agents are left out unless ``include_logged_out`` (they would crowd out the ones working).
    The time-in-state level uses the agent's first campaign's threshold when it has one."""
    if agents.empty:
        return Grid((), 0)
    states = agents["state"].astype("string").fillna("Unknown")
    logged_out = states.eq(LOGGED_OUT).to_numpy(dtype=bool)
    frame = agents.assign(_state=states)
    if not include_logged_out:
        frame = frame[~logged_out]
    seconds = pd.to_numeric(frame["time_in_state_s"], errors="coerce").astype("Float64")
    order = (
        pd.DataFrame(
            {
                "rank": [_rank(s) for s in frame["_state"]],
                "state": frame["_state"].to_numpy(dtype=object),
                "time": seconds.fillna(-1).to_numpy(dtype=float),
            }
        )
        .sort_values(["rank", "state", "time"], ascending=[True, True, False], kind="stable")
        .index.to_numpy()
    )
    cells = []
    rows = frame.iloc[order]
    for agent_id, name, state, secs, campaigns in zip(
        rows["agent_id"],
        rows["agent_name"],
        rows["_state"],
        seconds.iloc[order],
        rows["campaign_ids"],
        strict=True,
    ):
        first = next(iter(campaigns), None) if isinstance(campaigns, tuple | list) else None
        threshold = thresholds.for_campaign("time_in_state_s", first)
        # State changes reset the level: the key carries the state.
        level = memory.update(("time_in_state_s", agent_id, state), secs, threshold)
        cells.append(
            GridCell(
                agent_id=None if pd.isna(agent_id) else int(agent_id),
                name=text(name),
                state=str(state),
                time_in_state=duration(secs),
                fill=STATE_COLOURS.get(str(state), OTHER_STATE_COLOUR),
                ink=_LIGHT_TEXT if state in _DARK_FILLS else _DARK_TEXT,
                level=UNKNOWN if level is None else level,
            )
        )
    return Grid(tuple(cells), int(logged_out.sum()) if not include_logged_out else 0)
