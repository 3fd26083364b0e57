"""Real-browser test support: the dashboard as a `streamlit run` subprocess, and headless Chromium.

Used by tests/test_browser_wall.py, tests/test_collector_server.py and benchmarks/soak.py. The
server listens on 127.0.0.1 on a free port, talks to a simulator (never a real tenant) and is
always terminated by its context manager. Playwright cannot download browsers here, so Chromium
is the system one (Debian's ``/usr/bin/chromium``, or $IPSCAPE_CHROMIUM); `chromium_path()` is
None when there is none and the browser tests skip with that reason. With
IPSCAPE_REQUIRE_BROWSER=1 (CI) a missing Chromium or Playwright is an error instead:
`chromium_path()` and `playwright_sync_api()` raise.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.app_support import afternoon_zone

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ENV = "IPSCAPE_CHROMIUM"
REQUIRE_BROWSER_ENV = "IPSCAPE_REQUIRE_BROWSER"
NO_CHROMIUM = "no Chromium installed (apt-get install chromium, or set IPSCAPE_CHROMIUM)"
NO_PLAYWRIGHT = "no Playwright installed (pip install -r requirements-dev.txt)"
DEMO_TOKEN = "demo-token"
DEMO_KEYS = ("demo-key-1", "demo-key-2")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Flags for a sandbox-less CI container: no GPU, no QUIC, nothing phoning home.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Deadlines for a loaded 2-core machine (several test runs and a browser at once): each wait has
# its own, generous enough that only a real failure reaches it. Waits poll a condition, so a
# fast machine never waits for them.
SERVER_START_TIMEOUT_S = 120.0
# The collector's first publish of every feed after the server is up (``/healthz`` says 200).
READY_TIMEOUT_S = 120.0
# A page's first render in a fresh browser tab (Streamlit's bundle, websocket, first script run).
FIRST_RENDER_MS = 120_000
# Anything a page waits for after that (a click's rerun, a poll cycle reaching the screen).
PAGE_WAIT_MS = 90_000


def browser_required() -> bool:
    """True in CI (IPSCAPE_REQUIRE_BROWSER=1): browser tests must run, never skip."""
    return os.environ.get(REQUIRE_BROWSER_ENV, "").strip().lower() in ("1", "true", "yes")


def chromium_path() -> str | None:
    """The system Chromium to drive, or None when none is installed.

    Raises RuntimeError instead of returning None when the browser is required, so a module's
    ``skipif(chromium_path() is None, ...)`` fails its collection rather than skipping.
    """
    candidates = [os.environ.get(CHROMIUM_ENV, ""), *CHROMIUM_CANDIDATES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and browser_required():
        raise RuntimeError(f"{REQUIRE_BROWSER_ENV}=1 but {NO_CHROMIUM}")
    return found


def playwright_sync_api() -> Any:
    """``playwright.sync_api``; skips the calling test module without it (fails if required)."""
    try:
        import playwright.sync_api as sync_api
    except ImportError as exc:
        if browser_required():
            raise RuntimeError(f"{REQUIRE_BROWSER_ENV}=1 but {NO_PLAYWRIGHT}") from exc
        import pytest

        pytest.skip(NO_PLAYWRIGHT, allow_module_level=True)
    return sync_api


def launch_chromium(playwright: Any, **kwargs: Any) -> Any:
    """A headless Chromium Browser from a ``sync_playwright()`` handle. Give its contexts
    `patient` deadlines: Playwright's own default (30 s) is short for a loaded machine."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium installed (apt-get install chromium)")
    return playwright.chromium.launch(
        executable_path=path, args=list(CHROMIUM_ARGS), headless=True, **kwargs
    )


@contextlib.contextmanager
def open_browser() -> Iterator[Any]:
    """A launched headless Chromium (`launch_chromium`) for a module's tests, always closed."""
    with playwright_sync_api().sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def patient(target: Any, timeout_ms: float = PAGE_WAIT_MS) -> Any:
    """``target`` (a BrowserContext or Page) with ``timeout_ms`` as its default deadline for
    every action and navigation that is given none of its own."""
    target.set_default_timeout(timeout_ms)
    target.set_default_navigation_timeout(FIRST_RENDER_MS)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_dashboard_config(
    path: Path, *, history: Path, extra: str = "", poll_s: float = 8
) -> Path:
    """A dashboard.toml for tests: the fastest polling the config allows (8 s) unless told,
    short backoff."""
    path.write_text(
        f"""title = "Test Contact Centre"
display_timezone = "{afternoon_zone()}"

[poll]
campaigns_s = {poll_s}
agents_s = {poll_s}
activities_s = {poll_s}
jitter_s = 0
error_backoff_s = 1
error_backoff_max_s = 2

[history]
path = "{history.as_posix()}"
retention_days = 1
{extra}
""",
        encoding="utf-8",
    )
    return path


def dashboard_env(
    api_root: str,
    config_path: Path,
    *,
    token: str = DEMO_TOKEN,
    keys: tuple[str, str] = DEMO_KEYS,
) -> dict[str, str]:
    """The server's environment: this simulator as the tenant, its credentials (the simulator's
    demo ones unless given), our config."""
    env = demo_env(config_path)
    env.update(
        {
            "IPSCAPE_BASE_URL": api_root,
            "IPSCAPE_API_TOKEN": token,
            "IPSCAPE_SECRET_KEY_1": keys[0],
            "IPSCAPE_SECRET_KEY_2": keys[1],
        }
    )
    return env


def demo_env(config_path: Path) -> dict[str, str]:
    """The server's environment for the demo: no IPSCAPE_* tenant settings at all (so the
    embedded simulator serves), our config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSCAPE_")}
    env.update(
        {
            "IPSCAPE_DASHBOARD_CONFIG": str(config_path),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class StreamlitServer:
    """``streamlit run dashboard.py`` on 127.0.0.1:<port>, output logged to ``log_path``."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        port: int | None = None,
        *,
        app_dir: Path = REPO,
        args: Sequence[str] = (),
    ) -> None:
        self.env = dict(env)
        self.app_dir = app_dir
        self.args = tuple(args)  # more `streamlit run` options, e.g. ("--logger.level", "info")
        self.log_path = log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("server not started")
        return self.process.pid

    def start(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.app_dir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_healthy(timeout_s)

    def wait_healthy(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {self.log_path}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"streamlit not healthy after {timeout_s:.0f} s; see {self.log_path}")

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until the app's own ``/healthz`` answers 200: every feed has been fetched once, so a
        page opened now shows data rather than "waiting for the first data"."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early; see {self.log_path}:\n{self.log()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=5)
                if answer.status_code == 200:
                    return
                last = f"HTTP {answer.status_code}: {answer.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
        raise TimeoutError(
            f"/healthz not 200 after {timeout_s:.0f} s ({last}); see {self.log_path}"
        )

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def wait_for_log(self, pattern: str, timeout_s: float) -> re.Match[str]:
        """The first match of ``pattern`` in the server's output, waiting up to ``timeout_s``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = regex.search(self.log(tail=1_000_000))
            if found:
                return found
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited; see {self.log_path}:\n{self.log()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {pattern!r} in the server log after {timeout_s:.0f} s")
            time.sleep(0.25)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return ""

    def __enter__(self) -> StreamlitServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_dashboard(
    api_root: str,
    workdir: Path,
    *,
    extra_config: str = "",
    token: str = DEMO_TOKEN,
    keys: tuple[str, str] = DEMO_KEYS,
) -> Iterator[StreamlitServer]:
    """Config in ``workdir``, then the dashboard server pointed at ``api_root``, yielded once its
    collector has fetched every feed (the tenant must be healthy at start); always stopped."""
    config = write_dashboard_config(
        workdir / "dashboard.toml", history=workdir / "history.sqlite", extra=extra_config
    )
    env = dashboard_env(api_root, config, token=token, keys=keys)
    server = StreamlitServer(env, workdir / "streamlit.log")
    try:
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.stop()


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
