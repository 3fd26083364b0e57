"""Helpers for tests of the Streamlit app, shared by every test file (fixtures: conftest.py)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.client import USER_AGENT, IpscapeClient
from ipscape.clock import Clock
from ipscape.config import DashboardConfig, PollConfig
from ipscape.live import LiveData
from ipscape.presentation.text import WORD_JOINER
from ipscape.settings import Settings
from ipscape.simulator import RunningSimulator
from ui import runtime
from ui.navigation import SCREENS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
RUN_TIMEOUT = 60
# The schedule of the tests that move a manual clock by hand: round intervals, no jitter.
MANUAL_POLL = PollConfig(
    campaigns_s=10, agents_s=10, activities_s=30, jitter_s=0, error_backoff_s=15,
    error_backoff_max_s=60,
)  # fmt: skip
# screen name (its file's stem) -> script path, as dashboard.py routes them
SCREEN_SCRIPTS = {Path(s.script).stem: s.script for s in SCREENS}


# Canary secrets: made-up credentials that tests search for everywhere a secret must never be
# (logs, pages, the browser, error text), in every form they take on the wire.
CANARY_TOKEN = "canary-token-7f3a"
CANARY_KEYS = ("canary-key-1-9c2e", "canary-key-2-41bd")


def canaries() -> list[str]:
    """The canary secrets and their Basic-auth header values."""
    forms = [CANARY_TOKEN, *CANARY_KEYS]
    for key in CANARY_KEYS:
        pair = f"{CANARY_TOKEN}:{key}".encode()
        forms.append(base64.b64encode(pair).decode())
    return forms


def unescape(text: str) -> str:
    """What a viewer reads of our Markdown-escaped text (ipscape/presentation/text.py's
    `plain`): no backslash escapes, no invisible word joiners."""
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")


def open_page(page: str, at: AppTest | None = None, **query: str) -> AppTest:
    """Run the app (a new one with ``query`` unless ``at`` is given) and switch to ``page``
    (a screen's name: "overview", "agents", "wall", ...), as its menu link does."""
    if at is None:
        at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
        at.query_params.update(query)
        at.run()
    at.switch_page(SCREEN_SCRIPTS[page]).run()
    return at


def point_app_at(
    sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch, *, both_keys: bool = True
) -> None:
    """Configure the app for ``sim`` through the documented IPSCAPE_* environment variables."""
    monkeypatch.setenv("IPSCAPE_BASE_URL", sim.api_root)
    monkeypatch.setenv("IPSCAPE_API_TOKEN", sim.token)
    monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", sim.keys[0])
    if both_keys:
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_2", sim.keys[1])


def afternoon_zone() -> str:
    """A time zone where it is now about three in the afternoon.

    A simulated tenant's day runs from local midnight to its start time (10:30); pointed at as a
    real tenant, the app judges "today" and "in the future" on the wall clock. In the tenant's
    own zone that day would lie in the future for the first hours after midnight (activities
    from the future are held apart), so tests that treat a simulator as a real tenant run it,
    and the app's display_timezone, in a zone where its day is today and already past."""
    offset = (15 - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


def api(sim: RunningSimulator, path: str, **params: Any) -> Any:
    """GET from the simulated tenant, following ``metadata.nextUri`` for lists."""
    auth = (sim.token, sim.keys[0])
    with httpx.Client(auth=auth, timeout=30) as http:
        body = http.get(sim.api_root + path, params=params or None).raise_for_status().json()
        if "items" not in body:
            return body
        items = list(body["items"])
        while (body.get("metadata") or {}).get("nextUri"):
            body = http.get(sim.api_root.rsplit("/v3.0", 1)[0] + body["metadata"]["nextUri"])
            body = body.raise_for_status().json()
            items.extend(body["items"])
        return items


def rewriting_client(settings: Settings, rewrite: Callable[[str, Any], Any]) -> httpx.Client:
    """A client whose transport forwards to the tenant and passes JSON bodies through
    ``rewrite(path, body)``: byte-level cases the simulator has no switch for."""
    upstream = httpx.HTTPTransport()

    def handler(request: httpx.Request) -> httpx.Response:
        response = upstream.handle_request(request)
        content = response.read()
        response.close()
        kind = response.headers.get("content-type", "")
        if response.status_code == 200 and kind.startswith("application/json"):
            body = rewrite(request.url.path, json.loads(content))
            return httpx.Response(200, json=body)
        return httpx.Response(response.status_code, content=content, headers={"content-type": kind})

    return httpx.Client(
        transport=httpx.MockTransport(handler),
        timeout=settings.timeout_s,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def patch_transport(monkeypatch: pytest.MonkeyPatch, rewrite: Callable[[str, Any], Any]) -> None:
    """The app's LiveData, built on a client whose answers pass through ``rewrite``."""

    def build(
        settings: Settings, config: DashboardConfig, *, clock: Clock | None = None
    ) -> LiveData:
        client = IpscapeClient(settings, rewriting_client(settings, rewrite))
        return LiveData(client, config, clock=clock)

    monkeypatch.setattr(runtime, "build_live", build)
