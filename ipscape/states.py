"""Agent states: the known names in display order, and how a tenant's other names are grouped.

A tenant may define states of its own, and their names are untrusted text: a tenant with 2,000
distinct names must not get 2,000 tiles, chart traces or history rows per poll. Every count by
state goes through `grouped_states`: the known states, the ``MAX_UNKNOWN_STATES`` most common
other names, and ``OTHER`` for the rest. Each agent's own state text stays as it is elsewhere
(the agent table shows it).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

LOGGED_OUT = "LoggedOut"  # every other state is an agent at work
STATE_ORDER = ("Available", "Busy", "Dialling", "Wrap", "Paused", LOGGED_OUT)
# Okabe-Ito (colour-blind safe) per known state; every view that colours a state also names it.
STATE_COLOURS = {
    "Available": "#009E73",
    "Busy": "#0072B2",
    "Wrap": "#56B4E9",
    "Paused": "#E69F00",
    "Dialling": "#CC79A7",
    "LoggedOut": "#999999",
}
# The colour of any other state name.
OTHER_STATE_COLOUR = "#BBBBBB"
# Enough for the handful of custom states a real centre has; beyond it, names are grouped.
MAX_UNKNOWN_STATES = 8
OTHER = "Other"


def grouped_states(
    states: pd.Series,
    weights: pd.Series | None = None,
    *,
    max_unknown: int = MAX_UNKNOWN_STATES,
) -> pd.Series:
    """``states`` as text, each unknown name past the ``max_unknown`` most common (by count, or
    by the sum of ``weights``; ties by name, so the choice is stable) replaced by OTHER.
    Missing states stay missing; states already grouped stay as they are."""
    text = states.astype("string")
    amounts = pd.Series(1, index=text.index) if weights is None else weights.fillna(0)
    totals = amounts.groupby(text).sum()
    unknown = totals[~totals.index.isin([*STATE_ORDER, OTHER])]
    if len(unknown) <= max_unknown:
        return text
    kept = unknown.sort_index().sort_values(ascending=False, kind="stable").index[:max_unknown]
    keep = text.isin([*STATE_ORDER, OTHER, *kept]) | text.isna()
    return text.where(keep, OTHER)


def ordered(states: Iterable[str]) -> list[str]:
    """Known states in their order, then the other names alphabetically, OTHER last."""
    present = set(states)
    rest = sorted(present - {*STATE_ORDER, OTHER})
    return [s for s in STATE_ORDER if s in present] + rest + ([OTHER] if OTHER in present else [])


def state_counts(states: pd.Series) -> pd.Series:
    """Agents per (grouped) state, in display order; agents with no state are not counted."""
    counts = grouped_states(states).value_counts()
    return counts.reindex(ordered(counts.index)).astype(int)
