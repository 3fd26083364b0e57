"""The dashboard server's own lifecycle: what starts at boot, what stops at shutdown, and the
operators' endpoints. dashboard.py hands these to ``st.App`` (Streamlit 1.67), so one
``streamlit run dashboard.py`` serves the pages, polls the tenant and answers health checks.

At boot, before any viewer connects: the embedded simulator when no tenant is configured, then
the collector and the stores (ui/runtime.py). A broken secrets file or a bad setting starts
nothing: the reason goes to the server log, every page shows it, and the first page run after
the fix starts everything (fail closed: never the demo in place of a tenant that is
misconfigured). At shutdown the collector stops, the stores close and the simulator stops.

``/healthz`` and ``/metrics`` read the snapshot store and counters only (the alerts' too, from
this process's collector: `LiveData.operator_view`): they never call the tenant and never show
secrets or tenant strings (ipscape/health.py).

Before the first viewer, the server imports what the screens import and moves every object it
holds into Python's permanent generation (`gc.freeze`), so that full collections no longer walk
the ~150,000 objects of the loaded libraries; see `freeze_libraries` for why, and
benchmarks/viewer_cpu.py and benchmarks/soak.py for the measurements.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import importlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.routing import BaseRoute
from streamlit.logger import get_logger

from ipscape import health
from ipscape.errors import ConfigError, IpscapeError, user_message
from ui import auth, runtime

log = get_logger(__name__)
# "0" leaves every object to the collector's scans (benchmarks/viewer_cpu.py compares both).
GC_FREEZE_ENV = "IPSCAPE_GC_FREEZE"
SCREENS = Path(__file__).resolve().parent.parent / "screens"


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


def gc_freeze_enabled() -> bool:
    return os.environ.get(GC_FREEZE_ENV, "1").strip().lower() not in ("0", "false", "no")


def screen_imports(folder: Path = SCREENS) -> Iterator[str]:
    """The modules the screens import (``from ui import wall`` gives ``ui`` and ``ui.wall``):
    a screen runs as a script, so nothing imports them before its first viewer."""
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_screens() -> None:
    for name in dict.fromkeys(screen_imports()):
        # ImportError: a name imported from a module, not a submodule.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def freeze_libraries() -> None:
    """Import what the screens import, then move every object the process holds into Python's
    permanent generation, before any viewer connects.

    Streamlit runs ``gc.collect(2)`` after every script and fragment run
    (``runner.postScriptGC``), and Python's own full collections do the same work: each walks
    every object the process holds, ~150,000 at boot, nearly all of them functions, dicts and
    types of the loaded libraries, which never become garbage. Frozen, they are skipped; what
    runs allocate later (sessions, snapshots, figures) is collected as before. A frozen object
    that later becomes cyclic garbage is never freed: freezing once, before the first viewer,
    bounds that to what the boot itself held.
    Measured in benchmarks/viewer_cpu.py and benchmarks/soak.py.
    """
    import_screens()
    gc.collect()
    gc.freeze()
    log.info(
        "Frozen at boot: %d objects out of the garbage collector's scans; runner.postScriptGC %s",
        gc.get_freeze_count(),
        str(st.get_option("runner.postScriptGC")).lower(),
    )


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """st.App's lifespan: boot and freeze in a worker thread (starting the simulator and the
    first polls must not hold the event loop), and stop everything when the server stops."""
    await asyncio.to_thread(boot)
    if gc_freeze_enabled():
        await asyncio.to_thread(freeze_libraries)
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
