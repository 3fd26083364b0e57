"""Contact-centre metrics from the activities frame: answered, abandoned and voicemail calls,
service level, abandon rate, ASA and AHT, per campaign and in total; and voicemail call-backs.

Pure and vectorised (a day may hold 50,000 activities): the input is the typed activities frame
of ``ipscape.frames.activities_frame`` (and the voicemail frame for call-backs), the output is a
typed frame or a frozen value; nothing here fetches, caches or formats. Each metric has one
definition, in `GLOSSARY` (below, as the screens show it) and in the one function that
computes it:

- `performance`: one row per campaign and a total row, over a window of creation times;
- `windows` and `performance_over`: today, the last hour and the last 15 minutes at once;
- `service_level_trend`: service level per time bucket through the day, bounded in points;
- `normalise_number` / `normalised_numbers`: phone numbers as E.164 digits;
- `returned_at` and `voicemail_summary`: when each voicemail was returned, and the tile's
  numbers (waiting, oldest waiting, returned today, median time to return).

Measured against a per-row Python loop with ``python -m benchmarks.metrics_bench``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ipscape.clock import start_of_day
from ipscape.frames.values import STRING

# Term -> its definition, in plain words (no Markdown), as the glossary on screen shows it.
GLOSSARY: Final[dict[str, str]] = {
    "Calls": (
        "Inbound calls created in the period, each counted once. A transferred call counts in "
        "the campaign of its first leg, by that leg's outcome; the legs it was transferred to "
        "(activities with a parent) are not counted again. A call with no campaign counts in "
        "the total only."
    ),
    "Answered": (
        "Calls an agent answered: status Answered or Transferred, or any other status with an "
        "answer time (a call still in progress counts from the moment it is answered)."
    ),
    "Abandoned": (
        "Calls with status Abandoned: the caller hung up before an agent answered. The activity "
        "does not say whether that was in the queue or before it, so both count."
    ),
    "Voicemail": (
        "Calls that reached voicemail: with a voicemail recording, or status Voicemail. They "
        "count as neither answered nor abandoned, whatever else they say."
    ),
    "Not yet counted": (
        "Calls still in the IVR or the queue, and calls whose status is unknown to us and that "
        "have no answer time, count in none of the above (until they end)."
    ),
    "Service level": (
        "100 × answered within the target wait (queue wait ≤ T seconds) ÷ (answered + "
        "abandoned). An answered call whose queue wait is unknown counts in the denominator, "
        "never as within the target. A campaign may have its own T; the total measures each "
        "call against its own campaign's T."
    ),
    "Abandon rate": "100 × abandoned ÷ (answered + abandoned).",
    "ASA": (
        "Average speed of answer: the mean queue wait of the answered calls, over those whose "
        "queue wait is known."
    ),
    "AHT": (
        "Average handle time: the mean of talk + hold + wrap of the answered calls, over those "
        "whose three parts are all known (so a call still being talked or wrapped up counts "
        "once it is finished)."
    ),
    "Unknown": (
        "A value with nothing to measure (no answered or abandoned call; no known wait or "
        "handle time) is unknown (--), never 0 % or 100 %."
    ),
    "Period": (
        "A call belongs to the period in which it was created (today from local midnight, the "
        "last hour, the last 15 minutes), whenever it was answered."
    ),
    "Voicemail returned": (
        "A voicemail is returned once an outbound call to the caller's number (any dial "
        "attempt, whether or not it got through), or an answered inbound call from it, is "
        "created after the voicemail was received, in any campaign; the earliest such call is "
        "the time it was returned. Until then it is waiting."
    ),
    "Phone numbers": (
        "Compared as international (E.164) digits: spaces, dashes, dots and brackets are "
        "ignored, and so is a (0) after the country code; after a leading + (or the "
        "international prefix 00 or 0011) comes the country code; a leading trunk 0 becomes "
        "the country code (61 by default); digits that start with the country code are "
        "already international; other digits are a national number written without its 0 and "
        "get the country code. Anything else (letters, fewer than 7 or more than 15 digits, "
        "empty) is no number and matches nothing."
    ),
}

__doc__ = (
    (__doc__ or "") + "\nDefinitions:\n\n" + "\n".join(f"- {k}: {v}" for k, v in GLOSSARY.items())
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
DEFAULT_COUNTRY: Final = "61"
TREND_MAX_POINTS: Final = 96  # a whole day of 15-minute buckets

_INBOUND, _OUTBOUND = "call.inbound", "call.outbound"
# Statuses are compared stripped and in lower case: vendor strings are untrusted text.
_ANSWERED_STATUSES = ("answered", "transferred")
_ABANDONED_STATUS, _VOICEMAIL_STATUS = "abandoned", "voicemail"
# Outcome codes of an inbound call (`_outcomes`).
_NONE, _ANSWERED, _ABANDONED, _VOICEMAIL = 0, 1, 2, 3
_UTC = "datetime64[ns, UTC]"
# E.164: at most 15 digits; fewer than 7 is no real international number (e.g. "0" -> "61").
_MIN_DIGITS, _MAX_DIGITS = 7, 15
# What people write between the digits: spaces (of any kind), dashes, dots. Written out rather
# than as \s so that pyarrow's regular expressions run it, not Python's, row by row.
_SEPARATORS = "[ \t\n\r\x0b\x0c\xa0\u2007\u202f\u2010-\u2015.-]"


# ------------------------------------------------------------------------ calls and outcomes


def _flags(values: pd.Series) -> np.ndarray:
    """A boolean column as a numpy mask, unknown as False."""
    return values.to_numpy(dtype=bool, na_value=False)


def _floats(values: pd.Series) -> np.ndarray:
    """A Float64 column as floats, unknown as NaN."""
    return values.to_numpy(dtype=float, na_value=np.nan)


def _is_inbound(activities: pd.DataFrame) -> np.ndarray:
    return _flags(activities["type"].astype(STRING).eq(_INBOUND))


def _outcomes(activities: pd.DataFrame) -> np.ndarray:
    """Each activity's outcome read as an inbound call's, by the definitions of answered,
    abandoned and voicemail in `GLOSSARY`: voicemail first (it counts as nothing else), then
    the status Abandoned, then an answer (a status saying so, or an answer time)."""
    status = activities["status"].astype(STRING).str.strip().str.lower()
    voicemail = _flags(activities["has_voicemail"].astype("boolean")) | _flags(
        status.eq(_VOICEMAIL_STATUS)
    )
    abandoned = _flags(status.eq(_ABANDONED_STATUS))
    answered = (
        _flags(status.isin(_ANSWERED_STATUSES)) | activities["answered_at"].notna().to_numpy()
    )
    return np.select(
        [voicemail, abandoned, answered], [_VOICEMAIL, _ABANDONED, _ANSWERED], default=_NONE
    ).astype(np.int8)


def _calls(activities: pd.DataFrame) -> pd.DataFrame:
    """The calls the metrics count: inbound first legs (no parent activity), with their
    campaign, creation time, outcome, queue wait and handle time (NaN when any part of it is
    unknown). Transferred legs are left out so that a transferred call counts once."""
    keep = _is_inbound(activities) & activities["parent_activity_id"].isna().to_numpy()
    handle = (
        _floats(activities["talk_s"])
        + _floats(activities["hold_s"])
        + _floats(activities["wrap_s"])
    )
    return pd.DataFrame(
        {
            "campaign_id": activities["campaign_id"].astype("Int64").array[keep],
            "campaign_name": activities["campaign_name"].astype(STRING).array[keep],
            "created_at": activities["created_at"].array[keep],
            "outcome": _outcomes(activities)[keep],
            "queue_s": _floats(activities["queue_s"])[keep],
            "handle_s": handle[keep],
        }
    )


def _in_window(created_at: pd.Series, since: datetime | None, until: datetime | None) -> np.ndarray:
    """since <= created_at < until (either bound may be open); with a bound, a call of unknown
    creation time is in no window."""
    keep = np.ones(len(created_at), dtype=bool)
    if since is not None:
        keep &= _flags(created_at >= _aware(since, "since"))
    if until is not None:
        keep &= _flags(created_at < _aware(until, "until"))
    return keep


def _aware(moment: datetime, name: str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return stamp


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


# ----------------------------------------------------------------------------- the sums


def _parts(calls: pd.DataFrame, targets: np.ndarray) -> pd.DataFrame:
    """Per call, the numbers that add up into every metric (one column per sum)."""
    outcome = calls["outcome"].to_numpy()
    queue, handle = calls["queue_s"].to_numpy(), calls["handle_s"].to_numpy()
    answered = outcome == _ANSWERED
    wait_known = answered & ~np.isnan(queue)
    handle_known = answered & ~np.isnan(handle)
    return pd.DataFrame(
        {
            "n_answered": answered.astype(np.int64),
            "n_abandoned": (outcome == _ABANDONED).astype(np.int64),
            "n_voicemail": (outcome == _VOICEMAIL).astype(np.int64),
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
    calls = _calls(activities)
    return _performance(calls, _in_window(calls["created_at"], since, until), target_s, targets)


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
    now = _aware(now, "now").to_pydatetime()
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
    calls = _calls(activities)
    return {
        name: _performance(calls, _in_window(calls["created_at"], since, until), target_s, targets)
        for name, (since, until) in windows(now, tz).items()
    }


def _bucket_starts(moments: pd.Series, tz: str, step: pd.Timedelta) -> pd.Series:
    """The start of each moment's bucket: its local time in ``tz`` floored to ``step``, taken
    back to UTC with the moment's own offset (so the hour repeated when summer time ends is two
    buckets, not one of two hours)."""
    utc = moments.astype(_UTC)
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
    calls = _calls(activities)
    calls = calls[_in_window(calls["created_at"], since, until) & calls["created_at"].notna()]
    parts = _parts(calls, _row_targets(calls["campaign_id"], target_s, targets))
    buckets = _bucket_starts(calls["created_at"], tz, step)
    sums = parts.groupby(pd.DatetimeIndex(buckets), sort=True).sum()
    first = sums.index[0] if len(sums) else None
    last = sums.index[-1] if len(sums) else None
    if since is not None:
        first = _bucket_starts(pd.Series([_aware(since, "since")]), tz, step).iloc[0]
    if until is not None:
        last = _bucket_starts(pd.Series([_aware(until, "until")]), tz, step).iloc[0]
    if first is not None and last is not None:
        first = max(first, last - step * (max_points - 1))
        sums = sums.reindex(pd.date_range(first, last, freq=step), fill_value=0)
    metrics = _metrics(sums)
    return pd.DataFrame(
        {
            "bucket_start": pd.DatetimeIndex(sums.index, tz="UTC").astype(_UTC),
            **{name: metrics[name] for name in TREND_COLUMNS[1:]},
        },
        columns=list(TREND_COLUMNS),
    )


# ---------------------------------------------------------------------------- phone numbers


def normalised_numbers(numbers: pd.Series, default_country: str = DEFAULT_COUNTRY) -> pd.Series:
    """Each phone number as E.164 digits without the + ("61299990000"), <NA> when it is no
    number; the rule is `GLOSSARY`'s "Phone numbers". Same index, string dtype."""
    if not (default_country.isdigit() and 1 <= len(default_country) <= 3):
        raise ValueError(f"default_country must be 1-3 digits, got {default_country!r}")
    if numbers.dtype != STRING:
        numbers = numbers.map(lambda v: v if isinstance(v, str) else None).astype(STRING)
    text = numbers.str.replace(_SEPARATORS, "", regex=True)
    # "+61 (0)2 ...": the trunk 0 some people write in brackets after the country code.
    text = text.str.replace(r"^(\+[0-9]{1,3})\(0\)", r"\1", regex=True)
    text = text.str.replace(r"[()\[\]]", "", regex=True)
    valid = _flags(text.str.fullmatch(r"\+?[0-9]+"))
    # Every form becomes "+<country code><number>", one rule after the other.
    text = text.str.replace(r"^(?:\+|0011|00)", "+", regex=True)
    text = text.str.replace(r"^0", f"+{default_country}", regex=True)
    text = text.str.replace(f"^{default_country}", f"+{default_country}", regex=True)
    text = text.str.replace(r"^([0-9])", f"+{default_country}\\1", regex=True)
    digits = text.str.slice(1)
    length = digits.str.len().to_numpy(dtype=float, na_value=0)
    valid &= (length >= _MIN_DIGITS) & (length <= _MAX_DIGITS)
    valid &= ~_flags(digits.str.startswith("0"))  # no country code starts with 0
    return digits.where(valid, pd.NA)


def normalise_number(text: object, default_country: str = DEFAULT_COUNTRY) -> str | None:
    """One phone number as E.164 digits ("(02) 9999 0000" -> "61299990000"), None when it is
    no number (`normalised_numbers`, one value)."""
    value = normalised_numbers(pd.Series([text], dtype=object), default_country).iloc[0]
    return None if pd.isna(value) else str(value)


# ------------------------------------------------------------------------ voicemail call-backs


def _call_backs(activities: pd.DataFrame, default_country: str) -> pd.DataFrame:
    """(number, created_at) of every call that returns a voicemail from that number: outbound
    calls to it, answered inbound calls (any leg) from it; sorted by time, numbers known."""
    outbound = _flags(activities["type"].astype(STRING).eq(_OUTBOUND))
    answered_inbound = _is_inbound(activities) & (_outcomes(activities) == _ANSWERED)
    created = activities["created_at"].astype(_UTC)
    calls = pd.DataFrame(
        {
            "number": normalised_numbers(
                pd.concat(
                    [
                        activities["destination"].astype(STRING)[outbound],
                        activities["source"].astype(STRING)[answered_inbound],
                    ],
                    ignore_index=True,
                ),
                default_country,
            ),
            "created_at": pd.concat(
                [created[outbound], created[answered_inbound]], ignore_index=True
            ),
        }
    )
    calls = calls[calls["number"].notna().to_numpy() & calls["created_at"].notna().to_numpy()]
    return calls.sort_values("created_at", kind="stable").reset_index(drop=True)


def returned_at(
    voicemail: pd.DataFrame,
    activities: pd.DataFrame,
    *,
    default_country: str = DEFAULT_COUNTRY,
) -> pd.Series:
    """When each voicemail was returned (`GLOSSARY`'s "Voicemail returned"): the creation time
    of the earliest call-back created strictly after ``received_at``, NaT while waiting.
    Aligned to ``voicemail``'s index. A voicemail with no usable caller number or no receipt
    time stays waiting: nothing can be said to return it."""
    result = pd.Series(pd.NaT, index=voicemail.index, dtype=_UTC, name="returned_at")
    messages = pd.DataFrame(
        {
            "row": np.arange(len(voicemail)),
            "number": normalised_numbers(voicemail["caller"], default_country).array,
            "received_at": voicemail["received_at"].astype(_UTC).array,
        }
    )
    messages = messages[
        messages["number"].notna().to_numpy() & messages["received_at"].notna().to_numpy()
    ]
    calls = _call_backs(activities, default_country)
    if messages.empty or calls.empty:
        return result
    # For each voicemail the first call-back of its number after it: one sorted pass.
    matched = pd.merge_asof(
        messages.sort_values("received_at", kind="stable"),
        calls,
        left_on="received_at",
        right_on="created_at",
        by="number",
        direction="forward",
        allow_exact_matches=False,
    )
    found = matched["created_at"].notna().to_numpy()
    result.iloc[matched["row"].to_numpy()[found]] = matched["created_at"].to_numpy()[found]
    return result


@dataclass(frozen=True)
class VoicemailSummary:
    """The voicemail tile: how many wait and since when; how many were returned today and how
    long that took (median). None is unknown (nothing to measure), never 0."""

    waiting: int
    oldest_waiting_s: float | None
    returned_today: int
    median_return_s: float | None


def voicemail_summary(voicemail: pd.DataFrame, now: datetime, *, tz: str) -> VoicemailSummary:
    """`VoicemailSummary` of the voicemail frame with its ``returned_at`` column (`returned_at`),
    at ``now``: waiting = not returned by ``now``; oldest waiting = ``now`` minus the earliest
    ``received_at`` among them (0 for one dated after now); returned today = returned since
    local midnight in ``tz`` and by ``now``; median return = of received -> returned over
    those."""
    at = _aware(now, "now")
    received = voicemail["received_at"].astype(_UTC)
    returned = voicemail["returned_at"].astype(_UTC)
    done = _flags(returned <= at)
    waiting_since = received[~done].dropna()
    oldest = None if waiting_since.empty else max(0.0, (at - waiting_since.min()).total_seconds())
    today = done & _flags(returned >= pd.Timestamp(start_of_day(at.to_pydatetime(), tz)))
    took = (returned[today] - received[today]).dropna().dt.total_seconds()
    return VoicemailSummary(
        waiting=int((~done).sum()),
        oldest_waiting_s=oldest,
        returned_today=int(today.sum()),
        median_return_s=None if took.empty else float(took.median()),
    )
