"""The server's garbage-collector setup: what it freezes at boot, and the setting in effect.

Streamlit runs a full ``gc.collect(2)`` after every script and fragment run unless
``runner.postScriptGC`` is off, and each full collection walks every object the process holds;
ui/server.py freezes what the boot leaves behind (the loaded libraries above all) so that
collections skip it. benchmarks/viewer_cpu.py and benchmarks/soak.py (``--mode gc``) measured
why. One real ``streamlit run dashboard.py`` on the demo tenant: the server's log says what it
froze and which post-script setting it runs with, before any viewer connects.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_support import StreamlitServer, demo_env, write_dashboard_config
from ui import server as ui_server

CONFIG_TOML = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"
FROZEN = re.compile(r"Frozen at boot: (\d+) objects .*; runner\.postScriptGC (\w+)")
# The libraries alone (Streamlit, pandas, plotly) hold well above this many objects.
LIBRARY_OBJECTS = 50_000


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    workdir = tmp_path_factory.mktemp("server-gc")
    config = write_dashboard_config(workdir / "dashboard.toml", history=workdir / "h.sqlite")
    env = demo_env(config)
    env.pop(ui_server.GC_FREEZE_ENV, None)
    server = StreamlitServer(env, workdir / "streamlit.log", args=("--logger.level", "info"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def frozen_line(server: StreamlitServer) -> re.Match[str]:
    # The lifespan freezes before the server answers, so the line is there once it is healthy.
    found = FROZEN.search(server.log(tail=1_000_000))
    assert found is not None, f"no freeze in the server log:\n{server.log()}"
    return found


def test_server_freezes_the_libraries_before_the_first_viewer(
    demo_server: StreamlitServer,
) -> None:
    assert int(frozen_line(demo_server).group(1)) > LIBRARY_OBJECTS
    assert demo_server.log(tail=1_000_000).count("Frozen at boot") == 1, "frozen once only"


def test_server_runs_with_the_post_script_collection_chosen_in_config_toml(
    demo_server: StreamlitServer,
) -> None:
    runner = tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))["runner"]
    assert "postScriptGC" in runner, "the choice is stated, with its reasons, in config.toml"
    assert frozen_line(demo_server).group(2) == str(runner["postScriptGC"]).lower()


def test_boot_imports_what_the_screens_import() -> None:
    names = set(ui_server.screen_imports())
    assert {"streamlit", "ui.layout", "ui.wall"} <= names


def test_the_freeze_can_be_switched_off_for_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ui_server.GC_FREEZE_ENV, "0")
    assert not ui_server.gc_freeze_enabled()
    monkeypatch.delenv(ui_server.GC_FREEZE_ENV)
    assert ui_server.gc_freeze_enabled()
