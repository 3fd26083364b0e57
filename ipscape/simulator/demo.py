"""The embedded demo's tenant, in one place: the dashboard's demo and
`python -m ipscape.simulator --demo` both serve `demo_config()`.

A centre having a mixed day rather than the default's steady one: the default call volume
spread over eight campaigns (six inbound), just enough agents to cope, callers a little more
patient (3 min), arrivals in bursts and the odd surge, so queues build and drain in the busy
hour the clock starts at; a few callers leave a message, and voicemails are called back, mostly
by outbound agents, or their callers ring again. The seed picks the day: seed 6's 10:30-11:00
has a caller waiting somewhere most of the time, a service level near 77 % and about 9 %
abandoned since midnight (tests/test_demo.py checks the queues).
"""

from __future__ import annotations

from .config import SimulatorConfig


def demo_config() -> SimulatorConfig:
    """A fresh copy of the demo tenant's settings (a config is mutable, so none is shared)."""
    return SimulatorConfig(
        seed=6,
        campaigns=8,
        agents=62,
        patience_s=180.0,
        burst_minutes=4.0,
        surges_per_hour=1.5,
        surge_calls=(4, 9),
        message_share=0.03,
        callback_share=0.85,
        recall_share=0.08,
        callback_minutes=20.0,
    )
