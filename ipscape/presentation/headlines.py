"""The headline tiles (calls waiting, longest wait, max EWT, agents free, voicemail): what each
says and at which level, once for the overview and the wall."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ipscape.config import Thresholds
from ipscape.presentation.aggregates import Kpis
from ipscape.presentation.formats import count, duration
from ipscape.presentation.levels import Level, LevelMemory


@dataclass(frozen=True)
class Headline:
    key: str  # the metric, also the tile's stable id
    label: str
    value: str
    level: Level | None  # None: this number has no threshold
    feed: str  # the snapshot whose freshness the tile carries
    help_keys: tuple[str, ...]  # glossary entries that explain it (ui/glossary.py)
    detail: str | None = None


def headlines(
    k: Kpis, thresholds: Thresholds, memory: LevelMemory, scope: Hashable = "all"
) -> tuple[Headline, ...]:
    """The five headline tiles of ``k``; levels keep their hysteresis per ``scope`` in
    ``memory`` (the overview's "all", or a wall's campaign scope)."""

    def leveled(metric: str, value: float | None, threshold_name: str) -> Level:
        return memory.update((metric, scope), value, getattr(thresholds, threshold_name))

    return (
        Headline(
            "calls_waiting",
            "Calls waiting",
            count(k.waiting),
            leveled("calls_waiting", k.waiting, "calls_waiting"),
            "campaigns",
            ("calls_waiting",),
        ),
        Headline(
            "longest_wait",
            "Longest wait",
            duration(k.longest_wait_s),
            leveled("longest_wait_s", k.longest_wait_s, "longest_wait_s"),
            "campaigns",
            ("longest_wait",),
        ),
        Headline(
            "ewt",
            "Max EWT",
            duration(k.max_ewt_s),
            leveled("ewt_s", k.max_ewt_s, "ewt_s"),
            "campaigns",
            ("ewt",),
        ),
        Headline(
            "agents_free",
            "Agents free / logged in",
            f"{count(k.agents_free)} / {count(k.agents_logged_in)}",
            None,
            "agents",
            ("agents_available", "agents_logged_in"),
        ),
        Headline(
            "voicemail",
            "Voicemail waiting",
            count(k.voicemail),
            # No voicemail has no age: its level is not OK, it is not there.
            leveled("voicemail_age_s", k.oldest_voicemail_s, "voicemail_age_s")
            if k.voicemail
            else None,
            "voicemail",
            ("voicemail",),
            f"Oldest: {duration(k.oldest_voicemail_s)}.",
        ),
    )
