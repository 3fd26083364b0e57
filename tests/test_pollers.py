"""Poller behaviour, with a hand-moved clock and in-process fetch functions."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pandas as pd
import pytest

from ipscape.clock import ManualClock
from ipscape.errors import RateLimitedError, ServerError
from ipscape.frames import Drops, FrameResult
from ipscape.pollers import Poller

INTERVAL = 10.0


class Upstream:
    """A fetch function that counts its calls, can fail, and can be held mid-flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail: Exception | None = None
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> pd.DataFrame:
        with self._lock:
            self.calls += 1
            n = self.calls
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(5), "test never released the fetch"
        if self.fail is not None:
            raise self.fail
        return pd.DataFrame({"n": [n], "value": [n * 10]})


def make_poller(upstream: Upstream, clock: ManualClock, **kwargs) -> Poller:
    options = {
        "interval_s": INTERVAL,
        "jitter_s": 0.0,
        "error_backoff_s": 15.0,
        "error_backoff_max_s": 60.0,
        "clock": clock,
    }
    options.update(kwargs)
    return Poller("campaigns", upstream, **options)


def later(poller: Poller, clock: ManualClock, seconds: float):
    """Read ``seconds`` later and let the refresh that read started finish."""
    clock.advance(seconds)
    poller.snapshot()
    poller.join(5)
    return poller.snapshot()


def read_concurrently(poller: Poller, readers: int) -> list:
    barrier = threading.Barrier(readers)
    results: list = [None] * readers

    def read(i: int) -> None:
        barrier.wait()
        results[i] = poller.snapshot()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 6, 2, 1, 0, tzinfo=UTC))


def test_nothing_fetched_yet_is_empty_only_until_the_first_read(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    snap = poller.snapshot()
    assert upstream.calls == 1
    assert snap.state == "fresh"
    assert snap.has_data and snap.age_s == 0
    assert snap.frame["n"].tolist() == [1]


def test_reads_within_the_interval_do_not_fetch_again(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    for _ in range(20):
        poller.snapshot()
        clock.advance(0.4)
    assert upstream.calls == 1


@pytest.mark.parametrize("readers", [1, 10, 50])
def test_concurrent_first_readers_cause_one_fetch(clock, readers):
    upstream = Upstream()
    upstream.gate = threading.Event()
    poller = make_poller(upstream, clock)
    releaser = threading.Timer(0.2, upstream.gate.set)  # lets the readers pile up on the fetch
    releaser.start()
    snaps = read_concurrently(poller, readers)
    releaser.join()
    assert upstream.calls == 1
    assert all(s is not None and s.frame["n"].tolist() == [1] for s in snaps)


def test_expired_data_is_served_while_one_background_refresh_runs(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    upstream.gate = threading.Event()
    clock.advance(INTERVAL + 1)
    snaps = read_concurrently(poller, 30)
    # Every reader got the previous frame at once; exactly one refresh is in flight.
    assert all(s.frame["n"].tolist() == [1] for s in snaps)
    assert upstream.entered.wait(5)
    refresh_threads = [t for t in threading.enumerate() if t.name == "poller-campaigns"]
    assert len(refresh_threads) == 1
    upstream.gate.set()
    poller.join(5)
    assert upstream.calls == 2
    assert poller.snapshot().frame["n"].tolist() == [2]


def test_data_older_than_twice_the_interval_is_stale(clock, monkeypatch):
    monkeypatch.setattr("ipscape.pollers.IDLE_REFRESH_WAIT_S", 0.05)
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    upstream.gate = threading.Event()  # the refresh hangs: no success, no failure
    clock.advance(2 * INTERVAL - 1)
    assert poller.snapshot().state == "fresh"
    clock.advance(2)
    snap = poller.snapshot()
    assert snap.state == "stale"
    assert snap.age_s == pytest.approx(2 * INTERVAL + 1)
    assert snap.frame["n"].tolist() == [1]
    upstream.gate.set()
    poller.join(5)
    assert poller.snapshot().state == "fresh"


def test_first_reader_after_a_long_idle_gets_the_refreshed_data_not_stale(clock, monkeypatch):
    monkeypatch.setattr("ipscape.pollers.IDLE_REFRESH_WAIT_S", 30.0)
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    clock.advance(10 * INTERVAL)  # nobody looked for a while
    snap = poller.snapshot()
    assert snap.state == "fresh"
    assert snap.frame["n"].tolist() == [2]
    assert upstream.calls == 2


def test_only_the_reader_that_starts_a_refresh_waits_for_it(clock, monkeypatch):
    monkeypatch.setattr("ipscape.pollers.IDLE_REFRESH_WAIT_S", 30.0)
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    upstream.gate = threading.Event()
    upstream.entered.clear()
    clock.advance(10 * INTERVAL)
    first = threading.Thread(target=poller.snapshot)
    first.start()
    assert upstream.entered.wait(5)
    # Had this reader waited too, the held fetch would time out and the state read "error".
    assert poller.snapshot().state == "stale"
    assert first.is_alive()
    upstream.gate.set()
    first.join(5)
    assert poller.snapshot().state == "fresh"


def test_failed_refresh_keeps_last_good_frame_and_says_why(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    good = poller.snapshot()
    upstream.fail = ServerError("campaign_statistics: HTTP 503", status_code=503)
    later(poller, clock, INTERVAL + 1)
    snap = poller.snapshot()
    assert snap.state == "error"
    assert snap.frame["n"].tolist() == [1]
    assert snap.fetched_at == good.fetched_at
    assert "503" in snap.error
    assert snap.error_at == snap.taken_at


def test_error_text_never_carries_an_arbitrary_exception_message(clock):
    upstream = Upstream()
    upstream.fail = RuntimeError("GET https://token:secret@acme.ipscape.com.au/x failed")
    snap = make_poller(upstream, clock).snapshot()
    assert snap.state == "error"
    assert "secret" not in snap.error and "acme" not in snap.error
    assert "RuntimeError" in snap.error


def test_first_fetch_failing_gives_error_with_the_empty_frame(clock):
    upstream = Upstream()
    upstream.fail = ServerError("HTTP 500", status_code=500)
    empty = pd.DataFrame({"n": pd.Series([], dtype="Int64")})
    snap = make_poller(upstream, clock, empty_frame=empty).snapshot()
    assert snap.state == "error"
    assert not snap.has_data and snap.age_s is None
    assert list(snap.frame.columns) == ["n"] and snap.frame.empty


def test_reads_during_backoff_do_not_reach_upstream(clock):
    upstream = Upstream()
    upstream.fail = ServerError("HTTP 503", status_code=503)
    poller = make_poller(upstream, clock, error_backoff_s=15.0)
    poller.snapshot()
    assert upstream.calls == 1
    for _ in range(100):
        clock.advance(0.14)
        poller.snapshot()
        poller.join(5)
    assert upstream.calls == 1  # 14 s of reads, all inside the 15 s backoff
    later(poller, clock, 1.1)
    assert upstream.calls == 2


def test_backoff_doubles_up_to_its_maximum(clock):
    upstream = Upstream()
    upstream.fail = ServerError("HTTP 503", status_code=503)
    poller = make_poller(upstream, clock, error_backoff_s=10.0, error_backoff_max_s=25.0)
    poller.snapshot()
    retry_times = []
    elapsed = 0.0
    while len(retry_times) < 4:
        clock.advance(1)
        elapsed += 1
        before = upstream.calls
        poller.snapshot()
        poller.join(5)
        if upstream.calls > before:
            retry_times.append(elapsed)
    gaps = [b - a for a, b in zip([0.0, *retry_times], retry_times, strict=False)]
    assert gaps == [10, 20, 25, 25]


def test_rate_limit_hint_lengthens_the_backoff(clock):
    upstream = Upstream()
    upstream.fail = RateLimitedError("HTTP 429", retry_after_s=40)
    poller = make_poller(upstream, clock, error_backoff_s=5.0, error_backoff_max_s=60.0)
    poller.snapshot()
    later(poller, clock, 39)
    assert upstream.calls == 1
    later(poller, clock, 2)
    assert upstream.calls == 2


def test_recovers_by_itself_when_the_fault_clears(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    upstream.fail = ServerError("HTTP 503", status_code=503)
    later(poller, clock, INTERVAL + 1)
    assert poller.snapshot().state == "error"
    upstream.fail = None
    later(poller, clock, 15.1)
    snap = poller.snapshot()
    assert snap.state == "fresh" and snap.error is None and snap.error_at is None
    assert snap.frame["n"].tolist() == [3]
    assert snap.age_s == 0


def test_a_readers_frame_changes_do_not_reach_the_cache(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    first = poller.snapshot().frame
    first.loc[0, "value"] = -1
    first["extra"] = 1
    first.attrs["note"] = "mine"
    again = poller.snapshot().frame
    assert again["value"].tolist() == [10]
    assert "extra" not in again.columns
    assert "note" not in again.attrs


def test_on_fresh_runs_after_each_good_fetch_and_its_failure_is_contained(clock):
    seen = []

    def on_fresh(result, at):
        seen.append((result.frame["n"].tolist(), at))
        raise OSError("disk full")

    upstream = Upstream()
    poller = make_poller(upstream, clock, on_fresh=on_fresh)
    snap = poller.snapshot()
    assert snap.state == "fresh"
    assert seen == [([1], snap.fetched_at)]
    upstream.fail = ServerError("HTTP 500", status_code=500)
    later(poller, clock, INTERVAL + 1)
    assert len(seen) == 1


def test_jitter_spreads_the_expiry_within_its_range(clock):
    upstream = Upstream()
    rng = random.Random(7)
    expected = INTERVAL + random.Random(7).uniform(0, 3.0)
    poller = make_poller(upstream, clock, jitter_s=3.0, rng=rng)
    poller.snapshot()
    later(poller, clock, expected - 0.01)
    assert upstream.calls == 1
    later(poller, clock, 0.02)
    assert upstream.calls == 2


def test_refresh_fetches_now_but_joins_one_in_flight(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    assert poller.refresh().frame["n"].tolist() == [2]
    upstream.gate = threading.Event()
    upstream.entered.clear()
    clock.advance(INTERVAL + 1)
    poller.snapshot()  # starts the background refresh, held by the gate
    assert upstream.entered.wait(5)
    threading.Timer(0.1, upstream.gate.set).start()
    assert poller.refresh().frame["n"].tolist() == [3]
    assert upstream.calls == 3


def test_closed_poller_serves_the_last_snapshot_without_fetching(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.snapshot()
    poller.close()
    clock.advance(10 * INTERVAL)
    snap = poller.snapshot()
    assert upstream.calls == 1
    assert snap.state == "stale" and snap.frame["n"].tolist() == [1]


# --- the scheduled path (the collector calls start_if_due; readers read the store) -------------


def test_start_if_due_starts_one_refresh_and_never_waits(clock):
    upstream = Upstream()
    upstream.gate = threading.Event()
    poller = make_poller(upstream, clock)
    assert poller.due_in() == 0.0
    assert poller.start_if_due() is True
    assert upstream.entered.wait(5)
    assert poller.start_if_due() is False  # one in flight: no second one
    assert poller.due_in() == float("inf")
    upstream.gate.set()
    poller.join(5)
    assert upstream.calls == 1
    assert poller.due_in() == INTERVAL
    assert poller.start_if_due() is False


def test_due_times_keep_a_fixed_rate_when_a_start_is_late(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.start_if_due()
    poller.join(5)
    for late in (2.0, 0.5, 3.0):
        clock.advance(poller.due_in() + late)
        poller.start_if_due()
        poller.join(5)
        assert poller.due_in() == pytest.approx(INTERVAL - late)  # anchored to the due time


def test_far_behind_the_schedule_restarts_from_now_instead_of_catching_up(clock):
    upstream = Upstream()
    poller = make_poller(upstream, clock)
    poller.start_if_due()
    poller.join(5)
    clock.advance(10 * INTERVAL)  # e.g. the machine slept
    poller.start_if_due()
    poller.join(5)
    assert poller.due_in() == INTERVAL  # no burst of missed polls
    assert upstream.calls == 2


def test_publish_hears_every_outcome_with_its_status(clock):
    upstream = Upstream()
    heard: list[tuple[str, int, str | None, object]] = []

    def publish(status, result) -> None:
        heard.append((status.feed, status.version, status.error_kind, result))

    poller = make_poller(upstream, clock, publish=publish)
    poller.start_if_due()
    poller.join(5)
    upstream.fail = ServerError("x", status_code=502)
    clock.advance(INTERVAL)
    poller.start_if_due()
    poller.join(5)
    (feed, version, kind, result), (_, failed_version, failed_kind, nothing) = heard
    assert feed == "campaigns" and version == 1 and kind is None
    assert isinstance(result, FrameResult) and result.frame["n"].tolist() == [1]
    assert failed_version == 1 and failed_kind == "server" and nothing is None
    status = poller.status()
    assert status.failures == 1 and status.refresh_s is not None and status.refresh_s >= 0


def test_a_results_drops_reach_the_snapshot_and_stay_with_its_frame_after_a_failure(clock):
    drops = Drops({"no campaignId": 2})
    answers = [FrameResult(pd.DataFrame({"n": [1]}), drops, "no agent status here")]

    def fetch() -> FrameResult:
        if not answers:
            raise ServerError("x", status_code=502)
        return answers.pop()

    poller = Poller("campaigns", fetch, interval_s=INTERVAL, clock=clock)
    try:
        first = poller.snapshot()
        assert first.drops == drops and first.unavailable == "no agent status here"
        failed = later(poller, clock, INTERVAL)
        assert failed.state == "error"
        assert failed.frame["n"].tolist() == [1] and failed.drops == drops
    finally:
        poller.close()


def test_a_bare_frame_is_a_result_without_drops(clock):
    poller = make_poller(Upstream(), clock)
    try:
        snap = poller.snapshot()
        assert snap.has_data and not snap.drops and snap.unavailable is None
    finally:
        poller.close()
