"""Server-side cost of one page rerun: ours (cached snapshots) vs fetching in the page.

    python benchmarks/render.py [--scale large] [--repeat 5] [--naive-repeat 2] [--pages ...]

Each page of the dashboard is run with streamlit's AppTest against a simulated tenant of the
given scale, twice over in the same process:
- ours: the pages read snapshots from the process-wide pollers (LiveData), as in production;
- naive: the same page code, but every data call goes to the tenant through the client and is
  parsed into a frame again on every rerun (what a page that "just calls the API" would do).
Reported: median wall time of a rerun, the ratio naive/ours, and tenant requests per rerun
(from the simulator's own counter). Not part of the test suite: it prints, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ipscape import feeds, frames  # noqa: E402
from ipscape.clock import start_of_day  # noqa: E402
from ipscape.config import CONFIG_ENV  # noqa: E402
from ipscape.live import LiveData  # noqa: E402
from ipscape.simulator import SCALES, SimulatorConfig, start_simulator  # noqa: E402
from ipscape.snapshots import Snapshot  # noqa: E402
from ui import runtime  # noqa: E402

PAGES = ("overview", "wait_times", "agents", "voicemail", "transfers", "drilldown")


def _fresh(feed: str, frame: pd.DataFrame, interval_s: float) -> Snapshot:
    now = datetime.now(UTC)
    return Snapshot(feed, frame, now, "fresh", None, None, interval_s, now)


@dataclass
class FetchInPage:
    """The LiveData surface, answered by calling the tenant on every call (no cache)."""

    live: LiveData

    def __getattr__(self, name: str) -> Any:  # config, client, history, demo, budget, ...
        return getattr(self.live, name)

    def _today(self) -> list[dict[str, Any]]:
        since = start_of_day(datetime.now(UTC), self.live.config.display_timezone)
        return feeds.fetch_activity_items(self.live.client, since=since)

    def campaigns(self) -> Snapshot:
        frame = feeds.fetch_campaigns(self.live.client, self.live.config.campaigns)
        return _fresh("campaigns", frame, self.live.config.poll.campaigns_s)

    def agents(self) -> Snapshot:
        return _fresh("agents", feeds.fetch_agents(self.live.client), 10)

    def activities(self) -> Snapshot:
        return _fresh("activities", frames.activities_frame(self._today()), 30)

    def voicemail(self) -> Snapshot:
        return _fresh("voicemail", frames.voicemail_frame(self._today()), 30)

    def transfers(self) -> Snapshot:
        return _fresh("transfers", frames.transfers_frame(self._today()), 30)

    def query_activities(self, **filters: Any) -> Snapshot:
        agent_id = filters.pop("agent_id", None)
        since = filters.pop("since", None)
        until = filters.pop("until", None)
        items = feeds.fetch_activity_items(self.live.client, since=since, until=until, **filters)
        frame = frames.activities_frame(items)
        if agent_id is not None:
            frame = frame[(frame["agent_id"] == agent_id).fillna(False)]
        return _fresh("activities", frame, 30)

    def dial_attempts(self, lead_id: Any) -> Snapshot:
        items = feeds.fetch_activity_items(
            self.live.client, lead_id=lead_id, activity_type="call.outbound"
        )
        return _fresh("dial_attempts", frames.dial_attempts_frame(items), 30)


def _rerun_cost(page: str, repeat: int, sim: Any) -> tuple[float, float]:
    """(median seconds, tenant requests) per rerun of ``page`` after one warm-up run."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.run()
    if page != "overview":
        at.switch_page(f"screens/{page}.py")
    at.run()  # warm-up: the first run fills the pollers
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    times = []
    sim.reset_stats()
    for _ in range(repeat):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    requests = sim.stats()["total"] / repeat
    return statistics.median(times), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=sorted(SCALES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=2)
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=PAGES)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the simulator's access log would drown the figures

    work = Path(tempfile.mkdtemp(prefix="render-bench-"))
    config = work / "dashboard.toml"
    config.write_text(f"[history]\npath = {json.dumps(str(work / 'history.sqlite'))}\n")
    os.environ[CONFIG_ENV] = str(config)
    os.chdir(work)

    print(f"starting a '{args.scale}' simulator: {SCALES[args.scale]}", flush=True)
    started = time.perf_counter()
    sim = start_simulator(SimulatorConfig(speed=0, **SCALES[args.scale]))
    print(f"  ready in {time.perf_counter() - started:.1f} s", flush=True)
    os.environ.update(
        {
            "IPSCAPE_BASE_URL": sim.api_root,
            "IPSCAPE_API_TOKEN": sim.token,
            "IPSCAPE_SECRET_KEY_1": sim.keys[0],
            "IPSCAPE_SECRET_KEY_2": sim.keys[1],
        }
    )
    cached_live = runtime.live
    try:
        live = cached_live()
        naive = FetchInPage(live)
        rows = []
        for page in args.pages:
            runtime.live = cached_live  # type: ignore[assignment]
            ours_s, ours_req = _rerun_cost(page, args.repeat, sim)
            runtime.live = lambda: naive  # type: ignore[assignment]
            naive_s, naive_req = _rerun_cost(page, args.naive_repeat, sim)
            rows.append((page, ours_s, naive_s, ours_req, naive_req))
            print(
                f"{page:<11} ours {ours_s * 1000:8.1f} ms ({ours_req:5.1f} req)   "
                f"fetch-in-page {naive_s * 1000:9.1f} ms ({naive_req:6.1f} req)   "
                f"ratio {naive_s / ours_s:6.1f}x",
                flush=True,
            )
        total_ours = sum(r[1] for r in rows)
        total_naive = sum(r[2] for r in rows)
        print(
            f"all pages   ours {total_ours * 1000:8.1f} ms   fetch-in-page "
            f"{total_naive * 1000:9.1f} ms   ratio {total_naive / total_ours:6.1f}x"
        )
    finally:
        runtime.live = cached_live  # type: ignore[assignment]
        runtime.reset()
        sim.stop()


if __name__ == "__main__":
    main()
