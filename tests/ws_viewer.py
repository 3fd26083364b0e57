"""A Streamlit viewer without a browser: one websocket session speaking Streamlit 1.67's protocol.

It does what the frontend does to keep a page live, and no more:

- connects to ``ws://<host>/_stcore/stream`` with the ``streamlit`` subprotocol and no Origin
  header (Streamlit accepts a missing Origin; XSRF only guards the sign-in cookie, which a test
  viewer has none of);
- asks for one page with a ``rerun_script`` BackMsg whose ClientState carries the page's URL path
  (``page_name``, e.g. ``"wall"``, ``""`` for the default page) and the query string without
  ``?`` (e.g. ``"kiosk=1"``); the page's hash comes back in ``new_session`` and is sent with
  every later rerun, as the frontend does;
- re-sends the fragment reruns the page asks for: each ``@st.fragment(run_every=...)`` announces
  itself with an ``auto_rerun`` ForwardMsg (fragment id and interval), and the frontend then
  sends ``rerun_script`` with that ``fragment_id`` and ``is_auto_rerun`` every interval. Timers
  are dropped when a full run starts (``new_session`` without fragment ids) and when the server
  sends ``stop_auto_rerun``, and a repeated announcement with the same interval keeps its timer;
- sends no ``cached_message_hashes``, so the server never answers with a ``ref_hash`` for a
  message this viewer would have to have kept.

What arrives is read on a background thread: runs finished (whole page and fragment), the page's
text (Markdown, captions, metrics, alerts, headings; Markdown escapes undone) and a bounded log
of every text received, so a test can wait for "updated 4 s ago" after a given moment.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

STREAM_PATH = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
# Streamlit's own limit on a websocket message is 200 MB; a page of tiles is far below that.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
TEXT_LOG_SIZE = 20_000
# How long the reader blocks on the socket when no fragment timer is due sooner.
IDLE_RECV_S = 0.5
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~$:])")
WORD_JOINER = "\u2060"

FINISHED = ForwardMsg.ScriptFinishedStatus


def unescape(text: str) -> str:
    """What a reader sees of Markdown we escaped: no backslash escapes, no word joiners."""
    return _MD_ESCAPE.sub(r"\1", text).replace(WORD_JOINER, "")


@dataclass(frozen=True)
class Received:
    """One text that reached the viewer: its order, when (monotonic seconds), and the text."""

    seq: int
    at: float
    text: str


def element_text(element: Any) -> str | None:
    """The words an element shows, or None for one without any (charts, html, spacers...)."""
    kind = element.WhichOneof("type")
    if kind in ("markdown", "text", "heading", "alert"):
        return unescape(getattr(element, kind).body)
    if kind == "metric":
        metric = element.metric
        shown = f"{unescape(metric.label)}: {metric.body}"
        return f"{shown} ({metric.delta})" if metric.delta else shown
    if kind == "exception":
        return f"exception: {element.exception.type}: {element.exception.message}"
    return None


class Viewer:
    """One Streamlit session on ``page`` (its URL path) with ``query`` (no ``?``).

    Use as a context manager, or `open` and `close`. Counters and text are read under a lock;
    the `wait_*` methods block until a condition holds or raise TimeoutError saying what was
    seen.
    """

    def __init__(
        self,
        port: int,
        page: str = "",
        query: str = "",
        *,
        host: str = "127.0.0.1",
        timezone: str = "Australia/Sydney",
    ) -> None:
        self.url = f"ws://{host}:{port}{STREAM_PATH}"
        self.page = page
        self.query = query
        self.timezone = timezone
        self._ws: ClientConnection | None = None
        self._exit = contextlib.ExitStack()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        # state below is guarded by _cond
        self.page_script_hash = ""
        self.full_runs = 0
        self.fragment_runs = 0
        self.page_not_found = False
        self.closed_by_server: str | None = None
        self.exceptions: list[str] = []
        self._timers: dict[str, tuple[float, float]] = {}  # fragment id -> (interval, next due)
        self._elements: dict[tuple[int, ...], tuple[str, str, int]] = {}  # path -> text, frag, run
        self._run = 0
        self._run_fragments: tuple[str, ...] = ()
        self._seq = 0
        self._log: deque[Received] = deque(maxlen=TEXT_LOG_SIZE)

    # --- lifecycle -----------------------------------------------------------------------

    def open(self, timeout_s: float = 30.0) -> Viewer:
        self._ws = self._exit.enter_context(
            connect(
                self.url,
                subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                open_timeout=timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                proxy=None,
            )
        )
        self._thread = threading.Thread(
            target=self._read, name=f"viewer {self.page!r}", daemon=True
        )
        self._thread.start()
        self.rerun()
        return self

    def close(self) -> None:
        self._stop.set()
        self._ws = None
        self._exit.close()  # a clean close handshake
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Viewer:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what a browser sends ------------------------------------------------------------

    def rerun(self, fragment_id: str = "", *, auto: bool = False) -> None:
        """The whole page (as on load or "R"), or one fragment (as its run_every timer does)."""
        with self._cond:
            page_hash = self.page_script_hash
        state = ClientState(
            query_string=self.query,
            page_script_hash=page_hash,
            # The frontend names the page from its URL path only until it knows the page's hash.
            page_name="" if page_hash else self.page,
            fragment_id=fragment_id,
            is_auto_rerun=auto,
        )
        state.widget_states.SetInParent()
        state.context_info.timezone = self.timezone
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        self._send(msg)

    def clear_cache(self) -> None:
        """The menu's "Clear cache": the server empties st.cache_data and st.cache_resource for
        the whole process (and this session's session_state)."""
        self._send(BackMsg(clear_cache=True))

    def _send(self, msg: BackMsg) -> None:
        ws = self._ws
        if ws is None:
            raise RuntimeError("viewer is not open")
        with self._send_lock:
            ws.send(msg.SerializeToString())

    # --- reading -------------------------------------------------------------------------

    def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            while not self._stop.is_set():
                try:
                    data = ws.recv(timeout=self._recv_timeout())
                except TimeoutError:
                    data = None
                if isinstance(data, bytes):
                    msg = ForwardMsg()
                    msg.ParseFromString(data)
                    self._handle(msg)
                self._fire_due_timers()
        except ConnectionClosed as exc:
            with self._cond:
                if not self._stop.is_set():
                    self.closed_by_server = str(exc)
                self._cond.notify_all()

    def _recv_timeout(self) -> float:
        with self._cond:
            if not self._timers:
                return IDLE_RECV_S
            due = min(next_due for _, next_due in self._timers.values())
        return min(IDLE_RECV_S, max(0.0, due - time.monotonic()))

    def _fire_due_timers(self) -> None:
        now = time.monotonic()
        due: list[str] = []
        with self._cond:
            for fragment_id, (interval, next_due) in list(self._timers.items()):
                if next_due <= now:
                    # setInterval keeps its cadence: the next tick is one interval after this one.
                    self._timers[fragment_id] = (interval, max(next_due + interval, now))
                    due.append(fragment_id)
        for fragment_id in due:
            try:
                self.rerun(fragment_id, auto=True)
            except (ConnectionClosed, RuntimeError):
                return

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        with self._cond:
            if kind == "new_session":
                self._start_run(msg)
            elif kind == "delta":
                self._delta(msg)
            elif kind == "script_finished":
                self._finish_run(msg.script_finished)
            elif kind == "auto_rerun":
                self._announce(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
            elif kind == "stop_auto_rerun":
                for fragment_id in msg.stop_auto_rerun.fragment_ids:
                    self._timers.pop(fragment_id, None)
            elif kind == "page_not_found":
                self.page_not_found = True
            elif kind == "session_event" and msg.session_event.HasField(
                "script_compilation_exception"
            ):
                self.exceptions.append(msg.session_event.script_compilation_exception.message)
            self._cond.notify_all()

    def _start_run(self, msg: ForwardMsg) -> None:
        self._run += 1
        self._run_fragments = tuple(msg.metadata.run.fragment_ids)
        if msg.new_session.page_script_hash:
            self.page_script_hash = msg.new_session.page_script_hash
        if not self._run_fragments:
            # A whole run: the frontend cancels every fragment timer; the page re-announces them.
            self._timers.clear()

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        text = element_text(delta.new_element)
        if text is None:
            return
        path = tuple(msg.metadata.delta_path)
        self._elements[path] = (text, delta.fragment_id, self._run)
        self._seq += 1
        self._log.append(Received(self._seq, time.monotonic(), text))
        if delta.new_element.WhichOneof("type") == "exception":
            self.exceptions.append(text)

    def _finish_run(self, status: int) -> None:
        if status == FINISHED.FINISHED_SUCCESSFULLY:
            self.full_runs += 1
            # What this run did not draw is gone from the page.
            self._elements = {p: e for p, e in self._elements.items() if e[2] == self._run}
        elif status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.fragment_runs += 1
            ran = set(self._run_fragments)
            self._elements = {
                p: e for p, e in self._elements.items() if e[1] not in ran or e[2] == self._run
            }

    def _announce(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or interval <= 0:
            return
        current = self._timers.get(fragment_id)
        if current is not None and current[0] == interval:
            return
        self._timers[fragment_id] = (interval, time.monotonic() + interval)

    # --- what a test reads ---------------------------------------------------------------

    @property
    def fragment_timers(self) -> dict[str, float]:
        """Fragment id -> run_every seconds, as announced by the page now shown."""
        with self._cond:
            return {fid: interval for fid, (interval, _) in self._timers.items()}

    def texts(self) -> list[str]:
        """The page's texts now, in page order."""
        with self._cond:
            return [text for _, (text, _, _) in sorted(self._elements.items())]

    def mark(self) -> int:
        """A point in what was received; `received_since(mark)` is what came after it."""
        with self._cond:
            return self._seq

    def received_since(self, mark: int = 0) -> list[Received]:
        with self._cond:
            return [r for r in self._log if r.seq > mark]

    def wait_runs(self, count: int = 1, timeout_s: float = 60.0, *, fragments: int = 0) -> None:
        """Until at least ``count`` whole runs and ``fragments`` fragment runs have finished."""
        self._wait(
            lambda: self.full_runs >= count and self.fragment_runs >= fragments,
            timeout_s,
            f"{count} run(s) and {fragments} fragment run(s)",
        )

    def wait_text(
        self, pattern: str | re.Pattern[str], timeout_s: float = 60.0, *, since: int = 0
    ) -> re.Match[str]:
        """The first text received after ``since`` that matches ``pattern``."""
        regex = re.compile(pattern)
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found.extend(self._matches_locked(regex, since))
            return bool(found)

        self._wait(seen, timeout_s, f"text matching {pattern!r}")
        return found[0]

    def _matches_locked(self, regex: re.Pattern[str], since: int) -> Iterator[re.Match[str]]:
        for received in self._log:
            if received.seq > since:
                found = regex.search(received.text)
                if found:
                    yield found

    def _wait(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not condition():
                if self.closed_by_server is not None:
                    raise ConnectionError(f"server closed the session: {self.closed_by_server}")
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = [text for _, (text, _, _) in sorted(self._elements.items())][-12:]
                    raise TimeoutError(
                        f"viewer {self.page!r}?{self.query}: no {what} within {timeout_s:.0f} s "
                        f"(runs {self.full_runs}, fragment runs {self.fragment_runs}, page not "
                        f"found {self.page_not_found}, exceptions {self.exceptions[-3:]}, "
                        f"page shows {shown})"
                    )
                self._cond.wait(min(left, 1.0))
