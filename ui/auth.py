"""Who may see what: OIDC sign-in for people, revocable read-only tokens for wall displays.

Three set-ups, decided by configuration alone:
- nothing configured (the demo, or a dashboard behind a reverse proxy that authenticates):
  every page is open;
- an ``[auth]`` section in ``.streamlit/secrets.toml``: Streamlit's built-in OIDC sign-in
  (``st.login``; needs the Authlib package) guards every page;
- ``wall.kiosk_tokens`` in dashboard.toml: a wall display opens ``/wall?kiosk=1&token=...``
  instead of signing in. A token works for the wall only, is compared in constant time, never
  shown, and is revoked by deleting it from dashboard.toml (read again when the file changes, so
  no restart is needed).

`decide` is the whole policy as a pure function; `require_access` applies it to the current run
and stops the script, before any data is read, when access is not granted.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st
from streamlit.errors import StreamlitAuthError

from ipscape.errors import ConfigError
from ipscape.wall import token_allowed
from ui import runtime
from ui.tiles import plain

PageKind = Literal["page", "wall"]
Decision = Literal["open", "sign_in", "denied"]
AUTH_SECTION = "auth"
TOKEN_PARAM = "token"
DENIED = "Access denied: this wall needs a valid kiosk token (&token=...)."
SIGN_IN_NEEDED = "This dashboard is private. Sign in with your organisation account to see it."


def decide(
    page_kind: PageKind,
    *,
    auth_configured: bool,
    logged_in: bool,
    kiosk_tokens: tuple[str, ...],
    token: str | None,
) -> Decision:
    """The access policy. A valid kiosk token opens the wall only; a signed-in user sees
    everything; a wrong or revoked token is refused outright (a wall cannot sign in)."""
    wall_tokens = page_kind == "wall" and bool(kiosk_tokens)
    if wall_tokens and token and token_allowed(token, kiosk_tokens):
        return "open"
    if auth_configured and logged_in:
        return "open"
    if wall_tokens and token:
        return "denied"
    if auth_configured:
        return "sign_in"
    if wall_tokens:
        return "denied"
    return "open"


def auth_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (OIDC sign-in)."""
    try:
        return AUTH_SECTION in st.secrets
    except Exception:
        # No secrets file at all, or one that does not parse (Streamlit logs that itself).
        return False


def logged_in() -> bool:
    # st.user raises for a missing key; .get is the documented-safe read.
    return bool(st.user.get("is_logged_in", False))


def kiosk_tokens() -> tuple[str, ...]:
    """The configured kiosk tokens, as of the config file's last change (raises ConfigError),
    so a token the supervisor deletes stops working on the wall's next run."""
    return runtime.dashboard_config().wall.kiosk_tokens


def require_access(page_kind: PageKind) -> None:
    """Let the run continue, or show the sign-in / denied screen and stop it (no data read)."""
    if page_kind == "wall":
        try:
            tokens = kiosk_tokens()
        except ConfigError as exc:
            # Fail closed: without the config we cannot tell a valid token from a guess.
            from ui import layout

            layout.show_config_error(exc)
            st.stop()
    else:
        tokens = ()
    decision = decide(
        page_kind,
        auth_configured=auth_configured(),
        logged_in=logged_in(),
        kiosk_tokens=tokens,
        token=st.query_params.get(TOKEN_PARAM) or None,
    )
    if decision == "open":
        return
    if decision == "denied":
        st.error(DENIED, icon="🔒")
        st.stop()
    sign_in_screen()
    st.stop()


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
