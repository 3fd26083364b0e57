"""What each number means, one hover away (``help=`` on metrics and column headers)."""

from __future__ import annotations

from ipscape.metrics import GLOSSARY


def today(tz: str, *, start: bool = True) -> str:
    """What "today" means; ``start`` False for its use mid-sentence (the zone keeps its case)."""
    word = "Today" if start else "today"
    return f"{word} = since local midnight in {tz} (the dashboard's display time zone)."


def glossary(tz: str) -> dict[str, str]:
    return {
        "ewt": (
            "Estimated wait time (EWT): the tenant's own estimate of how long a caller who "
            "joined the queue now would wait for an agent."
        ),
        "longest_wait": "Longest wait: how long the caller waiting longest has been in the queue.",
        "calls_waiting": "Calls waiting: callers in the queue right now.",
        "abandoned": (
            "Calls that hung up before reaching an agent, "
            + today(tz, start=False)
            + " (the tenant's own count, in the IVR and in the queue)"
        ),
        "agents_available": "Agents logged in and ready for a call (state Available).",
        "agents_logged_in": "Agents logged in, whatever their state.",
        "voicemail": (
            "Voicemails left today that are waiting for a call-back. Oldest = time since the "
            "oldest waiting one was left. " + today(tz)
        ),
        "voicemail_returned": "Returned: " + GLOSSARY["Voicemail returned"],
        "service_level": (
            "Service level today: "
            + GLOSSARY["Service level"]
            + " Answered: "
            + GLOSSARY["Answered"]
            + " "
            + today(tz)
        ),
        "abandon_rate": (
            "Abandon rate today: "
            + GLOSSARY["Abandon rate"]
            + " Abandoned: "
            + GLOSSARY["Abandoned"]
            + " "
            + today(tz)
        ),
        "asa": GLOSSARY["ASA"] + " " + today(tz),
        "aht": GLOSSARY["AHT"] + " " + today(tz),
        "answered_today": "Answered: " + GLOSSARY["Answered"] + " " + today(tz),
        "abandoned_today": "Abandoned: " + GLOSSARY["Abandoned"] + " " + today(tz),
        "voicemail_waiting": "Time since the voicemail was left.",
        "voicemail_took": "From the voicemail to the call that returned it.",
        "time_in_state": "How long the agent has been in their current state.",
        "time_in_state_limit": (
            "Time in state as a share of its alert threshold ([thresholds.time_in_state_s] "
            "alert in dashboard.toml): full at ALERT."
        ),
        "agent_grid": (
            "One cell per agent: its state (colour and name) and how long it has been in it, "
            "by state, longest first. ▲ (dashed edge) and ■ (solid edge): over the "
            "time-in-state warn and alert thresholds."
        ),
        "transfers": "Calls passed from one agent or campaign to another, "
        + today(tz, start=False),
        "times": f"Times are shown in {tz}.",
        "status": (
            "Worst threshold level of this row: OK ✓, WARN ▲ or ALERT ■. Thresholds come "
            "from dashboard.toml; a level clears only below threshold minus hysteresis."
        ),
    }
