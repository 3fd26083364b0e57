"""The scaled deployment as processes: collectors, dashboard replicas, and what they report.

Used by tests/test_scale_out.py and benchmarks/replicas.py. Every process runs on 127.0.0.1
against a simulator (never a real tenant) and a PostgreSQL database of tests/pg_support.py:

- `CollectorProcess`: ``python -m ipscape collect --metrics-port N`` with its output in a log
  file; ``holder`` is the name it takes in the leader table ("<hostname>:<pid>").
- `replica_server`: ``streamlit run dashboard.py`` with ``IPSCAPE_COLLECTOR=external``, so it
  never polls the tenant and copies snapshots from the database.
- `current_leader`: the one row of ``ipscape_leader``, read with plain SQL (not through the
  code under test).
- `metric_samples` / `metric_value`: a ``/metrics`` body parsed back; `cpu_seconds`: a
  process's user + system CPU time from /proc.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from ipscape.simulator import RunningSimulator
from tests.browser_support import REPO, StreamlitServer, dashboard_env, free_port

COLLECTOR_START_S = 60.0
STOP_WAIT_S = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tenant_env(sim: RunningSimulator, config_path: Path, database_url: str) -> dict[str, str]:
    """What a collector or a replica is given: the simulator as the tenant, its credentials,
    our dashboard.toml and the shared database."""
    env = dashboard_env(sim.api_root, config_path, token=sim.token, keys=sim.keys)
    env["IPSCAPE_DATABASE_URL"] = database_url
    return env


def replica_env(sim: RunningSimulator, config_path: Path, database_url: str) -> dict[str, str]:
    env = tenant_env(sim, config_path, database_url)
    env["IPSCAPE_COLLECTOR"] = "external"
    return env


def replica_server(env: Mapping[str, str], log_path: Path) -> StreamlitServer:
    """A dashboard replica (not started): `start()` it, `stop()` it."""
    return StreamlitServer(env, log_path, args=("--logger.level", "info"))


class CollectorProcess:
    """``python -m ipscape collect`` as a subprocess; `stop` (or `kill`) it in a finally."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("collector not started")
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self) -> CollectorProcess:
        command = [
            sys.executable,
            "-m",
            "ipscape",
            "collect",
            "--metrics-port",
            str(self.metrics_port),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def is_holder(self, holder: str | None) -> bool:
        return holder is not None and self.process is not None and holder_pid(holder) == self.pid

    def send(self, sig: signal.Signals) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def wait_exit(self, timeout_s: float = STOP_WAIT_S) -> int | None:
        """The exit code once it exits (None if it is still running after ``timeout_s``)."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited; always reaped."""
        if self.process is None:
            return
        if self.alive():
            self.process.terminate()
            if self.wait_exit() is None:
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_WAIT_S)

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return ""

    def wait_for_log(self, pattern: str, timeout_s: float = COLLECTOR_START_S) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = regex.search(self.log(tail=1_000_000))
            if found:
                return found
            if not self.alive():
                raise RuntimeError(f"collector {self.pid} exited:\n{self.log()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"collector {self.pid}: no {pattern!r} in its log after {timeout_s:.0f} s:\n"
                    f"{self.log()}"
                )
            time.sleep(0.25)


def holder_pid(holder: str) -> int | None:
    """The pid in a holder name "<hostname>:<pid>" (None for a name of another shape)."""
    _, _, pid = holder.rpartition(":")
    return int(pid) if pid.isdigit() else None


@dataclass(frozen=True)
class Leader:
    holder: str
    term: int
    since: datetime
    heartbeat_at: datetime | None


def leader_rows(database_url: str) -> list[Leader]:
    """Every row of the leader table (one, when the lease works; none before the first)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT to_regclass('ipscape_leader') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute(
            "SELECT holder, term, since, heartbeat_at FROM ipscape_leader ORDER BY term"
        ).fetchall()
    return [Leader(str(h), int(t), s, beat) for h, t, s, beat in rows]


def current_leader(database_url: str) -> Leader | None:
    rows = leader_rows(database_url)
    return rows[-1] if rows else None


def metric_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in a Prometheus text body."""
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """The sum of ``name``'s samples whose labels include ``labels`` (None: no such sample)."""
    found = [
        value
        for sample, have, value in metric_samples(text)
        if sample == name and all(have.get(k) == v for k, v in labels.items())
    ]
    return sum(found) if found else None


def metrics_text(base_url: str) -> str:
    response = httpx.get(f"{base_url}/metrics", timeout=30)
    response.raise_for_status()
    return response.text


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command: state is field 3 of stat(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
