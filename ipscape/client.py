"""The ipSCAPE Platform API client.

One injected ``httpx.Client``; HTTP Basic with the API token and one of its two secret keys, falling
back to the other key when one is refused; retries in this one layer; a small error tree; pagination
as an iterator; operation paths discovered from the tenant's own ``platform-api.yaml``.

Nothing the tenant sends can hang, bloat or loop it:
- every request has a total deadline (connect, headers and the whole body; ``transport.py``), and
  every poll one too (``request_scope``): all its pages and retries end by then;
- every answer is streamed under a byte cap of its operation, counted after decompression;
- a listing stops at a page and an item cap, and when pages stop bringing new items;
- links from the tenant (``nextUri``, ``mediaUri``) never lead outside the API root;
- requests spend a process-wide budget (``budget.py``) in the lane of the feed that makes them;
- media downloads have their own connection pool and concurrency limit, so they cannot starve polls.

Its rules live beside it, one job each: ipscape/upstream.py (request scopes, retries,
``Retry-After``, the meter), ipscape/responses.py (byte caps, JSON, links inside the API root) and
ipscape/transport.py (socket deadlines); the names other modules use are importable from here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ipscape.budget import RequestBudget
from ipscape.errors import (
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    RedirectError,
    ResponseFormatError,
    ResponseTooLargeError,
    ServerError,
)
from ipscape.operations import DEFAULT_OPERATIONS, Operation, resolve_operations
from ipscape.responses import (
    MAX_ITEMS,
    MAX_JSON_BYTES,
    MAX_MEDIA_BYTES,
    MAX_PAGES,
    MAX_SPEC_BYTES,
    UNSAFE_LINK,
    ListingGuard,
    api_url,
    parse_json,
    read_capped,
)
from ipscape.settings import Settings
from ipscape.transport import deadline_scope, make_transport
from ipscape.upstream import (
    RetryPolicy,
    UpstreamMeter,
    current_scope,
    parse_retry_after,
    request_scope,
    resends_after_transport_error,
)

__all__ = [
    "USER_AGENT",
    "IpscapeClient",
    "RetryPolicy",
    "UpstreamMeter",
    "format_timestamp",
    "make_http_client",
    "parse_retry_after",
    "request_scope",
]

log = logging.getLogger("ipscape.client")

USER_AGENT = "ipscape-dashboard/0.1"
# Media downloads at once, on their own pool: a slow one must not hold a poll's connection.
MEDIA_CONCURRENCY = 2


def make_http_client(settings: Settings, *, max_connections: int = 8) -> httpx.Client:
    """The default transport: explicit timeouts and pool limits, sockets bounded by the request's
    deadline; no redirects, so credentials are never sent on to another place."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max(1, max_connections // 2),
        keepalive_expiry=30,
    )
    return httpx.Client(
        timeout=httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s)),
        transport=make_transport(settings.base_url, limits),
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
        budget: RequestBudget | None = None,
        media_http: httpx.Client | None = None,
        max_pages: int = MAX_PAGES,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self.settings = settings
        self._owned: list[httpx.Client] = []  # what close() closes: only what we made
        if http is None:
            http = make_http_client(settings)
            self._owned.append(http)
        if media_http is None and self._owned:
            # Media has a pool of its own, so slow downloads cannot hold the polls' connections.
            media_http = make_http_client(settings, max_connections=MEDIA_CONCURRENCY)
            self._owned.append(media_http)
        self._http = http
        self._media_http = media_http or http
        self._media_slots = threading.BoundedSemaphore(MEDIA_CONCURRENCY)
        self.retry = retry or RetryPolicy()
        # No ceiling unless one is given: the dashboard and the CLI give dashboard.toml's.
        self.budget = budget or RequestBudget(None)
        # The whole of one request (connect, headers, body) ends by this, whatever the tenant does.
        self.request_deadline_s = 2 * settings.timeout_s
        self.max_pages = max_pages
        self.max_items = max_items
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
        for http in self._owned:
            http.close()

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
                    try:
                        ops = resolve_operations(self._load_spec(), self._root_path)
                    except RecursionError:
                        log.warning("the tenant's platform-api.yaml is nested too deeply; using "
                                    "the default paths")  # fmt: skip
                    tenant = sorted(n for n, op in ops.items() if op.source == "tenant")
                    log.info("operations from the tenant's spec: %s", ", ".join(tenant) or "none")
                # Kept even when the spec was unusable: it is not asked for again on every poll.
                self._operations = ops
            return self._operations

    def _load_spec(self) -> object:
        import yaml

        try:
            content = self._send(
                "discovery",
                "GET",
                self.settings.base_url + "/platform-api.yaml",
                max_bytes=MAX_SPEC_BYTES,
            )
        except AuthenticationError:
            raise
        except ApiError as exc:
            log.info(
                "no usable platform-api.yaml (%s); using the default paths", type(exc).__name__
            )
            return None
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            return yaml.load(content.decode("utf-8", errors="replace"), Loader=loader)
        except (yaml.YAMLError, RecursionError, ValueError):
            log.warning("the tenant's platform-api.yaml does not parse; using the default paths")
            return None

    # -- transport -------------------------------------------------------------------------
    def _url(self, path_or_uri: str) -> str:
        """An operation path or a tenant's link, inside the API root (responses.api_url)."""
        return api_url(self._origin, self._root_path, path_or_uri)

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
        max_bytes: int = MAX_JSON_BYTES,
        http: httpx.Client | None = None,
    ) -> bytes:
        """One logical request: budget, deadline, key fallback, retries, error mapping, and the
        body read under ``max_bytes``. Returns the body of a 2xx answer."""
        scope = current_scope()
        lane, poll_deadline = scope.lane, scope.deadline
        http = http or self._http
        keys_tried: set[int] = set()
        attempt = 0
        last_retry_after: float | None = None
        while True:
            with self._lock:
                key_index = self._key_index
            keys_tried.add(key_index)
            deadline = self._deadline(operation, poll_deadline)
            self.budget.acquire(lane, deadline)
            started = time.perf_counter()
            try:
                with deadline_scope(deadline):
                    # params=None keeps a URL's own query string (a cursor); {} would replace it.
                    request = http.build_request(method, url, params=params or None, json=json)
                    response = http.send(request, auth=self._auth(key_index), stream=True)
                    try:
                        status = response.status_code
                        content = (
                            read_capped(response, operation, max_bytes) if status < 300 else b""
                        )
                    finally:
                        response.close()
            except httpx.TransportError as exc:
                latency = time.perf_counter() - started
                timeout = isinstance(exc, httpx.TimeoutException)
                self.meter.record(operation, None, latency, "timeout" if timeout else "connection")
                delay = self.retry.backoff(attempt, self._rng)
                if resends_after_transport_error(method, exc, deadline) and self._may_retry(
                    attempt, delay, poll_deadline
                ):
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
                what = (
                    "did not answer in time"
                    if timeout
                    else (f"could not be reached ({type(exc).__name__})")
                )
                raise cls(f"{operation}: the tenant {what}", operation=operation) from exc
            except httpx.DecodingError as exc:
                self.meter.record(operation, None, time.perf_counter() - started, "format")
                raise ResponseFormatError(
                    f"{operation}: the answer's compression is broken", operation=operation
                ) from exc
            except ResponseTooLargeError:
                self.meter.record(operation, None, time.perf_counter() - started, "too large")
                raise

            latency = time.perf_counter() - started
            self.meter.record(
                operation, status, latency, None if status < 400 else f"HTTP {status}"
            )
            if status < 300:
                return content
            if 300 <= status < 400:
                raise RedirectError(
                    f"{operation}: the tenant redirected us (HTTP {status}); not followed",
                    status_code=status,
                    operation=operation,
                    location_host=urlsplit(response.headers.get("Location", "")).hostname,
                )
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
            if self.retry.resends_status(method, status) and attempt + 1 < self.retry.max_attempts:
                if retry_after is not None and retry_after > self.retry.max_retry_after_s:
                    # Waiting longer would stall every reader: give up now and let the poller
                    # back off for as long as the tenant asked.
                    raise self._status_error(operation, status, retry_after)
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.retry.backoff(attempt, self._rng)
                )
                if self._may_retry(attempt, delay, poll_deadline):
                    log.warning(
                        "%s: HTTP %d, retry %d in %.1f s", operation, status, attempt + 1, delay
                    )
                    attempt += 1
                    self._sleep(delay)
                    continue
            raise self._status_error(operation, status, retry_after or last_retry_after)

    def _deadline(self, operation: str, poll_deadline: float | None) -> float:
        """When this attempt must be over: its own deadline, or the poll's if that comes first."""
        now = time.monotonic()
        deadline = now + self.request_deadline_s
        if poll_deadline is not None:
            if poll_deadline <= now:
                raise ApiTimeoutError(
                    f"{operation}: the tenant did not answer in time (the poll's deadline passed)",
                    operation=operation,
                )
            deadline = min(deadline, poll_deadline)
        return deadline

    def _may_retry(self, attempt: int, delay: float, poll_deadline: float | None) -> bool:
        """Another attempt only while attempts remain and the wait ends before the poll's
        deadline (a retry that cannot finish in time only delays the error)."""
        if attempt + 1 >= self.retry.max_attempts:
            return False
        return poll_deadline is None or time.monotonic() + delay < poll_deadline

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
        return parse_json(self._send(name, op.method, target, params=params, json=body), name)

    def _pages(self, name: str, params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Pages of ``items``, following ``metadata.nextUri`` until it is null or missing.

        A listing stops with PaginationError when a link repeats, when pages stop bringing items
        not seen before, or past ``max_pages`` / ``max_items``; what was yielded stays yielded.
        """
        body = self._json(name, params={k: v for k, v in (params or {}).items() if v is not None})
        guard = ListingGuard(name, self.max_pages, self.max_items)
        while True:
            if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
                raise ResponseFormatError(
                    f"{name}: expected an object with an items list", operation=name
                )
            items = body["items"]
            guard.read(items)
            yield items
            metadata = body.get("metadata")
            next_uri = metadata.get("nextUri") if isinstance(metadata, Mapping) else None
            if not next_uri:
                return
            body = self._json(name, url=self._url(guard.follow(next_uri)))

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
        """Audio bytes of a recording or voicemail, by media id or by the payload's mediaUri.

        Downloads use their own pool, at most MEDIA_CONCURRENCY at once; one that cannot start
        before its deadline fails as "did not answer in time" rather than queue without end."""
        op = self.operations()["media"]
        text = str(media)
        if UNSAFE_LINK.search(text):
            raise ResponseFormatError("media: the media id has control characters or spaces")
        url = self._url(text) if "/" in text else self._url(op.format(mediaId=text))
        if not self._media_slots.acquire(timeout=self.request_deadline_s):
            raise ApiTimeoutError(
                "media: other downloads are still running; try again", operation="media"
            )
        try:
            return self._send("media", "GET", url, max_bytes=MAX_MEDIA_BYTES, http=self._media_http)
        finally:
            self._media_slots.release()

    def create_lead(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._object("create_lead", self._json("create_lead", body=dict(body)))

    def update_lead(self, lead_id: int | str, body: Mapping[str, Any]) -> dict[str, Any]:
        result = self._json("update_lead", {"leadId": lead_id}, body=dict(body))
        return self._object("update_lead", result)
