"""The headline tiles, what each says and at which level, once for the overview and the wall:
the queue now (calls waiting, longest wait, max EWT, agents free) and today (service level,
abandon rate, voicemail waiting for a call-back)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ipscape.config import Thresholds
from ipscape.presentation.aggregates import Kpis
from ipscape.presentation.formats import age, count, duration, percent
from ipscape.presentation.levels import Level, LevelMemory

# The first tiles are about the queue now, the rest about today (the overview's two rows).
NOW_TILES = 4


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
    """The seven headline tiles of ``k`` (`NOW_TILES` of them about the queue now, then today);
    levels keep their hysteresis per ``scope`` in
    ``memory`` (the overview's "all", or a wall's campaign scope)."""

    def leveled(metric: str, value: float | None, threshold_name: str) -> Level:
        return memory.update((metric, scope), value, getattr(thresholds, threshold_name))

    p = k.performance
    sl = None if p is None else p.service_level_pct
    abandon = None if p is None else p.abandon_rate_pct
    target = thresholds.service_level.target_s
    offered_text = (
        "No calls answered or abandoned yet today."
        if p is None or p.answered + p.abandoned == 0
        else f"{p.answered} answered, {p.abandoned} abandoned."
    )

    def recent(attribute: str) -> str:
        """ "last hour 72% · last 15 min 65%": where the day's figure is heading."""
        return " · ".join(
            f"{label} {percent(None if totals is None else getattr(totals, attribute))}"
            for label, totals in k.recent
        )

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
            "service_level",
            "Service level today",
            percent(sl),
            leveled("service_level", sl, "service_level"),
            "performance",
            ("service_level",),
            recent("service_level_pct") or f"Target {target:g} s.",
        ),
        Headline(
            "abandon_rate",
            "Abandon rate today",
            percent(abandon),
            leveled("abandon_rate", abandon, "abandon_rate"),
            "performance",
            ("abandon_rate",),
            recent("abandon_rate_pct") or offered_text,
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
            ("voicemail", "voicemail_returned"),
            voicemail_detail(k),
        ),
    )


def voicemail_detail(k: Kpis) -> str:
    """ "Oldest 14 min; returned today 11, median 22 min." (the call-back part only when the
    voicemail frame knows call-backs)."""
    oldest = f"Oldest {age(k.oldest_voicemail_s)}" if k.voicemail else "None waiting"
    if k.voicemail_returned is None:
        return f"{oldest}."
    median = f", median {age(k.median_return_s)}" if k.voicemail_returned else ""
    return f"{oldest}; returned today {k.voicemail_returned}{median}."
