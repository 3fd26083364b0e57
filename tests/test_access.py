"""Access control and hardening: OIDC sign-in, kiosk tokens for walls, open demo, safe defaults.

AppTest cannot complete an OIDC flow, but Streamlit 1.67 lets a test seed ``st.user``
(``AppTest.user``), so both the signed-out and the signed-in paths run through the real app;
``ui.auth.decide`` is checked on its own for every combination.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from ipscape.simulator import RunningSimulator
from tests.app_support import APP, ROOT, open_page, point_app_at, unescape
from ui.auth import DENIED, SIGN_IN_NEEDED, decide
from ui.navigation import SCREENS

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
    ("kind", "auth", "logged_in", "tokens", "given", "expected"),
    [
        # unconfigured demo: open, whatever the URL says
        ("page", False, False, (), (), "open"),
        ("wall", False, False, (), (), "open"),
        ("page", False, False, (), (TOKEN,), "open"),
        # sign-in configured: pages need it; a token is no way round it
        ("page", True, False, (), (), "sign_in"),
        ("page", True, True, (), (), "open"),
        ("wall", True, False, (), (), "sign_in"),
        ("wall", True, True, (), (), "open"),
        ("wall", True, False, (), (TOKEN,), "sign_in"),
        ("page", True, False, (TOKEN,), (TOKEN,), "sign_in"),
        ("page", True, True, (TOKEN,), (), "open"),
        # ... and a valid kiosk token opens the wall, a wrong or repeated one is refused
        ("wall", True, False, (TOKEN,), (TOKEN,), "open"),
        ("wall", True, False, (TOKEN,), (OTHER_TOKEN,), "denied"),
        ("wall", True, False, (TOKEN,), (), "sign_in"),
        ("wall", True, True, (TOKEN,), (), "open"),
        ("wall", True, False, (TOKEN,), (TOKEN, TOKEN), "denied"),
        # kiosk tokens without sign-in: every page and the wall need one valid token
        ("wall", False, False, (TOKEN,), (TOKEN,), "open"),
        ("page", False, False, (TOKEN,), (TOKEN,), "open"),
        ("wall", False, False, (TOKEN,), (), "denied"),
        ("page", False, False, (TOKEN,), (), "denied"),
        ("wall", False, False, (TOKEN,), (OTHER_TOKEN,), "denied"),
        ("page", False, False, (TOKEN,), (OTHER_TOKEN,), "denied"),
        ("wall", False, False, (OTHER_TOKEN, TOKEN), (TOKEN,), "open"),
        ("wall", False, False, (TOKEN,), (TOKEN[:-1],), "denied"),
        ("wall", False, False, (TOKEN,), ("",), "denied"),
        # a repeated token= is refused, not "the last one wins"
        ("page", False, False, (TOKEN,), (OTHER_TOKEN, TOKEN), "denied"),
        ("wall", False, False, (TOKEN,), (TOKEN, TOKEN), "denied"),
        ("page", False, True, (TOKEN,), (), "denied"),  # st.user without sign-in means nothing
    ],
)
def test_access_policy(
    kind: Any,
    auth: bool,
    logged_in: bool,
    tokens: tuple[str, ...],
    given: tuple[str, ...],
    expected: str,
) -> None:
    assert (
        decide(kind, auth_configured=auth, logged_in=logged_in, kiosk_tokens=tokens, given=given)
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


def app(
    *, auth: bool = False, user: dict[str, Any] | None = None, **query: str | list[str]
) -> AppTest:
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
    # a page's widgets count too: the wall-link page is a form over the campaign list
    return (
        not at.metric
        and not at.dataframe
        and not at.table
        and not at.get("plotly_chart")
        and not at.multiselect
    )


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


@pytest.mark.parametrize("page", ["screens/agents.py", "screens/drilldown.py"])
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
    assert any("Signed in as supervisor@example.com" in unescape(c.value) for c in at.caption)
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


# --- kiosk tokens guard every page, not only the wall -------------------------------------

# Where tenant data can be had: every screen of the registry, as the app routes it (there is no
# other way in: screens/ is not a pages/ folder, so Streamlit never runs a screen on its own).
ROUTES = {
    "/": (APP, None, {}),
    **{
        f"/{screen.url_path}": (APP, screen.script, {"window": "today"})
        for screen in SCREENS
        if screen.kind == "page" and not screen.home
    },
    "/agents?kiosk=1": (APP, "screens/agents.py", {"kiosk": "1"}),
    "/wall?kiosk=1": (APP, None, {"kiosk": "1", "rotate": "0"}),
}


def open_route(route: str, **query: str | list[str]) -> AppTest:
    script, page, params = ROUTES[route]
    at = AppTest.from_file(script, default_timeout=60)
    at.query_params.update({**params, **query})
    at.run()
    if page is not None and not at.error:
        at.switch_page(page).run()
    return at


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    "given", [None, OTHER_TOKEN, [OTHER_TOKEN, TOKEN], [TOKEN, TOKEN]], ids=str
)
def test_with_kiosk_tokens_every_route_needs_one_valid_token(
    tenant: RunningSimulator, app_env: Path, route: str, given: str | list[str] | None
) -> None:
    with_tokens(app_env, TOKEN)
    at = open_route(route, **({} if given is None else {"token": given}))
    assert not at.exception
    assert [e.value for e in at.error] == [DENIED], route
    assert shows_no_data(at)
    assert tenant.stats()["total"] == 0
    assert TOKEN not in everything_rendered(at)


@pytest.mark.parametrize("route", list(ROUTES))
def test_with_kiosk_tokens_a_valid_token_opens_every_route(
    tenant: RunningSimulator, app_env: Path, route: str
) -> None:
    with_tokens(app_env, OTHER_TOKEN, TOKEN)
    at = open_route(route, token=TOKEN)
    assert not at.exception
    assert DENIED not in [e.value for e in at.error]
    assert not shows_no_data(at), route
    assert TOKEN not in everything_rendered(at)


def test_a_token_holder_keeps_access_through_the_menu_until_the_token_is_deleted(
    tenant: RunningSimulator, app_env: Path
) -> None:
    with_tokens(app_env, TOKEN)
    at = app(token=TOKEN)
    at.run()
    assert at.metric
    # The menu's links drop the query string: this session's token still counts ...
    at.query_params.clear()
    at.switch_page("screens/agents.py").run()
    assert not at.error and at.metric
    # ... and is checked again on every run.
    with_tokens(app_env, OTHER_TOKEN)
    at.switch_page("screens/overview.py").run()
    assert [e.value for e in at.error] == [DENIED] and shows_no_data(at)


def test_with_sign_in_a_token_opens_the_wall_but_no_page(
    tenant: RunningSimulator, app_env: Path
) -> None:
    with_tokens(app_env, TOKEN)
    at = app(auth=True, token=TOKEN)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"] and shows_no_data(at)
    wall = app(auth=True, kiosk="1", token=TOKEN, rotate="0")
    wall.run()
    assert not wall.error and wall.metric


# --- revocation reaches an open page at its next refresh -----------------------------------


def rerun_fragments(at: AppTest) -> AppTest:
    """Rerun only the page's fragments, as their run_every timers do in a browser: the script
    above them (and its access check) does not run. AppTest has no call for this, so the
    rerun request it sends is given the fragment ids the page registered."""
    ids = list(at._fragment_storage._fragments)
    assert ids, "the page registered no fragment"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            local_script_runner,
            "RerunData",
            functools.partial(RerunData, fragment_id_queue=ids, is_fragment_scoped_rerun=True),
        )
        return at.run()


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("wall", {"kiosk": "1", "rotate": "0"}),
        ("agents", {}),
        ("voicemail", {}),
        ("drilldown", {"window": "today"}),
    ],
)
def test_a_deleted_token_blanks_an_open_page_at_its_next_refresh(
    tenant: RunningSimulator, app_env: Path, route: str, query: dict[str, str]
) -> None:
    with_tokens(app_env, TOKEN)
    at = open_page(route, **query, token=TOKEN)
    assert at.metric or at.dataframe, "the page shows data"
    # A refresh alone (the script above the fragments does not run) still shows data ...
    rerun_fragments(at)
    assert not at.exception and not at.error
    assert at.metric or at.dataframe, "the fragments redrew the data"
    # ... until the supervisor deletes the token: the next refresh shows the denied screen.
    with_tokens(app_env, OTHER_TOKEN)
    rerun_fragments(at)
    assert not at.exception
    assert [e.value for e in at.error] == [DENIED]
    assert shows_no_data(at)


def test_an_open_demo_page_closes_when_kiosk_tokens_are_added(
    tenant: RunningSimulator, app_env: Path
) -> None:
    # An open demo page, then the administrator adds kiosk tokens: the open page closes too.
    at = open_page("overview")
    assert at.metric
    with_tokens(app_env, TOKEN)
    rerun_fragments(at)
    assert [e.value for e in at.error] == [DENIED] and shows_no_data(at)


# The agents and wait-times trend() fragments are still bare @st.fragment: their owner moves
# them to auth.live_fragment, then this set empties.
def test_every_live_part_re_checks_access() -> None:
    """No bare @st.fragment outside ui/auth.py: each would refresh past a revoked token."""
    bare = set()
    for path in [
        ROOT / "dashboard.py",
        *(ROOT / "screens").glob("*.py"),
        *(ROOT / "ui").glob("*.py"),
    ]:
        if path.name == "auth.py" and path.parent.name == "ui":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if isinstance(target, ast.Attribute) and target.attr == "fragment":
                        bare.add((path.name, node.name))
    assert not bare, sorted(bare)


# --- a broken secrets file stops every page -------------------------------------------------

BROKEN_LINE = 'note = "this string never ends'


def write_secrets(root: Path, *sections: dict[str, dict[str, str]], broken: bool) -> Path:
    path = root / ".streamlit" / "secrets.toml"
    path.parent.mkdir(exist_ok=True)
    lines = []
    for section in sections:
        for name, values in section.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    if broken:
        lines.append(BROKEN_LINE)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_secrets_file_that_does_not_parse_stops_every_route(
    tenant: RunningSimulator, app_env: Path, route: str
) -> None:
    # A complete [auth] section, and one unterminated string further down.
    path = write_secrets(app_env.parent, {"auth": AUTH}, broken=True)
    at = open_route(route)
    assert not at.exception
    (error,) = [unescape(e.value) for e in at.error]
    line = len(path.read_text().splitlines())
    assert f"The secrets file {path} does not parse (at line {line}, column" in error
    assert shows_no_data(at)
    assert tenant.stats()["total"] == 0
    page = everything_rendered(at)
    for value in (*AUTH.values(), "this string never ends"):
        assert value not in page and value not in unescape(page)


def test_a_broken_secrets_file_with_the_tenant_in_it_does_not_start_the_demo(
    app_env: Path, simulator: RunningSimulator
) -> None:
    tenant_section = {
        "IPSCAPE_BASE_URL": simulator.api_root,
        "IPSCAPE_API_TOKEN": simulator.token,
        "IPSCAPE_SECRET_KEY_1": simulator.keys[0],
    }
    write_secrets(app_env.parent, {"ipscape": tenant_section}, broken=True)
    at = app()
    at.run()
    assert not at.exception
    assert [e for e in at.error if "does not parse" in e.value]
    assert shows_no_data(at)
    assert "Demo data" not in everything_rendered(at)
    assert simulator.stats()["total"] == 0


def test_a_secrets_file_that_parses_is_used_as_before(app_env: Path) -> None:
    write_secrets(app_env.parent, {"auth": AUTH}, broken=False)
    at = app()
    try:
        at.run()
    finally:
        # st.secrets keeps what it parsed for the process: later tests must not sign in.
        st.secrets._reset()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]


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
    # Tables offer no built-in CSV download, which would skip our export's formula guard.
    assert client["disableDataExport"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["magicEnabled"] is False
    # The secrets example carries placeholders only, never a working credential.
    example = (ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    assert "demo-key" not in example


def test_secrets_file_is_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert any(line.strip() in (".streamlit/secrets.toml", "secrets.toml") for line in ignored)


def test_the_registry_is_every_screen_and_nothing_runs_in_legacy_multipage_mode() -> None:
    # A pages/ folder beside the entry file would let Streamlit run a page without
    # dashboard.py, past its access check.
    assert not (ROOT / "pages").exists()
    assert {s.script for s in SCREENS} == {
        f"screens/{p.name}" for p in (ROOT / "screens").glob("*.py")
    }
    assert all(s.path.exists() for s in SCREENS)
