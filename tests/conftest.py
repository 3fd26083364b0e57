"""Shared fixtures: simulated tenants over real HTTP, always stopped at teardown.

Simulators made here run with a frozen clock (speed=0): time moves only through
`sim.advance(seconds)`, so tests never depend on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    """A fresh small tenant for one test; inject faults freely."""
    sim = start_simulator(SimulatorConfig(speed=0))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def shared_simulator() -> Iterator[RunningSimulator]:
    """One small tenant for the whole session: read-only tests only, never inject faults."""
    sim = start_simulator(SimulatorConfig(speed=0))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., RunningSimulator]]:
    """`sim_factory(**SimulatorConfig kwargs)` starts a tenant (frozen clock unless `speed=`)."""
    started: list[RunningSimulator] = []

    def make(**kwargs: Any) -> RunningSimulator:
        kwargs.setdefault("speed", 0)
        sim = start_simulator(SimulatorConfig(**kwargs))
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            sim.stop()
