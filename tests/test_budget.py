"""The request budget: a fair split of one ceiling between feeds, paced as token buckets."""

from __future__ import annotations

import pytest

from ipscape.budget import MIN_BURST, RequestBudget, fair_shares
from ipscape.errors import BudgetExhaustedError


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_small_needs_are_met_in_full_and_the_rest_is_shared_by_the_big_ones():
    grants = fair_shares(600, {"agents": 9, "queries": 60, "campaigns": 60_000, "activities": 900})
    assert grants["agents"] == pytest.approx(9)
    assert grants["queries"] == pytest.approx(60)
    # 531 left for two lanes that each want more than half of it: an even split.
    assert grants["campaigns"] == pytest.approx(265.5)
    assert grants["activities"] == pytest.approx(265.5)
    assert sum(grants.values()) == pytest.approx(600)


def test_spare_capacity_is_shared_in_proportion_when_every_need_is_met():
    grants = fair_shares(600, {"agents": 10, "campaigns": 50})
    assert grants == pytest.approx({"agents": 100, "campaigns": 500})


def test_a_lane_that_says_nothing_gets_a_fair_share():
    grants = fair_shares(600, {"queries": 60, "campaigns": None, "agents": None})
    assert grants == pytest.approx({"queries": 60, "campaigns": 270, "agents": 270})


def test_requests_are_paced_at_the_lane_grant_after_a_small_burst():
    fake = FakeTime()
    budget = RequestBudget(60, clock=fake, sleep=fake.sleep)  # one request a second
    budget.declare("campaigns", 60)
    started = fake.now
    for _ in range(int(MIN_BURST) + 20):
        budget.acquire("campaigns")
    # The burst goes at once, then one request per second of the lane's grant.
    assert fake.now - started == pytest.approx(20, abs=1)
    assert budget.sent("campaigns") == MIN_BURST + 20


def test_a_request_that_cannot_have_a_token_before_its_deadline_fails_clearly():
    fake = FakeTime()
    budget = RequestBudget(60, clock=fake, sleep=fake.sleep)
    for _ in range(int(MIN_BURST)):
        budget.acquire("agents")
    with pytest.raises(BudgetExhaustedError, match="60/min"):
        budget.acquire("agents", deadline=fake.now + 0.1)


def test_one_busy_lane_cannot_use_up_another_lanes_share():
    fake = FakeTime()
    budget = RequestBudget(120, clock=fake, sleep=fake.sleep)
    budget.declare("campaigns", 10_000)
    budget.declare("agents", 6)
    for _ in range(200):
        budget.acquire("campaigns")
    # The agents lane still has its own tokens, at once.
    before = fake.now
    budget.acquire("agents", deadline=fake.now)
    assert fake.now == before


def test_no_ceiling_means_no_waiting():
    fake = FakeTime()
    budget = RequestBudget(None, clock=fake, sleep=fake.sleep)
    for _ in range(10_000):
        budget.acquire("anything", deadline=fake.now)
    assert fake.now == 1000.0
    assert budget.declare("campaigns", 42) == 42
