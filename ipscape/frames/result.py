"""What a frame builder returns: the typed frame, and what the tenant sent that it could not use.

`Drops` counts the records left out of a frame by reason; the reasons are the fixed texts below,
ours, so they are safe to log and to show (never a vendor string). `FrameResult` carries a frame
with its drops and, for the agents feed, why per-agent status could not be read. The collector
publishes results to the snapshot store, which keeps them next to the frame (ipscape/snapshots.py,
ipscape/pgstore/codec.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

# Drop reasons: our own texts, named so that callers and tests can use them.
NOT_A_LIST = "not a list"
NOT_AN_OBJECT = "not an object"
NO_DATA_OBJECT = "no data object"
NO_ACTIVITY_ID = "no activityId"
NO_CAMPAIGN_ID = "no campaignId"
NO_AGENT_ID = "no agentId"
NO_PARENT_ACTIVITY_ID = "unusable parentActivityId"
VOICEMAIL_NOT_AN_OBJECT = "voicemail entry not an object"
VOICEMAIL_NOT_A_LIST = "voicemailMetadata not a list"
CAMPAIGN_NOT_FOUND = "campaign not found"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class Drops:
    """Rows the tenant sent that a frame could not use: reason -> rows dropped (reasons with
    no row are left out, so equal drops compare equal)."""

    counts: Mapping[str, int]

    def __post_init__(self) -> None:
        kept = {str(reason): int(n) for reason, n in self.counts.items() if _is_count(n)}
        object.__setattr__(self, "counts", kept)

    @classmethod
    def read(cls, value: object) -> Drops:
        """Drops from stored JSON (ipscape/pgstore/codec.py): anything that is not a count is
        ignored, so a damaged record reads as fewer drops, never as an error."""
        if not isinstance(value, Mapping):
            return NO_DROPS
        return cls({str(reason): n for reason, n in value.items() if _is_count(n)})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    def merged(self, other: Drops) -> Drops:
        """Both counts added up, reason by reason."""
        if not other:
            return self
        if not self:
            return other
        return Drops(dict(Counter(self.counts) + Counter(other.counts)))

    def text(self) -> str:
        """``dropped 3 rows (no campaignId: 2, not an object: 1)``, most common reason first."""
        reasons = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        listed = ", ".join(f"{reason}: {n:,}" for reason, n in reasons)
        rows = "row" if self.total == 1 else "rows"
        return f"dropped {self.total:,} {rows} ({listed})"


NO_DROPS = Drops({})


@dataclass(frozen=True, eq=False)
class FrameResult:
    """A feed's frame as built, with what was dropped on the way."""

    frame: pd.DataFrame
    drops: Drops = NO_DROPS
    # Agents: per-agent status could not be read (words safe to show); campaign counts stand in.
    unavailable: str | None = None


def frame_result(
    frame: pd.DataFrame, drops: Drops = NO_DROPS, unavailable: str | None = None
) -> FrameResult:
    """A result for ``frame``, which is left as it is: drops and ``unavailable`` travel on the
    result only, never in ``frame.attrs``."""
    return FrameResult(frame, drops, unavailable)


def as_result(value: FrameResult | pd.DataFrame) -> FrameResult:
    """``value`` as a result: a bare frame is one without drops."""
    return value if isinstance(value, FrameResult) else FrameResult(value)
