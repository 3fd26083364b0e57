"""No viewer action restarts the process's shared resources or costs tenant requests.

Any client can send Streamlit's "clear cache" over the websocket (the BackMsg ``clear_cache``,
which clears ``st.cache_data`` and ``st.cache_resource`` for everyone). The pollers and the demo
simulator are outside those caches (ui/runtime.py), so a clear, however often, changes nothing
upstream. Polling is set to an hour here: the schedule says no request is due during a test, so
any request beyond the first load is one a viewer caused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import streamlit as st
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest
from websockets.sync.client import ClientConnection, connect

from ipscape.simulator import RunningSimulator
from tests.app_support import point_app_at
from tests.browser_support import StreamlitServer, demo_env, write_dashboard_config
from ui import runtime

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "dashboard.py")
HOUR_POLLING = "[poll]\ncampaigns_s = 3600\nagents_s = 3600\nactivities_s = 3600\n"
CLEARS = 25
DEMO_TENANT_LINE = re.compile(r"Demo tenant .* serving on (http://127\.0\.0\.1:\d+)")
SCRIPT_RUN_TIMEOUT_S = 60.0


def requests_seen(sim_url: str) -> int:
    return int(httpx.get(f"{sim_url}/_simulator/stats", timeout=10).json()["total"])


def test_clearing_every_cache_keeps_the_pollers_and_asks_the_tenant_nothing(
    app_env: Path, sim_factory: Callable[..., RunningSimulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_factory()
    point_app_at(sim, monkeypatch)
    app_env.write_text(app_env.read_text() + HOUR_POLLING)
    AppTest.from_file(APP, default_timeout=60).run()
    live = runtime.live()
    after_first_load = sim.stats()["total"]
    assert after_first_load > 0

    for _ in range(5):
        st.cache_resource.clear()
        st.cache_data.clear()
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception

    assert runtime.live() is live
    assert sim.stats()["total"] == after_first_load
    # ... and the pollers still work (a closed poller would not ask the tenant at all).
    live.pollers["agents"].refresh()
    assert sim.stats()["total"] == after_first_load + 1


# --- a real server and a hostile websocket client ----------------------------------------------


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[StreamlitServer]:
    """``streamlit run dashboard.py`` in demo mode (no tenant settings), polling hourly."""
    config = write_dashboard_config(
        tmp_path / "dashboard.toml", history=tmp_path / "history.sqlite", poll_s=3600
    )
    server = StreamlitServer(demo_env(config), tmp_path / "streamlit.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def run_script(ws: ClientConnection, *before: BackMsg) -> None:
    """Send ``before`` then a rerun, as the browser does, and wait until the script finished."""
    for msg in before:
        ws.send(msg.SerializeToString())
    ws.send(BackMsg(rerun_script=ClientState()).SerializeToString())
    deadline = time.monotonic() + SCRIPT_RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        reply = ForwardMsg()
        reply.ParseFromString(ws.recv(timeout=SCRIPT_RUN_TIMEOUT_S))
        if reply.WhichOneof("type") == "script_finished":
            return
    raise TimeoutError("the script run did not finish")


def demo_tenant_urls(server: StreamlitServer) -> list[str]:
    return DEMO_TENANT_LINE.findall(server.log(tail=1_000_000))


def test_a_client_looping_on_clear_cache_restarts_nothing_and_costs_no_tenant_request(
    demo_server: StreamlitServer,
) -> None:
    stream = demo_server.url.replace("http://", "ws://") + "/_stcore/stream"
    with connect(stream, subprotocols=["streamlit"], open_timeout=30) as ws:  # type: ignore[list-item]
        run_script(ws)
        (sim_url,) = demo_tenant_urls(demo_server)
        after_first_load = requests_seen(sim_url)
        assert after_first_load > 0

        clear: Any = BackMsg(clear_cache=True)
        for _ in range(CLEARS):
            run_script(ws, clear)

        # The demo tenant was not restarted (a new one would log a new address, and the old
        # one would refuse the connection) and was asked nothing more.
        assert demo_tenant_urls(demo_server) == [sim_url]
        assert requests_seen(sim_url) == after_first_load
