"""Configuration problems on screen (shared by the access check and every screen's header)."""

from __future__ import annotations

import streamlit as st

from ipscape.errors import ConfigError
from ipscape.presentation.freshness import config_error_help
from ipscape.presentation.text import plain


def show_config_error(exc: ConfigError) -> None:
    st.error(plain(f"Configuration problem: {exc}"), icon="🛠️")
    st.info(plain(config_error_help(exc)))
