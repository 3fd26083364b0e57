"""What a misbehaving tenant costs us, against a naive client, measured in the same run.

    python -m benchmarks.hostile_tenant [--seconds 30]

1. Peak memory of one CLI fetch against a tenant that sends an endless body: ours
   (``python -m ipscape fetch campaigns``) vs a naive ``httpx.get(...).json()`` child. The naive
   child runs under a 2 GiB address-space limit and a 30 s bound, so it cannot take the machine
   with it; its figure is therefore a floor of what it would use.
2. Upstream requests per minute at 10,000 campaigns: the dashboard's campaigns feed under its
   request budget (600/min) vs asking every campaign's statistics every poll (10 s), each run
   for ``--seconds`` and counted by the tenant itself.

Peak memory is the child's own ``ru_maxrss`` (``os.wait4``). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from ipscape import feeds
from ipscape.budget import RequestBudget
from ipscape.client import IpscapeClient
from ipscape.config import DashboardConfig, PollConfig
from ipscape.live import LiveData
from ipscape.settings import Settings
from tests.hostile_tenant import KEY, TOKEN, HostileTenant

ROOT = Path(__file__).resolve().parents[1]
NAIVE_FETCH = (
    "import httpx, os; "
    "httpx.get(os.environ['IPSCAPE_BASE_URL'] + '/v3.0/campaigns', timeout=10, "
    "auth=(os.environ['IPSCAPE_API_TOKEN'], os.environ['IPSCAPE_SECRET_KEY_1'])).json()"
)


def peak_mib(argv: list[str], env: dict[str, str], limit_bytes: int | None = None) -> float:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=limit,
    )  # fmt: skip
    timer = threading.Timer(30, proc.kill)
    timer.start()
    try:
        _, _, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = 0
    return usage.ru_maxrss / 1024


def memory_against_an_endless_body(tenant: HostileTenant) -> None:
    tenant.mode = "endless"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSCAPE_")}
    env.update(tenant.env(IPSCAPE_TIMEOUT_S="10"))
    ours = peak_mib([sys.executable, "-m", "ipscape", "fetch", "campaigns"], env)
    naive = peak_mib([sys.executable, "-c", NAIVE_FETCH], env, limit_bytes=2 * 1024**3)
    print("peak RSS of one fetch against an endless body")
    print(f"  ours (python -m ipscape fetch campaigns): {ours:8.0f} MiB")
    print(f"  naive httpx.get().json(), capped at 2 GiB: {naive:8.0f} MiB (a floor)")
    print(f"  naive / ours: {naive / ours:.1f}x")


def requests_at_ten_thousand_campaigns(tenant: HostileTenant, seconds: float) -> None:
    tenant.mode = "healthy"
    tenant.campaigns = 10_000
    settings = Settings(tenant.api_root, TOKEN, (KEY,), timeout_s=10)
    poll = PollConfig(campaigns_s=10, max_requests_per_min=600)

    before = tenant.count("/v3.0/campaigns")
    client = IpscapeClient(settings, discover=False, budget=RequestBudget(600))
    with LiveData(client, DashboardConfig(poll=poll)).start() as live:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            live.campaigns()
            time.sleep(1)
        coverage = live.campaign_coverage()
    ours = (tenant.count("/v3.0/campaigns") - before) * 60 / seconds

    before = tenant.count("/v3.0/campaigns")
    stop = threading.Event()

    def naive_poll() -> None:
        with IpscapeClient(settings, discover=False) as naive:
            while not stop.is_set():
                started = time.monotonic()
                feeds.fetch_campaigns(naive)
                stop.wait(max(0.0, 10 - (time.monotonic() - started)))

    worker = threading.Thread(target=naive_poll, daemon=True)
    started = time.monotonic()
    worker.start()
    stop.wait(seconds)
    stop.set()
    worker.join(60)
    naive = (tenant.count("/v3.0/campaigns") - before) * 60 / (time.monotonic() - started)

    print(f"upstream requests per minute at 10,000 campaigns (campaigns_s = 10, {seconds:.0f} s)")
    print(f"  ours, budget 600/min:        {ours:8.0f} req/min")
    print(f"  naive, every campaign a poll: {naive:8.0f} req/min (as fast as the tenant answers)")
    print(f"  naive / ours: {naive / ours:.1f}x")
    if coverage is not None and coverage.text():
        print(f"  the overview says: {coverage.text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    tenant = HostileTenant()
    try:
        memory_against_an_endless_body(tenant)
        requests_at_ten_thousand_campaigns(tenant, args.seconds)
    finally:
        tenant.stop()


if __name__ == "__main__":
    main()
