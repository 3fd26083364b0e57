"""The ipSCAPE Platform API client.

One injected ``httpx.Client``; HTTP Basic with the API token and one of its two secret keys, falling
back to the other key when one is refused; retries in this one layer; a small error tree; pagination
as an iterator; operation paths discovered from the tenant's own ``platform-api.yaml``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ipscape.errors import (
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
)
from ipscape.operations import DEFAULT_OPERATIONS, Operation, resolve_operations
from ipscape.settings import Settings

log = logging.getLogger("ipscape.client")

USER_AGENT = "ipscape-dashboard/0.1"
# A voicemail or recording bigger than this is refused rather than held in memory.
MAX_MEDIA_BYTES = 50 * 1024 * 1024
# A runaway pagination (a tenant that keeps returning the same cursor) must end.
MAX_PAGES = 10_000
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; ``Retry-After`` honoured up to a cap."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class UpstreamMeter:
    """A bounded log of requests made to the tenant, so pages can show the budget we spend."""

    maxlen: int = 5000
    clock: Callable[[], float] = time.monotonic
    _events: deque[tuple[float, str, int | None, float, str | None]] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._events = deque(maxlen=self.maxlen)

    def record(
        self, operation: str, status: int | None, latency_s: float, error: str | None = None
    ) -> None:
        with self._lock:
            self._events.append((self.clock(), operation, status, latency_s, error))

    def summary(self, window_s: float = 60) -> dict[str, dict[str, Any]]:
        """operation -> requests in the window, last latency (ms), last status, last error."""
        cutoff = self.clock() - window_s
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            events = list(self._events)
        for at, op, status, latency, error in events:
            row = out.setdefault(
                op,
                {"requests": 0, "last_latency_ms": None, "last_status": None, "last_error": None},
            )
            if at >= cutoff:
                row["requests"] += 1
            row["last_latency_ms"] = round(latency * 1000, 1)
            row["last_status"] = status
            row["last_error"] = error
        return out


def make_http_client(settings: Settings) -> httpx.Client:
    """The default transport: explicit timeouts and pool limits; no redirects, so credentials
    are never sent on to another place."""
    return httpx.Client(
        timeout=httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s)),
        limits=httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=30),
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def format_timestamp(value: datetime) -> str:
    """ipSCAPE's own form: ISO 8601 with a colon-less offset, in UTC."""
    if value.tzinfo is None:
        raise ValueError("timestamps sent to the tenant must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class IpscapeClient:
    """A thread-safe client for one tenant. Pass ``http`` to inject a transport (tests, proxies)."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.Client | None = None,
        *,
        retry: RetryPolicy | None = None,
        discover: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._http = http if http is not None else make_http_client(settings)
        self._owns_http = http is None
        self.retry = retry or RetryPolicy()
        self._discover = discover
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._key_index = 0
        self._lock = threading.Lock()
        self._discovery_lock = threading.Lock()
        self._operations: dict[str, Operation] | None = None
        self.meter = UpstreamMeter()
        root = urlsplit(settings.base_url)
        self._origin = f"{root.scheme}://{root.netloc}"
        self._root_path = root.path.rstrip("/")

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> IpscapeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"IpscapeClient({self.settings.redacted}, key {self.key_number})"

    @property
    def key_number(self) -> int:
        """Which secret key (1 or 2) is in use: safe to log, unlike the key."""
        return self._key_index + 1

    # -- discovery -------------------------------------------------------------------------
    def operations(self) -> dict[str, Operation]:
        """Logical operation -> Operation, from the tenant's spec where it names them."""
        with self._discovery_lock:
            if self._operations is None:
                ops = dict(DEFAULT_OPERATIONS)
                if self._discover:
                    ops = resolve_operations(self._load_spec(), self._root_path)
                    tenant = sorted(n for n, op in ops.items() if op.source == "tenant")
                    log.info("operations from the tenant's spec: %s", ", ".join(tenant) or "none")
                self._operations = ops
            return self._operations

    def _load_spec(self) -> object:
        import yaml

        try:
            response = self._send("discovery", "GET", self.settings.base_url + "/platform-api.yaml")
        except AuthenticationError:
            raise
        except ApiError as exc:
            log.info(
                "no usable platform-api.yaml (%s); using the default paths", type(exc).__name__
            )
            return None
        try:
            return yaml.safe_load(response.text)
        except yaml.YAMLError:
            log.warning("the tenant's platform-api.yaml does not parse; using the default paths")
            return None

    # -- transport -------------------------------------------------------------------------
    def _url(self, path_or_uri: str) -> str:
        """Resolve an operation path or a payload link against the API root, never doubling it."""
        if path_or_uri.startswith(("http://", "https://")):
            parts = urlsplit(path_or_uri)
            if f"{parts.scheme}://{parts.netloc}" != self._origin:
                # Following it would send our credentials to another host.
                raise ResponseFormatError("the tenant linked to another host; not followed")
            return path_or_uri
        if not path_or_uri.startswith("/"):
            path_or_uri = "/" + path_or_uri
        if self._root_path and (
            path_or_uri == self._root_path or path_or_uri.startswith(self._root_path + "/")
        ):
            return self._origin + path_or_uri
        return self.settings.base_url + path_or_uri

    def _auth(self, index: int) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.settings.api_token, self.settings.secret_keys[index])

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """One logical request: key fallback, retries, error mapping. Returns a 2xx response."""
        keys_tried: set[int] = set()
        attempt = 0
        last_retry_after: float | None = None
        while True:
            with self._lock:
                key_index = self._key_index
            keys_tried.add(key_index)
            started = time.perf_counter()
            try:
                # params=None keeps a URL's own query string (a cursor); {} would replace it.
                response = self._http.request(
                    method, url, params=params or None, json=json, auth=self._auth(key_index)
                )
            except httpx.TransportError as exc:
                latency = time.perf_counter() - started
                timeout = isinstance(exc, httpx.TimeoutException)
                self.meter.record(operation, None, latency, "timeout" if timeout else "connection")
                # A non-idempotent request is resent only if it never reached the server.
                retryable = method in _IDEMPOTENT or isinstance(exc, httpx.ConnectError)
                if retryable and attempt + 1 < self.retry.max_attempts:
                    delay = self.retry.backoff(attempt, self._rng)
                    log.warning(
                        "%s: %s, retry %d in %.1f s",
                        operation,
                        type(exc).__name__,
                        attempt + 1,
                        delay,
                    )
                    attempt += 1
                    self._sleep(delay)
                    continue
                cls = ApiTimeoutError if timeout else ApiConnectionError
                what = "timed out" if timeout else f"could not connect ({type(exc).__name__})"
                raise cls(f"{operation}: the tenant {what}", operation=operation) from exc

            latency = time.perf_counter() - started
            status = response.status_code
            self.meter.record(
                operation, status, latency, None if status < 400 else f"HTTP {status}"
            )
            if status < 300:
                return response
            if status in (401, 403):
                others = [i for i in range(len(self.settings.secret_keys)) if i not in keys_tried]
                if others:
                    with self._lock:
                        self._key_index = others[0]
                    log.warning(
                        "secret key %d refused (HTTP %d); switching to secret key %d",
                        key_index + 1,
                        status,
                        others[0] + 1,
                    )
                    continue
                raise AuthenticationError(
                    f"{operation}: every configured secret key was refused (HTTP {status})",
                    status_code=status,
                    operation=operation,
                )
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status == 429:
                last_retry_after = retry_after
            retryable = status in self.retry.retry_statuses and (
                method in _IDEMPOTENT or status in (429, 503)
            )
            if retryable and attempt + 1 < self.retry.max_attempts:
                if retry_after is not None and retry_after > self.retry.max_retry_after_s:
                    # Waiting longer would stall every reader: give up now and let the poller
                    # back off for as long as the tenant asked.
                    raise self._status_error(operation, status, retry_after)
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.retry.backoff(attempt, self._rng)
                )
                log.warning(
                    "%s: HTTP %d, retry %d in %.1f s", operation, status, attempt + 1, delay
                )
                attempt += 1
                self._sleep(delay)
                continue
            raise self._status_error(operation, status, retry_after or last_retry_after)

    @staticmethod
    def _status_error(operation: str, status: int, retry_after: float | None) -> ApiStatusError:
        message = f"{operation}: the tenant answered HTTP {status}"
        if status == 429:
            return RateLimitedError(
                message, status_code=status, operation=operation, retry_after_s=retry_after
            )
        if status == 404:
            return NotFoundError(message, status_code=status, operation=operation)
        if status >= 500:
            return ServerError(message, status_code=status, operation=operation)
        return ApiStatusError(message, status_code=status, operation=operation)

    def _json(
        self,
        name: str,
        path_params: Mapping[str, object] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        url: str | None = None,
    ) -> Any:
        op = self.operations()[name]
        target = url or self._url(op.format(**(path_params or {})))
        response = self._send(name, op.method, target, params=params, json=body)
        try:
            return response.json()
        except ValueError as exc:
            raise ResponseFormatError(
                f"{name}: the response is not valid JSON", operation=name
            ) from exc

    def _pages(self, name: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Pages of ``items``, following ``metadata.nextUri`` until it is null or missing."""
        body = self._json(name, params={k: v for k, v in (params or {}).items() if v is not None})
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
                raise ResponseFormatError(
                    f"{name}: expected an object with an items list", operation=name
                )
            yield body["items"]
            metadata = body.get("metadata")
            next_uri = metadata.get("nextUri") if isinstance(metadata, Mapping) else None
            if not next_uri:
                return
            if not isinstance(next_uri, str) or next_uri in seen:
                raise ResponseFormatError(
                    f"{name}: the tenant's nextUri loops or is not a link", operation=name
                )
            seen.add(next_uri)
            body = self._json(name, url=self._url(next_uri))
        raise ResponseFormatError(f"{name}: more than {MAX_PAGES} pages", operation=name)

    def _object(self, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ResponseFormatError(f"{name}: expected a JSON object", operation=name)
        return body

    # -- operations ------------------------------------------------------------------------
    def iter_activities(
        self,
        *,
        campaign_id: int | str | None = None,
        lead_id: int | str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        activity_type: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every activity matching the filters, across pages, as the tenant's raw items."""
        params = {
            "campaignId": campaign_id,
            "leadId": lead_id,
            "createdTimestampFrom": format_timestamp(created_from) if created_from else None,
            "createdTimestampTo": format_timestamp(created_to) if created_to else None,
            "activityType": activity_type,
        }
        for page in self._pages("list_activities", params):
            yield from page

    def list_activities(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.iter_activities(**filters))

    def get_activity(self, activity_id: int | str) -> dict[str, Any]:
        body = self._json("activity_details", {"activityId": activity_id})
        return self._object("activity_details", body)

    def list_campaigns(self) -> list[dict[str, Any]]:
        return [item for page in self._pages("list_campaigns") for item in page]

    def campaign_statistics(self, campaign_id: int | str, period: str = "day") -> dict[str, Any]:
        if period not in ("hour", "day"):
            raise ValueError("period must be 'hour' or 'day'")
        body = self._json(
            "campaign_statistics", {"campaignId": campaign_id}, params={"period": period}
        )
        return self._object("campaign_statistics", body)

    def agent_status(self, campaign_id: int | str | None = None) -> list[dict[str, Any]]:
        return [
            item
            for page in self._pages("agent_status", {"campaignId": campaign_id})
            for item in page
        ]

    def get_media(self, media: int | str) -> bytes:
        """Audio bytes of a recording or voicemail, by media id or by the payload's mediaUri."""
        op = self.operations()["media"]
        text = str(media)
        url = self._url(text) if "/" in text else self._url(op.format(mediaId=text))
        response = self._send("media", "GET", url)
        if len(response.content) > MAX_MEDIA_BYTES:
            raise ResponseFormatError("media: larger than the dashboard accepts", operation="media")
        return response.content

    def create_lead(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._object("create_lead", self._json("create_lead", body=dict(body)))

    def update_lead(self, lead_id: int | str, body: Mapping[str, Any]) -> dict[str, Any]:
        result = self._json("update_lead", {"leadId": lead_id}, body=dict(body))
        return self._object("update_lead", result)
