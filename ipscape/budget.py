"""The request budget: a ceiling on upstream requests per minute for the whole process.

ipSCAPE does not document its rate limit, so the dashboard keeps to one of its own
(``[poll] max_requests_per_min``). The budget is split between lanes (one per feed, plus one for
drill-down and media) by max-min fairness on what each lane says it needs: a lane that needs
little gets all of it, the rest share what is left, and spare capacity is shared in proportion,
so nobody's poll is slowed for nothing. Each lane is a token bucket with a small burst, so a feed
of many requests (one statistics call per campaign) is spread out instead of sent at once.
A request that cannot get a token before its deadline fails with ``BudgetExhaustedError``.
A budget of ``None`` per minute is unlimited (the library's default; the dashboard and the CLI
always set one from dashboard.toml).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ipscape.errors import BudgetExhaustedError

DEFAULT_LANE = "other"
# A lane may send this many seconds' worth of its rate at once, and never fewer than MIN_BURST
# requests (a poll's few requests and their retries go out without waiting).
BURST_S = 2.0
MIN_BURST = 10.0


@dataclass
class _Lane:
    demand_per_min: float | None = None  # None: not said, takes a fair share
    grant_per_min: float = 0.0
    tokens: float = 0.0
    updated: float = 0.0
    sent: int = 0  # requests this lane has made, ever


def fair_shares(total: float, demands: dict[str, float | None]) -> dict[str, float]:
    """Max-min fair split of ``total`` over the lanes' demands, spare capacity shared after.

    A lane with no stated demand (None) wants as much as it can get."""
    if not demands:
        return {}
    grants = dict.fromkeys(demands, 0.0)
    remaining = total
    pending = sorted(demands, key=lambda lane: (demands[lane] is None, demands[lane] or 0.0))
    while pending:
        share = remaining / len(pending)
        lane = pending[0]
        want = demands[lane]
        if want is not None and want <= share:
            grants[lane] = want
            remaining -= want
            pending.pop(0)
            continue
        for lane in pending:
            grants[lane] = share
        remaining = 0.0
        break
    if remaining > 0:
        # Everyone has what they asked for: share the rest in proportion, so estimates that were
        # a little low do not slow a poll down.
        asked = sum(grants.values())
        for lane in grants:
            extra = remaining * (grants[lane] / asked if asked else 1 / len(grants))
            grants[lane] += extra
    return grants


class RequestBudget:
    """Thread-safe token buckets, one per lane, under one per-minute ceiling."""

    def __init__(
        self,
        per_minute: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute is not None and per_minute <= 0:
            raise ValueError("per_minute must be > 0 (or None for no limit)")
        self.per_minute = None if per_minute is None else float(per_minute)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}
        self._sent: deque[float] = deque()

    # -- planning ------------------------------------------------------------------------------
    def declare(self, lane: str, demand_per_min: float | None) -> float:
        """Say how many requests a minute ``lane`` needs; returns what it is granted."""
        with self._lock:
            self._lane_locked(lane).demand_per_min = (
                None if demand_per_min is None else max(0.0, float(demand_per_min))
            )
            self._regrant_locked()
            if self.per_minute is None:
                return float("inf") if demand_per_min is None else float(demand_per_min)
            return self._lanes[lane].grant_per_min

    def grant(self, lane: str) -> float:
        with self._lock:
            return self._lane_locked(lane).grant_per_min

    def _lane_locked(self, lane: str) -> _Lane:
        if lane not in self._lanes:
            now = self._clock()
            self._lanes[lane] = _Lane(updated=now)
            self._regrant_locked()
            new = self._lanes[lane]
            new.tokens = self._capacity(new)
        return self._lanes[lane]

    def _regrant_locked(self) -> None:
        if self.per_minute is None:
            return
        now = self._clock()
        for lane in self._lanes.values():
            self._refill(lane, now)
        grants = fair_shares(
            self.per_minute, {name: lane.demand_per_min for name, lane in self._lanes.items()}
        )
        for name, grant in grants.items():
            lane = self._lanes[name]
            lane.grant_per_min = grant
            lane.tokens = min(lane.tokens, self._capacity(lane))

    @staticmethod
    def _capacity(lane: _Lane) -> float:
        return max(MIN_BURST, lane.grant_per_min / 60.0 * BURST_S)

    def _refill(self, lane: _Lane, now: float) -> None:
        if self.per_minute is None:
            return
        elapsed = max(0.0, now - lane.updated)
        lane.tokens = min(self._capacity(lane), lane.tokens + elapsed * lane.grant_per_min / 60.0)
        lane.updated = now

    # -- spending ------------------------------------------------------------------------------
    def acquire(self, lane: str = DEFAULT_LANE, deadline: float | None = None) -> None:
        """Take one request's token, waiting for it; raise when it would come after ``deadline``
        (``self``'s clock)."""
        while True:
            with self._lock:
                state = self._lane_locked(lane)
                now = self._clock()
                self._refill(state, now)
                # (a hair under one counts: float refills must not stall a waiter forever)
                if state.tokens >= 1.0 - 1e-9 or self.per_minute is None:
                    state.tokens = max(0.0, state.tokens - 1.0)
                    state.sent += 1
                    self._sent.append(now)
                    while self._sent and self._sent[0] < now - 60.0:
                        self._sent.popleft()
                    return
                rate = state.grant_per_min / 60.0
                wait = (1.0 - state.tokens) / rate if rate > 0 else float("inf")
            if deadline is not None and now + wait > deadline:
                raise BudgetExhaustedError(
                    f"the request budget ({self.per_minute or 0:.0f}/min) has no room for this "
                    f"request before its deadline ({lane})",
                    operation=lane,
                    per_minute=self.per_minute,
                )
            self._sleep(min(max(wait, 0.001), 1.0))

    def sent(self, lane: str) -> int:
        """How many requests ``lane`` has made so far (a counter: subtract two readings)."""
        with self._lock:
            return self._lane_locked(lane).sent

    def used_last_minute(self) -> int:
        with self._lock:
            cutoff = self._clock() - 60.0
            while self._sent and self._sent[0] < cutoff:
                self._sent.popleft()
            return len(self._sent)
