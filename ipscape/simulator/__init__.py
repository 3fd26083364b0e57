"""A stand-in ipSCAPE tenant over real HTTP, for the demo, the tests and the benchmarks.

    with start_simulator(SimulatorConfig(seed=7)) as sim:
        httpx.get(sim.api_root + "/v3.0/campaigns", auth=(sim.token, sim.keys[0]))

Control routes (outside the API): GET /_simulator/stats, POST /_simulator/stats/reset,
GET|POST|DELETE /_simulator/faults, POST /_simulator/advance, POST /_simulator/surge,
GET /_simulator/state. See docs in app.py for the fault kinds. `demo_config()` is the tenant the
dashboard's embedded demo serves (and `python -m ipscape.simulator --demo`).
"""

from __future__ import annotations

from .config import OPERATIONS, SCALES, SimulatorConfig
from .demo import demo_config
from .server import RunningSimulator, start_simulator

__all__ = [
    "OPERATIONS",
    "SCALES",
    "RunningSimulator",
    "SimulatorConfig",
    "demo_config",
    "start_simulator",
]
