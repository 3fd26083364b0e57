"""`python -m ipscape` over real HTTP against the simulator: output and every exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ipscape import metrics
from ipscape.__main__ import EXIT_AUTH, EXIT_OK, EXIT_TENANT, EXIT_USAGE, main
from ipscape.client import IpscapeClient
from ipscape.config import load_config
from ipscape.feeds import FEEDS, fetch_activity_items
from ipscape.frames import FEED_COLUMNS, activities_frame
from ipscape.settings import demo_settings


@pytest.fixture
def tenant_env(monkeypatch, tmp_path):
    """Point the CLI at a given simulator through the documented environment variables."""
    monkeypatch.chdir(tmp_path)  # no dashboard.toml here: defaults
    for name in list(os.environ):
        if name.startswith("IPSCAPE_"):
            monkeypatch.delenv(name)

    def use(sim, keys=None):
        monkeypatch.setenv("IPSCAPE_BASE_URL", sim.api_root)
        monkeypatch.setenv("IPSCAPE_API_TOKEN", sim.token)
        key1, key2 = keys or sim.keys
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", key1)
        monkeypatch.setenv("IPSCAPE_SECRET_KEY_2", key2)

    return use


def simulator_campaign(sim) -> int:
    with IpscapeClient(demo_settings(sim.api_root)) as client:
        return client.list_campaigns()[0]["campaignId"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("feed", FEEDS)
def test_fetch_prints_non_empty_well_typed_json_for_every_feed(
    shared_simulator, tenant_env, capsys, feed
):
    tenant_env(shared_simulator)
    code, out, err = run(capsys, "fetch", feed, "--format", "json")
    assert code == EXIT_OK, err
    records = json.loads(out)
    assert isinstance(records, list) and records, f"{feed} printed no records"
    assert set(FEED_COLUMNS[feed]) <= set(records[0])
    time_columns = [c for c in FEED_COLUMNS[feed] if c.endswith(("_at", "_since"))]
    for column in time_columns:
        values = [r[column] for r in records if r[column] is not None]
        # A voicemail's returned_at is null while it waits: this tenant's day has no call-backs.
        assert values or column == "returned_at", column
        # ISO 8601, UTC
        assert all(pd.Timestamp(v).tzinfo is not None for v in values[:20])


def test_fetch_csv_filters_by_campaign(shared_simulator, tenant_env, capsys):
    tenant_env(shared_simulator)
    code, out, _ = run(capsys, "fetch", "campaigns", "--format", "json")
    campaign = json.loads(out)[-1]["campaign_id"]
    code, out, _ = run(capsys, "fetch", "campaigns", "--campaign", str(campaign))
    assert code == EXIT_OK
    lines = out.strip().splitlines()
    assert lines[0].split(",")[:2] == ["campaign_id", "campaign_name"]
    assert len(lines) == 2 and lines[1].startswith(f"{campaign},")


# --- fetch performance ------------------------------------------------------------------------

COUNTS = ("answered", "abandoned", "voicemail")
METRICS = ("service_level_pct", "abandon_rate_pct", "asa_s", "aht_s", "service_level_target_s")


def fetch_json(capsys, *argv: str) -> list[dict]:
    code, out, err = run(capsys, "fetch", *argv, "--format", "json")
    assert code == EXIT_OK, err
    return json.loads(out)


def no_calls(campaign_id, name, target_s=20.0) -> dict:
    """The row of a campaign (or total) without calls: counts 0, every rate unknown."""
    unknown = dict.fromkeys(METRICS[:-1])
    return {
        "campaign_id": campaign_id,
        "campaign_name": name,
        **dict.fromkeys(COUNTS, 0),
        **unknown,
        "service_level_target_s": target_s,
    }


def test_fetch_performance_prints_the_issue_columns_typed_in_json_and_csv(
    shared_simulator, tenant_env, capsys
):
    tenant_env(shared_simulator)
    records = fetch_json(capsys, "performance")
    assert all(list(r) == list(metrics.PERFORMANCE_COLUMNS) for r in records)
    *campaigns, total = records
    assert campaigns and total["campaign_id"] is None and total["campaign_name"] == "All campaigns"
    assert all(isinstance(r["campaign_id"], int) for r in campaigns)
    assert all(isinstance(r[c], int) for r in records for c in COUNTS)
    assert all(isinstance(r[c], float) and r[c] == round(r[c], 2) for r in records for c in METRICS)
    code, out, _ = run(capsys, "fetch", "performance")
    assert code == EXIT_OK
    header, *rows = list(csv.reader(io.StringIO(out)))
    assert header == list(metrics.PERFORMANCE_COLUMNS)
    # The same values as the JSON, unknown as an empty cell.
    as_text = [["" if v is None else str(v) for v in r.values()] for r in records]
    assert rows == as_text and rows[-1][0] == ""


def test_fetch_performance_is_the_metrics_of_the_tenants_activities(
    shared_simulator, tenant_env, capsys
):
    tenant_env(shared_simulator)
    with IpscapeClient(demo_settings(shared_simulator.api_root)) as client:
        activities = activities_frame(fetch_activity_items(client))
    created = activities["created_at"].dropna().sort_values()
    since = created.iloc[0].to_pydatetime()
    until = created.iloc[len(created) * 3 // 4].to_pydatetime()  # a window ending mid-day
    target_s, targets = load_config().thresholds.service_level_targets()
    expected = metrics.performance(
        activities, target_s=target_s, targets=targets, since=since, until=until
    )
    window = ("--since", since.isoformat(), "--until", until.isoformat())
    records = fetch_json(capsys, "performance", *window)
    assert len(records) == len(expected) > 1
    for got, want in zip(records, expected.to_dict("records"), strict=True):
        assert got["campaign_name"] == want["campaign_name"]
        assert got["campaign_id"] == (None if pd.isna(want["campaign_id"]) else want["campaign_id"])
        assert [got[c] for c in COUNTS] == [want[c] for c in COUNTS]
        for column in METRICS:  # rounded to 2 decimals
            assert got[column] == pytest.approx(want[column], abs=0.005 + 1e-9), column
    *campaigns, total = records
    assert all(total[c] == sum(r[c] for r in campaigns) for c in COUNTS)


def test_fetch_performance_of_one_campaign_is_its_row_alone(shared_simulator, tenant_env, capsys):
    tenant_env(shared_simulator)
    busiest, *_ = fetch_json(capsys, "performance")
    assert fetch_json(capsys, "performance", "--campaign", str(busiest["campaign_id"])) == [busiest]
    # An outbound campaign takes no inbound calls: its row all the same, named from its calls.
    counted = {r["campaign_id"] for r in fetch_json(capsys, "performance")}
    quiet = next(c for c in fetch_json(capsys, "campaigns") if c["campaign_id"] not in counted)
    rows = fetch_json(capsys, "performance", "--campaign", str(quiet["campaign_id"]))
    assert rows == [no_calls(quiet["campaign_id"], quiet["campaign_name"])]


def test_fetch_performance_of_a_window_without_calls_is_unknown_not_zero(
    shared_simulator, tenant_env, capsys
):
    tenant_env(shared_simulator)
    window = ("--since", "2020-01-01T09:00", "--until", "2020-01-01T10:00")
    assert fetch_json(capsys, "performance", *window) == [no_calls(None, "All campaigns")]
    rows = fetch_json(capsys, "performance", "--campaign", "101", *window)
    assert rows == [no_calls(101, None)]  # no activity to name it from


def test_fetch_performance_measures_against_the_configured_targets(
    shared_simulator, tenant_env, tmp_path, capsys
):
    tenant_env(shared_simulator)
    at_20 = {r["campaign_id"]: r for r in fetch_json(capsys, "performance")}
    strict, lenient = [i for i in at_20 if i is not None][:2]
    (tmp_path / "dashboard.toml").write_text(
        "[thresholds.service_level]\ntarget_s = 5\n"
        f"[thresholds.campaign.{lenient}.service_level]\ntarget_s = 120\n",
        encoding="utf-8",
    )
    configured = {r["campaign_id"]: r for r in fetch_json(capsys, "performance")}
    assert configured[strict]["service_level_target_s"] == 5.0
    assert configured[strict]["service_level_pct"] < at_20[strict]["service_level_pct"]
    assert configured[lenient]["service_level_target_s"] == 120.0
    assert configured[lenient]["service_level_pct"] > at_20[lenient]["service_level_pct"]
    assert configured[None]["service_level_target_s"] is None  # the targets differ
    assert configured[strict]["abandon_rate_pct"] == at_20[strict]["abandon_rate_pct"]


def test_fetch_performance_fails_like_every_fetch(simulator, tenant_env, monkeypatch, capsys):
    tenant_env(simulator, keys=("wrong-canary-1", "wrong-canary-2"))
    code, out, err = run(capsys, "fetch", "performance")
    assert code == EXIT_AUTH and "canary" not in out + err
    tenant_env(simulator)
    simulator.inject({"kind": "status", "status": 503, "match": "/v3.0/*"})
    code, _, err = run(capsys, "fetch", "performance")
    assert code == EXIT_TENANT and "503" in err and "Traceback" not in err
    simulator.stop()
    code, _, err = run(capsys, "fetch", "performance")
    assert code == EXIT_TENANT and "cannot be reached" in err


def test_second_key_serves_every_command_when_first_is_revoked(simulator, tenant_env, capsys):
    tenant_env(simulator)
    simulator.inject({"kind": "revoke_key", "key": simulator.keys[0]})
    assert run(capsys, "check")[0] == EXIT_OK
    assert run(capsys, "fetch", "agents", "--format", "json")[0] == EXIT_OK
    code, _, err = run(capsys, "fetch", "voicemail")
    assert code == EXIT_OK, err


def test_both_keys_refused_exits_3_without_secrets(simulator, tenant_env, capsys):
    tenant_env(simulator, keys=("wrong-canary-1", "wrong-canary-2"))
    code, out, err = run(capsys, "fetch", "campaigns")
    assert code == EXIT_AUTH
    assert "refused" in err and "IPSCAPE_SECRET_KEY_1" in err
    assert "canary" not in out + err
    assert "Traceback" not in err


def test_unreachable_tenant_exits_4(tenant_env, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("IPSCAPE_BASE_URL", f"http://127.0.0.1:{port}/platform-api")
    monkeypatch.setenv("IPSCAPE_API_TOKEN", "t")
    monkeypatch.setenv("IPSCAPE_SECRET_KEY_1", "k")
    code, _, err = run(capsys, "fetch", "campaigns")
    assert code == EXIT_TENANT
    assert "cannot be reached" in err


def test_failing_tenant_exits_4(simulator, tenant_env, capsys):
    tenant_env(simulator)
    simulator.inject({"kind": "status", "status": 503, "match": "/v3.0/*"})
    code, _, err = run(capsys, "fetch", "agents")
    assert code == EXIT_TENANT
    assert "503" in err


def test_broken_json_exits_4(simulator, tenant_env, capsys):
    tenant_env(simulator)
    simulator.inject({"kind": "truncate", "match": "/v3.0/agents*"})
    code, _, err = run(capsys, "fetch", "agents")
    assert code == EXIT_TENANT
    assert "could not read" in err


def test_no_configuration_exits_2_and_says_what_to_set(tenant_env, capsys):
    code, _, err = run(capsys, "fetch", "campaigns")
    assert code == EXIT_USAGE
    assert "IPSCAPE_BASE_URL" in err and "python -m ipscape.simulator" in err


def test_partial_configuration_names_the_missing_setting(tenant_env, monkeypatch, capsys):
    monkeypatch.setenv("IPSCAPE_BASE_URL", "https://acme.ipscape.com.au/platform-api")
    code, _, err = run(capsys, "check")
    assert code == EXIT_USAGE
    assert "IPSCAPE_API_TOKEN" in err and "IPSCAPE_SECRET_KEY_1" in err


def test_malformed_dashboard_config_exits_2(shared_simulator, tenant_env, tmp_path, capsys):
    tenant_env(shared_simulator)
    (tmp_path / "dashboard.toml").write_text("[poll]\nagents_s = 1\n", encoding="utf-8")
    code, _, err = run(capsys, "fetch", "agents")
    assert code == EXIT_USAGE
    assert "poll.agents_s" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("fetch", "weather"),
        ("fetch", "campaigns", "--campaign", "one"),
        ("fetch", "performance", "--lead", "1"),
        ("lead",),
        (),
    ],
)
def test_usage_errors_exit_2(shared_simulator, tenant_env, capsys, argv):
    tenant_env(shared_simulator)
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == EXIT_USAGE


@pytest.mark.parametrize("feed", ["voicemail", "performance"])
def test_invalid_since_exits_2(shared_simulator, tenant_env, capsys, feed):
    tenant_env(shared_simulator)
    code, _, err = run(capsys, "fetch", feed, "--since", "yesterday")
    assert code == EXIT_USAGE and "ISO 8601" in err


def test_check_lists_operations_discovered_from_the_tenant(sim_factory, tenant_env, capsys):
    sim = sim_factory(path_overrides={"campaign_statistics": "/v3.0/stats/{campaignId}"})
    tenant_env(sim)
    code, out, _ = run(capsys, "check")
    assert code == EXIT_OK
    assert "/v3.0/stats/{campaignId}" in out
    code, out, _ = run(capsys, "fetch", "campaigns", "--format", "json")
    assert code == EXIT_OK and json.loads(out)
    assert any("/v3.0/stats/" in key for key in sim.stats()["requests"])


def test_lead_create_and_update_from_json_files(simulator, tenant_env, tmp_path, capsys):
    tenant_env(simulator)
    campaign = simulator_campaign(simulator)
    new = tmp_path / "lead.json"
    new.write_text(
        json.dumps(
            {"campaignId": campaign, "listId": 1, "customerKey": "C-1", "phone1": "+61400000001"}
        ),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "lead", "create", str(new))
    assert code == EXIT_OK, err
    lead_id = json.loads(out)["leadId"]
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"phone2": "+61400000002"}), encoding="utf-8")
    code, out, _ = run(capsys, "lead", "update", str(lead_id), str(change))
    assert code == EXIT_OK
    assert json.loads(out)["phone2"] == "+61400000002"


def test_lead_errors_exit_2_with_a_reason(simulator, tenant_env, tmp_path, capsys):
    tenant_env(simulator)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    code, _, err = run(capsys, "lead", "create", str(broken))
    assert code == EXIT_USAGE and "not valid JSON" in err
    code, _, err = run(capsys, "lead", "create", str(tmp_path / "missing.json"))
    assert code == EXIT_USAGE and "cannot read" in err
    change = tmp_path / "change.json"
    change.write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, "lead", "update", "999999999", str(change))
    assert code == EXIT_USAGE and "404" in err


def process_env(sim) -> dict[str, str]:
    """The environment of a separate `python -m ipscape` process pointed at ``sim``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSCAPE_")}
    env.update(
        IPSCAPE_BASE_URL=sim.api_root,
        IPSCAPE_API_TOKEN=sim.token,
        IPSCAPE_SECRET_KEY_1=sim.keys[0],
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    return env


def test_module_entry_point_runs_as_a_process(shared_simulator, tmp_path):
    env = process_env(shared_simulator)
    done = subprocess.run(
        [sys.executable, "-m", "ipscape", "fetch", "transfers", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error(shared_simulator, tmp_path):
    env = process_env(shared_simulator)
    process = subprocess.Popen(
        [sys.executable, "-m", "ipscape", "fetch", "activities"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert process.stdout is not None and process.stderr is not None
    # The reader is gone before anything is written (pipe buffers vary, so don't read first).
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == EXIT_OK
    assert "Traceback" not in stderr


def test_fetch_voicemail_says_when_each_was_returned(sim_factory, tenant_env, capsys) -> None:
    """A tenant that calls voicemails back: the CLI's voicemail rows carry returned_at, the
    time of the first call-back after each (ipscape.metrics), from the calls fetched with it."""
    from dataclasses import asdict

    from ipscape import feeds, metrics
    from ipscape.client import IpscapeClient
    from ipscape.frames import activities_frame, voicemail_frame
    from ipscape.settings import demo_settings
    from ipscape.simulator import demo_config

    sim = sim_factory(**{**asdict(demo_config()), "speed": 0})
    tenant_env(sim)
    code, out, err = run(capsys, "fetch", "voicemail", "--format", "json")
    assert code == EXIT_OK, err
    printed = pd.DataFrame(json.loads(out))
    with IpscapeClient(demo_settings(sim.api_root)) as client:
        items = feeds.fetch_activity_items(
            client, since=pd.Timestamp(printed["received_at"].min()).to_pydatetime()
        )
    expected = metrics.returned_at(voicemail_frame(items), activities_frame(items))
    returned = printed["returned_at"].notna()
    assert 0 < returned.sum() < len(printed)  # some were called back, some still wait
    assert returned.sum() == expected.notna().sum()
    got = pd.to_datetime(printed["returned_at"], utc=True)
    assert (got[returned] > pd.to_datetime(printed["received_at"], utc=True)[returned]).all()
