"""The HTTP transport: httpx's own, with every socket operation bounded by the request's deadline.

httpx's timeouts are per socket operation: a tenant that sends one byte every few seconds never
trips a read timeout, and a request can run for hours. Here each connect, read and write is given
``min(its own timeout, time left before the deadline)``, so a request ends at its deadline
whatever the tenant does: while connecting, while sending, while the headers trickle in and while
the body streams. The deadline is per thread (a context variable) and set by the client around
each request (``deadline_scope``); outside a scope nothing changes.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

# Monotonic time (time.monotonic) by which the current request must be over, or None.
_deadline: ContextVar[float | None] = ContextVar("ipscape_request_deadline", default=None)


@contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Bound every socket operation in this thread until ``deadline`` (time.monotonic)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the request's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with each operation bounded by the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose sockets honour the request deadline.

    httpcore takes a network backend as a constructor argument of its pool, but httpx does not pass
    one through; so it is set on the pool httpx built (httpx 0.28, httpcore 1.x). The tests that
    trickle headers and bodies fail loudly if a later release moves it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        if not hasattr(pool, "_network_backend"):
            raise RuntimeError("httpcore's pool has no network backend to bound; pin httpcore 1.x")
        pool._network_backend = DeadlineBackend(pool._network_backend)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY, HTTP_PROXY, NO_PROXY...).

    A client built with its own transport ignores the environment, so the transport is given the
    proxy explicitly, as httpx would have chosen it."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    # With proxies in the environment, proxy_bypass reads NO_PROXY from it on every platform.
    if not proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def make_transport(base_url: str, limits: httpx.Limits) -> httpx.BaseTransport:
    return DeadlineTransport(limits=limits, proxy=environment_proxy(base_url))
