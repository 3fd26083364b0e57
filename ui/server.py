"""The dashboard server's own lifecycle: what starts at boot, what stops at shutdown, and the
operators' endpoints. dashboard.py hands these to ``st.App`` (Streamlit 1.67), so one
``streamlit run dashboard.py`` serves the pages, polls the tenant and answers health checks.

At boot, before any viewer connects: the embedded simulator when no tenant is configured, then
the collector and the stores (ui/runtime.py). A broken secrets file or a bad setting starts
nothing: the reason goes to the server log, every page shows it, and the first page run after
the fix starts everything (fail closed: never the demo in place of a tenant that is
misconfigured). At shutdown the collector stops, the stores close and the simulator stops.

``/healthz`` and ``/metrics`` read the snapshot store and counters only: they never call the
tenant and never show secrets or tenant strings (ipscape/health.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.routing import BaseRoute
from streamlit.logger import get_logger

from ipscape import health
from ipscape.errors import ConfigError, IpscapeError, user_message
from ui import auth, runtime

log = get_logger(__name__)


def boot() -> None:
    """Start the live data now, unless a setting is broken (then the pages say why)."""
    # The library logs under "ipscape" (collector started, refresh failures, history trouble):
    # give it Streamlit's console handler, format and --logger.level, like Streamlit's own.
    get_logger("ipscape")
    problem = auth.secrets_problem()
    if problem is not None:
        log.error("Not collecting: %s", problem)
        return
    try:
        runtime.start()
    except ConfigError as exc:
        log.error("Not collecting: %s", exc)
    except IpscapeError as exc:  # e.g. the demo tenant could not start
        log.error("Not collecting yet: %s", user_message(exc))


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """st.App's lifespan: boot in a worker thread (starting the simulator and the first polls
    must not hold the event loop), and stop everything when the server stops."""
    await asyncio.to_thread(boot)
    try:
        yield None
    finally:
        await asyncio.to_thread(runtime.reset)


def operator_view() -> health.OperatorView | None:
    live = runtime.current()
    return None if live is None else live.operator_view()


def routes() -> list[BaseRoute]:
    """The operators' endpoints, at the root and under ``server.baseUrlPath`` if one is set."""
    return list(health.routes(operator_view, base_path=st.get_option("server.baseUrlPath")))
