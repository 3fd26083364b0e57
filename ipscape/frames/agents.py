"""Agents: the status of every agent, from the agent-status listing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from ipscape.frames.records import field, identified, objects
from ipscape.frames.result import NO_AGENT_ID, FrameResult
from ipscape.frames.schema import assembled
from ipscape.frames.timestamps import as_utc, timestamp_array
from ipscape.frames.values import float_array, id_tuple, object_array, str_array, strings, text


def _pause_title(value: object) -> str | None:
    if isinstance(value, dict):
        return text(value.get("title"))
    # Some tenants may send the title alone.
    return value if isinstance(value, str) else None


def agents_result(items: Iterable[object], *, now: datetime) -> FrameResult:
    """One row per agent-status item; ``time_in_state_s`` = ``now`` - ``stateSince``, >= 0.

    ``campaign_ids`` is a tuple of the valid ids listed (empty when the field is missing or not
    a list, so that filtering code can always iterate it).
    """
    tally: Counter[str] = Counter()
    ids, rows, _ = identified(objects(items, tally), "agentId", NO_AGENT_ID, tally)
    since = timestamp_array(field(rows, "stateSince"))
    now_utc = as_utc(now)
    if now_utc is None:
        elapsed = float_array([None] * len(rows))
    else:
        seconds = (now_utc - pd.Series(since)).dt.total_seconds().to_numpy()
        elapsed = float_array(np.clip(seconds, 0.0, None).tolist())

    return assembled(
        "agents",
        {
            "agent_id": ids,
            "agent_name": str_array(field(rows, "agentFullName")),
            "state": str_array(field(rows, "state")),
            "state_since": since,
            "time_in_state_s": elapsed,
            "pause_reason": strings([_pause_title(v) for v in field(rows, "pauseReason")]),
            "campaign_ids": object_array([id_tuple(v) for v in field(rows, "campaignIds")]),
        },
        tally,
    )


def agents_frame(items: Iterable[object], *, now: datetime) -> pd.DataFrame:
    """`agents_result`'s frame."""
    return agents_result(items, now=now).frame
