"""How the client treats the tenant: what a request may spend, when it is tried again, and the
record of what was asked.

- ``request_scope``: the budget lane and the deadline that every request in a block shares, its
  pages and retries included (the scope of a poll, or of one CLI command);
- ``RetryPolicy`` and the retry decisions: capped exponential backoff with full jitter, resends
  only when they are safe, ``Retry-After`` honoured up to a cap (``parse_retry_after``);
- ``UpstreamMeter``: a bounded log of requests, so pages can show what the dashboard costs the
  tenant.

The client (ipscape/client.py) applies these on every request.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ipscape.budget import DEFAULT_LANE

# Methods that do the same when sent twice: resent after a failure that may have reached the
# server. Others are resent only when they cannot have.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# A non-idempotent request answered with one of these was not acted on, so it may be resent.
_NOT_ACTED_ON = frozenset({429, 503})


@dataclass(frozen=True)
class RequestScope:
    """The budget lane requests are counted in, and when all of them must be over."""

    lane: str = DEFAULT_LANE
    deadline: float | None = None  # time.monotonic()


_scope: ContextVar[RequestScope | None] = ContextVar("ipscape_request_scope", default=None)


@contextmanager
def request_scope(lane: str, deadline_s: float | None = None) -> Iterator[None]:
    """Requests made in this block (this thread) spend ``lane``'s budget, and all of them, their
    pages and their retries, end within ``deadline_s`` from now. Worker threads do not inherit
    it: run their work in ``contextvars.copy_context()``."""
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    outer = _scope.get()
    if outer is not None and outer.deadline is not None:
        deadline = outer.deadline if deadline is None else min(deadline, outer.deadline)
    token = _scope.set(RequestScope(lane, deadline))
    try:
        yield
    finally:
        _scope.reset(token)


def current_scope() -> RequestScope:
    """The innermost ``request_scope`` of this thread, or the default lane without a deadline."""
    return _scope.get() or RequestScope()


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; ``Retry-After`` honoured up to a cap."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))

    def resends_status(self, method: str, status: int) -> bool:
        """A status worth another attempt, when resending cannot do the request twice."""
        return status in self.retry_statuses and (method in IDEMPOTENT or status in _NOT_ACTED_ON)


def resends_after_transport_error(method: str, exc: httpx.TransportError, deadline: float) -> bool:
    """A non-idempotent request is resent only if it never reached the server, and a request
    that ran into its whole deadline is not resent: it would only do it again."""
    never_reached_server = isinstance(exc, httpx.ConnectError)
    return (method in IDEMPOTENT or never_reached_server) and time.monotonic() < deadline - 0.01


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class UpstreamMeter:
    """A bounded log of requests made to the tenant, so pages can show the budget we spend."""

    maxlen: int = 5000
    clock: Callable[[], float] = time.monotonic
    _events: deque[tuple[float, str, int | None, float, str | None]] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._events = deque(maxlen=self.maxlen)

    def record(
        self, operation: str, status: int | None, latency_s: float, error: str | None = None
    ) -> None:
        with self._lock:
            self._events.append((self.clock(), operation, status, latency_s, error))

    def summary(self, window_s: float = 60) -> dict[str, dict[str, Any]]:
        """operation -> requests in the window, last latency (ms), last status, last error."""
        cutoff = self.clock() - window_s
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            events = list(self._events)
        for at, op, status, latency, error in events:
            row = out.setdefault(
                op,
                {"requests": 0, "last_latency_ms": None, "last_status": None, "last_error": None},
            )
            if at >= cutoff:
                row["requests"] += 1
            row["last_latency_ms"] = round(latency * 1000, 1)
            row["last_status"] = status
            row["last_error"] = error
        return out
