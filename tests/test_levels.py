"""Threshold levels: rising at the threshold, falling only below threshold - hysteresis."""

from __future__ import annotations

import pandas as pd
import pytest

from ipscape.config import ServiceLevelThreshold, Threshold
from ipscape.presentation.levels import ALERT, OK, UNKNOWN, WARN, LevelMemory, level

T = Threshold(warn=60, alert=180, hysteresis=10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, OK), (59.9, OK), (60, WARN), (179, WARN), (180, ALERT), (10_000, ALERT)],
)
def test_level_rises_at_each_threshold(value: float, expected: object) -> None:
    assert level(value, T) is expected


def test_value_hovering_at_the_warn_threshold_does_not_flap() -> None:
    memory = LevelMemory()
    shown = [memory.update("ewt", v, T).name for v in (61, 59, 61, 58, 55, 51, 61)]
    assert shown == ["warn"] * 7


def test_level_clears_only_below_threshold_minus_hysteresis() -> None:
    assert level(50.5, T, WARN) is WARN
    assert level(49.9, T, WARN) is OK


def test_alert_steps_down_to_warn_then_ok() -> None:
    assert level(175, T, ALERT) is ALERT
    assert level(169, T, ALERT) is WARN
    assert level(20, T, ALERT) is OK


def test_rising_is_never_delayed_by_the_previous_level() -> None:
    assert level(180, T, OK) is ALERT
    assert level(60, T, "ok") is WARN


def test_unknown_value_is_unknown_not_ok() -> None:
    assert level(None, T) is UNKNOWN
    assert level(float("nan"), T, WARN) is UNKNOWN
    assert level(pd.NA, T) is UNKNOWN


def test_unknown_reading_keeps_the_remembered_level() -> None:
    memory = LevelMemory()
    memory.update("k", 65, T)
    assert memory.update("k", None, T) is UNKNOWN
    assert memory.update("k", 55, T) is WARN  # still within hysteresis of the remembered WARN


def test_zero_hysteresis_clears_just_below_the_threshold() -> None:
    assert level(59.99, Threshold(60, 180, 0), WARN) is OK


def test_every_level_has_a_text_label_and_icon() -> None:
    assert [lv.badge for lv in (OK, WARN, ALERT)] == ["OK ✓", "WARN ▲", "ALERT ■"]


def test_level_memory_is_bounded() -> None:
    memory = LevelMemory(max_keys=3)
    for key in range(10):
        memory.update(("ewt", key), 100, T)
    assert len(memory) == 3
    # the oldest keys were forgotten: a fresh reading of 55 starts from nothing (OK)
    assert memory.update(("ewt", 0), 55, T) is OK
    assert memory.update(("ewt", 9), 55, T) is WARN


# Service level: lower is worse.
SL = ServiceLevelThreshold(warn=80, alert=70, hysteresis=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, OK), (80.1, OK), (80, WARN), (70.1, WARN), (70, ALERT), (0, ALERT)],
)
def test_lower_is_worse_levels_fall_at_each_threshold(value: float, expected: object) -> None:
    assert level(value, SL) is expected


def test_lower_is_worse_clears_only_above_threshold_plus_hysteresis() -> None:
    assert level(81, SL, previous=WARN) is WARN  # within the hysteresis band
    assert level(82, SL, previous=WARN) is WARN  # exactly at the band's edge: held
    assert level(82.5, SL, previous=WARN) is OK
    assert level(71, SL, previous=ALERT) is ALERT
    assert level(73, SL, previous=ALERT) is WARN
    assert level(95, SL, previous=ALERT) is OK
    assert level(60, SL, previous=OK) is ALERT  # falling is never delayed
