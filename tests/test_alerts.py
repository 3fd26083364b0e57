"""Alerts that reach people: the collector sends one notification per level change to a real
local webhook receiver, whoever is watching, and a failing receiver never stalls polling.

The collector runs over the simulator with a ManualClock moved by hand (`Collector.run_due`), as
in tests/test_collector.py; the receiver is an http.server on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import collections
import email.policy
import itertools
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd
import pytest

from ipscape import frames
from ipscape.alerts import (
    ALERT_COLUMNS,
    ALERTS_FEED,
    RECENT_MAX,
    VOICEMAIL_AGE,
    Alerter,
    DeliveryCounts,
    EmailSender,
    Notification,
    Outbox,
    WebhookSender,
    inert,
    retry_delay_s,
    senders_for,
    should_retry,
    voicemail_backlog,
)
from ipscape.client import IpscapeClient, RetryPolicy
from ipscape.clock import ManualClock
from ipscape.collector import Collector
from ipscape.config import (
    AlertsConfig,
    DashboardConfig,
    Threshold,
    Thresholds,
    config_from_mapping,
)
from ipscape.errors import ConfigError
from ipscape.health import OperatorView
from ipscape.metrics import feeds as metric_feeds
from ipscape.metrics import voicemail_summary
from ipscape.presentation import tables
from ipscape.settings import demo_settings
from ipscape.simulator import RunningSimulator, SimulatorConfig, start_simulator
from ipscape.snapshots import MemorySnapshots
from tests.app_support import MANUAL_POLL, api, open_page
from tests.test_health import metric_samples, sample, serving

POLL = MANUAL_POLL
CAMPAIGNS = "GET /v3.0/campaigns"
SECRET_PATH = "/services/T000/B000/hook-token-5e1d"
HOSTILE = "<https://evil.example|click> @channel [win](https://evil.example) *bold*"
FLUSH_S = 30.0  # a bound on waiting for the sender, never an expectation of speed


# --- a real webhook receiver -------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    # Statuses answered first, one per request, before ``status`` for all the others.
    first: list[int] = field(default_factory=list)
    # While cleared, each request is held (a receiver that hangs); set = answer at once.
    answering: threading.Event = field(default_factory=threading.Event)


@contextmanager
def receiver(
    status: int = 200, *, answering: bool = True, first: tuple[int, ...] = ()
) -> Iterator[Receiver]:
    state = Receiver(url="", first=list(first))
    state.status = status
    if answering:
        state.answering.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.bodies.append(json.loads(body))
            state.answering.wait(FLUSH_S)
            self.send_response(state.first.pop(0) if state.first else state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    try:
        yield state
    finally:
        state.answering.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the collector over the simulator ----------------------------------------------------------


@dataclass
class Env:
    sim: RunningSimulator
    collector: Collector
    snapshots: MemorySnapshots
    clock: ManualClock

    def advance(self, seconds: float) -> None:
        self.sim.advance(seconds)
        self.clock.advance(seconds)
        self.collector.run_due()

    def backlog(self) -> dict[int, float]:
        """Each campaign's oldest waiting voicemail's age in the published voicemail frame, at
        the collector's now."""
        _status, result = self.snapshots.read("voicemail")
        assert result is not None
        rows = voicemail_backlog(result.frame, self.collector._now())
        return dict(zip(rows["campaign_id"], rows[VOICEMAIL_AGE], strict=True))

    def inbound(self) -> int:
        return next(
            int(c["campaignId"])
            for c in api(self.sim, "/v3.0/campaigns")
            if c.get("campaignType") == "inbound"
        )


@contextmanager
def collecting(
    url: str,
    senders: tuple[Outbox, ...] | None = None,
    names: tuple[str, ...] = (),
    thresholds: Thresholds | None = None,
) -> Iterator[Env]:
    sim = start_simulator(
        SimulatorConfig(seed=4, speed=0, page_size=500, calls_per_day=1500, extra_names=names)
    )
    clock = ManualClock(frames.parse_timestamp(sim.state()["now"]).to_pydatetime())
    client = IpscapeClient(demo_settings(sim.api_root), retry=RetryPolicy(max_attempts=1))
    config = DashboardConfig(
        poll=POLL, alerts=AlertsConfig(webhook_url=url), thresholds=thresholds or Thresholds()
    )
    snapshots = MemorySnapshots()
    collector = Collector(client, config, snapshots, clock=clock, senders=senders)
    try:
        yield Env(sim, collector, snapshots, clock)
    finally:
        collector.stop()
        client.close()
        sim.stop()


def of(bodies: list[dict[str, Any]], campaign_id: int, metric: str) -> list[str]:
    return [b["level"] for b in bodies if b["campaign_id"] == campaign_id and b["metric"] == metric]


def test_a_surge_alerts_once_while_it_holds_and_says_ok_once_when_it_clears() -> None:
    with receiver() as hook, collecting(hook.url) as env:
        env.collector.run_due()
        (sender,) = env.collector.senders
        surged = env.inbound()
        env.sim.surge(surged, 60)  # more callers than agents
        for _ in range(4):  # several polls while the queue holds
            env.advance(POLL.campaigns_s)
        assert sender.flush(FLUSH_S)
        assert of(hook.bodies, surged, "calls_waiting") == ["alert"]
        for _ in range(60):  # the agents and the callers' patience drain the queue
            if "ok" in of(hook.bodies, surged, "calls_waiting"):
                break
            env.advance(20)
            sender.flush(FLUSH_S)
        cleared = of(hook.bodies, surged, "calls_waiting")  # maybe through warn on the way down
        assert cleared[0] == "alert" and cleared[-1] == "ok"
        assert cleared.count("alert") == 1 and cleared.count("ok") == 1
        for _ in range(3):  # calm polls after it cleared send nothing more
            env.advance(POLL.campaigns_s)
        assert sender.flush(FLUSH_S)
    assert of(hook.bodies, surged, "calls_waiting") == cleared
    # Never the same level twice in a row for any campaign and metric: changes, not polls.
    for key in {(b["campaign_id"], b["metric"]) for b in hook.bodies}:
        levels = of(hook.bodies, *key)
        assert all(a != b for a, b in itertools.pairwise(levels)), (key, levels)


def test_the_json_has_every_field_with_its_type() -> None:
    with receiver() as hook, collecting(hook.url) as env:
        env.collector.run_due()
        env.sim.surge(env.inbound(), 60)
        env.advance(POLL.campaigns_s)
        assert env.collector.senders[0].flush(FLUSH_S)
    body = next(b for b in hook.bodies if b["metric"] == "calls_waiting")
    assert set(body) == {
        "campaign_id", "campaign_name", "metric", "level", "value", "threshold", "at", "text"
    }  # fmt: skip
    assert isinstance(body["campaign_id"], int) and isinstance(body["campaign_name"], str)
    assert body["level"] == "alert" and body["threshold"] == 10.0
    assert isinstance(body["value"], float) and body["value"] >= 10
    assert datetime.fromisoformat(body["at"]).utcoffset() is not None
    assert body["text"].startswith("ALERT ■ ") and "calls waiting" in body["text"]


def test_a_failing_webhook_is_retried_without_stalling_the_collector(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with receiver(500, answering=False) as hook:
        sender = WebhookSender(hook.url, max_attempts=3, first_retry_s=0.01, timeout_s=FLUSH_S)
        with collecting("", (sender.start(),)) as env:
            env.collector.run_due()
            env.sim.surge(env.inbound(), 60)
            polled = env.sim.stats()["requests"][CAMPAIGNS]
            for _ in range(4):  # the receiver holds the first POST all along
                env.advance(POLL.campaigns_s)
            assert env.sim.stats()["requests"][CAMPAIGNS] == polled + 4
            assert len(hook.bodies) <= 1 and env.collector.alerter.recent()
            hook.answering.set()  # now it answers, with 500 every time
            assert sender.flush(FLUSH_S)
            queued = len(env.collector.alerter.recent())
    assert sender.counts() == DeliveryCounts("webhook", retried=2 * queued, given_up=queued)
    assert len(hook.bodies) == 3 * queued  # every notification: three attempts, then given up
    assert "given up" in caplog.text
    assert SECRET_PATH not in caplog.text and hook.url not in caplog.text


def test_the_text_line_neutralises_a_hostile_campaign_name() -> None:
    with receiver() as hook, collecting(hook.url, names=(HOSTILE,)) as env:
        env.collector.run_due()
        hostile = next(
            int(c["campaignId"])
            for c in api(env.sim, "/v3.0/campaigns")
            if c.get("campaignName") == HOSTILE
        )
        env.sim.surge(hostile, 60)
        env.advance(POLL.campaigns_s)
        assert env.collector.senders[0].flush(FLUSH_S)
    body = next(b for b in hook.bodies if b["campaign_id"] == hostile)
    assert body["campaign_name"] == HOSTILE  # data in the JSON
    text = body["text"]
    for markup in ("<http", "|click>", "@channel", "[win](", "*bold*", "https://", "evil.ex"):
        assert markup not in text, markup
    assert "&lt;https:\u200b//evil\u200b.example" in text


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("<!channel> now", "<!channel>"),
        ("Sales & <b>", "<b>"),
        ("@here @everyone", "@here"),
        ("[click](https://x.example)", "]("),
        ("two\nlines\u2028here", "\n"),
    ],
)
def test_inert_names_carry_no_chat_markup(name: str, forbidden: str) -> None:
    shown = inert(name)
    assert forbidden not in shown and "\n" not in shown
    assert len(inert("x" * 500)) <= 80


# A chat client links a bare URL or domain: "http://", "www." and "name.tld" are what it looks
# for. Each must be broken; what the name reads as (zero-width spaces aside) must not change.
@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("Sales http://evil.example", "http://"),
        ("Sales https://evil.example/login", "evil.example"),
        ("Sales evil.example", "evil.example"),
        ("www.evil.example", "www."),
        ("Sales ftp://10.0.0.1/x", "10.0"),
        ("Sales evil\uff0eexample", "evil\uff0eexample"),  # a dot IDNA reads as "."
        ("mailto:boss@evil.example", "mailto:b"),
    ],
)
def test_inert_names_carry_no_bare_url_a_chat_client_would_link(name: str, forbidden: str) -> None:
    shown = inert(name)
    assert forbidden not in shown
    assert shown.replace("\u200b", "") == name
    assert inert("St. Kilda") == "St. Kilda"  # a dot before a space is no domain


def test_a_bare_url_in_a_campaign_name_is_broken_in_the_text_but_kept_in_the_json() -> None:
    name = "Sales http://evil.example"
    sent: list[Notification] = []
    Alerter(Thresholds(), sent.append).campaigns(campaigns(12, name), AT)
    (notification,) = sent
    assert notification.campaign_name == name and notification.payload()["campaign_name"] == name
    assert "http://" not in notification.text and "evil.example" not in notification.text
    assert (
        notification.text.replace("\u200b", "") == f"ALERT ■ {name}: calls waiting 12 (alert at 10)"
    )


# --- the alerter on its own --------------------------------------------------------------------


def campaigns(waiting: float | None, name: str = "Sales") -> pd.DataFrame:
    return pd.DataFrame(
        {"campaign_id": [7], "campaign_name": [name], "calls_waiting": [waiting]}
    ).astype({"calls_waiting": "Float64"})


AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_hysteresis_holds_a_level_and_unknown_changes_nothing() -> None:
    sent: list[Notification] = []
    alerter = Alerter(Thresholds(), sent.append)
    for waiting in (0, 3, 5, 12, 9.5, None, 12, 9.1, 4.5, 3.9, 2):  # warn 5, alert 10, hyst 1
        alerter.campaigns(campaigns(waiting), AT)
    assert [n.level for n in sent] == ["warn", "alert", "warn", "ok"]
    assert [n.value for n in sent] == [5, 12, 4.5, 3.9]  # 9.5 and 9.1 still hold the alert
    assert sent[-1].text == "OK ✓ Sales: calls waiting 4 (back from warn; warn at 5)"


def test_a_first_reading_is_news_only_when_it_is_not_ok() -> None:
    sent: list[Notification] = []
    Alerter(Thresholds(), sent.append).campaigns(campaigns(2), AT)
    assert sent == []
    Alerter(Thresholds(), sent.append).campaigns(campaigns(6), AT)
    assert [n.level for n in sent] == ["warn"]


def test_service_level_alerts_downwards() -> None:
    sent: list[Notification] = []
    alerter = Alerter(Thresholds(), sent.append)
    rows = pd.DataFrame({"campaign_id": [7, None], "campaign_name": ["Sales", None]})
    for pct in (90.0, 65.0, 71.0, 74.0, 83.0):  # warn 80, alert 70, hysteresis 2
        alerter.performance(rows.assign(service_level_pct=[pct, pct]), AT)
    assert [(n.level, n.threshold) for n in sent] == [("alert", 70), ("warn", 80), ("ok", 80)]
    assert sent[0].text == "ALERT ■ Sales: service level 65% (alert at 70% or below)"


def test_the_recent_list_is_bounded_and_typed() -> None:
    alerter = Alerter(Thresholds(), recent_max=3)
    for waiting in (12, 0, 12, 0, 12):
        alerter.campaigns(campaigns(waiting), AT)
    frame = alerter.recent_frame()
    assert list(frame.columns) == list(ALERT_COLUMNS) and len(frame) == 3
    assert list(frame["level"]) == ["alert", "ok", "alert"]  # newest first
    assert str(frame["campaign_id"].dtype) == "Int64"
    table = tables.alerts_table(frame, "Australia/Sydney", AT)
    assert table.shown == ["Time", "Campaign", "Metric", "Level", "Value", "Threshold"]
    assert list(table.frame["Level"]) == ["ALERT ■", "OK ✓", "ALERT ■"]


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    sender = WebhookSender("http://127.0.0.1:9/never-started", queue_max=2)  # thread not started
    alerter = Alerter(Thresholds(), sender.send)
    for waiting in (12, 0, 12):
        alerter.campaigns(campaigns(waiting), AT)
    assert sender.counts() == DeliveryCounts("webhook", dropped=1)
    assert "never-started" not in repr(sender)
    sender.stop()


def test_the_retry_rules() -> None:
    assert [retry_delay_s(n) for n in (1, 2, 3, 7, 8)] == [1, 2, 4, 60, 60]
    assert should_retry(None) and should_retry(500) and should_retry(429)
    assert not should_retry(404) and not should_retry(400)


def test_the_alerts_feed_is_fresh_with_every_poll_and_new_only_when_it_changed() -> None:
    with collecting("") as env:
        assert env.collector.senders == ()  # no webhook: the list is kept all the same
        env.collector.run_due()
        first = env.snapshots.status(ALERTS_FEED)
        env.advance(POLL.campaigns_s)  # nothing changed level
        calm = env.snapshots.status(ALERTS_FEED)
        env.sim.surge(env.inbound(), 60)
        env.advance(POLL.campaigns_s)
        surged = env.snapshots.status(ALERTS_FEED)
    assert first is not None and calm is not None and surged is not None
    assert calm.version == first.version and calm.fetched_at > first.fetched_at  # type: ignore[operator]
    assert surged.version == first.version + 1


# --- the voicemail backlog ---------------------------------------------------------------------

VM_CALLER = "(02) 9999 0000"


def voicemail_left(
    activity_id: int, received: datetime, campaign: int | None = 7, caller: str = VM_CALLER
) -> dict[str, Any]:
    """A call that reached voicemail, as the tenant sends it."""
    return {
        "type": "call.inbound",
        "data": {
            "activityId": activity_id,
            "activityStatusName": "Voicemail",
            "source": caller,
            "destination": "+61280000000",
            "campaignId": campaign,
            "campaignName": None if campaign is None else f"Campaign {campaign}",
            "voicemailMetadata": [{"mediaId": 9000 + activity_id, "duration": 20}],
            "timestamps": {"created": received.isoformat()},
        },
    }


def call_back(activity_id: int, created: datetime, number: str) -> dict[str, Any]:
    """An outbound call (a dial attempt) to ``number``: it returns a voicemail left before it
    from that number (metrics.returned_at)."""
    return {
        "type": "call.outbound",
        "data": {
            "activityId": activity_id,
            "dialStatusName": "No Answer",
            "destination": number,
            "campaignId": 5,
            "timestamps": {"created": created.isoformat()},
        },
    }


def voicemail_feed(*items: dict[str, Any]) -> pd.DataFrame:
    """The voicemail feed's frame as the collector publishes it: ``returned_at`` filled in."""
    listed = list(items)
    return metric_feeds.with_returned_at(
        frames.voicemail_frame(listed), frames.activities_frame(listed)
    )


def minutes(n: float) -> datetime:
    return AT + timedelta(minutes=n)


def test_a_voicemail_left_waiting_warns_once_alerts_once_and_its_call_back_clears_it() -> None:
    sent: list[Notification] = []
    alerter = Alerter(Thresholds(), sent.append)  # voicemail_age_s: warn 30 min, alert 60 min
    waiting = voicemail_feed(voicemail_left(1, AT))
    # The same frame all along: the age grows with the time it is read at, not with new data.
    for n in (1, 29, 30, 31, 45, 59.5, 60, 61, 90):
        alerter.voicemail(waiting, minutes(n))
    assert [(n.level, n.value, n.threshold) for n in sent] == [
        ("warn", 1800, 1800),
        ("alert", 3600, 3600),
    ]
    assert sent[0].text == "WARN ▲ Campaign 7: oldest voicemail waiting 30:00 (warn at 30:00)"
    assert sent[0].metric == VOICEMAIL_AGE and sent[0].campaign_id == 7
    # Returned: an outbound call to the caller's number, written another way.
    returned = voicemail_feed(voicemail_left(1, AT), call_back(2, minutes(91), "+61 2 9999 0000"))
    alerter.voicemail(returned, minutes(90.5))  # the call-back is not made yet at 90.5
    for n in (92, 93, 120):
        alerter.voicemail(returned, minutes(n))
    assert [n.level for n in sent] == ["warn", "alert", "ok"]
    assert sent[-1].value == 0 and sent[-1].text == (
        "OK ✓ Campaign 7: oldest voicemail waiting 0:00 (back from alert; warn at 30:00)"
    )


def test_a_campaigns_backlog_is_its_oldest_voicemail_still_waiting() -> None:
    feed = voicemail_feed(
        voicemail_left(1, minutes(0)),
        voicemail_left(2, minutes(20)),
        voicemail_left(3, minutes(5), campaign=8, caller="+61 3 5555 0000"),
        call_back(4, minutes(21), VM_CALLER),  # returns 1 and 2: the same caller
        voicemail_left(5, minutes(30)),
        voicemail_left(6, minutes(10), campaign=None),
    )
    backlog = voicemail_backlog(feed, minutes(40))
    ages = dict(zip(backlog["campaign_id"], backlog[VOICEMAIL_AGE], strict=True))
    assert ages == {7: 600.0, 8: 2100.0}  # 7: only 5 waits (10 min); no campaign: left out
    rows = feed[feed["campaign_id"].eq(8).fillna(False)]
    assert ages[8] == voicemail_summary(rows, minutes(40), tz="UTC").oldest_waiting_s
    assert voicemail_backlog(feed, minutes(20.5))[VOICEMAIL_AGE].tolist() == [1230.0, 930.0]


def test_a_voicemail_waiting_past_midnight_leaves_the_day_and_its_campaign_clears() -> None:
    sent: list[Notification] = []
    alerter = Alerter(Thresholds(), sent.append)
    other = "+61 3 5555 0000"
    alerter.voicemail(
        voicemail_feed(voicemail_left(1, AT), voicemail_left(2, AT, 8, other)), minutes(45)
    )
    # Today's frame after midnight holds only campaign 8's (still waiting): 7 reads 0 once.
    for n in (51, 52):
        alerter.voicemail(voicemail_feed(voicemail_left(2, AT, 8, other)), minutes(n))
    assert [(n.campaign_id, n.level) for n in sent] == [(7, "warn"), (8, "warn"), (7, "ok")]


def test_the_collector_reads_the_voicemail_backlog_at_every_refresh_at_its_own_now() -> None:
    """A threshold just above the oldest voicemail's age at the first poll is crossed two
    activities refreshes later with no call-back in between: one warn, with the age then."""
    with collecting("") as probe:
        probe.collector.run_due()
        campaign, first = max(probe.backlog().items(), key=lambda item: item[1])
    step = POLL.activities_s
    thresholds = Thresholds(voicemail_age_s=Threshold(first + 1.5 * step, first + 100 * step, 1))
    with receiver() as hook, collecting(hook.url, thresholds=thresholds) as env:
        env.collector.run_due()
        started = env.clock()
        for _ in range(4):
            env.advance(step)
        assert env.collector.senders[0].flush(FLUSH_S)
        assert env.backlog()[campaign] == first + 4 * step  # waiting all along
    warned = [b for b in hook.bodies if b["metric"] == VOICEMAIL_AGE]
    assert [(b["campaign_id"], b["level"]) for b in warned] == [(campaign, "warn")]
    assert warned[0]["value"] == first + 2 * step
    assert datetime.fromisoformat(warned[0]["at"]).timestamp() == started + 2 * step


def test_the_collector_alerts_each_campaigns_voicemail_backlog_once() -> None:
    with receiver() as hook, collecting(hook.url) as env:
        env.collector.run_due()
        backlog = env.backlog()
        for _ in range(3):
            env.advance(POLL.activities_s)
        assert env.collector.senders[0].flush(FLUSH_S)
    alerted = {b["campaign_id"]: b for b in hook.bodies if b["metric"] == VOICEMAIL_AGE}
    late = {cid for cid, age in backlog.items() if age >= Thresholds().voicemail_age_s.alert}
    assert late and set(alerted) == late  # the simulated night left voicemails waiting
    for cid, body in alerted.items():
        assert of(hook.bodies, cid, VOICEMAIL_AGE) == ["alert"]
        assert body["value"] == backlog[cid] and "oldest voicemail waiting" in body["text"]


# --- what delivery did, counted -----------------------------------------------------------------


def test_a_retried_delivery_is_counted_per_channel_and_read_from_metrics() -> None:
    """The webhook answers 500 once, then 200; the mail server takes everything."""
    with receiver(first=(500,)) as hook, mail_server() as (port, received):
        webhook = WebhookSender(hook.url, first_retry_s=0.01)
        mail = EmailSender(mail_config(port))
        with collecting("", (webhook.start(), mail.start())) as env:
            env.collector.run_due()  # the simulated night's voicemails: a few alerts
            assert webhook.flush(FLUSH_S) and mail.flush(FLUSH_S)
            made = len(env.collector.alerter.recent())
            view = OperatorView(
                snapshots=env.snapshots, feeds={}, clock=env.clock, alerts=env.collector.alert_stats
            )
            with serving(lambda: view) as http:
                text = http.get("/metrics").text
    assert 0 < made < RECENT_MAX
    assert webhook.counts() == DeliveryCounts("webhook", sent=made, retried=1)
    assert mail.counts() == DeliveryCounts("email", sent=made) and len(received) == made
    got = metric_samples(text.encode())
    levels = collections.Counter(n.level for n in env.collector.alerter.recent())
    for level in ("warn", "alert", "ok"):
        assert sample(got, "ipscape_alerts_raised_total", level=level) == levels[level]
    assert sample(got, "ipscape_alerts_sent_total", channel="webhook") == made
    assert sample(got, "ipscape_alerts_retried_total", channel="webhook") == 1
    assert sample(got, "ipscape_alerts_given_up_total", channel="webhook") == 0
    assert sample(got, "ipscape_alerts_sent_total", channel="email") == made
    assert sample(got, "ipscape_alerts_dropped_total", channel="email") == 0
    for name in ("raised", "sent", "retried", "given_up", "dropped"):
        assert f"# HELP ipscape_alerts_{name}_total " in text
        assert f"# TYPE ipscape_alerts_{name}_total counter" in text
    for secret in (SECRET_PATH, hook.url, str(port), "example.com"):
        assert secret not in text, secret


def test_a_refused_delivery_is_given_up_and_a_full_queue_drop_is_counted() -> None:
    with receiver(400) as hook:
        webhook = WebhookSender(hook.url, queue_max=1, first_retry_s=0.01)
        alerter = Alerter(Thresholds(), webhook.send)
        alerter.campaigns(campaigns(12), AT)
        alerter.campaigns(campaigns(0), AT)  # the queue holds one: the alert is dropped
        assert webhook.counts() == DeliveryCounts("webhook", dropped=1)
        try:
            assert webhook.start().flush(FLUSH_S)
        finally:
            webhook.stop()
    assert webhook.counts() == DeliveryCounts("webhook", given_up=1, dropped=1)
    assert [b["level"] for b in hook.bodies] == ["ok"]  # a 400 is not tried again
    assert alerter.raised() == {"warn": 0, "alert": 1, "ok": 1}


# --- mail --------------------------------------------------------------------------------------


@contextmanager
def mail_server() -> Iterator[tuple[int, list[bytes]]]:
    """A minimal SMTP server on 127.0.0.1 (no STARTTLS, no auth): every DATA it accepts."""
    received: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 test ESMTP\r\n")
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"DATA":
                    self.wfile.write(b"354 go on\r\n")
                    data = b"".join(iter(self.rfile.readline, b".\r\n"))
                    received.append(data)
                    self.wfile.write(b"250 queued\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:  # EHLO, MAIL, RCPT, RSET, NOOP
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def mail_config(port: int) -> AlertsConfig:
    return config_from_mapping(
        {
            "alerts": {
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_from": "wallboard@example.com",
                "smtp_to": ["supervisors@example.com"],
            }
        }
    ).alerts


def test_a_mail_server_gets_the_same_content() -> None:
    with mail_server() as (port, received):
        (outbox,) = senders_for(mail_config(port), env={})
        try:
            Alerter(Thresholds(), outbox.send).campaigns(campaigns(12), AT)
            assert outbox.flush(FLUSH_S)
        finally:
            outbox.stop()
    assert outbox.counts() == DeliveryCounts("email", sent=1) and len(received) == 1
    mail = message_from_bytes(received[0], policy=email.policy.default)
    assert mail["Subject"] == "ALERT ■ Sales: calls waiting 12 (alert at 10)"
    assert mail["To"] == "supervisors@example.com"
    body = mail.get_body().get_content()  # type: ignore[attr-defined]
    assert "campaign_id: 7" in body and "level: alert" in body and "threshold: 10.0" in body


# --- config ------------------------------------------------------------------------------------


def test_the_webhook_url_is_parsed_and_never_shown() -> None:
    url = f"https://hooks.example.com{SECRET_PATH}"
    config = config_from_mapping({"alerts": {"webhook_url": url, "max_attempts": 3}})
    assert config.alerts.webhook_url == url and config.alerts.max_attempts == 3
    assert SECRET_PATH not in repr(config)
    assert not DashboardConfig().alerts.enabled


@pytest.mark.parametrize(
    ("alerts", "named"),
    [
        ({"webhook_url": f"ftp://hooks.example.com{SECRET_PATH}"}, "alerts.webhook_url"),
        ({"webhook_url": f"https://{SECRET_PATH}"}, "alerts.webhook_url"),
        ({"webhook_url": 5}, "alerts.webhook_url"),
        ({"max_attempts": 0}, "alerts.max_attempts"),
        ({"max_attempts": 2.5}, "alerts.max_attempts"),
        ({"webhook": "x"}, "alerts"),
        ({"smtp_host": "mail.example.com", "smtp_to": ["a@example.com"]}, "alerts.smtp_from"),
        ({"smtp_host": "mail.example.com", "smtp_from": "a@example.com"}, "alerts.smtp_to"),
        ({"smtp_to": "a@example.com"}, "alerts.smtp_to"),
    ],
)
def test_a_bad_alerts_setting_names_the_key_but_not_the_url(
    alerts: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"alerts": alerts})
    assert caught.value.setting == named
    assert SECRET_PATH not in str(caught.value)


# --- the overview ------------------------------------------------------------------------------


def test_the_overview_lists_the_recent_alerts(app_tenant: RunningSimulator) -> None:
    inbound = next(
        int(c["campaignId"])
        for c in api(app_tenant, "/v3.0/campaigns")
        if c.get("campaignType") == "inbound"
    )
    app_tenant.surge(inbound, 60)  # before the app's first poll: it starts in ALERT
    at = open_page("overview")
    assert not at.exception
    assert [h.value for h in at.subheader][-1] == "Recent alerts"
    table = at.dataframe[-1].value
    assert "ALERT ■" in set(table["Level"]) and "calls waiting" in set(table["Metric"])
