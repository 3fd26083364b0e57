"""How old the data on screen is and what went wrong, as typed lines the pages render.

A snapshot is "updated 4 s ago" when fresh, "STALE 45 s" past twice its poll interval, and
"ERROR: <why> — showing data from 10:41:02" when the latest refresh failed; the page picks the
element (caption, warning, error) from `Freshness.kind`, never from the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ipscape.config import CONFIG_ENV
from ipscape.errors import ConfigError
from ipscape.history import HistoryStatus
from ipscape.presentation.formats import age, clock_time
from ipscape.replica import StoreProblem
from ipscape.settings import COLLECTOR_ENV, DATABASE_ENV, SETTING_NAMES, TIMEOUT
from ipscape.snapshots import CollectorInfo, Snapshot

FreshnessKind = Literal["fresh", "waiting", "stale", "error"]


@dataclass(frozen=True)
class Freshness:
    kind: FreshnessKind
    text: str


def freshness(snapshot: Snapshot, tz: str) -> Freshness:
    """How old a snapshot's data is and, on error, why and from when."""
    if snapshot.state == "error" or (snapshot.error and snapshot.state != "fresh"):
        since = (
            f"showing data from {clock_time(snapshot.fetched_at, tz)}"
            if snapshot.has_data
            else "no data yet"
        )
        return Freshness("error", f"ERROR: {snapshot.error or 'refresh failed'} — {since}")
    if not snapshot.has_data:
        return Freshness("waiting", "waiting for the first data…")
    if snapshot.state == "stale":
        return Freshness("stale", f"STALE {age(snapshot.age_s)}")
    return Freshness("fresh", f"updated {age(snapshot.age_s)} ago")


def store_problem_text(problem: StoreProblem, tz: str) -> str:
    """A replica that cannot read the shared database: since when, and that the data waits."""
    return (
        f"SHARED DATABASE UNREACHABLE since {clock_time(problem.since, tz)}: showing the last "
        f"data received; it updates by itself once the database answers. {problem.reason}"
    )


def collector_text(info: CollectorInfo | None, tz: str) -> str:
    """Which process polls the tenant for this replica (the footer of a scaled deployment)."""
    if info is None:
        return "collector: none active"
    return f"collector: {info.holder} since {clock_time(info.since, tz)}"


def tenant_cost_text(summary: Mapping[str, Mapping[str, Any]], per_minute: float | None) -> str:
    """ "tenant: 14 req/min of 600 allowed (2 %), 120 ms": what the dashboard costs the tenant
    right now (``summary`` is the client's `UpstreamMeter.summary(60)`: each request once),
    against the request budget of dashboard.toml, and the slowest last request."""
    requests = sum(int(row.get("requests") or 0) for row in summary.values())
    share = (
        f" of {per_minute:,.0f} allowed ({100 * requests / per_minute:.0f} %)" if per_minute else ""
    )
    latencies = [
        row["last_latency_ms"] for row in summary.values() if row.get("last_latency_ms") is not None
    ]
    latency = f"{max(latencies):.0f} ms" if latencies else "-- ms"
    return f"tenant: {requests} req/min{share}, {latency}"


def history_warning(status: HistoryStatus, tz: str) -> str | None:
    """What a trend says while history is not being recorded (and why), None while it is."""
    if status.recording:
        return None
    since = f" since {clock_time(status.since, tz)}" if status.since is not None else ""
    return (
        f"History is not being recorded{since}: {status.reason}. The trend has a gap from "
        "then; recording resumes by itself once the history can be written again."
    )


def config_error_help(exc: ConfigError) -> str:
    """How to fix a configuration error, by where the named setting lives."""
    setting = exc.setting or ""
    if setting in (DATABASE_ENV, COLLECTOR_ENV):
        return (
            "A scaled deployment is set with IPSCAPE_DATABASE_URL (postgresql://...) and "
            "IPSCAPE_COLLECTOR (embedded or external), in the environment or the [ipscape] "
            "section of .streamlit/secrets.toml; docs/deployment.md shows each process's "
            "settings. Unset both to run on one process. Restart the dashboard after changing them."
        )
    if setting in (*SETTING_NAMES, TIMEOUT):
        return (
            "Tenant settings are read from the [ipscape] section of .streamlit/secrets.toml "
            "(copy .streamlit/secrets.toml.example) or from IPSCAPE_* environment variables. "
            "Set all of IPSCAPE_BASE_URL, IPSCAPE_API_TOKEN and IPSCAPE_SECRET_KEY_1, or none "
            "of them to run the demo. Restart the dashboard after changing them."
        )
    return (
        "Dashboard settings are read from dashboard.toml (or the file named by "
        f"{CONFIG_ENV}); the shipped dashboard.toml lists every key with its "
        "default. Fix the key named above and reload the page."
    )
