"""Livelier traffic for the simulated centre: bursts, surges and voicemail call-backs.

All of it is off by default (SimulatorConfig's burst_minutes, surges_per_hour, message_share,
callback_share and recall_share), so the plain model in model.py keeps its data; the demo
(demo.py) turns it on.
Its draws come from a random stream of its own, inside event handlers like every other draw,
so a seeded run stays deterministic whatever the steps it is advanced in.

- Bursts: each inbound campaign's arrival rate is multiplied by a level (calm, normal, busy)
  held for an exponential time of mean burst_minutes: a Markov-modulated Poisson process.
- Surges: now and then during opening hours a batch of callers reaches one campaign's queue
  at once (ContactCentre.surge's logic).
- Messages: a share of daytime callers leave a voicemail from the IVR instead of queueing.
- Call-backs: of the callers who leave a voicemail, callback_share get a call-back lead on an
  outbound campaign, due some minutes later and dialled by its agents like any other lead (so
  the call-back is a call.outbound attempt to the caller's number, retried when unanswered, and
  only made in opening hours while outbound agents work); recall_share call in again themselves
  and wait until an agent answers.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from .model import DAY, HOUR, OPEN_FROM, OPEN_UNTIL, Activity, Campaign, ContactCentre, Lead

if TYPE_CHECKING:
    from .config import SimulatorConfig

# (rate multiplier, probability) of each burst level; the mean multiplier is about 1 (1.04), so
# bursts reshape a day's calls rather than add to them.
BURST_LEVELS = ((0.6, 0.35), (1.0, 0.35), (1.6, 0.3))
MIN_BURST_S = 60.0
# Callers who call in again do so within these hours of the day (the lines are busiest then).
RECALL_FROM, RECALL_UNTIL = 9 * HOUR, 17 * HOUR


def is_enabled(config: SimulatorConfig) -> bool:
    return bool(
        config.burst_minutes
        or config.surges_per_hour
        or config.message_share
        or config.callback_share
        or config.recall_share
    )


class Traffic:
    """Schedules its events on the centre it shapes; the centre tells it of each voicemail."""

    def __init__(self, centre: ContactCentre) -> None:
        self.centre = centre
        self.config = centre.config
        self.rng = random.Random(f"traffic-{self.config.seed}")

    @classmethod
    def for_centre(cls, centre: ContactCentre) -> Traffic | None:
        """The centre's traffic shaper with its first events scheduled, or None when all is off."""
        if not is_enabled(centre.config):
            return None
        traffic = cls(centre)
        start = centre.day_start
        if traffic.config.burst_minutes:
            for campaign in centre.inbound:
                centre._schedule(start, traffic._on_burst_level, (campaign,))
        if traffic.config.surges_per_hour:
            traffic._schedule_surge(start)
        return traffic

    # ---- bursts ------------------------------------------------------------------------

    def _on_burst_level(self, campaign: Campaign) -> None:
        rng, centre = self.rng, self.centre
        factors, weights = zip(*BURST_LEVELS, strict=True)
        campaign.factor = rng.choices(factors, weights=weights)[0]
        campaign.arrivals += 1  # the pending arrival was drawn at the old rate
        centre._schedule_next_arrival(campaign, centre.t)
        hold = max(MIN_BURST_S, rng.expovariate(1 / (self.config.burst_minutes * 60)))
        centre._schedule(centre.t + hold, self._on_burst_level, (campaign,))

    # ---- surges ------------------------------------------------------------------------

    def _schedule_surge(self, after: float) -> None:
        gap = self.rng.expovariate(self.config.surges_per_hour / HOUR)
        self.centre._schedule(after + gap, self._on_surge, ())

    def _on_surge(self) -> None:
        """A batch of callers in opening hours (a surge drawn at night is simply skipped, so
        surges_per_hour is a rate per open hour)."""
        centre, rng = self.centre, self.rng
        self._schedule_surge(centre.t)
        if OPEN_FROM <= _second_of_day(centre, centre.t) < OPEN_UNTIL:
            campaign = rng.choice(centre.inbound)
            centre._surge(campaign, rng.randint(*self.config.surge_calls))

    # ---- voicemails and call-backs -----------------------------------------------------

    def leaves_message(self) -> bool:
        """Whether a caller in opening hours takes the IVR's leave-a-message option."""
        return self.rng.random() < self.config.message_share

    def voicemail_left(self, act: Activity) -> None:
        """The caller of `act` just left a voicemail: maybe book their call-back."""
        cfg, rng = self.config, self.rng
        draw = rng.random()
        delay = rng.lognormvariate(math.log(cfg.callback_minutes * 60), 0.8)
        if draw < cfg.callback_share and self.centre.outbound:
            self._book_callback(act, self.centre.t + delay)
        elif draw < cfg.callback_share + cfg.recall_share:
            at = self._within_recall_hours(self.centre.t + 1.5 * delay)
            self.centre._schedule(at, self._on_recall, (act.campaign, act.data["source"]))

    def _book_callback(self, act: Activity, due: float) -> None:
        """A one-number lead on an outbound campaign, due at `due`: the dialler takes due leads
        before fresh ones, in opening hours, so night voicemails are returned in the morning."""
        centre = self.centre
        campaign = centre.outbound[act.campaign.id % len(centre.outbound)]
        fields = {
            "campaignId": campaign.id,
            "listId": campaign.id * 10 + 2,  # the call-back list (fresh leads are list ...1)
            "customerKey": f"VM-{act.id}",
            "phone1": act.data["source"],
            "phone2": None,
            "phone3": None,
            "timezone": self.config.timezone,
            "leadData": {"source": "voicemail", "activityId": act.id},
        }
        lead = Lead(centre._next_id("lead"), fields)
        lead.last = centre.t
        centre.leads[lead.id] = lead
        centre._push_lead(campaign, lead, due)

    def _within_recall_hours(self, at: float) -> float:
        """`at`, or a morning time of the next day it falls within recall hours."""
        centre = self.centre
        days, sod = divmod(at - centre.day_start, DAY)
        if RECALL_FROM <= sod < RECALL_UNTIL:
            return at
        day = days if sod < RECALL_FROM else days + 1
        return centre.day_start + day * DAY + RECALL_FROM + self.rng.uniform(0, 3 * HOUR)

    def _on_recall(self, campaign: Campaign, source: str) -> None:
        """The caller rings again: through the IVR, then waits in the queue until answered."""
        centre = self.centre
        act = centre._new_inbound(campaign, source)
        centre._schedule(centre.t + self.rng.uniform(5, 40), centre._on_ivr_end, (act, "wait"))


def _second_of_day(centre: ContactCentre, at: float) -> float:
    return (at - centre.day_start) % DAY
