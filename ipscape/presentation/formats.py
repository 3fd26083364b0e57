"""How values read on screen: one formatter per kind, one notion of "unknown".

A value is unknown when it is missing (None, NA, NaN, NaT) or, where a number is expected, not a
number at all: it reads "--", never 0, so a gap never passes for a quiet queue.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

UNKNOWN_TEXT = "--"


def is_missing(value: object) -> bool:
    """None, pandas' NA/NaT or a float NaN (for any value, text included)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def number(value: object) -> float | None:
    """``value`` as a float, or None when it is unknown: missing, not a number or infinite
    (no count, duration or age is infinite: the tenant sent something we cannot read)."""
    if is_missing(value) or isinstance(value, bool):
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def text(value: object) -> str:
    """A value as text, "--" when missing."""
    return UNKNOWN_TEXT if is_missing(value) else str(value)


def count(value: object) -> str:
    """``1,234``; "--" when unknown."""
    n = number(value)
    return UNKNOWN_TEXT if n is None else f"{round(n):,}"


def duration(seconds: object) -> str:
    """``m:ss`` under an hour, ``10 h 02 m`` from an hour (``10:02:25`` would read as a time of
    day on a wall board); "--" when unknown."""
    n = number(seconds)
    if n is None:
        return UNKNOWN_TEXT
    total = max(0, round(n))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} m" if hours else f"{minutes}:{secs:02d}"


def percent(value: object) -> str:
    """A percentage: whole per cent (``87%``), one decimal under 10 (``3.4%``), never rounded
    up to 100% or down to 0% when it is not exactly that; "--" when unknown."""
    n = number(value)
    if n is None:
        return UNKNOWN_TEXT
    if n in (0, 100):
        return f"{n:.0f}%"
    shown = f"{n:.1f}" if abs(n) < 10 else f"{n:.0f}"
    if shown in ("100", "0.0"):
        shown = "99.9" if n > 50 else "0.1"  # 99.6% is not everyone; 0.04% is not nobody
    return f"{shown}%"


def age(seconds: object) -> str:
    """How long ago, coarsening with size: ``45 s``, ``12 min``, ``3 h 05 min``."""
    n = number(seconds)
    if n is None:
        return UNKNOWN_TEXT
    s = max(0, round(n))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def clock_time(at: datetime | None, tz: str) -> str:
    """``14:05:09`` in the display time zone; "--" when unknown."""
    return UNKNOWN_TEXT if at is None else at.astimezone(ZoneInfo(tz)).strftime("%H:%M:%S")


# Vectorised forms, for tables of thousands of rows.


def texts(series: pd.Series) -> pd.Series:
    """Text column; missing values stay missing (the table shows them as "--")."""
    return series.astype("string")


def seconds(series: pd.Series) -> pd.Series:
    """A numeric column of seconds (nullable Float64; non-numbers are unknown, negatives 0)."""
    return pd.to_numeric(series, errors="coerce").astype("Float64").clip(lower=0)


def counts(series: pd.Series) -> pd.Series:
    """A nullable integer column (non-numbers are unknown)."""
    return pd.to_numeric(series, errors="coerce").astype("Float64").round().astype("Int64")


def local_times(series: pd.Series, tz: str) -> pd.Series:
    """Timestamps in the display time zone (tz-aware; missing stay NaT)."""
    return pd.to_datetime(series, utc=True).dt.tz_convert(ZoneInfo(tz))


def age_seconds(times: pd.Series, now: datetime) -> pd.Series:
    """Seconds from each timestamp to ``now`` (Float64, <NA> where the time is unknown)."""
    stamps = pd.to_datetime(times, utc=True)
    return ((pd.Timestamp(now) - stamps).dt.total_seconds()).astype("Float64")
