"""python -m ipscape.simulator: serve a simulated tenant in the foreground (Ctrl-C stops it).

--demo serves the embedded demo's tenant (demo.py); options given with it override its settings.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .app import SimulatorApp
from .config import SCALES, SimulatorConfig
from .demo import demo_config
from .model import ContactCentre
from .server import bind_socket, make_server


def _start_time(value: str) -> str:
    if value != "now" and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
        raise argparse.ArgumentTypeError("use HH:MM or now")
    return value


# Tenant-shaping options: their defaults apply unless --demo is given, when the demo's do;
# either way an option given on the command line wins.
DEFAULTS = {
    "seed": 1,
    "scale": "small",
    "start_time": "10:30",
    "speed": 1.0,
    "timezone": "Australia/Sydney",
    "token": "demo-token",
    "keys": "demo-key-1,demo-key-2",
}


def parse_args(argv: list[str] | None = None) -> tuple[SimulatorConfig, str, int]:
    installed = Path(sys.argv[0]).name == "ipscape-simulator"  # the console script
    parser = argparse.ArgumentParser(
        prog="ipscape-simulator" if installed else "python -m ipscape.simulator",
        description="Serve a simulated ipSCAPE tenant.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="serve the tenant the dashboard's embedded demo serves (bursts, surges, voicemail "
        "call-backs); any other option given explicitly overrides that setting",
    )
    parser.add_argument("--seed", type=int, help=f"default {DEFAULTS['seed']}")
    parser.add_argument("--scale", choices=sorted(SCALES), help="default small")
    parser.add_argument("--campaigns", type=int)
    parser.add_argument("--agents", type=int)
    parser.add_argument("--calls-per-day", type=int)
    parser.add_argument("--start-time", type=_start_time, help="HH:MM or now (default 10:30)")
    parser.add_argument("--speed", type=float, help="default 1.0")
    parser.add_argument("--timezone", help="default Australia/Sydney")
    parser.add_argument("--token", help="default demo-token")
    parser.add_argument("--keys", help="KEY1,KEY2 (default demo-key-1,demo-key-2)")
    parser.add_argument("--hostile-names", action="store_true")
    args = parser.parse_args(argv)
    given = {name: value for name, value in vars(args).items() if value is not None}
    if not args.demo:
        given = {**DEFAULTS, **given}
    fields: dict[str, Any] = {}
    if "scale" in given:
        fields.update(SCALES[given["scale"]])
    for name in ("seed", "campaigns", "agents", "calls_per_day", "start_time", "speed"):
        if name in given:
            fields[name] = given[name]
    for name in ("timezone", "token"):
        if name in given:
            fields[name] = given[name]
    if "keys" in given:
        keys = given["keys"].split(",")
        if len(keys) != 2 or not all(keys):
            parser.error("--keys takes exactly two comma-separated keys")
        fields["keys"] = (keys[0], keys[1])
    if args.hostile_names:
        fields["hostile_names"] = True
    base = demo_config() if args.demo else SimulatorConfig()
    return replace(base, **fields), args.host, args.port


def main(argv: list[str] | None = None) -> int:
    config, host, port = parse_args(argv)
    app = SimulatorApp(ContactCentre(config))
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    # Demo credentials only (documented in the README); real tenants' secrets never pass here.
    print(
        f"ipSCAPE simulator: IPSCAPE_BASE_URL=http://{shown}:{bound_port}/platform-api "
        f"token={config.token} keys={','.join(config.keys)}",
        flush=True,
    )
    server = make_server(app)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
