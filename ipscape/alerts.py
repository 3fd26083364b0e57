"""Alerts that reach people: a campaign metric changing level, sent by the collector.

The collector (ipscape/collector.py) hands every campaigns frame, today's performance rows and
the voicemail frame to an `Alerter`, whoever is watching. The voicemail backlog is read as each
campaign's oldest voicemail still waiting for a call-back (`voicemail_backlog`); that age grows
without new data, so it is read again at every activities refresh, at the collector's now.

The alerter keeps its own `LevelMemory` per (metric, campaign), with the same thresholds and
hysteresis as the tiles (ipscape/presentation/levels.py), and makes one `Notification` per
level change, not per poll: the first reading of a key is news only when it is not OK, an
unknown reading changes nothing, and clearing says "ok". The last `RECENT_MAX` notifications
are published as the ``alerts`` feed (`recent_frame`), so the overview of every replica lists
them.

Delivery is an `Outbox` per channel (`WebhookSender`, and `EmailSender` over SMTP with the same
content): a bounded queue and one background thread each, so the collector's thread only
enqueues and polling never waits for a receiver. A failed POST is retried with
exponential backoff (`retry_delay_s`) up to ``[alerts] max_attempts``; a full queue drops its
oldest notification and counts it. What each outbox did (sent, retried, given up, dropped) and
how many changes the alerter raised are counters (`DeliveryCounts`, `AlertStats`) that /metrics
reads (ipscape/health.py). The webhook URL carries the channel's token: it is never logged, nor
a label (only "the webhook" and the kind of failure: "HTTP 500", "no answer").

The ``text`` line is what Slack and Teams incoming webhooks display as is; campaign names in it
are vendor strings, made inert (`inert`): no Slack ``<link|label>`` or ``<!channel>``, no
``@channel`` mention, no Markdown link, no bare URL or domain that the client would link, one
line.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Final

import httpx
import pandas as pd

from ipscape.config import AlertsConfig, Thresholds
from ipscape.metrics import returned_by, voicemail_summary
from ipscape.presentation.aggregates import CAMPAIGN_METRICS
from ipscape.presentation.formats import count, duration, is_missing, number, percent
from ipscape.presentation.levels import OK, UNKNOWN, Level, LevelMemory

log = logging.getLogger(__name__)

ALERTS_FEED: Final = "alerts"
ALERT_COLUMNS: Final = (
    "at", "campaign_id", "campaign_name", "metric", "level", "value", "threshold", "text"
)  # fmt: skip
RECENT_MAX = 50
# The campaigns feed's metrics (the rest of CAMPAIGN_METRICS come from the performance feed).
CAMPAIGNS_FEED_METRICS = {
    m: CAMPAIGN_METRICS[m] for m in ("ewt_s", "longest_wait_s", "calls_waiting")
}
PERFORMANCE_FEED_METRICS = {m: CAMPAIGN_METRICS[m] for m in ("service_level", "abandon_rate")}
# The voicemail backlog (`voicemail_backlog`): metric and column share the threshold's name.
VOICEMAIL_AGE: Final = "voicemail_age_s"
VOICEMAIL_FEED_METRICS = {VOICEMAIL_AGE: VOICEMAIL_AGE}
METRIC_WORDS = {
    "ewt_s": ("EWT", duration),
    "longest_wait_s": ("longest wait", duration),
    "calls_waiting": ("calls waiting", count),
    "service_level": ("service level", percent),
    "abandon_rate": ("abandon rate", percent),
    VOICEMAIL_AGE: ("oldest voicemail waiting", duration),
}
# The levels a notification enters ("ok": cleared), as /metrics counts them.
NOTIFIED_LEVELS: Final = ("warn", "alert", "ok")
MAX_NAME_CHARS = 80
# Levels remembered: six metrics of 16,000 campaigns, far past any tenant the budget allows.
MAX_KEYS = 100_000

# Delivery: a short deadline per POST, a bounded queue, backoff 1 s doubling to 60 s.
POST_TIMEOUT_S = 5.0
QUEUE_MAX = 200
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0
STOP_JOIN_S = 2.0
# The mail server's password, when [alerts] smtp_user is set (a secret: not in dashboard.toml).
SMTP_PASSWORD_ENV = "IPSCAPE_SMTP_PASSWORD"


@dataclass(frozen=True)
class Notification:
    """One level change of one metric of one campaign; ``text`` is safe to display as is."""

    at: datetime  # UTC
    campaign_id: int
    campaign_name: str  # as the tenant sent it: data in the JSON, made inert in ``text``
    metric: str  # a key of METRIC_WORDS
    level: str  # "warn", "alert", or "ok" when it clears
    value: float
    threshold: float  # the bound entered (warn/alert), or the warn bound cleared (ok)
    text: str

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        return {
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "metric": self.metric,
            "level": self.level,
            "value": self.value,
            "threshold": self.threshold,
            "at": self.at.isoformat(),
            "text": self.text,
        }


# Slack's three control characters, escaped as Slack documents; mentions and links broken.
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ZWSP = "\u200b"
_MARKUP = re.compile(r"([@\[\]()*_~`|#])")
# What makes a bare URL or domain: a scheme's "://" (or "mailto:"-like ":"), and a dot (or one
# of the dots IDNA reads as one) between two characters of a name.
_SCHEME = re.compile(r"(?<=\w):(?=\S)")
_DOT = re.compile(r"(?<=\w)([.\u3002\uff0e\uff61])(?=\w)")
_NOT_PRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def inert(name: object) -> str:
    """A vendor string as text no chat client renders as markup: one line, capped, Slack's
    ``& < >`` escaped (no ``<url|label>`` link, no ``<!channel>``), and a zero-width space after
    each mention and Markdown character (no ``@channel``, no ``[label](url)``, no emphasis),
    after a scheme's colon and before each dot inside a word (no bare ``http://evil.example`` or
    ``evil.example`` for Slack or Teams to link)."""
    text = "--" if is_missing(name) else str(name)
    text = " ".join(_NOT_PRINTABLE.sub(" ", text).split())
    if len(text) > MAX_NAME_CHARS:
        text = text[: MAX_NAME_CHARS - 1] + "…"
    text = _MARKUP.sub(rf"\1{_ZWSP}", text.translate(_SLACK_ESCAPES))
    return _DOT.sub(rf"{_ZWSP}\1", _SCHEME.sub(f":{_ZWSP}", text))


def notification_text(
    campaign_name: object,
    metric: str,
    level: Level,
    value: float,
    bound: float,
    left: str,
    *,
    lower_is_worse: bool = False,
) -> str:
    """``ALERT ■ Sales: calls waiting 12 (alert at 10)``, or when it clears ``OK ✓ Sales: calls
    waiting 3 (back from alert; warn at 5)`` (``left`` is the level it left; ``bound`` the
    threshold entered, or the warn threshold when it clears)."""
    words, shown = METRIC_WORDS[metric]
    at = f"at {shown(bound)}" + (" or below" if lower_is_worse else "")
    head = f"{level.badge} {inert(campaign_name)}: {words} {shown(value)}"
    if level is OK:
        return f"{head} (back from {left}; warn {at})"
    return f"{head} ({level.name} {at})"


class Alerter:
    """Level changes of every campaign metric, as notifications for ``send`` and the recent list.

    Called from the collector's refresh threads (campaigns and activities run apart), so the
    state is behind one lock; ``send`` must not block (a `WebhookSender.send` enqueues)."""

    def __init__(
        self,
        thresholds: Thresholds,
        send: Callable[[Notification], None] | None = None,
        *,
        recent_max: int = RECENT_MAX,
    ) -> None:
        self.thresholds = thresholds
        self._send = send
        # One key per (metric, campaign), all kept: an evicted key would lose its hysteresis
        # and announce its level again.
        self._memory = LevelMemory(max_keys=MAX_KEYS)
        self._recent: collections.deque[Notification] = collections.deque(maxlen=recent_max)
        self._lock = threading.Lock()
        self._raised: collections.Counter[str] = collections.Counter()  # level -> notifications
        # The campaigns of the last voicemail reading (id -> name): one that has left the frame
        # (today's, so at midnight) reads 0 once, as its tile does, instead of holding its level.
        self._voicemail_campaigns: dict[int, object] = {}

    def campaigns(self, frame: pd.DataFrame, at: datetime) -> list[Notification]:
        """The changes in a campaigns feed frame."""
        return self._observe(frame, CAMPAIGNS_FEED_METRICS, at)

    def performance(self, today: pd.DataFrame, at: datetime) -> list[Notification]:
        """The changes in today's per-campaign performance rows (the total row is skipped)."""
        return self._observe(today, PERFORMANCE_FEED_METRICS, at)

    def voicemail(self, voicemail: pd.DataFrame, at: datetime) -> list[Notification]:
        """The changes in each campaign's voicemail backlog at ``at`` (`voicemail_backlog` of
        the voicemail feed's frame, with ``returned_at``); voicemails of no campaign are
        skipped, like the total rows of the other metrics."""
        backlog = voicemail_backlog(voicemail, at)
        seen = dict(zip(backlog["campaign_id"].tolist(), backlog["campaign_name"], strict=True))
        with self._lock:
            before, self._voicemail_campaigns = self._voicemail_campaigns, seen
        gone = {cid: name for cid, name in before.items() if cid not in seen}
        if gone:
            cleared = pd.DataFrame(
                {"campaign_id": list(gone), "campaign_name": list(gone.values())}
            ).assign(**{VOICEMAIL_AGE: 0.0})
            backlog = pd.concat([backlog, cleared], ignore_index=True)
        return self._observe(backlog, VOICEMAIL_FEED_METRICS, at)

    def _observe(
        self, frame: pd.DataFrame, metrics: Mapping[str, str], at: datetime
    ) -> list[Notification]:
        present = {m: c for m, c in metrics.items() if c in frame.columns}
        if not present or "campaign_id" not in frame.columns:
            return []
        names = frame["campaign_name"] if "campaign_name" in frame.columns else None
        made: list[Notification] = []
        with self._lock:
            for i, cid in enumerate(frame["campaign_id"]):
                if number(cid) is None:
                    continue
                name = None if names is None else names.iloc[i]
                for metric, column in present.items():
                    change = self._change(int(cid), name, metric, frame[column].iloc[i], at)
                    if change is not None:
                        made.append(change)
            self._recent.extend(made)
            self._raised.update(n.level for n in made)
        for notification in made:
            if self._send is not None:
                self._send(notification)
        return made

    def _change(
        self, cid: int, name: object, metric: str, raw: object, at: datetime
    ) -> Notification | None:
        threshold = self.thresholds.for_campaign(metric, cid)
        key = (metric, cid)
        before = self._memory.last(key)  # the level last announced (or held quietly at OK)
        now = self._memory.update(key, raw, threshold)
        if now is UNKNOWN:
            return None  # says nothing about the trend
        if now is before or (before is None and now is OK):
            return None
        bound = threshold.alert if now.name == "alert" else threshold.warn
        value = float(number(raw) or 0.0)  # known: the level is not UNKNOWN
        worse = (before or OK).name
        return Notification(
            at=at,
            campaign_id=cid,
            campaign_name="" if is_missing(name) else str(name),
            metric=metric,
            level=now.name,
            value=value,
            threshold=float(bound),
            text=notification_text(
                name, metric, now, value, bound, worse, lower_is_worse=not threshold.higher_is_worse
            ),
        )

    @property
    def version(self) -> int:
        """Grows with every notification (the alerts feed is published again when it did)."""
        with self._lock:
            return sum(self._raised.values())

    def raised(self) -> dict[str, int]:
        """Notifications made since the start, by the level entered (`NOTIFIED_LEVELS`)."""
        with self._lock:
            return {level: self._raised[level] for level in NOTIFIED_LEVELS}

    def recent(self) -> list[Notification]:
        """The latest notifications, oldest first."""
        with self._lock:
            return list(self._recent)

    def recent_frame(self) -> pd.DataFrame:
        """The ``alerts`` feed: the latest notifications, newest first, typed."""
        return alerts_frame(reversed(self.recent()))


def voicemail_backlog(voicemail: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """One row per campaign of the voicemail frame (with ``returned_at``): ``campaign_id``,
    ``campaign_name`` (its latest) and ``voicemail_age_s``, the age at ``at`` of its oldest
    voicemail still waiting for a call-back, as the voicemail tile reads it
    (`voicemail_summary`); 0 when none of its voicemails waits (its backlog is clear), unknown
    when those waiting have no receipt time. Voicemails of no campaign are left out."""
    columns = ["campaign_id", "campaign_name", VOICEMAIL_AGE]
    if "campaign_id" not in voicemail.columns or voicemail.empty:
        return pd.DataFrame(columns=columns)
    known = voicemail[voicemail["campaign_id"].notna().to_numpy(dtype=bool)]
    if "campaign_name" not in known.columns:
        known = known.assign(campaign_name=pd.NA)
    names = known.groupby("campaign_id", sort=False)["campaign_name"].last()
    waiting = known[~returned_by(known, at)]
    # The zone only says when "returned today" began, which the age does not read.
    oldest = {
        cid: voicemail_summary(rows, at, tz="UTC").oldest_waiting_s
        for cid, rows in waiting.groupby("campaign_id", sort=False)
    }
    return pd.DataFrame(
        {
            "campaign_id": [int(cid) for cid in names.index],
            "campaign_name": list(names),
            VOICEMAIL_AGE: pd.array([oldest.get(cid, 0.0) for cid in names.index], "Float64"),
        },
        columns=columns,
    )


def alerts_frame(notifications: Any = ()) -> pd.DataFrame:
    """Notifications as the ``alerts`` feed's frame (``ALERT_COLUMNS``), empty but typed."""
    rows = list(notifications)
    return pd.DataFrame(
        {
            "at": pd.to_datetime(pd.Series([n.at for n in rows], dtype=object), utc=True),
            "campaign_id": pd.array([n.campaign_id for n in rows], dtype="Int64"),
            "campaign_name": pd.array([n.campaign_name for n in rows], dtype="string"),
            "metric": pd.array([n.metric for n in rows], dtype="string"),
            "level": pd.array([n.level for n in rows], dtype="string"),
            "value": pd.array([n.value for n in rows], dtype="Float64"),
            "threshold": pd.array([n.threshold for n in rows], dtype="Float64"),
            "text": pd.array([n.text for n in rows], dtype="string"),
        },
        columns=list(ALERT_COLUMNS),
    )


# --- delivery ----------------------------------------------------------------------------------


def retry_delay_s(
    attempt: int, first_s: float = FIRST_RETRY_S, max_s: float = MAX_RETRY_S
) -> float:
    """Seconds before attempt ``attempt + 1``: doubling from ``first_s``, capped at ``max_s``, so
    a receiver that is down is not hammered and one that recovers hears within a minute."""
    return min(max_s, first_s * 2 ** max(0, attempt - 1))


def should_retry(status_code: int | None) -> bool:
    """A connection failure, a timeout (None), 408, 429 or a 5xx may pass; any other 4xx is a
    webhook that will refuse the same body again (a revoked URL, say): retrying cannot help."""
    return status_code is None or status_code in (408, 429) or status_code >= 500


@dataclass(frozen=True)
class DeliveryCounts:
    """What one channel's outbox did since it started, for /metrics (labels: ``channel`` only,
    a fixed word, never the address)."""

    channel: str  # "webhook" or "email"
    sent: int = 0  # taken by the receiver
    retried: int = 0  # attempts that failed and were tried again
    given_up: int = 0  # refused for good, or still failing after max_attempts
    dropped: int = 0  # pushed out of a full queue before they were delivered


@dataclass(frozen=True)
class AlertStats:
    """The counters of one collector's alerts: changes raised and each channel's deliveries."""

    raised: Mapping[str, int]  # level entered (NOTIFIED_LEVELS) -> notifications made
    deliveries: tuple[DeliveryCounts, ...] = ()  # one per configured channel


@dataclass
class _Pending:
    notification: Notification
    attempts: int = 0


class Outbox:
    """Delivers notifications to one channel (`_deliver`) from a background thread.

    `send` never blocks: it appends to a bounded queue (the oldest is dropped and counted when it
    is full) and returns. One notification is delivered at a time, in order; a failure is
    retried after `retry_delay_s` until ``max_attempts``, then given up with a warning. What
    happened is counted (`counts`), under a lock of its own: the collector's thread counts the
    drops, this one the rest, and /metrics reads them from a third."""

    channel = "outbox"  # what the log lines call it (never its address)
    label = "outbox"  # the channel's label in /metrics

    def __init__(
        self,
        *,
        max_attempts: int = AlertsConfig.max_attempts,
        first_retry_s: float = FIRST_RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        queue_max: int = QUEUE_MAX,
    ) -> None:
        self.max_attempts = max_attempts
        self.first_retry_s, self.max_retry_s = first_retry_s, max_retry_s
        self._queue: collections.deque[_Pending] = collections.deque()
        self.queue_max = queue_max
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._counted: collections.Counter[str] = collections.Counter()  # DeliveryCounts' fields
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:  # never the address: a webhook URL carries the channel's token
        return f"{type(self).__name__}(max_attempts={self.max_attempts}, queued={len(self._queue)})"

    def _count(self, what: str) -> None:
        with self._count_lock:
            self._counted[what] += 1

    def counts(self) -> DeliveryCounts:
        """What this outbox did so far (a consistent copy)."""
        with self._count_lock:
            return DeliveryCounts(self.label, **self._counted)

    def start(self) -> Outbox:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
            self._thread.start()
        return self

    def send(self, notification: Notification) -> None:
        with self._cond:
            if len(self._queue) >= self.queue_max:
                self._queue.popleft()
                self._count("dropped")
                log.warning("alerts: queue full, the oldest notification was dropped")
            self._queue.append(_Pending(notification))
            self._cond.notify_all()

    def flush(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) until every queued notification is delivered or given up."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                pending = self._queue[0]
                self._busy = True
            try:
                delay = self._attempt(pending)
            except Exception:  # a bug of ours must not end the thread: this one is given up
                log.exception("alerts: delivering a notification failed")
                self._count("given_up")
                delay = None
            with self._cond:
                if delay is None and self._queue and self._queue[0] is pending:
                    self._queue.popleft()
                self._busy = False
                self._cond.notify_all()
            if delay is not None:
                self._stopping.wait(delay)

    def _attempt(self, pending: _Pending) -> float | None:
        """One POST; the seconds to wait before trying again, or None when done with it."""
        pending.attempts += 1
        status = self._deliver(pending.notification)
        if status is not None and 200 <= status < 300:
            self._count("sent")
            return None
        if not should_retry(status) or pending.attempts >= self.max_attempts:
            self._count("given_up")
            log.warning(
                "alerts: the %s did not take a notification after %d attempt(s) (%s); given up",
                self.channel,
                pending.attempts,
                "no answer" if status is None else f"HTTP {status}",
            )
            return None
        delay = retry_delay_s(pending.attempts, self.first_retry_s, self.max_retry_s)
        self._count("retried")
        log.debug(
            "alerts: %s attempt %d failed; retrying in %g s", self.channel, pending.attempts, delay
        )
        return delay

    def _deliver(self, notification: Notification) -> int | None:
        """One attempt: an HTTP-like status (2xx taken), or None for no answer."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the thread (what is still queued is left: the recent list has it) and close."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_S)
        self._close()

    def _close(self) -> None:
        """Release the channel's connections (after the thread stopped)."""


class WebhookSender(Outbox):
    """POSTs notifications as JSON to one webhook."""

    channel = label = "webhook"

    def __init__(self, url: str, *, timeout_s: float = POST_TIMEOUT_S, **options: Any) -> None:
        super().__init__(**options)
        self._url = url
        # The transport itself, not an httpx.Client: the client logs every request's URL (at
        # INFO, logger "httpx"), and this one carries a token. No redirects are followed.
        self._transport = httpx.HTTPTransport()
        self._timeout = httpx.Timeout(timeout_s).as_dict()

    def _deliver(self, notification: Notification) -> int | None:
        request = httpx.Request(
            "POST", self._url, json=notification.payload(), extensions={"timeout": self._timeout}
        )
        try:
            response = self._transport.handle_request(request)
        except httpx.HTTPError as exc:  # never str(exc): it may carry the URL
            log.debug("alerts: webhook unreachable (%s)", type(exc).__name__)
            return None
        response.close()  # the body is not read: only the status says whether it was taken
        return response.status_code

    def _close(self) -> None:
        self._transport.close()


class EmailSender(Outbox):
    """Mails each notification (``text`` as the subject and first line, the JSON fields below)
    over SMTP: STARTTLS when the server offers it, a login when ``[alerts] smtp_user`` is set
    (the password from the environment, `SMTP_PASSWORD_ENV`)."""

    channel = "mail server"
    label = "email"

    def __init__(
        self, config: AlertsConfig, *, password: str = "", timeout_s: float = POST_TIMEOUT_S,
        **options: Any,
    ) -> None:  # fmt: skip
        super().__init__(**options)
        self._config = config
        self._password = password
        self._timeout_s = timeout_s

    def _deliver(self, notification: Notification) -> int | None:
        config = self._config
        message = email_message(notification, config.smtp_from, config.smtp_to)
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=self._timeout_s) as smtp:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if config.smtp_user:
                    smtp.login(config.smtp_user, self._password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:  # 5xx: refused for good; 4xx: try again
            log.debug("alerts: mail server answered %d", exc.smtp_code)
            return 400 if exc.smtp_code >= 500 else 503
        except (OSError, smtplib.SMTPException) as exc:
            log.debug("alerts: mail server unreachable (%s)", type(exc).__name__)
            return None
        return 200


def email_message(notification: Notification, sender: str, to: Sequence[str]) -> EmailMessage:
    """The notification as a plain-text mail: the text line as the subject, then each field."""
    message = EmailMessage()
    message["Subject"] = notification.text
    message["From"] = sender
    message["To"] = ", ".join(to)
    fields = "\n".join(f"{key}: {value}" for key, value in notification.payload().items())
    message.set_content(f"{notification.text}\n\n{fields}\n")
    return message


def senders_for(config: AlertsConfig, env: Mapping[str, str] | None = None) -> tuple[Outbox, ...]:
    """An outbox per configured channel (webhook, mail), started; none when none is set."""
    made: list[Outbox] = []
    if config.webhook_url:
        made.append(WebhookSender(config.webhook_url, max_attempts=config.max_attempts))
    if config.smtp_host:
        password = (os.environ if env is None else env).get(SMTP_PASSWORD_ENV, "")
        made.append(EmailSender(config, password=password, max_attempts=config.max_attempts))
    return tuple(outbox.start() for outbox in made)


__all__: Sequence[str] = (
    "ALERTS_FEED",
    "ALERT_COLUMNS",
    "NOTIFIED_LEVELS",
    "AlertStats",
    "Alerter",
    "DeliveryCounts",
    "EmailSender",
    "Notification",
    "Outbox",
    "WebhookSender",
    "alerts_frame",
    "email_message",
    "inert",
    "notification_text",
    "retry_delay_s",
    "senders_for",
    "should_retry",
    "voicemail_backlog",
)
