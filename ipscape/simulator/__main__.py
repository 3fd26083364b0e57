"""python -m ipscape.simulator: serve a simulated tenant in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .app import SimulatorApp
from .config import SCALES, SimulatorConfig
from .model import ContactCentre
from .server import bind_socket, make_server


def _start_time(value: str) -> str:
    if value != "now" and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value):
        raise argparse.ArgumentTypeError("use HH:MM or now")
    return value


def parse_args(argv: list[str] | None = None) -> tuple[SimulatorConfig, str, int]:
    installed = Path(sys.argv[0]).name == "ipscape-simulator"  # the console script
    parser = argparse.ArgumentParser(
        prog="ipscape-simulator" if installed else "python -m ipscape.simulator",
        description="Serve a simulated ipSCAPE tenant.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--campaigns", type=int)
    parser.add_argument("--agents", type=int)
    parser.add_argument("--calls-per-day", type=int)
    parser.add_argument("--start-time", type=_start_time, default="10:30", help="HH:MM or now")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--timezone", default="Australia/Sydney")
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--keys", default="demo-key-1,demo-key-2", help="KEY1,KEY2")
    parser.add_argument("--hostile-names", action="store_true")
    args = parser.parse_args(argv)
    keys = args.keys.split(",")
    if len(keys) != 2 or not all(keys):
        parser.error("--keys takes exactly two comma-separated keys")
    sizes = dict(SCALES[args.scale])
    for name in ("campaigns", "agents", "calls_per_day"):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    config = SimulatorConfig(
        seed=args.seed,
        start_time=args.start_time,
        timezone=args.timezone,
        speed=args.speed,
        token=args.token,
        keys=(keys[0], keys[1]),
        hostile_names=args.hostile_names,
        **sizes,
    )
    return config, args.host, args.port


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
