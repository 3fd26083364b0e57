"""ipSCAPE API JSON -> typed pandas frames, one per feed; the only code that reads the tenant's
field names (the set is `VENDOR_FIELDS`; tests/test_vendor_fields.py keeps every other module of
ipscape/ off them).

Pure functions, no I/O. Input is untrusted JSON: a record with missing or wrong-typed fields keeps
what is valid (a bad optional field becomes <NA>, never 0); a record is dropped only when it cannot
be identified, and every drop is counted by reason in the result's `Drops`. A tenant whose fields
differ is served by changing the feed modules below, and nothing else.

- ``result.py``: `FrameResult` (frame, drops, unavailable), `Drops` and the drop reasons;
- ``values.py``: JSON values -> numbers, integers, text, booleans, and columns of them;
- ``timestamps.py``: the tenant's timestamp forms -> UTC;
- ``records.py``: which items are records, one field of them all, and what identifies an item;
- ``schema.py``: every frame's columns and dtypes, and the one place a frame is put together;
- ``campaigns.py``, ``agents.py``, ``activities.py``: one builder per feed, all in one style.

Every builder ``<feed>_result`` returns a `FrameResult`; ``<feed>_frame`` is its frame.

Speed (100k activities): no per-record json_normalize. Each field is read for all records at
once (``map(dict.get, ...)``, a C-level loop), each column is converted once (a C-level fast
path when every value already has the right type, a checked Python path otherwise), timestamps
are parsed vectorised with one strict format and only the values it refuses are re-read, and
the frame is built in one go. Measured with ``python -m benchmarks.frames_bench``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ipscape.frames.activities import (
    DIAL_ATTEMPT_TYPE,
    KNOWN_ACTIVITY_TYPES,
    activities_frame,
    activities_result,
    activity_created_at,
    activity_id,
    dial_attempts_frame,
    dial_attempts_result,
    transfers_frame,
    transfers_result,
    voicemail_frame,
    voicemail_result,
)
from ipscape.frames.agents import agents_frame, agents_result
from ipscape.frames.campaigns import active_campaign_ids, campaigns_frame, campaigns_result
from ipscape.frames.records import VENDOR_FIELDS, item_identity
from ipscape.frames.result import (
    CAMPAIGN_NOT_FOUND,
    NO_ACTIVITY_ID,
    NO_AGENT_ID,
    NO_CAMPAIGN_ID,
    NO_DATA_OBJECT,
    NO_DROPS,
    NO_PARENT_ACTIVITY_ID,
    NOT_A_LIST,
    NOT_AN_OBJECT,
    VOICEMAIL_NOT_A_LIST,
    VOICEMAIL_NOT_AN_OBJECT,
    Drops,
    FrameResult,
    as_result,
    frame_result,
)
from ipscape.frames.schema import FEED_COLUMNS
from ipscape.frames.timestamps import parse_timestamp

# Feed -> its builder. Agents take ``now=`` (time in state), campaigns an optional ``as_of=``.
FEED_RESULTS: dict[str, Callable[..., FrameResult]] = {
    "campaigns": campaigns_result,
    "agents": agents_result,
    "voicemail": voicemail_result,
    "transfers": transfers_result,
    "dial-attempts": dial_attempts_result,
    "activities": activities_result,
}
FEED_BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "campaigns": campaigns_frame,
    "agents": agents_frame,
    "voicemail": voicemail_frame,
    "transfers": transfers_frame,
    "dial-attempts": dial_attempts_frame,
    "activities": activities_frame,
}

__all__ = [
    "CAMPAIGN_NOT_FOUND",
    "DIAL_ATTEMPT_TYPE",
    "FEED_BUILDERS",
    "FEED_COLUMNS",
    "FEED_RESULTS",
    "KNOWN_ACTIVITY_TYPES",
    "NOT_AN_OBJECT",
    "NOT_A_LIST",
    "NO_ACTIVITY_ID",
    "NO_AGENT_ID",
    "NO_CAMPAIGN_ID",
    "NO_DATA_OBJECT",
    "NO_DROPS",
    "NO_PARENT_ACTIVITY_ID",
    "VENDOR_FIELDS",
    "VOICEMAIL_NOT_AN_OBJECT",
    "VOICEMAIL_NOT_A_LIST",
    "Drops",
    "FrameResult",
    "active_campaign_ids",
    "activities_frame",
    "activities_result",
    "activity_created_at",
    "activity_id",
    "agents_frame",
    "agents_result",
    "as_result",
    "campaigns_frame",
    "campaigns_result",
    "dial_attempts_frame",
    "dial_attempts_result",
    "frame_result",
    "item_identity",
    "parse_timestamp",
    "transfers_frame",
    "transfers_result",
    "voicemail_frame",
    "voicemail_result",
]
