"""Threshold levels with hysteresis: is a number OK, worth a look (WARN) or urgent (ALERT)?

A value that hovers around a threshold must not make a wallboard flash on and off, so a level is
entered at its threshold but only left once the value falls below ``threshold - hysteresis``.
The previous level therefore has to be remembered between reruns; `LevelMemory` is a small
bounded map for that (the dashboard keeps one per browser session).

Every level carries a text label and an icon as well as a colour name, so state is never shown
by colour alone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from ipscape.config import Threshold
from ipscape.presentation.formats import number


@dataclass(frozen=True)
class Level:
    name: str  # "ok" | "warn" | "alert" | "unknown"
    rank: int
    label: str
    icon: str
    colour: str  # a key of LEVEL_COLOURS; never the only signal

    @property
    def badge(self) -> str:
        return f"{self.label} {self.icon}"


OK = Level("ok", 0, "OK", "✓", "ok")
WARN = Level("warn", 1, "WARN", "▲", "warn")
ALERT = Level("alert", 2, "ALERT", "■", "alert")
# An unknown value has no level: it must not read as OK.
UNKNOWN = Level("unknown", -1, "--", "?", "unknown")

LEVELS: dict[str, Level] = {lv.name: lv for lv in (OK, WARN, ALERT, UNKNOWN)}

# Okabe-Ito (colour-blind safe); a fill pattern and the label say the same again.
LEVEL_COLOURS = {"ok": "#009E73", "warn": "#E69F00", "alert": "#D55E00", "unknown": "#999999"}
LEVEL_PATTERNS = {"ok": "", "warn": "/", "alert": "x", "unknown": "."}
# Light tints of the warn/alert colours for table rows: dark text on them stays readable.
ROW_TINTS = {"warn": "#FCE7C2", "alert": "#F8CDB5"}
TINT_TEXT = "#111111"
# st.metric's delta colours per level.
DELTA_COLOURS = {"ok": "green", "warn": "orange", "alert": "red"}
_BY_RANK = (OK, WARN, ALERT)


def _bound(level: Level, threshold: Threshold) -> float:
    return threshold.alert if level is ALERT else threshold.warn


def level(value: object, threshold: Threshold, previous: Level | str | None = None) -> Level:
    """The level of ``value``; ``previous`` is the level shown last time (for hysteresis).

    Rising: WARN at ``value >= warn``, ALERT at ``value >= alert``.
    Falling: a level is held until ``value < its threshold - hysteresis``.
    A threshold where lower is worse (service level) is the mirror image: WARN at
    ``value <= warn``, held until ``value > warn + hysteresis``.
    """
    v = number(value)
    if v is None:
        return UNKNOWN
    if not threshold.higher_is_worse:
        v = -v
        threshold = Threshold(-threshold.warn, -threshold.alert, threshold.hysteresis)
    raw = ALERT if v >= threshold.alert else WARN if v >= threshold.warn else OK
    prev = LEVELS.get(previous, UNKNOWN) if isinstance(previous, str) else previous
    if prev is None or prev.rank <= raw.rank:
        return raw
    current = prev
    while current.rank > raw.rank and v < _bound(current, threshold) - threshold.hysteresis:
        current = _BY_RANK[current.rank - 1]
    return current


class LevelMemory:
    """The last level per (metric, campaign) key, bounded so a long-running session stays small."""

    def __init__(self, max_keys: int = 1024) -> None:
        self._levels: OrderedDict[Hashable, str] = OrderedDict()
        self.max_keys = max_keys

    def __len__(self) -> int:
        return len(self._levels)

    def last(self, key: Hashable) -> Level | None:
        """The level ``key`` showed last (None before its first known reading)."""
        name = self._levels.get(key)
        return None if name is None else LEVELS[name]

    def update(self, key: Hashable, value: object, threshold: Threshold) -> Level:
        """The level for ``value`` given what ``key`` showed last time; remembers the result."""
        result = level(value, threshold, self._levels.get(key))
        if result is UNKNOWN:
            # an unknown reading says nothing about the trend: keep the last real level
            return result
        self._levels[key] = result.name
        self._levels.move_to_end(key)
        while len(self._levels) > self.max_keys:
            self._levels.popitem(last=False)
        return result


def worst(levels: Iterable[Level]) -> Level:
    """The most urgent known level; UNKNOWN when none is known (never OK by default)."""
    known = [lv for lv in levels if lv is not UNKNOWN]
    return max(known, key=lambda lv: lv.rank) if known else UNKNOWN
