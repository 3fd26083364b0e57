"""What the client accepts from the tenant: bodies under a byte cap, JSON, links and listings.

- every answer is streamed under the byte cap of its operation, counted after decompression, so
  a gzip bomb costs at most one decoded chunk (``read_capped``);
- JSON that does not parse, or nests too deeply, is a format error (``parse_json``);
- a link the tenant sends (``nextUri``, ``mediaUri``, a media id) resolves inside the API root or
  not at all (``api_url``): another host would receive our credentials;
- a listing stops at a page and an item cap, at a repeated ``nextUri``, and when pages stop
  bringing items not seen before (``ListingGuard``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ipscape.errors import PaginationError, ResponseFormatError, ResponseTooLargeError
from ipscape.frames import item_identity

# Byte caps per kind of answer, counted after decompression. A page of 100 activities is ~200 KB.
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_SPEC_BYTES = 4 * 1024 * 1024
# A voicemail or recording bigger than this is refused rather than held in memory.
MAX_MEDIA_BYTES = 50 * 1024 * 1024
# A listing ends here whatever its cursors say: a large tenant's whole day is ~500 pages.
MAX_PAGES = 2_000
MAX_ITEMS = 200_000
# Pages in a row that bring no item not seen before (a distinct-cursor loop) before we stop.
MAX_STALLED_PAGES = 3
# Control characters, spaces and backslashes never belong in a link as sent, nor control
# characters in what its percent-escapes decode to (a CR LF in a cursor is a header injection).
UNSAFE_LINK = re.compile(r"[\x00-\x20\x7f\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def read_capped(response: httpx.Response, operation: str, limit: int) -> bytes:
    """The body, decompressed, or ResponseTooLargeError as soon as it passes ``limit`` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
        raise too_large(operation, limit)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise too_large(operation, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(operation: str, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{operation}: the answer is larger than the dashboard accepts ({limit // 2**20} MiB)",
        operation=operation,
        limit=limit,
    )


def parse_json(content: bytes, operation: str) -> Any:
    """JSON from the tenant; anything unreadable, nested too deep included, is a format error."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ResponseFormatError(
            f"{operation}: the response is nested too deeply", operation=operation
        ) from None
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise ResponseFormatError(
            f"{operation}: the response is not valid JSON", operation=operation
        ) from exc


def api_url(origin: str, root_path: str, path_or_uri: str) -> str:
    """An operation path or a payload link resolved against the API root (``origin`` +
    ``root_path``), never doubling the root, and never outside it: another host, ``..`` segments
    or control characters are refused."""
    text = str(path_or_uri)
    if UNSAFE_LINK.search(text) or _CONTROL.search(unquote(text)):
        raise ResponseFormatError(
            "the tenant sent a link with control characters or spaces; not followed"
        )
    if text.startswith(("http://", "https://", "//")):
        parts = urlsplit(text)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            # Following it would send our credentials to another host.
            raise ResponseFormatError("the tenant linked to another host; not followed")
        path, query = parts.path, parts.query
    else:
        parts = urlsplit(text if text.startswith("/") else "/" + text)
        path, query = parts.path, parts.query
        if not (root_path and (path == root_path or path.startswith(root_path + "/"))):
            path = root_path + path
    segments = unquote(path).split("/")
    inside = path.startswith(root_path + "/") or not root_path
    if not inside or any(seg in (".", "..") for seg in segments):
        raise ResponseFormatError("the tenant linked outside the API root; not followed")
    return origin + path + (f"?{query}" if query else "")


class ListingGuard:
    """Ends a listing that would not end by itself. ``read`` each page's items, then ``follow``
    its ``nextUri``: the link to fetch, or PaginationError saying why the listing stops there
    (what was read before stays read)."""

    def __init__(self, operation: str, max_pages: int = MAX_PAGES, max_items: int = MAX_ITEMS):
        self.operation = operation
        self.max_pages = max_pages
        self.max_items = max_items
        self.pages = 1
        self._links: set[str] = set()
        self._ids: set[object] = set()
        self._items_read = 0
        self._fresh = 0
        self._stalled = 0

    def read(self, items: list[Any]) -> None:
        """Count a page's items, and how many of them were not seen before."""
        fresh = 0
        for item in items:
            key = item_identity(item)
            if key is None or key not in self._ids:
                fresh += 1
                if key is not None:
                    self._ids.add(key)
        self._items_read += len(items)
        self._fresh = fresh

    def follow(self, next_uri: object) -> str:
        self._stalled = 0 if self._fresh else self._stalled + 1
        if not isinstance(next_uri, str) or next_uri in self._links:
            problem = "its nextUri loops or is not a link"
        elif self._stalled >= MAX_STALLED_PAGES:
            problem = f"{self._stalled} pages in a row brought nothing new"
        elif self.pages >= self.max_pages:
            problem = f"the listing goes on past {self.max_pages} pages"
        elif self._items_read >= self.max_items:
            problem = f"the listing goes on past {self.max_items:,} items"
        else:
            self._links.add(next_uri)
            self.pages += 1
            return next_uri
        raise PaginationError(
            f"{self.operation}: {problem}; stopped after {self.pages} page(s)",
            operation=self.operation,
        )
