"""PostgreSQL for the scaled layout: snapshots, history and the collector lease in one database.

Several ``python -m ipscape collect`` processes share a database, exactly one of them polling
(the holder of the `Leadership` lease; its stores are fenced by its term), and any number of
dashboard replicas read it (`PostgresSnapshots` and `PostgresHistory` without a fence, woken by
a `SnapshotListener`). Nothing here imports Streamlit.

- database.py: `open_pool`, `safe_url`, `migrate` (the schema is the project's own), errors as
  `ipscape.errors.StoreError`.
- codec.py: a frame as an Arrow IPC blob and back (never pickle).
- snapshots.py: `PostgresSnapshots`, `SnapshotListener`.
- history.py: `PostgresHistory`.
- leadership.py: `Leadership`, `Fence`, `current_leader`, `LeaderInfo`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ipscape.pgstore.codec import decode_frame, encode_frame
from ipscape.pgstore.database import SCHEMA_VERSION, migrate, open_pool, safe_url
from ipscape.pgstore.history import PostgresHistory
from ipscape.pgstore.leadership import (
    LEADER_LOCK_KEY,
    Fence,
    LeaderInfo,
    Leadership,
    current_leader,
)
from ipscape.pgstore.snapshots import CHANNEL, PostgresSnapshots, SnapshotListener

__all__: Sequence[str] = (
    "CHANNEL",
    "LEADER_LOCK_KEY",
    "SCHEMA_VERSION",
    "Fence",
    "LeaderInfo",
    "Leadership",
    "PostgresHistory",
    "PostgresSnapshots",
    "SnapshotListener",
    "current_leader",
    "decode_frame",
    "encode_frame",
    "migrate",
    "open_pool",
    "safe_url",
)
