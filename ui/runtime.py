"""Process-wide resources: the dashboard config, the tenant settings, the pollers (LiveData) and,
when no tenant is configured, the embedded demo simulator.

Everything here is held with ``st.cache_resource``, so 50 open browser tabs share one LiveData
and the tenant sees one set of pollers (DESIGN rule 1). Each resource is released cleanly: on
``st.cache_resource.clear()`` through ``on_release``, and at interpreter exit through a
``weakref.finalize`` (``on_release`` is not guaranteed to run at shutdown).
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from ipscape.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, DashboardConfig, load_config
from ipscape.pollers import LiveData, build_live
from ipscape.settings import Settings, demo_settings, is_configured, settings_from_mapping

SECRETS_SECTION = "ipscape"
# Finalizers of live resources, so a release can run (and detach) the exit hook exactly once.
_finalizers: dict[int, weakref.finalize] = {}


def _register_exit(resource: Any, close: Any) -> None:
    _finalizers[id(resource)] = weakref.finalize(resource, close)


def _release(resource: Any) -> None:
    finalizer = _finalizers.pop(id(resource), None)
    if finalizer is not None:
        finalizer()


def _secrets_section() -> Mapping[str, Any] | None:
    """The ``[ipscape]`` table of st.secrets, or None when there is no secrets file/section."""
    try:
        if SECRETS_SECTION in st.secrets:
            return dict(st.secrets[SECRETS_SECTION])
    except Exception:
        # No secrets.toml anywhere (FileNotFoundError / StreamlitSecretNotFoundError), or a
        # secrets file that does not parse: fall back to the environment. A broken secrets file
        # is reported by Streamlit itself in the server log.
        return None
    return None


def tenant_settings() -> Settings | None:
    """The configured tenant, or None for the demo. Raises ConfigError for a partial setup.

    ``st.secrets["ipscape"]`` wins when present; otherwise the IPSCAPE_* environment variables.
    """
    source: Mapping[str, Any] = _secrets_section() or os.environ
    if not is_configured(source):
        return None
    return settings_from_mapping(source)


def dashboard_config() -> DashboardConfig:
    """The supervisor's dashboard.toml (or defaults), read again whenever the file changes: an
    edited threshold, title or kiosk token applies on the next rerun (poll intervals and history
    settings at the next start). A ConfigError is raised, not cached."""
    path = Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    try:
        stamp: int | None = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    return _config_as_of(str(path), stamp)


@st.cache_resource(show_spinner=False, max_entries=4)
def _config_as_of(path: str, stamp: int | None) -> DashboardConfig:
    # path and stamp are only the cache key: load_config resolves the same file itself.
    return load_config()


def _stop_simulator(simulator: Any) -> None:
    _release(simulator)


@st.cache_resource(show_spinner="Starting the demo tenant…", on_release=_stop_simulator)
def embedded_simulator() -> Any:
    """A simulated tenant on 127.0.0.1 for the demo: started once per process, on first use."""
    from ipscape.simulator import SimulatorConfig, start_simulator

    # A few more agents than the simulator's default (a centre at its limit), so the demo shows
    # free agents coming and going as well as queues building.
    simulator = start_simulator(SimulatorConfig(agents=50))
    _register_exit(simulator, simulator.stop)
    return simulator


def _close_live(data: LiveData) -> None:
    _release(data)


def _simulator_clock(simulator: Any) -> Callable[[], float]:
    """The demo tenant's own time, which starts at a busy hour whatever the wall clock says:
    ages, "today" and time in state must be measured on the tenant's clock, not ours."""
    from ipscape.frames import parse_timestamp

    started = time.time()
    tenant_now = parse_timestamp(simulator.state()["now"])
    offset = 0.0 if tenant_now is None else tenant_now.timestamp() - started
    speed = simulator.config.speed

    def clock() -> float:
        now = time.time()
        return started + offset + (now - started) * speed

    return clock


@st.cache_resource(show_spinner="Connecting to the tenant…", on_release=_close_live)
def live() -> LiveData:
    """The pollers of this process (one LiveData, whatever the number of viewers)."""
    settings = tenant_settings()
    if settings is None:
        simulator = embedded_simulator()
        settings = demo_settings(simulator.api_root)
        data = build_live(settings, dashboard_config(), clock=_simulator_clock(simulator))
    else:
        data = build_live(settings, dashboard_config())
    _register_exit(data, data.close)
    return data


@dataclass(frozen=True)
class AppContext:
    config: DashboardConfig
    live: LiveData

    @property
    def demo(self) -> bool:
        return bool(self.live.demo)

    @property
    def tz(self) -> str:
        return self.config.display_timezone


def app_context() -> AppContext:
    """Config and live data for a page; raises ConfigError naming a bad or missing setting."""
    config = dashboard_config()
    return AppContext(config=config, live=live())
