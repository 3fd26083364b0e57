"""Running the simulator: uvicorn on a background thread (demo, tests) or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import SimulatorApp
from .config import SimulatorConfig
from .model import ContactCentre

READY_TIMEOUT_S = 30.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket bound before uvicorn starts, so port 0 yields a known free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def make_server(app: SimulatorApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class RunningSimulator:
    """A simulator serving on 127.0.0.1 in a daemon thread. Stop it (or use `with`)."""

    def __init__(
        self,
        app: SimulatorApp,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
    ) -> None:
        host, port = sock.getsockname()[:2]
        host_part = f"[{host}]" if ":" in host else host
        self.url = f"http://{host_part}:{port}"
        self.api_root = self.url + "/platform-api"
        self.config: SimulatorConfig = app.config
        self.token = app.config.token
        self.keys = app.config.keys
        self._app = app
        self._server = server
        self._thread = thread
        self._sock = sock
        self._control = httpx.Client(base_url=self.url, timeout=60.0)
        self._stopped = False

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self._control.request(method, path, json=payload)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_simulator/stats")

    def reset_stats(self) -> None:
        self._call("POST", "/_simulator/stats/reset")

    def inject(self, *faults: dict[str, Any]) -> None:
        self._call("POST", "/_simulator/faults", {"faults": list(faults)})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_simulator/faults")

    def advance(self, seconds: float) -> None:
        self._call("POST", "/_simulator/advance", {"seconds": seconds})

    def surge(self, campaign_id: int, calls: int) -> None:
        self._call("POST", "/_simulator/surge", {"campaignId": campaign_id, "calls": calls})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_simulator/state")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._control.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Build the day so far, serve it on a background thread; return once it accepts requests."""
    app = SimulatorApp(ContactCentre(config or SimulatorConfig()))
    sock = bind_socket(host, port)
    server = make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="ipscape-simulator", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the simulator did not start")
        time.sleep(0.005)
    return RunningSimulator(app, server, thread, sock)
