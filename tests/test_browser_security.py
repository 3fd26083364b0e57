"""Security in a real browser: `streamlit run dashboard.py` against a simulator, headless Chromium.

The AppTest halves (tests/test_hostile_names.py, tests/test_secret_canary.py) check what the
app hands to Streamlit; these check what a viewer's browser ends up with:

1. A tenant whose agents and campaigns are named ``<script>alert(1)</script>``,
   ``<img src=x onerror=alert(1)>``, Markdown, LaTeX and the rest shows those names as literal
   text on the wall, the Agents page and the Overview, and no script of theirs runs: no dialog,
   no call to alert/confirm/prompt, no injected ``<script>``, ``<img src=x>``, inline event
   handler or ``javascript:`` link ever enters the DOM (a MutationObserver set up before the
   page's own scripts watches every insertion).
2. With recognisable canary credentials, no page, healthy or showing the tenant's refusal,
   lets them reach the browser: not the HTML, the URL, any request the browser makes, any
   response body, websocket frame, console message, cookie or web storage, the voicemail
   audio, the CSV download, nor the server's log.
3. A tenant whose state, campaign and agent names are Markdown images and links pointing at a
   server of the test's own makes no browser fetch from it and puts no <img>/<a> to it in the
   DOM, on any page or the wall; a played voicemail is an <audio> with a data: source, not a
   /media URL that could be fetched without the session.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ipscape.presentation.text import plain
from ipscape.simulator import RunningSimulator
from ipscape.simulator.names import HOSTILE_NAMES
from tests.app_support import CANARY_KEYS as KEYS
from tests.app_support import CANARY_TOKEN as TOKEN
from tests.app_support import canaries
from tests.browser_support import (
    FIRST_RENDER_MS,
    NO_CHROMIUM,
    PAGE_WAIT_MS,
    StreamlitServer,
    chromium_path,
    open_browser,
    patient,
    playwright_sync_api,
    running_dashboard,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_path() is None, reason=NO_CHROMIUM)]
sync_api = playwright_sync_api()

# Every wait is for a condition, each with its own deadline (tests/browser_support.py): a first
# render of several tabs at once, on a loaded 2-core machine, can take a minute; a change (an
# error after the tenant's refusal, a poll cycle) reaches the screen within a few 8 s polls.
WITHIN_MS = PAGE_WAIT_MS
# Every image of the page has loaded or failed (an injected <img src=x> has fired its onerror).
IMAGES_SETTLED = "Array.from(document.images).every((image) => image.complete)"
CAMPAIGNS = 6
# names.campaign_names puts the first half of the hostile names on campaigns ...
HOSTILE_CAMPAIGNS = HOSTILE_NAMES[: CAMPAIGNS // 2]
# ... and names.agent_names spreads all of them over slots (i * 3) % agents: with 8 agents,
# every agent has a hostile name.
AGENTS = len(HOSTILE_NAMES)
MARKUP = re.compile(r"[<>*\[\]$`{}]")

# Installed before any script of the page runs, in every frame: the dialog functions record
# instead of showing, and every element that enters the DOM is checked for the shapes an
# injected payload takes.
PROBE = r"""(() => {
  window.__xss = false;
  window.__xssCalls = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) {
      window.__xss = true;
      window.__xssCalls.push(name + "(" + String(message) + ")");
    };
  }
  window.__hostileNodes = [];
  const suspicious = (el) => {
    const tag = el.tagName.toLowerCase();
    if (tag === "script" && (el.textContent || "").includes("alert(")) {
      return "<script> " + el.textContent.slice(0, 80);
    }
    if (tag === "img" && el.getAttribute("src") === "x") { return "<img src=x>"; }
    const href = el.getAttribute("href") || el.getAttribute("xlink:href") || "";
    if (/^\s*javascript:/i.test(href)) { return "<" + tag + " href=" + href + ">"; }
    for (const attr of Array.from(el.attributes)) {
      if (/^on/i.test(attr.name)) { return "<" + tag + " " + attr.name + "=" + attr.value + ">"; }
    }
    return null;
  };
  const scan = (node) => {
    if (node.nodeType !== 1) { return; }
    for (const el of [node, ...node.querySelectorAll("*")]) {
      const found = suspicious(el);
      if (found) { window.__hostileNodes.push(found); }
    }
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") { scan(record.target); }
      record.addedNodes.forEach(scan);
    }
  }).observe(document, {
    childList: true, subtree: true, attributes: true,
    attributeFilter: ["src", "href", "onerror", "onload", "onclick", "onmouseover", "onfocus"],
  });
})();"""

# What is in the DOM now (the observer above covers what came and went).
DOM_NOW = r"""() => ({
  xss: window.__xss,
  calls: window.__xssCalls || null,
  nodes: window.__hostileNodes || null,
  imgX: document.querySelectorAll('img[src="x"]').length,
  handlers: Array.from(document.querySelectorAll("*")).flatMap(
    (el) => Array.from(el.attributes).filter((a) => /^on/i.test(a.name)).map((a) => a.name)),
  jsLinks: document.querySelectorAll('[href^="javascript:" i]').length,
  scripts: Array.from(document.querySelectorAll("script"))
    .filter((s) => (s.textContent || "").includes("alert(")).length,
  katex: document.querySelectorAll(".katex").length,
})"""

CELLS = """(selector) => Array.from(document.querySelectorAll(selector))
  .map((el) => el.textContent.trim())"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with open_browser() as launched:
        yield launched


def cells(page: Page, selector: str) -> set[str]:
    return set(page.evaluate(CELLS, selector))


def wait_for_texts(page: Page, selector: str, texts: set[str] | None = None) -> None:
    """Until elements matching ``selector`` exist (and hold all of ``texts`` as their exact text).

    A timeout is not an error here: the assertions that follow say what is missing.
    """
    with contextlib.suppress(sync_api.TimeoutError):
        page.wait_for_function(
            """([selector, texts]) => {
                const found = new Set(Array.from(document.querySelectorAll(selector))
                    .map((el) => el.textContent.trim()));
                return found.size > 0 && texts.every((t) => found.has(t));
            }""",
            arg=[selector, sorted(texts or ())],
            timeout=FIRST_RENDER_MS,
        )


def assert_no_script_ran(page: Page, dialogs: list[str], where: str) -> None:
    assert not dialogs, f"{where}: a dialog opened: {dialogs}"
    for frame in page.frames:
        state = frame.evaluate(DOM_NOW)
        assert state["calls"] is not None, f"{where}: the probe is missing in {frame.url}"
        assert state["xss"] is False and not state["calls"], (where, frame.url, state["calls"])
        assert not state["nodes"], f"{where}: injected elements entered the DOM: {state['nodes']}"
        assert state["imgX"] == 0, f"{where}: an <img src=x> is in the DOM"
        assert not state["handlers"], f"{where}: inline event handlers {state['handlers']}"
        assert state["jsLinks"] == 0, f"{where}: a javascript: link is in the DOM"
        assert state["scripts"] == 0, f"{where}: a <script> with the payload is in the DOM"
        # The dashboard writes no LaTeX of its own: KaTeX output means "$x^2$" was interpreted.
        assert state["katex"] == 0, f"{where}: a name reached LaTeX"


def open_probed(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = patient(context.new_page())
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    return page, dialogs


# --- 1. hostile names: text, never markup or script ---------------------------------------------


def test_hostile_names_render_as_text_and_no_script_runs(
    browser: Browser, sim_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = sim_factory(hostile_names=True, campaigns=CAMPAIGNS, agents=AGENTS, calls_per_day=1500)
    with running_dashboard(sim.api_root, tmp_path) as server:
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        try:
            context.add_init_script(PROBE)

            # The probe itself catches a real injection (else a silent probe would prove nothing).
            control, control_dialogs = open_probed(context, f"{server.url}/_stcore/health")
            control.evaluate(
                "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=alert(1)>')"
            )
            control.wait_for_function("window.__xss === true", timeout=WITHIN_MS)
            assert control.evaluate("window.__hostileNodes") == ["<img src=x>"]
            control.close()
            assert not control_dialogs

            pages = {
                where: open_probed(context, server.url + path)
                for where, path in {
                    "wall overview": "/?kiosk=1&rotate=0",
                    "wall agents": "/?kiosk=1&rotate=0&view=agents",
                    "agents page": "/agents",
                    "overview page": "/",
                }.items()
            }
            # st.table (the wall) renders real <td> cells; st.dataframe draws on a canvas but
            # keeps an accessible <table> of the visible rows; plotly labels are SVG <text>.
            wall_cells = ".st-key-wall-table td, .st-key-wall-table th"
            grid_cells = '[data-testid="stDataFrame"] td'
            chart_text = ".js-plotly-plot svg text"

            page = pages["wall overview"][0]
            wait_for_texts(page, wall_cells, set(HOSTILE_CAMPAIGNS))
            shown = cells(page, wall_cells)
            missing = set(HOSTILE_CAMPAIGNS) - shown
            assert not missing, f"campaign names not shown verbatim on the wall: {missing}"
            assert not [c for c in shown if "\\" in c], "Markdown escapes visible on the wall"

            page = pages["wall agents"][0]
            wait_for_texts(page, wall_cells)
            shown = cells(page, wall_cells)
            agents_shown = shown & set(HOSTILE_NAMES)
            assert any(MARKUP.search(n) for n in agents_shown), (
                f"no agent name with markup shown verbatim on the agents wall: {sorted(shown)}"
            )
            assert not [c for c in shown if "\\" in c], "Markdown escapes visible on the wall"

            page = pages["agents page"][0]
            wait_for_texts(page, grid_cells, set(HOSTILE_NAMES))
            missing = set(HOSTILE_NAMES) - cells(page, grid_cells)
            assert not missing, f"agent names not in the agent table verbatim: {missing}"
            wait_for_texts(page, chart_text, set(HOSTILE_CAMPAIGNS))
            missing = set(HOSTILE_CAMPAIGNS) - cells(page, chart_text)
            assert not missing, f"campaign names not shown verbatim as chart labels: {missing}"

            page = pages["overview page"][0]
            wait_for_texts(page, grid_cells, set(HOSTILE_CAMPAIGNS))
            missing = set(HOSTILE_CAMPAIGNS) - cells(page, grid_cells)
            assert not missing, f"campaign names not in the overview table verbatim: {missing}"

            for where, (page, dialogs) in pages.items():
                page.wait_for_function(IMAGES_SETTLED, timeout=WITHIN_MS)
                assert_no_script_ran(page, dialogs, where)
        finally:
            context.close()


# --- 2. the secret canary never reaches the browser ------------------------------------------

CANARY_PAGES = {
    "overview": "/",
    "wait times": "/wait-times",
    "agents": "/agents",
    "voicemail": "/voicemail",
    "transfers": "/transfers",
    "drill-down": "/drilldown?window=today",
    "wall": "/?kiosk=1&rotate=0",
}
HEALTHY = re.compile(r"updated \d+ s ago")
# The tenant's refusal, as each page words it (render_freshness, the wall's banner).
REFUSED = re.compile(r"ERROR: The tenant refused|CONNECTION TO THE TENANT LOST")
# Markdown-escaped too (ipscape/presentation/text.py): that is how a page's own text crosses
# the websocket.
FORMS = sorted({text.encode() for form in canaries() for text in (form, plain(form))})


@dataclass
class Seen:
    """Everything the browser sent, received or kept, per place, as bytes."""

    places: dict[str, list[bytes]] = field(default_factory=dict)
    responses: list[Any] = field(default_factory=list)
    bodies_read: set[str] = field(default_factory=set)
    request_urls: list[str] = field(default_factory=list)
    unreadable: int = 0

    def add(self, where: str, data: bytes | str | None) -> None:
        if data:
            blob = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
            self.places.setdefault(where, []).append(blob)

    def watch(self, page: Page) -> None:
        def on_request(request: Any) -> None:
            self.request_urls.append(request.url)
            self.add("request URLs", request.url)
            self.add("request headers", repr(request.headers))
            self.add("request bodies", request.post_data_buffer)

        def on_websocket(ws: Any) -> None:
            self.add("websocket URLs", ws.url)
            ws.on("framereceived", lambda payload: self.add("websocket frames received", payload))
            ws.on("framesent", lambda payload: self.add("websocket frames sent", payload))

        page.on("request", on_request)
        page.on("response", lambda response: self.responses.append(response))
        page.on("websocket", on_websocket)
        page.on("console", lambda message: self.add("console messages", message.text))

    def read_bodies(self) -> None:
        """Response headers and bodies so far (read before their page moves on). Each URL's body
        is read once: most are Streamlit's immutable, content-hashed bundles, megabytes each."""
        responses, self.responses = self.responses, []
        for response in responses:
            self.add("response headers", repr(response.headers))
            if response.url in self.bodies_read:
                continue
            self.bodies_read.add(response.url)
            try:
                self.add("response bodies", response.body())
            except sync_api.Error:  # redirects, the websocket upgrade
                self.unreadable += 1

    def snapshot(self, context: BrowserContext, pages: dict[str, Page]) -> None:
        self.read_bodies()
        self.add("cookies", repr(context.cookies()))
        for page in pages.values():
            self.add("page URLs", page.url)
            for frame in page.frames:
                self.add("frame URLs", frame.url)
                self.add("page HTML", frame.content())
                self.add(
                    "web storage",
                    frame.evaluate(
                        "() => JSON.stringify([Object.entries(localStorage),"
                        " Object.entries(sessionStorage)])"
                    ),
                )

    def contains(self, where: str, text: str) -> bool:
        return any(text.encode() in blob for blob in self.places.get(where, []))

    def assert_clean(self, server: StreamlitServer, phase: str) -> None:
        places = dict(self.places)
        places["server log"] = [server.log_path.read_bytes()]
        for where, blobs in places.items():
            for form in FORMS:
                leaked = any(form in blob for blob in blobs)
                assert not leaked, f"{phase}: {form.decode()!r} leaked into {where}"


def open_all(context: BrowserContext, server: StreamlitServer, seen: Seen) -> dict[str, Page]:
    pages = {}
    for where, path in CANARY_PAGES.items():
        page = patient(context.new_page())
        seen.watch(page)
        page.goto(server.url + path, wait_until="commit")  # all load at once
        pages[where] = page
    return pages


def wait_for_text(
    page: Page, pattern: re.Pattern[str], where: str, timeout_ms: float = FIRST_RENDER_MS
) -> None:
    """Until the page shows text matching ``pattern`` (a first render, by default)."""
    try:
        page.get_by_text(pattern).first.wait_for(timeout=timeout_ms)
    except sync_api.TimeoutError:
        pytest.fail(f"{where}: no text matching {pattern.pattern!r} within {timeout_ms:.0f} ms")


def play_first_voicemail(page: Page) -> None:
    """Choose a voicemail in the player: the dashboard fetches it from the tenant for us."""
    page.bring_to_front()
    choose = page.get_by_role("combobox", name="Voicemail")
    choose.click()
    if choose.get_attribute("aria-expanded") != "true":
        choose.press("ArrowDown")  # a click that lands during a rerun only focuses it
    page.get_by_role("option").nth(1).click()
    page.locator("audio").first.wait_for(state="attached", timeout=WITHIN_MS)


def download_csv(page: Page, tmp_path: Path, attempts: int = 3) -> bytes:
    page.bring_to_front()
    target = tmp_path / "activities.csv"
    for attempt in range(attempts):
        try:
            with page.expect_download(timeout=WITHIN_MS) as info:
                page.get_by_text("Download CSV").click()
            info.value.save_as(target)
            return target.read_bytes()
        except sync_api.Error as exc:
            # The drill-down refreshes itself (every 8 s here); a download that starts just as
            # it reruns follows a link of the previous run and the browser cancels it. A person
            # clicks again; so does this test.
            if "canceled" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_canary_credentials_never_reach_the_browser_or_the_log(
    browser: Browser, sim_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = sim_factory(token=TOKEN, keys=KEYS, calls_per_day=500)
    with running_dashboard(sim.api_root, tmp_path, token=TOKEN, keys=KEYS) as server:
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        seen = Seen()
        try:
            # Healthy: every page shows the tenant's data.
            pages = open_all(context, server, seen)
            for where, page in pages.items():
                wait_for_text(page, HEALTHY, where)
            play_first_voicemail(pages["voicemail"])
            seen.add("CSV download", download_csv(pages["drill-down"], tmp_path))
            seen.snapshot(context, pages)
            # The search covers real content: the pages' text came through the websocket, and
            # from the canary tenant (the footer says "live tenant", not "Demo data").
            assert seen.contains("websocket frames received", "live tenant")
            assert seen.contains("response bodies", "<html")
            assert seen.contains("CSV download", "\n")
            audio = pages["voicemail"].locator("audio").first.get_attribute("src") or ""
            assert audio.startswith("data:audio/"), "the voicemail audio loaded, inline"
            assert sim.stats()["total"] > 0, "the dashboard talked to the canary tenant"
            seen.assert_clean(server, "healthy pages")

            # Refused: the tenant revokes both keys; freshly loaded pages show the refusal.
            sim.inject(
                {"kind": "revoke_key", "key": KEYS[0]}, {"kind": "revoke_key", "key": KEYS[1]}
            )
            wait_for_text(pages["overview"], REFUSED, "overview after the revocation")
            for page in pages.values():
                page.reload(wait_until="commit")
            for where, page in pages.items():
                wait_for_text(page, REFUSED, f"{where} after the revocation")
            seen.snapshot(context, pages)
            assert seen.contains("websocket frames received", "refused the API token")
            seen.assert_clean(server, "pages showing the refusal")

            # The browser only ever talked to the dashboard, never to the tenant itself.
            elsewhere = [
                url for url in seen.request_urls if not url.startswith((server.url, "data:"))
            ]
            assert not elsewhere, f"the browser requested other hosts: {elsewhere[:5]}"
        finally:
            context.close()


# --- 3. Markdown in vendor names: no fetch, no link ---------------------------------------------

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63"
    "f8ffff3f0005fe02fea7d6a4b10000000049454e44ae426082"
)
MARKDOWN_PAGES = {
    "overview": "/",
    "wait times": "/wait-times",
    "agents": "/agents",
    "voicemail": "/voicemail",
    "transfers": "/transfers",
    "drill-down": "/drilldown?window=today",
    **{f"wall {view}": f"/?kiosk=1&rotate=0&view={view}" for view in
       ("overview", "agents", "voicemail", "transfers")},
}  # fmt: skip
# Elements of the page that point at the pixel server (an image, a link, any source).
POINTING_AT = """(host) => Array.from(document.querySelectorAll("[src], [href], [srcset]"))
  .map((el) => (el.closest("[data-testid]") || el).getAttribute("data-testid") + ": " +
    el.outerHTML.slice(0, 200))
  .filter((html) => html.includes(host))"""


class PixelServer:
    """An image and link target on 127.0.0.1: counts every request it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PIXEL)))
                self.end_headers()
                self.wfile.write(PIXEL)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PixelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def pixel() -> Iterator[PixelServer]:
    with PixelServer() as server:
        yield server


def test_markdown_in_vendor_names_fetches_nothing_and_links_nowhere(
    browser: Browser,
    sim_factory: Callable[..., RunningSimulator],
    tmp_path: Path,
    pixel: PixelServer,
) -> None:
    image = f"![x](http://{pixel.host}/pixel.png)"
    link = f"[Click](http://{pixel.host}/link)"
    bare = f"http://{pixel.host}/bare"
    # Two agents report these as their states; campaigns and agents carry them as names.
    sim = sim_factory(extra_names=(image, link, bare), campaigns=6, agents=12, calls_per_day=1500)
    with running_dashboard(sim.api_root, tmp_path) as server:
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        try:
            # The pixel server sees what a browser fetches (else zero requests would prove
            # nothing).
            control = patient(context.new_page())
            control.goto(f"{server.url}/_stcore/health")
            control.evaluate(
                "(src) => document.body.insertAdjacentHTML('beforeend', `<img src=\"${src}\">`)",
                f"http://{pixel.host}/control.png",
            )
            control.wait_for_function(IMAGES_SETTLED, timeout=WITHIN_MS)
            assert pixel.requests == ["/control.png"]
            control.close()
            pixel.requests.clear()

            pages = {}
            for where, path in MARKDOWN_PAGES.items():
                page = patient(context.new_page())
                page.goto(server.url + path, wait_until="commit")
                pages[where] = page
            for where, page in pages.items():
                wait_for_text(page, HEALTHY, where)

            # The custom states are tiles on the Agents page, their labels the literal text,
            # and the names are the State filter's options.
            agents = pages["agents"]
            agents.bring_to_front()
            agents.wait_for_function(
                """(states) => {
                    const shown = Array.from(
                        document.querySelectorAll('[data-testid="stMetricLabel"]'),
                        (el) => el.textContent.replaceAll("\\u2060", "").trim());
                    return states.every((s) => shown.includes(s));
                }""",
                arg=[image, link],
                timeout=WITHIN_MS,
            )
            choose = agents.get_by_role("combobox", name="State")
            choose.click()
            if choose.get_attribute("aria-expanded") != "true":
                choose.press("ArrowDown")  # a click that lands during a rerun only focuses it
            agents.get_by_role("option", name=image).wait_for(timeout=WITHIN_MS)
            play_first_voicemail(pages["voicemail"])
            audio = pages["voicemail"].locator("audio").first.get_attribute("src") or ""
            assert audio.startswith("data:audio/"), audio[:40]

            for where, page in pages.items():
                page.wait_for_function(IMAGES_SETTLED, timeout=WITHIN_MS)
                for frame in page.frames:
                    pointing = frame.evaluate(POINTING_AT, pixel.host)
                    assert not pointing, f"{where}: elements point at the pixel server: {pointing}"
            assert pixel.requests == [], f"the browser fetched {pixel.requests}"
        finally:
            context.close()
