"""Untrusted JSON values -> typed values and pandas columns: numbers, integers, text, booleans.

A value of the wrong type becomes missing (<NA>), never 0. Each column is converted once: a
C-level fast path when every value already has the right type (the usual case), a checked
Python path otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

STRING = pd.StringDtype()

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# Integers this small convert to float exactly; larger ones take the checked path.
_EXACT_FLOAT_INT = 2**53

NONE = type(None)
# Compared against element by element in C (pd.isna does more per element).
NULL = np.array(None, dtype=object)
_INT_KINDS = {int, NONE}
_NUMBER_KINDS = {int, float, NONE}
TEXT_KINDS = {str, NONE}


# ------------------------------------------------------------------------------------ scalars


def number(value: object) -> float | None:
    """A finite float from a JSON number or numeric string. Bools are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        # float() accepts "1_000"; the API never sends that, so it is more likely garbage.
        if "_" in value:
            return None
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def integer(value: object) -> int | None:
    """An int64 from an integral JSON number or numeric string ("12", "12.0")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        result = int(value)
    elif isinstance(value, str):
        if "_" in value:
            return None
        try:
            result = int(value)
        except ValueError:
            as_float = number(value)
            if as_float is None or not as_float.is_integer():
                return None
            result = int(as_float)
    else:
        return None
    return result if _INT64_MIN <= result <= _INT64_MAX else None


def text(value: object) -> str | None:
    """A display string from any JSON scalar; containers and bools are not names."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return str(value)
    except ValueError:  # int too long for str() (Python's digit limit)
        return None


def id_text(value: object) -> str | None:
    """An identifier kept as text, so that non-numeric ids survive; 100.0 reads "100"."""
    if isinstance(value, str):
        return value
    as_int = integer(value)
    return None if as_int is None else str(as_int)


def boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return None


def id_tuple(value: object) -> tuple[int, ...]:
    """The valid ids of a JSON list, in order, each once; () for anything that is not a list."""
    if not isinstance(value, list):
        return ()
    ids = (integer(v) for v in value)
    return tuple(dict.fromkeys(i for i in ids if i is not None))


# ------------------------------------------------------------------------------------ columns


def kinds(raw: Sequence[object]) -> set[type]:
    return set(map(type, raw))


def object_array(values: Sequence[object]) -> np.ndarray:
    # fromiter keeps tuples and dicts as elements where np.array would try to nest them.
    return np.fromiter(values, dtype=object, count=len(values))


def int_array(raw: Sequence[object], lo: int | None = None, hi: int | None = None) -> Any:
    """Nullable Int64 values; out of [lo, hi] is missing."""
    data = None
    if kinds(raw) <= _INT_KINDS:  # the usual case, done in C
        objects = object_array(raw)
        mask = np.equal(objects, NULL)
        try:
            data = np.where(mask, 0, objects).astype(np.int64)
        except OverflowError:
            data = None
    if data is None:
        values = [
            v if type(v) is int and _INT64_MIN <= v <= _INT64_MAX else integer(v) for v in raw
        ]
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        data = np.array([0 if v is None else v for v in values], dtype=np.int64)
    if lo is not None:
        mask |= data < lo
    if hi is not None:
        mask |= data > hi
    data[mask] = 0
    return pd.arrays.IntegerArray(data, mask)


def count_array(raw: Sequence[object]) -> Any:
    """Counts: integers >= 0."""
    return int_array(raw, lo=0)


def float_array(raw: Sequence[object], nonnegative: bool = True) -> Any:
    """Nullable Float64 values (durations and waits: >= 0 unless told otherwise)."""
    data = None
    if kinds(raw) <= _NUMBER_KINDS:  # the usual case, done in C (None becomes NaN)
        try:
            data = np.array(raw, dtype=np.float64).reshape(len(raw))
        except OverflowError:
            data = None
    if data is None:
        values = [
            v
            if type(v) is float or (type(v) is int and -_EXACT_FLOAT_INT < v < _EXACT_FLOAT_INT)
            else number(v)
            for v in raw
        ]
        data = np.array(values, dtype=np.float64).reshape(len(values))
    mask = ~np.isfinite(data)
    if nonnegative:
        mask |= data < 0
    data[mask] = 0.0
    return pd.arrays.FloatingArray(data, mask)


def _clean_text(value: str | None) -> str | None:
    # Lone surrogates (legal in Python strings decoded from JSON) cannot be stored as UTF-8.
    if value is None:
        return None
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def str_array(raw: Sequence[object]) -> Any:
    """Text from any JSON scalars (numbers read as their digits)."""
    if kinds(raw) <= TEXT_KINDS:
        return strings(raw)  # type: ignore[arg-type]
    return strings([v if type(v) is str else text(v) for v in raw])


def strings(values: Sequence[str | None]) -> Any:
    """A string column from values already text or None."""
    objects = np.array(values, dtype=object).reshape(len(values))
    try:
        return pd.array(objects, dtype=STRING)
    except (UnicodeError, ValueError):
        cleaned = np.array([_clean_text(v) for v in values], dtype=object).reshape(len(values))
        return pd.array(cleaned, dtype=STRING)


def bool_array(raw: Sequence[object]) -> Any:
    return pd.array([v if type(v) is bool else boolean(v) for v in raw], dtype="boolean")
