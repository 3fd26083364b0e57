"""What each number means, one hover away (``help=`` on metrics and column headers)."""

from __future__ import annotations


def today(tz: str) -> str:
    return f"Today = since local midnight in {tz} (the dashboard's display time zone)."


def glossary(tz: str) -> dict[str, str]:
    return {
        "ewt": (
            "Estimated wait time (EWT): the tenant's own estimate of how long a caller who "
            "joined the queue now would wait for an agent."
        ),
        "longest_wait": "Longest wait: how long the caller waiting longest has been in the queue.",
        "calls_waiting": "Calls waiting: callers in the queue right now.",
        "abandoned": "Calls that hung up before reaching an agent, " + today(tz).lower(),
        "agents_available": "Agents logged in and ready for a call (state Available).",
        "agents_logged_in": "Agents logged in, whatever their state.",
        "voicemail": "Voicemails left " + today(tz).lower() + " Oldest = time since it was left.",
        "voicemail_waiting": "Time since the voicemail was left.",
        "time_in_state": "How long the agent has been in their current state.",
        "transfers": "Calls passed from one agent or campaign to another, " + today(tz).lower(),
        "times": f"Times are shown in {tz}.",
        "status": (
            "Worst threshold level of this row: OK ✓, WARN ▲ or ALERT ■. Thresholds come "
            "from dashboard.toml; a level clears only below threshold minus hysteresis."
        ),
    }
