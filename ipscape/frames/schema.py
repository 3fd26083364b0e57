"""The columns and dtypes of every feed's frame, and the one place a frame is put together."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from ipscape.frames.result import Drops, FrameResult, frame_result
from ipscape.frames.values import STRING

_TS = "datetime64[ns, UTC]"

_SCHEMAS: dict[str, dict[str, Any]] = {
    "campaigns": {
        "campaign_id": "Int64",
        "campaign_name": STRING,
        "ewt_s": "Float64",
        "max_wait_s": "Float64",
        "avg_wait_s": "Float64",
        "calls_waiting": "Int64",
        "calls_received": "Int64",
        "calls_abandoned": "Int64",
        "calls_answered": "Int64",
        "agents_logged_in": "Int64",
        "agents_available": "Int64",
        "agents_busy": "Int64",
        "agents_wrap": "Int64",
        "agents_paused": "Int64",
        "is_active": "boolean",
        "timezone": STRING,
        "as_of": _TS,
    },
    "agents": {
        "agent_id": "Int64",
        "agent_name": STRING,
        "state": STRING,
        "state_since": _TS,
        "time_in_state_s": "Float64",
        "pause_reason": STRING,
        "campaign_ids": object,
    },
    "voicemail": {
        "activity_id": "Int64",
        "media_id": "Int64",
        "received_at": _TS,
        "caller": STRING,
        "campaign_id": "Int64",
        "campaign_name": STRING,
        "agent_id": "Int64",
        "duration_s": "Float64",
        "media_uri": STRING,
        "returned_at": _TS,
    },
    "transfers": {
        "activity_id": "Int64",
        "parent_activity_id": "Int64",
        "root_activity_id": "Int64",
        "transferred_at": _TS,
        "from_agent": STRING,
        "to_agent": STRING,
        "from_agent_id": "Int64",
        "to_agent_id": "Int64",
        "from_campaign": STRING,
        "to_campaign": STRING,
        "from_campaign_id": "Int64",
        "to_campaign_id": "Int64",
        "talk_s": "Float64",
    },
    "dial-attempts": {
        "lead_id": "Int64",
        "attempt_id": "Int64",
        "activity_id": "Int64",
        "phone_index": "Int64",
        "phone_number": STRING,
        "dial_status": STRING,
        "campaign_id": "Int64",
        "agent_id": "Int64",
        "created_at": _TS,
        "dial_s": "Float64",
    },
    "activities": {
        "activity_id": "Int64",
        "type": STRING,
        "campaign_id": "Int64",
        "campaign_name": STRING,
        "agent_id": "Int64",
        "agent_name": STRING,
        "status": STRING,
        "created_at": _TS,
        "queued_at": _TS,
        "answered_at": _TS,
        "hangup_at": _TS,
        "lead_id": "Int64",
        "source": STRING,
        "destination": STRING,
        "parent_activity_id": "Int64",
        "root_activity_id": "Int64",
        "queue_s": "Float64",
        "talk_s": "Float64",
        "hold_s": "Float64",
        "wrap_s": "Float64",
        "interaction_s": "Float64",
        "has_voicemail": "boolean",
        "raw": object,
    },
}

FEED_COLUMNS: dict[str, list[str]] = {feed: list(schema) for feed, schema in _SCHEMAS.items()}


def assembled(feed: str, columns: dict[str, Any], tally: Counter[str]) -> FrameResult:
    """The feed's frame from its converted columns (in schema order, built in one go), with
    the drops counted on the way."""
    frame = pd.DataFrame({name: columns[name] for name in FEED_COLUMNS[feed]})
    return frame_result(frame, Drops(tally))
