"""Process-wide resources: the dashboard config, the tenant settings, the live data (the
collector and the stores) and, when no tenant is configured, the embedded demo simulator.

They live in a plain process-wide registry, so 50 open browser tabs share one LiveData and the
tenant sees one collector (docs/architecture.md, "The collector"), and no viewer action (such
as Streamlit's "clear cache") can stop, restart or multiply them. The server creates them at
boot (`start`, from the lifespan in ui/server.py) so polling starts before anyone watches; a
script run without that server (AppTest, or a boot that failed on a setting since fixed)
creates them on first use.
They are closed at shutdown (`reset`), at interpreter exit through a ``weakref.finalize``, or by
`reset` (tests). Only the dashboard.toml reader is held with ``st.cache_resource``: clearing it
costs a file read, never a tenant request.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

from ipscape.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, DashboardConfig, load_config
from ipscape.errors import ConfigError
from ipscape.live import LiveData, build_live
from ipscape.settings import (
    COLLECTOR_ENV,
    DATABASE_ENV,
    Settings,
    collector_mode,
    database_url,
    demo_settings,
    is_configured,
    settings_from_mapping,
)

log = get_logger(__name__)
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


def deployment_settings() -> tuple[str | None, str]:
    """(IPSCAPE_DATABASE_URL, IPSCAPE_COLLECTOR mode), from st.secrets' [ipscape] or else the
    environment, like the tenant settings. External mode needs the database."""
    section = _secrets_section() or {}
    source = {key: section.get(key) or os.environ.get(key) for key in (DATABASE_ENV, COLLECTOR_ENV)}
    url, mode = database_url(source), collector_mode(source)
    if mode == "external" and url is None:
        raise ConfigError(
            f"{COLLECTOR_ENV}=external reads the shared database: set {DATABASE_ENV} too.",
            setting=DATABASE_ENV,
        )
    return url, mode


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


def _start_simulator() -> Any:
    """A simulated tenant on 127.0.0.1 for the demo."""
    from ipscape.simulator import demo_config, start_simulator

    # The demo tenant's settings live in ipscape/simulator/demo.py (a busy centre that copes:
    # queues build and drain, voicemails are called back), the same tenant that
    # `python -m ipscape.simulator --demo` serves.
    simulator = start_simulator(demo_config())
    _register_exit(simulator, simulator.stop)
    # The demo tenant's address only (no credentials): an operator, or a test, can watch its
    # request counter at <url>/_simulator/stats.
    log.info("Demo tenant (simulated, no tenant configured) serving on %s", simulator.url)
    return simulator


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


class _Registry:
    """The process's LiveData and demo simulator, created once on first use and kept until
    interpreter exit (or `reset`).

    Deliberately not ``st.cache_resource``: any viewer can send Streamlit's "clear cache" over
    the websocket, and that must never rebuild the pollers or the simulator (a looping client
    would turn every clear into a burst of tenant requests and leave walls stale).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: LiveData | None = None
        self._simulator: Any = None

    def live(self) -> LiveData:
        with self._lock:
            if self._live is None:
                with st.spinner("Connecting to the tenant…"):
                    self._live = self._build()
            return self._live

    def start(self) -> LiveData:
        """Create and start everything now (server boot); raises ConfigError like `live`."""
        with self._lock:
            if self._live is None:
                self._live = self._build()
            return self._live

    def current(self) -> LiveData | None:
        """What is running, without creating anything (health endpoints)."""
        with self._lock:
            return self._live

    def _build(self) -> LiveData:
        # A ConfigError here is raised to the page and nothing is kept: the next page retries.
        # Every setting is read before anything starts, so a bad one starts no simulator.
        config = dashboard_config()
        settings = tenant_settings()
        url, mode = deployment_settings()
        if settings is None and mode == "external":
            raise ConfigError(
                "A dashboard with IPSCAPE_COLLECTOR=external still needs the tenant settings: "
                "drill-down and recordings ask the tenant directly.",
                setting="IPSCAPE_BASE_URL",
            )
        clock = None
        if settings is None:
            if self._simulator is None:
                self._simulator = _start_simulator()
            settings = demo_settings(self._simulator.api_root)
            clock = _simulator_clock(self._simulator)
        if url is None:
            data = build_live(settings, config, clock=clock)
        else:
            from ipscape.deployment import build_scaled  # psycopg only when a database is set

            data = build_scaled(settings, config, url, collect=mode == "embedded", clock=clock)
        _register_exit(data, data.close)
        return data.start()

    def reset(self) -> None:
        """Stop the collector and close the stores, then the simulator it polls; forget both."""
        with self._lock:
            data, simulator = self._live, self._simulator
            self._live = self._simulator = None
        if data is not None:
            _release(data)
        if simulator is not None:
            _release(simulator)


_registry = _Registry()


def live() -> LiveData:
    """The pollers of this process (one LiveData, whatever the number of viewers)."""
    return _registry.live()


def start() -> LiveData:
    """Create and start the process's live data at server boot (ui/server.py)."""
    return _registry.start()


def current() -> LiveData | None:
    """The process's live data if it exists; never creates it."""
    return _registry.current()


def reset() -> None:
    """Stop the collector, close the stores and stop the demo simulator, and forget them, so
    the next page builds new ones from the current settings. Server shutdown and tests call it;
    viewers have no way to reach it."""
    _registry.reset()


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
