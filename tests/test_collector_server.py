"""End to end: the server's collector asks the tenant on its schedule, whoever is watching.

One real ``streamlit run dashboard.py`` (no tenant settings, so the embedded simulator is the
tenant) serves the whole module. Viewers are websocket sessions (tests/ws_viewer.py) that keep
their page live the way a browser does; the tenant's side is read over HTTP only: the
simulator's request counters (``/_simulator/stats``), its clock (``/_simulator/state``) and
faults, and the server's ``/healthz`` and ``/metrics``.

How a rate is measured: the counters are sampled every ``SAMPLE_S``; increments of one operation
closer than ``BURST_GAP_S`` are one poll (a listing's pages, a poll's statistics calls). The rate
is polls (and requests) per minute between the first and the last poll seen, with the first poll
left out of the requests (it may have begun before the window), and a window ends only once the
tenant has been quiet for ``QUIET_S``. So a window starting or ending mid-interval costs no
"±1 poll": the error is the sampling step over the span, a few per cent over three intervals.
Polls cannot be faster than 8 s (config MIN_POLL_S), hence the short windows of a few intervals.

The tests share the server and run in file order (nobody, one viewer, six, a clear-cache loop,
nobody again, then /healthz and a failing tenant last); each also holds when run alone.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipscape.history import SQLiteHistory
from tests.browser_support import DEMO_KEYS, DEMO_TOKEN, StreamlitServer, demo_env
from tests.ws_viewer import Viewer

POLL_S = {"campaigns": 8.0, "agents": 8.0, "activities": 10.0}
CONFIG = """title = "Collector Test Centre"
display_timezone = "Australia/Sydney"

[poll]
campaigns_s = {campaigns}
agents_s = {agents}
activities_s = {activities}
jitter_s = 0
error_backoff_s = 1
error_backoff_max_s = 2

[history]
path = {history}
retention_days = 1
"""
# The simulator's counter keys: "<method> <path template>".
LIST_CAMPAIGNS = "GET /v3.0/campaigns"
STATISTICS = "GET /v3.0/campaigns/{campaignId}/statistics"
AGENT_STATUS = "GET /v3.0/agents/status"
ACTIVITIES = "GET /v3.0/activities"
FEED_OPERATIONS = (LIST_CAMPAIGNS, STATISTICS, AGENT_STATUS, ACTIVITIES)
TENANT_ANNOUNCED = r"Demo tenant \(simulated, no tenant configured\) serving on (http://\S+)"

TOLERANCE = 0.10
SAMPLE_S = 0.1
BURST_GAP_S = 2.0
QUIET_S = 1.5
MIN_POLLS = 3  # polls of each feed a window must see: two intervals at least
WINDOW_S = 24.0
WINDOW_MAX_S = 75.0
# With the collector, the demo tenant starts with the server; a viewer must not be needed.
BOOT_ANNOUNCE_S = 20.0
FIRST_RUN_S = 90.0
CLEAR_EVERY_S = 0.2
NO_VIEWER_S = 30.0
# How long a failing tenant may take to turn /healthz to 503 (the limit is the server's choice,
# at least a few intervals), and to come back once it answers again.
UNHEALTHY_WITHIN_S = 150.0
RECOVERED_WITHIN_S = 60.0
FEED_NAMES = tuple(POLL_S)
BAD_FRESHNESS = re.compile(r"STALE|NO CONNECTION|waiting for|CONNECTION TO THE TENANT LOST")
FRESHNESS = re.compile(r"updated (\d+) s ago")


# --- the server and its demo tenant --------------------------------------------------------


@dataclass
class Dashboard:
    server: StreamlitServer
    history_path: Path
    _tenant: str | None = None
    _campaigns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    def tenant(self, timeout_s: float) -> str:
        """The demo tenant's address, as the server logs it when it starts the simulator."""
        if self._tenant is None:
            self._tenant = self.server.wait_for_log(TENANT_ANNOUNCED, timeout_s).group(1)
        return self._tenant

    def campaigns(self) -> list[dict[str, Any]]:
        """The tenant's active campaigns, listed once (this costs a listing request: call it
        outside a measuring window)."""
        if not self._campaigns:
            tenant = self.tenant(FIRST_RUN_S)
            self._campaigns = [
                item for item in tenant_list(tenant, "/v3.0/campaigns") if item.get("isActive")
            ]
        return self._campaigns


def demo_server(workdir: Path) -> tuple[StreamlitServer, Path]:
    """``streamlit run dashboard.py`` on the demo with this module's intervals (not started),
    and where its history goes."""
    history = workdir / "history.sqlite"
    config = workdir / "dashboard.toml"
    config.write_text(
        CONFIG.format(**POLL_S, history=json.dumps(history.as_posix())), encoding="utf-8"
    )
    server = StreamlitServer(
        demo_env(config), workdir / "streamlit.log", args=("--logger.level", "info")
    )
    return server, history


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    server, history = demo_server(tmp_path_factory.mktemp("collector"))
    try:
        server.start()
        yield Dashboard(server, history)
    finally:
        server.stop()


def tenant_list(tenant: str, path: str) -> list[dict[str, Any]]:
    """Every item of a listing, read as the dashboard would (the demo credentials)."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{tenant}/platform-api{path}"
    with httpx.Client(auth=(DEMO_TOKEN, DEMO_KEYS[0]), timeout=30) as client:
        for _ in range(100):
            if url is None:
                break
            body = client.get(url).raise_for_status().json()
            items.extend(body.get("items") or [])
            next_uri = (body.get("metadata") or {}).get("nextUri")
            url = f"{tenant}/platform-api{next_uri}" if next_uri else None
    return items


def request_counts(tenant: str) -> dict[str, int]:
    return dict(httpx.get(f"{tenant}/_simulator/stats", timeout=30).json()["requests"])


def tenant_now(tenant: str) -> datetime:
    return datetime.fromisoformat(httpx.get(f"{tenant}/_simulator/state", timeout=30).json()["now"])


# --- measuring the schedule ----------------------------------------------------------------


@dataclass(frozen=True)
class Poll:
    start: float  # monotonic seconds, the middle of the sampling step that saw it begin
    requests: int


@dataclass(frozen=True)
class Rate:
    polls: int
    polls_per_min: float | None  # None: fewer than two polls seen
    requests_per_min: float | None

    def text(self) -> str:
        if self.polls_per_min is None or self.requests_per_min is None:
            return f"{self.polls} poll(s)"
        return f"{self.requests_per_min:.1f} req/min ({self.polls_per_min:.2f} polls/min)"


@dataclass
class Schedule:
    """Counter samples over one window: (monotonic time, counts per operation)."""

    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.samples[-1][0] - self.samples[0][0] if self.samples else 0.0

    def polls(self, operation: str) -> list[Poll]:
        polls: list[Poll] = []
        last_seen = -math.inf
        for (t0, before), (t1, after) in itertools.pairwise(self.samples):
            added = after.get(operation, 0) - before.get(operation, 0)
            if added <= 0:
                continue
            at = (t0 + t1) / 2
            if at - last_seen > BURST_GAP_S or not polls:
                polls.append(Poll(at, added))
            else:
                polls[-1] = Poll(polls[-1].start, polls[-1].requests + added)
            last_seen = at
        return polls

    def rate(self, operation: str) -> Rate:
        polls = self.polls(operation)
        if len(polls) < 2:
            return Rate(len(polls), None, None)
        span_min = (polls[-1].start - polls[0].start) / 60
        later = sum(p.requests for p in polls[1:])
        return Rate(len(polls), (len(polls) - 1) / span_min, later / span_min)

    def others(self) -> dict[str, int]:
        """Requests of operations that are no feed's (drill-down, media, ...) in the window."""
        first, last = self.samples[0][1], self.samples[-1][1]
        added = {op: n - first.get(op, 0) for op, n in last.items() if op not in FEED_OPERATIONS}
        return {op: n for op, n in added.items() if n}

    def quiet_for(self, seconds: float) -> bool:
        if not self.samples or self.samples[-1][0] - self.samples[0][0] < seconds:
            return False
        last_t, last = self.samples[-1]
        for t, counts in reversed(self.samples):
            if last_t - t > seconds:
                return True
            if counts != last:
                return False
        return True

    def summary(self) -> str:
        names = {
            LIST_CAMPAIGNS: "campaign list",
            STATISTICS: "statistics",
            AGENT_STATUS: "agent status",
            ACTIVITIES: "activities",
        }
        rates = ", ".join(f"{names[op]} {self.rate(op).text()}" for op in FEED_OPERATIONS)
        return f"{self.seconds:.0f} s: {rates}; other operations {self.others() or 'none'}"


def record(
    tenant: str, *, min_s: float = WINDOW_S, max_s: float = WINDOW_MAX_S, phase: str = ""
) -> Schedule:
    """Sample the tenant's counters for at least ``min_s``, until every feed has been polled
    ``MIN_POLLS`` times (or ``max_s``), and until the tenant has been quiet for ``QUIET_S``."""
    schedule = Schedule()
    started = time.monotonic()
    while True:
        before = time.monotonic()
        counts = request_counts(tenant)
        schedule.samples.append(((before + time.monotonic()) / 2, counts))
        elapsed = time.monotonic() - started
        enough = all(len(schedule.polls(op)) >= MIN_POLLS for op in FEED_OPERATIONS)
        if elapsed >= min_s and (enough or elapsed >= max_s) and schedule.quiet_for(QUIET_S):
            break
        if elapsed >= max_s + 2 * BURST_GAP_S:
            break
        time.sleep(SAMPLE_S)
    if phase:
        print(f"[{phase}] {schedule.summary()}")
    return schedule


def expected_per_min(campaigns: int) -> dict[str, float]:
    """Requests per minute of each operation when every feed follows its interval."""
    return {
        LIST_CAMPAIGNS: 60 / POLL_S["campaigns"],
        STATISTICS: campaigns * 60 / POLL_S["campaigns"],
        AGENT_STATUS: 60 / POLL_S["agents"],
        ACTIVITIES: 60 / POLL_S["activities"],  # polls; a poll may read several pages
    }


def schedule_problems(schedule: Schedule, campaigns: int) -> list[str]:
    problems = []
    for operation, want in expected_per_min(campaigns).items():
        rate = schedule.rate(operation)
        if rate.polls < MIN_POLLS or rate.polls_per_min is None or rate.requests_per_min is None:
            problems.append(f"{operation}: {rate.polls} poll(s) in {schedule.seconds:.0f} s")
            continue
        if operation == ACTIVITIES:
            got, what = rate.polls_per_min, "polls/min"
            if rate.requests_per_min < want * (1 - TOLERANCE):
                problems.append(f"{operation}: {rate.requests_per_min:.1f} req/min < {want:.1f}")
        else:
            got, what = rate.requests_per_min, "req/min"
        if abs(got - want) > TOLERANCE * want:
            problems.append(f"{operation}: {got:.1f} {what}, schedule {want:.1f} ± 10 %")
    if schedule.others():
        problems.append(f"requests no feed makes: {schedule.others()}")
    return problems


def assert_on_schedule(schedule: Schedule, campaigns: int, phase: str) -> None:
    problems = schedule_problems(schedule, campaigns)
    assert not problems, f"{phase}: " + "; ".join(problems) + f" (observed {schedule.summary()})"


# --- viewers -------------------------------------------------------------------------------

OVERVIEW = ("", "")
WALL = ("wall", "kiosk=1")


@contextlib.contextmanager
def viewers(dashboard: Dashboard, pages: Sequence[tuple[str, str]]) -> Iterator[list[Viewer]]:
    """Sessions on ``pages`` ((url path, query) each), each past its first whole run."""
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(Viewer(dashboard.port, page, query)) for page, query in pages]
        for viewer in opened:
            viewer.wait_runs(1, FIRST_RUN_S)
            assert not viewer.page_not_found, f"{viewer.page!r}: page not found"
            assert not viewer.exceptions, f"{viewer.page!r}: {viewer.exceptions}"
            assert viewer.fragment_timers, f"{viewer.page!r} announces no live fragment"
            # Data on the page, with its age (the first data, when nothing polled before).
            viewer.wait_text(FRESHNESS, FIRST_RUN_S)
        yield opened


def assert_kept_live(opened: Sequence[Viewer], runs_before: Sequence[int]) -> None:
    """Every viewer re-ran its live fragments during the window, as a browser would."""
    for viewer, before in zip(opened, runs_before, strict=True):
        assert viewer.fragment_runs - before >= 2, (
            f"{viewer.page!r} made {viewer.fragment_runs - before} fragment run(s); it shows "
            f"{viewer.texts()[-8:]}"
        )
        assert not viewer.exceptions, f"{viewer.page!r}: {viewer.exceptions}"


def measure_with_viewers(
    dashboard: Dashboard, pages: Sequence[tuple[str, str]], phase: str
) -> Schedule:
    with viewers(dashboard, pages) as opened:
        tenant = dashboard.tenant(FIRST_RUN_S)
        campaigns = len(dashboard.campaigns())
        before = [v.fragment_runs for v in opened]
        schedule = record(tenant, phase=phase)
        assert_kept_live(opened, before)
    assert_on_schedule(schedule, campaigns, phase)
    return schedule


# --- a. the schedule, whoever watches ------------------------------------------------------


def test_the_tenant_is_polled_on_schedule_from_boot_with_no_viewer(dashboard: Dashboard) -> None:
    try:
        tenant = dashboard.tenant(BOOT_ANNOUNCE_S)
    except TimeoutError:
        pytest.fail(
            f"no viewer yet and no demo tenant started within {BOOT_ANNOUNCE_S:.0f} s of boot: "
            "nothing polls until someone opens a page"
        )
    campaigns = len(dashboard.campaigns())
    assert_on_schedule(record(tenant, phase="0 viewers, from boot"), campaigns, "0 viewers")


def test_one_viewer_leaves_the_schedule_unchanged(dashboard: Dashboard) -> None:
    measure_with_viewers(dashboard, [OVERVIEW], "1 viewer (overview)")


def test_six_viewers_leave_the_schedule_unchanged(dashboard: Dashboard) -> None:
    measure_with_viewers(dashboard, [OVERVIEW, WALL] * 3, "6 viewers (3 overview, 3 wall)")


# --- c. "clear cache" in a loop ------------------------------------------------------------


@dataclass
class Loop:
    """Something done every ``every_s`` on a thread until stopped."""

    every_s: float
    action: Callable[[], None]
    runs: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Loop:
        def run() -> None:
            while not self._stop.wait(self.every_s):
                self.action()
                self.runs += 1

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def healthz_json(dashboard: Dashboard) -> tuple[int, dict[str, Any] | None]:
    """/healthz's status and JSON body (None when it answers something else, such as
    Streamlit's page for unknown paths)."""
    response = httpx.get(f"{dashboard.url}/healthz", timeout=30)
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response.status_code, None
    return response.status_code, response.json()


def test_a_clear_cache_loop_changes_neither_the_schedule_nor_an_open_wall(
    dashboard: Dashboard,
) -> None:
    ages: dict[str, list[float | None]] = {name: [] for name in FEED_NAMES}

    def sample_health() -> None:
        _, body = healthz_json(dashboard)
        for name in FEED_NAMES if body is not None else ():
            ages[name].append((body.get("feeds") or {}).get(name, {}).get("age_s"))

    with viewers(dashboard, [WALL, OVERVIEW]) as (wall, clearer):
        tenant = dashboard.tenant(FIRST_RUN_S)
        campaigns = len(dashboard.campaigns())
        runs_before, mark = wall.fragment_runs, wall.mark()
        with Loop(CLEAR_EVERY_S, clearer.clear_cache) as clears, Loop(1.0, sample_health):
            schedule = record(tenant, phase="wall + clear cache every 0.2 s")
        seen = wall.received_since(mark)
        tick_s = max(wall.fragment_timers.values())
        wall_runs = wall.fragment_runs - runs_before
        clearer_alive = clearer.closed_by_server is None and not clearer.exceptions
    assert clears.runs >= schedule.seconds / CLEAR_EVERY_S / 2, f"{clears.runs} clears sent"
    assert clearer_alive, "the clearing session failed"
    problems = schedule_problems(schedule, campaigns)
    # The wall redrew on its tick all along (half its ticks at least, on a loaded machine), and
    # never showed old or missing data.
    if wall_runs < schedule.seconds / tick_s / 2:
        problems.append(f"the wall redrew {wall_runs} time(s) in {schedule.seconds:.0f} s")
    freshness = [r for r in seen if FRESHNESS.search(r.text) or BAD_FRESHNESS.search(r.text)]
    window_end = schedule.samples[-1][0]
    if not freshness or freshness[-1].at < window_end - 2 * tick_s:
        problems.append("the wall's freshness lines stopped arriving")
    bad = sorted({r.text for r in freshness if BAD_FRESHNESS.search(r.text)})
    if bad:
        problems.append(f"the wall showed {bad}")
    limit_s = 2 * max(POLL_S.values())
    old = sorted({int(m.group(1)) for r in seen for m in [FRESHNESS.search(r.text)] if m})
    if old and old[-1] >= limit_s:
        problems.append(f"the wall showed data {old[-1]} s old (limit {limit_s:.0f} s)")
    for name, feed_ages in ages.items():
        too_old = [a for a in feed_ages if a is None or a >= 2 * POLL_S[name]]
        if too_old:
            problems.append(f"/healthz {name} age_s {too_old[:5]} (limit {2 * POLL_S[name]:.0f} s)")
    print(f"[clear cache] {clears.runs} clears, wall ages {old}, wall redraws {wall_runs}")
    assert not problems, "; ".join(problems) + f" (observed {schedule.summary()})"


# --- b. history while nobody watches -------------------------------------------------------


def history_gaps(moments: Sequence[datetime], start: datetime, end: datetime) -> list[float]:
    """Seconds between consecutive moments across [start, end], edges included: the first gap
    runs from the last moment at or before ``start`` (infinite when ``moments`` has none), the
    last one to ``end``."""
    inside = sorted({m for m in moments if start < m <= end})
    before = [m for m in moments if m <= start]
    points = [max(before) if before else None, *inside, end]
    if points[0] is None:
        return [math.inf]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(points)]


def test_history_has_no_gap_while_nobody_watches(dashboard: Dashboard) -> None:
    tenant = dashboard.tenant(FIRST_RUN_S)
    # Whatever earlier tests opened is closed: from here on, nobody watches.
    start_real, start = time.monotonic(), tenant_now(tenant)
    schedule = record(tenant, min_s=NO_VIEWER_S, max_s=NO_VIEWER_S, phase="0 viewers, after")
    end_real, end = time.monotonic(), tenant_now(tenant)
    # Ages in history are tenant time; the demo tenant's clock may run faster than ours.
    speed = (end - start).total_seconds() / (end_real - start_real)
    store = SQLiteHistory(dashboard.history_path, retention_days=3650, max_points=10**7)
    try:
        since = start - timedelta(seconds=2 * max(POLL_S.values()) * max(speed, 1.0))
        campaigns = store.campaign_history(since)
        agents = store.agent_state_history(since)
    finally:
        store.close()
    problems = []
    series = [
        (f"campaign {cid}", rows["at"], POLL_S["campaigns"])
        for cid, rows in campaigns.groupby("campaign_id")
    ]
    series.append(("agent states", agents["at"], POLL_S["agents"]))
    if campaigns.empty:
        problems.append("no campaign history at all")
    for name, at, interval_s in series:
        limit_s = 2 * interval_s * speed
        moments = [t.to_pydatetime() for t in at]
        widest = max(history_gaps(moments, start, end))
        if widest > limit_s:
            problems.append(f"{name}: a {widest:.0f} s gap (limit {limit_s:.0f} tenant s)")
    assert not problems, "; ".join(problems) + f" (requests: {schedule.summary()})"


# --- d. /healthz and /metrics --------------------------------------------------------------


def forbidden_strings(dashboard: Dashboard, tenant: str) -> list[str]:
    """What an operator endpoint must never show: the tenant's address, its names, secrets."""
    host = tenant.split("://", 1)[1]
    names = [c.get("campaignName") for c in dashboard.campaigns()]
    names += [a.get("agentFullName") for a in tenant_list(tenant, "/v3.0/agents/status")]
    return [tenant, host, "/platform-api", DEMO_TOKEN, *DEMO_KEYS, *(n for n in names if n)]


def leaked(text: str, forbidden: Sequence[str]) -> list[str]:
    return [s for s in forbidden if s in text]


def metric_names(text: str) -> set[str]:
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? \S+", text, re.M))
    return {family.name for family in text_string_to_metric_families(text)}


def assert_health_shape(body: dict[str, Any] | None) -> None:
    assert body is not None, "/healthz does not answer JSON"
    assert isinstance(body.get("status"), str), body
    feeds = body.get("feeds")
    assert isinstance(feeds, dict), body
    for name in FEED_NAMES:
        feed = feeds.get(name)
        assert isinstance(feed, dict), f"no feed {name!r} in {body}"
        assert {"state", "age_s", "healthy"} <= feed.keys(), f"{name}: {feed}"
        assert isinstance(feed["healthy"], bool), f"{name}: {feed}"


def wait_health(dashboard: Dashboard, status: int, within_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    seen: tuple[int, dict[str, Any] | None] = (0, None)
    while time.monotonic() < deadline:
        seen = healthz_json(dashboard)
        if seen[0] == status and seen[1] is not None:
            return seen[1]
        time.sleep(1.0)
    raise AssertionError(f"/healthz not {status} within {within_s:.0f} s; last {seen}")


def test_healthz_and_metrics_report_every_feed_without_tenant_data(dashboard: Dashboard) -> None:
    tenant = dashboard.tenant(FIRST_RUN_S)
    forbidden = forbidden_strings(dashboard, tenant)
    status, body = healthz_json(dashboard)
    assert body is not None, f"/healthz answers {status} without JSON"
    body = wait_health(dashboard, 200, within_s=3 * max(POLL_S.values()))
    assert_health_shape(body)
    for name in FEED_NAMES:
        feed = body["feeds"][name]
        assert feed["healthy"] is True, f"{name}: {feed}"
        assert isinstance(feed["age_s"], int | float), f"{name}: {feed}"
        assert 0 <= feed["age_s"] < 2 * POLL_S[name], f"{name}: {feed}"
    assert not leaked(json.dumps(body, ensure_ascii=False), forbidden)

    metrics = httpx.get(f"{dashboard.url}/metrics", timeout=30)
    assert metrics.status_code == 200
    assert metrics.headers.get("content-type", "").startswith("text/plain"), metrics.headers
    names = metric_names(metrics.text)
    assert any(name.startswith("ipscape_") for name in names), sorted(names)[:20]
    assert not leaked(metrics.text, forbidden)


def test_healthz_fails_while_the_tenant_fails_and_recovers_after(dashboard: Dashboard) -> None:
    tenant = dashboard.tenant(FIRST_RUN_S)
    forbidden = forbidden_strings(dashboard, tenant)
    assert_health_shape(wait_health(dashboard, 200, within_s=3 * max(POLL_S.values())))
    every_request_fails = {"faults": [{"kind": "status", "status": 500}]}
    httpx.post(f"{tenant}/_simulator/faults", json=every_request_fails, timeout=30)
    try:
        failing = wait_health(dashboard, 503, within_s=UNHEALTHY_WITHIN_S)
        metrics = httpx.get(f"{dashboard.url}/metrics", timeout=30).text
    finally:
        httpx.delete(f"{tenant}/_simulator/faults", timeout=30)
    assert_health_shape(failing)
    assert not all(feed["healthy"] for feed in failing["feeds"].values()), failing
    assert not leaked(json.dumps(failing, ensure_ascii=False), forbidden)
    assert not leaked(metrics, forbidden)
    assert_health_shape(wait_health(dashboard, 200, within_s=RECOVERED_WITHIN_S))


def test_the_server_stops_its_collector_cleanly_on_sigterm(tmp_path: Path) -> None:
    """Its own server: a stop ends the collector, the stores and the simulator, then exits."""
    server, _history = demo_server(tmp_path)
    try:
        server.start()
        server.wait_for_log(r"collector started", BOOT_ANNOUNCE_S)
        tenant = server.wait_for_log(TENANT_ANNOUNCED, BOOT_ANNOUNCE_S).group(1)
        assert httpx.get(f"{tenant}/_simulator/stats", timeout=10).status_code == 200
        process = server.process
        assert process is not None
        process.terminate()
        # uvicorn re-raises the signal once its shutdown (our lifespan's included) is done.
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        log = server.log(tail=20_000)
        assert "collector stopped" in log and "Traceback" not in log
        with pytest.raises(httpx.HTTPError):  # the embedded tenant went with it
            httpx.get(f"{tenant}/_simulator/stats", timeout=5)
    finally:
        server.stop()
