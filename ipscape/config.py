"""The supervisor-editable dashboard configuration (``dashboard.toml``).

Intervals, thresholds, the campaign list, history and wall-display options live in one TOML file
that a supervisor can read and version. Every problem is a ConfigError that names the key and says
what is expected; values outside safe ranges are refused rather than silently clamped.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipscape.errors import ConfigError

CONFIG_ENV = "IPSCAPE_DASHBOARD_CONFIG"
DEFAULT_CONFIG_PATH = Path("dashboard.toml")
# ipSCAPE's own "Agents Online" view refreshes every 8 s; polling faster only costs the tenant.
MIN_POLL_S = 8.0


@dataclass(frozen=True)
class PollConfig:
    campaigns_s: float = 10.0
    agents_s: float = 10.0
    activities_s: float = 30.0
    jitter_s: float = 1.0
    # after a failed refresh, wait this long before trying again (doubles up to max)
    error_backoff_s: float = 15.0
    error_backoff_max_s: float = 120.0
    # ceiling on requests to the tenant per minute, for the whole process, shared by the feeds
    max_requests_per_min: float = 600.0


@dataclass(frozen=True)
class Threshold:
    """warn/alert levels; a value must fall below ``level - hysteresis`` to clear a colour.

    With ``higher_is_worse`` False (service level: less is worse) the levels are entered at or
    below warn/alert (alert <= warn) and cleared once the value rises above level + hysteresis.
    """

    warn: float
    alert: float
    hysteresis: float = 0.0
    higher_is_worse: bool = True


@dataclass(frozen=True)
class ServiceLevelThreshold(Threshold):
    """The service-level levels (on the percentage, lower is worse) and the target wait T in
    seconds that a call must be answered within to count as within the service level."""

    higher_is_worse: bool = False
    target_s: float = 20.0


@dataclass(frozen=True)
class Thresholds:
    ewt_s: Threshold = Threshold(60, 180, 10)
    longest_wait_s: Threshold = Threshold(120, 300, 10)
    calls_waiting: Threshold = Threshold(5, 10, 1)
    time_in_state_s: Threshold = Threshold(600, 1200, 30)
    voicemail_age_s: Threshold = Threshold(1800, 3600, 60)
    # percentages: 80/20 is the common service-level goal; lower is worse
    service_level: ServiceLevelThreshold = ServiceLevelThreshold(80, 70, 2)
    abandon_rate: Threshold = Threshold(5, 10, 1)
    # campaign id -> overrides for that campaign
    per_campaign: Mapping[int, Mapping[str, Threshold]] = field(default_factory=dict)

    def for_campaign(self, metric: str, campaign_id: int | None = None) -> Threshold:
        if campaign_id is not None:
            override = self.per_campaign.get(int(campaign_id), {}).get(metric)
            if override is not None:
                return override
        return getattr(self, metric)

    def service_level_targets(self) -> tuple[float, dict[int, float]]:
        """(the default target wait T in seconds, campaign id -> its own T where overridden)."""
        own: dict[int, float] = {}
        for campaign_id, overrides in self.per_campaign.items():
            override = overrides.get("service_level")
            if isinstance(override, ServiceLevelThreshold):
                own[campaign_id] = override.target_s
        return self.service_level.target_s, own


@dataclass(frozen=True)
class HistoryConfig:
    path: str = "data/history.sqlite"
    retention_days: float = 7.0


@dataclass(frozen=True)
class WallConfig:
    rotate_s: float = 20.0
    reload_at: str = "03:00"  # local time of the nightly self-reload, "" for never
    open_hours: str = ""  # e.g. "07:00-20:00": outside it the board dims; "" = always bright
    pixel_shift_px: int = 4
    kiosk_tokens: tuple[str, ...] = ()  # revocable read-only tokens; empty = no token needed


@dataclass(frozen=True)
class AlertsConfig:
    """Where level changes are sent (ipscape/alerts.py). The webhook URL carries the receiving
    channel's token: it is a secret, kept out of the repr (and so out of logs and tracebacks)."""

    webhook_url: str = field(default="", repr=False)  # "" = no webhook
    # delivery attempts per notification before it is given up (logged), backing off between
    max_attempts: int = 8
    # mail: "" = none; the password comes from the environment (ipscape/alerts.py)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_to: tuple[str, ...] = ()
    smtp_user: str = ""

    @property
    def enabled(self) -> bool:
        """Anything is sent (the recent list is kept either way)."""
        return bool(self.webhook_url or self.smtp_host)


@dataclass(frozen=True)
class DashboardConfig:
    title: str = "Contact Centre"
    display_timezone: str = "Australia/Sydney"
    campaigns: tuple[int, ...] = ()  # empty = every active campaign the tenant lists
    poll: PollConfig = PollConfig()
    thresholds: Thresholds = Thresholds()
    history: HistoryConfig = HistoryConfig()
    wall: WallConfig = WallConfig()
    alerts: AlertsConfig = AlertsConfig()
    source: str = "defaults"  # where this config came from, for the page footer


def _section(data: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] must be a table in the dashboard config.", setting=name)
    return value


def _number(
    table: Mapping[str, object], key: str, default: float, where: str, lo: float, hi: float
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{where}.{key} must be a number (got {type(value).__name__}).",
            setting=f"{where}.{key}",
        )
    if not lo <= value <= hi:
        raise ConfigError(
            f"{where}.{key} must be between {lo:g} and {hi:g} (got {value:g}).",
            setting=f"{where}.{key}",
        )
    return float(value)


def _string(table: Mapping[str, object], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be text.", setting=f"{where}.{key}")
    return value


# The thresholds on a percentage (0-100).
_PERCENTAGES = ("service_level", "abandon_rate")


def _refuse_unknown(
    table: Mapping[str, object], known: set[str], where: str, setting: Callable[[str], str]
) -> None:
    """A ConfigError naming the keys of ``table`` that are not ``known``, and the known ones;
    its setting is ``setting`` of the first unknown key."""
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in {where}: {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
            setting=setting(unknown[0]),
        )


def _threshold(value: object, where: str, default: Threshold) -> Threshold:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table with warn and alert.", setting=where)
    is_sl = isinstance(default, ServiceLevelThreshold)
    known = {"warn", "alert", "hysteresis"} | ({"target_s"} if is_sl else set())
    _refuse_unknown(value, known, where, lambda key: f"{where}.{key}")
    top = 100 if where.rsplit(".", 1)[-1] in _PERCENTAGES else 10**7
    warn = _number(value, "warn", default.warn, where, 0, top)
    alert = _number(value, "alert", default.alert, where, 0, top)
    hysteresis = _number(value, "hysteresis", default.hysteresis, where, 0, 10**6)
    if default.higher_is_worse and alert < warn:
        raise ConfigError(f"{where}.alert must be at least {where}.warn.", setting=where)
    if not default.higher_is_worse and alert > warn:
        raise ConfigError(
            f"{where}.alert must be at most {where}.warn (a lower {where.rsplit('.', 1)[-1]} "
            "is worse).",
            setting=where,
        )
    if isinstance(default, ServiceLevelThreshold):
        target = _number(value, "target_s", default.target_s, where, 0, 3600)
        return ServiceLevelThreshold(warn, alert, hysteresis, target_s=target)
    return Threshold(warn, alert, hysteresis, default.higher_is_worse)


_THRESHOLD_METRICS = (
    "ewt_s",
    "longest_wait_s",
    "calls_waiting",
    "time_in_state_s",
    "voicemail_age_s",
    *_PERCENTAGES,
)


def _thresholds(table: Mapping[str, object]) -> Thresholds:
    defaults = Thresholds()
    values: dict[str, Any] = {}  # metric -> its Threshold (a ServiceLevelThreshold for one)
    for metric in _THRESHOLD_METRICS:
        if metric in table:
            values[metric] = _threshold(
                table[metric], f"thresholds.{metric}", getattr(defaults, metric)
            )
    per_campaign: dict[int, dict[str, Threshold]] = {}
    campaigns = table.get("campaign", {})
    if not isinstance(campaigns, Mapping):
        raise ConfigError(
            "[thresholds.campaign] must be a table keyed by campaign id.",
            setting="thresholds.campaign",
        )
    for key, metrics in campaigns.items():
        where = f"thresholds.campaign.{key}"
        try:
            campaign_id = int(key)
        except ValueError:
            raise ConfigError(
                f"{where}: campaign keys must be campaign ids (numbers).", setting=where
            ) from None
        if not isinstance(metrics, Mapping):
            raise ConfigError(f"{where} must be a table of metrics.", setting=where)
        per_campaign[campaign_id] = {}
        for metric, value in metrics.items():
            if metric not in _THRESHOLD_METRICS:
                raise ConfigError(
                    f"{where}.{metric} is not a known metric; use one of "
                    + ", ".join(_THRESHOLD_METRICS),
                    setting=f"{where}.{metric}",
                )
            # keys a campaign leaves out are the file's own for the metric, then the defaults
            per_campaign[campaign_id][metric] = _threshold(
                value, f"{where}.{metric}", values.get(metric, getattr(defaults, metric))
            )
    unknown = set(table) - set(_THRESHOLD_METRICS) - {"campaign"}
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in [thresholds]: {', '.join(sorted(unknown))}.", setting="thresholds"
        )
    return replace(defaults, per_campaign=per_campaign, **values)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and url.isprintable()
        and (" " not in url)
    )


def _alerts(table: Mapping[str, object]) -> AlertsConfig:
    """[alerts]; an error names the key but never echoes the URL (it carries a token)."""
    known = {
        "webhook_url", "max_attempts", "smtp_host", "smtp_port", "smtp_from", "smtp_to", "smtp_user"
    }  # fmt: skip
    _refuse_unknown(table, known, "[alerts]", lambda _key: "alerts")
    url = table.get("webhook_url", "")
    if not isinstance(url, str):
        raise ConfigError("alerts.webhook_url must be text.", setting="alerts.webhook_url")
    url = url.strip()
    if url and not _is_web_url(url):
        raise ConfigError(
            "alerts.webhook_url must be an http:// or https:// URL (or empty for none); "
            "the value is not shown here because it carries the webhook's token.",
            setting="alerts.webhook_url",
        )
    attempts = _number(table, "max_attempts", AlertsConfig.max_attempts, "alerts", 1, 100)
    if attempts != int(attempts):
        raise ConfigError(
            "alerts.max_attempts must be a whole number.", setting="alerts.max_attempts"
        )
    host = _string(table, "smtp_host", "", "alerts").strip()
    sender = _string(table, "smtp_from", "", "alerts").strip()
    to = table.get("smtp_to", [])
    if not isinstance(to, list) or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(
            "alerts.smtp_to must be a list of e-mail addresses.", setting="alerts.smtp_to"
        )
    if host and not (to and "@" in sender):
        raise ConfigError(
            "alerts.smtp_host needs alerts.smtp_from (an address) and alerts.smtp_to.",
            setting="alerts.smtp_to" if not to else "alerts.smtp_from",
        )
    return AlertsConfig(
        webhook_url=url,
        max_attempts=int(attempts),
        smtp_host=host,
        smtp_port=int(_number(table, "smtp_port", AlertsConfig.smtp_port, "alerts", 1, 65535)),
        smtp_from=sender,
        smtp_to=tuple(a.strip() for a in to),
        smtp_user=_string(table, "smtp_user", "", "alerts").strip(),
    )


def config_from_mapping(data: Mapping[str, object], source: str = "mapping") -> DashboardConfig:
    """Validate a parsed TOML document into a DashboardConfig."""
    known = {
        "title", "display_timezone", "campaigns", "poll", "thresholds", "history", "wall", "alerts"
    }  # fmt: skip
    _refuse_unknown(data, known, "the dashboard config", lambda key: key)
    title = _string(data, "title", DashboardConfig.title, "config")
    tz = _string(data, "display_timezone", DashboardConfig.display_timezone, "config")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ConfigError(
            f"display_timezone {tz!r} is not a known time zone (e.g. Australia/Sydney).",
            setting="display_timezone",
        ) from None
    campaigns = data.get("campaigns", [])
    if not isinstance(campaigns, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in campaigns
    ):
        raise ConfigError(
            "campaigns must be a list of campaign ids, e.g. [1, 2, 5].", setting="campaigns"
        )

    p = _section(data, "poll")
    poll = PollConfig(
        campaigns_s=_number(p, "campaigns_s", PollConfig.campaigns_s, "poll", MIN_POLL_S, 3600),
        agents_s=_number(p, "agents_s", PollConfig.agents_s, "poll", MIN_POLL_S, 3600),
        activities_s=_number(p, "activities_s", PollConfig.activities_s, "poll", MIN_POLL_S, 3600),
        jitter_s=_number(p, "jitter_s", PollConfig.jitter_s, "poll", 0, 60),
        error_backoff_s=_number(p, "error_backoff_s", PollConfig.error_backoff_s, "poll", 1, 3600),
        error_backoff_max_s=_number(
            p, "error_backoff_max_s", PollConfig.error_backoff_max_s, "poll", 1, 86400
        ),
        max_requests_per_min=_number(
            p, "max_requests_per_min", PollConfig.max_requests_per_min, "poll", 10, 100_000
        ),
    )
    h = _section(data, "history")
    history = HistoryConfig(
        path=_string(h, "path", HistoryConfig.path, "history"),
        retention_days=_number(
            h, "retention_days", HistoryConfig.retention_days, "history", 0.01, 3650
        ),
    )
    w = _section(data, "wall")
    tokens = w.get("kiosk_tokens", [])
    if not isinstance(tokens, list) or not all(isinstance(t, str) and len(t) >= 16 for t in tokens):
        raise ConfigError(
            "wall.kiosk_tokens must be a list of random strings of 16+ characters.",
            setting="wall.kiosk_tokens",
        )
    wall = WallConfig(
        rotate_s=_number(w, "rotate_s", WallConfig.rotate_s, "wall", 5, 3600),
        reload_at=_string(w, "reload_at", WallConfig.reload_at, "wall"),
        open_hours=_string(w, "open_hours", WallConfig.open_hours, "wall"),
        pixel_shift_px=int(_number(w, "pixel_shift_px", WallConfig.pixel_shift_px, "wall", 0, 20)),
        kiosk_tokens=tuple(tokens),
    )
    return DashboardConfig(
        title=title,
        display_timezone=tz,
        campaigns=tuple(campaigns),
        poll=poll,
        thresholds=_thresholds(_section(data, "thresholds")),
        history=history,
        wall=wall,
        alerts=_alerts(_section(data, "alerts")),
        source=source,
    )


def load_config(path: str | os.PathLike[str] | None = None) -> DashboardConfig:
    """Load the dashboard config from ``path``, $IPSCAPE_DASHBOARD_CONFIG or ./dashboard.toml.

    No file at the default path means defaults; a file that was asked for explicitly but is missing,
    or any file that does not parse, is a ConfigError that says where and what.
    """
    explicit = path is not None or bool(os.environ.get(CONFIG_ENV))
    chosen = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"Dashboard config file not found: {chosen}.", setting=CONFIG_ENV)
        return DashboardConfig()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{chosen} is not valid TOML: {exc}. Fix the line it names.", setting=str(chosen)
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{chosen} cannot be read: {type(exc).__name__}.", setting=str(chosen)
        ) from exc
    try:
        return config_from_mapping(data, source=str(chosen))
    except ConfigError as exc:
        raise ConfigError(f"{chosen}: {exc}", setting=exc.setting) from exc
