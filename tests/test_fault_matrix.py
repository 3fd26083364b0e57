"""Fault matrix: every failure the tenant can throw at us, through the real stack.

IpscapeClient -> LiveData pollers over real HTTP against the simulator's fault injection, with a
ManualClock moved together with the simulator's frozen clock (nothing sleeps on the wall clock
except the timeout row, which needs a real timeout). The client's retry sleeps are recorded, not
slept. For each fault the tests assert what the user sees (snapshot state and error text), that
the last good data is kept, and how many requests reached the tenant during the fault window.
The AppTest section at the end checks the same faults through the pages.

Faults the simulator cannot produce (unknown activity types, nulls in every nullable field) are
made by a MockTransport in front of the client that forwards to the simulator and rewrites the
JSON it answers.

Measured with `pytest tests/test_fault_matrix.py -s` (the table is printed at the end). Tenant:
6 campaigns, 40 agents. Poll 10/10/30 s, backoff 15 s doubling to 120 s; the client makes up to
4 attempts for 429/502/503/504 and connection errors. A normal campaigns+agents round is 8
requests (1 list + 6 statistics + 1 agent status).

| fault                   | what the user sees                       | requests to the tenant      |
|-------------------------|------------------------------------------|-----------------------------|
| key 1 revoked           | fresh, no error; key 2 in use            | 3 rounds: 24 + 2 refused    |
| both keys revoked       | ERROR 'refused the API token' + last     | 4 (each key once per feed), |
|                         | good data, 'showing data from hh:mm:ss'  | then 0 in 13 s of reads     |
| 429 Retry-After 2, once | fresh (the client waited 2 s)            | 9 (8 + 1 retry)             |
| 429 Retry-After 90      | ERROR 'rate limiting us (asked to wait   | 1, then 0 in 89 s of reads, |
|                         | 90 s)' + last good data                  | 1 at 91 s                   |
| 429 Retry-After 3600    | same; the wait is capped at 120 s        | 1, 0 in 119 s, 1 at 121 s   |
| 503 burst of 2          | fresh (ridden out by retries)            | 10 (8 + 2 retries)          |
| 500 persistent (stats)  | ERROR 'failing (HTTP 500)' + last good   | 6 (4 stats in flight, the   |
|                         |                                          | rest cancelled), then 0     |
| slow past the timeout   | ERROR 'did not answer in time' + last    | 4 attempts, then 0          |
| connection refused      | ERROR 'cannot be reached' + last good    | 4 attempts per feed, then 0 |
| truncated, HTML or      | ERROR 'sent data we could not read       | 1 (not retried)             |
| wrong-shape JSON        | (...)' + last good data                  |                             |
| unknown activity types  | rows kept, listed as unknown in the      | normal                      |
|                         | drill-down, raw JSON on row select       |                             |
| nulls in every nullable | every row kept; tiles and cells '--',    | normal                      |
| field                   | never 0; every page renders              |                             |
| 5 min outage (503):     | ERROR + last good data throughout;       | 60 in 300 s for 3 feeds     |
| 30 campaign TTLs        | fresh, new data <= 120 s after it ends   | (blind polling: ~280)       |

(The counts in the last column are asserted below, as exact numbers or as bounds.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape import frames
from ipscape.client import IpscapeClient, RetryPolicy, make_http_client
from ipscape.clock import ManualClock
from ipscape.config import DashboardConfig, PollConfig
from ipscape.live import LiveData
from ipscape.settings import Settings, demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from ipscape.snapshots import Snapshot
from tests.app_support import open_page, patch_transport, point_app_at, rewriting_client, unescape

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
POLL = PollConfig(
    campaigns_s=10, agents_s=10, activities_s=30, jitter_s=0, error_backoff_s=15,
    error_backoff_max_s=120,
)  # fmt: skip
CAMPAIGNS = 6
LIST_CAMPAIGNS = "GET /v3.0/campaigns"
STATISTICS = "GET /v3.0/campaigns/{campaignId}/statistics"
AGENTS = "GET /v3.0/agents/status"
ACTIVITIES = "GET /v3.0/activities"
FEEDS = ("campaigns", "agents", "activities")

# One row per fault, printed at the end of the module (pytest -s) for the table above.
MATRIX: list[tuple[str, str, str]] = []


@pytest.fixture(scope="module", autouse=True)
def print_matrix() -> Iterator[None]:
    yield
    if MATRIX:
        width = max(len(f) for f, _, _ in MATRIX)
        print("\n\nfault matrix (measured):")
        for fault, seen, requests in MATRIX:
            print(f"  {fault:<{width}} | {seen} | {requests}")


# --- the stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    """Simulator, client and pollers; the tenant's clock and the pollers' clock move together."""

    sim: RunningSimulator
    client: IpscapeClient
    live: LiveData
    clock: ManualClock
    slept: list[float] = field(default_factory=list)
    mark: dict[str, int] = field(default_factory=dict)

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        self.clock.advance(seconds)

    def settle(self) -> None:
        """The collector's schedule, run by hand: every feed due now is fetched, and waited for."""
        assert self.live.collector is not None
        self.live.collector.run_due(30)

    def read(self) -> dict[str, Snapshot]:
        return {feed: getattr(self.live, feed)() for feed in FEEDS}

    def poll(self) -> dict[str, Snapshot]:
        """What a viewer sees after any refresh that was due has finished."""
        self.settle()
        return self.read()

    def requests(self) -> dict[str, int]:
        return dict(self.sim.stats()["requests"])

    def start_window(self) -> None:
        self.mark = self.requests()

    def window(self) -> dict[str, int]:
        """Requests per operation since `start_window`."""
        now = self.requests()
        return {k: v - self.mark.get(k, 0) for k, v in now.items() if v - self.mark.get(k, 0)}


def make_stack(
    sim: RunningSimulator,
    *,
    settings: Settings | None = None,
    http: httpx.Client | None = None,
) -> Stack:
    settings = settings or demo_settings(sim.api_root)
    slept: list[float] = []
    client = IpscapeClient(
        settings, http or make_http_client(settings), sleep=slept.append, retry=RetryPolicy()
    )
    clock = ManualClock(frames.parse_timestamp(sim.state()["now"]).to_pydatetime())
    live = LiveData(client, DashboardConfig(poll=POLL), clock=clock)
    return Stack(sim, client, live, clock, slept)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    sim = start_simulator(
        SimulatorConfig(seed=3, speed=0, campaigns=CAMPAIGNS, calls_per_day=1500, page_size=1000)
    )
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def stack(sim: RunningSimulator) -> Iterator[Stack]:
    s = make_stack(sim)
    try:
        yield s
    finally:
        s.live.close()


@pytest.fixture
def warm(stack: Stack) -> Stack:
    """Every feed fetched once and fresh: the last good data the faults must not lose."""
    snaps = stack.poll()
    assert all(s.state == "fresh" and len(s.frame) for s in snaps.values())
    return stack


def assert_kept(before: Snapshot, after: Snapshot) -> None:
    """The last good frame is still what readers get, and says when it is from."""
    assert after.fetched_at == before.fetched_at
    assert len(after.frame) == len(before.frame) > 0
    key = after.frame.columns[0]
    assert after.frame[key].tolist() == before.frame[key].tolist()


def reads_during(stack: Stack, seconds: float, step: float = 0.5) -> int:
    """Readers keep reading (a wall ticks every second) for ``seconds``; returns requests made."""
    before = stack.sim.stats()["total"]
    elapsed = 0.0
    while elapsed + step < seconds:
        stack.clock.advance(step)
        elapsed += step
        stack.settle()
        stack.read()
    return stack.sim.stats()["total"] - before


# --- keys -----------------------------------------------------------------------------------


def test_second_key_takes_over_without_a_gap_when_key_one_is_revoked(warm: Stack) -> None:
    warm.sim.inject({"kind": "revoke_key", "key": warm.sim.keys[0]})
    warm.start_window()
    seen = []
    for _ in range(3):  # three campaign/agent rounds; readers in between
        warm.advance(11)
        seen.append(warm.poll())
    used = warm.window()
    states = {s.state for snaps in seen for s in snaps.values()}
    assert states == {"fresh"}
    assert all(s.error is None for snaps in seen for s in snaps.values())
    assert warm.client.key_number == 2
    # A round is 1 list + 6 stats + 1 agents. Key 1 is refused once per feed whose refresh had
    # already started with it (campaigns and agents refresh concurrently), then never again.
    refused = sum(used.values()) - used.get(ACTIVITIES, 0) - 3 * (2 + CAMPAIGNS)
    assert 1 <= refused <= 2
    MATRIX.append(("key 1 revoked", "fresh, no error, key 2", f"{used}"))


def test_both_keys_revoked_says_so_keeps_the_data_and_backs_off(warm: Stack) -> None:
    before = warm.read()
    warm.sim.inject(
        {"kind": "revoke_key", "key": warm.sim.keys[0]},
        {"kind": "revoke_key", "key": warm.sim.keys[1]},
    )
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    failed = warm.window()
    for feed in ("campaigns", "agents"):
        assert snaps[feed].state == "error"
        assert snaps[feed].error.startswith("The tenant refused the API token")
        assert "IPSCAPE_SECRET_KEY_1" in snaps[feed].error
        assert_kept(before[feed], snaps[feed])
    # each feed tries each key once, no retries on 401
    assert failed == {LIST_CAMPAIGNS: 2, AGENTS: 2}
    quiet = reads_during(warm, 13)
    assert quiet == 0
    MATRIX.append(
        ("both keys revoked", "error 'refused' + last good data", f"{failed}; backoff: {quiet}")
    )


# --- rate limits and server errors ------------------------------------------------------------


def test_429_retry_after_is_waited_then_the_refresh_succeeds(warm: Stack) -> None:
    warm.sim.inject(
        {"kind": "status", "status": 429, "retry_after": "2", "match": "*/statistics", "count": 1}
    )
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    used = warm.window()
    assert snaps["campaigns"].state == "fresh" and snaps["campaigns"].error is None
    assert 2.0 in warm.slept
    assert used[STATISTICS] == CAMPAIGNS + 1
    MATRIX.append(("429 Retry-After 2 (once)", "fresh; waited 2 s", f"{used}"))


@pytest.mark.parametrize(("retry_after", "waits"), [(90, 90), (3600, POLL.error_backoff_max_s)])
def test_429_with_a_long_retry_after_backs_the_poller_off_that_long_capped(
    warm: Stack, retry_after: int, waits: float
) -> None:
    before = warm.read()
    warm.sim.inject(
        {"kind": "status", "status": 429, "retry_after": str(retry_after), "match": "/v3.0/agents*"}
    )
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    first = warm.window().get(AGENTS, 0)
    assert first == 1  # longer than the client's own cap: no retry inside the request
    assert not warm.slept
    assert snaps["agents"].state == "error"
    assert f"asked to wait {retry_after} s" in snaps["agents"].error
    assert_kept(before["agents"], snaps["agents"])

    warm.start_window()
    for _ in range(int(waits) - 1):  # a wall reading every second, just short of the wait
        warm.clock.advance(1)
        warm.live.agents()
    warm.settle()
    assert warm.window().get(AGENTS, 0) == 0
    warm.clock.advance(2)
    warm.live.agents()
    warm.settle()
    assert warm.window().get(AGENTS, 0) == 1
    MATRIX.append(
        (
            f"429 Retry-After {retry_after} (persistent)",
            f"error 'rate limiting' + last good; poller waits {waits:.0f} s",
            f"{first}, then 0 for {waits - 1:.0f} s, 1 after",
        )
    )


def test_a_burst_of_503_is_ridden_out_by_retries(warm: Stack) -> None:
    warm.sim.inject({"kind": "status", "status": 503, "match": "*/statistics", "count": 2})
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    used = warm.window()
    assert snaps["campaigns"].state == "fresh" and snaps["campaigns"].error is None
    assert used[STATISTICS] == CAMPAIGNS + 2
    assert len(warm.slept) == 2 and all(0 <= s <= 8 for s in warm.slept)
    MATRIX.append(("503 burst of 2", "fresh (retried)", f"{used}"))


def test_persistent_500_is_an_error_with_the_last_good_data_and_no_hammering(
    warm: Stack,
) -> None:
    before = warm.read()
    warm.sim.inject({"kind": "status", "status": 500, "match": "*/statistics"})
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    failed = warm.window()
    assert snaps["campaigns"].state == "error"
    assert snaps["campaigns"].error.startswith("The tenant is failing (HTTP 500)")
    assert_kept(before["campaigns"], snaps["campaigns"])
    assert failed[STATISTICS] <= CAMPAIGNS  # 500 is not retried
    warm.start_window()
    assert reads_during(warm, 14) - warm.window().get(AGENTS, 0) == 0
    MATRIX.append(
        ("500 persistent (statistics)", "error 'HTTP 500' + last good", f"{failed}; backoff: 0")
    )


# --- transport ----------------------------------------------------------------------------------


def test_slow_responses_past_the_timeout_are_an_error_with_the_last_good_data(
    sim: RunningSimulator,
) -> None:
    settings = Settings(sim.api_root, sim.token, sim.keys, timeout_s=0.3)
    stack = make_stack(sim, settings=settings)
    try:
        before = stack.poll()
        sim.inject({"kind": "slow", "delay_s": 1.0, "match": "/v3.0/agents*"})
        stack.start_window()
        stack.advance(11)
        snaps = stack.poll()
        failed = stack.window()
        assert snaps["agents"].state == "error"
        assert (
            snaps["agents"].error
            == "The tenant did not answer in time; retrying in the background."
        )
        assert_kept(before["agents"], snaps["agents"])
        assert snaps["campaigns"].state == "fresh"  # other feeds are not held up
        assert failed[AGENTS] == RetryPolicy().max_attempts
        stack.start_window()
        stack.clock.advance(10)
        stack.live.agents()
        stack.settle()
        assert stack.window().get(AGENTS, 0) == 0
        MATRIX.append(("slow past timeout", "error 'did not answer in time'", f"{failed}"))
    finally:
        stack.live.close()


def test_a_stopped_tenant_is_unreachable_and_the_data_stays(sim: RunningSimulator) -> None:
    stack = make_stack(sim)
    try:
        before = stack.poll()
        sim.stop()
        attempts_before = stack.client.meter.summary(3600)
        stack.clock.advance(11)
        snaps = stack.poll()
        attempts = stack.client.meter.summary(3600)
        tried = {
            op: attempts[op]["requests"] - attempts_before.get(op, {"requests": 0})["requests"]
            for op in attempts
        }
        tried = {op: n for op, n in tried.items() if n}
        for feed in ("campaigns", "agents"):
            assert snaps[feed].state == "error"
            assert snaps[feed].error.startswith("The tenant cannot be reached")
            assert_kept(before[feed], snaps[feed])
        assert tried == {"list_campaigns": 4, "agent_status": 4}
        stack.clock.advance(10)
        stack.read()
        stack.settle()
        after_backoff = stack.client.meter.summary(3600)
        assert after_backoff["list_campaigns"]["requests"] == attempts["list_campaigns"]["requests"]
        MATRIX.append(("connection refused", "error 'cannot be reached' + last good", f"{tried}"))
    finally:
        stack.live.close()


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("truncate", "agent_status: the response is not valid JSON"),
        ("wrong_shape", "agent_status: expected an object with an items list"),
        ("malformed", "agent_status: the response is not valid JSON"),
    ],
)
def test_a_body_we_cannot_read_is_an_error_and_is_not_retried(
    warm: Stack, kind: str, says: str
) -> None:
    before = warm.read()
    warm.sim.inject({"kind": kind, "match": "/v3.0/agents*"})
    warm.start_window()
    warm.advance(11)
    snaps = warm.poll()
    failed = warm.window()
    assert snaps["agents"].state == "error"
    assert snaps["agents"].error == f"The tenant sent data we could not read ({says})."
    assert_kept(before["agents"], snaps["agents"])
    assert failed[AGENTS] == 1
    MATRIX.append((f"{kind} body", "error 'could not read' + last good", f"{failed}"))


# --- outage and recovery --------------------------------------------------------------------


def test_an_outage_of_many_ttls_backs_off_then_recovers_with_new_data(warm: Stack) -> None:
    before = warm.read()
    versions = {feed: p.version for feed, p in warm.live.pollers.items()}
    warm.sim.inject({"kind": "status", "status": 503})
    warm.start_window()
    states: set[str] = set()
    for _ in range(300):  # five minutes, a reader every second: 30 campaign TTLs
        warm.advance(1)
        for snap in warm.read().values():
            states.add(snap.state)
            if snap.state == "error":
                assert snap.has_data and len(snap.frame)
        warm.settle()
    during = warm.window()
    assert states <= {"fresh", "error"} and "error" in states
    # Blindly polling each TTL with 4 attempts would be 4 * (30 + 30 + 10) = 280 requests; with
    # the poller's backoff (15, 30, 60, 120 s) each feed fails about 5 times in 5 minutes.
    per_refresh = RetryPolicy().max_attempts
    assert sum(during.values()) <= 3 * 6 * per_refresh
    snaps = warm.read()
    for feed in FEEDS:
        assert snaps[feed].state == "error"
        assert snaps[feed].error.startswith("The tenant is failing (HTTP 503)")
        assert snaps[feed].fetched_at == before[feed].fetched_at

    warm.sim.clear_faults()
    warm.start_window()
    recovered_after = 0
    while any(s.state != "fresh" for s in warm.read().values()):
        warm.advance(1)
        warm.settle()
        recovered_after += 1
        assert recovered_after <= POLL.error_backoff_max_s + 1
    after = warm.read()
    for feed in FEEDS:
        assert after[feed].error is None
        assert after[feed].fetched_at > before[feed].fetched_at
        assert warm.live.pollers[feed].version > versions[feed]
    # the tenant moved on five minutes: the activity window grew
    assert len(after["activities"].frame) > len(before["activities"].frame)
    MATRIX.append(
        (
            "outage 300 s (503)",
            f"error + last good, fresh {recovered_after} s after the fault cleared",
            f"{sum(during.values())} in 300 s {during}",
        )
    )


# --- JSON the simulator never sends: MockTransport rewriting its answers ------------------------


UNKNOWN_TYPES = ("chat.inbound", "email.outbound", "<b>sms</b>")


def unknown_types(path: str, body: Any) -> Any:
    if path.endswith("/v3.0/activities"):
        for item, kind in zip(body["items"], UNKNOWN_TYPES, strict=False):
            item["type"] = kind
    return body


def keep_ids_only(data: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    return {k: (v if k in keep else None) for k, v in data.items()}


def nulls_everywhere(path: str, body: Any) -> Any:
    """Every field that is not an id is null (a tenant that knows nothing yet)."""
    if path.endswith("/statistics"):
        return keep_ids_only(body, ("campaignId",))
    if path.endswith("/agents/status"):
        body["items"] = [keep_ids_only(a, ("agentId",)) for a in body["items"]]
    elif path.endswith("/v3.0/activities"):
        for item in body["items"]:
            item["data"] = keep_ids_only(item["data"], ("activityId",))
    return body


def test_unknown_activity_types_are_kept_and_counted(sim: RunningSimulator) -> None:
    settings = demo_settings(sim.api_root)
    stack = make_stack(sim, http=rewriting_client(settings, unknown_types))
    try:
        snap = stack.poll()["activities"]
        assert snap.state == "fresh"
        kinds = snap.frame["type"].value_counts()
        for kind in UNKNOWN_TYPES:
            assert kinds[kind] == 1
        assert snap.drops.counts == {}
        odd = snap.frame[snap.frame["type"].isin(UNKNOWN_TYPES)]
        assert all(isinstance(raw, dict) and raw.get("activityId") for raw in odd["raw"])
        MATRIX.append(("unknown activity types", "rows kept, raw kept", "normal"))
    finally:
        stack.live.close()


def test_nulls_in_every_nullable_field_keep_every_row_as_unknown(sim: RunningSimulator) -> None:
    settings = demo_settings(sim.api_root)
    truth = make_stack(sim)
    stack = make_stack(sim, http=rewriting_client(settings, nulls_everywhere))
    try:
        expected = truth.poll()
        snaps = stack.poll()
        for feed in FEEDS:
            assert snaps[feed].state == "fresh", snaps[feed].error
            assert len(snaps[feed].frame) == len(expected[feed].frame) > 0
            assert snaps[feed].drops.counts == {}
        campaigns = snaps["campaigns"].frame
        for column in ("ewt_s", "max_wait_s", "calls_waiting", "agents_available"):
            assert campaigns[column].isna().all(), column  # unknown, never 0
        activities = snaps["activities"].frame
        assert activities["created_at"].isna().all() and activities["talk_s"].isna().all()
        assert snaps["agents"].frame["state"].isna().all()
        MATRIX.append(("nulls in every nullable field", "rows kept, values <NA>", "normal"))
    finally:
        truth.live.close()
        stack.live.close()


# --- the same faults through the pages (AppTest) ----------------------------------------------

PAGES = ("overview", "wait_times", "voicemail", "transfers", "agents", "drilldown")


@pytest.fixture
def app(app_env: Path, sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> RunningSimulator:
    """The app pointed at ``sim`` through the environment, with an empty resource cache."""
    point_app_at(sim, monkeypatch)
    return sim


def page_text(at: AppTest) -> str:
    """Everything a viewer can read on the page, tables included."""
    parts: list[str] = []
    for element in at.main:
        parts.extend(_texts(element))
    return unescape("\n".join(parts))


def _texts(node: Any) -> list[str]:
    out = []
    value = getattr(node, "value", None)
    if isinstance(value, pd.DataFrame):
        out.append(value.astype(str).to_string())
    elif isinstance(value, str):
        out.append(value)
    for attr in ("label", "body"):
        text = getattr(node, attr, None)
        if isinstance(text, str):
            out.append(text)
    for child in getattr(node, "children", {}).values() if hasattr(node, "children") else []:
        out.extend(_texts(child))
    return out


def refresh_all() -> None:
    """Force every poller of the app to refresh now (the app's clock is the wall clock)."""
    from ui import runtime

    live = runtime.live()
    for poller in (*live.pollers.values(), *live._queries.values()):
        poller.refresh()


def test_pages_stay_fresh_when_key_one_is_revoked(app: RunningSimulator) -> None:
    at = open_page("overview")
    app.inject({"kind": "revoke_key", "key": app.keys[0]})
    refresh_all()
    for page in PAGES:
        open_page(page, at)
        assert not at.exception, (page, [e.stack_trace for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert any(unescape(c.value).startswith("updated ") for c in at.caption), page


def test_every_page_says_both_keys_were_refused_and_keeps_its_last_data(
    app: RunningSimulator,
) -> None:
    at = open_page("overview")
    good_overview = {m.label: m.value for m in at.metric}
    for page in PAGES[1:-1]:
        open_page(page, at)
    good_agents = {m.label: m.value for m in open_page("agents", at).metric}
    # The drill-down in its own session: its window is part of the question it asks.
    drill = open_page("drilldown", window="today")
    good_rows = len(drill.dataframe[0].value)
    app.inject(
        {"kind": "revoke_key", "key": app.keys[0]}, {"kind": "revoke_key", "key": app.keys[1]}
    )
    refresh_all()
    before = app.stats()["total"]
    for page, view in [*((p, None) for p in PAGES[:-1]), ("drilldown", drill)]:
        view = view.run() if view is not None else open_page(page, at)
        assert not view.exception, page
        errors = [unescape(e.value) for e in view.error]
        assert any(e.startswith("ERROR: The tenant refused the API token") for e in errors), (
            page,
            errors,
        )
        assert any(re.search(r"showing data from \d\d:\d\d:\d\d", e) for e in errors), (
            page,
            errors,
        )
    # the last good data is still on screen
    assert len(drill.dataframe[0].value) == good_rows > 0
    assert {m.label: m.value for m in open_page("agents", at).metric} == good_agents
    open_page("overview", at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Calls waiting"] == good_overview["Calls waiting"] != "--"
    # every page read during the backoff, and not one request reached the tenant
    assert app.stats()["total"] == before


def test_a_rate_limited_tenant_is_explained_on_the_page_and_not_hammered(
    app: RunningSimulator,
) -> None:
    at = open_page("overview")
    app.inject({"kind": "status", "status": 429, "retry_after": "300", "match": "/v3.0/*"})
    refresh_all()
    before = app.stats()["total"]
    for _ in range(3):
        at.run()
    assert not at.exception
    errors = [unescape(e.value) for e in at.error]
    assert any("rate limiting us (asked to wait 300 s)" in e for e in errors), errors
    assert app.stats()["total"] == before


def test_drilldown_lists_unknown_types_and_shows_their_raw_data(
    app: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_transport(monkeypatch, unknown_types)
    at = open_page("drilldown")
    assert not at.exception
    notes = [unescape(c.value) for c in at.caption]
    assert any(
        n.startswith("Kept as-is, types this dashboard does not know: <b>sms</b>, chat.inbound")
        for n in notes
    ), notes
    table = at.dataframe[0].value
    assert set(UNKNOWN_TYPES) <= set(table["Type"])
    row = int(table.index[table["Type"] == "<b>sms</b>"][0])
    at.session_state["dd_rows"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    (raw,) = at.json
    assert json.loads(raw.value)["activityId"] == int(table["Activity"][row])
    MATRIX.append(("unknown types (page)", "listed in drill-down caption, rows in table", "-"))


def test_null_fields_read_as_unknown_on_the_pages_never_zero(
    app: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_transport(monkeypatch, nulls_everywhere)
    at = open_page("overview")
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    assert shown["Calls waiting"] == "--"
    assert shown["Longest wait"] == "--"
    assert shown["Max EWT"] == "--"
    table = at.dataframe[0].value
    assert len(table) == CAMPAIGNS
    for column in ("EWT", "Longest wait", "Waiting"):
        # Missing, not 0: the table shows its placeholder "--" for them (ui/tables.py).
        assert table[column].isna().all(), column
    assert at.dataframe[0].proto.placeholder == "--"
    for page in PAGES[1:]:
        open_page(page, at)
        assert not at.exception, (page, [e.stack_trace for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
