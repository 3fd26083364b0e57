"""A frame as bytes for the database and back: Arrow IPC, zstd-compressed. Never pickle.

A database is not trusted to run code, so a frame is stored as data only. Arrow keeps every
column's dtype (nullable Int64, Float64 and boolean, pandas strings, nanosecond UTC times) and
the index through pyarrow's pandas metadata. Object columns (agents' ``campaign_ids`` tuples,
activities' ``raw`` dicts) become JSON text and are read back as Python objects (tuples again
for a column that held only tuples). The JSON header in the schema metadata also carries the
result's drops and ``unavailable`` (ipscape/frames/result.py). Frames carry no attrs; the
"attrs" a blob from an earlier version holds are ignored, so its database still reads.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from ipscape.errors import StoreError
from ipscape.frames import Drops, FrameResult

FORMAT = 1
METADATA_KEY = b"ipscape"
COMPRESSION = "zstd"
TUPLES = "tuple"  # an object column of tuples (or None): lists read back as tuples
JSON = "json"  # any other object column


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _object_kind(values: list[Any]) -> str:
    present = [v for v in values if not _missing(v)]
    return TUPLES if present and all(isinstance(v, tuple) for v in present) else JSON


def _json_texts(values: list[Any]) -> pa.Array:
    # ASCII JSON: lone surrogates in a tenant's text survive as escapes; what JSON cannot hold
    # (a stray Timestamp, say) is kept as its text rather than failing the publish.
    texts = [
        None if _missing(v) else json.dumps(v, default=str, separators=(",", ":")) for v in values
    ]
    return pa.array(texts, type=pa.string())


def encode_frame(frame: pd.DataFrame) -> bytes:
    """``frame`` (its dtypes, index and object columns) as one compressed Arrow blob."""
    return encode_result(FrameResult(frame))


def decode_frame(blob: bytes) -> pd.DataFrame:
    """The frame `encode_frame` stored: equal to it, with the same dtypes, and no attrs."""
    return decode_result(blob).frame


def encode_result(result: FrameResult) -> bytes:
    """``result``'s frame (its dtypes, index and object columns), drops and ``unavailable``
    as one compressed Arrow blob."""
    frame = result.frame
    objects: dict[str, str] = {}
    plain = frame
    if frame.attrs:  # pyarrow would keep them in its pandas metadata: none are stored
        plain = frame.copy(deep=False)
        plain.attrs = {}
    for name in frame.columns:
        if frame[name].dtype == object:
            objects[str(name)] = _object_kind(frame[name].tolist())
    try:
        if objects:
            plain = plain.drop(columns=list(objects))
        table = pa.Table.from_pandas(plain, preserve_index=None)
        for name in objects:
            position = list(frame.columns).index(name)
            table = table.add_column(position, name, _json_texts(frame[name].tolist()))
        metadata = dict(table.schema.metadata or {})
        header = {
            "format": FORMAT,
            "objects": objects,
            "drops": dict(result.drops.counts),
            "unavailable": result.unavailable,
        }
        metadata[METADATA_KEY] = json.dumps(header, default=str).encode()
        table = table.replace_schema_metadata(metadata)
        sink = pa.BufferOutputStream()
        options = ipc.IpcWriteOptions(compression=COMPRESSION)
        with ipc.new_stream(sink, table.schema, options=options) as writer:
            writer.write_table(table)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError) as exc:
        raise StoreError(f"A frame could not be encoded ({type(exc).__name__}).") from exc
    return bytes(sink.getvalue())


def decode_result(blob: bytes) -> FrameResult:
    """The result `encode_result` stored: its frame equal, with the same dtypes, and no attrs
    (an earlier version's "attrs" are ignored: drops and ``unavailable`` are read from their
    own keys)."""
    try:
        table = ipc.open_stream(pa.py_buffer(blob)).read_all()
        info = json.loads((table.schema.metadata or {})[METADATA_KEY])
        if info.get("format") != FORMAT:
            raise ValueError(f"frame format {info.get('format')!r}")
        objects: dict[str, str] = info["objects"]
        texts = {name: table.column(name).to_pylist() for name in objects}
        frame = table.drop_columns(list(objects)).to_pandas() if objects else table.to_pandas()
        for name in table.column_names:
            if name in objects:
                values = [None if t is None else json.loads(t) for t in texts[name]]
                if objects[name] == TUPLES:
                    values = [None if v is None else tuple(v) for v in values]
                position = table.column_names.index(name)
                column = np.fromiter(values, dtype=object, count=len(values))
                frame.insert(position, name, column)
    except (pa.ArrowException, KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"A stored frame could not be read ({type(exc).__name__}).") from exc
    # pyarrow restores the attrs its pandas metadata holds, which an earlier version's blobs do.
    frame.attrs = {}
    unavailable = info.get("unavailable")
    return FrameResult(
        frame,
        Drops.read(info.get("drops")),
        unavailable if isinstance(unavailable, str) else None,
    )
