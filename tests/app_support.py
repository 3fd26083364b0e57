"""Helpers for tests of the Streamlit app (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

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
