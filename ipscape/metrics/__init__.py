"""Contact-centre metrics from the activities frame: answered, abandoned and voicemail calls,
service level, abandon rate, ASA and AHT, per campaign and in total; and voicemail call-backs.

Pure and vectorised (a day may hold 50,000 activities): the input is the typed activities frame
of ``ipscape.frames.activities_frame`` (and the voicemail frame for call-backs), the output is a
typed frame or a frozen value; nothing here fetches, caches or formats. Each metric has one
definition, in `GLOSSARY` (``glossary``, below, as the screens show it) and in the one function
that computes it (``calls`` reads the calls and their outcomes once for all of them):

- ``performance``: one row per campaign and a total row, over a window of creation times;
- `windows` and `performance_over`: today, the last hour and the last 15 minutes at once;
- `service_level_trend`: service level per time bucket through the day, bounded in points;
- `normalise_number` / `normalised_numbers`: phone numbers as E.164 digits;
- `returned_at` and `voicemail_summary`: when each voicemail was returned, and the tile's
  numbers (waiting, oldest waiting, returned today, median time to return).

Measured against a per-row Python loop with ``python -m benchmarks.metrics_bench``.
"""

from __future__ import annotations

from ipscape.metrics.callbacks import (
    DEFAULT_COUNTRY,
    VoicemailSummary,
    normalise_number,
    normalised_numbers,
    returned_at,
    returned_by,
    voicemail_summary,
)
from ipscape.metrics.glossary import GLOSSARY
from ipscape.metrics.performance import (
    PERFORMANCE_COLUMNS,
    ROLLING_WINDOWS,
    TOTAL_NAME,
    TREND_COLUMNS,
    TREND_MAX_POINTS,
    performance,
    performance_over,
    service_level_trend,
    windows,
)

__all__ = [
    "DEFAULT_COUNTRY",
    "GLOSSARY",
    "PERFORMANCE_COLUMNS",
    "ROLLING_WINDOWS",
    "TOTAL_NAME",
    "TREND_COLUMNS",
    "TREND_MAX_POINTS",
    "VoicemailSummary",
    "normalise_number",
    "normalised_numbers",
    "performance",
    "performance_over",
    "returned_at",
    "returned_by",
    "service_level_trend",
    "voicemail_summary",
    "windows",
]

__doc__ = (
    (__doc__ or "") + "\nDefinitions:\n\n" + "\n".join(f"- {k}: {v}" for k, v in GLOSSARY.items())
)
