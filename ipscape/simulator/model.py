"""The simulated contact centre: a seeded discrete-event model advanced lazily to "now".

Every random draw happens inside an event handler, in event order, so the state at a given
simulated time does not depend on how often (or in how many steps) the model was advanced:
two models with the same config, advanced to the same simulated time, hold the same data.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from .config import SimulatorConfig
from .names import agent_names, campaign_names

DAY = 86_400.0
HOUR = 3_600.0
OPEN_FROM = 8 * HOUR
OPEN_UNTIL = 20 * HOUR

# Relative inbound volume per hour of the day: quiet at opening, peaks mid-morning and early
# afternoon, a trickle at night (those callers reach voicemail).
HOURLY_WEIGHT = (
    0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.15, 0.7, 1.2, 1.5, 1.35,
    1.0, 1.3, 1.4, 1.1, 0.85, 0.6, 0.4, 0.3, 0.08, 0.05, 0.03, 0.02,
)  # fmt: skip

STATUS_IDS = {
    "Answered": 1,
    "Abandoned": 2,
    "Voicemail": 3,
    "Transferred": 4,
    "In Queue": 5,
    "In Progress": 6,
}
DIAL_STATUSES = (  # (id, name, probability)
    (1, "Connected", 0.35),
    (2, "No Answer", 0.30),
    (3, "Busy", 0.10),
    (4, "Invalid Number", 0.07),
    (5, "Voicemail", 0.18),
)
PAUSE_REASONS = {"Break": 1, "Lunch": 2, "Meeting": 3, "Training": 4}
INBOUND_WRAPS = (
    ("RES", "Resolved"),
    ("INFO", "Information provided"),
    ("CB", "Callback booked"),
    ("ESC", "Escalated"),
    ("SALE", "Sale made"),
    ("COMP", "Complaint logged"),
)
OUTBOUND_WRAPS = (
    ("SALE", "Sale made"),
    ("NI", "Not interested"),
    ("CB", "Callback booked"),
    ("DNC", "Do not call"),
)
# Inbound shift templates (start hour, share of agents), shaped to follow the call curve.
SHIFT_STARTS = ((7.75, 0.3), (8.5, 0.25), (9.25, 0.2), (10.25, 0.1), (11.5, 0.15))

# Call states (simulation only).
IVR, QUEUED, TALKING, WRAPPING, VOICEMAIL, DIALLING, DONE = range(7)


def format_activity_ts(epoch: float | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with a colon-less offset, as activities carry them."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), tz).strftime("%Y-%m-%dT%H:%M:%S%z")


def format_stats_ts(epoch: float, tz: ZoneInfo) -> str:
    """ISO 8601 with a colon offset, as campaign statistics carry them."""
    return datetime.fromtimestamp(int(epoch), tz).isoformat(timespec="seconds")


class Campaign:
    __slots__ = (
        "agents",
        "aht",
        "arrivals",
        "buckets",
        "destination",
        "factor",
        "id",
        "inbound",
        "lead_heap",
        "name",
        "queue",
        "rates",
        "vm_after",
    )

    def __init__(self, cid: int, name: str, inbound: bool, destination: str) -> None:
        self.id = cid
        self.name = name
        self.inbound = inbound
        self.destination = destination
        self.queue: OrderedDict[int, Activity] = OrderedDict()
        self.agents: list[Agent] = []
        self.rates: list[float] = []  # arrivals per second for each half-hour slot
        self.factor = 1.0  # the current burst level's multiplier of `rates` (traffic.py)
        # Bumped whenever the rate changes; a pending arrival drawn at the old rate is stale.
        self.arrivals = 0
        self.aht = 300.0  # recent average handle time, seconds (moving average)
        self.vm_after = 180.0
        # hour start epoch -> [received, abandoned in workflow, abandoned in queue, answered,
        # total wait of answered calls]
        self.buckets: dict[float, list[float]] = {}
        self.lead_heap: list[tuple[float, int, int]] = []

    def summary(self) -> dict[str, Any]:
        return {
            "campaignId": self.id,
            "campaignName": self.name,
            "campaignType": "inbound" if self.inbound else "outbound",
            "isActive": True,
        }


class Agent:
    __slots__ = (
        "call",
        "custom_state",
        "id",
        "logout_at",
        "name",
        "outbound",
        "pause_reason",
        "pending_pause",
        "since",
        "skills",
        "state",
        "token",
    )

    def __init__(self, aid: int, name: str, skills: list[int], outbound: bool) -> None:
        self.id = aid
        self.name = name
        self.skills = skills
        self.outbound = outbound
        self.state = "LoggedOut"
        # A tenant-defined state name this agent is reported in, whatever it is doing.
        self.custom_state: str | None = None
        self.since = 0.0
        self.pause_reason: str | None = None
        self.pending_pause: tuple[str, float] | None = None
        self.logout_at = 0.0
        self.call: Activity | None = None
        # Bumped on every state change; events carrying an older token are stale.
        self.token = 0

    def status(self, tz: ZoneInfo) -> dict[str, Any]:
        reason = self.pause_reason
        return {
            "agentId": self.id,
            "agentFullName": self.name,
            "state": self.custom_state or self.state,
            # an agent not yet logged in today has no state change to date
            "stateSince": format_activity_ts(self.since, tz) if self.since else None,
            "pauseReason": (
                {"id": PAUSE_REASONS[reason], "title": reason}
                if self.state == "Paused" and reason
                else None
            ),
            "campaignIds": list(self.skills),
        }


class Activity:
    __slots__ = (
        "agent",
        "answered",
        "campaign",
        "created",
        "data",
        "hold",
        "id",
        "joined",
        "json",
        "lead",
        "media",
        "recorded",
        "state",
        "talk",
        "transfer_to",
        "type",
    )

    def __init__(self, aid: int, kind: str, campaign: Campaign, created: float) -> None:
        self.id = aid
        self.type = kind
        self.campaign = campaign
        self.created = created
        self.data: dict[str, Any] = {}
        self.json: bytes | None = None
        self.state = IVR
        self.agent: Agent | None = None
        self.lead: Lead | None = None
        self.joined = 0.0
        self.answered = 0.0
        self.talk = 0.0
        self.hold = 0.0
        self.recorded = False
        self.transfer_to: Campaign | None = None
        self.media: list[int] = []

    def item_json(self) -> bytes:
        if self.json is None:
            self.json = json.dumps(
                {"type": self.type, "data": self.data}, ensure_ascii=False, separators=(",", ":")
            ).encode()
        return self.json

    def touch(self) -> None:
        self.json = None


class Lead:
    __slots__ = ("attempts", "done", "fields", "id", "last", "next_phone")

    def __init__(self, lid: int, fields: dict[str, Any]) -> None:
        self.id = lid
        self.fields = fields
        self.next_phone = 1
        self.attempts = 0
        self.done = False
        self.last = 0.0

    def record(self) -> dict[str, Any]:
        return {"leadId": self.id, **self.fields}


class Clock:
    """Simulated now = base + speed * real elapsed + explicit advances."""

    def __init__(self, base: float, speed: float) -> None:
        self.base = base
        self.speed = speed
        self.offset = 0.0
        self.t0 = time.monotonic()

    def start(self) -> None:
        self.t0 = time.monotonic()

    def now(self) -> float:
        return self.base + self.speed * (time.monotonic() - self.t0) + self.offset


def start_epoch(config: SimulatorConfig, tz: ZoneInfo) -> float:
    if config.start_time == "now":
        return time.time()
    hours, minutes = (int(x) for x in config.start_time.split(":"))
    today = datetime.now(tz).date()
    return datetime.combine(today, dtime(hours, minutes), tz).timestamp()


def local_midnight(day: date, tz: ZoneInfo) -> float:
    return datetime.combine(day, dtime(0, 0), tz).timestamp()


class ContactCentre:
    """The whole tenant state. Thread-safe through `lock`; callers advance it before reading."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.rng = random.Random(config.seed)
        self.lock = threading.RLock()
        base = start_epoch(config, self.tz)
        self.clock = Clock(base, config.speed)
        first_day = datetime.fromtimestamp(base, self.tz).date()
        self.day_start = local_midnight(first_day, self.tz)
        self.t = self.day_start
        self._events: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._ids = {
            "activity": 500_000,
            "interaction": 900_000,
            "media": 10_000,
            "lead": 70_000,
            "attempt": 300_000,
        }
        self.activities: list[Activity] = []
        self.by_id: dict[int, Activity] = {}
        self.by_campaign: dict[int, list[Activity]] = {}
        self.by_lead: dict[int, list[Activity]] = {}
        self.media: dict[int, int] = {}  # media id -> duration seconds
        self.leads: dict[int, Lead] = {}
        self._build()
        self._schedule(self.day_start, self._on_day_start, ())
        for c in self.inbound:
            self._schedule_next_arrival(c, self.day_start)
        from .traffic import Traffic  # it builds on this module's classes

        self.traffic = Traffic.for_centre(self)
        self._schedule(self.day_start + HOUR, self._on_hour, ())
        self.advance_to(base)
        self.clock.start()

    # ---- construction ------------------------------------------------------------------

    def _build(self) -> None:
        cfg, rng = self.config, self.rng
        n_out = cfg.campaigns // 3 if cfg.campaigns >= 3 else 0
        names = campaign_names(cfg.campaigns, cfg.hostile_names, cfg.extra_names)
        self.campaigns: dict[int, Campaign] = {}
        for i in range(cfg.campaigns):
            cid = 101 + i
            inbound = i < cfg.campaigns - n_out
            dest = f"+6128{rng.randrange(10**6, 10**7)}"
            self.campaigns[cid] = Campaign(cid, names[i], inbound, dest)
            self.by_campaign[cid] = []
        self.inbound = [c for c in self.campaigns.values() if c.inbound]
        self.outbound = [c for c in self.campaigns.values() if not c.inbound]
        # Uneven campaign sizes, as in real centres.
        shares = [1.0 / (i + 1) ** 0.7 for i in range(len(self.inbound))]
        total_share = sum(shares)
        slot_weights = []
        for slot in range(48):
            h = slot // 2
            w, nxt = HOURLY_WEIGHT[h], HOURLY_WEIGHT[(h + (1 if slot % 2 else -1)) % 24]
            slot_weights.append((3 * w + nxt) / 4)
        per_slot = cfg.calls_per_day / (sum(slot_weights) * 1800.0)
        for c, share in zip(self.inbound, shares, strict=True):
            c.rates = [per_slot * w * share / total_share for w in slot_weights]
            c.vm_after = rng.choice((150.0, 180.0, 240.0))

        n_out_agents = min(cfg.agents - 1, max(len(self.outbound), round(cfg.agents * 0.1)))
        n_out_agents = n_out_agents if self.outbound else 0
        names_a = agent_names(rng, cfg.agents, cfg.hostile_names, cfg.extra_names)
        primaries = _proportional(self.inbound, shares, cfg.agents - n_out_agents)
        rng.shuffle(primaries)
        self.agents: list[Agent] = []
        for i in range(cfg.agents):
            aid = 1001 + i
            if i < n_out_agents:
                skills = [self.outbound[i % len(self.outbound)].id]
                if len(self.outbound) > 1 and rng.random() < 0.4:
                    other = rng.choice(self.outbound).id
                    if other not in skills:
                        skills.append(other)
                agent = Agent(aid, names_a[i], skills, outbound=True)
            else:
                primary = primaries[i - n_out_agents]
                skills = [primary.id]
                for _ in range(rng.choice((0, 1, 1, 2))):
                    other = rng.choices(self.inbound, weights=shares)[0].id
                    if other not in skills:
                        skills.append(other)
                agent = Agent(aid, names_a[i], skills, outbound=False)
            self.agents.append(agent)
            for cid in agent.skills:
                self.campaigns[cid].agents.append(agent)
        for agent, state in zip(self.agents, cfg.extra_names, strict=False):
            agent.custom_state = state

    # ---- event machinery ---------------------------------------------------------------

    def _schedule(self, at: float, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, self._seq, fn, args))

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def advance_to(self, target: float) -> None:
        with self.lock:
            events = self._events
            while events and events[0][0] <= target:
                at, _seq, fn, args = heapq.heappop(events)
                self.t = at
                fn(*args)
            self.t = max(self.t, target)

    def sync(self) -> float:
        """Advance to the clock's now; returns it."""
        with self.lock:
            now = self.clock.now()
            self.advance_to(now)
            return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock.offset += max(0.0, seconds)
            self.sync()

    # ---- days, shifts, housekeeping ----------------------------------------------------

    def _on_day_start(self) -> None:
        rng = self.rng
        self.day_start = self.t
        day = datetime.fromtimestamp(self.t + HOUR, self.tz).date()
        next_day = local_midnight(day + timedelta(days=1), self.tz)
        self._schedule(next_day, self._on_day_start, ())
        starts = [s for s, _ in SHIFT_STARTS]
        weights = [w for _, w in SHIFT_STARTS]
        for agent in self.agents:
            if rng.random() < 0.04:  # day off
                continue
            if agent.outbound:
                start_h = rng.uniform(8.75, 10.5)
            else:
                start_h = rng.choices(starts, weights=weights)[0] + rng.uniform(-0.2, 0.2)
            length_h = rng.uniform(8.5, 9.5)
            login = self.t + start_h * HOUR
            logout = login + length_h * HOUR
            self._schedule(login, self._on_login, (agent, logout))
            pauses = [
                ("Break", login + rng.uniform(1.7, 2.3) * HOUR, rng.uniform(10, 15) * 60),
                ("Lunch", login + rng.uniform(3.5, 4.5) * HOUR, rng.uniform(30, 45) * 60),
                ("Break", logout - rng.uniform(1.7, 2.5) * HOUR, rng.uniform(10, 15) * 60),
            ]
            if rng.random() < 0.15:
                pauses.append(("Meeting", login + rng.uniform(1, 7) * HOUR, 30 * 60))
            if rng.random() < 0.08:
                pauses.append(("Training", login + rng.uniform(1, 7) * HOUR, 60 * 60))
            for reason, at, dur in pauses:
                self._schedule(at, self._on_pause_due, (agent, reason, dur))
            self._schedule(logout, self._on_logout_due, (agent,))

    def _on_hour(self) -> None:
        self._schedule(self.t + HOUR, self._on_hour, ())
        self._purge(self.t - DAY)

    def _purge(self, before: float) -> None:
        """Keep one day of history so a wallboard left running for weeks stays bounded."""
        cut = bisect_left(self.activities, before, key=lambda a: a.created)
        if not cut:
            return
        for act in self.activities[:cut]:
            self.by_id.pop(act.id, None)
            for mid in act.media:
                self.media.pop(mid, None)
        del self.activities[:cut]
        for lst in self.by_campaign.values():
            del lst[: bisect_left(lst, before, key=lambda a: a.created)]
        for lid in list(self.by_lead):
            lst = self.by_lead[lid]
            del lst[: bisect_left(lst, before, key=lambda a: a.created)]
            lead = self.leads.get(lid)
            if not lst and (lead is None or (lead.done and lead.last < before)):
                del self.by_lead[lid]
                self.leads.pop(lid, None)
        for c in self.campaigns.values():
            for key in [k for k in c.buckets if k < before - HOUR]:
                del c.buckets[key]

    # ---- agents ------------------------------------------------------------------------

    def _set_state(self, agent: Agent, state: str, reason: str | None = None) -> None:
        agent.state = state
        agent.since = self.t
        agent.pause_reason = reason
        agent.token += 1

    def _on_login(self, agent: Agent, logout: float) -> None:
        agent.logout_at = logout
        agent.pending_pause = None
        self._set_state(agent, "Available")
        self._seek_work(agent)

    def _on_logout_due(self, agent: Agent) -> None:
        if agent.state in ("Available", "Paused"):
            self._set_state(agent, "LoggedOut")

    def _on_pause_due(self, agent: Agent, reason: str, dur: float) -> None:
        if agent.state == "Available":
            self._start_pause(agent, reason, dur)
        elif agent.state in ("Busy", "Wrap", "Dialling"):
            agent.pending_pause = (reason, dur)

    def _start_pause(self, agent: Agent, reason: str, dur: float) -> None:
        agent.pending_pause = None
        self._set_state(agent, "Paused", reason)
        self._schedule(self.t + dur, self._on_pause_end, (agent, agent.token))

    def _on_pause_end(self, agent: Agent, token: int) -> None:
        if agent.token != token:
            return
        if self.t >= agent.logout_at:
            self._set_state(agent, "LoggedOut")
        else:
            self._set_state(agent, "Available")
            self._seek_work(agent)

    def _agent_free(self, agent: Agent) -> None:
        agent.call = None
        if self.t >= agent.logout_at:
            self._set_state(agent, "LoggedOut")
        elif agent.pending_pause:
            self._start_pause(agent, *agent.pending_pause)
        else:
            self._set_state(agent, "Available")
            self._seek_work(agent)

    def _seek_work(self, agent: Agent) -> None:
        if agent.outbound:
            gap = self.rng.uniform(10, 60)  # preview time before the next dial
            self._schedule(self.t + gap, self._on_dial_due, (agent, agent.token))
            return
        best: Activity | None = None
        for cid in agent.skills:
            queue = self.campaigns[cid].queue
            if queue:
                head = next(iter(queue.values()))
                if best is None or head.joined < best.joined:
                    best = head
        if best is not None:
            self._answer(best, agent)

    def _free_agent_for(self, campaign: Campaign) -> Agent | None:
        best = None
        for agent in campaign.agents:
            if agent.state == "Available" and (best is None or agent.since < best.since):
                best = agent
        return best

    # ---- inbound calls -----------------------------------------------------------------

    def _schedule_next_arrival(self, campaign: Campaign, t: float) -> None:
        """Next point of a Poisson process whose rate is constant per half hour (times the
        campaign's burst factor, whose changes redraw it: memoryless, so still exact)."""
        need = self.rng.expovariate(1.0)
        token = (campaign, campaign.arrivals)
        for _ in range(96):
            sod = (t - self.day_start) % DAY
            slot = int(sod // 1800) % 48
            slot_left = 1800.0 - sod % 1800
            rate = campaign.rates[slot] * campaign.factor
            if rate * slot_left >= need:
                self._schedule(t + need / rate, self._on_arrival, token)
                return
            need -= rate * slot_left
            t += slot_left
        # A campaign without volume: look again tomorrow.
        self._schedule(t, self._on_idle_campaign, token)

    def _on_idle_campaign(self, campaign: Campaign, arrivals: int) -> None:
        if arrivals == campaign.arrivals:
            self._schedule_next_arrival(campaign, self.t)

    def _bucket(self, campaign: Campaign) -> list[float]:
        key = self.day_start + ((self.t - self.day_start) // HOUR) * HOUR
        bucket = campaign.buckets.get(key)
        if bucket is None:
            bucket = campaign.buckets[key] = [0, 0, 0, 0, 0.0]
        return bucket

    def _caller_number(self) -> str:
        rng = self.rng
        if rng.random() < 0.7:
            return f"+614{rng.randrange(10**7, 10**8)}"
        return f"+61{rng.choice('2378')}{rng.randrange(10**7, 10**8)}"

    def _new_inbound(
        self, campaign: Campaign, source: str, parent: Activity | None = None
    ) -> Activity:
        act = Activity(self._next_id("activity"), "call.inbound", campaign, self.t)
        root = parent.data["rootActivityId"] if parent else act.id
        act.data = {
            "activityId": act.id,
            "parentActivityId": parent.id if parent else None,
            "rootActivityId": root,
            "activityStatusId": STATUS_IDS["In Queue"],
            "activityStatusName": "In Queue",
            "source": source,
            "destination": campaign.destination,
            "campaignId": campaign.id,
            "campaignName": campaign.name,
            "agentInteractionId": None,
            "agentId": None,
            "agentFullName": None,
            "wrapCode": None,
            "wrapDescription": None,
            "recordingStatus": "Not Recorded",
            "recordingMetadata": None,
            "voicemailMetadata": [],
            "survey": {
                "started": False,
                "startTimestamp": None,
                "workflowId": None,
                "workflowName": None,
            },
            "callQualityScore": None,
            "durations": {
                "ivr": None,
                "queue": None,
                "hold": None,
                "interaction": None,
                "wrap": None,
                "talk": None,
            },
            "timestamps": {
                "created": format_activity_ts(self.t, self.tz),
                "joinQueue": None,
                "answered": None,
                "hangUp": None,
                "wrapUp": None,
            },
        }
        self._store(act)
        self._bucket(campaign)[0] += 1
        return act

    def _store(self, act: Activity) -> None:
        self.activities.append(act)
        self.by_id[act.id] = act
        self.by_campaign[act.campaign.id].append(act)

    def _set_status(self, act: Activity, name: str) -> None:
        act.data["activityStatusName"] = name
        act.data["activityStatusId"] = STATUS_IDS[name]
        act.touch()

    def _on_arrival(self, campaign: Campaign, arrivals: int) -> None:
        if arrivals != campaign.arrivals:
            return
        self._schedule_next_arrival(campaign, self.t)
        act = self._new_inbound(campaign, self._caller_number())
        rng = self.rng
        ivr = rng.uniform(5, 40)
        sod = (self.t - self.day_start) % DAY
        is_open = OPEN_FROM <= sod < OPEN_UNTIL
        if not is_open:
            outcome = "voicemail" if rng.random() < 0.6 else "abandon"
        else:
            # Callers served by the IVR message or hanging up there: abandoned in workflow.
            outcome = "abandon" if rng.random() < 0.15 else "queue"
            if outcome == "queue" and self.traffic is not None and self.traffic.leaves_message():
                outcome = "voicemail"
        self._schedule(self.t + ivr, self._on_ivr_end, (act, outcome))

    def _on_ivr_end(self, act: Activity, outcome: str) -> None:
        act.data["durations"]["ivr"] = round(self.t - act.created)
        if outcome == "voicemail":
            self._start_voicemail(act)
        elif outcome == "abandon":
            self._finish_abandon(act, in_queue=False)
        else:
            self._join_queue(act, patient=outcome == "wait")

    def _join_queue(self, act: Activity, *, patient: bool = False) -> None:
        """Answer now if an agent is free, else queue; a patient caller (one calling again
        after a voicemail) waits until answered."""
        campaign = act.campaign
        act.joined = self.t
        act.data["timestamps"]["joinQueue"] = format_activity_ts(self.t, self.tz)
        act.touch()
        agent = self._free_agent_for(campaign)
        if agent is not None:
            self._answer(act, agent)
            return
        rng = self.rng
        act.state = QUEUED
        campaign.queue[act.id] = act
        if patient:
            return
        if len(campaign.queue) > 40 and rng.random() < 0.5:
            self._schedule(self.t + rng.uniform(10, 30), self._on_voicemail_offer, (act, 1.0))
        patience = rng.expovariate(1 / self.config.patience_s)
        self._schedule(self.t + patience, self._on_patience_end, (act,))
        if patience > campaign.vm_after:
            self._schedule(self.t + campaign.vm_after, self._on_voicemail_offer, (act, 0.5))

    def _on_voicemail_offer(self, act: Activity, accept: float) -> None:
        if act.state == QUEUED and self.rng.random() < accept:
            del act.campaign.queue[act.id]
            act.data["durations"]["queue"] = round(self.t - act.joined)
            self._start_voicemail(act)

    def _start_voicemail(self, act: Activity) -> None:
        act.state = VOICEMAIL
        self._set_status(act, "In Progress")
        self._schedule(self.t + self.rng.uniform(5, 60), self._on_voicemail_end, (act, self.t))

    def _on_voicemail_end(self, act: Activity, began: float) -> None:
        duration = max(1, round(self.t - began))
        mid = self._next_id("media")
        self.media[mid] = duration
        act.media.append(mid)
        act.data["voicemailMetadata"] = [
            {"mediaId": mid, "mediaUri": f"/v3.0/media/{mid}", "duration": duration}
        ]
        act.data["timestamps"]["hangUp"] = format_activity_ts(self.t, self.tz)
        act.state = DONE
        self._set_status(act, "Voicemail")
        if self.traffic is not None:
            self.traffic.voicemail_left(act)

    def _on_patience_end(self, act: Activity) -> None:
        if act.state == QUEUED:
            del act.campaign.queue[act.id]
            self._finish_abandon(act, in_queue=True)

    def _finish_abandon(self, act: Activity, *, in_queue: bool) -> None:
        act.state = DONE
        d = act.data
        if in_queue:
            d["durations"]["queue"] = round(self.t - act.joined)
        d["timestamps"]["hangUp"] = format_activity_ts(self.t, self.tz)
        self._set_status(act, "Abandoned")
        self._bucket(act.campaign)[2 if in_queue else 1] += 1

    def _answer(self, act: Activity, agent: Agent) -> None:
        rng = self.rng
        campaign = act.campaign
        if act.state == QUEUED:
            del campaign.queue[act.id]
        act.state = TALKING
        act.agent = agent
        agent.call = act
        self._set_state(agent, "Busy")
        act.answered = self.t
        wait = self.t - act.joined
        bucket = self._bucket(campaign)
        bucket[3] += 1
        bucket[4] += wait
        act.talk = max(20.0, rng.lognormvariate(math.log(200), 0.6))  # mean 4 min
        act.hold = rng.uniform(10, 120) if rng.random() < 0.2 else 0.0
        act.recorded = rng.random() < 0.85
        if act.data["parentActivityId"] is None and rng.random() < 0.07:
            others = [c for c in self.inbound if c is not campaign]
            act.transfer_to = rng.choice(others) if others and rng.random() < 0.7 else campaign
        d = act.data
        d["agentInteractionId"] = self._next_id("interaction")
        d["agentId"] = agent.id
        d["agentFullName"] = agent.name
        d["recordingStatus"] = "Recording" if act.recorded else "Not Recorded"
        d["durations"]["queue"] = round(wait)
        d["timestamps"]["answered"] = format_activity_ts(self.t, self.tz)
        self._set_status(act, "In Progress")
        self._schedule(self.t + act.talk + act.hold, self._on_talk_end, (act,))

    def _on_talk_end(self, act: Activity) -> None:
        rng = self.rng
        agent = act.agent
        assert agent is not None
        d = act.data
        talk, hold = round(act.talk), round(act.hold)
        d["durations"].update({"talk": talk, "hold": hold, "interaction": talk + hold})
        d["timestamps"]["hangUp"] = format_activity_ts(self.t, self.tz)
        d["callQualityScore"] = round(rng.uniform(3.2, 4.6), 1)
        if act.recorded:
            mid = self._next_id("media")
            self.media[mid] = talk + hold
            act.media.append(mid)
            d["recordingStatus"] = "Recorded"
            d["recordingMetadata"] = {
                "mediaId": mid,
                "mediaUri": f"/v3.0/media/{mid}",
                "duration": talk + hold,
                "deleted": False,
            }
        if rng.random() < 0.15:
            d["survey"] = {
                "started": True,
                "startTimestamp": d["timestamps"]["hangUp"],
                "workflowId": 7,
                "workflowName": "Post-call survey",
            }
        if act.transfer_to is not None:
            self._set_status(act, "Transferred")
            child = self._new_inbound(act.transfer_to, d["source"], parent=act)
            child.data["durations"]["ivr"] = 0
            self._join_queue(child)
        else:
            self._set_status(act, "Answered")
        act.state = WRAPPING
        self._set_state(agent, "Wrap")
        wrap = rng.uniform(30, 90)
        handle = act.talk + act.hold + wrap
        act.campaign.aht = 0.9 * act.campaign.aht + 0.1 * handle
        self._schedule(self.t + wrap, self._on_wrap_end, (act, agent))

    def _on_wrap_end(self, act: Activity, agent: Agent) -> None:
        wraps = INBOUND_WRAPS if act.type == "call.inbound" else OUTBOUND_WRAPS
        code, description = self.rng.choice(wraps)
        d = act.data
        d["wrapCode"], d["wrapDescription"] = code, description
        d["durations"]["wrap"] = round(self.t - act.answered - act.talk - act.hold)
        d["timestamps"]["wrapUp"] = format_activity_ts(self.t, self.tz)
        act.state = DONE
        act.touch()
        self._agent_free(agent)

    def surge(self, campaign_id: int, calls: int) -> None:
        """`calls` callers reach the campaign's queue now (skipping the IVR)."""
        with self.lock:
            self.sync()
            self._surge(self.campaigns[campaign_id], calls)

    def _surge(self, campaign: Campaign, calls: int) -> None:
        for _ in range(max(0, calls)):
            act = self._new_inbound(campaign, self._caller_number())
            act.data["durations"]["ivr"] = 0
            if campaign.inbound:
                self._join_queue(act)
            else:
                self._finish_abandon(act, in_queue=False)

    # ---- outbound dialling -------------------------------------------------------------

    def _next_lead(self, campaign: Campaign) -> Lead:
        heap = campaign.lead_heap
        while heap and heap[0][0] <= self.t:
            _at, _seq, lid = heapq.heappop(heap)
            lead = self.leads.get(lid)
            if lead is not None and not lead.done:
                return lead
        # The list never runs dry: take the next lead of the campaign's (virtual) list.
        rng = self.rng
        fields = {
            "campaignId": campaign.id,
            "listId": campaign.id * 10 + 1,
            "customerKey": f"CUST-{rng.randrange(10**6, 10**7)}",
            "phone1": self._caller_number(),
            "phone2": self._caller_number() if rng.random() < 0.8 else None,
            "phone3": self._caller_number() if rng.random() < 0.5 else None,
            "timezone": self.config.timezone,
            "leadData": {"source": "list"},
        }
        lead = Lead(self._next_id("lead"), fields)
        self.leads[lead.id] = lead
        return lead

    def _on_dial_due(self, agent: Agent, token: int) -> None:
        if agent.token != token or agent.state != "Available":
            return
        sod = (self.t - self.day_start) % DAY
        if not OPEN_FROM <= sod < OPEN_UNTIL:
            self._schedule(self.t + 600, self._on_dial_due, (agent, token))
            return
        rng = self.rng
        campaign = self.campaigns[rng.choice(agent.skills)]
        lead = self._next_lead(campaign)
        while lead.next_phone <= 3 and not lead.fields.get(f"phone{lead.next_phone}"):
            lead.next_phone += 1
        if lead.next_phone > 3:
            lead.done = True
            self._schedule(self.t + 1, self._on_dial_due, (agent, token))
            return
        index = lead.next_phone
        number = lead.fields[f"phone{index}"]
        lead.attempts += 1
        lead.last = self.t
        act = Activity(self._next_id("activity"), "call.outbound", campaign, self.t)
        act.lead = lead
        act.agent = agent
        act.state = DIALLING
        act.data = {
            "activityId": act.id,
            "parentActivityId": None,
            "rootActivityId": act.id,
            "activityStatusId": STATUS_IDS["In Progress"],
            "activityStatusName": "In Progress",
            "attemptId": self._next_id("attempt"),
            "dialStatusId": None,
            "dialStatusName": None,
            "phoneIndex": index,
            "phoneNumber": number,
            "leadId": lead.id,
            "source": campaign.destination,
            "destination": number,
            "campaignId": campaign.id,
            "campaignName": campaign.name,
            "agentInteractionId": self._next_id("interaction"),
            "agentId": agent.id,
            "agentFullName": agent.name,
            "wrapCode": None,
            "wrapDescription": None,
            "recordingStatus": "Not Recorded",
            "recordingMetadata": None,
            "voicemailMetadata": [],
            "callQualityScore": None,
            "durations": {
                "dial": None,
                "talk": None,
                "hold": None,
                "interaction": None,
                "wrap": None,
            },
            "timestamps": {
                "created": format_activity_ts(self.t, self.tz),
                "answered": None,
                "hangUp": None,
                "wrapUp": None,
            },
        }
        self._store(act)
        self.by_lead.setdefault(lead.id, []).append(act)
        agent.call = act
        self._set_state(agent, "Dialling")
        self._schedule(self.t + rng.uniform(5, 35), self._on_dial_end, (act,))

    def _on_dial_end(self, act: Activity) -> None:
        rng = self.rng
        agent, lead = act.agent, act.lead
        assert agent is not None and lead is not None
        r, acc = rng.random(), 0.0
        status_id, status_name = DIAL_STATUSES[-1][:2]
        for sid, name, p in DIAL_STATUSES:
            acc += p
            if r < acc:
                status_id, status_name = sid, name
                break
        d = act.data
        d["dialStatusId"], d["dialStatusName"] = status_id, status_name
        d["durations"]["dial"] = round(self.t - act.created)
        if status_name == "Connected":
            lead.done = True
            act.state = TALKING
            act.answered = self.t
            act.talk = max(15.0, rng.lognormvariate(math.log(150), 0.6))
            act.hold = rng.uniform(10, 60) if rng.random() < 0.1 else 0.0
            act.recorded = rng.random() < 0.85
            d["recordingStatus"] = "Recording" if act.recorded else "Not Recorded"
            d["timestamps"]["answered"] = format_activity_ts(self.t, self.tz)
            act.touch()
            self._set_state(agent, "Busy")
            self._schedule(self.t + act.talk + act.hold, self._on_talk_end, (act,))
            return
        d["timestamps"]["hangUp"] = format_activity_ts(self.t, self.tz)
        d["durations"].update({"talk": 0, "hold": 0, "interaction": 0})
        self._set_status(act, "Voicemail" if status_name == "Voicemail" else "Abandoned")
        act.state = DONE
        if status_name in ("No Answer", "Busy") and lead.attempts < 6:
            retry_same = rng.random() < 0.3
            if not retry_same:
                lead.next_phone += 1
            delay = rng.uniform(15, 60) * 60
        else:
            lead.next_phone += 1
            delay = 60.0
        if lead.next_phone > 3:
            lead.done = True
        else:
            self._push_lead(act.campaign, lead, self.t + delay)
        self._agent_free(agent)

    def _push_lead(self, campaign: Campaign, lead: Lead, at: float) -> None:
        self._seq += 1
        heapq.heappush(campaign.lead_heap, (at, self._seq, lead.id))

    # ---- leads API ---------------------------------------------------------------------

    def create_lead(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.sync()
            lead = Lead(self._next_id("lead"), fields)
            lead.last = self.t
            self.leads[lead.id] = lead
            campaign = self.campaigns[fields["campaignId"]]
            if not campaign.inbound:
                self._push_lead(campaign, lead, self.t)
            else:
                lead.done = True
            return lead.record()

    def update_lead(self, lead_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            lead = self.leads.get(lead_id)
            if lead is None:
                return None
            lead.fields.update(fields)
            return lead.record()

    # ---- read models -------------------------------------------------------------------

    def iter_activities(
        self,
        *,
        after_id: int | None,
        campaign_id: int | None,
        lead_id: int | None,
        created_from: float | None,
        created_to: float | None,
        activity_type: str | None,
    ) -> Iterator[Activity]:
        """Activities in (created, id) order; caller holds the lock and stops when it has enough."""
        if lead_id is not None:
            seq = self.by_lead.get(lead_id, [])
        elif campaign_id is not None:
            seq = self.by_campaign.get(campaign_id, [])
        else:
            seq = self.activities
        start = 0
        if after_id is not None:
            start = bisect_right(seq, after_id, key=lambda a: a.id)
        if created_from is not None:
            start = max(start, bisect_left(seq, math.floor(created_from), key=_created_s))
        for i in range(start, len(seq)):
            act = seq[i]
            if created_to is not None and _created_s(act) > created_to:
                return
            if campaign_id is not None and act.campaign.id != campaign_id:
                continue
            if activity_type is not None and act.type != activity_type:
                continue
            yield act

    def campaign_statistics(self, campaign: Campaign, period: str) -> dict[str, Any]:
        now = self.t
        if period == "hour":
            since = self.day_start + ((now - self.day_start) // HOUR) * HOUR
        else:
            since = self.day_start
        totals = [0.0] * 5
        for key, bucket in campaign.buckets.items():
            if since <= key <= now:
                for i in range(5):
                    totals[i] += bucket[i]
        waiting = len(campaign.queue)
        longest = now - next(iter(campaign.queue.values())).joined if waiting else 0.0
        counts = {"loggedIn": 0, "available": 0, "busy": 0, "wrap": 0, "paused": 0}
        staffed = 0
        for agent in campaign.agents:
            state = agent.state
            if state == "LoggedOut":
                continue
            counts["loggedIn"] += 1
            if state == "Available":
                counts["available"] += 1
            elif state in ("Busy", "Dialling"):
                counts["busy"] += 1
            elif state == "Wrap":
                counts["wrap"] += 1
            elif state == "Paused":
                counts["paused"] += 1
            if state != "Paused":
                staffed += 1
        ewt = self.estimated_wait(campaign, counts["available"], staffed)
        answered = int(totals[3])
        return {
            "campaignId": campaign.id,
            "campaignName": campaign.name,
            "estimatedCallWaitingTime": ewt,
            "maxCallWaitingTime": round(longest),
            "averageWaitingTime": round(totals[4] / answered) if answered else 0,
            "callsWaiting": waiting,
            "callsReceived": int(totals[0]),
            "callsAbandonedInWorkflow": int(totals[1]),
            "callsAbandonedInQueue": int(totals[2]),
            "callsAnswered": answered,
            "agents": counts,
            "isActive": True,
            "lists": [],
            "createdDate": format_stats_ts(
                self.day_start - 400 * DAY + campaign.id * HOUR, self.tz
            ),
            "lastUpdated": format_stats_ts(now, self.tz),
            "timestamp": format_stats_ts(now, self.tz),
            "timezone": self.config.timezone,
        }

    def estimated_wait(self, campaign: Campaign, available: int, staffed: int) -> int:
        """Position x recent handle time / agents serving: a new caller's expected wait."""
        waiting = len(campaign.queue)
        if not campaign.inbound or (available > waiting):
            return 0
        return round((waiting + 1) * campaign.aht / max(1, staffed))

    def summary(self) -> dict[str, Any]:
        by_state: dict[str, int] = {}
        for agent in self.agents:
            by_state[agent.state] = by_state.get(agent.state, 0) + 1
        return {
            "now": format_stats_ts(self.t, self.tz),
            "callsWaiting": sum(len(c.queue) for c in self.campaigns.values()),
            "agents": by_state,
            "activities": len(self.activities),
        }


def _proportional(items: list[Campaign], weights: list[float], count: int) -> list[Campaign]:
    """`count` picks from `items` in proportion to `weights` (largest remainder), each >= 1."""
    total = sum(weights)
    exact = [count * w / total for w in weights]
    picks = [max(1, math.floor(x)) for x in exact]
    order = sorted(range(len(items)), key=lambda i: exact[i] - math.floor(exact[i]), reverse=True)
    for i in order[: max(0, count - sum(picks))]:
        picks[i] += 1
    return [item for item, n in zip(items, picks, strict=True) for _ in range(n)][:count] or [
        items[0]
    ] * count


def _created_s(act: Activity) -> int:
    return math.floor(act.created)
