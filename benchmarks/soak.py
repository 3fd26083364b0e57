"""Soak the wall display: many fragment reruns over several sessions, and the memory they cost.

A wall runs for weeks, so what matters is that memory is flat: whatever a rerun or a session
allocates must be given back. Two modes, both against the simulator:

- ``browser`` (default): `streamlit run dashboard.py` as a subprocess, several headless Chromium
  tabs on a rotating kiosk URL (every view is rendered in turn), one tab closed and a new one
  opened every ``--churn-s`` seconds. The server's RSS is read from /proc every 10 s.
- ``apptest``: the wall page re-run in-process with AppTest by several sessions in a loop
  (thousands of reruns in a few minutes, no browser); this process's own RSS is measured.
- ``gc``: the garbage-collector configurations of benchmarks/viewer_cpu.py (``--variants``), one
  server each, side by side against one simulator (10 campaigns, 100 agents, 20,000 calls a day,
  every feed polled every 8 s). Each server keeps ``--sessions`` websocket viewers
  (tests/ws_viewer.py) cycling over every page and the rotating wall, and every ``--churn-s``
  closes its oldest session and opens a new one. RSS is read every 10 s; inside each server
  benchmarks/gc_probe/sitecustomize.py logs the collector's counts (collections per generation,
  objects held, frozen, live AppSession and DataFrame objects), which shows whether the cycles of
  closed sessions and old frames are collected without ``runner.postScriptGC``.

Prints RSS at the start (after a warm-up) and at the end, the growth, and the slope of a
least-squares line through all samples (KiB per minute), the medians of the first and last
quarter of the samples (robust to the allocator's ~1 MiB noise), and bytes per rerun.
Not part of the test suite.

    python benchmarks/soak.py --minutes 3 --sessions 4
    python benchmarks/soak.py --mode apptest --minutes 2 --sessions 3
    python benchmarks/soak.py --mode gc --minutes 25 --sessions 8 --churn-s 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.viewer_cpu import VARIANTS  # noqa: E402
from ipscape.presentation.wall import board_tick_s  # noqa: E402
from ipscape.simulator import SimulatorConfig, start_simulator  # noqa: E402
from tests.app_support import afternoon_zone  # noqa: E402
from tests.browser_support import (  # noqa: E402
    StreamlitServer,
    chromium_path,
    dashboard_env,
    launch_chromium,
    rss_kib,
    running_dashboard,
    write_dashboard_config,
)
from tests.ws_viewer import Viewer  # noqa: E402

TZ = "Australia/Sydney"
KIOSK_ROTATE_S = 5
KIOSK_PATH = f"/?kiosk=1&rotate={KIOSK_ROTATE_S}&theme=dark"
SAMPLE_S = 10.0
WARMUP_S = 20.0


def slope_per_minute(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, KiB) samples, in KiB per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 60.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(
    label: str,
    samples: list[tuple[float, int]],
    reruns: int,
    sessions_seen: int,
    cpu_s: float,
    warmup_s: float = WARMUP_S,
) -> None:
    start, end = samples[0][1], samples[-1][1]
    minutes = (samples[-1][0] - samples[0][0]) / 60 or 1e-9
    quarter = max(1, len(samples) // 4)
    first_q = statistics.median(m for _, m in samples[:quarter])
    last_q = statistics.median(m for _, m in samples[-quarter:])
    print(f"\n== soak: {label} ==")
    for t, kib in samples:
        print(f"  t={t:6.0f} s  rss={kib / 1024:7.1f} MiB")
    print(f"sessions opened      : {sessions_seen}")
    print(f"fragment reruns      : {reruns}")
    print(f"measured for         : {minutes:.1f} min (after {warmup_s:.0f} s warm-up)")
    print(f"RSS start -> end     : {start / 1024:.1f} MiB -> {end / 1024:.1f} MiB")
    growth = end - start
    print(f"growth               : {growth / 1024:+.1f} MiB ({growth / minutes:+.0f} KiB/min)")
    print(f"least-squares slope  : {slope_per_minute(samples):+.0f} KiB/min (RSS noise is ~1 MiB)")
    print(f"median, 1st -> last quarter: {first_q / 1024:.1f} -> {last_q / 1024:.1f} MiB")
    if reruns:
        print(f"growth per rerun     : {(end - start) * 1024 / reruns:+.0f} bytes")
        print(
            f"CPU per rerun        : {cpu_s / reruns * 1000:.1f} ms (process total {cpu_s:.1f} s)"
        )


def soak_browser(minutes: float, sessions: int, churn_s: float) -> None:
    if chromium_path() is None:
        sys.exit("no Chromium installed: use --mode apptest")
    from playwright.sync_api import sync_playwright

    now = datetime.now(ZoneInfo(TZ)).strftime("%H:%M")
    sim = start_simulator(SimulatorConfig(speed=1, start_time=now, timezone=TZ))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    frames = {"count": 0}

    def count_frames(ws) -> None:  # type: ignore[no-untyped-def]
        ws.on("framereceived", lambda _payload: frames.__setitem__("count", frames["count"] + 1))

    try:
        with (
            tempfile.TemporaryDirectory(prefix="wall-soak-") as tmp,
            running_dashboard(sim.api_root, Path(tmp)) as server,
            sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                context.on("page", lambda page: page.on("websocket", count_frames))
                pages = []
                opened = 0
                for _ in range(sessions):
                    page = context.new_page()
                    page.goto(server.url + KIOSK_PATH)
                    pages.append(page)
                    opened += 1
                pages[0].wait_for_selector('[class*="st-key-wall-tile-"]', timeout=60_000)
                pages[0].wait_for_timeout(WARMUP_S * 1000)
                t0 = time.monotonic()
                frames_at_start = frames["count"]
                cpu_at_start = cpu_seconds(server.pid)
                samples = [(0.0, rss_kib(server.pid))]
                next_churn = churn_s
                end = minutes * 60
                while (elapsed := time.monotonic() - t0) < end:
                    # Waiting inside Playwright keeps its event loop (and the pages) running.
                    pages[-1].wait_for_timeout(min(SAMPLE_S, end - elapsed) * 1000)
                    elapsed = time.monotonic() - t0
                    samples.append((elapsed, rss_kib(server.pid)))
                    if churn_s and elapsed >= next_churn:
                        pages.pop(0).close()
                        page = context.new_page()
                        page.goto(server.url + KIOSK_PATH)
                        pages.append(page)
                        opened += 1
                        next_churn += churn_s
                # Each fragment rerun arrives as a few dozen websocket frames (one per element
                # plus script events); reruns are counted as sessions x ticks.
                reruns = int(sessions * samples[-1][0] / board_tick_s(KIOSK_ROTATE_S))
                print(f"websocket frames received by the tabs: {frames['count'] - frames_at_start}")
                report(
                    f"browser, {sessions} tabs, server pid {server.pid}",
                    samples,
                    reruns,
                    opened,
                    cpu_seconds(server.pid) - cpu_at_start,
                )
            finally:
                browser.close()
    finally:
        sim.stop()


def soak_apptest(minutes: float, sessions: int) -> None:
    from streamlit.testing.v1 import AppTest

    now = datetime.now(ZoneInfo(TZ)).strftime("%H:%M")
    sim = start_simulator(SimulatorConfig(speed=1, start_time=now, timezone=TZ))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory(prefix="wall-soak-") as tmp:
            config = write_dashboard_config(
                Path(tmp) / "dashboard.toml", history=Path(tmp) / "history.sqlite"
            )
            os.environ.update(
                {k: v for k, v in dashboard_env(sim.api_root, config).items() if "IPSCAPE" in k}
            )
            apps = []
            for _ in range(sessions):
                at = AppTest.from_file(str(REPO / "screens" / "wall.py"), default_timeout=60)
                at.query_params.update({"kiosk": "1", "rotate": str(KIOSK_ROTATE_S)})
                apps.append(at)
            pid = os.getpid()
            warm_end = time.monotonic() + WARMUP_S
            while time.monotonic() < warm_end:
                for at in apps:
                    at.run()
            t0 = time.monotonic()
            cpu_at_start = cpu_seconds(pid)
            samples = [(0.0, rss_kib(pid))]
            reruns = 0
            next_sample = SAMPLE_S
            while (elapsed := time.monotonic() - t0) < minutes * 60:
                for at in apps:
                    at.run()
                    if at.exception:
                        sys.exit(f"the wall raised: {at.exception[0].value}")
                    reruns += 1
                if elapsed >= next_sample:
                    samples.append((elapsed, rss_kib(pid)))
                    next_sample += SAMPLE_S
            samples.append((time.monotonic() - t0, rss_kib(pid)))
            report(
                f"apptest, {sessions} sessions, pid {pid}",
                samples,
                reruns,
                sessions,
                cpu_seconds(pid) - cpu_at_start,
            )
    finally:
        from ui import runtime

        runtime.reset()
        sim.stop()


# --gc mode: every page in turn, the wall rotating through all of its views.
GC_PAGES = (
    ("", ""),
    ("wall", f"kiosk=1&rotate={KIOSK_ROTATE_S}"),
    ("agents", ""),
    ("wait-times", ""),
    ("voicemail", ""),
    ("transfers", ""),
    ("drilldown", ""),
)
GC_PROBE = REPO / "benchmarks" / "gc_probe"
GC_WARMUP_S = 60.0
GC_TENANT = {"campaigns": 10, "agents": 100, "calls_per_day": 20_000}


class GcSoakServer:
    """One configuration's server, its sessions, its RSS samples and its probe's lines."""

    def __init__(self, name: str, api_root: str, workdir: Path) -> None:
        self.name = name
        folder = workdir / name.replace("+", "-")
        folder.mkdir()
        config = write_dashboard_config(folder / "dashboard.toml", history=folder / "h.sqlite")
        args, freeze = VARIANTS[name]
        env = dashboard_env(api_root, config)
        self.probe_path = folder / "gc.jsonl"
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(GC_PROBE), env.get("PYTHONPATH", "")]),
                "IPSCAPE_GC_PROBE": str(self.probe_path),
                "IPSCAPE_GC_PROBE_S": str(SAMPLE_S),
                "IPSCAPE_GC_FREEZE": freeze,
            }
        )
        self.server = StreamlitServer(
            env, folder / "streamlit.log", args=("--logger.level", "info", *args)
        )
        self.sessions: list[Viewer] = []
        self.opened = 0
        self.runs_closed = 0
        self.samples: list[tuple[float, int]] = []

    def open_one(self) -> None:
        path, query = GC_PAGES[self.opened % len(GC_PAGES)]
        self.opened += 1
        self.sessions.append(Viewer(self.server.port, path, query).open())

    def close_oldest(self) -> None:
        viewer = self.sessions.pop(0)
        self.runs_closed += viewer.full_runs + viewer.fragment_runs
        viewer.close()

    def runs(self) -> int:
        return self.runs_closed + sum(v.full_runs + v.fragment_runs for v in self.sessions)

    def probes(self) -> list[dict]:  # type: ignore[type-arg]
        with contextlib.suppress(OSError):
            text = self.probe_path.read_text(encoding="utf-8")
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return []


def gc_summary(entry: GcSoakServer, t0_wall: float, cpu_s: float) -> None:
    probes = [p for p in entry.probes() if p["at"] >= t0_wall]
    runs = entry.runs()
    label = f"{entry.name}, server pid {entry.server.pid}"
    report(label, entry.samples, runs, entry.opened, cpu_s, GC_WARMUP_S)
    if len(probes) < 2:
        return
    first, last = probes[0], probes[-1]
    minutes = (last["at"] - first["at"]) / 60 or 1e-9
    for gen in range(3):
        done = last["stats"][gen]["collections"] - first["stats"][gen]["collections"]
        freed = last["stats"][gen]["collected"] - first["stats"][gen]["collected"]
        print(
            f"gen{gen} collections  : {done / minutes:8.1f}/min, {freed / minutes:9.0f} objects/min"
        )
    held = [sum(p["generations"]) for p in probes]
    print(f"objects tracked (not frozen): {held[0]} -> {held[-1]} (max {max(held)})")
    print(f"frozen / uncollectable: {last['frozen']} / {last['garbage']}")
    for name in last["types"]:
        series = [p["types"][name] for p in probes]
        print(f"  live {name:<13}: {series[0]} -> {series[-1]} (max {max(series)})")
    print(f"  sessions open at the end: {len(entry.sessions)}")


def soak_gc(minutes: float, sessions: int, churn_s: float, variants: list[str]) -> None:
    zone = afternoon_zone()
    now = datetime.now(ZoneInfo(zone)).strftime("%H:%M")
    sim = start_simulator(SimulatorConfig(speed=1, start_time=now, timezone=zone, **GC_TENANT))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="ipscape-gc-soak-"))
    print(
        f"logs in {workdir}; {minutes:.0f} min, {sessions} sessions per server, churn {churn_s} s"
    )
    servers = [GcSoakServer(name, sim.api_root, workdir) for name in variants]
    try:
        for entry in servers:
            entry.server.start()
        for entry in servers:
            for _ in range(sessions):
                entry.open_one()
        time.sleep(GC_WARMUP_S)
        t0, t0_wall = time.monotonic(), time.time()
        cpu0 = {e.name: cpu_seconds(e.server.pid) for e in servers}
        for entry in servers:
            entry.samples.append((0.0, rss_kib(entry.server.pid)))
        next_sample, next_churn, next_print = SAMPLE_S, churn_s, 60.0
        while (elapsed := time.monotonic() - t0) < minutes * 60:
            time.sleep(max(0.0, min(next_sample, next_churn) - elapsed))
            elapsed = time.monotonic() - t0
            if churn_s and elapsed >= next_churn:
                for entry in servers:
                    entry.close_oldest()
                    entry.open_one()
                next_churn += churn_s
            if elapsed >= next_sample:
                for entry in servers:
                    entry.samples.append((elapsed, rss_kib(entry.server.pid)))
                next_sample += SAMPLE_S
                if elapsed >= next_print:
                    next_print += 60.0
                    rss = ", ".join(f"{e.name} {e.samples[-1][1] / 1024:.0f}" for e in servers)
                    print(f"  t={elapsed / 60:4.1f} min  RSS MiB: {rss}", flush=True)
        for entry in servers:
            gc_summary(entry, t0_wall, cpu_seconds(entry.server.pid) - cpu0[entry.name])
        print("\nRSS MiB per minute (median of the minute's samples)")
        print(f"{'min':>5} " + " ".join(f"{e.name:>12}" for e in servers))
        for minute in range(int(minutes) + 1):
            cells = []
            for e in servers:
                inside = [kib for t, kib in e.samples if minute * 60 <= t < (minute + 1) * 60]
                cells.append(f"{statistics.median(inside) / 1024:12.1f}" if inside else " " * 12)
            print(f"{minute:>5} " + " ".join(cells))
    finally:
        for entry in servers:
            for viewer in entry.sessions:
                with contextlib.suppress(Exception):
                    viewer.close()
            entry.server.stop()
        sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("browser", "apptest", "gc"), default="browser")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument(
        "--churn-s", type=float, default=30.0, help="browser: replace a tab this often (0 = never)"
    )
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="gc mode"
    )
    args = parser.parse_args()
    if args.mode == "gc":
        soak_gc(args.minutes, args.sessions, args.churn_s, args.variants)
    elif args.mode == "browser":
        soak_browser(args.minutes, args.sessions, args.churn_s)
    else:
        soak_apptest(args.minutes, args.sessions)


if __name__ == "__main__":
    main()
