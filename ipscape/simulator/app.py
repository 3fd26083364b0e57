"""The simulator's HTTP face: a plain ASGI app serving the API, its spec and the control routes.

Routing is hand-rolled (not starlette's Router) because paths come from the config: a tenant
may serve an operation at another path or not at all.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, TypeGuard
from urllib.parse import parse_qsl, urlencode

from .config import SimulatorConfig
from .media import wav_for_duration
from .model import Campaign, ContactCentre
from .spec import openapi_yaml, served_operations

API_PREFIX = "/platform-api"
SPEC_PATH = "/platform-api.yaml"
FAULT_KINDS = frozenset(
    {"status", "slow", "truncate", "malformed", "wrong_shape", "revoke_key", "drop"}
)
JSON = b"application/json"
LEAD_FIELDS = (
    "campaignId",
    "listId",
    "customerKey",
    "phone1",
    "phone2",
    "phone3",
    "timezone",
    "leadData",
)

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Result = tuple[int, bytes, bytes]  # status, body, content type


class BadRequest(Exception):
    """A 400 answer; the message names the parameter, never echoes credentials."""


def _json(status: int, payload: Any) -> Result:
    return status, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), JSON


def _error(status: int, error: str, message: str | None = None) -> Result:
    body: dict[str, Any] = {"error": error}
    if message:
        body["message"] = message
    return _json(status, body)


def _int_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def parse_timestamp(value: str, tz: Any) -> float:
    """ISO 8601 with a colon or colon-less offset or Z; naive means the tenant's zone."""
    if "T" in value:
        value = value.replace(" ", "+")  # an unencoded '+' arrives as a space
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.timestamp()


def _encode_cursor(prefix: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{prefix}:{value}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, prefix: str) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != prefix:
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not valid") from None


class Route:
    def __init__(self, op: str, method: str, template: str) -> None:
        self.op = op
        self.method = method
        self.template = template
        parts = re.split(r"({[^}/]+})", template)
        self.regex = re.compile(
            "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        )


class SimulatorApp:
    def __init__(self, centre: ContactCentre) -> None:
        self.centre = centre
        self.config: SimulatorConfig = centre.config
        self.routes = [Route(op, m, t) for op, (m, t) in served_operations(self.config).items()]
        self.list_path = {r.op: r.template for r in self.routes}
        self.spec = openapi_yaml(self.config)
        self.requests: Counter[str] = Counter()
        self.spec_requests = 0
        self.faults: list[dict[str, Any]] = []
        self._handlers: dict[str, Callable[..., Result]] = {
            "list_activities": self._list_activities,
            "activity_details": self._activity_details,
            "campaign_statistics": self._campaign_statistics,
            "list_campaigns": self._list_campaigns,
            "agent_status": self._agent_status,
            "media": self._media,
            "create_lead": self._create_lead,
            "update_lead": self._update_lead,
        }

    # ---- ASGI entry --------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            await self._api(scope, receive, send, path[len(API_PREFIX) :])
        elif path.startswith("/_simulator/"):
            await _respond(send, *await self._control(scope, receive, path))
        elif path == "/":
            await _respond(
                send, *_json(200, {"apiRoot": API_PREFIX, "spec": API_PREFIX + SPEC_PATH})
            )
        else:
            await _respond(send, *_error(404, "not_found"))

    # ---- API ---------------------------------------------------------------------------

    async def _api(self, scope: dict[str, Any], receive: Receive, send: Send, sub: str) -> None:
        method: str = scope["method"]
        if sub == SPEC_PATH:
            self.spec_requests += 1
            fault = self._take_fault(sub)
            if fault is not None and await self._apply_fault(fault, send):
                return
            result: Result = (200, self.spec, b"application/yaml")
            await _respond(send, *self._post_fault(fault, result, list_like=False))
            return
        route, args, method_ok = self._match(method, sub)
        key = f"{method} {route.template}" if route and method_ok else f"{method} (unmatched)"
        if sub.startswith("/v3.0"):
            self.requests[key] += 1
        if not self._authorised(scope, sub):
            await _respond(
                send,
                *_error(401, "unauthorized"),
                headers=[(b"www-authenticate", b'Basic realm="ipSCAPE Platform API"')],
            )
            return
        fault = self._take_fault(sub)
        if fault is not None and await self._apply_fault(fault, send):
            return
        if route is None:
            result = _error(404, "not_found")
        elif not method_ok:
            result = _error(405, "method_not_allowed")
        else:
            body = await _read_body(receive) if method in ("POST", "PUT") else b""
            query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            try:
                with self.centre.lock:
                    self.centre.sync()
                    result = self._handlers[route.op](*args, query=query, body=body)
            except BadRequest as exc:
                result = _error(400, "bad_request", str(exc))
        list_like = route is not None and route.op in (
            "list_activities",
            "list_campaigns",
            "agent_status",
        )
        await _respond(send, *self._post_fault(fault, result, list_like=list_like))

    def _match(self, method: str, sub: str) -> tuple[Route | None, tuple[str, ...], bool]:
        path_match: tuple[Route, tuple[str, ...]] | None = None
        for route in self.routes:
            m = route.regex.fullmatch(sub)
            if m:
                if route.method == method:
                    return route, m.groups(), True
                path_match = path_match or (route, m.groups())
        if path_match:
            return path_match[0], path_match[1], False
        return None, (), False

    def _authorised(self, scope: dict[str, Any], sub: str) -> bool:
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep or not hmac.compare_digest(user.encode(), self.config.token.encode()):
            return False
        if not any(hmac.compare_digest(password.encode(), k.encode()) for k in self.config.keys):
            return False
        for fault in self.faults:
            if fault["kind"] == "revoke_key" and fault["key"] == password and _applies(fault, sub):
                self._consume(fault)
                return False
        return True

    # ---- faults ------------------------------------------------------------------------

    def _take_fault(self, sub: str) -> dict[str, Any] | None:
        for fault in self.faults:
            if fault["kind"] != "revoke_key" and _applies(fault, sub):
                self._consume(fault)
                return fault
        return None

    def _consume(self, fault: dict[str, Any]) -> None:
        if fault.get("count") is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                self.faults.remove(fault)

    async def _apply_fault(self, fault: dict[str, Any], send: Send) -> bool:
        """Faults that replace the answer; True when the request is fully handled."""
        kind = fault["kind"]
        if kind == "slow":
            await asyncio.sleep(float(fault.get("delay_s", 1.0)))
            return False
        if kind == "status":
            status = int(fault.get("status", 500))
            headers = []
            if fault.get("retry_after") is not None:
                headers.append((b"retry-after", str(fault["retry_after"]).encode("latin-1")))
            await _respond(send, *_error(status, "injected_fault"), headers=headers)
            return True
        if kind == "malformed":
            await _respond(send, 200, b"<html><body>oops</body></html>", b"text/html")
            return True
        if kind == "drop":
            await _drop(send)
            return True
        return False

    @staticmethod
    def _post_fault(fault: dict[str, Any] | None, result: Result, *, list_like: bool) -> Result:
        if fault is None:
            return result
        if fault["kind"] == "truncate":
            body = result[1]
            return 200, body[: max(1, len(body) // 2)], JSON
        if fault["kind"] == "wrong_shape":
            return _json(200, {"unexpected": True} if list_like else [{"unexpected": True}])
        return result

    # ---- operations --------------------------------------------------------------------

    def _page(
        self, op: str, items: list[bytes], next_params: list[tuple[str, str]] | None
    ) -> Result:
        next_uri = None
        if next_params is not None:
            next_uri = f"{self.list_path[op]}?{urlencode(next_params)}"
        body = b"".join(
            (
                b'{"metadata":{"nextUri":',
                json.dumps(next_uri).encode(),
                b'},"items":[',
                b",".join(items),
                b"]}",
            )
        )
        return 200, body, JSON

    def _list_activities(self, *, query: dict[str, str], body: bytes) -> Result:
        centre = self.centre
        tz = centre.tz
        filters = [
            (k, query[k])
            for k in (
                "campaignId",
                "leadId",
                "createdTimestampFrom",
                "createdTimestampTo",
                "activityType",
            )
            if query.get(k)
        ]
        stamps: dict[str, float | None] = {}
        for name in ("createdTimestampFrom", "createdTimestampTo"):
            try:
                stamps[name] = parse_timestamp(query[name], tz) if query.get(name) else None
            except ValueError:
                raise BadRequest(f"{name} is not an ISO 8601 timestamp") from None
        size = self.config.page_size
        items: list[bytes] = []
        last_id = None
        more = False
        for act in centre.iter_activities(
            after_id=_decode_cursor(query.get("cursor"), "a"),
            campaign_id=_int_param(query.get("campaignId"), "campaignId"),
            lead_id=_int_param(query.get("leadId"), "leadId"),
            created_from=stamps["createdTimestampFrom"],
            created_to=stamps["createdTimestampTo"],
            activity_type=query.get("activityType") or None,
        ):
            if len(items) == size:
                more = True
                break
            items.append(act.item_json())
            last_id = act.id
        next_params = None
        if more and last_id is not None:
            next_params = [("cursor", _encode_cursor("a", last_id)), *filters]
        return self._page("list_activities", items, next_params)

    def _activity_details(self, activity_id: str, *, query: dict[str, str], body: bytes) -> Result:
        act = self.centre.by_id.get(_id_or_none(activity_id) or -1)
        if act is None:
            return _error(404, "not_found")
        return 200, act.item_json(), JSON

    def _offset_page(
        self,
        op: str,
        rows: Sequence[Any],
        record: Callable[[Any], dict[str, Any]],
        query: dict[str, str],
        extra: list[tuple[str, str]],
    ) -> Result:
        start = _decode_cursor(query.get("cursor"), "o") or 0
        size = self.config.page_size
        items = [
            json.dumps(record(row), ensure_ascii=False, separators=(",", ":")).encode()
            for row in rows[start : start + size]
        ]
        next_params = None
        if start + size < len(rows):
            next_params = [("cursor", _encode_cursor("o", start + size)), *extra]
        return self._page(op, items, next_params)

    def _list_campaigns(self, *, query: dict[str, str], body: bytes) -> Result:
        campaigns = list(self.centre.campaigns.values())
        return self._offset_page("list_campaigns", campaigns, Campaign.summary, query, [])

    def _agent_status(self, *, query: dict[str, str], body: bytes) -> Result:
        campaign_id = _int_param(query.get("campaignId"), "campaignId")
        agents = self.centre.agents
        if campaign_id is not None:
            agents = [a for a in agents if campaign_id in a.skills]
        tz = self.centre.tz
        extra = [("campaignId", str(campaign_id))] if campaign_id is not None else []
        return self._offset_page("agent_status", agents, lambda a: a.status(tz), query, extra)

    def _campaign_statistics(
        self, campaign_id: str, *, query: dict[str, str], body: bytes
    ) -> Result:
        campaign = self.centre.campaigns.get(_id_or_none(campaign_id) or -1)
        if campaign is None:
            return _error(404, "not_found")
        period = query.get("period") or "hour"
        if period not in ("hour", "day"):
            raise BadRequest("period must be hour or day")
        return _json(200, self.centre.campaign_statistics(campaign, period))

    def _media(self, media_id: str, *, query: dict[str, str], body: bytes) -> Result:
        duration = self.centre.media.get(_id_or_none(media_id) or -1)
        if duration is None:
            return _error(404, "not_found")
        return 200, wav_for_duration(duration), b"audio/wav"

    def _lead_fields(self, body: bytes, *, create: bool) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("body must be a JSON object") from None
        if not isinstance(data, dict):
            raise BadRequest("body must be a JSON object")
        if create and "campaignId" not in data:
            raise BadRequest("campaignId is required")
        fields: dict[str, Any] = {}
        for name in LEAD_FIELDS:
            if name not in data:
                continue
            value = data[name]
            if name == "campaignId":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise BadRequest("campaignId must be an integer")
                if value not in self.centre.campaigns:
                    raise BadRequest("campaignId is not a known campaign")
            elif name == "listId":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise BadRequest("listId must be an integer")
            elif name == "leadData":
                if value is not None and not isinstance(value, dict):
                    raise BadRequest("leadData must be an object")
            elif value is not None and not isinstance(value, str):
                raise BadRequest(f"{name} must be a string")
            fields[name] = value
        if create:
            fields = {name: fields.get(name) for name in LEAD_FIELDS}
        return fields

    def _create_lead(self, *, query: dict[str, str], body: bytes) -> Result:
        fields = self._lead_fields(body, create=True)
        return _json(201, self.centre.create_lead(fields))

    def _update_lead(self, lead_id: str, *, query: dict[str, str], body: bytes) -> Result:
        lid = _id_or_none(lead_id)
        if lid is None or lid not in self.centre.leads:
            return _error(404, "not_found")
        fields = self._lead_fields(body, create=False)
        merged = self.centre.update_lead(lid, fields)
        return _json(200, merged) if merged is not None else _error(404, "not_found")

    # ---- control routes (ours, not ipSCAPE's; no auth: local test tool) -----------------

    async def _control(self, scope: dict[str, Any], receive: Receive, path: str) -> Result:
        method = scope["method"]
        body = await _read_body(receive) if method in ("POST", "PUT") else b""
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return _error(400, "bad_request", "body must be JSON")
        if not isinstance(payload, dict):
            return _error(400, "bad_request", "body must be a JSON object")
        centre = self.centre
        try:
            match (method, path):
                case ("GET", "/_simulator/stats"):
                    return _json(200, self.stats())
                case ("POST", "/_simulator/stats/reset"):
                    self.requests.clear()
                    self.spec_requests = 0
                    return _json(200, self.stats())
                case ("GET", "/_simulator/faults"):
                    return _json(200, {"faults": self.faults})
                case ("POST", "/_simulator/faults"):
                    faults = payload.get("faults")
                    if not isinstance(faults, list):
                        raise BadRequest("faults must be a list")
                    self.faults.extend([_valid_fault(f) for f in faults])
                    return _json(200, {"faults": self.faults})
                case ("DELETE", "/_simulator/faults"):
                    self.faults.clear()
                    return _json(200, {"faults": []})
                case ("POST", "/_simulator/advance"):
                    seconds = payload.get("seconds")
                    if not _is_number(seconds) or seconds < 0:
                        raise BadRequest("seconds must be a number >= 0")
                    centre.advance(float(seconds))
                    return _json(200, centre.summary())
                case ("POST", "/_simulator/surge"):
                    cid, calls = payload.get("campaignId"), payload.get("calls")
                    if cid not in centre.campaigns or not isinstance(calls, int) or calls < 0:
                        raise BadRequest("campaignId must be a campaign, calls an int >= 0")
                    centre.surge(cid, calls)
                    return _json(200, centre.summary())
                case ("GET", "/_simulator/state"):
                    with centre.lock:
                        centre.sync()
                        return _json(200, centre.summary())
        except BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        return _error(404, "not_found")

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total": sum(self.requests.values()),
            "specRequests": self.spec_requests,
        }


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid_fault(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("kind") not in FAULT_KINDS:
        raise BadRequest(f"each fault needs a kind in {sorted(FAULT_KINDS)}")
    fault = dict(raw)
    count = fault.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise BadRequest("count must be an integer >= 1 or null")
    if fault.get("match") is not None and not isinstance(fault["match"], str):
        raise BadRequest("match must be a glob string")
    kind = fault["kind"]
    if kind == "status" and not isinstance(fault.get("status"), int):
        raise BadRequest("a status fault needs an integer status")
    if kind == "slow" and not _is_number(fault.get("delay_s")):
        raise BadRequest("a slow fault needs delay_s")
    if kind == "revoke_key" and not isinstance(fault.get("key"), str):
        raise BadRequest("a revoke_key fault needs the key")
    return fault


def _applies(fault: dict[str, Any], sub: str) -> bool:
    """Without `match` a fault hits the API operations only (not the spec document)."""
    pattern = fault.get("match")
    if pattern is None:
        return sub.startswith("/v3.0")
    return fnmatchcase(sub, pattern)


def _id_or_none(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Close the connection without a response: the client sees the server disconnect
    (httpx.RemoteProtocolError "Server disconnected without sending a response").

    uvicorn's `send` is a bound method of its request cycle, which holds the transport. When
    that is not reachable (another server), fall back to a response cut off mid-body.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is not None and transport is not None and hasattr(cycle, "disconnected"):
        transport.abort()
        cycle.disconnected = True  # stops uvicorn from answering 500 on a closed socket
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", JSON), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"items": [', "more_body": True})
    raise ConnectionAbortedError("simulated drop")
