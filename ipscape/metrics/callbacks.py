"""Voicemail call-backs: phone numbers as E.164 digits (`normalised_numbers`), when each
voicemail was returned (`returned_at`), and the voicemail tile's numbers (`voicemail_summary`).
The rules are `ipscape.metrics.glossary`'s "Voicemail returned" and "Phone numbers"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from ipscape.clock import start_of_day
from ipscape.frames.values import STRING
from ipscape.metrics.calls import (
    ANSWERED,
    OUTBOUND,
    UTC_DTYPE,
    aware,
    flags,
    is_inbound,
    outcomes,
)

DEFAULT_COUNTRY: Final = "61"
# E.164: at most 15 digits; fewer than 7 is no real international number (e.g. "0" -> "61").
_MIN_DIGITS, _MAX_DIGITS = 7, 15
# What people write between the digits: spaces (of any kind), dashes, dots. Written out rather
# than as \s so that pyarrow's regular expressions run it, not Python's, row by row.
_SEPARATORS = "[ \t\n\r\x0b\x0c\xa0\u2007\u202f\u2010-\u2015.-]"


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
    valid = flags(text.str.fullmatch(r"\+?[0-9]+"))
    # Every form becomes "+<country code><number>", one rule after the other.
    text = text.str.replace(r"^(?:\+|0011|00)", "+", regex=True)
    text = text.str.replace(r"^0", f"+{default_country}", regex=True)
    text = text.str.replace(f"^{default_country}", f"+{default_country}", regex=True)
    text = text.str.replace(r"^([0-9])", f"+{default_country}\\1", regex=True)
    digits = text.str.slice(1)
    length = digits.str.len().to_numpy(dtype=float, na_value=0)
    valid &= (length >= _MIN_DIGITS) & (length <= _MAX_DIGITS)
    valid &= ~flags(digits.str.startswith("0"))  # no country code starts with 0
    return digits.where(valid, pd.NA)


def normalise_number(text: object, default_country: str = DEFAULT_COUNTRY) -> str | None:
    """One phone number as E.164 digits ("(02) 9999 0000" -> "61299990000"), None when it is
    no number (`normalised_numbers`, one value)."""
    value = normalised_numbers(pd.Series([text], dtype=object), default_country).iloc[0]
    return None if pd.isna(value) else str(value)


def _call_backs(activities: pd.DataFrame, default_country: str) -> pd.DataFrame:
    """(number, created_at) of every call that returns a voicemail from that number: outbound
    calls to it, answered inbound calls (any leg) from it; sorted by time, numbers known."""
    outbound = flags(activities["type"].astype(STRING).eq(OUTBOUND))
    answered_inbound = is_inbound(activities) & (outcomes(activities) == ANSWERED)
    created = activities["created_at"].astype(UTC_DTYPE)
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
    result = pd.Series(pd.NaT, index=voicemail.index, dtype=UTC_DTYPE, name="returned_at")
    messages = pd.DataFrame(
        {
            "row": np.arange(len(voicemail)),
            "number": normalised_numbers(voicemail["caller"], default_country).array,
            "received_at": voicemail["received_at"].astype(UTC_DTYPE).array,
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


def returned_by(voicemail: pd.DataFrame, now: datetime) -> np.ndarray:
    """Which voicemails were returned by ``now`` (the rest wait, as do all of a frame without
    a ``returned_at`` column: one stored before call-backs were known)."""
    if "returned_at" not in voicemail.columns:
        return np.zeros(len(voicemail), dtype=bool)
    return flags(voicemail["returned_at"].astype(UTC_DTYPE) <= aware(now, "now"))


def voicemail_summary(voicemail: pd.DataFrame, now: datetime, *, tz: str) -> VoicemailSummary:
    """`VoicemailSummary` of the voicemail frame with its ``returned_at`` column (`returned_at`),
    at ``now``: waiting = not returned by ``now``; oldest waiting = ``now`` minus the earliest
    ``received_at`` among them (0 for one dated after now); returned today = returned since
    local midnight in ``tz`` and by ``now``; median return = of received -> returned over
    those."""
    at = aware(now, "now")
    received = voicemail["received_at"].astype(UTC_DTYPE)
    returned = voicemail["returned_at"].astype(UTC_DTYPE)
    done = returned_by(voicemail, at)
    waiting_since = received[~done].dropna()
    oldest = None if waiting_since.empty else max(0.0, (at - waiting_since.min()).total_seconds())
    today = done & flags(returned >= pd.Timestamp(start_of_day(at.to_pydatetime(), tz)))
    took = (returned[today] - received[today]).dropna().dt.total_seconds()
    return VoicemailSummary(
        waiting=int((~done).sum()),
        oldest_waiting_s=oldest,
        returned_today=int(today.sum()),
        median_return_s=None if took.empty else float(took.median()),
    )
