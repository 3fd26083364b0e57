"""Performance per campaign and in total: answered, abandoned and voicemail counts, service
level, abandon rate, ASA and AHT over a window of creation times (`performance`), over today,
the last hour and the last 15 minutes at once (`performance_over`), and the service level per
time bucket through the day (`service_level_trend`). Definitions: `ipscape.metrics.glossary`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ipscape.clock import start_of_day
from ipscape.frames.values import STRING
from ipscape.metrics.calls import (
    ABANDONED,
    ANSWERED,
    UTC_DTYPE,
    VOICEMAIL,
    aware,
    counted_calls,
    in_window,
)

PERFORMANCE_COLUMNS: Final = (
    "campaign_id",
    "campaign_name",
    "answered",
    "abandoned",
    "voicemail",
    "service_level_pct",
    "abandon_rate_pct",
    "asa_s",
    "aht_s",
    "service_level_target_s",
)
TREND_COLUMNS: Final = (
    "bucket_start",
    "answered",
    "abandoned",
    "service_level_pct",
    "abandon_rate_pct",
)
# The counts among them (each the sum of its ``n_`` part, `_parts`).
_COUNT_COLUMNS = PERFORMANCE_COLUMNS[2:5]
TOTAL_NAME: Final = "All campaigns"
# Window name -> its length back from now; "today" starts at local midnight instead.
ROLLING_WINDOWS: Final[dict[str, timedelta]] = {
    "1h": timedelta(hours=1),
    "15m": timedelta(minutes=15),
}
TREND_MAX_POINTS: Final = 96  # a whole day of 15-minute buckets


def _target(value: float, name: str) -> float:
    target = float(value)
    if not math.isfinite(target) or target < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return target


def _row_targets(
    campaign_id: pd.Series, target_s: float, targets: Mapping[int, float] | None
) -> np.ndarray:
    """Each call's service-level target: its campaign's override, else ``target_s``."""
    default = _target(target_s, "target_s")
    if not targets:
        return np.full(len(campaign_id), default)
    overrides = {int(k): _target(v, f"targets[{k}]") for k, v in targets.items()}
    mapped = campaign_id.map(overrides).astype("Float64")
    return mapped.to_numpy(dtype=float, na_value=default)


def _parts(calls: pd.DataFrame, targets: np.ndarray) -> pd.DataFrame:
    """Per call, the numbers that add up into every metric (one column per sum)."""
    outcome = calls["outcome"].to_numpy()
    queue, handle = calls["queue_s"].to_numpy(), calls["handle_s"].to_numpy()
    answered = outcome == ANSWERED
    wait_known = answered & ~np.isnan(queue)
    handle_known = answered & ~np.isnan(handle)
    return pd.DataFrame(
        {
            "n_answered": answered.astype(np.int64),
            "n_abandoned": (outcome == ABANDONED).astype(np.int64),
            "n_voicemail": (outcome == VOICEMAIL).astype(np.int64),
            # NaN <= T is False: an unknown wait is never within the target.
            "n_within": (answered & (queue <= targets)).astype(np.int64),
            "n_wait": wait_known.astype(np.int64),
            "wait_sum": np.where(wait_known, queue, 0.0),
            "n_handle": handle_known.astype(np.int64),
            "handle_sum": np.where(handle_known, handle, 0.0),
        }
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray, scale: float = 1.0) -> pd.array:
    """scale × numerator / denominator, unknown (<NA>) where the denominator is 0."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    out = np.full(len(num), np.nan)
    np.divide(scale * num, den, out=out, where=den > 0)
    return pd.array(out, dtype="Float64")


def _metrics(sums: pd.DataFrame) -> dict[str, pd.array]:
    """The counts and metrics of summed `_parts` (one row per group)."""
    column = {name: sums[name].to_numpy() for name in sums.columns}
    offered = column["n_answered"] + column["n_abandoned"]
    return {
        **{name: pd.array(column[f"n_{name}"], dtype="Int64") for name in _COUNT_COLUMNS},
        "service_level_pct": _ratio(column["n_within"], offered, 100.0),
        "abandon_rate_pct": _ratio(column["n_abandoned"], offered, 100.0),
        "asa_s": _ratio(column["wait_sum"], column["n_wait"]),
        "aht_s": _ratio(column["handle_sum"], column["n_handle"]),
    }


# ------------------------------------------------------------------------------ performance


def performance(
    activities: pd.DataFrame,
    *,
    target_s: float,
    since: datetime | None = None,
    until: datetime | None = None,
    targets: Mapping[int, float] | None = None,
) -> pd.DataFrame:
    """One row per campaign with an inbound call created in [since, until), by campaign id,
    then the total row (campaign_id <NA>, campaign_name "All campaigns"); columns
    `PERFORMANCE_COLUMNS`, counts Int64, metrics Float64, by the definitions in `GLOSSARY`.

    ``target_s`` is the service-level target T in seconds, ``targets`` campaign id -> its own
    T. The total row's ``service_level_target_s`` is the one T its calls were measured
    against (``target_s`` when there are none), <NA> when campaigns' targets differ: each call
    is measured against its own campaign's T.
    """
    calls = counted_calls(activities)
    return _performance(calls, in_window(calls["created_at"], since, until), target_s, targets)


def _performance(
    calls: pd.DataFrame,
    keep: np.ndarray,
    target_s: float,
    targets: Mapping[int, float] | None,
) -> pd.DataFrame:
    calls = calls[keep].reset_index(drop=True)
    default = _target(target_s, "target_s")
    row_targets = _row_targets(calls["campaign_id"], default, targets)
    parts = _parts(calls, row_targets)
    known = calls["campaign_id"].notna().to_numpy()
    ids = calls["campaign_id"].to_numpy(dtype=np.int64, na_value=0)[known]
    sums = pd.concat([parts[known].groupby(ids).sum(), parts.sum().to_frame().T])
    # The name on each campaign's latest call: frames are not always in creation order.
    latest = (
        calls[known].assign(key=ids).sort_values("created_at", kind="stable", na_position="first")
    )
    names = latest.groupby("key", sort=True)["campaign_name"].last()
    campaign_targets = pd.Series(row_targets[known]).groupby(ids, sort=True).first()
    common = np.unique(row_targets) if len(row_targets) else np.array([default])
    total_target = common[0] if len(common) == 1 else np.nan
    columns = {
        "campaign_id": pd.array([*names.index.tolist(), None], dtype="Int64"),
        "campaign_name": pd.array([*names.tolist(), TOTAL_NAME], dtype=STRING),
        **_metrics(sums),
        "service_level_target_s": pd.array(
            [*campaign_targets.tolist(), total_target], dtype="Float64"
        ),
    }
    return pd.DataFrame(columns, columns=list(PERFORMANCE_COLUMNS))


def windows(now: datetime, tz: str) -> dict[str, tuple[datetime, datetime | None]]:
    """Window name -> (since, until) of `performance`: "today" from local midnight in ``tz``
    (`ipscape.clock.start_of_day`), "1h" and "15m" back from ``now``; all open-ended."""
    now = aware(now, "now").to_pydatetime()
    spans: dict[str, tuple[datetime, datetime | None]] = {"today": (start_of_day(now, tz), None)}
    spans.update({name: (now - length, None) for name, length in ROLLING_WINDOWS.items()})
    return spans


def performance_over(
    activities: pd.DataFrame,
    now: datetime,
    tz: str,
    *,
    target_s: float,
    targets: Mapping[int, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """`performance` over each of `windows` (today, last hour, last 15 minutes), the calls
    classified once for all three."""
    calls = counted_calls(activities)
    return {
        name: _performance(calls, in_window(calls["created_at"], since, until), target_s, targets)
        for name, (since, until) in windows(now, tz).items()
    }


def _bucket_starts(moments: pd.Series, tz: str, step: pd.Timedelta) -> pd.Series:
    """The start of each moment's bucket: its local time in ``tz`` floored to ``step``, taken
    back to UTC with the moment's own offset (so the hour repeated when summer time ends is two
    buckets, not one of two hours)."""
    utc = moments.astype(UTC_DTYPE)
    local = utc.dt.tz_convert(ZoneInfo(tz)).dt.tz_localize(None)
    return utc - (local - local.dt.floor(step))


def service_level_trend(
    activities: pd.DataFrame,
    *,
    target_s: float,
    tz: str,
    freq: str = "15min",
    since: datetime | None = None,
    until: datetime | None = None,
    targets: Mapping[int, float] | None = None,
    max_points: int = TREND_MAX_POINTS,
) -> pd.DataFrame:
    """All campaigns' service level and abandon rate per bucket of creation time, for a chart
    through the day; columns `TREND_COLUMNS`, bucket_start in UTC.

    Buckets are aligned to ``freq`` in local time in ``tz`` (10:00, 10:15, ...; ``freq`` must
    divide an hour) and run from the bucket of ``since`` (else of the first call) to the bucket
    of ``until`` (else of the last call), calls created in [since, until); a bucket without
    calls is a point with counts 0 and rates unknown, so a quiet spell shows as a gap. At most
    the latest ``max_points`` buckets.
    """
    step = pd.Timedelta(freq)
    if step <= pd.Timedelta(0) or pd.Timedelta(hours=1) % step != pd.Timedelta(0):
        raise ValueError(f"freq must divide an hour (15min, 30min, 1h), got {freq!r}")
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points!r}")
    calls = counted_calls(activities)
    calls = calls[in_window(calls["created_at"], since, until) & calls["created_at"].notna()]
    parts = _parts(calls, _row_targets(calls["campaign_id"], target_s, targets))
    buckets = _bucket_starts(calls["created_at"], tz, step)
    sums = parts.groupby(pd.DatetimeIndex(buckets), sort=True).sum()
    first = sums.index[0] if len(sums) else None
    last = sums.index[-1] if len(sums) else None
    if since is not None:
        first = _bucket_starts(pd.Series([aware(since, "since")]), tz, step).iloc[0]
    if until is not None:
        # the bucket of the last moment before until: a range ending at midnight ends with
        # the 23:45 bucket, not an empty one at 00:00 outside it
        before = pd.Series([aware(until, "until")]) - pd.Timedelta(1, "us")
        last = _bucket_starts(before, tz, step).iloc[0]
    if first is not None and last is not None:
        first = max(first, last - step * (max_points - 1))
        sums = sums.reindex(pd.date_range(first, last, freq=step), fill_value=0)
    metrics = _metrics(sums)
    return pd.DataFrame(
        {
            "bucket_start": pd.DatetimeIndex(sums.index, tz="UTC").astype(UTC_DTYPE),
            **{name: metrics[name] for name in TREND_COLUMNS[1:]},
        },
        columns=list(TREND_COLUMNS),
    )
