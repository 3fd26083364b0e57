"""The calls the metrics count, read once from the activities frame: which activities are
inbound first legs, and each one's outcome (answered, abandoned, voicemail or none yet) by the
definitions in `ipscape.metrics.glossary`; plus the masks and time checks the metrics share."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ipscape.frames.values import STRING

INBOUND, OUTBOUND = "call.inbound", "call.outbound"
# Statuses are compared stripped and in lower case: vendor strings are untrusted text.
_ANSWERED_STATUSES = ("answered", "transferred")
_ABANDONED_STATUS, _VOICEMAIL_STATUS = "abandoned", "voicemail"
# Outcome codes of an inbound call (`outcomes`).
NO_OUTCOME, ANSWERED, ABANDONED, VOICEMAIL = 0, 1, 2, 3
UTC_DTYPE = "datetime64[ns, UTC]"


def flags(values: pd.Series) -> np.ndarray:
    """A boolean column as a numpy mask, unknown as False."""
    return values.to_numpy(dtype=bool, na_value=False)


def floats(values: pd.Series) -> np.ndarray:
    """A Float64 column as floats, unknown as NaN."""
    return values.to_numpy(dtype=float, na_value=np.nan)


def is_inbound(activities: pd.DataFrame) -> np.ndarray:
    return flags(activities["type"].astype(STRING).eq(INBOUND))


def outcomes(activities: pd.DataFrame) -> np.ndarray:
    """Each activity's outcome read as an inbound call's, by the definitions of answered,
    abandoned and voicemail in `GLOSSARY`: voicemail first (it counts as nothing else), then
    the status Abandoned after reaching the queue (`reached_queue`), then an answer (a status
    saying so, or an answer time). A caller who hung up in the IVR is none of them."""
    status = activities["status"].astype(STRING).str.strip().str.lower()
    voicemail = flags(activities["has_voicemail"].astype("boolean")) | flags(
        status.eq(_VOICEMAIL_STATUS)
    )
    abandoned = flags(status.eq(_ABANDONED_STATUS)) & reached_queue(activities)
    answered = flags(status.isin(_ANSWERED_STATUSES)) | activities["answered_at"].notna().to_numpy()
    return np.select(
        [voicemail, abandoned, answered], [VOICEMAIL, ABANDONED, ANSWERED], default=NO_OUTCOME
    ).astype(np.int8)


def reached_queue(activities: pd.DataFrame) -> np.ndarray:
    """Whether each call joined the queue: it has a join-queue time or a queue wait above 0.
    A frame without a queued_at column (written before it existed) says nothing either way, so
    there every call counts as having reached the queue."""
    if "queued_at" not in activities.columns:
        return np.ones(len(activities), dtype=bool)
    waited = floats(activities["queue_s"]) > 0  # NaN > 0 is False
    return activities["queued_at"].notna().to_numpy() | waited


def counted_calls(activities: pd.DataFrame) -> pd.DataFrame:
    """The calls the metrics count: inbound first legs (no parent activity), with their
    campaign, creation time, outcome, queue wait and handle time (NaN when any part of it is
    unknown). Transferred legs are left out so that a transferred call counts once."""
    keep = is_inbound(activities) & activities["parent_activity_id"].isna().to_numpy()
    handle = (
        floats(activities["talk_s"]) + floats(activities["hold_s"]) + floats(activities["wrap_s"])
    )
    return pd.DataFrame(
        {
            "campaign_id": activities["campaign_id"].astype("Int64").array[keep],
            "campaign_name": activities["campaign_name"].astype(STRING).array[keep],
            "created_at": activities["created_at"].array[keep],
            "outcome": outcomes(activities)[keep],
            "queue_s": floats(activities["queue_s"])[keep],
            "handle_s": handle[keep],
        }
    )


def in_window(created_at: pd.Series, since: datetime | None, until: datetime | None) -> np.ndarray:
    """since <= created_at < until (either bound may be open); with a bound, a call of unknown
    creation time is in no window."""
    keep = np.ones(len(created_at), dtype=bool)
    if since is not None:
        keep &= flags(created_at >= aware(since, "since"))
    if until is not None:
        keep &= flags(created_at < aware(until, "until"))
    return keep


def aware(moment: datetime, name: str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime, got {moment!r}")
    return stamp
