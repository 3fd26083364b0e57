"""Helpers for tests of the Streamlit app (fixtures live in conftest.py)."""

from __future__ import annotations

import pytest

from ipscape.simulator import RunningSimulator


def point_app_at(
    sim: RunningSimulator, monkeypatch: pytest.MonkeyPatch, *, both_keys: bool = True
) -> None:
    """Configure the app for ``sim`` through the documented IPSCAPE_* environment variables."""
    monkeypatch.setenv("IPSCAPE_BASE_URL", sim.api_root)
    monkeypatch.setenv("IPSCAPE_API_TOKEN", sim.token)
    monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", sim.keys[0])
    if both_keys:
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_2", sim.keys[1])
