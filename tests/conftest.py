"""Shared fixtures: simulated tenants over real HTTP, always stopped at teardown, the
Streamlit app pointed at one, and a real PostgreSQL server (tests/pg_support.py).

Simulators made here run with a frozen clock (speed=0): time moves only through
`sim.advance(seconds)`, so tests never depend on the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager

from ipscape.config import CONFIG_ENV
from ipscape.settings import SETTING_NAMES, TIMEOUT
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from tests.app_support import afternoon_zone, point_app_at
from ui import runtime

# ``postgres_server`` (one per session) and ``pg_url`` (a fresh database per test).
pytest_plugins = ("tests.pg_support",)


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """A fresh small tenant for one test; inject faults freely."""
    sim = start_simulator(SimulatorConfig(speed=0, timezone=afternoon_zone()))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def shared_simulator() -> Iterator[RunningSimulator]:
    """One small tenant for the whole session: read-only tests only, never inject faults (the
    API's own tests and the CLI's, which print the tenant's day whatever its clock)."""
    sim = start_simulator(SimulatorConfig(speed=0))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., RunningSimulator]]:
    """`sim_factory(**SimulatorConfig kwargs)` starts a tenant (frozen clock unless `speed=`)."""
    started: list[RunningSimulator] = []

    def make(**kwargs: Any) -> RunningSimulator:
        kwargs.setdefault("speed", 0)
        kwargs.setdefault("timezone", afternoon_zone())
        sim = start_simulator(SimulatorConfig(**kwargs))
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            sim.stop()


# --- the Streamlit app under AppTest ----------------------------------------------------------


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No tenant settings, a dashboard.toml with history in tmp (yielded, to be extended), and
    the process's pollers reset (and the caches emptied) before and after, so each test's app
    has its own pollers and view models."""
    for name in (*SETTING_NAMES, TIMEOUT, CONFIG_ENV):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "dashboard.toml"
    config.write_text(
        f"display_timezone = {json.dumps(afternoon_zone())}\n"
        f"[history]\npath = {json.dumps(str(tmp_path / 'history.sqlite'))}\n"
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml of a developer's can leak in
    runtime.reset()
    st.cache_resource.clear()
    st.cache_data.clear()  # counts of one test's tenant are not another's
    try:
        yield config
    finally:
        runtime.reset()  # close the app's pollers before any simulator stops
        st.cache_resource.clear()
        st.cache_data.clear()


@pytest.fixture
def app_tenant(
    app_env: Path, simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningSimulator]:
    """The app pointed at a fresh simulated tenant through the IPSCAPE_* environment, exactly
    as at a real one; its pollers closed before the simulator stops."""
    point_app_at(simulator, monkeypatch)
    try:
        yield simulator
    finally:
        runtime.reset()


@pytest.fixture
def csv_exports(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """The generators of CSV downloads the app offers (built only when clicked, so keep them)."""
    exports: list[Callable[[], Any]] = []
    original = MediaFileManager.add_deferred

    def keep(self: Any, data_callable: Any, mimetype: Any, *args: Any, **kwargs: Any) -> str:
        if mimetype == "text/csv":
            exports.append(data_callable)
        return original(self, data_callable, mimetype, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return exports
