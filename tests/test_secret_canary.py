"""Secret canary: run everything with recognisable credentials and fail if any of them leaks.

The simulated tenant accepts only the canary token and keys. The CLI (every command, successes
and failures), the client's exceptions (message, repr, cause chain, user message), every log
record at DEBUG of every logger (httpx and httpcore included), every page's rendered elements,
the drill-down CSV export and every URL the client requested or the app put in its query string
are searched for the canaries, and for the Basic-auth header values built from them.
The browser's HTML is checked in tests/test_browser_security.py.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from ipscape.__main__ import main
from ipscape.client import IpscapeClient, RetryPolicy, make_http_client
from ipscape.errors import IpscapeError, user_message
from ipscape.feeds import FEEDS
from ipscape.settings import Settings
from ipscape.simulator import RunningSimulator
from tests.app_support import CANARY_KEYS as KEYS
from tests.app_support import CANARY_TOKEN as TOKEN
from tests.app_support import canaries

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard.py")
PAGES = ("overview", "wait_times", "agents", "voicemail", "transfers", "drilldown")


def assert_clean(text: str, where: str) -> None:
    for canary in canaries():
        assert canary not in text, f"{canary!r} leaked into {where}"


@pytest.fixture
def canary_sim(sim_factory: Any) -> RunningSimulator:
    return sim_factory(token=TOKEN, keys=KEYS, calls_per_day=1500)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger at DEBUG, the HTTP stack's included."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "ipscape", "streamlit", "uvicorn", "hpack", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> str:
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            out.append(repr(record.exc_info[1]))
    return "\n".join(out)


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("IPSCAPE_"):
            monkeypatch.delenv(name)

    def use(sim: RunningSimulator, *, url: str | None = None) -> None:
        monkeypatch.setenv("IPSCAPE_BASE_URL", url or sim.api_root)
        monkeypatch.setenv("IPSCAPE_API_TOKEN", TOKEN)
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", KEYS[0])
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_2", KEYS[1])

    return use


def test_cli_never_prints_or_logs_a_secret(
    canary_sim: RunningSimulator,
    cli_env: Any,
    capsys: pytest.CaptureFixture[str],
    all_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    cli_env(canary_sim)
    runs: list[tuple[list[str], int]] = []

    def run(*argv: str) -> None:
        code = main(["-v", *argv])
        out, err = capsys.readouterr()
        assert_clean(out + err, f"CLI output of {argv}")
        runs.append((list(argv), code))

    run("check")

    for feed in (*FEEDS, "performance"):
        run("fetch", feed, "--format", "json")
    run("fetch", "campaigns")
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"campaignId": 1, "listId": 1, "phone1": "+61400000001"}))
    run("lead", "create", str(lead))
    run("lead", "update", "999999", str(lead))
    run("fetch", "voicemail", "--since", "not-a-time")
    canary_sim.inject({"kind": "revoke_key", "key": KEYS[0]})
    run("fetch", "agents")  # key 2 takes over
    canary_sim.inject({"kind": "revoke_key", "key": KEYS[1]})
    run("check")  # both refused
    canary_sim.clear_faults()
    for fault in ("truncate", "wrong_shape", "malformed"):
        canary_sim.inject({"kind": fault, "match": "/v3.0/agents*", "count": 4})
        run("fetch", "agents")
    canary_sim.inject({"kind": "status", "status": 503, "match": "/v3.0/*", "count": 8})
    run("fetch", "campaigns")
    canary_sim.clear_faults()
    cli_env(canary_sim, url="http://127.0.0.1:9/platform-api")  # nothing listens on port 9
    run("fetch", "campaigns")
    cli_env(canary_sim, url=f"https://{TOKEN}:{KEYS[0]}@example.com/platform-api")
    run("check")  # credentials in the URL are refused without echoing them
    assert {code for _, code in runs} >= {0, 2, 3, 4}, runs
    assert_clean(logged(all_logs), "log records of the CLI")


# --- client errors ----------------------------------------------------------------------------


def chain(exc: BaseException) -> str:
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), repr(getattr(seen, "args", ()))]
        request = getattr(seen, "request", None) if isinstance(seen, httpx.HTTPError) else None
        if request is not None:
            parts += [str(request.url), repr(request)]
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, IpscapeError):
        parts.append(user_message(exc))
    return "\n".join(parts)


@pytest.mark.parametrize(
    "faults",
    [
        [{"kind": "revoke_key", "key": KEYS[0]}, {"kind": "revoke_key", "key": KEYS[1]}],
        [{"kind": "status", "status": 429, "retry_after": "120"}],
        [{"kind": "status", "status": 503}],
        [{"kind": "status", "status": 500}],
        [{"kind": "status", "status": 404}],
        [{"kind": "truncate"}],
        [{"kind": "malformed"}],
        [{"kind": "wrong_shape"}],
        [{"kind": "drop"}],
        [{"kind": "slow", "delay_s": 1.0}],
    ],
    ids=lambda f: "+".join(x.get("kind", "") + str(x.get("status", "")) for x in f),
)
def test_client_errors_carry_no_secret(
    canary_sim: RunningSimulator,
    all_logs: pytest.LogCaptureFixture,
    faults: list[dict[str, Any]],
) -> None:
    settings = Settings(canary_sim.api_root, TOKEN, KEYS, timeout_s=0.3)
    urls: list[str] = []
    http = make_http_client(settings)
    http.event_hooks["request"].append(lambda request: urls.append(str(request.url)))
    client = IpscapeClient(settings, http, retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    try:
        assert_clean(repr(client) + repr(settings) + settings.redacted, "client/settings repr")
        client.operations()
        canary_sim.inject(*faults)
        with pytest.raises(IpscapeError) as info:
            client.agent_status()
        assert_clean(chain(info.value), "the exception chain")
    finally:
        client.close()
    assert urls
    assert_clean("\n".join(urls), "request URLs")
    assert_clean(logged(all_logs), "log records")


def test_connection_refused_error_carries_no_secret(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    settings = Settings("http://127.0.0.1:9/platform-api", TOKEN, KEYS, timeout_s=1)
    client = IpscapeClient(settings, retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    with client, pytest.raises(IpscapeError) as info:
        client.list_campaigns()
    assert_clean(chain(info.value), "the connection error chain")
    assert_clean(logged(all_logs), "log records")


# --- pages, CSV export and URLs -----------------------------------------------------------------


def walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def rendered(at: AppTest) -> str:
    return "\n".join(str(n.proto) for n in walk(at._tree) if getattr(n, "proto", None))


def test_pages_csv_and_urls_never_show_a_secret(
    app_env: Path,
    canary_sim: RunningSimulator,
    all_logs: pytest.LogCaptureFixture,
    csv_exports: list[Any],
) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    # through st.secrets, the way a deployment configures the tenant
    at.secrets["ipscape"] = {
        "IPSCAPE_BASE_URL": canary_sim.api_root,
        "IPSCAPE_API_TOKEN": TOKEN,
        "IPSCAPE_SECRET_KEY_1": KEYS[0],
        "IPSCAPE_SECRET_KEY_2": KEYS[1],
    }
    at.query_params["window"] = "today"
    at.run()
    seen = []
    for page in PAGES:
        at.switch_page(f"screens/{page}.py").run()
        assert not at.exception, page
        seen.append(rendered(at))
        seen.append(json.dumps(dict(at.query_params)))
    # and while the tenant refuses both keys: error texts on every page
    from ui import runtime

    canary_sim.inject(
        {"kind": "revoke_key", "key": KEYS[0]}, {"kind": "revoke_key", "key": KEYS[1]}
    )
    for poller in runtime.live().pollers.values():
        poller.refresh()
    for page in PAGES:
        at.switch_page(f"screens/{page}.py").run()
        assert not at.exception, page
        assert at.error, page
        seen.append(rendered(at))
    assert csv_exports, "the drill-down offered its CSV"
    csv = max((export() for export in csv_exports), key=len)
    assert csv.decode("utf-8-sig").count("\n") > 1
    seen.append(csv.decode("utf-8-sig", errors="replace"))
    assert_clean("\n".join(seen), "page elements, query params or CSV")
    assert_clean(logged(all_logs), "log records while serving the pages")


# --- configuration errors name the setting, never its value ------------------------------------

BASE = "https://acme.ipscape.com.au/platform-api"


@pytest.mark.parametrize(
    ("secrets", "toml", "names"),
    [
        ({"IPSCAPE_API_TOKEN": TOKEN, "IPSCAPE_SECRET_KEY_1": KEYS[0]}, "", "IPSCAPE_BASE_URL"),
        ({"IPSCAPE_BASE_URL": BASE, "IPSCAPE_SECRET_KEY_1": KEYS[0]}, "", "IPSCAPE_API_TOKEN"),
        (
            {
                "IPSCAPE_BASE_URL": f"https://{TOKEN}:{KEYS[0]}@acme.ipscape.com.au/platform-api",
                "IPSCAPE_API_TOKEN": TOKEN,
                "IPSCAPE_SECRET_KEY_1": KEYS[0],
            },
            "",
            "must not carry credentials",
        ),
        (
            {
                "IPSCAPE_BASE_URL": f"ftp://{KEYS[1]}",
                "IPSCAPE_API_TOKEN": TOKEN,
                "IPSCAPE_SECRET_KEY_1": KEYS[0],
            },
            "",
            "IPSCAPE_BASE_URL is not an http(s) URL",
        ),
        (
            {
                "IPSCAPE_BASE_URL": BASE,
                "IPSCAPE_API_TOKEN": TOKEN,
                "IPSCAPE_SECRET_KEY_1": [KEYS[0]],
            },
            "",
            "IPSCAPE_SECRET_KEY_1 must be text",
        ),
        (
            {
                "IPSCAPE_BASE_URL": BASE,
                "IPSCAPE_API_TOKEN": TOKEN,
                "IPSCAPE_SECRET_KEY_1": KEYS[0],
                "IPSCAPE_TIMEOUT_S": KEYS[1],
            },
            "",
            "IPSCAPE_TIMEOUT_S must be a number",
        ),
        (None, "[poll\ncampaigns_s = 10\n", "is not valid TOML"),
        (None, "[poll]\ncampaigns_s = 'fast'\n", "poll.campaigns_s must be a number"),
        (None, "colour = 'red'\n", "Unknown key(s) in the dashboard config: colour"),
        (None, "[wall]\nkiosk_tokens = ['short']\n", "wall.kiosk_tokens"),
    ],
)
def test_configuration_errors_name_what_to_fix_on_the_page_without_values(
    app_env: Path, secrets: dict[str, Any] | None, toml: str, names: str
) -> None:
    if toml:
        app_env.write_text(toml)
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets is not None:
        at.secrets["ipscape"] = secrets
    at.run()
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert len(errors) == 1 and names in errors[0], errors
    assert at.info, "a second line says where the setting lives"
    assert not at.metric
    assert_clean(rendered(at), "the configuration error page")
