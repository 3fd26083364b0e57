"""No tenant can hang, bloat or hammer the dashboard: the client, the pollers and the CLI against
a misbehaving tenant over real HTTP (tests/hostile_tenant.py).

Time is never asserted as a threshold: a call that would hang is run in a thread and must come
back at all (within a bound many times its deadline, so a loaded machine still passes); memory
is measured as the peak of a CLI child process (``os.wait4``) or with tracemalloc; request
counts come from the tenant's own counters.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient, request_scope
from ipscape.clock import ManualClock
from ipscape.config import DashboardConfig, PollConfig
from ipscape.errors import (
    ApiTimeoutError,
    PaginationError,
    RedirectError,
    ResponseFormatError,
    ResponseTooLargeError,
)
from ipscape.live import LiveData
from ipscape.operations import DEFAULT_OPERATIONS
from ipscape.pollers import Poller
from ipscape.settings import Settings
from tests.hostile_tenant import KEY, TOKEN, HostileTenant, gzip_bomb

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
# A call must come back within this many seconds: far above every deadline here (1-4 s), so
# only a hang fails it.
HANG = 60.0
# The CLI child may use this much memory at its peak (pandas and httpx loaded: 130-480 MiB as
# measured here, by load); the naive client passes 2 GiB against the same tenant.
CLI_PEAK_MIB = 1024


@pytest.fixture
def tenant() -> Iterator[HostileTenant]:
    server = HostileTenant()
    try:
        yield server
    finally:
        server.stop()


def settings(tenant: HostileTenant, timeout_s: float = 1.0) -> Settings:
    return Settings(tenant.api_root, TOKEN, (KEY,), timeout_s=timeout_s)


def returns(call: Callable[[], T], bound: float = HANG) -> T | BaseException:
    """What ``call`` returned or raised; fails the test if it has not come back by ``bound``."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # the test inspects it
            box.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(bound)
    assert box, f"still running after {bound:.0f} s: the deadline did not hold"
    return box[0]


def run_cli(tenant: HostileTenant, *args: str, tmp_path: Path) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in MiB) of ``python -m ipscape ARGS`` against the tenant."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSCAPE_")}
    env.update(tenant.env(IPSCAPE_TIMEOUT_S="1", IPSCAPE_DASHBOARD_CONFIG=str(tmp_path / "d.toml")))
    (tmp_path / "d.toml").write_text("")
    err = tmp_path / "stderr.txt"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ipscape", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        done: list[tuple[int, int, Any]] = []
        waiter = threading.Thread(target=lambda: done.append(os.wait4(proc.pid, 0)), daemon=True)
        waiter.start()
        waiter.join(HANG)
        if not done:
            proc.kill()
            waiter.join(5)
            pytest.fail("the CLI was still running: the deadline did not hold")
    proc.returncode = 0  # reaped by wait4; keep Popen from waiting again
    _, status, usage = done[0]
    return os.waitstatus_to_exitcode(status), err.read_text(), usage.ru_maxrss // 1024


# --- deadlines --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["trickle_headers", "trickle_body"])
def test_a_trickling_tenant_is_cut_off_at_the_request_deadline(tenant, mode):
    tenant.mode = mode
    with IpscapeClient(settings(tenant), discover=False) as client:
        outcome = returns(client.list_campaigns)
    assert isinstance(outcome, ApiTimeoutError)
    assert "did not answer in time" in str(outcome)
    # Cut off at its whole deadline, it is not sent again (it would only trickle again).
    assert tenant.count("/v3.0/campaigns") == 1


@pytest.mark.parametrize("mode", ["trickle_headers", "trickle_body"])
def test_the_cli_exits_4_with_one_line_when_the_tenant_trickles(tenant, tmp_path, mode):
    tenant.mode = mode
    code, stderr, _ = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    assert code == 4
    assert stderr.strip().count("\n") == 0 and "did not answer in time" in stderr


def test_a_poll_ends_at_its_deadline_however_many_pages_and_retries(tenant):
    tenant.mode = "trickle_body"
    with IpscapeClient(settings(tenant, timeout_s=4), discover=False) as client:

        def poll() -> Any:
            with request_scope("campaigns", deadline_s=1.0):
                return client.list_campaigns()

        outcome = returns(poll)
    assert isinstance(outcome, ApiTimeoutError)


def test_a_stuck_refresh_never_blocks_the_next_and_the_feed_recovers_when_the_tenant_heals(
    tenant,
):
    tenant.mode = "trickle_headers"
    clock = ManualClock()
    client = IpscapeClient(settings(tenant), discover=False)
    calls: list[int] = []

    def fetch() -> Any:
        calls.append(1)
        from ipscape import feeds

        with request_scope("campaigns", deadline_s=2.0):
            return feeds.fetch_campaigns(client)

    poller = Poller(
        "campaigns", fetch, interval_s=10, error_backoff_s=15, clock=clock, deadline_s=2.0,
        first_wait_s=HANG,
    )  # fmt: skip
    try:
        first = returns(poller.snapshot)
        assert first.state == "error" and "did not answer in time" in (first.error or "")
        threads = threading.active_count()
        for _ in range(20):  # readers while it backs off start nothing
            poller.snapshot()
        assert threading.active_count() <= threads
        tenant.mode = "healthy"
        clock.advance(15)  # the backoff, then the next refresh is due
        poller.snapshot()
        poller.join(HANG)
        healed = poller.snapshot()
        assert healed.state == "fresh" and len(healed.frame) == tenant.campaigns
        assert len(calls) == 2
    finally:
        poller.close()
        client.close()


# --- bounded reads ----------------------------------------------------------------------------


def test_an_endless_body_is_refused_at_its_cap_and_the_cli_stays_small(tenant, tmp_path):
    tenant.mode = "endless"
    with IpscapeClient(settings(tenant, timeout_s=5), discover=False) as client:
        outcome = returns(client.list_campaigns)
    assert isinstance(outcome, ResponseTooLargeError)
    code, stderr, peak_mib = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    print(f"\nCLI peak RSS against an endless body: {peak_mib} MiB")
    assert code == 4 and "larger than the dashboard accepts" in stderr
    assert peak_mib < CLI_PEAK_MIB


def test_a_gzip_bomb_is_counted_after_decompression(tenant, tmp_path):
    gzip_bomb()  # made before the tenant serves it, not while the client waits
    tenant.mode = "gzip_bomb"
    code, stderr, peak_mib = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    print(f"\nCLI peak RSS against a 1 GB gzip bomb: {peak_mib} MiB")
    assert code == 4 and "larger than the dashboard accepts" in stderr
    assert stderr.strip().count("\n") == 0
    assert peak_mib < CLI_PEAK_MIB


def test_a_gigabyte_voicemail_is_refused_without_holding_it(tenant):
    tenant.mode = "huge_media"
    with IpscapeClient(settings(tenant, timeout_s=10), discover=False) as client:
        tracemalloc.start()
        try:
            outcome = returns(lambda: client.get_media("7"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert isinstance(outcome, ResponseTooLargeError)
    assert peak < 2 * 50 * 2**20 + 16 * 2**20  # the 50 MiB cap, its join, and change


# --- pagination -------------------------------------------------------------------------------


def test_distinct_cursors_without_new_items_stop_after_a_few_pages(tenant):
    tenant.mode = "cursor_loop"
    with IpscapeClient(settings(tenant), discover=False) as client:
        outcome = returns(client.list_activities)
    assert isinstance(outcome, PaginationError)
    assert "brought nothing new" in str(outcome)
    assert tenant.count("/v3.0/activities") == 4  # the first page and three without progress


def test_a_listing_past_its_page_cap_stops_with_a_clear_error(tenant):
    tenant.mode = "cursor_loop"
    tenant.extra_activities = []
    with IpscapeClient(settings(tenant), discover=False, max_pages=2) as client:
        pages = 0
        with pytest.raises(PaginationError, match="past 2 pages"):
            for _ in client.iter_activities():
                pages += 1
    assert tenant.count("/v3.0/activities") == 2


def test_a_looping_activity_listing_keeps_what_was_read_and_says_so(tenant):
    tenant.mode = "cursor_loop"
    clock = ManualClock(tenant.now.timestamp())
    client = IpscapeClient(settings(tenant), discover=False)
    with LiveData(client, DashboardConfig(), clock=clock) as live:
        assert live.collector is not None
        live.collector.run_due()  # the collector's first round
        snap = live.activities()
    assert snap.state == "error" and "brought nothing new" in (snap.error or "")
    assert sorted(snap.frame["activity_id"].tolist()) == [1, 2]


# --- hostile documents ------------------------------------------------------------------------


def test_a_deeply_nested_spec_falls_back_to_the_defaults_and_is_asked_for_once(tenant):
    tenant.mode = "deep_yaml"
    with IpscapeClient(settings(tenant)) as client:
        operations = returns(client.operations)
        assert operations == DEFAULT_OPERATIONS
        assert client.list_campaigns()  # the feeds work on the default paths
        client.list_campaigns()
    assert tenant.count("/platform-api.yaml") == 1


def test_a_deeply_nested_json_body_is_a_format_error_and_the_cli_says_so_in_one_line(
    tenant, tmp_path
):
    tenant.mode = "deep_json"
    with (
        IpscapeClient(settings(tenant), discover=False) as client,
        pytest.raises(ResponseFormatError, match="nested too deeply"),
    ):
        client.list_campaigns()
    code, stderr, _ = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    assert code == 4 and stderr.strip().count("\n") == 0 and "nested too deeply" in stderr


@pytest.mark.parametrize(
    "link",
    [
        "/v3.0/activities/../../../admin",
        "/v3.0/activities/%2e%2e/%2e%2e/%2e%2e/admin",
        "../../admin",
        "/v3.0/activities?cursor=\n1",
        "/v3.0/activities?cursor=1%0D%0AX-Injected:%201",  # CR LF once decoded
        "/v3.0/act\x00ivities",
        "//elsewhere.example/v3.0/activities",
        "http://elsewhere.example/platform-api/v3.0/activities",
        "{origin}/admin",  # the tenant's own host, outside the API root
        "{origin}/platform-api/v3.0/../../admin",
    ],
)
def test_links_from_the_tenant_never_leave_the_api_root(tenant, link):
    origin = tenant.api_root.removesuffix("/platform-api")
    with (
        IpscapeClient(settings(tenant), discover=False) as client,
        pytest.raises(ResponseFormatError, match="not followed"),
    ):
        client._url(link.format(origin=origin))


def test_links_inside_the_api_root_are_followed_as_given(tenant):
    with IpscapeClient(settings(tenant), discover=False) as client:
        assert client._url("/v3.0/activities?cursor=abc") == (
            tenant.api_root + "/v3.0/activities?cursor=abc"
        )
        assert client._url("/platform-api/v3.0/media/7") == tenant.api_root + "/v3.0/media/7"
        # An encoded space in a cursor is data, not a control character.
        assert client._url("/v3.0/activities?cursor=a%20b").endswith("?cursor=a%20b")


def test_a_media_id_that_climbs_out_of_the_api_root_is_refused(tenant):
    with IpscapeClient(settings(tenant), discover=False) as client:
        for media in ("../../../etc/passwd", "..", "1\r\nX-Injected: 1"):
            with pytest.raises(ResponseFormatError):
                client.get_media(media)
    assert tenant.count("/") == 0


def test_a_redirect_is_reported_with_its_host_only(tenant, tmp_path):
    tenant.mode = "redirect"
    with (
        IpscapeClient(settings(tenant), discover=False) as client,
        pytest.raises(RedirectError) as caught,
    ):
        client.list_campaigns()
    assert caught.value.location_host == "elsewhere.example"
    code, stderr, _ = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    assert code == 4
    assert "redirected us to elsewhere.example" in stderr and "login" not in stderr


# --- tenant clocks ----------------------------------------------------------------------------


def test_an_activity_from_the_year_2100_is_quarantined_not_the_cursor(tenant):
    from tests.hostile_tenant import _activity

    future = tenant.now.replace(year=2100)
    tenant.extra_activities = [_activity(99, future)]
    clock = ManualClock(tenant.now.timestamp())
    client = IpscapeClient(settings(tenant), discover=False)
    with LiveData(client, DashboardConfig(), clock=clock) as live:
        assert live.collector is not None
        live.collector.run_due()  # the collector's first round
        first = live.activities()
        assert sorted(first.frame["activity_id"].tolist()) == [1, 2]
        assert live.quarantined_activities()["activity_id"].tolist() == [99]
        since = live.collector.window.next_since(clock())
        assert since <= tenant.now  # never from the future
        # New activities keep arriving in the live views.
        tenant.extra_activities.append(_activity(3, tenant.now, "Voicemail"))
        clock.advance(31)
        live.pollers["activities"].refresh()
        assert 3 in live.voicemail().frame["activity_id"].tolist()


def test_a_record_an_hour_ahead_does_not_blank_the_feed(tenant):
    from tests.hostile_tenant import _activity

    tenant.extra_activities = [_activity(50, tenant.now + timedelta(hours=1))]
    clock = ManualClock(tenant.now.timestamp())
    client = IpscapeClient(settings(tenant), discover=False)
    with LiveData(client, DashboardConfig(), clock=clock) as live:
        assert live.collector is not None
        live.collector.run_due()  # the collector's first round
        live.activities()
        since = live.collector.window.next_since(clock())
        assert since <= tenant.now - timedelta(minutes=2)
        assert len(live.quarantined_activities()) == 1


# --- budget and pools -------------------------------------------------------------------------


def test_slow_voicemail_downloads_cannot_starve_the_polls(tenant):
    tenant.media_delay_s = 3.0
    clock = ManualClock(tenant.now.timestamp())
    client = IpscapeClient(settings(tenant, timeout_s=5), discover=False)
    with LiveData(client, DashboardConfig(), clock=clock) as live:
        assert live.collector is not None
        downloads = [
            threading.Thread(target=lambda i=i: _swallow(lambda: live.media(str(i))), daemon=True)
            for i in range(8)
        ]
        for download in downloads:
            download.start()
        returns(live.collector.run_due)  # the collector polls while the downloads crawl
        snap = live.campaigns()
        assert snap.state == "fresh" and len(snap.frame) == tenant.campaigns
        for download in downloads:
            download.join(HANG)
    assert tenant.media_peak <= 2


def _swallow(call: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # the download's own outcome is not this test's
        call()


def test_ten_thousand_campaigns_are_polled_within_the_budget(tenant):
    tenant.campaigns = 10_000
    clock = ManualClock(tenant.now.timestamp())
    budget = RequestBudget(600)
    client = IpscapeClient(settings(tenant, timeout_s=5), discover=False, budget=budget)
    poll = PollConfig(campaigns_s=10, max_requests_per_min=600)
    with LiveData(client, DashboardConfig(poll=poll), clock=clock) as live:
        assert live.collector is not None
        live.collector.run_due()  # the collector's first round
        snap = returns(live.campaigns)
        coverage = live.campaign_coverage()
    statistics = tenant.count("/v3.0/campaigns/")
    assert snap.state == "fresh"
    assert coverage is not None and not coverage.complete
    # One poll of 10 s may spend at most the campaigns lane's grant for 10 s.
    assert statistics + 1 <= coverage.granted_per_min * 10 / 60 + 1
    assert 0 < statistics < 200
    assert len(snap.frame) == statistics
    assert "10,000 campaigns" in (coverage.text() or "")


def test_the_cli_refuses_ten_thousand_statistics_calls_up_front(tenant, tmp_path):
    tenant.campaigns = 10_000
    code, stderr, _ = run_cli(tenant, "fetch", "campaigns", tmp_path=tmp_path)
    assert code == 4 and "10,000 campaigns" in stderr and "--campaign" in stderr
    assert tenant.count("/v3.0/campaigns/") == 0
