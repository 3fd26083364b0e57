"""A misbehaving tenant over real HTTP: the Platform API paths, answered badly on purpose.

Each path answers by the server's current ``mode`` (switch it at any time, e.g. to "healthy" to
let a dashboard recover). It trickles headers or bodies, sends endless or huge bodies, gzip
bombs, distinct-cursor loops, deeply nested JSON and YAML, 10,000 campaigns, activities from the
year 2100, slow media and redirects. It listens on 127.0.0.1 on a free port, counts requests per
path, and stops every handler thread at ``stop()``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = "/platform-api"
TOKEN, KEY = "hostile-token", "hostile-key"


def _activity(activity_id: int, created: datetime, status: str = "Answered") -> dict[str, Any]:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S+0000")
    return {
        "type": "call.inbound",
        "data": {
            "activityId": activity_id,
            "activityStatusName": status,
            "campaignId": 1,
            "campaignName": "Sales",
            "source": "+61400000000",
            "voicemailMetadata": [{"mediaId": f"{activity_id}", "duration": 10}]
            if status == "Voicemail"
            else [],
            "timestamps": {"created": stamp, "hangUp": stamp},
        },
    }


class HostileTenant:
    def __init__(self, mode: str = "healthy", *, delay_s: float = 0.2, campaigns: int = 3) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.campaigns = campaigns
        self.states = 5
        self.media_delay_s = 3.0
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.extra_activities: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.media_in_flight = 0
        self.media_peak = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def api_root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{ROOT}"

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def count(self, prefix: str) -> int:
        with self._lock:
            return sum(n for path, n in self.counts.items() if path.startswith(prefix))

    def env(self, **extra: str) -> dict[str, str]:
        """IPSCAPE_* settings for a CLI subprocess pointed here."""
        return {
            "IPSCAPE_BASE_URL": self.api_root,
            "IPSCAPE_API_TOKEN": TOKEN,
            "IPSCAPE_SECRET_KEY_1": KEY,
            **extra,
        }

    # -- what a healthy tenant would say ---------------------------------------------------------
    def healthy_body(self, path: str, query: dict[str, list[str]]) -> Any:
        if path == "/v3.0/campaigns":
            items = [
                {"campaignId": i, "campaignName": f"Campaign {i}", "isActive": True}
                for i in range(1, self.campaigns + 1)
            ]
            return {"metadata": {"nextUri": None}, "items": items}
        if path.startswith("/v3.0/campaigns/") and path.endswith("/statistics"):
            cid = int(path.split("/")[3])
            return {
                "campaignId": cid,
                "campaignName": f"Campaign {cid}",
                "estimatedCallWaitingTime": 30,
                "maxCallWaitingTime": 60,
                "callsWaiting": 2,
                "timestamp": self.now.isoformat(),
            }
        if path == "/v3.0/agents/status":
            since = (self.now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+0000")
            items = [
                {"agentId": i, "agentFullName": f"Agent {i}", "state": f"State {i % self.states}",
                 "stateSince": since, "campaignIds": [1]}
                for i in range(1, 41)
            ]  # fmt: skip
            return {"metadata": {"nextUri": None}, "items": items}
        if path == "/v3.0/activities":
            items = [
                _activity(1, self.now - timedelta(minutes=10)),
                _activity(2, self.now - timedelta(minutes=5), "Voicemail"),
                *self.extra_activities,
            ]
            return {"metadata": {"nextUri": None}, "items": items}
        return None

    # -- the server ------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tenant = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle(self) -> None:
                # The client hanging up on us is the point of most modes.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    super().handle()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path[len(ROOT) :] if parts.path.startswith(ROOT) else parts.path
                with tenant._lock:
                    tenant.counts[path] += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    tenant._answer(self, path, parse_qs(parts.query))

        return Handler

    def _send(self, h: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str):
        h.send_response(status)
        h.send_header("Content-Type", headers.pop("content_type", "application/json"))
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    def _trickle(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        for byte in data:
            if self._stopping.is_set():
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(self.delay_s)

    def _endless(self, h: BaseHTTPRequestHandler, chunks: Iterator[bytes], **headers: str):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        for chunk in chunks:
            if self._stopping.is_set():
                return
            h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

    def _answer(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:
        mode = self.mode
        if path == "/platform-api.yaml":
            if mode == "deep_yaml":
                depth = 50_000
                self._send(h, (b"[" * depth + b"]" * depth), content_type="application/yaml")
            else:
                self._send(h, b"", status=404)
            return
        if path.startswith("/v3.0/media/"):
            with self._lock:
                self.media_in_flight += 1
                self.media_peak = max(self.media_peak, self.media_in_flight)
            try:
                if mode == "huge_media":
                    zeros = b"\0" * 65536
                    self._endless(h, iter(lambda: zeros, None))  # type: ignore[arg-type]
                    return
                time.sleep(self.media_delay_s)
                self._send(h, b"RIFF\0\0\0\0WAVEfmt ", content_type="audio/wav")
            finally:
                with self._lock:
                    self.media_in_flight -= 1
            return
        body = self.healthy_body(path, query)
        if body is None:
            self._send(h, b"{}", status=404)
            return
        if mode == "healthy":
            self._send(h, json.dumps(body).encode())
        elif mode == "trickle_headers":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 4000
            self._trickle(h, head)
        elif mode == "trickle_body":
            data = json.dumps(body).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            self._trickle(h, data)
        elif mode == "endless":
            item = b'{"campaignId": 1, "campaignName": "x"},' * 1000
            self._endless(h, iter(lambda: item, None))  # type: ignore[arg-type]
        elif mode == "gzip_bomb":
            self._send(h, gzip_bomb(), Content_Encoding="gzip")
        elif mode == "deep_json":
            depth = 100_000
            self._send(h, b"[" * depth + b"]" * depth)
        elif mode == "cursor_loop" and isinstance(body, dict) and "items" in body:
            cursor = int(query.get("cursor", ["0"])[0])
            body["metadata"] = {"nextUri": f"{path}?cursor={cursor + 1}"}
            self._send(h, json.dumps(body).encode())
        elif mode == "redirect":
            self._send(h, b"", status=302, Location="http://elsewhere.example/login?next=x")
        else:
            self._send(h, json.dumps(body).encode())


_BOMB: bytes | None = None


def gzip_bomb(unpacked: int = 1024**3) -> bytes:
    """A gzip stream of ``unpacked`` zero bytes (~1 MB on the wire for 1 GB), made once."""
    global _BOMB
    if _BOMB is None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
        block = b"\0" * 2**20
        parts = [packer.compress(block) for _ in range(unpacked // len(block))]
        parts.append(packer.flush())
        _BOMB = b"".join(parts)
    return _BOMB
