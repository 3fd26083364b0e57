"""The demo tenant: one home for its settings, and a busy hour that looks alive (queues that
build and drain, bursts, surges, voicemails that get called back) while the default simulator
keeps producing exactly the data it did before any of this existed."""

from __future__ import annotations

import ast
import hashlib
import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from ipscape.simulator import SimulatorConfig, demo_config
from ipscape.simulator.__main__ import parse_args
from ipscape.simulator.model import HOUR, Activity, ContactCentre

REPO = Path(__file__).resolve().parents[1]


def frozen(config: SimulatorConfig, **changes) -> ContactCentre:
    """A centre whose clock only moves with advance(), so every run is the same."""
    return ContactCentre(replace(config, speed=0, **changes))


def digits(number: str | None) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


def voicemails(centre: ContactCentre) -> list[Activity]:
    return [
        a
        for a in centre.activities
        if a.type == "call.inbound" and a.data["activityStatusName"] == "Voicemail"
    ]


def returned_at(voicemail: Activity, activities: list[Activity]) -> float | None:
    """When the caller was called back or got through (the dashboard's rule), else None."""
    caller = digits(voicemail.data["source"])
    for act in activities:
        if act.created <= voicemail.created:
            continue
        called = act.type == "call.outbound" and caller in (
            digits(act.data["phoneNumber"]),
            digits(act.data["destination"]),
        )
        got_through = (
            act.type == "call.inbound"
            and digits(act.data["source"]) == caller
            and act.data["agentId"] is not None
        )
        if called or got_through:
            return act.created
    return None


def is_callback(act: Activity) -> bool:
    return (
        act.type == "call.outbound" and act.lead is not None and act.lead.fields["listId"] % 10 == 2
    )


# ---- one place for the demo's settings --------------------------------------------------


def test_the_embedded_demo_starts_the_demo_config():
    tree = ast.parse((REPO / "ui" / "runtime.py").read_text())
    (function,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_start_simulator"
    ]
    calls = {ast.unparse(node) for node in ast.walk(function) if isinstance(node, ast.Call)}
    assert "start_simulator(demo_config())" in calls
    assert not any(call.startswith("SimulatorConfig(") for call in calls)


def test_demo_flag_serves_exactly_the_demo_config():
    config, host, port = parse_args(["--demo", "--host", "0.0.0.0", "--port", "9999"])
    assert config == demo_config()
    assert (host, port) == ("0.0.0.0", 9999)


def test_explicit_flags_override_the_demo_settings():
    config, _host, _port = parse_args(["--demo", "--seed", "3", "--start-time", "now"])
    assert config == replace(demo_config(), seed=3, start_time="now")


def test_without_demo_the_flags_give_the_plain_default_tenant():
    assert parse_args([])[0] == SimulatorConfig()


def test_every_call_gives_a_fresh_demo_config():
    first = demo_config()
    first.path_overrides["list_campaigns"] = "/v3.0/elsewhere"
    assert demo_config().path_overrides == {}


# ---- the default tenant is unchanged ----------------------------------------------------


def fingerprint(centre: ContactCentre) -> tuple[int, str]:
    """Every activity and agent state, in seconds since midnight (so any date gives the same)."""
    digest = hashlib.sha256()
    for act in centre.activities:
        data = {k: v for k, v in act.data.items() if k not in ("timestamps", "survey")}
        entry = [act.type, round(act.created - centre.day_start), data]
        digest.update(json.dumps(entry, sort_keys=True).encode())
    for agent in centre.agents:
        digest.update(
            json.dumps([agent.id, agent.state, round(agent.since - centre.day_start)]).encode()
        )
    return len(centre.activities), digest.hexdigest()[:16]


def test_the_default_tenant_produces_the_same_day_as_before_the_demo_traffic():
    # Recorded from the simulator as it was before bursts, surges and call-backs were added.
    centre = frozen(SimulatorConfig(seed=5), start_time="00:00")
    centre.advance(11 * HOUR)
    assert fingerprint(centre) == (1323, "eadfc70d2596b9a7")
    assert centre.traffic is None


@pytest.mark.parametrize(
    "changes",
    [
        {"callback_share": 0.9, "recall_share": 0.2},
        {"callback_share": -0.1},
        {"message_share": 1.5},
        {"surge_calls": (5, 2)},
        {"burst_minutes": -1},
        {"patience_s": 0},
    ],
)
def test_impossible_traffic_settings_are_refused(changes):
    with pytest.raises(ValueError):
        SimulatorConfig(**changes)


# ---- a lively busy hour -----------------------------------------------------------------


def test_callers_queue_somewhere_most_of_the_demo_busy_hour():
    centre = frozen(demo_config())
    samples = []
    for _ in range(180):  # every 10 s for 30 min from 10:30
        centre.advance(10)
        samples.append(max(len(c.queue) for c in centre.inbound))
    assert sum(1 for waiting in samples if waiting > 0) >= 0.6 * len(samples)
    assert statistics.mean(samples) < 10  # the centre copes: queues drain again


def arrivals_per_5_min(config: SimulatorConfig) -> list[int]:
    """First-leg inbound calls of one campaign per 5 minutes, 10:00-16:00 (a flat-ish stretch)."""
    centre = frozen(config, start_time="16:00")
    campaign = centre.inbound[0]
    counts = [0] * 72
    for act in centre.by_campaign[campaign.id]:
        slot = int((act.created - centre.day_start - 10 * HOUR) // 300)
        if act.data["parentActivityId"] is None and 0 <= slot < 72:
            counts[slot] += 1
    return counts


def test_bursts_make_arrivals_vary_more_than_a_steady_rate():
    steady = arrivals_per_5_min(SimulatorConfig(seed=4))
    bursty = arrivals_per_5_min(SimulatorConfig(seed=4, burst_minutes=4.0))
    assert statistics.variance(bursty) > 1.5 * statistics.variance(steady)
    # ... while the day's volume stays about the same.
    assert 0.8 < sum(bursty) / sum(steady) < 1.25


def test_surges_reach_a_queue_now_and_then_in_the_demo():
    centre = frozen(demo_config(), start_time="18:00")
    batches: dict[tuple[int, int], int] = {}
    for act in centre.activities:
        d = act.data
        if (
            act.type == "call.inbound"
            and d["parentActivityId"] is None
            and d["durations"]["ivr"] == 0
        ):
            key = (act.campaign.id, round(act.created))
            batches[key] = batches.get(key, 0) + 1
    low, _high = demo_config().surge_calls
    surges = [n for n in batches.values() if n >= low]
    assert len(surges) >= 5  # about 1.5 an hour over ten open hours


def test_some_daytime_callers_leave_a_message_in_the_demo():
    centre = frozen(demo_config())
    daytime = [a for a in voicemails(centre) if a.created >= centre.day_start + 9 * HOUR]
    assert len(daytime) >= 5


# ---- voicemail call-backs ---------------------------------------------------------------


def test_call_backs_dial_a_voicemail_caller_after_the_voicemail():
    centre = frozen(demo_config())
    left = voicemails(centre)
    callbacks = [a for a in centre.activities if is_callback(a)]
    assert len(callbacks) >= 20
    for callback in callbacks:
        number = callback.data["phoneNumber"]
        assert callback.data["destination"] == number
        assert any(vm.data["source"] == number and vm.created < callback.created for vm in left)


def test_call_backs_look_like_the_other_dial_attempts():
    centre = frozen(demo_config())
    outbound = [a for a in centre.activities if a.type == "call.outbound"]
    callbacks = [a for a in outbound if is_callback(a)]
    others = [a for a in outbound if not is_callback(a)]
    assert callbacks and others
    # Same fields as the list's attempts (a connected call may gain a post-call survey).
    assert {frozenset(a.data) - {"survey"} for a in callbacks} == {
        frozenset(a.data) - {"survey"} for a in others
    }
    assert {a.data["dialStatusName"] for a in callbacks if a.created < centre.t - 600} <= {
        "Connected",
        "No Answer",
        "Busy",
        "Invalid Number",
        "Voicemail",
    }


def test_by_the_busy_hour_most_morning_voicemails_are_returned_and_some_still_wait():
    centre = frozen(demo_config())
    left = voicemails(centre)
    returned = [vm for vm in left if returned_at(vm, centre.activities) is not None]
    assert len(left) >= 30
    assert 0.6 <= len(returned) / len(left) <= 0.95
    # Call-backs take minutes, not seconds: the median time to return is a few minutes or more.
    delays = [returned_at(vm, centre.activities) - vm.created for vm in returned]
    assert statistics.median(delays) > 10 * 60


def test_callers_who_ring_again_wait_until_answered():
    config = replace(demo_config(), callback_share=0.0, recall_share=1.0)
    centre = frozen(config, start_time="18:00")
    morning = [vm for vm in voicemails(centre) if vm.created < centre.day_start + 10 * HOUR]
    assert len(morning) >= 30
    returned = [vm for vm in morning if returned_at(vm, centre.activities) is not None]
    assert len(returned) >= 0.95 * len(morning)
    assert not any(is_callback(a) for a in centre.activities)
