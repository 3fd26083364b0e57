"""Server CPU per viewer-minute: the overview and the wall, per garbage-collector configuration.

    python -m benchmarks.viewer_cpu [--seconds 120] [--viewers 1 10] [--pages overview wall]
                                    [--variants default nogc freeze freeze+nogc] [--repeat 1]

Starts one ``streamlit run dashboard.py`` per configuration, all at once and side by side on
127.0.0.1 (no tenant settings: each serves its embedded simulator, with dashboard.toml's default
intervals), so every configuration sees the same machine load at the same moments. The
configurations:

- ``default``: Streamlit's defaults, ``runner.postScriptGC`` on (a full ``gc.collect(2)`` after
  every script and fragment run), nothing frozen (``IPSCAPE_GC_FREEZE=0``);
- ``nogc``: ``--runner.postScriptGC false``: only Python's own generational collections;
- ``freeze``: the server freezes what it holds at boot (ui/server.py's `freeze_libraries`), so
  the collections after each run skip the libraries' objects; postScriptGC on;
- ``freeze+nogc``: both.

Each phase holds the same number of websocket viewers (tests/ws_viewer.py: live like a browser
tab, re-sending every fragment rerun the page asks for) on one page of every server, waits for
their first run, then reads each server's CPU (user + system from /proc/<pid>/stat) over
``--seconds``. A phase with no viewer gives what the collector and the simulator cost by
themselves; the table shows, per configuration, CPU seconds per viewer-minute above that idle
phase, fragment runs per viewer-minute, and CPU per fragment run (the viewers' CPU divided by
their runs). The goal is 0.3 s per viewer-minute or less (200 viewers per core). Machine noise
moves all columns of a row together; compare within a row. Not part of the test suite: it
prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser_support import StreamlitServer, demo_env  # noqa: E402
from tests.scale_support import cpu_seconds  # noqa: E402
from tests.ws_viewer import Viewer  # noqa: E402

# (extra `streamlit run` options, IPSCAPE_GC_FREEZE)
VARIANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "default": (("--runner.postScriptGC", "true"), "0"),
    "nogc": (("--runner.postScriptGC", "false"), "0"),
    "freeze": (("--runner.postScriptGC", "true"), "1"),
    "freeze+nogc": (("--runner.postScriptGC", "false"), "1"),
}
# URL path and query of each page, as a browser opens them.
PAGES = {"overview": ("", ""), "wall": ("wall", "kiosk=1")}
FIRST_RUN_S = 120.0
SETTLE_S = 5.0  # after every viewer's first run, before the counters are read
# Before the first phase: the first polls load the day's activities.
WARMUP_S = 45.0
FROZEN = r"Frozen at boot: (\d+) objects"
CONFIG = """title = "Viewer CPU benchmark"

[history]
path = {history}
"""


@dataclass
class Server:
    name: str
    server: StreamlitServer
    idle_cpu_per_min: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.server.pid


@dataclass(frozen=True)
class Phase:
    page: str
    viewers: int
    cpu_per_min: dict[str, float]  # variant -> server CPU s per minute
    runs_per_min: dict[str, float]  # variant -> fragment runs per minute, all viewers


def start_servers(names: Sequence[str], workdir: Path) -> list[Server]:
    servers = []
    for name in names:
        folder = workdir / name.replace("+", "-")
        folder.mkdir()
        config = folder / "dashboard.toml"
        history = json.dumps((folder / "history.sqlite").as_posix())
        config.write_text(CONFIG.format(history=history), encoding="utf-8")
        args, freeze = VARIANTS[name]
        env = demo_env(config)
        env["IPSCAPE_GC_FREEZE"] = freeze
        server = StreamlitServer(
            env, folder / "streamlit.log", args=("--logger.level", "info", *args)
        )
        servers.append(Server(name, server))
    for entry in servers:
        entry.server.start(FIRST_RUN_S)
    return servers


@contextlib.contextmanager
def viewers(servers: Sequence[Server], page: str, count: int) -> Iterator[dict[str, list[Viewer]]]:
    path, query = PAGES[page]
    with contextlib.ExitStack() as stack:
        opened = {
            s.name: [stack.enter_context(Viewer(s.server.port, path, query)) for _ in range(count)]
            for s in servers
        }
        for group in opened.values():
            for viewer in group:
                viewer.wait_runs(1, FIRST_RUN_S)
                viewer.wait_text(r"updated \d+ s ago", FIRST_RUN_S)
        yield opened


def measure(servers: Sequence[Server], page: str, count: int, seconds: float) -> Phase:
    with viewers(servers, page, count) as opened:
        time.sleep(SETTLE_S)
        t0 = time.monotonic()
        cpu0 = {s.name: cpu_seconds(s.pid) for s in servers}
        runs0 = {name: sum(v.fragment_runs for v in group) for name, group in opened.items()}
        time.sleep(seconds)
        minutes = (time.monotonic() - t0) / 60
        cpu = {s.name: (cpu_seconds(s.pid) - cpu0[s.name]) / minutes for s in servers}
        runs = {
            name: (sum(v.fragment_runs for v in group) - runs0[name]) / minutes
            for name, group in opened.items()
        }
    return Phase(page, count, cpu, runs)


def frozen_count(server: Server) -> str:
    with contextlib.suppress(TimeoutError, RuntimeError):
        return server.server.wait_for_log(FROZEN, 0).group(1)
    return "-"


def report(servers: Sequence[Server], idle: list[Phase], phases: list[Phase]) -> None:
    names = [s.name for s in servers]
    idle_cpu = {n: sum(p.cpu_per_min[n] for p in idle) / len(idle) for n in names}
    width = max(12, *(len(n) + 2 for n in names))
    head = " ".join(f"{n:>{width}}" for n in names)
    print("\nobjects frozen at boot: " + ", ".join(f"{s.name} {frozen_count(s)}" for s in servers))
    print("idle server CPU s/min (collector + simulator, no viewer): ", end="")
    print(", ".join(f"{n} {idle_cpu[n]:.2f}" for n in names))
    for title, value in (
        ("CPU s per viewer-minute (above idle)", "per_viewer"),
        ("fragment runs per viewer-minute", "runs"),
        ("CPU ms per fragment run (above idle)", "per_run"),
        ("server CPU s/min, total", "total"),
    ):
        print(f"\n{title}")
        print(f"{'page':>9} {'viewers':>7} {head}")
        for phase in phases:
            cells = []
            for n in names:
                above = phase.cpu_per_min[n] - idle_cpu[n]
                runs = phase.runs_per_min[n]
                cell = {
                    "per_viewer": above / phase.viewers,
                    "runs": runs / phase.viewers,
                    "per_run": 1000 * above / runs if runs else float("nan"),
                    "total": phase.cpu_per_min[n],
                }[value]
                cells.append(f"{cell:>{width}.{1 if value == 'per_run' else 3}f}")
            print(f"{phase.page:>9} {phase.viewers:>7} {' '.join(cells)}")
    base = names[0]
    print(f"\nratio {base} / each (CPU per viewer-minute):")
    for phase in phases:
        b = phase.cpu_per_min[base] - idle_cpu[base]
        ratios = []
        for n in names[1:]:
            above = phase.cpu_per_min[n] - idle_cpu[n]
            ratios.append(f"{n} {b / above:.1f}x" if above > 0 else f"{n} n/a")
        print(f"{phase.page:>9} {phase.viewers:>7}  " + ", ".join(ratios))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each phase")
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=["overview", "wall"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1, help="run every phase this many times")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="ipscape-viewer-cpu-"))
    print(f"logs in {workdir}; {args.seconds:.0f} s per phase; configurations {args.variants}")
    servers: list[Server] = []
    try:
        servers = start_servers(args.variants, workdir)
        time.sleep(WARMUP_S)
        idle: list[Phase] = []
        phases: list[Phase] = []
        for _ in range(args.repeat):
            idle.append(measure(servers, args.pages[0], 0, args.seconds))
            print("  idle measured", flush=True)
            for page in args.pages:
                for count in args.viewers:
                    phases.append(measure(servers, page, count, args.seconds))
                    print(f"  {page} x{count} measured", flush=True)
        report(servers, idle, phases)
    finally:
        for entry in servers:
            entry.server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
