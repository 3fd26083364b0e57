"""A broken history store never takes a screen down, says why, and heals by itself.

The full disk is real: a small tmpfs mounted for the test (this needs root; the tests that
need it skip, saying so, where mounting is refused), filled with a filler file, then freed.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.client import IpscapeClient
from ipscape.clock import ManualClock
from ipscape.config import DashboardConfig, HistoryConfig
from ipscape.history import ResilientHistory, SQLiteHistory
from ipscape.live import LiveData
from ipscape.presentation.freshness import history_warning
from ipscape.settings import settings_from_mapping
from ipscape.simulator import RunningSimulator
from tests.app_support import point_app_at, unescape
from ui import runtime

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NOT_RECORDING = "History is not being recorded"
FULL = "the disk that holds the history is full"


def campaigns(count: int, ewt: float = 30.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_id": range(101, 101 + count),
            "campaign_name": [f"Campaign {i} with a longish name" for i in range(count)],
            "ewt_s": [ewt] * count,
            "max_wait_s": [ewt * 2] * count,
            "calls_waiting": [3] * count,
            "agents_available": [1] * count,
        }
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of our own, always unmounted at teardown."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the full-disk tests need to mount a small tmpfs")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a small tmpfs was refused (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        # Lazy, so a store a failed test left open cannot keep the mount alive.
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses even one more byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        chunk = 1 << 20
        while chunk:
            try:
                os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk //= 2
    finally:
        os.close(fd)
    return filler


def sqlite_on(path: Path, clock: Callable[[], float]) -> Callable[[], SQLiteHistory]:
    return lambda: SQLiteHistory(path, 7, clock=clock)


def test_a_disk_that_fills_stops_history_says_why_and_writing_resumes_when_freed(
    small_disk: Path,
) -> None:
    clock = ManualClock(T0)
    history = ResilientHistory(sqlite_on(small_disk / "history.sqlite", clock), clock=clock)
    try:
        history.append_campaigns(campaigns(3), T0)
        assert history.status().recording

        filler = fill(small_disk)
        clock.advance(10)
        history.append_campaigns(campaigns(500), T0 + timedelta(seconds=10))  # never raises
        status = history.status()
        assert not status.recording
        assert status.reason == FULL
        assert status.since == T0 + timedelta(seconds=10)
        # What was recorded before stays readable for the trend.
        assert len(history.campaign_history(T0)) == 3

        filler.unlink()
        clock.advance(10)  # freed, but the retry is not due yet: the full disk was not hammered
        history.append_campaigns(campaigns(3, ewt=40), T0 + timedelta(seconds=20))
        assert not history.status().recording
        assert history.status().since == T0 + timedelta(seconds=10)

        clock.advance(history.retry_s)
        resumed = T0 + timedelta(seconds=20) + timedelta(seconds=history.retry_s)
        history.append_campaigns(campaigns(3, ewt=50), resumed)
        assert history.status().recording
        stored = history.campaign_history(T0)
        assert sorted(set(stored["at"])) == [T0, resumed]  # a gap, then recording again
    finally:
        history.close()


def test_a_store_that_cannot_open_is_tried_again_only_when_due(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the history folder should be")
    history = ResilientHistory(sqlite_on(blocker / "history.sqlite", clock), clock=clock)
    try:
        assert history.campaign_history(T0).empty  # the first use tries to open
        status = history.status()
        assert not status.recording and status.since == T0
        assert "cannot be created" in (status.reason or "")

        blocker.unlink()
        history.append_campaigns(campaigns(2), T0)  # not due: not even tried
        assert not (tmp_path / "not-a-folder").exists()
        clock.advance(history.retry_s)
        history.append_campaigns(campaigns(2), T0 + timedelta(seconds=history.retry_s))
        assert history.status().recording
        assert len(history.campaign_history(T0)) == 2
    finally:
        history.close()


def test_a_store_started_on_a_full_disk_says_the_disk_is_full(small_disk: Path) -> None:
    clock = ManualClock(T0)
    fill(small_disk)
    history = ResilientHistory(sqlite_on(small_disk / "history.sqlite", clock), clock=clock)
    try:
        history.append_agent_states(pd.DataFrame({"state": pd.array(["Busy"], dtype="string")}), T0)
        assert history.status().reason == FULL
        assert history.agent_state_history(T0).empty
    finally:
        history.close()


def test_live_tiles_stay_fresh_while_the_disk_is_full_and_history_heals_without_restart(
    small_disk: Path, simulator: RunningSimulator
) -> None:
    settings = settings_from_mapping(
        {
            "IPSCAPE_BASE_URL": simulator.api_root,
            "IPSCAPE_API_TOKEN": simulator.token,
            "IPSCAPE_SECRET_KEY_1": simulator.keys[0],
        }
    )
    clock = ManualClock(datetime.now(UTC))
    path = small_disk / "history.sqlite"
    config = DashboardConfig(history=HistoryConfig(path=str(path)))
    history = ResilientHistory(sqlite_on(path, clock), clock=clock)
    with LiveData(IpscapeClient(settings), config, history, clock=clock) as live:
        poller = live.pollers["agents"]
        poller.refresh()
        assert history.status().recording
        filler = fill(small_disk)

        clock.advance(config.poll.agents_s)
        assert poller.refresh().state == "fresh"  # the live tile does not care
        assert not history.status().recording
        assert history_warning(history.status(), "UTC") is not None

        filler.unlink()
        clock.advance(history.retry_s)
        poller.refresh()
        assert history.status().recording
        moments = set(history.agent_state_history(clock_at(clock) - timedelta(hours=1))["at"])
        assert len(moments) == 2  # the first poll and the one after the disk was freed


def clock_at(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


# --- the app, started with a history that cannot exist ----------------------------------------


PAGES = ["overview", "wait_times", "agents", "voicemail", "transfers", "drilldown"]


@pytest.fixture
def broken_history_app(
    app_env: Path, simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningSimulator]:
    """The app against the simulator, its history path under a regular file."""
    blocker = app_env.parent / "blocker"
    blocker.write_text("not a folder")
    app_env.write_text(f'[history]\npath = "{(blocker / "history.sqlite").as_posix()}"\n')
    point_app_at(simulator, monkeypatch)
    try:
        yield simulator
    finally:
        runtime.reset()  # close the app's pollers before the simulator stops


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_live_data_when_history_cannot_be_opened(
    broken_history_app: RunningSimulator, page: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page != "overview":
        at.switch_page(f"screens/{page}.py").run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # live data, and fresh: every page says how old its data is
    assert any(unescape(c.value).startswith("updated ") for c in at.caption), page
    warnings = [unescape(w.value) for w in at.warning if NOT_RECORDING in unescape(w.value)]
    if page in ("wait_times", "agents"):
        assert len(warnings) == 1
        assert "cannot be created where dashboard.toml says" in warnings[0]
        assert "blocker" not in warnings[0]  # no server paths on screen


def test_the_wall_shows_live_data_when_history_cannot_be_opened(
    broken_history_app: RunningSimulator,
) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["kiosk"] = "1"
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.metric
    assert any("updated" in unescape(c.value) for c in at.caption)
