"""Access control and hardening: OIDC sign-in, kiosk tokens for walls, open demo, safe defaults.

AppTest cannot complete an OIDC flow, but Streamlit 1.67 lets a test seed ``st.user``
(``AppTest.user``), so both the signed-out and the signed-in paths run through the real app;
``ui.auth.decide`` is checked on its own for every combination.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ipscape.simulator import RunningSimulator
from tests.app_support import point_app_at
from ui.auth import DENIED, SIGN_IN_NEEDED, decide

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
TOKEN = "kiosk-token-3b9d0c1e7a55"
OTHER_TOKEN = "kiosk-token-ffff0000aaaa"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "cookie-secret-for-tests-only-0123456789",
    "client_id": "dashboard",
    "client_secret": "client-secret-for-tests",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}
SIGNED_IN = {"is_logged_in": True, "email": "supervisor@example.com", "name": "Sam Supervisor"}


# --- the policy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "auth", "logged_in", "tokens", "token", "expected"),
    [
        # unconfigured demo: open
        ("page", False, False, (), None, "open"),
        ("wall", False, False, (), None, "open"),
        # sign-in configured
        ("page", True, False, (), None, "sign_in"),
        ("page", True, True, (), None, "open"),
        ("wall", True, False, (), None, "sign_in"),
        ("wall", True, True, (), None, "open"),
        # kiosk tokens: the wall only, and only the right one
        ("wall", False, False, (TOKEN,), TOKEN, "open"),
        ("wall", False, False, (TOKEN,), None, "denied"),
        ("wall", False, False, (TOKEN,), OTHER_TOKEN, "denied"),
        ("wall", True, False, (TOKEN,), TOKEN, "open"),
        ("wall", True, False, (TOKEN,), OTHER_TOKEN, "denied"),
        ("wall", True, False, (TOKEN,), None, "sign_in"),
        ("wall", True, True, (TOKEN,), None, "open"),
        ("page", True, False, (TOKEN,), TOKEN, "sign_in"),
        ("wall", False, False, (OTHER_TOKEN, TOKEN), TOKEN, "open"),
        ("wall", False, False, (TOKEN,), TOKEN[:-1], "denied"),
        ("wall", False, False, (TOKEN,), "", "denied"),
    ],
)
def test_access_policy(
    kind: Any, auth: bool, logged_in: bool, tokens: tuple[str, ...], token: Any, expected: str
) -> None:
    assert (
        decide(kind, auth_configured=auth, logged_in=logged_in, kiosk_tokens=tokens, token=token)
        == expected
    )


# --- through the app --------------------------------------------------------------------------


@pytest.fixture
def tenant(
    app_env: Path, simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningSimulator]:
    point_app_at(simulator, monkeypatch, both_keys=False)
    try:
        yield simulator
    finally:
        st.cache_resource.clear()


def app(*, auth: bool = False, user: dict[str, Any] | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if auth:
        at.secrets["auth"] = dict(AUTH)
    if user is not None:
        at.user = dict(user)
    at.query_params.update(query)
    return at


def everything_rendered(at: AppTest) -> str:
    """Every element of the page as its protobuf text: what the browser would receive."""

    def walk(node: Any) -> Iterator[Any]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return "\n".join(str(n.proto) for n in walk(at._tree) if getattr(n, "proto", None))


def shows_no_data(at: AppTest) -> bool:
    return not at.metric and not at.dataframe and not at.table and not at.get("plotly_chart")


def with_tokens(config: Path, *tokens: str) -> None:
    text = config.read_text().split("[wall]")[0]
    config.write_text(text + f"[wall]\nkiosk_tokens = {json.dumps(list(tokens))}\n")
    # A different mtime even within the file system's timestamp granularity.
    stamp = config.stat().st_mtime_ns + 1_000_000_000
    os.utime(config, ns=(stamp, stamp))


def test_unconfigured_demo_is_open(app_env: Path) -> None:
    at = app()
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert at.metric
    assert not _has_button(at, "auth_sign_in")


def _has_button(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)


@pytest.mark.parametrize("page", ["pages/agents.py", "pages/drilldown.py"])
def test_signed_out_visitors_get_the_sign_in_screen_and_no_data(
    tenant: RunningSimulator, page: str
) -> None:
    at = app(auth=True)
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert [i.value for i in at.info] == [SIGN_IN_NEEDED]
    assert _has_button(at, "auth_sign_in")
    assert shows_no_data(at)
    at.switch_page(page).run()
    assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    # not one request reached the tenant for a visitor who is not signed in
    assert tenant.stats()["total"] == 0


def test_signed_in_users_see_the_dashboard_and_can_sign_out(tenant: RunningSimulator) -> None:
    at = app(auth=True, user=SIGNED_IN)
    at.run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Overview"]
    assert at.metric
    assert any(
        "Signed in as supervisor@example.com" in c.value.replace("\\", "") for c in at.caption
    )
    assert _has_button(at, "auth_sign_out")


def test_sign_in_without_authlib_or_complete_settings_says_what_to_fix(app_env: Path) -> None:
    at = app(auth=True)
    # AppTest's very first run computes widget ids under another script hash than every later
    # run (a browser's first run does not), so a click on the first run's button would be lost.
    at.run().run()
    at.button(key="auth_sign_in").click().run()
    assert not at.exception
    (error,) = at.error
    assert "Authlib" in error.value or "[auth] section" in error.value
    page = everything_rendered(at)
    assert AUTH["client_secret"] not in page and AUTH["cookie_secret"] not in page


def test_a_wall_with_a_valid_kiosk_token_renders_without_sign_in(
    tenant: RunningSimulator, app_env: Path
) -> None:
    with_tokens(app_env, OTHER_TOKEN, TOKEN)
    at = app(auth=True, kiosk="1", token=TOKEN)
    at.run()
    assert not at.exception
    assert not [e.value for e in at.error if "Access denied" in e.value]
    assert at.metric, "the wall shows its tiles"
    assert TOKEN not in everything_rendered(at)


@pytest.mark.parametrize("token", [None, OTHER_TOKEN, TOKEN[:-1]])
def test_a_wall_without_a_valid_token_is_denied_and_shows_no_data(
    tenant: RunningSimulator, app_env: Path, token: str | None
) -> None:
    with_tokens(app_env, TOKEN)
    at = app(kiosk="1", **({"token": token} if token is not None else {}))
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [DENIED]
    assert shows_no_data(at)
    assert tenant.stats()["total"] == 0
    page = everything_rendered(at)
    assert TOKEN not in page and (token is None or token not in page)


def test_a_revoked_token_stops_working_without_a_restart(
    tenant: RunningSimulator, app_env: Path
) -> None:
    with_tokens(app_env, TOKEN)
    at = app(kiosk="1", token=TOKEN)
    at.run()
    assert at.metric and not at.exception
    with_tokens(app_env, OTHER_TOKEN)  # the supervisor deletes the wall's token
    wall = app(kiosk="1", token=TOKEN)  # the wall's nightly reload, or any new session
    wall.run()
    assert [e.value for e in wall.error] == [DENIED]
    assert shows_no_data(wall)


# --- hardening defaults -----------------------------------------------------------------------


def test_streamlit_config_ships_hardened_defaults() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server, client = config["server"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server.get("enableStaticServing", False) is False
    # Viewers get a generic message; the traceback goes to the server log only.
    assert client["showErrorDetails"] == "none"
    assert client["toolbarMode"] == "minimal"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["magicEnabled"] is False
    # The secrets example carries placeholders only, never a working credential.
    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    assert "demo-key" not in example


def test_secrets_file_is_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert any(line.strip() in (".streamlit/secrets.toml", "secrets.toml") for line in ignored)
