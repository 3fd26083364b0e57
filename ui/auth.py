"""Who may see what: OIDC sign-in for people, revocable read-only tokens for wall displays.

Three set-ups, decided by configuration alone:
- nothing configured (the demo, or a dashboard behind a reverse proxy that authenticates):
  every page is open;
- an ``[auth]`` section in ``.streamlit/secrets.toml``: Streamlit's built-in OIDC sign-in
  (``st.login``; needs the Authlib package) guards every page; a kiosk token opens the wall;
- ``wall.kiosk_tokens`` in dashboard.toml and no sign-in: every page, the wall included, needs
  ``?token=...``. A token is compared in constant time, never shown, remembered for the
  browser session (the menu's links drop the query string) and checked again on every run, so
  deleting it from dashboard.toml (read again when the file changes) revokes it without a
  restart.

`decide` is the whole policy as a pure function; `require_access` applies it to the current run
and stops the script, before any data is read, when access is not granted; `live_fragment`
applies it again at the start of every fragment rerun, which a full run's check never sees.
A secrets file that exists but does not parse stops every page (`require_readable_secrets`):
read past, it would switch sign-in off and fall back to the demo without a word.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import streamlit as st
from streamlit.errors import StreamlitAuthError

from ipscape.errors import ConfigError
from ipscape.presentation.text import plain
from ipscape.presentation.wall import token_allowed
from ui import runtime
from ui.messages import show_config_error
from ui.navigation import PageKind

Decision = Literal["open", "sign_in", "denied"]
AUTH_SECTION = "auth"
TOKEN_PARAM = "token"
# Session state key of the token this browser session presented (kept server-side).
TOKEN_KEY = "_kiosk_token"
DENIED = "Access denied: this dashboard needs a valid kiosk token (?token=...)."
SECRETS_BROKEN = (
    "The secrets file {path} does not parse ({where}). Nothing is shown until it does: "
    "fix the file (see .streamlit/secrets.toml.example) and reload the page."
)
_TOML_WHERE = re.compile(r"\((at line \d+, column \d+|at end of document)\)")
F = TypeVar("F", bound=Callable[..., Any])
SIGN_IN_NEEDED = "This dashboard is private. Sign in with your organisation account to see it."


def decide(
    page_kind: PageKind,
    *,
    auth_configured: bool,
    logged_in: bool,
    kiosk_tokens: tuple[str, ...],
    given: Sequence[str],
) -> Decision:
    """The access policy. ``given`` holds every ``token=`` value of the URL.

    Nothing configured: open. Sign-in configured: a signed-in user sees everything, a valid
    kiosk token opens the wall only (a wall cannot sign in), anyone else signs in. Tokens
    without sign-in: every page needs a valid token. A wrong, revoked or repeated token is
    refused outright: with two values there is no telling which one the viewer meant.
    """
    valid = len(given) == 1 and token_allowed(given[0], kiosk_tokens)
    if auth_configured:
        if logged_in:
            return "open"
        if page_kind == "wall" and kiosk_tokens and given:
            return "open" if valid else "denied"
        return "sign_in"
    if kiosk_tokens:
        return "open" if valid else "denied"
    return "open"


def auth_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (OIDC sign-in)."""
    try:
        return AUTH_SECTION in st.secrets
    except Exception:
        # No secrets file at all. One that does not parse never gets here: every run and every
        # fragment rerun checks `secrets_problem` first and stops.
        return False


def logged_in() -> bool:
    # st.user raises for a missing key; .get is the documented-safe read.
    return bool(st.user.get("is_logged_in", False))


def kiosk_tokens() -> tuple[str, ...]:
    """The configured kiosk tokens, as of the config file's last change (raises ConfigError),
    so a token the supervisor deletes stops working on the wall's next run."""
    return runtime.dashboard_config().wall.kiosk_tokens


def secrets_problem() -> str | None:
    """Why a secrets file Streamlit reads (config option ``secrets.files``) does not parse, or
    None. Names the file and the line and column, never the text: the text holds secrets."""
    for path in st.get_option("secrets.files"):
        if not str(path).endswith(".toml") or not os.path.isfile(path):
            continue  # absent, or a directory of Kubernetes-style secrets
        try:
            with open(path, "rb") as file:
                tomllib.load(file)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_WHERE.search(str(exc))
            return SECRETS_BROKEN.format(path=path, where=found.group(1) if found else "TOML")
        except UnicodeDecodeError:
            return SECRETS_BROKEN.format(path=path, where="not UTF-8 text")
        except OSError as exc:
            return SECRETS_BROKEN.format(path=path, where=f"cannot be read: {exc.strerror}")
    return None


def require_readable_secrets() -> None:
    """Stop the run with the reason when a secrets file is broken (fail closed)."""
    problem = secrets_problem()
    if problem is not None:
        st.error(plain(problem), icon="🛠️")
        st.stop()


def given_tokens() -> tuple[str, ...]:
    """The ``token=`` values of this run: the URL's, or else the one this session presented."""
    given = tuple(st.query_params.get_all(TOKEN_PARAM))
    if given:
        return given
    remembered = st.session_state.get(TOKEN_KEY)
    return (remembered,) if remembered else ()


def access_decision(page_kind: PageKind) -> Decision:
    """`decide` for this run (raises ConfigError when dashboard.toml is unusable)."""
    tokens = kiosk_tokens()
    given = given_tokens()
    decision = decide(
        page_kind,
        auth_configured=auth_configured(),
        logged_in=logged_in(),
        kiosk_tokens=tokens,
        given=given,
    )
    if decision == "open" and tokens and len(given) == 1 and token_allowed(given[0], tokens):
        # Kept server-side for the menu's links, which drop the query string; checked again
        # on every run like a token in the URL.
        st.session_state[TOKEN_KEY] = given[0]
    return decision


def require_access(page_kind: PageKind) -> None:
    """Let the run continue, or show the sign-in / denied screen and stop it (no data read)."""
    require_readable_secrets()
    try:
        decision = access_decision(page_kind)
    except ConfigError as exc:
        # Fail closed: without the config we cannot tell a valid token from a guess.
        show_config_error(exc)
        st.stop()
    if decision == "open":
        return
    if decision == "denied":
        st.error(DENIED, icon="🔒")
        st.stop()
    sign_in_screen()
    st.stop()


def still_allowed(page_kind: PageKind) -> bool:
    """Whether this viewer may still see data: a token deleted, a secrets file broken or a
    config made unusable since the page loaded all mean no."""
    try:
        return secrets_problem() is None and access_decision(page_kind) == "open"
    except ConfigError:
        return False


LOADING = "Loading…"
# The session state key of the "Pause live updates" switch (ui/layout.py).
PAUSED_KEY = "live_paused"


def live_fragment(
    run_every: float | None = None, *, page_kind: PageKind = "page"
) -> Callable[[F], F]:
    """``@st.fragment(run_every=...)`` that re-checks access at the start of every rerun.

    A fragment's timed reruns skip the script above it, so `require_access` never sees them:
    without this, a wall whose token was deleted would keep updating for weeks. When access
    is gone the whole app reruns, and `require_access` shows the sign-in or denied screen in
    place of the data.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not still_allowed(page_kind):
                st.rerun(scope="app")
            if page_kind == "wall":  # a kiosk keeps its last board on screen while it redraws
                return func(*args, **kwargs)
            # Shown only when the run takes over half a second (Streamlit's spinner waits that
            # long): a first load waiting for the collector's first poll, a past range read from
            # history, a drill-down question the tenant is slow to answer.
            with st.spinner(LOADING, show_time=True):
                return func(*args, **kwargs)

        # A viewer who paused live updates (ui/layout.py) gets no timed reruns until resumed;
        # a wall is never paused.
        paused = page_kind == "page" and bool(st.session_state.get(PAUSED_KEY))
        every = None if paused else run_every
        return st.fragment(guarded, run_every=every)  # type: ignore[return-value]

    return decorate


def sign_in_screen() -> None:
    st.title("Sign in")
    st.info(SIGN_IN_NEEDED, icon="🔒")
    if st.button("Sign in", type="primary", key="auth_sign_in"):
        try:
            st.login()
        except StreamlitAuthError as exc:
            # Authlib missing or an incomplete [auth] section: say what to fix, never the values.
            st.error(sign_in_problem(exc), icon="🛠️")


def sign_in_problem(exc: StreamlitAuthError) -> str:
    if "Authlib" in str(exc):
        return (
            "Sign-in is configured but the Authlib package is missing: "
            "pip install 'Authlib>=1.3.2' (or streamlit[auth]) and restart the dashboard."
        )
    return (
        "Sign-in is configured but the [auth] section of .streamlit/secrets.toml is incomplete: "
        "it needs redirect_uri, cookie_secret, client_id, client_secret and "
        "server_metadata_url (see docs/deployment.md)."
    )


def account_menu() -> None:
    """'Signed in as …' and a sign-out button, when sign-in is on and someone is signed in."""
    if not (auth_configured() and logged_in()):
        return
    who = st.user.get("email") or st.user.get("name") or "you"
    left, right = st.columns([5, 1], vertical_alignment="center")
    with left:
        st.caption(plain(f"Signed in as {who}"))
    with right:
        if st.button("Sign out", key="auth_sign_out"):
            st.logout()
