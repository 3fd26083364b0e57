"""Vendor strings are untrusted: hostile agent and campaign names render as text on every page.

The simulator's ``hostile_names`` tenant names agents and campaigns ``<script>...``,
``<img onerror=...>``, Markdown (links and images) and LaTeX, SQL, right-to-left text, emoji and
300-character strings, and reports agent states named like Markdown images and links. Every page
must show each of them as the exact text (tables) or escaped (every field Streamlit renders as
Markdown, whatever the element: labels, values, help, captions, alerts, badges, tabs), never
raise, and never hand them to an HTML-rendering call. The real-browser half
(no script runs, text visible) is in tests/test_browser_security.py.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.charts import escape_label
from ipscape.presentation.text import plain
from ipscape.simulator import RunningSimulator
from ipscape.simulator.names import HOSTILE_NAMES, hostile_list
from tests.app_support import open_page, point_app_at, unescape

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
PAGES = ("overview", "wait_times", "agents", "voicemail", "transfers", "drilldown")
CAMPAIGNS = 6
# Custom agent states (and one campaign and agent each) named as Markdown that fetches or links.
STATES = ("![state](http://127.0.0.1:9/state.png)", "[State](http://127.0.0.1:9/state)")
# names.campaign_names puts the first half of the hostile names on campaigns
HOSTILE_CAMPAIGNS = hostile_list(True, STATES)[: CAMPAIGNS // 2]
# Text that Markdown, HTML or KaTeX would interpret if it reached them unescaped.
ACTIVE = [name for name in (*STATES, *HOSTILE_NAMES) if re.search(r"[<>*\[\]$`]", name)]
# The proto fields Streamlit 1.67 renders as Markdown, in any element: st.markdown and its
# relatives (body, help), alerts (body, title), metrics (label, value, delta, help), widgets'
# label and help, expander and tab labels, pills/segmented-control options (content).
# Not Markdown: selectbox/multiselect options, table and chart data.
MARKDOWN_FIELDS = frozenset({"body", "label", "help", "delta", "delta_description", "title",
                             "content"})  # fmt: skip
# A link or image Markdown would make live: "[text](" with neither bracket escaped.
LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")


@pytest.fixture
def hostile(app_env: Path, sim_factory: Any, monkeypatch: pytest.MonkeyPatch) -> RunningSimulator:
    sim = sim_factory(
        hostile_names=True, extra_names=STATES, campaigns=CAMPAIGNS, agents=40, calls_per_day=1500
    )
    point_app_at(sim, monkeypatch, both_keys=False)
    return sim


def walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def cells(at: AppTest) -> set[str]:
    """Every cell of every table on the page, as the viewer reads it."""
    out: set[str] = set()
    for node in walk(at._tree):
        if node.type in ("dataframe", "table") and isinstance(node.value, pd.DataFrame):
            for column in node.value.columns:
                out.update(str(v) for v in node.value[column].tolist())
    return out


def markdown_fields(message: Any) -> Iterator[tuple[str, str]]:
    """(element.field, text) for every Markdown-rendered string field of a proto, nested ones
    included (a metric inside an element, an option inside a button group)."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, str):
                if field.name in MARKDOWN_FIELDS:
                    yield f"{message.DESCRIPTOR.name}.{field.name}", item
            elif hasattr(item, "ListFields"):
                yield from markdown_fields(item)


def markdown_values(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer, whatever the element."""
    return [text for _, text in markdown_sources(at)]


def markdown_sources(at: AppTest) -> list[tuple[str, str]]:
    # st.html is not Markdown (its body is HTML, checked by html_bodies), nor is a chart.
    return [
        found
        for node in walk(at._tree)
        if getattr(node, "proto", None) is not None and node.type not in ("plotly_chart", "html")
        for found in markdown_fields(node.proto)
    ]


def html_bodies(at: AppTest) -> list[str]:
    return [node.proto.body for node in walk(at._tree) if node.type == "html"]


def chart_strings(at: AppTest) -> set[str]:
    """Every string inside the plotly figures on the page (labels, names, hover text)."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for node in walk(at._tree):
        if node.type == "plotly_chart":
            collect(json.loads(node.proto.spec))
    return found


def assert_rendered_as_text(at: AppTest, page: str) -> None:
    assert not at.exception, (page, [e.stack_trace for e in at.exception])
    for where, value in markdown_sources(at):
        for name in ACTIVE:
            assert name not in value, f"{page}: {name!r} reached Markdown unescaped in {where}"
    # In HTML (the agent grid) a name's Markdown is inert, but its markup must arrive escaped.
    for body in html_bodies(at):
        for name in ACTIVE:
            if re.search(r"[<>\"&]", name):
                assert name not in body, f"{page}: {name!r} reached st.html unescaped"
        assert not LIVE_LINK.search(value), f"{page}: a live Markdown link in {where}: {value!r}"
    # plotly renders a subset of HTML in labels: names must arrive there escaped
    labels = " ".join(chart_strings(at))
    for name in ACTIVE:
        if "<" in name:
            assert name not in labels, (page, name)


def test_every_page_shows_hostile_names_as_text(hostile: RunningSimulator) -> None:
    at = open_page("overview")
    assert_rendered_as_text(at, "overview")
    assert set(HOSTILE_CAMPAIGNS) <= cells(at), "campaign names verbatim in the overview table"

    open_page("agents", at)
    assert_rendered_as_text(at, "agents")
    assert set(HOSTILE_NAMES) <= cells(at), "every hostile agent name verbatim in the agent table"
    labels = chart_strings(at)
    for name in HOSTILE_CAMPAIGNS:
        assert escape_label(name) in labels, name

    for page in ("wait_times", "voicemail", "transfers"):
        open_page(page, at)
        assert_rendered_as_text(at, page)

    drill = open_page("drilldown", window="today")
    assert_rendered_as_text(drill, "drilldown")
    shown = cells(drill)
    assert set(HOSTILE_CAMPAIGNS) <= shown
    assert any(name in shown for name in HOSTILE_NAMES if name not in HOSTILE_CAMPAIGNS)


def test_the_markdown_check_catches_live_links_and_images() -> None:
    # The check above would prove nothing if it could not see the payloads unescaped.
    assert all(LIVE_LINK.search(state) for state in STATES)
    assert not any(LIVE_LINK.search(plain(state)) for state in STATES)


def test_custom_state_names_are_escaped_in_the_agents_tiles(hostile: RunningSimulator) -> None:
    at = open_page("agents")
    assert_rendered_as_text(at, "agents")
    labels = [m.proto.label for m in at.metric]
    # one tile per state, the tenant's own names included: shown as the literal text
    for state in STATES:
        assert plain(state) in labels, labels
        assert unescape(plain(state)) == state


def test_a_hostile_agent_search_and_url_filters_are_plain_text(hostile: RunningSimulator) -> None:
    at = open_page("agents")
    at.text_input(key="agent_search").set_value("<img src=x onerror=alert(1)>").run()
    assert_rendered_as_text(at, "agents search")
    assert "<img src=x onerror=alert(1)>" in cells(at)
    drill = open_page("drilldown", type="<script>alert(1)</script>", campaign="1<b>")
    assert_rendered_as_text(drill, "drilldown url")
    notes = [unescape(v) for v in markdown_values(drill)]
    assert any(n.startswith("Ignored type='<script>alert(1)</script>'") for n in notes), notes


@pytest.mark.parametrize("view", ["overview", "agents"])
def test_the_wall_shows_hostile_names_escaped(hostile: RunningSimulator, view: str) -> None:
    if not (ROOT / "screens" / "wall.py").exists():
        pytest.skip("no wall page")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(kiosk="1", view=view, rotate="0")
    at.run()
    assert_rendered_as_text(at, f"wall {view}")
    # st.table renders cell Markdown: the wall escapes vendor text, the viewer reads it verbatim
    shown = {unescape(c) for c in cells(at)}
    expected = HOSTILE_CAMPAIGNS if view == "overview" else ()
    assert set(expected) <= shown
    for cell in cells(at):
        for name in ACTIVE:
            assert name not in cell, (view, cell)


# --- no HTML-rendering call receives vendor text --------------------------------------------

HTML_CALLS = {"html", "markdown", "write", "caption"}
# The only arguments an HTML-rendering call may get: our own constants and builders of ints.
HTML_SAFE_NAMES = re.compile(
    r"^[A-Z][A-Z0-9_]*$|^(board_state_css|watchdog_html|audio_player_html|grid_html)$"
)


def ui_sources() -> list[Path]:
    return [ROOT / "dashboard.py", *sorted((ROOT / "screens").glob("*.py")),
            *sorted((ROOT / "ui").glob("*.py"))]  # fmt: skip


def test_no_page_code_passes_text_through_unsafe_html() -> None:
    offenders = []
    for path in ui_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "unsafe_allow_html" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    offenders.append(f"{path.name}:{node.lineno} unsafe_allow_html")
            func = node.func
            is_html = isinstance(func, ast.Attribute) and func.attr == "html"
            if is_html:
                names = {
                    n.id if isinstance(n, ast.Name) else n.attr
                    for arg in node.args
                    for n in ast.walk(arg)
                    if isinstance(n, ast.Name | ast.Attribute)
                }
                # our own values, and the voicemail audio (bytes that audio_player_html base64s)
                names -= {"schedule", "first", "shift", "dimmed", "reload_at", "params", "theme",
                          "views", "audio"}  # fmt: skip
                # the agent grid's cells, which grid_html escapes (tests/test_agent_grid.py)
                names -= {"grid", "sizes"}
                unsafe = sorted(n for n in names if not HTML_SAFE_NAMES.match(n))
                if unsafe:
                    offenders.append(f"{path.name}:{node.lineno} st.html({', '.join(unsafe)})")
    assert not offenders
